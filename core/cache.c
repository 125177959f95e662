/* cache: the client's on-disk chunk cache (DESIGN.md §6; API and rules in
 * core/cache.h).
 *
 * Owns: the cache directory (lock file, SQLite index, data files), the
 * in-memory table of files (manifest, presence and verified bitmaps, pins,
 * last played, open data fd), the lifetime counters and the event queue.
 * This file: the table, data fds, events, open/close and the in-memory
 * calls. cache_read.c reads, cache_write.c writes and evicts, cache_index.c
 * is the SQLite layer, cache_async.c the libuv front.
 *
 * Threads: in-memory calls from any thread (the loop included) take only
 * mu, which nobody holds across disk I/O; blocking calls run on threadpool
 * threads, the decoder thread or a tool's main thread. Must never: return
 * a chunk that did not pass its check, write a byte before room was made
 * under the cap, or let the index claim a chunk whose bytes were not
 * synced. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache_internal.h"
#include "base/fsutil.h"
#include "base/xmalloc.h"

/* ---- bits, ids, time ---- */

bool cache_bit(const uint8_t *bits, uint32_t i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}

void cache_bit_set(uint8_t *bits, uint32_t i, bool on)
{
    if (on)
        bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

const char *cache_short_id(const struct content_id *id, char *buf)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    memcpy(buf, hex, 8);
    buf[8] = '\0';
    return buf;
}

int64_t cache_clock_next(struct cache *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    /* Strictly increasing, so two plays in the same millisecond still
     * have an order for LRU. */
    c->clock_ms = now > c->clock_ms ? now : c->clock_ms + 1;
    return c->clock_ms;
}

char *cache_data_path(const struct cache *c, const struct content_id *id)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(id, hex);
    return xasprintf("%s/%.2s/%s", c->chunks_dir, hex, hex);
}

/* ---- the table ---- */

static size_t bucket_of(const struct cache *c, const struct content_id *id)
{
    uint64_t h;
    memcpy(&h, id->bytes, sizeof(h)); /* ids are SHA-256: already uniform */
    return (size_t)(h & (c->nbuckets - 1));
}

struct cfile *cache_lookup(struct cache *c, const struct content_id *id)
{
    for (struct cfile *f = c->buckets[bucket_of(c, id)]; f; f = f->hnext)
        if (memcmp(f->id.bytes, id->bytes, CONTENT_ID_LEN) == 0)
            return f;
    return NULL;
}

static void grow(struct cache *c)
{
    size_t old_n = c->nbuckets;
    struct cfile **old = c->buckets;
    c->nbuckets = old_n * 2;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    for (size_t b = 0; b < old_n; b++)
        for (struct cfile *f = old[b], *next; f; f = next) {
            next = f->hnext;
            size_t nb = bucket_of(c, &f->id);
            f->hnext = c->buckets[nb];
            c->buckets[nb] = f;
        }
    free(old);
}

struct cfile *cache_lookup_add(struct cache *c, const struct content_id *id)
{
    struct cfile *f = cache_lookup(c, id);
    if (f)
        return f;
    if (c->nentries >= c->nbuckets)
        grow(c);
    f = xcalloc(1, sizeof(*f));
    f->id = *id;
    f->fd = -1;
    size_t b = bucket_of(c, id);
    f->hnext = c->buckets[b];
    c->buckets[b] = f;
    c->nentries++;
    return f;
}

void cache_file_set_manifest(struct cfile *f, struct manifest *m, uint32_t manifest_len)
{
    size_t bytes = (m->chunk_count + 7) / 8;
    f->m = m;
    f->manifest_len = manifest_len;
    f->present = xcalloc(bytes ? bytes : 1, 1);
    f->verified = xcalloc(bytes ? bytes : 1, 1);
}

static void fd_unlink(struct cache *c, struct cfile *f)
{
    if (f->fd < 0)
        return;
    if (f->fd_prev)
        f->fd_prev->fd_next = f->fd_next;
    else
        c->fd_head = f->fd_next;
    if (f->fd_next)
        f->fd_next->fd_prev = f->fd_prev;
    else
        c->fd_tail = f->fd_prev;
    f->fd_prev = f->fd_next = NULL;
    c->open_fds--;
}

static void fd_push_front(struct cache *c, struct cfile *f)
{
    f->fd_prev = NULL;
    f->fd_next = c->fd_head;
    if (c->fd_head)
        c->fd_head->fd_prev = f;
    else
        c->fd_tail = f;
    c->fd_head = f;
    c->open_fds++;
}

static void cfile_free(struct cfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    manifest_free(f->m);
    free(f->present);
    free(f->verified);
    free(f);
}

