/* chorus_login: logging a device in, for `chorus login`, the TUI's first
 * run and `chorus --demo` (chorus(1), LOGIN). */
#ifndef CHORUS_APP_CHORUS_LOGIN_H
#define CHORUS_APP_CHORUS_LOGIN_H

#include "chorus_env.h"

/* Logs in as user with password at address (HOST:PORT) on a private loop,
 * asks the service for a device credential named device and stores it,
 * with the address and user, in chorus.db of data_dir (NULL: env's data
 * directory); the identity key and the pinned service key live there too.
 * The password and the ticket are not kept. Returns 0, or -1 with *error
 * set to one line for the user (owned by the caller), e.g. "wrong user or
 * password", "cannot reach 127.0.0.1:4170: connection refused". */
int chorus_login_device(struct chorus_env *env, const char *data_dir, const char *address,
                        const char *user, const char *password, const char *device, char **error);

#endif
