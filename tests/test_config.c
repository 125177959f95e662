/* Tests for core/config and core/settings: every value type with its
 * bounds and spellings, quoting and comments, the exact file:line text of
 * each error, all-or-nothing loading, -o overrides, table checks,
 * free-form sections ("*": keys as written, quoted keys) and check
 * callbacks, the player's settings from a real file ([ui], [colors] and
 * [keys] among them), and man/chorus.conf.5 documenting exactly the keys
 * of the player's table. */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/paths.h"
#include "base/settings.h"
#include "base/xmalloc.h"

struct conf {
    char *name;
    int port;
    int offset;
    uint64_t cache;
    bool shuffle;
    int mode;
    enum clog_level level;
    char *service; /* through a setter */
    int setter_calls;
};

static const char *const modes[] = {"fast", "slow", "auto", NULL};

static int set_service(void *target, const struct config_key *key, const struct config_value *v,
                       char **why)
{
    struct conf *c = target;
    assert_string_equal(key->name, "service");
    assert_string_equal(v->name, "service");
    if (!strchr(v->str, ':')) {
        *why = xstrdup("expected host:port");
        return -1;
    }
    free(c->service);
    c->service = xstrdup(v->str);
    c->setter_calls++;
    return 0;
}

#define C struct conf
static const struct config_key schema[] = {
    CONFIG_STRING_KEY("general", "name", C, name, "anon", "who you are"),
    CONFIG_INT_KEY("net", "port", C, port, 1, 65535, "4100", "port to listen on"),
    CONFIG_INT_KEY("net", "offset", C, offset, INT_MIN, INT_MAX, NULL, "any integer"),
    {.section = "net",
     .name = "service",
     .type = CONFIG_STRING,
     .set = set_service,
     .doc = "host:port of the service"},
    CONFIG_SIZE_KEY("cache", "size", C, cache, CONFIG_MIB, 10 * CONFIG_GIB, "1G", "cache cap"),
    CONFIG_BOOL_KEY("play", "shuffle", C, shuffle, "no", "shuffle the queue"),
    CONFIG_ENUM_KEY("play", "mode", C, mode, modes, "auto", "how to play"),
    CONFIG_ENUM_KEY("log", "level", C, level, clog_level_names, "info", "log level"),
    CONFIG_END,
};
#undef C

static void conf_defaults(struct conf *c)
{
    memset(c, 0, sizeof(*c));
    char *error = NULL;
    assert_int_equal(config_set_defaults(schema, c, &error), 0);
    assert_null(error);
}

static void conf_free(struct conf *c)
{
    config_free_strings(schema, c);
    assert_null(c->name);
    free(c->service);
}

static void assert_conf_equal(const struct conf *a, const struct conf *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->port, b->port);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->cache, b->cache);
    assert_int_equal(a->shuffle, b->shuffle);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->level, b->level);
    assert_true((a->service == NULL) == (b->service == NULL));
    if (a->service)
        assert_string_equal(a->service, b->service);
}

static int load(struct conf *c, const char *text, char **error)
{
    return config_load_string(text, strlen(text), "test.conf", schema, c, error);
}

/* Loads text, which must fail with exactly want, and leave everything as
 * the defaults had it. */
static void expect_error_len(const char *text, size_t len, const char *want)
{
    struct conf c, pristine;
    conf_defaults(&c);
    conf_defaults(&pristine);
    char *error = NULL;
    int r = config_load_string(text, len, "test.conf", schema, &c, &error);
    assert_int_equal(r, CONFIG_EINVALID);
    assert_non_null(error);
    assert_string_equal(error, want);
    assert_conf_equal(&c, &pristine);
    assert_int_equal(c.setter_calls, 0);
    free(error);
    conf_free(&c);
    conf_free(&pristine);
}

static void expect_error(const char *text, const char *want)
{
    expect_error_len(text, strlen(text), want);
}

static void write_text(const char *path, const char *text)
{
    testutil_write_file(path, text, strlen(text));
}

/* ---- valid files ---- */

static void test_defaults(void **state)
{
    (void)state;
    struct conf c;
    conf_defaults(&c);
    assert_string_equal(c.name, "anon");
    assert_int_equal(c.port, 4100);
    assert_int_equal(c.offset, 0);
    assert_int_equal(c.cache, 1u << 30);
    assert_false(c.shuffle);
    assert_int_equal(c.mode, 2);
    assert_int_equal(c.level, CLOG_INFO);
    assert_null(c.service);
    conf_free(&c);
}

static void test_full_file(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("config");
    char *path = xasprintf("%s/chorus.conf", dir);
    static const char text[] =
        "\xEF\xBB\xBF# Chorus test configuration\r\n"
        "; another comment style\n"
        "\n"
        "   [general]   # trailing comment\n"
        "name = \"Ann \\\"the \\\\ DJ\\\" # not a comment ; nor this\"  ; comment\n"
        "[ net ]\n"
        "\tport=8080\r\n"
        "offset =   -2147483648   \n"
        "service = host.example:4100 # comment after blank\n"
        "[cache]\n"
        "size = 512m\n"
        "[play]\n"
        "shuffle = On\n"
        "mode = SLOW\n"
        "[log]\n"
        "level = \"debug\"\n"
        "[general]\n"
        "\n"
        "   # an indented comment\n";
    testutil_write_file(path, text, sizeof(text) - 1);

    struct conf c;
    conf_defaults(&c);
    char *error = NULL;
    assert_int_equal(config_load_file(path, schema, &c, &error), 0);
    assert_null(error);
    assert_string_equal(c.name, "Ann \"the \\ DJ\" # not a comment ; nor this");
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.offset, INT_MIN);
    assert_string_equal(c.service, "host.example:4100");
    assert_int_equal(c.setter_calls, 1);
    assert_int_equal(c.cache, 512u << 20);
    assert_true(c.shuffle);
    assert_int_equal(c.mode, 1);
    assert_int_equal(c.level, CLOG_DEBUG);
    conf_free(&c);

    testutil_rmtree(dir);
    free(path);
    free(dir);
}

