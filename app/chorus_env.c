/* chorus_env: paths, settings and log for a chorus subcommand (see
 * app/chorus_env.h). */
#include "chorus_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/config.h"

static int report(const char *cmd, char *why, int r)
{
    fprintf(stderr, "chorus %s: %s\n", cmd, why ? why : config_strerror(r));
    free(why);
    return 2;
}

int chorus_env_set(struct chorus_env *env, const char *cmd, const char *option)
{
    char *why = NULL;
    int r = settings_set_option(&env->settings, option, &why);
    return r ? report(cmd, why, r) : 0;
}

static void open_log(struct chorus_env *env, const char *cmd)
{
    int r = paths_ensure(env->paths, PATHS_STATE);
    char *path = paths_file(env->paths, PATHS_STATE, "chorus.log");
    if (r == 0)
        env->log = clog_new(path, env->settings.log_level, &r);
    clog_set_rotation(env->log, env->settings.log_max_size, (unsigned)env->settings.log_keep);
    if (!env->log)
        fprintf(stderr, "chorus %s: cannot open the log %s: %s (going on without it)\n", cmd, path,
                clog_strerror(r));
    free(path);
}

int chorus_env_open(struct chorus_env *env, const char *cmd)
{
    memset(env, 0, sizeof(*env));
    settings_init(&env->settings);
    int err = 0;
    env->paths = paths_new("chorus", &err);
    if (!env->paths) {
        fprintf(stderr, "chorus %s: %s\n", cmd, paths_strerror(err));
        return 1;
    }
    const struct cli_config_options *opts = cli_config();
    char *why = NULL;
    int r = settings_load(&env->settings, env->paths, opts->config_path, &why);
    if (r)
        return report(cmd, why, r);
    for (int i = 0; i < opts->override_count; i++)
        if ((r = chorus_env_set(env, cmd, opts->overrides[i])) != 0)
            return r;
    open_log(env, cmd);
    return 0;
}

void chorus_env_close(struct chorus_env *env)
{
    clog_free(env->log);
    settings_close(&env->settings);
    paths_free(env->paths);
    memset(env, 0, sizeof(*env));
}
