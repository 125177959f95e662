/* engine_keep: playlists kept offline (`playlist keep NAME on`).
 *
 * chorus.db holds the flag per playlist; this file makes it true: every
 * file of a kept playlist's tracks is pinned in the cache (never evicted)
 * and downloaded whole in the background, with the key stored in chorus.db
 * so the track plays without the service. The set of kept files is
 * recomputed from chorus.db whenever it may have changed (engine_keep_sync:
 * a flag, a playlist's tracks, a deletion, the engine's start, the link
 * coming up) and compared with what this file pinned: each file is pinned
 * once here however many kept playlists hold it, and unpinned when none
 * does any more (the cache's pins are refcounted, so the player's own pins
 * are not disturbed).
 *
 * Downloads are the fetch's (core/fetch.h), opened at WIRE_PRIO_BACKGROUND
 * like a player's but never urgent: at most ENGINE_KEEP_FETCHES at once,
 * none started while a track buffers or while the service is offline (the
 * link coming back syncs again), so playback never waits on them. A full
 * cache (everything left is pinned) stops them with one message until the
 * kept set changes; nothing is unpinned or forgotten.
 *
 * Runs on the engine's loop, like the rest of the engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "engine_internal.h"

#define MOD "keep"

static int by_id(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct content_id));
}

/* Where id is in the held files, or -1. */
static long held_at(const struct engine_keep *k, const struct content_id *id)
{
    const struct content_id *at =
        k->nheld ? bsearch(id, k->held, k->nheld, sizeof(*id), by_id) : NULL;
    return at ? (long)(at - k->held) : -1;
}

static bool is_held(const struct engine_keep *k, const struct content_id *id)
{
    return held_at(k, id) >= 0;
}

/* The files of rows, sorted, each once; *n their count. */
static struct content_id *unique_files(const struct clientdb_track_file *rows, size_t nrows,
                                       size_t *n)
{
    struct content_id *ids = xmalloc((nrows ? nrows : 1) * sizeof(*ids));
    for (size_t i = 0; i < nrows; i++)
        ids[i] = rows[i].file;
    qsort(ids, nrows, sizeof(*ids), by_id);
    size_t k = 0;
    for (size_t i = 0; i < nrows; i++)
        if (k == 0 || by_id(&ids[k - 1], &ids[i]) != 0)
            ids[k++] = ids[i];
    *n = k;
    return ids;
}

/* The file is complete in the cache and chorus.db holds its key: it plays
 * offline. has_key: what chorus.db said already (false: ask it). */
static bool file_ready(struct engine *e, const struct content_id *id, bool has_key)
{
    struct cache_file_info info;
    if (cache_file_info(e->cache, id, &info) < 0 || !info.complete)
        return false;
    return has_key || clientdb_get_file(e->db, id, NULL, NULL, &(struct content_key){0}) == 0;
}

static int active_slot(const struct engine_keep *k, const struct content_id *id)
{
    for (unsigned i = 0; i < ENGINE_KEEP_FETCHES; i++)
        if (k->active[i].h && by_id(&k->active[i].id, id) == 0)
            return (int)i;
    return -1;
}

static void release_slot(struct engine_keep *k, unsigned slot)
{
    fetch_release(k->active[slot].h);
    k->active[slot].h = NULL;
}

/* Pins what want holds and held did not; unpins (and stops fetching)
 * what held holds and want does not. Both sorted. */
static void repin(struct engine *e, const struct content_id *want, size_t nwant)
{
    struct engine_keep *k = &e->keep;
    for (size_t i = 0; i < nwant; i++)
        if (!is_held(k, &want[i]))
            cache_pin(e->cache, &want[i]);
    for (size_t i = 0; i < k->nheld; i++) {
        if (nwant && bsearch(&k->held[i], want, nwant, sizeof(*want), by_id))
            continue;
        cache_unpin(e->cache, &k->held[i]);
        int slot = active_slot(k, &k->held[i]);
        if (slot >= 0)
            release_slot(k, (unsigned)slot);
    }
}

/* The files of rows still to fetch, in order, each once. */
static void plan(struct engine *e, const struct clientdb_track_file *rows, size_t nrows)
{
    struct engine_keep *k = &e->keep;
    free(k->to_fetch);
    k->to_fetch = xmalloc((nrows ? nrows : 1) * sizeof(*k->to_fetch));
    k->nto_fetch = k->next = 0;
    bool *planned = xcalloc(k->nheld ? k->nheld : 1, sizeof(*planned));
    for (size_t i = 0; i < nrows; i++) {
        const struct content_id *id = &rows[i].file;
        long at = held_at(k, id); /* every row's file is held: held was made from rows */
        if (at < 0 || planned[at] || active_slot(k, id) >= 0 || file_ready(e, id, rows[i].has_key))
            continue;
        planned[at] = true;
        k->to_fetch[k->nto_fetch++] = *id;
    }
    free(planned);
}

