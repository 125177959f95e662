/* screen: the terminal under ncurses (see ui/internal.h).
 *
 * One terminal per process: the crash handler needs to know whether the
 * screen is open, so that one flag is the module's only file-level state
 * (a signal handler has no other way to find it).
 *
 * Colours: a pair per element of enum ui_attr, from the built-in table
 * below unless chorus.conf's [colors] sets one; monochrome (bold,
 * reverse, underline, dim only) when the terminal has no colours,
 * NO_COLOR is set (https://no-color.org) or [ui] color = never.
 * [ui] color = always uses colours even under NO_COLOR. */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "internal.h"

static volatile sig_atomic_t screen_is_open;

struct look {
    short fg, bg; /* -1: the terminal's default */
    int color_attr, mono_attr;
};

static const struct look looks[UI_ATTR_COUNT] = {
    [UI_ATTR_NORMAL] = {-1, -1, 0, 0},
    [UI_ATTR_TABS] = {-1, -1, A_DIM, 0},
    [UI_ATTR_TAB_ACTIVE] = {COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD},
    [UI_ATTR_HEADER] = {COLOR_CYAN, -1, A_BOLD, A_UNDERLINE},
    [UI_ATTR_SELECTED] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
    [UI_ATTR_CURSOR] = {COLOR_WHITE, COLOR_BLUE, 0, A_UNDERLINE},
    [UI_ATTR_PLAYING] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [UI_ATTR_DIM] = {-1, -1, A_DIM, A_DIM},
    [UI_ATTR_BAR] = {COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE},
    [UI_ATTR_PROGRESS] = {COLOR_GREEN, COLOR_BLUE, A_BOLD, A_REVERSE | A_BOLD},
    [UI_ATTR_STATUS] = {COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE},
    [UI_ATTR_ERROR] = {COLOR_RED, -1, A_BOLD, A_BOLD},
    [UI_ATTR_CACHE] = {COLOR_GREEN, -1, 0, 0},
    [UI_ATTR_PEER] = {COLOR_CYAN, -1, A_BOLD, A_BOLD},
    [UI_ATTR_SERVICE] = {COLOR_YELLOW, -1, 0, 0},
    [UI_ATTR_MISSING] = {-1, -1, A_DIM, A_DIM},
    [UI_ATTR_PLAYHEAD] = {COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE},
};

/* Crash signals: give the terminal back, then die of the same signal
 * (the handler is one-shot: SA_RESETHAND). endwin is not on the list of
 * async-signal-safe functions, but a crashing process has nothing left to
 * protect and a terminal left in raw mode is worse. */
static void on_crash(int sig)
{
    if (screen_is_open)
        endwin();
    raise(sig);
}

