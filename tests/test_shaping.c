/* test_shaping: the shaper's virtual clock, and conn's link emulation
 * (conn_set_shaping) on real loopback TLS connections: latency, rate caps
 * (the slower of two shapers binds), integrity and order under shaping,
 * priorities on a slow link, backpressure through TCP from a capped
 * receiver, closing with bytes held both ways, and the service client's
 * shaping option. Times are only ever
 * checked from below: the machine may be slow, never faster than the
 * emulated link. */
#include "testutil.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/client.h"
#include "net/conn.h"
#include "net/shaper.h"
#include "net/tls.h"

/* ---- the shaper's arithmetic ---- */

static void test_shaper_arithmetic(void **state)
{
    (void)state;
    /* rate 0: unlimited, nothing booked */
    struct shaper *s = shaper_new(0);
    assert_int_equal(shaper_rate(s), 0);
    assert_int_equal(shaper_reserve(s, 1000, 1u << 30), 1000);
    assert_int_equal(shaper_backlog_us(s, 1000), 0);

    /* 1000 B/s: 500 bytes take 0.5 s; the next booking starts after the
     * first, not at now */
    shaper_set_rate(s, 1000);
    assert_int_equal(shaper_rate(s), 1000);
    assert_int_equal(shaper_reserve(s, 0, 500), 500000);
    assert_int_equal(shaper_reserve(s, 0, 500), 1000000);
    assert_int_equal(shaper_backlog_us(s, 0), 1000000);
    assert_int_equal(shaper_backlog_us(s, 400000), 600000);
    assert_int_equal(shaper_reserve(s, 400000, 100), 1100000);

    /* an idle gap is not banked: after 5 s of nothing, 100 bytes still
     * take 0.1 s from now */
    assert_int_equal(shaper_backlog_us(s, 5000000), 0);
    assert_int_equal(shaper_reserve(s, 5000000, 100), 5100000);
    assert_int_equal(shaper_backlog_us(s, 5000000), 100000);

    /* many small bookings add up exactly (no rounding per booking) */
    shaper_set_rate(s, 3000000);
    uint64_t t = 0;
    for (int i = 0; i < 3000; i++)
        t = shaper_reserve(s, 10000000, 1000);
    assert_int_equal(t, 11000000);

    /* a lower rate applies from the next booking on */
    shaper_set_rate(s, 1000000);
    assert_int_equal(shaper_reserve(s, 10000000, 1000), 11001000);
    shaper_free(s);
}

/* ---- loopback connections ---- */

#define DATA_MAX 16384u /* random CHUNK sizes: 1..DATA_MAX */

struct end {
    struct end *peer;
    struct conn *conn;
    struct conn_shaping shaping;
    bool shaped;
    int closed, close_err;
    /* receiving */
    uint64_t seed; /* of the peer's chunks */
    uint32_t next_index;
    uint64_t got_bytes;
    int pongs;
    bool got_ping;
    uint64_t hello_at_ns; /* when a HELLO came (the service client's) */
    uint32_t chunks_before_ping;
    /* sending: CHUNKs 0..total-1 of random sizes, fed from on_writable */
    uint32_t total, sent;
    uint64_t send_seed;
    size_t fixed_len; /* 0: random sizes */
};

struct link {
    uv_loop_t loop;
    uv_tcp_t listener;
    struct tls_identity *sid, *cid;
    struct tls_ctx *sctx, *cctx;
    struct end server, client;
    int port;
};

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t chunk_len(const struct end *sender, uint64_t seed, uint32_t i)
{
    return sender->fixed_len ? sender->fixed_len : 1 + mix(seed ^ i) % DATA_MAX;
}

static void chunk_fill(uint8_t *buf, size_t len, uint64_t seed, uint32_t i)
{
    uint64_t x = mix(seed + i);
    for (size_t j = 0; j < len; j++)
        buf[j] = (uint8_t)(x + j * 131 + (j >> 8));
}

/* Queues the next chunks while less than 512 KiB waits to go out. */
static void pump(struct end *e)
{
    static uint8_t buf[WIRE_MAX_CHUNK];
    while (e->conn && e->sent < e->total && conn_queued_bytes(e->conn) < 512u * 1024) {
        struct wire_msg m = {.type = WIRE_CHUNK, .rid = 1};
        m.u.chunk.index = e->sent;
        m.u.chunk.len = chunk_len(e, e->send_seed, e->sent);
        chunk_fill(buf, m.u.chunk.len, e->send_seed, e->sent);
        m.u.chunk.data = buf;
        assert_int_equal(conn_send(e->conn, &m, 10, 1), 0);
        e->sent++;
    }
}

