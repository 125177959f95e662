/* client: the client side of the service protocol (man chorus-protocol(7)),
 * used by the player's core, the tests and the benchmarks.
 *
 * A svc_client is one TLS connection to chorusd on a libuv loop. It sends
 * HELLO (with a ticket when it has one), checks the service's key — pinned
 * by the caller (opts.service_key) or trusted on first contact and kept in
 * opts.pin_file — and then carries requests. Request functions return the
 * request id (rid) that the reply will carry, or 0 when the connection is
 * closed. Replies and other messages go to the handler set with
 * svc_client_set_handler, or, without one, to an inbox that the blocking
 * helpers (svc_client_wait*, svc_client_login_sync) read while they run
 * the loop themselves — for tests, tools and benchmarks that own the loop.
 *
 * A TICKET reply is also kept by the client (svc_client_ticket) so a
 * later connection can show it instead of the password. A device
 * credential (svc_client_get_device*) is for the caller to keep: it logs
 * in again (svc_client_login_device*) after the ticket has expired, but
 * only with the same identity (TLS key) that asked for it.
 *
 * Threads: everything on the loop's thread. The blocking helpers run the
 * loop, so they may only be called by the loop's owner, outside callbacks. */
#ifndef CHORUS_NET_CLIENT_H
#define CHORUS_NET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/tls.h"
#include "net/wire.h"

enum {
    CLIENT_ETIMEOUT = -6600, /* no answer in time */
    CLIENT_ECLOSED = -6601,  /* the connection is closed (svc_client_error says why) */
    CLIENT_EPIN = -6602,     /* the service's key is not the pinned one */
    CLIENT_EREFUSED = -6603, /* the service answered ERROR (svc_client_last_error_code) */
    CLIENT_EINVAL = -6604,   /* bad options: no identity, or neither key nor pin file */
    CLIENT_EADDR = -6605,    /* host could not be resolved */
};

struct conn_shaping; /* net/conn.h */

struct svc_client_opts {
    const char *host; /* address or name (names are resolved before connecting) */
    uint16_t port;
    const struct tls_identity *identity; /* this client's key pair; borrowed, must outlive it */
    const uint8_t *service_key;          /* the service's key (TLS_KEY_LEN bytes), or NULL */
    const char *pin_file;  /* without service_key: key file, written on first contact */
    const uint8_t *ticket; /* shown in HELLO (copied); NULL: log in with a password */
    size_t ticket_len;
    uint8_t role;          /* WIRE_ROLE_CLIENT (0 means that) or WIRE_ROLE_PEER */
    const char *bind_addr; /* local IP literal to connect from (tests: 127.0.0.x); NULL: any */
    /* Link emulation and rate caps for the connection (conn_set_shaping):
     * copied; its shapers are borrowed and must outlive the client. NULL:
     * none. */
    const struct conn_shaping *shaping;
};

struct svc_client;

/* Starts connecting. The caller owns *out until svc_client_close. */
int svc_client_new(uv_loop_t *loop, const struct svc_client_opts *opts, struct svc_client **out);

/* Closes the connection; the client frees itself once the loop has run
 * its close callbacks. Messages still in the inbox are dropped. */
void svc_client_close(struct svc_client *c);

/* Messages go to fn instead of the inbox (fn NULL: back to the inbox). fn
 * may take pointer fields of m by setting them to NULL; m is cleared after
 * it returns. */
typedef void (*svc_client_handler)(struct svc_client *c, struct wire_msg *m, void *arg);
void svc_client_set_handler(struct svc_client *c, svc_client_handler fn, void *arg);

/* The connection's own news, for an owner that runs the loop itself:
 * READY when HELLO is exchanged, CLOSED when the connection ended (not
 * after svc_client_close; svc_client_error says why). */
enum svc_client_state { SVC_CLIENT_READY, SVC_CLIENT_CLOSED };
typedef void (*svc_client_state_fn)(struct svc_client *c, enum svc_client_state st, void *arg);
void svc_client_set_state_fn(struct svc_client *c, svc_client_state_fn fn, void *arg);

/* HELLO exchanged: requests can be sent. */
bool svc_client_ready(const struct svc_client *c);
/* Logged in (by password or by the ticket shown in HELLO). */
bool svc_client_authenticated(const struct svc_client *c);
/* Why the connection closed (CLIENT_EPIN, a CONN_ or TLS_ code, 0 if open
 * or closed by us). */
int svc_client_error(const struct svc_client *c);
/* The code of the last ERROR the service sent (0: none). An ERROR with
 * rid 0 before HELLO says why the ticket was refused. */
uint16_t svc_client_last_error_code(const struct svc_client *c);
/* The service's key as presented (false before TLS is up). */
bool svc_client_service_key(const struct svc_client *c, uint8_t out[TLS_KEY_LEN]);
/* The ticket of the last successful login (borrowed; NULL before). */
const uint8_t *svc_client_ticket(const struct svc_client *c, size_t *len, uint64_t *expires);

