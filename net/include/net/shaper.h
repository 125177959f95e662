/* shaper: one direction of an emulated or capped access link — a rate in
 * bytes per second shared by every connection attached to it (conn.h,
 * conn_set_shaping). The loopback interface has no latency and no
 * bandwidth limit, and this machine has no netem: tests and the benchmark
 * give each engine an uplink and a downlink shaper so that ranking peers,
 * re-sending slow requests and the service's 15 s window mean something;
 * the engine's [p2p] upload_rate / download_rate caps are shapers too.
 *
 * A shaper is a virtual clock: shaper_reserve books len bytes after what
 * was booked before (never earlier than now) and says when the last byte
 * has passed. Pure arithmetic, no timers; the caller passes the time
 * (microseconds on any monotonic clock). One thread (the engine's loop). */
#ifndef CHORUS_NET_SHAPER_H
#define CHORUS_NET_SHAPER_H

#include <stddef.h>
#include <stdint.h>

struct shaper;

/* rate_bytes_per_s 0: unlimited (reserve returns now). */
struct shaper *shaper_new(uint64_t rate_bytes_per_s);
void shaper_free(struct shaper *s);
void shaper_set_rate(struct shaper *s, uint64_t rate_bytes_per_s);
uint64_t shaper_rate(const struct shaper *s);

/* Books len bytes starting no earlier than now_us; returns the time the
 * last of them has passed. */
uint64_t shaper_reserve(struct shaper *s, uint64_t now_us, size_t len);

/* How far ahead of now_us the shaper is booked (0: idle). */
uint64_t shaper_backlog_us(const struct shaper *s, uint64_t now_us);

#endif
