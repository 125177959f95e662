/* tui: the TUI's loop (see ui/tui.h).
 *
 * Keys become command lines through the key map; a line of the table's
 * TUI rows (CMD_F_UI) runs here and in the model, any other goes to the
 * engine with a reply callback. The callback runs on the engine's thread:
 * it copies the answer and posts it on the engine's event queue as
 * MQ_EV_REPLY, so every answer, event and snapshot reaches this thread
 * through the one fd it polls, in order.
 *
 * Modes: normal keys; a prompt (the `:` line, the `/` find, the playlist
 * name of win-add-playlist); a yes/no question (quit, win-remove); the
 * help screen. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "ui/tui.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "core/errors.h"
#include "internal.h"
#include "ui/cmdline.h"
#include "ui/model.h"
#include "ui/views.h"

#define HISTORY_MAX 500
#define ANSWERS_MAX 50   /* finds and playlist names typed this session */
#define POLL_MS     1000 /* the clock in the log and prompts move at least this often */

enum mode { MODE_NORMAL, MODE_COMMAND, MODE_FIND, MODE_PLAYLIST, MODE_CONFIRM, MODE_HELP };
enum question { ASK_QUIT, ASK_REMOVE };

struct tui {
    const struct tui_config *cfg;
    struct mq *mq;
    struct screen screen;
    struct canvas *canvas;
    struct ui_model model;
    struct keymap *keys;
    struct cmdline *line;   /* the : line, its history saved */
    struct cmdline *answer; /* the / find and the playlist name: a history of their own */
    enum mode mode;
    enum question question;
    char *question_text;
    char *message;
    bool message_error;
    char **help;
    int nhelp, help_top;
    bool done;
};

/* What the reply callback posts: the answer to one line we sent. */
struct reply {
    char *line;
    bool user; /* typed or bound by the user: its outcome goes to the message line */
    int status;
    char *message;
    json_t *data;
};