static void on_message(struct conn *c, struct wire_msg *m, void *arg)
{
    struct end *e = arg;
    static uint8_t want[WIRE_MAX_CHUNK];
    switch (m->type) {
    case WIRE_PING: {
        e->got_ping = true;
        e->chunks_before_ping = e->next_index;
        struct wire_msg r = {.type = WIRE_PONG, .rid = m->rid};
        assert_int_equal(conn_send(c, &r, CONN_PRIO_CONTROL, 0), 0);
        break;
    }
    case WIRE_PONG:
        e->pongs++;
        break;
    case WIRE_HELLO:
        e->hello_at_ns = testutil_now_ns();
        break;
    case WIRE_CHUNK: {
        const struct end *from = e->peer;
        uint32_t i = e->next_index++;
        assert_int_equal(m->u.chunk.index, i);
        assert_int_equal(m->u.chunk.len, chunk_len(from, e->seed, i));
        chunk_fill(want, m->u.chunk.len, e->seed, i);
        assert_memory_equal(m->u.chunk.data, want, m->u.chunk.len);
        e->got_bytes += m->u.chunk.len;
        break;
    }
    default:
        fail_msg("unexpected message type %d", m->type);
    }
}

static void on_writable(struct conn *c, void *arg)
{
    (void)c;
    pump(arg);
}

static void on_close(struct conn *c, int err, void *arg)
{
    (void)c;
    struct end *e = arg;
    e->closed++;
    e->close_err = err;
    e->conn = NULL;
}

static const struct conn_callbacks callbacks = {
    .on_message = on_message,
    .on_writable = on_writable,
    .on_close = on_close,
};

static void on_connection(uv_stream_t *server, int status)
{
    struct link *l = server->data;
    assert_int_equal(status, 0);
    assert_null(l->server.conn);
    assert_int_equal(conn_accept(server, l->sctx, &callbacks, &l->server, &l->server.conn), 0);
    if (l->server.shaped)
        conn_set_shaping(l->server.conn, &l->server.shaping);
}

/* Runs the loop until cond holds or 20 s pass. */
#define RUN_UNTIL(l, cond)                                                                         \
    do {                                                                                           \
        uint64_t t0_ = testutil_now_ns();                                                          \
        while (!(cond)) {                                                                          \
            uv_run(&(l)->loop, UV_RUN_NOWAIT);                                                     \
            if (!(cond))                                                                           \
                usleep(200);                                                                       \
            assert_true(testutil_now_ns() - t0_ < 20000000000ull);                                 \
        }                                                                                          \
    } while (0)

/* Runs the loop for ms milliseconds. */
static void run_for(struct link *l, uint64_t ms)
{
    uint64_t end = testutil_now_ns() + ms * 1000000;
    while (testutil_now_ns() < end) {
        uv_run(&l->loop, UV_RUN_NOWAIT);
        usleep(200);
    }
}

static void link_init(struct link *l)
{
    memset(l, 0, sizeof(*l));
    assert_int_equal(uv_loop_init(&l->loop), 0);
    assert_int_equal(tls_identity_generate(&l->sid), 0);
    assert_int_equal(tls_identity_generate(&l->cid), 0);
    assert_int_equal(tls_ctx_new(l->sid, true, &l->sctx), 0);
    assert_int_equal(tls_ctx_new(l->cid, false, &l->cctx), 0);
    uv_tcp_init(&l->loop, &l->listener);
    l->listener.data = l;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&l->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&l->listener, 16, on_connection), 0);
    int len = sizeof(a);
    uv_tcp_getsockname(&l->listener, (struct sockaddr *)&a, &len);
    l->port = ntohs(a.sin_port);
    l->server.peer = &l->client;
    l->client.peer = &l->server;
    l->server.seed = l->client.send_seed = 0x5eed1;
    l->client.seed = l->server.send_seed = 0x5eed2;
}

/* Connects the client and runs until both ends are established. */
static void link_connect(struct link *l)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", l->port, &a);
    uint8_t key[TLS_KEY_LEN];
    tls_identity_public_key(l->sid, key);
    assert_int_equal(conn_connect(&l->loop, (struct sockaddr *)&a, l->cctx, key, &callbacks,
                                  &l->client, &l->client.conn),
                     0);
    if (l->client.shaped)
        conn_set_shaping(l->client.conn, &l->client.shaping);
    RUN_UNTIL(l, l->server.conn && conn_established(l->server.conn) &&
                     conn_established(l->client.conn));
}

