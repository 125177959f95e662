/* sink_null: the null output — discards audio, paced in real time, or
 * SPEED times faster ("null:SPEED", 1..64: tests and the benchmark play a
 * three-minute track in a fraction of that while every time the engine
 * reckons in — positions, the prefetch, the service's window — stays
 * track time).
 *
 * Owns one thread that wakes every period on absolute CLOCK_MONOTONIC
 * deadlines (pace.h: the pace does not drift with scheduling delays, and
 * restarts instead of bursting when far behind) and pulls one period
 * through aout_render, like a sound card would. One thread per output:
 * for hundreds of outputs in one process, see sink_bench. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "audio/sink.h"
#include "base/xmalloc.h"
#include "pace.h"

#define NULL_PERIOD_MS 10

struct null_sink {
    struct aout *ao;
    size_t period_frames;
    void *buf;
    pthread_t thread;
    bool running;
    _Atomic bool stop;
};

static void *null_thread(void *arg)
{
    struct null_sink *s = arg;
    struct pace pace;
    pace_init(&pace, NULL_PERIOD_MS * 1000000L);
    while (!atomic_load(&s->stop)) {
        aout_render(s->ao, s->buf, s->period_frames);
        pace_next(&pace);
        pace_sleep(&pace);
    }
    return NULL;
}

static int null_open(struct aout *ao, const char *arg, struct aout_format *fmt, struct clog *log,
                     void **state)
{
    unsigned speed;
    int err = pace_parse_speed(arg, &speed);
    if (err)
        return err;
    struct null_sink *s = xcalloc(1, sizeof(*s));
    s->ao = ao;
    s->period_frames = fmt->rate * NULL_PERIOD_MS / 1000 * speed;
    s->buf = xmalloc(s->period_frames * aout_frame_bytes(fmt));
    atomic_init(&s->stop, false);
    *state = s;
    return 0;
}

static int null_start(void *state)
{
    struct null_sink *s = state;
    atomic_store(&s->stop, false);
    int err = pthread_create(&s->thread, NULL, null_thread, s);
    if (err)
        return -err;
    s->running = true;
    return 0;
}

static int null_stop(void *state)
{
    struct null_sink *s = state;
    if (!s->running)
        return 0;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    s->running = false;
    return 0;
}

static void null_close(void *state)
{
    struct null_sink *s = state;
    null_stop(s);
    free(s->buf);
    free(s);
}

const struct aout_backend aout_backend_null = {
    .name = "null",
    .open = null_open,
    .start = null_start,
    .stop = null_stop,
    .close = null_close,
};
