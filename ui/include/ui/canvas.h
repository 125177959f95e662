/* canvas: the screen as a grid of cells the views draw into, compared row
 * by row with the previous frame so the TUI sends the terminal only the
 * rows that changed (no flicker; the peers view redraws once a second).
 *
 * Text is UTF-8 and placed by display columns (wcwidth under the
 * process's locale, which the TUI sets from the environment; the tests
 * set a UTF-8 one): a wide character takes two cells (the second is a
 * continuation with width 0), a wide character that does not fit in the
 * space left becomes a space, combining marks join the cell before them,
 * control characters show as '?', and invalid UTF-8 as U+FFFD. Nothing is
 * drawn outside the canvas or past maxw.
 *
 * Threads: one (the UI's); pure. */
#ifndef CHORUS_UI_CANVAS_H
#define CHORUS_UI_CANVAS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* What a cell looks like: the TUI maps each to a colour pair and
 * attributes (chorus.conf(5) [colors]), or to bold/reverse/underline
 * without colours. */
enum ui_attr {
    UI_ATTR_NORMAL = 0,
    UI_ATTR_TABS,       /* the view tabs line */
    UI_ATTR_TAB_ACTIVE, /* the tab of the view on screen */
    UI_ATTR_HEADER,     /* a column header, a section title */
    UI_ATTR_SELECTED,   /* the cursor row of the focused pane */
    UI_ATTR_CURSOR,     /* the cursor row of a pane without focus */
    UI_ATTR_PLAYING,    /* the row of the track that plays */
    UI_ATTR_DIM,        /* less important text */
    UI_ATTR_BAR,        /* the now-playing bar */
    UI_ATTR_PROGRESS,   /* the done part of the progress bar */
    UI_ATTR_STATUS,     /* the status line */
    UI_ATTR_ERROR,      /* an error message */
    UI_ATTR_CACHE,      /* chunk map / source: from the cache */
    UI_ATTR_PEER,       /*   from peers */
    UI_ATTR_SERVICE,    /*   from the service */
    UI_ATTR_MISSING,    /*   not here yet */
    UI_ATTR_PLAYHEAD,   /* the chunk map cell that plays */
    UI_ATTR_COUNT
};

#define CANVAS_CELL_BYTES 16 /* one character and its combining marks, UTF-8 */

struct canvas_cell {
    char text[CANVAS_CELL_BYTES]; /* NUL-terminated; "" for a wide char's second cell */
    unsigned char width;          /* 1, 2 (wide), 0 (continuation) */
    unsigned char attr;           /* enum ui_attr */
};

struct canvas {
    int w, h;
    struct canvas_cell *cells; /* h rows of w */
};

/* A canvas of w x h blank cells (w, h >= 1). */
struct canvas *canvas_new(int w, int h);
void canvas_free(struct canvas *c);

/* Every cell a space with UI_ATTR_NORMAL. */
void canvas_clear(struct canvas *c);

/* Writes text at row y from column x, at most maxw columns (and never
 * past the right edge). Returns the columns written. */
int canvas_put(struct canvas *c, int y, int x, int maxw, enum ui_attr attr, const char *text);

/* The same with printf formatting. */
int canvas_putf(struct canvas *c, int y, int x, int maxw, enum ui_attr attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* text fitted to exactly width columns: cut with "…" when longer, padded
 * with spaces when shorter (right_align: spaces first). Returns columns. */
int canvas_put_fit(struct canvas *c, int y, int x, int width, enum ui_attr attr, const char *text,
                   bool right_align);

/* Sets the attribute of w cells from (y, x), clipped: a cursor row. */
void canvas_set_attr(struct canvas *c, int y, int x, int w, enum ui_attr attr);

/* Fills w cells from (y, x) with spaces of attr. */
void canvas_fill(struct canvas *c, int y, int x, int w, enum ui_attr attr);

/* The cell at (y, x); NULL outside. */
const struct canvas_cell *canvas_cell(const struct canvas *c, int y, int x);

/* True when row y of a and b (same size) look the same. */
bool canvas_row_equal(const struct canvas *a, const struct canvas *b, int y);

/* Row y as UTF-8 text, trailing spaces kept (owned by the caller). */
char *canvas_row_text(const struct canvas *c, int y);

/* The display columns of text (what canvas_put would take, unclipped). */
int text_width(const char *text);

#endif
