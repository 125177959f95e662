/* Tests for core/queue: every rule of core/queue.h — repeat off/one/all
 * in list order and shuffled, next vs advance vs prev, peek_next without
 * side effects, edits before/at/after the cursor and across it (plain and
 * shuffled), shuffle rounds that play every track once, determinism from
 * the seed, and restore with its validation. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/queue.h"

#define MAXN 64

/* Track ids 101, 102, ...: list position p holds 101 + p at first. */
static struct queue *make(size_t n, uint64_t seed)
{
    uint64_t ids[MAXN];
    for (size_t i = 0; i < n; i++)
        ids[i] = 101 + i;
    struct queue *q = queue_new(seed);
    queue_replace(q, ids, n);
    return q;
}

/* The track at the cursor (0: none). */
static uint64_t current(const struct queue *q)
{
    long c = queue_cursor(q);
    return c < 0 ? 0 : queue_at(q, (size_t)c);
}

/* Shuffle is on and its order is a permutation of the list. */
static void check_order(const struct queue *q)
{
    size_t n;
    const size_t *order = queue_order(q, &n);
    assert_true(queue_shuffle(q));
    assert_int_equal(n, queue_len(q));
    bool seen[MAXN] = {0};
    for (size_t i = 0; i < n; i++) {
        assert_true(order[i] < n);
        assert_false(seen[order[i]]);
        seen[order[i]] = true;
    }
}

/* The index of list position pos in the shuffle order. */
static size_t order_index_of(const struct queue *q, long pos)
{
    size_t n;
    const size_t *order = queue_order(q, &n);
    for (size_t i = 0; i < n; i++)
        if ((long)order[i] == pos)
            return i;
    fail_msg("list position %ld is not in the order", pos);
    return 0;
}

static void test_empty(void **state)
{
    struct queue *q = queue_new(1);
    assert_int_equal(queue_len(q), 0);
    assert_int_equal(queue_cursor(q), -1);
    assert_int_equal(queue_at(q, 0), 0);
    for (int r = QUEUE_REPEAT_OFF; r <= QUEUE_REPEAT_ALL; r++) {
        queue_set_repeat(q, (enum queue_repeat)r);
        assert_int_equal(queue_peek_next(q), -1);
        assert_int_equal(queue_next(q), -1);
        assert_int_equal(queue_advance(q), -1);
        assert_int_equal(queue_prev(q), -1);
    }
    assert_int_equal(queue_set_cursor(q, 0), -1);
    assert_int_equal(queue_set_cursor(q, -2), -1);
    assert_int_equal(queue_set_cursor(q, -1), 0);
    assert_int_equal(queue_remove(q, 0), -1);
    assert_int_equal(queue_move(q, 0, 0), -1);
    uint64_t id = 7;
    assert_int_equal(queue_insert(q, 1, &id, 1), -1);
    queue_replace(q, NULL, 0);
    assert_int_equal(queue_cursor(q), -1);
    size_t n = 99;
    assert_null(queue_order(q, &n));
    assert_int_equal(n, 0);
    queue_set_shuffle(q, true);
    assert_int_equal(queue_next(q), -1);
    queue_order(q, &n);
    assert_int_equal(n, 0);
    /* adding to an empty queue leaves it without a cursor */
    queue_add(q, &id, 1);
    assert_int_equal(queue_len(q), 1);
    assert_int_equal(queue_cursor(q), -1);
    check_order(q);
    queue_free(q);
    queue_free(NULL);
}

static void test_repeat_off(void **state)
{
    struct queue *q = make(3, 1);
    assert_int_equal(queue_cursor(q), 0);
    assert_int_equal(queue_repeat(q), QUEUE_REPEAT_OFF);
    assert_int_equal(queue_peek_next(q), 1);
    assert_int_equal(queue_next(q), 1);
    assert_int_equal(queue_advance(q), 2);
    assert_int_equal(queue_peek_next(q), -1);
    assert_int_equal(queue_next(q), -1);
    assert_int_equal(queue_cursor(q), -1);
    assert_int_equal(queue_next(q), -1);
    assert_int_equal(queue_advance(q), -1);
    /* played past the end: prev replays the last */
    assert_int_equal(queue_prev(q), 2);
    assert_int_equal(queue_prev(q), 1);
    assert_int_equal(queue_prev(q), 0);
    /* nothing before the first: the cursor stays */
    assert_int_equal(queue_prev(q), -1);
    assert_int_equal(queue_cursor(q), 0);
    queue_free(q);
}

