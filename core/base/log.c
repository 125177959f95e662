/* log: a leveled log file shared by every thread of an engine (see
 * core/include/core/log.h).
 *
 * Owns one file descriptor opened with O_APPEND and the current level (an
 * atomic, so clog_set_level needs no lock). No mutex: each line is built in
 * the caller's own buffer and written with a single write(2); the kernel
 * appends it whole, which is what keeps concurrent lines apart. Runs on the
 * calling thread. Must never write to a terminal, never block on anything
 * but the write itself, and never fail the caller. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"

struct clog {
    int fd;
    atomic_int level;
    char *path;
};

const char *const clog_level_names[] = {"error", "warn", "info", "debug", NULL};

/* As written in a line: upper case, five columns. */
static const char *const level_tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

#define LEVEL_COUNT    4
#define MODULE_MAX_LEN 24 /* longer module names are cut in the line */

static bool valid_level(int level)
{
    return level >= CLOG_ERROR && level < LEVEL_COUNT;
}

static void set_err(int *err, int value)
{
    if (err)
        *err = value;
}

struct clog *clog_new(const char *path, enum clog_level min_level, int *err)
{
    if (!path || !*path || !valid_level((int)min_level)) {
        set_err(err, -EINVAL);
        return NULL;
    }
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char *parent = xstrndup(path, (size_t)(slash - path));
        int r = fs_mkdir_p(parent, 0700);
        free(parent);
        if (r < 0) {
            set_err(err, r);
            return NULL;
        }
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        set_err(err, -errno);
        return NULL;
    }
    if (isatty(fd)) {
        close(fd);
        set_err(err, CLOG_ETERMINAL);
        return NULL;
    }
    struct clog *lg = xcalloc(1, sizeof(*lg));
    lg->fd = fd;
    atomic_init(&lg->level, (int)min_level);
    lg->path = xstrdup(path);
    set_err(err, 0);
    return lg;
}

void clog_free(struct clog *lg)
{
    if (!lg)
        return;
    close(lg->fd);
    free(lg->path);
    free(lg);
}

void clog_set_level(struct clog *lg, enum clog_level level)
{
    if (lg && valid_level((int)level))
        atomic_store_explicit(&lg->level, (int)level, memory_order_relaxed);
}

enum clog_level clog_get_level(const struct clog *lg)
{
    if (!lg)
        return CLOG_ERROR;
    return (enum clog_level)atomic_load_explicit(&lg->level, memory_order_relaxed);
}

bool clog_enabled(const struct clog *lg, enum clog_level level)
{
    return lg && valid_level((int)level) &&
           (int)level <= atomic_load_explicit(&lg->level, memory_order_relaxed);
}

const char *clog_path(const struct clog *lg)
{
    return lg ? lg->path : NULL;
}

int clog_level_from_string(const char *s, enum clog_level *out)
{
    for (int i = 0; s && clog_level_names[i]; i++) {
        if (strcasecmp(s, clog_level_names[i]) == 0) {
            *out = (enum clog_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *clog_level_name(enum clog_level level)
{
    return valid_level((int)level) ? clog_level_names[level] : "?";
}

/* "2026-11-27T12:00:00.123Z WARN  net: " into buf; returns its length. */
static size_t format_header(char *buf, size_t cap, enum clog_level level, const char *module)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %.*s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(ts.tv_nsec / 1000000), level_tags[level], MODULE_MAX_LEN,
                     module ? module : "-");
    return n < 0 ? 0 : (size_t)n;
}

void clog_vwrite(struct clog *lg, enum clog_level level, const char *module, const char *fmt,
                 va_list ap)
{
    if (!clog_enabled(lg, level))
        return;

    /* Most lines fit the stack buffer; longer ones get a heap buffer of
     * their size, up to CLOG_MAX_LINE. */
    char small[512];
    char *line = small;
    size_t head = format_header(small, sizeof(small), level, module);

    va_list copy;
    va_copy(copy, ap);
    int need = vsnprintf(small + head, sizeof(small) - head, fmt, copy);
    va_end(copy);
    size_t body = need < 0 ? 0 : (size_t)need;
    if (need < 0)
        small[head] = '\0';

    if (head + body >= sizeof(small)) {
        size_t cap = head + body + 2; /* message, newline, NUL */
        bool cut = cap > CLOG_MAX_LINE + 1;
        if (cut)
            cap = CLOG_MAX_LINE + 1;
        line = xmalloc(cap);
        memcpy(line, small, head);
        vsnprintf(line + head, cap - head - 1, fmt, ap);
        if (cut) {
            body = cap - head - 2;
            memcpy(line + head + body - 3, "...", 3);
        }
    }

    /* One message, one line: no control character survives. */
    for (size_t i = head; i < head + body; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            line[i] = ' ';
    }
    line[head + body] = '\n';

    /* A failed write loses this line only; there is nowhere to report it. */
    (void)fs_write_full(lg->fd, line, head + body + 1);

    if (line != small)
        free(line);
}

void clog_write(struct clog *lg, enum clog_level level, const char *module, const char *fmt, ...)
{
    if (!clog_enabled(lg, level))
        return;
    va_list ap;
    va_start(ap, fmt);
    clog_vwrite(lg, level, module, fmt, ap);
    va_end(ap);
}

const char *clog_strerror(int err)
{
    if (err == CLOG_ETERMINAL)
        return "a log file cannot be a terminal";
    return strerror(-err);
}
