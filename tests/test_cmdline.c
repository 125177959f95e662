/* Tests for ui/cmdline: editing keys on UTF-8 text (wide characters and
 * combining marks move and delete as one character, the cursor column in
 * display columns), ^W/^U/^K, the history (walk, the typed line kept,
 * no repeats, the cap, the file round trip), completion of command words,
 * multi-word names, playlist names with spaces, views, on/off, queries
 * from titles and artists (read back by cmd_parse as the same query), and
 * Tab / shift-Tab cycling through cmdline_key. */
#include "testutil.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "core/cmd.h"
#include "ui/cmdline.h"

/* ---- helpers ---- */

/* Types text (UTF-8) one character at a time, as wget_wch reports it. */
static void type(struct cmdline *cl, const char *text)
{
    mbstate_t st = {0};
    const char *p = text;
    while (*p) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, p, strlen(p), &st);
        assert_true(n > 0 && n <= 4);
        assert_int_equal(cmdline_key(cl, (int)wc, true, NULL), CMDLINE_CHANGED);
        p += n;
    }
}

static enum cmdline_result key(struct cmdline *cl, int code)
{
    return cmdline_key(cl, code, false, NULL);
}

/* The candidates for line, which must be exactly want (NULL-terminated). */
static void expect_completion(const char *line, const struct complete_names *names,
                              const char *const *want)
{
    char **got;
    size_t n = complete_line(line, names, &got);
    size_t nwant = 0;
    while (want[nwant])
        nwant++;
    bool same = n == nwant;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(got[i], want[i]) == 0;
    if (!same) {
        for (size_t i = 0; i < n; i++)
            print_message("  got [%zu] \"%s\"\n", i, got[i]);
        fail_msg("completion of \"%s\": %zu candidates, want %zu", line, n, nwant);
    }
    if (n == 0)
        assert_null(got);
    for (size_t i = 0; i < n; i++)
        free(got[i]);
    free(got);
}

#define EXPECT(line, names, ...)                                                                   \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__, NULL};                                    \
        expect_completion(line, names, want_);                                                     \
    } while (0)
#define EXPECT_NONE(line, names)                                                                   \
    do {                                                                                           \
        static const char *const want_[] = {NULL};                                                 \
        expect_completion(line, names, want_);                                                     \
    } while (0)

static const char *const tracks[] = {
    "Bohemian Rhapsody", "Bohemian Like You", "Don't Stop Me Now", "#1 Crush", "Queen",
    "Été indien"};
static const char *const artists[] = {"Queen", "The Dandy Warhols", "Joe Dassin"};
static const char *const playlists[] = {"Road Trip", "rock", "Chill"};
static const struct complete_names names = {tracks, 6, artists, 3, playlists, 3};

/* ---- editing ---- */

static void test_editing(void **state)
{
    (void)state;
    struct cmdline *cl = cmdline_new(10);
    assert_string_equal(cmdline_text(cl), "");
    assert_int_equal(cmdline_cursor_column(cl), 0);
    type(cl, "abc");
    assert_string_equal(cmdline_text(cl), "abc");
    assert_int_equal(cmdline_cursor_column(cl), 3);
    assert_int_equal(key(cl, KEY_LEFT), CMDLINE_CHANGED);
    type(cl, "X");
    assert_string_equal(cmdline_text(cl), "abXc");
    assert_int_equal(cmdline_cursor_column(cl), 3);
    assert_int_equal(key(cl, KEY_HOME), CMDLINE_CHANGED);
    assert_int_equal(key(cl, KEY_LEFT), CMDLINE_NONE);
    assert_int_equal(key(cl, KEY_BACKSPACE), CMDLINE_NONE);
    type(cl, ">");
    assert_string_equal(cmdline_text(cl), ">abXc");
    assert_int_equal(key(cl, KEY_DC), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), ">bXc");
    assert_int_equal(key(cl, 5 /* ^E */), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 4);
    assert_int_equal(key(cl, KEY_RIGHT), CMDLINE_NONE);
    assert_int_equal(key(cl, KEY_DC), CMDLINE_NONE);
    assert_int_equal(key(cl, 127), CMDLINE_CHANGED);
    assert_int_equal(key(cl, 8), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), ">b");
    assert_int_equal(key(cl, 1 /* ^A */), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 0);
    assert_int_equal(key(cl, KEY_END), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 2);

    /* Keys the line has no use for; printable keys from wgetch too. */
    assert_int_equal(key(cl, KEY_F(5)), CMDLINE_NONE);
    assert_int_equal(key(cl, 0x80), CMDLINE_NONE);
    assert_int_equal(cmdline_key(cl, 0x85, true, NULL), CMDLINE_NONE); /* C1 control */
    assert_int_equal(cmdline_key(cl, 0xd800, true, NULL), CMDLINE_NONE);
    assert_int_equal(key(cl, 'x'), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), ">bx");

    /* reset: empty, or a given text with the cursor at its end. */
    cmdline_reset(cl, "seek ");
    assert_string_equal(cmdline_text(cl), "seek ");
    assert_int_equal(cmdline_cursor_column(cl), 5);
    cmdline_reset(cl, NULL);
    assert_string_equal(cmdline_text(cl), "");
    cmdline_free(cl);
}

