/* Tests for core/paths: the XDG variables honoured (absolute ones only),
 * the $HOME fallbacks, the error without a home, the rooted form, and
 * directories really created with mode 0700. */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/paths.h"
#include "base/xmalloc.h"

static const char *const env_names[] = {"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                        "XDG_CACHE_HOME", "XDG_STATE_HOME"};
#define ENV_COUNT (sizeof(env_names) / sizeof(env_names[0]))

/* The environment before each test, put back after it. */
static char *saved_env[ENV_COUNT];

static int save_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < ENV_COUNT; i++) {
        const char *v = getenv(env_names[i]);
        saved_env[i] = v ? xstrdup(v) : NULL;
        unsetenv(env_names[i]);
    }
    return 0;
}

static int restore_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < ENV_COUNT; i++) {
        if (saved_env[i])
            setenv(env_names[i], saved_env[i], 1);
        else
            unsetenv(env_names[i]);
        free(saved_env[i]);
        saved_env[i] = NULL;
    }
    return 0;
}

/* paths_new(app) must give exactly these four directories. */
static void expect_dirs(const char *app, const char *config, const char *data, const char *cache,
                        const char *st)
{
    int err = 1;
    struct paths *p = paths_new(app, &err);
    assert_non_null(p);
    assert_int_equal(err, 0);
    assert_string_equal(paths_dir(p, PATHS_CONFIG), config);
    assert_string_equal(paths_dir(p, PATHS_DATA), data);
    assert_string_equal(paths_dir(p, PATHS_CACHE), cache);
    assert_string_equal(paths_dir(p, PATHS_STATE), st);
    paths_free(p);
}

static void test_xdg_variables_honoured(void **state)
{
    (void)state;
    setenv("HOME", "/home/ann", 1);
    setenv("XDG_CONFIG_HOME", "/x/conf", 1);
    setenv("XDG_DATA_HOME", "/x/data/", 1); /* a trailing slash is not doubled */
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    setenv("XDG_STATE_HOME", "/x/state", 1);
    expect_dirs("chorus", "/x/conf/chorus", "/x/data/chorus", "/x/cache/chorus", "/x/state/chorus");
    struct paths *p = paths_new("chorus", NULL);
    char *f = paths_file(p, PATHS_STATE, "chorus.log");
    assert_string_equal(f, "/x/state/chorus/chorus.log");
    free(f);
    paths_free(p);
}

static void test_home_fallbacks(void **state)
{
    (void)state;
    setenv("HOME", "/home/ann", 1);
    expect_dirs("chorusd", "/home/ann/.config/chorusd", "/home/ann/.local/share/chorusd",
                "/home/ann/.cache/chorusd", "/home/ann/.local/state/chorusd");
}

static void test_relative_and_empty_xdg_ignored(void **state)
{
    (void)state;
    setenv("HOME", "/home/bob/", 1);
    setenv("XDG_CONFIG_HOME", "relative/conf", 1);
    setenv("XDG_DATA_HOME", "", 1);
    setenv("XDG_CACHE_HOME", "./cache", 1);
    setenv("XDG_STATE_HOME", "/abs/state", 1);
    expect_dirs("chorus", "/home/bob/.config/chorus", "/home/bob/.local/share/chorus",
                "/home/bob/.cache/chorus", "/abs/state/chorus");
}

static void test_no_home(void **state)
{
    (void)state;
    int err = 0;
    assert_null(paths_new("chorus", &err));
    assert_int_equal(err, PATHS_ENOHOME);
    assert_non_null(strstr(paths_strerror(err), "HOME"));

    /* One XDG variable is not enough: the others still need $HOME. */
    setenv("XDG_CONFIG_HOME", "/x/conf", 1);
    err = 0;
    assert_null(paths_new("chorus", &err));
    assert_int_equal(err, PATHS_ENOHOME);

    /* A relative HOME is no home either. */
    setenv("HOME", "home/ann", 1);
    err = 0;
    assert_null(paths_new("chorus", &err));
    assert_int_equal(err, PATHS_ENOHOME);

    /* All four set: $HOME is not needed. */
    unsetenv("HOME");
    setenv("XDG_DATA_HOME", "/x/data", 1);
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    setenv("XDG_STATE_HOME", "/", 1);
    struct paths *p = paths_new("chorus", &err);
    assert_non_null(p);
    assert_string_equal(paths_dir(p, PATHS_STATE), "/chorus");
    paths_free(p);
}

