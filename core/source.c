/* source: where chunks come from (see fetch_internal.h). One interface —
 * request, cancel, measured rate, bytes in flight — implemented by the
 * service link (svc_client) and by each peer link (core/peers.h), and the
 * requests in flight on each. The scheduler (sched.c) decides what to
 * ask of whom; this module only keeps the books. Loop thread only. */
#include <stdlib.h>
#include <string.h>

#include "fetch_internal.h"
#include "base/xmalloc.h"

#define RATE_UNKNOWN_BPS 100000u /* what an unmeasured source is assumed to deliver */

/* ---- the two kinds ---- */

static uint32_t service_request(struct source *s, const struct content_id *id, uint32_t first,
                                uint32_t count, uint8_t prio, uint32_t deadline_ms)
{
    if (!s->client)
        return 0;
    return svc_client_get_chunks(s->client, id->bytes, first, count, prio, deadline_ms);
}

static bool service_cancel(struct source *s, uint32_t rid)
{
    return s->client && svc_client_cancel(s->client, rid) != 0;
}

static uint32_t peer_request(struct source *s, const struct content_id *id, uint32_t first,
                             uint32_t count, uint8_t prio, uint32_t deadline_ms)
{
    if (!s->peer)
        return 0;
    return peer_get_chunks(s->peer, id->bytes, first, count, prio, deadline_ms);
}

static bool peer_cancel_req(struct source *s, uint32_t rid)
{
    if (!s->peer)
        return false;
    peer_cancel(s->peer, rid);
    return true;
}

static const struct source_ops service_ops = {service_request, service_cancel};
static const struct source_ops peer_ops = {peer_request, peer_cancel_req};

void source_init_service(struct fetch *f)
{
    memset(&f->service, 0, sizeof(f->service));
    f->service.ops = &service_ops;
    f->service.f = f;
    f->service.kind = CACHE_SRC_SERVICE;
    f->service.client = f->client;
}

struct source *source_new_peer(struct fetch *f, struct peer *p)
{
    struct source *s = xcalloc(1, sizeof(*s));
    s->ops = &peer_ops;
    s->f = f;
    s->kind = CACHE_SRC_PEER;
    s->peer = p;
    memcpy(s->key, peer_key(p), TLS_KEY_LEN);
    s->next = f->sources;
    f->sources = s;
    return s;
}

struct source *source_of_key(struct fetch *f, const uint8_t key[TLS_KEY_LEN])
{
    for (struct source *s = f->sources; s; s = s->next)
        if (memcmp(s->key, key, TLS_KEY_LEN) == 0)
            return s;
    return NULL;
}

/* ---- requests ---- */

static bool arrived(const struct freq *r, uint32_t index)
{
    return r->arrived & (1u << (index - r->first));
}

static bool in_range(const struct freq *r, uint32_t index)
{
    return index >= r->first && index - r->first < r->count;
}

struct freq *source_find_req(struct source *s, uint32_t rid)
{
    for (struct freq *r = s->reqs; r; r = r->next)
        if (r->rid == rid)
            return r;
    return NULL;
}

static struct source *next_source(struct fetch *f, struct source *s)
{
    return s == &f->service ? f->sources : s->next;
}

struct freq *source_covering(struct ffile *file, uint32_t index)
{
    struct fetch *f = file->f;
    struct freq *best = NULL;
    for (struct source *s = &f->service; s; s = next_source(f, s))
        for (struct freq *r = s->reqs; r; r = r->next)
            if (r->file == file && in_range(r, index) && !arrived(r, index) &&
                (!best || r->sent_ms > best->sent_ms))
                best = r;
    return best;
}

bool source_request(struct source *s, struct ffile *file, uint32_t first, uint32_t count,
                    uint32_t deadline_ms)
{
    struct fetch *f = file->f;
    if (count == 0 || count > FETCH_MAX_REQ_CHUNKS)
        return false;
    uint32_t rid = s->ops->request(s, &file->id, first, count, file->prio, deadline_ms);
    if (!rid)
        return false;
    struct freq *r = xcalloc(1, sizeof(*r));
    *r = (struct freq){.next = s->reqs,
                       .src = s,
                       .rid = rid,
                       .file = file,
                       .first = first,
                       .count = count,
                       .sent_ms = uv_now(f->loop)};
    s->reqs = r;
    for (uint32_t i = first; i < first + count; i++) {
        r->bytes_left += manifest_chunk_len(file->m, i);
        r->expect_ms = source_eta_ms(s, r->bytes_left);
        if (file->st[i] == CH_MISSING) {
            file->st[i] = CH_ASKED;
            file->asked++;
        }
    }
    s->inflight += r->bytes_left;
    file->stats.requests++;
    f->st.requests++;
    if (s->kind == CACHE_SRC_PEER)
        f->st.peer_requests++;
    return true;
}

