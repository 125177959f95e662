/* test_peers: the engine's peer manager (core/peers.h) with real peers on
 * loopback TLS, all on one loop on the test thread.
 *
 * Tickets are signed here by a test service identity (no chorusd). Caches
 * are filled with files of random bytes (peers never decrypt). Covered:
 * two peers link up and exchange a file's chunks, CANCEL answered by OK;
 * no ticket, no links; forged, expired and stolen tickets refused and
 * counted; 70 peers connecting to one node (never above 60 links, trimmed
 * to 50 once the grace has passed); a cap of 2 links (max_conns) refusing
 * a third either way; 8 requesters and 4 upload slots; requesters
 * vanishing mid-transfer;
 * PLAYING before BACKGROUND; the flooded search (2 hops found, 3 not, a
 * FIND arriving twice answered once, holder's real address and port);
 * bans; upload off; corrupt uploads; listen addresses (IPv4, [IPv6],
 * port 0, malformed, unbindable). Time is only ever bounded from below;
 * the waits' limits only keep a broken build from hanging.
 * TEST_PEERS_ONLY=PATTERN runs the matching tests only. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/manifest.h"
#include "base/xmalloc.h"
#include "core/cache.h"
#include "core/peers.h"
#include "net/peerlink.h"
#include "net/shaper.h"
#include "net/ticket.h"

#define CS        MANIFEST_CHUNK_SIZE
#define HANG_MS   120000 /* only against a hang */
#define MAX_FILES 4

static uv_loop_t loop;
static uv_timer_t keepalive;
static struct tls_identity *service;
static uint8_t service_key[TLS_KEY_LEN];

static void noop_timer(uv_timer_t *t)
{
    (void)t;
}

static void spin(void)
{
    uv_run(&loop, UV_RUN_ONCE);
}

#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        uint64_t t0_ = testutil_now_ns();                                                          \
        while (!(cond)) {                                                                          \
            if (testutil_now_ns() - t0_ > (uint64_t)HANG_MS * 1000000)                             \
                fail_msg("still waiting for %s", #cond);                                           \
            spin();                                                                                \
        }                                                                                          \
    } while (0)

/* Runs the loop for at least ms. */
static void run_for(uint64_t ms)
{
    uint64_t t0 = testutil_now_ns();
    while (testutil_now_ns() - t0 < ms * 1000000)
        spin();
}

/* ---- files ---- */

/* chunks chunks, the last one short */
static void tf_make(struct testutil_file *t, uint32_t chunks, uint32_t seed)
{
    testutil_file_make(t, (size_t)chunks * CS - 100, CS, seed);
}

static bool tf_chunk_equal(const struct testutil_file *t, uint32_t i, const uint8_t *data,
                           size_t len)
{
    return len == manifest_chunk_len(t->m, i) && memcmp(t->data + (size_t)i * CS, data, len) == 0;
}

/* ---- nodes ---- */

struct node {
    struct tls_identity *id;
    uint8_t key[TLS_KEY_LEN];
    char *dir;
    struct cache *cache;
    struct peers *ps;
    bool closed;
    /* what the callbacks saw */
    unsigned ups, downs;
    struct peer *last_up;
    const struct testutil_file *want; /* the file whose chunks are checked */
    uint32_t rid;                     /* the request counted below */
    unsigned chunks, bad_chunks, busy, not_found, oks, errors;
    uint64_t first_chunk_seq;
    bool *got; /* want's chunks received */
    uint32_t cancel_rid;
    bool cancel_ok;
    unsigned found;
    struct wire_peer holder;
    uint8_t found_file[WIRE_ID_LEN];
};

static uint64_t chunk_seq;

static void on_up(void *ctx, struct peer *p)
{
    struct node *n = ctx;
    n->ups++;
    n->last_up = p;
}

static void on_down(void *ctx, struct peer *p)
{
    struct node *n = ctx;
    n->downs++;
    if (n->last_up == p)
        n->last_up = NULL;
}

static void on_chunk(void *ctx, struct peer *p, const struct wire_msg *m)
{
    struct node *n = ctx;
    (void)p;
    if (m->rid != n->rid)
        return;
    if (!n->chunks++)
        n->first_chunk_seq = ++chunk_seq;
    if (n->want && m->u.chunk.index < n->want->m->chunk_count) {
        if (tf_chunk_equal(n->want, m->u.chunk.index, m->u.chunk.data, m->u.chunk.len))
            n->got[m->u.chunk.index] = true;
        else
            n->bad_chunks++;
    }
}

static void on_reply(void *ctx, struct peer *p, const struct wire_msg *m)
{
    struct node *n = ctx;
    (void)p;
    if (m->type == WIRE_OK) {
        n->oks++;
        if (m->rid == n->cancel_rid)
            n->cancel_ok = true;
        return;
    }
    n->errors++;
    if (m->rid != n->rid)
        return;
    if (m->u.error.code == WIRE_ERR_BUSY)
        n->busy++;
    else if (m->u.error.code == WIRE_ERR_NOT_FOUND)
        n->not_found++;
}

