/* chorus login / chorus logout: keep (or forget) this device's long-lived
 * credential in chorus.db (chorus(1), LOGIN).
 *
 * login asks for the password once, logs in on a private loop, asks the
 * service for a device credential (GET_DEVICE) and stores it with the
 * service's address; the password and the 24-hour ticket are never kept.
 * logout asks the service to revoke the credential when it can be reached
 * (a short wait), then forgets it either way. Main thread only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "chorus_commands.h"
#include "chorus_env.h"
#include "core/clientdb.h"
#include "net/client.h"
#include "password.h"

#define TIMEOUT_MS      10000
#define LOGOUT_WAIT_MS  3000
#define DEFAULT_ADDRESS "127.0.0.1:4170"

/* A logged-out connection to the service on a loop of its own. */
struct session {
    uv_loop_t loop;
    struct tls_identity *identity;
    struct svc_client *client;
};

static int session_open(struct session *s, struct chorus_env *env, const char *who,
                        const char *address, uint64_t timeout_ms)
{
    memset(s, 0, sizeof(*s));
    uv_loop_init(&s->loop);
    const char *data = paths_dir(env->paths, PATHS_DATA);
    char *id_path = xasprintf("%s/identity.key", data);
    char *pin = xasprintf("%s/service.pin", data);
    char *host = NULL;
    uint16_t port = 0;
    int rc = paths_ensure(env->paths, PATHS_DATA);
    if (rc == 0)
        rc = tls_identity_load_or_create(id_path, &s->identity, NULL);
    if (rc < 0)
        fprintf(stderr, "%s: cannot load or create the identity %s\n", who, id_path);
    uint8_t key[TLS_KEY_LEN];
    bool has_key =
        env->settings.service_key && tls_key_from_hex(env->settings.service_key, key) == 0;
    if (rc == 0 && svc_address_parse(address, &host, &port) < 0) {
        fprintf(stderr, "%s: expected HOST:PORT, got \"%s\"\n", who, address);
        rc = -1;
    }
    if (rc == 0) {
        struct svc_client_opts o = {.host = host,
                                    .port = port,
                                    .identity = s->identity,
                                    .service_key = has_key ? key : NULL,
                                    .pin_file = pin};
        rc = svc_client_new(&s->loop, &o, &s->client);
        if (rc == 0)
            rc = svc_client_wait_ready(s->client, timeout_ms);
        if (rc < 0)
            fprintf(stderr, "%s: cannot reach the service at %s: %s\n", who, address,
                    svc_client_strerror(rc == CLIENT_ECLOSED ? svc_client_error(s->client) : rc));
    }
    free(host);
    free(id_path);
    free(pin);
    return rc < 0 ? -1 : 0;
}

static void session_close(struct session *s)
{
    if (s->client)
        svc_client_close(s->client);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    tls_identity_free(s->identity);
}

static struct clientdb *open_db(struct chorus_env *env, const char *who)
{
    struct clientdb *db = NULL;
    char *path = xasprintf("%s/%s", paths_dir(env->paths, PATHS_DATA), CLIENTDB_FILE_NAME);
    int rc = paths_ensure(env->paths, PATHS_DATA);
    if (rc == 0)
        rc = clientdb_open(path, env->log, &db);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", who, path, clientdb_strerror(rc));
        db = NULL;
    }
    free(path);
    return db;
}

