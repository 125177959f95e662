/* cache: the client's on-disk chunk cache (DESIGN.md §6).
 *
 * Holds encrypted chunks (content format of core/manifest.h) of the files
 * this client played, prefetched or fetched for peers, plus their
 * manifests, under one directory:
 *
 *   DIR/index.sqlite            the index (SQLite, WAL): files (id,
 *                               manifest, size, complete, last played),
 *                               chunks present, lifetime counters
 *   DIR/chunks/<2 hex>/<64 hex> one sparse data file per content file;
 *                               chunk i lives at offset i * chunk_size
 *   DIR/lock                    flock'ed by the one cache that has DIR open
 *
 * Writes are write-through (no RAM write cache) and checked against the
 * manifest before anything touches the disk.
 *
 * Crash rule: a chunk's index row is committed only after its bytes were
 * written and fdatasync'ed. A write torn by kill -9 or a power cut has no
 * row, so it is missing, never returned. On open, data files that are
 * missing or too short for their rows lose those rows, and data files with
 * no index entry are deleted. Beyond that, every chunk is hashed again the
 * first time it is read after open (a SHA-256 of 16 KiB, ~14 us here: see
 * `chorus-bench cache`); later reads of that chunk in the same session are
 * a bare pread. A chunk that fails its check is dropped (row deleted, space
 * released) and reported as CACHE_ECORRUPT: it is missing from then on and
 * must be fetched again. cache_config.verify_every_read hashes every read.
 *
 * Size cap: by default 10% of (free space of DIR's file system + what the
 * cache already holds), at most CACHE_DEFAULT_CAP_MAX. It counts the bytes
 * of stored chunks and manifests (not the file system's rounding to
 * blocks, nor the index's own rows, well under 1%) and holds at all times:
 * room is made (whole files evicted, least recently played first) before a
 * byte is written. Pinned files (playing, prefetching) and files being written are
 * never evicted; when nothing else can go, the write fails with
 * CACHE_EFULL. A full disk (ENOSPC) evicts the same way and retries, logs
 * one warning line, and fails the write with -ENOSPC only when nothing is
 * left to evict; the index stays consistent.
 *
 * Threads (DESIGN.md §2). The cache belongs to the core loop. Three kinds
 * of call:
 *  - in-memory calls (pin, note_play, has_chunk, stats, lists, file_info,
 *    chunk_map, get_manifest, cancel_waits): any thread, never do I/O, take one short mutex. Safe
 *    on the loop.
 *  - blocking calls (open, free, put_manifest, write, read, read_wait,
 *    verify, clear, set_cap, flush): any thread but the loop's — the
 *    decoder thread reads with cache_read_wait, the CLI and the benchmark
 *    use them directly. Internally: one mutex serialises index writes and
 *    evictions; readers never wait for a writer's I/O.
 *  - async calls (*_async): the loop's thread only; they run the blocking
 *    call on the libuv threadpool and call back on the loop. Manifest puts,
 *    writes and cap changes run one batch at a time in submission order
 *    (consecutive writes share one fdatasync per file and one index
 *    transaction); reads run in parallel.
 *
 * Events (a file became complete, was evicted, or lost a chunk): with a
 * loop, delivered on the loop's thread (before the callbacks of the async
 * call that caused them, or soon after for blocking calls from other
 * threads); without a loop, on the thread whose call caused them, after the
 * cache's locks are released.
 *
 * Memory: the manifests of all cached files stay in RAM (32 bytes per
 * 16 KiB chunk: 0.2% of the cache, 19 MiB for a full 10 GB cache) with
 * two bits per chunk; every check then costs no index lookup.
 *
 * Errors: 0 or negative: CACHE_* below, MANIFEST_* from manifest.h, or
 * -errno from the file system. cache_strerror covers all of them. The cache
 * logs (module "cache") what the user should know: evictions forced by a
 * full disk, corrupt chunks, index trouble. */
#ifndef CHORUS_CORE_CACHE_H
#define CHORUS_CORE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/manifest.h"

