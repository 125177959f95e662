/* test_account: scrypt accounts in a real SQLite file — add, verify good
 * and bad passwords, unknown users, name and password rules, password
 * change, persistence, and concurrent verification from several threads;
 * device credentials (issue, check bound to a key, revoke, the cap, what
 * is stored, revocation by a password change or the user's deletion) and
 * the migration of a database from before device credentials. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <sqlite3.h>

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
    assert_int_equal(account_verify(db, "alice", "s3cret", NULL), 0);
    assert_int_equal(account_verify(db, "alice", "s3creT", NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "alice", "s3cret ", NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "alice", "", NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "bob.b-2_x", "hunter2", NULL), 0);
    assert_int_equal(account_verify(db, "bob.b-2_x", "s3cret", NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "carol", "s3cret", NULL), ACCOUNT_EDENIED);
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
    assert_int_equal(account_verify(db, "dave", longpass, NULL), 0);
    free(longpass);
    struct account_params silly = {40, 8, 1};
    assert_int_equal(account_add(db, "erin", "x", &silly), ACCOUNT_EPARAMS);

    /* password change */
    assert_int_equal(account_set_password(db, "alice", "new one", &fast), 0);
    assert_int_equal(account_verify(db, "alice", "s3cret", NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_verify(db, "alice", "new one", NULL), 0);
    assert_int_equal(account_set_password(db, "nobody", "x", &fast), ACCOUNT_EDENIED);
    account_close(db);

    /* persisted */
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_verify(db, "alice", "new one", NULL), 0);
    assert_int_equal(account_verify(db, "bob.b-2_x", "hunter2", NULL), 0);
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
    assert_int_equal(account_verify(db, "zed", "pw", NULL), 0);
    assert_int_equal(account_verify(db, "zed", "pW", NULL), ACCOUNT_EDENIED);
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
        if (account_verify(w->db, name, pass, NULL) != 0)
            w->failures++;
        snprintf(pass, sizeof(pass), "pass%d", u + 1);
        if (account_verify(w->db, name, pass, NULL) != ACCOUNT_EDENIED)
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

/* ---- device credentials ---- */

/* The database file beside its directory, for the tests' own SQL. */
struct fixture {
    char *dir, *path;
    struct account_db *db;
};

static struct fixture open_fixture(const char *name)
{
    struct fixture f;
    f.dir = testutil_tempdir(name);
    f.path = xasprintf("%s/accounts.db", f.dir);
    assert_int_equal(account_open(f.path, &f.db), 0);
    return f;
}

static void close_fixture(struct fixture *f)
{
    account_close(f->db);
    testutil_rmtree(f->dir);
    free(f->path);
    free(f->dir);
}

static int64_t devices_of(struct account_db *db, const char *user)
{
    int64_t n = -1;
    assert_int_equal(account_device_count(db, user, &n), 0);
    return n;
}

static void key_of(uint8_t key[TLS_KEY_LEN], uint8_t seed)
{
    for (size_t i = 0; i < TLS_KEY_LEN; i++)
        key[i] = (uint8_t)(seed + 31 * i);
}

