/* ui/internal.h: what the TUI's own files share (not part of ui's API).
 *
 * screen.c owns the terminal: ncurses set-up and restore (every exit
 * path, crash signals included), colours, reading keys, and sending a
 * canvas to the terminal row by row where it changed. help.c builds the
 * help screen's lines. tui.c runs the loop; login_form.c the first-run
 * form. */
#ifndef CHORUS_UI_INTERNAL_H
#define CHORUS_UI_INTERNAL_H

#include <stdbool.h>

#include "base/settings.h"
#include "ui/canvas.h"
#include "ui/keymap.h"

struct screen {
    int w, h;
    bool colors;              /* colour pairs in use */
    int attrs[UI_ATTR_COUNT]; /* ncurses attributes (a colour pair included) */
    struct canvas *front;     /* what the terminal shows */
};

/* Opens the terminal (newterm on stdin/stdout), raw keys, colours as
 * settings and NO_COLOR say. Returns 0, or -1 with *error (owned by the
 * caller) when the terminal cannot be used or [colors] is wrong. */
int screen_open(struct screen *s, const struct chorus_settings *settings, char **error);

/* Restores the terminal. Safe to call twice. */
void screen_close(struct screen *s);

/* Sends the rows of c that differ from what is on the terminal, then puts
 * the terminal cursor at (last row, cursor_col), hidden when -1. */
void screen_draw(struct screen *s, const struct canvas *c, int cursor_col);

/* After a resize: the terminal's new size; everything is redrawn next. */
void screen_resize(struct screen *s);

/* The next screen_draw redraws every row (^L, refresh). */
void screen_invalidate(struct screen *s);

/* One key without waiting: returns false when none is pending. A
 * character comes with is_char (its code point), a function key without
 * (KEY_*). */
bool screen_key(int *code, bool *is_char);

/* The help screen: keys as they are bound now, then every command of the
 * table. Returns the count; *lines owned by the caller (help_free). */
int help_build(const struct keymap *keys, char ***lines);
void help_free(char **lines, int n);

#endif