/* What a load stored for key (any type but STRING) as a number. */
static int64_t stored_num(const struct conf *c, const struct config_key *k)
{
    const char *field = (const char *)c + k->offset;
    switch (k->type) {
    case CONFIG_SIZE:
        return (int64_t) * (const uint64_t *)(const void *)field;
    case CONFIG_BOOL:
        return *(const bool *)(const void *)field;
    default:
        return *(const int *)(const void *)field;
    }
}

static void test_values_by_type(void **state)
{
    (void)state;
    /* One line under its section; str is the expected string, else num. */
    static const struct {
        const char *key, *line;
        int64_t num;
        const char *str;
    } cases[] = {
        {"cache.size", "size = 1M", 1 << 20, NULL},
        {"cache.size", "size = 1024k", 1 << 20, NULL},
        {"cache.size", "size = 1048576", 1 << 20, NULL},
        {"cache.size", "size = 2G", 2ll << 30, NULL},
        {"cache.size", "size = 10g", 10ll << 30, NULL},
        {"cache.size", "size = 1536M", 1536ll << 20, NULL},
        {"cache.size", "size = 0010M", 10ll << 20, NULL},
        {"cache.size", "size = \"64M\"", 64ll << 20, NULL},
        {"play.shuffle", "shuffle = yes", 1, NULL},
        {"play.shuffle", "shuffle = no", 0, NULL},
        {"play.shuffle", "shuffle = true", 1, NULL},
        {"play.shuffle", "shuffle = false", 0, NULL},
        {"play.shuffle", "shuffle = on", 1, NULL},
        {"play.shuffle", "shuffle = off", 0, NULL},
        {"play.shuffle", "shuffle = 1", 1, NULL},
        {"play.shuffle", "shuffle = 0", 0, NULL},
        {"play.shuffle", "shuffle = YES", 1, NULL},
        {"play.shuffle", "shuffle = False", 0, NULL},
        {"net.port", "port = 1", 1, NULL},
        {"net.port", "port = 65535", 65535, NULL},
        {"net.port", "port = +80", 80, NULL},
        {"net.port", "port = 007", 7, NULL},
        {"play.mode", "mode = fast", 0, NULL},
        {"play.mode", "mode = Auto", 2, NULL},
        {"log.level", "level = warn", CLOG_WARN, NULL},
        /* Strings: empty, quoted empty, inner blanks, '#' without a blank. */
        {"general.name", "name =", 0, ""},
        {"general.name", "name = \"\"", 0, ""},
        {"general.name", "name = a  b\tc", 0, "a  b\tc"},
        {"general.name", "name = http://x/#frag;x", 0, "http://x/#frag;x"},
        {"general.name", "name = a #b", 0, "a"},
        {"general.name", "name = \"  padded  \"", 0, "  padded  "},
        {"general.name", "name = say \"hi\"", 0, "say \"hi\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct config_key *k = config_find(schema, cases[i].key);
        assert_non_null(k);
        struct conf c;
        conf_defaults(&c);
        c.shuffle = cases[i].num == 0; /* so that every boolean changes */
        char *text = xasprintf("[%s]\n%s\n", k->section, cases[i].line);
        char *error = NULL;
        if (load(&c, text, &error) != 0)
            fail_msg("%s: %s", cases[i].line, error);
        if (cases[i].str)
            assert_string_equal(c.name, cases[i].str);
        else
            assert_int_equal(stored_num(&c, k), cases[i].num);
        free(text);
        conf_free(&c);
    }

    /* No final newline; an empty text. */
    struct conf c;
    conf_defaults(&c);
    assert_int_equal(load(&c, "[net]\nport = 9", NULL), 0);
    assert_int_equal(c.port, 9);
    assert_int_equal(load(&c, "", NULL), 0);
    assert_int_equal(c.port, 9);
    conf_free(&c);
}

/* ---- errors ---- */

static void test_value_errors(void **state)
{
    (void)state;
    expect_error("[general]\nname = x\n[cache]\nsize = lots\n",
                 "test.conf:4: cache.size: expected a size like 512M or 2G, got \"lots\"");
    expect_error("[cache]\nsize = 1.5G\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got \"1.5G\"");
    expect_error("[cache]\nsize = -1M\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got \"-1M\"");
    expect_error("[cache]\nsize = 12X\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got \"12X\"");
    expect_error("[cache]\nsize = 2MB\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got \"2MB\"");
    expect_error("[cache]\nsize = M\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got \"M\"");
    expect_error("[cache]\nsize =\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got \"\"");
    expect_error("[cache]\nsize = 99999999999999999999\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got "
                 "\"99999999999999999999\"");
    expect_error("[cache]\nsize = 9000000T\n",
                 "test.conf:2: cache.size: expected a size like 512M or 2G, got \"9000000T\"");
    expect_error("[cache]\nsize = 11G\n",
                 "test.conf:2: cache.size: expected a size from 1M to 10G, got \"11G\"");
    expect_error("[cache]\nsize = 1048575\n",
                 "test.conf:2: cache.size: expected a size from 1M to 10G, got \"1048575\"");

    expect_error("[net]\nport = 0\n",
                 "test.conf:2: net.port: expected an integer from 1 to 65535, got \"0\"");
    expect_error("[net]\nport = 65536\n",
                 "test.conf:2: net.port: expected an integer from 1 to 65535, got \"65536\"");
    expect_error("[net]\nport = 80x\n",
                 "test.conf:2: net.port: expected an integer from 1 to 65535, got \"80x\"");
    expect_error("[net]\nport = 0x50\n",
                 "test.conf:2: net.port: expected an integer from 1 to 65535, got \"0x50\"");
    expect_error("[net]\nport = - 5\n",
                 "test.conf:2: net.port: expected an integer from 1 to 65535, got \"- 5\"");
    expect_error("[net]\noffset = 2147483648\n",
                 "test.conf:2: net.offset: expected an integer, got \"2147483648\"");
    expect_error("[net]\noffset = 99999999999999999999999\n",
                 "test.conf:2: net.offset: expected an integer, got \"99999999999999999999999\"");

    expect_error("[play]\nshuffle = maybe\n",
                 "test.conf:2: play.shuffle: expected yes or no (or true/false, on/off, 1/0), "
                 "got \"maybe\"");
    expect_error("[play]\nmode = quick\n",
                 "test.conf:2: play.mode: expected one of fast, slow, auto, got \"quick\"");
    expect_error("[log]\nlevel = verbose\n",
                 "test.conf:2: log.level: expected one of error, warn, info, debug, got "
                 "\"verbose\"");

    /* Shown values are escaped and cut. */
    expect_error("[play]\nmode = \"a\\\"b\\\\c\"\n",
                 "test.conf:2: play.mode: expected one of fast, slow, auto, got \"a\\\"b\\\\c\"");
    expect_error("[play]\nmode = x\x1b[31m\n",
                 "test.conf:2: play.mode: expected one of fast, slow, auto, got \"x\\x1b[31m\"");
    expect_error("[play]\nmode = "
                 "0123456789012345678901234567890123456789012345678901234567890123456789\n",
                 "test.conf:2: play.mode: expected one of fast, slow, auto, got "
                 "\"012345678901234567890123456789012345678901234567890123456789\"...");

    /* A setter's refusal names the line too. */
    expect_error("[net]\nport = 99\nservice = nocolon\n",
                 "test.conf:3: net.service: expected host:port");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_error("[general]\njust some words\n",
                 "test.conf:2: expected \"key = value\", \"[section]\" or a comment, got \"just "
                 "some words\"");
    expect_error("[general]\nname\n",
                 "test.conf:2: expected \"key = value\", \"[section]\" or a comment, got \"name\"");
    expect_error("[general]\n= value\n",
                 "test.conf:2: invalid key \"\": use letters, digits, '_' and '-' only");
    expect_error("[general]\nna!me = x\n",
                 "test.conf:2: invalid key \"na!me\": use letters, digits, '_' and '-' only");
    expect_error("cache.size = 1G\n",
                 "test.conf:1: invalid key \"cache.size\": in a file, write \"size = ...\" under "
                 "[cache]");
    expect_error("# first a comment\nport = 80\n",
                 "test.conf:2: key \"port\" is outside any section: put it under a [section] "
                 "header");
    expect_error("[net\nport = 80\n", "test.conf:1: expected \"]\" to close the section header");
    expect_error("[net] port = 80\n",
                 "test.conf:1: unexpected text after the section header: \"port = 80\"");
    expect_error("[]\n",
                 "test.conf:1: invalid section name \"\": use letters, digits, '_' and '-' only");
    expect_error("[a b]\n",
                 "test.conf:1: invalid section name \"a b\": use letters, digits, '_' and '-' "
                 "only");

    expect_error("[general]\nname = \"open\n",
                 "test.conf:2: general.name: unterminated quoted value: missing the closing \"");
    expect_error("[general]\nname = \"a\\nb\"\n",
                 "test.conf:2: general.name: invalid escape \\n in a quoted value: only \\\" and "
                 "\\\\ are allowed");
    expect_error("[general]\nname = \"a\\\n",
                 "test.conf:2: general.name: invalid escape in a quoted value: only \\\" and \\\\ "
                 "are allowed");
    expect_error("[general]\nname = \"a\" b\n",
                 "test.conf:2: general.name: unexpected text after the closing quote: \"b\"");

    expect_error("[net]\nport = 80\n\n[general]\nname = x\n[net]\nport = 81\n",
                 "test.conf:7: net.port: set twice (first on line 2); keep one of them");

    static const char nul[] = "[net]\nport = 8\0 0\n";
    expect_error_len(nul, sizeof(nul) - 1,
                     "test.conf:2: the line contains a NUL byte: not a text file?");
}

static void test_unknown_names(void **state)
{
    (void)state;
    expect_error("[net]\nprot = 80\n",
                 "test.conf:2: net.prot: unknown key; did you mean \"port\"?");
    expect_error("[net]\nPort = 80\n",
                 "test.conf:2: net.Port: unknown key; did you mean \"port\"?");
    expect_error("[net]\nservcie = a:1\n",
                 "test.conf:2: net.servcie: unknown key; did you mean \"service\"?");
    expect_error("[net]\nzzzzzz = 1\n",
                 "test.conf:2: net.zzzzzz: unknown key (keys in [net]: port, offset, service)");
    expect_error("\n[cahce]\nsize = 1G\n",
                 "test.conf:2: unknown section \"cahce\"; did you mean [cache]?");
    expect_error("[lgo]\n", "test.conf:1: unknown section \"lgo\"; did you mean [log]?");
    expect_error("[audio]\n",
                 "test.conf:1: unknown section \"audio\" (sections: general, net, cache, play, "
                 "log)");
}

static void test_all_or_nothing(void **state)
{
    (void)state;
    /* Valid lines before and after the bad one change nothing. */
    expect_error("[general]\nname = changed\n[net]\nport = 1\nservice = a:1\n[cache]\nsize = "
                 "20G\n[play]\nshuffle = yes\n",
                 "test.conf:7: cache.size: expected a size from 1M to 10G, got \"20G\"");

    /* And loads stack: a later text only changes what it names. */
    struct conf c;
    conf_defaults(&c);
    assert_int_equal(load(&c, "[net]\nport = 5\n", NULL), 0);
    assert_int_equal(load(&c, "[general]\nname = two\n[net]\nport = 6\n", NULL), 0);
    assert_int_equal(load(&c, "[general]\nname = three\n", NULL), 0);
    assert_string_equal(c.name, "three");
    assert_int_equal(c.port, 6);
    conf_free(&c);
}

static void test_file_errors(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("config_files");
    char *missing = xasprintf("%s/none.conf", dir);
    struct conf c;
    conf_defaults(&c);
    char *error = NULL;
    assert_int_equal(config_load_file(missing, schema, &c, &error), -ENOENT);
    char *want = xasprintf("%s: No such file or directory", missing);
    assert_string_equal(error, want);
    free(want);
    free(error);

    error = NULL;
    assert_int_equal(config_load_file(dir, schema, &c, &error), -EISDIR);
    assert_non_null(error);
    free(error);

    /* Errors name the file as given. */
    char *path = xasprintf("%s/bad.conf", dir);
    write_text(path, "[net]\n\nport = none\n");
    assert_int_equal(config_load_file(path, schema, &c, &error), CONFIG_EINVALID);
    want = xasprintf("%s:3: net.port: expected an integer from 1 to 65535, got \"none\"", path);
    assert_string_equal(error, want);
    free(want);
    free(error);

    /* error may be NULL. */
    assert_int_equal(config_load_file(path, schema, &c, NULL), CONFIG_EINVALID);
    assert_int_equal(c.port, 4100);
    assert_string_equal(config_strerror(CONFIG_EINVALID), "invalid configuration");
    conf_free(&c);

    testutil_rmtree(dir);
    free(path);
    free(missing);
    free(dir);
}

/* ---- -o overrides ---- */

static void expect_option_error(const char *option, const char *want)
{
    struct conf c;
    conf_defaults(&c);
    char *error = NULL;
    assert_int_equal(config_set_option(schema, &c, option, &error), CONFIG_EINVALID);
    assert_non_null(error);
    assert_string_equal(error, want);
    free(error);
    conf_free(&c);
}

static void test_options(void **state)
{
    (void)state;
    struct conf c;
    conf_defaults(&c);
    char *error = NULL;
    assert_int_equal(config_set_option(schema, &c, "cache.size=2G", &error), 0);
    assert_int_equal(c.cache, 2ull << 30);
    assert_int_equal(config_set_option(schema, &c, " play.shuffle = yes ", &error), 0);
    assert_true(c.shuffle);
    assert_int_equal(config_set_option(schema, &c, "general.name=a # b ; c", &error), 0);
    assert_string_equal(c.name, "a # b ; c");
    assert_int_equal(config_set_option(schema, &c, "general.name=\"x=\\\"y\\\"\"", &error), 0);
    assert_string_equal(c.name, "x=\"y\"");
    assert_int_equal(config_set_option(schema, &c, "general.name=", &error), 0);
    assert_string_equal(c.name, "");
    assert_int_equal(config_set_option(schema, &c, "net.service=h:1", &error), 0);
    assert_string_equal(c.service, "h:1");
    assert_int_equal(config_set_option(schema, &c, "log.level=WARN", &error), 0);
    assert_int_equal(c.level, CLOG_WARN);
    assert_null(error);

    /* An override after a file replaces the file's value. */
    assert_int_equal(load(&c, "[net]\nport = 1000\n", NULL), 0);
    assert_int_equal(config_set_option(schema, &c, "net.port=2000", NULL), 0);
    assert_int_equal(c.port, 2000);
    conf_free(&c);

    expect_option_error("cache.size=lots",
                        "cache.size: expected a size like 512M or 2G, got \"lots\"");
    expect_option_error("cachesize=1G", "\"cachesize=1G\": expected section.key=value");
    expect_option_error("cache.size", "\"cache.size\": expected section.key=value");
    expect_option_error("=1G", "\"=1G\": expected section.key=value");
    expect_option_error("cache.sise=1G",
                        "unknown key \"cache.sise\"; did you mean \"cache.size\"?");
    expect_option_error("log.levle=info", "unknown key \"log.levle\"; did you mean \"log.level\"?");
    expect_option_error("foo.bar=1",
                        "unknown key \"foo.bar\" (keys: general.name, net.port, net.offset, "
                        "net.service, cache.size, play.shuffle, play.mode, log.level)");
    expect_option_error("general.name=\"open", "general.name: unterminated quoted value: missing "
                                               "the closing \"");
    expect_option_error("net.service=nocolon", "net.service: expected host:port");
}

/* ---- tables ---- */

static void test_find(void **state)
{
    (void)state;
    const struct config_key *k = config_find(schema, "cache.size");
    assert_non_null(k);
    assert_int_equal(k->type, CONFIG_SIZE);
    assert_string_equal(config_find(schema, "net.service")->name, "service");
    assert_null(config_find(schema, "cache"));
    assert_null(config_find(schema, "cache.siz"));
    assert_null(config_find(schema, "cache.size.x"));
    assert_null(config_find(schema, ".size"));
}

struct bad {
    int i;
    int e;
    uint64_t s;
};

static void test_check_schema(void **state)
{
    (void)state;
    char *error = NULL;
    assert_int_equal(config_check_schema(schema, &error), 0);
    assert_null(error);

    /* One faulty table per row (unused entries end the table early). */
    static const char *const none[] = {NULL};
    const struct config_key tables[][3] = {
        {CONFIG_INT_KEY("a", "i", struct bad, i, 0, 9, "1", "doc"),
         CONFIG_INT_KEY("a", "i", struct bad, i, 0, 9, "1", "doc"), CONFIG_END},
        {CONFIG_INT_KEY("a", "i", struct bad, i, 9, 0, NULL, "doc"), CONFIG_END, CONFIG_END},
        {CONFIG_INT_KEY("a", "i", struct bad, i, 0, (int64_t)INT_MAX + 1, NULL, "doc"), CONFIG_END,
         CONFIG_END},
        {CONFIG_SIZE_KEY("a", "s", struct bad, s, -1, 5, NULL, "doc"), CONFIG_END, CONFIG_END},
        {CONFIG_INT_KEY("a", "i", struct bad, i, 0, 9, "10", "doc"), CONFIG_END, CONFIG_END},
        {CONFIG_INT_KEY("a", "i", struct bad, i, 0, 9, NULL, ""), CONFIG_END, CONFIG_END},
        {CONFIG_ENUM_KEY("a", "e", struct bad, e, none, NULL, "doc"), CONFIG_END, CONFIG_END},
        {CONFIG_INT_KEY("a.b", "i", struct bad, i, 0, 9, NULL, "doc"), CONFIG_END, CONFIG_END},
    };
    static const char *const wants[] = {
        "a.i: declared twice",
        "a.i: bounds must satisfy INT_MIN <= min <= max <= INT_MAX",
        "a.i: bounds must satisfy INT_MIN <= min <= max <= INT_MAX",
        "a.s: bounds must satisfy 0 <= min <= max",
        "a.i: default: expected an integer from 0 to 9, got \"10\"",
        "a.i: no description (doc)",
        "a.e: an enum needs at least one word",
        "a.b.i: invalid section or key name",
    };
    assert_int_equal(sizeof(tables) / sizeof(tables[0]), sizeof(wants) / sizeof(wants[0]));
    for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
        assert_int_equal(config_check_schema(tables[i], &error), CONFIG_EINVALID);
        assert_string_equal(error, wants[i]);
        free(error);
    }

    /* A bad default also fails config_set_defaults, naming the key. */
    struct bad b = {0};
    assert_int_equal(config_set_defaults(tables[4], &b, &error), CONFIG_EINVALID);
    assert_string_equal(error, "default of a.i: expected an integer from 0 to 9, got \"10\"");
    free(error);
}

