/* Tests of audio/synth: the generated music is sound (not silence, not
 * clipped, not a bare tone, with a rhythm), differs between seeds and is
 * the same for the same seed; names; derived seeds. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/synth.h"
#include "base/xmalloc.h"

#define RATE    44100
#define SECONDS 6.0

struct stats {
    double peak, rms;
    double window_min, window_max; /* RMS over 50 ms windows */
    size_t clipped;                /* samples at or above full scale */
    double side;                   /* RMS of L - R */
};

static struct stats measure(const struct synth_song *s)
{
    struct stats st = {.window_min = 1e9};
    double sum = 0, side = 0;
    size_t win = RATE / 20;
    double wsum = 0;
    for (size_t i = 0; i < s->frames; i++) {
        for (int c = 0; c < 2; c++) {
            double v = s->pcm[2 * i + c];
            double a = fabs(v);
            if (a > st.peak)
                st.peak = a;
            if (a >= 1.0)
                st.clipped++;
            sum += v * v;
            wsum += v * v;
        }
        double d = s->pcm[2 * i] - s->pcm[2 * i + 1];
        side += d * d;
        if ((i + 1) % win == 0) {
            double w = sqrt(wsum / (2.0 * win));
            /* Skip the fade-in and fade-out at the ends. */
            if (i > RATE && i + 2 * RATE < s->frames) {
                if (w < st.window_min)
                    st.window_min = w;
                if (w > st.window_max)
                    st.window_max = w;
            }
            wsum = 0;
        }
    }
    st.rms = sqrt(sum / (2.0 * s->frames));
    st.side = sqrt(side / s->frames);
    return st;
}

static void test_sound(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct synth_song *s = NULL;
        assert_int_equal(synth_render(seed, SECONDS, RATE, &s), 0);
        assert_int_equal(s->channels, 2);
        assert_int_equal(s->sample_rate, RATE);
        assert_true(s->frames == (size_t)(SECONDS * RATE));
        assert_true(s->bpm >= 60 && s->bpm <= 160);
        assert_true(strlen(s->key) > 2 && strlen(s->lead) > 2);
        struct stats st = measure(s);
        /* Loud enough, never clipped: normalised to a peak below 1.0. */
        assert_true(st.rms > 0.05);
        assert_true(st.peak > 0.85 && st.peak < 0.9);
        assert_int_equal(st.clipped, 0);
        /* Not a bare tone: a sine's peak/RMS is 1.41, drums push it up. */
        assert_true(st.peak / st.rms > 2.5);
        /* A rhythm: loudness moves a lot from one 50 ms window to another. */
        assert_true(st.window_max > 2.5 * st.window_min);
        /* Stereo, not two copies of one channel. */
        assert_true(st.side > 0.01);
        synth_song_free(s);
    }
}

static void test_deterministic_and_distinct(void **state)
{
    (void)state;
    enum { N = 5 };
    struct synth_song *songs[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(synth_render(100 + (uint64_t)i * 7919, 4.0, 22050, &songs[i]), 0);

    struct synth_song *again = NULL;
    assert_int_equal(synth_render(100, 4.0, 22050, &again), 0);
    assert_true(again->frames == songs[0]->frames);
    assert_memory_equal(again->pcm, songs[0]->pcm, again->frames * 2 * sizeof(float));
    synth_song_free(again);

    /* Every pair differs clearly: low correlation between the signals. */
    int keys_differ = 0;
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++) {
            double ab = 0, aa = 0, bb = 0;
            for (size_t i = 0; i < 2 * songs[a]->frames; i++) {
                ab += (double)songs[a]->pcm[i] * songs[b]->pcm[i];
                aa += (double)songs[a]->pcm[i] * songs[a]->pcm[i];
                bb += (double)songs[b]->pcm[i] * songs[b]->pcm[i];
            }
            assert_true(fabs(ab / sqrt(aa * bb)) < 0.5);
            keys_differ += strcmp(songs[a]->key, songs[b]->key) != 0;
        }
    assert_true(keys_differ > 0);
    for (int i = 0; i < N; i++)
        synth_song_free(songs[i]);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct synth_song *s = NULL;
    assert_int_equal(synth_render(1, 0.5, RATE, &s), -EINVAL);
    assert_int_equal(synth_render(1, SYNTH_MAX_SECONDS + 1, RATE, &s), -EINVAL);
    assert_int_equal(synth_render(1, NAN, RATE, &s), -EINVAL);
    assert_int_equal(synth_render(1, 5, 1000, &s), -EINVAL);
    assert_null(s);
    /* The shortest piece at the lowest rate still has sound. */
    assert_int_equal(synth_render(9, SYNTH_MIN_SECONDS, 8000, &s), 0);
    double sum = 0;
    for (size_t i = 0; i < 2 * s->frames; i++)
        sum += fabs(s->pcm[i]);
    assert_true(sum / (2.0 * s->frames) > 0.01);
    synth_song_free(s);
}

static void test_names(void **state)
{
    (void)state;
    const enum synth_name_kind kinds[] = {SYNTH_NAME_ARTIST, SYNTH_NAME_ALBUM, SYNTH_NAME_TITLE};
    for (int k = 0; k < 3; k++) {
        char *names[12];
        int distinct = 0;
        for (int i = 0; i < 12; i++) {
            names[i] = synth_name((uint64_t)i, kinds[k]);
            assert_true(strlen(names[i]) >= 3);
            char *again = synth_name((uint64_t)i, kinds[k]);
            assert_string_equal(again, names[i]);
            free(again);
            int seen = 0;
            for (int j = 0; j < i; j++)
                seen |= strcmp(names[j], names[i]) == 0;
            distinct += !seen;
        }
        assert_true(distinct >= 9);
        for (int i = 0; i < 12; i++)
            free(names[i]);
    }
    /* An artist and an album of the same seed are different names. */
    char *artist = synth_name(42, SYNTH_NAME_ARTIST), *album = synth_name(42, SYNTH_NAME_ALBUM);
    assert_string_not_equal(artist, album);
    free(artist);
    free(album);
}

/* Derived seeds: the same for the same arguments, distinct for distinct
 * n and for distinct parents, and not simply n again. */
static void test_derived_seeds(void **state)
{
    (void)state;
    enum { N = 1000 };
    uint64_t *seen = xcalloc(2 * N, sizeof(*seen));
    for (uint64_t n = 0; n < N; n++) {
        seen[n] = synth_seed(7, n);
        seen[N + n] = synth_seed(8, n);
        assert_true(synth_seed(7, n) == seen[n]);
        assert_true(seen[n] != n);
    }
    for (size_t i = 0; i < 2 * N; i++)
        for (size_t j = 0; j < i; j++)
            assert_true(seen[i] != seen[j]);
    free(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound),         cmocka_unit_test(test_deterministic_and_distinct),
        cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_names),
        cmocka_unit_test(test_derived_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
