/* sink: the output object shared by every backend (see sink.h).
 *
 * Owns the backend instance and the state the producer (decoder thread)
 * shares with the backend's audio thread: feed state, pause, volume and the
 * counters, all atomics. aout_render/aout_take run on the audio thread:
 * they must never lock, allocate, log or do I/O (clock_gettime on
 * CLOCK_MONOTONIC is a vDSO read, no system call). Everything else runs on
 * the owner's thread. */
#include "audio/sink.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/ring.h"
#include "base/log.h"
#include "base/xmalloc.h"

#define GAIN_UNITY 65536u /* Q16 fixed point */

struct aout {
    const struct aout_backend *backend;
    void *state;
    struct aout_format fmt;
    size_t bpf;
    char *notice;
    struct ring *ring;
    bool started;

    _Atomic unsigned gain_q16; /* target gain */
    _Atomic int volume;
    _Atomic bool paused;
    _Atomic uint64_t hold_req, hold_done;
    _Atomic int feed;
    _Atomic size_t rebuffer;
    _Atomic uint64_t frames_played, silence_frames, underruns, underrun_frames, first_ns;

    /* audio thread only */
    unsigned cur_gain_q16;
    bool starved;
};

size_t aout_frame_bytes(const struct aout_format *f)
{
    return (size_t)f->channels * (f->sample == AOUT_S16 ? 2 : 4);
}

static const struct aout_backend *find_backend(const char *spec, const char **arg)
{
    static const struct aout_backend *const all[] = {&aout_backend_portaudio, &aout_backend_null,
                                                     &aout_backend_bench, &aout_backend_wav};
    if (!spec || !*spec)
        spec = "portaudio";
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        size_t n = strlen(all[i]->name);
        if (strncmp(spec, all[i]->name, n) != 0)
            continue;
        if (spec[n] == '\0') {
            *arg = NULL;
            return all[i];
        }
        if (spec[n] == ':') {
            *arg = spec + n + 1;
            return all[i];
        }
    }
    return NULL;
}

static struct aout *aout_alloc(const struct aout_backend *b, const struct aout_format *want)
{
    struct aout *ao = xcalloc(1, sizeof(*ao));
    ao->backend = b;
    ao->fmt = *want;
    if (ao->fmt.rate == 0)
        ao->fmt.rate = 44100;
    if (ao->fmt.channels == 0)
        ao->fmt.channels = 2;
    atomic_init(&ao->gain_q16, GAIN_UNITY);
    atomic_init(&ao->volume, 100);
    atomic_init(&ao->paused, false);
    atomic_init(&ao->hold_req, 0);
    atomic_init(&ao->hold_done, 0);
    atomic_init(&ao->feed, AOUT_FEED_IDLE);
    atomic_init(&ao->rebuffer, 0);
    atomic_init(&ao->frames_played, 0);
    atomic_init(&ao->silence_frames, 0);
    atomic_init(&ao->underruns, 0);
    atomic_init(&ao->underrun_frames, 0);
    atomic_init(&ao->first_ns, 0);
    ao->cur_gain_q16 = GAIN_UNITY;
    return ao;
}

static int backend_open(struct aout *ao, const char *arg, struct clog *log)
{
    int err = ao->backend->open(ao, arg, &ao->fmt, log, &ao->state);
    if (err == 0)
        ao->bpf = aout_frame_bytes(&ao->fmt);
    return err;
}

int aout_open(const struct aout_config *cfg, struct aout **out)
{
    *out = NULL;
    const char *arg = NULL;
    const struct aout_backend *b = find_backend(cfg->spec, &arg);
    if (!b) {
        clog_error(cfg->log, "audio",
                   "unknown output \"%s\" (use portaudio, null, bench or wav:FILE)", cfg->spec);
        return AOUT_EINVAL;
    }
    if (cfg->format.channels > 8 ||
        (cfg->format.sample != AOUT_S16 && cfg->format.sample != AOUT_F32))
        return AOUT_EINVAL;
    struct aout *ao = aout_alloc(b, &cfg->format);
    int err = backend_open(ao, arg, cfg->log);
    if (err < 0 && b == &aout_backend_portaudio && cfg->fallback) {
        ao->notice = xasprintf("no usable audio device (%s): playing to the null output",
                               aout_strerror(err));
        clog_warn(cfg->log, "audio", "%s", ao->notice);
        ao->backend = &aout_backend_null;
        ao->fmt = cfg->format;
        ao->fmt.rate = ao->fmt.rate ? ao->fmt.rate : 44100;
        ao->fmt.channels = ao->fmt.channels ? ao->fmt.channels : 2;
        err = backend_open(ao, NULL, cfg->log);
    }
    if (err < 0) {
        free(ao->notice);
        free(ao);
        return err;
    }
    clog_info(cfg->log, "audio", "output %s: %u Hz, %u channels, %s", ao->backend->name,
              ao->fmt.rate, ao->fmt.channels, ao->fmt.sample == AOUT_S16 ? "s16" : "f32");
    *out = ao;
    return 0;
}

