/* Tests for core/catalog on a real SQLite file: schema creation (WAL,
 * user_version), adding tracks with artists/albums made as needed,
 * idempotency by source fingerprint, listing and ordering, lookups by
 * fingerprint and path, FTS5 search (prefix, every word, diacritics,
 * ranking, hostile input), the index kept in step with deletes and renames
 * made by hand, migration of an older database with its data, refusal of a
 * newer or broken one, and two connections used from two threads. */
#include "testutil.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "library/catalog.h"
#include "base/xmalloc.h"

static struct catalog_track_info info_for(const char *title, const char *artist, const char *album,
                                          int disc, int number, unsigned seed)
{
    struct catalog_track_info t = {
        .title = title,
        .artist = artist,
        .album = album,
        .disc_number = disc,
        .track_number = number,
        .duration_ms = 60000 + seed,
    };
    /* Distinct seeds give distinct fingerprints and file ids. */
    for (unsigned i = 0; i < CATALOG_FINGERPRINT_LEN; i++)
        t.source_sha256[i] = (uint8_t)(i < 4 ? seed >> (8 * i) : i);
    for (unsigned i = 0; i < CONTENT_ID_LEN; i++)
        t.file_id.bytes[i] = (uint8_t)(i < 4 ? seed >> (8 * i) : 0xa0 + i);
    return t;
}

static int64_t add(struct catalog *cat, struct catalog_track_info t)
{
    int64_t id = 0;
    bool added = false;
    int rc = catalog_add_track(cat, &t, &id, &added);
    if (rc != 0)
        fail_msg("add %s: %s (%s)", t.title, catalog_strerror(rc), catalog_errmsg(cat));
    assert_true(added);
    return id;
}

struct fixture {
    char *dir, *path;
    struct catalog *cat;
};

static struct fixture open_fixture(const char *name)
{
    struct fixture f;
    f.dir = testutil_tempdir(name);
    f.path = xasprintf("%s/catalog.db", f.dir);
    int rc = catalog_open(f.path, &f.cat);
    if (rc != 0)
        fail_msg("open: %s", catalog_strerror(rc));
    return f;
}

static void close_fixture(struct fixture *f)
{
    catalog_free(f->cat);
    testutil_rmtree(f->dir);
    free(f->path);
    free(f->dir);
}

/* A small library: two artists, three albums, a compilation. */
static void fill_library(struct catalog *cat)
{
    struct catalog_track_info t;
    t = info_for("Hells Bells", "AC/DC", "Back in Black", 0, 1, 1);
    t.date = "1980-07-25";
    add(cat, t);
    t = info_for("Back in Black", "AC/DC", "Back in Black", 0, 6, 2);
    add(cat, t);
    t = info_for("Shoot to Thrill", "ac/dc", "back in black", 0, 2, 3); /* same artist, album */
    add(cat, t);
    t = info_for("Highway to Hell", "AC/DC", "Highway to Hell", 0, 1, 4);
    t.date = "1979";
    add(cat, t);
    t = info_for("Crazy in Love", "Beyoncé", "Dangerously in Love", 1, 1, 5);
    t.date = "2003";
    add(cat, t);
    t = info_for("Naughty Girl", "Beyoncé", "Dangerously in Love", 2, 1, 6);
    add(cat, t);
    t = info_for("Baby Boy", "Beyoncé", "Dangerously in Love", 1, 3, 7);
    add(cat, t);
    t = info_for("Whole Lotta Rosie", "AC/DC", "Rock Hits", 0, 1, 8);
    t.album_artist = "Various Artists";
    add(cat, t);
}

static void test_schema_created(void **state)
{
    struct fixture f = open_fixture("cat_schema");
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), CATALOG_SCHEMA_VERSION);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f.path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);

    struct catalog_counts c;
    assert_int_equal(catalog_counts(f.cat, &c), 0);
    assert_int_equal(c.tracks, 0);
    assert_int_equal(c.artists, 0);
    /* Reopening an up-to-date database changes nothing. */
    catalog_free(f.cat);
    assert_int_equal(catalog_open(f.path, &f.cat), 0);
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), CATALOG_SCHEMA_VERSION);
    close_fixture(&f);
}

