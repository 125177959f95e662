/* sink: audio output behind one small vtable (DESIGN.md §7).
 *
 * An aout is one open output: a backend (portaudio, null, bench, wav) plus the
 * feed state it shares with the producer. The backend's audio thread
 * pulls PCM from a ring (audio/ring.h) through aout_render, which only
 * copies, applies the volume, fills silence on underrun and counts it: it
 * never locks, allocates, logs or does I/O.
 *
 * Output spec (the --output option and [audio] output key):
 *   "portaudio" or "portaudio:DEVICE"  the default: PortAudio's default
 *                 output, or the first device whose name contains DEVICE
 *   "null"        discards the audio, paced in real time by its own thread
 *   "null:SPEED"  the same SPEED (1..64) times as fast
 *   "bench"       discards the audio like null, but every bench output in
 *                 the process is paced by one shared clock thread (a tick
 *                 every 20 ms) instead of a thread each: for hundreds of
 *                 engines in one process (chorus-bench swarm)
 *   "bench:SPEED" the same SPEED (1..64) times as fast
 *   "wav:FILE"    writes a RIFF WAVE file as fast as the decoder produces
 *                 (unpaced; records exactly what would be played)
 *   NULL or ""    the same as "portaudio"
 * With aout_config.fallback, a PortAudio output that cannot be opened (no
 * device, device busy) falls back to null; aout_notice then says why.
 *
 * Feed state, set by the producer (the decoder thread):
 *   IDLE      the consumer outputs silence and takes nothing (before the
 *             first audio of a play or seek has been buffered, after stop)
 *   RUNNING   the consumer takes audio; a shortfall is an underrun: it is
 *             counted once per episode, filled with silence, and playback
 *             waits until rebuffer_bytes are buffered again
 *   DRAINING  the producer has written the end of the queue: a shortfall is
 *             the end of the music, not an underrun
 * Pause is separate: a paused aout outputs silence and takes nothing.
 * So is a hold: the controlling thread takes one the moment it asks the
 * producer to drop what is buffered (seek, track change, stop), and the
 * output plays silence, taking nothing, until the producer has flushed
 * the ring and releases it. No stale audio is heard after the command,
 * however late the producer gets to it. Taking nothing, the output still
 * drops what the producer flushed from the ring (ring_flush), so a full
 * ring makes room for the audio after a seek or a track change.
 *
 * Volume is software: percent 0..100 maps to gain (percent/100)^3 (a cubic
 * curve, as ALSA and PulseAudio mixers use, so equal steps sound equal);
 * 100 is an exact copy. A change is ramped over one callback buffer, so it
 * never clicks.
 *
 * Threads: aout_open/aout_free/aout_attach/aout_start/aout_stop from the
 * owner's thread; aout_set_volume/aout_set_paused/aout_get_stats from any
 * thread; aout_set_feed from the one producer thread; aout_render and
 * aout_take from the backend's audio thread only. */
#ifndef CHORUS_AUDIO_SINK_H
#define CHORUS_AUDIO_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct clog;
struct ring;
struct aout;

/* Errors (negative); the wav sink also returns -errno. */
enum {
    AOUT_EINVAL = -3000,  /* unknown output spec or bad format */
    AOUT_ENODEV = -3001,  /* no usable output device */
    AOUT_EDEVICE = -3002, /* the device refused to open or start (see the log) */
    AOUT_ESTATE = -3003,  /* wrong state (start without a ring, attach while started) */
};

enum aout_sample {
    AOUT_S16, /* signed 16-bit, native endian, interleaved */
    AOUT_F32, /* 32-bit float in [-1, 1], interleaved */
};

struct aout_format {
    unsigned rate;     /* frames per second */
    unsigned channels; /* 1..8 */
    enum aout_sample sample;
};

/* Bytes of one frame (all channels) of f. */
size_t aout_frame_bytes(const struct aout_format *f);

enum aout_feed { AOUT_FEED_IDLE, AOUT_FEED_RUNNING, AOUT_FEED_DRAINING };

