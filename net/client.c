/* client: a connection to chorusd from the client's side.
 *
 * Owns its conn, a TLS client context made from the caller's identity, a
 * timer for the blocking helpers, the ticket it holds and the inbox of
 * undelivered messages. Runs on the loop's thread. It must never accept a
 * service key other than the pinned one, and never free itself while its
 * conn or timer is still open (the handle count says when). */
#include "net/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "net/conn.h"

struct inbox {
    struct inbox *next;
    struct wire_msg m;
};

struct svc_client {
    uv_loop_t *loop;
    struct conn *conn; /* NULL once closed */
    uv_timer_t timer;
    struct tls_ctx *ctx;
    char *pin_file; /* trust on first contact: write the key here */
    bool pinned;    /* the key is fixed (given or read from pin_file) */
    uint8_t expect[TLS_KEY_LEN];
    uint8_t *ticket;
    size_t ticket_len;
    uint64_t ticket_expires;
    bool ready, authed, user_closed, timed_out;
    int error;
    uint16_t last_code;
    uint32_t next_rid;
    int handles; /* conn + timer */
    struct inbox *head, *tail;
    svc_client_handler fn;
    void *fn_arg;
    svc_client_state_fn state_fn;
    void *state_arg;
};

const char *svc_client_strerror(int err)
{
    switch (err) {
    case CLIENT_ETIMEOUT:
        return "the service did not answer in time";
    case CLIENT_ECLOSED:
        return "the connection to the service is closed";
    case CLIENT_EPIN:
        return "the service's key is not the pinned key (wrong server, or its key changed)";
    case CLIENT_EREFUSED:
        return "the service refused the request";
    case CLIENT_EINVAL:
        return "a client needs an identity and the service's key or a pin file";
    case CLIENT_EADDR:
        return "cannot resolve the service's address";
    default:
        return conn_strerror(err);
    }
}

/* ---- lifetime ---- */

static void inbox_clear(struct svc_client *c)
{
    while (c->head) {
        struct inbox *i = c->head;
        c->head = i->next;
        wire_msg_clear(&i->m);
        free(i);
    }
    c->tail = NULL;
}

static void maybe_free(struct svc_client *c)
{
    if (!c->user_closed || c->handles > 0)
        return;
    inbox_clear(c);
    tls_ctx_free(c->ctx);
    free(c->pin_file);
    free(c->ticket);
    free(c);
}

static void timer_closed(uv_handle_t *h)
{
    struct svc_client *c = h->data;
    c->handles--;
    maybe_free(c);
}

void svc_client_close(struct svc_client *c)
{
    if (c->user_closed)
        return;
    c->user_closed = true;
    if (c->conn)
        conn_close(c->conn, 0);
    uv_close((uv_handle_t *)&c->timer, timer_closed);
}

/* ---- connection callbacks ---- */

static int write_pin(const char *path, const uint8_t key[TLS_KEY_LEN])
{
    char line[2 * TLS_KEY_LEN + 2];
    tls_key_to_hex(key, line);
    line[2 * TLS_KEY_LEN] = '\n';
    line[2 * TLS_KEY_LEN + 1] = 0;
    return fs_write_atomic(path, line, 2 * TLS_KEY_LEN + 1, 0644);
}

static void on_established(struct conn *conn, void *arg)
{
    struct svc_client *c = arg;
    uint8_t key[TLS_KEY_LEN];
    if (c->pinned || !c->pin_file || !conn_peer_key(conn, key))
        return;
    int rc = write_pin(c->pin_file, key);
    if (rc < 0) {
        c->error = rc;
        conn_close(conn, rc);
        return;
    }
    memcpy(c->expect, key, TLS_KEY_LEN);
    c->pinned = true;
}

