/* settings: the player's configuration — what chorus.conf and -o options
 * set (every key is documented in man/chorus.conf.5; keep the two in step).
 *
 * Adding a key: one field in struct chorus_settings, one entry in the
 * table in core/settings.c (section, name, type, bounds, default, one
 * line), one .TP item under its section in man/chorus.conf.5. test_config
 * checks that the table is sound and that the page documents every key.
 *
 * The struct is a plain value filled on the main thread before the engine
 * starts and read-only afterwards; modules get a const pointer. */
#ifndef CHORUS_CORE_SETTINGS_H
#define CHORUS_CORE_SETTINGS_H

#include "base/config.h"
#include "base/log.h"
#include "base/paths.h"

/* The configuration file's name in the config directory. */
#define SETTINGS_FILE_NAME "chorus.conf"

/* [ui] color: when the TUI draws in colour. */
enum settings_ui_color {
    SETTINGS_UI_COLOR_AUTO = 0, /* when the terminal has colours and NO_COLOR is unset */
    SETTINGS_UI_COLOR_ALWAYS,   /* whenever the terminal has colours, NO_COLOR or not */
    SETTINGS_UI_COLOR_NEVER,    /* monochrome: bold, reverse and underline only */
};

/* [colors]: one key per element of the TUI's enum ui_attr (ui/canvas.h)
 * but UI_ATTR_NORMAL, in that order: colors[i] and settings_color_names[i]
 * are for ui_attr i + 1 (UI_ATTR_TABS first). base knows no ncurses, so
 * the TUI maps them (settings_color_parse). */
#define SETTINGS_COLOR_COUNT 16

/* "tabs", "tab_active", ... "playhead": SETTINGS_COLOR_COUNT names, then
 * NULL. */
extern const char *const settings_color_names[];

/* One [keys] line: the key as written ("j", "^F", "page-down") and the
 * command line bound to it ("" unbinds). The settings do not check either
 * (base knows no key codes): the TUI binds each with keymap_bind at start
 * and stops with its message when one is wrong. */
struct settings_binding {
    char *key, *line;
};

struct chorus_settings {
    /* [log] */
    enum clog_level log_level; /* least severe message written */
    uint64_t log_max_size;     /* rotate the log file past this many bytes; 0: never */
    int log_keep;              /* rotated log files kept */
    /* [cache] */
    uint64_t cache_size; /* cap in bytes; 0: CACHE_DEFAULT_CAP_PERCENT of free space */
    char *cache_dir;     /* NULL: the XDG cache directory */
    /* data files kept open at once (default CACHE_MAX_OPEN_FDS) */
    unsigned cache_max_open_files;
    /* [audio] */
    char *audio_output; /* output spec of audio/sink.h: portaudio[:DEVICE], null, bench, wav:FILE */
    int audio_buffer_ms;    /* decoded audio kept ahead of the output */
    int audio_prebuffer_ms; /* audio buffered before playback starts or resumes */
    /* [service] */
    char *service_address; /* the service's HOST:PORT; NULL: chorus login's, else the default */
    char *service_user;    /* the user to log in as; NULL: $USER */
    char *service_key;     /* the service's key in hex; NULL: pinned on first contact */
    /* [p2p] */
    char *p2p_listen;           /* HOST:PORT peers connect to; "off": none */
    bool p2p_upload;            /* serve others */
    uint64_t p2p_upload_rate;   /* bytes/s cap on peer upload; 0: none */
    uint64_t p2p_download_rate; /* bytes/s cap on peer download; 0: none */
    /* peer links at most (default PEERS_MAX_CONNS); the soft limit, above
     * which the least useful are closed, is max - max / 6 */
    unsigned p2p_max_connections;
    /* [remote] */
    char *remote_socket; /* the remote-control socket; NULL: the default (core/remote.h) */
    /* [ui] */
    enum settings_ui_color ui_color;
    /* [colors] */
    char *colors[SETTINGS_COLOR_COUNT]; /* "FG" or "FG,BG" (settings_color_parse,
                                           checked at load); NULL: the TUI's own */
    /* [keys], in file order; a later line for the same key (as written)
     * replaces the earlier one in place. Owned (settings_close). */
    struct settings_binding *key_bindings;
    size_t nkey_bindings;
};

/* The key table (ends with CONFIG_END). */
extern const struct config_key settings_schema[];

/* Fills s with the defaults. s is caller-allocated; release with
 * settings_close. */
void settings_init(struct chorus_settings *s);

/* Frees the strings s owns (s may be initialised again). */
void settings_close(struct chorus_settings *s);

/* Reads a configuration file into s (on top of what s holds). With path
 * NULL, reads SETTINGS_FILE_NAME in the config directory of paths, and a
 * missing file is fine (returns 0, s unchanged); an explicit path must
 * exist. Returns 0 or a config error with *error set (owned by the caller;
 * error may be NULL); on error s is unchanged. */
int settings_load(struct chorus_settings *s, const struct paths *paths, const char *path,
                  char **error);

/* Applies one "section.key=value" override (-o on the command line), after
 * settings_load. Returns 0 or a config error with *error set. */
int settings_set_option(struct chorus_settings *s, const char *option, char **error);

/* Reads a [colors] value, "FG" or "FG,BG" (blanks around the comma
 * allowed, any case), each one of default, black, red, green, yellow,
 * blue, magenta, cyan, white or bright-NAME (not bright-default): *fg and
 * *bg become -1 for default, 0..7 for black..white (the curses COLOR_*
 * numbers), 8..15 for their bright forms. Without BG, *bg is -1. Returns 0,
 * or -1 (fg and bg unchanged) for any other text. */
int settings_color_parse(const char *spec, int *fg, int *bg);

/* The default configuration file of paths; owned by the caller. */
char *settings_default_path(const struct paths *paths);

#endif
