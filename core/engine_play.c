/* engine_play: the engine's player state machine — what plays now, what
 * follows, and what is kept in chorus.db so it comes back after a restart.
 *
 * The queue (core/queue.h) decides the order; the player (core/player.h)
 * plays one track and prefetches and joins the next gaplessly. This file
 * turns the player's events into queue moves: a gapless start of the next
 * track moves the cursor; the end of a track with nothing after it stops;
 * a track that cannot start (unknown file, offline without its key, a
 * decode error) is reported and skipped, at most once around the queue.
 *
 * Runs on the engine's loop; every chorus.db write is a short statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"
#include "core/errors.h"
#include "engine_internal.h"

#define MOD "engine"

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_state(struct engine *e, enum mq_play_state st)
{
    if (e->state == st)
        return;
    e->state = st;
    mq_post_event(e->mq, mq_msg_new_num(MQ_EV_STATE, st, 0));
}

/* Logs text and shows it to the user; takes ownership of text. */
static void post_error(struct engine *e, char *text)
{
    clog_warn(e->log, MOD, "%s", text);
    mq_post_event(e->mq, mq_msg_new_text(MQ_EV_ERROR, text));
    free(text);
}

static void clear_current(struct engine *e)
{
    clientdb_track_clear(&e->cur.track);
    free(e->cur.map_at_open);
    memset(&e->cur, 0, sizeof(e->cur));
}

static void post_track_changed(struct engine *e)
{
    struct mq_track *t = NULL;
    if (e->cur.valid) {
        t = xmalloc(sizeof(*t));
        *t = e->cur.info;
    }
    mq_post_event(e->mq, mq_msg_new_blob(MQ_EV_TRACK_CHANGED, t, free));
}

bool engine_load_current(struct engine *e, long pos)
{
    clear_current(e);
    if (pos < 0 || (size_t)pos >= queue_len(e->queue))
        return false;
    if (clientdb_get_track(e->db, queue_at(e->queue, (size_t)pos), &e->cur.track) < 0)
        return false;
    e->cur.valid = true;
    engine_track_info(&e->cur.track, &e->cur.info);
    return true;
}

static void make_player_track(const struct clientdb_track *t, struct player_track *out)
{
    *out = (struct player_track){.id = t->file,
                                 .tag = t->id,
                                 .title = t->title,
                                 .artist = t->artist,
                                 .album = t->album,
                                 .duration_ms = t->duration_ms};
}

/* Why track t cannot start now (NULL: it can). */
static const char *cannot_play(struct engine *e, const struct clientdb_track *t)
{
    if (!t->has_file)
        return "it has no audio file in the catalog";
    if (svclink_state(e->link) != MQ_SERVICE_ONLINE &&
        clientdb_get_file(e->db, &t->file, NULL, NULL, &(struct content_key){0}) < 0)
        return "it needs the service, which cannot be reached (never played on this device)";
    return NULL;
}

static void update_next(struct engine *e)
{
    long pos = queue_peek_next(e->queue);
    struct clientdb_track t = {0};
    if (e->state == MQ_STOPPED || pos < 0 ||
        clientdb_get_track(e->db, queue_at(e->queue, (size_t)pos), &t) < 0 || cannot_play(e, &t)) {
        e->next_tag = player_set_next(e->player, NULL);
        e->next_pos = -1;
        clientdb_track_clear(&t);
        return;
    }
    struct player_track pt;
    make_player_track(&t, &pt);
    e->next_tag = player_set_next(e->player, &pt);
    e->next_pos = pos;
    clientdb_track_clear(&t);
}

static void remember_map(struct engine *e)
{
    free(e->cur.map_at_open);
    e->cur.map_at_open = NULL;
    e->cur.map_count = 0;
    if (e->cur.track.has_file)
        cache_chunk_map(e->cache, &e->cur.track.file, &e->cur.map_at_open, &e->cur.map_count);
}

/* The benchmark's record of a playback that ended once it was started
 * (engine_config.report_playbacks); tracks replaced before they were
 * reached are not playbacks. */
