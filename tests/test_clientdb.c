/* Tests for core/clientdb on a real SQLite file: the file is 0600 (made so,
 * or narrowed) with WAL and schema version 2; login, tracks, files,
 * playlists, queue, small values and history round trips; offline search
 * (filtering, LIKE escapes, ordering, limit); dense playlist positions
 * after remove and move; refusals (taken names, out-of-range positions,
 * bad queues); everything surviving close and reopen; a newer schema, a
 * garbage file, a damaged file, a file-size limit and a full disk (a small
 * tmpfs, when the test may mount one) each giving one clear log line; two
 * connections and two threads on one file; playlists kept offline (the
 * flag, the files of their items, a version 1 file upgraded). */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clientdb.h"
#include "core/queue.h"
#include "base/log.h"
#include "base/xmalloc.h"

struct fixture {
    char *dir, *path, *logpath;
    struct clog *log;
    struct clientdb *db;
};

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %s", what, clientdb_strerror(rc));
}

/* The database in dbdir (NULL: dir), the log in dir. */
static struct fixture fixture_in(const char *dir, const char *dbdir)
{
    struct fixture f;
    f.dir = xstrdup(dir);
    f.path = xasprintf("%s/" CLIENTDB_FILE_NAME, dbdir ? dbdir : dir);
    f.logpath = xasprintf("%s/chorus.log", dir);
    f.log = clog_new(f.logpath, CLOG_DEBUG, NULL);
    assert_non_null(f.log);
    must(clientdb_open(f.path, f.log, &f.db), "open");
    return f;
}

static struct fixture open_fixture(const char *name)
{
    char *dir = testutil_tempdir(name);
    struct fixture f = fixture_in(dir, NULL);
    free(dir);
    return f;
}

static void reopen(struct fixture *f)
{
    clientdb_close(f->db);
    f->db = NULL;
    must(clientdb_open(f->path, f->log, &f->db), "reopen");
}

static void close_fixture(struct fixture *f)
{
    clientdb_close(f->db);
    clog_free(f->log);
    testutil_rmtree(f->dir);
    free(f->path);
    free(f->logpath);
    free(f->dir);
}

/* Lines in the log so far; *with counts those containing needle. */
static size_t log_lines(const struct fixture *f, const char *needle, size_t *with)
{
    size_t len;
    char *text = testutil_read_file(f->logpath, &len);
    text = xrealloc(text, len + 1);
    text[len] = '\0';
    size_t lines = 0, hits = 0;
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        lines++;
        hits += strstr(line, needle) != NULL;
    }
    free(text);
    if (with)
        *with = hits;
    return lines;
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static struct content_id make_id(unsigned seed)
{
    struct content_id id;
    for (unsigned i = 0; i < CONTENT_ID_LEN; i++)
        id.bytes[i] = (uint8_t)(seed * 31 + i);
    return id;
}

static struct content_key make_key(unsigned seed)
{
    struct content_key k;
    for (unsigned i = 0; i < CONTENT_KEY_LEN; i++)
        k.bytes[i] = (uint8_t)(seed * 7 + i * 3);
    return k;
}

static void put_file_seed(struct clientdb *db, unsigned seed)
{
    struct content_id id = make_id(seed);
    struct content_key key = make_key(seed);
    uint8_t manifest[40];
    memset(manifest, (int)seed, sizeof(manifest));
    must(clientdb_put_file(db, &id, manifest, sizeof(manifest), &key), "put file");
}

static void assert_ids(const uint64_t *got, size_t n, const uint64_t *want, size_t wn)
{
    assert_int_equal(n, wn);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

/* ---- the file ---- */

static void test_file_mode_and_schema(void **state)
{
    (void)state;
    mode_t old = umask(022); /* SQLite alone would make 0644 under it */
    struct fixture f = open_fixture("cdb_mode");
    assert_int_equal(file_mode(f.path), 0600);
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), 2);
    /* WAL, and the -wal and -shm files (they hold the same secrets) are
     * private too while the database is open. */
    put_file_seed(f.db, 1);
    char *wal = xasprintf("%s-wal", f.path), *shm = xasprintf("%s-shm", f.path);
    assert_int_equal(file_mode(wal), 0600);
    assert_int_equal(file_mode(shm), 0600);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f.path, &raw), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(raw);

    /* An existing file readable by others is narrowed. */
    clientdb_close(f.db);
    f.db = NULL;
    assert_int_equal(chmod(f.path, 0644), 0);
    testutil_write_file(wal, "", 0); /* a crash's leftover */
    assert_int_equal(chmod(wal, 0666), 0);
    must(clientdb_open(f.path, f.log, &f.db), "reopen");
    assert_int_equal(file_mode(f.path), 0600);
    assert_int_equal(file_mode(wal), 0600);
    uint8_t *m;
    size_t mlen;
    struct content_key key;
    struct content_id id = make_id(1);
    must(clientdb_get_file(f.db, &id, &m, &mlen, &key), "get file");
    free(m);

    /* An empty file someone made (0666) becomes a private database. */
    char *empty = xasprintf("%s/empty.db", f.dir);
    testutil_write_file(empty, "", 0);
    assert_int_equal(chmod(empty, 0666), 0);
    struct clientdb *db2;
    must(clientdb_open(empty, NULL, &db2), "open empty");
    assert_int_equal(file_mode(empty), 0600);
    clientdb_close(db2);

    /* No directory: refused with a log line. */
    char *nodir = xasprintf("%s/no/such/dir/chorus.db", f.dir);
    db2 = (struct clientdb *)1;
    assert_int_equal(clientdb_open(nodir, f.log, &db2), CLIENTDB_EDB);
    assert_null(db2);
    size_t with;
    log_lines(&f, "no/such/dir", &with);
    assert_int_equal(with, 1);
    assert_int_equal(clientdb_open("", NULL, &db2), CLIENTDB_EINVAL);
    clientdb_close(NULL);

    free(nodir);
    free(empty);
    free(wal);
    free(shm);
    close_fixture(&f);
    umask(old);
}

/* ---- login ---- */