static void test_repeat_all(void **state)
{
    struct queue *q = make(3, 1);
    queue_set_repeat(q, QUEUE_REPEAT_ALL);
    assert_int_equal(queue_repeat(q), QUEUE_REPEAT_ALL);
    assert_int_equal(queue_prev(q), 2); /* from the first to the last */
    assert_int_equal(queue_peek_next(q), 0);
    assert_int_equal(queue_next(q), 0);
    assert_int_equal(queue_next(q), 1);
    assert_int_equal(queue_next(q), 2);
    assert_int_equal(queue_advance(q), 0);
    queue_free(q);
}

static void test_repeat_one(void **state)
{
    struct queue *q = make(3, 1);
    queue_set_repeat(q, QUEUE_REPEAT_ONE);
    assert_int_equal(queue_peek_next(q), 0);
    assert_int_equal(queue_next(q), 0);
    assert_int_equal(queue_next(q), 0);
    /* the user's next moves on, and past the end as repeat all would */
    assert_int_equal(queue_advance(q), 1);
    assert_int_equal(queue_next(q), 1);
    assert_int_equal(queue_advance(q), 2);
    assert_int_equal(queue_advance(q), 0);
    assert_int_equal(queue_prev(q), 2);
    assert_int_equal(queue_prev(q), 1);
    queue_free(q);
}

static void test_single_track(void **state)
{
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        struct queue *q = make(1, 3);
        queue_set_shuffle(q, shuffle);

        queue_set_repeat(q, QUEUE_REPEAT_OFF);
        assert_int_equal(queue_peek_next(q), -1);
        assert_int_equal(queue_prev(q), -1);
        assert_int_equal(queue_cursor(q), 0);
        assert_int_equal(queue_advance(q), -1);
        assert_int_equal(queue_prev(q), 0);

        queue_set_repeat(q, QUEUE_REPEAT_ONE);
        assert_int_equal(queue_next(q), 0);
        assert_int_equal(queue_advance(q), 0);
        assert_int_equal(queue_prev(q), 0);

        queue_set_repeat(q, QUEUE_REPEAT_ALL);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(queue_peek_next(q), 0);
            assert_int_equal(queue_next(q), 0);
        }
        assert_int_equal(queue_advance(q), 0);
        assert_int_equal(queue_prev(q), 0);
        queue_free(q);
    }
}

/* peek_next names what next will do, and changes nothing itself, in
 * every mode, across round boundaries. */
static void test_peek_matches_next(void **state)
{
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        for (int r = QUEUE_REPEAT_OFF; r <= QUEUE_REPEAT_ALL; r++) {
            struct queue *q = make(5, 77);
            queue_set_shuffle(q, shuffle);
            queue_set_repeat(q, (enum queue_repeat)r);
            for (int step = 0; step < 17; step++) {
                long before = queue_cursor(q);
                uint64_t seed = queue_seed(q);
                size_t n;
                const size_t *o = queue_order(q, &n);
                size_t copy[MAXN];
                if (o)
                    memcpy(copy, o, n * sizeof(*o));
                long p = queue_peek_next(q);
                assert_int_equal(queue_peek_next(q), p);
                assert_int_equal(queue_cursor(q), before);
                assert_true(queue_seed(q) == seed);
                if (o)
                    assert_memory_equal(queue_order(q, NULL), copy, n * sizeof(*o));
                assert_int_equal(queue_next(q), p);
                assert_int_equal(queue_cursor(q), p);
                if (p < 0)
                    break;
            }
            queue_free(q);
        }
    }
}

