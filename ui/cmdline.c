/* cmdline: the `:` command line — editing, history and Tab completion
 * (see ui/cmdline.h).
 *
 * Owns one UTF-8 line with a byte cursor that always sits on a character
 * boundary (a base character and the zero-width marks after it move and
 * delete together), the history, and the candidates of a Tab cycle.
 * Completion is a pure function of the text before the cursor
 * (complete_line): it splits that text as cmd_split does, but leniently
 * (a quote still open is the word being typed), finds the table row the
 * complete words name (core/cmd.h), and completes the last word as a
 * command word or as that row's argument. A query (the rest of the line of
 * play, queue add, search...) completes as a whole: "play bohe" ->
 * "play Bohemian Rhapsody", written bare when cmd_parse reads it back to
 * the same words, else as one quoted word, and with no space after it
 * (Enter runs it; another Tab offers the longer names).
 *
 * Threads: the UI's only. I/O only in cmdline_history_load/save. */
#include "ui/cmdline.h"

#include <curses.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>
#include <wctype.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "core/cmd.h"

/* ---- UTF-8 ---- */

#define REPLACEMENT_CHAR 0xfffd

/* Decodes the character at s (at most len bytes) into *cp. Returns its
 * length; an invalid sequence is one byte of U+FFFD. */
static size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = u[0] < 0x80                   ? 1
               : u[0] >= 0xc2 && u[0] < 0xe0 ? 2
               : u[0] >= 0xe0 && u[0] < 0xf0 ? 3
               : u[0] >= 0xf0 && u[0] < 0xf5 ? 4
                                             : 0;
    *cp = REPLACEMENT_CHAR;
    if (n == 0 || n > len)
        return 1;
    uint32_t v = n == 1 ? u[0] : u[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 1;
        v = v << 6 | (u[i] & 0x3fu);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < least[n] || v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
        return 1;
    *cp = v;
    return n;
}

/* Writes cp (a valid code point) as UTF-8 into out. Returns its length. */
static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        out[i] = (char)(0x80 | (cp & 0x3f));
    out[0] = (char)(lead[n] | cp);
    return n;
}

/* Display columns of a character: wcwidth, where what the screen shows as
 * '?' or U+FFFD (controls, invalid bytes) takes one. */
static int char_width(uint32_t cp)
{
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : w;
}

/* The start of the code point that ends at pos (> 0). */
static size_t prev_codepoint(const char *s, size_t pos)
{
    size_t start = pos - 1;
    while (start > 0 && pos - start < 4 && ((unsigned char)s[start] & 0xc0) == 0x80)
        start--;
    uint32_t cp;
    return start + utf8_decode(s + start, pos - start, &cp) == pos ? start : pos - 1;
}

/* The code point at pos is a mark drawn on the character before it. */
static bool is_zero_width(const char *s, size_t len, size_t pos)
{
    uint32_t cp;
    utf8_decode(s + pos, len - pos, &cp);
    return wcwidth((wchar_t)cp) == 0;
}

/* The character boundary after the one at pos (< len): past its marks. */
static size_t next_char(const char *s, size_t len, size_t pos)
{
    uint32_t cp;
    pos += utf8_decode(s + pos, len - pos, &cp);
    while (pos < len && is_zero_width(s, len, pos))
        pos += utf8_decode(s + pos, len - pos, &cp);
    return pos;
}

/* The character boundary before pos (> 0): back to the base of marks. */
static size_t prev_char(const char *s, size_t len, size_t pos)
{
    pos = prev_codepoint(s, pos);
    while (pos > 0 && is_zero_width(s, len, pos))
        pos = prev_codepoint(s, pos);
    return pos;
}

/* Whether prefix begins s, ignoring case (per character, towlower). */
static bool has_prefix(const char *s, const char *prefix)
{
    size_t sl = strlen(s), pl = strlen(prefix), i = 0, j = 0;
    while (j < pl) {
        if (i >= sl)
            return false;
        uint32_t a, b;
        i += utf8_decode(s + i, sl - i, &a);
        j += utf8_decode(prefix + j, pl - j, &b);
        if (a != b && towlower((wint_t)a) != towlower((wint_t)b))
            return false;
    }
    return true;
}

/* ---- splitting what is typed ---- */

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* The words of a line as cmd_split reads them, with where each starts.
 * The last one (v[n - 1], maybe "") is the word being typed: n >= 1. */
struct words {
    char **v;
    size_t *start;
    size_t n;
};

