/* test_tls: identities, TLS 1.3 sessions in memory (and what they refuse),
 * and conn over real loopback sockets: priorities, cancel, protocol errors,
 * handshake timeout and backpressure. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/xmalloc.h"
#include "net/conn.h"
#include "net/tls.h"

/* ---- identities ---- */

static void test_identity_files(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("tls_identity");
    char *path = xasprintf("%s/id.key", dir);
    struct tls_identity *a, *b;
    bool created;
    assert_int_equal(tls_identity_load(path, &a), -ENOENT);
    assert_int_equal(tls_identity_load_or_create(path, &a, &created), 0);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(tls_identity_load_or_create(path, &b, &created), 0);
    assert_false(created);
    uint8_t ka[TLS_KEY_LEN], kb[TLS_KEY_LEN];
    tls_identity_public_key(a, ka);
    tls_identity_public_key(b, kb);
    assert_memory_equal(ka, kb, TLS_KEY_LEN);

    char hex[2 * TLS_KEY_LEN + 1];
    uint8_t back[TLS_KEY_LEN];
    tls_key_to_hex(ka, hex);
    assert_int_equal(tls_key_from_hex(hex, back), 0);
    assert_memory_equal(ka, back, TLS_KEY_LEN);
    hex[3] = 'g';
    assert_int_equal(tls_key_from_hex(hex, back), -1);
    assert_int_equal(tls_key_from_hex("abcd", back), -1);

    /* signatures: b verifies what a signed (same key), tampering fails */
    uint8_t sig[TLS_SIG_LEN];
    const uint8_t msg[] = "the quick brown fox";
    assert_int_equal(tls_identity_sign(a, msg, sizeof(msg), sig), 0);
    assert_true(tls_ed25519_verify(kb, msg, sizeof(msg), sig));
    sig[10] ^= 1;
    assert_false(tls_ed25519_verify(kb, msg, sizeof(msg), sig));

    /* garbage and a non-Ed25519 key are refused */
    char *bad = xasprintf("%s/bad.key", dir);
    testutil_write_file(bad, "not a key\n", 10);
    struct tls_identity *c;
    assert_int_equal(tls_identity_load(bad, &c), TLS_EKEYFILE);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    EVP_PKEY_free(ec);
    assert_int_equal(tls_identity_load(bad, &c), TLS_EKEYFILE);

    tls_identity_free(a);
    tls_identity_free(b);
    testutil_rmtree(dir);
    free(bad);
    free(path);
    free(dir);
}

/* ---- sessions in memory ---- */

struct pair {
    struct tls_identity *sid, *cid;
    struct tls_ctx *sctx, *cctx;
    struct tls_session *s, *c;
};

static void pair_init(struct pair *p, const uint8_t *expect)
{
    assert_int_equal(tls_identity_generate(&p->sid), 0);
    assert_int_equal(tls_identity_generate(&p->cid), 0);
    assert_int_equal(tls_ctx_new(p->sid, true, &p->sctx), 0);
    assert_int_equal(tls_ctx_new(p->cid, false, &p->cctx), 0);
    p->s = tls_session_new(p->sctx, NULL);
    p->c = tls_session_new(p->cctx, expect);
}

static void pair_free(struct pair *p)
{
    tls_session_free(p->s);
    tls_session_free(p->c);
    tls_ctx_free(p->sctx);
    tls_ctx_free(p->cctx);
    tls_identity_free(p->sid);
    tls_identity_free(p->cid);
}

/* Moves pending output from one session to the other; returns the feed
 * result. */
