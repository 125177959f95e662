/* model: what the TUI shows and what its keys make of it (ui/model.h).
 *
 * It owns every list the engine answered (library, playlists, queue,
 * search results), the log ring and the cursors, and turns the TUI's own
 * commands into engine command lines. It never talks to the engine:
 * tui.c sends the lines model_wants and model_action return and hands
 * back their answers (model_on_result) and the engine's events
 * (model_on_event).
 *
 * A list that changed in the engine is asked again while its old rows
 * stay on screen (the "again" set below), and a cursor stays on the same
 * item (track, artist, album, playlist) when a list is replaced. The
 * commands that edit the queue or a playlist also edit the rows here at
 * once, so that two keys pressed before the engine's answer act on the
 * rows the user sees; the engine's answer then replaces them.
 *
 * Find (search-start outside the search view, search-next/prev) works on
 * what each row shows, except in the peers view, whose row order
 * (views_peer_order) views.c owns.
 *
 * Threads: the UI's only. Never does I/O nor calls the engine; it reads
 * the clock only to date the log lines about answers (which carry no
 * time). */
#include "ui/model.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"

/* What model_names hands out: pointers into the model's own strings. */
enum { NAMES_TRACKS, NAMES_ARTISTS, NAMES_PLAYLISTS, NAMES_KINDS };

struct ui_model_internal {
    /* lines whose answer is on screen but out of date: asked again by
     * model_wants when what they answer is on screen */
    char **again;
    size_t nagain;
    int service; /* the last enum mq_service_state seen; -1: none yet */
    bool names_stale;
    const char **names[NAMES_KINDS];
    size_t nnames[NAMES_KINDS];
};

/* ---- arrays of owned strings (asked, again, the lines returned) ---- */

static void strv_push(char ***v, size_t *n, char *owned)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = owned;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* Adds a copy of s unless it is there. */
static void strv_add(char ***v, size_t *n, const char *s)
{
    if (!strv_has(*v, *n, s))
        strv_push(v, n, xstrdup(s));
}

static bool strv_remove(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*v)[i], s) == 0) {
            free((*v)[i]);
            memmove(&(*v)[i], &(*v)[i + 1], (*n - i - 1) * sizeof(**v));
            (*n)--;
            return true;
        }
    }
    return false;
}

static void strv_free(char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (len < 0)
        return xstrdup(fmt);
    char *s = xmalloc((size_t)len + 1);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    return s;
}

/* -1 with *error set: what model_action answers when it cannot act. */
__attribute__((format(printf, 2, 3))) static long fail(char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error = vformat(fmt, ap);
    va_end(ap);
    return -1;
}

/* Case-insensitive (ASCII) "hay contains needle". */
static bool contains(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

/* ---- tracks ---- */

static void track_clear(struct ui_track *t)
{
    free(t->title);
    free(t->artist);
    free(t->album);
}

static void tracks_free(struct ui_track *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        track_clear(&t[i]);
    free(t);
}

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

static bool track_shows(const struct ui_track *t, const char *text)
{
    return contains(t->title, text) || contains(t->artist, text) || contains(t->album, text);
}

/* Pointers to each of n tracks (the caller frees the array). */
static const struct ui_track **track_ptrs(const struct ui_track *t, size_t n)
{
    const struct ui_track **p = xcalloc(n ? n : 1, sizeof(*p));
    for (size_t i = 0; i < n; i++)
        p[i] = &t[i];
    return p;
}

/* ---- cursors ---- */

static size_t page_rows(const struct ui_model *m)
{
    return m->body_rows > 0 ? (size_t)m->body_rows : 1;
}

/* The cursor within [0, rows), and top such that the page of rows shown
 * from it holds the cursor and is as full as the list allows. */
static void scroll_fit(struct ui_scroll *s, size_t rows, size_t page)
{
    if (s->cursor >= rows)
        s->cursor = rows ? rows - 1 : 0;
    if (rows <= page)
        s->top = 0;
    else if (s->top > rows - page)
        s->top = rows - page;
    if (s->top > s->cursor)
        s->top = s->cursor;
    if (s->cursor >= s->top + page)
        s->top = s->cursor - page + 1;
}

/* Puts a list's cursor on row (clamped). The library's and the playlists'
 * right panes show what the left cursor is on, so they start over when it
 * moves; the log follows its newest line while the cursor is on it. */
static void cursor_set(struct ui_model *m, struct ui_scroll *s, size_t rows, size_t row)
{
    size_t before = s->cursor;
    s->cursor = row;
    scroll_fit(s, rows, page_rows(m));
    if (s == &m->lib_left && s->cursor != before)
        m->lib_right = (struct ui_scroll){0};
    if (s == &m->pl_left && s->cursor != before)
        m->pl_right = (struct ui_scroll){0};
    if (s == &m->log_scroll)
        m->log_follow = rows == 0 || s->cursor + 1 >= rows;
}

/* Where a cursor goes when its list is replaced: the row of the item it
 * was on (that row when it still holds it, else the item's first row),
 * else the row it was at (clamped by the caller). */
typedef uint64_t (*row_id_fn)(const void *list, size_t i);

static size_t row_keep(const void *list, size_t n, row_id_fn id_at, size_t old, bool had,
                       uint64_t id)
{
    if (!had)
        return old;
    if (old < n && id_at(list, old) == id)
        return old;
    for (size_t i = 0; i < n; i++)
        if (id_at(list, i) == id)
            return i;
    return old;
}

static uint64_t track_id_at(const void *list, size_t i)
{
    return ((const struct ui_track *)list)[i].id;
}

static uint64_t track_ptr_id_at(const void *list, size_t i)
{
    return ((const struct ui_track *const *)list)[i]->id;
}

static uint64_t queue_id_at(const void *list, size_t i)
{
    return ((const struct ui_queue_row *)list)[i].t.id;
}

/* ---- the log ---- */

static const struct ui_log_line *log_line(const struct ui_model *m, size_t i)
{
    return &m->log[(m->log_start + i) % UI_LOG_MAX];
}

static void log_push(struct ui_model *m, bool error, int64_t now, char *text)
{
    size_t slot;
    if (m->nlog < UI_LOG_MAX) {
        slot = (m->log_start + m->nlog++) % UI_LOG_MAX;
    } else {
        /* the oldest goes: the rows below it move up by one */
        slot = m->log_start;
        free(m->log[slot].text);
        m->log_start = (m->log_start + 1) % UI_LOG_MAX;
        if (!m->log_follow && m->log_scroll.cursor > 0)
            m->log_scroll.cursor--;
        if (m->log_scroll.top > 0)
            m->log_scroll.top--;
    }
    m->log[slot] = (struct ui_log_line){.text = text, .error = error, .when = now};
    if (m->log_follow)
        m->log_scroll.cursor = m->nlog - 1;
    scroll_fit(&m->log_scroll, m->nlog, page_rows(m));
}

void model_log(struct ui_model *m, bool error, int64_t now, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    log_push(m, error, now, text);
}

/* A line about an answer: answers carry no time, so the clock's. */
static void log_answer(struct ui_model *m, bool error, const char *line, const char *message)
{
    model_log(m, error, (int64_t)time(NULL), "%s: %s", line, message);
}

static void log_failure(struct ui_model *m, const char *line, int status, const char *message)
{
    log_answer(m, true, line, message && *message ? message : cmd_strerror(status));
}

/* ---- the library ---- */

static struct ui_artist *artist_find(const struct ui_model *m, uint64_t id)
{
    for (size_t i = 0; i < m->nartists; i++)
        if (m->artists[i].id == id)
            return &m->artists[i];
    return NULL;
}

static void artist_albums_clear(struct ui_artist *a)
{
    for (size_t i = 0; i < a->nalbums; i++)
        free(a->album_titles[i]);
    free(a->album_titles);
    free(a->album_ids);
    a->album_titles = NULL;
    a->album_ids = NULL;
    a->nalbums = 0;
}

static void artists_free(struct ui_artist *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].name);
        artist_albums_clear(&a[i]);
    }
    free(a);
}

