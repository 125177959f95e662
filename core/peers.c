/* peers: the engine's peer manager (see core/include/core/peers.h).
 *
 * Owns the listener, the two TLS contexts (server and client, from the
 * engine's identity), every peerlink (up or in handshake), the keys banned
 * this session, the recent query ids of the flooded search, the upload
 * requests (waiting for a slot or being served) and one timer (every
 * PEERS_TICK_MS: rates, pings, deadlines of waiting requests, trimming).
 *
 * Runs on the engine's loop thread only. It never blocks the loop: chunks
 * are read with cache_read_async, one at a time per request being served,
 * and the next is read only while the link's output holds less than
 * FEED_BYTES (peerlink's on_writable resumes it), so the upload slots are
 * real concurrent transfers and a CANCEL stops one at once. It never calls
 * the owner back from inside peers_close, nor on_down after it. */
#include "core/peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "net/peerlink.h"

#define MOD "peers"

#define RECENT_BUCKETS (PEERS_RECENT_MS / PEERS_TICK_MS)
#define FEED_BYTES     (64u * 1024) /* a served request's chunks queued ahead on its link */
#define NO_DEADLINE    UINT64_MAX
#define LISTEN_BACKLOG 128

/* One of our GET_CHUNKS on a link, until its last CHUNK or its reply. */
struct outreq {
    struct outreq *next;
    uint32_t rid, remaining;
};

/* One GET_CHUNKS a peer sent us. */
struct upreq {
    struct upreq *next; /* the peer's requests */
    struct peers *ps;
    struct peer *p; /* NULL once detached (cancelled, finished, link gone) */
    uint32_t rid;
    struct content_id file;
    uint32_t next_index, end;
    uint8_t prio;
    uint64_t deadline; /* loop ms; NO_DEADLINE */
    uint64_t order;
    bool active;  /* holds its peer's upload slot */
    bool reading; /* a cache read is pending: freed by its callback */
    /* every chunk is queued on the link: the slot stays taken until the
     * link has sent sent_target bytes in all (conn_stats' bytes_out) */
    bool draining;
    uint64_t sent_target;
};

struct peer {
    struct peer *prev, *next;
    struct peers *ps;
    struct peerlink *l;
    bool inbound, up, closing;
    bool key_known; /* outbound: the holder's key from the start */
    uint8_t key[TLS_KEY_LEN];
    char address[64];
    struct sockaddr_storage addr; /* once up */
    uint16_t listen_port;
    uint64_t created_ms, up_ms;
    void *data;
    uint32_t next_rid;

    uint64_t bytes_down, bytes_up; /* chunk bytes */
    uint64_t tick_down, tick_up;   /* since the last tick */
    uint64_t rate_down, rate_up;
    uint64_t recent[RECENT_BUCKETS]; /* bytes both ways, one bucket per tick */
    unsigned recent_pos;
    uint32_t chunks_served;
    int32_t rtt_ms;
    uint32_t ping_rid;
    uint64_t ping_sent_ms;

    struct outreq *out; /* ours on this link */
    unsigned nout;
    struct upreq *reqs; /* its requests to us, waiting or served */
    unsigned nreqs;
    struct upreq *serving; /* the one holding our slot */
};

struct query {
    uint64_t id;
    uint64_t at_ms;
    struct peer *origin; /* NULL: ours, or its link is gone */
    bool own;
    uint32_t rid; /* the FIND's rid on the origin link */
};

struct peers {
    uv_loop_t *loop;
    struct clog *log;
    struct cache *cache;
    bool upload, corrupt;
    bool has_shaping;
    struct conn_shaping shaping;
    struct peers_callbacks cb;
    void *ctx;
    uint8_t self_key[TLS_KEY_LEN];
    struct tls_ctx *server_ctx, *client_ctx;

    uv_tcp_t *listener; /* NULL: not listening */
    char listen_address[64];
    uint16_t port;
    uv_timer_t tick;

    uint8_t *ticket;
    size_t ticket_len;
    uint8_t service_key[TLS_KEY_LEN];

    struct peer *peers;             /* every link, closing ones too, until on_close */
    unsigned nlinks;                /* not closing: up + in handshake */
    unsigned max_conns, soft_conns; /* cfg.max_conns, and the trimming threshold */
    unsigned nup;

    uint8_t (*banned)[TLS_KEY_LEN];
    size_t nbanned;

    struct query queries[PEERS_MAX_QUERIES]; /* a ring, oldest at qhead */
    unsigned qhead, nqueries;

    unsigned waiting; /* upload requests waiting for a slot */
    uint64_t order;

    struct peers_stats st;

    /* closing */
    bool closing;
    unsigned allocated; /* peers not yet freed */
    unsigned handles;   /* libuv handles not yet closed */
    unsigned reads;     /* cache reads pending */
    void (*close_cb)(void *arg);
    void *close_arg;
};

static void close_link(struct peer *p, const char *why);
static void assign_slots(struct peers *ps);
static void start_draining(struct upreq *r);
static void finish_draining(struct peer *p);
static void feed(struct peer *p);

const char *peers_strerror(int err)
{
    switch (err) {
    case PEERS_ELISTEN:
        return "cannot listen for peers on that address";
    case PEERS_EADDR:
        return "malformed peer address";
    case PEERS_ENOTICKET:
        return "not logged in: no peer links";
    case PEERS_EFULL:
        return "too many peer links";
    case PEERS_EBANNED:
        return "that peer is banned";
    case PEERS_ESELF:
        return "that peer is this engine";
    default:
        return "unknown peers error";
    }
}

static uint64_t now_ms(const struct peers *ps)
{
    return uv_now(ps->loop);
}

/* ---- finishing peers_close ---- */

