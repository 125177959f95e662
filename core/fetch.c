/* fetch: the public side of the downloads (see core/fetch.h and
 * fetch_internal.h for its parts): the open files and their handles,
 * events, each file's identity (manifest and key), the replies of the
 * service and of peers, the decoder's requests, the ticks and closing.
 *
 * Owns, on the core loop: the files, their handles, the sources and their
 * requests, an inbox (core/inbox.h) that carries the decoder thread's
 * requests and wakes the loop for late READY deliveries, and a timer for
 * the scheduler's ticks. The one piece touched from other threads is that
 * inbox. It must never block the loop (cache I/O goes through the cache's
 * async calls). */
#include "core/fetch.h"

#include <stdlib.h>
#include <string.h>

#include "fetch_internal.h"
#include "base/xmalloc.h"

struct dreq {
    struct inbox_node link;
    struct content_id id;
    uint32_t index;
    uint8_t prio;
    uint64_t gen;
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
    case FETCH_ENOKEY:
        return "never played on this device, and its key comes only from the service, "
               "which is offline";
    default:
        return cache_strerror(err);
    }
}

void fetch_id_short(const struct content_id *id, char out[13])
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    memcpy(out, hex, 12);
    out[12] = 0;
}

/* ---- files and handles ---- */

struct ffile *fetch_find_live(struct fetch *f, const uint8_t id[CONTENT_ID_LEN])
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
    free(file->src);
    free(file);
}

/* Frees the zombies nothing holds any more. Only outside deliveries. */
void fetch_reap(struct fetch *f)
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
void fetch_deliver_event(struct ffile *file, const struct fetch_event *ev,
                         struct fetch_handle *only)
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

void fetch_fill_event(const struct ffile *file, struct fetch_event *ev, enum fetch_event_type type)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->id = file->id;
    ev->file_size = file->m->file_size;
    ev->chunk_size = file->m->chunk_size;
    ev->chunk_count = file->m->chunk_count;
    ev->key = file->key;
}

/* Moves a live file to the zombies. */
static void make_zombie(struct ffile *file)
{
    if (file->zombie)
        return;
    struct fetch *f = file->f;
    source_cancel_file(f, file);
    unlink_file(&f->files, file);
    file->zombie = true;
    file->next = f->zombies;
    f->zombies = file;
}

void fetch_fail(struct ffile *file, int err)
{
    if (file->failed || file->zombie)
        return;
    char sid[13];
    fetch_id_short(&file->id, sid);
    clog_warn(file->f->log, MOD, "%s: %s", sid, fetch_strerror(err));
    file->failed = true;
    make_zombie(file);
    struct fetch_event ev = {.type = FETCH_EV_ERROR, .id = file->id, .error = err};
    fetch_deliver_event(file, &ev, NULL);
}

/* ---- manifest and key ---- */

static void become_ready(struct ffile *file)
{
    struct fetch *f = file->f;
    download_init(file);
    file->ready = true;
    char sid[13];
    fetch_id_short(&file->id, sid);
    clog_info(f->log, MOD, "%s: ready after %llu ms: %llu bytes, %u of %u chunks cached", sid,
              (unsigned long long)(uv_now(f->loop) - file->opened_ms),
              (unsigned long long)file->m->file_size, file->stats.chunks_cached,
              file->m->chunk_count);
    for (struct fetch_handle *h = file->handles; h; h = h->next)
        h->announce = false;
    struct fetch_event ev;
    fetch_fill_event(file, &ev, FETCH_EV_READY);
    fetch_deliver_event(file, &ev, NULL);
    download_check_complete(file);
    sched_pump(file);
}

static void maybe_ready(struct ffile *file)
{
    if (!file->ready && !file->zombie && file->manifest_stored && file->have_key)
        become_ready(file);
}