static struct ui_album_tracks *album_find(const struct ui_model *m, uint64_t id)
{
    for (size_t i = 0; i < m->nalbums; i++)
        if (m->albums[i].album_id == id)
            return &m->albums[i];
    return NULL;
}

static struct ui_album_tracks *album_get(struct ui_model *m, uint64_t id)
{
    struct ui_album_tracks *a = album_find(m, id);
    if (a)
        return a;
    m->albums = xrealloc(m->albums, (m->nalbums + 1) * sizeof(*m->albums));
    a = &m->albums[m->nalbums++];
    *a = (struct ui_album_tracks){.album_id = id};
    return a;
}

/* The album's title from its artist's album list (NULL: unknown). */
static const char *album_title(const struct ui_model *m, uint64_t album_id)
{
    for (size_t i = 0; i < m->nartists; i++)
        for (size_t j = 0; j < m->artists[i].nalbums; j++)
            if (m->artists[i].album_ids[j] == album_id)
                return m->artists[i].album_titles[j];
    return NULL;
}

static const struct ui_lib_row *lib_row_under_cursor(const struct ui_model *m)
{
    return m->lib_left.cursor < m->nlib_rows ? &m->lib_rows[m->lib_left.cursor] : NULL;
}

static void lib_rows_free(struct ui_model *m)
{
    for (size_t i = 0; i < m->nlib_rows; i++)
        free(m->lib_rows[i].name);
    free(m->lib_rows);
    m->lib_rows = NULL;
    m->nlib_rows = 0;
}

static void lib_row_push(struct ui_model *m, bool is_album, uint64_t id, const char *name,
                         size_t owner)
{
    m->lib_rows = xrealloc(m->lib_rows, (m->nlib_rows + 1) * sizeof(*m->lib_rows));
    m->lib_rows[m->nlib_rows++] =
        (struct ui_lib_row){.is_album = is_album, .id = id, .name = xstrdup(name), .owner = owner};
}

/* The tracks the library's right pane shows, which are the tracks the
 * row under the left cursor stands for: its album's, or those of every
 * loaded album of its artist. Pointers into m (the caller frees the
 * array). */
static size_t lib_right_tracks(const struct ui_model *m, const struct ui_track ***out)
{
    const struct ui_lib_row *row = lib_row_under_cursor(m);
    const uint64_t *ids = row ? &row->id : NULL;
    size_t nids = row ? 1 : 0, n = 0;
    if (row && !row->is_album && row->owner < m->nartists) {
        ids = m->artists[row->owner].album_ids;
        nids = m->artists[row->owner].nalbums;
    }
    for (size_t i = 0; i < nids; i++) {
        const struct ui_album_tracks *a = album_find(m, ids[i]);
        n += a ? a->n : 0;
    }
    const struct ui_track **t = n ? xcalloc(n, sizeof(*t)) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < nids; i++) {
        const struct ui_album_tracks *a = album_find(m, ids[i]);
        for (size_t j = 0; a && j < a->n; j++)
            t[k++] = &a->tracks[j];
    }
    *out = t;
    return n;
}

/* The id of the track under the right pane's cursor (false: none). */
static bool lib_right_id(const struct ui_model *m, uint64_t *id)
{
    const struct ui_track **t;
    size_t n = lib_right_tracks(m, &t);
    bool had = m->lib_right.cursor < n;
    *id = had ? t[m->lib_right.cursor]->id : 0;
    free(t);
    return had;
}

/* After the right pane's tracks changed: its cursor back on the track. */
static void lib_right_keep(struct ui_model *m, bool had, uint64_t id)
{
    const struct ui_track **t;
    size_t n = lib_right_tracks(m, &t);
    m->lib_right.cursor = row_keep(t, n, track_ptr_id_at, m->lib_right.cursor, had, id);
    scroll_fit(&m->lib_right, n, page_rows(m));
    free(t);
}

/* Rebuilds the left pane (artists, and the albums of the expanded ones)
 * with the cursor on the row it was on when that row is still there. */
static void lib_rows_build(struct ui_model *m)
{
    const struct ui_lib_row *was = lib_row_under_cursor(m);
    bool had = was != NULL, was_album = was && was->is_album;
    uint64_t was_id = was ? was->id : 0;
    lib_rows_free(m);
    size_t row = m->lib_left.cursor;
    bool found = false;
    for (size_t i = 0; i < m->nartists; i++) {
        const struct ui_artist *a = &m->artists[i];
        if (had && !found && !was_album && a->id == was_id) {
            row = m->nlib_rows;
            found = true;
        }
        lib_row_push(m, false, a->id, a->name, i);
        for (size_t j = 0; a->expanded && j < a->nalbums; j++) {
            if (had && !found && was_album && a->album_ids[j] == was_id) {
                row = m->nlib_rows;
                found = true;
            }
            lib_row_push(m, true, a->album_ids[j], a->album_titles[j], i);
        }
    }
    m->lib_left.cursor = row;
    scroll_fit(&m->lib_left, m->nlib_rows, page_rows(m));
    if (!found)
        m->lib_right = (struct ui_scroll){0};
}

/* ---- playlists ---- */

static void playlist_tracks_clear(struct ui_playlist *p)
{
    tracks_free(p->tracks, p->ntracks);
    p->tracks = NULL;
    p->ntracks = 0;
}

static void playlists_free(struct ui_playlist *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        playlist_tracks_clear(&p[i]);
    }
    free(p);
}

