/* inbox: a mutex-guarded list plus a uv_async that carries items from any
 * thread to a loop (see core/inbox.h for the contract).
 *
 * Owns the queued items and the async handle. Producers run on any thread
 * and hold the lock only to link an item and send the wake-up; the item
 * callback runs on the loop with the lock released. Must never call the
 * callback with the lock held, nor touch ib after the close callback. */
#include "base/inbox.h"

#include <errno.h>

static struct inbox_node *steal_locked(struct inbox *ib)
{
    struct inbox_node *list = ib->head;
    ib->head = ib->tail = NULL;
    return list;
}

static void on_async(uv_async_t *handle)
{
    struct inbox *ib = inbox_entry(handle, struct inbox, async);
    pthread_mutex_lock(&ib->mu);
    bool closed = ib->closed;
    struct inbox_node *list = closed ? NULL : steal_locked(ib);
    pthread_mutex_unlock(&ib->mu);
    if (!closed)
        ib->on_items(handle->data, list);
}

int inbox_init(struct inbox *ib, uv_loop_t *loop, inbox_fn on_items, void *data)
{
    ib->head = ib->tail = NULL;
    ib->closed = false;
    ib->on_items = on_items;
    ib->on_closed = NULL;
    int rc = uv_async_init(loop, &ib->async, on_async);
    if (rc < 0)
        return rc;
    pthread_mutex_init(&ib->mu, NULL);
    ib->async.data = data;
    return 0;
}

int inbox_push(struct inbox *ib, struct inbox_node *node)
{
    node->next = NULL;
    pthread_mutex_lock(&ib->mu);
    if (ib->closed) {
        pthread_mutex_unlock(&ib->mu);
        return -ECANCELED;
    }
    if (ib->tail)
        ib->tail->next = node;
    else
        ib->head = node;
    ib->tail = node;
    uv_async_send(&ib->async);
    pthread_mutex_unlock(&ib->mu);
    return 0;
}

void inbox_wake(struct inbox *ib)
{
    pthread_mutex_lock(&ib->mu);
    if (!ib->closed)
        uv_async_send(&ib->async);
    pthread_mutex_unlock(&ib->mu);
}

void inbox_unref(struct inbox *ib)
{
    uv_unref((uv_handle_t *)&ib->async);
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct inbox *ib = inbox_entry(handle, struct inbox, async);
    if (ib->on_closed)
        ib->on_closed(handle);
}

struct inbox_node *inbox_close(struct inbox *ib, uv_close_cb on_closed)
{
    pthread_mutex_lock(&ib->mu);
    bool was_closed = ib->closed;
    ib->closed = true;
    struct inbox_node *left = steal_locked(ib);
    pthread_mutex_unlock(&ib->mu);
    if (was_closed)
        return left; /* NULL: nothing is queued after a close */
    ib->on_closed = on_closed;
    uv_close((uv_handle_t *)&ib->async, on_handle_closed);
    return left;
}

void inbox_fini(struct inbox *ib)
{
    pthread_mutex_destroy(&ib->mu);
}
