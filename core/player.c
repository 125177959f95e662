/* player: playback sequencing over fetch, cache and decoder (see
 * core/player.h).
 *
 * Owns the decoder, the copied track list with each track's state
 * (waiting, opening, ready, given to the decoder, done), its fetch handle
 * and its cache pin, an inbox (core/inbox.h) that brings the decoder's
 * events to the loop, and a timer that starts the next track's download
 * in time. Runs on the core loop; the decoder thread only pushes events.
 *
 * It must never hand the decoder a second track while two are in its
 * hands (dec_queue_next would then drop the one it already began), so a
 * track is queued only when exactly one given track has not ended. */
#include "core/player.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/decoder.h"
#include "audio/track_stream.h"
#include "core/cache_source.h"
#include "core/errors.h"
#include "base/inbox.h"
#include "base/log.h"
#include "base/xmalloc.h"

#define MOD     "player"
#define TICK_MS 250

enum tstate { T_WAITING, T_OPENING, T_READY, T_GIVEN, T_DONE };

struct player;

struct ptrack {
    struct player *p;
    size_t index;
    struct player_track t; /* strings owned */
    struct player_result r;
    enum tstate st;
    struct fetch_handle *fh;
    struct fetch_event ready; /* size, chunk size, key */
    bool pinned;
    int64_t start_ms; /* where it starts (a restored position) */
    uint64_t want_ns; /* when its audio was wanted (for a start after a gap) */
    uint32_t counted; /* chunks before this are counted in r.played_bytes */
    bool counting;    /* counted is where it was heard from */
    bool sought;      /* a seek: count from where it lands (the next tick's position) */
};

struct player {
    uv_loop_t *loop;
    struct cache *cache;
    struct fetch *fetch;
    struct clog *log;
    struct dec *dec;
    unsigned prefetch_ms;
    int64_t start_ms; /* where the next dec_play of a fresh track starts */
    player_event_fn on_event;
    void *event_ctx;
    uint64_t played[FETCH_CH_COUNT];    /* bytes heard, by where each chunk came from */
    uint64_t playbacks[FETCH_CH_COUNT]; /* tracks heard, by where most of their bytes came from */

    struct ptrack **tr; /* every track given to the player, in order: a track's tag is its index */
    size_t n, cap;
    size_t cur; /* the track heard, or the one to be heard next */
    bool idle;  /* the decoder holds no track */
    bool done;  /* finished or stopped: no more events */
    bool closing;
    struct inbox events; /* the decoder's: struct pevent */
    uv_timer_t timer;
    int handles_open;
    void (*close_cb)(void *arg);
    void *close_arg;
};

