/* model_results: the engine's answers to the lines the TUI sent
 * (model_on_result).
 *
 * Owns: turning the JSON of browse, playlist list, queue list and search
 * (as chorus remote --json prints it, chorus(1)) into the model's lists,
 * with each cursor kept on the item it was on; what a failed answer
 * leaves behind (the list shows the failure, or an edit the model made at
 * once is asked again); and the log lines about answers.
 *
 * Threads: the UI's only; pure but for the clock, read to date the log
 * lines about answers, which carry no time (ui/model_internal.h). */
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"
#include "model_internal.h"

/* ---- the log ---- */

/* A line about an answer: answers carry no time, so the clock's. */
static void log_answer(struct ui_model *m, bool error, const char *line, const char *message)
{
    model_log(m, error, (int64_t)time(NULL), "%s: %s", line, message);
}

static void log_failure(struct ui_model *m, const char *line, int status, const char *message)
{
    log_answer(m, true, line, message && *message ? message : cmd_strerror(status));
}

/* ---- JSON ---- */

static const char *json_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static uint64_t json_id(const json_t *o)
{
    json_int_t v = json_integer_value(json_object_get(o, "id"));
    return v > 0 ? (uint64_t)v : 0;
}

/* A track of any answer (track_json, or a browse item: id, title,
 * artist); album_title fills a missing album (NULL: ""). */
static void track_from_json(struct ui_track *t, const json_t *o, const char *album_title)
{
    const char *album = json_str(o, "album");
    json_t *number = json_object_get(o, "number");
    json_t *seconds = json_object_get(o, "duration");
    t->id = json_id(o);
    t->title = xstrdup(json_str(o, "title"));
    t->artist = xstrdup(json_str(o, "artist"));
    t->album = xstrdup(*album || !album_title ? album : album_title);
    t->number = json_is_integer(number) && json_integer_value(number) > 0
                    ? (int)json_integer_value(number)
                    : 0;
    t->duration_ms = json_is_number(seconds) && json_number_value(seconds) > 0
                         ? (int64_t)(json_number_value(seconds) * 1000.0 + 0.5)
                         : 0;
}

/* The tracks of a JSON array (NULL or not an array: none). */
static size_t tracks_from_json(const json_t *a, const char *album_title, struct ui_track **out)
{
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    *out = n ? xcalloc(n, sizeof(**out)) : NULL;
    for (size_t i = 0; i < n; i++)
        track_from_json(&(*out)[i], json_array_get(a, i), album_title);
    return n;
}

/* ---- row ids (model_keep) ---- */

static uint64_t track_id_at(const void *list, size_t i)
{
    return ((const struct ui_track *)list)[i].id;
}

static uint64_t queue_id_at(const void *list, size_t i)
{
    return ((const struct ui_queue_row *)list)[i].t.id;
}

/* ---- the lists ---- */

/* The album's title from its artist's album list (NULL: unknown). */
static const char *album_title(const struct ui_model *m, uint64_t album_id)
{
    for (size_t i = 0; i < m->nartists; i++)
        for (size_t j = 0; j < m->artists[i].nalbums; j++)
            if (m->artists[i].album_ids[j] == album_id)
                return m->artists[i].album_titles[j];
    return NULL;
}

static void got_artists(struct ui_model *m, const json_t *data)
{
    size_t n = json_is_array(data) ? json_array_size(data) : 0;
    struct ui_artist *a = n ? xcalloc(n, sizeof(*a)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(data, i);
        a[i].id = json_id(o);
        a[i].name = xstrdup(json_str(o, "title"));
        /* what was open and loaded stays so */
        struct ui_artist *old = model_artist_find(m, a[i].id);
        if (old) {
            a[i].expanded = old->expanded;
            a[i].albums_state = old->albums_state;
            a[i].album_ids = old->album_ids;
            a[i].album_titles = old->album_titles;
            a[i].nalbums = old->nalbums;
            old->album_ids = NULL;
            old->album_titles = NULL;
            old->nalbums = 0;
        }
    }
    model_artists_free(m->artists, m->nartists);
    m->artists = a;
    m->nartists = n;
    m->artists_state = UI_LOADED;
    model_lib_rows_build(m);
}

