/* Tests for core/errors: the blocks of error codes are sorted and
 * disjoint, every code a module header declares lies in its module's
 * block, chorus_strerror names each block's first code and says "unknown
 * error (CODE)" for a code no module owns. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audio/decoder.h"
#include "audio/import.h"
#include "audio/sink.h"
#include "audio/track_stream.h"
#include "audio/transcode.h"
#include "base/config.h"
#include "base/errcode.h"
#include "base/log.h"
#include "base/manifest.h"
#include "base/paths.h"
#include "core/cache.h"
#include "core/clientdb.h"
#include "core/cmd.h"
#include "core/engine.h"
#include "core/errors.h"
#include "core/fetch.h"
#include "core/peers.h"
#include "core/remote.h"
#include "library/catalog.h"
#include "library/store.h"
#include "net/account.h"
#include "net/client.h"
#include "net/conn.h"
#include "net/peerlink.h"
#include "net/svc.h"
#include "net/ticket.h"
#include "net/tls.h"
#include "net/wire.h"

/* Every code the module headers declare, with the module that owns it. A
 * header that gains a code adds it here. */
#define CODE(module, name)                                                                         \
    {                                                                                              \
        module, #name, name                                                                        \
    }
static const struct {
    const char *module, *name;
    int code;
} declared[] = {
    CODE("manifest", MANIFEST_EFORMAT),
    CODE("manifest", MANIFEST_ETOOBIG),
    CODE("manifest", MANIFEST_EID),
    CODE("manifest", MANIFEST_EEMPTY),
    CODE("manifest", MANIFEST_EINVAL),
    CODE("paths", PATHS_ENOHOME),
    CODE("config", CONFIG_EINVALID),
    CODE("log", CLOG_ETERMINAL),
    CODE("store", STORE_ENOTFOUND),
    CODE("store", STORE_ECORRUPT),
    CODE("store", STORE_EEMPTY),
    CODE("store", STORE_ERANGE),
    CODE("store", STORE_EEXIST),
    CODE("store", STORE_ECRYPTO),
    CODE("catalog", CATALOG_ESQL),
    CODE("catalog", CATALOG_ETOONEW),
    CODE("catalog", CATALOG_ENOTFOUND),
    CODE("catalog", CATALOG_EINVAL),
    CODE("catalog", CATALOG_EOPEN),
    CODE("catalog", CATALOG_ECORRUPT),
    CODE("catalog", CATALOG_EBUSY),
    CODE("catalog", CATALOG_EFULL),
    CODE("aout", AOUT_EINVAL),
    CODE("aout", AOUT_ENODEV),
    CODE("aout", AOUT_EDEVICE),
    CODE("aout", AOUT_ESTATE),
    CODE("tstream", TSTREAM_EMISSING),
    CODE("tstream", TSTREAM_EABORTED),
    CODE("tstream", TSTREAM_EINVAL),
    CODE("tstream", TSTREAM_ECORRUPT),
    CODE("tstream", TSTREAM_ECRYPTO),
    CODE("dec", DEC_EINVAL),
    CODE("dec", DEC_EFORMAT),
    CODE("dec", DEC_ENOAUDIO),
    CODE("dec", DEC_ECODEC),
    CODE("dec", DEC_ERESAMPLE),
    CODE("dec", DEC_ESTREAM),
    CODE("transcode", TRANSCODE_ENOTAUDIO),
    CODE("transcode", TRANSCODE_ENOSTREAM),
    CODE("transcode", TRANSCODE_ECORRUPT),
    CODE("transcode", TRANSCODE_ECODEC),
    CODE("transcode", TRANSCODE_EENCODE),
    CODE("transcode", TRANSCODE_ENOTFILE),
    CODE("transcode", TRANSCODE_ETOOLONG),
    CODE("import", IMPORT_ECANCELED),
    CODE("import", IMPORT_EMISSING),
    CODE("import", IMPORT_EKEY),
    CODE("cache", CACHE_ENOTFOUND),
    CODE("cache", CACHE_ENOMANIFEST),
    CODE("cache", CACHE_EBADCHUNK),
    CODE("cache", CACHE_ECORRUPT),
    CODE("cache", CACHE_EFULL),
    CODE("cache", CACHE_ERANGE),
    CODE("cache", CACHE_EINDEX),
    CODE("cache", CACHE_ETIMEDOUT),
    CODE("cache", CACHE_ECANCELED),
    CODE("cache", CACHE_ELOCKED),
    CODE("cache", CACHE_EINVAL),
    CODE("wire", WIRE_ETOOBIG),
    CODE("wire", WIRE_ETYPE),
    CODE("wire", WIRE_EFORMAT),
    CODE("wire", WIRE_ELIMIT),
    CODE("tls", TLS_EIO),
    CODE("tls", TLS_EKEYFILE),
    CODE("tls", TLS_ECRYPTO),
    CODE("tls", TLS_EHANDSHAKE),
    CODE("tls", TLS_EPEERKEY),
    CODE("tls", TLS_ECLOSED),
    CODE("tls", TLS_ESTATE),
    CODE("ticket", TICKET_EFORMAT),
    CODE("ticket", TICKET_ESIG),
    CODE("ticket", TICKET_EEXPIRED),
    CODE("ticket", TICKET_EKEY),
    CODE("ticket", TICKET_ECRYPTO),
    CODE("ticket", TICKET_EREVOKED),
    CODE("ticket", TICKET_EFUTURE),
    CODE("account", ACCOUNT_EDB),
    CODE("account", ACCOUNT_EEXISTS),
    CODE("account", ACCOUNT_ENAME),
    CODE("account", ACCOUNT_EPASSWORD),
    CODE("account", ACCOUNT_EDENIED),
    CODE("account", ACCOUNT_EPARAMS),
    CODE("account", ACCOUNT_ECRYPTO),
    CODE("conn", CONN_EEOF),
    CODE("conn", CONN_ETIMEOUT),
    CODE("conn", CONN_EPROTO),
    CODE("conn", CONN_ECLOSED),
    CODE("client", CLIENT_ETIMEOUT),
    CODE("client", CLIENT_ECLOSED),
    CODE("client", CLIENT_EPIN),
    CODE("client", CLIENT_EREFUSED),
    CODE("client", CLIENT_EINVAL),
    CODE("client", CLIENT_EADDR),
    CODE("fetch", FETCH_ENOTFOUND),
    CODE("fetch", FETCH_EMANIFEST),
    CODE("fetch", FETCH_ECLOSED),
    CODE("fetch", FETCH_ENOKEY),
    CODE("fetch", FETCH_EREFUSED),
    CODE("fetch", FETCH_EBADDATA),
    CODE("fetch", FETCH_EINVAL),
    CODE("peerlink", PEERLINK_ETICKET),
    CODE("peerlink", PEERLINK_EEXPIRED),
    CODE("peerlink", PEERLINK_EHELLO),
    CODE("peerlink", PEERLINK_EVERSION),
    CODE("peerlink", PEERLINK_EREFUSED),
    CODE("cmd", CMD_EUSAGE),
    CODE("cmd", CMD_EUNKNOWN),
    CODE("cmd", CMD_EOFFLINE),
    CODE("cmd", CMD_EEXISTS),
    CODE("cmd", CMD_EEMPTY),
    CODE("cmd", CMD_EBUSY),
    CODE("clientdb", CLIENTDB_EDB),
    CODE("clientdb", CLIENTDB_ENOTFOUND),
    CODE("clientdb", CLIENTDB_EEXISTS),
    CODE("clientdb", CLIENTDB_ETOONEW),
    CODE("clientdb", CLIENTDB_EINVAL),
    CODE("engine", ENGINE_ERUNNING),
    CODE("engine", ENGINE_EINVAL),
    CODE("engine", ENGINE_ESTOPPED),
    CODE("remote", REMOTE_ERUNNING),
    CODE("remote", REMOTE_EUNSAFE),
    CODE("remote", REMOTE_EPATH),
    CODE("remote", REMOTE_ENOENGINE),
    CODE("remote", REMOTE_EPROTO),
    CODE("peers", PEERS_ELISTEN),
    CODE("peers", PEERS_EADDR),
    CODE("peers", PEERS_ENOTICKET),
    CODE("peers", PEERS_EFULL),
    CODE("peers", PEERS_EBANNED),
    CODE("peers", PEERS_ESELF),
};
#define NDECLARED (sizeof(declared) / sizeof(declared[0]))

