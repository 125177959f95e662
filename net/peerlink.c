/* peerlink: a conn on which two peers first show each other their tickets.
 *
 * Owns its conn and one timer (the HELLO deadline, then the other side's
 * ticket expiry). Runs on the loop's thread only. It must never hand a
 * message to its owner before the other side's ticket has passed every
 * check against the key of the TLS certificate in front of it, never take
 * a type a peer may not send, and never call a callback after on_close.
 * The struct is freed after both the conn's on_close and the timer's close
 * callback have run; the owner's on_close comes from the latter. */
#include "net/peerlink.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"
#include "net/ticket.h"

struct peerlink {
    struct conn *conn; /* NULL once its on_close ran */
    uv_timer_t timer;
    struct peerlink_callbacks cb;
    void *arg;
    uint8_t service_key[TLS_KEY_LEN];
    uint8_t *ticket; /* ours */
    size_t ticket_len;
    uint16_t listen_port; /* ours */
    bool inbound;
    bool up;
    bool closing;
    int close_err;
    uint64_t skipped; /* conn_skipped_frames, kept once the conn is gone */
    struct peerlink_info info;
};

const char *peerlink_strerror(int err)
{
    switch (err) {
    case PEERLINK_ETICKET:
        return "peer's ticket missing, malformed, forged or not its key";
    case PEERLINK_EEXPIRED:
        return "peer's ticket expired";
    case PEERLINK_EHELLO:
        return "peer broke the handshake (no HELLO, wrong role or out of order)";
    case PEERLINK_EVERSION:
        return "peer's protocol version lacks this message type";
    case PEERLINK_EREFUSED:
        return "peer refused our ticket";
    default:
        return "unknown peer link error";
    }
}

/* ---- closing ---- */

static void timer_closed(uv_handle_t *h)
{
    struct peerlink *l = h->data;
    l->cb.on_close(l, l->close_err, l->arg);
    free(l->ticket);
    free(l);
}

static void link_closed(struct conn *c, int err, void *arg)
{
    (void)c;
    struct peerlink *l = arg;
    l->skipped = conn_skipped_frames(l->conn);
    l->conn = NULL;
    l->closing = true;
    l->up = false;
    l->close_err = err;
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, timer_closed);
}

void peerlink_close(struct peerlink *l, int err)
{
    if (l->closing || !l->conn)
        return;
    l->closing = true;
    conn_close(l->conn, err);
}

/* Tells the other side why (ERROR, rid 0) and closes with err once that
 * has left. */
static void refuse(struct peerlink *l, uint16_t code, const char *why, int err)
{
    if (l->closing)
        return;
    l->closing = true;
    struct wire_msg m = {.type = WIRE_ERROR, .rid = 0};
    m.u.error.code = code;
    m.u.error.message = (char *)why;
    conn_send(l->conn, &m, CONN_PRIO_CONTROL, 0);
    conn_close_after_flush(l->conn, err);
}

/* ---- handshake ---- */

static void hello_timeout(uv_timer_t *t)
{
    struct peerlink *l = t->data;
    if (!l->up)
        refuse(l, WIRE_ERR_PROTOCOL, "no HELLO", PEERLINK_EHELLO);
}

static void ticket_expired(uv_timer_t *t)
{
    struct peerlink *l = t->data;
    refuse(l, WIRE_ERR_TICKET_EXPIRED, "ticket expired", PEERLINK_EEXPIRED);
}

static void link_established(struct conn *c, void *arg)
{
    struct peerlink *l = arg;
    struct wire_msg m = {.type = WIRE_HELLO};
    m.u.hello.version = WIRE_VERSION;
    m.u.hello.role = WIRE_ROLE_PEER;
    m.u.hello.ticket = l->ticket;
    m.u.hello.ticket_len = l->ticket_len;
    m.u.hello.listen_port = l->listen_port;
    conn_send(c, &m, CONN_PRIO_CONTROL, 0);
    uv_timer_start(&l->timer, hello_timeout, PEERLINK_HELLO_MS, 0);
}

/* The other side's HELLO: its ticket, bound to its certificate's key. */
static void take_hello(struct peerlink *l, const struct wire_msg *m)
{
    if (m->u.hello.role != WIRE_ROLE_PEER || m->u.hello.version == 0) {
        refuse(l, WIRE_ERR_PROTOCOL, "HELLO of another role than peer", PEERLINK_EHELLO);
        return;
    }
    uint8_t cert_key[TLS_KEY_LEN];
    if (!conn_peer_key(l->conn, cert_key)) { /* cannot happen once TLS is up */
        refuse(l, WIRE_ERR_TICKET, "no certificate key", PEERLINK_ETICKET);
        return;
    }
    uint64_t now = (uint64_t)time(NULL);
    struct ticket t;
    int rc = m->u.hello.ticket_len == 0
                 ? TICKET_EFORMAT
                 : ticket_verify(m->u.hello.ticket, m->u.hello.ticket_len, l->service_key, cert_key,
                                 now, PEERLINK_SKEW_S, &t);
    if (rc == TICKET_EEXPIRED) {
        refuse(l, WIRE_ERR_TICKET_EXPIRED, ticket_strerror(rc), PEERLINK_EEXPIRED);
        return;
    }
    if (rc < 0) {
        refuse(l, WIRE_ERR_TICKET, m->u.hello.ticket_len ? ticket_strerror(rc) : "no ticket",
               PEERLINK_ETICKET);
        return;
    }

    struct peerlink_info *in = &l->info;
    memcpy(in->key, t.key, TLS_KEY_LEN);
    memcpy(in->user, t.user, sizeof(in->user));
    in->ticket_expires = t.expires;
    in->version = m->u.hello.version;
    in->listen_port = m->u.hello.listen_port;
    in->inbound = l->inbound;
    conn_peer_addr(l->conn, &in->addr);
    /* a newer peer may send types we do not know: skipped, not fatal */
    if (in->version > WIRE_VERSION)
        conn_set_skip_unknown(l->conn, true);

    /* closed when its ticket runs out (it may come back with a new one);
     * a far expiry is capped (a timer in ms must not overflow) */
    uint64_t left = t.expires + PEERLINK_SKEW_S > now ? t.expires + PEERLINK_SKEW_S - now : 0;
    if (left > 10u * 365 * 24 * 3600)
        left = 10u * 365 * 24 * 3600;
    uv_timer_start(&l->timer, ticket_expired, left * 1000, 0);

    l->up = true;
    l->cb.on_up(l, in, l->arg);
}

