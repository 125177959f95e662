/* The fetch's private parts, shared by its modules (all on the core loop):
 *
 *   fetch.c     the public API: files and their handles, events, the
 *               file's identity (manifest, key), replies from the service,
 *               the decoder's requests, ticks, closing;
 *   download.c  one file's download: a state and a source per chunk, the
 *               chunks' checks and writes into the cache, completion;
 *   source.c    where chunks come from: one interface (request, cancel,
 *               measured rate, bytes in flight) implemented by the service
 *               link and by each peer, and the requests in flight;
 *   sched.c     the scheduler: which chunk is asked of which source and
 *               when (DESIGN §5), discovery (tracker + search) per file.
 *
 * A file that fails or loses its last handle leaves the live list for the
 * zombie list and is freed by fetch_reap() only when no handle, cache call
 * or event delivery holds it — and reap runs only outside deliveries. */
#ifndef CHORUS_CORE_FETCH_INTERNAL_H
#define CHORUS_CORE_FETCH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/inbox.h"
#include "base/log.h"
#include "core/fetch.h"
#include "core/peers.h"

#define MOD "fetch"

enum { CH_MISSING, CH_ASKED, CH_WRITING, CH_STORED };

struct ffile;
struct source;

/* One chunk request in flight on a source: chunks [first, first+count),
 * at most FETCH_MAX_REQ_CHUNKS so the arrivals fit one bit mask. */
#define FETCH_MAX_REQ_CHUNKS 32u
struct freq {
    struct freq *next; /* in its source's list */
    struct source *src;
    uint32_t rid;
    struct ffile *file; /* NULL once cancelled or its file gone */
    uint32_t first, count;
    uint32_t arrived; /* bit i: chunk first+i came */
    uint64_t sent_ms;
    uint64_t expect_ms;  /* the source's expected time to deliver it, when sent */
    uint64_t bytes_left; /* asked and not arrived (counts in src->inflight) */
    bool cancelled;      /* CANCEL sent: kept until its OK */
};

struct source_ops {
    /* Sends the request; returns its rid, 0 when it cannot be sent. */
    uint32_t (*request)(struct source *s, const struct content_id *id, uint32_t first,
                        uint32_t count, uint8_t prio, uint32_t deadline_ms);
    /* Sends CANCEL for rid; false when the link is gone (no OK follows). */
    bool (*cancel)(struct source *s, uint32_t rid);
};

/* A source: the service link or one peer. */
struct source {
    struct source *next; /* in f->sources (peers only) */
    const struct source_ops *ops;
    struct fetch *f;
    enum cache_source kind;    /* CACHE_SRC_SERVICE or CACHE_SRC_PEER */
    struct svc_client *client; /* service */
    struct peer *peer;         /* peer (NULL once the link went) */
    uint8_t key[TLS_KEY_LEN];  /* peer */
    struct freq *reqs;
    uint64_t inflight;     /* bytes asked, not yet arrived */
    uint64_t rate;         /* bytes/s measured on arrivals, smoothed; 0: unknown */
    uint64_t last_arrival; /* loop ms */
    uint64_t busy_until;   /* a BUSY reply: not asked again before this */
    uint64_t bytes;        /* chunk bytes received */
    bool ban;              /* sent a bad chunk: ban it when done with it */
};

/* A known holder of a file (from the tracker or a search). */
struct holder {
    uint8_t key[TLS_KEY_LEN];
    bool gone;         /* answered NOT_FOUND: holds it no more */
    uint64_t named_ms; /* loop ms when it was named: its link may be on its way */
};
#define FETCH_MAX_HOLDERS 32u

struct fetch_handle {
    struct fetch_handle *next;
    struct ffile *file;
    uint8_t prio;
    fetch_event_fn cb;
    void *ctx;
    bool dead;     /* released during a delivery: unlinked after it */
    bool announce; /* opened on a ready file: READY still to deliver */
};

struct ffile {
    struct ffile *next; /* in f->files (live) or f->zombies */
    struct fetch *f;
    struct content_id id;
    struct fetch_handle *handles;
    unsigned nhandles;   /* not dead */
    unsigned delivering; /* deliveries in progress */
    uint8_t prio;
    uint32_t manifest_rid, key_rid;
    struct manifest *m;
    struct content_key key;
    bool manifest_stored, have_key, ready, complete, failed, zombie;
    uint8_t *st;  /* CH_* per chunk, once ready */
    uint8_t *src; /* enum fetch_chunk_source per chunk, once ready */
    uint32_t asked;
    unsigned pending; /* cache calls holding the file */
    uint64_t latest_gen;
    uint64_t opened_ms;
    struct fetch_file_stats stats;

    /* what the player says (fetch_set_playhead) */
    uint32_t playhead, chunk_ms;
    bool service_ok;