static void test_bad_app_name(void **state)
{
    (void)state;
    setenv("HOME", "/home/ann", 1);
    const char *bad[] = {"", "a/b", "..", "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int err = 0;
        assert_null(paths_new(bad[i], &err));
        assert_int_equal(err, -EINVAL);
    }
    int err = 0;
    assert_null(paths_new(NULL, &err));
    assert_int_equal(err, -EINVAL);
    assert_null(paths_new_rooted("", "chorus", &err));
    assert_int_equal(err, -EINVAL);
}

static void test_join(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"a", "b", "a/b"}, {"a/", "b", "a/b"},
        {"/", "b", "/b"},  {"/x/y", "chorus.conf", "/x/y/chorus.conf"},
        {"", "b", "b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *j = paths_join(cases[i][0], cases[i][1]);
        assert_string_equal(j, cases[i][2]);
        free(j);
    }
}

static void assert_dir_0700(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_rooted_and_ensure(void **state)
{
    (void)state;
    umask(022);
    char *root = testutil_tempdir("paths");
    char *rootslash = xasprintf("%s/", root);
    struct paths *p = paths_new_rooted(rootslash, "chorus", NULL);
    assert_non_null(p);
    const char *sub[] = {"config", "data", "cache", "state"};
    for (int k = 0; k < PATHS_KIND_COUNT; k++) {
        char *want = xasprintf("%s/%s/chorus", root, sub[k]);
        assert_string_equal(paths_dir(p, (enum paths_kind)k), want);
        free(want);

        /* Nothing exists until asked for; then the whole chain exists. */
        struct stat st;
        assert_int_not_equal(stat(paths_dir(p, (enum paths_kind)k), &st), 0);
        assert_int_equal(paths_ensure(p, (enum paths_kind)k), 0);
        assert_dir_0700(paths_dir(p, (enum paths_kind)k));
        char *parent = xasprintf("%s/%s", root, sub[k]);
        assert_dir_0700(parent);
        free(parent);
        /* Again: already there is fine. */
        assert_int_equal(paths_ensure(p, (enum paths_kind)k), 0);
    }
    paths_free(p);

    /* A file where a directory should be. */
    char *blocker = xasprintf("%s/blocked", root);
    testutil_write_file(blocker, "x", 1);
    p = paths_new_rooted(blocker, "chorus", NULL);
    assert_int_equal(paths_ensure(p, PATHS_CACHE), -ENOTDIR);
    assert_non_null(paths_strerror(-ENOTDIR));
    paths_free(p);

    /* The environment form creates under an XDG variable too. */
    char *xdg = xasprintf("%s/xdgcache", root);
    setenv("XDG_CACHE_HOME", xdg, 1);
    setenv("HOME", root, 1);
    p = paths_new("chorus", NULL);
    assert_int_equal(paths_ensure(p, PATHS_CACHE), 0);
    char *want = xasprintf("%s/chorus", xdg);
    assert_string_equal(paths_dir(p, PATHS_CACHE), want);
    assert_dir_0700(want);
    free(want);
    paths_free(p);

    free(xdg);
    free(blocker);
    free(rootslash);
    testutil_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_xdg_variables_honoured, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_home_fallbacks, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_relative_and_empty_xdg_ignored, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_no_home, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_bad_app_name, save_env, restore_env),
        cmocka_unit_test(test_join),
        cmocka_unit_test_setup_teardown(test_rooted_and_ensure, save_env, restore_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