static void test_utf8(void **state)
{
    (void)state;
    struct cmdline *cl = cmdline_new(10);
    type(cl, "\xc3\xa9"); /* é: 2 bytes, 1 column */
    assert_int_equal(strlen(cmdline_text(cl)), 2);
    assert_int_equal(cmdline_cursor_column(cl), 1);
    type(cl, "\xe6\x97\xa5"); /* 日: 3 bytes, 2 columns */
    assert_int_equal(cmdline_cursor_column(cl), 3);
    type(cl, "\xf0\x9f\x8e\xb5"); /* 🎵: 4 bytes, 2 columns */
    assert_int_equal(cmdline_cursor_column(cl), 5);
    assert_string_equal(cmdline_text(cl), "\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\xb5");

    /* The cursor moves by characters. */
    assert_int_equal(key(cl, KEY_LEFT), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 3);
    assert_int_equal(key(cl, KEY_LEFT), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 1);
    type(cl, "a");
    assert_string_equal(cmdline_text(cl), "\xc3\xa9"
                                          "a\xe6\x97\xa5\xf0\x9f\x8e\xb5");
    assert_int_equal(key(cl, KEY_RIGHT), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 4);
    /* backspace and delete take whole characters */
    assert_int_equal(key(cl, KEY_BACKSPACE), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "\xc3\xa9"
                                          "a\xf0\x9f\x8e\xb5");
    assert_int_equal(key(cl, KEY_DC), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "\xc3\xa9"
                                          "a");

    /* A combining mark goes with its base character. */
    cmdline_reset(cl, NULL);
    type(cl, "xe\xcc\x81y"); /* x, e + U+0301, y */
    assert_int_equal(cmdline_cursor_column(cl), 3);
    assert_int_equal(key(cl, KEY_LEFT), CMDLINE_CHANGED);
    assert_int_equal(key(cl, KEY_LEFT), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 1);
    assert_int_equal(key(cl, KEY_RIGHT), CMDLINE_CHANGED);
    assert_int_equal(cmdline_cursor_column(cl), 2);
    assert_int_equal(key(cl, KEY_BACKSPACE), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "xy");

    /* Text set from outside with invalid UTF-8: each bad byte a column. */
    cmdline_reset(cl, "a\xff\xc3");
    assert_int_equal(cmdline_cursor_column(cl), 3);
    assert_int_equal(key(cl, KEY_BACKSPACE), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "a\xff");
    cmdline_free(cl);
}

static void test_kill_keys(void **state)
{
    (void)state;
    struct cmdline *cl = cmdline_new(10);
    type(cl, "play some  song");
    assert_int_equal(key(cl, 23 /* ^W */), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "play some  ");
    assert_int_equal(key(cl, 23), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "play ");
    assert_int_equal(key(cl, 23), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "");
    assert_int_equal(key(cl, 23), CMDLINE_NONE);

    /* ^W, ^U and ^K around a cursor in the middle. */
    cmdline_reset(cl, "queue add bohemian rhapsody");
    for (int i = 0; i < 9; i++)
        key(cl, KEY_LEFT);
    assert_int_equal(key(cl, 23), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "queue add  rhapsody");
    assert_int_equal(key(cl, 11 /* ^K */), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "queue add ");
    assert_int_equal(key(cl, 11), CMDLINE_NONE);
    key(cl, KEY_LEFT);
    assert_int_equal(key(cl, 21 /* ^U */), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), " ");
    assert_int_equal(cmdline_cursor_column(cl), 0);
    assert_int_equal(key(cl, 21), CMDLINE_NONE);
    cmdline_free(cl);
}

