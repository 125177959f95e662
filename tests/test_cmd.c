/* Tests for core/cmd: the table's sanity (one row per enum cmd_id, unique
 * names, help, min <= max), every command parsed with good arguments and
 * refused with too few or too many, the values (seek, volume, positions
 * 1-based on the line and 0-based in struct cmd, track ids, repeat,
 * shuffle, browse), the messages of refusals, shell-like splitting and
 * quoting, and the longest name winning. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd.h"

struct good {
    const char *line;
    enum cmd_id id;
    enum cmd_what what;
    const char *text, *text2;
    uint64_t track_id;
    int64_t a, b;
    bool relative;
};

static const struct good goods[] = {
    {.line = "play --all", .id = CMD_PLAY, .what = CMD_WHAT_ALL},
    {.line = "play #12", .id = CMD_PLAY, .what = CMD_WHAT_TRACK, .track_id = 12},
    {.line = "play  some   words ", .id = CMD_PLAY, .what = CMD_WHAT_QUERY, .text = "some words"},
    {.line = "play 1999", .id = CMD_PLAY, .what = CMD_WHAT_QUERY, .text = "1999"},
    {.line = "play '#1 Crush'", .id = CMD_PLAY, .what = CMD_WHAT_QUERY, .text = "#1 Crush"},
    {.line = "play #x", .id = CMD_PLAY, .what = CMD_WHAT_QUERY, .text = "#x"},
    {.line = "pause", .id = CMD_PAUSE},
    {.line = "  resume\t", .id = CMD_RESUME},
    {.line = "toggle", .id = CMD_TOGGLE},
    {.line = "stop", .id = CMD_STOP},
    {.line = "next", .id = CMD_NEXT},
    {.line = "prev", .id = CMD_PREV},
    {.line = "seek 90", .id = CMD_SEEK, .a = 90000},
    {.line = "seek 0", .id = CMD_SEEK, .a = 0},
    {.line = "seek 1:30", .id = CMD_SEEK, .a = 90000},
    {.line = "seek 0:07", .id = CMD_SEEK, .a = 7000},
    {.line = "seek 75:00", .id = CMD_SEEK, .a = 4500000},
    {.line = "seek +10", .id = CMD_SEEK, .a = 10000, .relative = true},
    {.line = "seek -5", .id = CMD_SEEK, .a = -5000, .relative = true},
    {.line = "seek +1:05", .id = CMD_SEEK, .a = 65000, .relative = true},
    {.line = "seek -0:30", .id = CMD_SEEK, .a = -30000, .relative = true},
    {.line = "volume 0", .id = CMD_VOLUME, .a = 0},
    {.line = "volume 100", .id = CMD_VOLUME, .a = 100},
    {.line = "volume +5", .id = CMD_VOLUME, .a = 5, .relative = true},
    {.line = "volume -10", .id = CMD_VOLUME, .a = -10, .relative = true},
    {.line = "queue add --all", .id = CMD_QUEUE_ADD, .what = CMD_WHAT_ALL},
    {.line = "queue add #42", .id = CMD_QUEUE_ADD, .what = CMD_WHAT_TRACK, .track_id = 42},
    {.line = "queue add daft punk",
     .id = CMD_QUEUE_ADD,
     .what = CMD_WHAT_QUERY,
     .text = "daft punk"},
    {.line = "queue add list", .id = CMD_QUEUE_ADD, .what = CMD_WHAT_QUERY, .text = "list"},
    {.line = "queue insert 1 #7",
     .id = CMD_QUEUE_INSERT,
     .what = CMD_WHAT_TRACK,
     .track_id = 7,
     .a = 0},
    {.line = "queue insert 3 foo bar",
     .id = CMD_QUEUE_INSERT,
     .what = CMD_WHAT_QUERY,
     .text = "foo bar",
     .a = 2},
    {.line = "queue insert 2 --all", .id = CMD_QUEUE_INSERT, .what = CMD_WHAT_ALL, .a = 1},
    {.line = "queue remove 1", .id = CMD_QUEUE_REMOVE, .a = 0},
    {.line = "queue move 3 1", .id = CMD_QUEUE_MOVE, .a = 2, .b = 0},
    {.line = "queue clear", .id = CMD_QUEUE_CLEAR},
    {.line = "queue list", .id = CMD_QUEUE_LIST},
    {.line = "repeat", .id = CMD_REPEAT, .a = CMD_REPEAT_CYCLE},
    {.line = "repeat off", .id = CMD_REPEAT, .a = CMD_REPEAT_OFF},
    {.line = "repeat one", .id = CMD_REPEAT, .a = CMD_REPEAT_ONE},
    {.line = "repeat all", .id = CMD_REPEAT, .a = CMD_REPEAT_ALL},
    {.line = "shuffle", .id = CMD_SHUFFLE, .a = CMD_FLIP},
    {.line = "shuffle on", .id = CMD_SHUFFLE, .a = CMD_ON},
    {.line = "shuffle off", .id = CMD_SHUFFLE, .a = CMD_OFF},
    {.line = "playlist create 'Road trip'", .id = CMD_PLAYLIST_CREATE, .text = "Road trip"},
    {.line = "playlist rename 'Old one' New",
     .id = CMD_PLAYLIST_RENAME,
     .text = "Old one",
     .text2 = "New"},
    {.line = "playlist delete Mix", .id = CMD_PLAYLIST_DELETE, .text = "Mix"},
    {.line = "playlist add Mix #5",
     .id = CMD_PLAYLIST_ADD,
     .what = CMD_WHAT_TRACK,
     .text = "Mix",
     .track_id = 5},
    {.line = "playlist add Mix --all", .id = CMD_PLAYLIST_ADD, .what = CMD_WHAT_ALL, .text = "Mix"},
    {.line = "playlist add \"My mix\" daft punk",
     .id = CMD_PLAYLIST_ADD,
     .what = CMD_WHAT_QUERY,
     .text = "My mix",
     .text2 = "daft punk"},
    {.line = "playlist remove Mix 2", .id = CMD_PLAYLIST_REMOVE, .text = "Mix", .a = 1},
    {.line = "playlist move Mix 1 4", .id = CMD_PLAYLIST_MOVE, .text = "Mix", .a = 0, .b = 3},
    {.line = "playlist load Mix", .id = CMD_PLAYLIST_LOAD, .text = "Mix"},
    {.line = "playlist list", .id = CMD_PLAYLIST_LIST},
    {.line = "playlist list Mix", .id = CMD_PLAYLIST_LIST, .text = "Mix"},
    {.line = "search daft   punk", .id = CMD_SEARCH, .text = "daft punk"},
    {.line = "search --all", .id = CMD_SEARCH, .text = "--all"},
    {.line = "browse", .id = CMD_BROWSE, .a = CMD_BROWSE_ARTISTS},
    {.line = "browse artists", .id = CMD_BROWSE, .a = CMD_BROWSE_ARTISTS},
    {.line = "browse albums #3", .id = CMD_BROWSE, .a = CMD_BROWSE_ALBUMS, .b = 3},
    {.line = "browse tracks 9", .id = CMD_BROWSE, .a = CMD_BROWSE_TRACKS, .b = 9},
    {.line = "status", .id = CMD_STATUS},
    {.line = "peers", .id = CMD_PEERS},
    {.line = "quit", .id = CMD_QUIT},
    {.line = "queue play 3", .id = CMD_QUEUE_PLAY, .a = 2},
    {.line = "playlist keep Mix", .id = CMD_PLAYLIST_KEEP, .text = "Mix", .a = CMD_FLIP},
    {.line = "playlist keep 'Road trip' on",
     .id = CMD_PLAYLIST_KEEP,
     .text = "Road trip",
     .a = CMD_ON},
    {.line = "playlist keep Mix off", .id = CMD_PLAYLIST_KEEP, .text = "Mix", .a = CMD_OFF},
    {.line = "view peers", .id = CMD_VIEW, .a = CMD_VIEW_PEERS},
    {.line = "view 1", .id = CMD_VIEW, .a = CMD_VIEW_LIBRARY},
    {.line = "view 6", .id = CMD_VIEW, .a = CMD_VIEW_LOG},
    {.line = "win-down", .id = CMD_WIN_DOWN},
    {.line = "win-up", .id = CMD_WIN_UP},
    {.line = "win-top", .id = CMD_WIN_TOP},
    {.line = "win-bottom", .id = CMD_WIN_BOTTOM},
    {.line = "win-page-down", .id = CMD_WIN_PAGE_DOWN},
    {.line = "win-page-up", .id = CMD_WIN_PAGE_UP},
    {.line = "win-next", .id = CMD_WIN_NEXT},
    {.line = "win-activate", .id = CMD_WIN_ACTIVATE},
    {.line = "win-add-queue", .id = CMD_WIN_ADD_QUEUE},
    {.line = "win-add-playlist", .id = CMD_WIN_ADD_PLAYLIST},
    {.line = "win-remove", .id = CMD_WIN_REMOVE},
    {.line = "win-move-down", .id = CMD_WIN_MOVE_DOWN},
    {.line = "win-move-up", .id = CMD_WIN_MOVE_UP},
    {.line = "win-sort", .id = CMD_WIN_SORT},
    {.line = "win-keep", .id = CMD_WIN_KEEP},
    {.line = "search-start", .id = CMD_SEARCH_START},
    {.line = "search-next", .id = CMD_SEARCH_NEXT},
    {.line = "search-prev", .id = CMD_SEARCH_PREV},
    {.line = "command-mode", .id = CMD_COMMAND_MODE},
    {.line = "help", .id = CMD_HELP},
    {.line = "refresh", .id = CMD_REFRESH},
};

static void assert_str_or_null(const char *got, const char *want, const char *line)
{
    if (!want) {
        if (got)
            fail_msg("'%s': unexpected text '%s'", line, got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fail_msg("'%s': text '%s', expected '%s'", line, got ? got : "(null)", want);
}

static void check_good(const struct good *g)
{
    struct cmd *c = NULL;
    char *error = (char *)"unset";
    int rc = cmd_parse(g->line, &c, &error);
    if (rc != 0)
        fail_msg("'%s' refused: %s", g->line, error);
    assert_null(error);
    assert_non_null(c);
    assert_int_equal(c->id, g->id);
    assert_int_equal(c->what, g->what);
    assert_str_or_null(c->text, g->text, g->line);
    assert_str_or_null(c->text2, g->text2, g->line);
    assert_true(c->track_id == g->track_id);
    if (c->a != g->a || c->b != g->b)
        fail_msg("'%s': a=%lld b=%lld, expected %lld %lld", g->line, (long long)c->a,
                 (long long)c->b, (long long)g->a, (long long)g->b);
    assert_int_equal(c->relative, g->relative);
    assert_null(c->reply);
    cmd_free(c);
}

static void test_every_command_parses(void **state)
{
    bool covered[CMD_COUNT] = {0};
    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        check_good(&goods[i]);
        covered[goods[i].id] = true;
    }
    for (int id = CMD_PLAY; id < CMD_COUNT; id++)
        if (!covered[id])
            fail_msg("no good line for %s", cmd_def_of((enum cmd_id)id)->name);
}

static void test_table_sanity(void **state)
{
    const struct cmd_def *t = cmd_table();
    int rows[CMD_COUNT] = {0};
    int n = 0;
    for (const struct cmd_def *d = t; d->name; d++, n++) {
        assert_true(d->id >= CMD_PLAY && d->id < CMD_COUNT);
        rows[d->id]++;
        assert_ptr_equal(cmd_def_of(d->id), d);
        assert_non_null(d->args);
        assert_non_null(d->help);
        assert_true(strlen(d->help) > 0);
        assert_true(d->min_args >= 0);
        assert_true(d->max_args == -1 || d->min_args <= d->max_args);
        /* a query takes the rest of the line, and only a query does */
        assert_int_equal((d->flags & CMD_F_QUERY) != 0, d->max_args == -1);
        assert_int_equal(d->flags & CMD_F_REMOTE_UNSAFE, 0);
        /* lower-case words, one space between them; the TUI's are one
         * word joined by hyphens (cmus' names) */
        bool ui = (d->flags & CMD_F_UI) != 0;
        for (const char *p = d->name; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') ||
                        (*p == (ui ? '-' : ' ') && p[1] && p[1] != *p && p > d->name));
        assert_true(d->name[0] != ' ');
        for (const struct cmd_def *e = t; e < d; e++)
            assert_string_not_equal(e->name, d->name);
        /* arguments in the synopsis exactly when the command takes some */
        assert_int_equal(*d->args != 0, d->max_args != 0);
    }
    assert_int_equal(n, CMD_COUNT - 1);
    for (int id = CMD_PLAY; id < CMD_COUNT; id++)
        assert_int_equal(rows[id], 1);
    assert_null(cmd_def_of((enum cmd_id)0));
    assert_null(cmd_def_of(CMD_COUNT));
}