struct pevent {
    struct inbox_node link;
    struct dec_event ev;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void emit(struct player *p, enum player_event_type type, struct ptrack *t)
{
    if (!p->on_event)
        return;
    struct player_event ev = {.type = type, .tag = t ? t->index : 0, .result = t ? &t->r : NULL};
    p->on_event(p->event_ctx, &ev);
}

/* ---- the chunk path: decoder thread -> fetch ---- */

static void stream_request(void *ctx, const struct content_id *id, uint32_t index,
                           enum tstream_priority prio, uint64_t gen)
{
    struct player *p = ctx;
    fetch_request(p->fetch, id, index,
                  prio == TSTREAM_PRIO_NOW ? WIRE_PRIO_PLAYING : WIRE_PRIO_PREFETCH, gen);
}

static struct tstream *make_stream(struct player *p, struct ptrack *t, enum tstream_priority prio)
{
    struct tstream_config cfg = {
        .file_size = t->ready.file_size,
        .chunk_size = t->ready.chunk_size,
        .key = t->ready.key,
        .priority = prio,
    };
    tstream_source_cache(p->cache, &t->t.id, stream_request, p, &cfg.ops, &cfg.ctx);
    return tstream_new(&cfg);
}

/* ---- what was heard, from where ---- */

static uint32_t chunk_at(const struct ptrack *t, int64_t pos_ms, int64_t dur_ms)
{
    uint32_t n = t->ready.chunk_count;
    if (n == 0 || dur_ms <= 0 || pos_ms <= 0)
        return 0;
    uint64_t at = (uint64_t)n * (uint64_t)pos_ms / (uint64_t)dur_ms;
    return at < n ? (uint32_t)at : n;
}

/* Counts t's chunks heard up to (not including) chunk upto by source. */
static void count_heard(struct player *p, struct ptrack *t, uint32_t upto)
{
    if (!t->fh || t->ready.chunk_count == 0)
        return;
    if (!t->counting) {
        /* heard from its start, or from where it was resumed or sought */
        t->counting = true;
        t->counted = t->start_ms > 0 || t->sought ? upto : 0;
    }
    if (upto < t->counted) {
        t->counted = upto; /* sought backwards */
        return;
    }
    for (uint32_t i = t->counted; i < upto; i++) {
        enum fetch_chunk_source src = fetch_chunk_source(t->fh, i);
        uint64_t off = (uint64_t)i * t->ready.chunk_size;
        uint64_t len = t->ready.file_size - off < t->ready.chunk_size ? t->ready.file_size - off
                                                                      : t->ready.chunk_size;
        t->r.played_bytes[src] += len;
        p->played[src] += len;
    }
    t->counted = upto;
}

/* A track ends: what it played counts once, by its main source. */
static void count_playback(struct player *p, struct ptrack *t)
{
    int best = FETCH_CH_MISSING;
    for (int s = FETCH_CH_CACHE; s < FETCH_CH_COUNT; s++)
        if (t->r.played_bytes[s] > t->r.played_bytes[best])
            best = s;
    if (best != FETCH_CH_MISSING)
        p->playbacks[best]++;
}

/* ---- track states ---- */

static void release_file(struct player *p, struct ptrack *t)
{
    if (t->fh) {
        /* what the ticks did not count yet (all of it for a short track on
         * an unpaced output) */
        count_heard(p, t,
                    t->r.state == PLAYER_T_PLAYED ? t->ready.chunk_count
                                                  : chunk_at(t, t->r.played_ms, t->t.duration_ms));
        count_playback(p, t);
        fetch_file_stats(t->fh, &t->r.fetch);
        fetch_release(t->fh);
        t->fh = NULL;
    }
    if (t->pinned) {
        cache_unpin(p->cache, &t->t.id);
        t->pinned = false;
    }
}

static void finish(struct player *p, struct ptrack *t, enum player_track_state state, int err,
                   const struct dec_track_figures *fig)
{
    t->st = T_DONE;
    t->r.state = state;
    t->r.error = err;
    if (fig) {
        t->r.played_ms = fig->position_ms;
        t->r.underruns = fig->underruns;
        t->r.underrun_ms = fig->underrun_ms;
        t->r.stalls = fig->stalls;
        if (!t->r.gapless && fig->ttfa_ns > 0)
            t->r.ttfa_ns = fig->ttfa_ns;
    }
    release_file(p, t);
    if (state == PLAYER_T_FAILED)
        clog_warn(p->log, MOD, "track %zu (%s - %s) failed: %s", t->index + 1, t->t.artist,
                  t->t.title, chorus_strerror(err));
    emit(p, PLAYER_EV_TRACK_END, t);
}

static void on_fetch(void *ctx, struct fetch_handle *h, const struct fetch_event *ev);

static void open_track(struct player *p, struct ptrack *t, uint8_t prio)
{
    t->r.cache_hit = cache_note_play(p->cache, &t->t.id);
    cache_pin(p->cache, &t->t.id);
    t->pinned = true;
    t->st = T_OPENING;
    t->r.state = PLAYER_T_PLAYING;
    clog_info(p->log, MOD, "track %zu (%s - %s): opening (%s, cache %s)", t->index + 1, t->t.artist,
              t->t.title, prio == WIRE_PRIO_PLAYING ? "now" : "prefetch",
              t->r.cache_hit ? "hit" : "miss");
    t->fh = fetch_open(p->fetch, &t->t.id, prio, on_fetch, t);
}

static void play_now(struct player *p, struct ptrack *t)
{
    struct tstream *ts = make_stream(p, t, TSTREAM_PRIO_NOW);
    if (!ts) {
        finish(p, t, PLAYER_T_FAILED, DEC_EINVAL, NULL);
        return;
    }
    fetch_set_priority(t->fh, WIRE_PRIO_PLAYING);
    dec_play(p->dec, ts, t->index, t->start_ms);
    t->st = T_GIVEN;
    p->idle = false;
    p->cur = t->index;
}

/* The only track the decoder holds that has not ended (NULL: none or two). */
static struct ptrack *single_given(struct player *p)
{
    struct ptrack *g = NULL;
    for (size_t i = 0; i < p->n; i++) {
        if (p->tr[i]->st == T_GIVEN) {
            if (g)
                return NULL;
            g = p->tr[i];
        }
    }
    return g;
}

static struct ptrack *next_after(struct player *p, size_t i)
{
    for (size_t j = i + 1; j < p->n; j++)
        if (p->tr[j]->st != T_DONE)
            return p->tr[j];
    return NULL;
}

/* The decoder is idle: play the first track not done, or finish. */
static void kick(struct player *p)
{
    if (!p->idle || p->done || p->closing)
        return;
    size_t i = 0;
    while (i < p->n && p->tr[i]->st == T_DONE)
        i++;
    if (i == p->n) {
        p->done = true;
        emit(p, PLAYER_EV_IDLE, NULL);
        return;
    }
    struct ptrack *t = p->tr[i];
    p->cur = i;
    if (!t->want_ns)
        t->want_ns = now_ns();
    switch (t->st) {
    case T_WAITING:
        open_track(p, t, WIRE_PRIO_PLAYING);
        break;
    case T_OPENING:
        fetch_set_priority(t->fh, WIRE_PRIO_PLAYING);
        break;
    case T_READY:
        play_now(p, t);
        break;
    default:
        break;
    }
}

/* Hands the decoder the track after the one it holds, once ready. */
static void maybe_queue_next(struct player *p)
{
    if (p->idle || p->done || p->closing)
        return;
    struct ptrack *g = single_given(p);
    struct ptrack *nx = g ? next_after(p, g->index) : NULL;
    if (!nx || nx->st != T_READY)
        return;
    struct tstream *ts = make_stream(p, nx, TSTREAM_PRIO_NEXT);
    if (!ts) {
        finish(p, nx, PLAYER_T_FAILED, DEC_EINVAL, NULL);
        return;
    }
    dec_queue_next(p->dec, ts, nx->index);
    nx->st = T_GIVEN;
}

/* Starts the next track's download prefetch_ms before the end of the one
 * playing (at once when that one is shorter). */
static void maybe_prefetch(struct player *p)
{
    if (p->idle || p->done || p->closing)
        return;
    struct ptrack *g = single_given(p);
    struct ptrack *nx = g ? next_after(p, g->index) : NULL;
    if (!nx || nx->st != T_WAITING)
        return;
    struct dec_status ds;
    dec_get_status(p->dec, &ds);
    bool heard = ds.state != DEC_STOPPED && ds.tag == g->index;
    int64_t dur = heard && ds.duration_ms > 0 ? ds.duration_ms : g->t.duration_ms;
    int64_t pos = heard ? ds.position_ms : 0;
    if (dur <= 0 || dur - pos <= (int64_t)p->prefetch_ms)
        open_track(p, nx, WIRE_PRIO_PREFETCH);
}

static void advance(struct player *p)
{
    kick(p);
    maybe_queue_next(p);
    maybe_prefetch(p);
}

/* A fetch failure: a track the decoder holds cannot go on, and neither
 * can the other one it holds (the failures after READY are the
 * connection or the disk). */
static void fail_track(struct player *p, struct ptrack *t, int err)
{
    if (t->st == T_DONE)
        return;
    if (t->st == T_GIVEN) {
        dec_stop(p->dec);
        p->idle = true;
        for (size_t i = 0; i < p->n; i++)
            if (p->tr[i] != t && p->tr[i]->st == T_GIVEN)
                finish(p, p->tr[i], PLAYER_T_FAILED, err, NULL);
    }
    finish(p, t, PLAYER_T_FAILED, err, NULL);
}

static void on_fetch(void *ctx, struct fetch_handle *h, const struct fetch_event *ev)
{
    struct ptrack *t = ctx;
    struct player *p = t->p;
    if (p->done || p->closing || t->fh != h)
        return;
    switch (ev->type) {
    case FETCH_EV_READY:
        t->ready = *ev;
        if (t->st == T_OPENING)
            t->st = T_READY;
        if (p->on_event) {
            struct player_event pe = {
                .type = PLAYER_EV_READY, .tag = t->index, .result = &t->r, .file = ev};
            p->on_event(p->event_ctx, &pe);
        }
        break;
    case FETCH_EV_COMPLETE:
        return;
    case FETCH_EV_ERROR:
        fail_track(p, t, ev->error);
        break;
    }
    advance(p);
}

/* ---- the decoder's events, on the loop ---- */

static void on_dec_event(void *ctx, const struct dec_event *ev)
{
    struct player *p = ctx;
    struct pevent *e = xmalloc(sizeof(*e));
    e->ev = *ev;
    /* The inbox closes only after dec_free, so this is never refused. */
    if (inbox_push(&p->events, &e->link) < 0)
        free(e);
}

static void free_events(struct inbox_node *list)
{
    while (list) {
        struct inbox_node *next = list->next;
        free(inbox_entry(list, struct pevent, link));
        list = next;
    }
}

static void handle_dec_event(struct player *p, const struct dec_event *ev)
{
    struct ptrack *t = ev->tag < p->n ? p->tr[ev->tag] : NULL;
    bool given = t && t->st == T_GIVEN;
    switch (ev->type) {
    case DEC_EV_STARTED:
        if (!given)
            break;
        t->r.ttfa_ns = ev->ttfa_ns;
        t->r.latency_ns = (int64_t)(now_ns() - t->want_ns);
        p->cur = t->index;
        emit(p, PLAYER_EV_TRACK_START, t);
        break;
    case DEC_EV_TRACK_START:
        if (!given)
            break;
        t->r.gapless = true;
        p->cur = t->index;
        if (t->fh)
            fetch_set_priority(t->fh, WIRE_PRIO_PLAYING);
        emit(p, PLAYER_EV_TRACK_START, t);
        break;
    case DEC_EV_TRACK_END:
        if (given)
            finish(p, t, PLAYER_T_PLAYED, 0, &ev->figures);
        break;
    case DEC_EV_ERROR:
        if (given)
            finish(p, t, PLAYER_T_FAILED, ev->error, &ev->figures);
        break;
    case DEC_EV_QUEUE_END:
        /* A track queued as the queue ran dry never starts: give it again. */
        for (size_t i = 0; i < p->n; i++)
            if (p->tr[i]->st == T_GIVEN)
                p->tr[i]->st = T_READY;
        p->idle = true;
        break;
    }
}

static void on_events(void *data, struct inbox_node *list)
{
    struct player *p = data;
    for (struct inbox_node *n = list; n && !p->done && !p->closing; n = n->next) {
        handle_dec_event(p, &inbox_entry(n, struct pevent, link)->ev);
        advance(p);
    }
    free_events(list);
}

/* Tells the fetch where playback is in t's file: the chunk heard, the
 * audio a chunk holds, and whether the service may be asked. */
static void steer(struct ptrack *t, int64_t pos_ms, int64_t dur_ms, bool service_ok)
{
    uint32_t n = t->ready.chunk_count;
    if (!t->fh || n == 0)
        return;
    uint32_t chunk_ms = dur_ms > 0 ? (uint32_t)(dur_ms / n) : 0;
    uint32_t at = chunk_at(t, pos_ms, dur_ms);
    fetch_set_playhead(t->fh, at < n ? at : n - 1, chunk_ms, service_ok);
}

/* DESIGN §5: the track heard streams with the service allowed; the next
 * one is fetched from peers only until PLAYER_NEXT_SERVICE_MS before it
 * starts, then its start may come from the service. */
static void steer_fetch(struct player *p)
{
    struct dec_status ds;
    dec_get_status(p->dec, &ds);
    struct ptrack *heard = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (p->tr[i]->st == T_GIVEN && ds.state != DEC_STOPPED && ds.tag == p->tr[i]->index)
            heard = p->tr[i];
    if (!heard)
        return;
    int64_t dur = ds.duration_ms > 0 ? ds.duration_ms : heard->t.duration_ms;
    steer(heard, ds.position_ms, dur, true);
    count_heard(p, heard, chunk_at(heard, ds.position_ms, dur));
    struct ptrack *nx = next_after(p, heard->index);
    if (nx && nx->fh)
        steer(nx, 0, nx->t.duration_ms,
              dur > 0 && dur - ds.position_ms <= (int64_t)PLAYER_NEXT_SERVICE_MS);
}

static void on_tick(uv_timer_t *timer)
{
    maybe_prefetch(timer->data);
    steer_fetch(timer->data);
}

/* ---- public ---- */

int player_new(const struct player_config *cfg, struct player **out)
{
    if (!cfg->loop || !cfg->cache || !cfg->fetch || !cfg->out)
        return DEC_EINVAL;
    struct player *p = xcalloc(1, sizeof(*p));
    p->loop = cfg->loop;
    p->cache = cfg->cache;
    p->fetch = cfg->fetch;
    p->log = cfg->log;
    p->prefetch_ms = cfg->prefetch_ms ? cfg->prefetch_ms : PLAYER_PREFETCH_MS;
    p->on_event = cfg->on_event;
    p->event_ctx = cfg->event_ctx;
    p->idle = true;
    p->done = true; /* nothing to play yet */
    struct dec_config dc = {
        .out = cfg->out,
        .buffer_ms = cfg->buffer_ms,
        .prebuffer_ms = cfg->prebuffer_ms,
        .on_event = on_dec_event,
        .event_ctx = p,
        .log = cfg->log,
    };
    /* No decoder event comes before the first dec_play, so the inbox can
     * follow the decoder. */
    int rc = dec_new(&dc, &p->dec);
    if (rc == 0 && (rc = inbox_init(&p->events, p->loop, on_events, p)) < 0)
        dec_free(p->dec);
    if (rc < 0) {
        free(p);
        return rc;
    }
    uv_timer_init(p->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_tick, TICK_MS, TICK_MS);
    p->handles_open = 2;
    *out = p;
    return 0;
}

static struct ptrack *append_track(struct player *p, const struct player_track *src,
                                   int64_t start_ms)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->tr = xrealloc(p->tr, p->cap * sizeof(*p->tr));
    }
    /* Each track is its own allocation: fetch callbacks hold its address. */
    struct ptrack *t = xcalloc(1, sizeof(*t));
    p->tr[p->n] = t;
    t->p = p;
    t->index = p->n++;
    t->t.id = src->id;
    t->t.tag = src->tag;
    t->t.title = xstrdup(src->title ? src->title : "");
    t->t.artist = xstrdup(src->artist ? src->artist : "");
    t->t.album = xstrdup(src->album ? src->album : "");
    t->t.duration_ms = src->duration_ms;
    t->start_ms = start_ms > 0 ? start_ms : 0;
    return t;
}