static struct ui_playlist *playlist_find(const struct ui_model *m, const char *name)
{
    for (size_t i = 0; i < m->nplaylists; i++)
        if (strcmp(m->playlists[i].name, name) == 0)
            return &m->playlists[i];
    return NULL;
}

/* The playlist under the left cursor, whose tracks the right pane shows. */
static struct ui_playlist *playlist_shown(const struct ui_model *m)
{
    return m->pl_left.cursor < m->nplaylists ? &m->playlists[m->pl_left.cursor] : NULL;
}

/* "words NAME tail", the name quoted for cmd_parse. */
static char *playlist_line(const char *words, const char *name, const char *tail)
{
    char *quoted = cmd_quote(name);
    char *line = xasprintf("%s %s%s", words, quoted, tail);
    free(quoted);
    return line;
}

/* ---- the queue ---- */

static void queue_free(struct ui_queue_row *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        track_clear(&q[i].t);
    free(q);
}

/* ---- names (model_names) ---- */

static void touch(struct ui_model *m)
{
    if (m->internal)
        m->internal->names_stale = true;
}

static void names_add(struct ui_model_internal *in, int kind, const char *name)
{
    if (!name || !*name)
        return;
    in->names[kind] = xrealloc(in->names[kind], (in->nnames[kind] + 1) * sizeof(*in->names[kind]));
    in->names[kind][in->nnames[kind]++] = name;
}

