/* Entry points of chorusd's subcommands, one per app/chorusd_<name>.c,
 * listed in the table in app/chorusd.c. Each gets argv from its own name
 * on and returns the exit status (0 ok, 1 failure, 2 usage). */
#ifndef CHORUS_APP_CHORUSD_COMMANDS_H
#define CHORUS_APP_CHORUSD_COMMANDS_H

#include <stdbool.h>

int chorusd_import_main(int argc, char **argv);
int chorusd_catalog_main(int argc, char **argv);
int chorusd_demo_library_main(int argc, char **argv);
int chorusd_serve_main(int argc, char **argv);
int chorusd_useradd_main(int argc, char **argv);
int chorusd_revoke_main(int argc, char **argv);

/* For useradd and revoke (chorusd_accounts.c): checks name, finds the data
 * directory (data_opt as for chorusd_data_dir; made 0700 when create) and
 * opens its accounts.db (without create, a missing one is an error, not
 * made). Returns 0 with *db set (the caller closes it), or the exit status
 * (2 a bad name, 1 otherwise) after a message naming cmd on stderr. */
struct account_db;
int chorusd_open_accounts(const char *cmd, const char *data_opt, const char *name, bool create,
                          struct account_db **db);

/* Shared by import, catalog and demo-library (defined in chorusd_import.c). */
struct importer;
struct import_summary;
/* option (--data-dir) if not NULL, else $XDG_DATA_HOME/chorusd; owned by
 * the caller. NULL, with a message naming cmd on stderr, on failure. */
char *chorusd_data_dir(const char *option, const char *cmd);
/* Opens the importer on the data directory (data_opt as for
 * chorusd_data_dir) and runs run(imp, arg, sum) with chorusd import's
 * progress display (a bar on a terminal, else a line per file), Ctrl-C
 * handling and summary. Returns the exit status: 1 if anything failed or
 * the run was interrupted. */
int chorusd_import_run(const char *data_opt, const char *cmd,
                       int (*run)(struct importer *imp, void *arg, struct import_summary *sum),
                       void *arg);

#endif
