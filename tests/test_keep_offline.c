/* test_keep_offline: `playlist keep NAME [on|off]` on a real engine
 * against a real service on loopback (tests/svc_fixture.h, with noise
 * tracks so each file is several chunks of about equal size):
 *  - on: the playlist's files are fetched whole while nothing plays, and
 *    so is a track added later; the reply says how many are cached; the
 *    TUI hears MQ_EV_PLAYLISTS_CHANGED; `playlist list` carries
 *    keep_offline and cached for every playlist;
 *  - pinned: in a cache whose cap forces evictions, playing other tracks
 *    evicts those, never the kept files although they are the least
 *    recently used — also after a restart (the flag and the pins come
 *    back);
 *  - offline: with the service stopped, a restarted engine plays every
 *    track of the kept playlist, all from the cache (never played before
 *    the service went: the keys were kept with the downloads);
 *  - off: the files are evictable again;
 *  - a cache too small for the kept files: one clear error, the flag and
 *    the playlist kept; an unknown playlist refused. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/xmalloc.h"
#include "core/cmd.h"
#include "core/engine.h"
#include "core/mq.h"
#include "engine_fixture.h"
#include "svc_fixture.h"
#include "testutil.h"

#define TRACK_S 3.0
#define NTRACKS 4

static struct svcfix F;

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    svcfix_start_music(&F, "keep", NTRACKS, TRACK_S, true);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    svcfix_free(&F);
    return 0;
}

/* ---- helpers ---- */

/* Events the TUI would see, gathered across calls. */
static struct {
    int changed;       /* MQ_EV_PLAYLISTS_CHANGED */
    char *first_error; /* MQ_EV_ERROR that answered no command (free) */
} seen;

/* Takes the events posted so far; the first MQ_EV_STATUS or MQ_EV_ERROR
 * goes to *answer when it is not NULL (and still NULL). */
static void take_events(struct eng *x, char **answer)
{
    struct mq_msg *list = mq_take_events(engine_mq(x->e));
    for (struct mq_msg *m = list; m; m = m->next) {
        seen.changed += m->type == MQ_EV_PLAYLISTS_CHANGED;
        if (m->type != MQ_EV_STATUS && m->type != MQ_EV_ERROR)
            continue;
        if (answer && !*answer)
            *answer = xstrdup(m->u.text);
        else if (m->type == MQ_EV_ERROR && !seen.first_error)
            seen.first_error = xstrdup(m->u.text);
    }
    mq_msg_free_list(list);
}

/* Runs line as the TUI does (no reply function: the answer comes as an
 * event) and returns the message it answered with (free). */
static char *ui_run(struct eng *x, const char *line)
{
    take_events(x, NULL); /* what came before is no answer */
    struct cmd *c = NULL;
    assert_int_equal(cmd_parse(line, &c, NULL), 0);
    assert_int_equal(engine_send(x->e, c), 0);
    uint64_t end = testutil_now_ns() + (uint64_t)ENG_WAIT_MS * 1000000u;
    char *text = NULL;
    for (take_events(x, &text); !text && testutil_now_ns() < end; take_events(x, &text))
        sleep_ms(20);
    if (!text)
        fail_msg("no answer to '%s'", line);
    return text;
}

/* Playlist name's entry in `playlist list` (json_decref). */
static json_t *playlist_entry(struct eng *x, const char *name)
{
    json_t *lists = NULL;
    assert_int_equal(eng_run(x, "playlist list", &lists), 0);
    json_t *found = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(lists, i, o)
    {
        if (strcmp(str_of(o, "name"), name) == 0)
            found = json_incref(o);
    }
    json_decref(lists);
    if (!found)
        fail_msg("no playlist '%s' in playlist list", name);
    return found;
}

static json_int_t cached_of(struct eng *x, const char *name)
{
    json_t *o = playlist_entry(x, name);
    json_t *cached = json_object_get(o, "cached");
    assert_true(json_is_integer(cached));
    json_int_t n = json_integer_value(cached);
    json_decref(o);
    return n;
}

static bool kept(struct eng *x, const char *name)
{
    json_t *o = playlist_entry(x, name);
    json_t *flag = json_object_get(o, "keep_offline");
    assert_true(json_is_boolean(flag));
    bool on = json_is_true(flag);
    json_decref(o);
    return on;
}

/* Waits until want of playlist name's tracks are cached. */
static void wait_cached(struct eng *x, const char *name, json_int_t want)
{
    uint64_t end = testutil_now_ns() + (uint64_t)ENG_WAIT_MS * 1000000u;
    json_int_t n;
    while ((n = cached_of(x, name)) != want) {
        if (testutil_now_ns() > end)
            fail_msg("'%s': %lld tracks cached, waited for %lld", name, (long long)n,
                     (long long)want);
        sleep_ms(50);
    }
}

