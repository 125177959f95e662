/* fetch: downloads from the service into the cache (see net/fetch.h).
 *
 * Owns, on the core loop: the open files (manifest, key, a state byte per
 * chunk, the download cursor), their handles, the chunk requests in flight
 * (by rid), an inbox (core/inbox.h) that carries the decoder thread's
 * requests and wakes the loop for late READY deliveries, and a timer for
 * retries and connection checks. The one piece touched from other threads
 * is that inbox.
 *
 * It must never block the loop (cache I/O goes through the cache's async
 * calls) and never free a file a cache callback or an event delivery still
 * refers to: a file that fails or loses its last handle leaves the live
 * list for the zombie list, and is freed by reap() only when no handle, no
 * cache call and no delivery holds it — and reap runs only at the end of a
 * loop callback, outside every delivery. */
#include "core/fetch.h"

#include <stdlib.h>
#include <string.h>

#include "base/inbox.h"
#include "base/log.h"
#include "base/xmalloc.h"

#define MOD "fetch"

enum { CH_MISSING, CH_ASKED, CH_WRITING, CH_STORED };

struct ffile;

/* One GET_CHUNKS in flight. */
struct freq {
    struct freq *next;
    uint32_t rid;
    struct ffile *file; /* NULL once cancelled */
    uint32_t first, count, received;
    uint64_t sent_ms;
    bool cancelled; /* CANCEL sent: kept until its OK */
};

struct fetch_handle {
    struct fetch_handle *next;
    struct ffile *file;
    uint8_t prio;
    fetch_event_fn cb;
    void *ctx;
    bool dead;     /* released during a delivery: unlinked after it */
    bool announce; /* opened on a ready file: READY still to deliver */
};

struct ffile {
    struct ffile *next; /* in f->files (live) or f->zombies */
    struct fetch *f;
    struct content_id id;
    struct fetch_handle *handles;
    unsigned nhandles;   /* not dead */
    unsigned delivering; /* deliveries in progress */
    uint8_t prio;
    uint32_t manifest_rid, key_rid;
    struct manifest *m;
    struct content_key key;
    bool manifest_stored, have_key, ready, complete, failed, zombie;
    uint8_t *st; /* CH_* per chunk, once ready */
    uint32_t cursor, asked;
    unsigned pending; /* cache calls holding the file */
    uint64_t latest_gen;
    uint64_t opened_ms;
    struct fetch_file_stats stats;
};

struct dreq {
    struct inbox_node link;
    struct content_id id;
    uint32_t index;
    uint8_t prio;
    uint64_t gen;
};

struct wctx {
    struct ffile *file;
    uint32_t index;
    uint32_t len;
    enum cache_source src;
};

struct fetch {
    uv_loop_t *loop;
    struct svc_client *client; /* NULL while offline */
    fetch_lookup_fn lookup;
    void *lookup_ctx;
    struct cache *cache;
    struct clog *log;
    svc_client_handler on_other;
    void *other_arg;
    struct inbox requests; /* the decoder's: struct dreq */
    uv_timer_t timer;
    struct ffile *files, *zombies;
    struct freq *reqs;
    struct fetch_stats st;
    unsigned pending; /* cache calls in flight */
    unsigned depth;   /* event deliveries on the stack */
    bool retry;       /* a request got BUSY: pump again at the next tick */
    bool closing;
    int handles_open;
    void (*close_cb)(void *arg);
    void *close_arg;
};

const char *fetch_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case FETCH_ENOTFOUND:
        return "the service has no such file";
    case FETCH_EMANIFEST:
        return "the service's manifest does not match the file id";
    case FETCH_ECLOSED:
        return "the connection to the service is closed";
    case FETCH_EREFUSED:
        return "the service refused the request";
    case FETCH_EBADDATA:
        return "too many chunks from the service did not match the manifest";
    case FETCH_EINVAL:
        return "invalid argument";
    default:
        return cache_strerror(err);
    }
}

static void id_short(const struct content_id *id, char out[13])
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    memcpy(out, hex, 12);
    out[12] = 0;
}

/* ---- files and handles ---- */

