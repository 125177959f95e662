/* svc: the Chorus service — what `chorusd serve` runs (DESIGN §4, §5;
 * the protocol is man chorus-protocol(7)).
 *
 * One libuv loop serves many clients, each on one long-lived TLS
 * connection (conn.h). After HELLO a client logs in (user + password, or
 * user + a device credential it was issued before, answered with a signed
 * ticket) or shows a ticket it got before; then it may ask for a device
 * credential or revoke one, browse and search the catalog, fetch
 * manifests, content keys and chunks of the stored files, and use the
 * tracker (announce files it holds, look up who holds a file).
 *
 * Files in the data directory:
 *   catalog.db                  the catalog (core/catalog.h; written by chorusd import)
 *   files/ manifests/ keys/     the master store (core/store.h)
 *   accounts.db                 users, scrypt hashes, device credentials' hashes
 *                               (net/account.h; chorusd useradd)
 *   service.key                 the service's Ed25519 key (PEM, 0600), made on first start
 *
 * Fairness: every disk and database access runs on the libuv threadpool;
 * scrypt checks (at most SVC_MAX_LOGINS at once; device-credential checks
 * are cheap and do not wait for them) and catalog queries (one
 * per catalog connection) wait in queues of their own, so they never take
 * the whole pool. Catalog queries are served one client at a time in
 * turn: one client's pile of searches delays another's by one search at
 * most. Password checks take turns by source address, then by account
 * within the address, then by connection: a flood of logins from one
 * address or for one account delays another address's login by one check
 * per address with logins waiting (see the limits below); each client has
 * at most SVC_READS_PER_CLIENT chunk reads in flight and only as much data
 * queued as its connection drains, so one slow or hostile client costs the
 * others nothing but its share.
 *
 * Limits on what one client can hold: frames longer than the largest
 * request are refused from their header; a connection goes when it has
 * not logged in after login_timeout_ms (counted from the connection or
 * from the end of its last login; never while a login of it waits in the
 * queue or is checked) or has left its replies unread for
 * send_timeout_ms; at most max_clients connections, lowered to what
 * RLIMIT_NOFILE leaves after SVC_FD_RESERVE. Out of descriptors all the
 * same, the service stops accepting for SVC_ACCEPT_PAUSE_MS rather than
 * letting libuv's accept loop spin.
 *
 * Revocation: a login records the user's credential generation
 * (net/account.h) and the ticket carries it. A ticket shown in HELLO is
 * checked against the accounts database (on the threadpool; the HELLO
 * answer waits for it), and every generation_check_ms one read per
 * distinct logged-in user closes the connections whose user's generation
 * moved on (chorusd revoke, a new password) or who no longer exists.
 *
 * Chunks go out by urgency: control replies first, then chunks of the
 * request with the best (priority, deadline, arrival) — a request for the
 * playing track overtakes bulk requests queued before it.
 *
 * Threads: svc_* functions run on the loop's thread; svc_thread_* on the
 * thread that owns the svc_thread. Like every libuv program, the process
 * must ignore SIGPIPE (a client that hangs up mid-write would kill it). */
#ifndef CHORUS_NET_SVC_H
#define CHORUS_NET_SVC_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"
#include "net/tls.h"

#define SVC_CATALOG_NAME  "catalog.db" /* as audio/import.h's IMPORT_CATALOG_NAME */
#define SVC_ACCOUNTS_NAME "accounts.db"
#define SVC_KEY_NAME      "service.key"

#define SVC_DEFAULT_PORT      4170u
#define SVC_TICKET_LIFETIME_S 3600u /* peers check tickets alone: a revoked user lasts this long */
#define SVC_GENERATION_CHECK_MS                                                                    \
    10000u /* logged-in connections' credentials re-checked this often */
#define SVC_LOGIN_TIMEOUT_MS    60000u /* unauthenticated connections go after this */
#define SVC_MAX_CLIENTS         10000u
#define SVC_MAX_REQUESTS        64u /* chunk requests open per client */
#define SVC_MAX_JOBS_PER_CLIENT 32u /* other requests in flight per client */
#define SVC_READS_PER_CLIENT    8u  /* chunk reads in flight per client */
#define SVC_MAX_LOGINS          2u  /* scrypt checks at once, whole service */
#define SVC_MAX_LOGIN_FAILURES  5u  /* failed, refused or held logins; then the connection goes */
#define SVC_CATALOG_CONNECTIONS 2u
#define SVC_SEND_TIMEOUT_MS     60000u /* a client that takes none of its replies goes after this */
#define SVC_FD_RESERVE          128u   /* descriptors kept for everything but clients */
#define SVC_ACCEPT_PAUSE_MS     1000u  /* out of descriptors: accept nothing for this long */

