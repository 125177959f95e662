/* Tests for ui/keymap: the default bindings as chorus.conf(5) and DESIGN §8
 * give them (each a valid command line, in help order), key names to
 * codes and back, the keys that are one key under several codes (Enter,
 * Backspace), binding, unbinding and rebinding, refusals and their
 * messages, keys_for, and the man pages' tables of defaults (chorus.conf(5)
 * and chorus(1)) matching the map. */
#include "testutil.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "core/cmd.h"
#include "ui/keymap.h"

/* The defaults as the task and the man page state them, in help order. */
static const struct {
    const char *keys[2];
    const char *line;
} want_defaults[] = {
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
#define NDEFAULTS (sizeof(want_defaults) / sizeof(want_defaults[0]))

static int code_of(const char *name)
{
    int code = keymap_key_code(name);
    if (code < 0)
        fail_msg("'%s' is no key", name);
    return code;
}

static void test_defaults(void **state)
{
    (void)state;
    struct keymap *m = keymap_new();
    size_t nkeys = 0;
    for (size_t i = 0; i < NDEFAULTS; i++) {
        struct cmd *c = NULL;
        char *error = NULL;
        if (cmd_parse(want_defaults[i].line, &c, &error) != 0)
            fail_msg("default '%s': %s", want_defaults[i].line, error);
        cmd_free(c);
        for (size_t k = 0; k < 2 && want_defaults[i].keys[k]; k++, nkeys++) {
            const char *got = keymap_lookup(m, code_of(want_defaults[i].keys[k]));
            if (!got || strcmp(got, want_defaults[i].line) != 0)
                fail_msg("key %s: got %s, want %s", want_defaults[i].keys[k], got ? got : "NULL",
                         want_defaults[i].line);
        }
    }
    /* Nothing else is bound. */
    const int *codes;
    const char *const *lines;
    assert_int_equal(keymap_list(m, &codes, &lines), nkeys);
    assert_null(keymap_lookup(m, 'x'));
    assert_null(keymap_lookup(m, KEY_F(1)));
    keymap_free(m);
}

static void test_list_order(void **state)
{
    (void)state;
    struct keymap *m = keymap_new();
    const int *codes;
    const char *const *lines;
    size_t n = keymap_list(m, &codes, &lines);
    size_t at = 0;
    for (size_t i = 0; i < NDEFAULTS; i++) {
        for (size_t k = 0; k < 2 && want_defaults[i].keys[k]; k++, at++) {
            assert_true(at < n);
            assert_string_equal(keymap_key_name(codes[at]), want_defaults[i].keys[k]);
            assert_string_equal(lines[at], want_defaults[i].line);
        }
    }
    assert_int_equal(at, n);

    /* Added keys follow the defaults, by name; a rebound default key keeps
     * its place. */
    assert_int_equal(keymap_bind(m, "x", "stop", NULL), 0);
    assert_int_equal(keymap_bind(m, "F5", "view peers", NULL), 0);
    assert_int_equal(keymap_bind(m, "F2", "view playlists", NULL), 0);
    assert_int_equal(keymap_bind(m, "j", "seek +10", NULL), 0);
    n = keymap_list(m, &codes, &lines);
    assert_int_equal(n, at + 3);
    assert_string_equal(keymap_key_name(codes[6]), "j");
    assert_string_equal(lines[6], "seek +10");
    assert_string_equal(keymap_key_name(codes[n - 3]), "F2");
    assert_string_equal(keymap_key_name(codes[n - 2]), "F5");
    assert_string_equal(keymap_key_name(codes[n - 1]), "x");
    assert_string_equal(lines[n - 1], "stop");
    keymap_free(m);
}

static void test_names(void **state)
{
    (void)state;
    /* Every printable character is its own name. */
    for (int c = '!'; c <= '~'; c++) {
        char name[2] = {(char)c, '\0'};
        assert_int_equal(keymap_key_code(name), c);
        assert_string_equal(keymap_key_name(c), name);
    }
    /* Control keys, but those with names of their own. */
    for (int c = 1; c <= 26; c++) {
        char name[3] = {'^', (char)('A' + c - 1), '\0'};
        if (c == 8 || c == 9 || c == 10 || c == 13)
            continue;
        assert_int_equal(keymap_key_code(name), c);
        assert_string_equal(keymap_key_name(c), name);
    }
    static const struct {
        const char *name;
        int code;
    } named[] = {
        {"tab", '\t'},      {"space", ' '},     {"escape", 27},         {"delete", KEY_DC},
        {"up", KEY_UP},     {"down", KEY_DOWN}, {"left", KEY_LEFT},     {"right", KEY_RIGHT},
        {"home", KEY_HOME}, {"end", KEY_END},   {"page-up", KEY_PPAGE}, {"page-down", KEY_NPAGE},
        {"insert", KEY_IC}, {"F1", KEY_F(1)},   {"F10", KEY_F(10)},     {"F12", KEY_F(12)},
    };
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        assert_int_equal(keymap_key_code(named[i].name), named[i].code);
        assert_string_equal(keymap_key_name(named[i].code), named[i].name);
    }
    /* Names that are words ignore case. */
    assert_int_equal(keymap_key_code("Page-Down"), KEY_NPAGE);
    assert_int_equal(keymap_key_code("f5"), KEY_F(5));
    assert_int_equal(keymap_key_code("^f"), 6);
    assert_int_equal(keymap_key_code("ESCAPE"), 27);

    static const char *const not_keys[] = {"",   "jj", "foo",       "F0",       "F13",  "F01", "^1",
                                           "^^", " ",  "page_down", "\xc3\xa9", "\x1b", NULL};
    for (size_t i = 0; not_keys[i]; i++)
        if (keymap_key_code(not_keys[i]) != -1)
            fail_msg("'%s' taken as a key", not_keys[i]);
    assert_int_equal(keymap_key_code("^"), '^'); /* the caret itself */
    assert_int_equal(keymap_key_code(NULL), -1);
    assert_null(keymap_key_name(0));
    assert_null(keymap_key_name(200));
    assert_null(keymap_key_name(KEY_F(13)));
    assert_null(keymap_key_name(KEY_RESIZE));
}

