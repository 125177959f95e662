/* clientdb: the client's own SQLite database, chorus.db (contract in
 * clientdb.h).
 *
 * Owns one SQLite connection and its prepared statements; nothing else. It
 * runs on the thread that holds the instance (the engine's loop, or the
 * main thread of `chorus login`), one thread at a time. Every call is one
 * short statement or one short transaction; a second process is waited for
 * through the busy timeout, never longer.
 *
 * It must never: build SQL from user text (every value is bound; a search
 * word only ever reaches LIKE as a bound, escaped pattern), write the
 * credential or a content key to the log, keep a transaction open across
 * calls, or wait on anything but SQLite's own lock.
 *
 * The file is created 0600 before SQLite sees it, because SQLite would
 * create it 0644 and its -wal and -shm files copy the main file's mode.
 * secure_delete overwrites what a DELETE frees, so a forgotten credential
 * does not linger in free pages.
 *
 * Schema history: MIGRATIONS[v] takes a database from user_version v to
 * v + 1. An applied migration is never edited; a change is a new entry. */
#include "core/clientdb.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xmalloc.h"
#include "core/queue.h"

#define MOD             "clientdb"
#define SCHEMA_VERSION  2
#define BUSY_TIMEOUT_MS 5000

static const char *const MIGRATIONS[SCHEMA_VERSION] = {
    /* 1: everything. Track ids, file ids and the queue carry no foreign
     * keys: a playlist or the queue may name a track this client has not
     * seen yet. Playlist names compare case-insensitively (ASCII). */
    "CREATE TABLE login("
    "  id INTEGER PRIMARY KEY CHECK(id = 1),"
    "  address TEXT NOT NULL,"
    "  user TEXT NOT NULL,"
    "  credential BLOB NOT NULL,"
    "  issued INTEGER NOT NULL);"
    "CREATE TABLE tracks("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL,"
    "  artist TEXT NOT NULL,"
    "  album TEXT NOT NULL,"
    "  artist_id INTEGER NOT NULL,"
    "  album_id INTEGER NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  duration_ms INTEGER NOT NULL,"
    "  file_id BLOB CHECK(file_id IS NULL OR length(file_id) = 32));"
    "CREATE INDEX tracks_by_file ON tracks(file_id);"
    "CREATE TABLE files("
    "  id BLOB PRIMARY KEY CHECK(length(id) = 32),"
    "  manifest BLOB NOT NULL,"
    "  content_key BLOB NOT NULL CHECK(length(content_key) = 16)) WITHOUT ROWID;"
    "CREATE TABLE playlists("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK(name <> ''));"
    "CREATE TABLE playlist_items("
    "  playlist_id INTEGER NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,"
    "  pos INTEGER NOT NULL,"
    "  track_id INTEGER NOT NULL,"
    "  PRIMARY KEY(playlist_id, pos)) WITHOUT ROWID;"
    /* perm at row pos is order[pos] of the shuffle permutation (NULL when
     * the queue has none). */
    "CREATE TABLE queue("
    "  pos INTEGER PRIMARY KEY,"
    "  track_id INTEGER NOT NULL,"
    "  perm INTEGER);"
    "CREATE TABLE queue_state("
    "  id INTEGER PRIMARY KEY CHECK(id = 1),"
    "  cursor INTEGER NOT NULL DEFAULT -1,"
    "  position_ms INTEGER NOT NULL DEFAULT 0,"
    "  repeat INTEGER NOT NULL DEFAULT 0,"
    "  shuffle INTEGER NOT NULL DEFAULT 0,"
    "  seed INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO queue_state(id) VALUES(1);"
    "CREATE TABLE state("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE history("
    "  id INTEGER PRIMARY KEY,"
    "  track_id INTEGER NOT NULL,"
    "  started INTEGER NOT NULL,"
    "  heard_ms INTEGER NOT NULL);",
    /* 2: playlists kept offline (their files pinned in the cache). */
    "ALTER TABLE playlists ADD COLUMN keep_offline INTEGER NOT NULL DEFAULT 0"
    "  CHECK(keep_offline IN (0, 1));",
};

#define TRACK_COLS                                                                                 \
    "t.id, t.title, t.artist, t.album, t.artist_id, t.album_id, t.number, t.duration_ms, "         \
    "t.file_id"

enum stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_LOGIN_SET,
    ST_LOGIN_GET,
    ST_LOGIN_DEL,
    ST_TRACK_PUT,
    ST_TRACK_GET,
    ST_FILE_PUT,
    ST_FILE_GET,
    ST_PL_CREATE,
    ST_PL_RENAME,
    ST_PL_DELETE,
    ST_PL_LIST,
    ST_PL_FIND,
    ST_PL_KEEP_SET,
    ST_PL_KEEP_GET,
    ST_PL_FILES,
    ST_KEPT_FILES,
    ST_ITEMS,
    ST_ITEM_ADD,
    ST_ITEM_DEL,
    ST_ITEM_PARK,
    ST_ITEMS_SHIFT,
    ST_ITEMS_FLIP,
    ST_QUEUE_CLEAR,
    ST_QUEUE_ADD,
    ST_QUEUE_ITEMS,
    ST_QUEUE_STATE_SET,
    ST_QUEUE_STATE_GET,
    ST_QUEUE_POSITION,
    ST_INT_SET,
    ST_INT_GET,
    ST_HISTORY_ADD,
    ST_HISTORY_COUNT,
    ST_COUNT_
};

