/* test_sink: the output sinks — the render callback's rules (feed states,
 * underrun counting, pause, volume, flushes while not playing), the wav
 * file, the null sink's real time pace, the bench sink's one shared clock
 * (its pace, one thread for many outputs, underruns, stop and start while
 * it ticks), PortAudio's fallback, and the real
 * PortAudio path through an ALSA configuration this test writes for
 * itself: pcm.!default is a `file` plugin (raw PCM into a file) over a
 * `null` slave, so no sound card is needed and the played bytes can be
 * compared. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/ring.h"
#include "audio/sink.h"
#include "base/xmalloc.h"
#include "testutil.h"

static char *tmpdir;
static char *alsa_out; /* where the ALSA file plugin writes */

static void nap_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static struct aout *open_sink(const char *spec, enum aout_sample sample)
{
    struct aout_config cfg = {.spec = spec, .format = {44100, 2, sample}};
    struct aout *ao = NULL;
    assert_int_equal(aout_open(&cfg, &ao), 0);
    return ao;
}

static void fill_s16(int16_t *p, size_t frames, int start)
{
    for (size_t i = 0; i < frames; i++) {
        p[2 * i] = (int16_t)(start + (int)i);
        p[2 * i + 1] = (int16_t) - (start + (int)i);
    }
}

/* The render rules, driven by hand from this thread (the "audio thread"). */
static void test_render_rules(void **state)
{
    struct aout *ao = open_sink("null", AOUT_S16);
    struct ring *r = ring_new(1 << 16);
    assert_int_equal(aout_attach(ao, r), 0);
    int16_t in[2 * 1000], out[2 * 1000];
    struct aout_stats st;

    /* IDLE: silence, nothing taken, no underrun */
    fill_s16(in, 1000, 1);
    ring_write(r, in, sizeof(in), 4);
    memset(out, 0x55, sizeof(out));
    assert_int_equal(aout_render(ao, out, 100), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(out[i], 0);
    assert_int_equal(ring_readable(r), sizeof(in));

    /* RUNNING: exact copy at volume 100; first audio is stamped */
    aout_set_feed(ao, AOUT_FEED_RUNNING, 400 * 4);
    assert_int_equal(aout_render(ao, out, 600), 600);
    assert_memory_equal(out, in, 600 * 4);
    aout_get_stats(ao, &st);
    assert_true(st.first_audio_ns > 0);
    assert_int_equal(st.frames_played, 600);
    assert_int_equal(st.underruns, 0);

    /* paused: silence, nothing taken */
    aout_set_paused(ao, true);
    assert_int_equal(aout_render(ao, out, 100), 0);
    assert_int_equal(out[0], 0);
    aout_set_paused(ao, false);

    /* a shortfall while RUNNING is one underrun episode */
    assert_int_equal(aout_render(ao, out, 500), 400);
    assert_memory_equal(out, in + 2 * 600, 400 * 4);
    assert_int_equal(out[2 * 400], 0);
    assert_int_equal(aout_render(ao, out, 100), 0);
    aout_get_stats(ao, &st);
    assert_int_equal(st.underruns, 1);
    assert_int_equal(st.underrun_frames, 200);

    /* after it, playback waits for the rebuffer amount (400 frames) */
    fill_s16(in, 1000, 2000);
    ring_write(r, in, 300 * 4, 4);
    assert_int_equal(aout_render(ao, out, 100), 0);
    ring_write(r, in + 2 * 300, 700 * 4, 4);
    assert_int_equal(aout_render(ao, out, 100), 100);
    assert_memory_equal(out, in, 100 * 4);
    aout_get_stats(ao, &st);
    assert_int_equal(st.underruns, 1);

    /* DRAINING: running dry is the end, not an underrun */
    aout_set_feed(ao, AOUT_FEED_DRAINING, 0);
    assert_int_equal(aout_render(ao, out, 1000), 900);
    aout_get_stats(ao, &st);
    assert_int_equal(st.underruns, 1);
    assert_int_equal(st.frames_played, 600 + 400 + 1000);

    /* take (unpaced sinks) never invents silence */
    aout_set_feed(ao, AOUT_FEED_RUNNING, 0);
    assert_int_equal(aout_take(ao, out, 100), 0);
    aout_get_stats(ao, &st);
    assert_int_equal(st.underruns, 1);

    aout_free(ao);
    ring_free(r);
}

/* A full ring flushed by the producer (seek, new track) while the output
 * takes nothing (idle, paused, held): the output still drops the stale
 * bytes, so the producer gets its room back for the new audio — only the
 * consumer can move the read position. */
static void test_flush_while_not_playing(void **state)
{
    struct aout *ao = open_sink("null", AOUT_S16);
    struct ring *r = ring_new(4096);
    assert_int_equal(aout_attach(ao, r), 0);
    int16_t in[2 * 1024], out[2 * 64];
    fill_s16(in, 1024, 1);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(ring_write(r, in, sizeof(in), 4), 4096);
        assert_int_equal(ring_writable(r), 0);
        uint64_t ticket = 0;
        if (round == 0)
            aout_set_feed(ao, AOUT_FEED_IDLE, 0);
        else if (round == 1)
            aout_set_paused(ao, true);
        else
            ticket = aout_hold(ao);
        ring_flush(r);
        assert_int_equal(aout_render(ao, out, 64), 0);
        assert_int_equal(ring_writable(r), 4096);
        assert_int_equal(ring_fill(r), 0);
        /* the same through aout_take (unpaced sinks) */
        assert_int_equal(ring_write(r, in, sizeof(in), 4), 4096);
        ring_flush(r);
        assert_int_equal(aout_take(ao, out, 64), 0);
        assert_int_equal(ring_writable(r), 4096);
        aout_set_paused(ao, false);
        if (ticket)
            aout_release(ao, ticket);
        aout_set_feed(ao, AOUT_FEED_RUNNING, 0);
    }
    aout_free(ao);
    ring_free(r);
}

