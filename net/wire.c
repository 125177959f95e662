/* wire: frame codec and incremental parser.
 *
 * Owns nothing beyond the parser's partial frame. Pure: no I/O, no clock,
 * no global state; any thread. It must never allocate according to a
 * length it has not checked against the type's maximum, and never read past
 * the bytes it was given: every field is read through a bounds-checked
 * reader that turns a short body into WIRE_EFORMAT. */
#include "net/wire.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/xmalloc.h"

/* Item on the wire: kind, id, parent, number, disc, year, duration,
 * has_file, [file id], three u16-prefixed strings. */
#define ITEM_FIXED (1u + 8u + 8u + 2u + 2u + 2u + 4u + 1u)
#define ITEM_MAX   (ITEM_FIXED + WIRE_ID_LEN + 3u * (2u + WIRE_MAX_STR))
#define PEER_LEN   (1u + 16u + 2u + WIRE_ID_LEN)

size_t wire_max_body(uint8_t type)
{
    switch (type) {
    case WIRE_HELLO:
        return 4 + 2 + 1 + 1 + 2 + WIRE_MAX_TICKET + 2;
    case WIRE_ERROR:
        return 4 + 2 + 2 + WIRE_MAX_ERRMSG;
    case WIRE_OK:
    case WIRE_PING:
    case WIRE_PONG:
    case WIRE_CANCEL:
        return 4;
    case WIRE_LOGIN:
        return 4 + 1 + WIRE_MAX_USER + 2 + WIRE_MAX_PASS;
    case WIRE_TICKET:
        return 4 + 8 + 2 + WIRE_MAX_TICKET;
    case WIRE_GET_DEVICE:
        return 4 + 1 + WIRE_MAX_LABEL;
    case WIRE_DEVICE:
        return 4 + 8 + 2 + WIRE_MAX_CRED;
    case WIRE_LOGIN_DEVICE:
        return 4 + 1 + WIRE_MAX_USER + 2 + WIRE_MAX_CRED;
    case WIRE_REVOKE_DEVICE:
        return 4 + 2 + WIRE_MAX_CRED;
    case WIRE_BROWSE:
        return 4 + 1 + 8 + 4 + 4;
    case WIRE_SEARCH:
        return 4 + 4 + 2 + WIRE_MAX_QUERY;
    case WIRE_ITEMS:
        return 4 + 2 + (size_t)WIRE_MAX_ITEMS * ITEM_MAX;
    case WIRE_GET_MANIFEST:
    case WIRE_GET_KEY:
    case WIRE_LOOKUP:
        return 4 + WIRE_ID_LEN;
    case WIRE_MANIFEST:
        return WIRE_MAX_FRAME;
    case WIRE_KEY:
        return 4 + WIRE_ID_LEN + WIRE_KEY_LEN;
    case WIRE_GET_CHUNKS:
        return 4 + WIRE_ID_LEN + 4 + 4 + 1 + 4;
    case WIRE_CHUNK:
        return 4 + WIRE_ID_LEN + 4 + 4 + WIRE_MAX_CHUNK;
    case WIRE_ANNOUNCE:
        return 4 + 2 + 1 + 2 + (size_t)WIRE_MAX_IDS * WIRE_ID_LEN;
    case WIRE_PEERS:
        return 4 + WIRE_ID_LEN + 1 + WIRE_MAX_PEERS * PEER_LEN;
    case WIRE_FIND:
        return 4 + 8 + WIRE_ID_LEN + 1;
    case WIRE_FOUND:
        return 4 + 8 + WIRE_ID_LEN + 1 + WIRE_MAX_PEERS * PEER_LEN;
    default:
        return 0;
    }
}

