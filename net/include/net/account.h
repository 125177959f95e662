/* account: the service's user accounts (DESIGN §4).
 *
 * One SQLite table of users: name, a random 16-byte salt, the scrypt hash
 * of the password and the scrypt parameters it was made with (so the cost
 * can rise later without invalidating old hashes). Hashes are compared in
 * constant time, and checking an unknown user costs the same scrypt run as
 * checking a known one, so timing does not tell which names exist.
 *
 * scrypt is deliberately slow (the default, N = 2^15, r = 8, p = 1, takes
 * tens of milliseconds and 32 MiB): the service runs account_verify on the
 * libuv threadpool, never on its loop.
 *
 * Threads: account_verify and account_add are safe from any thread on a
 * shared db (SQLite in serialized mode plus a mutex around each
 * statement; scrypt runs outside it). account_open / account_close by the
 * owner. Nothing here logs. */
#ifndef CHORUS_NET_ACCOUNT_H
#define CHORUS_NET_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#define ACCOUNT_NAME_MAX 64u   /* = WIRE_MAX_USER */
#define ACCOUNT_PASS_MAX 1024u /* = WIRE_MAX_PASS */

enum {
    ACCOUNT_EDB = -6300,       /* SQLite failed (cannot open, corrupt, disk full) */
    ACCOUNT_EEXISTS = -6301,   /* a user of that name exists */
    ACCOUNT_ENAME = -6302,     /* name not 1..64 of [A-Za-z0-9._-], or starting with '.' or '-' */
    ACCOUNT_EPASSWORD = -6303, /* password empty or longer than ACCOUNT_PASS_MAX */
    ACCOUNT_EDENIED = -6304,   /* unknown user or wrong password */
    ACCOUNT_EPARAMS = -6305,   /* scrypt parameters out of range */
    ACCOUNT_ECRYPTO = -6306,   /* scrypt or the random generator failed */
};

/* scrypt cost: N = 2^log2_n (10..20), r (1..32), p (1..16). */
struct account_params {
    unsigned log2_n, r, p;
};

/* The default for new accounts: N = 2^15, r = 8, p = 1. */
extern const struct account_params account_default_params;

struct account_db;

/* Opens or creates the database at path (mode 0600). The caller owns *out. */
int account_open(const char *path, struct account_db **out);
void account_close(struct account_db *db);

/* Adds a user. params NULL means account_default_params. */
int account_add(struct account_db *db, const char *name, const char *password,
                const struct account_params *params);

/* Replaces a user's password (ACCOUNT_EDENIED when there is no such user). */
int account_set_password(struct account_db *db, const char *name, const char *password,
                         const struct account_params *params);

/* 0 when password is name's password, else ACCOUNT_EDENIED (or
 * ACCOUNT_EDB / ACCOUNT_ECRYPTO). Slow by design: not on a loop thread. */
int account_verify(struct account_db *db, const char *name, const char *password);

/* Number of users. */
int account_count(struct account_db *db, int64_t *out);

bool account_name_valid(const char *name);

const char *account_strerror(int err);

#endif
