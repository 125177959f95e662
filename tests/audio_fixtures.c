/* audio_fixtures: test audio generated here and encoded/decoded with
 * FFmpeg directly (never through Chorus's own audio code, so a bug there
 * cannot hide itself in its own fixtures). */
#include "audio_fixtures.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "base/xmalloc.h"
#include "testutil.h"

static const struct {
    const char *muxer;
    const char *encoder;
    const char *ext;
    int64_t bit_rate;
} kinds[] = {
    [FIXTURE_WAV] = {"wav", "pcm_s16le", "wav", 0},
    [FIXTURE_FLAC] = {"flac", "flac", "flac", 0},
    [FIXTURE_MP3] = {"mp3", "libmp3lame", "mp3", 192000},
    [FIXTURE_OGG] = {"ogg", "libvorbis", "ogg", 0},
};

const char *fixture_extension(enum fixture_format fmt)
{
    return kinds[fmt].ext;
}

struct fixture_pcm *fixture_pcm_new(size_t frames, int sample_rate, int channels)
{
    struct fixture_pcm *pcm = xcalloc(1, sizeof(*pcm));
    pcm->samples = xcalloc(frames * (size_t)channels + 1, sizeof(int16_t));
    pcm->frames = frames;
    pcm->sample_rate = sample_rate;
    pcm->channels = channels;
    return pcm;
}

void fixture_pcm_free(struct fixture_pcm *pcm)
{
    if (!pcm)
        return;
    free(pcm->samples);
    free(pcm);
}

static int16_t to_s16(double v)
{
    if (v > 1.0)
        v = 1.0;
    if (v < -1.0)
        v = -1.0;
    return (int16_t)lrint(v * 32767.0);
}