/* Ends every track not done: the one heard (or being opened) becomes
 * STOPPED with an event, those never reached are dropped silently. */
static void drop_all(struct player *p, bool keep_given_next)
{
    struct dec_status ds;
    dec_get_status(p->dec, &ds);
    for (size_t i = 0; i < p->n; i++) {
        struct ptrack *t = p->tr[i];
        if (t->st == T_DONE)
            continue;
        bool heard = t->st == T_GIVEN && ds.state != DEC_STOPPED && ds.tag == t->index;
        bool current = heard || (t->index == p->cur && t->st != T_WAITING);
        if (keep_given_next && (current || t->st == T_GIVEN))
            continue;
        if (heard)
            t->r.played_ms = ds.position_ms;
        t->r.state = current ? PLAYER_T_STOPPED : PLAYER_T_SKIPPED;
        t->st = T_DONE;
        release_file(p, t);
        if (current)
            emit(p, PLAYER_EV_TRACK_END, t);
    }
}

uint64_t player_play(struct player *p, const struct player_track *t, int64_t start_ms)
{
    if (!p->idle || !p->done)
        dec_stop(p->dec);
    drop_all(p, false);
    struct ptrack *nt = append_track(p, t, start_ms);
    p->idle = true;
    p->done = false;
    p->cur = nt->index;
    advance(p);
    return nt->index;
}

