/* chorus_demo: the parts of `chorus --demo` (chorus(1), DEMO) — the
 * player on a live swarm on this machine, offline, with nothing of the
 * user's touched. Everything lives in one demo directory:
 *
 *   DIR/service/     the service's data: the generated library (made once,
 *                    .demo-library says with what), accounts, service.key
 *   DIR/service.log  the service's log
 *   DIR/user/        the user's engine: data/chorus (chorus.db, identity),
 *                    cache/chorus, state/chorus (the : history)
 *   DIR/chorus.log   the user's engine's log, and the demo's own lines
 *   DIR/peers/N/     background peer N: data, cache, peer.log, .filled
 *                    (its fill is done), .held (what its cache holds)
 *   DIR/.lock        flock'ed while a demo runs there
 *
 * chorus_demo.c runs it (the user's engine, the banner, the UI or the
 * signals); chorus_demo_setup.c makes the directory, the library, the
 * service and the demo user; chorus_demo_engine.c runs commands of the
 * table on an engine and waits for their replies; chorus_demo_peers.c
 * runs the background peers and their listening; chorus_demo_tui.c hands
 * the user's engine to the TUI. Not a module: app code, main thread unless
 * said otherwise. */
#ifndef CHORUS_APP_CHORUS_DEMO_H
#define CHORUS_APP_CHORUS_DEMO_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/log.h"
#include "base/settings.h"
#include "chorus_env.h"
#include "core/engine.h"

#define DEMO_USER           "demo"
#define DEMO_DEFAULT_PEERS  4u
#define DEMO_MAX_PEERS      16u
#define DEMO_DEFAULT_TRACKS 20u
/* Every demo engine sits behind an emulated home access link (engine_config
 * link_rtt_ms, link_rate; the same rate both ways): transfers take
 * seconds. The user's engine has the slowest, 2 Mbit/s, the peers 3 and 4
 * Mbit/s in turn: a peer fetching from the user's engine fills its uplink,
 * so its next request holds an upload slot while it waits for room on the
 * link, and the slot shows in use through most of the transfer. */
#define DEMO_LINK_RTT_MS 40u
#define DEMO_USER_RATE   250000u /* bytes/s: 2 Mbit/s */
/* Ogg Vorbis q5, about 160 kbit/s: a track's size when its manifest
 * cannot be read. */
#define DEMO_BYTES_PER_S 20000.0

/* ---- what the environment asks for (chorus_demo_setup.c) ---- */

struct demo_options {
    char *dir;          /* $CHORUS_DEMO_DIR, else $XDG_DATA_HOME/chorus-demo, else
                           ~/.local/share/chorus-demo */
    unsigned tracks;    /* $CHORUS_DEMO_TRACKS: 1..1000 */
    double min_seconds; /* $CHORUS_DEMO_SECONDS: MIN or MIN-MAX */
    double max_seconds;
    unsigned peers; /* $CHORUS_DEMO_PEERS: 0..DEMO_MAX_PEERS */
};

/* Fills o from the environment. 0, or 2 after a message on stderr (a bad
 * value, no home to put the directory in). */
int demo_options_read(struct demo_options *o);
void demo_options_free(struct demo_options *o);

/* ---- the library ---- */

struct demo_track {
    uint64_t id; /* the catalog's */
    double seconds;
    uint64_t bytes; /* of its stored file: what a cache holds of it */
    size_t album;   /* index in demo_library.albums */
};

struct demo_album {
    char *title, *artist;
    size_t first, count; /* its tracks: tracks[first .. first + count), in order */
};

struct demo_library {
    struct demo_track *tracks; /* album by album, as the queue of --all orders them */
    size_t ntracks;
    struct demo_album *albums; /* by artist, then title */
    size_t nalbums;
    size_t *popular; /* every track index, the most popular first (a fixed order) */
    double seconds;  /* of all tracks */
    uint64_t bytes;  /* of all their files */
    char *spec;      /* what made it: "tracks=N seconds=MIN-MAX seed=S" */
};

/* Makes the library in service_dir unless its marker says it was made
 * with these options; *interrupted is polled between tracks (set it from
 * another thread to stop: the tracks made so far stay for the next run,
 * which goes on from there).
 * Says what it does on stderr. 0, or -1 after a message. */
int demo_library_make(const char *service_dir, const struct demo_options *o,
                      atomic_bool *interrupted);

/* Reads the library of service_dir's catalog into lib. 0, or -1 after a
 * message on stderr. */
int demo_library_read(const char *service_dir, const struct demo_options *o,
                      struct demo_library *lib);
void demo_library_free(struct demo_library *lib);

