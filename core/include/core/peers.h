/* peers: the engine's peer manager — the links to other peers, who may
 * connect, who is served, and the flooded search (DESIGN §5).
 *
 * Links. Every link is a peerlink (net/peerlink.h): TLS, then both sides
 * show their service tickets, bound to their TLS keys. No ticket of our
 * own (offline, never logged in): no links at all, in or out. One link per
 * peer key: a second link to a key already linked is closed (the older one
 * stays). A peer banned this session (peers_ban) is neither connected to
 * nor accepted. Our own key is never connected to.
 *
 * Limits. At most cfg.max_conns links (PEERS_MAX_CONNS unless set; up and
 * in handshake): one more inbound connection is refused at accept (closed
 * at once), an outbound one is not made. Above the soft limit, max_conns -
 * max_conns / 6 (PEERS_SOFT_CONNS for 60), the least useful links are
 * closed until that many remain (checked when a link comes up and every
 * PEERS_TICK_MS). Usefulness, highest kept: bytes exchanged both ways in
 * the last PEERS_RECENT_MS, then requests in flight either way (interest
 * overlap: it serves us or we serve it now), then age (an older link has
 * proven itself; a link younger than PEERS_GRACE_MS is never trimmed, so a
 * new link gets its chance). peers_connect to a new holder at the soft
 * limit first closes the least useful link. An engine sets max_conns from
 * [p2p] max_connections: a machine running hundreds of engines (the swarm
 * benchmark) lowers it to fit its open-files limit.
 *
 * Upload (DESIGN §5). With cfg.upload, GET_CHUNKS from a peer is served
 * from the cache, only for files the cache holds completely (else ERROR
 * NOT_FOUND), and every chunk is read with CACHE_FOR_PEER (checked against
 * the manifest; a chunk that fails is not sent: NOT_FOUND). At most
 * PEERS_UPLOAD_SLOTS peers are served at once; a slot is held by a peer
 * while one of its requests is being sent. Waiting requests are ordered
 * by priority (WIRE_PRIO_PLAYING first), then deadline (sooner first; none
 * = last), then arrival; when a slot frees, the most urgent waiting
 * request of a peer not being served takes it. A peer being served whose
 * link takes no byte for PEERS_STALL_MS is closed (it holds a slot). A request that cannot start
 * before its deadline, or arrives when PEERS_MAX_WAITING already wait, is
 * answered ERROR BUSY at once — the asker goes elsewhere. CANCEL drops a
 * waiting request or stops one being sent (then OK). cfg.upload false:
 * every GET_CHUNKS gets NOT_FOUND and no FIND is answered (we serve
 * nothing), but FINDs are still relayed.
 *
 * Search. peers_search sends FIND {random query id, file, hops
 * WIRE_MAX_HOPS} to every link that is up. A peer receiving a FIND it has
 * not seen (query ids remembered for PEERS_QUERY_TTL_MS, at most
 * PEERS_MAX_QUERIES) answers FOUND (itself: family 0) when it holds the
 * file completely and accepts peers, and forwards it with hops-1 to its
 * other links while hops-1 > 0; a FIND seen before is dropped. A FOUND is
 * routed back on the link its query came from, entries of family 0
 * rewritten to the sender's address and listen port; a FOUND for one of
 * our own queries goes to cb.on_found. Not a DHT, no supernodes: every
 * peer relays the same way.
 *
 * Measuring. Each link's download and upload rate (bytes of chunks per
 * second, smoothed), RTT (PING every PEERS_PING_MS; PONG), bytes both
 * ways, requests in flight both ways and chunks served feed the scheduler
 * (peer_rate_down) and the peers view (peers_conn_table).
 *
 * Threads: the loop's thread only. Callbacks may call any peers function
 * except peers_close. */
#ifndef CHORUS_CORE_PEERS_H
#define CHORUS_CORE_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"
#include "core/cache.h"
#include "core/mq.h"
#include "net/conn.h"
#include "net/tls.h"
#include "net/wire.h"

#define PEERS_DEFAULT_PORT 4171u
#define PEERS_MAX_CONNS    60u
#define PEERS_SOFT_CONNS   50u
#define PEERS_UPLOAD_SLOTS 4u
#define PEERS_MAX_WAITING  64u    /* upload requests waiting for a slot */
#define PEERS_TICK_MS      1000u  /* trimming, rates, deadlines of waiting requests */
#define PEERS_RECENT_MS    30000u /* the window of "recent bytes" */
#define PEERS_GRACE_MS     10000u /* a new link is not trimmed before this */
#define PEERS_PING_MS      5000u
#define PEERS_QUERY_TTL_MS 30000u
#define PEERS_MAX_QUERIES  4096u
#define PEERS_STALL_MS     30000u /* a peer served that reads nothing for this long is closed */

enum {
    PEERS_ELISTEN = -7400,   /* the listen address cannot be bound (see the log) */
    PEERS_EADDR = -7401,     /* malformed listen address or peer address */
    PEERS_ENOTICKET = -7402, /* not logged in: no swarm */
    PEERS_EFULL = -7403,     /* max_conns links already */
    PEERS_EBANNED = -7404,   /* the peer was banned this session */
    PEERS_ESELF = -7405,     /* that is us */
};

const char *peers_strerror(int err);

struct peers;
struct peer; /* an up link: valid from on_up until on_down returns */

