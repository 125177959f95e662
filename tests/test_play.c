/* test_play: the listening path — net/fetch.h against a real service, and
 * the real `chorus play` binary end to end.
 *
 * The service runs in this process (svc_thread) on 127.0.0.1, port 0, over
 * a data directory made here: random encrypted files put straight into the
 * store (for the fetch tests, which do not care what the bytes are) and
 * two short tracks the test encodes itself and imports (audio/import.h)
 * for `chorus play`, plus one account.
 *
 * fetch: a download equals the stored file chunk for chunk and a second
 * one makes no chunk request; a chunk whose bytes were damaged on the way
 * is refused by the cache and asked for again; an urgent request overtakes
 * the bulk and stale generations are dropped; releasing a file cancels its
 * requests; a lost connection and an unknown file fail cleanly.
 * chorus play: the WAV it writes is as long as the two tracks and not
 * silent, from the service and again from the cache; a wrong password, a
 * query with no match and an unreachable service exit 1 with a clear
 * message. */
#include "testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "audio/import.h"
#include "audio_fixtures.h"
#include "core/cache.h"
#include "base/content_crypto.h"
#include "library/store.h"
#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "net/account.h"
#include "net/client.h"
#include "core/clientdb.h"
#include "core/fetch.h"
#include "net/svc.h"

#define T_MS 20000 /* generous: sanitizer builds are slow */
#define USER "ann"
#define PASS "correct horse"

extern char **environ;

static const struct account_params fast = {10, 8, 1};

/* ---- the service's data ---- */

struct blob {
    struct content_id id;
    uint8_t *enc;
    size_t len;
    uint32_t chunks;
};

enum { BIG, SMALL, NBLOBS };

static struct {
    char *dir;
    struct blob b[NBLOBS];
    double seconds; /* the two imported tracks together */
    struct svc_thread *srv;
    int port;
    uint8_t key[TLS_KEY_LEN];
} D;

static void make_blob(struct store *st, struct blob *b, size_t len)
{
    b->len = len;
    uint8_t *plain = xmalloc(len);
    b->enc = xmalloc(len);
    struct content_key key;
    assert_int_equal(RAND_bytes(plain, (int)len), 1);
    assert_int_equal(content_key_generate(&key), 0);
    assert_int_equal(content_crypt(&key, 0, plain, b->enc, len), 0);
    assert_int_equal(store_put(st, b->enc, len, &key, &b->id), 0);
    b->chunks = (uint32_t)((len + MANIFEST_CHUNK_SIZE - 1) / MANIFEST_CHUNK_SIZE);
    free(plain);
}

static void import_track(struct importer *imp, const char *src, const char *name,
                         enum fixture_wave wave, double seconds, const char *number)
{
    char *path = xasprintf("%s/%s.flac", src, name);
    struct fixture_tags tags = {.title = name,
                                .artist = "Zebra Quartet",
                                .album = "Test Album",
                                .track = number,
                                .date = "2020"};
    fixture_write(path, FIXTURE_FLAC, wave, seconds, 44100, 2, &tags);
    struct import_report rep;
    assert_int_equal(import_file(imp, path, NULL, &rep), 0);
    assert_int_equal(rep.outcome, IMPORT_IMPORTED);
    D.seconds += rep.seconds;
    free(path);
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    D.dir = testutil_tempdir("play");
    char *src = xasprintf("%s/src", D.dir);
    assert_int_equal(mkdir(src, 0700), 0);
    struct importer *imp;
    assert_int_equal(import_open(D.dir, &imp), 0);
    import_track(imp, src, "First Light", FIXTURE_CHORD, 3.0, "1");
    import_track(imp, src, "Second Wind", FIXTURE_SINE, 2.0, "2");
    import_free(imp);
    free(src);

    /* After the import: opening an importer prunes stored files that no
     * track refers to, and these are not in the catalog. */
    struct store *st;
    assert_int_equal(store_open(D.dir, &st), 0);
    make_blob(st, &D.b[BIG], 200 * MANIFEST_CHUNK_SIZE + 777);
    make_blob(st, &D.b[SMALL], 5 * MANIFEST_CHUNK_SIZE + 100);
    store_free(st);

