/* chorus-bench service: chunk serving throughput of chorusd over TLS on
 * loopback, next to a plain TCP copy of the same bytes in the same run,
 * and tracker lookups per second. Prints figures; asserts nothing.
 *
 * A service runs on its own thread (svc_thread) over a temporary data
 * directory holding one random file. Clients (net/client.h, on this
 * thread's loop) fetch the whole file with pipelined GET_CHUNKS requests;
 * the plain copy sends the same bytes over bare TCP sockets, one sender
 * and one receiver thread per connection. Lookups: peers announce a set of
 * files so each has a full tracker entry list, then clients pipeline
 * LOOKUPs; the in-process figure calls tracker_lookup directly.
 *
 * --idle N measures something else, alone: the memory each of N idle TLS
 * connections costs (net/conn.h directly, both ends here). */
#include <arpa/inet.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bench_commands.h"
#include "bench_util.h"
#include "base/content_crypto.h"
#include "base/manifest.h"
#include "library/store.h"
#include "base/xmalloc.h"
#include "net/account.h"
#include "net/client.h"
#include "net/conn.h"
#include "net/svc.h"
#include "net/tracker.h"

#define CS           MANIFEST_CHUNK_SIZE
#define BLOCK        128 /* chunks per GET_CHUNKS */
#define IN_FLIGHT    2   /* requests outstanding per client */
#define WAIT_MS      30000
#define LOOKUP_FILES 1000
#define ANNOUNCERS   TRACKER_KEEP

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench {
    uv_loop_t loop;
    struct svc_thread *svc;
    int port;
    uint8_t key[TLS_KEY_LEN];
    uint8_t *data; /* the stored (encrypted) file */
    size_t len;
    uint8_t id[WIRE_ID_LEN];
    uint32_t chunks;
    unsigned passes;
    int failures;
};

struct fetcher {
    struct bench *b;
    struct tls_identity *id;
    struct svc_client *c;
    struct {
        uint32_t rid, left;
    } req[IN_FLIGHT];
    uint32_t next;     /* next chunk to ask for, over all passes */
    uint64_t received; /* chunks, over all passes */
    uint64_t bytes;
    uint64_t lookups_total, lookups_left, lookups_done;
    bool done;
};

/* ---- clients ---- */

static int open_client(struct bench *b, struct fetcher *f)
{
    if (tls_identity_generate(&f->id) < 0)
        return -1;
    struct svc_client_opts o = {
        .host = "127.0.0.1",
        .port = (uint16_t)b->port,
        .identity = f->id,
        .service_key = b->key,
    };
    int rc = svc_client_new(&b->loop, &o, &f->c);
    if (rc == 0)
        rc = svc_client_wait_ready(f->c, WAIT_MS);
    if (rc == 0)
        rc = svc_client_login_sync(f->c, "bench", "bench", WAIT_MS);
    if (rc < 0)
        fprintf(stderr, "chorus-bench service: client: %s\n", svc_client_strerror(rc));
    return rc;
}

/* Closes the clients; their memory goes once the loop runs their close
 * callbacks (settle). */
static void close_clients(struct fetcher *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (f[i].c)
            svc_client_close(f[i].c);
        tls_identity_free(f[i].id);
    }
}

static void settle(struct bench *b)
{
    uv_run(&b->loop, UV_RUN_DEFAULT);
}

static void ask_block(struct fetcher *f, unsigned slot)
{
    struct bench *b = f->b;
    uint64_t total = (uint64_t)b->chunks * b->passes;
    if (f->next >= total) {
        f->req[slot].rid = 0;
        return;
    }
    uint32_t first = f->next % b->chunks;
    uint32_t count = b->chunks - first < BLOCK ? b->chunks - first : BLOCK;
    f->req[slot].rid = svc_client_get_chunks(f->c, b->id, first, count, WIRE_PRIO_PLAYING, 0);
    f->req[slot].left = count;
    f->next += count;
}

