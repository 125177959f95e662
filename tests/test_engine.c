/* test_engine: the engine (core/engine.h) driven by commands of the
 * command table, against a real service on loopback (tests/svc_fixture.h):
 * the queue, pause, seek, next/prev, repeat and shuffle with events and
 * status checked; a jump in the queue (queue play), kept over a restart;
 * the queue and position back after a restart; a played track replayed
 * offline with the service stopped, sample for sample; the service killed
 * mid-track and restarted; twenty engines in one process, all playing.
 * Outputs: null (real time) and wav:FILE. */
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

#include "base/settings.h"
#include "base/xmalloc.h"
#include "core/cmd.h"
#include "core/engine.h"
#include "core/mq.h"
#include "engine_fixture.h"
#include "svc_fixture.h"
#include "testutil.h"

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

/* ---- helpers of these tests ---- */

static bool at_one_second(json_t *st, const void *arg)
{
    (void)arg;
    return fabs(pos_of(st) - 1.0) < 0.1;
}

static size_t queue_len(struct eng *x)
{
    json_t *q = NULL;
    assert_int_equal(eng_run(x, "queue list", &q), 0);
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

/* ---- tests ---- */

static void test_commands_drive_the_player(void **state)
{
    (void)state;
    struct eng x;
    eng_online(&x, &F, "engine-cmds", "null");

    eng_ok(&x, "play --all");
    assert_int_equal(queue_len(&x), NTRACKS);
    json_decref(eng_wait(&x, playing_title, "Track 1", "Track 1 playing"));

    eng_ok(&x, "pause");
    eng_expect(&x, "paused");
    sleep_ms(100); /* the decoder pauses on its own thread */
    json_t *a = eng_status(&x);
    sleep_ms(300);
    json_t *b = eng_status(&x);
    assert_true(fabs(pos_of(a) - pos_of(b)) < 0.1); /* paused: the position holds */
    json_decref(a);
    json_decref(b);

    eng_ok(&x, "seek 2");
    eng_ok(&x, "resume");
    double two = 2.0;
    json_t *st = eng_wait(&x, past, &two, "the seek to 2 s");
    assert_true(pos_of(st) < 2.9);
    json_decref(st);

    eng_ok(&x, "next");
    json_decref(eng_wait(&x, playing_title, "Track 2", "next"));
    eng_ok(&x, "prev");
    json_decref(eng_wait(&x, playing_title, "Track 1", "prev"));

    eng_ok(&x, "repeat one");
    eng_ok(&x, "shuffle on");
    st = eng_status(&x);
    assert_string_equal(str_of(st, "repeat"), "one");
    assert_true(json_is_true(json_object_get(st, "shuffle")));
    json_decref(st);
    eng_ok(&x, "shuffle off");
    eng_ok(&x, "repeat");
    st = eng_status(&x);
    assert_string_equal(str_of(st, "repeat"), "all"); /* cycles: one -> all */
    json_decref(st);

    eng_ok(&x, "volume 40");
    eng_ok(&x, "volume +5");
    st = eng_status(&x);
    assert_int_equal(json_integer_value(json_object_get(st, "volume")), 45);
    json_decref(st);

    json_t *q = NULL;
    assert_int_equal(eng_run(&x, "queue list", &q), 0);
    char *add =
        xasprintf("queue add #%lld",
                  (long long)json_integer_value(json_object_get(json_array_get(q, 0), "id")));
    json_decref(q);
    eng_ok(&x, "queue remove 4");
    assert_int_equal(queue_len(&x), NTRACKS - 1);
    eng_ok(&x, add);
    free(add);
    assert_int_equal(queue_len(&x), NTRACKS);
    assert_int_equal(eng_run(&x, "queue remove 9", NULL), CMD_EUNKNOWN);
    assert_int_equal(eng_run(&x, "play #99999", NULL), CMD_EUNKNOWN);

    json_t *found = NULL;
    assert_int_equal(eng_run(&x, "search track 3", &found), 0);
    assert_int_equal(json_array_size(found), 1);
    assert_string_equal(str_of(json_array_get(found, 0), "title"), "Track 3");
    json_decref(found);

    eng_ok(&x, "playlist create Mix");
    eng_ok(&x, "playlist add Mix track 2");
    assert_int_equal(eng_run(&x, "playlist create Mix", NULL), CMD_EEXISTS);
    json_t *lists = NULL;
    assert_int_equal(eng_run(&x, "playlist list", &lists), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lists, 0), "tracks")), 1);
    json_decref(lists);

    eng_ok(&x, "stop");
    eng_expect(&x, "stopped");
    eng_ok(&x, "queue clear");
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
    eng_online(&x, &F, "engine-restart", "null");
    eng_ok(&x, "play --all");
    eng_ok(&x, "next");
    json_decref(eng_wait(&x, playing_title, "Track 2", "Track 2"));
    eng_ok(&x, "pause");
    eng_expect(&x, "paused");
    eng_ok(&x, "seek 0:01");
    eng_ok(&x, "shuffle off");
    eng_ok(&x, "repeat all");
    eng_ok(&x, "volume 30");
    /* the decoder seeks on its own thread: wait until it has */
    json_t *before = eng_wait(&x, at_one_second, NULL, "the seek to 0:01");
    engine_free(x.e);

    eng_start(&x);
    json_t *after = eng_status(&x);
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

    eng_ok(&x, "resume");
    json_t *st = eng_wait(&x, past, &from, "resuming where it was");
    assert_true(pos_of(st) < from + 1.0);
    json_decref(st);
    eng_remove(&x);
}