static struct ffile *find_live(struct fetch *f, const uint8_t id[CONTENT_ID_LEN])
{
    for (struct ffile *file = f->files; file; file = file->next)
        if (memcmp(file->id.bytes, id, CONTENT_ID_LEN) == 0)
            return file;
    return NULL;
}

static void unlink_file(struct ffile **list, struct ffile *file)
{
    struct ffile **pp = list;
    while (*pp && *pp != file)
        pp = &(*pp)->next;
    if (*pp)
        *pp = file->next;
}

static void free_file(struct ffile *file)
{
    while (file->handles) {
        struct fetch_handle *h = file->handles;
        file->handles = h->next;
        free(h);
    }
    manifest_free(file->m);
    free(file->st);
    free(file);
}

/* Frees the zombies nothing holds any more. Only outside deliveries. */
static void reap(struct fetch *f)
{
    if (f->depth)
        return;
    struct ffile **pp = &f->zombies;
    while (*pp) {
        struct ffile *file = *pp;
        if (file->nhandles == 0 && file->pending == 0 && file->delivering == 0) {
            *pp = file->next;
            free_file(file);
        } else {
            pp = &file->next;
        }
    }
}

static void sweep_handles(struct ffile *file)
{
    struct fetch_handle **pp = &file->handles;
    while (*pp) {
        struct fetch_handle *h = *pp;
        if (h->dead) {
            *pp = h->next;
            free(h);
        } else {
            pp = &h->next;
        }
    }
}

static void recompute_prio(struct ffile *file)
{
    uint8_t p = WIRE_PRIO_MAX;
    for (struct fetch_handle *h = file->handles; h; h = h->next)
        if (!h->dead && h->prio < p)
            p = h->prio;
    file->prio = p;
}

/* Calls the handles' callbacks (only `only` when not NULL). */
static void deliver(struct ffile *file, const struct fetch_event *ev, struct fetch_handle *only)
{
    struct fetch *f = file->f;
    f->depth++;
    file->delivering++;
    for (struct fetch_handle *h = file->handles; h; h = h->next)
        if (!h->dead && (!only || h == only))
            h->cb(h->ctx, h, ev);
    if (--file->delivering == 0)
        sweep_handles(file);
    f->depth--;
}

static void fill_ready_event(const struct ffile *file, struct fetch_event *ev,
                             enum fetch_event_type type)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->id = file->id;
    ev->file_size = file->m->file_size;
    ev->chunk_size = file->m->chunk_size;
    ev->chunk_count = file->m->chunk_count;
    ev->key = file->key;
}

/* ---- requests ---- */

static struct freq *find_req(struct fetch *f, uint32_t rid)
{
    for (struct freq *r = f->reqs; r; r = r->next)
        if (r->rid == rid)
            return r;
    return NULL;
}

static void remove_req(struct fetch *f, struct freq *r)
{
    struct freq **pp = &f->reqs;
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    free(r);
}

/* A live request of file that asks for chunk index. */
static struct freq *covering(struct ffile *file, uint32_t index)
{
    for (struct freq *r = file->f->reqs; r; r = r->next)
        if (r->file == file && index >= r->first && index - r->first < r->count)
            return r;
    return NULL;
}

/* Cancels the file's requests in flight (their chunks are not wanted). */
static void cancel_requests(struct ffile *file)
{
    struct fetch *f = file->f;
    struct freq *r = f->reqs;
    while (r) {
        struct freq *next = r->next;
        if (r->file == file) {
            r->file = NULL;
            r->cancelled = true;
            f->st.cancels++;
            if (!f->client || !svc_client_cancel(f->client, r->rid))
                remove_req(f, r); /* closed: no OK will come */
        }
        r = next;
    }
    file->asked = 0;
}

/* Moves a live file to the zombies. */
static void make_zombie(struct ffile *file)
{
    if (file->zombie)
        return;
    struct fetch *f = file->f;
    cancel_requests(file);
    unlink_file(&f->files, file);
    file->zombie = true;
    file->next = f->zombies;
    f->zombies = file;
}

static void fail(struct ffile *file, int err)
{
    if (file->failed || file->zombie)
        return;
    char sid[13];
    id_short(&file->id, sid);
    clog_warn(file->f->log, MOD, "%s: %s", sid, fetch_strerror(err));
    file->failed = true;
    make_zombie(file);
    struct fetch_event ev = {.type = FETCH_EV_ERROR, .id = file->id, .error = err};
    deliver(file, &ev, NULL);
}

