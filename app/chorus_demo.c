/* chorus --demo: the player on a live local swarm, offline, with no
 * set-up and nothing of the user's touched (chorus(1), DEMO; the parts
 * are listed in app/chorus_demo.h).
 *
 * In order: the demo directory and the generated library (made once),
 * chorusd's service on a thread of this process (127.0.0.1, a free
 * port), the demo user with this run's password, the background peers
 * (chorus_demo_peers.c), then the user's engine — settings from the
 * defaults, the demo's choices and the command line's -c/-o only, its
 * files under DIR/user, the default remote socket when no engine holds it
 * — with the library queued, not playing. Then the TUI (--demo) or, with
 * --headless, nothing until SIGINT, SIGTERM or SIGHUP. Teardown: the
 * peers, the user's engine (its state saved), the service; no thread
 * outlives it.
 *
 * Signals: blocked in every thread from the start (they inherit the
 * mask); the main thread takes them with sigtimedwait while it waits for
 * the library, the peers and the engine, and hands them to the TUI while
 * it runs. Exit status: 0 stopped (by a signal too, even during set-up),
 * 1 failed, 2 bad options, 3 another demo runs on this directory. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audio/sink.h"
#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "chorus_commands.h"
#include "chorus_demo.h"
#include "chorus_env.h"
#include "chorus_login.h"
#include "cli.h"
#include "core/errors.h"
#include "core/remote.h"
#include "password.h"

#define WHO              "--demo"
#define MOD              "demo"
#define TICK_MS          200
#define ONLINE_MS        30000
#define INTERRUPTED      (-1) /* a signal stopped the set-up: not a failure */
#define LIBRARY_PLAYLIST "Demo library"
#define LOCK_NAME        ".lock"

struct demo {
    struct demo_options opt;
    sigset_t stop_signals; /* INT, TERM, HUP */
    sigset_t blocked;      /* those and WINCH: the TUI's, taken by the main thread only */
    char *service_dir, *user_dir;
    struct demo_library lib;
    struct demo_service svc;
    char *password;
    struct chorus_env env; /* the user's engine: rooted under DIR/user */
    struct demo_swarm *swarm;
    struct demo_engine *user;
    char *socket; /* the user's engine's remote socket; "" none */
    char *notes;  /* for the banner: no socket, no sound device */
    char *banner;
    int lock_fd;     /* DIR/.lock, flock'ed; -1 */
    int real_stderr; /* the TUI demo: stderr before chatter went to DIR/chorus.stderr; -1 */
};

/* ---- signals ---- */

static void block_signals(struct demo *d)
{
    sigemptyset(&d->stop_signals);
    sigaddset(&d->stop_signals, SIGINT);
    sigaddset(&d->stop_signals, SIGTERM);
    sigaddset(&d->stop_signals, SIGHUP);
    d->blocked = d->stop_signals;
    sigaddset(&d->blocked, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &d->blocked, NULL);
}

/* Waits up to ms for a stop signal; true when one came. */
static bool signalled(struct demo *d, int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    int sig = sigtimedwait(&d->stop_signals, NULL, &t);
    if (sig > 0)
        clog_info(d->env.log, MOD, "stopping on signal %d", sig);
    return sig > 0;
}

/* ---- notes for the banner ---- */

/* Takes note (owned) after the others. */
static void add_note(struct demo *d, char *note)
{
    if (d->notes) {
        char *all = xasprintf("%s; %s", d->notes, note);
        free(d->notes);
        free(note);
        note = all;
    }
    d->notes = note;
}

/* ---- the library, made on a thread while signals are watched ---- */

struct library_job {
    struct demo *d;
    atomic_bool interrupted, done;
    int status;
};

static void *library_thread(void *arg)
{
    struct library_job *job = arg;
    job->status = demo_library_make(job->d->service_dir, &job->d->opt, &job->interrupted);
    atomic_store(&job->done, true);
    return NULL;
}

static int make_library(struct demo *d)
{
    struct library_job job = {.d = d};
    pthread_t t;
    if (pthread_create(&t, NULL, library_thread, &job) != 0) {
        fprintf(stderr, "chorus: cannot start a thread\n");
        return 1;
    }
    while (!atomic_load(&job.done))
        if (signalled(d, TICK_MS))
            atomic_store(&job.interrupted, true);
    pthread_join(t, NULL);
    if (atomic_load(&job.interrupted))
        return INTERRUPTED;
    return job.status < 0 ? 1 : 0;
}

