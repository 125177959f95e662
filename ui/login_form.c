/* login_form: the first run's questions (see tui_ask_login in ui/tui.h):
 * the service address, the user and the password, on one screen, each
 * field edited like the `:` line. Tab, Enter and the arrows move between
 * fields; Enter on the last submits; Escape or ^C cancels. The password
 * shows as one '*' per byte typed; the caller's copy is wiped by
 * tui_login_answers_clear. */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "internal.h"
#include "ui/cmdline.h"
#include "ui/tui.h"

enum { FIELD_ADDRESS, FIELD_USER, FIELD_PASSWORD, FIELD_COUNT };

#define FIELD_W   40
#define FIELD_COL 24
#define FIELD_ROW 8

static const char *const labels[FIELD_COUNT] = {"Service (HOST:PORT)", "User", "Password"};

struct form {
    struct cmdline *fields[FIELD_COUNT];
    int focus;
    const char *error;
};

static void draw_field(const struct form *f, int i)
{
    const char *text = cmdline_text(f->fields[i]);
    mvprintw(FIELD_ROW + 2 * i, 2, "%-20s", labels[i]);
    move(FIELD_ROW + 2 * i, FIELD_COL);
    attron(A_UNDERLINE);
    if (i == FIELD_PASSWORD) {
        size_t len = strlen(text);
        for (size_t k = 0; k < FIELD_W; k++)
            addch(k < len ? '*' : ' ');
    } else {
        printw("%-*.*s", FIELD_W, FIELD_W, text);
    }
    attroff(A_UNDERLINE);
}

static void draw(const struct form *f)
{
    erase();
    attron(A_BOLD);
    mvprintw(1, 2, "Welcome to Chorus");
    attroff(A_BOLD);
    mvprintw(3, 2, "Log in to your music service once: this device keeps a credential,");
    mvprintw(4, 2, "not the password. Tab moves between fields, Enter logs in, Escape leaves.");
    if (f->error) {
        attron(A_BOLD);
        mvprintw(6, 2, "%.*s", COLS > 4 ? COLS - 4 : 1, f->error);
        attroff(A_BOLD);
    }
    for (int i = 0; i < FIELD_COUNT; i++)
        draw_field(f, i);
    int col = f->focus == FIELD_PASSWORD ? (int)strlen(cmdline_text(f->fields[f->focus]))
                                         : cmdline_cursor_column(f->fields[f->focus]);
    move(FIELD_ROW + 2 * f->focus, FIELD_COL + (col < FIELD_W ? col : FIELD_W - 1));
    refresh();
}

/* Returns 1 submitted, -1 cancelled, 0 go on. */
static int on_key(struct form *f, int code, bool is_char)
{
    if (code == '\t' || code == KEY_DOWN) {
        f->focus = (f->focus + 1) % FIELD_COUNT;
        return 0;
    }
    if (code == KEY_BTAB || code == KEY_UP) {
        f->focus = (f->focus + FIELD_COUNT - 1) % FIELD_COUNT;
        return 0;
    }
    switch (cmdline_key(f->fields[f->focus], code, is_char, NULL)) {
    case CMDLINE_SUBMIT:
        if (f->focus == FIELD_PASSWORD)
            return 1;
        f->focus++;
        return 0;
    case CMDLINE_CANCEL:
        return -1;
    default:
        return 0;
    }
}

int tui_ask_login(const char *default_address, const char *default_user, const char *error,
                  struct tui_login_answers *out)
{
    memset(out, 0, sizeof(*out));
    struct screen s;
    char *why = NULL;
    if (screen_open(&s, NULL, &why) < 0) {
        fprintf(stderr, "chorus: %s\n", why);
        free(why);
        return -1;
    }
    struct form f = {.error = error};
    for (int i = 0; i < FIELD_COUNT; i++)
        f.fields[i] = cmdline_new(0);
    cmdline_reset(f.fields[FIELD_ADDRESS], default_address);
    cmdline_reset(f.fields[FIELD_USER], default_user);
    /* the first field left to fill */
    f.focus = !default_address || !*default_address ? FIELD_ADDRESS
              : !default_user || !*default_user     ? FIELD_USER
                                                    : FIELD_PASSWORD;
    curs_set(1);
    int done = 0;
    while (!done) {
        draw(&f);
        wint_t ch;
        nodelay(stdscr, FALSE);
        int rc = wget_wch(stdscr, &ch);
        if (rc == ERR)
            continue;
        if (rc == KEY_CODE_YES && ch == KEY_RESIZE)
            continue;
        done = on_key(&f, (int)ch, rc == OK);
    }
    screen_close(&s);
    if (done > 0) {
        out->address = xstrdup(cmdline_text(f.fields[FIELD_ADDRESS]));
        out->user = xstrdup(cmdline_text(f.fields[FIELD_USER]));
        out->password = xstrdup(cmdline_text(f.fields[FIELD_PASSWORD]));
    }
    for (int i = 0; i < FIELD_COUNT; i++)
        cmdline_free(f.fields[i]);
    return done > 0 ? 0 : -1;
}

void tui_login_answers_clear(struct tui_login_answers *a)
{
    free(a->address);
    free(a->user);
    if (a->password) {
        memset(a->password, 0, strlen(a->password));
        free(a->password);
    }
    memset(a, 0, sizeof(*a));
}
