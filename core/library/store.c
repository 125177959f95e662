/* store: the master store of encrypted files, manifests and keys (layout
 * and commit point in store.h).
 *
 * Owns its directory paths and a small cache of open content files
 * (committed files never change, so a cached descriptor never goes stale).
 * Any thread: the cache is guarded by a mutex held only to look up, insert
 * or release an entry; open, pread, fsync and everything else run without
 * it. Blocks on disk I/O, so it must never run on the core loop thread. It
 * must never make a file visible (its key) before its content and manifest
 * are durable. */
#include "library/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/errcode.h"
#include "base/fsutil.h"
#include "base/xmalloc.h"

#define FD_CACHE_SIZE   32
#define KEYS_MODE       0700
#define KEY_FILE_MODE   0600
#define PUBLIC_DIR_MODE 0755
#define PUBLIC_MODE     0644
/* Largest manifest encoding of a stored file (always STORE_CHUNK_SIZE). */
#define MAX_MANIFEST_LEN                                                                           \
    (MANIFEST_HEADER_LEN + (MANIFEST_MAX_FILE_SIZE / STORE_CHUNK_SIZE) * MANIFEST_HASH_LEN)
#define VERIFY_BATCH (64u * STORE_CHUNK_SIZE)

enum kind { KIND_FILES, KIND_MANIFESTS, KIND_KEYS, KIND_COUNT };
static const char *const kind_names[KIND_COUNT] = {"files", "manifests", "keys"};

struct fd_entry {
    struct content_id id;
    int fd; /* -1: slot free */
    uint64_t size;
    unsigned refs;
    uint64_t last_use;
    bool doomed; /* removed while in use: closed by the last release */
};

struct store {
    char *kind_dirs[KIND_COUNT];
    pthread_mutex_t lock; /* guards fds and tick */
    struct fd_entry fds[FD_CACHE_SIZE];
    uint64_t tick;
};

/* An open content file for one read: from the cache (slot >= 0) or not. */
struct open_file {
    int fd;
    uint64_t size;
    int slot;
};

static char *path_of(const struct store *s, enum kind k, const struct content_id *id)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    return xasprintf("%s/%.2s/%s", s->kind_dirs[k], hex, hex);
}

static char *shard_of(const struct store *s, enum kind k, const struct content_id *id)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    return xasprintf("%s/%.2s", s->kind_dirs[k], hex);
}

int store_open(const char *dir, struct store **out)
{
    *out = NULL;
    int rc = fs_mkdir_p(dir, 0700);
    if (rc != 0)
        return rc;
    struct store *s = xcalloc(1, sizeof(*s));
    for (int k = 0; k < KIND_COUNT; k++) {
        s->kind_dirs[k] = xasprintf("%s/%s", dir, kind_names[k]);
        rc = fs_mkdir_p(s->kind_dirs[k], k == KIND_KEYS ? KEYS_MODE : PUBLIC_DIR_MODE);
        if (rc != 0)
            break;
    }
    struct stat st;
    if (rc == 0 && stat(s->kind_dirs[KIND_KEYS], &st) != 0)
        rc = -errno;
    if (rc == 0 && (st.st_mode & 07777) != KEYS_MODE &&
        chmod(s->kind_dirs[KIND_KEYS], KEYS_MODE) != 0)
        rc = -errno;
    if (rc != 0) {
        for (int k = 0; k < KIND_COUNT; k++)
            free(s->kind_dirs[k]);
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < FD_CACHE_SIZE; i++)
        s->fds[i].fd = -1;
    *out = s;
    return 0;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < FD_CACHE_SIZE; i++)
        if (s->fds[i].fd >= 0)
            close(s->fds[i].fd);
    pthread_mutex_destroy(&s->lock);
    for (int k = 0; k < KIND_COUNT; k++)
        free(s->kind_dirs[k]);
    free(s);
}

bool store_has(struct store *s, const struct content_id *id)
{
    char *path = path_of(s, KIND_KEYS, id);
    struct stat st;
    bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return ok;
}