struct sent {
    struct mq *mq;
    char *line;
    bool user;
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void reply_free(void *p)
{
    struct reply *r = p;
    free(r->line);
    free(r->message);
    json_decref(r->data);
    free(r);
}

/* On the engine's thread: copy what is borrowed, post it. */
static void on_reply(void *ctx, const struct cmd_result *res)
{
    struct sent *s = ctx;
    struct reply *r = xcalloc(1, sizeof(*r));
    r->line = s->line;
    r->user = s->user;
    r->status = res->status;
    r->message = res->message ? xstrdup(res->message) : NULL;
    r->data = res->data ? json_deep_copy(res->data) : NULL;
    mq_post_event(s->mq, mq_msg_new_blob(MQ_EV_REPLY, r, reply_free));
    free(s);
}

static void set_message(struct tui *t, bool error, const char *text)
{
    free(t->message);
    t->message = text ? xstrdup(text) : NULL;
    t->message_error = error;
}

/* Sends one engine line; user: its outcome is shown. */
static void send_line(struct tui *t, const char *line, bool user)
{
    struct cmd *c = NULL;
    char *error = NULL;
    if (cmd_parse(line, &c, &error) != 0) {
        set_message(t, true, error);
        model_log(&t->model, true, now_s(), "%s", error);
        free(error);
        return;
    }
    struct sent *s = xmalloc(sizeof(*s));
    s->mq = t->mq;
    s->line = xstrdup(line);
    s->user = user;
    c->reply = on_reply;
    c->reply_ctx = s;
    if (engine_send(t->cfg->engine, c) != 0) {
        free(s->line);
        free(s);
        t->done = true;
    }
}

static void send_lines(struct tui *t, char **lines, long n, bool user)
{
    for (long i = 0; i < n; i++) {
        send_line(t, lines[i], user);
        free(lines[i]);
    }
    free(lines);
}

/* What the model lacks for the screen: asked without bothering the user. */
static void send_wants(struct tui *t)
{
    char **lines = NULL;
    size_t n = model_wants(&t->model, &lines);
    send_lines(t, lines, (long)n, false);
}

/* A TUI command on the model; arg as model_action takes it. */
static void act(struct tui *t, const struct cmd *c, const char *arg)
{
    char **lines = NULL, *error = NULL;
    long n = model_action(&t->model, c, arg, &lines, &error);
    if (n < 0) {
        set_message(t, true, error);
        free(error);
        return;
    }
    send_lines(t, lines, n, true);
}

/* The editor of the prompt that is open. */
static struct cmdline *editor(struct tui *t)
{
    return t->mode == MODE_COMMAND ? t->line : t->answer;
}

static void open_prompt(struct tui *t, enum mode mode)
{
    t->mode = mode;
    cmdline_reset(editor(t), NULL);
}

static void ask(struct tui *t, enum question q, char *text)
{
    free(t->question_text);
    t->question_text = text;
    t->question = q;
    t->mode = MODE_CONFIRM;
}

static void open_help(struct tui *t)
{
    help_free(t->help, t->nhelp);
    t->nhelp = help_build(t->keys, &t->help);
    t->help_top = 0;
    t->mode = MODE_HELP;
}

/* One of the table's TUI rows. */
static void run_ui_command(struct tui *t, const struct cmd *c)
{
    switch (c->id) {
    case CMD_COMMAND_MODE:
        open_prompt(t, MODE_COMMAND);
        return;
    case CMD_SEARCH_START:
        open_prompt(t, MODE_FIND);
        return;
    case CMD_WIN_ADD_PLAYLIST:
        if (t->model.view == CMD_VIEW_PLAYLISTS || t->model.view == CMD_VIEW_PEERS ||
            t->model.view == CMD_VIEW_LOG)
            act(t, c, NULL); /* the model says why there is nothing to add */
        else
            open_prompt(t, MODE_PLAYLIST);
        return;
    case CMD_WIN_REMOVE: {
        char *q = model_remove_question(&t->model);
        if (q)
            ask(t, ASK_REMOVE, q);
        else
            act(t, c, NULL);
        return;
    }
    case CMD_HELP:
        open_help(t);
        return;
    case CMD_REFRESH:
        screen_invalidate(&t->screen);
        return;
    default:
        act(t, c, NULL);
        return;
    }
}

/* A line from a key or the `:` line. from_key: quit asks first. */
static void run_line(struct tui *t, const char *line, bool from_key)
{
    struct cmd *c = NULL;
    char *error = NULL;
    if (cmd_parse(line, &c, &error) != 0) {
        set_message(t, true, error);
        free(error);
        return;
    }
    const struct cmd_def *def = cmd_def_of(c->id);
    if (def->flags & CMD_F_UI)
        run_ui_command(t, c);
    else if (c->id == CMD_QUIT && from_key)
        ask(t, ASK_QUIT, xstrdup("Quit Chorus?"));
    else
        send_line(t, line, true);
    cmd_free(c);
}

static void run_named(struct tui *t, enum cmd_id id, const char *arg)
{
    struct cmd c = {.id = id};
    act(t, &c, arg);
}

static void answer_question(struct tui *t, int code, bool is_char)
{
    bool yes = is_char && (code == 'y' || code == 'Y');
    t->mode = MODE_NORMAL;
    if (!yes) {
        set_message(t, false, "cancelled");
        return;
    }
    if (t->question == ASK_QUIT)
        send_line(t, "quit", false);
    else
        run_named(t, CMD_WIN_REMOVE, NULL);
}

static void help_key(struct tui *t, int code)
{
    int page = t->model.body_rows > 1 ? t->model.body_rows - 1 : 1;
    int max = t->nhelp > 1 ? t->nhelp - 1 : 0;
    switch (code) {
    case 'j':
    case KEY_DOWN:
        t->help_top++;
        break;
    case 'k':
    case KEY_UP:
        t->help_top--;
        break;
    case 6: /* ^F */
    case KEY_NPAGE:
    case ' ':
        t->help_top += page;
        break;
    case 2: /* ^B */
    case KEY_PPAGE:
        t->help_top -= page;
        break;
    case 'g':
    case KEY_HOME:
        t->help_top = 0;
        break;
    case 'G':
    case KEY_END:
        t->help_top = max;
        break;
    default:
        t->mode = MODE_NORMAL;
        return;
    }
    t->help_top = t->help_top < 0 ? 0 : t->help_top > max ? max : t->help_top;
}

/* Tab in the playlist prompt: the first playlist the text begins. */
static void complete_playlist(struct tui *t)
{
    const char **tracks, **artists, **playlists;
    size_t nt, na, np;
    model_names(&t->model, &tracks, &nt, &artists, &na, &playlists, &np);
    const char *typed = cmdline_text(t->answer);
    for (size_t i = 0; i < np; i++) {
        if (strncasecmp(playlists[i], typed, strlen(typed)) == 0) {
            cmdline_reset(t->answer, playlists[i]);
            return;
        }
    }
}

static void submit_prompt(struct tui *t, enum mode mode)
{
    char *text = xstrdup(cmdline_text(editor(t)));
    t->mode = MODE_NORMAL;
    if (*text == '\0') {
        free(text);
        return;
    }
    if (mode == MODE_COMMAND)
        run_line(t, text, false);
    else
        run_named(t, mode == MODE_FIND ? CMD_SEARCH_START : CMD_WIN_ADD_PLAYLIST, text);
    free(text);
}

static void prompt_key(struct tui *t, int code, bool is_char)
{
    /* Tab: the : line completes commands; a playlist name completes from
     * the playlists; a find has nothing to complete */
    if (t->mode != MODE_COMMAND && (code == '\t' || code == KEY_BTAB)) {
        if (t->mode == MODE_PLAYLIST)
            complete_playlist(t);
        return;
    }
    const char **tracks, **artists, **playlists;
    struct complete_names names = {0};
    model_names(&t->model, &tracks, &names.ntracks, &artists, &names.nartists, &playlists,
                &names.nplaylists);
    names.tracks = tracks;
    names.artists = artists;
    names.playlists = playlists;
    enum mode mode = t->mode;
    switch (cmdline_key(editor(t), code, is_char, &names)) {
    case CMDLINE_SUBMIT:
        submit_prompt(t, mode);
        break;
    case CMDLINE_CANCEL:
        t->mode = MODE_NORMAL;
        break;
    case CMDLINE_NONE:
    case CMDLINE_CHANGED:
        break;
    }
}

static void normal_key(struct tui *t, int code, bool is_char)
{
    /* wide characters are never bound: the map holds ASCII and KEY_* */
    const char *line = is_char && code >= 0x80 ? NULL : keymap_lookup(t->keys, code);
    if (!line) {
        const char *name = keymap_key_name(code);
        if (code == 3) /* ^C: the terminal is raw, so it arrives as a key */
            set_message(t, false, "press q to quit");
        else if (name)
            set_message(t, false, "that key is not bound (? lists the keys)");
        return;
    }
    set_message(t, false, NULL);
    run_line(t, line, true);
}

static void on_key(struct tui *t, int code, bool is_char)
{
    if (!is_char && code == KEY_RESIZE) {
        screen_resize(&t->screen);
        return;
    }
    switch (t->mode) {
    case MODE_NORMAL:
        normal_key(t, code, is_char);
        break;
    case MODE_COMMAND:
    case MODE_FIND:
    case MODE_PLAYLIST:
        prompt_key(t, code, is_char);
        break;
    case MODE_CONFIRM:
        answer_question(t, code, is_char);
        break;
    case MODE_HELP:
        help_key(t, code);
        break;
    }
}

static void on_reply_event(struct tui *t, const struct reply *r)
{
    model_on_result(&t->model, r->line, r->status, r->message, r->data);
    if (!r->user)
        return;
    if (r->status != 0) {
        char *text = r->message ? xasprintf("%s: %s", r->line, r->message)
                                : xasprintf("%s: %s", r->line, chorus_strerror(r->status));
        set_message(t, true, text);
        free(text);
    } else if (r->message && *r->message) {
        set_message(t, false, r->message);
    }
}

static void on_events(struct tui *t)
{
    struct mq_msg *list = mq_take_events(t->mq);
    for (struct mq_msg *m = list; m; m = m->next) {
        switch (m->type) {
        case MQ_EV_REPLY:
            on_reply_event(t, m->u.blob.ptr);
            break;
        case MQ_EV_QUITTING:
            t->done = true;
            break;
        case MQ_EV_ERROR:
            set_message(t, true, m->u.text);
            model_on_event(&t->model, m, now_s());
            break;
        default:
            model_on_event(&t->model, m, now_s());
            break;
        }
    }
    mq_msg_free_list(list);
    struct mq_snapshot *snap = xmalloc(sizeof(*snap));
    if (mq_read_snapshot(t->mq, snap))
        model_set_snapshot(&t->model, snap);
    free(snap);
}

static const char *prompt_of(const struct tui *t)
{
    switch (t->mode) {
    case MODE_COMMAND:
        return ":";
    case MODE_FIND:
        return t->model.view == CMD_VIEW_SEARCH ? "search the catalog: " : "/";
    case MODE_PLAYLIST:
        return "add to playlist: ";
    default:
        return NULL;
    }
}

static void draw(struct tui *t)
{
    if (!t->canvas || t->canvas->w != t->screen.w || t->canvas->h != t->screen.h) {
        canvas_free(t->canvas);
        t->canvas = canvas_new(t->screen.w, t->screen.h);
    }
    canvas_clear(t->canvas);
    char *question = NULL;
    struct ui_overlay ov = {
        .prompt = prompt_of(t),
        .input = cmdline_text(editor(t)),
        .input_col = cmdline_cursor_column(editor(t)),
        .message = t->message,
        .message_error = t->message_error,
        .help = t->mode == MODE_HELP,
        .help_lines = (const char *const *)t->help,
        .nhelp = t->nhelp,
        .help_top = t->help_top,
    };
    if (t->mode == MODE_CONFIRM) {
        question = xasprintf("%s [y/N] ", t->question_text);
        ov.prompt = question;
        ov.input = "";
        ov.input_col = 0;
    }
    int col = views_draw(&t->model, &ov, t->canvas);
    screen_draw(&t->screen, t->canvas, col);
    free(question);
}

/* [keys] over the defaults: a wrong binding stops the start. */
static int load_keys(struct tui *t, char **error)
{
    t->keys = keymap_new();
    const struct chorus_settings *s = t->cfg->settings;
    for (size_t i = 0; s && i < s->nkey_bindings; i++)
        if (keymap_bind(t->keys, s->key_bindings[i].key, s->key_bindings[i].line, error) < 0)
            return -1;
    return 0;
}

static void run_loop(struct tui *t)
{
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                            {.fd = mq_event_fd(t->mq), .events = POLLIN}};
    while (!t->done) {
        send_wants(t);
        draw(t);
        int n = poll(fds, 2, POLL_MS);
        if (n < 0 && errno != EINTR)
            break;
        int code;
        bool is_char;
        while (!t->done && screen_key(&code, &is_char))
            on_key(t, code, is_char);
        on_events(t);
        if (stop_signal || engine_stopped(t->cfg->engine))
            t->done = true;
    }
}