static const char *const STMT_SQL[ST_COUNT_] = {
    /* IMMEDIATE: take the write lock up front, so a second process makes
     * us wait in the busy handler instead of failing at the first write. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_LOGIN_SET] = "INSERT OR REPLACE INTO login(id, address, user, credential, issued)"
                     " VALUES(1, ?1, ?2, ?3, ?4)",
    [ST_LOGIN_GET] = "SELECT address, user, credential, issued FROM login WHERE id = 1",
    [ST_LOGIN_DEL] = "DELETE FROM login",
    /* A row without a file keeps the file id it had: a catalog track never
     * loses its file; nor its artist or album id to an answer (a search)
     * that does not carry them (0). */
    [ST_TRACK_PUT] = "INSERT INTO tracks(id, title, artist, album, artist_id, album_id, number,"
                     " duration_ms, file_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                     " ON CONFLICT(id) DO UPDATE SET title = excluded.title,"
                     " artist = excluded.artist, album = excluded.album,"
                     " artist_id = coalesce(nullif(excluded.artist_id, 0), artist_id),"
                     " album_id = coalesce(nullif(excluded.album_id, 0), album_id),"
                     " number = excluded.number, duration_ms = excluded.duration_ms,"
                     " file_id = coalesce(excluded.file_id, file_id)",
    [ST_TRACK_GET] = "SELECT " TRACK_COLS " FROM tracks t WHERE t.id = ?1",
    [ST_FILE_PUT] = "INSERT OR REPLACE INTO files(id, manifest, content_key) VALUES(?1, ?2, ?3)",
    [ST_FILE_GET] = "SELECT manifest, content_key FROM files WHERE id = ?1",
    [ST_PL_CREATE] = "INSERT INTO playlists(name) VALUES(?1)",
    [ST_PL_RENAME] = "UPDATE playlists SET name = ?2 WHERE name = ?1",
    [ST_PL_DELETE] = "DELETE FROM playlists WHERE name = ?1",
    [ST_PL_LIST] = "SELECT p.id, p.name, (SELECT count(*) FROM playlist_items i"
                   " WHERE i.playlist_id = p.id), p.keep_offline FROM playlists p ORDER BY p.id",
    [ST_PL_FIND] = "SELECT p.id, (SELECT count(*) FROM playlist_items i"
                   " WHERE i.playlist_id = p.id) FROM playlists p WHERE p.name = ?1",
    [ST_PL_KEEP_SET] = "UPDATE playlists SET keep_offline = ?2 WHERE name = ?1",
    [ST_PL_KEEP_GET] = "SELECT keep_offline FROM playlists WHERE name = ?1",
    /* Both list (track, file id or NULL, key known) rows, in playlist
     * order; a track this client has not seen has no file. */
    [ST_PL_FILES] = "SELECT i.track_id, t.file_id, f.id IS NOT NULL FROM playlist_items i"
                    " LEFT JOIN tracks t ON t.id = i.track_id LEFT JOIN files f ON f.id = t.file_id"
                    " WHERE i.playlist_id = ?1 ORDER BY i.pos",
    [ST_KEPT_FILES] = "SELECT i.track_id, t.file_id, f.id IS NOT NULL FROM playlists p"
                      " JOIN playlist_items i ON i.playlist_id = p.id"
                      " JOIN tracks t ON t.id = i.track_id LEFT JOIN files f ON f.id = t.file_id"
                      " WHERE p.keep_offline <> 0 AND t.file_id IS NOT NULL ORDER BY p.id, i.pos",
    [ST_ITEMS] = "SELECT track_id FROM playlist_items WHERE playlist_id = ?1 ORDER BY pos",
    [ST_ITEM_ADD] = "INSERT INTO playlist_items(playlist_id, pos, track_id) VALUES(?1, ?2, ?3)",
    [ST_ITEM_DEL] = "DELETE FROM playlist_items WHERE playlist_id = ?1 AND pos = ?2",
    /* SQLite checks the (playlist, pos) key row by row, so pos = pos - 1
     * in place collides midway. Renumbering parks every row it moves at
     * -1 - (its new position), which are distinct and free, then flips
     * the parked rows back. */
    [ST_ITEM_PARK] = "UPDATE playlist_items SET pos = -1 - ?3 WHERE playlist_id = ?1 AND pos = ?2",
    [ST_ITEMS_SHIFT] = "UPDATE playlist_items SET pos = -1 - (pos + ?4)"
                       " WHERE playlist_id = ?1 AND pos BETWEEN ?2 AND ?3",
    [ST_ITEMS_FLIP] = "UPDATE playlist_items SET pos = -1 - pos WHERE playlist_id = ?1 AND pos < 0",
    [ST_QUEUE_CLEAR] = "DELETE FROM queue",
    [ST_QUEUE_ADD] = "INSERT INTO queue(pos, track_id, perm) VALUES(?1, ?2, ?3)",
    [ST_QUEUE_ITEMS] = "SELECT track_id, perm FROM queue ORDER BY pos",
    [ST_QUEUE_STATE_SET] = "INSERT OR REPLACE INTO queue_state(id, cursor, position_ms, repeat,"
                           " shuffle, seed) VALUES(1, ?1, ?2, ?3, ?4, ?5)",
    [ST_QUEUE_STATE_GET] = "SELECT cursor, position_ms, repeat, shuffle, seed FROM queue_state"
                           " WHERE id = 1",
    /* Changes no row when the cursor is past the stored queue. */
    [ST_QUEUE_POSITION] = "UPDATE queue_state SET cursor = ?1, position_ms = ?2"
                          " WHERE id = 1 AND ?1 < (SELECT count(*) FROM queue)",
    [ST_INT_SET] = "INSERT INTO state(name, value) VALUES(?1, ?2)"
                   " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    [ST_INT_GET] = "SELECT value FROM state WHERE name = ?1",
    [ST_HISTORY_ADD] = "INSERT INTO history(track_id, started, heard_ms) VALUES(?1, ?2, ?3)",
    [ST_HISTORY_COUNT] = "SELECT count(*) FROM history",
};

