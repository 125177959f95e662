/* catalog: artists, albums and tracks in SQLite, with FTS5 search
 * (contract in catalog.h).
 *
 * Owns one SQLite connection and its prepared statements. Runs on the
 * thread that uses the instance (one at a time); blocks on disk, so the
 * core loop calls it from the threadpool. It must never build SQL from
 * user text: every value is bound to a prepared statement, and search text
 * reaches FTS5 only as quoted phrases.
 *
 * Schema history: MIGRATIONS[v] takes a database from user_version v to
 * v + 1. An applied migration is never edited; a change is a new entry. */
#include "library/catalog.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

static const char *const MIGRATIONS[CATALOG_SCHEMA_VERSION] = {
    /* 1: the library. Names compare case-insensitively, so "Ac/Dc" and
     * "AC/DC" are one artist. The source fingerprint makes re-imports
     * idempotent. */
    "CREATE TABLE artists("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK(name <> ''));"
    "CREATE TABLE albums("
    "  id INTEGER PRIMARY KEY,"
    "  artist_id INTEGER NOT NULL REFERENCES artists(id),"
    "  title TEXT NOT NULL COLLATE NOCASE CHECK(title <> ''),"
    "  date TEXT,"
    "  UNIQUE(artist_id, title));"
    "CREATE TABLE tracks("
    "  id INTEGER PRIMARY KEY,"
    "  album_id INTEGER NOT NULL REFERENCES albums(id),"
    "  artist_id INTEGER NOT NULL REFERENCES artists(id),"
    "  title TEXT NOT NULL CHECK(title <> ''),"
    "  disc_number INTEGER NOT NULL DEFAULT 0,"
    "  track_number INTEGER NOT NULL DEFAULT 0,"
    "  duration_ms INTEGER NOT NULL CHECK(duration_ms >= 0),"
    "  file_id BLOB NOT NULL CHECK(length(file_id) = 32),"
    "  source_sha256 BLOB NOT NULL UNIQUE CHECK(length(source_sha256) = 32),"
    "  source_path TEXT,"
    "  source_size INTEGER,"
    "  source_mtime_ns INTEGER);"
    "CREATE INDEX tracks_by_album ON tracks(album_id, disc_number, track_number);"
    "CREATE INDEX tracks_by_artist ON tracks(artist_id);"
    "CREATE INDEX tracks_by_file ON tracks(file_id);"
    "CREATE INDEX tracks_by_source_path ON tracks(source_path);",

    /* 2: search. An external-content FTS5 index over a view of the names,
     * kept in step by triggers (including renames made by hand in SQL),
     * filled from the existing rows. Title matches weigh most. */
    "CREATE VIEW tracks_fts_source(id, title, artist, album) AS"
    "  SELECT t.id, t.title, ar.name, al.title FROM tracks t"
    "  JOIN artists ar ON ar.id = t.artist_id JOIN albums al ON al.id = t.album_id;"
    "CREATE VIRTUAL TABLE tracks_fts USING fts5(title, artist, album,"
    "  content='tracks_fts_source', content_rowid='id',"
    "  tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER tracks_fts_ai AFTER INSERT ON tracks BEGIN"
    "  INSERT INTO tracks_fts(rowid, title, artist, album) VALUES(new.id, new.title,"
    "    (SELECT name FROM artists WHERE id = new.artist_id),"
    "    (SELECT title FROM albums WHERE id = new.album_id));"
    "END;"
    "CREATE TRIGGER tracks_fts_ad AFTER DELETE ON tracks BEGIN"
    "  INSERT INTO tracks_fts(tracks_fts, rowid, title, artist, album) VALUES('delete',"
    "    old.id, old.title,"
    "    (SELECT name FROM artists WHERE id = old.artist_id),"
    "    (SELECT title FROM albums WHERE id = old.album_id));"
    "END;"
    "CREATE TRIGGER tracks_fts_au AFTER UPDATE OF title, artist_id, album_id ON tracks BEGIN"
    "  INSERT INTO tracks_fts(tracks_fts, rowid, title, artist, album) VALUES('delete',"
    "    old.id, old.title,"
    "    (SELECT name FROM artists WHERE id = old.artist_id),"
    "    (SELECT title FROM albums WHERE id = old.album_id));"
    "  INSERT INTO tracks_fts(rowid, title, artist, album) VALUES(new.id, new.title,"
    "    (SELECT name FROM artists WHERE id = new.artist_id),"
    "    (SELECT title FROM albums WHERE id = new.album_id));"
    "END;"
    "CREATE TRIGGER artists_fts_au AFTER UPDATE OF name ON artists BEGIN"
    "  INSERT INTO tracks_fts(tracks_fts, rowid, title, artist, album)"
    "    SELECT 'delete', t.id, t.title, old.name, al.title FROM tracks t"
    "    JOIN albums al ON al.id = t.album_id WHERE t.artist_id = old.id;"
    "  INSERT INTO tracks_fts(rowid, title, artist, album)"
    "    SELECT t.id, t.title, new.name, al.title FROM tracks t"
    "    JOIN albums al ON al.id = t.album_id WHERE t.artist_id = new.id;"
    "END;"
    "CREATE TRIGGER albums_fts_au AFTER UPDATE OF title ON albums BEGIN"
    "  INSERT INTO tracks_fts(tracks_fts, rowid, title, artist, album)"
    "    SELECT 'delete', t.id, t.title, ar.name, old.title FROM tracks t"
    "    JOIN artists ar ON ar.id = t.artist_id WHERE t.album_id = old.id;"
    "  INSERT INTO tracks_fts(rowid, title, artist, album)"
    "    SELECT t.id, t.title, ar.name, new.title FROM tracks t"
    "    JOIN artists ar ON ar.id = t.artist_id WHERE t.album_id = new.id;"
    "END;"
    "INSERT INTO tracks_fts(tracks_fts, rank) VALUES('rank', 'bm25(10.0, 5.0, 3.0)');"
    "INSERT INTO tracks_fts(tracks_fts) VALUES('rebuild');",
};