static void got_albums(struct ui_model *m, uint64_t artist_id, const json_t *data)
{
    struct ui_artist *a = model_artist_find(m, artist_id);
    if (!a)
        return;
    struct model_mark right = model_lib_right_mark(m);
    model_artist_albums_clear(a);
    size_t n = json_is_array(data) ? json_array_size(data) : 0;
    a->album_ids = xcalloc(n ? n : 1, sizeof(*a->album_ids));
    a->album_titles = xcalloc(n ? n : 1, sizeof(*a->album_titles));
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(data, i);
        a->album_ids[i] = json_id(o);
        a->album_titles[i] = xstrdup(json_str(o, "title"));
    }
    a->nalbums = n;
    a->albums_state = UI_LOADED;
    model_lib_rows_build(m);
    model_lib_right_keep(m, right);
}

static void got_album_tracks(struct ui_model *m, uint64_t album_id, const json_t *data)
{
    struct model_mark right = model_lib_right_mark(m);
    struct ui_album_tracks *a = model_album_get(m, album_id);
    model_tracks_free(a->tracks, a->n);
    a->n = tracks_from_json(data, album_title(m, album_id), &a->tracks);
    a->state = UI_LOADED;
    model_lib_right_keep(m, right);
}

static void got_playlists(struct ui_model *m, const json_t *data)
{
    const struct ui_playlist *shown = model_playlist_shown(m);
    char *was = shown ? xstrdup(shown->name) : NULL;
    size_t n = json_is_array(data) ? json_array_size(data) : 0;
    struct ui_playlist *p = n ? xcalloc(n, sizeof(*p)) : NULL;
    size_t row = m->pl_left.cursor;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(data, i);
        json_int_t count = json_integer_value(json_object_get(o, "tracks"));
        p[i].name = xstrdup(json_str(o, "name"));
        p[i].count = count > 0 ? (size_t)count : 0;
        p[i].keep_offline = json_is_true(json_object_get(o, "keep_offline"));
        /* tracks loaded stay until asked again */
        struct ui_playlist *old = model_playlist_find(m, p[i].name);
        if (old) {
            p[i].tracks_state = old->tracks_state;
            p[i].tracks = old->tracks;
            p[i].ntracks = old->ntracks;
            old->tracks = NULL;
            old->ntracks = 0;
        }
        if (was && strcmp(was, p[i].name) == 0)
            row = i;
    }
    model_playlists_free(m->playlists, m->nplaylists);
    m->playlists = p;
    m->nplaylists = n;
    m->playlists_state = UI_LOADED;
    m->pl_left.cursor = row;
    model_scroll_fit(m, &m->pl_left, n);
    shown = model_playlist_shown(m);
    if (!shown || !was || strcmp(was, shown->name) != 0)
        m->pl_right = (struct ui_scroll){0};
    free(was);
}

static void got_playlist_tracks(struct ui_model *m, const char *name, const json_t *data)
{
    struct ui_playlist *p = model_playlist_find(m, name);
    if (!p)
        return; /* deleted since, or not listed yet */
    bool shown = p == model_playlist_shown(m);
    struct model_mark mark = model_mark(&m->pl_right, p->tracks, p->ntracks, track_id_at);
    model_playlist_tracks_clear(p);
    p->ntracks = tracks_from_json(data, NULL, &p->tracks);
    p->count = p->ntracks;
    p->tracks_state = UI_LOADED;
    if (shown)
        model_keep(m, &m->pl_right, p->tracks, p->ntracks, track_id_at, mark);
}

static void got_queue(struct ui_model *m, const json_t *data)
{
    struct model_mark mark = model_mark(&m->queue_scroll, m->queue, m->nqueue, queue_id_at);
    size_t n = json_is_array(data) ? json_array_size(data) : 0;
    struct ui_queue_row *q = n ? xcalloc(n, sizeof(*q)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(data, i);
        track_from_json(&q[i].t, o, NULL);
        q[i].current = json_is_true(json_object_get(o, "current"));
    }
    model_queue_free(m->queue, m->nqueue);
    m->queue = q;
    m->nqueue = n;
    m->queue_state = UI_LOADED;
    model_keep(m, &m->queue_scroll, q, n, queue_id_at, mark);
}

/* An answer to a search other than the latest one asked is dropped. */
static bool search_is_latest(const struct ui_model *m, const char *query)
{
    return !m->search_query || m->results_state != UI_LOADING ||
           strcmp(m->search_query, query) == 0;
}

