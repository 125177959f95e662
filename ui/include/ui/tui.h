/* tui: the ncurses front end — the terminal, the keys, the loop that
 * feeds the model from the engine's message queue and sends commands
 * back (DESIGN §2, §8; chorus(1)).
 *
 * It talks to the engine only through engine_send (commands of the table,
 * each with a reply that comes back as an event on the engine's queue)
 * and engine_mq (events, the snapshot): it polls stdin, the queue's event
 * fd and a signal pipe, and sleeps otherwise (the snapshot arrives a few
 * times a second while something changes).
 *
 * Terminal manners: the locale from the environment (UTF-8 titles), the
 * screen restored on every way out (quit, the engine stopping, SIGINT,
 * SIGTERM, SIGHUP, and crash signals: SIGSEGV, SIGABRT, SIGBUS, SIGFPE,
 * SIGILL restore the terminal and re-raise), resize (SIGWINCH), colours
 * unless NO_COLOR is set, [ui] color = never or the terminal has none.
 *
 * Threads: the caller's (the process's main thread: it owns the
 * terminal and the signal handlers while tui_run runs). */
#ifndef CHORUS_UI_TUI_H
#define CHORUS_UI_TUI_H

#include "base/log.h"
#include "base/settings.h"
#include "core/engine.h"

struct tui_config {
    struct engine *engine;                  /* running; the TUI stops it when it quits */
    const struct chorus_settings *settings; /* [keys], [ui], [colors] */
    const char *history_path;               /* the `:` history file; NULL: none kept */
    const char *banner;                     /* a first message ("demo: 4 peers..."); NULL */
    struct clog *log;                       /* may be NULL */
    /* where tui_run says why it cannot start: > 0, this fd (the real
     * stderr when tui_quiet_stderr diverted it); else stderr */
    int error_fd;
};

/* Runs the TUI until the user quits or the engine stops. Returns the
 * exit status for main: 0, or 1 when the terminal cannot be used (not a
 * terminal, an unusable TERM: said on stderr) or the [keys] or [colors]
 * settings are wrong (said on error_fd before the screen opens). */
int tui_run(const struct tui_config *cfg);

/* The first-run form: asks for the service address, the user and the
 * password on the terminal (the password is not shown). defaults fill the
 * first two; error (may be NULL) is shown above the form (the previous
 * try's failure). Returns 0 with the answers set (owned by the caller:
 * tui_login_answers_clear wipes the password), or -1 when the user
 * cancelled (Escape, ^C) or the terminal cannot be used. */
struct tui_login_answers {
    char *address, *user, *password;
};
int tui_ask_login(const char *default_address, const char *default_user, const char *error,
                  struct tui_login_answers *out);
void tui_login_answers_clear(struct tui_login_answers *a);

/* Library chatter (ALSA, JACK, FFmpeg print to stderr) would land on the
 * screen: from before the engine starts until the TUI has ended, fd 2
 * goes to path (a file in the state directory; NULL: /dev/null).
 * Returns a copy of the old stderr for tui_restore_stderr, or -1 (then
 * nothing changed). */
int tui_quiet_stderr(const char *path);
void tui_restore_stderr(int saved);

#endif