static int move(struct tls_session *from, struct tls_session *to)
{
    uint8_t buf[65536];
    int rc = 0;
    size_t n;
    while ((n = tls_session_take_output(from, buf, sizeof(buf))) > 0) {
        rc = tls_session_feed(to, buf, n);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* Runs the handshake; returns the first error of either side, or 0. */
static int handshake(struct pair *p, int *client_rc, int *server_rc)
{
    *client_rc = tls_session_start(p->c);
    *server_rc = 0;
    for (int i = 0; i < 10 && *client_rc == 0 && *server_rc == 0; i++) {
        *server_rc = move(p->c, p->s);
        if (*server_rc < 0)
            break;
        *client_rc = move(p->s, p->c);
        if (tls_session_established(p->c) && tls_session_established(p->s))
            break;
    }
    /* the client learns of a refusal on its next read */
    if (*server_rc < 0 && *client_rc == 0) {
        *client_rc = move(p->s, p->c);
        if (*client_rc == 0) {
            uint8_t b[16];
            int n = tls_session_read(p->c, b, sizeof(b));
            *client_rc = n < 0 ? n : 0;
        }
    }
    return *client_rc ? *client_rc : *server_rc;
}

static void test_session_pair(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, NULL);
    uint8_t b[64];
    assert_int_equal(tls_session_write(p.c, (const uint8_t *)"x", 1), TLS_ESTATE);
    int crc, src;
    assert_int_equal(handshake(&p, &crc, &src), 0);
    assert_true(tls_session_established(p.c) && tls_session_established(p.s));

    uint8_t k[TLS_KEY_LEN], want[TLS_KEY_LEN];
    assert_true(tls_session_peer_key(p.s, k));
    tls_identity_public_key(p.cid, want);
    assert_memory_equal(k, want, TLS_KEY_LEN);
    assert_true(tls_session_peer_key(p.c, k));
    tls_identity_public_key(p.sid, want);
    assert_memory_equal(k, want, TLS_KEY_LEN);

    /* both directions; 100 KiB spans several records */
    uint8_t *big = xmalloc(100000), *got = xmalloc(100000);
    for (size_t i = 0; i < 100000; i++)
        big[i] = (uint8_t)(i * 31);
    assert_int_equal(tls_session_write(p.c, big, 100000), 0);
    assert_int_equal(move(p.c, p.s), 0);
    size_t have = 0;
    int n;
    while ((n = tls_session_read(p.s, got + have, 100000 - have)) > 0)
        have += (size_t)n;
    assert_int_equal(n, 0);
    assert_int_equal(have, 100000);
    assert_memory_equal(big, got, 100000);
    assert_int_equal(tls_session_write(p.s, (const uint8_t *)"pong", 4), 0);
    assert_int_equal(move(p.s, p.c), 0);
    assert_int_equal(tls_session_read(p.c, b, sizeof(b)), 4);
    assert_memory_equal(b, "pong", 4);

    /* close_notify */
    tls_session_shutdown(p.c);
    assert_true(tls_session_output_pending(p.c) > 0);
    assert_int_equal(move(p.c, p.s), 0);
    assert_int_equal(tls_session_read(p.s, b, sizeof(b)), TLS_ECLOSED);
    free(big);
    free(got);
    pair_free(&p);
}

static void test_session_expected_key(void **state)
{
    (void)state;
    /* the expected key matches: fine */
    struct pair p;
    struct tls_identity *sid;
    assert_int_equal(tls_identity_generate(&sid), 0);
    uint8_t key[TLS_KEY_LEN];
    tls_identity_public_key(sid, key);
    pair_init(&p, key);
    tls_identity_free(p.sid);
    tls_ctx_free(p.sctx);
    tls_session_free(p.s);
    p.sid = sid;
    assert_int_equal(tls_ctx_new(sid, true, &p.sctx), 0);
    p.s = tls_session_new(p.sctx, NULL);
    int crc, src;
    assert_int_equal(handshake(&p, &crc, &src), 0);
    pair_free(&p);

    /* another server key: the client refuses it */
    pair_init(&p, key);
    assert_int_not_equal(handshake(&p, &crc, &src), 0);
    assert_int_equal(crc, TLS_EPEERKEY);
    assert_false(tls_session_established(p.c));
    assert_string_not_equal(tls_session_error_detail(p.c), "");
    pair_free(&p);
}

/* A raw OpenSSL client of the given kind against our server session. */
enum raw_kind { RAW_TLS12, RAW_EC_CERT, RAW_NO_CERT };

static int raw_client_vs_server(enum raw_kind kind)
{
    struct tls_identity *sid;
    struct tls_ctx *sctx;
    assert_int_equal(tls_identity_generate(&sid), 0);
    assert_int_equal(tls_ctx_new(sid, true, &sctx), 0);
    struct tls_session *s = tls_session_new(sctx, NULL);

    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    EVP_PKEY *pk = NULL;
    X509 *x = NULL;
    if (kind != RAW_NO_CERT) {
        pk = kind == RAW_EC_CERT ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                 : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        x = X509_new();
        X509_set_version(x, 2);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, pk);
        X509_sign(x, pk, kind == RAW_EC_CERT ? EVP_sha256() : NULL);
        SSL_CTX_use_certificate(cctx, x);
        SSL_CTX_use_PrivateKey(cctx, pk);
    }
    if (kind == RAW_TLS12)
        SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
    SSL *c = SSL_new(cctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    SSL_set_bio(c, rb, wb);
    SSL_set_connect_state(c);

    int server_rc = 0;
    uint8_t buf[65536];
    for (int i = 0; i < 10 && server_rc == 0; i++) {
        SSL_do_handshake(c);
        int n;
        while ((n = BIO_read(wb, buf, sizeof(buf))) > 0)
            if ((server_rc = tls_session_feed(s, buf, (size_t)n)) < 0)
                break;
        size_t m;
        while ((m = tls_session_take_output(s, buf, sizeof(buf))) > 0)
            BIO_write(rb, buf, (int)m);
    }
    assert_false(tls_session_established(s));
    SSL_free(c);
    SSL_CTX_free(cctx);
    X509_free(x);
    EVP_PKEY_free(pk);
    tls_session_free(s);
    tls_ctx_free(sctx);
    tls_identity_free(sid);
    return server_rc;
}

static void test_server_refuses(void **state)
{
    (void)state;
    assert_int_equal(raw_client_vs_server(RAW_TLS12), TLS_EHANDSHAKE);
    assert_int_equal(raw_client_vs_server(RAW_EC_CERT), TLS_EPEERKEY);
    assert_int_equal(raw_client_vs_server(RAW_NO_CERT), TLS_EHANDSHAKE);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* The sanitizers' runtime has it (sanitizer/allocator_interface.h, which
 * Debian's gcc does not ship). */
size_t __sanitizer_get_current_allocated_bytes(void);
/* Heap bytes handed out: the sanitizers' allocator, which mallinfo2 does
 * not see. */
static size_t heap_in_use(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
/* Heap bytes handed out (all arenas; this test is one thread). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#endif

/* One burst of len bytes from one session to the other, checked. */
static void burst(struct tls_session *from, struct tls_session *to, size_t len)
{
    uint8_t *data = xmalloc(len), *got = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7 + len);
    assert_int_equal(tls_session_write(from, data, len), 0);
    assert_int_equal(move(from, to), 0);
    size_t have = 0;
    int n;
    while ((n = tls_session_read(to, got + have, len - have)) > 0)
        have += (size_t)n;
    assert_int_equal(have, len);
    assert_memory_equal(data, got, len);
    free(data);
    free(got);
}

/* A burst grows the sender's output buffer and the receiver's input
 * buffer to its size, and OpenSSL keeps them; tls_session_shrink frees
 * them and the sessions go on working. */
static void test_session_shrink(void **state)
{
    (void)state;
    struct pair p;
    pair_init(&p, NULL);
    int crc, src;
    assert_int_equal(handshake(&p, &crc, &src), 0);
    const size_t len = 256 * 1024;
    burst(p.c, p.s, len);
    size_t before = heap_in_use();
    tls_session_shrink(p.c);
    tls_session_shrink(p.s);
    size_t after = heap_in_use();
    print_message("shrink freed %zu bytes after a %zu-byte burst\n", before - after, len);
    assert_true(after < before && before - after > 3 * len / 2);
    burst(p.c, p.s, len);
    burst(p.s, p.c, len);
    tls_session_shrink(p.c);
    tls_session_shrink(p.s);
    burst(p.s, p.c, 1000);
    burst(p.c, p.s, 1000);
    pair_free(&p);
}

/* ---- conn over loopback ---- */

struct side {
    struct conn *conn;
    struct wire_msg got[600];
    int ngot;
    int closed;
    int close_err;
    size_t max_queued; /* the server's queue at each message */
    int reply_chunks;  /* server: answer each PING with this many 64 KiB chunks */
};

struct net {
    uv_loop_t loop;
    uv_tcp_t listener;
    struct tls_identity *sid, *cid;
    struct tls_ctx *sctx, *cctx;
    struct side server, client;
    uint64_t server_handshake_ms;
    int port;
};

static void on_message(struct conn *c, struct wire_msg *m, void *arg)
{
    struct side *s = arg;
    size_t q = conn_queued_bytes(c);
    if (q > s->max_queued)
        s->max_queued = q;
    if (s->reply_chunks && m->type == WIRE_PING) {
        static uint8_t data[WIRE_MAX_CHUNK];
        struct wire_msg r = {.type = WIRE_CHUNK, .rid = m->rid};
        r.u.chunk.data = data;
        r.u.chunk.len = sizeof(data);
        for (int i = 0; i < s->reply_chunks; i++)
            assert_int_equal(conn_send(c, &r, 10, 0), 0);
        s->ngot++;
        return;
    }
    assert_true(s->ngot < 600);
    s->got[s->ngot++] = *m;
    memset(m, 0, sizeof(*m)); /* taken */
}

static void on_close(struct conn *c, int err, void *arg)
{
    (void)c;
    struct side *s = arg;
    s->closed++;
    s->close_err = err;
    s->conn = NULL;
}

static const struct conn_callbacks callbacks = {
    .on_message = on_message,
    .on_close = on_close,
};

static void on_connection(uv_stream_t *server, int status)
{
    struct net *n = server->data;
    assert_int_equal(status, 0);
    assert_null(n->server.conn);
    assert_int_equal(conn_accept(server, n->sctx, &callbacks, &n->server, &n->server.conn), 0);
    if (n->server_handshake_ms)
        conn_set_handshake_timeout(n->server.conn, n->server_handshake_ms);
}

static void net_init(struct net *n)
{
    memset(n, 0, sizeof(*n));
    assert_int_equal(uv_loop_init(&n->loop), 0);
    assert_int_equal(tls_identity_generate(&n->sid), 0);
    assert_int_equal(tls_identity_generate(&n->cid), 0);
    assert_int_equal(tls_ctx_new(n->sid, true, &n->sctx), 0);
    assert_int_equal(tls_ctx_new(n->cid, false, &n->cctx), 0);
    uv_tcp_init(&n->loop, &n->listener);
    n->listener.data = n;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&n->listener, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&n->listener, 16, on_connection), 0);
    int len = sizeof(a);
    uv_tcp_getsockname(&n->listener, (struct sockaddr *)&a, &len);
    n->port = ntohs(a.sin_port);
}

