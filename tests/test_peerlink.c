/* test_peerlink: peer links over real TLS on loopback — the handshake both
 * ways, every ticket refusal (forged, expired, stolen, missing), the skew
 * allowance, HELLO order, the peer-type filter, the body cap and version
 * gating. */
#include "testutil.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "net/peerlink.h"
#include "net/ticket.h"

#define SERVER_PORT 4242 /* what the accepting side announces */
#define CLIENT_PORT 5151

/* One end: a peer link, or (raw) a bare conn that speaks for itself. */
struct side {
    struct peerlink *link;
    struct conn *conn; /* raw */
    struct peerlink_info info;
    int up, closed, close_err;
    struct wire_msg got[8];
    int ngot;
};

struct net {
    uv_loop_t loop;
    uv_tcp_t listener;
    int port;
    struct tls_identity *service, *other_service, *sid, *cid, *third;
    uint8_t service_key[TLS_KEY_LEN], skey[TLS_KEY_LEN], ckey[TLS_KEY_LEN], third_key[TLS_KEY_LEN];
    struct tls_ctx *sctx, *cctx;
    uint8_t *sticket, *cticket;
    size_t sticket_len, cticket_len;
    struct side server, client;
};

static void on_up(struct peerlink *l, const struct peerlink_info *info, void *arg)
{
    struct side *s = arg;
    assert_ptr_equal(l, s->link);
    assert_true(peerlink_is_up(l));
    s->info = *info;
    s->up++;
}

static void take(struct side *s, struct wire_msg *m)
{
    assert_true(s->ngot < 8);
    s->got[s->ngot++] = *m;
    memset(m, 0, sizeof(*m)); /* taken */
}

static void on_message(struct peerlink *l, struct wire_msg *m, void *arg)
{
    (void)l;
    take(arg, m);
}

static void on_close(struct peerlink *l, int err, void *arg)
{
    struct side *s = arg;
    assert_ptr_equal(l, s->link);
    s->closed++;
    s->close_err = err;
    s->link = NULL;
}

static const struct peerlink_callbacks callbacks = {
    .on_up = on_up,
    .on_message = on_message,
    .on_close = on_close,
};

static void raw_message(struct conn *c, struct wire_msg *m, void *arg)
{
    (void)c;
    take(arg, m);
}

static void raw_close(struct conn *c, int err, void *arg)
{
    (void)c;
    struct side *s = arg;
    s->closed++;
    s->close_err = err;
    s->conn = NULL;
}

static const struct conn_callbacks raw_callbacks = {
    .on_message = raw_message,
    .on_close = raw_close,
};

static uint8_t *make_ticket(const struct tls_identity *signer, const uint8_t key[TLS_KEY_LEN],
                            int64_t issued_ago, int64_t expires_in, size_t *len)
{
    uint64_t now = (uint64_t)time(NULL);
    struct ticket t = {.issued = now - (uint64_t)issued_ago,
                       .expires = (uint64_t)((int64_t)now + expires_in)};
    snprintf(t.user, sizeof(t.user), "carol");
    memcpy(t.key, key, TLS_KEY_LEN);
    uint8_t *buf;
    assert_int_equal(ticket_sign(signer, &t, &buf, len), 0);
    return buf;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct net *n = server->data;
    assert_int_equal(status, 0);
    assert_null(n->server.link);
    struct peerlink_auth auth = {.service_key = n->service_key,
                                 .ticket = n->sticket,
                                 .ticket_len = n->sticket_len,
                                 .listen_port = SERVER_PORT};
    assert_int_equal(
        peerlink_accept(server, n->sctx, &auth, NULL, &callbacks, &n->server, &n->server.link), 0);
}

static int setup(void **state)
{
    struct net *n = xcalloc(1, sizeof(*n));
    assert_int_equal(uv_loop_init(&n->loop), 0);
    assert_int_equal(tls_identity_generate(&n->service), 0);
    assert_int_equal(tls_identity_generate(&n->other_service), 0);
    assert_int_equal(tls_identity_generate(&n->sid), 0);
    assert_int_equal(tls_identity_generate(&n->cid), 0);
    assert_int_equal(tls_identity_generate(&n->third), 0);
    tls_identity_public_key(n->service, n->service_key);
    tls_identity_public_key(n->sid, n->skey);
    tls_identity_public_key(n->cid, n->ckey);
    tls_identity_public_key(n->third, n->third_key);
    assert_int_equal(tls_ctx_new(n->sid, true, &n->sctx), 0);
    assert_int_equal(tls_ctx_new(n->cid, false, &n->cctx), 0);
    n->sticket = make_ticket(n->service, n->skey, 60, 3600, &n->sticket_len);
    n->cticket = make_ticket(n->service, n->ckey, 60, 3600, &n->cticket_len);
    uv_tcp_init(&n->loop, &n->listener);
    n->listener.data = n;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&n->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&n->listener, 16, on_connection), 0);
    int len = sizeof(a);
    uv_tcp_getsockname(&n->listener, (struct sockaddr *)&a, &len);
    n->port = ntohs(a.sin_port);
    *state = n;
    return 0;
}