void engine_keep_sync(struct engine *e)
{
    struct clientdb_track_file *rows = NULL;
    size_t nrows = 0;
    if (clientdb_kept_files(e->db, &rows, &nrows) < 0)
        return; /* logged; the pins in force stay */
    size_t nwant = 0;
    struct content_id *want = unique_files(rows, nrows, &nwant);
    repin(e, want, nwant);
    free(e->keep.held);
    e->keep.held = want;
    e->keep.nheld = nwant;
    plan(e, rows, nrows);
    free(rows);
    if (e->keep.nto_fetch)
        clog_info(e->log, MOD, "%zu kept files, %zu to fetch", nwant, e->keep.nto_fetch);
    e->keep.full = false;
    engine_keep_pump(e);
}

static bool cache_full(int err)
{
    return err == CACHE_EFULL || err == -ENOSPC;
}

static void on_fetch_error(struct engine *e, const struct fetch_event *ev)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(&ev->id, hex);
    if (!cache_full(ev->error)) {
        /* offline, or the service refused: tried again at the next sync
         * (the link coming back, a change of the kept playlists) */
        clog_warn(e->log, MOD, "%.12s: not kept offline for now: %s", hex,
                  fetch_strerror(ev->error));
        return;
    }
    if (e->keep.full)
        return;
    e->keep.full = true;
    const char *text = "the cache is full of kept tracks: the rest of the kept playlists cannot "
                       "be cached (raise cache.size, or keep fewer playlists)";
    clog_warn(e->log, MOD, "%s", text);
    mq_post_event(e->mq, mq_msg_new_text(MQ_EV_ERROR, text));
}

static void on_fetch(void *ctx, struct fetch_handle *h, const struct fetch_event *ev)
{
    struct engine *e = ctx;
    struct engine_keep *k = &e->keep;
    unsigned slot = 0;
    while (slot < ENGINE_KEEP_FETCHES && k->active[slot].h != h)
        slot++;
    if (slot == ENGINE_KEEP_FETCHES)
        return;
    switch (ev->type) {
    case FETCH_EV_READY:
        engine_remember_file(e, ev);
        return;
    case FETCH_EV_COMPLETE:
        release_slot(k, slot);
        mq_post_event(e->mq, mq_msg_new(MQ_EV_PLAYLISTS_CHANGED)); /* a count moved */
        break;
    case FETCH_EV_ERROR:
        release_slot(k, slot);
        on_fetch_error(e, ev);
        break;
    }
    engine_keep_pump(e);
}

static bool may_fetch(const struct engine *e)
{
    return !e->stopping && !e->keep.full && svclink_client(e->link) && e->state != MQ_BUFFERING;
}

void engine_keep_pump(struct engine *e)
{
    struct engine_keep *k = &e->keep;
    for (unsigned slot = 0; slot < ENGINE_KEEP_FETCHES && k->next < k->nto_fetch; slot++) {
        if (k->active[slot].h)
            continue;
        if (!may_fetch(e))
            return;
        while (k->next < k->nto_fetch) {
            const struct content_id *id = &k->to_fetch[k->next++];
            if (active_slot(k, id) >= 0 || !is_held(k, id) || file_ready(e, id, false))
                continue;
            k->active[slot].id = *id;
            k->active[slot].h = fetch_open(e->fetch, id, WIRE_PRIO_BACKGROUND, on_fetch, e);
            break;
        }
    }
}

/* A file appended to the downloads still to start (a kept file evicted
 * or found damaged). */
static void plan_again(struct engine_keep *k, const struct content_id *id)
{
    if (k->next > 0 && k->next == k->nto_fetch)
        k->next = k->nto_fetch = 0;
    k->to_fetch = xrealloc(k->to_fetch, (k->nto_fetch + 1) * sizeof(*k->to_fetch));
    k->to_fetch[k->nto_fetch++] = *id;
}

void engine_keep_on_cache_event(struct engine *e, enum cache_event ev, const struct content_id *id)
{
    struct engine_keep *k = &e->keep;
    if (!is_held(k, id))
        return;
    if (ev == CACHE_EV_COMPLETE) {
        if (active_slot(k, id) < 0) /* the player completed it; ours say so themselves */
            mq_post_event(e->mq, mq_msg_new(MQ_EV_PLAYLISTS_CHANGED));
        return;
    }
    /* a chunk was found damaged (or the file went): fetch it again */
    mq_post_event(e->mq, mq_msg_new(MQ_EV_PLAYLISTS_CHANGED));
    if (active_slot(k, id) < 0) {
        plan_again(k, id);
        engine_keep_pump(e);
    }
}

int engine_keep_count(struct engine *e, const char *name, struct engine_keep_count *out)
{
    memset(out, 0, sizeof(*out));
    struct clientdb_track_file *rows = NULL;
    size_t n = 0;
    int rc = clientdb_playlist_files(e->db, name, &rows, &n);
    if (rc < 0)
        return rc;
    out->tracks = n;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].has_file)
            out->no_file++;
        else if (rows[i].has_key && file_ready(e, &rows[i].file, true))
            out->cached++;
    }
    free(rows);
    return 0;
}

void engine_keep_stop(struct engine *e)
{
    for (unsigned slot = 0; slot < ENGINE_KEEP_FETCHES; slot++)
        if (e->keep.active[slot].h)
            release_slot(&e->keep, slot);
    e->keep.next = e->keep.nto_fetch;
}

void engine_keep_free(struct engine *e)
{
    free(e->keep.held);
    free(e->keep.to_fetch);
    memset(&e->keep, 0, sizeof(e->keep));
}