static void net_connect(struct net *n)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", n->port, &a);
    uint8_t key[TLS_KEY_LEN];
    tls_identity_public_key(n->sid, key);
    assert_int_equal(conn_connect(&n->loop, (struct sockaddr *)&a, n->cctx, key, &callbacks,
                                  &n->client, &n->client.conn),
                     0);
}

/* Runs the loop until cond holds or 10 s pass. */
#define RUN_UNTIL(n, cond)                                                                         \
    do {                                                                                           \
        uint64_t t0_ = testutil_now_ns();                                                          \
        while (!(cond)) {                                                                          \
            uv_run(&(n)->loop, UV_RUN_NOWAIT);                                                     \
            if (!(cond))                                                                           \
                usleep(200);                                                                       \
            assert_true(testutil_now_ns() - t0_ < 10000000000ull);                                 \
        }                                                                                          \
    } while (0)

static void net_free(struct net *n)
{
    if (n->client.conn)
        conn_close(n->client.conn, 0);
    if (n->server.conn)
        conn_close(n->server.conn, 0);
    uv_close((uv_handle_t *)&n->listener, NULL);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&n->loop), 0);
    for (int i = 0; i < n->server.ngot; i++)
        wire_msg_clear(&n->server.got[i]);
    for (int i = 0; i < n->client.ngot; i++)
        wire_msg_clear(&n->client.got[i]);
    tls_ctx_free(n->sctx);
    tls_ctx_free(n->cctx);
    tls_identity_free(n->sid);
    tls_identity_free(n->cid);
}