static void test_add_list_and_idempotency(void **state)
{
    struct fixture f = open_fixture("cat_add");
    fill_library(f.cat);

    struct catalog_counts c;
    assert_int_equal(catalog_counts(f.cat, &c), 0);
    assert_int_equal(c.tracks, 8);
    assert_int_equal(c.artists, 3); /* AC/DC, Beyoncé, Various Artists */
    assert_int_equal(c.albums, 4);
    assert_int_equal(c.duration_ms, 8 * 60000 + 36);

    /* The same source again, even under other names and path: a no-op. */
    struct catalog_track_info again = info_for("Other Title", "Other", "Other", 0, 9, 2);
    int64_t id = 0;
    bool added = true;
    assert_int_equal(catalog_add_track(f.cat, &again, &id, &added), 0);
    assert_false(added);
    struct catalog_track t;
    assert_int_equal(catalog_get_track(f.cat, id, &t), 0);
    assert_string_equal(t.title, "Back in Black");
    catalog_track_clear(&t);
    assert_int_equal(catalog_counts(f.cat, &c), 0);
    assert_int_equal(c.tracks, 8);
    assert_int_equal(c.artists, 3);

    /* Artists that own albums, by name (case-insensitive). */
    struct catalog_artist_list artists;
    assert_int_equal(catalog_list_artists(f.cat, &artists), 0);
    assert_int_equal(artists.count, 3);
    assert_string_equal(artists.items[0].name, "AC/DC");
    assert_int_equal(artists.items[0].album_count, 2);
    assert_int_equal(artists.items[0].track_count, 4);
    assert_string_equal(artists.items[1].name, "Beyoncé");
    assert_string_equal(artists.items[2].name, "Various Artists");
    assert_int_equal(artists.items[2].track_count, 1);

    /* Albums by year: Highway to Hell (1979) before Back in Black (1980). */
    struct catalog_album_list albums;
    assert_int_equal(catalog_artist_albums(f.cat, artists.items[0].id, &albums), 0);
    assert_int_equal(albums.count, 2);
    assert_string_equal(albums.items[0].title, "Highway to Hell");
    assert_int_equal(albums.items[0].year, 1979);
    assert_string_equal(albums.items[1].title, "Back in Black");
    assert_string_equal(albums.items[1].date, "1980-07-25");
    assert_int_equal(albums.items[1].year, 1980);
    assert_int_equal(albums.items[1].track_count, 3);
    assert_int_equal(albums.items[1].duration_ms, 3 * 60000 + 1 + 2 + 3);
    assert_string_equal(albums.items[1].artist, "AC/DC");

    /* Tracks by track number. */
    struct catalog_track_list tracks;
    assert_int_equal(catalog_album_tracks(f.cat, albums.items[1].id, &tracks), 0);
    assert_int_equal(tracks.count, 3);
    assert_string_equal(tracks.items[0].title, "Hells Bells");
    assert_string_equal(tracks.items[1].title, "Shoot to Thrill");
    assert_string_equal(tracks.items[2].title, "Back in Black");
    assert_int_equal(tracks.items[2].track_number, 6);
    assert_string_equal(tracks.items[2].artist, "AC/DC");
    struct catalog_track_info expect = info_for("", "", "", 0, 0, 2);
    assert_memory_equal(tracks.items[2].file_id.bytes, expect.file_id.bytes, CONTENT_ID_LEN);
    catalog_track_list_free(&tracks);
    catalog_album_list_free(&albums);

    /* Disc before number. */
    assert_int_equal(catalog_artist_albums(f.cat, artists.items[1].id, &albums), 0);
    assert_int_equal(albums.count, 1);
    assert_int_equal(catalog_album_tracks(f.cat, albums.items[0].id, &tracks), 0);
    assert_int_equal(tracks.count, 3);
    assert_string_equal(tracks.items[0].title, "Crazy in Love");
    assert_string_equal(tracks.items[1].title, "Baby Boy");
    assert_string_equal(tracks.items[2].title, "Naughty Girl");
    assert_int_equal(tracks.items[2].disc_number, 2);
    catalog_track_list_free(&tracks);
    catalog_album_list_free(&albums);

    /* A compilation: album artist differs from the track artist. */
    assert_int_equal(catalog_artist_albums(f.cat, artists.items[2].id, &albums), 0);
    assert_int_equal(albums.count, 1);
    assert_null(albums.items[0].date);
    assert_int_equal(albums.items[0].year, 0);
    assert_int_equal(catalog_album_tracks(f.cat, albums.items[0].id, &tracks), 0);
    assert_string_equal(tracks.items[0].artist, "AC/DC");
    assert_string_equal(tracks.items[0].album_artist, "Various Artists");
    catalog_track_list_free(&tracks);
    catalog_album_list_free(&albums);

    assert_int_equal(catalog_artist_albums(f.cat, 9999, &albums), 0);
    assert_int_equal(albums.count, 0);
    catalog_album_list_free(&albums);
    catalog_artist_list_free(&artists);
    close_fixture(&f);
}

