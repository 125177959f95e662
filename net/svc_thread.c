/* svc_thread: a service with its own loop on its own thread.
 *
 * Owns the thread, its loop, the svc and an async handle that carries the
 * stop request across threads. The creating thread only starts, reads the
 * port and key (written before the start is signalled, read-only after)
 * and stops; everything else happens on the service's thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "net/svc.h"

struct svc_thread {
    const struct svc_config *cfg; /* valid until started is signalled */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool started;
    int rc;
    int port;
    uint8_t key[TLS_KEY_LEN];
    uv_loop_t loop;
    uv_async_t stop;
    uv_async_t stats_req; /* svc_thread_stats: copy the figures on the loop */
    bool stats_ready;     /* under lock */
    struct svc *svc;
    struct svc_stats final;
    struct svc_stats now; /* under lock */
};

static void closed(struct svc *s, void *arg)
{
    struct svc_thread *t = arg;
    svc_get_stats(s, &t->final);
    uv_close((uv_handle_t *)&t->stop, NULL);
    uv_close((uv_handle_t *)&t->stats_req, NULL);
}

static void stats_cb(uv_async_t *a)
{
    struct svc_thread *t = a->data;
    pthread_mutex_lock(&t->lock);
    svc_get_stats(t->svc, &t->now);
    t->stats_ready = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

static void stop_cb(uv_async_t *a)
{
    struct svc_thread *t = a->data;
    svc_close(t->svc, closed, t);
}

static void *thread_main(void *arg)
{
    struct svc_thread *t = arg;
    int rc = svc_new(&t->loop, t->cfg, &t->svc);
    if (rc == 0) {
        t->port = svc_port(t->svc);
        svc_public_key(t->svc, t->key);
        uv_async_init(&t->loop, &t->stop, stop_cb);
        t->stop.data = t;
        uv_async_init(&t->loop, &t->stats_req, stats_cb);
        t->stats_req.data = t;
    }
    pthread_mutex_lock(&t->lock);
    t->rc = rc;
    t->started = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    /* on failure this only lets the half-made service release itself */
    uv_run(&t->loop, UV_RUN_DEFAULT);
    svc_free(t->svc);
    uv_loop_close(&t->loop);
    return NULL;
}

static void destroy(struct svc_thread *t)
{
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
}

int svc_thread_start(const struct svc_config *cfg, struct svc_thread **out)
{
    struct svc_thread *t = xcalloc(1, sizeof(*t));
    t->cfg = cfg;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    int rc = uv_loop_init(&t->loop);
    if (rc == 0 && (rc = -pthread_create(&t->thread, NULL, thread_main, t)) < 0)
        uv_loop_close(&t->loop);
    if (rc < 0) {
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->cond);
        free(t);
        return rc;
    }
    pthread_mutex_lock(&t->lock);
    while (!t->started)
        pthread_cond_wait(&t->cond, &t->lock);
    rc = t->rc;
    t->cfg = NULL;
    pthread_mutex_unlock(&t->lock);
    if (rc < 0) {
        destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}

int svc_thread_port(const struct svc_thread *t)
{
    return t->port;
}

void svc_thread_public_key(const struct svc_thread *t, uint8_t out[TLS_KEY_LEN])
{
    memcpy(out, t->key, TLS_KEY_LEN);
}

void svc_thread_stats(struct svc_thread *t, struct svc_stats *out)
{
    pthread_mutex_lock(&t->lock);
    t->stats_ready = false;
    uv_async_send(&t->stats_req);
    while (!t->stats_ready)
        pthread_cond_wait(&t->cond, &t->lock);
    *out = t->now;
    pthread_mutex_unlock(&t->lock);
}

void svc_thread_stop(struct svc_thread *t, struct svc_stats *final)
{
    uv_async_send(&t->stop);
    pthread_join(t->thread, NULL);
    if (final)
        *final = t->final;
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
}
