/* import: the pipeline from a folder of audio files to the catalog and the
 * master store, and the synthesized demo library.
 *
 * Owns one store, one catalog connection (both opened on the data
 * directory) and a shared lock on the directory's import.lock for its
 * lifetime. The caller's thread walks, fingerprints and
 * checks each file, and commits it (store, then catalog) — the catalog is
 * one SQLite connection, so only that thread ever touches it. The slow
 * middle, transcoding and encrypting, runs on a small pool of worker
 * threads that import_run starts and joins; a worker touches only its own
 * job. import_cancel may come from anywhere (an atomic flag).
 *
 * It must never leave a catalog entry without its stored file (the store's
 * commit comes first), nor keep a stored file no track refers to (removed
 * at once when the catalog refuses its track; what a kill leaves, at the
 * next open), never import the same content twice (the SHA-256 of
 * the source is checked before any work, and the catalog refuses a second
 * track with the same fingerprint), and never stop a run because one file
 * is bad: each failure becomes one reason in that file's report. */
#include "audio/import.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audio/synth.h"
#include "audio/transcode.h"
#include "base/content_crypto.h"
#include "base/errcode.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "base/xmalloc.h"

#define SWEEP_AGE_S 600 /* younger leftovers may be another import's */
#define MAX_DEPTH   64
#define HASH_BUF    65536
#define DEMO_RATE   44100