void cache_remove_locked(struct cache *c, struct cfile *f)
{
    struct cfile **pp = &c->buckets[bucket_of(c, &f->id)];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    f->hnext = NULL;
    c->nentries--;
    if (f->m)
        c->nfiles--;
    fd_unlink(c, f); /* the fd itself stays open for holders of a ref */
    f->gone = true;
    if (f->refs == 0)
        cfile_free(f);
}

/* Closes the least recently used data fds beyond the limit; files in use
 * keep theirs. close(2) of a regular file does no disk I/O. */
static void fd_trim(struct cache *c)
{
    struct cfile *f = c->fd_tail;
    while (c->open_fds > c->max_open_fds && f) {
        struct cfile *prev = f->fd_prev;
        if (f->refs == 0) {
            int fd = f->fd;
            fd_unlink(c, f);
            f->fd = -1;
            close(fd);
        }
        f = prev;
    }
}

void cache_unref_locked(struct cache *c, struct cfile *f)
{
    f->refs--;
    if (f->refs)
        return;
    if (f->gone)
        cfile_free(f);
    else if (!f->m && !f->pins && !f->writers)
        cache_remove_locked(c, f); /* a pin-only entry nobody needs */
    else
        fd_trim(c);
}

int cache_file_fd(struct cache *c, struct cfile *f, bool create)
{
    pthread_mutex_lock(&c->mu);
    if (f->gone) {
        pthread_mutex_unlock(&c->mu);
        return CACHE_ENOTFOUND;
    }
    if (f->fd >= 0) {
        int fd = f->fd;
        fd_unlink(c, f);
        fd_push_front(c, f);
        pthread_mutex_unlock(&c->mu);
        return fd;
    }
    pthread_mutex_unlock(&c->mu);

    /* Open outside mu. Eviction marks a file gone (under mu) before it
     * unlinks its data, so an fd opened by path here is the right inode
     * exactly when the file is still not gone afterwards. */
    char *path = cache_data_path(c, &f->id);
    if (create) {
        char *sub = xstrndup(path, strlen(c->chunks_dir) + 3);
        if (mkdir(sub, 0700) != 0 && errno != EEXIST) {
            int err = -errno;
            free(sub);
            free(path);
            return err;
        }
        free(sub);
    }
    int nfd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    int err = nfd < 0 ? -errno : 0;
    free(path);
    if (nfd < 0)
        return err;

    pthread_mutex_lock(&c->mu);
    if (f->gone) {
        pthread_mutex_unlock(&c->mu);
        close(nfd);
        return CACHE_ENOTFOUND;
    }
    if (f->fd >= 0) {
        close(nfd); /* another thread was quicker */
    } else {
        f->fd = nfd;
        fd_push_front(c, f);
        fd_trim(c);
    }
    int fd = f->fd;
    pthread_mutex_unlock(&c->mu);
    return fd;
}

/* ---- events ---- */

void cache_event_locked(struct cache *c, enum cache_event type, const struct content_id *id)
{
    if (!c->on_event)
        return;
    struct cache_ev *ev = xmalloc(sizeof(*ev));
    ev->next = NULL;
    ev->type = type;
    ev->id = *id;
    if (c->ev_tail)
        c->ev_tail->next = ev;
    else
        c->ev_head = ev;
    c->ev_tail = ev;
}

void cache_events_deliver(struct cache *c)
{
    pthread_mutex_lock(&c->mu);
    struct cache_ev *list = c->ev_head;
    c->ev_head = c->ev_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    while (list) {
        struct cache_ev *next = list->next;
        c->on_event(c->event_ctx, list->type, &list->id);
        free(list);
        list = next;
    }
}

void cache_events_flush(struct cache *c)
{
    pthread_mutex_lock(&c->mu);
    bool any = c->ev_head != NULL;
    pthread_mutex_unlock(&c->mu);
    if (!any)
        return;
    if (c->wake)
        uv_async_send(c->wake);
    else
        cache_events_deliver(c);
}

/* ---- open and close ---- */

