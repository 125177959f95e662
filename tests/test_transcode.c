/* Tests of audio/transcode: real files of every input format, encoded by
 * the test itself (audio_fixtures), transcoded to Ogg Vorbis and decoded
 * back; tags; every kind of bad input. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "audio/transcode.h"
#include "audio_fixtures.h"
#include "base/xmalloc.h"

/* Longest Vorbis block: the encoder's output may differ from the source by
 * less than this many samples. */
#define VORBIS_FRAME 2048

struct roundtrip_case {
    enum fixture_format fmt;
    int rate;
    int channels;
};

/* bitrate_nominal of the Vorbis identification header ("\x01vorbis",
 * version, channels, rate, bitrate_maximum, bitrate_nominal ...). */
static uint32_t vorbis_nominal_bitrate(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i + 24 <= len; i++)
        if (memcmp(data + i, "\x01vorbis", 7) == 0) {
            const uint8_t *p = data + i + 7 + 4 + 1 + 4 + 4;
            return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24;
        }
    fail_msg("no Vorbis identification header");
    return 0;
}

static void check_roundtrip(const char *dir, const struct roundtrip_case *c)
{
    char *path = xasprintf("%s/src-%d-%d.%s", dir, c->rate, c->channels, fixture_extension(c->fmt));
    fixture_write(path, c->fmt, FIXTURE_CHORD, 2.0, c->rate, c->channels, NULL);
    struct fixture_info src;
    assert_int_equal(fixture_decode_file(path, &src, NULL), 0);

    struct transcode_result res;
    int ret = transcode_to_memory(path, &res);
    if (ret != 0)
        fail_msg("%s: %s", path, res.error);
    assert_non_null(res.data);
    assert_int_equal(res.sample_rate, c->rate);
    assert_int_equal(res.channels, c->channels);
    assert_true(fabs(res.duration - src.duration) * c->rate <= VORBIS_FRAME);
    assert_true(res.samples == llround(res.duration * res.sample_rate));
    /* Quality 5: the Vorbis identification header's nominal bit rate
     * (160 kbit/s for 44.1 kHz stereo); a pure chord then takes less. */
    uint32_t nominal = vorbis_nominal_bitrate(res.data, res.size);
    if (c->channels == 2 && c->rate == 44100)
        assert_true(nominal >= 150000 && nominal <= 170000);
    else if (c->rate <= 48000 && (nominal < 40000 || nominal > 260000)) /* none above */
        fail_msg("nominal %u at %d Hz x %d", nominal, c->rate, c->channels);
    double kbps = (double)res.size * 8 / res.duration / 1000;
    assert_true(kbps > 16 && kbps < 400);

    struct fixture_info out;
    assert_int_equal(fixture_decode_mem(res.data, res.size, &out, NULL), 0);
    assert_string_equal(out.format, "ogg");
    assert_string_equal(out.codec, "vorbis");
    assert_int_equal(out.channels, c->channels);
    assert_int_equal(out.sample_rate, c->rate);
    assert_true(out.frames == res.samples);
    assert_true(fabs(out.duration - src.duration) * c->rate <= VORBIS_FRAME);
    /* Same loudness (lossy, so not the same samples), and nothing clipped. */
    assert_true(fabs(out.rms - src.rms) < 0.1 * src.rms);
    assert_true(out.peak < 0.99);
    transcode_result_clear(&res);
    free(path);
}

