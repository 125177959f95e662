/* Tests of the swarm benchmark's catalog (app/bench_catalog.c, compiled
 * into this program): real catalogs made in a temporary root, with short
 * encodes (the CHORUS_BENCH_CATALOG_SECONDS knob) so that a make takes a
 * second or two. What the benchmark relies on: N tracks on albums in
 * order, every track its own file (distinct ids, bytes and manifests even
 * when two share an encode), the same N giving the same catalog, a second
 * run reusing it, a half-made or differently made one made again, and the
 * encodes kept for every N. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "audio/import.h"
#include "bench_catalog.h"
#include "base/xmalloc.h"
#include "library/catalog.h"
#include "library/store.h"

#define KNOB       "CHORUS_BENCH_CATALOG_SECONDS"
#define SHORT      "2-3.5" /* the encodes: 2, 2.5, 3 and 3.5 s */
#define MARKER     ".bench-catalog"
#define MAX_TRACKS 128

/* What the catalog database says about each track of c, in c's order. */
struct seen {
    size_t n;
    struct content_id file_id[MAX_TRACKS];
    char *names[MAX_TRACKS]; /* "artist/album/number title" */
};

static void look(const struct bench_catalog *c, struct seen *s)
{
    assert_true(c->ntracks <= MAX_TRACKS);
    char *path = import_catalog_path(c->dir);
    struct catalog *cat = NULL;
    assert_int_equal(catalog_open(path, &cat), 0);
    free(path);
    s->n = c->ntracks;
    for (size_t i = 0; i < c->ntracks; i++) {
        struct catalog_track t;
        assert_int_equal(catalog_get_track(cat, c->tracks[i].id, &t), 0);
        assert_int_equal(t.track_number, c->tracks[i].number);
        assert_string_equal(t.artist, t.album_artist);
        assert_non_null(t.date);
        s->file_id[i] = t.file_id;
        s->names[i] = xasprintf("%s/%s/%d %s", t.artist, t.album, t.track_number, t.title);
        catalog_track_clear(&t);
    }
    struct catalog_counts counts;
    assert_int_equal(catalog_counts(cat, &counts), 0);
    assert_int_equal(counts.tracks, c->ntracks);
    assert_int_equal(counts.albums, c->nalbums); /* no two planned albums merged */
    catalog_free(cat);
}

static void seen_clear(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    s->n = 0;
}

/* Albums in order, numbered 1..count, of BENCH_ALBUM_MIN..MAX tracks when
 * there are enough; totals add up; ids all distinct. */
static void check_shape(const struct bench_catalog *c, unsigned ntracks, double min_s, double max_s)
{
    assert_int_equal(c->ntracks, ntracks);
    size_t next = 0;
    double seconds = 0;
    uint64_t bytes = 0;
    for (size_t a = 0; a < c->nalbums; a++) {
        const struct bench_album *al = &c->albums[a];
        assert_int_equal(al->first, next);
        if (ntracks >= BENCH_ALBUM_MIN)
            assert_true(al->count >= BENCH_ALBUM_MIN);
        assert_true(al->count >= 1 && al->count <= BENCH_ALBUM_MAX);
        for (size_t k = 0; k < al->count; k++) {
            const struct bench_track *t = &c->tracks[al->first + k];
            assert_int_equal(t->album, a);
            assert_int_equal(t->number, k + 1);
            assert_true(t->seconds >= min_s - 0.001 && t->seconds <= max_s + 0.001);
            assert_true(t->bytes > 1000);
            seconds += t->seconds;
            bytes += t->bytes;
        }
        next += al->count;
    }
    assert_int_equal(next, ntracks);
    assert_true(c->seconds > seconds - 0.001 && c->seconds < seconds + 0.001);
    assert_int_equal(c->bytes, bytes);
    for (size_t i = 0; i < c->ntracks; i++)
        for (size_t j = 0; j < i; j++)
            assert_true(c->tracks[i].id != c->tracks[j].id);
}

