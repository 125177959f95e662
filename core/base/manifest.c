/* manifest: build, encode, decode and check manifests (format in manifest.h).
 *
 * Owns only the manifests it returns. Pure functions, any thread. Decoding
 * handles bytes from untrusted peers: it must never allocate or index
 * anything from a declared size before checking that size against the
 * limits and against the actual input length. */
#include "base/manifest.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

static const uint8_t magic[4] = {'C', 'H', 'M', 'F'};

static bool chunk_size_ok(uint32_t chunk_size)
{
    return chunk_size >= MANIFEST_MIN_CHUNK_SIZE && chunk_size <= MANIFEST_MAX_CHUNK_SIZE;
}

static uint32_t chunks_for(uint64_t file_size, uint32_t chunk_size)
{
    return (uint32_t)((file_size + chunk_size - 1) / chunk_size);
}

/* Capacity is the next power of two >= count: grow when count reaches one. */
static void ensure_room(struct manifest *m)
{
    uint32_t c = m->chunk_count;
    if (c == 0 || (c & (c - 1)) == 0) {
        size_t cap = c == 0 ? 16 : (size_t)c * 2;
        m->chunk_hashes = xrealloc(m->chunk_hashes, cap * MANIFEST_HASH_LEN);
    }
}

struct manifest *manifest_begin(uint32_t chunk_size)
{
    if (!chunk_size_ok(chunk_size))
        return NULL;
    struct manifest *m = xcalloc(1, sizeof(*m));
    m->chunk_size = chunk_size;
    return m;
}

int manifest_add_chunk(struct manifest *m, const uint8_t *data, size_t len)
{
    if (len == 0 || len > m->chunk_size)
        return MANIFEST_EINVAL;
    if (m->file_size % m->chunk_size != 0) /* a short chunk was the last */
        return MANIFEST_EINVAL;
    if (m->file_size + len > MANIFEST_MAX_FILE_SIZE)
        return MANIFEST_ETOOBIG;
    ensure_room(m);
    SHA256(data, len, m->chunk_hashes[m->chunk_count]);
    m->chunk_count++;
    m->file_size += len;
    return 0;
}

int manifest_build(const uint8_t *file, size_t len, uint32_t chunk_size, struct manifest **out)
{
    *out = NULL;
    if (!chunk_size_ok(chunk_size))
        return MANIFEST_EINVAL;
    if (len == 0)
        return MANIFEST_EEMPTY;
    if ((uint64_t)len > MANIFEST_MAX_FILE_SIZE)
        return MANIFEST_ETOOBIG;
    struct manifest *m = xcalloc(1, sizeof(*m));
    m->chunk_size = chunk_size;
    m->file_size = len;
    m->chunk_count = chunks_for(len, chunk_size);
    m->chunk_hashes = xmalloc((size_t)m->chunk_count * MANIFEST_HASH_LEN);
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        size_t off = (size_t)i * chunk_size;
        size_t n = len - off < chunk_size ? len - off : chunk_size;
        SHA256(file + off, n, m->chunk_hashes[i]);
    }
    *out = m;
    return 0;
}