static void link_free(struct link *l)
{
    if (l->client.conn)
        conn_close(l->client.conn, 0);
    if (l->server.conn)
        conn_close(l->server.conn, 0);
    uv_close((uv_handle_t *)&l->listener, NULL);
    uv_run(&l->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&l->loop), 0);
    tls_ctx_free(l->sctx);
    tls_ctx_free(l->cctx);
    tls_identity_free(l->sid);
    tls_identity_free(l->cid);
}

static double secs_since(uint64_t t0)
{
    return (double)(testutil_now_ns() - t0) / 1e9;
}

static void send_ping(struct conn *c, uint32_t rid)
{
    struct wire_msg m = {.type = WIRE_PING, .rid = rid};
    assert_int_equal(conn_send(c, &m, CONN_PRIO_CONTROL, 0), 0);
}

/* Each end adds 25 ms on receive: a round trip takes at least 50 ms. */
static void test_round_trip_latency(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    l.client.shaped = l.server.shaped = true;
    l.client.shaping.recv_delay_ms = l.server.shaping.recv_delay_ms = 25;
    link_connect(&l);
    for (int i = 1; i <= 3; i++) {
        uint64_t t0 = testutil_now_ns();
        send_ping(l.client.conn, (uint32_t)i);
        RUN_UNTIL(&l, l.client.pongs == i);
        double rtt = secs_since(t0);
        print_message("round trip %d: %.1f ms\n", i, rtt * 1e3);
        assert_true(rtt >= 0.050);
    }
    link_free(&l);
}

/* Sends `total` chunks of fixed_len bytes (0: random sizes) from the client;
 * returns the seconds until the server has them all. */
static double transfer(struct link *l, uint32_t total, size_t fixed_len)
{
    l->client.total = total;
    l->client.fixed_len = fixed_len;
    uint64_t t0 = testutil_now_ns();
    pump(&l->client);
    RUN_UNTIL(l, l->server.next_index == total);
    return secs_since(t0);
}

/* 1 MiB through a 1 MB/s send shaper takes about a second. */
static void test_send_rate(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    struct shaper *up = shaper_new(1000000);
    l.client.shaped = true;
    l.client.shaping.send[0] = up;
    link_connect(&l);
    double t = transfer(&l, 16, 65536);
    print_message("1 MiB at 1 MB/s (send): %.2f s\n", t);
    assert_true(t >= 0.9);
    uint64_t out;
    conn_stats(l.client.conn, NULL, &out);
    assert_true(out > 1u << 20);
    link_free(&l);
    shaper_free(up);
}

/* A 4 MB/s emulated link and a 1 MB/s cap: the cap binds, on either side
 * and in either slot. */
static void test_slower_shaper_binds(void **state)
{
    (void)state;
    struct shaper *link4 = shaper_new(4000000), *cap1 = shaper_new(1000000);
    for (int side = 0; side < 2; side++) {
        struct link l;
        link_init(&l);
        if (side == 0) {
            l.client.shaped = true;
            l.client.shaping.send[0] = link4;
            l.client.shaping.send[1] = cap1;
        } else {
            l.server.shaped = true;
            l.server.shaping.recv[0] = cap1;
            l.server.shaping.recv[1] = link4;
        }
        link_connect(&l);
        double t = transfer(&l, 16, 65536);
        print_message("1 MiB over 4 MB/s capped at 1 MB/s (%s): %.2f s\n",
                      side ? "receiver" : "sender", t);
        assert_true(t >= 0.9);
        link_free(&l);
    }
    shaper_free(link4);
    shaper_free(cap1);
}

/* Thousands of frames of random sizes both ways, through rate shapers and
 * delays on both ends, arrive intact and in order. */
