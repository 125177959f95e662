/* test_protocol_page: the worked examples of man/chorus-protocol.7 are
 * what the code makes and accepts, so the page and the code cannot drift
 * apart.
 *
 * Each example on the page follows a comment line `.\" example: NAME` and
 * is the hex bytes of the .EX block after it (tokens of two hex digits;
 * the rest of a line, from its first other word, is commentary). The test
 * rebuilds every example from the fixed inputs the page states (content
 * key, file, seeds, ticket fields) with the real code, compares the bytes,
 * and decodes the page's own bytes with manifest_decode, ticket_verify and
 * (FIND, FOUND) a parser set up as a peer link sets it.
 *
 * `test_protocol_page --print` prints the examples as the code makes
 * them, for writing the page. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/content_crypto.h"
#include "base/manifest.h"
#include "base/xmalloc.h"
#include "net/ticket.h"
#include "net/tls.h"
#include "net/wire.h"

/* The inputs the page states. */
#define FILE_LEN     (MANIFEST_CHUNK_SIZE + 100u) /* two chunks, the last of 100 bytes */
#define T_USER       "alice"
#define T_ISSUED     1767225600u /* 2026-01-01 00:00:00 UTC */
#define T_EXPIRES    (T_ISSUED + 3600u)
#define T_GENERATION 3u
#define CIPHER_AT    MANIFEST_CHUNK_SIZE /* the page shows 16 ciphertext bytes from here */
#define F_RID        7u
#define F_QUERY      0x0123456789abcdefull /* FIND / FOUND query id */
#define F_PORT       4171u                 /* the holder's listen port in FOUND */

struct bytes {
    uint8_t *p;
    size_t len;
};

/* Key bytes i + base, i = 0..n-1 (the page's "00 01 .. 0f" and seeds). */
static void counting(uint8_t *out, size_t n, uint8_t base)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(base + i);
}

/* An Ed25519 identity from a 32-byte seed: PKCS#8 DER wrapped in PEM. */
static struct tls_identity *identity_from_seed(uint8_t base)
{
    static const uint8_t prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                       0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    uint8_t der[48];
    memcpy(der, prefix, sizeof(prefix));
    counting(der + 16, 32, base);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char text[65];
    for (size_t i = 0, o = 0; i < sizeof(der); i += 3) {
        uint32_t v = (uint32_t)der[i] << 16 | (uint32_t)der[i + 1] << 8 | der[i + 2];
        for (int k = 3; k >= 0; k--)
            text[o++] = b64[(v >> (6 * k)) & 63];
        text[o] = 0;
    }
    char *dir = testutil_tempdir("protocol_page");
    char *path = xasprintf("%s/seed.pem", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n", text);
    fclose(f);
    struct tls_identity *id = NULL;
    assert_int_equal(tls_identity_load(path, &id), 0);
    testutil_rmtree(dir);
    free(path);
    free(dir);
    return id;
}

/* ---- what the code makes ---- */

struct made {
    struct bytes manifest, file_id, cipher0, cipher_at, ticket, service_key, holder_key;
    struct bytes find, found; /* whole frames, header included */
};

/* A FIND for the example file, and the holder's FOUND answering it. */
static void make_search_examples(struct made *m)
{
    struct wire_msg f = {.type = WIRE_FIND, .rid = F_RID};
    f.u.find.query_id = F_QUERY;
    memcpy(f.u.find.file_id, m->file_id.p, WIRE_ID_LEN);
    f.u.find.hops = WIRE_MAX_HOPS;
    assert_int_equal(wire_encode(&f, &m->find.p, &m->find.len), 0);
    struct wire_msg r = {.type = WIRE_FOUND, .rid = F_RID};
    r.u.peers.query_id = F_QUERY;
    memcpy(r.u.peers.file_id, m->file_id.p, WIRE_ID_LEN);
    r.u.peers.count = 1;
    r.u.peers.peers[0].family = 0; /* the sender itself */
    r.u.peers.peers[0].port = F_PORT;
    memcpy(r.u.peers.peers[0].key, m->holder_key.p, WIRE_ID_LEN);
    assert_int_equal(wire_encode(&r, &m->found.p, &m->found.len), 0);
}

static struct bytes copy(const uint8_t *p, size_t len)
{
    struct bytes b = {xmalloc(len), len};
    memcpy(b.p, p, len);
    return b;
}

static void make_examples(struct made *m)
{
    /* the file: FILE_LEN zero bytes encrypted under the key 00 01 .. 0f */
    struct content_key key;
    counting(key.bytes, sizeof(key.bytes), 0);
    uint8_t *plain = xcalloc(1, FILE_LEN), *enc = xmalloc(FILE_LEN);
    assert_int_equal(content_crypt(&key, 0, plain, enc, FILE_LEN), 0);
    struct manifest *mf;
    assert_int_equal(manifest_build(enc, FILE_LEN, MANIFEST_CHUNK_SIZE, &mf), 0);
    manifest_encode(mf, &m->manifest.p, &m->manifest.len);
    struct content_id id;
    manifest_id(mf, &id);
    m->file_id = copy(id.bytes, sizeof(id.bytes));
    m->cipher0 = copy(enc, 16);
    m->cipher_at = copy(enc + CIPHER_AT, 16);
    manifest_free(mf);
    free(plain);
    free(enc);

    /* the ticket: signed by the service key of seed 00 .. 1f for the
     * holder key of seed 20 .. 3f */
    struct tls_identity *service = identity_from_seed(0x00), *holder = identity_from_seed(0x20);
    uint8_t pub[TLS_KEY_LEN];
    tls_identity_public_key(service, pub);
    m->service_key = copy(pub, sizeof(pub));
    struct ticket t = {.issued = T_ISSUED, .expires = T_EXPIRES, .generation = T_GENERATION};
    snprintf(t.user, sizeof(t.user), "%s", T_USER);
    tls_identity_public_key(holder, t.key);
    m->holder_key = copy(t.key, sizeof(t.key));
    assert_int_equal(ticket_sign(service, &t, &m->ticket.p, &m->ticket.len), 0);
    tls_identity_free(service);
    tls_identity_free(holder);
    make_search_examples(m);
}

static void free_examples(struct made *m)
{
    struct bytes *all[] = {&m->manifest,    &m->file_id,    &m->cipher0, &m->cipher_at, &m->ticket,
                           &m->service_key, &m->holder_key, &m->find,    &m->found};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]->p);
}