const char *wire_type_name(uint8_t type)
{
    switch (type) {
    case WIRE_HELLO:
        return "HELLO";
    case WIRE_ERROR:
        return "ERROR";
    case WIRE_OK:
        return "OK";
    case WIRE_PING:
        return "PING";
    case WIRE_PONG:
        return "PONG";
    case WIRE_LOGIN:
        return "LOGIN";
    case WIRE_TICKET:
        return "TICKET";
    case WIRE_GET_DEVICE:
        return "GET_DEVICE";
    case WIRE_DEVICE:
        return "DEVICE";
    case WIRE_LOGIN_DEVICE:
        return "LOGIN_DEVICE";
    case WIRE_REVOKE_DEVICE:
        return "REVOKE_DEVICE";
    case WIRE_BROWSE:
        return "BROWSE";
    case WIRE_SEARCH:
        return "SEARCH";
    case WIRE_ITEMS:
        return "ITEMS";
    case WIRE_GET_MANIFEST:
        return "GET_MANIFEST";
    case WIRE_MANIFEST:
        return "MANIFEST";
    case WIRE_GET_KEY:
        return "GET_KEY";
    case WIRE_KEY:
        return "KEY";
    case WIRE_GET_CHUNKS:
        return "GET_CHUNKS";
    case WIRE_CHUNK:
        return "CHUNK";
    case WIRE_CANCEL:
        return "CANCEL";
    case WIRE_ANNOUNCE:
        return "ANNOUNCE";
    case WIRE_LOOKUP:
        return "LOOKUP";
    case WIRE_PEERS:
        return "PEERS";
    case WIRE_FIND:
        return "FIND";
    case WIRE_FOUND:
        return "FOUND";
    default:
        return "?";
    }
}

uint16_t wire_type_version(uint8_t type)
{
    return wire_max_body(type) ? 1 : 0;
}

bool wire_peer_type(uint8_t type)
{
    switch (type) {
    case WIRE_HELLO:
    case WIRE_ERROR:
    case WIRE_OK:
    case WIRE_PING:
    case WIRE_PONG:
    case WIRE_GET_CHUNKS:
    case WIRE_CHUNK:
    case WIRE_CANCEL:
    case WIRE_FIND:
    case WIRE_FOUND:
        return true;
    default:
        return false;
    }
}

size_t wire_peer_max_body(void)
{
    size_t max = 0;
    for (unsigned t = 0; t <= UINT8_MAX; t++)
        if (wire_peer_type((uint8_t)t) && wire_max_body((uint8_t)t) > max)
            max = wire_max_body((uint8_t)t);
    return max;
}

/* ---- field ranges, one place for encode and decode ---- */

static bool role_ok(uint8_t role)
{
    return role >= WIRE_ROLE_CLIENT && role <= WIRE_ROLE_PEER;
}

static bool kind_ok(uint8_t kind)
{
    return kind >= WIRE_KIND_ARTIST && kind <= WIRE_KIND_TRACK;
}

static bool limit_ok(uint32_t limit)
{
    return limit >= 1 && limit <= WIRE_MAX_ITEMS;
}

static bool get_chunks_ok(uint32_t first, uint32_t count, uint8_t priority)
{
    return count >= 1 && count <= WIRE_MAX_RANGE && first <= UINT32_MAX - count &&
           priority <= WIRE_PRIO_MAX;
}

static bool hops_ok(uint8_t hops)
{
    return hops >= 1 && hops <= WIRE_MAX_HOPS;
}

/* PEERS: 0..WIRE_MAX_PEERS entries of family 4 or 6. FOUND: 1..
 * WIRE_MAX_PEERS, family 0 too (its address all zero: "the sender"). */
static bool peer_count_ok(uint8_t type, uint32_t count)
{
    return count <= WIRE_MAX_PEERS && (type != WIRE_FOUND || count >= 1);
}

static bool peer_ok(uint8_t type, const struct wire_peer *p)
{
    static const uint8_t zero[16];
    if (p->family == 0)
        return type == WIRE_FOUND && memcmp(p->addr, zero, sizeof(zero)) == 0;
    return p->family == 4 || p->family == 6;
}

const char *wire_error_name(uint16_t code)
{
    switch (code) {
    case WIRE_ERR_PROTOCOL:
        return "protocol error";
    case WIRE_ERR_VERSION:
        return "unsupported protocol version";
    case WIRE_ERR_AUTH_REQUIRED:
        return "login required";
    case WIRE_ERR_LOGIN:
        return "wrong user name or password";
    case WIRE_ERR_TICKET:
        return "invalid ticket";
    case WIRE_ERR_TICKET_EXPIRED:
        return "ticket expired";
    case WIRE_ERR_NOT_FOUND:
        return "not found";
    case WIRE_ERR_BAD_REQUEST:
        return "bad request";
    case WIRE_ERR_BUSY:
        return "busy";
    case WIRE_ERR_INTERNAL:
        return "internal service error";
    default:
        return "unknown error";
    }
}

