/* cache_source: the track-stream chunk source over the chunk cache — how
 * the decoder thread reads the engine's cache (core/cache_source.h).
 *
 * Its read runs on the decoder thread and may block in cache_read_wait;
 * request posts to the engine (never blocks); cancel comes from any
 * thread. */
#include <stdlib.h>

#include "base/xmalloc.h"

#include "core/cache_source.h"

/* ---- cache ---- */

struct cache_src {
    struct cache *cache;
    struct content_id id;
    tstream_request_fn request_fn;
    void *request_ctx;
};

static int cache_src_read(void *ctx, uint32_t index, uint8_t *buf, size_t cap, size_t *len,
                          int wait_ms, uint64_t gen)
{
    struct cache_src *s = ctx;
    /* The first look is the playback read (counted as a hit or a miss);
     * the wait that follows a miss counts nothing again. */
    int r = wait_ms == 0
                ? cache_read_chunk(s->cache, &s->id, index, CACHE_FOR_PLAY, buf, cap, len)
                : cache_read_wait(s->cache, &s->id, index, CACHE_FOR_CHECK, buf, cap, len, wait_ms);
    if (r == CACHE_ENOTFOUND || r == CACHE_ETIMEDOUT || r == CACHE_ECANCELED || r == CACHE_ECORRUPT)
        return TSTREAM_EMISSING; /* a corrupt chunk was dropped: fetch it again */
    return r;
}

static void cache_src_request(void *ctx, uint32_t index, enum tstream_priority prio, uint64_t gen)
{
    struct cache_src *s = ctx;
    s->request_fn(s->request_ctx, &s->id, index, prio, gen);
}

static void cache_src_cancel(void *ctx)
{
    struct cache_src *s = ctx;
    cache_cancel_waits(s->cache, &s->id);
}

static const struct tstream_source_ops cache_src_ops = {
    .read = cache_src_read,
    .request = cache_src_request,
    .cancel = cache_src_cancel,
    .destroy = free,
};

void tstream_source_cache(struct cache *c, const struct content_id *id,
                          tstream_request_fn request_fn, void *request_ctx,
                          const struct tstream_source_ops **ops, void **ctx)
{
    struct cache_src *s = xcalloc(1, sizeof(*s));
    s->cache = c;
    s->id = *id;
    s->request_fn = request_fn;
    s->request_ctx = request_ctx;
    *ops = &cache_src_ops;
    *ctx = s;
}
