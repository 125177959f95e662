/* test_service: chorusd's service end to end over real loopback TLS.
 *
 * The service runs on its own thread and loop with a real store, catalog
 * and accounts database made here; clients (net/client.h) run on the test
 * thread. Covered: login with good and bad passwords, tickets (reuse,
 * expired, forged, stolen), device credentials (issued after a password
 * login, logging in a new connection of the same identity only, revoked,
 * void after a password change, malformed requests), revocation (chorusd
 * revoke and a new password end tickets at HELLO, stored credentials and
 * logged-in connections at the re-check), catalog browse and
 * search, manifest + key +
 * every chunk reassembling into exactly the stored file, an urgent request
 * overtaking bulk, cancel, the tracker's rules, 200 concurrent clients,
 * bad input answered with an error or by closing only that connection,
 * and what one client may hold: frames over the largest request, silent
 * and non-reading connections, the client cap and the open-files limit,
 * accepting while out of descriptors, turns in the catalog queue. */
#include "testutil.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "library/catalog.h"
#include "base/content_crypto.h"
#include "base/manifest.h"
#include "library/store.h"
#include "base/xmalloc.h"
#include "net/account.h"
#include "net/client.h"
#include "net/conn.h"
#include "net/svc.h"
#include "net/ticket.h"

#define T_MS 15000 /* generous: ASan and TSan builds are slow */

static const struct account_params fast = {10, 8, 1};

/* ---- the data: four files in a store, a catalog, one account ---- */

struct file {
    uint8_t id[WIRE_ID_LEN];
    struct content_key key;
    uint8_t *plain, *enc;
    size_t len;
    uint32_t chunks;
};

enum { FA, FB, FC, FD, NFILES };

struct data {
    char *dir;
    struct file f[NFILES];
};

static struct data D;

static void make_file(struct store *st, struct file *f, size_t len)
{
    f->len = len;
    f->plain = xmalloc(len);
    f->enc = xmalloc(len);
    assert_int_equal(RAND_bytes(f->plain, (int)len), 1);
    assert_int_equal(content_key_generate(&f->key), 0);
    assert_int_equal(content_crypt(&f->key, 0, f->plain, f->enc, len), 0);
    struct content_id id;
    assert_int_equal(store_put(st, f->enc, len, &f->key, &id), 0);
    memcpy(f->id, id.bytes, WIRE_ID_LEN);
    f->chunks = (uint32_t)((len + MANIFEST_CHUNK_SIZE - 1) / MANIFEST_CHUNK_SIZE);
}

static void add_track(struct catalog *cat, const char *title, const char *artist, const char *album,
                      const char *date, int number, const struct file *f)
{
    struct catalog_track_info info = {
        .title = title,
        .artist = artist,
        .album = album,
        .date = date,
        .track_number = number,
        .disc_number = 1,
        .duration_ms = 1000 * number + 180000,
    };
    memcpy(info.file_id.bytes, f->id, CONTENT_ID_LEN);
    assert_int_equal(RAND_bytes(info.source_sha256, sizeof(info.source_sha256)), 1);
    bool added;
    assert_int_equal(catalog_add_track(cat, &info, NULL, &added), 0);
    assert_true(added);
}

static int group_setup(void **state)
{
    (void)state;
    D.dir = testutil_tempdir("service");
    struct store *st;
    assert_int_equal(store_open(D.dir, &st), 0);
    make_file(st, &D.f[FA], 64 * MANIFEST_CHUNK_SIZE + 1234); /* 65 chunks, last short */
    make_file(st, &D.f[FB], 400 * MANIFEST_CHUNK_SIZE);       /* bulk */
    make_file(st, &D.f[FC], 100000);
    make_file(st, &D.f[FD], 50000);
    store_free(st);

    char *path = xasprintf("%s/%s", D.dir, SVC_CATALOG_NAME);
    struct catalog *cat;
    assert_int_equal(catalog_open(path, &cat), 0);
    add_track(cat, "Morning Song", "Alpha Band", "First Light", "2001", 1, &D.f[FA]);
    add_track(cat, "Noon Waltz", "Alpha Band", "First Light", "2001", 2, &D.f[FB]);
    add_track(cat, "Evening Blues", "Beta Trio", "Second Wind", "1999", 1, &D.f[FC]);
    add_track(cat, "Morning After", "Beta Trio", "Second Wind", "1999", 2, &D.f[FD]);
    catalog_free(cat);
    free(path);

    path = xasprintf("%s/%s", D.dir, SVC_ACCOUNTS_NAME);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_add(db, "alice", "wonderland", &fast), 0);
    account_close(db);
    free(path);

    signal(SIGPIPE, SIG_IGN); /* clients hang up mid-write here on purpose */
    /* 200 clients plus the service's side of each */
    testutil_raise_fd_limit(2048);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NFILES; i++) {
        free(D.f[i].plain);
        free(D.f[i].enc);
    }
    testutil_rmtree(D.dir);
    free(D.dir);
    return 0;
}

/* ---- the service on its own thread ---- */

struct server {
    struct svc_thread *t;
    int port;
    uint8_t key[TLS_KEY_LEN];
    struct svc_stats final; /* after server_stop */
};

/* A service over the test data on 127.0.0.1 with cfg's limits and
 * timeouts (its data_dir and listen_addr are set here). */
static void server_start_cfg(struct server *srv, struct svc_config cfg)
{
    memset(srv, 0, sizeof(*srv));
    cfg.data_dir = D.dir;
    cfg.listen_addr = "127.0.0.1";
    assert_int_equal(svc_thread_start(&cfg, &srv->t), 0);
    srv->port = svc_thread_port(srv->t);
    svc_thread_public_key(srv->t, srv->key);
    assert_true(srv->port > 0);
}

static void server_start(struct server *srv, uint64_t silence_ms)
{
    server_start_cfg(srv, (struct svc_config){.tracker_silence_ms = silence_ms});
}

static void server_stop(struct server *srv)
{
    svc_thread_stop(srv->t, &srv->final);
}

/* ---- clients on the test thread ---- */

struct client {
    struct tls_identity *id;
    struct svc_client *c;
};

static int client_open(uv_loop_t *loop, struct server *srv, struct client *cl,
                       const uint8_t *ticket, size_t ticket_len)
{
    if (!cl->id)
        assert_int_equal(tls_identity_generate(&cl->id), 0);
    struct svc_client_opts o = {
        .host = "127.0.0.1",
        .port = (uint16_t)srv->port,
        .identity = cl->id,
        .service_key = srv->key,
        .ticket = ticket,
        .ticket_len = ticket_len,
    };
    assert_int_equal(svc_client_new(loop, &o, &cl->c), 0);
    return svc_client_wait_ready(cl->c, T_MS);
}

static void client_login(uv_loop_t *loop, struct server *srv, struct client *cl)
{
    assert_int_equal(client_open(loop, srv, cl, NULL, 0), 0);
    assert_int_equal(svc_client_login_sync(cl->c, "alice", "wonderland", T_MS), 0);
    assert_true(svc_client_authenticated(cl->c));
}

static void client_close(struct client *cl)
{
    if (cl->c)
        svc_client_close(cl->c);
    cl->c = NULL;
}

static void client_free(struct client *cl)
{
    client_close(cl);
    tls_identity_free(cl->id);
    cl->id = NULL;
}

/* Waits for the reply to rid and checks its type (and error code). */
static struct wire_msg expect(struct client *cl, uint32_t rid, uint8_t type, uint16_t code)
{
    assert_int_not_equal(rid, 0);
    struct wire_msg m;
    int rc = svc_client_wait(cl->c, rid, &m, T_MS);
    if (rc < 0)
        fail_msg("no reply to rid %u: %s", rid, svc_client_strerror(rc));
    if (m.type != type || (type == WIRE_ERROR && m.u.error.code != code))
        fail_msg("rid %u: got %s (%s), wanted %s %u", rid, wire_type_name(m.type),
                 m.type == WIRE_ERROR ? m.u.error.message : "", wire_type_name(type), code);
    return m;
}

static void expect_ok(struct client *cl, uint32_t rid, uint8_t type)
{
    struct wire_msg m = expect(cl, rid, type, 0);
    wire_msg_clear(&m);
}

static void expect_error(struct client *cl, uint32_t rid, uint16_t code)
{
    struct wire_msg m = expect(cl, rid, WIRE_ERROR, code);
    wire_msg_clear(&m);
}

/* The client's connection ends: an ERROR with rid 0 (when want_code is
 * set) and then nothing. */
static void expect_closed(struct client *cl, uint16_t want_code)
{
    struct wire_msg m;
    if (want_code) {
        assert_int_equal(svc_client_wait(cl->c, 0, &m, T_MS), 0);
        assert_int_equal(m.type, WIRE_ERROR);
        assert_int_equal(m.u.error.code, want_code);
        wire_msg_clear(&m);
    }
    int rc;
    while ((rc = svc_client_next(cl->c, &m, T_MS)) == 0)
        wire_msg_clear(&m);
    assert_int_equal(rc, CLIENT_ECLOSED);
}

/* A service and the test thread's client loop. */
struct env {
    struct server srv;
    uv_loop_t loop;
};

static void env_start_cfg(struct env *e, struct svc_config cfg)
{
    server_start_cfg(&e->srv, cfg);
    assert_int_equal(uv_loop_init(&e->loop), 0);
}