/* ---- free-form sections and checks ---- */

#define ALIASES_MAX 16

struct aliases {
    char *names[ALIASES_MAX], *values[ALIASES_MAX];
    size_t n;
    int fixed;
    char *paint; /* checked: red or blue */
};

static int set_alias(void *target, const struct config_key *key, const struct config_value *v,
                     char **why)
{
    struct aliases *a = target;
    assert_string_equal(key->name, "*");
    if (a->n == ALIASES_MAX) {
        *why = xstrdup("too many");
        return -1;
    }
    a->names[a->n] = xstrdup(v->name);
    a->values[a->n++] = xstrdup(v->str);
    return 0;
}

static int check_paint(const struct config_key *key, const struct config_value *v, char **why)
{
    assert_string_equal(v->name, key->name);
    if (strcmp(v->str, "red") == 0 || strcmp(v->str, "blue") == 0)
        return 0;
    *why = config_why_got("expected red or blue", v->str);
    return -1;
}

#define A struct aliases
static const struct config_key free_schema[] = {
    {.section = "alias", .name = "*", .type = CONFIG_STRING, .set = set_alias, .doc = "any key"},
    CONFIG_INT_KEY("alias", "fixed", A, fixed, 0, 9, "1", "a key of its own"),
    {.section = "paint",
     .name = "color",
     .type = CONFIG_STRING,
     .offset = CONFIG_FIELD(A, paint, char *),
     .check = check_paint,
     .doc = "red or blue"},
    CONFIG_END,
};
#undef A

