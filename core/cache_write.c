/* cache_write: everything that changes the cache — manifest puts, chunk
 * writes, eviction, dropping bad chunks, verify, clear, cap changes.
 *
 * All of it runs under the io lock (one writer at a time; readers go on).
 * Order of a write batch, which is the crash rule of core/cache.h:
 *   1. check each chunk against its manifest (nothing bad reaches disk);
 *   2. make room under the cap: victims leave the table (and their data
 *      files are unlinked) before a byte of the new chunks is written;
 *   3. pwrite the chunks, then fdatasync each data file once;
 *   4. one index transaction: rows of the victims out, rows of the new
 *      chunks in, play times and counters;
 *   5. only then mark the chunks present and wake waiting readers.
 * A full disk (pwrite, fdatasync or SQLite) evicts the least recently
 * played file and retries; only when nothing is left to evict does the
 * write fail, with its bytes released (hole punched) and the index as it
 * was. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_internal.h"
#include "base/fsutil.h"
#include "base/xmalloc.h"

/* ---- eviction ---- */

static bool evictable(const struct cfile *f)
{
    return f->m && !f->gone && !f->pins && !f->writers;
}

static struct cfile *lru_victim(struct cache *c)
{
    struct cfile *best = NULL;
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct cfile *f = c->buckets[b]; f; f = f->hnext)
            if (evictable(f) && (!best || f->last_played_ms < best->last_played_ms))
                best = f;
    return best;
}

/* Takes f out of the table and the accounting (io and mu held); its data
 * file and rows go with the next unlink_doomed and transaction. */
static void evict_locked(struct cache *c, struct cfile *f)
{
    uint64_t bytes = f->chunk_bytes + f->manifest_len;
    struct cache_doomed *d = xcalloc(1, sizeof(*d));
    d->id = f->id;
    d->next = c->doomed;
    c->doomed = d;
    c->used -= bytes;
    c->ctr.evicted_files++;
    c->ctr.evicted_bytes += bytes;
    c->ctr_dirty = true;
    cache_event_locked(c, CACHE_EV_EVICTED, &f->id);
    cache_remove_locked(c, f);
}

bool cache_make_room_locked(struct cache *c, uint64_t need)
{
    if (c->used + need <= c->cap)
        return true;
    if (need) {
        /* Do not empty the cache for something that cannot fit anyway. */
        uint64_t freeable = 0;
        for (size_t b = 0; b < c->nbuckets; b++)
            for (struct cfile *f = c->buckets[b]; f; f = f->hnext)
                if (evictable(f))
                    freeable += f->chunk_bytes + f->manifest_len;
        if (c->used - freeable + need > c->cap)
            return false;
    }
    while (c->used + need > c->cap) {
        struct cfile *victim = lru_victim(c);
        if (!victim)
            return false;
        evict_locked(c, victim);
    }
    return true;
}

/* Unlinks the data files of evicted files (io held). */
static void unlink_doomed(struct cache *c)
{
    for (struct cache_doomed *d = c->doomed; d; d = d->next) {
        if (d->unlinked)
            continue;
        char *path = cache_data_path(c, &d->id);
        if (unlink(path) != 0 && errno != ENOENT)
            clog_warn(c->log, CACHE_LOG_MODULE, "cannot remove %s: %s", path, strerror(errno));
        free(path);
        d->unlinked = true;
    }
}

/* Deletes the rows of evicted files, inside the caller's transaction. */
static int delete_doomed_rows(struct cache *c)
{
    int err = 0;
    for (struct cache_doomed *d = c->doomed; d && !err; d = d->next)
        err = cache_index_del_file(c, &d->id);
    return err;
}

static void forget_doomed(struct cache *c)
{
    while (c->doomed) {
        struct cache_doomed *next = c->doomed->next;
        free(c->doomed);
        c->doomed = next;
    }
}

/* Evicts one more file because the disk is full (io held, mu not).
 * Returns false when nothing is evictable. */
static bool evict_for_space(struct cache *c, unsigned *evicted, uint64_t *freed)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *victim = lru_victim(c);
    if (victim) {
        *freed += victim->chunk_bytes + victim->manifest_len;
        evict_locked(c, victim);
        (*evicted)++;
    }
    pthread_mutex_unlock(&c->mu);
    unlink_doomed(c);
    return victim != NULL;
}

/* A transaction: doomed rows out, then body(c, arg), then dirty play
 * times and counters. A full disk evicts and retries. */
