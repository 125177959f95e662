/* fsutil: the file-system helpers every module that writes files uses.
 *
 * Atomic replacement: a file is written to a temporary file in the same
 * directory (named ".<name>.tmp.XXXXXX", so it never looks like a real
 * entry), fsync'ed, renamed over the target and the directory fsync'ed.
 * Readers see either the old complete file or the new complete file, never
 * a partial one, even if the process is killed or the machine loses power
 * at any point. A crash can leave a temporary file behind; fs_remove_temps
 * sweeps those.
 *
 * Errors are negative errno values (-ENOENT, -ENOSPC, ...); fs_strerror
 * turns them into text. Nothing here logs. Any thread; no shared state
 * but the test hook (fs_set_write_hook). */
#ifndef CHORUS_CORE_FSUTIL_H
#define CHORUS_CORE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Marker in the names of temporary files (".<name>" FS_TEMP_MARKER "XXXXXX"). */
#define FS_TEMP_MARKER ".tmp."

/* mkdir -p: creates path and any missing parent with mode (existing
 * directories are left as they are). The parent of every directory it
 * creates is fsync'ed, so the new entry survives a crash. Returns 0,
 * -ENOTDIR when a component exists but is not a directory, or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

/* Writes len bytes to path atomically (see above) with permission bits
 * mode (exactly; the umask does not apply). The directory must exist.
 * Returns 0 or -errno; on error the old file (if any) is untouched and no
 * temporary file is left. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The same, streamed: begin, write any number of times, then commit or
 * abort. commit and abort always release a (commit on error too, removing
 * the temporary file). */
struct fs_atomic;
int fs_atomic_begin(const char *path, mode_t mode, struct fs_atomic **out);
int fs_atomic_write(struct fs_atomic *a, const void *data, size_t len);
int fs_atomic_commit(struct fs_atomic *a);
void fs_atomic_abort(struct fs_atomic *a);

/* Reads a whole regular file into a new buffer owned by the caller (free),
 * NUL-terminated one byte past *len for convenience. Files larger than
 * max_len are refused with -EFBIG before anything is allocated. Returns 0
 * or -errno. */
int fs_read_file(const char *path, size_t max_len, uint8_t **data, size_t *len);

/* write(2)/pwrite(2)/pread(2) loops that retry on EINTR and short counts.
 * fs_pread_full returns the number of bytes read (less than len only at
 * end of file) or -errno; fs_write_full and fs_pwrite_full return 0 or
 * -errno. */
ssize_t fs_pread_full(int fd, void *buf, size_t len, uint64_t offset);
int fs_write_full(int fd, const void *buf, size_t len);
int fs_pwrite_full(int fd, const void *buf, size_t len, uint64_t offset);

/* Test hook: a simulated full disk, for the tests of the full-disk paths
 * where they cannot mount a small file system (tests/testutil.h,
 * testutil_small_fs). While set, fs_write_full, fs_pwrite_full and so
 * every atomic write first call fn(ctx, fd, len); a negative return
 * (-ENOSPC) fails the write with that code, nothing written. NULL (the
 * default) removes it; unset, a write costs one atomic load more. Set it
 * only while no write is in progress. */
typedef int (*fs_write_hook_fn)(void *ctx, int fd, size_t len);
void fs_set_write_hook(fs_write_hook_fn fn, void *ctx);

/* fsyncs a directory (after creating, renaming or removing entries in it). */
int fs_fsync_dir(const char *dir);

/* True when name (a bare file name, no directory) is one of our
 * temporary files. */
bool fs_is_temp_name(const char *name);

/* Removes the temporary files in dir (not recursive) whose last change is
 * at least min_age_s seconds old; a younger one may belong to a write in
 * progress in another process. Sets *removed (may be NULL) to their number.
 * Returns 0 or -errno (-ENOENT when dir does not exist). */
int fs_remove_temps(const char *dir, unsigned min_age_s, unsigned *removed);

/* Text for a negative errno value. */
const char *fs_strerror(int err);

#endif