static void test_lookups_and_bad_input(void **state)
{
    struct fixture f = open_fixture("cat_lookup");
    struct catalog_track_info t = info_for("  Song  ", " Band ", "Album", 1, 2, 42);
    t.source_path = "/music/band/song.flac";
    t.source_size = 123456;
    t.source_mtime_ns = 1700000000123456789;
    t.date = "2001";
    int64_t id = add(f.cat, t);

    struct catalog_track got;
    assert_int_equal(catalog_get_track(f.cat, id, &got), 0);
    assert_string_equal(got.title, "Song"); /* trimmed */
    assert_string_equal(got.artist, "Band");
    assert_string_equal(got.album, "Album");
    assert_string_equal(got.album_artist, "Band");
    assert_string_equal(got.date, "2001");
    assert_string_equal(got.source_path, "/music/band/song.flac");
    assert_int_equal(got.disc_number, 1);
    assert_int_equal(got.track_number, 2);
    assert_int_equal(got.duration_ms, 60042);
    catalog_track_clear(&got);
    assert_int_equal(catalog_get_track(f.cat, id + 100, &got), CATALOG_ENOTFOUND);

    struct content_id file;
    int64_t tid;
    assert_int_equal(catalog_find_source(f.cat, t.source_sha256, &file, &tid), 0);
    assert_int_equal(tid, id);
    assert_memory_equal(file.bytes, t.file_id.bytes, CONTENT_ID_LEN);
    assert_int_equal(catalog_find_file(f.cat, &t.file_id, &tid), 0);
    assert_int_equal(tid, id);
    struct content_id unknown = t.file_id;
    unknown.bytes[0] ^= 1;
    assert_int_equal(catalog_find_file(f.cat, &unknown, NULL), CATALOG_ENOTFOUND);
    /* Repointed at a new file: found by the new id, the source still maps. */
    assert_int_equal(catalog_set_track_file(f.cat, id, &unknown), 0);
    assert_int_equal(catalog_find_file(f.cat, &unknown, &tid), 0);
    assert_int_equal(tid, id);
    assert_int_equal(catalog_find_file(f.cat, &t.file_id, NULL), CATALOG_ENOTFOUND);
    assert_int_equal(catalog_find_source(f.cat, t.source_sha256, &file, NULL), 0);
    assert_memory_equal(file.bytes, unknown.bytes, CONTENT_ID_LEN);
    assert_int_equal(catalog_set_track_file(f.cat, id + 100, &unknown), CATALOG_ENOTFOUND);
    assert_int_equal(catalog_set_track_file(f.cat, id, &t.file_id), 0);
    uint8_t other[CATALOG_FINGERPRINT_LEN] = {0};
    assert_int_equal(catalog_find_source(f.cat, other, NULL, NULL), CATALOG_ENOTFOUND);

    assert_int_equal(catalog_find_source_path(f.cat, t.source_path, t.source_size,
                                              t.source_mtime_ns, &file, &tid),
                     0);
    assert_int_equal(tid, id);
    assert_int_equal(catalog_find_source_path(f.cat, t.source_path, t.source_size,
                                              t.source_mtime_ns + 1, NULL, NULL),
                     CATALOG_ENOTFOUND);
    assert_int_equal(catalog_find_source_path(f.cat, t.source_path, t.source_size + 1,
                                              t.source_mtime_ns, NULL, NULL),
                     CATALOG_ENOTFOUND);
    assert_int_equal(
        catalog_find_source_path(f.cat, "/elsewhere", t.source_size, t.source_mtime_ns, NULL, NULL),
        CATALOG_ENOTFOUND);

    /* Refused: missing or blank names, negative numbers. Nothing is added. */
    struct catalog_track_info bad[5];
    for (int i = 0; i < 5; i++)
        bad[i] = info_for("T", "A", "B", 0, 0, 100 + (unsigned)i);
    bad[0].title = NULL;
    bad[1].artist = "   ";
    bad[2].album = "";
    bad[3].duration_ms = -1;
    bad[4].track_number = -3;
    for (int i = 0; i < 5; i++) {
        bool added = true;
        assert_int_equal(catalog_add_track(f.cat, &bad[i], NULL, &added), CATALOG_EINVAL);
        assert_false(added);
    }
    struct catalog_counts c;
    assert_int_equal(catalog_counts(f.cat, &c), 0);
    assert_int_equal(c.tracks, 1);
    assert_int_equal(c.artists, 1);
    close_fixture(&f);
}