static bool is_missing(struct ffile *file, uint32_t i)
{
    if (file->st[i] != CH_MISSING)
        return false;
    if (cache_has_chunk(file->f->cache, &file->id, i)) {
        file->st[i] = CH_STORED; /* stored by someone else meanwhile */
        file->stats.chunks_stored++;
        return false;
    }
    return true;
}

/* Sends GET_CHUNKS for [first, first+count); false when the connection is
 * closed (the next tick fails the files). */
static bool send_chunks(struct ffile *file, uint32_t first, uint32_t count, uint8_t prio,
                        uint32_t deadline_ms)
{
    struct fetch *f = file->f;
    if (!f->client)
        return false; /* offline: asked again when a link comes back */
    uint32_t rid =
        svc_client_get_chunks(f->client, file->id.bytes, first, count, prio, deadline_ms);
    if (!rid)
        return false;
    struct freq *r = xcalloc(1, sizeof(*r));
    r->rid = rid;
    r->file = file;
    r->first = first;
    r->count = count;
    r->sent_ms = uv_now(f->loop);
    r->next = f->reqs;
    f->reqs = r;
    for (uint32_t i = first; i < first + count; i++) {
        if (file->st[i] == CH_MISSING) {
            file->st[i] = CH_ASKED;
            file->asked++;
        }
    }
    file->stats.requests++;
    f->st.requests++;
    return true;
}

/* The next missing chunk from the cursor on, wrapping once. */
static bool next_missing(struct ffile *file, uint32_t *out)
{
    uint32_t n = file->m->chunk_count;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (file->cursor + k) % n;
        if (is_missing(file, i)) {
            *out = i;
            return true;
        }
    }
    return false;
}

static void check_complete(struct ffile *file)
{
    if (!file->ready || file->complete || file->zombie ||
        file->stats.chunks_stored < file->m->chunk_count)
        return;
    file->complete = true;
    char sid[13];
    id_short(&file->id, sid);
    clog_info(file->f->log, MOD,
              "%s: complete: %u chunks, %u were cached, %u from the service (%u requests, "
              "%u urgent, %u refused) in %llu ms",
              sid, file->m->chunk_count, file->stats.chunks_cached, file->stats.chunks_service,
              file->stats.requests, file->stats.urgent_requests, file->stats.bad_chunks,
              (unsigned long long)(uv_now(file->f->loop) - file->opened_ms));
    struct fetch_event ev;
    fill_ready_event(file, &ev, FETCH_EV_COMPLETE);
    deliver(file, &ev, NULL);
}

/* Keeps the bulk download going: up to FETCH_WINDOW_CHUNKS asked. */
static void pump(struct ffile *file)
{
    struct fetch *f = file->f;
    if (!file->ready || file->zombie || f->closing)
        return;
    uint32_t n = file->m->chunk_count;
    uint32_t first;
    while (file->asked < FETCH_WINDOW_CHUNKS && next_missing(file, &first)) {
        uint32_t count = 1;
        while (count < FETCH_REQUEST_CHUNKS && first + count < n && is_missing(file, first + count))
            count++;
        if (!send_chunks(file, first, count, file->prio, 0))
            break;
        file->cursor = (first + count) % n;
    }
    check_complete(file);
}

/* The decoder waits for chunk index: ask for it (and a few after it)
 * ahead of the bulk, and carry the bulk on from there. */