static void test_many_frames_in_order(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    struct shaper *s[4];
    for (int i = 0; i < 4; i++)
        s[i] = shaper_new(24000000);
    l.client.shaped = l.server.shaped = true;
    l.client.shaping = (struct conn_shaping){
        .send = {s[0], NULL}, .recv = {NULL, s[1]}, .send_delay_ms = 2, .recv_delay_ms = 3};
    l.server.shaping = (struct conn_shaping){
        .send = {NULL, s[2]}, .recv = {s[3], NULL}, .send_delay_ms = 1, .recv_delay_ms = 4};
    link_connect(&l);
    const uint32_t total = 2500;
    l.client.total = l.server.total = total;
    pump(&l.client);
    pump(&l.server);
    RUN_UNTIL(&l, l.server.next_index == total && l.client.next_index == total);
    uint64_t in, out, pin, pout;
    conn_stats(l.client.conn, &in, &out);
    conn_stats(l.server.conn, &pin, &pout);
    print_message("both ways: %llu and %llu bytes of data\n",
                  (unsigned long long)l.server.got_bytes, (unsigned long long)l.client.got_bytes);
    assert_true(out > l.server.got_bytes && in > l.client.got_bytes);
    /* the counts are of bytes on the socket: in the end what one side
     * wrote the other has read */
    RUN_UNTIL(&l, (conn_stats(l.client.conn, &in, &out), conn_stats(l.server.conn, &pin, &pout),
                   out == pin && in == pout));
    link_free(&l);
    for (int i = 0; i < 4; i++)
        shaper_free(s[i]);
}

/* Both ends capped on receive and sending to each other: each stops
 * reading while its held input is full, and reads again as it drains,
 * though the other keeps its own output queued. */
static void test_both_receivers_capped(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    struct shaper *down_c = shaper_new(4000000), *down_s = shaper_new(4000000);
    l.client.shaped = l.server.shaped = true;
    l.client.shaping.recv[0] = down_c;
    l.server.shaping.recv[0] = down_s;
    link_connect(&l);
    l.client.total = l.server.total = 96; /* 6 MiB each way */
    l.client.fixed_len = l.server.fixed_len = 65536;
    uint64_t t0 = testutil_now_ns();
    pump(&l.client);
    pump(&l.server);
    RUN_UNTIL(&l, l.server.next_index == 96 && l.client.next_index == 96);
    double t = secs_since(t0);
    print_message("6 MiB each way into 4 MB/s receivers: %.2f s\n", t);
    assert_true(t >= 1.4);
    link_free(&l);
    shaper_free(down_c);
    shaper_free(down_s);
}

/* On a 2 MB/s link, a control frame queued after 2 MiB of bulk data
 * overtakes all but the little already on the link. */
static void test_urgent_overtakes_bulk(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    struct shaper *up = shaper_new(2000000);
    l.client.shaped = true;
    l.client.shaping.send[0] = up;
    l.client.shaping.send_delay_ms = 5;
    link_connect(&l);
    const uint32_t total = 32; /* 2 MiB */
    static uint8_t buf[65536];
    l.client.fixed_len = sizeof(buf);
    for (uint32_t i = 0; i < total; i++) {
        struct wire_msg m = {.type = WIRE_CHUNK, .rid = 1};
        m.u.chunk.index = i;
        m.u.chunk.len = sizeof(buf);
        chunk_fill(buf, sizeof(buf), l.client.send_seed, i);
        m.u.chunk.data = buf;
        assert_int_equal(conn_send(l.client.conn, &m, 10, 1), 0);
    }
    run_for(&l, 50);
    send_ping(l.client.conn, 7);
    RUN_UNTIL(&l, l.server.got_ping);
    print_message("urgent frame after %u of %u bulk frames\n", l.server.chunks_before_ping, total);
    assert_true(l.server.chunks_before_ping < total / 4);
    RUN_UNTIL(&l, l.server.next_index == total && l.client.pongs == 1);
    link_free(&l);
    shaper_free(up);
}

/* A receiver capped at 256 KB/s holds at most about CONN_SHAPE_RECV_HOLD
 * and stops reading: the sender's queue backs up through TCP instead. */
static void test_capped_receiver_backpressure(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    struct shaper *down = shaper_new(256000);
    l.server.shaped = true;
    l.server.shaping.recv[0] = down;
    link_connect(&l);
    l.client.total = 1000; /* 64 MiB: far more than TCP buffers */
    l.client.fixed_len = 65536;
    pump(&l.client);
    size_t max_queued = 0;
    uint64_t max_held = 0;
    uint64_t t0 = testutil_now_ns();
    while (secs_since(t0) < 1.5) {
        uv_run(&l.loop, UV_RUN_NOWAIT);
        usleep(500);
        size_t q = conn_queued_bytes(l.client.conn);
        if (q > max_queued)
            max_queued = q;
        uint64_t in;
        conn_stats(l.server.conn, &in, NULL);
        /* read from the socket but not yet delivered (TLS records and
         * frames add a little) */
        uint64_t held = in - l.server.got_bytes;
        if (held > max_held)
            max_held = held;
    }
    uint64_t pushed = (uint64_t)l.client.sent * 65536;
    print_message("capped receiver: got %llu, sender pushed %llu, sender queue up to %zu, receiver "
                  "held up to %llu, sender stalled %llu ms\n",
                  (unsigned long long)l.server.got_bytes, (unsigned long long)pushed, max_queued,
                  (unsigned long long)max_held,
                  (unsigned long long)conn_send_stall_ms(l.client.conn));
    assert_true(max_held <= CONN_SHAPE_RECV_HOLD + 192u * 1024);
    /* the sender could not push without bound: it waits on TCP */
    assert_true(l.client.sent < l.client.total);
    assert_true(conn_queued_bytes(l.client.conn) >= CONN_LOW_WATER);
    link_free(&l);
    shaper_free(down);
}

