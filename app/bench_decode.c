/* chorus-bench decode: how fast the decoder pipeline runs and what a
 * playing track costs.
 *
 * The track is a synthesised song transcoded to the content format (Ogg
 * Vorbis q5), or any audio file given with --file, encrypted with a fresh
 * key and served from memory through a track stream, as the cache would
 * serve it. Three measurements, printed, never asserted:
 *  - unpaced: decoded into wav:/dev/null as fast as possible; decode speed
 *    as a multiple of real time, by wall clock and by decoder-thread CPU;
 *  - time to first audio with every chunk present (dec_play -> first
 *    sample handed to the output);
 *  - real time: played through the null output; process CPU per second
 *    of music, i.e. the CPU cost of one playing track, and underruns. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/decoder.h"
#include "audio/sink.h"
#include "audio/synth.h"
#include "audio/track_stream.h"
#include "audio/transcode.h"
#include "bench_commands.h"
#include "base/content_crypto.h"
#include "base/fsutil.h"
#include "base/manifest.h"
#include "base/xmalloc.h"

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool queue_end;
    struct dec_track_figures fig;
    int64_t ttfa_ns;
    int error;
};

static void on_event(void *ctx, const struct dec_event *ev)
{
    struct waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    if (ev->type == DEC_EV_TRACK_END)
        w->fig = ev->figures;
    else if (ev->type == DEC_EV_STARTED)
        w->ttfa_ns = ev->ttfa_ns;
    else if (ev->type == DEC_EV_ERROR)
        w->error = ev->error;
    else if (ev->type == DEC_EV_QUEUE_END)
        w->queue_end = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct run {
    double wall_s, process_cpu_s;
    struct dec_track_figures fig;
    int64_t ttfa_ns;
    uint64_t underruns;
};

/* Plays the encrypted file once through spec, to its end or for limit_s
 * seconds (0: no limit); 0 or -1. */
static int play_once(const char *spec, const uint8_t *enc, size_t len,
                     const struct content_key *key, double limit_s, struct run *out)
{
    struct aout_config ac = {.spec = spec, .format = {44100, 2, AOUT_F32}};
    struct aout *ao;
    int err = aout_open(&ac, &ao);
    if (err < 0) {
        fprintf(stderr, "chorus-bench decode: output %s: %s\n", spec, aout_strerror(err));
        return -1;
    }
    struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    /* unpaced: a long ring, so the decoder rarely waits for the output */
    struct dec_config dc = {
        .out = ao, .buffer_ms = limit_s > 0 ? 0 : 10000, .on_event = on_event, .event_ctx = &w};
    struct dec *d;
    if ((err = dec_new(&dc, &d)) < 0) {
        fprintf(stderr, "chorus-bench decode: %s\n", dec_strerror(err));
        aout_free(ao);
        return -1;
    }
    struct tstream_mem *m = tstream_mem_new(enc, len, 0, true);
    struct tstream_config tc = {.file_size = len, .key = *key};
    tstream_source_mem(m, &tc.ops, &tc.ctx);
    tstream_mem_unref(m);
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    dec_play(d, tstream_new(&tc), 1, 0);
    pthread_mutex_lock(&w.mu);
    while (!w.queue_end && (limit_s <= 0 || now_s(CLOCK_MONOTONIC) - w0 < limit_s)) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += 20000000;
        if (dl.tv_nsec >= 1000000000) {
            dl.tv_nsec -= 1000000000;
            dl.tv_sec++;
        }
        pthread_cond_timedwait(&w.cond, &w.mu, &dl);
    }
    bool ended = w.queue_end;
    pthread_mutex_unlock(&w.mu);
    struct dec_status st;
    dec_get_status(d, &st);
    struct dec_figures f;
    dec_get_figures(d, &f);
    out->wall_s = now_s(CLOCK_MONOTONIC) - w0;
    out->process_cpu_s = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    out->fig = w.fig;
    if (!ended) { /* stopped early: the figures so far */
        out->fig.position_ms = st.position_ms;
        out->fig.decode_cpu_ns = f.decode_cpu_ns;
    }
    out->ttfa_ns = w.ttfa_ns;
    out->underruns = f.underruns;
    dec_free(d);
    aout_free(ao);
    if (w.error) {
        fprintf(stderr, "chorus-bench decode: the track failed: %s\n", dec_strerror(w.error));
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: chorus-bench decode [--file FILE] [--seconds S] [--repeat N] "
               "[--realtime S]\n"
               "Measures the decoder pipeline: decode speed as a multiple of real time,\n"
               "time to first audio, and the CPU one playing track costs.\n"
               "  -f, --file FILE    decode FILE (any format) instead of a synthesised song\n"
               "  -s, --seconds S    length of the synthesised song (default 30)\n"
               "  -n, --repeat N     unpaced runs (default 5)\n"
               "  -r, --realtime S   seconds of real-time play through the null output\n"
               "                     (default 5; 0 skips it)\n"
               "  -h, --help         this text\n");
}

/* Loads the track: the file as it is, or a synthesised song in the
 * content format. Returns the bytes (owned) or NULL. */