    char *path = xasprintf("%s/%s", D.dir, SVC_ACCOUNTS_NAME);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_add(db, USER, PASS, &fast), 0);
    account_close(db);
    free(path);

    struct svc_config cfg = {.data_dir = D.dir, .listen_addr = "127.0.0.1"};
    assert_int_equal(svc_thread_start(&cfg, &D.srv), 0);
    D.port = svc_thread_port(D.srv);
    svc_thread_public_key(D.srv, D.key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    svc_thread_stop(D.srv, NULL);
    for (int i = 0; i < NBLOBS; i++)
        free(D.b[i].enc);
    testutil_rmtree(D.dir);
    free(D.dir);
    return 0;
}

/* ---- a client side: loop, cache, logged-in connection, fetch ---- */

#define MAX_ORDER 1024

struct rig {
    uv_loop_t loop;
    uv_timer_t wake; /* keeps UV_RUN_ONCE from sleeping for ever */
    char *dir;
    struct cache *cache;
    struct tls_identity *id;
    struct svc_client *client;
    struct fetch *fetch;
    bool closed;
    /* events */
    int nready, ncomplete, nerror, events;
    int error;
    struct fetch_event ready;
    bool release_at_ready;
    int release_after_chunks; /* spy_handler releases h after this many CHUNKs */
    struct fetch_handle *h;
    /* chunk arrival order (through on_message) */
    uint32_t order[MAX_ORDER];
    int norder;
    bool corrupt_one; /* damage the first CHUNK's bytes */
    uint32_t corrupted_index;
    bool corrupted;
    /* requests made from another thread at READY */
    bool urgent_at_ready;
};

static void wake_cb(uv_timer_t *t)
{
    (void)t;
}

static void rig_open(struct rig *r, const char *name, int port, const uint8_t *key)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(uv_loop_init(&r->loop), 0);
    uv_timer_init(&r->loop, &r->wake);
    uv_timer_start(&r->wake, wake_cb, 20, 20);
    r->dir = testutil_tempdir(name);
    struct cache_config cc = {.dir = r->dir, .loop = &r->loop};
    assert_int_equal(cache_open(&cc, &r->cache), 0);
    assert_int_equal(tls_identity_generate(&r->id), 0);
    struct svc_client_opts o = {
        .host = "127.0.0.1", .port = (uint16_t)port, .identity = r->id, .service_key = key};
    assert_int_equal(svc_client_new(&r->loop, &o, &r->client), 0);
    assert_int_equal(svc_client_wait_ready(r->client, T_MS), 0);
    assert_int_equal(svc_client_login_sync(r->client, USER, PASS, T_MS), 0);
    struct fetch_config fc = {.loop = &r->loop, .client = r->client, .cache = r->cache};
    assert_int_equal(fetch_new(&fc, &r->fetch), 0);
}

static void set_flag(void *arg)
{
    *(bool *)arg = true;
}