static void test_roundtrip_formats(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("transcode-roundtrip");
    static const struct roundtrip_case cases[] = {
        {FIXTURE_WAV, 44100, 2}, {FIXTURE_FLAC, 48000, 1}, {FIXTURE_MP3, 44100, 2},
        {FIXTURE_OGG, 32000, 1}, {FIXTURE_MP3, 22050, 1},  {FIXTURE_FLAC, 96000, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_roundtrip(dir, &cases[i]);
    testutil_rmtree(dir);
    free(dir);
}

static void test_tags(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("transcode-tags");
    const struct fixture_tags tags = {.title = "Blue Monday",
                                      .artist = "New Order",
                                      .album = "Power, Corruption & Lies",
                                      .album_artist = "New Order & Friends",
                                      .track = "3/12",
                                      .date = "1983-03-07"};
    const enum fixture_format fmts[] = {FIXTURE_FLAC, FIXTURE_MP3, FIXTURE_OGG, FIXTURE_WAV};
    for (size_t i = 0; i < 4; i++) {
        char *path = xasprintf("%s/tagged.%s", dir, fixture_extension(fmts[i]));
        fixture_write(path, fmts[i], FIXTURE_SINE, 0.5, 44100, 2, &tags);
        struct transcode_result res;
        assert_int_equal(transcode_to_memory(path, &res), 0);
        assert_string_equal(res.tags.title, "Blue Monday");
        assert_string_equal(res.tags.artist, "New Order");
        assert_string_equal(res.tags.album, "Power, Corruption & Lies");
        assert_int_equal(res.tags.track_number, 3);
        assert_string_equal(res.tags.date, "1983-03-07");
        if (fmts[i] != FIXTURE_WAV) /* RIFF INFO has no album artist */
            assert_string_equal(res.tags.album_artist, "New Order & Friends");
        transcode_result_clear(&res);
        free(path);
    }

    /* No tags at all: everything absent. */
    char *bare = xasprintf("%s/bare.flac", dir);
    fixture_write(bare, FIXTURE_FLAC, FIXTURE_SINE, 0.5, 44100, 1, NULL);
    struct transcode_result res;
    assert_int_equal(transcode_to_memory(bare, &res), 0);
    assert_null(res.tags.title);
    assert_null(res.tags.artist);
    assert_null(res.tags.album);
    assert_null(res.tags.album_artist);
    assert_null(res.tags.date);
    assert_int_equal(res.tags.track_number, 0);
    transcode_result_clear(&res);

    /* Latin-1 bytes become UTF-8, control characters spaces, blanks go. */
    const struct fixture_tags odd = {
        .title = "Caf\xe9 del Mar", .artist = "  A\tB\n ", .album = "   ", .track = "07"};
    fixture_write(bare, FIXTURE_FLAC, FIXTURE_SINE, 0.5, 44100, 1, &odd);
    assert_int_equal(transcode_to_memory(bare, &res), 0);
    assert_string_equal(res.tags.title, "Caf\xc3\xa9 del Mar");
    assert_string_equal(res.tags.artist, "A B");
    assert_null(res.tags.album);
    assert_int_equal(res.tags.track_number, 7);
    transcode_result_clear(&res);
    free(bare);
    testutil_rmtree(dir);
    free(dir);
}

static void test_to_file_keeps_tags(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("transcode-file");
    char *src = xasprintf("%s/in.mp3", dir), *dst = xasprintf("%s/out.ogg", dir);
    const struct fixture_tags tags = {.title = "Song", .artist = "Band", .track = "5"};
    fixture_write(src, FIXTURE_MP3, FIXTURE_NOISE, 1.0, 44100, 2, &tags);
    struct transcode_result res;
    assert_int_equal(transcode_to_file(src, dst, &res), 0);
    assert_null(res.data);
    struct stat st;
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct fixture_info out;
    assert_int_equal(fixture_decode_file(dst, &out, NULL), 0);
    assert_true(out.frames == res.samples);

    /* The Ogg file carries the tags as Vorbis comments. */
    AVFormatContext *ic = NULL;
    assert_int_equal(avformat_open_input(&ic, dst, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(ic, NULL) >= 0);
    const AVDictionaryEntry *e = av_dict_get(ic->streams[0]->metadata, "title", NULL, 0);
    assert_non_null(e);
    assert_string_equal(e->value, "Song");
    e = av_dict_get(ic->streams[0]->metadata, "track", NULL, 0);
    assert_non_null(e);
    assert_string_equal(e->value, "5");
    avformat_close_input(&ic);
    transcode_result_clear(&res);

    /* An output that cannot be created: the error says so, nothing left. */
    char *bad = xasprintf("%s/no-such-dir/out.ogg", dir);
    assert_int_equal(transcode_to_file(src, bad, &res), -ENOENT);
    assert_non_null(strstr(res.error, "no-such-dir"));
    transcode_result_clear(&res);
    free(bad);
    free(src);
    free(dst);
    testutil_rmtree(dir);
    free(dir);
}

static void test_rates_and_channels(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("transcode-rates");
    /* libvorbis refuses 384 kHz: the output falls back to 44.1 kHz. */
    char *hi = xasprintf("%s/hi.wav", dir);
    fixture_write(hi, FIXTURE_WAV, FIXTURE_SINE, 0.5, 384000, 2, NULL);
    struct transcode_result res;
    assert_int_equal(transcode_to_memory(hi, &res), 0);
    assert_int_equal(res.sample_rate, 44100);
    assert_true(fabs(res.duration - 0.5) * 44100 <= VORBIS_FRAME);
    struct fixture_info out;
    assert_int_equal(fixture_decode_mem(res.data, res.size, &out, NULL), 0);
    assert_int_equal(out.sample_rate, 44100);
    transcode_result_clear(&res);

    /* 5.1 becomes stereo. */
    char *surround = xasprintf("%s/six.flac", dir);
    fixture_write(surround, FIXTURE_FLAC, FIXTURE_CHORD, 0.5, 48000, 6, NULL);
    assert_int_equal(transcode_to_memory(surround, &res), 0);
    assert_int_equal(res.channels, 2);
    assert_int_equal(fixture_decode_mem(res.data, res.size, &out, NULL), 0);
    assert_int_equal(out.channels, 2);
    assert_true(out.rms > 0.05);
    transcode_result_clear(&res);
    free(hi);
    free(surround);
    testutil_rmtree(dir);
    free(dir);
}

static void test_encode_pcm(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("transcode-pcm");
    size_t frames = 22050 + 123;
    float *pcm = xmalloc(frames * 2 * sizeof(float));
    for (size_t i = 0; i < frames; i++) {
        pcm[2 * i] = (float)(0.5 * sin(2 * M_PI * 440 * (double)i / 22050));
        pcm[2 * i + 1] = (float)(0.25 * sin(2 * M_PI * 660 * (double)i / 22050));
    }
    const struct transcode_tags tags = {.title = "Tone", .artist = "Test", .track_number = 2};
    char *flac = xasprintf("%s/pcm.flac", dir), *ogg = xasprintf("%s/pcm.ogg", dir);
    assert_int_equal(transcode_encode_pcm(pcm, frames, 22050, 2, &tags, TRANSCODE_FLAC, flac), 0);
    assert_int_equal(transcode_encode_pcm(pcm, frames, 22050, 2, &tags, TRANSCODE_OGG_VORBIS, ogg),
                     0);
    float *back = NULL;
    struct fixture_info info;
    assert_int_equal(fixture_decode_file(flac, &info, &back), 0);
    assert_true(info.frames == (int64_t)frames); /* lossless: every sample */
    assert_int_equal(info.channels, 2);
    for (size_t i = 0; i < frames * 2; i++)
        assert_true(fabsf(back[i] - pcm[i]) < 1.0f / 16384);
    free(back);
    assert_int_equal(fixture_decode_file(ogg, &info, NULL), 0);
    assert_true(info.frames == (int64_t)frames);

    struct transcode_result res;
    assert_int_equal(transcode_to_memory(flac, &res), 0);
    assert_string_equal(res.tags.title, "Tone");
    assert_int_equal(res.tags.track_number, 2);
    transcode_result_clear(&res);

    assert_int_equal(transcode_encode_pcm(pcm, frames, 22050, 3, NULL, TRANSCODE_FLAC, flac),
                     -EINVAL);
    assert_int_equal(transcode_encode_pcm(pcm, 0, 22050, 2, NULL, TRANSCODE_FLAC, flac), -EINVAL);
    free(pcm);
    free(flac);
    free(ogg);
    testutil_rmtree(dir);
    free(dir);
}

/* Transcodes path, expects err, and that the reason contains want. */
static void expect_failure(const char *path, int err, const char *want)
{
    struct transcode_result res;
    int ret = transcode_to_memory(path, &res);
    if (ret != err || !strstr(res.error, want))
        fail_msg("%s: got %d '%s', want %d '%s'", path, ret, res.error, err, want);
    assert_null(res.data);
    transcode_result_clear(&res);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("transcode-bad");
    char *p;

    p = xasprintf("%s/empty.mp3", dir);
    testutil_write_file(p, "", 0);
    expect_failure(p, TRANSCODE_ENOTAUDIO, "empty");
    free(p);

    p = xasprintf("%s/notes.txt", dir);
    const char *text = "These are the liner notes.\nRecorded in one take.\n";
    testutil_write_file(p, text, strlen(text));
    expect_failure(p, TRANSCODE_ENOTAUDIO, "not an audio file");
    free(p);

    p = xasprintf("%s/noise.flac", dir);
    uint8_t junk[50000];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        junk[i] = (uint8_t)x;
    }
    testutil_write_file(p, junk, sizeof(junk));
    expect_failure(p, TRANSCODE_ENOTAUDIO, "no known format in its content");
    free(p);

    /* A subtitle file is media, but has no audio. */
    p = xasprintf("%s/talk.srt", dir);
    const char *srt = "1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> "
                      "00:00:04,000\nWorld\n\n";
    testutil_write_file(p, srt, strlen(srt));
    expect_failure(p, TRANSCODE_ENOSTREAM, "no audio stream");
    free(p);

    /* Half an MP3: its header declares the full length. */
    p = xasprintf("%s/cut.mp3", dir);
    fixture_write(p, FIXTURE_MP3, FIXTURE_CHORD, 4.0, 44100, 2, NULL);
    size_t len;
    uint8_t *mp3 = testutil_read_file(p, &len);
    testutil_write_file(p, mp3, len / 2);
    free(mp3);
    expect_failure(p, TRANSCODE_ECORRUPT, "truncated");
    free(p);

    /* The first third of a WAV and of a FLAC file: their headers say how
     * long they are (FFmpeg itself takes the WAV's size from the file). */
    static const enum fixture_format cut_formats[] = {FIXTURE_WAV, FIXTURE_FLAC};
    for (size_t i = 0; i < 2; i++) {
        p = xasprintf("%s/cut.%s", dir, fixture_extension(cut_formats[i]));
        fixture_write(p, cut_formats[i], FIXTURE_CHORD, 3.0, 44100, 2, NULL);
        uint8_t *whole = testutil_read_file(p, &len);
        testutil_write_file(p, whole, len / 3);
        free(whole);
        expect_failure(p, TRANSCODE_ECORRUPT, "truncated");
        free(p);
    }

    p = xasprintf("%s/missing.ogg", dir);
    expect_failure(p, -ENOENT, "No such file");
    free(p);

    p = xasprintf("%s/album.flac", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    expect_failure(p, -EISDIR, "directory");
    free(p);

    /* A FIFO with no writer: refused at once, never waited on. */
    p = xasprintf("%s/pipe.wav", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    expect_failure(p, TRANSCODE_ENOTFILE, "not a regular file");
    free(p);

    testutil_rmtree(dir);
    free(dir);
}

/* Damaged real files and plausible headers on noise: whatever comes out,
 * no crash, no hang, and a reason on failure. */
static void test_garbage_never_crashes(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("transcode-garbage");
    uint64_t x = 0x243F6A8885A308D3ull;
    for (int f = FIXTURE_WAV; f <= FIXTURE_OGG; f++) {
        char *p = xasprintf("%s/real.%s", dir, fixture_extension(f));
        fixture_write(p, f, FIXTURE_CHORD, 1.0, 44100, 2, NULL);
        size_t len;
        uint8_t *data = testutil_read_file(p, &len);
        for (int variant = 0; variant < 3; variant++) {
            uint8_t *copy = xmalloc(len);
            memcpy(copy, data, len);
            /* 0: noise in the middle third; 1: header then noise; 2: bytes
             * flipped all over. */
            size_t from = variant == 0 ? len / 3 : variant == 1 ? 64 : 0;
            size_t to = variant == 0 ? 2 * len / 3 : len;
            for (size_t i = from; i < to; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                if (variant < 2 || x % 97 == 0)
                    copy[i] = (uint8_t)(x >> 24);
            }
            char *q = xasprintf("%s/bad%d.%s", dir, variant, fixture_extension(f));
            testutil_write_file(q, copy, len);
            struct transcode_result res;
            int ret = transcode_to_memory(q, &res);
            if (ret == 0)
                assert_true(res.data && res.size > 0 && res.duration > 0);
            else
                assert_true(res.error[0] != '\0' && !res.data);
            transcode_result_clear(&res);
            free(q);
            free(copy);
        }
        free(data);
        free(p);
    }
    testutil_rmtree(dir);
    free(dir);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(transcode_strerror(TRANSCODE_ENOSTREAM), "no audio stream");
    assert_string_equal(transcode_strerror(-ENOSPC), strerror(ENOSPC));
    assert_non_null(transcode_strerror(-123456));
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_formats),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_to_file_keeps_tags),
        cmocka_unit_test(test_rates_and_channels),
        cmocka_unit_test(test_encode_pcm),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
