/* settings: the player's key table and how it is loaded (see
 * core/include/core/settings.h).
 *
 * Owns the table only; the values live in the caller's struct
 * chorus_settings. Runs on the main thread at start-up; never logs (the
 * log's own level comes from here), never prints: errors go back as text. */
#include "base/settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"

#define S struct chorus_settings

/* One line per key. Defaults are written as they would be in the file. */
const struct config_key settings_schema[] = {
    CONFIG_ENUM_KEY("log", "level", S, log_level, clog_level_names, "info",
                    "least severe message written to the log file"),
    CONFIG_SIZE_KEY("log", "max_size", S, log_max_size, 0, CONFIG_TIB, "10M",
                    "rotate the log file when it would pass this size; 0: never"),
    CONFIG_INT_KEY("log", "keep", S, log_keep, 1, 20, "3",
                   "rotated log files kept (chorus.log.1 ..), the oldest dropped"),
    CONFIG_SIZE_KEY("cache", "size", S, cache_size, 0, 16 * CONFIG_TIB, "0",
                    "chunk cache cap; 0: 10% of free space, at most 10G"),
    CONFIG_STRING_KEY("cache", "dir", S, cache_dir, NULL,
                      "chunk cache directory; unset: the XDG cache directory"),
    CONFIG_STRING_KEY("audio", "output", S, audio_output, "portaudio",
                      "audio output: portaudio[:DEVICE], null or wav:FILE"),
    CONFIG_INT_KEY("audio", "buffer", S, audio_buffer_ms, 200, 10000, "2000",
                   "decoded audio kept ahead of the output, in ms"),
    CONFIG_INT_KEY("audio", "prebuffer", S, audio_prebuffer_ms, 10, 5000, "200",
                   "audio buffered before playback starts or resumes, in ms"),
    CONFIG_STRING_KEY("service", "address", S, service_address, NULL,
                      "the service, HOST:PORT; unset: what chorus login saved, else "
                      "127.0.0.1:4170"),
    CONFIG_STRING_KEY("service", "user", S, service_user, NULL,
                      "the user to log in as; unset: the login name ($USER)"),
    CONFIG_STRING_KEY("service", "key", S, service_key, NULL,
                      "the service's public key (64 hex digits); unset: pin on first contact"),
    CONFIG_STRING_KEY("p2p", "listen", S, p2p_listen, "0.0.0.0:4171",
                      "where peers connect, HOST:PORT (port 0: any free); off: accept none"),
    CONFIG_BOOL_KEY("p2p", "upload", S, p2p_upload, "on", "serve cached files to other peers"),
    CONFIG_SIZE_KEY("p2p", "upload_rate", S, p2p_upload_rate, 0, CONFIG_TIB, "0",
                    "cap on peer upload, bytes per second; 0: none"),
    CONFIG_SIZE_KEY("p2p", "download_rate", S, p2p_download_rate, 0, CONFIG_TIB, "0",
                    "cap on peer download, bytes per second; 0: none"),
    CONFIG_STRING_KEY("remote", "socket", S, remote_socket, NULL,
                      "the engine's remote-control socket; unset: "
                      "$XDG_RUNTIME_DIR/chorus/remote.sock, else /tmp/chorus-$UID/remote.sock"),
    CONFIG_END,
};

#undef S

void settings_init(struct chorus_settings *s)
{
    memset(s, 0, sizeof(*s));
    char *error = NULL;
    /* Every default is checked by test_config: a failure is a bug here. */
    if (config_set_defaults(settings_schema, s, &error) != 0) {
        fprintf(stderr, "chorus: bad built-in default: %s\n", error);
        abort();
    }
}

void settings_close(struct chorus_settings *s)
{
    config_free_strings(settings_schema, s);
}

char *settings_default_path(const struct paths *paths)
{
    return paths_file(paths, PATHS_CONFIG, SETTINGS_FILE_NAME);
}

int settings_load(struct chorus_settings *s, const struct paths *paths, const char *path,
                  char **error)
{
    if (path)
        return config_load_file(path, settings_schema, s, error);
    char *def = settings_default_path(paths);
    char *why = NULL;
    int r = config_load_file(def, settings_schema, s, &why);
    free(def);
    if (r == -ENOENT) {
        free(why);
        return 0;
    }
    if (error)
        *error = why;
    else
        free(why);
    return r;
}

int settings_set_option(struct chorus_settings *s, const char *option, char **error)
{
    return config_set_option(settings_schema, s, option, error);
}
