/* canvas: the screen as a grid of cells (see ui/canvas.h).
 *
 * Owns: the turning of UTF-8 text into cells by display columns. One
 * decoder (next_glyph) serves both canvas_put and text_width, so what
 * text_width measures is exactly what canvas_put takes and the views can
 * align columns with it. Every write keeps one invariant: a continuation
 * cell (width 0) always follows the first cell of its wide character, so
 * overwriting either half of a wide character turns the other half into a
 * space (break_wide_edges).
 *
 * Threads: one (the UI's); pure: no I/O, no terminal. */
#include "ui/canvas.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "base/xmalloc.h"

#define REPLACEMENT_CHAR "\xEF\xBF\xBD" /* U+FFFD, for invalid UTF-8 */

/* One character of text as the canvas draws it. */
struct glyph {
    char bytes[CANVAS_CELL_BYTES]; /* UTF-8, NUL-terminated */
    size_t len;
    int width; /* 0: a combining mark (joins the cell before), 1 or 2 */
};

static void glyph_set(struct glyph *g, const char *bytes, size_t len, int width)
{
    memcpy(g->bytes, bytes, len);
    g->bytes[len] = '\0';
    g->len = len;
    g->width = width;
}

static bool is_control(wchar_t wc)
{
    return wc < 0x20 || (wc >= 0x7f && wc < 0xa0);
}

/* Decodes the next character of *p and advances *p past it; false at the
 * end of the text. */
static bool next_glyph(const char **p, mbstate_t *st, struct glyph *g)
{
    const char *s = *p;
    if (!*s)
        return false;
    size_t avail = strnlen(s, MB_LEN_MAX);
    wchar_t wc;
    size_t n = mbrtowc(&wc, s, avail, st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        /* invalid: one byte becomes U+FFFD; cut short at the end: all of it */
        memset(st, 0, sizeof(*st));
        *p = s + (n == (size_t)-2 ? avail : 1);
        glyph_set(g, REPLACEMENT_CHAR, strlen(REPLACEMENT_CHAR), 1);
        return true;
    }
    *p = s + n;
    int width = is_control(wc) ? -1 : wcwidth(wc);
    if (width < 0)
        glyph_set(g, "?", 1, 1);
    else
        glyph_set(g, s, n, width > 2 ? 2 : width);
    return true;
}

static struct canvas_cell *cell_at(struct canvas *c, int y, int x)
{
    return &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
}

static void cell_set(struct canvas_cell *cell, const char *text, int width, enum ui_attr attr)
{
    snprintf(cell->text, sizeof(cell->text), "%s", text);
    cell->width = (unsigned char)width;
    cell->attr = (unsigned char)attr;
}

static void cell_blank(struct canvas_cell *cell)
{
    cell_set(cell, " ", 1, (enum ui_attr)cell->attr);
}

/* Cells [x, x + w) of row y are about to be overwritten: a wide character
 * that straddles either edge loses its other half, which becomes a space. */
static void break_wide_edges(struct canvas *c, int y, int x, int w)
{
    if (cell_at(c, y, x)->width == 0 && x > 0)
        cell_blank(cell_at(c, y, x - 1));
    int last = x + w - 1;
    if (cell_at(c, y, last)->width == 2 && last + 1 < c->w)
        cell_blank(cell_at(c, y, last + 1));
}

/* Puts one glyph of width 1 or 2 at (y, x), which the caller has checked
 * is inside the canvas with room for the width. */
static struct canvas_cell *put_glyph(struct canvas *c, int y, int x, const struct glyph *g,
                                     enum ui_attr attr)
{
    break_wide_edges(c, y, x, g->width);
    struct canvas_cell *cell = cell_at(c, y, x);
    cell_set(cell, g->bytes, g->width, attr);
    if (g->width == 2)
        cell_set(cell_at(c, y, x + 1), "", 0, attr);
    return cell;
}

static void put_space(struct canvas *c, int y, int x, enum ui_attr attr)
{
    static const struct glyph space = {" ", 1, 1};
    put_glyph(c, y, x, &space, attr);
}

/* A combining mark joins the cell drawn before it, while it has room. */
static void join_mark(struct canvas_cell *cell, const struct glyph *g)
{
    if (!cell)
        return;
    size_t used = strlen(cell->text);
    if (used + g->len < sizeof(cell->text))
        memcpy(cell->text + used, g->bytes, g->len + 1);
}

struct canvas *canvas_new(int w, int h)
{
    struct canvas *c = xcalloc(1, sizeof(*c));
    c->w = w < 1 ? 1 : w;
    c->h = h < 1 ? 1 : h;
    c->cells = xcalloc((size_t)c->w * (size_t)c->h, sizeof(*c->cells));
    canvas_clear(c);
    return c;
}

void canvas_free(struct canvas *c)
{
    if (!c)
        return;
    free(c->cells);
    free(c);
}

void canvas_clear(struct canvas *c)
{
    size_t n = (size_t)c->w * (size_t)c->h;
    for (size_t i = 0; i < n; i++)
        cell_set(&c->cells[i], " ", 1, UI_ATTR_NORMAL);
}

