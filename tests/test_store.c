/* Tests for core/store on real files: put and every read path, the layout
 * and permissions (keys 0700/0600), idempotent puts, verify catching a
 * tampered chunk, a truncated file, a forged manifest and a damaged key,
 * the commit point (no key, no file) including puts killed at random
 * moments and a write that fails half way (file size limit), sweep of
 * leftovers, prune of files nobody claims, ordered listing, and many
 * threads reading chunks at once through the descriptor cache. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "library/store.h"
#include "base/xmalloc.h"

#define CS STORE_CHUNK_SIZE

struct sample {
    uint8_t *plain, *enc;
    size_t len;
    struct content_key key;
    struct content_id id;
};

static void sample_make(struct sample *s, size_t len, unsigned seed)
{
    s->len = len;
    s->plain = xmalloc(len ? len : 1);
    s->enc = xmalloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 7;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s->plain[i] = (uint8_t)x;
    }
    assert_int_equal(content_key_generate(&s->key), 0);
    assert_int_equal(content_crypt(&s->key, 0, s->plain, s->enc, len), 0);
}

/* A sample of len bytes, put into st. */
static void put_sample(struct store *st, struct sample *s, size_t len, unsigned seed)
{
    sample_make(s, len, seed);
    assert_int_equal(store_put(st, s->enc, s->len, &s->key, &s->id), 0);
}

static void sample_free(struct sample *s)
{
    free(s->plain);
    free(s->enc);
}

static char *piece_path(const char *dir, const char *kind, const struct content_id *id)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    return xasprintf("%s/%s/%.2s/%s", dir, kind, hex, hex);
}

/* A new store in a fresh temp dir; the caller frees *dir. */
static struct store *temp_store(const char *name, char **dir)
{
    *dir = testutil_tempdir(name);
    struct store *st;
    assert_int_equal(store_open(*dir, &st), 0);
    return st;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_put_and_read(void **state)
{
    char *dir = testutil_tempdir("store_put");
    char *data = xasprintf("%s/data", dir);
    struct store *st;
    assert_int_equal(store_open(data, &st), 0);

    struct sample s;
    put_sample(st, &s, 5 * CS + 1234, 1);

    /* The id is the manifest's id. */
    struct manifest *built;
    assert_int_equal(manifest_build(s.enc, s.len, CS, &built), 0);
    struct content_id expect;
    manifest_id(built, &expect);
    assert_true(content_id_equal(&s.id, &expect));
    assert_true(store_has(st, &s.id));

    /* Layout and permissions. */
    char *content = piece_path(data, "files", &s.id);
    char *man = piece_path(data, "manifests", &s.id);
    char *key = piece_path(data, "keys", &s.id);
    size_t n;
    uint8_t *disk = testutil_read_file(content, &n);
    assert_int_equal(n, s.len);
    assert_memory_equal(disk, s.enc, s.len);
    free(disk);
    assert_int_equal(mode_of(key), 0600);
    char *keys_dir = xasprintf("%s/keys", data);
    assert_int_equal(mode_of(keys_dir), 0700);
    char *key_shard = xstrndup(key, strlen(key) - CONTENT_ID_HEX_LEN - 1);
    assert_int_equal(mode_of(key_shard), 0700);
    disk = testutil_read_file(key, &n);
    assert_int_equal(n, CONTENT_KEY_LEN);
    assert_memory_equal(disk, s.key.bytes, CONTENT_KEY_LEN);
    free(disk);

    /* Manifest, decoded and raw. */
    struct manifest *m;
    assert_int_equal(store_read_manifest(st, &s.id, &m), 0);
    assert_int_equal(m->file_size, s.len);
    assert_int_equal(m->chunk_count, 6);
    assert_memory_equal(m->chunk_hashes, built->chunk_hashes, 6 * MANIFEST_HASH_LEN);
    uint8_t *raw;
    size_t raw_len;
    assert_int_equal(store_read_manifest_raw(st, &s.id, &raw, &raw_len), 0);
    struct manifest *dec;
    assert_int_equal(manifest_decode(raw, raw_len, &s.id, &dec), 0);
    manifest_free(dec);
    disk = testutil_read_file(man, &n);
    assert_int_equal(n, raw_len);
    assert_memory_equal(disk, raw, n);
    free(disk);
    free(raw);

    /* Chunks, plain and verified; the last one short. */
    uint8_t buf[CS];
    for (uint32_t i = 0; i < m->chunk_count; i++) {
        size_t len;
        assert_int_equal(store_read_chunk(st, &s.id, i, buf, &len), 0);
        assert_int_equal(len, manifest_chunk_len(m, i));
        assert_memory_equal(buf, s.enc + (size_t)i * CS, len);
        assert_int_equal(store_read_chunk_verified(st, &s.id, m, i, buf, &len), 0);
        assert_int_equal(len, manifest_chunk_len(m, i));
    }
    size_t len = 99;
    assert_int_equal(store_read_chunk(st, &s.id, 5, buf, &len), 0);
    assert_int_equal(len, 1234);
    assert_int_equal(store_read_chunk(st, &s.id, 6, buf, &len), STORE_ERANGE);
    assert_int_equal(len, 0);
    assert_int_equal(store_read_chunk_verified(st, &s.id, m, 6, buf, &len), STORE_ERANGE);

    /* Decrypted ranges, unaligned. */
    uint8_t *plain = xmalloc(s.len);
    const uint64_t offs[] = {0, 1, 17, CS - 3, 3 * CS + 5, s.len - 10};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        size_t want = s.len - offs[i] < 5000 ? s.len - offs[i] : 5000;
        assert_int_equal(store_read_decrypted(st, &s.id, offs[i], plain, want), 0);
        assert_memory_equal(plain, s.plain + offs[i], want);
    }
    assert_int_equal(store_read_decrypted(st, &s.id, 0, plain, s.len), 0);
    assert_memory_equal(plain, s.plain, s.len);
    assert_int_equal(store_read_decrypted(st, &s.id, s.len - 5, plain, 6), STORE_ERANGE);
    assert_int_equal(store_read_decrypted(st, &s.id, UINT64_MAX - 2, plain, 6), STORE_ERANGE);
    free(plain);

