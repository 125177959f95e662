/* chorusd useradd: adds a user to the service's accounts database (or
 * changes a user's password with --update).
 *
 * The password comes from a prompt with echo off, asked twice, when
 * standard input is a terminal; otherwise it is the first line of standard
 * input (for scripts). It is wiped from memory once hashed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chorusd_commands.h"
#include "base/xmalloc.h"
#include "net/account.h"
#include "password.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorusd useradd [--data-dir DIR] [--update] NAME\n"
                 "\n"
                 "Adds the user NAME to the service's accounts. The password is asked\n"
                 "twice with echo off when standard input is a terminal; otherwise the\n"
                 "first line of standard input is the password.\n"
                 "\n"
                 "  -d, --data-dir DIR  the service's data directory\n"
                 "  -u, --update        change the password of an existing user instead\n"
                 "  -h, --help          this help\n"
                 "\n"
                 "NAME: 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -).\n"
                 "See chorusd(8).\n");
}

/* The password, from the terminal (asked twice) or from stdin; NULL
 * after a message. */
static char *get_password(const char *name)
{
    char *text = xasprintf("Password for %s: ", name);
    char *pw = password_read("chorusd useradd", text, true);
    free(text);
    return pw;
}

int chorusd_useradd_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"update", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *data_opt = NULL;
    bool update = false;
    int c;
    while ((c = getopt_long(argc, argv, "d:uh", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_opt = optarg;
            break;
        case 'u':
            update = true;
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
    int status = chorusd_open_accounts("useradd", data_opt, name, true, &db);
    if (status != 0)
        return status;
    status = 1;
    char *pw = NULL;
    int rc;
    if (!(pw = get_password(name)))
        goto out;
    rc = update ? account_set_password(db, name, pw, NULL) : account_add(db, name, pw, NULL);
    if (rc == ACCOUNT_EDENIED) {
        fprintf(stderr, "chorusd useradd: no user '%s' to update\n", name);
    } else if (rc == ACCOUNT_EEXISTS) {
        fprintf(stderr, "chorusd useradd: user '%s' exists (use --update to change the password)\n",
                name);
    } else if (rc < 0) {
        fprintf(stderr, "chorusd useradd: %s\n", account_strerror(rc));
    } else {
        printf("%s user %s\n", update ? "updated" : "added", name);
        status = 0;
    }
out:
    password_wipe(pw);
    account_close(db);
    return status;
}
