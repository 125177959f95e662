/* Tests for core/log: the line format, level filtering and changes, the
 * NULL log, file creation (modes, parent directories, appending), one line
 * per message whatever it contains, refusal of a terminal, lines from four
 * threads that never interleave (every line parsed and counted), and
 * rotation: at the cap, off, a line longer than the cap, a refused rename,
 * two logs sharing one file, four threads across rotations, a device. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xmalloc.h"

#define LINE_RE                                                                                    \
    "^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\\.[0-9]{3}Z "              \
    "(ERROR|WARN |INFO |DEBUG) ([^ :]+): "

/* The lines of a file as a NULL-terminated array (owned: free_lines). A
 * file that does not end in a newline fails the test. */
static char **read_lines(const char *path, size_t *count)
{
    size_t len;
    char *data = testutil_read_file(path, &len);
    assert_true(len == 0 || data[len - 1] == '\n');
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    char **lines = xcalloc(n + 1, sizeof(*lines));
    char *p = data;
    for (size_t i = 0; i < n; i++) {
        char *nl = memchr(p, '\n', len - (size_t)(p - data));
        lines[i] = xstrndup(p, (size_t)(nl - p));
        p = nl + 1;
    }
    free(data);
    *count = n;
    return lines;
}

static void free_lines(char **lines)
{
    for (size_t i = 0; lines[i]; i++)
        free(lines[i]);
    free(lines);
}

struct parsed {
    char level[6];
    char module[64];
    const char *message; /* points into the line */
    time_t when;
};

/* Parses a log line, failing the test unless it has the exact format. */
static void parse_line(regex_t *re, const char *line, struct parsed *out)
{
    regmatch_t m[9];
    if (regexec(re, line, 9, m, 0) != 0)
        fail_msg("not a log line: \"%s\"", line);
    struct tm tm = {0};
    int f[6];
    for (int i = 0; i < 6; i++)
        f[i] = atoi(line + m[i + 1].rm_so);
    tm.tm_year = f[0] - 1900;
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    out->when = timegm(&tm);
    snprintf(out->level, sizeof(out->level), "%.*s", (int)(m[7].rm_eo - m[7].rm_so),
             line + m[7].rm_so);
    snprintf(out->module, sizeof(out->module), "%.*s", (int)(m[8].rm_eo - m[8].rm_so),
             line + m[8].rm_so);
    out->message = line + m[0].rm_eo;
    for (const char *c = out->message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            fail_msg("control character 0x%02x in \"%s\"", (unsigned char)*c, line);
}

struct fixture {
    char *dir;
    char *path;
    regex_t re;
};

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    fx->dir = testutil_tempdir("log");
    fx->path = xasprintf("%s/state/chorus/chorus.log", fx->dir);
    assert_int_equal(regcomp(&fx->re, LINE_RE, REG_EXTENDED), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    regfree(&fx->re);
    testutil_rmtree(fx->dir);
    free(fx->dir);
    free(fx->path);
    free(fx);
    return 0;
}

static void test_format_and_levels(void **state)
{
    struct fixture *fx = *state;
    umask(022);
    int err = 1;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, &err);
    assert_non_null(lg);
    assert_int_equal(err, 0);
    assert_string_equal(clog_path(lg), fx->path);
    assert_int_equal(clog_get_level(lg), CLOG_INFO);

    time_t before = time(NULL);
    clog_error(lg, "net", "peer %s gone", "10.0.0.2:4100");
    clog_warn(lg, "cache", "%d%% full", 93);
    clog_info(lg, "engine", "playing");
    clog_debug(lg, "sched", "not written at info");
    assert_false(clog_enabled(lg, CLOG_DEBUG));
    assert_true(clog_enabled(lg, CLOG_INFO));

    clog_set_level(lg, CLOG_DEBUG);
    clog_debug(lg, "sched", "written at debug");
    clog_set_level(lg, CLOG_ERROR);
    clog_warn(lg, "cache", "not written at error");
    clog_write(lg, CLOG_ERROR, NULL, "no module");
    time_t after = time(NULL);
    clog_free(lg);

    static const char *const want[][3] = {
        {"ERROR", "net", "peer 10.0.0.2:4100 gone"},
        {"WARN ", "cache", "93% full"},
        {"INFO ", "engine", "playing"},
        {"DEBUG", "sched", "written at debug"},
        {"ERROR", "-", "no module"},
    };
    size_t n;
    char **lines = read_lines(fx->path, &n);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        struct parsed p;
        parse_line(&fx->re, lines[i], &p);
        assert_string_equal(p.level, want[i][0]);
        assert_string_equal(p.module, want[i][1]);
        assert_string_equal(p.message, want[i][2]);
        assert_true(p.when >= before - 1 && p.when <= after + 1);
    }
    free_lines(lines);

    /* The file is private; the directories the log made are too. */
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *parent = xasprintf("%s/state/chorus", fx->dir);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    free(parent);
}