struct importer {
    unsigned jobs;  /* files transcoded at once */
    int lock_fd;    /* IMPORT_LOCK_NAME, flock'ed shared while open; -1: none */
    dev_t data_dev; /* the data directory, never walked into */
    ino_t data_ino;
    struct store *store;
    struct catalog *cat;
    import_progress_fn progress;
    void *progress_ctx;
    atomic_bool cancel;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *import_catalog_path(const char *data_dir)
{
    return paths_join(data_dir, IMPORT_CATALOG_NAME);
}

/* keep() of store_prune: a file is kept while a track refers to it. */
static int referenced(const struct content_id *id, void *ctx)
{
    struct importer *imp = ctx;
    int ret = catalog_find_file(imp->cat, id, NULL);
    return ret == 0 ? 1 : ret == CATALOG_ENOTFOUND ? 0 : ret;
}

/* Removes what killed imports left: temp files, uncommitted pieces, and
 * stored files no track refers to (a kill between the store's commit and
 * the catalog). Whoever gets the lock file exclusively knows no other
 * importer is alive (a killed one's lock died with it), so every leftover
 * is dead, whatever its age; otherwise only old ones are (a young one may
 * be another import's work in progress). Then the lock is held shared for
 * the importer's lifetime. Best effort: a leftover only costs space, and
 * the next open tries again. */
static void sweep_leftovers(struct importer *imp, const char *data_dir)
{
    char *path = paths_join(data_dir, IMPORT_LOCK_NAME);
    imp->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    bool alone = imp->lock_fd >= 0 && flock(imp->lock_fd, LOCK_EX | LOCK_NB) == 0;
    unsigned age = alone ? 0 : SWEEP_AGE_S;
    store_sweep(imp->store, age, NULL);
    store_prune(imp->store, age, referenced, imp, NULL);
    if (imp->lock_fd >= 0)
        flock(imp->lock_fd, LOCK_SH);
}

int import_open(const char *data_dir, struct importer **out)
{
    *out = NULL;
    int ret = fs_mkdir_p(data_dir, 0700);
    if (ret < 0)
        return ret;
    struct importer *imp = xcalloc(1, sizeof(*imp));
    imp->lock_fd = -1;
    atomic_init(&imp->cancel, false);
    import_set_jobs(imp, 0);
    struct stat st;
    if (stat(data_dir, &st) == 0) {
        imp->data_dev = st.st_dev;
        imp->data_ino = st.st_ino;
    }
    ret = store_open(data_dir, &imp->store);
    if (ret == 0) {
        char *path = import_catalog_path(data_dir);
        ret = catalog_open(path, &imp->cat);
        free(path);
    }
    if (ret < 0) {
        import_free(imp);
        return ret;
    }
    sweep_leftovers(imp, data_dir);
    *out = imp;
    return 0;
}

void import_free(struct importer *imp)
{
    if (!imp)
        return;
    catalog_free(imp->cat);
    store_free(imp->store);
    if (imp->lock_fd >= 0)
        close(imp->lock_fd); /* releases the flock */
    free(imp);
}

struct store *import_store(struct importer *imp)
{
    return imp->store;
}

struct catalog *import_catalog(struct importer *imp)
{
    return imp->cat;
}

void import_set_progress(struct importer *imp, import_progress_fn fn, void *ctx)
{
    imp->progress = fn;
    imp->progress_ctx = ctx;
}

void import_set_jobs(struct importer *imp, unsigned jobs)
{
    if (jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cpus > 0 ? (unsigned)cpus : 1;
    }
    imp->jobs = jobs < IMPORT_MAX_JOBS ? jobs : IMPORT_MAX_JOBS;
}

void import_cancel(struct importer *imp)
{
    atomic_store(&imp->cancel, true);
}

bool import_is_companion(const char *name)
{
    static const char *const exts[] = {"jpg",  "jpeg", "png", "gif", "bmp",    "webp", "tif",
                                       "tiff", "cue",  "log", "m3u", "m3u8",   "pls",  "nfo",
                                       "sfv",  "md5",  "txt", "pdf", "accurip"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return false;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (strcasecmp(dot + 1, exts[i]) == 0)
            return true;
    return false;
}

/* ---- one file ---- */

static void failed(struct import_report *rep, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failed(struct import_report *rep, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
    va_end(ap);
    rep->outcome = IMPORT_FAILED;
    rep->error = err;
}

static void skipped(struct import_report *rep, const struct content_id *file_id, int64_t track_id)
{
    rep->outcome = IMPORT_SKIPPED;
    rep->file_id = *file_id;
    rep->track_id = track_id;
}

static int hash_fd(int fd, uint8_t sha[CATALOG_FINGERPRINT_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return IMPORT_EKEY;
    }
    uint8_t *buf = xmalloc(HASH_BUF);
    int ret = 0;
    for (uint64_t off = 0;; off += (uint64_t)ret) {
        ssize_t n = fs_pread_full(fd, buf, HASH_BUF, off);
        if (n < 0) {
            ret = (int)n;
            break;
        }
        if (n == 0) {
            ret = 0;
            break;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        ret = (int)n;
    }
    if (ret == 0)
        EVP_DigestFinal_ex(ctx, sha, NULL);
    free(buf);
    EVP_MD_CTX_free(ctx);
    return ret;
}

static const char *file_kind(mode_t mode)
{
    return S_ISFIFO(mode)   ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
                            : "not a file";
}

/* Tags from where a file lies: root/Artist/Album/[CD n/]NN Title.ext. */
struct path_tags {
    char *artist, *album, *title;
    int track, disc;
};

/* A path component as a name: '_' as spaces, spaces collapsed, trimmed;
 * NULL when nothing is left. */
static char *tidy(const char *s, size_t len)
{
    char *out = xmalloc(len + 1), *p = out;
    for (size_t i = 0; i < len; i++) {
        char c = s[i] == '_' ? ' ' : s[i];
        if (c == ' ' && (p == out || p[-1] == ' '))
            continue;
        *p++ = c;
    }
    while (p > out && p[-1] == ' ')
        p--;
    *p = '\0';
    if (!*out) {
        free(out);
        return NULL;
    }
    return out;
}

/* "CD1", "cd 2", "Disc 3", "disk-1" -> the number. */
static int disc_number(const char *name)
{
    static const char *const words[] = {"cd", "disc", "disk"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (strncasecmp(name, words[i], n) != 0)
            continue;
        const char *p = name + n;
        while (*p == ' ' || *p == '_' || *p == '-' || *p == '.')
            p++;
        char *end;
        long v = strtol(p, &end, 10);
        if (end != p && *end == '\0' && v > 0 && v < 100)
            return (int)v;
    }
    return 0;
}

static const char *basename_of(const char *path, size_t *len)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *start = path + n;
    while (start > path && start[-1] != '/')
        start--;
    *len = (size_t)(path + n - start);
    return start;
}

static void path_tags(const char *path, const char *root, struct path_tags *pt)
{
    memset(pt, 0, sizeof(*pt));
    char *apath = realpath(path, NULL);
    if (!apath)
        apath = xstrdup(path);
    char *aroot = root ? realpath(root, NULL) : NULL;
    if (!aroot) {
        aroot = xstrdup(apath);
        char *slash = strrchr(aroot, '/');
        if (slash)
            slash[slash == aroot ? 1 : 0] = '\0';
    }

    /* Directory names below root, from the nearest up. */
    const char *dirs[MAX_DEPTH];
    size_t lens[MAX_DEPTH], ndirs = 0;
    size_t rl = strlen(aroot);
    while (rl > 1 && aroot[rl - 1] == '/')
        rl--;
    bool under = strncmp(apath, aroot, rl) == 0 && (apath[rl] == '/' || rl == 1);
    const char *file = strrchr(apath, '/');
    file = file ? file + 1 : apath;
    if (under) {
        const char *rel = apath + rl + (rl == 1 ? 0 : 1);
        for (const char *p = file; p > rel && ndirs < MAX_DEPTH;) {
            const char *end = p - 1; /* the '/' before p */
            const char *start = end;
            while (start > rel && start[-1] != '/')
                start--;
            if (end > start) {
                dirs[ndirs] = start;
                lens[ndirs++] = (size_t)(end - start);
            }
            p = start;
        }
    }
    /* A file right in the directory named on the command line: that
     * directory is its album (the one above it is not ours to read). */
    if (ndirs == 0 && under) {
        dirs[0] = basename_of(aroot, &lens[0]);
        ndirs = lens[0] > 0 && strcmp(aroot, "/") != 0;
    }

    size_t first = 0;
    if (ndirs > 0) {
        char *name = xstrndup(dirs[0], lens[0]);
        pt->disc = disc_number(name);
        free(name);
        if (pt->disc)
            first = 1;
    }
    if (first < ndirs)
        pt->album = tidy(dirs[first], lens[first]);
    if (first + 1 < ndirs)
        pt->artist = tidy(dirs[first + 1], lens[first + 1]);

    /* "03 - Title.flac", "03. Title", "3_Title" -> 3, "Title". */
    const char *dot = strrchr(file, '.');
    size_t stem_len = dot && dot != file ? (size_t)(dot - file) : strlen(file);
    const char *p = file;
    size_t digits = 0;
    while (digits < stem_len && isdigit((unsigned char)p[digits]))
        digits++;
    if (digits >= 1 && digits <= 3 && digits < stem_len && strchr(" .-_)", p[digits])) {
        pt->track = atoi(p);
        p += digits;
        while (p < file + stem_len && strchr(" .-_)", *p))
            p++;
    }
    pt->title = tidy(p, stem_len - (size_t)(p - file));
    if (!pt->title)
        pt->title = tidy(file, stem_len);
    if (!pt->title)
        pt->title = xstrdup(file);
    free(apath);
    free(aroot);
}

static void path_tags_free(struct path_tags *pt)
{
    free(pt->artist);
    free(pt->album);
    free(pt->title);
}

/* One file on its way in. Three phases: check (importing thread: skip
 * it?), work (any thread: transcode, encrypt), commit (importing thread:
 * store, catalog). */
struct job {
    const char *path; /* borrowed */
    const char *root; /* borrowed */
    size_t index;
    struct stat st;
    char *record_path; /* NULL: not recorded */
    uint8_t sha[CATALOG_FINGERPRINT_LEN];
    struct transcode_result tr;
    struct content_key key;
    int ret;   /* of the work */
    bool done; /* the work is finished (under the pool's mutex) */
    struct import_report rep;
    struct job *next; /* in the pool's queue */
};

static void job_clear(struct job *j)
{
    transcode_result_clear(&j->tr);
    OPENSSL_cleanse(&j->key, sizeof(j->key));
    free(j->record_path);
}

/* Decides whether the file needs work: false when j->rep is final
 * (skipped or failed). record: keep the file's path in the catalog (the
 * demo's temporary files are not worth recording). */
static bool job_check(struct importer *imp, struct job *j, bool record)
{
    struct import_report *rep = &j->rep;
    memset(rep, 0, sizeof(*rep));
    rep->path = j->path;
    int fd = open(j->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        failed(rep, -errno, "%s", strerror(errno));
        return false;
    }
    struct stat *st = &j->st;
    if (fstat(fd, st) != 0) {
        int err = errno;
        close(fd);
        failed(rep, -err, "%s", strerror(err));
        return false;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        if (S_ISDIR(st->st_mode)) {
            failed(rep, -EISDIR, "%s", strerror(EISDIR));
            return false;
        }
        failed(rep, TRANSCODE_ENOTFILE, "not a regular file (%s)", file_kind(st->st_mode));
        return false;
    }
    if (record) {
        j->record_path = realpath(j->path, NULL);
        if (!j->record_path)
            j->record_path = xstrdup(j->path);
    }
    int64_t mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    struct content_id fid;
    int64_t track_id;

    /* Unchanged since it was imported: no need to read it at all. */
    if (j->record_path &&
        catalog_find_source_path(imp->cat, j->record_path, (uint64_t)st->st_size, mtime_ns, &fid,
                                 &track_id) == 0 &&
        store_has(imp->store, &fid)) {
        close(fd);
        skipped(rep, &fid, track_id);
        return false;
    }
    int ret = hash_fd(fd, j->sha);
    close(fd);
    if (ret < 0) {
        failed(rep, ret, "cannot read: %s", import_strerror(ret));
        return false;
    }
    ret = catalog_find_source(imp->cat, j->sha, &fid, &track_id);
    if (ret == 0) {
        if (store_has(imp->store, &fid)) {
            skipped(rep, &fid, track_id);
        } else {
            char hex[CONTENT_ID_HEX_LEN + 1];
            content_id_to_hex(&fid, hex);
            failed(rep, IMPORT_EMISSING,
                   "already in the catalog (track %lld), but its stored file %s is missing",
                   (long long)track_id, hex);
        }
        return false;
    }
    if (ret != CATALOG_ENOTFOUND) {
        failed(rep, ret, "cannot look the file up in the catalog: %s (%s)", catalog_strerror(ret),
               catalog_errmsg(imp->cat));
        return false;
    }
    return true;
}

/* Makes a fresh random key and encrypts data in place with it. */
static int encrypt_fresh(struct content_key *key, uint8_t *data, size_t len)
{
    if (content_key_generate(key) != 0 || content_crypt(key, 0, data, data, len) != 0)
        return IMPORT_EKEY;
    return 0;
}

/* Transcodes and encrypts with a fresh key. Any thread: touches only j. */
static void job_work(struct job *j)
{
    j->ret = transcode_to_memory(j->path, &j->tr);
    if (j->ret == 0)
        j->ret = encrypt_fresh(&j->key, j->tr.data, j->tr.size);
}

/* Removes a file this import has just stored when no track came to refer
 * to it (the catalog refused the track, or another import added the same
 * source meanwhile): the store keeps no file that nothing plays. Should
 * the removal fail, the next import_open's sweep takes it. */
static void discard_stored(struct importer *imp, const struct content_id *fid)
{
    if (catalog_find_file(imp->cat, fid, NULL) == CATALOG_ENOTFOUND)
        store_remove(imp->store, fid);
}

/* Stores an encrypted file (the commit point) and adds its track, whose
 * info gets the stored file's id; seconds: the track's length, for the
 * report. */
static void commit_track(struct importer *imp, const uint8_t *data, size_t len,
                         const struct content_key *key, struct catalog_track_info *info,
                         double seconds, struct import_report *rep)
{
    struct content_id fid;
    int ret = store_put(imp->store, data, len, key, &fid);
    if (ret < 0) {
        failed(rep, ret, "cannot store the encoded file: %s", store_strerror(ret));
        return;
    }
    info->file_id = fid;
    int64_t track_id = 0;
    bool added = false;
    ret = catalog_add_track(imp->cat, info, &track_id, &added);
    if (ret < 0) {
        failed(rep, ret, "cannot add to the catalog: %s (%s)", catalog_strerror(ret),
               catalog_errmsg(imp->cat));
        discard_stored(imp, &fid);
        return;
    }
    if (!added) {
        /* Another import added the same content meanwhile, as its own
         * file: ours is not needed. */
        discard_stored(imp, &fid);
        struct content_id theirs = fid;
        catalog_find_source(imp->cat, info->source_sha256, &theirs, NULL);
        skipped(rep, &theirs, track_id);
        return;
    }
    rep->outcome = IMPORT_IMPORTED;
    rep->file_id = fid;
    rep->track_id = track_id;
    rep->seconds = seconds;
}

/* Stores the transcoded file and adds the track, tagged from the source
 * or else from its path. */
static void job_commit(struct importer *imp, struct job *j)
{
    struct import_report *rep = &j->rep;
    if (j->ret == IMPORT_EKEY) {
        failed(rep, j->ret, "cannot encrypt: OpenSSL failed");
        return;
    }
    if (j->ret < 0) {
        failed(rep, j->ret, "%s", j->tr.error);
        return;
    }
    const struct transcode_tags *t = &j->tr.tags;
    struct path_tags pt;
    path_tags(j->path, j->root, &pt);
    struct catalog_track_info info = {
        .title = t->title ? t->title : pt.title,
        .artist = t->artist         ? t->artist
                  : t->album_artist ? t->album_artist
                  : pt.artist       ? pt.artist
                                    : "Unknown Artist",
        .album = t->album   ? t->album
                 : pt.album ? pt.album
                            : "Unknown Album",
        .album_artist = t->album_artist ? t->album_artist
                        : t->artist     ? NULL
                                        : pt.artist,
        .date = t->date,
        .track_number = t->track_number ? t->track_number : pt.track,
        .disc_number = t->disc_number ? t->disc_number : pt.disc,
        .duration_ms = j->tr.samples * 1000 / j->tr.sample_rate,
        .source_path = j->record_path,
        .source_size = (uint64_t)j->st.st_size,
        .source_mtime_ns = (int64_t)j->st.st_mtim.tv_sec * 1000000000 + j->st.st_mtim.tv_nsec,
    };
    memcpy(info.source_sha256, j->sha, CATALOG_FINGERPRINT_LEN);
    commit_track(imp, j->tr.data, j->tr.size, &j->key, &info, j->tr.duration, rep);
    path_tags_free(&pt);
}

/* All three phases on this thread. */
static int import_one(struct importer *imp, const char *path, const char *root, bool record,
                      struct import_report *rep)
{
    struct job j = {.path = path, .root = root};
    if (job_check(imp, &j, record)) {
        job_work(&j);
        job_commit(imp, &j);
    }
    *rep = j.rep;
    job_clear(&j);
    return rep->outcome == IMPORT_FAILED ? rep->error : 0;
}

int import_file(struct importer *imp, const char *path, const char *root, struct import_report *rep)
{
    return import_one(imp, path, root, true, rep);
}

int import_encoded(struct importer *imp, const uint8_t *ogg, size_t len,
                   const struct catalog_track_info *info, struct import_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    struct catalog_track_info ours = *info;
    uint8_t *data = xmalloc(len ? len : 1);
    memcpy(data, ogg, len);
    struct content_key key;
    int ret = encrypt_fresh(&key, data, len);
    if (ret < 0)
        failed(rep, ret, "cannot encrypt: OpenSSL failed");
    else
        commit_track(imp, data, len, &key, &ours, (double)info->duration_ms / 1000.0, rep);
    OPENSSL_cleanse(&key, sizeof(key));
    free(data);
    return rep->outcome == IMPORT_FAILED ? rep->error : 0;
}

/* ---- runs ---- */

static void emit(struct importer *imp, enum import_event_kind kind, const char *path, size_t index,
                 const struct import_report *rep, const struct import_summary *sum)
{
    if (!imp->progress)
        return;
    struct import_event ev = {
        .kind = kind, .path = path, .index = index, .report = rep, .summary = sum};
    imp->progress(&ev, imp->progress_ctx);
}

static void count(struct importer *imp, struct import_summary *sum, size_t index,
                  const struct import_report *rep, double t0)
{
    switch (rep->outcome) {
    case IMPORT_IMPORTED:
        sum->imported++;
        sum->audio_seconds += rep->seconds;
        break;
    case IMPORT_SKIPPED:
        sum->skipped++;
        break;
    case IMPORT_FAILED:
        sum->failed++;
        break;
    }
    sum->wall_seconds = now_s() - t0;
    emit(imp, IMPORT_EV_FILE_DONE, rep->path, index, rep, sum);
}

struct item {
    char *path;
    const char *root; /* borrowed from the caller's paths; NULL: own dir */
    int error;        /* from the walk: -errno */
    bool dir;         /* the error is about a directory */
};

struct walk {
    struct item *items;
    size_t n, cap;
    struct import_summary *sum;
    const struct importer *imp;
};

static void add_item(struct walk *w, const char *path, const char *root, int error, bool dir)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->items = xrealloc(w->items, w->cap * sizeof(*w->items));
    }
    w->items[w->n++] = (struct item){xstrdup(path), root, error, dir};
}

static int not_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static void walk_dir(struct walk *w, const char *dir, const char *root, int depth)
{
    struct dirent **names;
    int n = scandir(dir, &names, not_dots, alphasort);
    if (n < 0) {
        add_item(w, dir, root, -errno, true);
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char *path = paths_join(dir, name);
        struct stat st, lst;
        if (name[0] == '.') {
            w->sum->ignored++;
        } else if (stat(path, &st) != 0) {
            add_item(w, path, root, -errno, false); /* a dangling link, say */
        } else if (S_ISDIR(st.st_mode)) {
            bool ours = st.st_dev == w->imp->data_dev && st.st_ino == w->imp->data_ino;
            if (ours || (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)))
                w->sum->ignored++;
            else if (depth >= MAX_DEPTH)
                add_item(w, path, root, -ELOOP, true);
            else
                walk_dir(w, path, root, depth + 1);
        } else if (import_is_companion(name)) {
            w->sum->ignored++;
        } else {
            add_item(w, path, root, 0, false);
        }
        free(path);
        free(names[i]);
    }
    free(names);
}

