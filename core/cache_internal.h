/* cache_internal: what the cache's source files share (cache.c: state,
 * reads, events; cache_write.c: writes, eviction, maintenance;
 * cache_index.c: the SQLite index; cache_async.c: the libuv front).
 *
 * Locks, always taken in this order:
 *   io  serialises everything that changes the disk or the index (writes,
 *       evictions, drops, flushes) and owns the SQLite connection. Held
 *       across I/O; never taken by in-memory calls, so never by the loop.
 *   mu  guards the in-memory state below. Never held across I/O. */
#ifndef CHORUS_CORE_CACHE_INTERNAL_H
#define CHORUS_CORE_CACHE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cache.h"
#include "base/log.h"
#include "base/manifest.h"

#define CACHE_LOG_MODULE "cache"
/* Data file descriptors kept open (least recently used are closed) unless
 * cache_config.max_open_files says otherwise ([cache] max_open_files). */
#define CACHE_MAX_OPEN_FDS 64
/* Writes grouped into one fdatasync + index transaction (async path). */
#define CACHE_MAX_BATCH 64

/* One content file. Entries without a manifest (m == NULL) only carry pins
 * for files that have not arrived yet. */
struct cfile {
    struct cfile *hnext; /* hash chain */
    struct content_id id;
    int64_t rowid;      /* files.fid in the index; 0 when not stored */
    struct manifest *m; /* owned; NULL for a pin-only entry */
    uint32_t manifest_len;
    uint8_t *present;  /* bitmap: chunk row committed */
    uint8_t *verified; /* bitmap: hashed since open (or written this session) */
    uint32_t chunks_present;
    uint64_t chunk_bytes; /* bytes of the present chunks */
    unsigned pins;
    unsigned writers; /* write batches using it: not evictable */
    unsigned refs;    /* operations holding the struct (fd stays open) */
    int64_t last_played_ms;
    bool played_dirty;               /* last_played_ms not yet in the index */
    bool gone;                       /* removed from the table; freed at refs == 0 */
    int fd;                          /* data file, -1 when not open */
    struct cfile *fd_prev, *fd_next; /* LRU of open fds, most recent first */
};

/* Lifetime counters, persisted in the index. */
struct cache_counters {
    uint64_t play_hits, play_misses, hit_bytes, miss_bytes;
    uint64_t bytes[CACHE_SRC_COUNT];
    uint64_t served_bytes, evicted_files, evicted_bytes, corrupt_chunks, enospc;
};

struct cache_ev {
    struct cache_ev *next;
    enum cache_event type;
    struct content_id id;
};

struct cache_waiter {
    struct cache_waiter *next;
    struct content_id id;
    bool canceled;
};

/* An evicted file whose data file and rows still have to go (io held). */
struct cache_doomed {
    struct cache_doomed *next;
    struct content_id id;
    bool unlinked;
};

struct cache_req;

struct cache {
    char *dir, *chunks_dir;
    struct clog *log;
    int lock_fd;
    bool verify_every_read;

    pthread_mutex_t io;
    sqlite3 *db;
    struct cache_index_stmts *stmts;
    struct cache_doomed *doomed; /* io */

    pthread_mutex_t mu;
    pthread_cond_t arrived; /* a chunk was stored, or waits were cancelled */
    struct cfile **buckets;
    size_t nbuckets, nentries;
    uint32_t nfiles; /* entries with a manifest */
    uint64_t cap;
    bool cap_default;
    uint64_t used; /* chunks + manifests, reservations included */
    struct cache_counters ctr;
    bool ctr_dirty;
    int64_t clock_ms; /* last value handed out as a play/store time */
    struct cfile *fd_head, *fd_tail;
    unsigned open_fds, max_open_fds;
    struct cache_waiter *waiters;
    struct cache_ev *ev_head, *ev_tail;

    /* loop side */
    uv_loop_t *loop;
    uv_async_t *wake; /* heap: freed by its close callback */
    cache_event_fn on_event;
    void *event_ctx;
    struct cache_req *sq_head, *sq_tail; /* serial queue (loop thread) */
    bool sq_running;
    unsigned pending;
};

