/* Tests for core/fsutil: mkdir -p, atomic writes (exact modes, no temp file
 * left after success or failure, old content kept when the writer dies
 * before the rename or is killed at random moments), whole-file reads with
 * a size cap, the temp-file sweep, and the write hook of the full-disk
 * tests. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"

/* Number of entries in dir other than . and .., and of temp files among them. */
static int count_entries(const char *dir, int *temps)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    *temps = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (fs_is_temp_name(e->d_name))
            (*temps)++;
    }
    closedir(d);
    return n;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void assert_file_is(const char *path, const void *data, size_t len)
{
    size_t got_len;
    void *got = testutil_read_file(path, &got_len);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, data, len);
    free(got);
}

static void test_mkdir_p(void **state)
{
    mode_t old_umask = umask(022);
    char *dir = testutil_tempdir("fs_mkdir");
    char *deep = xasprintf("%s/a/b//c/", dir);
    assert_int_equal(fs_mkdir_p(deep, 0750), 0);
    char *c = xasprintf("%s/a/b/c", dir);
    assert_int_equal(mode_of(c), 0750 & ~022);
    assert_int_equal(fs_mkdir_p(deep, 0700), 0); /* existing: fine, unchanged */

    char *file = xasprintf("%s/a/file", dir);
    testutil_write_file(file, "x", 1);
    char *under_file = xasprintf("%s/a/file/sub", dir);
    assert_int_equal(fs_mkdir_p(file, 0700), -ENOTDIR);
    assert_int_equal(fs_mkdir_p(under_file, 0700), -ENOTDIR);
    assert_int_equal(fs_mkdir_p("", 0700), -EINVAL);
    umask(old_umask);

    testutil_rmtree(dir);
    free(deep);
    free(c);
    free(file);
    free(under_file);
    free(dir);
}