static void on_message(struct conn *conn, struct wire_msg *m, void *arg)
{
    struct svc_client *c = arg;
    switch (m->type) {
    case WIRE_HELLO:
        if (c->ready || m->u.hello.role != WIRE_ROLE_SERVICE ||
            m->u.hello.version != WIRE_VERSION) {
            conn_close(conn, CONN_EPROTO);
            return;
        }
        c->ready = true;
        c->authed = (m->u.hello.flags & WIRE_HELLO_AUTHENTICATED) != 0;
        if (c->state_fn)
            c->state_fn(c, SVC_CLIENT_READY, c->state_arg);
        return;
    case WIRE_TICKET:
        free(c->ticket);
        c->ticket = m->u.ticket.ticket;
        c->ticket_len = m->u.ticket.ticket_len;
        c->ticket_expires = m->u.ticket.expires;
        m->u.ticket.ticket = xmalloc(c->ticket_len ? c->ticket_len : 1); /* a copy to deliver */
        memcpy(m->u.ticket.ticket, c->ticket, c->ticket_len);
        c->authed = true;
        break;
    case WIRE_ERROR:
        c->last_code = m->u.error.code;
        break;
    default:
        break;
    }
    if (c->fn) {
        c->fn(c, m, c->fn_arg);
        return;
    }
    struct inbox *i = xmalloc(sizeof(*i));
    i->next = NULL;
    i->m = *m;
    memset(m, 0, sizeof(*m)); /* taken */
    if (c->tail)
        c->tail->next = i;
    else
        c->head = i;
    c->tail = i;
}

static void on_close(struct conn *conn, int err, void *arg)
{
    (void)conn;
    struct svc_client *c = arg;
    c->conn = NULL;
    if (!c->error)
        c->error = err == TLS_EPEERKEY && c->pinned ? CLIENT_EPIN : err;
    if (c->state_fn && !c->user_closed)
        c->state_fn(c, SVC_CLIENT_CLOSED, c->state_arg);
    c->handles--;
    maybe_free(c);
}

static const struct conn_callbacks callbacks = {
    .on_established = on_established,
    .on_message = on_message,
    .on_close = on_close,
};

/* ---- creation ---- */

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return CLIENT_EADDR;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    if (out->ss_family == AF_INET)
        ((struct sockaddr_in *)out)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)out)->sin6_port = htons(port);
    freeaddrinfo(res);
    return 0;
}

/* The key in a pin file: 0, -ENOENT when there is none yet, or an error
 * for a file that is not a key. */
static int read_pin(const char *path, uint8_t key[TLS_KEY_LEN])
{
    uint8_t *data;
    size_t len;
    int rc = fs_read_file(path, 1024, &data, &len);
    if (rc < 0)
        return rc;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = 0;
    rc = tls_key_from_hex((const char *)data, key) == 0 ? 0 : CLIENT_EPIN;
    free(data);
    return rc;
}

