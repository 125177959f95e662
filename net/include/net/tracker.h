/* tracker: who holds which file, as the service remembers it (DESIGN §5).
 *
 * Peers announce the files they hold completely. For each file the tracker
 * keeps the TRACKER_KEEP (20) most recent announcers; a lookup returns up
 * to TRACKER_RETURN (10) of them, most recent first, that are online —
 * never the asker (neither its connection nor another connection with the
 * same key). A peer's entries go when it disconnects (tracker_peer_remove)
 * or when it has been silent (no message at all) for longer than the
 * silence timeout; a silent peer is skipped by lookups at once and its
 * entries are dropped by the next tracker_expire.
 *
 * Memory is bounded per peer (TRACKER_MAX_FILES_PER_PEER entries; older
 * announcements give way) and per file (TRACKER_KEEP). File ids are hashed
 * with a per-tracker random key, so chosen ids cannot pile into one bucket.
 *
 * Pure bookkeeping with the time passed in (milliseconds on any monotonic
 * clock); no I/O. One thread at a time (the service's loop). */
#ifndef CHORUS_NET_TRACKER_H
#define CHORUS_NET_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "net/wire.h"

#define TRACKER_KEEP               20u
#define TRACKER_RETURN             WIRE_MAX_PEERS
#define TRACKER_MAX_FILES_PER_PEER 50000u
#define TRACKER_SILENCE_MS         (10u * 60u * 1000u) /* default */

struct tracker;
struct tracker_peer;

/* silence_ms 0 means TRACKER_SILENCE_MS. The caller owns the result. */
struct tracker *tracker_new(uint64_t silence_ms);

/* Frees the tracker and every peer handle still registered. */
void tracker_free(struct tracker *t);

/* Registers a connected peer: family 4 or 6, addr (16 bytes, IPv4 in the
 * first 4), its Ed25519 key. The handle stays valid until
 * tracker_peer_remove or tracker_free. */
struct tracker_peer *tracker_peer_add(struct tracker *t, uint8_t family, const uint8_t addr[16],
                                      const uint8_t key[WIRE_ID_LEN], uint64_t now);

/* The peer disconnected: its entries go and the handle is freed. */
void tracker_peer_remove(struct tracker *t, struct tracker_peer *p);

/* The peer said something: it is online. */
void tracker_peer_touch(struct tracker_peer *p, uint64_t now);

/* The peer holds these files completely and accepts peers on port
 * (which replaces any port it gave before). Re-announcing moves it to the
 * front of each file's list. */
void tracker_announce(struct tracker *t, struct tracker_peer *p, uint16_t port,
                      const uint8_t (*ids)[WIRE_ID_LEN], size_t n, uint64_t now);

/* The peer no longer holds these files. */
void tracker_withdraw(struct tracker *t, struct tracker_peer *p, const uint8_t (*ids)[WIRE_ID_LEN],
                      size_t n);

/* Up to max (at most TRACKER_RETURN) online holders of id, most recent
 * first, never asker (may be NULL) or a peer with asker's key. Returns the
 * count written to out. */
size_t tracker_lookup(struct tracker *t, const uint8_t id[WIRE_ID_LEN],
                      const struct tracker_peer *asker, uint64_t now, struct wire_peer *out,
                      size_t max);

/* Drops the entries of peers silent for longer than the timeout; returns
 * how many entries went. */
size_t tracker_expire(struct tracker *t, uint64_t now);

/* Entries held in all (for stats and tests). */
size_t tracker_entry_count(const struct tracker *t);

/* Files with at least one entry. */
size_t tracker_file_count(const struct tracker *t);

#endif
