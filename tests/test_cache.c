/* Tests for core/cache: real files, real SQLite, a real tmpfs for the full
 * disk. Round trip and refusals; LRU order; pinning; the cap under churn
 * (checked against the blocks really allocated on disk); corruption on
 * disk detected on read and by verify; kill -9 in the middle of a burst of
 * writes, then reopen; crash leftovers repaired at open; ENOSPC on a small
 * file system; readers, writers and waiters on several threads (this
 * program carries the 'concurrency' label, so it also runs under TSan);
 * the async API on a libuv loop; counters kept across sessions; the
 * `chorus cache` command; the cap on open data files. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/cache.h"
#include "base/log.h"
#include "base/manifest.h"
#include "base/xmalloc.h"

#define CS MANIFEST_CHUNK_SIZE

/* ---- test files: deterministic pseudo-random "encrypted" bytes ---- */

static void tf_make(struct testutil_file *t, size_t len, uint32_t seed)
{
    testutil_file_make(t, len, CS, seed);
}

static const uint8_t *tf_chunk(const struct testutil_file *t, uint32_t i, size_t *len)
{
    *len = manifest_chunk_len(t->m, i);
    return t->data + (size_t)i * CS;
}

static int tf_write(struct cache *c, const struct testutil_file *t, uint32_t i)
{
    size_t len;
    const uint8_t *p = tf_chunk(t, i, &len);
    return cache_write_chunk(c, &t->id, i, p, len, CACHE_SRC_PEER);
}

/* Manifest and every chunk; asserts success. */
static void tf_store(struct cache *c, const struct testutil_file *t)
{
    assert_int_equal(cache_put_manifest(c, &t->id, t->enc, t->enc_len), 0);
    for (uint32_t i = 0; i < t->m->chunk_count; i++)
        assert_int_equal(tf_write(c, t, i), 0);
}

/* 0 when chunk i reads back exactly; the read's error otherwise. */
static int tf_check(struct cache *c, const struct testutil_file *t, uint32_t i)
{
    uint8_t buf[CS];
    size_t len = 0, want;
    const uint8_t *p = tf_chunk(t, i, &want);
    int err = cache_read_chunk(c, &t->id, i, CACHE_FOR_CHECK, buf, sizeof(buf), &len);
    if (err)
        return err;
    return len == want && memcmp(buf, p, len) == 0 ? 0 : -1;
}

/* What a whole file takes in the cache: its chunks and its manifest. */
static uint64_t footprint(const struct testutil_file *t)
{
    return t->len + t->enc_len;
}

/* ---- events ---- */

struct evlog {
    pthread_mutex_t mu;
    int complete, evicted, incomplete;
    struct content_id evicted_ids[256];
    pthread_t thread; /* of the last delivery */
};

static void on_event(void *ctx, enum cache_event ev, const struct content_id *id)
{
    struct evlog *e = ctx;
    pthread_mutex_lock(&e->mu);
    if (ev == CACHE_EV_COMPLETE)
        e->complete++;
    else if (ev == CACHE_EV_INCOMPLETE)
        e->incomplete++;
    else if (e->evicted < 256)
        e->evicted_ids[e->evicted++] = *id;
    else
        e->evicted++;
    e->thread = pthread_self();
    pthread_mutex_unlock(&e->mu);
}

static void evlog_init(struct evlog *e)
{
    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->mu, NULL);
}

static struct cache *open_cache(const char *dir, uint64_t cap, struct evlog *ev)
{
    struct cache_config cfg = {
        .dir = dir, .cap_bytes = cap, .on_event = ev ? on_event : NULL, .event_ctx = ev};
    struct cache *c = NULL;
    int err = cache_open(&cfg, &c);
    if (err)
        fail_msg("cache_open(%s): %s", dir, cache_strerror(err));
    return c;
}

/* Bytes the data files really hold on disk: their data extents
 * (SEEK_DATA/SEEK_HOLE), so holes do not count and neither do the file
 * system's own blocks (an extent tree spilling out of the inode). */
static uint64_t data_bytes(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    uint64_t total = 0;
    off_t at = 0, data, hole;
    while ((data = lseek(fd, at, SEEK_DATA)) >= 0) {
        hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
            break;
        total += (uint64_t)(hole - data);
        at = hole;
    }
    close(fd);
    return total;
}

static uint64_t disk_usage(const char *cache_dir)
{
    char *top = xasprintf("%s/chunks", cache_dir);
    uint64_t total = 0;
    DIR *d = opendir(top);
    struct dirent *s;
    while (d && (s = readdir(d))) {
        if (s->d_name[0] == '.')
            continue;
        char *sub = xasprintf("%s/%s", top, s->d_name);
        DIR *d2 = opendir(sub);
        struct dirent *e;
        while (d2 && (e = readdir(d2))) {
            char *p = xasprintf("%s/%s", sub, e->d_name);
            if (e->d_name[0] != '.')
                total += data_bytes(p);
            free(p);
        }
        if (d2)
            closedir(d2);
        free(sub);
    }
    if (d)
        closedir(d);
    free(top);
    return total;
}

static char *data_path(const char *dir, const struct content_id *id)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    return xasprintf("%s/chunks/%.2s/%s", dir, hex, hex);
}

/* files.complete of id in the index, read by a second connection (WAL
 * lets it read while the cache has the database open); -1 when absent. */