int svc_client_new(uv_loop_t *loop, const struct svc_client_opts *opts, struct svc_client **out)
{
    if (!opts->identity || !opts->host || (!opts->service_key && !opts->pin_file) ||
        (opts->ticket_len > WIRE_MAX_TICKET))
        return CLIENT_EINVAL;
    struct sockaddr_storage addr, from;
    int rc = resolve(opts->host, opts->port, &addr);
    if (rc < 0)
        return rc;
    if (opts->bind_addr && uv_ip4_addr(opts->bind_addr, 0, (struct sockaddr_in *)&from) != 0 &&
        uv_ip6_addr(opts->bind_addr, 0, (struct sockaddr_in6 *)&from) != 0)
        return CLIENT_EADDR;
    struct svc_client *c = xcalloc(1, sizeof(*c));
    if (opts->service_key) {
        memcpy(c->expect, opts->service_key, TLS_KEY_LEN);
        c->pinned = true;
    } else {
        rc = read_pin(opts->pin_file, c->expect);
        if (rc == 0)
            c->pinned = true;
        else if (rc != -ENOENT) {
            free(c);
            return rc;
        }
        c->pin_file = xstrdup(opts->pin_file);
    }
    if ((rc = tls_ctx_new(opts->identity, false, &c->ctx)) < 0) {
        free(c->pin_file);
        free(c);
        return rc;
    }
    c->loop = loop;
    c->next_rid = 1;
    if (opts->ticket_len) {
        c->ticket = xmalloc(opts->ticket_len);
        memcpy(c->ticket, opts->ticket, opts->ticket_len);
        c->ticket_len = opts->ticket_len;
    }
    rc = conn_connect_from(loop, opts->bind_addr ? (const struct sockaddr *)&from : NULL,
                           (const struct sockaddr *)&addr, c->ctx, c->pinned ? c->expect : NULL,
                           &callbacks, c, &c->conn);
    if (rc == 0 && opts->shaping)
        conn_set_shaping(c->conn, opts->shaping);
    if (rc < 0) {
        tls_ctx_free(c->ctx);
        free(c->pin_file);
        free(c->ticket);
        free(c);
        return rc;
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;

    struct wire_msg hello = {.type = WIRE_HELLO};
    hello.u.hello.version = WIRE_VERSION;
    hello.u.hello.role = opts->role ? opts->role : WIRE_ROLE_CLIENT;
    hello.u.hello.ticket = c->ticket;
    hello.u.hello.ticket_len = c->ticket_len;
    conn_send(c->conn, &hello, CONN_PRIO_CONTROL, 0);
    *out = c;
    return 0;
}

void svc_client_set_handler(struct svc_client *c, svc_client_handler fn, void *arg)
{
    c->fn = fn;
    c->fn_arg = arg;
}

void svc_client_set_state_fn(struct svc_client *c, svc_client_state_fn fn, void *arg)
{
    c->state_fn = fn;
    c->state_arg = arg;
}

bool svc_client_ready(const struct svc_client *c)
{
    return c->ready && c->conn;
}

bool svc_client_authenticated(const struct svc_client *c)
{
    return c->authed && c->conn;
}

int svc_client_error(const struct svc_client *c)
{
    return c->error;
}

uint16_t svc_client_last_error_code(const struct svc_client *c)
{
    return c->last_code;
}

bool svc_client_service_key(const struct svc_client *c, uint8_t out[TLS_KEY_LEN])
{
    return c->conn && conn_peer_key(c->conn, out);
}

const uint8_t *svc_client_ticket(const struct svc_client *c, size_t *len, uint64_t *expires)
{
    if (len)
        *len = c->ticket_len;
    if (expires)
        *expires = c->ticket_expires;
    return c->ticket;
}

/* ---- requests ---- */

uint32_t svc_client_send(struct svc_client *c, struct wire_msg *m)
{
    if (!c->conn || c->user_closed)
        return 0;
    if (m->rid == 0) {
        m->rid = c->next_rid++;
        if (c->next_rid == 0)
            c->next_rid = 1;
    }
    return conn_send(c->conn, m, CONN_PRIO_CONTROL, 0) == 0 ? m->rid : 0;
}

int svc_client_send_raw(struct svc_client *c, const uint8_t *bytes, size_t len)
{
    if (!c->conn || c->user_closed)
        return CLIENT_ECLOSED;
    uint8_t *copy = xmalloc(len ? len : 1);
    memcpy(copy, bytes, len);
    return conn_send_frame(c->conn, copy, len, CONN_PRIO_CONTROL, 0);
}

uint32_t svc_client_login(struct svc_client *c, const char *user, const char *password)
{
    struct wire_msg m = {.type = WIRE_LOGIN};
    m.u.login.user = (char *)user;
    m.u.login.password = (char *)password;
    return svc_client_send(c, &m);
}

uint32_t svc_client_get_device(struct svc_client *c, const char *label)
{
    struct wire_msg m = {.type = WIRE_GET_DEVICE};
    m.u.device.label = (char *)label;
    return svc_client_send(c, &m);
}

uint32_t svc_client_login_device(struct svc_client *c, const char *user, const uint8_t *cred,
                                 size_t len)
{
    struct wire_msg m = {.type = WIRE_LOGIN_DEVICE};
    m.u.device.user = (char *)user;
    m.u.device.cred = (uint8_t *)cred;
    m.u.device.cred_len = len;
    return svc_client_send(c, &m);
}

uint32_t svc_client_revoke_device(struct svc_client *c, const uint8_t *cred, size_t len)
{
    struct wire_msg m = {.type = WIRE_REVOKE_DEVICE};
    m.u.device.cred = (uint8_t *)cred;
    m.u.device.cred_len = len;
    return svc_client_send(c, &m);
}

uint32_t svc_client_browse(struct svc_client *c, uint8_t kind, uint64_t parent, uint32_t offset,
                           uint32_t limit)
{
    struct wire_msg m = {.type = WIRE_BROWSE};
    m.u.browse.kind = kind;
    m.u.browse.parent = parent;
    m.u.browse.offset = offset;
    m.u.browse.limit = limit;
    return svc_client_send(c, &m);
}

uint32_t svc_client_search(struct svc_client *c, const char *query, uint32_t limit)
{
    struct wire_msg m = {.type = WIRE_SEARCH};
    m.u.search.query = (char *)query;
    m.u.search.limit = limit;
    return svc_client_send(c, &m);
}

static uint32_t send_file_request(struct svc_client *c, uint8_t type,
                                  const uint8_t file_id[WIRE_ID_LEN])
{
    struct wire_msg m = {.type = type};
    memcpy(m.u.file.file_id, file_id, WIRE_ID_LEN);
    return svc_client_send(c, &m);
}

uint32_t svc_client_get_manifest(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN])
{
    return send_file_request(c, WIRE_GET_MANIFEST, file_id);
}