#define TRACK_SELECT                                                                               \
    "SELECT t.id, t.title, t.artist_id, ar.name, t.album_id, al.title, aa.name, al.date,"          \
    " t.track_number, t.disc_number, t.duration_ms, t.file_id, t.source_path FROM tracks t"        \
    " JOIN artists ar ON ar.id = t.artist_id JOIN albums al ON al.id = t.album_id"                 \
    " JOIN artists aa ON aa.id = al.artist_id "

enum stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_TRACK_BY_SOURCE,
    ST_TRACK_BY_PATH,
    ST_TRACK_BY_FILE,
    ST_TRACK_SET_FILE,
    ST_ARTIST_INSERT,
    ST_ARTIST_ID,
    ST_ALBUM_INSERT,
    ST_ALBUM_ID,
    ST_ALBUM_SET_DATE,
    ST_TRACK_INSERT,
    ST_COUNTS,
    ST_ARTISTS,
    ST_ARTIST_ALBUMS,
    ST_ALBUM_TRACKS,
    ST_TRACK,
    ST_SEARCH,
    ST_COUNT_
};

static const char *const STMT_SQL[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_TRACK_BY_SOURCE] = "SELECT id, file_id FROM tracks WHERE source_sha256 = ?1",
    [ST_TRACK_BY_PATH] = "SELECT id, file_id FROM tracks WHERE source_path = ?1"
                         " AND source_size = ?2 AND source_mtime_ns = ?3 ORDER BY id LIMIT 1",
    [ST_TRACK_BY_FILE] = "SELECT id FROM tracks WHERE file_id = ?1 ORDER BY id LIMIT 1",
    [ST_TRACK_SET_FILE] = "UPDATE tracks SET file_id = ?2 WHERE id = ?1",
    [ST_ARTIST_INSERT] = "INSERT INTO artists(name) VALUES(?1) ON CONFLICT(name) DO NOTHING",
    [ST_ARTIST_ID] = "SELECT id FROM artists WHERE name = ?1",
    [ST_ALBUM_INSERT] = "INSERT INTO albums(artist_id, title, date) VALUES(?1, ?2, ?3)"
                        " ON CONFLICT(artist_id, title) DO NOTHING",
    [ST_ALBUM_ID] = "SELECT id FROM albums WHERE artist_id = ?1 AND title = ?2",
    [ST_ALBUM_SET_DATE] = "UPDATE albums SET date = ?2 WHERE id = ?1 AND date IS NULL",
    [ST_TRACK_INSERT] = "INSERT INTO tracks(album_id, artist_id, title, disc_number, track_number,"
                        " duration_ms, file_id, source_sha256, source_path, source_size,"
                        " source_mtime_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_COUNTS] = "SELECT (SELECT count(*) FROM artists), (SELECT count(*) FROM albums),"
                  " count(*), coalesce(sum(duration_ms), 0) FROM tracks",
    [ST_ARTISTS] = "SELECT ar.id, ar.name, count(DISTINCT al.id), count(t.id) FROM artists ar"
                   " JOIN albums al ON al.artist_id = ar.id"
                   " LEFT JOIN tracks t ON t.album_id = al.id"
                   " GROUP BY ar.id ORDER BY ar.name, ar.id",
    [ST_ARTIST_ALBUMS] = "SELECT al.id, al.title, al.artist_id, ar.name, al.date, count(t.id),"
                         " coalesce(sum(t.duration_ms), 0) FROM albums al"
                         " JOIN artists ar ON ar.id = al.artist_id"
                         " LEFT JOIN tracks t ON t.album_id = al.id WHERE al.artist_id = ?1"
                         " GROUP BY al.id"
                         " ORDER BY al.date IS NULL, substr(al.date, 1, 4), al.title, al.id",
    [ST_ALBUM_TRACKS] = TRACK_SELECT "WHERE t.album_id = ?1"
                                     " ORDER BY t.disc_number, t.track_number, t.title, t.id",
    [ST_TRACK] = TRACK_SELECT "WHERE t.id = ?1",
    /* Rank and cut in the index first, then join only the hits kept. */
    [ST_SEARCH] = "WITH hits(id, rank) AS (SELECT rowid, rank FROM tracks_fts"
                  " WHERE tracks_fts MATCH ?1 ORDER BY rank, rowid LIMIT ?2) " TRACK_SELECT
                  "JOIN hits h ON h.id = t.id ORDER BY h.rank, t.id",
};