/* Reads one word at *pp as cmd_split does, except that a quote still open
 * at the end, or a trailing backslash, ends the word instead of failing. */
static char *lenient_word(const char **pp)
{
    const char *p = *pp;
    char *buf = xmalloc(strlen(p) + 1);
    size_t n = 0;
    while (*p && !is_blank(*p)) {
        if (*p == '\'' || *p == '"') {
            char quote = *p++;
            while (*p && *p != quote) {
                if (quote == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                buf[n++] = *p++;
            }
            p += *p != '\0';
        } else if (*p == '\\') {
            if (p[1])
                buf[n++] = p[1];
            p += p[1] ? 2 : 1;
        } else {
            buf[n++] = *p++;
        }
    }
    buf[n] = '\0';
    *pp = p;
    return buf;
}

static void words_push(struct words *w, char *word, size_t start)
{
    w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
    w->start = xrealloc(w->start, (w->n + 1) * sizeof(*w->start));
    w->v[w->n] = word;
    w->start[w->n++] = start;
}

static void split_lenient(const char *line, struct words *w)
{
    *w = (struct words){0};
    const char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        size_t start = (size_t)(p - line);
        if (!*p) {
            words_push(w, xstrdup(""), start);
            return;
        }
        words_push(w, lenient_word(&p), start);
        if (!*p)
            return; /* no blank after it: it is being typed */
    }
}

static void words_free(struct words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    free(w->start);
}

/* ---- candidates ---- */

struct cands {
    char **v;
    size_t n;
};

/* Adds line's first start bytes followed by text (and a space). */
static void cands_add(struct cands *c, const char *line, size_t start, const char *text, bool space)
{
    c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    c->v[c->n++] = xasprintf("%.*s%s%s", (int)start, line, text, space ? " " : "");
}

static int cand_order(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int r = strcasecmp(x, y);
    return r ? r : strcmp(x, y);
}

/* Sorts, drops duplicates and hands the list over. */
static size_t cands_finish(struct cands *c, char ***out)
{
    if (c->n > 1) /* qsort takes no NULL array, even empty */
        qsort(c->v, c->n, sizeof(*c->v), cand_order);
    size_t kept = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (kept > 0 && strcmp(c->v[kept - 1], c->v[i]) == 0)
            free(c->v[i]);
        else
            c->v[kept++] = c->v[i];
    }
    if (kept == 0) {
        free(c->v);
        c->v = NULL;
    }
    *out = c->v;
    return kept;
}

/* ---- what a word completes to ---- */

/* The words of a row's name: word i of name into *len, or NULL. */
static const char *name_word(const char *name, size_t i, size_t *len)
{
    for (; i > 0; i--) {
        name += strcspn(name, " ");
        if (!*name)
            return NULL;
        name++;
    }
    *len = strcspn(name, " ");
    return name;
}

static size_t name_words(const char *name)
{
    size_t n = 1;
    for (const char *p = name; *p; p++)
        n += *p == ' ';
    return n;
}

/* The first k complete words are exactly the first k words of name. */
static bool name_starts_with(const char *name, const struct words *w, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        size_t len;
        const char *nw = name_word(name, i, &len);
        if (!nw || strlen(w->v[i]) != len || memcmp(nw, w->v[i], len) != 0)
            return false;
    }
    return true;
}

/* The row the complete words start with (the longest name), or NULL. */
static const struct cmd_def *find_row(const struct words *w, size_t *used)
{
    const struct cmd_def *best = NULL;
    for (const struct cmd_def *d = cmd_table(); d->name; d++) {
        size_t k = name_words(d->name);
        if (k <= w->n - 1 && name_starts_with(d->name, w, k) && (!best || k > *used)) {
            best = d;
            *used = k;
        }
    }
    return best;
}

/* The next word of every command name that the complete words begin. */
static void complete_command(const char *line, const struct words *w, struct cands *c)
{
    size_t k = w->n - 1;
    const char *typed = w->v[k];
    for (const struct cmd_def *d = cmd_table(); d->name; d++) {
        size_t len;
        const char *nw = name_word(d->name, k, &len);
        if (!nw || !name_starts_with(d->name, w, k))
            continue;
        char *word = xstrndup(nw, len);
        if (has_prefix(word, typed))
            cands_add(c, line, w->start[k], word, true);
        free(word);
    }
}

enum arg_kind { ARG_NONE, ARG_PLAYLIST, ARG_VIEW, ARG_REPEAT, ARG_TOGGLE, ARG_BROWSE, ARG_QUERY };

