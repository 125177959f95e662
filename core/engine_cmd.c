/* engine_cmd: the handlers of the command table (core/cmd.h) — one
 * function per command, run on the engine's loop, each ending in exactly
 * one reply.
 *
 * Commands that name tracks (play, queue add/insert, playlist add,
 * search) first resolve what they name: a track id from chorus.db, a
 * query or --all from the service's catalog (search, or a walk of
 * artists -> albums -> tracks) when it is online, else from the tracks
 * chorus.db holds keys for. Every catalog entry seen is kept in chorus.db,
 * so the same commands answer offline later.
 *
 * Every change to the playlists that may change what the kept playlists
 * hold (a keep flag, an add, a remove, a deletion) ends with
 * engine_keep_sync, which pins and fetches or unpins (engine_keep.c). */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/xmalloc.h"
#include "engine_internal.h"

/* ---- replies ---- */

static void finish(struct engine *e, struct cmd *c, int status, const char *message, json_t *data)
{
    struct cmd_result r = {.id = c->id, .status = status, .message = message, .data = data};
    if (c->reply) {
        c->reply(c->reply_ctx, &r);
    } else if (status < 0) {
        const char *text = message ? message : cmd_strerror(status);
        mq_post_event(e->mq, mq_msg_new_text(MQ_EV_ERROR, text));
    } else if (data && (c->id == CMD_SEARCH || c->id == CMD_BROWSE)) {
        mq_post_event(e->mq, mq_msg_new_blob(c->id == CMD_SEARCH ? MQ_EV_SEARCH_RESULTS
                                                                 : MQ_EV_BROWSE_RESULTS,
                                             json_incref(data), (void (*)(void *))json_decref));
    } else if (message) {
        mq_post_event(e->mq, mq_msg_new_text(MQ_EV_STATUS, message));
    }
    json_decref(data);
    cmd_free(c);
}

/* Text from the catalog (tags) as JSON, valid whatever its bytes. */
static json_t *text_json(const char *s)
{
    return json_text0(s ? s : "");
}

static json_t *track_json(const struct clientdb_track *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)t->id));
    json_object_set_new(o, "title", text_json(t->title));
    json_object_set_new(o, "artist", text_json(t->artist));
    json_object_set_new(o, "album", text_json(t->album));
    json_object_set_new(o, "number", json_integer(t->number));
    json_object_set_new(o, "duration", json_real(t->duration_ms / 1000.0));
    return o;
}

/* ---- resolving what a command names ---- */

struct album_artist {
    uint64_t album, artist;
};

struct pick {
    struct engine *e;
    struct cmd *c;
    struct clientdb_track *t; /* found so far */
    size_t n, cap;
    struct album_artist *albums; /* the --all walk: whose album is which */
    size_t nalbums;
    int pending; /* catalog requests in flight */
    bool failed;
};

static void act(struct engine *e, struct cmd *c, const struct clientdb_track *t, size_t n);

static void pick_add(struct pick *p, const struct wire_item *it)
{
    if (it->kind != WIRE_KIND_TRACK || !it->has_file)
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->t = xrealloc(p->t, p->cap * sizeof(*p->t));
    }
    struct clientdb_track *t = &p->t[p->n++];
    memset(t, 0, sizeof(*t));
    t->id = it->id;
    t->title = xstrdup(it->title ? it->title : "");
    t->artist = xstrdup(it->artist ? it->artist : "");
    t->album = xstrdup(it->album ? it->album : "");
    t->album_id = it->parent;
    for (size_t i = 0; i < p->nalbums; i++)
        if (p->albums[i].album == it->parent)
            t->artist_id = p->albums[i].artist; /* kept for browsing offline */
    t->number = it->number;
    t->duration_ms = it->duration_ms;
    t->has_file = true;
    memcpy(t->file.bytes, it->file_id, CONTENT_ID_LEN);
}

static int by_album_order(const void *a, const void *b)
{
    const struct clientdb_track *x = a, *y = b;
    int r = strcmp(x->artist, y->artist);
    if (!r)
        r = strcmp(x->album, y->album);
    if (!r)
        r = (int)x->number - (int)y->number;
    return r ? r : strcmp(x->title, y->title);
}