struct catalog {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT_];
    char errmsg[256];
};

/* Maps an SQLite result code to ours and remembers SQLite's message. */
static int fail(struct catalog *cat, sqlite3 *db, int rc)
{
    if (cat)
        snprintf(cat->errmsg, sizeof(cat->errmsg), "%s", db ? sqlite3_errmsg(db) : "");
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return CATALOG_EBUSY;
    case SQLITE_FULL:
        return CATALOG_EFULL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return CATALOG_ECORRUPT;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
        return CATALOG_EOPEN;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
        return CATALOG_EINVAL;
    default:
        return CATALOG_ESQL;
    }
}

static sqlite3_stmt *stmt(struct catalog *cat, enum stmt which)
{
    sqlite3_stmt *s = cat->st[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Runs a statement that returns no rows (or whose rows are not needed). */
static int run(struct catalog *cat, sqlite3_stmt *s)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        rc = fail(cat, cat->db, rc);
        sqlite3_reset(s);
        return rc;
    }
    sqlite3_reset(s);
    return 0;
}

/* Steps a statement expected to give at most one row: 1 row, 0 none, <0. */
static int step_one(struct catalog *cat, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return fail(cat, cat->db, rc);
}

static int get_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

static int too_new(struct catalog *cat, int version)
{
    snprintf(cat->errmsg, sizeof(cat->errmsg),
             "catalog schema version %d is newer than this build's %d", version,
             CATALOG_SCHEMA_VERSION);
    return CATALOG_ETOONEW;
}