static void on_found(void *ctx, const uint8_t file_id[WIRE_ID_LEN], const struct wire_peer *h)
{
    struct node *n = ctx;
    n->found++;
    n->holder = *h;
    memcpy(n->found_file, file_id, WIRE_ID_LEN);
}

struct node_opts {
    bool listen, upload, cache, corrupt;
    const struct conn_shaping *shaping;
    unsigned max_conns; /* 0: PEERS_MAX_CONNS */
};

static void node_init(struct node *n, const char *name, struct node_opts o)
{
    memset(n, 0, sizeof(*n));
    assert_int_equal(tls_identity_generate(&n->id), 0);
    tls_identity_public_key(n->id, n->key);
    if (o.cache) {
        n->dir = testutil_tempdir(name);
        struct cache_config cc = {.dir = n->dir, .cap_bytes = 256 << 20, .loop = &loop};
        assert_int_equal(cache_open(&cc, &n->cache), 0);
    }
    struct peers_config cfg = {
        .loop = &loop,
        .cache = n->cache,
        .identity = n->id,
        .listen = o.listen ? "127.0.0.1:0" : NULL,
        .upload = o.upload,
        .corrupt_uploads = o.corrupt,
        .shaping = o.shaping,
        .max_conns = o.max_conns,
        .cb = {on_up, on_down, on_chunk, on_reply, on_found},
        .ctx = n,
    };
    int rc = peers_new(&cfg, &n->ps);
    if (rc)
        fail_msg("peers_new: %s", peers_strerror(rc));
    if (o.listen)
        assert_true(peers_listen_port(n->ps) > 0);
}

static void closed_cb(void *arg)
{
    ((struct node *)arg)->closed = true;
}

static void node_free(struct node *n)
{
    n->closed = false;
    peers_close(n->ps, closed_cb, n);
    WAIT_FOR(n->closed);
    if (n->cache) {
        WAIT_FOR(cache_pending(n->cache) == 0);
        cache_free(n->cache);
        uv_run(&loop, UV_RUN_NOWAIT);
        testutil_rmtree(n->dir);
        free(n->dir);
    }
    free(n->got);
    tls_identity_free(n->id);
}

/* A ticket for key signed by signer, valid from now + from_s to now +
 * to_s. */
static void give_ticket_ex(struct node *n, const struct tls_identity *signer, const uint8_t *key,
                           int64_t from_s, int64_t to_s)
{
    struct ticket t = {.generation = 1};
    snprintf(t.user, sizeof(t.user), "user%02x", n->key[0]);
    memcpy(t.key, key, TLS_KEY_LEN);
    uint64_t now = (uint64_t)time(NULL);
    t.issued = (uint64_t)((int64_t)now + from_s);
    t.expires = (uint64_t)((int64_t)now + to_s);
    uint8_t *buf;
    size_t len;
    assert_int_equal(ticket_sign(signer, &t, &buf, &len), 0);
    peers_set_ticket(n->ps, buf, len, service_key);
    free(buf);
}

static void give_ticket(struct node *n)
{
    give_ticket_ex(n, service, n->key, -10, 3600);
}

static struct wire_peer holder_of(const struct node *n)
{
    struct wire_peer w = {.family = 4, .addr = {127, 0, 0, 1}, .port = peers_listen_port(n->ps)};
    memcpy(w.key, n->key, TLS_KEY_LEN);
    return w;
}

static void store(struct node *n, const struct testutil_file *t)
{
    assert_int_equal(cache_put_manifest(n->cache, &t->id, t->enc, t->enc_len), 0);
    for (uint32_t i = 0; i < t->m->chunk_count; i++)
        assert_int_equal(cache_write_chunk(n->cache, &t->id, i, t->data + (size_t)i * CS,
                                           manifest_chunk_len(t->m, i), CACHE_SRC_SERVICE),
                         0);
    struct cache_file_info info;
    assert_int_equal(cache_file_info(n->cache, &t->id, &info), 0);
    assert_true(info.complete);
}

static void want(struct node *n, const struct testutil_file *t)
{
    free(n->got);
    n->want = t;
    n->got = xcalloc(t->m->chunk_count, sizeof(bool));
    n->chunks = n->bad_chunks = n->busy = n->not_found = 0;
    n->first_chunk_seq = 0;
}

static bool got_all(const struct node *n)
{
    for (uint32_t i = 0; i < n->want->m->chunk_count; i++)
        if (!n->got[i])
            return false;
    return true;
}

static struct peers_stats stats(const struct node *n)
{
    struct peers_stats st;
    peers_get_stats(n->ps, &st);
    return st;
}