/* Titles of the search results, joined by '|'. */
static char *search_titles(struct catalog *cat, const char *text, size_t limit)
{
    struct catalog_track_list l;
    int rc = catalog_search(cat, text, limit, &l);
    if (rc != 0)
        fail_msg("search '%s': %s (%s)", text, catalog_strerror(rc), catalog_errmsg(cat));
    char *out = xstrdup("");
    for (size_t i = 0; i < l.count; i++) {
        char *next = xasprintf("%s%s%s", out, i ? "|" : "", l.items[i].title);
        free(out);
        out = next;
    }
    catalog_track_list_free(&l);
    return out;
}

static void expect_search(struct catalog *cat, const char *text, const char *titles)
{
    char *got = search_titles(cat, text, 0);
    if (strcmp(got, titles) != 0)
        fail_msg("search '%s': got '%s', want '%s'", text, got, titles);
    free(got);
}

static size_t search_count(struct catalog *cat, const char *text)
{
    struct catalog_track_list l;
    assert_int_equal(catalog_search(cat, text, 0, &l), 0);
    size_t n = l.count;
    catalog_track_list_free(&l);
    return n;
}

static void test_search(void **state)
{
    struct fixture f = open_fixture("cat_search");
    fill_library(f.cat);

    expect_search(f.cat, "hells", "Hells Bells");
    expect_search(f.cat, "naughty", "Naughty Girl");
    expect_search(f.cat, "naug", "Naughty Girl");      /* last word is a prefix */
    expect_search(f.cat, "naug girl", "");             /* ...only the last one */
    expect_search(f.cat, "girl naug", "Naughty Girl"); /* every word must match */
    expect_search(f.cat, "beyonce baby", "Baby Boy");  /* diacritics folded */
    expect_search(f.cat, "BEYONCÉ BABY", "Baby Boy");  /* case folded */
    assert_int_equal(search_count(f.cat, "dangerously"), 3);
    expect_search(f.cat, "rock hits", "Whole Lotta Rosie"); /* album */
    expect_search(f.cat, "AC/DC rosie", "Whole Lotta Rosie");
    expect_search(f.cat, "zzz", "");

    /* A title match outranks an album match: "Back in Black" the track first. */
    char *got = search_titles(f.cat, "back in black", 0);
    assert_int_equal(strncmp(got, "Back in Black|", 14), 0);
    free(got);
    got = search_titles(f.cat, "hell", 1);
    assert_null(strchr(got, '|')); /* limit */
    free(got);

    /* Hostile and odd input: never an error, quotes and operators are text. */
    const char *nasty[] = {
        "AC/DC \"",
        "\"",
        "\"\"",
        "\"hells",
        "hells\"",
        "*",
        "-",
        "AND",
        "OR NOT",
        "hells AND",
        "NEAR(hells bells)",
        "title:hells",
        "{title artist}: x",
        "^hells",
        "hells + bells",
        "'; DROP TABLE tracks; --",
        "a\"b\"c",
        "\xff\xfe\xfd",
        "\t \n ",
        "",
        "((((",
        "hells*",
        "\"hells\"*",
    };
    for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++)
        free(search_titles(f.cat, nasty[i], 0));
    assert_int_equal(search_count(f.cat, "AC/DC \""), 5);
    assert_int_equal(search_count(f.cat, "ac dc"), 5);
    expect_search(f.cat, "hells AND", ""); /* AND is a word to match, as a prefix */
    expect_search(f.cat, "\"hells", "Hells Bells");
    expect_search(f.cat, "title:hells", ""); /* no column filter from user text */

    /* A very long query. */
    size_t n = 20000;
    char *lng = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        lng[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
    lng[n] = '\0';
    free(search_titles(f.cat, lng, 0));
    free(lng);

    struct catalog_counts c;
    assert_int_equal(catalog_counts(f.cat, &c), 0);
    assert_int_equal(c.tracks, 8);
    close_fixture(&f);
}

