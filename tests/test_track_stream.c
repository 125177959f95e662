/* test_track_stream: decrypt-on-the-fly reads over chunk sources — a file
 * complete, partly present and still arriving; seeks; an interrupt that
 * ends a blocked read; a bad chunk; and the source over the real chunk
 * cache, with a chunk that arrives while the reader waits. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/track_stream.h"
#include "core/cache_source.h"
#include "base/content_crypto.h"
#include "base/manifest.h"
#include "base/xmalloc.h"
#include "testutil.h"

#define CS MANIFEST_CHUNK_SIZE

struct file {
    uint8_t *plain, *enc;
    size_t len;
    struct content_key key;
};

static struct file make_file(size_t len)
{
    struct file f = {xmalloc(len), xmalloc(len), len, {{0}}};
    unsigned s = 12345;
    for (size_t i = 0; i < len; i++) {
        s = s * 1103515245u + 12345u;
        f.plain[i] = (uint8_t)(s >> 16);
    }
    assert_int_equal(content_key_generate(&f.key), 0);
    assert_int_equal(content_crypt(&f.key, 0, f.plain, f.enc, len), 0);
    return f;
}

static void free_file(struct file *f)
{
    free(f->plain);
    free(f->enc);
}

static struct tstream *mem_stream(const struct file *f, struct tstream_mem *m)
{
    struct tstream_config cfg = {.file_size = f->len, .key = f->key};
    tstream_source_mem(m, &cfg.ops, &cfg.ctx);
    struct tstream *ts = tstream_new(&cfg);
    assert_non_null(ts);
    return ts;
}

static void nap_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void test_read_complete(void **state)
{
    struct file f = make_file(5 * CS + 1234);
    struct tstream_mem *m = tstream_mem_new(f.enc, f.len, 0, true);
    struct tstream *ts = mem_stream(&f, m);
    assert_int_equal(tstream_size(ts), f.len);
    uint8_t *out = xmalloc(f.len);
    size_t got = 0;
    unsigned s = 1;
    for (;;) {
        s = s * 1103515245u + 12345u;
        int n = tstream_read(ts, out + got, 1 + (s >> 8) % 40000);
        assert_true(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    assert_int_equal(got, f.len);
    assert_memory_equal(out, f.plain, f.len);
    struct tstream_stats st;
    tstream_get_stats(ts, &st);
    assert_int_equal(st.bytes_read, f.len);
    assert_int_equal(st.chunks_read, 6);
    assert_int_equal(st.stalls, 0);
    assert_int_equal(tstream_mem_requests(m), 0);
    tstream_free(ts);
    tstream_mem_unref(m);
    free(out);
    free_file(&f);
}

static void test_seek(void **state)
{
    struct file f = make_file(3 * CS + 77);
    struct tstream_mem *m = tstream_mem_new(f.enc, f.len, 0, true);
    struct tstream *ts = mem_stream(&f, m);
    uint8_t buf[100];
    unsigned s = 9;
    for (int i = 0; i < 200; i++) {
        s = s * 1103515245u + 12345u;
        int64_t at = (int64_t)((s >> 4) % (f.len - 50));
        assert_int_equal(tstream_seek(ts, at, SEEK_SET), at);
        int n = tstream_read(ts, buf, 50);
        assert_true(n > 0 && n <= 50);
        assert_memory_equal(buf, f.plain + at, (size_t)n);
        assert_int_equal(tstream_tell(ts), at + n);
    }
    assert_int_equal(tstream_seek(ts, -10, SEEK_END), (int64_t)f.len - 10);
    assert_int_equal(tstream_read(ts, buf, 100), 10);
    assert_memory_equal(buf, f.plain + f.len - 10, 10);
    assert_int_equal(tstream_read(ts, buf, 100), 0);
    assert_int_equal(tstream_seek(ts, -5, SEEK_CUR), (int64_t)f.len - 5);
    assert_int_equal(tstream_seek(ts, -1, SEEK_SET), TSTREAM_EINVAL);
    assert_int_equal(tstream_seek(ts, 0, 42), TSTREAM_EINVAL);
    assert_int_equal(tstream_seek(ts, 10, SEEK_END), (int64_t)f.len + 10);
    assert_int_equal(tstream_read(ts, buf, 100), 0);
    tstream_free(ts);
    tstream_mem_unref(m);
    free_file(&f);
}

struct reader {
    struct tstream *ts;
    uint8_t *out;
    size_t want, got;
    int result;
    _Atomic bool done;
};

static void *read_all(void *arg)
{
    struct reader *rd = arg;
    rd->result = 0;
    while (rd->got < rd->want) {
        int n = tstream_read(rd->ts, rd->out + rd->got, rd->want - rd->got);
        if (n <= 0) {
            rd->result = n;
            break;
        }
        rd->got += (size_t)n;
    }
    atomic_store(&rd->done, true);
    return NULL;
}

/* The file arrives while it is read: out of order, one chunk at a time. */
static void test_still_arriving(void **state)
{
    struct file f = make_file(6 * CS + 10);
    struct tstream_mem *m = tstream_mem_new(f.enc, f.len, 0, false);
    struct tstream *ts = mem_stream(&f, m);
    struct reader rd = {.ts = ts, .out = xmalloc(f.len), .want = f.len};
    atomic_init(&rd.done, false);
    pthread_t th;
    pthread_create(&th, NULL, read_all, &rd);
    static const uint32_t order[] = {3, 0, 1, 6, 2, 5, 4};
    for (size_t i = 0; i < 7; i++) {
        nap_ms(15);
        tstream_mem_release(m, order[i], 1);
    }
    pthread_join(th, NULL);
    assert_int_equal(rd.result, 0);
    assert_int_equal(rd.got, f.len);
    assert_memory_equal(rd.out, f.plain, f.len);
    struct tstream_stats st;
    tstream_get_stats(ts, &st);
    assert_true(st.stalls >= 3);
    assert_true(st.stall_ns > 0);
    assert_true(tstream_mem_requests(m) >= st.stalls);
    tstream_free(ts);
    tstream_mem_unref(m);
    free(rd.out);
    free_file(&f);
}