/* b connects to a and both see the link up. */
static void link_nodes(struct node *a, struct node *b)
{
    unsigned ua = a->ups, ub = b->ups;
    struct wire_peer h = holder_of(b);
    assert_int_equal(peers_connect(a->ps, &h), 0);
    WAIT_FOR(a->ups > ua && b->ups > ub);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    (void)state;
    testutil_raise_fd_limit(4096);
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &keepalive);
    uv_timer_start(&keepalive, noop_timer, 2, 2);
    assert_int_equal(tls_identity_generate(&service), 0);
    tls_identity_public_key(service, service_key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&keepalive, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    tls_identity_free(service);
    return 0;
}

/* ---- tests ---- */

static void test_exchange_and_cancel(void **state)
{
    (void)state;
    struct node a, b;
    node_init(&a, "peers_a", (struct node_opts){.listen = true, .upload = true, .cache = true});
    node_init(&b, "peers_b", (struct node_opts){0});
    give_ticket(&a);
    give_ticket(&b);
    struct testutil_file f;
    tf_make(&f, 24, 1);
    store(&a, &f);

    link_nodes(&b, &a);
    assert_int_equal(stats(&a).links, 1);
    assert_int_equal(stats(&b).links, 1);
    struct peer *p = peers_find(b.ps, a.key);
    assert_ptr_equal(p, b.last_up);
    assert_memory_equal(peer_key(p), a.key, TLS_KEY_LEN);
    char want_addr[64];
    snprintf(want_addr, sizeof(want_addr), "127.0.0.1:%u", peers_listen_port(a.ps));
    assert_string_equal(peer_address(p), want_addr);

    want(&b, &f);
    b.rid = peer_get_chunks(p, f.id.bytes, 0, f.m->chunk_count, WIRE_PRIO_PLAYING, 0);
    assert_true(b.rid != 0);
    WAIT_FOR(got_all(&b));
    assert_int_equal(b.bad_chunks, 0);
    assert_int_equal(stats(&a).chunks_served, f.m->chunk_count);
    assert_int_equal(stats(&a).bytes_up, f.len);
    assert_int_equal(stats(&b).bytes_down, f.len);
    assert_true(stats(&a).slots_peak == 1);
    WAIT_FOR(peer_rtt_ms(p) >= 0);

    /* a range then CANCEL: OK follows */
    want(&b, &f);
    b.rid = peer_get_chunks(p, f.id.bytes, 0, f.m->chunk_count, WIRE_PRIO_BACKGROUND, 0);
    b.cancel_rid = b.rid;
    peer_cancel(p, b.rid);
    WAIT_FOR(b.cancel_ok);
    WAIT_FOR(stats(&a).slots_used == 0);

    /* not held: NOT_FOUND; beyond the end: an error too */
    struct testutil_file g;
    tf_make(&g, 3, 2);
    want(&b, &g);
    unsigned errors = b.errors;
    b.rid = peer_get_chunks(p, g.id.bytes, 0, 1, WIRE_PRIO_PLAYING, 0);
    WAIT_FOR(b.not_found == 1);
    b.rid = peer_get_chunks(p, f.id.bytes, f.m->chunk_count - 1, 2, WIRE_PRIO_PLAYING, 0);
    WAIT_FOR(b.errors == errors + 2);

    /* the connection table, most useful first */
    struct mq_conn rows[4];
    assert_int_equal(peers_conn_table(a.ps, rows, 4), 1);
    assert_true(rows[0].inbound);
    assert_string_equal(rows[0].state, "up");
    assert_true(rows[0].chunks_served >= f.m->chunk_count);
    assert_true(rows[0].bytes_up >= f.len);
    assert_int_equal(peers_conn_table(b.ps, rows, 4), 1);
    assert_false(rows[0].inbound);
    assert_string_equal(rows[0].address, want_addr);
    /* a second connect to the same key makes nothing new */
    struct wire_peer h = holder_of(&a);
    assert_int_equal(peers_connect(b.ps, &h), 0);
    run_for(100);
    assert_int_equal(stats(&b).links + stats(&b).connecting, 1);
    /* nor to ourselves */
    h = holder_of(&b);
    assert_int_equal(peers_connect(b.ps, &h), PEERS_ESELF);

    node_free(&b);
    node_free(&a);
    testutil_file_free(&f);
    testutil_file_free(&g);
}

static int try_listen(const char *addr, struct node *n)
{
    struct peers_config cfg = {.loop = &loop, .identity = n->id, .listen = addr, .ctx = n};
    struct peers *ps = NULL;
    int rc = peers_new(&cfg, &ps);
    if (rc == 0) {
        n->closed = false;
        peers_close(ps, closed_cb, n);
        WAIT_FOR(n->closed);
    }
    run_for(20); /* a listener that failed closes on the loop */
    return rc;
}

/* Listen addresses: IPv4 and [IPv6], port 0 read back, malformed ones
 * and ones that cannot be bound refused; and a link over IPv6. */
