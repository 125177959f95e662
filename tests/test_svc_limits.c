/* test_svc_limits: the service's defences of its logins, against a real
 * chorusd on loopback with real TLS clients (net/client.h) bound to
 * source addresses 127.0.0.x, so that each counts as an address of its
 * own.
 *
 * Covered: LOGIN and LOGIN_DEVICE on a logged-in connection refused; one
 * account flooding LOGINs from many connections of one address while an
 * honest user from another address (and another account from the same
 * address) is served within the login timeout, and no queued login timed
 * out; guessing held back as configured — per (account, address), per
 * address and per account, doubling — and the real password accepted
 * after the back-off, and from another address meanwhile; the caps on
 * connections and pending logins per address; loopback exempt by
 * default. */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/xmalloc.h"
#include "net/account.h"
#include "net/client.h"
#include "net/svc.h"

#define T_MS 30000 /* generous: ASan and TSan builds are slow */

static const struct account_params fast = {10, 8, 1};
/* a check of some tens of milliseconds: a flood of them takes seconds */
static const struct account_params slow = {14, 8, 1};

static char *dir;

static int group_setup(void **state)
{
    (void)state;
    dir = testutil_tempdir("svc_limits");
    char *path = xasprintf("%s/%s", dir, SVC_ACCOUNTS_NAME);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_add(db, "alice", "wonderland", &fast), 0);
    assert_int_equal(account_add(db, "bob", "builder", &fast), 0);
    assert_int_equal(account_add(db, "flood", "flood", &slow), 0);
    account_close(db);
    free(path);
    signal(SIGPIPE, SIG_IGN);
    testutil_raise_fd_limit(2048);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    testutil_rmtree(dir);
    free(dir);
    return 0;
}

/* A service on 127.0.0.1 (clients reach it from any 127.0.0.x) and the
 * test thread's loop for the clients. */
struct env {
    struct svc_thread *t;
    int port;
    uint8_t key[TLS_KEY_LEN];
    struct svc_stats final;
    uv_loop_t loop;
};

static void env_start(struct env *e, struct svc_config cfg)
{
    memset(e, 0, sizeof(*e));
    cfg.data_dir = dir;
    cfg.listen_addr = "127.0.0.1";
    assert_int_equal(svc_thread_start(&cfg, &e->t), 0);
    e->port = svc_thread_port(e->t);
    svc_thread_public_key(e->t, e->key);
    assert_int_equal(uv_loop_init(&e->loop), 0);
}

static void env_stop(struct env *e)
{
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    svc_thread_stop(e->t, &e->final);
}

struct client {
    struct tls_identity *id;
    struct svc_client *c;
};

/* Connects from the address from to the service and waits for HELLO:
 * 0, or why not (CLIENT_ECLOSED when the service hung up). */
static int client_open(struct env *e, struct client *cl, const char *from)
{
    if (!cl->id)
        assert_int_equal(tls_identity_generate(&cl->id), 0);
    struct svc_client_opts o = {
        .host = "127.0.0.1",
        .port = (uint16_t)e->port,
        .identity = cl->id,
        .service_key = e->key,
        .bind_addr = from,
    };
    assert_int_equal(svc_client_new(&e->loop, &o, &cl->c), 0);
    return svc_client_wait_ready(cl->c, T_MS);
}

static void client_free(struct client *cl)
{
    if (cl->c)
        svc_client_close(cl->c);
    cl->c = NULL;
    tls_identity_free(cl->id);
    cl->id = NULL;
}

/* A login's outcome: 0 (TICKET) or the ERROR's code. */
static int login_code(struct client *cl, const char *user, const char *password)
{
    int rc = svc_client_login_sync(cl->c, user, password, T_MS);
    if (rc == CLIENT_EREFUSED)
        return svc_client_last_error_code(cl->c);
    assert_int_equal(rc, 0);
    return 0;
}

/* The reply to rid: 0 for type, else the ERROR's code. */
static int reply_code(struct client *cl, uint32_t rid, uint8_t type)
{
    struct wire_msg m;
    assert_int_not_equal(rid, 0);
    int rc = svc_client_wait(cl->c, rid, &m, T_MS);
    if (rc < 0)
        fail_msg("no reply to rid %u: %s", rid, svc_client_strerror(rc));
    int code = m.type == type ? 0 : m.type == WIRE_ERROR ? m.u.error.code : -1;
    wire_msg_clear(&m);
    return code;
}