int canvas_put(struct canvas *c, int y, int x, int maxw, enum ui_attr attr, const char *text)
{
    if (!c || !text || y < 0 || y >= c->h || maxw <= 0)
        return 0;
    long long end_ll = (long long)x + maxw;
    int end = end_ll > c->w ? c->w : (int)end_ll;
    int col = x;
    struct canvas_cell *last = NULL; /* where a combining mark goes */
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    struct glyph g;
    while (next_glyph(&text, &st, &g)) {
        if (g.width == 0) {
            join_mark(last, &g);
            continue;
        }
        if (col >= end)
            break;
        if (col + g.width > end) {
            /* a wide character with one column left: a space there */
            if (col >= 0)
                put_space(c, y, col, attr);
            col++;
            break;
        }
        if (col >= 0)
            last = put_glyph(c, y, col, &g, attr);
        else if (col + g.width > 0)
            put_space(c, y, 0, attr); /* the visible half of a wide character */
        col += g.width;
    }
    return col - x;
}

int canvas_putf(struct canvas *c, int y, int x, int maxw, enum ui_attr attr, const char *fmt, ...)
{
    char small[256];
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    int written = 0;
    if (n >= 0 && (size_t)n < sizeof(small)) {
        written = canvas_put(c, y, x, maxw, attr, small);
    } else if (n >= 0) {
        char *big = xmalloc((size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, again);
        written = canvas_put(c, y, x, maxw, attr, big);
        free(big);
    }
    va_end(again);
    return written;
}

int canvas_put_fit(struct canvas *c, int y, int x, int width, enum ui_attr attr, const char *text,
                   bool right_align)
{
    if (width <= 0)
        return 0;
    if (!text)
        text = "";
    int tw = text_width(text);
    if (tw > width) {
        /* canvas_put fills all width - 1 columns here: the text is longer,
         * and a wide character cut at the end leaves a space */
        int n = canvas_put(c, y, x, width - 1, attr, text);
        canvas_put(c, y, x + n, 1, attr, "…");
        return width;
    }
    int pad = width - tw;
    if (right_align) {
        canvas_fill(c, y, x, pad, attr);
        canvas_put(c, y, x + pad, tw, attr, text);
    } else {
        canvas_put(c, y, x, tw, attr, text);
        canvas_fill(c, y, x + tw, pad, attr);
    }
    return width;
}

/* Clips [x, x + w) of row y to the canvas; false when nothing is left. */
static bool clip_span(const struct canvas *c, int y, int *x, int *w)
{
    if (y < 0 || y >= c->h || *w <= 0)
        return false;
    long long end = (long long)*x + *w;
    if (end > c->w)
        end = c->w;
    if (*x < 0)
        *x = 0;
    *w = (int)(end - *x);
    return *w > 0;
}

void canvas_set_attr(struct canvas *c, int y, int x, int w, enum ui_attr attr)
{
    if (!clip_span(c, y, &x, &w))
        return;
    for (int i = 0; i < w; i++)
        cell_at(c, y, x + i)->attr = (unsigned char)attr;
}

void canvas_fill(struct canvas *c, int y, int x, int w, enum ui_attr attr)
{
    if (!clip_span(c, y, &x, &w))
        return;
    break_wide_edges(c, y, x, w);
    for (int i = 0; i < w; i++)
        cell_set(cell_at(c, y, x + i), " ", 1, attr);
}

const struct canvas_cell *canvas_cell(const struct canvas *c, int y, int x)
{
    if (!c || y < 0 || y >= c->h || x < 0 || x >= c->w)
        return NULL;
    return &c->cells[(size_t)y * (size_t)c->w + (size_t)x];
}

bool canvas_row_equal(const struct canvas *a, const struct canvas *b, int y)
{
    if (a->w != b->w || y < 0 || y >= a->h || y >= b->h)
        return false;
    for (int x = 0; x < a->w; x++) {
        const struct canvas_cell *ca = canvas_cell(a, y, x), *cb = canvas_cell(b, y, x);
        if (ca->width != cb->width || ca->attr != cb->attr || strcmp(ca->text, cb->text) != 0)
            return false;
    }
    return true;
}

char *canvas_row_text(const struct canvas *c, int y)
{
    if (y < 0 || y >= c->h)
        return xstrdup("");
    size_t len = 0;
    for (int x = 0; x < c->w; x++)
        len += strlen(canvas_cell(c, y, x)->text);
    char *out = xmalloc(len + 1), *p = out;
    for (int x = 0; x < c->w; x++) {
        const char *t = canvas_cell(c, y, x)->text;
        size_t n = strlen(t);
        memcpy(p, t, n);
        p += n;
    }
    *p = '\0';
    return out;
}

int text_width(const char *text)
{
    if (!text)
        return 0;
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    struct glyph g;
    int width = 0;
    while (next_glyph(&text, &st, &g))
        width += g.width;
    return width;
}