static void test_interrupt(void **state)
{
    struct file f = make_file(2 * CS);
    struct tstream_mem *m = tstream_mem_new(f.enc, f.len, 0, false);
    struct tstream *ts = mem_stream(&f, m);
    uint64_t gen = tstream_generation(ts);
    struct reader rd = {.ts = ts, .out = xmalloc(f.len), .want = 100};
    atomic_init(&rd.done, false);
    pthread_t th;
    pthread_create(&th, NULL, read_all, &rd);
    nap_ms(100);
    assert_false(atomic_load(&rd.done)); /* blocked on chunk 0 */
    uint64_t t0 = testutil_now_ns();
    tstream_interrupt(ts);
    pthread_join(th, NULL);
    assert_true(testutil_now_ns() - t0 < 500000000ull);
    assert_int_equal(rd.result, TSTREAM_EABORTED);
    assert_int_equal(tstream_generation(ts), gen + 1);
    /* sticky until rearmed, even with the data there */
    tstream_mem_release(m, 0, 2);
    uint8_t buf[10];
    assert_true(tstream_interrupted(ts));
    assert_int_equal(tstream_read(ts, buf, 10), TSTREAM_EABORTED);
    tstream_rearm(ts);
    assert_false(tstream_interrupted(ts));
    assert_int_equal(tstream_read(ts, buf, 10), 10);
    assert_memory_equal(buf, f.plain, 10);
    /* an interrupt between two reads is not lost */
    tstream_interrupt(ts);
    assert_int_equal(tstream_read(ts, buf, 10), TSTREAM_EABORTED);
    tstream_free(ts);
    tstream_mem_unref(m);
    free(rd.out);
    free_file(&f);
}

/* A source that hands out a chunk one byte short. */
static int short_read(void *ctx, uint32_t index, uint8_t *buf, size_t cap, size_t *len, int wait_ms,
                      uint64_t gen)
{
    memset(buf, 0, cap);
    *len = CS - 1;
    return 0;
}

static void no_request(void *ctx, uint32_t index, enum tstream_priority prio, uint64_t gen)
{
}

static void test_bad_chunk(void **state)
{
    static const struct tstream_source_ops ops = {.read = short_read, .request = no_request};
    struct tstream_config cfg = {.file_size = 3 * CS, .ops = &ops};
    struct tstream *ts = tstream_new(&cfg);
    uint8_t buf[16];
    assert_int_equal(tstream_read(ts, buf, 16), TSTREAM_ECORRUPT);
    assert_string_equal(tstream_strerror(TSTREAM_ECORRUPT), "chunk has the wrong length");
    tstream_free(ts);
    cfg.file_size = MANIFEST_MAX_FILE_SIZE + 1;
    assert_null(tstream_new(&cfg));
}