static void test_edit_remove(void **state)
{
    struct queue *q = make(5, 1);
    queue_set_cursor(q, 2); /* 103 */
    /* after the cursor */
    assert_int_equal(queue_remove(q, 4), 0);
    assert_int_equal(queue_cursor(q), 2);
    assert_true(current(q) == 103);
    /* before the cursor */
    assert_int_equal(queue_remove(q, 0), 0);
    assert_int_equal(queue_cursor(q), 1);
    assert_true(current(q) == 103);
    /* at the cursor: the follower plays */
    assert_int_equal(queue_remove(q, 1), 0);
    assert_true(current(q) == 104);
    assert_int_equal(queue_len(q), 2);
    assert_int_equal(queue_remove(q, 2), -1);
    /* the last, current, with repeat off: nothing follows */
    assert_int_equal(queue_remove(q, 1), 0);
    assert_int_equal(queue_cursor(q), -1);
    queue_free(q);

    q = make(3, 1);
    queue_set_repeat(q, QUEUE_REPEAT_ALL);
    queue_set_cursor(q, 2);
    assert_int_equal(queue_remove(q, 2), 0);
    assert_int_equal(queue_cursor(q), 0); /* the first follows the last */
    assert_int_equal(queue_remove(q, 0), 0);
    assert_true(current(q) == 102);
    assert_int_equal(queue_remove(q, 0), 0);
    assert_int_equal(queue_cursor(q), -1);
    assert_int_equal(queue_len(q), 0);
    queue_free(q);

    /* no cursor: removing anything leaves none */
    q = make(3, 1);
    queue_set_cursor(q, -1);
    assert_int_equal(queue_remove(q, 0), 0);
    assert_int_equal(queue_cursor(q), -1);
    queue_free(q);
}

static void test_edit_insert(void **state)
{
    struct queue *q = make(3, 1);
    queue_set_cursor(q, 1); /* 102 */
    uint64_t more[] = {201, 202};
    assert_int_equal(queue_insert(q, 4, more, 2), -1);
    assert_int_equal(queue_insert(q, 0, more, 2), 0); /* before the cursor */
    assert_int_equal(queue_cursor(q), 3);
    assert_true(current(q) == 102);
    assert_int_equal(queue_insert(q, 3, more, 1), 0); /* at the cursor: before it */
    assert_int_equal(queue_cursor(q), 4);
    assert_true(current(q) == 102);
    assert_int_equal(queue_insert(q, 5, more, 2), 0); /* after it: plays next */
    assert_int_equal(queue_cursor(q), 4);
    assert_true(queue_at(q, (size_t)queue_next(q)) == 201);
    queue_add(q, more, 0);
    assert_int_equal(queue_insert(q, 2, more, 0), 0);
    uint64_t want[] = {201, 202, 101, 201, 102, 201, 202, 103};
    assert_int_equal(queue_len(q), 8);
    for (size_t i = 0; i < 8; i++)
        assert_true(queue_at(q, i) == want[i]);
    /* appends past any start capacity */
    uint64_t many[40];
    for (size_t i = 0; i < 40; i++)
        many[i] = 300 + i;
    queue_add(q, many, 40);
    assert_int_equal(queue_len(q), 48);
    assert_true(queue_at(q, 47) == 339);
    assert_true(current(q) == 201);
    queue_free(q);
}

static void test_edit_move(void **state)
{
    struct queue *q = make(5, 1);
    queue_set_cursor(q, 2); /* 103 */
    assert_int_equal(queue_move(q, 5, 0), -1);
    assert_int_equal(queue_move(q, 0, 5), -1);
    assert_int_equal(queue_move(q, 1, 1), 0);
    /* from before the cursor to after it */
    assert_int_equal(queue_move(q, 0, 4), 0);
    assert_true(current(q) == 103);
    assert_int_equal(queue_cursor(q), 1);
    /* from after to before */
    assert_int_equal(queue_move(q, 4, 0), 0);
    assert_int_equal(queue_cursor(q), 2);
    assert_true(current(q) == 103);
    /* the current track itself */
    assert_int_equal(queue_move(q, 2, 4), 0);
    assert_int_equal(queue_cursor(q), 4);
    assert_true(current(q) == 103);
    /* moves that do not cross it */
    assert_int_equal(queue_move(q, 0, 1), 0);
    assert_int_equal(queue_cursor(q), 4);
    uint64_t want[] = {102, 101, 104, 105, 103};
    for (size_t i = 0; i < 5; i++)
        assert_true(queue_at(q, i) == want[i]);
    queue_clear(q);
    assert_int_equal(queue_len(q), 0);
    assert_int_equal(queue_cursor(q), -1);
    queue_free(q);
}