static void pick_done(struct pick *p)
{
    if (p->pending > 0)
        return;
    struct engine *e = p->e;
    if (p->failed) {
        finish(e, p->c, CMD_EOFFLINE, "the service did not answer the catalog request", NULL);
    } else {
        if (p->c->what == CMD_WHAT_ALL)
            qsort(p->t, p->n, sizeof(*p->t), by_album_order);
        if (p->n)
            clientdb_put_tracks(e->db, p->t, p->n);
        act(e, p->c, p->t, p->n);
    }
    clientdb_tracks_free(p->t, p->n);
    free(p->albums);
    free(p);
}

static void on_items(void *ctx, struct wire_msg *m);

static void browse(struct pick *p, uint8_t kind, uint64_t parent)
{
    struct svc_client *sc = svclink_client(p->e->link);
    p->pending++;
    svclink_expect(p->e->link, sc ? svc_client_browse(sc, kind, parent, 0, WIRE_MAX_ITEMS) : 0,
                   on_items, p);
}

static void walk_album(struct pick *p, const struct wire_item *album)
{
    p->albums = xrealloc(p->albums, (p->nalbums + 1) * sizeof(*p->albums));
    p->albums[p->nalbums++] = (struct album_artist){.album = album->id, .artist = album->parent};
    browse(p, WIRE_KIND_TRACK, album->id);
}

static void on_items(void *ctx, struct wire_msg *m)
{
    struct pick *p = ctx;
    p->pending--;
    if (!m || m->type != WIRE_ITEMS) {
        p->failed = true;
    } else {
        for (uint32_t i = 0; i < m->u.items.count && !p->failed; i++) {
            struct wire_item *it = &m->u.items.items[i];
            if (p->c->what == CMD_WHAT_ALL && it->kind == WIRE_KIND_ARTIST)
                browse(p, WIRE_KIND_ALBUM, it->id);
            else if (p->c->what == CMD_WHAT_ALL && it->kind == WIRE_KIND_ALBUM)
                walk_album(p, it);
            else
                pick_add(p, it);
        }
    }
    pick_done(p);
}

/* The query a command names (playlist add keeps the playlist in text). */
static const char *query_of(const struct cmd *c)
{
    return c->id == CMD_PLAYLIST_ADD ? c->text2 : c->text;
}

/* Finds what c names and calls act() with it (now or when the catalog
 * answers). */
static void resolve(struct engine *e, struct cmd *c)
{
    struct svc_client *sc = svclink_client(e->link);
    if (c->what == CMD_WHAT_TRACK) {
        struct clientdb_track t = {0};
        if (clientdb_get_track(e->db, c->track_id, &t) < 0) {
            char *text = xasprintf("no track #%llu known here (search for it first)",
                                   (unsigned long long)c->track_id);
            finish(e, c, CMD_EUNKNOWN, text, NULL);
            free(text);
            return;
        }
        act(e, c, &t, 1);
        clientdb_track_clear(&t);
        return;
    }
    if (!sc) {
        /* offline: what chorus.db holds keys for */
        struct clientdb_track *t = NULL;
        size_t n = 0;
        clientdb_playable_tracks(e->db, c->what == CMD_WHAT_QUERY ? query_of(c) : NULL, 0, &t, &n);
        act(e, c, t, n);
        clientdb_tracks_free(t, n);
        return;
    }
    struct pick *p = xcalloc(1, sizeof(*p));
    p->e = e;
    p->c = c;
    if (c->what == CMD_WHAT_ALL) {
        browse(p, WIRE_KIND_ARTIST, 0);
    } else {
        p->pending++;
        svclink_expect(e->link, svc_client_search(sc, query_of(c), WIRE_MAX_ITEMS), on_items, p);
    }
}

static uint64_t *ids_of(const struct clientdb_track *t, size_t n)
{
    uint64_t *ids = xcalloc(n ? n : 1, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ids[i] = t[i].id;
    return ids;
}

static void act(struct engine *e, struct cmd *c, const struct clientdb_track *t, size_t n)
{
    if (c->id == CMD_SEARCH) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, track_json(&t[i]));
        finish(e, c, 0, NULL, a);
        return;
    }
    if (n == 0) {
        finish(e, c, CMD_EEMPTY, c->what == CMD_WHAT_QUERY ? "nothing matches" : "no tracks", NULL);
        return;
    }
    uint64_t *ids = ids_of(t, n);
    int rc = 0;
    switch (c->id) {
    case CMD_PLAY:
        queue_replace(e->queue, ids, n);
        if (queue_shuffle(e->queue))
            queue_set_shuffle(e->queue, true); /* a new order for the new list */
        rc = engine_play_cursor(e, 0);
        engine_queue_changed(e);
        break;
    case CMD_QUEUE_ADD:
        queue_add(e->queue, ids, n);
        engine_queue_changed(e);
        break;
    case CMD_QUEUE_INSERT:
        rc = queue_insert(e->queue, (size_t)c->a, ids, n) < 0 ? CMD_EUNKNOWN : 0;
        engine_queue_changed(e);
        break;
    case CMD_PLAYLIST_ADD:
        rc = clientdb_playlist_add(e->db, c->text, ids, n);
        if (rc == 0) {
            engine_keep_sync(e);
            mq_post_event(e->mq, mq_msg_new(MQ_EV_PLAYLISTS_CHANGED));
        }
        break;
    default:
        break;
    }
    free(ids);
    char msg[64];
    snprintf(msg, sizeof(msg), "%zu track%s", n, n == 1 ? "" : "s");
    finish(e, c, rc, rc < 0 ? NULL : msg, NULL);
}

