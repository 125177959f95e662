/* queue: the play queue's logic (see core/queue.h for the rules).
 *
 * Owns: the list of track ids, the play order and the cursor. The cursor
 * is kept as an index into the play order (`at`): with shuffle off the
 * play order is the list itself, with shuffle on it is `order`, a
 * permutation of list positions. So next, prev and the end of a round are
 * the same code in both modes, and an edit only has to remap list
 * positions.
 *
 * Permutations come from splitmix64 (Steele, Lea, Flood 2014: a 64-bit
 * state, one add and a mix per draw), seeded from q->seed, so the same
 * seed, list and current track give the same order. Each new permutation
 * (a new round of repeat all, shuffle turned on, a jump) first moves the
 * seed on with seed_after(), so queue_seed() always names the seed of the
 * permutation in force and a queue restored with it continues with the
 * same rounds. Bounded draws reject the biased tail (no modulo bias).
 *
 * Thread: one owner (the engine's loop). Must never do I/O or read a
 * clock: it is pure data, tested as such. */
#include "core/queue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

struct queue {
    uint64_t *ids; /* the list, in the user's order */
    size_t len, cap;
    size_t *order; /* shuffle on: the play order (len list positions); cap entries */
    long at;       /* the cursor: its index in the play order, -1 none */
    enum queue_repeat repeat;
    bool shuffle;
    uint64_t seed;   /* the seed of the permutation in force (or of the next one, when fresh) */
    bool seed_fresh; /* seed has not made a permutation yet */
    uint64_t rng;    /* draws for edits of the permutation in force */
};

/* ---- the PRNG ---- */

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_next(uint64_t *state)
{
    *state += GOLDEN_GAMMA;
    return mix64(*state);
}

/* Uniform in [0, bound), bound > 0. */
static size_t rng_below(uint64_t *state, size_t bound)
{
    uint64_t b = bound;
    uint64_t threshold = -b % b; /* 2^64 mod b: the biased low values */
    for (;;) {
        uint64_t x = rng_next(state);
        if (x >= threshold)
            return (size_t)(x % b);
    }
}

/* The seed of the permutation after the one made from seed. */
static uint64_t seed_after(uint64_t seed)
{
    return mix64(seed ^ 0x6a09e667f3bcc909ull);
}

/* The first track of a new round: any list position but avoid (when
 * there is another). Shared by the permutation and queue_peek_next, so
 * the peek tells what the round will really start with. */
static size_t draw_first(uint64_t *state, size_t n, long avoid)
{
    if (avoid >= 0 && n > 1) {
        size_t j = rng_below(state, n - 1);
        return j >= (size_t)avoid ? j + 1 : j;
    }
    return rng_below(state, n);
}

static uint64_t next_seed(const struct queue *q)
{
    return q->seed_fresh ? q->seed : seed_after(q->seed);
}

/* ---- storage and play order ---- */

static void swap_sz(size_t *a, size_t *b)
{
    size_t t = *a;
    *a = *b;
    *b = t;
}

static void reserve(struct queue *q, size_t extra)
{
    size_t limit = SIZE_MAX / sizeof(uint64_t);
    if (extra > limit - q->len)
        xrealloc(q->ids, SIZE_MAX); /* more than memory can hold: out of memory */
    size_t need = q->len + extra;
    if (need <= q->cap)
        return;
    size_t cap = q->cap < 16 ? 16 : q->cap;
    while (cap < need)
        cap = cap > limit / 2 ? limit : cap * 2;
    q->ids = xrealloc(q->ids, cap * sizeof(*q->ids));
    q->order = xrealloc(q->order, cap * sizeof(*q->order));
    q->cap = cap;
}

/* The list position at index i of the play order. */
static size_t play_at(const struct queue *q, size_t i)
{
    return q->shuffle ? q->order[i] : i;
}

/* The index of list position pos in the shuffle order (it is there). */
static size_t order_index(const struct queue *q, size_t pos)
{
    size_t i = 0;
    while (q->order[i] != pos)
        i++;
    return i;
}

/* A new permutation from the next seed: starting with list position first
 * (>= 0), or else with a drawn track other than avoid (-1: any). */
static void new_order(struct queue *q, long first, long avoid)
{
    q->seed = next_seed(q);
    q->seed_fresh = false;
    q->rng = q->seed;
    size_t n = q->len;
    for (size_t i = 0; i < n; i++)
        q->order[i] = i;
    if (n == 0)
        return;
    size_t f = first >= 0 ? (size_t)first : draw_first(&q->rng, n, avoid);
    swap_sz(&q->order[0], &q->order[f]);
    for (size_t i = 1; i + 1 < n; i++)
        swap_sz(&q->order[i], &q->order[i + rng_below(&q->rng, n - i)]);
}

/* A new round from the first track of the play order (a new permutation
 * when shuffled, not starting with avoid). */