static void clear_side(struct side *s)
{
    for (int i = 0; i < s->ngot; i++)
        wire_msg_clear(&s->got[i]);
    memset(s, 0, sizeof(*s));
}

/* Runs the loop until cond holds (a hang guard, not a timing check). */
#define RUN_UNTIL(n, cond)                                                                         \
    do {                                                                                           \
        uint64_t t0_ = testutil_now_ns();                                                          \
        while (!(cond)) {                                                                          \
            uv_run(&(n)->loop, UV_RUN_NOWAIT);                                                     \
            if (!(cond))                                                                           \
                usleep(200);                                                                       \
            if (testutil_now_ns() - t0_ > 60000000000ull)                                          \
                fail_msg("hung waiting for %s", #cond);                                            \
        }                                                                                          \
    } while (0)

/* Closes what is still open and forgets both sides. */
static void reset(struct net *n)
{
    if (n->client.link)
        peerlink_close(n->client.link, 0);
    if (n->server.link)
        peerlink_close(n->server.link, 0);
    if (n->client.conn)
        conn_close(n->client.conn, 0);
    RUN_UNTIL(n, !n->client.link && !n->server.link && !n->client.conn);
    clear_side(&n->client);
    clear_side(&n->server);
}

static int teardown(void **state)
{
    struct net *n = *state;
    reset(n);
    uv_close((uv_handle_t *)&n->listener, NULL);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&n->loop), 0);
    tls_ctx_free(n->sctx);
    tls_ctx_free(n->cctx);
    tls_identity_free(n->service);
    tls_identity_free(n->other_service);
    tls_identity_free(n->sid);
    tls_identity_free(n->cid);
    tls_identity_free(n->third);
    free(n->sticket);
    free(n->cticket);
    free(n);
    return 0;
}

static void server_addr(const struct net *n, struct sockaddr_in *a)
{
    uv_ip4_addr("127.0.0.1", n->port, a);
}

/* The client side as a peer link showing ticket (NULL: none). */
static void connect_link(struct net *n, const uint8_t *ticket, size_t len)
{
    struct sockaddr_in a;
    server_addr(n, &a);
    struct peerlink_auth auth = {.service_key = n->service_key,
                                 .ticket = ticket,
                                 .ticket_len = ticket ? len : 0,
                                 .listen_port = CLIENT_PORT};
    assert_int_equal(peerlink_connect(&n->loop, (struct sockaddr *)&a, n->cctx, n->skey, &auth,
                                      NULL, &callbacks, &n->client, &n->client.link),
                     0);
}

/* The client side as a bare conn; it sends first (NULL: nothing). */
static void connect_raw(struct net *n, const struct wire_msg *first)
{
    struct sockaddr_in a;
    server_addr(n, &a);
    assert_int_equal(conn_connect(&n->loop, (struct sockaddr *)&a, n->cctx, n->skey, &raw_callbacks,
                                  &n->client, &n->client.conn),
                     0);
    if (first)
        assert_int_equal(conn_send(n->client.conn, first, CONN_PRIO_CONTROL, 0), 0);
}

static struct wire_msg peer_hello(const struct net *n, uint16_t version)
{
    struct wire_msg m = {.type = WIRE_HELLO};
    m.u.hello.version = version;
    m.u.hello.role = WIRE_ROLE_PEER;
    m.u.hello.ticket = n->cticket;
    m.u.hello.ticket_len = n->cticket_len;
    m.u.hello.listen_port = CLIENT_PORT;
    return m;
}

/* Both ends up with what the handshake established. */
static void link_up(struct net *n)
{
    connect_link(n, n->cticket, n->cticket_len);
    RUN_UNTIL(n, n->client.up && n->server.up);
}