static void rig_close(struct rig *r)
{
    fetch_close(r->fetch, set_flag, &r->closed);
    uint64_t end = testutil_now_ns() + (uint64_t)T_MS * 1000000u;
    while (!r->closed && testutil_now_ns() < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_true(r->closed);
    assert_int_equal(cache_pending(r->cache), 0);
    cache_free(r->cache);
    svc_client_close(r->client);
    uv_close((uv_handle_t *)&r->wake, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
    tls_identity_free(r->id);
    testutil_rmtree(r->dir);
    free(r->dir);
}

/* Runs the loop until *count > 0 (fails after T_MS). */
static void run_until(struct rig *r, const int *count)
{
    uint64_t end = testutil_now_ns() + (uint64_t)T_MS * 1000000u;
    while (*count == 0 && testutil_now_ns() < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_true(*count > 0);
}

static void run_for(struct rig *r, int ms)
{
    uint64_t end = testutil_now_ns() + (uint64_t)ms * 1000000u;
    while (testutil_now_ns() < end)
        uv_run(&r->loop, UV_RUN_ONCE);
}

struct req_args {
    struct fetch *f;
    struct content_id id;
};

/* What the decoder thread does when a read stalls: a new generation asks
 * for chunk 190, then a late request of an older generation arrives. */
static void *decoder_thread(void *arg)
{
    struct req_args *a = arg;
    fetch_request(a->f, &a->id, 190, WIRE_PRIO_PLAYING, 2);
    fetch_request(a->f, &a->id, 120, WIRE_PRIO_PLAYING, 1);
    return NULL;
}

static void on_event(void *ctx, struct fetch_handle *h, const struct fetch_event *ev)
{
    struct rig *r = ctx;
    r->events++;
    switch (ev->type) {
    case FETCH_EV_READY:
        assert_int_equal(r->ncomplete, 0); /* READY comes first */
        r->nready++;
        r->ready = *ev;
        if (r->release_at_ready) {
            fetch_release(h);
            r->h = NULL;
        }
        if (r->urgent_at_ready) {
            struct req_args a = {r->fetch, ev->id};
            pthread_t t;
            assert_int_equal(pthread_create(&t, NULL, decoder_thread, &a), 0);
            pthread_join(t, NULL);
        }
        break;
    case FETCH_EV_COMPLETE:
        r->ncomplete++;
        break;
    case FETCH_EV_ERROR:
        r->nerror++;
        r->error = ev->error;
        break;
    }
}

/* Watches (and with corrupt_one, damages) the chunks before the fetch
 * sees them: the fetch's own handler entry point. */
static void spy_handler(struct svc_client *c, struct wire_msg *m, void *arg)
{
    (void)c;
    struct rig *r = arg;
    if (m->type == WIRE_CHUNK) {
        if (r->norder < MAX_ORDER)
            r->order[r->norder++] = m->u.chunk.index;
        if (r->h && r->release_after_chunks && r->norder == r->release_after_chunks) {
            fetch_release(r->h); /* a track change in the middle of the download */
            r->h = NULL;
        }
        if (r->corrupt_one && !r->corrupted) {
            m->u.chunk.data[m->u.chunk.len / 2] ^= 0x5a;
            r->corrupted = true;
            r->corrupted_index = m->u.chunk.index;
        }
    }
    fetch_handle_message(r->fetch, m);
}

static void assert_cache_holds(struct rig *r, const struct blob *b)
{
    assert_int_equal(cache_pending(r->cache), 0);
    static uint8_t buf[MANIFEST_CHUNK_SIZE];
    for (uint32_t i = 0; i < b->chunks; i++) {
        size_t len = 0;
        assert_int_equal(
            cache_read_chunk(r->cache, &b->id, i, CACHE_FOR_CHECK, buf, sizeof(buf), &len), 0);
        size_t off = (size_t)i * MANIFEST_CHUNK_SIZE;
        size_t want = b->len - off < MANIFEST_CHUNK_SIZE ? b->len - off : MANIFEST_CHUNK_SIZE;
        assert_int_equal(len, want);
        assert_memory_equal(buf, b->enc + off, len);
    }
}

/* ---- fetch ---- */

static void test_fetch_whole_file_then_cache_hit(void **state)
{
    (void)state;
    struct rig r;
    const struct blob *b = &D.b[BIG];
    rig_open(&r, "fetch-whole", D.port, D.key);
    struct fetch_handle *h = fetch_open(r.fetch, &b->id, WIRE_PRIO_PLAYING, on_event, &r);
    assert_int_equal(r.events, 0); /* never from inside fetch_open */
    run_until(&r, &r.ncomplete);
    assert_int_equal(r.nready, 1);
    assert_int_equal(r.nerror, 0);
    assert_int_equal(r.ready.file_size, b->len);
    assert_int_equal(r.ready.chunk_count, b->chunks);
    assert_int_equal(r.ready.chunk_size, MANIFEST_CHUNK_SIZE);
    run_for(&r, 50); /* let the cache index settle */
    assert_cache_holds(&r, b);

    struct fetch_file_stats fs;
    fetch_file_stats(h, &fs);
    assert_int_equal(fs.chunks_cached, 0);
    assert_int_equal(fs.chunks_stored, b->chunks);
    assert_int_equal(fs.chunks_service, b->chunks);
    assert_int_equal(fs.bytes_service, b->len);
    assert_true(fs.requests >= (b->chunks + FETCH_REQUEST_CHUNKS - 1) / FETCH_REQUEST_CHUNKS);
    assert_int_equal(fs.bad_chunks, 0);
    fetch_release(h);

    /* The second time everything is a cache hit: no chunk request. */
    struct fetch_stats before, after;
    fetch_get_stats(r.fetch, &before);
    r.nready = r.ncomplete = 0;
    h = fetch_open(r.fetch, &b->id, WIRE_PRIO_PLAYING, on_event, &r);
    run_until(&r, &r.ncomplete);
    assert_int_equal(r.nready, 1);
    fetch_file_stats(h, &fs);
    assert_int_equal(fs.requests, 0);
    assert_int_equal(fs.chunks_cached, b->chunks);
    assert_int_equal(fs.bytes_cached, b->len);
    assert_int_equal(fs.bytes_service, 0);
    fetch_get_stats(r.fetch, &after);
    assert_int_equal(after.requests, before.requests);

    /* A second handle on the same open file shares it: READY + COMPLETE
     * at once, still no request. */
    r.nready = r.ncomplete = 0;
    struct fetch_handle *h2 = fetch_open(r.fetch, &b->id, WIRE_PRIO_PREFETCH, on_event, &r);
    run_until(&r, &r.ncomplete);
    assert_int_equal(r.nready, 1);
    fetch_get_stats(r.fetch, &after);
    assert_int_equal(after.requests, before.requests);
    assert_int_equal(after.files_opened, before.files_opened + 1);
    fetch_release(h2);
    fetch_release(h);
    rig_close(&r);
}

static void test_fetch_refuses_and_refetches_bad_chunk(void **state)
{
    (void)state;
    struct rig r;
    const struct blob *b = &D.b[SMALL];
    rig_open(&r, "fetch-bad", D.port, D.key);
    r.corrupt_one = true;
    svc_client_set_handler(r.client, spy_handler, &r);
    struct fetch_handle *h = fetch_open(r.fetch, &b->id, WIRE_PRIO_PLAYING, on_event, &r);
    run_until(&r, &r.ncomplete);
    assert_true(r.corrupted);
    assert_int_equal(r.nerror, 0);
    run_for(&r, 50);
    assert_cache_holds(&r, b);

    struct fetch_file_stats fs;
    fetch_file_stats(h, &fs);
    assert_int_equal(fs.bad_chunks, 1);
    assert_int_equal(fs.rerequests, 1);
    assert_int_equal(fs.chunks_service, b->chunks);
    /* the damaged index arrived twice: first damaged, then good */
    int seen = 0;
    for (int i = 0; i < r.norder; i++)
        seen += r.order[i] == r.corrupted_index;
    assert_int_equal(seen, 2);
    struct fetch_stats st;
    fetch_get_stats(r.fetch, &st);
    assert_int_equal(st.bad_chunks, 1);

    /* A chunk from elsewhere (the peers' entry) is checked the same way:
     * stored already, so it is a duplicate and not written. */
    assert_false(fetch_deliver(r.fetch, &b->id, 0, b->enc, MANIFEST_CHUNK_SIZE, CACHE_SRC_PEER));
    fetch_release(h);
    rig_close(&r);
}

static void test_fetch_urgent_overtakes_bulk(void **state)
{
    (void)state;
    struct rig r;
    const struct blob *b = &D.b[BIG];
    rig_open(&r, "fetch-urgent", D.port, D.key);
    svc_client_set_handler(r.client, spy_handler, &r);
    r.urgent_at_ready = true;
    struct fetch_handle *h = fetch_open(r.fetch, &b->id, WIRE_PRIO_PLAYING, on_event, &r);
    run_until(&r, &r.ncomplete);
    run_for(&r, 50);
    assert_cache_holds(&r, b);

    int pos = -1;
    for (int i = 0; i < r.norder; i++)
        if (r.order[i] == 190 && pos < 0)
            pos = i;
    /* Bulk order would put it near the end (190 of 201); asked at READY
     * with a deadline, it comes within the first window. */
    print_message("chunk 190 arrived %dth of %d\n", pos + 1, r.norder);
    assert_true(pos >= 0 && pos < 100);
    struct fetch_file_stats fs;
    fetch_file_stats(h, &fs);
    assert_int_equal(fs.urgent_requests, 1);
    struct fetch_stats st;
    fetch_get_stats(r.fetch, &st);
    assert_int_equal(st.stale_requests, 1); /* the older generation's request */
    fetch_release(h);
    rig_close(&r);
}

static void test_fetch_release_cancels(void **state)
{
    (void)state;
    struct rig r;
    const struct blob *b = &D.b[BIG];
    rig_open(&r, "fetch-cancel", D.port, D.key);

    /* Released at READY: not a single chunk request goes out. */
    r.release_at_ready = true;
    r.h = fetch_open(r.fetch, &b->id, WIRE_PRIO_BACKGROUND, on_event, &r);
    run_until(&r, &r.nready);
    assert_null(r.h);
    run_for(&r, 100);
    struct fetch_stats st;
    fetch_get_stats(r.fetch, &st);
    assert_int_equal(st.requests, 0);

    /* Released as the 5th chunk arrives (so 4 are stored): the requests in
     * flight are cancelled. */
    r.release_at_ready = false;
    r.nready = 0;
    svc_client_set_handler(r.client, spy_handler, &r);
    r.release_after_chunks = 5;
    r.h = fetch_open(r.fetch, &b->id, WIRE_PRIO_BACKGROUND, on_event, &r);
    run_until(&r, &r.nready);
    uint64_t end = testutil_now_ns() + (uint64_t)T_MS * 1000000u;
    while (r.h && testutil_now_ns() < end)
        uv_run(&r.loop, UV_RUN_ONCE);
    assert_null(r.h);
    run_for(&r, 300);
    fetch_get_stats(r.fetch, &st);
    assert_true(st.requests >= 1);
    assert_true(st.cancels >= 1);
    assert_int_equal(r.ncomplete, 0);
    assert_int_equal(r.nerror, 0);
    struct cache_file_info info;
    assert_int_equal(cache_file_info(r.cache, &b->id, &info), 0);
    print_message("after the cancel: %u of %u chunks stored, %d arrived\n", info.chunks_present,
                  b->chunks, r.norder);
    assert_true(info.chunks_present >= 4 && info.chunks_present < b->chunks);

    /* Opened again, it carries on from what is cached. */
    r.release_after_chunks = 0;
    r.nready = 0;
    struct fetch_handle *h = fetch_open(r.fetch, &b->id, WIRE_PRIO_PLAYING, on_event, &r);
    run_until(&r, &r.ncomplete);
    struct fetch_file_stats fs;
    fetch_file_stats(h, &fs);
    assert_int_equal(fs.chunks_cached, info.chunks_present);
    assert_int_equal(fs.chunks_cached + fs.chunks_service, b->chunks);
    run_for(&r, 50);
    assert_cache_holds(&r, b);
    fetch_release(h);
    rig_close(&r);
}

static void test_fetch_unknown_file_and_lost_link(void **state)
{
    (void)state;
    /* a service of its own, to be stopped mid-download */
    struct svc_thread *srv;
    struct svc_config cfg = {.data_dir = D.dir, .listen_addr = "127.0.0.1"};
    assert_int_equal(svc_thread_start(&cfg, &srv), 0);
    uint8_t key[TLS_KEY_LEN];
    svc_thread_public_key(srv, key);
    struct rig r;
    rig_open(&r, "fetch-lost", svc_thread_port(srv), key);

    struct content_id nobody;
    assert_int_equal(RAND_bytes(nobody.bytes, CONTENT_ID_LEN), 1);
    struct fetch_handle *h = fetch_open(r.fetch, &nobody, WIRE_PRIO_PLAYING, on_event, &r);
    run_until(&r, &r.nerror);
    assert_int_equal(r.error, FETCH_ENOTFOUND);
    assert_int_equal(r.nready, 0);
    fetch_release(h);

    r.nerror = 0;
    svc_client_set_handler(r.client, spy_handler, &r);
    h = fetch_open(r.fetch, &D.b[BIG].id, WIRE_PRIO_PLAYING, on_event, &r);
    run_until(&r, &r.nready);
    svc_thread_stop(srv, NULL);
    /* A lost link fails nothing: the file waits for the owner to give it
     * a new one (fetch_set_client) or to give up on unready files. */
    svc_client_run_for(r.client, 500);
    fetch_set_client(r.fetch, NULL);
    fetch_fail_unready(r.fetch, FETCH_ECLOSED);
    svc_client_run_for(r.client, 100);
    assert_int_equal(r.nerror, 0);
    assert_int_equal(r.ncomplete, 0);
    fetch_release(h);
    rig_close(&r);
}

/* ---- chorus play, the real binary ---- */

struct run {
    int status; /* exit status, or -1 when killed */
    char *out, *err;
};

static char *read_text(const char *path)
{
    size_t len;
    char *s = testutil_read_file(path, &len);
    s[len] = 0; /* testutil_read_file leaves room */
    return s;
}

/* Runs `chorus -o service.address=127.0.0.1:PORT play ARGS...` with HOME
 * and the XDG directories inside home, stdin from /dev/null; with
 * sigint_after, sends it SIGINT once its output shows that text. */
/* Runs `chorus -o service.address=... CMD ARGS...` with its own HOME and
 * XDG directories under home; SIGINT once stdout shows sigint_after. */
static void run_chorus_signal(const char *home, int port, const char *cmd, const char *const *args,
                              const char *sigint_after, struct run *res)
{
    const char *bin = CHORUS_BIN_DIR "/chorus";
    char *addr = xasprintf("service.address=127.0.0.1:%d", port);
    const char *argv[32] = {bin, "-o", addr, cmd};
    int argc = 4;
    for (int i = 0; args[i]; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;

    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **envp = xcalloc(nenv + 8, sizeof(*envp));
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "XDG_", 4) != 0 && strncmp(environ[i], "HOME=", 5) != 0 &&
            strncmp(environ[i], "CHORUS_PASSWORD=", 16) != 0 &&
            strncmp(environ[i], "USER=", 5) != 0)
            envp[k++] = environ[i];
    char *own[] = {
        xasprintf("HOME=%s", home),
        xasprintf("XDG_CONFIG_HOME=%s/config", home),
        xasprintf("XDG_DATA_HOME=%s/data", home),
        xasprintf("XDG_CACHE_HOME=%s/cache", home),
        xasprintf("XDG_STATE_HOME=%s/state", home),
    };
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        envp[k++] = own[i];
    char *out = xasprintf("%s/stdout", home), *err = xasprintf("%s/stderr", home);

    unlink(out); /* what the previous run wrote must not be taken for this one's */
    unlink(err);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0)
            _exit(126);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execve(bin, (char *const *)argv, envp);
        _exit(127);
    }
    int status = 0;
    uint64_t end = testutil_now_ns() + 60ull * 1000000000u;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (sigint_after && access(out, F_OK) == 0) {
            char *so = read_text(out);
            if (strstr(so, sigint_after)) {
                kill(pid, SIGINT);
                sigint_after = NULL;
            }
            free(so);
        }
        if (testutil_now_ns() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        struct timespec t = {0, 10 * 1000000L};
        nanosleep(&t, NULL);
    }
    res->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    res->out = read_text(out);
    res->err = read_text(err);
    print_message("chorus %s %s -> %d\n--- stdout\n%s--- stderr\n%s---\n", cmd,
                  args[0] ? args[0] : "", res->status, res->out, res->err);
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        free(own[i]);
    free(envp);
    free(out);
    free(err);
    free(addr);
}

