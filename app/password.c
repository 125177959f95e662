/* password: reading passwords for chorusd useradd and chorus play (see
 * app/password.h). Owns nothing but the saved terminal settings while echo
 * is off; main thread only. */
#include "password.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base/xmalloc.h"

/* The terminal's settings while echo is off, for the signal handler: a
 * handler can reach nothing but a global. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty(int sig)
{
    if (tty_changed)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line from f without its line end, into a new buffer (NULL at end
 * of input). */
static char *read_line(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    return line;
}

void password_wipe(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static char *prompt(const char *text)
{
    fputs(text, stderr);
    fflush(stderr);
    struct termios quiet = saved_tty;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    tty_changed = 1;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    char *line = read_line(stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    tty_changed = 0;
    fputc('\n', stderr);
    return line;
}

char *password_read(const char *who, const char *text, bool confirm)
{
    if (!isatty(STDIN_FILENO)) {
        char *pw = read_line(stdin);
        if (!pw)
            fprintf(stderr, "%s: no password on standard input\n", who);
        return pw;
    }
    if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) {
        fprintf(stderr, "%s: cannot read the terminal: %s\n", who, strerror(errno));
        return NULL;
    }
    signal(SIGINT, restore_tty);
    signal(SIGTERM, restore_tty);
    char *pw = prompt(text);
    char *again = pw && confirm ? prompt("Again: ") : NULL;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (!pw || (confirm && (!again || strcmp(pw, again) != 0))) {
        fprintf(stderr, "%s: %s\n", who,
                pw && again ? "the passwords do not match" : "no password given");
        password_wipe(pw);
        password_wipe(again);
        return NULL;
    }
    password_wipe(again);
    return pw;
}

char *password_from_file(const char *who, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot read the password file %s: %s\n", who, path, strerror(errno));
        return NULL;
    }
    char *pw = read_line(f);
    fclose(f);
    if (!pw || !*pw) {
        fprintf(stderr, "%s: the password file %s is empty\n", who, path);
        password_wipe(pw);
        return NULL;
    }
    return pw;
}

char *password_for_login(const char *who, const char *file, const char *user, const char *address)
{
    if (file)
        return password_from_file(who, file);
    const char *env = getenv("CHORUS_PASSWORD");
    if (env && *env)
        return xstrdup(env);
    char *prompt = xasprintf("Password for %s at %s: ", user, address);
    char *pw = password_read(who, prompt, false);
    free(prompt);
    return pw;
}