static void test_appends(void **state)
{
    struct fixture *fx = *state;
    for (int round = 0; round < 3; round++) {
        struct clog *lg = clog_new(fx->path, CLOG_DEBUG, NULL);
        assert_non_null(lg);
        clog_info(lg, "t", "round %d", round);
        clog_free(lg);
    }
    size_t n;
    char **lines = read_lines(fx->path, &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        struct parsed p;
        parse_line(&fx->re, lines[i], &p);
        char want[32];
        snprintf(want, sizeof(want), "round %zu", i);
        assert_string_equal(p.message, want);
    }
    free_lines(lines);
}

static void test_null_log_drops(void **state)
{
    (void)state;
    clog_error(NULL, "net", "dropped %d", 1);
    clog_debug(NULL, "net", "dropped");
    clog_set_level(NULL, CLOG_DEBUG);
    assert_false(clog_enabled(NULL, CLOG_ERROR));
    assert_int_equal(clog_get_level(NULL), CLOG_ERROR);
    assert_null(clog_path(NULL));
    clog_free(NULL);
}

static void test_one_line_per_message(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, NULL);
    assert_non_null(lg);
    clog_info(lg, "ui", "two\nlines\r\tand \x1b[31mred\x7f");
    char *mid = xmalloc(2001);
    memset(mid, 'm', 2000);
    mid[2000] = '\0';
    clog_info(lg, "ui", "%s", mid);
    char *huge = xmalloc(3 * CLOG_MAX_LINE);
    memset(huge, 'h', 3 * CLOG_MAX_LINE - 1);
    huge[3 * CLOG_MAX_LINE - 1] = '\0';
    clog_info(lg, "ui", "%s", huge);
    clog_info(lg, "ui", "after");
    clog_free(lg);

    size_t n;
    char **lines = read_lines(fx->path, &n);
    assert_int_equal(n, 4);
    struct parsed p;
    parse_line(&fx->re, lines[0], &p);
    assert_string_equal(p.message, "two lines  and  [31mred ");
    parse_line(&fx->re, lines[1], &p);
    assert_string_equal(p.message, mid);
    /* Cut to CLOG_MAX_LINE bytes with its newline, marked with "...". */
    parse_line(&fx->re, lines[2], &p);
    assert_int_equal(strlen(lines[2]) + 1, CLOG_MAX_LINE);
    size_t mlen = strlen(p.message);
    assert_string_equal(p.message + mlen - 3, "...");
    for (size_t i = 0; i < mlen - 3; i++)
        assert_int_equal(p.message[i], 'h');
    parse_line(&fx->re, lines[3], &p);
    assert_string_equal(p.message, "after");
    free_lines(lines);
    free(mid);
    free(huge);
}

static void test_level_names(void **state)
{
    (void)state;
    enum clog_level l = CLOG_ERROR;
    assert_int_equal(clog_level_from_string("warn", &l), 0);
    assert_int_equal(l, CLOG_WARN);
    assert_int_equal(clog_level_from_string("DEBUG", &l), 0);
    assert_int_equal(l, CLOG_DEBUG);
    assert_int_equal(clog_level_from_string("Info", &l), 0);
    assert_int_equal(l, CLOG_INFO);
    assert_int_equal(clog_level_from_string("error", &l), 0);
    assert_int_equal(l, CLOG_ERROR);
    assert_int_equal(clog_level_from_string("verbose", &l), -EINVAL);
    assert_int_equal(clog_level_from_string("", &l), -EINVAL);
    assert_int_equal(clog_level_from_string(NULL, &l), -EINVAL);
    assert_int_equal(l, CLOG_ERROR);
    assert_string_equal(clog_level_name(CLOG_WARN), "warn");
    assert_string_equal(clog_level_name((enum clog_level)17), "?");
    for (int i = 0; clog_level_names[i]; i++)
        assert_string_equal(clog_level_names[i], clog_level_name((enum clog_level)i));
}