/* Brings the schema from version to CATALOG_SCHEMA_VERSION. */
static int migrate(struct catalog *cat, int version)
{
    sqlite3 *db = cat->db;
    if (version == CATALOG_SCHEMA_VERSION)
        return 0;

    /* Another process may migrate at the same time: decide under the lock. */
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail(cat, db, rc);
    rc = get_user_version(db, &version);
    if (rc == SQLITE_OK && version > CATALOG_SCHEMA_VERSION) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return too_new(cat, version);
    }
    for (; rc == SQLITE_OK && version < CATALOG_SCHEMA_VERSION; version++)
        rc = sqlite3_exec(db, MIGRATIONS[version], NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", CATALOG_SCHEMA_VERSION);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int err = fail(cat, db, rc);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err;
    }
    return 0;
}

void catalog_free(struct catalog *cat)
{
    if (!cat)
        return;
    for (int i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(cat->st[i]);
    sqlite3_close(cat->db);
    free(cat);
}

int catalog_open(const char *path, struct catalog **out)
{
    *out = NULL;
    struct catalog *cat = xcalloc(1, sizeof(*cat));
    /* NOMUTEX: an instance is used by one thread at a time (catalog.h). */
    int rc = sqlite3_open_v2(
        path, &cat->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int err = cat->db ? fail(cat, cat->db, rc) : CATALOG_EOPEN;
        catalog_free(cat);
        return err == CATALOG_ESQL ? CATALOG_EOPEN : err;
    }
    sqlite3_extended_result_codes(cat->db, 1);
    sqlite3_busy_timeout(cat->db, 5000);

    /* Check the version before anything writes to the file (WAL mode does). */
    int version = 0;
    rc = get_user_version(cat->db, &version);
    int err = 0;
    if (rc != SQLITE_OK) {
        err = fail(cat, cat->db, rc);
    } else if (version > CATALOG_SCHEMA_VERSION) {
        err = too_new(cat, version);
    } else {
        rc = sqlite3_exec(cat->db,
                          "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;"
                          " PRAGMA synchronous = NORMAL;",
                          NULL, NULL, NULL);
        err = rc == SQLITE_OK ? migrate(cat, version) : fail(cat, cat->db, rc);
    }
    for (int i = 0; err == 0 && i < ST_COUNT_; i++) {
        rc = sqlite3_prepare_v3(cat->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &cat->st[i],
                                NULL);
        if (rc != SQLITE_OK)
            err = fail(cat, cat->db, rc);
    }
    if (err != 0) {
        catalog_free(cat);
        return err;
    }
    *out = cat;
    return 0;
}

/* Copy of s without leading/trailing white space; NULL when nothing is left. */
static char *trimmed(const char *s)
{
    if (!s)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return n ? xstrndup(s, n) : NULL;
}

static int artist_id(struct catalog *cat, const char *name, int64_t *id)
{
    sqlite3_stmt *s = stmt(cat, ST_ARTIST_INSERT);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = run(cat, s);
    if (rc != 0)
        return rc;
    s = stmt(cat, ST_ARTIST_ID);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc = step_one(cat, s);
    if (rc == 1)
        *id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CATALOG_ESQL : rc;
}

static int album_id(struct catalog *cat, int64_t artist, const char *title, const char *date,
                    int64_t *id)
{
    sqlite3_stmt *s = stmt(cat, ST_ALBUM_INSERT);
    sqlite3_bind_int64(s, 1, artist);
    sqlite3_bind_text(s, 2, title, -1, SQLITE_STATIC);
    if (date)
        sqlite3_bind_text(s, 3, date, -1, SQLITE_STATIC);
    int rc = run(cat, s);
    if (rc != 0)
        return rc;
    s = stmt(cat, ST_ALBUM_ID);
    sqlite3_bind_int64(s, 1, artist);
    sqlite3_bind_text(s, 2, title, -1, SQLITE_STATIC);
    rc = step_one(cat, s);
    if (rc == 1)
        *id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != 1)
        return rc == 0 ? CATALOG_ESQL : rc;
    if (!date)
        return 0;
    s = stmt(cat, ST_ALBUM_SET_DATE);
    sqlite3_bind_int64(s, 1, *id);
    sqlite3_bind_text(s, 2, date, -1, SQLITE_STATIC);
    return run(cat, s);
}