static void env_start(struct env *e, uint64_t silence_ms)
{
    env_start_cfg(e, (struct svc_config){.tracker_silence_ms = silence_ms});
}

/* After the clients are closed: lets them finish, stops the service. */
static void env_stop(struct env *e)
{
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    server_stop(&e->srv);
}

/* ---- tests ---- */

static void test_login(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;

    struct client a = {0};
    assert_int_equal(client_open(loop, srv, &a, NULL, 0), 0);
    assert_false(svc_client_authenticated(a.c));
    uint8_t k[TLS_KEY_LEN];
    assert_true(svc_client_service_key(a.c, k));
    assert_memory_equal(k, srv->key, TLS_KEY_LEN);
    /* nothing but login before logging in */
    expect_error(&a, svc_client_search(a.c, "morning", 10), WIRE_ERR_AUTH_REQUIRED);
    expect_error(&a, svc_client_get_key(a.c, D.f[FA].id), WIRE_ERR_AUTH_REQUIRED);
    expect_ok(&a, svc_client_ping(a.c), WIRE_PONG);
    /* bad passwords and unknown users */
    assert_int_equal(svc_client_login_sync(a.c, "alice", "Wonderland", T_MS), CLIENT_EREFUSED);
    assert_int_equal(svc_client_last_error_code(a.c), WIRE_ERR_LOGIN);
    assert_int_equal(svc_client_login_sync(a.c, "mallory", "wonderland", T_MS), CLIENT_EREFUSED);
    assert_int_equal(svc_client_login_sync(a.c, "", "x", T_MS), CLIENT_EREFUSED);
    assert_false(svc_client_authenticated(a.c));
    /* the good password */
    assert_int_equal(svc_client_login_sync(a.c, "alice", "wonderland", T_MS), 0);
    assert_true(svc_client_authenticated(a.c));
    size_t tlen;
    uint64_t expires;
    const uint8_t *t = svc_client_ticket(a.c, &tlen, &expires);
    assert_non_null(t);
    assert_true(expires + 60 > (uint64_t)time(NULL) + SVC_TICKET_LIFETIME_S);
    struct ticket parsed;
    uint8_t akey[TLS_KEY_LEN];
    tls_identity_public_key(a.id, akey);
    assert_int_equal(ticket_verify(t, tlen, srv->key, akey, (uint64_t)time(NULL), 0, &parsed), 0);
    assert_string_equal(parsed.user, "alice");
    uint8_t *ticket = xmalloc(tlen);
    memcpy(ticket, t, tlen);
    expect_ok(&a, svc_client_get_key(a.c, D.f[FA].id), WIRE_KEY);
    client_close(&a);

    /* the ticket logs in a new connection with the same key... */
    assert_int_equal(client_open(loop, srv, &a, ticket, tlen), 0);
    assert_true(svc_client_authenticated(a.c));
    expect_ok(&a, svc_client_get_key(a.c, D.f[FA].id), WIRE_KEY);
    client_close(&a);
    /* ...but not one with another key (a stolen ticket) */
    struct client thief = {0};
    assert_int_equal(client_open(loop, srv, &thief, ticket, tlen), 0);
    assert_false(svc_client_authenticated(thief.c));
    assert_int_equal(svc_client_last_error_code(thief.c), WIRE_ERR_TICKET);
    expect_error(&thief, svc_client_get_key(thief.c, D.f[FA].id), WIRE_ERR_AUTH_REQUIRED);

    /* five wrong passwords close the connection */
    for (int i = 0; i < (int)SVC_MAX_LOGIN_FAILURES; i++)
        assert_int_equal(svc_client_login_sync(thief.c, "alice", "guess", T_MS), CLIENT_EREFUSED);
    expect_closed(&thief, 0);
    client_free(&thief);
    client_free(&a);
    free(ticket);
    env_stop(&e);
    assert_int_equal(srv->final.logins_ok, 1);
    assert_int_equal(srv->final.logins_failed, 3 + SVC_MAX_LOGIN_FAILURES);
    assert_int_equal(srv->final.tickets_refused, 1);
}

/* Tickets the service must refuse: expired, signed by another key, and
 * garbage. The connection stays usable for a password login. */
static void test_bad_tickets(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    char *keypath = xasprintf("%s/%s", D.dir, SVC_KEY_NAME);
    struct tls_identity *service, *forger;
    assert_int_equal(tls_identity_load(keypath, &service), 0);
    assert_int_equal(tls_identity_generate(&forger), 0);

    struct client cl = {0};
    assert_int_equal(tls_identity_generate(&cl.id), 0);
    struct ticket t = {.issued = (uint64_t)time(NULL) - 7200};
    snprintf(t.user, sizeof(t.user), "alice");
    tls_identity_public_key(cl.id, t.key);
    uint8_t *buf;
    size_t len;

    /* expired an hour ago, otherwise perfect */
    t.expires = (uint64_t)time(NULL) - 3600;
    assert_int_equal(ticket_sign(service, &t, &buf, &len), 0);
    assert_int_equal(client_open(loop, srv, &cl, buf, len), 0);
    assert_false(svc_client_authenticated(cl.c));
    assert_int_equal(svc_client_last_error_code(cl.c), WIRE_ERR_TICKET_EXPIRED);
    expect_error(&cl, svc_client_browse(cl.c, WIRE_KIND_ARTIST, 0, 0, 10), WIRE_ERR_AUTH_REQUIRED);
    free(buf);
    client_close(&cl);

    /* valid for a day, but forged */
    t.expires = (uint64_t)time(NULL) + 86400;
    assert_int_equal(ticket_sign(forger, &t, &buf, &len), 0);
    assert_int_equal(client_open(loop, srv, &cl, buf, len), 0);
    assert_false(svc_client_authenticated(cl.c));
    assert_int_equal(svc_client_last_error_code(cl.c), WIRE_ERR_TICKET);
    free(buf);
    client_close(&cl);

    /* the same, signed by the service: accepted (the check above is real) */
    assert_int_equal(ticket_sign(service, &t, &buf, &len), 0);
    assert_int_equal(client_open(loop, srv, &cl, buf, len), 0);
    assert_true(svc_client_authenticated(cl.c));
    expect_ok(&cl, svc_client_browse(cl.c, WIRE_KIND_ARTIST, 0, 0, 10), WIRE_ITEMS);
    free(buf);
    client_close(&cl);

    /* garbage in the ticket's place; the password still works after */
    uint8_t junk[100];
    memset(junk, 'j', sizeof(junk));
    assert_int_equal(client_open(loop, srv, &cl, junk, sizeof(junk)), 0);
    assert_int_equal(svc_client_last_error_code(cl.c), WIRE_ERR_TICKET);
    assert_int_equal(svc_client_login_sync(cl.c, "alice", "wonderland", T_MS), 0);

    client_free(&cl);
    tls_identity_free(service);
    tls_identity_free(forger);
    free(keypath);
    env_stop(&e);
    assert_int_equal(srv->final.tickets_refused, 3);
}

static const struct wire_item *find_item(const struct wire_msg *m, const char *title)
{
    for (uint32_t i = 0; i < m->u.items.count; i++)
        if (strcmp(m->u.items.items[i].title, title) == 0)
            return &m->u.items.items[i];
    fail_msg("no item '%s'", title);
    return NULL;
}