static void aliases_free(struct aliases *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->names[i]);
        free(a->values[i]);
    }
    config_free_strings(free_schema, a);
    memset(a, 0, sizeof(*a));
}

static int load_aliases(struct aliases *a, const char *text, char **error)
{
    return config_load_string(text, strlen(text), "test.conf", free_schema, a, error);
}

/* Loads text, which must fail with exactly want and change nothing. */
static void expect_free_error(const char *text, const char *want)
{
    struct aliases a = {0};
    assert_int_equal(config_set_defaults(free_schema, &a, NULL), 0);
    char *error = NULL;
    assert_int_equal(load_aliases(&a, text, &error), CONFIG_EINVALID);
    assert_non_null(error);
    assert_string_equal(error, want);
    free(error);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.fixed, 1);
    assert_null(a.paint);
    aliases_free(&a);
}

static void test_free_form(void **state)
{
    (void)state;
    char *error = NULL;
    assert_int_equal(config_check_schema(free_schema, &error), 0);
    struct aliases a = {0};
    assert_int_equal(config_set_defaults(free_schema, &a, &error), 0);
    static const char text[] = "[alias]\n"
                               "j = win-down\n"
                               "^F=win-page-down\n"
                               "< = prev  # a comment\n"
                               "page-down = \"quoted # value\"\n"
                               "\"=\" = volume +5\n"
                               "\"#\" = help\n"
                               "\";\"=x\n"
                               "\"[\" = y\n"
                               "\"\\\"\" = z\n"
                               "\"a b\" = two words\n"
                               "J =\n"
                               "fixed = 7\n"
                               "\xc3\xa9 = accent\n"
                               "[paint]\n"
                               "color = blue\n";
    assert_int_equal(load_aliases(&a, text, &error), 0);
    assert_null(error);
    static const char *const names[] = {"j", "^F", "<",  "page-down", "=", "#",
                                        ";", "[",  "\"", "a b",       "J", "\xc3\xa9"};
    static const char *const values[] = {"win-down",  "win-page-down", "prev", "quoted # value",
                                         "volume +5", "help",          "x",    "y",
                                         "z",         "two words",     "",     "accent"};
    assert_int_equal(a.n, sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.names[i], names[i]);
        assert_string_equal(a.values[i], values[i]);
    }
    /* A key of the section's own comes first. */
    assert_int_equal(a.fixed, 7);
    assert_string_equal(a.paint, "blue");

    /* -o: bare and quoted keys. */
    assert_int_equal(config_set_option(free_schema, &a, "alias.x=stop", &error), 0);
    assert_int_equal(config_set_option(free_schema, &a, "alias.\"=\" = volume +9", &error), 0);
    assert_int_equal(config_set_option(free_schema, &a, " alias.^B = up ", &error), 0);
    assert_int_equal(config_set_option(free_schema, &a, "alias.fixed=3", &error), 0);
    assert_string_equal(a.names[a.n - 3], "x");
    assert_string_equal(a.values[a.n - 2], "volume +9");
    assert_string_equal(a.names[a.n - 2], "=");
    assert_string_equal(a.names[a.n - 1], "^B");
    assert_string_equal(a.values[a.n - 1], "up");
    assert_int_equal(a.fixed, 3);
    aliases_free(&a);

    /* Look-ups: any key of the section is its "*" entry. */
    assert_string_equal(config_find(free_schema, "alias.anything")->name, "*");
    assert_string_equal(config_find(free_schema, "alias.fixed")->name, "fixed");
    assert_null(config_find(free_schema, "paint.other"));
}

