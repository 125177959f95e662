/* fetch: downloads files into the chunk cache from the service and from
 * peers — the source behind the player's chunk pipeline (DESIGN.md §2,
 * §5). Its parts: a download per file (chunk states, checks, writes into
 * the cache), sources (the service link and each peer link: request,
 * cancel, measured rate, bytes in flight) and the scheduler choosing among
 * them (core/sched.c says how; the numbers are below).
 *
 * The path of a chunk: the decoder thread reads a track stream over the
 * cache (audio/track_stream.h); a missing chunk is asked for with
 * fetch_request (thread-safe, never blocks); the core loop asks a source
 * for it; the CHUNK that comes back is checked against the manifest and
 * written to the cache (which checks again and wakes the waiting reader).
 *
 * A file is opened with fetch_open (one handle per user of the file; two
 * opens of one file share one download). Opening asks the service for the
 * manifest (unless the cache has it: the reply is checked against the file
 * id and stored with cache_put_manifest_async) and the content key at
 * once — unless cfg.lookup knows them (chorus.db keeps both for every file
 * the engine played), so a file played before is ready without the
 * service; when both are there the handle gets FETCH_EV_READY with what a
 * track stream needs. Keys come only from the service or chorus.db: a file
 * never played cannot become ready offline. Opening also starts discovery
 * (the tracker and a search among the neighbours) when the fetch has
 * peers (fetch_set_peers). Then the whole file is downloaded, chunks the
 * cache already holds skipped (a fully cached file makes no chunk request
 * at all). Requests carry the file's priority (WIRE_PRIO_PLAYING >
 * WIRE_PRIO_PREFETCH > WIRE_PRIO_BACKGROUND: the most urgent of its
 * handles). The player says where it is in the file and whether the
 * service may be asked (fetch_set_playhead); a handle that never says so
 * lets the service serve the whole file when no peer has it.
 *
 * Every chunk is written with its source (CACHE_SRC_PEER or
 * CACHE_SRC_SERVICE). A peer's chunk that does not match the manifest
 * gets the peer banned for the session (peers_ban) and the chunk asked
 * again elsewhere; a service chunk the cache refuses is counted and asked
 * again; after FETCH_MAX_BAD_CHUNKS the file fails (FETCH_EBADDATA).
 * Releasing the last handle of a file cancels its outstanding requests
 * everywhere (CANCEL) — a track change.
 *
 * Threads: everything on the loop's thread, except fetch_request (any
 * thread: it appends to a mutex-protected list and wakes the loop with a
 * uv_async; the loop steals the whole list). A fetch takes the client's
 * message handler (svc_client_set_handler); messages it does not own go
 * to cfg.on_other.
 *
 * Errors: 0 or negative: FETCH_* below, or a cache error (cache_strerror)
 * from a write or manifest put; fetch_strerror covers both. */
#ifndef CHORUS_NET_FETCH_H
#define CHORUS_NET_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/cache.h"
#include "base/content_crypto.h"
#include "base/manifest.h"
#include "core/peers.h"
#include "net/client.h"
#include "net/wire.h"

#define FETCH_REQUEST_CHUNKS     16u   /* chunks per bulk GET_CHUNKS */
#define FETCH_WINDOW_CHUNKS      64u   /* chunks asked, not yet arrived, per file */
#define FETCH_URGENT_CHUNKS      4u    /* chunks per urgent GET_CHUNKS */
#define FETCH_URGENT_DEADLINE_MS 500u  /* the deadline urgent requests carry */
#define FETCH_STALE_MS           2000u /* an asked chunk still wanted after this: ask again */
#define FETCH_MAX_BAD_CHUNKS     16u   /* refused chunks per file before it fails */
#define FETCH_BUSY_MS            1000u /* a source that said BUSY is not asked for this long */
#define FETCH_TICK_MS            100u  /* the scheduler's look at late requests, BUSY retries */

/* The scheduler's numbers (DESIGN §5; core/sched.c). */
#define SCHED_URGENT_MS                                                                            \
    3000u                          /* audio left before a chunk is urgent: service if late;
                                         while peers hold the file, the service's whole window */
#define SCHED_START_MS       3000u /* from the service at once, until peers answer */
#define SCHED_SEARCH_WAIT_MS 1000u /* search answers awaited before a miss is cold */
#define SCHED_REDISCOVER_MS  5000u /* no holder linked: look again this often */
/* A holder named but not linked yet keeps a miss from being cold this
 * long: its link (TCP, TLS, tickets) is on its way. */