static void ask_urgent(struct ffile *file, uint32_t index, uint8_t prio, bool rerequest)
{
    if (!file->ready || file->zombie || index >= file->m->chunk_count)
        return;
    struct fetch *f = file->f;
    if (file->prio < prio)
        prio = file->prio;
    uint32_t n = file->m->chunk_count;
    switch (file->st[index]) {
    case CH_WRITING:
        return;
    case CH_STORED:
        if (cache_has_chunk(f->cache, &file->id, index))
            return;
        file->st[index] = CH_MISSING; /* the cache dropped it (found corrupt) */
        file->stats.chunks_stored--;
        file->complete = false;
        break;
    case CH_ASKED: {
        struct freq *r = covering(file, index);
        if (r && uv_now(f->loop) - r->sent_ms < FETCH_STALE_MS)
            return; /* on its way */
        if (send_chunks(file, index, 1, prio, FETCH_URGENT_DEADLINE_MS)) {
            file->stats.urgent_requests++;
            f->st.urgent_requests++;
        }
        return;
    }
    default:
        break;
    }
    uint32_t count = 1;
    while (count < FETCH_URGENT_CHUNKS && index + count < n && is_missing(file, index + count))
        count++;
    if (!send_chunks(file, index, count, prio, FETCH_URGENT_DEADLINE_MS))
        return;
    if (rerequest) {
        file->stats.rerequests++;
        f->st.rerequests++;
    } else {
        file->stats.urgent_requests++;
        f->st.urgent_requests++;
    }
    file->cursor = (index + count) % n;
}

/* ---- manifest and key ---- */

static void become_ready(struct ffile *file)
{
    struct fetch *f = file->f;
    uint32_t n = file->m->chunk_count;
    file->st = xcalloc(n, 1);
    uint8_t *bits = NULL;
    uint32_t count = 0;
    if (cache_chunk_map(f->cache, &file->id, &bits, &count) == 0) {
        for (uint32_t i = 0; i < n && i < count; i++) {
            if (bits[i / 8] & (1u << (i % 8))) {
                file->st[i] = CH_STORED;
                file->stats.chunks_cached++;
                file->stats.bytes_cached += manifest_chunk_len(file->m, i);
            }
        }
    }
    free(bits);
    file->stats.file_size = file->m->file_size;
    file->stats.chunk_count = n;
    file->stats.chunks_stored = file->stats.chunks_cached;
    file->ready = true;
    char sid[13];
    id_short(&file->id, sid);
    clog_info(f->log, MOD, "%s: ready after %llu ms: %llu bytes, %u of %u chunks cached", sid,
              (unsigned long long)(uv_now(f->loop) - file->opened_ms),
              (unsigned long long)file->m->file_size, file->stats.chunks_cached, n);
    for (struct fetch_handle *h = file->handles; h; h = h->next)
        h->announce = false;
    struct fetch_event ev;
    fill_ready_event(file, &ev, FETCH_EV_READY);
    deliver(file, &ev, NULL);
    pump(file);
}

static void maybe_ready(struct ffile *file)
{
    if (!file->ready && !file->zombie && file->manifest_stored && file->have_key)
        become_ready(file);
}

static void maybe_finish_close(struct fetch *f);

static void put_done(void *ctx, int status)
{
    struct ffile *file = ctx;
    struct fetch *f = file->f;
    file->pending--;
    f->pending--;
    if (!file->zombie) {
        if (status < 0) {
            fail(file, status);
        } else {
            file->manifest_stored = true;
            maybe_ready(file);
        }
    }
    reap(f);
    maybe_finish_close(f);
}

/* The file whose manifest or key request is rid (live or zombie). */
static struct ffile *find_by_rid(struct fetch *f, uint32_t rid, bool key)
{
    struct ffile *lists[2] = {f->files, f->zombies};
    for (int l = 0; l < 2; l++)
        for (struct ffile *file = lists[l]; file; file = file->next)
            if ((key ? file->key_rid : file->manifest_rid) == rid)
                return file;
    return NULL;
}

static bool on_manifest(struct fetch *f, struct wire_msg *m)
{
    struct ffile *file = find_by_rid(f, m->rid, false);
    if (!file)
        return false;
    file->manifest_rid = 0;
    if (file->zombie)
        return true;
    struct manifest *man = NULL;
    if (memcmp(m->u.manifest.file_id, file->id.bytes, CONTENT_ID_LEN) != 0 ||
        manifest_decode(m->u.manifest.data, m->u.manifest.len, &file->id, &man) < 0) {
        fail(file, FETCH_EMANIFEST);
        return true;
    }
    file->m = man;
    int rc = cache_put_manifest_async(f->cache, &file->id, m->u.manifest.data, m->u.manifest.len,
                                      put_done, file);
    if (rc < 0) {
        fail(file, rc);
        return true;
    }
    file->pending++;
    f->pending++;
    return true;
}

