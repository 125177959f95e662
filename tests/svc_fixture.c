/* svc_fixture: see svc_fixture.h. Test-only; asserts with cmocka. */
#include "svc_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "audio/import.h"
#include "audio_fixtures.h"
#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "core/clientdb.h"
#include "net/account.h"
#include "net/client.h"
#include "testutil.h"

#define TIMEOUT_MS 20000

static const struct account_params fast = {10, 8, 1};

void svcfix_start(struct svcfix *f, const char *name, int ntracks, double seconds)
{
    svcfix_start_music(f, name, ntracks, seconds, false);
}

void svcfix_start_music(struct svcfix *f, const char *name, int ntracks, double seconds, bool noise)
{
    memset(f, 0, sizeof(*f));
    f->dir = testutil_tempdir(name);
    char *src = xasprintf("%s/src", f->dir);
    assert_int_equal(mkdir(src, 0700), 0);
    struct importer *imp;
    assert_int_equal(import_open(f->dir, &imp), 0);
    for (int i = 0; i < ntracks; i++) {
        char title[32], number[16];
        snprintf(title, sizeof(title), "Track %d", i + 1);
        snprintf(number, sizeof(number), "%d", i + 1);
        char *path = xasprintf("%s/t%d.flac", src, i + 1);
        struct fixture_tags tags = {.title = title,
                                    .artist = "Fixture Band",
                                    .album = "Fixture Album",
                                    .track = number,
                                    .date = "2024"};
        /* a different pitch per track, so their audio differs */
        if (noise) { /* as many bytes as music: a seed per track */
            struct fixture_pcm *pcm = fixture_generate(FIXTURE_NOISE, 1000 + i, seconds, 44100, 2);
            assert_int_equal(fixture_encode(path, FIXTURE_FLAC, pcm, &tags), 0);
            fixture_pcm_free(pcm);
        } else {
            fixture_write(path, FIXTURE_FLAC, i % 2 ? FIXTURE_SINE : FIXTURE_CHORD, seconds, 44100,
                          2, &tags);
        }
        struct import_report rep;
        assert_int_equal(import_file(imp, path, NULL, &rep), 0);
        assert_int_equal(rep.outcome, IMPORT_IMPORTED);
        f->seconds += rep.seconds;
        free(path);
    }
    import_free(imp);
    free(src);
    f->ntracks = ntracks;
    char *path = xasprintf("%s/%s", f->dir, SVC_ACCOUNTS_NAME);
    struct account_db *db;
    assert_int_equal(account_open(path, &db), 0);
    assert_int_equal(account_add(db, SVCFIX_USER, SVCFIX_PASS, &fast), 0);
    account_close(db);
    free(path);
    svcfix_restart_service(f);
    f->address = xasprintf("127.0.0.1:%d", f->port);
}

void svcfix_stop_service(struct svcfix *f)
{
    if (f->srv)
        svc_thread_stop(f->srv, NULL);
    f->srv = NULL;
}

void svcfix_restart_service(struct svcfix *f)
{
    if (!f->log) {
        char *path = xasprintf("%s/service.log", f->dir);
        int err;
        f->log = clog_new(path, CLOG_DEBUG, &err);
        free(path);
    }
    struct svc_config cfg = {.data_dir = f->dir,
                             .listen_addr = "127.0.0.1",
                             .port = (uint16_t)f->port,
                             .ticket_lifetime_s = f->ticket_lifetime_s,
                             .log = f->log};
    assert_int_equal(svc_thread_start(&cfg, &f->srv), 0);
    f->port = svc_thread_port(f->srv);
}

void svcfix_free(struct svcfix *f)
{
    svcfix_stop_service(f);
    clog_free(f->log);
    f->log = NULL;
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f->address);
}

void svcfix_login(struct svcfix *f, const char *data_dir)
{
    assert_int_equal(fs_mkdir_p(data_dir, 0700), 0);
    char *id_path = xasprintf("%s/identity.key", data_dir);
    char *pin = xasprintf("%s/service.pin", data_dir);
    struct tls_identity *id;
    assert_int_equal(tls_identity_load_or_create(id_path, &id, NULL), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct svc_client_opts o = {
        .host = "127.0.0.1", .port = (uint16_t)f->port, .identity = id, .pin_file = pin};
    struct svc_client *c;
    assert_int_equal(svc_client_new(&loop, &o, &c), 0);
    assert_int_equal(svc_client_wait_ready(c, TIMEOUT_MS), 0);
    assert_int_equal(svc_client_login_sync(c, SVCFIX_USER, SVCFIX_PASS, TIMEOUT_MS), 0);
    uint8_t *cred = NULL;
    size_t len = 0;
    uint64_t issued = 0;
    assert_int_equal(svc_client_get_device_sync(c, "test", &cred, &len, &issued, TIMEOUT_MS), 0);
    svc_client_close(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    tls_identity_free(id);

    char *db_path = xasprintf("%s/%s", data_dir, CLIENTDB_FILE_NAME);
    struct clientdb *db;
    assert_int_equal(clientdb_open(db_path, NULL, &db), 0);
    struct clientdb_login l = {.address = f->address,
                               .user = SVCFIX_USER,
                               .credential = cred,
                               .credential_len = len,
                               .issued = (int64_t)issued};
    assert_int_equal(clientdb_set_login(db, &l), 0);
    clientdb_close(db);
    free(cred);
    free(db_path);
    free(id_path);
    free(pin);
}