static void test_submit_cancel(void **state)
{
    (void)state;
    struct cmdline *cl = cmdline_new(10);
    type(cl, "stop");
    assert_int_equal(key(cl, '\n'), CMDLINE_SUBMIT);
    assert_string_equal(cmdline_text(cl), "stop");
    assert_int_equal(key(cl, '\r'), CMDLINE_SUBMIT);
    assert_int_equal(key(cl, KEY_ENTER), CMDLINE_SUBMIT);
    assert_int_equal(cmdline_key(cl, '\n', true, NULL), CMDLINE_SUBMIT);
    const char *const *h;
    assert_int_equal(cmdline_history(cl, &h), 1); /* once: no repeats */
    assert_string_equal(h[0], "stop");
    assert_int_equal(key(cl, 27), CMDLINE_CANCEL);
    assert_int_equal(key(cl, 3 /* ^C */), CMDLINE_CANCEL);
    assert_int_equal(key(cl, 7 /* ^G */), CMDLINE_CANCEL);
    /* An empty line is submitted but not remembered. */
    cmdline_reset(cl, "  ");
    assert_int_equal(key(cl, '\n'), CMDLINE_SUBMIT);
    assert_int_equal(cmdline_history(cl, &h), 1);
    cmdline_free(cl);
}

/* ---- history ---- */

static void expect_history(const struct cmdline *cl, const char *const *want)
{
    const char *const *h;
    size_t n = cmdline_history(cl, &h);
    size_t i = 0;
    for (; want[i]; i++) {
        assert_true(i < n);
        assert_string_equal(h[i], want[i]);
    }
    assert_int_equal(n, i);
}

#define EXPECT_HISTORY(cl, ...)                                                                    \
    do {                                                                                           \
        static const char *const want_[] = {__VA_ARGS__, NULL};                                    \
        expect_history(cl, want_);                                                                 \
    } while (0)

static void test_history(void **state)
{
    (void)state;
    struct cmdline *cl = cmdline_new(3);
    cmdline_history_add(cl, "a");
    cmdline_history_add(cl, "b");
    cmdline_history_add(cl, "b");
    cmdline_history_add(cl, "");
    cmdline_history_add(cl, "c");
    EXPECT_HISTORY(cl, "a", "b", "c");
    cmdline_history_add(cl, "d");
    EXPECT_HISTORY(cl, "b", "c", "d");
    cmdline_history_add(cl, "b"); /* not in a row: kept */
    EXPECT_HISTORY(cl, "c", "d", "b");
    cmdline_history_add(cl, "two\nlines");
    EXPECT_HISTORY(cl, "d", "b", "two lines");

    /* The walk: up to the oldest, down past the newest to what was typed,
     * which comes back as it was. */
    type(cl, "xy");
    assert_int_equal(key(cl, KEY_UP), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "two lines");
    assert_int_equal(cmdline_cursor_column(cl), 9);
    assert_int_equal(key(cl, KEY_UP), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "b");
    assert_int_equal(key(cl, KEY_UP), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "d");
    assert_int_equal(key(cl, KEY_UP), CMDLINE_NONE);
    assert_string_equal(cmdline_text(cl), "d");
    type(cl, "!"); /* an edit of an entry does not change the history */
    assert_int_equal(key(cl, KEY_DOWN), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "b");
    assert_int_equal(key(cl, KEY_DOWN), CMDLINE_CHANGED);
    assert_int_equal(key(cl, KEY_DOWN), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "xy");
    assert_int_equal(key(cl, KEY_DOWN), CMDLINE_NONE);
    EXPECT_HISTORY(cl, "d", "b", "two lines");

    /* Enter on an entry adds it again as the newest. */
    key(cl, KEY_UP);
    key(cl, KEY_UP);
    assert_int_equal(key(cl, '\n'), CMDLINE_SUBMIT);
    EXPECT_HISTORY(cl, "b", "two lines", "b");
    /* and a reset starts a new walk from the newest */
    cmdline_reset(cl, NULL);
    key(cl, KEY_UP);
    assert_string_equal(cmdline_text(cl), "b");
    cmdline_free(cl);

    /* No history at all. */
    cl = cmdline_new(0);
    cmdline_history_add(cl, "a");
    type(cl, "stop");
    assert_int_equal(key(cl, '\n'), CMDLINE_SUBMIT);
    const char *const *h;
    assert_int_equal(cmdline_history(cl, &h), 0);
    assert_int_equal(key(cl, KEY_UP), CMDLINE_NONE);
    cmdline_free(cl);
}