void aout_free(struct aout *ao)
{
    if (!ao)
        return;
    aout_stop(ao);
    ao->backend->close(ao->state);
    free(ao->notice);
    free(ao);
}

const char *aout_name(const struct aout *ao)
{
    return ao->backend->name;
}

const struct aout_format *aout_get_format(const struct aout *ao)
{
    return &ao->fmt;
}

const char *aout_notice(const struct aout *ao)
{
    return ao->notice;
}

int aout_attach(struct aout *ao, struct ring *ring)
{
    if (ao->started)
        return AOUT_ESTATE;
    ao->ring = ring;
    return 0;
}

int aout_start(struct aout *ao)
{
    if (ao->started)
        return 0;
    if (!ao->ring)
        return AOUT_ESTATE;
    ao->starved = false;
    int err = ao->backend->start(ao->state);
    if (err == 0)
        ao->started = true;
    return err;
}

int aout_stop(struct aout *ao)
{
    if (!ao->started)
        return 0;
    ao->started = false;
    return ao->backend->stop(ao->state);
}

void aout_set_volume(struct aout *ao, int percent)
{
    percent = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    double g = pow(percent / 100.0, 3.0);
    atomic_store(&ao->volume, percent);
    atomic_store_explicit(&ao->gain_q16, (unsigned)lround(g * GAIN_UNITY), memory_order_relaxed);
}

int aout_get_volume(const struct aout *ao)
{
    return atomic_load(&ao->volume);
}

void aout_set_paused(struct aout *ao, bool paused)
{
    atomic_store(&ao->paused, paused);
}

bool aout_is_paused(const struct aout *ao)
{
    return atomic_load(&ao->paused);
}

uint64_t aout_hold(struct aout *ao)
{
    return atomic_fetch_add(&ao->hold_req, 1) + 1;
}

void aout_release(struct aout *ao, uint64_t ticket)
{
    uint64_t done = atomic_load(&ao->hold_done);
    while (done < ticket && !atomic_compare_exchange_weak(&ao->hold_done, &done, ticket))
        ;
}

void aout_set_feed(struct aout *ao, enum aout_feed feed, size_t rebuffer_bytes)
{
    atomic_store_explicit(&ao->rebuffer, rebuffer_bytes, memory_order_relaxed);
    if (feed == AOUT_FEED_IDLE || atomic_load(&ao->feed) == AOUT_FEED_IDLE)
        atomic_store(&ao->first_ns, 0);
    atomic_store_explicit(&ao->feed, feed, memory_order_release);
}

enum aout_feed aout_get_feed(const struct aout *ao)
{
    return (enum aout_feed)atomic_load(&ao->feed);
}

void aout_get_stats(const struct aout *ao, struct aout_stats *out)
{
    out->frames_played = atomic_load_explicit(&ao->frames_played, memory_order_relaxed);
    out->silence_frames = atomic_load_explicit(&ao->silence_frames, memory_order_relaxed);
    out->underruns = atomic_load_explicit(&ao->underruns, memory_order_relaxed);
    out->underrun_frames = atomic_load_explicit(&ao->underrun_frames, memory_order_relaxed);
    out->first_audio_ns = atomic_load(&ao->first_ns);
}

/* ---- audio thread ---- */