static void test_catalog(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    struct client cl = {0};
    client_login(loop, srv, &cl);

    struct wire_msg artists =
        expect(&cl, svc_client_browse(cl.c, WIRE_KIND_ARTIST, 0, 0, 100), WIRE_ITEMS, 0);
    assert_int_equal(artists.u.items.count, 2);
    assert_string_equal(artists.u.items.items[0].title, "Alpha Band");
    assert_string_equal(artists.u.items.items[1].title, "Beta Trio");
    assert_int_equal(artists.u.items.items[0].kind, WIRE_KIND_ARTIST);
    uint64_t beta = artists.u.items.items[1].id;

    /* paging */
    struct wire_msg page =
        expect(&cl, svc_client_browse(cl.c, WIRE_KIND_ARTIST, 0, 1, 1), WIRE_ITEMS, 0);
    assert_int_equal(page.u.items.count, 1);
    assert_string_equal(page.u.items.items[0].title, "Beta Trio");
    wire_msg_clear(&page);

    struct wire_msg albums =
        expect(&cl, svc_client_browse(cl.c, WIRE_KIND_ALBUM, beta, 0, 100), WIRE_ITEMS, 0);
    assert_int_equal(albums.u.items.count, 1);
    const struct wire_item *al = &albums.u.items.items[0];
    assert_string_equal(al->title, "Second Wind");
    assert_string_equal(al->artist, "Beta Trio");
    assert_int_equal(al->year, 1999);
    assert_true(al->parent == beta);

    struct wire_msg tracks =
        expect(&cl, svc_client_browse(cl.c, WIRE_KIND_TRACK, al->id, 0, 100), WIRE_ITEMS, 0);
    assert_int_equal(tracks.u.items.count, 2);
    assert_string_equal(tracks.u.items.items[0].title, "Evening Blues");
    assert_int_equal(tracks.u.items.items[0].number, 1);
    assert_int_equal(tracks.u.items.items[0].disc, 1);
    assert_int_equal(tracks.u.items.items[0].duration_ms, 181000);
    assert_true(tracks.u.items.items[0].has_file);
    assert_memory_equal(tracks.u.items.items[0].file_id, D.f[FC].id, WIRE_ID_LEN);
    assert_string_equal(tracks.u.items.items[1].title, "Morning After");
    assert_memory_equal(tracks.u.items.items[1].file_id, D.f[FD].id, WIRE_ID_LEN);

    /* an unknown artist has no albums */
    struct wire_msg none =
        expect(&cl, svc_client_browse(cl.c, WIRE_KIND_ALBUM, 999999, 0, 100), WIRE_ITEMS, 0);
    assert_int_equal(none.u.items.count, 0);
    wire_msg_clear(&none);

    /* search: every word must match, the last as a prefix */
    struct wire_msg found = expect(&cl, svc_client_search(cl.c, "morn", 10), WIRE_ITEMS, 0);
    assert_int_equal(found.u.items.count, 2);
    const struct wire_item *ms = find_item(&found, "Morning Song");
    assert_string_equal(ms->artist, "Alpha Band");
    assert_string_equal(ms->album, "First Light");
    assert_memory_equal(ms->file_id, D.f[FA].id, WIRE_ID_LEN);
    find_item(&found, "Morning After");
    wire_msg_clear(&found);
    found = expect(&cl, svc_client_search(cl.c, "morning beta", 10), WIRE_ITEMS, 0);
    assert_int_equal(found.u.items.count, 1);
    assert_string_equal(found.u.items.items[0].title, "Morning After");
    wire_msg_clear(&found);
    found = expect(&cl, svc_client_search(cl.c, "\"quoted\" OR *", 10), WIRE_ITEMS, 0);
    assert_int_equal(found.u.items.count, 0);
    wire_msg_clear(&found);

    /* limits: out of range does not even encode (the service closes a
     * link that sends such a frame: test_bad_input) */
    assert_int_equal(svc_client_search(cl.c, "x", 0), 0);
    assert_int_equal(svc_client_browse(cl.c, WIRE_KIND_ARTIST, 0, 0, WIRE_MAX_ITEMS + 1), 0);
    assert_int_equal(svc_client_browse(cl.c, 9, 0, 0, 10), 0);
    struct wire_msg most =
        expect(&cl, svc_client_browse(cl.c, WIRE_KIND_ARTIST, 0, 0, WIRE_MAX_ITEMS), WIRE_ITEMS, 0);
    wire_msg_clear(&most);

    wire_msg_clear(&artists);
    wire_msg_clear(&albums);
    wire_msg_clear(&tracks);
    client_free(&cl);
    env_stop(&e);
}

/* Threadpool work that holds its thread until released: with every thread
 * held, the service's jobs pile up in its own queues, in a known order. */
static atomic_bool pool_held;

/* At most this long: a test that fails with the pool held (its assert
 * leaves before releasing it) must not hang every test after it, nor
 * the service's shutdown, until CTest's timeout hides what failed. */
#define HOLD_MAX_MS (2 * T_MS)

static void hold_work(uv_work_t *w)
{
    (void)w;
    for (int ms = 0; ms < HOLD_MAX_MS && atomic_load(&pool_held); ms++)
        usleep(1000);
}

static void hold_done(uv_work_t *w, int status)
{
    (void)status;
    free(w);
}

static void hold_pool(uv_loop_t *loop)
{
    atomic_store(&pool_held, true);
    for (int i = 0; i < 64; i++) /* more than the pool has threads */
        assert_int_equal(uv_queue_work(loop, xcalloc(1, sizeof(uv_work_t)), hold_work, hold_done),
                         0);
}

/* Collects the CHUNK replies of rid into buf (indexes relative to
 * first); returns how many arrived. */
static uint32_t collect_chunks(struct client *cl, uint32_t rid, const struct file *f,
                               uint32_t first, uint32_t count, const struct manifest *mf,
                               uint8_t *buf)
{
    uint32_t got = 0;
    bool *seen = xcalloc(count, sizeof(bool));
    while (got < count) {
        struct wire_msg m = expect(cl, rid, WIRE_CHUNK, 0);
        uint32_t i = m.u.chunk.index;
        assert_true(i >= first && i < first + count);
        assert_false(seen[i - first]);
        seen[i - first] = true;
        assert_memory_equal(m.u.chunk.file_id, f->id, WIRE_ID_LEN);
        assert_true(manifest_verify_chunk(mf, i, m.u.chunk.data, m.u.chunk.len));
        memcpy(buf + (size_t)i * MANIFEST_CHUNK_SIZE, m.u.chunk.data, m.u.chunk.len);
        got++;
        wire_msg_clear(&m);
    }
    free(seen);
    return got;
}

static struct manifest *fetch_manifest(struct client *cl, const struct file *f)
{
    struct wire_msg m = expect(cl, svc_client_get_manifest(cl->c, f->id), WIRE_MANIFEST, 0);
    struct manifest *mf;
    struct content_id id;
    memcpy(id.bytes, f->id, CONTENT_ID_LEN);
    assert_int_equal(manifest_decode(m.u.manifest.data, m.u.manifest.len, &id, &mf), 0);
    wire_msg_clear(&m);
    return mf;
}

/* manifest + key + every chunk = exactly the stored file, which the key
 * decrypts to exactly the original bytes. */
static void test_fetch_whole_file(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    struct client cl = {0};
    client_login(loop, srv, &cl);

    for (int fi = 0; fi < NFILES; fi++) {
        const struct file *f = &D.f[fi];
        struct manifest *mf = fetch_manifest(&cl, f);
        assert_int_equal(mf->file_size, f->len);
        assert_int_equal(mf->chunk_count, f->chunks);
        struct wire_msg k = expect(&cl, svc_client_get_key(cl.c, f->id), WIRE_KEY, 0);
        assert_memory_equal(k.u.key.key, f->key.bytes, CONTENT_KEY_LEN);
        struct content_key key;
        memcpy(key.bytes, k.u.key.key, CONTENT_KEY_LEN);
        wire_msg_clear(&k);

        uint8_t *buf = xcalloc(1, f->len);
        /* in two requests, the second one first */
        uint32_t half = f->chunks / 2;
        uint32_t r2 =
            svc_client_get_chunks(cl.c, f->id, half, f->chunks - half, WIRE_PRIO_PLAYING, 1000);
        uint32_t r1 = svc_client_get_chunks(cl.c, f->id, 0, half, WIRE_PRIO_PREFETCH, 0);
        assert_int_equal(collect_chunks(&cl, r2, f, half, f->chunks - half, mf, buf),
                         f->chunks - half);
        assert_int_equal(collect_chunks(&cl, r1, f, 0, half, mf, buf), half);
        assert_memory_equal(buf, f->enc, f->len);
        assert_int_equal(content_crypt(&key, 0, buf, buf, f->len), 0);
        assert_memory_equal(buf, f->plain, f->len);
        free(buf);
        manifest_free(mf);
    }
    client_free(&cl);
    env_stop(&e);
    uint64_t total = 0;
    for (int i = 0; i < NFILES; i++)
        total += D.f[i].chunks;
    assert_int_equal(srv->final.chunks_served, total);
}

/* A request for the playing track sent after a large background request
 * is served first; and a cancelled request stops for good. */
static void test_urgent_overtakes_bulk(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    struct client cl = {0};
    client_login(loop, srv, &cl);
    struct manifest *ma = fetch_manifest(&cl, &D.f[FA]);
    struct manifest *mb = fetch_manifest(&cl, &D.f[FB]);

    const struct file *bulk = &D.f[FB], *urgent = &D.f[FA];
    uint32_t rb = svc_client_get_chunks(cl.c, bulk->id, 0, bulk->chunks, WIRE_PRIO_BACKGROUND, 0);
    uint32_t ru = svc_client_get_chunks(cl.c, urgent->id, 0, 8, WIRE_PRIO_PLAYING, 300);
    uint32_t bulk_seen = 0, urgent_seen = 0, bulk_before_urgent_done = 0;
    while (bulk_seen < bulk->chunks || urgent_seen < 8) {
        struct wire_msg m;
        assert_int_equal(svc_client_next(cl.c, &m, T_MS), 0);
        assert_int_equal(m.type, WIRE_CHUNK);
        if (m.rid == ru) {
            assert_true(manifest_verify_chunk(ma, m.u.chunk.index, m.u.chunk.data, m.u.chunk.len));
            if (++urgent_seen == 8)
                bulk_before_urgent_done = bulk_seen;
        } else {
            assert_int_equal(m.rid, rb);
            assert_true(manifest_verify_chunk(mb, m.u.chunk.index, m.u.chunk.data, m.u.chunk.len));
            bulk_seen++;
        }
        wire_msg_clear(&m);
    }
    print_message("urgent request complete after %u of %u bulk chunks\n", bulk_before_urgent_done,
                  bulk->chunks);
    /* first in, first out would deliver all 400 bulk chunks first */
    assert_true(bulk_before_urgent_done < bulk->chunks / 4);

    /* cancel while chunks flow: after the OK, not one more chunk of that
     * request (how many come before it depends on how fast this thread
     * reads: loopback may have taken the whole file already) */
    uint32_t rc = svc_client_get_chunks(cl.c, bulk->id, 0, bulk->chunks, WIRE_PRIO_BACKGROUND, 0);
    struct wire_msg m = expect(&cl, rc, WIRE_CHUNK, 0);
    wire_msg_clear(&m);
    assert_int_equal(svc_client_cancel(cl.c, rc), rc);
    for (;;) {
        assert_int_equal(svc_client_wait(cl.c, rc, &m, T_MS), 0);
        uint8_t type = m.type;
        wire_msg_clear(&m);
        if (type == WIRE_OK)
            break;
        assert_int_equal(type, WIRE_CHUNK);
    }
    svc_client_run_for(cl.c, 100);
    assert_int_equal(svc_client_next(cl.c, &m, 1), CLIENT_ETIMEOUT);

    /* cancel while its chunk reads wait for a thread: the OK comes first,
     * and the reads that finish after it send nothing */
    hold_pool(loop);
    rc = svc_client_get_chunks(cl.c, bulk->id, 0, bulk->chunks, WIRE_PRIO_BACKGROUND, 0);
    expect_ok(&cl, svc_client_ping(cl.c), WIRE_PONG); /* the request is in, its reads wait */
    expect_ok(&cl, svc_client_cancel(cl.c, rc), WIRE_OK);
    atomic_store(&pool_held, false);
    svc_client_run_for(cl.c, 300);
    assert_int_equal(svc_client_next(cl.c, &m, 1), CLIENT_ETIMEOUT);
    /* the connection is fine afterwards */
    expect_ok(&cl, svc_client_ping(cl.c), WIRE_PONG);

    manifest_free(ma);
    manifest_free(mb);
    client_free(&cl);
    env_stop(&e);
}

