/* bench_swarm_host: `chorus-bench swarm-host`, one process of the swarm
 * benchmark (bench_swarm.h) running engines [first, first + count), each
 * with its own home (data, cache), its own device login and its own
 * listener. The coordinator starts it and talks to it through pipes:
 *
 *   host -> coordinator (stdout), one JSON object per line:
 *     {"ev":"ready","engines":N,"failed":F}   warm, logged in, online
 *     {"ev":"play", ...}                       a playback ended (struct swarm_play)
 *     {"ev":"engine", ...}                     an engine's figures, at the end
 *     {"ev":"error","text":...}                something the report must say
 *   coordinator -> host (stdin), lines: "go" (the measured phase starts),
 *   "stop" (it ends). EOF on stdin also ends it.
 *
 * Sizing for hundreds of engines in one process: the open-files limit is
 * raised to its hard limit, and the libuv threadpool (the caches' disk
 * work) is sized before the first loop starts — libuv reads
 * UV_THREADPOOL_SIZE once, at its first use.
 *
 * One driver thread runs every listener (no thread per listener): it ticks
 * every DRIVE_MS, drains each engine's events (MQ_EV_PLAYBACK is the
 * record sent up), acts when a listener's next action is due, and samples
 * the snapshots (connections, upload slots) every SAMPLE_MS. Commands go
 * in with engine_send and no reply callback: an error comes back as an
 * event and is counted. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/settings.h"
#include "base/xmalloc.h"
#include "bench_catalog.h"
#include "bench_commands.h"
#include "bench_swarm.h"
#include "bench_swarm_workload.h"
#include "chorus_env.h"
#include "chorus_login.h"
#include "core/engine.h"
#include "core/errors.h"

#define DRIVE_MS       50
#define SAMPLE_MS      1000
#define ONLINE_MS      120000 /* an engine not online by then is reported failed */
#define THINK_MIN_S    0.5    /* a listener's pause before picking the next track */
#define THINK_MAX_S    3.0
#define PREP_THREADS   4
#define HISTORY_CACHES 3 /* a listener's past, in cache caps */
#define FOLLOWED_RING  4
/* A "stopped" read this soon after a command may predate it (the events
 * are drained in batches): the listener does not pick again on it. */
#define STALE_STATE_S 1.0 /* fills and logins at once (disk and TLS overlap) */

struct host_options {
    const char *workdir, *catalog, *address, *key, *output;
    unsigned first, count, peers, speed, rtt_ms, rate_kbit, max_links, threadpool;
    uint64_t seed, cache_cap;
    double duration_s;
    enum swarm_scenario scenario;
};

enum action { ACT_NONE, ACT_PLAY, ACT_SKIP, ACT_SEEK, ACT_SESSION_END, ACT_LEAVE, ACT_REJOIN };

struct listener {
    unsigned index;
    char *home, *data, *cache;
    bool bad, failed;
    struct clog *log;
    struct engine *e;
    uint64_t rng;
    size_t cur, next; /* track indexes; SIZE_MAX: none */
    /* the last tracks queued as album continuations (their records come
     * after they ended: by then cur has moved on) */
    uint64_t followed[FOLLOWED_RING];
    unsigned nfollowed;
    bool session_on;
    double session_until; /* run seconds */
    enum action act;
    double act_at; /* run seconds */
    double seek_to_s;
    bool flash_done;
    unsigned restarts;
    /* figures */
    double conns_sum, slots_sum;
    unsigned samples, conns_max, slots_max;
    uint64_t errors;
    double sent_at; /* monotonic seconds of the last command */
};

struct host {
    struct host_options o;
    struct bench_catalog cat;
    size_t *by_id; /* catalog indexes in track id order */
    struct workload w;
    struct listener *l;
    char *password;
    struct paths *paths;
    pthread_mutex_t out_mu;
    double go_at; /* monotonic seconds of "go" */
    bool measuring;
    unsigned prep_next; /* the next listener to prepare (under out_mu) */
};

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double run_s(const struct host *h)
{
    return mono_s() - h->go_at;
}

/* One JSON line up to the coordinator (stolen: json_decref'd here). */
static void emit(struct host *h, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    pthread_mutex_lock(&h->out_mu);
    fprintf(stdout, "%s\n", s);
    fflush(stdout);
    pthread_mutex_unlock(&h->out_mu);
    free(s);
}

