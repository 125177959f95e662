/* Tests for core/manifest: build/encode/decode round trip, the id check,
 * the incremental builder, every kind of malformed or oversized encoding
 * refused, chunk verification (flipped byte, wrong length, last short
 * chunk), the empty-file rule and the hex form of ids. */
#include "testutil.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "base/manifest.h"
#include "base/xmalloc.h"

#define CS MANIFEST_CHUNK_SIZE

static uint8_t *random_bytes(size_t len, unsigned seed)
{
    uint8_t *p = xmalloc(len ? len : 1);
    testutil_fill_random(p, len, seed);
    return p;
}

/* len random bytes (*data, owned by the caller) and their manifest. */
static struct manifest *random_manifest(size_t len, unsigned seed, uint8_t **data)
{
    *data = random_bytes(len, seed);
    struct manifest *m;
    assert_int_equal(manifest_build(*data, len, CS, &m), 0);
    return m;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* A header by hand: what a hostile peer could send. */
static void make_header(uint8_t *p, uint32_t chunk_size, uint64_t file_size, uint32_t count)
{
    memcpy(p, "CHMF", 4);
    p[4] = 1;
    put_be32(p + 5, chunk_size);
    put_be64(p + 9, file_size);
    put_be32(p + 17, count);
}

static void test_round_trip_with_short_last_chunk(void **state)
{
    size_t len = 3 * CS + 100;
    uint8_t *data;
    struct manifest *m = random_manifest(len, 1, &data);
    assert_int_equal(m->file_size, len);
    assert_int_equal(m->chunk_size, CS);
    assert_int_equal(m->chunk_count, 4);
    assert_int_equal(manifest_chunk_len(m, 0), CS);
    assert_int_equal(manifest_chunk_len(m, 3), 100);
    assert_int_equal(manifest_chunk_len(m, 4), 0);

    uint8_t *enc;
    size_t enc_len;
    manifest_encode(m, &enc, &enc_len);
    assert_int_equal(enc_len, MANIFEST_HEADER_LEN + 4 * 32);
    assert_int_equal(enc_len, manifest_encoded_len(m));
    assert_memory_equal(enc, "CHMF\x01", 5);

    /* The id is SHA-256 of the encoding, computed here independently. */
    struct content_id id, expect;
    manifest_id(m, &id);
    SHA256(enc, enc_len, expect.bytes);
    assert_memory_equal(id.bytes, expect.bytes, CONTENT_ID_LEN);
    struct content_id id2;
    manifest_id_of_encoding(enc, enc_len, &id2);
    assert_true(content_id_equal(&id, &id2));

    struct manifest *d;
    assert_int_equal(manifest_decode(enc, enc_len, &id, &d), 0);
    assert_int_equal(d->file_size, len);
    assert_int_equal(d->chunk_count, 4);
    assert_memory_equal(d->chunk_hashes, m->chunk_hashes, 4 * 32);
    for (uint32_t i = 0; i < 4; i++) {
        uint8_t h[32];
        SHA256(data + (size_t)i * CS, manifest_chunk_len(m, i), h);
        assert_memory_equal(d->chunk_hashes[i], h, 32);
        assert_true(manifest_verify_chunk(d, i, data + (size_t)i * CS, manifest_chunk_len(m, i)));
    }
    manifest_free(d);
    assert_int_equal(manifest_decode(enc, enc_len, NULL, &d), 0); /* no id to check */
    manifest_free(d);

    free(enc);
    manifest_free(m);
    free(data);
}

static void test_exact_multiple_and_single_byte(void **state)
{
    uint8_t *data;
    struct manifest *m = random_manifest(2 * CS, 2, &data);
    assert_int_equal(m->chunk_count, 2);
    assert_int_equal(manifest_chunk_len(m, 1), CS);
    manifest_free(m);

    assert_int_equal(manifest_build(data, 1, CS, &m), 0);
    assert_int_equal(m->chunk_count, 1);
    assert_int_equal(manifest_chunk_len(m, 0), 1);
    assert_true(manifest_verify_chunk(m, 0, data, 1));
    manifest_free(m);
    free(data);
}

static void test_id_mismatch(void **state)
{
    uint8_t *data;
    struct manifest *m = random_manifest(CS + 5, 3, &data);
    uint8_t *enc;
    size_t len;
    manifest_encode(m, &enc, &len);
    struct content_id id;
    manifest_id(m, &id);

    struct manifest *d = (struct manifest *)1;
    struct content_id other = id;
    other.bytes[31] ^= 1;
    assert_int_equal(manifest_decode(enc, len, &other, &d), MANIFEST_EID);
    assert_null(d);
    /* A forged hash inside a well-formed encoding: caught by the id. */
    enc[MANIFEST_HEADER_LEN + 40] ^= 0x80;
    assert_int_equal(manifest_decode(enc, len, &id, &d), MANIFEST_EID);
    assert_int_equal(manifest_decode(enc, len, NULL, &d), 0); /* structurally fine */
    manifest_free(d);

    free(enc);
    manifest_free(m);
    free(data);
}

static void test_incremental_equals_build(void **state)
{
    size_t len = 5 * CS + 777;
    uint8_t *data = random_bytes(len, 4);
    struct manifest *whole, *inc = manifest_begin(CS);
    assert_non_null(inc);
    assert_int_equal(manifest_build(data, len, CS, &whole), 0);
    for (size_t off = 0; off < len; off += CS)
        assert_int_equal(manifest_add_chunk(inc, data + off, len - off < CS ? len - off : CS), 0);
    struct content_id a, b;
    manifest_id(whole, &a);
    manifest_id(inc, &b);
    assert_true(content_id_equal(&a, &b));

    /* After the short last chunk nothing more may be added. */
    assert_int_equal(manifest_add_chunk(inc, data, CS), MANIFEST_EINVAL);
    assert_int_equal(inc->chunk_count, 6);
    manifest_free(inc);

    inc = manifest_begin(CS);
    assert_int_equal(manifest_add_chunk(inc, data, 0), MANIFEST_EINVAL);
    assert_int_equal(manifest_add_chunk(inc, data, CS + 1), MANIFEST_EINVAL);
    assert_int_equal(inc->chunk_count, 0);
    /* Growth past the initial capacity keeps every hash. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(manifest_add_chunk(inc, data + (i % 5) * CS, CS), 0);
    for (int i = 0; i < 100; i++)
        assert_memory_equal(inc->chunk_hashes[i], whole->chunk_hashes[i % 5], 32);
    manifest_free(inc);

    assert_null(manifest_begin(MANIFEST_MIN_CHUNK_SIZE - 1));
    assert_null(manifest_begin(MANIFEST_MAX_CHUNK_SIZE + 1));
    manifest_free(whole);
    free(data);
}

static void test_empty_and_bad_arguments(void **state)
{
    uint8_t byte = 0;
    struct manifest *m = (struct manifest *)1;
    assert_int_equal(manifest_build(&byte, 0, CS, &m), MANIFEST_EEMPTY);
    assert_null(m);
    assert_int_equal(manifest_build(&byte, 1, 100, &m), MANIFEST_EINVAL);
    /* Refused from the length alone, before reading a byte. */
    assert_int_equal(manifest_build(&byte, (size_t)MANIFEST_MAX_FILE_SIZE + 1, CS, &m),
                     MANIFEST_ETOOBIG);

    /* The encoding of a file with no chunks is not a manifest. */
    struct manifest *empty = manifest_begin(CS);
    uint8_t *enc;
    size_t len;
    manifest_encode(empty, &enc, &len);
    assert_int_equal(len, MANIFEST_HEADER_LEN);
    assert_int_equal(manifest_decode(enc, len, NULL, &m), MANIFEST_EFORMAT);
    free(enc);
    manifest_free(empty);
    manifest_free(NULL);
}

/* Every malformed encoding: refused with the right error and no result. */
static void test_malformed_encodings(void **state)
{
    size_t len = 2 * CS + 1;
    uint8_t *data;
    struct manifest *m = random_manifest(len, 5, &data);
    uint8_t *enc;
    size_t enc_len;
    manifest_encode(m, &enc, &enc_len);
    manifest_free(m);

    /* Every truncation, and one byte too many. */
    for (size_t n = 0; n < enc_len; n++) {
        m = (struct manifest *)1;
        assert_int_equal(manifest_decode(enc, n, NULL, &m), MANIFEST_EFORMAT);
        assert_null(m);
    }
    uint8_t *longer = xmalloc(enc_len + 1);
    memcpy(longer, enc, enc_len);
    longer[enc_len] = 0;
    assert_int_equal(manifest_decode(longer, enc_len + 1, NULL, &m), MANIFEST_EFORMAT);

    uint8_t *bad = xmalloc(enc_len);
    struct {
        size_t at;
        uint8_t value;
    } flips[] = {
        {0, 'X'},  /* magic */
        {3, 'G'},  /* magic */
        {4, 2},    /* version */
        {4, 0},    /* version */
        {20, 2},   /* count 2 instead of 3 */
        {20, 4},   /* count 4 instead of 3 */
        {17, 0x80} /* count with the top bit set */
    };
    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        memcpy(bad, enc, enc_len);
        bad[flips[i].at] = flips[i].value;
        assert_int_equal(manifest_decode(bad, enc_len, NULL, &m), MANIFEST_EFORMAT);
    }