static int transact(struct cache *c, int (*body)(struct cache *, void *), void *arg,
                    unsigned *evicted, uint64_t *freed, bool *full)
{
    for (;;) {
        unlink_doomed(c);
        int err = cache_index_begin(c);
        if (!err)
            err = delete_doomed_rows(c);
        if (!err && body)
            err = body(c, arg);
        if (!err)
            err = cache_index_save_dirty(c);
        if (!err)
            err = cache_index_commit(c);
        else
            cache_index_rollback(c);
        if (!err) {
            forget_doomed(c);
            return 0;
        }
        if (err != -ENOSPC)
            return err;
        *full = true;
        if (!evict_for_space(c, evicted, freed))
            return err;
    }
}

int cache_reap_doomed(struct cache *c)
{
    if (!c->doomed)
        return 0;
    unsigned evicted = 0;
    uint64_t freed = 0;
    bool full = false;
    return transact(c, NULL, NULL, &evicted, &freed, &full);
}

static void log_full(struct cache *c, unsigned evicted, uint64_t freed, int err)
{
    char sz[32];
    if (err)
        clog_warn(c->log, CACHE_LOG_MODULE,
                  "disk full in %s: evicted %u files (%s) and still no room; write dropped", c->dir,
                  evicted, cache_format_size(freed, sz, sizeof(sz)));
    else
        clog_warn(c->log, CACHE_LOG_MODULE, "disk full in %s: evicted %u files (%s) to make room",
                  c->dir, evicted, cache_format_size(freed, sz, sizeof(sz)));
}

/* ---- manifests ---- */

struct put_file_arg {
    const struct content_id *id;
    const uint8_t *enc;
    size_t len;
    uint64_t size;
    int64_t played;
    int64_t rowid;
};

static int put_file_body(struct cache *c, void *arg)
{
    struct put_file_arg *a = arg;
    return cache_index_put_file(c, a->id, a->enc, a->len, a->size, a->played, &a->rowid);
}

int cache_put_manifest(struct cache *c, const struct content_id *id, const uint8_t *enc, size_t len)
{
    struct manifest *m;
    int err = manifest_decode(enc, len, id, &m);
    if (err)
        return err;
    pthread_mutex_lock(&c->io);
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup_add(c, id);
    if (f->m) {
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->io);
        manifest_free(m);
        return 0;
    }
    f->writers++;
    f->refs++;
    bool room = cache_make_room_locked(c, len);
    if (room)
        c->used += len;
    struct put_file_arg a = {id, enc, len, m->file_size, cache_clock_next(c), 0};
    pthread_mutex_unlock(&c->mu);

    unsigned evicted = 0;
    uint64_t freed = 0;
    bool full = false;
    err = room ? transact(c, put_file_body, &a, &evicted, &freed, &full) : CACHE_EFULL;
    if (full) {
        pthread_mutex_lock(&c->mu);
        c->ctr.enospc++;
        pthread_mutex_unlock(&c->mu);
        log_full(c, evicted, freed, err);
    }

    pthread_mutex_lock(&c->mu);
    if (!err) {
        cache_file_set_manifest(f, m, (uint32_t)len);
        f->rowid = a.rowid;
        f->last_played_ms = a.played;
        c->nfiles++;
        m = NULL;
    } else if (room) {
        c->used -= len;
    }
    f->writers--;
    cache_unref_locked(c, f);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&c->io);
    manifest_free(m);
    cache_events_flush(c);
    return err;
}

/* ---- chunk writes ---- */

static void punch(int fd, uint64_t off, size_t len)
{
    /* Gives back the blocks of a chunk that will not be indexed; where the
     * file system cannot, they stay allocated but unindexed (harmless:
     * rewritten in place if the chunk comes again). */
    if (fd >= 0)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}

static uint64_t offset_of(const struct cache_wreq *r)
{
    return (uint64_t)r->index * r->f->m->chunk_size;
}

/* Ends a request that failed after its room was reserved (io held). */
static void fail_reserved(struct cache *c, struct cache_wreq *r, int fd, int err)
{
    punch(fd, offset_of(r), r->len);
    pthread_mutex_lock(&c->mu);
    c->used -= r->len;
    pthread_mutex_unlock(&c->mu);
    r->status = err;
}

static bool is_full(int err)
{
    return err == -ENOSPC || err == -EDQUOT;
}

struct batch {
    struct cache_wreq *r;
    size_t n;
    int *fds;
};

static bool stored(const struct cache_wreq *r)
{
    return r->f && !r->status;
}

/* Chunk rows in; files this batch completes marked complete. Only the io
 * holder changes chunks_present, so reading it without mu is safe here. */
