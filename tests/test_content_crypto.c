/* Tests for core/content_crypto: known answers for our counter layout
 * (computed with the openssl command-line tool), agreement with a reference
 * CTR built from single-block AES (itself checked against NIST SP 800-38A
 * F.5.1), random access at unaligned offsets and lengths equal to
 * whole-file encryption, in-place use, round trip and key generation. */
#include "testutil.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/content_crypto.h"
#include "base/xmalloc.h"

static void from_hex(const char *hex, uint8_t *out)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static const char *NIST_KEY = "2b7e151628aed2a6abf7158809cf4f3c";

/* Reference CTR: each key-stream block is AES-ECB of the 128-bit
 * big-endian counter, starting at counter0 and incrementing. Independent
 * of EVP's CTR mode. */
static void reference_ctr(const uint8_t key[16], const uint8_t counter0[16], uint64_t skip,
                          const uint8_t *in, uint8_t *out, size_t len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL), 1);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    uint8_t ctr[16];
    memcpy(ctr, counter0, 16);
    uint8_t stream[16];
    size_t pos = 16; /* position in stream; 16 = need a new block */
    uint64_t to_skip = skip;
    for (size_t i = 0; i < len + to_skip; i++) {
        if (pos == 16) {
            int n;
            assert_int_equal(EVP_EncryptUpdate(ctx, stream, &n, ctr, 16), 1);
            assert_int_equal(n, 16);
            for (int b = 15; b >= 0 && ++ctr[b] == 0; b--)
                ;
            pos = 0;
        }
        if (i >= to_skip)
            out[i - to_skip] = in[i - to_skip] ^ stream[pos];
        pos++;
    }
    EVP_CIPHER_CTX_free(ctx);
}

/* Our counter for a byte offset, computed here the slow way. */
static void counter_for(uint64_t offset, uint8_t ctr[16])
{
    memset(ctr, 0, 16);
    uint64_t block = offset / 16;
    for (int i = 15; i >= 8; i--) {
        ctr[i] = (uint8_t)(block & 0xff);
        block >>= 8;
    }
}

static void test_reference_matches_nist_f51(void **state)
{
    uint8_t key[16], ctr[16], pt[64], ct[64], out[64];
    from_hex(NIST_KEY, key);
    from_hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr);
    from_hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
             "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
             pt);
    from_hex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
             "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
             ct);
    reference_ctr(key, ctr, 0, pt, out, 64);
    assert_memory_equal(out, ct, 64);
}

static void test_known_answers(void **state)
{
    struct content_key key;
    from_hex(NIST_KEY, key.bytes);
    uint8_t zeros[48] = {0}, out[48], expect[48];

    /* openssl enc -aes-128-ctr -K 2b7e... -iv 0 over 48 zero bytes */
    from_hex("7df76b0c1ab899b33e42f047b91b546f57127d4034b1bebfaef466b9c7726fc6"
             "973f2ef34879e2027f1734303ff21f89",
             expect);
    assert_int_equal(content_crypt(&key, 0, zeros, out, 48), 0);
    assert_memory_equal(out, expect, 48);
    /* The same stream entered mid-block. */
    assert_int_equal(content_crypt(&key, 5, zeros, out, 37), 0);
    assert_memory_equal(out, expect + 5, 37);
    assert_int_equal(content_crypt(&key, 31, zeros, out, 1), 0);
    assert_int_equal(out[0], expect[31]);

    /* Block 0x123456789 (byte offset 0x1234567890): -iv ...0123456789 */
    from_hex("2c70aafb19868286b1eb09f70245edfa", expect);
    assert_int_equal(content_crypt(&key, 0x1234567890ull, zeros, out, 16), 0);
    assert_memory_equal(out, expect, 16);
}

static uint8_t *random_bytes(size_t len, unsigned seed)
{
    uint8_t *p = xmalloc(len);
    srand(seed);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rand();
    return p;
}