const char *wire_strerror(int err)
{
    switch (err) {
    case WIRE_ETOOBIG:
        return "frame longer than its type allows";
    case WIRE_ETYPE:
        return "unknown frame type";
    case WIRE_EFORMAT:
        return "malformed frame body";
    case WIRE_ELIMIT:
        return "message field exceeds its protocol limit";
    default:
        return "unknown wire error";
    }
}

/* ---- encoding ---- */

struct writer {
    uint8_t *buf;
    size_t len, cap;
};

static void w_reserve(struct writer *w, size_t n)
{
    if (w->len + n <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n)
        cap *= 2;
    w->buf = xrealloc(w->buf, cap);
    w->cap = cap;
}

static void w_bytes(struct writer *w, const void *p, size_t n)
{
    w_reserve(w, n);
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void w_u8(struct writer *w, uint8_t v)
{
    w_bytes(w, &v, 1);
}

static void w_u16(struct writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    w_bytes(w, b, 2);
}

static void w_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    w_bytes(w, b, 4);
}

static void w_u64(struct writer *w, uint64_t v)
{
    w_u32(w, (uint32_t)(v >> 32));
    w_u32(w, (uint32_t)v);
}

/* A string with a u16 length prefix; false when longer than max. NULL
 * encodes as "". */
static bool w_str16(struct writer *w, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max)
        return false;
    w_u16(w, (uint16_t)n);
    w_bytes(w, s, n);
    return true;
}

/* The same with a u8 length prefix (max is at most 255). */
static bool w_str8(struct writer *w, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max)
        return false;
    w_u8(w, (uint8_t)n);
    w_bytes(w, s, n);
    return true;
}

static bool w_blob16(struct writer *w, const uint8_t *p, size_t n, size_t max)
{
    if (n > max || (n && !p))
        return false;
    w_u16(w, (uint16_t)n);
    w_bytes(w, p, n);
    return true;
}

/* A device credential: blob16 of WIRE_MIN_CRED..WIRE_MAX_CRED bytes. */
static bool w_cred(struct writer *w, const uint8_t *p, size_t n)
{
    return n >= WIRE_MIN_CRED && w_blob16(w, p, n, WIRE_MAX_CRED);
}

static bool encode_item(struct writer *w, const struct wire_item *it)
{
    if (!kind_ok(it->kind))
        return false;
    w_u8(w, it->kind);
    w_u64(w, it->id);
    w_u64(w, it->parent);
    w_u16(w, it->number);
    w_u16(w, it->disc);
    w_u16(w, it->year);
    w_u32(w, it->duration_ms);
    w_u8(w, it->has_file ? 1 : 0);
    if (it->has_file)
        w_bytes(w, it->file_id, WIRE_ID_LEN);
    return w_str16(w, it->title, WIRE_MAX_STR) && w_str16(w, it->artist, WIRE_MAX_STR) &&
           w_str16(w, it->album, WIRE_MAX_STR);
}