/* The id and file of the track imported from this fingerprint: 1, 0 none. */
static int track_by_source(struct catalog *cat, const uint8_t *sha256, int64_t *track_id,
                           struct content_id *file_id)
{
    sqlite3_stmt *s = stmt(cat, ST_TRACK_BY_SOURCE);
    sqlite3_bind_blob(s, 1, sha256, CATALOG_FINGERPRINT_LEN, SQLITE_STATIC);
    int rc = step_one(cat, s);
    if (rc == 1) {
        if (track_id)
            *track_id = sqlite3_column_int64(s, 0);
        if (file_id && sqlite3_column_bytes(s, 1) == CONTENT_ID_LEN)
            memcpy(file_id->bytes, sqlite3_column_blob(s, 1), CONTENT_ID_LEN);
    }
    sqlite3_reset(s);
    return rc;
}

struct names {
    char *title, *artist, *album, *album_artist, *date;
};

static void names_free(struct names *n)
{
    free(n->title);
    free(n->artist);
    free(n->album);
    free(n->album_artist);
    free(n->date);
}

static int insert_track(struct catalog *cat, const struct catalog_track_info *info,
                        const struct names *n, int64_t *track_id)
{
    int64_t artist, album_artist, album;
    int rc = artist_id(cat, n->artist, &artist);
    album_artist = artist;
    if (rc == 0 && n->album_artist)
        rc = artist_id(cat, n->album_artist, &album_artist);
    if (rc == 0)
        rc = album_id(cat, album_artist, n->album, n->date, &album);
    if (rc != 0)
        return rc;
    sqlite3_stmt *s = stmt(cat, ST_TRACK_INSERT);
    sqlite3_bind_int64(s, 1, album);
    sqlite3_bind_int64(s, 2, artist);
    sqlite3_bind_text(s, 3, n->title, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, info->disc_number);
    sqlite3_bind_int(s, 5, info->track_number);
    sqlite3_bind_int64(s, 6, info->duration_ms);
    sqlite3_bind_blob(s, 7, info->file_id.bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(s, 8, info->source_sha256, CATALOG_FINGERPRINT_LEN, SQLITE_STATIC);
    if (info->source_path) {
        sqlite3_bind_text(s, 9, info->source_path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 10, (int64_t)info->source_size);
        sqlite3_bind_int64(s, 11, info->source_mtime_ns);
    }
    rc = run(cat, s);
    if (rc == 0)
        *track_id = sqlite3_last_insert_rowid(cat->db);
    return rc;
}

int catalog_add_track(struct catalog *cat, const struct catalog_track_info *info, int64_t *track_id,
                      bool *added)
{
    if (added)
        *added = false;
    struct names n = {
        .title = trimmed(info->title),
        .artist = trimmed(info->artist),
        .album = trimmed(info->album),
        .album_artist = trimmed(info->album_artist),
        .date = trimmed(info->date),
    };
    if (!n.title || !n.artist || !n.album || info->duration_ms < 0 || info->track_number < 0 ||
        info->disc_number < 0) {
        names_free(&n);
        snprintf(cat->errmsg, sizeof(cat->errmsg), "track needs a title, artist and album");
        return CATALOG_EINVAL;
    }

    int rc = run(cat, stmt(cat, ST_BEGIN));
    if (rc != 0) {
        names_free(&n);
        return rc;
    }
    int64_t id = 0;
    /* Inside the transaction: a concurrent importer cannot slip in between. */
    rc = track_by_source(cat, info->source_sha256, &id, NULL);
    bool is_new = rc == 0;
    if (is_new)
        rc = insert_track(cat, info, &n, &id);
    else if (rc == 1)
        rc = 0;
    if (rc == 0)
        rc = run(cat, stmt(cat, ST_COMMIT));
    if (rc != 0) {
        char keep[sizeof(cat->errmsg)];
        memcpy(keep, cat->errmsg, sizeof(keep));
        run(cat, stmt(cat, ST_ROLLBACK));
        memcpy(cat->errmsg, keep, sizeof(keep));
    }
    names_free(&n);
    if (rc != 0)
        return rc;
    if (track_id)
        *track_id = id;
    if (added)
        *added = is_new;
    return 0;
}

int catalog_find_source(struct catalog *cat, const uint8_t sha256[CATALOG_FINGERPRINT_LEN],
                        struct content_id *file_id, int64_t *track_id)
{
    int rc = track_by_source(cat, sha256, track_id, file_id);
    return rc == 1 ? 0 : rc == 0 ? CATALOG_ENOTFOUND : rc;
}

int catalog_find_source_path(struct catalog *cat, const char *path, uint64_t size, int64_t mtime_ns,
                             struct content_id *file_id, int64_t *track_id)
{
    sqlite3_stmt *s = stmt(cat, ST_TRACK_BY_PATH);
    sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)size);
    sqlite3_bind_int64(s, 3, mtime_ns);
    int rc = step_one(cat, s);
    if (rc == 1) {
        if (track_id)
            *track_id = sqlite3_column_int64(s, 0);
        if (file_id && sqlite3_column_bytes(s, 1) == CONTENT_ID_LEN)
            memcpy(file_id->bytes, sqlite3_column_blob(s, 1), CONTENT_ID_LEN);
    }
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CATALOG_ENOTFOUND : rc;
}

