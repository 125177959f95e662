/* views_internal: what the views' files share (views.c: the frame around
 * the body and the public helpers; views_lists.c: the library, playlists,
 * queue, search, log and help bodies; views_peers.c: the peers view).
 * Private to ui/. */
#ifndef CHORUS_UI_VIEWS_INTERNAL_H
#define CHORUS_UI_VIEWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/canvas.h"
#include "ui/model.h"
#include "ui/views.h"

/* A rectangle of the canvas a view draws into. */
struct view_area {
    int y, x, w, h;
};

/* The attribute of a list row: the cursor row is SELECTED in the focused
 * list and CURSOR in the other pane; else the playing row is PLAYING. */
enum ui_attr views_row_attr(bool under_cursor, bool focused, bool playing);

/* The cursor of a list of n rows, kept inside it (0 when empty). */
size_t views_list_cursor(const struct ui_scroll *s, size_t n);

/* The first row to draw of a list of n rows shown in `rows` rows: the
 * model's top, moved so that the cursor shows and no row is left empty
 * past the end of the list. */
size_t views_list_top(const struct ui_scroll *s, size_t n, int rows);

/* A line of text in a pane that has no list to show ("loading…"). */
void views_note(struct canvas *c, const struct view_area *a, const char *text);

/* The columns of a track row: number (or queue position), title, artist,
 * album (when shown), duration. */
struct track_layout {
    int num_x, num_w;
    int title_x, title_w;
    int artist_x, artist_w;
    int album_x, album_w; /* album_w 0: no album column */
    int time_x, time_w;
    int x, w; /* the whole row */
};

/* Columns for a row of width w from x; num_w: the prefix column. */
void views_track_layout(int x, int w, int num_w, bool album, struct track_layout *l);

/* One track row in attr across the whole width; prefix goes in the
 * number column. */
void views_track_row(struct canvas *c, int y, const struct track_layout *l, enum ui_attr attr,
                     const char *prefix, const struct ui_track *t);

/* The column titles of a track list ("#", "Title", ...). */
void views_track_header(struct canvas *c, int y, const struct track_layout *l);

/* The bodies. Each draws the view into a and returns the rows its list
 * gets (the model's body_rows). */
int views_draw_library(const struct ui_model *m, struct canvas *c, const struct view_area *a);
int views_draw_playlists(const struct ui_model *m, struct canvas *c, const struct view_area *a);
int views_draw_queue(const struct ui_model *m, struct canvas *c, const struct view_area *a);
int views_draw_search(const struct ui_model *m, struct canvas *c, const struct view_area *a);
int views_draw_log(const struct ui_model *m, struct canvas *c, const struct view_area *a);
int views_draw_help(const struct ui_overlay *ov, struct canvas *c, const struct view_area *a);
int views_draw_peers(const struct ui_model *m, struct canvas *c, const struct view_area *a);

#endif
