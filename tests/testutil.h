/* testutil: what every Chorus test program shares.
 *
 * Include after <cmocka.h>'s prerequisites; it pulls them in itself. */
#ifndef CHORUS_TESTUTIL_H
#define CHORUS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh empty directory for one test, under $CHORUS_TEST_TMP (set by
 * CTest) or /tmp. The caller owns the string; testutil_rmtree removes it. */
char *testutil_tempdir(const char *name);

/* rm -rf path (no-op when it does not exist). */
void testutil_rmtree(const char *path);

/* Writes len bytes to path (creating it); fails the test on error. */
void testutil_write_file(const char *path, const void *data, size_t len);

/* Reads a whole file into a new buffer (owned by the caller), *len set. */
void *testutil_read_file(const char *path, size_t *len);

/* Monotonic clock in nanoseconds. */
uint64_t testutil_now_ns(void);

/* The path of one of the project's programs ("chorus", "chorusd") in the
 * build tree, next to the tests' directory; NULL when it is not built.
 * The caller owns the string. */
char *testutil_program(const char *name);

#endif