/* Lookup on c until it returns want peers (the service processes other
 * clients' messages and disconnects asynchronously). */
static struct wire_msg lookup_until(struct client *c, const uint8_t *id, uint32_t want)
{
    for (int tries = 0;; tries++) {
        struct wire_msg m = expect(c, svc_client_lookup(c->c, id), WIRE_PEERS, 0);
        if (m.u.peers.count == want || tries > 200)
            return m;
        wire_msg_clear(&m);
        svc_client_run_for(c->c, 20);
    }
}

static void test_tracker(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 600); /* silence timeout */
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    struct client a = {0}, b = {0}, c = {0};
    client_login(loop, srv, &a);
    client_login(loop, srv, &b);
    client_login(loop, srv, &c);
    uint8_t ka[TLS_KEY_LEN], kb[TLS_KEY_LEN];
    tls_identity_public_key(a.id, ka);
    tls_identity_public_key(b.id, kb);
    const uint8_t(*x)[WIRE_ID_LEN] = (const uint8_t(*)[WIRE_ID_LEN])D.f[FA].id;

    expect_error(&a, svc_client_announce(a.c, 0, x, 1, false), WIRE_ERR_BAD_REQUEST);
    expect_ok(&a, svc_client_announce(a.c, 5001, x, 1, false), WIRE_OK);
    expect_ok(&b, svc_client_announce(b.c, 5002, x, 1, false), WIRE_OK);

    /* most recent first, with address, port and key */
    struct wire_msg m = expect(&c, svc_client_lookup(c.c, D.f[FA].id), WIRE_PEERS, 0);
    assert_int_equal(m.u.peers.count, 2);
    assert_int_equal(m.u.peers.peers[0].port, 5002);
    assert_memory_equal(m.u.peers.peers[0].key, kb, TLS_KEY_LEN);
    assert_int_equal(m.u.peers.peers[1].port, 5001);
    assert_memory_equal(m.u.peers.peers[1].key, ka, TLS_KEY_LEN);
    assert_int_equal(m.u.peers.peers[0].family, 4);
    assert_memory_equal(m.u.peers.peers[0].addr, "\x7f\0\0\1", 4);
    wire_msg_clear(&m);
    /* never the asker */
    m = expect(&a, svc_client_lookup(a.c, D.f[FA].id), WIRE_PEERS, 0);
    assert_int_equal(m.u.peers.count, 1);
    assert_memory_equal(m.u.peers.peers[0].key, kb, TLS_KEY_LEN);
    wire_msg_clear(&m);
    /* a file nobody announced */
    m = expect(&c, svc_client_lookup(c.c, D.f[FB].id), WIRE_PEERS, 0);
    assert_int_equal(m.u.peers.count, 0);
    wire_msg_clear(&m);

    /* withdraw, announce again, then disconnect */
    expect_ok(&b, svc_client_announce(b.c, 5002, x, 1, true), WIRE_OK);
    m = expect(&c, svc_client_lookup(c.c, D.f[FA].id), WIRE_PEERS, 0);
    assert_int_equal(m.u.peers.count, 1);
    assert_int_equal(m.u.peers.peers[0].port, 5001);
    wire_msg_clear(&m);
    expect_ok(&b, svc_client_announce(b.c, 5002, x, 1, false), WIRE_OK);
    client_free(&b);
    m = lookup_until(&c, D.f[FA].id, 1);
    assert_int_equal(m.u.peers.count, 1);
    assert_int_equal(m.u.peers.peers[0].port, 5001);
    wire_msg_clear(&m);

    /* silence: a says nothing for longer than the timeout; c keeps asking.
     * a is skipped at once, and its entry is gone once the sweep ran, so
     * speaking again is not enough: it must announce again. */
    uint64_t t0 = testutil_now_ns();
    m = lookup_until(&c, D.f[FA].id, 0);
    assert_int_equal(m.u.peers.count, 0);
    wire_msg_clear(&m);
    assert_true(testutil_now_ns() - t0 >= 500000000ull);
    svc_client_run_for(c.c, 400); /* the sweep runs every quarter of the silence timeout */
    expect_ok(&a, svc_client_ping(a.c), WIRE_PONG);
    m = expect(&c, svc_client_lookup(c.c, D.f[FA].id), WIRE_PEERS, 0);
    assert_int_equal(m.u.peers.count, 0);
    wire_msg_clear(&m);
    expect_ok(&a, svc_client_announce(a.c, 5001, x, 1, false), WIRE_OK);
    m = expect(&c, svc_client_lookup(c.c, D.f[FA].id), WIRE_PEERS, 0);
    assert_int_equal(m.u.peers.count, 1);
    wire_msg_clear(&m);

    client_free(&a);
    client_free(&c);
    env_stop(&e);
    assert_int_equal(srv->final.tracker_entries, 0);
}

/* 200 clients at once on one service: each logs in, searches, fetches a
 * chunk and looks up a file; every answer is right. */
static void test_many_clients(void **state)
{
    (void)state;
    enum { N = 200 };
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    struct client *cl = xcalloc(N, sizeof(*cl));
    uint32_t *rl = xcalloc(N, sizeof(uint32_t)), *rs = xcalloc(N, sizeof(uint32_t));
    uint32_t *rc = xcalloc(N, sizeof(uint32_t)), *rk = xcalloc(N, sizeof(uint32_t));
    uint64_t t0 = testutil_now_ns();
    for (int i = 0; i < N; i++) {
        assert_int_equal(tls_identity_generate(&cl[i].id), 0);
        struct svc_client_opts o = {
            .host = "127.0.0.1",
            .port = (uint16_t)srv->port,
            .identity = cl[i].id,
            .service_key = srv->key,
        };
        assert_int_equal(svc_client_new(loop, &o, &cl[i].c), 0);
        rl[i] = svc_client_login(cl[i].c, "alice", "wonderland");
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(svc_client_wait_ready(cl[i].c, T_MS), 0);
        expect_ok(&cl[i], rl[i], WIRE_TICKET);
    }
    for (int i = 0; i < N; i++) {
        rs[i] = svc_client_search(cl[i].c, "waltz", 5);
        rc[i] = svc_client_get_chunks(cl[i].c, D.f[FA].id, (uint32_t)i % D.f[FA].chunks, 1,
                                      WIRE_PRIO_PLAYING, 0);
        rk[i] = svc_client_lookup(cl[i].c, D.f[FC].id);
    }
    for (int i = 0; i < N; i++) {
        struct wire_msg m = expect(&cl[i], rs[i], WIRE_ITEMS, 0);
        assert_int_equal(m.u.items.count, 1);
        assert_string_equal(m.u.items.items[0].title, "Noon Waltz");
        wire_msg_clear(&m);
        m = expect(&cl[i], rc[i], WIRE_CHUNK, 0);
        uint32_t idx = (uint32_t)i % D.f[FA].chunks;
        assert_int_equal(m.u.chunk.index, idx);
        size_t want =
            idx + 1 < D.f[FA].chunks ? MANIFEST_CHUNK_SIZE : D.f[FA].len % MANIFEST_CHUNK_SIZE;
        assert_int_equal(m.u.chunk.len, want);
        assert_memory_equal(m.u.chunk.data, D.f[FA].enc + (size_t)idx * MANIFEST_CHUNK_SIZE, want);
        wire_msg_clear(&m);
        expect_ok(&cl[i], rk[i], WIRE_PEERS);
    }
    print_message("%d clients: connect, login, 3 requests each in %.2f s\n", N,
                  (double)(testutil_now_ns() - t0) / 1e9);
    for (int i = 0; i < N; i++)
        client_free(&cl[i]);
    env_stop(&e);
    assert_int_equal(srv->final.clients_total, N);
    assert_int_equal(srv->final.logins_ok, N);
    free(cl);
    free(rl);
    free(rs);
    free(rc);
    free(rk);
}