static void emit_error(struct host *h, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(stderr, "swarm-host: %s\n", text);
    emit(h, json_pack("{s:s, s:s}", "ev", "error", "text", text));
}

/* ---- sending commands ---- */

static void command(struct listener *l, const char *fmt, ...)
{
    if (!l->e)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    struct cmd *c = NULL;
    char *error = NULL;
    if (cmd_parse(line, &c, &error) == 0)
        engine_send(l->e, c);
    else
        clog_error(l->log, "bench", "%s: %s", line, error);
    free(error);
    l->sent_at = mono_s();
}

static const struct bench_track *track(const struct host *h, size_t t)
{
    return &h->cat.tracks[t];
}

static const struct bench_catalog *sort_catalog; /* for by_id: qsort has no context */

static int by_id(const void *a, const void *b)
{
    int64_t x = sort_catalog->tracks[*(const size_t *)a].id;
    int64_t y = sort_catalog->tracks[*(const size_t *)b].id;
    return (x > y) - (x < y);
}

/* The catalog's indexes ordered by track id (albums are in artist order,
 * not in id order). */
static void index_by_id(struct host *h)
{
    h->by_id = xmalloc(h->cat.ntracks * sizeof(*h->by_id));
    for (size_t i = 0; i < h->cat.ntracks; i++)
        h->by_id[i] = i;
    sort_catalog = &h->cat;
    qsort(h->by_id, h->cat.ntracks, sizeof(*h->by_id), by_id);
}

static long track_index(const struct host *h, uint64_t id)
{
    size_t lo = 0, hi = h->cat.ntracks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uint64_t)h->cat.tracks[h->by_id[mid]].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->cat.ntracks && (uint64_t)h->cat.tracks[h->by_id[lo]].id == id
               ? (long)h->by_id[lo]
               : -1;
}

/* ---- the listener ---- */

static double track_s(const struct host *h, size_t t)
{
    return track(h, t)->seconds / h->o.speed;
}

/* A track started being heard: decide what follows it and whether the
 * listener skips or seeks in it. */
static void on_track_started(struct host *h, struct listener *l, size_t t)
{
    l->cur = t;
    l->next = workload_follow(&h->w, &l->rng, t);
    if (l->next != SIZE_MAX) {
        command(l, "queue add #%lld", (long long)track(h, l->next)->id);
        l->followed[l->nfollowed++ % FOLLOWED_RING] = (uint64_t)track(h, l->next)->id;
    }
    double now = run_s(h), len = track_s(h, t);
    double coin = workload_uniform(&l->rng, 0, 1);
    if (coin < WORKLOAD_SKIP) {
        l->act = ACT_SKIP;
        l->act_at = now + workload_uniform(&l->rng, 5.0 / h->o.speed, 0.7 * len);
    } else if (coin < WORKLOAD_SKIP + WORKLOAD_SEEK) {
        l->act = ACT_SEEK;
        l->act_at = now + workload_uniform(&l->rng, 3.0 / h->o.speed, 0.5 * len);
        l->seek_to_s = workload_uniform(&l->rng, 0.5, 0.8) * track(h, t)->seconds;
    } else if (l->act == ACT_SKIP || l->act == ACT_SEEK) {
        l->act = ACT_NONE;
    }
}

static void play_fresh(struct host *h, struct listener *l, size_t t)
{
    command(l, "play #%lld", (long long)track(h, t)->id);
    l->act = ACT_NONE;
    on_track_started(h, l, t);
}

static void think_then_play(struct host *h, struct listener *l)
{
    l->act = ACT_PLAY;
    l->act_at = run_s(h) + workload_uniform(&l->rng, THINK_MIN_S, THINK_MAX_S) / h->o.speed;
}

static void start_session(struct host *h, struct listener *l)
{
    l->session_on = true;
    l->session_until = run_s(h) + workload_exponential(&l->rng, WORKLOAD_SESSION_S) / h->o.speed;
    think_then_play(h, l);
}

static void end_session(struct host *h, struct listener *l)
{
    command(l, "stop");
    command(l, "queue clear");
    l->session_on = false;
    l->cur = l->next = SIZE_MAX;
    l->act = ACT_PLAY; /* the next session starts with a fresh pick */
    l->act_at = run_s(h) + workload_exponential(&l->rng, WORKLOAD_PAUSE_S) / h->o.speed;
}