/* ---- playback ---- */

static int64_t position_now(struct engine *e)
{
    struct mq_snapshot *s = xmalloc(sizeof(*s));
    engine_current_snapshot(e, s);
    int64_t pos = s->position_ms;
    free(s);
    return pos;
}

static int do_resume(struct engine *e)
{
    if (e->state == MQ_PAUSED) {
        player_resume(e->player);
        e->state = MQ_BUFFERING; /* the next tick says playing once it is heard */
        mq_post_event(e->mq, mq_msg_new_num(MQ_EV_STATE, MQ_PLAYING, 0));
        return 0;
    }
    if (e->state == MQ_STOPPED)
        return engine_play_cursor(e, e->cur.valid ? e->cur.start_ms : 0);
    return 0;
}

static int do_pause(struct engine *e)
{
    if (e->state == MQ_PLAYING || e->state == MQ_BUFFERING) {
        player_pause(e->player);
        e->state = MQ_PAUSED;
        mq_post_event(e->mq, mq_msg_new_num(MQ_EV_STATE, MQ_PAUSED, 0));
    }
    return 0;
}

static int do_seek(struct engine *e, int64_t ms, bool relative)
{
    if (e->state == MQ_STOPPED) {
        if (!e->cur.valid)
            return CMD_EEMPTY;
        e->cur.start_ms = relative ? e->cur.start_ms + ms : ms;
        if (e->cur.start_ms < 0)
            e->cur.start_ms = 0;
        return 0;
    }
    player_seek(e->player, ms, relative);
    return 0;
}

static int do_skip(struct engine *e, bool forward)
{
    long pos;
    if (!forward && position_now(e) > 3000)
        return do_seek(e, 0, false); /* as players do: prev restarts a track first */
    pos = forward ? queue_advance(e->queue) : queue_prev(e->queue);
    if (pos < 0) {
        if (forward)
            engine_stop_playback(e);
        engine_queue_changed(e);
        return forward ? 0 : CMD_EEMPTY;
    }
    int rc = engine_play_cursor(e, 0);
    engine_queue_changed(e);
    return rc;
}

/* queue play POS: a jump, as `next` makes one (shuffled, a new round
 * starts from the track). */
static int do_queue_play(struct engine *e, int64_t pos)
{
    if (pos < 0 || (uint64_t)pos >= queue_len(e->queue))
        return CMD_EUNKNOWN;
    queue_set_cursor(e->queue, (long)pos);
    int rc = engine_play_cursor(e, 0);
    engine_queue_changed(e);
    return rc;
}

/* ---- lists ---- */

static json_t *queue_json(struct engine *e)
{
    json_t *a = json_array();
    long cur = queue_cursor(e->queue);
    for (size_t i = 0; i < queue_len(e->queue); i++) {
        struct clientdb_track t = {0};
        uint64_t id = queue_at(e->queue, i);
        json_t *o;
        if (clientdb_get_track(e->db, id, &t) == 0) {
            o = track_json(&t);
        } else {
            o = json_object();
            json_object_set_new(o, "id", json_integer((json_int_t)id));
        }
        json_object_set_new(o, "position", json_integer((json_int_t)i + 1));
        json_object_set_new(o, "current", json_boolean((long)i == cur));
        json_array_append_new(a, o);
        clientdb_track_clear(&t);
    }
    return a;
}

