/* svclink: the engine's service link (see core/svclink.h).
 *
 * Owns the svc_client while there is one, a getaddrinfo request, one
 * timer (the reconnect backoff, then the ticket renewal) and the list of
 * expected replies. Runs on the engine's loop; it must never block it
 * (names are resolved by uv_getaddrinfo) and never call the owner back
 * from inside svclink_close. */
#include "core/svclink.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"

#define MOD "service"

struct expect {
    struct expect *next;
    uint32_t rid;
    svclink_reply_fn fn;
    void *ctx;
};

struct svclink {
    uv_loop_t *loop;
    struct clog *log;
    const struct tls_identity *identity;
    char *address, *host, *pin_file, *user;
    uint16_t port;
    uint8_t service_key[TLS_KEY_LEN];
    bool has_key;
    uint8_t *credential;
    size_t credential_len;
    svclink_state_fn on_state;
    void *ctx;
    const struct conn_shaping *shaping;

    struct svc_client *client;
    uint32_t login_rid;
    enum mq_service_state state;
    int64_t since;
    uint64_t backoff_ms;
    uv_getaddrinfo_t gai;
    bool resolving;
    /* the resolved addresses, tried in turn until one answers */
    char addrs[SVCLINK_MAX_ADDRS][64];
    unsigned naddrs, next_addr;
    bool hello; /* the current client got as far as HELLO */
    uv_timer_t timer;
    struct expect *expects;
    bool closing;
    void (*close_cb)(void *arg);
    void *close_arg;
};

static void connect_now(struct svclink *l);
static void timer_closed(uv_handle_t *h);

static void set_state(struct svclink *l, enum mq_service_state st, const char *why)
{
    if (l->state == st)
        return;
    l->state = st;
    l->since = (int64_t)time(NULL);
    if (!l->closing && l->on_state)
        l->on_state(l->ctx, st, st == MQ_SERVICE_ONLINE ? l->client : NULL, why);
}

/* Every expected reply fails: the link they were asked on is gone. */
static void fail_expects(struct svclink *l)
{
    struct expect *e = l->expects;
    l->expects = NULL;
    while (e) {
        struct expect *next = e->next;
        e->fn(e->ctx, NULL);
        free(e);
        e = next;
    }
}

static void drop_client(struct svclink *l)
{
    if (!l->client)
        return;
    svc_client_set_state_fn(l->client, NULL, NULL);
    svc_client_set_handler(l->client, NULL, NULL);
    svc_client_close(l->client);
    l->client = NULL;
    l->login_rid = 0;
}

static void on_timer(uv_timer_t *t)
{
    struct svclink *l = t->data;
    if (l->state == MQ_SERVICE_ONLINE) {
        /* The ticket nears its end: log in again on a fresh link. */
        clog_info(l->log, MOD, "renewing the ticket: logging in again");
        set_state(l, MQ_SERVICE_CONNECTING, NULL);
        drop_client(l);
        fail_expects(l);
    }
    connect_now(l);
}

/* The link is down (or could not be made): try again after the backoff. */
static void retry_later(struct svclink *l, const char *why)
{
    set_state(l, MQ_SERVICE_OFFLINE, why);
    drop_client(l);
    fail_expects(l);
    if (l->closing)
        return;
    uint64_t wait = l->backoff_ms / 2 + (uint64_t)rand() % (l->backoff_ms / 2 + 1);
    clog_info(l->log, MOD, "%s; trying again in %.1f s", why ? why : "offline",
              (double)wait / 1000.0);
    uv_timer_start(&l->timer, on_timer, wait, 0);
    l->backoff_ms *= 2;
    if (l->backoff_ms > SVCLINK_BACKOFF_MAX_MS)
        l->backoff_ms = SVCLINK_BACKOFF_MAX_MS;
}

static bool take_expected(struct svclink *l, struct wire_msg *m)
{
    for (struct expect **pp = &l->expects; *pp; pp = &(*pp)->next) {
        struct expect *e = *pp;
        if (e->rid != m->rid)
            continue;
        *pp = e->next;
        e->fn(e->ctx, m);
        free(e);
        return true;
    }
    return false;
}

