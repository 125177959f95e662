/* cmd: the engine's one command table and its parser (see core/cmd.h).
 *
 * Owns: the table — one const row per enum cmd_id, in id order, ending
 * with a row whose name is NULL — and the turning of text into a struct
 * cmd: cmd_split cuts a line into words as a shell does, the longest row
 * name that matches the first words picks the row ("queue add" before a
 * lone "queue"), the row's min/max check the number of arguments, and one
 * switch on the id reads them (a command without its case is a -Wswitch
 * warning). Every refusal is CMD_EUSAGE with a message that names the
 * command and what it expected; words of the line are echoed shortened
 * and with control characters replaced, so a message is always one short
 * printable line.
 *
 * Threads: any; pure. Must never do I/O, touch engine state or keep state
 * between calls: the same line always parses the same way. */
#include "core/cmd.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

#define ARGS_WHAT "(--all | #ID | QUERY...)"

static const struct cmd_def table[CMD_COUNT] = {
    [CMD_PLAY - 1] = {CMD_PLAY, "play", ARGS_WHAT,
                      "replace the queue with these tracks and play it", 1, -1, CMD_F_QUERY},
    [CMD_PAUSE - 1] = {CMD_PAUSE, "pause", "", "pause playback", 0, 0, 0},
    [CMD_RESUME - 1] = {CMD_RESUME, "resume", "", "resume playback", 0, 0, 0},
    [CMD_TOGGLE - 1] = {CMD_TOGGLE, "toggle", "", "pause or resume playback", 0, 0, 0},
    [CMD_STOP - 1] = {CMD_STOP, "stop", "", "stop playback", 0, 0, 0},
    [CMD_NEXT - 1] = {CMD_NEXT, "next", "", "play the next track of the queue", 0, 0, 0},
    [CMD_PREV - 1] = {CMD_PREV, "prev", "", "play the previous track of the queue", 0, 0, 0},
    [CMD_SEEK - 1] = {CMD_SEEK, "seek", "SECONDS | M:SS | +N | -N",
                      "go to a position in the track (+N, -N: from here)", 1, 1, 0},
    [CMD_VOLUME - 1] = {CMD_VOLUME, "volume", "N | +N | -N",
                        "set the volume from 0 to 100 (+N, -N: from the current one)", 1, 1, 0},
    [CMD_QUEUE_ADD - 1] = {CMD_QUEUE_ADD, "queue add", ARGS_WHAT, "append tracks to the queue", 1,
                           -1, CMD_F_QUERY},
    [CMD_QUEUE_INSERT - 1] = {CMD_QUEUE_INSERT, "queue insert", "POS " ARGS_WHAT,
                              "insert tracks before position POS of the queue", 2, -1, CMD_F_QUERY},
    [CMD_QUEUE_REMOVE - 1] = {CMD_QUEUE_REMOVE, "queue remove", "POS",
                              "remove the track at position POS of the queue", 1, 1, 0},
    [CMD_QUEUE_MOVE - 1] = {CMD_QUEUE_MOVE, "queue move", "FROM TO",
                            "move the track at position FROM of the queue to TO", 2, 2, 0},
    [CMD_QUEUE_CLEAR - 1] = {CMD_QUEUE_CLEAR, "queue clear", "", "empty the queue", 0, 0, 0},
    [CMD_QUEUE_LIST - 1] = {CMD_QUEUE_LIST, "queue list", "", "list the queue", 0, 0, 0},
    [CMD_REPEAT - 1] = {CMD_REPEAT, "repeat", "[off | one | all]",
                        "set the repeat mode (no argument: the next mode)", 0, 1, 0},
    [CMD_SHUFFLE - 1] = {CMD_SHUFFLE, "shuffle", "[on | off]",
                         "turn shuffle on or off (no argument: switch it)", 0, 1, 0},
    [CMD_PLAYLIST_CREATE - 1] = {CMD_PLAYLIST_CREATE, "playlist create", "NAME",
                                 "create an empty playlist", 1, 1, 0},
    [CMD_PLAYLIST_RENAME - 1] = {CMD_PLAYLIST_RENAME, "playlist rename", "OLD NEW",
                                 "rename a playlist", 2, 2, 0},
    [CMD_PLAYLIST_DELETE - 1] = {CMD_PLAYLIST_DELETE, "playlist delete", "NAME",
                                 "delete a playlist", 1, 1, 0},
    [CMD_PLAYLIST_ADD - 1] = {CMD_PLAYLIST_ADD, "playlist add", "NAME " ARGS_WHAT,
                              "append tracks to a playlist", 2, -1, CMD_F_QUERY},
    [CMD_PLAYLIST_REMOVE - 1] = {CMD_PLAYLIST_REMOVE, "playlist remove", "NAME POS",
                                 "remove the track at position POS of a playlist", 2, 2, 0},
    [CMD_PLAYLIST_MOVE - 1] = {CMD_PLAYLIST_MOVE, "playlist move", "NAME FROM TO",
                               "move the track at position FROM of a playlist to TO", 3, 3, 0},
    [CMD_PLAYLIST_LOAD - 1] = {CMD_PLAYLIST_LOAD, "playlist load", "NAME",
                               "replace the queue with a playlist", 1, 1, 0},
    [CMD_PLAYLIST_LIST - 1] = {CMD_PLAYLIST_LIST, "playlist list", "[NAME]",
                               "list the playlists, or the tracks of one", 0, 1, 0},
    [CMD_SEARCH - 1] = {CMD_SEARCH, "search", "QUERY...", "find the tracks matching QUERY", 1, -1,
                        CMD_F_QUERY},
    [CMD_BROWSE - 1] = {CMD_BROWSE, "browse", "[artists | albums ARTIST-ID | tracks ALBUM-ID]",
                        "list the artists, an artist's albums or an album's tracks", 0, 2, 0},
    [CMD_STATUS - 1] = {CMD_STATUS, "status", "", "show what plays and the engine's figures", 0, 0,
                        0},
    [CMD_PEERS - 1] = {CMD_PEERS, "peers", "", "show the connections to other listeners", 0, 0, 0},
    [CMD_QUIT - 1] = {CMD_QUIT, "quit", "", "stop the player and leave", 0, 0, 0},
    [CMD_QUEUE_PLAY - 1] = {CMD_QUEUE_PLAY, "queue play", "POS", "play position POS of the queue",
                            1, 1, 0},
    [CMD_PLAYLIST_KEEP - 1] = {CMD_PLAYLIST_KEEP, "playlist keep", "NAME [on | off]",
                               "keep a playlist's tracks in the cache for offline play", 1, 2, 0},
#define UI_ROW(id, name, help) [id - 1] = {id, name, "", help, 0, 0, CMD_F_UI}
    [CMD_VIEW - 1] = {CMD_VIEW, "view", "library | playlists | queue | search | peers | log | 1..6",
                      "show a view of the TUI", 1, 1, CMD_F_UI},
    UI_ROW(CMD_WIN_DOWN, "win-down", "move the cursor down a row"),
    UI_ROW(CMD_WIN_UP, "win-up", "move the cursor up a row"),
    UI_ROW(CMD_WIN_TOP, "win-top", "move the cursor to the first row"),
    UI_ROW(CMD_WIN_BOTTOM, "win-bottom", "move the cursor to the last row"),
    UI_ROW(CMD_WIN_PAGE_DOWN, "win-page-down", "move the cursor down a screen"),
    UI_ROW(CMD_WIN_PAGE_UP, "win-page-up", "move the cursor up a screen"),
    UI_ROW(CMD_WIN_NEXT, "win-next", "switch between the panes of a view"),
    UI_ROW(CMD_WIN_ACTIVATE, "win-activate", "play the row under the cursor (or open it)"),
    UI_ROW(CMD_WIN_ADD_QUEUE, "win-add-queue", "append the row under the cursor to the queue"),
    UI_ROW(CMD_WIN_ADD_PLAYLIST, "win-add-playlist",
           "add the row under the cursor to a playlist (asks which)"),
    UI_ROW(CMD_WIN_REMOVE, "win-remove",
           "remove the row under the cursor from the queue or playlist (asks first)"),
    UI_ROW(CMD_WIN_MOVE_DOWN, "win-move-down", "move the row under the cursor down"),
    UI_ROW(CMD_WIN_MOVE_UP, "win-move-up", "move the row under the cursor up"),
    UI_ROW(CMD_WIN_SORT, "win-sort", "sort the peers by the next column"),
    UI_ROW(CMD_WIN_KEEP, "win-keep", "keep the playlist under the cursor offline, or stop"),
    UI_ROW(CMD_SEARCH_START, "search-start",
           "find a row in this view (in the search view: search the catalog)"),
    UI_ROW(CMD_SEARCH_NEXT, "search-next", "find the next row matching the search"),
    UI_ROW(CMD_SEARCH_PREV, "search-prev", "find the previous row matching the search"),
    UI_ROW(CMD_COMMAND_MODE, "command-mode", "open the : command line"),
    UI_ROW(CMD_HELP, "help", "list every key binding and command"),
    UI_ROW(CMD_REFRESH, "refresh", "redraw the whole screen"),
#undef UI_ROW
    /* [CMD_COUNT - 1]: the end, a row whose name is NULL */
};