static void on_chunk(struct svc_client *c, struct wire_msg *m, void *arg)
{
    (void)c;
    struct fetcher *f = arg;
    if (m->type != WIRE_CHUNK) {
        fprintf(stderr, "chorus-bench service: unexpected %s\n", wire_type_name(m->type));
        f->b->failures++;
        f->done = true;
        return;
    }
    f->received++;
    f->bytes += m->u.chunk.len;
    for (unsigned s = 0; s < IN_FLIGHT; s++)
        if (f->req[s].rid == m->rid && --f->req[s].left == 0)
            ask_block(f, s);
    if (f->received == (uint64_t)f->b->chunks * f->b->passes)
        f->done = true;
}

static bool all_done(struct fetcher *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!f[i].done && f[i].c && svc_client_ready(f[i].c))
            return false;
    return true;
}

static void run_until_done(struct bench *b, struct fetcher *f, unsigned n)
{
    while (!all_done(f, n))
        uv_run(&b->loop, UV_RUN_ONCE);
    for (unsigned i = 0; i < n; i++)
        if (!f[i].done) {
            fprintf(stderr, "chorus-bench service: a client lost its connection\n");
            b->failures++;
        }
}

static void row(const char *what, double mib_s, double per_s, const char *unit)
{
    if (per_s > 0)
        printf("  %-44s %10.1f %12.0f %s\n", what, mib_s, per_s, unit);
    else
        printf("  %-44s %10.1f\n", what, mib_s);
}

/* n clients fetch the whole file b->passes times each, at once. */
static void bench_tls(struct bench *b, unsigned n)
{
    struct fetcher *f = xcalloc(n, sizeof(*f));
    for (unsigned i = 0; i < n; i++) {
        f[i].b = b;
        if (open_client(b, &f[i]) < 0) {
            b->failures++;
            close_clients(f, n);
            settle(b);
            free(f);
            return;
        }
        svc_client_set_handler(f[i].c, on_chunk, &f[i]);
    }
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++)
        for (unsigned s = 0; s < IN_FLIGHT; s++)
            ask_block(&f[i], s);
    run_until_done(b, f, n);
    double secs = now_s() - t0;
    uint64_t bytes = 0, chunks = 0;
    for (unsigned i = 0; i < n; i++) {
        bytes += f[i].bytes;
        chunks += f[i].received;
    }
    char label[80];
    snprintf(label, sizeof(label), "TLS, chorusd, %u client%s%s", n, n > 1 ? "s" : "",
             n > 1 ? " (total)" : "");
    row(label, (double)bytes / (1024.0 * 1024.0) / secs, (double)chunks / secs, "chunks/s");
    close_clients(f, n);
    settle(b);
    free(f);
}

/* ---- the plain TCP copy ---- */

struct plain {
    const uint8_t *data;
    size_t len;
    unsigned passes;
    int listen_fd, fd;
    uint64_t got;
};

