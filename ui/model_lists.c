/* model_lists: the lists the model holds (library, playlists, queue,
 * search results) and their cursors.
 *
 * Owns: freeing a list and finding an item in it; the library's left pane
 * (artists, each followed by its albums when expanded) and which tracks
 * its right pane shows; the focused list of the view on screen
 * (model_focus, model_focused_tracks); and keeping each cursor inside its
 * list and on the same item (track, artist, album, playlist) when a list
 * is replaced.
 *
 * Threads: the UI's only; pure (ui/model_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "model_internal.h"

/* ---- tracks ---- */

void model_track_clear(struct ui_track *t)
{
    free(t->title);
    free(t->artist);
    free(t->album);
}

void model_tracks_free(struct ui_track *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        model_track_clear(&t[i]);
    free(t);
}

const struct ui_track **model_track_ptrs(const struct ui_track *t, size_t n)
{
    const struct ui_track **p = xcalloc(n ? n : 1, sizeof(*p));
    for (size_t i = 0; i < n; i++)
        p[i] = &t[i];
    return p;
}

/* ---- cursors ---- */

size_t model_page_rows(const struct ui_model *m)
{
    return m->body_rows > 0 ? (size_t)m->body_rows : 1;
}

void model_scroll_fit(const struct ui_model *m, struct ui_scroll *s, size_t rows)
{
    size_t page = model_page_rows(m);
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

void model_cursor_set(struct ui_model *m, struct ui_scroll *s, size_t rows, size_t row)
{
    size_t before = s->cursor;
    s->cursor = row;
    model_scroll_fit(m, s, rows);
    if (s == &m->lib_left && s->cursor != before)
        m->lib_right = (struct ui_scroll){0};
    if (s == &m->pl_left && s->cursor != before)
        m->pl_right = (struct ui_scroll){0};
    if (s == &m->log_scroll)
        m->log_follow = rows == 0 || s->cursor + 1 >= rows;
}

struct model_mark model_mark(const struct ui_scroll *s, const void *list, size_t n,
                             model_row_id_fn id_at)
{
    bool had = s->cursor < n;
    return (struct model_mark){.had = had, .id = had ? id_at(list, s->cursor) : 0};
}

/* Where a cursor at old goes when its list is replaced (see model_keep;
 * clamped by the caller). */
static size_t row_kept(const void *list, size_t n, model_row_id_fn id_at, size_t old,
                       struct model_mark mark)
{
    if (!mark.had)
        return old;
    if (old < n && id_at(list, old) == mark.id)
        return old;
    for (size_t i = 0; i < n; i++)
        if (id_at(list, i) == mark.id)
            return i;
    return old;
}

void model_keep(const struct ui_model *m, struct ui_scroll *s, const void *list, size_t n,
                model_row_id_fn id_at, struct model_mark mark)
{
    s->cursor = row_kept(list, n, id_at, s->cursor, mark);
    model_scroll_fit(m, s, n);
}

/* ---- the library ---- */

struct ui_artist *model_artist_find(const struct ui_model *m, uint64_t id)
{
    for (size_t i = 0; i < m->nartists; i++)
        if (m->artists[i].id == id)
            return &m->artists[i];
    return NULL;
}

void model_artist_albums_clear(struct ui_artist *a)
{
    for (size_t i = 0; i < a->nalbums; i++)
        free(a->album_titles[i]);
    free(a->album_titles);
    free(a->album_ids);
    a->album_titles = NULL;
    a->album_ids = NULL;
    a->nalbums = 0;
}

void model_artists_free(struct ui_artist *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].name);
        model_artist_albums_clear(&a[i]);
    }
    free(a);
}

struct ui_album_tracks *model_album_find(const struct ui_model *m, uint64_t id)
{
    for (size_t i = 0; i < m->nalbums; i++)
        if (m->albums[i].album_id == id)
            return &m->albums[i];
    return NULL;
}

struct ui_album_tracks *model_album_get(struct ui_model *m, uint64_t id)
{
    struct ui_album_tracks *a = model_album_find(m, id);
    if (a)
        return a;
    m->albums = xrealloc(m->albums, (m->nalbums + 1) * sizeof(*m->albums));
    a = &m->albums[m->nalbums++];
    *a = (struct ui_album_tracks){.album_id = id};
    return a;
}

const struct ui_lib_row *model_lib_row(const struct ui_model *m)
{
    return m->lib_left.cursor < m->nlib_rows ? &m->lib_rows[m->lib_left.cursor] : NULL;
}

void model_lib_rows_free(struct ui_model *m)
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

/* The first row of the left pane for an artist (!is_album) or an album of
 * that id; false when there is none. */