static int put_chunks_body(struct cache *c, void *arg)
{
    struct batch *b = arg;
    int err = 0;
    for (size_t i = 0; i < b->n && !err; i++) {
        if (!stored(&b->r[i]))
            continue;
        struct cfile *f = b->r[i].f;
        err = cache_index_put_chunk(c, f->rowid, b->r[i].index);
        bool first = true;
        uint32_t adding = 0;
        for (size_t j = 0; j < b->n; j++)
            if (stored(&b->r[j]) && b->r[j].f == f) {
                first = first && j >= i;
                adding++;
            }
        if (!err && first && f->chunks_present + adding == f->m->chunk_count)
            err = cache_index_set_complete(c, f->rowid, true);
    }
    return err;
}

/* Phase 1 (mu held): which requests need writing at all. */
static void admit(struct cache *c, struct cache_wreq *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r[i].f = NULL;
        r[i].dup_of = NULL;
        r[i].status = 0;
        struct cfile *f = cache_lookup(c, &r[i].id);
        if (!f || !f->m) {
            r[i].status = CACHE_ENOMANIFEST;
            continue;
        }
        if (r[i].index >= f->m->chunk_count) {
            r[i].status = CACHE_ERANGE;
            continue;
        }
        if (r[i].len != manifest_chunk_len(f->m, r[i].index)) {
            r[i].status = CACHE_EBADCHUNK;
            continue;
        }
        if (cache_bit(f->present, r[i].index))
            continue; /* already stored: nothing to do */
        for (size_t j = 0; j < i && !r[i].dup_of; j++)
            if (r[j].f == f && r[j].index == r[i].index)
                r[i].dup_of = &r[j]; /* gets that one's status */
        if (r[i].dup_of)
            continue;
        f->writers++;
        f->refs++;
        r[i].f = f;
    }
}

/* Full-disk bookkeeping of one batch, for its one log line. */
struct full_disk {
    unsigned evicted;
    uint64_t freed;
    bool met; /* the disk was full at some point */
};

/* Phase 2 (io held): room under the cap for every admitted chunk, before
 * any byte is written; victims' data files are unlinked. */
static void reserve_room(struct cache *c, struct cache_wreq *r, size_t n)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        if (!r[i].f || r[i].status)
            continue;
        if (cache_make_room_locked(c, r[i].len))
            c->used += r[i].len;
        else
            r[i].status = CACHE_EFULL;
    }
    pthread_mutex_unlock(&c->mu);
    unlink_doomed(c);
}

/* Phase 3a (io held): pwrite each chunk; a full disk evicts the least
 * recently played file and retries. fds[i] gets the data file's fd of
 * each chunk written, else -1. */
static void write_chunks(struct cache *c, struct cache_wreq *r, size_t n, int *fds,
                         struct full_disk *disk)
{
    for (size_t i = 0; i < n; i++) {
        fds[i] = -1;
        if (!r[i].f || r[i].status)
            continue;
        int fd = cache_file_fd(c, r[i].f, true);
        int err = fd < 0 ? fd : 0;
        while (!err) {
            err = fs_pwrite_full(fd, r[i].data, r[i].len, offset_of(&r[i]));
            if (!is_full(err))
                break;
            disk->met = true;
            err = evict_for_space(c, &disk->evicted, &disk->freed) ? 0 : -ENOSPC;
        }
        if (err)
            fail_reserved(c, &r[i], fd, err);
        else
            fds[i] = fd;
    }
}

/* Phase 3b (io held): one fdatasync per data file, before any row claims
 * its chunks; a failure fails every chunk of that file. */
static void sync_files(struct cache *c, struct cache_wreq *r, size_t n, const int *fds,
                       struct full_disk *disk)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] < 0 || r[i].status)
            continue;
        bool synced = false;
        for (size_t j = 0; j < i && !synced; j++)
            synced = r[j].f == r[i].f && fds[j] >= 0 && !r[j].status;
        if (synced || fdatasync(fds[i]) == 0)
            continue;
        int err = -errno;
        disk->met = disk->met || is_full(err);
        for (size_t j = i; j < n; j++)
            if (r[j].f == r[i].f && fds[j] >= 0 && !r[j].status)
                fail_reserved(c, &r[j], fds[j], err);
    }
}

/* Phase 5 (io held): the indexed chunks become present, waiting readers
 * wake, files that became complete are announced; every admitted file is
 * released. Returns how many chunks failed on a full disk. */
