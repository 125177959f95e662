/* content_crypto: AES-128-CTR with the counter derived from the byte offset.
 *
 * Owns nothing between calls: each call makes its own EVP context, so any
 * thread may call it at any time. It must never reuse a key stream at two
 * offsets: the counter block for byte offset o is o / 16 (big-endian, 128
 * bits) and the first o % 16 bytes of that block's key stream are skipped. */
#include "base/content_crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

int content_key_generate(struct content_key *key)
{
    return RAND_bytes(key->bytes, (int)sizeof(key->bytes)) == 1 ? 0 : -1;
}

/* EVP_CipherUpdate takes an int length: feed it in slices. */
#define SLICE (1u << 30)

int content_crypt(const struct content_key *key, uint64_t offset, const uint8_t *in, uint8_t *out,
                  size_t len)
{
    if (len == 0)
        return 0;
    uint8_t iv[16] = {0};
    uint64_t block = offset / 16;
    for (int i = 0; i < 8; i++)
        iv[15 - i] = (uint8_t)(block >> (8 * i));

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    int rc = -1;
    int n;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key->bytes, iv) != 1)
        goto out;
    unsigned skip = (unsigned)(offset % 16);
    if (skip) {
        uint8_t pad[16] = {0};
        if (EVP_EncryptUpdate(ctx, pad, &n, pad, (int)skip) != 1)
            goto out;
    }
    while (len > 0) {
        size_t part = len < SLICE ? len : SLICE;
        if (EVP_EncryptUpdate(ctx, out, &n, in, (int)part) != 1 || (size_t)n != part)
            goto out;
        in += part;
        out += part;
        len -= part;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}
