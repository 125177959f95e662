/* test_engine: the engine (core/engine.h) driven by commands of the
 * command table, against a real service on loopback (tests/svc_fixture.h):
 * the queue, pause, seek, next/prev, repeat and shuffle with events and
 * status checked; the queue and position back after a restart; a played
 * track replayed offline with the service stopped, sample for sample;
 * the service killed mid-track and restarted; twenty engines in one
 * process, all playing. Outputs: null (real time) and wav:FILE. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "audio_fixtures.h"
#include "base/settings.h"
#include "base/xmalloc.h"
#include "core/cmd.h"
#include "core/engine.h"
#include "core/mq.h"
#include "svc_fixture.h"
#include "testutil.h"

#define WAIT_MS   30000 /* generous: sanitizer builds are slow */
#define TRACK_S   3.0
#define NTRACKS   4
#define N_ENGINES 20

static struct svcfix F;

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    svcfix_start(&F, "engine", NTRACKS, TRACK_S);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    svcfix_free(&F);
    return 0;
}

/* ---- one engine under test ---- */

struct eng {
    char *home, *data, *cache, *out;
    struct chorus_settings s;
    struct clog *log;
    struct engine *e;
};

static void eng_start(struct eng *x)
{
    struct engine_config cfg = {
        .settings = &x->s,
        .data_dir = x->data,
        .cache_dir = x->cache,
        .remote_socket = "", /* the in-process tests talk through the mq */
        .log = x->log,
        .seed = 42,
    };
    char *error = NULL;
    int rc = engine_new(&cfg, &x->e, &error);
    if (rc < 0)
        print_error("engine_new: %s\n", error ? error : "?");
    free(error);
    assert_int_equal(rc, 0);
}

/* An engine on home's data and cache with the given output; option (may
 * be NULL) is one more chorus.conf setting. */
static void eng_open_with(struct eng *x, const char *home, const char *output, const char *option)
{
    memset(x, 0, sizeof(*x));
    x->home = xstrdup(home);
    x->data = xasprintf("%s/data", home);
    x->cache = xasprintf("%s/cache", home);
    settings_init(&x->s);
    char *opt = xasprintf("audio.output=%s", output);
    assert_int_equal(settings_set_option(&x->s, opt, NULL), 0);
    free(opt);
    assert_int_equal(settings_set_option(&x->s, "audio.prebuffer=50", NULL), 0);
    if (option)
        assert_int_equal(settings_set_option(&x->s, option, NULL), 0);
    char *logp = xasprintf("%s/engine.log", home);
    int err;
    x->log = clog_new(logp, CLOG_DEBUG, &err);
    free(logp);
    eng_start(x);
}

static void eng_open(struct eng *x, const char *home, const char *output)
{
    eng_open_with(x, home, output, NULL);
}

static void eng_close(struct eng *x)
{
    engine_free(x->e);
    x->e = NULL;
    clog_free(x->log);
    settings_close(&x->s);
    free(x->home);
    free(x->data);
    free(x->cache);
    free(x->out);
}

/* A command and its reply, across threads. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
    char *message;
    json_t *data;
};

static void on_reply(void *ctx, const struct cmd_result *r)
{
    struct waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->status = r->status;
    w->message = r->message ? xstrdup(r->message) : NULL;
    w->data = r->data ? json_deep_copy(r->data) : NULL; /* the engine's thread keeps its own */
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Runs line on x and returns its status; *data (may be NULL) gets the
 * JSON answer (json_decref). */