static unsigned publish(struct cache *c, struct cache_wreq *r, size_t n, bool full)
{
    pthread_mutex_lock(&c->mu);
    unsigned met_full = 0;
    for (size_t i = 0; i < n; i++) {
        struct cfile *f = r[i].f;
        if (!f)
            continue;
        met_full += is_full(r[i].status);
        if (!r[i].status) {
            bool was_complete = f->chunks_present == f->m->chunk_count;
            cache_bit_set(f->present, r[i].index, true);
            cache_bit_set(f->verified, r[i].index, true);
            f->chunks_present++;
            f->chunk_bytes += r[i].len;
            c->ctr.bytes[r[i].src < CACHE_SRC_COUNT ? r[i].src : CACHE_SRC_PEER] += r[i].len;
            c->ctr_dirty = true;
            if (!was_complete && f->chunks_present == f->m->chunk_count)
                cache_event_locked(c, CACHE_EV_COMPLETE, &f->id);
        }
        f->writers--;
        cache_unref_locked(c, f);
    }
    for (size_t i = 0; i < n; i++)
        if (r[i].dup_of)
            r[i].status = r[i].dup_of->status;
    if (full) {
        c->ctr.enospc++;
        c->ctr_dirty = true;
    }
    pthread_cond_broadcast(&c->arrived);
    pthread_mutex_unlock(&c->mu);
    return met_full;
}

int cache_write_batch(struct cache *c, struct cache_wreq *r, size_t n)
{
    int *fds = xmalloc((n ? n : 1) * sizeof(*fds));
    pthread_mutex_lock(&c->io);

    pthread_mutex_lock(&c->mu);
    admit(c, r, n);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++)
        if (r[i].f && !manifest_verify_chunk(r[i].f->m, r[i].index, r[i].data, r[i].len))
            r[i].status = CACHE_EBADCHUNK;

    reserve_room(c, r, n);
    struct full_disk full = {0};
    write_chunks(c, r, n, fds, &full);
    sync_files(c, r, n, fds, &full);

    /* Phase 4: one index transaction for the whole batch. */
    struct batch b = {r, n, fds};
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any = any || (r[i].f && !r[i].status);
    int err = any || c->doomed
                  ? transact(c, put_chunks_body, &b, &full.evicted, &full.freed, &full.met)
                  : 0;
    if (err) {
        if (!is_full(err)) /* a full disk has its own line below */
            clog_warn(c->log, CACHE_LOG_MODULE, "cannot index new chunks: %s", cache_strerror(err));
        for (size_t i = 0; i < n; i++)
            if (r[i].f && !r[i].status)
                fail_reserved(c, &r[i], fds[i], err);
    }

    unsigned met_full = publish(c, r, n, full.met);
    pthread_mutex_unlock(&c->io);
    if (full.met)
        log_full(c, full.evicted, full.freed, met_full ? -ENOSPC : 0);
    free(fds);
    cache_events_flush(c);
    return 0;
}

int cache_write_chunk(struct cache *c, const struct content_id *id, uint32_t index,
                      const uint8_t *data, size_t len, enum cache_source src)
{
    struct cache_wreq r = {.id = *id, .index = index, .data = data, .len = len, .src = src};
    cache_write_batch(c, &r, 1);
    return r.status;
}

/* ---- dropping, verifying, clearing ---- */

struct chunk_arg {
    int64_t rowid;
    uint32_t index;
};

static int del_chunk_body(struct cache *c, void *arg)
{
    struct chunk_arg *a = arg;
    int err = cache_index_del_chunk(c, a->rowid, a->index);
    return err ? err : cache_index_set_complete(c, a->rowid, false);
}

void cache_drop_chunk(struct cache *c, struct cfile *f, uint32_t index)
{
    pthread_mutex_lock(&c->io);
    pthread_mutex_lock(&c->mu);
    if (f->gone || !cache_bit(f->present, index)) {
        pthread_mutex_unlock(&c->mu);
        pthread_mutex_unlock(&c->io);
        return;
    }
    uint32_t len = manifest_chunk_len(f->m, index);
    if (f->chunks_present == f->m->chunk_count)
        cache_event_locked(c, CACHE_EV_INCOMPLETE, &f->id);
    cache_bit_set(f->present, index, false);
    cache_bit_set(f->verified, index, false);
    f->chunks_present--;
    f->chunk_bytes -= len;
    c->used -= len;
    c->ctr.corrupt_chunks++;
    c->ctr_dirty = true;
    struct chunk_arg a = {f->rowid, index};
    pthread_mutex_unlock(&c->mu);

    int fd = cache_file_fd(c, f, false);
    punch(fd, (uint64_t)index * f->m->chunk_size, len);
    unsigned evicted = 0;
    uint64_t freed = 0;
    bool full = false;
    int err = transact(c, del_chunk_body, &a, &evicted, &freed, &full);
    pthread_mutex_unlock(&c->io);
    char sid[9];
    clog_warn(c->log, CACHE_LOG_MODULE, "chunk %u of %s failed its check: dropped%s%s", index,
              cache_short_id(&f->id, sid), err ? "; index not updated: " : "",
              err ? cache_strerror(err) : "");
}

