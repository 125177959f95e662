/* chorusd: the service — accounts, catalog, keys, master storage, tracker.
 * A thin main: each subcommand lives in app/chorusd_<name>.c. */
#include "chorusd_commands.h"
#include "cli.h"

static const struct cli_command commands[] = {
    {"import", "import audio files into the catalog and master store", chorusd_import_main},
    {"catalog", "list or search the catalog", chorusd_catalog_main},
    {"demo-library", "synthesize and import a demo library", chorusd_demo_library_main},
    {"serve", "serve players: login, catalog, files, keys and tracker", chorusd_serve_main},
    {"useradd", "add a user (or change a password) for logging in", chorusd_useradd_main},
    {"revoke", "end every ticket and device credential of a user", chorusd_revoke_main},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    static const struct cli_program prog = {
        .name = "chorusd",
        .summary = "The Chorus service: catalog, master storage, login and tracker.",
        .man_page = "chorusd(8)",
        .commands = commands,
    };
    return cli_run(&prog, argc, argv);
}
