/* chorusd import: audio files into the service's catalog and master store
 * (audio/import.h does the work). On a terminal, a progress bar on stderr:
 * files done/total, seconds of audio imported per second, the current
 * file; otherwise one plain line per file on stdout. Failures are one line
 * each on stderr naming the file and the reason; the summary goes to
 * stdout. Exit status 1 when any file failed or the run was interrupted. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "audio/import.h"
#include "chorusd_commands.h"
#include "base/paths.h"
#include "base/xmalloc.h"

char *chorusd_data_dir(const char *option, const char *cmd)
{
    if (option)
        return xstrdup(option);
    int err = 0;
    struct paths *p = paths_new("chorusd", &err);
    if (!p) {
        fprintf(stderr, "chorusd %s: cannot find the data directory: %s (use --data-dir)\n", cmd,
                paths_strerror(err));
        return NULL;
    }
    char *dir = xstrdup(paths_dir(p, PATHS_DATA));
    paths_free(p);
    return dir;
}

/* A signal handler can reach nothing but a global: the importer to stop. */
static struct importer *volatile interrupt_target;

static void on_interrupt(int sig)
{
    (void)sig;
    if (interrupt_target)
        import_cancel(interrupt_target);
}

struct progress {
    const char *cmd;
    bool tty;
    bool bar_shown;
    char current[1024];
};

static void format_duration(double seconds, char *buf, size_t len)
{
    long s = lround(seconds);
    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

static double rate_of(const struct import_summary *s)
{
    return s->wall_seconds > 0 ? s->audio_seconds / s->wall_seconds : 0.0;
}

static void clear_bar(struct progress *p)
{
    if (p->bar_shown) {
        fputs("\r\033[K", stderr);
        p->bar_shown = false;
    }
}

/* [#######-------]  12/40  31.2 s/s  ...Album/03 Title.flac */
static void draw_bar(struct progress *p, const struct import_summary *s)
{
    struct winsize ws;
    int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    size_t done = s->imported + s->skipped + s->failed;
    enum { BAR = 20 };
    char bar[BAR + 1];
    size_t filled = s->found ? done * BAR / s->found : 0;
    for (size_t i = 0; i < BAR; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[BAR] = '\0';
    char head[128];
    int n =
        snprintf(head, sizeof(head), "[%s] %zu/%zu  %.1f s/s  ", bar, done, s->found, rate_of(s));
    int room = cols - 1 - n;
    const char *name = p->current;
    size_t len = strlen(name);
    fprintf(stderr, "\r\033[K%s", head);
    if (room > 3 && (int)len > room)
        fprintf(stderr, "...%s", name + len - (size_t)(room - 3));
    else if (room > 3)
        fputs(name, stderr);
    fflush(stderr);
    p->bar_shown = true;
}

static void on_event(const struct import_event *ev, void *ctx)
{
    struct progress *p = ctx;
    const struct import_summary *s = ev->summary;
    if (ev->kind == IMPORT_EV_FILE_START)
        snprintf(p->current, sizeof(p->current), "%s", ev->path);
    if (ev->kind == IMPORT_EV_FILE_DONE) {
        const struct import_report *r = ev->report;
        if (r->outcome == IMPORT_FAILED) {
            clear_bar(p);
            fprintf(stderr, "chorusd %s: %s: %s\n", p->cmd, r->path, r->reason);
        } else if (!p->tty) {
            char len[32];
            format_duration(r->seconds, len, sizeof(len));
            if (r->outcome == IMPORT_IMPORTED)
                printf("imported %s (%s)\n", r->path, len);
            else
                printf("skipped %s (already imported)\n", r->path);
            fflush(stdout);
        }
    }
    if (p->tty)
        draw_bar(p, s);
}

int chorusd_import_run(const char *data_opt, const char *cmd,
                       int (*run)(struct importer *imp, void *arg, struct import_summary *sum),
                       void *arg)
{
    char *data = chorusd_data_dir(data_opt, cmd);
    if (!data)
        return 1;
    struct importer *imp = NULL;
    int ret = import_open(data, &imp);
    if (ret < 0) {
        fprintf(stderr, "chorusd %s: cannot open the data directory %s: %s\n", cmd, data,
                import_strerror(ret));
        free(data);
        return 1;
    }
    free(data);
    /* Every failure gets our own one-line reason; FFmpeg's chatter would
     * only break the progress display. */
    av_log_set_level(AV_LOG_QUIET);
    struct progress p = {.cmd = cmd, .tty = isatty(STDERR_FILENO)};
    import_set_progress(imp, on_event, &p);

    interrupt_target = imp;
    struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESETHAND};
    struct sigaction old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    struct import_summary sum;
    ret = run(imp, arg, &sum);

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    interrupt_target = NULL;
    clear_bar(&p);
    import_free(imp);
    if (ret < 0 && ret != IMPORT_ECANCELED) {
        fprintf(stderr, "chorusd %s: %s\n", cmd, import_strerror(ret));
        return 1;
    }
    char audio[32];
    format_duration(sum.audio_seconds, audio, sizeof(audio));
    printf("imported %zu, skipped %zu, failed %zu, ignored %zu (of %zu files); "
           "%s of audio in %.1f s: %.1f s of audio per second\n",
           sum.imported, sum.skipped, sum.failed, sum.ignored, sum.found, audio, sum.wall_seconds,
           rate_of(&sum));
    if (sum.canceled)
        fprintf(stderr,
                "chorusd %s: interrupted with %zu files to go; run the same command again to "
                "finish (what is done stays done)\n",
                cmd, sum.found - sum.imported - sum.skipped - sum.failed);
    return sum.failed || sum.canceled ? 1 : 0;
}

struct import_args {
    char **paths;
    size_t n;
    unsigned jobs;
};

static int run_import(struct importer *imp, void *arg, struct import_summary *sum)
{
    struct import_args *a = arg;
    import_set_jobs(imp, a->jobs);
    return import_run(imp, (const char *const *)a->paths, a->n, sum);
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorusd import [--data-dir DIR] [--jobs N] PATH...\n"
                 "\n"
                 "Transcodes every audio file under each PATH (directories recursively) to Ogg\n"
                 "Vorbis, encrypts it into the master store and adds it to the catalog. Files\n"
                 "already imported (same content) are skipped; tags a file lacks come from its\n"
                 "path (Artist/Album/NN Title.ext). Safe to interrupt and re-run.\n"
                 "\n"
                 "  -d, --data-dir DIR  the service's data directory\n"
                 "                      (default: $XDG_DATA_HOME/chorusd)\n"
                 "  -j, --jobs N        files transcoded at once (default: one per CPU)\n"
                 "  -h, --help          this help\n"
                 "\n"
                 "Exit status 1 if any file failed. See chorusd(8).\n");
}

int chorusd_import_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *data_opt = NULL;
    struct import_args args = {0};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "d:j:h", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_opt = optarg;
            break;
        case 'j': {
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > IMPORT_MAX_JOBS) {
                fprintf(stderr, "chorusd import: --jobs wants 1 to %d, not '%s'\n", IMPORT_MAX_JOBS,
                        optarg);
                return 2;
            }
            args.jobs = (unsigned)n;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "chorusd import: no PATH to import\n");
        usage(stderr);
        return 2;
    }
    args.paths = argv + optind;
    args.n = (size_t)(argc - optind);
    return chorusd_import_run(data_opt, "import", run_import, &args);
}