void manifest_free(struct manifest *m)
{
    if (!m)
        return;
    free(m->chunk_hashes);
    free(m);
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

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

size_t manifest_encoded_len(const struct manifest *m)
{
    return MANIFEST_HEADER_LEN + (size_t)m->chunk_count * MANIFEST_HASH_LEN;
}

static void encode_header(const struct manifest *m, uint8_t *p)
{
    memcpy(p, magic, 4);
    p[4] = MANIFEST_VERSION;
    put_be32(p + 5, m->chunk_size);
    put_be64(p + 9, m->file_size);
    put_be32(p + 17, m->chunk_count);
}

void manifest_encode(const struct manifest *m, uint8_t **buf, size_t *len)
{
    size_t n = manifest_encoded_len(m);
    uint8_t *p = xmalloc(n);
    encode_header(m, p);
    if (m->chunk_count)
        memcpy(p + MANIFEST_HEADER_LEN, m->chunk_hashes,
               (size_t)m->chunk_count * MANIFEST_HASH_LEN);
    *buf = p;
    *len = n;
}

void manifest_id(const struct manifest *m, struct content_id *out)
{
    uint8_t *buf;
    size_t len;
    manifest_encode(m, &buf, &len);
    manifest_id_of_encoding(buf, len, out);
    free(buf);
}

void manifest_id_of_encoding(const uint8_t *buf, size_t len, struct content_id *out)
{
    SHA256(buf, len, out->bytes);
}

int manifest_decode(const uint8_t *buf, size_t len, const struct content_id *expect,
                    struct manifest **out)
{
    *out = NULL;
    if (len < MANIFEST_HEADER_LEN || memcmp(buf, magic, 4) != 0 || buf[4] != MANIFEST_VERSION)
        return MANIFEST_EFORMAT;
    uint32_t chunk_size = get_be32(buf + 5);
    uint64_t file_size = get_be64(buf + 9);
    uint32_t count = get_be32(buf + 17);
    if (!chunk_size_ok(chunk_size) || file_size == 0)
        return MANIFEST_EFORMAT;
    if (file_size > MANIFEST_MAX_FILE_SIZE)
        return MANIFEST_ETOOBIG;
    if (count != chunks_for(file_size, chunk_size))
        return MANIFEST_EFORMAT;
    if (len != MANIFEST_HEADER_LEN + (size_t)count * MANIFEST_HASH_LEN)
        return MANIFEST_EFORMAT;
    if (expect) {
        struct content_id got;
        manifest_id_of_encoding(buf, len, &got);
        if (!content_id_equal(&got, expect))
            return MANIFEST_EID;
    }
    struct manifest *m = xcalloc(1, sizeof(*m));
    m->chunk_size = chunk_size;
    m->file_size = file_size;
    m->chunk_count = count;
    m->chunk_hashes = xmalloc((size_t)count * MANIFEST_HASH_LEN);
    memcpy(m->chunk_hashes, buf + MANIFEST_HEADER_LEN, (size_t)count * MANIFEST_HASH_LEN);
    *out = m;
    return 0;
}

uint32_t manifest_chunk_len(const struct manifest *m, uint32_t index)
{
    if (index >= m->chunk_count)
        return 0;
    uint64_t off = (uint64_t)index * m->chunk_size;
    uint64_t left = m->file_size - off;
    return left < m->chunk_size ? (uint32_t)left : m->chunk_size;
}

bool manifest_verify_chunk(const struct manifest *m, uint32_t index, const uint8_t *data,
                           size_t len)
{
    uint32_t want = manifest_chunk_len(m, index);
    if (want == 0 || len != want)
        return false;
    uint8_t hash[MANIFEST_HASH_LEN];
    SHA256(data, len, hash);
    return memcmp(hash, m->chunk_hashes[index], MANIFEST_HASH_LEN) == 0;
}

void content_id_to_hex(const struct content_id *id, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < CONTENT_ID_LEN; i++) {
        out[2 * i] = digits[id->bytes[i] >> 4];
        out[2 * i + 1] = digits[id->bytes[i] & 15];
    }
    out[CONTENT_ID_HEX_LEN] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int content_id_from_hex(const char *hex, struct content_id *out)
{
    struct content_id id;
    for (unsigned i = 0; i < CONTENT_ID_LEN; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (lo < 0)
            return MANIFEST_EFORMAT;
        id.bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[CONTENT_ID_HEX_LEN] != '\0')
        return MANIFEST_EFORMAT;
    *out = id;
    return 0;
}

bool content_id_equal(const struct content_id *a, const struct content_id *b)
{
    return memcmp(a->bytes, b->bytes, CONTENT_ID_LEN) == 0;
}

const char *manifest_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case MANIFEST_EFORMAT:
        return "malformed manifest";
    case MANIFEST_ETOOBIG:
        return "file too large for a manifest";
    case MANIFEST_EID:
        return "manifest does not match its file id";
    case MANIFEST_EEMPTY:
        return "empty file";
    case MANIFEST_EINVAL:
        return "invalid manifest argument";
    default:
        return "unknown manifest error";
    }
}