uint64_t player_set_next(struct player *p, const struct player_track *t)
{
    if (p->done || p->closing)
        return PLAYER_NO_TAG;
    /* Tracks after the current one that the decoder does not hold yet
     * give way; one it holds already is replaced by dec_queue_next, or,
     * when there is no new one, left to play (it is seconds away). */
    for (size_t i = p->cur + 1; i < p->n; i++) {
        struct ptrack *o = p->tr[i];
        if (o->st == T_DONE || (o->st == T_GIVEN && !t))
            continue;
        o->r.state = PLAYER_T_SKIPPED;
        o->st = T_DONE;
        release_file(p, o);
    }
    if (!t)
        return PLAYER_NO_TAG;
    struct ptrack *nt = append_track(p, t, 0);
    advance(p);
    return nt->index;
}

void player_pause(struct player *p)
{
    dec_pause(p->dec);
}

void player_resume(struct player *p)
{
    dec_resume(p->dec);
}

void player_seek(struct player *p, int64_t ms, bool relative)
{
    if (p->done)
        return;
    struct ptrack *t = p->tr[p->cur];
    if (t->st == T_GIVEN) {
        dec_seek(p->dec, ms, relative);
        t->counting = false; /* what the seek jumps over is not heard */
        t->sought = true;
    } else if (t->st != T_DONE) {
        /* not heard yet: it will start there */
        t->start_ms = relative ? t->start_ms + ms : ms;
        if (t->start_ms < 0)
            t->start_ms = 0;
    }
}