static void *plain_send(void *arg)
{
    struct plain *p = arg;
    int fd = accept(p->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    for (unsigned i = 0; i < p->passes; i++) {
        size_t off = 0;
        while (off < p->len) {
            size_t n = p->len - off < 65536 ? p->len - off : 65536;
            ssize_t w = write(fd, p->data + off, n);
            if (w <= 0)
                goto out;
            off += (size_t)w;
        }
    }
out:
    close(fd);
    return NULL;
}

static void *plain_recv(void *arg)
{
    struct plain *p = arg;
    uint8_t *buf = xmalloc(65536);
    ssize_t r;
    while ((r = read(p->fd, buf, 65536)) > 0)
        p->got += (uint64_t)r;
    free(buf);
    return NULL;
}

static int plain_open(struct plain *p)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(p->listen_fd, 1) < 0 || getsockname(p->listen_fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    int one = 1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

static void bench_plain(struct bench *b, unsigned n)
{
    struct plain *p = xcalloc(n, sizeof(*p));
    pthread_t *ts = xcalloc(2 * n, sizeof(pthread_t));
    for (unsigned i = 0; i < n; i++) {
        p[i] = (struct plain){.data = b->data, .len = b->len, .passes = b->passes};
        if (plain_open(&p[i]) < 0) {
            perror("chorus-bench service: plain TCP");
            b->failures++;
            n = i;
            goto out;
        }
    }
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        pthread_create(&ts[2 * i], NULL, plain_send, &p[i]);
        pthread_create(&ts[2 * i + 1], NULL, plain_recv, &p[i]);
    }
    for (unsigned i = 0; i < 2 * n; i++)
        pthread_join(ts[i], NULL);
    double secs = now_s() - t0;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        bytes += p[i].got;
        if (p[i].got != (uint64_t)b->len * b->passes)
            b->failures++;
    }
    char label[80];
    snprintf(label, sizeof(label), "plain TCP copy, %u connection%s%s", n, n > 1 ? "s" : "",
             n > 1 ? " (total)" : "");
    row(label, (double)bytes / (1024.0 * 1024.0) / secs, 0, NULL);
out:
    for (unsigned i = 0; i < n; i++) {
        close(p[i].fd);
        close(p[i].listen_fd);
    }
    free(ts);
    free(p);
}

/* ---- tracker lookups ---- */

/* The id of lookup file i. */
static void file_id(uint8_t id[WIRE_ID_LEN], unsigned i)
{
    memset(id, 0, WIRE_ID_LEN);
    memcpy(id, &i, sizeof(i));
    id[31] = 0xc5;
}

static void file_ids(uint8_t (*ids)[WIRE_ID_LEN], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        file_id(ids[i], i);
}

static void on_peers(struct svc_client *c, struct wire_msg *m, void *arg)
{
    struct fetcher *f = arg;
    if (m->type != WIRE_PEERS || m->u.peers.count != TRACKER_RETURN) {
        fprintf(stderr, "chorus-bench service: unexpected lookup reply\n");
        f->b->failures++;
        f->done = true;
        return;
    }
    f->lookups_done++;
    if (f->lookups_left) {
        uint8_t id[WIRE_ID_LEN];
        file_id(id, (unsigned)(f->lookups_left % LOOKUP_FILES));
        svc_client_lookup(c, id);
        f->lookups_left--;
    } else if (f->lookups_done == f->lookups_total) {
        f->done = true;
    }
}

static void bench_lookups(struct bench *b, unsigned n, uint64_t total, unsigned window)
{
    uint8_t(*ids)[WIRE_ID_LEN] = xmalloc(LOOKUP_FILES * WIRE_ID_LEN);
    file_ids(ids, LOOKUP_FILES);
    struct fetcher *ann = xcalloc(ANNOUNCERS, sizeof(*ann));
    struct fetcher *f = xcalloc(n, sizeof(*f));
    for (unsigned i = 0; i < ANNOUNCERS; i++) {
        ann[i].b = b;
        if (open_client(b, &ann[i]) < 0)
            goto fail;
        struct wire_msg m;
        uint32_t rid = svc_client_announce(ann[i].c, (uint16_t)(5000 + i),
                                           (const uint8_t(*)[WIRE_ID_LEN])ids, LOOKUP_FILES, false);
        if (svc_client_wait(ann[i].c, rid, &m, WAIT_MS) < 0 || m.type != WIRE_OK)
            goto fail;
        wire_msg_clear(&m);
    }
    for (unsigned i = 0; i < n; i++) {
        f[i].b = b;
        if (open_client(b, &f[i]) < 0)
            goto fail;
        svc_client_set_handler(f[i].c, on_peers, &f[i]);
    }
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        f[i].lookups_total = total / n;
        f[i].lookups_left = f[i].lookups_total - window;
        for (unsigned w = 0; w < window; w++)
            svc_client_lookup(f[i].c, ids[w % LOOKUP_FILES]);
    }
    run_until_done(b, f, n);
    double secs = now_s() - t0;
    uint64_t done = 0;
    for (unsigned i = 0; i < n; i++)
        done += f[i].lookups_done;
    char label[80];
    snprintf(label, sizeof(label), "over TLS, %u client%s, %u in flight each", n, n > 1 ? "s" : "",
             window);
    printf("  %-44s %10.0f\n", label, (double)done / secs);
    goto out;
