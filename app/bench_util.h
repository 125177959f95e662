/* bench_util: what the benchmarks of chorus-bench share — reading a count
 * option, making and removing their scratch directories, the clock. */
#ifndef CHORUS_APP_BENCH_UTIL_H
#define CHORUS_APP_BENCH_UTIL_H

#include <stdbool.h>

/* Parses a decimal count within [lo, hi] into *out; false when s is not
 * one. */
bool bench_parse_count(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

/* Makes a fresh directory "chorus-bench-<name>.XXXXXX" in base (NULL:
 * $TMPDIR, else /tmp) and returns its path (owned by the caller), or NULL
 * after saying why on stderr. The benchmark removes it when done. */
char *bench_make_workdir(const char *base, const char *name);

/* rm -r of a tree the benchmark made (symbolic links are removed, never
 * followed). 0, also when dir does not exist; else -errno of the first
 * entry that could not be removed (the walk goes on past it). */
int bench_remove_tree(const char *dir);

/* Seconds on the monotonic clock, for wall times. */
double bench_now_s(void);

#endif
