/* testutil: temp dirs and file helpers shared by the test programs. */
#include "testutil.h"

#include <sqlite3.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testutil_rmtree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *testutil_tempdir(const char *name)
{
    const char *base = getenv("CHORUS_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700);
    char *dir = xasprintf("%s/%s.%d", base, name, (int)getpid());
    testutil_rmtree(dir);
    if (mkdir(dir, 0700) != 0)
        fail_msg("cannot create %s: %s", dir, strerror(errno));
    return dir;
}

void testutil_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    if (len && fwrite(data, 1, len, f) != len)
        fail_msg("cannot write %s", path);
    fclose(f);
}

void *testutil_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = xrealloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

char *testutil_program(const char *name)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    char *p = xasprintf("%s/../%s", self, name);
    if (access(p, X_OK) != 0)
        fail_msg("%s: %s (the test should depend on the program)", p, strerror(errno));
    return p;
}

/* The simulated small file system: the bytes the files under mnt take
 * (blocks, so holes and unlinked files are free again), summed by nftw,
 * whose callback has no context: the writer's thread keeps the sum. */
static _Thread_local uint64_t du_sum;

static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)flag;
    (void)ftw;
    du_sum += (uint64_t)st->st_blocks * 512;
    return 0;
}

static int small_fs_hook(void *ctx, int fd, size_t len)
{
    const struct testutil_small_fs *fs = ctx;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    size_t mlen = strlen(fs->mnt);
    if (strncmp(path, fs->mnt, mlen) != 0 || path[mlen] != '/')
        return 0; /* not on the small file system (the log, ...) */
    du_sum = 0;
    nftw(fs->mnt, du_entry, 16, FTW_PHYS);
    return du_sum + len > fs->size ? -ENOSPC : 0;
}

struct testutil_small_fs *testutil_small_fs_new(const char *name, size_t size, bool hook)
{
    struct testutil_small_fs *fs = xcalloc(1, sizeof(*fs));
    fs->dir = testutil_tempdir(name);
    fs->mnt = xasprintf("%s/mnt", fs->dir);
    fs->size = size;
    if (mkdir(fs->mnt, 0700) != 0)
        fail_msg("cannot create %s: %s", fs->mnt, strerror(errno));
    /* The hook compares it with the kernel's name of an fd: no symlinks. */
    char *real = realpath(fs->mnt, NULL);
    if (!real)
        fail_msg("%s: %s", fs->mnt, strerror(errno));
    free(fs->mnt);
    fs->mnt = real;
    if (!hook) {
        char *opts = xasprintf("size=%zu,mode=0700", size);
        fs->mounted = mount("chorus-test", fs->mnt, "tmpfs", MS_NOSUID | MS_NODEV, opts) == 0;
        if (!fs->mounted)
            print_message("cannot mount a tmpfs (%s): a simulated full disk instead\n",
                          strerror(errno));
        free(opts);
    }
    if (!fs->mounted)
        fs_set_write_hook(small_fs_hook, fs);
    return fs;
}

void testutil_small_fs_free(struct testutil_small_fs *fs)
{
    if (!fs)
        return;
    if (fs->mounted && umount2(fs->mnt, MNT_DETACH) != 0)
        print_message("cannot unmount %s: %s\n", fs->mnt, strerror(errno));
    if (!fs->mounted)
        fs_set_write_hook(NULL, NULL);
    testutil_rmtree(fs->dir);
    free(fs->mnt);
    free(fs->dir);
    free(fs);
}

/* Tests run one at a time on the main thread: a plain counter. */
static int skipped;

void testutil_skip(const char *file, int line)
{
    skipped++;
    _skip(file, line);
}

int testutil_exit_status(int failed)
{
    if (failed)
        return 1; /* not the count: 77 failures must not read as a skip */
    return skipped ? TESTUTIL_EXIT_SKIP : 0;
}

void testutil_fill_random(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

void testutil_file_make(struct testutil_file *t, size_t len, uint32_t chunk_size, uint32_t seed)
{
    t->len = len;
    t->data = xmalloc(len ? len : 1);
    testutil_fill_random(t->data, len, seed);
    assert_int_equal(manifest_build(t->data, len, chunk_size, &t->m), 0);
    manifest_id(t->m, &t->id);
    manifest_encode(t->m, &t->enc, &t->enc_len);
}

void testutil_file_free(struct testutil_file *t)
{
    free(t->data);
    free(t->enc);
    manifest_free(t->m);
}

uint64_t testutil_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t testutil_sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

void testutil_sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

json_t *testutil_json_round_trip(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(text);
    json_decref(j);
    json_t *back = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
    assert_non_null(back);
    free(text);
    return back;
}

void testutil_raise_fd_limit(unsigned long n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= n)
        return;
    rl.rlim_cur = rl.rlim_max < n ? rl.rlim_max : n;
    setrlimit(RLIMIT_NOFILE, &rl);
}