static void names_add_tracks(struct ui_model_internal *in, const struct ui_track *t, size_t n,
                             size_t stride)
{
    for (size_t i = 0; i < n; i++) {
        const struct ui_track *one = (const void *)((const char *)t + i * stride);
        names_add(in, NAMES_TRACKS, one->title);
        names_add(in, NAMES_ARTISTS, one->artist);
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, each name once. */
static void names_unique(const char **v, size_t *n)
{
    if (*n == 0)
        return;
    qsort(v, *n, sizeof(*v), name_cmp);
    size_t kept = 1;
    for (size_t i = 1; i < *n; i++)
        if (strcmp(v[i], v[kept - 1]) != 0)
            v[kept++] = v[i];
    *n = kept;
}

static void names_rebuild(const struct ui_model *m, struct ui_model_internal *in)
{
    for (int k = 0; k < NAMES_KINDS; k++) {
        free(in->names[k]);
        in->names[k] = NULL;
        in->nnames[k] = 0;
    }
    for (size_t i = 0; i < m->nartists; i++)
        names_add(in, NAMES_ARTISTS, m->artists[i].name);
    for (size_t i = 0; i < m->nalbums; i++)
        names_add_tracks(in, m->albums[i].tracks, m->albums[i].n, sizeof(struct ui_track));
    for (size_t i = 0; i < m->nplaylists; i++) {
        names_add(in, NAMES_PLAYLISTS, m->playlists[i].name);
        names_add_tracks(in, m->playlists[i].tracks, m->playlists[i].ntracks,
                         sizeof(struct ui_track));
    }
    if (m->nqueue)
        names_add_tracks(in, &m->queue[0].t, m->nqueue, sizeof(struct ui_queue_row));
    names_add_tracks(in, m->results, m->nresults, sizeof(struct ui_track));
    for (int k = 0; k < NAMES_KINDS; k++)
        names_unique(in->names[k], &in->nnames[k]);
    in->names_stale = false;
}

void model_names(const struct ui_model *m, const char ***tracks, size_t *ntracks,
                 const char ***artists, size_t *nartists, const char ***playlists,
                 size_t *nplaylists)
{
    struct ui_model_internal *in = m->internal;
    if (in && in->names_stale)
        names_rebuild(m, in);
    *tracks = in ? in->names[NAMES_TRACKS] : NULL;
    *ntracks = in ? in->nnames[NAMES_TRACKS] : 0;
    *artists = in ? in->names[NAMES_ARTISTS] : NULL;
    *nartists = in ? in->nnames[NAMES_ARTISTS] : 0;
    *playlists = in ? in->names[NAMES_PLAYLISTS] : NULL;
    *nplaylists = in ? in->nnames[NAMES_PLAYLISTS] : 0;
}

/* ---- life ---- */

void model_init(struct ui_model *m)
{
    memset(m, 0, sizeof(*m));
    m->view = CMD_VIEW_LIBRARY;
    m->log_follow = true;
    m->internal = xcalloc(1, sizeof(*m->internal));
    m->internal->service = -1;
    m->internal->names_stale = true;
}

void model_free(struct ui_model *m)
{
    artists_free(m->artists, m->nartists);
    lib_rows_free(m);
    for (size_t i = 0; i < m->nalbums; i++)
        tracks_free(m->albums[i].tracks, m->albums[i].n);
    free(m->albums);
    playlists_free(m->playlists, m->nplaylists);
    queue_free(m->queue, m->nqueue);
    free(m->search_query);
    tracks_free(m->results, m->nresults);
    for (size_t i = 0; i < m->nlog; i++)
        free(m->log[(m->log_start + i) % UI_LOG_MAX].text);
    free(m->find);
    strv_free(&m->asked, &m->nasked);
    if (m->internal) {
        strv_free(&m->internal->again, &m->internal->nagain);
        for (int k = 0; k < NAMES_KINDS; k++)
            free(m->internal->names[k]);
        free(m->internal);
    }
    memset(m, 0, sizeof(*m));
}

void model_set_snapshot(struct ui_model *m, const struct mq_snapshot *s)
{
    m->snap = *s;
    m->have_snap = true;
    size_t rows = s->nconns > 0 ? (size_t)s->nconns : 0;
    scroll_fit(&m->peers_scroll, rows, page_rows(m));
}

/* ---- answers ---- */

/* Marks a line to be asked again (its answer on screen is out of date). */
static void again(struct ui_model *m, const char *line)
{
    if (m->internal)
        strv_add(&m->internal->again, &m->internal->nagain, line);
}

static bool is_again(const struct ui_model *m, const char *line)
{
    return m->internal && strv_has(m->internal->again, m->internal->nagain, line);
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
        struct ui_artist *old = artist_find(m, a[i].id);
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
    artists_free(m->artists, m->nartists);
    m->artists = a;
    m->nartists = n;
    m->artists_state = UI_LOADED;
    lib_rows_build(m);
}

static void got_albums(struct ui_model *m, uint64_t artist_id, const json_t *data)
{
    struct ui_artist *a = artist_find(m, artist_id);
    if (!a)
        return;
    uint64_t right_id;
    bool right_had = lib_right_id(m, &right_id);
    artist_albums_clear(a);
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
    lib_rows_build(m);
    lib_right_keep(m, right_had, right_id);
}

static void got_album_tracks(struct ui_model *m, uint64_t album_id, const json_t *data)
{
    uint64_t right_id;
    bool right_had = lib_right_id(m, &right_id);
    struct ui_album_tracks *a = album_get(m, album_id);
    tracks_free(a->tracks, a->n);
    a->n = tracks_from_json(data, album_title(m, album_id), &a->tracks);
    a->state = UI_LOADED;
    lib_right_keep(m, right_had, right_id);
}

static void got_playlists(struct ui_model *m, const json_t *data)
{
    const struct ui_playlist *shown = playlist_shown(m);
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
        struct ui_playlist *old = playlist_find(m, p[i].name);
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
    playlists_free(m->playlists, m->nplaylists);
    m->playlists = p;
    m->nplaylists = n;
    m->playlists_state = UI_LOADED;
    m->pl_left.cursor = row;
    scroll_fit(&m->pl_left, n, page_rows(m));
    shown = playlist_shown(m);
    if (!shown || !was || strcmp(was, shown->name) != 0)
        m->pl_right = (struct ui_scroll){0};
    free(was);
}

static void got_playlist_tracks(struct ui_model *m, const char *name, const json_t *data)
{
    struct ui_playlist *p = playlist_find(m, name);
    if (!p)
        return; /* deleted since, or not listed yet */
    bool shown = p == playlist_shown(m);
    bool had = shown && m->pl_right.cursor < p->ntracks;
    uint64_t id = had ? p->tracks[m->pl_right.cursor].id : 0;
    playlist_tracks_clear(p);
    p->ntracks = tracks_from_json(data, NULL, &p->tracks);
    p->count = p->ntracks;
    p->tracks_state = UI_LOADED;
    if (shown) {
        m->pl_right.cursor =
            row_keep(p->tracks, p->ntracks, track_id_at, m->pl_right.cursor, had, id);
        scroll_fit(&m->pl_right, p->ntracks, page_rows(m));
    }
}

static void got_queue(struct ui_model *m, const json_t *data)
{
    bool had = m->queue_scroll.cursor < m->nqueue;
    uint64_t id = had ? m->queue[m->queue_scroll.cursor].t.id : 0;
    size_t n = json_is_array(data) ? json_array_size(data) : 0;
    struct ui_queue_row *q = n ? xcalloc(n, sizeof(*q)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(data, i);
        track_from_json(&q[i].t, o, NULL);
        q[i].current = json_is_true(json_object_get(o, "current"));
    }
    queue_free(m->queue, m->nqueue);
    m->queue = q;
    m->nqueue = n;
    m->queue_state = UI_LOADED;
    m->queue_scroll.cursor = row_keep(q, n, queue_id_at, m->queue_scroll.cursor, had, id);
    scroll_fit(&m->queue_scroll, n, page_rows(m));
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
    bool had = m->search_scroll.cursor < m->nresults;
    uint64_t id = had ? m->results[m->search_scroll.cursor].id : 0;
    free(m->search_query);
    m->search_query = xstrdup(query);
    tracks_free(m->results, m->nresults);
    m->nresults = tracks_from_json(data, NULL, &m->results);
    m->results_state = UI_LOADED;
    m->search_scroll.cursor =
        row_keep(m->results, m->nresults, track_id_at, m->search_scroll.cursor, had, id);
    scroll_fit(&m->search_scroll, m->nresults, page_rows(m));
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

/* A list's answer failed: what it was for shows the failure. */
static void browse_failed(struct ui_model *m, const struct cmd *c)
{
    if (c->a == CMD_BROWSE_ARTISTS) {
        m->artists_state = UI_LOAD_FAILED;
    } else if (c->a == CMD_BROWSE_ALBUMS) {
        struct ui_artist *a = artist_find(m, (uint64_t)c->b);
        if (a)
            a->albums_state = UI_LOAD_FAILED;
    } else {
        album_get(m, (uint64_t)c->b)->state = UI_LOAD_FAILED;
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
        again(m, "queue list");
        break;
    case CMD_PLAYLIST_REMOVE:
    case CMD_PLAYLIST_MOVE:
    case CMD_PLAYLIST_DELETE:
    case CMD_PLAYLIST_KEEP: {
        char *line = playlist_line("playlist list", c->text, "");
        again(m, line);
        again(m, "playlist list");
        free(line);
        break;
    }
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
            struct ui_playlist *p = playlist_find(m, c->text);
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
    strv_remove(&m->asked, &m->nasked, line);
    touch(m);
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

/* ---- events ---- */

static void playlists_changed(struct ui_model *m)
{
    again(m, "playlist list");
    for (size_t i = 0; i < m->nplaylists; i++) {
        if (m->playlists[i].tracks_state == UI_NOT_LOADED)
            continue;
        char *line = playlist_line("playlist list", m->playlists[i].name, "");
        again(m, line);
        free(line);
    }
}

static void track_changed(struct ui_model *m, const struct mq_msg *msg, int64_t now)
{
    const struct mq_track *t = msg->kind == MQ_PAYLOAD_BLOB ? msg->u.blob.ptr : NULL;
    if (!t)
        model_log(m, false, now, "stopped: nothing plays");
    else if (!t->title[0])
        model_log(m, false, now, "playing track #%llu", (unsigned long long)t->id);
    else if (t->artist[0])
        model_log(m, false, now, "playing %s — %s", t->title, t->artist);
    else
        model_log(m, false, now, "playing %s", t->title);
    again(m, "queue list"); /* its current row moved */
}

/* Online again: what was listed offline (the tracks this machine holds
 * keys for) or failed is asked again from the whole catalog. */
/* One list on coming online: failed, it is asked as new; loaded or on
 * its way, asked again (its rows stay until the answer). */
static void reload_online(struct ui_model *m, int *state, const char *line)
{
    if (*state == UI_LOAD_FAILED)
        *state = UI_NOT_LOADED;
    else if (*state != UI_NOT_LOADED)
        again(m, line);
}

static void library_online(struct ui_model *m)
{
    reload_online(m, &m->artists_state, "browse artists");
    for (size_t i = 0; i < m->nartists; i++) {
        char *line = xasprintf("browse albums #%llu", (unsigned long long)m->artists[i].id);
        reload_online(m, &m->artists[i].albums_state, line);
        free(line);
    }
    for (size_t i = 0; i < m->nalbums; i++) {
        char *line = xasprintf("browse tracks #%llu", (unsigned long long)m->albums[i].album_id);
        reload_online(m, &m->albums[i].state, line);
        free(line);
    }
}

static void service_changed(struct ui_model *m, int state, int64_t now)
{
    static const char *const words[] = {[MQ_SERVICE_OFFLINE] = "service offline",
                                        [MQ_SERVICE_CONNECTING] = "connecting to the service",
                                        [MQ_SERVICE_ONLINE] = "service online"};
    if (state < MQ_SERVICE_OFFLINE || state > MQ_SERVICE_ONLINE)
        return;
    int before = m->internal ? m->internal->service : -1;
    if (m->internal)
        m->internal->service = state;
    if (state == before)
        return;
    model_log(m, false, now, "%s", words[state]);
    if (state == MQ_SERVICE_ONLINE)
        library_online(m);
}

static const char *msg_text(const struct mq_msg *msg)
{
    return msg->kind == MQ_PAYLOAD_TEXT && msg->u.text ? msg->u.text : "";
}

void model_on_event(struct ui_model *m, const struct mq_msg *msg, int64_t now)
{
    touch(m);
    switch (msg->type) {
    case MQ_EV_QUEUE_CHANGED:
        again(m, "queue list");
        break;
    case MQ_EV_PLAYLISTS_CHANGED:
        playlists_changed(m);
        break;
    case MQ_EV_TRACK_CHANGED:
        track_changed(m, msg, now);
        break;
    case MQ_EV_SERVICE:
        service_changed(m, msg->kind == MQ_PAYLOAD_NUM ? (int)msg->u.num.a : -1, now);
        break;
    case MQ_EV_ERROR:
        model_log(m, true, now, "%s", msg_text(msg));
        break;
    case MQ_EV_STATUS:
        model_log(m, false, now, "%s", msg_text(msg));
        break;
    default:
        /* search and browse results come as answers (the TUI always asks
         * with a reply); the play state is in the snapshot */
        break;
    }
}

/* ---- what to ask (model_wants) ---- */

struct wants {
    char **v;
    size_t n;
};

/* Asks line when needed (not loaded) or marked to be asked again, unless
 * it is already asked. Returns true when it was added now. */
static bool want(struct ui_model *m, struct wants *w, bool needed, const char *line)
{
    if (!needed && !is_again(m, line))
        return false;
    if (strv_has(m->asked, m->nasked, line))
        return false;
    if (m->internal)
        strv_remove(&m->internal->again, &m->internal->nagain, line);
    strv_push(&m->asked, &m->nasked, xstrdup(line));
    strv_push(&w->v, &w->n, xstrdup(line));
    return true;
}

/* want() for a list whose state says whether it was ever loaded. */
static void want_list(struct ui_model *m, struct wants *w, int *state, const char *line)
{
    if (want(m, w, *state == UI_NOT_LOADED, line) && *state == UI_NOT_LOADED)
        *state = UI_LOADING;
}

static void want_albums(struct ui_model *m, struct wants *w)
{
    for (size_t i = 0; i < m->nartists; i++) {
        struct ui_artist *a = &m->artists[i];
        if (!a->expanded)
            continue;
        char *line = xasprintf("browse albums #%llu", (unsigned long long)a->id);
        want_list(m, w, &a->albums_state, line);
        free(line);
    }
}

static void want_album_tracks(struct ui_model *m, struct wants *w, uint64_t album_id)
{
    char *line = xasprintf("browse tracks #%llu", (unsigned long long)album_id);
    const struct ui_album_tracks *a = album_find(m, album_id);
    if (want(m, w, !a || a->state == UI_NOT_LOADED, line) && (!a || a->state == UI_NOT_LOADED))
        album_get(m, album_id)->state = UI_LOADING;
    free(line);
}

/* The tracks of what the library's left cursor is on. */
static void want_lib_tracks(struct ui_model *m, struct wants *w)
{
    const struct ui_lib_row *row = lib_row_under_cursor(m);
    if (!row)
        return;
    if (row->is_album) {
        want_album_tracks(m, w, row->id);
        return;
    }
    const struct ui_artist *a = row->owner < m->nartists ? &m->artists[row->owner] : NULL;
    for (size_t i = 0; a && a->albums_state == UI_LOADED && i < a->nalbums; i++)
        want_album_tracks(m, w, a->album_ids[i]);
}

static void want_playlist_tracks(struct ui_model *m, struct wants *w)
{
    struct ui_playlist *p = playlist_shown(m);
    if (!p)
        return;
    char *line = playlist_line("playlist list", p->name, "");
    want_list(m, w, &p->tracks_state, line);
    free(line);
}

size_t model_wants(struct ui_model *m, char ***lines)
{
    struct wants w = {0};
    want_list(m, &w, &m->artists_state, "browse artists");
    want_list(m, &w, &m->playlists_state, "playlist list");
    want_list(m, &w, &m->queue_state, "queue list");
    want_albums(m, &w);
    want_lib_tracks(m, &w);
    want_playlist_tracks(m, &w);
    *lines = w.v;
    return w.n;
}

/* ---- the focused list ---- */

struct ui_scroll *model_focus(struct ui_model *m, size_t *rows)
{
    const struct ui_playlist *p;
    const struct ui_track **t;
    size_t n = 0;
    struct ui_scroll *s = NULL;
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        if (m->lib_focus_right) {
            n = lib_right_tracks(m, &t);
            free(t);
            s = &m->lib_right;
        } else {
            n = m->nlib_rows;
            s = &m->lib_left;
        }
        break;
    case CMD_VIEW_PLAYLISTS:
        p = playlist_shown(m);
        n = m->pl_focus_right ? (p ? p->ntracks : 0) : m->nplaylists;
        s = m->pl_focus_right ? &m->pl_right : &m->pl_left;
        break;
    case CMD_VIEW_QUEUE:
        n = m->nqueue;
        s = &m->queue_scroll;
        break;
    case CMD_VIEW_SEARCH:
        n = m->nresults;
        s = &m->search_scroll;
        break;
    case CMD_VIEW_PEERS:
        n = m->have_snap && m->snap.nconns > 0 ? (size_t)m->snap.nconns : 0;
        s = &m->peers_scroll;
        break;
    case CMD_VIEW_LOG:
        n = m->nlog;
        s = &m->log_scroll;
        break;
    default:
        break;
    }
    if (rows)
        *rows = n;
    return s;
}

/* ---- acting: cursor moves ---- */

static long move_cursor(struct ui_model *m, enum cmd_id id)
{
    size_t rows;
    struct ui_scroll *s = model_focus(m, &rows);
    if (!s)
        return 0;
    size_t at = s->cursor, page = page_rows(m), last = rows ? rows - 1 : 0;
    switch (id) {
    case CMD_WIN_DOWN:
        at = at < last ? at + 1 : last;
        break;
    case CMD_WIN_UP:
        at = at > 0 ? at - 1 : 0;
        break;
    case CMD_WIN_TOP:
        at = 0;
        break;
    case CMD_WIN_BOTTOM:
        at = last;
        break;
    case CMD_WIN_PAGE_DOWN:
        at = at + page < last ? at + page : last;
        break;
    default: /* CMD_WIN_PAGE_UP */
        at = at > page ? at - page : 0;
        break;
    }
    cursor_set(m, s, rows, at);
    return 0;
}

static long switch_pane(struct ui_model *m)
{
    if (m->view == CMD_VIEW_LIBRARY)
        m->lib_focus_right = !m->lib_focus_right;
    else if (m->view == CMD_VIEW_PLAYLISTS)
        m->pl_focus_right = !m->pl_focus_right;
    return 0;
}

/* ---- acting: rows ---- */

struct out {
    char **v;
    size_t n;
};

__attribute__((format(printf, 2, 3))) static void out_add(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strv_push(&o->v, &o->n, vformat(fmt, ap));
    va_end(ap);
}

static unsigned long long id_arg(const struct ui_track *t)
{
    return (unsigned long long)t->id;
}

/* "play #first" and "queue add #id" for each track after it: the list
 * plays on from there. Tracks the catalog did not name (id 0) are left
 * out. */
static long play_from(struct out *o, const struct ui_track *const *t, size_t n, size_t from,
                      char **error)
{
    if (from >= n)
        return fail(error, "nothing to play here");
    if (t[from]->id == 0)
        return fail(error, "'%s' is not a track of the catalog", t[from]->title);
    out_add(o, "play #%llu", id_arg(t[from]));
    for (size_t i = from + 1; i < n; i++)
        if (t[i]->id)
            out_add(o, "queue add #%llu", id_arg(t[i]));
    return 0;
}

/* The focused list of the view on screen as tracks (pointers into m;
 * the caller frees the array) and its cursor. *whole: the row under the
 * cursor stands for the whole list (the library's or the playlists' left
 * pane: the right pane shows its tracks). */
static size_t focused_tracks(const struct ui_model *m, const struct ui_track ***out, size_t *cursor,
                             bool *whole)
{
    const struct ui_playlist *p;
    size_t n = 0;
    *out = NULL;
    *cursor = 0;
    *whole = false;
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        n = lib_right_tracks(m, out);
        *cursor = m->lib_right.cursor;
        *whole = !m->lib_focus_right;
        break;
    case CMD_VIEW_PLAYLISTS:
        p = playlist_shown(m);
        n = p ? p->ntracks : 0;
        *out = p ? track_ptrs(p->tracks, n) : NULL;
        *cursor = m->pl_right.cursor;
        *whole = !m->pl_focus_right;
        break;
    case CMD_VIEW_QUEUE:
        n = m->nqueue;
        *out = n ? xcalloc(n, sizeof(**out)) : NULL;
        for (size_t i = 0; i < n; i++)
            (*out)[i] = &m->queue[i].t;
        *cursor = m->queue_scroll.cursor;
        break;
    case CMD_VIEW_SEARCH:
        n = m->nresults;
        *out = track_ptrs(m->results, n);
        *cursor = m->search_scroll.cursor;
        break;
    default:
        break;
    }
    return n;
}

/* Why the row under the cursor has no tracks to act on. */
static long no_tracks(const struct ui_model *m, char **error)
{
    const struct ui_lib_row *row = lib_row_under_cursor(m);
    const struct ui_playlist *p = playlist_shown(m);
    const struct ui_album_tracks *a;
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        if (m->lib_focus_right || !row)
            return fail(error, "nothing here");
        if (!row->is_album)
            return fail(error, "the artist's tracks are not loaded yet (open it first)");
        a = album_find(m, row->id);
        return fail(error, a && a->state == UI_LOADED ? "the album has no tracks"
                                                      : "the album's tracks are still loading");
    case CMD_VIEW_PLAYLISTS:
        if (!p)
            return fail(error, "no playlist here");
        if (m->pl_focus_right || p->tracks_state == UI_LOADED)
            return fail(error, "the playlist is empty");
        return fail(error, "the playlist's tracks are still loading");
    case CMD_VIEW_QUEUE:
    case CMD_VIEW_SEARCH:
        return fail(error, "nothing here");
    default:
        return fail(error, "no tracks here");
    }
}

/* The tracks the row under the cursor stands for (win-activate on an
 * album, win-add-queue, win-add-playlist): pointers into m (the caller
 * frees the array), or -1 with *error. */
static long cursor_tracks(const struct ui_model *m, const struct ui_track ***out, size_t *n,
                          char **error)
{
    size_t cursor;
    bool whole;
    size_t count = focused_tracks(m, out, &cursor, &whole);
    *n = whole ? count : cursor < count ? 1 : 0;
    if (*n == 0) {
        free(*out);
        *out = NULL;
        return no_tracks(m, error);
    }
    if (!whole)
        (*out)[0] = (*out)[cursor];
    return 0;
}

/* win-activate on a list of tracks: from the one under the cursor on. */
static long play_focused(const struct ui_model *m, struct out *o, char **error)
{
    const struct ui_track **t;
    size_t cursor;
    bool whole;
    size_t n = focused_tracks(m, &t, &cursor, &whole);
    long rc = play_from(o, t, n, cursor, error);
    free(t);
    return rc;
}

/* win-activate in the library's left pane: an artist opens or closes, an
 * album plays. */
static long activate_lib_left(struct ui_model *m, struct out *o, char **error)
{
    const struct ui_lib_row *row = lib_row_under_cursor(m);
    if (row && !row->is_album) {
        if (row->owner < m->nartists) {
            m->artists[row->owner].expanded = !m->artists[row->owner].expanded;
            lib_rows_build(m);
        }
        return 0;
    }
    const struct ui_track **t;
    size_t n;
    long rc = cursor_tracks(m, &t, &n, error);
    if (rc == 0)
        rc = play_from(o, t, n, 0, error);
    free(t);
    return rc;
}

static long activate_playlist(struct ui_model *m, struct out *o, char **error)
{
    const struct ui_playlist *p = playlist_shown(m);
    if (!p)
        return fail(error, "no playlist here");
    size_t pos = 1;
    if (m->pl_focus_right) {
        if (m->pl_right.cursor >= p->ntracks)
            return fail(error, "nothing to play here");
        pos = m->pl_right.cursor + 1;
    } else if (p->count == 0 && p->ntracks == 0) {
        return fail(error, "playlist '%s' is empty", p->name);
    }
    strv_push(&o->v, &o->n, playlist_line("playlist load", p->name, ""));
    out_add(o, "queue play %zu", pos);
    return 0;
}

static long activate(struct ui_model *m, struct out *o, char **error)
{
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        return m->lib_focus_right ? play_focused(m, o, error) : activate_lib_left(m, o, error);
    case CMD_VIEW_PLAYLISTS:
        return activate_playlist(m, o, error);
    case CMD_VIEW_QUEUE:
        if (m->queue_scroll.cursor >= m->nqueue)
            return fail(error, "nothing to play here");
        out_add(o, "queue play %zu", m->queue_scroll.cursor + 1);
        return 0;
    case CMD_VIEW_SEARCH:
        return play_focused(m, o, error);
    default:
        return fail(error, "nothing to play here");
    }
}

static long add_queue(const struct ui_model *m, struct out *o, char **error)
{
    const struct ui_track **t;
    size_t n;
    long rc = cursor_tracks(m, &t, &n, error);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (t[i]->id)
            out_add(o, "queue add #%llu", id_arg(t[i]));
    free(t);
    return rc;
}

static long add_playlist(const struct ui_model *m, const char *name, struct out *o, char **error)
{
    if (m->view == CMD_VIEW_PLAYLISTS)
        return fail(error, "win-add-playlist: these tracks are in a playlist already; add them "
                           "from the library, the queue or the search results");
    const struct ui_track **t;
    size_t n;
    long rc = cursor_tracks(m, &t, &n, error);
    if (rc < 0)
        return rc;
    if (!name || !*name) {
        free(t);
        return fail(error, "win-add-playlist needs a playlist name");
    }
    char *quoted = cmd_quote(name);
    if (!playlist_find(m, name))
        out_add(o, "playlist create %s", quoted);
    for (size_t i = 0; i < n; i++)
        if (t[i]->id)
            out_add(o, "playlist add %s #%llu", quoted, id_arg(t[i]));
    free(quoted);
    free(t);
    return 0;
}

/* Removes row i of an array of n elements of size bytes. */
static void array_remove(void *base, size_t *n, size_t size, size_t i)
{
    char *b = base;
    memmove(b + i * size, b + (i + 1) * size, (*n - i - 1) * size);
    (*n)--;
}

/* Swaps rows i and j of the queue or of a playlist's tracks. */
static void array_swap(void *base, size_t size, size_t i, size_t j)
{
    _Static_assert(sizeof(struct ui_queue_row) >= sizeof(struct ui_track), "the largest row");
    char tmp[sizeof(struct ui_queue_row)];
    char *b = base;
    memcpy(tmp, b + i * size, size);
    memcpy(b + i * size, b + j * size, size);
    memcpy(b + j * size, tmp, size);
}

static long remove_queue_row(struct ui_model *m, struct out *o, char **error)
{
    size_t i = m->queue_scroll.cursor;
    if (i >= m->nqueue)
        return fail(error, "win-remove: the queue is empty");
    out_add(o, "queue remove %zu", i + 1);
    track_clear(&m->queue[i].t);
    array_remove(m->queue, &m->nqueue, sizeof(*m->queue), i);
    scroll_fit(&m->queue_scroll, m->nqueue, page_rows(m));
    return 0;
}

static long delete_playlist(struct ui_model *m, struct ui_playlist *p, struct out *o)
{
    strv_push(&o->v, &o->n, playlist_line("playlist delete", p->name, ""));
    free(p->name);
    playlist_tracks_clear(p);
    array_remove(m->playlists, &m->nplaylists, sizeof(*m->playlists), m->pl_left.cursor);
    scroll_fit(&m->pl_left, m->nplaylists, page_rows(m));
    m->pl_right = (struct ui_scroll){0};
    return 0;
}

static long remove_playlist_row(struct ui_model *m, struct ui_playlist *p, struct out *o,
                                char **error)
{
    size_t i = m->pl_right.cursor;
    if (i >= p->ntracks)
        return fail(error, "win-remove: the playlist is empty");
    char *position = xasprintf(" %zu", i + 1);
    strv_push(&o->v, &o->n, playlist_line("playlist remove", p->name, position));
    free(position);
    track_clear(&p->tracks[i]);
    array_remove(p->tracks, &p->ntracks, sizeof(*p->tracks), i);
    p->count = p->ntracks;
    scroll_fit(&m->pl_right, p->ntracks, page_rows(m));
    return 0;
}

/* win-remove: the line for the engine, and the row goes here at once. */
static long remove_row(struct ui_model *m, struct out *o, char **error)
{
    struct ui_playlist *p;
    switch (m->view) {
    case CMD_VIEW_QUEUE:
        return remove_queue_row(m, o, error);
    case CMD_VIEW_PLAYLISTS:
        if (!(p = playlist_shown(m)))
            return fail(error, "win-remove: no playlist here");
        return m->pl_focus_right ? remove_playlist_row(m, p, o, error) : delete_playlist(m, p, o);
    case CMD_VIEW_LIBRARY:
        return fail(error, "win-remove: nothing to remove here (the library is the catalog's)");
    default:
        return fail(error, "win-remove: nothing to remove here");
    }
}

/* Moves row i of a list one place down (down) or up: the line for the
 * engine, the rows here and the cursor that follows the row. */
static long move_row(struct ui_model *m, bool down, struct out *o, char **error)
{
    struct ui_playlist *p = NULL;
    void *rows;
    size_t n, size;
    struct ui_scroll *s;
    if (m->view == CMD_VIEW_QUEUE) {
        rows = m->queue;
        n = m->nqueue;
        size = sizeof(*m->queue);
        s = &m->queue_scroll;
    } else if (m->view == CMD_VIEW_PLAYLISTS && m->pl_focus_right) {
        if (!(p = playlist_shown(m)))
            return fail(error, "no playlist here");
        rows = p->tracks;
        n = p->ntracks;
        size = sizeof(*p->tracks);
        s = &m->pl_right;
    } else {
        return fail(error, "%s: only rows of the queue or of a playlist move",
                    down ? "win-move-down" : "win-move-up");
    }
    size_t i = s->cursor;
    if (i >= n || (down ? i + 1 >= n : i == 0))
        return fail(error, "%s", down ? "already the last row" : "already the first row");
    size_t j = down ? i + 1 : i - 1;
    if (p) {
        char *suffix = xasprintf(" %zu %zu", i + 1, j + 1);
        strv_push(&o->v, &o->n, playlist_line("playlist move", p->name, suffix));
        free(suffix);
    } else {
        out_add(o, "queue move %zu %zu", i + 1, j + 1);
    }
    array_swap(rows, size, i, j);
    cursor_set(m, s, n, j);
    return 0;
}

static long keep_offline(struct ui_model *m, struct out *o, char **error)
{
    struct ui_playlist *p = m->view == CMD_VIEW_PLAYLISTS ? playlist_shown(m) : NULL;
    if (!p)
        return fail(error, "win-keep: choose a playlist first (view 2)");
    p->keep_offline = !p->keep_offline; /* the next `playlist list` confirms it */
    strv_push(&o->v, &o->n,
              playlist_line("playlist keep", p->name, p->keep_offline ? " on" : " off"));
    return 0;
}

static long sort_peers(struct ui_model *m, char **error)
{
    if (m->view != CMD_VIEW_PEERS)
        return fail(error, "win-sort: only the peers view sorts (view 5)");
    m->peer_sort = (enum ui_peer_sort)((m->peer_sort + 1) % UI_SORT_COUNT);
    return 0;
}

/* ---- acting: search and find ---- */

/* "search" and each word of text quoted, so that the engine reads the
 * words back whatever they hold; NULL when text has no word. */
static char *search_line(const char *text)
{
    char *line = xstrdup("search");
    bool any = false;
    for (const char *p = text; *p;) {
        size_t skip = strspn(p, " \t"), len = strcspn(p + skip, " \t");
        if (len == 0)
            break;
        char *word = xstrndup(p + skip, len);
        char *quoted = cmd_quote(word);
        char *longer = xasprintf("%s %s", line, quoted);
        free(word);
        free(quoted);
        free(line);
        line = longer;
        any = true;
        p += skip + len;
    }
    if (!any) {
        free(line);
        return NULL;
    }
    return line;
}

static long search_catalog(struct ui_model *m, const char *text, struct out *o, char **error)
{
    char *line = text ? search_line(text) : NULL;
    struct cmd *c = NULL;
    if (!line || cmd_parse(line, &c, NULL) != 0) {
        free(line);
        return fail(error, "search: type what to look for");
    }
    /* the query as the engine reads it, which its answer is matched with */
    free(m->search_query);
    m->search_query = xstrdup(c->text);
    cmd_free(c);
    tracks_free(m->results, m->nresults);
    m->results = NULL;
    m->nresults = 0;
    m->results_state = UI_LOADING;
    m->search_scroll = (struct ui_scroll){0};
    strv_push(&o->v, &o->n, line);
    return 0;
}

/* The text a row of a list of names shows (a left pane, the log). */
static const char *row_name(const struct ui_model *m, size_t i)
{
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        return m->lib_rows[i].name;
    case CMD_VIEW_PLAYLISTS:
        return m->playlists[i].name;
    default: /* CMD_VIEW_LOG */
        return log_line(m, i)->text;
    }
}