static void logged_in(struct svclink *l, const struct wire_msg *m)
{
    l->backoff_ms = SVCLINK_BACKOFF_FIRST_MS;
    uint64_t now = (uint64_t)time(NULL);
    uint64_t life = m->u.ticket.expires > now ? m->u.ticket.expires - now : 0;
    uint64_t renew_ms = life * 1000u * 4u / 5u;
    if (renew_ms < SVCLINK_BACKOFF_FIRST_MS)
        renew_ms = SVCLINK_BACKOFF_FIRST_MS;
    clog_info(l->log, MOD, "online at %s as %s; ticket renewed in %llu s", l->address, l->user,
              (unsigned long long)(renew_ms / 1000u));
    uv_timer_start(&l->timer, on_timer, renew_ms, 0);
    set_state(l, MQ_SERVICE_ONLINE, NULL);
}

static void on_message(struct svc_client *c, struct wire_msg *m, void *arg)
{
    struct svclink *l = arg;
    if (l->login_rid && m->rid == l->login_rid) {
        l->login_rid = 0;
        if (m->type == WIRE_TICKET) {
            logged_in(l, m);
        } else {
            clog_warn(l->log, MOD,
                      "the service refused this device's credential (%s): "
                      "run chorus login again",
                      m->type == WIRE_ERROR ? wire_error_name(m->u.error.code) : "?");
            retry_later(l, "the service refused the login: run chorus login");
        }
        return;
    }
    take_expected(l, m);
}

void svclink_on_other(struct svc_client *c, struct wire_msg *m, void *arg)
{
    on_message(c, m, arg);
}

static void try_next_address(struct svclink *l, const char *why);

static void on_client_state(struct svc_client *c, enum svc_client_state st, void *arg)
{
    struct svclink *l = arg;
    if (st == SVC_CLIENT_READY) {
        l->hello = true;
        l->login_rid = svc_client_login_device(c, l->user, l->credential, l->credential_len);
        if (!l->login_rid)
            retry_later(l, "the connection closed during the login");
        return;
    }
    int err = svc_client_error(c);
    char why[256];
    snprintf(why, sizeof(why), "lost the service at %s: %s", l->address,
             err ? svc_client_strerror(err) : "closed");
    if (!l->hello && l->next_addr < l->naddrs) {
        drop_client(l); /* that address did not answer: the name has others */
        try_next_address(l, why);
        return;
    }
    clog_warn(l->log, MOD, "%s", why);
    retry_later(l, why);
}

static void try_next_address(struct svclink *l, const char *why)
{
    if (l->next_addr >= l->naddrs) {
        retry_later(l, why);
        return;
    }
    struct svc_client_opts o = {
        .host = l->addrs[l->next_addr++],
        .port = l->port,
        .identity = l->identity,
        .service_key = l->has_key ? l->service_key : NULL,
        .pin_file = l->pin_file,
        .shaping = l->shaping,
    };
    l->hello = false;
    int rc = svc_client_new(l->loop, &o, &l->client);
    if (rc < 0) {
        l->client = NULL;
        try_next_address(l, svc_client_strerror(rc));
        return;
    }
    svc_client_set_handler(l->client, on_message, l);
    svc_client_set_state_fn(l->client, on_client_state, l);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct svclink *l = req->data;
    l->resolving = false;
    l->naddrs = l->next_addr = 0;
    for (struct addrinfo *ai = status == 0 ? res : NULL; ai && l->naddrs < SVCLINK_MAX_ADDRS;
         ai = ai->ai_next) {
        char *ip = l->addrs[l->naddrs];
        int rc = ai->ai_family == AF_INET6
                     ? uv_ip6_name((struct sockaddr_in6 *)ai->ai_addr, ip, sizeof(l->addrs[0]))
                 : ai->ai_family == AF_INET
                     ? uv_ip4_name((struct sockaddr_in *)ai->ai_addr, ip, sizeof(l->addrs[0]))
                     : -1;
        if (rc == 0)
            l->naddrs++;
    }
    uv_freeaddrinfo(res);
    if (l->closing) {
        uv_close((uv_handle_t *)&l->timer, timer_closed); /* svclink_close waited for this */
        return;
    }
    char why[256];
    snprintf(why, sizeof(why), "cannot resolve %s: %s", l->host,
             status ? uv_strerror(status) : "no address");
    try_next_address(l, why);
}

