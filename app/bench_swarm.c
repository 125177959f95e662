/* bench_swarm: `chorus-bench swarm`, the coordinator (bench_swarm.h).
 *
 * The run, in order:
 *   1. the catalog (bench_catalog.h: made once, reused), locked for the run
 *   2. one account per engine (u0, u1, ...: a user holds at most 64
 *      devices, and every listener is someone else), a fresh password
 *      for this run, a cheap scrypt cost (a benchmark account on loopback)
 *   3. the service in this process on 127.0.0.1 (chorusd's svc)
 *   4. the engine hosts: `chorus-bench swarm-host` processes, at most
 *      HOST_MAX_ENGINES engines each (the open-files hard limit is per
 *      process: an engine holds up to 60 links, its cache files and its
 *      databases), started from /proc/self/exe with pipes both ways; their
 *      stderr goes to WORKDIR/host-K.log
 *   5. warm-up: each host fills its engines' caches (bench_swarm_fill.c),
 *      logs them in and waits until they are online; the service's egress
 *      meanwhile is reported apart
 *   6. the measured phase: "go" to every host, DURATION seconds, a
 *      progress line; service-down stops the service a quarter into it
 *      (links made and keys fetched by then, as in a real outage)
 *   7. "stop", the hosts' last records, their exit statuses and rusage
 *   8. the correctness checks, the report (bench_swarm_report.c)
 *
 * Exit status: 0 when every check passed, 1 when one failed, 2 for a bad
 * option. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xmalloc.h"
#include "bench_catalog.h"
#include "bench_commands.h"
#include "bench_swarm.h"
#include "bench_util.h"
#include "net/account.h"
#include "net/svc.h"
#include "net/tls.h"

extern char **environ;

#define HOST_MAX_ENGINES  150
#define DEFAULT_PEERS     50
#define DEFAULT_TRACKS    300
#define DEFAULT_DURATION  600.0
#define DEFAULT_RTT_MS    50
#define DEFAULT_RATE      4000 /* kbit/s: a home line of 2010 */
#define DEFAULT_CACHE_PCT 10.0
#define WARMUP_LIMIT_S    1800.0
#define STOP_GRACE_S      60.0 /* hosts' time to send their last records */
#define SERVICE_DOWN_AT   0.25 /* of the measured phase */
/* N = 2^10: the accounts exist for one run on loopback; the default cost
 * (2^15) would spend a minute of CPU logging 500 engines in. */
static const struct account_params cheap_scrypt = {.log2_n = 10, .r = 8, .p = 1};

struct options {
    struct swarm_params p;
    const char *json_path, *records_path, *cache_root, *workdir_base;
    double cache_pct;
    unsigned max_links;
    bool keep, rate_given;
};

struct host_proc {
    pid_t pid;
    int to, from; /* its stdin, its stdout */
    char buf[1 << 16];
    size_t len;
    bool ready, eof;
    unsigned first, count;
    unsigned fds, threads, threadpool; /* its "host" record */
};

struct coord {
    struct options o;
    struct bench_catalog cat;
    char *workdir;
    char password[33];
    struct svc_thread *svc;
    struct clog *svc_log;
    char address[64], key_hex[2 * TLS_KEY_LEN + 1];
    struct host_proc *hosts;
    size_t nhosts;
    struct swarm_run run;
    size_t plays_cap;
    char **engine_listen; /* by engine: its peer address */
    json_t **engine_links;
    bool service_running;
    FILE *records;         /* --records: every playback's record, as the hosts sent it */
    struct svc_stats warm; /* the service's figures at the end of the warm-up */
};

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void add_failure(struct swarm_run *run, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    run->failures = xrealloc(run->failures, (run->nfailures + 1) * sizeof(*run->failures));
    run->failures[run->nfailures++] = xstrdup(line);
}