/* Moves the cursor to the next row (forward) or the previous one showing
 * m->find (a track by its title, artist or album), wrapping; the
 * cursor's own row is the last one tried. */
static long find_row(struct ui_model *m, bool forward, char **error)
{
    size_t rows, cursor;
    bool whole;
    struct ui_scroll *s = model_focus(m, &rows);
    const struct ui_track **tracks;
    focused_tracks(m, &tracks, &cursor, &whole);
    bool names = whole || m->view == CMD_VIEW_LOG;
    bool found = false;
    for (size_t k = 1; s && k <= rows && !found; k++) {
        size_t i = forward ? (s->cursor + k) % rows : (s->cursor + rows - k) % rows;
        found = names ? contains(row_name(m, i), m->find) : track_shows(tracks[i], m->find);
        if (found)
            cursor_set(m, s, rows, i);
    }
    free(tracks);
    return found ? 0 : fail(error, "not found: %s", m->find);
}

/* The peers view's rows are in views_peer_order's order, which views.c
 * owns: the model cannot tell which row shows what. */
static long no_find_in_peers(char **error)
{
    return fail(error, "find: the peers view has no find (win-sort orders it)");
}

static long find_start(struct ui_model *m, const char *text, char **error)
{
    if (m->view == CMD_VIEW_PEERS)
        return no_find_in_peers(error);
    if (!text || !*text)
        return fail(error, "find: type what to look for");
    free(m->find);
    m->find = xstrdup(text);
    return find_row(m, true, error);
}

