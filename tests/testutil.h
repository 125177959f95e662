/* testutil: what every Chorus test program shares.
 *
 * Include after <cmocka.h>'s prerequisites; it pulls them in itself. */
#ifndef CHORUS_TESTUTIL_H
#define CHORUS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "base/manifest.h"

/* Skipping. A test that cannot run here says why (print_message) and
 * calls skip(), cmocka's, counted here; the program then exits with
 * TESTUTIL_EXIT_SKIP when no test failed (a failure wins), which CTest
 * (SKIP_RETURN_CODE, tests/CMakeLists.txt) reports as skipped, not
 * passed. CI fails on a skip that tests/expected-skips.txt does not list.
 * Both macros wrap cmocka's own, so every test program gets this. */
#define TESTUTIL_EXIT_SKIP 77
void testutil_skip(const char *file, int line);
int testutil_exit_status(int failed);
#undef skip
#define skip() testutil_skip(__FILE__, __LINE__)
#undef cmocka_run_group_tests
#define cmocka_run_group_tests(tests, setup, teardown)                                             \
    testutil_exit_status(_cmocka_run_group_tests(                                                  \
        #tests, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown))

/* A fresh empty directory for one test, under $CHORUS_TEST_TMP (set by
 * CTest) or /tmp. The caller owns the string; testutil_rmtree removes it. */
char *testutil_tempdir(const char *name);

/* rm -rf path (no-op when it does not exist). */
void testutil_rmtree(const char *path);

/* Writes len bytes to path (creating it); fails the test on error. */
void testutil_write_file(const char *path, const void *data, size_t len);

/* Reads a whole file into a new buffer (owned by the caller), *len set. */
void *testutil_read_file(const char *path, size_t *len);

/* A small file system for the tests of the full-disk paths: the directory
 * mnt, which holds size bytes, inside the fresh temporary directory dir.
 * A tmpfs mounted there when the test may mount one (root or
 * CAP_SYS_ADMIN: CI) unless hook is set; else a plain directory that
 * fsutil's write hook (base/fsutil.h) fills: every write through fsutil
 * to a file under mnt fails with -ENOSPC once the files there would take
 * more than size bytes. So the test runs everywhere, never skips. */
struct testutil_small_fs {
    char *dir, *mnt;
    size_t size;
    bool mounted; /* a tmpfs; else the hook */
};
struct testutil_small_fs *testutil_small_fs_new(const char *name, size_t size, bool hook);

/* Unmounts the tmpfs or removes the hook, then removes dir. NULL is ignored. */
void testutil_small_fs_free(struct testutil_small_fs *fs);

/* One integer from raw SQL on a connection of its own (a test looking
 * under a module's SQLite file), and a statement run the same way; both
 * fail the test on any SQLite error. */
int64_t testutil_sql_int(const char *path, const char *sql);
void testutil_sql_exec(const char *path, const char *sql);

/* Dumps j (taking the reference) and parses the text again, as a client
 * of a JSON answer would see it. New reference. */
json_t *testutil_json_round_trip(json_t *j);

/* Raises the soft open-files limit to at least n (as far as the hard
 * limit allows), for tests that hold many connections. */
void testutil_raise_fd_limit(unsigned long n);

/* Fills buf with len pseudo-random bytes (xorshift32), the same for the
 * same seed: test files whose content does not matter, only that it
 * differs from file to file. */
void testutil_fill_random(uint8_t *buf, size_t len, uint32_t seed);

/* A content file for the cache and peer tests: len pseudo-random bytes
 * (testutil_fill_random with seed) standing for an encrypted file, cut
 * into chunk_size chunks; its manifest, the manifest's encoding and the
 * file id. testutil_file_free releases what it points to. */
struct testutil_file {
    uint8_t *data;
    size_t len;
    struct manifest *m;
    struct content_id id;
    uint8_t *enc;
    size_t enc_len;
};
void testutil_file_make(struct testutil_file *t, size_t len, uint32_t chunk_size, uint32_t seed);
void testutil_file_free(struct testutil_file *t);

/* Monotonic clock in nanoseconds. */
uint64_t testutil_now_ns(void);

/* The path of one of the project's programs ("chorus", "chorusd") in the
 * build tree, next to the tests' directory. A test that runs a program
 * depends on it (tests/CMakeLists.txt: add_dependencies and the
 * 'programs' fixture), so a missing one fails the test. The caller owns
 * the string. */
char *testutil_program(const char *name);

#endif
