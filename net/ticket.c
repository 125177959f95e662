/* ticket: encoding, signing and checking of login tickets.
 *
 * Owns nothing; pure functions, any thread. The signature covers every
 * byte before it, so no field can be changed or trimmed without the
 * service's private key, and the parser checks every length against the
 * buffer before reading. */
#include "net/ticket.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/xmalloc.h"

static const uint8_t magic[4] = {'C', 'H', 'T', 'K'};

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int ticket_sign(const struct tls_identity *service, const struct ticket *t, uint8_t **out,
                size_t *len)
{
    size_t ulen = strnlen(t->user, sizeof(t->user));
    if (ulen == 0 || ulen > WIRE_MAX_USER)
        return TICKET_EFORMAT;
    size_t body = 4 + 1 + 8 + 8 + 4 + 1 + ulen + TLS_KEY_LEN;
    uint8_t *buf = xmalloc(body + TLS_SIG_LEN);
    uint8_t *p = buf;
    memcpy(p, magic, 4);
    p += 4;
    *p++ = TICKET_VERSION;
    put_be(p, t->issued, 8);
    p += 8;
    put_be(p, t->expires, 8);
    p += 8;
    put_be(p, t->generation, 4);
    p += 4;
    *p++ = (uint8_t)ulen;
    memcpy(p, t->user, ulen);
    p += ulen;
    memcpy(p, t->key, TLS_KEY_LEN);
    p += TLS_KEY_LEN;
    if (tls_identity_sign(service, buf, body, p) < 0) {
        free(buf);
        return TICKET_ECRYPTO;
    }
    *out = buf;
    *len = body + TLS_SIG_LEN;
    return 0;
}

int ticket_verify(const uint8_t *buf, size_t len, const uint8_t service_key[TLS_KEY_LEN],
                  const uint8_t peer_key[TLS_KEY_LEN], uint64_t now, uint32_t skew_s,
                  struct ticket *out)
{
    const size_t fixed = 4 + 1 + 8 + 8 + 4 + 1;
    if (!buf || len < fixed + 1 + TLS_KEY_LEN + TLS_SIG_LEN || len > TICKET_MAX_LEN ||
        memcmp(buf, magic, 4) != 0 || buf[4] != TICKET_VERSION)
        return TICKET_EFORMAT;
    size_t ulen = buf[fixed - 1];
    if (ulen == 0 || ulen > WIRE_MAX_USER || len != fixed + ulen + TLS_KEY_LEN + TLS_SIG_LEN ||
        memchr(buf + fixed, 0, ulen))
        return TICKET_EFORMAT;
    size_t body = len - TLS_SIG_LEN;
    if (!tls_ed25519_verify(service_key, buf, body, buf + body))
        return TICKET_ESIG;
    struct ticket t;
    memset(&t, 0, sizeof(t));
    t.issued = get_be(buf + 5, 8);
    t.expires = get_be(buf + 13, 8);
    t.generation = (uint32_t)get_be(buf + 21, 4);
    memcpy(t.user, buf + fixed, ulen);
    memcpy(t.key, buf + fixed + ulen, TLS_KEY_LEN);
    /* differences, not sums: a signed time may be anything */
    if (t.issued > now && t.issued - now > skew_s)
        return TICKET_EFUTURE;
    if (now >= t.expires && now - t.expires >= skew_s)
        return TICKET_EEXPIRED;
    /* nonnull in the prototype, and checked anyway: the compiler may
     * assume it, a caller's bug must not become an accepted ticket */
    const uint8_t *volatile pk = peer_key;
    if (!pk || CRYPTO_memcmp(peer_key, t.key, TLS_KEY_LEN) != 0)
        return TICKET_EKEY;
    if (out)
        *out = t;
    return 0;
}

const char *ticket_strerror(int err)
{
    switch (err) {
    case TICKET_EFORMAT:
        return "not a valid ticket";
    case TICKET_ESIG:
        return "ticket not signed by this service";
    case TICKET_EEXPIRED:
        return "ticket expired";
    case TICKET_EKEY:
        return "ticket belongs to another key";
    case TICKET_ECRYPTO:
        return "cannot sign ticket";
    case TICKET_EFUTURE:
        return "ticket issued in the future (clocks disagree)";
    case TICKET_EREVOKED:
        return "ticket revoked (password changed or user revoked)";
    default:
        return "unknown ticket error";
    }
}