static json_int_t field2(json_t *st, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(st, a), b));
}

static json_int_t cache_used(struct eng *x)
{
    json_t *st = eng_status(x);
    json_int_t used = field2(st, "cache", "used");
    json_decref(st);
    return used;
}

/* Plays what line names to its end (the wav output runs unpaced). */
static void play_through(struct eng *x, const char *line)
{
    eng_ok(x, line);
    json_decref(eng_wait(x, played_and_stopped, NULL, line));
}

static void assert_stopped_and_silent(struct eng *x)
{
    json_t *st = eng_status(x);
    assert_string_equal(str_of(st, "state"), "stopped");
    assert_int_equal(field2(st, "bytes", "cache") + field2(st, "bytes", "peers") +
                         field2(st, "bytes", "service"),
                     0);
    json_decref(st);
}

/* Adds track number n to playlist name, which is kept, and waits until it
 * is cached; returns the cache bytes that took. */
static json_int_t keep_one_more(struct eng *x, const char *name, int n, json_int_t cached)
{
    json_int_t before = cache_used(x);
    char *add = xasprintf("playlist add %s track %d", name, n);
    eng_ok(x, add);
    free(add);
    wait_cached(x, name, cached);
    return cache_used(x) - before;
}

/* ---- tests ---- */

/* The sizes of the four files in the cache, measured by keeping them:
 * fetched whole while nothing plays, tracks added later too. */
static void keep_fetches_while_nothing_plays(json_int_t size[NTRACKS])
{
    struct eng x;
    eng_online(&x, &F, "keep-fetch", "null");
    eng_ok(&x, "playlist create Mix");
    eng_ok(&x, "playlist add Mix track 1");
    json_int_t before = cache_used(&x);
    take_events(&x, NULL);
    seen.changed = 0;
    char *msg = ui_run(&x, "playlist keep Mix"); /* no argument: toggles on */
    assert_string_equal(msg, "keeping 'Mix' offline: 0 of 1 track cached, fetching 1");
    free(msg);
    wait_cached(&x, "Mix", 1);
    size[0] = cache_used(&x) - before;
    take_events(&x, NULL);
    assert_true(seen.changed >= 2); /* the flag, then the file */

    size[1] = keep_one_more(&x, "Mix", 2, 2); /* added to a kept playlist: fetched too */
    eng_ok(&x, "playlist create Probe");
    eng_ok(&x, "playlist keep Probe on");
    size[2] = keep_one_more(&x, "Probe", 3, 1);
    size[3] = keep_one_more(&x, "Probe", 4, 2);
    assert_stopped_and_silent(&x); /* nothing played: the downloads alone */
    for (int i = 0; i < NTRACKS; i++)
        assert_true(size[i] > 16384); /* several chunks each */

    msg = ui_run(&x, "playlist keep mix on"); /* any case; kept already */
    assert_string_equal(msg, "keeping 'mix' offline: 2 of 2 tracks cached");
    free(msg);
    json_t *mix = playlist_entry(&x, "Mix");
    assert_true(json_is_true(json_object_get(mix, "keep_offline")));
    assert_int_equal(json_integer_value(json_object_get(mix, "tracks")), 2);
    assert_int_equal(json_integer_value(json_object_get(mix, "cached")), 2);
    json_decref(mix);
    eng_remove(&x);
}

static bool online(struct eng *x)
{
    json_t *st = eng_status(x);
    bool on = is_service(st, "online");
    json_decref(st);
    return on;
}

static void expect_message(struct eng *x, const char *line, const char *want)
{
    char *msg = ui_run(x, line);
    assert_string_equal(msg, want);
    free(msg);
}

/* Restarts x's engine; online: waits for the link. */
static void restart(struct eng *x, bool online_now)
{
    engine_free(x->e);
    eng_start(x);
    if (online_now)
        json_decref(eng_wait(x, is_service, "online", "the service link"));
}

/* The kept files in a cache that must evict: pinned across a restart,
 * played offline, fetched when the service comes back, evictable when
 * no longer kept. */