uint32_t svc_client_get_key(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN])
{
    return send_file_request(c, WIRE_GET_KEY, file_id);
}

uint32_t svc_client_lookup(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN])
{
    return send_file_request(c, WIRE_LOOKUP, file_id);
}

uint32_t svc_client_get_chunks(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN],
                               uint32_t first, uint32_t count, uint8_t priority,
                               uint32_t deadline_ms)
{
    struct wire_msg m = {.type = WIRE_GET_CHUNKS};
    memcpy(m.u.get_chunks.file_id, file_id, WIRE_ID_LEN);
    m.u.get_chunks.first = first;
    m.u.get_chunks.count = count;
    m.u.get_chunks.priority = priority;
    m.u.get_chunks.deadline_ms = deadline_ms;
    return svc_client_send(c, &m);
}

uint32_t svc_client_cancel(struct svc_client *c, uint32_t rid)
{
    struct wire_msg m = {.type = WIRE_CANCEL, .rid = rid};
    return svc_client_send(c, &m);
}

uint32_t svc_client_announce(struct svc_client *c, uint16_t port,
                             const uint8_t (*file_ids)[WIRE_ID_LEN], uint32_t count, bool withdraw)
{
    struct wire_msg m = {.type = WIRE_ANNOUNCE};
    m.u.announce.port = port;
    m.u.announce.withdraw = withdraw;
    m.u.announce.count = count;
    m.u.announce.file_ids = (uint8_t(*)[WIRE_ID_LEN])file_ids;
    return svc_client_send(c, &m);
}

uint32_t svc_client_ping(struct svc_client *c)
{
    struct wire_msg m = {.type = WIRE_PING};
    return svc_client_send(c, &m);
}

/* ---- blocking helpers ---- */

static void timeout_cb(uv_timer_t *t)
{
    struct svc_client *c = t->data;
    c->timed_out = true;
}

/* Runs the loop until done(c, ctx) holds, the connection closes or the
 * timeout passes. Returns 0, CLIENT_ECLOSED or CLIENT_ETIMEOUT. */