/* ---- the directory, the service, the user's settings ---- */

/* One demo per directory: an flock held until the process ends. */
static int lock_dir(struct demo *d)
{
    char *path = xasprintf("%s/%s", d->opt.dir, LOCK_NAME);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int status = 0;
    if (d->lock_fd < 0) {
        fprintf(stderr, "chorus: cannot open %s: %s\n", path, strerror(errno));
        status = 1;
    } else if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "chorus: a demo already runs in %s\n", d->opt.dir);
        status = 3;
    }
    free(path);
    return status;
}

/* The demo directory (locked), and the log in it. */
static int make_dirs(struct demo *d)
{
    int rc = fs_mkdir_p(d->service_dir, 0700);
    if (rc < 0) {
        fprintf(stderr, "chorus: cannot make the demo directory %s: %s\n", d->service_dir,
                fs_strerror(rc));
        return 1;
    }
    if ((rc = lock_dir(d)) != 0)
        return rc;
    char *path = xasprintf("%s/chorus.log", d->opt.dir);
    struct chorus_env *env = &d->env;
    env->log = clog_new(path, env->settings.log_level, &rc);
    if (!env->log)
        fprintf(stderr, "chorus: cannot open the log %s: %s (going on without it)\n", path,
                clog_strerror(rc));
    clog_set_rotation(env->log, env->settings.log_max_size, (unsigned)env->settings.log_keep);
    free(path);
    return 0;
}

static int set_choice(struct demo *d, char *option)
{
    int rc = chorus_env_set(&d->env, WHO, option);
    free(option);
    return rc;
}

/* The user's settings: the defaults, the demo's choices, then -c FILE (an
 * explicit one: the default chorus.conf is never read) and each -o. The
 * service's address and key come once it runs (service_choices). */
static int user_settings(struct demo *d)
{
    const struct cli_config_options *opts = cli_config();
    int rc = set_choice(d, xstrdup("p2p.listen=127.0.0.1:0"));
    if (rc == 0)
        rc = set_choice(d, xasprintf("service.user=%s", DEMO_USER));
    if (rc == 0 && opts->config_path) {
        char *why = NULL;
        if (settings_load(&d->env.settings, d->env.paths, opts->config_path, &why) != 0) {
            fprintf(stderr, "chorus %s: %s\n", WHO, why ? why : opts->config_path);
            rc = 2;
        }
        free(why);
    }
    for (int i = 0; rc == 0 && i < opts->override_count; i++)
        rc = chorus_env_set(&d->env, WHO, opts->overrides[i]);
    return rc;
}

/* The demo's service, unless the command line named another. */
static void service_choices(struct demo *d)
{
    if (!d->env.settings.service_address)
        set_choice(d, xasprintf("service.address=%s", d->svc.address));
    if (!d->env.settings.service_key)
        set_choice(d, xasprintf("service.key=%s", d->svc.key_hex));
}

/* The user's env but its log: paths under DIR/user, the settings. Makes
 * nothing on disk, so a bad option costs nothing. */
static int open_env(struct demo *d)
{
    struct chorus_env *env = &d->env;
    settings_init(&env->settings);
    d->service_dir = xasprintf("%s/service", d->opt.dir);
    d->user_dir = xasprintf("%s/user", d->opt.dir);
    int err = 0;
    env->paths = paths_new_rooted(d->user_dir, "chorus", &err);
    if (!env->paths) {
        fprintf(stderr, "chorus: %s: %s\n", d->user_dir, paths_strerror(err));
        return 1;
    }
    return user_settings(d);
}

static int start_service(struct demo *d)
{
    if (!(d->password = demo_user_password(d->service_dir)))
        return 1;
    char *log = xasprintf("%s/service.log", d->opt.dir);
    int rc = demo_service_start(d->service_dir, log, &d->svc);
    free(log);
    return rc < 0 ? 1 : 0;
}

static int prepare(struct demo *d)
{
    int status = open_env(d);
    if (status == 0)
        status = make_dirs(d);
    if (status == 0)
        status = make_library(d);
    if (status == 0 && demo_library_read(d->service_dir, &d->opt, &d->lib) < 0)
        status = 1;
    if (status == 0)
        status = start_service(d);
    if (status == 0) {
        service_choices(d);
        clog_info(d->env.log, MOD, "demo in %s: service %s, %zu tracks on %zu albums, %u peers",
                  d->opt.dir, d->svc.address, d->lib.ntracks, d->lib.nalbums, d->opt.peers);
    }
    return status;
}

