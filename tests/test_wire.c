/* test_wire: the frame codec — round trips of every type, the incremental
 * parser fed in every split, and the refusals (oversized, unknown type,
 * malformed bodies, limits on encode, the device-credential messages'
 * bounds both ways), the peer messages (FIND, FOUND, the peer HELLO), every
 * field range refused by encode and decode alike, and skip-unknown. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "net/wire.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

/* One message of every type, with recognisable contents. */
static size_t sample_messages(struct wire_msg *out, size_t max)
{
    static uint8_t ticket[100], manifest[3000], chunk[16384], ids[3][WIRE_ID_LEN];
    static uint8_t cred[WIRE_MAX_CRED];
    static struct wire_item items[3];
    fill(cred, sizeof(cred), 13);
    fill(ticket, sizeof(ticket), 1);
    fill(manifest, sizeof(manifest), 2);
    fill(chunk, sizeof(chunk), 3);
    fill(&ids[0][0], sizeof(ids), 4);
    size_t n = 0;
    struct wire_msg *m;
    assert_true(max >= 27);
    memset(out, 0, max * sizeof(*out));

    m = &out[n++];
    m->type = WIRE_HELLO;
    m->u.hello.version = WIRE_VERSION;
    m->u.hello.role = WIRE_ROLE_CLIENT;
    m->u.hello.flags = WIRE_HELLO_AUTHENTICATED;
    m->u.hello.ticket = ticket;
    m->u.hello.ticket_len = sizeof(ticket);

    m = &out[n++];
    m->type = WIRE_ERROR;
    m->rid = 7;
    m->u.error.code = WIRE_ERR_NOT_FOUND;
    m->u.error.message = "no such file";

    m = &out[n++];
    m->type = WIRE_OK;
    m->rid = 8;
    m = &out[n++];
    m->type = WIRE_PING;
    m->rid = 9;
    m = &out[n++];
    m->type = WIRE_PONG;
    m->rid = 9;

    m = &out[n++];
    m->type = WIRE_LOGIN;
    m->rid = 10;
    m->u.login.user = "alice";
    m->u.login.password = "correct horse battery staple";

    m = &out[n++];
    m->type = WIRE_TICKET;
    m->rid = 10;
    m->u.ticket.expires = 1900000000ull;
    m->u.ticket.ticket = ticket;
    m->u.ticket.ticket_len = 50;

    m = &out[n++];
    m->type = WIRE_BROWSE;
    m->rid = 11;
    m->u.browse.kind = WIRE_KIND_ALBUM;
    m->u.browse.parent = 0x0102030405060708ull;
    m->u.browse.offset = 20;
    m->u.browse.limit = 100;

    m = &out[n++];
    m->type = WIRE_SEARCH;
    m->rid = 12;
    m->u.search.limit = 50;
    m->u.search.query = "blue monday";

    items[0] = (struct wire_item){.kind = WIRE_KIND_ARTIST, .id = 1, .title = "New Order"};
    items[1] = (struct wire_item){
        .kind = WIRE_KIND_ALBUM, .id = 2, .parent = 1, .year = 1983, .title = "Power"};
    items[2] = (struct wire_item){.kind = WIRE_KIND_TRACK,
                                  .id = 3,
                                  .parent = 2,
                                  .number = 1,
                                  .disc = 2,
                                  .duration_ms = 443000,
                                  .has_file = true,
                                  .title = "Blue Monday",
                                  .artist = "New Order",
                                  .album = "Power"};
    fill(items[2].file_id, WIRE_ID_LEN, 5);
    m = &out[n++];
    m->type = WIRE_ITEMS;
    m->rid = 12;
    m->u.items.count = 3;
    m->u.items.items = items;

    m = &out[n++];
    m->type = WIRE_GET_MANIFEST;
    m->rid = 13;
    fill(m->u.file.file_id, WIRE_ID_LEN, 6);

    m = &out[n++];
    m->type = WIRE_MANIFEST;
    m->rid = 13;
    fill(m->u.manifest.file_id, WIRE_ID_LEN, 6);
    m->u.manifest.data = manifest;
    m->u.manifest.len = sizeof(manifest);

    m = &out[n++];
    m->type = WIRE_GET_KEY;
    m->rid = 14;
    fill(m->u.file.file_id, WIRE_ID_LEN, 7);

    m = &out[n++];
    m->type = WIRE_KEY;
    m->rid = 14;
    fill(m->u.key.file_id, WIRE_ID_LEN, 7);
    fill(m->u.key.key, WIRE_KEY_LEN, 8);

    m = &out[n++];
    m->type = WIRE_GET_CHUNKS;
    m->rid = 15;
    fill(m->u.get_chunks.file_id, WIRE_ID_LEN, 9);
    m->u.get_chunks.first = 3;
    m->u.get_chunks.count = 40;
    m->u.get_chunks.priority = WIRE_PRIO_PREFETCH;
    m->u.get_chunks.deadline_ms = 1500;

    m = &out[n++];
    m->type = WIRE_CHUNK;
    m->rid = 15;
    fill(m->u.chunk.file_id, WIRE_ID_LEN, 9);
    m->u.chunk.index = 3;
    m->u.chunk.data = chunk;
    m->u.chunk.len = sizeof(chunk);

    m = &out[n++];
    m->type = WIRE_CANCEL;
    m->rid = 15;

    m = &out[n++];
    m->type = WIRE_ANNOUNCE;
    m->rid = 16;
    m->u.announce.port = 4711;
    m->u.announce.withdraw = true;
    m->u.announce.count = 3;
    m->u.announce.file_ids = ids;

    m = &out[n++];
    m->type = WIRE_LOOKUP;
    m->rid = 17;
    fill(m->u.file.file_id, WIRE_ID_LEN, 4);

    m = &out[n++];
    m->type = WIRE_PEERS;
    m->rid = 17;
    fill(m->u.peers.file_id, WIRE_ID_LEN, 4);
    m->u.peers.count = 2;
    m->u.peers.peers[0].family = 4;
    memcpy(m->u.peers.peers[0].addr, "\x7f\0\0\1", 4);
    m->u.peers.peers[0].port = 5000;
    fill(m->u.peers.peers[0].key, WIRE_ID_LEN, 10);
    m->u.peers.peers[1].family = 6;
    fill(m->u.peers.peers[1].addr, 16, 11);
    m->u.peers.peers[1].port = 65535;
    fill(m->u.peers.peers[1].key, WIRE_ID_LEN, 12);

    m = &out[n++];
    m->type = WIRE_GET_DEVICE;
    m->rid = 18;
    m->u.device.label = "studio-laptop";

    m = &out[n++];
    m->type = WIRE_DEVICE;
    m->rid = 18;
    m->u.device.issued = 1800000000ull;
    m->u.device.cred = cred;
    m->u.device.cred_len = WIRE_MIN_CRED;

    m = &out[n++];
    m->type = WIRE_LOGIN_DEVICE;
    m->rid = 19;
    m->u.device.user = "alice";
    m->u.device.cred = cred;
    m->u.device.cred_len = WIRE_MAX_CRED;

    m = &out[n++];
    m->type = WIRE_REVOKE_DEVICE;
    m->rid = 20;
    m->u.device.cred = cred;
    m->u.device.cred_len = 77;

    m = &out[n++];
    m->type = WIRE_HELLO;
    m->u.hello.version = WIRE_VERSION;
    m->u.hello.role = WIRE_ROLE_PEER;
    m->u.hello.ticket = ticket;
    m->u.hello.ticket_len = 90;
    m->u.hello.listen_port = 4171;

    m = &out[n++];
    m->type = WIRE_FIND;
    m->rid = 21;
    m->u.find.query_id = 0xfedcba9876543210ull;
    fill(m->u.find.file_id, WIRE_ID_LEN, 14);
    m->u.find.hops = WIRE_MAX_HOPS;

    m = &out[n++];
    m->type = WIRE_FOUND;
    m->rid = 21;
    m->u.peers.query_id = 0xfedcba9876543210ull;
    fill(m->u.peers.file_id, WIRE_ID_LEN, 14);
    m->u.peers.count = 2;
    m->u.peers.peers[0].family = 0; /* the sender itself */
    m->u.peers.peers[0].port = 4171;
    fill(m->u.peers.peers[0].key, WIRE_ID_LEN, 15);
    m->u.peers.peers[1].family = 4;
    memcpy(m->u.peers.peers[1].addr, "\x0a\0\0\7", 4);
    m->u.peers.peers[1].port = 4172;
    fill(m->u.peers.peers[1].key, WIRE_ID_LEN, 16);
    return n;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static void assert_same(const struct wire_msg *a, const struct wire_msg *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->rid, b->rid);
    switch (a->type) {
    case WIRE_HELLO:
        assert_int_equal(a->u.hello.version, b->u.hello.version);
        assert_int_equal(a->u.hello.role, b->u.hello.role);
        assert_int_equal(a->u.hello.flags, b->u.hello.flags);
        assert_int_equal(a->u.hello.ticket_len, b->u.hello.ticket_len);
        assert_memory_equal(a->u.hello.ticket, b->u.hello.ticket, a->u.hello.ticket_len);
        assert_int_equal(a->u.hello.listen_port, b->u.hello.listen_port);
        break;
    case WIRE_FIND:
        assert_memory_equal(&a->u.find, &b->u.find, sizeof(a->u.find));
        break;
    case WIRE_ERROR:
        assert_int_equal(a->u.error.code, b->u.error.code);
        assert_true(str_eq(a->u.error.message, b->u.error.message));
        break;
    case WIRE_LOGIN:
        assert_true(str_eq(a->u.login.user, b->u.login.user));
        assert_true(str_eq(a->u.login.password, b->u.login.password));
        break;
    case WIRE_TICKET:
        assert_true(a->u.ticket.expires == b->u.ticket.expires);
        assert_int_equal(a->u.ticket.ticket_len, b->u.ticket.ticket_len);
        assert_memory_equal(a->u.ticket.ticket, b->u.ticket.ticket, a->u.ticket.ticket_len);
        break;
    case WIRE_BROWSE:
        assert_memory_equal(&a->u.browse, &b->u.browse, sizeof(a->u.browse));
        break;
    case WIRE_SEARCH:
        assert_int_equal(a->u.search.limit, b->u.search.limit);
        assert_true(str_eq(a->u.search.query, b->u.search.query));
        break;
    case WIRE_ITEMS:
        assert_int_equal(a->u.items.count, b->u.items.count);
        for (uint32_t i = 0; i < a->u.items.count; i++) {
            const struct wire_item *x = &a->u.items.items[i], *y = &b->u.items.items[i];
            assert_int_equal(x->kind, y->kind);
            assert_true(x->id == y->id && x->parent == y->parent);
            assert_int_equal(x->number, y->number);
            assert_int_equal(x->disc, y->disc);
            assert_int_equal(x->year, y->year);
            assert_int_equal(x->duration_ms, y->duration_ms);
            assert_int_equal(x->has_file, y->has_file);
            if (x->has_file)
                assert_memory_equal(x->file_id, y->file_id, WIRE_ID_LEN);
            assert_true(str_eq(x->title, y->title));
            assert_true(str_eq(x->artist, y->artist));
            assert_true(str_eq(x->album, y->album));
        }
        break;
    case WIRE_GET_MANIFEST:
    case WIRE_GET_KEY:
    case WIRE_LOOKUP:
        assert_memory_equal(a->u.file.file_id, b->u.file.file_id, WIRE_ID_LEN);
        break;
    case WIRE_MANIFEST:
        assert_memory_equal(a->u.manifest.file_id, b->u.manifest.file_id, WIRE_ID_LEN);
        assert_int_equal(a->u.manifest.len, b->u.manifest.len);
        assert_memory_equal(a->u.manifest.data, b->u.manifest.data, a->u.manifest.len);
        break;
    case WIRE_KEY:
        assert_memory_equal(&a->u.key, &b->u.key, sizeof(a->u.key));
        break;
    case WIRE_GET_CHUNKS:
        assert_memory_equal(&a->u.get_chunks, &b->u.get_chunks, sizeof(a->u.get_chunks));
        break;
    case WIRE_CHUNK:
        assert_memory_equal(a->u.chunk.file_id, b->u.chunk.file_id, WIRE_ID_LEN);
        assert_int_equal(a->u.chunk.index, b->u.chunk.index);
        assert_int_equal(a->u.chunk.len, b->u.chunk.len);
        assert_memory_equal(a->u.chunk.data, b->u.chunk.data, a->u.chunk.len);
        break;
    case WIRE_ANNOUNCE:
        assert_int_equal(a->u.announce.port, b->u.announce.port);
        assert_int_equal(a->u.announce.withdraw, b->u.announce.withdraw);
        assert_int_equal(a->u.announce.count, b->u.announce.count);
        assert_memory_equal(a->u.announce.file_ids, b->u.announce.file_ids,
                            a->u.announce.count * WIRE_ID_LEN);
        break;
    case WIRE_PEERS:
    case WIRE_FOUND:
        assert_true(a->u.peers.query_id == b->u.peers.query_id);
        assert_memory_equal(a->u.peers.file_id, b->u.peers.file_id, WIRE_ID_LEN);
        assert_int_equal(a->u.peers.count, b->u.peers.count);
        assert_memory_equal(a->u.peers.peers, b->u.peers.peers,
                            a->u.peers.count * sizeof(struct wire_peer));
        break;
    case WIRE_GET_DEVICE:
    case WIRE_DEVICE:
    case WIRE_LOGIN_DEVICE:
    case WIRE_REVOKE_DEVICE:
        assert_true(str_eq(a->u.device.label, b->u.device.label));
        assert_true(str_eq(a->u.device.user, b->u.device.user));
        assert_true(a->u.device.issued == b->u.device.issued);
        assert_int_equal(a->u.device.cred_len, b->u.device.cred_len);
        if (a->u.device.cred_len)
            assert_memory_equal(a->u.device.cred, b->u.device.cred, a->u.device.cred_len);
        break;
    default:
        break;
    }
}