static double ms_since(uint64_t t0)
{
    return (double)(testutil_now_ns() - t0) / 1e6;
}

/* ---- tests ---- */

/* A second LOGIN or LOGIN_DEVICE on a logged-in connection is refused
 * (BAD_REQUEST) and counts as a failure: the fifth closes it. */
static void test_relogin_refused(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, (struct svc_config){0});
    struct client a = {0};
    assert_int_equal(client_open(&e, &a, NULL), 0);
    assert_int_equal(login_code(&a, "alice", "wonderland"), 0);
    assert_int_equal(login_code(&a, "alice", "wonderland"), WIRE_ERR_BAD_REQUEST);
    uint8_t cred[32] = {0};
    assert_int_equal(
        reply_code(&a, svc_client_login_device(a.c, "alice", cred, sizeof(cred)), WIRE_TICKET),
        WIRE_ERR_BAD_REQUEST);
    /* still logged in and served */
    assert_int_equal(reply_code(&a, svc_client_ping(a.c), WIRE_PONG), 0);
    for (unsigned i = 2; i < SVC_MAX_LOGIN_FAILURES; i++)
        assert_int_equal(login_code(&a, "alice", "wonderland"), WIRE_ERR_BAD_REQUEST);
    struct wire_msg m;
    int rc;
    while ((rc = svc_client_next(a.c, &m, T_MS)) == 0)
        wire_msg_clear(&m);
    assert_int_equal(rc, CLIENT_ECLOSED);
    client_free(&a);
    env_stop(&e);
    assert_int_equal(e.final.logins_ok, 1);
}

/* One account floods LOGINs from many connections of 127.0.0.2 (the
 * per-address caps lifted so that all of them queue): a user logging in
 * from 127.0.0.3, and another account from 127.0.0.2 itself, are served
 * long before the flood is, within the login timeout; and no flooding
 * connection is closed by that timeout while its login waits. */
static void test_flood_fair(void **state)
{
    (void)state;
    enum { N = 100 };
    const uint64_t timeout = 1000;
    struct env e;
    env_start(&e, (struct svc_config){.limit_loopback = true,
                                      .max_logins_per_addr = 1000,
                                      .max_conns_per_addr = 1000,
                                      .login_timeout_ms = timeout});
    struct client fl[N] = {{0}}, honest = {0}, neighbour = {0};
    uint32_t rid[N];
    /* Each flooding client logs in as soon as it is connected: one that
     * sat idle while the others connect (a slow machine, a sanitizer)
     * would meet the login timeout before it had asked anything. */
    uint64_t t0 = testutil_now_ns();
    for (int i = 0; i < N; i++) {
        assert_int_equal(client_open(&e, &fl[i], "127.0.0.2"), 0);
        rid[i] = svc_client_login(fl[i].c, "flood", "flood");
    }
    assert_int_equal(client_open(&e, &honest, "127.0.0.3"), 0);
    assert_int_equal(client_open(&e, &neighbour, "127.0.0.2"), 0);
    svc_client_run_for(honest.c, 50); /* the flood is queued */
    uint64_t t1 = testutil_now_ns();
    assert_int_equal(login_code(&honest, "alice", "wonderland"), 0);
    double honest_ms = ms_since(t1);
    t1 = testutil_now_ns();
    assert_int_equal(login_code(&neighbour, "bob", "builder"), 0);
    double neighbour_ms = ms_since(t1);
    for (int i = 0; i < N; i++)
        assert_int_equal(reply_code(&fl[i], rid[i], WIRE_TICKET), 0);
    double flood_ms = ms_since(t0);
    print_message("%d flooding logins in %.0f ms; honest login from another address in %.0f ms, "
                  "another account from the same address in %.0f ms\n",
                  N, flood_ms, honest_ms, neighbour_ms);
    assert_true(flood_ms > (double)timeout); /* the flood outlasted the login timeout */
    assert_true(honest_ms < (double)timeout);
    assert_true(neighbour_ms < (double)timeout);
    assert_true(honest_ms * 3 < flood_ms);
    for (int i = 0; i < N; i++)
        client_free(&fl[i]);
    client_free(&honest);
    client_free(&neighbour);
    env_stop(&e);
    assert_int_equal(e.final.logins_ok, N + 2);
}