/* ---- options ---- */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chorus-bench swarm [--peers N] [--tracks N] [--duration S]\n"
            "                          [--scenario NAME] [--rtt MS] [--rate KBIT] [--seed N]\n"
            "                          [--json FILE] [--speed X] [--processes N]\n"
            "                          [--cache-pct P] [--max-links N] [--catalog-dir DIR]\n"
            "                          [--workdir DIR] [--keep] [--records FILE]\n"
            "                          [--output bench|null]\n"
            "                          [--threadpool N]\n"
            "\n"
            "Runs one service and N real engines (real TCP/TLS links, real caches,\n"
            "real decoding) under Spotify's measured workload, and reports the\n"
            "figures beside Kreitz & Niemelä (IEEE P2P 2010). Exit status 1 when a\n"
            "correctness check fails.\n"
            "\n"
            "  --peers N        engines (default %d)\n"
            "  --tracks N       catalog size (default %d)\n"
            "  --duration S     the measured phase in seconds (default %.0f)\n"
            "  --scenario NAME  default, flash-crowd, churn, service-down, bad-peers\n"
            "  --rtt MS         round trip of every link (default %d; 0 with no --rate:\n"
            "                   raw loopback)\n"
            "  --rate KBIT      each engine's access link, each way (default %d)\n"
            "  --seed N         the workload (default 1)\n"
            "  --json FILE      the report as JSON too\n"
            "  --speed X        audio plays X times real time (default 1)\n"
            "  --processes N    engine hosts (default: one per %d engines)\n"
            "  --cache-pct P    each engine's cache cap, %% of the catalog (default %.0f)\n"
            "  --max-links N    peer links per engine (default 60)\n"
            "  --catalog-dir D  where catalogs are kept between runs\n"
            "                   (default $XDG_CACHE_HOME/chorus-bench)\n"
            "  --workdir DIR    where the engines' homes go (default $TMPDIR)\n"
            "  --keep           keep the engines' homes and logs\n"
            "  --records FILE   every playback's record, one JSON object a line\n"
            "  --output SPEC    the engines' audio output: bench (one clock thread per\n"
            "                   process, the default) or null (a thread per engine)\n"
            "  --threadpool N   libuv threads per process (default: one per 4 engines,\n"
            "                   4 to 128)\n"
            "\n"
            "See README.md (Performance).\n",
            DEFAULT_PEERS, DEFAULT_TRACKS, DEFAULT_DURATION, DEFAULT_RTT_MS, DEFAULT_RATE,
            HOST_MAX_ENGINES, DEFAULT_CACHE_PCT);
}

