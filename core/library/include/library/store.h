/* store: the service's master store of encrypted files (DESIGN.md §3).
 *
 * Layout under the data directory given to store_open:
 *   files/<2 hex>/<64 hex>      the encrypted file (AES-128-CTR, see
 *                               content_crypto.h), named by its id
 *   manifests/<2 hex>/<64 hex>  its manifest encoding (manifest.h); the id
 *                               is the SHA-256 of these bytes
 *   keys/<2 hex>/<64 hex>       its 16-byte content key, raw. keys/ and its
 *                               subdirectories are 0700, key files 0600:
 *                               readable only by the service's user.
 * (<2 hex> is the first byte of the id; it keeps directories small.)
 *
 * Commit point: store_put writes content, then manifest, then key, each
 * atomically (fsutil: temp file, fsync, rename, fsync dir). A file is
 * present exactly when its key file exists; the key is written last, after
 * the content and manifest are durable. A put killed at any moment leaves
 * either nothing visible, or content/manifest without a key — invisible to
 * every read here and rewritten by the next put of the same bytes; at worst
 * a hidden temp file, which store_sweep removes.
 *
 * Every stored file is chunked with MANIFEST_CHUNK_SIZE. Files are
 * content-addressed and never change once committed.
 *
 * Threads: every function is safe from any thread on a shared store (the
 * service reads chunks on libuv threadpool threads). Reads use pread on
 * file descriptors kept in a small cache under a mutex that is never held
 * during I/O. Several processes may use the same directory (chorusd serving
 * while chorusd import adds files). Nothing here logs.
 *
 * Errors: 0 or negative: STORE_* below, MANIFEST_ETOOBIG from store_put,
 * or -errno from the file system (-ENOSPC for a full disk, -EACCES ...).
 * A stored manifest that does not decode or hash to its id is
 * STORE_ECORRUPT. store_strerror covers all of them. */
#ifndef CHORUS_CORE_STORE_H
#define CHORUS_CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/content_crypto.h"
#include "base/manifest.h"

#define STORE_CHUNK_SIZE MANIFEST_CHUNK_SIZE

enum {
    STORE_ENOTFOUND = -2000, /* no such file (no key: not committed) */
    STORE_ECORRUPT = -2001,  /* what is on disk does not match its id/manifest */
    STORE_EEMPTY = -2002,    /* refusing to store a zero-length file */
    STORE_ERANGE = -2003,    /* chunk index or byte range beyond the file */
    STORE_EEXIST = -2004,    /* same bytes already stored under another key */
    STORE_ECRYPTO = -2005,   /* OpenSSL failed */
};

/* store_verify's *bad_chunk when the fault is not in one chunk. */
#define STORE_NO_CHUNK UINT32_MAX

struct store;

/* Opens (creating as needed, mode 0700 for dir and keys/, 0755 for files/
 * and manifests/) the store under dir. A keys/ directory with looser
 * permissions is tightened to 0700. The caller owns *out (store_free). */
int store_open(const char *dir, struct store **out);
void store_free(struct store *s);

/* Stores an encrypted file of len bytes (1 .. MANIFEST_MAX_FILE_SIZE)
 * with its key: builds the manifest, writes content, manifest, key (the
 * commit point). Sets *id (may be NULL). Idempotent: putting bytes that are
 * already present with the same key returns 0 and writes nothing; with a
 * different key, STORE_EEXIST. Returns STORE_EEMPTY for len 0,
 * MANIFEST_ETOOBIG above the maximum, or -errno. */
int store_put(struct store *s, const uint8_t *data, size_t len, const struct content_key *key,
              struct content_id *id);

/* True when the file is present (its key exists). */
bool store_has(struct store *s, const struct content_id *id);

/* The decoded manifest, checked against id (a mismatch is STORE_ECORRUPT).
 * The caller owns *out (manifest_free). */
int store_read_manifest(struct store *s, const struct content_id *id, struct manifest **out);

/* The manifest's encoding as stored (to send over the wire), checked to
 * hash to id. The caller owns *buf (free). */
int store_read_manifest_raw(struct store *s, const struct content_id *id, uint8_t **buf,
                            size_t *len);

/* Reads chunk index of the encrypted file into buf, which must hold
 * STORE_CHUNK_SIZE bytes; *len gets its length (short for the last chunk).
 * No hash check (see store_read_chunk_verified). STORE_ERANGE for an index
 * past the end. */
int store_read_chunk(struct store *s, const struct content_id *id, uint32_t index, uint8_t *buf,
                     size_t *len);

/* The same, checked against the file's manifest m (from store_read_manifest,
 * borrowed): STORE_ECORRUPT when the bytes on disk do not match. */
int store_read_chunk_verified(struct store *s, const struct content_id *id,
                              const struct manifest *m, uint32_t index, uint8_t *buf, size_t *len);

/* Reads bytes [offset, offset+len) of the file and decrypts them with its
 * key into buf (content_crypt). STORE_ERANGE when the range passes the end
 * of the file. */
int store_read_decrypted(struct store *s, const struct content_id *id, uint64_t offset,
                         uint8_t *buf, size_t len);

/* The file's content key. */
int store_read_key(struct store *s, const struct content_id *id, struct content_key *key);

/* Re-hashes everything of one file: the manifest against the id, the
 * content's size and every chunk against the manifest, the key's length.
 * Returns 0, STORE_ENOTFOUND, or STORE_ECORRUPT with *bad_chunk (may be
 * NULL) set to the first bad chunk's index or STORE_NO_CHUNK when the
 * fault is elsewhere (manifest, size, key). */
int store_verify(struct store *s, const struct content_id *id, uint32_t *bad_chunk);

/* Removes a file: its key first (durably: from then on it is absent),
 * then manifest and content. A read already under way finishes; a read
 * racing with the removal may still return the file's bytes (they are
 * right: files never change). Leftovers of an interrupted removal are
 * orphans for store_sweep. STORE_ENOTFOUND when it was not present (any
 * orphan pieces are removed all the same). */
int store_remove(struct store *s, const struct content_id *id);

/* Calls fn for every present file, in ascending id order. fn returns 0 to
 * go on; anything else stops the walk and is returned. The id is borrowed
 * for the call. Returns 0, fn's value or -errno. */
typedef int (*store_list_fn)(const struct content_id *id, void *ctx);
int store_list(struct store *s, store_list_fn fn, void *ctx);

/* Removes what a killed put leaves behind: temp files, and content or
 * manifests without a key, that are at least min_age_s seconds old
 * (younger ones may be a put in progress in another process). Sets
 * *removed (may be NULL). */
int store_sweep(struct store *s, unsigned min_age_s, unsigned *removed);

/* Removes committed files that keep() does not claim, committed at least
 * min_age_s seconds ago (younger ones may belong to a put whose owner has
 * yet to record it: see audio/import.h). The store does not know what
 * refers to its files; keep does: it returns 1 to keep the file, 0 to
 * remove it (store_remove), or a negative code that stops the walk and is
 * returned. The id is borrowed for the call. Sets *removed (may be NULL).
 * Returns 0, keep's error or -errno. */
typedef int (*store_keep_fn)(const struct content_id *id, void *ctx);
int store_prune(struct store *s, unsigned min_age_s, store_keep_fn keep, void *ctx,
                unsigned *removed);

const char *store_strerror(int err);

#endif