/* ---- the background peers ---- */

static int start_peers(struct demo *d)
{
    struct demo_swarm_config cfg = {.dir = d->opt.dir,
                                    .npeers = d->opt.peers,
                                    .lib = &d->lib,
                                    .address = d->svc.address,
                                    .key_hex = d->svc.key_hex,
                                    .password = d->password,
                                    .env = &d->env};
    if (!(d->swarm = demo_swarm_start(&cfg)))
        return 1;
    while (!demo_swarm_ready(d->swarm))
        if (signalled(d, TICK_MS))
            return INTERRUPTED;
    return 0;
}

/* ---- the user's engine ---- */

/* With the default output and no usable device, the null output, and a
 * note saying so (the engine would fall back alone, but silently). */
static void choose_output(struct demo *d)
{
    const char *spec = d->env.settings.audio_output;
    if (spec && *spec && strncmp(spec, "portaudio", 9) != 0)
        return;
    struct aout_config oc = {.spec = spec, .fallback = true, .log = d->env.log};
    struct aout *ao = NULL;
    if (aout_open(&oc, &ao) < 0)
        return; /* engine_new says why */
    if (aout_notice(ao)) {
        add_note(d, xstrdup(aout_notice(ao)));
        chorus_env_set(&d->env, WHO, "audio.output=null");
    }
    aout_free(ao);
}

static bool socket_answers(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return false;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool answers = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return answers;
}

/* The remote socket: remote.socket, else the default, unless an engine
 * answers there already. */
static void choose_socket(struct demo *d)
{
    char *path = remote_default_path(d->env.settings.remote_socket);
    if (socket_answers(path)) {
        add_note(d, xasprintf("no remote socket: another engine holds %s", path));
        free(path);
        path = xstrdup("");
    }
    d->socket = path;
}

static int open_user_engine(struct demo *d)
{
    struct engine_config cfg = {.settings = &d->env.settings,
                                .paths = d->env.paths,
                                .remote_socket = d->socket,
                                .log = d->env.log,
                                .link_rtt_ms = DEMO_LINK_RTT_MS,
                                .link_rate = DEMO_USER_RATE};
    int rc = 0;
    char *error = NULL;
    d->user = demo_engine_new(&cfg, &rc, &error);
    if (!d->user && *d->socket) {
        /* the socket could not be bound: the demo goes on without it */
        add_note(d, xasprintf("no remote socket: %s", error ? error : chorus_strerror(rc)));
        free(error);
        error = NULL;
        free(d->socket);
        cfg.remote_socket = d->socket = xstrdup("");
        d->user = demo_engine_new(&cfg, &rc, &error);
    }
    if (!d->user)
        fprintf(stderr, "chorus: %s\n", error ? error : chorus_strerror(rc));
    free(error);
    return d->user ? 0 : rc == ENGINE_ERUNNING ? 3 : 1;
}

/* The library as a playlist, loaded into the queue: the cursor on its
 * first track, so resume (the TUI's c) plays it. */
static int load_library(struct demo *d)
{
    int rc = demo_engine_run(d->user, "playlist create '" LIBRARY_PLAYLIST "'");
    if (rc == 0)
        rc = demo_engine_run(d->user, "playlist add '" LIBRARY_PLAYLIST "' --all");
    if (rc == 0 || rc == CMD_EEXISTS) /* kept from a last run, maybe edited: as it is */
        rc = demo_engine_run(d->user, "playlist load '" LIBRARY_PLAYLIST "'");
    if (rc < 0)
        fprintf(stderr, "chorus: the demo's engine cannot queue the library: %s\n",
                chorus_strerror(rc));
    return rc < 0 ? 1 : 0;
}

/* Waits for the service link, then queues the library unless the queue
 * of the last run is there: ready, not playing. */
static int queue_library(struct demo *d)
{
    for (int waited = 0;; waited += TICK_MS) {
        json_t *st = demo_engine_status(d->user);
        bool online = st && strcmp(demo_json_str(st, "service"), "online") == 0;
        long long queued = demo_json_int(st, "queue", "length");
        json_decref(st);
        if (online)
            return queued > 0 ? 0 : load_library(d);
        if (waited >= ONLINE_MS) {
            fprintf(stderr, "chorus: the demo's engine did not reach its service at %s\n",
                    d->svc.address);
            return 1;
        }
        if (signalled(d, TICK_MS))
            return INTERRUPTED;
    }
}