static void test_volume(void **state)
{
    struct aout *ao = open_sink("null", AOUT_F32);
    struct ring *r = ring_new(1 << 16);
    aout_attach(ao, r);
    aout_set_feed(ao, AOUT_FEED_RUNNING, 0);
    float in[2 * 256], out[2 * 256];
    for (int i = 0; i < 512; i++)
        in[i] = 0.5f;
    aout_set_volume(ao, 50); /* cubic: gain 0.125 */
    assert_int_equal(aout_get_volume(ao), 50);
    ring_write(r, in, sizeof(in), 8);
    aout_render(ao, out, 256);
    /* the change is ramped over the buffer: no jump from 0.5 to 0.0625 */
    assert_true(out[0] > 0.49f);
    assert_float_equal(out[2 * 255], 0.0625f, 1e-6);
    for (int i = 1; i < 256; i++)
        assert_true(out[2 * i] <= out[2 * (i - 1)]);
    ring_write(r, in, sizeof(in), 8);
    aout_render(ao, out, 256);
    for (int i = 0; i < 512; i++)
        assert_float_equal(out[i], 0.0625f, 1e-6);
    aout_set_volume(ao, 250); /* clamped */
    assert_int_equal(aout_get_volume(ao), 100);
    aout_free(ao);
    ring_free(r);

    /* s16 fixed point */
    ao = open_sink("null", AOUT_S16);
    r = ring_new(1 << 16);
    aout_attach(ao, r);
    aout_set_feed(ao, AOUT_FEED_RUNNING, 0);
    aout_set_volume(ao, 0);
    int16_t s[2 * 64], o[2 * 64];
    for (int i = 0; i < 128; i++)
        s[i] = 20000;
    ring_write(r, s, sizeof(s), 4);
    aout_render(ao, o, 64);
    ring_write(r, s, sizeof(s), 4);
    aout_render(ao, o, 64);
    for (int i = 0; i < 128; i++)
        assert_int_equal(o[i], 0);
    aout_free(ao);
    ring_free(r);
}

