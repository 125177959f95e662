/* cache_async: the cache's front for the core loop (DESIGN.md §2).
 *
 * Every async call copies its input into a request and runs the blocking
 * call on the libuv threadpool (uv_queue_work); the callback runs on the
 * loop. Manifest puts, writes, cap changes and flushes go through one
 * serial queue: one threadpool job at a time takes everything queued (up
 * to CACHE_MAX_BATCH requests) and runs it in order, consecutive writes as
 * one batch (one fdatasync per file, one index transaction). Reads are
 * independent jobs, in parallel.
 *
 * Events queued by any thread are delivered on the loop through a uv_async
 * handle (heap-allocated, freed by its close callback, unref'ed so it never
 * keeps the loop alive).
 *
 * Loop thread only, except the work functions (threadpool). Never touches
 * the cache after the last callback it runs: the owner may free it there. */
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"
#include "base/xmalloc.h"

enum req_kind { REQ_MANIFEST, REQ_WRITE, REQ_SET_CAP, REQ_FLUSH, REQ_READ };

struct cache_req {
    uv_work_t work;
    struct cache_req *next;
    struct cache *c;
    enum req_kind kind;
    struct content_id id;
    uint32_t index;
    int mode; /* enum cache_source or enum cache_purpose */
    uint8_t *data;
    size_t len;
    uint64_t cap;
    int status;
    cache_done_fn done;
    cache_read_fn read;
    void *ctx;
};

