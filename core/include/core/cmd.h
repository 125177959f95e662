/* cmd: the engine's one command table (as cmus has: DESIGN §2, §8).
 *
 * Every command is defined once, as a row of the table in core/cmd.c:
 * its words ("queue add"), its arguments, its help line and its flags.
 * The TUI's key map, its `:` line and `chorus remote` all turn text into
 * the same typed struct cmd with cmd_parse, and the engine runs it
 * (engine_send from any thread, or engine_exec on the engine's loop).
 *
 * Argument syntax (what cmd_parse accepts; chorus(1) lists every command):
 *   play --all | play TRACK-ID | play QUERY...      replace the queue, start it
 *   pause | resume | toggle | stop | next | prev
 *   seek SECONDS | seek M:SS | seek +N | seek -N    (+/- relative, in seconds or m:ss)
 *   volume N | volume +N | volume -N                (0..100)
 *   queue add (--all | TRACK-ID | QUERY...)         append
 *   queue insert POS (--all | TRACK-ID | QUERY...)  insert before POS (1-based)
 *   queue remove POS | queue move FROM TO | queue clear | queue list
 *   repeat [off|one|all]                            no argument: cycles
 *   shuffle [on|off]                                no argument: toggles
 *   playlist create NAME | playlist rename OLD NEW | playlist delete NAME
 *   playlist add NAME (--all | TRACK-ID | QUERY...) | playlist remove NAME POS
 *   playlist move NAME FROM TO | playlist load NAME | playlist list [NAME]
 *   playlist keep NAME [on|off]                     keep offline (no argument: toggles)
 *   queue play POS                                  play position POS of the queue
 *   search QUERY...                                 tracks matching QUERY
 *   browse [artists | albums ARTIST-ID | tracks ALBUM-ID]
 *   status | peers | quit
 * and the TUI's own commands (flag CMD_F_UI: parsed here so that key
 * bindings, the `:` line and its completion share one table, run by the
 * TUI; the engine and the remote socket refuse them):
 *   view (library|playlists|queue|search|peers|log | 1..6)
 *   win-down | win-up | win-top | win-bottom | win-page-down | win-page-up
 *   win-next | win-activate | win-add-queue | win-add-playlist | win-remove
 *   win-move-down | win-move-up | win-sort | win-keep
 *   search-start | search-next | search-prev | command-mode | help | refresh
 * A TRACK-ID is the catalog's track id written as "#123" (a bare number is
 * a query: a title may be a number); --all and a TRACK-ID stand alone,
 * other words starting with "--" are refused, and the words of a QUERY are
 * joined by single spaces. browse's ids may be written "#12" or "12".
 * Positions are 1-based on the line and 0-based in struct cmd. M:SS has
 * two digits of seconds (0-59). Names with spaces are quoted: the line is
 * split into words like a shell does ('single', "double" where a backslash
 * escapes " and \, and a backslash outside quotes escapes any character).
 *
 * Threads: cmd_parse, cmd_free and the table lookups from any thread;
 * pure (no I/O, no engine state). */
#ifndef CHORUS_CORE_CMD_H
#define CHORUS_CORE_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cmd_id {
    CMD_PLAY = 1,
    CMD_PAUSE,
    CMD_RESUME,
    CMD_TOGGLE,
    CMD_STOP,
    CMD_NEXT,
    CMD_PREV,
    CMD_SEEK,
    CMD_VOLUME,
    CMD_QUEUE_ADD,
    CMD_QUEUE_INSERT,
    CMD_QUEUE_REMOVE,
    CMD_QUEUE_MOVE,
    CMD_QUEUE_CLEAR,
    CMD_QUEUE_LIST,
    CMD_REPEAT,
    CMD_SHUFFLE,
    CMD_PLAYLIST_CREATE,
    CMD_PLAYLIST_RENAME,
    CMD_PLAYLIST_DELETE,
    CMD_PLAYLIST_ADD,
    CMD_PLAYLIST_REMOVE,
    CMD_PLAYLIST_MOVE,
    CMD_PLAYLIST_LOAD,
    CMD_PLAYLIST_LIST,
    CMD_SEARCH,
    CMD_BROWSE,
    CMD_STATUS,
    CMD_PEERS,
    CMD_QUIT,
    CMD_QUEUE_PLAY,
    CMD_PLAYLIST_KEEP,
    /* the TUI's commands (CMD_F_UI) */
    CMD_VIEW,
    CMD_WIN_DOWN,
    CMD_WIN_UP,
    CMD_WIN_TOP,
    CMD_WIN_BOTTOM,
    CMD_WIN_PAGE_DOWN,
    CMD_WIN_PAGE_UP,
    CMD_WIN_NEXT,
    CMD_WIN_ACTIVATE,
    CMD_WIN_ADD_QUEUE,
    CMD_WIN_ADD_PLAYLIST,
    CMD_WIN_REMOVE,
    CMD_WIN_MOVE_DOWN,
    CMD_WIN_MOVE_UP,
    CMD_WIN_SORT,
    CMD_WIN_KEEP,
    CMD_SEARCH_START,
    CMD_SEARCH_NEXT,
    CMD_SEARCH_PREV,
    CMD_COMMAND_MODE,
    CMD_HELP,
    CMD_REFRESH,
    CMD_COUNT /* not a command: one past the last */
};

/* What play / queue add / queue insert / playlist add take. */
enum cmd_what {
    CMD_WHAT_NONE = 0,
    CMD_WHAT_ALL,   /* --all: every track the engine can reach */
    CMD_WHAT_TRACK, /* one track: track_id */
    CMD_WHAT_QUERY, /* the tracks matching text */
};