static int enoent_to_notfound(int rc)
{
    return rc == -ENOENT ? STORE_ENOTFOUND : rc;
}

/* Reads the key file without checking presence (it is the presence). */
static int read_key_file(struct store *s, const struct content_id *id, struct content_key *key)
{
    char *path = path_of(s, KIND_KEYS, id);
    uint8_t *buf;
    size_t len;
    int rc = enoent_to_notfound(fs_read_file(path, 4096, &buf, &len));
    free(path);
    if (rc == -EFBIG)
        return STORE_ECORRUPT;
    if (rc != 0)
        return rc;
    if (len == CONTENT_KEY_LEN)
        memcpy(key->bytes, buf, CONTENT_KEY_LEN);
    else
        rc = STORE_ECORRUPT;
    free(buf);
    return rc;
}

int store_read_key(struct store *s, const struct content_id *id, struct content_key *key)
{
    return read_key_file(s, id, key);
}

static int write_piece(struct store *s, enum kind k, const struct content_id *id,
                       const uint8_t *data, size_t len)
{
    bool secret = k == KIND_KEYS;
    char *shard = shard_of(s, k, id);
    int rc = fs_mkdir_p(shard, secret ? KEYS_MODE : PUBLIC_DIR_MODE);
    free(shard);
    if (rc != 0)
        return rc;
    char *path = path_of(s, k, id);
    rc = fs_write_atomic(path, data, len, secret ? KEY_FILE_MODE : PUBLIC_MODE);
    free(path);
    return rc;
}

int store_put(struct store *s, const uint8_t *data, size_t len, const struct content_key *key,
              struct content_id *id_out)
{
    if (len == 0)
        return STORE_EEMPTY;
    struct manifest *m;
    int rc = manifest_build(data, len, STORE_CHUNK_SIZE, &m);
    if (rc != 0)
        return rc;
    uint8_t *enc;
    size_t enc_len;
    manifest_encode(m, &enc, &enc_len);
    manifest_free(m);
    struct content_id id;
    manifest_id_of_encoding(enc, enc_len, &id);
    if (id_out)
        *id_out = id;

    struct content_key old;
    rc = read_key_file(s, &id, &old);
    if (rc == 0) {
        rc = memcmp(old.bytes, key->bytes, CONTENT_KEY_LEN) == 0 ? 0 : STORE_EEXIST;
        goto out;
    }
    if (rc != STORE_ENOTFOUND && rc != STORE_ECORRUPT)
        goto out;
    /* Order matters: the key, written last, is the commit point. */
    rc = write_piece(s, KIND_FILES, &id, data, len);
    if (rc == 0)
        rc = write_piece(s, KIND_MANIFESTS, &id, enc, enc_len);
    if (rc == 0)
        rc = write_piece(s, KIND_KEYS, &id, key->bytes, CONTENT_KEY_LEN);
out:
    free(enc);
    return rc;
}

int store_read_manifest_raw(struct store *s, const struct content_id *id, uint8_t **buf,
                            size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (!store_has(s, id))
        return STORE_ENOTFOUND;
    char *path = path_of(s, KIND_MANIFESTS, id);
    uint8_t *data;
    size_t n;
    int rc = fs_read_file(path, MAX_MANIFEST_LEN, &data, &n);
    free(path);
    if (rc == -ENOENT || rc == -EFBIG)
        return STORE_ECORRUPT; /* committed, so the manifest must be there */
    if (rc != 0)
        return rc;
    struct content_id got;
    manifest_id_of_encoding(data, n, &got);
    if (!content_id_equal(&got, id)) {
        free(data);
        return STORE_ECORRUPT;
    }
    *buf = data;
    *len = n;
    return 0;
}

int store_read_manifest(struct store *s, const struct content_id *id, struct manifest **out)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    int rc = store_read_manifest_raw(s, id, &buf, &len);
    if (rc != 0)
        return rc;
    /* Already checked against the id; decode checks the structure. */
    rc = manifest_decode(buf, len, NULL, out);
    free(buf);
    return rc == 0 ? 0 : STORE_ECORRUPT;
}