struct clog;

/* Default cap: CACHE_DEFAULT_CAP_PERCENT of the free space, at most this:
 * 10 GB, decimal as DESIGN.md §6 says (10^10 bytes, about 9.3 GiB; not
 * "10G" in chorus.conf's binary units). */
#define CACHE_DEFAULT_CAP_MAX     10000000000ull
#define CACHE_DEFAULT_CAP_PERCENT 10

enum {
    CACHE_ENOTFOUND = -5000,   /* chunk or file not in the cache */
    CACHE_ENOMANIFEST = -5001, /* no manifest stored for the file: put it first */
    CACHE_EBADCHUNK = -5002,   /* data does not match the manifest: refused */
    CACHE_ECORRUPT = -5003,    /* stored chunk failed its check: dropped, now missing */
    CACHE_EFULL = -5004,       /* over the cap and nothing evictable (all pinned) */
    CACHE_ERANGE = -5005,      /* chunk index beyond the file */
    CACHE_EINDEX = -5006,      /* the SQLite index failed (details in the log) */
    CACHE_ETIMEDOUT = -5007,   /* cache_read_wait: the chunk did not arrive in time */
    CACHE_ECANCELED = -5008,   /* cache_read_wait: cancelled by cache_cancel_waits */
    CACHE_ELOCKED = -5009,     /* the directory is in use by another cache */
    CACHE_EINVAL = -5010,      /* bad argument (no dir, buffer too small, no loop) */
};

/* Where stored bytes came from. CACHE_SRC_CACHE counts playback reads that
 * the cache served; the others count chunks stored from that source. */
enum cache_source { CACHE_SRC_CACHE, CACHE_SRC_PEER, CACHE_SRC_SERVICE, CACHE_SRC_COUNT };

/* Why a chunk is read: playback reads count as hits/misses; peer reads
 * count as served bytes; check reads count nothing. */
enum cache_purpose { CACHE_FOR_PLAY, CACHE_FOR_PEER, CACHE_FOR_CHECK };

enum cache_event {
    CACHE_EV_COMPLETE,   /* every chunk of the file is now present */
    CACHE_EV_EVICTED,    /* the file was removed (cap, full disk, clear) */
    CACHE_EV_INCOMPLETE, /* a complete file lost a chunk (found corrupt) */
};

/* id is borrowed for the call. */
typedef void (*cache_event_fn)(void *ctx, enum cache_event ev, const struct content_id *id);

struct cache_config {
    const char *dir;         /* required; created if missing; copied */
    uint64_t cap_bytes;      /* 0: the default (see above) */
    bool verify_every_read;  /* hash every read, not only the first per session */
    uv_loop_t *loop;         /* needed for *_async and loop delivery of events */
    struct clog *log;        /* borrowed; NULL: no log */
    cache_event_fn on_event; /* may be NULL */
    void *event_ctx;
    /* data files kept open at once (the least recently used are closed;
     * those being read or written stay open); 0: 64 (CACHE_MAX_OPEN_FDS) */
    unsigned max_open_files;
};

struct cache;

/* Opens (creating) the cache in cfg->dir: takes the directory lock, opens
 * the index, loads it and repairs what a crash left (see above). With
 * cfg->loop, call it on the loop's thread (before uv_run is fine: it
 * blocks). The caller owns *out (cache_free). */
int cache_open(const struct cache_config *cfg, struct cache **out);

/* Writes the last-played times and counters to the index and closes
 * everything. With a loop: call on the loop's thread once no async call is
 * pending (cache_pending() == 0); the loop must run once more afterwards to
 * release an internal handle. NULL is ignored. */
void cache_free(struct cache *c);

/* ---- in-memory calls: any thread, no I/O ---- */

/* Pins a file (refcounted): a pinned file is never evicted. Pinning a file
 * the cache does not know yet is fine: the pin applies once it arrives. */
