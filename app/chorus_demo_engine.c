/* chorus_demo_engine: a demo engine and its commands, each run through
 * the engine's message queue with a reply callback and waited for — how
 * the demo sets up the user's queue, drives the background peers and
 * watches what the user plays (app/chorus_demo.h).
 *
 * A reply may come after its waiter gave up (the engine stopping with
 * the command queued frees it unanswered; a slow one times out), so a
 * waiter given up on stays allocated, on the engine's list, until
 * demo_engine_free: a late reply never writes into freed memory. An
 * answered one goes at once. Any thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "chorus_demo.h"

#define POLL_MS 100 /* how often a waiter looks whether the engine stopped */

struct waiter {
    struct waiter *next;
    struct demo_engine *de; /* the reply callback's way back */
    bool done;
    int status;
    json_t *data;
};

struct demo_engine {
    struct engine *engine;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct waiter *waiters; /* waiting or given up on; the latter go with the engine */
};

struct demo_engine *demo_engine_new(const struct engine_config *cfg, int *rc, char **error)
{
    struct engine *e = NULL;
    *rc = engine_new(cfg, &e, error);
    if (*rc < 0)
        return NULL;
    struct demo_engine *de = xcalloc(1, sizeof(*de));
    de->engine = e;
    pthread_mutex_init(&de->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&de->cv, &attr);
    pthread_condattr_destroy(&attr);
    return de;
}

void demo_engine_free(struct demo_engine *de)
{
    if (!de)
        return;
    engine_free(de->engine); /* after it, no reply can come */
    for (struct waiter *w = de->waiters, *next; w; w = next) {
        next = w->next;
        json_decref(w->data);
        free(w);
    }
    pthread_cond_destroy(&de->cv);
    pthread_mutex_destroy(&de->mu);
    free(de);
}

struct engine *demo_engine_handle(struct demo_engine *de)
{
    return de->engine;
}

static void on_reply(void *ctx, const struct cmd_result *r)
{
    struct waiter *w = ctx;
    pthread_mutex_lock(&w->de->mu);
    w->status = r->status;
    w->data = r->data ? json_deep_copy(r->data) : NULL; /* the engine's thread keeps its own */
    w->done = true;
    pthread_cond_broadcast(&w->de->cv);
    pthread_mutex_unlock(&w->de->mu);
}

/* Waits for w (de->mu held) until it is answered, the engine stops or
 * DEMO_REPLY_MS pass. */
static int wait_reply(struct demo_engine *de, struct waiter *w)
{
    for (int waited = 0; !w->done; waited += POLL_MS) {
        if (waited >= DEMO_REPLY_MS)
            return -ETIMEDOUT;
        if (engine_stopped(de->engine))
            return ENGINE_ESTOPPED;
        struct timespec until = demo_after_ms(POLL_MS);
        pthread_cond_timedwait(&de->cv, &de->mu, &until);
    }
    return w->status;
}

/* Unlinks and frees an answered waiter (de->mu held). */
static void forget(struct demo_engine *de, struct waiter *w)
{
    for (struct waiter **pp = &de->waiters; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    json_decref(w->data);
    free(w);
}

static int run_line(struct demo_engine *de, json_t **data, const char *line)
{
    if (data)
        *data = NULL;
    struct cmd *c = NULL;
    int rc = cmd_parse(line, &c, NULL);
    if (rc < 0)
        return rc;
    struct waiter *w = xcalloc(1, sizeof(*w));
    w->de = de;
    c->reply = on_reply;
    c->reply_ctx = w;
    pthread_mutex_lock(&de->mu);
    w->next = de->waiters;
    de->waiters = w;
    pthread_mutex_unlock(&de->mu);
    rc = engine_send(de->engine, c);
    pthread_mutex_lock(&de->mu);
    if (rc == 0)
        rc = wait_reply(de, w);
    if (w->done) { /* answered: nothing refers to w any more */
        if (rc >= 0 && data) {
            *data = w->data;
            w->data = NULL;
        }
        forget(de, w);
    }
    pthread_mutex_unlock(&de->mu);
    return rc;
}

int demo_engine_run(struct demo_engine *de, const char *line)
{
    return run_line(de, NULL, line);
}

int demo_engine_query(struct demo_engine *de, const char *line, json_t **data)
{
    return run_line(de, data, line);
}

json_t *demo_engine_status(struct demo_engine *de)
{
    json_t *st = NULL;
    if (demo_engine_query(de, "status", &st) < 0 || !json_is_object(st)) {
        json_decref(st);
        return NULL;
    }
    return st;
}

const char *demo_json_str(json_t *st, const char *key)
{
    const char *s = json_string_value(json_object_get(st, key));
    return s ? s : "";
}

long long demo_json_int(json_t *st, const char *obj, const char *key)
{
    json_t *o = obj ? json_object_get(st, obj) : st;
    return (long long)json_integer_value(json_object_get(o, key));
}

uint64_t demo_json_track_id(json_t *st)
{
    json_t *t = json_object_get(st, "track");
    return json_is_object(t) ? (uint64_t)json_integer_value(json_object_get(t, "id")) : 0;
}
