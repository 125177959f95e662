/* cache_index: the cache's SQLite index (schema, load, row changes).
 *
 * Schema (PRAGMA user_version 1):
 *   files(fid INTEGER PRIMARY KEY, id BLOB UNIQUE, manifest BLOB,
 *         size INTEGER, complete INTEGER, last_played INTEGER)
 *                                         one row per file with a manifest;
 *                                         complete is kept in step with the
 *                                         chunk rows in the same
 *                                         transactions (and recomputed at
 *                                         open: the chunk rows are the truth)
 *   chunks(fid, idx) WITHOUT ROWID        one row per chunk whose bytes are
 *                                         on disk and fdatasync'ed
 *   counters(name TEXT PRIMARY KEY, value INTEGER)   lifetime figures
 *
 * WAL with synchronous=NORMAL: a commit survives kill -9; a power cut may
 * lose the last commits, which only makes chunks missing (their bytes were
 * synced before their rows existed), never wrong. The WAL is checkpointed
 * often and kept small, so a small file system is not eaten by it.
 *
 * Runs on whichever thread holds the cache's io lock; never logs except
 * through cache_index_error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_internal.h"
#include "base/xmalloc.h"

#define SCHEMA_VERSION 1

struct cache_index_stmts {
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *put_file, *put_chunk, *del_chunk, *del_chunks_of, *del_file, *set_played;
    sqlite3_stmt *set_complete, *put_counter;
};

static const char *const counter_names[] = {
    "play_hits",     "play_misses",  "hit_bytes",     "miss_bytes",    "bytes_cache", "bytes_peer",
    "bytes_service", "served_bytes", "evicted_files", "evicted_bytes", "corrupt",     "enospc",
};
#define NCOUNTERS (sizeof(counter_names) / sizeof(counter_names[0]))

static uint64_t *counter_slot(struct cache_counters *ctr, size_t i)
{
    uint64_t *slots[NCOUNTERS] = {
        &ctr->play_hits,
        &ctr->play_misses,
        &ctr->hit_bytes,
        &ctr->miss_bytes,
        &ctr->bytes[CACHE_SRC_CACHE],
        &ctr->bytes[CACHE_SRC_PEER],
        &ctr->bytes[CACHE_SRC_SERVICE],
        &ctr->served_bytes,
        &ctr->evicted_files,
        &ctr->evicted_bytes,
        &ctr->corrupt_chunks,
        &ctr->enospc,
    };
    return slots[i];
}

int cache_index_error(struct cache *c, int rc, const char *what)
{
    /* A full disk is the caller's to handle (evict, retry, one log line). */
    if ((rc & 0xff) == SQLITE_FULL)
        return -ENOSPC;
    clog_error(c->log, CACHE_LOG_MODULE, "index %s: %s (%s)", what,
               c->db ? sqlite3_errmsg(c->db) : "", sqlite3_errstr(rc));
    return CACHE_EINDEX;
}