static void test_kept_files_stay(void **state)
{
    (void)state;
    json_int_t size[NTRACKS];
    keep_fetches_while_nothing_plays(size);
    /* room for the two kept files and one more, not two more */
    json_int_t lo = size[2] < size[3] ? size[2] : size[3];
    json_int_t hi = size[2] < size[3] ? size[3] : size[2];
    char *cap = xasprintf("cache.size=%lld", (long long)(size[0] + size[1] + hi + lo / 2));
    char *dir = testutil_tempdir("keep-out"); /* beside the home, which goes with the engine */
    char *out = xasprintf("wav:%s/out.wav", dir);
    struct eng x;
    eng_online_linked(&x, &F, "keep-pins", out, cap, NULL);
    eng_ok(&x, "playlist create Mix");
    eng_ok(&x, "playlist add Mix track 1");
    eng_ok(&x, "playlist add Mix track 2");
    eng_ok(&x, "playlist create Other");
    eng_ok(&x, "playlist add Other track 3");
    eng_ok(&x, "playlist add Other track 4");
    eng_ok(&x, "playlist keep Mix on");
    wait_cached(&x, "Mix", 2);

    /* Track 4 needs room: track 3 goes, not the kept ones (older). */
    play_through(&x, "play track 3");
    play_through(&x, "play track 4");
    assert_int_equal(cached_of(&x, "Mix"), 2);
    assert_int_equal(cached_of(&x, "Other"), 1);
    assert_false(kept(&x, "Other"));

    /* After a restart the flag and the pins are back: track 3 evicts 4. */
    restart(&x, true);
    assert_true(kept(&x, "Mix"));
    play_through(&x, "play track 3");
    assert_int_equal(cached_of(&x, "Mix"), 2);
    assert_int_equal(cached_of(&x, "Other"), 1);

    /* No service from the start: the kept playlist plays, from the cache. */
    engine_free(x.e);
    svcfix_stop_service(&F);
    eng_start(&x);
    assert_false(online(&x));
    expect_message(&x, "playlist keep Mix on", "keeping 'Mix' offline: 2 of 2 tracks cached");
    eng_ok(&x, "playlist load Mix");
    play_through(&x, "queue play 1");
    json_t *st = eng_status(&x);
    assert_int_equal(field2(st, "playbacks", "cache"), 2); /* both tracks, whole */
    assert_int_equal(field2(st, "playbacks", "service") + field2(st, "playbacks", "peers"), 0);
    assert_int_equal(field2(st, "bytes", "service") + field2(st, "bytes", "peers"), 0);
    json_decref(st);

    /* Offline, what is known is kept and the rest waits for the service;
     * Mix, no longer kept, makes room for it when it comes. */
    expect_message(&x, "playlist keep Other on",
                   "keeping 'Other' offline: 1 of 2 tracks cached, 1 to fetch when the service "
                   "is back");
    expect_message(&x, "playlist keep Mix off",
                   "not keeping 'Mix' offline: its 2 cached tracks may be evicted");
    assert_false(kept(&x, "Mix"));
    svcfix_restart_service(&F);
    json_decref(eng_wait(&x, is_service, "online", "the service to come back"));
    wait_cached(&x, "Other", 2);
    assert_true(cached_of(&x, "Mix") < 2);
    st = eng_status(&x);
    assert_true(field2(st, "cache", "used") <= field2(st, "cache", "cap"));
    json_decref(st);

    eng_remove(&x);
    testutil_rmtree(dir);
    free(dir);
    free(out);
    free(cap);
}

/* A cache too small for the kept files: one clear error, nothing lost. */
static void test_full_cache(void **state)
{
    (void)state;
    struct eng x;
    free(seen.first_error); /* another engine's */
    seen.first_error = NULL;
    eng_online_linked(&x, &F, "keep-full", "null", "cache.size=16384", NULL);
    assert_int_equal(eng_run(&x, "playlist keep Nope on", NULL), CMD_EUNKNOWN);
    eng_ok(&x, "playlist create Mix");
    eng_ok(&x, "playlist add Mix track 1");
    eng_ok(&x, "playlist add Mix track 2");
    expect_message(&x, "playlist keep Mix on",
                   "keeping 'Mix' offline: 0 of 2 tracks cached, fetching 2");
    uint64_t end = testutil_now_ns() + (uint64_t)ENG_WAIT_MS * 1000000u;
    for (take_events(&x, NULL); !seen.first_error && testutil_now_ns() < end; take_events(&x, NULL))
        sleep_ms(50);
    assert_non_null(seen.first_error);
    assert_non_null(strstr(seen.first_error, "the cache is full of kept tracks"));
    assert_non_null(strstr(seen.first_error, "cache.size"));
    free(seen.first_error);
    seen.first_error = NULL;
    json_t *mix = playlist_entry(&x, "Mix");
    assert_true(json_is_true(json_object_get(mix, "keep_offline")));
    assert_int_equal(json_integer_value(json_object_get(mix, "tracks")), 2);
    assert_int_equal(json_integer_value(json_object_get(mix, "cached")), 0);
    json_decref(mix);
    expect_message(&x, "playlist keep Mix off", "not keeping 'Mix' offline");
    eng_ok(&x, "playlist delete Mix");
    eng_remove(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_files_stay),
        cmocka_unit_test(test_full_cache),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