void player_set_volume(struct player *p, int percent)
{
    dec_set_volume(p->dec, percent);
}

void player_stop(struct player *p)
{
    if (p->done || p->closing)
        return;
    dec_stop(p->dec);
    drop_all(p, false);
    p->done = true;
    p->idle = true;
}

static void handle_closed(uv_handle_t *h)
{
    struct player *p = h->data;
    if (--p->handles_open > 0)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free((char *)p->tr[i]->t.title);
        free((char *)p->tr[i]->t.artist);
        free((char *)p->tr[i]->t.album);
        free(p->tr[i]);
    }
    free(p->tr);
    inbox_fini(&p->events);
    void (*cb)(void *) = p->close_cb;
    void *arg = p->close_arg;
    free(p);
    if (cb)
        cb(arg);
}

void player_close(struct player *p, void (*cb)(void *arg), void *arg)
{
    if (p->closing)
        return;
    player_stop(p);
    p->closing = true;
    dec_free(p->dec); /* no decoder event and no chunk request after this */
    p->dec = NULL;
    p->close_cb = cb;
    p->close_arg = arg;
    free_events(inbox_close(&p->events, handle_closed));
    uv_close((uv_handle_t *)&p->timer, handle_closed);
}

void player_heard(const struct player *p, uint64_t bytes[FETCH_CH_COUNT],
                  uint64_t playbacks[FETCH_CH_COUNT])
{
    memcpy(bytes, p->played, sizeof(p->played));
    memcpy(playbacks, p->playbacks, sizeof(p->playbacks));
}