static void maybe_finish(struct peers *ps)
{
    if (!ps->closing || ps->allocated || ps->handles || ps->reads)
        return;
    void (*cb)(void *) = ps->close_cb;
    void *arg = ps->close_arg;
    tls_ctx_free(ps->server_ctx);
    tls_ctx_free(ps->client_ctx);
    free(ps->ticket);
    free(ps->banned);
    free(ps);
    if (cb)
        cb(arg);
}

static void handle_closed(uv_handle_t *h)
{
    struct peers *ps = h->data;
    if ((uv_handle_t *)&ps->tick != h)
        free(h);
    ps->handles--;
    maybe_finish(ps);
}

/* ---- addresses ---- */

/* "HOST:PORT", "[V6]:PORT", or a bare host (PEERS_DEFAULT_PORT); port 0
 * means any free one. Numeric hosts only. */
static int parse_listen(const char *text, struct sockaddr_storage *out)
{
    char host[64];
    const char *h = text, *port = NULL;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || (close[1] && close[1] != ':'))
            return PEERS_EADDR;
        h = text + 1;
        hlen = (size_t)(close - h);
        port = close[1] ? close + 2 : NULL;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') == colon) {
            hlen = (size_t)(colon - text);
            port = colon + 1;
        } else {
            hlen = strlen(text); /* no port, or a bare IPv6 address */
        }
    }
    long pn = PEERS_DEFAULT_PORT;
    if (port) {
        char *end;
        pn = strtol(port, &end, 10);
        if (end == port || *end || pn < 0 || pn > 65535)
            return PEERS_EADDR;
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return PEERS_EADDR;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    memset(out, 0, sizeof(*out));
    if (uv_ip4_addr(host, (int)pn, (struct sockaddr_in *)out) == 0 ||
        uv_ip6_addr(host, (int)pn, (struct sockaddr_in6 *)out) == 0)
        return 0;
    return PEERS_EADDR;
}

static int holder_sockaddr(const struct wire_peer *w, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (w->port == 0)
        return PEERS_EADDR;
    if (w->family == 4) {
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_port = htons(w->port);
        memcpy(&in->sin_addr, w->addr, 4);
        return 0;
    }
    if (w->family == 6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(w->port);
        memcpy(&in6->sin6_addr, w->addr, 16);
        return 0;
    }
    return PEERS_EADDR;
}

/* The holder entry for a linked peer: its address as we see it, its
 * listen port and key. False when it accepts no peers. */
static bool peer_as_holder(const struct peer *p, struct wire_peer *out)
{
    memset(out, 0, sizeof(*out));
    if (!p->listen_port)
        return false;
    if (p->addr.ss_family == AF_INET) {
        out->family = 4;
        memcpy(out->addr, &((const struct sockaddr_in *)&p->addr)->sin_addr, 4);
    } else if (p->addr.ss_family == AF_INET6) {
        out->family = 6;
        memcpy(out->addr, &((const struct sockaddr_in6 *)&p->addr)->sin6_addr, 16);
    } else {
        return false;
    }
    out->port = p->listen_port;
    memcpy(out->key, p->key, TLS_KEY_LEN);
    return true;
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
    if (a->ss_family == AF_INET)
        ((struct sockaddr_in *)a)->sin_port = htons(port);
    else if (a->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)a)->sin6_port = htons(port);
}

/* ---- bans ---- */

static bool is_banned(const struct peers *ps, const uint8_t key[TLS_KEY_LEN])
{
    for (size_t i = 0; i < ps->nbanned; i++)
        if (memcmp(ps->banned[i], key, TLS_KEY_LEN) == 0)
            return true;
    return false;
}

/* ---- usefulness ---- */

static uint64_t recent_bytes(const struct peer *p)
{
    uint64_t sum = p->tick_down + p->tick_up;
    for (unsigned i = 0; i < RECENT_BUCKETS; i++)
        sum += p->recent[i];
    return sum;
}

static unsigned in_flight(const struct peer *p)
{
    return p->nout + p->nreqs;
}

/* Negative when a is more useful than b (sorts first). */
static int utility_cmp(const struct peer *a, const struct peer *b)
{
    uint64_t ra = recent_bytes(a), rb = recent_bytes(b);
    if (ra != rb)
        return ra > rb ? -1 : 1;
    unsigned ia = in_flight(a), ib = in_flight(b);
    if (ia != ib)
        return ia > ib ? -1 : 1;
    uint64_t aa = a->up ? a->up_ms : a->created_ms, ab = b->up ? b->up_ms : b->created_ms;
    if (aa != ab)
        return aa < ab ? -1 : 1;
    return 0;
}

static int utility_qsort(const void *x, const void *y)
{
    return utility_cmp(*(struct peer *const *)x, *(struct peer *const *)y);
}

/* The least useful link that may be trimmed (up, past its grace), or
 * NULL. */
static struct peer *least_useful(struct peers *ps)
{
    struct peer *worst = NULL;
    uint64_t now = now_ms(ps);
    for (struct peer *p = ps->peers; p; p = p->next)
        if (p->up && !p->closing && now - p->up_ms >= PEERS_GRACE_MS &&
            (!worst || utility_cmp(p, worst) > 0))
            worst = p;
    return worst;
}

static void trim(struct peers *ps)
{
    while (ps->nlinks > ps->soft_conns) {
        struct peer *p = least_useful(ps);
        if (!p)
            return;
        ps->st.trimmed++;
        close_link(p, "trimmed: above the soft limit and the least useful");
    }
}

/* ---- sending ---- */

static void send_msg(struct peer *p, const struct wire_msg *m, uint64_t prio, uint32_t tag)
{
    if (p->closing || !p->up)
        return;
    int rc = peerlink_send(p->l, m, prio, tag);
    if (rc < 0)
        clog_debug(p->ps->log, MOD, "%s: cannot send %s: %d", p->address, wire_type_name(m->type),
                   rc);
}