static int open_content(struct store *s, const struct content_id *id, int *fd_out,
                        uint64_t *size_out)
{
    char *path = path_of(s, KIND_FILES, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? STORE_ECORRUPT : -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *fd_out = fd;
    *size_out = (uint64_t)st.st_size;
    return 0;
}

static int find_slot(struct store *s, const struct content_id *id)
{
    for (int i = 0; i < FD_CACHE_SIZE; i++)
        if (s->fds[i].fd >= 0 && !s->fds[i].doomed && content_id_equal(&s->fds[i].id, id))
            return i;
    return -1;
}

/* A free slot, else the least recently used idle one; -1 when all busy. */
static int victim_slot(struct store *s)
{
    int best = -1;
    for (int i = 0; i < FD_CACHE_SIZE; i++) {
        if (s->fds[i].fd < 0)
            return i;
        if (s->fds[i].refs == 0 && (best < 0 || s->fds[i].last_use < s->fds[best].last_use))
            best = i;
    }
    return best;
}

static int file_acquire(struct store *s, const struct content_id *id, struct open_file *f)
{
    pthread_mutex_lock(&s->lock);
    int i = find_slot(s, id);
    if (i >= 0) {
        s->fds[i].refs++;
        s->fds[i].last_use = ++s->tick;
        f->fd = s->fds[i].fd;
        f->size = s->fds[i].size;
        f->slot = i;
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    pthread_mutex_unlock(&s->lock);

    int fd;
    uint64_t size;
    int rc = STORE_ECORRUPT;
    /* A committed file whose content is missing is damaged, unless a
     * concurrent remove (and maybe a new put) got in between: look again. */
    for (int attempt = 0; attempt < 3 && rc == STORE_ECORRUPT; attempt++) {
        if (!store_has(s, id))
            return STORE_ENOTFOUND;
        rc = open_content(s, id, &fd, &size);
    }
    if (rc != 0)
        return rc;

    int stale_fd = -1;
    pthread_mutex_lock(&s->lock);
    i = find_slot(s, id); /* another thread may have opened it meanwhile */
    if (i >= 0) {
        stale_fd = fd;
        fd = s->fds[i].fd;
    } else if ((i = victim_slot(s)) >= 0) {
        stale_fd = s->fds[i].fd;
        s->fds[i].id = *id;
        s->fds[i].fd = fd;
        s->fds[i].size = size;
        s->fds[i].refs = 0;
        s->fds[i].doomed = false;
    }
    if (i >= 0) {
        s->fds[i].refs++;
        s->fds[i].last_use = ++s->tick;
        size = s->fds[i].size;
    }
    pthread_mutex_unlock(&s->lock);
    if (stale_fd >= 0)
        close(stale_fd);
    f->fd = fd;
    f->size = size;
    f->slot = i;
    return 0;
}

static void file_release(struct store *s, struct open_file *f)
{
    if (f->slot < 0) {
        close(f->fd);
        return;
    }
    int doomed_fd = -1;
    pthread_mutex_lock(&s->lock);
    struct fd_entry *e = &s->fds[f->slot];
    if (--e->refs == 0 && e->doomed) {
        doomed_fd = e->fd;
        e->fd = -1;
    }
    pthread_mutex_unlock(&s->lock);
    if (doomed_fd >= 0)
        close(doomed_fd);
}

/* Drops id from the descriptor cache (now, or at its last release). */
static void file_forget(struct store *s, const struct content_id *id)
{
    int fd = -1;
    pthread_mutex_lock(&s->lock);
    int i = find_slot(s, id);
    if (i >= 0 && s->fds[i].refs == 0) {
        fd = s->fds[i].fd;
        s->fds[i].fd = -1;
    } else if (i >= 0) {
        s->fds[i].doomed = true;
    }
    pthread_mutex_unlock(&s->lock);
    if (fd >= 0)
        close(fd);
}

/* Reads exactly len bytes at offset from f; a short read means the file on
 * disk is shorter than it was (damaged). */
static int read_exact(struct open_file *f, uint8_t *buf, size_t len, uint64_t offset)
{
    ssize_t n = fs_pread_full(f->fd, buf, len, offset);
    if (n < 0)
        return (int)n;
    return (size_t)n == len ? 0 : STORE_ECORRUPT;
}

int store_read_chunk(struct store *s, const struct content_id *id, uint32_t index, uint8_t *buf,
                     size_t *len)
{
    *len = 0;
    struct open_file f;
    int rc = file_acquire(s, id, &f);
    if (rc != 0)
        return rc;
    uint64_t off = (uint64_t)index * STORE_CHUNK_SIZE;
    if (off >= f.size) {
        rc = STORE_ERANGE;
    } else {
        size_t n = f.size - off < STORE_CHUNK_SIZE ? (size_t)(f.size - off) : STORE_CHUNK_SIZE;
        rc = read_exact(&f, buf, n, off);
        if (rc == 0)
            *len = n;
    }
    file_release(s, &f);
    return rc;
}

int store_read_chunk_verified(struct store *s, const struct content_id *id,
                              const struct manifest *m, uint32_t index, uint8_t *buf, size_t *len)
{
    if (m->chunk_size != STORE_CHUNK_SIZE)
        return STORE_ECORRUPT;
    if (index >= m->chunk_count)
        return STORE_ERANGE;
    int rc = store_read_chunk(s, id, index, buf, len);
    if (rc == STORE_ERANGE) /* the manifest has it, the file is too short */
        rc = STORE_ECORRUPT;
    if (rc == 0 && !manifest_verify_chunk(m, index, buf, *len))
        rc = STORE_ECORRUPT;
    if (rc != 0)
        *len = 0;
    return rc;
}

int store_read_decrypted(struct store *s, const struct content_id *id, uint64_t offset,
                         uint8_t *buf, size_t len)
{
    struct content_key key;
    int rc = read_key_file(s, id, &key);
    if (rc != 0)
        return rc;
    struct open_file f;
    rc = file_acquire(s, id, &f);
    if (rc != 0)
        return rc;
    if (offset > f.size || len > f.size - offset)
        rc = STORE_ERANGE;
    else
        rc = read_exact(&f, buf, len, offset);
    file_release(s, &f);
    if (rc == 0 && content_crypt(&key, offset, buf, buf, len) != 0)
        rc = STORE_ECRYPTO;
    return rc;
}

static int verify_content(struct store *s, const struct content_id *id, const struct manifest *m,
                          uint32_t *bad_chunk)
{
    /* A fresh descriptor: verify reads what the disk holds now. */
    int fd;
    uint64_t size;
    int rc = open_content(s, id, &fd, &size);
    if (rc != 0)
        return rc;
    if (size != m->file_size) {
        close(fd);
        return STORE_ECORRUPT;
    }
    uint8_t *buf = xmalloc(VERIFY_BATCH);
    uint32_t per_batch = VERIFY_BATCH / m->chunk_size;
    for (uint32_t first = 0; first < m->chunk_count && rc == 0; first += per_batch) {
        uint64_t off = (uint64_t)first * m->chunk_size;
        size_t n = size - off < VERIFY_BATCH ? (size_t)(size - off) : VERIFY_BATCH;
        ssize_t got = fs_pread_full(fd, buf, n, off);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        if ((size_t)got != n) {
            rc = STORE_ECORRUPT;
            break;
        }
        for (uint32_t i = first; i < m->chunk_count && i < first + per_batch; i++) {
            uint32_t clen = manifest_chunk_len(m, i);
            if (!manifest_verify_chunk(m, i, buf + (uint64_t)(i - first) * m->chunk_size, clen)) {
                *bad_chunk = i;
                rc = STORE_ECORRUPT;
                break;
            }
        }
    }
    free(buf);
    close(fd);
    return rc;
}

int store_verify(struct store *s, const struct content_id *id, uint32_t *bad_chunk)
{
    uint32_t bad = STORE_NO_CHUNK;
    struct content_key key;
    int rc = read_key_file(s, id, &key);
    struct manifest *m = NULL;
    if (rc == 0)
        rc = store_read_manifest(s, id, &m);
    if (rc == 0 && m->chunk_size != STORE_CHUNK_SIZE)
        rc = STORE_ECORRUPT;
    if (rc == 0)
        rc = verify_content(s, id, m, &bad);
    manifest_free(m);
    if (bad_chunk)
        *bad_chunk = rc == STORE_ECORRUPT ? bad : STORE_NO_CHUNK;
    return rc;
}

/* Unlinks one piece; 1 when it existed, 0 when not, or -errno. */
static int unlink_piece(struct store *s, enum kind k, const struct content_id *id)
{
    char *path = path_of(s, k, id);
    int rc = unlink(path) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
    free(path);
    return rc;
}

int store_remove(struct store *s, const struct content_id *id)
{
    /* Uncommit first, durably: a crash after this leaves orphans for
     * store_sweep, never a key whose content is gone. */
    int rc = unlink_piece(s, KIND_KEYS, id);
    if (rc < 0)
        return rc;
    bool existed = rc == 1;
    if (existed) {
        char *shard = shard_of(s, KIND_KEYS, id);
        rc = fs_fsync_dir(shard);
        free(shard);
        if (rc != 0)
            return rc;
    }
    file_forget(s, id);
    rc = unlink_piece(s, KIND_MANIFESTS, id);
    int rc2 = unlink_piece(s, KIND_FILES, id);
    if (rc < 0 || rc2 < 0)
        return rc < 0 ? rc : rc2;
    return existed ? 0 : STORE_ENOTFOUND;
}

static bool is_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return p[n] == '\0';
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name); /* byte order, whatever the locale */
}