static void send_ping(struct conn *c, uint32_t rid, uint64_t prio, uint32_t tag)
{
    struct wire_msg m = {.type = WIRE_PING, .rid = rid};
    assert_int_equal(conn_send(c, &m, prio, tag), 0);
}

/* Frames queued together leave by priority, FIFO among equals; a cancelled
 * tag never leaves; the peer's key is the one presented. */
static void test_conn_priority_and_cancel(void **state)
{
    (void)state;
    struct net n;
    net_init(&n);
    net_connect(&n);
    /* queued before the handshake: all go together once it is done */
    send_ping(n.client.conn, 1, 50, 1);
    send_ping(n.client.conn, 2, 10, 2);
    send_ping(n.client.conn, 3, 50, 1);
    send_ping(n.client.conn, 4, CONN_PRIO_CONTROL, 3);
    send_ping(n.client.conn, 5, 10, 2);
    send_ping(n.client.conn, 6, 20, 7);
    send_ping(n.client.conn, 7, 20, 7);
    assert_int_equal(conn_cancel(n.client.conn, 7), 2);
    RUN_UNTIL(&n, n.server.ngot == 5);
    uint32_t want[] = {4, 2, 5, 1, 3};
    for (int i = 0; i < 5; i++)
        assert_int_equal(n.server.got[i].rid, want[i]);

    uint8_t k[TLS_KEY_LEN], exp[TLS_KEY_LEN];
    assert_true(conn_peer_key(n.server.conn, k));
    tls_identity_public_key(n.cid, exp);
    assert_memory_equal(k, exp, TLS_KEY_LEN);
    struct sockaddr_storage ss;
    assert_int_equal(conn_peer_addr(n.server.conn, &ss), 0);
    char addr[64];
    conn_format_addr(&ss, addr, sizeof(addr));
    assert_memory_equal(addr, "127.0.0.1:", 10);

    /* a large reply arrives intact */
    static uint8_t data[16384];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    for (uint32_t i = 0; i < 100; i++) {
        struct wire_msg m = {.type = WIRE_CHUNK, .rid = 9};
        m.u.chunk.index = i;
        m.u.chunk.data = data;
        m.u.chunk.len = sizeof(data);
        assert_int_equal(conn_send(n.server.conn, &m, 100, 9), 0);
    }
    RUN_UNTIL(&n, n.client.ngot == 100);
    for (uint32_t i = 0; i < 100; i++) {
        assert_int_equal(n.client.got[i].u.chunk.index, i);
        assert_memory_equal(n.client.got[i].u.chunk.data, data, sizeof(data));
    }
    uint64_t in, out;
    conn_stats(n.client.conn, &in, &out);
    assert_true(in > 100 * sizeof(data));

    /* a graceful close reaches the other side as end of stream */
    conn_close_after_flush(n.client.conn, 0);
    assert_true(conn_closing(n.client.conn));
    RUN_UNTIL(&n, n.client.closed && n.server.closed);
    assert_int_equal(n.client.close_err, 0);
    assert_int_equal(n.server.close_err, CONN_EEOF);
    net_free(&n);
}

