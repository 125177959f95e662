/* views: draws the whole screen for a model into a canvas (chorus(1),
 * VIEWS). tui.c sends the canvas to the terminal; the tests read it.
 *
 * Layout of an W x H screen (at least VIEWS_MIN_W x VIEWS_MIN_H; smaller
 * gets one centred line saying so):
 *   row 0        the view tabs: "1 Library  2 Playlists ... 6 Log"
 *   rows 1..H-5  the view on screen
 *   row H-4      now playing: state, title — artist, where its bytes come
 *                from (cache / peers / service), seconds buffered
 *   row H-3      the progress bar with elapsed / total as m:ss / m:ss
 *   row H-2      the status line: peers n/60, upload slots k/4, cache hit
 *                rate, service online/offline, repeat, shuffle, volume
 *   row H-1      the prompt (":", "/", a question) or the last message
 *
 * Threads: one (the UI's); pure. */
#ifndef CHORUS_UI_VIEWS_H
#define CHORUS_UI_VIEWS_H

#include <stdbool.h>

#include "ui/canvas.h"
#include "ui/model.h"

#define VIEWS_MIN_W 80
#define VIEWS_MIN_H 24

/* What the TUI shows over the views. */
struct ui_overlay {
    const char *prompt;  /* ":", "/", "Quit Chorus? [y/N] "...; NULL: no prompt */
    const char *input;   /* the text typed after the prompt ("" when none) */
    int input_col;       /* the cursor, in columns from the start of input */
    const char *message; /* shown in the last row when there is no prompt */
    bool message_error;
    /* the help screen over the body: its lines (the TUI builds them from
     * the key map and the command table), the first one shown */
    bool help;
    const char *const *help_lines;
    int nhelp, help_top;
};

/* Draws everything; sets m->body_rows. Returns the column of the
 * terminal cursor on the last row when a prompt is open, else -1. */
int views_draw(struct ui_model *m, const struct ui_overlay *ov, struct canvas *c);

/* Helpers the tests check too. */
/* "m:ss" (or "h:mm:ss" past an hour) of ms into buf. Negative: "-:--". */
void views_format_time(int64_t ms, char *buf, size_t size);
/* "1.2 MB", "340 kB", "12 B" (SI units, as rates are shown: "/s" added by
 * the caller). */
void views_format_bytes(uint64_t bytes, char *buf, size_t size);
/* The cache hit rate of a snapshot in percent; -1 before any playback. */
int views_hit_rate(const struct mq_snapshot *s);
/* Where the playing track's bytes come from, from its chunk map: "cache",
 * "peers", "service", or a mix as "peers 80% · service 20%"; "" when
 * nothing plays. */
void views_track_source(const struct mq_snapshot *s, char *buf, size_t size);
/* The peers view's rows: indexes into s->conns in the order of the
 * model's peer_sort (ties by address). Returns the count. */
int views_peer_order(const struct ui_model *m, int order[MQ_MAX_CONNS]);
/* Log line i of the model (0: the oldest kept). */
const struct ui_log_line *views_log_line(const struct ui_model *m, size_t i);

#endif
