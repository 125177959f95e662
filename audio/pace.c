/* pace: absolute-deadline ticks for the outputs without a device (see
 * pace.h). Runs on the output's clock thread; only reads the clock and
 * sleeps. */
#include "pace.h"

#include <errno.h>
#include <stdlib.h>

#include "audio/sink.h"

#define NS_PER_S        1000000000L
#define PACE_MAX_LAG_NS NS_PER_S /* further behind than this: restart */

static void add_ns(struct timespec *t, long ns)
{
    t->tv_nsec += ns;
    while (t->tv_nsec >= NS_PER_S) {
        t->tv_nsec -= NS_PER_S;
        t->tv_sec++;
    }
}

/* How far a is after b, in nanoseconds (negative when before). */
static long long diff_ns(const struct timespec *a, const struct timespec *b)
{
    return (long long)(a->tv_sec - b->tv_sec) * NS_PER_S + (a->tv_nsec - b->tv_nsec);
}

void pace_init(struct pace *p, long period_ns)
{
    p->period_ns = period_ns;
    clock_gettime(CLOCK_MONOTONIC, &p->deadline);
}

const struct timespec *pace_next(struct pace *p)
{
    add_ns(&p->deadline, p->period_ns);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (diff_ns(&now, &p->deadline) > PACE_MAX_LAG_NS)
        p->deadline = now;
    return &p->deadline;
}

void pace_sleep(const struct pace *p)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &p->deadline, NULL) == EINTR)
        ;
}

int pace_parse_speed(const char *arg, unsigned *speed)
{
    *speed = 1;
    if (!arg)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(arg, &end, 10);
    if (errno || end == arg || *end || n < 1 || n > PACE_MAX_SPEED)
        return AOUT_EINVAL;
    *speed = (unsigned)n;
    return 0;
}