static void send_error(struct peer *p, uint32_t rid, uint16_t code, const char *text)
{
    struct wire_msg m = {.type = WIRE_ERROR, .rid = rid};
    m.u.error.code = code;
    m.u.error.message = (char *)text;
    send_msg(p, &m, CONN_PRIO_CONTROL, 0);
}

static void send_simple(struct peer *p, uint8_t type, uint32_t rid)
{
    struct wire_msg m = {.type = type, .rid = rid};
    send_msg(p, &m, CONN_PRIO_CONTROL, 0);
}

static uint32_t new_rid(struct peer *p)
{
    if (++p->next_rid == 0)
        p->next_rid = 1;
    return p->next_rid;
}

/* ---- upload ---- */

static uint64_t data_prio(const struct upreq *r)
{
    uint64_t d = r->deadline == NO_DEADLINE ? ((uint64_t)1 << 40) - 1 : r->deadline;
    if (d >= (uint64_t)1 << 40)
        d = ((uint64_t)1 << 40) - 1;
    return 1 + ((uint64_t)r->prio << 40) + d;
}

static bool more_urgent(const struct upreq *a, const struct upreq *b)
{
    if (a->prio != b->prio)
        return a->prio < b->prio;
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->order < b->order;
}

/* Takes r off its peer (and its slot); frees it unless a read is pending
 * (its callback frees it then). */
static void detach(struct upreq *r)
{
    struct peer *p = r->p;
    struct peers *ps = r->ps;
    if (p) {
        for (struct upreq **pp = &p->reqs; *pp; pp = &(*pp)->next)
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        p->nreqs--;
        if (p->serving == r) {
            p->serving = NULL;
            ps->st.slots_used--;
        } else if (!r->active) {
            ps->waiting--;
        }
        r->p = NULL;
    }
    if (!r->reading)
        free(r);
}

static void on_read(void *ctx, int status, const uint8_t *data, size_t len)
{
    struct upreq *r = ctx;
    struct peers *ps = r->ps;
    ps->reads--;
    r->reading = false;
    struct peer *p = r->p;
    if (!p) {
        free(r);
        maybe_finish(ps);
        return;
    }
    if (p->closing || !peerlink_conn(p->l)) {
        /* the link closed while the chunk was read: nothing to send it
         * on, the slot is free */
        detach(r);
        assign_slots(ps);
        return;
    }
    if (status < 0) {
        clog_warn(ps->log, MOD, "%s: chunk %u not served: %s", p->address, r->next_index,
                  cache_strerror(status));
        send_error(p, r->rid, WIRE_ERR_NOT_FOUND, "chunk not available");
        detach(r);
        assign_slots(ps);
        return;
    }
    struct wire_msg m = {.type = WIRE_CHUNK, .rid = r->rid};
    memcpy(m.u.chunk.file_id, r->file.bytes, WIRE_ID_LEN);
    m.u.chunk.index = r->next_index;
    m.u.chunk.len = len;
    uint8_t *copy = NULL;
    if (ps->corrupt && len) {
        copy = xmalloc(len);
        memcpy(copy, data, len);
        copy[len / 2] ^= 0x5a;
        m.u.chunk.data = copy;
    } else {
        m.u.chunk.data = (uint8_t *)data;
    }
    send_msg(p, &m, data_prio(r), r->rid);
    free(copy);
    p->bytes_up += len;
    p->tick_up += len;
    p->chunks_served++;
    ps->st.bytes_up += len;
    ps->st.chunks_served++;
    if (++r->next_index >= r->end)
        start_draining(r);
    else
        feed(p);
}

/* The link's bytes sent so far (ciphertext handed to the socket). */
static uint64_t link_sent(const struct conn *c)
{
    uint64_t out = 0;
    conn_stats(c, NULL, &out);
    return out;
}

/* The request's last chunk is queued: it keeps its upload slot until the
 * link has sent what is queued now, so "slots in use" counts transfers
 * on the wire, not reads from the cache (a shaped or slow link holds a
 * request's bytes for seconds after they are queued). */
static void start_draining(struct upreq *r)
{
    struct conn *c = peerlink_conn(r->p->l);
    r->draining = true;
    r->sent_target = c ? link_sent(c) + conn_queued_bytes(c) : 0;
    finish_draining(r->p);
}

/* Frees the slot of p's drained request, once its bytes have left. */
static void finish_draining(struct peer *p)
{
    struct upreq *r = p->serving;
    if (!r || !r->draining)
        return;
    struct conn *c = peerlink_conn(p->l);
    /* a closed link (no conn) has nothing left to send */
    if (c && link_sent(c) < r->sent_target && conn_queued_bytes(c) > 0)
        return;
    struct peers *ps = r->ps;
    detach(r);
    assign_slots(ps);
}

/* Reads the next chunk of the request p is served, if its link has
 * room. */
static void feed(struct peer *p)
{
    struct upreq *r = p->serving;
    if (!r || r->reading || r->draining || p->closing || !peerlink_conn(p->l))
        return;
    if (conn_queued_bytes(peerlink_conn(p->l)) >= FEED_BYTES)
        return; /* on_writable resumes */
    int rc = cache_read_async(p->ps->cache, &r->file, r->next_index, CACHE_FOR_PEER, on_read, r);
    if (rc < 0) {
        send_error(p, r->rid, WIRE_ERR_INTERNAL, "cache unavailable");
        detach(r);
        return;
    }
    r->reading = true;
    p->ps->reads++;
}

/* Free slots go to the most urgent waiting requests of peers not being
 * served. */
static void assign_slots(struct peers *ps)
{
    while (!ps->closing && ps->st.slots_used < PEERS_UPLOAD_SLOTS && ps->waiting) {
        struct upreq *best = NULL;
        for (struct peer *p = ps->peers; p; p = p->next) {
            if (p->closing || p->serving)
                continue;
            for (struct upreq *r = p->reqs; r; r = r->next)
                if (!r->active && (!best || more_urgent(r, best)))
                    best = r;
        }
        if (!best)
            return;
        struct peer *p = best->p;
        best->active = true;
        ps->waiting--;
        p->serving = best;
        if (++ps->st.slots_used > ps->st.slots_peak)
            ps->st.slots_peak = ps->st.slots_used;
        feed(p);
    }
}