static void act(struct host *h, struct listener *l)
{
    enum action a = l->act;
    l->act = ACT_NONE;
    switch (a) {
    case ACT_PLAY:
        if (!l->session_on) {
            start_session(h, l);
            return;
        }
        play_fresh(h, l, workload_pick(&h->w, &l->rng));
        break;
    case ACT_SKIP:
        if (l->next != SIZE_MAX)
            command(l, "next"); /* the queued track starts: its event follows */
        else
            play_fresh(h, l, workload_pick(&h->w, &l->rng));
        break;
    case ACT_SEEK:
        command(l, "seek %.0f", l->seek_to_s);
        break;
    default:
        break;
    }
}

/* ---- events ---- */

static const char *end_name(enum mq_playback_end e)
{
    return e == MQ_PB_PLAYED ? "played" : e == MQ_PB_FAILED ? "failed" : "stopped";
}

static bool was_followed(const struct listener *l, uint64_t id)
{
    for (unsigned i = 0; i < FOLLOWED_RING && i < l->nfollowed; i++)
        if (l->followed[i] == id)
            return true;
    return false;
}

static void send_play(struct host *h, struct listener *l, const struct mq_playback *pb)
{
    bool cold = !pb->cache_hit && pb->found_tracker == 0 && pb->found_search == 0;
    long t = track_index(h, pb->track_id);
    bool popular = t >= 0 && workload_is_popular(&h->w, (size_t)t);
    emit(h, json_pack("{s:s, s:i, s:I, s:s, s:s, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
                      "s:I, s:i, s:i, s:i, s:b, s:b}",
                      "ev", "play", "engine", (int)l->index, "track", (json_int_t)pb->track_id,
                      "end", end_name(pb->end), "reason", pb->reason, "cache_hit", pb->cache_hit,
                      "gapless", pb->gapless, "cold_miss", cold, "latency_ms",
                      (json_int_t)pb->latency_ms, "played_ms", (json_int_t)pb->played_ms,
                      "underruns", (json_int_t)pb->underruns, "underrun_ms",
                      (json_int_t)pb->underrun_ms, "bytes_cache", (json_int_t)pb->bytes_cache,
                      "bytes_peers", (json_int_t)pb->bytes_peers, "bytes_service",
                      (json_int_t)pb->bytes_service, "found_tracker", (int)pb->found_tracker,
                      "found_search", (int)pb->found_search, "bad_chunks", (int)pb->bad_chunks,
                      "popular", popular, "album_order", was_followed(l, pb->track_id)));
}

static void on_track_changed(struct host *h, struct listener *l, const struct mq_track *t)
{
    if (!t)
        return;
    long idx = track_index(h, t->id);
    if (idx >= 0 && (size_t)idx != l->cur && (size_t)idx == l->next)
        on_track_started(h, l, (size_t)idx); /* the queued one joined */
}

static void on_event(struct host *h, struct listener *l, struct mq_msg *m)
{
    switch (m->type) {
    case MQ_EV_PLAYBACK:
        if (h->measuring)
            send_play(h, l, m->u.blob.ptr);
        break;
    case MQ_EV_TRACK_CHANGED:
        on_track_changed(h, l, m->u.blob.ptr);
        break;
    case MQ_EV_STATE:
        /* the queue ran out: the listener picks again */
        if (m->u.num.a == MQ_STOPPED && l->session_on && l->act != ACT_PLAY &&
            mono_s() - l->sent_at > STALE_STATE_S) {
            l->cur = l->next = SIZE_MAX;
            think_then_play(h, l);
        }
        break;
    case MQ_EV_ERROR:
        l->errors++;
        clog_warn(l->log, "bench", "engine says: %s", m->u.text);
        break;
    default:
        break;
    }
}

static void drain(struct host *h, struct listener *l)
{
    if (!l->e)
        return;
    struct mq_msg *list = mq_take_events(engine_mq(l->e));
    for (struct mq_msg *m = list; m; m = m->next)
        on_event(h, l, m);
    mq_msg_free_list(list);
}

static void sample(struct listener *l, struct mq_snapshot *snap)
{
    if (!l->e)
        return;
    mq_read_snapshot(engine_mq(l->e), snap);
    unsigned conns = (unsigned)snap->peers_connected, slots = (unsigned)snap->upload_slots_used;
    l->conns_sum += conns;
    l->slots_sum += slots;
    l->samples++;
    if (conns > l->conns_max)
        l->conns_max = conns;
    if (slots > l->slots_max)
        l->slots_max = slots;
}