static void connect_now(struct svclink *l)
{
    if (l->closing || l->resolving || l->client)
        return;
    set_state(l, MQ_SERVICE_CONNECTING, NULL);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    l->gai.data = l;
    int rc = uv_getaddrinfo(l->loop, &l->gai, on_resolved, l->host, NULL, &hints);
    if (rc < 0) {
        retry_later(l, uv_strerror(rc));
        return;
    }
    l->resolving = true;
}

int svclink_new(const struct svclink_config *cfg, struct svclink **out)
{
    char *host = NULL;
    uint16_t port = 0;
    if (!cfg->address || svc_address_parse(cfg->address, &host, &port) < 0)
        return -1;
    struct svclink *l = xcalloc(1, sizeof(*l));
    l->loop = cfg->loop;
    l->log = cfg->log;
    l->identity = cfg->identity;
    l->address = xstrdup(cfg->address);
    l->host = host;
    l->port = port;
    l->pin_file = cfg->pin_file ? xstrdup(cfg->pin_file) : NULL;
    if (cfg->service_key) {
        memcpy(l->service_key, cfg->service_key, TLS_KEY_LEN);
        l->has_key = true;
    }
    l->on_state = cfg->on_state;
    l->ctx = cfg->ctx;
    l->shaping = cfg->shaping;
    l->backoff_ms = SVCLINK_BACKOFF_FIRST_MS;
    l->since = (int64_t)time(NULL);
    l->state = MQ_SERVICE_OFFLINE;
    uv_timer_init(l->loop, &l->timer);
    l->timer.data = l;
    if (cfg->user && cfg->credential && cfg->credential_len) {
        l->user = xstrdup(cfg->user);
        l->credential = xmalloc(cfg->credential_len);
        memcpy(l->credential, cfg->credential, cfg->credential_len);
        l->credential_len = cfg->credential_len;
        /* from the loop, never from inside this call */
        uv_timer_start(&l->timer, on_timer, 0, 0);
    } else {
        clog_info(l->log, MOD, "no login on this device: offline (run chorus login)");
    }
    *out = l;
    return 0;
}

static void timer_closed(uv_handle_t *h)
{
    struct svclink *l = h->data;
    void (*cb)(void *) = l->close_cb;
    void *arg = l->close_arg;
    free(l->address);
    free(l->host);
    free(l->pin_file);
    free(l->user);
    if (l->credential)
        memset(l->credential, 0, l->credential_len);
    free(l->credential);
    free(l);
    if (cb)
        cb(arg);
}

void svclink_close(struct svclink *l, void (*cb)(void *arg), void *arg)
{
    if (l->closing)
        return;
    l->closing = true;
    l->close_cb = cb;
    l->close_arg = arg;
    drop_client(l);
    fail_expects(l);
    if (l->resolving)
        uv_cancel((uv_req_t *)&l->gai); /* on_resolved still runs, and closes the timer */
    else
        uv_close((uv_handle_t *)&l->timer, timer_closed);
}

enum mq_service_state svclink_state(const struct svclink *l)
{
    return l->state;
}

int64_t svclink_since(const struct svclink *l)
{
    return l->since;
}

struct svc_client *svclink_client(const struct svclink *l)
{
    return l->state == MQ_SERVICE_ONLINE ? l->client : NULL;
}

void svclink_expect(struct svclink *l, uint32_t rid, svclink_reply_fn fn, void *ctx)
{
    if (!rid) {
        fn(ctx, NULL);
        return;
    }
    struct expect *e = xmalloc(sizeof(*e));
    *e = (struct expect){.next = l->expects, .rid = rid, .fn = fn, .ctx = ctx};
    l->expects = e;
}