static void check_distinct_files(const struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < i; j++)
            assert_memory_not_equal(&s->file_id[i], &s->file_id[j], sizeof(s->file_id[i]));
}

static void *stored_file(const char *dir, const struct content_id *id, size_t *len)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    char *path = xasprintf("%s/files/%.2s/%s", dir, hex, hex);
    void *data = testutil_read_file(path, len);
    free(path);
    return data;
}

/* Two tracks of the same encode (the same length): different bytes on
 * disk and different manifests, the same Ogg once decrypted. */
static void check_same_encode(const struct bench_catalog *c, const struct seen *s, size_t a,
                              size_t b)
{
    assert_int_equal(c->tracks[a].bytes, c->tracks[b].bytes);
    size_t la, lb;
    uint8_t *fa = stored_file(c->dir, &s->file_id[a], &la);
    uint8_t *fb = stored_file(c->dir, &s->file_id[b], &lb);
    assert_int_equal(la, c->tracks[a].bytes);
    assert_int_equal(la, lb);
    assert_memory_not_equal(fa, fb, la);

    struct store *st = NULL;
    assert_int_equal(store_open(c->dir, &st), 0);
    uint8_t *ma, *mb;
    size_t mla, mlb;
    assert_int_equal(store_read_manifest_raw(st, &s->file_id[a], &ma, &mla), 0);
    assert_int_equal(store_read_manifest_raw(st, &s->file_id[b], &mb, &mlb), 0);
    assert_int_equal(mla, mlb);
    assert_memory_not_equal(ma, mb, mla);
    assert_int_equal(store_read_decrypted(st, &s->file_id[a], 0, fa, la), 0);
    assert_int_equal(store_read_decrypted(st, &s->file_id[b], 0, fb, lb), 0);
    assert_memory_equal(fa, "OggS", 4);
    assert_memory_equal(fa, fb, la);
    store_free(st);
    free(ma);
    free(mb);
    free(fa);
    free(fb);
}

/* Every encode is used, by ntracks / ENCODES tracks (give or take one);
 * checks one pair of each. */
static void check_encodes_shared(const struct bench_catalog *c, const struct seen *s)
{
    size_t lengths = 0;
    for (size_t i = 0; i < c->ntracks; i++) {
        size_t same = 0, first = i;
        for (size_t j = 0; j < c->ntracks; j++) {
            if (c->tracks[j].bytes != c->tracks[i].bytes)
                continue;
            assert_true(c->tracks[j].seconds == c->tracks[i].seconds);
            if (j < first)
                first = j;
            same++;
        }
        if (first != i)
            continue;
        lengths++;
        assert_true(same * BENCH_CATALOG_ENCODES >= c->ntracks - BENCH_CATALOG_ENCODES);
        for (size_t j = i + 1; j < c->ntracks; j++)
            if (c->tracks[j].bytes == c->tracks[i].bytes) {
                check_same_encode(c, s, i, j);
                break;
            }
    }
    assert_int_equal(lengths, BENCH_CATALOG_ENCODES);
}

static char *catalog_dir(const char *root, unsigned n)
{
    return xasprintf("%s/catalog-%u", root, n);
}