static json_t *playlists_json(struct engine *e, const char *name, int *rc)
{
    json_t *a = json_array();
    if (name) {
        uint64_t *ids = NULL;
        size_t n = 0;
        if ((*rc = clientdb_playlist_tracks(e->db, name, &ids, &n)) == 0) {
            for (size_t i = 0; i < n; i++) {
                struct clientdb_track t = {0};
                json_t *o =
                    clientdb_get_track(e->db, ids[i], &t) == 0 ? track_json(&t) : json_object();
                json_object_set_new(o, "position", json_integer((json_int_t)i + 1));
                json_array_append_new(a, o);
                clientdb_track_clear(&t);
            }
        }
        free(ids);
        return a;
    }
    struct clientdb_playlist *p = NULL;
    size_t n = 0;
    *rc = clientdb_playlists(e->db, &p, &n);
    for (size_t i = 0; i < n; i++) {
        struct engine_keep_count kc;
        engine_keep_count(e, p[i].name, &kc);
        json_t *o = json_object();
        json_object_set_new(o, "name", text_json(p[i].name));
        json_object_set_new(o, "tracks", json_integer((json_int_t)p[i].count));
        json_object_set_new(o, "keep_offline", json_boolean(p[i].keep_offline));
        json_object_set_new(o, "cached", json_integer((json_int_t)kc.cached));
        json_array_append_new(a, o);
    }
    clientdb_playlists_free(p, n);
    return a;
}

static int playlist_load(struct engine *e, const char *name)
{
    uint64_t *ids = NULL;
    size_t n = 0;
    int rc = clientdb_playlist_tracks(e->db, name, &ids, &n);
    if (rc == 0) {
        engine_stop_playback(e);
        queue_replace(e->queue, ids, n);
        engine_load_current(e, queue_cursor(e->queue));
        engine_queue_changed(e);
    }
    free(ids);
    return rc;
}

/* browse offline: artists, albums and tracks of what chorus.db can play */
static json_t *browse_offline(struct engine *e, const struct cmd *c)
{
    struct clientdb_track *t = NULL;
    size_t n = 0;
    clientdb_playable_tracks(e->db, NULL, 0, &t, &n);
    json_t *a = json_array();
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (c->a == CMD_BROWSE_TRACKS) {
            if ((uint64_t)c->b == t[i].album_id)
                json_array_append_new(a, track_json(&t[i]));
            continue;
        }
        const char *name = c->a == CMD_BROWSE_ALBUMS ? t[i].album : t[i].artist;
        if (c->a == CMD_BROWSE_ALBUMS && (uint64_t)c->b != t[i].artist_id)
            continue;
        if (last && strcmp(last, name) == 0)
            continue;
        last = name;
        json_t *o = json_object();
        json_object_set_new(
            o, "id",
            json_integer((json_int_t)(c->a == CMD_BROWSE_ALBUMS ? t[i].album_id : t[i].artist_id)));
        json_object_set_new(o, "title", text_json(name));
        json_array_append_new(a, o);
    }
    clientdb_tracks_free(t, n);
    return a;
}

static void on_browse(void *ctx, struct wire_msg *m)
{
    struct pick *p = ctx;
    if (!m || m->type != WIRE_ITEMS) {
        finish(p->e, p->c, CMD_EOFFLINE, "the service did not answer", NULL);
        free(p);
        return;
    }
    json_t *a = json_array();
    for (uint32_t i = 0; i < m->u.items.count; i++) {
        struct wire_item *it = &m->u.items.items[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer((json_int_t)it->id));
        json_object_set_new(o, "kind",
                            json_string(it->kind == WIRE_KIND_ARTIST  ? "artist"
                                        : it->kind == WIRE_KIND_ALBUM ? "album"
                                                                      : "track"));
        json_object_set_new(o, "title", text_json(it->title));
        json_object_set_new(o, "artist", text_json(it->artist));
        if (it->kind == WIRE_KIND_TRACK) { /* as offline answers have them */
            json_object_set_new(o, "album", text_json(it->album));
            json_object_set_new(o, "number", json_integer(it->number));
            json_object_set_new(o, "duration", json_real(it->duration_ms / 1000.0));
        }
        json_array_append_new(a, o);
        pick_add(p, it);
    }
    if (p->n)
        clientdb_put_tracks(p->e->db, p->t, p->n);
    clientdb_tracks_free(p->t, p->n);
    finish(p->e, p->c, 0, NULL, a);
    free(p);
}