static void test_shuffle_on_off_keeps_current(void **state)
{
    struct queue *q = make(10, 5);
    queue_set_cursor(q, 4);
    queue_set_shuffle(q, true);
    assert_true(queue_shuffle(q));
    check_order(q);
    assert_int_equal(queue_cursor(q), 4);
    assert_int_equal(queue_order(q, NULL)[0], 4);
    /* the list keeps its order */
    for (size_t i = 0; i < 10; i++)
        assert_true(queue_at(q, i) == 101 + i);
    /* next follows the permutation */
    const size_t *order = queue_order(q, NULL);
    size_t second = order[1], third = order[2];
    assert_int_equal(queue_next(q), second);
    assert_int_equal(queue_next(q), third);
    /* turning it on again changes nothing */
    uint64_t seed = queue_seed(q);
    queue_set_shuffle(q, true);
    assert_true(queue_seed(q) == seed);
    assert_int_equal(queue_cursor(q), third);
    /* off mid-queue: list order from the current track */
    queue_set_shuffle(q, false);
    assert_false(queue_shuffle(q));
    assert_null(queue_order(q, NULL));
    assert_int_equal(queue_cursor(q), third);
    if (third + 1 < 10)
        assert_int_equal(queue_next(q), third + 1);
    else
        assert_int_equal(queue_next(q), -1);
    queue_free(q);
}

/* Shuffle + repeat all: every round plays every track exactly once, each
 * round in a new order, and a round does not start with the track that
 * ended the last one. */
static void test_shuffle_rounds(void **state)
{
    enum { N = 7, ROUNDS = 6 };
    struct queue *q = make(N, 99);
    queue_set_repeat(q, QUEUE_REPEAT_ALL);
    queue_set_shuffle(q, true);
    long plays[ROUNDS][N];
    long c = queue_cursor(q);
    for (int r = 0; r < ROUNDS; r++) {
        bool seen[N] = {0};
        for (int i = 0; i < N; i++) {
            assert_true(c >= 0 && c < N);
            assert_false(seen[c]);
            seen[c] = true;
            plays[r][i] = c;
            c = queue_next(q);
        }
        check_order(q);
    }
    int differing = 0;
    for (int r = 1; r < ROUNDS; r++) {
        assert_int_not_equal(plays[r][0], plays[r - 1][N - 1]);
        if (memcmp(plays[r], plays[r - 1], sizeof(plays[r])) != 0)
            differing++;
    }
    assert_true(differing >= ROUNDS - 2);
    queue_free(q);
}

static void test_shuffle_deterministic(void **state)
{
    enum { N = 20 };
    struct queue *a = make(N, 1234), *b = make(N, 1234), *c = make(N, 1235);
    queue_set_repeat(a, QUEUE_REPEAT_ALL);
    queue_set_repeat(b, QUEUE_REPEAT_ALL);
    queue_set_shuffle(a, true);
    queue_set_shuffle(b, true);
    queue_set_shuffle(c, true);
    assert_memory_equal(queue_order(a, NULL), queue_order(b, NULL), N * sizeof(size_t));
    assert_memory_not_equal(queue_order(a, NULL), queue_order(c, NULL), N * sizeof(size_t));
    assert_true(queue_seed(a) == queue_seed(b));
    for (int i = 0; i < 3 * N; i++)
        assert_int_equal(queue_next(a), queue_next(b));
    queue_free(a);
    queue_free(b);
    queue_free(c);
}

/* Every track is as likely to start a shuffled queue (no modulo bias, no
 * stuck first draw). */
static void test_shuffle_uniform_start(void **state)
{
    enum { N = 4, RUNS = 4000 };
    int count[N] = {0};
    for (uint64_t seed = 0; seed < RUNS; seed++) {
        struct queue *q = make(N, seed);
        queue_set_cursor(q, -1);
        queue_set_shuffle(q, true);
        count[queue_order(q, NULL)[0]]++;
        queue_free(q);
    }
    for (int i = 0; i < N; i++)
        assert_true(count[i] > RUNS / N * 8 / 10 && count[i] < RUNS / N * 12 / 10);
}

