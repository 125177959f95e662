/* sink_wav: the wav:FILE output — records what would be played into a
 * RIFF WAVE file, as fast as the decoder produces it (unpaced).
 *
 * Owns the file and one thread that takes whatever the ring holds
 * (aout_take: no silence is invented, so the file is exactly the played
 * stream) and writes it; when nothing is there it naps 1 ms. The header is
 * written with zero sizes at open and fixed up with the real sizes when
 * the sink is stopped and at close, so a file is valid after a clean stop.
 * s16 is written as WAVE_FORMAT_PCM, f32 as WAVE_FORMAT_IEEE_FLOAT with a
 * fact chunk, as the format asks for non-PCM data. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audio/sink.h"
#include "base/log.h"
#include "base/xmalloc.h"

#define WAV_TAKE_FRAMES 4096

struct wav_sink {
    struct aout *ao;
    struct aout_format fmt;
    int fd;
    size_t header_len;
    uint64_t data_bytes;
    int write_err; /* first write error (-errno), reported at stop */
    void *buf;
    pthread_t thread;
    bool running;
    _Atomic bool stop;
    struct clog *log;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

/* Builds the header for data_bytes of data into h; returns its length. */
static size_t wav_header(const struct aout_format *f, uint64_t data_bytes, uint8_t h[64])
{
    bool flt = f->sample == AOUT_F32;
    uint32_t bpf = (uint32_t)aout_frame_bytes(f);
    uint32_t data = data_bytes > 0xffffff00u ? 0xffffff00u : (uint32_t)data_bytes;
    uint32_t fmt_len = flt ? 18 : 16;
    size_t len = 12 + 8 + fmt_len + (flt ? 12 : 0) + 8;
    memcpy(h, "RIFF", 4);
    put32(h + 4, (uint32_t)(len - 8 + data));
    memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, fmt_len);
    put16(h + 20, flt ? 3 : 1);
    put16(h + 22, (uint16_t)f->channels);
    put32(h + 24, f->rate);
    put32(h + 28, f->rate * bpf);
    put16(h + 32, (uint16_t)bpf);
    put16(h + 34, flt ? 32 : 16);
    uint8_t *p = h + 36;
    if (flt) {
        put16(p, 0); /* cbSize */
        memcpy(p + 2, "fact", 4);
        put32(p + 6, 4);
        put32(p + 10, data / bpf);
        p += 14;
    }
    memcpy(p, "data", 4);
    put32(p + 4, data);
    return len;
}

static int write_all(int fd, const void *buf, size_t len, off_t at)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = at >= 0 ? pwrite(fd, p, len, at) : write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        if (at >= 0)
            at += n;
    }
    return 0;
}

static void *wav_thread(void *arg)
{
    struct wav_sink *s = arg;
    size_t bpf = aout_frame_bytes(&s->fmt);
    while (!atomic_load(&s->stop)) {
        size_t n = aout_take(s->ao, s->buf, WAV_TAKE_FRAMES);
        if (n == 0) {
            struct timespec nap = {0, 1000000};
            nanosleep(&nap, NULL);
            continue;
        }
        int err = write_all(s->fd, s->buf, n * bpf, -1);
        if (err < 0 && s->write_err == 0)
            s->write_err = err;
        if (err == 0)
            s->data_bytes += n * bpf;
    }
    return NULL;
}

static int fix_header(struct wav_sink *s)
{
    uint8_t h[64];
    size_t len = wav_header(&s->fmt, s->data_bytes, h);
    return write_all(s->fd, h, len, 0);
}

static int wav_open(struct aout *ao, const char *arg, struct aout_format *fmt, struct clog *log,
                    void **state)
{
    if (!arg || !*arg)
        return AOUT_EINVAL;
    int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = -errno;
        clog_error(log, "audio", "wav output %s: %s", arg, strerror(-err));
        return err;
    }
    struct wav_sink *s = xcalloc(1, sizeof(*s));
    s->ao = ao;
    s->fmt = *fmt;
    s->fd = fd;
    s->log = log;
    s->buf = xmalloc(WAV_TAKE_FRAMES * aout_frame_bytes(fmt));
    atomic_init(&s->stop, false);
    uint8_t h[64];
    s->header_len = wav_header(fmt, 0, h);
    int err = write_all(fd, h, s->header_len, -1);
    if (err < 0) {
        clog_error(log, "audio", "wav output %s: %s", arg, strerror(-err));
        close(fd);
        free(s->buf);
        free(s);
        return err;
    }
    *state = s;
    return 0;
}

static int wav_start(void *state)
{
    struct wav_sink *s = state;
    atomic_store(&s->stop, false);
    int err = pthread_create(&s->thread, NULL, wav_thread, s);
    if (err)
        return -err;
    s->running = true;
    return 0;
}

static int wav_stop(void *state)
{
    struct wav_sink *s = state;
    if (!s->running)
        return 0;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    s->running = false;
    int err = fix_header(s);
    if (s->write_err < 0) {
        clog_error(s->log, "audio", "wav output: write failed: %s", strerror(-s->write_err));
        err = s->write_err;
    }
    return err;
}

static void wav_close(void *state)
{
    struct wav_sink *s = state;
    wav_stop(s);
    fix_header(s);
    close(s->fd);
    free(s->buf);
    free(s);
}

const struct aout_backend aout_backend_wav = {
    .name = "wav",
    .open = wav_open,
    .start = wav_start,
    .stop = wav_stop,
    .close = wav_close,
};