struct fixture_pcm *fixture_generate(enum fixture_wave wave, double freq, double seconds,
                                     int sample_rate, int channels)
{
    size_t frames = (size_t)llround(seconds * sample_rate);
    struct fixture_pcm *pcm = fixture_pcm_new(frames, sample_rate, channels);
    if (freq <= 0)
        freq = 440.0;
    uint64_t rng = (uint64_t)(freq * 1000.0) * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < frames; i++) {
        double t = (double)i / sample_rate;
        for (int c = 0; c < channels; c++) {
            double v = 0.0;
            switch (wave) {
            case FIXTURE_SINE:
                v = 0.5 * sin(2 * M_PI * freq * t);
                break;
            case FIXTURE_CHORD:
                v = 0.25 * (sin(2 * M_PI * freq * t) + sin(2 * M_PI * freq * 1.25 * t) +
                            sin(2 * M_PI * freq * 1.5 * t));
                break;
            case FIXTURE_NOISE:
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                v = 0.5 * ((double)(rng >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
                break;
            }
            pcm->samples[i * (size_t)channels + (size_t)c] = to_s16(v);
        }
    }
    return pcm;
}

/* Copies n frames starting at frame `from` of pcm into an encoder frame of
 * any planar/packed 16/32-bit integer or float format. */
static void fill_frame(AVFrame *frame, const struct fixture_pcm *pcm, size_t from, int n)
{
    enum AVSampleFormat fmt = frame->format;
    int planar = av_sample_fmt_is_planar(fmt);
    enum AVSampleFormat packed = av_get_packed_sample_fmt(fmt);
    int ch = pcm->channels;
    for (int i = 0; i < frame->nb_samples; i++) {
        for (int c = 0; c < ch; c++) {
            int16_t s = i < n ? pcm->samples[(from + (size_t)i) * (size_t)ch + (size_t)c] : 0;
            size_t idx = planar ? (size_t)i : (size_t)i * (size_t)ch + (size_t)c;
            uint8_t *base = frame->extended_data[planar ? c : 0];
            switch (packed) {
            case AV_SAMPLE_FMT_S16:
                ((int16_t *)base)[idx] = s;
                break;
            case AV_SAMPLE_FMT_S32:
                ((int32_t *)base)[idx] = (int32_t)s * 65536;
                break;
            case AV_SAMPLE_FMT_FLT:
                ((float *)base)[idx] = (float)s / 32768.0f;
                break;
            default:
                break;
            }
        }
    }
}

static int pick_sample_fmt(const AVCodec *codec)
{
    static const enum AVSampleFormat usable[] = {AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P,
                                                 AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S32P,
                                                 AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP};
    for (const enum AVSampleFormat *f = codec->sample_fmts; f && *f != AV_SAMPLE_FMT_NONE; f++)
        for (size_t i = 0; i < sizeof(usable) / sizeof(usable[0]); i++)
            if (*f == usable[i])
                return *f;
    return AV_SAMPLE_FMT_NONE;
}

static int write_packets(AVFormatContext *oc, AVCodecContext *enc, AVStream *st, AVPacket *pkt)
{
    int ret;
    while ((ret = avcodec_receive_packet(enc, pkt)) >= 0) {
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        ret = av_interleaved_write_frame(oc, pkt);
        if (ret < 0)
            return ret;
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
}

int fixture_encode(const char *path, enum fixture_format fmt, const struct fixture_pcm *pcm,
                   const struct fixture_tags *tags)
{
    AVFormatContext *oc = NULL;
    AVCodecContext *enc = NULL;
    AVFrame *frame = NULL;
    AVPacket *pkt = NULL;
    int header_written = 0;
    const AVCodec *codec = avcodec_find_encoder_by_name(kinds[fmt].encoder);
    int ret = codec ? 0 : AVERROR_ENCODER_NOT_FOUND;
    if (ret == 0)
        ret = avformat_alloc_output_context2(&oc, NULL, kinds[fmt].muxer, path);
    if (ret < 0)
        goto out;
    AVStream *st = avformat_new_stream(oc, NULL);
    enc = avcodec_alloc_context3(codec);
    enc->sample_rate = pcm->sample_rate;
    av_channel_layout_default(&enc->ch_layout, pcm->channels);
    enc->sample_fmt = pick_sample_fmt(codec);
    enc->time_base = (AVRational){1, pcm->sample_rate};
    if (kinds[fmt].bit_rate)
        enc->bit_rate = kinds[fmt].bit_rate;
    if (fmt == FIXTURE_OGG) {
        enc->flags |= AV_CODEC_FLAG_QSCALE;
        enc->global_quality = 5 * FF_QP2LAMBDA;
    }
    if (oc->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((ret = avcodec_open2(enc, codec, NULL)) < 0)
        goto out;
    if ((ret = avcodec_parameters_from_context(st->codecpar, enc)) < 0)
        goto out;
    st->time_base = enc->time_base;
    if (tags) {
        const char *keys[] = {"title", "artist", "album", "album_artist", "track", "date"};
        const char *vals[] = {tags->title,        tags->artist, tags->album,
                              tags->album_artist, tags->track,  tags->date};
        for (int i = 0; i < 6; i++)
            if (vals[i])
                av_dict_set(&oc->metadata, keys[i], vals[i], 0);
    }
    if ((ret = avio_open(&oc->pb, path, AVIO_FLAG_WRITE)) < 0)
        goto out;
    if ((ret = avformat_write_header(oc, NULL)) < 0)
        goto out;
    header_written = 1;

    int frame_size = enc->frame_size > 0 ? enc->frame_size : 1024;
    int short_last =
        codec->capabilities & (AV_CODEC_CAP_SMALL_LAST_FRAME | AV_CODEC_CAP_VARIABLE_FRAME_SIZE);
    frame = av_frame_alloc();
    pkt = av_packet_alloc();
    for (size_t pos = 0; pos < pcm->frames && ret >= 0;) {
        size_t left = pcm->frames - pos;
        int n = left < (size_t)frame_size ? (int)left : frame_size;
        av_frame_unref(frame);
        frame->format = enc->sample_fmt;
        frame->sample_rate = enc->sample_rate;
        frame->nb_samples = short_last ? n : frame_size;
        av_channel_layout_copy(&frame->ch_layout, &enc->ch_layout);
        if ((ret = av_frame_get_buffer(frame, 0)) < 0)
            break;
        fill_frame(frame, pcm, pos, n);
        frame->pts = (int64_t)pos;
        pos += (size_t)n;
        if ((ret = avcodec_send_frame(enc, frame)) >= 0)
            ret = write_packets(oc, enc, st, pkt);
    }
    if (ret >= 0 && (ret = avcodec_send_frame(enc, NULL)) >= 0)
        ret = write_packets(oc, enc, st, pkt);
out:
    if (header_written) {
        int tr = av_write_trailer(oc);
        if (ret >= 0)
            ret = tr;
    }
    if (oc && oc->pb)
        avio_closep(&oc->pb);
    avformat_free_context(oc);
    avcodec_free_context(&enc);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    if (ret < 0)
        remove(path);
    return ret < 0 ? ret : 0;
}

void fixture_write(const char *path, enum fixture_format fmt, enum fixture_wave wave,
                   double seconds, int sample_rate, int channels, const struct fixture_tags *tags)
{
    struct fixture_pcm *pcm = fixture_generate(wave, 440.0, seconds, sample_rate, channels);
    int ret = fixture_encode(path, fmt, pcm, tags);
    fixture_pcm_free(pcm);
    if (ret < 0)
        fail_msg("cannot encode fixture %s: %s", path, av_err2str(ret));
}

/* Reading from memory for fixture_decode_mem. */
struct membuf {
    const uint8_t *data;
    size_t len, pos;
};

static int mem_read(void *opaque, uint8_t *buf, int size)
{
    struct membuf *m = opaque;
    size_t left = m->len - m->pos;
    if (left == 0)
        return AVERROR_EOF;
    size_t n = (size_t)size < left ? (size_t)size : left;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence)
{
    struct membuf *m = opaque;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return (int64_t)m->len;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)m->pos;
        break;
    case SEEK_END:
        base = (int64_t)m->len;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (base + offset < 0 || base + offset > (int64_t)m->len)
        return AVERROR(EINVAL);
    m->pos = (size_t)(base + offset);
    return (int64_t)m->pos;
}

struct sink {
    struct fixture_info *info;
    float **samples;
    size_t cap;
    double sumsq;
};

static int take_frame(struct sink *s, SwrContext *swr, const AVFrame *frame)
{
    int ch = s->info->channels;
    float *tmp = xmalloc((size_t)frame->nb_samples * (size_t)ch * sizeof(float) + 1);
    uint8_t *outp[1] = {(uint8_t *)tmp};
    int n = swr_convert(swr, outp, frame->nb_samples, (const uint8_t **)frame->extended_data,
                        frame->nb_samples);
    if (n < 0) {
        free(tmp);
        return n;
    }
    for (size_t i = 0; i < (size_t)n * (size_t)ch; i++) {
        double v = fabs(tmp[i]);
        if (v > s->info->peak)
            s->info->peak = v;
        s->sumsq += v * v;
    }
    if (s->samples) {
        size_t need = (size_t)(s->info->frames + n) * (size_t)ch;
        if (need > s->cap) {
            s->cap = need * 2;
            *s->samples = xrealloc(*s->samples, s->cap * sizeof(float));
        }
        memcpy(*s->samples + (size_t)s->info->frames * (size_t)ch, tmp,
               (size_t)n * (size_t)ch * sizeof(float));
    }
    s->info->frames += n;
    free(tmp);
    return 0;
}

static int decode_ctx(AVFormatContext *ic, struct fixture_info *info, float **samples)
{
    AVCodecContext *dec = NULL;
    SwrContext *swr = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    struct sink s = {.info = info, .samples = samples};
    const AVCodec *codec = NULL;
    int ret = avformat_find_stream_info(ic, NULL);
    if (ret >= 0)
        ret = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (ret < 0)
        goto out;
    int idx = ret;
    dec = avcodec_alloc_context3(codec);
    dec->pkt_timebase = ic->streams[idx]->time_base;
    if ((ret = avcodec_parameters_to_context(dec, ic->streams[idx]->codecpar)) < 0 ||
        (ret = avcodec_open2(dec, codec, NULL)) < 0)
        goto out;
    info->sample_rate = dec->sample_rate;
    info->channels = dec->ch_layout.nb_channels;
    snprintf(info->format, sizeof(info->format), "%s", ic->iformat->name);
    snprintf(info->codec, sizeof(info->codec), "%s", codec->name);
    ret = swr_alloc_set_opts2(&swr, &dec->ch_layout, AV_SAMPLE_FMT_FLT, dec->sample_rate,
                              &dec->ch_layout, dec->sample_fmt, dec->sample_rate, 0, NULL);
    if (ret < 0 || (ret = swr_init(swr)) < 0)
        goto out;
    int eof = 0;
    while (ret >= 0) {
        if (!eof) {
            ret = av_read_frame(ic, pkt);
            if (ret == AVERROR_EOF) {
                eof = 1;
                ret = avcodec_send_packet(dec, NULL);
            } else if (ret >= 0) {
                if (pkt->stream_index == idx)
                    ret = avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
            }
            if (ret < 0)
                break;
        }
        while ((ret = avcodec_receive_frame(dec, frame)) >= 0) {
            /* A decoder may change format mid-stream only in theory; the
             * converter was set up from the first parameters. */
            ret = take_frame(&s, swr, frame);
            av_frame_unref(frame);
            if (ret < 0)
                goto out;
        }
        if (ret == AVERROR_EOF)
            break;
        if (ret == AVERROR(EAGAIN))
            ret = 0;
    }
    if (ret == AVERROR_EOF)
        ret = 0;
out:
    if (ret >= 0 && info->frames > 0) {
        info->duration = (double)info->frames / info->sample_rate;
        info->rms = sqrt(s.sumsq / ((double)info->frames * info->channels));
    }
    if (ret < 0 && samples) {
        free(*samples);
        *samples = NULL;
    }
    swr_free(&swr);
    avcodec_free_context(&dec);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return ret < 0 ? ret : 0;
}

int fixture_decode_file(const char *path, struct fixture_info *info, float **samples)
{
    memset(info, 0, sizeof(*info));
    if (samples)
        *samples = NULL;
    AVFormatContext *ic = NULL;
    int ret = avformat_open_input(&ic, path, NULL, NULL);
    if (ret < 0)
        return ret;
    ret = decode_ctx(ic, info, samples);
    avformat_close_input(&ic);
    return ret;
}

int fixture_decode_mem(const uint8_t *data, size_t len, struct fixture_info *info, float **samples)
{
    memset(info, 0, sizeof(*info));
    if (samples)
        *samples = NULL;
    struct membuf m = {.data = data, .len = len};
    enum { IO_BUF = 32768 };
    uint8_t *iobuf = av_malloc(IO_BUF);
    AVIOContext *io = avio_alloc_context(iobuf, IO_BUF, 0, &m, mem_read, NULL, mem_seek);
    AVFormatContext *ic = avformat_alloc_context();
    ic->pb = io;
    ic->flags |= AVFMT_FLAG_CUSTOM_IO;
    int ret = avformat_open_input(&ic, NULL, NULL, NULL);
    if (ret >= 0) {
        ret = decode_ctx(ic, info, samples);
        avformat_close_input(&ic);
    }
    /* avformat_open_input frees ic on failure; the custom I/O is ours. */
    av_freep(&io->buffer);
    avio_context_free(&io);
    return ret;
}
