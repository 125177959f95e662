/* chorus remote: drives a running engine over its UNIX socket with the
 * command table's names (chorus(1), REMOTE). A thin main over
 * remote_run (core/remote.h): it finds the socket (-S, remote.socket, the
 * default) and takes --json and --follow wherever they stand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "chorus_commands.h"
#include "chorus_env.h"
#include "core/remote.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorus remote [-S SOCKET] [--json] [--follow] COMMAND [ARGS...]\n"
                 "  e.g. chorus remote play --all; chorus remote seek +10;\n"
                 "       chorus remote status --json; chorus remote status --follow\n"
                 "Commands are those of the : line; chorus(1) lists them.\n");
}

int chorus_remote_main(int argc, char **argv)
{
    const char *socket_opt = NULL;
    bool json = false, follow = false;
    char **words = xcalloc((size_t)argc + 1, sizeof(*words));
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-S") == 0 || strcmp(a, "--socket") == 0) {
            if (++i == argc) {
                usage(stderr);
                free(words);
                return REMOTE_EXIT_USAGE;
            }
            socket_opt = argv[i];
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--follow") == 0) {
            follow = true;
        } else if (n == 0 && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            usage(stdout);
            free(words);
            return 0;
        } else {
            words[n++] = argv[i];
        }
    }
    if (n == 0) {
        usage(stderr);
        free(words);
        return REMOTE_EXIT_USAGE;
    }
    struct chorus_env env;
    int status = chorus_env_open(&env, "remote");
    if (status == 0) {
        char *path = remote_default_path(socket_opt ? socket_opt : env.settings.remote_socket);
        status = remote_run(path, n, words, json, follow, stdout, stderr);
        free(path);
    }
    chorus_env_close(&env);
    free(words);
    return status;
}