static const char *const view_names[] = {"library", "playlists", "queue", "search",
                                         "peers",   "log",       NULL};

const char *cmd_view_name(enum cmd_view v)
{
    return v >= 0 && v < CMD_VIEW_COUNT ? view_names[v] : NULL;
}

const struct cmd_def *cmd_table(void)
{
    return table;
}

const struct cmd_def *cmd_def_of(enum cmd_id id)
{
    if (id < CMD_PLAY || id >= CMD_COUNT)
        return NULL;
    return &table[id - 1];
}

const char *cmd_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case CMD_EUSAGE:
        return "not a valid command";
    case CMD_EUNKNOWN:
        return "no such track, playlist or position";
    case CMD_EOFFLINE:
        return "the service cannot be reached";
    case CMD_EEXISTS:
        return "a playlist of that name exists";
    case CMD_EEMPTY:
        return "nothing to play";
    case CMD_EBUSY:
        return "the engine is shutting down";
    default:
        return "unknown command error";
    }
}

/* ---- messages ---- */

#define SHOWN_MAX 40 /* bytes of a word echoed in a message */

/* A word as a message shows it: control characters as '?', cut (on a
 * UTF-8 character boundary) after SHOWN_MAX bytes. The caller frees it. */
static char *shown(const char *word)
{
    size_t len = strlen(word), keep = len;
    if (keep > SHOWN_MAX) {
        keep = SHOWN_MAX;
        while (keep > 0 && ((unsigned char)word[keep] & 0xc0) == 0x80)
            keep--;
    }
    char *s = xmalloc(keep + 4);
    for (size_t i = 0; i < keep; i++) {
        unsigned char ch = (unsigned char)word[i];
        s[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    strcpy(s + keep, keep < len ? "..." : "");
    return s;
}

/* Hands msg (owned) to the caller's *error and returns CMD_EUSAGE. */
static int fail(char **error, char *msg)
{
    if (error)
        *error = msg;
    else
        free(msg);
    return CMD_EUSAGE;
}

/* "NAME: expected WHAT, got 'WORD'" */
static int bad_arg(const struct cmd_def *def, const char *what, const char *word, char **error)
{
    char *w = shown(word);
    char *msg = xasprintf("%s: expected %s, got '%s'", def->name, what, w);
    free(w);
    return fail(error, msg);
}

/* One word more than the command takes. */
static int extra_word(const struct cmd_def *def, const char *word, char **error)
{
    char *w = shown(word);
    char *msg = *def->args
                    ? xasprintf("%s: expected %s, got an extra '%s'", def->name, def->args, w)
                    : xasprintf("%s: expected no arguments, got '%s'", def->name, w);
    free(w);
    return fail(error, msg);
}

static int too_few(const struct cmd_def *def, int got, char **error)
{
    char *msg = got == 0 ? xasprintf("%s: expected %s, got nothing", def->name, def->args)
                         : xasprintf("%s: expected %s, got only %d argument%s", def->name,
                                     def->args, got, got == 1 ? "" : "s");
    return fail(error, msg);
}

/* ---- words ---- */

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

void cmd_words_free(char **words, int count)
{
    if (!words)
        return;
    for (int i = 0; i < count; i++)
        free(words[i]);
    free(words);
}

/* Reads one word from *pp into buf (no longer than the line). Returns its
 * length, or -1 with *error set. */
static long split_word(const char *line, const char **pp, char *buf, char **error)
{
    const char *p = *pp;
    long len = 0;
    while (*p && !is_blank(*p)) {
        if (*p == '\'' || *p == '"') {
            const char *open = p++;
            while (*p && *p != *open) {
                if (*open == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                buf[len++] = *p++;
            }
            if (!*p) {
                fail(error, xasprintf("unterminated %s quote (opened at character %ld)",
                                      *open == '"' ? "double" : "single", (long)(open - line) + 1));
                return -1;
            }
            p++;
        } else if (*p == '\\') {
            if (!p[1]) {
                fail(error, xstrdup("the line ends with a backslash that escapes nothing"));
                return -1;
            }
            buf[len++] = p[1];
            p += 2;
        } else {
            buf[len++] = *p++;
        }
    }
    *pp = p;
    return len;
}

int cmd_split(const char *line, char ***words, char **error)
{
    *words = NULL;
    if (error)
        *error = NULL;
    char *buf = xmalloc(strlen(line) + 1);
    char **v = xmalloc(sizeof(*v));
    int count = 0;
    const char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        long len = split_word(line, &p, buf, error);
        if (len < 0) {
            cmd_words_free(v, count);
            free(buf);
            return CMD_EUSAGE;
        }
        v = xrealloc(v, (size_t)(count + 2) * sizeof(*v));
        v[count++] = xstrndup(buf, (size_t)len);
    }
    v[count] = NULL;
    free(buf);
    *words = v;
    return count;
}

/* Characters a word may hold and still be written bare. */
static bool is_plain(unsigned char ch)
{
    return isalnum(ch) || ch >= 0x80 || strchr("#%+,-./:=@^_~", ch);
}

char *cmd_quote(const char *word)
{
    bool plain = *word != '\0';
    size_t quotes = 0;
    for (const char *p = word; *p; p++) {
        plain = plain && is_plain((unsigned char)*p);
        quotes += *p == '\'';
    }
    if (plain)
        return xstrdup(word);
    /* 'it'\''s': a single quote closes, is escaped, and reopens */
    char *q = xmalloc(strlen(word) + 3 * quotes + 3);
    char *o = q;
    *o++ = '\'';
    for (const char *p = word; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return q;
}

/* ---- values ---- */

/* Decimal digits s[0..n) (n > 0, digits only) no larger than max. */
static bool parse_digits(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_number(const char *s, uint64_t max, uint64_t *out)
{
    return parse_digits(s, strlen(s), max, out);
}

/* A 1-based position on the line, 0-based in *out. */
static int parse_pos(const struct cmd_def *def, const char *word, int64_t *out, char **error)
{
    uint64_t v;
    if (!parse_number(word, INT64_MAX, &v) || v == 0)
        return bad_arg(def, "a position (1, 2, ...)", word, error);
    *out = (int64_t)(v - 1);
    return 0;
}

/* '#' and digits: a track id, valid or not. */
static bool is_track_id(const char *word)
{
    return word[0] == '#' && word[1] && strspn(word + 1, "0123456789") == strlen(word + 1);
}

/* A catalog id: "#12", or (where no query can stand) "12". */
static int parse_id(const struct cmd_def *def, const char *what, const char *word, bool bare,
                    uint64_t *out, char **error)
{
    const char *digits = word[0] == '#' ? word + 1 : bare ? word : "";
    if (!parse_number(digits, INT64_MAX, out) || *out == 0)
        return bad_arg(def, what, word, error);
    return 0;
}

/* The words joined by single spaces (owned by the caller). */
static char *join(char *const *words, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(words[i]) + 1;
    char *s = xmalloc(len + 1), *o = s;
    for (int i = 0; i < n; i++) {
        if (i)
            *o++ = ' ';
        size_t l = strlen(words[i]);
        memcpy(o, words[i], l);
        o += l;
    }
    *o = '\0';
    return s;
}

static bool all_blank(const char *s)
{
    while (is_blank(*s))
        s++;
    return *s == '\0';
}

/* What to play or add: --all, one #ID, or the words as a query (into
 * *query). Each of --all and #ID must stand alone. */
static int parse_what(const struct cmd_def *def, char *const *args, int n, struct cmd *c,
                      char **query, char **error)
{
    for (int i = 0; i < n; i++) {
        const char *w = args[i];
        bool all = strcmp(w, "--all") == 0;
        if ((all || is_track_id(w)) && n > 1)
            return fail(error, xasprintf("%s: %s takes no other words (a query cannot hold it)",
                                         def->name, all ? "--all" : "a #ID"));
        if (all) {
            c->what = CMD_WHAT_ALL;
            return 0;
        }
        if (is_track_id(w)) {
            c->what = CMD_WHAT_TRACK;
            return parse_id(def, "a track id from #1 on", w, false, &c->track_id, error);
        }
        if (w[0] == '-' && w[1] == '-' && w[2])
            return bad_arg(def, "--all, #ID or QUERY...", w, error);
    }
    char *text = join(args, n);
    if (all_blank(text)) {
        free(text);
        return bad_arg(def, "--all, #ID or QUERY...", args[0], error);
    }
    c->what = CMD_WHAT_QUERY;
    *query = text;
    return 0;
}

/* The rest of the line as a query (search). */
static int parse_query(const struct cmd_def *def, char *const *args, int n, char **query,
                       char **error)
{
    char *text = join(args, n);
    if (all_blank(text)) {
        free(text);
        return bad_arg(def, "QUERY...", args[0], error);
    }
    *query = text;
    return 0;
}

static int parse_name(const struct cmd_def *def, const char *word, char **out, char **error)
{
    if (all_blank(word))
        return bad_arg(def, "a playlist NAME", word, error);
    *out = xstrdup(word);
    return 0;
}

#define SEEK_MAX_S 100000000ull /* over three years */

/* SECONDS | M:SS | +N | -N (N: seconds or m:ss) into milliseconds. */
static int parse_seek(const struct cmd_def *def, const char *word, struct cmd *c, char **error)
{
    const char *s = word;
    int sign = 1;
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        c->relative = true;
        s++;
    }
    const char *colon = strchr(s, ':');
    uint64_t min = 0, sec;
    bool ok = colon ? parse_digits(s, (size_t)(colon - s), SEEK_MAX_S / 60, &min) &&
                          strlen(colon + 1) == 2 && parse_number(colon + 1, 59, &sec)
                    : parse_number(s, SEEK_MAX_S, &sec);
    if (!ok)
        return bad_arg(def, "SECONDS, M:SS, +N or -N", word, error);
    c->a = sign * (int64_t)((min * 60 + sec) * 1000);
    return 0;
}

/* N | +N | -N, N from 0 to 100. */
static int parse_volume(const struct cmd_def *def, const char *word, struct cmd *c, char **error)
{
    const char *s = word;
    int sign = 1;
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        c->relative = true;
        s++;
    }
    uint64_t v;
    if (!parse_number(s, 100, &v))
        return bad_arg(def, "0 to 100, +N or -N", word, error);
    c->a = sign * (int64_t)v;
    return 0;
}

/* One of words (NULL-terminated); its index in *out, or else the
 * message. */
static int parse_choice(const struct cmd_def *def, const char *what, const char *const *words,
                        const char *word, int64_t *out, char **error)
{
    for (int i = 0; words[i]; i++) {
        if (strcmp(word, words[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return bad_arg(def, what, word, error);
}

static int parse_browse(const struct cmd_def *def, char *const *args, int n, struct cmd *c,
                        char **error)
{
    static const char *const kinds[] = {"artists", "albums", "tracks", NULL};
    static const char *const ids[] = {NULL, "ARTIST-ID", "ALBUM-ID"};
    c->a = CMD_BROWSE_ARTISTS;
    if (n == 0)
        return 0;
    int64_t k;
    int rc = parse_choice(def, "artists, albums ARTIST-ID or tracks ALBUM-ID", kinds, args[0], &k,
                          error);
    if (rc)
        return rc;
    c->a = CMD_BROWSE_ARTISTS + k;
    if (k == 0)
        return n > 1 ? extra_word(def, args[1], error) : 0;
    if (n < 2)
        return fail(error,
                    xasprintf("%s %s: expected an %s, got nothing", def->name, kinds[k], ids[k]));
    uint64_t id;
    char *what = xasprintf("an %s like #12", ids[k]);
    rc = parse_id(def, what, args[1], true, &id, error);
    free(what);
    c->b = (int64_t)id;
    return rc;
}

/* A view's name or its key 1..6. */
static int parse_view(const struct cmd_def *def, const char *word, struct cmd *c, char **error)
{
    uint64_t n;
    if (parse_number(word, CMD_VIEW_COUNT, &n) && n >= 1) {
        c->a = (int64_t)n - 1;
        return 0;
    }
    return parse_choice(def, "library, playlists, queue, search, peers, log or 1 to 6", view_names,
                        word, &c->a, error);
}

/* Reads the arguments of c->id (their count already checked). */
static int parse_args(const struct cmd_def *def, char *const *args, int n, struct cmd *c,
                      char **error)
{
    static const char *const repeat_words[] = {"off", "one", "all", NULL};
    static const char *const shuffle_words[] = {"off", "on", NULL};
    int rc;
    switch (def->id) {
    case CMD_PAUSE:
    case CMD_RESUME:
    case CMD_TOGGLE:
    case CMD_STOP:
    case CMD_NEXT:
    case CMD_PREV:
    case CMD_QUEUE_CLEAR:
    case CMD_QUEUE_LIST:
    case CMD_STATUS:
    case CMD_PEERS:
    case CMD_QUIT:
    case CMD_WIN_DOWN:
    case CMD_WIN_UP:
    case CMD_WIN_TOP:
    case CMD_WIN_BOTTOM:
    case CMD_WIN_PAGE_DOWN:
    case CMD_WIN_PAGE_UP:
    case CMD_WIN_NEXT:
    case CMD_WIN_ACTIVATE:
    case CMD_WIN_ADD_QUEUE:
    case CMD_WIN_ADD_PLAYLIST:
    case CMD_WIN_REMOVE:
    case CMD_WIN_MOVE_DOWN:
    case CMD_WIN_MOVE_UP:
    case CMD_WIN_SORT:
    case CMD_WIN_KEEP:
    case CMD_SEARCH_START:
    case CMD_SEARCH_NEXT:
    case CMD_SEARCH_PREV:
    case CMD_COMMAND_MODE:
    case CMD_HELP:
    case CMD_REFRESH:
        return 0;
    case CMD_VIEW:
        return parse_view(def, args[0], c, error);
    case CMD_QUEUE_PLAY:
        return parse_pos(def, args[0], &c->a, error);
    case CMD_PLAYLIST_KEEP:
        rc = parse_name(def, args[0], &c->text, error);
        c->a = CMD_FLIP;
        return rc || n < 2 ? rc
                           : parse_choice(def, "on or off", shuffle_words, args[1], &c->a, error);
    case CMD_PLAY:
    case CMD_QUEUE_ADD:
        return parse_what(def, args, n, c, &c->text, error);
    case CMD_QUEUE_INSERT:
        rc = parse_pos(def, args[0], &c->a, error);
        return rc ? rc : parse_what(def, args + 1, n - 1, c, &c->text, error);
    case CMD_QUEUE_REMOVE:
        return parse_pos(def, args[0], &c->a, error);
    case CMD_QUEUE_MOVE:
        rc = parse_pos(def, args[0], &c->a, error);
        return rc ? rc : parse_pos(def, args[1], &c->b, error);
    case CMD_SEEK:
        return parse_seek(def, args[0], c, error);
    case CMD_VOLUME:
        return parse_volume(def, args[0], c, error);
    case CMD_REPEAT:
        c->a = CMD_REPEAT_CYCLE;
        return n ? parse_choice(def, "off, one or all", repeat_words, args[0], &c->a, error) : 0;
    case CMD_SHUFFLE:
        c->a = CMD_FLIP;
        return n ? parse_choice(def, "on or off", shuffle_words, args[0], &c->a, error) : 0;
    case CMD_PLAYLIST_CREATE:
    case CMD_PLAYLIST_DELETE:
    case CMD_PLAYLIST_LOAD:
        return parse_name(def, args[0], &c->text, error);
    case CMD_PLAYLIST_LIST:
        return n ? parse_name(def, args[0], &c->text, error) : 0;
    case CMD_PLAYLIST_RENAME:
        rc = parse_name(def, args[0], &c->text, error);
        return rc ? rc : parse_name(def, args[1], &c->text2, error);
    case CMD_PLAYLIST_ADD:
        rc = parse_name(def, args[0], &c->text, error);
        return rc ? rc : parse_what(def, args + 1, n - 1, c, &c->text2, error);
    case CMD_PLAYLIST_REMOVE:
        rc = parse_name(def, args[0], &c->text, error);
        return rc ? rc : parse_pos(def, args[1], &c->a, error);
    case CMD_PLAYLIST_MOVE:
        rc = parse_name(def, args[0], &c->text, error);
        rc = rc ? rc : parse_pos(def, args[1], &c->a, error);
        return rc ? rc : parse_pos(def, args[2], &c->b, error);
    case CMD_SEARCH:
        return parse_query(def, args, n, &c->text, error);
    case CMD_BROWSE:
        return parse_browse(def, args, n, c, error);
    case CMD_COUNT:
        break;
    }
    return fail(error, xasprintf("%s: not a command", def->name));
}

/* ---- finding the row ---- */

/* How many words the row's name takes from argv when they all match,
 * else 0. */
static int name_match(const char *name, int argc, char *const *argv)
{
    int words = 0;
    for (const char *p = name; argc > words;) {
        size_t len = strcspn(p, " ");
        if (strlen(argv[words]) != len || memcmp(argv[words], p, len) != 0)
            return 0;
        words++;
        if (!p[len])
            return words;
        p += len + 1;
    }
    return 0;
}

/* The name's first word is word (a group such as "queue"). */
static bool in_group(const char *name, const char *word)
{
    size_t len = strcspn(name, " ");
    return name[len] == ' ' && strlen(word) == len && memcmp(name, word, len) == 0;
}

/* "queue: expected add, insert, ... or list, got 'x'" */
static int bad_subcommand(const char *group, int argc, char *const *argv, char **error)
{
    size_t len = 0, count = 0;
    for (const struct cmd_def *d = table; d->name; d++)
        if (in_group(d->name, group)) {
            len += strlen(d->name) + 4;
            count++;
        }
    char *list = xmalloc(len + 1), *o = list;
    size_t i = 0;
    for (const struct cmd_def *d = table; d->name; d++) {
        if (!in_group(d->name, group))
            continue;
        const char *sub = d->name + strlen(group) + 1;
        o += sprintf(o, "%s%s", i == 0 ? "" : i + 1 == count ? " or " : ", ", sub);
        i++;
    }
    char *msg;
    if (argc > 1) {
        char *w = shown(argv[1]);
        msg = xasprintf("%s: expected %s, got '%s'", group, list, w);
        free(w);
    } else {
        msg = xasprintf("%s: expected %s, got nothing", group, list);
    }
    free(list);
    return fail(error, msg);
}

#define SUGGEST_MAX 16 /* longer words get no suggestion */

/* Edit distance, ignoring case, between two short words. */
static size_t distance(const char *a, const char *b, size_t bl)
{
    size_t al = strlen(a);
    size_t row[SUGGEST_MAX + 1];
    for (size_t j = 0; j <= bl; j++)
        row[j] = j;
    for (size_t i = 1; i <= al; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= bl; j++) {
            size_t up = row[j];
            size_t same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + !same;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[bl];
}

/* The first word of a command that word is probably a typo of, or NULL.
 * The answer points into the table; *len is its length. */
static const char *suggest(const char *word, size_t *len)
{
    size_t wl = strlen(word);
    if (wl > SUGGEST_MAX)
        return NULL;
    const char *best = NULL;
    size_t best_d = wl <= 4 ? 2 : 3; /* more than this is no typo */
    for (const struct cmd_def *d = table; d->name; d++) {
        size_t l = strcspn(d->name, " ");
        if (l > SUGGEST_MAX)
            continue;
        size_t dist = distance(word, d->name, l);
        if (dist < best_d) {
            best = d->name;
            best_d = dist;
            *len = l;
        }
    }
    return best;
}

static int unknown(const char *word, char **error)
{
    char *w = shown(word);
    size_t len;
    const char *s = suggest(word, &len);
    char *msg = s ? xasprintf("unknown command '%s' (did you mean '%.*s'?)", w, (int)len, s)
                  : xasprintf("unknown command '%s' (chorus(1) lists every command)", w);
    free(w);
    return fail(error, msg);
}

int cmd_parse_argv(int argc, char *const *argv, struct cmd **out, char **error)
{
    *out = NULL;
    if (error)
        *error = NULL;
    if (argc <= 0)
        return fail(error, xstrdup("no command given (chorus(1) lists every command)"));
    const struct cmd_def *def = NULL;
    int used = 0;
    for (const struct cmd_def *d = table; d->name; d++) {
        int m = name_match(d->name, argc, argv);
        if (m > used) {
            def = d;
            used = m;
        }
    }
    if (!def) {
        for (const struct cmd_def *d = table; d->name; d++)
            if (in_group(d->name, argv[0]))
                return bad_subcommand(argv[0], argc, argv, error);
        return unknown(argv[0], error);
    }
    char *const *args = argv + used;
    int n = argc - used;
    if (n < def->min_args)
        return too_few(def, n, error);
    if (def->max_args >= 0 && n > def->max_args)
        return extra_word(def, args[def->max_args], error);
    struct cmd *c = xcalloc(1, sizeof(*c));
    c->id = def->id;
    int rc = parse_args(def, args, n, c, error);
    if (rc) {
        cmd_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int cmd_parse(const char *line, struct cmd **out, char **error)
{
    *out = NULL;
    char **words;
    int n = cmd_split(line, &words, error);
    if (n < 0)
        return n;
    int rc = cmd_parse_argv(n, words, out, error);
    cmd_words_free(words, n);
    return rc;
}

void cmd_free(struct cmd *c)
{
    if (!c)
        return;
    free(c->text);
    free(c->text2);
    free(c);
}