static bool encode_body(const struct wire_msg *m, struct writer *w)
{
    switch (m->type) {
    case WIRE_HELLO:
        /* the listen port exists on the wire for peers only */
        if (!role_ok(m->u.hello.role) ||
            (m->u.hello.role != WIRE_ROLE_PEER && m->u.hello.listen_port))
            return false;
        w_u16(w, m->u.hello.version);
        w_u8(w, m->u.hello.role);
        w_u8(w, m->u.hello.flags);
        if (!w_blob16(w, m->u.hello.ticket, m->u.hello.ticket_len, WIRE_MAX_TICKET))
            return false;
        if (m->u.hello.role == WIRE_ROLE_PEER)
            w_u16(w, m->u.hello.listen_port);
        return true;
    case WIRE_ERROR:
        w_u16(w, m->u.error.code);
        return w_str16(w, m->u.error.message, WIRE_MAX_ERRMSG);
    case WIRE_OK:
    case WIRE_PING:
    case WIRE_PONG:
    case WIRE_CANCEL:
        return true;
    case WIRE_LOGIN:
        return w_str8(w, m->u.login.user, WIRE_MAX_USER) &&
               w_str16(w, m->u.login.password, WIRE_MAX_PASS);
    case WIRE_TICKET:
        w_u64(w, m->u.ticket.expires);
        return w_blob16(w, m->u.ticket.ticket, m->u.ticket.ticket_len, WIRE_MAX_TICKET);
    case WIRE_GET_DEVICE:
        return w_str8(w, m->u.device.label, WIRE_MAX_LABEL);
    case WIRE_DEVICE:
        w_u64(w, m->u.device.issued);
        return w_cred(w, m->u.device.cred, m->u.device.cred_len);
    case WIRE_LOGIN_DEVICE:
        return w_str8(w, m->u.device.user, WIRE_MAX_USER) &&
               w_cred(w, m->u.device.cred, m->u.device.cred_len);
    case WIRE_REVOKE_DEVICE:
        return w_cred(w, m->u.device.cred, m->u.device.cred_len);
    case WIRE_BROWSE:
        if (!kind_ok(m->u.browse.kind) || !limit_ok(m->u.browse.limit))
            return false;
        w_u8(w, m->u.browse.kind);
        w_u64(w, m->u.browse.parent);
        w_u32(w, m->u.browse.offset);
        w_u32(w, m->u.browse.limit);
        return true;
    case WIRE_SEARCH:
        if (!limit_ok(m->u.search.limit))
            return false;
        w_u32(w, m->u.search.limit);
        return w_str16(w, m->u.search.query, WIRE_MAX_QUERY);
    case WIRE_ITEMS:
        if (m->u.items.count > WIRE_MAX_ITEMS || (m->u.items.count && !m->u.items.items))
            return false;
        w_u16(w, (uint16_t)m->u.items.count);
        for (uint32_t i = 0; i < m->u.items.count; i++)
            if (!encode_item(w, &m->u.items.items[i]))
                return false;
        return true;
    case WIRE_GET_MANIFEST:
    case WIRE_GET_KEY:
    case WIRE_LOOKUP:
        w_bytes(w, m->u.file.file_id, WIRE_ID_LEN);
        return true;
    case WIRE_MANIFEST:
        if (m->u.manifest.len > WIRE_MAX_MANIFEST || (m->u.manifest.len && !m->u.manifest.data))
            return false;
        w_bytes(w, m->u.manifest.file_id, WIRE_ID_LEN);
        w_u32(w, (uint32_t)m->u.manifest.len);
        w_bytes(w, m->u.manifest.data, m->u.manifest.len);
        return true;
    case WIRE_KEY:
        w_bytes(w, m->u.key.file_id, WIRE_ID_LEN);
        w_bytes(w, m->u.key.key, WIRE_KEY_LEN);
        return true;
    case WIRE_GET_CHUNKS:
        if (!get_chunks_ok(m->u.get_chunks.first, m->u.get_chunks.count, m->u.get_chunks.priority))
            return false;
        w_bytes(w, m->u.get_chunks.file_id, WIRE_ID_LEN);
        w_u32(w, m->u.get_chunks.first);
        w_u32(w, m->u.get_chunks.count);
        w_u8(w, m->u.get_chunks.priority);
        w_u32(w, m->u.get_chunks.deadline_ms);
        return true;
    case WIRE_CHUNK:
        if (m->u.chunk.len == 0 || m->u.chunk.len > WIRE_MAX_CHUNK || !m->u.chunk.data)
            return false;
        w_bytes(w, m->u.chunk.file_id, WIRE_ID_LEN);
        w_u32(w, m->u.chunk.index);
        w_u32(w, (uint32_t)m->u.chunk.len);
        w_bytes(w, m->u.chunk.data, m->u.chunk.len);
        return true;
    case WIRE_ANNOUNCE:
        if (m->u.announce.count > WIRE_MAX_IDS || (m->u.announce.count && !m->u.announce.file_ids))
            return false;
        w_u16(w, m->u.announce.port);
        w_u8(w, m->u.announce.withdraw ? 1 : 0);
        w_u16(w, (uint16_t)m->u.announce.count);
        w_bytes(w, m->u.announce.file_ids, (size_t)m->u.announce.count * WIRE_ID_LEN);
        return true;
    case WIRE_PEERS:
    case WIRE_FOUND:
        /* query_id is on the wire for FOUND only */
        if (!peer_count_ok(m->type, m->u.peers.count) ||
            (m->type == WIRE_PEERS && m->u.peers.query_id))
            return false;
        if (m->type == WIRE_FOUND)
            w_u64(w, m->u.peers.query_id);
        w_bytes(w, m->u.peers.file_id, WIRE_ID_LEN);
        w_u8(w, (uint8_t)m->u.peers.count);
        for (uint32_t i = 0; i < m->u.peers.count; i++) {
            const struct wire_peer *p = &m->u.peers.peers[i];
            if (!peer_ok(m->type, p))
                return false;
            w_u8(w, p->family);
            w_bytes(w, p->addr, 16);
            w_u16(w, p->port);
            w_bytes(w, p->key, WIRE_ID_LEN);
        }
        return true;
    case WIRE_FIND:
        if (!hops_ok(m->u.find.hops))
            return false;
        w_u64(w, m->u.find.query_id);
        w_bytes(w, m->u.find.file_id, WIRE_ID_LEN);
        w_u8(w, m->u.find.hops);
        return true;
    default:
        return false;
    }
}