static int index_complete(const char *dir, const struct content_id *id)
{
    char *path = xasprintf("%s/index.sqlite", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT complete FROM files WHERE id = ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return v;
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* ---- round trip and refusals ---- */

static void test_roundtrip_and_refusals(void **state)
{
    char *dir = testutil_tempdir("cache_rt");
    struct evlog ev;
    evlog_init(&ev);
    struct testutil_file a, other;
    tf_make(&a, 5 * CS + 1234, 1);
    tf_make(&other, 2 * CS, 2);
    struct cache *c = open_cache(dir, 100 << 20, &ev);

    /* Before the manifest: refused. A manifest under the wrong id too. */
    assert_int_equal(tf_write(c, &a, 0), CACHE_ENOMANIFEST);
    assert_int_equal(cache_put_manifest(c, &a.id, other.enc, other.enc_len), MANIFEST_EID);
    assert_int_equal(cache_put_manifest(c, &a.id, a.enc, a.enc_len), 0);
    assert_int_equal(cache_put_manifest(c, &a.id, a.enc, a.enc_len), 0); /* idempotent */

    /* Wrong bytes, wrong length, wrong index: refused, nothing stored. */
    size_t len;
    const uint8_t *p = tf_chunk(&other, 0, &len);
    assert_int_equal(cache_write_chunk(c, &a.id, 0, p, len, CACHE_SRC_PEER), CACHE_EBADCHUNK);
    assert_int_equal(cache_write_chunk(c, &a.id, 5, a.data, CS, CACHE_SRC_PEER), CACHE_EBADCHUNK);
    assert_int_equal(cache_write_chunk(c, &a.id, 6, a.data, CS, CACHE_SRC_PEER), CACHE_ERANGE);
    assert_false(cache_has_chunk(c, &a.id, 0));
    uint8_t buf[CS];
    assert_int_equal(cache_read_chunk(c, &a.id, 0, CACHE_FOR_PEER, buf, sizeof(buf), &len),
                     CACHE_ENOTFOUND);
    assert_int_equal(cache_read_chunk(c, &a.id, 9, CACHE_FOR_PEER, buf, sizeof(buf), &len),
                     CACHE_ERANGE);

    for (uint32_t i = 0; i < a.m->chunk_count; i++) {
        assert_int_equal(ev.complete, 0);
        assert_int_equal(index_complete(dir, &a.id), 0);
        assert_int_equal(tf_write(c, &a, i), 0);
    }
    assert_int_equal(index_complete(dir, &a.id), 1);
    assert_int_equal(tf_write(c, &a, 2), 0); /* again: no-op */
    assert_int_equal(ev.complete, 1);
    for (uint32_t i = 0; i < a.m->chunk_count; i++)
        assert_int_equal(tf_check(c, &a, i), 0);
    /* A buffer too small for the chunk is refused, not overrun. */
    assert_int_equal(cache_read_chunk(c, &a.id, 0, CACHE_FOR_PEER, buf, 100, &len), CACHE_EINVAL);

    struct content_id *ids;
    assert_int_equal(cache_list_complete(c, &ids), 1);
    assert_memory_equal(ids[0].bytes, a.id.bytes, CONTENT_ID_LEN);
    free(ids);
    uint8_t *bits;
    uint32_t count;
    assert_int_equal(cache_chunk_map(c, &a.id, &bits, &count), 0);
    assert_int_equal(count, 6);
    assert_int_equal(bits[0], 0x3f);
    free(bits);
    uint8_t *enc;
    size_t enc_len;
    assert_int_equal(cache_get_manifest(c, &a.id, &enc, &enc_len), 0);
    assert_int_equal(enc_len, a.enc_len);
    assert_memory_equal(enc, a.enc, enc_len);
    free(enc);
    struct cache_stats st;
    cache_stats(c, &st);
    assert_int_equal(st.used_bytes, footprint(&a));
    assert_int_equal(disk_usage(dir), a.len); /* data extents, to the end of the file */
    assert_int_equal(st.files, 1);
    assert_int_equal(st.complete_files, 1);
    assert_int_equal(st.bytes[CACHE_SRC_PEER], a.len);

    /* A second cache on the same directory is refused. */
    struct cache_config cfg = {.dir = dir};
    struct cache *c2 = NULL;
    assert_int_equal(cache_open(&cfg, &c2), CACHE_ELOCKED);
    assert_null(c2);
    cache_free(c);

    /* Reopen: everything is there and reads back (each chunk hashed on its
     * first read). */
    c = open_cache(dir, 100 << 20, NULL);
    struct cache_file_info info;
    assert_int_equal(cache_file_info(c, &a.id, &info), 0);
    assert_true(info.complete);
    assert_int_equal(info.chunks_present, 6);
    assert_int_equal(info.bytes_present, footprint(&a));
    for (uint32_t i = 0; i < a.m->chunk_count; i++)
        assert_int_equal(tf_check(c, &a, i), 0);
    cache_free(c);

    testutil_file_free(&a);
    testutil_file_free(&other);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- LRU order and pinning ---- */

static bool evicted(struct evlog *e, const struct testutil_file *t)
{
    for (int i = 0; i < e->evicted && i < 256; i++)
        if (memcmp(e->evicted_ids[i].bytes, t->id.bytes, CONTENT_ID_LEN) == 0)
            return true;
    return false;
}

static void test_lru_order(void **state)
{
    char *dir = testutil_tempdir("cache_lru");
    struct evlog ev;
    evlog_init(&ev);
    struct testutil_file f[5];
    for (int i = 0; i < 5; i++)
        tf_make(&f[i], 4 * CS, 10 + (uint32_t)i);
    /* Room for three files. */
    struct cache *c = open_cache(dir, 3 * footprint(&f[0]) + 100, &ev);
    tf_store(c, &f[0]);
    tf_store(c, &f[1]);
    tf_store(c, &f[2]);
    assert_int_equal(ev.evicted, 0);
    /* Playing f0 makes f1 the least recently used. */
    assert_true(cache_note_play(c, &f[0].id));
    tf_store(c, &f[3]);
    assert_int_equal(ev.evicted, 1);
    assert_true(evicted(&ev, &f[1]));
    /* Now f2 is the oldest; play it, so f0 goes next. */
    cache_note_play(c, &f[2].id);
    tf_store(c, &f[4]);
    assert_int_equal(ev.evicted, 2);
    assert_true(evicted(&ev, &f[0]));
    assert_int_equal(cache_file_info(c, &f[0].id, &(struct cache_file_info){0}), CACHE_ENOTFOUND);

    /* The listing is least recently played first: f3, f2, f4. */
    struct cache_file_info *list;
    assert_int_equal(cache_list_files(c, &list), 3);
    assert_memory_equal(list[0].id.bytes, f[3].id.bytes, CONTENT_ID_LEN);
    assert_memory_equal(list[1].id.bytes, f[2].id.bytes, CONTENT_ID_LEN);
    assert_memory_equal(list[2].id.bytes, f[4].id.bytes, CONTENT_ID_LEN);
    free(list);
    cache_note_play(c, &f[3].id);
    cache_free(c);

    /* The order survives a restart: f2 is now the oldest. */
    c = open_cache(dir, 3 * footprint(&f[0]) + 100, &ev);
    tf_store(c, &f[0]);
    assert_true(evicted(&ev, &f[2]));
    assert_int_equal(ev.evicted, 3);
    cache_free(c);
    for (int i = 0; i < 5; i++)
        testutil_file_free(&f[i]);
    testutil_rmtree(dir);
    free(dir);
}

static void test_pinning(void **state)
{
    char *dir = testutil_tempdir("cache_pin");
    struct evlog ev;
    evlog_init(&ev);
    struct testutil_file f[5];
    for (int i = 0; i < 5; i++)
        tf_make(&f[i], 3 * CS, 20 + (uint32_t)i);
    struct cache *c = open_cache(dir, 2 * footprint(&f[0]) + 100, &ev);
    /* Pinned before it arrives (a prefetch): the pin applies once stored. */
    cache_pin(c, &f[0].id);
    tf_store(c, &f[0]);
    tf_store(c, &f[1]);
    tf_store(c, &f[2]); /* f0 is the oldest but pinned: f1 goes */
    assert_true(evicted(&ev, &f[1]));
    assert_false(evicted(&ev, &f[0]));
    struct cache_stats st;
    cache_stats(c, &st);
    assert_int_equal(st.pinned_files, 1);

    /* Everything else pinned too: no room, the write fails, nothing is
     * over the cap and nothing pinned was touched. */
    cache_pin(c, &f[2].id);
    assert_int_equal(cache_put_manifest(c, &f[3].id, f[3].enc, f[3].enc_len), CACHE_EFULL);
    cache_stats(c, &st);
    assert_true(st.used_bytes <= st.cap_bytes);
    assert_int_equal(st.files, 2);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(tf_check(c, &f[0], i), 0);
        assert_int_equal(tf_check(c, &f[2], i), 0);
    }

    /* Pins are counted: pinned twice and unpinned once is still pinned. */
    cache_pin(c, &f[0].id);
    cache_unpin(c, &f[0].id);
    assert_int_equal(cache_put_manifest(c, &f[3].id, f[3].enc, f[3].enc_len), CACHE_EFULL);
    /* f2 unpinned (f0 keeps its pin): f2 makes room for f3. */
    cache_unpin(c, &f[2].id);
    tf_store(c, &f[3]);
    assert_true(evicted(&ev, &f[2]));
    assert_false(evicted(&ev, &f[0]));
    cache_unpin(c, &f[0].id);
    tf_store(c, &f[4]);
    assert_true(evicted(&ev, &f[0]));

    /* Something that cannot fit even with every unpinned file gone does
     * not evict them for nothing: a manifest (hand-made: 4000 chunks,
     * 128 kB) bigger than all of the cap. */
    size_t big_len = MANIFEST_HEADER_LEN + 4000 * MANIFEST_HASH_LEN;
    uint8_t *big = xcalloc(1, big_len);
    memcpy(big, "CHMF\x01\x00\x00\x40\x00", 9); /* version 1, chunk size 16384 */
    uint64_t big_size = 4000ull * CS;
    for (int i = 0; i < 8; i++)
        big[9 + i] = (uint8_t)(big_size >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        big[17 + i] = (uint8_t)(4000u >> (24 - 8 * i));
    struct content_id big_id;
    manifest_id_of_encoding(big, big_len, &big_id);
    assert_int_equal(cache_put_manifest(c, &big_id, big, big_len), CACHE_EFULL);
    free(big);
    cache_stats(c, &st);
    assert_int_equal(st.files, 2); /* f3 (unpinned) is still there */
    assert_true(cache_has_chunk(c, &f[3].id, 0));

    /* A cap below the pinned files: the rest goes, the pinned stay. */
    cache_pin(c, &f[4].id);
    assert_int_equal(cache_set_cap(c, 1), CACHE_EFULL);
    cache_stats(c, &st);
    assert_int_equal(st.files, 1);
    assert_int_equal(tf_check(c, &f[4], 0), 0);
    cache_unpin(c, &f[4].id);
    assert_int_equal(cache_set_cap(c, 1), 0);
    cache_stats(c, &st);
    assert_int_equal(st.files, 0);
    assert_int_equal(st.used_bytes, 0);
    cache_free(c);
    for (int i = 0; i < 5; i++)
        testutil_file_free(&f[i]);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- the cap under churn ---- */

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void test_cap_under_churn(void **state)
{
    char *dir = testutil_tempdir("cache_churn");
    struct evlog ev;
    evlog_init(&ev);
    enum { NFILES = 40 };
    struct testutil_file f[NFILES];
    uint32_t x = 12345;
    for (int i = 0; i < NFILES; i++) /* 4 KiB multiples: blocks on disk = bytes */
        tf_make(&f[i], (size_t)(1 + rnd(&x) % 80) * 4096, 100 + (uint32_t)i);
    const uint64_t cap = 1000 * 1000;
    struct cache *c = open_cache(dir, cap, &ev);
    int pinned = -1;
    unsigned writes = 0;
    for (int round = 0; round < 90; round++) {
        struct testutil_file *t = &f[rnd(&x) % NFILES];
        int err = cache_put_manifest(c, &t->id, t->enc, t->enc_len);
        assert_true(err == 0 || err == CACHE_EFULL);
        for (uint32_t i = 0; !err && i < t->m->chunk_count; i++) {
            err = tf_write(c, t, i);
            assert_int_equal(err, 0);
            writes++;
            struct cache_stats st;
            cache_stats(c, &st);
            assert_true(st.used_bytes <= cap);
            assert_true(disk_usage(dir) <= cap);
        }
        if (rnd(&x) % 3 == 0)
            cache_note_play(c, &f[rnd(&x) % NFILES].id);
        if (rnd(&x) % 5 == 0) { /* move a pin around */
            if (pinned >= 0)
                cache_unpin(c, &f[pinned].id);
            pinned = (int)(rnd(&x) % NFILES);
            cache_pin(c, &f[pinned].id);
        }
    }
    struct cache_stats st;
    cache_stats(c, &st);
    assert_true(st.evicted_files > 10); /* it did churn */
    assert_true(writes > 300);
    /* Every complete file reads back; the pinned one is still there if it
     * was stored at all. */
    struct content_id *ids;
    size_t n = cache_list_complete(c, &ids);
    assert_true(n > 0);
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < NFILES; i++)
            if (memcmp(ids[k].bytes, f[i].id.bytes, CONTENT_ID_LEN) == 0)
                for (uint32_t j = 0; j < f[i].m->chunk_count; j++)
                    assert_int_equal(tf_check(c, &f[i], j), 0);
    free(ids);
    /* A lower cap evicts at once. */
    if (pinned >= 0)
        cache_unpin(c, &f[pinned].id);
    assert_int_equal(cache_set_cap(c, cap / 4), 0);
    cache_stats(c, &st);
    assert_true(st.used_bytes <= cap / 4);
    assert_true(disk_usage(dir) <= cap / 4);
    cache_free(c);
    for (int i = 0; i < NFILES; i++)
        testutil_file_free(&f[i]);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- corruption on disk ---- */

static void test_corrupt_chunk_detected_on_read(void **state)
{
    char *dir = testutil_tempdir("cache_corrupt");
    struct evlog ev;
    evlog_init(&ev);
    struct testutil_file a;
    tf_make(&a, 4 * CS, 30);
    struct cache *c = open_cache(dir, 100 << 20, NULL);
    tf_store(c, &a);
    cache_free(c);

    /* Corrupt chunk 2 while the cache is closed. */
    char *path = data_path(dir, &a.id);
    flip_byte(path, 2 * CS + 77);
    c = open_cache(dir, 100 << 20, &ev);
    uint8_t buf[CS];
    size_t len;
    assert_int_equal(tf_check(c, &a, 1), 0);
    assert_int_equal(cache_read_chunk(c, &a.id, 2, CACHE_FOR_PLAY, buf, sizeof(buf), &len),
                     CACHE_ECORRUPT);
    /* Dropped: missing from now on, the file no longer complete. */
    assert_false(cache_has_chunk(c, &a.id, 2));
    assert_int_equal(ev.incomplete, 1);
    assert_int_equal(index_complete(dir, &a.id), 0);
    assert_int_equal(cache_read_chunk(c, &a.id, 2, CACHE_FOR_PLAY, buf, sizeof(buf), &len),
                     CACHE_ENOTFOUND);
    struct cache_stats st;
    cache_stats(c, &st);
    assert_int_equal(st.corrupt_chunks, 1);
    assert_int_equal(st.complete_files, 0);
    assert_int_equal(st.used_bytes, footprint(&a) - CS);
    /* Fetched again, it is good. */
    assert_int_equal(tf_write(c, &a, 2), 0);
    assert_int_equal(ev.complete, 1);
    assert_int_equal(index_complete(dir, &a.id), 1);
    assert_int_equal(tf_check(c, &a, 2), 0);

    /* Corrupted while open, after its first (checked) read: a plain read
     * trusts it (known good), verify finds it. */
    assert_int_equal(tf_check(c, &a, 3), 0);
    flip_byte(path, 3 * CS + 5);
    struct cache_verify_report rep;
    assert_int_equal(cache_verify(c, &rep), 0);
    assert_int_equal(rep.files, 1);
    assert_int_equal(rep.bad_chunks, 1);
    assert_int_equal(rep.chunks, 3);
    assert_int_equal(rep.bytes, 3 * CS);
    assert_false(cache_has_chunk(c, &a.id, 3));
    assert_int_equal(ev.incomplete, 2);
    assert_int_equal(tf_write(c, &a, 3), 0);
    cache_free(c);

    /* Reopened, the index agrees: the dropped-and-rewritten chunks are
     * there and good. */
    struct cache_config cfg = {.dir = dir, .cap_bytes = 100 << 20, .verify_every_read = true};
    assert_int_equal(cache_open(&cfg, &c), 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(tf_check(c, &a, i), 0);
    /* With verify_every_read even a chunk read before is checked again. */
    flip_byte(path, 0 * CS + 1);
    assert_int_equal(cache_read_chunk(c, &a.id, 0, CACHE_FOR_PEER, buf, sizeof(buf), &len),
                     CACHE_ECORRUPT);
    /* A data file that vanished: its chunks are corrupt, not returned. */
    assert_int_equal(unlink(path), 0);
    cache_free(c);
    c = open_cache(dir, 100 << 20, NULL);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(tf_check(c, &a, i), CACHE_ENOTFOUND);
    cache_free(c);
    free(path);
    testutil_file_free(&a);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- kill -9 in the middle of writes ---- */

enum { KILL_FILES = 6, KILL_CHUNKS = 48 };

static void kill_child(const char *dir, struct testutil_file *f, int go_fd)
{
    struct cache_config cfg = {.dir = dir, .cap_bytes = 1ull << 30};
    struct cache *c;
    if (cache_open(&cfg, &c) != 0)
        _exit(3);
    unsigned written = 0;
    for (int k = 0; k < KILL_FILES; k++) {
        if (cache_put_manifest(c, &f[k].id, f[k].enc, f[k].enc_len) != 0)
            _exit(4);
        for (uint32_t i = 0; i < f[k].m->chunk_count; i++) {
            if (tf_write(c, &f[k], i) != 0)
                _exit(5);
            if (++written == 8 && write(go_fd, "g", 1) != 1)
                _exit(6);
        }
    }
    if (written < 8 && write(go_fd, "g", 1) != 1)
        _exit(6);
    cache_free(c);
    _exit(0);
}

static void test_kill9_during_writes(void **state)
{
    char *dir = testutil_tempdir("cache_kill");
    struct testutil_file f[KILL_FILES];
    for (int k = 0; k < KILL_FILES; k++)
        tf_make(&f[k], KILL_CHUNKS * CS - 999, 40 + (uint32_t)k);
    uint32_t x = (uint32_t)getpid();
    unsigned killed = 0, seen = 0;
    for (int round = 0; round < 4; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            kill_child(dir, f, pfd[1]);
        }
        close(pfd[1]);
        char g;
        assert_int_equal(read(pfd[0], &g, 1), 1); /* the burst is under way */
        close(pfd[0]);
        usleep(2000 + rnd(&x) % 15000);
        int status;
        if (kill(pid, SIGKILL) == 0)
            killed++;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        killed -= WIFEXITED(status); /* finished before the signal landed */

        /* Reopen: whatever the index claims reads back exactly; the rest
         * is missing, never wrong; verify finds nothing bad. */
        struct cache *c = open_cache(dir, 1ull << 30, NULL);
        unsigned present = 0;
        for (int k = 0; k < KILL_FILES; k++)
            for (uint32_t i = 0; i < f[k].m->chunk_count; i++) {
                int err = tf_check(c, &f[k], i);
                if (cache_has_chunk(c, &f[k].id, i) || err != CACHE_ENOTFOUND) {
                    assert_int_equal(err, 0);
                    present++;
                }
            }
        struct cache_verify_report rep;
        assert_int_equal(cache_verify(c, &rep), 0);
        assert_int_equal(rep.bad_chunks, 0);
        assert_int_equal(rep.chunks, present);
        struct cache_stats st;
        cache_stats(c, &st);
        uint64_t bytes = 0;
        for (int k = 0; k < KILL_FILES; k++) {
            struct cache_file_info info;
            if (cache_file_info(c, &f[k].id, &info) == 0)
                bytes += info.bytes_present;
        }
        assert_int_equal(st.used_bytes, bytes);
        assert_true(present >= seen); /* nothing committed was lost */
        seen = present;
        cache_free(c);
    }
    assert_true(seen >= 8);
    print_message("kill -9: %u of 4 children killed mid-burst; %u chunks indexed at the end\n",
                  killed, seen);
    for (int k = 0; k < KILL_FILES; k++)
        testutil_file_free(&f[k]);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- what a crash leaves, repaired at open ---- */

static void test_repair_at_open(void **state)
{
    char *dir = testutil_tempdir("cache_repair");
    struct testutil_file a, b, orphan;
    tf_make(&a, 4 * CS, 50);
    tf_make(&b, 2 * CS, 51);
    tf_make(&orphan, CS, 52);
    struct cache *c = open_cache(dir, 100 << 20, NULL);
    tf_store(c, &a);
    tf_store(c, &b);
    cache_free(c);

    char *pa = data_path(dir, &a.id), *pb = data_path(dir, &b.id);
    char *po = data_path(dir, &orphan.id);
    assert_int_equal(truncate(pa, CS + CS / 2), 0); /* chunk 1 torn, 2-3 gone */
    assert_int_equal(unlink(pb), 0);                /* an eviction cut short */
    char *sub = xstrndup(po, strlen(po) - CONTENT_ID_HEX_LEN - 1);
    mkdir(sub, 0700);
    testutil_write_file(po, orphan.data, orphan.len); /* data nobody indexes */

    c = open_cache(dir, 100 << 20, NULL);
    assert_int_equal(index_complete(dir, &a.id), 0); /* recomputed from the rows */
    assert_true(cache_has_chunk(c, &a.id, 0));
    for (uint32_t i = 1; i < 4; i++)
        assert_false(cache_has_chunk(c, &a.id, i));
    assert_int_equal(tf_check(c, &a, 0), 0);
    struct cache_file_info info;
    assert_int_equal(cache_file_info(c, &b.id, &info), 0); /* manifest kept */
    assert_int_equal(info.chunks_present, 0);
    struct stat st;
    assert_int_equal(stat(po, &st), -1);
    struct cache_stats s;
    cache_stats(c, &s);
    assert_int_equal(s.used_bytes, a.enc_len + CS + b.enc_len);
    /* The missing chunks can be stored again. */
    for (uint32_t i = 1; i < 4; i++)
        assert_int_equal(tf_write(c, &a, i), 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(tf_check(c, &a, i), 0);
    cache_free(c);

    /* An index SQLite cannot read is set aside; the cache starts empty and
     * the data files nobody indexes any more go. */
    char *db = xasprintf("%s/index.sqlite", dir), *aside = xasprintf("%s.corrupt", db);
    uint8_t junk[8192];
    memset(junk, 0xa5, sizeof(junk));
    testutil_write_file(db, junk, sizeof(junk));
    c = open_cache(dir, 100 << 20, NULL);
    cache_stats(c, &s);
    assert_int_equal(s.files, 0);
    assert_int_equal(s.used_bytes, 0);
    assert_int_equal(disk_usage(dir), 0);
    assert_int_equal(stat(aside, &st), 0);
    tf_store(c, &a); /* and works */
    assert_int_equal(tf_check(c, &a, 3), 0);
    cache_free(c);
    free(db);
    free(aside);
    free(pa);
    free(pb);
    free(po);
    free(sub);
    testutil_file_free(&a);
    testutil_file_free(&b);
    testutil_file_free(&orphan);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- a full disk ---- */

static bool file_contains(const char *path, const char *needle)
{
    size_t len;
    char *text = testutil_read_file(path, &len);
    text = xrealloc(text, len + 1);
    text[len] = '\0';
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* The small file system (testutil_small_fs): 2 MiB, a tmpfs when the test
 * may mount one, else (and always in the second case) the simulated one.
 * Teardown unmounts it even when the test failed. */
static int small_fs_setup(void **state)
{
    *state = testutil_small_fs_new("cache_enospc", 2 << 20, false);
    return 0;
}

static int simulated_fs_setup(void **state)
{
    *state = testutil_small_fs_new("cache_enospc_sim", 2 << 20, true);
    return 0;
}

static int small_fs_teardown(void **state)
{
    testutil_small_fs_free(*state);
    return 0;
}

static void test_enospc_small_filesystem(void **state)
{
    struct testutil_small_fs *fs = *state;
    const char *dir = fs->dir, *mnt = fs->mnt;
    char *cdir = xasprintf("%s/cache", mnt);
    char *logpath = xasprintf("%s/cache.log", dir);
    struct clog *log = clog_new(logpath, CLOG_INFO, NULL);
    assert_non_null(log);
    struct evlog ev;
    evlog_init(&ev);
    /* A cap far above the file system: the disk fills first. */
    struct cache_config cfg = {
        .dir = cdir, .cap_bytes = 1ull << 30, .log = log, .on_event = on_event, .event_ctx = &ev};
    struct cache *c;
    assert_int_equal(cache_open(&cfg, &c), 0);
    enum { N = 24 };
    struct testutil_file f[N + 1];
    for (int k = 0; k <= N; k++)
        tf_make(&f[k], (k == N ? 40 : 8) * CS, 60 + (uint32_t)k);
    for (int k = 0; k < N; k++) {
        int err = cache_put_manifest(c, &f[k].id, f[k].enc, f[k].enc_len);
        assert_true(err == 0 || err == -ENOSPC);
        for (uint32_t i = 0; !err && i < f[k].m->chunk_count; i++) {
            int werr = tf_write(c, &f[k], i);
            assert_true(werr == 0 || werr == -ENOSPC);
        }
    }
    struct cache_stats st;
    cache_stats(c, &st);
    assert_true(st.enospc > 0);
    assert_true(st.evicted_files > 0);
    assert_int_equal((int)st.evicted_files, ev.evicted);
    print_message("enospc: 2 MiB %s, %d files of 128 kB: %llu full-disk events, %llu files "
                  "evicted, %llu kB kept\n",
                  fs->mounted ? "tmpfs" : "simulated disk", N, (unsigned long long)st.enospc,
                  (unsigned long long)st.evicted_files, (unsigned long long)st.used_bytes / 1000);
    /* What is present reads back. */
    for (int k = 0; k < N; k++)
        for (uint32_t i = 0; i < f[k].m->chunk_count; i++)
            if (cache_has_chunk(c, &f[k].id, i))
                assert_int_equal(tf_check(c, &f[k], i), 0);

    /* Everything pinned: a big new file meets the full disk with nothing
     * to evict, and fails cleanly. */
    for (int k = 0; k < N; k++)
        cache_pin(c, &f[k].id);
    int err = cache_put_manifest(c, &f[N].id, f[N].enc, f[N].enc_len);
    bool refused = err == -ENOSPC;
    for (uint32_t i = 0; !err && i < f[N].m->chunk_count && !refused; i++) {
        int werr = tf_write(c, &f[N], i);
        assert_true(werr == 0 || werr == -ENOSPC);
        refused = werr == -ENOSPC;
    }
    assert_true(refused);
    /* The index is intact: the same chunks after a reopen, all good. */
    uint8_t *maps[N + 1];
    uint32_t counts[N + 1];
    for (int k = 0; k <= N; k++)
        if (cache_chunk_map(c, &f[k].id, &maps[k], &counts[k]) != 0)
            maps[k] = NULL;
    cache_free(c);
    assert_int_equal(cache_open(&cfg, &c), 0);
    for (int k = 0; k <= N; k++) {
        uint8_t *bits;
        uint32_t count;
        if (!maps[k]) {
            assert_int_equal(cache_chunk_map(c, &f[k].id, &bits, &count), CACHE_ENOTFOUND);
            continue;
        }
        assert_int_equal(cache_chunk_map(c, &f[k].id, &bits, &count), 0);
        assert_int_equal(count, counts[k]);
        assert_memory_equal(bits, maps[k], (count + 7) / 8);
        free(bits);
        free(maps[k]);
    }
    struct cache_verify_report rep;
    assert_int_equal(cache_verify(c, &rep), 0);
    assert_int_equal(rep.bad_chunks, 0);
    cache_free(c);
    clog_free(log);
    assert_true(file_contains(logpath, "disk full"));
    for (int k = 0; k <= N; k++)
        testutil_file_free(&f[k]);
    free(cdir);
    free(logpath);
}

/* ---- readers, writers and waiters on several threads ---- */

enum { CONC_FILES = 14, CONC_WAIT_A = CONC_FILES, CONC_WAIT_B = CONC_FILES + 1 };

struct conc {
    struct cache *c;
    struct testutil_file *f;
    _Atomic bool stop;
    _Atomic unsigned reads_ok, mismatches, bad_errors, writer_errors;
};

static void *reader_main(void *p)
{
    struct conc *s = p;
    uint32_t x = (uint32_t)(uintptr_t)&x | 1;
    uint8_t buf[CS];
    while (!s->stop) {
        struct testutil_file *t = &s->f[rnd(&x) % CONC_FILES];
        uint32_t i = rnd(&x) % t->m->chunk_count;
        bool pin = rnd(&x) % 8 == 0;
        if (pin)
            cache_pin(s->c, &t->id);
        size_t len = 0, want;
        const uint8_t *orig = tf_chunk(t, i, &want);
        enum cache_purpose why = rnd(&x) % 2 ? CACHE_FOR_PLAY : CACHE_FOR_PEER;
        int err = cache_read_chunk(s->c, &t->id, i, why, buf, sizeof(buf), &len);
        if (err == 0 && (len != want || memcmp(buf, orig, len) != 0))
            s->mismatches++;
        else if (err == 0)
            s->reads_ok++;
        else if (err != CACHE_ENOTFOUND)
            s->bad_errors++;
        if (pin)
            cache_unpin(s->c, &t->id);
        if (rnd(&x) % 64 == 0) {
            struct cache_stats st;
            cache_stats(s->c, &st);
            struct content_id *ids;
            free(ids = NULL), cache_list_complete(s->c, &ids);
            free(ids);
            if (st.used_bytes > st.cap_bytes)
                s->bad_errors++;
        }
    }
    return NULL;
}

static void *writer_main(void *p)
{
    struct conc *s = p;
    uint32_t x = 777;
    for (int round = 0; round < 50; round++) {
        struct testutil_file *t = &s->f[rnd(&x) % CONC_FILES];
        int err = cache_put_manifest(s->c, &t->id, t->enc, t->enc_len);
        for (uint32_t i = 0; !err && i < t->m->chunk_count; i++)
            err = tf_write(s->c, t, i);
        if (err && err != CACHE_EFULL) /* EFULL: readers' pins may hold all */
            s->writer_errors++;
        if (rnd(&x) % 2)
            cache_note_play(s->c, &s->f[rnd(&x) % CONC_FILES].id);
    }
    return NULL;
}

struct waiter {
    struct cache *c;
    struct testutil_file *t;
    int timeout_ms;
    int result;
    bool data_ok;
    _Atomic bool done;
};

static void *waiter_main(void *p)
{
    struct waiter *w = p;
    uint8_t buf[CS];
    size_t len = 0, want;
    const uint8_t *orig = tf_chunk(w->t, 3, &want);
    w->result =
        cache_read_wait(w->c, &w->t->id, 3, CACHE_FOR_PLAY, buf, sizeof(buf), &len, w->timeout_ms);
    w->data_ok = w->result == 0 && len == want && memcmp(buf, orig, len) == 0;
    w->done = true;
    return NULL;
}

static void test_concurrent_reads_writes_waits(void **state)
{
    char *dir = testutil_tempdir("cache_conc");
    struct testutil_file f[CONC_FILES + 2];
    for (int k = 0; k < CONC_FILES + 2; k++)
        tf_make(&f[k], 6 * CS - 100 * (size_t)k, 70 + (uint32_t)k);
    struct cache *c = open_cache(dir, 5 * footprint(&f[0]), NULL);
    struct conc s = {.c = c, .f = f};

    /* Nothing there and nobody writing it: the wait times out. */
    uint8_t buf[CS];
    size_t len;
    assert_int_equal(cache_read_wait(c, &f[0].id, 0, CACHE_FOR_PLAY, buf, sizeof(buf), &len, 30),
                     CACHE_ETIMEDOUT);

    struct waiter wa = {.c = c, .t = &f[CONC_WAIT_A], .timeout_ms = 20000};
    struct waiter wb = {.c = c, .t = &f[CONC_WAIT_B], .timeout_ms = -1};
    pthread_t readers[3], writer, ta, tb;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, reader_main, &s), 0);
    assert_int_equal(pthread_create(&ta, NULL, waiter_main, &wa), 0);
    assert_int_equal(pthread_create(&tb, NULL, waiter_main, &wb), 0);
    assert_int_equal(pthread_create(&writer, NULL, writer_main, &s), 0);
    pthread_join(writer, NULL);

    /* The chunk a waiter is blocked on arrives: it wakes with the data. */
    cache_pin(c, &f[CONC_WAIT_A].id);
    tf_store(c, &f[CONC_WAIT_A]);
    /* The other one is cancelled (a seek): keep cancelling until it has
     * registered and returned. */
    while (!wb.done) {
        cache_cancel_waits(c, &f[CONC_WAIT_B].id);
        usleep(1000);
    }
    s.stop = true;
    for (int i = 0; i < 3; i++)
        pthread_join(readers[i], NULL);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(wa.result, 0);
    assert_true(wa.data_ok);
    assert_int_equal(wb.result, CACHE_ECANCELED);
    assert_int_equal(s.mismatches, 0);
    assert_int_equal(s.bad_errors, 0);
    assert_int_equal(s.writer_errors, 0);
    assert_true(s.reads_ok > 0);
    print_message("concurrent: %u good reads, 0 bad\n", s.reads_ok);

    struct cache_stats st;
    cache_stats(c, &st);
    assert_true(st.used_bytes <= st.cap_bytes);
    assert_true(st.evicted_files > 0);
    struct cache_verify_report rep;
    assert_int_equal(cache_verify(c, &rep), 0);
    assert_int_equal(rep.bad_chunks, 0);
    cache_free(c);
    for (int k = 0; k < CONC_FILES + 2; k++)
        testutil_file_free(&f[k]);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- the async API on a loop ---- */

struct actx {
    struct cache *c;
    struct testutil_file *f;
    int nf;
    pthread_t loop_thread;
    int total, writes_ok, writes_done, reads_ok, reads_done, manifests_ok, done_ok;
    bool wrong_thread;
};

struct aread {
    struct actx *a;
    int k;
    uint32_t i;
};

static void check_thread(struct actx *a)
{
    if (!pthread_equal(pthread_self(), a->loop_thread))
        a->wrong_thread = true;
}

static void on_read(void *ctx, int status, const uint8_t *data, size_t len)
{
    struct aread *r = ctx;
    struct actx *a = r->a;
    check_thread(a);
    size_t want;
    const uint8_t *orig = tf_chunk(&a->f[r->k], r->i, &want);
    if (status == 0 && len == want && memcmp(data, orig, len) == 0)
        a->reads_ok++;
    a->reads_done++;
    free(r);
}

static void on_manifest(void *ctx, int status)
{
    struct actx *a = ctx;
    check_thread(a);
    a->manifests_ok += status == 0;
}

static void on_write(void *ctx, int status)
{
    struct actx *a = ctx;
    check_thread(a);
    a->writes_ok += status == 0;
    if (++a->writes_done < a->total)
        return;
    /* All stored: read everything back, in parallel. */
    for (int k = 0; k < a->nf; k++)
        for (uint32_t i = 0; i < a->f[k].m->chunk_count; i++) {
            struct aread *r = xmalloc(sizeof(*r));
            *r = (struct aread){a, k, i};
            assert_int_equal(cache_read_async(a->c, &a->f[k].id, i, CACHE_FOR_PEER, on_read, r), 0);
        }
}

static void on_done(void *ctx, int status)
{
    struct actx *a = ctx;
    check_thread(a);
    a->done_ok += status == 0;
}

static void test_async_on_loop(void **state)
{
    char *dir = testutil_tempdir("cache_async");
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct evlog ev;
    evlog_init(&ev);
    struct testutil_file f[3];
    for (int k = 0; k < 3; k++)
        tf_make(&f[k], 9 * CS - 10 * (size_t)k, 80 + (uint32_t)k);
    struct cache_config cfg = {
        .dir = dir, .cap_bytes = 100 << 20, .loop = &loop, .on_event = on_event, .event_ctx = &ev};
    struct cache *c;
    assert_int_equal(cache_open(&cfg, &c), 0);
    struct actx a = {.c = c, .f = f, .nf = 3, .loop_thread = pthread_self(), .total = 28};
    /* Manifest and chunks queued back to back: the serial queue keeps
     * their order, so no write sees a missing manifest. */
    for (int k = 0; k < 3; k++) {
        assert_int_equal(
            cache_put_manifest_async(c, &f[k].id, f[k].enc, f[k].enc_len, on_manifest, &a), 0);
        for (uint32_t i = 0; i < 9; i++) {
            size_t len;
            const uint8_t *p = tf_chunk(&f[k], i, &len);
            assert_int_equal(
                cache_write_async(c, &f[k].id, i, p, len, CACHE_SRC_SERVICE, on_write, &a), 0);
        }
    }
    /* The same chunk twice in one batch (two peers sent it): stored once,
     * both succeed. */
    size_t dlen;
    const uint8_t *dp = tf_chunk(&f[2], 8, &dlen);
    assert_int_equal(cache_write_async(c, &f[2].id, 8, dp, dlen, CACHE_SRC_SERVICE, on_write, &a),
                     0);
    assert_int_equal(a.writes_done, 0); /* never called back from inside the call */
    assert_int_equal(cache_pending(c), 31);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(cache_pending(c), 0);
    assert_int_equal(a.manifests_ok, 3);
    assert_int_equal(a.writes_ok, 28);
    assert_int_equal(a.reads_ok, 27);
    assert_int_equal(ev.complete, 3);
    assert_true(pthread_equal(ev.thread, a.loop_thread));
    assert_false(a.wrong_thread);
    struct cache_stats st;
    cache_stats(c, &st);
    assert_int_equal(st.bytes[CACHE_SRC_SERVICE], f[0].len + f[1].len + f[2].len);
    assert_int_equal(st.served_bytes, st.bytes[CACHE_SRC_SERVICE]);

    /* A cap change evicts; the events come on the loop. */
    assert_int_equal(cache_set_cap_async(c, 1, on_done, &a), 0);
    assert_int_equal(cache_flush_async(c, on_done, &a), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(a.done_ok, 2);
    assert_int_equal(ev.evicted, 3);
    assert_true(pthread_equal(ev.thread, a.loop_thread));

    cache_free(c);
    uv_run(&loop, UV_RUN_DEFAULT); /* releases the wake-up handle */
    assert_int_equal(uv_loop_close(&loop), 0);

    /* Without a loop the async calls are refused. */
    struct cache_config plain = {.dir = dir};
    assert_int_equal(cache_open(&plain, &c), 0);
    assert_int_equal(cache_flush_async(c, on_done, &a), CACHE_EINVAL);
    cache_free(c);
    for (int k = 0; k < 3; k++)
        testutil_file_free(&f[k]);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- figures ---- */

static void test_stats_persist(void **state)
{
    char *dir = testutil_tempdir("cache_stats");
    struct testutil_file a, b;
    tf_make(&a, 4 * CS, 90);
    tf_make(&b, 4 * CS, 91);
    struct cache *c = open_cache(dir, 100 << 20, NULL);
    tf_store(c, &a);
    assert_int_equal(cache_put_manifest(c, &b.id, b.enc, b.enc_len), 0);
    assert_int_equal(tf_write(c, &b, 0), 0);
    size_t len;
    const uint8_t *p = tf_chunk(&b, 1, &len);
    assert_int_equal(cache_write_chunk(c, &b.id, 1, p, len, CACHE_SRC_SERVICE), 0);

    assert_true(cache_note_play(c, &a.id));
    assert_false(cache_note_play(c, &b.id));
    assert_false(cache_note_play(c, &(struct content_id){{7}}));
    uint8_t buf[CS];
    assert_int_equal(cache_read_chunk(c, &a.id, 0, CACHE_FOR_PLAY, buf, sizeof(buf), &len), 0);
    assert_int_equal(cache_read_chunk(c, &b.id, 3, CACHE_FOR_PLAY, buf, sizeof(buf), &len),
                     CACHE_ENOTFOUND);
    assert_int_equal(cache_read_chunk(c, &a.id, 1, CACHE_FOR_PEER, buf, sizeof(buf), &len), 0);
    assert_int_equal(cache_read_chunk(c, &a.id, 2, CACHE_FOR_CHECK, buf, sizeof(buf), &len), 0);

    struct cache_stats s1, s2;
    cache_stats(c, &s1);
    assert_int_equal(s1.play_hits, 1);
    assert_int_equal(s1.play_misses, 2);
    assert_int_equal(s1.hit_bytes, CS);
    assert_int_equal(s1.miss_bytes, CS);
    assert_int_equal(s1.bytes[CACHE_SRC_CACHE], CS);
    assert_int_equal(s1.bytes[CACHE_SRC_PEER], 5 * CS);
    assert_int_equal(s1.bytes[CACHE_SRC_SERVICE], CS);
    assert_int_equal(s1.served_bytes, CS);
    assert_int_equal(s1.files, 2);
    assert_int_equal(s1.complete_files, 1);
    cache_free(c);

    c = open_cache(dir, 100 << 20, NULL);
    cache_stats(c, &s2);
    assert_int_equal(s2.play_hits, s1.play_hits);
    assert_int_equal(s2.play_misses, s1.play_misses);
    assert_int_equal(s2.hit_bytes, s1.hit_bytes);
    assert_int_equal(s2.miss_bytes, s1.miss_bytes);
    assert_memory_equal(s2.bytes, s1.bytes, sizeof(s1.bytes));
    assert_int_equal(s2.served_bytes, s1.served_bytes);
    assert_int_equal(s2.used_bytes, s1.used_bytes);
    cache_free(c);
    testutil_file_free(&a);
    testutil_file_free(&b);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- the chorus cache command ---- */

/* Runs `chorus -c home/empty.conf cache --cache-dir dir [more] action`
 * with HOME in home (its log goes there, no user configuration is read);
 * its stdout
 * and stderr go to *out (owned by the caller). Returns the exit status. */
static int run_cache_cmd(const char *prog, const char *home, const char *dir, const char *more,
                         const char *action, char **out)
{
    char *path = xasprintf("%s/cmd.out", home), *conf = xasprintf("%s/empty.conf", home);
    testutil_write_file(conf, "", 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(99);
        setenv("HOME", home, 1);
        unsetenv("XDG_CONFIG_HOME");
        unsetenv("XDG_CACHE_HOME");
        unsetenv("XDG_STATE_HOME");
        unsetenv("XDG_DATA_HOME");
        if (more)
            execl(prog, prog, "-c", conf, "cache", "--cache-dir", dir, more, action, (char *)NULL);
        else
            execl(prog, prog, "-c", conf, "cache", "--cache-dir", dir, action, (char *)NULL);
        _exit(98);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    size_t len;
    *out = testutil_read_file(path, &len);
    *out = xrealloc(*out, len + 1);
    (*out)[len] = '\0';
    free(path);
    free(conf);
    return WEXITSTATUS(status);
}

static void expect_cmd(const char *prog, const char *home, const char *dir, const char *more,
                       const char *action, int status, const char *want)
{
    char *out;
    int got = run_cache_cmd(prog, home, dir, more, action, &out);
    if (got != status || !strstr(out, want))
        fail_msg("chorus cache %s: status %d, output:\n%s\nwant status %d and '%s'", action, got,
                 out, status, want);
    free(out);
}

/* chorus cache on a cache this test fills: info (usage, cap, files, hit
 * rate), list, verify finding a chunk damaged on disk, a lower --size
 * evicting, clear; refusals: an unknown action, a cache in use. */
static void test_cache_command(void **state)
{
    char *prog = testutil_program("chorus");
    char *home = testutil_tempdir("cache-cmd");
    char *dir = xasprintf("%s/cache", home);
    struct testutil_file a, b;
    tf_make(&a, 3 * CS + 100, 71);
    tf_make(&b, 2 * CS, 72);
    struct cache *c = open_cache(dir, 1 << 20, NULL);
    tf_store(c, &a);
    tf_store(c, &b);
    assert_true(cache_note_play(c, &a.id));
    cache_free(c);

    expect_cmd(prog, home, dir, NULL, "info", 0, "Files:      2 (2 complete)");
    expect_cmd(prog, home, dir, NULL, "info", 0, "Hit rate:   100.0% of playbacks (1 of 1)");
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(&b.id, hex);
    expect_cmd(prog, home, dir, NULL, "list", 0, hex);

    char *path = data_path(dir, &a.id);
    flip_byte(path, CS + 7);
    free(path);
    expect_cmd(prog, home, dir, NULL, "verify", 0, "Checked 6 chunks");
    expect_cmd(prog, home, dir, NULL, "verify", 0, "0 bad"); /* dropped the first time */
    expect_cmd(prog, home, dir, NULL, "info", 0, "corrupt chunks dropped: 1");

    /* a cap that holds one file: the least recently played one goes (b:
     * a was played after both were stored) */
    char size[32];
    snprintf(size, sizeof(size), "--size=%llu", (unsigned long long)(footprint(&a) + 100));
    expect_cmd(prog, home, dir, size, "info", 0, "Files:      1 (0 complete)");
    expect_cmd(prog, home, dir, NULL, "clear", 0, "Removed 1 files");
    expect_cmd(prog, home, dir, NULL, "info", 0, "Files:      0 (0 complete)");

    expect_cmd(prog, home, dir, NULL, "defrag", 2, "unknown action 'defrag'");
    c = open_cache(dir, 1 << 20, NULL);
    expect_cmd(prog, home, dir, NULL, "info", 1, "is chorus running?");
    cache_free(c);

    testutil_file_free(&a);
    testutil_file_free(&b);
    free(prog);
    free(dir);
    testutil_rmtree(home);
    free(home);
}

/* Descriptors of this process open on files under dir/chunks (the data
 * files), read from /proc/self/fd. */
static unsigned open_data_files(const char *dir)
{
    char *real = realpath(dir, NULL);
    assert_non_null(real);
    char *prefix = xasprintf("%s/chunks/", real);
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char link[300], target[4096];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strncmp(target, prefix, strlen(prefix)) == 0)
            n++;
    }
    closedir(d);
    free(prefix);
    free(real);
    return n;
}

/* [cache] max_open_files: with a cap of 4, ten files written and read in
 * turn never have more than 4 data files open (the cap is reached: the
 * least recently used are what goes), and every chunk reads back. */
static void test_max_open_files(void **state)
{
    (void)state;
    enum { FILES = 10, CAP = 4 };
    char *dir = testutil_tempdir("cache_fds");
    struct testutil_file f[FILES];
    for (int i = 0; i < FILES; i++)
        tf_make(&f[i], 3 * CS, 40 + (uint32_t)i);
    struct cache_config cfg = {.dir = dir, .cap_bytes = 64 << 20, .max_open_files = CAP};
    struct cache *c = NULL;
    assert_int_equal(cache_open(&cfg, &c), 0);
    unsigned most = 0;
    for (int i = 0; i < FILES; i++) {
        tf_store(c, &f[i]);
        unsigned n = open_data_files(dir);
        assert_true(n <= CAP);
        most = n > most ? n : most;
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < FILES; i++) {
            const struct testutil_file *t = &f[round ? FILES - 1 - i : i];
            for (uint32_t k = 0; k < t->m->chunk_count; k++)
                assert_int_equal(tf_check(c, t, k), 0);
            unsigned n = open_data_files(dir);
            assert_true(n <= CAP);
            most = n > most ? n : most;
        }
    }
    assert_int_equal(most, CAP);
    cache_free(c);
    assert_int_equal(open_data_files(dir), 0);
    for (int i = 0; i < FILES; i++)
        testutil_file_free(&f[i]);
    testutil_rmtree(dir);
    free(dir);
}

static void test_sizes(void **state)
{
    uint64_t v;
    char buf[32];
    assert_string_equal(cache_format_size(1023, buf, sizeof(buf)), "1023 B");
    assert_string_equal(cache_format_size(1536ull << 20, buf, sizeof(buf)), "1.5 GiB");
    /* 10 GB, as DESIGN.md §6 says: decimal, not 10 GiB. */
    assert_string_equal(cache_format_size(CACHE_DEFAULT_CAP_MAX, buf, sizeof(buf)), "9.3 GiB");
    assert_string_equal(cache_format_size((1ull << 20) - 1, buf, sizeof(buf)), "1.0 MiB");
    assert_int_equal(cache_default_cap("/", 0, &v), 0);
    assert_true(v > 0 && v <= CACHE_DEFAULT_CAP_MAX);
    assert_int_equal(cache_default_cap("/nonexistent/dir", 0, &v), -ENOENT);
    assert_string_equal(cache_strerror(CACHE_EFULL), "cache full: every other file is pinned");
    assert_string_equal(cache_strerror(MANIFEST_EID), manifest_strerror(MANIFEST_EID));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_refusals),
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_pinning),
        cmocka_unit_test(test_cap_under_churn),
        cmocka_unit_test(test_corrupt_chunk_detected_on_read),
        cmocka_unit_test(test_kill9_during_writes),
        cmocka_unit_test(test_repair_at_open),
        cmocka_unit_test_setup_teardown(test_enospc_small_filesystem, small_fs_setup,
                                        small_fs_teardown),
        /* The same on the simulated disk, which is what runs where no
         * tmpfs can be mounted: it must keep working. */
        {"test_enospc_small_filesystem (simulated disk)", test_enospc_small_filesystem,
         simulated_fs_setup, small_fs_teardown, NULL},
        cmocka_unit_test(test_concurrent_reads_writes_waits),
        cmocka_unit_test(test_async_on_loop),
        cmocka_unit_test(test_stats_persist),
        cmocka_unit_test(test_cache_command),
        cmocka_unit_test(test_max_open_files),
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