#define SCHED_CONNECT_WAIT_MS 3000u
#define SCHED_PEER_BATCH      4u    /* chunks per peer request */
#define SCHED_PEER_DEPTH_MS   500u  /* a peer is asked up to this much of its rate */
#define SCHED_LATE_MIN_MS     1000u /* a peer request is late after 2x its expected time, >= this */
#define SCHED_STALE_MS        4000u /* a late request's far chunks go elsewhere after this */

enum {
    FETCH_ENOTFOUND = -6700, /* the service has no such file */
    FETCH_EMANIFEST = -6701, /* the service's manifest does not match the file id */
    FETCH_ECLOSED = -6702,   /* the connection to the service is closed */
    FETCH_EREFUSED = -6703,  /* the service answered ERROR (see the log) */
    FETCH_EBADDATA = -6704,  /* too many chunks did not match the manifest */
    FETCH_EINVAL = -6705,    /* bad argument (no client, cache without a loop) */
    FETCH_ENOKEY = -6706,    /* offline, and the file's key was never fetched here */
};

enum fetch_event_type {
    FETCH_EV_READY,    /* manifest stored and key known: a stream can be made */
    FETCH_EV_COMPLETE, /* every chunk is in the cache */
    FETCH_EV_ERROR,    /* the file cannot be fetched (error); nothing more follows */
};

struct fetch_event {
    enum fetch_event_type type;
    struct content_id id;
    int error; /* ERROR: FETCH_* or a cache error */
    /* READY (and COMPLETE): */
    uint64_t file_size;
    uint32_t chunk_size, chunk_count;
    struct content_key key;
};

struct fetch;
struct fetch_handle;

/* Called on the loop. ev is valid during the call only. The callback may
 * call fetch_open, fetch_release (also on h) and fetch_set_priority, not
 * fetch_close. */
typedef void (*fetch_event_fn)(void *ctx, struct fetch_handle *h, const struct fetch_event *ev);

/* What the engine already knows of file id (from chorus.db): fills *key
 * and returns true, and, when manifest is not NULL, sets *manifest (owned
 * by the fetch afterwards; NULL when unknown) and *len. Loop thread. */
typedef bool (*fetch_lookup_fn)(void *ctx, const struct content_id *id, uint8_t **manifest,
                                size_t *len, struct content_key *key);

struct fetch_config {
    uv_loop_t *loop;
    struct svc_client *client; /* logged in, or NULL (offline: see fetch_set_client);
                                  borrowed, must outlive the fetch or be replaced */
    fetch_lookup_fn lookup;    /* may be NULL */
    void *lookup_ctx;
    struct cache *cache;         /* opened with cfg.loop; borrowed, must outlive the fetch */
    struct clog *log;            /* borrowed, may be NULL */
    svc_client_handler on_other; /* messages that are not the fetch's; NULL: dropped */
    void *other_arg;
};

/* Per file figures (fetch_file_stats) and totals (fetch_get_stats). */
struct fetch_file_stats {
    uint64_t file_size;
    uint32_t chunk_count;   /* 0 until ready */
    uint32_t chunks_stored; /* present in the cache now */
    uint32_t chunks_cached; /* present before the download started */
    uint64_t bytes_cached;  /* their bytes */
    uint32_t chunks_service;
    uint64_t bytes_service; /* chunk bytes stored from the service */
    uint32_t chunks_peers;
    uint64_t bytes_peers;     /* chunk bytes stored from peers */
    uint32_t found_tracker;   /* holders named by the tracker */
    uint32_t found_search;    /* holders found by the search */
    uint32_t requests;        /* GET_CHUNKS sent (urgent ones included) */
    uint32_t urgent_requests; /* for chunks the decoder waited for */
    uint32_t rerequests;      /* chunks asked again after a refusal */
    uint32_t bad_chunks;      /* refused by the cache: not the manifest's bytes */
    uint32_t duplicates;      /* arrived when already stored or being written */
};

struct fetch_stats {
    uint64_t files_opened;
    uint64_t requests, urgent_requests, rerequests, cancels;
    uint64_t chunks_received, bytes_received; /* stored */
    uint64_t bytes_service, bytes_peers;      /* the same by source */
    uint64_t bad_chunks, duplicates;          /* bad: refused, from anyone */
    uint64_t peer_requests, duplicate_cancels;
    uint64_t lookups, searches;           /* discovery asked: tracker, search */
    uint64_t found_tracker, found_search; /* holders named: by the tracker, by a search */
    uint64_t peers_banned;                /* for a bad chunk */
    uint64_t stale_requests; /* fetch_request calls dropped: an old generation or file */
};

