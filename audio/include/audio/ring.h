/* ring: a lock-free single-producer / single-consumer byte ring
 * (DESIGN.md §2: the decoder thread writes PCM, the audio callback reads).
 *
 * Capacity is a power of two. Positions are 64-bit byte counters that only
 * grow (they never wrap in practice), so "bytes ever written / read" are
 * free figures and the decoder maps them to track positions.
 *
 * Flush without a cross-thread handshake: the producer calls ring_flush,
 * which publishes the current write position as a "skip to" mark; the
 * consumer drops everything before it on its next read or peek. Data
 * written after the flush is kept. This is how a seek discards stale PCM
 * while the audio callback keeps running (ffplay's serial idea).
 *
 * Threads: exactly one producer thread calls the producer functions and
 * exactly one consumer thread the consumer ones; the "any thread" ones
 * only read counters. Nothing here locks, allocates (after ring_new),
 * blocks or does I/O, so the consumer side is safe in an audio callback. */
#ifndef CHORUS_AUDIO_RING_H
#define CHORUS_AUDIO_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring;

/* A ring of at least min_capacity bytes (rounded up to a power of two,
 * at least 64). Owned by the caller (ring_free). */
struct ring *ring_new(size_t min_capacity);
/* NULL is ignored. No thread may use r any more. */
void ring_free(struct ring *r);

/* The capacity in bytes. Any thread. */
size_t ring_capacity(const struct ring *r);

/* ---- producer ---- */

/* Copies up to len bytes from src; returns how many fitted (possibly 0).
 * When unit > 1 only a multiple of unit bytes is written (whole frames). */
size_t ring_write(struct ring *r, const void *src, size_t len, size_t unit);
/* Bytes that ring_write would accept now (the consumer may free more). */
size_t ring_writable(const struct ring *r);
/* Marks everything written so far as stale: the consumer skips it. */
void ring_flush(struct ring *r);

/* ---- consumer ---- */

/* Copies up to len bytes into dst (a multiple of unit when unit > 1);
 * returns how many. Applies a pending flush first. */
size_t ring_read(struct ring *r, void *dst, size_t len, size_t unit);
/* Bytes ring_read could return now (after applying a pending flush). */
size_t ring_readable(struct ring *r);

/* ---- any thread ---- */

/* Bytes ever written / consumed (skipped bytes count as consumed once the
 * consumer applied the flush). */
uint64_t ring_write_pos(const struct ring *r);
uint64_t ring_read_pos(const struct ring *r);
/* Bytes written and not yet consumed or flushed, as seen now. */
size_t ring_fill(const struct ring *r);

#endif