/* ---- engines ---- */

static void settings_for(const struct host *h, const struct listener *l, struct chorus_settings *s)
{
    settings_init(s);
    char *opts[] = {
        xasprintf("audio.output=%s:%u", h->o.output, h->o.speed),
        xasprintf("cache.size=%llu", (unsigned long long)h->o.cache_cap),
        xasprintf("service.address=%s", h->o.address),
        xasprintf("service.key=%s", h->o.key),
        xstrdup("p2p.listen=127.0.0.1:0"),
        xasprintf("p2p.max_connections=%u", h->o.max_links),
        xstrdup("cache.max_open_files=16"),
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        char *error = NULL;
        if (settings_set_option(s, opts[i], &error) < 0)
            clog_warn(l->log, "bench", "%s: %s", opts[i], error);
        free(error);
        free(opts[i]);
    }
}

static int engine_start(struct host *h, struct listener *l)
{
    struct chorus_settings s;
    settings_for(h, l, &s);
    struct engine_config cfg = {
        .settings = &s,
        .paths = h->paths,
        .data_dir = l->data,
        .cache_dir = l->cache,
        .remote_socket = "",
        .log = l->log,
        .seed = workload_rng(h->o.seed, l->index),
        .link_rtt_ms = h->o.rtt_ms,
        .link_rate = (uint64_t)h->o.rate_kbit * 1000 / 8,
        .corrupt_uploads = l->bad,
        .report_playbacks = true,
        .verify_every_read = true,
    };
    char *error = NULL;
    int rc = engine_new(&cfg, &l->e, &error);
    settings_close(&s);
    if (rc < 0) {
        emit_error(h, "engine %u: %s", l->index, error ? error : chorus_strerror(rc));
        l->e = NULL;
    }
    free(error);
    return rc;
}

/* The warm cache and the login, before the engine starts. The past is
 * longer than the cache holds: the newest plays fill it, the older ones
 * were evicted since and only their keys stay in chorus.db. */
static int prepare(struct host *h, struct listener *l)
{
    size_t *past = NULL;
    size_t n = workload_history(&h->w, &l->rng, h->o.cache_cap * HISTORY_CACHES, &past);
    long filled = swarm_fill(&h->cat, l->data, l->cache, h->o.cache_cap, past, n);
    free(past);
    if (filled < 0)
        return -1;
    struct chorus_env env = {.paths = h->paths, .log = l->log};
    settings_init(&env.settings);
    env.settings.service_key = xstrdup(h->o.key);
    char *user = xasprintf("u%u", l->index), *device = xasprintf("engine-%u", l->index);
    char *error = NULL;
    int rc = chorus_login_device(&env, l->data, h->o.address, user, h->password, device, &error);
    if (rc < 0)
        emit_error(h, "engine %u cannot log in: %s", l->index, error);
    free(error);
    free(user);
    free(device);
    settings_close(&env.settings);
    return rc;
}

static void *prepare_thread(void *arg)
{
    struct host *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->out_mu);
        unsigned i = h->prep_next++;
        pthread_mutex_unlock(&h->out_mu);
        if (i >= h->o.count)
            return NULL;
        if (prepare(h, &h->l[i]) < 0)
            h->l[i].failed = true;
    }
}