static void post_playback(struct engine *e, uint64_t tag, const struct player_result *r)
{
    if (!e->report_playbacks || r->state == PLAYER_T_SKIPPED || r->state == PLAYER_T_PENDING)
        return;
    struct mq_playback *pb = xcalloc(1, sizeof(*pb));
    pb->track_id = player_track_at(e->player, tag)->tag;
    pb->end = r->state == PLAYER_T_FAILED   ? MQ_PB_FAILED
              : r->state == PLAYER_T_PLAYED ? MQ_PB_PLAYED
                                            : MQ_PB_STOPPED;
    pb->error = r->error;
    if (pb->end == MQ_PB_FAILED)
        snprintf(pb->reason, sizeof(pb->reason), "%s", chorus_strerror(r->error));
    pb->cache_hit = r->cache_hit;
    pb->gapless = r->gapless;
    pb->latency_ms = r->latency_ns > 0 ? r->latency_ns / 1000000 : (r->gapless ? 0 : -1);
    pb->played_ms = r->played_ms;
    pb->underruns = r->underruns;
    pb->underrun_ms = r->underrun_ms;
    pb->bytes_cache = r->played_bytes[FETCH_CH_CACHE];
    pb->bytes_peers = r->played_bytes[FETCH_CH_PEER];
    pb->bytes_service = r->played_bytes[FETCH_CH_SERVICE];
    pb->found_tracker = r->fetch.found_tracker;
    pb->found_search = r->fetch.found_search;
    pb->bad_chunks = r->fetch.bad_chunks;
    mq_post_event(e->mq, mq_msg_new_blob(MQ_EV_PLAYBACK, pb, free));
}

/* The same for a track the engine refused before the player had it (no
 * key without the service, no file). */
static void post_refused(struct engine *e, const char *why)
{
    if (!e->report_playbacks)
        return;
    struct mq_playback *pb = xcalloc(1, sizeof(*pb));
    pb->track_id = e->cur.track.id;
    pb->end = MQ_PB_FAILED;
    snprintf(pb->reason, sizeof(pb->reason), "%s", why);
    pb->latency_ms = -1;
    mq_post_event(e->mq, mq_msg_new_blob(MQ_EV_PLAYBACK, pb, free));
}

int engine_play_cursor(struct engine *e, int64_t start_ms)
{
    size_t n = queue_len(e->queue);
    for (size_t tries = 0; tries <= n; tries++) {
        long pos = queue_cursor(e->queue);
        if (pos < 0 || !engine_load_current(e, pos)) {
            engine_stop_playback(e);
            return pos < 0 ? CMD_EEMPTY : CMD_EUNKNOWN;
        }
        const char *why = cannot_play(e, &e->cur.track);
        if (!why) {
            struct player_track pt;
            make_player_track(&e->cur.track, &pt);
            remember_map(e);
            e->cur.start_ms = start_ms;
            e->cur_tag = player_play(e->player, &pt, start_ms);
            player_set_volume(e->player, e->volume);
            set_state(e, MQ_BUFFERING);
            post_track_changed(e);
            update_next(e);
            engine_save_position(e);
            return 0;
        }
        post_error(e, xasprintf("cannot play %s: %s", e->cur.track.title, why));
        post_refused(e, why);
        if (queue_advance(e->queue) < 0)
            break;
        start_ms = 0;
    }
    engine_stop_playback(e);
    return CMD_EEMPTY;
}

void engine_stop_playback(struct engine *e)
{
    player_stop(e->player);
    e->cur_tag = e->next_tag = PLAYER_NO_TAG;
    e->next_pos = -1;
    set_state(e, MQ_STOPPED);
}

void engine_queue_changed(struct engine *e)
{
    if (e->state != MQ_STOPPED)
        update_next(e);
    struct clientdb_queue q = {0};
    size_t n = queue_len(e->queue);
    q.ids = xcalloc(n ? n : 1, sizeof(*q.ids));
    for (size_t i = 0; i < n; i++)
        q.ids[i] = queue_at(e->queue, i);
    q.n = n;
    size_t on = 0;
    const size_t *order = queue_order(e->queue, &on);
    q.order = order && on == n ? (size_t *)order : NULL;
    q.cursor = queue_cursor(e->queue);
    q.position_ms = e->snap.position_ms;
    q.repeat = queue_repeat(e->queue);
    q.shuffle = queue_shuffle(e->queue);
    q.seed = queue_seed(e->queue);
    if (clientdb_save_queue(e->db, &q) < 0)
        clog_warn(e->log, MOD, "cannot save the queue in chorus.db");
    q.order = NULL; /* borrowed from the queue */
    free(q.ids);
    mq_post_event(e->mq, mq_msg_new(MQ_EV_QUEUE_CHANGED));
}

void engine_set_volume(struct engine *e, int percent)
{
    e->volume = percent < 0 ? 0 : percent > 100 ? 100 : percent;
    player_set_volume(e->player, e->volume);
    clientdb_set_int(e->db, "volume", e->volume);
}

