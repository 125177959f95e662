/* pace.h: the real-time clock of the paced outputs without a device
 * (sink_null, sink_bench); private to audio/.
 *
 * A pace is a series of absolute CLOCK_MONOTONIC deadlines one period
 * apart. Sleeping to absolute deadlines (not "period from now") keeps the
 * rate exact however late each wake-up is: a late tick is followed by a
 * shorter wait, or none, as a sound card's clock would keep going. When
 * the clock has fallen far behind (the process was stopped, the machine
 * suspended), it restarts from now instead of bursting out the missed
 * ticks. */
#ifndef CHORUS_AUDIO_PACE_H
#define CHORUS_AUDIO_PACE_H

#include <time.h>

#define PACE_MAX_SPEED 64

struct pace {
    struct timespec deadline; /* of the current tick */
    long period_ns;
};

/* Starts the clock: the current tick is now. */
void pace_init(struct pace *p, long period_ns);
/* Moves to the next tick's deadline (restarting at now when more than a
 * second behind) and returns it. */
const struct timespec *pace_next(struct pace *p);
/* Sleeps until the current tick's deadline (at once when it is past). */
void pace_sleep(const struct pace *p);

/* Parses the SPEED of "null:SPEED" and "bench:SPEED" (1..PACE_MAX_SPEED;
 * arg NULL: 1) into *speed. Returns 0 or AOUT_EINVAL. */
int pace_parse_speed(const char *arg, unsigned *speed);

#endif