/* A frame of unknown type: the receiver answers ERROR(protocol) and closes
 * that connection. */
static void test_conn_protocol_error(void **state)
{
    (void)state;
    struct net n;
    net_init(&n);
    net_connect(&n);
    uint8_t *bad = xmalloc(9);
    memcpy(bad, "\0\0\0\4\xee\0\0\0\1", 9);
    assert_int_equal(conn_send_frame(n.client.conn, bad, 9, 0, 0), 0);
    RUN_UNTIL(&n, n.client.closed && n.server.closed);
    assert_int_equal(n.server.close_err, CONN_EPROTO);
    assert_int_equal(n.client.ngot, 1);
    assert_int_equal(n.client.got[0].type, WIRE_ERROR);
    assert_int_equal(n.client.got[0].u.error.code, WIRE_ERR_PROTOCOL);
    assert_int_equal(n.client.close_err, CONN_EEOF);
    net_free(&n);
}

/* A client that connects but never speaks TLS is dropped; a client that
 * expects another server key is refused. */
static void test_conn_timeout_and_wrong_key(void **state)
{
    (void)state;
    struct net n;
    net_init(&n);
    n.server_handshake_ms = 100;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", n.port, &a);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    RUN_UNTIL(&n, n.server.closed);
    assert_int_equal(n.server.close_err, CONN_ETIMEOUT);
    close(fd);

    n.server.closed = 0;
    n.server_handshake_ms = 0;
    uint8_t other[TLS_KEY_LEN] = {1, 2, 3};
    assert_int_equal(conn_connect(&n.loop, (struct sockaddr *)&a, n.cctx, other, &callbacks,
                                  &n.client, &n.client.conn),
                     0);
    RUN_UNTIL(&n, n.client.closed && n.server.closed);
    assert_int_equal(n.client.close_err, TLS_EPEERKEY);
    assert_true(n.server.close_err != 0);
    assert_string_not_equal(conn_strerror(TLS_EPEERKEY), "unknown connection error");
    net_free(&n);
}