static void catch_crashes(void)
{
    static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

static bool want_colors(const struct chorus_settings *settings)
{
    if (settings && settings->ui_color == SETTINGS_UI_COLOR_NEVER)
        return false;
    if (!has_colors())
        return false;
    if (settings && settings->ui_color == SETTINGS_UI_COLOR_ALWAYS)
        return true;
    const char *no = getenv("NO_COLOR");
    return !(no && *no);
}

/* The pair of element i: [colors] when set (checked when the settings
 * were read), else the table's. */
static int set_pair(int i, const struct chorus_settings *settings, char **error)
{
    int fg = looks[i].fg, bg = looks[i].bg;
    const char *spec = settings && i > 0 ? settings->colors[i - 1] : NULL;
    if (spec && settings_color_parse(spec, &fg, &bg) < 0) {
        *error = xasprintf("[colors] %s: cannot read \"%s\" (chorus.conf(5))",
                           settings_color_names[i - 1], spec);
        return -1;
    }
    if (fg >= COLORS)
        fg %= 8;
    if (bg >= COLORS)
        bg %= 8;
    init_pair((short)(i + 1), (short)fg, (short)bg);
    return COLOR_PAIR(i + 1);
}

static int setup_colors(struct screen *s, const struct chorus_settings *settings, char **error)
{
    s->colors = want_colors(settings);
    if (s->colors) {
        start_color();
        use_default_colors();
    }
    for (int i = 0; i < UI_ATTR_COUNT; i++) {
        if (!s->colors) {
            s->attrs[i] = looks[i].mono_attr;
            continue;
        }
        int pair = set_pair(i, settings, error);
        if (pair < 0)
            return -1;
        s->attrs[i] = pair | looks[i].color_attr;
    }
    return 0;
}

int screen_open(struct screen *s, const struct chorus_settings *settings, char **error)
{
    memset(s, 0, sizeof(*s));
    *error = NULL;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        *error = xstrdup("the TUI needs a terminal (chorus --headless and chorus remote work "
                         "without one)");
        return -1;
    }
    /* UTF-8 titles: ncurses and wcwidth take the encoding from the
     * locale, which a C program does not adopt until it asks. */
    setlocale(LC_ALL, "");
    const char *term = getenv("TERM");
    /* newterm, unlike initscr, returns NULL instead of exiting. */
    if (!newterm(NULL, stdout, stdin)) {
        *error =
            xasprintf("cannot use the terminal type \"%s\" (is TERM right?)", term ? term : "");
        return -1;
    }
    screen_is_open = 1;
    catch_crashes();
    cbreak();
    noecho();
    nonl();
    raw(); /* ^C and ^Z reach the TUI as keys: ^C cancels a prompt, q quits */
    keypad(stdscr, TRUE);
    set_escdelay(25);
    leaveok(stdscr, FALSE);
    if (setup_colors(s, settings, error) < 0) {
        screen_close(s);
        return -1;
    }
    screen_resize(s);
    return 0;
}

void screen_close(struct screen *s)
{
    if (screen_is_open) {
        curs_set(1);
        endwin();
        screen_is_open = 0;
    }
    canvas_free(s->front);
    s->front = NULL;
}

void screen_resize(struct screen *s)
{
    int h, w;
    getmaxyx(stdscr, h, w);
    s->w = w > 0 ? w : 1;
    s->h = h > 0 ? h : 1;
    canvas_free(s->front);
    s->front = NULL; /* nothing known on screen: every row is drawn */
    clearok(curscr, TRUE);
}

void screen_invalidate(struct screen *s)
{
    canvas_free(s->front);
    s->front = NULL;
    clearok(curscr, TRUE);
}

/* Row y of c as it goes to the terminal: runs of one attribute. */
static void draw_row(const struct screen *s, const struct canvas *c, int y)
{
    move(y, 0);
    int current = -1;
    for (int x = 0; x < c->w; x++) {
        const struct canvas_cell *cell = canvas_cell(c, y, x);
        if (cell->width == 0)
            continue;
        /* the last cell of the last row: writing it would scroll */
        if (y == s->h - 1 && x + cell->width >= s->w)
            break;
        if (cell->attr != current) {
            current = cell->attr;
            attrset((attr_t)s->attrs[current < UI_ATTR_COUNT ? current : 0]);
        }
        addstr(cell->text[0] ? cell->text : " ");
    }
    attrset(A_NORMAL);
}

static void remember(struct screen *s, const struct canvas *c)
{
    if (!s->front || s->front->w != c->w || s->front->h != c->h) {
        canvas_free(s->front);
        s->front = canvas_new(c->w, c->h);
    }
    memcpy(s->front->cells, c->cells, (size_t)c->w * (size_t)c->h * sizeof(*c->cells));
}

void screen_draw(struct screen *s, const struct canvas *c, int cursor_col)
{
    bool all = !s->front || s->front->w != c->w || s->front->h != c->h;
    for (int y = 0; y < c->h && y < s->h; y++)
        if (all || !canvas_row_equal(s->front, c, y))
            draw_row(s, c, y);
    remember(s, c);
    if (cursor_col >= 0) {
        move(s->h - 1, cursor_col < s->w ? cursor_col : s->w - 1);
        curs_set(1);
    } else {
        curs_set(0);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

bool screen_key(int *code, bool *is_char)
{
    wint_t ch;
    nodelay(stdscr, TRUE);
    int rc = wget_wch(stdscr, &ch);
    if (rc == ERR)
        return false;
    *code = (int)ch;
    *is_char = rc == OK;
    return true;
}
