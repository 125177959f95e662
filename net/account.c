/* account: scrypt-hashed user accounts and device credentials in SQLite.
 *
 * Owns one SQLite connection (serialized mode) and a mutex held around each
 * statement, never around scrypt. Runs on any thread; account_verify and
 * the device functions are meant for the libuv threadpool. It must never
 * keep a password, a credential or a hash in memory it does not wipe,
 * never store a credential itself (only its SHA-256), never compare hashes
 * with memcmp, and never answer an unknown user faster than a wrong
 * password.
 *
 * Schema history: MIGRATIONS[v] takes a database from user_version v to
 * v + 1. An applied migration is never edited; a change is a new entry. */
#include "net/account.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "base/xmalloc.h"

#define SALT_LEN       16
#define HASH_LEN       32
#define SCHEMA_VERSION 3

const struct account_params account_default_params = {15, 8, 1};

static const char *const MIGRATIONS[SCHEMA_VERSION] = {
    /* 1: users. Files from before schema versions have this table at
     * version 0 already, hence IF NOT EXISTS. */
    "CREATE TABLE IF NOT EXISTS users ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " salt BLOB NOT NULL,"
    " hash BLOB NOT NULL,"
    " log2_n INTEGER NOT NULL,"
    " r INTEGER NOT NULL,"
    " p INTEGER NOT NULL,"
    " created INTEGER NOT NULL);",
    /* 2: device credentials, by SHA-256, with the TLS key they were issued
     * to. The triggers revoke a user's credentials along with the user,
     * its name or its password, whoever changes them (chorusd, or sqlite3
     * by hand). generation is for credential generations to come: every
     * credential is of generation 0 until then. */
    "CREATE TABLE devices ("
    " id INTEGER PRIMARY KEY,"
    " user TEXT NOT NULL,"
    " hash BLOB NOT NULL,"
    " key BLOB NOT NULL,"
    " label TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " last_used INTEGER,"
    " generation INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX devices_user ON devices(user);"
    "CREATE TRIGGER devices_user_deleted AFTER DELETE ON users"
    " BEGIN DELETE FROM devices WHERE user = OLD.name; END;"
    "CREATE TRIGGER devices_user_changed AFTER UPDATE OF name, hash ON users"
    " BEGIN DELETE FROM devices WHERE user = OLD.name; END;",
    /* 3: credential generations. A new password (by chorusd or by hand)
     * or account_revoke moves the user's generation on; tickets and
     * device credentials of an older one are refused, and the second
     * trigger drops such credentials so they hold no device slot. */
    "ALTER TABLE users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
    "CREATE TRIGGER users_hash_changed AFTER UPDATE OF hash ON users"
    " WHEN NEW.generation = OLD.generation"
    " BEGIN UPDATE users SET generation = OLD.generation + 1 WHERE name = NEW.name; END;"
    "CREATE TRIGGER devices_generation_changed AFTER UPDATE OF generation ON users"
    " BEGIN DELETE FROM devices WHERE user = NEW.name AND generation < NEW.generation; END;",
};

struct account_db {
    sqlite3 *db;
    pthread_mutex_t lock;
};

const char *account_strerror(int err)
{
    switch (err) {
    case ACCOUNT_EDB:
        return "account database error";
    case ACCOUNT_EEXISTS:
        return "user already exists";
    case ACCOUNT_ENAME:
        return "invalid user name (1-64 of A-Z a-z 0-9 . _ -, not starting with . or -)";
    case ACCOUNT_EPASSWORD:
        return "password must be 1-1024 bytes";
    case ACCOUNT_EDENIED:
        return "wrong user name or password";
    case ACCOUNT_EPARAMS:
        return "scrypt parameters out of range";
    case ACCOUNT_ECRYPTO:
        return "scrypt, SHA-256 or the random generator failed";
    case ACCOUNT_ETOONEW:
        return "the accounts database is newer than this program";
    case ACCOUNT_EDEVICES:
        return "too many devices hold a credential (revoke one, or change the password)";
    case ACCOUNT_ELABEL:
        return "device label longer than 64 bytes";
    default:
        return "unknown account error";
    }
}

bool account_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > ACCOUNT_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool params_valid(const struct account_params *p)
{
    return p->log2_n >= 10 && p->log2_n <= 20 && p->r >= 1 && p->r <= 32 && p->p >= 1 && p->p <= 16;
}