/* A burst grows TLS buffers on both ends (the server's output, the
 * client's input); once the connection has been quiet for CONN_SHRINK_MS
 * they are freed, and the connection goes on working. */
static void test_conn_quiet_shrinks(void **state)
{
    (void)state;
    struct net n;
    net_init(&n);
    net_connect(&n);
    RUN_UNTIL(&n,
              n.server.conn && conn_established(n.server.conn) && conn_established(n.client.conn));
    size_t base = heap_in_use();
    n.server.reply_chunks = 4;
    send_ping(n.client.conn, 1, 10, 0);
    RUN_UNTIL(&n, n.client.ngot == 4);
    /* what stays: the four chunks the client keeps, and a little */
    size_t kept = 4 * (WIRE_MAX_CHUNK + sizeof(struct wire_msg)) + 64 * 1024;
    RUN_UNTIL(&n, heap_in_use() < base + kept);
    send_ping(n.client.conn, 2, 10, 0);
    RUN_UNTIL(&n, n.client.ngot == 8);
    assert_int_equal(n.client.got[7].type, WIRE_CHUNK);
    assert_int_equal(n.client.got[7].u.chunk.len, WIRE_MAX_CHUNK);
    net_free(&n);
}

/* A client that pipelines requests without reading the answers: the
 * server stops taking requests once its queue passes the high-water mark,
 * and answers the rest, in order, once the client reads again. With
 * one_record every request is in one TLS record, so the server stops in
 * the middle of what it decrypted and keeps the rest for later. */
#define PIPELINED 200