static int is_shard_name(const struct dirent *e)
{
    return is_hex(e->d_name, 2);
}

static int is_id_name(const struct dirent *e)
{
    return is_hex(e->d_name, CONTENT_ID_HEX_LEN);
}

/* Calls fn(shard path, entry name, ctx) for every id-named entry of every
 * shard of kind k, in byte order of the names. */
typedef int (*walk_fn)(struct store *s, const char *shard, const char *name, void *ctx);

static int walk(struct store *s, enum kind k, walk_fn fn, void *ctx)
{
    struct dirent **shards;
    int ns = scandir(s->kind_dirs[k], &shards, is_shard_name, cmp_names);
    if (ns < 0)
        return -errno;
    int rc = 0;
    for (int i = 0; i < ns; i++) {
        char *shard = xasprintf("%s/%s", s->kind_dirs[k], shards[i]->d_name);
        struct dirent **names;
        int nn = rc == 0 ? scandir(shard, &names, is_id_name, cmp_names) : 0;
        if (nn < 0 && errno != ENOENT && errno != ENOTDIR)
            rc = -errno;
        for (int j = 0; j < nn; j++) {
            if (rc == 0 && strncmp(names[j]->d_name, shards[i]->d_name, 2) == 0)
                rc = fn(s, shard, names[j]->d_name, ctx);
            free(names[j]);
        }
        if (nn > 0)
            free(names);
        free(shard);
        free(shards[i]);
    }
    free(shards);
    return rc;
}