static void test_login(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_login");
    struct clientdb_login got;
    assert_int_equal(clientdb_get_login(f.db, &got), CLIENTDB_ENOTFOUND);
    assert_null(got.address);
    assert_int_equal(clientdb_forget_login(f.db), CLIENTDB_ENOTFOUND);

    uint8_t cred[64];
    for (size_t i = 0; i < sizeof(cred); i++)
        cred[i] = (uint8_t)(i % 3 == 0 ? 0 : i); /* zero bytes inside */
    struct clientdb_login l = {
        .address = "music.example:4100",
        .user = "ada",
        .credential = cred,
        .credential_len = sizeof(cred),
        .issued = 1790000000,
    };
    struct clientdb_login bad = l;
    bad.address = "";
    assert_int_equal(clientdb_set_login(f.db, &bad), CLIENTDB_EINVAL);
    bad = l;
    bad.user = NULL;
    assert_int_equal(clientdb_set_login(f.db, &bad), CLIENTDB_EINVAL);
    bad = l;
    bad.credential_len = 0;
    assert_int_equal(clientdb_set_login(f.db, &bad), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_set_login(f.db, NULL), CLIENTDB_EINVAL);

    must(clientdb_set_login(f.db, &l), "set login");
    must(clientdb_get_login(f.db, &got), "get login");
    assert_string_equal(got.address, l.address);
    assert_string_equal(got.user, l.user);
    assert_int_equal(got.credential_len, sizeof(cred));
    assert_memory_equal(got.credential, cred, sizeof(cred));
    assert_int_equal(got.issued, l.issued);
    clientdb_login_clear(&got);
    assert_null(got.address);
    assert_null(got.user);
    assert_null(got.credential);
    assert_int_equal(got.credential_len, 0);
    clientdb_login_clear(NULL);

    /* A new login replaces the old one: still one row. */
    l.user = "grace";
    l.credential_len = 8;
    must(clientdb_set_login(f.db, &l), "set login again");
    must(clientdb_get_login(f.db, &got), "get login again");
    assert_string_equal(got.user, "grace");
    assert_int_equal(got.credential_len, 8);
    clientdb_login_clear(&got);
    assert_int_equal(testutil_sql_int(f.path, "SELECT count(*) FROM login"), 1);

    must(clientdb_forget_login(f.db), "forget");
    assert_int_equal(clientdb_get_login(f.db, &got), CLIENTDB_ENOTFOUND);
    close_fixture(&f);
}

/* ---- tracks and files ---- */

static struct clientdb_track track(uint64_t id, const char *title, const char *artist,
                                   const char *album, uint16_t number, int file_seed)
{
    struct clientdb_track t = {
        .id = id,
        .title = (char *)title,
        .artist = (char *)artist,
        .album = (char *)album,
        .artist_id = id * 10,
        .album_id = id * 100,
        .number = number,
        .duration_ms = 180000 + (uint32_t)id,
        .has_file = file_seed >= 0,
    };
    if (file_seed >= 0)
        t.file = make_id((unsigned)file_seed);
    return t;
}

static void test_tracks(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_tracks");
    struct clientdb_track in[] = {
        track(1, "Hells Bells", "AC/DC", "Back in Black", 1, 1),
        track(2, "Shoot to Thrill", "AC/DC", "Back in Black", 2, -1),
        track(UINT64_MAX - 5, "Big Id", "X", "Y", 65535, 3), /* all 64 bits survive */
    };
    must(clientdb_put_tracks(f.db, in, 3), "put tracks");
    must(clientdb_put_tracks(f.db, NULL, 0), "put nothing");
    assert_int_equal(clientdb_put_tracks(f.db, NULL, 1), CLIENTDB_EINVAL);

    for (size_t i = 0; i < 3; i++) {
        struct clientdb_track t;
        must(clientdb_get_track(f.db, in[i].id, &t), "get track");
        assert_int_equal(t.id, in[i].id);
        assert_string_equal(t.title, in[i].title);
        assert_string_equal(t.artist, in[i].artist);
        assert_string_equal(t.album, in[i].album);
        assert_int_equal(t.artist_id, in[i].artist_id);
        assert_int_equal(t.album_id, in[i].album_id);
        assert_int_equal(t.number, in[i].number);
        assert_int_equal(t.duration_ms, in[i].duration_ms);
        assert_int_equal(t.has_file, in[i].has_file);
        if (t.has_file)
            assert_memory_equal(t.file.bytes, in[i].file.bytes, CONTENT_ID_LEN);
        clientdb_track_clear(&t);
        assert_null(t.title);
    }

    /* Updating: new fields win, except that "no file" keeps the known one. */
    struct clientdb_track up = track(1, "Hells Bells (Live)", NULL, NULL, 7, -1);
    must(clientdb_put_tracks(f.db, &up, 1), "update");
    struct clientdb_track t;
    must(clientdb_get_track(f.db, 1, &t), "get updated");
    assert_string_equal(t.title, "Hells Bells (Live)");
    assert_string_equal(t.artist, ""); /* NULL is stored as "" */
    assert_string_equal(t.album, "");
    assert_int_equal(t.number, 7);
    assert_true(t.has_file);
    struct content_id one = make_id(1);
    assert_memory_equal(t.file.bytes, one.bytes, CONTENT_ID_LEN);
    clientdb_track_clear(&t);
    /* A file learned later is set. */
    struct clientdb_track later = track(2, "Shoot to Thrill", "AC/DC", "Back in Black", 2, 9);
    must(clientdb_put_tracks(f.db, &later, 1), "set file");
    must(clientdb_get_track(f.db, 2, &t), "get with file");
    assert_true(t.has_file);
    clientdb_track_clear(&t);

    assert_int_equal(clientdb_get_track(f.db, 424242, &t), CLIENTDB_ENOTFOUND);
    assert_null(t.title);
    assert_int_equal(testutil_sql_int(f.path, "SELECT count(*) FROM tracks"), 3);
    close_fixture(&f);
}