static void test_history_file(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("cmdline");
    char *path = xasprintf("%s/history", dir);
    char *missing = xasprintf("%s/none", dir);

    struct cmdline *cl = cmdline_new(5);
    cmdline_history_add(cl, "play Bohemian Rhapsody");
    cmdline_history_add(cl, "playlist load 'Road Trip'");
    cmdline_history_add(cl, "\xc3\xa9t\xc3\xa9");
    assert_int_equal(cmdline_history_save(cl, path), 0);
    size_t len;
    char *data = testutil_read_file(path, &len);
    static const char file[] = "play Bohemian Rhapsody\nplaylist load 'Road Trip'\n"
                               "\xc3\xa9t\xc3\xa9\n";
    assert_int_equal(len, sizeof(file) - 1);
    assert_memory_equal(data, file, len);
    free(data);

    struct cmdline *back = cmdline_new(5);
    cmdline_history_add(back, "replaced by the load");
    assert_int_equal(cmdline_history_load(back, path), 0);
    EXPECT_HISTORY(back, "play Bohemian Rhapsody", "playlist load 'Road Trip'",
                   "\xc3\xa9t\xc3\xa9");
    key(back, KEY_UP);
    assert_string_equal(cmdline_text(back), "\xc3\xa9t\xc3\xa9");

    /* A missing file is an empty history. */
    assert_int_equal(cmdline_history_load(back, missing), 0);
    const char *const *h;
    assert_int_equal(cmdline_history(back, &h), 0);
    cmdline_free(back);

    /* A file written elsewhere: CRLF, blank lines and repeats; the cap
     * keeps the newest. */
    static const char crlf[] = "a\r\n\nb\nb\nc\nd\ne\nf\n";
    testutil_write_file(path, crlf, sizeof(crlf) - 1);
    back = cmdline_new(4);
    assert_int_equal(cmdline_history_load(back, path), 0);
    EXPECT_HISTORY(back, "c", "d", "e", "f");
    cmdline_free(back);

    /* A directory is no history file. */
    assert_true(cmdline_history_load(cl, dir) < 0);
    EXPECT_HISTORY(cl, "play Bohemian Rhapsody", "playlist load 'Road Trip'", "\xc3\xa9t\xc3\xa9");
    cmdline_free(cl);

    testutil_rmtree(dir);
    free(missing);
    free(path);
    free(dir);
}

/* ---- completion ---- */

static void test_complete_commands(void **state)
{
    (void)state;
    EXPECT("pl", &names, "play ", "playlist ");
    EXPECT("PL", &names, "play ", "playlist ");
    EXPECT("playl", NULL, "playlist ");
    EXPECT("playlist k", NULL, "playlist keep ");
    EXPECT("playlist  K", NULL, "playlist  keep ");
    EXPECT("playlist ", NULL, "playlist add ", "playlist create ", "playlist delete ",
           "playlist keep ", "playlist list ", "playlist load ", "playlist move ",
           "playlist remove ", "playlist rename ");
    EXPECT("queue ", NULL, "queue add ", "queue clear ", "queue insert ", "queue list ",
           "queue move ", "queue play ", "queue remove ");
    EXPECT("win-d", NULL, "win-down ");
    EXPECT("sea", NULL, "search ", "search-next ", "search-prev ", "search-start ");
    EXPECT("  st", NULL, "  status ", "  stop ");
    EXPECT("he", NULL, "help ");
    EXPECT_NONE("x", NULL);
    EXPECT_NONE("queue x", NULL);
    EXPECT_NONE("frobnicate ", &names);

    /* Everything: each first word once. */
    char **got;
    size_t n = complete_line("", NULL, &got);
    size_t firsts = 0;
    for (const struct cmd_def *d = cmd_table(); d->name; d++) {
        size_t len = strcspn(d->name, " ");
        bool seen = false;
        for (const struct cmd_def *e = cmd_table(); e != d; e++)
            seen = seen || (strncmp(e->name, d->name, len) == 0 && strcspn(e->name, " ") == len);
        firsts += !seen;
    }
    assert_int_equal(n, firsts);
    for (size_t i = 1; i < n; i++)
        assert_true(strcasecmp(got[i - 1], got[i]) < 0);
    for (size_t i = 0; i < n; i++)
        free(got[i]);
    free(got);
}

