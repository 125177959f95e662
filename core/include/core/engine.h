/* engine: one Chorus player core — the P2P engine, the cache manager and
 * the decoder pipeline behind one handle (DESIGN §1, §2).
 *
 * engine_new starts a thread that runs the engine's own uv_loop; every
 * piece of state (service link, downloads, cache index, player, queue,
 * chorus.db, remote socket) belongs to that loop and is reached only from
 * it. Many engines can run in one process (the tests and the swarm
 * benchmark do), each with its own directories.
 *
 * Talking to it: commands of the command table (core/cmd.h) go in with
 * engine_send from any thread (through the message queue: the UI's path)
 * or over the remote socket (`chorus remote`); both end in the same
 * handler. Events and the coalesced snapshot come out through engine_mq
 * (core/mq.h): the UI polls mq_event_fd.
 *
 * What it does on its own: restores the queue, position, volume, repeat
 * and shuffle from chorus.db (stopped at the saved position: nothing plays
 * until resume, toggle or play); logs in to the service with the device credential of
 * `chorus login`, renews the ticket before it expires and reconnects a
 * lost link with jittered backoff (1 s doubling to 60 s); plays from the
 * cache with the manifest and key kept in chorus.db when the service is
 * unreachable; serves the remote socket.
 *
 * Process-wide state it relies on (set once, by the first engine): the
 * FFmpeg log callback (audio/decoder.c silences it), PortAudio's
 * Pa_Initialize (audio/sink_portaudio.c, reference-counted by PortAudio),
 * SIGPIPE ignored (libuv writes to sockets with write()).
 *
 * Threads: engine_new, engine_wait and engine_free from the owner's
 * thread; engine_send, engine_stop and engine_mq from any thread. */
#ifndef CHORUS_CORE_ENGINE_H
#define CHORUS_CORE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/settings.h"
#include "core/cmd.h"
#include "core/mq.h"

enum {
    ENGINE_ERUNNING =
        -7200, /* another engine uses this cache directory (see engine_running_socket) */
    ENGINE_EINVAL = -7201,   /* bad configuration (see the log / *error) */
    ENGINE_ESTOPPED = -7202, /* the engine has stopped: the command was not run */
};

struct engine_config {
    const struct chorus_settings *settings; /* read during engine_new only */
    const struct paths *paths; /* XDG directories for what the settings leave unset; borrowed */
    const char *data_dir;      /* chorus.db, identity.key, service.pin; NULL: XDG data dir */
    const char *cache_dir;     /* NULL: settings->cache_dir, else the XDG cache dir */
    const char *remote_socket; /* NULL: settings->remote_socket, else the default; "": none */
    struct clog *log;          /* borrowed; must outlive the engine; may be NULL */
    uint64_t seed;             /* shuffle seed for a new queue; 0: from the clock */
    /* Tests and the benchmark only (no setting): an emulated access link
     * for every link of this engine — a round trip of link_rtt_ms and
     * link_rate bytes per second each way (0: unlimited) — and a peer
     * that corrupts every chunk it serves. */
    uint32_t link_rtt_ms;
    uint64_t link_rate;
    bool corrupt_uploads;
    /* The benchmark's: post MQ_EV_PLAYBACK for every playback that ends,
     * and hash every chunk the decoder reads against its manifest
     * (cache_config.verify_every_read), so nothing unverified is heard. */
    bool report_playbacks;
    bool verify_every_read;
};

struct engine;

/* Opens chorus.db, the cache, the identity and the audio output, binds the
 * remote socket, then starts the engine's thread. Returns 0, or an error
 * (chorus_strerror) with *error set to a line for the user (owned by the
 * caller; may be NULL): ENGINE_ERUNNING names the running engine's socket. */
int engine_new(const struct engine_config *cfg, struct engine **out, char **error);

/* Queues a command (takes ownership of c in every case). Returns 0, or
 * ENGINE_ESTOPPED: the engine is gone and c was freed unanswered. */
int engine_send(struct engine *e, struct cmd *c);

/* The message queue the UI reads events and snapshots from. */
struct mq *engine_mq(struct engine *e);

/* Asks the engine to stop (as the quit command does). Any thread. */
void engine_stop(struct engine *e);

/* True once the engine's loop has stopped (quit, engine_stop). Any thread. */
bool engine_stopped(struct engine *e);

/* Blocks until the engine's loop has stopped (quit, engine_stop). */
void engine_wait(struct engine *e);

/* Stops the engine if running, saves its state, joins its thread and
 * frees it. NULL is ignored. */
void engine_free(struct engine *e);

/* The remote socket the engine listens on ("" when none); owned by e. */
const char *engine_socket(const struct engine *e);

/* For ENGINE_ERUNNING: the socket of the engine that holds cache_dir
 * (owned by the caller; NULL when unknown). */
char *engine_running_socket(const char *cache_dir);

const char *engine_strerror(int err);

#endif
