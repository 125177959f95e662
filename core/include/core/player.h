/* player: plays a queue of tracks from the service through the chunk cache
 * — the playback sequencing behind `chorus play` (and, later, the
 * engine's player state machine).
 *
 * For each track in turn: cache_pin and cache_note_play (a playback hit
 * when the whole file is already cached), fetch_open (net/fetch.h:
 * manifest, key, then the file's chunks into the cache), and once the
 * fetch says READY a track stream over the cache (its missing-chunk
 * requests go to fetch_request) handed to the decoder: dec_play for the
 * first track (and after a gap), dec_queue_next for the one that follows,
 * so consecutive tracks join gaplessly. The next track's download starts
 * with prefetch priority prefetch_ms before the end of the one playing
 * (DESIGN §5: 30 s), or at once when the playing track is shorter than
 * that; it becomes the playing priority when the decoder reaches it.
 *
 * A track whose fetch or decode fails is reported and skipped; a fetch
 * failure of a track already given to the decoder (connection lost, disk
 * full) stops the decoder and fails the tracks it held, then the queue
 * carries on (and usually fails fast the same way).
 *
 * Threads: every player_* call on the loop's thread. The decoder's events
 * arrive on its thread and are handed to the loop (a mutex-protected list
 * and a uv_async); events to the owner are called on the loop. The player
 * owns the decoder (dec_new on the given output) and never blocks the loop
 * except in player_close (dec_free joins the decoder thread). */
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

/* A track to play (strings borrowed for player_new: it copies them). */
struct player_track {
    struct content_id id;
    const char *title, *artist, *album;
    int64_t duration_ms; /* from the catalog; 0 when unknown */
};

enum player_track_state {
    PLAYER_T_PENDING, /* not reached yet */
    PLAYER_T_PLAYING, /* being opened or heard */
    PLAYER_T_PLAYED,  /* played to its end */
    PLAYER_T_FAILED,  /* could not be fetched or decoded (error) */
    PLAYER_T_STOPPED, /* interrupted by player_stop while it played */
    PLAYER_T_SKIPPED, /* never reached: player_stop came first */
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
    struct fetch_file_stats fetch;
};

enum player_event_type {
    PLAYER_EV_TRACK_START, /* index: its first sample is being heard */
    PLAYER_EV_TRACK_END,   /* index: played, failed or stopped (see the result) */
    PLAYER_EV_DONE,        /* every track has ended; nothing more follows */
};

struct player_event {
    enum player_event_type type;
    size_t index;
    const struct player_result *result; /* TRACK_*: borrowed for the call */
};

/* Called on the loop; may call player_get_status and player_stop. */
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

/* Copies the tracks (n >= 1) and starts the decoder; nothing plays until
 * player_start. The caller owns *out until player_close. */
int player_new(const struct player_config *cfg, const struct player_track *tracks, size_t n,
               struct player **out);

/* Starts the first track. */
void player_start(struct player *p);

/* Stops playback and every download: the track heard becomes STOPPED,
 * those not reached SKIPPED. No more events. */
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
    size_t index;                                  /* the track heard or being opened */
    int64_t position_ms, duration_ms, buffered_ms; /* duration -1 when unknown */
    struct fetch_file_stats file;                  /* that track's download */
    uint64_t underruns;                            /* all playbacks so far */
};

void player_get_status(struct player *p, struct player_status *out);

/* The track list as given and the results so far (index < count). */
size_t player_count(const struct player *p);
const struct player_track *player_track_at(const struct player *p, size_t index);
const struct player_result *player_result_at(const struct player *p, size_t index);

#endif
