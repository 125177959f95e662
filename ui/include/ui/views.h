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
 * Marks, all readable without colours (the attributes come on top):
 *   ▶ ‖ ■ ⧗   playing, paused, stopped, buffering (the bar also says
 *             "buffering", before the title so a cut title never hides it)
 *   ▾ ▸       an expanded / a collapsed artist in the library's tree
 *   ▶         before a queue or search row: the track that plays
 *   ⤓         after a playlist's track count: kept offline
 *   ▼ ▲       after a peers column's title: the sort, descending / ascending
 *   chunk map █ cache, ▓ peers, ▒ service, · missing; "▼" above the
 *             character that plays, itself drawn UI_ATTR_PLAYHEAD. One row
 *             of at most W-2 characters: with more cells than that, a
 *             character stands for a group of cells and shows the worst of
 *             them (missing > service > peers > cache): a hole or a slow
 *             fetch is what the map is there to show.
 * Narrow screens: the peers table leaves out its Req and Served columns
 * when the address would get fewer than 21 columns (80 columns); the
 * status line shows the rates at its right only where they fit (from
 * about 100 columns); the now-playing bar cuts the title before the
 * source. A pane whose list cannot show says why in the pane ("loading…",
 * "the catalog cannot be reached: the service is offline", "no artists").
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