static void test_listen_addresses(void **state)
{
    (void)state;
    struct node n;
    node_init(&n, "peers_listen", (struct node_opts){0});
    assert_string_equal(peers_listen_address(n.ps), "");
    assert_int_equal(peers_listen_port(n.ps), 0);
    const char *bad[] = {"",     ":0",     "127.0.0.1:",  "127.0.0.1:x", "127.0.0.1:65536",
                         "[::1", "[::1]x", "256.0.0.1:0", "localhost:0", "1.2.3.4:-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (try_listen(bad[i], &n) != PEERS_EADDR)
            fail_msg("'%s' was taken", bad[i]);
    /* not an address of this machine */
    assert_int_equal(try_listen("192.0.2.1:0", &n), PEERS_ELISTEN);
    /* in use */
    struct node a;
    node_init(&a, "peers_listen_a", (struct node_opts){.listen = true});
    char taken[64];
    snprintf(taken, sizeof(taken), "127.0.0.1:%u", peers_listen_port(a.ps));
    assert_string_equal(peers_listen_address(a.ps), taken);
    assert_int_equal(try_listen(taken, &n), PEERS_ELISTEN);
    assert_int_equal(try_listen("off", &n), 0);

    /* IPv6, where this machine has ::1 */
    struct node b, c;
    struct peers_config cfg = {.loop = &loop, .listen = "[::1]:0", .cb = {on_up, on_down}};
    node_init(&b, "peers_listen_b", (struct node_opts){0});
    node_init(&c, "peers_listen_c", (struct node_opts){0});
    peers_close(b.ps, closed_cb, &b);
    WAIT_FOR(b.closed);
    cfg.identity = b.id;
    cfg.ctx = &b;
    if (peers_new(&cfg, &b.ps) == 0) {
        char want6[64];
        snprintf(want6, sizeof(want6), "[::1]:%u", peers_listen_port(b.ps));
        assert_string_equal(peers_listen_address(b.ps), want6);
        give_ticket(&b);
        give_ticket(&c);
        struct wire_peer h = {.family = 6, .port = peers_listen_port(b.ps)};
        h.addr[15] = 1;
        memcpy(h.key, b.key, TLS_KEY_LEN);
        assert_int_equal(peers_connect(c.ps, &h), 0);
        WAIT_FOR(b.ups == 1 && c.ups == 1);
        struct mq_conn row;
        assert_int_equal(peers_conn_table(c.ps, &row, 1), 1);
        assert_string_equal(row.address, want6);
    } else {
        print_message("no IPv6 loopback here: the IPv6 link is not tried\n");
        b.ps = NULL;
    }
    /* holders with no usable address */
    struct wire_peer h0 = {.family = 0, .port = 1};
    assert_int_equal(peers_connect(a.ps, &h0), PEERS_ENOTICKET);
    give_ticket(&a);
    assert_int_equal(peers_connect(a.ps, &h0), PEERS_EADDR);
    h0.family = 4;
    h0.port = 0;
    assert_int_equal(peers_connect(a.ps, &h0), PEERS_EADDR);
    if (b.ps)
        node_free(&b);
    else
        tls_identity_free(b.id);
    node_free(&c);
    node_free(&a);
    node_free(&n);
}

static void test_no_ticket_no_links(void **state)
{
    (void)state;
    struct node a, n;
    node_init(&a, "peers_nt_a", (struct node_opts){.listen = true});
    node_init(&n, "peers_nt_n", (struct node_opts){.listen = true});
    give_ticket(&a);
    struct wire_peer h = holder_of(&a);
    assert_int_equal(peers_connect(n.ps, &h), PEERS_ENOTICKET);
    h = holder_of(&n);
    assert_int_equal(peers_connect(a.ps, &h), 0);
    WAIT_FOR(stats(&a).connecting == 0);
    run_for(200);
    assert_int_equal(a.ups + n.ups, 0);
    assert_int_equal(stats(&a).links, 0);
    assert_int_equal(stats(&n).links + stats(&n).connecting, 0);
    assert_int_equal(peers_search(n.ps, h.key), 0);
    node_free(&a);
    node_free(&n);
}

/* b, with a bad ticket, connects to a: refused and counted. */
static void refused(struct node *a, struct node *b, unsigned *count)
{
    struct wire_peer h = holder_of(a);
    assert_int_equal(peers_connect(b->ps, &h), 0);
    WAIT_FOR(stats(a).refused_ticket > *count);
    /* b may have seen a's good ticket (its on_up, then on_down) */
    WAIT_FOR(stats(b).connecting + stats(b).links + stats(a).connecting == 0);
    *count = (unsigned)stats(a).refused_ticket;
    assert_int_equal(a->ups, 0);
    assert_int_equal(stats(a).links, 0);
    assert_int_equal(b->ups, b->downs);
}

static void test_bad_tickets(void **state)
{
    (void)state;
    struct node a, b, c;
    node_init(&a, "peers_bt_a", (struct node_opts){.listen = true});
    node_init(&b, "peers_bt_b", (struct node_opts){0});
    node_init(&c, "peers_bt_c", (struct node_opts){0});
    give_ticket(&a);
    unsigned count = 0;
    /* forged: signed by another service */
    struct tls_identity *other;
    assert_int_equal(tls_identity_generate(&other), 0);
    give_ticket_ex(&b, other, b.key, -10, 3600);
    refused(&a, &b, &count);
    tls_identity_free(other);
    /* expired beyond the allowance for skewed clocks */
    give_ticket_ex(&b, service, b.key, -7200, -(int64_t)PEERLINK_SKEW_S - 60);
    refused(&a, &b, &count);
    /* stolen: c's ticket shown by b */
    give_ticket_ex(&b, service, c.key, -10, 3600);
    refused(&a, &b, &count);
    assert_int_equal(count, 3);
    /* and a good one links */
    give_ticket(&b);
    link_nodes(&b, &a);
    node_free(&a);
    node_free(&b);
    node_free(&c);
}

/* ---- 70 peers at one node ---- */

#define CROWD 70

static unsigned links_peak;
static struct node *sampled;

static void sample(uv_check_t *h)
{
    (void)h;
    struct peers_stats st = stats(sampled);
    if (st.links + st.connecting > links_peak)
        links_peak = st.links + st.connecting;
}

static void test_limits(void **state)
{
    (void)state;
    struct node hub;
    struct node *crowd = xcalloc(CROWD, sizeof(*crowd));
    node_init(&hub, "peers_hub", (struct node_opts){.listen = true});
    give_ticket(&hub);
    sampled = &hub;
    links_peak = 0;
    uv_check_t check;
    uv_check_init(&loop, &check);
    uv_check_start(&check, sample);
    struct wire_peer h = holder_of(&hub);
    uint64_t t0 = testutil_now_ns();
    for (int i = 0; i < CROWD; i++) {
        node_init(&crowd[i], "peers_crowd", (struct node_opts){0});
        give_ticket(&crowd[i]);
        assert_int_equal(peers_connect(crowd[i].ps, &h), 0);
    }
    /* every connection either came up or was refused */
    WAIT_FOR(stats(&hub).links + stats(&hub).refused_full >= CROWD);
    assert_true(stats(&hub).links <= PEERS_MAX_CONNS);
    assert_true(stats(&hub).links > PEERS_SOFT_CONNS);
    /* trimmed to the soft limit once the grace has passed, not before */
    WAIT_FOR(stats(&hub).links <= PEERS_SOFT_CONNS);
    assert_true(testutil_now_ns() - t0 >= (uint64_t)PEERS_GRACE_MS * 1000000);
    run_for(PEERS_TICK_MS + 200);
    struct peers_stats st = stats(&hub);
    assert_int_equal(st.links, PEERS_SOFT_CONNS);
    assert_true(st.trimmed >= 1);
    assert_true(st.refused_full >= CROWD - PEERS_MAX_CONNS);
    assert_true(links_peak <= PEERS_MAX_CONNS);
    assert_true(links_peak > PEERS_SOFT_CONNS);
    /* the crowd sees the same */
    unsigned crowd_links;
    do {
        spin();
        crowd_links = 0;
        for (int i = 0; i < CROWD; i++)
            crowd_links += stats(&crowd[i]).links + stats(&crowd[i]).connecting;
    } while (crowd_links != PEERS_SOFT_CONNS);
    uv_close((uv_handle_t *)&check, NULL);
    for (int i = 0; i < CROWD; i++)
        node_free(&crowd[i]);
    node_free(&hub);
    free(crowd);
}

/* ---- a lower cap ([p2p] max_connections) ---- */

/* A hub capped at 2 links (soft limit 2 - 2/6 = 2): a third peer that
 * connects is refused at accept, and at the cap the hub makes no link to
 * a new holder (none of its links is past its grace, so none makes room).
 * The stats report the cap in force; 0 and too large mean
 * PEERS_MAX_CONNS. */
static void test_max_connections(void **state)
{
    (void)state;
    struct node hub, p[3], q;
    node_init(&hub, "peers_cap_hub", (struct node_opts){.listen = true, .max_conns = 2});
    give_ticket(&hub);
    assert_int_equal(stats(&hub).max_links, 2);
    for (int i = 0; i < 3; i++) {
        node_init(&p[i], "peers_cap", (struct node_opts){.listen = true});
        give_ticket(&p[i]);
    }
    node_init(&q, "peers_cap_big", (struct node_opts){.listen = true, .max_conns = 1000});
    give_ticket(&q);
    assert_int_equal(stats(&p[0]).max_links, PEERS_MAX_CONNS);
    assert_int_equal(stats(&q).max_links, PEERS_MAX_CONNS);

    link_nodes(&p[0], &hub);
    link_nodes(&p[1], &hub);
    struct wire_peer h = holder_of(&hub);
    assert_int_equal(peers_connect(p[2].ps, &h), 0);
    WAIT_FOR(stats(&hub).refused_full == 1);
    WAIT_FOR(stats(&p[2]).links + stats(&p[2]).connecting == 0);
    assert_int_equal(p[2].ups, 0);
    assert_int_equal(stats(&hub).links, 2);

    h = holder_of(&q);
    assert_int_equal(peers_connect(hub.ps, &h), PEERS_EFULL);
    run_for(200);
    struct peers_stats st = stats(&hub);
    assert_int_equal(st.links + st.connecting, 2);
    assert_int_equal(st.trimmed, 0);
    assert_int_equal(q.ups, 0);

    for (int i = 0; i < 3; i++)
        node_free(&p[i]);
    node_free(&q);
    node_free(&hub);
}

/* ---- upload slots ---- */

#define REQUESTERS 8

/* 8 requesters, 4 slots: the holder's uplink is capped (1 MB/s) so
 * that the first four transfers outlast a tick; the four that asked with
 * a short deadline meanwhile get BUSY and ask again without one. */
static void test_slots(void **state)
{
    (void)state;
    struct node hold, req[REQUESTERS];
    struct shaper *uplink = shaper_new(1u << 20);
    struct conn_shaping sh = {.send = {uplink, NULL}};
    node_init(&hold, "peers_slots",
              (struct node_opts){.listen = true, .upload = true, .cache = true, .shaping = &sh});
    give_ticket(&hold);
    struct testutil_file f;
    tf_make(&f, 32, 3);
    store(&hold, &f);
    for (int i = 0; i < REQUESTERS; i++) {
        node_init(&req[i], "peers_req", (struct node_opts){0});
        give_ticket(&req[i]);
        link_nodes(&req[i], &hold);
    }
    for (int i = 0; i < REQUESTERS; i++) {
        if (i == REQUESTERS / 2)
            WAIT_FOR(stats(&hold).slots_used == PEERS_UPLOAD_SLOTS);
        want(&req[i], &f);
        req[i].rid = peer_get_chunks(req[i].last_up, f.id.bytes, 0, f.m->chunk_count,
                                     WIRE_PRIO_PREFETCH, i < REQUESTERS / 2 ? 0 : 1);
        assert_true(req[i].rid != 0);
    }
    unsigned retried = 0;
    for (;;) {
        bool done = true;
        for (int i = 0; i < REQUESTERS; i++) {
            if (req[i].busy) {
                retried++;
                want(&req[i], &f);
                req[i].rid = peer_get_chunks(req[i].last_up, f.id.bytes, 0, f.m->chunk_count,
                                             WIRE_PRIO_PREFETCH, 0);
            }
            done = done && got_all(&req[i]);
            assert_int_equal(req[i].not_found + req[i].bad_chunks, 0);
        }
        assert_true(stats(&hold).slots_used <= PEERS_UPLOAD_SLOTS);
        if (done)
            break;
        spin();
    }
    struct peers_stats st = stats(&hold);
    assert_int_equal(st.slots_peak, PEERS_UPLOAD_SLOTS);
    assert_int_equal(st.busy_replies, retried);
    assert_int_equal(retried, REQUESTERS / 2);
    assert_int_equal(st.chunks_served, (REQUESTERS)*f.m->chunk_count);
    for (int i = 0; i < REQUESTERS; i++)
        node_free(&req[i]);
    node_free(&hold);
    shaper_free(uplink);
    testutil_file_free(&f);
}

/* Requesters that go away mid-transfer, one after another, each at
 * another moment: a chunk read that completes after its link closed must
 * neither touch the closed link (the swarm benchmark found a crash
 * there) nor keep its upload slot; the holder then serves a last
 * requester in full. */
static void test_requester_vanishes(void **state)
{
    (void)state;
    struct node hold;
    node_init(&hold, "peers_vanish",
              (struct node_opts){.listen = true, .upload = true, .cache = true});
    give_ticket(&hold);
    struct testutil_file f;
    tf_make(&f, 64, 5);
    store(&hold, &f);
    for (int round = 0; round < 24; round++) {
        struct node req;
        node_init(&req, "peers_gone", (struct node_opts){0});
        give_ticket(&req);
        link_nodes(&req, &hold);
        uint64_t served = stats(&hold).chunks_served;
        want(&req, &f);
        req.rid =
            peer_get_chunks(req.last_up, f.id.bytes, 0, f.m->chunk_count, WIRE_PRIO_PLAYING, 0);
        WAIT_FOR(stats(&hold).chunks_served > served + (uint64_t)(round % 12));
        node_free(&req);
    }
    WAIT_FOR(stats(&hold).links == 0);
    assert_int_equal(stats(&hold).slots_used, 0);
    struct node last;
    node_init(&last, "peers_last", (struct node_opts){0});
    give_ticket(&last);
    link_nodes(&last, &hold);
    want(&last, &f);
    last.rid = peer_get_chunks(last.last_up, f.id.bytes, 0, f.m->chunk_count, WIRE_PRIO_PLAYING, 0);
    WAIT_FOR(got_all(&last));
    assert_int_equal(last.bad_chunks, 0);
    WAIT_FOR(stats(&hold).slots_used == 0);
    node_free(&last);
    node_free(&hold);
    testutil_file_free(&f);
}

/* Four slots busy (the holder's uplink capped so that they stay busy),
 * then a BACKGROUND request and a PLAYING one wait: the first slot to
 * free goes to PLAYING, whose chunks all come before BACKGROUND's
 * first (the next slot frees much later). */
static void test_priority(void **state)
{
    (void)state;
    struct node hold, big[4], bg, play;
    struct shaper *uplink = shaper_new(4u << 20);
    struct conn_shaping sh = {.send = {uplink, NULL}};
    node_init(&hold, "peers_prio",
              (struct node_opts){.listen = true, .upload = true, .cache = true, .shaping = &sh});
    give_ticket(&hold);
    struct testutil_file large, small;
    tf_make(&large, 120, 4);
    tf_make(&small, 4, 5);
    store(&hold, &large);
    store(&hold, &small);
    for (int i = 0; i < 4; i++) {
        node_init(&big[i], "peers_big", (struct node_opts){0});
        give_ticket(&big[i]);
        link_nodes(&big[i], &hold);
    }
    node_init(&bg, "peers_bg", (struct node_opts){0});
    node_init(&play, "peers_play", (struct node_opts){0});
    give_ticket(&bg);
    give_ticket(&play);
    link_nodes(&bg, &hold);
    link_nodes(&play, &hold);
    for (int i = 0; i < 4; i++) {
        want(&big[i], &large);
        /* the first ends well before the others */
        big[i].rid = peer_get_chunks(big[i].last_up, large.id.bytes, 0,
                                     i ? large.m->chunk_count : 32, WIRE_PRIO_BACKGROUND, 0);
    }
    WAIT_FOR(stats(&hold).slots_used == PEERS_UPLOAD_SLOTS);
    want(&bg, &small);
    bg.rid = peer_get_chunks(bg.last_up, small.id.bytes, 0, small.m->chunk_count,
                             WIRE_PRIO_BACKGROUND, 0);
    WAIT_FOR(stats(&hold).upload_waiting == 1);
    want(&play, &small);
    play.rid = peer_get_chunks(play.last_up, small.id.bytes, 0, small.m->chunk_count,
                               WIRE_PRIO_PLAYING, 0);
    WAIT_FOR(stats(&hold).upload_waiting == 2);
    WAIT_FOR(got_all(&bg) && got_all(&play));
    assert_true(play.first_chunk_seq < bg.first_chunk_seq);
    assert_int_equal(play.bad_chunks + bg.bad_chunks, 0);
    for (int i = 1; i < 4; i++)
        WAIT_FOR(got_all(&big[i]));
    assert_true(stats(&hold).slots_peak <= PEERS_UPLOAD_SLOTS);
    for (int i = 0; i < 4; i++)
        node_free(&big[i]);
    node_free(&bg);
    node_free(&play);
    node_free(&hold);
    shaper_free(uplink);
    testutil_file_free(&large);
    testutil_file_free(&small);
}

/* ---- search ---- */

static void test_search(void **state)
{
    (void)state;
    struct node n[4]; /* A - B - C - D */
    const char *names[4] = {"peers_sa", "peers_sb", "peers_sc", "peers_sd"};
    for (int i = 0; i < 4; i++) {
        node_init(&n[i], names[i],
                  (struct node_opts){.listen = true, .upload = true, .cache = true});
        give_ticket(&n[i]);
    }
    struct testutil_file x, y;
    tf_make(&x, 2, 6);
    tf_make(&y, 2, 7);
    store(&n[3], &x);
    store(&n[2], &y);
    for (int i = 0; i < 3; i++)
        link_nodes(&n[i], &n[i + 1]);

    assert_int_equal(peers_search(n[0].ps, y.id.bytes), 1);
    WAIT_FOR(n[0].found == 1);
    assert_memory_equal(n[0].found_file, y.id.bytes, WIRE_ID_LEN);
    assert_int_equal(n[0].holder.family, 4);
    const uint8_t lo[4] = {127, 0, 0, 1};
    assert_memory_equal(n[0].holder.addr, lo, 4);
    assert_int_equal(n[0].holder.port, peers_listen_port(n[2].ps));
    assert_memory_equal(n[0].holder.key, n[2].key, TLS_KEY_LEN);
    assert_int_equal(stats(&n[1]).finds_relayed, 1);
    assert_int_equal(stats(&n[2]).finds_relayed, 0); /* hops ran out at C */
    /* X is 3 hops away: not found */
    assert_int_equal(peers_search(n[0].ps, x.id.bytes), 1);
    run_for(500);
    assert_int_equal(n[0].found, 1);
    assert_int_equal(stats(&n[0]).found_received, 1);

    /* what a search found can be linked to: A - C closes the cycle
     * A - B - C - A, so C hears A's next FIND twice (from A and through
     * B) and answers once */
    assert_int_equal(peers_connect(n[0].ps, &n[0].holder), 0);
    WAIT_FOR(peers_find(n[0].ps, n[2].key) != NULL && peers_find(n[2].ps, n[0].key) != NULL);
    assert_int_equal(peers_search(n[0].ps, y.id.bytes), 2);
    WAIT_FOR(n[0].found == 2);
    run_for(500);
    assert_int_equal(n[0].found, 2);
    assert_memory_equal(n[0].holder.key, n[2].key, TLS_KEY_LEN);
    /* and X is 2 hops away now (A - C - D) */
    assert_int_equal(peers_search(n[0].ps, x.id.bytes), 2);
    WAIT_FOR(n[0].found == 3);
    assert_memory_equal(n[0].found_file, x.id.bytes, WIRE_ID_LEN);
    assert_memory_equal(n[0].holder.key, n[3].key, TLS_KEY_LEN);
    assert_int_equal(n[0].holder.port, peers_listen_port(n[3].ps));
    run_for(300);
    assert_int_equal(n[0].found, 3);

    for (int i = 0; i < 4; i++)
        node_free(&n[i]);
    testutil_file_free(&x);
    testutil_file_free(&y);
}

static void test_ban(void **state)
{
    (void)state;
    struct node a, b;
    node_init(&a, "peers_ban_a", (struct node_opts){.listen = true});
    node_init(&b, "peers_ban_b", (struct node_opts){.listen = true});
    give_ticket(&a);
    give_ticket(&b);
    link_nodes(&b, &a);
    struct peer *p = peers_find(a.ps, b.key);
    assert_non_null(p);
    peers_ban(a.ps, p, "test: sent bad data");
    assert_int_equal(a.downs, 1);
    assert_null(peers_find(a.ps, b.key));
    WAIT_FOR(b.downs == 1);
    assert_int_equal(stats(&a).banned, 1);
    /* not reconnected */
    struct wire_peer h = holder_of(&b);
    assert_int_equal(peers_connect(a.ps, &h), PEERS_EBANNED);
    /* not accepted */
    h = holder_of(&a);
    unsigned ups = a.ups;
    assert_int_equal(peers_connect(b.ps, &h), 0);
    WAIT_FOR(stats(&b).connecting == 0 && stats(&a).connecting == 0 && stats(&b).links == 0);
    run_for(200);
    assert_int_equal(a.ups, ups);
    assert_int_equal(stats(&a).links, 0);
    node_free(&a);
    node_free(&b);
}

static void test_upload_off(void **state)
{
    (void)state;
    struct node hold, r;
    node_init(&hold, "peers_off", (struct node_opts){.listen = true, .cache = true});
    node_init(&r, "peers_off_r", (struct node_opts){0});
    give_ticket(&hold);
    give_ticket(&r);
    struct testutil_file f;
    tf_make(&f, 3, 8);
    store(&hold, &f);
    link_nodes(&r, &hold);
    want(&r, &f);
    r.rid = peer_get_chunks(r.last_up, f.id.bytes, 0, f.m->chunk_count, WIRE_PRIO_PLAYING, 0);
    WAIT_FOR(r.not_found == 1);
    assert_int_equal(r.chunks, 0);
    assert_int_equal(peers_search(r.ps, f.id.bytes), 1);
    run_for(300);
    assert_int_equal(r.found, 0);
    assert_int_equal(stats(&hold).chunks_served, 0);
    node_free(&r);
    node_free(&hold);
    testutil_file_free(&f);
}

static void test_corrupt_uploads(void **state)
{
    (void)state;
    struct node hold, r;
    node_init(&hold, "peers_bad",
              (struct node_opts){.listen = true, .upload = true, .cache = true, .corrupt = true});
    node_init(&r, "peers_bad_r", (struct node_opts){0});
    give_ticket(&hold);
    give_ticket(&r);
    struct testutil_file f;
    tf_make(&f, 3, 9);
    store(&hold, &f);
    link_nodes(&r, &hold);
    want(&r, &f);
    r.rid = peer_get_chunks(r.last_up, f.id.bytes, 0, f.m->chunk_count, WIRE_PRIO_PLAYING, 0);
    WAIT_FOR(r.chunks == f.m->chunk_count);
    assert_int_equal(r.bad_chunks, f.m->chunk_count);
    /* the requester's answer to bad data: a ban */
    peers_ban(r.ps, r.last_up, "test: chunk does not match the manifest");
    WAIT_FOR(stats(&hold).links == 0);
    node_free(&r);
    node_free(&hold);
    testutil_file_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_and_cancel),
        cmocka_unit_test(test_listen_addresses),
        cmocka_unit_test(test_no_ticket_no_links),
        cmocka_unit_test(test_bad_tickets),
        cmocka_unit_test(test_ban),
        cmocka_unit_test(test_upload_off),
        cmocka_unit_test(test_corrupt_uploads),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_requester_vanishes),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_limits),
    };
    if (getenv("TEST_PEERS_ONLY"))
        cmocka_set_test_filter(getenv("TEST_PEERS_ONLY"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