static long find_again(struct ui_model *m, bool forward, char **error)
{
    if (m->view == CMD_VIEW_PEERS)
        return no_find_in_peers(error);
    if (!m->find)
        return fail(error, "no search yet: press / first");
    return find_row(m, forward, error);
}

/* ---- model_action ---- */

static long act(struct ui_model *m, const struct cmd *c, const char *arg, struct out *o,
                char **error)
{
    switch (c->id) {
    case CMD_VIEW:
        if (c->a >= 0 && c->a < CMD_VIEW_COUNT)
            m->view = (enum cmd_view)c->a;
        return 0;
    case CMD_WIN_DOWN:
    case CMD_WIN_UP:
    case CMD_WIN_TOP:
    case CMD_WIN_BOTTOM:
    case CMD_WIN_PAGE_DOWN:
    case CMD_WIN_PAGE_UP:
        return move_cursor(m, c->id);
    case CMD_WIN_NEXT:
        return switch_pane(m);
    case CMD_WIN_ACTIVATE:
        return activate(m, o, error);
    case CMD_WIN_ADD_QUEUE:
        return add_queue(m, o, error);
    case CMD_WIN_ADD_PLAYLIST:
        return add_playlist(m, arg, o, error);
    case CMD_WIN_REMOVE:
        return remove_row(m, o, error);
    case CMD_WIN_MOVE_DOWN:
    case CMD_WIN_MOVE_UP:
        return move_row(m, c->id == CMD_WIN_MOVE_DOWN, o, error);
    case CMD_WIN_KEEP:
        return keep_offline(m, o, error);
    case CMD_WIN_SORT:
        return sort_peers(m, error);
    case CMD_SEARCH_START:
        return m->view == CMD_VIEW_SEARCH ? search_catalog(m, arg, o, error)
                                          : find_start(m, arg, error);
    case CMD_SEARCH_NEXT:
    case CMD_SEARCH_PREV:
        return find_again(m, c->id == CMD_SEARCH_NEXT, error);
    case CMD_COMMAND_MODE:
    case CMD_HELP:
    case CMD_REFRESH:
    case CMD_QUIT:
        return 0; /* the TUI's own business */
    default: {
        const struct cmd_def *def = cmd_def_of(c->id);
        return fail(error, "'%s' is a command of the engine, not of the TUI",
                    def ? def->name : "?");
    }
    }
}

