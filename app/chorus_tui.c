/* chorus (no subcommand): the TUI on this user's engine (chorus(1)).
 *
 * First run: with no device credential in chorus.db yet, the TUI asks
 * for the service address, the user and the password (what `chorus
 * login` asks), logs in and goes on; a failed try asks again with the
 * reason. An engine already running for this user (chorus --headless) is
 * not attached to: the TUI says so and how to reach it (`chorus remote`),
 * since two engines on one cache would fight over it and a TUI attached
 * over the socket would lack the snapshot's connection table.
 *
 * Library chatter on stderr (ALSA, JACK, FFmpeg) goes to chorus.stderr in
 * the state directory while the TUI runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "chorus_commands.h"
#include "chorus_env.h"
#include "chorus_login.h"
#include "core/clientdb.h"
#include "core/engine.h"
#include "core/errors.h"
#include "ui/tui.h"

#define DEFAULT_ADDRESS "127.0.0.1:4170"

static bool logged_in(const struct chorus_env *env)
{
    char *path = xasprintf("%s/%s", paths_dir(env->paths, PATHS_DATA), CLIENTDB_FILE_NAME);
    struct clientdb *db = NULL;
    struct clientdb_login l = {0};
    bool yes = clientdb_open(path, NULL, &db) == 0 && clientdb_get_login(db, &l) == 0;
    clientdb_login_clear(&l);
    clientdb_close(db);
    free(path);
    return yes;
}

/* Asks until a login works or the user leaves; a failed try asks again
 * with the reason, the address and user as typed. Returns 0 or 1 (left). */
static int first_run_login(struct chorus_env *env)
{
    const char *user = env->settings.service_user ? env->settings.service_user : getenv("USER");
    char *address =
        xstrdup(env->settings.service_address ? env->settings.service_address : DEFAULT_ADDRESS);
    char *who = user ? xstrdup(user) : NULL;
    char *error = NULL;
    int status = 1;
    for (;;) {
        struct tui_login_answers a;
        if (tui_ask_login(address, who, error, &a) < 0) {
            fprintf(stderr, "chorus: not logged in (chorus login does it too)\n");
            break;
        }
        free(error);
        error = NULL;
        int rc = chorus_login_device(env, NULL, a.address, a.user, a.password, "chorus", &error);
        free(address);
        free(who);
        address = xstrdup(a.address);
        who = xstrdup(a.user);
        tui_login_answers_clear(&a);
        if (rc == 0) {
            status = 0;
            break;
        }
    }
    free(error);
    free(address);
    free(who);
    return status;
}

static char *state_file(const struct chorus_env *env, const char *name)
{
    if (paths_ensure(env->paths, PATHS_STATE) < 0)
        return NULL;
    return xasprintf("%s/%s", paths_dir(env->paths, PATHS_STATE), name);
}

/* err_fd: the real stderr (library chatter is diverted meanwhile). */
static int start_engine(struct chorus_env *env, struct engine **e, int err_fd)
{
    struct engine_config cfg = {.settings = &env->settings, .paths = env->paths, .log = env->log};
    char *error = NULL;
    int rc = engine_new(&cfg, e, &error);
    if (rc == 0)
        return 0;
    if (rc == ENGINE_ERUNNING) {
        dprintf(err_fd,
                "chorus: an engine already runs for this user (chorus --headless?): %s\n"
                "chorus: drive it with chorus remote (chorus remote status), or stop it with "
                "chorus remote quit and start chorus again\n",
                error ? error : chorus_strerror(rc));
    } else {
        dprintf(err_fd, "chorus: %s\n", error ? error : chorus_strerror(rc));
    }
    free(error);
    return rc == ENGINE_ERUNNING ? 3 : 1;
}

int chorus_tui_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct chorus_env env;
    int status = chorus_env_open(&env, "chorus");
    if (status != 0)
        return status;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "chorus: the TUI needs a terminal (chorus --headless, chorus play and "
                        "chorus remote work without one)\n");
        chorus_env_close(&env);
        return 1;
    }
    if (!logged_in(&env) && (status = first_run_login(&env)) != 0) {
        chorus_env_close(&env);
        return status;
    }
    char *chatter = state_file(&env, "chorus.stderr");
    char *history = state_file(&env, "history");
    int saved = tui_quiet_stderr(chatter);
    int err_fd = saved > 0 ? saved : STDERR_FILENO;
    struct engine *e = NULL;
    status = start_engine(&env, &e, err_fd);
    if (status == 0) {
        struct tui_config tc = {.engine = e,
                                .settings = &env.settings,
                                .history_path = history,
                                .log = env.log,
                                .error_fd = err_fd};
        status = tui_run(&tc);
        engine_free(e);
    }
    tui_restore_stderr(saved);
    free(chatter);
    free(history);
    chorus_env_close(&env);
    return status;
}