static void test_free_form_errors(void **state)
{
    (void)state;
    expect_free_error("[alias]\nj = a\nk = b\nj = c\n",
                      "test.conf:4: alias.j: set twice (first on line 2); keep one of them");
    expect_free_error("[alias]\n\"=\" = a\n\"=\" = b\n",
                      "test.conf:3: alias.\"=\": set twice (first on line 2); keep one of them");
    expect_free_error("[alias]\n= x\n",
                      "test.conf:2: expected a key before \"=\" (write \"=\" and keys with blanks "
                      "in quotes)");
    expect_free_error("[alias]\n\"\" = x\n",
                      "test.conf:2: expected a key before \"=\" (write \"=\" and keys with blanks "
                      "in quotes)");
    expect_free_error("[alias]\n\"open = x\n",
                      "test.conf:2: unterminated quoted key: missing the closing \"");
    expect_free_error("[alias]\n\"a\\b\" = x\n",
                      "test.conf:2: invalid escape \\b in a quoted key: only \\\" and \\\\ are "
                      "allowed");
    expect_free_error("[alias]\nx\x01y = x\n",
                      "test.conf:2: invalid key \"x\\x01y\": control characters are not allowed");
    expect_free_error("[alias]\nj k = x\n",
                      "test.conf:2: expected \"key = value\", \"[section]\" or a comment, got "
                      "\"j k = x\"");
    expect_free_error("[alias]\n\"j\" k = x\n",
                      "test.conf:2: expected \"key = value\", \"[section]\" or a comment, got "
                      "\"\\\"j\\\" k = x\"");
    expect_free_error("[alias]\nfixed = 10\n",
                      "test.conf:2: alias.fixed: expected an integer from 0 to 9, got \"10\"");
    /* A check refuses at parse time: the setters before it never run. */
    expect_free_error("[alias]\nj = a\nk = b\n[paint]\ncolor = green\n",
                      "test.conf:5: paint.color: expected red or blue, got \"green\"");

    struct aliases a = {0};
    char *error = NULL;
    assert_int_equal(config_set_option(free_schema, &a, "paint.color=green", &error),
                     CONFIG_EINVALID);
    assert_string_equal(error, "paint.color: expected red or blue, got \"green\"");
    free(error);
    assert_null(a.paint);
    assert_int_equal(config_set_option(free_schema, &a, "alias.\"open=x", &error), CONFIG_EINVALID);
    assert_string_equal(error, "\"alias.\\\"open=x\": unterminated quoted key: missing the "
                               "closing \"");
    free(error);
    assert_int_equal(config_set_option(free_schema, &a, "alias.\"j\" x=y", &error),
                     CONFIG_EINVALID);
    assert_string_equal(error, "\"alias.\\\"j\\\" x=y\": expected section.key=value");
    free(error);
    assert_int_equal(a.n, 0);

    /* The table rules of "*". */
    const struct config_key no_setter[] = {
        CONFIG_STRING_KEY("alias", "*", struct aliases, paint, NULL, "doc"), CONFIG_END};
    assert_int_equal(config_check_schema(no_setter, &error), CONFIG_EINVALID);
    assert_string_equal(error, "alias.*: a \"*\" entry needs a setter and has no default");
    free(error);
    const struct config_key with_default[] = {{.section = "alias",
                                               .name = "*",
                                               .type = CONFIG_STRING,
                                               .set = set_alias,
                                               .def = "x",
                                               .doc = "doc"},
                                              CONFIG_END};
    assert_int_equal(config_check_schema(with_default, &error), CONFIG_EINVALID);
    assert_string_equal(error, "alias.*: a \"*\" entry needs a setter and has no default");
    free(error);
}