struct clientdb {
    sqlite3 *db;
    struct clog *log;
    char *path;
    sqlite3_stmt *st[ST_COUNT_];
};

/* Logs SQLite's message for a failed step (the one log line of the
 * failure) and maps it to CLIENTDB_EDB. */
static int fail(struct clientdb *db, int rc, const char *what)
{
    clog_error(db->log, MOD, "%s: %s: %s", db->path, what,
               db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
    return CLIENTDB_EDB;
}

static sqlite3_stmt *stmt(struct clientdb *db, enum stmt which)
{
    sqlite3_stmt *s = db->st[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Runs a statement that returns no row. */
static int run(struct clientdb *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int err = rc == SQLITE_DONE ? 0 : fail(db, rc, what);
    sqlite3_reset(s);
    return err;
}

/* Steps a statement that gives at most one row: 1 row, 0 none, <0 error.
 * The caller resets it after reading the row. */
static int step_one(struct clientdb *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : fail(db, rc, what);
}

static int exec(struct clientdb *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(db, rc, what);
}

static int begin(struct clientdb *db)
{
    return run(db, stmt(db, ST_BEGIN), "begin");
}

/* Ends the transaction begin() opened: commits when err is 0, else rolls
 * back. Returns err, or the commit's error. */
static int finish(struct clientdb *db, int err)
{
    if (!err)
        err = run(db, stmt(db, ST_COMMIT), "commit");
    /* SQLite may have rolled back already (a full disk does). */
    if (err && !sqlite3_get_autocommit(db->db)) {
        sqlite3_stmt *s = stmt(db, ST_ROLLBACK);
        sqlite3_step(s);
        sqlite3_reset(s);
    }
    return err;
}

static char *col_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return xstrdup(t ? (const char *)t : "");
}

static uint8_t *col_blob(sqlite3_stmt *s, int col, size_t *len)
{
    const void *b = sqlite3_column_blob(s, col);
    *len = (size_t)sqlite3_column_bytes(s, col);
    uint8_t *out = xmalloc(*len ? *len : 1);
    if (*len)
        memcpy(out, b, *len);
    return out;
}

/* Collects every row of s into a new array of size-byte items filled by
 * fill; on error frees what was filled (clear may be NULL). */
typedef void (*fill_fn)(sqlite3_stmt *s, void *item);
typedef void (*clear_fn)(void *item);

static void free_items(void *items, size_t n, size_t size, clear_fn clear)
{
    for (size_t i = 0; clear && i < n; i++)
        clear((char *)items + i * size);
    free(items);
}

static int collect(struct clientdb *db, sqlite3_stmt *s, size_t size, fill_fn fill, clear_fn clear,
                   const char *what, void **items, size_t *count)
{
    size_t n = 0, cap = 0;
    char *arr = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            arr = xrealloc(arr, cap * size);
        }
        memset(arr + n * size, 0, size);
        fill(s, arr + n * size);
        n++;
    }
    int err = rc == SQLITE_DONE ? 0 : fail(db, rc, what);
    sqlite3_reset(s);
    if (err) {
        free_items(arr, n, size, clear);
        arr = NULL;
        n = 0;
    }
    *items = arr;
    *count = n;
    return err;
}

/* ---- open and close ---- */

static bool mode_too_wide(mode_t mode)
{
    return (mode & 077) != 0;
}

/* Creates path 0600 when missing; narrows it, and a -wal or -shm file a
 * crash left behind, when group or others may read them. */
static int restrict_mode(const char *path, struct clog *log)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        clog_error(log, MOD, "%s: cannot open: %s", path, strerror(errno));
        return CLIENTDB_EDB;
    }
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && (!mode_too_wide(st.st_mode) || fchmod(fd, 0600) == 0);
    if (!ok)
        clog_error(log, MOD, "%s: cannot make it private (0600): %s", path, strerror(errno));
    close(fd);
    static const char *const sidecars[] = {"-wal", "-shm"};
    for (size_t i = 0; ok && i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
        char *p = xasprintf("%s%s", path, sidecars[i]);
        if (stat(p, &st) == 0 && mode_too_wide(st.st_mode) && chmod(p, 0600) != 0) {
            clog_error(log, MOD, "%s: cannot make it private (0600): %s", p, strerror(errno));
            ok = false;
        }
        free(p);
    }
    return ok ? 0 : CLIENTDB_EDB;
}

static int user_version(struct clientdb *db, int *version)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return fail(db, rc, "read the schema version");
    rc = sqlite3_step(s);
    int err = rc == SQLITE_ROW ? 0 : fail(db, rc, "read the schema version");
    if (!err)
        *version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return err;
}

static int too_new(struct clientdb *db, int version)
{
    clog_error(db->log, MOD, "%s: schema version %d is newer than this build's %d", db->path,
               version, SCHEMA_VERSION);
    return CLIENTDB_ETOONEW;
}