/* ---- requests (return the rid, 0 when closed) ---- */

/* Sends m; gives it a fresh rid unless m->rid is set. m is only read. */
uint32_t svc_client_send(struct svc_client *c, struct wire_msg *m);
/* Sends bytes as they are, frame or not (tests of the service's parser). */
int svc_client_send_raw(struct svc_client *c, const uint8_t *bytes, size_t len);

uint32_t svc_client_login(struct svc_client *c, const char *user, const char *password);
/* Asks for a long-lived credential for this device, bound to the client's
 * identity (needs a password login on this connection). label (NULL: "";
 * at most WIRE_MAX_LABEL bytes, e.g. the host name) is for people. The
 * reply is DEVICE or ERROR. */
uint32_t svc_client_get_device(struct svc_client *c, const char *label);
/* Logs in with a credential from GET_DEVICE (len WIRE_MIN_CRED..
 * WIRE_MAX_CRED bytes; cred is only read): TICKET, kept as for a password
 * login, or ERROR WIRE_ERR_LOGIN. */
uint32_t svc_client_login_device(struct svc_client *c, const char *user, const uint8_t *cred,
                                 size_t len);
/* Revokes a credential of the logged-in user (OK, also when it was not
 * known): from then on it logs in nobody. cred is only read. */
uint32_t svc_client_revoke_device(struct svc_client *c, const uint8_t *cred, size_t len);
uint32_t svc_client_browse(struct svc_client *c, uint8_t kind, uint64_t parent, uint32_t offset,
                           uint32_t limit);
uint32_t svc_client_search(struct svc_client *c, const char *query, uint32_t limit);
uint32_t svc_client_get_manifest(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN]);
uint32_t svc_client_get_key(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN]);
uint32_t svc_client_get_chunks(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN],
                               uint32_t first, uint32_t count, uint8_t priority,
                               uint32_t deadline_ms);
/* Cancels the chunk request rid; the service answers OK with that rid,
 * after which no CHUNK of it arrives. */
uint32_t svc_client_cancel(struct svc_client *c, uint32_t rid);
uint32_t svc_client_announce(struct svc_client *c, uint16_t port,
                             const uint8_t (*file_ids)[WIRE_ID_LEN], uint32_t count, bool withdraw);
uint32_t svc_client_lookup(struct svc_client *c, const uint8_t file_id[WIRE_ID_LEN]);
uint32_t svc_client_ping(struct svc_client *c);

/* ---- blocking helpers (run the loop; inbox mode only) ---- */

/* Until HELLO is exchanged: 0, CLIENT_ECLOSED, CLIENT_EPIN, CLIENT_ETIMEOUT. */
int svc_client_wait_ready(struct svc_client *c, uint64_t timeout_ms);
/* The first inbox message with this rid (others stay queued); out is the
 * caller's (wire_msg_clear). */
int svc_client_wait(struct svc_client *c, uint32_t rid, struct wire_msg *out, uint64_t timeout_ms);
/* The first inbox message, whatever its rid. */
int svc_client_next(struct svc_client *c, struct wire_msg *out, uint64_t timeout_ms);
/* Runs the loop for ms milliseconds (messages collect in the inbox). */
void svc_client_run_for(struct svc_client *c, uint64_t ms);
/* Logs in and waits: 0, CLIENT_EREFUSED (wrong user or password: see
 * svc_client_last_error_code), CLIENT_ECLOSED or CLIENT_ETIMEOUT. */
int svc_client_login_sync(struct svc_client *c, const char *user, const char *password,
                          uint64_t timeout_ms);
/* The same with a device credential: 0, CLIENT_EREFUSED (the credential
 * is wrong, revoked, or from another identity), CLIENT_ECLOSED or
 * CLIENT_ETIMEOUT. */
int svc_client_login_device_sync(struct svc_client *c, const char *user, const uint8_t *cred,
                                 size_t len, uint64_t timeout_ms);
/* Asks for a device credential and waits: 0 with *cred (len bytes, owned
 * by the caller, who should wipe it before freeing) and *issued (unix
 * seconds; may be NULL), or CLIENT_EREFUSED (see
 * svc_client_last_error_code), CLIENT_ECLOSED or CLIENT_ETIMEOUT. */
int svc_client_get_device_sync(struct svc_client *c, const char *label, uint8_t **cred, size_t *len,
                               uint64_t *issued, uint64_t timeout_ms);

#define SVC_CLIENT_DEFAULT_PORT 4170u /* chorusd serve's (SVC_DEFAULT_PORT) */

/* Splits "HOST:PORT", "[V6]:PORT", "HOST" or a bare IPv6 address (port
 * SVC_CLIENT_DEFAULT_PORT) into *host (owned by the caller) and *port.
 * Returns 0 or -1 when malformed. */
int svc_address_parse(const char *text, char **host, uint16_t *port);

const char *svc_client_strerror(int err);

#endif