static void test_handshake(void **state)
{
    struct net *n = *state;
    link_up(n);
    uint64_t now = (uint64_t)time(NULL);

    const struct peerlink_info *si = &n->server.info, *ci = &n->client.info;
    assert_string_equal(si->user, "carol");
    assert_memory_equal(si->key, n->ckey, TLS_KEY_LEN);
    assert_int_equal(si->listen_port, CLIENT_PORT);
    assert_int_equal(si->version, WIRE_VERSION);
    assert_true(si->inbound);
    assert_true(si->ticket_expires > now);
    assert_int_equal(si->addr.ss_family, AF_INET);
    assert_memory_equal(ci->key, n->skey, TLS_KEY_LEN);
    assert_int_equal(ci->listen_port, SERVER_PORT);
    assert_int_equal(ci->version, WIRE_VERSION);
    assert_false(ci->inbound);
    assert_memory_equal(peerlink_info(n->client.link), ci, sizeof(*ci));
    assert_non_null(peerlink_conn(n->client.link));

    /* messages flow both ways */
    struct wire_msg find = {.type = WIRE_FIND, .rid = 1};
    find.u.find.query_id = 0x1122334455667788ull;
    find.u.find.hops = WIRE_MAX_HOPS;
    memset(find.u.find.file_id, 0xab, WIRE_ID_LEN);
    assert_int_equal(peerlink_send(n->client.link, &find, CONN_PRIO_CONTROL, 0), 0);
    RUN_UNTIL(n, n->server.ngot == 1);
    assert_int_equal(n->server.got[0].type, WIRE_FIND);
    assert_true(n->server.got[0].u.find.query_id == find.u.find.query_id);

    struct wire_msg found = {.type = WIRE_FOUND, .rid = 1};
    found.u.peers.query_id = find.u.find.query_id;
    memcpy(found.u.peers.file_id, find.u.find.file_id, WIRE_ID_LEN);
    found.u.peers.count = 1;
    found.u.peers.peers[0].family = 0; /* "me" */
    found.u.peers.peers[0].port = SERVER_PORT;
    memcpy(found.u.peers.peers[0].key, n->skey, TLS_KEY_LEN);
    assert_int_equal(peerlink_send(n->server.link, &found, CONN_PRIO_CONTROL, 0), 0);
    RUN_UNTIL(n, n->client.ngot == 1);
    assert_int_equal(n->client.got[0].type, WIRE_FOUND);
    assert_int_equal(n->client.got[0].u.peers.peers[0].family, 0);

    /* a type the other side's version lacks is not sent */
    struct wire_msg unknown = {.type = 0xEE};
    assert_int_equal(peerlink_send(n->client.link, &unknown, 0, 0), PEERLINK_EVERSION);

    /* a plain close: 0 on this side, end of stream on the other */
    peerlink_close(n->client.link, 0);
    RUN_UNTIL(n, n->client.closed && n->server.closed);
    assert_int_equal(n->client.close_err, 0);
    assert_int_equal(n->server.close_err, CONN_EEOF);
    assert_int_equal(n->client.closed, 1);
    reset(n);
}

/* The client shows ticket: the server refuses it with server_err, the
 * client hears why (EREFUSED) and neither gets a message. */
static void refused(struct net *n, uint8_t *ticket, size_t len, int server_err)
{
    connect_link(n, ticket, len);
    RUN_UNTIL(n, n->client.closed && n->server.closed);
    assert_int_equal(n->server.close_err, server_err);
    assert_int_equal(n->server.up, 0);
    assert_int_equal(n->client.close_err, PEERLINK_EREFUSED);
    assert_int_equal(n->server.ngot, 0);
    free(ticket);
    reset(n);
}

static void test_ticket_refusals(void **state)
{
    struct net *n = *state;
    size_t len;
    uint8_t *t;
    /* forged: signed by another service identity */
    t = make_ticket(n->other_service, n->ckey, 60, 3600, &len);
    refused(n, t, len, PEERLINK_ETICKET);
    /* expired beyond the skew */
    t = make_ticket(n->service, n->ckey, 7200, -(int64_t)PEERLINK_SKEW_S - 60, &len);
    refused(n, t, len, PEERLINK_EEXPIRED);
    /* issued too far in the future */
    t = make_ticket(n->service, n->ckey, -(int64_t)PEERLINK_SKEW_S - 60, 7200, &len);
    refused(n, t, len, PEERLINK_ETICKET);
    /* stolen: a good ticket of another key, shown over TLS by this one */
    t = make_ticket(n->service, n->third_key, 60, 3600, &len);
    refused(n, t, len, PEERLINK_ETICKET);
    /* none */
    refused(n, NULL, 0, PEERLINK_ETICKET);
}

static void test_expired_within_skew(void **state)
{
    struct net *n = *state;
    size_t len;
    uint8_t *t = make_ticket(n->service, n->ckey, 7200, -60, &len);
    connect_link(n, t, len);
    RUN_UNTIL(n, n->client.up && n->server.up);
    assert_true(n->server.info.ticket_expires < (uint64_t)time(NULL));
    free(t);
    reset(n);
}