static void test_files(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_files");
    struct content_id id = make_id(5);
    struct content_key key = make_key(5), got_key;
    uint8_t manifest[300];
    for (size_t i = 0; i < sizeof(manifest); i++)
        manifest[i] = (uint8_t)(i * 11);
    uint8_t *m = (uint8_t *)1;
    size_t mlen = 99;
    assert_int_equal(clientdb_get_file(f.db, &id, &m, &mlen, &got_key), CLIENTDB_ENOTFOUND);
    assert_null(m);
    assert_int_equal(mlen, 0);

    assert_int_equal(clientdb_put_file(f.db, &id, NULL, 10, &key), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_put_file(f.db, &id, manifest, 0, &key), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_put_file(f.db, &id, manifest, sizeof(manifest), NULL),
                     CLIENTDB_EINVAL);
    must(clientdb_put_file(f.db, &id, manifest, sizeof(manifest), &key), "put file");

    must(clientdb_get_file(f.db, &id, &m, &mlen, &got_key), "get file");
    assert_int_equal(mlen, sizeof(manifest));
    assert_memory_equal(m, manifest, sizeof(manifest));
    assert_memory_equal(got_key.bytes, key.bytes, CONTENT_KEY_LEN);
    free(m);

    /* Only the key. */
    memset(&got_key, 0, sizeof(got_key));
    must(clientdb_get_file(f.db, &id, NULL, NULL, &got_key), "get key");
    assert_memory_equal(got_key.bytes, key.bytes, CONTENT_KEY_LEN);

    /* Replacing. */
    struct content_key key2 = make_key(6);
    must(clientdb_put_file(f.db, &id, manifest, 32, &key2), "replace file");
    must(clientdb_get_file(f.db, &id, &m, &mlen, &got_key), "get replaced");
    assert_int_equal(mlen, 32);
    assert_memory_equal(got_key.bytes, key2.bytes, CONTENT_KEY_LEN);
    free(m);
    assert_int_equal(testutil_sql_int(f.path, "SELECT count(*) FROM files"), 1);
    close_fixture(&f);
}

/* ---- offline search ---- */

static void assert_playable(struct clientdb *db, const char *query, size_t limit,
                            const uint64_t *want, size_t wn)
{
    struct clientdb_track *t;
    size_t n;
    must(clientdb_playable_tracks(db, query, limit, &t, &n), query ? query : "(all)");
    if (n != wn)
        fail_msg("query '%s': %zu tracks, expected %zu", query ? query : "(all)", n, wn);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].id, want[i]);
        assert_true(t[i].has_file);
        assert_non_null(t[i].title);
    }
    clientdb_tracks_free(t, n);
}

#define ASSERT_PLAYABLE(db, query, limit, ...)                                                     \
    do {                                                                                           \
        const uint64_t want_[] = {__VA_ARGS__};                                                    \
        assert_playable((db), (query), (limit), want_, sizeof(want_) / sizeof(want_[0]));          \
    } while (0)

static void test_playable_tracks(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_playable");
    struct clientdb_track in[] = {
        track(1, "Hells Bells", "AC/DC", "Back in Black", 1, 1),
        track(2, "Shoot to Thrill", "AC/DC", "Back in Black", 2, 2),
        track(3, "Highway to Hell", "AC/DC", "Highway to Hell", 1, 3),      /* no key stored */
        track(4, "Crazy in Love", "Beyoncé", "Dangerously in Love", 1, -1), /* no file */
        track(5, "100% Pure", "abba", "Gold_Hits", 3, 5),
        track(6, "Another", "abba", "Gold_Hits", 1, 6),
        track(7, "Same Number", "AC/DC", "Back in Black", 2, 7),
    };
    must(clientdb_put_tracks(f.db, in, sizeof(in) / sizeof(in[0])), "put tracks");
    struct clientdb_track *t = (struct clientdb_track *)1;
    size_t n = 99;
    must(clientdb_playable_tracks(f.db, NULL, 0, &t, &n), "nothing playable yet");
    assert_null(t);
    assert_int_equal(n, 0);
    const unsigned keyed[] = {1, 2, 5, 6, 7};
    for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
        put_file_seed(f.db, keyed[i]);

    /* Artist, album, number, title, case-insensitively ("abba" first). */
    ASSERT_PLAYABLE(f.db, NULL, 0, 6, 5, 1, 7, 2);
    ASSERT_PLAYABLE(f.db, "  \t ", 0, 6, 5, 1, 7, 2);
    ASSERT_PLAYABLE(f.db, NULL, 2, 6, 5);
    ASSERT_PLAYABLE(f.db, "black", 0, 1, 7, 2);
    ASSERT_PLAYABLE(f.db, "BLACK hells", 0, 1); /* every word, any field */
    ASSERT_PLAYABLE(f.db, "hell", 0, 1);        /* 3 matches but has no key */
    ASSERT_PLAYABLE(f.db, "abba gold", 0, 6, 5);
    ASSERT_PLAYABLE(f.db, "ac/dc thrill", 0, 2);
    ASSERT_PLAYABLE(f.db, "black", 1, 1);
    /* % and _ are literal characters, not LIKE wildcards. */
    ASSERT_PLAYABLE(f.db, "%", 0, 5);
    ASSERT_PLAYABLE(f.db, "_", 0, 6, 5);
    ASSERT_PLAYABLE(f.db, "d_h", 0, 6, 5);
    ASSERT_PLAYABLE(f.db, "100%", 0, 5);
    must(clientdb_playable_tracks(f.db, "love", 0, &t, &n), "no match");
    assert_int_equal(n, 0);
    must(clientdb_playable_tracks(f.db, "abba love", 0, &t, &n), "no match");
    assert_int_equal(n, 0);

    /* At most CLIENTDB_QUERY_MAX_WORDS words. */
    char words[3 * (CLIENTDB_QUERY_MAX_WORDS + 1) + 1] = "";
    for (int i = 0; i < CLIENTDB_QUERY_MAX_WORDS; i++)
        strcat(words, "a ");
    must(clientdb_playable_tracks(f.db, words, 0, &t, &n), "max words");
    assert_int_equal(n, 5);
    clientdb_tracks_free(t, n);
    strcat(words, "b");
    t = (struct clientdb_track *)1;
    assert_int_equal(clientdb_playable_tracks(f.db, words, 0, &t, &n), CLIENTDB_EINVAL);
    assert_null(t);
    assert_int_equal(n, 0);
    close_fixture(&f);
}

/* ---- playlists ---- */

static void assert_playlist(struct clientdb *db, const char *name, const uint64_t *want, size_t wn)
{
    uint64_t *ids;
    size_t n;
    must(clientdb_playlist_tracks(db, name, &ids, &n), name);
    assert_ids(ids, n, want, wn);
    free(ids);
}

#define ASSERT_PLAYLIST(db, name, ...)                                                             \
    do {                                                                                           \
        const uint64_t want_[] = {__VA_ARGS__};                                                    \
        assert_playlist((db), (name), want_, sizeof(want_) / sizeof(want_[0]));                    \
    } while (0)

