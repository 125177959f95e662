/* transcode: decode anything FFmpeg reads, encode Ogg Vorbis quality 5.
 *
 * Owns nothing beyond one call: every call builds its own demuxer, decoder,
 * resampler, encoder and muxer and frees them before returning, so calls
 * run on any thread, several at once (chorusd import runs it on its main
 * thread). Bytes go in and out through our own AVIO callbacks on a
 * descriptor or a memory buffer: the source must be a regular file (never
 * a FIFO, never a URL), and write errors keep their errno (ENOSPC).
 *
 * It must never crash, hang or fill the disk on garbage: demuxer and
 * decoder errors are counted and judged at the end, output stops at
 * TRANSCODE_MAX_SECONDS, and every failure carries a one-line reason. */
#include "audio/transcode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"

#define IO_BUF_SIZE  65536
#define PCM_CHUNK    4096 /* frames per feed in transcode_encode_pcm */
#define RATE_DEFAULT 44100

/* ---- byte I/O: a file descriptor, or a growing buffer in memory ---- */

struct bio {
    int fd;       /* -1: memory */
    uint8_t *buf; /* memory: contents, xmalloc'ed */
    size_t len, cap;
    size_t pos; /* memory: current offset */
    int err;    /* first -errno seen */
};

static int bio_read(void *opaque, uint8_t *buf, int size)
{
    struct bio *b = opaque;
    ssize_t n;
    do {
        n = read(b->fd, buf, (size_t)size);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        int e = errno;
        if (!b->err)
            b->err = -e;
        return AVERROR(e);
    }
    return n == 0 ? AVERROR_EOF : (int)n;
}

static int bio_write(void *opaque, uint8_t *buf, int size)
{
    struct bio *b = opaque;
    if (b->fd >= 0) {
        int r = fs_write_full(b->fd, buf, (size_t)size);
        if (r < 0) {
            if (!b->err)
                b->err = r;
            return AVERROR(-r);
        }
        return size;
    }
    size_t end = b->pos + (size_t)size;
    if (end > b->cap) {
        b->cap = end > 2 * b->cap ? end : 2 * b->cap;
        b->buf = xrealloc(b->buf, b->cap);
    }
    if (b->pos > b->len)
        memset(b->buf + b->len, 0, b->pos - b->len);
    memcpy(b->buf + b->pos, buf, (size_t)size);
    b->pos = end;
    if (end > b->len)
        b->len = end;
    return size;
}

static int64_t bio_seek(void *opaque, int64_t offset, int whence)
{
    struct bio *b = opaque;
    whence &= ~AVSEEK_FORCE;
    if (b->fd >= 0) {
        if (whence == AVSEEK_SIZE) {
            struct stat st;
            return fstat(b->fd, &st) == 0 ? (int64_t)st.st_size : AVERROR(errno);
        }
        off_t r = lseek(b->fd, (off_t)offset, whence);
        return r < 0 ? AVERROR(errno) : (int64_t)r;
    }
    int64_t base;
    switch (whence) {
    case AVSEEK_SIZE:
        return (int64_t)b->len;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)b->pos;
        break;
    case SEEK_END:
        base = (int64_t)b->len;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (base + offset < 0)
        return AVERROR(EINVAL);
    b->pos = (size_t)(base + offset);
    return (int64_t)b->pos;
}

static AVIOContext *bio_avio(struct bio *b, bool write)
{
    uint8_t *buf = av_malloc(IO_BUF_SIZE);
    AVIOContext *io = avio_alloc_context(buf, IO_BUF_SIZE, write, b, write ? NULL : bio_read,
                                         write ? bio_write : NULL, bio_seek);
    if (!io)
        abort(); /* out of memory: see xmalloc.h */
    return io;
}

static void avio_release(AVIOContext **io)
{
    if (*io) {
        av_freep(&(*io)->buffer);
        avio_context_free(io);
    }
}

/* ---- encoder: any PCM in, an encoded file out ---- */

struct encoder {
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *st;
    SwrContext *swr; /* converts from the current input parameters */
    AVChannelLayout in_layout;
    enum AVSampleFormat in_fmt;
    int in_rate;
    AVAudioFifo *fifo; /* converted samples waiting for a full frame */
    AVFrame *frame;
    AVPacket *pkt;
    AVIOContext *avio;
    struct bio *out; /* borrowed */
    int64_t pts;     /* sample frames handed to the encoder */
    bool header;
};