static void handle_get_chunks(struct peer *p, const struct wire_msg *m)
{
    struct peers *ps = p->ps;
    uint32_t first = m->u.get_chunks.first, count = m->u.get_chunks.count;
    if (m->rid == 0 || count == 0 || count > WIRE_MAX_RANGE || first > UINT32_MAX - count ||
        m->u.get_chunks.priority > WIRE_PRIO_MAX) {
        send_error(p, m->rid, WIRE_ERR_BAD_REQUEST,
                   "GET_CHUNKS needs rid > 0, count 1..4096 and priority 0..2");
        return;
    }
    for (struct upreq *r = p->reqs; r; r = r->next)
        if (r->rid == m->rid) {
            send_error(p, m->rid, WIRE_ERR_BAD_REQUEST, "a request with this rid is open");
            return;
        }
    struct content_id id;
    memcpy(id.bytes, m->u.get_chunks.file_id, CONTENT_ID_LEN);
    struct cache_file_info info;
    if (!ps->upload || !ps->cache || cache_file_info(ps->cache, &id, &info) < 0 || !info.complete) {
        send_error(p, m->rid, WIRE_ERR_NOT_FOUND, NULL);
        return;
    }
    if (first + count > info.chunk_count) {
        send_error(p, m->rid, WIRE_ERR_BAD_REQUEST, "chunk range beyond the end of the file");
        return;
    }
    if (ps->waiting >= PEERS_MAX_WAITING) {
        ps->st.busy_replies++;
        send_error(p, m->rid, WIRE_ERR_BUSY, "upload slots taken");
        return;
    }
    struct upreq *r = xcalloc(1, sizeof(*r));
    r->ps = ps;
    r->p = p;
    r->rid = m->rid;
    r->file = id;
    r->next_index = first;
    r->end = first + count;
    r->prio = m->u.get_chunks.priority;
    r->deadline =
        m->u.get_chunks.deadline_ms ? now_ms(ps) + m->u.get_chunks.deadline_ms : NO_DEADLINE;
    r->order = ps->order++;
    /* appended: the peer's requests stay in arrival order */
    struct upreq **pp = &p->reqs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
    p->nreqs++;
    ps->waiting++;
    assign_slots(ps);
}

static void handle_cancel(struct peer *p, const struct wire_msg *m)
{
    for (struct upreq *r = p->reqs; r; r = r->next) {
        if (r->rid != m->rid)
            continue;
        if (r->active)
            peerlink_cancel(p->l, r->rid);
        detach(r);
        assign_slots(p->ps);
        break;
    }
    send_simple(p, WIRE_OK, m->rid); /* after it, no CHUNK of this rid */
}

/* Waiting requests whose deadline passed get BUSY: the asker goes
 * elsewhere. */
static void expire_waiting(struct peers *ps)
{
    uint64_t now = now_ms(ps);
    for (struct peer *p = ps->peers; p; p = p->next) {
        struct upreq *r = p->reqs;
        while (r) {
            struct upreq *next = r->next;
            if (!r->active && r->deadline <= now) {
                ps->st.busy_replies++;
                send_error(p, r->rid, WIRE_ERR_BUSY, "no upload slot before the deadline");
                detach(r);
            }
            r = next;
        }
    }
}

/* ---- search ---- */

static void expire_queries(struct peers *ps)
{
    uint64_t now = now_ms(ps);
    while (ps->nqueries && now - ps->queries[ps->qhead].at_ms >= PEERS_QUERY_TTL_MS) {
        ps->qhead = (ps->qhead + 1) % PEERS_MAX_QUERIES;
        ps->nqueries--;
    }
}

static struct query *query_find(struct peers *ps, uint64_t id)
{
    for (unsigned i = 0; i < ps->nqueries; i++) {
        struct query *q = &ps->queries[(ps->qhead + i) % PEERS_MAX_QUERIES];
        if (q->id == id)
            return q;
    }
    return NULL;
}

/* Remembers a query id; the oldest goes when the table is full. */
static void query_add(struct peers *ps, uint64_t id, struct peer *origin, uint32_t rid)
{
    if (ps->nqueries == PEERS_MAX_QUERIES) {
        ps->qhead = (ps->qhead + 1) % PEERS_MAX_QUERIES;
        ps->nqueries--;
    }
    struct query *q = &ps->queries[(ps->qhead + ps->nqueries++) % PEERS_MAX_QUERIES];
    *q =
        (struct query){.id = id, .at_ms = now_ms(ps), .origin = origin, .own = !origin, .rid = rid};
}

/* Sends FIND to every up link but except; returns how many. */
static unsigned flood(struct peers *ps, struct peer *except, uint64_t id,
                      const uint8_t file_id[WIRE_ID_LEN], uint8_t hops)
{
    unsigned n = 0;
    for (struct peer *p = ps->peers; p; p = p->next) {
        if (p == except || !p->up || p->closing)
            continue;
        struct wire_msg m = {.type = WIRE_FIND, .rid = new_rid(p)};
        m.u.find.query_id = id;
        memcpy(m.u.find.file_id, file_id, WIRE_ID_LEN);
        m.u.find.hops = hops;
        send_msg(p, &m, CONN_PRIO_CONTROL, 0);
        n++;
    }
    return n;
}

static bool holds_complete(struct peers *ps, const uint8_t file_id[WIRE_ID_LEN])
{
    struct content_id id;
    struct cache_file_info info;
    memcpy(id.bytes, file_id, CONTENT_ID_LEN);
    return ps->cache && cache_file_info(ps->cache, &id, &info) == 0 && info.complete;
}

