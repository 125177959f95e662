/* decoder: the decoder thread (see decoder.h).
 *
 * Owns the thread, the PCM ring, the tracks (struct dtrack: a track stream
 * plus its libavformat/libavcodec/libswresample state) and the marks that
 * map ring positions to track positions. The tracks form a FIFO: the head
 * is the track being heard, the tail the one being decoded (the same one
 * except around a gapless join). The decoder thread alone opens, decodes
 * and frees tracks; list changes happen under `mu` so the controlling
 * thread can interrupt their streams. Commands are queued under `mu` and
 * run on the decoder thread in order.
 *
 * It must never block the controlling thread (a command only queues and
 * interrupts) and never touches the output's audio thread other than
 * through the ring and the aout atomics. Events are sent with no lock
 * held. */
#include "audio/decoder.h"

#include <errno.h>
#include <stdarg.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/ring.h"
#include "audio/sink.h"
#include "audio/track_stream.h"
#include "base/log.h"
#include "base/xmalloc.h"

#define AVIO_BUF_SIZE   16384
#define SEEK_PREROLL_MS 500 /* demuxer seeks land this much early, then decode up */
#define POLL_MS         10  /* how often a waiting decoder checks the output */
#define MAX_MARKS       8

enum cmd_type { CMD_PLAY, CMD_NEXT, CMD_SEEK, CMD_STOP };

struct cmd {
    struct cmd *next;
    enum cmd_type type;
    struct tstream *ts; /* PLAY, NEXT: owned by the command */
    uint64_t tag;
    int64_t ms;
    bool relative;
    uint64_t t_ns;   /* when it was issued */
    uint64_t ticket; /* the output hold it took, 0: none */
};

struct dtrack {
    struct dtrack *next;
    struct tstream *ts;
    uint64_t tag;
    uint32_t seq; /* distinguishes two plays of one tag */

    AVIOContext *avio;
    AVFormatContext *fmt;
    AVCodecContext *cc;
    AVPacket *pkt;
    AVFrame *frame;
    int si;
    AVRational tb;
    int64_t start_pts;
    int64_t duration_ms;

    SwrContext *swr;
    int swr_in_rate, swr_in_fmt;
    AVChannelLayout swr_in_layout;

    int64_t next_in;   /* input-rate index of the next decoded sample, -1 unknown */
    int64_t skip_to;   /* drop decoded samples before this input index */
    bool draining;     /* the demuxer hit the end: the decoder is being drained */
    bool eof;          /* every sample is decoded and converted */
    bool marked;       /* its first output has a mark */
    int64_t start_out; /* track position (output frames) of its first output */

    /* figures */
    int64_t ttfa_ns;
    uint64_t cpu_ns, decoded_frames;
    struct aout_stats at_start;
    bool started; /* being heard: at_start is valid */
};

struct mark {
    uint64_t ring_frame; /* from this ring frame on ... */
    uint64_t tag;
    uint32_t seq;
    int64_t track_frame; /* ... the output plays this frame of the track */
};

struct dec {
    struct aout *ao;
    struct aout_format of;
    size_t bpf;
    struct ring *ring;
    size_t prebuffer_bytes;
    dec_event_fn on_event;
    void *event_ctx;
    struct clog *log;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool quit;
    struct cmd *cmds, **cmds_tail;

    /* under mu: read by dec_get_status */
    struct dtrack *tracks;     /* head: heard; tail: decoding */
    struct dtrack *next_track; /* queued, not opened (stream + tag only) */
    struct mark marks[MAX_MARKS];
    int nmarks;
    struct dec_figures fig;

