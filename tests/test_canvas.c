/* Tests for ui/canvas: text placed by display columns (ASCII, wide CJK
 * characters, combining marks, control characters, invalid UTF-8), the
 * clipping at maxw and at the edges, a wide character that does not fit,
 * overwriting half of a wide character, canvas_put_fit's cut with "…" and
 * its padding, attributes, and the row comparison the TUI redraws by. */
#include "testutil.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "ui/canvas.h"

static void assert_row(const struct canvas *c, int y, const char *expected)
{
    char *text = canvas_row_text(c, y);
    if (strcmp(text, expected) != 0)
        print_message("row %d: '%s', expected '%s'\n", y, text, expected);
    assert_string_equal(text, expected);
    free(text);
}

static void test_ascii(void **state)
{
    (void)state;
    struct canvas *c = canvas_new(10, 2);
    assert_int_equal(canvas_put(c, 0, 1, 100, UI_ATTR_HEADER, "hello"), 5);
    assert_row(c, 0, " hello    ");
    assert_row(c, 1, "          ");
    assert_int_equal(canvas_cell(c, 0, 1)->attr, UI_ATTR_HEADER);
    assert_int_equal(canvas_cell(c, 0, 0)->attr, UI_ATTR_NORMAL);
    assert_int_equal(canvas_cell(c, 0, 6)->attr, UI_ATTR_NORMAL);
    /* maxw and the right edge */
    assert_int_equal(canvas_put(c, 1, 0, 3, UI_ATTR_NORMAL, "abcdef"), 3);
    assert_int_equal(canvas_put(c, 1, 8, 10, UI_ATTR_NORMAL, "xyz"), 2);
    assert_row(c, 1, "abc     xy");
    /* outside: nothing */
    assert_int_equal(canvas_put(c, 2, 0, 10, UI_ATTR_NORMAL, "no"), 0);
    assert_int_equal(canvas_put(c, -1, 0, 10, UI_ATTR_NORMAL, "no"), 0);
    assert_int_equal(canvas_put(c, 0, 0, 0, UI_ATTR_NORMAL, "no"), 0);
    assert_null(canvas_cell(c, 2, 0));
    assert_null(canvas_cell(c, 0, 10));
    assert_null(canvas_cell(c, 0, -1));
    assert_int_equal(canvas_putf(c, 1, 3, 5, UI_ATTR_NORMAL, "%d:%02d", 1, 5), 4);
    assert_row(c, 1, "abc1:05 xy");
    canvas_clear(c);
    assert_row(c, 0, "          ");
    canvas_free(c);
}

static void test_wide_characters(void **state)
{
    (void)state;
    struct canvas *c = canvas_new(8, 3);
    assert_int_equal(text_width("日本"), 4);
    assert_int_equal(canvas_put(c, 0, 0, 8, UI_ATTR_NORMAL, "日本x"), 5);
    assert_row(c, 0, "日本x   ");
    assert_int_equal(canvas_cell(c, 0, 0)->width, 2);
    assert_int_equal(canvas_cell(c, 0, 1)->width, 0);
    assert_string_equal(canvas_cell(c, 0, 1)->text, "");
    assert_int_equal(canvas_cell(c, 0, 2)->width, 2);
    assert_string_equal(canvas_cell(c, 0, 4)->text, "x");

    /* one column left: the wide character becomes a space */
    assert_int_equal(canvas_put(c, 1, 0, 3, UI_ATTR_NORMAL, "a日本"), 3);
    assert_row(c, 1, "a日     ");
    assert_int_equal(canvas_put(c, 2, 0, 2, UI_ATTR_NORMAL, "a日"), 2);
    assert_row(c, 2, "a       ");
    assert_int_equal(canvas_put(c, 2, 7, 5, UI_ATTR_NORMAL, "日"), 1);
    assert_row(c, 2, "a       ");

    /* writing over either half of a wide character blanks the other half */
    canvas_put(c, 0, 1, 1, UI_ATTR_NORMAL, "y");
    assert_row(c, 0, " y本x   ");
    assert_int_equal(canvas_cell(c, 0, 0)->width, 1);
    canvas_put(c, 0, 2, 1, UI_ATTR_NORMAL, "z");
    assert_row(c, 0, " yz x   ");
    assert_int_equal(canvas_cell(c, 0, 3)->width, 1);
    canvas_put(c, 1, 1, 2, UI_ATTR_NORMAL, "日");
    canvas_fill(c, 1, 2, 1, UI_ATTR_NORMAL);
    assert_row(c, 1, "a       ");
    canvas_free(c);
}

static void test_odd_text(void **state)
{
    (void)state;
    struct canvas *c = canvas_new(8, 1);
    /* a combining acute joins the e; a tab and an ESC show as '?' */
    assert_int_equal(text_width("e\xCC\x81"), 1);
    assert_int_equal(canvas_put(c, 0, 0, 8, UI_ATTR_NORMAL,
                                "e\xCC\x81\t\x1b"
                                "a"),
                     4);
    assert_string_equal(canvas_cell(c, 0, 0)->text, "e\xCC\x81");
    assert_string_equal(canvas_cell(c, 0, 1)->text, "?");
    assert_string_equal(canvas_cell(c, 0, 2)->text, "?");
    assert_string_equal(canvas_cell(c, 0, 3)->text, "a");
    /* invalid UTF-8 and a sequence cut short become U+FFFD */
    canvas_clear(c);
    assert_int_equal(canvas_put(c, 0, 0, 8, UI_ATTR_NORMAL,
                                "a\xFF"
                                "b\xE6\x97"),
                     4);
    assert_string_equal(canvas_cell(c, 0, 1)->text, "\xEF\xBF\xBD");
    assert_string_equal(canvas_cell(c, 0, 2)->text, "b");
    assert_string_equal(canvas_cell(c, 0, 3)->text, "\xEF\xBF\xBD");
    assert_int_equal(text_width("a\xFF"
                                "b\xE6\x97"),
                     4);
    assert_int_equal(text_width(""), 0);
    assert_int_equal(text_width(NULL), 0);
    canvas_free(c);
}