/* A witness client that must keep working whatever the others do. */
static void witness_check(struct client *w)
{
    struct wire_msg m = expect(w, svc_client_get_key(w->c, D.f[FC].id), WIRE_KEY, 0);
    assert_memory_equal(m.u.key.key, D.f[FC].key.bytes, CONTENT_KEY_LEN);
    wire_msg_clear(&m);
}

static void send_raw(struct client *cl, const void *bytes, size_t len)
{
    assert_int_equal(svc_client_send_raw(cl->c, bytes, len), 0);
}

/* A raw connection (no HELLO sent for us) that records what comes back. */
struct raw {
    struct conn *conn;
    struct wire_msg got[4];
    int ngot;
    bool closed;
};

static void raw_message(struct conn *c, struct wire_msg *m, void *arg)
{
    (void)c;
    struct raw *r = arg;
    if (r->ngot < 4) {
        r->got[r->ngot++] = *m;
        memset(m, 0, sizeof(*m));
    }
}

static void raw_close(struct conn *c, int err, void *arg)
{
    (void)c;
    (void)err;
    struct raw *r = arg;
    r->closed = true;
}

/* Sends bytes (after TLS, nothing else first) and runs until the service
 * closes the connection: it must have answered exactly one ERROR with
 * want_code, or nothing at all when want_code is 0. */
static void raw_session(uv_loop_t *loop, struct server *srv, const uint8_t *bytes, size_t len,
                        uint16_t want_code)
{
    static const struct conn_callbacks cb = {.on_message = raw_message, .on_close = raw_close};
    struct tls_identity *id;
    struct tls_ctx *ctx;
    assert_int_equal(tls_identity_generate(&id), 0);
    assert_int_equal(tls_ctx_new(id, false, &ctx), 0);
    struct raw r = {0};
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", srv->port, &a);
    assert_int_equal(conn_connect(loop, (struct sockaddr *)&a, ctx, srv->key, &cb, &r, &r.conn), 0);
    if (len) {
        uint8_t *copy = xmalloc(len);
        memcpy(copy, bytes, len);
        assert_int_equal(conn_send_frame(r.conn, copy, len, CONN_PRIO_CONTROL, 0), 0);
    }
    uint64_t t0 = testutil_now_ns();
    while (!r.closed) {
        uv_run(loop, UV_RUN_ONCE);
        assert_true(testutil_now_ns() - t0 < (uint64_t)T_MS * 1000000);
    }
    assert_int_equal(r.ngot, want_code ? 1 : 0);
    if (want_code) {
        assert_int_equal(r.got[0].type, WIRE_ERROR);
        assert_int_equal(r.got[0].u.error.code, want_code);
        wire_msg_clear(&r.got[0]);
    }
    tls_ctx_free(ctx);
    tls_identity_free(id);
}

static void raw_session_msg(uv_loop_t *loop, struct server *srv, const struct wire_msg *first,
                            uint16_t want_code)
{
    uint8_t *frame;
    size_t len;
    assert_int_equal(wire_encode(first, &frame, &len), 0);
    raw_session(loop, srv, frame, len, want_code);
    free(frame);
}

/* A fresh logged-in connection sends bytes: the service answers ERROR
 * (protocol error) and closes that connection; the witness w is still
 * served. */
static void refused(struct env *e, struct client *w, const uint8_t *bytes, size_t len)
{
    struct client x = {0};
    client_login(&e->loop, &e->srv, &x);
    send_raw(&x, bytes, len);
    expect_closed(&x, WIRE_ERR_PROTOCOL);
    client_free(&x);
    witness_check(w);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A GET_CHUNKS whose fields the codec would not encode, as raw bytes. */
static void refused_get_chunks(struct env *e, struct client *w, uint32_t first, uint32_t count,
                               uint8_t priority)
{
    uint8_t f[WIRE_HEADER_LEN + 4 + WIRE_ID_LEN + 4 + 4 + 1 + 4] = {0};
    put_u32(f, sizeof(f) - WIRE_HEADER_LEN);
    f[4] = WIRE_GET_CHUNKS;
    put_u32(f + 5, 1); /* rid */
    put_u32(f + 9 + WIRE_ID_LEN, first);
    put_u32(f + 13 + WIRE_ID_LEN, count);
    f[17 + WIRE_ID_LEN] = priority;
    refused(e, w, f, sizeof(f));
}

/* A BROWSE (kind, limit) or SEARCH (limit, empty query) out of range. */
static void refused_browse(struct env *e, struct client *w, uint8_t type, uint8_t kind,
                           uint32_t limit)
{
    uint8_t f[WIRE_HEADER_LEN + 4 + 1 + 8 + 4 + 4] = {0};
    size_t len = type == WIRE_SEARCH ? WIRE_HEADER_LEN + 4 + 4 + 2 : sizeof(f);
    put_u32(f, (uint32_t)(len - WIRE_HEADER_LEN));
    f[4] = type;
    put_u32(f + 5, 1); /* rid */
    if (type == WIRE_SEARCH) {
        put_u32(f + 9, limit);
    } else {
        f[9] = kind;
        put_u32(f + 22, limit);
    }
    refused(e, w, f, len);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    struct client w = {0}, x = {0};
    client_login(loop, srv, &w);
    witness_check(&w);

    /* an oversized frame: a CHUNK declaring 1 MiB */
    const uint8_t huge[5] = {0x00, 0x10, 0x00, 0x00, WIRE_CHUNK};
    refused(&e, &w, huge, sizeof(huge));

    /* a frame its type allows but no request needs (a 100 KB MANIFEST):
     * refused from the header, not buffered */
    const uint8_t unasked[5] = {0x00, 0x01, 0x86, 0xa0, WIRE_MANIFEST};
    refused(&e, &w, unasked, sizeof(unasked));

    /* garbage bytes */
    uint8_t junk[512];
    RAND_bytes(junk, sizeof(junk));
    junk[0] = 0xff;
    refused(&e, &w, junk, sizeof(junk));

    /* a truncated frame: GET_KEY whose body is cut short of its layout */
    const uint8_t cut[5 + 10] = {0, 0, 0, 10, WIRE_GET_KEY, 0, 0, 0, 9};
    refused(&e, &w, cut, sizeof(cut));

    /* a frame cut off by the client going away */
    client_login(loop, srv, &x);
    const uint8_t half[5 + 20] = {0, 0, 0, 36, WIRE_GET_KEY, 0, 0, 0, 9};
    send_raw(&x, half, sizeof(half));
    svc_client_run_for(x.c, 50);
    client_close(&x);
    witness_check(&w);

    /* an unknown type */
    const uint8_t unknown[9] = {0, 0, 0, 4, 0xEE, 0, 0, 0, 7};
    refused(&e, &w, unknown, sizeof(unknown));

    /* fields out of range: the codec refuses them, so they are malformed
     * frames (protocol error, closed), not bad requests */
    refused_get_chunks(&e, &w, 0, 0, WIRE_PRIO_PLAYING);                  /* count 0 */
    refused_get_chunks(&e, &w, 0, WIRE_MAX_RANGE + 1, WIRE_PRIO_PLAYING); /* count */
    refused_get_chunks(&e, &w, 0, 1, WIRE_PRIO_MAX + 1);                  /* priority */
    refused_get_chunks(&e, &w, UINT32_MAX, 2, WIRE_PRIO_PLAYING);         /* overflow */
    refused_browse(&e, &w, WIRE_BROWSE, WIRE_KIND_ARTIST, 0);             /* limit 0 */
    refused_browse(&e, &w, WIRE_BROWSE, WIRE_KIND_ARTIST, WIRE_MAX_ITEMS + 1);
    refused_browse(&e, &w, WIRE_BROWSE, 9, 10); /* kind */
    refused_browse(&e, &w, WIRE_SEARCH, 0, 0);  /* limit 0 */

    /* files that do not exist, ranges that do not: errors, connection kept */
    client_login(loop, srv, &x);
    uint8_t nofile[WIRE_ID_LEN];
    RAND_bytes(nofile, sizeof(nofile));
    expect_error(&x, svc_client_get_manifest(x.c, nofile), WIRE_ERR_NOT_FOUND);
    expect_error(&x, svc_client_get_key(x.c, nofile), WIRE_ERR_NOT_FOUND);
    expect_error(&x, svc_client_get_chunks(x.c, nofile, 0, 1, WIRE_PRIO_PLAYING, 0),
                 WIRE_ERR_NOT_FOUND);
    expect_error(&x, svc_client_get_chunks(x.c, D.f[FA].id, D.f[FA].chunks - 1, 2, 0, 0),
                 WIRE_ERR_BAD_REQUEST);
    /* fields out of range do not encode (and are refused below as raw
     * frames) */
    assert_int_equal(svc_client_get_chunks(x.c, D.f[FA].id, 0, 0, 0, 0), 0);
    assert_int_equal(svc_client_get_chunks(x.c, D.f[FA].id, 0, 1, 7, 0), 0);
    assert_int_equal(svc_client_get_chunks(x.c, D.f[FA].id, 0, WIRE_MAX_RANGE + 1, 0, 0), 0);
    /* a reply type sent as a request */
    struct wire_msg ok = {.type = WIRE_OK};
    expect_error(&x, svc_client_send(x.c, &ok), WIRE_ERR_PROTOCOL);
    expect_ok(&x, svc_client_get_chunks(x.c, D.f[FA].id, 0, 1, 0, 0), WIRE_CHUNK);
    client_close(&x);
    witness_check(&w);

    /* no HELLO first, and a HELLO of another protocol version */
    struct wire_msg ping = {.type = WIRE_PING, .rid = 1};
    raw_session_msg(loop, srv, &ping, WIRE_ERR_PROTOCOL);
    struct wire_msg hello = {.type = WIRE_HELLO};
    hello.u.hello.version = WIRE_VERSION + 1;
    hello.u.hello.role = WIRE_ROLE_CLIENT;
    raw_session_msg(loop, srv, &hello, WIRE_ERR_VERSION);
    /* before HELLO, a header declaring 1 MiB: refused at once */
    const uint8_t mib[5] = {0x00, 0x10, 0x00, 0x00, WIRE_MANIFEST};
    raw_session(loop, srv, mib, sizeof(mib), WIRE_ERR_PROTOCOL);
    witness_check(&w);

    client_free(&x);
    client_free(&w);
    env_stop(&e);
    assert_int_equal(srv->final.protocol_errors, 15);
    assert_int_equal(srv->final.clients, 0);
}

/* ---- device credentials ---- */

/* A new connection of cl's identity, not logged in. */
static void client_reopen(uv_loop_t *loop, struct server *srv, struct client *cl)
{
    client_close(cl);
    assert_int_equal(client_open(loop, srv, cl, NULL, 0), 0);
    assert_false(svc_client_authenticated(cl->c));
}

/* A device login that the service must refuse, with the one code it
 * gives for every reason; the connection stays usable but logged out. */
static void device_login_refused(struct client *cl, const char *user, const uint8_t *cred,
                                 size_t len)
{
    assert_int_equal(svc_client_login_device_sync(cl->c, user, cred, len, T_MS), CLIENT_EREFUSED);
    assert_int_equal(svc_client_last_error_code(cl->c), WIRE_ERR_LOGIN);
    assert_false(svc_client_authenticated(cl->c));
}

static void set_password(const char *user, const char *password)
{
    char *path = xasprintf("%s/%s", D.dir, SVC_ACCOUNTS_NAME);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_set_password(db, user, password, &fast), 0);
    account_close(db);
    free(path);
}

