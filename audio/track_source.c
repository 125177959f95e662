/* track_source: the in-memory chunk source of track_stream.h, for tools,
 * the benchmark and tests (the cache source is the engine's:
 * core/cache_source.h).
 *
 * Its read runs on the decoder thread and may block on its own condition
 * variable; cancel and release come from other threads. It owns its copy
 * of the file, a presence bitmap and a cancel counter under one mutex; it
 * never calls out while holding it. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/track_stream.h"
#include "base/xmalloc.h"

/* ---- memory ---- */

struct tstream_mem {
    uint8_t *data;
    size_t len;
    uint32_t chunk_size, chunk_count;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    uint8_t *present; /* one byte per chunk */
    uint64_t cancels;
    _Atomic uint64_t requests;
    _Atomic int refs;
};

struct tstream_mem *tstream_mem_new(const uint8_t *data, size_t len, uint32_t chunk_size,
                                    bool all_present)
{
    struct tstream_mem *m = xcalloc(1, sizeof(*m));
    m->chunk_size = chunk_size ? chunk_size : MANIFEST_CHUNK_SIZE;
    m->len = len;
    m->data = xmalloc(len ? len : 1);
    memcpy(m->data, data, len);
    m->chunk_count = (uint32_t)((len + m->chunk_size - 1) / m->chunk_size);
    m->present = xcalloc(m->chunk_count ? m->chunk_count : 1, 1);
    if (all_present)
        memset(m->present, 1, m->chunk_count);
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&m->requests, 0);
    atomic_init(&m->refs, 1);
    return m;
}

void tstream_mem_unref(struct tstream_mem *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cond);
    free(m->present);
    free(m->data);
    free(m);
}

void tstream_mem_release(struct tstream_mem *m, uint32_t first, uint32_t count)
{
    pthread_mutex_lock(&m->mu);
    for (uint64_t i = first; i < (uint64_t)first + count && i < m->chunk_count; i++)
        m->present[i] = 1;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

uint64_t tstream_mem_requests(const struct tstream_mem *m)
{
    return atomic_load(&m->requests);
}

static void deadline_after(struct timespec *t, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static int mem_read(void *ctx, uint32_t index, uint8_t *buf, size_t cap, size_t *len, int wait_ms,
                    uint64_t gen)
{
    struct tstream_mem *m = ctx;
    if (index >= m->chunk_count)
        return TSTREAM_EINVAL;
    struct timespec deadline;
    if (wait_ms > 0)
        deadline_after(&deadline, wait_ms);
    pthread_mutex_lock(&m->mu);
    uint64_t cancels = m->cancels;
    while (!m->present[index] && wait_ms != 0 && m->cancels == cancels) {
        if (wait_ms < 0)
            pthread_cond_wait(&m->cond, &m->mu);
        else if (pthread_cond_timedwait(&m->cond, &m->mu, &deadline) == ETIMEDOUT)
            break;
    }
    bool there = m->present[index];
    pthread_mutex_unlock(&m->mu);
    if (!there)
        return TSTREAM_EMISSING;
    size_t off = (size_t)index * m->chunk_size;
    size_t n = m->len - off < m->chunk_size ? m->len - off : m->chunk_size;
    if (n > cap)
        return TSTREAM_EINVAL;
    memcpy(buf, m->data + off, n);
    *len = n;
    return 0;
}

static void mem_request(void *ctx, uint32_t index, enum tstream_priority prio, uint64_t gen)
{
    struct tstream_mem *m = ctx;
    atomic_fetch_add(&m->requests, 1);
}

static void mem_cancel(void *ctx)
{
    struct tstream_mem *m = ctx;
    pthread_mutex_lock(&m->mu);
    m->cancels++;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

static void mem_destroy(void *ctx)
{
    tstream_mem_unref(ctx);
}

static const struct tstream_source_ops mem_ops = {
    .read = mem_read,
    .request = mem_request,
    .cancel = mem_cancel,
    .destroy = mem_destroy,
};

void tstream_source_mem(struct tstream_mem *m, const struct tstream_source_ops **ops, void **ctx)
{
    atomic_fetch_add(&m->refs, 1);
    *ops = &mem_ops;
    *ctx = m;
}