/* Closing with bytes held both ways frees them (ASan checks); a flushing
 * close sends the held bytes first. */
static void test_close_with_held_bytes(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    struct shaper *up = shaper_new(0), *down = shaper_new(0);
    l.client.shaped = l.server.shaped = true;
    l.client.shaping.send[0] = up;
    l.client.shaping.recv[0] = down;
    l.client.shaping.recv_delay_ms = 20;
    link_connect(&l);
    shaper_set_rate(up, 64000);
    shaper_set_rate(down, 64000);
    l.client.total = l.server.total = 64;
    l.client.fixed_len = l.server.fixed_len = 8192;
    pump(&l.client);
    pump(&l.server);
    run_for(&l, 300);
    uint64_t in;
    conn_stats(l.client.conn, &in, NULL);
    assert_true(conn_queued_bytes(l.client.conn) > 0);     /* output held */
    assert_true(in > l.client.got_bytes + 16384);          /* input held */
    assert_true(l.client.next_index < l.client.total / 2); /* still coming */
    conn_close(l.client.conn, 0);
    RUN_UNTIL(&l, l.client.closed && l.server.closed);
    assert_int_equal(l.client.close_err, 0);
    link_free(&l);

    /* a flushing close waits for held output, then ends the stream */
    link_init(&l);
    l.client.shaped = l.server.shaped = true;
    l.client.shaping.send_delay_ms = 30;
    l.server.shaping.recv_delay_ms = 30;
    link_connect(&l);
    uint64_t t0 = testutil_now_ns();
    send_ping(l.client.conn, 1);
    conn_close_after_flush(l.client.conn, 0);
    RUN_UNTIL(&l, l.client.closed && l.server.closed);
    assert_true(secs_since(t0) >= 0.030);
    assert_true(l.server.got_ping);
    assert_int_equal(l.client.close_err, 0);
    assert_int_equal(l.server.close_err, CONN_EEOF);
    link_free(&l);
    shaper_free(up);
    shaper_free(down);
}

/* svc_client_opts.shaping applies to the client's connection: its HELLO
 * leaves after the handshake and the emulated delay. */
static void test_service_client_shaping(void **state)
{
    (void)state;
    struct link l;
    link_init(&l);
    uint8_t key[TLS_KEY_LEN];
    tls_identity_public_key(l.sid, key);
    struct conn_shaping shaping = {.send_delay_ms = 40, .recv_delay_ms = 40};
    struct svc_client_opts opts = {
        .host = "127.0.0.1",
        .port = (uint16_t)l.port,
        .identity = l.cid,
        .service_key = key,
        .shaping = &shaping,
    };
    struct svc_client *sc;
    uint64_t t0 = testutil_now_ns();
    assert_int_equal(svc_client_new(&l.loop, &opts, &sc), 0);
    RUN_UNTIL(&l, l.server.hello_at_ns != 0);
    /* the handshake's two flights toward the client and HELLO's one away */
    double t = (double)(l.server.hello_at_ns - t0) / 1e9;
    print_message("service client's HELLO after %.1f ms\n", t * 1e3);
    assert_true(t >= 0.120);
    svc_client_close(sc);
    RUN_UNTIL(&l, l.server.closed);
    link_free(&l);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shaper_arithmetic),
        cmocka_unit_test(test_round_trip_latency),
        cmocka_unit_test(test_send_rate),
        cmocka_unit_test(test_slower_shaper_binds),
        cmocka_unit_test(test_many_frames_in_order),
        cmocka_unit_test(test_both_receivers_capped),
        cmocka_unit_test(test_urgent_overtakes_bulk),
        cmocka_unit_test(test_capped_receiver_backpressure),
        cmocka_unit_test(test_close_with_held_bytes),
        cmocka_unit_test(test_service_client_shaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