static uint8_t *load_track(const char *file, double seconds, size_t *len, char *what, size_t wl)
{
    char tmp[] = "/tmp/chorus-bench-decode-XXXXXX";
    bool made = false;
    if (!file) {
        struct synth_song *song;
        if (synth_render(7, seconds, 44100, &song) < 0) {
            fprintf(stderr, "chorus-bench decode: synthesis failed\n");
            return NULL;
        }
        int fd = mkstemp(tmp);
        if (fd < 0) {
            perror("chorus-bench decode: mkstemp");
            synth_song_free(song);
            return NULL;
        }
        close(fd);
        made = true;
        int r = transcode_encode_pcm(song->pcm, song->frames, song->sample_rate, song->channels,
                                     NULL, TRANSCODE_OGG_VORBIS, tmp);
        snprintf(what, wl, "a synthesised %.0f s song (%s, %s), Ogg Vorbis q5", seconds, song->key,
                 song->lead);
        synth_song_free(song);
        if (r < 0) {
            fprintf(stderr, "chorus-bench decode: encoding failed: %s\n", transcode_strerror(r));
            unlink(tmp);
            return NULL;
        }
        file = tmp;
    } else {
        snprintf(what, wl, "%s", file);
    }
    uint8_t *data = NULL;
    int r = fs_read_file(file, MANIFEST_MAX_FILE_SIZE, &data, len);
    if (r < 0)
        fprintf(stderr, "chorus-bench decode: %s: %s\n", file, fs_strerror(r));
    if (made)
        unlink(tmp);
    return r < 0 ? NULL : data;
}

int bench_decode_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},   {"seconds", required_argument, NULL, 's'},
        {"repeat", required_argument, NULL, 'n'}, {"realtime", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    double seconds = 30, realtime = 5;
    int repeat = 5, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:s:n:r:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 's':
            seconds = strtod(optarg, &end);
            if (*end || seconds < SYNTH_MIN_SECONDS || seconds > SYNTH_MAX_SECONDS) {
                fprintf(stderr, "chorus-bench decode: --seconds: %g to %g\n", SYNTH_MIN_SECONDS,
                        SYNTH_MAX_SECONDS);
                return 2;
            }
            break;
        case 'n':
            repeat = (int)strtol(optarg, &end, 10);
            if (*end || repeat < 1 || repeat > 1000) {
                fprintf(stderr, "chorus-bench decode: --repeat: 1 to 1000\n");
                return 2;
            }
            break;
        case 'r':
            realtime = strtod(optarg, &end);
            if (*end || realtime < 0 || realtime > 600) {
                fprintf(stderr, "chorus-bench decode: --realtime: 0 to 600 seconds\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    char what[512];
    size_t len = 0;
    uint8_t *data = load_track(file, seconds, &len, what, sizeof(what));
    if (!data)
        return 1;
    struct content_key key;
    if (content_key_generate(&key) < 0 || content_crypt(&key, 0, data, data, len) < 0) {
        free(data);
        return 1;
    }

    double *wall = xcalloc((size_t)repeat, sizeof(double));
    double *cpu = xcalloc((size_t)repeat, sizeof(double));
    double *ttfa = xcalloc((size_t)repeat, sizeof(double));
    double audio_s = 0;
    int status = 0;
    for (int i = 0; i < repeat && status == 0; i++) {
        struct run r;
        if (play_once("wav:/dev/null", data, len, &key, 0, &r) < 0) {
            status = 1;
            break;
        }
        audio_s = (double)r.fig.position_ms / 1000.0;
        wall[i] = r.wall_s;
        cpu[i] = (double)r.fig.decode_cpu_ns / 1e9;
        ttfa[i] = (double)r.ttfa_ns / 1e6;
    }
    if (status == 0 && audio_s > 0) {
        qsort(wall, (size_t)repeat, sizeof(double), cmp_double);
        qsort(cpu, (size_t)repeat, sizeof(double), cmp_double);
        qsort(ttfa, (size_t)repeat, sizeof(double), cmp_double);
        double mw = wall[repeat / 2], mc = cpu[repeat / 2];
        printf("track: %s: %.1f s, %zu bytes (%.0f kbit/s)\n", what, audio_s, len,
               (double)len * 8 / audio_s / 1000);
        printf("unpaced decode (wav:/dev/null, %d runs, median): wall %.3f s = %.0fx real "
               "time; decoder thread CPU %.3f s = %.0fx real time\n",
               repeat, mw, audio_s / mw, mc, audio_s / mc);
        printf("decoder CPU per playing track: %.2f%% of one core\n", 100.0 * mc / audio_s);
        printf("time to first audio, all chunks present: median %.1f ms, min %.1f ms, max %.1f "
               "ms\n",
               ttfa[repeat / 2], ttfa[0], ttfa[repeat - 1]);
    }
    if (status == 0 && realtime > 0) {
        /* the first seconds of the track, as long as asked */
        struct run r;
        if (play_once("null", data, len, &key, realtime, &r) < 0) {
            status = 1;
        } else {
            double played = (double)r.fig.position_ms / 1000.0;
            printf("real time (null output, %.1f s played in %.1f s): process CPU %.3f s = "
                   "%.2f%% of one core per playing track (decoder thread %.2f%%, ahead of "
                   "the output); "
                   "underruns %llu\n",
                   played, r.wall_s, r.process_cpu_s, 100.0 * r.process_cpu_s / r.wall_s,
                   100.0 * (double)r.fig.decode_cpu_ns / 1e9 / r.wall_s,
                   (unsigned long long)r.underruns);
        }
    }
    free(wall);
    free(cpu);
    free(ttfa);
    free(data);
    return status;
}