    /* Hand-made headers with a body of the length they claim, where possible. */
    uint8_t h[MANIFEST_HEADER_LEN + 64] = {0};
    make_header(h, CS, 100, 1); /* valid */
    assert_int_equal(manifest_decode(h, MANIFEST_HEADER_LEN + 32, NULL, &m), 0);
    manifest_free(m);
    make_header(h, 0, 100, 1);
    assert_int_equal(manifest_decode(h, MANIFEST_HEADER_LEN + 32, NULL, &m), MANIFEST_EFORMAT);
    make_header(h, MANIFEST_MIN_CHUNK_SIZE - 1, 100, 1);
    assert_int_equal(manifest_decode(h, MANIFEST_HEADER_LEN + 32, NULL, &m), MANIFEST_EFORMAT);
    make_header(h, MANIFEST_MAX_CHUNK_SIZE + 1, 100, 1);
    assert_int_equal(manifest_decode(h, MANIFEST_HEADER_LEN + 32, NULL, &m), MANIFEST_EFORMAT);
    make_header(h, CS, 0, 0); /* empty file */
    assert_int_equal(manifest_decode(h, MANIFEST_HEADER_LEN, NULL, &m), MANIFEST_EFORMAT);
    make_header(h, CS, CS + 1, 1); /* needs 2 chunks */
    assert_int_equal(manifest_decode(h, MANIFEST_HEADER_LEN + 32, NULL, &m), MANIFEST_EFORMAT);