static void put_done(void *ctx, int status)
{
    struct ffile *file = ctx;
    struct fetch *f = file->f;
    file->pending--;
    f->pending--;
    if (!file->zombie) {
        if (status < 0) {
            fetch_fail(file, status);
        } else {
            file->manifest_stored = true;
            maybe_ready(file);
        }
    }
    fetch_reap(f);
    fetch_maybe_finish_close(f);
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
    /* known already: chorus.db gave it while this request was out, and it
     * is being stored again (load_known) */
    if (file->zombie || file->m)
        return true;
    struct manifest *man = NULL;
    if (memcmp(m->u.manifest.file_id, file->id.bytes, CONTENT_ID_LEN) != 0 ||
        manifest_decode(m->u.manifest.data, m->u.manifest.len, &file->id, &man) < 0) {
        fetch_fail(file, FETCH_EMANIFEST);
        return true;
    }
    file->m = man;
    int rc = cache_put_manifest_async(f->cache, &file->id, m->u.manifest.data, m->u.manifest.len,
                                      put_done, file);
    if (rc < 0) {
        fetch_fail(file, rc);
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
        fetch_fail(file, FETCH_EREFUSED);
        return true;
    }
    memcpy(file->key.bytes, m->u.key.key, CONTENT_KEY_LEN);
    file->have_key = true;
    maybe_ready(file);
    return true;
}

/* ---- chunks and replies, from the service and from peers ---- */

/* A CHUNK answering request rid of source s. */
static void on_chunk(struct source *s, struct wire_msg *m)
{
    struct fetch *f = s->f;
    struct freq *r = source_find_req(s, m->rid);
    if (!r)
        return; /* a request already finished with: nobody wants it */
    uint32_t index = m->u.chunk.index;
    struct ffile *file = r->file;
    if ((file && memcmp(m->u.chunk.file_id, file->id.bytes, CONTENT_ID_LEN) != 0) ||
        !source_arrived(r, index, m->u.chunk.len)) {
        clog_warn(f->log, MOD, "request %u: chunk %u outside the range asked for: dropped", r->rid,
                  index);
        return;
    }
    bool all = r->arrived == (r->count == 32 ? 0xffffffffu : (1u << r->count) - 1);
    if (all && !r->cancelled)
        source_end_req(r); /* done with r: what follows may cancel or free requests */
    if (file && download_take(file, index, m->u.chunk.data, m->u.chunk.len, s))
        source_cancel_duplicates(file, index, s);
    if (file && !file->zombie)
        sched_pump(file);
}

/* An ERROR or OK answering request r of source s. */
static void on_reply(struct source *s, struct freq *r, struct wire_msg *m)
{
    struct fetch *f = s->f;
    struct ffile *file = r->file;
    if (m->type == WIRE_OK) {
        if (r->cancelled)
            source_end_req(r); /* no CHUNK of it follows its OK */
        return;
    }
    uint16_t code = m->u.error.code;
    clog_debug(f->log, MOD, "request %u (%s): %s%s%s", m->rid,
               s->kind == CACHE_SRC_PEER ? "peer" : "service", wire_error_name(code),
               m->u.error.message ? ": " : "", m->u.error.message ? m->u.error.message : "");
    source_end_req(r);
    if (!file)
        return;
    if (code == WIRE_ERR_BUSY) {
        s->busy_until = uv_now(f->loop) + FETCH_BUSY_MS; /* the ticks ask again, elsewhere first */
        return;
    }
    if (s->kind == CACHE_SRC_PEER) {
        sched_holder_gone(file, s->key); /* it does not serve this file (any more) */
        sched_pump(file);
        return;
    }
    fetch_fail(file, code == WIRE_ERR_NOT_FOUND ? FETCH_ENOTFOUND : FETCH_EREFUSED);
}

static bool on_service_error(struct fetch *f, struct wire_msg *m)
{
    if (m->rid == 0)
        return false;
    struct freq *r = source_find_req(&f->service, m->rid);
    if (r) {
        on_reply(&f->service, r, m);
        return true;
    }
    struct ffile *file = find_by_rid(f, m->rid, false);
    if (!file)
        file = find_by_rid(f, m->rid, true);
    if (!file) {
        for (struct ffile *l = f->files; l; l = l->next) {
            if (l->lookup_rid == m->rid) { /* no tracker answer: the search decides */
                l->lookup_rid = 0;
                l->tracker_answered = true;
                return true;
            }
        }
        return false;
    }
    if (file->manifest_rid == m->rid)
        file->manifest_rid = 0;
    else
        file->key_rid = 0;
    fetch_fail(file, m->u.error.code == WIRE_ERR_NOT_FOUND ? FETCH_ENOTFOUND : FETCH_EREFUSED);
    return true;
}

