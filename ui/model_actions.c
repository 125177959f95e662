/* model_actions: the TUI's own commands on the view on screen
 * (model_action) and the question win-remove asks first
 * (model_remove_question).
 *
 * Owns: cursor moves and pane switches; the row commands (win-activate,
 * win-add-queue, win-add-playlist, win-remove, win-move-up/down,
 * win-keep, win-sort) and the engine lines each comes to. The commands
 * that edit the queue or a playlist edit the rows here at once (the
 * engine's next answer replaces them). search-start, search-next/prev go
 * to model_find.c.
 *
 * Threads: the UI's only; pure (ui/model_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "model_internal.h"

/* ---- cursor moves ---- */

static long move_cursor(struct ui_model *m, enum cmd_id id)
{
    size_t rows;
    struct ui_scroll *s = model_focus(m, &rows);
    if (!s)
        return 0;
    size_t at = s->cursor, page = model_page_rows(m), last = rows ? rows - 1 : 0;
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
    model_cursor_set(m, s, rows, at);
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

/* ---- the tracks a row stands for ---- */

static unsigned long long id_arg(const struct ui_track *t)
{
    return (unsigned long long)t->id;
}

/* "words NAME tail" for playlist p, to the engine. */
static void add_playlist_line(struct model_lines *o, const char *words, const struct ui_playlist *p,
                              const char *tail)
{
    model_lines_push(o, model_playlist_line(words, p->name, tail));
}

/* "play #first" and "queue add #id" for each track after it: the list
 * plays on from there. Tracks the catalog did not name (id 0) are left
 * out. */
static long play_from(struct model_lines *o, const struct ui_track *const *t, size_t n, size_t from,
                      char **error)
{
    if (from >= n)
        return model_fail(error, "nothing to play here");
    if (t[from]->id == 0)
        return model_fail(error, "'%s' is not a track of the catalog", t[from]->title);
    model_lines_add(o, "play #%llu", id_arg(t[from]));
    for (size_t i = from + 1; i < n; i++)
        if (t[i]->id)
            model_lines_add(o, "queue add #%llu", id_arg(t[i]));
    return 0;
}

/* Why the row under the cursor has no tracks to act on. */
static long no_tracks(const struct ui_model *m, char **error)
{
    const struct ui_lib_row *row = model_lib_row(m);
    const struct ui_playlist *p = model_playlist_shown(m);
    const struct ui_album_tracks *a;
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        if (m->lib_focus_right || !row)
            return model_fail(error, "nothing here");
        if (!row->is_album)
            return model_fail(error, "the artist's tracks are not loaded yet (open it first)");
        a = model_album_find(m, row->id);
        return model_fail(error, a && a->state == UI_LOADED
                                     ? "the album has no tracks"
                                     : "the album's tracks are still loading");
    case CMD_VIEW_PLAYLISTS:
        if (!p)
            return model_fail(error, "no playlist here");
        if (m->pl_focus_right || p->tracks_state == UI_LOADED)
            return model_fail(error, "the playlist is empty");
        return model_fail(error, "the playlist's tracks are still loading");
    case CMD_VIEW_QUEUE:
    case CMD_VIEW_SEARCH:
        return model_fail(error, "nothing here");
    default:
        return model_fail(error, "no tracks here");
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
    size_t count = model_focused_tracks(m, out, &cursor, &whole);
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

/* ---- win-activate ---- */

/* On a list of tracks: from the one under the cursor on. */
static long play_focused(const struct ui_model *m, struct model_lines *o, char **error)
{
    const struct ui_track **t;
    size_t cursor;
    bool whole;
    size_t n = model_focused_tracks(m, &t, &cursor, &whole);
    long rc = play_from(o, t, n, cursor, error);
    free(t);
    return rc;
}

/* In the library's left pane: an artist opens or closes, an album
 * plays. */
static long activate_lib_left(struct ui_model *m, struct model_lines *o, char **error)
{
    const struct ui_lib_row *row = model_lib_row(m);
    if (row && !row->is_album) {
        if (row->owner < m->nartists) {
            m->artists[row->owner].expanded = !m->artists[row->owner].expanded;
            model_lib_rows_build(m);
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

static long activate_playlist(struct ui_model *m, struct model_lines *o, char **error)
{
    const struct ui_playlist *p = model_playlist_shown(m);
    if (!p)
        return model_fail(error, "no playlist here");
    size_t pos = 1;
    if (m->pl_focus_right) {
        if (m->pl_right.cursor >= p->ntracks)
            return model_fail(error, "nothing to play here");
        pos = m->pl_right.cursor + 1;
    } else if (p->count == 0 && p->ntracks == 0) {
        return model_fail(error, "playlist '%s' is empty", p->name);
    }
    add_playlist_line(o, "playlist load", p, "");
    model_lines_add(o, "queue play %zu", pos);
    return 0;
}

static long activate(struct ui_model *m, struct model_lines *o, char **error)
{
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        return m->lib_focus_right ? play_focused(m, o, error) : activate_lib_left(m, o, error);
    case CMD_VIEW_PLAYLISTS:
        return activate_playlist(m, o, error);
    case CMD_VIEW_QUEUE:
        if (m->queue_scroll.cursor >= m->nqueue)
            return model_fail(error, "nothing to play here");
        model_lines_add(o, "queue play %zu", m->queue_scroll.cursor + 1);
        return 0;
    case CMD_VIEW_SEARCH:
        return play_focused(m, o, error);
    default:
        return model_fail(error, "nothing to play here");
    }
}

/* ---- win-add-queue, win-add-playlist ---- */

static long add_queue(const struct ui_model *m, struct model_lines *o, char **error)
{
    const struct ui_track **t;
    size_t n;
    long rc = cursor_tracks(m, &t, &n, error);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (t[i]->id)
            model_lines_add(o, "queue add #%llu", id_arg(t[i]));
    free(t);
    return rc;
}

static long add_playlist(const struct ui_model *m, const char *name, struct model_lines *o,
                         char **error)
{
    if (m->view == CMD_VIEW_PLAYLISTS)
        return model_fail(error,
                          "win-add-playlist: these tracks are in a playlist already; add them "
                          "from the library, the queue or the search results");
    const struct ui_track **t;
    size_t n;
    long rc = cursor_tracks(m, &t, &n, error);
    if (rc < 0)
        return rc;
    if (!name || !*name) {
        free(t);
        return model_fail(error, "win-add-playlist needs a playlist name");
    }
    char *quoted = cmd_quote(name);
    if (!model_playlist_find(m, name))
        model_lines_add(o, "playlist create %s", quoted);
    for (size_t i = 0; i < n; i++)
        if (t[i]->id)
            model_lines_add(o, "playlist add %s #%llu", quoted, id_arg(t[i]));
    free(quoted);
    free(t);
    return 0;
}

/* ---- win-remove, win-move-up/down ---- */

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

static long remove_queue_row(struct ui_model *m, struct model_lines *o, char **error)
{
    size_t i = m->queue_scroll.cursor;
    if (i >= m->nqueue)
        return model_fail(error, "win-remove: the queue is empty");
    model_lines_add(o, "queue remove %zu", i + 1);
    model_track_clear(&m->queue[i].t);
    array_remove(m->queue, &m->nqueue, sizeof(*m->queue), i);
    model_scroll_fit(m, &m->queue_scroll, m->nqueue);
    return 0;
}

static long delete_playlist(struct ui_model *m, struct ui_playlist *p, struct model_lines *o)
{
    add_playlist_line(o, "playlist delete", p, "");
    free(p->name);
    model_playlist_tracks_clear(p);
    array_remove(m->playlists, &m->nplaylists, sizeof(*m->playlists), m->pl_left.cursor);
    model_scroll_fit(m, &m->pl_left, m->nplaylists);
    m->pl_right = (struct ui_scroll){0};
    return 0;
}

static long remove_playlist_row(struct ui_model *m, struct ui_playlist *p, struct model_lines *o,
                                char **error)
{
    size_t i = m->pl_right.cursor;
    if (i >= p->ntracks)
        return model_fail(error, "win-remove: the playlist is empty");
    char position[32];
    snprintf(position, sizeof(position), " %zu", i + 1);
    add_playlist_line(o, "playlist remove", p, position);
    model_track_clear(&p->tracks[i]);
    array_remove(p->tracks, &p->ntracks, sizeof(*p->tracks), i);
    p->count = p->ntracks;
    model_scroll_fit(m, &m->pl_right, p->ntracks);
    return 0;
}

/* win-remove: the line for the engine, and the row goes here at once. */
static long remove_row(struct ui_model *m, struct model_lines *o, char **error)
{
    struct ui_playlist *p;
    switch (m->view) {
    case CMD_VIEW_QUEUE:
        return remove_queue_row(m, o, error);
    case CMD_VIEW_PLAYLISTS:
        if (!(p = model_playlist_shown(m)))
            return model_fail(error, "win-remove: no playlist here");
        return m->pl_focus_right ? remove_playlist_row(m, p, o, error) : delete_playlist(m, p, o);
    case CMD_VIEW_LIBRARY:
        return model_fail(error,
                          "win-remove: nothing to remove here (the library is the catalog's)");
    default:
        return model_fail(error, "win-remove: nothing to remove here");
    }
}

/* Moves row i of a list one place down (down) or up: the line for the
 * engine, the rows here and the cursor that follows the row. */
static long move_row(struct ui_model *m, bool down, struct model_lines *o, char **error)
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
        if (!(p = model_playlist_shown(m)))
            return model_fail(error, "no playlist here");
        rows = p->tracks;
        n = p->ntracks;
        size = sizeof(*p->tracks);
        s = &m->pl_right;
    } else {
        return model_fail(error, "%s: only rows of the queue or of a playlist move",
                          down ? "win-move-down" : "win-move-up");
    }
    size_t i = s->cursor;
    if (i >= n || (down ? i + 1 >= n : i == 0))
        return model_fail(error, "%s", down ? "already the last row" : "already the first row");
    size_t j = down ? i + 1 : i - 1;
    if (p) {
        char positions[64];
        snprintf(positions, sizeof(positions), " %zu %zu", i + 1, j + 1);
        add_playlist_line(o, "playlist move", p, positions);
    } else {
        model_lines_add(o, "queue move %zu %zu", i + 1, j + 1);
    }
    array_swap(rows, size, i, j);
    model_cursor_set(m, s, n, j);
    return 0;
}

/* ---- win-keep, win-sort ---- */

static long keep_offline(struct ui_model *m, struct model_lines *o, char **error)
{
    struct ui_playlist *p = m->view == CMD_VIEW_PLAYLISTS ? model_playlist_shown(m) : NULL;
    if (!p)
        return model_fail(error, "win-keep: choose a playlist first (view 2)");
    p->keep_offline = !p->keep_offline; /* the next `playlist list` confirms it */
    add_playlist_line(o, "playlist keep", p, p->keep_offline ? " on" : " off");
    return 0;
}

static long sort_peers(struct ui_model *m, char **error)
{
    if (m->view != CMD_VIEW_PEERS)
        return model_fail(error, "win-sort: only the peers view sorts (view 5)");
    m->peer_sort = (enum ui_peer_sort)((m->peer_sort + 1) % UI_SORT_COUNT);
    return 0;
}

/* ---- model_action ---- */

static long act(struct ui_model *m, const struct cmd *c, const char *arg, struct model_lines *o,
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
        return model_search_start(m, arg, o, error);
    case CMD_SEARCH_NEXT:
    case CMD_SEARCH_PREV:
        return model_find_again(m, c->id == CMD_SEARCH_NEXT, error);
    case CMD_COMMAND_MODE:
    case CMD_HELP:
    case CMD_REFRESH:
    case CMD_QUIT:
        return 0; /* the TUI's own business */
    default: {
        const struct cmd_def *def = cmd_def_of(c->id);
        return model_fail(error, "'%s' is a command of the engine, not of the TUI",
                          def ? def->name : "?");
    }
    }
}

long model_action(struct ui_model *m, const struct cmd *c, const char *arg, char ***lines,
                  char **error)
{
    struct model_lines o = {0};
    *lines = NULL;
    *error = NULL;
    model_touch(m);
    long rc = act(m, c, arg, &o, error);
    if (rc < 0) {
        model_lines_free(&o);
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
    if (m->view != CMD_VIEW_PLAYLISTS || !(p = model_playlist_shown(m)))
        return NULL;
    if (!m->pl_focus_right)
        return xasprintf("Delete playlist '%s'?", p->name);
    if (m->pl_right.cursor < p->ntracks)
        return xasprintf("Remove '%s' from playlist '%s'?",
                         track_name(&p->tracks[m->pl_right.cursor]), p->name);
    return NULL;
}