static void test_bad_specs(void **state)
{
    struct aout *ao = NULL;
    struct aout_config cfg = {.spec = "speaker"};
    assert_int_equal(aout_open(&cfg, &ao), AOUT_EINVAL);
    cfg.spec = "wav:";
    assert_int_equal(aout_open(&cfg, &ao), AOUT_EINVAL);
    cfg.spec = "null:x";
    assert_int_equal(aout_open(&cfg, &ao), AOUT_EINVAL);
    const char *bad_bench[] = {"bench:0", "bench:x", "bench:65", "bench:", "bench:4x", "benchy"};
    for (size_t i = 0; i < sizeof(bad_bench) / sizeof(bad_bench[0]); i++) {
        cfg.spec = bad_bench[i];
        assert_int_equal(aout_open(&cfg, &ao), AOUT_EINVAL);
        assert_null(ao);
    }
    ao = open_sink("bench:64", AOUT_S16);
    assert_string_equal(aout_name(ao), "bench");
    aout_free(ao);
    char *path = xasprintf("%s/no/such/dir/out.wav", tmpdir);
    char *spec = xasprintf("wav:%s", path);
    cfg.spec = spec;
    assert_true(aout_open(&cfg, &ao) < 0);
    assert_null(ao);
    free(spec);
    free(path);
    /* starting without a ring is refused */
    ao = open_sink("null", AOUT_S16);
    assert_int_equal(aout_start(ao), AOUT_ESTATE);
    assert_string_equal(aout_name(ao), "null");
    assert_null(aout_notice(ao));
    aout_free(ao);
    assert_string_equal(aout_strerror(AOUT_ENODEV), "no usable output device");
}

static uint32_t get32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Plays frames of PCM into a wav sink and checks the file byte for byte. */
static void wav_roundtrip(enum aout_sample sample)
{
    char *path = xasprintf("%s/out-%d.wav", tmpdir, (int)sample);
    char *spec = xasprintf("wav:%s", path);
    struct aout *ao = open_sink(spec, sample);
    assert_string_equal(aout_name(ao), "wav");
    size_t bpf = aout_frame_bytes(aout_get_format(ao));
    size_t frames = 44100; /* one second */
    uint8_t *pcm = xmalloc(frames * bpf);
    for (size_t i = 0; i < frames * bpf; i++)
        pcm[i] = (uint8_t)(i * 7 + i / 4096);
    if (sample == AOUT_F32) /* keep them real floats */
        for (size_t i = 0; i < frames * 2; i++)
            ((float *)pcm)[i] = (float)sin((double)i * 0.01) * 0.5f;
    struct ring *r = ring_new(frames * bpf / 4);
    aout_attach(ao, r);
    assert_int_equal(aout_start(ao), 0);
    aout_set_feed(ao, AOUT_FEED_RUNNING, 0);
    size_t done = 0;
    uint64_t t0 = testutil_now_ns();
    while (done < frames * bpf) {
        done += ring_write(r, pcm + done, frames * bpf - done, bpf);
        nap_ms(1);
    }
    aout_set_feed(ao, AOUT_FEED_DRAINING, 0);
    struct aout_stats st;
    do {
        nap_ms(1);
        aout_get_stats(ao, &st);
    } while (st.frames_played < frames && testutil_now_ns() - t0 < 10000000000ull);
    /* unpaced: far faster than the one second it holds */
    assert_true(testutil_now_ns() - t0 < 900000000ull);
    assert_int_equal(aout_stop(ao), 0);
    aout_free(ao);
    ring_free(r);

    size_t len;
    uint8_t *file = testutil_read_file(path, &len);
    size_t hdr = sample == AOUT_F32 ? 58 : 44;
    assert_int_equal(len, hdr + frames * bpf);
    assert_memory_equal(file, "RIFF", 4);
    assert_int_equal(get32(file + 4), len - 8);
    assert_memory_equal(file + 8, "WAVEfmt ", 8);
    assert_int_equal(file[20], sample == AOUT_F32 ? 3 : 1);
    assert_int_equal(get32(file + 24), 44100);
    if (sample == AOUT_F32) {
        assert_memory_equal(file + 38, "fact", 4);
        assert_int_equal(get32(file + 46), frames);
    }
    assert_memory_equal(file + hdr - 8, "data", 4);
    assert_int_equal(get32(file + hdr - 4), frames * bpf);
    assert_memory_equal(file + hdr, pcm, frames * bpf);
    free(file);
    free(pcm);
    free(spec);
    free(path);
}