static bool dispatch(struct fetch *f, struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_CHUNK:
        if (!source_find_req(&f->service, m->rid))
            return false;
        on_chunk(&f->service, m);
        return true;
    case WIRE_MANIFEST:
        return on_manifest(f, m);
    case WIRE_KEY:
        return on_key(f, m);
    case WIRE_PEERS:
        return sched_on_peers(f, m);
    case WIRE_ERROR:
        return on_service_error(f, m);
    case WIRE_OK: {
        struct freq *r = source_find_req(&f->service, m->rid);
        if (!r || !r->cancelled)
            return false;
        on_reply(&f->service, r, m);
        return true;
    }
    default:
        return false;
    }
}

bool fetch_handle_message(struct fetch *f, struct wire_msg *m)
{
    if (f->closing)
        return false;
    bool mine = dispatch(f, m);
    fetch_reap(f);
    return mine;
}

static void client_handler(struct svc_client *c, struct wire_msg *m, void *arg)
{
    struct fetch *f = arg;
    if (!fetch_handle_message(f, m) && f->on_other)
        f->on_other(c, m, f->other_arg);
}

bool fetch_deliver(struct fetch *f, const struct content_id *id, uint32_t index,
                   const uint8_t *data, size_t len, enum cache_source src)
{
    struct ffile *file = fetch_find_live(f, id->bytes);
    bool taken = file && download_take(file, index, data, len,
                                       src == CACHE_SRC_SERVICE ? &f->service : NULL);
    fetch_reap(f);
    return taken;
}

/* ---- the peer manager's callbacks ---- */

static void pump_all(struct fetch *f)
{
    for (struct ffile *file = f->files; file && !f->closing; file = file->next)
        sched_pump(file);
}

static void peer_up(void *ctx, struct peer *p)
{
    struct fetch *f = ctx;
    if (f->closing)
        return;
    peer_set_data(p, source_new_peer(f, p));
    pump_all(f);
    fetch_reap(f);
}

static void peer_down(void *ctx, struct peer *p)
{
    struct fetch *f = ctx;
    struct source *s = peer_data(p);
    if (!s)
        return;
    peer_set_data(p, NULL);
    source_free_peer(s);
    pump_all(f);
    fetch_reap(f);
}

/* A source that sent a bad chunk is banned once nothing refers to it. */
static void ban_if_marked(struct fetch *f, struct peer *p, struct source *s)
{
    if (!s->ban || !f->peers)
        return;
    f->st.peers_banned++;
    peers_ban(f->peers, p, "sent a chunk that does not match its manifest");
}

static void peer_chunk(void *ctx, struct peer *p, const struct wire_msg *m)
{
    struct fetch *f = ctx;
    struct source *s = peer_data(p);
    if (!s || f->closing)
        return;
    on_chunk(s, (struct wire_msg *)m);
    ban_if_marked(f, p, s);
    fetch_reap(f);
}

static void peer_reply(void *ctx, struct peer *p, const struct wire_msg *m)
{
    struct fetch *f = ctx;
    struct source *s = peer_data(p);
    struct freq *r = s && !f->closing ? source_find_req(s, m->rid) : NULL;
    if (!r)
        return;
    on_reply(s, r, (struct wire_msg *)m);
    fetch_reap(f);
}

static void peer_found(void *ctx, const uint8_t file_id[WIRE_ID_LEN], const struct wire_peer *h)
{
    struct fetch *f = ctx;
    struct ffile *file = f->closing ? NULL : fetch_find_live(f, file_id);
    if (file)
        sched_add_holder(file, h, true);
    fetch_reap(f);
}