static void test_open_errors(void **state)
{
    struct fixture *fx = *state;
    int err = 0;
    /* A directory is not a log file. */
    assert_null(clog_new(fx->dir, CLOG_INFO, &err));
    assert_int_equal(err, -EISDIR);
    /* A file where a parent directory should be. */
    char *file = xasprintf("%s/plain", fx->dir);
    testutil_write_file(file, "x", 1);
    char *below = xasprintf("%s/plain/chorus.log", fx->dir);
    assert_null(clog_new(below, CLOG_INFO, &err));
    assert_int_equal(err, -ENOTDIR);
    assert_null(clog_new("", CLOG_INFO, &err));
    assert_int_equal(err, -EINVAL);
    assert_null(clog_new(fx->path, (enum clog_level)9, &err));
    assert_int_equal(err, -EINVAL);
    free(file);
    free(below);
}

/* Never a terminal: a pseudo-terminal stands in for the user's. */
static void test_refuses_terminal(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        print_message("no pseudo-terminal here (%s)\n", strerror(errno));
        skip();
    }
    int err = 0;
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    const char *slave = ptsname(master);
    assert_non_null(slave);
    assert_null(clog_new(slave, CLOG_INFO, &err));
    assert_int_equal(err, CLOG_ETERMINAL);
    assert_non_null(strstr(clog_strerror(err), "terminal"));
    close(master);
}

/* ---- four writers ---- */

#define WRITERS          4
#define LINES_PER_WRITER 2500

struct writer {
    struct clog *lg;
    int id;
    int lines; /* how many it writes */
};

/* Message i of writer id: its length varies from a few bytes to beyond
 * the stack buffer and beyond PIPE_BUF, so both paths are mixed. */
static size_t payload_len(int id, int i)
{
    return (size_t)((i * 131 + id * 17) % 6000);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char *payload = xmalloc(6001);
    memset(payload, 'a' + w->id, 6000);
    for (int i = 0; i < w->lines; i++) {
        size_t len = payload_len(w->id, i);
        clog_info(w->lg, w->id % 2 ? "odd" : "even", "w%d seq=%d len=%zu %.*s", w->id, i, len,
                  (int)len, payload);
    }
    free(payload);
    return NULL;
}

struct flipper {
    struct clog *lg;
    volatile int stop; /* set by the main thread after joining the writers */
    pthread_mutex_t lock;
};

/* Changes the level under the writers' feet (never below info, so their
 * lines are all kept): exercises clog_set_level from another thread. */
