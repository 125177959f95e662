/* bench_swarm_workload: the listeners' workload (bench_swarm_workload.h). */
#include "bench_swarm_workload.h"

#include <math.h>
#include <stdlib.h>

#include "base/xmalloc.h"

uint64_t workload_next(uint64_t *rng)
{
    /* xorshift64* */
    uint64_t x = *rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint64_t workload_rng(uint64_t seed, unsigned listener)
{
    /* splitmix64 of the pair: neighbouring listeners get unrelated streams */
    uint64_t z = seed * 0x9E3779B97F4A7C15ULL + listener + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 1;
}

double workload_uniform(uint64_t *rng, double lo, double hi)
{
    return lo + (hi - lo) * (double)(workload_next(rng) >> 11) / 9007199254740992.0;
}

double workload_exponential(uint64_t *rng, double mean)
{
    return -mean * log(1.0 - workload_uniform(rng, 0.0, 1.0));
}

static void shuffle(size_t *v, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = workload_next(rng) % i;
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

#define HISTORY_MAX_PLAYS 20

void workload_init(struct workload *w, const struct bench_catalog *cat, uint64_t seed)
{
    *w = (struct workload){.cat = cat};
    size_t *order = xmalloc(cat->nalbums * sizeof(*order));
    for (size_t a = 0; a < cat->nalbums; a++)
        order[a] = a;
    uint64_t rng = workload_rng(seed, UINT32_MAX);
    shuffle(order, cat->nalbums, &rng);
    w->hot = xmalloc(cat->ntracks * sizeof(*w->hot));
    w->cold = xmalloc(cat->ntracks * sizeof(*w->cold));
    w->popular = xcalloc(cat->ntracks, sizeof(*w->popular));
    /* The least popular album is the flash crowd's new release (when
     * there is more than one). */
    w->flash_album = order[cat->nalbums - 1];
    size_t want_hot = (size_t)ceil((double)cat->ntracks * WORKLOAD_HOT_TRACKS_PCT / 100.0);
    for (size_t i = 0; i < cat->nalbums; i++) {
        const struct bench_album *al = &cat->albums[order[i]];
        bool hot = w->nhot < want_hot || i == 0;
        if (!hot && order[i] == w->flash_album && cat->nalbums > 1)
            continue;
        for (size_t t = al->first; t < al->first + al->count; t++) {
            w->popular[t] = hot;
            if (hot)
                w->hot[w->nhot++] = t;
            else
                w->cold[w->ncold++] = t;
        }
    }
    free(order);
}

void workload_free(struct workload *w)
{
    free(w->hot);
    free(w->cold);
    free(w->popular);
    *w = (struct workload){0};
}

size_t workload_pick(const struct workload *w, uint64_t *rng)
{
    bool hot = w->ncold == 0 || workload_uniform(rng, 0, 1) < WORKLOAD_HOT_PLAYS;
    return hot ? w->hot[workload_next(rng) % w->nhot] : w->cold[workload_next(rng) % w->ncold];
}

size_t workload_follow(const struct workload *w, uint64_t *rng, size_t t)
{
    const struct bench_album *al = &w->cat->albums[w->cat->tracks[t].album];
    if (t + 1 >= al->first + al->count || workload_uniform(rng, 0, 1) >= WORKLOAD_FOLLOW)
        return SIZE_MAX;
    return t + 1;
}

bool workload_is_popular(const struct workload *w, size_t t)
{
    return w->popular[t];
}

size_t workload_flash_first(const struct workload *w)
{
    return w->cat->albums[w->flash_album].first;
}

/* The past plays, repeats and all (a popular track is heard again and
 * again, so its last play is recent), until the distinct tracks heard
 * would pass the cap — or HISTORY_MAX_PLAYS per catalog track, when the
 * whole catalog fits. */
size_t workload_history(const struct workload *w, uint64_t *rng, uint64_t cap_bytes, size_t **out)
{
    const struct bench_catalog *cat = w->cat;
    bool *heard = xcalloc(cat->ntracks, sizeof(*heard));
    size_t max = cat->ntracks * HISTORY_MAX_PLAYS, n = 0;
    size_t *v = xmalloc(max * sizeof(*v));
    uint64_t bytes = 0;
    bool full = false;
    while (!full && n < max) {
        for (size_t t = workload_pick(w, rng); t != SIZE_MAX && n < max;
             t = workload_follow(w, rng, t)) {
            if (!heard[t] && bytes + cat->tracks[t].bytes > cap_bytes) {
                full = true;
                break;
            }
            bytes += heard[t] ? 0 : cat->tracks[t].bytes;
            heard[t] = true;
            v[n++] = t;
        }
    }
    free(heard);
    *out = v;
    return n;
}
