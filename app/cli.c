/* cli: global options and subcommand dispatch shared by the mains. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

#include "core/version.h"

const struct cli_command *cli_find(const struct cli_command *table, const char *name)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

static void usage(const struct cli_program *prog, FILE *out)
{
    fprintf(out, "Usage: %s [--help] [--version] COMMAND [ARGS...]\n\n%s\n\nCommands:\n",
            prog->name, prog->summary);
    for (const struct cli_command *c = prog->commands; c->name; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fprintf(out, "\nRun '%s COMMAND --help' for a command's options; see %s.\n", prog->name,
            prog->man_page);
}

int cli_run(const struct cli_program *prog, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
    };
    int c;
    /* '+' stops at the first non-option: the subcommand parses the rest. */
    while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
        switch (c) {
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
    if (optind >= argc) {
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
