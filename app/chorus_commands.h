/* Entry points of chorus's subcommands, one per app/chorus_<name>.c,
 * listed in the table in app/chorus.c. Each gets argv from its own name
 * on and returns the exit status (0 ok, 1 failure, 2 usage). */
#ifndef CHORUS_APP_CHORUS_COMMANDS_H
#define CHORUS_APP_CHORUS_COMMANDS_H

#include <stdbool.h>

int chorus_cache_main(int argc, char **argv);
int chorus_play_main(int argc, char **argv);
int chorus_login_main(int argc, char **argv);
int chorus_logout_main(int argc, char **argv);
int chorus_remote_main(int argc, char **argv);
/* Not subcommands: what --headless and --demo run (argv as for a
 * subcommand); --demo --headless runs the demo without a UI. */
int chorus_headless_main(int argc, char **argv);
/* Not a subcommand: what chorus without one runs (the TUI). */
int chorus_tui_main(int argc, char **argv);
int chorus_demo_main(int argc, char **argv, bool headless);

#endif