static void on_wake(uv_async_t *h)
{
    cache_events_deliver(h->data);
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

int cache_async_init(struct cache *c)
{
    c->wake = xmalloc(sizeof(*c->wake));
    int err = uv_async_init(c->loop, c->wake, on_wake);
    if (err) {
        free(c->wake);
        c->wake = NULL;
        return err;
    }
    c->wake->data = c;
    uv_unref((uv_handle_t *)c->wake);
    return 0;
}

void cache_async_close(struct cache *c)
{
    if (c->wake)
        uv_close((uv_handle_t *)c->wake, free_handle);
    c->wake = NULL;
}

static struct cache_req *req_new(struct cache *c, enum req_kind kind, cache_done_fn done, void *ctx)
{
    struct cache_req *r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->kind = kind;
    r->done = done;
    r->ctx = ctx;
    return r;
}

static void req_finish(struct cache_req *r)
{
    r->c->pending--;
    if (r->kind == REQ_READ)
        r->read(r->ctx, r->status, r->status ? NULL : r->data, r->status ? 0 : r->len);
    else if (r->done)
        r->done(r->ctx, r->status);
    free(r->data);
    free(r);
}

/* ---- the serial queue ---- */

static void serial_work(uv_work_t *w)
{
    struct cache_req *r = w->data;
    struct cache *c = r->c;
    struct cache_wreq batch[CACHE_MAX_BATCH];
    while (r) {
        if (r->kind != REQ_WRITE) {
            if (r->kind == REQ_MANIFEST)
                r->status = cache_put_manifest(c, &r->id, r->data, r->len);
            else if (r->kind == REQ_SET_CAP)
                r->status = cache_set_cap(c, r->cap);
            else
                r->status = cache_flush(c);
            r = r->next;
            continue;
        }
        struct cache_req *first = r;
        size_t n = 0;
        for (; r && r->kind == REQ_WRITE && n < CACHE_MAX_BATCH; r = r->next, n++)
            batch[n] = (struct cache_wreq){.id = r->id,
                                           .index = r->index,
                                           .data = r->data,
                                           .len = r->len,
                                           .src = (enum cache_source)r->mode};
        cache_write_batch(c, batch, n);
        for (size_t i = 0; i < n; i++, first = first->next)
            first->status = batch[i].status;
    }
}

static void kick(struct cache *c);

static void serial_after(uv_work_t *w, int status)
{
    struct cache_req *list = w->data;
    struct cache *c = list->c;
    c->sq_running = false;
    kick(c); /* the next batch, if any, keeps pending > 0 */
    cache_events_deliver(c);
    while (list) {
        struct cache_req *next = list->next;
        req_finish(list); /* may free c on the last one: do not touch it after */
        list = next;
    }
}

static void kick(struct cache *c)
{
    if (c->sq_running || !c->sq_head)
        return;
    struct cache_req *head = c->sq_head, *tail = head;
    for (size_t n = 1; tail->next && n < CACHE_MAX_BATCH; n++)
        tail = tail->next;
    c->sq_head = tail->next;
    if (!c->sq_head)
        c->sq_tail = NULL;
    tail->next = NULL;
    head->work.data = head;
    c->sq_running = true;
    int err = uv_queue_work(c->loop, &head->work, serial_work, serial_after);
    if (err) {
        /* Cannot happen with a valid loop; answer rather than hang. */
        for (struct cache_req *r = head; r; r = r->next)
            r->status = err;
        serial_after(&head->work, err);
    }
}

static int submit(struct cache_req *r)
{
    struct cache *c = r->c;
    c->pending++;
    if (c->sq_tail)
        c->sq_tail->next = r;
    else
        c->sq_head = r;
    c->sq_tail = r;
    kick(c);
    return 0;
}

int cache_put_manifest_async(struct cache *c, const struct content_id *id, const uint8_t *enc,
                             size_t len, cache_done_fn cb, void *ctx)
{
    if (!c->loop)
        return CACHE_EINVAL;
    struct cache_req *r = req_new(c, REQ_MANIFEST, cb, ctx);
    r->id = *id;
    r->data = xmalloc(len ? len : 1);
    memcpy(r->data, enc, len);
    r->len = len;
    return submit(r);
}

int cache_write_async(struct cache *c, const struct content_id *id, uint32_t index,
                      const uint8_t *data, size_t len, enum cache_source src, cache_done_fn cb,
                      void *ctx)
{
    if (!c->loop)
        return CACHE_EINVAL;
    struct cache_req *r = req_new(c, REQ_WRITE, cb, ctx);
    r->id = *id;
    r->index = index;
    r->mode = (int)src;
    r->data = xmalloc(len ? len : 1);
    memcpy(r->data, data, len);
    r->len = len;
    return submit(r);
}

int cache_set_cap_async(struct cache *c, uint64_t cap_bytes, cache_done_fn cb, void *ctx)
{
    if (!c->loop)
        return CACHE_EINVAL;
    struct cache_req *r = req_new(c, REQ_SET_CAP, cb, ctx);
    r->cap = cap_bytes;
    return submit(r);
}

int cache_flush_async(struct cache *c, cache_done_fn cb, void *ctx)
{
    if (!c->loop)
        return CACHE_EINVAL;
    return submit(req_new(c, REQ_FLUSH, cb, ctx));
}

/* ---- reads ---- */

static void read_work(uv_work_t *w)
{
    struct cache_req *r = w->data;
    size_t len = 0;
    r->status = cache_read_chunk(r->c, &r->id, r->index, (enum cache_purpose)r->mode, r->data,
                                 r->len, &len);
    r->len = len;
}

static void read_after(uv_work_t *w, int status)
{
    struct cache_req *r = w->data;
    cache_events_deliver(r->c);
    req_finish(r);
}

int cache_read_async(struct cache *c, const struct content_id *id, uint32_t index,
                     enum cache_purpose purpose, cache_read_fn cb, void *ctx)
{
    if (!c->loop || !cb)
        return CACHE_EINVAL;
    struct cache_req *r = req_new(c, REQ_READ, NULL, ctx);
    r->read = cb;
    r->id = *id;
    r->index = index;
    r->mode = (int)purpose;
    /* Sized from the manifest; an unknown file reads nothing anyway. */
    uint32_t want = cache_chunk_len(c, id, index);
    r->len = want ? want : MANIFEST_CHUNK_SIZE;
    r->data = xmalloc(r->len);
    r->work.data = r;
    c->pending++;
    int err = uv_queue_work(c->loop, &r->work, read_work, read_after);
    if (err) {
        c->pending--;
        free(r->data);
        free(r);
    }
    return err;
}