int cache_verify(struct cache *c, struct cache_verify_report *rep)
{
    struct cache_verify_report local = {0};
    struct content_id *ids;
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    ids = xmalloc((c->nfiles ? c->nfiles : 1) * sizeof(*ids));
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct cfile *f = c->buckets[b]; f; f = f->hnext)
            if (f->m)
                ids[n++] = f->id;
    pthread_mutex_unlock(&c->mu);

    uint8_t *buf = NULL;
    size_t buf_len = 0;
    for (size_t k = 0; k < n; k++) {
        pthread_mutex_lock(&c->mu);
        struct cfile *f = cache_lookup(c, &ids[k]);
        if (!f || !f->m) {
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        f->refs++;
        pthread_mutex_unlock(&c->mu);
        local.files++;
        if (buf_len < f->m->chunk_size)
            buf = xrealloc(buf, buf_len = f->m->chunk_size);
        for (uint32_t i = 0; i < f->m->chunk_count; i++) {
            pthread_mutex_lock(&c->mu);
            bool present = !f->gone && cache_bit(f->present, i);
            pthread_mutex_unlock(&c->mu);
            if (!present)
                continue;
            size_t len;
            int err = cache_load_chunk(c, f, i, true, buf, &len);
            if (err == CACHE_ECORRUPT) {
                local.bad_chunks++;
                cache_drop_chunk(c, f, i);
                continue;
            }
            if (err)
                continue; /* evicted meanwhile */
            local.chunks++;
            local.bytes += len;
            pthread_mutex_lock(&c->mu);
            if (cache_bit(f->present, i))
                cache_bit_set(f->verified, i, true);
            pthread_mutex_unlock(&c->mu);
        }
        pthread_mutex_lock(&c->mu);
        cache_unref_locked(c, f);
        pthread_mutex_unlock(&c->mu);
    }
    free(buf);
    free(ids);
    if (local.bad_chunks)
        clog_warn(c->log, CACHE_LOG_MODULE, "verify: %llu of %llu chunks bad, dropped",
                  (unsigned long long)local.bad_chunks,
                  (unsigned long long)(local.chunks + local.bad_chunks));
    if (rep)
        *rep = local;
    cache_events_flush(c);
    return 0;
}

int cache_clear(struct cache *c, uint32_t *evicted)
{
    pthread_mutex_lock(&c->io);
    pthread_mutex_lock(&c->mu);
    uint32_t count = 0;
    for (struct cfile *f; (f = lru_victim(c)); count++)
        evict_locked(c, f);
    pthread_mutex_unlock(&c->mu);
    int err = cache_reap_doomed(c);
    pthread_mutex_unlock(&c->io);
    if (evicted)
        *evicted = count;
    cache_events_flush(c);
    return err;
}

int cache_set_cap(struct cache *c, uint64_t cap_bytes)
{
    pthread_mutex_lock(&c->io);
    int err = 0;
    if (cap_bytes == 0) {
        pthread_mutex_lock(&c->mu);
        uint64_t used = c->used;
        pthread_mutex_unlock(&c->mu);
        err = cache_default_cap(c->dir, used, &cap_bytes);
    }
    if (!err) {
        pthread_mutex_lock(&c->mu);
        c->cap = cap_bytes;
        if (!cache_make_room_locked(c, 0))
            err = CACHE_EFULL; /* pinned files alone exceed it: they go at the next write */
        pthread_mutex_unlock(&c->mu);
        int rerr = cache_reap_doomed(c);
        err = err ? err : rerr;
    }
    pthread_mutex_unlock(&c->io);
    cache_events_flush(c);
    return err;
}

int cache_flush(struct cache *c)
{
    pthread_mutex_lock(&c->io);
    unsigned evicted = 0;
    uint64_t freed = 0;
    bool full = false;
    int err = transact(c, NULL, NULL, &evicted, &freed, &full);
    pthread_mutex_unlock(&c->io);
    if (full)
        log_full(c, evicted, freed, err);
    cache_events_flush(c);
    return err;
}