static void run_play_signal(const char *home, int port, const char *const *args,
                            const char *sigint_after, struct run *res)
{
    run_chorus_signal(home, port, "play", args, sigint_after, res);
}

static void run_play(const char *home, int port, const char *const *args, struct run *res)
{
    run_play_signal(home, port, args, NULL, res);
}

static void run_free(struct run *res)
{
    free(res->out);
    free(res->err);
}

static char *make_home(const char *name)
{
    char *home = testutil_tempdir(name);
    char *pw = xasprintf("%s/password", home);
    testutil_write_file(pw, PASS "\n", strlen(PASS) + 1);
    free(pw);
    return home;
}

static void check_wav(const char *path, const char *what)
{
    struct fixture_info info;
    assert_int_equal(fixture_decode_file(path, &info, NULL), 0);
    print_message("%s: %.3f s (tracks: %.3f s), rms %.3f\n", what, info.duration, D.seconds,
                  info.rms);
    assert_int_equal(info.sample_rate, 44100);
    /* Gapless and trimmed to the sample: within 20 ms of the two tracks. */
    assert_true(fabs(info.duration - D.seconds) < 0.020);
    assert_true(info.rms > 0.05);
}

static void test_play_end_to_end(void **state)
{
    (void)state;
    char *home = make_home("play-e2e");
    char *pwfile = xasprintf("%s/password", home);
    char *wav1 = xasprintf("wav:%s/first.wav", home), *wav2 = xasprintf("wav:%s/second.wav", home);
    struct run res;

    const char *a1[] = {"--user", USER, "--password-file", pwfile, "--output", wav1, "zebra", NULL};
    run_play(home, D.port, a1, &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "Played 2 of 2 tracks"));
    assert_non_null(strstr(res.out, "1. Zebra Quartet \u2014 First Light"));
    assert_non_null(strstr(res.out, "from the service (100%)"));
    check_wav(wav1 + 4, "from the service");
    run_free(&res);

    /* Again: every byte from the cache, the same samples. */
    const char *a2[] = {"--user", USER,   "--password-file", pwfile, "-O",
                        wav2,     "test", "album",           NULL};
    run_play(home, D.port, a2, &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "from the cache (100%)"));
    assert_non_null(strstr(res.out, "Cache hit rate: 2 of 2"));
    check_wav(wav2 + 4, "from the cache");
    size_t l1, l2;
    uint8_t *w1 = testutil_read_file(wav1 + 4, &l1), *w2 = testutil_read_file(wav2 + 4, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(w1, w2, l1);
    free(w1);
    free(w2);
    run_free(&res);

    /* Real time on the null output, stopped by SIGINT once the first
     * track has started: a clean stop, exit 0, what played summed up. */
    const char *a3[] = {"--user", USER, "--password-file", pwfile, "-O", "null", "zebra", NULL};
    run_play_signal(home, D.port, a3, "[1/2]", &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "[1/2] Zebra Quartet"));
    assert_non_null(strstr(res.out, "Stopped."));
    assert_non_null(strstr(res.out, "Played 0 of 2 tracks"));
    run_free(&res);

    /* The pin and the identity were made on first contact. */
    char *pin = xasprintf("%s/data/chorus/service.pin", home);
    char *pinned = read_text(pin);
    char hex[2 * TLS_KEY_LEN + 1];
    tls_key_to_hex(D.key, hex);
    assert_memory_equal(pinned, hex, 2 * TLS_KEY_LEN);
    free(pinned);
    free(pin);

    free(wav1);
    free(wav2);
    free(pwfile);
    testutil_rmtree(home);
    free(home);
}