fail:
    fprintf(stderr, "chorus-bench service: lookup setup failed\n");
    b->failures++;
out:
    close_clients(ann, ANNOUNCERS);
    close_clients(f, n);
    settle(b);
    free(ann);
    free(f);
    free(ids);
}

static void bench_tracker_direct(uint64_t total)
{
    struct tracker *t = tracker_new(0);
    uint8_t(*ids)[WIRE_ID_LEN] = xmalloc(LOOKUP_FILES * WIRE_ID_LEN);
    file_ids(ids, LOOKUP_FILES);
    for (unsigned p = 0; p < ANNOUNCERS; p++) {
        uint8_t addr[16] = {127, 0, 0, 1}, key[WIRE_ID_LEN] = {(uint8_t)p};
        struct tracker_peer *tp = tracker_peer_add(t, 4, addr, key, 0);
        tracker_announce(t, tp, (uint16_t)(5000 + p), (const uint8_t(*)[WIRE_ID_LEN])ids,
                         LOOKUP_FILES, 0);
    }
    struct wire_peer out[TRACKER_RETURN];
    uint64_t found = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < total; i++)
        found += tracker_lookup(t, ids[i % LOOKUP_FILES], NULL, 1, out, TRACKER_RETURN);
    double secs = now_s() - t0;
    printf("  %-44s %10.0f\n", "tracker_lookup() in process", (double)total / secs);
    if (found != total * TRACKER_RETURN)
        fprintf(stderr, "chorus-bench service: in-process lookups found too few peers\n");
    tracker_free(t);
    free(ids);
}

/* ---- idle connections (--idle) ---- */

/* What many quiet connections cost: n TLS connections on loopback, both
 * ends on this thread's loop (net/conn.h directly, no service), measured
 * after the handshake and again after one full CHUNK each way (what a
 * peer link that has carried data keeps while it idles). Heap bytes are
 * what malloc hands out (mallinfo2: exact, touched or not); RSS is what
 * the kernel maps (/proc/self/statm), so pages reserved but never written
 * do not count there. */

struct idle_bench {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct tls_ctx *sctx, *cctx;
    struct conn **conns; /* n clients, then the accepted ends */
    unsigned n, nconns, established, messages, closed, failures;
};

struct mem_use {
    uint64_t heap, rss;
};

static struct mem_use mem_now(void)
{
    struct mallinfo2 mi = mallinfo2();
    struct mem_use m = {.heap = mi.uordblks + mi.hblkhd};
    unsigned long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%lu %lu", &size, &resident) == 2)
        m.rss = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
    if (f)
        fclose(f);
    return m;
}

static void idle_established(struct conn *c, void *arg)
{
    (void)c;
    ((struct idle_bench *)arg)->established++;
}

static void idle_message(struct conn *c, struct wire_msg *m, void *arg)
{
    (void)c;
    (void)m;
    ((struct idle_bench *)arg)->messages++;
}

static void idle_close(struct conn *c, int err, void *arg)
{
    struct idle_bench *ib = arg;
    ib->closed++;
    for (unsigned i = 0; i < ib->nconns; i++)
        if (ib->conns[i] == c)
            ib->conns[i] = NULL; /* freed when this returns */
    if (err) {
        fprintf(stderr, "chorus-bench service: idle connection closed: %s\n", conn_strerror(err));
        ib->failures++;
    }
}

static const struct conn_callbacks idle_callbacks = {
    .on_established = idle_established,
    .on_message = idle_message,
    .on_close = idle_close,
};

