/* mq: the message queue between the UI and the core (DESIGN.md §2).
 *
 * Two directions, one object:
 *  - commands, UI -> core: any thread appends under a mutex and wakes the
 *    core loop with uv_async_send. Wake-ups coalesce, so the async callback
 *    steals the whole list and hands every message to the command handler,
 *    unlocked, in the order they were sent.
 *  - events, core -> UI: the core appends and writes an eventfd that the UI
 *    polls together with stdin (no fixed-interval polling). The fd is
 *    written once per batch, not once per message.
 *  - a snapshot of high-rate state (position, buffer, peers, slots, rates,
 *    hit rate) that the core overwrites a few times a second; the UI reads
 *    the latest copy and never sees a backlog of stale ticks.
 *
 * Ownership travels with a message: whoever holds a struct mq_msg owns it
 * and its payload; mq_send_command/mq_post_event take ownership, the
 * command handler and mq_take_events hand it on, mq_msg_free releases it.
 *
 * Threads: mq_new, mq_close and the command handler run on the core loop's
 * thread; mq_send_command, mq_post_event, mq_publish_snapshot,
 * mq_take_events and mq_read_snapshot are safe from any thread. */
#ifndef CHORUS_CORE_MQ_H
#define CHORUS_CORE_MQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/inbox.h"

enum mq_type {
    /* commands, UI -> core */
    MQ_CMD_QUIT = 1, /* shut the core down */
    MQ_CMD_PING,     /* num.a: cookie; the core answers MQ_EV_PONG */
    MQ_CMD_RUN,      /* blob: a struct cmd of the command table (core/cmd.h) */

    /* events, core -> UI */
    MQ_EV_PONG = 100,        /* num.a: the cookie of the ping */
    MQ_EV_STATUS,            /* text: a line for the status bar */
    MQ_EV_ERROR,             /* text: an error the user should see */
    MQ_EV_QUITTING,          /* the core is shutting down; the UI should exit */
    MQ_EV_TRACK_CHANGED,     /* blob: struct mq_track (NULL ptr: nothing plays) */
    MQ_EV_STATE,             /* num.a: enum mq_play_state */
    MQ_EV_SEARCH_RESULTS,    /* blob: json_t array of tracks (json_decref) */
    MQ_EV_BROWSE_RESULTS,    /* blob: json_t array of items */
    MQ_EV_PLAYLISTS_CHANGED, /* the playlists changed: ask `playlist list` again */
    MQ_EV_QUEUE_CHANGED,     /* the queue changed: ask `queue list` again */
    MQ_EV_SERVICE,           /* num.a: enum mq_service_state */
    MQ_EV_REPLY,             /* blob: a command's answer, posted by the sender's own reply
                                callback (its struct; the TUI's is in ui/tui.c) */
    MQ_EV_PLAYBACK,          /* blob: struct mq_playback — one playback ended (only with
                                engine_config.report_playbacks: the benchmark's record) */

    /* free for tests and tools that carry their own meaning in num/text */
    MQ_TEST = 1000,
};

enum mq_payload_kind {
    MQ_PAYLOAD_NONE,
    MQ_PAYLOAD_NUM,  /* num.a, num.b */
    MQ_PAYLOAD_TEXT, /* text, NUL-terminated, owned */
    MQ_PAYLOAD_BLOB, /* blob.ptr, released with blob.free (may be NULL) */
};

struct mq_msg {
    struct mq_msg *next;        /* list link: the queue's while queued, then the taker's */
    struct inbox_node cmd_link; /* mq's own: the command inbox's link */
    enum mq_type type;
    enum mq_payload_kind kind;
    union {
        struct {
            int64_t a, b;
        } num;
        char *text;
        struct {
            void *ptr;
            void (*free)(void *ptr);
        } blob;
    } u;
};