/* Brings the schema from version to SCHEMA_VERSION. */
static int migrate(struct clientdb *db, int version)
{
    if (version == SCHEMA_VERSION)
        return 0;
    /* Another process may migrate at the same time: decide under the lock. */
    int err = exec(db, "BEGIN IMMEDIATE", "migrate");
    if (err)
        return err;
    err = user_version(db, &version);
    if (!err && version > SCHEMA_VERSION)
        err = too_new(db, version);
    for (; !err && version < SCHEMA_VERSION; version++)
        err = exec(db, MIGRATIONS[version], "migrate");
    if (!err) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
        err = exec(db, sql, "migrate");
    }
    if (!err)
        err = exec(db, "COMMIT", "migrate");
    if (err && !sqlite3_get_autocommit(db->db))
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

void clientdb_close(struct clientdb *db)
{
    if (!db)
        return;
    for (int i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(db->st[i]);
    /* The last connection to close checkpoints and removes the WAL. */
    sqlite3_close(db->db);
    free(db->path);
    free(db);
}

int clientdb_open(const char *path, struct clog *log, struct clientdb **out)
{
    *out = NULL;
    if (!path || !*path)
        return CLIENTDB_EINVAL;
    int err = restrict_mode(path, log);
    if (err)
        return err;
    struct clientdb *db = xcalloc(1, sizeof(*db));
    db->log = log;
    db->path = xstrdup(path);
    /* NOMUTEX: one thread at a time uses an instance (clientdb.h). */
    int rc = sqlite3_open_v2(
        path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = fail(db, rc, "open");
        clientdb_close(db);
        return err;
    }
    sqlite3_extended_result_codes(db->db, 1);
    sqlite3_busy_timeout(db->db, BUSY_TIMEOUT_MS);

    /* The version first: a newer or broken file is refused before
     * anything (switching to WAL) writes to it. */
    int version = 0;
    err = user_version(db, &version);
    if (!err && version > SCHEMA_VERSION)
        err = too_new(db, version);
    if (!err)
        err = exec(db,
                   "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                   " PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                   "configure");
    if (!err)
        err = migrate(db, version);
    for (int i = 0; !err && i < ST_COUNT_; i++) {
        rc = sqlite3_prepare_v3(db->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &db->st[i],
                                NULL);
        if (rc != SQLITE_OK)
            err = fail(db, rc, "prepare");
    }
    if (err) {
        clientdb_close(db);
        return err;
    }
    *out = db;
    return 0;
}

/* ---- the device credential ---- */

static bool nonempty(const char *s)
{
    return s && *s;
}

int clientdb_set_login(struct clientdb *db, const struct clientdb_login *l)
{
    if (!l || !nonempty(l->address) || !nonempty(l->user) || !l->credential ||
        l->credential_len == 0 || l->credential_len > INT_MAX)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_LOGIN_SET);
    sqlite3_bind_text(s, 1, l->address, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, l->user, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, l->credential, (int)l->credential_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, l->issued);
    return run(db, s, "save the login");
}