static void encoder_close(struct encoder *e)
{
    swr_free(&e->swr);
    av_channel_layout_uninit(&e->in_layout);
    if (e->fifo)
        av_audio_fifo_free(e->fifo);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    avcodec_free_context(&e->enc);
    avformat_free_context(e->oc);
    avio_release(&e->avio);
    memset(e, 0, sizeof(*e));
}

static void set_tag(AVDictionary **d, const char *key, const char *val)
{
    if (val && *val)
        av_dict_set(d, key, val, 0);
}

static void set_tag_int(AVDictionary **d, const char *key, int val)
{
    if (val > 0)
        av_dict_set_int(d, key, val, 0);
}

/* Opens the encoder for rate/channels first (the only step that may refuse
 * a rate), then the muxer, and writes the header to out. */
static int encoder_open(struct encoder *e, enum transcode_format fmt, int rate, int channels,
                        const struct transcode_tags *tags, struct bio *out)
{
    memset(e, 0, sizeof(*e));
    bool vorbis = fmt == TRANSCODE_OGG_VORBIS;
    const AVCodec *codec = avcodec_find_encoder_by_name(vorbis ? "libvorbis" : "flac");
    if (!codec)
        return TRANSCODE_EENCODE;
    e->enc = avcodec_alloc_context3(codec);
    e->enc->sample_rate = rate;
    av_channel_layout_default(&e->enc->ch_layout, channels);
    e->enc->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    e->enc->time_base = (AVRational){1, rate};
    if (vorbis) {
        e->enc->flags |= AV_CODEC_FLAG_QSCALE;
        e->enc->global_quality = 5 * FF_QP2LAMBDA;
    }
    /* Both muxers take the headers in-band; neither sets GLOBALHEADER. */
    if (avcodec_open2(e->enc, codec, NULL) < 0) {
        encoder_close(e);
        return TRANSCODE_EENCODE;
    }
    if (avformat_alloc_output_context2(&e->oc, NULL, vorbis ? "ogg" : "flac", NULL) < 0)
        goto fail;
    e->st = avformat_new_stream(e->oc, NULL);
    if (!e->st || avcodec_parameters_from_context(e->st->codecpar, e->enc) < 0)
        goto fail;
    e->st->time_base = e->enc->time_base;
    if (tags) {
        set_tag(&e->oc->metadata, "title", tags->title);
        set_tag(&e->oc->metadata, "artist", tags->artist);
        set_tag(&e->oc->metadata, "album", tags->album);
        set_tag(&e->oc->metadata, "album_artist", tags->album_artist);
        set_tag(&e->oc->metadata, "date", tags->date);
        set_tag_int(&e->oc->metadata, "track", tags->track_number);
        set_tag_int(&e->oc->metadata, "disc", tags->disc_number);
    }
    e->out = out;
    e->avio = bio_avio(out, true);
    e->oc->pb = e->avio;
    e->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
    e->fifo = av_audio_fifo_alloc(e->enc->sample_fmt, channels, PCM_CHUNK);
    e->frame = av_frame_alloc();
    e->pkt = av_packet_alloc();
    if (!e->fifo || !e->frame || !e->pkt)
        abort(); /* out of memory */
    /* The Ogg muxer's default page is 1 s (~20 KB at q5): a page decodes
     * only when whole, so the first audio of a streamed track would wait
     * for two 16 KiB chunks. Quarter-second pages put the first audio in
     * the first chunk for well under 1% of overhead. */
    AVDictionary *mux_opts = NULL;
    if (vorbis)
        av_dict_set(&mux_opts, "page_duration", "250000", 0);
    int hr = avformat_write_header(e->oc, &mux_opts);
    av_dict_free(&mux_opts);
    if (hr < 0)
        goto fail;
    e->header = true;
    return 0;
fail:
    encoder_close(e);
    return out->err ? out->err : TRANSCODE_EENCODE;
}

static int encoder_error(struct encoder *e)
{
    return e->out && e->out->err ? e->out->err : TRANSCODE_EENCODE;
}