static int scrypt_hash(const char *password, const uint8_t *salt, const struct account_params *p,
                       uint8_t out[HASH_LEN])
{
    uint64_t n = 1ull << p->log2_n;
    /* scrypt needs 128 * r * N * p bytes (plus a little): allow exactly
     * that, since OpenSSL's default cap (32 MiB) is below some settings. */
    uint64_t maxmem = 128ull * p->r * n * p->p + (1u << 20);
    if (EVP_PBE_scrypt(password, strlen(password), salt, SALT_LEN, n, p->r, p->p, maxmem, out,
                       HASH_LEN) != 1)
        return ACCOUNT_ECRYPTO;
    return 0;
}

static int read_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = ACCOUNT_EDB;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Brings the schema from version to SCHEMA_VERSION in one transaction. */
static int migrate(sqlite3 *db, int version)
{
    if (version == SCHEMA_VERSION)
        return 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return ACCOUNT_EDB;
    /* Another process may have migrated meanwhile: decide under the lock. */
    int rc = read_version(db, &version);
    if (rc == 0 && version > SCHEMA_VERSION)
        rc = ACCOUNT_ETOONEW;
    for (; rc == 0 && version < SCHEMA_VERSION; version++)
        if (sqlite3_exec(db, MIGRATIONS[version], NULL, NULL, NULL) != SQLITE_OK)
            rc = ACCOUNT_EDB;
    char sql[40];
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", SCHEMA_VERSION);
    if (rc == 0 && (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
                    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK))
        rc = ACCOUNT_EDB;
    if (rc < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int account_open(const char *path, struct account_db **out)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return ACCOUNT_EDB;
    }
    chmod(path, 0600); /* password hashes: readable by the service only */
    sqlite3_busy_timeout(db, 5000);
    /* The version is checked before anything writes (WAL mode does). */
    int version = 0;
    int rc = read_version(db, &version);
    if (rc == 0 && version > SCHEMA_VERSION)
        rc = ACCOUNT_ETOONEW;
    if (rc == 0 && sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
        rc = ACCOUNT_EDB;
    if (rc == 0)
        rc = migrate(db, version);
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    struct account_db *a = xcalloc(1, sizeof(*a));
    a->db = db;
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return 0;
}

void account_close(struct account_db *db)
{
    if (!db)
        return;
    sqlite3_close(db->db);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

static int check_input(const char *name, const char *password, const struct account_params **params)
{
    if (!account_name_valid(name))
        return ACCOUNT_ENAME;
    size_t plen = strlen(password);
    if (plen == 0 || plen > ACCOUNT_PASS_MAX)
        return ACCOUNT_EPASSWORD;
    if (!*params)
        *params = &account_default_params;
    if (!params_valid(*params))
        return ACCOUNT_EPARAMS;
    return 0;
}

/* Hashes password under a fresh salt and runs sql with
 * (salt, hash, log2_n, r, p, name) bound as ?1..?6. */
static int store_hash(struct account_db *db, const char *sql, const char *name,
                      const char *password, const struct account_params *params, int *changes)
{
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
    if (RAND_bytes(salt, SALT_LEN) != 1)
        return ACCOUNT_ECRYPTO;
    int rc = scrypt_hash(password, salt, params, hash);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    rc = ACCOUNT_EDB;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, salt, SALT_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, hash, HASH_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, (int)params->log2_n);
        sqlite3_bind_int(st, 4, (int)params->r);
        sqlite3_bind_int(st, 5, (int)params->p);
        sqlite3_bind_text(st, 6, name, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            rc = 0;
            *changes = sqlite3_changes(db->db);
        } else if (sqlite3_extended_errcode(db->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
            rc = ACCOUNT_EEXISTS;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

int account_add(struct account_db *db, const char *name, const char *password,
                const struct account_params *params)
{
    int rc = check_input(name, password, &params);
    if (rc < 0)
        return rc;
    int changes = 0;
    return store_hash(db,
                      "INSERT INTO users(salt, hash, log2_n, r, p, name, created)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, strftime('%s','now'))",
                      name, password, params, &changes);
}

int account_set_password(struct account_db *db, const char *name, const char *password,
                         const struct account_params *params)
{
    int rc = check_input(name, password, &params);
    if (rc < 0)
        return rc;
    int changes = 0;
    rc = store_hash(db, "UPDATE users SET salt=?1, hash=?2, log2_n=?3, r=?4, p=?5 WHERE name=?6",
                    name, password, params, &changes);
    if (rc == 0 && changes == 0)
        return ACCOUNT_EDENIED;
    return rc;
}

int account_verify(struct account_db *db, const char *name, const char *password,
                   uint32_t *generation)
{
    uint32_t gen = 0;
    uint8_t salt[SALT_LEN], stored[HASH_LEN], hash[HASH_LEN];
    struct account_params params = account_default_params;
    bool found = false;
    int rc = 0;

    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT salt, hash, log2_n, r, p, generation FROM users WHERE name=?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = ACCOUNT_EDB;
    } else {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == SALT_LEN &&
            sqlite3_column_bytes(st, 1) == HASH_LEN) {
            found = true;
            memcpy(salt, sqlite3_column_blob(st, 0), SALT_LEN);
            memcpy(stored, sqlite3_column_blob(st, 1), HASH_LEN);
            params.log2_n = (unsigned)sqlite3_column_int(st, 2);
            params.r = (unsigned)sqlite3_column_int(st, 3);
            params.p = (unsigned)sqlite3_column_int(st, 4);
            gen = (uint32_t)sqlite3_column_int64(st, 5);
        } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
            rc = ACCOUNT_EDB;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    if (rc < 0)
        return rc;

    if (!found || !params_valid(&params)) {
        /* Same work as a real check, against a random hash that no
         * password matches. */
        found = false;
        params = account_default_params;
        if (RAND_bytes(salt, SALT_LEN) != 1 || RAND_bytes(stored, HASH_LEN) != 1)
            return ACCOUNT_ECRYPTO;
    }
    size_t plen = strlen(password);
    if (plen == 0 || plen > ACCOUNT_PASS_MAX)
        found = false;
    rc = scrypt_hash(password, salt, &params, hash);
    if (rc == 0 && (CRYPTO_memcmp(hash, stored, HASH_LEN) != 0 || !found))
        rc = ACCOUNT_EDENIED;
    if (rc == 0 && generation)
        *generation = gen;
    OPENSSL_cleanse(hash, sizeof(hash));
    OPENSSL_cleanse(stored, sizeof(stored));
    return rc;
}

/* Runs a count(*) query, with user bound as ?1 when not NULL. */
static int count_rows(struct account_db *db, const char *sql, const char *user, int64_t *out)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    int rc = ACCOUNT_EDB;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (user)
            sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = 0;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

int account_count(struct account_db *db, int64_t *out)
{
    return count_rows(db, "SELECT count(*) FROM users", NULL, out);
}

/* ---- device credentials ---- */

static int sha256(const uint8_t *data, size_t len, uint8_t out[HASH_LEN])
{
    return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : ACCOUNT_ECRYPTO;
}

int account_device_add(struct account_db *db, const char *user, uint32_t generation,
                       const uint8_t key[TLS_KEY_LEN], const char *label,
                       uint8_t cred_out[ACCOUNT_CRED_LEN])
{
    if (!label)
        label = "";
    if (strlen(label) > ACCOUNT_LABEL_MAX)
        return ACCOUNT_ELABEL;
    uint8_t cred[ACCOUNT_CRED_LEN], hash[HASH_LEN];
    if (RAND_bytes(cred, sizeof(cred)) != 1)
        return ACCOUNT_ECRYPTO;
    int rc = sha256(cred, sizeof(cred), hash);
    if (rc < 0) {
        OPENSSL_cleanse(cred, sizeof(cred));
        return rc;
    }

    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    bool refused = false;
    rc = ACCOUNT_EDB;
    /* One statement checks and inserts, so a user deleted or revoked
     * meanwhile (by another process) cannot be left with a credential. */
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO devices(user, hash, key, label, created, generation)"
                           " SELECT ?1, ?2, ?3, ?4, strftime('%s','now'), ?6"
                           " WHERE EXISTS (SELECT 1 FROM users WHERE name = ?1 AND generation = ?6)"
                           " AND (SELECT count(*) FROM devices WHERE user = ?1) < ?5",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, hash, HASH_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 3, key, TLS_KEY_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, label, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 5, (int)ACCOUNT_MAX_DEVICES);
        sqlite3_bind_int64(st, 6, generation);
        if (sqlite3_step(st) == SQLITE_DONE) {
            rc = 0;
            refused = sqlite3_changes(db->db) == 0;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    OPENSSL_cleanse(hash, sizeof(hash));
    if (refused) { /* which condition failed */
        int64_t held = 0;
        rc = count_rows(db, "SELECT count(*) FROM devices WHERE user = ?1", user, &held);
        if (rc == 0)
            rc = held >= ACCOUNT_MAX_DEVICES ? ACCOUNT_EDEVICES : ACCOUNT_EDENIED;
    }
    if (rc == 0)
        memcpy(cred_out, cred, sizeof(cred));
    OPENSSL_cleanse(cred, sizeof(cred));
    return rc;
}

int account_device_check(struct account_db *db, const char *user, const uint8_t *cred, size_t len,
                         const uint8_t key[TLS_KEY_LEN], uint32_t *generation)
{
    uint32_t gen = 0;
    uint8_t hash[HASH_LEN];
    int rc = sha256(cred, len, hash);
    if (rc < 0)
        return rc;
    int64_t match = -1;
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    rc = ACCOUNT_EDB;
    /* Only credentials of the user's current generation count. */
    if (sqlite3_prepare_v2(db->db,
                           "SELECT d.id, d.hash, d.key, u.generation FROM devices d"
                           " JOIN users u ON u.name = d.user"
                           " WHERE d.user = ?1 AND d.generation = u.generation",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
        int step;
        /* Every row is compared in full, the hash and the key both: no
         * early exit tells how close a guess came. */
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (sqlite3_column_bytes(st, 1) != HASH_LEN ||
                sqlite3_column_bytes(st, 2) != TLS_KEY_LEN)
                continue;
            int differ = CRYPTO_memcmp(hash, sqlite3_column_blob(st, 1), HASH_LEN) |
                         CRYPTO_memcmp(key, sqlite3_column_blob(st, 2), TLS_KEY_LEN);
            if (differ == 0) {
                match = sqlite3_column_int64(st, 0);
                gen = (uint32_t)sqlite3_column_int64(st, 3);
            }
        }
        if (step == SQLITE_DONE)
            rc = match >= 0 ? 0 : ACCOUNT_EDENIED;
    }
    sqlite3_finalize(st);
    if (rc == 0) {
        /* Bookkeeping only: a login does not fail because it could not be
         * recorded (a read-only or full disk). */
        st = NULL;
        if (sqlite3_prepare_v2(db->db,
                               "UPDATE devices SET last_used = strftime('%s','now') WHERE id = ?1",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, match);
            sqlite3_step(st);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&db->lock);
    OPENSSL_cleanse(hash, sizeof(hash));
    if (rc == 0 && generation)
        *generation = gen;
    return rc;
}

int account_device_revoke(struct account_db *db, const char *user, const uint8_t *cred, size_t len)
{
    uint8_t hash[HASH_LEN];
    int rc = sha256(cred, len, hash);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    rc = ACCOUNT_EDB;
    if (sqlite3_prepare_v2(db->db, "DELETE FROM devices WHERE user = ?1 AND hash = ?2", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, hash, HASH_LEN, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&db->lock);
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

int account_device_count(struct account_db *db, const char *user, int64_t *out)
{
    return count_rows(db, "SELECT count(*) FROM devices WHERE user = ?1", user, out);
}

/* Reads name's generation under the lock held by the caller. */
static int read_generation(struct account_db *db, const char *name, uint32_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = ACCOUNT_EDB;
    if (sqlite3_prepare_v2(db->db, "SELECT generation FROM users WHERE name = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            *out = (uint32_t)sqlite3_column_int64(st, 0);
            rc = 0;
        } else if (step == SQLITE_DONE) {
            rc = ACCOUNT_EDENIED;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int account_generation(struct account_db *db, const char *name, uint32_t *out)
{
    pthread_mutex_lock(&db->lock);
    int rc = read_generation(db, name, out);
    pthread_mutex_unlock(&db->lock);
    return rc;
}

int account_revoke(struct account_db *db, const char *name, uint32_t *generation)
{
    pthread_mutex_lock(&db->lock);
    sqlite3_stmt *st = NULL;
    int rc = ACCOUNT_EDB;
    if (sqlite3_prepare_v2(db->db, "UPDATE users SET generation = generation + 1 WHERE name = ?1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_DONE)
            rc = sqlite3_changes(db->db) ? 0 : ACCOUNT_EDENIED;
    }
    sqlite3_finalize(st);
    uint32_t gen = 0;
    if (rc == 0 && (rc = read_generation(db, name, &gen)) == 0 && generation)
        *generation = gen;
    pthread_mutex_unlock(&db->lock);
    return rc;
}