/* Paused or held: output nothing from the ring. */
static bool stopped(struct aout *ao)
{
    return atomic_load_explicit(&ao->paused, memory_order_relaxed) ||
           atomic_load(&ao->hold_req) != atomic_load(&ao->hold_done);
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Applies the gain to frames frames, ramping linearly from the gain of
 * the previous buffer to the current target. */
static void apply_gain(struct aout *ao, void *buf, size_t frames)
{
    unsigned target = atomic_load_explicit(&ao->gain_q16, memory_order_relaxed);
    unsigned from = ao->cur_gain_q16;
    ao->cur_gain_q16 = target;
    if (from == GAIN_UNITY && target == GAIN_UNITY)
        return;
    unsigned ch = ao->fmt.channels;
    double step = ((double)target - from) / (double)frames;
    for (size_t i = 0; i < frames; i++) {
        double g = (from + step * (double)(i + 1)) / GAIN_UNITY;
        if (ao->fmt.sample == AOUT_F32) {
            float *s = (float *)buf + i * ch;
            for (unsigned c = 0; c < ch; c++)
                s[c] = (float)(s[c] * g);
        } else {
            int16_t *s = (int16_t *)buf + i * ch;
            int64_t q = (int64_t)(g * GAIN_UNITY + 0.5);
            for (unsigned c = 0; c < ch; c++)
                s[c] = (int16_t)((s[c] * q + 32768) >> 16);
        }
    }
}

static void stamp_first(struct aout *ao)
{
    if (atomic_load_explicit(&ao->first_ns, memory_order_relaxed) != 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    atomic_store(&ao->first_ns, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* Not taking audio (idle, paused, held): still drop what the producer
 * flushed. Only the consumer may move the read position, and until it
 * does the producer cannot reuse that space: with a full ring, a seek or
 * a new track would otherwise never get its first audio in. */
static void discard_flushed(struct aout *ao)
{
    if (ao->ring)
        ring_readable(ao->ring);
}

size_t aout_render(struct aout *ao, void *out, size_t frames)
{
    size_t bpf = ao->bpf, got = 0;
    int feed = atomic_load_explicit(&ao->feed, memory_order_acquire);
    bool play = ao->ring && feed != AOUT_FEED_IDLE && !stopped(ao);
    if (!play)
        discard_flushed(ao);
    if (play && ao->starved) {
        /* After an underrun, wait for a cushion before playing again so
         * one starvation is one gap, not a stutter of tiny ones. */
        size_t need = atomic_load_explicit(&ao->rebuffer, memory_order_relaxed);
        if (need < bpf)
            need = bpf;
        if (feed == AOUT_FEED_RUNNING && ring_readable(ao->ring) < need) {
            memset(out, 0, frames * bpf);
            count(&ao->silence_frames, frames);
            count(&ao->underrun_frames, frames);
            return 0;
        }
        ao->starved = false;
    }
    if (play)
        got = ring_read(ao->ring, out, frames * bpf, bpf) / bpf;
    if (got > 0) {
        apply_gain(ao, out, got);
        count(&ao->frames_played, got);
        stamp_first(ao);
    }
    if (got < frames) {
        size_t missing = frames - got;
        memset((uint8_t *)out + got * bpf, 0, missing * bpf);
        count(&ao->silence_frames, missing);
        if (play && feed == AOUT_FEED_RUNNING) {
            if (!ao->starved)
                count(&ao->underruns, 1);
            ao->starved = true;
            count(&ao->underrun_frames, missing);
        }
    }
    return got;
}

size_t aout_take(struct aout *ao, void *out, size_t max_frames)
{
    int feed = atomic_load_explicit(&ao->feed, memory_order_acquire);
    if (!ao->ring || feed == AOUT_FEED_IDLE || stopped(ao)) {
        discard_flushed(ao);
        return 0;
    }
    size_t got = ring_read(ao->ring, out, max_frames * ao->bpf, ao->bpf) / ao->bpf;
    if (got > 0) {
        apply_gain(ao, out, got);
        count(&ao->frames_played, got);
        stamp_first(ao);
    }
    return got;
}

const char *aout_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case AOUT_EINVAL:
        return "unknown output or bad format";
    case AOUT_ENODEV:
        return "no usable output device";
    case AOUT_EDEVICE:
        return "the output device failed";
    case AOUT_ESTATE:
        return "the output is in the wrong state for this";
    default:
        return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
    }
}