int clientdb_get_login(struct clientdb *db, struct clientdb_login *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(db, ST_LOGIN_GET);
    int rc = step_one(db, s, "read the login");
    if (rc == 1) {
        out->address = col_text(s, 0);
        out->user = col_text(s, 1);
        out->credential = col_blob(s, 2, &out->credential_len);
        out->issued = sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CLIENTDB_ENOTFOUND : rc;
}

int clientdb_forget_login(struct clientdb *db)
{
    int err = run(db, stmt(db, ST_LOGIN_DEL), "forget the login");
    if (!err && sqlite3_changes(db->db) == 0)
        err = CLIENTDB_ENOTFOUND;
    return err;
}

void clientdb_login_clear(struct clientdb_login *l)
{
    if (!l)
        return;
    free(l->address);
    free(l->user);
    if (l->credential)
        OPENSSL_cleanse(l->credential, l->credential_len);
    free(l->credential);
    memset(l, 0, sizeof(*l));
}

/* ---- catalog entries seen ---- */

static void fill_track(sqlite3_stmt *s, void *item)
{
    struct clientdb_track *t = item;
    t->id = (uint64_t)sqlite3_column_int64(s, 0);
    t->title = col_text(s, 1);
    t->artist = col_text(s, 2);
    t->album = col_text(s, 3);
    t->artist_id = (uint64_t)sqlite3_column_int64(s, 4);
    t->album_id = (uint64_t)sqlite3_column_int64(s, 5);
    t->number = (uint16_t)sqlite3_column_int(s, 6);
    t->duration_ms = (uint32_t)sqlite3_column_int64(s, 7);
    t->has_file = sqlite3_column_bytes(s, 8) == CONTENT_ID_LEN;
    if (t->has_file)
        memcpy(t->file.bytes, sqlite3_column_blob(s, 8), CONTENT_ID_LEN);
}

static void clear_track(void *item)
{
    clientdb_track_clear(item);
}

static int put_track(struct clientdb *db, const struct clientdb_track *t)
{
    sqlite3_stmt *s = stmt(db, ST_TRACK_PUT);
    sqlite3_bind_int64(s, 1, (int64_t)t->id);
    sqlite3_bind_text(s, 2, t->title ? t->title : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, t->artist ? t->artist : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, t->album ? t->album : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (int64_t)t->artist_id);
    sqlite3_bind_int64(s, 6, (int64_t)t->album_id);
    sqlite3_bind_int(s, 7, t->number);
    sqlite3_bind_int64(s, 8, t->duration_ms);
    if (t->has_file)
        sqlite3_bind_blob(s, 9, t->file.bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    return run(db, s, "save a track");
}

int clientdb_put_tracks(struct clientdb *db, const struct clientdb_track *t, size_t n)
{
    if (n == 0)
        return 0;
    if (!t)
        return CLIENTDB_EINVAL;
    int err = begin(db);
    if (err)
        return err;
    for (size_t i = 0; i < n && !err; i++)
        err = put_track(db, &t[i]);
    return finish(db, err);
}

int clientdb_get_track(struct clientdb *db, uint64_t id, struct clientdb_track *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = stmt(db, ST_TRACK_GET);
    sqlite3_bind_int64(s, 1, (int64_t)id);
    int rc = step_one(db, s, "read a track");
    if (rc == 1)
        fill_track(s, out);
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CLIENTDB_ENOTFOUND : rc;
}

/* The LIKE pattern that finds word anywhere: %word% with \, % and _
 * escaped (the statement says ESCAPE '\'). */
static char *like_pattern(const char *word, size_t len)
{
    char *p = xmalloc(2 * len + 3);
    size_t n = 0;
    p[n++] = '%';
    for (size_t i = 0; i < len; i++) {
        if (word[i] == '\\' || word[i] == '%' || word[i] == '_')
            p[n++] = '\\';
        p[n++] = word[i];
    }
    p[n++] = '%';
    p[n] = '\0';
    return p;
}

/* Splits query at white space into LIKE patterns (at most
 * CLIENTDB_QUERY_MAX_WORDS). Returns the count, or -1 when there are more. */
static int query_patterns(const char *query, char *pats[CLIENTDB_QUERY_MAX_WORDS])
{
    int n = 0;
    const char *p = query ? query : "";
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return n;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (n == CLIENTDB_QUERY_MAX_WORDS) {
            while (n > 0)
                free(pats[--n]);
            return -1;
        }
        pats[n++] = like_pattern(w, (size_t)(p - w));
    }
}

int clientdb_playable_tracks(struct clientdb *db, const char *query, size_t limit,
                             struct clientdb_track **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *pats[CLIENTDB_QUERY_MAX_WORDS];
    int words = query_patterns(query, pats);
    if (words < 0)
        return CLIENTDB_EINVAL;

    /* One clause per word; only placeholders go into the SQL text. */
    static const char head[] =
        "SELECT " TRACK_COLS " FROM tracks t JOIN files f ON f.id = t.file_id"
        " WHERE t.file_id IS NOT NULL";
    static const char word_fmt[] = " AND (t.title LIKE ?%d ESCAPE '\\' OR t.artist LIKE ?%d"
                                   " ESCAPE '\\' OR t.album LIKE ?%d ESCAPE '\\')";
    static const char tail[] = " ORDER BY t.artist COLLATE NOCASE, t.album COLLATE NOCASE,"
                               " t.number, t.title COLLATE NOCASE, t.id LIMIT ?1";
    size_t cap = sizeof(head) + sizeof(tail) + (size_t)words * (sizeof(word_fmt) + 16);
    char *sql = xmalloc(cap);
    size_t len = (size_t)snprintf(sql, cap, "%s", head);
    for (int i = 0; i < words; i++)
        len += (size_t)snprintf(sql + len, cap - len, word_fmt, i + 2, i + 2, i + 2);
    snprintf(sql + len, cap - len, "%s", tail);

    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db->db, sql, -1, &s, NULL);
    free(sql);
    int err = 0;
    if (rc != SQLITE_OK) {
        err = fail(db, rc, "search tracks");
    } else {
        sqlite3_bind_int64(s, 1, limit == 0 || limit > (size_t)INT64_MAX ? -1 : (int64_t)limit);
        for (int i = 0; i < words; i++)
            sqlite3_bind_text(s, i + 2, pats[i], -1, SQLITE_STATIC);
        err = collect(db, s, sizeof(**out), fill_track, clear_track, "search tracks", (void **)out,
                      n);
        sqlite3_finalize(s);
    }
    for (int i = 0; i < words; i++)
        free(pats[i]);
    return err;
}

void clientdb_track_clear(struct clientdb_track *t)
{
    if (!t)
        return;
    free(t->title);
    free(t->artist);
    free(t->album);
    memset(t, 0, sizeof(*t));
}

void clientdb_tracks_free(struct clientdb_track *t, size_t n)
{
    free_items(t, n, sizeof(*t), clear_track);
}

/* ---- what a file needs to play without the service ---- */

int clientdb_put_file(struct clientdb *db, const struct content_id *id, const uint8_t *manifest,
                      size_t manifest_len, const struct content_key *key)
{
    if (!id || !manifest || manifest_len == 0 || manifest_len > INT_MAX || !key)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_FILE_PUT);
    sqlite3_bind_blob(s, 1, id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, manifest, (int)manifest_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, key->bytes, CONTENT_KEY_LEN, SQLITE_STATIC);
    return run(db, s, "save a file's key");
}

int clientdb_get_file(struct clientdb *db, const struct content_id *id, uint8_t **manifest,
                      size_t *manifest_len, struct content_key *key)
{
    if (manifest)
        *manifest = NULL;
    if (manifest_len)
        *manifest_len = 0;
    if (!id)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_FILE_GET);
    sqlite3_bind_blob(s, 1, id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    int rc = step_one(db, s, "read a file's key");
    if (rc == 1) {
        /* The schema's CHECK keeps the key 16 bytes long. */
        if (key)
            memcpy(key->bytes, sqlite3_column_blob(s, 1), CONTENT_KEY_LEN);
        if (manifest) {
            size_t len;
            *manifest = col_blob(s, 0, &len);
            if (manifest_len)
                *manifest_len = len;
        } else if (manifest_len) {
            *manifest_len = (size_t)sqlite3_column_bytes(s, 0);
        }
    }
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CLIENTDB_ENOTFOUND : rc;
}

