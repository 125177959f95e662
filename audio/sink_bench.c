/* sink_bench: the bench output — discards audio in real time like null
 * ("bench", or "bench:SPEED" SPEED times as fast, 1..64), but every
 * started bench output in the process is paced by ONE shared clock
 * thread. chorus-bench swarm runs hundreds of engines in one process; with
 * a thread per output waking 100 times a second (sink_null) that would be
 * 20,000-50,000 wake-ups a second at 200-500 engines.
 *
 * Owns the process-wide registry of started bench outputs and its clock
 * thread. The thread is created when the first output starts and told to
 * quit (then joined) when the last one stops. Every BENCH_PERIOD_MS, on
 * absolute deadlines (pace.h: no drift, a restart instead of a burst when
 * far behind), it pulls one period (times SPEED) from each registered
 * output through aout_render, so an empty ring at a tick is counted as an
 * underrun exactly as with a sound card. It renders holding the registry's
 * mutex: aout_stop, which takes the mutex to unregister, then cannot
 * return while the clock may still render that output. aout_render never
 * blocks, so a tick holds the mutex a few microseconds per output.
 *
 * The period, 20 ms: the wake-ups no longer grow with the engines (50 a
 * second for the whole process), and it is a usual sound card period
 * (ALSA and PulseAudio default to 20-25 ms), so a ring must stay more
 * than one period ahead, as on a real device. Longer would not fit: at
 * bench:64 a tick takes 1.28 s of audio, within the decoder's default 2 s
 * ring (40 ms would take 2.56 s, an underrun at every tick); and the
 * first audio is stamped at the tick that takes it, so the measured time
 * to first audio is late by up to one period (10 ms on average, against
 * the 265 ms median the benchmark compares with).
 *
 * One scratch buffer for all outputs, sized to the largest period: the
 * clock renders the outputs one after the other and throws the audio
 * away, so one is enough, and a period at bench:64 (s16 stereo, 44.1 kHz)
 * is 225 KB — over 100 MB for 500 outputs with one buffer each. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "audio/sink.h"
#include "base/xmalloc.h"
#include "pace.h"

#define BENCH_PERIOD_MS 20

struct bench_sink {
    struct aout *ao;
    uint64_t frames_per_s; /* rate times SPEED */
    uint64_t carry;        /* thousandths of a frame owed from earlier ticks */
    size_t max_tick_bytes; /* the most one tick renders */
    bool started;          /* registered with the clock */
    struct bench_sink *prev, *next;
};

/* One clock thread; a retired one may still be on its way out while its
 * successor runs, so each has its own quit flag. */
struct clock_thread {
    pthread_t id;
    bool quit;
};

/* The registry: everything below is under lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* broadcast to tell a clock thread to quit */
    struct bench_sink *outputs;
    struct clock_thread *clock; /* running; NULL when no output is started */
    void *scratch;
    size_t scratch_bytes;
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void reg_init(void)
{
    /* The clock waits on absolute CLOCK_MONOTONIC deadlines. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&reg.wake, &attr);
    pthread_condattr_destroy(&attr);
}

/* The frames s takes this tick: its rate times the period, exactly on
 * average for any rate (44.1 kHz is 882 a tick; 11025 Hz alternates 220
 * and 221). */
static size_t tick_frames(struct bench_sink *s)
{
    s->carry += s->frames_per_s * BENCH_PERIOD_MS;
    size_t frames = (size_t)(s->carry / 1000);
    s->carry %= 1000;
    return frames;
}

static void render_all_locked(void)
{
    for (struct bench_sink *s = reg.outputs; s; s = s->next)
        aout_render(s->ao, reg.scratch, tick_frames(s));
}

static void *clock_main(void *arg)
{
    struct clock_thread *self = arg;
    struct pace pace;
    pace_init(&pace, BENCH_PERIOD_MS * 1000000L);
    pthread_mutex_lock(&reg.lock);
    while (!self->quit) {
        render_all_locked();
        const struct timespec *deadline = pace_next(&pace);
        /* 0: woken (a quit, or spuriously); anything else: the deadline */
        while (!self->quit && pthread_cond_timedwait(&reg.wake, &reg.lock, deadline) == 0)
            ;
    }
    pthread_mutex_unlock(&reg.lock);
    return NULL;
}

static int clock_spawn_locked(void)
{
    struct clock_thread *c = xcalloc(1, sizeof(*c));
    int err = pthread_create(&c->id, NULL, clock_main, c);
    if (err) {
        free(c);
        return -err;
    }
    reg.clock = c;
    return 0;
}

/* Stops the clock thread (it exits at its next look at the flag, which
 * is before it renders again); the caller joins it, unlocked. */
static struct clock_thread *clock_retire_locked(void)
{
    struct clock_thread *c = reg.clock;
    reg.clock = NULL;
    c->quit = true;
    pthread_cond_broadcast(&reg.wake);
    free(reg.scratch);
    reg.scratch = NULL;
    reg.scratch_bytes = 0;
    return c;
}

static void scratch_fit_locked(size_t bytes)
{
    if (bytes <= reg.scratch_bytes)
        return;
    reg.scratch = xrealloc(reg.scratch, bytes);
    reg.scratch_bytes = bytes;
}

static void link_locked(struct bench_sink *s)
{
    s->prev = NULL;
    s->next = reg.outputs;
    if (reg.outputs)
        reg.outputs->prev = s;
    reg.outputs = s;
}

static void unlink_locked(struct bench_sink *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        reg.outputs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static int bench_open(struct aout *ao, const char *arg, struct aout_format *fmt, struct clog *log,
                      void **state)
{
    unsigned speed;
    int err = pace_parse_speed(arg, &speed);
    if (err)
        return err;
    struct bench_sink *s = xcalloc(1, sizeof(*s));
    s->ao = ao;
    s->frames_per_s = (uint64_t)fmt->rate * speed;
    uint64_t max_frames = (s->frames_per_s * BENCH_PERIOD_MS + 999) / 1000;
    s->max_tick_bytes = (size_t)max_frames * aout_frame_bytes(fmt);
    *state = s;
    return 0;
}

static int bench_start(void *state)
{
    struct bench_sink *s = state;
    pthread_once(&reg_once, reg_init);
    pthread_mutex_lock(&reg.lock);
    int err = 0;
    if (!s->started && !reg.clock)
        err = clock_spawn_locked();
    if (!s->started && err == 0) {
        scratch_fit_locked(s->max_tick_bytes);
        link_locked(s);
        s->started = true;
    }
    pthread_mutex_unlock(&reg.lock);
    return err;
}

static int bench_stop(void *state)
{
    struct bench_sink *s = state;
    struct clock_thread *retired = NULL;
    pthread_mutex_lock(&reg.lock);
    if (s->started) {
        unlink_locked(s);
        s->started = false;
        if (!reg.outputs)
            retired = clock_retire_locked();
    }
    pthread_mutex_unlock(&reg.lock);
    if (retired) {
        pthread_join(retired->id, NULL);
        free(retired);
    }
    return 0;
}

static void bench_close(void *state)
{
    bench_stop(state);
    free(state);
}

const struct aout_backend aout_backend_bench = {
    .name = "bench",
    .open = bench_open,
    .start = bench_start,
    .stop = bench_stop,
    .close = bench_close,
};