static bool on_key(struct fetch *f, struct wire_msg *m)
{
    struct ffile *file = find_by_rid(f, m->rid, true);
    if (!file)
        return false;
    file->key_rid = 0;
    if (file->zombie)
        return true;
    if (memcmp(m->u.key.file_id, file->id.bytes, CONTENT_ID_LEN) != 0) {
        fail(file, FETCH_EREFUSED);
        return true;
    }
    memcpy(file->key.bytes, m->u.key.key, CONTENT_KEY_LEN);
    file->have_key = true;
    maybe_ready(file);
    return true;
}

/* ---- chunks ---- */

static void write_done(void *ctx, int status)
{
    struct wctx *w = ctx;
    struct ffile *file = w->file;
    struct fetch *f = file->f;
    file->pending--;
    f->pending--;
    if (!file->zombie) {
        if (status == 0) {
            file->st[w->index] = CH_STORED;
            file->stats.chunks_stored++;
            if (w->src == CACHE_SRC_SERVICE) {
                file->stats.chunks_service++;
                file->stats.bytes_service += w->len;
            }
            f->st.chunks_received++;
            f->st.bytes_received += w->len;
        } else if (status == CACHE_EBADCHUNK) {
            char sid[13];
            id_short(&file->id, sid);
            file->st[w->index] = CH_MISSING;
            file->stats.bad_chunks++;
            f->st.bad_chunks++;
            clog_warn(f->log, MOD, "%s: chunk %u does not match the manifest: refused", sid,
                      w->index);
            if (file->stats.bad_chunks >= FETCH_MAX_BAD_CHUNKS)
                fail(file, FETCH_EBADDATA);
            else
                ask_urgent(file, w->index, file->prio, true);
        } else {
            file->st[w->index] = CH_MISSING;
            fail(file, status);
        }
        pump(file);
    }
    free(w);
    reap(f);
    maybe_finish_close(f);
}

static bool deliver_chunk(struct ffile *file, uint32_t index, const uint8_t *data, size_t len,
                          enum cache_source src)
{
    struct fetch *f = file->f;
    if (!file->ready || file->zombie || f->closing || index >= file->m->chunk_count)
        return false;
    uint8_t s = file->st[index];
    if (s == CH_WRITING || s == CH_STORED) {
        file->stats.duplicates++;
        f->st.duplicates++;
        return false;
    }
    struct wctx *w = xmalloc(sizeof(*w));
    w->file = file;
    w->index = index;
    w->len = (uint32_t)len;
    w->src = src;
    int rc = cache_write_async(f->cache, &file->id, index, data, len, src, write_done, w);
    if (rc < 0) {
        free(w);
        fail(file, rc);
        return false;
    }
    if (s == CH_ASKED)
        file->asked--;
    file->st[index] = CH_WRITING;
    file->pending++;
    f->pending++;
    return true;
}

bool fetch_deliver(struct fetch *f, const struct content_id *id, uint32_t index,
                   const uint8_t *data, size_t len, enum cache_source src)
{
    struct ffile *file = find_live(f, id->bytes);
    bool taken = file && deliver_chunk(file, index, data, len, src);
    reap(f);
    return taken;
}

static bool on_chunk(struct fetch *f, struct wire_msg *m)
{
    struct freq *r = find_req(f, m->rid);
    if (!r)
        return true; /* a request already finished with: nobody else wants it */
    uint32_t index = m->u.chunk.index;
    struct ffile *file = r->file;
    if (index < r->first || index - r->first >= r->count ||
        (file && memcmp(m->u.chunk.file_id, file->id.bytes, CONTENT_ID_LEN) != 0)) {
        clog_warn(f->log, MOD, "request %u: chunk %u outside the range asked for: dropped", r->rid,
                  index);
        return true;
    }
    if (++r->received >= r->count && !r->cancelled)
        remove_req(f, r);
    if (file) {
        deliver_chunk(file, index, m->u.chunk.data, m->u.chunk.len, CACHE_SRC_SERVICE);
        pump(file);
    }
    return true;
}