static void test_make_reuse_remake(void **state)
{
    (void)state;
    char *root = testutil_tempdir("bench-catalog");
    char *dir = catalog_dir(root, 20);
    struct bench_catalog c;
    assert_int_equal(bench_catalog_prepare(root, 20, &c), 0);
    assert_string_equal(c.dir, dir);
    assert_false(c.reused);
    assert_true(c.make_s > 0);
    check_shape(&c, 20, 2.0, 3.5);
    struct seen first;
    look(&c, &first);
    check_distinct_files(&first);
    check_encodes_shared(&c, &first);

    /* Again: reused, nothing made, the same tracks. */
    struct bench_catalog again;
    assert_int_equal(bench_catalog_prepare(root, 20, &again), 0);
    assert_true(again.reused);
    assert_true(again.make_s == 0);
    assert_int_equal(again.ntracks, c.ntracks);
    assert_int_equal(again.nalbums, c.nalbums);
    for (size_t i = 0; i < c.ntracks; i++)
        assert_true(again.tracks[i].id == c.tracks[i].id);
    bench_catalog_free(&again);

    /* The engine hosts' way in: read alone gives the same. */
    assert_int_equal(bench_catalog_read(dir, &again), 0);
    assert_int_equal(again.ntracks, c.ntracks);
    assert_true(again.bytes == c.bytes);
    bench_catalog_free(&again);

    /* Without its marker (an interrupted make): made anew from nothing —
     * the same catalog, but every file stored under a new key. */
    char *marker = xasprintf("%s/%s", dir, MARKER);
    char *leftover = xasprintf("%s/leftover", dir);
    assert_int_equal(unlink(marker), 0);
    testutil_write_file(leftover, "x", 1);
    assert_int_equal(bench_catalog_prepare(root, 20, &again), 0);
    assert_false(again.reused);
    assert_true(again.make_s > 0);
    assert_int_equal(access(leftover, F_OK), -1);
    assert_int_equal(access(marker, F_OK), 0);
    check_shape(&again, 20, 2.0, 3.5);
    struct seen remade;
    look(&again, &remade);
    for (size_t i = 0; i < c.ntracks; i++) {
        assert_string_equal(remade.names[i], first.names[i]);
        for (size_t j = 0; j < c.ntracks; j++)
            assert_memory_not_equal(&remade.file_id[i], &first.file_id[j],
                                    sizeof(first.file_id[j]));
    }
    seen_clear(&remade);
    seen_clear(&first);
    bench_catalog_free(&again);
    bench_catalog_free(&c);
    free(leftover);
    free(marker);
    free(dir);
    testutil_rmtree(root);
    free(root);
}

/* The directory under root where the encodes are kept (owned). */
static char *find_encodes(const char *root)
{
    DIR *d = opendir(root);
    assert_non_null(d);
    char *found = NULL;
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, "encodes-", 8) == 0) {
            assert_null(found);
            found = xasprintf("%s/%s", root, e->d_name);
        }
    closedir(d);
    assert_non_null(found);
    return found;
}

/* Tracks of c whose stored file decrypts to ogg. */
static size_t tracks_playing(const struct bench_catalog *c, const uint8_t *ogg, size_t len)
{
    struct seen s;
    look(c, &s);
    struct store *st = NULL;
    assert_int_equal(store_open(c->dir, &st), 0);
    size_t n = 0;
    for (size_t i = 0; i < c->ntracks; i++) {
        if (c->tracks[i].bytes != len)
            continue;
        uint8_t *plain = xmalloc(len);
        assert_int_equal(store_read_decrypted(st, &s.file_id[i], 0, plain, len), 0);
        n += memcmp(plain, ogg, len) == 0;
        free(plain);
    }
    store_free(st);
    seen_clear(&s);
    return n;
}

/* The encodes are kept for the catalogs of every N: a catalog of another
 * N uses them as they are; one that is not whole is made again. */
static void test_encodes_kept(void **state)
{
    (void)state;
    char *root = testutil_tempdir("bench-catalog-encodes");
    struct bench_catalog c;
    assert_int_equal(bench_catalog_prepare(root, 5, &c), 0);
    bench_catalog_free(&c);
    char *encodes = find_encodes(root);
    char *e0 = xasprintf("%s/0.ogg", encodes), *e1 = xasprintf("%s/1.ogg", encodes);
    char *e3 = xasprintf("%s/3.ogg", encodes);
    size_t len;
    uint8_t *ogg1 = testutil_read_file(e1, &len);
    testutil_write_file(e0, ogg1, len); /* encode 0 now sounds as encode 1 */
    testutil_write_file(e3, "x", 1);    /* and encode 3 is broken */

    assert_int_equal(bench_catalog_prepare(root, 6, &c), 0);
    assert_false(c.reused);
    /* Tracks 0 and 4 (encode 0), 1 and 5 (encode 1). */
    assert_int_equal(tracks_playing(&c, ogg1, len), 4);
    size_t len3;
    uint8_t *ogg3 = testutil_read_file(e3, &len3);
    assert_true(len3 > 1000);
    assert_memory_equal(ogg3, "OggS", 4);
    assert_int_equal(tracks_playing(&c, ogg3, len3), 1);
    bench_catalog_free(&c);
    free(ogg3);
    free(ogg1);
    free(e3);
    free(e1);
    free(e0);
    free(encodes);
    testutil_rmtree(root);
    free(root);
}