/* A connection's wrong guesses for alice: each answered LOGIN refused. */
static void guess(struct client *cl, const char *user, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(login_code(cl, user, "guess"), WIRE_ERR_LOGIN);
}

/* Guessing alice's password from 127.0.0.4: after 3 failures attempts
 * are held (BUSY, no check) for 300 ms, then 600 ms (doubling, capped at
 * 1 s); the real password is held too, but accepted from 127.0.0.5
 * meanwhile and from 127.0.0.4 once the back-off has passed, which
 * resets the account's counter. */
static void test_guessing_backoff(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, (struct svc_config){.limit_loopback = true,
                                      .login_failures = 3,
                                      .backoff_ms = 300,
                                      .backoff_max_ms = 1000,
                                      .addr_failures = 1000,
                                      .account_failures = 1000});
    struct client g = {0}, real = {0};
    assert_int_equal(client_open(&e, &g, "127.0.0.4"), 0);
    guess(&g, "alice", 3);
    uint64_t t0 = testutil_now_ns();
    assert_int_equal(login_code(&g, "alice", "guess"), WIRE_ERR_BUSY);
    client_free(&g); /* a fresh connection does not help */
    assert_int_equal(client_open(&e, &g, "127.0.0.4"), 0);
    if (ms_since(t0) < 250)
        assert_int_equal(login_code(&g, "alice", "wonderland"), WIRE_ERR_BUSY);
    /* a stranger's guesses do not lock alice out elsewhere */
    assert_int_equal(client_open(&e, &real, "127.0.0.5"), 0);
    assert_int_equal(login_code(&real, "alice", "wonderland"), 0);
    client_free(&real);
    /* after the back-off one more guess is checked; the next delay is doubled */
    svc_client_run_for(g.c, 350);
    guess(&g, "alice", 1);
    t0 = testutil_now_ns();
    svc_client_run_for(g.c, 350);
    assert_int_equal(login_code(&g, "alice", "guess"), WIRE_ERR_BUSY);
    assert_true(ms_since(t0) < 600);
    svc_client_run_for(g.c, 300);
    client_free(&g);
    /* the real password once the back-off has passed; the count starts over */
    assert_int_equal(client_open(&e, &g, "127.0.0.4"), 0);
    assert_int_equal(login_code(&g, "alice", "wonderland"), 0);
    client_free(&g);
    assert_int_equal(client_open(&e, &g, "127.0.0.4"), 0);
    guess(&g, "alice", 3);
    assert_int_equal(login_code(&g, "alice", "guess"), WIRE_ERR_BUSY);
    client_free(&g);
    env_stop(&e);
    assert_int_equal(e.final.logins_failed, 3 + 1 + 3);
    assert_int_equal(e.final.logins_ok, 2);
    assert_true(e.final.logins_held >= 3);
}

/* The address key: one address trying many accounts is held after 4
 * failures (whatever the accounts), another address is not. The account
 * key: guesses for bob from many addresses hold bob's password logins
 * back everywhere, for at most account_backoff_max_ms. */