static bool parse_count(const char *name, const char *arg, unsigned long lo, unsigned long hi,
                        unsigned *out)
{
    unsigned long v;
    if (!bench_parse_count(arg, lo, hi, &v)) {
        fprintf(stderr, "chorus-bench swarm: %s wants %lu to %lu, not '%s'\n", name, lo, hi, arg);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

static bool parse_double(const char *name, const char *arg, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "chorus-bench swarm: %s wants %g to %g, not '%s'\n", name, lo, hi, arg);
        return false;
    }
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option options[] = {
        {"peers", required_argument, NULL, 'n'},
        {"tracks", required_argument, NULL, 't'},
        {"duration", required_argument, NULL, 'd'},
        {"scenario", required_argument, NULL, 's'},
        {"rtt", required_argument, NULL, 'r'},
        {"rate", required_argument, NULL, 'R'},
        {"seed", required_argument, NULL, 'S'},
        {"json", required_argument, NULL, 'j'},
        {"speed", required_argument, NULL, 'x'},
        {"processes", required_argument, NULL, 'P'},
        {"cache-pct", required_argument, NULL, 'c'},
        {"max-links", required_argument, NULL, 'L'},
        {"catalog-dir", required_argument, NULL, 'C'},
        {"workdir", required_argument, NULL, 'w'},
        {"keep", no_argument, NULL, 'k'},
        {"records", required_argument, NULL, 'J'},
        {"output", required_argument, NULL, 'o'},
        {"threadpool", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (struct options){.p = {.peers = DEFAULT_PEERS,
                                .tracks = DEFAULT_TRACKS,
                                .duration_s = DEFAULT_DURATION,
                                .rtt_ms = DEFAULT_RTT_MS,
                                .rate_kbit = DEFAULT_RATE,
                                .seed = 1,
                                .output = "bench",
                                .speed = 1},
                          .cache_pct = DEFAULT_CACHE_PCT,
                          .max_links = 60};
    optind = 1;
    int c;
    unsigned seed = 1;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            ok = parse_count("--peers", optarg, 2, 1000, &o->p.peers);
            break;
        case 't':
            ok = parse_count("--tracks", optarg, 2, 100000, &o->p.tracks);
            break;
        case 'd':
            ok = parse_double("--duration", optarg, 1, 86400, &o->p.duration_s);
            break;
        case 's':
            ok = swarm_scenario_parse(optarg, &o->p.scenario);
            if (!ok)
                fprintf(stderr,
                        "chorus-bench swarm: --scenario wants default, flash-crowd, churn, "
                        "service-down or bad-peers, not '%s'\n",
                        optarg);
            break;
        case 'r':
            ok = parse_count("--rtt", optarg, 0, 10000, &o->p.rtt_ms);
            break;
        case 'R':
            ok = parse_count("--rate", optarg, 0, 10000000, &o->p.rate_kbit);
            o->rate_given = true;
            break;
        case 'S':
            ok = parse_count("--seed", optarg, 0, UINT32_MAX, &seed);
            break;
        case 'j':
            o->json_path = optarg;
            break;
        case 'J':
            o->records_path = optarg;
            break;
        case 'x':
            ok = parse_count("--speed", optarg, 1, 64, &o->p.speed);
            break;
        case 'P':
            ok = parse_count("--processes", optarg, 1, 64, &o->p.processes);
            break;
        case 'c':
            ok = parse_double("--cache-pct", optarg, 0.1, 100, &o->cache_pct);
            break;
        case 'L':
            ok = parse_count("--max-links", optarg, 2, 60, &o->max_links);
            break;
        case 'C':
            o->cache_root = optarg;
            break;
        case 'w':
            o->workdir_base = optarg;
            break;
        case 'k':
            o->keep = true;
            break;
        case 'o':
            ok = strcmp(optarg, "bench") == 0 || strcmp(optarg, "null") == 0;
            snprintf(o->p.output, sizeof(o->p.output), "%s", optarg);
            if (!ok)
                fprintf(stderr, "chorus-bench swarm: --output wants bench or null, not '%s'\n",
                        optarg);
            break;
        case 'T':
            ok = parse_count("--threadpool", optarg, 1, 1024, &o->p.threadpool);
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!ok)
        return 2;
    if (optind < argc) {
        fprintf(stderr, "chorus-bench swarm: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    o->p.seed = seed;
    if (o->p.rtt_ms == 0 && !o->rate_given)
        o->p.rate_kbit = 0; /* raw loopback */
    unsigned need = (o->p.peers + HOST_MAX_ENGINES - 1) / HOST_MAX_ENGINES;
    if (o->p.processes < need)
        o->p.processes = need;
    if (o->p.processes > o->p.peers)
        o->p.processes = o->p.peers;
    return 0;
}

/* ---- accounts and the service ---- */

static int make_accounts(struct coord *co)
{
    uint8_t raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        fprintf(stderr, "chorus-bench swarm: no random bytes for the password\n");
        return -1;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(co->password + 2 * i, 3, "%02x", raw[i]);
    char *path = xasprintf("%s/%s", co->cat.dir, SVC_ACCOUNTS_NAME);
    struct account_db *db = NULL;
    int rc = account_open(path, &db);
    for (unsigned i = 0; rc == 0 && i < co->o.p.peers; i++) {
        char user[32];
        snprintf(user, sizeof(user), "u%u", i);
        rc = account_add(db, user, co->password, &cheap_scrypt);
        if (rc == ACCOUNT_EEXISTS) /* a new password revokes the last run's devices */
            rc = account_set_password(db, user, co->password, &cheap_scrypt);
    }
    account_close(db);
    if (rc < 0)
        fprintf(stderr, "chorus-bench swarm: cannot set up the accounts in %s: %s\n", path,
                account_strerror(rc));
    free(path);
    return rc < 0 ? -1 : 0;
}

static int start_service(struct coord *co)
{
    char *log_path = xasprintf("%s/service.log", co->workdir);
    int err = 0;
    co->svc_log = clog_new(log_path, CLOG_INFO, &err);
    free(log_path);
    struct svc_config cfg = {.data_dir = co->cat.dir,
                             .listen_addr = "127.0.0.1",
                             .max_clients = co->o.p.peers * 2 + 64,
                             .log = co->svc_log};
    int rc = svc_thread_start(&cfg, &co->svc);
    if (rc < 0) {
        fprintf(stderr, "chorus-bench swarm: cannot start the service: %s\n", svc_strerror(rc));
        return -1;
    }
    co->service_running = true;
    snprintf(co->address, sizeof(co->address), "127.0.0.1:%d", svc_thread_port(co->svc));
    uint8_t key[TLS_KEY_LEN];
    svc_thread_public_key(co->svc, key);
    tls_key_to_hex(key, co->key_hex);
    return 0;
}

/* The service's figures now (zero once it stopped). */
static struct svc_stats service_stats(struct coord *co)
{
    struct svc_stats st = {0};
    if (co->service_running)
        svc_thread_stats(co->svc, &st);
    return st;
}

static void stop_service(struct coord *co, struct svc_stats *final)
{
    if (!co->service_running)
        return;
    svc_thread_stop(co->svc, final);
    co->service_running = false;
}

/* ---- the hosts ---- */

static uint64_t cache_cap(const struct coord *co)
{
    return (uint64_t)((double)co->cat.bytes * co->o.cache_pct / 100.0);
}

static char **host_argv(const struct coord *co, const struct host_proc *hp)
{
    const struct swarm_params *p = &co->o.p;
    char **v = xcalloc(40, sizeof(*v));
    size_t n = 0;
    v[n++] = xstrdup("chorus-bench");
    v[n++] = xstrdup("swarm-host");
#define ARG(name, ...)                                                                             \
    do {                                                                                           \
        v[n++] = xstrdup(name);                                                                    \
        v[n++] = xasprintf(__VA_ARGS__);                                                           \
    } while (0)
    ARG("--workdir", "%s", co->workdir);
    ARG("--catalog", "%s", co->cat.dir);
    ARG("--address", "%s", co->address);
    ARG("--key", "%s", co->key_hex);
    ARG("--first", "%u", hp->first);
    ARG("--count", "%u", hp->count);
    ARG("--seed", "%llu", (unsigned long long)p->seed);
    ARG("--scenario", "%s", swarm_scenario_name(p->scenario));
    ARG("--rtt", "%u", p->rtt_ms);
    ARG("--rate", "%u", p->rate_kbit);
    ARG("--speed", "%u", p->speed);
    ARG("--duration", "%.3f", p->duration_s);
    ARG("--cache-cap", "%llu", (unsigned long long)cache_cap(co));
    ARG("--max-links", "%u", co->o.max_links);
    ARG("--output", "%s", p->output);
    ARG("--threadpool", "%u", p->threadpool);
#undef ARG
    return v;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int spawn_host(struct coord *co, struct host_proc *hp, unsigned k)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        fprintf(stderr, "chorus-bench swarm: pipe: %s\n", strerror(errno));
        return -1;
    }
    char *log = xasprintf("%s/host-%u.log", co->workdir, k);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    setenv("CHORUS_BENCH_PASSWORD", co->password, 1);
    char **argv = host_argv(co, hp);
    int rc = posix_spawn(&hp->pid, "/proc/self/exe", &fa, NULL, argv, environ);
    unsetenv("CHORUS_BENCH_PASSWORD");
    strv_free(argv);
    posix_spawn_file_actions_destroy(&fa);
    free(log);
    close(in[0]);
    close(out[1]);
    hp->to = in[1];
    hp->from = out[0];
    if (rc != 0) {
        fprintf(stderr, "chorus-bench swarm: cannot start an engine host: %s\n", strerror(rc));
        close(hp->to);
        close(hp->from);
        hp->pid = 0;
        hp->eof = true;
        return -1;
    }
    return 0;
}

static int spawn_hosts(struct coord *co)
{
    unsigned n = co->o.p.processes, per = (co->o.p.peers + n - 1) / n, first = 0;
    co->hosts = xcalloc(n, sizeof(*co->hosts));
    for (unsigned k = 0; k < n && first < co->o.p.peers; k++) {
        struct host_proc *hp = &co->hosts[co->nhosts++];
        hp->first = first;
        hp->count = first + per <= co->o.p.peers ? per : co->o.p.peers - first;
        first += hp->count;
        if (spawn_host(co, hp, k) < 0)
            return -1;
    }
    return 0;
}

static void tell_hosts(struct coord *co, const char *line)
{
    for (size_t i = 0; i < co->nhosts; i++)
        if (co->hosts[i].pid > 0 && write(co->hosts[i].to, line, strlen(line)) < 0)
            co->hosts[i].eof = true;
}

/* ---- the hosts' records ---- */

static long long int_of(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static bool bool_of(json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

static void on_play(struct coord *co, json_t *o)
{
    struct swarm_run *run = &co->run;
    if (run->nplays == co->plays_cap) {
        co->plays_cap = co->plays_cap ? 2 * co->plays_cap : 1024;
        run->plays = xrealloc(run->plays, co->plays_cap * sizeof(*run->plays));
    }
    struct swarm_play *p = &run->plays[run->nplays++];
    memset(p, 0, sizeof(*p));
    const char *end = json_string_value(json_object_get(o, "end"));
    p->engine = (unsigned)int_of(o, "engine");
    p->track_id = (uint64_t)int_of(o, "track");
    p->end = !end                          ? MQ_PB_FAILED
             : strcmp(end, "played") == 0  ? MQ_PB_PLAYED
             : strcmp(end, "stopped") == 0 ? MQ_PB_STOPPED
                                           : MQ_PB_FAILED;
    const char *reason = json_string_value(json_object_get(o, "reason"));
    snprintf(p->reason, sizeof(p->reason), "%s", reason ? reason : "");
    p->cache_hit = bool_of(o, "cache_hit");
    p->gapless = bool_of(o, "gapless");
    p->cold_miss = bool_of(o, "cold_miss");
    p->popular = bool_of(o, "popular");
    p->in_album_order = bool_of(o, "album_order");
    p->service_up = co->service_running;
    p->latency_ms = int_of(o, "latency_ms");
    p->played_ms = int_of(o, "played_ms");
    p->underruns = (uint64_t)int_of(o, "underruns");
    p->underrun_ms = (uint64_t)int_of(o, "underrun_ms");
    p->bytes_cache = (uint64_t)int_of(o, "bytes_cache");
    p->bytes_peers = (uint64_t)int_of(o, "bytes_peers");
    p->bytes_service = (uint64_t)int_of(o, "bytes_service");
    p->found_tracker = (uint32_t)int_of(o, "found_tracker");
    p->found_search = (uint32_t)int_of(o, "found_search");
    p->bad_chunks = (uint32_t)int_of(o, "bad_chunks");
}

static void on_engine(struct coord *co, json_t *o)
{
    long long i = int_of(o, "engine");
    if (i < 0 || (size_t)i >= co->run.nengines)
        return;
    struct swarm_engine *e = &co->run.engines[i];
    e->bad = bool_of(o, "bad");
    e->crashed = bool_of(o, "crashed") || bool_of(o, "failed");
    e->restarts = (unsigned)int_of(o, "restarts");
    e->conns_mean = json_number_value(json_object_get(o, "conns_mean"));
    e->conns_max = (unsigned)int_of(o, "conns_max");
    e->slots_mean = json_number_value(json_object_get(o, "slots_mean"));
    e->slots_max = (unsigned)int_of(o, "slots_max");
    e->chunks_rejected = (uint64_t)int_of(o, "chunks_rejected");
    e->peers_banned = (uint64_t)int_of(o, "peers_banned");
    e->chunks_served = (uint64_t)int_of(o, "chunks_served");
    e->busy_replies = (uint64_t)int_of(o, "busy_replies");
    e->uploaded = (uint64_t)int_of(o, "uploaded");
    e->downloaded_peers = (uint64_t)int_of(o, "downloaded_peers");
    e->downloaded_service = (uint64_t)int_of(o, "downloaded_service");
    e->found_tracker = (uint64_t)int_of(o, "found_tracker");
    e->found_search = (uint64_t)int_of(o, "found_search");
    e->corrupt_reads = (uint64_t)int_of(o, "corrupt_reads");
    e->evicted_files = (uint64_t)int_of(o, "evicted_files");
    const char *listen = json_string_value(json_object_get(o, "listen"));
    co->engine_listen[i] = xstrdup(listen ? listen : "");
    co->engine_links[i] = json_incref(json_object_get(o, "links"));
    e->reported = true;
}

static void on_line(struct coord *co, struct host_proc *hp, const char *line)
{
    json_t *o = json_loads(line, 0, NULL);
    const char *ev = json_string_value(json_object_get(o, "ev"));
    if (!ev) {
        add_failure(&co->run, "an engine host sent a line that is not a record: %.80s", line);
    } else if (strcmp(ev, "play") == 0) {
        on_play(co, o);
        if (co->records)
            fprintf(co->records, "%s\n", line);
    } else if (strcmp(ev, "engine") == 0) {
        on_engine(co, o);
    } else if (strcmp(ev, "ready") == 0) {
        hp->ready = true;
    } else if (strcmp(ev, "host") == 0) {
        hp->fds = (unsigned)int_of(o, "fds");
        hp->threads = (unsigned)int_of(o, "threads");
        hp->threadpool = (unsigned)int_of(o, "threadpool");
    } else if (strcmp(ev, "error") == 0) {
        add_failure(&co->run, "%s", json_string_value(json_object_get(o, "text")));
    }
    json_decref(o);
}

static void read_host(struct coord *co, struct host_proc *hp)
{
    ssize_t n = read(hp->from, hp->buf + hp->len, sizeof(hp->buf) - 1 - hp->len);
    if (n <= 0) {
        hp->eof = true;
        return;
    }
    hp->len += (size_t)n;
    hp->buf[hp->len] = '\0';
    char *start = hp->buf, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        on_line(co, hp, start);
        start = nl + 1;
    }
    hp->len -= (size_t)(start - hp->buf);
    memmove(hp->buf, start, hp->len);
    if (hp->len == sizeof(hp->buf) - 1)
        hp->len = 0; /* a line longer than any record: dropped */
}

/* Reads what the hosts say for at most wait_s. */
static void pump(struct coord *co, double wait_s)
{
    struct pollfd pf[64];
    size_t idx[64], n = 0;
    for (size_t i = 0; i < co->nhosts && n < 64; i++)
        if (!co->hosts[i].eof) {
            pf[n] = (struct pollfd){.fd = co->hosts[i].from, .events = POLLIN};
            idx[n++] = i;
        }
    if (n == 0) {
        usleep((useconds_t)(wait_s * 1e6));
        return;
    }
    if (poll(pf, n, (int)(wait_s * 1000)) <= 0)
        return;
    for (size_t k = 0; k < n; k++)
        if (pf[k].revents)
            read_host(co, &co->hosts[idx[k]]);
}

static bool all(struct coord *co, bool ready)
{
    for (size_t i = 0; i < co->nhosts; i++)
        if (ready ? !co->hosts[i].ready && !co->hosts[i].eof : !co->hosts[i].eof)
            return false;
    return true;
}

/* ---- the phases ---- */

static void progress(struct coord *co, const char *phase, double elapsed, double total)
{
    size_t failed = 0;
    for (size_t i = 0; i < co->run.nplays; i++)
        failed += co->run.plays[i].end == MQ_PB_FAILED;
    fprintf(stderr, "%s%s %4.0f/%.0f s  playbacks %zu (failed %zu)%s", isatty(2) ? "\r" : "", phase,
            elapsed, total, co->run.nplays, failed, isatty(2) ? "   " : "\n");
    fflush(stderr);
}

static int warm_up(struct coord *co)
{
    double t0 = mono_s(), next = t0 + 1;
    fprintf(stderr,
            "chorus-bench swarm: warming up %u engines in %zu processes "
            "(caches filled, logins)\n",
            co->o.p.peers, co->nhosts);
    while (!all(co, true) && mono_s() - t0 < WARMUP_LIMIT_S) {
        pump(co, 0.5);
        if (mono_s() >= next && isatty(2)) {
            next += 1;
            progress(co, "warm-up", mono_s() - t0, mono_s() - t0);
        }
    }
    co->run.warmup_s = mono_s() - t0;
    co->warm = service_stats(co);
    co->run.warmup_service_bytes = co->warm.bytes_served;
    if (isatty(2))
        fputc('\n', stderr);
    for (size_t i = 0; i < co->nhosts; i++)
        if (!co->hosts[i].ready) {
            add_failure(&co->run, "engine host %zu never got ready", i);
            return -1;
        }
    return 0;
}

/* service-down: the engines listen with the service for the first
 * SERVICE_DOWN_AT of the run (links made, keys fetched), then it stops. */
static void maybe_stop_service(struct coord *co, double elapsed, struct svc_stats *st)
{
    if (co->o.p.scenario != SWARM_SERVICE_DOWN || !co->service_running ||
        elapsed < SERVICE_DOWN_AT * co->o.p.duration_s)
        return;
    stop_service(co, st);
    fprintf(stderr, "chorus-bench swarm: the service stopped at %.0f s\n", elapsed);
}

static void measured_phase(struct coord *co)
{
    struct svc_stats st = co->warm;
    tell_hosts(co, "go\n");
    double t0 = mono_s(), next = t0, interval = isatty(2) ? 1 : 10;
    while (mono_s() - t0 < co->o.p.duration_s && !all(co, false)) {
        pump(co, 0.25);
        maybe_stop_service(co, mono_s() - t0, &st);
        if (mono_s() >= next) {
            next += interval;
            progress(co, "measuring", mono_s() - t0, co->o.p.duration_s);
        }
    }
    co->run.measured_s = mono_s() - t0;
    if (co->service_running)
        st = service_stats(co);
    co->run.service_bytes = st.bytes_served - co->warm.bytes_served;
    co->run.service_lookups = st.lookups - co->warm.lookups;
    co->run.service_announces = st.announces - co->warm.announces;
    if (isatty(2))
        fputc('\n', stderr);
    tell_hosts(co, "stop\n");
    for (double t1 = mono_s(); !all(co, false) && mono_s() - t1 < STOP_GRACE_S;)
        pump(co, 0.5);
}

static void reap_hosts(struct coord *co)
{
    co->run.hosts = xcalloc(co->nhosts, sizeof(*co->run.hosts));
    co->run.nhosts = co->nhosts;
    for (size_t i = 0; i < co->nhosts; i++) {
        struct host_proc *hp = &co->hosts[i];
        struct swarm_host *h = &co->run.hosts[i];
        h->engines = hp->count;
        h->fds = hp->fds;
        h->threads = hp->threads;
        h->threadpool = hp->threadpool;
        close(hp->to);
        close(hp->from);
        if (hp->pid <= 0) {
            h->exit_status = -1;
            continue;
        }
        if (!hp->eof)
            kill(hp->pid, SIGKILL); /* it did not finish in time */
        int status = 0;
        struct rusage ru = {0};
        while (wait4(hp->pid, &status, 0, &ru) < 0 && errno == EINTR)
            ;
        h->exit_status = status;
        h->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        h->peak_rss_kb = (uint64_t)ru.ru_maxrss;
    }
}

/* ---- checks ---- */

/* Outbound links of good engines to bad ones at the end (a bad peer
 * should be cut off once caught). */
static void count_links_to_bad(struct coord *co)
{
    for (size_t i = 0; i < co->run.nengines; i++) {
        struct swarm_engine *e = &co->run.engines[i];
        json_t *links = co->engine_links[i];
        if (e->bad || !links)
            continue;
        size_t k;
        json_t *a;
        json_array_foreach(links, k, a)
        {
            for (size_t j = 0; j < co->run.nengines; j++)
                if (co->run.engines[j].bad && co->engine_listen[j] &&
                    strcmp(co->engine_listen[j], json_string_value(a)) == 0)
                    e->linked_to_bad++;
        }
    }
}

static void check_plays(struct swarm_run *run)
{
    size_t unexplained = 0, silent = 0;
    for (size_t i = 0; i < run->nplays; i++) {
        const struct swarm_play *p = &run->plays[i];
        if (p->end == MQ_PB_FAILED && !p->reason[0])
            unexplained++;
        if (p->end == MQ_PB_PLAYED && p->bytes_cache + p->bytes_peers + p->bytes_service == 0)
            silent++;
    }
    if (run->nplays == 0)
        add_failure(run, "no playback ended during the measured phase");
    if (unexplained)
        add_failure(run, "%zu playbacks failed without a reason", unexplained);
    if (silent)
        add_failure(run, "%zu playbacks ended played with no byte heard", silent);
}

static void check_engines(struct coord *co)
{
    struct swarm_run *run = &co->run;
    size_t crashed = 0, unreported = 0, corrupt = 0;
    for (size_t i = 0; i < run->nengines; i++) {
        crashed += run->engines[i].crashed;
        unreported += !run->engines[i].reported;
        corrupt += run->engines[i].corrupt_reads;
    }
    if (crashed)
        add_failure(run, "%zu engines stopped on their own or never came up", crashed);
    if (unreported)
        add_failure(run, "%zu engines sent no final record (their host died?)", unreported);
    if (corrupt)
        add_failure(run, "%zu chunks failed the check on read (caught, never played)", corrupt);
    for (size_t i = 0; i < run->nhosts; i++)
        if (run->hosts[i].exit_status != 0)
            add_failure(run, "engine host %zu exited with status %d", i, run->hosts[i].exit_status);
}

static void check_scenario(struct coord *co)
{
    struct swarm_run *run = &co->run;
    if (co->o.p.scenario == SWARM_BAD_PEERS) {
        uint64_t rejected = 0, banned = 0;
        for (size_t i = 0; i < run->nengines; i++) {
            rejected += run->engines[i].chunks_rejected;
            banned += run->engines[i].peers_banned;
        }
        if (rejected && !banned)
            add_failure(run, "corrupt chunks arrived (%llu) but no peer was banned",
                        (unsigned long long)rejected);
    }
}

/* ---- main ---- */

static void describe(struct coord *co)
{
    struct swarm_run *run = &co->run;
    run->p = co->o.p;
    time_t now = time(NULL);
    strftime(run->date, sizeof(run->date), "%Y-%m-%dT%H:%MZ", gmtime(&now));
    if (co->o.p.rtt_ms == 0 && co->o.p.rate_kbit == 0)
        snprintf(run->link, sizeof(run->link), "raw loopback");
    else if (co->o.p.rate_kbit == 0)
        snprintf(run->link, sizeof(run->link), "emulated: %u ms RTT, unlimited rate",
                 co->o.p.rtt_ms);
    else
        snprintf(run->link, sizeof(run->link), "emulated: %u ms RTT, %u kbit/s each way",
                 co->o.p.rtt_ms, co->o.p.rate_kbit);
    run->nengines = co->o.p.peers;
    run->engines = xcalloc(run->nengines, sizeof(*run->engines));
    for (size_t i = 0; i < run->nengines; i++)
        run->engines[i].index = (unsigned)i;
    co->engine_listen = xcalloc(run->nengines, sizeof(*co->engine_listen));
    co->engine_links = xcalloc(run->nengines, sizeof(*co->engine_links));
}

static int lock_catalog(const struct coord *co)
{
    char *path = xasprintf("%s/.bench-lock", co->cat.dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "chorus-bench swarm: %s: %s (another run uses this catalog?)\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    free(path);
    return fd;
}

static void write_json(struct coord *co)
{
    if (!co->o.json_path)
        return;
    json_t *j = swarm_report_json(&co->run);
    if (json_dump_file(j, co->o.json_path, JSON_INDENT(2)) < 0)
        fprintf(stderr, "chorus-bench swarm: cannot write %s\n", co->o.json_path);
    json_decref(j);
}

static void coord_free(struct coord *co)
{
    struct swarm_run *run = &co->run;
    for (size_t i = 0; i < run->nengines; i++) {
        free(co->engine_listen[i]);
        json_decref(co->engine_links[i]);
    }
    free(co->engine_listen);
    free(co->engine_links);
    for (size_t i = 0; i < run->nfailures; i++)
        free(run->failures[i]);
    free(run->failures);
    free(run->plays);
    free(run->engines);
    free(run->hosts);
    free(co->hosts);
    if (!co->o.keep && co->workdir)
        bench_remove_tree(co->workdir);
    else if (co->workdir)
        fprintf(stderr, "chorus-bench swarm: kept %s\n", co->workdir);
    free(co->workdir);
    clog_free(co->svc_log);
    if (co->records)
        fclose(co->records);
    bench_catalog_free(&co->cat);
}

static int run_swarm(struct coord *co)
{
    double t0 = mono_s();
    if (bench_catalog_prepare(co->o.cache_root, co->o.p.tracks, &co->cat) < 0)
        return -1;
    co->run.catalog_s = co->cat.reused ? 0 : mono_s() - t0;
    int lock = lock_catalog(co);
    if (lock < 0)
        return -1;
    co->workdir = bench_make_workdir(co->o.workdir_base, "swarm");
    if (co->o.records_path && !(co->records = fopen(co->o.records_path, "w")))
        fprintf(stderr, "chorus-bench swarm: cannot write %s: %s\n", co->o.records_path,
                strerror(errno));
    int rc = co->workdir && make_accounts(co) == 0 && start_service(co) == 0 ? 0 : -1;
    if (rc == 0 && spawn_hosts(co) == 0 && warm_up(co) == 0)
        measured_phase(co);
    else
        rc = -1;
    tell_hosts(co, "stop\n");
    reap_hosts(co);
    stop_service(co, NULL);
    close(lock);
    return rc;
}

int bench_swarm_main(int argc, char **argv)
{
    struct coord co = {0};
    int rc = parse_options(argc, argv, &co.o);
    if (rc)
        return rc == 1 ? 0 : rc;
    signal(SIGPIPE, SIG_IGN);
    describe(&co);
    if (run_swarm(&co) < 0 && co.run.nfailures == 0)
        add_failure(&co.run, "the run could not start (see above)");
    count_links_to_bad(&co);
    check_plays(&co.run);
    check_engines(&co);
    check_scenario(&co);
    swarm_report_print(stdout, &co.run);
    write_json(&co);
    int status = co.run.nfailures ? 1 : 0;
    coord_free(&co);
    return status;
}