static void new_round(struct queue *q, long avoid)
{
    if (q->shuffle)
        new_order(q, -1, avoid);
    q->at = q->len ? 0 : -1;
}

/* ---- the queue ---- */

struct queue *queue_new(uint64_t seed)
{
    struct queue *q = xcalloc(1, sizeof(*q));
    q->at = -1;
    q->seed = seed;
    q->seed_fresh = true;
    q->rng = seed;
    return q;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    free(q->ids);
    free(q->order);
    free(q);
}

size_t queue_len(const struct queue *q)
{
    return q->len;
}

uint64_t queue_at(const struct queue *q, size_t pos)
{
    return pos < q->len ? q->ids[pos] : 0;
}

long queue_cursor(const struct queue *q)
{
    return q->at < 0 ? -1 : (long)play_at(q, (size_t)q->at);
}

int queue_set_cursor(struct queue *q, long pos)
{
    if (pos < -1 || (pos >= 0 && (size_t)pos >= q->len))
        return -1;
    if (pos == -1 || !q->shuffle) {
        q->at = pos;
    } else if (pos != queue_cursor(q)) {
        new_order(q, pos, -1);
        q->at = 0;
    }
    return 0;
}

void queue_replace(struct queue *q, const uint64_t *ids, size_t n)
{
    q->len = 0;
    reserve(q, n);
    if (n)
        memcpy(q->ids, ids, n * sizeof(*ids));
    q->len = n;
    new_round(q, -1);
}

void queue_add(struct queue *q, const uint64_t *ids, size_t n)
{
    queue_insert(q, q->len, ids, n);
}

/* Shuffle on: the n new list positions pos.. go to random places among
 * the tracks still to play this round (a uniform random interleaving of
 * the upcoming part with the new tracks in random order). */
static void order_insert(struct queue *q, size_t pos, size_t n)
{
    size_t old_len = q->len - n;
    for (size_t i = 0; i < old_len; i++)
        if (q->order[i] >= pos)
            q->order[i] += n;
    size_t *fresh = xmalloc(n * sizeof(*fresh));
    for (size_t i = 0; i < n; i++)
        fresh[i] = pos + i;
    for (size_t i = 0; i + 1 < n; i++)
        swap_sz(&fresh[i], &fresh[i + rng_below(&q->rng, n - i)]);
    /* merge from the back, in place: the write index never passes the
     * read index of the old upcoming part */
    size_t first = (size_t)(q->at + 1);
    size_t old_left = old_len - first, new_left = n;
    size_t w = q->len;
    while (new_left) {
        w--;
        if (rng_below(&q->rng, old_left + new_left) < new_left)
            q->order[w] = fresh[--new_left];
        else
            q->order[w] = q->order[first + --old_left];
    }
    free(fresh);
}

int queue_insert(struct queue *q, size_t pos, const uint64_t *ids, size_t n)
{
    if (pos > q->len)
        return -1;
    if (n == 0)
        return 0;
    reserve(q, n);
    memmove(q->ids + pos + n, q->ids + pos, (q->len - pos) * sizeof(*q->ids));
    memcpy(q->ids + pos, ids, n * sizeof(*ids));
    q->len += n;
    if (q->shuffle)
        order_insert(q, pos, n);
    else if (q->at >= (long)pos)
        q->at += (long)n;
    return 0;
}

int queue_remove(struct queue *q, size_t pos)
{
    if (pos >= q->len)
        return -1;
    size_t k = pos; /* its index in the play order */
    if (q->shuffle) {
        k = order_index(q, pos);
        memmove(q->order + k, q->order + k + 1, (q->len - k - 1) * sizeof(*q->order));
        for (size_t i = 0; i + 1 < q->len; i++)
            if (q->order[i] > pos)
                q->order[i]--;
    }
    memmove(q->ids + pos, q->ids + pos + 1, (q->len - pos - 1) * sizeof(*q->ids));
    q->len--;
    if (q->at < 0 || (long)k > q->at)
        return 0;
    if ((long)k < q->at) {
        q->at--;
    } else if ((size_t)q->at == q->len) {
        /* the current track was the last of the round: what follows it is
         * what queue_advance would play */
        if (q->repeat == QUEUE_REPEAT_OFF)
            q->at = -1;
        else
            new_round(q, -1);
    }
    return 0;
}

/* Where list position p goes when from moves to to. */
static size_t moved(size_t p, size_t from, size_t to)
{
    if (p == from)
        return to;
    if (from < to && p > from && p <= to)
        return p - 1;
    if (to < from && p >= to && p < from)
        return p + 1;
    return p;
}