static void test_backoff_address_and_account(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, (struct svc_config){.limit_loopback = true,
                                      .login_failures = 100,
                                      .addr_failures = 4,
                                      .account_failures = 4,
                                      .backoff_ms = 400,
                                      .account_backoff_max_ms = 400});
    struct client a = {0}, b = {0};
    assert_int_equal(client_open(&e, &a, "127.0.0.6"), 0);
    guess(&a, "nobody1", 1);
    guess(&a, "nobody2", 1);
    guess(&a, "nobody3", 1);
    guess(&a, "nobody4", 1);
    assert_int_equal(login_code(&a, "alice", "wonderland"), WIRE_ERR_BUSY);
    assert_int_equal(client_open(&e, &b, "127.0.0.7"), 0);
    assert_int_equal(login_code(&b, "alice", "wonderland"), 0);
    client_free(&a);
    client_free(&b);

    /* four addresses, one guess each, for bob */
    char from[32];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof(from), "127.0.1.%d", i + 1);
        assert_int_equal(client_open(&e, &a, from), 0);
        guess(&a, "bob", 1);
        client_free(&a);
    }
    uint64_t t0 = testutil_now_ns();
    assert_int_equal(client_open(&e, &a, "127.0.2.1"), 0);
    if (ms_since(t0) < 350)
        assert_int_equal(login_code(&a, "bob", "builder"), WIRE_ERR_BUSY);
    svc_client_run_for(a.c, 450);
    assert_int_equal(login_code(&a, "bob", "builder"), 0);
    client_free(&a);
    env_stop(&e);
}

/* At most 3 connections and 2 pending logins from one address; another
 * address is not affected; a closed connection makes room. */
static void test_address_caps(void **state)
{
    (void)state;
    struct env e;
    env_start(&e, (struct svc_config){
                      .limit_loopback = true, .max_conns_per_addr = 3, .max_logins_per_addr = 2});
    struct client c[4] = {{0}}, other = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(client_open(&e, &c[i], "127.0.0.8"), 0);
    assert_int_equal(client_open(&e, &c[3], "127.0.0.8"), CLIENT_ECLOSED);
    client_free(&c[3]);
    assert_int_equal(client_open(&e, &other, "127.0.0.9"), 0);

    /* three logins at once (each a slow check): the third is busy */
    uint32_t rid[3];
    for (int i = 0; i < 3; i++)
        rid[i] = svc_client_login(c[i].c, "flood", "flood");
    int ok = 0, busy = 0;
    for (int i = 0; i < 3; i++) {
        int code = reply_code(&c[i], rid[i], WIRE_TICKET);
        ok += code == 0;
        busy += code == WIRE_ERR_BUSY;
    }
    assert_int_equal(ok, 2);
    assert_int_equal(busy, 1);
    assert_int_equal(login_code(&other, "alice", "wonderland"), 0);

    client_free(&c[0]);
    svc_client_run_for(c[1].c, 100); /* the service sees it go */
    assert_int_equal(client_open(&e, &c[0], "127.0.0.8"), 0);
    for (int i = 0; i < 3; i++)
        client_free(&c[i]);
    client_free(&other);
    env_stop(&e);
    assert_int_equal(e.final.addr_refused, 1);
}

/* By default loopback is exempt: more connections from 127.0.0.1 than
 * the per-address cap, and more wrong guesses than the back-off allows,
 * are all served at once. */
static void test_loopback_exempt(void **state)
{
    (void)state;
    enum { N = SVC_MAX_CONNS_PER_ADDR + 20 };
    struct env e;
    env_start(&e, (struct svc_config){0});
    struct client *c = xcalloc(N, sizeof(*c));
    for (int i = 0; i < N; i++)
        assert_int_equal(client_open(&e, &c[i], "127.0.0.1"), 0);
    guess(&c[0], "alice", 4);
    guess(&c[1], "alice", 4);
    assert_int_equal(login_code(&c[2], "alice", "wonderland"), 0);
    uint32_t *rid = xcalloc(N, sizeof(*rid));
    for (int i = 3; i < N; i++)
        rid[i] = svc_client_login(c[i].c, "alice", "wonderland");
    for (int i = 3; i < N; i++)
        assert_int_equal(reply_code(&c[i], rid[i], WIRE_TICKET), 0);
    for (int i = 0; i < N; i++)
        client_free(&c[i]);
    free(c);
    free(rid);
    env_stop(&e);
    assert_int_equal(e.final.addr_refused, 0);
    assert_int_equal(e.final.logins_held, 0);
    assert_int_equal(e.final.logins_ok, N - 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relogin_refused),  cmocka_unit_test(test_flood_fair),
        cmocka_unit_test(test_guessing_backoff), cmocka_unit_test(test_backoff_address_and_account),
        cmocka_unit_test(test_address_caps),     cmocka_unit_test(test_loopback_exempt),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