static void test_complete_arguments(void **state)
{
    (void)state;
    /* Playlist names, quoted when they hold blanks. */
    EXPECT("playlist load ", &names, "playlist load 'Road Trip' ", "playlist load Chill ",
           "playlist load rock ");
    EXPECT("playlist load r", &names, "playlist load 'Road Trip' ", "playlist load rock ");
    EXPECT("playlist load 'road t", &names, "playlist load 'Road Trip' ");
    EXPECT("playlist load \"Road", &names, "playlist load 'Road Trip' ");
    EXPECT("playlist rename ch", &names, "playlist rename Chill ");
    EXPECT("playlist delete ch", &names, "playlist delete Chill ");
    EXPECT("playlist list ch", &names, "playlist list Chill ");
    EXPECT("playlist remove ch", &names, "playlist remove Chill ");
    EXPECT("playlist move ch", &names, "playlist move Chill ");
    EXPECT("playlist keep ch", &names, "playlist keep Chill ");
    EXPECT_NONE("playlist create ch", &names);
    EXPECT_NONE("playlist rename Chill ch", &names);
    EXPECT_NONE("playlist load ch", NULL);

    /* playlist keep NAME, then on/off. */
    EXPECT("playlist keep 'Road Trip' ", &names, "playlist keep 'Road Trip' off ",
           "playlist keep 'Road Trip' on ");
    EXPECT("playlist keep rock ON", &names, "playlist keep rock on ");
    EXPECT_NONE("playlist keep rock on ", &names);

    /* Views, repeat, shuffle, browse. */
    EXPECT("view p", NULL, "view peers ", "view playlists ");
    EXPECT("view ", NULL, "view library ", "view log ", "view peers ", "view playlists ",
           "view queue ", "view search ");
    EXPECT_NONE("view library ", NULL);
    EXPECT("repeat o", NULL, "repeat off ", "repeat one ");
    EXPECT("repeat ", NULL, "repeat all ", "repeat off ", "repeat one ");
    EXPECT("shuffle ", NULL, "shuffle off ", "shuffle on ");
    EXPECT("browse a", NULL, "browse albums ", "browse artists ");
    EXPECT_NONE("seek ", &names);
    EXPECT_NONE("volume 1", &names);
    EXPECT_NONE("win-down ", &names);
}

/* line parses, as a command taking a query, to the query want. */
static void expect_query(const char *line, const char *want)
{
    struct cmd *c;
    char *error = NULL;
    if (cmd_parse(line, &c, &error) != 0)
        fail_msg("\"%s\": %s", line, error);
    const char *query = c->id == CMD_PLAYLIST_ADD ? c->text2 : c->text;
    assert_string_equal(query, want);
    cmd_free(c);
}