/* Every type survives encode -> decode unchanged, and every sample frame is
 * within its type's maximum. */
static void test_round_trip_every_type(void **state)
{
    (void)state;
    struct wire_msg msgs[32];
    size_t n = sample_messages(msgs, 32);
    assert_int_equal(n, 27);
    for (size_t i = 0; i < n; i++) {
        uint8_t *frame;
        size_t len;
        assert_int_equal(wire_encode(&msgs[i], &frame, &len), 0);
        assert_true(len - WIRE_HEADER_LEN <= wire_max_body(msgs[i].type));
        assert_int_equal(frame[4], msgs[i].type);
        struct wire_msg got;
        assert_int_equal(
            wire_decode(frame[4], frame + WIRE_HEADER_LEN, len - WIRE_HEADER_LEN, &got), 0);
        assert_same(&msgs[i], &got);
        assert_string_not_equal(wire_type_name(msgs[i].type), "?");
        wire_msg_clear(&got);
        free(frame);
    }
}

/* All sample frames back to back, fed in pieces of every size from 1 to 97
 * bytes: the parser yields the same messages in order whatever the split. */
static void test_parser_any_split(void **state)
{
    (void)state;
    struct wire_msg msgs[32];
    size_t n = sample_messages(msgs, 32);
    uint8_t *stream = NULL;
    size_t stream_len = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *frame;
        size_t len;
        assert_int_equal(wire_encode(&msgs[i], &frame, &len), 0);
        stream = xrealloc(stream, stream_len + len);
        memcpy(stream + stream_len, frame, len);
        stream_len += len;
        free(frame);
    }
    size_t steps[] = {1, 2, 3, 5, 7, 13, 97, 4096, 100000};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        struct wire_parser *p = wire_parser_new();
        size_t pos = 0, got = 0;
        while (pos < stream_len) {
            size_t piece = stream_len - pos < steps[s] ? stream_len - pos : steps[s];
            size_t off = 0;
            while (off < piece) {
                size_t used;
                struct wire_msg m;
                int rc = wire_parser_feed(p, stream + pos + off, piece - off, &used, &m);
                assert_true(rc >= 0);
                assert_true(used <= piece - off);
                off += used;
                if (rc == WIRE_MSG) {
                    assert_true(got < n);
                    assert_same(&msgs[got], &m);
                    wire_msg_clear(&m);
                    got++;
                } else {
                    assert_int_equal(off, piece);
                }
            }
            pos += piece;
        }
        assert_int_equal(got, n);
        assert_int_equal(wire_parser_pending(p), 0);
        wire_parser_free(p);
    }
    free(stream);
}

