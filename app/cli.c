/* cli: global options and subcommand dispatch shared by the mains. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/version.h"
#include "base/xmalloc.h"

/* The command line belongs to the process: one parse per run of main. */
static struct cli_config_options parsed_config;

const struct cli_config_options *cli_config(void)
{
    return &parsed_config;
}

const struct cli_command *cli_find(const struct cli_command *table, const char *name)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

static void usage(const struct cli_program *prog, FILE *out)
{
    fprintf(out, "Usage: %s [--help] [--version]%s COMMAND [ARGS...]\n", prog->name,
            prog->config_options ? " [-c FILE] [-o KEY=VALUE]..." : "");
    if (prog->interactive)
        fprintf(out, "       %s [-c FILE] [-o KEY=VALUE]...             (no command: the TUI)\n",
                prog->name);
    if (prog->headless)
        fprintf(out, "       %s [-c FILE] [-o KEY=VALUE]... --headless\n", prog->name);
    if (prog->demo)
        fprintf(out, "       %s [-c FILE] [-o KEY=VALUE]... --demo [--headless]\n", prog->name);
    fprintf(out, "\n%s\n\n", prog->summary);
    if (prog->config_options)
        fprintf(out,
                "Options:\n"
                "  -c, --config FILE   read FILE instead of the default configuration file\n"
                "  -o KEY=VALUE        set one option after the file, e.g. -o log.level=debug\n"
                "%s%s\n",
                prog->headless ? "      --headless      run the engine without a UI (chorus remote "
                                 "drives it)\n"
                               : "",
                prog->demo ? "      --demo          the player on a local swarm with a generated "
                             "library, offline\n"
                           : "");
    fprintf(out, "Commands:\n");
    for (const struct cli_command *c = prog->commands; c->name; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fprintf(out, "\nRun '%s COMMAND --help' for a command's options; see %s.\n", prog->name,
            prog->man_page);
}

int cli_run(const struct cli_program *prog, int argc, char **argv)
{
    static const struct option with_config[] = {
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {"config", required_argument, NULL, 'c'}, {"headless", no_argument, NULL, 'H'},
        {"demo", no_argument, NULL, 'D'},         {0},
    };
    static const struct option without_config[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
    };
    /* '+' stops at the first non-option: the subcommand parses the rest. */
    const char *optstring = prog->config_options ? "+hVc:o:" : "+hV";
    const struct option *longopts = prog->config_options ? with_config : without_config;
    int c;
    bool headless = false, demo = false;
    while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            if (!prog->headless) {
                usage(prog, stderr);
                return 2;
            }
            headless = true;
            break;
        case 'D':
            if (!prog->demo) {
                usage(prog, stderr);
                return 2;
            }
            demo = true;
            break;
        case 'c':
            parsed_config.config_path = optarg;
            break;
        case 'o':
            parsed_config.overrides =
                xrealloc(parsed_config.overrides,
                         sizeof(char *) * (size_t)(parsed_config.override_count + 1));
            parsed_config.overrides[parsed_config.override_count++] = optarg;
            break;
        case 'h':
            usage(prog, stdout);
            return 0;
        case 'V':
            printf("%s %s\n", prog->name, CHORUS_VERSION);
            return 0;
        default:
            usage(prog, stderr);
            return 2;
        }
    }
    if (demo || headless) {
        if (optind < argc) {
            fprintf(stderr, "%s: %s runs the engine and takes no command ('%s')\n", prog->name,
                    demo ? "--demo" : "--headless", argv[optind]);
            return 2;
        }
        argv += optind - 1;
        optind = 0;
        return demo ? prog->demo(1, argv, headless) : prog->headless(1, argv);
    }
    if (optind >= argc) {
        if (prog->interactive) {
            argv += optind - 1;
            optind = 0;
            return prog->interactive(1, argv);
        }
        usage(prog, stderr);
        return 2;
    }
    const struct cli_command *cmd = cli_find(prog->commands, argv[optind]);
    if (!cmd) {
        fprintf(stderr, "%s: unknown command '%s' (try '%s --help')\n", prog->name, argv[optind],
                prog->name);
        return 2;
    }
    argc -= optind;
    argv += optind;
    optind = 0; /* glibc: 0 re-initialises getopt for the subcommand */
    return cmd->run(argc, argv);
}