struct peers_callbacks {
    /* A link finished its handshake. */
    void (*on_up)(void *ctx, struct peer *p);
    /* The link is going (closed, trimmed, banned, failed); every request
     * on it is void. p is invalid after the call. */
    void (*on_down)(void *ctx, struct peer *p);
    /* A CHUNK answering one of our requests (m->rid), not yet checked:
     * the receiver checks it against the manifest before using it. */
    void (*on_chunk)(void *ctx, struct peer *p, const struct wire_msg *m);
    /* ERROR or OK answering one of our requests (m->rid; every reply
     * with a rid other than 0 is passed on, e.g. the OK of a CANCEL). */
    void (*on_reply)(void *ctx, struct peer *p, const struct wire_msg *m);
    /* A holder of file_id answered our search (address filled in). */
    void (*on_found)(void *ctx, const uint8_t file_id[WIRE_ID_LEN], const struct wire_peer *holder);
};

struct peers_config {
    uv_loop_t *loop;
    struct clog *log;                    /* borrowed; may be NULL */
    struct cache *cache;                 /* borrowed; opened with loop; NULL: serves nothing */
    const struct tls_identity *identity; /* borrowed; must outlive it */
    const char *listen;                  /* "HOST:PORT" (port 0: any free); NULL or "off": none */
    bool upload;                         /* serve chunks to others */
    /* the engine's link for peer traffic: rate caps and, in tests and
     * the benchmark, the emulated access link (copied; the shapers are
     * borrowed and must outlive the peers). NULL: none. */
    const struct conn_shaping *shaping;
    /* Tests and the benchmark's bad-peers scenario only: every chunk this
     * engine serves has one byte flipped. */
    bool corrupt_uploads;
    /* links at most (see Limits above); 0: PEERS_MAX_CONNS, which is also
     * the most (a larger value is taken as PEERS_MAX_CONNS) */
    unsigned max_conns;
    struct peers_callbacks cb;
    void *ctx;
};

/* Binds the listen address (if any) and starts. PEERS_ELISTEN when it
 * cannot be bound (the reason is logged). The caller owns *out until
 * peers_close. */
int peers_new(const struct peers_config *cfg, struct peers **out);

/* Closes every link (on_down is not called) and the listener; cb(arg) on
 * the loop when all is released. */
void peers_close(struct peers *ps, void (*cb)(void *arg), void *arg);

/* The bound address ("127.0.0.1:40123", "[::]:4171"); "" when not
 * listening. */
const char *peers_listen_address(const struct peers *ps);
/* The bound port; 0 when not listening (what HELLO and ANNOUNCE carry). */
uint16_t peers_listen_port(const struct peers *ps);

/* The service link logged in (again): the ticket to show from now on and
 * the service's key to check others' with (both copied). ticket NULL: no
 * ticket (links already up stay until theirs expire; no new ones). */
void peers_set_ticket(struct peers *ps, const uint8_t *ticket, size_t len,
                      const uint8_t service_key[TLS_KEY_LEN]);

/* Connects to a holder (tracker or search answer) unless a link to its key
 * is up or being made (returns 0 then too). PEERS_E* otherwise. */
int peers_connect(struct peers *ps, const struct wire_peer *holder);

/* The up link with this key, or NULL. */
struct peer *peers_find(struct peers *ps, const uint8_t key[TLS_KEY_LEN]);

/* Floods a FIND for file_id (see above). Returns the links asked. */
unsigned peers_search(struct peers *ps, const uint8_t file_id[WIRE_ID_LEN]);

/* p sent data that does not match the manifest: the link is closed
 * (on_down follows) and its key refused for the rest of the session. The
 * log names the key and why. */
void peers_ban(struct peers *ps, struct peer *p, const char *why);

/* Counting for the snapshot. */
struct peers_stats {
    unsigned links;                /* up */
    unsigned connecting;           /* in handshake */
    unsigned max_links;            /* the cap in force (peers_config.max_conns) */
    unsigned slots_used;           /* peers being served now (<= PEERS_UPLOAD_SLOTS) */
    unsigned slots_peak;           /* the most served at once, ever */
    unsigned upload_waiting;       /* requests waiting for a slot */
    uint64_t bytes_up, bytes_down; /* chunk bytes served / received */
    uint64_t chunks_served, busy_replies;
    /* refused_full: connections closed at accept (max_links reached);
     * refused_ticket: links closed because the other side's ticket failed
     * (PEERLINK_ETICKET, PEERLINK_EEXPIRED) */
    uint64_t refused_full, refused_ticket, trimmed, banned;
    uint64_t searches, finds_relayed, found_received;
};
void peers_get_stats(const struct peers *ps, struct peers_stats *out);

/* One row per link (up or in handshake), most useful first; returns the
 * count written (at most max). */
size_t peers_conn_table(const struct peers *ps, struct mq_conn *rows, size_t max);

/* ---- one link ---- */

/* GET_CHUNKS on p; returns the rid (0: could not be sent). */
uint32_t peer_get_chunks(struct peer *p, const uint8_t file_id[WIRE_ID_LEN], uint32_t first,
                         uint32_t count, uint8_t prio, uint32_t deadline_ms);
/* CANCEL rid on p (an OK or the rest of its CHUNKs may still come). */
void peer_cancel(struct peer *p, uint32_t rid);

const uint8_t *peer_key(const struct peer *p);
/* "127.0.0.1:4171": its address with the port it accepts peers on (the
 * socket's own port when it accepts none, and before the link is up). */
const char *peer_address(const struct peer *p);
/* Chunk bytes per second received from p, smoothed; 0 before any. */
uint64_t peer_rate_down(const struct peer *p);
/* Last measured round trip; -1 before the first PONG. */
int32_t peer_rtt_ms(const struct peer *p);

/* The owner's pointer for p (the scheduler's source). */
void peer_set_data(struct peer *p, void *data);
void *peer_data(const struct peer *p);

#endif