/* Limits per source address and per account (chorusd(8), LIMITS). An IPv6
 * address counts by its /64 prefix (what one host usually gets). Loopback
 * addresses (127.0.0.0/8, ::1) are exempt from the per-address caps and
 * from the back-offs keyed by address unless limit_loopback is set: the
 * tests, the demo and the benchmarks run dozens of engines on 127.0.0.1.
 *
 * Back-off: after N failed logins for a key, each further attempt of that
 * key is answered ERROR BUSY at once (no check is queued, so a guesser
 * gets no answer about the password) until a delay has passed since the
 * last failure; the delay starts at backoff_ms and doubles with each
 * further failure up to its cap; while a key is held back, one check of
 * it runs at a time. A refusal rather than a delayed answer: delaying
 * would cost the service a connection and memory per attempt and gain
 * nothing (a guesser opens more connections), and a held attempt counts
 * as a failure of its connection. Three keys: (account, address) — the
 * strict one, which slows a guesser without touching the real user
 * elsewhere; address — for one address spraying many accounts; account
 * alone — looser and capped low (account_backoff_max_ms), for guessing
 * from many addresses, so a stranger can hold a real user's password
 * logins back by at most that long per attempt. Account back-offs count
 * and gate password LOGINs only: a device credential (how engines log in
 * after `chorus login`) cannot be guessed, and a stranger's guesses must
 * not lock out a user's devices. A success resets the account's counters
 * (not the address's: a guesser with an account of their own could reset
 * it). Failures are forgotten failure_memory_ms after the last one.
 *
 * A LOGIN or LOGIN_DEVICE on a connection that is already logged in is
 * answered ERROR WIRE_ERR_BAD_REQUEST and counts as a failure of that
 * connection (towards SVC_MAX_LOGIN_FAILURES): nothing legitimate does it
 * (an engine logs in on a new connection), and accepting it let one
 * account keep the password checks busy. So does an attempt refused for a
 * back-off. */
#define SVC_MAX_CONNS_PER_ADDR     100u    /* connections at once from one address */
#define SVC_MAX_LOGINS_PER_ADDR    8u      /* logins queued or running from one address */
#define SVC_LOGIN_FAILURES         5u      /* per (account, address), then back-off */
#define SVC_ADDR_FAILURES          20u     /* per address (any account), then back-off */
#define SVC_ACCOUNT_FAILURES       50u     /* per account (any address), then back-off */
#define SVC_BACKOFF_MS             1000u   /* first delay; doubles per further failure */
#define SVC_BACKOFF_MAX_MS         300000u /* cap of the address and (account, address) delays */
#define SVC_ACCOUNT_BACKOFF_MAX_MS 60000u  /* cap of the per-account delay */
#define SVC_FAILURE_MEMORY_MS      900000u /* failures are forgotten after this long */

struct svc_config {
    const char *data_dir;          /* required */
    const char *listen_addr;       /* IPv4 or IPv6 literal; NULL: "0.0.0.0" */
    uint16_t port;                 /* 0: any free port (svc_port tells which) */
    uint64_t ticket_lifetime_s;    /* 0: SVC_TICKET_LIFETIME_S */
    uint64_t tracker_silence_ms;   /* 0: TRACKER_SILENCE_MS */
    uint64_t handshake_timeout_ms; /* 0: CONN_HANDSHAKE_MS */
    uint64_t login_timeout_ms;     /* 0: SVC_LOGIN_TIMEOUT_MS */
    uint64_t send_timeout_ms;      /* 0: SVC_SEND_TIMEOUT_MS */
    unsigned max_clients;          /* 0: SVC_MAX_CLIENTS; lowered to fit RLIMIT_NOFILE */
    uint64_t generation_check_ms;  /* 0: SVC_GENERATION_CHECK_MS */
    /* limits (see above); 0: the default */
    unsigned max_conns_per_addr;     /* SVC_MAX_CONNS_PER_ADDR */
    unsigned max_logins_per_addr;    /* SVC_MAX_LOGINS_PER_ADDR */
    unsigned login_failures;         /* SVC_LOGIN_FAILURES */
    unsigned addr_failures;          /* SVC_ADDR_FAILURES */
    unsigned account_failures;       /* SVC_ACCOUNT_FAILURES */
    uint64_t backoff_ms;             /* SVC_BACKOFF_MS */
    uint64_t backoff_max_ms;         /* SVC_BACKOFF_MAX_MS */
    uint64_t account_backoff_max_ms; /* SVC_ACCOUNT_BACKOFF_MAX_MS */
    uint64_t failure_memory_ms;      /* SVC_FAILURE_MEMORY_MS */
    bool limit_loopback;             /* false: loopback addresses are exempt */
    struct clog *log;                /* borrowed, may be NULL */
};