static void test_wav_s16(void **state)
{
    wav_roundtrip(AOUT_S16);
}

static void test_wav_f32(void **state)
{
    wav_roundtrip(AOUT_F32);
}

/* The null sink takes audio at the real-time rate, and counts an
 * underrun when it is starved. */
static void test_null_pace(void **state)
{
    struct aout *ao = open_sink("null", AOUT_S16);
    struct ring *r = ring_new(1 << 20);
    aout_attach(ao, r);
    size_t frames = 44100 * 3 / 10; /* 300 ms */
    int16_t *pcm = xcalloc(frames * 2, sizeof(int16_t));
    fill_s16(pcm, frames, 1);
    ring_write(r, pcm, frames * 4, 4);
    aout_set_feed(ao, AOUT_FEED_RUNNING, 0);
    uint64_t t0 = testutil_now_ns();
    assert_int_equal(aout_start(ao), 0);
    struct aout_stats st;
    do {
        nap_ms(2);
        aout_get_stats(ao, &st);
    } while (st.frames_played < frames && testutil_now_ns() - t0 < 5000000000ull);
    double took = (double)(testutil_now_ns() - t0) / 1e9;
    assert_int_equal(st.frames_played, frames);
    /* 300 ms of audio takes 300 ms, give or take scheduling (sanitizers) */
    assert_true(took > 0.25 && took < 0.8);
    /* starved while RUNNING: one underrun */
    nap_ms(50);
    aout_get_stats(ao, &st);
    assert_int_equal(st.underruns, 1);
    assert_true(st.underrun_frames > 0);
    aout_free(ao);
    ring_free(r);
    free(pcm);
}

/* ---- the bench sink ---- */

/* Threads of this process now. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Frames the output has rendered: taken from the ring or silence. */
static uint64_t rendered(struct aout *ao)
{
    struct aout_stats st;
    aout_get_stats(ao, &st);
    return st.frames_played + st.silence_frames;
}

/* Waits (5 s at most) until ao has rendered more than after frames. */
static bool renders_past(struct aout *ao, uint64_t after)
{
    uint64_t t0 = testutil_now_ns();
    while (rendered(ao) <= after && testutil_now_ns() - t0 < 5000000000ull)
        nap_ms(2);
    return rendered(ao) > after;
}

/* An output on its own ring, idle (it renders silence), started. */
struct bench_out {
    struct aout *ao;
    struct ring *ring;
};

static void bench_out_start(struct bench_out *b, const char *spec)
{
    b->ao = open_sink(spec, AOUT_S16);
    b->ring = ring_new(1 << 12);
    assert_int_equal(aout_attach(b->ao, b->ring), 0);
    assert_int_equal(aout_start(b->ao), 0);
}

static void bench_out_free(struct bench_out *b)
{
    aout_free(b->ao);
    ring_free(b->ring);
    b->ao = NULL;
    b->ring = NULL;
}

/* bench and bench:4 take audio at their rates: over about half a second
 * of wall time, some audio and less than 4 times what that time holds
 * (no tighter: a loaded machine may run the clock late). Every tick
 * renders the same period, 20 ms: 882 frames at 44.1 kHz, times SPEED. */