static void test_device_credentials(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    struct client a = {0}, thief = {0};
    uint8_t unknown[WIRE_MAX_CRED];
    RAND_bytes(unknown, sizeof(unknown));

    /* nothing of the kind before a login */
    assert_int_equal(client_open(loop, srv, &a, NULL, 0), 0);
    expect_error(&a, svc_client_get_device(a.c, "laptop"), WIRE_ERR_AUTH_REQUIRED);
    expect_error(&a, svc_client_revoke_device(a.c, unknown, 32), WIRE_ERR_AUTH_REQUIRED);

    /* a password login, then a credential for this device */
    assert_int_equal(svc_client_login_sync(a.c, "alice", "wonderland", T_MS), 0);
    uint8_t *cred, *cred2;
    size_t len, len2;
    uint64_t issued;
    uint64_t before = (uint64_t)time(NULL);
    assert_int_equal(svc_client_get_device_sync(a.c, "laptop", &cred, &len, &issued, T_MS), 0);
    assert_int_equal(len, 32);
    assert_true(issued >= before && issued <= (uint64_t)time(NULL));
    assert_int_equal(svc_client_get_device_sync(a.c, NULL, &cred2, &len2, NULL, T_MS), 0);
    assert_memory_not_equal(cred, cred2, 32);

    /* a new connection of the same identity logs in with it: a ticket for
     * alice and this key, kept by the client as after a password login */
    client_reopen(loop, srv, &a);
    assert_int_equal(svc_client_login_device_sync(a.c, "alice", cred, len, T_MS), 0);
    assert_true(svc_client_authenticated(a.c));
    size_t tlen;
    const uint8_t *t = svc_client_ticket(a.c, &tlen, NULL);
    assert_non_null(t);
    uint8_t akey[TLS_KEY_LEN];
    tls_identity_public_key(a.id, akey);
    struct ticket parsed;
    assert_int_equal(ticket_verify(t, tlen, srv->key, akey, (uint64_t)time(NULL), 0, &parsed), 0);
    assert_string_equal(parsed.user, "alice");
    expect_ok(&a, svc_client_get_key(a.c, D.f[FA].id), WIRE_KEY);
    /* only the password makes credentials: not a credential login... */
    expect_error(&a, svc_client_get_device(a.c, "again"), WIRE_ERR_AUTH_REQUIRED);
    uint8_t *ticket = xmalloc(tlen);
    memcpy(ticket, t, tlen);
    client_close(&a);
    /* ...nor a ticket */
    assert_int_equal(client_open(loop, srv, &a, ticket, tlen), 0);
    assert_true(svc_client_authenticated(a.c));
    expect_error(&a, svc_client_get_device(a.c, "again"), WIRE_ERR_AUTH_REQUIRED);
    free(ticket);

    /* the credential from another identity (a copied chorus.db): refused,
     * with the code of a wrong credential or an unknown user */
    assert_int_equal(client_open(loop, srv, &thief, NULL, 0), 0);
    device_login_refused(&thief, "alice", cred, len);
    device_login_refused(&thief, "alice", unknown, 32);
    device_login_refused(&thief, "mallory", cred, len);
    expect_error(&thief, svc_client_get_key(thief.c, D.f[FA].id), WIRE_ERR_AUTH_REQUIRED);
    client_free(&thief);

    /* chorus logout: log in with it, revoke it (twice: idempotent); from
     * then on it logs in nobody, and the other credential still works */
    client_reopen(loop, srv, &a);
    assert_int_equal(svc_client_login_device_sync(a.c, "alice", cred, len, T_MS), 0);
    expect_ok(&a, svc_client_revoke_device(a.c, cred, len), WIRE_OK);
    expect_ok(&a, svc_client_revoke_device(a.c, cred, len), WIRE_OK);
    expect_ok(&a, svc_client_revoke_device(a.c, unknown, sizeof(unknown)), WIRE_OK);
    client_reopen(loop, srv, &a);
    device_login_refused(&a, "alice", cred, len);
    assert_int_equal(svc_client_login_device_sync(a.c, "alice", cred2, len2, T_MS), 0);

    /* a password change voids every credential of the user */
    set_password("alice", "wonderland");
    client_reopen(loop, srv, &a);
    device_login_refused(&a, "alice", cred2, len2);
    assert_int_equal(svc_client_login_sync(a.c, "alice", "wonderland", T_MS), 0);

    /* device and password failures count toward one limit */
    client_reopen(loop, srv, &a);
    for (unsigned i = 0; i + 1 < SVC_MAX_LOGIN_FAILURES; i++)
        device_login_refused(&a, "alice", cred2, len2);
    assert_int_equal(svc_client_login_sync(a.c, "alice", "guess", T_MS), CLIENT_EREFUSED);
    expect_closed(&a, 0);

    free(cred);
    free(cred2);
    client_free(&a);
    env_stop(&e);
    assert_int_equal(srv->final.device_logins_ok, 3);
    assert_int_equal(srv->final.device_logins_failed, 3 + 1 + 1 + SVC_MAX_LOGIN_FAILURES - 1);
    assert_int_equal(srv->final.logins_ok, 2);
    assert_int_equal(srv->final.logins_failed, 1);
}

/* Runs `chorusd revoke --data-dir D.dir user`: its exit status, and its
 * standard error in err (the caller frees). */
