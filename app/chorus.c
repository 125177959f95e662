/* chorus: the player. A thin main: each subcommand lives in
 * app/chorus_<name>.c. */
#include "chorus_commands.h"
#include "cli.h"

static const struct cli_command commands[] = {
    {"cache", "show, check or clear the chunk cache", chorus_cache_main},
    {"login", "log in once; this device keeps a credential", chorus_login_main},
    {"logout", "forget (and revoke) this device's credential", chorus_logout_main},
    {"play", "log in, find tracks and play them (headless)", chorus_play_main},
    {"remote", "drive a running engine: chorus remote status --json", chorus_remote_main},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    static const struct cli_program prog = {
        .name = "chorus",
        .summary = "A terminal music player that streams from a swarm of peers.",
        .man_page = "chorus(1)",
        .commands = commands,
        .config_options = true,
        .headless = chorus_headless_main,
        .interactive = chorus_tui_main,
        .demo = chorus_demo_main,
    };
    return cli_run(&prog, argc, argv);
}
