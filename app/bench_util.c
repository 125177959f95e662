/* bench_util: option parsing and scratch directories for the benchmarks
 * (see app/bench_util.h). */
#include "bench_util.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"

bool bench_parse_count(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

char *bench_make_workdir(const char *base, const char *name)
{
    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *dir = xasprintf("%s/chorus-bench-%s.XXXXXX", base, name);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "chorus-bench %s: cannot create a directory in %s: %s\n", name, base,
                strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

/* nftw passes no context: the first error of this thread's walk. */
static _Thread_local int remove_error;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && remove_error == 0)
        remove_error = -errno;
    return 0;
}

int bench_remove_tree(const char *dir)
{
    remove_error = 0;
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return -errno;
    return remove_error;
}

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