static int take_lock(struct cache *c)
{
    char *path = xasprintf("%s/lock", c->dir);
    c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int err = c->lock_fd < 0 ? -errno : 0;
    free(path);
    if (err)
        return err;
    if (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? CACHE_ELOCKED : -errno;
    return 0;
}

/* Forgets present chunks from i on (their bytes are not on disk). */
static int forget_chunks(struct cache *c, struct cfile *f, uint64_t disk_size)
{
    for (uint32_t i = 0; i < f->m->chunk_count; i++) {
        uint64_t end = (uint64_t)i * f->m->chunk_size + manifest_chunk_len(f->m, i);
        if (!cache_bit(f->present, i) || end <= disk_size)
            continue;
        int err = cache_index_del_chunk(c, f->rowid, i);
        if (err)
            return err;
        uint32_t len = manifest_chunk_len(f->m, i);
        cache_bit_set(f->present, i, false);
        f->chunks_present--;
        f->chunk_bytes -= len;
        c->used -= len;
    }
    return 0;
}

static bool parse_hex_name(const char *name, struct content_id *id)
{
    return strlen(name) == CONTENT_ID_HEX_LEN && content_id_from_hex(name, id) == 0;
}

/* Removes data files nobody indexes (left by an eviction cut short). */
static void sweep_orphans(struct cache *c)
{
    DIR *top = opendir(c->chunks_dir);
    if (!top)
        return;
    unsigned removed = 0;
    struct dirent *sub;
    while ((sub = readdir(top))) {
        /* Only the <2 hex> directories (not "..", which is also two long). */
        if (strlen(sub->d_name) != 2 || !isxdigit((unsigned char)sub->d_name[0]) ||
            !isxdigit((unsigned char)sub->d_name[1]))
            continue;
        char *subdir = xasprintf("%s/%s", c->chunks_dir, sub->d_name);
        DIR *d = opendir(subdir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            struct content_id id;
            if (e->d_name[0] == '.')
                continue;
            struct cfile *f = parse_hex_name(e->d_name, &id) ? cache_lookup(c, &id) : NULL;
            if (f && f->m)
                continue;
            char *path = xasprintf("%s/%s", subdir, e->d_name);
            if (unlink(path) == 0)
                removed++;
            free(path);
        }
        if (d)
            closedir(d);
        free(subdir);
    }
    closedir(top);
    if (removed)
        clog_info(c->log, CACHE_LOG_MODULE, "removed %u data files with no index entry", removed);
}

/* Crash repair at open: rows whose bytes are not on disk go. */
static int repair(struct cache *c)
{
    int err = cache_index_begin(c);
    if (err)
        return err;
    unsigned fixed = 0;
    for (size_t b = 0; b < c->nbuckets && !err; b++)
        for (struct cfile *f = c->buckets[b]; f && !err; f = f->hnext) {
            if (!f->m || !f->chunks_present)
                continue;
            char *path = cache_data_path(c, &f->id);
            struct stat st;
            uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
            free(path);
            uint32_t before = f->chunks_present;
            err = forget_chunks(c, f, size);
            fixed += before - f->chunks_present;
        }
    if (!err)
        err = cache_index_fix_complete(c);
    if (err) {
        cache_index_rollback(c);
        return err;
    }
    if ((err = cache_index_commit(c)))
        return err;
    if (fixed)
        clog_warn(c->log, CACHE_LOG_MODULE,
                  "%u indexed chunks had no data on disk (interrupted eviction?): forgotten",
                  fixed);
    sweep_orphans(c);
    return 0;
}

/* Forgets every file (open failed half-way; nobody else sees c yet). */
static void table_clear(struct cache *c)
{
    for (size_t b = 0; b < c->nbuckets; b++) {
        for (struct cfile *f = c->buckets[b], *next; f; f = next) {
            next = f->hnext;
            cfile_free(f);
        }
        c->buckets[b] = NULL;
    }
    c->nentries = c->nfiles = 0;
    c->used = 0;
    c->fd_head = c->fd_tail = NULL;
    c->open_fds = 0;
    memset(&c->ctr, 0, sizeof(c->ctr));
}

/* Opens and loads the index. One that SQLite finds corrupt is set aside
 * and the cache starts empty (its data files then go as orphans): a cache
 * is only a cache, and a player that cannot start is worse. */
static int open_index(struct cache *c)
{
    char *db = xasprintf("%s/index.sqlite", c->dir);
    int err = cache_index_open(c, db);
    if (!err)
        err = cache_index_load(c);
    if (err && cache_index_corrupt(c)) {
        char *aside = xasprintf("%s.corrupt", db);
        clog_error(c->log, CACHE_LOG_MODULE, "index %s is corrupt: moved to %s, starting empty", db,
                   aside);
        cache_index_close(c);
        table_clear(c);
        rename(db, aside);
        char *side = xasprintf("%s-wal", db);
        unlink(side);
        free(side);
        side = xasprintf("%s-shm", db);
        unlink(side);
        free(side);
        free(aside);
        err = cache_index_open(c, db);
        if (!err)
            err = cache_index_load(c);
    }
    free(db);
    return err;
}

static void cache_destroy(struct cache *c)
{
    cache_index_close(c);
    table_clear(c);
    free(c->buckets);
    while (c->ev_head) {
        struct cache_ev *next = c->ev_head->next;
        free(c->ev_head);
        c->ev_head = next;
    }
    while (c->doomed) {
        struct cache_doomed *next = c->doomed->next;
        free(c->doomed);
        c->doomed = next;
    }
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* releases the flock */
    cache_async_close(c);
    pthread_cond_destroy(&c->arrived);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->io);
    free(c->dir);
    free(c->chunks_dir);
    free(c);
}