/* Constructors: the returned message is owned by the caller. */
struct mq_msg *mq_msg_new(enum mq_type type);
struct mq_msg *mq_msg_new_num(enum mq_type type, int64_t a, int64_t b);
/* Copies text. */
struct mq_msg *mq_msg_new_text(enum mq_type type, const char *text);
/* Takes ownership of ptr; free_fn (may be NULL) releases it. */
struct mq_msg *mq_msg_new_blob(enum mq_type type, void *ptr, void (*free_fn)(void *));
/* Frees the message and its payload. NULL is ignored. */
void mq_msg_free(struct mq_msg *msg);
/* Frees a whole list linked through next. */
void mq_msg_free_list(struct mq_msg *list);

/* High-rate state: everything `chorus remote status --json` shows, the
 * per-connection table and the playing track's chunk map. Plain values,
 * copied whole (about 12 KiB) by the reader: the engine publishes it at
 * most MQ_SNAPSHOT_HZ times a second. */
enum mq_play_state { MQ_STOPPED, MQ_PLAYING, MQ_PAUSED, MQ_BUFFERING };
enum mq_service_state { MQ_SERVICE_OFFLINE, MQ_SERVICE_CONNECTING, MQ_SERVICE_ONLINE };
/* Where a chunk of the playing track was when the player needed it. */
enum mq_chunk_src { MQ_CHUNK_MISSING = 0, MQ_CHUNK_CACHE, MQ_CHUNK_PEER, MQ_CHUNK_SERVICE };

#define MQ_SNAPSHOT_HZ 10
#define MQ_MAX_CONNS   64   /* rows of the connection table (the engine keeps at most 60) */
#define MQ_MAX_CELLS   2048 /* chunk map cells; a longer track groups chunks per cell */
#define MQ_TEXT_MAX    256  /* title, artist, album (cut on a UTF-8 boundary) */

struct mq_track {
    uint64_t id; /* the catalog's track id */
    char title[MQ_TEXT_MAX], artist[MQ_TEXT_MAX], album[MQ_TEXT_MAX];
    int64_t duration_ms;
};

/* One playback that ended (played, failed, stopped, skipped after it was
 * heard): what the swarm benchmark measures, posted as MQ_EV_PLAYBACK. */
enum mq_playback_end { MQ_PB_PLAYED, MQ_PB_FAILED, MQ_PB_STOPPED };
struct mq_playback {
    uint64_t track_id; /* the catalog's */
    enum mq_playback_end end;
    int error;          /* MQ_PB_FAILED: why (chorus_strerror; 0 when only reason says) */
    char reason[128];   /* MQ_PB_FAILED: why, in words */
    bool cache_hit;     /* the whole file was cached when it was opened */
    bool gapless;       /* followed the previous track with no gap: no latency */
    int64_t latency_ms; /* audio wanted (play, next, seek) -> first sample; -1: never heard */
    int64_t played_ms;  /* where it ended */
    uint64_t underruns, underrun_ms;
    /* bytes heard by where each chunk came from */
    uint64_t bytes_cache, bytes_peers, bytes_service;
    /* its download: holders named by the tracker / found by the search,
     * and chunks refused for not matching the manifest */
    uint32_t found_tracker, found_search, bad_chunks;
};

/* One peer connection (the P2P network fills these). */
struct mq_conn {
    char address[64]; /* HOST:PORT */
    bool inbound;
    char state[16];
    uint64_t rate_down, rate_up; /* bytes/s */
    uint64_t bytes_down, bytes_up;
    uint32_t requests_in_flight, chunks_served;
    int32_t rtt_ms; /* -1: not measured */
};