/* Positions are exactly 0..count-1 in every playlist. */
static void assert_dense(const char *path)
{
    assert_int_equal(testutil_sql_int(path,
                                      "SELECT count(*) FROM (SELECT playlist_id FROM playlist_items"
                                      " GROUP BY playlist_id"
                                      " HAVING min(pos) <> 0 OR max(pos) <> count(*) - 1)"),
                     0);
}

static void test_playlists(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_playlists");
    must(clientdb_playlist_create(f.db, "Rock"), "create");
    must(clientdb_playlist_create(f.db, "Jazz"), "create");
    must(clientdb_playlist_create(f.db, "Empty"), "create");
    assert_int_equal(clientdb_playlist_create(f.db, "Rock"), CLIENTDB_EEXISTS);
    assert_int_equal(clientdb_playlist_create(f.db, "rOCK"), CLIENTDB_EEXISTS);
    assert_int_equal(clientdb_playlist_create(f.db, ""), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_create(f.db, " \t"), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_create(f.db, NULL), CLIENTDB_EINVAL);

    const uint64_t five[] = {10, 20, 30, 40, 50};
    must(clientdb_playlist_add(f.db, "Rock", five, 5), "add");
    must(clientdb_playlist_add(f.db, "Rock", NULL, 0), "add nothing");
    must(clientdb_playlist_add(f.db, "jazz", five + 4, 1), "add by other case");
    assert_int_equal(clientdb_playlist_add(f.db, "Nope", five, 1), CLIENTDB_ENOTFOUND);
    assert_int_equal(clientdb_playlist_add(f.db, "Rock", NULL, 1), CLIENTDB_EINVAL);
    ASSERT_PLAYLIST(f.db, "Rock", 10, 20, 30, 40, 50);
    ASSERT_PLAYLIST(f.db, "ROCK", 10, 20, 30, 40, 50);
    ASSERT_PLAYLIST(f.db, "Jazz", 50);
    uint64_t *ids = (uint64_t *)1;
    size_t n = 7;
    must(clientdb_playlist_tracks(f.db, "Empty", &ids, &n), "empty");
    assert_null(ids);
    assert_int_equal(n, 0);
    assert_int_equal(clientdb_playlist_tracks(f.db, "Nope", &ids, &n), CLIENTDB_ENOTFOUND);

    /* Creation order, with counts. */
    struct clientdb_playlist *p;
    must(clientdb_playlists(f.db, &p, &n), "list");
    assert_int_equal(n, 3);
    assert_string_equal(p[0].name, "Rock");
    assert_int_equal(p[0].count, 5);
    assert_string_equal(p[1].name, "Jazz");
    assert_int_equal(p[1].count, 1);
    assert_string_equal(p[2].name, "Empty");
    assert_int_equal(p[2].count, 0);
    assert_true(p[0].id < p[1].id && p[1].id < p[2].id);
    clientdb_playlists_free(p, n);

    /* Moves both ways; positions stay dense. */
    must(clientdb_playlist_move(f.db, "Rock", 0, 3), "move forward");
    ASSERT_PLAYLIST(f.db, "Rock", 20, 30, 40, 10, 50);
    assert_dense(f.path);
    must(clientdb_playlist_move(f.db, "Rock", 4, 1), "move back");
    ASSERT_PLAYLIST(f.db, "Rock", 20, 50, 30, 40, 10);
    must(clientdb_playlist_move(f.db, "Rock", 2, 2), "move in place");
    must(clientdb_playlist_move(f.db, "Rock", 4, 0), "move last to first");
    ASSERT_PLAYLIST(f.db, "Rock", 10, 20, 50, 30, 40);
    assert_dense(f.path);
    assert_int_equal(clientdb_playlist_move(f.db, "Rock", 5, 0), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_move(f.db, "Rock", 0, 5), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_move(f.db, "Empty", 0, 0), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_move(f.db, "Nope", 0, 0), CLIENTDB_ENOTFOUND);
    ASSERT_PLAYLIST(f.db, "Rock", 10, 20, 50, 30, 40);

    /* Removes: middle, last, first; out of range refused. */
    must(clientdb_playlist_remove(f.db, "Rock", 2), "remove middle");
    ASSERT_PLAYLIST(f.db, "Rock", 10, 20, 30, 40);
    assert_dense(f.path);
    assert_int_equal(clientdb_playlist_remove(f.db, "Rock", 4), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_remove(f.db, "Rock", SIZE_MAX), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_remove(f.db, "Empty", 0), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_playlist_remove(f.db, "Nope", 0), CLIENTDB_ENOTFOUND);
    must(clientdb_playlist_remove(f.db, "Rock", 3), "remove last");
    must(clientdb_playlist_remove(f.db, "Rock", 0), "remove first");
    ASSERT_PLAYLIST(f.db, "Rock", 20, 30);
    assert_dense(f.path);
    /* Appending after removals continues at the end. */
    must(clientdb_playlist_add(f.db, "Rock", five, 2), "add again");
    ASSERT_PLAYLIST(f.db, "Rock", 20, 30, 10, 20);
    assert_dense(f.path);

    /* Renames. */
    assert_int_equal(clientdb_playlist_rename(f.db, "Rock", "Jazz"), CLIENTDB_EEXISTS);
    assert_int_equal(clientdb_playlist_rename(f.db, "Rock", "JAZZ"), CLIENTDB_EEXISTS);
    assert_int_equal(clientdb_playlist_rename(f.db, "Nope", "Other"), CLIENTDB_ENOTFOUND);
    assert_int_equal(clientdb_playlist_rename(f.db, "Rock", ""), CLIENTDB_EINVAL);
    must(clientdb_playlist_rename(f.db, "Rock", "Classic Rock"), "rename");
    must(clientdb_playlist_rename(f.db, "classic rock", "Classic ROCK"), "rename case only");
    assert_int_equal(clientdb_playlist_tracks(f.db, "Rock", &ids, &n), CLIENTDB_ENOTFOUND);
    ASSERT_PLAYLIST(f.db, "Classic ROCK", 20, 30, 10, 20);
    must(clientdb_playlists(f.db, &p, &n), "list");
    assert_string_equal(p[0].name, "Classic ROCK");
    clientdb_playlists_free(p, n);

    /* Deleting takes the items along (foreign keys are on). */
    must(clientdb_playlist_delete(f.db, "Classic Rock"), "delete");
    assert_int_equal(clientdb_playlist_delete(f.db, "Classic Rock"), CLIENTDB_ENOTFOUND);
    assert_int_equal(testutil_sql_int(f.path, "SELECT count(*) FROM playlist_items"), 1);
    must(clientdb_playlists(f.db, &p, &n), "list");
    assert_int_equal(n, 2);
    clientdb_playlists_free(p, n);
    /* The name is free again. */
    must(clientdb_playlist_create(f.db, "rock"), "create again");
    close_fixture(&f);
}

