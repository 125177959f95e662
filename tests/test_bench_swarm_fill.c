/* test_bench_swarm_fill: the swarm benchmark's warm caches
 * (app/bench_swarm_fill.c, swarm_fill in app/bench_swarm.h) on a real
 * service data directory (four tracks imported by the real import, noise
 * so each is several chunks; one much shorter) and real engines:
 *  - a fill of the history {0, 1, 0} under a cap that fits two files
 *    leaves both files complete and unpinned in the cache, track 1 first
 *    in the eviction order; chorus.db knows all four tracks as `queue add
 *    --all` records them, and the manifests and keys of the two;
 *  - an engine started on that home without any service plays a filled
 *    track to its end from the cache alone, and refuses one not filled,
 *    saying it needs the service;
 *  - a second fill of the same home writes nothing and says the same; a
 *    later play only moves the file to the end of the eviction order;
 *  - a file that no longer fits is left out of the cache (its key kept:
 *    played, then evicted) and an older, smaller one
 *    still goes in; a cap below every file fills nothing;
 *  - a bad catalog directory, a history naming no catalog track, or a
 *    home whose engine runs: -1 and a message. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "audio/import.h"
#include "audio_fixtures.h"
#include "bench_catalog.h"
#include "bench_swarm.h"
#include "base/xmalloc.h"
#include "core/cache.h"
#include "core/clientdb.h"
#include "core/mq.h"
#include "engine_fixture.h"
#include "library/store.h"
#include "testutil.h"

#define NTRACKS 4

/* The catalog: two albums; the last track's artist is a guest on Band B's
 * album. */
static const struct {
    const char *title, *artist, *album, *album_artist, *number;
    double seconds;
} SPEC[NTRACKS] = {
    {"One", "Band A", "Alpha", NULL, "1", 2.0},
    {"Two", "Band A", "Alpha", NULL, "2", 2.0},
    {"Three", "Band B", "Beta", NULL, "1", 0.5},
    {"Four", "Guest", "Beta", "Band B", "2", 2.0},
};

static struct {
    char *dir; /* the service's data directory */
    struct bench_catalog cat;
    struct content_id file[NTRACKS];
    uint64_t file_size[NTRACKS];
    uint64_t size[NTRACKS]; /* what the file takes in a cache: bytes + manifest */
    struct content_key key[NTRACKS];
} S;

static void import_track(struct importer *imp, const char *src, size_t i)
{
    char *path = xasprintf("%s/t%zu.flac", src, i);
    struct fixture_tags tags = {.title = SPEC[i].title,
                                .artist = SPEC[i].artist,
                                .album = SPEC[i].album,
                                .album_artist = SPEC[i].album_artist,
                                .track = SPEC[i].number,
                                .date = "2024"};
    struct fixture_pcm *pcm =
        fixture_generate(FIXTURE_NOISE, 100 + (double)i, SPEC[i].seconds, 44100, 2);
    assert_int_equal(fixture_encode(path, FIXTURE_FLAC, pcm, &tags), 0);
    fixture_pcm_free(pcm);
    struct import_report rep;
    assert_int_equal(import_file(imp, path, NULL, &rep), 0);
    assert_int_equal(rep.outcome, IMPORT_IMPORTED);
    S.cat.tracks[i] = (struct bench_track){.id = rep.track_id,
                                           .album = i / 2,
                                           .number = (unsigned)atoi(SPEC[i].number),
                                           .seconds = rep.seconds};
    S.file[i] = rep.file_id;
    free(path);
}