static int start_user(struct demo *d)
{
    char *error = NULL;
    const char *address = d->env.settings.service_address; /* the demo's, unless -o said */
    if (chorus_login_device(&d->env, NULL, address, DEMO_USER, d->password, "demo", &error) < 0) {
        fprintf(stderr, "chorus: the demo's engine cannot log in: %s\n", error);
        free(error);
        return 1;
    }
    choose_output(d);
    choose_socket(d);
    int status = open_user_engine(d);
    return status == 0 ? queue_library(d) : status;
}

static void make_banner(struct demo *d)
{
    unsigned n = demo_swarm_running(d->swarm);
    char *def = remote_default_path(NULL);
    char *remote = !*d->socket ? NULL
                   : strcmp(d->socket, def) == 0
                       ? xstrdup("chorus remote status --json")
                       : xasprintf("chorus remote -S %s status --json", d->socket);
    char *works = remote ? xasprintf("; %s works beside it", remote) : xstrdup("");
    d->banner = xasprintf("demo: %u peer%s on 127.0.0.1, service %s, library in %s%s%s%s", n,
                          n == 1 ? "" : "s", d->svc.address, d->opt.dir, works,
                          d->notes ? "; " : "", d->notes ? d->notes : "");
    free(works);
    free(remote);
    free(def);
}

/* ---- running ---- */

static int run_headless(struct demo *d)
{
    struct engine *e = demo_engine_handle(d->user);
    fprintf(stderr, "chorus: %s\n", d->banner);
    fprintf(stderr, "chorus: demo running; remote socket %s, log %s; SIGINT or SIGTERM stops it\n",
            *d->socket ? d->socket : "(none)",
            clog_path(d->env.log) ? clog_path(d->env.log) : "(none)");
    while (!engine_stopped(e))
        if (signalled(d, TICK_MS))
            break;
    return 0;
}

static int run_tui(struct demo *d)
{
    char *history = NULL;
    if (paths_ensure(d->env.paths, PATHS_STATE) == 0)
        history = paths_file(d->env.paths, PATHS_STATE, "history");
    pthread_sigmask(SIG_UNBLOCK, &d->blocked, NULL);
    int err_fd = d->real_stderr > 0 ? d->real_stderr : STDERR_FILENO;
    int status = demo_tui_run(demo_engine_handle(d->user), &d->env.settings, history, d->banner,
                              d->env.log, err_fd);
    pthread_sigmask(SIG_BLOCK, &d->blocked, NULL);
    free(history);
    return status;
}

static void teardown(struct demo *d)
{
    demo_swarm_stop(d->swarm); /* first: it watches the user's engine */
    demo_engine_free(d->user);
    demo_service_stop(&d->svc);
    if (d->env.paths)
        clog_info(d->env.log, MOD, "stopped");
    chorus_env_close(&d->env);
    password_wipe(d->password);
    demo_library_free(&d->lib);
    demo_options_free(&d->opt);
    free(d->service_dir);
    free(d->user_dir);
    free(d->socket);
    free(d->notes);
    free(d->banner);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
}

int chorus_demo_main(int argc, char **argv, bool headless)
{
    (void)argc;
    (void)argv;
    struct demo d = {.lock_fd = -1, .real_stderr = -1};
    int status = demo_options_read(&d.opt);
    if (status != 0) {
        demo_options_free(&d.opt);
        return status;
    }
    block_signals(&d);
    status = prepare(&d);
    if (status == 0)
        status = start_peers(&d);
    /* The user's engine opens the sound device: from here until the TUI
     * has ended, what libraries print goes to a file, not on the screen. */
    char *chatter = headless ? NULL : xasprintf("%s/chorus.stderr", d.opt.dir);
    if (status == 0 && chatter)
        d.real_stderr = demo_tui_quiet_stderr(chatter);
    if (status == 0)
        status = start_user(&d);
    if (status == 0) {
        make_banner(&d);
        clog_info(d.env.log, MOD, "%s", d.banner);
        demo_swarm_watch(d.swarm, d.user);
        status = headless ? run_headless(&d) : run_tui(&d);
    }
    demo_tui_restore_stderr(d.real_stderr);
    if (status == INTERRUPTED)
        fprintf(stderr, "chorus: demo stopped\n");
    else if (status != 0 && d.real_stderr > 0)
        fprintf(stderr, "chorus: the demo stopped on an error: see %s and %s/chorus.log\n", chatter,
                d.opt.dir);
    free(chatter);
    teardown(&d);
    return status == INTERRUPTED ? 0 : status;
}
