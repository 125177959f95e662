/* log: the log file (DESIGN.md §9: logs go to a file under the state
 * directory, never to the terminal).
 *
 * One struct clog per log file, shared by every module and thread of an
 * engine. Each message becomes exactly one line, written with one write(2)
 * on a file opened with O_APPEND, so lines from concurrent threads (and
 * processes) never interleave:
 *
 *   2026-11-27T12:00:00.123Z WARN  net: peer 10.0.0.2:4100 closed: timeout
 *
 * UTC time with milliseconds, the level padded to five columns, the module,
 * the message. Control characters in the message (a newline, an escape
 * sequence from a peer's string) become spaces, so one line is always one
 * message. Messages longer than CLOG_MAX_LINE bytes are cut and end with
 * "...".
 *
 * A NULL struct clog * is accepted everywhere and drops every message, so
 * a module runs without a log (in tests) with no special case. Writing
 * never fails from the caller's point of view: a full disk loses lines, not
 * the player.
 *
 * Rotation (clog_set_rotation; off unless set): before a line that would
 * take the file past max_bytes, chorus.log is renamed chorus.log.1, the
 * older .1 .. .<keep-1> move up one (the old .<keep> is dropped) and a
 * fresh chorus.log is opened. A file always holds at least one line, so a
 * line longer than max_bytes gets a file of its own. Lines are never cut or
 * lost by a rotation; lines other threads are writing at that moment may
 * still land in chorus.log.1 or go uncounted, taking a file a few lines past
 * the cap. Several processes may share one log (chorus login while an
 * engine runs): a rotation is done once, under an flock(2) on the file, and
 * a process still holding the old file goes on writing into chorus.log.1
 * until its own count reaches the cap, then reopens chorus.log without
 * rotating again. As each process counts only its own lines between looks
 * at the file, n writing processes may take a file to about n times the
 * cap. A failed rotation (rename refused, disk full) keeps the log writing
 * where it is and is tried again after another max_bytes. A log that is
 * not a regular file (/dev/null) never rotates.
 *
 * Threads: clog_write, clog_set_level and clog_set_rotation from any
 * thread; clog_new and clog_free by the owner, when no other thread uses
 * the log. */
#ifndef CHORUS_CORE_LOG_H
#define CHORUS_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* Most severe first: a log at level L writes messages of level <= L. */
enum clog_level {
    CLOG_ERROR,
    CLOG_WARN,
    CLOG_INFO,
    CLOG_DEBUG,
};

/* The level names in enum order, NULL-terminated: "error", "warn",
 * "info", "debug" (a CONFIG_ENUM word list: the index is the level). */
extern const char *const clog_level_names[];

/* Longest line written, newline included. */
#define CLOG_MAX_LINE 8192

/* The player's rotation (log.max_size and log.keep in chorus.conf(5)):
 * 10 MiB per file, three old files kept. */
#define CLOG_DEFAULT_MAX_BYTES ((uint64_t)10 << 20)
#define CLOG_DEFAULT_KEEP      3

/* Most old files a log keeps (a larger keep is cut to this). */
#define CLOG_MAX_KEEP 999

/* Errors (negative). Others are -errno. */
enum {
    CLOG_ETERMINAL = -1300, /* the path is a terminal: a log never writes there */
};

struct clog;

/* Opens path for appending (created with mode 0600, its missing parent
 * directories with 0700) and writes messages of min_level and more severe.
 * path is copied. Returns NULL and sets *err (may be NULL) to -errno or
 * CLOG_ETERMINAL on failure. The caller owns the result (clog_free). */
struct clog *clog_new(const char *path, enum clog_level min_level, int *err);

/* Closes the file. NULL is ignored. */
void clog_free(struct clog *lg);

/* Caps the file at max_bytes, keeping keep rotated files (path.1 newest ..
 * path.<keep> oldest; keep 0 counts as 1, more than CLOG_MAX_KEEP as
 * CLOG_MAX_KEEP). max_bytes 0 turns rotation off, as after clog_new. Takes
 * effect with the next line. NULL is ignored. */
void clog_set_rotation(struct clog *lg, uint64_t max_bytes, unsigned keep);

/* Changes the level; takes effect at once for every thread. NULL is
 * ignored. */
void clog_set_level(struct clog *lg, enum clog_level level);

/* The current level (CLOG_ERROR for NULL). */
enum clog_level clog_get_level(const struct clog *lg);

/* True when a message of this level would be written: lets a caller skip
 * preparing an expensive message. False for NULL. */
bool clog_enabled(const struct clog *lg, enum clog_level level);

/* The file the log writes to (owned by lg), or NULL for NULL. */
const char *clog_path(const struct clog *lg);

/* Parses a level name ("error", "warn", "info", "debug"; any case).
 * Returns 0 and sets *out, or -EINVAL. */
int clog_level_from_string(const char *s, enum clog_level *out);

/* The lower-case name of a level ("?" when out of range). */
const char *clog_level_name(enum clog_level level);

/* Writes one message. module names the writer ("net", "cache"; NULL is
 * written as "-"). lg may be NULL. */
void clog_write(struct clog *lg, enum clog_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void clog_vwrite(struct clog *lg, enum clog_level level, const char *module, const char *fmt,
                 va_list ap) __attribute__((format(printf, 4, 0)));

/* Text for an error returned by clog_new. */
const char *clog_strerror(int err);

/* Shorthands: clog_warn(lg, "net", "peer %s closed", addr). */
#define clog_error(lg, module, ...) clog_write((lg), CLOG_ERROR, (module), __VA_ARGS__)
#define clog_warn(lg, module, ...)  clog_write((lg), CLOG_WARN, (module), __VA_ARGS__)
#define clog_info(lg, module, ...)  clog_write((lg), CLOG_INFO, (module), __VA_ARGS__)
#define clog_debug(lg, module, ...) clog_write((lg), CLOG_DEBUG, (module), __VA_ARGS__)

#endif