static void test_aliases(void **state)
{
    (void)state;
    /* Enter: 10, 13 and KEY_ENTER are one key, and so are ^J and ^M. */
    int enter = keymap_key_code("enter");
    assert_int_equal(keymap_key_code("^M"), enter);
    assert_int_equal(keymap_key_code("^J"), enter);
    assert_string_equal(keymap_key_name('\n'), "enter");
    assert_string_equal(keymap_key_name('\r'), "enter");
    assert_string_equal(keymap_key_name(KEY_ENTER), "enter");
    assert_int_equal(keymap_key_code("^I"), '\t');

    struct keymap *m = keymap_new();
    assert_string_equal(keymap_lookup(m, '\n'), "win-activate");
    assert_string_equal(keymap_lookup(m, '\r'), "win-activate");
    assert_string_equal(keymap_lookup(m, KEY_ENTER), "win-activate");

    /* Backspace: KEY_BACKSPACE, 127 and 8 (^H). */
    int bs = keymap_key_code("backspace");
    assert_int_equal(keymap_key_code("^H"), bs);
    assert_string_equal(keymap_key_name(127), "backspace");
    assert_string_equal(keymap_key_name(8), "backspace");
    assert_string_equal(keymap_key_name(KEY_BACKSPACE), "backspace");
    assert_null(keymap_lookup(m, 127));
    assert_int_equal(keymap_bind(m, "^H", "stop", NULL), 0);
    assert_string_equal(keymap_lookup(m, 127), "stop");
    assert_string_equal(keymap_lookup(m, 8), "stop");
    assert_string_equal(keymap_lookup(m, KEY_BACKSPACE), "stop");

    /* Binding ^M rebinds the one Enter key, not a second one. */
    const int *codes;
    const char *const *lines;
    size_t n = keymap_list(m, &codes, &lines);
    assert_int_equal(keymap_bind(m, "^M", "toggle", NULL), 0);
    assert_int_equal(keymap_list(m, &codes, &lines), n);
    assert_string_equal(keymap_lookup(m, KEY_ENTER), "toggle");
    keymap_free(m);
}