static int run_revoke(const char *user, char **err)
{
    char *prog = testutil_program("chorusd");
    char *errpath = xasprintf("%s/revoke.err", D.dir);
    char *argv[] = {prog, "revoke", "--data-dir", D.dir, (char *)user, NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int o = open("/dev/null", O_WRONLY);
        if (e < 0 || o < 0 || dup2(e, 2) < 0 || dup2(o, 1) < 0)
            _exit(99);
        execv(prog, argv);
        _exit(98);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    size_t len;
    char *text = testutil_read_file(errpath, &len);
    *err = xrealloc(text, len + 1);
    (*err)[len] = 0;
    free(errpath);
    free(prog);
    return WEXITSTATUS(status);
}

/* A client with a ticket (and the identity it was issued to) whose HELLO
 * is refused with code. */
static void ticket_refused(uv_loop_t *loop, struct server *srv, struct client *cl,
                           const uint8_t *ticket, size_t len, uint16_t code)
{
    assert_int_equal(client_open(loop, srv, cl, ticket, len), 0);
    assert_false(svc_client_authenticated(cl->c));
    struct wire_msg m;
    assert_int_equal(svc_client_wait(cl->c, 0, &m, T_MS), 0);
    assert_int_equal(m.type, WIRE_ERROR);
    assert_int_equal(m.u.error.code, code);
    wire_msg_clear(&m);
    client_close(cl);
}

/* Logs a in with the password, keeps a copy of its ticket in *t and a
 * new device credential in *cred. */
static void login_with_device(uv_loop_t *loop, struct server *srv, struct client *a, uint8_t **t,
                              size_t *tlen, uint8_t **cred, size_t *clen)
{
    client_login(loop, srv, a);
    const uint8_t *tk = svc_client_ticket(a->c, tlen, NULL);
    *t = xmalloc(*tlen);
    memcpy(*t, tk, *tlen);
    assert_int_equal(svc_client_get_device_sync(a->c, "laptop", cred, clen, NULL, T_MS), 0);
}

/* chorusd revoke (another process, the same accounts.db) and a new
 * password: older tickets are refused at HELLO, stored credentials at
 * once, and logged-in connections are closed by the re-check. */
static void test_revocation(void **state)
{
    (void)state;
    struct env e;
    env_start_cfg(&e, (struct svc_config){.generation_check_ms = 100});
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;

    for (int round = 0; round < 2; round++) {
        struct client a = {0}, b = {0}, c = {0};
        uint8_t *t, *cred;
        size_t tlen, clen;
        login_with_device(loop, srv, &a, &t, &tlen, &cred, &clen);
        b.id = a.id; /* the same device, resuming with the ticket */
        assert_int_equal(client_open(loop, srv, &b, t, tlen), 0);
        assert_true(svc_client_authenticated(b.c));
        expect_ok(&b, svc_client_search(b.c, "morning", 10), WIRE_ITEMS);

        if (round == 0) {
            char *err;
            assert_int_equal(run_revoke("alice", &err), 0);
            free(err);
        } else {
            set_password("alice", "wonderland");
        }
        /* both connections are closed by the re-check, with the ticket code */
        expect_closed(&a, WIRE_ERR_TICKET);
        expect_closed(&b, WIRE_ERR_TICKET);
        client_close(&a);
        client_close(&b);
        /* the ticket is refused at HELLO, the credential at LOGIN_DEVICE */
        c.id = a.id;
        ticket_refused(loop, srv, &c, t, tlen, WIRE_ERR_TICKET);
        assert_int_equal(client_open(loop, srv, &c, NULL, 0), 0);
        assert_int_equal(svc_client_login_device_sync(c.c, "alice", cred, clen, T_MS),
                         CLIENT_EREFUSED);
        assert_int_equal(svc_client_last_error_code(c.c), WIRE_ERR_LOGIN);
        /* the password still logs in, and its new ticket works */
        assert_int_equal(svc_client_login_sync(c.c, "alice", "wonderland", T_MS), 0);
        expect_ok(&c, svc_client_search(c.c, "morning", 10), WIRE_ITEMS);
        c.id = NULL; /* a's */
        client_close(&c);
        free(t);
        free(cred);
        client_free(&a);
    }

    /* an unknown user: exit 1 and a message */
    char *err;
    assert_int_equal(run_revoke("nobody", &err), 1);
    assert_non_null(strstr(err, "no user 'nobody'"));
    free(err);
    env_stop(&e);
    assert_int_equal(srv->final.tickets_refused, 2);
}

/* One login at a time, whatever its kind: a LOGIN_DEVICE sent while a
 * LOGIN is still checked is answered busy. */
static void test_device_login_busy(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct client a = {0};
    assert_int_equal(client_open(&e.loop, &e.srv, &a, NULL, 0), 0);
    uint8_t cred[WIRE_MIN_CRED] = {0};
    hold_pool(&e.loop); /* the LOGIN's check waits for a thread */
    uint32_t login = svc_client_login(a.c, "alice", "wonderland");
    expect_error(&a, svc_client_login_device(a.c, "alice", cred, sizeof(cred)), WIRE_ERR_BUSY);
    atomic_store(&pool_held, false);
    expect_ok(&a, login, WIRE_TICKET);
    client_free(&a);
    env_stop(&e);
}

/* Malformed device requests are protocol errors: that connection goes,
 * a witness is served throughout. */
static void test_device_bad_input(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct client w = {0};
    client_login(&e.loop, &e.srv, &w);

    /* GET_DEVICE whose label runs past the body */
    const uint8_t label_cut[5 + 8] = {0, 0, 0, 8, WIRE_GET_DEVICE, 0, 0, 0, 1, 10, 'h', 'o', 's'};
    refused(&e, &w, label_cut, sizeof(label_cut));
    /* GET_DEVICE with a NUL in its label */
    const uint8_t label_nul[5 + 8] = {0, 0, 0, 8, WIRE_GET_DEVICE, 0, 0, 0, 1, 3, 'a', 0, 'b'};
    refused(&e, &w, label_nul, sizeof(label_nul));
    /* GET_DEVICE declaring more than a 64-byte label: refused from its header */
    const uint8_t label_long[5] = {0, 0, 0, 4 + 1 + WIRE_MAX_LABEL + 1, WIRE_GET_DEVICE};
    refused(&e, &w, label_long, sizeof(label_long));
    /* LOGIN_DEVICE with a 16-byte credential (32..128 allowed) */
    uint8_t short_cred[5 + 4 + 1 + 5 + 2 + 16] = {
        0,   0, 0, 4 + 1 + 5 + 2 + 16, WIRE_LOGIN_DEVICE, 0, 0, 0, 2, 5, 'a', 'l', 'i', 'c',
        'e', 0, 16};
    refused(&e, &w, short_cred, sizeof(short_cred));
    /* LOGIN_DEVICE with no credential at all */
    const uint8_t no_cred[5 + 4 + 1 + 5] = {
        0, 0, 0, 10, WIRE_LOGIN_DEVICE, 0, 0, 0, 3, 5, 'a', 'l', 'i', 'c', 'e'};
    refused(&e, &w, no_cred, sizeof(no_cred));
    /* the same before any login */
    struct client x = {0};
    assert_int_equal(client_open(&e.loop, &e.srv, &x, NULL, 0), 0);
    send_raw(&x, short_cred, sizeof(short_cred));
    expect_closed(&x, WIRE_ERR_PROTOCOL);
    client_free(&x);
    witness_check(&w);

    client_free(&w);
    env_stop(&e);
    assert_int_equal(e.srv.final.protocol_errors, 6);
    assert_int_equal(e.srv.final.device_logins_failed, 0);
}

/* The client pins the service's key on first contact and refuses another
 * service afterwards. */
static void test_pinning(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct server *srv = &e.srv;
    uv_loop_t *loop = &e.loop;
    char *pin = xasprintf("%s/pinned-service-key", D.dir);
    remove(pin);
    struct client cl = {0};
    assert_int_equal(tls_identity_generate(&cl.id), 0);
    struct svc_client_opts o = {
        .host = "localhost",
        .port = (uint16_t)srv->port,
        .identity = cl.id,
        .pin_file = pin,
    };
    assert_int_equal(svc_client_new(loop, &o, &cl.c), 0);
    assert_int_equal(svc_client_wait_ready(cl.c, T_MS), 0);
    size_t len;
    char *text = testutil_read_file(pin, &len);
    char hex[2 * TLS_KEY_LEN + 1];
    tls_key_to_hex(srv->key, hex);
    assert_int_equal(len, 2 * TLS_KEY_LEN + 1);
    assert_memory_equal(text, hex, 2 * TLS_KEY_LEN);
    free(text);
    client_close(&cl);

    /* the same service again: fine */
    assert_int_equal(svc_client_new(loop, &o, &cl.c), 0);
    assert_int_equal(svc_client_wait_ready(cl.c, T_MS), 0);
    client_close(&cl);

    /* another key in the pin file: refused */
    uint8_t other[TLS_KEY_LEN];
    memcpy(other, srv->key, TLS_KEY_LEN);
    other[0] ^= 1;
    tls_key_to_hex(other, hex);
    testutil_write_file(pin, hex, strlen(hex));
    assert_int_equal(svc_client_new(loop, &o, &cl.c), 0);
    assert_int_equal(svc_client_wait_ready(cl.c, T_MS), CLIENT_EPIN);
    assert_int_equal(svc_client_error(cl.c), CLIENT_EPIN);
    client_close(&cl);

    o.pin_file = NULL;
    struct svc_client *none;
    assert_int_equal(svc_client_new(loop, &o, &none), CLIENT_EINVAL);
    remove(pin);
    free(pin);
    client_free(&cl);
    env_stop(&e);
}

/* Stopping the service while clients are mid-transfer and logins wait in
 * its queue: it closes every connection, lets the work in flight finish,
 * frees everything (ASan checks) and the clients see their connection
 * end. */
static void test_shutdown_with_work_in_flight(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    enum { N = 6 };
    struct client cl[N] = {{0}};
    for (int i = 0; i < 2; i++) {
        client_login(&e.loop, &e.srv, &cl[i]);
        svc_client_get_chunks(cl[i].c, D.f[FB].id, 0, D.f[FB].chunks, WIRE_PRIO_BACKGROUND, 0);
    }
    for (int i = 2; i < N; i++) {
        assert_int_equal(client_open(&e.loop, &e.srv, &cl[i], NULL, 0), 0);
        svc_client_login(cl[i].c, "alice", "wonderland");
    }
    struct wire_msg m;
    assert_int_equal(svc_client_next(cl[0].c, &m, T_MS), 0); /* data is flowing */
    wire_msg_clear(&m);
    server_stop(&e.srv);
    for (int i = 0; i < N; i++) {
        int rc;
        while ((rc = svc_client_next(cl[i].c, &m, T_MS)) == 0)
            wire_msg_clear(&m);
        assert_int_equal(rc, CLIENT_ECLOSED);
        client_free(&cl[i]);
    }
    uv_run(&e.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e.loop), 0);
    assert_int_equal(e.srv.final.clients, 0);
}

/* Slow clients cannot hold the service's resources: a connection that
 * never says HELLO goes after the login timeout, one that stops reading
 * its replies goes after the send timeout; a witness is served meanwhile. */
