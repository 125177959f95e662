/* test_headless: the real `chorus --headless` driven by the real `chorus
 * remote` over its UNIX socket, against a real service on loopback
 * (tests/svc_fixture.h): play, pause, seek, next, the status JSON against
 * what plays, the WAV output, exit statuses (0 done, 1 refused, 2 usage,
 * 3 no engine / one already running), status --follow, a stale socket
 * left by SIGKILL, and the real chorusd killed (SIGKILL) mid-track and
 * started again. Each program runs with its own HOME and XDG dirs. */
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "audio_fixtures.h"
#include "base/xmalloc.h"
#include "svc_fixture.h"
#include "testutil.h"

#define WAIT_MS 30000
#define TRACK_S 2.0
#define NTRACKS 3

extern char **environ;

static struct svcfix F;
static char *chorus_bin;
/* Every program started, so a failed test (cmocka leaves it midway)
 * leaves no engine running behind it: the teardown kills what is left. */
static pid_t spawned[256];
static size_t nspawned;

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    chorus_bin = testutil_program("chorus");
    svcfix_start(&F, "headless", NTRACKS, TRACK_S);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nspawned; i++)
        if (waitpid(spawned[i], NULL, WNOHANG) == 0) {
            kill(spawned[i], SIGKILL);
            waitpid(spawned[i], NULL, 0);
        }
    svcfix_free(&F);
    free(chorus_bin);
    return 0;
}

/* One user's machine: a home with XDG dirs, logged in, a socket path. */
struct box {
    char *home, *sock, *out, *err;
    char **envp;
};

static void box_open(struct box *b, const char *name)
{
    b->home = testutil_tempdir(name);
    /* sun_path is short: the socket lives in a short directory of its own */
    char tmpl[] = "/tmp/chs-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    b->sock = xasprintf("%s/remote.sock", tmpl);
    b->out = xasprintf("%s/stdout", b->home);
    b->err = xasprintf("%s/stderr", b->home);
    char *data = xasprintf("%s/data/chorus", b->home);
    svcfix_login(&F, data);
    free(data);
    size_t n = 0;
    while (environ[n])
        n++;
    b->envp = xcalloc(n + 8, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "XDG_", 4) != 0 && strncmp(environ[i], "HOME=", 5) != 0)
            b->envp[k++] = xstrdup(environ[i]);
    b->envp[k++] = xasprintf("HOME=%s", b->home);
    b->envp[k++] = xasprintf("XDG_CONFIG_HOME=%s/config", b->home);
    b->envp[k++] = xasprintf("XDG_DATA_HOME=%s/data", b->home);
    b->envp[k++] = xasprintf("XDG_CACHE_HOME=%s/cache", b->home);
    b->envp[k++] = xasprintf("XDG_STATE_HOME=%s/state", b->home);
}

static void box_close(struct box *b)
{
    for (char **e = b->envp; *e; e++)
        free(*e);
    free(b->envp);
    char *dir = xstrndup(b->sock, strrchr(b->sock, '/') - b->sock);
    testutil_rmtree(dir);
    free(dir);
    testutil_rmtree(b->home);
    free(b->home);
    free(b->sock);
    free(b->out);
    free(b->err);
}

/* Starts chorus with args (NULL-terminated, after the program name),
 * stdout/stderr to files named by tag. */