/* The words before a QUERY are all required and the query takes one word
 * at least (core/cmd.h), so it starts at argument min_args - 1. */
static size_t query_from(const struct cmd_def *def)
{
    return (size_t)def->min_args - 1;
}

/* What argument i (0-based) of the row takes. */
static enum arg_kind arg_kind(const struct cmd_def *def, size_t i)
{
    if ((def->flags & CMD_F_QUERY) && i >= query_from(def))
        return ARG_QUERY;
    switch (def->id) {
    case CMD_PLAYLIST_RENAME:
    case CMD_PLAYLIST_DELETE:
    case CMD_PLAYLIST_ADD:
    case CMD_PLAYLIST_REMOVE:
    case CMD_PLAYLIST_MOVE:
    case CMD_PLAYLIST_LOAD:
    case CMD_PLAYLIST_LIST:
        return i == 0 ? ARG_PLAYLIST : ARG_NONE;
    case CMD_PLAYLIST_KEEP:
        return i == 0 ? ARG_PLAYLIST : i == 1 ? ARG_TOGGLE : ARG_NONE;
    case CMD_VIEW:
        return i == 0 ? ARG_VIEW : ARG_NONE;
    case CMD_REPEAT:
        return i == 0 ? ARG_REPEAT : ARG_NONE;
    case CMD_SHUFFLE:
        return i == 0 ? ARG_TOGGLE : ARG_NONE;
    case CMD_BROWSE:
        return i == 0 ? ARG_BROWSE : ARG_NONE;
    default:
        return ARG_NONE;
    }
}

/* Each of words (count of them) that the word being typed begins. */
static void complete_words(const char *line, const struct words *w, const char *const *words,
                           size_t count, bool quote, struct cands *c)
{
    size_t k = w->n - 1;
    for (size_t i = 0; i < count; i++) {
        if (!has_prefix(words[i], w->v[k]))
            continue;
        char *text = quote ? cmd_quote(words[i]) : xstrdup(words[i]);
        cands_add(c, line, w->start[k], text, true);
        free(text);
    }
}

/* A word of a query that cmd_parse would not read back as a query word. */
static bool is_special_query_word(const char *word, size_t len)
{
    return word[0] == '#' || (len >= 2 && word[0] == '-' && word[1] == '-');
}

/* name written as the rest of a line that parses to the query name: bare
 * when its words are plain and single-spaced, else one quoted word. */
static char *query_text(const char *name)
{
    bool bare = *name != '\0';
    for (const char *p = name; bare;) {
        size_t len = strcspn(p, " ");
        char *word = xstrndup(p, len);
        char *quoted = cmd_quote(word);
        bare = len > 0 && strcmp(quoted, word) == 0 && !is_special_query_word(word, len);
        free(quoted);
        free(word);
        if (!p[len])
            break;
        p += len + 1;
    }
    return bare ? xstrdup(name) : cmd_quote(name);
}

static void complete_query_from(const char *line, size_t start, const char *typed,
                                const char *const *names, size_t count, struct cands *c)
{
    for (size_t i = 0; i < count; i++) {
        if (!has_prefix(names[i], typed))
            continue;
        char *text = query_text(names[i]);
        cands_add(c, line, start, text, false);
        free(text);
    }
}

/* The query typed so far (words from first on) completes to a title or
 * an artist; its first word also to --all where the row takes it. */
static void complete_query(const char *line, const struct words *w, size_t first,
                           const struct cmd_def *def, const struct complete_names *names,
                           struct cands *c)
{
    size_t len = 0;
    for (size_t i = first; i < w->n; i++)
        len += strlen(w->v[i]) + 1;
    char *typed = xmalloc(len + 1), *o = typed;
    for (size_t i = first; i < w->n; i++)
        o += sprintf(o, "%s%s", i > first ? " " : "", w->v[i]);
    size_t start = w->start[first];
    complete_query_from(line, start, typed, names->tracks, names->ntracks, c);
    complete_query_from(line, start, typed, names->artists, names->nartists, c);
    if (def->id != CMD_SEARCH && first == w->n - 1 && has_prefix("--all", typed))
        cands_add(c, line, start, "--all", true);
    free(typed);
}