struct svc_stats {
    uint64_t clients;         /* connected now */
    uint64_t clients_total;   /* accepted since start */
    uint64_t max_clients;     /* the cap in force (max_clients, or less for RLIMIT_NOFILE) */
    uint64_t clients_refused; /* hung up at once: the cap was reached */
    uint64_t addr_refused;    /* hung up at once: their address's cap was reached */
    uint64_t logins_held;     /* login attempts answered BUSY: back-off or pending cap */
    uint64_t send_timeouts;   /* closed: took none of their replies for send_timeout_ms */
    uint64_t accept_pauses;   /* times accepting paused: out of file descriptors */
    uint64_t logins_ok, logins_failed, tickets_refused; /* logins: by password */
    uint64_t device_logins_ok, device_logins_failed;    /* by device credential */
    uint64_t requests;                                  /* requests answered (any kind) */
    uint64_t chunks_served, bytes_served;
    uint64_t lookups, announces;
    uint64_t protocol_errors;
    uint64_t tracker_entries, tracker_files;
};

struct svc;

/* Opens the data directory's store, catalog, accounts and key (creating
 * the key and an empty accounts database when missing), binds and
 * listens. Returns 0, or an error from the part that failed (STORE_*,
 * CATALOG_*, ACCOUNT_*, TLS_*, or a libuv/errno code such as UV_EADDRINUSE;
 * svc_strerror covers all), which is also logged. The caller owns *out. */
int svc_new(uv_loop_t *loop, const struct svc_config *cfg, struct svc **out);

/* The bound TCP port. */
int svc_port(const struct svc *s);

/* The service's Ed25519 public key (what clients pin). */
void svc_public_key(const struct svc *s, uint8_t out[TLS_KEY_LEN]);

void svc_get_stats(const struct svc *s, struct svc_stats *out);

/* Stops listening, closes every client and waits for work in flight; cb
 * runs (on the loop) once all of it is done. Then call svc_free. */
void svc_close(struct svc *s, void (*cb)(struct svc *s, void *arg), void *arg);

/* Frees a service that svc_close finished with (or NULL). */
void svc_free(struct svc *s);

/* Text for any error svc_new returns and for connection close reasons. */
const char *svc_strerror(int err);

/* ---- a service on a thread of its own ----
 * For programs that run the service inside themselves (chorus --demo, the
 * benchmarks, the tests): a thread with its own loop runs svc_new(cfg)
 * and serves until svc_thread_stop. */
struct svc_thread;

/* Starts the thread and waits until the service listens (cfg is only
 * read during the call; cfg->log must outlive the thread). Returns 0 or
 * svc_new's error (nothing is left running then). */
int svc_thread_start(const struct svc_config *cfg, struct svc_thread **out);

int svc_thread_port(const struct svc_thread *t);
void svc_thread_public_key(const struct svc_thread *t, uint8_t out[TLS_KEY_LEN]);

/* The service's statistics now (asked of its loop; waits for the
 * answer). Not concurrently with svc_thread_stop. */
void svc_thread_stats(struct svc_thread *t, struct svc_stats *out);

/* Closes the service as svc_close does, joins the thread and frees
 * everything; *final (may be NULL) gets the last statistics. */
void svc_thread_stop(struct svc_thread *t, struct svc_stats *final);

#endif