static pid_t spawn(struct box *b, const char *tag, const char *const *args)
{
    const char *argv[32] = {chorus_bin};
    int argc = 1;
    for (int i = 0; args[i]; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    char *out = xasprintf("%s.%s", b->out, tag), *err = xasprintf("%s.%s", b->err, tag);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, chorus_bin, &fa, NULL, (char *const *)argv, b->envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    if (nspawned < sizeof(spawned) / sizeof(spawned[0]))
        spawned[nspawned++] = pid;
    free(out);
    free(err);
    return pid;
}

static int wait_exit(pid_t pid)
{
    int status = 0;
    uint64_t end = testutil_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (testutil_now_ns() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("pid %d did not exit in time", (int)pid);
        }
        struct timespec t = {0, 10 * 1000000L};
        nanosleep(&t, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(struct box *b, const char *which, const char *tag)
{
    char *path = xasprintf("%s.%s", which[0] == 'o' ? b->out : b->err, tag);
    size_t len = 0;
    char *s = testutil_read_file(path, &len);
    s[len] = 0;
    free(path);
    return s;
}

/* chorus remote -S SOCK ARGS...: its exit status, stdout in *out (may be NULL). */
static int remote(struct box *b, char **out, const char *const *args)
{
    const char *argv[32] = {"remote", "-S", b->sock};
    int argc = 3;
    for (int i = 0; args[i]; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    int rc = wait_exit(spawn(b, "remote", argv));
    char *o = slurp(b, "out", "remote");
    if (rc != 0) {
        char *e = slurp(b, "err", "remote");
        print_message("chorus remote %s -> %d: %s", args[0], rc, e);
        free(e);
    }
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

static pid_t start_engine(struct box *b, const char *output)
{
    char *sock = xasprintf("remote.socket=%s", b->sock);
    char *out = xasprintf("audio.output=%s", output);
    const char *args[] = {"-o", sock, "-o", out, "-o", "audio.prebuffer=50", "--headless", NULL};
    pid_t pid = spawn(b, "engine", args);
    free(sock);
    free(out);
    /* up when the socket answers */
    uint64_t end = testutil_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    const char *st[] = {"status", NULL};
    while (remote(b, NULL, st) != 0) {
        assert_true(testutil_now_ns() < end);
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still running */
        struct timespec t = {0, 50 * 1000000L};
        nanosleep(&t, NULL);
    }
    return pid;
}

static json_t *status(struct box *b)
{
    char *out = NULL;
    const char *args[] = {"status", "--json", NULL};
    assert_int_equal(remote(b, &out, args), 0);
    json_error_t jerr;
    json_t *st = json_loads(out, 0, &jerr);
    if (!st)
        fail_msg("status --json is not JSON: %s (%s)", jerr.text, out);
    free(out);
    return st;
}

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Waits until status[key] (or status.track.title for "title") is want. */
static json_t *wait_for(struct box *b, const char *key, const char *want)
{
    uint64_t end = testutil_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    for (;;) {
        json_t *st = status(b);
        json_t *t = json_object_get(st, "track");
        const char *have = strcmp(key, "title") == 0 ? (json_is_object(t) ? str_of(t, "title") : "")
                                                     : str_of(st, key);
        if (strcmp(have, want) == 0)
            return st;
        if (testutil_now_ns() > end)
            fail_msg("waited for %s = %s, have %s", key, want, have);
        json_decref(st);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void test_headless_and_remote(void **state)
{
    (void)state;
    struct box b = {0};
    box_open(&b, "headless-e2e");
    pid_t engine = start_engine(&b, "null");

    json_t *st = wait_for(&b, "service", "online");
    assert_string_equal(str_of(st, "state"), "stopped");
    assert_true(json_is_null(json_object_get(st, "track")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "peers"), "max")), 60);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "slots"), "max")), 4);
    json_decref(st);

    const char *play[] = {"play", "--all", NULL};
    assert_int_equal(remote(&b, NULL, play), 0);
    st = wait_for(&b, "state", "playing");
    json_t *track = json_object_get(st, "track");
    assert_string_equal(str_of(track, "title"), "Track 1");
    assert_string_equal(str_of(track, "artist"), "Fixture Band");
    assert_true(json_number_value(json_object_get(track, "duration")) > TRACK_S - 0.5);
    json_decref(st);

    const char *pause[] = {"pause", NULL};
    assert_int_equal(remote(&b, NULL, pause), 0);
    json_decref(wait_for(&b, "state", "paused"));
    const char *seek[] = {"seek", "+1", NULL};
    assert_int_equal(remote(&b, NULL, seek), 0);
    const char *toggle[] = {"toggle", NULL};
    assert_int_equal(remote(&b, NULL, toggle), 0);
    json_decref(wait_for(&b, "state", "playing"));
    const char *next[] = {"next", NULL};
    assert_int_equal(remote(&b, NULL, next), 0);
    json_decref(wait_for(&b, "title", "Track 2"));

    char *out = NULL;
    const char *peers[] = {"peers", "--json", NULL};
    assert_int_equal(remote(&b, &out, peers), 0);
    json_t *p = json_loads(out, 0, NULL);
    assert_true(json_is_array(json_object_get(p, "connections")));
    json_decref(p);
    free(out);

    /* usage errors: 2; refused: 1 */
    const char *bogus[] = {"frobnicate", NULL};
    assert_int_equal(remote(&b, NULL, bogus), 2);
    const char *badseek[] = {"seek", "soon", NULL};
    assert_int_equal(remote(&b, NULL, badseek), 2);
    const char *unknown[] = {"play", "#987654", NULL};
    assert_int_equal(remote(&b, NULL, unknown), 1);

    /* a second engine on the same cache: refused, 3, naming the socket */
    char *sock = xasprintf("remote.socket=%s.two", b.sock);
    const char *again[] = {"-o", sock, "-o", "audio.output=null", "--headless", NULL};
    assert_int_equal(wait_exit(spawn(&b, "engine2", again)), 3);
    char *err = slurp(&b, "err", "engine2");
    assert_non_null(strstr(err, b.sock));
    free(err);
    free(sock);

    /* status --follow: a JSON line per change (played from the start again,
     * so the position moves while it follows) */
    assert_int_equal(remote(&b, NULL, play), 0);
    json_decref(wait_for(&b, "state", "playing"));
    const char *follow[] = {"remote", "-S", b.sock, "status", "--json", "--follow", NULL};
    pid_t f = spawn(&b, "follow", follow);
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    kill(f, SIGTERM);
    waitpid(f, NULL, 0);
    out = slurp(&b, "out", "follow");
    int lines = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        json_decref(j);
    }
    assert_true(lines >= 2); /* the position moves while it plays */
    free(out);

    const char *quit[] = {"quit", NULL};
    assert_int_equal(remote(&b, NULL, quit), 0);
    assert_int_equal(wait_exit(engine), 0);
    const char *st_args[] = {"status", NULL};
    assert_int_equal(remote(&b, NULL, st_args), 3); /* no engine */
    box_close(&b);
}