/* ---- playlists kept offline ---- */

static bool kept(struct clientdb *db, const char *name)
{
    bool keep = false;
    must(clientdb_playlist_get_keep(db, name, &keep), "get keep");
    return keep;
}

static void assert_item(const struct clientdb_track_file *it, uint64_t track, int file_seed,
                        bool has_key)
{
    assert_int_equal(it->track_id, track);
    assert_int_equal(it->has_file, file_seed >= 0);
    if (file_seed >= 0) {
        struct content_id want = make_id((unsigned)file_seed);
        assert_memory_equal(it->file.bytes, want.bytes, CONTENT_ID_LEN);
    }
    assert_int_equal(it->has_key, has_key);
}

static void test_keep_offline(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_keep");
    /* tracks 1 and 2 have files (only file 1 a key), 3 has none, 4 is unknown */
    struct clientdb_track t[] = {
        track(1, "One", "A", "B", 1, 1),
        track(2, "Two", "A", "B", 2, 2),
        track(3, "Three", "A", "B", 3, -1),
    };
    must(clientdb_put_tracks(f.db, t, 3), "put tracks");
    put_file_seed(f.db, 1);
    must(clientdb_playlist_create(f.db, "Mix"), "create");
    must(clientdb_playlist_create(f.db, "Other"), "create");
    const uint64_t mix[] = {2, 3, 1, 4, 2};
    must(clientdb_playlist_add(f.db, "Mix", mix, 5), "add");
    const uint64_t other[] = {1};
    must(clientdb_playlist_add(f.db, "Other", other, 1), "add");

    /* New playlists are not kept; the flag is per playlist, by any case. */
    assert_false(kept(f.db, "Mix"));
    must(clientdb_playlist_set_keep(f.db, "mix", true), "keep");
    assert_true(kept(f.db, "MIX"));
    assert_false(kept(f.db, "Other"));
    bool keep = true;
    assert_int_equal(clientdb_playlist_get_keep(f.db, "Nope", &keep), CLIENTDB_ENOTFOUND);
    assert_int_equal(clientdb_playlist_set_keep(f.db, "Nope", true), CLIENTDB_ENOTFOUND);
    struct clientdb_playlist *p;
    size_t n;
    must(clientdb_playlists(f.db, &p, &n), "list");
    assert_int_equal(n, 2);
    assert_true(p[0].keep_offline);
    assert_false(p[1].keep_offline);
    clientdb_playlists_free(p, n);

    /* The items and their files, in order: unknown tracks have none. */
    struct clientdb_track_file *it;
    must(clientdb_playlist_files(f.db, "Mix", &it, &n), "files");
    assert_int_equal(n, 5);
    assert_item(&it[0], 2, 2, false);
    assert_item(&it[1], 3, -1, false);
    assert_item(&it[2], 1, 1, true);
    assert_item(&it[3], 4, -1, false);
    assert_item(&it[4], 2, 2, false);
    free(it);
    assert_int_equal(clientdb_playlist_files(f.db, "Nope", &it, &n), CLIENTDB_ENOTFOUND);

    /* The kept files: items with a file of kept playlists only. */
    must(clientdb_kept_files(f.db, &it, &n), "kept");
    assert_int_equal(n, 3);
    assert_item(&it[0], 2, 2, false);
    assert_item(&it[1], 1, 1, true);
    assert_item(&it[2], 2, 2, false);
    free(it);
    must(clientdb_playlist_set_keep(f.db, "Other", true), "keep other");
    must(clientdb_kept_files(f.db, &it, &n), "kept");
    assert_int_equal(n, 4);
    assert_item(&it[3], 1, 1, true); /* Other comes after Mix (creation order) */
    free(it);

    /* A rename keeps the flag; it survives a reopen; off and delete drop it. */
    must(clientdb_playlist_rename(f.db, "Mix", "Road"), "rename");
    reopen(&f);
    assert_true(kept(f.db, "Road"));
    must(clientdb_playlist_set_keep(f.db, "Road", false), "unkeep");
    assert_false(kept(f.db, "Road"));
    must(clientdb_playlist_delete(f.db, "Other"), "delete");
    must(clientdb_kept_files(f.db, &it, &n), "kept");
    assert_int_equal(n, 0);
    free(it);
    close_fixture(&f);
}

/* A version 1 file (before the keep flag) is upgraded in place: its
 * playlists stay, none kept. */
static void test_upgrade_from_version_1(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_upgrade");
    must(clientdb_playlist_create(f.db, "Old"), "create");
    const uint64_t ids[] = {7, 8};
    must(clientdb_playlist_add(f.db, "Old", ids, 2), "add");
    clientdb_close(f.db);
    f.db = NULL;
    /* what version 1 wrote: the same tables without the column */
    testutil_sql_exec(f.path, "ALTER TABLE playlists DROP COLUMN keep_offline;"
                              " PRAGMA user_version = 1");
    must(clientdb_open(f.path, f.log, &f.db), "open version 1");
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), 2);
    ASSERT_PLAYLIST(f.db, "Old", 7, 8);
    assert_false(kept(f.db, "Old"));
    must(clientdb_playlist_set_keep(f.db, "Old", true), "keep");
    assert_true(kept(f.db, "Old"));
    close_fixture(&f);
}

/* ---- queue ---- */

static void assert_queue_equal(const struct clientdb_queue *got, const struct clientdb_queue *want)
{
    assert_ids(got->ids, got->n, want->ids, want->n);
    if (want->order) {
        assert_non_null(got->order);
        for (size_t i = 0; i < want->n; i++)
            assert_int_equal(got->order[i], want->order[i]);
    } else {
        assert_null(got->order);
    }
    assert_int_equal(got->cursor, want->cursor);
    assert_int_equal(got->position_ms, want->position_ms);
    assert_int_equal(got->repeat, want->repeat);
    assert_int_equal(got->shuffle, want->shuffle);
    assert_int_equal(got->seed, want->seed);
}