static void complete_args(const char *line, const struct words *w, const struct cmd_def *def,
                          size_t used, const struct complete_names *names, struct cands *c)
{
    static const char *const toggle_words[] = {"on", "off"};
    static const char *const repeat_words[] = {"off", "one", "all"};
    static const char *const browse_words[] = {"artists", "albums", "tracks"};
    const char *views[CMD_VIEW_COUNT];
    size_t arg = w->n - 1 - used;
    switch (arg_kind(def, arg)) {
    case ARG_NONE:
        break;
    case ARG_PLAYLIST:
        complete_words(line, w, names->playlists, names->nplaylists, true, c);
        break;
    case ARG_VIEW:
        for (int v = 0; v < CMD_VIEW_COUNT; v++)
            views[v] = cmd_view_name((enum cmd_view)v);
        complete_words(line, w, views, CMD_VIEW_COUNT, false, c);
        break;
    case ARG_REPEAT:
        complete_words(line, w, repeat_words, 3, false, c);
        break;
    case ARG_TOGGLE:
        complete_words(line, w, toggle_words, 2, false, c);
        break;
    case ARG_BROWSE:
        complete_words(line, w, browse_words, 3, false, c);
        break;
    case ARG_QUERY:
        complete_query(line, w, used + query_from(def), def, names, c);
        break;
    }
}

size_t complete_line(const char *line, const struct complete_names *names, char ***out)
{
    static const struct complete_names none = {0};
    struct words w;
    split_lenient(line, &w);
    struct cands c = {0};
    size_t used = 0;
    const struct cmd_def *def = find_row(&w, &used);
    if (def)
        complete_args(line, &w, def, used, names ? names : &none, &c);
    else
        complete_command(line, &w, &c);
    words_free(&w);
    return cands_finish(&c, out);
}

/* ---- the line ---- */

struct cmdline {
    char *text; /* NUL-terminated */
    size_t len, cap, cursor;
    /* history, oldest first */
    char **hist;
    size_t nhist, hist_max;
    size_t hist_pos; /* the entry shown; nhist: the typed line */
    char *typed;     /* the typed line while an entry is shown */
    /* a Tab cycle */
    char **cands;
    size_t ncands, cand;
    char *tail; /* the text after the cursor when it began */
};

struct cmdline *cmdline_new(size_t history_max)
{
    struct cmdline *cl = xcalloc(1, sizeof(*cl));
    cl->cap = 64;
    cl->text = xcalloc(1, cl->cap);
    cl->hist_max = history_max;
    return cl;
}

static void end_cycle(struct cmdline *cl)
{
    for (size_t i = 0; i < cl->ncands; i++)
        free(cl->cands[i]);
    free(cl->cands);
    free(cl->tail);
    cl->cands = NULL;
    cl->tail = NULL;
    cl->ncands = 0;
}

static void end_walk(struct cmdline *cl)
{
    free(cl->typed);
    cl->typed = NULL;
    cl->hist_pos = cl->nhist;
}

static void history_clear(struct cmdline *cl)
{
    for (size_t i = 0; i < cl->nhist; i++)
        free(cl->hist[i]);
    free(cl->hist);
    cl->hist = NULL;
    cl->nhist = 0;
    end_walk(cl);
}

void cmdline_free(struct cmdline *cl)
{
    if (!cl)
        return;
    end_cycle(cl);
    history_clear(cl);
    free(cl->text);
    free(cl);
}

/* Replaces bytes [from, to) of the text with n bytes of s. */
static void splice(struct cmdline *cl, size_t from, size_t to, const char *s, size_t n)
{
    size_t len = cl->len - (to - from) + n;
    if (len + 1 > cl->cap) {
        cl->cap = (len + 1) * 2;
        cl->text = xrealloc(cl->text, cl->cap);
    }
    memmove(cl->text + from + n, cl->text + to, cl->len - to + 1);
    memcpy(cl->text + from, s, n);
    cl->len = len;
}

/* The whole text becomes s, the cursor at its end. */
static void set_text(struct cmdline *cl, const char *s)
{
    splice(cl, 0, cl->len, s, strlen(s));
    cl->cursor = cl->len;
}

void cmdline_reset(struct cmdline *cl, const char *text)
{
    end_cycle(cl);
    end_walk(cl);
    set_text(cl, text ? text : "");
}

const char *cmdline_text(const struct cmdline *cl)
{
    return cl->text;
}

int cmdline_cursor_column(const struct cmdline *cl)
{
    int col = 0;
    for (size_t i = 0; i < cl->cursor;) {
        uint32_t cp;
        i += utf8_decode(cl->text + i, cl->cursor - i, &cp);
        col += char_width(cp);
    }
    return col;
}

