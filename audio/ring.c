/* ring: lock-free SPSC byte ring (see ring.h).
 *
 * Owns one buffer. The producer owns `write`, the consumer owns `read`;
 * each publishes its counter with a release store and reads the other's
 * with an acquire load, so the bytes copied before a store are visible to
 * the other side once it sees the new counter. `flush_to` is written by the
 * producer only and only ever grows; the consumer moves `read` up to it.
 * Must never lock, allocate or block after ring_new: the consumer runs in
 * the audio callback. */
#include "audio/ring.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

/* Producer and consumer counters on separate cache lines: no false
 * sharing between the two threads. */
struct ring {
    uint8_t *buf;
    size_t cap, mask;
    _Alignas(64) _Atomic uint64_t write;
    _Atomic uint64_t flush_to;
    _Alignas(64) _Atomic uint64_t read;
};

struct ring *ring_new(size_t min_capacity)
{
    size_t cap = 64;
    while (cap < min_capacity)
        cap <<= 1;
    struct ring *r = xcalloc(1, sizeof(*r));
    r->buf = xmalloc(cap);
    r->cap = cap;
    r->mask = cap - 1;
    atomic_init(&r->write, 0);
    atomic_init(&r->flush_to, 0);
    atomic_init(&r->read, 0);
    return r;
}

void ring_free(struct ring *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

size_t ring_capacity(const struct ring *r)
{
    return r->cap;
}

static size_t round_unit(size_t n, size_t unit)
{
    return unit > 1 ? n - n % unit : n;
}

size_t ring_writable(const struct ring *r)
{
    uint64_t w = atomic_load_explicit(&r->write, memory_order_relaxed);
    uint64_t rd = atomic_load_explicit(&r->read, memory_order_acquire);
    return r->cap - (size_t)(w - rd);
}

size_t ring_write(struct ring *r, const void *src, size_t len, size_t unit)
{
    uint64_t w = atomic_load_explicit(&r->write, memory_order_relaxed);
    size_t room = ring_writable(r);
    size_t n = round_unit(len < room ? len : room, unit);
    if (n == 0)
        return 0;
    size_t at = (size_t)(w & r->mask);
    size_t first = r->cap - at < n ? r->cap - at : n;
    memcpy(r->buf + at, src, first);
    memcpy(r->buf, (const uint8_t *)src + first, n - first);
    atomic_store_explicit(&r->write, w + n, memory_order_release);
    return n;
}

void ring_flush(struct ring *r)
{
    uint64_t w = atomic_load_explicit(&r->write, memory_order_relaxed);
    atomic_store_explicit(&r->flush_to, w, memory_order_release);
}

/* Consumer: applies a pending flush; returns the read position. */
static uint64_t consumer_pos(struct ring *r)
{
    uint64_t rd = atomic_load_explicit(&r->read, memory_order_relaxed);
    uint64_t f = atomic_load_explicit(&r->flush_to, memory_order_acquire);
    if (f > rd) {
        rd = f;
        atomic_store_explicit(&r->read, rd, memory_order_release);
    }
    return rd;
}

size_t ring_readable(struct ring *r)
{
    uint64_t rd = consumer_pos(r);
    return (size_t)(atomic_load_explicit(&r->write, memory_order_acquire) - rd);
}

size_t ring_read(struct ring *r, void *dst, size_t len, size_t unit)
{
    uint64_t rd = consumer_pos(r);
    size_t avail = (size_t)(atomic_load_explicit(&r->write, memory_order_acquire) - rd);
    size_t n = round_unit(len < avail ? len : avail, unit);
    if (n == 0)
        return 0;
    size_t at = (size_t)(rd & r->mask);
    size_t first = r->cap - at < n ? r->cap - at : n;
    memcpy(dst, r->buf + at, first);
    memcpy((uint8_t *)dst + first, r->buf, n - first);
    atomic_store_explicit(&r->read, rd + n, memory_order_release);
    return n;
}

uint64_t ring_write_pos(const struct ring *r)
{
    return atomic_load_explicit(&r->write, memory_order_acquire);
}

uint64_t ring_read_pos(const struct ring *r)
{
    return atomic_load_explicit(&r->read, memory_order_acquire);
}

size_t ring_fill(const struct ring *r)
{
    uint64_t rd = atomic_load_explicit(&r->read, memory_order_acquire);
    uint64_t f = atomic_load_explicit(&r->flush_to, memory_order_acquire);
    uint64_t w = atomic_load_explicit(&r->write, memory_order_acquire);
    if (f > rd)
        rd = f;
    return w > rd ? (size_t)(w - rd) : 0;
}