static void handle_find(struct peer *p, const struct wire_msg *m)
{
    struct peers *ps = p->ps;
    expire_queries(ps);
    if (query_find(ps, m->u.find.query_id))
        return; /* seen: a cycle, or a second path */
    query_add(ps, m->u.find.query_id, p, m->rid);
    if (ps->upload && ps->port && holds_complete(ps, m->u.find.file_id)) {
        struct wire_msg f = {.type = WIRE_FOUND, .rid = m->rid};
        memcpy(f.u.peers.file_id, m->u.find.file_id, WIRE_ID_LEN);
        f.u.peers.query_id = m->u.find.query_id;
        f.u.peers.count = 1;
        f.u.peers.peers[0].family = 0; /* "me, where you see me" */
        f.u.peers.peers[0].port = ps->port;
        memcpy(f.u.peers.peers[0].key, ps->self_key, TLS_KEY_LEN);
        send_msg(p, &f, CONN_PRIO_CONTROL, 0);
    }
    if (m->u.find.hops > 1 && m->u.find.hops <= WIRE_MAX_HOPS &&
        flood(ps, p, m->u.find.query_id, m->u.find.file_id, (uint8_t)(m->u.find.hops - 1)))
        ps->st.finds_relayed++;
}

static void handle_found(struct peer *p, struct wire_msg *m)
{
    struct peers *ps = p->ps;
    struct query *q = query_find(ps, m->u.peers.query_id);
    if (!q || (!q->own && !q->origin))
        return; /* not ours, expired, or its way back is gone */
    /* family 0 is the sender, at the address we see it at */
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->u.peers.count && i < WIRE_MAX_PEERS; i++) {
        struct wire_peer w = m->u.peers.peers[i];
        if (w.family == 0) {
            if (memcmp(w.key, p->key, TLS_KEY_LEN) != 0 || !peer_as_holder(p, &w))
                continue;
        } else if (w.family != 4 && w.family != 6) {
            continue;
        }
        m->u.peers.peers[n++] = w;
    }
    m->u.peers.count = n;
    if (n == 0)
        return;
    if (q->own) {
        for (uint32_t i = 0; i < n; i++) {
            if (memcmp(m->u.peers.peers[i].key, ps->self_key, TLS_KEY_LEN) == 0)
                continue;
            ps->st.found_received++;
            if (ps->cb.on_found)
                ps->cb.on_found(ps->ctx, m->u.peers.file_id, &m->u.peers.peers[i]);
        }
        return;
    }
    m->rid = q->rid;
    send_msg(q->origin, m, CONN_PRIO_CONTROL, 0);
}

unsigned peers_search(struct peers *ps, const uint8_t file_id[WIRE_ID_LEN])
{
    if (ps->closing)
        return 0;
    uint64_t id = 0;
    if (uv_random(NULL, NULL, &id, sizeof(id), 0, NULL) < 0 || id == 0)
        id = (((uint64_t)rand() << 32) ^ (uint64_t)rand() ^ uv_hrtime()) | 1;
    expire_queries(ps);
    query_add(ps, id, NULL, 0);
    ps->st.searches++;
    return flood(ps, NULL, id, file_id, WIRE_MAX_HOPS);
}

/* ---- links ---- */

static struct peerlink_auth auth_of(const struct peers *ps)
{
    return (struct peerlink_auth){.service_key = ps->service_key,
                                  .ticket = ps->ticket,
                                  .ticket_len = ps->ticket_len,
                                  .listen_port = ps->port};
}

static struct peer *peer_new(struct peers *ps, bool inbound)
{
    struct peer *p = xcalloc(1, sizeof(*p));
    p->ps = ps;
    p->inbound = inbound;
    p->created_ms = now_ms(ps);
    p->rtt_ms = -1;
    p->next = ps->peers;
    if (ps->peers)
        ps->peers->prev = p;
    ps->peers = p;
    ps->nlinks++;
    ps->allocated++;
    return p;
}

static void peer_unlink(struct peer *p)
{
    struct peers *ps = p->ps;
    if (p->prev)
        p->prev->next = p->next;
    else
        ps->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    ps->allocated--;
}

/* The link is going: its requests are void, its slot frees, its queries
 * lose their way back, and the owner hears on_down (not while closing). */
static void mark_down(struct peer *p)
{
    struct peers *ps = p->ps;
    if (p->closing)
        return;
    p->closing = true;
    ps->nlinks--;
    while (p->reqs)
        detach(p->reqs);
    for (unsigned i = 0; i < ps->nqueries; i++) {
        struct query *q = &ps->queries[(ps->qhead + i) % PEERS_MAX_QUERIES];
        if (q->origin == p)
            q->origin = NULL;
    }
    if (p->up) {
        ps->nup--;
        if (!ps->closing && ps->cb.on_down)
            ps->cb.on_down(ps->ctx, p);
    }
    assign_slots(ps);
}

static void close_link(struct peer *p, const char *why)
{
    if (p->closing)
        return;
    clog_info(p->ps->log, MOD, "%s: closing the link: %s", p->address, why);
    mark_down(p);
    peerlink_close(p->l, 0);
}