static void got_results(struct ui_model *m, const char *query, const json_t *data)
{
    if (!search_is_latest(m, query))
        return;
    struct model_mark mark = model_mark(&m->search_scroll, m->results, m->nresults, track_id_at);
    free(m->search_query);
    m->search_query = xstrdup(query);
    model_tracks_free(m->results, m->nresults);
    m->nresults = tracks_from_json(data, NULL, &m->results);
    m->results_state = UI_LOADED;
    model_keep(m, &m->search_scroll, m->results, m->nresults, track_id_at, mark);
}

static void got_browse(struct ui_model *m, const struct cmd *c, const json_t *data)
{
    if (c->a == CMD_BROWSE_ARTISTS)
        got_artists(m, data);
    else if (c->a == CMD_BROWSE_ALBUMS)
        got_albums(m, (uint64_t)c->b, data);
    else
        got_album_tracks(m, (uint64_t)c->b, data);
}

/* ---- failures ---- */

/* A list's answer failed: what it was for shows the failure. */
static void browse_failed(struct ui_model *m, const struct cmd *c)
{
    if (c->a == CMD_BROWSE_ARTISTS) {
        m->artists_state = UI_LOAD_FAILED;
    } else if (c->a == CMD_BROWSE_ALBUMS) {
        struct ui_artist *a = model_artist_find(m, (uint64_t)c->b);
        if (a)
            a->albums_state = UI_LOAD_FAILED;
    } else {
        model_album_get(m, (uint64_t)c->b)->state = UI_LOAD_FAILED;
    }
}

/* The queue or a playlist may differ from what this model shows after a
 * command the engine refused (the model edits its rows at once): they are
 * asked again. */
static void edit_failed(struct ui_model *m, const struct cmd *c)
{
    switch (c->id) {
    case CMD_QUEUE_REMOVE:
    case CMD_QUEUE_MOVE:
        model_again(m, "queue list");
        break;
    case CMD_PLAYLIST_REMOVE:
    case CMD_PLAYLIST_MOVE:
    case CMD_PLAYLIST_DELETE:
    case CMD_PLAYLIST_KEEP:
        model_again(m, "playlist list");
        model_again_playlist(m, c->text);
        break;
    default:
        break;
    }
}

static void result_failed(struct ui_model *m, const char *line, const struct cmd *c, int status,
                          const char *message)
{
    switch (c->id) {
    case CMD_BROWSE:
        browse_failed(m, c);
        break;
    case CMD_PLAYLIST_LIST:
        if (!c->text) {
            m->playlists_state = UI_LOAD_FAILED;
        } else {
            struct ui_playlist *p = model_playlist_find(m, c->text);
            if (p)
                p->tracks_state = UI_LOAD_FAILED;
        }
        break;
    case CMD_QUEUE_LIST:
        m->queue_state = UI_LOAD_FAILED;
        break;
    case CMD_SEARCH:
        if (m->search_query && strcmp(m->search_query, c->text) == 0)
            m->results_state = UI_LOAD_FAILED;
        break;
    default:
        edit_failed(m, c);
        break;
    }
    log_failure(m, line, status, message);
}

/* ---- model_on_result ---- */

static void result_ok(struct ui_model *m, const char *line, const struct cmd *c,
                      const char *message, const json_t *data)
{
    switch (c->id) {
    case CMD_BROWSE:
        got_browse(m, c, data);
        break;
    case CMD_PLAYLIST_LIST:
        if (c->text)
            got_playlist_tracks(m, c->text, data);
        else
            got_playlists(m, data);
        break;
    case CMD_QUEUE_LIST:
        got_queue(m, data);
        break;
    case CMD_SEARCH:
        got_results(m, c->text, data);
        break;
    default:
        if (message && *message)
            log_answer(m, false, line, message);
        break;
    }
}

void model_on_result(struct ui_model *m, const char *line, int status, const char *message,
                     const json_t *data)
{
    if (!line)
        return;
    model_answered(m, line);
    struct cmd *c = NULL;
    if (cmd_parse(line, &c, NULL) != 0) {
        if (status != 0)
            log_failure(m, line, status, message);
        else if (message && *message)
            log_answer(m, false, line, message);
        return;
    }
    if (status != 0)
        result_failed(m, line, c, status, message);
    else
        result_ok(m, line, c, message, data);
    cmd_free(c);
}