int catalog_find_file(struct catalog *cat, const struct content_id *file_id, int64_t *track_id)
{
    sqlite3_stmt *s = stmt(cat, ST_TRACK_BY_FILE);
    sqlite3_bind_blob(s, 1, file_id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    int rc = step_one(cat, s);
    if (rc == 1 && track_id)
        *track_id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CATALOG_ENOTFOUND : rc;
}

int catalog_set_track_file(struct catalog *cat, int64_t track_id, const struct content_id *file_id)
{
    sqlite3_stmt *s = stmt(cat, ST_TRACK_SET_FILE);
    sqlite3_bind_int64(s, 1, track_id);
    sqlite3_bind_blob(s, 2, file_id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    int rc = run(cat, s);
    if (rc == 0 && sqlite3_changes(cat->db) == 0)
        rc = CATALOG_ENOTFOUND;
    return rc;
}

int catalog_counts(struct catalog *cat, struct catalog_counts *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(cat, ST_COUNTS);
    int rc = step_one(cat, s);
    if (rc == 1) {
        out->artists = sqlite3_column_int64(s, 0);
        out->albums = sqlite3_column_int64(s, 1);
        out->tracks = sqlite3_column_int64(s, 2);
        out->duration_ms = sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CATALOG_ESQL : rc;
}

static char *col_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? xstrdup((const char *)t) : NULL;
}

static int year_of(const char *date)
{
    if (!date)
        return 0;
    int year = 0;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)date[i]))
            return 0;
        year = year * 10 + (date[i] - '0');
    }
    return year;
}

/* Collects every row of s into a growing array of item_size items, filled
 * by fill; on error frees what was filled with clear. */
typedef void (*fill_fn)(sqlite3_stmt *s, void *item);
typedef void (*clear_fn)(void *item);

