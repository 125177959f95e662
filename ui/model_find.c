/* model_find: search-start, search-next and search-prev.
 *
 * In the search view search-start searches the catalog (the line goes to
 * the engine; the answer comes to model_results.c). In the other views
 * it is a find: the cursor goes to the next row, after it and wrapping,
 * whose text holds what was typed, ignoring (ASCII) case, and n/N go on
 * from there. A row's text is what it shows: a track by its title, artist
 * or album; an artist, an album or a playlist by its name; a log line by
 * its text; a connection of the peers view by its address or state, its
 * rows taken in the order the view draws them (views_peer_order).
 *
 * Threads: the UI's only; pure (ui/model_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "model_internal.h"
#include "ui/views.h"

/* ---- the catalog search (the search view) ---- */

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

static long search_catalog(struct ui_model *m, const char *text, struct model_lines *o,
                           char **error)
{
    char *line = text ? search_line(text) : NULL;
    struct cmd *c = NULL;
    if (!line || cmd_parse(line, &c, NULL) != 0) {
        free(line);
        return model_fail(error, "search: type what to look for");
    }
    /* the query as the engine reads it, which its answer is matched with */
    free(m->search_query);
    m->search_query = xstrdup(c->text);
    cmd_free(c);
    model_tracks_free(m->results, m->nresults);
    m->results = NULL;
    m->nresults = 0;
    m->results_state = UI_LOADING;
    m->search_scroll = (struct ui_scroll){0};
    model_lines_push(o, line);
    return 0;
}

/* ---- what a row shows ---- */

/* Case-insensitive (ASCII) "hay contains needle". */
static bool contains(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

static bool track_shows(const struct ui_track *t, const char *text)
{
    return contains(t->title, text) || contains(t->artist, text) || contains(t->album, text);
}

/* A text field of the snapshot, which may fill its array without a NUL
 * (size: the array's). */
static bool field_shows(const char *field, size_t size, const char *text)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%.*s", (int)strnlen(field, size), field);
    return contains(buf, text);
}

static bool peer_shows(const struct mq_conn *c, const char *text)
{
    return field_shows(c->address, sizeof(c->address), text) ||
           field_shows(c->state, sizeof(c->state), text);
}

/* The rows of the focused list, as a find reads them: tracks, names (a
 * left pane, the log) or connections. */
struct find_rows {
    const struct ui_track **tracks; /* owned; NULL unless rows are tracks */
    bool names;
    bool peers;
    int order[MQ_MAX_CONNS]; /* peers: row r shows snap.conns[order[r]] */
    size_t npeers;
};

static void find_rows_open(const struct ui_model *m, struct find_rows *r)
{
    size_t cursor;
    bool whole;
    model_focused_tracks(m, &r->tracks, &cursor, &whole);
    r->names = whole || m->view == CMD_VIEW_LOG;
    r->peers = m->view == CMD_VIEW_PEERS;
    r->npeers = r->peers ? (size_t)views_peer_order(m, r->order) : 0;
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
        return views_log_line(m, i)->text;
    }
}

static bool row_shows(const struct ui_model *m, const struct find_rows *r, size_t i,
                      const char *text)
{
    if (r->peers)
        return i < r->npeers && peer_shows(&m->snap.conns[r->order[i]], text);
    if (r->names)
        return contains(row_name(m, i), text);
    return track_shows(r->tracks[i], text);
}

/* ---- find ---- */

/* Moves the cursor to the next row (forward) or the previous one showing
 * m->find, wrapping; the cursor's own row is the last one tried. */
static long find_row(struct ui_model *m, bool forward, char **error)
{
    size_t rows;
    struct ui_scroll *s = model_focus(m, &rows);
    struct find_rows r;
    find_rows_open(m, &r);
    bool found = false;
    for (size_t k = 1; s && k <= rows && !found; k++) {
        size_t i = forward ? (s->cursor + k) % rows : (s->cursor + rows - k) % rows;
        found = row_shows(m, &r, i, m->find);
        if (found)
            model_cursor_set(m, s, rows, i);
    }
    free(r.tracks);
    return found ? 0 : model_fail(error, "not found: %s", m->find);
}

static long find_start(struct ui_model *m, const char *text, char **error)
{
    if (!text || !*text)
        return model_fail(error, "find: type what to look for");
    free(m->find);
    m->find = xstrdup(text);
    return find_row(m, true, error);
}

long model_search_start(struct ui_model *m, const char *text, struct model_lines *o, char **error)
{
    return m->view == CMD_VIEW_SEARCH ? search_catalog(m, text, o, error)
                                      : find_start(m, text, error);
}

long model_find_again(struct ui_model *m, bool forward, char **error)
{
    if (!m->find)
        return model_fail(error, "no search yet: press / first");
    return find_row(m, forward, error);
}
