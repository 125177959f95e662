/* mq: the UI <-> core message queue (see core/mq.h for the contract).
 *
 * Owns: the command inbox (core/inbox.h: its own lock and the core loop's
 * uv_async handle), the event list, the UI's eventfd, the latest
 * snapshot and the wake-up counters (mq_stats), the last four behind one
 * small mutex that is held only to link or unlink the list, copy the
 * snapshot or bump a counter — never while a handler runs. Runs on whichever thread calls it; the async callback runs
 * on the core loop. Must never block on anything but that mutex. */
#include "core/mq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "core/queue.h"

struct mq_list {
    struct mq_msg *head, *tail;
};

struct mq {
    pthread_mutex_t lock;
    struct mq_list events; /* core -> UI */
    bool closed;           /* no more commands are handled (loop thread only) */
    bool handle_closed;    /* the loop has finished closing the inbox */

    struct inbox commands; /* UI -> core */
    mq_command_fn on_command;
    void *ctx;

    int event_fd;
    bool ui_wake_pending; /* event_fd written, not yet drained by the UI */

    struct mq_snapshot snapshot;
    uint64_t snapshot_version, snapshot_version_read;

    struct mq_stats stats; /* under lock */
};

struct mq_msg *mq_msg_new(enum mq_type type)
{
    struct mq_msg *msg = xcalloc(1, sizeof(*msg));
    msg->type = type;
    msg->kind = MQ_PAYLOAD_NONE;
    return msg;
}

struct mq_msg *mq_msg_new_num(enum mq_type type, int64_t a, int64_t b)
{
    struct mq_msg *msg = mq_msg_new(type);
    msg->kind = MQ_PAYLOAD_NUM;
    msg->u.num.a = a;
    msg->u.num.b = b;
    return msg;
}

struct mq_msg *mq_msg_new_text(enum mq_type type, const char *text)
{
    struct mq_msg *msg = mq_msg_new(type);
    msg->kind = MQ_PAYLOAD_TEXT;
    msg->u.text = xstrdup(text);
    return msg;
}

struct mq_msg *mq_msg_new_blob(enum mq_type type, void *ptr, void (*free_fn)(void *))
{
    struct mq_msg *msg = mq_msg_new(type);
    msg->kind = MQ_PAYLOAD_BLOB;
    msg->u.blob.ptr = ptr;
    msg->u.blob.free = free_fn;
    return msg;
}

void mq_msg_free(struct mq_msg *msg)
{
    if (!msg)
        return;
    if (msg->kind == MQ_PAYLOAD_TEXT)
        free(msg->u.text);
    else if (msg->kind == MQ_PAYLOAD_BLOB && msg->u.blob.free)
        msg->u.blob.free(msg->u.blob.ptr);
    free(msg);
}

void mq_msg_free_list(struct mq_msg *list)
{
    while (list) {
        struct mq_msg *next = list->next;
        mq_msg_free(list);
        list = next;
    }
}

static void list_append(struct mq_list *list, struct mq_msg *msg)
{
    msg->next = NULL;
    if (list->tail)
        list->tail->next = msg;
    else
        list->head = msg;
    list->tail = msg;
}

static struct mq_msg *list_steal(struct mq_list *list)
{
    struct mq_msg *head = list->head;
    list->head = list->tail = NULL;
    return head;
}

/* Called with the lock held. */
static void wake_ui_locked(struct mq *mq)
{
    if (mq->ui_wake_pending)
        return;
    uint64_t one = 1;
    /* A full counter (impossible at 2^64-1) or EAGAIN still leaves the fd
     * readable, which is all the UI needs. */
    ssize_t n = write(mq->event_fd, &one, sizeof(one));
    (void)n;
    mq->ui_wake_pending = true;
    mq->stats.ui_wakeups++;
}

static void on_wake_core(void *data, struct inbox_node *list)
{
    struct mq *mq = data;
    uint64_t handled = 0;
    while (list) {
        struct inbox_node *next = list->next;
        struct mq_msg *msg = inbox_entry(list, struct mq_msg, cmd_link);
        /* A handler may close the queue (quit): what follows is dropped.
         * closed is only written on this thread, so no lock is needed. */
        if (mq->closed) {
            mq_msg_free(msg);
        } else {
            mq->on_command(mq->ctx, msg);
            handled++;
        }
        list = next;
    }
    if (handled) {
        pthread_mutex_lock(&mq->lock);
        mq->stats.command_wakeups++;
        mq->stats.commands += handled;
        pthread_mutex_unlock(&mq->lock);
    }
}