static void free_items(void *items, size_t count, size_t item_size, clear_fn clear)
{
    for (size_t i = 0; i < count; i++)
        clear((char *)items + i * item_size);
    free(items);
}

static int collect(struct catalog *cat, sqlite3_stmt *s, size_t item_size, fill_fn fill,
                   clear_fn clear, void **items, size_t *count)
{
    *items = NULL;
    *count = 0;
    size_t cap = 0, n = 0;
    char *arr = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            arr = xrealloc(arr, cap * item_size);
        }
        memset(arr + n * item_size, 0, item_size);
        fill(s, arr + n * item_size);
        n++;
    }
    if (rc != SQLITE_DONE) {
        rc = fail(cat, cat->db, rc);
        sqlite3_reset(s);
        free_items(arr, n, item_size, clear);
        return rc;
    }
    sqlite3_reset(s);
    *items = arr;
    *count = n;
    return 0;
}

static void fill_artist(sqlite3_stmt *s, void *item)
{
    struct catalog_artist *a = item;
    a->id = sqlite3_column_int64(s, 0);
    a->name = col_text(s, 1);
    a->album_count = sqlite3_column_int64(s, 2);
    a->track_count = sqlite3_column_int64(s, 3);
}

static void clear_artist(void *item)
{
    struct catalog_artist *a = item;
    free(a->name);
}

static void fill_album(sqlite3_stmt *s, void *item)
{
    struct catalog_album *a = item;
    a->id = sqlite3_column_int64(s, 0);
    a->title = col_text(s, 1);
    a->artist_id = sqlite3_column_int64(s, 2);
    a->artist = col_text(s, 3);
    a->date = col_text(s, 4);
    a->year = year_of(a->date);
    a->track_count = sqlite3_column_int64(s, 5);
    a->duration_ms = sqlite3_column_int64(s, 6);
}

static void clear_album(void *item)
{
    struct catalog_album *a = item;
    free(a->title);
    free(a->artist);
    free(a->date);
}

/* Fills from a TRACK_SELECT row. */
static void fill_track(sqlite3_stmt *s, void *item)
{
    struct catalog_track *t = item;
    t->id = sqlite3_column_int64(s, 0);
    t->title = col_text(s, 1);
    t->artist_id = sqlite3_column_int64(s, 2);
    t->artist = col_text(s, 3);
    t->album_id = sqlite3_column_int64(s, 4);
    t->album = col_text(s, 5);
    t->album_artist = col_text(s, 6);
    t->date = col_text(s, 7);
    t->track_number = sqlite3_column_int(s, 8);
    t->disc_number = sqlite3_column_int(s, 9);
    t->duration_ms = sqlite3_column_int64(s, 10);
    if (sqlite3_column_bytes(s, 11) == CONTENT_ID_LEN)
        memcpy(t->file_id.bytes, sqlite3_column_blob(s, 11), CONTENT_ID_LEN);
    t->source_path = col_text(s, 12);
}

static void clear_track(void *item)
{
    catalog_track_clear(item);
}

void catalog_track_clear(struct catalog_track *t)
{
    if (!t)
        return;
    free(t->title);
    free(t->artist);
    free(t->album);
    free(t->album_artist);
    free(t->date);
    free(t->source_path);
    memset(t, 0, sizeof(*t));
}

int catalog_list_artists(struct catalog *cat, struct catalog_artist_list *out)
{
    return collect(cat, stmt(cat, ST_ARTISTS), sizeof(*out->items), fill_artist, clear_artist,
                   (void **)&out->items, &out->count);
}

int catalog_artist_albums(struct catalog *cat, int64_t artist_id, struct catalog_album_list *out)
{
    sqlite3_stmt *s = stmt(cat, ST_ARTIST_ALBUMS);
    sqlite3_bind_int64(s, 1, artist_id);
    return collect(cat, s, sizeof(*out->items), fill_album, clear_album, (void **)&out->items,
                   &out->count);
}

