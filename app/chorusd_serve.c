/* chorusd serve: runs the service (net/svc.h) until SIGINT or SIGTERM.
 *
 * Reads chorusd.conf ([serve], [limits] and [log] keys, documented in
 * chorusd(8)),
 * opens the log file, raises the open-files limit for max-clients, starts
 * the service on one libuv loop and stops it cleanly on a signal: listener
 * closed, every client closed, work in flight finished, databases closed.
 * A second signal exits at once (a disk that hangs must not make the
 * service unkillable short of SIGKILL). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "chorusd_commands.h"
#include "base/config.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/xmalloc.h"
#include "net/svc.h"
#include "net/tls.h"

#define CONF_NAME "chorusd.conf"
#define LOG_NAME  "chorusd.log"

struct serve_conf {
    char *listen;
    int ticket_lifetime; /* seconds */
    int tracker_silence; /* seconds */
    int login_timeout;   /* seconds */
    int send_timeout;    /* seconds */
    int max_clients;
    /* [limits] (chorusd(8), LIMITS) */
    int conns_per_addr, logins_per_addr;
    int failures, addr_failures, account_failures;
    int backoff, backoff_max, account_backoff_max, forget; /* seconds */
    int loopback;                                          /* LOOPBACK_* */
    int log_level;                                         /* enum clog_level */
    char *log_file;
};

enum { LOOPBACK_EXEMPT, LOOPBACK_APPLY };
static const char *const loopback_words[] = {"exempt", "apply", NULL};

#define S struct serve_conf
static const struct config_key serve_schema[] = {
    CONFIG_STRING_KEY("serve", "listen", S, listen, "0.0.0.0:4170",
                      "address and port to accept clients on"),
    CONFIG_INT_KEY("serve", "ticket-lifetime", S, ticket_lifetime, 60, 31536000, "3600",
                   "seconds a login ticket stays valid"),
    CONFIG_INT_KEY("serve", "tracker-silence", S, tracker_silence, 5, 86400, "600",
                   "seconds of silence after which a peer's tracker entries go"),
    CONFIG_INT_KEY("serve", "login-timeout", S, login_timeout, 1, 3600, "60",
                   "seconds a connection may stay without logging in"),
    CONFIG_INT_KEY("serve", "send-timeout", S, send_timeout, 1, 3600, "60",
                   "seconds a client may leave its replies unread before it is dropped"),
    CONFIG_INT_KEY("serve", "max-clients", S, max_clients, 1, 1000000, "10000",
                   "connections served at once"),
    CONFIG_INT_KEY("limits", "connections-per-address", S, conns_per_addr, 1, 1000000, "100",
                   "connections at once from one address"),
    CONFIG_INT_KEY("limits", "logins-per-address", S, logins_per_addr, 1, 100000, "8",
                   "logins waiting or being checked at once from one address"),
    CONFIG_INT_KEY("limits", "failures", S, failures, 1, 100000, "5",
                   "failed logins of one account from one address before the back-off"),
    CONFIG_INT_KEY("limits", "address-failures", S, addr_failures, 1, 1000000, "20",
                   "failed logins from one address before the back-off"),
    CONFIG_INT_KEY("limits", "account-failures", S, account_failures, 1, 1000000, "50",
                   "failed logins of one account from anywhere before the back-off"),
    CONFIG_INT_KEY("limits", "backoff", S, backoff, 1, 3600, "1",
                   "seconds of the first back-off; each further failure doubles it"),
    CONFIG_INT_KEY("limits", "backoff-max", S, backoff_max, 1, 86400, "300",
                   "seconds: the longest back-off of an address or an account at an address"),
    CONFIG_INT_KEY("limits", "account-backoff-max", S, account_backoff_max, 1, 3600, "60",
                   "seconds: the longest back-off of an account from anywhere"),
    CONFIG_INT_KEY("limits", "forget", S, forget, 1, 604800, "900",
                   "seconds after the last failed login when failures are forgotten"),
    CONFIG_ENUM_KEY("limits", "loopback", S, loopback, loopback_words, "exempt",
                    "whether the per-address limits apply to loopback addresses"),
    CONFIG_ENUM_KEY("log", "level", S, log_level, clog_level_names, "info",
                    "least severe message written to the log"),
    CONFIG_STRING_KEY("log", "file", S, log_file, NULL,
                      "log file; unset: chorusd.log in the XDG state directory"),
    CONFIG_END,
};
#undef S

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorusd serve [--listen ADDR:PORT] [--data-dir DIR] [--config FILE]\n"
                 "\n"
                 "Serves the catalog, the stored files, logins and the tracker to Chorus\n"
                 "players until interrupted (SIGINT or SIGTERM stop it cleanly).\n"
                 "\n"
                 "  -l, --listen ADDR:PORT  where to accept clients (default 0.0.0.0:4170;\n"
                 "                          [ADDR]:PORT for IPv6, PORT alone for any address)\n"
                 "  -d, --data-dir DIR      the service's data directory\n"
                 "  -c, --config FILE       configuration file (default: chorusd.conf in\n"
                 "                          the XDG config directory, if present)\n"
                 "  -h, --help              this help\n"
                 "\n"
                 "See chorusd(8) and chorus-protocol(7).\n");
}

