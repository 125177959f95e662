/* fsutil: mkdir -p, atomic file replacement, whole-file reads.
 *
 * Owns nothing beyond the call (the fs_atomic object of a streamed write).
 * Runs on the caller's thread; blocks on disk I/O and fsync, so it must
 * never be called from the core loop thread itself (use the threadpool).
 * It must never leave a partly written file under its final name: data
 * reaches the final name only through rename(2) after fsync. */
#include "base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/xmalloc.h"

struct fs_atomic {
    int fd;
    char *path;     /* final name */
    char *tmp_path; /* temporary name in the same directory */
    char *dir;      /* the directory, for the fsync after rename */
};

/* The test hook (fsutil.h): the slot is written only while no write runs,
 * and published by the atomic pointer. */
struct write_hook {
    fs_write_hook_fn fn;
    void *ctx;
};
static struct write_hook hook_slot;
static _Atomic(const struct write_hook *) write_hook;

void fs_set_write_hook(fs_write_hook_fn fn, void *ctx)
{
    atomic_store(&write_hook, NULL);
    if (!fn)
        return;
    hook_slot = (struct write_hook){fn, ctx};
    atomic_store_explicit(&write_hook, &hook_slot, memory_order_release);
}

static int hook_check(int fd, size_t len)
{
    const struct write_hook *h = atomic_load_explicit(&write_hook, memory_order_acquire);
    return h ? h->fn(h->ctx, fd, len) : 0;
}

const char *fs_strerror(int err)
{
    return strerror(err < 0 ? -err : err);
}

int fs_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL) /* some file systems cannot fsync dirs */
        rc = -errno;
    close(fd);
    return rc;
}

/* "a/b/c" -> "a/b", "c" -> ".", "/c" -> "/". Caller frees. */
static char *parent_dir(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    while (len > 0 && path[len - 1] != '/')
        len--;
    if (len == 0)
        return xstrdup(".");
    while (len > 1 && path[len - 1] == '/')
        len--;
    return xstrndup(path, len);
}

static int mkdir_one(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0) {
        char *parent = parent_dir(path);
        int rc = fs_fsync_dir(parent);
        free(parent);
        return rc;
    }
    int err = errno;
    struct stat st;
    if (err == EEXIST) {
        if (stat(path, &st) != 0)
            return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    }
    return -err;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
    if (!path || !*path)
        return -EINVAL;
    struct stat st;
    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;

    char *buf = xstrdup(path);
    int rc = 0;
    /* Create each prefix ending before a '/', then the whole path. */
    for (char *p = buf + 1; *p && rc == 0; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        rc = mkdir_one(buf, mode);
        *p = '/';
    }
    if (rc == 0)
        rc = mkdir_one(buf, mode);
    free(buf);
    return rc;
}

/* write(2) at the file offset when offset < 0, else pwrite(2) at offset. */
static int write_loop(int fd, const void *buf, size_t len, int64_t offset)
{
    int rc = hook_check(fd, len);
    if (rc < 0)
        return rc;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = offset < 0 ? write(fd, p, len) : pwrite(fd, p, len, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        if (offset >= 0)
            offset += n;
    }
    return 0;
}

int fs_write_full(int fd, const void *buf, size_t len)
{
    return write_loop(fd, buf, len, -1);
}

int fs_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset)
{
    return write_loop(fd, buf, len, (int64_t)offset);
}

ssize_t fs_pread_full(int fd, void *buf, size_t len, uint64_t offset)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

bool fs_is_temp_name(const char *name)
{
    return name[0] == '.' && strstr(name + 1, FS_TEMP_MARKER) != NULL;
}

int fs_atomic_begin(const char *path, mode_t mode, struct fs_atomic **out)
{
    *out = NULL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return -EISDIR;

    struct fs_atomic *a = xcalloc(1, sizeof(*a));
    a->path = xstrdup(path);
    a->dir = parent_dir(path);
    a->tmp_path = xasprintf("%.*s.%s" FS_TEMP_MARKER "XXXXXX", (int)(base - path), path, base);
    a->fd = mkostemp(a->tmp_path, O_CLOEXEC);
    if (a->fd < 0) {
        int err = -errno;
        free(a->path);
        free(a->dir);
        free(a->tmp_path);
        free(a);
        return err;
    }
    /* mkostemp creates 0600; fchmod sets exactly mode, ignoring the umask. */
    if (fchmod(a->fd, mode) != 0) {
        int err = -errno;
        fs_atomic_abort(a);
        return err;
    }
    *out = a;
    return 0;
}

int fs_atomic_write(struct fs_atomic *a, const void *data, size_t len)
{
    return fs_write_full(a->fd, data, len);
}

static void atomic_release(struct fs_atomic *a)
{
    free(a->path);
    free(a->tmp_path);
    free(a->dir);
    free(a);
}

void fs_atomic_abort(struct fs_atomic *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    unlink(a->tmp_path);
    atomic_release(a);
}

int fs_atomic_commit(struct fs_atomic *a)
{
    int rc = 0;
    if (fsync(a->fd) != 0)
        rc = -errno;
    /* close can report a delayed write error (NFS): it counts. */
    if (close(a->fd) != 0 && rc == 0)
        rc = -errno;
    a->fd = -1;
    if (rc == 0 && rename(a->tmp_path, a->path) != 0)
        rc = -errno;
    if (rc != 0) {
        fs_atomic_abort(a);
        return rc;
    }
    rc = fs_fsync_dir(a->dir);
    atomic_release(a);
    return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    struct fs_atomic *a;
    int rc = fs_atomic_begin(path, mode, &a);
    if (rc != 0)
        return rc;
    rc = fs_atomic_write(a, data, len);
    if (rc != 0) {
        fs_atomic_abort(a);
        return rc;
    }
    return fs_atomic_commit(a);
}

int fs_read_file(const char *path, size_t max_len, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    if ((uint64_t)st.st_size > max_len) {
        close(fd);
        return -EFBIG;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = xmalloc(size + 1);
    ssize_t n = fs_pread_full(fd, buf, size, 0);
    close(fd);
    if (n < 0) {
        free(buf);
        return (int)n;
    }
    /* A file that shrank under us is read as it is now; one that grew is
     * cut at the size we checked, which respects max_len. */
    buf[n] = '\0';
    *data = buf;
    *len = (size_t)n;
    return 0;
}

int fs_remove_temps(const char *dir, unsigned min_age_s, unsigned *removed)
{
    if (removed)
        *removed = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int dfd = dirfd(d);
    time_t now = time(NULL);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!fs_is_temp_name(e->d_name))
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        /* min_age 0 takes all: a file's ctime may run ahead of time()
         * (fine-grained file timestamps against the coarse clock) */
        if (min_age_s > 0 && now - st.st_ctime < (time_t)min_age_s)
            continue;
        if (unlinkat(dfd, e->d_name, 0) != 0) {
            if (errno != ENOENT && rc == 0)
                rc = -errno;
            continue;
        }
        if (removed)
            (*removed)++;
    }
    closedir(d);
    return rc;
}