bool cache_index_corrupt(struct cache *c)
{
    if (!c->db)
        return false;
    int rc = sqlite3_errcode(c->db) & 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

static int exec(struct cache *c, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        clog_error(c->log, CACHE_LOG_MODULE, "index: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return rc == SQLITE_FULL ? -ENOSPC : CACHE_EINDEX;
    }
    return 0;
}

static int prepare(struct cache *c, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return rc == SQLITE_OK ? 0 : cache_index_error(c, rc, "prepare");
}

/* Steps a prepared statement that returns no row, then resets it. */
static int run(struct cache *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : cache_index_error(c, rc, what);
}

int cache_index_open(struct cache *c, const char *path)
{
    int rc = sqlite3_open_v2(
        path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int err = cache_index_error(c, rc, "open");
        sqlite3_close(c->db);
        c->db = NULL;
        return err;
    }
    sqlite3_extended_result_codes(c->db, 1);
    int err = exec(c, "PRAGMA journal_mode=WAL;"
                      "PRAGMA synchronous=NORMAL;"
                      "PRAGMA wal_autocheckpoint=128;"
                      "PRAGMA journal_size_limit=1048576;"
                      "PRAGMA foreign_keys=OFF;");
    if (err)
        return err;
    err = exec(c, "CREATE TABLE IF NOT EXISTS files("
                  " fid INTEGER PRIMARY KEY,"
                  " id BLOB NOT NULL UNIQUE,"
                  " manifest BLOB NOT NULL,"
                  " size INTEGER NOT NULL,"
                  " complete INTEGER NOT NULL DEFAULT 0,"
                  " last_played INTEGER NOT NULL);"
                  "CREATE TABLE IF NOT EXISTS chunks("
                  " fid INTEGER NOT NULL,"
                  " idx INTEGER NOT NULL,"
                  " PRIMARY KEY(fid, idx)) WITHOUT ROWID;"
                  "CREATE TABLE IF NOT EXISTS counters("
                  " name TEXT PRIMARY KEY,"
                  " value INTEGER NOT NULL) WITHOUT ROWID;");
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = prepare(c, "PRAGMA user_version", &st)))
        return err;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version != 0 && version != SCHEMA_VERSION) {
        clog_error(c->log, CACHE_LOG_MODULE, "index %s has schema version %d, not %d", path,
                   version, SCHEMA_VERSION);
        return CACHE_EINDEX;
    }
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", SCHEMA_VERSION);
    if ((err = exec(c, sql)))
        return err;

    struct cache_index_stmts *s = xcalloc(1, sizeof(*s));
    c->stmts = s;
    if ((err = prepare(c, "BEGIN IMMEDIATE", &s->begin)) ||
        (err = prepare(c, "COMMIT", &s->commit)) || (err = prepare(c, "ROLLBACK", &s->rollback)) ||
        (err = prepare(c,
                       "INSERT INTO files(id, manifest, size, last_played)"
                       " VALUES(?1, ?2, ?3, ?4)",
                       &s->put_file)) ||
        (err =
             prepare(c, "INSERT OR IGNORE INTO chunks(fid, idx) VALUES(?1, ?2)", &s->put_chunk)) ||
        (err = prepare(c, "DELETE FROM chunks WHERE fid = ?1 AND idx = ?2", &s->del_chunk)) ||
        (err = prepare(c, "DELETE FROM chunks WHERE fid = (SELECT fid FROM files WHERE id = ?1)",
                       &s->del_chunks_of)) ||
        (err = prepare(c, "DELETE FROM files WHERE id = ?1", &s->del_file)) ||
        (err = prepare(c, "UPDATE files SET last_played = ?2 WHERE fid = ?1", &s->set_played)) ||
        (err = prepare(c, "UPDATE files SET complete = ?2 WHERE fid = ?1", &s->set_complete)) ||
        (err = prepare(c, "INSERT OR REPLACE INTO counters(name, value) VALUES(?1, ?2)",
                       &s->put_counter)))
        return err;
    return 0;
}

void cache_index_close(struct cache *c)
{
    struct cache_index_stmts *s = c->stmts;
    if (s) {
        sqlite3_stmt *all[] = {s->begin,      s->commit,       s->rollback,      s->put_file,
                               s->put_chunk,  s->del_chunk,    s->del_chunks_of, s->del_file,
                               s->set_played, s->set_complete, s->put_counter};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            sqlite3_finalize(all[i]);
        free(s);
        c->stmts = NULL;
    }
    if (c->db) {
        /* Folds the WAL back into the database so a closed cache is one
         * file plus an empty WAL. */
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(c->db);
        c->db = NULL;
    }
}

int cache_index_begin(struct cache *c)
{
    return run(c, c->stmts->begin, "begin");
}

int cache_index_commit(struct cache *c)
{
    int err = run(c, c->stmts->commit, "commit");
    if (err && !sqlite3_get_autocommit(c->db))
        cache_index_rollback(c);
    return err;
}

void cache_index_rollback(struct cache *c)
{
    if (!sqlite3_get_autocommit(c->db)) {
        sqlite3_step(c->stmts->rollback);
        sqlite3_reset(c->stmts->rollback);
    }
}