/* An ERROR for a chunk request. */
static void chunk_request_failed(struct fetch *f, struct freq *r, uint16_t code)
{
    struct ffile *file = r->file;
    uint32_t first = r->first, count = r->count;
    remove_req(f, r);
    if (!file)
        return;
    for (uint32_t i = first; i < first + count; i++) {
        if (file->st[i] == CH_ASKED && !covering(file, i)) {
            file->st[i] = CH_MISSING;
            file->asked--;
        }
    }
    if (code == WIRE_ERR_BUSY) {
        f->retry = true; /* the next tick asks again */
        return;
    }
    fail(file, code == WIRE_ERR_NOT_FOUND ? FETCH_ENOTFOUND : FETCH_EREFUSED);
}

static bool on_error(struct fetch *f, struct wire_msg *m)
{
    if (m->rid == 0)
        return false;
    uint16_t code = m->u.error.code;
    struct freq *r = find_req(f, m->rid);
    if (r) {
        clog_debug(f->log, MOD, "request %u: %s%s%s", m->rid, wire_error_name(code),
                   m->u.error.message ? ": " : "", m->u.error.message ? m->u.error.message : "");
        chunk_request_failed(f, r, code);
        return true;
    }
    struct ffile *file = find_by_rid(f, m->rid, false);
    if (!file)
        file = find_by_rid(f, m->rid, true);
    if (!file)
        return false;
    if (file->manifest_rid == m->rid)
        file->manifest_rid = 0;
    else
        file->key_rid = 0;
    fail(file, code == WIRE_ERR_NOT_FOUND ? FETCH_ENOTFOUND : FETCH_EREFUSED);
    return true;
}

static bool on_ok(struct fetch *f, struct wire_msg *m)
{
    struct freq *r = find_req(f, m->rid);
    if (!r || !r->cancelled)
        return false;
    remove_req(f, r); /* no CHUNK of it follows its OK */
    return true;
}

static bool dispatch(struct fetch *f, struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_CHUNK:
        return on_chunk(f, m);
    case WIRE_MANIFEST:
        return on_manifest(f, m);
    case WIRE_KEY:
        return on_key(f, m);
    case WIRE_ERROR:
        return on_error(f, m);
    case WIRE_OK:
        return on_ok(f, m);
    default:
        return false;
    }
}

bool fetch_handle_message(struct fetch *f, struct wire_msg *m)
{
    if (f->closing)
        return false;
    bool mine = dispatch(f, m);
    reap(f);
    return mine;
}

static void client_handler(struct svc_client *c, struct wire_msg *m, void *arg)
{
    struct fetch *f = arg;
    if (!fetch_handle_message(f, m) && f->on_other)
        f->on_other(c, m, f->other_arg);
}

/* ---- the loop's side of the decoder's requests, late READYs, ticks ---- */

/* Delivers READY (and COMPLETE) to one handle opened on a ready file.
 * Returns false when none is left. */
static bool announce_one(struct fetch *f)
{
    for (struct ffile *file = f->files; file; file = file->next) {
        for (struct fetch_handle *h = file->handles; h; h = h->next) {
            if (!h->announce || h->dead)
                continue;
            h->announce = false;
            struct fetch_event ev;
            fill_ready_event(file, &ev, FETCH_EV_READY);
            deliver(file, &ev, h);
            if (file->complete && !h->dead && !file->zombie) {
                fill_ready_event(file, &ev, FETCH_EV_COMPLETE);
                deliver(file, &ev, h);
            }
            return true; /* the lists may have changed: start over */
        }
    }
    return false;
}

static void free_requests(struct inbox_node *list)
{
    while (list) {
        struct inbox_node *next = list->next;
        free(inbox_entry(list, struct dreq, link));
        list = next;
    }
}

static void handle_request(struct fetch *f, const struct dreq *q)
{
    struct ffile *file = find_live(f, q->id.bytes);
    if (!file || !file->ready || q->gen < file->latest_gen) {
        f->st.stale_requests++;
        return;
    }
    file->latest_gen = q->gen;
    ask_urgent(file, q->index, q->prio, false);
}