/* ---- what the page says ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* the page writes hex in lower case */
}

/* The bytes of example name: the .EX block after its marker. */
static struct bytes page_example(const char *page, const char *name)
{
    char *marker = xasprintf(".\\\" example: %s\n", name);
    const char *p = strstr(page, marker);
    if (!p)
        fail_msg("chorus-protocol.7 has no example '%s'", name);
    free(marker);
    p = strstr(p, "\n.EX\n");
    const char *end = p ? strstr(p, "\n.EE\n") : NULL;
    assert_non_null(end);
    p += 5;
    struct bytes b = {xmalloc((size_t)(end - p) / 2 + 1), 0};
    while (p < end) {
        const char *eol = strchr(p, '\n');
        /* two-digit tokens up to the first other word */
        while (p < eol) {
            while (p < eol && *p == ' ')
                p++;
            if (p + 2 <= eol && hexval(p[0]) >= 0 && hexval(p[1]) >= 0 &&
                (p + 2 == eol || p[2] == ' ')) {
                b.p[b.len++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
                p += 2;
            } else {
                break;
            }
        }
        p = eol + 1;
    }
    assert_true(b.len > 0);
    return b;
}

static void assert_example(const char *page, const char *name, struct bytes want)
{
    struct bytes got = page_example(page, name);
    if (got.len != want.len || memcmp(got.p, want.p, want.len) != 0)
        fail_msg("example '%s' on the page (%zu bytes) is not what the code makes (%zu bytes):"
                 " run test_protocol_page --print",
                 name, got.len, want.len);
    free(got.p);
}

static char *read_page(void)
{
    const char *src = getenv("CHORUS_SOURCE_DIR");
    if (!src)
        fail_msg("CHORUS_SOURCE_DIR is not set");
    char *path = xasprintf("%s/man/chorus-protocol.7", src);
    size_t len;
    char *text = testutil_read_file(path, &len);
    text = xrealloc(text, len + 1);
    text[len] = 0;
    free(path);
    return text;
}

/* ---- tests ---- */

/* The manifest and the content encryption: bytes, fields, id. */
static void test_manifest_example(void **state)
{
    (void)state;
    char *page = read_page();
    struct made m;
    make_examples(&m);
    assert_example(page, "manifest", m.manifest);
    assert_example(page, "file-id", m.file_id);
    assert_example(page, "ciphertext-0", m.cipher0);
    assert_example(page, "ciphertext-16384", m.cipher_at);

    /* the page's bytes decode to the fields it states, and hash to its id */
    struct bytes b = page_example(page, "manifest"), id = page_example(page, "file-id");
    struct content_id want;
    assert_int_equal(id.len, CONTENT_ID_LEN);
    memcpy(want.bytes, id.p, CONTENT_ID_LEN);
    struct manifest *mf;
    assert_int_equal(manifest_decode(b.p, b.len, &want, &mf), 0);
    assert_int_equal(mf->chunk_size, 16384);
    assert_int_equal(mf->file_size, 16484);
    assert_int_equal(mf->chunk_count, 2);
    assert_int_equal(b.len, MANIFEST_HEADER_LEN + 2 * MANIFEST_HASH_LEN);
    assert_memory_equal(b.p, "CHMF\x01", 5);
    manifest_free(mf);
    free(b.p);
    free(id.p);
    free_examples(&m);
    free(page);
}

/* The ticket: bytes, fields, and the order of ticket_verify's checks the
 * page states. */
static void test_ticket_example(void **state)
{
    (void)state;
    char *page = read_page();
    struct made m;
    make_examples(&m);
    assert_example(page, "ticket", m.ticket);
    assert_example(page, "service-key", m.service_key);
    assert_example(page, "holder-key", m.holder_key);

    struct bytes t = page_example(page, "ticket"), sk = page_example(page, "service-key"),
                 hk = page_example(page, "holder-key");
    assert_int_equal(sk.len, TLS_KEY_LEN);
    assert_int_equal(hk.len, TLS_KEY_LEN);
    struct ticket out;
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, hk.p, T_ISSUED, 0, &out), 0);
    assert_string_equal(out.user, T_USER);
    assert_int_equal(out.issued, T_ISSUED);
    assert_int_equal(out.expires, T_EXPIRES);
    assert_int_equal(out.generation, T_GENERATION);
    assert_memory_equal(out.key, hk.p, TLS_KEY_LEN);
    assert_int_equal(t.p[4], TICKET_VERSION);
    assert_int_equal(t.len, 4 + 1 + 8 + 8 + 4 + 1 + strlen(T_USER) + 32 + 64);

    /* the checks, in the page's order: format, signature, times (with the
     * checker's skew), key */
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, hk.p, T_EXPIRES, 0, NULL), TICKET_EEXPIRED);
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, hk.p, T_EXPIRES, 300, NULL), 0);
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, hk.p, T_EXPIRES + 300, 300, NULL),
                     TICKET_EEXPIRED);
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, hk.p, T_ISSUED - 1, 0, NULL), TICKET_EFUTURE);
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, sk.p, T_ISSUED, 0, NULL), TICKET_EKEY);
    /* an expiry moved later breaks the signature before it is read: code
     * 5, not 6, even when it has passed */
    t.p[20] ^= 1;
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, hk.p, T_EXPIRES + 10, 0, NULL), TICKET_ESIG);
    t.p[20] ^= 1;
    t.p[4] = 1; /* version 1 is no ticket any more, whatever else holds */
    assert_int_equal(ticket_verify(t.p, t.len, sk.p, hk.p, T_EXPIRES + 10, 0, NULL),
                     TICKET_EFORMAT);
    free(t.p);
    free(sk.p);
    free(hk.p);
    free_examples(&m);
    free(page);
}