int wire_encode(const struct wire_msg *m, uint8_t **frame, size_t *len)
{
    size_t max = wire_max_body(m->type);
    if (max == 0)
        return WIRE_ETYPE;
    struct writer w = {0};
    w_reserve(&w, WIRE_HEADER_LEN + 64);
    w.len = WIRE_HEADER_LEN;
    w_u32(&w, m->rid);
    if (!encode_body(m, &w) || w.len - WIRE_HEADER_LEN > max) {
        free(w.buf);
        return WIRE_ELIMIT;
    }
    uint32_t body = (uint32_t)(w.len - WIRE_HEADER_LEN);
    w.buf[0] = (uint8_t)(body >> 24);
    w.buf[1] = (uint8_t)(body >> 16);
    w.buf[2] = (uint8_t)(body >> 8);
    w.buf[3] = (uint8_t)body;
    w.buf[4] = m->type;
    *frame = w.buf;
    *len = w.len;
    return 0;
}

/* ---- decoding ---- */

struct reader {
    const uint8_t *p, *end;
    bool bad;
};

static bool r_take(struct reader *r, void *dst, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        if (dst && n)
            memset(dst, 0, n);
        return false;
    }
    if (dst && n)
        memcpy(dst, r->p, n);
    r->p += n;
    return true;
}

static uint8_t r_u8(struct reader *r)
{
    uint8_t b = 0;
    r_take(r, &b, 1);
    return b;
}

