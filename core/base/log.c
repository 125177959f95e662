/* log: a leveled log file shared by every thread of an engine (see
 * core/include/core/log.h).
 *
 * Owns one file descriptor opened with O_APPEND and the current level (an
 * atomic, so clog_set_level needs no lock). Each line is built in the
 * caller's own buffer and written with a single write(2); the kernel
 * appends it whole, which is what keeps concurrent lines apart.
 *
 * Rotation keeps that path lock-free: an atomic count of the file's bytes
 * (read from fstat when rotation is set) is bumped per line, and only the
 * line that crosses the cap takes rotate_lock. The descriptor number never
 * changes: the fresh file is dup2()ed onto it, so a thread that loaded it
 * just before still writes a whole line (into the renamed file) and never
 * into a closed or recycled descriptor. Under the lock the file is checked
 * again (fstat, and stat of the path for another process's rotation) so a
 * cap crossed by several threads or processes rotates once.
 *
 * Runs on the calling thread. Must never write to a terminal, never block
 * on anything but the write itself (and, once per rotation, the lock), and
 * never fail the caller. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"

struct clog {
    int fd; /* constant for the log's life: rotation dup2()s onto it */
    atomic_int level;
    char *path;
    _Atomic uint64_t max_bytes; /* 0: no rotation */
    _Atomic uint64_t size;      /* bytes of the file as this process counts them */
    unsigned keep;              /* under rotate_lock */
    pthread_mutex_t rotate_lock;
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

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
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
    int fd = open_file(path);
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
    atomic_init(&lg->max_bytes, 0);
    atomic_init(&lg->size, 0);
    lg->keep = 1;
    pthread_mutex_init(&lg->rotate_lock, NULL);
    set_err(err, 0);
    return lg;
}

void clog_free(struct clog *lg)
{
    if (!lg)
        return;
    close(lg->fd);
    pthread_mutex_destroy(&lg->rotate_lock);
    free(lg->path);
    free(lg);
}

void clog_set_rotation(struct clog *lg, uint64_t max_bytes, unsigned keep)
{
    if (!lg)
        return;
    pthread_mutex_lock(&lg->rotate_lock);
    struct stat st;
    /* Renaming /dev/null or a pipe would be a disaster: only a regular
     * file rotates. */
    if (fstat(lg->fd, &st) != 0 || !S_ISREG(st.st_mode))
        max_bytes = 0;
    lg->keep = keep < 1 ? 1 : keep > CLOG_MAX_KEEP ? CLOG_MAX_KEEP : keep;
    atomic_store(&lg->size, max_bytes ? (uint64_t)st.st_size : 0);
    atomic_store(&lg->max_bytes, max_bytes);
    pthread_mutex_unlock(&lg->rotate_lock);
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

/* Points lg->fd at a fresh open of lg->path and sets *size to that file's
 * size. Returns 0, or -errno with lg->fd unchanged. */
static int reopen(struct clog *lg, uint64_t *size)
{
    int fd = open_file(lg->path);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) != 0)
        r = -errno;
    else if (!S_ISREG(st.st_mode)) /* replaced by a device or a pipe: not ours */
        r = -EINVAL;
    else if (dup2(fd, lg->fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0)
        *size = (uint64_t)st.st_size;
    return r;
}

/* path.<keep-1> -> path.<keep> (replacing the oldest) ... path -> path.1.
 * A missing older file is the usual case, and one that cannot move only
 * costs its history; what matters is that path itself moves. Returns 0 or
 * -errno from that last rename. */
static int shift_files(const struct clog *lg)
{
    for (unsigned i = lg->keep; i > 1; i--) {
        char *from = xasprintf("%s.%u", lg->path, i - 1);
        char *to = xasprintf("%s.%u", lg->path, i);
        (void)rename(from, to);
        free(from);
        free(to);
    }
    char *first = xasprintf("%s.1", lg->path);
    int r = rename(lg->path, first) == 0 ? 0 : -errno;
    free(first);
    return r;
}

/* Writes a line of len bytes that this process's count says takes the file
 * past max: rotates first if the file, looked at again under the locks,
 * still needs it. */
static void rotate_and_write(struct clog *lg, const char *line, size_t len, uint64_t max)
{
    pthread_mutex_lock(&lg->rotate_lock);
    /* Another process sharing the file waits here while one rotates; the
     * lock lives on a dup so it is released even after lg->fd moves on. */
    int lock_fd = dup(lg->fd);
    if (lock_fd >= 0)
        (void)flock(lock_fd, LOCK_EX);

    /* On failure the count starts again from 0: the log goes on where it
     * is and tries again after another max bytes, not on every line. */
    uint64_t size = 0, count = 0;
    struct stat fst, pst;
    if (fstat(lg->fd, &fst) == 0 && stat(lg->path, &pst) == 0 && fst.st_dev == pst.st_dev &&
        fst.st_ino == pst.st_ino) {
        /* Still the current file, and only the holder of its lock renames
         * it: another thread may have rotated already (then it is small). */
        count = (uint64_t)fst.st_size;
        if (count > 0 && count + len > max)
            count = shift_files(lg) == 0 && reopen(lg, &size) == 0 ? size : 0;
    } else if (reopen(lg, &size) == 0) {
        /* Rotated by another process (or removed): follow it. That file is
         * locked by someone else, so it is not rotated here. */
        count = size;
    }
    atomic_store(&lg->size, count + len);
    (void)fs_write_full(lg->fd, line, len);

    if (lock_fd >= 0) {
        (void)flock(lock_fd, LOCK_UN);
        close(lock_fd);
    }
    pthread_mutex_unlock(&lg->rotate_lock);
}

/* Appends one whole line, rotating first when it would pass the cap. */
static void write_line(struct clog *lg, const char *line, size_t len)
{
    uint64_t max = atomic_load_explicit(&lg->max_bytes, memory_order_relaxed);
    if (max) {
        uint64_t before = atomic_fetch_add_explicit(&lg->size, len, memory_order_relaxed);
        if (before > 0 && before + len > max) {
            rotate_and_write(lg, line, len, max);
            return;
        }
    }
    /* A failed write loses this line only; there is nowhere to report it. */
    (void)fs_write_full(lg->fd, line, len);
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

    write_line(lg, line, head + body + 1);

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