/* A backend. open gets the text after "name:" in the spec (or NULL), may
 * change *fmt to what the device accepts (rate, sample type) and stores its
 * state in *state; its audio thread calls aout_render or aout_take with
 * ao. start/stop may be called repeatedly; close is called once, stopped. */
struct aout_backend {
    const char *name;
    int (*open)(struct aout *ao, const char *arg, struct aout_format *fmt, struct clog *log,
                void **state);
    int (*start)(void *state);
    int (*stop)(void *state);
    void (*close)(void *state);
};

extern const struct aout_backend aout_backend_portaudio;
extern const struct aout_backend aout_backend_null;
extern const struct aout_backend aout_backend_bench;
extern const struct aout_backend aout_backend_wav;

struct aout_config {
    const char *spec;          /* see above; copied */
    struct aout_format format; /* wanted; rate 0 means 44100, channels 0 means 2 */
    bool fallback;             /* fall back to null when PortAudio fails */
    struct clog *log;          /* borrowed, may be NULL; the owner keeps it alive */
};

/* Opens the output (not started). The caller owns *out (aout_free). */
int aout_open(const struct aout_config *cfg, struct aout **out);
/* Stops and closes. NULL is ignored. */
void aout_free(struct aout *ao);

/* The backend in use ("portaudio", "null", "bench", "wav"), the format it runs at,
 * and why it is not what was asked for (NULL when it is). Owned by ao. */
const char *aout_name(const struct aout *ao);
const struct aout_format *aout_get_format(const struct aout *ao);
const char *aout_notice(const struct aout *ao);

/* Sets the ring the audio thread reads (borrowed: it must outlive its use;
 * NULL detaches). Only while stopped. */
int aout_attach(struct aout *ao, struct ring *ring);
int aout_start(struct aout *ao);
int aout_stop(struct aout *ao);

/* ---- control: any thread ---- */
void aout_set_volume(struct aout *ao, int percent); /* clamped to 0..100 */
int aout_get_volume(const struct aout *ao);
void aout_set_paused(struct aout *ao, bool paused);
bool aout_is_paused(const struct aout *ao);
/* Takes a hold (see above); returns its ticket for aout_release. */
uint64_t aout_hold(struct aout *ao);

/* ---- producer (one thread) ---- */
/* Sets the feed state (see above). Going to IDLE, or from IDLE to RUNNING
 * or DRAINING, clears first_audio_ns so the next consumed frame is stamped.
 * rebuffer_bytes: how much must be buffered again after an underrun. */
void aout_set_feed(struct aout *ao, enum aout_feed feed, size_t rebuffer_bytes);
enum aout_feed aout_get_feed(const struct aout *ao);
/* Releases the holds up to ticket (the producer, once it has flushed). */
void aout_release(struct aout *ao, uint64_t ticket);

struct aout_stats {
    uint64_t frames_played;   /* frames taken from the ring */
    uint64_t silence_frames;  /* frames of silence output (idle, paused, starved) */
    uint64_t underruns;       /* underrun episodes while RUNNING */
    uint64_t underrun_frames; /* silence frames output because of them */
    uint64_t first_audio_ns;  /* CLOCK_MONOTONIC when the first frame after
                                the last IDLE -> RUNNING/DRAINING was taken;
                                0 until then */
};
/* Any thread; each field is read atomically. */
void aout_get_stats(const struct aout *ao, struct aout_stats *out);

/* ---- backend audio thread ---- */
/* Fills out with frames frames: audio from the ring, silence for the rest.
 * Returns the frames taken from the ring. For real-time backends. */
size_t aout_render(struct aout *ao, void *out, size_t frames);
/* Copies at most max_frames available frames (volume applied) and returns
 * how many; 0 when paused, idle or empty. Never outputs silence nor counts
 * an underrun. For unpaced backends (wav). */
size_t aout_take(struct aout *ao, void *out, size_t max_frames);

const char *aout_strerror(int err);

#endif
