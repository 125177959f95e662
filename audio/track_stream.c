/* track_stream: decrypt-on-the-fly byte stream over a chunk source (see
 * track_stream.h).
 *
 * Owns the source's context and one decrypted chunk (the one under the
 * offset): sequential reads cost one source read and one decryption per
 * 16 KiB. Runs on the decoder thread; only the generation, the priority,
 * the published offset and the counters are touched by other threads,
 * all atomics. It must never hold a lock while it waits: waiting happens
 * inside the source, in short slices, so an interrupt that races the
 * start of a wait still ends it within WAIT_SLICE_MS. */
#include "audio/track_stream.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"

#define WAIT_SLICE_MS 50   /* longest wait inside the source before re-checking */
#define REREQUEST_MS  1000 /* a chunk still missing after this is asked for again */
#define NO_CHUNK      UINT32_MAX

struct tstream {
    uint64_t size;
    uint32_t chunk_size;
    struct content_key key;
    const struct tstream_source_ops *ops;
    void *ctx;

    uint64_t pos;
    uint8_t *chunk;
    uint32_t chunk_index;
    size_t chunk_len;

    void (*wait_hook)(void *ctx);
    void *wait_ctx;

    _Atomic uint64_t gen, armed_gen;
    _Atomic int prio;
    _Atomic uint64_t pub_pos;
    _Atomic uint64_t bytes_read, chunks_read, stalls, stall_ns, requests;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct tstream *tstream_new(const struct tstream_config *cfg)
{
    uint32_t cs = cfg->chunk_size ? cfg->chunk_size : MANIFEST_CHUNK_SIZE;
    if (cs > (1u << 24) || cfg->file_size > MANIFEST_MAX_FILE_SIZE) {
        if (cfg->ops->destroy)
            cfg->ops->destroy(cfg->ctx);
        return NULL;
    }
    struct tstream *ts = xcalloc(1, sizeof(*ts));
    ts->size = cfg->file_size;
    ts->chunk_size = cs;
    ts->key = cfg->key;
    ts->ops = cfg->ops;
    ts->ctx = cfg->ctx;
    ts->chunk = xmalloc(cs);
    ts->chunk_index = NO_CHUNK;
    atomic_init(&ts->gen, 1);
    atomic_init(&ts->armed_gen, 1);
    atomic_init(&ts->prio, cfg->priority);
    atomic_init(&ts->pub_pos, 0);
    atomic_init(&ts->bytes_read, 0);
    atomic_init(&ts->chunks_read, 0);
    atomic_init(&ts->stalls, 0);
    atomic_init(&ts->stall_ns, 0);
    atomic_init(&ts->requests, 0);
    return ts;
}

void tstream_free(struct tstream *ts)
{
    if (!ts)
        return;
    if (ts->ops->destroy)
        ts->ops->destroy(ts->ctx);
    free(ts->chunk);
    free(ts);
}

static void ask(struct tstream *ts, uint32_t index, uint64_t gen)
{
    ts->ops->request(ts->ctx, index, (enum tstream_priority)atomic_load(&ts->prio), gen);
    atomic_fetch_add(&ts->requests, 1);
}

/* Fetches, checks and decrypts chunk index into ts->chunk. */
static int load_chunk(struct tstream *ts, uint32_t index)
{
    uint64_t gen = atomic_load(&ts->armed_gen);
    uint64_t start = (uint64_t)index * ts->chunk_size;
    size_t expect = ts->size - start < ts->chunk_size ? (size_t)(ts->size - start) : ts->chunk_size;
    size_t len = 0;
    ts->chunk_index = NO_CHUNK;
    int r = ts->ops->read(ts->ctx, index, ts->chunk, ts->chunk_size, &len, 0, gen);
    if (r == TSTREAM_EMISSING) {
        uint64_t t0 = now_ns(), asked = t0;
        atomic_fetch_add(&ts->stalls, 1);
        ask(ts, index, gen);
        while (r == TSTREAM_EMISSING) {
            if (atomic_load(&ts->gen) != gen) {
                r = TSTREAM_EABORTED;
                break;
            }
            r = ts->ops->read(ts->ctx, index, ts->chunk, ts->chunk_size, &len, WAIT_SLICE_MS, gen);
            if (r == TSTREAM_EMISSING && ts->wait_hook)
                ts->wait_hook(ts->wait_ctx);
            if (r == TSTREAM_EMISSING && now_ns() - asked >= REREQUEST_MS * 1000000ull) {
                asked = now_ns();
                ask(ts, index, gen);
            }
        }
        atomic_fetch_add(&ts->stall_ns, now_ns() - t0);
    }
    if (r < 0)
        return r;
    atomic_fetch_add(&ts->chunks_read, 1);
    if (len != expect)
        return TSTREAM_ECORRUPT;
    if (content_crypt(&ts->key, start, ts->chunk, ts->chunk, len) < 0)
        return TSTREAM_ECRYPTO;
    ts->chunk_index = index;
    ts->chunk_len = len;
    return 0;
}

int tstream_read(struct tstream *ts, void *buf, size_t len)
{
    if (tstream_interrupted(ts))
        return TSTREAM_EABORTED;
    if (ts->pos >= ts->size || len == 0)
        return 0;
    uint32_t index = (uint32_t)(ts->pos / ts->chunk_size);
    if (index != ts->chunk_index) {
        int r = load_chunk(ts, index);
        if (r < 0)
            return r;
    }
    size_t off = (size_t)(ts->pos - (uint64_t)index * ts->chunk_size);
    size_t n = ts->chunk_len - off < len ? ts->chunk_len - off : len;
    if (n > (size_t)INT32_MAX)
        n = INT32_MAX;
    memcpy(buf, ts->chunk + off, n);
    ts->pos += n;
    atomic_store_explicit(&ts->pub_pos, ts->pos, memory_order_relaxed);
    atomic_fetch_add_explicit(&ts->bytes_read, n, memory_order_relaxed);
    return (int)n;
}

int64_t tstream_seek(struct tstream *ts, int64_t offset, int whence)
{
    int64_t base = whence == SEEK_SET   ? 0
                   : whence == SEEK_CUR ? (int64_t)ts->pos
                   : whence == SEEK_END ? (int64_t)ts->size
                                        : -1;
    if (base < 0 || offset < -base || offset > INT64_MAX - base)
        return TSTREAM_EINVAL;
    ts->pos = (uint64_t)(base + offset);
    atomic_store_explicit(&ts->pub_pos, ts->pos, memory_order_relaxed);
    return (int64_t)ts->pos;
}

uint64_t tstream_size(const struct tstream *ts)
{
    return ts->size;
}

uint64_t tstream_tell(const struct tstream *ts)
{
    return atomic_load_explicit(&ts->pub_pos, memory_order_relaxed);
}

void tstream_interrupt(struct tstream *ts)
{
    atomic_fetch_add(&ts->gen, 1);
    if (ts->ops->cancel)
        ts->ops->cancel(ts->ctx);
}

bool tstream_interrupted(const struct tstream *ts)
{
    return atomic_load(&ts->gen) != atomic_load(&ts->armed_gen);
}

void tstream_rearm(struct tstream *ts)
{
    atomic_store(&ts->armed_gen, atomic_load(&ts->gen));
}

uint64_t tstream_generation(const struct tstream *ts)
{
    return atomic_load(&ts->gen);
}

void tstream_set_priority(struct tstream *ts, enum tstream_priority prio)
{
    atomic_store(&ts->prio, prio);
}

void tstream_set_wait_hook(struct tstream *ts, void (*fn)(void *ctx), void *ctx)
{
    ts->wait_hook = fn;
    ts->wait_ctx = ctx;
}

void tstream_get_stats(const struct tstream *ts, struct tstream_stats *out)
{
    out->bytes_read = atomic_load(&ts->bytes_read);
    out->chunks_read = atomic_load(&ts->chunks_read);
    out->stalls = atomic_load(&ts->stalls);
    out->stall_ns = atomic_load(&ts->stall_ns);
    out->requests = atomic_load(&ts->requests);
}

const char *tstream_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case TSTREAM_EMISSING:
        return "chunk not available";
    case TSTREAM_EABORTED:
        return "read interrupted";
    case TSTREAM_EINVAL:
        return "invalid argument";
    case TSTREAM_ECORRUPT:
        return "chunk has the wrong length";
    case TSTREAM_ECRYPTO:
        return "decryption failed";
    default:
        return err < 0 && err > -4096 ? strerror(-err) : "chunk source error";
    }
}
