/* cache_util: the cache's pure helpers — sizes (format, default cap) and
 * error text. Any thread; no state. */
#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "cache_internal.h"
#include "base/errcode.h"
#include "base/fsutil.h"

char *cache_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const names[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    double v = (double)bytes / 1024;
    size_t u = 0;
    while (v >= 1023.95 && u + 1 < sizeof(names) / sizeof(names[0])) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, names[u]);
    return buf;
}

int cache_default_cap(const char *dir, uint64_t used, uint64_t *out)
{
    struct statvfs st;
    if (statvfs(dir, &st) != 0)
        return -errno;
    /* Free space plus what the cache holds already: otherwise a cache that
     * filled its share would see its cap shrink at every start. */
    uint64_t avail = (uint64_t)st.f_bavail * st.f_frsize;
    uint64_t cap = (avail + used) / 100 * CACHE_DEFAULT_CAP_PERCENT;
    *out = cap < CACHE_DEFAULT_CAP_MAX ? cap : CACHE_DEFAULT_CAP_MAX;
    return 0;
}

const char *cache_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case CACHE_ENOTFOUND:
        return "not in the cache";
    case CACHE_ENOMANIFEST:
        return "no manifest in the cache for that file";
    case CACHE_EBADCHUNK:
        return "chunk does not match its manifest";
    case CACHE_ECORRUPT:
        return "stored chunk is corrupt (dropped; fetch it again)";
    case CACHE_EFULL:
        return "cache full: every other file is pinned";
    case CACHE_ERANGE:
        return "chunk index beyond the end of the file";
    case CACHE_EINDEX:
        return "cache index (SQLite) error";
    case CACHE_ETIMEDOUT:
        return "timed out waiting for the chunk";
    case CACHE_ECANCELED:
        return "wait cancelled";
    case CACHE_ELOCKED:
        return "cache directory in use by another process";
    case CACHE_EINVAL:
        return "invalid argument";
    }
    if (errcode_in_block(err, MANIFEST_EFORMAT))
        return manifest_strerror(err);
    return fs_strerror(err);
}