static void do_browse(struct engine *e, struct cmd *c)
{
    struct svc_client *sc = svclink_client(e->link);
    if (!sc) {
        finish(e, c, 0, NULL, browse_offline(e, c));
        return;
    }
    static const uint8_t kinds[] = {[CMD_BROWSE_ARTISTS] = WIRE_KIND_ARTIST,
                                    [CMD_BROWSE_ALBUMS] = WIRE_KIND_ALBUM,
                                    [CMD_BROWSE_TRACKS] = WIRE_KIND_TRACK};
    struct pick *p = xcalloc(1, sizeof(*p));
    p->e = e;
    p->c = c;
    svclink_expect(e->link, svc_client_browse(sc, kinds[c->a], (uint64_t)c->b, 0, WIRE_MAX_ITEMS),
                   on_browse, p);
}

static int playlist_op(struct engine *e, struct cmd *c)
{
    int rc;
    switch (c->id) {
    case CMD_PLAYLIST_CREATE:
        rc = clientdb_playlist_create(e->db, c->text);
        break;
    case CMD_PLAYLIST_RENAME:
        rc = clientdb_playlist_rename(e->db, c->text, c->text2);
        break;
    case CMD_PLAYLIST_DELETE:
        rc = clientdb_playlist_delete(e->db, c->text);
        break;
    case CMD_PLAYLIST_REMOVE:
        rc = clientdb_playlist_remove(e->db, c->text, (size_t)c->a);
        break;
    default: /* CMD_PLAYLIST_MOVE */
        rc = clientdb_playlist_move(e->db, c->text, (size_t)c->a, (size_t)c->b);
        break;
    }
    if (rc == 0) {
        if (c->id == CMD_PLAYLIST_DELETE || c->id == CMD_PLAYLIST_REMOVE)
            engine_keep_sync(e); /* its tracks may be kept no more */
        mq_post_event(e->mq, mq_msg_new(MQ_EV_PLAYLISTS_CHANGED));
    }
    return rc == CLIENTDB_EEXISTS                              ? CMD_EEXISTS
           : rc == CLIENTDB_ENOTFOUND || rc == CLIENTDB_EINVAL ? CMD_EUNKNOWN
                                                               : rc;
}

/* "keeping 'Mix' offline: 3 of 5 tracks cached, fetching 2" */
static char *keep_message(struct engine *e, const char *name, bool keep,
                          const struct engine_keep_count *n)
{
    if (!keep && n->cached == 0)
        return xasprintf("not keeping '%s' offline", name);
    if (!keep)
        return xasprintf("not keeping '%s' offline: its %zu cached track%s may be evicted", name,
                         n->cached, n->cached == 1 ? "" : "s");
    size_t missing = n->tracks - n->cached - n->no_file;
    char fetching[96] = "", no_file[64] = "";
    if (missing && e->keep.full)
        snprintf(fetching, sizeof(fetching), ", %zu not: the cache is full", missing);
    else if (missing && svclink_client(e->link))
        snprintf(fetching, sizeof(fetching), ", fetching %zu", missing);
    else if (missing)
        snprintf(fetching, sizeof(fetching), ", %zu to fetch when the service is back", missing);
    if (n->no_file)
        snprintf(no_file, sizeof(no_file), " (%zu with no audio file)", n->no_file);
    return xasprintf("keeping '%s' offline: %zu of %zu track%s cached%s%s", name, n->cached,
                     n->tracks, n->tracks == 1 ? "" : "s", fetching, no_file);
}

/* playlist keep NAME [on|off]: the flag in chorus.db, then the pins and
 * downloads that follow it. */
static void do_keep(struct engine *e, struct cmd *c)
{
    bool was = false;
    int rc = clientdb_playlist_get_keep(e->db, c->text, &was);
    bool keep = c->a == CMD_FLIP ? !was : c->a == CMD_ON;
    if (rc == 0 && keep != was && (rc = clientdb_playlist_set_keep(e->db, c->text, keep)) == 0)
        mq_post_event(e->mq, mq_msg_new(MQ_EV_PLAYLISTS_CHANGED));
    if (rc == 0 && (keep || was))
        engine_keep_sync(e); /* on again: also tries again what failed (a full cache) */
    struct engine_keep_count n;
    if (rc == 0)
        rc = engine_keep_count(e, c->text, &n);
    if (rc < 0) {
        finish(e, c, rc == CLIENTDB_ENOTFOUND ? CMD_EUNKNOWN : rc, NULL, NULL);
        return;
    }
    char *msg = keep_message(e, c->text, keep, &n);
    finish(e, c, 0, msg, NULL);
    free(msg);
}

/* ---- the dispatcher ---- */