long model_action(struct ui_model *m, const struct cmd *c, const char *arg, char ***lines,
                  char **error)
{
    struct out o = {0};
    *lines = NULL;
    *error = NULL;
    touch(m);
    long rc = act(m, c, arg, &o, error);
    if (rc < 0) {
        strv_free(&o.v, &o.n);
        return -1;
    }
    *lines = o.v;
    return (long)o.n;
}

/* ---- the remove question ---- */

static const char *track_name(const struct ui_track *t)
{
    return *t->title ? t->title : "this track";
}

char *model_remove_question(const struct ui_model *m)
{
    const struct ui_playlist *p;
    if (m->view == CMD_VIEW_QUEUE && m->queue_scroll.cursor < m->nqueue)
        return xasprintf("Remove '%s' from the queue?",
                         track_name(&m->queue[m->queue_scroll.cursor].t));
    if (m->view != CMD_VIEW_PLAYLISTS || !(p = playlist_shown(m)))
        return NULL;
    if (!m->pl_focus_right)
        return xasprintf("Delete playlist '%s'?", p->name);
    if (m->pl_right.cursor < p->ntracks)
        return xasprintf("Remove '%s' from playlist '%s'?",
                         track_name(&p->tracks[m->pl_right.cursor]), p->name);
    return NULL;
}
