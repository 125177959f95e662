/* manifest: the content format's description of one encrypted file
 * (DESIGN.md §3).
 *
 * An encrypted file is cut into chunks of MANIFEST_CHUNK_SIZE bytes (the
 * last may be short). The manifest holds the file size, the chunk size and
 * the SHA-256 of every chunk; the file id is the SHA-256 of the manifest's
 * encoding, so a manifest from anyone is checked against the id and every
 * chunk from anyone against the manifest.
 *
 * Encoding (all integers big-endian):
 *   "CHMF" | u8 version (1) | u32 chunk_size | u64 file_size | u32 chunk_count
 *   | chunk_count * 32 bytes of SHA-256
 * chunk_count must equal ceil(file_size / chunk_size) and the length must
 * be exactly MANIFEST_HEADER_LEN + 32 * chunk_count; decoding refuses
 * anything else, a chunk size outside [MANIFEST_MIN_CHUNK_SIZE,
 * MANIFEST_MAX_CHUNK_SIZE], and a file size of 0 or above
 * MANIFEST_MAX_FILE_SIZE, all before allocating anything.
 *
 * A zero-length file has no manifest: manifest_build refuses it
 * (MANIFEST_EEMPTY) and so does every decoder. A manifest made with
 * manifest_begin gets its first chunk before it is used.
 *
 * Pure functions, any thread. */
#ifndef CHORUS_CORE_MANIFEST_H
#define CHORUS_CORE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_CHUNK_SIZE     16384u
#define MANIFEST_HASH_LEN       32u
#define MANIFEST_MAX_FILE_SIZE  (1ull << 31) /* 2 GiB: far above any track */
#define CONTENT_ID_LEN          32u
#define CONTENT_ID_HEX_LEN      64u
#define MANIFEST_MIN_CHUNK_SIZE 1024u
#define MANIFEST_MAX_CHUNK_SIZE (1u << 20)
#define MANIFEST_HEADER_LEN     21u /* magic, version, chunk size, file size, count */
#define MANIFEST_VERSION        1u

/* Errors (negative). */
enum {
    MANIFEST_EFORMAT = -1000, /* malformed encoding */
    MANIFEST_ETOOBIG = -1001, /* beyond MANIFEST_MAX_FILE_SIZE */
    MANIFEST_EID = -1002,     /* does not hash to the expected id */
    MANIFEST_EEMPTY = -1003,  /* zero-length file */
    MANIFEST_EINVAL = -1004,  /* bad argument (chunk size out of range, chunk too long) */
};

struct content_id {
    uint8_t bytes[CONTENT_ID_LEN];
};

struct manifest {
    uint64_t file_size;
    uint32_t chunk_size;
    uint32_t chunk_count;
    uint8_t (*chunk_hashes)[MANIFEST_HASH_LEN]; /* chunk_count entries, owned */
};

/* Builds the manifest of an (encrypted) file held in memory. The caller
 * owns *out (manifest_free). Returns 0, MANIFEST_EEMPTY, MANIFEST_ETOOBIG
 * or MANIFEST_EINVAL (chunk size out of range). */
int manifest_build(const uint8_t *file, size_t len, uint32_t chunk_size, struct manifest **out);

/* Incremental form for files streamed in chunk by chunk: add the chunks in
 * order; each but the last must be exactly chunk_size long. manifest_begin
 * returns NULL when chunk_size is out of range; manifest_add_chunk returns
 * 0, MANIFEST_EINVAL (empty or longer than chunk_size, or a chunk after a
 * short one) or MANIFEST_ETOOBIG, and leaves m unchanged on error. */
struct manifest *manifest_begin(uint32_t chunk_size);
int manifest_add_chunk(struct manifest *m, const uint8_t *data, size_t len);

void manifest_free(struct manifest *m);

/* Serialises m into a new buffer owned by the caller (free). */
void manifest_encode(const struct manifest *m, uint8_t **buf, size_t *len);

/* Parses an encoding; checks every declared size before allocating. When
 * expect is not NULL the encoding must hash to it (MANIFEST_EID). */
int manifest_decode(const uint8_t *buf, size_t len, const struct content_id *expect,
                    struct manifest **out);

/* Length of m's encoding. */
size_t manifest_encoded_len(const struct manifest *m);

/* The file id: SHA-256 of the encoding. */
void manifest_id(const struct manifest *m, struct content_id *out);
/* The same from the encoded bytes (no decoding, no checks). */
void manifest_id_of_encoding(const uint8_t *buf, size_t len, struct content_id *out);

/* Length of chunk index (0 when out of range). */
uint32_t manifest_chunk_len(const struct manifest *m, uint32_t index);

/* True when data is exactly chunk index of the file (right length, right
 * SHA-256); false for an index out of range. */
bool manifest_verify_chunk(const struct manifest *m, uint32_t index, const uint8_t *data,
                           size_t len);

/* Lower-case hex of an id into out (CONTENT_ID_HEX_LEN + 1 bytes). */
void content_id_to_hex(const struct content_id *id, char *out);
/* Parses 64 hex digits; returns 0 or MANIFEST_EFORMAT. */
int content_id_from_hex(const char *hex, struct content_id *out);
bool content_id_equal(const struct content_id *a, const struct content_id *b);

const char *manifest_strerror(int err);

#endif