/* Sizes and keys of the stored files, as the store has them. */
static void read_stored(void)
{
    struct store *st;
    assert_int_equal(store_open(S.dir, &st), 0);
    for (size_t i = 0; i < NTRACKS; i++) {
        struct manifest *m;
        assert_int_equal(store_read_manifest(st, &S.file[i], &m), 0);
        S.file_size[i] = m->file_size;
        S.size[i] = m->file_size + manifest_encoded_len(m);
        S.cat.tracks[i].bytes = m->file_size;
        manifest_free(m);
        assert_int_equal(store_read_key(st, &S.file[i], &S.key[i]), 0);
    }
    store_free(st);
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    S.dir = testutil_tempdir("fill-service");
    char *src = xasprintf("%s/src", S.dir);
    assert_int_equal(mkdir(src, 0700), 0);
    S.cat.dir = S.dir;
    S.cat.tracks = xcalloc(NTRACKS, sizeof(*S.cat.tracks));
    S.cat.ntracks = NTRACKS;
    struct importer *imp;
    assert_int_equal(import_open(S.dir, &imp), 0);
    for (size_t i = 0; i < NTRACKS; i++)
        import_track(imp, src, i);
    import_free(imp);
    free(src);
    read_stored();
    /* the test needs one file clearly smaller than the others */
    assert_true(S.size[2] * 2 < S.size[0]);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    testutil_rmtree(S.dir);
    free(S.dir);
    free(S.cat.tracks);
    return 0;
}

/* ---- helpers ---- */

/* An engine home as engine_fixture lays it out: HOME/data, HOME/cache. */
struct home {
    char *dir, *data, *cache;
};

static void home_make(struct home *h, const char *name)
{
    h->dir = testutil_tempdir(name);
    h->data = xasprintf("%s/data", h->dir);
    h->cache = xasprintf("%s/cache", h->dir);
}

static void home_remove(struct home *h)
{
    testutil_rmtree(h->dir);
    free(h->dir);
    free(h->data);
    free(h->cache);
}

/* swarm_fill with its stderr caught in *said (owned by the caller). */
static long fill(const struct bench_catalog *cat, const struct home *h, uint64_t cap,
                 const size_t *tracks, size_t n, char **said)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    long ret = swarm_fill(cat, h->data, h->cache, cap, tracks, n);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long len = ftell(tmp);
    *said = xcalloc(1, (size_t)(len > 0 ? len : 0) + 1);
    rewind(tmp);
    if (len > 0)
        assert_int_equal(fread(*said, 1, (size_t)len, tmp), (size_t)len);
    fclose(tmp);
    return ret;
}

/* A fill that must succeed silently with filled files. */
static void fill_ok(const struct home *h, uint64_t cap, const size_t *tracks, size_t n, long filled)
{
    char *said = NULL;
    long ret = fill(&S.cat, h, cap, tracks, n, &said);
    if (*said)
        print_message("swarm_fill said: %s", said);
    assert_string_equal(said, "");
    assert_int_equal(ret, filled);
    free(said);
}

/* The cache's files, least recently played first (free). */
static size_t cached_files(const struct home *h, struct cache_file_info **files,
                           struct cache_stats *stats)
{
    struct cache_config cc = {.dir = h->cache};
    struct cache *c;
    assert_int_equal(cache_open(&cc, &c), 0);
    size_t n = cache_list_files(c, files);
    if (stats)
        cache_stats(c, stats);
    cache_free(c);
    return n;
}

/* The cache holds exactly the files of tracks want[0..n), complete and
 * unpinned, in that eviction order (least recently played first). */
static void expect_cache(const struct home *h, const size_t *want, size_t n)
{
    struct cache_file_info *files = NULL;
    struct cache_stats stats;
    assert_int_equal(cached_files(h, &files, &stats), n);
    uint64_t used = 0;
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(files[i].id.bytes, S.file[want[i]].bytes, CONTENT_ID_LEN);
        assert_true(files[i].complete);
        assert_int_equal(files[i].chunks_present, files[i].chunk_count);
        assert_int_equal(files[i].file_size, S.file_size[want[i]]);
        assert_int_equal(files[i].pins, 0);
        used += S.size[want[i]];
    }
    assert_int_equal(stats.complete_files, n);
    assert_int_equal(stats.used_bytes, used);
    free(files);
}

static struct clientdb *open_db(const struct home *h)
{
    char *path = xasprintf("%s/%s", h->data, CLIENTDB_FILE_NAME);
    struct clientdb *db;
    assert_int_equal(clientdb_open(path, NULL, &db), 0);
    free(path);
    return db;
}