static void assert_stored_queue(struct clientdb *db, const struct clientdb_queue *want)
{
    struct clientdb_queue got;
    must(clientdb_load_queue(db, &got), "load queue");
    assert_queue_equal(&got, want);
    clientdb_queue_clear(&got);
}

static void test_queue(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_queue");
    struct clientdb_queue q;
    must(clientdb_load_queue(f.db, &q), "load empty");
    assert_int_equal(q.n, 0);
    assert_null(q.ids);
    assert_null(q.order);
    assert_int_equal(q.cursor, -1);
    clientdb_queue_clear(&q);
    assert_int_equal(clientdb_save_position(f.db, 0, 0), CLIENTDB_EINVAL);
    must(clientdb_save_position(f.db, -1, 0), "no cursor");

    /* In list order. */
    uint64_t ids[] = {7, 8, 9, UINT64_MAX};
    struct clientdb_queue plain = {
        .ids = ids,
        .n = 4,
        .cursor = 2,
        .position_ms = 12345,
        .repeat = QUEUE_REPEAT_ALL,
        .seed = 42,
    };
    must(clientdb_save_queue(f.db, &plain), "save plain");
    assert_stored_queue(f.db, &plain);

    must(clientdb_save_position(f.db, 3, 999), "position");
    plain.cursor = 3;
    plain.position_ms = 999;
    assert_stored_queue(f.db, &plain);
    assert_int_equal(clientdb_save_position(f.db, 4, 0), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_save_position(f.db, -2, 0), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_save_position(f.db, 0, -1), CLIENTDB_EINVAL);
    assert_stored_queue(f.db, &plain);

    /* Shuffled. */
    size_t order[] = {2, 0, 3, 1};
    struct clientdb_queue shuffled = plain;
    shuffled.order = order;
    shuffled.shuffle = true;
    shuffled.repeat = QUEUE_REPEAT_ONE;
    shuffled.seed = UINT64_MAX - 1;
    shuffled.cursor = 0;
    must(clientdb_save_queue(f.db, &shuffled), "save shuffled");
    assert_stored_queue(f.db, &shuffled);

    /* Refused, and the stored queue stays as it was. */
    struct clientdb_queue bad = shuffled;
    bad.cursor = 4;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    bad.cursor = -2;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    bad = shuffled;
    size_t dup[] = {0, 0, 1, 2}, big[] = {0, 1, 2, 4};
    bad.order = dup;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    bad.order = big;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    bad = shuffled;
    bad.repeat = 3;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    bad.repeat = -1;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    bad = shuffled;
    bad.position_ms = -1;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    bad = shuffled;
    bad.ids = NULL;
    assert_int_equal(clientdb_save_queue(f.db, &bad), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_save_queue(f.db, NULL), CLIENTDB_EINVAL);
    assert_stored_queue(f.db, &shuffled);

    /* A damaged shuffle order (edited by hand) loads as none. */
    testutil_sql_exec(f.path, "UPDATE queue SET perm = 0");
    shuffled.order = NULL;
    assert_stored_queue(f.db, &shuffled);
    size_t warned;
    log_lines(&f, "shuffle order", &warned);
    assert_int_equal(warned, 1);

    /* A long queue, then an empty one. */
    enum { LONG = 5000 };
    uint64_t *many = xmalloc(LONG * sizeof(*many));
    size_t *perm = xmalloc(LONG * sizeof(*perm));
    for (size_t i = 0; i < LONG; i++) {
        many[i] = 1000 + i;
        perm[i] = LONG - 1 - i;
    }
    struct clientdb_queue longq = {.ids = many, .n = LONG, .order = perm, .cursor = LONG - 1};
    must(clientdb_save_queue(f.db, &longq), "save long");
    assert_stored_queue(f.db, &longq);
    free(many);
    free(perm);
    struct clientdb_queue empty = {.cursor = -1};
    must(clientdb_save_queue(f.db, &empty), "save empty");
    assert_stored_queue(f.db, &empty);
    assert_int_equal(testutil_sql_int(f.path, "SELECT count(*) FROM queue"), 0);
    close_fixture(&f);
}

/* ---- small values and history ---- */

static void test_state_and_history(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_state");
    assert_int_equal(clientdb_get_int(f.db, "volume", 80), 80);
    must(clientdb_set_int(f.db, "volume", 35), "set");
    assert_int_equal(clientdb_get_int(f.db, "volume", 80), 35);
    must(clientdb_set_int(f.db, "volume", -7), "overwrite");
    assert_int_equal(clientdb_get_int(f.db, "volume", 80), -7);
    must(clientdb_set_int(f.db, "min", INT64_MIN), "set min");
    assert_true(clientdb_get_int(f.db, "min", 0) == INT64_MIN);
    assert_int_equal(clientdb_get_int(f.db, "VOLUME", 1), 1); /* keys are exact */
    assert_int_equal(clientdb_set_int(f.db, "", 1), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_set_int(f.db, NULL, 1), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_get_int(f.db, NULL, 5), 5);

    assert_int_equal(clientdb_history_count(f.db), 0);
    must(clientdb_add_history(f.db, 1, 1790000000000, 180000), "history");
    must(clientdb_add_history(f.db, 1, 1790000200000, 0), "history");
    must(clientdb_add_history(f.db, UINT64_MAX, 1790000400000, 5000), "history");
    assert_int_equal(clientdb_add_history(f.db, 2, 0, -1), CLIENTDB_EINVAL);
    assert_int_equal(clientdb_history_count(f.db), 3);
    close_fixture(&f);
}

/* ---- persistence ---- */