/* queue play POS jumps there (the cursor moves, the queue's listeners
 * hear of it), refuses a position past the end, and the cursor survives
 * a restart. */
static void test_queue_play(void **state)
{
    (void)state;
    struct eng x;
    eng_online(&x, &F, "engine-queue-play", "null");
    eng_ok(&x, "play --all");
    json_decref(eng_wait(&x, playing_title, "Track 1", "Track 1 playing"));
    int counts[32] = {0};
    count_events(&x, counts); /* what came before */
    memset(counts, 0, sizeof(counts));

    eng_ok(&x, "queue play 3");
    json_decref(eng_wait(&x, playing_title, "Track 3", "the jump to Track 3"));
    eng_ok(&x, "pause"); /* stay on it until the restart */
    count_events(&x, counts);
    assert_true(counts[MQ_EV_QUEUE_CHANGED - MQ_EV_PONG] >= 1);
    json_t *q = NULL;
    assert_int_equal(eng_run(&x, "queue list", &q), 0);
    for (size_t i = 0; i < json_array_size(q); i++)
        assert_int_equal(json_is_true(json_object_get(json_array_get(q, i), "current")), i == 2);
    json_decref(q);

    char *past_end = xasprintf("queue play %d", NTRACKS + 1);
    assert_int_equal(eng_run(&x, past_end, NULL), CMD_EUNKNOWN);
    free(past_end);
    json_t *st = eng_status(&x);
    assert_string_equal(title_of(st), "Track 3");
    json_decref(st);

    engine_free(x.e);
    eng_start(&x);
    st = eng_status(&x);
    assert_string_equal(title_of(st), "Track 3");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "queue"), "position")),
                     3);
    json_decref(st);
    eng_remove(&x);
}

/* Decoded PCM of a WAV file as float frames (the fixture decoder). */
static void test_offline_replay_is_identical(void **state)
{
    (void)state;
    /* the outputs live beside the homes (a home goes with its engine) */
    char *dir = testutil_tempdir("engine-offline-out");
    char *first = xasprintf("wav:%s/first.wav", dir), *second = xasprintf("wav:%s/second.wav", dir);
    struct eng x;
    eng_online(&x, &F, "engine-offline", first);
    eng_ok(&x, "play track 1");
    json_decref(eng_wait(&x, played_and_stopped, NULL, "track 1 played"));
    char *home = xstrdup(x.home);
    eng_close(&x);

    svcfix_stop_service(&F);
    eng_open(&x, home, second);
    json_t *st = eng_status(&x);
    assert_string_not_equal(str_of(st, "service"), "online");
    json_decref(st);
    json_t *found = NULL;
    assert_int_equal(eng_run(&x, "search track", &found), 0);
    assert_int_equal(json_array_size(found), 1); /* offline: what it holds keys for */
    json_decref(found);
    json_t *artists = NULL;
    assert_int_equal(eng_run(&x, "browse", &artists), 0);
    assert_int_equal(json_array_size(artists), 1);
    assert_string_equal(str_of(json_array_get(artists, 0), "title"), "Fixture Band");
    json_decref(artists);
    eng_ok(&x, "play --all");
    json_decref(eng_wait(&x, played_and_stopped, NULL, "the replay"));
    st = eng_status(&x);
    json_t *bytes = json_object_get(st, "bytes");
    assert_true(json_integer_value(json_object_get(bytes, "cache")) > 0);
    assert_int_equal(json_integer_value(json_object_get(bytes, "service")), 0);
    json_decref(st);
    eng_remove(&x);
    svcfix_restart_service(&F);

    assert_same_audio(first + 4, second + 4);
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
    eng_online(&x, &F, "engine-killed", "null");
    eng_ok(&x, "play --all");
    json_decref(eng_wait(&x, playing_title, "Track 1", "Track 1 playing"));
    svcfix_stop_service(&F);
    json_decref(eng_wait(&x, is_service, "offline", "the link to go"));
    /* playback goes on from what is cached and buffered */
    json_t *st = eng_status(&x);
    double at = pos_of(st) + 0.5;
    json_decref(st);
    json_decref(eng_wait(&x, past, &at, "playback to go on"));
    svcfix_restart_service(&F);
    json_decref(eng_wait(&x, is_service, "online", "the link to come back"));
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
    json_t *st = eng_wait(&x, is_service, "online", "the service link, by name");
    json_int_t since = json_integer_value(json_object_get(st, "service_since"));
    json_decref(st);
    json_decref(eng_wait(&x, relinked, &since, "a renewed ticket"));
    eng_ok(&x, "play --all");
    json_decref(eng_wait(&x, playing_title, "Track 1", "playing after the renewal"));
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
        eng_online(&x[i], &F, name, "null");
    }
    for (int i = 0; i < N_ENGINES; i++)
        eng_ok(&x[i], "play --all");
    double half = 0.5;
    for (int i = 0; i < N_ENGINES; i++)
        json_decref(eng_wait(&x[i], past, &half, "every engine playing"));
    for (int i = 0; i < N_ENGINES; i++)
        eng_remove(&x[i]);
    free(x);
}

static void test_second_engine_on_a_cache_refused(void **state)
{
    (void)state;
    struct eng x;
    eng_online(&x, &F, "engine-twice", "null");
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
        cmocka_unit_test(test_queue_play),
        cmocka_unit_test(test_offline_replay_is_identical),
        cmocka_unit_test(test_service_killed_mid_track),
        cmocka_unit_test(test_ticket_renewal_and_names),
        cmocka_unit_test(test_twenty_engines_in_one_process),
        cmocka_unit_test(test_second_engine_on_a_cache_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