/* Worker threads that transcode and encrypt while the importing thread
 * checks the next files and commits finished ones. */
struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stop */
    pthread_cond_t done; /* a job finished */
    struct job *queue, **tail;
    bool stop;
    pthread_t threads[IMPORT_MAX_JOBS];
    unsigned nthreads; /* 0: the importing thread does the work itself */
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->queue && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        struct job *j = p->queue;
        if (!j)
            break;
        p->queue = j->next;
        if (!p->queue)
            p->tail = &p->queue;
        pthread_mutex_unlock(&p->mu);
        job_work(j);
        pthread_mutex_lock(&p->mu);
        j->done = true;
        pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_start(struct pool *p, unsigned jobs)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->queue = NULL;
    p->tail = &p->queue;
    p->stop = false;
    p->nthreads = 0;
    /* One job needs no thread: the importing thread works in between. */
    while (jobs > 1 && p->nthreads < jobs &&
           pthread_create(&p->threads[p->nthreads], NULL, pool_worker, p) == 0)
        p->nthreads++;
}

static void pool_submit(struct pool *p, struct job *j)
{
    if (p->nthreads == 0) {
        job_work(j);
        j->done = true;
        return;
    }
    pthread_mutex_lock(&p->mu);
    j->next = NULL;
    *p->tail = j;
    p->tail = &j->next;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* Waits until one of flight[0..n) is done; returns its index. */
static size_t pool_wait(struct pool *p, struct job **flight, size_t n)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        for (size_t i = 0; i < n; i++)
            if (flight[i]->done) {
                pthread_mutex_unlock(&p->mu);
                return i;
            }
        pthread_cond_wait(&p->done, &p->mu);
    }
}