static void test_bench_pace(void **state)
{
    const unsigned speeds[] = {1, 4};
    struct aout *ao[2];
    struct ring *r[2];
    size_t frames = 44100 * 3; /* more than 0.5 s at speed 4 takes */
    int16_t *pcm = xcalloc(frames * 2, sizeof(int16_t));
    fill_s16(pcm, frames, 1);
    for (int i = 0; i < 2; i++) {
        char spec[16];
        snprintf(spec, sizeof(spec), "bench:%u", speeds[i]);
        ao[i] = open_sink(i == 0 ? "bench" : spec, AOUT_S16);
        r[i] = ring_new(frames * 4);
        aout_attach(ao[i], r[i]);
        assert_int_equal(ring_write(r[i], pcm, frames * 4, 4), frames * 4);
        aout_set_feed(ao[i], AOUT_FEED_RUNNING, 0);
    }
    uint64_t t0 = testutil_now_ns();
    for (int i = 0; i < 2; i++)
        assert_int_equal(aout_start(ao[i]), 0);
    nap_ms(500);
    for (int i = 0; i < 2; i++)
        assert_int_equal(aout_stop(ao[i]), 0);
    double took = (double)(testutil_now_ns() - t0) / 1e9;
    for (int i = 0; i < 2; i++) {
        struct aout_stats st;
        aout_get_stats(ao[i], &st);
        double expected = took * 44100 * speeds[i];
        assert_true(st.frames_played > 0);
        assert_true((double)st.frames_played < 4 * expected);
        assert_int_equal((st.frames_played + st.silence_frames) % (882 * speeds[i]), 0);
        /* what was taken is the ring's audio, in order */
        assert_int_equal(ring_readable(r[i]), (frames - st.frames_played) * 4);
        aout_free(ao[i]);
        ring_free(r[i]);
    }
    free(pcm);
}

/* Twenty bench outputs started at once are paced by one thread, which
 * ends when the last one stops. */
static void test_bench_one_thread(void **state)
{
    enum { N = 20 };
    struct bench_out out[N];
    int before = count_threads();
    for (int i = 0; i < N; i++)
        bench_out_start(&out[i], "bench");
    assert_int_equal(count_threads(), before + 1);
    for (int i = 0; i < N; i++)
        assert_true(renders_past(out[i].ao, 0));
    assert_int_equal(count_threads(), before + 1);
    for (int i = 0; i < N; i++)
        bench_out_free(&out[i]);
    /* joined; the kernel may list the task a moment longer */
    uint64_t t0 = testutil_now_ns();
    while (count_threads() != before && testutil_now_ns() - t0 < 5000000000ull)
        nap_ms(2);
    assert_int_equal(count_threads(), before);
}

/* An empty ring while RUNNING, at a tick: one underrun, as a sound card
 * counts it, and silence for as long as it stays empty. */
static void test_bench_underrun(void **state)
{
    struct aout *ao = open_sink("bench", AOUT_S16);
    struct ring *r = ring_new(1 << 16);
    aout_attach(ao, r);
    aout_set_feed(ao, AOUT_FEED_RUNNING, 0);
    assert_int_equal(aout_start(ao), 0);
    struct aout_stats st;
    uint64_t t0 = testutil_now_ns();
    do {
        nap_ms(2);
        aout_get_stats(ao, &st);
    } while (st.underruns == 0 && testutil_now_ns() - t0 < 5000000000ull);
    assert_int_equal(st.underruns, 1);
    uint64_t silence = st.underrun_frames;
    assert_true(silence > 0);
    assert_true(renders_past(ao, rendered(ao)));
    aout_get_stats(ao, &st);
    assert_int_equal(st.underruns, 1); /* still the same episode */
    assert_true(st.underrun_frames > silence);
    assert_int_equal(st.frames_played, 0);
    aout_free(ao);
    ring_free(r);
}

/* Stopping and freeing one output while the clock ticks the others:
 * they keep going; a stopped output is not rendered again; the last stop
 * ends the clock and the next start begins a new one. */
