/* test_ticket: signing and every refusal of ticket_verify — forged,
 * expired, another holder's key, truncated and altered bytes, version 1. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "net/ticket.h"

struct keys {
    struct tls_identity *service, *other, *holder;
    uint8_t service_pub[TLS_KEY_LEN], other_pub[TLS_KEY_LEN], holder_pub[TLS_KEY_LEN];
};

static int setup(void **state)
{
    struct keys *k = xcalloc(1, sizeof(*k));
    assert_int_equal(tls_identity_generate(&k->service), 0);
    assert_int_equal(tls_identity_generate(&k->other), 0);
    assert_int_equal(tls_identity_generate(&k->holder), 0);
    tls_identity_public_key(k->service, k->service_pub);
    tls_identity_public_key(k->other, k->other_pub);
    tls_identity_public_key(k->holder, k->holder_pub);
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    struct keys *k = *state;
    tls_identity_free(k->service);
    tls_identity_free(k->other);
    tls_identity_free(k->holder);
    free(k);
    return 0;
}

static void make(struct keys *k, const struct tls_identity *signer, const char *user,
                 uint64_t expires, uint8_t **buf, size_t *len)
{
    struct ticket t = {.issued = 1000, .expires = expires, .generation = 0x01020304};
    snprintf(t.user, sizeof(t.user), "%s", user);
    memcpy(t.key, k->holder_pub, TLS_KEY_LEN);
    assert_int_equal(ticket_sign(signer, &t, buf, len), 0);
    assert_true(*len <= TICKET_MAX_LEN && *len <= WIRE_MAX_TICKET);
}

static void test_valid(void **state)
{
    struct keys *k = *state;
    uint8_t *buf;
    size_t len;
    make(k, k->service, "alice", 5000, &buf, &len);
    struct ticket t;
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 4999, 0, &t), 0);
    assert_string_equal(t.user, "alice");
    assert_memory_equal(t.key, k->holder_pub, TLS_KEY_LEN);
    assert_true(t.issued == 1000 && t.expires == 5000);
    assert_int_equal(t.generation, 0x01020304);
    assert_int_equal(buf[4], 2); /* version 2: with the generation after expires */
    assert_memory_equal(buf + 21, "\x01\x02\x03\x04", 4);
    /* the key binding is not optional: no peer key, no ticket */
    const uint8_t *volatile none = NULL;
    assert_int_equal(ticket_verify(buf, len, k->service_pub, none, 4999, 0, NULL), TICKET_EKEY);
    free(buf);

    /* the longest user name fits */
    char name[WIRE_MAX_USER + 1];
    memset(name, 'u', WIRE_MAX_USER);
    name[WIRE_MAX_USER] = 0;
    make(k, k->service, name, 5000, &buf, &len);
    assert_int_equal(len, TICKET_MAX_LEN);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 1000, 0, &t), 0);
    assert_string_equal(t.user, name);
    free(buf);
}

static void test_refusals(void **state)
{
    struct keys *k = *state;
    uint8_t *buf;
    size_t len;
    make(k, k->service, "bob", 5000, &buf, &len);
    /* expired: at and after the expiry second */
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 5000, 0, NULL),
                     TICKET_EEXPIRED);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 99999, 0, NULL),
                     TICKET_EEXPIRED);
    /* with a skew: accepted while now < expires + skew */
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 5000, 1, NULL), 0);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 5299, 300, NULL), 0);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 5300, 300, NULL),
                     TICKET_EEXPIRED);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, UINT64_MAX, 300, NULL),
                     TICKET_EEXPIRED);
    /* from the future (issued 1000): refused when issued > now + skew */
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 999, 0, NULL),
                     TICKET_EFUTURE);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 700, 300, NULL), 0);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 699, 300, NULL),
                     TICKET_EFUTURE);
    /* shown by someone else (their TLS key is not the ticket's) */
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->other_pub, 1000, 0, NULL),
                     TICKET_EKEY);
    /* checked against another service's key */
    assert_int_equal(ticket_verify(buf, len, k->other_pub, k->holder_pub, 1000, 0, NULL),
                     TICKET_ESIG);
    /* every single altered byte breaks it */
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x40;
        int rc = ticket_verify(buf, len, k->service_pub, k->holder_pub, 1000, 0, NULL);
        assert_true(rc == TICKET_ESIG || rc == TICKET_EFORMAT);
        buf[i] ^= 0x40;
    }
    /* truncated or extended */
    for (size_t n = 0; n < len; n++)
        assert_int_equal(ticket_verify(buf, n, k->service_pub, k->holder_pub, 1000, 0, NULL),
                         TICKET_EFORMAT);
    uint8_t *longer = xmalloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(ticket_verify(longer, len + 1, k->service_pub, k->holder_pub, 1000, 0, NULL),
                     TICKET_EFORMAT);
    free(longer);
    free(buf);

    /* version 1 (before generations): refused, even re-signed by the
     * service with its bytes in the old layout (no generation) */
    make(k, k->service, "bob", 5000, &buf, &len);
    size_t v1len = len - 4 - TLS_SIG_LEN;
    uint8_t *v1 = xmalloc(v1len + TLS_SIG_LEN);
    memcpy(v1, buf, 21);
    memcpy(v1 + 21, buf + 25, len - 25 - TLS_SIG_LEN);
    v1[4] = 1;
    assert_int_equal(tls_identity_sign(k->service, v1, v1len, v1 + v1len), 0);
    assert_int_equal(
        ticket_verify(v1, v1len + TLS_SIG_LEN, k->service_pub, k->holder_pub, 1000, 0, NULL),
        TICKET_EFORMAT);
    free(v1);
    free(buf);

    /* forged: well-formed, signed by another key */
    make(k, k->other, "bob", 5000, &buf, &len);
    assert_int_equal(ticket_verify(buf, len, k->service_pub, k->holder_pub, 1000, 0, NULL),
                     TICKET_ESIG);
    free(buf);

    /* signing refuses an empty user name */
    struct ticket t = {.expires = 1};
    assert_int_equal(ticket_sign(k->service, &t, &buf, &len), TICKET_EFORMAT);
    assert_string_not_equal(ticket_strerror(TICKET_ESIG), ticket_strerror(TICKET_EEXPIRED));
    assert_int_equal(ticket_verify(NULL, 0, k->service_pub, k->holder_pub, 0, 0, NULL),
                     TICKET_EFORMAT);
    assert_string_not_equal(ticket_strerror(TICKET_EFUTURE), ticket_strerror(TICKET_EEXPIRED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