static int run_until(struct svc_client *c, bool (*done)(struct svc_client *c, void *ctx), void *ctx,
                     uint64_t timeout_ms)
{
    if (done(c, ctx))
        return 0;
    c->timed_out = false;
    uv_timer_start(&c->timer, timeout_cb, timeout_ms, 0);
    int rc = 0;
    for (;;) {
        if (done(c, ctx))
            break;
        if (!c->conn) {
            rc = CLIENT_ECLOSED;
            break;
        }
        if (c->timed_out) {
            rc = CLIENT_ETIMEOUT;
            break;
        }
        uv_run(c->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&c->timer);
    return rc;
}

static bool is_ready(struct svc_client *c, void *ctx)
{
    (void)ctx;
    return c->ready;
}

int svc_client_wait_ready(struct svc_client *c, uint64_t timeout_ms)
{
    int rc = run_until(c, is_ready, NULL, timeout_ms);
    if (rc == CLIENT_ECLOSED && c->error == CLIENT_EPIN)
        return CLIENT_EPIN;
    return rc;
}

struct find {
    bool any;
    uint32_t rid;
};

static bool has_msg(struct svc_client *c, void *ctx)
{
    struct find *f = ctx;
    for (struct inbox *i = c->head; i; i = i->next)
        if (f->any || i->m.rid == f->rid)
            return true;
    return false;
}

static int take(struct svc_client *c, struct find *f, struct wire_msg *out, uint64_t timeout_ms)
{
    int rc = run_until(c, has_msg, f, timeout_ms);
    if (rc < 0 && !has_msg(c, f))
        return rc;
    struct inbox **pp = &c->head, *prev = NULL;
    while (*pp && !(f->any || (*pp)->m.rid == f->rid)) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    struct inbox *i = *pp;
    *pp = i->next;
    if (c->tail == i)
        c->tail = prev;
    *out = i->m;
    free(i);
    return 0;
}

int svc_client_wait(struct svc_client *c, uint32_t rid, struct wire_msg *out, uint64_t timeout_ms)
{
    struct find f = {.any = false, .rid = rid};
    return take(c, &f, out, timeout_ms);
}

int svc_client_next(struct svc_client *c, struct wire_msg *out, uint64_t timeout_ms)
{
    struct find f = {.any = true};
    return take(c, &f, out, timeout_ms);
}

static bool never(struct svc_client *c, void *ctx)
{
    (void)c;
    (void)ctx;
    return false;
}

void svc_client_run_for(struct svc_client *c, uint64_t ms)
{
    run_until(c, never, NULL, ms);
}

/* Waits for the reply to rid (0: the request could not be sent): 0 when
 * it is of type want (then in *out, the caller's), CLIENT_EREFUSED for
 * anything else, CLIENT_ECLOSED or CLIENT_ETIMEOUT. */
static int wait_reply(struct svc_client *c, uint32_t rid, uint8_t want, struct wire_msg *out,
                      uint64_t timeout_ms)
{
    if (!rid)
        return CLIENT_ECLOSED;
    int rc = svc_client_wait(c, rid, out, timeout_ms);
    if (rc < 0)
        return rc;
    if (out->type != want) {
        wire_msg_clear(out);
        return CLIENT_EREFUSED;
    }
    return 0;
}

/* The TICKET itself is kept by on_message: nothing more to take. */
static int wait_ticket(struct svc_client *c, uint32_t rid, uint64_t timeout_ms)
{
    struct wire_msg m;
    int rc = wait_reply(c, rid, WIRE_TICKET, &m, timeout_ms);
    if (rc == 0)
        wire_msg_clear(&m);
    return rc;
}

int svc_client_login_sync(struct svc_client *c, const char *user, const char *password,
                          uint64_t timeout_ms)
{
    return wait_ticket(c, svc_client_login(c, user, password), timeout_ms);
}

int svc_client_login_device_sync(struct svc_client *c, const char *user, const uint8_t *cred,
                                 size_t len, uint64_t timeout_ms)
{
    return wait_ticket(c, svc_client_login_device(c, user, cred, len), timeout_ms);
}

int svc_client_get_device_sync(struct svc_client *c, const char *label, uint8_t **cred, size_t *len,
                               uint64_t *issued, uint64_t timeout_ms)
{
    struct wire_msg m;
    int rc = wait_reply(c, svc_client_get_device(c, label), WIRE_DEVICE, &m, timeout_ms);
    if (rc < 0)
        return rc;
    *cred = m.u.device.cred;
    *len = m.u.device.cred_len;
    if (issued)
        *issued = m.u.device.issued;
    m.u.device.cred = NULL; /* taken */
    wire_msg_clear(&m);
    return 0;
}

int svc_address_parse(const char *text, char **host, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    const char *h = text;
    size_t hlen = strlen(text);
    long p = SVC_CLIENT_DEFAULT_PORT;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || (close[1] != 0 && close[1] != ':'))
            return -1;
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else if (colon && strchr(text, ':') != colon) {
        colon = NULL; /* a bare IPv6 address */
    } else if (colon) {
        hlen = (size_t)(colon - text);
    }
    if (colon) {
        char *end;
        errno = 0;
        p = strtol(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || p < 1 || p > 65535)
            return -1;
    }
    if (hlen == 0)
        return -1;
    *host = xstrndup(h, hlen);
    *port = (uint16_t)p;
    return 0;
}