static int feed_all(struct wire_parser *p, const uint8_t *buf, size_t len, int *msgs)
{
    size_t off = 0;
    *msgs = 0;
    while (off < len) {
        size_t used;
        struct wire_msg m;
        int rc = wire_parser_feed(p, buf + off, len - off, &used, &m);
        if (rc < 0)
            return rc;
        off += used;
        if (rc == WIRE_MSG) {
            wire_msg_clear(&m);
            (*msgs)++;
        }
    }
    return WIRE_NEED_MORE;
}

/* A header declaring more than the type allows is refused from its five
 * bytes alone: nothing is buffered, and the error sticks. */
static void test_oversized_refused_from_header(void **state)
{
    (void)state;
    uint8_t hdr[5] = {0x00, 0x00, 0x00, 0x00, WIRE_PING};
    uint32_t lens[] = {5, 1000, WIRE_MAX_FRAME + 1, 0xffffffffu};
    for (size_t i = 0; i < 4; i++) {
        hdr[0] = (uint8_t)(lens[i] >> 24);
        hdr[1] = (uint8_t)(lens[i] >> 16);
        hdr[2] = (uint8_t)(lens[i] >> 8);
        hdr[3] = (uint8_t)lens[i];
        struct wire_parser *p = wire_parser_new();
        int n;
        assert_int_equal(feed_all(p, hdr, 5, &n), WIRE_ETOOBIG);
        assert_int_equal(wire_parser_pending(p), 0);
        /* sticky: even a valid frame is refused afterwards */
        uint8_t ping[9] = {0, 0, 0, 4, WIRE_PING, 0, 0, 0, 1};
        assert_int_equal(feed_all(p, ping, sizeof(ping), &n), WIRE_ETOOBIG);
        wire_parser_free(p);
    }
    /* byte by byte: the error comes with the fifth byte */
    struct wire_parser *p = wire_parser_new();
    uint8_t big[5] = {0x00, 0x20, 0x00, 0x00, WIRE_CHUNK};
    struct wire_msg m;
    size_t used;
    for (int i = 0; i < 4; i++)
        assert_int_equal(wire_parser_feed(p, big + i, 1, &used, &m), WIRE_NEED_MORE);
    assert_int_equal(wire_parser_feed(p, big + 4, 1, &used, &m), WIRE_ETOOBIG);
    wire_parser_free(p);
}