static void assert_keys_for(const struct keymap *m, const char *line, const char *want)
{
    char *got = keymap_keys_for(m, line);
    assert_string_equal(got, want);
    free(got);
}

static void test_bind(void **state)
{
    (void)state;
    struct keymap *m = keymap_new();
    assert_keys_for(m, "win-down", "j, down");
    assert_keys_for(m, "volume +5", "+, =");
    assert_keys_for(m, "toggle", "c, space");
    assert_keys_for(m, "quit", "q");
    assert_keys_for(m, "seek +10", "");
    assert_keys_for(m, "win-dow", "");

    /* Rebinding replaces. */
    char *error = NULL;
    assert_int_equal(keymap_bind(m, "j", "seek +10", &error), 0);
    assert_null(error);
    assert_string_equal(keymap_lookup(m, 'j'), "seek +10");
    assert_keys_for(m, "win-down", "down");
    assert_keys_for(m, "seek +10", "j");

    /* An empty (or blank) line unbinds; unbinding a free key is fine. */
    assert_int_equal(keymap_bind(m, "c", "", &error), 0);
    assert_null(keymap_lookup(m, 'c'));
    assert_keys_for(m, "toggle", "space");
    assert_int_equal(keymap_bind(m, "space", "  ", &error), 0);
    assert_null(keymap_lookup(m, ' '));
    assert_keys_for(m, "toggle", "");
    assert_int_equal(keymap_bind(m, "x", "", &error), 0);
    assert_int_equal(keymap_bind(m, "x", NULL, &error), 0);

    /* Bound again, a default key is back in its place. */
    assert_int_equal(keymap_bind(m, "space", "toggle", &error), 0);
    assert_int_equal(keymap_bind(m, "c", "toggle", &error), 0);
    assert_keys_for(m, "toggle", "c, space");

    /* Any command of the table, the engine's and the TUI's. */
    assert_int_equal(keymap_bind(m, "F5", "view peers", &error), 0);
    assert_int_equal(keymap_bind(m, "^P", "playlist load 'Road Trip'", &error), 0);
    assert_string_equal(keymap_lookup(m, KEY_F(5)), "view peers");
    assert_string_equal(keymap_lookup(m, 16), "playlist load 'Road Trip'");
    keymap_free(m);
}

static void expect_refused(struct keymap *m, const char *key, const char *line, const char *want)
{
    const int *codes;
    const char *const *lines;
    size_t n = keymap_list(m, &codes, &lines);
    char *error = NULL;
    assert_int_equal(keymap_bind(m, key, line, &error), -1);
    assert_non_null(error);
    assert_string_equal(error, want);
    free(error);
    assert_int_equal(keymap_bind(m, key, line, NULL), -1);
    assert_int_equal(keymap_list(m, &codes, &lines), n);
}

static void test_refused(void **state)
{
    (void)state;
    struct keymap *m = keymap_new();
    expect_refused(m, "foo", "stop", "[keys] 'foo': not a key (chorus.conf(5) lists the names)");
    expect_refused(m, "F13", "", "[keys] 'F13': not a key (chorus.conf(5) lists the names)");
    expect_refused(m, "\x1b[A", "stop", "[keys] '?[A': not a key (chorus.conf(5) lists the names)");
    expect_refused(m, "j", "seek x", "[keys] 'j': seek: expected SECONDS, M:SS, +N or -N, got 'x'");
    expect_refused(m, "j", "frobnicate",
                   "[keys] 'j': unknown command 'frobnicate' (chorus(1) lists every command)");
    expect_refused(m, "enter", "view 'open",
                   "[keys] 'enter': unterminated single quote (opened at character 6)");
    /* A refused binding leaves the old one. */
    assert_string_equal(keymap_lookup(m, 'j'), "win-down");
    assert_string_equal(keymap_lookup(m, '\n'), "win-activate");
    keymap_free(m);
}

/* A row of a man page's table as plain text: \- is a minus, \(ha a caret,
 * \& nothing. Owned by the caller. */