void cache_pin(struct cache *c, const struct content_id *id);
void cache_unpin(struct cache *c, const struct content_id *id);

/* A playback of the file starts: counts a playback hit when the whole file
 * is present (else a miss) and makes it the most recently played file.
 * Returns true for a hit. The index is updated at the next write, flush or
 * close. */
bool cache_note_play(struct cache *c, const struct content_id *id);

/* True when the chunk is present. */
bool cache_has_chunk(struct cache *c, const struct content_id *id, uint32_t index);

struct cache_file_info {
    struct content_id id;
    uint64_t file_size;
    uint32_t chunk_count;
    uint32_t chunks_present;
    uint64_t bytes_present; /* chunk bytes + manifest bytes */
    bool complete;
    unsigned pins;
    int64_t last_played_ms; /* Unix time in ms: last play, or when stored */
};

/* Fills *out. CACHE_ENOTFOUND when the cache has no manifest for id. */
int cache_file_info(struct cache *c, const struct content_id *id, struct cache_file_info *out);

/* Every file with a manifest, least recently played first. The caller owns
 * *out (free); returns the count. */
size_t cache_list_files(struct cache *c, struct cache_file_info **out);

/* The ids of the complete files (for tracker announces and peers). The
 * caller owns *out (free); returns the count. */
size_t cache_list_complete(struct cache *c, struct content_id **out);

/* A copy of the file's presence bitmap (bit i of byte i/8, LSB first, for
 * chunk i) into *bits, owned by the caller (free); *count = chunk count.
 * CACHE_ENOTFOUND when there is no manifest. */
int cache_chunk_map(struct cache *c, const struct content_id *id, uint8_t **bits, uint32_t *count);

struct cache_stats {
    uint64_t cap_bytes;
    uint64_t used_bytes; /* chunks + manifests */
    uint32_t files, complete_files, pinned_files;
    /* lifetime figures (kept in the index across sessions): */
    uint64_t play_hits, play_misses; /* cache_note_play */
    uint64_t hit_bytes, miss_bytes;  /* CACHE_FOR_PLAY reads: present / not */
    uint64_t bytes[CACHE_SRC_COUNT]; /* by source, see enum cache_source */
    uint64_t served_bytes;           /* CACHE_FOR_PEER reads */
    uint64_t evicted_files, evicted_bytes;
    uint64_t corrupt_chunks; /* failed a check on read or verify */
    uint64_t enospc;         /* operations that met a full disk */
};

/* One consistent snapshot of the figures. */
void cache_stats(struct cache *c, struct cache_stats *out);

/* Wakes every cache_read_wait on id (all files when id is NULL); they
 * return CACHE_ECANCELED. For seeks and track changes. */
void cache_cancel_waits(struct cache *c, const struct content_id *id);

/* The directory (owned by c) and the cap in force. */
const char *cache_dir(const struct cache *c);
uint64_t cache_cap(struct cache *c);

/* Async calls not yet called back (loop thread). */
unsigned cache_pending(const struct cache *c);

/* The manifest's encoding (the bytes that hash to id, for peers that ask);
 * the caller owns *enc (free). CACHE_ENOTFOUND when there is none. */
int cache_get_manifest(struct cache *c, const struct content_id *id, uint8_t **enc, size_t *len);

/* ---- blocking calls: any thread but the loop's ---- */

/* Stores the manifest of file id (the encoding, checked to hash to id;
 * copied). Idempotent. MANIFEST_* when it does not decode or match,
 * CACHE_EFULL when it does not fit. */
int cache_put_manifest(struct cache *c, const struct content_id *id, const uint8_t *enc,
                       size_t len);

/* Stores chunk index of file id (data borrowed): checks it against the
 * manifest, makes room, writes, fdatasyncs, then records it. Storing a
 * chunk already present returns 0 and writes nothing. Errors:
 * CACHE_ENOMANIFEST, CACHE_ERANGE, CACHE_EBADCHUNK, CACHE_EFULL, -ENOSPC,
 * -errno, CACHE_EINDEX. */
