/* views_lists: the bodies that are lists — library (two panes, as cmus),
 * playlists (two panes), queue, search, log — and the help screen.
 *
 * Owns: the scroll arithmetic every list shares (which row to draw first
 * so that the cursor shows, whatever top the model kept), the columns of a
 * track row (one layout for every track list, so the queue, the search
 * results and the library's right pane line up the same way), and the
 * words a pane shows instead of a list ("loading…", "no artists").
 *
 * Threads: one (the UI's); pure. Reads the model, never changes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"
#include "views_internal.h"

#define TIME_W         7 /* "1:23:45" */
#define OFFLINE_MARK   "⤓"
#define PLAYLIST_TAIL  8 /* "  12 ⤓ ": the count and the offline mark */
#define HELP_TITLE     "Keys and commands (q or ? closes)"
#define LOG_FAILED_WHY "the log (6) says why"

enum ui_attr views_row_attr(bool under_cursor, bool focused, bool playing)
{
    if (under_cursor)
        return focused ? UI_ATTR_SELECTED : UI_ATTR_CURSOR;
    return playing ? UI_ATTR_PLAYING : UI_ATTR_NORMAL;
}

size_t views_list_cursor(const struct ui_scroll *s, size_t n)
{
    if (n == 0)
        return 0;
    return s->cursor < n ? s->cursor : n - 1;
}

size_t views_list_top(const struct ui_scroll *s, size_t n, int rows)
{
    if (n == 0 || rows <= 0)
        return 0;
    size_t shown = (size_t)rows, cursor = views_list_cursor(s, n), top = s->top;
    if (top + shown > n)
        top = n > shown ? n - shown : 0;
    if (cursor < top)
        top = cursor;
    if (cursor >= top + shown)
        top = cursor - shown + 1;
    return top;
}

void views_track_layout(int x, int w, int num_w, bool album, struct track_layout *l)
{
    /* two columns between text columns, one before the right-aligned time */
    int gaps = album ? 5 : 3;
    int flex = w - num_w - TIME_W - gaps;
    if (flex < 3)
        flex = 3;
    l->x = x;
    l->w = w;
    l->num_x = x;
    l->num_w = num_w;
    l->title_x = x + num_w;
    l->title_w = album ? flex * 2 / 5 : flex * 3 / 5;
    l->artist_x = l->title_x + l->title_w + 2;
    l->artist_w = album ? flex * 3 / 10 : flex - l->title_w;
    l->album_x = l->artist_x + l->artist_w + 2;
    l->album_w = album ? flex - l->title_w - l->artist_w : 0;
    l->time_w = TIME_W;
    l->time_x = x + w - TIME_W;
}

void views_track_row(struct canvas *c, int y, const struct track_layout *l, enum ui_attr attr,
                     const char *prefix, const struct ui_track *t)
{
    char time[32];
    views_format_time(t->duration_ms > 0 ? t->duration_ms : -1, time, sizeof(time));
    canvas_fill(c, y, l->x, l->w, attr);
    canvas_put_fit(c, y, l->num_x, l->num_w, attr, prefix, false);
    canvas_put_fit(c, y, l->title_x, l->title_w, attr, t->title, false);
    canvas_put_fit(c, y, l->artist_x, l->artist_w, attr, t->artist, false);
    if (l->album_w > 0)
        canvas_put_fit(c, y, l->album_x, l->album_w, attr, t->album, false);
    canvas_put_fit(c, y, l->time_x, l->time_w, attr, time, true);
}

void views_track_header(struct canvas *c, int y, const struct track_layout *l)
{
    canvas_fill(c, y, l->x, l->w, UI_ATTR_HEADER);
    canvas_put_fit(c, y, l->num_x, l->num_w - 2, UI_ATTR_HEADER, "#", true);
    canvas_put_fit(c, y, l->title_x, l->title_w, UI_ATTR_HEADER, "Title", false);
    canvas_put_fit(c, y, l->artist_x, l->artist_w, UI_ATTR_HEADER, "Artist", false);
    if (l->album_w > 0)
        canvas_put_fit(c, y, l->album_x, l->album_w, UI_ATTR_HEADER, "Album", false);
    canvas_put_fit(c, y, l->time_x, l->time_w, UI_ATTR_HEADER, "Time", true);
}

