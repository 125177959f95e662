/* account: the service's user accounts (DESIGN §4).
 *
 * One SQLite table of users: name, a random 16-byte salt, the scrypt hash
 * of the password and the scrypt parameters it was made with (so the cost
 * can rise later without invalidating old hashes). Hashes are compared in
 * constant time, and checking an unknown user costs the same scrypt run as
 * checking a known one, so timing does not tell which names exist.
 *
 * Device credentials (what `chorus login` keeps instead of the password):
 * 32 random bytes issued to a logged-in connection, stored only as their
 * SHA-256, with the TLS public key of that connection. A credential logs
 * in its user only from a connection with that same key, so a copy of it
 * without the device's private key is useless. Deleting a user, renaming
 * one or changing the password (account_set_password, or an UPDATE of the
 * hash by hand) revokes all of that user's credentials: the schema's
 * triggers do it in the same statement. The check is a SHA-256 and a few
 * rows, cheap enough to need no slowing down: credentials are random, not
 * guessable like passwords.
 *
 * Credential generations: each user has one (a u32, 0 at first). A new
 * password (account_set_password, or the hash changed by hand: a trigger)
 * or account_revoke moves it on. Logins report the generation they
 * checked, tickets carry it, and a device credential is issued at the
 * user's generation and refused once the user's has moved on.
 *
 * Schema versions (PRAGMA user_version): account_open brings an older file
 * (version 0: users only, from before versions were kept) up to date in
 * one transaction, and refuses a newer one.
 *
 * scrypt is deliberately slow (the default, N = 2^15, r = 8, p = 1, takes
 * tens of milliseconds and 32 MiB): the service runs account_verify on the
 * libuv threadpool, never on its loop.
 *
 * Threads: account_verify, account_add and the account_device_* functions
 * are safe from any thread on a shared db (SQLite in serialized mode plus
 * a mutex around each statement; scrypt runs outside it). account_open /
 * account_close by the owner. Nothing here logs. */
#ifndef CHORUS_NET_ACCOUNT_H
#define CHORUS_NET_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/tls.h"

#define ACCOUNT_NAME_MAX    64u   /* = WIRE_MAX_USER */
#define ACCOUNT_PASS_MAX    1024u /* = WIRE_MAX_PASS */
#define ACCOUNT_CRED_LEN    32u   /* device credentials issued (WIRE_MIN_CRED) */
#define ACCOUNT_LABEL_MAX   64u   /* = WIRE_MAX_LABEL */
#define ACCOUNT_MAX_DEVICES 64u   /* credentials one user may hold at once */

enum {
    ACCOUNT_EDB = -6300,       /* SQLite failed (cannot open, corrupt, disk full) */
    ACCOUNT_EEXISTS = -6301,   /* a user of that name exists */
    ACCOUNT_ENAME = -6302,     /* name not 1..64 of [A-Za-z0-9._-], or starting with '.' or '-' */
    ACCOUNT_EPASSWORD = -6303, /* password empty or longer than ACCOUNT_PASS_MAX */
    ACCOUNT_EDENIED = -6304,   /* unknown user, wrong password or credential */
    ACCOUNT_EPARAMS = -6305,   /* scrypt parameters out of range */
    ACCOUNT_ECRYPTO = -6306,   /* scrypt, SHA-256 or the random generator failed */
    ACCOUNT_ETOONEW = -6307,   /* the database's schema is newer than this build's */
    ACCOUNT_EDEVICES = -6308,  /* the user holds ACCOUNT_MAX_DEVICES credentials already */
    ACCOUNT_ELABEL = -6309,    /* device label longer than ACCOUNT_LABEL_MAX */
};

/* scrypt cost: N = 2^log2_n (10..20), r (1..32), p (1..16). */
struct account_params {
    unsigned log2_n, r, p;
};

/* The default for new accounts: N = 2^15, r = 8, p = 1. */
extern const struct account_params account_default_params;

struct account_db;

/* Opens or creates the database at path (mode 0600), migrating an older
 * schema; ACCOUNT_ETOONEW (file untouched) for a newer one. The caller
 * owns *out. */
int account_open(const char *path, struct account_db **out);
void account_close(struct account_db *db);

/* Adds a user. params NULL means account_default_params. */
int account_add(struct account_db *db, const char *name, const char *password,
                const struct account_params *params);

/* Replaces a user's password (ACCOUNT_EDENIED when there is no such user)
 * and revokes every device credential of that user. */
int account_set_password(struct account_db *db, const char *name, const char *password,
                         const struct account_params *params);

/* 0 when password is name's password, else ACCOUNT_EDENIED (or
 * ACCOUNT_EDB / ACCOUNT_ECRYPTO). On success *generation (may be NULL) is
 * the user's generation read with the hash. Slow by design: not on a loop
 * thread. */
int account_verify(struct account_db *db, const char *name, const char *password,
                   uint32_t *generation);

/* name's credential generation: 0, ACCOUNT_EDENIED (no such user) or
 * ACCOUNT_EDB. One SQLite read. */
int account_generation(struct account_db *db, const char *name, uint32_t *out);

/* Moves name's generation on, ending every ticket and device credential
 * issued before: 0 (*generation, may be NULL, gets the new one),
 * ACCOUNT_EDENIED (no such user) or ACCOUNT_EDB. */
int account_revoke(struct account_db *db, const char *name, uint32_t *generation);

/* Number of users. */
int account_count(struct account_db *db, int64_t *out);

/* ---- device credentials (all cheap: fine on the threadpool, not on a
 * loop thread, since each is a SQLite statement) ---- */

/* Issues a credential for user at generation (the one the asking
 * connection logged in at), bound to key (the TLS public key of the
 * connection that asks), with a label for people (label NULL means "";
 * any bytes but NUL). Writes ACCOUNT_CRED_LEN random bytes to cred_out,
 * the caller's buffer, which the caller should wipe once sent; only their
 * hash is stored. Returns 0, ACCOUNT_EDENIED (no such user, or its
 * generation moved on),
 * ACCOUNT_EDEVICES, ACCOUNT_ELABEL, ACCOUNT_ECRYPTO or ACCOUNT_EDB. */
int account_device_add(struct account_db *db, const char *user, uint32_t generation,
                       const uint8_t key[TLS_KEY_LEN], const char *label,
                       uint8_t cred_out[ACCOUNT_CRED_LEN]);

/* 0 when cred (len bytes, only read) is a live credential of user issued
 * to key at the user's generation, and records the time as its last use
 * (*generation, may be NULL, gets the generation); else ACCOUNT_EDENIED,
 * whatever the reason (unknown user, wrong or revoked credential, an
 * older generation, another key), or ACCOUNT_EDB / ACCOUNT_ECRYPTO. The credential's hash is
 * compared in constant time with each of the user's: how long it takes
 * depends on how many credentials the user holds, never on the bytes of
 * cred. */
int account_device_check(struct account_db *db, const char *user, const uint8_t *cred, size_t len,
                         const uint8_t key[TLS_KEY_LEN], uint32_t *generation);

/* Revokes user's credential cred (len bytes, only read): from now on it
 * logs in nobody. 0 also when there was no such credential (idempotent),
 * or ACCOUNT_EDB. Another user's credential is left alone. */
int account_device_revoke(struct account_db *db, const char *user, const uint8_t *cred, size_t len);

/* Number of live credentials of user (0 for an unknown user). */
int account_device_count(struct account_db *db, const char *user, int64_t *out);

bool account_name_valid(const char *name);

const char *account_strerror(int err);

#endif