/* ---- editing ---- */

/* The result of an edit that changed something when changed. */
static enum cmdline_result changed_if(bool changed)
{
    return changed ? CMDLINE_CHANGED : CMDLINE_NONE;
}

/* A character the line takes as text: printable, not a control. */
static bool is_text(int code, bool is_char)
{
    if (!is_char)
        return code >= 0x20 && code < 0x7f;
    return code >= 0x20 && code != 0x7f && !(code >= 0x80 && code < 0xa0) && code <= 0x10ffff &&
           !(code >= 0xd800 && code < 0xe000);
}

static enum cmdline_result insert_char(struct cmdline *cl, uint32_t cp)
{
    char buf[4];
    size_t n = utf8_encode(cp, buf);
    splice(cl, cl->cursor, cl->cursor, buf, n);
    cl->cursor += n;
    return CMDLINE_CHANGED;
}

static enum cmdline_result move_to(struct cmdline *cl, size_t pos)
{
    bool moved = pos != cl->cursor;
    cl->cursor = pos;
    return changed_if(moved);
}

/* Deletes [from, to) and leaves the cursor at from. */
static enum cmdline_result delete_range(struct cmdline *cl, size_t from, size_t to)
{
    if (from == to)
        return CMDLINE_NONE;
    splice(cl, from, to, "", 0);
    cl->cursor = from;
    return CMDLINE_CHANGED;
}

/* ^W: the blanks before the cursor and the word before them. */
static size_t word_start(const struct cmdline *cl)
{
    size_t pos = cl->cursor;
    while (pos > 0 && is_blank(cl->text[pos - 1]))
        pos--;
    while (pos > 0 && !is_blank(cl->text[pos - 1]))
        pos--;
    return pos;
}

static enum cmdline_result move_left(struct cmdline *cl)
{
    return cl->cursor > 0 ? move_to(cl, prev_char(cl->text, cl->len, cl->cursor)) : CMDLINE_NONE;
}

static enum cmdline_result move_right(struct cmdline *cl)
{
    return cl->cursor < cl->len ? move_to(cl, next_char(cl->text, cl->len, cl->cursor))
                                : CMDLINE_NONE;
}

static enum cmdline_result backspace(struct cmdline *cl)
{
    return cl->cursor > 0 ? delete_range(cl, prev_char(cl->text, cl->len, cl->cursor), cl->cursor)
                          : CMDLINE_NONE;
}

static enum cmdline_result delete_char(struct cmdline *cl)
{
    return cl->cursor < cl->len
               ? delete_range(cl, cl->cursor, next_char(cl->text, cl->len, cl->cursor))
               : CMDLINE_NONE;
}

/* ---- history ---- */

static enum cmdline_result history_older(struct cmdline *cl)
{
    if (cl->hist_pos == 0)
        return CMDLINE_NONE;
    if (cl->hist_pos == cl->nhist) {
        free(cl->typed);
        cl->typed = xstrdup(cl->text);
    }
    cl->hist_pos--;
    set_text(cl, cl->hist[cl->hist_pos]);
    return CMDLINE_CHANGED;
}

static enum cmdline_result history_newer(struct cmdline *cl)
{
    if (cl->hist_pos >= cl->nhist)
        return CMDLINE_NONE;
    cl->hist_pos++;
    if (cl->hist_pos < cl->nhist) {
        set_text(cl, cl->hist[cl->hist_pos]);
    } else {
        set_text(cl, cl->typed ? cl->typed : "");
        end_walk(cl);
    }
    return CMDLINE_CHANGED;
}