static void tui_close(struct tui *t)
{
    if (t->cfg->history_path && t->line)
        cmdline_history_save(t->line, t->cfg->history_path);
    screen_close(&t->screen);
    canvas_free(t->canvas);
    model_free(&t->model);
    keymap_free(t->keys);
    cmdline_free(t->line);
    cmdline_free(t->answer);
    help_free(t->help, t->nhelp);
    free(t->question_text);
    free(t->message);
}

int tui_run(const struct tui_config *cfg)
{
    struct tui t;
    memset(&t, 0, sizeof(t));
    t.cfg = cfg;
    t.mq = engine_mq(cfg->engine);
    model_init(&t.model);
    t.line = cmdline_new(HISTORY_MAX);
    t.answer = cmdline_new(ANSWERS_MAX);
    char *error = NULL;
    if (load_keys(&t, &error) < 0 || screen_open(&t.screen, cfg->settings, &error) < 0) {
        tui_close(&t);
        dprintf(cfg->error_fd > 0 ? cfg->error_fd : STDERR_FILENO, "chorus: %s\n", error);
        free(error);
        return 1;
    }
    if (cfg->history_path)
        cmdline_history_load(t.line, cfg->history_path);
    if (cfg->banner) {
        set_message(&t, false, cfg->banner);
        model_log(&t.model, false, now_s(), "%s", cfg->banner);
    }
    catch_stop_signals();
    run_loop(&t);
    if (!engine_stopped(cfg->engine))
        engine_stop(cfg->engine);
    tui_close(&t);
    if (stop_signal)
        clog_info(cfg->log, "tui", "leaving on signal %d", (int)stop_signal);
    return 0;
}

int tui_quiet_stderr(const char *path)
{
    int fd = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int saved = dup(STDERR_FILENO);
    if (saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
        if (saved >= 0)
            close(saved);
        close(fd);
        return -1;
    }
    close(fd);
    return saved;
}

void tui_restore_stderr(int saved)
{
    if (saved < 0)
        return;
    dup2(saved, STDERR_FILENO);
    close(saved);
}