static void *flipper_main(void *arg)
{
    struct flipper *f = arg;
    for (int i = 0;; i++) {
        pthread_mutex_lock(&f->lock);
        int stop = f->stop;
        pthread_mutex_unlock(&f->lock);
        if (stop)
            break;
        clog_set_level(f->lg, i % 2 ? CLOG_DEBUG : CLOG_INFO);
        clog_debug(f->lg, "flip", "level flipped %d", i);
        nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    return NULL;
}

/* Runs WRITERS writer threads of `lines` lines each on lg and joins them. */
static void run_writers(struct clog *lg, int lines)
{
    pthread_t threads[WRITERS];
    struct writer writers[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        writers[i] = (struct writer){lg, i, lines};
        assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &writers[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(threads[i], NULL);
}

/* Checks the lines of one file written by writer_main (and the flipper):
 * each line whole, each writer's lines in its own order, continuing from
 * next[] (updated). Returns the number of lines in the file. */
static size_t check_writer_lines(struct fixture *fx, const char *path, int next[WRITERS])
{
    size_t n;
    char **lines = read_lines(path, &n);
    for (size_t k = 0; k < n; k++) {
        struct parsed p;
        parse_line(&fx->re, lines[k], &p);
        if (strcmp(p.module, "flip") == 0) {
            assert_string_equal(p.level, "DEBUG");
            continue;
        }
        assert_string_equal(p.level, "INFO ");
        int id = -1, seq = -1, off = 0;
        size_t len = 0;
        if (sscanf(p.message, "w%d seq=%d len=%zu %n", &id, &seq, &len, &off) != 3)
            fail_msg("%s: bad message in line %zu: %.80s", path, k + 1, p.message);
        assert_true(id >= 0 && id < WRITERS);
        assert_string_equal(p.module, id % 2 ? "odd" : "even");
        /* Each writer's lines arrive whole and in its own order. */
        assert_int_equal(seq, next[id]);
        next[id]++;
        assert_int_equal(len, payload_len(id, seq));
        assert_int_equal(strlen(p.message + off), len);
        for (size_t i = 0; i < len; i++)
            if (p.message[off + i] != 'a' + id)
                fail_msg("%s: line %zu: byte %zu of writer %d's payload is '%c'", path, k + 1, i,
                         id, p.message[off + i]);
    }
    free_lines(lines);
    return n;
}

static void test_threads_never_interleave(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, NULL);
    assert_non_null(lg);

    struct flipper fl = {.lg = lg};
    pthread_mutex_init(&fl.lock, NULL);
    pthread_t flip;
    assert_int_equal(pthread_create(&flip, NULL, flipper_main, &fl), 0);
    run_writers(lg, LINES_PER_WRITER);
    pthread_mutex_lock(&fl.lock);
    fl.stop = 1;
    pthread_mutex_unlock(&fl.lock);
    pthread_join(flip, NULL);
    pthread_mutex_destroy(&fl.lock);
    clog_free(lg);

    /* Every line is a flipper's or the next of its writer's. */
    int next[WRITERS] = {0};
    check_writer_lines(fx, fx->path, next);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(next[i], LINES_PER_WRITER);
}

/* ---- rotation ---- */

/* Generation g of the log: 0 is the log itself, g > 0 the rotated file
 * path.g. Owned by the caller. */
static char *generation(const struct fixture *fx, unsigned g)
{
    return g ? xasprintf("%s.%u", fx->path, g) : xstrdup(fx->path);
}

/* How many rotated files there are: path.1 .. path.n exist, path.n+1 does
 * not. */
static unsigned rotated_count(const struct fixture *fx)
{
    for (unsigned n = 0;; n++) {
        char *path = generation(fx, n + 1);
        struct stat st;
        bool exists = lstat(path, &st) == 0;
        free(path);
        if (!exists)
            return n;
    }
}

static uint64_t generation_size(const struct fixture *fx, unsigned g)
{
    char *path = generation(fx, g);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    free(path);
    return (uint64_t)st.st_size;
}

/* Lines of two streams ("s0", "s1"), all of one length: the header is
 * fixed-width and so is the message. */
#define STREAMS 2
#define SEQ_PAD "the quick brown fox jumps over the lazy dog"

static void write_seq(struct clog *lg, int stream, int first, int count)
{
    for (int i = first; i < first + count; i++)
        clog_info(lg, stream ? "s1" : "s0", "seq=%06d " SEQ_PAD, i);
}

/* Reads every generation from the oldest (path.rotated) to the log itself:
 * each line whole, each stream's numbers consecutive across files from
 * next[stream] (-1: from wherever it starts); next[] is updated. Returns
 * the number of lines. */
static size_t check_seq_files(struct fixture *fx, unsigned rotated, int next[STREAMS])
{
    size_t total = 0;
    for (unsigned g = rotated + 1; g-- > 0;) {
        char *path = generation(fx, g);
        size_t n;
        char **lines = read_lines(path, &n);
        for (size_t k = 0; k < n; k++) {
            struct parsed p;
            parse_line(&fx->re, lines[k], &p);
            int stream = strcmp(p.module, "s1") == 0;
            if (!stream)
                assert_string_equal(p.module, "s0");
            int seq = -1;
            assert_int_equal(sscanf(p.message, "seq=%d", &seq), 1);
            if (next[stream] >= 0 && seq != next[stream])
                fail_msg("%s line %zu: stream %d has %d, expected %d", path, k + 1, stream, seq,
                         next[stream]);
            next[stream] = seq + 1;
            assert_string_equal(strchr(p.message, ' ') + 1, SEQ_PAD);
        }
        total += n;
        free_lines(lines);
        free(path);
    }
    return total;
}

/* The length of every write_seq line, newline included. */
static size_t seq_line_len(struct fixture *fx)
{
    size_t n;
    char **lines = read_lines(fx->path, &n);
    assert_true(n > 0);
    size_t len = strlen(lines[0]) + 1;
    free_lines(lines);
    return len;
}

#define CAP 4000

static void test_rotates_at_cap(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, NULL);
    assert_non_null(lg);
    clog_set_rotation(lg, CAP, 3);
    write_seq(lg, 0, 0, 250);
    clog_free(lg);

    /* Rotated when the next line would not fit: each rotated file holds as
     * many whole lines as the cap allows, the oldest went beyond .3. */
    size_t len = seq_line_len(fx);
    size_t per = CAP / len;
    assert_true(250 > 5 * per);
    assert_int_equal(rotated_count(fx), 3);
    for (unsigned g = 1; g <= 3; g++)
        assert_int_equal(generation_size(fx, g), per * len);
    uint64_t current = generation_size(fx, 0);
    assert_true(current > 0 && current <= per * len && current % len == 0);
    int oldest = 250 - (int)(current / len) - 3 * (int)per;
    int next[STREAMS] = {oldest, -1};
    assert_int_equal(check_seq_files(fx, 3, next), 250 - oldest);
    assert_int_equal(next[0], 250);

    /* Opened again, the log counts what the file already holds: it fills
     * up to the cap and rotates on the line after. */
    lg = clog_new(fx->path, CLOG_INFO, NULL);
    clog_set_rotation(lg, CAP, 3);
    int room = (int)(per - current / len);
    write_seq(lg, 0, 250, room);
    assert_int_equal(rotated_count(fx), 3);
    assert_int_equal(generation_size(fx, 0), per * len);
    write_seq(lg, 0, 250 + room, 1);
    clog_free(lg);
    assert_int_equal(rotated_count(fx), 3);
    assert_int_equal(generation_size(fx, 1), per * len);
    assert_int_equal(generation_size(fx, 0), len);
    next[0] = 250 + room + 1 - (int)(3 * per + 1);
    check_seq_files(fx, 3, next);
    assert_int_equal(next[0], 250 + room + 1);
}

static void test_rotation_off(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, NULL);
    assert_non_null(lg);
    write_seq(lg, 0, 0, 100); /* never set: off */
    clog_set_rotation(lg, CAP, 3);
    clog_set_rotation(lg, 0, 3); /* and off again */
    write_seq(lg, 0, 100, 100);
    clog_free(lg);
    assert_true(generation_size(fx, 0) > 2 * CAP);
    assert_int_equal(rotated_count(fx), 0);
    int next[STREAMS] = {0, -1};
    assert_int_equal(check_seq_files(fx, 0, next), 200);
}