static int do_login(struct chorus_env *env, const char *address, const char *user,
                    const char *pw_file)
{
    const char *who = "chorus login";
    char *password = password_for_login("chorus login", pw_file, user, address);
    if (!password)
        return 1;
    struct clientdb *db = open_db(env, who);
    struct session s;
    int status = 1;
    if (db && session_open(&s, env, who, address, TIMEOUT_MS) == 0) {
        int rc = svc_client_login_sync(s.client, user, password, TIMEOUT_MS);
        uint8_t *cred = NULL;
        size_t len = 0;
        uint64_t issued = 0;
        char host[256] = "chorus";
        gethostname(host, sizeof(host) - 1);
        if (rc == CLIENT_EREFUSED)
            fprintf(stderr, "%s: the service refused the login: %s\n", who,
                    wire_error_name(svc_client_last_error_code(s.client)));
        else if (rc < 0)
            fprintf(stderr, "%s: %s\n", who, svc_client_strerror(rc));
        else if ((rc = svc_client_get_device_sync(s.client, host, &cred, &len, &issued,
                                                  TIMEOUT_MS)) < 0)
            fprintf(stderr, "%s: the service gave no device credential: %s\n", who,
                    svc_client_strerror(rc));
        if (rc == 0) {
            struct clientdb_login l = {.address = (char *)address,
                                       .user = (char *)user,
                                       .credential = cred,
                                       .credential_len = len,
                                       .issued = (int64_t)issued};
            rc = clientdb_set_login(db, &l);
            if (rc < 0)
                fprintf(stderr, "%s: cannot store the credential: %s\n", who,
                        clientdb_strerror(rc));
            else
                printf("Logged in to %s as %s; this device keeps a credential (not the "
                       "password).\n",
                       address, user);
            status = rc < 0 ? 1 : 0;
        }
        if (cred)
            memset(cred, 0, len);
        free(cred);
        session_close(&s);
    }
    clientdb_close(db);
    password_wipe(password);
    return status;
}

int chorus_login_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"service", required_argument, NULL, 's'},
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *service = NULL, *user = NULL, *pw_file = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "s:u:p:h", options, NULL)) != -1) {
        switch (c) {
        case 's':
            service = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'p':
            pw_file = optarg;
            break;
        case 'h':
            printf("Usage: chorus login [--service HOST:PORT] [--user NAME] "
                   "[--password-file FILE]\n");
            return 0;
        default:
            fprintf(stderr, "Usage: chorus login [--service HOST:PORT] [--user NAME] "
                            "[--password-file FILE]\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chorus login: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct chorus_env env;
    int status = chorus_env_open(&env, "login");
    if (status == 0) {
        const char *address = service                        ? service
                              : env.settings.service_address ? env.settings.service_address
                                                             : DEFAULT_ADDRESS;
        const char *who = user                        ? user
                          : env.settings.service_user ? env.settings.service_user
                                                      : getenv("USER");
        if (!who || !*who) {
            fprintf(stderr, "chorus login: no user name: use --user or service.user\n");
            status = 2;
        } else {
            status = do_login(&env, address, who, pw_file);
        }
    }
    chorus_env_close(&env);
    return status;
}

int chorus_logout_main(int argc, char **argv)
{
    if (argc > 1) {
        bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        fprintf(help ? stdout : stderr, "Usage: chorus logout\n");
        return help ? 0 : 2;
    }
    const char *who = "chorus logout";
    struct chorus_env env;
    int status = chorus_env_open(&env, "logout");
    struct clientdb *db = status == 0 ? open_db(&env, who) : NULL;
    struct clientdb_login l = {0};
    if (status == 0 && !db)
        status = 1;
    if (db && clientdb_get_login(db, &l) < 0) {
        printf("Not logged in.\n");
    } else if (db) {
        struct session s;
        /* Revoking needs the service; forgetting does not. */
        if (session_open(&s, &env, who, l.address, LOGOUT_WAIT_MS) == 0) {
            if (svc_client_login_device_sync(s.client, l.user, l.credential, l.credential_len,
                                             LOGOUT_WAIT_MS) == 0) {
                struct wire_msg m;
                uint32_t rid = svc_client_revoke_device(s.client, l.credential, l.credential_len);
                if (rid && svc_client_wait(s.client, rid, &m, LOGOUT_WAIT_MS) == 0)
                    wire_msg_clear(&m);
                printf("The service revoked this device's credential.\n");
            }
            session_close(&s);
        } else {
            fprintf(stderr,
                    "%s: the service could not revoke the credential; forgetting it "
                    "here all the same\n",
                    who);
        }
        status = clientdb_forget_login(db) < 0 ? 1 : 0;
        if (status == 0)
            printf("Logged out: this device holds no credential for %s any more.\n", l.user);
    }
    clientdb_login_clear(&l);
    clientdb_close(db);
    chorus_env_close(&env);
    return status;
}
