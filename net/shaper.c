/* shaper: a virtual clock for one direction of an emulated or capped link.
 *
 * Owns nothing but two numbers: the rate and the time (in nanoseconds, on
 * the caller's monotonic clock) until which the link is booked. Booking
 * starts at the later of now and that time, so an idle link banks no
 * credit for a later burst. Kept exactly (nanoseconds and the fraction
 * of one left over) so that many small bookings add up to what one large
 * booking of the same bytes would take. Pure arithmetic:
 * no timers, no I/O, no allocation after shaper_new. Used on one thread
 * (the engine's loop); never blocks. */
#include "net/shaper.h"

#include <stdlib.h>

#include "base/xmalloc.h"

struct shaper {
    uint64_t rate;      /* bytes per second; 0: unlimited */
    uint64_t booked_ns; /* the link is busy until then */
    uint64_t frac;      /* and frac / rate of a nanosecond (< 1) */
};

struct shaper *shaper_new(uint64_t rate_bytes_per_s)
{
    struct shaper *s = xcalloc(1, sizeof(*s));
    s->rate = rate_bytes_per_s;
    return s;
}

void shaper_free(struct shaper *s)
{
    free(s);
}

void shaper_set_rate(struct shaper *s, uint64_t rate_bytes_per_s)
{
    s->rate = rate_bytes_per_s;
    s->frac = 0; /* a fraction of the old rate's unit: under 1 ns */
}

uint64_t shaper_rate(const struct shaper *s)
{
    return s->rate;
}

/* Advances the booking by len bytes at s->rate (> 0); exact, and without
 * overflow below 18 GB/s whatever len. */
static void book(struct shaper *s, uint64_t len)
{
    uint64_t part = len % s->rate * 1000000000ull + s->frac;
    s->booked_ns += len / s->rate * 1000000000ull + part / s->rate;
    s->frac = part % s->rate;
}

uint64_t shaper_reserve(struct shaper *s, uint64_t now_us, size_t len)
{
    if (s->rate == 0)
        return now_us;
    uint64_t now_ns = now_us * 1000;
    if (s->booked_ns < now_ns) { /* idle: start now, nothing banked */
        s->booked_ns = now_ns;
        s->frac = 0;
    }
    book(s, len);
    return (s->booked_ns + 999) / 1000;
}

uint64_t shaper_backlog_us(const struct shaper *s, uint64_t now_us)
{
    uint64_t now_ns = now_us * 1000;
    if (s->rate == 0 || s->booked_ns <= now_ns)
        return 0;
    return (s->booked_ns - now_ns + 999) / 1000;
}