/* ---- the player's settings ---- */

static void test_settings(void **state)
{
    (void)state;
    char *error = NULL;
    if (config_check_schema(settings_schema, &error) != 0)
        fail_msg("settings_schema: %s", error);

    struct chorus_settings s;
    settings_init(&s);
    assert_int_equal(s.log_level, CLOG_INFO);
    /* The rotation log.h documents as the player's. */
    assert_int_equal(s.log_max_size, CLOG_DEFAULT_MAX_BYTES);
    assert_int_equal(s.log_keep, CLOG_DEFAULT_KEEP);

    char *root = testutil_tempdir("settings");
    struct paths *p = paths_new_rooted(root, "chorus", NULL);
    assert_non_null(p);

    /* No file at the default path: the defaults stand. */
    assert_int_equal(settings_load(&s, p, NULL, &error), 0);
    assert_null(error);
    assert_int_equal(s.log_level, CLOG_INFO);

    /* The default path: $config/chorus.conf. */
    char *def = settings_default_path(p);
    char *want = xasprintf("%s/config/chorus/chorus.conf", root);
    assert_string_equal(def, want);
    free(want);
    assert_int_equal(paths_ensure(p, PATHS_CONFIG), 0);
    write_text(def, "[log]\nlevel = debug\n");
    assert_int_equal(settings_load(&s, p, NULL, &error), 0);
    assert_int_equal(s.log_level, CLOG_DEBUG);

    /* A bad default file is an error, with its name and line. */
    write_text(def, "[log]\nlevel = loud\n");
    assert_int_equal(settings_load(&s, p, NULL, &error), CONFIG_EINVALID);
    want =
        xasprintf("%s:2: log.level: expected one of error, warn, info, debug, got \"loud\"", def);
    assert_string_equal(error, want);
    free(want);
    free(error);
    error = NULL;
    assert_int_equal(s.log_level, CLOG_DEBUG);

    /* An explicit file must exist. */
    char *other = xasprintf("%s/other.conf", root);
    assert_int_equal(settings_load(&s, p, other, &error), -ENOENT);
    assert_non_null(error);
    free(error);
    error = NULL;
    write_text(other, "[log]\nlevel = error\n");
    assert_int_equal(settings_load(&s, p, other, NULL), 0);
    assert_int_equal(s.log_level, CLOG_ERROR);

    assert_int_equal(settings_set_option(&s, "log.level=warn", &error), 0);
    assert_int_equal(s.log_level, CLOG_WARN);
    assert_int_equal(settings_set_option(&s, "log.level=", &error), CONFIG_EINVALID);
    assert_string_equal(error, "log.level: expected one of error, warn, info, debug, got \"\"");
    free(error);

    settings_close(&s);
    paths_free(p);
    testutil_rmtree(root);
    free(other);
    free(def);
    free(root);
}

