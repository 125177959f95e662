/* chorusd demo-library: a synthesized library — several albums by several
 * invented artists, each track a distinct generated piece — imported
 * through the same path as chorusd import (audio/import.h). The same seed
 * gives the same library, so running it twice adds nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/import.h"
#include "audio/synth.h"
#include "chorusd_commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chorusd demo-library [--data-dir DIR] [--tracks N] [--seconds MIN[-MAX]]\n"
            "                            [--seed N]\n"
            "\n"
            "Synthesizes a library of generated music with invented artists, albums and\n"
            "titles, and imports it like chorusd import.\n"
            "\n"
            "  -d, --data-dir DIR     the service's data directory\n"
            "                         (default: $XDG_DATA_HOME/chorusd)\n"
            "  -n, --tracks N         how many tracks (default %d)\n"
            "  -s, --seconds MIN[-MAX]  track lengths in seconds (default %.0f-%.0f)\n"
            "  -S, --seed N           which library (default 1)\n"
            "  -h, --help             this help\n"
            "\n"
            "See chorusd(8).\n",
            IMPORT_DEMO_TRACKS, IMPORT_DEMO_MIN_SECONDS, IMPORT_DEMO_MAX_SECONDS);
}

static int run_demo(struct importer *imp, void *arg, struct import_summary *sum)
{
    return import_demo_library(imp, arg, sum);
}

/* "90" or "30-180". */
static bool parse_seconds(const char *s, double *min, double *max)
{
    char *end;
    errno = 0;
    *min = strtod(s, &end);
    *max = *min;
    if (end != s && *end == '-') {
        const char *rest = end + 1;
        *max = strtod(rest, &end);
        if (end == rest)
            return false;
    }
    return end != s && *end == '\0' && errno == 0 && *min >= SYNTH_MIN_SECONDS && *max >= *min &&
           *max <= SYNTH_MAX_SECONDS;
}

int chorusd_demo_library_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'}, {"tracks", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},  {"seed", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},           {0},
    };
    const char *data_opt = NULL;
    struct import_demo_options opt = {.tracks = IMPORT_DEMO_TRACKS,
                                      .min_seconds = IMPORT_DEMO_MIN_SECONDS,
                                      .max_seconds = IMPORT_DEMO_MAX_SECONDS,
                                      .seed = 1};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "d:n:s:S:h", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_opt = optarg;
            break;
        case 'n': {
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > 1000) {
                fprintf(stderr, "chorusd demo-library: --tracks wants 1 to 1000, not '%s'\n",
                        optarg);
                return 2;
            }
            opt.tracks = (unsigned)n;
            break;
        }
        case 's':
            if (!parse_seconds(optarg, &opt.min_seconds, &opt.max_seconds)) {
                fprintf(stderr,
                        "chorusd demo-library: --seconds wants MIN or MIN-MAX between %.0f and "
                        "%.0f, not '%s'\n",
                        SYNTH_MIN_SECONDS, SYNTH_MAX_SECONDS, optarg);
                return 2;
            }
            break;
        case 'S':
            opt.seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end) {
                fprintf(stderr, "chorusd demo-library: --seed wants a number, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chorusd demo-library: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return chorusd_import_run(data_opt, "demo-library", run_demo, &opt);
}