/* ---- playlists ---- */

/* A name with something besides white space in it. */
static bool valid_name(const char *name)
{
    for (const char *p = name; p && *p; p++)
        if (!isspace((unsigned char)*p))
            return true;
    return false;
}

/* Runs a playlist insert or rename, mapping a taken name to EEXISTS (the
 * caller's mistake, so not logged). */
static int run_named(struct clientdb *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int err = rc == SQLITE_DONE                ? 0
              : rc == SQLITE_CONSTRAINT_UNIQUE ? CLIENTDB_EEXISTS
                                               : fail(db, rc, what);
    sqlite3_reset(s);
    return err;
}

int clientdb_playlist_create(struct clientdb *db, const char *name)
{
    if (!valid_name(name))
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_PL_CREATE);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    return run_named(db, s, "create a playlist");
}

int clientdb_playlist_rename(struct clientdb *db, const char *name, const char *new_name)
{
    if (!name || !valid_name(new_name))
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_PL_RENAME);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, new_name, -1, SQLITE_STATIC);
    int err = run_named(db, s, "rename a playlist");
    if (!err && sqlite3_changes(db->db) == 0)
        err = CLIENTDB_ENOTFOUND;
    return err;
}

int clientdb_playlist_delete(struct clientdb *db, const char *name)
{
    if (!name)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_PL_DELETE);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    /* Its items go with it (ON DELETE CASCADE). */
    int err = run(db, s, "delete a playlist");
    if (!err && sqlite3_changes(db->db) == 0)
        err = CLIENTDB_ENOTFOUND;
    return err;
}

static void fill_playlist(sqlite3_stmt *s, void *item)
{
    struct clientdb_playlist *p = item;
    p->id = sqlite3_column_int64(s, 0);
    p->name = col_text(s, 1);
    p->count = (size_t)sqlite3_column_int64(s, 2);
    p->keep_offline = sqlite3_column_int(s, 3) != 0;
}

static void clear_playlist(void *item)
{
    struct clientdb_playlist *p = item;
    free(p->name);
}

int clientdb_playlists(struct clientdb *db, struct clientdb_playlist **out, size_t *n)
{
    return collect(db, stmt(db, ST_PL_LIST), sizeof(**out), fill_playlist, clear_playlist,
                   "list playlists", (void **)out, n);
}

void clientdb_playlists_free(struct clientdb_playlist *p, size_t n)
{
    free_items(p, n, sizeof(*p), clear_playlist);
}

/* The id and length of playlist name. */
static int find_playlist(struct clientdb *db, const char *name, int64_t *id, size_t *count)
{
    if (!name)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_PL_FIND);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = step_one(db, s, "find a playlist");
    if (rc == 1) {
        *id = sqlite3_column_int64(s, 0);
        *count = (size_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CLIENTDB_ENOTFOUND : rc;
}

static void fill_id(sqlite3_stmt *s, void *item)
{
    *(uint64_t *)item = (uint64_t)sqlite3_column_int64(s, 0);
}

int clientdb_playlist_tracks(struct clientdb *db, const char *name, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    int64_t id;
    size_t count;
    int err = find_playlist(db, name, &id, &count);
    if (err)
        return err;
    sqlite3_stmt *s = stmt(db, ST_ITEMS);
    sqlite3_bind_int64(s, 1, id);
    return collect(db, s, sizeof(**ids), fill_id, NULL, "read a playlist", (void **)ids, n);
}

int clientdb_playlist_add(struct clientdb *db, const char *name, const uint64_t *ids, size_t n)
{
    if (n > 0 && !ids)
        return CLIENTDB_EINVAL;
    int err = begin(db);
    if (err)
        return err;
    int64_t id;
    size_t count;
    err = find_playlist(db, name, &id, &count);
    for (size_t i = 0; i < n && !err; i++) {
        sqlite3_stmt *s = stmt(db, ST_ITEM_ADD);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, (int64_t)(count + i));
        sqlite3_bind_int64(s, 3, (int64_t)ids[i]);
        err = run(db, s, "add to a playlist");
    }
    return finish(db, err);
}

/* ---- playlists kept offline ---- */

int clientdb_playlist_set_keep(struct clientdb *db, const char *name, bool keep)
{
    if (!name)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_PL_KEEP_SET);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, keep);
    int err = run(db, s, "keep a playlist offline");
    if (!err && sqlite3_changes(db->db) == 0)
        err = CLIENTDB_ENOTFOUND;
    return err;
}

int clientdb_playlist_get_keep(struct clientdb *db, const char *name, bool *keep)
{
    if (!name)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_PL_KEEP_GET);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = step_one(db, s, "read a playlist's keep flag");
    if (rc == 1)
        *keep = sqlite3_column_int(s, 0) != 0;
    sqlite3_reset(s);
    return rc == 1 ? 0 : rc == 0 ? CLIENTDB_ENOTFOUND : rc;
}

