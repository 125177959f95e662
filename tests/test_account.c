/* test_account: scrypt accounts in a real SQLite file — add, verify good
 * and bad passwords, unknown users, name and password rules, password
 * change, persistence, and concurrent verification from several threads. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/xmalloc.h"
#include "net/account.h"

/* Cheap parameters keep the test fast; the code path is the same. */
static const struct account_params fast = {10, 8, 1};

static void test_add_and_verify(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("account");
    char *path = xasprintf("%s/accounts.db", dir);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(account_add(db, "alice", "s3cret", &fast), 0);
    assert_int_equal(account_add(db, "bob.b-2_x", "hunter2", &fast), 0);
    assert_int_equal(account_add(db, "alice", "other", &fast), ACCOUNT_EEXISTS);
    assert_int_equal(account_verify(db, "alice", "s3cret"), 0);
    assert_int_equal(account_verify(db, "alice", "s3creT"), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "alice", "s3cret "), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "alice", ""), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "bob.b-2_x", "hunter2"), 0);
    assert_int_equal(account_verify(db, "bob.b-2_x", "s3cret"), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "carol", "s3cret"), ACCOUNT_EDENIED);
    int64_t n;
    assert_int_equal(account_count(db, &n), 0);
    assert_int_equal(n, 2);

    /* names and passwords */
    assert_int_equal(account_add(db, "", "x", &fast), ACCOUNT_ENAME);
    assert_int_equal(account_add(db, "-rf", "x", &fast), ACCOUNT_ENAME);
    assert_int_equal(account_add(db, ".hidden", "x", &fast), ACCOUNT_ENAME);
    assert_int_equal(account_add(db, "a b", "x", &fast), ACCOUNT_ENAME);
    assert_int_equal(account_add(db, "a'; DROP TABLE users; --", "x", &fast), ACCOUNT_ENAME);
    char longname[ACCOUNT_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_int_equal(account_add(db, longname, "x", &fast), ACCOUNT_ENAME);
    longname[ACCOUNT_NAME_MAX] = 0;
    assert_int_equal(account_add(db, longname, "x", &fast), 0);
    assert_int_equal(account_add(db, "dave", "", &fast), ACCOUNT_EPASSWORD);
    char *longpass = xcalloc(1, ACCOUNT_PASS_MAX + 2);
    memset(longpass, 'p', ACCOUNT_PASS_MAX + 1);
    assert_int_equal(account_add(db, "dave", longpass, &fast), ACCOUNT_EPASSWORD);
    longpass[ACCOUNT_PASS_MAX] = 0;
    assert_int_equal(account_add(db, "dave", longpass, &fast), 0);
    assert_int_equal(account_verify(db, "dave", longpass), 0);
    free(longpass);
    struct account_params silly = {40, 8, 1};
    assert_int_equal(account_add(db, "erin", "x", &silly), ACCOUNT_EPARAMS);

    /* password change */
    assert_int_equal(account_set_password(db, "alice", "new one", &fast), 0);
    assert_int_equal(account_verify(db, "alice", "s3cret"), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "alice", "new one"), 0);
    assert_int_equal(account_set_password(db, "nobody", "x", &fast), ACCOUNT_EDENIED);
    account_close(db);

    /* persisted */
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_verify(db, "alice", "new one"), 0);
    assert_int_equal(account_verify(db, "bob.b-2_x", "hunter2"), 0);
    account_close(db);

    assert_int_equal(account_open("/nonexistent/dir/accounts.db", &db), ACCOUNT_EDB);
    assert_string_not_equal(account_strerror(ACCOUNT_EDENIED), account_strerror(ACCOUNT_EDB));
    testutil_rmtree(dir);
    free(path);
    free(dir);
}

/* The default parameters are the documented ones (and work). */
static void test_default_params(void **state)
{
    (void)state;
    assert_int_equal(account_default_params.log2_n, 15);
    assert_int_equal(account_default_params.r, 8);
    assert_int_equal(account_default_params.p, 1);
    char *dir = testutil_tempdir("account_default");
    char *path = xasprintf("%s/accounts.db", dir);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_add(db, "zed", "pw", NULL), 0);
    assert_int_equal(account_verify(db, "zed", "pw"), 0);
    assert_int_equal(account_verify(db, "zed", "pW"), ACCOUNT_EDENIED);
    account_close(db);
    testutil_rmtree(dir);
    free(path);
    free(dir);
}

struct worker {
    struct account_db *db;
    int index;
    int failures;
};

static void *verify_worker(void *arg)
{
    struct worker *w = arg;
    char name[32], pass[32];
    for (int i = 0; i < 20; i++) {
        int u = (w->index + i) % 4;
        snprintf(name, sizeof(name), "user%d", u);
        snprintf(pass, sizeof(pass), "pass%d", u);
        if (account_verify(w->db, name, pass) != 0)
            w->failures++;
        snprintf(pass, sizeof(pass), "pass%d", u + 1);
        if (account_verify(w->db, name, pass) != ACCOUNT_EDENIED)
            w->failures++;
    }
    return NULL;
}

/* Four threads verify at once on one db (as the service's threadpool
 * does) while a fifth adds users. */
static void test_concurrent_verify(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("account_mt");
    char *path = xasprintf("%s/accounts.db", dir);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    char name[32], pass[32];
    for (int u = 0; u < 4; u++) {
        snprintf(name, sizeof(name), "user%d", u);
        snprintf(pass, sizeof(pass), "pass%d", u);
        assert_int_equal(account_add(db, name, pass, &fast), 0);
    }
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.db = db, .index = i};
        pthread_create(&t[i], NULL, verify_worker, &w[i]);
    }
    for (int u = 10; u < 30; u++) {
        snprintf(name, sizeof(name), "extra%d", u);
        assert_int_equal(account_add(db, name, "x", &fast), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    int64_t n;
    assert_int_equal(account_count(db, &n), 0);
    assert_int_equal(n, 24);
    account_close(db);
    testutil_rmtree(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_verify),
        cmocka_unit_test(test_default_params),
        cmocka_unit_test(test_concurrent_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
