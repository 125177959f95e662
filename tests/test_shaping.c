/* test_shaping: the shaper's virtual clock. */
#include "testutil.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/shaper.h"
#include "net/tls.h"

/* ---- the shaper's arithmetic ---- */

static void test_shaper_arithmetic(void **state)
{
    (void)state;
    /* rate 0: unlimited, nothing booked */
    struct shaper *s = shaper_new(0);
    assert_int_equal(shaper_rate(s), 0);
    assert_int_equal(shaper_reserve(s, 1000, 1u << 30), 1000);
    assert_int_equal(shaper_backlog_us(s, 1000), 0);

    /* 1000 B/s: 500 bytes take 0.5 s; the next booking starts after the
     * first, not at now */
    shaper_set_rate(s, 1000);
    assert_int_equal(shaper_rate(s), 1000);
    assert_int_equal(shaper_reserve(s, 0, 500), 500000);
    assert_int_equal(shaper_reserve(s, 0, 500), 1000000);
    assert_int_equal(shaper_backlog_us(s, 0), 1000000);
    assert_int_equal(shaper_backlog_us(s, 400000), 600000);
    assert_int_equal(shaper_reserve(s, 400000, 100), 1100000);

    /* an idle gap is not banked: after 5 s of nothing, 100 bytes still
     * take 0.1 s from now */
    assert_int_equal(shaper_backlog_us(s, 5000000), 0);
    assert_int_equal(shaper_reserve(s, 5000000, 100), 5100000);
    assert_int_equal(shaper_backlog_us(s, 5000000), 100000);

    /* many small bookings add up exactly (no rounding per booking) */
    shaper_set_rate(s, 3000000);
    uint64_t t = 0;
    for (int i = 0; i < 3000; i++)
        t = shaper_reserve(s, 10000000, 1000);
    assert_int_equal(t, 11000000);

    /* a lower rate applies from the next booking on */
    shaper_set_rate(s, 1000000);
    assert_int_equal(shaper_reserve(s, 10000000, 1000), 11001000);
    shaper_free(s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shaper_arithmetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