/* "ADDR:PORT", "[ADDR]:PORT" or "PORT" into addr (cap bytes) and port. */
static int parse_listen(const char *text, char *addr, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    const char *host = text, *ps = text;
    size_t hlen = 0;
    if (!colon) {
        host = "0.0.0.0";
        hlen = strlen(host);
    } else if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close + 1 != colon)
            return -1;
        host = text + 1;
        hlen = (size_t)(close - host);
        ps = colon + 1;
    } else {
        hlen = (size_t)(colon - text);
        ps = colon + 1;
    }
    char *end;
    errno = 0;
    long p = strtol(ps, &end, 10);
    if (errno || *ps == 0 || *end || p < 0 || p > 65535 || hlen == 0 || hlen >= cap)
        return -1;
    memcpy(addr, host, hlen);
    addr[hlen] = 0;
    *port = (uint16_t)p;
    struct sockaddr_storage ss;
    if (uv_ip4_addr(addr, *port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(addr, *port, (struct sockaddr_in6 *)&ss) != 0)
        return -1;
    return 0;
}

struct serve {
    uv_signal_t sigint, sigterm;
    struct svc *svc;
    struct clog *log;
    bool stopping;
};

static void svc_stopped(struct svc *s, void *arg)
{
    (void)s;
    struct serve *sv = arg;
    uv_close((uv_handle_t *)&sv->sigint, NULL);
    uv_close((uv_handle_t *)&sv->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *sv = h->data;
    if (sv->stopping) {
        static const char msg[] = "chorusd serve: second signal: exiting now\n";
        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
            /* nothing more to say */
        }
        _exit(1);
    }
    sv->stopping = true;
    fprintf(stderr, "chorusd serve: %s: shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    clog_info(sv->log, "serve", "%s received: shutting down",
              signum == SIGINT ? "SIGINT" : "SIGTERM");
    svc_close(sv->svc, svc_stopped, sv);
}

static int load_conf(struct serve_conf *conf, const char *path, const struct paths *paths)
{
    char *error = NULL;
    if (config_set_defaults(serve_schema, conf, &error) != 0) {
        fprintf(stderr, "chorusd serve: bad built-in default: %s\n", error);
        free(error);
        return -1;
    }
    char *def = path ? NULL : paths_file(paths, PATHS_CONFIG, CONF_NAME);
    int rc = config_load_file(path ? path : def, serve_schema, conf, &error);
    if (rc == -ENOENT && !path)
        rc = 0;
    if (rc != 0)
        fprintf(stderr, "chorusd serve: %s\n", error ? error : config_strerror(rc));
    free(error);
    free(def);
    return rc == 0 ? 0 : -1;
}

/* Each client costs a file descriptor: lift the soft open-files limit
 * towards what max_clients needs (never above the hard limit; the
 * service lowers its cap to what it gets, and says so in the log). */