    /* Huge declared sizes, with only the header (or a little more) behind
     * them: refused from the header alone. */
    make_header(h, CS, MANIFEST_MAX_FILE_SIZE + 1, (uint32_t)(MANIFEST_MAX_FILE_SIZE / CS + 1));
    assert_int_equal(manifest_decode(h, sizeof(h), NULL, &m), MANIFEST_ETOOBIG);
    make_header(h, CS, UINT64_MAX, UINT32_MAX);
    assert_int_equal(manifest_decode(h, sizeof(h), NULL, &m), MANIFEST_ETOOBIG);
    make_header(h, MANIFEST_MIN_CHUNK_SIZE, MANIFEST_MAX_FILE_SIZE,
                (uint32_t)(MANIFEST_MAX_FILE_SIZE / MANIFEST_MIN_CHUNK_SIZE));
    assert_int_equal(manifest_decode(h, sizeof(h), NULL, &m), MANIFEST_EFORMAT);
    make_header(h, CS, 100, UINT32_MAX);
    assert_int_equal(manifest_decode(h, sizeof(h), NULL, &m), MANIFEST_EFORMAT);
    assert_null(m);

    assert_string_equal(manifest_strerror(MANIFEST_EID), "manifest does not match its file id");
    free(bad);
    free(longer);
    free(enc);
    free(data);
}

static void test_verify_chunk(void **state)
{
    size_t len = 2 * CS + 300;
    uint8_t *data;
    struct manifest *m = random_manifest(len, 6, &data);

    assert_true(manifest_verify_chunk(m, 0, data, CS));
    assert_true(manifest_verify_chunk(m, 2, data + 2 * CS, 300));
    assert_false(manifest_verify_chunk(m, 1, data, CS));           /* wrong chunk */
    assert_false(manifest_verify_chunk(m, 2, data + 2 * CS, 299)); /* short */
    assert_false(manifest_verify_chunk(m, 0, data, CS - 1));       /* short */
    assert_false(manifest_verify_chunk(m, 3, data, 1));            /* past the end */
    assert_false(manifest_verify_chunk(m, UINT32_MAX, data, CS));  /* far past */
    for (size_t at = 0; at < CS; at += 1021) {
        data[at] ^= 0x01;
        assert_false(manifest_verify_chunk(m, 0, data, CS));
        data[at] ^= 0x01;
    }
    data[2 * CS + 299] ^= 0x40; /* last byte of the short last chunk */
    assert_false(manifest_verify_chunk(m, 2, data + 2 * CS, 300));
    manifest_free(m);
    free(data);
}

static void test_hex(void **state)
{
    struct content_id id, back;
    for (unsigned i = 0; i < CONTENT_ID_LEN; i++)
        id.bytes[i] = (uint8_t)(i * 37 + 11);
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(&id, hex);
    assert_int_equal(strlen(hex), CONTENT_ID_HEX_LEN);
    assert_memory_equal(hex, "0b30557a9f", 10);
    assert_int_equal(content_id_from_hex(hex, &back), 0);
    assert_true(content_id_equal(&id, &back));

    char upper[CONTENT_ID_HEX_LEN + 1];
    for (unsigned i = 0; i <= CONTENT_ID_HEX_LEN; i++)
        upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    assert_int_equal(content_id_from_hex(upper, &back), 0);
    assert_true(content_id_equal(&id, &back));

    assert_int_equal(content_id_from_hex("0b30", &back), MANIFEST_EFORMAT);
    assert_int_equal(content_id_from_hex("", &back), MANIFEST_EFORMAT);
    char *longer = xasprintf("%s0", hex);
    assert_int_equal(content_id_from_hex(longer, &back), MANIFEST_EFORMAT);
    hex[17] = 'g';
    assert_int_equal(content_id_from_hex(hex, &back), MANIFEST_EFORMAT);
    free(longer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_with_short_last_chunk),
        cmocka_unit_test(test_exact_multiple_and_single_byte),
        cmocka_unit_test(test_id_mismatch),
        cmocka_unit_test(test_incremental_equals_build),
        cmocka_unit_test(test_empty_and_bad_arguments),
        cmocka_unit_test(test_malformed_encodings),
        cmocka_unit_test(test_verify_chunk),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