static char *man_unescape(const char *row, size_t len)
{
    char *plain = xmalloc(len + 1), *o = plain;
    for (const char *r = row; r < row + len;) {
        if (strncmp(r, "\\-", 2) == 0) {
            *o++ = '-';
            r += 2;
        } else if (strncmp(r, "\\(ha", 4) == 0) {
            *o++ = '^';
            r += 4;
        } else if (strncmp(r, "\\&", 2) == 0) {
            r += 2;
        } else {
            *o++ = *r++;
        }
    }
    *o = '\0';
    return plain;
}

/* Splits a row of the table into its keys and its command line (in
 * place); false for a row that is no binding. chorus.conf(5) writes
 * "KEYS  LINE" in an .EX block (the keys end at the first two blanks);
 * chorus(1) writes a tbl table "KEYS@LINE@WHAT IT DOES", whose bindings
 * follow the rule ("_") under its header. */
static bool man_binding(char *plain, bool tbl, bool *in_rows, const char **keys, const char **line)
{
    if (plain[0] == '.') /* .EX, .EE, .TS, .TE */
        return false;
    if (tbl) {
        if (strcmp(plain, "_") == 0)
            *in_rows = true;
        char *at = strchr(plain, '@'), *at2 = at ? strchr(at + 1, '@') : NULL;
        if (!*in_rows || !at2)
            return false;
        *at = *at2 = '\0';
        *keys = plain;
        *line = at + 1;
        return true;
    }
    char *gap = strstr(plain, "  ");
    assert_non_null(gap);
    *gap = '\0';
    *keys = plain;
    *line = gap + 2 + strspn(gap + 2, " ");
    return true;
}

/* The rows of a page's table of default keys (between the marker
 * comments) give every key the map has, each bound as the map binds it. */
static void check_man_page_table(const char *page_name, const char *marker, bool tbl)
{
    const char *src = getenv("CHORUS_SOURCE_DIR");
    assert_non_null(src);
    char *path = xasprintf("%s/man/%s", src, page_name);
    size_t len;
    char *page = testutil_read_file(path, &len);
    page = xrealloc(page, len + 1);
    page[len] = '\0';
    char *begin_mark = xasprintf(".\\\" %s: begin", marker);
    char *end_mark = xasprintf(".\\\" %s: end\n", marker);
    const char *begin = strstr(page, begin_mark);
    const char *end = strstr(page, end_mark);
    if (!begin || !end)
        fail_msg("%s: no table of default keys between the marker comments", path);
    begin = strchr(begin, '\n') + 1;

    struct keymap *m = keymap_new();
    const int *codes;
    const char *const *lines;
    size_t n = keymap_list(m, &codes, &lines), rows = 0;
    bool in_rows = false;
    for (const char *p = begin; p < end; p = strchr(p, '\n') + 1) {
        char *plain = man_unescape(p, (size_t)(strchr(p, '\n') - p));
        const char *keys_shown, *line;
        if (man_binding(plain, tbl, &in_rows, &keys_shown, &line)) {
            char *keys = keymap_keys_for(m, line);
            if (strcmp(keys, keys_shown) != 0)
                fail_msg("%s: '%s' for '%s', the map has '%s'", path, keys_shown, line, keys);
            for (const char *k = keys; k; k = strstr(k + 1, ", "))
                rows++;
            free(keys);
        }
        free(plain);
    }
    assert_int_equal(rows, n);
    keymap_free(m);
    free(begin_mark);
    free(end_mark);
    free(page);
    free(path);
}

static void test_man_page_table(void **state)
{
    (void)state;
    check_man_page_table("chorus.conf.5", "default keys", false);
}

/* chorus(1), THE TUI, Keys: the same bindings in a table with what they do. */
static void test_man_page_tui_table(void **state)
{
    (void)state;
    check_man_page_table("chorus.1", "TUI keys", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),       cmocka_unit_test(test_list_order),
        cmocka_unit_test(test_names),          cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_bind),           cmocka_unit_test(test_refused),
        cmocka_unit_test(test_man_page_table), cmocka_unit_test(test_man_page_tui_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