static void pool_stop(struct pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
}

static bool same_content_in_flight(struct job **flight, size_t n, const struct job *j)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(flight[i]->sha, j->sha, sizeof(j->sha)) == 0)
            return true;
    return false;
}

int import_run(struct importer *imp, const char *const *paths, size_t npaths,
               struct import_summary *sum_out)
{
    double t0 = now_s();
    struct import_summary sum = {0};
    struct walk w = {.sum = &sum, .imp = imp};
    atomic_store(&imp->cancel, false);
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0)
            add_item(&w, paths[i], NULL, -errno, false);
        else if (S_ISDIR(st.st_mode))
            walk_dir(&w, paths[i], paths[i], 0);
        else
            add_item(&w, paths[i], NULL, 0, false); /* named explicitly: tried */
    }
    sum.found = w.n;
    emit(imp, IMPORT_EV_SCANNED, NULL, 0, NULL, &sum);

    struct pool pool;
    pool_start(&pool, imp->jobs);
    unsigned max_flight = pool.nthreads ? pool.nthreads : 1;
    struct job *flight[IMPORT_MAX_JOBS];
    size_t nflight = 0, next = 0;
    bool wait_for_flight = false;
    for (;;) {
        /* Check files and hand those with work to the pool. */
        while (!wait_for_flight && nflight < max_flight && next < w.n &&
               !atomic_load(&imp->cancel)) {
            struct item *it = &w.items[next];
            struct job *j = xcalloc(1, sizeof(*j));
            j->path = it->path;
            j->root = it->root;
            j->index = next;
            emit(imp, IMPORT_EV_FILE_START, it->path, next, NULL, &sum);
            bool work = false;
            if (it->error) {
                j->rep.path = it->path;
                failed(&j->rep, it->error, "%s%s", it->dir ? "cannot read the directory: " : "",
                       strerror(-it->error));
            } else {
                work = job_check(imp, j, true);
            }
            if (work && same_content_in_flight(flight, nflight, j)) {
                /* The same bytes under another name are being imported:
                 * check this one again once they are in. */
                job_clear(j);
                free(j);
                wait_for_flight = true;
                break;
            }
            next++;
            if (work) {
                flight[nflight++] = j;
                pool_submit(&pool, j);
            } else {
                count(imp, &sum, j->index, &j->rep, t0);
                job_clear(j);
                free(j);
            }
        }
        if (nflight == 0) {
            if (next < w.n && !atomic_load(&imp->cancel))
                continue; /* only after a wait for the flight */
            break;
        }
        /* Commit one finished file (on this thread: the catalog's). */
        size_t i = pool_wait(&pool, flight, nflight);
        struct job *j = flight[i];
        flight[i] = flight[--nflight];
        job_commit(imp, j);
        count(imp, &sum, j->index, &j->rep, t0);
        job_clear(j);
        free(j);
        if (nflight == 0)
            wait_for_flight = false;
    }
    pool_stop(&pool);
    int ret = 0;
    if (next < w.n) {
        sum.canceled = true;
        ret = IMPORT_ECANCELED;
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.items[i].path);
    free(w.items);
    sum.wall_seconds = now_s() - t0;
    if (sum_out)
        *sum_out = sum;
    return ret;
}