static void fill_track_file(sqlite3_stmt *s, void *item)
{
    struct clientdb_track_file *f = item;
    f->track_id = (uint64_t)sqlite3_column_int64(s, 0);
    f->has_file = sqlite3_column_bytes(s, 1) == CONTENT_ID_LEN;
    if (f->has_file)
        memcpy(f->file.bytes, sqlite3_column_blob(s, 1), CONTENT_ID_LEN);
    f->has_key = f->has_file && sqlite3_column_int(s, 2) != 0;
}

int clientdb_playlist_files(struct clientdb *db, const char *name, struct clientdb_track_file **out,
                            size_t *n)
{
    *out = NULL;
    *n = 0;
    int64_t id;
    size_t count;
    int err = find_playlist(db, name, &id, &count);
    if (err)
        return err;
    sqlite3_stmt *s = stmt(db, ST_PL_FILES);
    sqlite3_bind_int64(s, 1, id);
    return collect(db, s, sizeof(**out), fill_track_file, NULL, "read a playlist's files",
                   (void **)out, n);
}

int clientdb_kept_files(struct clientdb *db, struct clientdb_track_file **out, size_t *n)
{
    return collect(db, stmt(db, ST_KEPT_FILES), sizeof(**out), fill_track_file, NULL,
                   "read the kept playlists' files", (void **)out, n);
}

/* Parks the items at [lo, hi] at their position + delta (see
 * ST_ITEM_PARK). */
static int shift_items(struct clientdb *db, int64_t pl, size_t lo, size_t hi, int delta)
{
    sqlite3_stmt *s = stmt(db, ST_ITEMS_SHIFT);
    sqlite3_bind_int64(s, 1, pl);
    sqlite3_bind_int64(s, 2, (int64_t)lo);
    sqlite3_bind_int64(s, 3, (int64_t)hi);
    sqlite3_bind_int(s, 4, delta);
    return run(db, s, "renumber a playlist");
}

static int flip_items(struct clientdb *db, int64_t pl)
{
    sqlite3_stmt *s = stmt(db, ST_ITEMS_FLIP);
    sqlite3_bind_int64(s, 1, pl);
    return run(db, s, "renumber a playlist");
}

int clientdb_playlist_remove(struct clientdb *db, const char *name, size_t pos)
{
    int err = begin(db);
    if (err)
        return err;
    int64_t id;
    size_t count;
    err = find_playlist(db, name, &id, &count);
    if (!err && pos >= count)
        err = CLIENTDB_EINVAL;
    if (!err) {
        sqlite3_stmt *s = stmt(db, ST_ITEM_DEL);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, (int64_t)pos);
        err = run(db, s, "remove from a playlist");
    }
    if (!err && pos + 1 < count)
        err = shift_items(db, id, pos + 1, count - 1, -1);
    if (!err)
        err = flip_items(db, id);
    return finish(db, err);
}

int clientdb_playlist_move(struct clientdb *db, const char *name, size_t from, size_t to)
{
    int err = begin(db);
    if (err)
        return err;
    int64_t id;
    size_t count;
    err = find_playlist(db, name, &id, &count);
    if (!err && (from >= count || to >= count))
        err = CLIENTDB_EINVAL;
    if (!err && from != to) {
        sqlite3_stmt *s = stmt(db, ST_ITEM_PARK);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, (int64_t)from);
        sqlite3_bind_int64(s, 3, (int64_t)to);
        err = run(db, s, "move in a playlist");
        /* The items between close the gap at from and open one at to. */
        if (!err)
            err = from < to ? shift_items(db, id, from + 1, to, -1)
                            : shift_items(db, id, to, from - 1, +1);
        if (!err)
            err = flip_items(db, id);
    }
    return finish(db, err);
}

/* ---- the play queue ---- */

/* True when order holds each of 0..n-1 once. */
static bool is_permutation(const size_t *order, size_t n)
{
    bool *seen = xcalloc(n ? n : 1, sizeof(*seen));
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        ok = order[i] < n && !seen[order[i]];
        if (ok)
            seen[order[i]] = true;
    }
    free(seen);
    return ok;
}

static bool cursor_valid(long cursor, size_t n)
{
    return cursor == -1 || (cursor >= 0 && (size_t)cursor < n);
}

int clientdb_save_queue(struct clientdb *db, const struct clientdb_queue *q)
{
    if (!q || (q->n > 0 && !q->ids) || !cursor_valid(q->cursor, q->n) || q->position_ms < 0 ||
        q->repeat < QUEUE_REPEAT_OFF || q->repeat > QUEUE_REPEAT_ALL ||
        (q->order && !is_permutation(q->order, q->n)))
        return CLIENTDB_EINVAL;
    int err = begin(db);
    if (err)
        return err;
    err = run(db, stmt(db, ST_QUEUE_CLEAR), "save the queue");
    for (size_t i = 0; i < q->n && !err; i++) {
        sqlite3_stmt *s = stmt(db, ST_QUEUE_ADD);
        sqlite3_bind_int64(s, 1, (int64_t)i);
        sqlite3_bind_int64(s, 2, (int64_t)q->ids[i]);
        if (q->order)
            sqlite3_bind_int64(s, 3, (int64_t)q->order[i]);
        err = run(db, s, "save the queue");
    }
    if (!err) {
        sqlite3_stmt *s = stmt(db, ST_QUEUE_STATE_SET);
        sqlite3_bind_int64(s, 1, q->cursor);
        sqlite3_bind_int64(s, 2, q->position_ms);
        sqlite3_bind_int(s, 3, q->repeat);
        sqlite3_bind_int(s, 4, q->shuffle);
        sqlite3_bind_int64(s, 5, (int64_t)q->seed);
        err = run(db, s, "save the queue");
    }
    return finish(db, err);
}