/* A line longer than the cap gets a file of its own, whole. */
static void test_line_longer_than_cap(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, NULL);
    assert_non_null(lg);
    clog_set_rotation(lg, 40, 10);
    write_seq(lg, 0, 0, 5);
    clog_free(lg);
    assert_int_equal(rotated_count(fx), 4);
    size_t len = seq_line_len(fx);
    assert_true(len > 40);
    for (unsigned g = 0; g <= 4; g++)
        assert_int_equal(generation_size(fx, g), len);
    int next[STREAMS] = {0, -1};
    assert_int_equal(check_seq_files(fx, 4, next), 5);
}

/* A rotation that fails (chorus.log.1 is a directory, so the rename is
 * refused) loses nothing: the log goes on in chorus.log and rotates once
 * it can. */
static void test_rotation_failure(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, NULL);
    assert_non_null(lg);
    char *first = generation(fx, 1);
    assert_int_equal(mkdir(first, 0700), 0);
    clog_set_rotation(lg, CAP, 1);
    write_seq(lg, 0, 0, 250);
    struct stat st;
    assert_int_equal(lstat(first, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    int next[STREAMS] = {0, -1};
    assert_int_equal(check_seq_files(fx, 0, next), 250);

    /* Tried again within another cap's worth of lines. */
    assert_int_equal(rmdir(first), 0);
    size_t per = CAP / seq_line_len(fx);
    write_seq(lg, 0, 250, (int)per + 1);
    clog_free(lg);
    assert_int_equal(lstat(first, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_true(generation_size(fx, 0) <= CAP);
    next[0] = 0;
    assert_int_equal(check_seq_files(fx, 1, next), 250 + per + 1);
    free(first);
}

/* Two logs on one file stand for two processes (flock(2) locks belong to
 * the open file, so they meet as processes would): one rotates, the other
 * follows to the new file without rotating it again; nothing is lost. */
static void test_two_logs_share_a_file(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg[STREAMS];
    for (int i = 0; i < STREAMS; i++) {
        lg[i] = clog_new(fx->path, CLOG_INFO, NULL);
        assert_non_null(lg[i]);
        clog_set_rotation(lg[i], CAP, 50);
    }
    for (int i = 0; i < 300; i++)
        for (int k = 0; k < STREAMS; k++)
            write_seq(lg[k], k, i, 1);
    for (int i = 0; i < STREAMS; i++)
        clog_free(lg[i]);

    unsigned rotated = rotated_count(fx);
    assert_true(rotated >= 4 && rotated < 50);
    /* Each log counts only its own lines: up to twice the cap. */
    for (unsigned g = 0; g <= rotated; g++)
        assert_true(generation_size(fx, g) <= STREAMS * CAP);
    int next[STREAMS] = {0, 0};
    assert_int_equal(check_seq_files(fx, rotated, next), STREAMS * 300);
    assert_int_equal(next[0], 300);
    assert_int_equal(next[1], 300);
}

/* Four threads across several rotations: every line whole, none lost. */
static void test_rotation_threads(void **state)
{
    struct fixture *fx = *state;
    struct clog *lg = clog_new(fx->path, CLOG_INFO, NULL);
    assert_non_null(lg);
    const uint64_t cap = 512 << 10;
    clog_set_rotation(lg, cap, CLOG_MAX_KEEP);
    run_writers(lg, 400);
    clog_free(lg);

    unsigned rotated = rotated_count(fx);
    assert_true(rotated >= 3);
    /* Lines in flight during a rotation may pass the cap, a few at most. */
    for (unsigned g = 0; g <= rotated; g++)
        assert_true(generation_size(fx, g) <= cap + WRITERS * CLOG_MAX_LINE);
    int next[WRITERS] = {0};
    size_t total = 0;
    for (unsigned g = rotated + 1; g-- > 0;) {
        char *path = generation(fx, g);
        total += check_writer_lines(fx, path, next);
        free(path);
    }
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(next[i], 400);
    assert_int_equal(total, WRITERS * 400);
}

/* A log that is not a regular file never rotates: here a link to
 * /dev/null, which a rename would have replaced. */
static void test_no_rotation_of_devices(void **state)
{
    struct fixture *fx = *state;
    char *link = xasprintf("%s/null", fx->dir);
    assert_int_equal(symlink("/dev/null", link), 0);
    struct clog *lg = clog_new(link, CLOG_INFO, NULL);
    assert_non_null(lg);
    clog_set_rotation(lg, 40, 3);
    write_seq(lg, 0, 0, 10);
    clog_free(lg);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char *rotated = xasprintf("%s.1", link);
    assert_int_equal(lstat(rotated, &st), -1);
    free(rotated);
    free(link);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_and_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appends, setup, teardown),
        cmocka_unit_test(test_null_log_drops),
        cmocka_unit_test_setup_teardown(test_one_line_per_message, setup, teardown),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test(test_refuses_terminal),
        cmocka_unit_test_setup_teardown(test_threads_never_interleave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotates_at_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_longer_than_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_logs_share_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_rotation_of_devices, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