/* Deletes and renames done by hand in SQL keep the search index right. */
static void test_index_follows_sql_edits(void **state)
{
    struct fixture f = open_fixture("cat_edits");
    fill_library(f.cat);
    testutil_sql_exec(f.path, "DELETE FROM tracks WHERE title = 'Hells Bells'");
    expect_search(f.cat, "hells", "");
    testutil_sql_exec(f.path, "UPDATE artists SET name = 'Knowles' WHERE name = 'Beyoncé'");
    expect_search(f.cat, "beyonce", "");
    expect_search(f.cat, "knowles baby", "Baby Boy");
    testutil_sql_exec(f.path, "UPDATE albums SET title = 'Compilation' WHERE title = 'Rock Hits'");
    expect_search(f.cat, "rock hits", "");
    expect_search(f.cat, "compilation", "Whole Lotta Rosie");
    testutil_sql_exec(f.path, "UPDATE tracks SET title = 'Renamed' WHERE title = 'Baby Boy'");
    expect_search(f.cat, "baby", "");
    expect_search(f.cat, "renamed", "Renamed");
    /* FTS5's own consistency check against the content. */
    testutil_sql_exec(f.path,
                      "INSERT INTO tracks_fts(tracks_fts, rank) VALUES('integrity-check', 1)");
    close_fixture(&f);
}

/* A database at schema version 1 (before search), with data: opening it
 * migrates to the current version and indexes the existing tracks. */
static void test_migrates_old_database(void **state)
{
    struct fixture f = open_fixture("cat_migrate");
    fill_library(f.cat);
    catalog_free(f.cat);
    /* Take version 2's objects away: exactly what version 1 left. */
    testutil_sql_exec(f.path, "DROP TRIGGER tracks_fts_ai; DROP TRIGGER tracks_fts_ad;"
                              "DROP TRIGGER tracks_fts_au; DROP TRIGGER artists_fts_au;"
                              "DROP TRIGGER albums_fts_au; DROP TABLE tracks_fts;"
                              "DROP VIEW tracks_fts_source; PRAGMA user_version = 1;");
    assert_int_equal(
        testutil_sql_int(f.path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%fts%'"), 0);

    assert_int_equal(catalog_open(f.path, &f.cat), 0);
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), 2);
    expect_search(f.cat, "hells", "Hells Bells");
    expect_search(f.cat, "beyonce naughty", "Naughty Girl");
    struct catalog_track_info t = info_for("New Song", "New Band", "New Album", 0, 1, 77);
    add(f.cat, t);
    expect_search(f.cat, "new song", "New Song");
    testutil_sql_exec(f.path,
                      "INSERT INTO tracks_fts(tracks_fts, rank) VALUES('integrity-check', 1)");
    close_fixture(&f);
}