/* ---- over the real cache ---- */

struct requests {
    pthread_mutex_t mu;
    uint32_t last_index;
    int count;
    enum tstream_priority prio;
    uint64_t gen;
};

static void record_request(void *ctx, const struct content_id *id, uint32_t index,
                           enum tstream_priority prio, uint64_t gen)
{
    struct requests *rq = ctx;
    pthread_mutex_lock(&rq->mu);
    rq->last_index = index;
    rq->prio = prio;
    rq->gen = gen;
    rq->count++;
    pthread_mutex_unlock(&rq->mu);
}

static int request_count(struct requests *rq)
{
    pthread_mutex_lock(&rq->mu);
    int n = rq->count;
    pthread_mutex_unlock(&rq->mu);
    return n;
}

static void test_cache_source(void **state)
{
    char *dir = testutil_tempdir("test_track_stream_cache");
    struct cache_config cc = {.dir = dir, .cap_bytes = 100u << 20};
    struct cache *c = NULL;
    assert_int_equal(cache_open(&cc, &c), 0);
    struct file f = make_file(4 * CS + 500);
    struct manifest *man = NULL;
    assert_int_equal(manifest_build(f.enc, f.len, CS, &man), 0);
    uint8_t *enc;
    size_t enc_len;
    manifest_encode(man, &enc, &enc_len);
    struct content_id id;
    manifest_id(man, &id);
    assert_int_equal(cache_put_manifest(c, &id, enc, enc_len), 0);
    for (uint32_t i = 0; i < 2; i++)
        assert_int_equal(cache_write_chunk(c, &id, i, f.enc + i * CS, CS, CACHE_SRC_SERVICE), 0);

    struct requests rq = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct tstream_config cfg = {.file_size = f.len, .key = f.key, .priority = TSTREAM_PRIO_NEXT};
    tstream_source_cache(c, &id, record_request, &rq, &cfg.ops, &cfg.ctx);
    struct tstream *ts = tstream_new(&cfg);
    uint8_t *out = xmalloc(f.len);
    struct reader rd = {.ts = ts, .out = out, .want = 3 * CS};
    atomic_init(&rd.done, false);
    pthread_t th;
    pthread_create(&th, NULL, read_all, &rd);
    /* chunks 0 and 1 come from the cache; chunk 2 is asked for */
    uint64_t t0 = testutil_now_ns();
    while (request_count(&rq) == 0 && testutil_now_ns() - t0 < 5000000000ull)
        nap_ms(5);
    assert_int_equal(request_count(&rq), 1);
    assert_int_equal(rq.last_index, 2);
    assert_int_equal(rq.prio, TSTREAM_PRIO_NEXT);
    assert_int_equal(rq.gen, tstream_generation(ts));
    assert_false(atomic_load(&rd.done));
    assert_int_equal(cache_write_chunk(c, &id, 2, f.enc + 2 * CS, CS, CACHE_SRC_PEER), 0);
    pthread_join(th, NULL);
    assert_int_equal(rd.result, 0);
    assert_memory_equal(out, f.plain, 3 * CS);

    /* waiting for chunk 3, interrupted */
    tstream_set_priority(ts, TSTREAM_PRIO_NOW);
    rd = (struct reader){.ts = ts, .out = out, .want = CS};
    atomic_init(&rd.done, false);
    pthread_create(&th, NULL, read_all, &rd);
    t0 = testutil_now_ns();
    while (request_count(&rq) < 2 && testutil_now_ns() - t0 < 5000000000ull)
        nap_ms(5);
    assert_int_equal(rq.last_index, 3);
    assert_int_equal(rq.prio, TSTREAM_PRIO_NOW);
    tstream_interrupt(ts);
    pthread_join(th, NULL);
    assert_int_equal(rd.result, TSTREAM_EABORTED);

    tstream_free(ts);
    free(out);
    free(enc);
    manifest_free(man);
    free_file(&f);
    cache_free(c);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_complete),  cmocka_unit_test(test_seek),
        cmocka_unit_test(test_still_arriving), cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_bad_chunk),      cmocka_unit_test(test_cache_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