/* A receiver's own cap (the service takes only requests) refuses a frame
 * its type would allow, from the header, in both parser paths; frames
 * within the cap still parse. */
static void test_receiver_cap(void **state)
{
    (void)state;
    const size_t cap = wire_max_body(WIRE_ANNOUNCE);
    uint8_t hdr[5] = {0x00, 0x10, 0x00, 0x00, WIRE_MANIFEST}; /* 1 MiB: fine for MANIFEST */
    struct wire_msg m;
    size_t used;
    for (int split = 0; split < 2; split++) {
        struct wire_parser *p = wire_parser_new();
        wire_parser_set_max_body(p, cap);
        if (split) /* the buffered path */
            assert_int_equal(wire_parser_feed(p, hdr, 2, &used, &m), WIRE_NEED_MORE);
        int n;
        assert_int_equal(feed_all(p, hdr + 2 * split, 5 - 2 * (size_t)split, &n), WIRE_ETOOBIG);
        assert_int_equal(wire_parser_pending(p), 0);
        wire_parser_free(p);
    }
    /* within the cap: an ANNOUNCE of the most ids, and a PING */
    struct wire_parser *p = wire_parser_new();
    wire_parser_set_max_body(p, cap);
    uint8_t(*ids)[WIRE_ID_LEN] = xcalloc(WIRE_MAX_IDS, WIRE_ID_LEN);
    struct wire_msg a = {.type = WIRE_ANNOUNCE, .rid = 3};
    a.u.announce.port = 4170;
    a.u.announce.count = WIRE_MAX_IDS;
    a.u.announce.file_ids = ids;
    uint8_t *frame;
    size_t len;
    assert_int_equal(wire_encode(&a, &frame, &len), 0);
    assert_int_equal(len - WIRE_HEADER_LEN, cap);
    int n;
    assert_int_equal(feed_all(p, frame, len, &n), WIRE_NEED_MORE);
    assert_int_equal(n, 1);
    uint8_t ping[9] = {0, 0, 0, 4, WIRE_PING, 0, 0, 0, 1};
    assert_int_equal(feed_all(p, ping, sizeof(ping), &n), WIRE_NEED_MORE);
    assert_int_equal(n, 1);
    wire_parser_free(p);
    free(frame);
    free(ids);
}

static void test_unknown_type(void **state)
{
    (void)state;
    uint8_t frame[9] = {0, 0, 0, 4, 0xEE, 0, 0, 0, 1};
    struct wire_parser *p = wire_parser_new();
    int n;
    assert_int_equal(feed_all(p, frame, sizeof(frame), &n), WIRE_ETYPE);
    wire_parser_free(p);
    struct wire_msg m;
    assert_int_equal(wire_decode(0, frame + 5, 4, &m), WIRE_ETYPE);
    assert_int_equal(wire_max_body(0), 0);
    assert_string_equal(wire_type_name(0xEE), "?");
    struct wire_msg enc = {.type = 99};
    uint8_t *out;
    size_t len;
    assert_int_equal(wire_encode(&enc, &out, &len), WIRE_ETYPE);
}

/* A truncated frame is simply incomplete: NEED_MORE, bytes held, no
 * message; the rest completes it. */
static void test_truncated_frame(void **state)
{
    (void)state;
    struct wire_msg msgs[32];
    sample_messages(msgs, 32);
    uint8_t *frame;
    size_t len;
    assert_int_equal(wire_encode(&msgs[15], &frame, &len), 0); /* CHUNK */
    struct wire_parser *p = wire_parser_new();
    size_t used;
    struct wire_msg m;
    assert_int_equal(wire_parser_feed(p, frame, len - 1, &used, &m), WIRE_NEED_MORE);
    assert_int_equal(used, len - 1);
    assert_int_equal(wire_parser_pending(p), len - 1);
    assert_int_equal(wire_parser_feed(p, frame + len - 1, 1, &used, &m), WIRE_MSG);
    assert_same(&msgs[15], &m);
    wire_msg_clear(&m);
    wire_parser_free(p);
    free(frame);
}

/* Bodies that do not match their type's layout. */
static void test_malformed_bodies(void **state)
{
    (void)state;
    struct wire_msg m;
    /* PING must be exactly a rid */
    uint8_t ping5[5] = {0, 0, 0, 1, 0};
    assert_int_equal(wire_decode(WIRE_PING, ping5, 5, &m), WIRE_ETOOBIG);
    assert_int_equal(wire_decode(WIRE_PING, ping5, 3, &m), WIRE_EFORMAT);
    /* a string with an embedded NUL */
    uint8_t search[] = {0, 0, 0, 1, 0, 0, 0, 10, 0, 3, 'a', 0, 'b'};
    assert_int_equal(wire_decode(WIRE_SEARCH, search, sizeof(search), &m), WIRE_EFORMAT);
    /* a string longer than the body */
    uint8_t search2[] = {0, 0, 0, 1, 0, 0, 0, 10, 0, 30, 'a', 'b'};
    assert_int_equal(wire_decode(WIRE_SEARCH, search2, sizeof(search2), &m), WIRE_EFORMAT);
    /* a chunk of zero bytes */
    uint8_t chunk[4 + 32 + 8] = {0};
    assert_int_equal(wire_decode(WIRE_CHUNK, chunk, sizeof(chunk), &m), WIRE_EFORMAT);
    /* ITEMS declaring more items than the body holds: refused before the
     * item array is allocated */
    uint8_t items[] = {0, 0, 0, 1, 0xff, 0xff};
    assert_int_equal(wire_decode(WIRE_ITEMS, items, sizeof(items), &m), WIRE_EFORMAT);
    /* PEERS with a bad family, and with too many peers */
    uint8_t peers[4 + 32 + 1 + 51] = {0};
    peers[36] = 1;
    peers[37] = 5;
    assert_int_equal(wire_decode(WIRE_PEERS, peers, sizeof(peers), &m), WIRE_EFORMAT);
    peers[36] = 11;
    assert_int_equal(wire_decode(WIRE_PEERS, peers, 37, &m), WIRE_EFORMAT);
    /* ANNOUNCE whose count disagrees with the body */
    uint8_t ann[4 + 2 + 1 + 2 + 32] = {0};
    ann[8] = 2;
    assert_int_equal(wire_decode(WIRE_ANNOUNCE, ann, sizeof(ann), &m), WIRE_EFORMAT);
    /* a malformed frame in the stream is an error for the parser */
    uint8_t frame[5 + sizeof(search)] = {0, 0, 0, sizeof(search), WIRE_SEARCH};
    memcpy(frame + 5, search, sizeof(search));
    struct wire_parser *p = wire_parser_new();
    int n;
    assert_int_equal(feed_all(p, frame, sizeof(frame), &n), WIRE_EFORMAT);
    wire_parser_free(p);
    assert_string_not_equal(wire_strerror(WIRE_EFORMAT), wire_strerror(WIRE_ETYPE));
}