static void prepare_all(struct host *h)
{
    pthread_t t[PREP_THREADS];
    unsigned n = h->o.count < PREP_THREADS ? h->o.count : PREP_THREADS;
    for (unsigned i = 0; i < n; i++)
        pthread_create(&t[i], NULL, prepare_thread, h);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static bool online(struct listener *l, struct mq_snapshot *snap)
{
    mq_read_snapshot(engine_mq(l->e), snap);
    return snap->service == MQ_SERVICE_ONLINE && snap->p2p_listen[0];
}

/* Starts every prepared engine and waits until each is online (or
 * ONLINE_MS passed). Returns how many failed. */
static unsigned start_all(struct host *h, struct mq_snapshot *snap)
{
    for (unsigned i = 0; i < h->o.count; i++)
        if (!h->l[i].failed && engine_start(h, &h->l[i]) < 0)
            h->l[i].failed = true;
    double until = mono_s() + ONLINE_MS / 1000.0;
    for (unsigned i = 0; i < h->o.count; i++) {
        struct listener *l = &h->l[i];
        while (!l->failed && !online(l, snap) && mono_s() < until)
            usleep(50 * 1000);
        if (!l->failed && !online(l, snap)) {
            emit_error(h, "engine %u did not come online", l->index);
            l->failed = true;
        }
    }
    unsigned failed = 0;
    for (unsigned i = 0; i < h->o.count; i++)
        failed += h->l[i].failed;
    return failed;
}

/* ---- scenarios ---- */

/* churn: a third of the engines leave once, between 20% and 50% of the
 * run, and come back after 10% to 25% of it. */
static void plan_churn(struct host *h, struct listener *l)
{
    if (h->o.scenario != SWARM_CHURN || l->index % 3 != 0)
        return;
    l->act = ACT_LEAVE;
    l->act_at = workload_uniform(&l->rng, 0.2, 0.5) * h->o.duration_s;
}

static void leave(struct host *h, struct listener *l)
{
    drain(h, l);
    engine_free(l->e);
    l->e = NULL;
    l->cur = l->next = SIZE_MAX;
    l->act = ACT_REJOIN;
    l->act_at = run_s(h) + workload_uniform(&l->rng, 0.1, 0.25) * h->o.duration_s;
}

static void rejoin(struct host *h, struct listener *l)
{
    if (engine_start(h, l) < 0) {
        l->failed = true;
        return;
    }
    l->restarts++;
    start_session(h, l);
}

/* flash-crowd: at 30% of the run everyone plays the new album. */
static void flash_crowd(struct host *h, struct listener *l)
{
    if (h->o.scenario != SWARM_FLASH_CROWD || l->flash_done || !l->e ||
        run_s(h) < 0.3 * h->o.duration_s)
        return;
    l->flash_done = true;
    l->session_on = true;
    l->session_until = h->o.duration_s * 2;
    play_fresh(h, l, workload_flash_first(&h->w));
}

/* ---- the measured phase ---- */

static void drive_one(struct host *h, struct listener *l)
{
    if (l->failed)
        return;
    drain(h, l);
    flash_crowd(h, l);
    double now = run_s(h);
    if (l->act == ACT_LEAVE && now >= l->act_at) {
        leave(h, l);
        return;
    }
    if (l->act == ACT_REJOIN) {
        if (now >= l->act_at)
            rejoin(h, l);
        return;
    }
    if (l->session_on && now >= l->session_until) {
        end_session(h, l);
        return;
    }
    if (l->act != ACT_NONE && now >= l->act_at)
        act(h, l);
}

static bool stdin_says_stop(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return false;
    char buf[64];
    ssize_t n = read(0, buf, sizeof(buf) - 1);
    return n <= 0 || memmem(buf, (size_t)n, "stop", 4) != NULL;
}

static void wait_for_go(void)
{
    char line[64];
    while (fgets(line, sizeof(line), stdin))
        if (strncmp(line, "go", 2) == 0)
            return;
}

static void measure(struct host *h, struct mq_snapshot *snap)
{
    h->go_at = mono_s();
    h->measuring = true;
    for (unsigned i = 0; i < h->o.count; i++) {
        struct listener *l = &h->l[i];
        if (l->failed)
            continue;
        drain(h, l); /* what the warm-up left */
        if (workload_uniform(&l->rng, 0, 1) < 0.8) {
            l->session_on = true;
            l->session_until = workload_exponential(&l->rng, WORKLOAD_SESSION_S) / h->o.speed;
            l->act = ACT_PLAY;
            l->act_at = workload_uniform(&l->rng, 0, 10.0 / h->o.speed);
        } else {
            l->act = ACT_PLAY;
            l->act_at = workload_exponential(&l->rng, WORKLOAD_PAUSE_S) / h->o.speed;
        }
        plan_churn(h, l);
    }
    double next_sample = 0;
    while (!stdin_says_stop() && run_s(h) < h->o.duration_s + 30) {
        for (unsigned i = 0; i < h->o.count; i++)
            drive_one(h, &h->l[i]);
        if (run_s(h) >= next_sample) {
            next_sample += SAMPLE_MS / 1000.0;
            for (unsigned i = 0; i < h->o.count; i++)
                if (!h->l[i].failed)
                    sample(&h->l[i], snap);
        }
        usleep(DRIVE_MS * 1000);
    }
}

/* ---- the end ---- */

static void send_engine(struct host *h, struct listener *l, struct mq_snapshot *snap)
{
    bool crashed = l->e && engine_stopped(l->e);
    if (l->e)
        mq_read_snapshot(engine_mq(l->e), snap);
    else
        memset(snap, 0, sizeof(*snap));
    json_t *links = json_array();
    for (int i = 0; i < snap->nconns; i++)
        if (!snap->conns[i].inbound)
            json_array_append_new(links, json_string(snap->conns[i].address));
    double n = l->samples ? l->samples : 1;
    emit(h,
         json_pack(
             "{s:s, s:i, s:b, s:b, s:b, s:i, s:f, s:i, s:f, s:i, s:I, s:I, s:I, s:I, "
             "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o}",
             "ev", "engine", "engine", (int)l->index, "bad", l->bad, "crashed", crashed, "failed",
             l->failed, "restarts", (int)l->restarts, "conns_mean", l->conns_sum / n, "conns_max",
             (int)l->conns_max, "slots_mean", l->slots_sum / n, "slots_max", (int)l->slots_max,
             "chunks_rejected", (json_int_t)snap->chunks_rejected, "peers_banned",
             (json_int_t)snap->peers_banned, "chunks_served", (json_int_t)snap->chunks_served,
             "busy_replies", (json_int_t)snap->busy_replies, "uploaded", (json_int_t)snap->uploaded,
             "downloaded_peers", (json_int_t)snap->downloaded_peers, "downloaded_service",
             (json_int_t)snap->downloaded_service, "found_tracker", (json_int_t)snap->found_tracker,
             "found_search", (json_int_t)snap->found_search, "corrupt_reads",
             (json_int_t)snap->cache_corrupt_chunks, "evicted_files",
             (json_int_t)snap->cache_evicted_files, "listen", snap->p2p_listen, "links", links));
}

static void finish(struct host *h, struct mq_snapshot *snap)
{
    for (unsigned i = 0; i < h->o.count; i++) {
        struct listener *l = &h->l[i];
        command(l, "stop");
    }
    usleep(300 * 1000); /* the stops' playback records */
    for (unsigned i = 0; i < h->o.count; i++) {
        drain(h, &h->l[i]);
        send_engine(h, &h->l[i], snap);
    }
    for (unsigned i = 0; i < h->o.count; i++) {
        engine_free(h->l[i].e);
        h->l[i].e = NULL;
    }
}

/* ---- options and main ---- */

static bool parse_unsigned(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, struct host_options *o)
{
    static const struct option options[] = {
        {"workdir", required_argument, NULL, 'w'},
        {"catalog", required_argument, NULL, 'c'},
        {"address", required_argument, NULL, 'a'},
        {"key", required_argument, NULL, 'k'},
        {"first", required_argument, NULL, 'f'},
        {"count", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 'S'},
        {"scenario", required_argument, NULL, 's'},
        {"rtt", required_argument, NULL, 'r'},
        {"rate", required_argument, NULL, 'R'},
        {"speed", required_argument, NULL, 'x'},
        {"duration", required_argument, NULL, 'd'},
        {"cache-cap", required_argument, NULL, 'C'},
        {"max-links", required_argument, NULL, 'L'},
        {"output", required_argument, NULL, 'o'},
        {"threadpool", required_argument, NULL, 'T'},
        {0},
    };
    *o = (struct host_options){.speed = 1, .max_links = 60, .output = "bench"};
    int c;
    unsigned long long v = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'w':
            o->workdir = optarg;
            break;
        case 'c':
            o->catalog = optarg;
            break;
        case 'a':
            o->address = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 's':
            ok = swarm_scenario_parse(optarg, &o->scenario);
            break;
        case 'd':
            o->duration_s = strtod(optarg, NULL);
            ok = o->duration_s > 0;
            break;
        default:
            if (c == '?' || !parse_unsigned(optarg, UINT64_MAX, &v))
                ok = false;
            else if (c == 'f')
                o->first = (unsigned)v;
            else if (c == 'n')
                o->count = (unsigned)v;
            else if (c == 'S')
                o->seed = v;
            else if (c == 'r')
                o->rtt_ms = (unsigned)v;
            else if (c == 'R')
                o->rate_kbit = (unsigned)v;
            else if (c == 'x')
                o->speed = (unsigned)v;
            else if (c == 'C')
                o->cache_cap = v;
            else if (c == 'L')
                o->max_links = (unsigned)v;
            else if (c == 'T')
                o->threadpool = (unsigned)v;
            break;
        }
        if (!ok) {
            fprintf(stderr,
                    "chorus-bench swarm-host: bad option (started by chorus-bench swarm)\n");
            return -1;
        }
    }
    if (!o->workdir || !o->catalog || !o->address || !o->key || !o->count || !o->speed ||
        !o->cache_cap) {
        fprintf(stderr,
                "chorus-bench swarm-host: missing options (started by chorus-bench swarm)\n");
        return -1;
    }
    return 0;
}