static void raise_fd_limit(unsigned max_clients)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_clients + SVC_FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int serve(const char *data_dir, const char *addr, uint16_t port,
                 const struct serve_conf *conf, struct clog *log)
{
    /* Chunk reads, catalog queries and scrypt share the threadpool; the
     * default of 4 threads is small for a service. Must be set before the
     * pool starts. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    /* A client that hangs up mid-write must not kill the service. */
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit((unsigned)conf->max_clients);

    uv_loop_t loop;
    uv_loop_init(&loop);
    struct svc_config cfg = {
        .data_dir = data_dir,
        .listen_addr = addr,
        .port = port,
        .ticket_lifetime_s = (uint64_t)conf->ticket_lifetime,
        .tracker_silence_ms = (uint64_t)conf->tracker_silence * 1000,
        .login_timeout_ms = (uint64_t)conf->login_timeout * 1000,
        .send_timeout_ms = (uint64_t)conf->send_timeout * 1000,
        .max_clients = (unsigned)conf->max_clients,
        .max_conns_per_addr = (unsigned)conf->conns_per_addr,
        .max_logins_per_addr = (unsigned)conf->logins_per_addr,
        .login_failures = (unsigned)conf->failures,
        .addr_failures = (unsigned)conf->addr_failures,
        .account_failures = (unsigned)conf->account_failures,
        .backoff_ms = (uint64_t)conf->backoff * 1000,
        .backoff_max_ms = (uint64_t)conf->backoff_max * 1000,
        .account_backoff_max_ms = (uint64_t)conf->account_backoff_max * 1000,
        .failure_memory_ms = (uint64_t)conf->forget * 1000,
        .limit_loopback = conf->loopback == LOOPBACK_APPLY,
        .log = log,
    };
    struct serve sv = {.log = log};
    int rc = svc_new(&loop, &cfg, &sv.svc);
    if (rc < 0) {
        fprintf(stderr, "chorusd serve: cannot start the service in %s: %s\n", data_dir,
                svc_strerror(rc));
        uv_run(&loop, UV_RUN_DEFAULT); /* lets the failed service release itself */
        uv_loop_close(&loop);
        return 1;
    }
    uint8_t key[TLS_KEY_LEN];
    char hex[2 * TLS_KEY_LEN + 1];
    svc_public_key(sv.svc, key);
    tls_key_to_hex(key, hex);
    fprintf(stderr,
            "chorusd serve: listening on %s%s%s:%d, data in %s\n"
            "chorusd serve: service key %s\n"
            "chorusd serve: log in %s\n",
            strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "", svc_port(sv.svc),
            data_dir, hex, clog_path(log) ? clog_path(log) : "(none)");
    struct svc_stats st;
    svc_get_stats(sv.svc, &st);
    if (st.max_clients < (uint64_t)conf->max_clients)
        fprintf(stderr,
                "chorusd serve: at most %llu clients: the open-files limit allows no more\n",
                (unsigned long long)st.max_clients);
    uv_signal_init(&loop, &sv.sigint);
    uv_signal_init(&loop, &sv.sigterm);
    sv.sigint.data = sv.sigterm.data = &sv;
    uv_signal_start(&sv.sigint, on_signal, SIGINT);
    uv_signal_start(&sv.sigterm, on_signal, SIGTERM);
    uv_run(&loop, UV_RUN_DEFAULT);
    svc_free(sv.svc);
    rc = uv_loop_close(&loop);
    fprintf(stderr, "chorusd serve: stopped\n");
    return rc == 0 ? 0 : 1;
}

int chorusd_serve_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *listen_opt = NULL, *data_opt = NULL, *config_opt = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "l:d:c:h", options, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen_opt = optarg;
            break;
        case 'd':
            data_opt = optarg;
            break;
        case 'c':
            config_opt = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "chorusd serve: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    int err = 0;
    struct paths *paths = paths_new("chorusd", &err);
    if (!paths && (!config_opt || !data_opt)) {
        fprintf(stderr, "chorusd serve: %s (use --config and --data-dir)\n", paths_strerror(err));
        return 1;
    }
    struct serve_conf conf = {0};
    int status = 1;
    char *data_dir = NULL, *log_path = NULL;
    struct clog *log = NULL;
    char addr[128];
    uint16_t port;
    if (load_conf(&conf, config_opt, paths) < 0)
        goto out;
    const char *listen = listen_opt ? listen_opt : conf.listen;
    if (parse_listen(listen, addr, sizeof(addr), &port) < 0) {
        fprintf(stderr, "chorusd serve: invalid listen address '%s' (want ADDR:PORT)\n", listen);
        status = listen_opt ? 2 : 1;
        goto out;
    }
    if (!(data_dir = chorusd_data_dir(data_opt, "serve")))
        goto out;
    if (conf.log_file) {
        log_path = xstrdup(conf.log_file);
    } else if (paths && paths_ensure(paths, PATHS_STATE) == 0) {
        log_path = paths_file(paths, PATHS_STATE, LOG_NAME);
    }
    if (log_path && !(log = clog_new(log_path, (enum clog_level)conf.log_level, &err))) {
        fprintf(stderr, "chorusd serve: cannot open the log %s: %s\n", log_path,
                clog_strerror(err));
        goto out;
    }
    status = serve(data_dir, addr, port, &conf, log);
out:
    clog_free(log);
    free(log_path);
    free(data_dir);
    config_free_strings(serve_schema, &conf);
    paths_free(paths);
    return status;
}