static void test_matches_reference_at_many_offsets(void **state)
{
    struct content_key key;
    assert_int_equal(content_key_generate(&key), 0);
    uint8_t *in = random_bytes(4096, 7);
    uint8_t *out = xmalloc(4096), *ref = xmalloc(4096);
    /* Offsets around counter carries (byte 0xff -> 0x100 in the block
     * number), far into a file, and plain unaligned ones. */
    const uint64_t offsets[] = {0,
                                1,
                                15,
                                16,
                                17,
                                0xff0,
                                0xfff,
                                0x1000,
                                0xffff3,
                                0x1000000 - 3,
                                1ull << 36,
                                (1ull << 40) + 7,
                                (1ull << 59) - 9,
                                123456789};
    const size_t lens[] = {1, 15, 16, 17, 33, 100, 1000, 4096};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            uint8_t ctr[16];
            counter_for(offsets[i], ctr);
            reference_ctr(key.bytes, ctr, offsets[i] % 16, in, ref, lens[j]);
            assert_int_equal(content_crypt(&key, offsets[i], in, out, lens[j]), 0);
            if (memcmp(out, ref, lens[j]) != 0)
                fail_msg("mismatch at offset %llu len %zu", (unsigned long long)offsets[i],
                         lens[j]);
        }
    }
    free(in);
    free(out);
    free(ref);
}

#define FILE_LEN (256 * 1024 + 77)

static void test_random_access_equals_whole_file(void **state)
{
    struct content_key key;
    assert_int_equal(content_key_generate(&key), 0);
    uint8_t *plain = random_bytes(FILE_LEN, 11);
    uint8_t *whole = xmalloc(FILE_LEN), *part = xmalloc(FILE_LEN);
    assert_int_equal(content_crypt(&key, 0, plain, whole, FILE_LEN), 0);
    assert_memory_not_equal(whole, plain, 64);

    srand(12);
    for (int i = 0; i < 2000; i++) {
        size_t off = (size_t)rand() % FILE_LEN;
        size_t len = (size_t)rand() % (FILE_LEN - off + 1);
        if (i % 4 == 0)
            len = len % 40; /* many short, unaligned pieces */
        assert_int_equal(content_crypt(&key, off, plain + off, part, len), 0);
        if (memcmp(part, whole + off, len) != 0)
            fail_msg("offset %zu len %zu differs from whole-file encryption", off, len);
    }

    /* Decrypting piecewise in place, in odd-sized pieces, restores the file. */
    memcpy(part, whole, FILE_LEN);
    for (size_t off = 0, step = 1; off < FILE_LEN; off += step, step = step * 3 % 5000 + 1) {
        size_t n = off + step > FILE_LEN ? FILE_LEN - off : step;
        assert_int_equal(content_crypt(&key, off, part + off, part + off, n), 0);
    }
    assert_memory_equal(part, plain, FILE_LEN);
    assert_int_equal(content_crypt(&key, 10, plain, part, 0), 0); /* empty range */

    free(plain);
    free(whole);
    free(part);
}

static void test_keys_are_random_and_matter(void **state)
{
    struct content_key a, b;
    assert_int_equal(content_key_generate(&a), 0);
    assert_int_equal(content_key_generate(&b), 0);
    assert_memory_not_equal(a.bytes, b.bytes, CONTENT_KEY_LEN);

    uint8_t plain[64] = "the same plaintext under two keys must differ", x[64], y[64];
    assert_int_equal(content_crypt(&a, 0, plain, x, sizeof(plain)), 0);
    assert_int_equal(content_crypt(&b, 0, plain, y, sizeof(plain)), 0);
    assert_memory_not_equal(x, y, sizeof(plain));
    assert_int_equal(content_crypt(&a, 0, x, x, sizeof(plain)), 0);
    assert_memory_equal(x, plain, sizeof(plain));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_matches_nist_f51),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_matches_reference_at_many_offsets),
        cmocka_unit_test(test_random_access_equals_whole_file),
        cmocka_unit_test(test_keys_are_random_and_matter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