/* ---- cache.c ---- */
struct cfile *cache_lookup(struct cache *c, const struct content_id *id);
/* Finds or adds an entry (mu held). */
struct cfile *cache_lookup_add(struct cache *c, const struct content_id *id);
/* Gives f a manifest (mu held): bitmaps sized, accounting done by caller. */
void cache_file_set_manifest(struct cfile *f, struct manifest *m, uint32_t manifest_len);
/* Removes f from the table (mu held); frees it now or at its last unref. */
void cache_remove_locked(struct cache *c, struct cfile *f);
/* Drops a reference (mu held). */
void cache_unref_locked(struct cache *c, struct cfile *f);
/* Queues an event (mu held). */
void cache_event_locked(struct cache *c, enum cache_event type, const struct content_id *id);
/* Delivers or signals queued events: call with no lock held. */
void cache_events_flush(struct cache *c);
/* Delivers every queued event on this thread (no lock held). */
void cache_events_deliver(struct cache *c);
/* The next play/store time (mu held): now, strictly increasing. */
int64_t cache_clock_next(struct cache *c);
/* The data file path of id; owned by the caller. */
char *cache_data_path(const struct cache *c, const struct content_id *id);
/* Opens (with O_CREAT when create) f's data file if needed; f->refs held,
 * mu not held. Returns the fd or -errno; CACHE_ENOTFOUND when f is gone. */
int cache_file_fd(struct cache *c, struct cfile *f, bool create);
/* The chunk's bytes from disk, checked when check; no counting. f->refs
 * held, mu not held. Returns 0, CACHE_ECORRUPT (not dropped here) or
 * -errno. */
int cache_load_chunk(struct cache *c, struct cfile *f, uint32_t index, bool check, uint8_t *buf,
                     size_t *len);
/* Length of a chunk, 0 when unknown (no manifest, out of range). */
uint32_t cache_chunk_len(struct cache *c, const struct content_id *id, uint32_t index);
bool cache_bit(const uint8_t *bits, uint32_t i);
void cache_bit_set(uint8_t *bits, uint32_t i, bool on);
/* "ab12cd34" prefix of an id, for log lines (buf: 9 bytes). */
const char *cache_short_id(const struct content_id *id, char *buf);

/* ---- cache_write.c ---- */
struct cache_wreq {
    struct content_id id;
    uint32_t index;
    const uint8_t *data;
    size_t len;
    enum cache_source src;
    int status;
    struct cfile *f;           /* internal: the file, when admitted */
    struct cache_wreq *dup_of; /* internal: the same chunk earlier in the batch */
};
/* Stores n chunks with one fdatasync per file and one transaction; each
 * request's status is set. Returns 0 (look at the statuses). */
int cache_write_batch(struct cache *c, struct cache_wreq *reqs, size_t n);
/* Drops a chunk found corrupt (takes io, then mu). */
void cache_drop_chunk(struct cache *c, struct cfile *f, uint32_t index);
/* Evicts least recently played files until used + need <= cap (io and mu
 * held). Returns false when that cannot be reached: then, for need > 0,
 * nothing was evicted; for need == 0 (a lower cap), all it could. */
bool cache_make_room_locked(struct cache *c, uint64_t need);
/* Unlinks the evicted files' data and deletes their rows, in a
 * transaction of its own (io held). */
int cache_reap_doomed(struct cache *c);

/* ---- cache_index.c (io held, or single-threaded during open) ---- */
int cache_index_open(struct cache *c, const char *path);
void cache_index_close(struct cache *c);
/* True when the last index error was SQLite finding the file corrupt. */
bool cache_index_corrupt(struct cache *c);
/* Loads files, chunks and counters into the table (open time). */
int cache_index_load(struct cache *c);
int cache_index_begin(struct cache *c);
int cache_index_commit(struct cache *c);
void cache_index_rollback(struct cache *c);
/* Adds a file row; sets *rowid. */
int cache_index_put_file(struct cache *c, const struct content_id *id, const uint8_t *enc,
                         size_t len, uint64_t size, int64_t played_ms, int64_t *rowid);
int cache_index_set_complete(struct cache *c, int64_t rowid, bool complete);
/* Recomputes every files.complete from the chunk rows. */
int cache_index_fix_complete(struct cache *c);
int cache_index_put_chunk(struct cache *c, int64_t rowid, uint32_t index);
int cache_index_del_chunk(struct cache *c, int64_t rowid, uint32_t index);
/* Deletes the file's row and its chunk rows. */
int cache_index_del_file(struct cache *c, const struct content_id *id);
/* Writes dirty play times and the counters (inside a transaction). */
int cache_index_save_dirty(struct cache *c);
/* Maps a SQLite result code: SQLITE_FULL -> -ENOSPC, else CACHE_EINDEX
 * (logged). */
int cache_index_error(struct cache *c, int rc, const char *what);

/* ---- cache_async.c ---- */
int cache_async_init(struct cache *c);
void cache_async_close(struct cache *c);

#endif
