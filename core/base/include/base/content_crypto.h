/* content_crypto: AES-128-CTR over a whole encoded file (DESIGN.md §3).
 *
 * Each file has its own random 16-byte key. The counter block is the byte
 * offset / 16 as a big-endian 128-bit number (IV 0 at offset 0), so any
 * byte range can be decrypted on its own: that is what makes seeking work
 * on partly downloaded files. Encryption and decryption are the same
 * operation. Any thread; no shared state. */
#ifndef CHORUS_CORE_CONTENT_CRYPTO_H
#define CHORUS_CORE_CONTENT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CONTENT_KEY_LEN 16u

struct content_key {
    uint8_t bytes[CONTENT_KEY_LEN];
};

/* Fills key with fresh random bytes (OpenSSL RAND_bytes). Returns 0 or -1. */
int content_key_generate(struct content_key *key);

/* XORs the key stream for bytes [offset, offset+len) of the file into
 * out (out may equal in). Returns 0, or -1 when OpenSSL fails. */
int content_crypt(const struct content_key *key, uint64_t offset, const uint8_t *in, uint8_t *out,
                  size_t len);

#endif
