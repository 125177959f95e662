/* chorus --headless: the engine without a UI — an always-on peer that
 * plays what `chorus remote` tells it (chorus(1)). Logs to the log file
 * only; SIGINT and SIGTERM stop it cleanly (the queue and position are
 * saved). Exit status: 0 stopped, 1 failed to start, 3 an engine already
 * runs on this cache directory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chorus_commands.h"
#include "chorus_env.h"
#include "core/engine.h"
#include "core/errors.h"

int chorus_headless_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct chorus_env env;
    int status = chorus_env_open(&env, "--headless");
    if (status != 0)
        return status;
    /* Signals are taken by this thread with sigtimedwait: blocked before
     * the engine's threads start, so they inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct engine_config cfg = {.settings = &env.settings, .paths = env.paths, .log = env.log};
    struct engine *e = NULL;
    char *error = NULL;
    int rc = engine_new(&cfg, &e, &error);
    if (rc < 0) {
        fprintf(stderr, "chorus: %s\n", error ? error : chorus_strerror(rc));
        free(error);
        chorus_env_close(&env);
        return rc == ENGINE_ERUNNING ? 3 : 1;
    }
    fprintf(stderr, "chorus: engine running; control it with chorus remote (socket %s)\n",
            engine_socket(e));
    const struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
    while (!engine_stopped(e)) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            clog_info(env.log, "engine", "stopping on signal %d", sig);
            engine_stop(e);
            break;
        }
    }
    engine_free(e);
    chorus_env_close(&env);
    return 0;
}