static void test_wav_output_and_sigterm(void **state)
{
    (void)state;
    struct box b = {0};
    box_open(&b, "headless-wav");
    char *wav = xasprintf("wav:%s/out.wav", b.home);
    pid_t engine = start_engine(&b, wav);
    json_decref(wait_for(&b, "service", "online"));
    const char *play[] = {"play", "--all", NULL};
    assert_int_equal(remote(&b, NULL, play), 0);
    json_decref(wait_for(&b, "state", "stopped")); /* wav plays unpaced */
    json_t *st = status(&b);
    json_t *q = json_object_get(st, "queue");
    assert_int_equal(json_integer_value(json_object_get(q, "length")), NTRACKS);
    json_decref(st);
    kill(engine, SIGTERM);
    assert_int_equal(wait_exit(engine), 0);
    struct fixture_info info;
    float *pcm = NULL;
    assert_int_equal(fixture_decode_file(wav + 4, &info, &pcm), 0);
    assert_true(info.duration > NTRACKS * TRACK_S - 0.2 && info.duration < NTRACKS * TRACK_S + 0.2);
    free(pcm);
    free(wav);
    box_close(&b);
}

static void test_stale_socket_after_sigkill(void **state)
{
    (void)state;
    struct box b = {0};
    box_open(&b, "headless-stale");
    pid_t engine = start_engine(&b, "null");
    kill(engine, SIGKILL);
    waitpid(engine, NULL, 0);
    struct stat sb;
    assert_int_equal(stat(b.sock, &sb), 0); /* left behind */
    const char *st[] = {"status", NULL};
    assert_int_equal(remote(&b, NULL, st), 3);
    engine = start_engine(&b, "null"); /* replaces the stale socket */
    assert_int_equal(stat(b.sock, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    kill(engine, SIGINT);
    assert_int_equal(wait_exit(engine), 0);
    box_close(&b);
}

/* The real chorusd, on the fixture's data and port, killed with SIGKILL
 * mid-track and started again: playback goes on from what is cached and
 * buffered, and the engine is back online without a restart of its own. */
static pid_t start_chorusd(struct box *b)
{
    char *listen = xasprintf("127.0.0.1:%d", F.port);
    const char *argv[] = {"serve", "--data-dir", F.dir, "--listen", listen, NULL};
    char *chorusd = testutil_program("chorusd");
    char *out = xasprintf("%s/chorusd.out", b->home), *err = xasprintf("%s/chorusd.err", b->home);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_APPEND, 0600);
    const char *full[8] = {chorusd};
    for (int i = 0; argv[i]; i++)
        full[i + 1] = argv[i];
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, chorusd, &fa, NULL, (char *const *)full, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    if (nspawned < sizeof(spawned) / sizeof(spawned[0]))
        spawned[nspawned++] = pid;
    free(out);
    free(err);
    free(chorusd);
    free(listen);
    return pid;
}

static void test_chorusd_killed_mid_track(void **state)
{
    (void)state;
    struct box b = {0};
    box_open(&b, "headless-killed");
    svcfix_stop_service(&F); /* the real program takes over the data and the port */
    pid_t serve = start_chorusd(&b);
    pid_t engine = start_engine(&b, "null");
    json_decref(wait_for(&b, "service", "online"));
    const char *play[] = {"play", "--all", NULL};
    assert_int_equal(remote(&b, NULL, play), 0);
    json_decref(wait_for(&b, "state", "playing"));

    kill(serve, SIGKILL);
    waitpid(serve, NULL, 0);
    json_t *st = wait_for(&b, "service", "offline");
    double at = json_number_value(json_object_get(st, "position"));
    json_decref(st);
    /* still playing, and moving, from the cache and the buffer */
    uint64_t end = testutil_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    for (;;) {
        st = status(&b);
        double pos = json_number_value(json_object_get(st, "position"));
        bool moving = strcmp(str_of(st, "state"), "playing") == 0 && pos > at + 0.3;
        json_decref(st);
        if (moving)
            break;
        assert_true(testutil_now_ns() < end);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }

    serve = start_chorusd(&b);
    json_decref(wait_for(&b, "service", "online"));
    kill(engine, SIGTERM);
    assert_int_equal(wait_exit(engine), 0);
    kill(serve, SIGTERM);
    waitpid(serve, NULL, 0);
    svcfix_restart_service(&F);
    box_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headless_and_remote),
        cmocka_unit_test(test_wav_output_and_sigterm),
        cmocka_unit_test(test_stale_socket_after_sigkill),
        cmocka_unit_test(test_chorusd_killed_mid_track),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
