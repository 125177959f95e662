/* test_tracker: the tracker's rules with the clock in the test's hands —
 * 20 most recent kept, 10 online returned most recent first, never the
 * asker, withdraw, disconnect and silence. (test_service checks the same
 * rules end to end over TLS.) */
#include "testutil.h"

#include <string.h>

#include "net/tracker.h"

static void file_id(uint8_t id[WIRE_ID_LEN], int n)
{
    memset(id, 0, WIRE_ID_LEN);
    id[0] = (uint8_t)n;
    id[31] = (uint8_t)(n >> 8);
}

static struct tracker_peer *add_peer(struct tracker *t, int n, uint64_t now)
{
    uint8_t addr[16] = {10, 0, (uint8_t)(n >> 8), (uint8_t)n};
    uint8_t key[WIRE_ID_LEN] = {0};
    key[0] = (uint8_t)n;
    key[1] = (uint8_t)(n >> 8);
    key[2] = 0x55;
    return tracker_peer_add(t, 4, addr, key, now);
}

/* The peer number a result came from (its key). */
static int who(const struct wire_peer *p)
{
    return p->key[0] | p->key[1] << 8;
}

static void test_keep_20_return_10(void **state)
{
    (void)state;
    struct tracker *t = tracker_new(60000);
    uint8_t id[1][WIRE_ID_LEN];
    file_id(id[0], 1);
    struct tracker_peer *peers[25];
    for (int i = 0; i < 25; i++) {
        peers[i] = add_peer(t, i, 1000);
        tracker_announce(t, peers[i], (uint16_t)(4000 + i), id, 1, 1000 + (uint64_t)i);
    }
    assert_int_equal(tracker_entry_count(t), TRACKER_KEEP);
    struct wire_peer out[TRACKER_RETURN];
    /* an outsider asking: the 10 most recent, newest first */
    size_t n = tracker_lookup(t, id[0], NULL, 2000, out, TRACKER_RETURN);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(who(&out[i]), 24 - (int)i);
        assert_int_equal(out[i].port, 4000 + 24 - (int)i);
        assert_int_equal(out[i].family, 4);
        assert_int_equal(out[i].addr[3], 24 - (int)i);
    }
    /* the newest asks: never itself */
    n = tracker_lookup(t, id[0], peers[24], 2000, out, TRACKER_RETURN);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(who(&out[i]), 24);
    /* nor another connection with its key */
    struct tracker_peer *again = add_peer(t, 24, 2000);
    n = tracker_lookup(t, id[0], again, 2000, out, TRACKER_RETURN);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(who(&out[i]), 24);
    /* peers 0..4 were pushed out by the 21st..25th announcement: with the
     * ten newest gone, the rest are 14..5 */
    for (int i = 15; i < 25; i++)
        tracker_peer_remove(t, peers[i]);
    n = tracker_lookup(t, id[0], NULL, 2000, out, TRACKER_RETURN);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(who(&out[i]), 14 - (int)i);
    /* a re-announce moves a peer to the front */
    tracker_announce(t, peers[5], 9999, id, 1, 3000);
    n = tracker_lookup(t, id[0], NULL, 3000, out, 3);
    assert_int_equal(n, 3);
    assert_int_equal(who(&out[0]), 5);
    assert_int_equal(out[0].port, 9999);
    assert_int_equal(who(&out[1]), 14);
    tracker_free(t);
}

static void test_withdraw_disconnect_silence(void **state)
{
    (void)state;
    struct tracker *t = tracker_new(5000);
    uint8_t ids[3][WIRE_ID_LEN];
    for (int i = 0; i < 3; i++)
        file_id(ids[i], 100 + i);
    struct tracker_peer *a = add_peer(t, 1, 0), *b = add_peer(t, 2, 0), *c = add_peer(t, 3, 0);
    tracker_announce(t, a, 1, ids, 3, 0);
    tracker_announce(t, b, 2, ids, 2, 0);
    tracker_announce(t, c, 3, ids, 1, 0);
    assert_int_equal(tracker_entry_count(t), 6);
    assert_int_equal(tracker_file_count(t), 3);
    struct wire_peer out[TRACKER_RETURN];
    assert_int_equal(tracker_lookup(t, ids[0], NULL, 10, out, 10), 3);

    /* withdraw */
    tracker_withdraw(t, a, ids + 2, 1);
    assert_int_equal(tracker_lookup(t, ids[2], NULL, 10, out, 10), 0);
    assert_int_equal(tracker_file_count(t), 2);

    /* silence: b talks, a and c do not; after 5 s a and c are skipped at
     * once and expired by the sweep */
    tracker_peer_touch(b, 4000);
    assert_int_equal(tracker_lookup(t, ids[0], NULL, 5000, out, 10), 3);
    assert_int_equal(tracker_lookup(t, ids[0], NULL, 5001, out, 10), 1);
    assert_int_equal(who(&out[0]), 2);
    assert_int_equal(tracker_expire(t, 5001), 3); /* a: 2 entries, c: 1 */
    assert_int_equal(tracker_entry_count(t), 2);
    /* the silent peer comes back: it must announce again to be listed */
    tracker_peer_touch(a, 6000);
    assert_int_equal(tracker_lookup(t, ids[0], NULL, 6000, out, 10), 1);
    tracker_announce(t, a, 1, ids, 1, 6000);
    assert_int_equal(tracker_lookup(t, ids[0], NULL, 6000, out, 10), 2);

    /* disconnect */
    tracker_peer_remove(t, b);
    assert_int_equal(tracker_lookup(t, ids[0], NULL, 6000, out, 10), 1);
    assert_int_equal(tracker_lookup(t, ids[1], NULL, 6000, out, 10), 0);
    assert_int_equal(tracker_entry_count(t), 1);
    tracker_free(t); /* frees a and c too */
}

/* Thousands of files and peers: the table grows and every lookup still
 * finds its own peers. */
static void test_many_files(void **state)
{
    (void)state;
    struct tracker *t = tracker_new(0);
    struct tracker_peer *p[30];
    uint8_t ids[500][WIRE_ID_LEN];
    for (int i = 0; i < 500; i++)
        file_id(ids[i], 1000 + i);
    for (int i = 0; i < 30; i++) {
        p[i] = add_peer(t, i, 0);
        tracker_announce(t, p[i], 1, ids, 500, (uint64_t)i);
    }
    assert_int_equal(tracker_file_count(t), 500);
    assert_int_equal(tracker_entry_count(t), 500 * TRACKER_KEEP);
    struct wire_peer out[TRACKER_RETURN];
    for (int i = 0; i < 500; i++) {
        assert_int_equal(tracker_lookup(t, ids[i], p[29], 100, out, TRACKER_RETURN), 10);
        assert_int_equal(who(&out[0]), 28);
    }
    uint8_t unknown[WIRE_ID_LEN] = {0xff};
    assert_int_equal(tracker_lookup(t, unknown, NULL, 100, out, TRACKER_RETURN), 0);
    tracker_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_20_return_10),
        cmocka_unit_test(test_withdraw_disconnect_silence),
        cmocka_unit_test(test_many_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