enum fetch_chunk_source player_chunk_source(const struct player *p, uint64_t tag, uint32_t index)
{
    if (tag >= p->n || !p->tr[tag]->fh)
        return FETCH_CH_MISSING;
    return fetch_chunk_source(p->tr[tag]->fh, index);
}

void player_get_status(struct player *p, struct player_status *out)
{
    memset(out, 0, sizeof(*out));
    out->duration_ms = -1;
    if (p->done || !p->dec) {
        out->state = PLAYER_DONE;
        return;
    }
    struct dec_status ds;
    dec_get_status(p->dec, &ds);
    struct dec_figures fig;
    dec_get_figures(p->dec, &fig);
    out->underruns = fig.underruns;
    out->tag = p->cur;
    struct ptrack *t = p->tr[p->cur];
    bool heard = t->st == T_GIVEN && ds.state != DEC_STOPPED && ds.tag == t->index;
    if (!heard) {
        out->state = t->st == T_GIVEN ? PLAYER_BUFFERING : PLAYER_OPENING;
    } else {
        out->state = ds.state == DEC_PLAYING ? PLAYER_PLAYING : PLAYER_BUFFERING;
        out->position_ms = ds.position_ms;
        out->buffered_ms = ds.buffered_ms;
        out->duration_ms = ds.duration_ms;
    }
    if (out->duration_ms <= 0 && t->t.duration_ms > 0)
        out->duration_ms = t->t.duration_ms;
    if (t->fh)
        fetch_file_stats(t->fh, &out->file);
    else
        out->file = t->r.fetch;
}

size_t player_count(const struct player *p)
{
    return p->n;
}

const struct player_track *player_track_at(const struct player *p, uint64_t index)
{
    return &p->tr[index]->t;
}

const struct player_result *player_result_at(const struct player *p, uint64_t index)
{
    return &p->tr[index]->r;
}
