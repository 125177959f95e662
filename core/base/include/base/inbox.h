/* inbox: items handed from any thread to a libuv loop (DESIGN.md §9).
 *
 * Any thread pushes an item (which embeds a struct inbox_node) and wakes
 * the loop with uv_async_send. Wake-ups coalesce, so the loop's callback
 * steals everything queued at once and gets it as one list in push order
 * (so each sender's items stay in the order it pushed them), and handles
 * it with no lock held.
 *
 * The struct is caller-allocated because it embeds a uv_async_t: its
 * memory must stay valid until the close callback given to inbox_close
 * has run and inbox_fini was called. After inbox_close every push is
 * refused.
 *
 * Threads: inbox_init, inbox_close, inbox_fini and the item callback run
 * on the loop's thread; inbox_push and inbox_wake are safe from any thread
 * until inbox_fini (the owner makes sure no producer is left by then). */
#ifndef CHORUS_CORE_INBOX_H
#define CHORUS_CORE_INBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* The link an item embeds; the inbox owns it only while the item is queued. */
struct inbox_node {
    struct inbox_node *next;
};

/* The item that embeds node as member (container_of). */
#define inbox_entry(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

/* Runs on the loop with the stolen items, oldest first, linked through
 * next; the callee owns them all. list is NULL after a bare inbox_wake. */
typedef void (*inbox_fn)(void *data, struct inbox_node *list);

/* Fields are private to inbox.c, except async.data, which holds the
 * data given to inbox_init (the close callback reads it there). */
struct inbox {
    uv_async_t async;
    pthread_mutex_t mu; /* guards the three fields below */
    struct inbox_node *head, *tail;
    bool closed;
    inbox_fn on_items;
    uv_close_cb on_closed;
};

/* Ties ib to loop. Returns 0 or a negative libuv code (ib is then unused
 * and needs no close). */
int inbox_init(struct inbox *ib, uv_loop_t *loop, inbox_fn on_items, void *data);

/* Queues node (whose item the inbox now owns) and wakes the loop. After
 * inbox_close it returns -ECANCELED and the caller keeps the item. The
 * wake is sent under the lock, so inbox_close cannot close the handle in
 * between. */
int inbox_push(struct inbox *ib, struct inbox_node *node);

/* Runs the item callback soon with whatever is queued (maybe nothing).
 * Ignored after inbox_close. */
void inbox_wake(struct inbox *ib);

/* Keeps the loop from running just for this inbox (uv_unref). */
void inbox_unref(struct inbox *ib);

/* Refuses further pushes and closes the handle; on_closed (may be NULL)
 * runs on the loop once it is closed, with the handle whose data is the
 * data given to inbox_init. Returns the items still queued, oldest
 * first: the caller owns and frees them. A second call returns NULL and
 * does nothing. */
struct inbox_node *inbox_close(struct inbox *ib, uv_close_cb on_closed);

/* Releases the lock once the close callback has run and no thread can
 * push any more; ib may be freed after it. */
void inbox_fini(struct inbox *ib);

#endif