int cache_open(const struct cache_config *cfg, struct cache **out)
{
    *out = NULL;
    if (!cfg || !cfg->dir || !*cfg->dir)
        return CACHE_EINVAL;
    struct cache *c = xcalloc(1, sizeof(*c));
    c->dir = xstrdup(cfg->dir);
    c->chunks_dir = xasprintf("%s/chunks", cfg->dir);
    c->log = cfg->log;
    c->lock_fd = -1;
    c->verify_every_read = cfg->verify_every_read;
    c->max_open_fds = cfg->max_open_files ? cfg->max_open_files : CACHE_MAX_OPEN_FDS;
    c->loop = cfg->loop;
    c->on_event = cfg->on_event;
    c->event_ctx = cfg->event_ctx;
    pthread_mutex_init(&c->io, NULL);
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->arrived, &ca);
    pthread_condattr_destroy(&ca);
    c->nbuckets = 64;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));

    int err = fs_mkdir_p(c->chunks_dir, 0700);
    if (!err)
        err = take_lock(c);
    if (!err)
        err = open_index(c);
    if (!err)
        err = repair(c);
    if (!err) {
        c->cap_default = cfg->cap_bytes == 0;
        c->cap = cfg->cap_bytes;
        if (c->cap_default)
            err = cache_default_cap(c->dir, c->used, &c->cap);
    }
    if (!err && c->loop)
        err = cache_async_init(c);
    if (err) {
        clog_error(c->log, CACHE_LOG_MODULE, "cannot open cache in %s: %s", c->dir,
                   cache_strerror(err));
        cache_destroy(c);
        return err;
    }
    if (c->used > c->cap) {
        /* The cap was lowered since the last run. */
        pthread_mutex_lock(&c->io);
        pthread_mutex_lock(&c->mu);
        cache_make_room_locked(c, 0);
        pthread_mutex_unlock(&c->mu);
        cache_reap_doomed(c);
        pthread_mutex_unlock(&c->io);
        cache_events_flush(c);
    }
    char capbuf[32], usedbuf[32];
    clog_info(c->log, CACHE_LOG_MODULE, "opened %s: %u files, %s of %s", c->dir, c->nfiles,
              cache_format_size(c->used, usedbuf, sizeof(usedbuf)),
              cache_format_size(c->cap, capbuf, sizeof(capbuf)));
    *out = c;
    return 0;
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    if (c->pending)
        clog_error(c->log, CACHE_LOG_MODULE, "freed with %u async calls pending", c->pending);
    int err = cache_flush(c);
    if (err)
        clog_warn(c->log, CACHE_LOG_MODULE, "could not save play times and counters: %s",
                  cache_strerror(err));
    cache_destroy(c);
}

/* ---- in-memory calls ---- */

uint32_t cache_chunk_len(struct cache *c, const struct content_id *id, uint32_t index)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    uint32_t len = f && f->m ? manifest_chunk_len(f->m, index) : 0;
    pthread_mutex_unlock(&c->mu);
    return len;
}

void cache_pin(struct cache *c, const struct content_id *id)
{
    pthread_mutex_lock(&c->mu);
    cache_lookup_add(c, id)->pins++;
    pthread_mutex_unlock(&c->mu);
}

void cache_unpin(struct cache *c, const struct content_id *id)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    if (f && f->pins) {
        f->pins--;
        if (!f->pins && !f->m && !f->refs && !f->writers)
            cache_remove_locked(c, f);
    }
    pthread_mutex_unlock(&c->mu);
}

static bool complete(const struct cfile *f)
{
    return f->m && f->chunks_present == f->m->chunk_count;
}

bool cache_note_play(struct cache *c, const struct content_id *id)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    bool hit = f && complete(f);
    if (hit)
        c->ctr.play_hits++;
    else
        c->ctr.play_misses++;
    c->ctr_dirty = true;
    if (f && f->m) {
        f->last_played_ms = cache_clock_next(c);
        f->played_dirty = true;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

bool cache_has_chunk(struct cache *c, const struct content_id *id, uint32_t index)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    bool has = f && f->m && index < f->m->chunk_count && cache_bit(f->present, index);
    pthread_mutex_unlock(&c->mu);
    return has;
}