/* Before any loop exists: the fd limit and the threadpool (pool: 0 for
 * the default). Returns the pool's size. */
static unsigned size_process(unsigned engines, unsigned pool)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    /* The caches' writes and reads wait on the pool: a quarter of a
     * thread per engine, within libuv's bounds. */
    if (pool == 0) {
        pool = engines / 4;
        pool = pool < 4 ? 4 : pool > 128 ? 128 : pool;
    }
    char v[16];
    snprintf(v, sizeof(v), "%u", pool);
    setenv("UV_THREADPOOL_SIZE", v, 1);
    return pool;
}

static unsigned count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    unsigned n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* What the process holds with every engine running: the coordinator
 * reports it per engine. */
static void send_host(struct host *h, unsigned pool)
{
    emit(h,
         json_pack("{s:s, s:i, s:i, s:i}", "ev", "host", "fds", (int)count_entries("/proc/self/fd"),
                   "threads", (int)count_entries("/proc/self/task"), "threadpool", (int)pool));
}

static void listeners_init(struct host *h)
{
    h->l = xcalloc(h->o.count, sizeof(*h->l));
    for (unsigned i = 0; i < h->o.count; i++) {
        struct listener *l = &h->l[i];
        l->index = h->o.first + i;
        l->home = xasprintf("%s/engines/%u", h->o.workdir, l->index);
        l->data = xasprintf("%s/data", l->home);
        l->cache = xasprintf("%s/cache", l->home);
        l->bad = h->o.scenario == SWARM_BAD_PEERS && l->index % 10 == 9;
        l->rng = workload_rng(h->o.seed, l->index);
        l->cur = l->next = SIZE_MAX;
        fs_mkdir_p(l->data, 0700);
        fs_mkdir_p(l->cache, 0700);
        char *log = xasprintf("%s/engine.log", l->home);
        int err = 0;
        l->log = clog_new(log, CLOG_INFO, &err);
        free(log);
    }
}