static void test_reopen_persists(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_reopen");
    uint8_t cred[] = {1, 2, 3, 0, 5};
    struct clientdb_login l = {"host:4100", "ada", cred, sizeof(cred), 17};
    must(clientdb_set_login(f.db, &l), "login");
    must(clientdb_playlist_create(f.db, "A"), "create");
    must(clientdb_playlist_create(f.db, "B"), "create");
    const uint64_t ids[] = {3, 1, 2};
    must(clientdb_playlist_add(f.db, "A", ids, 3), "add");
    must(clientdb_playlist_move(f.db, "A", 2, 0), "move");
    size_t order[] = {1, 2, 0};
    struct clientdb_queue q = {
        .ids = (uint64_t *)ids,
        .n = 3,
        .order = order,
        .cursor = 1,
        .position_ms = 4321,
        .repeat = QUEUE_REPEAT_ONE,
        .shuffle = true,
        .seed = 99,
    };
    must(clientdb_save_queue(f.db, &q), "queue");
    must(clientdb_save_position(f.db, 2, 5000), "position");
    must(clientdb_set_int(f.db, "volume", 55), "volume");
    must(clientdb_add_history(f.db, 3, 1, 2), "history");
    struct clientdb_track t = track(3, "T", "A", "B", 1, 3);
    must(clientdb_put_tracks(f.db, &t, 1), "track");
    put_file_seed(f.db, 3);

    reopen(&f);
    struct clientdb_login got;
    must(clientdb_get_login(f.db, &got), "login");
    assert_string_equal(got.address, "host:4100");
    assert_string_equal(got.user, "ada");
    assert_int_equal(got.credential_len, sizeof(cred));
    assert_memory_equal(got.credential, cred, sizeof(cred));
    assert_int_equal(got.issued, 17);
    clientdb_login_clear(&got);
    struct clientdb_playlist *p;
    size_t n;
    must(clientdb_playlists(f.db, &p, &n), "list");
    assert_int_equal(n, 2);
    assert_string_equal(p[0].name, "A");
    assert_string_equal(p[1].name, "B");
    clientdb_playlists_free(p, n);
    ASSERT_PLAYLIST(f.db, "A", 2, 3, 1);
    q.cursor = 2;
    q.position_ms = 5000;
    assert_stored_queue(f.db, &q);
    assert_int_equal(clientdb_get_int(f.db, "volume", 0), 55);
    assert_int_equal(clientdb_history_count(f.db), 1);
    ASSERT_PLAYABLE(f.db, NULL, 0, 3);
    assert_int_equal(file_mode(f.path), 0600);
    close_fixture(&f);
}

/* ---- refusals ---- */

static void test_newer_schema_refused(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_newer");
    must(clientdb_set_int(f.db, "volume", 1), "set");
    clientdb_close(f.db);
    f.db = NULL;
    /* Out of WAL too, as a newer build might leave it: switching it back
     * would already be a write. */
    testutil_sql_exec(f.path, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 3");

    size_t before_len, after_len;
    void *before = testutil_read_file(f.path, &before_len);
    size_t lines = log_lines(&f, "", NULL);
    struct clientdb *db = (struct clientdb *)1;
    assert_int_equal(clientdb_open(f.path, f.log, &db), CLIENTDB_ETOONEW);
    assert_null(db);
    void *after = testutil_read_file(f.path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len); /* untouched */
    free(before);
    free(after);
    size_t with;
    assert_int_equal(log_lines(&f, "schema version 3 is newer", &with), lines + 1);
    assert_int_equal(with, 1);
    assert_int_equal(testutil_sql_int(f.path, "PRAGMA user_version"), 3);
    close_fixture(&f);
}

static void test_garbage_refused(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_garbage");
    clientdb_close(f.db);
    f.db = NULL;
    size_t lines = log_lines(&f, "", NULL);

    /* Not a database at all. */
    char garbage[4096];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)(i * 13 + 5);
    testutil_write_file(f.path, garbage, sizeof(garbage));
    struct clientdb *db = (struct clientdb *)1;
    assert_int_equal(clientdb_open(f.path, f.log, &db), CLIENTDB_EDB);
    assert_null(db);
    size_t with;
    assert_int_equal(log_lines(&f, "", NULL), lines + 1);
    log_lines(&f, "file is not a database", &with);
    assert_int_equal(with, 1);
    log_lines(&f, f.path, &with);
    assert_int_equal(with, 1);
    size_t len;
    void *now = testutil_read_file(f.path, &len);
    assert_int_equal(len, sizeof(garbage));
    assert_memory_equal(now, garbage, len); /* never "repaired" into an empty database */
    free(now);

    /* A real database whose schema page is damaged. */
    testutil_rmtree(f.path);
    must(clientdb_open(f.path, NULL, &db), "open fresh");
    clientdb_close(db);
    size_t dlen;
    uint8_t *bytes = testutil_read_file(f.path, &dlen);
    assert_true(dlen >= 4096);
    memset(bytes + 100, 0xa5, 4096 - 100); /* keeps the 100-byte header */
    testutil_write_file(f.path, bytes, dlen);
    free(bytes);
    assert_int_equal(clientdb_open(f.path, f.log, &db), CLIENTDB_EDB);
    assert_null(db);
    assert_int_equal(log_lines(&f, "", NULL), lines + 2);
    log_lines(&f, "malformed", &with);
    assert_int_equal(with, 1);
    close_fixture(&f);
}

/* ---- a full disk ---- */

/* Stores a manifest of len bytes (too big for the disk the caller made
 * small) under file id 2. */
static int put_big_file(struct fixture *f, size_t len)
{
    uint8_t *big = xcalloc(1, len);
    struct content_id id = make_id(2);
    struct content_key key = make_key(2);
    int rc = clientdb_put_file(f->db, &id, big, len, &key);
    free(big);
    return rc;
}

/* The write failed with CLIENTDB_EDB and one log line giving why; nothing
 * of it was stored, what was there before is intact, and the database
 * goes on working, also after a reopen. */
static void assert_failed_cleanly(struct fixture *f, int rc, size_t lines_before, const char *why)
{
    assert_int_equal(rc, CLIENTDB_EDB);
    size_t with;
    assert_int_equal(log_lines(f, "", NULL), lines_before + 1);
    log_lines(f, why, &with);
    if (with != 1)
        fail_msg("no log line says '%s'", why);
    log_lines(f, "save a file's key", &with);
    assert_int_equal(with, 1);

    struct content_id two = make_id(2), one = make_id(1), three = make_id(3);
    struct content_key got;
    assert_int_equal(clientdb_get_file(f->db, &two, NULL, NULL, &got), CLIENTDB_ENOTFOUND);
    must(clientdb_get_file(f->db, &one, NULL, NULL, &got), "file written before");
    put_file_seed(f->db, 3);
    reopen(f);
    must(clientdb_get_file(f->db, &three, NULL, NULL, &got), "file written after");
    must(clientdb_get_file(f->db, &one, NULL, NULL, &got), "file written before, reopened");
}