int catalog_album_tracks(struct catalog *cat, int64_t album_id, struct catalog_track_list *out)
{
    sqlite3_stmt *s = stmt(cat, ST_ALBUM_TRACKS);
    sqlite3_bind_int64(s, 1, album_id);
    return collect(cat, s, sizeof(*out->items), fill_track, clear_track, (void **)&out->items,
                   &out->count);
}

int catalog_get_track(struct catalog *cat, int64_t track_id, struct catalog_track *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(cat, ST_TRACK);
    sqlite3_bind_int64(s, 1, track_id);
    int rc = step_one(cat, s);
    if (rc == 1)
        fill_track(s, out);
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CATALOG_ENOTFOUND : rc;
}

/* A word that can hold a token: unicode61 splits on ASCII punctuation, so
 * a word of ASCII punctuation alone would be an empty phrase. */
static bool has_token_char(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isalnum((unsigned char)w[i]) || (unsigned char)w[i] >= 0x80)
            return true;
    return false;
}

/* The FTS5 query for user text: every word as a quoted phrase ("" inside
 * doubled), all required, the last one a prefix. NULL when no words. */
static char *fts_query(const char *text)
{
    /* Each word of n bytes becomes at most 2n + 3 bytes: 3 * strlen + 8 fits. */
    size_t cap = 3 * strlen(text) + 8, len = 0;
    char *q = xmalloc(cap);
    const char *p = text;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - w);
        if (n == 0 || !has_token_char(w, n))
            continue;
        if (len)
            q[len++] = ' ';
        q[len++] = '"';
        for (size_t i = 0; i < n; i++) {
            if (w[i] == '"')
                q[len++] = '"';
            q[len++] = w[i];
        }
        q[len++] = '"';
    }
    if (len == 0) {
        free(q);
        return NULL;
    }
    q[len++] = '*';
    q[len] = '\0';
    return q;
}

int catalog_search(struct catalog *cat, const char *text, size_t limit,
                   struct catalog_track_list *out)
{
    out->items = NULL;
    out->count = 0;
    char *q = fts_query(text);
    if (!q)
        return 0;
    sqlite3_stmt *s = stmt(cat, ST_SEARCH);
    sqlite3_bind_text(s, 1, q, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, limit == 0 || limit > (size_t)INT64_MAX ? -1 : (int64_t)limit);
    free(q);
    return collect(cat, s, sizeof(*out->items), fill_track, clear_track, (void **)&out->items,
                   &out->count);
}

void catalog_artist_list_free(struct catalog_artist_list *l)
{
    free_items(l->items, l->count, sizeof(*l->items), clear_artist);
    *l = (struct catalog_artist_list){0};
}

void catalog_album_list_free(struct catalog_album_list *l)
{
    free_items(l->items, l->count, sizeof(*l->items), clear_album);
    *l = (struct catalog_album_list){0};
}

void catalog_track_list_free(struct catalog_track_list *l)
{
    free_items(l->items, l->count, sizeof(*l->items), clear_track);
    *l = (struct catalog_track_list){0};
}

const char *catalog_errmsg(struct catalog *cat)
{
    return cat->errmsg;
}

const char *catalog_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case CATALOG_ESQL:
        return "catalog database error";
    case CATALOG_ETOONEW:
        return "catalog was made by a newer version of Chorus";
    case CATALOG_ENOTFOUND:
        return "not in the catalog";
    case CATALOG_EINVAL:
        return "invalid catalog entry";
    case CATALOG_EOPEN:
        return "cannot open or create the catalog database";
    case CATALOG_ECORRUPT:
        return "catalog database is damaged or not a database";
    case CATALOG_EBUSY:
        return "catalog database is locked by another process";
    case CATALOG_EFULL:
        return "disk full while writing the catalog";
    default:
        return "unknown catalog error";
    }
}