/* chorus.db holds the manifest and key of track i's file (or not). */
static void expect_key(struct clientdb *db, size_t i, bool held)
{
    struct content_key key;
    uint8_t *enc = NULL;
    size_t len = 0;
    int rc = clientdb_get_file(db, &S.file[i], &enc, &len, &key);
    if (!held) {
        assert_int_equal(rc, CLIENTDB_ENOTFOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_memory_equal(&key, &S.key[i], sizeof(key));
    struct content_id id;
    manifest_id_of_encoding(enc, len, &id);
    assert_memory_equal(id.bytes, S.file[i].bytes, CONTENT_ID_LEN);
    free(enc);
}

/* Every catalog track known in chorus.db as a browse of the catalog
 * records it: the track artist's name, the album artist's id. */
static void expect_tracks_known(struct clientdb *db)
{
    struct clientdb_track t[NTRACKS];
    for (size_t i = 0; i < NTRACKS; i++) {
        assert_int_equal(clientdb_get_track(db, (uint64_t)S.cat.tracks[i].id, &t[i]), 0);
        assert_string_equal(t[i].title, SPEC[i].title);
        assert_string_equal(t[i].artist, SPEC[i].artist);
        assert_string_equal(t[i].album, SPEC[i].album);
        assert_int_equal(t[i].number, S.cat.tracks[i].number);
        assert_true(t[i].duration_ms > SPEC[i].seconds * 1000 - 100 &&
                    t[i].duration_ms < SPEC[i].seconds * 1000 + 100);
        assert_true(t[i].has_file);
        assert_memory_equal(t[i].file.bytes, S.file[i].bytes, CONTENT_ID_LEN);
    }
    assert_int_equal(t[0].album_id, t[1].album_id);
    assert_int_equal(t[2].album_id, t[3].album_id);
    assert_int_not_equal(t[0].album_id, t[2].album_id);
    assert_int_equal(t[0].artist_id, t[1].artist_id);
    assert_int_equal(t[3].artist_id, t[2].artist_id); /* Band B's album, not Guest */
    assert_int_not_equal(t[0].artist_id, t[2].artist_id);
    for (size_t i = 0; i < NTRACKS; i++)
        clientdb_track_clear(&t[i]);
}

/* The text of the first MQ_EV_ERROR the engine posted (free), or NULL. */
static char *first_error(struct eng *x)
{
    char *text = NULL;
    struct mq_msg *list = mq_take_events(engine_mq(x->e));
    for (struct mq_msg *m = list; m; m = m->next)
        if (m->type == MQ_EV_ERROR && !text)
            text = xstrdup(m->u.text);
    mq_msg_free_list(list);
    return text;
}

static json_int_t member(json_t *st, const char *obj, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(st, obj), key));
}

/* ---- tests ---- */