/* The index of track id in lib->tracks, or -1. */
long demo_library_find(const struct demo_library *lib, uint64_t id);

/* ---- the service, in this process ---- */

struct svc_thread;
struct demo_service {
    struct svc_thread *thread;
    struct clog *log;
    char *address; /* "127.0.0.1:PORT" */
    char key_hex[65];
};

/* Gives the user DEMO_USER of service_dir a new random password (made
 * anew each run: the old one's device credentials go with it). Returns
 * the password (password_wipe), or NULL after a message on stderr. */
char *demo_user_password(const char *service_dir);

/* Starts the service of service_dir on 127.0.0.1, a free port, its log
 * at log_path. 0, or -1 after a message on stderr. */
int demo_service_start(const char *service_dir, const char *log_path, struct demo_service *s);
void demo_service_stop(struct demo_service *s);

/* ---- an engine and its commands (chorus_demo_engine.c; any thread) ---- */

struct demo_engine;

/* engine_new, and what waiting for replies needs. NULL with *rc and
 * *error (owned by the caller) set as engine_new sets them. */
struct demo_engine *demo_engine_new(const struct engine_config *cfg, int *rc, char **error);
/* Stops and frees the engine (and the replies that came too late). */
void demo_engine_free(struct demo_engine *de);
struct engine *demo_engine_handle(struct demo_engine *de);

/* Runs a command line and waits for its reply (at most DEMO_REPLY_MS, less
 * when the engine stops). Returns its status (ENGINE_ESTOPPED: the engine
 * is gone; -ETIMEDOUT: no reply); *data (may be NULL) gets the JSON answer
 * (json_decref; NULL when none). */
#define DEMO_REPLY_MS 30000
int demo_engine_run(struct demo_engine *de, const char *line);
int demo_engine_query(struct demo_engine *de, const char *line, json_t **data);
/* The status object (json_decref), or NULL when the engine does not answer. */
json_t *demo_engine_status(struct demo_engine *de);

/* Readers of the status object: st.key, st.obj.key; "" and 0 when absent. */
const char *demo_json_str(json_t *st, const char *key);
long long demo_json_int(json_t *st, const char *obj, const char *key);
/* The playing track's catalog id (0: none). */
uint64_t demo_json_track_id(json_t *st);

/* ---- the background peers (chorus_demo_peers.c) ---- */

struct demo_swarm_config {
    const char *dir; /* the demo directory */
    unsigned npeers;
    const struct demo_library *lib;
    const char *address;    /* the service */
    const char *key_hex;    /* its key */
    const char *password;   /* DEMO_USER's, for this run */
    struct chorus_env *env; /* for the logins; its log gets the demo's lines */
};

struct demo_swarm;

/* Logs each peer in and starts its thread: on the first run (or after the
 * library changed) it fills its cache with its albums, then it listens on
 * its own schedule. NULL after a message on stderr. */
struct demo_swarm *demo_swarm_start(const struct demo_swarm_config *cfg);
/* True once every peer listens (or failed: said on stderr). */
bool demo_swarm_ready(struct demo_swarm *sw);
/* How many peers listen (those that failed do not). */
unsigned demo_swarm_running(struct demo_swarm *sw);
/* Peers follow what the user plays now and then (a friend tunes in), so
 * the user's engine uploads too. Starts a thread that watches user. */
void demo_swarm_watch(struct demo_swarm *sw, struct demo_engine *user);
/* Stops every thread, every peer's engine (its state saved) and frees sw.
 * NULL is ignored. */
void demo_swarm_stop(struct demo_swarm *sw);

/* ---- the UI (chorus_demo_tui.c) ---- */

/* Runs the TUI on the user's engine until the user quits (the TUI stops
 * the engine). error_fd: where it says why it cannot start (the real
 * stderr). Returns tui_run's status. */
int demo_tui_run(struct engine *e, const struct chorus_settings *s, const char *history,
                 const char *banner, struct clog *log, int error_fd);
/* tui_quiet_stderr / tui_restore_stderr (ui/tui.h): library chatter
 * (ALSA, JACK, FFmpeg) goes to a file while the TUI owns the screen. */
int demo_tui_quiet_stderr(const char *path);
void demo_tui_restore_stderr(int saved);

/* ---- small things ---- */

/* A xorshift64* generator: each peer has its own, seeded. */
uint64_t demo_rand(uint64_t *state);
/* Uniform in [lo, hi). */
double demo_uniform(uint64_t *state, double lo, double hi);
/* CLOCK_MONOTONIC now + ms: a deadline for pthread_cond_timedwait on a
 * condition variable set to that clock. */
struct timespec demo_after_ms(double ms);

#endif
