/* cmdline: the `:` command line (and the TUI's other one-line prompts) —
 * an editable UTF-8 line, its history and Tab completion (chorus(1),
 * COMMAND LINE).
 *
 * Editing: printable text inserts at the cursor; left/right, home/end
 * (^A/^E), backspace, delete, ^U (kill to start), ^W (kill a word), ^K
 * (kill to end). up/down walk the history (the line being typed is kept
 * and comes back past the newest entry). Tab completes the word before
 * the cursor, repeated Tab cycles through the candidates, shift-Tab
 * (KEY_BTAB) goes back; any other key ends the cycle. Enter submits,
 * Escape or ^C cancels (^G too).
 *
 * Completion (complete_line): the first words complete to command names
 * of the table (core/cmd.h: "pl" -> "playlist ", "playlist k" ->
 * "playlist keep "); the arguments complete by what the command takes:
 * playlist names for playlist commands (quoted with cmd_quote when they
 * hold spaces), view names for `view`, on/off, off/one/all, and, for
 * commands that take a QUERY (play, queue add, search...), track titles
 * and artist names from struct complete_names. Matching ignores case
 * and is by prefix; a playlist name with spaces completes as one quoted
 * word. A query is the rest of the line, so it completes as a whole:
 * what is typed of it ("play bohe", "play bohemian rh") becomes a whole
 * title or artist name, written bare ("play Bohemian Rhapsody": cmd_parse
 * joins a query's words with single spaces, so it is the same query)
 * unless a word of it would not read back as itself (a quote, "#1",
 * "--x", two spaces in a row): then as one quoted word. No space follows
 * a completed query (Enter runs it; another Tab offers longer names). Its
 * first word also completes to --all where the command takes it.
 *
 * History: the newest last, no two equal entries in a row, at most
 * max entries; cmdline_history_load/save read and write one entry per
 * line (the TUI keeps it in the state directory).
 *
 * Threads: one (the UI's); pure apart from the history file. */
#ifndef CHORUS_UI_CMDLINE_H
#define CHORUS_UI_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Names completion draws on (borrowed for the call; any may be empty). */
struct complete_names {
    const char *const *tracks; /* titles */
    size_t ntracks;
    const char *const *artists;
    size_t nartists;
    const char *const *playlists;
    size_t nplaylists;
};

/* The candidates for the word that ends line (completion at the end of
 * what is typed before the cursor): each is the whole line with that
 * word completed (a trailing space after a complete command word or
 * argument that leaves nothing more to type in it). Sorted, no
 * duplicates. Returns the count; *out (owned by the caller: free each and
 * the array) is NULL when there is none. */
size_t complete_line(const char *line, const struct complete_names *names, char ***out);

enum cmdline_result {
    CMDLINE_NONE,    /* nothing changed (an unknown key) */
    CMDLINE_CHANGED, /* the text or cursor changed: redraw */
    CMDLINE_SUBMIT,  /* Enter: cmdline_text is the line (added to history) */
    CMDLINE_CANCEL,  /* Escape, ^C, ^G: leave the line */
};

struct cmdline;

/* history_max: entries kept (0: no history). */
struct cmdline *cmdline_new(size_t history_max);
void cmdline_free(struct cmdline *cl);

/* Empties the line (and ends a completion cycle); text (may be NULL)
 * fills it with the cursor at its end. */
void cmdline_reset(struct cmdline *cl, const char *text);

/* Handles one key (an ncurses code; wide characters as their code point
 * with is_char true, as wget_wch reports them). names: what Tab completes
 * against (may be NULL: commands only). */
enum cmdline_result cmdline_key(struct cmdline *cl, int code, bool is_char,
                                const struct complete_names *names);

/* The line (UTF-8; borrowed until the next call). */
const char *cmdline_text(const struct cmdline *cl);

/* The cursor as a count of display columns from the start of the line. */
int cmdline_cursor_column(const struct cmdline *cl);

/* Adds line to the history (done by Enter; for lines run otherwise). */
void cmdline_history_add(struct cmdline *cl, const char *line);

/* The history, oldest first (borrowed). */
size_t cmdline_history(const struct cmdline *cl, const char *const **entries);

/* Reads / writes the history file (one line each; a missing file is an
 * empty history). Return 0 or -errno. */
int cmdline_history_load(struct cmdline *cl, const char *path);
int cmdline_history_save(const struct cmdline *cl, const char *path);

#endif