static bool lib_row_of(const struct ui_model *m, bool is_album, uint64_t id, size_t *row)
{
    for (size_t i = 0; i < m->nlib_rows; i++) {
        if (m->lib_rows[i].is_album == is_album && m->lib_rows[i].id == id) {
            *row = i;
            return true;
        }
    }
    return false;
}

void model_lib_rows_build(struct ui_model *m)
{
    const struct ui_lib_row *was = model_lib_row(m);
    bool had = was != NULL, was_album = was && was->is_album;
    uint64_t was_id = was ? was->id : 0;
    model_lib_rows_free(m);
    for (size_t i = 0; i < m->nartists; i++) {
        const struct ui_artist *a = &m->artists[i];
        lib_row_push(m, false, a->id, a->name, i);
        for (size_t j = 0; a->expanded && j < a->nalbums; j++)
            lib_row_push(m, true, a->album_ids[j], a->album_titles[j], i);
    }
    bool found = had && lib_row_of(m, was_album, was_id, &m->lib_left.cursor);
    model_scroll_fit(m, &m->lib_left, m->nlib_rows);
    if (!found)
        m->lib_right = (struct ui_scroll){0};
}

size_t model_lib_right_tracks(const struct ui_model *m, const struct ui_track ***out)
{
    const struct ui_lib_row *row = model_lib_row(m);
    const uint64_t *ids = row ? &row->id : NULL;
    size_t nids = row ? 1 : 0, n = 0;
    if (row && !row->is_album && row->owner < m->nartists) {
        ids = m->artists[row->owner].album_ids;
        nids = m->artists[row->owner].nalbums;
    }
    for (size_t i = 0; i < nids; i++) {
        const struct ui_album_tracks *a = model_album_find(m, ids[i]);
        n += a ? a->n : 0;
    }
    const struct ui_track **t = n ? xcalloc(n, sizeof(*t)) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < nids; i++) {
        const struct ui_album_tracks *a = model_album_find(m, ids[i]);
        for (size_t j = 0; a && j < a->n; j++)
            t[k++] = &a->tracks[j];
    }
    *out = t;
    return n;
}

static uint64_t track_ptr_id_at(const void *list, size_t i)
{
    return ((const struct ui_track *const *)list)[i]->id;
}

struct model_mark model_lib_right_mark(const struct ui_model *m)
{
    const struct ui_track **t;
    size_t n = model_lib_right_tracks(m, &t);
    struct model_mark mark = model_mark(&m->lib_right, t, n, track_ptr_id_at);
    free(t);
    return mark;
}

void model_lib_right_keep(struct ui_model *m, struct model_mark mark)
{
    const struct ui_track **t;
    size_t n = model_lib_right_tracks(m, &t);
    model_keep(m, &m->lib_right, t, n, track_ptr_id_at, mark);
    free(t);
}

/* ---- playlists and the queue ---- */

void model_playlist_tracks_clear(struct ui_playlist *p)
{
    model_tracks_free(p->tracks, p->ntracks);
    p->tracks = NULL;
    p->ntracks = 0;
}

void model_playlists_free(struct ui_playlist *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        model_playlist_tracks_clear(&p[i]);
    }
    free(p);
}

struct ui_playlist *model_playlist_find(const struct ui_model *m, const char *name)
{
    for (size_t i = 0; i < m->nplaylists; i++)
        if (strcmp(m->playlists[i].name, name) == 0)
            return &m->playlists[i];
    return NULL;
}

struct ui_playlist *model_playlist_shown(const struct ui_model *m)
{
    return m->pl_left.cursor < m->nplaylists ? &m->playlists[m->pl_left.cursor] : NULL;
}

void model_queue_free(struct ui_queue_row *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        model_track_clear(&q[i].t);
    free(q);
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
            n = model_lib_right_tracks(m, &t);
            free(t);
            s = &m->lib_right;
        } else {
            n = m->nlib_rows;
            s = &m->lib_left;
        }
        break;
    case CMD_VIEW_PLAYLISTS:
        p = model_playlist_shown(m);
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

size_t model_focused_tracks(const struct ui_model *m, const struct ui_track ***out, size_t *cursor,
                            bool *whole)
{
    const struct ui_playlist *p;
    size_t n = 0;
    *out = NULL;
    *cursor = 0;
    *whole = false;
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        n = model_lib_right_tracks(m, out);
        *cursor = m->lib_right.cursor;
        *whole = !m->lib_focus_right;
        break;
    case CMD_VIEW_PLAYLISTS:
        p = model_playlist_shown(m);
        n = p ? p->ntracks : 0;
        *out = p ? model_track_ptrs(p->tracks, n) : NULL;
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
        *out = model_track_ptrs(m->results, n);
        *cursor = m->search_scroll.cursor;
        break;
    default:
        break;
    }
    return n;
}