static void test_shuffle_edits(void **state)
{
    enum { N = 12 };
    struct queue *q = make(N, 42);
    queue_set_shuffle(q, true);
    for (int i = 0; i < 4; i++)
        queue_next(q);
    uint64_t cur = current(q);
    size_t at = order_index_of(q, queue_cursor(q));
    assert_int_equal(at, 4);

    /* the tracks already played stay played */
    uint64_t played[4];
    for (size_t i = 0; i < 4; i++)
        played[i] = queue_at(q, queue_order(q, NULL)[i]);

    /* insert: new tracks only among the upcoming ones */
    uint64_t more[] = {501, 502, 503};
    assert_int_equal(queue_insert(q, 0, more, 3), 0);
    check_order(q);
    assert_true(current(q) == cur);
    assert_int_equal(order_index_of(q, queue_cursor(q)), 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(queue_at(q, queue_order(q, NULL)[i]) == played[i]);
    queue_add(q, more, 3);
    check_order(q);
    assert_true(current(q) == cur);
    assert_int_equal(queue_len(q), N + 6);

    /* remove one played before the cursor, one upcoming */
    long before = (long)queue_order(q, NULL)[1];
    assert_int_equal(queue_remove(q, (size_t)before), 0);
    check_order(q);
    assert_true(current(q) == cur);
    assert_int_equal(order_index_of(q, queue_cursor(q)), 3);
    long after = (long)queue_order(q, NULL)[6];
    assert_int_equal(queue_remove(q, (size_t)after), 0);
    check_order(q);
    assert_true(current(q) == cur);

    /* move across the cursor: the play order, as tracks, stays */
    uint64_t by_track[MAXN];
    size_t n;
    const size_t *o = queue_order(q, &n);
    for (size_t i = 0; i < n; i++)
        by_track[i] = queue_at(q, o[i]);
    assert_int_equal(queue_move(q, 0, n - 1), 0);
    assert_int_equal(queue_move(q, n - 1, (size_t)queue_cursor(q)), 0);
    check_order(q);
    assert_true(current(q) == cur);
    o = queue_order(q, &n);
    for (size_t i = 0; i < n; i++)
        assert_true(queue_at(q, o[i]) == by_track[i]);

    /* remove the current track: the next in the permutation plays */
    size_t k = order_index_of(q, queue_cursor(q));
    uint64_t follower = queue_at(q, o[k + 1]);
    assert_int_equal(queue_remove(q, (size_t)queue_cursor(q)), 0);
    check_order(q);
    assert_true(current(q) == follower);
    queue_free(q);
}

static void test_shuffle_remove_last_of_round(void **state)
{
    for (int r = QUEUE_REPEAT_OFF; r <= QUEUE_REPEAT_ALL; r += 2) {
        struct queue *q = make(6, 8);
        queue_set_repeat(q, (enum queue_repeat)r);
        queue_set_shuffle(q, true);
        for (int i = 0; i < 5; i++)
            queue_next(q);
        assert_int_equal(order_index_of(q, queue_cursor(q)), 5);
        assert_int_equal(queue_remove(q, (size_t)queue_cursor(q)), 0);
        if (r == QUEUE_REPEAT_OFF) {
            assert_int_equal(queue_cursor(q), -1);
        } else {
            /* a new round of the five left */
            check_order(q);
            assert_int_equal(order_index_of(q, queue_cursor(q)), 0);
            bool seen[5] = {0};
            for (int i = 0; i < 5; i++) {
                long c = queue_cursor(q);
                assert_false(seen[c]);
                seen[c] = true;
                queue_next(q);
            }
        }
        queue_free(q);
    }
}

static void test_shuffle_prev(void **state)
{
    struct queue *q = make(6, 3);
    queue_set_shuffle(q, true);
    const size_t *o = queue_order(q, NULL);
    size_t order[6];
    memcpy(order, o, sizeof(order));
    queue_next(q);
    queue_next(q);
    assert_int_equal(queue_prev(q), order[1]);
    assert_int_equal(queue_prev(q), order[0]);
    assert_int_equal(queue_prev(q), -1);
    assert_int_equal(queue_cursor(q), order[0]);
    queue_set_repeat(q, QUEUE_REPEAT_ALL);
    assert_int_equal(queue_prev(q), order[5]); /* the last of this permutation */
    queue_free(q);
}

static void test_shuffle_jump_and_replace(void **state)
{
    struct queue *q = make(8, 11);
    queue_set_shuffle(q, true);
    queue_set_repeat(q, QUEUE_REPEAT_ALL);
    /* to the current track: nothing changes */
    uint64_t seed = queue_seed(q);
    assert_int_equal(queue_set_cursor(q, queue_cursor(q)), 0);
    assert_true(queue_seed(q) == seed);
    /* a jump starts a round from there */
    assert_int_equal(queue_set_cursor(q, 6), 0);
    check_order(q);
    assert_int_equal(queue_order(q, NULL)[0], 6);
    bool seen[8] = {0};
    for (int i = 0; i < 8; i++) {
        long c = queue_cursor(q);
        assert_false(seen[c]);
        seen[c] = true;
        queue_next(q);
    }
    /* set the cursor to none and back */
    assert_int_equal(queue_set_cursor(q, -1), 0);
    assert_int_equal(queue_cursor(q), -1);
    assert_int_equal(queue_peek_next(q), -1);
    assert_int_equal(queue_next(q), -1);
    /* replace: the first of a new permutation plays */
    uint64_t ids[] = {9, 8, 7, 6, 5};
    queue_replace(q, ids, 5);
    check_order(q);
    assert_int_equal(queue_cursor(q), queue_order(q, NULL)[0]);
    /* shuffle on with no cursor: still none */
    queue_set_shuffle(q, false);
    queue_set_cursor(q, -1);
    queue_set_shuffle(q, true);
    check_order(q);
    assert_int_equal(queue_cursor(q), -1);
    assert_int_equal(queue_prev(q), queue_order(q, NULL)[4]);
    queue_free(q);
}

static void test_restore(void **state)
{
    uint64_t ids[] = {11, 12, 13, 14};
    size_t order[] = {2, 0, 3, 1};
    struct queue *q = queue_new(5);
    assert_int_equal(queue_restore(q, ids, 4, 0, order), 0);
    assert_true(queue_shuffle(q));
    assert_int_equal(queue_cursor(q), 0);
    size_t n;
    assert_memory_equal(queue_order(q, &n), order, sizeof(order));
    assert_int_equal(n, 4);
    assert_int_equal(queue_next(q), 3);
    assert_int_equal(queue_next(q), 1);
    assert_int_equal(queue_next(q), -1);

    /* without an order: shuffle off, list order */
    assert_int_equal(queue_restore(q, ids, 4, 2, NULL), 0);
    assert_false(queue_shuffle(q));
    assert_int_equal(queue_cursor(q), 2);
    assert_true(current(q) == 13);
    assert_int_equal(queue_next(q), 3);
    assert_int_equal(queue_restore(q, ids, 4, -1, order), 0);
    assert_int_equal(queue_cursor(q), -1);
    assert_int_equal(queue_restore(q, NULL, 0, -1, NULL), 0);
    assert_int_equal(queue_len(q), 0);

    /* refused: the queue is then empty */
    size_t dup[] = {0, 1, 1, 3}, big[] = {0, 1, 2, 4};
    const size_t *bad_orders[] = {dup, big};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(queue_restore(q, ids, 4, 1, bad_orders[i]), -1);
        assert_int_equal(queue_len(q), 0);
        assert_int_equal(queue_cursor(q), -1);
        assert_int_equal(queue_next(q), -1);
    }
    long bad_cursors[] = {4, -2, 100};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(queue_restore(q, ids, 4, bad_cursors[i], NULL), -1);
        assert_int_equal(queue_len(q), 0);
        assert_int_equal(queue_restore(q, ids, 4, bad_cursors[i], order), -1);
        assert_int_equal(queue_len(q), 0);
    }
    assert_int_equal(queue_restore(q, NULL, 0, 0, NULL), -1);
    queue_free(q);
}