static int drain_packets(struct encoder *e)
{
    int ret;
    while ((ret = avcodec_receive_packet(e->enc, e->pkt)) >= 0) {
        av_packet_rescale_ts(e->pkt, e->enc->time_base, e->st->time_base);
        e->pkt->stream_index = e->st->index;
        ret = av_write_frame(e->oc, e->pkt);
        av_packet_unref(e->pkt);
        if (ret < 0)
            return encoder_error(e);
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : encoder_error(e);
}

/* Encodes whole frames from the FIFO; with last, the short rest too. */
static int encode_fifo(struct encoder *e, bool last)
{
    int fs = e->enc->frame_size > 0 ? e->enc->frame_size : PCM_CHUNK;
    bool short_ok = e->enc->codec->capabilities &
                    (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE);
    int avail;
    while ((avail = av_audio_fifo_size(e->fifo)) >= fs || (last && avail > 0)) {
        int n = avail < fs ? avail : fs;
        av_frame_unref(e->frame);
        e->frame->nb_samples = short_ok ? n : fs;
        e->frame->format = e->enc->sample_fmt;
        e->frame->sample_rate = e->enc->sample_rate;
        if (av_channel_layout_copy(&e->frame->ch_layout, &e->enc->ch_layout) < 0 ||
            av_frame_get_buffer(e->frame, 0) < 0)
            return TRANSCODE_EENCODE;
        if (n < e->frame->nb_samples)
            av_samples_set_silence(e->frame->extended_data, 0, e->frame->nb_samples,
                                   e->enc->ch_layout.nb_channels, e->enc->sample_fmt);
        if (av_audio_fifo_read(e->fifo, (void **)e->frame->extended_data, n) != n)
            return TRANSCODE_EENCODE;
        e->frame->pts = e->pts;
        e->pts += e->frame->nb_samples;
        if (avcodec_send_frame(e->enc, e->frame) < 0)
            return encoder_error(e);
        int ret = drain_packets(e);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Runs n input frames (NULL/0: flush the resampler) through the resampler
 * into the FIFO, then encodes what fills whole frames. */
static int convert_push(struct encoder *e, const uint8_t *const *data, int n)
{
    int cap = swr_get_out_samples(e->swr, n);
    if (cap <= 0)
        return 0;
    uint8_t **out = NULL;
    int channels = e->enc->ch_layout.nb_channels;
    if (av_samples_alloc_array_and_samples(&out, NULL, channels, cap, e->enc->sample_fmt, 0) < 0)
        abort(); /* out of memory */
    int got = swr_convert(e->swr, out, cap, (const uint8_t **)data, n);
    if (got > 0 && av_audio_fifo_write(e->fifo, (void **)out, got) != got)
        got = AVERROR(ENOMEM);
    av_freep(&out[0]);
    av_freep(&out);
    return got < 0 ? TRANSCODE_EENCODE : encode_fifo(e, false);
}

/* Feeds n frames of PCM in any layout/format/rate; the resampler is
 * (re)built whenever those change (chained streams may change them). */
static int encoder_feed(struct encoder *e, const uint8_t *const *data, int n,
                        const AVChannelLayout *layout, enum AVSampleFormat fmt, int rate)
{
    if (!e->swr || rate != e->in_rate || fmt != e->in_fmt ||
        av_channel_layout_compare(layout, &e->in_layout) != 0) {
        if (e->swr) {
            int ret = convert_push(e, NULL, 0);
            if (ret < 0)
                return ret;
            swr_free(&e->swr);
        }
        av_channel_layout_uninit(&e->in_layout);
        if (layout->order == AV_CHANNEL_ORDER_UNSPEC)
            av_channel_layout_default(&e->in_layout, layout->nb_channels);
        else if (av_channel_layout_copy(&e->in_layout, layout) < 0)
            return TRANSCODE_EENCODE;
        e->in_fmt = fmt;
        e->in_rate = rate;
        if (swr_alloc_set_opts2(&e->swr, &e->enc->ch_layout, e->enc->sample_fmt,
                                e->enc->sample_rate, &e->in_layout, fmt, rate, 0, NULL) < 0 ||
            swr_init(e->swr) < 0)
            return TRANSCODE_EENCODE;
        /* Compare against the caller's layout next time, not the default. */
        if (layout->order == AV_CHANNEL_ORDER_UNSPEC) {
            av_channel_layout_uninit(&e->in_layout);
            av_channel_layout_copy(&e->in_layout, layout);
        }
    }
    return convert_push(e, data, n);
}

/* Flushes everything, writes the trailer, and reports a write error. */
static int encoder_finish(struct encoder *e)
{
    int ret = e->swr ? convert_push(e, NULL, 0) : 0;
    if (ret == 0)
        ret = encode_fifo(e, true);
    if (ret == 0)
        ret = avcodec_send_frame(e->enc, NULL) < 0 ? encoder_error(e) : drain_packets(e);
    if (ret == 0 && av_write_trailer(e->oc) < 0)
        ret = encoder_error(e);
    e->header = false;
    if (ret == 0) {
        avio_flush(e->avio);
        if (e->out->err)
            ret = e->out->err;
    }
    return ret;
}

/* ---- tags ---- */

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (s[0] >= 0xF8)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* A tag value as clean UTF-8: Latin-1 when it is not valid UTF-8, control
 * characters as spaces, trimmed. NULL when nothing is left. */
static char *clean_tag(const char *raw)
{
    const unsigned char *s = (const unsigned char *)raw;
    bool utf8 = true;
    for (size_t i = 0, n; s[i]; i += n)
        if ((n = utf8_seq(s + i)) == 0) {
            utf8 = false;
            break;
        }
    size_t len = strlen(raw);
    char *out = xmalloc(2 * len + 1), *p = out;
    for (size_t i = 0; s[i]; i++) {
        unsigned c = s[i];
        if (c < 0x20 || c == 0x7F)
            *p++ = ' ';
        else if (c < 0x80 || utf8)
            *p++ = (char)c;
        else {
            *p++ = (char)(0xC0 | (c >> 6));
            *p++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *p = '\0';
    while (p > out && p[-1] == ' ')
        *--p = '\0';
    char *start = out;
    while (*start == ' ')
        start++;
    char *res = *start ? xstrdup(start) : NULL;
    free(out);
    return res;
}

static const char *find_tag(const AVFormatContext *ic, const AVStream *st, const char *const *keys)
{
    for (; *keys; keys++) {
        const AVDictionaryEntry *e = av_dict_get(st->metadata, *keys, NULL, 0);
        if (!e || !*e->value)
            e = av_dict_get(ic->metadata, *keys, NULL, 0);
        if (e && *e->value)
            return e->value;
    }
    return NULL;
}

static char *read_tag(const AVFormatContext *ic, const AVStream *st, const char *const *keys)
{
    const char *v = find_tag(ic, st, keys);
    return v ? clean_tag(v) : NULL;
}

/* "3", "03", "3/12" -> 3; anything else -> 0. */
static int parse_number(const char *s)
{
    if (!s)
        return 0;
    while (*s == ' ')
        s++;
    char *end;
    long v = strtol(s, &end, 10);
    return end != s && v > 0 && v < 10000 ? (int)v : 0;
}

static void read_tags(const AVFormatContext *ic, const AVStream *st, struct transcode_tags *t)
{
    static const char *const title[] = {"title", NULL};
    static const char *const artist[] = {"artist", "performer", "author", NULL};
    static const char *const album[] = {"album", NULL};
    static const char *const album_artist[] = {"album_artist", "albumartist", "album artist", NULL};
    static const char *const date[] = {"date", "year", "originaldate", NULL};
    static const char *const track[] = {"track", "tracknumber", NULL};
    static const char *const disc[] = {"disc", "discnumber", NULL};
    t->title = read_tag(ic, st, title);
    t->artist = read_tag(ic, st, artist);
    t->album = read_tag(ic, st, album);
    t->album_artist = read_tag(ic, st, album_artist);
    t->date = read_tag(ic, st, date);
    t->track_number = parse_number(find_tag(ic, st, track));
    t->disc_number = parse_number(find_tag(ic, st, disc));
}

/* ---- one transcode ---- */

struct tc {
    struct transcode_result *res;
    struct bio in, *out;
    AVIOContext *in_avio;
    AVFormatContext *ic;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct encoder enc;
    bool enc_open;
    int stream;
    int64_t packets, bad_packets;
    double decoded_seconds; /* at the source's rate */
};

static int fail(struct tc *t, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct tc *t, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->res->error, sizeof(t->res->error), fmt, ap);
    va_end(ap);
    return code;
}

/* An AVERROR from libavformat/libavcodec as our error: an I/O error seen by
 * our callbacks wins (its errno is exact), then errno-valued AVERRORs. */
static int av_failure(struct tc *t, int averr, int code, const char *what)
{
    if (t->in.err)
        return fail(t, t->in.err, "%s", strerror(-t->in.err));
    if (t->out && t->out->err)
        return fail(t, t->out->err, "writing the output: %s", strerror(-t->out->err));
    if (averr < 0 && averr > -1000 && averr != AVERROR(EINVAL))
        return fail(t, averr, "%s", strerror(-averr));
    return fail(t, code, "%s (%s)", what, av_err2str(averr));
}

/* One of our own codes (or -errno) from the encoder side as our error. */
static int enc_failure(struct tc *t, int ret, const char *what)
{
    if (t->out->err)
        return fail(t, t->out->err, "writing the output: %s", strerror(-t->out->err));
    if (ret > -1000)
        return fail(t, ret, "%s", strerror(-ret));
    return fail(t, ret, "%s", what);
}

/* True when libavformat chose the demuxer only by the file name (or a
 * weak guess): if that leads nowhere, the file is simply not audio. */
static bool format_guessed(const struct tc *t)
{
    return t->ic->probe_score < AVPROBE_SCORE_RETRY;
}

static int not_audio(struct tc *t)
{
    return fail(t, TRANSCODE_ENOTAUDIO, "not an audio file (no known format in its content)");
}

static int open_input(struct tc *t, const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return fail(t, -errno, "%s", strerror(errno));
    t->in.fd = fd;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return fail(t, -errno, "%s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(t, -EISDIR, "%s", strerror(EISDIR));
    if (!S_ISREG(st.st_mode))
        return fail(t, TRANSCODE_ENOTFILE, "not a regular file");
    if (st.st_size == 0)
        return fail(t, TRANSCODE_ENOTAUDIO, "not an audio file (empty)");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);

    t->in_avio = bio_avio(&t->in, false);
    t->ic = avformat_alloc_context();
    if (!t->ic)
        abort(); /* out of memory */
    t->ic->pb = t->in_avio;
    t->ic->flags |= AVFMT_FLAG_CUSTOM_IO;
    AVDictionary *opts = NULL;
    /* A playlist-like demuxer may open more resources: local files only. */
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    /* The path is a name for probing by extension only: our AVIO reads. */
    int ret = avformat_open_input(&t->ic, path, NULL, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        /* Demuxers refuse garbage with INVALIDDATA or EINVAL alike. */
        if (t->in.err || ret == AVERROR(ENOMEM))
            return av_failure(t, ret, TRANSCODE_ENOTAUDIO, "not an audio file");
        return not_audio(t);
    }
    ret = avformat_find_stream_info(t->ic, NULL);
    if (ret < 0)
        return av_failure(t, ret, TRANSCODE_ECORRUPT, "corrupt: cannot read the stream layout");
    return 0;
}

static int open_decoder(struct tc *t)
{
    const AVCodec *codec = NULL;
    int idx = av_find_best_stream(t->ic, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (idx == AVERROR_STREAM_NOT_FOUND) {
        char kinds[96] = "";
        bool audio = false;
        for (unsigned i = 0; i < t->ic->nb_streams; i++) {
            enum AVMediaType type = t->ic->streams[i]->codecpar->codec_type;
            const char *k = av_get_media_type_string(type);
            audio |= type == AVMEDIA_TYPE_AUDIO;
            if (k && !strstr(kinds, k))
                snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds), "%s%s",
                         *kinds ? ", " : "", k);
        }
        if (format_guessed(t))
            return not_audio(t);
        /* An audio stream without a rate or channels is not usable. */
        if (audio)
            return fail(t, TRANSCODE_ECORRUPT, "corrupt: the audio stream has no valid format");
        return fail(t, TRANSCODE_ENOSTREAM, "no audio stream (%s%s in a %s file)",
                    *kinds ? "only " : "", *kinds ? kinds : "nothing", t->ic->iformat->name);
    }
    if (idx < 0) {
        enum AVCodecID id = AV_CODEC_ID_NONE;
        for (unsigned i = 0; i < t->ic->nb_streams; i++)
            if (t->ic->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
                id = t->ic->streams[i]->codecpar->codec_id;
        return fail(t, TRANSCODE_ECODEC, "no decoder for the audio codec %s", avcodec_get_name(id));
    }
    t->stream = idx;
    AVStream *st = t->ic->streams[idx];
    t->dec = avcodec_alloc_context3(codec);
    if (!t->dec)
        abort(); /* out of memory */
    int ret = avcodec_parameters_to_context(t->dec, st->codecpar);
    if (ret >= 0) {
        t->dec->pkt_timebase = st->time_base;
        ret = avcodec_open2(t->dec, codec, NULL);
    }
    if (ret < 0)
        return av_failure(t, ret, TRANSCODE_ECORRUPT, "corrupt: cannot start the decoder");
    snprintf(t->res->source_format, sizeof(t->res->source_format), "%s", t->ic->iformat->name);
    snprintf(t->res->source_codec, sizeof(t->res->source_codec), "%s", codec->name);
    read_tags(t->ic, st, &t->res->tags);
    return 0;
}

static int take_frame(struct tc *t, const AVFrame *f)
{
    if (f->nb_samples <= 0)
        return 0;
    if (f->sample_rate <= 0 || f->ch_layout.nb_channels <= 0)
        return fail(t, TRANSCODE_ECORRUPT, "corrupt: decoded audio without a rate or channels");
    /* A damaged header can claim any rate; resampling 1 Hz to 44.1 kHz
     * would turn a small file into hours of output. */
    if (f->sample_rate < 1000 || f->sample_rate > 1536000)
        return fail(t, TRANSCODE_ECORRUPT, "corrupt: implausible sample rate of %d Hz",
                    f->sample_rate);
    if (!t->enc_open) {
        int channels = f->ch_layout.nb_channels == 1 ? 1 : 2;
        int ret = encoder_open(&t->enc, TRANSCODE_OGG_VORBIS, f->sample_rate, channels,
                               &t->res->tags, t->out);
        if (ret == TRANSCODE_EENCODE && f->sample_rate != RATE_DEFAULT && !t->out->err)
            ret = encoder_open(&t->enc, TRANSCODE_OGG_VORBIS, RATE_DEFAULT, channels, &t->res->tags,
                               t->out);
        if (ret < 0)
            return enc_failure(t, ret, "the Vorbis encoder refused the audio");
        t->enc_open = true;
    }
    t->decoded_seconds += (double)f->nb_samples / f->sample_rate;
    int ret = encoder_feed(&t->enc, (const uint8_t *const *)f->extended_data, f->nb_samples,
                           &f->ch_layout, f->format, f->sample_rate);
    if (ret < 0)
        return enc_failure(t, ret, "encoding failed");
    if ((double)t->enc.pts > TRANSCODE_MAX_SECONDS * t->enc.enc->sample_rate)
        return fail(t, TRANSCODE_ETOOLONG, "longer than %.0f hours", TRANSCODE_MAX_SECONDS / 3600);
    return 0;
}

/* Receives every frame the decoder has ready. Decoding errors are counted
 * (as ffmpeg does, a damaged packet is skipped), not fatal here. */
static int drain_frames(struct tc *t)
{
    int ret;
    while ((ret = avcodec_receive_frame(t->dec, t->frame)) >= 0) {
        ret = take_frame(t, t->frame);
        av_frame_unref(t->frame);
        if (ret < 0)
            return ret;
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF)
        t->bad_packets++;
    return 0;
}

/* Where the sample data of a RIFF WAVE or AIFF file lies according to its
 * header: [*start, *end). False when it is not such a file, or a writer
 * that streamed it left the size open (0 or 0xFFFFFFFF). */
static bool pcm_data_chunk(int fd, uint64_t *start, uint64_t *end)
{
    uint8_t h[12];
    if (fs_pread_full(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return false;
    bool aiff = memcmp(h, "FORM", 4) == 0 &&
                (memcmp(h + 8, "AIFF", 4) == 0 || memcmp(h + 8, "AIFC", 4) == 0);
    if (!aiff && (memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0))
        return false;
    uint64_t off = sizeof(h);
    for (int i = 0; i < 64; i++) { /* a few chunks (fmt, LIST ...) come first */
        uint8_t c[8];
        if (fs_pread_full(fd, c, sizeof(c), off) != (ssize_t)sizeof(c))
            return false;
        uint32_t size =
            aiff ? (uint32_t)c[4] << 24 | (uint32_t)c[5] << 16 | (uint32_t)c[6] << 8 | c[7]
                 : (uint32_t)c[7] << 24 | (uint32_t)c[6] << 16 | (uint32_t)c[5] << 8 | c[4];
        if (memcmp(c, aiff ? "SSND" : "data", 4) == 0) {
            *start = off + sizeof(c);
            *end = *start + size;
            return size != 0 && size != UINT32_MAX;
        }
        off += sizeof(c) + size + (size & 1); /* chunks are padded to even sizes */
    }
    return false;
}

/* A file shorter than its header declares was cut short: judged by the
 * declared length (header, not a guess from the bit rate), and for WAV
 * and AIFF, whose length FFmpeg takes from the file's size, by the size
 * of the sample data. */
static int check_complete(struct tc *t, const AVStream *st)
{
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0 &&
        t->ic->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE) {
        double declared = (double)st->duration * av_q2d(st->time_base);
        if (t->decoded_seconds < declared * 0.98 - 0.5)
            return fail(t, TRANSCODE_ECORRUPT,
                        "truncated: only %.1f s of the %.1f s its header declares could be "
                        "decoded",
                        t->decoded_seconds, declared);
    }
    uint64_t start, end;
    struct stat fs;
    if (pcm_data_chunk(t->in.fd, &start, &end) && fstat(t->in.fd, &fs) == 0) {
        uint64_t have = (uint64_t)fs.st_size > start ? (uint64_t)fs.st_size - start : 0;
        double share = (double)have / (double)(end - start);
        if (share < 0.98)
            return fail(t, TRANSCODE_ECORRUPT,
                        "truncated: only %.0f%% of the audio data its header declares is there",
                        share * 100);
    }
    return 0;
}

static int decode_all(struct tc *t)
{
    t->pkt = av_packet_alloc();
    t->frame = av_frame_alloc();
    if (!t->pkt || !t->frame)
        abort(); /* out of memory */
    bool read_damage = false;
    int ret;
    for (;;) {
        ret = av_read_frame(t->ic, t->pkt);
        if (ret < 0) {
            if (t->in.err)
                return fail(t, t->in.err, "%s", strerror(-t->in.err));
            /* Demuxers report damage at the end as errors: stop there and
             * judge by what was decoded, like ffmpeg does. */
            read_damage = ret != AVERROR_EOF;
            break;
        }
        if (t->pkt->stream_index != t->stream) {
            av_packet_unref(t->pkt);
            continue;
        }
        t->packets++;
        ret = avcodec_send_packet(t->dec, t->pkt);
        av_packet_unref(t->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN))
            t->bad_packets++;
        if ((ret = drain_frames(t)) < 0)
            return ret;
    }
    if (avcodec_send_packet(t->dec, NULL) >= 0 && (ret = drain_frames(t)) < 0)
        return ret;

    AVStream *st = t->ic->streams[t->stream];
    if (!t->enc_open && format_guessed(t))
        return not_audio(t);
    if (!t->enc_open)
        return fail(t, TRANSCODE_ECORRUPT, "corrupt: no audio could be decoded (%s)",
                    read_damage ? "damaged data" : "no valid frames");
    if (t->bad_packets > 2 && t->bad_packets * 10 > t->packets)
        return fail(t, TRANSCODE_ECORRUPT, "corrupt: %lld of %lld packets could not be decoded",
                    (long long)t->bad_packets, (long long)t->packets);
    if ((ret = check_complete(t, st)) < 0)
        return ret;
    ret = encoder_finish(&t->enc);
    if (ret < 0)
        return enc_failure(t, ret, "encoding failed");
    struct transcode_result *r = t->res;
    r->samples = t->enc.pts;
    r->sample_rate = t->enc.enc->sample_rate;
    r->channels = t->enc.enc->ch_layout.nb_channels;
    r->duration = (double)r->samples / r->sample_rate;
    return 0;
}

static int transcode_run(const char *path, struct bio *out, struct transcode_result *res)
{
    memset(res, 0, sizeof(*res));
    struct tc t = {.res = res, .in = {.fd = -1}, .out = out, .stream = -1};
    int ret = open_input(&t, path);
    if (ret == 0)
        ret = open_decoder(&t);
    if (ret == 0)
        ret = decode_all(&t);
    encoder_close(&t.enc);
    av_packet_free(&t.pkt);
    av_frame_free(&t.frame);
    avcodec_free_context(&t.dec);
    avformat_close_input(&t.ic);
    avio_release(&t.in_avio);
    if (t.in.fd >= 0)
        close(t.in.fd);
    if (ret < 0 && !res->error[0])
        snprintf(res->error, sizeof(res->error), "%s", transcode_strerror(ret));
    return ret;
}

int transcode_to_memory(const char *path, struct transcode_result *res)
{
    struct bio out = {.fd = -1};
    int ret = transcode_run(path, &out, res);
    if (ret < 0) {
        free(out.buf);
        return ret;
    }
    res->data = out.buf;
    res->size = out.len;
    return 0;
}

int transcode_to_file(const char *path, const char *dest, struct transcode_result *res)
{
    struct bio out = {.fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (out.fd < 0) {
        int err = -errno;
        memset(res, 0, sizeof(*res));
        snprintf(res->error, sizeof(res->error), "cannot create %s: %s", dest, strerror(-err));
        return err;
    }
    int ret = transcode_run(path, &out, res);
    if (close(out.fd) != 0 && ret == 0) {
        ret = -errno;
        snprintf(res->error, sizeof(res->error), "writing %s: %s", dest, strerror(-ret));
    }
    if (ret < 0)
        unlink(dest);
    return ret;
}

void transcode_result_clear(struct transcode_result *res)
{
    free(res->tags.title);
    free(res->tags.artist);
    free(res->tags.album);
    free(res->tags.album_artist);
    free(res->tags.date);
    free(res->data);
    memset(res, 0, sizeof(*res));
}

int transcode_encode_pcm(const float *pcm, size_t frames, int sample_rate, int channels,
                         const struct transcode_tags *tags, enum transcode_format fmt,
                         const char *dest)
{
    if (channels < 1 || channels > 2 || sample_rate <= 0 || frames == 0)
        return -EINVAL;
    struct bio out = {.fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (out.fd < 0)
        return -errno;
    struct encoder e;
    int ret = encoder_open(&e, fmt, sample_rate, channels, tags, &out);
    if (ret == 0) {
        AVChannelLayout layout;
        av_channel_layout_default(&layout, channels);
        for (size_t pos = 0; pos < frames && ret == 0; pos += PCM_CHUNK) {
            int n = frames - pos < PCM_CHUNK ? (int)(frames - pos) : PCM_CHUNK;
            const uint8_t *data[1] = {(const uint8_t *)(pcm + pos * (size_t)channels)};
            ret = encoder_feed(&e, data, n, &layout, AV_SAMPLE_FMT_FLT, sample_rate);
        }
        if (ret == 0)
            ret = encoder_finish(&e);
        encoder_close(&e);
    }
    if (close(out.fd) != 0 && ret == 0)
        ret = -errno;
    if (ret < 0)
        unlink(dest);
    return ret;
}

const char *transcode_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case TRANSCODE_ENOTAUDIO:
        return "not an audio file";
    case TRANSCODE_ENOSTREAM:
        return "no audio stream";
    case TRANSCODE_ECORRUPT:
        return "truncated or corrupt audio data";
    case TRANSCODE_ECODEC:
        return "no decoder for the audio codec";
    case TRANSCODE_EENCODE:
        return "the encoder failed";
    case TRANSCODE_ENOTFILE:
        return "not a regular file";
    case TRANSCODE_ETOOLONG:
        return "longer than the longest track accepted";
    default:
        return err < 0 && err > -1000 ? strerror(-err) : "unknown transcode error";
    }
}
