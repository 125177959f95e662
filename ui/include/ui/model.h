/* model: what the TUI shows, fed by the engine and moved by the keys —
 * pure, so the tests check "what each view shows for a given snapshot"
 * without a terminal (views.c draws it; tui.c feeds it).
 *
 * Feeding it:
 *  - model_set_snapshot: the engine's coalesced snapshot (core/mq.h).
 *  - model_on_result: the answer to a command line the TUI sent (the line
 *    itself tells what it answers: "browse albums #3", "queue list",
 *    "playlist list Mix", "search foo"...). Lists are JSON as
 *    chorus remote --json prints them (chorus(1), JSON).
 *  - model_on_event: the engine's events (track changed, queue or
 *    playlists changed, service state, errors): they go to the log view
 *    and may make the model want a list again.
 *  - model_log: a line of the log view (the TUI's own notes).
 *
 * Asking for data: model_wants returns the command lines whose answers
 * the model lacks for what is on screen (browse artists at start, the
 * albums of an expanded artist, the tracks of the album under the cursor,
 * queue list after MQ_EV_QUEUE_CHANGED, ...); each line is returned once
 * until its answer (or failure) arrives.
 *
 * Acting: model_action runs one TUI command of the table (CMD_F_UI:
 * view, win-*, search-next/prev) on the view on screen and returns the
 * engine command lines it comes to (win-activate on a track of the
 * library: "play #7" then "queue add #8"... for the rest of its album).
 *
 * Threads: one (the UI's); pure (no I/O, no engine calls). */
#ifndef CHORUS_UI_MODEL_H
#define CHORUS_UI_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmd.h"
#include "core/mq.h"

struct ui_track {
    uint64_t id;
    char *title, *artist, *album; /* never NULL ("" when unknown) */
    int number;                   /* on its album; 0: unknown */
    int64_t duration_ms;          /* 0: unknown */
};

/* A scrollable list's place: the cursor row and the first row shown. */
struct ui_scroll {
    size_t cursor, top;
};

/* Library, left pane: artists, each followed by its albums when
 * expanded. */
struct ui_lib_row {
    bool is_album;
    uint64_t id;  /* artist or album id of the catalog */
    char *name;   /* the artist's name or the album's title */
    size_t owner; /* an album's artist: index into artists */
};

struct ui_artist {
    uint64_t id;
    char *name;
    bool expanded;
    int albums_state; /* enum ui_load */
    uint64_t *album_ids;
    char **album_titles;
    size_t nalbums;
};

/* Tracks of one album, once browsed. */
struct ui_album_tracks {
    uint64_t album_id;
    int state; /* enum ui_load */
    struct ui_track *tracks;
    size_t n;
};

enum ui_load { UI_NOT_LOADED = 0, UI_LOADING, UI_LOADED, UI_LOAD_FAILED };

struct ui_playlist {
    char *name;
    size_t count;
    bool keep_offline; /* "keep offline" is on */
    int tracks_state;  /* enum ui_load */
    struct ui_track *tracks;
    size_t ntracks;
};

struct ui_queue_row {
    struct ui_track t;
    bool current;
};

/* The peers view's sort column (win-sort cycles them). */
enum ui_peer_sort {
    UI_SORT_RATE_DOWN = 0,
    UI_SORT_RATE_UP,
    UI_SORT_BYTES_DOWN,
    UI_SORT_BYTES_UP,
    UI_SORT_RTT,
    UI_SORT_ADDRESS,
    UI_SORT_COUNT
};

#define UI_LOG_MAX 500 /* lines the log view keeps */

struct ui_log_line {
    char *text;
    bool error;
    int64_t when; /* unix seconds */
};

struct ui_model_internal;

struct ui_model {
    enum cmd_view view;
    struct mq_snapshot snap; /* the latest; zeroes before the first */
    bool have_snap;

    /* 1 library */
    struct ui_artist *artists;
    size_t nartists;
    int artists_state;           /* enum ui_load */
    struct ui_lib_row *lib_rows; /* the left pane as shown (rebuilt on expand) */
    size_t nlib_rows;
    struct ui_album_tracks *albums; /* tracks browsed so far, any album */
    size_t nalbums;
    struct ui_scroll lib_left, lib_right;
    bool lib_focus_right;

    /* 2 playlists */
    struct ui_playlist *playlists;
    size_t nplaylists;
    int playlists_state;
    struct ui_scroll pl_left, pl_right;
    bool pl_focus_right;

    /* 3 queue */
    struct ui_queue_row *queue;
    size_t nqueue;
    int queue_state;
    struct ui_scroll queue_scroll;

    /* 4 search */
    char *search_query; /* the last catalog search; NULL: none yet */
    struct ui_track *results;
    size_t nresults;
    int results_state;
    struct ui_scroll search_scroll;

    /* 5 peers */
    enum ui_peer_sort peer_sort;
    struct ui_scroll peers_scroll;

    /* 6 log */
    struct ui_log_line log[UI_LOG_MAX]; /* a ring: log_start is the oldest */
    size_t log_start, nlog;
    struct ui_scroll log_scroll;
    bool log_follow; /* the cursor stays on the newest line */

    /* the last find of search-start in a view ("/" text); NULL: none */
    char *find;

    /* rows of the body the views last had (for page up/down) */
    int body_rows;

    /* internal: lines asked and not answered (model_wants) */
    char **asked;
    size_t nasked;
    /* internal (model.c): lines to ask again, the names of model_names
     * (a pointer, so that model_names can rebuild them for a const m) */
    struct ui_model_internal *internal;
};

void model_init(struct ui_model *m);
void model_free(struct ui_model *m);

void model_set_snapshot(struct ui_model *m, const struct mq_snapshot *s);

/* line: the command line the answer is for, exactly as the TUI sent it.
 * status 0: data is its JSON (may be NULL); else message says why. */
void model_on_result(struct ui_model *m, const char *line, int status, const char *message,
                     const json_t *data);

/* An engine event (the model does not take msg). */
void model_on_event(struct ui_model *m, const struct mq_msg *msg, int64_t now);

void model_log(struct ui_model *m, bool error, int64_t now, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The lines to send for what the model lacks (see above). Returns the
 * count; *lines owned by the caller (free each and the array). */
size_t model_wants(struct ui_model *m, char ***lines);

/* Runs a TUI command (def->flags & CMD_F_UI) on the view on screen;
 * arg: the name the TUI asked for (win-add-playlist: the playlist; the
 * text of search-start), else NULL. Returns the count of engine lines it
 * comes to (*lines owned by the caller, NULL when none) or -1 with *error
 * (owned by the caller) when the command has nothing to act on here
 * ("win-keep: not a playlist"). win-remove and quit are confirmed by the
 * TUI before they get here. */
long model_action(struct ui_model *m, const struct cmd *c, const char *arg, char ***lines,
                  char **error);

/* What win-remove would remove, for the TUI's question ("Remove 'Song'
 * from the queue?"); NULL when nothing. Owned by the caller. */
char *model_remove_question(const struct ui_model *m);

/* The scroll state and row count of the focused list of the view on
 * screen (NULL for a view without one). */
struct ui_scroll *model_focus(struct ui_model *m, size_t *rows);

/* Names for the `:` line's completion (borrowed from m until it
 * changes): titles of every track the model holds, artists, playlists. */
void model_names(const struct ui_model *m, const char ***tracks, size_t *ntracks,
                 const char ***artists, size_t *nartists, const char ***playlists,
                 size_t *nplaylists);

#endif