int clientdb_save_position(struct clientdb *db, long cursor, int64_t position_ms)
{
    if (cursor < -1 || position_ms < 0)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_QUEUE_POSITION);
    sqlite3_bind_int64(s, 1, cursor);
    sqlite3_bind_int64(s, 2, position_ms);
    int err = run(db, s, "save the position");
    if (!err && sqlite3_changes(db->db) == 0)
        err = CLIENTDB_EINVAL;
    return err;
}

struct queue_row {
    uint64_t id;
    int64_t perm;
    bool has_perm;
};

static void fill_queue_row(sqlite3_stmt *s, void *item)
{
    struct queue_row *r = item;
    r->id = (uint64_t)sqlite3_column_int64(s, 0);
    r->has_perm = sqlite3_column_type(s, 1) != SQLITE_NULL;
    r->perm = sqlite3_column_int64(s, 1);
}

/* The shuffle order of the rows, or NULL when they have none or it is not
 * a permutation (then the engine makes a new one from the seed). */
static size_t *stored_order(struct clientdb *db, const struct queue_row *rows, size_t n)
{
    if (n == 0 || !rows[0].has_perm)
        return NULL;
    size_t *order = xmalloc(n * sizeof(*order));
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        ok = rows[i].has_perm && rows[i].perm >= 0;
        order[i] = (size_t)rows[i].perm;
    }
    if (ok && is_permutation(order, n))
        return order;
    clog_warn(db->log, MOD, "%s: the stored shuffle order is damaged: dropped", db->path);
    free(order);
    return NULL;
}

int clientdb_load_queue(struct clientdb *db, struct clientdb_queue *out)
{
    memset(out, 0, sizeof(*out));
    out->cursor = -1;
    struct queue_row *rows;
    size_t n;
    int err = collect(db, stmt(db, ST_QUEUE_ITEMS), sizeof(*rows), fill_queue_row, NULL,
                      "load the queue", (void **)&rows, &n);
    if (err)
        return err;
    sqlite3_stmt *s = stmt(db, ST_QUEUE_STATE_GET);
    int rc = step_one(db, s, "load the queue");
    if (rc == 1) {
        long cursor = (long)sqlite3_column_int64(s, 0);
        int repeat = sqlite3_column_int(s, 2);
        /* Values edited by hand fall back to their defaults. */
        out->cursor = cursor_valid(cursor, n) ? cursor : -1;
        out->position_ms = out->cursor >= 0 ? sqlite3_column_int64(s, 1) : 0;
        if (out->position_ms < 0)
            out->position_ms = 0;
        out->repeat = repeat >= QUEUE_REPEAT_OFF && repeat <= QUEUE_REPEAT_ALL ? repeat : 0;
        out->shuffle = sqlite3_column_int(s, 3) != 0;
        out->seed = (uint64_t)sqlite3_column_int64(s, 4);
    }
    sqlite3_reset(s);
    if (rc < 0) {
        free(rows);
        clientdb_queue_clear(out);
        return rc;
    }
    if (n > 0) {
        out->ids = xmalloc(n * sizeof(*out->ids));
        for (size_t i = 0; i < n; i++)
            out->ids[i] = rows[i].id;
        out->order = stored_order(db, rows, n);
    }
    out->n = n;
    free(rows);
    return 0;
}

void clientdb_queue_clear(struct clientdb_queue *q)
{
    if (!q)
        return;
    free(q->ids);
    free(q->order);
    memset(q, 0, sizeof(*q));
    q->cursor = -1;
}

/* ---- small values ---- */

int clientdb_set_int(struct clientdb *db, const char *key, int64_t value)
{
    if (!nonempty(key))
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_INT_SET);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, value);
    return run(db, s, "save a value");
}

int64_t clientdb_get_int(struct clientdb *db, const char *key, int64_t def)
{
    if (!nonempty(key))
        return def;
    sqlite3_stmt *s = stmt(db, ST_INT_GET);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int64_t value = step_one(db, s, "read a value") == 1 ? sqlite3_column_int64(s, 0) : def;
    sqlite3_reset(s);
    return value;
}

/* ---- history ---- */

int clientdb_add_history(struct clientdb *db, uint64_t id, int64_t started, int64_t heard_ms)
{
    if (heard_ms < 0)
        return CLIENTDB_EINVAL;
    sqlite3_stmt *s = stmt(db, ST_HISTORY_ADD);
    sqlite3_bind_int64(s, 1, (int64_t)id);
    sqlite3_bind_int64(s, 2, started);
    sqlite3_bind_int64(s, 3, heard_ms);
    return run(db, s, "add to the history");
}

int64_t clientdb_history_count(struct clientdb *db)
{
    sqlite3_stmt *s = stmt(db, ST_HISTORY_COUNT);
    int rc = step_one(db, s, "count the history");
    int64_t count = rc == 1 ? sqlite3_column_int64(s, 0) : rc == 0 ? CLIENTDB_EDB : rc;
    sqlite3_reset(s);
    return count;
}

const char *clientdb_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case CLIENTDB_EDB:
        return "client database error (see the log)";
    case CLIENTDB_ENOTFOUND:
        return "not in the client database";
    case CLIENTDB_EEXISTS:
        return "a playlist of that name exists";
    case CLIENTDB_ETOONEW:
        return "client database was made by a newer version of Chorus";
    case CLIENTDB_EINVAL:
        return "invalid argument to the client database";
    default:
        return "unknown client database error";
    }
}