static const struct chorus_error_block *block_of(const char *module)
{
    size_t n;
    const struct chorus_error_block *b = chorus_error_blocks(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(b[i].module, module) == 0)
            return &b[i];
    fail_msg("no block for module %s", module);
    return NULL;
}

static void test_blocks_sorted_and_disjoint(void **state)
{
    (void)state;
    size_t n;
    const struct chorus_error_block *b = chorus_error_blocks(&n);
    assert_true(n > 20);
    assert_int_equal(b[0].first, -1); /* errno first */
    for (size_t i = 0; i < n; i++) {
        if (b[i].first > -1 || b[i].last > b[i].first)
            fail_msg("%s: block %d..%d is empty or not negative", b[i].module, b[i].first,
                     b[i].last);
        /* A module's block: ERRCODE_BLOCK codes from a multiple of 100. */
        if (i > 0 &&
            (b[i].first % ERRCODE_BLOCK != 0 || b[i].first - b[i].last != ERRCODE_BLOCK - 1))
            fail_msg("%s: block %d..%d is not one block of %d", b[i].module, b[i].first, b[i].last,
                     ERRCODE_BLOCK);
        if (i > 0 && b[i].first >= b[i - 1].last)
            fail_msg("%s (%d..%d) overlaps or precedes %s (%d..%d)", b[i].module, b[i].first,
                     b[i].last, b[i - 1].module, b[i - 1].first, b[i - 1].last);
        for (size_t j = 0; j < i; j++)
            if (strcmp(b[i].module, b[j].module) == 0)
                fail_msg("module %s has two blocks", b[i].module);
    }
}