static void test_device_credentials(void **state)
{
    (void)state;
    struct fixture f = open_fixture("account_devices");
    struct account_db *db = f.db;
    assert_int_equal(account_add(db, "alice", "pw", &fast), 0);
    assert_int_equal(account_add(db, "bob", "pw", &fast), 0);
    uint8_t ka[TLS_KEY_LEN], kb[TLS_KEY_LEN];
    key_of(ka, 1);
    key_of(kb, 2);

    uint8_t c1[ACCOUNT_CRED_LEN], c2[ACCOUNT_CRED_LEN], cb[ACCOUNT_CRED_LEN];
    assert_int_equal(account_device_add(db, "alice", 0, ka, "laptop", c1), 0);
    assert_int_equal(account_device_add(db, "alice", 0, kb, NULL, c2), 0);
    assert_int_equal(account_device_add(db, "bob", 0, kb, "", cb), 0);
    assert_memory_not_equal(c1, c2, ACCOUNT_CRED_LEN);
    assert_int_equal(devices_of(db, "alice"), 2);
    assert_int_equal(devices_of(db, "bob"), 1);
    assert_int_equal(devices_of(db, "carol"), 0);

    /* each logs in its own user, from its own key only */
    assert_int_equal(account_device_check(db, "alice", c1, sizeof(c1), ka, NULL), 0);
    assert_int_equal(account_device_check(db, "alice", c2, sizeof(c2), kb, NULL), 0);
    assert_int_equal(account_device_check(db, "bob", cb, sizeof(cb), kb, NULL), 0);
    assert_int_equal(account_device_check(db, "alice", c1, sizeof(c1), kb, NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_device_check(db, "bob", c1, sizeof(c1), ka, NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_device_check(db, "alice", cb, sizeof(cb), kb, NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_device_check(db, "carol", c1, sizeof(c1), ka, NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_device_check(db, "", c1, sizeof(c1), ka, NULL), ACCOUNT_EDENIED);
    uint8_t wrong[ACCOUNT_CRED_LEN];
    memcpy(wrong, c1, sizeof(wrong));
    wrong[ACCOUNT_CRED_LEN - 1] ^= 1;
    assert_int_equal(account_device_check(db, "alice", wrong, sizeof(wrong), ka, NULL),
                     ACCOUNT_EDENIED);
    assert_int_equal(account_device_check(db, "alice", c1, sizeof(c1) - 1, ka, NULL),
                     ACCOUNT_EDENIED);

    /* only the hash is stored, with the key, the label and when it was used */
    uint8_t hash[32];
    assert_int_equal(EVP_Digest(c1, sizeof(c1), hash, NULL, EVP_sha256(), NULL), 1);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f.path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw,
                                        "SELECT hash, key, label, created, last_used, generation"
                                        " FROM devices WHERE user = 'alice' AND label = 'laptop'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), 32);
    assert_memory_equal(sqlite3_column_blob(st, 0), hash, 32);
    assert_memory_equal(sqlite3_column_blob(st, 1), ka, TLS_KEY_LEN);
    assert_true(sqlite3_column_int64(st, 3) > 1700000000);
    assert_true(sqlite3_column_int64(st, 4) >= sqlite3_column_int64(st, 3)); /* used above */
    assert_int_equal(sqlite3_column_int(st, 5), 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    assert_int_equal(
        testutil_sql_int(f.path, "SELECT count(*) FROM devices WHERE last_used IS NULL"), 0);

    /* revoke: idempotent, and only the user's own */
    assert_int_equal(account_device_revoke(db, "bob", c1, sizeof(c1)), 0);
    assert_int_equal(account_device_check(db, "alice", c1, sizeof(c1), ka, NULL), 0);
    assert_int_equal(account_device_revoke(db, "alice", c1, sizeof(c1)), 0);
    assert_int_equal(account_device_check(db, "alice", c1, sizeof(c1), ka, NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_device_revoke(db, "alice", c1, sizeof(c1)), 0);
    assert_int_equal(account_device_revoke(db, "alice", wrong, sizeof(wrong)), 0);
    assert_int_equal(devices_of(db, "alice"), 1);
    assert_int_equal(account_device_check(db, "alice", c2, sizeof(c2), kb, NULL), 0);

    /* refusals */
    uint8_t c[ACCOUNT_CRED_LEN];
    assert_int_equal(account_device_add(db, "carol", 0, ka, "x", c), ACCOUNT_EDENIED);
    char label[ACCOUNT_LABEL_MAX + 2];
    memset(label, 'l', sizeof(label) - 1);
    label[sizeof(label) - 1] = 0;
    assert_int_equal(account_device_add(db, "alice", 0, ka, label, c), ACCOUNT_ELABEL);
    label[ACCOUNT_LABEL_MAX] = 0;
    assert_int_equal(account_device_add(db, "alice", 0, ka, label, c), 0);
    while (devices_of(db, "alice") < ACCOUNT_MAX_DEVICES)
        assert_int_equal(account_device_add(db, "alice", 0, ka, "more", c), 0);
    assert_int_equal(account_device_add(db, "alice", 0, ka, "one too many", c), ACCOUNT_EDEVICES);
    assert_int_equal(devices_of(db, "alice"), ACCOUNT_MAX_DEVICES);
    assert_int_equal(account_device_add(db, "bob", 0, ka, "bob's are counted apart", c), 0);

    /* a new password revokes all of the user's credentials, nobody else's */
    assert_int_equal(account_set_password(db, "alice", "new", &fast), 0);
    assert_int_equal(devices_of(db, "alice"), 0);
    assert_int_equal(account_device_check(db, "alice", c2, sizeof(c2), kb, NULL), ACCOUNT_EDENIED);
    assert_int_equal(devices_of(db, "bob"), 2);
    assert_int_equal(account_device_check(db, "bob", cb, sizeof(cb), kb, NULL), 0);
    /* a failed change (no such user) revokes nothing */
    assert_int_equal(account_set_password(db, "carol", "x", &fast), ACCOUNT_EDENIED);
    assert_int_equal(devices_of(db, "bob"), 2);

    /* deleting a user (there is no command yet: by hand) takes its
     * credentials along; a new user of that name does not inherit them */
    testutil_sql_exec(f.path, "DELETE FROM users WHERE name = 'bob'");
    assert_int_equal(testutil_sql_int(f.path, "SELECT count(*) FROM devices WHERE user = 'bob'"),
                     0);
    assert_int_equal(account_add(db, "bob", "pw", &fast), 0);
    assert_int_equal(account_device_check(db, "bob", cb, sizeof(cb), kb, NULL), ACCOUNT_EDENIED);
    close_fixture(&f);
    assert_string_not_equal(account_strerror(ACCOUNT_EDEVICES), account_strerror(ACCOUNT_EDB));
}

/* Generations: a new password (by account_set_password or by hand) and
 * account_revoke move the user's on; credentials of an older one are
 * refused and dropped, and none is issued for an older one. */
static void test_generations(void **state)
{
    (void)state;
    struct fixture f = open_fixture("account_generations");
    struct account_db *db = f.db;
    assert_int_equal(account_add(db, "alice", "pw", &fast), 0);
    assert_int_equal(account_add(db, "bob", "pw", &fast), 0);
    uint32_t gen = 99;
    assert_int_equal(account_verify(db, "alice", "pw", &gen), 0);
    assert_int_equal(gen, 0);
    uint8_t ka[TLS_KEY_LEN], c1[ACCOUNT_CRED_LEN], c2[ACCOUNT_CRED_LEN], cb[ACCOUNT_CRED_LEN];
    key_of(ka, 1);
    assert_int_equal(account_device_add(db, "alice", 0, ka, "a", c1), 0);
    assert_int_equal(account_device_add(db, "bob", 0, ka, "b", cb), 0);
    gen = 99;
    assert_int_equal(account_device_check(db, "alice", c1, sizeof(c1), ka, &gen), 0);
    assert_int_equal(gen, 0);

    /* revoke: alice's credential is refused and dropped, bob's stays */
    assert_int_equal(account_revoke(db, "alice", &gen), 0);
    assert_int_equal(gen, 1);
    assert_int_equal(account_device_check(db, "alice", c1, sizeof(c1), ka, NULL), ACCOUNT_EDENIED);
    assert_int_equal(devices_of(db, "alice"), 0);
    assert_int_equal(account_device_check(db, "bob", cb, sizeof(cb), ka, NULL), 0);
    assert_int_equal(account_verify(db, "alice", "pw", &gen), 0); /* the password still works */
    assert_int_equal(gen, 1);
    /* a connection that logged in before cannot get a credential now */
    assert_int_equal(account_device_add(db, "alice", 0, ka, "late", c2), ACCOUNT_EDENIED);
    assert_int_equal(account_device_add(db, "alice", 1, ka, "new", c2), 0);
    assert_int_equal(account_device_check(db, "alice", c2, sizeof(c2), ka, &gen), 0);
    assert_int_equal(gen, 1);

    /* a new password moves it on too, by chorusd or by hand */
    assert_int_equal(account_set_password(db, "alice", "pw2", &fast), 0);
    assert_int_equal(account_generation(db, "alice", &gen), 0);
    assert_int_equal(gen, 2);
    assert_int_equal(account_device_check(db, "alice", c2, sizeof(c2), ka, NULL), ACCOUNT_EDENIED);
    testutil_sql_exec(f.path, "UPDATE users SET hash = zeroblob(32) WHERE name = 'alice'");
    assert_int_equal(account_generation(db, "alice", &gen), 0);
    assert_int_equal(gen, 3);
    /* a device credential row of an older generation (by hand) logs in nobody */
    assert_int_equal(account_device_add(db, "bob", 0, ka, "c", c2), 0);
    testutil_sql_exec(f.path, "UPDATE devices SET generation = -1 WHERE label = 'c'");
    assert_int_equal(account_device_check(db, "bob", c2, sizeof(c2), ka, NULL), ACCOUNT_EDENIED);

    assert_int_equal(account_revoke(db, "carol", NULL), ACCOUNT_EDENIED);
    assert_int_equal(account_generation(db, "carol", &gen), ACCOUNT_EDENIED);
    assert_int_equal(account_generation(db, "bob", &gen), 0);
    assert_int_equal(gen, 0);
    close_fixture(&f);
}

/* A database from before device credentials (user_version 0, the users
 * table only) opens, gains them, and keeps its users; one newer than this
 * build is refused and left as it was. */
static void test_migration(void **state)
{
    (void)state;
    struct fixture f = open_fixture("account_migrate");
    assert_int_equal(account_add(f.db, "alice", "old password", &fast), 0);
    account_close(f.db);
    /* take versions 2 and 3's objects away: exactly what the old code left */
    testutil_sql_exec(f.path,
                      "DROP TRIGGER users_hash_changed; DROP TRIGGER devices_generation_changed;"
                      " ALTER TABLE users DROP COLUMN generation;"
                      " DROP TRIGGER devices_user_deleted; DROP TRIGGER devices_user_changed;"
                      " DROP TABLE devices; PRAGMA user_version = 0;");
    assert_int_equal(
        testutil_sql_int(f.path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'dev%'"), 0);

    assert_int_equal(account_open(f.path, &f.db), 0);
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), 3);
    uint32_t gen = 99;
    assert_int_equal(account_verify(f.db, "alice", "old password", &gen), 0);
    assert_int_equal(gen, 0);
    uint8_t key[TLS_KEY_LEN], cred[ACCOUNT_CRED_LEN];
    key_of(key, 3);
    assert_int_equal(account_device_add(f.db, "alice", 0, key, "migrated", cred), 0);
    assert_int_equal(account_device_check(f.db, "alice", cred, sizeof(cred), key, NULL), 0);
    assert_int_equal(account_set_password(f.db, "alice", "new password", &fast), 0);
    assert_int_equal(devices_of(f.db, "alice"), 0); /* the triggers came along */
    assert_int_equal(account_generation(f.db, "alice", &gen), 0);
    assert_int_equal(gen, 1);
    account_close(f.db);

    /* opening again changes nothing */
    assert_int_equal(account_open(f.path, &f.db), 0);
    assert_int_equal(account_verify(f.db, "alice", "new password", NULL), 0);
    account_close(f.db);

    testutil_sql_exec(f.path, "PRAGMA user_version = 99");
    size_t before_len, after_len;
    void *before = testutil_read_file(f.path, &before_len);
    struct account_db *db = NULL;
    assert_int_equal(account_open(f.path, &db), ACCOUNT_ETOONEW);
    void *after = testutil_read_file(f.path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), 99);
    free(before);
    free(after);
    f.db = NULL;
    close_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_verify),    cmocka_unit_test(test_default_params),
        cmocka_unit_test(test_concurrent_verify), cmocka_unit_test(test_device_credentials),
        cmocka_unit_test(test_generations),       cmocka_unit_test(test_migration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
