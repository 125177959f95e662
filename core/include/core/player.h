/* player: the engine's playback — the track heard and the one to follow —
 * over fetch, the cache and the decoder.
 *
 * The engine says what to play (player_play: now, from a position) and
 * what follows (player_set_next); the player does the rest. For each
 * track: cache_pin and cache_note_play (a playback hit when the whole
 * file is already cached), fetch_open (manifest, key, then the file's
 * chunks into the cache), and once the fetch says READY a track stream
 * over the cache (its missing-chunk requests go to fetch_request) handed
 * to the decoder: dec_play for a track played now, dec_queue_next for the
 * one that follows, so consecutive tracks join gaplessly. The next
 * track's download starts with prefetch priority prefetch_ms before the
 * end of the one playing (DESIGN §5: 30 s), or at once when the playing
 * track is shorter than that, from peers only until
 * PLAYER_NEXT_SERVICE_MS before the end; it becomes the playing priority
 * when the decoder reaches it. Every tick the player tells the fetch
 * where playback is in each file (fetch_set_playhead), which sets the
 * service's window.
 *
 * Every track the player is given gets a tag (its sequence number) and,
 * once it started or failed, exactly one TRACK_END; IDLE says the decoder
 * holds nothing more. A track whose fetch or decode fails is reported
 * (TRACK_END, FAILED) and the player goes on with the next it was given;
 * a fetch failure of a track already given to the decoder (disk full)
 * stops the decoder and fails the tracks it held.
 *
 * Threads: every player_* call on the loop's thread. The decoder's events
 * arrive on its thread and are handed to the loop (core/inbox.h); events
 * to the owner are called on the loop. The player owns the decoder
 * (dec_new on the given output) and never blocks the loop except in
 * player_close (dec_free joins the decoder thread). */
#ifndef CHORUS_APP_PLAYER_H
#define CHORUS_APP_PLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/manifest.h"
#include "core/fetch.h"

struct aout;
struct cache;
struct clog;

#define PLAYER_PREFETCH_MS 30000 /* start the next track's download this long before the end */
/* ... from peers only; the service is allowed for its start this long
 * before the end (DESIGN §5: 10 s) */
#define PLAYER_NEXT_SERVICE_MS 10000

/* A track to play (strings borrowed for the call: the player copies them). */
struct player_track {
    struct content_id id;
    uint64_t tag; /* the owner's (the catalog's track id); not the player's tag */
    const char *title, *artist, *album;
    int64_t duration_ms; /* from the catalog; 0 when unknown */
};

enum player_track_state {
    PLAYER_T_PENDING, /* not reached yet */
    PLAYER_T_PLAYING, /* being opened or heard */
    PLAYER_T_PLAYED,  /* played to its end */
    PLAYER_T_FAILED,  /* could not be fetched or decoded (error) */
    PLAYER_T_STOPPED, /* interrupted by player_stop while it played */
    PLAYER_T_SKIPPED, /* never reached: replaced or stopped first */
};

/* What became of one track (filled in as it plays). */
struct player_result {
    enum player_track_state state;
    int error;          /* FAILED: a FETCH_*, cache or DEC_* code (chorus_strerror) */
    bool cache_hit;     /* the whole file was cached when it was opened */
    bool gapless;       /* it followed the previous track with no gap */
    int64_t latency_ns; /* its audio wanted -> its first sample output; 0 when gapless */
    int64_t ttfa_ns;    /* the decoder's figure: dec_play -> first sample; 0 when gapless */
    int64_t played_ms;  /* where it ended */
    uint64_t underruns, underrun_ms;
    uint64_t stalls; /* decoder reads that waited for a chunk */
    /* bytes heard, by where each chunk came from (enum fetch_chunk_source:
     * cached before the play, peers, service); a seek skips what it jumps */
    uint64_t played_bytes[FETCH_CH_COUNT];
    struct fetch_file_stats fetch;
};