static void test_play_refusals(void **state)
{
    (void)state;
    char *home = make_home("play-refusals");
    char *pwfile = xasprintf("%s/password", home);
    char *bad = xasprintf("%s/bad-password", home);
    testutil_write_file(bad, "wrong\n", 6);
    struct run res;

    const char *a1[] = {"--user", USER, "--password-file", bad, "-O", "null", "zebra", NULL};
    run_play(home, D.port, a1, &res);
    assert_int_equal(res.status, 1);
    assert_non_null(strstr(res.err, "login refused: wrong user or password"));
    run_free(&res);

    const char *a2[] = {"--user", USER,   "--password-file", pwfile,
                        "-O",     "null", "no such music",   NULL};
    run_play(home, D.port, a2, &res);
    assert_int_equal(res.status, 1);
    assert_non_null(strstr(res.err, "no track matches \"no such music\""));
    run_free(&res);

    /* A port nobody listens on: bound, then closed. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
    close(s);
    const char *a3[] = {"--user", USER, "--password-file", pwfile, "-O", "null", "zebra", NULL};
    run_play(home, ntohs(sin.sin_port), a3, &res);
    assert_int_equal(res.status, 1);
    assert_non_null(strstr(res.err, "cannot reach the service at 127.0.0.1:"));
    run_free(&res);

    const char *a4[] = {"--user", USER, "zebra", "--all", NULL};
    run_play(home, D.port, a4, &res);
    assert_int_equal(res.status, 2);
    run_free(&res);

    free(bad);
    free(pwfile);
    testutil_rmtree(home);
    free(home);
}

/* Writes home/config/chorus/chorus.conf with [service] key = hex. */
/* The credentials the service holds for USER (accounts.db, read beside the
 * running service). */
static int64_t device_count(void)
{
    char *path = xasprintf("%s/accounts.db", D.dir);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    int64_t n = -1;
    assert_int_equal(account_device_count(db, USER, &n), 0);
    account_close(db);
    free(path);
    return n;
}

static void test_login_logout(void **state)
{
    (void)state;
    char *home = make_home("login");
    char *pwfile = xasprintf("%s/password", home);
    char *bad = xasprintf("%s/bad-password", home);
    testutil_write_file(bad, "wrong\n", 6);
    char *dbpath = xasprintf("%s/data/chorus/chorus.db", home);
    struct run res;
    int64_t before = device_count();

    const char *wrong[] = {"--user", USER, "--password-file", bad, NULL};
    run_chorus_signal(home, D.port, "login", wrong, NULL, &res);
    assert_int_equal(res.status, 1);
    assert_non_null(strstr(res.err, "refused the login"));
    run_free(&res);

    const char *good[] = {"--user", USER, "--password-file", pwfile, NULL};
    run_chorus_signal(home, D.port, "login", good, NULL, &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "Logged in"));
    run_free(&res);
    assert_int_equal(device_count(), before + 1);

    /* chorus.db holds the credential and the address, never the password */
    struct clientdb *db;
    assert_int_equal(clientdb_open(dbpath, NULL, &db), 0);
    struct clientdb_login l;
    assert_int_equal(clientdb_get_login(db, &l), 0);
    assert_string_equal(l.user, USER);
    char *addr = xasprintf("127.0.0.1:%d", D.port);
    assert_string_equal(l.address, addr);
    assert_true(l.credential_len >= 32);
    clientdb_login_clear(&l);
    clientdb_close(db);
    size_t len;
    char *raw = testutil_read_file(dbpath, &len);
    raw[len] = 0;
    assert_null(memmem(raw, len, PASS, strlen(PASS)));
    free(raw);

    const char *none[] = {NULL};
    run_chorus_signal(home, D.port, "logout", none, NULL, &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "revoked"));
    run_free(&res);
    assert_int_equal(device_count(), before);
    assert_int_equal(clientdb_open(dbpath, NULL, &db), 0);
    assert_int_equal(clientdb_get_login(db, &l), CLIENTDB_ENOTFOUND);
    clientdb_close(db);

    run_chorus_signal(home, D.port, "logout", none, NULL, &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "Not logged in"));
    run_free(&res);

    free(addr);
    free(dbpath);
    free(bad);
    free(pwfile);
    free(home);
}