static void link_up(struct peerlink *l, const struct peerlink_info *info, void *arg)
{
    struct peer *p = arg;
    struct peers *ps = p->ps;
    if (p->closing)
        return;
    memcpy(p->key, info->key, TLS_KEY_LEN);
    p->key_known = true;
    p->addr = info->addr;
    p->listen_port = info->listen_port;
    struct sockaddr_storage shown = info->addr;
    if (info->listen_port)
        set_port(&shown, info->listen_port);
    conn_format_addr(&shown, p->address, sizeof(p->address));
    (void)l;
    if (memcmp(info->key, ps->self_key, TLS_KEY_LEN) == 0) {
        close_link(p, "that is this engine");
        return;
    }
    if (is_banned(ps, info->key)) {
        close_link(p, "banned this session");
        return;
    }
    for (struct peer *o = ps->peers; o; o = o->next)
        if (o != p && o->up && !o->closing && memcmp(o->key, info->key, TLS_KEY_LEN) == 0) {
            close_link(p, "a link to this key is up already");
            return;
        }
    p->up = true;
    p->up_ms = now_ms(ps);
    ps->nup++;
    clog_info(ps->log, MOD, "%s: link up (%s, user %s)", p->address,
              p->inbound ? "inbound" : "outbound", info->user);
    /* a first round trip at once */
    p->ping_rid = new_rid(p);
    p->ping_sent_ms = now_ms(ps);
    send_simple(p, WIRE_PING, p->ping_rid);
    if (ps->cb.on_up)
        ps->cb.on_up(ps->ctx, p);
    trim(ps);
}

static struct outreq *outreq_take(struct peer *p, uint32_t rid)
{
    for (struct outreq **pp = &p->out; *pp; pp = &(*pp)->next)
        if ((*pp)->rid == rid) {
            struct outreq *o = *pp;
            *pp = o->next;
            p->nout--;
            return o;
        }
    return NULL;
}

static void handle_chunk(struct peer *p, const struct wire_msg *m)
{
    struct peers *ps = p->ps;
    p->bytes_down += m->u.chunk.len;
    p->tick_down += m->u.chunk.len;
    ps->st.bytes_down += m->u.chunk.len;
    for (struct outreq *o = p->out; o; o = o->next)
        if (o->rid == m->rid) {
            if (o->remaining && --o->remaining == 0)
                free(outreq_take(p, m->rid));
            break;
        }
    if (ps->cb.on_chunk)
        ps->cb.on_chunk(ps->ctx, p, m);
}

static void link_message(struct peerlink *l, struct wire_msg *m, void *arg)
{
    struct peer *p = arg;
    struct peers *ps = p->ps;
    (void)l;
    if (p->closing || !p->up)
        return;
    switch (m->type) {
    case WIRE_PING:
        send_simple(p, WIRE_PONG, m->rid);
        break;
    case WIRE_PONG:
        if (p->ping_rid && m->rid == p->ping_rid) {
            p->rtt_ms = (int32_t)(now_ms(ps) - p->ping_sent_ms);
            p->ping_rid = 0;
        }
        break;
    case WIRE_GET_CHUNKS:
        handle_get_chunks(p, m);
        break;
    case WIRE_CANCEL:
        handle_cancel(p, m);
        break;
    case WIRE_CHUNK:
        handle_chunk(p, m);
        break;
    case WIRE_ERROR:
    case WIRE_OK:
        if (m->rid == 0) {
            if (m->type == WIRE_ERROR)
                clog_warn(ps->log, MOD, "%s: error: %s", p->address,
                          wire_error_name(m->u.error.code));
            break;
        }
        free(outreq_take(p, m->rid));
        if (ps->cb.on_reply)
            ps->cb.on_reply(ps->ctx, p, m);
        break;
    case WIRE_FIND:
        handle_find(p, m);
        break;
    case WIRE_FOUND:
        handle_found(p, m);
        break;
    default:
        break;
    }
}

static void link_writable(struct peerlink *l, void *arg)
{
    (void)l;
    finish_draining(arg);
    feed(arg);
}

static void link_closed(struct peerlink *l, int err, void *arg)
{
    struct peer *p = arg;
    struct peers *ps = p->ps;
    (void)l;
    if (err == PEERLINK_ETICKET || err == PEERLINK_EEXPIRED)
        ps->st.refused_ticket++;
    if (!p->closing && !ps->closing)
        clog_info(ps->log, MOD, "%s: link %s: %s", p->address, p->up ? "down" : "failed",
                  err ? conn_strerror(err) : "closed");
    mark_down(p);
    peer_unlink(p);
    while (p->out)
        free(outreq_take(p, p->out->rid));
    free(p);
    maybe_finish(ps);
}

static const struct peerlink_callbacks link_cb = {
    .on_up = link_up,
    .on_message = link_message,
    .on_writable = link_writable,
    .on_close = link_closed,
};

/* A connection we do not take: accepted and closed at once (libuv stops
 * accepting until a pending connection is taken). */