int cache_write_chunk(struct cache *c, const struct content_id *id, uint32_t index,
                      const uint8_t *data, size_t len, enum cache_source src);

/* Reads chunk index into buf (cap bytes, at least the chunk's length: the
 * manifest's chunk size, MANIFEST_CHUNK_SIZE for Chorus files), *len set.
 * CACHE_ENOTFOUND when absent, CACHE_ECORRUPT when it failed its check
 * (then dropped), CACHE_EINVAL when cap is too small. */
int cache_read_chunk(struct cache *c, const struct content_id *id, uint32_t index,
                     enum cache_purpose purpose, uint8_t *buf, size_t cap, size_t *len);

/* The decoder's read: like cache_read_chunk, but when the chunk is absent
 * (or its file unknown yet) waits until it is stored, timeout_ms passes
 * (CACHE_ETIMEDOUT; < 0 waits for ever) or cache_cancel_waits is called
 * (CACHE_ECANCELED). A playback miss is counted once, for the first look.
 * This only waits: the caller asks the core for the chunk (through the mq),
 * typically after a cache_read_chunk said CACHE_ENOTFOUND. CACHE_ECORRUPT
 * returns at once (the chunk was dropped; ask for it again, then wait). */
int cache_read_wait(struct cache *c, const struct content_id *id, uint32_t index,
                    enum cache_purpose purpose, uint8_t *buf, size_t cap, size_t *len,
                    int timeout_ms);

struct cache_verify_report {
    uint32_t files;
    uint64_t chunks, bytes; /* checked */
    uint64_t bad_chunks;    /* dropped */
};

/* Hashes every present chunk against its manifest and drops the bad ones.
 * *rep may be NULL. */
int cache_verify(struct cache *c, struct cache_verify_report *rep);

/* Evicts every file that is not pinned. Sets *evicted (may be NULL). */
int cache_clear(struct cache *c, uint32_t *evicted);

/* Changes the cap (0: the default), evicting at once down to it. When the
 * pinned files alone exceed it, returns CACHE_EFULL with the cap in force:
 * they go (once unpinned) at the next write that needs room. */
int cache_set_cap(struct cache *c, uint64_t cap_bytes);

/* Writes last-played times and counters to the index. */
int cache_flush(struct cache *c);

/* ---- async calls: the loop's thread only ---- */

/* status is 0 or an error as for the blocking call. */
typedef void (*cache_done_fn)(void *ctx, int status);
/* data (len bytes) is owned by the cache, valid during the call only. */
typedef void (*cache_read_fn)(void *ctx, int status, const uint8_t *data, size_t len);

/* Each copies what it needs and returns 0 (cb will be called on the loop,
 * never from inside the call) or CACHE_EINVAL when the cache has no loop.
 * cb may be NULL for the done kind. */
int cache_put_manifest_async(struct cache *c, const struct content_id *id, const uint8_t *enc,
                             size_t len, cache_done_fn cb, void *ctx);
int cache_write_async(struct cache *c, const struct content_id *id, uint32_t index,
                      const uint8_t *data, size_t len, enum cache_source src, cache_done_fn cb,
                      void *ctx);
int cache_read_async(struct cache *c, const struct content_id *id, uint32_t index,
                     enum cache_purpose purpose, cache_read_fn cb, void *ctx);
int cache_set_cap_async(struct cache *c, uint64_t cap_bytes, cache_done_fn cb, void *ctx);
int cache_flush_async(struct cache *c, cache_done_fn cb, void *ctx);

/* ---- helpers ---- */

/* Formats bytes for people, in powers of 1024 as chorus.conf counts:
 * "512 B", "1.5 GiB". buf: at least 16 bytes. Returns buf. */
char *cache_format_size(uint64_t bytes, char *buf, size_t len);

/* The default cap for a cache in dir already holding used bytes. */
int cache_default_cap(const char *dir, uint64_t used, uint64_t *out);

const char *cache_strerror(int err);

#endif