    /* decoder thread only */
    uint32_t seq;
    uint8_t *out_buf; /* converted PCM not yet in the ring */
    size_t out_cap, out_len, out_off;
    bool fed_all;       /* the end of the queue is in the ring */
    uint64_t play_t_ns; /* pending time-to-first-audio measurement, 0: none */
    uint64_t seek_t_ns; /* pending seek latency measurement */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t frames_to_ms(const struct dec *d, int64_t frames)
{
    return frames * 1000 / (int64_t)d->of.rate;
}

static void emit(struct dec *d, struct dec_event *ev)
{
    if (d->on_event)
        d->on_event(d->event_ctx, ev);
}

/* ---- tracks ---- */

static int avio_read_cb(void *opaque, uint8_t *buf, int size)
{
    struct dtrack *t = opaque;
    int n = tstream_read(t->ts, buf, (size_t)size);
    if (n == 0)
        return AVERROR_EOF;
    if (n == TSTREAM_EABORTED)
        return AVERROR_EXIT;
    return n < 0 ? AVERROR(EIO) : n;
}

static int64_t avio_seek_cb(void *opaque, int64_t offset, int whence)
{
    struct dtrack *t = opaque;
    if (whence & AVSEEK_SIZE)
        return (int64_t)tstream_size(t->ts);
    int64_t r = tstream_seek(t->ts, offset, whence & ~AVSEEK_FORCE);
    return r < 0 ? AVERROR(EINVAL) : r;
}

static int interrupt_cb(void *opaque)
{
    struct dtrack *t = opaque;
    return tstream_interrupted(t->ts);
}

static void watch(struct dec *d);

static void watch_hook(void *ctx)
{
    watch(ctx);
}

/* While a read of it waits for a chunk, the decoder keeps watching the
 * output: time to first audio, track boundaries. */
static struct dtrack *dtrack_new(struct dec *d, struct tstream *ts, uint64_t tag, uint32_t seq)
{
    struct dtrack *t = xcalloc(1, sizeof(*t));
    t->ts = ts;
    t->tag = tag;
    t->seq = seq;
    t->si = -1;
    t->duration_ms = -1;
    tstream_set_wait_hook(ts, watch_hook, d);
    return t;
}

/* Frees the libav state, keeping the stream (so the track can be opened
 * again from the start). */
static void dtrack_close(struct dtrack *t)
{
    swr_free(&t->swr);
    av_channel_layout_uninit(&t->swr_in_layout);
    av_frame_free(&t->frame);
    av_packet_free(&t->pkt);
    avcodec_free_context(&t->cc);
    avformat_close_input(&t->fmt);
    if (t->avio) {
        av_freep(&t->avio->buffer);
        avio_context_free(&t->avio);
    }
    t->si = -1;
}

static void dtrack_free(struct dtrack *t)
{
    if (!t)
        return;
    dtrack_close(t);
    tstream_free(t->ts);
    free(t);
}

/* Clears the error an interrupted read left in the AVIOContext. */
static void reset_io(struct dtrack *t)
{
    if (t->avio) {
        t->avio->error = 0;
        t->avio->eof_reached = 0;
    }
}

/* Opens the container and the decoder. Blocks on missing chunks; returns
 * TSTREAM_EABORTED when interrupted. */
static int dtrack_open(struct dec *d, struct dtrack *t)
{
    dtrack_close(t);
    reset_io(t);
    tstream_seek(t->ts, 0, SEEK_SET);
    uint8_t *buf = av_malloc(AVIO_BUF_SIZE);
    t->avio = avio_alloc_context(buf, AVIO_BUF_SIZE, 0, t, avio_read_cb, NULL, avio_seek_cb);
    if (!t->avio) {
        av_free(buf);
        return DEC_EFORMAT;
    }
    /* Not seekable while probing: demuxers would read the end of the file
     * (Ogg's last granule, ID3v1), which may not have arrived yet. */
    t->avio->seekable = 0;
    t->fmt = avformat_alloc_context();
    t->fmt->pb = t->avio;
    t->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    t->fmt->interrupt_callback.callback = interrupt_cb;
    t->fmt->interrupt_callback.opaque = t;
    int r = avformat_open_input(&t->fmt, NULL, NULL, NULL);
    if (r < 0) {
        /* avformat_open_input freed the context on failure */
        return tstream_interrupted(t->ts) ? TSTREAM_EABORTED : DEC_EFORMAT;
    }
    const AVCodec *codec = NULL;
    t->si = av_find_best_stream(t->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    /* Most containers describe the audio in their header; for the others
     * (FLAC, raw MP3) libavformat reads the first packets to find out. */
    if (t->si < 0 || t->fmt->streams[t->si]->codecpar->sample_rate <= 0 ||
        t->fmt->streams[t->si]->codecpar->ch_layout.nb_channels <= 0) {
        if (avformat_find_stream_info(t->fmt, NULL) < 0 && tstream_interrupted(t->ts))
            return TSTREAM_EABORTED;
        t->si = av_find_best_stream(t->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    }
    if (t->si < 0)
        return t->si == AVERROR_DECODER_NOT_FOUND ? DEC_ECODEC : DEC_ENOAUDIO;
    t->avio->seekable = AVIO_SEEKABLE_NORMAL;
    AVStream *st = t->fmt->streams[t->si];
    for (unsigned i = 0; i < t->fmt->nb_streams; i++)
        if ((int)i != t->si)
            t->fmt->streams[i]->discard = AVDISCARD_ALL;
    t->tb = st->time_base;
    t->start_pts = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    if (st->duration != AV_NOPTS_VALUE)
        t->duration_ms = av_rescale_q(st->duration, st->time_base, (AVRational){1, 1000});
    else if (t->fmt->duration != AV_NOPTS_VALUE)
        t->duration_ms = t->fmt->duration / (AV_TIME_BASE / 1000);
    t->cc = avcodec_alloc_context3(codec);
    if (avcodec_parameters_to_context(t->cc, st->codecpar) < 0 ||
        avcodec_open2(t->cc, codec, NULL) < 0)
        return DEC_ECODEC;
    t->pkt = av_packet_alloc();
    t->frame = av_frame_alloc();
    t->next_in = 0;
    t->skip_to = 0;
    t->draining = t->eof = false;
    return 0;
}

/* Seeks an open track so that its next output is input sample target. */
static void dtrack_seek(struct dtrack *t, int64_t target_ms)
{
    reset_io(t);
    int rate = t->cc->sample_rate;
    int64_t from = target_ms > SEEK_PREROLL_MS ? target_ms - SEEK_PREROLL_MS : 0;
    int64_t ts = t->start_pts + av_rescale_q(from, (AVRational){1, 1000}, t->tb);
    t->draining = t->eof = false;
    t->skip_to = av_rescale(target_ms, rate, 1000);
    swr_free(&t->swr);
    if (from == 0) {
        /* Reading from the start again is exact for every format. */
        avio_seek(t->avio, 0, SEEK_SET);
        int r = avformat_seek_file(t->fmt, t->si, INT64_MIN, t->start_pts, t->start_pts, 0);
        if (r < 0)
            av_seek_frame(t->fmt, t->si, t->start_pts, AVSEEK_FLAG_BACKWARD);
        t->next_in = 0;
    } else {
        if (av_seek_frame(t->fmt, t->si, ts, AVSEEK_FLAG_BACKWARD) < 0 &&
            !tstream_interrupted(t->ts))
            t->eof = true; /* beyond the end: the track is over */
        t->next_in = -1;   /* known again from the first frame's pts */
    }
    avcodec_flush_buffers(t->cc);
}

/* ---- output buffer ---- */

static void out_reserve(struct dec *d, size_t extra)
{
    if (d->out_off > 0) {
        memmove(d->out_buf, d->out_buf + d->out_off, d->out_len - d->out_off);
        d->out_len -= d->out_off;
        d->out_off = 0;
    }
    if (d->out_len + extra > d->out_cap) {
        d->out_cap = (d->out_len + extra) * 2;
        d->out_buf = xrealloc(d->out_buf, d->out_cap);
    }
}

static void out_clear(struct dec *d)
{
    d->out_len = d->out_off = 0;
}

static size_t out_pending(const struct dec *d)
{
    return d->out_len - d->out_off;
}

static void add_mark(struct dec *d, const struct dtrack *t, int64_t track_frame)
{
    uint64_t at = (ring_write_pos(d->ring) + out_pending(d)) / d->bpf;
    pthread_mutex_lock(&d->mu);
    if (d->nmarks == MAX_MARKS) { /* never expected: keep the newest */
        memmove(d->marks, d->marks + 1, sizeof(d->marks[0]) * (MAX_MARKS - 1));
        d->nmarks--;
    }
    d->marks[d->nmarks++] = (struct mark){at, t->tag, t->seq, track_frame};
    pthread_mutex_unlock(&d->mu);
}

/* ---- resampling ---- */

static int ensure_swr(struct dec *d, struct dtrack *t, const AVFrame *f);

/* Converts n input samples (NULL in: flush) into the output buffer. */
static int convert(struct dec *d, struct dtrack *t, const uint8_t **in, int n)
{
    int room = swr_get_out_samples(t->swr, n);
    if (room <= 0)
        return 0;
    out_reserve(d, (size_t)room * d->bpf);
    uint8_t *dst = d->out_buf + d->out_len;
    int got = swr_convert(t->swr, &dst, room, in, n);
    if (got < 0)
        return DEC_ERESAMPLE;
    if (got > 0 && !t->marked) {
        add_mark(d, t, t->start_out);
        t->marked = true;
    }
    d->out_len += (size_t)got * d->bpf;
    t->decoded_frames += (uint64_t)got;
    return 0;
}

static int ensure_swr(struct dec *d, struct dtrack *t, const AVFrame *f)
{
    if (t->swr && t->swr_in_rate == f->sample_rate && t->swr_in_fmt == f->format &&
        av_channel_layout_compare(&t->swr_in_layout, &f->ch_layout) == 0)
        return 0;
    if (t->swr) { /* the format changed mid-stream: flush the old one */
        int r = convert(d, t, NULL, 0);
        if (r < 0)
            return r;
        swr_free(&t->swr);
    }
    /* zeroed: av_channel_layout_copy uninits its destination first */
    AVChannelLayout out_layout = {0}, in_layout = {0};
    av_channel_layout_default(&out_layout, (int)d->of.channels);
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in_layout, f->ch_layout.nb_channels);
    else
        av_channel_layout_copy(&in_layout, &f->ch_layout);
    enum AVSampleFormat ofmt = d->of.sample == AOUT_S16 ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLT;
    int r = swr_alloc_set_opts2(&t->swr, &out_layout, ofmt, (int)d->of.rate, &in_layout, f->format,
                                f->sample_rate, 0, NULL);
    if (r >= 0)
        r = swr_init(t->swr);
    av_channel_layout_uninit(&out_layout);
    av_channel_layout_uninit(&t->swr_in_layout);
    t->swr_in_layout = in_layout;
    t->swr_in_rate = f->sample_rate;
    t->swr_in_fmt = f->format;
    if (r < 0) {
        swr_free(&t->swr);
        clog_error(d->log, "audio", "resampler: %s", av_err2str(r));
        return DEC_ERESAMPLE;
    }
    return 0;
}

/* Hands one decoded frame to the resampler, minus samples before skip_to. */
static int take_frame(struct dec *d, struct dtrack *t, AVFrame *f)
{
    /* Playing on, samples are counted: the first frame's timestamp can be
     * off (MP3 with a LAME header gives the 47 samples left after the
     * encoder delay pts 0 while the stream starts at 1105). After a seek
     * the position comes from the first timestamp past the start. */
    int rate = t->cc->sample_rate;
    if (t->next_in < 0 && f->pts != AV_NOPTS_VALUE && f->sample_rate == rate)
        t->next_in = av_rescale_q(f->pts - t->start_pts, t->tb, (AVRational){1, rate});
    if (t->next_in < 0) {
        t->next_in = -1;
        return 0; /* position unknown after a seek: wait for a timestamped frame */
    }
    int64_t first = t->next_in;
    t->next_in += f->nb_samples;
    int drop = t->skip_to > first ? (int)FFMIN(t->skip_to - first, f->nb_samples) : 0;
    if (drop == f->nb_samples)
        return 0;
    int r = ensure_swr(d, t, f);
    if (r < 0)
        return r;
    const uint8_t *in[AV_NUM_DATA_POINTERS] = {0};
    int bps = av_get_bytes_per_sample(f->format);
    bool planar = av_sample_fmt_is_planar(f->format);
    int planes = planar ? f->ch_layout.nb_channels : 1;
    for (int i = 0; i < planes && i < AV_NUM_DATA_POINTERS; i++)
        in[i] = f->extended_data[i] +
                (size_t)drop * (size_t)bps * (planar ? 1 : (size_t)f->ch_layout.nb_channels);
    return convert(d, t, in, f->nb_samples - drop);
}

/* Decodes one packet's worth. Returns 0, TSTREAM_EABORTED, or an error. */
static int decode_step(struct dec *d, struct dtrack *t)
{
    if (!t->draining) {
        int r = av_read_frame(t->fmt, t->pkt);
        if (tstream_interrupted(t->ts)) {
            av_packet_unref(t->pkt);
            return TSTREAM_EABORTED;
        }
        if (r == AVERROR_EOF || (r < 0 && avio_feof(t->fmt->pb))) {
            t->draining = true;
            avcodec_send_packet(t->cc, NULL);
        } else if (r < 0) {
            clog_warn(d->log, "audio", "track %llu: read: %s", (unsigned long long)t->tag,
                      av_err2str(r));
            return DEC_ESTREAM;
        } else {
            if (t->pkt->stream_index == t->si) {
                r = avcodec_send_packet(t->cc, t->pkt);
                if (r < 0 && r != AVERROR(EAGAIN))
                    clog_debug(d->log, "audio", "track %llu: bad packet: %s",
                               (unsigned long long)t->tag, av_err2str(r));
            }
            av_packet_unref(t->pkt);
        }
    }
    for (;;) {
        int r = avcodec_receive_frame(t->cc, t->frame);
        if (r == AVERROR(EAGAIN))
            return 0;
        if (r == AVERROR_EOF) {
            t->eof = true;
            return 0;
        }
        if (r < 0) {
            clog_warn(d->log, "audio", "track %llu: decode: %s", (unsigned long long)t->tag,
                      av_err2str(r));
            return DEC_ECODEC;
        }
        r = take_frame(d, t, t->frame);
        av_frame_unref(t->frame);
        if (r < 0)
            return r;
    }
}

/* ---- the list (under mu, since dec_* interrupt its streams) ---- */

static struct dtrack *tail_of(struct dec *d)
{
    struct dtrack *t = d->tracks;
    while (t && t->next)
        t = t->next;
    return t;
}

static void list_append(struct dec *d, struct dtrack *t)
{
    pthread_mutex_lock(&d->mu);
    struct dtrack **p = &d->tracks;
    while (*p)
        p = &(*p)->next;
    *p = t;
    pthread_mutex_unlock(&d->mu);
}

/* Detaches and returns everything after the head. */
static struct dtrack *list_cut_after_head(struct dec *d)
{
    pthread_mutex_lock(&d->mu);
    struct dtrack *rest = d->tracks ? d->tracks->next : NULL;
    if (d->tracks)
        d->tracks->next = NULL;
    pthread_mutex_unlock(&d->mu);
    return rest;
}

static struct dtrack *take_next(struct dec *d)
{
    pthread_mutex_lock(&d->mu);
    struct dtrack *n = d->next_track;
    d->next_track = NULL;
    pthread_mutex_unlock(&d->mu);
    return n;
}

static void free_list(struct dtrack *t)
{
    while (t) {
        struct dtrack *n = t->next;
        dtrack_free(t);
        t = n;
    }
}

/* Drops every track, the marks and the buffered audio. */
static void reset_all(struct dec *d)
{
    aout_set_feed(d->ao, AOUT_FEED_IDLE, 0);
    ring_flush(d->ring);
    out_clear(d);
    pthread_mutex_lock(&d->mu);
    struct dtrack *all = d->tracks, *next = d->next_track;
    d->tracks = d->next_track = NULL;
    d->nmarks = 0;
    pthread_mutex_unlock(&d->mu);
    free_list(all);
    dtrack_free(next);
    d->fed_all = false;
    d->play_t_ns = d->seek_t_ns = 0;
}

/* Playback figures of the head so far. */
static void head_figures(struct dec *d, struct dtrack *t, int64_t position_ms,
                         struct dec_track_figures *f)
{
    struct aout_stats now;
    aout_get_stats(d->ao, &now);
    struct tstream_stats ss;
    tstream_get_stats(t->ts, &ss);
    memset(f, 0, sizeof(*f));
    f->ttfa_ns = t->ttfa_ns;
    f->position_ms = position_ms;
    if (t->started) {
        f->underruns = now.underruns - t->at_start.underruns;
        f->underrun_ms =
            frames_to_ms(d, (int64_t)(now.underrun_frames - t->at_start.underrun_frames));
    }
    f->decode_cpu_ns = t->cpu_ns;
    f->decoded_ms = (uint64_t)frames_to_ms(d, (int64_t)t->decoded_frames);
    f->stalls = ss.stalls;
    f->stall_ns = ss.stall_ns;
}

static void track_error(struct dec *d, struct dtrack *t, int err)
{
    clog_warn(d->log, "audio", "track %llu: %s", (unsigned long long)t->tag, dec_strerror(err));
    struct dec_event ev = {.type = DEC_EV_ERROR, .tag = t->tag, .error = err};
    head_figures(d, t, 0, &ev.figures);
    emit(d, &ev);
}

static int map_open_error(int r)
{
    return r >= 0 || r == TSTREAM_EABORTED || (r <= DEC_EINVAL && r >= DEC_ESTREAM) ? r
                                                                                    : DEC_ESTREAM;
}

/* Opens t, retrying after interrupts that do not drop it. Returns 0,
 * TSTREAM_EABORTED when a queued command replaces it, or an error. */
static bool replacing_command_queued(struct dec *d);

static int open_track(struct dec *d, struct dtrack *t)
{
    for (;;) {
        uint64_t c0 = cpu_ns();
        int r = dtrack_open(d, t);
        t->cpu_ns += cpu_ns() - c0;
        if (r != TSTREAM_EABORTED)
            return map_open_error(r);
        if (replacing_command_queued(d))
            return r;
        tstream_rearm(t->ts); /* only seeks are queued: they apply once it is open */
    }
}

/* ---- commands ---- */

static bool replacing_command_queued(struct dec *d)
{
    pthread_mutex_lock(&d->mu);
    bool yes = d->quit;
    for (struct cmd *c = d->cmds; c && !yes; c = c->next)
        yes = c->type == CMD_PLAY || c->type == CMD_STOP || c->type == CMD_NEXT;
    pthread_mutex_unlock(&d->mu);
    return yes;
}

/* The position being heard, in output frames of the head track. */
static int64_t heard_frame_locked(struct dec *d)
{
    if (d->nmarks == 0)
        return 0;
    uint64_t r = ring_read_pos(d->ring) / d->bpf;
    const struct mark *m = &d->marks[0];
    for (int i = 1; i < d->nmarks && d->marks[i].ring_frame <= r; i++)
        m = &d->marks[i];
    return m->track_frame + (r > m->ring_frame ? (int64_t)(r - m->ring_frame) : 0);
}

/* Restarts the head at target_ms: successors go back to the queue. */
static void restart_head(struct dec *d, int64_t target_ms)
{
    struct dtrack *rest = list_cut_after_head(d);
    if (rest) {
        struct dtrack *keep = rest;
        rest = rest->next;
        keep->next = NULL;
        dtrack_close(keep);
        keep->marked = false;
        pthread_mutex_lock(&d->mu);
        struct dtrack *old = d->next_track;
        if (!old)
            d->next_track = keep;
        pthread_mutex_unlock(&d->mu);
        if (old)
            dtrack_free(keep);
        free_list(rest);
    }
    struct dtrack *h = d->tracks;
    aout_set_feed(d->ao, AOUT_FEED_IDLE, 0);
    ring_flush(d->ring);
    out_clear(d);
    pthread_mutex_lock(&d->mu);
    d->nmarks = 0;
    pthread_mutex_unlock(&d->mu);
    d->fed_all = false;
    uint64_t c0 = cpu_ns();
    dtrack_seek(h, target_ms);
    h->cpu_ns += cpu_ns() - c0;
    h->start_out = av_rescale(target_ms, d->of.rate, 1000);
    h->marked = false;
    add_mark(d, h, h->start_out);
    h->marked = true;
}

static void run_play(struct dec *d, struct cmd *c)
{
    reset_all(d);
    struct dtrack *t = dtrack_new(d, c->ts, c->tag, ++d->seq);
    c->ts = NULL;
    tstream_set_priority(t->ts, TSTREAM_PRIO_NOW);
    list_append(d, t);
    int r = open_track(d, t);
    if (r == TSTREAM_EABORTED)
        return; /* a newer command drops it */
    if (r < 0) {
        track_error(d, t, r);
        reset_all(d);
        struct dec_event ev = {.type = DEC_EV_QUEUE_END};
        emit(d, &ev);
        return;
    }
    d->play_t_ns = c->t_ns;
    if (c->ms > 0) {
        restart_head(d, c->ms);
    } else {
        t->start_out = 0;
        add_mark(d, t, 0);
        t->marked = true;
    }
}

static void run_next(struct dec *d, struct cmd *c)
{
    struct dtrack *n = dtrack_new(d, c->ts, c->tag, ++d->seq);
    c->ts = NULL;
    tstream_set_priority(n->ts, TSTREAM_PRIO_NEXT);
    if (d->tracks && d->tracks->next) {
        /* The decoder already began the old next one: hear the head from
         * where it is, without its successor. */
        pthread_mutex_lock(&d->mu);
        int64_t at = heard_frame_locked(d);
        pthread_mutex_unlock(&d->mu);
        restart_head(d, frames_to_ms(d, at));
    }
    pthread_mutex_lock(&d->mu);
    struct dtrack *old = d->next_track;
    d->next_track = n;
    pthread_mutex_unlock(&d->mu);
    dtrack_free(old);
}

static void run_seek(struct dec *d, struct cmd *c)
{
    struct dtrack *h = d->tracks;
    if (!h || !h->fmt)
        return;
    int64_t target = c->ms;
    if (c->relative) {
        pthread_mutex_lock(&d->mu);
        int64_t at = heard_frame_locked(d);
        pthread_mutex_unlock(&d->mu);
        target += frames_to_ms(d, at);
    }
    restart_head(d, target < 0 ? 0 : target);
    if (!d->play_t_ns)
        d->seek_t_ns = c->t_ns;
}

/* Clears the interrupts of the commands being run, unless newer commands
 * are queued: their interrupts must stay, so a read that blocks on a
 * missing chunk still gives way to them. */
static void rearm_all(struct dec *d)
{
    pthread_mutex_lock(&d->mu);
    if (!d->cmds)
        for (struct dtrack *t = d->tracks; t; t = t->next)
            tstream_rearm(t->ts);
    pthread_mutex_unlock(&d->mu);
}

static void run_commands(struct dec *d, struct cmd *list)
{
    while (list) {
        struct cmd *c = list;
        list = c->next;
        rearm_all(d);
        switch (c->type) {
        case CMD_PLAY:
            run_play(d, c);
            break;
        case CMD_NEXT:
            run_next(d, c);
            break;
        case CMD_SEEK:
            run_seek(d, c);
            break;
        case CMD_STOP:
            reset_all(d);
            break;
        }
        if (c->ticket)
            aout_release(d->ao, c->ticket);
        tstream_free(c->ts);
        free(c);
    }
}

/* ---- the feed ---- */

static void update_feed(struct dec *d)
{
    enum aout_feed feed = aout_get_feed(d->ao);
    size_t fill = ring_fill(d->ring);
    if (d->fed_all && out_pending(d) == 0) {
        if (feed != AOUT_FEED_DRAINING)
            aout_set_feed(d->ao, AOUT_FEED_DRAINING, d->prebuffer_bytes);
    } else if (feed != AOUT_FEED_RUNNING && fill >= d->prebuffer_bytes) {
        aout_set_feed(d->ao, AOUT_FEED_RUNNING, d->prebuffer_bytes);
    }
}

/* Moves converted PCM into the ring. Returns true when all of it fitted. */
static bool flush_out(struct dec *d)
{
    size_t n = out_pending(d);
    if (n > 0)
        d->out_off += ring_write(d->ring, d->out_buf + d->out_off, n, d->bpf);
    update_feed(d);
    return out_pending(d) == 0;
}

/* At the end of the decoding track: open the queued next one. */
static int start_next(struct dec *d, struct dtrack *prev)
{
    struct dtrack *n = take_next(d);
    if (!n)
        return 0;
    tstream_set_priority(n->ts, TSTREAM_PRIO_NOW);
    list_append(d, n);
    int r = open_track(d, n);
    if (r == TSTREAM_EABORTED)
        return r;
    if (r < 0) {
        track_error(d, n, r);
        pthread_mutex_lock(&d->mu);
        struct dtrack **p = &d->tracks;
        while (*p != n)
            p = &(*p)->next;
        *p = NULL;
        pthread_mutex_unlock(&d->mu);
        dtrack_free(n);
        return 0;
    }
    n->start_out = 0;
    return 0;
}

/* The previous track ended: flush the resampler's tail, unless the next
 * track continues with the same input format (then it takes the resampler
 * over, and the join is continuous even when resampling). */
static int finish_track(struct dec *d, struct dtrack *t)
{
    struct dtrack *n = t->next;
    if (t->swr && n && n->fmt && n->cc->sample_rate == t->swr_in_rate &&
        (int)n->cc->sample_fmt == t->swr_in_fmt &&
        av_channel_layout_compare(&n->cc->ch_layout, &t->swr_in_layout) == 0) {
        n->swr = t->swr;
        n->swr_in_rate = t->swr_in_rate;
        n->swr_in_fmt = t->swr_in_fmt;
        av_channel_layout_copy(&n->swr_in_layout, &t->swr_in_layout);
        t->swr = NULL;
        return 0;
    }
    if (t->swr)
        return convert(d, t, NULL, 0);
    return 0;
}

/* One unit of work. Returns true when it did something. */
static bool step(struct dec *d)
{
    if (out_pending(d) > 0 && !flush_out(d))
        return false; /* the ring is full */
    struct dtrack *t = tail_of(d);
    if (!t)
        return false;
    if (!t->eof) {
        uint64_t c0 = cpu_ns();
        int r = decode_step(d, t);
        uint64_t used = cpu_ns() - c0;
        t->cpu_ns += used;
        pthread_mutex_lock(&d->mu);
        d->fig.decode_cpu_ns += used;
        pthread_mutex_unlock(&d->mu);
        if (r == TSTREAM_EABORTED)
            return false; /* a command is on its way */
        if (r < 0) {
            track_error(d, t, r);
            t->eof = true; /* what was decoded still plays */
        }
        flush_out(d);
        return true;
    }
    /* t is complete: open its successor before finishing it */
    if (d->next_track) {
        if (start_next(d, t) == TSTREAM_EABORTED)
            return false;
        if (t->next) {
            if (!d->fed_all)
                finish_track(d, t);
            d->fed_all = false;
            return true;
        }
    }
    if (!d->fed_all) {
        finish_track(d, t);
        d->fed_all = true;
        flush_out(d);
        return true;
    }
    return false;
}

/* ---- watching the output ---- */

static void end_head(struct dec *d, int64_t position_ms)
{
    struct dtrack *h = d->tracks;
    struct dec_event ev = {.type = DEC_EV_TRACK_END, .tag = h->tag};
    head_figures(d, h, position_ms, &ev.figures);
    pthread_mutex_lock(&d->mu);
    d->tracks = h->next;
    pthread_mutex_unlock(&d->mu);
    dtrack_free(h);
    emit(d, &ev);
}

static void start_heard(struct dec *d, struct dtrack *t)
{
    aout_get_stats(d->ao, &t->at_start);
    t->started = true;
}

static void watch(struct dec *d)
{
    struct aout_stats st;
    aout_get_stats(d->ao, &st);
    if (d->play_t_ns && st.first_audio_ns && d->tracks) {
        struct dtrack *h = d->tracks;
        int64_t ttfa = (int64_t)(st.first_audio_ns - d->play_t_ns);
        h->ttfa_ns = ttfa;
        start_heard(d, h);
        pthread_mutex_lock(&d->mu);
        d->fig.plays++;
        d->fig.last_ttfa_ns = ttfa;
        pthread_mutex_unlock(&d->mu);
        d->play_t_ns = 0;
        struct dec_event ev = {.type = DEC_EV_STARTED, .tag = h->tag, .ttfa_ns = ttfa};
        emit(d, &ev);
    }
    if (d->seek_t_ns && st.first_audio_ns) {
        pthread_mutex_lock(&d->mu);
        d->fig.last_seek_ns = (int64_t)(st.first_audio_ns - d->seek_t_ns);
        pthread_mutex_unlock(&d->mu);
        d->seek_t_ns = 0;
    }
    /* Track boundaries the output has passed. */
    uint64_t r = ring_read_pos(d->ring) / d->bpf;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        bool crossed = d->nmarks > 1 && r >= d->marks[1].ring_frame;
        bool new_track = crossed && d->marks[1].seq != d->marks[0].seq;
        int64_t end_ms = 0;
        if (crossed) {
            end_ms = frames_to_ms(d, d->marks[0].track_frame + (int64_t)(d->marks[1].ring_frame -
                                                                         d->marks[0].ring_frame));
            memmove(d->marks, d->marks + 1, sizeof(d->marks[0]) * (size_t)(d->nmarks - 1));
            d->nmarks--;
        }
        pthread_mutex_unlock(&d->mu);
        if (!crossed)
            break;
        if (new_track && d->tracks && d->tracks->next) {
            end_head(d, end_ms);
            start_heard(d, d->tracks);
            struct dec_event ev = {.type = DEC_EV_TRACK_START, .tag = d->tracks->tag};
            emit(d, &ev);
        }
    }
    /* The end of the queue has been played. */
    if (d->fed_all && out_pending(d) == 0 && d->tracks && ring_fill(d->ring) == 0) {
        pthread_mutex_lock(&d->mu);
        int64_t end = heard_frame_locked(d);
        pthread_mutex_unlock(&d->mu);
        while (d->tracks)
            end_head(d, frames_to_ms(d, end));
        reset_all(d);
        struct dec_event ev = {.type = DEC_EV_QUEUE_END};
        emit(d, &ev);
    }
}

static void *dec_thread(void *arg)
{
    struct dec *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->quit) {
        if (d->cmds) {
            struct cmd *list = d->cmds;
            d->cmds = NULL;
            d->cmds_tail = &d->cmds;
            pthread_mutex_unlock(&d->mu);
            run_commands(d, list);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        pthread_mutex_unlock(&d->mu);
        bool busy = step(d);
        watch(d);
        pthread_mutex_lock(&d->mu);
        if (busy || d->cmds || d->quit)
            continue;
        if (d->tracks || d->next_track) {
            struct timespec dl;
            clock_gettime(CLOCK_MONOTONIC, &dl);
            dl.tv_nsec += POLL_MS * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_nsec -= 1000000000L;
                dl.tv_sec++;
            }
            pthread_cond_timedwait(&d->cond, &d->mu, &dl);
        } else {
            pthread_cond_wait(&d->cond, &d->mu);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- the controlling thread ---- */

/* libav* print warnings ("Could not update timestamps for discarded
 * samples") to stderr, which belongs to the ncurses screen. Their log
 * callback is process-global and carries no context of ours, so it is
 * replaced once by one that drops everything; what matters is logged by
 * the decoder itself, with av_err2str, at the boundary. */
static void av_quiet(void *avcl, int level, const char *fmt, va_list vl)
{
}

static pthread_once_t av_quiet_once = PTHREAD_ONCE_INIT;

static void install_av_quiet(void)
{
    av_log_set_callback(av_quiet);
}

int dec_new(const struct dec_config *cfg, struct dec **out)
{
    *out = NULL;
    if (!cfg->out)
        return DEC_EINVAL;
    pthread_once(&av_quiet_once, install_av_quiet);
    struct dec *d = xcalloc(1, sizeof(*d));
    d->ao = cfg->out;
    d->of = *aout_get_format(cfg->out);
    d->bpf = aout_frame_bytes(&d->of);
    unsigned buffer_ms = cfg->buffer_ms ? cfg->buffer_ms : 2000;
    unsigned pre_ms = cfg->prebuffer_ms ? cfg->prebuffer_ms : 200;
    if (pre_ms > buffer_ms)
        pre_ms = buffer_ms;
    size_t bytes_per_s = (size_t)d->of.rate * d->bpf;
    d->ring = ring_new(bytes_per_s * buffer_ms / 1000);
    d->prebuffer_bytes = bytes_per_s * pre_ms / 1000 / d->bpf * d->bpf;
    d->on_event = cfg->on_event;
    d->event_ctx = cfg->event_ctx;
    d->log = cfg->log;
    d->cmds_tail = &d->cmds;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cond, &attr);
    pthread_condattr_destroy(&attr);
    aout_set_feed(d->ao, AOUT_FEED_IDLE, 0);
    int err = aout_attach(d->ao, d->ring);
    if (err == 0)
        err = aout_start(d->ao);
    if (err == 0) {
        err = -pthread_create(&d->thread, NULL, dec_thread, d);
        if (err < 0)
            aout_stop(d->ao);
    }
    if (err < 0) {
        aout_attach(d->ao, NULL);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cond);
        ring_free(d->ring);
        free(d);
        return err;
    }
    *out = d;
    return 0;
}

/* Interrupts the streams a command may drop: all of them, or only those
 * after the head. Under mu. */
static void interrupt_locked(struct dec *d, bool keep_head)
{
    for (struct dtrack *t = d->tracks; t; t = t->next)
        if (!(keep_head && t == d->tracks))
            tstream_interrupt(t->ts);
}

/* Queues c. Commands that drop buffered audio (interrupt && !keep_head)
 * hold the output until they have run. */
static void push(struct dec *d, struct cmd *c, bool interrupt, bool keep_head)
{
    c->t_ns = mono_ns();
    if (interrupt && !keep_head)
        c->ticket = aout_hold(d->ao);
    pthread_mutex_lock(&d->mu);
    *d->cmds_tail = c;
    d->cmds_tail = &c->next;
    if (interrupt)
        interrupt_locked(d, keep_head);
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->mu);
}

