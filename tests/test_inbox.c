/* Tests for core/inbox: per-sender order and no loss or duplication with
 * several producer threads, pushes refused after close, and a close with
 * items queued (the returned items are freed; ASan checks for leaks) or
 * racing with producers (every item is delivered, returned or refused). */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/inbox.h"
#include "base/xmalloc.h"

#define SENDERS    4
#define PER_SENDER 75000 /* 300000 in all */

struct item {
    struct inbox_node link;
    int sender;
    long seq;
};

static struct item *item_new(int sender, long seq)
{
    struct item *it = xmalloc(sizeof(*it));
    it->sender = sender;
    it->seq = seq;
    return it;
}

/* Frees a list and returns how many items it held. */
static long free_items(struct inbox_node *list)
{
    long n = 0;
    while (list) {
        struct inbox_node *next = list->next;
        free(inbox_entry(list, struct item, link));
        list = next;
        n++;
    }
    return n;
}

struct side {
    struct inbox ib;
    long next_seq[SENDERS];
    long received, expected, out_of_order, calls;
    long close_on; /* close from the callback once this many arrived (0: never) */
    long left_at_close;
    bool closed_cb_ran;
};

static void on_items(void *data, struct inbox_node *list)
{
    struct side *s = data;
    s->calls++;
    while (list) {
        struct inbox_node *next = list->next;
        struct item *it = inbox_entry(list, struct item, link);
        if (it->sender < 0 || it->sender >= SENDERS || s->next_seq[it->sender] != it->seq)
            s->out_of_order++;
        else
            s->next_seq[it->sender]++;
        s->received++;
        free(it);
        list = next;
    }
    if (s->close_on && s->received >= s->close_on)
        s->left_at_close += free_items(inbox_close(&s->ib, NULL));
}

static void on_closed(uv_handle_t *h)
{
    struct side *s = h->data;
    s->closed_cb_ran = true;
}

struct producer {
    struct inbox *ib;
    int sender;
    long sent, refused;
};

static void *produce(void *arg)
{
    struct producer *pr = arg;
    for (long i = 0; i < PER_SENDER; i++) {
        struct item *it = item_new(pr->sender, i);
        if (inbox_push(pr->ib, &it->link) == -ECANCELED) {
            free(it); /* refused: still ours */
            pr->refused++;
            break;
        }
        pr->sent++;
    }
    return NULL;
}

static void start_producers(struct inbox *ib, struct producer *pr, pthread_t *th)
{
    for (int i = 0; i < SENDERS; i++) {
        pr[i] = (struct producer){.ib = ib, .sender = i};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }
}

static void test_many_senders_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct side *s = xcalloc(1, sizeof(*s));
    s->expected = (long)SENDERS * PER_SENDER;
    s->close_on = s->expected;
    assert_int_equal(inbox_init(&s->ib, &loop, on_items, s), 0);

    struct producer pr[SENDERS];
    pthread_t th[SENDERS];
    start_producers(&s->ib, pr, th);
    /* The handle keeps the loop alive until the callback closes it on
     * the last item. */
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(pr[i].sent, PER_SENDER);
        assert_int_equal(s->next_seq[i], PER_SENDER);
    }
    assert_int_equal(s->received, s->expected);
    assert_int_equal(s->out_of_order, 0);
    assert_int_equal(s->left_at_close, 0);
    assert_true(s->calls >= 1);
    assert_true(s->calls <= s->expected); /* wake-ups may coalesce */
    assert_int_equal(uv_loop_close(&loop), 0);
    inbox_fini(&s->ib);
    free(s);
}

static void test_push_after_close_refused(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct side *s = xcalloc(1, sizeof(*s));
    assert_int_equal(inbox_init(&s->ib, &loop, on_items, s), 0);
    assert_null(inbox_close(&s->ib, on_closed));
    struct item *it = item_new(0, 0);
    assert_int_equal(inbox_push(&s->ib, &it->link), -ECANCELED);
    free(it);
    inbox_wake(&s->ib);                          /* ignored */
    assert_null(inbox_close(&s->ib, on_closed)); /* a second close: nothing */
    assert_false(s->closed_cb_ran);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(s->closed_cb_ran);
    it = item_new(0, 1); /* refused until inbox_fini, handle closed or not */
    assert_int_equal(inbox_push(&s->ib, &it->link), -ECANCELED);
    free(it);
    assert_int_equal(s->calls, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    inbox_fini(&s->ib);
    free(s);
}

static void test_close_returns_queued_items(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct side *s = xcalloc(1, sizeof(*s));
    assert_int_equal(inbox_init(&s->ib, &loop, on_items, s), 0);
    for (long i = 0; i < 100; i++)
        assert_int_equal(inbox_push(&s->ib, &item_new(0, i)->link), 0);
    struct inbox_node *left = inbox_close(&s->ib, on_closed);
    long seq = 0;
    for (struct inbox_node *n = left; n; n = n->next)
        assert_int_equal(inbox_entry(n, struct item, link)->seq, seq++);
    assert_int_equal(seq, 100);
    assert_int_equal(free_items(left), 100);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(s->closed_cb_ran);
    assert_int_equal(s->calls, 0); /* queued before close: never delivered */
    assert_int_equal(uv_loop_close(&loop), 0);
    inbox_fini(&s->ib);
    free(s);
}

static void test_wake_without_items(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct side *s = xcalloc(1, sizeof(*s));
    assert_int_equal(inbox_init(&s->ib, &loop, on_items, s), 0);
    inbox_wake(&s->ib);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(s->calls, 1);
    assert_int_equal(s->received, 0);
    assert_null(inbox_close(&s->ib, NULL));
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    inbox_fini(&s->ib);
    free(s);
}

/* Close while producers push: each item is delivered, handed back by the
 * close, or refused to its producer — once, and in order per sender. */
static void test_close_races_producers(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct side *s = xcalloc(1, sizeof(*s));
    assert_int_equal(inbox_init(&s->ib, &loop, on_items, s), 0);

    struct producer pr[SENDERS];
    pthread_t th[SENDERS];
    start_producers(&s->ib, pr, th);
    while (s->received < 1000)
        uv_run(&loop, UV_RUN_ONCE);
    /* On the loop thread, while the producers still push. */
    s->left_at_close = free_items(inbox_close(&s->ib, on_closed));
    long sent = 0;
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(th[i], NULL);
        sent += pr[i].sent;
        assert_true(pr[i].sent + pr[i].refused <= PER_SENDER);
        assert_true(s->next_seq[i] <= pr[i].sent);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(s->closed_cb_ran);
    assert_int_equal(s->out_of_order, 0);
    assert_int_equal(s->received + s->left_at_close, sent);
    assert_int_equal(uv_loop_close(&loop), 0);
    inbox_fini(&s->ib);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_senders_in_order),
        cmocka_unit_test(test_push_after_close_refused),
        cmocka_unit_test(test_close_returns_queued_items),
        cmocka_unit_test(test_wake_without_items),
        cmocka_unit_test(test_close_races_producers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
