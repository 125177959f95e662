/* decoder: the decoder thread (DESIGN.md §2, §7).
 *
 * A dec owns one thread, the PCM ring and the tracks it is given. The
 * thread demuxes with libavformat through a custom seekable AVIOContext
 * over a track stream (audio/track_stream.h), decodes with libavcodec,
 * converts with libswresample to the output's format and rate, and writes
 * into the ring that the output (audio/sink.h) plays.
 *
 * Playback: dec_play starts a track at once (whatever was playing stops).
 * dec_queue_next names the track to follow; when the current track's data
 * is all decoded the decoder opens the next one and keeps writing, so the
 * two join sample for sample in the ring: no gap, no overlap, no click
 * (the resampler carries over when both tracks have the same input format,
 * so even a resampled join is continuous). Ogg Vorbis, MP3 and the others
 * are trimmed to their exact length by libavcodec (Ogg granule positions,
 * the LAME gapless header). A track is opened without the demuxer reading
 * the end of the file, so a file that is still arriving starts from its
 * first chunks.
 *
 * Seek (absolute or relative to the position being heard) lands on the
 * exact sample: the demuxer seeks a little before the target and the
 * decoded samples before it are dropped. A seek or a new track bumps the
 * track stream's generation (a read blocked on a missing chunk returns at
 * once) and flushes the ring without stopping the output.
 *
 * Playback starts when prebuffer_ms of audio are buffered (or the whole
 * track is), and after an underrun resumes when prebuffer_ms are buffered
 * again.
 *
 * Events go to the owner through on_event, called on the decoder thread
 * (the engine turns them into mq events): every track given to the decoder
 * ends with exactly one DEC_EV_TRACK_END or DEC_EV_ERROR unless a later
 * dec_play or dec_stop drops it first; DEC_EV_QUEUE_END follows when
 * nothing is left to play. Track boundaries are reported when the output
 * reaches them (within ~10 ms), not when the decoder does.
 *
 * Figures: time to first audio (dec_play call -> first sample handed to the
 * output), underruns per playback, audio buffered ahead, decode CPU time
 * (CLOCK_THREAD_CPUTIME_ID of the decoder thread).
 *
 * FFmpeg's messages: the first dec_new replaces FFmpeg's log callback,
 * which is process-wide, with one that drops every message (FFmpeg would
 * write to stderr, under the ncurses screen, with no context of ours).
 * That silences every FFmpeg user in the process, transcoding included;
 * the decoder logs what matters itself, and import failures carry reasons
 * from Chorus's own checks (audio/transcode.h).
 *
 * Threads: every dec_* call from any one controlling thread (the core
 * loop); on_event on the decoder thread. */
#ifndef CHORUS_AUDIO_DECODER_H
#define CHORUS_AUDIO_DECODER_H

#include <stdbool.h>
#include <stdint.h>

struct aout;
struct clog;
struct tstream;

/* Errors (negative). */
enum {
    DEC_EINVAL = -3200,    /* bad argument */
    DEC_EFORMAT = -3201,   /* the data is not in a format libavformat reads */
    DEC_ENOAUDIO = -3202,  /* no audio stream */
    DEC_ECODEC = -3203,    /* no decoder, or the decoder failed */
    DEC_ERESAMPLE = -3204, /* the resampler could not be set up */
    DEC_ESTREAM = -3205,   /* the track stream failed (see the log) */
};

enum dec_event_type {
    DEC_EV_STARTED,     /* the first sample of a dec_play reached the output */
    DEC_EV_TRACK_START, /* a queued track became the one playing (gapless) */
    DEC_EV_TRACK_END,   /* the output played a track's last sample */
    DEC_EV_QUEUE_END,   /* nothing more to play; the output ran dry */
    DEC_EV_ERROR,       /* a track could not be opened or decoded (error) */
};