static void test_complete_queries(void **state)
{
    (void)state;
    EXPECT("play bohe", &names, "play Bohemian Like You", "play Bohemian Rhapsody");
    EXPECT("play bohemian rh", &names, "play Bohemian Rhapsody");
    EXPECT("play bohemian  rh", &names, "play Bohemian Rhapsody");
    EXPECT("play 'bohemian rh", &names, "play Bohemian Rhapsody");
    EXPECT("play bohemian ", &names, "play Bohemian Like You", "play Bohemian Rhapsody");
    /* titles and artists alike; one candidate for a name that is both */
    EXPECT("play que", &names, "play Queen");
    EXPECT("play jo", &names, "play Joe Dassin");
    EXPECT("play \xc3\x89t\xc3\xa9", &names, "play \xc3\x89t\xc3\xa9 indien");
    EXPECT("play \xc3\xa9T\xc3\x89", &names, "play \xc3\x89t\xc3\xa9 indien");
    /* quoted when the words would not read back as the name */
    EXPECT("play don", &names, "play 'Don'\\''t Stop Me Now'");
    EXPECT("play #1", &names, "play '#1 Crush'");
    /* --all where the command takes it, as its only word */
    EXPECT("play --a", &names, "play --all ");
    EXPECT("queue add -", &names, "queue add --all ");
    EXPECT_NONE("play x --a", &names);
    EXPECT_NONE("search --a", &names);
    /* every command that takes a query, after its other arguments */
    EXPECT("queue add qu", &names, "queue add Queen");
    EXPECT("search the d", &names, "search The Dandy Warhols");
    EXPECT("queue insert 2 qu", &names, "queue insert 2 Queen");
    EXPECT("playlist add rock qu", &names, "playlist add rock Queen");
    EXPECT("playlist add 'Road Trip' the", &names, "playlist add 'Road Trip' The Dandy Warhols");
    EXPECT_NONE("queue insert qu", &names);
    EXPECT_NONE("play zzz", &names);
    EXPECT_NONE("play que", NULL);

    /* What completion writes, cmd_parse reads back as the name. */
    expect_query("play Bohemian Rhapsody", "Bohemian Rhapsody");
    expect_query("play 'Don'\\''t Stop Me Now'", "Don't Stop Me Now");
    expect_query("play '#1 Crush'", "#1 Crush");
    expect_query("playlist add 'Road Trip' The Dandy Warhols", "The Dandy Warhols");
}

/* ---- Tab in the line ---- */

static void test_tab_cycle(void **state)
{
    (void)state;
    struct cmdline *cl = cmdline_new(10);
    type(cl, "pl");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "play ");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "playlist ");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "play ");
    assert_int_equal(cmdline_key(cl, KEY_BTAB, false, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "playlist ");
    assert_int_equal(cmdline_key(cl, KEY_BTAB, false, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "play ");

    /* Another key ends the cycle: the next Tab completes what is there. */
    type(cl, "bo");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "play Bohemian Like You");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "play Bohemian Rhapsody");
    assert_int_equal(cmdline_cursor_column(cl), 22);

    /* A lone candidate is taken, and the next Tab goes on to the next word. */
    cmdline_reset(cl, "playl");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "playlist ");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "playlist add ");

    /* shift-Tab first: the last candidate. */
    cmdline_reset(cl, "view ");
    assert_int_equal(cmdline_key(cl, KEY_BTAB, false, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "view search ");

    /* The word before the cursor; the text after it stays. */
    cmdline_reset(cl, "vi library");
    for (int i = 0; i < 8; i++)
        key(cl, KEY_LEFT);
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "view  library");
    assert_int_equal(cmdline_cursor_column(cl), 5);

    /* Nothing to complete: nothing changes. */
    cmdline_reset(cl, "seek 1");
    assert_int_equal(cmdline_key(cl, '\t', true, &names), CMDLINE_NONE);
    assert_string_equal(cmdline_text(cl), "seek 1");
    /* names NULL: commands only */
    cmdline_reset(cl, "play bo");
    assert_int_equal(cmdline_key(cl, '\t', true, NULL), CMDLINE_NONE);
    cmdline_reset(cl, "sh");
    assert_int_equal(cmdline_key(cl, '\t', true, NULL), CMDLINE_CHANGED);
    assert_string_equal(cmdline_text(cl), "shuffle ");
    cmdline_free(cl);
}

int main(void)
{
    if (!setlocale(LC_ALL, "C.UTF-8"))
        fail_msg("no C.UTF-8 locale");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_editing),           cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_kill_keys),         cmocka_unit_test(test_submit_cancel),
        cmocka_unit_test(test_history),           cmocka_unit_test(test_history_file),
        cmocka_unit_test(test_complete_commands), cmocka_unit_test(test_complete_arguments),
        cmocka_unit_test(test_complete_queries),  cmocka_unit_test(test_tab_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