struct mq_snapshot {
    enum mq_play_state state;
    bool has_track; /* track is valid */
    struct mq_track track;
    int64_t position_ms, duration_ms, buffered_ahead_ms;
    int volume_percent;
    int repeat; /* enum queue_repeat */
    bool shuffle;
    long queue_pos; /* -1: none */
    size_t queue_len;
    enum mq_service_state service;
    int64_t service_since; /* unix seconds of the last change */
    /* bytes played since the engine started, by where each chunk was when
     * the decoder needed it */
    uint64_t bytes_from_cache, bytes_from_peers, bytes_from_service;
    uint64_t downloaded_peers, downloaded_service, uploaded;
    /* tracks heard, by where most of their bytes came from */
    uint64_t playbacks_from_cache, playbacks_from_peers, playbacks_from_service;
    /* discovery: holders named by the tracker / found by a search, over
     * every track; and for the track that plays (its current download) */
    uint64_t found_tracker, found_search;
    uint32_t track_found_tracker, track_found_search;
    uint64_t chunks_rejected;             /* did not match their manifest (from anyone) */
    uint64_t peers_banned;                /* for such a chunk, this session */
    uint64_t chunks_served, busy_replies; /* to peers */
    uint64_t cache_hits, cache_misses;    /* playbacks whose first chunk was (not) cached */
    uint64_t cache_used, cache_cap;
    uint64_t cache_evicted_files;  /* since the engine started */
    uint64_t cache_corrupt_chunks; /* failed the check on read: dropped, never played */
    int peers_connected, peers_max;
    int upload_slots_used, upload_slots_max;
    uint64_t rate_down_bps, rate_up_bps;
    char p2p_listen[64]; /* the bound peer address; "" when not listening */
    int nconns;
    struct mq_conn conns[MQ_MAX_CONNS];
    /* the playing track's chunk map: cells[i] (enum mq_chunk_src) covers
     * chunks [i * chunks_per_cell, (i + 1) * chunks_per_cell) */
    uint32_t chunk_count, chunks_per_cell, ncells;
    uint32_t playhead_chunk;
    uint8_t cells[MQ_MAX_CELLS];
};

/* The words the status JSON and the TUI use: "playing", "paused",
 * "buffering", "stopped"; "online", "connecting", "offline"; a repeat
 * mode (enum queue_repeat) as "off", "one", "all". Static strings. */
const char *mq_play_state_name(enum mq_play_state s);
const char *mq_service_state_name(enum mq_service_state s);
const char *mq_repeat_name(int repeat);

/* Called on the core thread for every command, in send order. The handler
 * owns msg. */
typedef void (*mq_command_fn)(void *ctx, struct mq_msg *msg);

struct mq;

/* Creates the queue on the core loop (call from the loop's thread).
 * Returns NULL and sets *err (negative errno or uv error) on failure. */
struct mq *mq_new(uv_loop_t *loop, mq_command_fn on_command, void *ctx, int *err);

/* Stops delivering commands and closes the loop handle (core thread).
 * Commands sent afterwards are freed at once and refused. The loop must
 * run once more for the close to complete before mq_free. */
void mq_close(struct mq *mq);

/* Frees the queue and every message still queued. Call after mq_close and
 * after the loop has run, when no other thread uses mq any more. */
void mq_free(struct mq *mq);

/* UI -> core. Takes ownership of msg in every case. Returns 0, or
 * -ECANCELED once the queue is closed (msg is freed). */
int mq_send_command(struct mq *mq, struct mq_msg *msg);

/* core -> UI. Takes ownership of msg. */
void mq_post_event(struct mq *mq, struct mq_msg *msg);

/* The fd the UI polls for readability (events or a new snapshot). */
int mq_event_fd(const struct mq *mq);

/* Drains the wake-up fd and returns every queued event as a list in post
 * order (NULL if none). The caller owns the list. */
struct mq_msg *mq_take_events(struct mq *mq);

/* Replaces the snapshot and wakes the UI unless a wake-up is pending. */
void mq_publish_snapshot(struct mq *mq, const struct mq_snapshot *snap);

/* Copies the latest snapshot into *out. Returns true when it changed since
 * the previous call. */
bool mq_read_snapshot(struct mq *mq, struct mq_snapshot *out);

/* How much the wake-ups coalesced (the tests assert it), counted since
 * mq_new. */
struct mq_stats {
    uint64_t commands;        /* commands handed to the handler */
    uint64_t command_wakeups; /* runs of the core loop's async callback that had commands */
    uint64_t ui_wakeups;      /* writes to the UI's event fd */
};

/* Copies the counters into *out. Any thread. */
void mq_get_stats(struct mq *mq, struct mq_stats *out);

#endif