static void test_bench_stop_while_running(void **state)
{
    struct bench_out a, b, c;
    bench_out_start(&a, "bench");
    bench_out_start(&b, "bench:2");
    bench_out_start(&c, "bench");
    assert_true(renders_past(b.ao, 0));
    bench_out_free(&b);
    assert_true(renders_past(a.ao, rendered(a.ao)));
    assert_true(renders_past(c.ao, rendered(c.ao)));

    /* once stop returns, the clock no longer touches it */
    assert_int_equal(aout_stop(c.ao), 0);
    uint64_t c_frames = rendered(c.ao);
    assert_true(renders_past(a.ao, rendered(a.ao) + 882));
    assert_int_equal(rendered(c.ao), c_frames);

    /* the last one out, then a start: a new clock */
    int with_clock = count_threads();
    assert_int_equal(aout_stop(a.ao), 0);
    assert_int_equal(aout_start(c.ao), 0);
    assert_true(renders_past(c.ao, c_frames));
    assert_true(count_threads() <= with_clock + 1); /* the old one may still be leaving */
    bench_out_free(&c);
    bench_out_free(&a);
}

/* Engines start and stop their outputs from their own threads: every
 * stop may retire the clock and every start spawn one, concurrently. */
#define CHURN_THREADS 4
#define CHURN_ROUNDS  100

static void *churn(void *arg)
{
    struct aout *ao = arg;
    for (int i = 0; i < CHURN_ROUNDS; i++) {
        if (aout_start(ao) != 0 || aout_stop(ao) != 0)
            return ao;
    }
    return NULL;
}

static void test_bench_concurrent_start_stop(void **state)
{
    struct bench_out steady;
    bench_out_start(&steady, "bench");
    struct bench_out out[CHURN_THREADS];
    pthread_t th[CHURN_THREADS];
    for (int i = 0; i < CHURN_THREADS; i++) {
        bench_out_start(&out[i], "bench");
        assert_int_equal(aout_stop(out[i].ao), 0);
    }
    /* with the steady one running, and then without it */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < CHURN_THREADS; i++)
            assert_int_equal(pthread_create(&th[i], NULL, churn, out[i].ao), 0);
        for (int i = 0; i < CHURN_THREADS; i++) {
            void *failed = (void *)1;
            pthread_join(th[i], &failed);
            assert_null(failed);
        }
        if (pass == 0)
            assert_int_equal(aout_stop(steady.ao), 0);
    }
    /* the clock still works */
    assert_int_equal(aout_start(steady.ao), 0);
    assert_true(renders_past(steady.ao, rendered(steady.ao)));
    for (int i = 0; i < CHURN_THREADS; i++)
        bench_out_free(&out[i]);
    bench_out_free(&steady);
}

/* Sends stderr to path; returns the saved descriptor for stderr_restore. */
static int stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    return saved;
}

/* Puts stderr back and returns how many bytes reached path meanwhile
 * (printing them, to show what leaked). */
static size_t stderr_restore(int saved, const char *path)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t len;
    char *text = testutil_read_file(path, &len);
    if (len)
        fprintf(stderr, "stderr got: %.*s\n", (int)len, text);
    free(text);
    return len;
}

/* A named PortAudio device that does not exist: the fallback to null,
 * with a message saying why, and not a byte on stderr. */
static void test_portaudio_fallback(void **state)
{
    char *errpath = xasprintf("%s/stderr.txt", tmpdir);
    int saved = stderr_to(errpath);

    struct aout_config cfg = {.spec = "portaudio:no-such-device-here", .fallback = true};
    struct aout *ao = NULL;
    int r = aout_open(&cfg, &ao);
    cfg.fallback = false;
    struct aout *ao2 = NULL;
    int r2 = aout_open(&cfg, &ao2);

    size_t leaked = stderr_restore(saved, errpath);
    assert_int_equal(r, 0);
    assert_string_equal(aout_name(ao), "null");
    assert_non_null(aout_notice(ao));
    assert_non_null(strstr(aout_notice(ao), "null output"));
    aout_free(ao);
    assert_int_equal(r2, AOUT_ENODEV);
    assert_int_equal(leaked, 0);
    free(errpath);
}

/* The real PortAudio path: ALSA's default device is the file plugin set up
 * in main(). The sink plays a sine; the file must hold exactly those
 * samples, possibly after leading and before trailing silence (PortAudio
 * starts and stops the device with zeros). Tolerance: none — f32 at
 * volume 100 is a plain copy, and the file plugin writes what it gets. */