void dec_free(struct dec *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->quit = true;
    interrupt_locked(d, false);
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    aout_stop(d->ao);
    aout_attach(d->ao, NULL);
    aout_set_feed(d->ao, AOUT_FEED_IDLE, 0);
    for (struct cmd *c = d->cmds, *n; c; c = n) {
        n = c->next;
        if (c->ticket)
            aout_release(d->ao, c->ticket);
        tstream_free(c->ts);
        free(c);
    }
    free_list(d->tracks);
    dtrack_free(d->next_track);
    free(d->out_buf);
    ring_free(d->ring);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cond);
    free(d);
}

int dec_play(struct dec *d, struct tstream *ts, uint64_t tag, int64_t start_ms)
{
    if (!ts)
        return DEC_EINVAL;
    struct cmd *c = xcalloc(1, sizeof(*c));
    c->type = CMD_PLAY;
    c->ts = ts;
    c->tag = tag;
    c->ms = start_ms < 0 ? 0 : start_ms;
    push(d, c, true, false);
    return 0;
}

int dec_queue_next(struct dec *d, struct tstream *ts, uint64_t tag)
{
    if (!ts)
        return DEC_EINVAL;
    struct cmd *c = xcalloc(1, sizeof(*c));
    c->type = CMD_NEXT;
    c->ts = ts;
    c->tag = tag;
    push(d, c, true, true);
    return 0;
}