    struct content_key k;
    assert_int_equal(store_read_key(st, &s.id, &k), 0);
    assert_memory_equal(k.bytes, s.key.bytes, CONTENT_KEY_LEN);
    uint32_t bad = 0;
    assert_int_equal(store_verify(st, &s.id, &bad), 0);
    assert_int_equal(bad, STORE_NO_CHUNK);

    /* Reopening finds everything again. */
    store_free(st);
    assert_int_equal(store_open(data, &st), 0);
    assert_true(store_has(st, &s.id));
    assert_int_equal(store_verify(st, &s.id, NULL), 0);

    manifest_free(m);
    manifest_free(built);
    store_free(st);
    sample_free(&s);
    testutil_rmtree(dir);
    free(content);
    free(man);
    free(key);
    free(keys_dir);
    free(key_shard);
    free(data);
    free(dir);
}

static void test_put_rules_and_missing_files(void **state)
{
    char *dir;
    struct store *st = temp_store("store_rules", &dir);

    struct sample s;
    sample_make(&s, 3 * CS, 2); /* exact multiple: no short chunk */
    struct content_key key = s.key;
    assert_int_equal(store_put(st, s.enc, 0, &key, NULL), STORE_EEMPTY);
    assert_int_equal(store_put(st, s.enc, s.len, &key, &s.id), 0);

    /* Same bytes, same key: nothing is rewritten. */
    char *content = piece_path(dir, "files", &s.id);
    struct stat before, after;
    assert_int_equal(stat(content, &before), 0);
    struct content_id again;
    assert_int_equal(store_put(st, s.enc, s.len, &key, &again), 0);
    assert_true(content_id_equal(&again, &s.id));
    assert_int_equal(stat(content, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    /* Same bytes, another key: refused, the stored key stays. */
    key.bytes[0] ^= 1;
    assert_int_equal(store_put(st, s.enc, s.len, &key, NULL), STORE_EEXIST);
    struct content_key k;
    assert_int_equal(store_read_key(st, &s.id, &k), 0);
    assert_memory_equal(k.bytes, s.key.bytes, CONTENT_KEY_LEN);

    uint8_t buf[CS];
    size_t len;
    assert_int_equal(store_read_chunk(st, &s.id, 2, buf, &len), 0);
    assert_int_equal(len, CS);
    assert_int_equal(store_read_chunk(st, &s.id, 3, buf, &len), STORE_ERANGE);

    /* An id that was never stored. */
    struct content_id none = s.id;
    none.bytes[0] ^= 0xff;
    assert_false(store_has(st, &none));
    struct manifest *m;
    uint8_t *raw;
    size_t raw_len;
    assert_int_equal(store_read_manifest(st, &none, &m), STORE_ENOTFOUND);
    assert_null(m);
    assert_int_equal(store_read_manifest_raw(st, &none, &raw, &raw_len), STORE_ENOTFOUND);
    assert_int_equal(store_read_chunk(st, &none, 0, buf, &len), STORE_ENOTFOUND);
    assert_int_equal(store_read_key(st, &none, &k), STORE_ENOTFOUND);
    assert_int_equal(store_read_decrypted(st, &none, 0, buf, 1), STORE_ENOTFOUND);
    assert_int_equal(store_verify(st, &none, NULL), STORE_ENOTFOUND);

    /* A keys directory opened up by hand is closed again at open. */
    char *keys = xasprintf("%s/keys", dir);
    assert_int_equal(chmod(keys, 0755), 0);
    store_free(st);
    assert_int_equal(store_open(dir, &st), 0);
    assert_int_equal(mode_of(keys), 0700);

    /* A store under a regular file cannot be opened. */
    char *file = xasprintf("%s/plainfile", dir);
    testutil_write_file(file, "x", 1);
    struct store *bad;
    char *under = xasprintf("%s/sub", file);
    assert_int_equal(store_open(under, &bad), -ENOTDIR);
    assert_null(bad);
    assert_string_equal(store_strerror(STORE_ECORRUPT),
                        "stored file is damaged (does not match its id or manifest)");
    assert_string_equal(store_strerror(-ENOSPC), strerror(ENOSPC));
    assert_string_equal(store_strerror(MANIFEST_ETOOBIG), manifest_strerror(MANIFEST_ETOOBIG));

    store_free(st);
    sample_free(&s);
    testutil_rmtree(dir);
    free(content);
    free(keys);
    free(file);
    free(under);
    free(dir);
}

static void overwrite_byte(const char *path, off_t at, uint8_t xor_mask)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= xor_mask;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

static void test_verify_detects_damage(void **state)
{
    char *dir;
    struct store *st = temp_store("store_verify", &dir);
    struct sample s;
    put_sample(st, &s, 7 * CS + 99, 3);
    assert_int_equal(store_verify(st, &s.id, NULL), 0);
    struct manifest *m;
    assert_int_equal(store_read_manifest(st, &s.id, &m), 0);

    char *content = piece_path(dir, "files", &s.id);
    char *man = piece_path(dir, "manifests", &s.id);
    char *key = piece_path(dir, "keys", &s.id);
    uint32_t bad;
    uint8_t buf[CS];
    size_t len;

    /* One flipped bit in chunk 3, on disk. */
    overwrite_byte(content, 3 * CS + 1000, 0x04);
    assert_int_equal(store_verify(st, &s.id, &bad), STORE_ECORRUPT);
    assert_int_equal(bad, 3);
    assert_int_equal(store_read_chunk_verified(st, &s.id, m, 3, buf, &len), STORE_ECORRUPT);
    assert_int_equal(len, 0);
    assert_int_equal(store_read_chunk_verified(st, &s.id, m, 2, buf, &len), 0);
    overwrite_byte(content, 3 * CS + 1000, 0x04);
    /* ...and in the short last chunk. */
    overwrite_byte(content, (off_t)s.len - 1, 0x80);
    assert_int_equal(store_verify(st, &s.id, &bad), STORE_ECORRUPT);
    assert_int_equal(bad, 7);
    overwrite_byte(content, (off_t)s.len - 1, 0x80);
    assert_int_equal(store_verify(st, &s.id, &bad), 0);

    /* A truncated file. */
    assert_int_equal(truncate(content, (off_t)s.len - 1), 0);
    assert_int_equal(store_verify(st, &s.id, &bad), STORE_ECORRUPT);
    assert_int_equal(bad, STORE_NO_CHUNK);
    assert_int_equal(store_read_chunk_verified(st, &s.id, m, 7, buf, &len), STORE_ECORRUPT);
    assert_int_equal(fs_write_atomic(content, s.enc, s.len, 0644), 0);
    assert_int_equal(store_verify(st, &s.id, NULL), 0);

    /* A manifest that no longer hashes to the id. */
    size_t man_len;
    uint8_t *man_bytes = testutil_read_file(man, &man_len);
    overwrite_byte(man, MANIFEST_HEADER_LEN + 5, 0x01);
    assert_int_equal(store_verify(st, &s.id, &bad), STORE_ECORRUPT);
    assert_int_equal(bad, STORE_NO_CHUNK);
    struct manifest *m2;
    assert_int_equal(store_read_manifest(st, &s.id, &m2), STORE_ECORRUPT);
    uint8_t *raw;
    assert_int_equal(store_read_manifest_raw(st, &s.id, &raw, &len), STORE_ECORRUPT);
    assert_int_equal(fs_write_atomic(man, man_bytes, man_len, 0644), 0);
    /* A missing manifest of a committed file. */
    assert_int_equal(unlink(man), 0);
    assert_int_equal(store_verify(st, &s.id, &bad), STORE_ECORRUPT);
    assert_int_equal(fs_write_atomic(man, man_bytes, man_len, 0644), 0);
    assert_int_equal(store_verify(st, &s.id, NULL), 0);

    /* A key of the wrong length. */
    assert_int_equal(fs_write_atomic(key, s.key.bytes, CONTENT_KEY_LEN - 1, 0600), 0);
    assert_int_equal(store_verify(st, &s.id, &bad), STORE_ECORRUPT);
    assert_int_equal(bad, STORE_NO_CHUNK);
    struct content_key k;
    assert_int_equal(store_read_key(st, &s.id, &k), STORE_ECORRUPT);
    assert_int_equal(fs_write_atomic(key, s.key.bytes, CONTENT_KEY_LEN, 0600), 0);
    assert_int_equal(store_verify(st, &s.id, NULL), 0);

    free(man_bytes);
    manifest_free(m);
    store_free(st);
    sample_free(&s);
    testutil_rmtree(dir);
    free(content);
    free(man);
    free(key);
    free(dir);
}

/* Regular files in <dir>/<kind>/<shard>/, temp files included. */
static int count_regular_files(const char *dir, const char *kind)
{
    char *top = xasprintf("%s/%s", dir, kind);
    DIR *d = opendir(top);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *shard = xasprintf("%s/%s", top, e->d_name);
        DIR *sd = opendir(shard);
        assert_non_null(sd);
        struct dirent *f;
        while ((f = readdir(sd)) != NULL) {
            struct stat st;
            if (fstatat(dirfd(sd), f->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
                n++;
        }
        closedir(sd);
        free(shard);
    }
    closedir(d);
    free(top);
    return n;
}

/* A put that stops after content and manifest (the key never written) is
 * not a file; sweep removes the leftovers; a new put completes it. */
static void test_commit_point_and_sweep(void **state)
{
    char *dir;
    struct store *st = temp_store("store_commit", &dir);
    struct sample s;
    put_sample(st, &s, 2 * CS + 1, 4);
    char *key = piece_path(dir, "keys", &s.id);
    assert_int_equal(unlink(key), 0); /* as if killed before the key */

    assert_false(store_has(st, &s.id));
    struct manifest *m;
    assert_int_equal(store_read_manifest(st, &s.id, &m), STORE_ENOTFOUND);
    uint8_t buf[CS];
    size_t len;
    assert_int_equal(store_read_chunk(st, &s.id, 0, buf, &len), STORE_ENOTFOUND);

    /* A committed neighbour and a leftover temp file. */
    struct sample other;
    put_sample(st, &other, CS / 2, 5);
    char *other_content = piece_path(dir, "files", &other.id);
    char *temp = xasprintf("%.*s/.x" FS_TEMP_MARKER "abcdef",
                           (int)(strlen(other_content) - CONTENT_ID_HEX_LEN - 1), other_content);
    testutil_write_file(temp, "partial", 7);

    unsigned removed = 99;
    assert_int_equal(store_sweep(st, 3600, &removed), 0);
    assert_int_equal(removed, 0); /* all too young: could be a live put */
    assert_int_equal(count_regular_files(dir, "files"), 3);
    assert_int_equal(store_sweep(st, 0, &removed), 0);
    assert_int_equal(removed, 3); /* orphan content + manifest, temp file */
    assert_int_equal(count_regular_files(dir, "files"), 1);
    assert_int_equal(count_regular_files(dir, "manifests"), 1);
    assert_int_equal(store_verify(st, &other.id, NULL), 0);

    assert_int_equal(store_put(st, s.enc, s.len, &s.key, NULL), 0);
    assert_true(store_has(st, &s.id));
    assert_int_equal(store_verify(st, &s.id, NULL), 0);

    store_free(st);
    sample_free(&s);
    sample_free(&other);
    testutil_rmtree(dir);
    free(key);
    free(other_content);
    free(temp);
    free(dir);
}

/* Remove: absent at once, pieces gone, a cached descriptor dropped (also
 * one in use at the time), and the same bytes can be put again. */
static void test_remove(void **state)
{
    char *dir;
    struct store *st = temp_store("store_remove", &dir);
    struct sample s, other;
    sample_make(&s, 3 * CS + 10, 21);
    sample_make(&other, 2 * CS, 22);
    assert_int_equal(store_put(st, s.enc, s.len, &s.key, &s.id), 0);
    assert_int_equal(store_put(st, other.enc, other.len, &other.key, &other.id), 0);
    uint8_t buf[CS];
    size_t len;
    assert_int_equal(store_read_chunk(st, &s.id, 0, buf, &len), 0); /* now cached */

    assert_int_equal(store_remove(st, &s.id), 0);
    assert_false(store_has(st, &s.id));
    assert_int_equal(store_read_chunk(st, &s.id, 0, buf, &len), STORE_ENOTFOUND);
    assert_int_equal(count_regular_files(dir, "files"), 1);
    assert_int_equal(count_regular_files(dir, "manifests"), 1);
    assert_int_equal(count_regular_files(dir, "keys"), 1);
    assert_int_equal(store_remove(st, &s.id), STORE_ENOTFOUND);
    assert_int_equal(store_verify(st, &other.id, NULL), 0);

    assert_int_equal(store_put(st, s.enc, s.len, &s.key, NULL), 0);
    assert_int_equal(store_read_chunk(st, &s.id, 3, buf, &len), 0);
    assert_int_equal(len, 10);
    assert_memory_equal(buf, s.enc + 3 * CS, 10);

    /* Orphan pieces without a key are cleaned up too. */
    char *key = piece_path(dir, "keys", &other.id);
    assert_int_equal(unlink(key), 0);
    assert_int_equal(store_remove(st, &other.id), STORE_ENOTFOUND);
    assert_int_equal(count_regular_files(dir, "files"), 1);

    store_free(st);
    sample_free(&s);
    sample_free(&other);
    testutil_rmtree(dir);
    free(key);
    free(dir);
}

struct list_result {
    struct content_id ids[16];
    int n;
    int stop_at;
};

static int collect_id(const struct content_id *id, void *ctx)
{
    struct list_result *r = ctx;
    if (r->n == r->stop_at)
        return 42;
    r->ids[r->n++] = *id;
    return 0;
}

static int cmp_ids(const void *a, const void *b)
{
    return memcmp(a, b, CONTENT_ID_LEN);
}

static void test_list_in_order(void **state)
{
    char *dir;
    struct store *st = temp_store("store_list", &dir);
    struct list_result r = {.stop_at = -1};
    assert_int_equal(store_list(st, collect_id, &r), 0);
    assert_int_equal(r.n, 0);

    struct content_id put[10];
    for (unsigned i = 0; i < 10; i++) {
        struct sample s;
        sample_make(&s, 1000 + i * 3000, 100 + i);
        assert_int_equal(store_put(st, s.enc, s.len, &s.key, &put[i]), 0);
        sample_free(&s);
    }
    /* An uncommitted one does not show. */
    char *key = piece_path(dir, "keys", &put[9]);
    assert_int_equal(unlink(key), 0);
    qsort(put, 9, sizeof(put[0]), cmp_ids);

    assert_int_equal(store_list(st, collect_id, &r), 0);
    assert_int_equal(r.n, 9);
    for (int i = 0; i < 9; i++)
        assert_true(content_id_equal(&r.ids[i], &put[i]));

    struct list_result stop = {.stop_at = 4};
    assert_int_equal(store_list(st, collect_id, &stop), 42);
    assert_int_equal(stop.n, 4);

    store_free(st);
    testutil_rmtree(dir);
    free(key);
    free(dir);
}

/* keep() for prune: keeps the one id in ctx; -77 stops at the first. */
struct keep_ctx {
    struct content_id keep;
    int calls, fail;
};

static int keep_one(const struct content_id *id, void *ctx)
{
    struct keep_ctx *k = ctx;
    k->calls++;
    if (k->fail)
        return -77;
    return content_id_equal(id, &k->keep);
}

/* Prune: files nobody claims go once old enough; the claimed one stays;
 * keep's error stops the walk. */
static void test_prune(void **state)
{
    char *dir;
    struct store *st = temp_store("store_prune", &dir);
    struct sample s[3];
    for (unsigned i = 0; i < 3; i++)
        put_sample(st, &s[i], 5000 + i * CS, 300 + i);
    struct keep_ctx k = {.keep = s[1].id};
    unsigned removed = 99;
    assert_int_equal(store_prune(st, 3600, keep_one, &k, &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(k.calls, 0); /* too young: not even asked */
    k.fail = 1;
    assert_int_equal(store_prune(st, 0, keep_one, &k, &removed), -77);
    assert_int_equal(k.calls, 1);
    assert_int_equal(removed, 0);
    k.fail = 0;
    assert_int_equal(store_prune(st, 0, keep_one, &k, &removed), 0);
    assert_int_equal(removed, 2);
    assert_false(store_has(st, &s[0].id));
    assert_true(store_has(st, &s[1].id));
    assert_false(store_has(st, &s[2].id));
    assert_int_equal(count_regular_files(dir, "files"), 1);
    assert_int_equal(count_regular_files(dir, "manifests"), 1);
    assert_int_equal(store_verify(st, &s[1].id, NULL), 0);
    store_free(st);
    for (unsigned i = 0; i < 3; i++)
        sample_free(&s[i]);
    testutil_rmtree(dir);
    free(dir);
}

struct verify_all {
    struct store *st;
    int files, bad;
};

static int verify_one(const struct content_id *id, void *ctx)
{
    struct verify_all *v = ctx;
    v->files++;
    if (store_verify(v->st, id, NULL) != 0)
        v->bad++;
    return 0;
}

/* Puts killed with SIGKILL at random moments: whatever is present verifies. */
static void test_killed_puts_leave_store_consistent(void **state)
{
    char *dir;
    struct store *st = temp_store("store_kill", &dir);
    srand((unsigned)time(NULL));
    for (int round = 0; round < 8; round++) {
        int done[2]; /* the child reports each completed put here */
        assert_int_equal(pipe(done), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(done[0]);
            for (unsigned i = 0;; i++) {
                struct sample s;
                sample_make(&s, 40 * CS + i, 1000u * (unsigned)round + i);
                if (store_put(st, s.enc, s.len, &s.key, NULL) != 0)
                    _exit(1);
                sample_free(&s);
                if (write(done[1], "", 1) != 1)
                    _exit(1);
            }
        }
        close(done[1]);
        /* After the first complete put (however slow the build), kill it
         * at a random moment of a later one. */
        char c;
        assert_int_equal(read(done[0], &c, 1), 1);
        usleep((useconds_t)(rand() % 30000));
        kill(pid, SIGKILL);
        close(done[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
    }
    struct verify_all v = {st, 0, 0};
    assert_int_equal(store_list(st, verify_one, &v), 0);
    assert_true(v.files >= 8);
    assert_int_equal(v.bad, 0);
    unsigned removed;
    assert_int_equal(store_sweep(st, 0, &removed), 0);
    v.files = 0;
    assert_int_equal(store_list(st, verify_one, &v), 0);
    assert_int_equal(v.bad, 0);
    assert_int_equal(count_regular_files(dir, "files"), v.files);
    assert_int_equal(count_regular_files(dir, "manifests"), v.files);
    assert_int_equal(count_regular_files(dir, "keys"), v.files);

    store_free(st);
    testutil_rmtree(dir);
    free(dir);
}

/* A write that fails half way (the file size limit stands in for a full
 * disk): a clear error, nothing visible, no temp file left. */
static void test_failed_write_leaves_nothing(void **state)
{
    char *dir;
    struct store *st = temp_store("store_full", &dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {CS, CS};
        setrlimit(RLIMIT_FSIZE, &rl);
        struct sample s;
        sample_make(&s, 4 * CS, 9);
        int rc = store_put(st, s.enc, s.len, &s.key, &s.id);
        _exit(rc == -EFBIG && !store_has(st, &s.id) ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_regular_files(dir, "files"), 0);
    assert_int_equal(count_regular_files(dir, "keys"), 0);
    store_free(st);
    testutil_rmtree(dir);
    free(dir);
}

#define THREADS       4
#define FILES         40 /* more than the descriptor cache holds */
#define READS_PER_THR 3000

struct reader {
    struct store *st;
    struct content_id *ids;
    struct manifest **manifests;
    unsigned seed;
    int errors;
};

static void *reader_main(void *p)
{
    struct reader *r = p;
    uint8_t *buf = xmalloc(CS);
    for (int i = 0; i < READS_PER_THR; i++) {
        int f = rand_r(&r->seed) % FILES;
        uint32_t idx = (uint32_t)rand_r(&r->seed) % r->manifests[f]->chunk_count;
        size_t len;
        if (store_read_chunk_verified(r->st, &r->ids[f], r->manifests[f], idx, buf, &len) != 0)
            r->errors++;
    }
    free(buf);
    return NULL;
}

static void test_concurrent_chunk_reads(void **state)
{
    char *dir;
    struct store *st = temp_store("store_threads", &dir);
    struct content_id ids[FILES];
    struct manifest *manifests[FILES];
    for (unsigned i = 0; i < FILES; i++) {
        struct sample s;
        sample_make(&s, (1 + i % 7) * CS + i * 13, 500 + i);
        assert_int_equal(store_put(st, s.enc, s.len, &s.key, &ids[i]), 0);
        assert_int_equal(store_read_manifest(st, &ids[i], &manifests[i]), 0);
        sample_free(&s);
    }
    pthread_t threads[THREADS];
    struct reader readers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        readers[t] = (struct reader){st, ids, manifests, (unsigned)t + 1, 0};
        assert_int_equal(pthread_create(&threads[t], NULL, reader_main, &readers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(readers[t].errors, 0);
    }
    for (unsigned i = 0; i < FILES; i++)
        manifest_free(manifests[i]);
    store_free(st);
    testutil_rmtree(dir);
    free(dir);
}

struct churn {
    struct store *st;
    struct sample *s;
    struct manifest *m;
    int stop;
    int errors, reads_ok, reads_absent;
    pthread_mutex_t lock;
};

static void *churn_reader(void *p)
{
    struct churn *c = p;
    uint8_t *buf = xmalloc(CS);
    unsigned seed = 99;
    int ok = 0, absent = 0, errors = 0;
    /* At least one good read each, whatever the scheduling: once stopped,
     * the file is present. */
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) || ok == 0) {
        uint32_t idx = (uint32_t)rand_r(&seed) % c->m->chunk_count;
        size_t len;
        int rc = store_read_chunk_verified(c->st, &c->s->id, c->m, idx, buf, &len);
        if (rc == 0)
            ok++;
        else if (rc == STORE_ENOTFOUND)
            absent++;
        else
            errors++;
    }
    pthread_mutex_lock(&c->lock);
    c->reads_ok += ok;
    c->reads_absent += absent;
    c->errors += errors;
    pthread_mutex_unlock(&c->lock);
    free(buf);
    return NULL;
}

/* Readers on one file while another thread removes and re-puts it: every
 * read is either right or "not found", and the cache ends up usable. */
static void test_remove_while_reading(void **state)
{
    char *dir;
    struct store *st = temp_store("store_churn", &dir);
    struct sample s;
    put_sample(st, &s, 6 * CS + 3, 31);
    struct churn c = {.st = st, .s = &s};
    pthread_mutex_init(&c.lock, NULL);
    assert_int_equal(store_read_manifest(st, &s.id, &c.m), 0);
    pthread_t readers[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, churn_reader, &c), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(store_remove(st, &s.id), 0);
        usleep(200);
        assert_int_equal(store_put(st, s.enc, s.len, &s.key, NULL), 0);
        usleep(200);
    }
    __atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++)
        pthread_join(readers[i], NULL);
    assert_int_equal(c.errors, 0);
    assert_true(c.reads_ok >= 3);
    uint8_t buf[CS];
    size_t len;
    assert_int_equal(store_read_chunk_verified(st, &s.id, c.m, 6, buf, &len), 0);
    assert_int_equal(len, 3);

    pthread_mutex_destroy(&c.lock);
    manifest_free(c.m);
    store_free(st);
    sample_free(&s);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_read),
        cmocka_unit_test(test_put_rules_and_missing_files),
        cmocka_unit_test(test_verify_detects_damage),
        cmocka_unit_test(test_commit_point_and_sweep),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_list_in_order),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_killed_puts_leave_store_consistent),
        cmocka_unit_test(test_failed_write_leaves_nothing),
        cmocka_unit_test(test_concurrent_chunk_reads),
        cmocka_unit_test(test_remove_while_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
