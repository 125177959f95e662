/* chorus_env: what every chorus subcommand starts from — the XDG paths,
 * the settings (chorus.conf or -c FILE, then each -o override from the
 * command line, see chorus.conf(5)) and the log file under the state
 * directory. Owned by the subcommand's main; no thread of its own. */
#ifndef CHORUS_APP_CHORUS_ENV_H
#define CHORUS_APP_CHORUS_ENV_H

#include "base/log.h"
#include "base/paths.h"
#include "base/settings.h"

struct chorus_env {
    struct paths *paths;
    struct chorus_settings settings;
    struct clog *log; /* NULL when the log file cannot be opened (said on stderr) */
};

/* Fills env. cmd names the subcommand in error messages ("cache").
 * Returns 0, or the exit status to return: 1 (no usable home) or 2 (a bad
 * configuration file or option, with file:line on stderr). */
int chorus_env_open(struct chorus_env *env, const char *cmd);

/* Applies one more "section.key=value" option after the others (for a
 * subcommand's own shorthand options). Returns 0, or 2 with the error on
 * stderr. */
int chorus_env_set(struct chorus_env *env, const char *cmd, const char *option);

void chorus_env_close(struct chorus_env *env);

#endif
