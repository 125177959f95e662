/* The engine's private state, shared by engine.c (lifetime, wiring,
 * snapshot), engine_play.c (the player state machine) and engine_cmd.c
 * (the command handlers). Everything here runs on the engine's loop. */
#ifndef CHORUS_CORE_ENGINE_INTERNAL_H
#define CHORUS_CORE_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "audio/decoder.h"
#include "audio/sink.h"
#include "core/cache.h"
#include "core/clientdb.h"
#include "core/engine.h"
#include "core/fetch.h"
#include "core/player.h"
#include "core/queue.h"
#include "core/remote.h"
#include "core/peers.h"
#include "core/svclink.h"
#include "net/shaper.h"
#include "net/tls.h"

/* Complete files announced to the tracker when the link comes up. */
#define ENGINE_ANNOUNCE_MAX 1000u

/* Downloads for kept playlists running at once (engine_keep.c). */
#define ENGINE_KEEP_FETCHES 2u

/* Playlists kept offline: what the engine pinned for them and what it
 * still fetches (engine_keep.c). */
struct engine_keep {
    struct content_id *held; /* sorted, each once: the kept files, each pinned once here */
    size_t nheld;
    /* missing files in playlist order; to_fetch[next..nto_fetch) not started */
    struct content_id *to_fetch;
    size_t nto_fetch, next;
    struct {
        struct fetch_handle *h; /* NULL: a free slot */
        struct content_id id;
    } active[ENGINE_KEEP_FETCHES];
    bool full; /* a write met a full cache: no new download until the kept set changes */
};

/* What a playlist's tracks are, for keeping it offline. */
struct engine_keep_count {
    size_t tracks;
    size_t cached;  /* complete in the cache, key known: they play without the service */
    size_t no_file; /* no audio file known for them: they cannot be cached */
};

/* The track at the queue's cursor, as the engine knows it. */
struct engine_current {
    bool valid;
    struct clientdb_track track; /* owned */
    struct mq_track info;
    int64_t start_ms;     /* where it starts (a restored resume point, a seek before play) */
    uint8_t *map_at_open; /* its chunks present when it was opened (the chunk map) */
    uint32_t map_count;
};

struct engine {
    char *data_dir, *cache_dir, *socket_path;
    struct clog *log;

    uv_loop_t loop;
    bool loop_ready;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock; /* guards done */
    pthread_cond_t cond;
    bool done;
    bool stopping;
    int parts_open; /* closes not yet called back */

    struct mq *mq;
    struct clientdb *db;
    struct cache *cache;
    struct tls_identity *identity;
    struct aout *out;
    struct fetch *fetch;
    struct player *player;
    struct svclink *link;
    struct remote *remote;
    struct queue *queue;
    struct peers *peers; /* NULL until started (and after a failed start) */
    bool upload;
    bool report_playbacks; /* engine_config: post MQ_EV_PLAYBACK */
    /* shapers (NULL: none): the emulated access link, the rate caps */
    struct shaper *emu_up, *emu_down, *cap_up, *cap_down;
    struct conn_shaping peer_shaping, service_shaping;
    uv_timer_t tick;
    uint64_t saved_at;

    /* playback */
    enum mq_play_state state;
    int volume;
    struct engine_current cur;
    uint64_t cur_tag, next_tag; /* player tags; PLAYER_NO_TAG: none */
    long next_pos;              /* the queue position next_tag plays */
    unsigned failures;          /* consecutive tracks that failed to start */

    struct engine_keep keep;

    struct cache_stats base; /* the cache's lifetime figures when the engine started */
    struct mq_snapshot snap; /* the last one published */
};

/* engine.c */
void engine_begin_stop(struct engine *e);
void engine_free_parts(struct engine *e);
void engine_track_info(const struct clientdb_track *t, struct mq_track *out);
void engine_current_snapshot(struct engine *e, struct mq_snapshot *out);

/* engine_play.c: the player state machine */
void engine_on_player(void *ctx, const struct player_event *ev);
/* Plays the queue's cursor track from start_ms (state BUFFERING), or stops
 * when there is none. Returns 0 or the error of the track that failed. */
int engine_play_cursor(struct engine *e, int64_t start_ms);
void engine_stop_playback(struct engine *e);
/* The queue or its modes changed: tell the player what follows now and
 * save the queue. */
void engine_queue_changed(struct engine *e);
void engine_set_volume(struct engine *e, int percent);
void engine_save_position(struct engine *e);
void engine_restore(struct engine *e);
/* Loads queue position pos's track into e->cur (false when unknown). */
bool engine_load_current(struct engine *e, long pos);
/* A file became ready (READY): its manifest and key go to chorus.db, so
 * it plays again without the service. */
void engine_remember_file(struct engine *e, const struct fetch_event *ev);

/* engine_keep.c: playlists kept offline */
/* The kept playlists may have changed (a keep flag, their tracks, a
 * deletion), or the engine started, or the link came up: pins the files
 * they hold and unpins those they no longer do, and fetches what is
 * missing. */
void engine_keep_sync(struct engine *e);
/* Starts the next downloads when there is room (on the tick: they wait
 * while a track buffers and while offline). */
void engine_keep_pump(struct engine *e);
void engine_keep_on_cache_event(struct engine *e, enum cache_event ev, const struct content_id *id);
/* How many of playlist name's tracks are cached (0 or a CLIENTDB_* error). */
int engine_keep_count(struct engine *e, const char *name, struct engine_keep_count *out);
/* Lets the downloads go (the engine stops: before fetch_close). */
void engine_keep_stop(struct engine *e);
void engine_keep_free(struct engine *e);

/* engine_p2p.c: the swarm */
/* The service link's shaping, or NULL when there is none. */
const struct conn_shaping *engine_service_shaping(const struct engine *e);
/* The shapers of the links (before the service link is made). */
void engine_p2p_shape(struct engine *e, const struct engine_config *cfg,
                      const struct chorus_settings *s);
int engine_p2p_start(struct engine *e, const struct engine_config *cfg,
                     const struct chorus_settings *s, char **error);
/* The service link is up (client) or down (NULL): tickets, announcements. */
void engine_p2p_link(struct engine *e, struct svc_client *client);
void engine_on_cache_event(void *ctx, enum cache_event ev, const struct content_id *id);
void engine_p2p_snapshot(struct engine *e, struct mq_snapshot *s);
void engine_p2p_free_shapers(struct engine *e);

/* engine_cmd.c */
/* Runs a command; takes ownership of c; its reply is called exactly once. */
void engine_exec(struct engine *e, struct cmd *c);

#endif