static void test_write_atomic_replaces_and_leaves_no_temp(void **state)
{
    char *dir = testutil_tempdir("fs_atomic");
    char *path = xasprintf("%s/target", dir);
    mode_t old_umask = umask(077); /* the mode must not depend on the umask */

    assert_int_equal(fs_write_atomic(path, "first", 5, 0644), 0);
    assert_file_is(path, "first", 5);
    assert_int_equal(mode_of(path), 0644);

    uint8_t *big = xmalloc(300000);
    for (size_t i = 0; i < 300000; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(fs_write_atomic(path, big, 300000, 0600), 0);
    assert_file_is(path, big, 300000);
    assert_int_equal(mode_of(path), 0600);

    assert_int_equal(fs_write_atomic(path, "", 0, 0600), 0); /* empty files are fine */
    assert_file_is(path, "", 0);

    int temps;
    assert_int_equal(count_entries(dir, &temps), 1);
    assert_int_equal(temps, 0);

    /* Failure (missing directory): error, nothing created. */
    char *missing = xasprintf("%s/nodir/target", dir);
    assert_int_equal(fs_write_atomic(missing, "x", 1, 0644), -ENOENT);
    /* A directory in the way of the rename: the temp file is cleaned up. */
    char *sub = xasprintf("%s/sub", dir);
    assert_int_equal(fs_mkdir_p(sub, 0755), 0);
    assert_int_equal(fs_write_atomic(sub, "x", 1, 0644), -EISDIR);
    assert_int_equal(count_entries(dir, &temps), 2);
    assert_int_equal(temps, 0);

    umask(old_umask);
    testutil_rmtree(dir);
    free(big);
    free(missing);
    free(sub);
    free(path);
    free(dir);
}

static void test_streamed_abort_and_commit(void **state)
{
    char *dir = testutil_tempdir("fs_stream");
    char *path = xasprintf("%s/out", dir);
    testutil_write_file(path, "old", 3);

    struct fs_atomic *a;
    assert_int_equal(fs_atomic_begin(path, 0644, &a), 0);
    assert_int_equal(fs_atomic_write(a, "new ", 4), 0);
    int temps;
    assert_int_equal(count_entries(dir, &temps), 2);
    assert_int_equal(temps, 1); /* in progress: hidden temp file */
    assert_file_is(path, "old", 3);
    fs_atomic_abort(a);
    assert_int_equal(count_entries(dir, &temps), 1);
    assert_int_equal(temps, 0);
    assert_file_is(path, "old", 3);

    assert_int_equal(fs_atomic_begin(path, 0644, &a), 0);
    assert_int_equal(fs_atomic_write(a, "new ", 4), 0);
    assert_int_equal(fs_atomic_write(a, "content", 7), 0);
    assert_int_equal(fs_atomic_commit(a), 0);
    assert_file_is(path, "new content", 11);
    assert_int_equal(count_entries(dir, &temps), 1);

    assert_int_equal(fs_atomic_begin(dir, 0644, &a), 0); /* the temp is made... */
    assert_int_equal(fs_atomic_commit(a), -EISDIR);      /* ...the rename fails */
    char *slash = xasprintf("%s/", dir);
    assert_int_equal(fs_atomic_begin(slash, 0644, &a), -EISDIR);
    assert_null(a);
    assert_int_equal(count_entries(dir, &temps), 1);

    testutil_rmtree(dir);
    free(slash);
    free(path);
    free(dir);
}

/* A writer that dies after writing the new data but before the rename. */
static void test_crash_before_rename_keeps_old(void **state)
{
    char *dir = testutil_tempdir("fs_crash");
    char *path = xasprintf("%s/state", dir);
    assert_int_equal(fs_write_atomic(path, "old content", 11, 0644), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct fs_atomic *a;
        if (fs_atomic_begin(path, 0644, &a) != 0 || fs_atomic_write(a, "NEW CONTENT!", 12) != 0)
            _exit(1);
        _exit(0); /* dies here: no commit */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    assert_file_is(path, "old content", 11);
    int temps;
    assert_int_equal(count_entries(dir, &temps), 2);
    assert_int_equal(temps, 1); /* the dead writer's leftover, hidden */

    unsigned removed = 99;
    assert_int_equal(fs_remove_temps(dir, 3600, &removed), 0);
    assert_int_equal(removed, 0); /* too young: might be a live writer */
    assert_int_equal(fs_remove_temps(dir, 0, &removed), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(count_entries(dir, &temps), 1);
    assert_file_is(path, "old content", 11);

    char *missing = xasprintf("%s/nope", dir);
    assert_int_equal(fs_remove_temps(missing, 0, NULL), -ENOENT);

    testutil_rmtree(dir);
    free(missing);
    free(path);
    free(dir);
}

#define KILL_ROUNDS 12
#define KILL_SIZE   (512 * 1024)

/* A writer killed with SIGKILL at random moments while it replaces a file
 * over and over: the file is always one complete version. */
static void test_killed_writer_never_leaves_partial_file(void **state)
{
    char *dir = testutil_tempdir("fs_kill");
    char *path = xasprintf("%s/data", dir);
    uint8_t *buf = xmalloc(KILL_SIZE);
    memset(buf, 'A', KILL_SIZE);
    assert_int_equal(fs_write_atomic(path, buf, KILL_SIZE, 0644), 0);
    srand((unsigned)time(NULL));

    for (int round = 0; round < KILL_ROUNDS; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (uint8_t v = 'B';; v = v == 'Z' ? 'B' : (uint8_t)(v + 1)) {
                memset(buf, v, KILL_SIZE);
                if (fs_write_atomic(path, buf, KILL_SIZE, 0644) != 0)
                    _exit(1);
            }
        }
        usleep((useconds_t)(1000 + rand() % 20000));
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));

        size_t len;
        uint8_t *got = testutil_read_file(path, &len);
        assert_int_equal(len, KILL_SIZE);
        for (size_t i = 1; i < len; i++)
            if (got[i] != got[0])
                fail_msg("round %d: mixed content at byte %zu", round, i);
        free(got);
    }
    assert_int_equal(fs_remove_temps(dir, 0, NULL), 0);
    int temps;
    assert_int_equal(count_entries(dir, &temps), 1);

    testutil_rmtree(dir);
    free(buf);
    free(path);
    free(dir);
}