static uint16_t r_u16(struct reader *r)
{
    uint8_t b[2];
    r_take(r, b, 2);
    return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t r_u32(struct reader *r)
{
    uint8_t b[4];
    r_take(r, b, 4);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t r_u64(struct reader *r)
{
    uint64_t hi = r_u32(r);
    return hi << 32 | r_u32(r);
}

/* A copy of n bytes (n checked against the remaining body first). */
static uint8_t *r_blob(struct reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    uint8_t *b = xmalloc(n ? n : 1);
    r_take(r, b, n);
    return b;
}

/* A NUL-terminated copy of a string of n bytes; refuses embedded NULs and
 * strings over max. */
static char *r_str(struct reader *r, size_t n, size_t max)
{
    if (r->bad || n > max || (size_t)(r->end - r->p) < n || memchr(r->p, 0, n)) {
        r->bad = true;
        return NULL;
    }
    char *s = xstrndup((const char *)r->p, n);
    r->p += n;
    return s;
}

static char *r_str16(struct reader *r, size_t max)
{
    size_t n = r_u16(r);
    return r_str(r, n, max);
}

static char *r_str8(struct reader *r, size_t max)
{
    size_t n = r_u8(r);
    return r_str(r, n, max);
}

/* A device credential (see w_cred); its length goes to *len. */
static uint8_t *r_cred(struct reader *r, size_t *len)
{
    *len = r_u16(r);
    if (*len < WIRE_MIN_CRED || *len > WIRE_MAX_CRED)
        r->bad = true;
    return r_blob(r, *len);
}

static void decode_item(struct reader *r, struct wire_item *it)
{
    it->kind = r_u8(r);
    it->id = r_u64(r);
    it->parent = r_u64(r);
    it->number = r_u16(r);
    it->disc = r_u16(r);
    it->year = r_u16(r);
    it->duration_ms = r_u32(r);
    uint8_t has = r_u8(r);
    if (has > 1)
        r->bad = true;
    it->has_file = has == 1;
    if (!kind_ok(it->kind))
        r->bad = true;
    if (it->has_file)
        r_take(r, it->file_id, WIRE_ID_LEN);
    it->title = r_str16(r, WIRE_MAX_STR);
    it->artist = r_str16(r, WIRE_MAX_STR);
    it->album = r_str16(r, WIRE_MAX_STR);
}

static void decode_body(struct reader *r, struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        m->u.hello.version = r_u16(r);
        m->u.hello.role = r_u8(r);
        m->u.hello.flags = r_u8(r);
        m->u.hello.ticket_len = r_u16(r);
        if (m->u.hello.ticket_len > WIRE_MAX_TICKET)
            r->bad = true;
        m->u.hello.ticket = r_blob(r, m->u.hello.ticket_len);
        if (!role_ok(m->u.hello.role))
            r->bad = true;
        else if (m->u.hello.role == WIRE_ROLE_PEER)
            m->u.hello.listen_port = r_u16(r);
        break;
    case WIRE_ERROR:
        m->u.error.code = r_u16(r);
        m->u.error.message = r_str16(r, WIRE_MAX_ERRMSG);
        break;
    case WIRE_OK:
    case WIRE_PING:
    case WIRE_PONG:
    case WIRE_CANCEL:
        break;
    case WIRE_LOGIN:
        m->u.login.user = r_str8(r, WIRE_MAX_USER);
        m->u.login.password = r_str16(r, WIRE_MAX_PASS);
        break;
    case WIRE_TICKET:
        m->u.ticket.expires = r_u64(r);
        m->u.ticket.ticket_len = r_u16(r);
        if (m->u.ticket.ticket_len > WIRE_MAX_TICKET)
            r->bad = true;
        m->u.ticket.ticket = r_blob(r, m->u.ticket.ticket_len);
        break;
    case WIRE_GET_DEVICE:
        m->u.device.label = r_str8(r, WIRE_MAX_LABEL);
        break;
    case WIRE_DEVICE:
        m->u.device.issued = r_u64(r);
        m->u.device.cred = r_cred(r, &m->u.device.cred_len);
        break;
    case WIRE_LOGIN_DEVICE:
        m->u.device.user = r_str8(r, WIRE_MAX_USER);
        m->u.device.cred = r_cred(r, &m->u.device.cred_len);
        break;
    case WIRE_REVOKE_DEVICE:
        m->u.device.cred = r_cred(r, &m->u.device.cred_len);
        break;
    case WIRE_BROWSE:
        m->u.browse.kind = r_u8(r);
        m->u.browse.parent = r_u64(r);
        m->u.browse.offset = r_u32(r);
        m->u.browse.limit = r_u32(r);
        if (!kind_ok(m->u.browse.kind) || !limit_ok(m->u.browse.limit))
            r->bad = true;
        break;
    case WIRE_SEARCH:
        m->u.search.limit = r_u32(r);
        if (!limit_ok(m->u.search.limit))
            r->bad = true;
        m->u.search.query = r_str16(r, WIRE_MAX_QUERY);
        break;
    case WIRE_ITEMS: {
        uint32_t n = r_u16(r);
        /* Each item takes at least its fixed part: bound the allocation
         * by what the body can actually hold. */
        if (n > WIRE_MAX_ITEMS || (size_t)(r->end - r->p) < n * (ITEM_FIXED + 3 * 2)) {
            r->bad = true;
            break;
        }
        m->u.items.items = xcalloc(n ? n : 1, sizeof(struct wire_item));
        for (uint32_t i = 0; i < n && !r->bad; i++) {
            decode_item(r, &m->u.items.items[i]);
            m->u.items.count = i + 1;
        }
        break;
    }
    case WIRE_GET_MANIFEST:
    case WIRE_GET_KEY:
    case WIRE_LOOKUP:
        r_take(r, m->u.file.file_id, WIRE_ID_LEN);
        break;
    case WIRE_MANIFEST:
        r_take(r, m->u.manifest.file_id, WIRE_ID_LEN);
        m->u.manifest.len = r_u32(r);
        if (m->u.manifest.len > WIRE_MAX_MANIFEST)
            r->bad = true;
        m->u.manifest.data = r_blob(r, m->u.manifest.len);
        break;
    case WIRE_KEY:
        r_take(r, m->u.key.file_id, WIRE_ID_LEN);
        r_take(r, m->u.key.key, WIRE_KEY_LEN);
        break;
    case WIRE_GET_CHUNKS:
        r_take(r, m->u.get_chunks.file_id, WIRE_ID_LEN);
        m->u.get_chunks.first = r_u32(r);
        m->u.get_chunks.count = r_u32(r);
        m->u.get_chunks.priority = r_u8(r);
        m->u.get_chunks.deadline_ms = r_u32(r);
        if (!get_chunks_ok(m->u.get_chunks.first, m->u.get_chunks.count, m->u.get_chunks.priority))
            r->bad = true;
        break;
    case WIRE_CHUNK:
        r_take(r, m->u.chunk.file_id, WIRE_ID_LEN);
        m->u.chunk.index = r_u32(r);
        m->u.chunk.len = r_u32(r);
        if (m->u.chunk.len == 0 || m->u.chunk.len > WIRE_MAX_CHUNK)
            r->bad = true;
        m->u.chunk.data = r_blob(r, m->u.chunk.len);
        break;
    case WIRE_ANNOUNCE: {
        m->u.announce.port = r_u16(r);
        uint8_t wd = r_u8(r);
        if (wd > 1)
            r->bad = true;
        m->u.announce.withdraw = wd == 1;
        uint32_t n = r_u16(r);
        if (n > WIRE_MAX_IDS)
            r->bad = true;
        uint8_t *ids = r_blob(r, (size_t)n * WIRE_ID_LEN);
        m->u.announce.file_ids = (uint8_t(*)[WIRE_ID_LEN])ids;
        if (ids)
            m->u.announce.count = n;
        break;
    }
    case WIRE_PEERS:
    case WIRE_FOUND: {
        if (m->type == WIRE_FOUND)
            m->u.peers.query_id = r_u64(r);
        r_take(r, m->u.peers.file_id, WIRE_ID_LEN);
        uint32_t n = r_u8(r);
        if (!peer_count_ok(m->type, n)) {
            r->bad = true;
            break;
        }
        for (uint32_t i = 0; i < n && !r->bad; i++) {
            struct wire_peer *p = &m->u.peers.peers[i];
            p->family = r_u8(r);
            r_take(r, p->addr, 16);
            p->port = r_u16(r);
            r_take(r, p->key, WIRE_ID_LEN);
            if (!peer_ok(m->type, p))
                r->bad = true;
        }
        m->u.peers.count = n;
        break;
    }
    case WIRE_FIND:
        m->u.find.query_id = r_u64(r);
        r_take(r, m->u.find.file_id, WIRE_ID_LEN);
        m->u.find.hops = r_u8(r);
        if (!hops_ok(m->u.find.hops))
            r->bad = true;
        break;
    default:
        r->bad = true;
    }
}

int wire_decode(uint8_t type, const uint8_t *body, size_t len, struct wire_msg *out)
{
    memset(out, 0, sizeof(*out));
    size_t max = wire_max_body(type);
    if (max == 0)
        return WIRE_ETYPE;
    if (len > max)
        return WIRE_ETOOBIG;
    struct reader r = {body, body + len, false};
    out->type = type;
    out->rid = r_u32(&r);
    decode_body(&r, out);
    if (r.bad || r.p != r.end) {
        wire_msg_clear(out);
        return WIRE_EFORMAT;
    }
    return 0;
}

/* Secrets (passwords, device credentials) must not stay in freed memory;
 * OPENSSL_cleanse is a wipe the compiler cannot drop as a dead store. */
static void wipe_free(void *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
    free(p);
}

void wire_msg_clear(struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        free(m->u.hello.ticket);
        break;
    case WIRE_ERROR:
        free(m->u.error.message);
        break;
    case WIRE_LOGIN:
        free(m->u.login.user);
        wipe_free(m->u.login.password, m->u.login.password ? strlen(m->u.login.password) : 0);
        break;
    case WIRE_TICKET:
        free(m->u.ticket.ticket);
        break;
    case WIRE_GET_DEVICE:
    case WIRE_DEVICE:
    case WIRE_LOGIN_DEVICE:
    case WIRE_REVOKE_DEVICE:
        free(m->u.device.label);
        free(m->u.device.user);
        wipe_free(m->u.device.cred, m->u.device.cred ? m->u.device.cred_len : 0);
        break;
    case WIRE_SEARCH:
        free(m->u.search.query);
        break;
    case WIRE_ITEMS:
        for (uint32_t i = 0; m->u.items.items && i < m->u.items.count; i++) {
            free(m->u.items.items[i].title);
            free(m->u.items.items[i].artist);
            free(m->u.items.items[i].album);
        }
        free(m->u.items.items);
        break;
    case WIRE_MANIFEST:
        free(m->u.manifest.data);
        break;
    case WIRE_CHUNK:
        free(m->u.chunk.data);
        break;
    case WIRE_ANNOUNCE:
        free(m->u.announce.file_ids);
        break;
    default:
        break;
    }
    memset(m, 0, sizeof(*m));
}