static void fill_info(const struct cfile *f, struct cache_file_info *out)
{
    out->id = f->id;
    out->file_size = f->m->file_size;
    out->chunk_count = f->m->chunk_count;
    out->chunks_present = f->chunks_present;
    out->bytes_present = f->chunk_bytes + f->manifest_len;
    out->complete = complete(f);
    out->pins = f->pins;
    out->last_played_ms = f->last_played_ms;
}

int cache_file_info(struct cache *c, const struct content_id *id, struct cache_file_info *out)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    int err = f && f->m ? 0 : CACHE_ENOTFOUND;
    if (!err)
        fill_info(f, out);
    pthread_mutex_unlock(&c->mu);
    return err;
}

static int by_last_played(const void *a, const void *b)
{
    const struct cache_file_info *x = a, *y = b;
    return (x->last_played_ms > y->last_played_ms) - (x->last_played_ms < y->last_played_ms);
}

size_t cache_list_files(struct cache *c, struct cache_file_info **out)
{
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    struct cache_file_info *v = xmalloc((c->nfiles ? c->nfiles : 1) * sizeof(*v));
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct cfile *f = c->buckets[b]; f; f = f->hnext)
            if (f->m)
                fill_info(f, &v[n++]);
    pthread_mutex_unlock(&c->mu);
    qsort(v, n, sizeof(*v), by_last_played);
    *out = v;
    return n;
}

size_t cache_list_complete(struct cache *c, struct content_id **out)
{
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    struct content_id *v = xmalloc((c->nfiles ? c->nfiles : 1) * sizeof(*v));
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct cfile *f = c->buckets[b]; f; f = f->hnext)
            if (complete(f))
                v[n++] = f->id;
    pthread_mutex_unlock(&c->mu);
    *out = v;
    return n;
}

int cache_chunk_map(struct cache *c, const struct content_id *id, uint8_t **bits, uint32_t *count)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    int err = f && f->m ? 0 : CACHE_ENOTFOUND;
    if (!err) {
        size_t bytes = (f->m->chunk_count + 7) / 8;
        *bits = xmalloc(bytes ? bytes : 1);
        memcpy(*bits, f->present, bytes);
        *count = f->m->chunk_count;
    }
    pthread_mutex_unlock(&c->mu);
    return err;
}

int cache_get_manifest(struct cache *c, const struct content_id *id, uint8_t **enc, size_t *len)
{
    pthread_mutex_lock(&c->mu);
    struct cfile *f = cache_lookup(c, id);
    int err = f && f->m ? 0 : CACHE_ENOTFOUND;
    if (!err)
        manifest_encode(f->m, enc, len); /* canonical: the bytes that hash to id */
    pthread_mutex_unlock(&c->mu);
    return err;
}

void cache_stats(struct cache *c, struct cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->mu);
    out->cap_bytes = c->cap;
    out->used_bytes = c->used;
    for (size_t b = 0; b < c->nbuckets; b++)
        for (struct cfile *f = c->buckets[b]; f; f = f->hnext) {
            if (!f->m)
                continue;
            out->files++;
            out->complete_files += complete(f);
            out->pinned_files += f->pins > 0;
        }
    const struct cache_counters *k = &c->ctr;
    out->play_hits = k->play_hits;
    out->play_misses = k->play_misses;
    out->hit_bytes = k->hit_bytes;
    out->miss_bytes = k->miss_bytes;
    memcpy(out->bytes, k->bytes, sizeof(out->bytes));
    out->served_bytes = k->served_bytes;
    out->evicted_files = k->evicted_files;
    out->evicted_bytes = k->evicted_bytes;
    out->corrupt_chunks = k->corrupt_chunks;
    out->enospc = k->enospc;
    pthread_mutex_unlock(&c->mu);
}

void cache_cancel_waits(struct cache *c, const struct content_id *id)
{
    pthread_mutex_lock(&c->mu);
    for (struct cache_waiter *w = c->waiters; w; w = w->next)
        if (!id || memcmp(w->id.bytes, id->bytes, CONTENT_ID_LEN) == 0)
            w->canceled = true;
    pthread_cond_broadcast(&c->arrived);
    pthread_mutex_unlock(&c->mu);
}

const char *cache_dir(const struct cache *c)
{
    return c->dir;
}

uint64_t cache_cap(struct cache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t cap = c->cap;
    pthread_mutex_unlock(&c->mu);
    return cap;
}

unsigned cache_pending(const struct cache *c)
{
    return c->pending;
}
