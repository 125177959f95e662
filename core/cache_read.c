/* cache_read: chunk reads — the player's (decoder thread, blocking, may
 * wait for a chunk to arrive) and the peers' (threadpool).
 *
 * A read holds a reference on the file, so an eviction meanwhile cannot
 * close the fd under it; it never holds a lock during pread or hashing.
 * The first read of a chunk after open is hashed against the manifest
 * (see core/cache.h for why and what it costs); a chunk that fails is
 * dropped and reported as CACHE_ECORRUPT, never returned. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cache_internal.h"
#include "base/fsutil.h"

int cache_load_chunk(struct cache *c, struct cfile *f, uint32_t index, bool check, uint8_t *buf,
                     size_t *len)
{
    uint32_t want = manifest_chunk_len(f->m, index);
    int fd = cache_file_fd(c, f, false);
    if (fd == -ENOENT)
        return CACHE_ECORRUPT; /* the data file vanished under its rows */
    if (fd < 0)
        return fd;
    ssize_t n = fs_pread_full(fd, buf, want, (uint64_t)index * f->m->chunk_size);
    if (n == -EIO)
        return CACHE_ECORRUPT;
    if (n < 0)
        return (int)n;
    if ((size_t)n != want || (check && !manifest_verify_chunk(f->m, index, buf, want)))
        return CACHE_ECORRUPT;
    *len = want;
    return 0;
}

/* count_play: count a playback hit or miss (the first look only). */
static int read_chunk(struct cache *c, const struct content_id *id, uint32_t index,
                      enum cache_purpose purpose, uint8_t *buf, size_t cap, size_t *len,
                      bool count_play)
{
    bool play = purpose == CACHE_FOR_PLAY && count_play;
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    if (!f || !f->m) {
        if (play) {
            c->ctr.miss_bytes += MANIFEST_CHUNK_SIZE; /* the usual size: length unknown */
            c->ctr_dirty = true;
        }
        pthread_mutex_unlock(&c->mu);
        return CACHE_ENOTFOUND;
    }
    if (index >= f->m->chunk_count) {
        pthread_mutex_unlock(&c->mu);
        return CACHE_ERANGE;
    }
    uint32_t want = manifest_chunk_len(f->m, index);
    if (cap < want) {
        pthread_mutex_unlock(&c->mu);
        return CACHE_EINVAL;
    }
    if (!cache_bit(f->present, index)) {
        if (play) {
            c->ctr.miss_bytes += want;
            c->ctr_dirty = true;
        }
        pthread_mutex_unlock(&c->mu);
        return CACHE_ENOTFOUND;
    }
    f->refs++;
    bool check = c->verify_every_read || !cache_bit(f->verified, index);
    pthread_mutex_unlock(&c->mu);

    int err = cache_load_chunk(c, f, index, check, buf, len);

    pthread_mutex_lock(&c->mu);
    bool gone = f->gone;
    if (!err) {
        if (check && !gone && cache_bit(f->present, index))
            cache_bit_set(f->verified, index, true);
        if (play) {
            c->ctr.hit_bytes += want;
            c->ctr.bytes[CACHE_SRC_CACHE] += want;
        } else if (purpose == CACHE_FOR_PEER) {
            c->ctr.served_bytes += want;
        }
        c->ctr_dirty = true;
    }
    pthread_mutex_unlock(&c->mu);

    if (err == CACHE_ECORRUPT && gone)
        err = CACHE_ENOTFOUND; /* evicted while we read: absent, not bad */
    else if (err == CACHE_ECORRUPT)
        cache_drop_chunk(c, f, index);

    pthread_mutex_lock(&c->mu);
    cache_unref_locked(c, f);
    pthread_mutex_unlock(&c->mu);
    if (err == CACHE_ECORRUPT)
        cache_events_flush(c);
    return err;
}

int cache_read_chunk(struct cache *c, const struct content_id *id, uint32_t index,
                     enum cache_purpose purpose, uint8_t *buf, size_t cap, size_t *len)
{
    return read_chunk(c, id, index, purpose, buf, cap, len, true);
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits (mu held) until chunk index of id is present. */
static int wait_present(struct cache *c, struct cache_waiter *w, uint32_t index, int timeout_ms,
                        const struct timespec *deadline)
{
    for (;;) {
        struct cfile *f = cache_lookup(c, &w->id);
        if (f && f->m) {
            if (index >= f->m->chunk_count)
                return CACHE_ERANGE;
            if (cache_bit(f->present, index))
                return 0;
        }
        if (w->canceled)
            return CACHE_ECANCELED;
        if (timeout_ms < 0) {
            pthread_cond_wait(&c->arrived, &c->mu);
        } else if (pthread_cond_timedwait(&c->arrived, &c->mu, deadline) == ETIMEDOUT) {
            return CACHE_ETIMEDOUT;
        }
    }
}

int cache_read_wait(struct cache *c, const struct content_id *id, uint32_t index,
                    enum cache_purpose purpose, uint8_t *buf, size_t cap, size_t *len,
                    int timeout_ms)
{
    int err = read_chunk(c, id, index, purpose, buf, cap, len, true);
    struct timespec deadline;
    if (timeout_ms >= 0)
        deadline_after(&deadline, timeout_ms);
    /* Absent: wait for it to be stored. The bytes then came from a peer
     * or the service, so the re-read counts no hit. It can be evicted
     * again before we read it: loop. (CACHE_ECORRUPT returns at once: the
     * caller must ask for the chunk again.) */
    while (err == CACHE_ENOTFOUND) {
        struct cache_waiter w = {.id = *id};
        pthread_mutex_lock(&c->mu);
        w.next = c->waiters;
        c->waiters = &w;
        err = wait_present(c, &w, index, timeout_ms, &deadline);
        struct cache_waiter **pp = &c->waiters;
        while (*pp != &w)
            pp = &(*pp)->next;
        *pp = w.next;
        pthread_mutex_unlock(&c->mu);
        if (err)
            return err;
        err = read_chunk(c, id, index, purpose, buf, cap, len, false);
    }
    return err;
}
