/* keymap: which key runs which command line (see ui/keymap.h).
 *
 * Owns the default bindings (the table below, which is also the order `?`
 * lists them in) and the names of keys. A map is one array of bindings
 * kept in help order at every change, so keymap_list can hand it out as
 * it is: a key of the defaults keeps its default place when rebound, an
 * added key goes after them, by name. Keys that are one key to the user
 * but several codes to ncurses (Enter: 10, 13, KEY_ENTER; Backspace:
 * KEY_BACKSPACE, 127, 8) are folded into one canonical code before every
 * look-up, so a binding of one catches them all.
 *
 * Threads: the UI's only. Must never do I/O: [keys] reaches it as strings
 * through keymap_bind. */
#include "ui/keymap.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "base/xmalloc.h"
#include "core/cmd.h"

/* The default bindings, in help order: the keys (by name) of each line. */
#define DEFAULT_KEYS_MAX 2
static const struct {
    const char *keys[DEFAULT_KEYS_MAX];
    const char *line;
} defaults[] = {
    {{"1"}, "view library"},
    {{"2"}, "view playlists"},
    {{"3"}, "view queue"},
    {{"4"}, "view search"},
    {{"5"}, "view peers"},
    {{"6"}, "view log"},
    {{"j", "down"}, "win-down"},
    {{"k", "up"}, "win-up"},
    {{"g", "home"}, "win-top"},
    {{"G", "end"}, "win-bottom"},
    {{"^F", "page-down"}, "win-page-down"},
    {{"^B", "page-up"}, "win-page-up"},
    {{"tab"}, "win-next"},
    {{"enter"}, "win-activate"},
    {{"e"}, "win-add-queue"},
    {{"a"}, "win-add-playlist"},
    {{"D", "delete"}, "win-remove"},
    {{"J"}, "win-move-down"},
    {{"K"}, "win-move-up"},
    {{"o"}, "win-sort"},
    {{"O"}, "win-keep"},
    {{"c", "space"}, "toggle"},
    {{"v"}, "stop"},
    {{"z", "<"}, "prev"},
    {{"b", ">"}, "next"},
    {{"h", "left"}, "seek -5"},
    {{"l", "right"}, "seek +5"},
    {{"+", "="}, "volume +5"},
    {{"-"}, "volume -5"},
    {{"r"}, "repeat"},
    {{"s"}, "shuffle"},
    {{"/"}, "search-start"},
    {{"n"}, "search-next"},
    {{"N"}, "search-prev"},
    {{":"}, "command-mode"},
    {{"?"}, "help"},
    {{"q"}, "quit"},
    {{"^L"}, "refresh"},
};
#define DEFAULT_COUNT (sizeof(defaults) / sizeof(defaults[0]))

/* ---- key names ---- */

#define KEY_ESCAPE      27
#define CANONICAL_ENTER '\n'

/* Keys with a word for a name. */
static const struct {
    const char *name;
    int code;
} named_keys[] = {
    {"enter", CANONICAL_ENTER},
    {"tab", '\t'},
    {"space", ' '},
    {"backspace", KEY_BACKSPACE},
    {"delete", KEY_DC},
    {"escape", KEY_ESCAPE},
    {"up", KEY_UP},
    {"down", KEY_DOWN},
    {"left", KEY_LEFT},
    {"right", KEY_RIGHT},
    {"home", KEY_HOME},
    {"end", KEY_END},
    {"page-up", KEY_PPAGE},
    {"page-down", KEY_NPAGE},
    {"insert", KEY_IC},
};
#define NAMED_COUNT (sizeof(named_keys) / sizeof(named_keys[0]))

/* Static names for the printable ASCII characters '!'..'~' (2 bytes each)
 * and the control keys ^A..^Z (3 bytes each). */