static void on_requests(void *data, struct inbox_node *list)
{
    struct fetch *f = data;
    for (struct inbox_node *n = list; n && !f->closing; n = n->next)
        handle_request(f, inbox_entry(n, struct dreq, link));
    free_requests(list);
    for (struct ffile *file = f->files; file && !f->closing; file = file->next)
        maybe_ready(file);
    while (!f->closing && announce_one(f))
        ;
    reap(f);
}

static void on_tick(uv_timer_t *t)
{
    struct fetch *f = t->data;
    if (!f->files)
        return;
    if (f->client && f->retry) {
        f->retry = false;
        for (struct ffile *file = f->files; file; file = file->next)
            pump(file);
    }
    reap(f);
}

/* Asks the service for what the file still lacks to become ready. */
static void ask_identity(struct fetch *f, struct ffile *file)
{
    if (!f->client)
        return;
    if (!file->manifest_stored && !file->manifest_rid)
        file->manifest_rid = svc_client_get_manifest(f->client, file->id.bytes);
    if (!file->have_key && !file->key_rid)
        file->key_rid = svc_client_get_key(f->client, file->id.bytes);
}

/* The manifest and key this client already holds (cache, cfg.lookup): a
 * file known both ways becomes ready without the service. */
static void load_known(struct fetch *f, struct ffile *file)
{
    uint8_t *enc = NULL;
    size_t len = 0;
    if (cache_get_manifest(f->cache, &file->id, &enc, &len) == 0 &&
        manifest_decode(enc, len, &file->id, &file->m) == 0)
        file->manifest_stored = true;
    free(enc);
    enc = NULL;
    if (!f->lookup)
        return;
    if (f->lookup(f->lookup_ctx, &file->id, file->manifest_stored ? NULL : &enc, &len,
                  &file->key)) {
        file->have_key = true;
        if (enc && !file->manifest_stored && manifest_decode(enc, len, &file->id, &file->m) == 0) {
            /* the cache lost it (evicted): store it again before reading */
            file->pending++;
            f->pending++;
            cache_put_manifest_async(f->cache, &file->id, enc, len, put_done, file);
        }
    }
    free(enc);
}

/* ---- public ---- */

int fetch_new(const struct fetch_config *cfg, struct fetch **out)
{
    if (!cfg->loop || !cfg->cache)
        return FETCH_EINVAL;
    struct fetch *f = xcalloc(1, sizeof(*f));
    f->loop = cfg->loop;
    f->client = cfg->client;
    f->cache = cfg->cache;
    f->log = cfg->log;
    f->on_other = cfg->on_other;
    f->other_arg = cfg->other_arg;
    f->lookup = cfg->lookup;
    f->lookup_ctx = cfg->lookup_ctx;
    int rc = inbox_init(&f->requests, f->loop, on_requests, f);
    if (rc < 0) {
        free(f);
        return rc;
    }
    inbox_unref(&f->requests);
    uv_timer_init(f->loop, &f->timer);
    f->timer.data = f;
    uv_timer_start(&f->timer, on_tick, FETCH_TICK_MS, FETCH_TICK_MS);
    uv_unref((uv_handle_t *)&f->timer);
    f->handles_open = 2;
    if (f->client)
        svc_client_set_handler(f->client, client_handler, f);
    *out = f;
    return 0;
}

struct fetch_handle *fetch_open(struct fetch *f, const struct content_id *id, uint8_t prio,
                                fetch_event_fn cb, void *ctx)
{
    if (prio > WIRE_PRIO_MAX)
        prio = WIRE_PRIO_MAX;
    struct ffile *file = find_live(f, id->bytes);
    if (!file) {
        file = xcalloc(1, sizeof(*file));
        file->f = f;
        file->id = *id;
        file->opened_ms = uv_now(f->loop);
        file->next = f->files;
        f->files = file;
        f->st.files_opened++;
        load_known(f, file);
        ask_identity(f, file);
        if (file->manifest_stored && file->have_key)
            inbox_wake(&f->requests); /* ready at the next turn, never inside this call */
    }
    struct fetch_handle *h = xcalloc(1, sizeof(*h));
    h->file = file;
    h->prio = prio;
    h->cb = cb;
    h->ctx = ctx;
    h->next = file->handles;
    file->handles = h;
    file->nhandles++;
    recompute_prio(file);
    if (file->ready) {
        h->announce = true;
        inbox_wake(&f->requests);
    }
    return h;
}