    /* discovery */
    uint32_t lookup_rid;    /* tracker LOOKUP in flight */
    bool tracker_answered;  /* (or cannot be asked: no link) */
    uint64_t search_ms;     /* when the last search went out; 0: never */
    uint64_t discovered_ms; /* when discovery last concluded; 0: not yet */
    struct holder holders[FETCH_MAX_HOLDERS];
    unsigned nholders;
};

struct fetch {
    uv_loop_t *loop;
    struct svc_client *client; /* NULL while offline */
    struct source service;     /* its source (client NULL while offline) */
    struct source *sources;    /* one per up peer link */
    struct peers *peers;       /* NULL: no swarm */
    fetch_lookup_fn lookup;
    void *lookup_ctx;
    struct cache *cache;
    struct clog *log;
    svc_client_handler on_other;
    void *other_arg;
    struct inbox requests; /* the decoder's: struct dreq */
    uv_timer_t timer;
    struct ffile *files, *zombies;
    struct fetch_stats st;
    unsigned pending; /* cache calls in flight */
    unsigned depth;   /* event deliveries on the stack */
    bool closing;
    int handles_open;
    void (*close_cb)(void *arg);
    void *close_arg;
};

/* fetch.c */
void fetch_reap(struct fetch *f);
void fetch_fail(struct ffile *file, int err);
void fetch_deliver_event(struct ffile *file, const struct fetch_event *ev,
                         struct fetch_handle *only);
void fetch_fill_event(const struct ffile *file, struct fetch_event *ev, enum fetch_event_type type);
void fetch_maybe_finish_close(struct fetch *f);
void fetch_id_short(const struct content_id *id, char out[13]);
struct ffile *fetch_find_live(struct fetch *f, const uint8_t id[CONTENT_ID_LEN]);

/* download.c */
/* Builds the chunk states from the cache's map (the file just became
 * ready). */
void download_init(struct ffile *file);
/* The chunk is missing (not asked, not being written, not stored); a
 * chunk the cache got meanwhile is marked stored. */
bool download_missing(struct ffile *file, uint32_t i);
/* A chunk from src (peer: checked against the manifest first; a bad one
 * bans the peer). Returns true when it was taken for writing. */
bool download_take(struct ffile *file, uint32_t index, const uint8_t *data, size_t len,
                   struct source *src);
/* Every chunk stored: COMPLETE. */
void download_check_complete(struct ffile *file);

/* source.c */
void source_init_service(struct fetch *f);
struct source *source_new_peer(struct fetch *f, struct peer *p);
/* The link went: its requests are void (their chunks missing again). */
void source_free_peer(struct source *s);
struct source *source_of_key(struct fetch *f, const uint8_t key[TLS_KEY_LEN]);
/* Sends a request for file; false when it could not be sent. */
bool source_request(struct source *s, struct ffile *file, uint32_t first, uint32_t count,
                    uint32_t deadline_ms);
struct freq *source_find_req(struct source *s, uint32_t rid);
/* Chunk index of a request arrived (len bytes): rate and bytes in flight.
 * Returns false when the chunk was not asked by req. */
bool source_arrived(struct freq *r, uint32_t index, size_t len);
/* The request ended (ERROR, OK after CANCEL, or all arrived). Its chunks
 * still asked and not covered elsewhere become missing. */
void source_end_req(struct freq *r);
/* Cancels every request of file on every source (a track change). */
void source_cancel_file(struct fetch *f, struct ffile *file);
/* Cancels the other single-chunk requests for chunk index (it arrived). */
void source_cancel_duplicates(struct ffile *file, uint32_t index, struct source *except);
/* A request covering chunk index of file, on any source (NULL: none);
 * the youngest one. */
struct freq *source_covering(struct ffile *file, uint32_t index);
/* Forgets the service's requests (the link changed). */
void source_reset_service(struct fetch *f, struct svc_client *client);
/* Estimated ms until s delivers extra bytes more. */
uint64_t source_eta_ms(const struct source *s, uint64_t extra);

/* sched.c */
/* Asks for what the file needs now, from the best sources. */
void sched_pump(struct ffile *file);
/* The decoder waits for chunk index. */
void sched_urgent(struct ffile *file, uint32_t index, uint8_t prio);
/* Chunk index was refused (not the manifest's): ask it again now, not of
 * not_from (the peer that sent it; NULL: anyone). */
void sched_refetch(struct ffile *file, uint32_t index, const struct source *not_from);
/* Starts discovery for a ready or opening file (tracker + search). */
void sched_discover(struct ffile *file);
/* A holder of file's id answered (tracker or search). */
void sched_add_holder(struct ffile *file, const struct wire_peer *h, bool via_search);
/* PEERS for a LOOKUP. Returns false when rid is not a lookup of ours. */
bool sched_on_peers(struct fetch *f, struct wire_msg *m);
/* A peer answered NOT_FOUND for file: it is no holder. */
void sched_holder_gone(struct ffile *file, const uint8_t key[TLS_KEY_LEN]);
/* Periodic: late requests, discovery time-outs, BUSY retries. */
void sched_tick(struct fetch *f);

#endif