#define FIRST_PRINTABLE '!'
#define LAST_PRINTABLE  '~'
/* clang-format off */
static const char printable_names[] =
    "!\0" "\"\0" "#\0" "$\0" "%\0" "&\0" "'\0" "(\0" ")\0" "*\0" "+\0" ",\0"
    "-\0" ".\0" "/\0" "0\0" "1\0" "2\0" "3\0" "4\0" "5\0" "6\0" "7\0" "8\0"
    "9\0" ":\0" ";\0" "<\0" "=\0" ">\0" "?\0" "@\0" "A\0" "B\0" "C\0" "D\0"
    "E\0" "F\0" "G\0" "H\0" "I\0" "J\0" "K\0" "L\0" "M\0" "N\0" "O\0" "P\0"
    "Q\0" "R\0" "S\0" "T\0" "U\0" "V\0" "W\0" "X\0" "Y\0" "Z\0" "[\0" "\\\0"
    "]\0" "^\0" "_\0" "`\0" "a\0" "b\0" "c\0" "d\0" "e\0" "f\0" "g\0" "h\0"
    "i\0" "j\0" "k\0" "l\0" "m\0" "n\0" "o\0" "p\0" "q\0" "r\0" "s\0" "t\0"
    "u\0" "v\0" "w\0" "x\0" "y\0" "z\0" "{\0" "|\0" "}\0" "~\0";
static const char control_names[] =
    "^A\0" "^B\0" "^C\0" "^D\0" "^E\0" "^F\0" "^G\0" "^H\0" "^I\0" "^J\0" "^K\0" "^L\0" "^M\0"
    "^N\0" "^O\0" "^P\0" "^Q\0" "^R\0" "^S\0" "^T\0" "^U\0" "^V\0" "^W\0" "^X\0" "^Y\0" "^Z\0";
/* clang-format on */
static const char *const function_names[] = {"F1", "F2", "F3", "F4",  "F5",  "F6",
                                             "F7", "F8", "F9", "F10", "F11", "F12"};
#define FUNCTION_COUNT 12

/* One code for the codes ncurses reports for the same key. */
static int canonical(int code)
{
    if (code == '\r' || code == KEY_ENTER)
        return CANONICAL_ENTER;
    if (code == 127 || code == 8)
        return KEY_BACKSPACE;
    return code;
}

/* "F1".."F12" in any case: the function key, else -1. */
static int function_key(const char *name)
{
    if ((name[0] != 'F' && name[0] != 'f') || name[1] < '1' || name[1] > '9')
        return -1;
    for (int n = 1; n <= FUNCTION_COUNT; n++)
        if (strcmp(name + 1, function_names[n - 1] + 1) == 0)
            return KEY_F(n);
    return -1;
}

int keymap_key_code(const char *name)
{
    if (!name || !name[0])
        return -1;
    unsigned char c0 = (unsigned char)name[0];
    if (!name[1])
        return c0 >= FIRST_PRINTABLE && c0 <= LAST_PRINTABLE ? c0 : -1;
    if (c0 == '^' && !name[2]) {
        /* ^I, ^J, ^M and ^H are tab, enter and backspace by their own names */
        unsigned char letter = (unsigned char)name[1] & ~0x20u;
        return letter >= 'A' && letter <= 'Z' ? canonical(letter - 'A' + 1) : -1;
    }
    for (size_t i = 0; i < NAMED_COUNT; i++)
        if (strcasecmp(name, named_keys[i].name) == 0)
            return named_keys[i].code;
    return function_key(name);
}

const char *keymap_key_name(int code)
{
    code = canonical(code);
    for (size_t i = 0; i < NAMED_COUNT; i++)
        if (named_keys[i].code == code)
            return named_keys[i].name;
    if (code >= 1 && code <= 26)
        return &control_names[(code - 1) * 3];
    if (code >= FIRST_PRINTABLE && code <= LAST_PRINTABLE)
        return &printable_names[(code - FIRST_PRINTABLE) * 2];
    if (code >= KEY_F(1) && code <= KEY_F(FUNCTION_COUNT))
        return function_names[code - KEY_F(1)];
    return NULL;
}

/* ---- the map ---- */

struct keymap {
    int *codes;   /* canonical, in help order */
    char **lines; /* owned, parallel to codes */
    size_t n;
};

/* Where code goes in help order: its place among the default keys, or
 * after all of them. */
static size_t default_rank(int code)
{
    for (size_t i = 0; i < DEFAULT_COUNT; i++)
        for (size_t k = 0; k < DEFAULT_KEYS_MAX && defaults[i].keys[k]; k++)
            if (keymap_key_code(defaults[i].keys[k]) == code)
                return i * DEFAULT_KEYS_MAX + k;
    return DEFAULT_COUNT * DEFAULT_KEYS_MAX;
}

/* True when a binding of code goes before one of other. */
static bool goes_before(int code, int other)
{
    size_t r = default_rank(code), ro = default_rank(other);
    if (r != ro)
        return r < ro;
    return strcmp(keymap_key_name(code), keymap_key_name(other)) < 0;
}