static void refuse(struct peers *ps, uv_stream_t *server)
{
    uv_tcp_t *t = xmalloc(sizeof(*t));
    uv_tcp_init(ps->loop, t);
    t->data = ps;
    ps->handles++;
    uv_accept(server, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, handle_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct peers *ps = server->data;
    if (status < 0) {
        clog_warn(ps->log, MOD, "accept: %s", uv_strerror(status));
        return;
    }
    if (ps->closing || !ps->ticket) {
        refuse(ps, server);
        return;
    }
    if (ps->nlinks >= ps->max_conns) {
        ps->st.refused_full++;
        refuse(ps, server);
        return;
    }
    struct peer *p = peer_new(ps, true);
    struct peerlink_auth auth = auth_of(ps);
    int rc = peerlink_accept(server, ps->server_ctx, &auth, ps->has_shaping ? &ps->shaping : NULL,
                             &link_cb, p, &p->l);
    if (rc < 0) {
        clog_warn(ps->log, MOD, "cannot accept a peer: %d", rc);
        ps->nlinks--;
        peer_unlink(p);
        free(p);
        refuse(ps, server);
        return;
    }
    struct sockaddr_storage a;
    if (conn_peer_addr(peerlink_conn(p->l), &a) == 0)
        conn_format_addr(&a, p->address, sizeof(p->address));
}

int peers_connect(struct peers *ps, const struct wire_peer *holder)
{
    if (ps->closing)
        return PEERS_ENOTICKET;
    if (!ps->ticket)
        return PEERS_ENOTICKET;
    if (memcmp(holder->key, ps->self_key, TLS_KEY_LEN) == 0)
        return PEERS_ESELF;
    if (is_banned(ps, holder->key))
        return PEERS_EBANNED;
    struct sockaddr_storage addr;
    if (holder_sockaddr(holder, &addr) < 0)
        return PEERS_EADDR;
    for (struct peer *p = ps->peers; p; p = p->next)
        if (!p->closing && p->key_known && memcmp(p->key, holder->key, TLS_KEY_LEN) == 0)
            return 0;
    if (ps->nlinks >= ps->soft_conns) {
        struct peer *w = least_useful(ps);
        if (w) {
            ps->st.trimmed++;
            close_link(w, "making room for a new holder");
        }
    }
    if (ps->nlinks >= ps->max_conns)
        return PEERS_EFULL;
    struct peer *p = peer_new(ps, false);
    memcpy(p->key, holder->key, TLS_KEY_LEN);
    p->key_known = true;
    conn_format_addr(&addr, p->address, sizeof(p->address));
    struct peerlink_auth auth = auth_of(ps);
    int rc = peerlink_connect(ps->loop, (const struct sockaddr *)&addr, ps->client_ctx, holder->key,
                              &auth, ps->has_shaping ? &ps->shaping : NULL, &link_cb, p, &p->l);
    if (rc < 0) {
        clog_warn(ps->log, MOD, "cannot connect to %s: %d", p->address, rc);
        ps->nlinks--;
        peer_unlink(p);
        free(p);
        return rc;
    }
    return 0;
}

struct peer *peers_find(struct peers *ps, const uint8_t key[TLS_KEY_LEN])
{
    for (struct peer *p = ps->peers; p; p = p->next)
        if (p->up && !p->closing && memcmp(p->key, key, TLS_KEY_LEN) == 0)
            return p;
    return NULL;
}

void peers_ban(struct peers *ps, struct peer *p, const char *why)
{
    if (!p->key_known)
        return;
    if (!is_banned(ps, p->key)) {
        ps->banned = xrealloc(ps->banned, (ps->nbanned + 1) * sizeof(*ps->banned));
        memcpy(ps->banned[ps->nbanned++], p->key, TLS_KEY_LEN);
        ps->st.banned++;
    }
    char hex[2 * TLS_KEY_LEN + 1];
    tls_key_to_hex(p->key, hex);
    clog_warn(ps->log, MOD, "%s: banned key %s: %s", p->address, hex, why ? why : "bad data");
    close_link(p, "banned");
}

/* ---- the tick ---- */

static void on_tick(uv_timer_t *t)
{
    struct peers *ps = t->data;
    uint64_t now = now_ms(ps);
    for (struct peer *p = ps->peers; p; p = p->next) {
        if (p->closing || !p->up || !peerlink_conn(p->l))
            continue;
        if (p->serving && conn_send_stall_ms(peerlink_conn(p->l)) >= PEERS_STALL_MS) {
            close_link(p, "reads nothing of what it asked for");
            continue;
        }
        finish_draining(p); /* on_writable stops once the link has drained */
        /* rates: bytes of the last tick, smoothed over about four */
        uint64_t down = p->tick_down * 1000 / PEERS_TICK_MS, up = p->tick_up * 1000 / PEERS_TICK_MS;
        p->rate_down = p->rate_down ? (p->rate_down * 3 + down) / 4 : down;
        p->rate_up = p->rate_up ? (p->rate_up * 3 + up) / 4 : up;
        p->recent_pos = (p->recent_pos + 1) % RECENT_BUCKETS;
        p->recent[p->recent_pos] = p->tick_down + p->tick_up;
        p->tick_down = p->tick_up = 0;
        if (now - p->ping_sent_ms >= PEERS_PING_MS) {
            p->ping_rid = new_rid(p);
            p->ping_sent_ms = now;
            send_simple(p, WIRE_PING, p->ping_rid);
        }
    }
    expire_waiting(ps);
    assign_slots(ps);
    expire_queries(ps);
    trim(ps);
}

/* ---- the instance ---- */

static int start_listening(struct peers *ps, const char *text)
{
    struct sockaddr_storage addr;
    int rc = parse_listen(text, &addr);
    if (rc < 0) {
        clog_error(ps->log, MOD, "malformed listen address '%s'", text);
        return rc;
    }
    ps->listener = xmalloc(sizeof(*ps->listener));
    uv_tcp_init(ps->loop, ps->listener);
    ps->listener->data = ps;
    ps->handles++;
    int len = sizeof(addr);
    if ((rc = uv_tcp_bind(ps->listener, (struct sockaddr *)&addr, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)ps->listener, LISTEN_BACKLOG, on_connection)) < 0 ||
        (rc = uv_tcp_getsockname(ps->listener, (struct sockaddr *)&addr, &len)) < 0) {
        clog_error(ps->log, MOD, "cannot listen for peers on %s: %s", text, uv_strerror(rc));
        return PEERS_ELISTEN;
    }
    ps->port = ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port
                                               : ((struct sockaddr_in6 *)&addr)->sin6_port);
    conn_format_addr(&addr, ps->listen_address, sizeof(ps->listen_address));
    clog_info(ps->log, MOD, "listening for peers on %s", ps->listen_address);
    return 0;
}

/* The link cap and the soft limit the least useful are trimmed to: DESIGN
 * §5's 60 and 50 for the default, the same proportion for a lower cap. */
static void set_limits(struct peers *ps, unsigned max_conns)
{
    ps->max_conns = max_conns && max_conns < PEERS_MAX_CONNS ? max_conns : PEERS_MAX_CONNS;
    ps->soft_conns = ps->max_conns - ps->max_conns / 6;
}