static void free_commands(struct inbox_node *list)
{
    while (list) {
        struct inbox_node *next = list->next;
        mq_msg_free(inbox_entry(list, struct mq_msg, cmd_link));
        list = next;
    }
}

struct mq *mq_new(uv_loop_t *loop, mq_command_fn on_command, void *ctx, int *err)
{
    struct mq *mq = xcalloc(1, sizeof(*mq));
    mq->on_command = on_command;
    mq->ctx = ctx;
    pthread_mutex_init(&mq->lock, NULL);

    mq->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (mq->event_fd < 0) {
        *err = -errno;
        pthread_mutex_destroy(&mq->lock);
        free(mq);
        return NULL;
    }
    int rc = inbox_init(&mq->commands, loop, on_wake_core, mq);
    if (rc < 0) {
        *err = rc;
        close(mq->event_fd);
        pthread_mutex_destroy(&mq->lock);
        free(mq);
        return NULL;
    }
    return mq;
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct mq *mq = handle->data;
    pthread_mutex_lock(&mq->lock);
    mq->handle_closed = true;
    pthread_mutex_unlock(&mq->lock);
}

void mq_close(struct mq *mq)
{
    if (mq->closed)
        return;
    mq->closed = true;
    free_commands(inbox_close(&mq->commands, on_handle_closed));
}

void mq_free(struct mq *mq)
{
    if (!mq)
        return;
    /* Freeing before the loop closed the handle would leave libuv with a
     * dangling pointer: a programming error, not a runtime condition. */
    if (!mq->handle_closed)
        abort();
    mq_msg_free_list(list_steal(&mq->events));
    close(mq->event_fd);
    inbox_fini(&mq->commands);
    pthread_mutex_destroy(&mq->lock);
    free(mq);
}

int mq_send_command(struct mq *mq, struct mq_msg *msg)
{
    int rc = inbox_push(&mq->commands, &msg->cmd_link);
    if (rc < 0)
        mq_msg_free(msg);
    return rc;
}

void mq_post_event(struct mq *mq, struct mq_msg *msg)
{
    pthread_mutex_lock(&mq->lock);
    list_append(&mq->events, msg);
    wake_ui_locked(mq);
    pthread_mutex_unlock(&mq->lock);
}

int mq_event_fd(const struct mq *mq)
{
    return mq->event_fd;
}

struct mq_msg *mq_take_events(struct mq *mq)
{
    pthread_mutex_lock(&mq->lock);
    uint64_t count;
    ssize_t n = read(mq->event_fd, &count, sizeof(count)); /* EAGAIN when not woken */
    (void)n;
    mq->ui_wake_pending = false;
    struct mq_msg *list = list_steal(&mq->events);
    pthread_mutex_unlock(&mq->lock);
    return list;
}

void mq_publish_snapshot(struct mq *mq, const struct mq_snapshot *snap)
{
    pthread_mutex_lock(&mq->lock);
    mq->snapshot = *snap;
    mq->snapshot_version++;
    wake_ui_locked(mq);
    pthread_mutex_unlock(&mq->lock);
}

void mq_get_stats(struct mq *mq, struct mq_stats *out)
{
    pthread_mutex_lock(&mq->lock);
    *out = mq->stats;
    pthread_mutex_unlock(&mq->lock);
}

bool mq_read_snapshot(struct mq *mq, struct mq_snapshot *out)
{
    pthread_mutex_lock(&mq->lock);
    *out = mq->snapshot;
    bool changed = mq->snapshot_version != mq->snapshot_version_read;
    mq->snapshot_version_read = mq->snapshot_version;
    pthread_mutex_unlock(&mq->lock);
    return changed;
}

/* ---- the snapshot's words (remote status JSON, the TUI's status line) ---- */

const char *mq_play_state_name(enum mq_play_state s)
{
    switch (s) {
    case MQ_PLAYING:
        return "playing";
    case MQ_PAUSED:
        return "paused";
    case MQ_BUFFERING:
        return "buffering";
    case MQ_STOPPED:
        break;
    }
    return "stopped";
}

const char *mq_service_state_name(enum mq_service_state s)
{
    switch (s) {
    case MQ_SERVICE_ONLINE:
        return "online";
    case MQ_SERVICE_CONNECTING:
        return "connecting";
    case MQ_SERVICE_OFFLINE:
        break;
    }
    return "offline";
}

const char *mq_repeat_name(int repeat)
{
    return repeat == QUEUE_REPEAT_ONE ? "one" : repeat == QUEUE_REPEAT_ALL ? "all" : "off";
}