/* Without privileges: files may not grow past 256 kB (RLIMIT_FSIZE), and
 * SIGXFSZ is ignored so the write fails with EFBIG. */
static void test_file_size_limit(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_fsize");
    put_file_seed(f.db, 1);
    size_t lines = log_lines(&f, "", NULL);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = (struct rlimit){256 * 1024, old.rlim_max};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = put_big_file(&f, 1 << 20);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_failed_cleanly(&f, rc, lines, "disk I/O error");
    close_fixture(&f);
}

/* A real full disk: a 1 MB tmpfs the test mounts (root or
 * CAP_SYS_ADMIN; skipped otherwise). The log lives outside it. Teardown
 * unmounts it even when the test failed. */
struct small_fs {
    char *dir, *mnt;
    bool mounted;
};

static int small_fs_setup(void **state)
{
    struct small_fs *fs = xcalloc(1, sizeof(*fs));
    fs->dir = testutil_tempdir("cdb_enospc");
    fs->mnt = xasprintf("%s/mnt", fs->dir);
    if (mkdir(fs->mnt, 0700) != 0)
        return -1;
    fs->mounted =
        mount("chorus-test", fs->mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") == 0;
    if (!fs->mounted)
        print_message("SKIP enospc: cannot mount a tmpfs here (%s); needs root or "
                      "CAP_SYS_ADMIN\n",
                      strerror(errno));
    *state = fs;
    return 0;
}

static int small_fs_teardown(void **state)
{
    struct small_fs *fs = *state;
    if (fs->mounted && umount2(fs->mnt, MNT_DETACH) != 0)
        print_message("cannot unmount %s: %s\n", fs->mnt, strerror(errno));
    testutil_rmtree(fs->dir);
    free(fs->mnt);
    free(fs->dir);
    free(fs);
    return 0;
}

static void test_disk_full(void **state)
{
    struct small_fs *fs = *state;
    if (!fs->mounted)
        return;
    struct fixture f = fixture_in(fs->dir, fs->mnt);
    put_file_seed(f.db, 1);
    size_t lines = log_lines(&f, "", NULL);
    int rc = put_big_file(&f, 2 << 20);
    assert_failed_cleanly(&f, rc, lines, "database or disk is full");
    close_fixture(&f);
}

/* ---- two connections ---- */

#define WRITES 200

struct writer_args {
    const char *path;
    int errors;
};

static void *writer_main(void *p)
{
    struct writer_args *w = p;
    struct clientdb *db;
    if (clientdb_open(w->path, NULL, &db) != 0) {
        w->errors++;
        return NULL;
    }
    for (int i = 0; i < WRITES; i++)
        if (clientdb_add_history(db, (uint64_t)i, i, i) != 0)
            w->errors++;
    clientdb_close(db);
    return NULL;
}

/* Another connection's write transaction, committed 200 ms later. */
static void *commit_later(void *raw)
{
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    return NULL;
}

static void test_two_connections(void **state)
{
    (void)state;
    struct fixture f = open_fixture("cdb_two");
    /* `chorus login` in another process while an engine runs. */
    struct clientdb *other;
    must(clientdb_open(f.path, NULL, &other), "open second");
    uint8_t cred[] = {4, 2};
    struct clientdb_login l = {"h:2", "bob", cred, sizeof(cred), 3};
    must(clientdb_set_login(other, &l), "login from the other");
    struct clientdb_login got;
    must(clientdb_get_login(f.db, &got), "seen by the first");
    assert_string_equal(got.user, "bob");
    clientdb_login_clear(&got);
    must(clientdb_playlist_create(f.db, "Mine"), "create");
    assert_int_equal(clientdb_playlist_create(other, "mine"), CLIENTDB_EEXISTS);
    clientdb_close(other);

    /* A write while another process holds the lock waits for it (the busy
     * timeout) instead of failing. */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(f.path, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw, "BEGIN IMMEDIATE; INSERT INTO state VALUES('held', 1)", NULL, NULL, NULL),
        SQLITE_OK);
    pthread_t holder;
    assert_int_equal(pthread_create(&holder, NULL, commit_later, raw), 0);
    uint64_t t0 = testutil_now_ns();
    must(clientdb_set_int(f.db, "waited", 1), "write while locked");
    assert_true(testutil_now_ns() - t0 >= 100 * 1000 * 1000ull);
    pthread_join(holder, NULL);
    sqlite3_close(raw);
    assert_int_equal(clientdb_get_int(f.db, "held", 0), 1);

    /* Writers on both connections at once: the busy timeout serialises. */
    struct writer_args w = {f.path, 0};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, writer_main, &w), 0);
    int errors = 0;
    for (int i = 0; i < WRITES; i++) {
        const uint64_t id = (uint64_t)i;
        errors += clientdb_set_int(f.db, "counter", i) != 0;
        errors += clientdb_playlist_add(f.db, "Mine", &id, 1) != 0;
    }
    pthread_join(thread, NULL);
    assert_int_equal(errors, 0);
    assert_int_equal(w.errors, 0);
    assert_int_equal(clientdb_history_count(f.db), WRITES);
    assert_int_equal(clientdb_get_int(f.db, "counter", -1), WRITES - 1);
    assert_dense(f.path);
    close_fixture(&f);
}

static void test_strerror(void **state)
{
    (void)state;
    const int codes[] = {
        0, CLIENTDB_EDB, CLIENTDB_ENOTFOUND, CLIENTDB_EEXISTS, CLIENTDB_ETOONEW, CLIENTDB_EINVAL,
        -1};
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(clientdb_strerror(codes[i]));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(clientdb_strerror(codes[i]), clientdb_strerror(codes[j]));
    }
    assert_string_equal(clientdb_strerror(CLIENTDB_EEXISTS), "a playlist of that name exists");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_mode_and_schema),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_tracks),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_playable_tracks),
        cmocka_unit_test(test_playlists),
        cmocka_unit_test(test_keep_offline),
        cmocka_unit_test(test_upgrade_from_version_1),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_state_and_history),
        cmocka_unit_test(test_reopen_persists),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test_setup_teardown(test_disk_full, small_fs_setup, small_fs_teardown),
        cmocka_unit_test(test_two_connections),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