int dec_seek(struct dec *d, int64_t ms, bool relative)
{
    struct cmd *c = xcalloc(1, sizeof(*c));
    c->type = CMD_SEEK;
    c->ms = ms;
    c->relative = relative;
    push(d, c, true, false);
    return 0;
}

void dec_stop(struct dec *d)
{
    struct cmd *c = xcalloc(1, sizeof(*c));
    c->type = CMD_STOP;
    push(d, c, true, false);
}

void dec_pause(struct dec *d)
{
    aout_set_paused(d->ao, true);
}

void dec_resume(struct dec *d)
{
    aout_set_paused(d->ao, false);
}

void dec_set_volume(struct dec *d, int percent)
{
    aout_set_volume(d->ao, percent);
}

void dec_get_status(struct dec *d, struct dec_status *out)
{
    memset(out, 0, sizeof(*out));
    out->volume = aout_get_volume(d->ao);
    out->duration_ms = -1;
    size_t fill = ring_fill(d->ring);
    out->buffered_ms = frames_to_ms(d, (int64_t)(fill / d->bpf));
    pthread_mutex_lock(&d->mu);
    if (d->tracks && d->nmarks > 0) {
        uint64_t r = ring_read_pos(d->ring) / d->bpf;
        const struct mark *m = &d->marks[0];
        for (int i = 1; i < d->nmarks && d->marks[i].ring_frame <= r; i++)
            m = &d->marks[i];
        out->tag = m->tag;
        out->position_ms = frames_to_ms(d, heard_frame_locked(d));
        for (struct dtrack *t = d->tracks; t; t = t->next)
            if (t->tag == m->tag && t->seq == m->seq)
                out->duration_ms = t->duration_ms;
        struct dtrack *tail = tail_of(d);
        out->input_offset = tstream_tell(tail->ts);
        out->input_size = tstream_size(tail->ts);
    } else if (d->tracks) {
        out->tag = d->tracks->tag;
    }
    bool any = d->tracks != NULL;
    pthread_mutex_unlock(&d->mu);
    if (!any)
        out->state = DEC_STOPPED;
    else if (aout_is_paused(d->ao))
        out->state = DEC_PAUSED;
    else if (aout_get_feed(d->ao) == AOUT_FEED_IDLE)
        out->state = DEC_BUFFERING;
    else
        out->state = DEC_PLAYING;
}

void dec_get_figures(struct dec *d, struct dec_figures *out)
{
    struct aout_stats st;
    aout_get_stats(d->ao, &st);
    pthread_mutex_lock(&d->mu);
    *out = d->fig;
    pthread_mutex_unlock(&d->mu);
    out->underruns = st.underruns;
    out->decoded_frames = ring_write_pos(d->ring) / d->bpf; /* what went into the ring */
}

const char *dec_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case DEC_EINVAL:
        return "invalid argument";
    case DEC_EFORMAT:
        return "not an audio file this build can read";
    case DEC_ENOAUDIO:
        return "no audio stream in the file";
    case DEC_ECODEC:
        return "the audio decoder failed";
    case DEC_ERESAMPLE:
        return "the resampler could not be set up";
    case DEC_ESTREAM:
        return "reading the track failed";
    default:
        return tstream_strerror(err);
    }
}