/* ---- incremental parser ---- */

struct wire_parser {
    uint8_t header[WIRE_HEADER_LEN];
    size_t header_have;
    uint8_t *body; /* allocated once the header passed its checks */
    size_t body_len, body_have;
    size_t max_body;   /* 0: each type's maximum */
    bool skip_unknown; /* unknown types: WIRE_SKIPPED, not WIRE_ETYPE */
    bool skipping;     /* the current frame is skipped: body not kept */
    int error;         /* sticky */
};

struct wire_parser *wire_parser_new(void)
{
    return xcalloc(1, sizeof(struct wire_parser));
}

void wire_parser_free(struct wire_parser *p)
{
    if (!p)
        return;
    free(p->body);
    free(p);
}

void wire_parser_set_max_body(struct wire_parser *p, size_t max)
{
    p->max_body = max;
}

void wire_parser_set_skip_unknown(struct wire_parser *p, bool skip)
{
    p->skip_unknown = skip;
}

size_t wire_parser_pending(const struct wire_parser *p)
{
    return p->header_have + p->body_have;
}

/* Checks a complete header; returns its body length or a negative error. */
static int64_t check_header(const struct wire_parser *p, const uint8_t h[WIRE_HEADER_LEN])
{
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    size_t max = wire_max_body(h[4]);
    if (max == 0 && !p->skip_unknown)
        return WIRE_ETYPE;
    if (max == 0)
        max = WIRE_MAX_FRAME; /* skipped, but still bounded */
    if (len > max || (p->max_body && len > p->max_body))
        return WIRE_ETOOBIG;
    return len;
}