int cache_index_put_file(struct cache *c, const struct content_id *id, const uint8_t *enc,
                         size_t len, uint64_t size, int64_t played_ms, int64_t *rowid)
{
    sqlite3_stmt *st = c->stmts->put_file;
    sqlite3_bind_blob(st, 1, id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, enc, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)size);
    sqlite3_bind_int64(st, 4, played_ms);
    int err = run(c, st, "add file");
    if (!err)
        *rowid = sqlite3_last_insert_rowid(c->db);
    return err;
}

int cache_index_set_complete(struct cache *c, int64_t rowid, bool complete)
{
    sqlite3_stmt *st = c->stmts->set_complete;
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_int(st, 2, complete);
    return run(c, st, "mark file");
}

int cache_index_fix_complete(struct cache *c)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE files SET complete = ((SELECT count(*) FROM chunks"
             " WHERE chunks.fid = files.fid) = (length(manifest) - %u) / %u)",
             MANIFEST_HEADER_LEN, MANIFEST_HASH_LEN);
    return exec(c, sql);
}

int cache_index_put_chunk(struct cache *c, int64_t rowid, uint32_t index)
{
    sqlite3_stmt *st = c->stmts->put_chunk;
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_int64(st, 2, index);
    return run(c, st, "add chunk");
}

int cache_index_del_chunk(struct cache *c, int64_t rowid, uint32_t index)
{
    sqlite3_stmt *st = c->stmts->del_chunk;
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_int64(st, 2, index);
    return run(c, st, "drop chunk");
}

int cache_index_del_file(struct cache *c, const struct content_id *id)
{
    sqlite3_stmt *st = c->stmts->del_chunks_of;
    sqlite3_bind_blob(st, 1, id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    int err = run(c, st, "drop chunks");
    if (err)
        return err;
    st = c->stmts->del_file;
    sqlite3_bind_blob(st, 1, id->bytes, CONTENT_ID_LEN, SQLITE_STATIC);
    return run(c, st, "drop file");
}

struct played {
    int64_t rowid, ms;
};

int cache_index_save_dirty(struct cache *c)
{
    /* Copy under mu, write without it: mu is never held across I/O. */
    pthread_mutex_lock(&c->mu);
    size_t n = 0, cap = 16;
    struct played *p = xmalloc(cap * sizeof(*p));
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct cfile *f = c->buckets[b]; f; f = f->hnext) {
            if (!f->played_dirty || !f->rowid)
                continue;
            if (n == cap)
                p = xrealloc(p, (cap *= 2) * sizeof(*p));
            p[n++] = (struct played){f->rowid, f->last_played_ms};
            f->played_dirty = false;
        }
    struct cache_counters ctr = c->ctr;
    bool ctr_dirty = c->ctr_dirty;
    c->ctr_dirty = false;
    pthread_mutex_unlock(&c->mu);

    int err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        sqlite3_stmt *st = c->stmts->set_played;
        sqlite3_bind_int64(st, 1, p[i].rowid);
        sqlite3_bind_int64(st, 2, p[i].ms);
        err = run(c, st, "save play time");
    }
    for (size_t i = 0; i < NCOUNTERS && ctr_dirty && !err; i++) {
        sqlite3_stmt *st = c->stmts->put_counter;
        sqlite3_bind_text(st, 1, counter_names[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)*counter_slot(&ctr, i));
        err = run(c, st, "save counters");
    }
    free(p);
    if (err) {
        /* Keep them dirty for the next transaction (play times of files
         * evicted meanwhile no longer matter). */
        pthread_mutex_lock(&c->mu);
        c->ctr_dirty = c->ctr_dirty || ctr_dirty;
        for (size_t b = 0; b < c->nbuckets; b++)
            for (struct cfile *f = c->buckets[b]; f; f = f->hnext)
                if (f->rowid)
                    f->played_dirty = true;
        pthread_mutex_unlock(&c->mu);
    }
    return err;
}

/* ---- load ---- */

static int load_counters(struct cache *c)
{
    sqlite3_stmt *st;
    int err = prepare(c, "SELECT name, value FROM counters", &st);
    if (err)
        return err;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        for (size_t i = 0; name && i < NCOUNTERS; i++)
            if (strcmp(name, counter_names[i]) == 0)
                *counter_slot(&c->ctr, i) = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : cache_index_error(c, rc, "load counters");
}

