/* chorusd revoke: ends every ticket and device credential a user holds
 * now, without changing the password (a lost or stolen device).
 *
 * It moves the user's credential generation on in the accounts database
 * (net/account.h); a running service refuses the older tickets at their
 * next check and closes the user's connections within its re-check
 * interval. Works beside a running service: SQLite in WAL mode with a
 * busy timeout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "chorusd_commands.h"
#include "base/xmalloc.h"
#include "net/account.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorusd revoke [--data-dir DIR] NAME\n"
                 "\n"
                 "Revokes every ticket and device credential of the user NAME: each\n"
                 "of its devices must log in again with the password. The password\n"
                 "is unchanged.\n"
                 "\n"
                 "  -d, --data-dir DIR  the service's data directory\n"
                 "  -h, --help          this help\n"
                 "\n"
                 "See chorusd(8).\n");
}

int chorusd_revoke_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *data_opt = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_opt = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[optind];
    struct account_db *db;
    int status = chorusd_open_accounts("revoke", data_opt, name, false, &db);
    if (status != 0)
        return status;
    uint32_t gen = 0;
    int rc = account_revoke(db, name, &gen);
    status = 1;
    if (rc == ACCOUNT_EDENIED)
        fprintf(stderr, "chorusd revoke: no user '%s'\n", name);
    else if (rc < 0)
        fprintf(stderr, "chorusd revoke: %s\n", account_strerror(rc));
    else {
        printf("revoked the credentials of %s (generation %u)\n", name, (unsigned)gen);
        status = 0;
    }
    account_close(db);
    return status;
}
