/* bench_swarm_fill: warm caches for `chorus-bench swarm` (bench_swarm.h).
 *
 * Before an engine starts, its home is made to look as if it had been
 * used: chorus.db knows every catalog track (the rows `queue add --all`
 * records, from the same walk: artists, their albums, the albums' tracks)
 * and holds the manifest and key of each filled file (as
 * engine_remember_file does after a download), and the cache holds those
 * files whole, complete and unpinned, in the eviction order of the
 * listening history given. The bytes are read from the service's store on
 * disk: nothing goes over the network, and no engine or loop runs here.
 *
 * Which files: the distinct tracks of the history by their last play,
 * newest first, each kept when it still fits under the cap — what a cache
 * of that cap that evicts least recently played files would hold, except
 * that a file too big for what is left is left out and smaller older ones
 * still go in. A file left out was played and evicted since: chorus.db
 * keeps its manifest and key all the same (as an engine's would), so it
 * plays from peers without the service. They are then written oldest first and noted as played in
 * that order, so the cache evicts them least recently played first. Files
 * the cache already holds (a second fill of the same home) count where
 * they are and are not written again; nothing already cached is evicted.
 *
 * Blocking, any thread: each call opens its own catalog, store, chorus.db
 * and cache, the cache on a private libuv loop the call runs itself, so
 * that chunks are written in the cache's batches (on libuv's threadpool,
 * shared with whatever else the process runs). The cache takes its
 * directory lock: a running engine on the same home makes the fill fail,
 * not wait. A cap of 0 is the cache's default cap, as in cache_config. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "audio/import.h"
#include "base/fsutil.h"
#include "base/manifest.h"
#include "base/xmalloc.h"
#include "bench_catalog.h"
#include "bench_swarm.h"
#include "core/cache.h"
#include "core/clientdb.h"
#include "library/catalog.h"
#include "library/store.h"

/* Chunk writes in flight at most (a few of the cache's batches). */
#define FILL_WINDOW 256

/* Everything one fill has open. */
struct fill {
    const char *home;   /* the engine's data directory, for messages */
    const char *source; /* the service's data directory */
    struct catalog *catalog;
    struct store *store;
    struct clientdb *db;
    uv_loop_t loop; /* the cache's, for its batched writes */
    bool loop_ready;
    struct cache *cache;
    int write_error;              /* the first error of the writes in flight */
    struct clientdb_track *known; /* every catalog track, by id */
    size_t nknown, known_cap;
};

/* One file to fill: a distinct track of the history. */
struct fill_file {
    const struct clientdb_track *track; /* in fill.known */
    uint8_t *manifest;                  /* the store's encoding (owned) */
    size_t manifest_len;
    struct manifest *m; /* decoded (owned) */
    uint64_t need;      /* bytes it adds to the cache */
    bool cached;        /* already complete in the cache */
    bool evicted;       /* played, then evicted: only its key and manifest stay */
};

/* Says what went wrong on stderr; returns -1. */
static int fail(const struct fill *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct fill *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "chorus-bench swarm: filling %s: ", f->home);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

/* ---- the service's side: catalog and store ---- */

/* Opens the catalog and store of a data directory `chorusd import` made
 * (a missing catalog is an error here, not a new empty one). */
static int open_service(struct fill *f)
{
    char *path = import_catalog_path(f->source);
    struct stat st;
    int rc = 0;
    if (stat(path, &st) != 0)
        rc = fail(f, "no catalog at %s: %s", path, strerror(errno));
    else if ((rc = catalog_open(path, &f->catalog)) < 0)
        rc = fail(f, "cannot open the catalog %s: %s", path, catalog_strerror(rc));
    else if ((rc = store_open(f->source, &f->store)) < 0)
        rc = fail(f, "cannot open the store in %s: %s", f->source, store_strerror(rc));
    free(path);
    return rc;
}

/* One catalog track as the engine records a browse answer (engine_cmd.c
 * pick_add): the track artist's name, the album artist's id. */