static void test_put_fit(void **state)
{
    (void)state;
    struct canvas *c = canvas_new(12, 4);
    canvas_fill(c, 0, 0, 12, UI_ATTR_STATUS);
    assert_int_equal(canvas_put_fit(c, 0, 1, 5, UI_ATTR_BAR, "Hello world", false), 5);
    assert_row(c, 0, " Hell…      ");
    assert_int_equal(canvas_cell(c, 0, 5)->attr, UI_ATTR_BAR);
    assert_int_equal(canvas_cell(c, 0, 6)->attr, UI_ATTR_STATUS);

    assert_int_equal(canvas_put_fit(c, 1, 0, 6, UI_ATTR_BAR, "ab", false), 6);
    assert_int_equal(canvas_put_fit(c, 1, 6, 6, UI_ATTR_BAR, "ab", true), 6);
    assert_row(c, 1, "ab        ab");
    for (int x = 0; x < 12; x++)
        assert_int_equal(canvas_cell(c, 1, x)->attr, UI_ATTR_BAR);

    /* a wide character at the cut leaves a space before the "…" */
    canvas_put_fit(c, 2, 0, 4, UI_ATTR_NORMAL, "日本語", false);
    canvas_put_fit(c, 2, 4, 5, UI_ATTR_NORMAL, "日本語", false);
    canvas_put_fit(c, 2, 9, 3, UI_ATTR_NORMAL, "abc", false);
    assert_row(c, 2, "日 …日本…abc");
    /* exactly the width: no cut; width 1: just the "…" */
    canvas_put_fit(c, 3, 0, 4, UI_ATTR_NORMAL, "日本", false);
    canvas_put_fit(c, 3, 4, 1, UI_ATTR_NORMAL, "long", false);
    canvas_put_fit(c, 3, 5, 0, UI_ATTR_NORMAL, "none", false);
    assert_row(c, 3, "日本…       ");
    canvas_free(c);
}

static void test_attrs_and_fill(void **state)
{
    (void)state;
    struct canvas *c = canvas_new(6, 2);
    canvas_put(c, 0, 0, 6, UI_ATTR_NORMAL, "abcdef");
    canvas_set_attr(c, 0, 4, 10, UI_ATTR_SELECTED);
    canvas_set_attr(c, 0, -2, 3, UI_ATTR_ERROR);
    canvas_set_attr(c, 5, 0, 3, UI_ATTR_ERROR); /* outside: nothing */
    assert_int_equal(canvas_cell(c, 0, 0)->attr, UI_ATTR_ERROR);
    assert_int_equal(canvas_cell(c, 0, 1)->attr, UI_ATTR_NORMAL);
    assert_int_equal(canvas_cell(c, 0, 3)->attr, UI_ATTR_NORMAL);
    assert_int_equal(canvas_cell(c, 0, 4)->attr, UI_ATTR_SELECTED);
    assert_int_equal(canvas_cell(c, 0, 5)->attr, UI_ATTR_SELECTED);
    assert_row(c, 0, "abcdef");
    canvas_fill(c, 0, 2, 100, UI_ATTR_BAR);
    assert_row(c, 0, "ab    ");
    assert_int_equal(canvas_cell(c, 0, 5)->attr, UI_ATTR_BAR);
    assert_int_equal(canvas_cell(c, 0, 1)->attr, UI_ATTR_NORMAL);
    canvas_free(c);
}

static void test_row_equal(void **state)
{
    (void)state;
    struct canvas *a = canvas_new(10, 3), *b = canvas_new(10, 3);
    for (int y = 0; y < 3; y++)
        assert_true(canvas_row_equal(a, b, y));
    canvas_put(a, 0, 0, 10, UI_ATTR_NORMAL, "same");
    canvas_put(b, 0, 0, 10, UI_ATTR_NORMAL, "same");
    canvas_put(a, 1, 0, 10, UI_ATTR_NORMAL, "text");
    canvas_put(b, 1, 0, 10, UI_ATTR_NORMAL, "test");
    canvas_put(a, 2, 0, 10, UI_ATTR_NORMAL, "attr");
    canvas_put(b, 2, 0, 10, UI_ATTR_SELECTED, "attr");
    assert_true(canvas_row_equal(a, b, 0));
    assert_false(canvas_row_equal(a, b, 1));
    assert_false(canvas_row_equal(a, b, 2));
    assert_false(canvas_row_equal(a, b, 3));
    struct canvas *narrow = canvas_new(9, 3);
    assert_false(canvas_row_equal(a, narrow, 0));
    canvas_free(narrow);
    canvas_free(a);
    canvas_free(b);
}

int main(void)
{
    /* the views measure by wcwidth under the locale the TUI sets */
    assert_non_null(setlocale(LC_ALL, "C.UTF-8"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii),          cmocka_unit_test(test_wide_characters),
        cmocka_unit_test(test_odd_text),       cmocka_unit_test(test_put_fit),
        cmocka_unit_test(test_attrs_and_fill), cmocka_unit_test(test_row_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