static void fill_then_play_offline(void **state)
{
    (void)state;
    struct home h;
    home_make(&h, "fill-home");
    const size_t history[] = {0, 1, 0};
    uint64_t cap = S.size[0] + S.size[1]; /* exactly two files */
    fill_ok(&h, cap, history, 3, 2);
    const size_t order[] = {1, 0}; /* 0 was played last */
    expect_cache(&h, order, 2);
    struct clientdb *db = open_db(&h);
    expect_tracks_known(db);
    expect_key(db, 0, true);
    expect_key(db, 1, true);
    expect_key(db, 2, false);
    expect_key(db, 3, false);
    clientdb_close(db);

    /* again: nothing new to write, the same answer */
    fill_ok(&h, cap, history, 3, 2);
    expect_cache(&h, order, 2);
    /* a later play of track 1 makes it the most recent */
    const size_t later[] = {1};
    fill_ok(&h, cap, later, 1, 1);
    const size_t reordered[] = {0, 1};
    expect_cache(&h, reordered, 2);

    /* an engine on that home, no service anywhere (nobody logged in) */
    struct eng x;
    eng_open(&x, h.dir, "null:64");
    char *line = xasprintf("play #%lld", (long long)S.cat.tracks[0].id);
    eng_ok(&x, line);
    free(line);
    json_t *st = eng_wait(&x, played_and_stopped, NULL, "track 0 played");
    assert_int_equal(member(st, "bytes", "cache"), (json_int_t)S.file_size[0]); /* all of it */
    assert_int_equal(member(st, "bytes", "peers"), 0);
    assert_int_equal(member(st, "bytes", "service"), 0);
    assert_int_equal(member(st, "downloaded", "service"), 0);
    json_decref(st);
    free(first_error(&x)); /* what came before */

    /* never under a running engine: its cache is locked */
    char *said = NULL;
    assert_int_equal(fill(&S.cat, &h, cap, history, 3, &said), -1);
    assert_non_null(strstr(said, "cannot open the cache"));
    free(said);

    line = xasprintf("play #%lld", (long long)S.cat.tracks[2].id);
    assert_int_not_equal(eng_run(&x, line, NULL), 0);
    free(line);
    char *why = first_error(&x);
    assert_non_null(why);
    assert_non_null(strstr(why, "Three"));
    assert_non_null(strstr(why, "needs the service"));
    free(why);
    eng_close(&x);
    home_remove(&h);
}

static void cap_leaves_out_what_does_not_fit(void **state)
{
    (void)state;
    struct home h;
    home_make(&h, "fill-cap");
    /* newest first: 1 fits, 0 does not fit beside it, 2 (small) does */
    const size_t history[] = {2, 0, 1};
    uint64_t cap = S.size[1] + S.size[2] + S.size[2];
    assert_true(S.size[1] + S.size[0] > cap);
    fill_ok(&h, cap, history, 3, 2);
    const size_t order[] = {2, 1};
    expect_cache(&h, order, 2);
    struct clientdb *db = open_db(&h);
    expect_key(db, 0, true); /* played and evicted: its key stays */
    expect_key(db, 1, true);
    expect_key(db, 2, true);
    clientdb_close(db);
    home_remove(&h);

    /* a cap below every file: nothing cached, the catalog still known and
     * the keys of what was played kept */
    home_make(&h, "fill-tiny");
    fill_ok(&h, S.size[2] - 1, history, 3, 0);
    expect_cache(&h, NULL, 0);
    db = open_db(&h);
    expect_tracks_known(db);
    expect_key(db, 2, true);
    expect_key(db, 3, false); /* never played */
    clientdb_close(db);
    home_remove(&h);
}

static void bad_catalog_says_why(void **state)
{
    (void)state;
    struct home h;
    home_make(&h, "fill-bad");
    const size_t history[] = {0};
    struct bench_catalog bad = S.cat;
    bad.dir = xasprintf("%s/nowhere", h.dir);
    char *said = NULL;
    assert_int_equal(fill(&bad, &h, 0, history, 1, &said), -1);
    assert_non_null(strstr(said, "no catalog at"));
    assert_non_null(strstr(said, bad.dir));
    free(said);
    free(bad.dir);

    /* a history naming a track the catalog does not have */
    const size_t past[] = {NTRACKS};
    assert_int_equal(fill(&S.cat, &h, 0, past, 1, &said), -1);
    assert_non_null(strstr(said, "past the catalog"));
    free(said);
    bad = S.cat;
    bad.tracks = xcalloc(NTRACKS, sizeof(*bad.tracks));
    memcpy(bad.tracks, S.cat.tracks, NTRACKS * sizeof(*bad.tracks));
    bad.tracks[0].id = 999999;
    assert_int_equal(fill(&bad, &h, 0, history, 1, &said), -1);
    assert_non_null(strstr(said, "#999999 is not in the catalog"));
    free(said);
    free(bad.tracks);
    home_remove(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fill_then_play_offline),
        cmocka_unit_test(cap_leaves_out_what_does_not_fit),
        cmocka_unit_test(bad_catalog_says_why),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