void cmdline_history_add(struct cmdline *cl, const char *line)
{
    if (cl->hist_max == 0 || line[strspn(line, " \t")] == '\0')
        return;
    char *entry = xstrdup(line);
    for (char *p = entry; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' '; /* the file holds one entry per line */
    if (cl->nhist > 0 && strcmp(cl->hist[cl->nhist - 1], entry) == 0) {
        free(entry);
    } else {
        if (cl->nhist == cl->hist_max) {
            free(cl->hist[0]);
            memmove(cl->hist, cl->hist + 1, (cl->nhist - 1) * sizeof(*cl->hist));
            cl->nhist--;
        }
        cl->hist = xrealloc(cl->hist, (cl->nhist + 1) * sizeof(*cl->hist));
        cl->hist[cl->nhist++] = entry;
    }
    end_walk(cl);
}

size_t cmdline_history(const struct cmdline *cl, const char *const **entries)
{
    *entries = (const char *const *)cl->hist;
    return cl->nhist;
}

#define HISTORY_FILE_MAX (4u << 20) /* a longer file is no history of ours */
#define HISTORY_MODE     0600

int cmdline_history_load(struct cmdline *cl, const char *path)
{
    uint8_t *data;
    size_t len;
    int r = fs_read_file(path, HISTORY_FILE_MAX, &data, &len);
    if (r == -ENOENT) {
        history_clear(cl);
        return 0;
    }
    if (r < 0)
        return r;
    history_clear(cl);
    char *save = NULL;
    for (char *line = strtok_r((char *)data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\r")] = '\0';
        cmdline_history_add(cl, line);
    }
    free(data);
    return 0;
}

int cmdline_history_save(const struct cmdline *cl, const char *path)
{
    size_t len = 0;
    for (size_t i = 0; i < cl->nhist; i++)
        len += strlen(cl->hist[i]) + 1;
    char *data = xmalloc(len + 1), *o = data;
    for (size_t i = 0; i < cl->nhist; i++)
        o += sprintf(o, "%s\n", cl->hist[i]);
    int r = fs_write_atomic(path, data, len, HISTORY_MODE);
    free(data);
    return r;
}

/* ---- completion ---- */

/* The text before the cursor becomes cand, the tail of the cycle after. */
static void apply_candidate(struct cmdline *cl, const char *cand)
{
    char *text = xasprintf("%s%s", cand, cl->tail);
    set_text(cl, text);
    cl->cursor = strlen(cand);
    free(text);
}

/* Tab (step 1) and shift-Tab (-1): the first (last) candidate, then the
 * next (previous) one. A lone candidate ends the cycle at once, so the
 * next Tab completes the next word. */
static enum cmdline_result complete(struct cmdline *cl, int step,
                                    const struct complete_names *names)
{
    if (cl->ncands == 0) {
        char *before = xstrndup(cl->text, cl->cursor);
        char **cands;
        size_t n = complete_line(before, names, &cands);
        free(before);
        if (n == 0)
            return CMDLINE_NONE;
        cl->cands = cands;
        cl->ncands = n;
        cl->tail = xstrdup(cl->text + cl->cursor);
        cl->cand = step > 0 ? 0 : n - 1;
    } else {
        cl->cand =
            step > 0 ? (cl->cand + 1) % cl->ncands : (cl->cand + cl->ncands - 1) % cl->ncands;
    }
    apply_candidate(cl, cl->cands[cl->cand]);
    if (cl->ncands == 1)
        end_cycle(cl);
    return CMDLINE_CHANGED;
}

/* ---- keys ---- */

#define CTRL(letter) ((letter) - 'A' + 1)

enum cmdline_result cmdline_key(struct cmdline *cl, int code, bool is_char,
                                const struct complete_names *names)
{
    if (code != '\t' && code != KEY_BTAB)
        end_cycle(cl);
    if (is_text(code, is_char))
        return insert_char(cl, (uint32_t)code);
    if (is_char && code >= 0x80)
        return CMDLINE_NONE; /* a C1 control or no character */
    switch (code) {
    case KEY_LEFT:
        return move_left(cl);
    case KEY_RIGHT:
        return move_right(cl);
    case KEY_HOME:
    case CTRL('A'):
        return move_to(cl, 0);
    case KEY_END:
    case CTRL('E'):
        return move_to(cl, cl->len);
    case KEY_BACKSPACE:
    case 0x7f:
    case CTRL('H'):
        return backspace(cl);
    case KEY_DC:
        return delete_char(cl);
    case CTRL('U'):
        return delete_range(cl, 0, cl->cursor);
    case CTRL('W'):
        return delete_range(cl, word_start(cl), cl->cursor);
    case CTRL('K'):
        return delete_range(cl, cl->cursor, cl->len);
    case KEY_UP:
        return history_older(cl);
    case KEY_DOWN:
        return history_newer(cl);
    case '\t':
        return complete(cl, 1, names);
    case KEY_BTAB:
        return complete(cl, -1, names);
    case '\n':
    case '\r':
    case KEY_ENTER:
        cmdline_history_add(cl, cl->text);
        end_walk(cl);
        return CMDLINE_SUBMIT;
    case 27: /* Escape */
    case CTRL('C'):
    case CTRL('G'):
        end_walk(cl);
        return CMDLINE_CANCEL;
    default:
        return CMDLINE_NONE;
    }
}