static int fail(struct wire_parser *p, int err)
{
    p->error = err;
    free(p->body);
    p->body = NULL;
    p->header_have = p->body_len = p->body_have = 0;
    p->skipping = false;
    return err;
}

int wire_parser_feed(struct wire_parser *p, const uint8_t *buf, size_t len, size_t *used,
                     struct wire_msg *out)
{
    *used = 0;
    if (p->error)
        return p->error;
    size_t off = 0;

    /* Fast path: a whole frame at the start of buf decodes in place. */
    if (p->header_have == 0 && len >= WIRE_HEADER_LEN) {
        int64_t body = check_header(p, buf);
        if (body < 0)
            return fail(p, (int)body);
        if (len - WIRE_HEADER_LEN >= (size_t)body && wire_max_body(buf[4]) == 0) {
            memset(out, 0, sizeof(*out));
            *used = WIRE_HEADER_LEN + (size_t)body;
            return WIRE_SKIPPED;
        }
        if (len - WIRE_HEADER_LEN >= (size_t)body) {
            int rc = wire_decode(buf[4], buf + WIRE_HEADER_LEN, (size_t)body, out);
            if (rc < 0)
                return fail(p, rc);
            *used = WIRE_HEADER_LEN + (size_t)body;
            return WIRE_MSG;
        }
    }

    if (p->header_have < WIRE_HEADER_LEN) {
        size_t n = WIRE_HEADER_LEN - p->header_have;
        if (n > len)
            n = len;
        memcpy(p->header + p->header_have, buf, n);
        p->header_have += n;
        off += n;
        if (p->header_have < WIRE_HEADER_LEN) {
            *used = off;
            return WIRE_NEED_MORE;
        }
        int64_t body = check_header(p, p->header);
        if (body < 0)
            return fail(p, (int)body);
        p->body_len = (size_t)body;
        p->body_have = 0;
        p->skipping = wire_max_body(p->header[4]) == 0;
        if (!p->skipping)
            p->body = xmalloc(p->body_len ? p->body_len : 1);
    }

    size_t n = p->body_len - p->body_have;
    if (n > len - off)
        n = len - off;
    if (n && !p->skipping)
        memcpy(p->body + p->body_have, buf + off, n);
    p->body_have += n;
    off += n;
    *used = off;
    if (p->body_have < p->body_len)
        return WIRE_NEED_MORE;

    if (p->skipping) {
        p->skipping = false;
        p->header_have = 0;
        p->body_len = p->body_have = 0;
        memset(out, 0, sizeof(*out));
        return WIRE_SKIPPED;
    }

    int rc = wire_decode(p->header[4], p->body, p->body_len, out);
    free(p->body);
    p->body = NULL;
    p->header_have = 0;
    p->body_len = p->body_have = 0;
    if (rc < 0)
        return fail(p, rc);
    return WIRE_MSG;
}