/* Parses line, expects a refusal, and returns the message (to free). */
static char *refused(const char *line)
{
    struct cmd *c = (struct cmd *)1;
    char *error = NULL;
    int rc = cmd_parse(line, &c, &error);
    if (rc != CMD_EUSAGE)
        fail_msg("'%s' parsed (rc %d), expected a refusal", line, rc);
    assert_null(c);
    assert_non_null(error);
    for (const char *p = error; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    return error;
}

static void expect_message(const char *line, const char *want)
{
    char *error = refused(line);
    if (strcmp(error, want) != 0)
        fail_msg("'%s': message\n  '%s'\nexpected\n  '%s'", line, error, want);
    free(error);
}

/* The message starts with prefix. */
static void expect_prefix(const char *line, const char *prefix)
{
    char *error = refused(line);
    if (strncmp(error, prefix, strlen(prefix)) != 0)
        fail_msg("'%s': message '%s' does not start with '%s'", line, error, prefix);
    free(error);
}

/* Every command refuses one argument too few and one too many, naming
 * itself and what it expected. */
static void test_bad_counts(void **state)
{
    for (const struct cmd_def *d = cmd_table(); d->name; d++) {
        char line[256], prefix[128];
        snprintf(prefix, sizeof(prefix), "%s: expected ", d->name);
        if (d->min_args > 0) {
            int len = snprintf(line, sizeof(line), "%s", d->name);
            for (int i = 0; i < d->min_args - 1; i++)
                len += snprintf(line + len, sizeof(line) - (size_t)len, " 1");
            char *error = refused(line);
            assert_non_null(strstr(error, d->args));
            assert_true(strncmp(error, prefix, strlen(prefix)) == 0);
            assert_non_null(strstr(error, d->min_args == 1 ? "got nothing" : "got only"));
            free(error);
        }
        if (d->max_args >= 0) {
            int len = snprintf(line, sizeof(line), "%s", d->name);
            for (int i = 0; i < d->max_args; i++)
                len += snprintf(line + len, sizeof(line) - (size_t)len, " 1");
            snprintf(line + len, sizeof(line) - (size_t)len, " extra");
            char *error = refused(line);
            assert_true(strncmp(error, prefix, strlen(prefix)) == 0);
            assert_non_null(strstr(error, "'extra'"));
            free(error);
        }
    }
    expect_message("pause now", "pause: expected no arguments, got 'now'");
    expect_message("queue move 1", "queue move: expected FROM TO, got only 1 argument");
    expect_message("playlist move Mix",
                   "playlist move: expected NAME FROM TO, got only 1 argument");
    expect_message("seek", "seek: expected SECONDS | M:SS | +N | -N, got nothing");
    expect_message("repeat one all", "repeat: expected [off | one | all], got an extra 'all'");
}

static void test_bad_values(void **state)
{
    expect_message("seek abc", "seek: expected SECONDS, M:SS, +N or -N, got 'abc'");
    const char *bad_seeks[] = {"seek 1:5",       "seek 1:60", "seek +",
                               "seek 1.5",       "seek --5",  "seek 1:2:3",
                               "seek :30",       "seek 1:",   "seek 99999999999999999999",
                               "seek 100000001", "seek ' 5'", "seek +-5"};
    for (size_t i = 0; i < sizeof(bad_seeks) / sizeof(*bad_seeks); i++)
        expect_prefix(bad_seeks[i], "seek: expected SECONDS, M:SS, +N or -N, got '");

    expect_message("volume 101", "volume: expected 0 to 100, +N or -N, got '101'");
    const char *bad_volumes[] = {"volume +101", "volume x", "volume -", "volume 5%"};
    for (size_t i = 0; i < sizeof(bad_volumes) / sizeof(*bad_volumes); i++)
        expect_prefix(bad_volumes[i], "volume: expected 0 to 100, +N or -N, got '");

    expect_message("queue remove 0", "queue remove: expected a position (1, 2, ...), got '0'");
    expect_message("queue move 1 0", "queue move: expected a position (1, 2, ...), got '0'");
    expect_prefix("queue remove -1", "queue remove: expected a position");
    expect_prefix("queue remove 1x", "queue remove: expected a position");
    expect_prefix("queue remove 99999999999999999999", "queue remove: expected a position");
    expect_prefix("queue insert 0 #1", "queue insert: expected a position");
    expect_prefix("playlist remove Mix first", "playlist remove: expected a position");

    expect_message("repeat twice", "repeat: expected off, one or all, got 'twice'");
    expect_message("shuffle maybe", "shuffle: expected on or off, got 'maybe'");

    expect_message("play #0", "play: expected a track id from #1 on, got '#0'");
    expect_prefix("play #99999999999999999999", "play: expected a track id from #1 on");
    expect_message("play --all foo", "play: --all takes no other words (a query cannot hold it)");
    expect_message("play foo --all", "play: --all takes no other words (a query cannot hold it)");
    expect_message("play #1 #2", "play: a #ID takes no other words (a query cannot hold it)");
    expect_prefix("queue add foo #3", "queue add: a #ID takes no other words");
    expect_message("play --al", "play: expected --all, #ID or QUERY..., got '--al'");
    expect_message("play ''", "play: expected --all, #ID or QUERY..., got ''");
    expect_prefix("queue insert 1 '  '", "queue insert: expected --all, #ID or QUERY...");
    expect_prefix("playlist add Mix --everything", "playlist add: expected --all");
    expect_message("search ''", "search: expected QUERY..., got ''");

    expect_message("playlist create ''", "playlist create: expected a playlist NAME, got ''");
    expect_prefix("playlist rename Mix ' '", "playlist rename: expected a playlist NAME");

    expect_message("browse genres",
                   "browse: expected artists, albums ARTIST-ID or tracks ALBUM-ID, got 'genres'");
    expect_message("browse albums", "browse albums: expected an ARTIST-ID, got nothing");
    expect_message("browse tracks", "browse tracks: expected an ALBUM-ID, got nothing");
    expect_message("browse albums x", "browse: expected an ARTIST-ID like #12, got 'x'");
    expect_message("browse tracks #0", "browse: expected an ALBUM-ID like #12, got '#0'");
    expect_message("browse artists 3", "browse: expected [artists | albums ARTIST-ID | "
                                       "tracks ALBUM-ID], got an extra '3'");
}

static void test_unknown_commands(void **state)
{
    expect_message("foo", "unknown command 'foo' (chorus(1) lists every command)");
    expect_message("pasue", "unknown command 'pasue' (did you mean 'pause'?)");
    expect_message("PLAY --all", "unknown command 'PLAY' (did you mean 'play'?)");
    expect_message("shufle on", "unknown command 'shufle' (did you mean 'shuffle'?)");
    expect_message("queue",
                   "queue: expected add, insert, remove, move, clear, list or play, got nothing");
    expect_message("queue foo",
                   "queue: expected add, insert, remove, move, clear, list or play, got 'foo'");
    expect_message("playlist", "playlist: expected create, rename, delete, add, remove, move, "
                               "load, list or keep, got nothing");
    expect_message("", "no command given (chorus(1) lists every command)");
    expect_message(" \t\n", "no command given (chorus(1) lists every command)");
    expect_message("'' pause", "unknown command '' (chorus(1) lists every command)");

    /* what a message echoes is one short printable line */
    expect_message("seek \x01\x1b[2J", "seek: expected SECONDS, M:SS, +N or -N, got '??[2J'");
    char line[1100] = "volume ";
    memset(line + 7, '7', 1000);
    line[1007] = '\0';
    char *error = refused(line);
    assert_true(strlen(error) < 120);
    assert_non_null(strstr(error, "...'"));
    free(error);
    /* cut on a character boundary: 39 'x' then a 2-byte character */
    char utf[64] = "repeat ";
    memset(utf + 7, 'x', 39);
    strcpy(utf + 46, "\xc3\xa9tail");
    error = refused(utf);
    assert_non_null(strstr(error, "xxx...'"));
    assert_null(strstr(error, "\xc3'"));
    free(error);

    /* error may be NULL */
    struct cmd *c;
    assert_int_equal(cmd_parse("foo", &c, NULL), CMD_EUSAGE);
    assert_null(c);
    assert_int_equal(cmd_parse("'foo", &c, NULL), CMD_EUSAGE);
}

static void expect_words(const char *line, const char *const *want, int n)
{
    char **words;
    char *error = NULL;
    int got = cmd_split(line, &words, &error);
    if (got != n)
        fail_msg("'%s': %d words, expected %d (%s)", line, got, n, error ? error : "");
    for (int i = 0; i < n; i++)
        assert_string_equal(words[i], want[i]);
    assert_null(words[n]);
    assert_null(error);
    cmd_words_free(words, n);
}

static void test_split(void **state)
{
    const char *w1[] = {"a", "b c", "d \"e\" \\f \\g", "h i", "it's", "", "x"};
    expect_words("a 'b c' \"d \\\"e\\\" \\\\f \\g\" h\\ i 'it'\\''s' '' x", w1, 7);
    const char *w2[] = {"xyz", "1"};
    expect_words("x'y'\"z\"\t\n 1", w2, 2);
    const char *w3[] = {"$HOME", "#1", "a\\b"};
    expect_words("$HOME #1 'a\\b'", w3, 3);
    expect_words("", NULL, 0);
    expect_words("   \t ", NULL, 0);
    const char *w4[] = {"\"", "'"};
    expect_words("'\"' \"'\"", w4, 2);

    char **words = (char **)1;
    char *error = NULL;
    assert_int_equal(cmd_split("play 'abc", &words, &error), CMD_EUSAGE);
    assert_null(words);
    assert_string_equal(error, "unterminated single quote (opened at character 6)");
    free(error);
    assert_int_equal(cmd_split("a \"b\\\"", &words, &error), CMD_EUSAGE);
    assert_string_equal(error, "unterminated double quote (opened at character 3)");
    free(error);
    assert_int_equal(cmd_split("play abc\\", &words, &error), CMD_EUSAGE);
    assert_string_equal(error, "the line ends with a backslash that escapes nothing");
    free(error);
    expect_message("playlist create 'Road trip",
                   "unterminated single quote (opened at character 17)");
    cmd_words_free(NULL, 0);
}

static void test_quote_round_trip(void **state)
{
    char *q = cmd_quote("abc");
    assert_string_equal(q, "abc");
    free(q);
    q = cmd_quote("#12");
    assert_string_equal(q, "#12");
    free(q);
    q = cmd_quote("");
    assert_string_equal(q, "''");
    free(q);
    q = cmd_quote("it's");
    assert_string_equal(q, "'it'\\''s'");
    free(q);

    const char *words[] = {"Road trip", "it's",      "a\"b",      "back\\slash", "",
                           "''",        "tab\there", "new\nline", "caf\xc3\xa9", "--all",
                           "-5",        "'",         "\\"};
    enum { N = sizeof(words) / sizeof(*words) };
    char line[512] = "";
    for (int i = 0; i < N; i++) {
        q = cmd_quote(words[i]);
        if (i)
            strcat(line, " ");
        strcat(line, q);
        free(q);
    }
    expect_words(line, words, N);
}

/* The longest name wins, and names are whole words. */
static void test_longest_match(void **state)
{
    char *const argv[] = {"queue", "add", "#3"};
    struct cmd *c;
    char *error;
    assert_int_equal(cmd_parse_argv(3, argv, &c, &error), 0);
    assert_int_equal(c->id, CMD_QUEUE_ADD);
    assert_true(c->track_id == 3);
    cmd_free(c);
    /* a word with a space from argv is one word */
    char *const argv2[] = {"playlist", "create", "Road trip"};
    assert_int_equal(cmd_parse_argv(3, argv2, &c, &error), 0);
    assert_string_equal(c->text, "Road trip");
    cmd_free(c);
    /* the name is matched word by word, never in part */
    char *const argv3[] = {"queue add", "x"};
    assert_int_equal(cmd_parse_argv(2, argv3, &c, &error), CMD_EUSAGE);
    free(error);
    expect_prefix("queueadd x", "unknown command 'queueadd'");
    expect_prefix("queue adds x", "queue: expected add,");
    assert_int_equal(cmd_parse_argv(0, NULL, &c, &error), CMD_EUSAGE);
    assert_null(c);
    free(error);
    cmd_free(NULL);
}

static void test_strerror(void **state)
{
    int codes[] = {CMD_EUSAGE, CMD_EUNKNOWN, CMD_EOFFLINE, CMD_EEXISTS, CMD_EEMPTY, CMD_EBUSY};
    enum { N = sizeof(codes) / sizeof(*codes) };
    const char *unknown = cmd_strerror(-7099);
    assert_string_equal(cmd_strerror(0), "success");
    for (int i = 0; i < N; i++) {
        assert_true(codes[i] <= -7000 && codes[i] >= -7099);
        const char *s = cmd_strerror(codes[i]);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, unknown);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(s, cmd_strerror(codes[j]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sanity),     cmocka_unit_test(test_every_command_parses),
        cmocka_unit_test(test_bad_counts),       cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_unknown_commands), cmocka_unit_test(test_split),
        cmocka_unit_test(test_quote_round_trip), cmocka_unit_test(test_longest_match),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
