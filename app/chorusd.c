/* chorusd: the service — accounts, catalog, keys, master storage, tracker.
 * A thin main: each subcommand lives in app/chorusd_<name>.c. */
#include "chorusd_commands.h"
#include "cli.h"

static const struct cli_command commands[] = {
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