/* One frame through a parser set up as a peer link's. */
static struct wire_msg parse_peer_frame(struct bytes b)
{
    struct wire_parser *p = wire_parser_new();
    wire_parser_set_max_body(p, wire_peer_max_body());
    wire_parser_set_skip_unknown(p, true);
    struct wire_msg m;
    size_t used;
    assert_int_equal(wire_parser_feed(p, b.p, b.len, &used, &m), WIRE_MSG);
    assert_int_equal(used, b.len);
    wire_parser_free(p);
    return m;
}

/* FIND and FOUND: bytes, and the fields the page states. */
static void test_search_examples(void **state)
{
    (void)state;
    char *page = read_page();
    struct made m;
    make_examples(&m);
    assert_example(page, "find", m.find);
    assert_example(page, "found", m.found);

    struct bytes b = page_example(page, "find");
    struct wire_msg f = parse_peer_frame(b);
    assert_int_equal(f.type, WIRE_FIND);
    assert_true(wire_peer_type(f.type));
    assert_int_equal(f.rid, F_RID);
    assert_true(f.u.find.query_id == F_QUERY);
    assert_memory_equal(f.u.find.file_id, m.file_id.p, WIRE_ID_LEN);
    assert_int_equal(f.u.find.hops, 2);
    assert_int_equal(b.len, WIRE_HEADER_LEN + 4 + 8 + 32 + 1);
    wire_msg_clear(&f);
    free(b.p);

    b = page_example(page, "found");
    f = parse_peer_frame(b);
    assert_int_equal(f.type, WIRE_FOUND);
    assert_true(f.u.peers.query_id == F_QUERY);
    assert_memory_equal(f.u.peers.file_id, m.file_id.p, WIRE_ID_LEN);
    assert_int_equal(f.u.peers.count, 1);
    assert_int_equal(f.u.peers.peers[0].family, 0);
    assert_int_equal(f.u.peers.peers[0].port, F_PORT);
    assert_memory_equal(f.u.peers.peers[0].key, m.holder_key.p, WIRE_ID_LEN);
    assert_int_equal(b.len, WIRE_HEADER_LEN + 4 + 8 + 32 + 1 + 1 + 16 + 2 + 32);
    wire_msg_clear(&f);
    free(b.p);
    free_examples(&m);
    free(page);
}

static void print_hex(const char *name, struct bytes b)
{
    printf(".\\\" example: %s\n", name);
    for (size_t i = 0; i < b.len; i++)
        printf("%02x%s", b.p[i], i + 1 == b.len || i % 16 == 15 ? "\n" : " ");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--print") == 0) {
        struct made m;
        make_examples(&m);
        print_hex("manifest", m.manifest);
        print_hex("file-id", m.file_id);
        print_hex("ciphertext-0", m.cipher0);
        print_hex("ciphertext-16384", m.cipher_at);
        print_hex("service-key", m.service_key);
        print_hex("holder-key", m.holder_key);
        print_hex("ticket", m.ticket);
        print_hex("find", m.find);
        print_hex("found", m.found);
        free_examples(&m);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_example),
        cmocka_unit_test(test_ticket_example),
        cmocka_unit_test(test_search_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