/* Random bytes never crash the parser and never produce a message whose
 * re-encoding differs from its frame. */
static void test_garbage(void **state)
{
    (void)state;
    srand(1234);
    uint8_t buf[4096];
    int errors = 0;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)rand();
        struct wire_parser *p = wire_parser_new();
        int n;
        if (feed_all(p, buf, sizeof(buf), &n) < 0)
            errors++;
        wire_parser_free(p);
    }
    assert_true(errors > 150); /* random headers are nearly always refused */
}

/* The encoder refuses what the parser would refuse. */
static void test_encode_limits(void **state)
{
    (void)state;
    uint8_t *out;
    size_t len;
    char longname[WIRE_MAX_USER + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    struct wire_msg m = {.type = WIRE_LOGIN};
    m.u.login.user = longname;
    m.u.login.password = "x";
    assert_int_equal(wire_encode(&m, &out, &len), WIRE_ELIMIT);

    static uint8_t big[WIRE_MAX_CHUNK + 1];
    m = (struct wire_msg){.type = WIRE_CHUNK};
    m.u.chunk.data = big;
    m.u.chunk.len = sizeof(big);
    assert_int_equal(wire_encode(&m, &out, &len), WIRE_ELIMIT);
    m.u.chunk.len = WIRE_MAX_CHUNK;
    assert_int_equal(wire_encode(&m, &out, &len), 0);
    assert_int_equal(len, WIRE_HEADER_LEN + wire_max_body(WIRE_CHUNK));
    free(out);

    m = (struct wire_msg){.type = WIRE_PEERS};
    m.u.peers.count = 1;
    m.u.peers.peers[0].family = 5;
    assert_int_equal(wire_encode(&m, &out, &len), WIRE_ELIMIT);
    m.u.peers.count = WIRE_MAX_PEERS + 1;
    assert_int_equal(wire_encode(&m, &out, &len), WIRE_ELIMIT);

    /* the largest ITEMS reply fits its maximum */
    struct wire_item *items = xcalloc(WIRE_MAX_ITEMS, sizeof(*items));
    char s[WIRE_MAX_STR + 1];
    memset(s, 'x', WIRE_MAX_STR);
    s[WIRE_MAX_STR] = 0;
    for (size_t i = 0; i < WIRE_MAX_ITEMS; i++) {
        items[i].kind = WIRE_KIND_TRACK;
        items[i].has_file = true;
        items[i].title = items[i].artist = items[i].album = s;
    }
    m = (struct wire_msg){.type = WIRE_ITEMS};
    m.u.items.items = items;
    m.u.items.count = WIRE_MAX_ITEMS;
    assert_int_equal(wire_encode(&m, &out, &len), 0);
    assert_int_equal(len - WIRE_HEADER_LEN, wire_max_body(WIRE_ITEMS));
    assert_true(len - WIRE_HEADER_LEN <= WIRE_MAX_FRAME);
    struct wire_msg got;
    assert_int_equal(wire_decode(WIRE_ITEMS, out + 5, len - 5, &got), 0);
    assert_int_equal(got.u.items.count, WIRE_MAX_ITEMS);
    wire_msg_clear(&got);
    free(out);
    m.u.items.count = WIRE_MAX_ITEMS + 1;
    assert_int_equal(wire_encode(&m, &out, &len), WIRE_ELIMIT);
    free(items);
}

/* Encodes m and checks the outcome; on success, also the body's length. */
static void encode_expect(const struct wire_msg *m, int want, size_t body_len)
{
    uint8_t *out;
    size_t len;
    assert_int_equal(wire_encode(m, &out, &len), want);
    if (want == 0) {
        assert_int_equal(len - WIRE_HEADER_LEN, body_len);
        free(out);
    }
}

/* A body of the given type built by hand: decodes to want. */
static void decode_expect(uint8_t type, const uint8_t *body, size_t len, int want)
{
    struct wire_msg m;
    assert_int_equal(wire_decode(type, body, len, &m), want);
    if (want == 0)
        wire_msg_clear(&m);
}

/* The device-credential messages: labels 0..64 bytes, users up to 64,
 * credentials 32..128 bytes, enforced by the encoder and the decoder
 * alike, and the largest of each exactly its type's maximum. */
static void test_device_limits(void **state)
{
    (void)state;
    static uint8_t cred[WIRE_MAX_CRED + 1];
    char label[WIRE_MAX_LABEL + 2], user[WIRE_MAX_USER + 2];
    memset(label, 'l', sizeof(label) - 1);
    label[sizeof(label) - 1] = 0;
    memset(user, 'u', sizeof(user) - 1);
    user[sizeof(user) - 1] = 0;

    /* GET_DEVICE: an empty (or NULL) label, the longest, one too long */
    struct wire_msg m = {.type = WIRE_GET_DEVICE};
    encode_expect(&m, 0, 4 + 1);
    m.u.device.label = label + 1; /* 64 bytes */
    encode_expect(&m, 0, wire_max_body(WIRE_GET_DEVICE));
    m.u.device.label = label;
    encode_expect(&m, WIRE_ELIMIT, 0);

    /* the credential's length, for each type that carries one */
    const uint8_t types[] = {WIRE_DEVICE, WIRE_LOGIN_DEVICE, WIRE_REVOKE_DEVICE};
    for (size_t t = 0; t < sizeof(types); t++) {
        m = (struct wire_msg){.type = types[t]};
        m.u.device.user = user + 1; /* 64 bytes; only LOGIN_DEVICE sends it */
        m.u.device.cred = cred;
        m.u.device.cred_len = WIRE_MAX_CRED;
        encode_expect(&m, 0, wire_max_body(types[t]));
        m.u.device.cred_len = WIRE_MIN_CRED - 1;
        encode_expect(&m, WIRE_ELIMIT, 0);
        m.u.device.cred_len = WIRE_MAX_CRED + 1;
        encode_expect(&m, WIRE_ELIMIT, 0);
        m.u.device.cred = NULL;
        m.u.device.cred_len = WIRE_MIN_CRED;
        encode_expect(&m, WIRE_ELIMIT, 0);
    }
    m = (struct wire_msg){.type = WIRE_LOGIN_DEVICE};
    m.u.device.user = user;
    m.u.device.cred = cred;
    m.u.device.cred_len = WIRE_MIN_CRED;
    encode_expect(&m, WIRE_ELIMIT, 0);

    /* decoding: REVOKE_DEVICE is rid | u16 len | credential */
    uint8_t revoke[4 + 2 + WIRE_MAX_CRED] = {0};
    revoke[5] = WIRE_MIN_CRED;
    decode_expect(WIRE_REVOKE_DEVICE, revoke, 6 + WIRE_MIN_CRED, 0);
    revoke[5] = WIRE_MIN_CRED - 1; /* too short a credential */
    decode_expect(WIRE_REVOKE_DEVICE, revoke, 6 + WIRE_MIN_CRED - 1, WIRE_EFORMAT);
    revoke[5] = 0; /* none at all */
    decode_expect(WIRE_REVOKE_DEVICE, revoke, 6, WIRE_EFORMAT);
    revoke[5] = WIRE_MAX_CRED + 1; /* longer than allowed (and than the body) */
    decode_expect(WIRE_REVOKE_DEVICE, revoke, sizeof(revoke), WIRE_EFORMAT);
    revoke[5] = WIRE_MIN_CRED; /* a length that disagrees with the body */
    decode_expect(WIRE_REVOKE_DEVICE, revoke, 6 + WIRE_MIN_CRED + 1, WIRE_EFORMAT);
    decode_expect(WIRE_REVOKE_DEVICE, revoke, 6 + WIRE_MIN_CRED - 1, WIRE_EFORMAT);
    /* a body above the type's maximum is refused before its layout */
    uint8_t big[4 + 2 + WIRE_MAX_CRED + 1] = {0};
    decode_expect(WIRE_REVOKE_DEVICE, big, sizeof(big), WIRE_ETOOBIG);

    /* GET_DEVICE: rid | u8 len | label, no NUL, no more than 64 */
    uint8_t get[4 + 1 + WIRE_MAX_LABEL + 1] = {0};
    memset(get + 5, 'x', WIRE_MAX_LABEL + 1);
    get[4] = WIRE_MAX_LABEL;
    decode_expect(WIRE_GET_DEVICE, get, 5 + WIRE_MAX_LABEL, 0);
    get[4] = 3;
    get[6] = 0;
    decode_expect(WIRE_GET_DEVICE, get, 5 + 3, WIRE_EFORMAT);
    get[4] = WIRE_MAX_LABEL + 1;
    decode_expect(WIRE_GET_DEVICE, get, 5 + WIRE_MAX_LABEL + 1, WIRE_ETOOBIG);
    decode_expect(WIRE_GET_DEVICE, get, 5 + WIRE_MAX_LABEL, WIRE_EFORMAT);

    /* LOGIN_DEVICE: a user name over 64 bytes, in a body that fits */
    uint8_t login[4 + 1 + 65 + 2 + WIRE_MIN_CRED] = {0};
    login[4] = 65;
    memset(login + 5, 'u', 65);
    login[5 + 65 + 1] = WIRE_MIN_CRED;
    decode_expect(WIRE_LOGIN_DEVICE, login, sizeof(login), WIRE_EFORMAT);
    decode_expect(WIRE_LOGIN_DEVICE, login, 4, WIRE_EFORMAT); /* a rid and nothing more */

    /* DEVICE: the credential after the u64 */
    uint8_t dev[4 + 8 + 2 + WIRE_MIN_CRED] = {0};
    dev[13] = WIRE_MIN_CRED;
    decode_expect(WIRE_DEVICE, dev, sizeof(dev), 0);
    dev[13] = WIRE_MIN_CRED + 1;
    decode_expect(WIRE_DEVICE, dev, sizeof(dev), WIRE_EFORMAT);
}

/* ---- field ranges: refused by encode and decode alike ---- */

/* bad does not encode; valid does, round-trips, and with value written
 * big-endian over width bytes at body offset off it no longer decodes. */
static void refused_both(const struct wire_msg *valid, const struct wire_msg *bad, size_t off,
                         size_t width, uint64_t value)
{
    uint8_t *out;
    size_t len;
    assert_int_equal(wire_encode(bad, &out, &len), WIRE_ELIMIT);
    assert_int_equal(wire_encode(valid, &out, &len), 0);
    uint8_t *body = out + WIRE_HEADER_LEN;
    size_t blen = len - WIRE_HEADER_LEN;
    struct wire_msg got;
    assert_int_equal(wire_decode(valid->type, body, blen, &got), 0);
    assert_same(valid, &got);
    wire_msg_clear(&got);
    assert_true(off + width <= blen);
    for (size_t i = 0; i < width; i++)
        body[off + i] = (uint8_t)(value >> (8 * (width - 1 - i)));
    if (wire_decode(valid->type, body, blen, &got) != WIRE_EFORMAT)
        fail_msg("%s: %llu at %zu decodes", wire_type_name(valid->type), (unsigned long long)value,
                 off);
    free(out);
}

static void encodes(const struct wire_msg *m)
{
    uint8_t *out;
    size_t len;
    assert_int_equal(wire_encode(m, &out, &len), 0);
    struct wire_msg got;
    assert_int_equal(wire_decode(m->type, out + 5, len - 5, &got), 0);
    assert_same(m, &got);
    wire_msg_clear(&got);
    free(out);
}

static void test_ranges(void **state)
{
    (void)state;
    /* GET_CHUNKS: rid 0, file 4, first 36, count 40, priority 44 */
    struct wire_msg v = {.type = WIRE_GET_CHUNKS, .rid = 1}, b;
    v.u.get_chunks.first = 10;
    v.u.get_chunks.count = 40;
    b = v;
    b.u.get_chunks.count = 0;
    refused_both(&v, &b, 40, 4, 0);
    b.u.get_chunks.count = WIRE_MAX_RANGE + 1;
    refused_both(&v, &b, 40, 4, WIRE_MAX_RANGE + 1);
    b = v;
    b.u.get_chunks.priority = WIRE_PRIO_MAX + 1;
    refused_both(&v, &b, 44, 1, WIRE_PRIO_MAX + 1);
    b.u.get_chunks.priority = 0xff;
    refused_both(&v, &b, 44, 1, 0xff);
    b = v;
    b.u.get_chunks.first = UINT32_MAX - 39; /* first + count overflows */
    refused_both(&v, &b, 36, 4, UINT32_MAX - 39);
    /* the edges are fine */
    b = v;
    b.u.get_chunks.count = WIRE_MAX_RANGE;
    b.u.get_chunks.first = UINT32_MAX - WIRE_MAX_RANGE;
    b.u.get_chunks.priority = WIRE_PRIO_MAX;
    encodes(&b);

    /* FIND: rid, query id 4, file 12, hops 44 */
    v = (struct wire_msg){.type = WIRE_FIND, .rid = 2};
    v.u.find.hops = 1;
    b = v;
    b.u.find.hops = 0;
    refused_both(&v, &b, 44, 1, 0);
    b.u.find.hops = WIRE_MAX_HOPS + 1;
    refused_both(&v, &b, 44, 1, WIRE_MAX_HOPS + 1);
    b.u.find.hops = WIRE_MAX_HOPS;
    encodes(&b);

    /* HELLO: rid, version 4, role 6, flags 7, ticket 8.. */
    v = (struct wire_msg){.type = WIRE_HELLO};
    v.u.hello.version = WIRE_VERSION;
    v.u.hello.role = WIRE_ROLE_CLIENT;
    b = v;
    b.u.hello.role = 0;
    refused_both(&v, &b, 6, 1, 0);
    b.u.hello.role = WIRE_ROLE_PEER + 1;
    refused_both(&v, &b, 6, 1, WIRE_ROLE_PEER + 1);
    /* the listen port is on the wire for peers only */
    b = v;
    b.u.hello.listen_port = 4171;
    refused_both(&v, &b, 6, 1, WIRE_ROLE_PEER); /* a peer HELLO without its port */
    b.u.hello.role = WIRE_ROLE_SERVICE;
    encode_expect(&b, WIRE_ELIMIT, 0);
    v.u.hello.role = WIRE_ROLE_PEER;
    encode_expect(&v, 0, 4 + 2 + 1 + 1 + 2 + 2);
    b = v;
    b.u.hello.role = 0;
    refused_both(&v, &b, 6, 1, WIRE_ROLE_CLIENT); /* a client HELLO with a port */

    /* BROWSE: rid, kind 4, parent 5, offset 13, limit 17 */
    v = (struct wire_msg){.type = WIRE_BROWSE, .rid = 3};
    v.u.browse.kind = WIRE_KIND_ARTIST;
    v.u.browse.limit = 1;
    b = v;
    b.u.browse.kind = 0;
    refused_both(&v, &b, 4, 1, 0);
    b.u.browse.kind = WIRE_KIND_TRACK + 1;
    refused_both(&v, &b, 4, 1, WIRE_KIND_TRACK + 1);
    b = v;
    b.u.browse.limit = 0;
    refused_both(&v, &b, 17, 4, 0);
    b.u.browse.limit = WIRE_MAX_ITEMS + 1;
    refused_both(&v, &b, 17, 4, WIRE_MAX_ITEMS + 1);
    b.u.browse.limit = WIRE_MAX_ITEMS;
    encodes(&b);

    /* SEARCH: rid, limit 4 */
    v = (struct wire_msg){.type = WIRE_SEARCH, .rid = 4};
    v.u.search.limit = 10;
    v.u.search.query = "q";
    b = v;
    b.u.search.limit = 0;
    refused_both(&v, &b, 4, 4, 0);
    b.u.search.limit = WIRE_MAX_ITEMS + 1;
    refused_both(&v, &b, 4, 4, WIRE_MAX_ITEMS + 1);

    /* ITEMS: rid, count 4, first item's kind 6 */
    struct wire_item item = {.kind = WIRE_KIND_ARTIST, .title = "x"}, bad_item = item;
    bad_item.kind = 0;
    v = (struct wire_msg){.type = WIRE_ITEMS, .rid = 5};
    v.u.items.count = 1;
    v.u.items.items = &item;
    b = v;
    b.u.items.items = &bad_item;
    refused_both(&v, &b, 6, 1, 0);
    bad_item.kind = WIRE_KIND_TRACK + 1;
    refused_both(&v, &b, 6, 1, WIRE_KIND_TRACK + 1);

    /* PEERS: rid, file 4, count 36, family 37; FOUND: query id 4 first */
    v = (struct wire_msg){.type = WIRE_PEERS, .rid = 6};
    v.u.peers.count = 1;
    v.u.peers.peers[0].family = 4;
    b = v;
    b.u.peers.peers[0].family = 0; /* "the sender" means nothing in PEERS */
    refused_both(&v, &b, 37, 1, 0);
    b.u.peers.peers[0].family = 5;
    refused_both(&v, &b, 37, 1, 5);
    b = v;
    b.u.peers.count = WIRE_MAX_PEERS + 1;
    refused_both(&v, &b, 36, 1, WIRE_MAX_PEERS + 1);
    b = v;
    b.u.peers.query_id = 1; /* not on the wire for PEERS */
    encode_expect(&b, WIRE_ELIMIT, 0);
    b = v;
    b.u.peers.count = 0; /* an empty PEERS is an answer */
    encodes(&b);

    v.type = WIRE_FOUND;
    v.u.peers.query_id = 77;
    b = v;
    b.u.peers.peers[0].family = 6;
    encodes(&b);
    b.u.peers.peers[0].family = 0;
    encodes(&b); /* family 0: the sender */
    struct wire_msg sender = b;
    b.u.peers.peers[0].addr[15] = 1;
    refused_both(&sender, &b, 45 + 1 + 15, 1, 1); /* ... with an address: refused */
    b = v;
    b.u.peers.peers[0].family = 5;
    refused_both(&v, &b, 45, 1, 5);
    b = v;
    b.u.peers.count = 0; /* FOUND names at least one holder */
    refused_both(&v, &b, 44, 1, 0);
    b.u.peers.count = WIRE_MAX_PEERS + 1;
    refused_both(&v, &b, 44, 1, WIRE_MAX_PEERS + 1);
    /* a FOUND body of no entries, exactly: still refused */
    uint8_t empty[4 + 8 + WIRE_ID_LEN + 1] = {0};
    decode_expect(WIRE_FOUND, empty, sizeof(empty), WIRE_EFORMAT);
    decode_expect(WIRE_PEERS, empty + 8, sizeof(empty) - 8, 0);
}

/* The peer side of the codec: which types a peer sends, their cap, the
 * version that introduced each type. */
static void test_peer_types(void **state)
{
    (void)state;
    const uint8_t peer[] = {WIRE_HELLO,      WIRE_ERROR, WIRE_OK,     WIRE_PING, WIRE_PONG,
                            WIRE_GET_CHUNKS, WIRE_CHUNK, WIRE_CANCEL, WIRE_FIND, WIRE_FOUND};
    size_t npeer = 0, max = 0;
    for (unsigned t = 0; t <= UINT8_MAX; t++) {
        bool known = wire_max_body((uint8_t)t) != 0;
        assert_int_equal(wire_type_version((uint8_t)t), known ? 1 : 0);
        assert_int_equal(known, strcmp(wire_type_name((uint8_t)t), "?") != 0);
        if (wire_peer_type((uint8_t)t)) {
            assert_true(known);
            npeer++;
            if (wire_max_body((uint8_t)t) > max)
                max = wire_max_body((uint8_t)t);
        }
    }
    assert_int_equal(npeer, sizeof(peer));
    for (size_t i = 0; i < sizeof(peer); i++)
        assert_true(wire_peer_type(peer[i]));
    assert_false(wire_peer_type(WIRE_LOGIN));
    assert_false(wire_peer_type(WIRE_MANIFEST));
    assert_int_equal(wire_peer_max_body(), max);
    assert_int_equal(wire_peer_max_body(), wire_max_body(WIRE_CHUNK));
}

/* Skip-unknown: an unknown type is consumed and reported, in any split,
 * the frames around it still parse, and the length checks still hold. */
static void test_skip_unknown(void **state)
{
    (void)state;
    uint8_t stream[9 + 100 + 9 + 5];
    memcpy(stream, "\x00\x00\x00\x04\x01\x00\x00\x00\x01", 9); /* unknown (0x01 patched below) */
    stream[4] = 0xEE;
    memset(stream + 9, 0, 100);
    memcpy(stream + 9, "\x00\x00\x00\x5f\xEF", 5);                   /* 95 bytes of type 0xEF */
    memcpy(stream + 109, "\x00\x00\x00\x04\x04\x00\x00\x00\x09", 9); /* PING rid 9 */
    memcpy(stream + 118, "\x00\x00\x00\x00\xF0", 5);                 /* empty, unknown */
    for (size_t step = 1; step <= sizeof(stream); step++) {
        struct wire_parser *p = wire_parser_new();
        wire_parser_set_skip_unknown(p, true);
        int skipped = 0, msgs = 0;
        for (size_t pos = 0; pos < sizeof(stream); pos += step) {
            size_t piece = sizeof(stream) - pos < step ? sizeof(stream) - pos : step, off = 0;
            while (off < piece) {
                size_t used;
                struct wire_msg m;
                int rc = wire_parser_feed(p, stream + pos + off, piece - off, &used, &m);
                assert_true(rc >= 0);
                off += used;
                if (rc == WIRE_SKIPPED) {
                    skipped++;
                } else if (rc == WIRE_MSG) {
                    assert_int_equal(m.type, WIRE_PING);
                    assert_int_equal(m.rid, 9);
                    wire_msg_clear(&m);
                    msgs++;
                } else {
                    assert_int_equal(off, piece);
                }
            }
        }
        assert_int_equal(skipped, 3);
        assert_int_equal(msgs, 1);
        assert_int_equal(wire_parser_pending(p), 0);
        wire_parser_free(p);
    }

    /* lengths: WIRE_MAX_FRAME bounds a skipped frame, and so does the
     * receiver's cap (a peer link's) */
    uint8_t hdr[5] = {0x00, 0x10, 0x00, 0x01, 0xEE}; /* WIRE_MAX_FRAME + 1 */
    int n;
    for (int cap = 0; cap < 2; cap++) {
        struct wire_parser *p = wire_parser_new();
        wire_parser_set_skip_unknown(p, true);
        if (cap) {
            wire_parser_set_max_body(p, wire_peer_max_body());
            size_t over = wire_peer_max_body() + 1;
            hdr[1] = (uint8_t)(over >> 16);
            hdr[2] = (uint8_t)(over >> 8);
            hdr[3] = (uint8_t)over;
        }
        assert_int_equal(feed_all(p, hdr, 5, &n), WIRE_ETOOBIG);
        wire_parser_free(p);
    }
    /* at the cap exactly it is skipped */
    struct wire_parser *p = wire_parser_new();
    wire_parser_set_skip_unknown(p, true);
    wire_parser_set_max_body(p, wire_peer_max_body());
    size_t at = wire_peer_max_body();
    uint8_t *f = xcalloc(1, 5 + at);
    f[1] = (uint8_t)(at >> 16);
    f[2] = (uint8_t)(at >> 8);
    f[3] = (uint8_t)at;
    f[4] = 0xEE;
    size_t used;
    struct wire_msg m;
    assert_int_equal(wire_parser_feed(p, f, 5 + at, &used, &m), WIRE_SKIPPED);
    assert_int_equal(used, 5 + at);
    free(f);
    /* a known type is still decoded and checked: a malformed one fails */
    uint8_t badfind[5 + 4 + 8 + WIRE_ID_LEN + 1] = {0, 0, 0, 4 + 8 + WIRE_ID_LEN + 1, WIRE_FIND};
    assert_int_equal(feed_all(p, badfind, sizeof(badfind), &n), WIRE_EFORMAT); /* hops 0 */
    wire_parser_free(p);
    /* off (the default): an unknown type is an error */
    p = wire_parser_new();
    assert_int_equal(feed_all(p, stream, 9, &n), WIRE_ETYPE);
    wire_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_parser_any_split),
        cmocka_unit_test(test_oversized_refused_from_header),
        cmocka_unit_test(test_receiver_cap),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_truncated_frame),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_device_limits),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_peer_types),
        cmocka_unit_test(test_skip_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