void engine_save_position(struct engine *e)
{
    struct mq_snapshot *s = xmalloc(sizeof(*s));
    engine_current_snapshot(e, s);
    clientdb_save_position(e->db, queue_cursor(e->queue), s->position_ms);
    free(s);
}

void engine_restore(struct engine *e)
{
    e->cur_tag = e->next_tag = PLAYER_NO_TAG;
    e->next_pos = -1;
    e->volume = (int)clientdb_get_int(e->db, "volume", 100);
    struct clientdb_queue q = {0};
    if (clientdb_load_queue(e->db, &q) == 0 && q.n > 0) {
        if (q.seed) {
            /* the same seed: later shuffle rounds go on as they would have */
            queue_free(e->queue);
            e->queue = queue_new(q.seed);
        }
        if (queue_restore(e->queue, q.ids, q.n, q.cursor, q.shuffle ? q.order : NULL) < 0)
            clog_warn(e->log, MOD, "the queue kept in chorus.db is not valid: starting empty");
        queue_set_repeat(e->queue, (enum queue_repeat)q.repeat);
        if (engine_load_current(e, queue_cursor(e->queue)))
            e->cur.start_ms = q.position_ms; /* resume / toggle / play start there */
        clog_info(e->log, MOD, "restored a queue of %zu tracks at %ld, %lld ms", q.n, q.cursor,
                  (long long)q.position_ms);
    }
    clientdb_queue_clear(&q);
}

/* ---- the player's events ---- */

void engine_remember_file(struct engine *e, const struct fetch_event *ev)
{
    uint8_t *enc = NULL;
    size_t len = 0;
    if (cache_get_manifest(e->cache, &ev->id, &enc, &len) == 0)
        clientdb_put_file(e->db, &ev->id, enc, len, &ev->key);
    free(enc);
}

/* One playback heard (the player's track carries the catalog id as its
 * owner's tag; e->cur may already be the next track). */
static void add_history(struct engine *e, uint64_t tag, const struct player_result *r)
{
    if (r->played_ms > 0)
        clientdb_add_history(e->db, player_track_at(e->player, tag)->tag, unix_ms() - r->played_ms,
                             r->played_ms);
}

/* The current track is over (played to its end or failed): go on. */
static void after_current(struct engine *e, bool failed)
{
    long pos = failed ? queue_advance(e->queue) : queue_next(e->queue);
    if (pos < 0) {
        clear_current(e);
        engine_stop_playback(e);
        post_track_changed(e);
        engine_queue_changed(e);
        return;
    }
    if (failed && ++e->failures > queue_len(e->queue)) {
        engine_stop_playback(e); /* every track failed: stop trying */
        return;
    }
    engine_play_cursor(e, 0);
    engine_queue_changed(e);
}

void engine_on_player(void *ctx, const struct player_event *ev)
{
    struct engine *e = ctx;
    switch (ev->type) {
    case PLAYER_EV_READY:
        engine_remember_file(e, ev->file);
        break;
    case PLAYER_EV_TRACK_START:
        if (ev->tag == e->next_tag && e->next_pos >= 0) {
            /* the next track joined gaplessly: the cursor follows */
            queue_next(e->queue);
            engine_load_current(e, queue_cursor(e->queue));
            remember_map(e);
            e->cur_tag = ev->tag;
            post_track_changed(e);
            update_next(e);
            engine_queue_changed(e);
        }
        if (ev->tag == e->cur_tag) {
            e->failures = 0;
            if (e->state != MQ_PAUSED)
                set_state(e, MQ_PLAYING);
        }
        break;
    case PLAYER_EV_TRACK_END:
        if (ev->tag == e->next_tag && ev->result->state == PLAYER_T_FAILED) {
            /* the next one could not be prepared: it is tried again (and
             * reported) when its turn comes */
            e->next_tag = PLAYER_NO_TAG;
            e->next_pos = -1;
            break;
        }
        add_history(e, ev->tag, ev->result);
        post_playback(e, ev->tag, ev->result);
        if (ev->tag != e->cur_tag)
            break;
        if (ev->result->state == PLAYER_T_FAILED) {
            post_error(e, xasprintf("%s failed: %s", e->cur.track.title,
                                    chorus_strerror(ev->result->error)));
            after_current(e, true);
        } else if (ev->result->state == PLAYER_T_PLAYED && e->next_tag == PLAYER_NO_TAG) {
            after_current(e, false);
        }
        break;
    case PLAYER_EV_IDLE:
        if (e->state != MQ_STOPPED && e->next_tag == PLAYER_NO_TAG)
            engine_stop_playback(e);
        break;
    }
}