static int run(struct eng *x, const char *line, json_t **data)
{
    struct cmd *c;
    char *error = NULL;
    if (cmd_parse(line, &c, &error) < 0)
        fail_msg("%s: %s", line, error);
    struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    c->reply = on_reply;
    c->reply_ctx = &w;
    assert_int_equal(engine_send(x->e, c), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        if (pthread_cond_timedwait(&w.cv, &w.mu, &until) != 0)
            fail_msg("no reply to '%s'", line);
    pthread_mutex_unlock(&w.mu);
    if (w.status < 0)
        print_message("%s -> %d %s\n", line, w.status, w.message ? w.message : "");
    free(w.message);
    if (data)
        *data = w.data;
    else
        json_decref(w.data);
    return w.status;
}

static void ok(struct eng *x, const char *line)
{
    assert_int_equal(run(x, line, NULL), 0);
}

static json_t *status(struct eng *x)
{
    json_t *st = NULL;
    assert_int_equal(run(x, "status", &st), 0);
    assert_non_null(st);
    return st;
}

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static const char *title_of(json_t *st)
{
    json_t *t = json_object_get(st, "track");
    return json_is_object(t) ? str_of(t, "title") : "";
}

static double pos_of(json_t *st)
{
    return json_number_value(json_object_get(st, "position"));
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Polls status until pred holds (then returns it) or fails the test. */
static json_t *wait_status(struct eng *x, bool (*pred)(json_t *st, const void *arg),
                           const void *arg, const char *what)
{
    uint64_t end = testutil_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    for (;;) {
        json_t *st = status(x);
        if (pred(st, arg))
            return st;
        if (testutil_now_ns() > end) {
            char *dump = json_dumps(st, JSON_COMPACT);
            fail_msg("waited for %s; status %s", what, dump);
        }
        json_decref(st);
        sleep_ms(50);
    }
}

static bool is_state(json_t *st, const void *want)
{
    return strcmp(str_of(st, "state"), want) == 0;
}

static bool playing_title(json_t *st, const void *title)
{
    return is_state(st, "playing") && strcmp(title_of(st), title) == 0;
}

static bool is_service(json_t *st, const void *want)
{
    return strcmp(str_of(st, "service"), want) == 0;
}

static bool at_one_second(json_t *st, const void *arg)
{
    (void)arg;
    return fabs(pos_of(st) - 1.0) < 0.1;
}

static bool past(json_t *st, const void *secs)
{
    return is_state(st, "playing") && pos_of(st) >= *(const double *)secs;
}

/* Stopped after playing something (the wav output plays unpaced, so
 * "playing" may never be seen). */
static bool played_and_stopped(json_t *st, const void *arg)
{
    (void)arg;
    json_t *b = json_object_get(st, "bytes");
    json_int_t played = json_integer_value(json_object_get(b, "cache")) +
                        json_integer_value(json_object_get(b, "service"));
    return is_state(st, "stopped") && played > 0;
}

static void expect(struct eng *x, const char *state)
{
    json_decref(wait_status(x, is_state, state, state));
}

static size_t queue_len(struct eng *x)
{
    json_t *q = NULL;
    assert_int_equal(run(x, "queue list", &q), 0);
    size_t n = json_array_size(q);
    json_decref(q);
    return n;
}

/* Every event the engine posted so far, counted by type. */
static void count_events(struct eng *x, int counts[])
{
    struct mq_msg *list = mq_take_events(engine_mq(x->e));
    for (struct mq_msg *m = list; m; m = m->next)
        if (m->type >= MQ_EV_PONG && m->type < MQ_EV_PONG + 32)
            counts[m->type - MQ_EV_PONG]++;
    mq_msg_free_list(list);
}

/* A new user's home named name, logged in, its engine online. */
static void eng_online(struct eng *x, const char *name, const char *output)
{
    char *home = testutil_tempdir(name);
    char *data = xasprintf("%s/data", home);
    svcfix_login(&F, data);
    eng_open(x, home, output);
    json_decref(wait_status(x, is_service, "online", "the service link"));
    free(data);
    free(home);
}

/* Closes the engine and removes its home. */
static void eng_remove(struct eng *x)
{
    char *home = xstrdup(x->home);
    eng_close(x);
    testutil_rmtree(home);
    free(home);
}

/* ---- tests ---- */

static void test_commands_drive_the_player(void **state)
{
    (void)state;
    struct eng x;
    eng_online(&x, "engine-cmds", "null");

    ok(&x, "play --all");
    assert_int_equal(queue_len(&x), NTRACKS);
    json_decref(wait_status(&x, playing_title, "Track 1", "Track 1 playing"));

    ok(&x, "pause");
    expect(&x, "paused");
    sleep_ms(100); /* the decoder pauses on its own thread */
    json_t *a = status(&x);
    sleep_ms(300);
    json_t *b = status(&x);
    assert_true(fabs(pos_of(a) - pos_of(b)) < 0.1); /* paused: the position holds */
    json_decref(a);
    json_decref(b);

    ok(&x, "seek 2");
    ok(&x, "resume");
    double two = 2.0;
    json_t *st = wait_status(&x, past, &two, "the seek to 2 s");
    assert_true(pos_of(st) < 2.9);
    json_decref(st);

    ok(&x, "next");
    json_decref(wait_status(&x, playing_title, "Track 2", "next"));
    ok(&x, "prev");
    json_decref(wait_status(&x, playing_title, "Track 1", "prev"));

    ok(&x, "repeat one");
    ok(&x, "shuffle on");
    st = status(&x);
    assert_string_equal(str_of(st, "repeat"), "one");
    assert_true(json_is_true(json_object_get(st, "shuffle")));
    json_decref(st);
    ok(&x, "shuffle off");
    ok(&x, "repeat");
    st = status(&x);
    assert_string_equal(str_of(st, "repeat"), "all"); /* cycles: one -> all */
    json_decref(st);

    ok(&x, "volume 40");
    ok(&x, "volume +5");
    st = status(&x);
    assert_int_equal(json_integer_value(json_object_get(st, "volume")), 45);
    json_decref(st);

    json_t *q = NULL;
    assert_int_equal(run(&x, "queue list", &q), 0);
    char *add =
        xasprintf("queue add #%lld",
                  (long long)json_integer_value(json_object_get(json_array_get(q, 0), "id")));
    json_decref(q);
    ok(&x, "queue remove 4");
    assert_int_equal(queue_len(&x), NTRACKS - 1);
    ok(&x, add);
    free(add);
    assert_int_equal(queue_len(&x), NTRACKS);
    assert_int_equal(run(&x, "queue remove 9", NULL), CMD_EUNKNOWN);
    assert_int_equal(run(&x, "play #99999", NULL), CMD_EUNKNOWN);

    json_t *found = NULL;
    assert_int_equal(run(&x, "search track 3", &found), 0);
    assert_int_equal(json_array_size(found), 1);
    assert_string_equal(str_of(json_array_get(found, 0), "title"), "Track 3");
    json_decref(found);

    ok(&x, "playlist create Mix");
    ok(&x, "playlist add Mix track 2");
    assert_int_equal(run(&x, "playlist create Mix", NULL), CMD_EEXISTS);
    json_t *lists = NULL;
    assert_int_equal(run(&x, "playlist list", &lists), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lists, 0), "tracks")), 1);
    json_decref(lists);

    ok(&x, "stop");
    expect(&x, "stopped");
    ok(&x, "queue clear");
    assert_int_equal(queue_len(&x), 0);

    int counts[32] = {0};
    count_events(&x, counts);
    assert_true(counts[MQ_EV_TRACK_CHANGED - MQ_EV_PONG] >= 3);
    assert_true(counts[MQ_EV_STATE - MQ_EV_PONG] >= 3);
    assert_true(counts[MQ_EV_QUEUE_CHANGED - MQ_EV_PONG] >= 3);
    assert_true(counts[MQ_EV_PLAYLISTS_CHANGED - MQ_EV_PONG] >= 1);
    eng_remove(&x);
}