int queue_move(struct queue *q, size_t from, size_t to)
{
    if (from >= q->len || to >= q->len)
        return -1;
    if (from == to)
        return 0;
    uint64_t id = q->ids[from];
    if (from < to)
        memmove(q->ids + from, q->ids + from + 1, (to - from) * sizeof(*q->ids));
    else
        memmove(q->ids + to + 1, q->ids + to, (from - to) * sizeof(*q->ids));
    q->ids[to] = id;
    if (q->shuffle) {
        for (size_t i = 0; i < q->len; i++)
            q->order[i] = moved(q->order[i], from, to);
    } else if (q->at >= 0) {
        q->at = (long)moved((size_t)q->at, from, to);
    }
    return 0;
}

void queue_clear(struct queue *q)
{
    q->len = 0;
    q->at = -1;
}

void queue_set_repeat(struct queue *q, enum queue_repeat r)
{
    q->repeat = r;
}

enum queue_repeat queue_repeat(const struct queue *q)
{
    return q->repeat;
}

void queue_set_shuffle(struct queue *q, bool on)
{
    if (on == q->shuffle)
        return;
    long cur = queue_cursor(q);
    q->shuffle = on;
    if (on) {
        new_order(q, cur, -1);
        q->at = cur >= 0 ? 0 : -1;
    } else {
        q->at = cur;
    }
}

bool queue_shuffle(const struct queue *q)
{
    return q->shuffle;
}

/* ---- next and prev ---- */

enum step {
    STEP_NONE, /* nothing plays next */
    STEP_SAME, /* repeat one: the same track again */
    STEP_ON,   /* the next in the play order */
    STEP_WRAP, /* a new round */
};

/* What comes after the cursor; user: the user's `next` (repeat one moves
 * on as repeat all would). */
static enum step step_of(const struct queue *q, bool user)
{
    if (q->at < 0)
        return STEP_NONE;
    if (q->repeat == QUEUE_REPEAT_ONE && !user)
        return STEP_SAME;
    if ((size_t)q->at + 1 < q->len)
        return STEP_ON;
    return q->repeat == QUEUE_REPEAT_OFF ? STEP_NONE : STEP_WRAP;
}

long queue_peek_next(const struct queue *q)
{
    switch (step_of(q, false)) {
    case STEP_NONE:
        break;
    case STEP_SAME:
        return queue_cursor(q);
    case STEP_ON:
        return (long)play_at(q, (size_t)q->at + 1);
    case STEP_WRAP:
        if (q->shuffle) {
            uint64_t state = next_seed(q);
            return (long)draw_first(&state, q->len, queue_cursor(q));
        }
        return 0;
    }
    return -1;
}

static long go_next(struct queue *q, bool user)
{
    switch (step_of(q, user)) {
    case STEP_NONE:
        q->at = -1;
        break;
    case STEP_SAME:
        break;
    case STEP_ON:
        q->at++;
        break;
    case STEP_WRAP:
        new_round(q, queue_cursor(q));
        break;
    }
    return queue_cursor(q);
}

long queue_next(struct queue *q)
{
    return go_next(q, false);
}

long queue_advance(struct queue *q)
{
    return go_next(q, true);
}

long queue_prev(struct queue *q)
{
    if (q->len == 0)
        return -1;
    if (q->at < 0)
        q->at = (long)q->len - 1; /* played past the end: back to the last */
    else if (q->at > 0)
        q->at--;
    else if (q->repeat != QUEUE_REPEAT_OFF)
        q->at = (long)q->len - 1;
    else
        return -1;
    return queue_cursor(q);
}

/* ---- persistence ---- */

/* order is a permutation of 0..n-1. */
static bool is_permutation(const size_t *order, size_t n)
{
    bool *seen = xcalloc(n, sizeof(*seen));
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        ok = order[i] < n && !seen[order[i]];
        if (ok)
            seen[order[i]] = true;
    }
    free(seen);
    return ok;
}

int queue_restore(struct queue *q, const uint64_t *ids, size_t n, long cursor, const size_t *order)
{
    q->len = 0;
    q->at = -1;
    q->shuffle = order != NULL;
    if (cursor < -1 || (cursor >= 0 && (size_t)cursor >= n) || (order && !is_permutation(order, n)))
        return -1;
    reserve(q, n);
    if (n)
        memcpy(q->ids, ids, n * sizeof(*ids));
    q->len = n;
    q->at = cursor;
    if (order) {
        if (n)
            memcpy(q->order, order, n * sizeof(*order));
        q->seed_fresh = false; /* the seed persisted with it made this order */
        q->rng = mix64(q->seed);
        if (cursor >= 0)
            q->at = (long)order_index(q, (size_t)cursor);
    }
    return 0;
}

uint64_t queue_seed(const struct queue *q)
{
    return q->seed;
}

const size_t *queue_order(const struct queue *q, size_t *n)
{
    if (n)
        *n = q->shuffle ? q->len : 0;
    return q->shuffle ? q->order : NULL;
}