static void add_known(struct fill *f, const struct catalog_track *t, int64_t album_artist)
{
    if (f->nknown == f->known_cap) {
        f->known_cap = f->known_cap ? f->known_cap * 2 : 256;
        f->known = xrealloc(f->known, f->known_cap * sizeof(*f->known));
    }
    struct clientdb_track *k = &f->known[f->nknown++];
    *k = (struct clientdb_track){
        .id = (uint64_t)t->id,
        .title = xstrdup(t->title ? t->title : ""),
        .artist = xstrdup(t->artist ? t->artist : ""),
        .album = xstrdup(t->album ? t->album : ""),
        .artist_id = (uint64_t)album_artist,
        .album_id = (uint64_t)t->album_id,
        .number = (uint16_t)(t->track_number > 0 && t->track_number < 65536 ? t->track_number : 0),
        .duration_ms =
            (uint32_t)(t->duration_ms > 0 && t->duration_ms < UINT32_MAX ? t->duration_ms : 0),
        .has_file = true,
        .file = t->file_id,
    };
}

static int read_album(struct fill *f, const struct catalog_album *a)
{
    struct catalog_track_list l = {0};
    int rc = catalog_album_tracks(f->catalog, a->id, &l);
    for (size_t i = 0; rc == 0 && i < l.count; i++)
        add_known(f, &l.items[i], a->artist_id);
    catalog_track_list_free(&l);
    return rc;
}

static int read_artist(struct fill *f, const struct catalog_artist *a)
{
    struct catalog_album_list l = {0};
    int rc = catalog_artist_albums(f->catalog, a->id, &l);
    for (size_t i = 0; rc == 0 && i < l.count; i++)
        rc = read_album(f, &l.items[i]);
    catalog_album_list_free(&l);
    return rc;
}