static void test_resume_after_restart(void **state)
{
    (void)state;
    struct eng x;
    eng_online(&x, "engine-restart", "null");
    ok(&x, "play --all");
    ok(&x, "next");
    json_decref(wait_status(&x, playing_title, "Track 2", "Track 2"));
    ok(&x, "pause");
    expect(&x, "paused");
    ok(&x, "seek 0:01");
    ok(&x, "shuffle off");
    ok(&x, "repeat all");
    ok(&x, "volume 30");
    /* the decoder seeks on its own thread: wait until it has */
    json_t *before = wait_status(&x, at_one_second, NULL, "the seek to 0:01");
    engine_free(x.e);

    eng_start(&x);
    json_t *after = status(&x);
    assert_string_equal(str_of(after, "state"), "stopped");
    assert_string_equal(title_of(after), title_of(before));
    assert_true(fabs(pos_of(after) - pos_of(before)) < 0.3);
    assert_string_equal(str_of(after, "repeat"), "all");
    assert_int_equal(json_integer_value(json_object_get(after, "volume")), 30);
    json_t *q = json_object_get(after, "queue");
    assert_int_equal(json_integer_value(json_object_get(q, "length")), NTRACKS);
    double from = pos_of(after);
    json_decref(before);
    json_decref(after);

    ok(&x, "resume");
    json_t *st = wait_status(&x, past, &from, "resuming where it was");
    assert_true(pos_of(st) < from + 1.0);
    json_decref(st);
    eng_remove(&x);
}

/* Decoded PCM of a WAV file as float frames (the fixture decoder). */
static float *wav_samples(const char *path, int64_t *frames)
{
    struct fixture_info info;
    float *s = NULL;
    assert_int_equal(fixture_decode_file(path, &info, &s), 0);
    *frames = info.frames * info.channels;
    return s;
}

