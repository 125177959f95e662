/* chorus-bench cache: chunk write and read rates of the cache next to raw
 * pwrite/pread of the same bytes to the same kind of files, in the same
 * run, on the same file system. Prints figures; asserts nothing.
 *
 * Writes: raw pwrite (no sync), raw pwrite + fdatasync per chunk and per
 * batch of CACHE_MAX_BATCH-sized groups, then the cache's blocking write
 * (hash check, pwrite, fdatasync, index commit, each chunk) and its async
 * write on a libuv loop (group commit). Reads, page cache warm: raw pread,
 * the cache's first read of each chunk after open (hashed), a read of a
 * chunk known good (bare pread), and verify_every_read; plus the SHA-256
 * of one chunk alone. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_commands.h"
#include "bench_util.h"
#include "core/cache.h"
#include "base/manifest.h"
#include "base/xmalloc.h"

#define CS    MANIFEST_CHUNK_SIZE
#define GROUP 64 /* chunks per fdatasync in the grouped raw run */

struct bfile {
    uint8_t *data;
    size_t len;
    struct manifest *m;
    struct content_id id;
    uint8_t *enc;
    size_t enc_len;
};

struct bench {
    const char *root;
    unsigned files, chunks; /* chunks per file */
    struct bfile *f;
    uint8_t buf[CS];
    /* async run */
    unsigned done, failed;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void row(const char *what, unsigned n, double secs)
{
    double mib = (double)n * CS / (1024.0 * 1024.0);
    printf("  %-44s %10.0f %9.1f %10.2f\n", what, n / secs, mib / secs, secs * 1e6 / n);
}

static void header(const char *what)
{
    printf("%-46s %10s %9s %10s\n", what, "chunks/s", "MiB/s", "us/chunk");
}

static char *raw_path(const struct bench *b, unsigned k)
{
    return xasprintf("%s/raw/%u", b->root, k);
}

/* Raw writes: sync_every 0 = never, 1 = each chunk, n = every n chunks. */
static double raw_write(struct bench *b, unsigned sync_every)
{
    double t0 = now_s();
    unsigned since = 0;
    for (unsigned k = 0; k < b->files; k++) {
        char *p = raw_path(b, k);
        int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        free(p);
        if (fd < 0)
            return -1;
        for (unsigned i = 0; i < b->chunks; i++) {
            if (pwrite(fd, b->f[k].data + (size_t)i * CS, CS, (off_t)i * CS) != CS)
                return close(fd), -1;
            if (sync_every && ++since >= sync_every) {
                fdatasync(fd);
                since = 0;
            }
        }
        if (sync_every && since) {
            fdatasync(fd);
            since = 0;
        }
        close(fd);
    }
    return now_s() - t0;
}

static double raw_read(struct bench *b)
{
    double t0 = now_s();
    for (unsigned k = 0; k < b->files; k++) {
        char *p = raw_path(b, k);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        if (fd < 0)
            return -1;
        for (unsigned i = 0; i < b->chunks; i++)
            if (pread(fd, b->buf, CS, (off_t)i * CS) != CS)
                return close(fd), -1;
        close(fd);
    }
    return now_s() - t0;
}

static int open_cache(struct bench *b, const char *name, uv_loop_t *loop, bool verify_all,
                      struct cache **c)
{
    char *dir = xasprintf("%s/%s", b->root, name);
    struct cache_config cfg = {
        .dir = dir, .cap_bytes = 64ull << 30, .loop = loop, .verify_every_read = verify_all};
    int err = cache_open(&cfg, c);
    if (err)
        fprintf(stderr, "chorus-bench cache: %s: %s\n", dir, cache_strerror(err));
    free(dir);
    return err;
}

static int put_manifests(struct bench *b, struct cache *c)
{
    for (unsigned k = 0; k < b->files; k++) {
        int err = cache_put_manifest(c, &b->f[k].id, b->f[k].enc, b->f[k].enc_len);
        if (err)
            return err;
    }
    return 0;
}

static double cache_write_blocking(struct bench *b, struct cache *c)
{
    double t0 = now_s();
    for (unsigned k = 0; k < b->files; k++)
        for (unsigned i = 0; i < b->chunks; i++)
            if (cache_write_chunk(c, &b->f[k].id, i, b->f[k].data + (size_t)i * CS, CS,
                                  CACHE_SRC_PEER) != 0)
                return -1;
    return now_s() - t0;
}

static void on_written(void *ctx, int status)
{
    struct bench *b = ctx;
    b->done++;
    b->failed += status != 0;
}

static double cache_write_async_run(struct bench *b, struct cache *c, uv_loop_t *loop)
{
    b->done = b->failed = 0;
    double t0 = now_s();
    for (unsigned k = 0; k < b->files; k++)
        for (unsigned i = 0; i < b->chunks; i++)
            cache_write_async(c, &b->f[k].id, i, b->f[k].data + (size_t)i * CS, CS, CACHE_SRC_PEER,
                              on_written, b);
    uv_run(loop, UV_RUN_DEFAULT);
    double t = now_s() - t0;
    return b->failed || b->done != b->files * b->chunks ? -1 : t;
}

static double cache_read_all(struct bench *b, struct cache *c)
{
    double t0 = now_s();
    size_t len;
    for (unsigned k = 0; k < b->files; k++)
        for (unsigned i = 0; i < b->chunks; i++)
            if (cache_read_chunk(c, &b->f[k].id, i, CACHE_FOR_PEER, b->buf, sizeof(b->buf), &len) !=
                0)
                return -1;
    return now_s() - t0;
}

static double hash_all(struct bench *b)
{
    double t0 = now_s();
    unsigned bad = 0;
    for (unsigned k = 0; k < b->files; k++)
        for (unsigned i = 0; i < b->chunks; i++)
            bad += !manifest_verify_chunk(b->f[k].m, i, b->f[k].data + (size_t)i * CS, CS);
    return bad ? -1 : now_s() - t0;
}

static void make_files(struct bench *b)
{
    b->f = xcalloc(b->files, sizeof(*b->f));
    uint32_t x = 2463534242u;
    for (unsigned k = 0; k < b->files; k++) {
        struct bfile *f = &b->f[k];
        f->len = (size_t)b->chunks * CS;
        f->data = xmalloc(f->len);
        for (size_t i = 0; i < f->len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            f->data[i] = (uint8_t)x;
        }
        manifest_build(f->data, f->len, CS, &f->m);
        manifest_id(f->m, &f->id);
        manifest_encode(f->m, &f->enc, &f->enc_len);
    }
}

static void free_files(struct bench *b)
{
    for (unsigned k = 0; k < b->files; k++) {
        free(b->f[k].data);
        free(b->f[k].enc);
        manifest_free(b->f[k].m);
    }
    free(b->f);
}

static int run(struct bench *b)
{
    unsigned n = b->files * b->chunks;
    char *rawdir = xasprintf("%s/raw", b->root);
    mkdir(rawdir, 0700);
    free(rawdir);
    printf("cache benchmark: %u chunks of %u KiB (%.1f MiB) in %u files under %s\n\n", n, CS / 1024,
           (double)n * CS / (1024.0 * 1024.0), b->files, b->root);

    header("write");
    double t = raw_write(b, 0);
    if (t < 0)
        return 1;
    row("raw pwrite, no sync", n, t);
    row("raw pwrite + fdatasync each chunk", n, raw_write(b, 1));
    char label[64];
    snprintf(label, sizeof(label), "raw pwrite + fdatasync per %u chunks", GROUP);
    row(label, n, raw_write(b, GROUP));

    struct cache *c;
    if (open_cache(b, "blocking", NULL, false, &c) || put_manifests(b, c))
        return 1;
    t = cache_write_blocking(b, c);
    if (t < 0)
        return 1;
    row("cache_write_chunk (check+write+sync+index)", n, t);
    cache_free(c);

    uv_loop_t loop;
    uv_loop_init(&loop);
    if (open_cache(b, "async", &loop, false, &c) || put_manifests(b, c))
        return 1;
    t = cache_write_async_run(b, c, &loop);
    cache_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (t < 0)
        return 1;
    row("cache_write_async (group commit, threadpool)", n, t);

    printf("\n");
    header("read (page cache warm)");
    raw_read(b); /* warm */
    row("raw pread", n, raw_read(b));
    if (open_cache(b, "blocking", NULL, false, &c))
        return 1;
    t = cache_read_all(b, c);
    if (t < 0)
        return 1;
    row("cache read, first after open (hashed)", n, t);
    row("cache read, known good (bare pread)", n, cache_read_all(b, c));
    cache_free(c);
    if (open_cache(b, "blocking", NULL, true, &c))
        return 1;
    cache_read_all(b, c);
    row("cache read, verify_every_read", n, cache_read_all(b, c));
    cache_free(c);
    row("SHA-256 check of one chunk, in memory", n, hash_all(b));
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorus-bench cache [--dir DIR] [--files N] [--chunks N]\n"
                 "\n"
                 "  -d, --dir DIR     where to work (default: $TMPDIR or /tmp); a fresh\n"
                 "                    directory is made inside and removed afterwards\n"
                 "  -f, --files N     files (default 8)\n"
                 "  -c, --chunks N    16 KiB chunks per file (default 64)\n"
                 "  -h, --help        this help\n");
}