static ssize_t find_code(const struct keymap *m, int code)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->codes[i] == code)
            return (ssize_t)i;
    return -1;
}

/* Binds code (canonical) to line, which is known to be valid. */
static void set_binding(struct keymap *m, int code, const char *line)
{
    ssize_t at = find_code(m, code);
    if (at >= 0) {
        free(m->lines[at]);
        m->lines[at] = xstrdup(line);
        return;
    }
    size_t i = 0;
    while (i < m->n && !goes_before(code, m->codes[i]))
        i++;
    m->codes = xrealloc(m->codes, (m->n + 1) * sizeof(*m->codes));
    m->lines = xrealloc(m->lines, (m->n + 1) * sizeof(*m->lines));
    memmove(&m->codes[i + 1], &m->codes[i], (m->n - i) * sizeof(*m->codes));
    memmove(&m->lines[i + 1], &m->lines[i], (m->n - i) * sizeof(*m->lines));
    m->codes[i] = code;
    m->lines[i] = xstrdup(line);
    m->n++;
}

static void remove_binding(struct keymap *m, int code)
{
    ssize_t at = find_code(m, code);
    if (at < 0)
        return;
    size_t i = (size_t)at;
    free(m->lines[i]);
    memmove(&m->codes[i], &m->codes[i + 1], (m->n - i - 1) * sizeof(*m->codes));
    memmove(&m->lines[i], &m->lines[i + 1], (m->n - i - 1) * sizeof(*m->lines));
    m->n--;
}

struct keymap *keymap_new(void)
{
    struct keymap *m = xcalloc(1, sizeof(*m));
    for (size_t i = 0; i < DEFAULT_COUNT; i++)
        for (size_t k = 0; k < DEFAULT_KEYS_MAX && defaults[i].keys[k]; k++)
            set_binding(m, keymap_key_code(defaults[i].keys[k]), defaults[i].line);
    return m;
}

void keymap_free(struct keymap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->lines[i]);
    free(m->codes);
    free(m->lines);
    free(m);
}

#define SHOWN_KEY_MAX 32 /* bytes of a bad key name echoed in a message */

/* A key name as a message shows it: control characters as '?', cut. */
static char *shown_key(const char *name)
{
    char *s = xstrndup(name, SHOWN_KEY_MAX);
    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return s;
}

static bool is_blank_line(const char *line)
{
    return line[strspn(line, " \t")] == '\0';
}

/* "[keys] 'KEY': WHY" into *error (when error is not NULL). */
static int bind_error(const char *key_name, const char *why, char **error)
{
    if (error) {
        char *key = shown_key(key_name);
        *error = xasprintf("[keys] '%s': %s", key, why);
        free(key);
    }
    return -1;
}

int keymap_bind(struct keymap *m, const char *key_name, const char *line, char **error)
{
    if (error)
        *error = NULL;
    int code = keymap_key_code(key_name);
    if (code < 0)
        return bind_error(key_name ? key_name : "", "not a key (chorus.conf(5) lists the names)",
                          error);
    if (!line || is_blank_line(line)) {
        remove_binding(m, code);
        return 0;
    }
    struct cmd *c = NULL;
    char *why = NULL;
    if (cmd_parse(line, &c, &why) != 0) {
        bind_error(key_name, why ? why : "not a command", error);
        free(why);
        return -1;
    }
    cmd_free(c);
    set_binding(m, code, line);
    return 0;
}

const char *keymap_lookup(const struct keymap *m, int code)
{
    ssize_t at = find_code(m, canonical(code));
    return at >= 0 ? m->lines[at] : NULL;
}

size_t keymap_list(const struct keymap *m, const int **codes, const char *const **lines)
{
    *codes = m->codes;
    *lines = (const char *const *)m->lines;
    return m->n;
}

char *keymap_keys_for(const struct keymap *m, const char *line)
{
    size_t len = 0;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->lines[i], line) == 0)
            len += strlen(keymap_key_name(m->codes[i])) + 2;
    char *s = xmalloc(len + 1), *o = s;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->lines[i], line) != 0)
            continue;
        o += sprintf(o, "%s%s", o == s ? "" : ", ", keymap_key_name(m->codes[i]));
    }
    *o = '\0';
    return s;
}
