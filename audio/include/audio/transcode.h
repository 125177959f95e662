/* transcode: any audio file FFmpeg can read -> Ogg Vorbis quality 5
 * (DESIGN.md §3), with the tags it carries and its exact duration.
 *
 * The source is decoded (libavformat, libavcodec), converted (libswresample)
 * and encoded with libvorbis through libavcodec at quality 5 (~160 kbit/s).
 * The sample rate is kept (44100 Hz when the encoder refuses it); mono stays
 * mono, anything else becomes stereo.
 *
 * Input is read only from a regular file, through a descriptor this module
 * opens itself (a FIFO or device is refused before any read, so nothing
 * blocks); nested resources a demuxer may ask for (playlists) are limited
 * to local files. Bad input gets an error and a one-line reason, never a
 * crash or a hang: not audio, no audio stream, truncated or corrupt data.
 *
 * Pure functions with no shared state: any thread, several at once. Nothing
 * here logs through Chorus; FFmpeg's own messages go to av_log, which the
 * program configures (the commands silence it).
 *
 * Errors: 0 or negative: TRANSCODE_* below, or -errno (-ENOENT, -EACCES,
 * -EISDIR, -ENOSPC when writing a file ...); transcode_strerror covers both. */
#ifndef CHORUS_AUDIO_TRANSCODE_H
#define CHORUS_AUDIO_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    TRANSCODE_ENOTAUDIO = -4000, /* no format recognised: not audio */
    TRANSCODE_ENOSTREAM = -4001, /* a media file without an audio stream */
    TRANSCODE_ECORRUPT = -4002,  /* truncated or corrupt audio data */
    TRANSCODE_ECODEC = -4003,    /* no decoder for the audio codec */
    TRANSCODE_EENCODE = -4004,   /* the encoder or muxer failed */
    TRANSCODE_ENOTFILE = -4005,  /* not a regular file (FIFO, device ...) */
    TRANSCODE_ETOOLONG = -4006,  /* longer than TRANSCODE_MAX_SECONDS */
};

/* The longest track accepted (a garbage file "declaring" days of audio is
 * stopped here, not after filling the disk). */
#define TRANSCODE_MAX_SECONDS (6.0 * 3600.0)

/* Output formats of transcode_encode_pcm. */
enum transcode_format {
    TRANSCODE_OGG_VORBIS, /* Ogg Vorbis quality 5: the content format */
    TRANSCODE_FLAC,       /* lossless, for intermediate files */
};

/* Tags. Strings are UTF-8 (Latin-1 tags are converted), trimmed, without
 * control characters; NULL when absent. In a transcode_result they are
 * owned by it; given to transcode_encode_pcm they are borrowed. */
struct transcode_tags {
    char *title;
    char *artist;
    char *album;
    char *album_artist;
    char *date;       /* as tagged: "2003", "2003-05-01" ... */
    int track_number; /* 0: absent; "3/12" gives 3 */
    int disc_number;  /* 0: absent */
};

struct transcode_result {
    struct transcode_tags tags; /* read from the source */
    int64_t samples;            /* sample frames in the output */
    int sample_rate;            /* of the output */
    int channels;               /* of the output: 1 or 2 */
    double duration;            /* samples / sample_rate, seconds */
    char source_format[32];     /* demuxer, e.g. "flac" */
    char source_codec[32];      /* decoder, e.g. "mp3float" */
    uint8_t *data;              /* transcode_to_memory: the Ogg file, owned */
    size_t size;
    char error[256]; /* on failure: the reason in one line, no file name */
};

/* Transcodes the file at path into memory: res->data/size get the Ogg
 * Vorbis file. res is cleared first (need not be initialised); release it
 * with transcode_result_clear whatever the return value. */
int transcode_to_memory(const char *path, struct transcode_result *res);

/* The same, written to a new file at dest (created with mode 0600,
 * replaced if it exists; removed again on failure). res->data stays NULL. */
int transcode_to_file(const char *path, const char *dest, struct transcode_result *res);

/* Frees what res owns and zeroes it. */
void transcode_result_clear(struct transcode_result *res);

/* Encodes frames of interleaved float PCM (channels 1 or 2, full scale
 * +-1.0; borrowed) into a new file at dest in fmt, with tags (may be NULL;
 * borrowed). Returns 0 or a negative error; no file is left on failure. */
int transcode_encode_pcm(const float *pcm, size_t frames, int sample_rate, int channels,
                         const struct transcode_tags *tags, enum transcode_format fmt,
                         const char *dest);

/* Text for an error code (static). */
const char *transcode_strerror(int err);

#endif