/* The per-engine caps on open files ([cache] max_open_files) and peer
 * links ([p2p] max_connections): unsigned fields (CONFIG_UINT_KEY), their
 * defaults (CACHE_MAX_OPEN_FDS, PEERS_MAX_CONNS), their bounds, and a
 * value out of range refused with the range named and nothing changed. */
static void test_settings_limits(void **state)
{
    (void)state;
    struct chorus_settings s;
    settings_init(&s);
    assert_int_equal(s.cache_max_open_files, 64);
    assert_int_equal(s.p2p_max_connections, 60);

    char *dir = testutil_tempdir("settings_limits");
    char *path = xasprintf("%s/chorus.conf", dir);
    char *error = NULL;
    write_text(path, "[cache]\nmax_open_files = 4\n[p2p]\nmax_connections = 12\n");
    assert_int_equal(settings_load(&s, NULL, path, &error), 0);
    assert_int_equal(s.cache_max_open_files, 4);
    assert_int_equal(s.p2p_max_connections, 12);
    assert_int_equal(settings_set_option(&s, "cache.max_open_files=4096", &error), 0);
    assert_int_equal(settings_set_option(&s, "p2p.max_connections=2", &error), 0);
    assert_int_equal(s.cache_max_open_files, 4096);
    assert_int_equal(s.p2p_max_connections, 2);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"[cache]\nmax_open_files = 3\n",
         "cache.max_open_files: expected an integer from 4 to 4096, got \"3\""},
        {"[cache]\nmax_open_files = 4097\n",
         "cache.max_open_files: expected an integer from 4 to 4096, got \"4097\""},
        {"[p2p]\nmax_connections = 1\n",
         "p2p.max_connections: expected an integer from 2 to 60, got \"1\""},
        {"[p2p]\nmax_connections = 61\n",
         "p2p.max_connections: expected an integer from 2 to 60, got \"61\""},
        {"[p2p]\nmax_connections = -1\n",
         "p2p.max_connections: expected an integer from 2 to 60, got \"-1\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(path, bad[i].text);
        assert_int_equal(settings_load(&s, NULL, path, &error), CONFIG_EINVALID);
        char *want = xasprintf("%s:2: %s", path, bad[i].why);
        assert_string_equal(error, want);
        free(want);
        free(error);
        error = NULL;
    }
    assert_int_equal(settings_set_option(&s, "p2p.max_connections=100", &error), CONFIG_EINVALID);
    assert_string_equal(error,
                        "p2p.max_connections: expected an integer from 2 to 60, got \"100\"");
    free(error);
    assert_int_equal(s.cache_max_open_files, 4096);
    assert_int_equal(s.p2p_max_connections, 2);

    settings_close(&s);
    testutil_rmtree(dir);
    free(path);
    free(dir);
}

static void test_settings_ui(void **state)
{
    (void)state;
    struct chorus_settings s;
    settings_init(&s);
    assert_int_equal(s.ui_color, SETTINGS_UI_COLOR_AUTO);
    for (int i = 0; i < SETTINGS_COLOR_COUNT; i++)
        assert_null(s.colors[i]);
    assert_int_equal(s.nkey_bindings, 0);

    /* The [colors] keys: one per ui_attr from UI_ATTR_TABS, in order. */
    assert_string_equal(settings_color_names[0], "tabs");
    assert_string_equal(settings_color_names[3], "selected");
    assert_string_equal(settings_color_names[SETTINGS_COLOR_COUNT - 1], "playhead");
    assert_null(settings_color_names[SETTINGS_COLOR_COUNT]);
    for (int i = 0; i < SETTINGS_COLOR_COUNT; i++) {
        char *dotted = xasprintf("colors.%s", settings_color_names[i]);
        assert_non_null(config_find(settings_schema, dotted));
        free(dotted);
    }

    char *dir = testutil_tempdir("settings_ui");
    char *path = xasprintf("%s/chorus.conf", dir);
    write_text(path, "[ui]\n"
                     "color = Never\n"
                     "[colors]\n"
                     "selected = black, cyan\n"
                     "playhead = Bright-Yellow\n"
                     "[keys]\n"
                     "j = seek +10\n"
                     "\"=\" = volume +10\n"
                     "c =\n"
                     "^F = win-down  ; not checked here: the TUI does\n"
                     "nonsense = frobnicate\n");
    char *error = NULL;
    if (settings_load(&s, NULL, path, &error) != 0)
        fail_msg("%s", error);
    assert_int_equal(s.ui_color, SETTINGS_UI_COLOR_NEVER);
    assert_string_equal(s.colors[3], "black, cyan");
    assert_string_equal(s.colors[SETTINGS_COLOR_COUNT - 1], "Bright-Yellow");
    assert_null(s.colors[0]);
    static const char *const keys[] = {"j", "=", "c", "^F", "nonsense"};
    static const char *const lines[] = {"seek +10", "volume +10", "", "win-down", "frobnicate"};
    assert_int_equal(s.nkey_bindings, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s.key_bindings[i].key, keys[i]);
        assert_string_equal(s.key_bindings[i].line, lines[i]);
    }

    /* A later line for the same key replaces the earlier, in place. */
    assert_int_equal(settings_set_option(&s, "keys.j=stop", &error), 0);
    assert_int_equal(settings_set_option(&s, "keys.\"#\"=help", &error), 0);
    assert_int_equal(settings_set_option(&s, "ui.color=always", &error), 0);
    assert_int_equal(settings_set_option(&s, "colors.tabs=white,blue", &error), 0);
    assert_int_equal(s.nkey_bindings, 6);
    assert_string_equal(s.key_bindings[0].key, "j");
    assert_string_equal(s.key_bindings[0].line, "stop");
    assert_string_equal(s.key_bindings[5].key, "#");
    assert_int_equal(s.ui_color, SETTINGS_UI_COLOR_ALWAYS);
    assert_string_equal(s.colors[0], "white,blue");

    /* A bad colour fails at load with its line, and nothing changes: not
     * the bindings read before it either. */
    write_text(path, "[keys]\nq = stop\n[colors]\ntabs = purple\n");
    assert_int_equal(settings_load(&s, NULL, path, &error), CONFIG_EINVALID);
    char *want = xasprintf("%s:4: colors.tabs: expected FG or FG,BG, each default, black, red, "
                           "green, yellow, blue, magenta, cyan, white or bright-NAME, got "
                           "\"purple\"",
                           path);
    assert_string_equal(error, want);
    free(want);
    free(error);
    assert_int_equal(s.nkey_bindings, 6);
    assert_string_equal(s.colors[0], "white,blue");
    assert_int_equal(settings_set_option(&s, "colors.error=red,", &error), CONFIG_EINVALID);
    assert_string_equal(error, "colors.error: expected FG or FG,BG, each default, black, red, "
                               "green, yellow, blue, magenta, cyan, white or bright-NAME, got "
                               "\"red,\"");
    free(error);
    assert_int_equal(settings_set_option(&s, "ui.color=sometimes", &error), CONFIG_EINVALID);
    assert_string_equal(error, "ui.color: expected one of auto, always, never, got \"sometimes\"");
    free(error);

    /* settings_close frees it all; the struct may be used again. */
    settings_close(&s);
    assert_null(s.key_bindings);
    assert_int_equal(s.nkey_bindings, 0);
    assert_null(s.colors[0]);
    testutil_rmtree(dir);
    free(path);
    free(dir);
}