void fetch_release(struct fetch_handle *h)
{
    if (!h || h->dead)
        return;
    struct ffile *file = h->file;
    struct fetch *f = file->f;
    if (file->delivering) {
        h->dead = true;
    } else {
        struct fetch_handle **pp = &file->handles;
        while (*pp != h)
            pp = &(*pp)->next;
        *pp = h->next;
        free(h);
    }
    file->nhandles--;
    if (file->nhandles == 0)
        make_zombie(file); /* a track change: its requests are cancelled */
    else
        recompute_prio(file);
    reap(f);
}

void fetch_set_priority(struct fetch_handle *h, uint8_t prio)
{
    h->prio = prio > WIRE_PRIO_MAX ? WIRE_PRIO_MAX : prio;
    recompute_prio(h->file);
}

void fetch_file_stats(const struct fetch_handle *h, struct fetch_file_stats *out)
{
    *out = h->file->stats;
}

void fetch_get_stats(const struct fetch *f, struct fetch_stats *out)
{
    *out = f->st;
}

void fetch_request(struct fetch *f, const struct content_id *id, uint32_t index, uint8_t prio,
                   uint64_t gen)
{
    struct dreq *q = xmalloc(sizeof(*q));
    *q = (struct dreq){.id = *id, .index = index, .prio = prio, .gen = gen};
    if (inbox_push(&f->requests, &q->link) < 0)
        free(q); /* closed: nobody would ask for it */
}

static void maybe_finish_close(struct fetch *f)
{
    if (!f->closing || f->handles_open > 0 || f->pending > 0)
        return;
    while (f->zombies) {
        struct ffile *file = f->zombies;
        f->zombies = file->next;
        free_file(file);
    }
    while (f->reqs)
        remove_req(f, f->reqs);
    inbox_fini(&f->requests);
    void (*cb)(void *) = f->close_cb;
    void *arg = f->close_arg;
    free(f);
    if (cb)
        cb(arg);
}

static void handle_closed(uv_handle_t *h)
{
    struct fetch *f = h->data;
    f->handles_open--;
    maybe_finish_close(f);
}

void fetch_close(struct fetch *f, void (*cb)(void *arg), void *arg)
{
    if (f->closing)
        return;
    f->close_cb = cb;
    f->close_arg = arg;
    free_requests(inbox_close(&f->requests, handle_closed));
    while (f->files)
        make_zombie(f->files);
    for (struct ffile *file = f->zombies; file; file = file->next) {
        for (struct fetch_handle *h = file->handles; h; h = h->next)
            h->dead = true;
        sweep_handles(file);
        file->nhandles = 0;
    }
    f->closing = true;
    if (f->client)
        svc_client_set_handler(f->client, NULL, NULL);
    uv_close((uv_handle_t *)&f->timer, handle_closed);
}

void fetch_set_client(struct fetch *f, struct svc_client *client)
{
    if (f->closing || f->client == client)
        return;
    if (f->client)
        svc_client_set_handler(f->client, NULL, NULL);
    /* Nothing asked of the old link will be answered: forget it all and
     * ask the new one (or the next one) again. */
    while (f->reqs)
        remove_req(f, f->reqs);
    struct ffile *lists[2] = {f->files, f->zombies};
    for (int l = 0; l < 2; l++) {
        for (struct ffile *file = lists[l]; file; file = file->next) {
            file->manifest_rid = file->key_rid = 0;
            if (!file->st)
                continue;
            for (uint32_t i = 0; i < file->m->chunk_count; i++)
                if (file->st[i] == CH_ASKED)
                    file->st[i] = CH_MISSING;
            file->asked = 0;
        }
    }
    f->client = client;
    if (!client)
        return;
    svc_client_set_handler(client, client_handler, f);
    for (struct ffile *file = f->files; file; file = file->next) {
        ask_identity(f, file);
        pump(file);
    }
}

void fetch_fail_unready(struct fetch *f, int err)
{
    for (;;) {
        struct ffile *file = f->files;
        while (file && (file->ready || (file->manifest_stored && file->have_key)))
            file = file->next;
        if (!file)
            break;
        fail(file, err);
    }
    reap(f);
}