/* A queue saved mid-round (seed, list, cursor, order) and restored into a
 * queue made with that seed plays the same rounds as the original. */
static void test_restore_continues_rounds(void **state)
{
    enum { N = 9 };
    struct queue *a = make(N, 2024);
    queue_set_repeat(a, QUEUE_REPEAT_ALL);
    queue_set_shuffle(a, true);
    for (int i = 0; i < N + 3; i++) /* into the second round */
        queue_next(a);
    uint64_t ids[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = queue_at(a, i);
    size_t n;
    const size_t *order = queue_order(a, &n);

    struct queue *b = queue_new(queue_seed(a));
    assert_int_equal(queue_restore(b, ids, n, queue_cursor(a), order), 0);
    queue_set_repeat(b, QUEUE_REPEAT_ALL);
    assert_true(queue_seed(b) == queue_seed(a));
    for (int i = 0; i < 3 * N; i++) {
        assert_int_equal(queue_peek_next(b), queue_peek_next(a));
        assert_int_equal(queue_next(b), queue_next(a));
    }
    queue_free(a);
    queue_free(b);
}

/* The test's own draws (a 64-bit LCG), independent of the queue's. */
static uint64_t lcg_state = 12345;
static size_t draw(size_t n)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (size_t)(lcg_state >> 33) % n;
}