static void test_slow_clients(void **state)
{
    (void)state;
    struct env e;
    env_start_cfg(&e, (struct svc_config){.login_timeout_ms = 300, .send_timeout_ms = 300});
    struct client w = {0}, x = {0};
    client_login(&e.loop, &e.srv, &w);

    /* TLS, then silence */
    uint64_t t0 = testutil_now_ns();
    raw_session(&e.loop, &e.srv, NULL, 0, 0);
    assert_true(testutil_now_ns() - t0 >= 300000000ull);
    witness_check(&w);

    /* asks for 32 MB, takes the first chunk, then reads nothing more */
    client_login(&e.loop, &e.srv, &x);
    enum { REQS = 5 };
    uint32_t rid[REQS];
    for (int i = 0; i < REQS; i++)
        rid[i] = svc_client_get_chunks(x.c, D.f[FB].id, 0, D.f[FB].chunks, WIRE_PRIO_BACKGROUND, 0);
    struct wire_msg m = expect(&x, rid[0], WIRE_CHUNK, 0);
    wire_msg_clear(&m);
    usleep(1500 * 1000); /* this thread's loop does not run: nobody reads */
    uint32_t chunks = 1;
    int rc;
    while ((rc = svc_client_next(x.c, &m, T_MS)) == 0) {
        chunks += m.type == WIRE_CHUNK;
        wire_msg_clear(&m);
    }
    assert_int_equal(rc, CLIENT_ECLOSED);
    print_message("a client that stopped reading was dropped after %u of %u chunks\n", chunks,
                  REQS * D.f[FB].chunks);
    assert_true(chunks < REQS * D.f[FB].chunks);
    witness_check(&w);

    client_free(&x);
    client_free(&w);
    env_stop(&e);
    assert_int_equal(e.srv.final.send_timeouts, 1);
}

/* At max_clients, a new connection is hung up at once and the others are
 * served; the cap never exceeds what RLIMIT_NOFILE leaves for clients. */
static void test_client_cap(void **state)
{
    (void)state;
    struct env e;
    env_start_cfg(&e, (struct svc_config){.max_clients = 2});
    struct client a = {0}, b = {0}, c = {0};
    client_login(&e.loop, &e.srv, &a);
    client_login(&e.loop, &e.srv, &b);
    assert_int_equal(client_open(&e.loop, &e.srv, &c, NULL, 0), CLIENT_ECLOSED);
    witness_check(&a);
    witness_check(&b);
    client_free(&c);
    client_free(&b);
    /* room again once a client has left */
    for (int tries = 0; client_open(&e.loop, &e.srv, &c, NULL, 0) != 0; tries++) {
        assert_true(tries < 100);
        client_close(&c);
        usleep(20 * 1000);
    }
    assert_int_equal(svc_client_login_sync(c.c, "alice", "wonderland", T_MS), 0);
    witness_check(&c);
    client_free(&c);
    client_free(&a);
    env_stop(&e);
    assert_int_equal(e.srv.final.max_clients, 2);
    assert_true(e.srv.final.clients_refused >= 1);

    struct rlimit saved, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 700;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    struct server srv;
    server_start(&srv, 0);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    server_stop(&srv);
    assert_int_equal(srv.final.max_clients, 700 - SVC_FD_RESERVE);
}

/* Fault injection: while fail_accepts is set, accept4 fails with EMFILE as
 * it does when the process has no descriptor left. libuv's accept loop
 * calls accept4; this definition comes before libc's. */
static atomic_int fail_accepts;

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict len, int flags)
{
    if (atomic_load(&fail_accepts)) {
        errno = EMFILE;
        return -1;
    }
    int (*real)(int, __SOCKADDR_ARG, socklen_t *__restrict, int);
    *(void **)&real = dlsym(RTLD_NEXT, "accept4");
    return real(fd, addr, len, flags);
}

/* Out of file descriptors, libuv would call the accept callback again and
 * again without returning to the loop. The service stops accepting for a
 * moment instead: connected clients are served, and new ones are accepted
 * again once descriptors are back. */
static void test_accept_out_of_descriptors(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct client w = {0}, x = {0};
    client_login(&e.loop, &e.srv, &w);

    atomic_store(&fail_accepts, 1);
    assert_true(client_open(&e.loop, &e.srv, &x, NULL, 0) < 0); /* reset with the backlog */
    client_close(&x);
    witness_check(&w); /* the loop did not spin */
    atomic_store(&fail_accepts, 0);

    uint64_t t0 = testutil_now_ns();
    while (client_open(&e.loop, &e.srv, &x, NULL, 0) != 0) { /* refused while paused */
        client_close(&x);
        assert_true(testutil_now_ns() - t0 < 3 * (uint64_t)SVC_ACCEPT_PAUSE_MS * 1000000);
        svc_client_run_for(w.c, 50);
    }
    assert_int_equal(svc_client_login_sync(x.c, "alice", "wonderland", T_MS), 0);
    witness_check(&x);
    client_free(&x);
    client_free(&w);
    env_stop(&e);
    assert_int_equal(e.srv.final.accept_pauses, 1);
}

/* ---- fairness of the catalog queue ---- */

struct fair_count {
    uint32_t hog_items;       /* ITEMS the hog has received */
    int64_t hog_before_other; /* ... when the other's arrived; -1 before */
};

static void count_hog(struct svc_client *c, struct wire_msg *m, void *arg)
{
    (void)c;
    struct fair_count *f = arg;
    assert_int_equal(m->type, WIRE_ITEMS);
    f->hog_items++;
}

static void count_other(struct svc_client *c, struct wire_msg *m, void *arg)
{
    (void)c;
    struct fair_count *f = arg;
    assert_int_equal(m->type, WIRE_ITEMS);
    f->hog_before_other = f->hog_items;
}

/* PING, and the loop runs until its PONG: every request sent before it
 * has been taken by the service. */
static void sync_with_service(struct client *cl)
{
    expect_ok(cl, svc_client_ping(cl->c), WIRE_PONG);
}

/* One client queues as many searches as it may; another's single search,
 * sent after them all, is not served after all of them but takes its
 * turn. */
static void test_catalog_fairness(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, 0);
    struct client hog = {0}, other = {0};
    client_login(&e.loop, &e.srv, &hog);
    client_login(&e.loop, &e.srv, &other);
    hold_pool(&e.loop);
    for (unsigned i = 0; i < SVC_MAX_JOBS_PER_CLIENT; i++)
        assert_int_not_equal(svc_client_search(hog.c, "morning", 10), 0);
    sync_with_service(&hog);
    assert_int_not_equal(svc_client_search(other.c, "waltz", 10), 0);
    sync_with_service(&other);

    struct fair_count f = {.hog_before_other = -1};
    svc_client_set_handler(hog.c, count_hog, &f);
    svc_client_set_handler(other.c, count_other, &f);
    atomic_store(&pool_held, false);
    uint64_t t0 = testutil_now_ns();
    while (f.hog_items < SVC_MAX_JOBS_PER_CLIENT || f.hog_before_other < 0) {
        uv_run(&e.loop, UV_RUN_ONCE);
        assert_true(testutil_now_ns() - t0 < (uint64_t)T_MS * 1000000);
    }
    print_message("the other client's search was answered after %lld of the hog's %u\n",
                  (long long)f.hog_before_other, SVC_MAX_JOBS_PER_CLIENT);
    /* first come, first served would answer at least 30 of the hog's first
     * (the other's job would start after the hog's last); taking turns,
     * it starts fourth (some more of the hog's replies may be read first) */
    assert_true(f.hog_before_other < SVC_MAX_JOBS_PER_CLIENT / 2);
    client_free(&hog);
    client_free(&other);
    env_stop(&e);
}

/* svc_new's failures come back from svc_thread_start, and nothing is left
 * running. */
static void test_start_failures(void **state)
{
    (void)state;
    struct server srv;
    server_start(&srv, 0);
    struct svc_thread *t;
    struct svc_config cfg = {.data_dir = D.dir, .listen_addr = "127.0.0.1"};
    cfg.port = (uint16_t)srv.port;
    assert_int_equal(svc_thread_start(&cfg, &t), UV_EADDRINUSE);
    cfg.port = 0;
    cfg.listen_addr = "not-an-address";
    assert_int_equal(svc_thread_start(&cfg, &t), UV_EINVAL);
    char *file = xasprintf("%s/%s", D.dir, SVC_KEY_NAME);
    cfg.listen_addr = "127.0.0.1";
    cfg.data_dir = file; /* a file, not a directory */
    int rc = svc_thread_start(&cfg, &t);
    assert_true(rc < 0);
    assert_string_not_equal(svc_strerror(rc), "unknown connection error");
    free(file);
    server_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_bad_tickets),
        cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_fetch_whole_file),
        cmocka_unit_test(test_urgent_overtakes_bulk),
        cmocka_unit_test(test_tracker),
        cmocka_unit_test(test_many_clients),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_device_credentials),
        cmocka_unit_test(test_device_login_busy),
        cmocka_unit_test(test_device_bad_input),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_pinning),
        cmocka_unit_test(test_shutdown_with_work_in_flight),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_client_cap),
        cmocka_unit_test(test_accept_out_of_descriptors),
        cmocka_unit_test(test_catalog_fairness),
        cmocka_unit_test(test_start_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
