/* model_internal: what the model's files share (ui/model.h is the API).
 * Private to ui/.
 *
 * Not ui/internal.h, the project's name for a module's private header:
 * in ui/ that one is the TUI's terminal side (the screen, the help
 * screen, the loop and the login form, with the settings, canvas and key
 * map they take), and the model is pure, tested without a terminal. Its
 * files share this header instead, as the views' share views_internal.h.
 *
 * The files, one job each:
 *  - model.c: life (init/free), the snapshot, the log ring, the engine's
 *    events, what to ask (model_wants, the asked and again sets),
 *    model_names, and the string helpers below.
 *  - model_lists.c: the lists the model holds: freeing them, finding an
 *    item, the library's rows, the tracks a pane shows, and the cursors
 *    (inside their list, on the same item when a list is replaced,
 *    model_focus).
 *  - model_results.c: the engine's answers (model_on_result): JSON into
 *    the lists, and failures into the log.
 *  - model_actions.c: model_action: cursor moves and the row commands;
 *    model_remove_question.
 *  - model_find.c: search-start, search-next/prev: the catalog search in
 *    the search view, find in the others.
 *
 * Ownership is as in model.h: "owned" is the caller's to free, pointers
 * to rows and names are borrowed from m until it changes. */
#ifndef CHORUS_UI_MODEL_INTERNAL_H
#define CHORUS_UI_MODEL_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/model.h"

/* ---- model.c: strings and lines ---- */

/* fmt with ap, owned. */
__attribute__((format(printf, 1, 0))) char *model_vformat(const char *fmt, va_list ap);

/* -1 with *error set (owned): what model_action answers when it cannot
 * act. */
__attribute__((format(printf, 2, 3))) long model_fail(char **error, const char *fmt, ...);

/* Lines for the engine (model_wants, model_action), owned. */
struct model_lines {
    char **v;
    size_t n;
};

void model_lines_push(struct model_lines *l, char *owned);
__attribute__((format(printf, 2, 3))) void model_lines_add(struct model_lines *l, const char *fmt,
                                                           ...);
void model_lines_free(struct model_lines *l);

/* "words NAME tail", the name quoted for cmd_parse; owned. */
char *model_playlist_line(const char *words, const char *name, const char *tail);

/* ---- model.c: the asked and again sets ---- */

/* Something model_names hands out may have changed. */
void model_touch(struct ui_model *m);

/* line's answer came (or failed): it is no longer asked. */
void model_answered(struct ui_model *m, const char *line);

/* Marks a line to be asked again: its answer on screen is out of date. */
void model_again(struct ui_model *m, const char *line);

/* The same for the tracks of playlist name ("playlist list NAME"). */
void model_again_playlist(struct ui_model *m, const char *name);

/* ---- model_lists.c: the lists ---- */

void model_track_clear(struct ui_track *t);
void model_tracks_free(struct ui_track *t, size_t n);
/* Pointers to each of n tracks (the caller frees the array). */
const struct ui_track **model_track_ptrs(const struct ui_track *t, size_t n);

struct ui_artist *model_artist_find(const struct ui_model *m, uint64_t id);
void model_artist_albums_clear(struct ui_artist *a);
void model_artists_free(struct ui_artist *a, size_t n);

struct ui_album_tracks *model_album_find(const struct ui_model *m, uint64_t id);
/* The album's entry, added (not loaded) when there is none. */
struct ui_album_tracks *model_album_get(struct ui_model *m, uint64_t id);

/* The library's left pane: the row under its cursor (NULL: none). */
const struct ui_lib_row *model_lib_row(const struct ui_model *m);
void model_lib_rows_free(struct ui_model *m);
/* Rebuilds the left pane (artists, and the albums of the expanded ones)
 * with the cursor on the row it was on when that row is still there. */
void model_lib_rows_build(struct ui_model *m);
/* The tracks the right pane shows, which are the tracks the row under the
 * left cursor stands for: its album's, or those of every loaded album of
 * its artist. Pointers into m (the caller frees the array). */
size_t model_lib_right_tracks(const struct ui_model *m, const struct ui_track ***out);

void model_playlist_tracks_clear(struct ui_playlist *p);
void model_playlists_free(struct ui_playlist *p, size_t n);
struct ui_playlist *model_playlist_find(const struct ui_model *m, const char *name);
/* The playlist under the left cursor, whose tracks the right pane shows. */
struct ui_playlist *model_playlist_shown(const struct ui_model *m);

void model_queue_free(struct ui_queue_row *q, size_t n);

/* The focused list of the view on screen as tracks (pointers into m; the
 * caller frees the array) and its cursor. *whole: the row under the
 * cursor stands for the whole list (the library's or the playlists' left
 * pane: the right pane shows its tracks). */
size_t model_focused_tracks(const struct ui_model *m, const struct ui_track ***out, size_t *cursor,
                            bool *whole);

/* ---- model_lists.c: cursors ---- */

/* The rows a page holds (page up/down): at least one. */
size_t model_page_rows(const struct ui_model *m);

/* The cursor within [0, rows), and top such that the page shown from it
 * holds the cursor and is as full as the list allows. */
void model_scroll_fit(const struct ui_model *m, struct ui_scroll *s, size_t rows);

/* Puts a list's cursor on row (clamped). The library's and the playlists'
 * right panes show what the left cursor is on, so they start over when it
 * moves; the log follows its newest line while the cursor is on it. */
void model_cursor_set(struct ui_model *m, struct ui_scroll *s, size_t rows, size_t row);

/* The id of a list's row i: how a cursor finds its item again. */
typedef uint64_t (*model_row_id_fn)(const void *list, size_t i);

/* The item a cursor is on, taken before its list is replaced. */
struct model_mark {
    bool had; /* the cursor was on a row */
    uint64_t id;
};

struct model_mark model_mark(const struct ui_scroll *s, const void *list, size_t n,
                             model_row_id_fn id_at);

/* After the list was replaced: the cursor on the marked item's row (that
 * row when it still holds it, else the item's first row), else on the row
 * it was at, fitted to the new list. */
void model_keep(const struct ui_model *m, struct ui_scroll *s, const void *list, size_t n,
                model_row_id_fn id_at, struct model_mark mark);

/* model_mark and model_keep for the library's right pane, whose tracks
 * change with the albums of the row under the left cursor. */
struct model_mark model_lib_right_mark(const struct ui_model *m);
void model_lib_right_keep(struct ui_model *m, struct model_mark mark);

/* ---- model_find.c ---- */

/* search-start: in the search view the catalog is searched for text (a
 * line to o); elsewhere the cursor moves to the next row showing it. */
long model_search_start(struct ui_model *m, const char *text, struct model_lines *o, char **error);

/* search-next (forward) and search-prev: the last find again. */
long model_find_again(struct ui_model *m, bool forward, char **error);

#endif