static void unlink_req(struct freq *r)
{
    struct freq **pp = &r->src->reqs;
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
}

/* The request no longer stands for its chunks: those still asked and
 * asked of no one else are missing again. */
static void release_chunks(struct freq *r)
{
    struct ffile *file = r->file;
    r->src->inflight -= r->bytes_left;
    r->bytes_left = 0;
    r->file = NULL;
    if (!file || !file->st)
        return;
    for (uint32_t i = r->first; i < r->first + r->count; i++) {
        if (!arrived(r, i) && file->st[i] == CH_ASKED && !source_covering(file, i)) {
            file->st[i] = CH_MISSING;
            file->asked--;
        }
    }
}

void source_end_req(struct freq *r)
{
    unlink_req(r);
    release_chunks(r);
    free(r);
}

bool source_arrived(struct freq *r, uint32_t index, size_t len)
{
    if (!in_range(r, index) || arrived(r, index))
        return false;
    struct source *s = r->src;
    uint64_t now = uv_now(s->f->loop);
    r->arrived |= 1u << (index - r->first);
    if (r->file && r->file->m) {
        uint32_t clen = manifest_chunk_len(r->file->m, index);
        r->bytes_left -= clen;
        s->inflight -= clen;
    }
    uint64_t since = s->last_arrival > r->sent_ms ? s->last_arrival : r->sent_ms;
    uint64_t ms = now > since ? now - since : 1;
    uint64_t sample = (uint64_t)len * 1000u / ms;
    s->rate = s->rate ? (s->rate * 7 + sample * 3) / 10 : sample;
    s->last_arrival = now;
    s->bytes += len;
    return true;
}

/* Sends CANCEL for r and forgets its chunks; r stays until its OK when
 * the CANCEL went out. */
static void cancel_req(struct freq *r)
{
    struct fetch *f = r->src->f;
    release_chunks(r);
    r->cancelled = true;
    f->st.cancels++;
    if (!r->src->ops->cancel(r->src, r->rid)) {
        unlink_req(r);
        free(r);
    }
}

void source_cancel_file(struct fetch *f, struct ffile *file)
{
    for (struct source *s = &f->service; s; s = next_source(f, s)) {
        struct freq *r = s->reqs;
        while (r) {
            struct freq *next = r->next;
            if (r->file == file && !r->cancelled)
                cancel_req(r);
            r = next;
        }
    }
    file->asked = 0;
}

void source_cancel_duplicates(struct ffile *file, uint32_t index, struct source *except)
{
    struct fetch *f = file->f;
    for (struct source *s = &f->service; s; s = next_source(f, s)) {
        if (s == except)
            continue;
        struct freq *r = s->reqs;
        while (r) {
            struct freq *next = r->next;
            if (r->file == file && !r->cancelled && r->count == 1 && r->first == index) {
                f->st.duplicate_cancels++;
                cancel_req(r);
            }
            r = next;
        }
    }
}

static void drop_all(struct source *s)
{
    while (s->reqs)
        source_end_req(s->reqs);
    s->inflight = 0;
}

void source_free_peer(struct source *s)
{
    struct fetch *f = s->f;
    s->peer = NULL;
    drop_all(s);
    struct source **pp = &f->sources;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp)
        *pp = s->next;
    free(s);
}

void source_reset_service(struct fetch *f, struct svc_client *client)
{
    drop_all(&f->service);
    f->service.client = client;
    f->service.busy_until = 0;
}

uint64_t source_eta_ms(const struct source *s, uint64_t extra)
{
    uint64_t rate = s->rate ? s->rate : RATE_UNKNOWN_BPS;
    return (s->inflight + extra) * 1000u / rate;
}
