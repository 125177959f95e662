/* tls: identities, contexts and socket-free TLS 1.3 sessions (DESIGN §4).
 *
 * Every service and every peer has an Ed25519 key pair (its identity) and
 * presents a self-signed certificate made from it. Certificates carry no
 * trust: what matters is the key, which the handshake proves the other side
 * holds. Who that key belongs to is settled above TLS: a client pins the
 * service's key, and peers show each other tickets naming their keys.
 *
 * A tls_session drives one OpenSSL connection through memory BIOs: network
 * bytes in (tls_session_feed), plaintext out (tls_session_read), plaintext
 * in (tls_session_write), network bytes out (tls_session_take_output). It
 * does no I/O itself, so the same engine serves the libuv connection layer
 * (conn.h) and tests without sockets. Only TLS 1.3 is offered or accepted,
 * and both sides must present a certificate with an Ed25519 key.
 *
 * Identities and contexts are read-only after creation and may be shared
 * by any threads; a session belongs to one thread at a time. */
#ifndef CHORUS_NET_TLS_H
#define CHORUS_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_KEY_LEN 32u /* Ed25519 public key */
#define TLS_SIG_LEN 64u /* Ed25519 signature */

enum {
    TLS_EIO = -6100,        /* key file unreadable or unwritable */
    TLS_EKEYFILE = -6101,   /* key file is not an Ed25519 private key */
    TLS_ECRYPTO = -6102,    /* OpenSSL failed (see the detail string) */
    TLS_EHANDSHAKE = -6103, /* handshake refused or failed */
    TLS_EPEERKEY = -6104,   /* peer certificate key not Ed25519, or not the expected one */
    TLS_ECLOSED = -6105,    /* peer sent close_notify */
    TLS_ESTATE = -6106,     /* write before the handshake finished */
};

const char *tls_strerror(int err);

/* ---- identity: an Ed25519 key pair and its self-signed certificate ---- */

struct tls_identity;

/* A fresh random identity; the caller owns it. */
int tls_identity_generate(struct tls_identity **out);

/* Reads a PEM private key file (PKCS#8). */
int tls_identity_load(const char *path, struct tls_identity **out);

/* Writes the private key to path with mode 0600, atomically (temp file +
 * rename). */
int tls_identity_save(const struct tls_identity *id, const char *path);

/* Loads path, or generates and saves a new identity when it does not
 * exist (*created tells which; may be NULL). */
int tls_identity_load_or_create(const char *path, struct tls_identity **out, bool *created);

void tls_identity_free(struct tls_identity *id);

void tls_identity_public_key(const struct tls_identity *id, uint8_t out[TLS_KEY_LEN]);

/* Ed25519 signature of msg. Returns 0 or TLS_ECRYPTO. */
int tls_identity_sign(const struct tls_identity *id, const uint8_t *msg, size_t len,
                      uint8_t sig[TLS_SIG_LEN]);

/* True when sig is key's Ed25519 signature of msg. */
bool tls_ed25519_verify(const uint8_t key[TLS_KEY_LEN], const uint8_t *msg, size_t len,
                        const uint8_t sig[TLS_SIG_LEN]);

/* Hex of a key (2*TLS_KEY_LEN+1 bytes) and back (returns 0 or -1). */
void tls_key_to_hex(const uint8_t key[TLS_KEY_LEN], char *out);
int tls_key_from_hex(const char *hex, uint8_t key[TLS_KEY_LEN]);

/* ---- context: one per role and identity ---- */

struct tls_ctx;

/* A server or client context presenting id's certificate. The context
 * keeps its own reference to the key; id may be freed afterwards. */
int tls_ctx_new(const struct tls_identity *id, bool server, struct tls_ctx **out);
void tls_ctx_free(struct tls_ctx *ctx);

/* ---- session: one connection's TLS state ---- */

struct tls_session;

/* A session of ctx's role. When expect_key is not NULL the handshake fails
 * with TLS_EPEERKEY unless the peer's certificate holds exactly that key.
 * The ctx must outlive the session. */
struct tls_session *tls_session_new(struct tls_ctx *ctx, const uint8_t *expect_key);
void tls_session_free(struct tls_session *s);

/* Client: produce the ClientHello (take it with tls_session_take_output).
 * Server: no-op. */
int tls_session_start(struct tls_session *s);

/* Network bytes from the peer. Advances the handshake; returns 0, or a
 * negative TLS_E* (the session is then dead; output may hold an alert). */
int tls_session_feed(struct tls_session *s, const uint8_t *data, size_t len);

bool tls_session_established(const struct tls_session *s);

/* The peer's Ed25519 key; false before the handshake finished. */
bool tls_session_peer_key(const struct tls_session *s, uint8_t out[TLS_KEY_LEN]);

/* Decrypted bytes, up to cap. Returns the count (> 0), 0 when nothing is
 * available yet, or a negative TLS_E* (TLS_ECLOSED on close_notify). */
int tls_session_read(struct tls_session *s, uint8_t *buf, size_t cap);

/* Encrypts all of data (memory BIOs never refuse). Returns 0 or a negative
 * TLS_E* (TLS_ESTATE before the handshake finished). */
int tls_session_write(struct tls_session *s, const uint8_t *data, size_t len);

/* Sends close_notify (take it with tls_session_take_output). */
void tls_session_shutdown(struct tls_session *s);

/* Bytes waiting to go to the network. */
size_t tls_session_output_pending(const struct tls_session *s);

/* Moves up to cap pending network bytes into buf; returns the count. */
size_t tls_session_take_output(struct tls_session *s, uint8_t *buf, size_t cap);

/* Frees the network-side buffers a burst grew (OpenSSL's memory BIOs
 * keep their largest size), those that are empty now; they grow again as
 * needed. For a connection with nothing in flight that way; cheap when
 * there is nothing to free. No effect before the handshake. */
void tls_session_shrink(struct tls_session *s);

/* OpenSSL's reason for the last failure of this session ("" when none). */
const char *tls_session_error_detail(const struct tls_session *s);

#endif
