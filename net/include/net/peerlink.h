/* peerlink: one link to another peer — a conn (conn.h) on which both sides
 * first prove they are logged in (DESIGN §4: "no ticket, no swarm").
 *
 * Handshake. Once TLS is up each side sends HELLO {version WIRE_VERSION,
 * role WIRE_ROLE_PEER, its service ticket, the port it accepts peers on
 * (0: none)}. The receiver checks the ticket with ticket_verify against
 * the service's key, bound to the key of the TLS certificate in front of
 * it (conn_peer_key): the binding is not optional here, there is no way to
 * ask for a link without it. Expiry is checked with PEERLINK_SKEW_S of
 * allowance for clocks that disagree. A ticket that fails is answered with
 * ERROR (WIRE_ERR_TICKET or WIRE_ERR_TICKET_EXPIRED) and the link closes
 * (on_close with PEERLINK_ETICKET / PEERLINK_EEXPIRED). Anything but HELLO
 * before the handshake ends, a second HELLO, a HELLO of another role or a
 * peer silent for PEERLINK_HELLO_MS closes it too. Only then is the link
 * up (on_up, with what the ticket says) and messages flow to on_message.
 * A link is closed when the other side's ticket expires (plus the skew):
 * it may connect again with its renewed ticket.
 *
 * Limits: frame bodies are capped at wire_peer_max_body() (nothing a peer
 * sends is larger than a CHUNK), and only the types a peer may send
 * (wire_peer_type) are taken: anything else is a protocol error. Version
 * gating: a type this codec does not know, from a peer whose HELLO
 * announced a newer version than ours, is skipped (counted), not fatal;
 * from a peer of our version or older it is a protocol error. Sending,
 * peerlink_send refuses (PEERLINK_EVERSION) a type the other side's version
 * does not have (wire_type_version).
 *
 * Threads: the loop's thread only. */
#ifndef CHORUS_NET_PEERLINK_H
#define CHORUS_NET_PEERLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/conn.h"
#include "net/tls.h"
#include "net/wire.h"

#define PEERLINK_SKEW_S   300u   /* ticket expiry allowance for clock differences */
#define PEERLINK_HELLO_MS 10000u /* HELLO must arrive within this after TLS */

enum {
    PEERLINK_ETICKET = -6800,  /* the peer's ticket is missing, malformed, forged or not its key */
    PEERLINK_EEXPIRED = -6801, /* the peer's ticket expired */
    PEERLINK_EHELLO = -6802,   /* no HELLO, a HELLO of another role, or out of order */
    PEERLINK_EVERSION = -6803, /* send: the peer's protocol version lacks this type */
    PEERLINK_EREFUSED = -6804, /* the peer refused our ticket (its ERROR) */
};

const char *peerlink_strerror(int err);

/* What the handshake established about the other side. */
struct peerlink_info {
    uint8_t key[TLS_KEY_LEN];     /* its key (the ticket's, the certificate's) */
    char user[WIRE_MAX_USER + 1]; /* the ticket's user */
    uint64_t ticket_expires;      /* unix seconds */
    uint16_t version;             /* its HELLO version */
    uint16_t listen_port;         /* 0: accepts no peers */
    struct sockaddr_storage addr; /* its address (the socket's) */
    bool inbound;                 /* it connected to us */
};

/* What this side shows, and checks with. Copied by the calls that take
 * it; the ticket is this engine's current one. */
struct peerlink_auth {
    const uint8_t *service_key; /* TLS_KEY_LEN bytes */
    const uint8_t *ticket;
    size_t ticket_len; /* 0: no ticket — the peer will refuse us */
    uint16_t listen_port;
};

struct peerlink;

struct peerlink_callbacks {
    /* The handshake succeeded. info is valid during the call (and from
     * peerlink_info afterwards). */
    void (*on_up)(struct peerlink *l, const struct peerlink_info *info, void *arg);
    /* A message after the handshake (never HELLO). The link clears m
     * after the call; take pointer fields by setting them to NULL. */
    void (*on_message)(struct peerlink *l, struct wire_msg *m, void *arg);
    /* Output drained below CONN_LOW_WATER (conn.h). May be NULL. */
    void (*on_writable)(struct peerlink *l, void *arg);
    /* Exactly once for every link returned: err 0 after peerlink_close(l,
     * 0), else why (PEERLINK_*, CONN_*, TLS_*). l is freed after it. Also
     * for a link that never came up. */
    void (*on_close)(struct peerlink *l, int err, void *arg);
};

/* Accepts a pending connection on server (a uv_connection_cb) as a peer
 * link. shaping may be NULL (conn_set_shaping). */
int peerlink_accept(uv_stream_t *server, struct tls_ctx *server_ctx,
                    const struct peerlink_auth *auth, const struct conn_shaping *shaping,
                    const struct peerlink_callbacks *cb, void *arg, struct peerlink **out);

/* Connects to addr. expect_key: the key the peer must present (from the
 * tracker or a FOUND), or NULL. */
int peerlink_connect(uv_loop_t *loop, const struct sockaddr *addr, struct tls_ctx *client_ctx,
                     const uint8_t *expect_key, const struct peerlink_auth *auth,
                     const struct conn_shaping *shaping, const struct peerlink_callbacks *cb,
                     void *arg, struct peerlink **out);

/* As conn_send, after the handshake only (CONN_ECLOSED before it or when
 * closing; PEERLINK_EVERSION, see above). */
int peerlink_send(struct peerlink *l, const struct wire_msg *m, uint64_t prio, uint32_t tag);

/* conn_cancel on the link's conn. */
size_t peerlink_cancel(struct peerlink *l, uint32_t tag);

/* Closes; on_close(err) follows from the loop. Ignored when closing. */
void peerlink_close(struct peerlink *l, int err);

bool peerlink_is_up(const struct peerlink *l);

/* The other side (valid once up). */
const struct peerlink_info *peerlink_info(const struct peerlink *l);

/* The underlying connection (stats, queued bytes, address). */
struct conn *peerlink_conn(struct peerlink *l);

/* Frames of unknown types skipped (a newer peer's). */
uint64_t peerlink_skipped(const struct peerlink *l);

#endif