static void test_read_file(void **state)
{
    char *dir = testutil_tempdir("fs_read");
    char *path = xasprintf("%s/f", dir);
    testutil_write_file(path, "hello world", 11);

    uint8_t *data;
    size_t len;
    assert_int_equal(fs_read_file(path, 11, &data, &len), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "hello world", 11);
    assert_int_equal(data[11], '\0');
    free(data);

    assert_int_equal(fs_read_file(path, 10, &data, &len), -EFBIG);
    assert_null(data);
    char *missing = xasprintf("%s/missing", dir);
    assert_int_equal(fs_read_file(missing, 100, &data, &len), -ENOENT);
    assert_int_equal(fs_read_file(dir, 100, &data, &len), -EISDIR);

    testutil_write_file(path, "", 0);
    assert_int_equal(fs_read_file(path, 0, &data, &len), 0);
    assert_int_equal(len, 0);
    free(data);

    assert_string_equal(fs_strerror(-ENOSPC), strerror(ENOSPC));
    testutil_rmtree(dir);
    free(missing);
    free(path);
    free(dir);
}

static void test_pread_full_and_temp_names(void **state)
{
    char *dir = testutil_tempdir("fs_pread");
    char *path = xasprintf("%s/f", dir);
    testutil_write_file(path, "0123456789", 10);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    char buf[16];
    assert_int_equal(fs_pread_full(fd, buf, 4, 3), 4);
    assert_memory_equal(buf, "3456", 4);
    assert_int_equal(fs_pread_full(fd, buf, 16, 7), 3); /* short only at EOF */
    assert_int_equal(fs_pread_full(fd, buf, 4, 100), 0);
    close(fd);
    assert_int_equal(fs_pread_full(-1, buf, 4, 0), -EBADF);

    assert_true(fs_is_temp_name(".abc.tmp.Xy12Zq"));
    assert_false(fs_is_temp_name("abc.tmp.Xy12Zq"));
    assert_false(fs_is_temp_name(".hidden"));
    assert_false(fs_is_temp_name("0123abcd"));
    testutil_rmtree(dir);
    free(path);
    free(dir);
}

/* The test hook: while set, it decides every write (nothing written when
 * it refuses); removed, writes go through again. */
struct hook_calls {
    int calls;
    size_t last_len;
};

static int refuse_write(void *ctx, int fd, size_t len)
{
    struct hook_calls *h = ctx;
    assert_true(fd >= 0);
    h->calls++;
    h->last_len = len;
    return -ENOSPC;
}

static void test_write_hook(void **state)
{
    (void)state;
    char *dir = testutil_tempdir("fsutil-hook");
    char *path = xasprintf("%s/f", dir);
    assert_int_equal(fs_write_atomic(path, "old", 3, 0600), 0);
    struct hook_calls h = {0};
    fs_set_write_hook(refuse_write, &h);
    assert_int_equal(fs_write_atomic(path, "new!", 4, 0600), -ENOSPC);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.last_len, 4);
    int temps;
    assert_int_equal(count_entries(dir, &temps), 1); /* the old file, no temp */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(fs_write_full(fd, "xy", 2), -ENOSPC);
    assert_int_equal(fs_pwrite_full(fd, "xyz", 3, 10), -ENOSPC);
    assert_int_equal(h.calls, 3);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 3);

    fs_set_write_hook(NULL, NULL);
    assert_int_equal(fs_pwrite_full(fd, "xyz", 3, 10), 0);
    assert_int_equal(fs_write_full(fd, "ab", 2), 0); /* at the offset: 0 */
    close(fd);
    assert_int_equal(h.calls, 3);
    size_t len;
    char *got = testutil_read_file(path, &len);
    assert_int_equal(len, 13);
    assert_memory_equal(got, "abd", 3);
    assert_memory_equal(got + 10, "xyz", 3);
    free(got);
    testutil_rmtree(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkdir_p),
        cmocka_unit_test(test_write_atomic_replaces_and_leaves_no_temp),
        cmocka_unit_test(test_streamed_abort_and_commit),
        cmocka_unit_test(test_crash_before_rename_keeps_old),
        cmocka_unit_test(test_killed_writer_never_leaves_partial_file),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_pread_full_and_temp_names),
        cmocka_unit_test(test_write_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