int peers_new(const struct peers_config *cfg, struct peers **out)
{
    *out = NULL;
    struct peers *ps = xcalloc(1, sizeof(*ps));
    ps->loop = cfg->loop;
    ps->log = cfg->log;
    ps->cache = cfg->cache;
    ps->upload = cfg->upload;
    ps->corrupt = cfg->corrupt_uploads;
    set_limits(ps, cfg->max_conns);
    if (cfg->shaping) {
        ps->shaping = *cfg->shaping;
        ps->has_shaping = true;
    }
    ps->cb = cfg->cb;
    ps->ctx = cfg->ctx;
    tls_identity_public_key(cfg->identity, ps->self_key);
    int rc;
    if ((rc = tls_ctx_new(cfg->identity, true, &ps->server_ctx)) < 0 ||
        (rc = tls_ctx_new(cfg->identity, false, &ps->client_ctx)) < 0) {
        clog_error(ps->log, MOD, "cannot set up TLS: %s", tls_strerror(rc));
        ps->closing = true;
        maybe_finish(ps);
        return rc;
    }
    if (cfg->listen && strcmp(cfg->listen, "off") != 0 &&
        (rc = start_listening(ps, cfg->listen)) < 0) {
        ps->closing = true;
        if (ps->listener)
            uv_close((uv_handle_t *)ps->listener, handle_closed);
        ps->close_cb = NULL;
        /* freed when the listener's close completes, on the loop */
        maybe_finish(ps);
        return rc;
    }
    uv_timer_init(ps->loop, &ps->tick);
    ps->tick.data = ps;
    ps->handles++;
    uv_timer_start(&ps->tick, on_tick, PEERS_TICK_MS, PEERS_TICK_MS);
    *out = ps;
    return 0;
}

void peers_close(struct peers *ps, void (*cb)(void *arg), void *arg)
{
    if (!ps || ps->closing)
        return;
    ps->closing = true;
    ps->close_cb = cb;
    ps->close_arg = arg;
    for (struct peer *p = ps->peers; p; p = p->next) {
        mark_down(p);
        peerlink_close(p->l, 0);
    }
    if (ps->listener)
        uv_close((uv_handle_t *)ps->listener, handle_closed);
    ps->listener = NULL;
    uv_close((uv_handle_t *)&ps->tick, handle_closed);
}

const char *peers_listen_address(const struct peers *ps)
{
    return ps->listen_address;
}

uint16_t peers_listen_port(const struct peers *ps)
{
    return ps->port;
}

void peers_set_ticket(struct peers *ps, const uint8_t *ticket, size_t len,
                      const uint8_t service_key[TLS_KEY_LEN])
{
    free(ps->ticket);
    ps->ticket = NULL;
    ps->ticket_len = 0;
    if (ticket && len) {
        ps->ticket = xmalloc(len);
        memcpy(ps->ticket, ticket, len);
        ps->ticket_len = len;
    }
    if (service_key)
        memcpy(ps->service_key, service_key, TLS_KEY_LEN);
}

void peers_get_stats(const struct peers *ps, struct peers_stats *out)
{
    *out = ps->st;
    out->links = ps->nup;
    out->connecting = ps->nlinks - ps->nup;
    out->max_links = ps->max_conns;
    out->upload_waiting = ps->waiting;
}

size_t peers_conn_table(const struct peers *ps, struct mq_conn *rows, size_t max)
{
    struct peer **v = xmalloc((ps->nlinks + 1) * sizeof(*v));
    size_t n = 0;
    for (struct peer *p = ps->peers; p; p = p->next)
        if (!p->closing)
            v[n++] = p;
    qsort(v, n, sizeof(*v), utility_qsort);
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++) {
        const struct peer *p = v[i];
        struct mq_conn *r = &rows[i];
        memset(r, 0, sizeof(*r));
        snprintf(r->address, sizeof(r->address), "%s", p->address);
        r->inbound = p->inbound;
        snprintf(r->state, sizeof(r->state), "%s", p->up ? "up" : "handshake");
        r->rate_down = p->rate_down;
        r->rate_up = p->rate_up;
        r->bytes_down = p->bytes_down;
        r->bytes_up = p->bytes_up;
        r->requests_in_flight = in_flight(p);
        r->chunks_served = p->chunks_served;
        r->rtt_ms = p->rtt_ms;
    }
    free(v);
    return n;
}

/* ---- one link ---- */

uint32_t peer_get_chunks(struct peer *p, const uint8_t file_id[WIRE_ID_LEN], uint32_t first,
                         uint32_t count, uint8_t prio, uint32_t deadline_ms)
{
    if (p->closing || !p->up)
        return 0;
    struct wire_msg m = {.type = WIRE_GET_CHUNKS, .rid = new_rid(p)};
    memcpy(m.u.get_chunks.file_id, file_id, WIRE_ID_LEN);
    m.u.get_chunks.first = first;
    m.u.get_chunks.count = count;
    m.u.get_chunks.priority = prio;
    m.u.get_chunks.deadline_ms = deadline_ms;
    if (peerlink_send(p->l, &m, CONN_PRIO_CONTROL, 0) < 0)
        return 0;
    struct outreq *o = xmalloc(sizeof(*o));
    o->rid = m.rid;
    o->remaining = count;
    o->next = p->out;
    p->out = o;
    p->nout++;
    return m.rid;
}

void peer_cancel(struct peer *p, uint32_t rid)
{
    send_simple(p, WIRE_CANCEL, rid);
}

const uint8_t *peer_key(const struct peer *p)
{
    return p->key;
}

const char *peer_address(const struct peer *p)
{
    return p->address;
}

uint64_t peer_rate_down(const struct peer *p)
{
    return p->rate_down;
}

int32_t peer_rtt_ms(const struct peer *p)
{
    return p->rtt_ms;
}

void peer_set_data(struct peer *p, void *data)
{
    p->data = data;
}

void *peer_data(const struct peer *p)
{
    return p->data;
}