static void test_hello_first(void **state)
{
    struct net *n = *state;
    struct wire_msg ping = {.type = WIRE_PING, .rid = 1};
    connect_raw(n, &ping);
    RUN_UNTIL(n, n->server.closed && n->client.closed);
    assert_int_equal(n->server.close_err, PEERLINK_EHELLO);
    assert_int_equal(n->server.up, 0);
    /* the raw side saw the server's HELLO, then why */
    assert_int_equal(n->client.ngot, 2);
    assert_int_equal(n->client.got[0].type, WIRE_HELLO);
    assert_int_equal(n->client.got[0].u.hello.role, WIRE_ROLE_PEER);
    assert_int_equal(n->client.got[0].u.hello.listen_port, SERVER_PORT);
    assert_int_equal(n->client.got[1].type, WIRE_ERROR);
    assert_int_equal(n->client.got[1].u.error.code, WIRE_ERR_PROTOCOL);
    reset(n);

    /* a HELLO of another role */
    struct wire_msg hello = peer_hello(n, WIRE_VERSION);
    hello.u.hello.role = WIRE_ROLE_CLIENT;
    hello.u.hello.listen_port = 0;
    connect_raw(n, &hello);
    RUN_UNTIL(n, n->server.closed);
    assert_int_equal(n->server.close_err, PEERLINK_EHELLO);
    reset(n);

    /* a second HELLO */
    hello = peer_hello(n, WIRE_VERSION);
    connect_raw(n, &hello);
    assert_int_equal(conn_send(n->client.conn, &hello, CONN_PRIO_CONTROL, 0), 0);
    RUN_UNTIL(n, n->server.closed);
    assert_int_equal(n->server.up, 1);
    assert_int_equal(n->server.close_err, PEERLINK_EHELLO);
    reset(n);
}

static void test_peer_types_only(void **state)
{
    struct net *n = *state;
    link_up(n);
    struct wire_msg login = {.type = WIRE_LOGIN, .rid = 3};
    login.u.login.user = "carol";
    login.u.login.password = "secret";
    assert_int_equal(conn_send(peerlink_conn(n->client.link), &login, CONN_PRIO_CONTROL, 0), 0);
    RUN_UNTIL(n, n->server.closed);
    assert_int_equal(n->server.close_err, CONN_EPROTO);
    assert_int_equal(n->server.ngot, 0);
    reset(n);
}

/* A frame of a type nobody knows (yet), raw bytes. */
static void send_unknown(struct conn *c)
{
    uint8_t *f = xmalloc(9);
    memcpy(f, "\x00\x00\x00\x04\xEE\x00\x00\x00\x07", 9);
    assert_int_equal(conn_send_frame(c, f, 9, CONN_PRIO_CONTROL, 0), 0);
}

static void test_version_gating(void **state)
{
    struct net *n = *state;
    /* a newer peer: its unknown type is skipped, the link lives */
    struct wire_msg hello = peer_hello(n, WIRE_VERSION + 1);
    connect_raw(n, &hello);
    send_unknown(n->client.conn);
    struct wire_msg ping = {.type = WIRE_PING, .rid = 9};
    assert_int_equal(conn_send(n->client.conn, &ping, CONN_PRIO_CONTROL, 0), 0);
    RUN_UNTIL(n, n->server.ngot == 1);
    assert_int_equal(n->server.got[0].type, WIRE_PING);
    assert_int_equal(n->server.info.version, WIRE_VERSION + 1);
    assert_int_equal(peerlink_skipped(n->server.link), 1);
    assert_true(peerlink_is_up(n->server.link));
    assert_int_equal(n->server.closed, 0);
    reset(n);

    /* a peer of our version: the same frame is a protocol error */
    link_up(n);
    send_unknown(peerlink_conn(n->client.link));
    RUN_UNTIL(n, n->server.closed);
    assert_int_equal(n->server.close_err, CONN_EPROTO);
    reset(n);
}

static void test_body_cap(void **state)
{
    struct net *n = *state;
    link_up(n);
    /* an ITEMS header (its own maximum is far larger) declaring one byte
     * more than any peer message: refused from the header */
    size_t over = wire_peer_max_body() + 1;
    assert_true(over < wire_max_body(WIRE_ITEMS));
    uint8_t *f = xcalloc(1, 5);
    f[0] = (uint8_t)(over >> 24);
    f[1] = (uint8_t)(over >> 16);
    f[2] = (uint8_t)(over >> 8);
    f[3] = (uint8_t)over;
    f[4] = WIRE_ITEMS;
    assert_int_equal(conn_send_frame(peerlink_conn(n->client.link), f, 5, CONN_PRIO_CONTROL, 0), 0);
    RUN_UNTIL(n, n->server.closed);
    assert_int_equal(n->server.close_err, CONN_EPROTO);
    reset(n);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = PEERLINK_EREFUSED; e <= PEERLINK_ETICKET; e++)
        assert_string_not_equal(peerlink_strerror(e), peerlink_strerror(1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_ticket_refusals),
        cmocka_unit_test(test_expired_within_skew),
        cmocka_unit_test(test_hello_first),
        cmocka_unit_test(test_peer_types_only),
        cmocka_unit_test(test_version_gating),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