static void test_declared_codes_in_their_block(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDECLARED; i++) {
        const struct chorus_error_block *b = block_of(declared[i].module);
        if (declared[i].code > b->first || declared[i].code < b->last)
            fail_msg("%s = %d lies outside the %s block %d..%d", declared[i].name, declared[i].code,
                     b->module, b->first, b->last);
        for (size_t j = 0; j < i; j++)
            if (declared[j].code == declared[i].code)
                fail_msg("%s and %s are both %d", declared[j].name, declared[i].name,
                         declared[i].code);
    }
}

/* A specific text: not what the module says for the unused last code of
 * its block (its fallback: "unknown wire error", ...), nor strerror's
 * "Unknown error N". */
static void assert_specific(int code, const char *who)
{
    const struct chorus_error_block *b = NULL;
    size_t n;
    const struct chorus_error_block *all = chorus_error_blocks(&n);
    for (size_t i = 0; i < n && !b; i++)
        if (code <= all[i].first && code >= all[i].last)
            b = &all[i];
    assert_non_null(b);
    const char *s = chorus_strerror(code);
    if (!*s || strcmp(s, b->fn(b->last)) == 0 || strncmp(s, "Unknown error", 13) == 0 ||
        strstr(s, "unknown error"))
        fail_msg("%s: chorus_strerror(%d) = '%s'", who, code, s);
}

static void test_first_code_of_every_block_is_named(void **state)
{
    (void)state;
    size_t n;
    const struct chorus_error_block *b = chorus_error_blocks(&n);
    for (size_t i = 0; i < n; i++) {
        if (b[i].fn) {
            assert_specific(b[i].first, b[i].module);
            assert_string_equal(chorus_strerror(b[i].first), b[i].fn(b[i].first));
        } else {
            /* A reserved block names nothing until its module exists. */
            char want[40];
            snprintf(want, sizeof(want), "unknown error (%d)", b[i].first);
            assert_string_equal(chorus_strerror(b[i].first), want);
        }
    }
    /* Every declared code of a module that names its codes. */
    for (size_t i = 0; i < NDECLARED; i++)
        if (block_of(declared[i].module)->fn)
            assert_specific(declared[i].code, declared[i].name);
}

static void test_specific_texts(void **state)
{
    (void)state;
    assert_string_equal(chorus_strerror(0), "success");
    assert_string_equal(chorus_strerror(-ENOSPC), strerror(ENOSPC));
    /* The codes that collided before each module had its own block. */
    assert_string_equal(chorus_strerror(AOUT_EINVAL), aout_strerror(AOUT_EINVAL));
    assert_string_equal(chorus_strerror(CATALOG_ESQL), "catalog database error");
    assert_string_equal(chorus_strerror(CLOG_ETERMINAL), "a log file cannot be a terminal");
    assert_string_equal(chorus_strerror(PATHS_ENOHOME), paths_strerror(PATHS_ENOHOME));
    assert_string_equal(chorus_strerror(DEC_ESTREAM), "reading the track failed");
    assert_string_equal(chorus_strerror(TSTREAM_ECRYPTO), "decryption failed");
    /* The modules' own dispatch agrees with the table. */
    assert_string_equal(import_strerror(CATALOG_EFULL), "disk full while writing the catalog");
    assert_string_equal(svc_strerror(CATALOG_EBUSY), chorus_strerror(CATALOG_EBUSY));
    assert_string_equal(svc_strerror(STORE_ECORRUPT), chorus_strerror(STORE_ECORRUPT));
    assert_string_equal(svc_strerror(TLS_EPEERKEY), chorus_strerror(TLS_EPEERKEY));
}

static void test_unknown_codes(void **state)
{
    (void)state;
    const int unknown[] = {1,     42,    -1500, -2200, -2999, -3300,    -4200,
                           -5100, -6500, -6900, -7500, -9999, -1000000, -2147483647 - 1};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        char want[40];
        snprintf(want, sizeof(want), "unknown error (%d)", unknown[i]);
        assert_string_equal(chorus_strerror(unknown[i]), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_sorted_and_disjoint),
        cmocka_unit_test(test_declared_codes_in_their_block),
        cmocka_unit_test(test_first_code_of_every_block_is_named),
        cmocka_unit_test(test_specific_texts),
        cmocka_unit_test(test_unknown_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