static void link_message(struct conn *c, struct wire_msg *m, void *arg)
{
    (void)c;
    struct peerlink *l = arg;
    if (l->closing)
        return;
    /* the other side refused our ticket: nothing more will come */
    if (m->type == WIRE_ERROR && m->rid == 0 &&
        (m->u.error.code == WIRE_ERR_TICKET || m->u.error.code == WIRE_ERR_TICKET_EXPIRED)) {
        l->closing = true;
        conn_close(l->conn, PEERLINK_EREFUSED);
        return;
    }
    if (m->type == WIRE_HELLO) {
        if (l->up)
            refuse(l, WIRE_ERR_PROTOCOL, "a second HELLO", PEERLINK_EHELLO);
        else
            take_hello(l, m);
        return;
    }
    if (!l->up) {
        refuse(l, WIRE_ERR_PROTOCOL, "HELLO first", PEERLINK_EHELLO);
        return;
    }
    if (!wire_peer_type(m->type)) {
        refuse(l, WIRE_ERR_PROTOCOL, "a type peers do not send", CONN_EPROTO);
        return;
    }
    l->cb.on_message(l, m, l->arg);
}

static void link_writable(struct conn *c, void *arg)
{
    (void)c;
    struct peerlink *l = arg;
    if (l->up && !l->closing && l->cb.on_writable)
        l->cb.on_writable(l, l->arg);
}

static const struct conn_callbacks link_callbacks = {
    .on_established = link_established,
    .on_message = link_message,
    .on_writable = link_writable,
    .on_close = link_closed,
};

/* ---- creation ---- */

static struct peerlink *link_alloc(const struct peerlink_auth *auth,
                                   const struct peerlink_callbacks *cb, void *arg, bool inbound)
{
    struct peerlink *l = xcalloc(1, sizeof(*l));
    l->cb = *cb;
    l->arg = arg;
    l->inbound = inbound;
    memcpy(l->service_key, auth->service_key, TLS_KEY_LEN);
    if (auth->ticket_len) {
        l->ticket = xmalloc(auth->ticket_len);
        memcpy(l->ticket, auth->ticket, auth->ticket_len);
        l->ticket_len = auth->ticket_len;
    }
    l->listen_port = auth->listen_port;
    return l;
}

/* The last step of both ways in: limits on the new conn, the timer. */
static int link_start(struct peerlink *l, uv_loop_t *loop, int rc,
                      const struct conn_shaping *shaping, struct peerlink **out)
{
    if (rc < 0) { /* no conn, no callback */
        free(l->ticket);
        free(l);
        return rc;
    }
    conn_set_max_body(l->conn, wire_peer_max_body());
    if (shaping)
        conn_set_shaping(l->conn, shaping);
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    *out = l;
    return 0;
}

int peerlink_accept(uv_stream_t *server, struct tls_ctx *server_ctx,
                    const struct peerlink_auth *auth, const struct conn_shaping *shaping,
                    const struct peerlink_callbacks *cb, void *arg, struct peerlink **out)
{
    struct peerlink *l = link_alloc(auth, cb, arg, true);
    int rc = conn_accept(server, server_ctx, &link_callbacks, l, &l->conn);
    return link_start(l, server->loop, rc, shaping, out);
}

int peerlink_connect(uv_loop_t *loop, const struct sockaddr *addr, struct tls_ctx *client_ctx,
                     const uint8_t *expect_key, const struct peerlink_auth *auth,
                     const struct conn_shaping *shaping, const struct peerlink_callbacks *cb,
                     void *arg, struct peerlink **out)
{
    struct peerlink *l = link_alloc(auth, cb, arg, false);
    int rc = conn_connect(loop, addr, client_ctx, expect_key, &link_callbacks, l, &l->conn);
    return link_start(l, loop, rc, shaping, out);
}

/* ---- use ---- */

int peerlink_send(struct peerlink *l, const struct wire_msg *m, uint64_t prio, uint32_t tag)
{
    if (!l->up || l->closing || !l->conn)
        return CONN_ECLOSED;
    uint16_t v = wire_type_version(m->type);
    if (v == 0 || v > l->info.version)
        return PEERLINK_EVERSION;
    return conn_send(l->conn, m, prio, tag);
}

size_t peerlink_cancel(struct peerlink *l, uint32_t tag)
{
    return l->conn ? conn_cancel(l->conn, tag) : 0;
}

bool peerlink_is_up(const struct peerlink *l)
{
    return l->up && !l->closing;
}

const struct peerlink_info *peerlink_info(const struct peerlink *l)
{
    return &l->info;
}

struct conn *peerlink_conn(struct peerlink *l)
{
    return l->conn;
}

uint64_t peerlink_skipped(const struct peerlink *l)
{
    return l->conn ? conn_skipped_frames(l->conn) : l->skipped;
}