static void write_service_key(const char *home, const char *hex)
{
    char *dir = xasprintf("%s/config/chorus", home);
    assert_int_equal(fs_mkdir_p(dir, 0700), 0);
    char *conf = xasprintf("%s/chorus.conf", dir);
    char *text = xasprintf("[service]\nkey = %s\n", hex);
    testutil_write_file(conf, text, strlen(text));
    free(text);
    free(conf);
    free(dir);
}

/* service.key replaces trust on first contact: the right key connects
 * and writes no pin, another key is refused, a malformed one is a usage
 * error named after the option. */
static void test_play_service_key_from_config(void **state)
{
    (void)state;
    char *home = make_home("play-key");
    char *pwfile = xasprintf("%s/password", home);
    char *pin = xasprintf("%s/data/chorus/service.pin", home);
    const char *args[] = {"--user", USER,   "--password-file", pwfile,
                          "-O",     "null", "no such music",   NULL};
    struct run res;

    char hex[2 * TLS_KEY_LEN + 1];
    tls_key_to_hex(D.key, hex);
    write_service_key(home, hex);
    run_play(home, D.port, args, &res);
    assert_int_equal(res.status, 1); /* logged in, searched, found nothing */
    assert_non_null(strstr(res.err, "no track matches"));
    assert_int_not_equal(access(pin, F_OK), 0);
    run_free(&res);

    hex[0] = hex[0] == '0' ? '1' : '0';
    write_service_key(home, hex);
    run_play(home, D.port, args, &res);
    assert_int_equal(res.status, 1);
    assert_non_null(strstr(res.err, "does not hold the key set in service.key"));
    run_free(&res);

    write_service_key(home, "not-a-key");
    run_play(home, D.port, args, &res);
    assert_int_equal(res.status, 2);
    assert_non_null(strstr(res.err, "service.key: expected the 64 hex digits"));
    run_free(&res);

    free(pin);
    free(pwfile);
    testutil_rmtree(home);
    free(home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_whole_file_then_cache_hit),
        cmocka_unit_test(test_fetch_refuses_and_refetches_bad_chunk),
        cmocka_unit_test(test_fetch_urgent_overtakes_bulk),
        cmocka_unit_test(test_fetch_release_cancels),
        cmocka_unit_test(test_fetch_unknown_file_and_lost_link),
        cmocka_unit_test(test_play_end_to_end),
        cmocka_unit_test(test_play_refusals),
        cmocka_unit_test(test_login_logout),
        cmocka_unit_test(test_play_service_key_from_config),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
