/* Entry points of chorusd's subcommands, one per app/chorusd_<name>.c,
 * listed in the table in app/chorusd.c. Each gets argv from its own name
 * on and returns the exit status (0 ok, 1 failure, 2 usage). */
#ifndef CHORUS_APP_CHORUSD_COMMANDS_H
#define CHORUS_APP_CHORUSD_COMMANDS_H

#endif
