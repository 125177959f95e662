/* Tests for base/json: text from arbitrary bytes (the UTF-8 repair, NUL
 * and control characters kept, NULL as null), dumped and parsed back as a
 * reader would; json_write_line's two layouts (members in the order they
 * were added, reals as jansson prints them, one newline at the end) and
 * its errors (a full disk, a reader gone, nothing to write). */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "base/xmalloc.h"

static void test_text_repairs_utf8(void **state)
{
    (void)state;
#define FFFD        "\xef\xbf\xbd"
#define T(in, want) in, sizeof(in) - 1, want, sizeof(want) - 1
    static const struct {
        const char *in;
        size_t len;
        const char *want;
        size_t want_len;
    } cases[] = {
        {T("plain", "plain")},
        {T("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5",
           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5")},
        {T("a\377b", "a" FFFD "b")},
        {T("end\xc3", "end" FFFD)},
        {T("\xc0\x80", FFFD FFFD)},                   /* overlong NUL */
        {T("\xe0\x80\xaf", FFFD FFFD FFFD)},          /* overlong '/' */
        {T("\xed\xa0\x80", FFFD FFFD FFFD)},          /* a surrogate */
        {T("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD)}, /* past U+10FFFF */
        {T("\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD)},
        {T("\342\202x", FFFD FFFD "x")},         /* cut short */
        {T("\x80\xbf", FFFD FFFD)},              /* lone continuations */
        {T("x\0y", "x\0y")},                     /* NUL kept */
        {T("\"\\\n\x1b[31m", "\"\\\n\x1b[31m")}, /* escaped by jansson */
        {T("", "")},
    };
#undef T
#undef FFFD
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = testutil_json_round_trip(json_text(cases[i].in, cases[i].len));
        assert_true(json_is_string(j));
        if (json_string_length(j) != cases[i].want_len ||
            memcmp(json_string_value(j), cases[i].want, cases[i].want_len) != 0)
            fail_msg("case %zu: wrong repair", i);
        json_decref(j);
    }
    json_t *null = json_text(NULL, 3);
    assert_true(json_is_null(null));
    json_decref(null);
}

static void test_text0(void **state)
{
    (void)state;
    json_t *j = testutil_json_round_trip(json_text0("say \"hi\"\tnow\xff"));
    assert_string_equal(json_string_value(j), "say \"hi\"\tnow\xef\xbf\xbd");
    json_decref(j);
    j = json_text0("");
    assert_true(json_is_string(j));
    assert_int_equal(json_string_length(j), 0);
    json_decref(j);
    j = json_text0(NULL);
    assert_true(json_is_null(j));
    json_decref(j);
}

/* What json_write_line(j, pretty) writes, as a new string. */
static char *written(const json_t *j, bool pretty)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(json_write_line(f, j, pretty), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    char *text = xmalloc((size_t)len + 1);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

static void test_write_line(void **state)
{
    (void)state;
    /* Keys out of alphabetical order: they must stay as added. */
    json_t *doc =
        json_must(json_pack("{s:o, s:f, s:[i, b], s:{s:n}}", "zeta", json_text0("a \"b\"\n\x01"),
                            "alpha", 0.1, "list", 7, 1, "inner", "none"));

    char *line = written(doc, false);
    char *want = json_dumps(doc, JSON_COMPACT);
    assert_non_null(want);
    char *want_line = xasprintf("%s\n", want);
    assert_string_equal(line, want_line);
    assert_string_equal(line, "{\"zeta\":\"a \\\"b\\\"\\n\\u0001\",\"alpha\":"
                              "0.10000000000000001,\"list\":[7,true],\"inner\":{\"none\":null}}\n");
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1); /* one line */
    free(want_line);
    free(want);
    free(line);

    char *text = written(doc, true);
    want = json_dumps(doc, JSON_INDENT(2));
    assert_non_null(want);
    want_line = xasprintf("%s\n", want);
    assert_string_equal(text, want_line);
    assert_non_null(strstr(text, "{\n  \"zeta\": \"a \\\"b\\\"\\n\\u0001\",\n  \"alpha\": "));
    json_t *back = json_loads(text, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, doc));
    json_decref(back);
    free(want_line);
    free(want);
    free(text);
    json_decref(doc);

    /* Any value, not only objects and arrays. */
    json_t *s = json_text0("x");
    line = written(s, false);
    assert_string_equal(line, "\"x\"\n");
    free(line);
    json_decref(s);
}

static void test_write_line_errors(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "w");
    if (!full) {
        print_message("no /dev/full here\n");
        skip();
    }
    json_t *small = json_must(json_pack("{s:i}", "a", 1));
    /* Bigger than a stdio buffer: the error comes from the writes of the
     * document itself, not from the flush at the end. */
    char *fill = xmalloc(1 << 20);
    memset(fill, 'x', 1 << 20);
    json_t *big = json_must(json_pack("{s:o}", "fill", json_text(fill, 1 << 20)));
    free(fill);

    assert_int_equal(json_write_line(full, small, false), -ENOSPC);
    clearerr(full);
    assert_int_equal(json_write_line(full, big, true), -ENOSPC);
    fclose(full);

    /* The reader is gone (the caller ignores SIGPIPE, as the engine does). */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    FILE *w = fdopen(fds[1], "w");
    assert_non_null(w);
    assert_int_equal(json_write_line(w, big, false), -EPIPE);
    fclose(w);
    signal(SIGPIPE, old);

    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(json_write_line(f, NULL, false), -EINVAL);
    fclose(f);

    json_decref(small);
    json_decref(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_repairs_utf8),
        cmocka_unit_test(test_text0),
        cmocka_unit_test(test_write_line),
        cmocka_unit_test(test_write_line_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