/* Creates the fetch and takes the client's message handler. The caller
 * owns *out until fetch_close. Loop thread. */
int fetch_new(const struct fetch_config *cfg, struct fetch **out);

/* Drops every handle (no more events), cancels every request, waits for
 * the cache writes in flight, gives the client's handler back (NULL),
 * then calls cb(arg) on the loop and frees itself. No fetch_request may
 * race with this call: stop the decoder first (later calls are ignored). */
void fetch_close(struct fetch *f, void (*cb)(void *arg), void *arg);

/* Starts (or joins) the download of file id with priority prio (enum
 * wire_priority). Events go to cb(ctx, h, ...), never from inside this
 * call. The handle belongs to the caller until fetch_release. */
struct fetch_handle *fetch_open(struct fetch *f, const struct content_id *id, uint8_t prio,
                                fetch_event_fn cb, void *ctx);

/* No more events for h; h is freed. The last handle of a file cancels
 * its outstanding requests. NULL is ignored. */
void fetch_release(struct fetch_handle *h);

/* Changes h's priority (new requests of the file use the most urgent of
 * its handles'). */
void fetch_set_priority(struct fetch_handle *h, uint8_t prio);

/* Where the player is in h's file: chunk is the one being heard (0 for
 * a track not started), chunk_ms the audio one chunk holds (0: unknown),
 * service_ok whether the service may be asked at all (false for the next
 * track until SCHED's 10 s before it starts: peers only). Without a call
 * a file starts at chunk 0 with the service allowed. Loop thread. */
void fetch_set_playhead(struct fetch_handle *h, uint32_t chunk, uint32_t chunk_ms, bool service_ok);

/* Where chunk index of h's file came from (enum fetch_chunk_source). */
enum fetch_chunk_source {
    FETCH_CH_MISSING, /* not stored (or the file is not ready) */
    FETCH_CH_CACHE,   /* in the cache before this download */
    FETCH_CH_PEER,
    FETCH_CH_SERVICE,
    FETCH_CH_COUNT,
};
enum fetch_chunk_source fetch_chunk_source(const struct fetch_handle *h, uint32_t index);

/* The peer manager to discover and fetch from (NULL: none). The fetch
 * fills cb with its own callbacks for peers_new (ctx: the fetch), so
 * create the fetch, then the peers with those callbacks, then call this. */
void fetch_peer_callbacks(struct fetch *f, struct peers_callbacks *cb, void **ctx);
void fetch_set_peers(struct fetch *f, struct peers *peers);

/* The file's figures so far. */
void fetch_file_stats(const struct fetch_handle *h, struct fetch_file_stats *out);

void fetch_get_stats(const struct fetch *f, struct fetch_stats *out);

/* ---- entry points ---- */

/* The decoder wants chunk index of file id now (a stalled read; gen is the
 * track stream's generation: requests older than the newest seen for the
 * file are dropped). Any thread, never blocks. prio: enum wire_priority
 * the reader has (the file's own priority applies when more urgent). */
void fetch_request(struct fetch *f, const struct content_id *id, uint32_t index, uint8_t prio,
                   uint64_t gen);

/* A chunk from any source (data borrowed): written to the cache if the
 * file is open and the chunk is not stored yet. Returns true when it was
 * taken for writing. Loop thread. */
bool fetch_deliver(struct fetch *f, const struct content_id *id, uint32_t index,
                   const uint8_t *data, size_t len, enum cache_source src);

/* The client's message handler the fetch installs: takes the replies to
 * its own requests (MANIFEST, KEY, CHUNK, ERROR, OK) and returns true; any
 * other message is left alone (false). Public so that an owner with its
 * own dispatcher, or a test, can feed it. Loop thread. */
bool fetch_handle_message(struct fetch *f, struct wire_msg *m);

/* The service link changed: client is the new logged-in link, or NULL
 * while there is none. Requests in flight on the old link are forgotten
 * (their chunks are asked again on the new one); nothing fails: a file
 * waits for a link, and plays meanwhile from what is cached. The old
 * client's handler is given back (NULL). Loop thread. */
void fetch_set_client(struct fetch *f, struct svc_client *client);

/* Fails (FETCH_EV_ERROR with err) every open file that cannot become
 * ready without the service (its manifest or key unknown): what the
 * engine does when the link is down and will not be back soon. */
void fetch_fail_unready(struct fetch *f, int err);

const char *fetch_strerror(int err);

#endif