static void backpressure(bool one_record)
{
    struct net n;
    net_init(&n);
    n.server.reply_chunks = 1;
    const int total = PIPELINED;

    /* the client: our TLS session over a plain non-blocking socket */
    struct tls_session *cs = tls_session_new(n.cctx, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", n.port, &a);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    assert_int_equal(tls_session_start(cs), 0);

    uint8_t *out = NULL;
    size_t out_len = 0, out_off = 0;
    uint8_t buf[65536];
    bool reading = true;
    struct wire_parser *parser = wire_parser_new();
    int answers = 0;
    bool sent = false;
    uint64_t t0 = testutil_now_ns(), stop_reading_at = 0;
    for (;;) {
        /* move TLS output to the socket */
        size_t pend = tls_session_output_pending(cs);
        if (pend) {
            out = xrealloc(out, out_len + pend);
            out_len += tls_session_take_output(cs, out + out_len, pend);
        }
        while (out_off < out_len) {
            ssize_t w = write(fd, out + out_off, out_len - out_off);
            if (w <= 0)
                break;
            out_off += (size_t)w;
        }
        if (reading) {
            ssize_t r;
            while ((r = read(fd, buf, sizeof(buf))) > 0) {
                assert_int_equal(tls_session_feed(cs, buf, (size_t)r), 0);
                int m;
                while ((m = tls_session_read(cs, buf, sizeof(buf))) > 0) {
                    size_t off = 0;
                    while (off < (size_t)m) {
                        size_t used;
                        struct wire_msg msg;
                        int rc = wire_parser_feed(parser, buf + off, (size_t)m - off, &used, &msg);
                        assert_true(rc >= 0);
                        off += used;
                        if (rc == WIRE_MSG) {
                            assert_int_equal(msg.type, WIRE_CHUNK);
                            assert_int_equal(msg.rid, (uint32_t)answers);
                            answers++;
                            wire_msg_clear(&msg);
                        }
                    }
                }
            }
        }
        if (tls_session_established(cs) && !sent) {
            uint8_t pings[PIPELINED][9];
            for (int i = 0; i < total; i++) {
                uint8_t ping[9] = {0, 0, 0, 4, WIRE_PING, 0, 0, 0, (uint8_t)i};
                memcpy(pings[i], ping, sizeof(ping));
                if (!one_record)
                    assert_int_equal(tls_session_write(cs, ping, sizeof(ping)), 0);
            }
            if (one_record)
                assert_int_equal(tls_session_write(cs, &pings[0][0], sizeof(pings)), 0);
            sent = true;
            reading = false; /* now misbehave: do not read the answers */
            stop_reading_at = testutil_now_ns();
        }
        uv_run(&n.loop, UV_RUN_NOWAIT);
        if (sent && !reading && testutil_now_ns() - stop_reading_at > 300000000ull) {
            /* the server held back: it did not take every request */
            assert_true(n.server.ngot < total);
            assert_true(n.server.max_queued < CONN_HIGH_WATER + 2 * WIRE_MAX_CHUNK);
            print_message("backpressure: server took %d of %d requests while unread\n",
                          n.server.ngot, total);
            reading = true;
        }
        if (answers == total)
            break;
        usleep(100);
        assert_true(testutil_now_ns() - t0 < 20000000000ull);
    }
    assert_int_equal(n.server.ngot, total);
    close(fd);
    RUN_UNTIL(&n, n.server.closed);
    wire_parser_free(parser);
    tls_session_free(cs);
    free(out);
    net_free(&n);
}

static void test_conn_backpressure(void **state)
{
    (void)state;
    backpressure(false);
}

static void test_conn_backpressure_one_record(void **state)
{
    (void)state;
    backpressure(true);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* peers hang up mid-write here on purpose */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_files),
        cmocka_unit_test(test_session_pair),
        cmocka_unit_test(test_session_expected_key),
        cmocka_unit_test(test_session_shrink),
        cmocka_unit_test(test_server_refuses),
        cmocka_unit_test(test_conn_priority_and_cancel),
        cmocka_unit_test(test_conn_protocol_error),
        cmocka_unit_test(test_conn_timeout_and_wrong_key),
        cmocka_unit_test(test_conn_quiet_shrinks),
        cmocka_unit_test(test_conn_backpressure),
        cmocka_unit_test(test_conn_backpressure_one_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