/* Files sorted by fid, for matching chunk rows. */
struct loaded {
    int64_t fid;
    struct cfile *f; /* NULL when its manifest was bad */
};

static int drop_fid(struct cache *c, int64_t fid)
{
    char sql[128];
    snprintf(sql, sizeof(sql),
             "DELETE FROM chunks WHERE fid = %lld; DELETE FROM files WHERE fid = %lld;",
             (long long)fid, (long long)fid);
    return exec(c, sql);
}

int cache_index_load(struct cache *c)
{
    int err = load_counters(c);
    if (err)
        return err;
    sqlite3_stmt *st;
    if ((err = prepare(c, "SELECT fid, id, manifest, last_played FROM files ORDER BY fid", &st)))
        return err;
    size_t n = 0, cap = 64;
    struct loaded *files = xmalloc(cap * sizeof(*files));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t fid = sqlite3_column_int64(st, 0);
        const void *idb = sqlite3_column_blob(st, 1);
        int idlen = sqlite3_column_bytes(st, 1);
        const uint8_t *enc = sqlite3_column_blob(st, 2);
        int enclen = sqlite3_column_bytes(st, 2);
        struct manifest *m = NULL;
        struct content_id id;
        int derr = MANIFEST_EFORMAT;
        if (idb && idlen == (int)CONTENT_ID_LEN && enc) {
            memcpy(id.bytes, idb, CONTENT_ID_LEN);
            derr = manifest_decode(enc, (size_t)enclen, &id, &m);
        }
        if (n == cap)
            files = xrealloc(files, (cap *= 2) * sizeof(*files));
        files[n].fid = fid;
        files[n].f = NULL;
        if (derr) {
            clog_warn(c->log, CACHE_LOG_MODULE, "index: dropping file row %lld: %s", (long long)fid,
                      manifest_strerror(derr));
            n++;
            continue;
        }
        pthread_mutex_lock(&c->mu);
        struct cfile *f = cache_lookup_add(c, &id);
        cache_file_set_manifest(f, m, (uint32_t)enclen);
        f->rowid = fid;
        f->last_played_ms = sqlite3_column_int64(st, 3);
        if (f->last_played_ms > c->clock_ms)
            c->clock_ms = f->last_played_ms;
        c->used += (uint64_t)enclen;
        c->nfiles++;
        pthread_mutex_unlock(&c->mu);
        files[n++].f = f;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(files);
        return cache_index_error(c, rc, "load files");
    }

    if ((err = prepare(c, "SELECT fid, idx FROM chunks ORDER BY fid, idx", &st))) {
        free(files);
        return err;
    }
    size_t at = 0;
    uint64_t stray = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t fid = sqlite3_column_int64(st, 0);
        int64_t idx = sqlite3_column_int64(st, 1);
        while (at < n && files[at].fid < fid)
            at++;
        struct cfile *f = at < n && files[at].fid == fid ? files[at].f : NULL;
        if (!f || idx < 0 || idx >= f->m->chunk_count) {
            stray++; /* deleted below with the bad files */
            continue;
        }
        uint32_t i = (uint32_t)idx;
        if (cache_bit(f->present, i))
            continue;
        uint32_t len = manifest_chunk_len(f->m, i);
        pthread_mutex_lock(&c->mu);
        cache_bit_set(f->present, i, true);
        f->chunks_present++;
        f->chunk_bytes += len;
        c->used += len;
        pthread_mutex_unlock(&c->mu);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(files);
        return cache_index_error(c, rc, "load chunks");
    }

    for (size_t i = 0; i < n && !err; i++)
        if (!files[i].f)
            err = drop_fid(c, files[i].fid);
    free(files);
    if (!err && stray) {
        clog_warn(c->log, CACHE_LOG_MODULE, "index: dropping %llu chunk rows of no valid file",
                  (unsigned long long)stray);
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM chunks WHERE fid NOT IN (SELECT fid FROM files)"
                 " OR idx < 0 OR idx >= (SELECT (length(manifest) - %u) / %u"
                 " FROM files WHERE files.fid = chunks.fid)",
                 MANIFEST_HEADER_LEN, MANIFEST_HASH_LEN);
        err = exec(c, sql);
    }
    return err;
}