static void test_offline_replay_is_identical(void **state)
{
    (void)state;
    /* the outputs live beside the homes (a home goes with its engine) */
    char *dir = testutil_tempdir("engine-offline-out");
    char *first = xasprintf("wav:%s/first.wav", dir), *second = xasprintf("wav:%s/second.wav", dir);
    struct eng x;
    eng_online(&x, "engine-offline", first);
    ok(&x, "play track 1");
    json_decref(wait_status(&x, played_and_stopped, NULL, "track 1 played"));
    char *home = xstrdup(x.home);
    eng_close(&x);

    svcfix_stop_service(&F);
    eng_open(&x, home, second);
    json_t *st = status(&x);
    assert_string_not_equal(str_of(st, "service"), "online");
    json_decref(st);
    json_t *found = NULL;
    assert_int_equal(run(&x, "search track", &found), 0);
    assert_int_equal(json_array_size(found), 1); /* offline: what it holds keys for */
    json_decref(found);
    json_t *artists = NULL;
    assert_int_equal(run(&x, "browse", &artists), 0);
    assert_int_equal(json_array_size(artists), 1);
    assert_string_equal(str_of(json_array_get(artists, 0), "title"), "Fixture Band");
    json_decref(artists);
    ok(&x, "play --all");
    json_decref(wait_status(&x, played_and_stopped, NULL, "the replay"));
    st = status(&x);
    json_t *bytes = json_object_get(st, "bytes");
    assert_true(json_integer_value(json_object_get(bytes, "cache")) > 0);
    assert_int_equal(json_integer_value(json_object_get(bytes, "service")), 0);
    json_decref(st);
    eng_remove(&x);
    svcfix_restart_service(&F);

    int64_t n1, n2;
    float *a = wav_samples(first + 4, &n1), *b = wav_samples(second + 4, &n2);
    assert_true(n1 > 44100);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, (size_t)n1 * sizeof(float));
    free(a);
    free(b);
    testutil_rmtree(dir);
    free(first);
    free(second);
    free(dir);
    free(home);
}

static void test_service_killed_mid_track(void **state)
{
    (void)state;
    struct eng x;
    eng_online(&x, "engine-killed", "null");
    ok(&x, "play --all");
    json_decref(wait_status(&x, playing_title, "Track 1", "Track 1 playing"));
    svcfix_stop_service(&F);
    json_decref(wait_status(&x, is_service, "offline", "the link to go"));
    /* playback goes on from what is cached and buffered */
    json_t *st = status(&x);
    double at = pos_of(st) + 0.5;
    json_decref(st);
    json_decref(wait_status(&x, past, &at, "playback to go on"));
    svcfix_restart_service(&F);
    json_decref(wait_status(&x, is_service, "online", "the link to come back"));
    eng_remove(&x);
}

static bool relinked(json_t *st, const void *since)
{
    return is_service(st, "online") &&
           json_integer_value(json_object_get(st, "service_since")) > *(const json_int_t *)since;
}

/* The service address by name (resolved off the loop), and a ticket that
 * lasts 2 s: the engine logs in again before it ends and stays usable. */
static void test_ticket_renewal_and_names(void **state)
{
    (void)state;
    svcfix_stop_service(&F);
    F.ticket_lifetime_s = 2;
    svcfix_restart_service(&F);
    char *home = testutil_tempdir("engine-renew");
    char *data = xasprintf("%s/data", home);
    svcfix_login(&F, data);
    char *by_name = xasprintf("service.address=localhost:%d", F.port);
    struct eng x;
    eng_open_with(&x, home, "null", by_name);
    json_t *st = wait_status(&x, is_service, "online", "the service link, by name");
    json_int_t since = json_integer_value(json_object_get(st, "service_since"));
    json_decref(st);
    json_decref(wait_status(&x, relinked, &since, "a renewed ticket"));
    ok(&x, "play --all");
    json_decref(wait_status(&x, playing_title, "Track 1", "playing after the renewal"));
    eng_remove(&x);
    F.ticket_lifetime_s = 0;
    svcfix_stop_service(&F);
    svcfix_restart_service(&F);
    free(by_name);
    free(data);
    free(home);
}

static void test_twenty_engines_in_one_process(void **state)
{
    (void)state;
    struct eng *x = xcalloc(N_ENGINES, sizeof(*x));
    for (int i = 0; i < N_ENGINES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "engine-many-%d", i);
        eng_online(&x[i], name, "null");
    }
    for (int i = 0; i < N_ENGINES; i++)
        ok(&x[i], "play --all");
    double half = 0.5;
    for (int i = 0; i < N_ENGINES; i++)
        json_decref(wait_status(&x[i], past, &half, "every engine playing"));
    for (int i = 0; i < N_ENGINES; i++)
        eng_remove(&x[i]);
    free(x);
}

static void test_second_engine_on_a_cache_refused(void **state)
{
    (void)state;
    struct eng x;
    eng_online(&x, "engine-twice", "null");
    struct engine_config cfg = {.settings = &x.s,
                                .data_dir = x.data,
                                .cache_dir = x.cache,
                                .remote_socket = "",
                                .log = x.log};
    struct engine *other = NULL;
    char *error = NULL;
    assert_int_equal(engine_new(&cfg, &other, &error), ENGINE_ERUNNING);
    assert_non_null(strstr(error, "already running"));
    free(error);
    eng_remove(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands_drive_the_player),
        cmocka_unit_test(test_resume_after_restart),
        cmocka_unit_test(test_offline_replay_is_identical),
        cmocka_unit_test(test_service_killed_mid_track),
        cmocka_unit_test(test_ticket_renewal_and_names),
        cmocka_unit_test(test_twenty_engines_in_one_process),
        cmocka_unit_test(test_second_engine_on_a_cache_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
