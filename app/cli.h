/* cli: what the thin mains share — global options (--help, --version) and
 * dispatch to a subcommand table. A subcommand gets argv starting at its
 * own name (getopt ready) and returns the process exit status: 0 success,
 * 1 failure, 2 usage error. */
#ifndef CHORUS_APP_CLI_H
#define CHORUS_APP_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct cli_command {
    const char *name;
    const char *summary; /* one line for --help */
    int (*run)(int argc, char **argv);
};

struct cli_program {
    const char *name;                   /* "chorus" */
    const char *summary;                /* one line under Usage */
    const char *man_page;               /* "chorus(1)" */
    const struct cli_command *commands; /* ends with a {NULL} entry */
    bool config_options;                /* accepts -c/--config FILE and -o KEY=VALUE */
    /* What --headless runs (a global option like -c, in any order among
     * them); NULL: the program has no --headless. */
    int (*headless)(int argc, char **argv);
    /* What the program runs without a command (chorus: the TUI); NULL:
     * the usage, exit status 2. */
    int (*interactive)(int argc, char **argv);
    /* What --demo runs (a global option too; with --headless as well, the
     * demo without a UI: headless is true); NULL: the program has no
     * --demo. */
    int (*demo)(int argc, char **argv, bool headless);
};

/* The global configuration options given before the subcommand, for the
 * subcommands of a program with config_options. */
struct cli_config_options {
    const char *config_path; /* -c/--config, or NULL for the default file */
    const char **overrides;  /* -o values in order ("section.key=value") */
    int override_count;
};

/* Parses the global options and runs the subcommand. Returns the exit
 * status for main. */
int cli_run(const struct cli_program *prog, int argc, char **argv);

/* The options cli_run parsed. Valid until main returns; the parsed command
 * line is the one piece of process-wide state a main has. */
const struct cli_config_options *cli_config(void);

/* Finds name in the table, or NULL. */
const struct cli_command *cli_find(const struct cli_command *table, const char *name);

#endif