static void idle_accept(uv_stream_t *server, int status)
{
    struct idle_bench *ib = server->data;
    if (status < 0 || ib->nconns == 2 * ib->n ||
        conn_accept(server, ib->sctx, &idle_callbacks, ib, &ib->conns[ib->nconns]) < 0) {
        ib->failures++;
        return;
    }
    ib->nconns++;
}

/* Runs the loop until *count reaches want or something failed. */
static bool idle_wait(struct idle_bench *ib, const unsigned *count, unsigned want)
{
    while (*count < want && ib->failures == 0)
        uv_run(ib->loop, UV_RUN_ONCE);
    return ib->failures == 0;
}

static void idle_timer_done(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop for ms (the connections stay quiet). */
static void idle_run_for(struct idle_bench *ib, uint64_t ms)
{
    bool done = false;
    uv_timer_t t;
    uv_timer_init(ib->loop, &t);
    t.data = &done;
    uv_timer_start(&t, idle_timer_done, ms, 0);
    while (!done)
        uv_run(ib->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(ib->loop, UV_RUN_NOWAIT);
}

static int idle_listen(struct idle_bench *ib, struct sockaddr_in *addr)
{
    uv_ip4_addr("127.0.0.1", 0, addr);
    int len = sizeof(*addr);
    int rc = uv_tcp_bind(&ib->listener, (struct sockaddr *)addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&ib->listener, 511, idle_accept);
    if (rc == 0)
        rc = uv_tcp_getsockname(&ib->listener, (struct sockaddr *)addr, &len);
    return rc;
}

/* Connects the n clients; their other ends arrive through idle_accept. */
static void idle_connect(struct idle_bench *ib, const struct sockaddr_in *addr,
                         const uint8_t key[TLS_KEY_LEN])
{
    for (unsigned i = 0; i < ib->n; i++) {
        if (conn_connect(ib->loop, (const struct sockaddr *)addr, ib->cctx, key, &idle_callbacks,
                         ib, &ib->conns[ib->nconns]) < 0) {
            ib->failures++;
            return;
        }
        ib->nconns++;
    }
}

/* One full CHUNK from every connection to its other end. */
static void idle_send_chunks(struct idle_bench *ib)
{
    static uint8_t data[WIRE_MAX_CHUNK];
    struct wire_msg m = {.type = WIRE_CHUNK, .rid = 1};
    m.u.chunk.data = data;
    m.u.chunk.len = sizeof(data);
    for (unsigned i = 0; i < ib->nconns; i++)
        if (conn_send(ib->conns[i], &m, 1, 0) < 0)
            ib->failures++;
}

static void idle_print(const char *what, struct mem_use base, struct mem_use now, unsigned conns)
{
    printf("  %-44s %10.0f %12.0f\n", what, ((double)now.heap - (double)base.heap) / conns,
           ((double)now.rss - (double)base.rss) / conns);
}

static void idle_measure(struct idle_bench *ib, const struct sockaddr_in *addr,
                         const uint8_t key[TLS_KEY_LEN])
{
    printf("%u idle TLS connections on loopback, both ends here (%u conns)\n", ib->n, 2 * ib->n);
    printf("%-46s %10s %12s\n", "cost per conn", "heap B", "RSS B");
    struct mem_use base = mem_now();
    idle_connect(ib, addr, key);
    if (!idle_wait(ib, &ib->established, 2 * ib->n))
        return;
    idle_print("after the handshake", base, mem_now(), 2 * ib->n);
    idle_send_chunks(ib);
    if (!idle_wait(ib, &ib->messages, 2 * ib->n))
        return;
    idle_print("after one 64 KiB CHUNK each way", base, mem_now(), 2 * ib->n);
    idle_run_for(ib, 2 * CONN_SHRINK_MS);
    idle_print("the same, quiet for 2 s", base, mem_now(), 2 * ib->n);
}

/* Each connection is a descriptor, both ends here: lift the soft limit
 * as far as the hard one allows. */
static void raise_fd_limit(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static void bench_idle(struct bench *b, unsigned n)
{
    struct idle_bench ib = {.loop = &b->loop, .n = n};
    struct tls_identity *sid = NULL, *cid = NULL;
    raise_fd_limit(2 * (rlim_t)n + 64);
    struct sockaddr_in addr;
    uint8_t key[TLS_KEY_LEN];
    ib.conns = xcalloc(2 * (size_t)n, sizeof(*ib.conns));
    uv_tcp_init(ib.loop, &ib.listener);
    ib.listener.data = &ib;
    if (tls_identity_generate(&sid) < 0 || tls_identity_generate(&cid) < 0 ||
        tls_ctx_new(sid, true, &ib.sctx) < 0 || tls_ctx_new(cid, false, &ib.cctx) < 0 ||
        idle_listen(&ib, &addr) < 0) {
        fprintf(stderr, "chorus-bench service: cannot set up the idle connections\n");
        ib.failures++;
    } else {
        tls_identity_public_key(sid, key);
        idle_measure(&ib, &addr, key);
    }
    unsigned failures = ib.failures;
    for (unsigned i = 0; i < ib.nconns; i++)
        if (ib.conns[i])
            conn_close(ib.conns[i], 0);
    ib.failures = 0;
    idle_wait(&ib, &ib.closed, ib.nconns);
    if (failures || ib.failures) {
        fprintf(stderr, "chorus-bench service: the idle connections failed\n");
        b->failures++;
    }
    uv_close((uv_handle_t *)&ib.listener, NULL);
    settle(b);
    tls_ctx_free(ib.sctx);
    tls_ctx_free(ib.cctx);
    tls_identity_free(sid);
    tls_identity_free(cid);
    free(ib.conns);
}

static int bench_idle_main(unsigned n)
{
    struct bench b = {0};
    uv_loop_init(&b.loop);
    bench_idle(&b, n);
    uv_loop_close(&b.loop);
    return b.failures ? 1 : 0;
}

/* ---- set-up ---- */

static int make_data(struct bench *b, const char *dir, size_t mib)
{
    struct store *st;
    int rc = store_open(dir, &st);
    if (rc < 0) {
        fprintf(stderr, "chorus-bench service: store in %s: %s\n", dir, store_strerror(rc));
        return -1;
    }
    b->len = mib * 1024 * 1024;
    b->data = xmalloc(b->len);
    struct content_key key;
    struct content_id id;
    RAND_bytes(b->data, (int)b->len); /* stands for encrypted audio */
    content_key_generate(&key);
    rc = store_put(st, b->data, b->len, &key, &id);
    store_free(st);
    if (rc < 0) {
        fprintf(stderr, "chorus-bench service: store_put: %s\n", store_strerror(rc));
        return -1;
    }
    memcpy(b->id, id.bytes, WIRE_ID_LEN);
    b->chunks = (uint32_t)((b->len + CS - 1) / CS);

    char *path = xasprintf("%s/%s", dir, SVC_ACCOUNTS_NAME);
    struct account_db *db;
    const struct account_params cheap = {10, 8, 1}; /* logins are not what is measured */
    rc = account_open(path, &db);
    if (rc == 0) {
        rc = account_add(db, "bench", "bench", &cheap);
        account_close(db);
    }
    free(path);
    if (rc < 0) {
        fprintf(stderr, "chorus-bench service: accounts: %s\n", account_strerror(rc));
        return -1;
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorus-bench service [--size MIB] [--passes N] [--clients N]\n"
                 "                            [--lookups N] [--dir DIR]\n"
                 "       chorus-bench service --idle N\n"
                 "\n"
                 "Chunk serving throughput of the service over TLS on loopback next to a\n"
                 "plain TCP copy of the same bytes, and tracker lookups per second.\n"
                 "\n"
                 "  -s, --size MIB    size of the file served (default 32)\n"
                 "  -p, --passes N    times each client fetches it (default 4)\n"
                 "  -c, --clients N   clients fetching at once in the second run (default 4)\n"
                 "  -l, --lookups N   tracker lookups over TLS (default 200000)\n"
                 "  -d, --dir DIR     where to make the temporary data directory (default $TMPDIR\n"
                 "                    or /tmp)\n"
                 "  -i, --idle N      only this: the memory each of N idle TLS connections costs\n"
                 "                    (both ends in this process)\n");
}

int bench_service_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"size", required_argument, NULL, 's'},    {"passes", required_argument, NULL, 'p'},
        {"clients", required_argument, NULL, 'c'}, {"lookups", required_argument, NULL, 'l'},
        {"dir", required_argument, NULL, 'd'},     {"idle", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    unsigned long size = 32, passes = 4, clients = 4, lookups = 200000, idle = 0;
    const char *base = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "s:p:c:l:d:i:h", options, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 's':
            ok = bench_parse_count(optarg, 1, 1024, &size);
            break;
        case 'p':
            ok = bench_parse_count(optarg, 1, 1000, &passes);
            break;
        case 'c':
            ok = bench_parse_count(optarg, 1, 256, &clients);
            break;
        case 'l':
            ok = bench_parse_count(optarg, 1000, 100000000, &lookups);
            break;
        case 'd':
            base = optarg;
            break;
        case 'i':
            ok = bench_parse_count(optarg, 1, 5000, &idle);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "chorus-bench service: --%s: out of range\n",
                    c == 's'   ? "size"
                    : c == 'p' ? "passes"
                    : c == 'c' ? "clients"
                    : c == 'l' ? "lookups"
                               : "idle");
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setenv("UV_THREADPOOL_SIZE", "8", 0); /* as chorusd serve does */
    if (idle)
        return bench_idle_main((unsigned)idle);

    char *dir = bench_make_workdir(base, "service");
    if (!dir)
        return 1;
    struct bench b = {.passes = (unsigned)passes};
    int status = 1;
    uv_loop_init(&b.loop);
    if (make_data(&b, dir, size) < 0)
        goto out;
    struct svc_config cfg = {.data_dir = dir, .listen_addr = "127.0.0.1"};
    int rc = svc_thread_start(&cfg, &b.svc);
    if (rc < 0) {
        fprintf(stderr, "chorus-bench service: cannot start the service: %s\n", svc_strerror(rc));
        goto out;
    }
    b.port = svc_thread_port(b.svc);
    svc_thread_public_key(b.svc, b.key);

    printf("service benchmark: a %lu MiB file (%u chunks of %u KiB), each client fetching it\n"
           "%lu times with %u requests of %u chunks in flight; loopback, data in %s\n\n",
           size, b.chunks, CS / 1024, passes, IN_FLIGHT, BLOCK, dir);
    printf("%-46s %10s %12s\n", "chunk serving", "MiB/s", "");
    bench_plain(&b, 1);
    bench_tls(&b, 1);
    bench_plain(&b, (unsigned)clients);
    bench_tls(&b, (unsigned)clients);
    printf("\n%-46s %10s\n", "tracker lookups (20 holders per file)", "lookups/s");
    bench_lookups(&b, 1, lookups, 256);
    bench_lookups(&b, (unsigned)clients, lookups, 256);
    bench_tracker_direct(lookups * 10);

    struct svc_stats st;
    svc_thread_stop(b.svc, &st);
    printf("\nservice: %llu chunks served (%.1f MiB), %llu lookups, %llu clients\n",
           (unsigned long long)st.chunks_served, (double)st.bytes_served / (1024.0 * 1024.0),
           (unsigned long long)st.lookups, (unsigned long long)st.clients_total);
    status = b.failures ? 1 : 0;
    if (b.failures)
        fprintf(stderr, "chorus-bench service: %d step(s) failed; figures are incomplete\n",
                b.failures);
out:
    uv_loop_close(&b.loop);
    free(b.data);
    if (bench_remove_tree(dir) != 0)
        fprintf(stderr, "chorus-bench service: could not remove all of %s\n", dir);
    free(dir);
    return status;
}