enum cmd_repeat { CMD_REPEAT_OFF = 0, CMD_REPEAT_ONE, CMD_REPEAT_ALL, CMD_REPEAT_CYCLE };
enum cmd_toggle { CMD_OFF = 0, CMD_ON = 1, CMD_FLIP = 2 };
enum cmd_browse { CMD_BROWSE_ARTISTS = 1, CMD_BROWSE_ALBUMS, CMD_BROWSE_TRACKS };
/* The TUI's views, in the order of their keys 1..6. */
enum cmd_view {
    CMD_VIEW_LIBRARY = 0,
    CMD_VIEW_PLAYLISTS,
    CMD_VIEW_QUEUE,
    CMD_VIEW_SEARCH,
    CMD_VIEW_PEERS,
    CMD_VIEW_LOG,
    CMD_VIEW_COUNT
};
/* "library", "playlists", ... (the words `view` takes); NULL out of range. */
const char *cmd_view_name(enum cmd_view v);

/* What a command's run came to. status: 0, or a negative error
 * (chorus_strerror names it); message: a line for the user (may be NULL);
 * data: the command's JSON answer (status, peers, search, browse, lists;
 * may be NULL). All borrowed for the call. */
struct cmd_result {
    enum cmd_id id;
    int status;
    const char *message;
    const json_t *data;
};

/* Called once for every command, on the engine's loop thread, when the
 * command has been carried out (a search: when the answer is there). */
typedef void (*cmd_reply_fn)(void *ctx, const struct cmd_result *r);

/* One parsed command. Which fields are set depends on id (see the syntax
 * above); strings are owned by the struct (cmd_free). */
struct cmd {
    enum cmd_id id;
    enum cmd_what what; /* play, queue add/insert, playlist add */
    char *text;         /* the query (what = QUERY, search); the playlist name */
    char *text2;        /* playlist rename: the new name; playlist add: the query */
    uint64_t track_id;  /* what = TRACK */
    int64_t a, b;       /* seek: ms; volume: percent; positions (0-based): remove a,
                           move a -> b, insert a, queue play a (queue and playlist
                           alike); repeat: enum cmd_repeat; shuffle, playlist keep:
                           enum cmd_toggle; browse: enum cmd_browse, b = parent id;
                           view: enum cmd_view */
    bool relative;      /* seek, volume: a is added to the current value */
    /* Where the result goes: reply(reply_ctx, ...) on the engine's loop, or,
     * when reply is NULL, to the UI as events (errors as MQ_EV_ERROR,
     * search and browse answers as MQ_EV_SEARCH_RESULTS / _BROWSE_RESULTS). */
    cmd_reply_fn reply;
    void *reply_ctx;
};

/* Flags of a table row. */
#define CMD_F_REMOTE_UNSAFE 0x01u /* refused over the remote socket (none today) */
#define CMD_F_QUERY         0x02u /* takes the rest of the line as a query */
#define CMD_F_UI            0x04u /* the TUI's own: the engine refuses it (CMD_EUSAGE) */

/* One row of the table. */
struct cmd_def {
    enum cmd_id id;
    const char *name;       /* its words: "play", "queue add" */
    const char *args;       /* the argument synopsis for help: "(--all | #ID | QUERY...)" */
    const char *help;       /* one line */
    int min_args, max_args; /* words after the name; max -1: any */
    unsigned flags;
};

/* The table, ending with a row whose name is NULL. */
const struct cmd_def *cmd_table(void);

/* The row of id, or NULL. */
const struct cmd_def *cmd_def_of(enum cmd_id id);

/* Parses one command line ("seek +10", "queue add #42", "playlist rename
 * 'Old one' New"). Returns 0 with *out set (owned by the caller: cmd_free),
 * or CMD_EUSAGE with *out NULL and *error set to a message for the user
 * (one printable line, owned by the caller: free), e.g. "seek: expected
 * SECONDS, M:SS, +N or -N, got 'x'". error may be NULL; on success *error
 * is NULL. */
int cmd_parse(const char *line, struct cmd **out, char **error);

/* The same, from words already split (argv[0] is the first word of the
 * command name; chorus remote passes its own argv). */
int cmd_parse_argv(int argc, char *const *argv, struct cmd **out, char **error);

/* Frees c and its strings. NULL is ignored. */
void cmd_free(struct cmd *c);

/* Splits a line into words as a shell does (quotes, backslash). Returns the
 * count and sets *words (count words and a NULL after them, owned by the
 * caller: cmd_words_free), or CMD_EUSAGE with *words NULL and *error set
 * (as cmd_parse) for an unterminated quote or a trailing backslash. */
int cmd_split(const char *line, char ***words, char **error);
void cmd_words_free(char **words, int count);

/* word written so that cmd_split reads it back as one word: as it is when
 * it needs no quoting, else in single quotes (for completion of names
 * with spaces, and for joining an argv into a line). The caller frees it. */
char *cmd_quote(const char *word);

enum {
    CMD_EUSAGE = -7000,   /* the line is not a command of the table (see *error) */
    CMD_EUNKNOWN = -7001, /* no such track, playlist or position */
    CMD_EOFFLINE = -7002, /* needs the service, which cannot be reached */
    CMD_EEXISTS = -7003,  /* a playlist of that name exists */
    CMD_EEMPTY = -7004,   /* nothing to play (empty queue, no match) */
    CMD_EBUSY = -7005,    /* the engine is shutting down */
};

const char *cmd_strerror(int err);

#endif