void engine_exec(struct engine *e, struct cmd *c)
{
    if (e->stopping) {
        finish(e, c, CMD_EBUSY, NULL, NULL);
        return;
    }
    const struct cmd_def *def = cmd_def_of(c->id);
    if (def && (def->flags & CMD_F_UI)) {
        char *msg =
            xasprintf("'%s' is a command of the TUI; the engine does not run it", def->name);
        finish(e, c, CMD_EUSAGE, msg, NULL);
        free(msg);
        return;
    }
    int rc = 0;
    json_t *data = NULL;
    switch (c->id) {
    case CMD_PLAY:
    case CMD_QUEUE_ADD:
    case CMD_QUEUE_INSERT:
    case CMD_PLAYLIST_ADD:
    case CMD_SEARCH:
        if (c->id == CMD_SEARCH)
            c->what = CMD_WHAT_QUERY;
        resolve(e, c);
        return;
    case CMD_BROWSE:
        do_browse(e, c);
        return;
    case CMD_PAUSE:
        rc = do_pause(e);
        break;
    case CMD_RESUME:
        rc = do_resume(e);
        break;
    case CMD_TOGGLE:
        rc = e->state == MQ_PAUSED || e->state == MQ_STOPPED ? do_resume(e) : do_pause(e);
        break;
    case CMD_STOP:
        if (e->cur.valid)
            e->cur.start_ms = 0;
        engine_stop_playback(e);
        break;
    case CMD_NEXT:
    case CMD_PREV:
        rc = do_skip(e, c->id == CMD_NEXT);
        break;
    case CMD_SEEK:
        rc = do_seek(e, c->a, c->relative);
        break;
    case CMD_VOLUME:
        engine_set_volume(e, (int)(c->relative ? e->volume + c->a : c->a));
        break;
    case CMD_QUEUE_REMOVE: {
        bool playing_it = c->a == queue_cursor(e->queue) && e->state != MQ_STOPPED;
        rc = queue_remove(e->queue, (size_t)c->a) < 0 ? CMD_EUNKNOWN : 0;
        if (rc == 0 && playing_it)
            rc = engine_play_cursor(e, 0);
        engine_queue_changed(e);
        break;
    }
    case CMD_QUEUE_PLAY:
        rc = do_queue_play(e, c->a);
        break;
    case CMD_QUEUE_MOVE:
        rc = queue_move(e->queue, (size_t)c->a, (size_t)c->b) < 0 ? CMD_EUNKNOWN : 0;
        engine_queue_changed(e);
        break;
    case CMD_QUEUE_CLEAR:
        engine_stop_playback(e);
        queue_clear(e->queue);
        engine_load_current(e, -1);
        engine_queue_changed(e);
        break;
    case CMD_QUEUE_LIST:
        data = queue_json(e);
        break;
    case CMD_REPEAT:
        queue_set_repeat(e->queue, c->a == CMD_REPEAT_CYCLE
                                       ? (enum queue_repeat)((queue_repeat(e->queue) + 1) % 3)
                                       : (enum queue_repeat)c->a);
        engine_queue_changed(e);
        break;
    case CMD_SHUFFLE:
        queue_set_shuffle(e->queue, c->a == CMD_FLIP ? !queue_shuffle(e->queue) : c->a == CMD_ON);
        engine_queue_changed(e);
        break;
    case CMD_PLAYLIST_CREATE:
    case CMD_PLAYLIST_RENAME:
    case CMD_PLAYLIST_DELETE:
    case CMD_PLAYLIST_REMOVE:
    case CMD_PLAYLIST_MOVE:
        rc = playlist_op(e, c);
        break;
    case CMD_PLAYLIST_LOAD:
        rc = playlist_load(e, c->text);
        rc = rc == CLIENTDB_ENOTFOUND ? CMD_EUNKNOWN : rc;
        break;
    case CMD_PLAYLIST_KEEP:
        do_keep(e, c);
        return;
    case CMD_PLAYLIST_LIST:
        data = playlists_json(e, c->text, &rc);
        rc = rc == CLIENTDB_ENOTFOUND ? CMD_EUNKNOWN : rc;
        break;
    case CMD_STATUS:
    case CMD_PEERS: {
        struct mq_snapshot *s = xmalloc(sizeof(*s));
        engine_current_snapshot(e, s);
        data = c->id == CMD_STATUS ? remote_status_json(s) : remote_peers_json(s);
        free(s);
        break;
    }
    case CMD_QUIT:
        finish(e, c, 0, "stopping", NULL);
        engine_begin_stop(e);
        return;
    default:
        rc = CMD_EUSAGE;
        break;
    }
    finish(e, c, rc, NULL, data);
}
