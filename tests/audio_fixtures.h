/* audio_fixtures: real audio files that a test makes itself.
 *
 * A test generates PCM (sine, chord, noise; any duration, rate and channel
 * count, or PCM of its own), encodes it into WAV, FLAC, MP3 or Ogg Vorbis
 * through libavformat/libavcodec with tags, and decodes files or buffers
 * back to check what came out. Independent of the code under test: only
 * FFmpeg is used here. Any thread; no shared state. */
#ifndef CHORUS_TESTS_AUDIO_FIXTURES_H
#define CHORUS_TESTS_AUDIO_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

enum fixture_format {
    FIXTURE_WAV,  /* RIFF WAVE, pcm_s16le, tags as a LIST INFO chunk */
    FIXTURE_FLAC, /* native FLAC, tags as Vorbis comments */
    FIXTURE_MP3,  /* MPEG-1 layer III (libmp3lame, 192 kbit/s), ID3v2 tags */
    FIXTURE_OGG,  /* Ogg Vorbis (libvorbis, quality 5), Vorbis comments */
};

enum fixture_wave {
    FIXTURE_SINE,  /* a sine at freq Hz */
    FIXTURE_CHORD, /* a major triad on freq Hz (freq, 5/4 freq, 3/2 freq) */
    FIXTURE_NOISE, /* white noise, deterministic: freq is the seed */
};

/* Tags to write; any member may be NULL (not written). track is the track
 * number as text ("3" or "3/12"). */
struct fixture_tags {
    const char *title;
    const char *artist;
    const char *album;
    const char *album_artist;
    const char *track;
    const char *date;
};

/* Interleaved signed 16-bit PCM. */
struct fixture_pcm {
    int16_t *samples; /* frames * channels values, owned */
    size_t frames;
    int sample_rate;
    int channels;
};

/* Generates seconds of wave at half of full scale (peak 0.5, chord 0.75).
 * Owned by the caller: fixture_pcm_free. */
struct fixture_pcm *fixture_generate(enum fixture_wave wave, double freq, double seconds,
                                     int sample_rate, int channels);
/* An empty buffer of frames frames (silence) to fill in. */
struct fixture_pcm *fixture_pcm_new(size_t frames, int sample_rate, int channels);
void fixture_pcm_free(struct fixture_pcm *pcm);

/* Encodes pcm into a new file at path (replaced if it exists). tags may be
 * NULL. Returns 0 or a negative AVERROR; on error no file is left. */
int fixture_encode(const char *path, enum fixture_format fmt, const struct fixture_pcm *pcm,
                   const struct fixture_tags *tags);

/* Generates and encodes in one step; fails the current cmocka test when
 * anything goes wrong. */
void fixture_write(const char *path, enum fixture_format fmt, enum fixture_wave wave,
                   double seconds, int sample_rate, int channels, const struct fixture_tags *tags);

/* What decoding a whole file found. */
struct fixture_info {
    int sample_rate;
    int channels;
    int64_t frames;  /* sample frames decoded (after gapless trimming) */
    double duration; /* frames / sample_rate, seconds */
    double peak;     /* largest |sample|, full scale = 1.0 */
    double rms;      /* over all samples, full scale = 1.0 */
    char format[32]; /* demuxer name, e.g. "ogg" */
    char codec[32];  /* decoder name, e.g. "vorbis" */
};

/* Decodes the first audio stream of a file, or of a buffer in memory, to
 * the end. When samples is not NULL it receives the whole signal as
 * interleaved float (frames * channels values, owned by the caller).
 * Returns 0 or a negative AVERROR (AVERROR_INVALIDDATA for garbage,
 * AVERROR_STREAM_NOT_FOUND without audio). */
int fixture_decode_file(const char *path, struct fixture_info *info, float **samples);
int fixture_decode_mem(const uint8_t *data, size_t len, struct fixture_info *info, float **samples);

/* File name extension of a format without the dot ("wav", "flac", ...). */
const char *fixture_extension(enum fixture_format fmt);

#endif