struct list_ctx {
    store_list_fn fn;
    void *ctx;
};

static int list_one(struct store *s, const char *shard, const char *name, void *ctx)
{
    struct list_ctx *lc = ctx;
    struct content_id id;
    if (content_id_from_hex(name, &id) != 0)
        return 0;
    return lc->fn(&id, lc->ctx);
}

int store_list(struct store *s, store_list_fn fn, void *ctx)
{
    struct list_ctx lc = {fn, ctx};
    return walk(s, KIND_KEYS, list_one, &lc);
}

struct sweep_ctx {
    unsigned min_age_s;
    unsigned removed;
    time_t now;
};

/* True when shard/name last changed at least sc->min_age_s ago (younger
 * ones may be another process's put or remove at work). */
static bool old_enough(const struct sweep_ctx *sc, const char *shard, const char *name)
{
    char *path = xasprintf("%s/%s", shard, name);
    struct stat st;
    /* min_age 0 takes all (a ctime may run ahead of the coarse time()) */
    bool old = lstat(path, &st) == 0 &&
               (sc->min_age_s == 0 || sc->now - st.st_ctime >= (time_t)sc->min_age_s);
    free(path);
    return old;
}

/* Content or manifest without a key, old enough: a put that died. */
static int sweep_orphan(struct store *s, const char *shard, const char *name, void *ctx)
{
    struct sweep_ctx *sc = ctx;
    struct content_id id;
    if (content_id_from_hex(name, &id) != 0 || store_has(s, &id) || !old_enough(sc, shard, name))
        return 0;
    char *path = xasprintf("%s/%s", shard, name);
    int rc = 0;
    if (unlink(path) == 0)
        sc->removed++;
    else if (errno != ENOENT)
        rc = -errno;
    free(path);
    return rc;
}

