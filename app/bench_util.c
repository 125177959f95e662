/* bench_util: option parsing and scratch directories for the benchmarks
 * (see app/bench_util.h). */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