static void test_portaudio_alsa_file(void **state)
{
    char *errpath = xasprintf("%s/stderr-pa.txt", tmpdir);
    int saved = stderr_to(errpath);
    struct aout_config cfg = {.spec = "portaudio", .format = {44100, 2, AOUT_F32}};
    struct aout *ao = NULL;
    int r = aout_open(&cfg, &ao);
    size_t leaked = stderr_restore(saved, errpath);
    free(errpath);
    assert_int_equal(r, 0);
    assert_string_equal(aout_name(ao), "portaudio");
    assert_int_equal(aout_get_format(ao)->rate, 44100);
    assert_int_equal(leaked, 0); /* the ALSA/JACK chatter was silenced */

    size_t frames = 44100 / 2;
    float *pcm = xmalloc(frames * 8);
    for (size_t i = 0; i < frames; i++) {
        pcm[2 * i] = (float)(0.5 * sin(2 * M_PI * 440.0 * (double)i / 44100.0));
        pcm[2 * i + 1] = -pcm[2 * i];
    }
    struct ring *ring = ring_new(frames * 8);
    aout_attach(ao, ring);
    /* the null slave has no clock (it takes data as fast as it comes), so
     * the whole clip is buffered before the output starts */
    assert_int_equal(ring_write(ring, pcm, frames * 8, 8), frames * 8);
    aout_set_feed(ao, AOUT_FEED_DRAINING, 0);
    assert_int_equal(aout_start(ao), 0);
    struct aout_stats st;
    uint64_t t0 = testutil_now_ns();
    do {
        nap_ms(2);
        aout_get_stats(ao, &st);
    } while (st.frames_played < frames && testutil_now_ns() - t0 < 10000000000ull);
    assert_int_equal(st.frames_played, frames);
    assert_int_equal(st.underruns, 0);
    aout_free(ao);
    ring_free(ring);

    size_t len;
    float *raw = testutil_read_file(alsa_out, &len);
    size_t n = len / 8;
    size_t lead = 0;
    while (lead < n && raw[2 * lead] == 0.0f && raw[2 * lead + 1] == 0.0f)
        lead++;
    assert_true(n >= lead + frames);
    /* the sine starts at 0 in the left channel, so compare from frame 1 */
    assert_true(lead >= 1);
    assert_memory_equal(raw + 2 * (lead - 1), pcm, frames * 8);
    for (size_t i = lead - 1 + frames; i < n; i++)
        assert_true(raw[2 * i] == 0.0f && raw[2 * i + 1] == 0.0f);
    free(raw);
    free(pcm);
}

int main(void)
{
    tmpdir = testutil_tempdir("test_sink");
    /* Before PortAudio first loads ALSA's configuration. */
    char *conf = xasprintf("%s/asound.conf", tmpdir);
    alsa_out = xasprintf("%s/alsa-out.raw", tmpdir);
    char *text = xasprintf("pcm.!default {\n"
                           "    type file\n"
                           "    slave.pcm { type null }\n"
                           "    file \"%s\"\n"
                           "    format \"raw\"\n"
                           "}\n",
                           alsa_out);
    testutil_write_file(conf, text, strlen(text));
    setenv("ALSA_CONFIG_PATH", conf, 1);
    free(text);
    free(conf);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_rules),
        cmocka_unit_test(test_flush_while_not_playing),
        cmocka_unit_test(test_volume),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_wav_s16),
        cmocka_unit_test(test_wav_f32),
        cmocka_unit_test(test_null_pace),
        cmocka_unit_test(test_bench_pace),
        cmocka_unit_test(test_bench_one_thread),
        cmocka_unit_test(test_bench_underrun),
        cmocka_unit_test(test_bench_stop_while_running),
        cmocka_unit_test(test_bench_concurrent_start_stop),
        cmocka_unit_test(test_portaudio_fallback),
        cmocka_unit_test(test_portaudio_alsa_file),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    testutil_rmtree(tmpdir);
    free(tmpdir);
    free(alsa_out);
    return failed;
}