/* A list of tracks as one of the views shows it. */
struct track_list {
    const struct ui_track *const *tracks;
    size_t n;
    const struct ui_scroll *scroll;
    bool focused;   /* the pane has the keys */
    bool album;     /* an album column */
    bool mark;      /* "▶" before the number of the row that plays */
    bool by_number; /* the number is the track's on its album, else the row's */
    bool match_id;  /* the row that plays: the one whose track plays ... */
    long current;   /* ... else this one (-1: none) */
    const struct mq_snapshot *snap;
};

static bool row_plays(const struct track_list *tl, size_t i)
{
    if (!tl->match_id)
        return tl->current >= 0 && (size_t)tl->current == i;
    return tl->snap->has_track && tl->tracks[i]->id == tl->snap->track.id;
}

static int digits_of(size_t n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* How many digits the number column needs (at least 2). */
static int number_digits(const struct track_list *tl)
{
    size_t most = tl->n;
    if (tl->by_number) {
        most = 0;
        for (size_t i = 0; i < tl->n; i++)
            if (tl->tracks[i]->number > 0 && (size_t)tl->tracks[i]->number > most)
                most = (size_t)tl->tracks[i]->number;
    }
    int d = digits_of(most);
    return d < 2 ? 2 : d;
}

/* " 12." or " ▶  3." — a margin, the mark, the number. */
static void track_prefix(const struct track_list *tl, size_t i, int digits, bool plays, char *buf,
                         size_t size)
{
    const char *mark = !tl->mark ? "" : plays ? "▶ " : "  ";
    int number = tl->by_number ? tl->tracks[i]->number : (int)(i + 1);
    /* no list is that long; the bound tells the compiler the text fits */
    digits = digits > 12 ? 12 : digits;
    if (number > 0)
        snprintf(buf, size, " %s%*d.", mark, digits, number);
    else
        snprintf(buf, size, " %s%*s", mark, digits + 1, "");
}

/* Draws the list in a (after a column header when header); returns the
 * rows the list gets. */
static int draw_track_list(struct canvas *c, const struct view_area *a, const struct track_list *tl,
                           bool header)
{
    int digits = number_digits(tl);
    int num_w = 1 + (tl->mark ? 2 : 0) + digits + 2;
    struct track_layout l;
    views_track_layout(a->x, a->w, num_w, tl->album, &l);
    int y = a->y, rows = a->h;
    if (header) {
        views_track_header(c, y++, &l);
        rows--;
    }
    size_t top = views_list_top(tl->scroll, tl->n, rows);
    size_t cursor = views_list_cursor(tl->scroll, tl->n);
    for (int r = 0; r < rows && top + (size_t)r < tl->n; r++) {
        size_t i = top + (size_t)r;
        bool plays = row_plays(tl, i);
        char prefix[64];
        track_prefix(tl, i, digits, plays, prefix, sizeof(prefix));
        views_track_row(c, y + r, &l, views_row_attr(i == cursor, tl->focused, plays), prefix,
                        tl->tracks[i]);
    }
    return rows;
}

/* Pointers to n tracks of an array (the lists take pointers, so that an
 * artist's tracks can come from several albums). Owned by the caller. */
static const struct ui_track **track_ptrs(const struct ui_track *tracks, size_t n)
{
    const struct ui_track **p = xcalloc(n ? n : 1, sizeof(*p));
    for (size_t i = 0; i < n; i++)
        p[i] = &tracks[i];
    return p;
}

/* Why the catalog gave nothing: the service's state says most. */
static const char *catalog_failure(const struct mq_snapshot *s)
{
    switch (s->service) {
    case MQ_SERVICE_OFFLINE:
        return "the catalog cannot be reached: the service is offline";
    case MQ_SERVICE_CONNECTING:
        return "the catalog cannot be reached: still connecting to the service";
    case MQ_SERVICE_ONLINE:
        break;
    }
    return "the catalog cannot be reached: " LOG_FAILED_WHY;
}

/* What a pane says instead of its list (NULL: show the list). A list
 * already there stays on screen while it is asked for again. */
static const char *load_note(int state, bool empty, const char *empty_text, const char *failed)
{
    if (!empty)
        return NULL;
    switch (state) {
    case UI_LOADED:
        return empty_text;
    case UI_LOAD_FAILED:
        return failed;
    default:
        return "loading…";
    }
}

/* ---- 1 library ---- */

static const struct ui_artist *artist_of(const struct ui_model *m, const struct ui_lib_row *row)
{
    if (row->owner < m->nartists && m->artists[row->owner].id == row->id)
        return &m->artists[row->owner];
    for (size_t i = 0; i < m->nartists; i++)
        if (m->artists[i].id == row->id)
            return &m->artists[i];
    return NULL;
}

static const struct ui_album_tracks *album_of(const struct ui_model *m, uint64_t album_id)
{
    for (size_t i = 0; i < m->nalbums; i++)
        if (m->albums[i].album_id == album_id)
            return &m->albums[i];
    return NULL;
}

/* What the library says instead of its panes (NULL: draw them). */
static const char *library_note(const struct ui_model *m)
{
    return load_note(m->artists_state, m->nlib_rows == 0, "no artists", catalog_failure(&m->snap));
}

static void draw_lib_tree(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    size_t top = views_list_top(&m->lib_left, m->nlib_rows, a->h);
    size_t cursor = views_list_cursor(&m->lib_left, m->nlib_rows);
    for (int r = 0; r < a->h && top + (size_t)r < m->nlib_rows; r++) {
        size_t i = top + (size_t)r;
        const struct ui_lib_row *row = &m->lib_rows[i];
        char text[MQ_TEXT_MAX * 2];
        if (row->is_album) {
            snprintf(text, sizeof(text), "   %s", row->name);
        } else {
            const struct ui_artist *artist = artist_of(m, row);
            snprintf(text, sizeof(text), " %s %s", artist && artist->expanded ? "▾" : "▸",
                     row->name);
        }
        enum ui_attr attr = views_row_attr(i == cursor, !m->lib_focus_right, false);
        canvas_put_fit(c, a->y + r, a->x, a->w, attr, text, false);
    }
}

/* The tracks of one album into *out (NULL note) or why there are none. */
static const char *album_tracks(const struct ui_model *m, uint64_t album_id,
                                const struct ui_track ***out, size_t *n)
{
    const struct ui_album_tracks *album = album_of(m, album_id);
    if (!album)
        return "loading…";
    const char *note =
        load_note(album->state, album->n == 0, "no tracks", catalog_failure(&m->snap));
    if (note)
        return note;
    *out = track_ptrs(album->tracks, album->n);
    *n = album->n;
    return NULL;
}

/* Every loaded track of an artist's albums, album by album. */
static const char *artist_tracks(const struct ui_model *m, const struct ui_artist *artist,
                                 const struct ui_track ***out, size_t *n)
{
    if (!artist)
        return "";
    if (artist->albums_state == UI_NOT_LOADED && artist->nalbums == 0)
        return "its albums show when the artist is expanded";
    const char *note = load_note(artist->albums_state, artist->nalbums == 0, "no albums",
                                 catalog_failure(&m->snap));
    if (note)
        return note;
    size_t total = 0;
    bool loading = false, failed = false;
    for (size_t k = 0; k < artist->nalbums; k++) {
        const struct ui_album_tracks *album = album_of(m, artist->album_ids[k]);
        if (album)
            total += album->n;
        loading |= album && album->state == UI_LOADING;
        failed |= album && album->state == UI_LOAD_FAILED;
    }
    if (total == 0)
        return loading  ? "loading…"
               : failed ? catalog_failure(&m->snap)
                        : "select an album to see its tracks";
    const struct ui_track **list = xcalloc(total, sizeof(*list));
    size_t at = 0;
    for (size_t k = 0; k < artist->nalbums; k++) {
        const struct ui_album_tracks *album = album_of(m, artist->album_ids[k]);
        for (size_t i = 0; album && i < album->n; i++)
            list[at++] = &album->tracks[i];
    }
    *out = list;
    *n = total;
    return NULL;
}

static void draw_lib_tracks(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    const struct ui_lib_row *row = &m->lib_rows[views_list_cursor(&m->lib_left, m->nlib_rows)];
    const struct ui_track **tracks = NULL;
    size_t n = 0;
    const char *note = row->is_album ? album_tracks(m, row->id, &tracks, &n)
                                     : artist_tracks(m, artist_of(m, row), &tracks, &n);
    if (note) {
        views_note(c, a, note);
        return;
    }
    struct track_list tl = {.tracks = tracks,
                            .n = n,
                            .scroll = &m->lib_right,
                            .focused = m->lib_focus_right,
                            .by_number = true,
                            .match_id = true,
                            .snap = &m->snap};
    draw_track_list(c, a, &tl, false);
    free(tracks);
}

/* The '│' between two panes, the left one lw wide. */
static void draw_separator(struct canvas *c, const struct view_area *a, int lw)
{
    for (int r = 0; r < a->h; r++)
        canvas_put(c, a->y + r, a->x + lw, 1, UI_ATTR_DIM, "│");
}

/* Splits a into a left pane of about a third, the separator, a right pane. */
static void split_panes(struct canvas *c, const struct view_area *a, struct view_area *left,
                        struct view_area *right)
{
    int lw = a->w / 3;
    *left = (struct view_area){.y = a->y, .x = a->x, .w = lw, .h = a->h};
    *right = (struct view_area){.y = a->y, .x = a->x + lw + 1, .w = a->w - lw - 1, .h = a->h};
    draw_separator(c, a, lw);
}

int views_draw_library(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    const char *note = library_note(m);
    if (note) {
        views_note(c, a, note); /* across both panes: it can be long */
        return a->h;
    }
    struct view_area left, right;
    split_panes(c, a, &left, &right);
    draw_lib_tree(m, c, &left);
    draw_lib_tracks(m, c, &right);
    return a->h;
}

/* ---- 2 playlists ---- */

static const char *playlists_note(const struct ui_model *m)
{
    return load_note(m->playlists_state, m->nplaylists == 0, "no playlists (:playlist create NAME)",
                     "the playlists cannot be read: " LOG_FAILED_WHY);
}

static void draw_playlist_names(const struct ui_model *m, struct canvas *c,
                                const struct view_area *a)
{
    size_t top = views_list_top(&m->pl_left, m->nplaylists, a->h);
    size_t cursor = views_list_cursor(&m->pl_left, m->nplaylists);
    for (int r = 0; r < a->h && top + (size_t)r < m->nplaylists; r++) {
        size_t i = top + (size_t)r;
        const struct ui_playlist *pl = &m->playlists[i];
        enum ui_attr attr = views_row_attr(i == cursor, !m->pl_focus_right, false);
        char name[MQ_TEXT_MAX + 2], tail[32];
        snprintf(name, sizeof(name), " %s", pl->name);
        snprintf(tail, sizeof(tail), "%zu %s ", pl->count, pl->keep_offline ? OFFLINE_MARK : " ");
        canvas_put_fit(c, a->y + r, a->x, a->w - PLAYLIST_TAIL, attr, name, false);
        canvas_put_fit(c, a->y + r, a->x + a->w - PLAYLIST_TAIL, PLAYLIST_TAIL, attr, tail, true);
    }
}

static void draw_playlist_tracks(const struct ui_model *m, struct canvas *c,
                                 const struct view_area *a)
{
    const struct ui_playlist *pl = &m->playlists[views_list_cursor(&m->pl_left, m->nplaylists)];
    const char *note = load_note(pl->tracks_state, pl->ntracks == 0, "the playlist is empty",
                                 "the playlist cannot be read: " LOG_FAILED_WHY);
    if (note) {
        views_note(c, a, note);
        return;
    }
    const struct ui_track **tracks = track_ptrs(pl->tracks, pl->ntracks);
    struct track_list tl = {.tracks = tracks,
                            .n = pl->ntracks,
                            .scroll = &m->pl_right,
                            .focused = m->pl_focus_right,
                            .match_id = true,
                            .snap = &m->snap};
    draw_track_list(c, a, &tl, false);
    free(tracks);
}

int views_draw_playlists(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    const char *note = playlists_note(m);
    if (note) {
        views_note(c, a, note);
        return a->h;
    }
    struct view_area left, right;
    split_panes(c, a, &left, &right);
    draw_playlist_names(m, c, &left);
    draw_playlist_tracks(m, c, &right);
    return a->h;
}

/* ---- 3 queue ---- */

int views_draw_queue(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    const struct ui_track **tracks = xcalloc(m->nqueue ? m->nqueue : 1, sizeof(*tracks));
    long current = -1;
    for (size_t i = 0; i < m->nqueue; i++) {
        tracks[i] = &m->queue[i].t;
        if (m->queue[i].current)
            current = (long)i;
    }
    struct track_list tl = {.tracks = tracks,
                            .n = m->nqueue,
                            .scroll = &m->queue_scroll,
                            .focused = true,
                            .album = true,
                            .mark = true,
                            .current = current,
                            .snap = &m->snap};
    int rows = draw_track_list(c, a, &tl, true);
    free(tracks);
    const char *note = load_note(m->queue_state, m->nqueue == 0, "the queue is empty",
                                 "the queue cannot be read: " LOG_FAILED_WHY);
    /* a queue never asked for yet but known from the snapshot to be empty */
    if (m->queue_state == UI_NOT_LOADED && m->nqueue == 0 && m->have_snap && m->snap.queue_len == 0)
        note = "the queue is empty";
    struct view_area below = {.y = a->y + 1, .x = a->x, .w = a->w, .h = a->h - 1};
    if (note)
        views_note(c, &below, note);
    return rows;
}

/* ---- 4 search ---- */

static void search_header(const struct ui_model *m, char *buf, size_t size)
{
    switch (m->results_state) {
    case UI_LOADED:
        snprintf(buf, size, "Search: %s (%zu result%s)", m->search_query, m->nresults,
                 m->nresults == 1 ? "" : "s");
        return;
    case UI_LOAD_FAILED:
        snprintf(buf, size, "Search: %s (failed)", m->search_query);
        return;
    default:
        snprintf(buf, size, "Search: %s (searching…)", m->search_query);
        return;
    }
}

int views_draw_search(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    struct view_area list = {.y = a->y + 1, .x = a->x, .w = a->w, .h = a->h - 1};
    if (!m->search_query) {
        canvas_put_fit(c, a->y, a->x, a->w, UI_ATTR_HEADER, " Search", false);
        views_note(c, &list, "press / to search the catalog");
        return list.h;
    }
    char header[MQ_TEXT_MAX + 64];
    search_header(m, header, sizeof(header));
    canvas_put_fit(c, a->y, a->x + 1, a->w - 1, UI_ATTR_HEADER, header, false);
    canvas_fill(c, a->y, a->x, 1, UI_ATTR_HEADER);
    const char *note =
        load_note(m->results_state, m->nresults == 0, "no tracks match", catalog_failure(&m->snap));
    if (note) {
        views_note(c, &list, note);
        return list.h;
    }
    const struct ui_track **tracks = track_ptrs(m->results, m->nresults);
    struct track_list tl = {.tracks = tracks,
                            .n = m->nresults,
                            .scroll = &m->search_scroll,
                            .focused = true,
                            .album = true,
                            .mark = true,
                            .match_id = true,
                            .snap = &m->snap};
    draw_track_list(c, &list, &tl, false);
    free(tracks);
    return list.h;
}

/* ---- 6 log ---- */

const struct ui_log_line *views_log_line(const struct ui_model *m, size_t i)
{
    if (i >= m->nlog || m->nlog > UI_LOG_MAX)
        return NULL;
    return &m->log[(m->log_start + i) % UI_LOG_MAX];
}

static void draw_log_line(struct canvas *c, const struct view_area *a, int y,
                          const struct ui_log_line *line, enum ui_attr attr)
{
    time_t when = (time_t)line->when;
    struct tm tm;
    char stamp[16] = "--:--:--";
    if (localtime_r(&when, &tm))
        strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
    char *text = xasprintf(" %s %s", stamp, line->text ? line->text : "");
    canvas_put_fit(c, y, a->x, a->w, attr, text, false);
    free(text);
}

int views_draw_log(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    size_t n = m->nlog > UI_LOG_MAX ? UI_LOG_MAX : m->nlog;
    if (n == 0) {
        views_note(c, a, "nothing logged yet");
        return a->h;
    }
    struct ui_scroll s = m->log_scroll;
    if (m->log_follow)
        s.cursor = n - 1;
    size_t top = views_list_top(&s, n, a->h), cursor = views_list_cursor(&s, n);
    for (int r = 0; r < a->h && top + (size_t)r < n; r++) {
        size_t i = top + (size_t)r;
        const struct ui_log_line *line = views_log_line(m, i);
        enum ui_attr attr = i == cursor   ? UI_ATTR_SELECTED
                            : line->error ? UI_ATTR_ERROR
                                          : UI_ATTR_NORMAL;
        draw_log_line(c, a, a->y + r, line, attr);
    }
    return a->h;
}

/* ---- help ---- */

int views_draw_help(const struct ui_overlay *ov, struct canvas *c, const struct view_area *a)
{
    canvas_put_fit(c, a->y, a->x, a->w, UI_ATTR_HEADER, " " HELP_TITLE, false);
    int rows = a->h - 1;
    int first = ov->help_top < 0 ? 0 : ov->help_top;
    for (int r = 0; r < rows && first + r < ov->nhelp; r++)
        canvas_put_fit(c, a->y + 1 + r, a->x + 1, a->w - 1, UI_ATTR_NORMAL,
                       ov->help_lines[first + r], false);
    return rows;
}