/* ---- the demo library ---- */

struct demo_track {
    char *artist, *album, *title;
    int number, year;
    double seconds;
    uint64_t seed;
};

/* A name of kind not among taken[0..n). */
static char *unique_name(uint64_t seed, enum synth_name_kind kind, char *const *taken, size_t n)
{
    for (uint64_t salt = 0;; salt++) {
        char *name = synth_name(synth_seed(seed, salt), kind);
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(taken[i], name) == 0;
        if (!seen || salt > 64)
            return name;
        free(name);
    }
}

/* Albums of 3 to 6 tracks (at most half of all, so there are several);
 * an artist now and then gets a second album. */
static struct demo_track *demo_plan(const struct import_demo_options *opt)
{
    struct demo_track *plan = xcalloc(opt->tracks, sizeof(*plan));
    char **artists = xcalloc(opt->tracks, sizeof(char *));
    char **albums = xcalloc(opt->tracks, sizeof(char *));
    size_t nartists = 0, nalbums = 0, t = 0;
    unsigned max_album = opt->tracks >= 2 ? (opt->tracks + 1) / 2 : 1;
    bool artist_has_one = false;
    while (t < opt->tracks) {
        uint64_t aseed = synth_seed(opt->seed, 1000 + nalbums);
        unsigned size = 3 + (unsigned)(aseed % 4);
        if (size > max_album)
            size = max_album;
        if (size > opt->tracks - t)
            size = (unsigned)(opt->tracks - t);
        bool same_artist = nalbums >= 2 && artist_has_one && (aseed >> 8) % 3 == 0;
        if (!same_artist) {
            char *name = unique_name(synth_seed(opt->seed, 2000 + nartists), SYNTH_NAME_ARTIST,
                                     artists, nartists);
            artists[nartists++] = name;
        }
        artist_has_one = !same_artist;
        albums[nalbums] = unique_name(aseed, SYNTH_NAME_ALBUM, albums, nalbums);
        int year = 1990 + (int)((aseed >> 16) % 35);
        char **titles = xcalloc(size, sizeof(char *));
        for (unsigned k = 0; k < size; k++, t++) {
            uint64_t tseed = synth_seed(aseed, k);
            titles[k] = unique_name(tseed, SYNTH_NAME_TITLE, titles, k);
            double unit = (double)(tseed >> 11) / 9007199254740992.0;
            plan[t] = (struct demo_track){
                .artist = xstrdup(artists[nartists - 1]),
                .album = xstrdup(albums[nalbums]),
                .title = titles[k],
                .number = (int)k + 1,
                .year = year,
                .seconds = opt->min_seconds + unit * (opt->max_seconds - opt->min_seconds),
                .seed = synth_seed(tseed, 77),
            };
        }
        free(titles); /* the strings now belong to plan */
        nalbums++;
    }
    for (size_t i = 0; i < nartists; i++)
        free(artists[i]);
    for (size_t i = 0; i < nalbums; i++)
        free(albums[i]);
    free(artists);
    free(albums);
    return plan;
}