static int parse_count(const char *s, unsigned max, unsigned *out)
{
    unsigned long v;
    if (!bench_parse_count(s, 1, max, &v))
        return -1;
    *out = (unsigned)v;
    return 0;
}

int bench_cache_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},
        {"files", required_argument, NULL, 'f'},
        {"chunks", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *base = NULL;
    struct bench b = {.files = 8, .chunks = 64};
    int ch;
    while ((ch = getopt_long(argc, argv, "d:f:c:h", options, NULL)) != -1) {
        switch (ch) {
        case 'd':
            base = optarg;
            break;
        case 'f':
            if (parse_count(optarg, 4096, &b.files) != 0) {
                fprintf(stderr, "chorus-bench cache: --files: expected 1 to 4096\n");
                return 2;
            }
            break;
        case 'c':
            if (parse_count(optarg, 65536, &b.chunks) != 0) {
                fprintf(stderr, "chorus-bench cache: --chunks: expected 1 to 65536\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    char *root = bench_make_workdir(base, "cache");
    if (!root)
        return 1;
    b.root = root;
    make_files(&b);
    int status = run(&b);
    if (status)
        fprintf(stderr, "chorus-bench cache: a step failed; figures above are incomplete\n");
    free_files(&b);
    if (bench_remove_tree(root) != 0)
        fprintf(stderr, "chorus-bench cache: could not remove all of %s\n", root);
    free(root);
    return status;
}