/* Per playback figures, in DEC_EV_TRACK_END (and so far in DEC_EV_ERROR). */
struct dec_track_figures {
    int64_t ttfa_ns;        /* time to first audio; 0 for a gapless start */
    int64_t position_ms;    /* where the track ended */
    uint64_t underruns;     /* underrun episodes while it played */
    uint64_t underrun_ms;   /* silence they caused */
    uint64_t decode_cpu_ns; /* decoder-thread CPU spent on it */
    uint64_t decoded_ms;    /* audio decoded for it (seeks add re-decodes) */
    uint64_t stalls;        /* reads that waited for a missing chunk */
    uint64_t stall_ns;      /* time those waits took */
};

struct dec_event {
    enum dec_event_type type;
    uint64_t tag;                     /* the track's tag (dec_play / dec_queue_next) */
    int error;                        /* DEC_EV_ERROR: DEC_* code */
    int64_t ttfa_ns;                  /* DEC_EV_STARTED */
    struct dec_track_figures figures; /* DEC_EV_TRACK_END, DEC_EV_ERROR */
};

/* ev is valid during the call only. Called on the decoder thread; must not
 * call back into the dec. */
typedef void (*dec_event_fn)(void *ctx, const struct dec_event *ev);

struct dec_config {
    struct aout *out;      /* borrowed; opened, not started; must outlive the dec */
    unsigned buffer_ms;    /* PCM ring length; 0: 2000 */
    unsigned prebuffer_ms; /* audio buffered before playback starts; 0: 200 */
    dec_event_fn on_event; /* may be NULL */
    void *event_ctx;
    struct clog *log; /* borrowed; may be NULL */
};

struct dec;

/* Creates the ring, attaches it to cfg->out, starts the output and the
 * thread. The caller owns *out (dec_free). */
int dec_new(const struct dec_config *cfg, struct dec **out);
/* Stops the thread and the output (detached from the ring), frees every
 * track. NULL is ignored. */
void dec_free(struct dec *d);

/* Plays ts from start_ms (0: the beginning), replacing whatever played or
 * was queued. Takes ownership of ts. */
int dec_play(struct dec *d, struct tstream *ts, uint64_t tag, int64_t start_ms);
/* Names the track to follow the current one (replacing any earlier
 * choice; if the decoder had already begun the earlier one, the current
 * track is re-sought to the position being heard, which may be audible).
 * Call it after dec_play: dec_play and dec_stop drop a queued track. The
 * decoder opens it when the current track is all decoded (about
 * buffer_ms before its end), so its first chunks should be fetched by
 * then. Takes ownership of ts. */
int dec_queue_next(struct dec *d, struct tstream *ts, uint64_t tag);
/* Seeks the track being heard; relative: ms is added to its position.
 * Clamped at 0; past the end, the track ends. */
int dec_seek(struct dec *d, int64_t ms, bool relative);
/* Stops and drops every track (no events). */
void dec_stop(struct dec *d);
void dec_pause(struct dec *d);
void dec_resume(struct dec *d);
void dec_set_volume(struct dec *d, int percent);

enum dec_state { DEC_STOPPED, DEC_BUFFERING, DEC_PLAYING, DEC_PAUSED };

struct dec_status {
    enum dec_state state;
    uint64_t tag;                      /* of the track being heard */
    int64_t position_ms;               /* in that track */
    int64_t duration_ms;               /* from the container, -1 when unknown */
    int64_t buffered_ms;               /* decoded audio ahead of the output */
    int volume;                        /* percent */
    uint64_t input_offset, input_size; /* track stream of the decoding track */
};
void dec_get_status(struct dec *d, struct dec_status *out);

/* Lifetime totals. */
struct dec_figures {
    uint64_t plays;          /* dec_play calls that reached the output */
    int64_t last_ttfa_ns;    /* of the latest one */
    int64_t last_seek_ns;    /* seek command -> first sample after it output */
    uint64_t underruns;      /* as counted by the output */
    uint64_t decode_cpu_ns;  /* decoder-thread CPU, all tracks */
    uint64_t decoded_frames; /* output-rate frames produced */
};
void dec_get_figures(struct dec *d, struct dec_figures *out);

const char *dec_strerror(int err);

#endif
