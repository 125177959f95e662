/* queue: the play queue's logic — pure data, no I/O, no clock (DESIGN §2:
 * the engine's player state machine keeps one and persists it in
 * chorus.db).
 *
 * A queue is a list of track ids (the catalog's ids) in the order the user
 * gave them, a cursor (the track playing or to play), the repeat mode and
 * the shuffle flag. With shuffle on, a permutation of the list (made from a
 * seed, so a restart with the same seed and list gives the same order)
 * decides what comes next; the cursor moves along the permutation, the
 * list itself keeps its order (what the queue view shows).
 *
 * next/prev rules, as players do them:
 *  - repeat one: queue_next stays on the cursor (the track plays again);
 *    queue_advance (the user's `next`) moves on as repeat all would;
 *  - repeat all: after the last track comes the first (of the permutation
 *    when shuffled; a new permutation each round, which does not start
 *    with the track just played when there is another);
 *  - repeat off: after the last track, nothing (-1).
 *  - queue_prev goes back one in play order (to the last with repeat all,
 *    and with repeat one, as queue_advance moves on). Shuffled, it goes back
 *    along the permutation in force: from its first track, with repeat, to
 *    its last (the previous round's order is not kept).
 *  - with no cursor (-1: none yet, or played past the end), peek_next,
 *    next and advance give -1 (the engine starts with queue_set_cursor);
 *    prev goes to the last track of the play order.
 * Editing (add, insert, remove, move, clear) keeps the cursor on the same
 * track when that track stays; removing the current track moves the cursor
 * to the track that followed it (what queue_advance would play). Shuffled,
 * added tracks go to random places among those still to play this round.
 *
 * The permutations come from a small PRNG (splitmix64) seeded with the
 * seed; each new one (a round of repeat all, shuffle turned on, a jump)
 * moves the seed on first, so queue_seed always names the seed of the
 * permutation in force.
 *
 * Threads: one owner (the engine's loop). */
#ifndef CHORUS_CORE_QUEUE_H
#define CHORUS_CORE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum queue_repeat { QUEUE_REPEAT_OFF = 0, QUEUE_REPEAT_ONE, QUEUE_REPEAT_ALL };

struct queue;

struct queue *queue_new(uint64_t seed);
void queue_free(struct queue *q);

size_t queue_len(const struct queue *q);
/* The track at list position pos (0-based; pos < queue_len). */
uint64_t queue_at(const struct queue *q, size_t pos);
/* The cursor's list position, or -1 when there is none (empty queue, or
 * played past the end with repeat off). */
long queue_cursor(const struct queue *q);
/* Puts the cursor on list position pos (-1: none). With shuffle on, a jump
 * to another track starts a new permutation from it (the round then plays
 * every track once). Returns 0, or -1 when pos is out of range. */
int queue_set_cursor(struct queue *q, long pos);

/* Replaces the whole list. The cursor goes to the first track to play:
 * list position 0, or with shuffle on the first of a new permutation (-1
 * when n == 0). */
void queue_replace(struct queue *q, const uint64_t *ids, size_t n);
/* Appends n ids. */
void queue_add(struct queue *q, const uint64_t *ids, size_t n);
/* Inserts n ids before list position pos (pos == len appends). Returns 0
 * or -1 when pos > len. */
int queue_insert(struct queue *q, size_t pos, const uint64_t *ids, size_t n);
/* Removes list position pos. Returns 0 or -1 when out of range. */
int queue_remove(struct queue *q, size_t pos);
/* Moves the track at list position from to list position to. Returns 0
 * or -1 when either is out of range. */
int queue_move(struct queue *q, size_t from, size_t to);
void queue_clear(struct queue *q);

void queue_set_repeat(struct queue *q, enum queue_repeat r);
enum queue_repeat queue_repeat(const struct queue *q);
/* Turns shuffle on (a new permutation that starts with the current track)
 * or off (play goes on in list order from the current track). Setting the
 * mode already in force changes nothing. */
void queue_set_shuffle(struct queue *q, bool on);
bool queue_shuffle(const struct queue *q);

/* The list position that plays after the cursor when the current track
 * ends by itself, by the rules above, without moving anything (-1: none).
 * The engine uses it to prefetch and to queue the next track gaplessly. */
long queue_peek_next(const struct queue *q);
/* The track ended by itself: moves the cursor to queue_peek_next's answer
 * and returns it (-1: the queue is done; the cursor is then -1). */
long queue_next(struct queue *q);
/* The user's `next`: like queue_next, except that repeat one moves on too. */
long queue_advance(struct queue *q);
/* The user's `prev`: moves the cursor back one in play order and returns
 * it (-1 when there is nothing before it; the cursor stays). */
long queue_prev(struct queue *q);

/* Restores a persisted queue: the list, the cursor (-1: none) and, when
 * order is not NULL, the shuffle permutation (n list positions, each once;
 * shuffle is then on; without it, off). The queue should have been made
 * with queue_new(the persisted queue_seed), so later rounds are the ones
 * the saved queue would have played. Returns 0, or -1 when cursor or order
 * is not valid for the list (the queue is then empty, shuffle as asked). */
int queue_restore(struct queue *q, const uint64_t *ids, size_t n, long cursor, const size_t *order);

/* The shuffle seed in force (to persist), and the permutation (play order
 * as list positions; NULL when shuffle is off; borrowed until the next
 * change). n may be NULL; *n is 0 when shuffle is off. */
uint64_t queue_seed(const struct queue *q);
const size_t *queue_order(const struct queue *q, size_t *n);

#endif