static int sweep_temps(struct store *s, const char *shard, void *ctx)
{
    struct sweep_ctx *sc = ctx;
    unsigned n = 0;
    int rc = fs_remove_temps(shard, sc->min_age_s, &n);
    sc->removed += n;
    return rc == -ENOENT ? 0 : rc;
}

int store_sweep(struct store *s, unsigned min_age_s, unsigned *removed)
{
    struct sweep_ctx sc = {min_age_s, 0, time(NULL)};
    int rc = 0;
    for (int k = 0; k < KIND_COUNT && rc == 0; k++) {
        struct dirent **shards;
        int ns = scandir(s->kind_dirs[k], &shards, is_shard_name, cmp_names);
        if (ns < 0)
            return -errno;
        for (int i = 0; i < ns; i++) {
            char *shard = xasprintf("%s/%s", s->kind_dirs[k], shards[i]->d_name);
            if (rc == 0)
                rc = sweep_temps(s, shard, &sc);
            free(shard);
            free(shards[i]);
        }
        free(shards);
        /* Keys are never orphans: a key is the commit point. */
        if (rc == 0 && k != KIND_KEYS)
            rc = walk(s, k, sweep_orphan, &sc);
    }
    if (removed)
        *removed = sc.removed;
    return rc;
}

struct prune_ctx {
    struct sweep_ctx age;
    store_keep_fn keep;
    void *ctx;
};

/* A committed file nobody claims, committed long enough ago (the key's
 * status change time is its commit, the rename into place): removed. */
static int prune_one(struct store *s, const char *shard, const char *name, void *ctx)
{
    struct prune_ctx *pc = ctx;
    struct content_id id;
    if (content_id_from_hex(name, &id) != 0 || !old_enough(&pc->age, shard, name))
        return 0;
    int rc = pc->keep(&id, pc->ctx);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    rc = store_remove(s, &id);
    if (rc == 0)
        pc->age.removed++;
    return rc == STORE_ENOTFOUND ? 0 : rc; /* another process removed it first */
}

int store_prune(struct store *s, unsigned min_age_s, store_keep_fn keep, void *ctx,
                unsigned *removed)
{
    struct prune_ctx pc = {{min_age_s, 0, time(NULL)}, keep, ctx};
    int rc = walk(s, KIND_KEYS, prune_one, &pc);
    if (removed)
        *removed = pc.age.removed;
    return rc;
}

const char *store_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case STORE_ENOTFOUND:
        return "no such file in the store";
    case STORE_ECORRUPT:
        return "stored file is damaged (does not match its id or manifest)";
    case STORE_EEMPTY:
        return "refusing to store an empty file";
    case STORE_ERANGE:
        return "chunk or byte range beyond the end of the file";
    case STORE_EEXIST:
        return "file already stored with a different key";
    case STORE_ECRYPTO:
        return "decryption failed (OpenSSL)";
    }
    if (errcode_in_block(err, MANIFEST_EFORMAT))
        return manifest_strerror(err);
    return fs_strerror(err);
}
