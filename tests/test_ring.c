/* test_ring: the lock-free SPSC ring — edge cases on one thread, then a
 * producer and a consumer thread hammering it (run under TSan). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audio/ring.h"
#include "testutil.h"

static void test_capacity_and_wrap(void **state)
{
    struct ring *r = ring_new(100);
    assert_int_equal(ring_capacity(r), 128);
    assert_int_equal(ring_writable(r), 128);
    uint8_t in[200], out[200];
    for (int i = 0; i < 200; i++)
        in[i] = (uint8_t)i;
    assert_int_equal(ring_write(r, in, 200, 1), 128); /* only what fits */
    assert_int_equal(ring_write(r, in, 1, 1), 0);
    assert_int_equal(ring_read(r, out, 100, 1), 100);
    assert_memory_equal(out, in, 100);
    /* this write wraps around the end of the buffer */
    assert_int_equal(ring_write(r, in + 128, 72, 1), 72);
    assert_int_equal(ring_readable(r), 100);
    assert_int_equal(ring_read(r, out, 200, 1), 100);
    assert_memory_equal(out, in + 100, 100);
    assert_int_equal(ring_write_pos(r), 200);
    assert_int_equal(ring_read_pos(r), 200);
    assert_int_equal(ring_fill(r), 0);
    ring_free(r);
}

static void test_units(void **state)
{
    struct ring *r = ring_new(64);
    uint8_t buf[64] = {0};
    /* 6-byte frames: 64 bytes hold 10 whole ones */
    assert_int_equal(ring_write(r, buf, 64, 6), 60);
    assert_int_equal(ring_read(r, buf, 64, 8), 56);
    assert_int_equal(ring_read(r, buf, 64, 8), 0); /* 4 left: no whole unit */
    assert_int_equal(ring_readable(r), 4);
    ring_free(r);
}

static void test_flush(void **state)
{
    struct ring *r = ring_new(64);
    uint8_t a[16], b[8], out[64];
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    ring_write(r, a, sizeof(a), 1);
    ring_flush(r);
    assert_int_equal(ring_fill(r), 0);
    ring_write(r, b, sizeof(b), 1);
    assert_int_equal(ring_fill(r), 8);
    /* the consumer skips the stale bytes and keeps the new ones */
    assert_int_equal(ring_read(r, out, sizeof(out), 1), 8);
    assert_memory_equal(out, b, 8);
    assert_int_equal(ring_read_pos(r), 24);
    /* a flush of an empty ring is harmless */
    ring_flush(r);
    assert_int_equal(ring_readable(r), 0);
    ring_free(r);
}

/* ---- two threads ---- */

#define STRESS_VALUES (1u << 21)

struct stress {
    struct ring *r;
    bool flushes;  /* the producer flushes now and then */
    uint32_t sent; /* values the producer wrote */
};

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Values are (epoch << 24) | seq; a flush starts a new epoch. */
static void *producer(void *arg)
{
    struct stress *st = arg;
    unsigned seed = 1, epoch = 0, seq = 0;
    uint32_t buf[300];
    uint32_t sent = 0;
    while (sent < STRESS_VALUES) {
        size_t n = 1 + lcg(&seed) % 300;
        for (size_t i = 0; i < n; i++)
            buf[i] = epoch << 24 | (seq + (uint32_t)i);
        size_t done = 0;
        while (done < n * 4)
            done += ring_write(st->r, (uint8_t *)buf + done, n * 4 - done, 4);
        seq += (uint32_t)n;
        sent += (uint32_t)n;
        if (st->flushes && lcg(&seed) % 64 == 0) {
            ring_flush(st->r);
            epoch++;
            seq = 0;
        }
    }
    st->sent = sent;
    uint32_t end = 0xffffffffu;
    while (ring_write(st->r, &end, 4, 4) == 0)
        ;
    return NULL;
}

static void run_stress(bool flushes)
{
    struct stress st = {ring_new(4096), flushes, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, producer, &st), 0);
    unsigned seed = 7;
    uint32_t buf[500];
    uint32_t expect_epoch = 0, expect_seq = 0, got = 0;
    bool done = false;
    while (!done) {
        size_t want = 1 + lcg(&seed) % 500;
        size_t n = ring_read(st.r, buf, want * 4, 4) / 4;
        for (size_t i = 0; i < n && !done; i++) {
            uint32_t v = buf[i];
            if (v == 0xffffffffu) {
                done = true;
                break;
            }
            uint32_t epoch = v >> 24, seq = v & 0xffffff;
            if (epoch != expect_epoch) {
                /* only a flush may skip ahead, and never backwards */
                assert_true(flushes);
                assert_true(epoch > expect_epoch);
                expect_epoch = epoch;
            } else {
                assert_int_equal(seq, expect_seq);
            }
            expect_seq = seq + 1;
            got++;
        }
    }
    pthread_join(th, NULL);
    if (!flushes)
        assert_int_equal(got, st.sent);
    assert_int_equal(ring_read_pos(st.r), ring_write_pos(st.r));
    ring_free(st.r);
}

static void test_two_threads(void **state)
{
    run_stress(false);
}

static void test_two_threads_with_flushes(void **state)
{
    run_stress(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_and_wrap),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_flush),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_two_threads_with_flushes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