/* Other lengths of encodes (another knob, or the real catalog) are
 * another catalog: not reused. */
static void test_made_another_way(void **state)
{
    (void)state;
    char *root = testutil_tempdir("bench-catalog-other");
    struct bench_catalog c;
    assert_int_equal(setenv(KNOB, "1-1.5", 1), 0);
    assert_int_equal(bench_catalog_prepare(root, 3, &c), 0);
    assert_false(c.reused);
    check_shape(&c, 3, 1.0, 1.5);
    assert_int_equal(c.nalbums, 1); /* fewer than BENCH_ALBUM_MIN: one album */
    bench_catalog_free(&c);
    assert_int_equal(setenv(KNOB, "2-2.5", 1), 0);
    assert_int_equal(bench_catalog_prepare(root, 3, &c), 0);
    assert_false(c.reused);
    check_shape(&c, 3, 2.0, 2.5);
    bench_catalog_free(&c);
    assert_int_equal(setenv(KNOB, SHORT, 1), 0);
    testutil_rmtree(root);
    free(root);
}

/* A catalog a little larger than one album, and one of many albums:
 * every album within BENCH_ALBUM_MIN..MAX, the last one too. */
static void test_album_sizes(void **state)
{
    (void)state;
    char *root = testutil_tempdir("bench-catalog-albums");
    assert_int_equal(setenv(KNOB, "1-1", 1), 0);
    const unsigned sizes[] = {BENCH_ALBUM_MAX + 1, 100};
    for (size_t i = 0; i < 2; i++) {
        struct bench_catalog c;
        assert_int_equal(bench_catalog_prepare(root, sizes[i], &c), 0);
        check_shape(&c, sizes[i], 1.0, 1.0);
        assert_true(c.nalbums >= 2);
        struct seen s;
        look(&c, &s);
        check_distinct_files(&s);
        seen_clear(&s);
        bench_catalog_free(&c);
    }
    assert_int_equal(setenv(KNOB, SHORT, 1), 0);
    testutil_rmtree(root);
    free(root);
}

static void test_refused(void **state)
{
    (void)state;
    char *root = testutil_tempdir("bench-catalog-refused");
    struct bench_catalog c;
    assert_int_equal(bench_catalog_prepare(root, 0, &c), -1);
    assert_int_equal(bench_catalog_prepare(root, 100001, &c), -1);
    assert_int_equal(setenv(KNOB, "5-2", 1), 0);
    assert_int_equal(bench_catalog_prepare(root, 5, &c), -1);
    assert_int_equal(setenv(KNOB, "two", 1), 0);
    assert_int_equal(bench_catalog_prepare(root, 5, &c), -1);
    assert_int_equal(setenv(KNOB, "2", 1), 0);
    assert_int_equal(bench_catalog_prepare(root, 5, &c), -1);
    assert_int_equal(setenv(KNOB, "0.5-2", 1), 0);
    assert_int_equal(bench_catalog_prepare(root, 5, &c), -1);
    assert_int_equal(setenv(KNOB, SHORT, 1), 0);
    /* Reading where no catalog is: an error, and nothing created. */
    assert_int_equal(bench_catalog_read(root, &c), -1);
    char *db = import_catalog_path(root);
    assert_int_equal(access(db, F_OK), -1);
    free(db);
    testutil_rmtree(root);
    free(root);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    setenv(KNOB, SHORT, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_reuse_remake), cmocka_unit_test(test_encodes_kept),
        cmocka_unit_test(test_made_another_way),  cmocka_unit_test(test_album_sizes),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