static void test_color_parse(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int fg, bg;
    } good[] = {
        {"red", 1, -1},          {"default", -1, -1},
        {"black", 0, -1},        {"white", 7, -1},
        {"bright-black", 8, -1}, {"bright-white,blue", 15, 4},
        {"Cyan,default", 6, -1}, {"default , BRIGHT-red", -1, 9},
        {" magenta ", 5, -1},    {"green,\tyellow", 2, 3},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int fg = 99, bg = 99;
        if (settings_color_parse(good[i].spec, &fg, &bg) != 0)
            fail_msg("\"%s\" refused", good[i].spec);
        assert_int_equal(fg, good[i].fg);
        assert_int_equal(bg, good[i].bg);
    }
    static const char *const bad[] = {"",
                                      "purple",
                                      "red,",
                                      ",red",
                                      "red,blue,green",
                                      "bright-default",
                                      "bright-",
                                      "brightred",
                                      "red blue",
                                      "bright-bright-red",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        int fg = 99, bg = 99;
        if (settings_color_parse(bad[i], &fg, &bg) != -1)
            fail_msg("\"%s\" taken as a colour", bad[i]);
        assert_int_equal(fg, 99);
        assert_int_equal(bg, 99);
    }
}

/* The (section, key) pairs that man/chorus.conf.5 documents: every .TP
 * item under a ".SS [section]" heading inside ".SH OPTIONS"; the key is
 * the first word of the item's tag line ("\fBlevel\fR = ..."), or "*"
 * (any key: [keys]) when that word is in italics (".IR key ..."). */
static char **documented_keys(const char *page, size_t *count)
{
    char **keys = NULL;
    size_t n = 0;
    bool in_options = false, want_tag = false;
    char section[64] = "";
    char *copy = xstrdup(page);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, ".SH", 3) == 0) {
            in_options = strstr(line, "OPTIONS") != NULL;
            section[0] = '\0';
            continue;
        }
        if (!in_options)
            continue;
        if (strncmp(line, ".SS", 3) == 0) {
            const char *open = strchr(line, '['), *close = strchr(line, ']');
            assert_non_null(open);
            assert_non_null(close);
            snprintf(section, sizeof(section), "%.*s", (int)(close - open - 1), open + 1);
            continue;
        }
        if (strncmp(line, ".TP", 3) == 0) {
            want_tag = section[0] != '\0';
            continue;
        }
        if (want_tag) {
            want_tag = false;
            bool italic = strncmp(line, ".I", 2) == 0; /* .I, .IR, .IB */
            const char *p = line;
            if (*p == '.') /* .B, .BR, ... */
                while (*p && *p != ' ')
                    p++;
            while (*p == ' ' || *p == '"')
                p++;
            if (strncmp(p, "\\fB", 3) == 0)
                p += 3;
            italic = italic || strncmp(p, "\\fI", 3) == 0;
            size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_-");
            keys = xrealloc(keys, (n + 1) * sizeof(*keys));
            keys[n++] =
                italic ? xasprintf("%s.*", section) : xasprintf("%s.%.*s", section, (int)len, p);
        }
    }
    free(copy);
    *count = n;
    return keys;
}

static void test_man_page_documents_every_key(void **state)
{
    (void)state;
    const char *src = getenv("CHORUS_SOURCE_DIR");
    assert_non_null(src);
    char *path = xasprintf("%s/man/chorus.conf.5", src);
    size_t len;
    char *page = testutil_read_file(path, &len);
    page = xrealloc(page, len + 1);
    page[len] = '\0';

    size_t n;
    char **keys = documented_keys(page, &n);
    for (const struct config_key *k = settings_schema; k->section; k++) {
        char *dotted = xasprintf("%s.%s", k->section, k->name);
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found = found || strcmp(keys[i], dotted) == 0;
        if (!found)
            fail_msg("%s: key %s is not documented (a .TP item under .SS [%s] in OPTIONS)", path,
                     dotted, k->section);
        free(dotted);
    }
    for (size_t i = 0; i < n; i++) {
        if (!config_find(settings_schema, keys[i]))
            fail_msg("%s documents %s, which settings_schema does not have", path, keys[i]);
        free(keys[i]);
    }
    free(keys);
    free(page);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_values_by_type),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_unknown_names),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_check_schema),
        cmocka_unit_test(test_free_form),
        cmocka_unit_test(test_free_form_errors),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_settings_limits),
        cmocka_unit_test(test_settings_ui),
        cmocka_unit_test(test_color_parse),
        cmocka_unit_test(test_man_page_documents_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
