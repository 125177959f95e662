/* chorus login / chorus logout: keep (or forget) this device's long-lived
 * credential in chorus.db (chorus(1), LOGIN), and chorus_login_device,
 * the login itself, which `chorus --demo` uses for each of its engines
 * (app/chorus_login.h).
 *
 * login asks for the password once, logs in on a private loop, asks the
 * service for a device credential (GET_DEVICE) and stores it with the
 * service's address; the password and the 24-hour ticket are never kept.
 * logout asks the service to revoke the credential when it can be reached
 * (a short wait), then forgets it either way. The commands run on the
 * main thread; chorus_login_device on any thread (its loop is its own). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "chorus_commands.h"
#include "chorus_env.h"
#include "chorus_login.h"
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

/* The data directory a login uses: data_dir, else env's (made when
 * missing). NULL with *error set when it cannot be made. */
static const char *data_dir_of(struct chorus_env *env, const char *data_dir, char **error)
{
    const char *dir = data_dir ? data_dir : paths_dir(env->paths, PATHS_DATA);
    int rc = fs_mkdir_p(dir, 0700);
    if (rc < 0) {
        *error = xasprintf("cannot make %s: %s", dir, fs_strerror(rc));
        return NULL;
    }
    return dir;
}

/* Connects to address with the identity and the pinned service key of
 * data (or service.key when set). 0, or -1 with *error set. */
static int session_open(struct session *s, struct chorus_env *env, const char *data,
                        const char *address, uint64_t timeout_ms, char **error)
{
    memset(s, 0, sizeof(*s));
    uv_loop_init(&s->loop);
    char *id_path = xasprintf("%s/identity.key", data);
    char *pin = xasprintf("%s/service.pin", data);
    char *host = NULL;
    uint16_t port = 0;
    int rc = tls_identity_load_or_create(id_path, &s->identity, NULL);
    if (rc < 0)
        *error = xasprintf("cannot load or create the identity %s", id_path);
    uint8_t key[TLS_KEY_LEN];
    bool has_key =
        env->settings.service_key && tls_key_from_hex(env->settings.service_key, key) == 0;
    if (rc == 0 && svc_address_parse(address, &host, &port) < 0) {
        *error = xasprintf("expected HOST:PORT, got \"%s\"", address);
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
            *error = xasprintf(
                "cannot reach the service at %s: %s", address,
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

/* data's chorus.db, or NULL with *error set. */
static struct clientdb *open_db(struct chorus_env *env, const char *data, char **error)
{
    struct clientdb *db = NULL;
    char *path = xasprintf("%s/%s", data, CLIENTDB_FILE_NAME);
    int rc = clientdb_open(path, env->log, &db);
    if (rc < 0) {
        *error = xasprintf("cannot open %s: %s", path, clientdb_strerror(rc));
        db = NULL;
    }
    free(path);
    return db;
}

/* Logs in on s with the password, asks for a device credential and
 * stores it in db. 0, or -1 with *error set. */
static int login_and_store(struct session *s, struct clientdb *db, const char *address,
                           const char *user, const char *password, const char *device, char **error)
{
    uint8_t *cred = NULL;
    size_t len = 0;
    uint64_t issued = 0;
    int rc = svc_client_login_sync(s->client, user, password, TIMEOUT_MS);
    if (rc == CLIENT_EREFUSED)
        *error = xasprintf("the service refused the login: %s",
                           wire_error_name(svc_client_last_error_code(s->client)));
    else if (rc < 0)
        *error = xstrdup(svc_client_strerror(rc));
    else if ((rc = svc_client_get_device_sync(s->client, device, &cred, &len, &issued,
                                              TIMEOUT_MS)) < 0)
        *error = xasprintf("the service gave no device credential: %s", svc_client_strerror(rc));
    if (rc == 0) {
        struct clientdb_login l = {.address = (char *)address,
                                   .user = (char *)user,
                                   .credential = cred,
                                   .credential_len = len,
                                   .issued = (int64_t)issued};
        rc = clientdb_set_login(db, &l);
        if (rc < 0)
            *error = xasprintf("cannot store the credential: %s", clientdb_strerror(rc));
    }
    if (cred)
        memset(cred, 0, len);
    free(cred);
    return rc < 0 ? -1 : 0;
}

int chorus_login_device(struct chorus_env *env, const char *data_dir, const char *address,
                        const char *user, const char *password, const char *device, char **error)
{
    char *why = NULL;
    const char *data = data_dir_of(env, data_dir, &why);
    struct clientdb *db = data ? open_db(env, data, &why) : NULL;
    struct session s;
    int rc = -1;
    if (db && session_open(&s, env, data, address, TIMEOUT_MS, &why) == 0) {
        rc = login_and_store(&s, db, address, user, password, device, &why);
        session_close(&s);
    } else if (db) {
        session_close(&s);
    }
    clientdb_close(db);
    if (error)
        *error = why;
    else
        free(why);
    return rc;
}

static int do_login(struct chorus_env *env, const char *address, const char *user,
                    const char *pw_file)
{
    char *password = password_for_login("chorus login", pw_file, user, address);
    if (!password)
        return 1;
    char host[256] = "chorus";
    gethostname(host, sizeof(host) - 1);
    char *error = NULL;
    int rc = chorus_login_device(env, NULL, address, user, password, host, &error);
    password_wipe(password);
    if (rc < 0) {
        fprintf(stderr, "chorus login: %s\n", error);
        free(error);
        return 1;
    }
    printf("Logged in to %s as %s; this device keeps a credential (not the password).\n", address,
           user);
    return 0;
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
    char *error = NULL;
    const char *data = status == 0 ? data_dir_of(&env, NULL, &error) : NULL;
    struct clientdb *db = data ? open_db(&env, data, &error) : NULL;
    struct clientdb_login l = {0};
    if (status == 0 && !db) {
        fprintf(stderr, "%s: %s\n", who, error);
        status = 1;
    }
    free(error);
    error = NULL;
    if (db && clientdb_get_login(db, &l) < 0) {
        printf("Not logged in.\n");
    } else if (db) {
        struct session s;
        /* Revoking needs the service; forgetting does not. */
        if (session_open(&s, &env, data, l.address, LOGOUT_WAIT_MS, &error) == 0) {
            if (svc_client_login_device_sync(s.client, l.user, l.credential, l.credential_len,
                                             LOGOUT_WAIT_MS) == 0) {
                struct wire_msg m;
                uint32_t rid = svc_client_revoke_device(s.client, l.credential, l.credential_len);
                if (rid && svc_client_wait(s.client, rid, &m, LOGOUT_WAIT_MS) == 0)
                    wire_msg_clear(&m);
                printf("The service revoked this device's credential.\n");
            }
        } else {
            fprintf(stderr,
                    "%s: %s\n%s: the service could not revoke the credential; forgetting it "
                    "here all the same\n",
                    who, error, who);
            free(error);
        }
        session_close(&s);
        status = clientdb_forget_login(db) < 0 ? 1 : 0;
        if (status == 0)
            printf("Logged out: this device holds no credential for %s any more.\n", l.user);
    }
    clientdb_login_clear(&l);
    clientdb_close(db);
    chorus_env_close(&env);
    return status;
}
