/* bench_swarm_workload: what the swarm benchmark's listeners play — the
 * workload Kreitz & Niemelä measured (DESIGN §5), as a pure function of
 * the seed, so a run can be repeated.
 *
 *   popularity   whole albums are popular or not (a fixed order drawn
 *                from the seed, the same for every listener): the
 *                popular albums hold about 12% of the tracks and get 88%
 *                of the fresh picks; the rest share the other 12%
 *   album order  after a track, the next of its album follows (queued,
 *                so it joins gaplessly) with WORKLOAD_FOLLOW; with the
 *                plays that were continuations anyway, about 61% of
 *                plays follow album order
 *   skips/seeks  a track is skipped with WORKLOAD_SKIP (after 5 s to 70%
 *                of it), else seeked with WORKLOAD_SEEK
 *   sessions     listening sessions of exponential length (mean
 *                WORKLOAD_SESSION_S of track time), separated by pauses
 *                (mean WORKLOAD_PAUSE_S), the listener stopped meanwhile
 *   history      what a listener played before the run (the warm cache):
 *                the same picks and album order, repeats included,
 *                newest last
 *
 * The flash-crowd album (workload_flash_album) is the least popular one:
 * never picked, nor in any history, before the crowd plays it.
 * Pure: no I/O, any thread (each listener has its own generator). */
#ifndef CHORUS_APP_BENCH_SWARM_WORKLOAD_H
#define CHORUS_APP_BENCH_SWARM_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_catalog.h"

#define WORKLOAD_HOT_TRACKS_PCT 12.0 /* of the catalog, in the popular albums */
#define WORKLOAD_HOT_PLAYS      0.88 /* fresh picks among them */
#define WORKLOAD_FOLLOW         0.75 /* the next of the album follows */
#define WORKLOAD_SKIP           0.15
#define WORKLOAD_SEEK           0.05
#define WORKLOAD_SESSION_S      1200.0
#define WORKLOAD_PAUSE_S        180.0

struct workload {
    const struct bench_catalog *cat;
    size_t *hot, nhot;   /* track indexes in the popular albums */
    size_t *cold, ncold; /* the others, the flash album left out */
    size_t flash_album;  /* index in cat->albums */
    bool *popular;       /* by track index */
};

void workload_init(struct workload *w, const struct bench_catalog *cat, uint64_t seed);
void workload_free(struct workload *w);

/* A listener's generator: seeded by the run's seed and its index. */
uint64_t workload_rng(uint64_t seed, unsigned listener);
uint64_t workload_next(uint64_t *rng);
double workload_uniform(uint64_t *rng, double lo, double hi);
double workload_exponential(uint64_t *rng, double mean);

/* A fresh pick (a track index), by popularity. */
size_t workload_pick(const struct workload *w, uint64_t *rng);
/* The track that follows t when the listener keeps to the album (chance
 * WORKLOAD_FOLLOW), or SIZE_MAX: t ends its album, or the listener turns
 * elsewhere. */
size_t workload_follow(const struct workload *w, uint64_t *rng, size_t t);

/* The listener's past plays, the oldest first, repeats included (for
 * swarm_fill: what a track's last play was), as long as the distinct
 * tracks heard fit in cap_bytes. The caller owns *out (free). */
size_t workload_history(const struct workload *w, uint64_t *rng, uint64_t cap_bytes, size_t **out);

/* True when track t is in a popular album. */
bool workload_is_popular(const struct workload *w, size_t t);

/* The first track of the flash-crowd album. */
size_t workload_flash_first(const struct workload *w);

#endif
