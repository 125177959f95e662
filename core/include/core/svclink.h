/* svclink: the engine's link to the service — connect, log in with the
 * device credential, keep the link up.
 *
 * The address is resolved with uv_getaddrinfo (never blocking the loop;
 * the addresses a name has are tried in turn until one answers HELLO),
 * the connection is one svc_client (net/client.h), and the login shows
 * the credential `chorus login` stored in chorus.db (LOGIN_DEVICE; the
 * password is never kept). A link that drops, or cannot be made, is tried
 * again after a jittered backoff: 1 s doubling to 60 s, each wait drawn
 * between half and all of it so a swarm that lost its service does not
 * come back in step. The ticket is renewed by logging in again on a new
 * link at four fifths of its lifetime; the downloads carry over
 * (fetch_set_client).
 *
 * Replies: the engine sends requests on svclink_client() and registers
 * the rid with svclink_expect; the reply (or NULL when the link goes
 * first) reaches the callback once.
 *
 * Threads: the loop's thread only. */
#ifndef CHORUS_CORE_SVCLINK_H
#define CHORUS_CORE_SVCLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"
#include "core/mq.h"
#include "net/client.h"
#include "net/conn.h"

#define SVCLINK_BACKOFF_FIRST_MS 1000u
#define SVCLINK_BACKOFF_MAX_MS   60000u
#define SVCLINK_MAX_ADDRS        8u /* addresses of a name tried in turn */

struct svclink;

/* The link's state changed. client is the logged-in connection when
 * state is MQ_SERVICE_ONLINE, else NULL (the previous one is going: stop
 * using it now). why: a line for the user when it went offline, or NULL. */
typedef void (*svclink_state_fn)(void *ctx, enum mq_service_state state, struct svc_client *client,
                                 const char *why);
/* A reply to an expected rid, or m == NULL when the link went first. The
 * callee may take m's pointer fields (set them to NULL). */
typedef void (*svclink_reply_fn)(void *ctx, struct wire_msg *m);

struct svclink_config {
    uv_loop_t *loop;
    struct clog *log;                    /* borrowed; may be NULL */
    const struct tls_identity *identity; /* borrowed; must outlive the link */
    const char *address;                 /* HOST:PORT (copied) */
    const uint8_t *service_key;          /* pinned key (copied) or NULL: pin_file */
    const char *pin_file;                /* copied */
    const char *user;                    /* copied; NULL: no credential, stays offline */
    const uint8_t *credential;           /* copied */
    size_t credential_len;
    svclink_state_fn on_state;
    void *ctx;
    /* the engine's access link (tests, the benchmark): borrowed, must
     * outlive the link; NULL: none */
    const struct conn_shaping *shaping;
};

/* Validates the address (returns -1 for a malformed one) and starts
 * connecting. The caller owns *out until svclink_close. */
int svclink_new(const struct svclink_config *cfg, struct svclink **out);

/* Closes the link; cb(arg) on the loop when everything is released. No
 * state callback follows; pending replies get NULL. */
void svclink_close(struct svclink *l, void (*cb)(void *arg), void *arg);

enum mq_service_state svclink_state(const struct svclink *l);
int64_t svclink_since(const struct svclink *l); /* unix seconds of the last change */
/* The logged-in client, or NULL. */
struct svc_client *svclink_client(const struct svclink *l);

/* Routes the reply to rid to fn(ctx, ...). rid 0 (the request was not
 * sent) calls fn with NULL at once. */
void svclink_expect(struct svclink *l, uint32_t rid, svclink_reply_fn fn, void *ctx);

/* The handler for messages someone else's dispatcher did not take (the
 * fetch's on_other): replies to expected rids. */
void svclink_on_other(struct svc_client *c, struct wire_msg *m, void *arg);

#endif
