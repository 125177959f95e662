/* keymap: which key runs which command line (DESIGN §8; chorus(1) KEYS).
 *
 * A binding maps one key to one line of the command table (core/cmd.h):
 * an engine command ("seek +5") or a TUI one ("win-down"). The defaults are
 * cmus/vi style; chorus.conf's [keys] section rebinds ("j = win-down",
 * "F5 = view peers", "x = " unbinds). One global map: the same key does
 * the same thing in every view (the row commands, win-*, act on the view
 * on screen).
 *
 * Keys are ncurses key codes (wgetch with keypad on): printable ASCII as
 * itself, control keys as 1..26, KEY_UP etc. Names, as in [keys] and as
 * `?` lists them: a printable character ("j", "<", "+", "?"), "^A".."^Z",
 * "enter", "tab", "space", "backspace", "delete", "escape", "up", "down",
 * "left", "right", "home", "end", "page-up", "page-down", "insert",
 * "F1".."F12". A literal space or '#' is written "space" / "#" in quotes.
 * Names of more than one character ignore case ("Enter", "f5", "^f").
 * Enter is one key whatever code the terminal sends (10, 13, KEY_ENTER),
 * and so is Backspace (KEY_BACKSPACE, 127, 8): keymap_key_code gives one
 * code for each, and "^J"/"^M", "^I", "^H" name enter, tab, backspace.
 *
 * Threads: one (the UI's); pure, no I/O. */
#ifndef CHORUS_UI_KEYMAP_H
#define CHORUS_UI_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

struct keymap;

/* A map holding the default bindings. */
struct keymap *keymap_new(void);
void keymap_free(struct keymap *m);

/* The key code of a name, or -1 when the name is no key. */
int keymap_key_code(const char *name);

/* The name of a key code ("j", "^F", "page-down"), or NULL for a code
 * with no name. The string is static. */
const char *keymap_key_name(int code);

/* Binds the named key to line, replacing what it had. line must parse
 * with cmd_parse (so a typo is refused at start, not when pressed); an
 * empty line unbinds. Returns 0, or -1 with *error set (owned by the
 * caller; may be NULL) naming the key and why, e.g.
 * "[keys] 'Q': not a key (chorus.conf(5) lists the names)". */
int keymap_bind(struct keymap *m, const char *key_name, const char *line, char **error);

/* The command line bound to code, or NULL. Borrowed from m. */
const char *keymap_lookup(const struct keymap *m, int code);

/* Every binding in help order (the default bindings' order, then added
 * keys by name), for `?`. Returns the count; *codes and *lines are
 * borrowed arrays valid until the next keymap_bind. */
size_t keymap_list(const struct keymap *m, const int **codes, const char *const **lines);

/* The keys bound to exactly this line, as "j, down" (for the help of a
 * command); "" when none. Owned by the caller. */
char *keymap_keys_for(const struct keymap *m, const char *line);

#endif