static void test_refuses_newer_and_broken(void **state)
{
    struct fixture f = open_fixture("cat_refuse");
    fill_library(f.cat);
    catalog_free(f.cat);
    f.cat = NULL;
    testutil_sql_exec(f.path, "PRAGMA user_version = 99");

    size_t before_len, after_len;
    void *before = testutil_read_file(f.path, &before_len);
    struct catalog *cat = (struct catalog *)1;
    assert_int_equal(catalog_open(f.path, &cat), CATALOG_ETOONEW);
    assert_null(cat);
    void *after = testutil_read_file(f.path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len); /* untouched */
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), 99);
    free(before);
    free(after);

    char *junk = xasprintf("%s/junk.db", f.dir);
    char garbage[4096];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)(i * 13 + 5);
    testutil_write_file(junk, garbage, sizeof(garbage));
    assert_int_equal(catalog_open(junk, &cat), CATALOG_ECORRUPT);

    char *nodir = xasprintf("%s/no/such/dir/c.db", f.dir);
    assert_int_equal(catalog_open(nodir, &cat), CATALOG_EOPEN);
    assert_string_equal(catalog_strerror(CATALOG_ETOONEW),
                        "catalog was made by a newer version of Chorus");
    free(junk);
    free(nodir);
    close_fixture(&f);
}

#define WRITES 150

struct writer_args {
    const char *path;
    int errors;
};

static void *writer_main(void *p)
{
    struct writer_args *w = p;
    struct catalog *cat;
    if (catalog_open(w->path, &cat) != 0) {
        w->errors++;
        return NULL;
    }
    for (unsigned i = 0; i < WRITES; i++) {
        char title[32], album[32];
        snprintf(title, sizeof(title), "Thread Song %u", i);
        snprintf(album, sizeof(album), "Thread Album %u", i / 10);
        struct catalog_track_info t = info_for(title, "Thread Band", album, 0, (int)i, 1000 + i);
        if (catalog_add_track(cat, &t, NULL, NULL) != 0)
            w->errors++;
    }
    catalog_free(cat);
    return NULL;
}

/* One writer thread and this thread reading, each with its own instance. */
static void test_two_threads_two_connections(void **state)
{
    struct fixture f = open_fixture("cat_threads");
    fill_library(f.cat);
    struct writer_args w = {f.path, 0};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, writer_main, &w), 0);
    int64_t last = 0;
    for (int i = 0; i < 200; i++) {
        struct catalog_counts c;
        assert_int_equal(catalog_counts(f.cat, &c), 0);
        assert_true(c.tracks >= last); /* never goes back */
        last = c.tracks;
        struct catalog_track_list l;
        assert_int_equal(catalog_search(f.cat, "thread so", 0, &l), 0);
        catalog_track_list_free(&l);
    }
    pthread_join(thread, NULL);
    assert_int_equal(w.errors, 0);
    struct catalog_counts c;
    assert_int_equal(catalog_counts(f.cat, &c), 0);
    assert_int_equal(c.tracks, 8 + WRITES);
    char *got = search_titles(f.cat, "thread song 149", 0);
    assert_string_equal(got, "Thread Song 149");
    free(got);
    close_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_created),
        cmocka_unit_test(test_add_list_and_idempotency),
        cmocka_unit_test(test_lookups_and_bad_input),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_index_follows_sql_edits),
        cmocka_unit_test(test_migrates_old_database),
        cmocka_unit_test(test_refuses_newer_and_broken),
        cmocka_unit_test(test_two_threads_two_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