enum player_event_type {
    PLAYER_EV_READY,       /* tag: its manifest is stored and its key known (file) */
    PLAYER_EV_TRACK_START, /* tag: its first sample is being heard */
    PLAYER_EV_TRACK_END,   /* tag: played, failed or stopped (see the result) */
    PLAYER_EV_IDLE,        /* the decoder holds nothing more */
};

#define PLAYER_NO_TAG UINT64_MAX

struct player_event {
    enum player_event_type type;
    uint64_t tag;
    const struct player_result *result; /* READY, TRACK_*: borrowed for the call */
    const struct fetch_event *file;     /* READY: borrowed for the call */
};

/* Called on the loop; may call any player_* function but player_close. */
typedef void (*player_event_fn)(void *ctx, const struct player_event *ev);

struct player_config {
    uv_loop_t *loop;
    struct cache *cache;   /* borrowed; must outlive the player */
    struct fetch *fetch;   /* borrowed; must outlive the player */
    struct aout *out;      /* opened, not started; borrowed, must outlive the player */
    unsigned buffer_ms;    /* decoder ring (0: the decoder's default) */
    unsigned prebuffer_ms; /* (0: the decoder's default) */
    unsigned prefetch_ms;  /* 0: PLAYER_PREFETCH_MS */
    struct clog *log;      /* borrowed, may be NULL */
    player_event_fn on_event;
    void *event_ctx;
};

struct player;

/* Starts the decoder; nothing plays until player_play. The caller owns
 * *out until player_close. */
int player_new(const struct player_config *cfg, struct player **out);

/* Plays t now from start_ms, replacing whatever played or was to follow
 * (the track heard ends STOPPED). Returns its tag. */
uint64_t player_play(struct player *p, const struct player_track *t, int64_t start_ms);

/* Names the track that follows the current one (NULL: none), replacing an
 * earlier choice the decoder has not opened yet (one it has opened, in
 * the last seconds of the current track, is replaced when t is given and
 * otherwise still plays). Returns t's tag, or PLAYER_NO_TAG. */
uint64_t player_set_next(struct player *p, const struct player_track *t);

void player_pause(struct player *p);
void player_resume(struct player *p);
/* Seeks the current track (relative: ms is added to its position); one not
 * heard yet will start there. */
void player_seek(struct player *p, int64_t ms, bool relative);
void player_set_volume(struct player *p, int percent);

/* Stops playback and every download: the track heard ends STOPPED. */
void player_stop(struct player *p);

/* Frees the decoder (joining its thread), releases the files, then calls
 * cb(arg) on the loop and frees itself. */
void player_close(struct player *p, void (*cb)(void *arg), void *arg);

enum player_state {
    PLAYER_OPENING,   /* fetching the manifest, key and first chunks */
    PLAYER_BUFFERING, /* the decoder waits for audio */
    PLAYER_PLAYING,
    PLAYER_DONE,
};

struct player_status {
    enum player_state state;
    uint64_t tag;                                  /* the track heard or being opened */
    int64_t position_ms, duration_ms, buffered_ms; /* duration -1 when unknown */
    struct fetch_file_stats file;                  /* that track's download */
    uint64_t underruns;                            /* all playbacks so far */
};

void player_get_status(struct player *p, struct player_status *out);

/* Every byte heard so far by where its chunk came from, and the tracks
 * heard by where most of their bytes came from (both indexed by enum
 * fetch_chunk_source; FETCH_CH_MISSING counts what could not be told). */
void player_heard(const struct player *p, uint64_t bytes[FETCH_CH_COUNT],
                  uint64_t playbacks[FETCH_CH_COUNT]);

/* Where chunk index of track tag's file came from, while the player still
 * holds the file (FETCH_CH_MISSING otherwise). */
enum fetch_chunk_source player_chunk_source(const struct player *p, uint64_t tag, uint32_t index);

/* Every track given so far, by tag (tag < player_count), and its result. */
size_t player_count(const struct player *p);
const struct player_track *player_track_at(const struct player *p, uint64_t tag);
const struct player_result *player_result_at(const struct player *p, uint64_t tag);

#endif