/* Random edits and moves: the order stays a permutation, the cursor in
 * range, and an edit that keeps the current track keeps the cursor on it. */
static void test_random_operations(void **state)
{
    uint64_t next_id = 1000;
    struct queue *q = make(5, 6);
    for (int step = 0; step < 20000; step++) {
        size_t len = queue_len(q);
        uint64_t cur = current(q);
        bool edit_keeps = true;
        uint64_t ids[3];
        switch (draw(11)) {
        case 0:
            if (len < MAXN - 3) {
                for (int i = 0; i < 3; i++)
                    ids[i] = next_id++;
                size_t pos = draw(len + 1);
                queue_insert(q, pos, ids, 1 + draw(3));
            }
            break;
        case 1:
            if (len) {
                size_t pos = draw(len);
                edit_keeps = (long)pos != queue_cursor(q);
                queue_remove(q, pos);
            }
            break;
        case 2:
            if (len) {
                size_t from = draw(len);
                queue_move(q, from, draw(len));
            }
            break;
        case 3:
            queue_set_shuffle(q, draw(2));
            break;
        case 4:
            queue_set_repeat(q, (enum queue_repeat)draw(3));
            break;
        case 5:
        case 6: {
            edit_keeps = false;
            long peeked = queue_peek_next(q);
            assert_int_equal(queue_next(q), peeked);
            break;
        }
        case 7:
            edit_keeps = false;
            queue_advance(q);
            break;
        case 8:
            edit_keeps = false;
            queue_prev(q);
            break;
        case 9:
            edit_keeps = false;
            queue_set_cursor(q, (long)draw(len + 1) - 1);
            break;
        case 10:
            if (draw(50) == 0) {
                edit_keeps = false;
                queue_clear(q);
            }
            break;
        }
        long c = queue_cursor(q);
        assert_true(c >= -1 && c < (long)queue_len(q));
        if (edit_keeps)
            assert_true(current(q) == cur);
        if (queue_shuffle(q))
            check_order(q);
    }
    queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_repeat_off),
        cmocka_unit_test(test_repeat_all),
        cmocka_unit_test(test_repeat_one),
        cmocka_unit_test(test_single_track),
        cmocka_unit_test(test_peek_matches_next),
        cmocka_unit_test(test_edit_remove),
        cmocka_unit_test(test_edit_insert),
        cmocka_unit_test(test_edit_move),
        cmocka_unit_test(test_shuffle_on_off_keeps_current),
        cmocka_unit_test(test_shuffle_rounds),
        cmocka_unit_test(test_shuffle_deterministic),
        cmocka_unit_test(test_shuffle_uniform_start),
        cmocka_unit_test(test_shuffle_edits),
        cmocka_unit_test(test_shuffle_remove_last_of_round),
        cmocka_unit_test(test_shuffle_prev),
        cmocka_unit_test(test_shuffle_jump_and_replace),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_restore_continues_rounds),
        cmocka_unit_test(test_random_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