static int by_id(const void *a, const void *b)
{
    const struct clientdb_track *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The whole catalog into f->known, sorted by id: the walk `queue add
 * --all` makes through the service (artists, albums, tracks). */
static int read_catalog(struct fill *f)
{
    struct catalog_artist_list l = {0};
    int rc = catalog_list_artists(f->catalog, &l);
    for (size_t i = 0; rc == 0 && i < l.count; i++)
        rc = read_artist(f, &l.items[i]);
    catalog_artist_list_free(&l);
    if (rc < 0)
        return fail(f, "cannot read the catalog of %s: %s (%s)", f->source, catalog_strerror(rc),
                    catalog_errmsg(f->catalog));
    qsort(f->known, f->nknown, sizeof(*f->known), by_id);
    return 0;
}

static const struct clientdb_track *find_known(const struct fill *f, int64_t id)
{
    struct clientdb_track key = {.id = (uint64_t)id};
    return bsearch(&key, f->known, f->nknown, sizeof(*f->known), by_id);
}

/* ---- the engine's side: chorus.db and the cache ---- */

static int open_engine_home(struct fill *f, const char *cache_dir, uint64_t cap_bytes)
{
    int rc = fs_mkdir_p(f->home, 0700);
    if (rc < 0)
        return fail(f, "cannot make the directory: %s", strerror(-rc));
    char *path = xasprintf("%s/%s", f->home, CLIENTDB_FILE_NAME);
    rc = clientdb_open(path, NULL, &f->db);
    if (rc < 0)
        rc = fail(f, "cannot open %s: %s", path, clientdb_strerror(rc));
    free(path);
    if (rc < 0)
        return rc;
    if ((rc = uv_loop_init(&f->loop)) < 0)
        return fail(f, "cannot make a loop: %s", uv_strerror(rc));
    f->loop_ready = true;
    struct cache_config cc = {.dir = cache_dir, .cap_bytes = cap_bytes, .loop = &f->loop};
    if ((rc = cache_open(&cc, &f->cache)) < 0)
        return fail(f, "cannot open the cache %s: %s", cache_dir, cache_strerror(rc));
    if ((rc = clientdb_put_tracks(f->db, f->known, f->nknown)) < 0)
        return fail(f, "cannot record the catalog's tracks: %s", clientdb_strerror(rc));
    return 0;
}

/* ---- choosing the files ---- */

/* The manifest of file->track from the store, and what the file adds to
 * the cache (nothing when it is already complete there, the rest of it
 * when part of it is). */
static int size_up(struct fill *f, struct fill_file *file)
{
    const struct content_id *id = &file->track->file;
    unsigned long long track = (unsigned long long)file->track->id;
    int rc = store_read_manifest_raw(f->store, id, &file->manifest, &file->manifest_len);
    if (rc < 0)
        return fail(f, "the file of track #%llu in %s: %s", track, f->source, store_strerror(rc));
    if ((rc = manifest_decode(file->manifest, file->manifest_len, id, &file->m)) < 0)
        return fail(f, "the manifest of track #%llu in %s: %s", track, f->source,
                    manifest_strerror(rc));
    uint64_t whole = file->m->file_size + file->manifest_len;
    struct cache_file_info info;
    if (cache_file_info(f->cache, id, &info) < 0)
        file->need = whole;
    else if (info.complete)
        file->cached = true;
    else
        file->need = whole > info.bytes_present ? whole - info.bytes_present : 0;
    return 0;
}

static void fill_file_clear(struct fill_file *file)
{
    free(file->manifest);
    manifest_free(file->m);
}

/* The files to fill, newest last play first (see the top of the file).
 * *out is owned by the caller (fill_file_clear each, then free). */
static int choose(struct fill *f, const struct bench_catalog *cat, const size_t *tracks, size_t n,
                  struct fill_file **out, size_t *nout)
{
    struct fill_file *files = xcalloc(n ? n : 1, sizeof(*files));
    bool *seen = xcalloc(cat->ntracks ? cat->ntracks : 1, sizeof(*seen)); /* by catalog index */
    size_t count = 0;
    struct cache_stats cs;
    cache_stats(f->cache, &cs);
    uint64_t room = cs.used_bytes < cs.cap_bytes ? cs.cap_bytes - cs.used_bytes : 0;
    int rc = 0;
    for (size_t i = n; i-- > 0 && rc == 0;) {
        if (tracks[i] >= cat->ntracks) {
            rc = fail(f, "track index %zu is past the catalog's %zu tracks", tracks[i],
                      cat->ntracks);
            break;
        }
        if (seen[tracks[i]])
            continue; /* an earlier play of a track already chosen or skipped */
        seen[tracks[i]] = true;
        int64_t id = cat->tracks[tracks[i]].id;
        const struct clientdb_track *t = find_known(f, id);
        if (!t) {
            rc = fail(f, "track #%lld is not in the catalog of %s", (long long)id, f->source);
            break;
        }
        struct fill_file file = {.track = t};
        if ((rc = size_up(f, &file)) < 0) {
            fill_file_clear(&file);
            break;
        }
        /* too big for what is left: evicted since, its key kept */
        file.evicted = file.need > room;
        if (!file.evicted)
            room -= file.need;
        files[count++] = file;
    }
    free(seen);
    *out = files;
    *nout = count;
    return rc;
}

/* ---- filling ---- */

/* What the cache's async writes answered. */
static void on_written(void *ctx, int status)
{
    int *first_error = ctx;
    if (status < 0 && *first_error == 0)
        *first_error = status;
}

/* Runs the fill's loop until every write queued so far is answered;
 * returns the first error among them. */
static int written(struct fill *f)
{
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = f->write_error;
    f->write_error = 0;
    return rc;
}

/* The file's manifest and every chunk it lacks, from the store. Chunks go
 * through the cache's async writes, FILL_WINDOW at a time: they are
 * stored in batches sharing one fdatasync and one index transaction
 * (cache_write_chunk syncs every chunk: six times slower here). */
static int copy_file(struct fill *f, const struct fill_file *file, uint8_t *buf)
{
    const struct content_id *id = &file->track->file;
    unsigned long long track = (unsigned long long)file->track->id;
    int rc = cache_put_manifest(f->cache, id, file->manifest, file->manifest_len);
    if (rc < 0)
        return fail(f, "cannot store the manifest of track #%llu in the cache: %s", track,
                    cache_strerror(rc));
    for (uint32_t i = 0; i < file->m->chunk_count && rc == 0; i++) {
        if (cache_has_chunk(f->cache, id, i))
            continue;
        size_t len = 0;
        if ((rc = store_read_chunk(f->store, id, i, buf, &len)) < 0) {
            fail(f, "cannot read chunk %u of track #%llu from the store: %s", i, track,
                 store_strerror(rc));
            break;
        }
        cache_write_async(f->cache, id, i, buf, len, CACHE_SRC_SERVICE, on_written,
                          &f->write_error);
        if (cache_pending(f->cache) >= FILL_WINDOW)
            rc = written(f);
    }
    int wrc = written(f); /* also after a failed read: nothing may stay pending */
    if (rc == 0 && wrc < 0)
        rc = fail(f, "cannot store track #%llu in the cache: %s", track, cache_strerror(wrc));
    return rc;
}

/* What lets the file play without the service: its manifest and key in
 * chorus.db. */
static int remember_file(struct fill *f, const struct fill_file *file)
{
    struct content_key key;
    int rc = store_read_key(f->store, &file->track->file, &key);
    if (rc < 0)
        return fail(f, "cannot read the key of track #%llu: %s",
                    (unsigned long long)file->track->id, store_strerror(rc));
    rc = clientdb_put_file(f->db, &file->track->file, file->manifest, file->manifest_len, &key);
    memset(&key, 0, sizeof(key));
    if (rc < 0)
        return fail(f, "cannot record the key of track #%llu: %s",
                    (unsigned long long)file->track->id, clientdb_strerror(rc));
    return 0;
}

/* Fills files[] (newest first) oldest first, each noted as played once
 * it is whole, so the cache's eviction order follows the history. */
static int fill_files(struct fill *f, const struct fill_file *files, size_t n)
{
    uint8_t *buf = xmalloc(STORE_CHUNK_SIZE);
    int rc = 0;
    for (size_t i = n; i-- > 0 && rc == 0;) {
        if (!files[i].cached && !files[i].evicted)
            rc = copy_file(f, &files[i], buf);
        if (rc == 0)
            rc = remember_file(f, &files[i]);
        if (rc == 0 && !files[i].evicted)
            cache_note_play(f->cache, &files[i].track->file);
    }
    free(buf);
    if (rc == 0 && (rc = cache_flush(f->cache)) < 0)
        rc = fail(f, "cannot write the play order to the cache: %s", cache_strerror(rc));
    return rc;
}

static void fill_close(struct fill *f)
{
    cache_free(f->cache);
    if (f->loop_ready) {
        uv_run(&f->loop, UV_RUN_DEFAULT); /* the cache's handle closes */
        uv_loop_close(&f->loop);
    }
    clientdb_close(f->db);
    store_free(f->store);
    catalog_free(f->catalog);
    clientdb_tracks_free(f->known, f->nknown);
}

long swarm_fill(const struct bench_catalog *cat, const char *data_dir, const char *cache_dir,
                uint64_t cap_bytes, const size_t *tracks, size_t n)
{
    struct fill f = {.home = data_dir, .source = cat->dir};
    struct fill_file *files = NULL;
    size_t nfiles = 0;
    int rc = open_service(&f);
    if (rc == 0)
        rc = read_catalog(&f);
    if (rc == 0)
        rc = open_engine_home(&f, cache_dir, cap_bytes);
    if (rc == 0)
        rc = choose(&f, cat, tracks, n, &files, &nfiles);
    if (rc == 0)
        rc = fill_files(&f, files, nfiles);
    long filled = 0;
    for (size_t i = 0; i < nfiles; i++) {
        filled += !files[i].evicted;
        fill_file_clear(&files[i]);
    }
    free(files);
    fill_close(&f);
    return rc < 0 ? -1 : filled;
}
