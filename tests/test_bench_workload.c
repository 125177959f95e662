/* test_bench_workload: the swarm benchmark's listeners
 * (app/bench_swarm_workload.h) on a catalog made by hand: popularity as
 * the paper measured (12% of tracks, 88% of fresh picks), album order
 * kept, the flash album never picked nor in a history, histories that fit
 * their cap, and the same seed giving the same schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../app/bench_swarm_workload.h"

#define ALBUMS   30
#define PER      10
#define NTRACKS  (ALBUMS * PER)
#define TRACK_MB 4u

static struct bench_track tracks[NTRACKS];
static struct bench_album albums[ALBUMS];
static struct bench_catalog cat = {
    .tracks = tracks, .ntracks = NTRACKS, .albums = albums, .nalbums = ALBUMS};

static int setup(void **state)
{
    (void)state;
    for (size_t a = 0; a < ALBUMS; a++) {
        albums[a] = (struct bench_album){.first = a * PER, .count = PER};
        for (size_t i = 0; i < PER; i++)
            tracks[a * PER + i] = (struct bench_track){.id = (int64_t)(a * PER + i + 1),
                                                       .album = a,
                                                       .number = (unsigned)i + 1,
                                                       .seconds = 200,
                                                       .bytes = TRACK_MB << 20};
    }
    return 0;
}

static bool is_hot(const struct workload *w, size_t t)
{
    for (size_t i = 0; i < w->nhot; i++)
        if (w->hot[i] == t)
            return true;
    return false;
}

static void popular_tracks_get_most_picks(void **state)
{
    (void)state;
    struct workload w;
    workload_init(&w, &cat, 42);
    /* whole albums: 12% of 300 tracks rounds up to 4 albums of 10 */
    assert_int_equal(w.nhot, 40);
    uint64_t rng = workload_rng(42, 3);
    size_t hot = 0, n = 20000;
    for (size_t i = 0; i < n; i++)
        hot += is_hot(&w, workload_pick(&w, &rng));
    double share = (double)hot / (double)n;
    print_message("fresh picks among the popular tracks: %.1f%%\n", 100 * share);
    assert_true(share > 0.85 && share < 0.91);
    workload_free(&w);
}

static void albums_play_in_order(void **state)
{
    (void)state;
    struct workload w;
    workload_init(&w, &cat, 42);
    uint64_t rng = workload_rng(42, 5);
    size_t followed = 0, tries = 0;
    for (size_t i = 0; i < 5000; i++) {
        size_t t = w.hot[i % w.nhot];
        if (tracks[t].number == PER) {
            assert_int_equal(workload_follow(&w, &rng, t), SIZE_MAX); /* its album ends */
            continue;
        }
        tries++;
        size_t next = workload_follow(&w, &rng, t);
        if (next != SIZE_MAX) {
            assert_int_equal(next, t + 1);
            followed++;
        }
    }
    double share = (double)followed / (double)tries;
    assert_true(share > WORKLOAD_FOLLOW - 0.05 && share < WORKLOAD_FOLLOW + 0.05);
    workload_free(&w);
}

static void the_flash_album_is_new(void **state)
{
    (void)state;
    struct workload w;
    workload_init(&w, &cat, 9);
    size_t first = workload_flash_first(&w);
    assert_int_equal(tracks[first].number, 1);
    size_t album = tracks[first].album;
    uint64_t rng = workload_rng(9, 1);
    for (size_t i = 0; i < 20000; i++)
        assert_int_not_equal(tracks[workload_pick(&w, &rng)].album, album);
    size_t *past = NULL;
    size_t n = workload_history(&w, &rng, 400ull << 20, &past);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(tracks[past[i]].album, album);
    free(past);
    workload_free(&w);
}

static void histories_fit_and_repeat(void **state)
{
    (void)state;
    struct workload w;
    workload_init(&w, &cat, 1);
    uint64_t cap = 30ull * TRACK_MB << 20; /* 10% of the catalog */
    size_t *a = NULL, *b = NULL;
    uint64_t r1 = workload_rng(1, 7), r2 = workload_rng(1, 7);
    size_t na = workload_history(&w, &r1, cap, &a);
    size_t nb = workload_history(&w, &r2, cap, &b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(*a));
    /* equal sizes: exactly 30 distinct tracks, heard more than once */
    bool heard[NTRACKS] = {0};
    size_t distinct = 0, popular_last = 0;
    for (size_t i = 0; i < na; i++) {
        distinct += !heard[a[i]];
        heard[a[i]] = true;
    }
    assert_int_equal(distinct, 30);
    assert_true(na > distinct);
    /* the newest plays are mostly of popular tracks, as the cache should
     * hold them */
    for (size_t i = na - 10; i < na; i++)
        popular_last += is_hot(&w, a[i]);
    assert_true(popular_last >= 6);
    /* another listener, another past */
    uint64_t r3 = workload_rng(1, 8);
    size_t *c = NULL;
    size_t nc = workload_history(&w, &r3, cap, &c);
    assert_true(nc != na || memcmp(a, c, na * sizeof(*a)) != 0);
    free(a);
    free(b);
    free(c);
    workload_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(popular_tracks_get_most_picks),
        cmocka_unit_test(albums_play_in_order),
        cmocka_unit_test(the_flash_album_is_new),
        cmocka_unit_test(histories_fit_and_repeat),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