/* Renders one planned track into a FLAC file at path and imports it. */
static void demo_track_import(struct importer *imp, const struct demo_track *d, const char *path,
                              struct import_report *rep)
{
    struct synth_song *song = NULL;
    int ret = synth_render(d->seed, d->seconds, DEMO_RATE, &song);
    if (ret < 0) {
        memset(rep, 0, sizeof(*rep));
        failed(rep, ret, "cannot synthesize: %s", strerror(-ret));
        return;
    }
    char date[16];
    snprintf(date, sizeof(date), "%d", d->year);
    const struct transcode_tags tags = {.title = d->title,
                                        .artist = d->artist,
                                        .album = d->album,
                                        .album_artist = d->artist,
                                        .date = date,
                                        .track_number = d->number};
    ret = transcode_encode_pcm(song->pcm, song->frames, song->sample_rate, song->channels, &tags,
                               TRANSCODE_FLAC, path);
    synth_song_free(song);
    if (ret < 0) {
        memset(rep, 0, sizeof(*rep));
        failed(rep, ret, "cannot encode the generated audio: %s", transcode_strerror(ret));
        return;
    }
    import_one(imp, path, NULL, false, rep);
    unlink(path);
}

int import_demo_library(struct importer *imp, const struct import_demo_options *opt,
                        struct import_summary *sum_out)
{
    if (opt->tracks < 1 || opt->tracks > 1000 || !(opt->min_seconds >= SYNTH_MIN_SECONDS) ||
        !(opt->max_seconds >= opt->min_seconds) || !(opt->max_seconds <= SYNTH_MAX_SECONDS))
        return -EINVAL;
    const char *tmp = getenv("TMPDIR");
    char *work = xasprintf("%s/chorus-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work)) {
        int err = -errno;
        free(work);
        return err;
    }
    char *file = paths_join(work, "track.flac");
    double t0 = now_s();
    struct import_summary sum = {.found = opt->tracks};
    atomic_store(&imp->cancel, false);
    emit(imp, IMPORT_EV_SCANNED, NULL, 0, NULL, &sum);
    struct demo_track *plan = demo_plan(opt);
    int ret = 0;
    for (unsigned i = 0; i < opt->tracks; i++) {
        const struct demo_track *d = &plan[i];
        char *name = xasprintf("%s/%s/%02d %s", d->artist, d->album, d->number, d->title);
        if (atomic_load(&imp->cancel)) {
            sum.canceled = true;
            ret = IMPORT_ECANCELED;
        } else {
            emit(imp, IMPORT_EV_FILE_START, name, i, NULL, &sum);
            struct import_report rep;
            demo_track_import(imp, d, file, &rep);
            rep.path = name;
            count(imp, &sum, i, &rep, t0);
        }
        free(name);
    }
    for (unsigned i = 0; i < opt->tracks; i++) {
        free(plan[i].artist);
        free(plan[i].album);
        free(plan[i].title);
    }
    free(plan);
    unlink(file);
    rmdir(work);
    free(file);
    free(work);
    sum.wall_seconds = now_s() - t0;
    if (sum_out)
        *sum_out = sum;
    return ret;
}

const char *import_strerror(int err)
{
    switch (err) {
    case IMPORT_ECANCELED:
        return "import canceled";
    case IMPORT_EMISSING:
        return "catalogued, but the stored file is missing";
    case IMPORT_EKEY:
        return "cannot make a key or encrypt (OpenSSL)";
    default:
        break;
    }
    if (errcode_in_block(err, TRANSCODE_ENOTAUDIO))
        return transcode_strerror(err);
    if (errcode_in_block(err, CATALOG_ESQL))
        return catalog_strerror(err);
    /* The store covers its own codes, the manifest's and -errno. */
    return store_strerror(err);
}
