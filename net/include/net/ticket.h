/* ticket: the service's signed statement "this key belongs to a logged-in
 * user until then" (DESIGN §4, man chorus-protocol(7)).
 *
 * Login returns one; it is shown in HELLO on later connections (to the
 * service, and to peers, who need no password to check it). Encoding, all
 * integers big-endian:
 *
 *   "CHTK" | u8 version (2) | u64 issued | u64 expires (unix seconds)
 *   | u32 generation | u8 user_len | user | 32-byte Ed25519 key of the holder
 *   | 64-byte Ed25519 signature by the service over everything before it
 *
 * A ticket is accepted when it parses, its signature checks against the
 * service's key, it is not from the future (issued <= now + skew), it has
 * not expired (now < expires + skew) and its key is the key of the TLS
 * certificate in front of the checker (a ticket copied off the wire is
 * useless without the holder's private key): that binding is not optional,
 * ticket_verify has no way to skip it. skew is the allowance for clocks
 * that disagree: 0 for the service (its own clock signed the ticket),
 * PEERLINK_SKEW_S between peers. generation is the user's
 * credential generation at login (net/account.h): the service also refuses
 * a ticket whose generation is not the user's current one; peers cannot
 * ask, so for them a ticket lives until it expires. Version 1 tickets
 * (without a generation) are not a ticket any more: TICKET_EFORMAT.
 *
 * Pure functions over bytes; any thread. */
#ifndef CHORUS_NET_TICKET_H
#define CHORUS_NET_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "net/tls.h"
#include "net/wire.h"

#define TICKET_VERSION 2u
#define TICKET_MAX_LEN (4u + 1u + 8u + 8u + 4u + 1u + WIRE_MAX_USER + TLS_KEY_LEN + TLS_SIG_LEN)

enum {
    TICKET_EFORMAT = -6200,  /* not a ticket */
    TICKET_ESIG = -6201,     /* not signed by the service's key */
    TICKET_EEXPIRED = -6202, /* past its expiry */
    TICKET_EKEY = -6203,     /* names another key than the peer's */
    TICKET_ECRYPTO = -6204,  /* signing failed */
    TICKET_EREVOKED = -6205, /* of an older generation (the service's check, not ticket_verify's) */
    TICKET_EFUTURE =
        -6206, /* issued after now + skew: the checker's clock or the ticket is wrong */
};

struct ticket {
    char user[WIRE_MAX_USER + 1]; /* 1..WIRE_MAX_USER bytes */
    uint8_t key[TLS_KEY_LEN];
    uint64_t issued, expires; /* unix seconds */
    uint32_t generation;      /* the user's credential generation at login */
};

/* Encodes and signs t with the service's identity into a new buffer owned
 * by the caller (at most TICKET_MAX_LEN bytes). Returns 0,
 * TICKET_EFORMAT (empty or too long user) or TICKET_ECRYPTO. */
int ticket_sign(const struct tls_identity *service, const struct ticket *t, uint8_t **out,
                size_t *len);

/* Checks a ticket, in this order: format, signature by service_key,
 * issued <= now + skew_s (else TICKET_EFUTURE), now < expires + skew_s
 * (else TICKET_EEXPIRED), and that it names peer_key, the key of the TLS
 * certificate of the side that presented it (required: NULL is
 * TICKET_EKEY). Fills out (may be NULL) on success. Returns 0 or the first
 * failed check's TICKET_E*. */
int ticket_verify(const uint8_t *buf, size_t len, const uint8_t service_key[TLS_KEY_LEN],
                  const uint8_t peer_key[TLS_KEY_LEN], uint64_t now, uint32_t skew_s,
                  struct ticket *out);

const char *ticket_strerror(int err);

#endif
