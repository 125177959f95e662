/* chorus-bench import: how fast chorusd import turns music into the store
 * and catalog, as seconds of audio per second of wall time. Sources are
 * synthesized pieces encoded to FLAC beforehand (not timed). Prints the
 * transcoding alone, the whole import (fingerprint, transcode, encrypt,
 * store, catalog), and a re-run that finds everything already imported. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "audio/import.h"
#include "audio/synth.h"
#include "audio/transcode.h"
#include "bench_commands.h"
#include "bench_util.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "base/xmalloc.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorus-bench import [--tracks N] [--seconds S]\n"
                 "\n"
                 "  -n, --tracks N    source files to import (default 6)\n"
                 "  -s, --seconds S   length of each (default 60)\n"
                 "  -h, --help        this help\n");
}

int bench_import_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"tracks", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    long tracks = 6;
    double seconds = 60;
    int c;
    while ((c = getopt_long(argc, argv, "n:s:h", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            tracks = strtol(optarg, NULL, 10);
            break;
        case 's':
            seconds = strtod(optarg, NULL);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (tracks < 1 || tracks > 1000 || !(seconds >= SYNTH_MIN_SECONDS) ||
        seconds > SYNTH_MAX_SECONDS) {
        usage(stderr);
        return 2;
    }
    av_log_set_level(AV_LOG_QUIET);
    char *work = bench_make_workdir(NULL, "import");
    if (!work)
        return 1;
    char *src = paths_join(work, "src"), *data = paths_join(work, "data");
    int status = 1;
    if (fs_mkdir_p(src, 0700) < 0)
        goto out;

    printf("import: %ld FLAC sources of %.0f s, 44.1 kHz stereo (synthesized, not timed)\n", tracks,
           seconds);
    char **files = xcalloc((size_t)tracks, sizeof(char *));
    for (long i = 0; i < tracks; i++) {
        struct synth_song *song = NULL;
        char name[32];
        snprintf(name, sizeof(name), "%02ld.flac", i + 1);
        files[i] = paths_join(src, name);
        if (synth_render((uint64_t)i + 1, seconds, 44100, &song) < 0 ||
            transcode_encode_pcm(song->pcm, song->frames, song->sample_rate, song->channels, NULL,
                                 TRANSCODE_FLAC, files[i]) < 0) {
            fprintf(stderr, "chorus-bench import: cannot make %s\n", files[i]);
            synth_song_free(song);
            goto free_files;
        }
        synth_song_free(song);
    }

    /* 1. Transcoding alone, into memory. */
    double audio = 0, t0 = now_s();
    size_t bytes = 0;
    for (long i = 0; i < tracks; i++) {
        struct transcode_result res;
        if (transcode_to_memory(files[i], &res) < 0) {
            fprintf(stderr, "chorus-bench import: %s: %s\n", files[i], res.error);
            transcode_result_clear(&res);
            goto free_files;
        }
        audio += res.duration;
        bytes += res.size;
        transcode_result_clear(&res);
    }
    double t = now_s() - t0;
    printf("  transcode only:        %7.1f s of audio in %6.2f s = %6.1f s of audio per second "
           "(%.0f kbit/s out)\n",
           audio, t, audio / t, (double)bytes * 8 / audio / 1000);

    /* 2. The whole import into a fresh data directory: one file at a time,
     * then one per CPU (the run kept for the re-run below). */
    struct import_summary sum = {0};
    const char *paths[] = {src};
    struct importer *imp = NULL;
    for (int pass = 0; pass < 2; pass++) {
        char *dir = xasprintf("%s%d", data, pass);
        int ret = import_open(dir, &imp);
        free(dir);
        if (ret < 0) {
            fprintf(stderr, "chorus-bench import: %s: %s\n", data, import_strerror(ret));
            goto free_files;
        }
        import_set_jobs(imp, pass == 0 ? 1 : 0);
        import_run(imp, paths, 1, &sum);
        printf("  full import, %-8s %7.1f s of audio in %6.2f s = %6.1f s of audio per second "
               "(%zu imported, %zu failed)\n",
               pass == 0 ? "1 job:" : "N jobs:", sum.audio_seconds, sum.wall_seconds,
               sum.audio_seconds / sum.wall_seconds, sum.imported, sum.failed);
        if (pass == 0)
            import_free(imp);
    }
    printf("    (N = one per online CPU: %ld here, at most %d)\n", sysconf(_SC_NPROCESSORS_ONLN),
           IMPORT_MAX_JOBS);

    /* 3. Everything already there: the fast path (path, size, mtime). */
    import_run(imp, paths, 1, &sum);
    printf("  re-run:                %zu files skipped in %.4f s = %.0f files per second\n",
           sum.skipped, sum.wall_seconds, (double)sum.skipped / sum.wall_seconds);
    import_free(imp);
    status = sum.failed ? 1 : 0;
free_files:
    for (long i = 0; i < tracks; i++)
        free(files[i]);
    free(files);
out:
    if (bench_remove_tree(work) != 0)
        fprintf(stderr, "chorus-bench import: could not remove %s\n", work);
    free(src);
    free(data);
    free(work);
    return status;
}