static void listeners_free(struct host *h)
{
    for (unsigned i = 0; i < h->o.count; i++) {
        struct listener *l = &h->l[i];
        engine_free(l->e);
        clog_free(l->log);
        free(l->home);
        free(l->data);
        free(l->cache);
    }
    free(h->l);
}

int bench_swarm_host_main(int argc, char **argv)
{
    struct host h = {0};
    if (parse_options(argc, argv, &h.o) < 0)
        return 2;
    unsigned pool = size_process(h.o.count, h.o.threadpool);
    const char *pw = getenv("CHORUS_BENCH_PASSWORD");
    if (!pw || bench_catalog_read(h.o.catalog, &h.cat) < 0) {
        fprintf(stderr, "chorus-bench swarm-host: no password or no catalog\n");
        return 1;
    }
    h.password = xstrdup(pw);
    pthread_mutex_init(&h.out_mu, NULL);
    int err = 0;
    char *root = xasprintf("%s/xdg", h.o.workdir);
    h.paths = paths_new_rooted(root, "chorus", &err);
    free(root);
    workload_init(&h.w, &h.cat, h.o.seed);
    index_by_id(&h);
    listeners_init(&h);

    struct mq_snapshot *snap = xmalloc(sizeof(*snap));
    prepare_all(&h);
    unsigned failed = start_all(&h, snap);
    emit(&h, json_pack("{s:s, s:i, s:i}", "ev", "ready", "engines", (int)h.o.count, "failed",
                       (int)failed));
    wait_for_go();
    measure(&h, snap);
    send_host(&h, pool);
    finish(&h, snap);

    free(snap);
    listeners_free(&h);
    workload_free(&h.w);
    free(h.by_id);
    paths_free(h.paths);
    bench_catalog_free(&h.cat);
    free(h.password);
    pthread_mutex_destroy(&h.out_mu);
    return 0;
}