void fetch_peer_callbacks(struct fetch *f, struct peers_callbacks *cb, void **ctx)
{
    *cb = (struct peers_callbacks){.on_up = peer_up,
                                   .on_down = peer_down,
                                   .on_chunk = peer_chunk,
                                   .on_reply = peer_reply,
                                   .on_found = peer_found};
    *ctx = f;
}

void fetch_set_peers(struct fetch *f, struct peers *peers)
{
    f->peers = peers;
    for (struct ffile *file = f->files; file && peers; file = file->next)
        if (!file->complete)
            sched_discover(file);
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
            fetch_fill_event(file, &ev, FETCH_EV_READY);
            fetch_deliver_event(file, &ev, h);
            if (file->complete && !h->dead && !file->zombie) {
                fetch_fill_event(file, &ev, FETCH_EV_COMPLETE);
                fetch_deliver_event(file, &ev, h);
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
    struct ffile *file = fetch_find_live(f, q->id.bytes);
    if (!file || !file->ready || q->gen < file->latest_gen) {
        f->st.stale_requests++;
        return;
    }
    file->latest_gen = q->gen;
    sched_urgent(file, q->index, q->prio);
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
    fetch_reap(f);
}

static void on_tick(uv_timer_t *t)
{
    struct fetch *f = t->data;
    if (!f->files)
        return;
    sched_tick(f);
    fetch_reap(f);
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
    source_init_service(f);
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
    struct ffile *file = fetch_find_live(f, id->bytes);
    if (!file) {
        file = xcalloc(1, sizeof(*file));
        file->f = f;
        file->id = *id;
        file->opened_ms = uv_now(f->loop);
        file->next = f->files;
        f->files = file;
        f->st.files_opened++;
        file->service_ok = true;
        load_known(f, file);
        ask_identity(f, file);
        sched_discover(file);
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
    fetch_reap(f);
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

void fetch_set_playhead(struct fetch_handle *h, uint32_t chunk, uint32_t chunk_ms, bool service_ok)
{
    struct ffile *file = h->file;
    bool more = service_ok && !file->service_ok;
    file->playhead = file->m && chunk >= file->m->chunk_count ? 0 : chunk;
    file->chunk_ms = chunk_ms;
    file->service_ok = service_ok;
    if (more)
        sched_pump(file);
}

enum fetch_chunk_source fetch_chunk_source(const struct fetch_handle *h, uint32_t index)
{
    const struct ffile *file = h->file;
    if (!file->ready || index >= file->m->chunk_count || file->st[index] != CH_STORED)
        return FETCH_CH_MISSING;
    return (enum fetch_chunk_source)file->src[index];
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

void fetch_maybe_finish_close(struct fetch *f)
{
    if (!f->closing || f->handles_open > 0 || f->pending > 0)
        return;
    source_reset_service(f, NULL); /* before the files its requests name */
    while (f->sources)
        source_free_peer(f->sources);
    while (f->zombies) {
        struct ffile *file = f->zombies;
        f->zombies = file->next;
        free_file(file);
    }
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
    fetch_maybe_finish_close(f);
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
    source_reset_service(f, client);
    struct ffile *lists[2] = {f->files, f->zombies};
    for (int l = 0; l < 2; l++) {
        for (struct ffile *file = lists[l]; file; file = file->next) {
            file->manifest_rid = file->key_rid = 0;
            if (file->lookup_rid) {
                file->lookup_rid = 0;
                file->tracker_answered = true;
            }
        }
    }
    f->client = client;
    if (!client)
        return;
    svc_client_set_handler(client, client_handler, f);
    for (struct ffile *file = f->files; file; file = file->next) {
        ask_identity(f, file);
        sched_pump(file);
    }
}

void fetch_fail_unready(struct fetch *f, int err)
{
    for (;;) {
        struct ffile *file = f->files;
        while (file && (file->ready || (file->m && file->have_key)))
            file = file->next;
        if (!file)
            break;
        fetch_fail(file, err);
    }
    fetch_reap(f);
}
