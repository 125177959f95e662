/* settings: the player's key table and how it is loaded (see
 * core/include/core/settings.h).
 *
 * Owns the table only; the values live in the caller's struct
 * chorus_settings. [colors] values are checked as the file is read (a
 * check callback, so a typo fails with file:line and changes nothing);
 * [keys] is a free-form section (config's "*") whose setter collects the
 * lines unchecked, since only the TUI knows key codes. Runs on the main
 * thread at start-up; never logs (the log's own level comes from here),
 * never prints: errors go back as text. */
#include "base/settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xmalloc.h"

#define S struct chorus_settings

/* The [colors] keys, in the order of enum ui_attr from UI_ATTR_TABS. */
#define SETTINGS_COLORS(X)                                                                         \
    X(tabs, "the line of view tabs")                                                               \
    X(tab_active, "the tab of the view on screen")                                                 \
    X(header, "column headers and section titles")                                                 \
    X(selected, "the cursor row of the focused pane")                                              \
    X(cursor, "the cursor row of a pane without focus")                                            \
    X(playing, "the row of the track that plays")                                                  \
    X(dim, "less important text")                                                                  \
    X(bar, "the now-playing bar")                                                                  \
    X(progress, "the part of the progress bar already played")                                     \
    X(status, "the status line")                                                                   \
    X(error, "error messages")                                                                     \
    X(cache, "chunks and sources: from the cache")                                                 \
    X(peer, "chunks and sources: from peers")                                                      \
    X(service, "chunks and sources: from the service")                                             \
    X(missing, "chunks not here yet")                                                              \
    X(playhead, "the chunk that plays")

#define COLOR_INDEX(name, doc) COLOR_##name,
enum { SETTINGS_COLORS(COLOR_INDEX) COLOR_COUNT };
#undef COLOR_INDEX
_Static_assert(COLOR_COUNT == SETTINGS_COLOR_COUNT, "SETTINGS_COLOR_COUNT is the [colors] count");

#define COLOR_NAME(name, doc) #name,
const char *const settings_color_names[] = {SETTINGS_COLORS(COLOR_NAME) NULL};
#undef COLOR_NAME

static const char *const ui_color_words[] = {"auto", "always", "never", NULL};

/* The colours of settings_color_parse, by their curses number. */
static const char *const color_words[] = {"black", "red",     "green", "yellow",
                                          "blue",  "magenta", "cyan",  "white"};
#define BRIGHT "bright-"

/* One colour word of len bytes: -1 (default), 0..15; -2 for no colour. */
static int color_word(const char *w, size_t len)
{
    if (len == strlen("default") && strncasecmp(w, "default", len) == 0)
        return -1;
    int bright = 0;
    if (len > strlen(BRIGHT) && strncasecmp(w, BRIGHT, strlen(BRIGHT)) == 0) {
        bright = 8;
        w += strlen(BRIGHT);
        len -= strlen(BRIGHT);
    }
    for (int i = 0; i < 8; i++)
        if (strlen(color_words[i]) == len && strncasecmp(w, color_words[i], len) == 0)
            return bright + i;
    return -2;
}

/* The colour word between p and end without blanks around it. */
static int color_span(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return color_word(p, (size_t)(end - p));
}

int settings_color_parse(const char *spec, int *fg, int *bg)
{
    const char *end = spec + strlen(spec);
    const char *comma = strchr(spec, ',');
    int f = color_span(spec, comma ? comma : end);
    int b = comma ? color_span(comma + 1, end) : -1;
    if (f == -2 || b == -2)
        return -1;
    *fg = f;
    *bg = b;
    return 0;
}

/* [colors] values: refused at load unless settings_color_parse reads them. */
static int check_color(const struct config_key *key, const struct config_value *v, char **why)
{
    int fg, bg;
    if (settings_color_parse(v->str, &fg, &bg) == 0)
        return 0;
    *why = config_why_got("expected FG or FG,BG, each default, black, red, green, yellow, blue, "
                          "magenta, cyan, white or bright-NAME",
                          v->str);
    return -1;
}

/* A [keys] line: kept as written, replacing an earlier line for the same
 * key. Never refuses (the TUI checks the bindings). */
static int set_key_binding(void *target, const struct config_key *key, const struct config_value *v,
                           char **why)
{
    struct chorus_settings *s = target;
    for (size_t i = 0; i < s->nkey_bindings; i++) {
        if (strcmp(s->key_bindings[i].key, v->name) == 0) {
            free(s->key_bindings[i].line);
            s->key_bindings[i].line = xstrdup(v->str);
            return 0;
        }
    }
    s->key_bindings = xrealloc(s->key_bindings, (s->nkey_bindings + 1) * sizeof(*s->key_bindings));
    s->key_bindings[s->nkey_bindings++] =
        (struct settings_binding){.key = xstrdup(v->name), .line = xstrdup(v->str)};
    return 0;
}

static void free_key_bindings(struct chorus_settings *s)
{
    for (size_t i = 0; i < s->nkey_bindings; i++) {
        free(s->key_bindings[i].key);
        free(s->key_bindings[i].line);
    }
    free(s->key_bindings);
    s->key_bindings = NULL;
    s->nkey_bindings = 0;
}

#define COLOR_KEY(name_, doc_)                                                                     \
    {.section = "colors",                                                                          \
     .name = #name_,                                                                               \
     .type = CONFIG_STRING,                                                                        \
     .offset = CONFIG_FIELD(S, colors[COLOR_##name_], char *),                                     \
     .check = check_color,                                                                         \
     .doc = doc_},

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
    /* 64: CACHE_MAX_OPEN_FDS (core/cache_internal.h) */
    CONFIG_UINT_KEY("cache", "max_open_files", S, cache_max_open_files, 4, 4096, "64",
                    "data files the cache keeps open at once (least recently used closed)"),
    CONFIG_STRING_KEY("audio", "output", S, audio_output, "portaudio",
                      "audio output: portaudio[:DEVICE], null[:SPEED], bench[:SPEED] or wav:FILE"),
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
    /* 60: PEERS_MAX_CONNS (core/peers.h), also the largest */
    CONFIG_UINT_KEY("p2p", "max_connections", S, p2p_max_connections, 2, 60, "60",
                    "peer links at most; above max - max/6 the least useful are closed"),
    CONFIG_STRING_KEY("remote", "socket", S, remote_socket, NULL,
                      "the engine's remote-control socket; unset: "
                      "$XDG_RUNTIME_DIR/chorus/remote.sock, else /tmp/chorus-$UID/remote.sock"),
    CONFIG_ENUM_KEY("ui", "color", S, ui_color, ui_color_words, "auto",
                    "colours: auto (when the terminal has them and NO_COLOR is unset), always "
                    "or never"),
    /* clang-format off: one entry per [colors] key (the macro puts the commas) */
    SETTINGS_COLORS(COLOR_KEY)
    /* clang-format on */
    {.section = "keys",
     .name = "*",
     .type = CONFIG_STRING,
     .set = set_key_binding,
     .doc = "KEY = COMMAND LINE binds a key of the TUI; an empty line unbinds it"},
    CONFIG_END,
};
#undef COLOR_KEY

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
    free_key_bindings(s);
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
