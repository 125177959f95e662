/* bench_catalog: the swarm benchmark's catalog, made once and kept (see
 * app/bench_catalog.h).
 *
 * The encodes: BENCH_CATALOG_ENCODES pieces of synthesized music
 * (synth.h), their lengths spread evenly from 150 to 240 s, rendered and
 * encoded to Ogg Vorbis q5 (the content format) on two threads, and kept
 * in ROOT/encodes-VERSION-MIN-MAX for the catalogs of every N (each file
 * written atomically: whole or absent).
 *
 * Making a catalog: the calling thread walks the plan — albums, artists,
 * years and titles drawn from a fixed seed, so only N changes the
 * catalog — and stores each track's encode again through import_encoded:
 * a fresh key, so bytes, manifest and file id of its own, and a
 * fingerprint of its own (SHA-256 of the encode's SHA-256 and the track's
 * index: the catalog keeps one track per fingerprint). Track i plays
 * encode i % BENCH_CATALOG_ENCODES, so the tracks of an album differ.
 *
 * Keeping it: the marker file, written last, holds one line saying how
 * the catalog was made (format version, tracks, encodes). A directory with
 * the same line is reused; one without a marker (an interrupted make) or
 * with another line is removed and made again.
 *
 * Reading it: the catalog browsed artist by artist (by name), album by
 * album (by year, title), tracks in album order; each file's size from
 * its manifest in the store.
 *
 * A knob for tests: CHORUS_BENCH_CATALOG_SECONDS=MIN-MAX makes the encodes
 * that long instead (in seconds). The marker and the encodes' directory
 * record the lengths, so such a catalog is never taken for a real one. */
#include "bench_catalog.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <search.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audio/import.h"
#include "audio/synth.h"
#include "audio/transcode.h"
#include "base/fsutil.h"
#include "base/paths.h"
#include "base/xmalloc.h"
#include "bench_util.h"
#include "library/catalog.h"
#include "library/store.h"

#define FORMAT_VERSION    1 /* of the marker's line: bump when the catalog changes */
#define MARKER_NAME       ".bench-catalog"
#define CATALOG_SEED      2010u /* the year of the paper */
#define RATE              44100
#define MIN_SECONDS       150.0
#define MAX_SECONDS       240.0
#define SECONDS_ENV       "CHORUS_BENCH_CATALOG_SECONDS"
#define MAX_TRACKS        100000u
#define ENCODE_THREADS    2
#define MAX_ENCODE_BYTES  (64u << 20)
#define ARTIST_MAX_ALBUMS 3
#define NAME_TRIES        8 /* seeds tried for a name not given yet */
#define FIRST_YEAR        1965

_Static_assert(BENCH_CATALOG_ENCODES >= 2, "the lengths are spread between two ends");
_Static_assert(BENCH_ALBUM_MAX - BENCH_ALBUM_MIN >= BENCH_ALBUM_MIN - 1,
               "album_size needs room to keep the last album at least BENCH_ALBUM_MIN long");

static void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void complain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("chorus-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- what is made ---- */

struct spec {
    unsigned ntracks;
    double min_s, max_s; /* the shortest and longest encode */
};

/* The lengths from the test's knob, when it is set. */
static int spec_init(struct spec *sp, unsigned ntracks)
{
    *sp = (struct spec){.ntracks = ntracks, .min_s = MIN_SECONDS, .max_s = MAX_SECONDS};
    const char *knob = getenv(SECONDS_ENV);
    if (!knob || !*knob)
        return 0;
    char *end;
    sp->min_s = strtod(knob, &end);
    bool dash = *end == '-';
    if (dash)
        sp->max_s = strtod(end + 1, &end);
    if (!dash || *end || !(sp->min_s >= SYNTH_MIN_SECONDS) || !(sp->max_s >= sp->min_s) ||
        !(sp->max_s <= SYNTH_MAX_SECONDS)) {
        complain("%s=%s: expected MIN-MAX seconds within %g..%g", SECONDS_ENV, knob,
                 SYNTH_MIN_SECONDS, SYNTH_MAX_SECONDS);
        return -1;
    }
    return 0;
}

static double encode_seconds(const struct spec *sp, unsigned k)
{
    return sp->min_s + (sp->max_s - sp->min_s) * k / (BENCH_CATALOG_ENCODES - 1);
}

/* The marker's line (owned by the caller). */
static char *marker_line(const struct spec *sp)
{
    return xasprintf("chorus-bench catalog, format %d: %u tracks, %d encodes of %g to %g s\n",
                     FORMAT_VERSION, sp->ntracks, BENCH_CATALOG_ENCODES, sp->min_s, sp->max_s);
}

enum marker_state {
    MARKER_SAME,    /* made the same way: reuse it */
    MARKER_NO_DIR,  /* nothing there yet */
    MARKER_MISSING, /* a directory without a marker: half-made */
    MARKER_OTHER,   /* made another way (another build, the knob) */
};

static enum marker_state marker_check(const char *dir, const struct spec *sp)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return MARKER_NO_DIR;
    char *path = paths_join(dir, MARKER_NAME);
    uint8_t *text = NULL;
    size_t len = 0;
    int ret = fs_read_file(path, 4096, &text, &len);
    free(path);
    if (ret < 0)
        return MARKER_MISSING;
    char *want = marker_line(sp);
    bool same = len == strlen(want) && memcmp(text, want, len) == 0;
    free(want);
    free(text);
    return same ? MARKER_SAME : MARKER_OTHER;
}

static char *marker_write(const char *dir, const struct spec *sp)
{
    char *path = paths_join(dir, MARKER_NAME), *line = marker_line(sp);
    int ret = fs_write_atomic(path, line, strlen(line), 0600);
    char *why = ret < 0 ? xasprintf("cannot write %s: %s", path, fs_strerror(ret)) : NULL;
    free(line);
    free(path);
    return why;
}

/* ---- the encodes ---- */

/* Where the encodes of sp are kept, for the catalogs of every N (owned by
 * the caller). */
static char *encodes_dir(const char *root, const struct spec *sp)
{
    char *name = xasprintf("encodes-%d-%g-%g", FORMAT_VERSION, sp->min_s, sp->max_s);
    char *dir = paths_join(root, name);
    free(name);
    return dir;
}

struct encode {
    double seconds;
    uint64_t seed;
    char *path;   /* where it is kept */
    char *tmp;    /* where it is encoded */
    uint8_t *ogg; /* the encoded file, owned */
    size_t len;
    int64_t duration_ms;
    uint8_t sha[CATALOG_FINGERPRINT_LEN]; /* of ogg */
    char *error;                          /* NULL: made */
};

static int sha256(const void *data, size_t len, uint8_t out[CATALOG_FINGERPRINT_LEN])
{
    return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

/* Renders and encodes one piece into e->path (written atomically: it is
 * whole or absent). NULL, or why not (owned by the caller). */
static char *encode_render(struct encode *e)
{
    struct synth_song *song = NULL;
    int ret = synth_render(e->seed, e->seconds, RATE, &song);
    if (ret < 0)
        return xasprintf("cannot synthesize %g s of music: %s", e->seconds, strerror(-ret));
    ret = transcode_encode_pcm(song->pcm, song->frames, song->sample_rate, song->channels, NULL,
                               TRANSCODE_OGG_VORBIS, e->tmp);
    synth_song_free(song);
    if (ret < 0)
        return xasprintf("cannot encode %g s of music: %s", e->seconds, transcode_strerror(ret));
    ret = fs_read_file(e->tmp, MAX_ENCODE_BYTES, &e->ogg, &e->len);
    unlink(e->tmp);
    if (ret == 0)
        ret = fs_write_atomic(e->path, e->ogg, e->len, 0600);
    if (ret < 0)
        return xasprintf("cannot keep the encoded music in %s: %s", e->path, fs_strerror(ret));
    return NULL;
}

/* An encode kept by an earlier run: true when whole (Ogg, at least). */
static bool encode_load(struct encode *e)
{
    if (fs_read_file(e->path, MAX_ENCODE_BYTES, &e->ogg, &e->len) < 0)
        return false;
    if (e->len > 4 && memcmp(e->ogg, "OggS", 4) == 0)
        return true;
    free(e->ogg);
    e->ogg = NULL;
    return false;
}

/* One encode, kept or made. Any thread: touches only e. NULL, or why not
 * (owned by the caller). */
static char *encode_one(struct encode *e)
{
    /* synth makes exactly round(seconds * rate) frames. */
    e->duration_ms = llround(e->seconds * RATE) * 1000 / RATE;
    if (!encode_load(e)) {
        char *why = encode_render(e);
        if (why)
            return why;
    }
    if (sha256(e->ogg, e->len, e->sha) != 0)
        return xstrdup("cannot hash the encoded music (OpenSSL)");
    return NULL;
}

struct encoder {
    struct encode *encodes;
    atomic_uint taken; /* encodes handed out so far */
};

/* Takes encodes until none is left, the longest first (the threads then
 * finish at about the same time). */
static void *encode_worker(void *arg)
{
    struct encoder *enc = arg;
    for (;;) {
        unsigned i = atomic_fetch_add(&enc->taken, 1);
        if (i >= BENCH_CATALOG_ENCODES)
            return NULL;
        struct encode *e = &enc->encodes[BENCH_CATALOG_ENCODES - 1 - i];
        e->error = encode_one(e);
    }
}

/* Reads the encodes kept in dir and makes the missing ones, the calling
 * thread being one of the ENCODE_THREADS. NULL, or why not (owned by the
 * caller). */
static char *encodes_get(const char *dir, const struct spec *sp, struct encode *encodes)
{
    int ret = fs_mkdir_p(dir, 0700);
    if (ret < 0)
        return xasprintf("cannot create %s: %s", dir, fs_strerror(ret));
    fs_remove_temps(dir, 600, NULL); /* what killed runs left */
    for (unsigned k = 0; k < BENCH_CATALOG_ENCODES; k++)
        encodes[k] = (struct encode){
            .seconds = encode_seconds(sp, k),
            .seed = synth_seed(CATALOG_SEED, k),
            .path = xasprintf("%s/%u.ogg", dir, k),
            .tmp = xasprintf("%s/.%u.ogg" FS_TEMP_MARKER "%ld", dir, k, (long)getpid()),
        };
    struct encoder enc = {.encodes = encodes};
    atomic_init(&enc.taken, 0);
    pthread_t threads[ENCODE_THREADS - 1];
    unsigned started = 0;
    while (started < ENCODE_THREADS - 1 &&
           pthread_create(&threads[started], NULL, encode_worker, &enc) == 0)
        started++;
    encode_worker(&enc);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (unsigned k = 0; k < BENCH_CATALOG_ENCODES; k++)
        if (encodes[k].error)
            return xstrdup(encodes[k].error);
    return NULL;
}

static void encodes_clear(struct encode *encodes)
{
    for (unsigned k = 0; k < BENCH_CATALOG_ENCODES; k++) {
        free(encodes[k].path);
        free(encodes[k].tmp);
        free(encodes[k].ogg);
        free(encodes[k].error);
    }
}

/* ---- the plan: albums, artists, titles ---- */

/* Names given so far, compared without case (as the catalog compares
 * artists' names). */
struct name_set {
    struct hsearch_data table;
    char **keys; /* owned; the table points into them */
    size_t n, cap;
};

static void name_set_init(struct name_set *s, size_t cap)
{
    memset(s, 0, sizeof(*s));
    if (!hcreate_r(2 * cap + 16, &s->table))
        abort(); /* out of memory, as xmalloc would */
    s->keys = xcalloc(cap, sizeof(char *));
    s->cap = cap;
}

static void name_set_free(struct name_set *s)
{
    hdestroy_r(&s->table);
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
}

/* Adds scope/name (scope may be NULL); false when it was there already. */
static bool name_set_add(struct name_set *s, const char *scope, const char *name)
{
    char *key = scope ? xasprintf("%s\x1f%s", scope, name) : xstrdup(name);
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    ENTRY want = {.key = key}, *found = NULL;
    if (hsearch_r(want, FIND, &found, &s->table)) {
        free(key);
        return false;
    }
    /* Sized by the caller for every name it adds: never full. */
    if (s->n == s->cap || !hsearch_r(want, ENTER, &found, &s->table))
        abort();
    s->keys[s->n++] = key;
    return true;
}

/* An invented name of kind not given yet within scope (added to the set):
 * the first new one among a few seeds derived from seed, else the first
 * with a number that no other name has. Owned by the caller. */
static char *fresh_name(struct name_set *s, const char *scope, uint64_t seed,
                        enum synth_name_kind kind)
{
    for (uint64_t salt = 0; salt < NAME_TRIES; salt++) {
        char *name = synth_name(synth_seed(seed, salt), kind);
        if (name_set_add(s, scope, name))
            return name;
        free(name);
    }
    /* Invented names have no digits, and the set only grows: unique. */
    char *base = synth_name(seed, kind), *name = xasprintf("%s %zu", base, s->n + 1);
    free(base);
    if (!name_set_add(s, scope, name))
        abort();
    return name;
}

struct album_plan {
    char *artist, *title;
    char date[8];
    unsigned count; /* tracks */
    uint64_t seed;  /* of its track titles */
};

struct plan {
    struct album_plan *albums;
    size_t nalbums;
};

/* Tracks of the next album when left are still to place: within
 * BENCH_ALBUM_MIN..MAX, and never leaving fewer than BENCH_ALBUM_MIN for
 * the last album (unless the whole catalog is smaller). */
static unsigned album_size(unsigned left, uint64_t seed)
{
    if (left <= BENCH_ALBUM_MAX)
        return left;
    unsigned size = BENCH_ALBUM_MIN + (unsigned)(seed % (BENCH_ALBUM_MAX - BENCH_ALBUM_MIN + 1));
    if (left - size < BENCH_ALBUM_MIN)
        size = left - BENCH_ALBUM_MIN;
    return size;
}

/* Albums until ntracks are placed; an artist now and then has a second or
 * third album. Artists and albums (within their artist) are all named
 * differently, or the catalog would merge them. */
static void plan_make(unsigned ntracks, struct plan *p)
{
    size_t cap = ntracks / BENCH_ALBUM_MIN + 1;
    p->albums = xcalloc(cap, sizeof(*p->albums));
    p->nalbums = 0;
    struct name_set artists, albums;
    name_set_init(&artists, cap);
    name_set_init(&albums, cap);
    const char *artist = NULL;
    unsigned artist_albums = 0;
    for (unsigned left = ntracks; left > 0;) {
        struct album_plan *al = &p->albums[p->nalbums];
        uint64_t seed = synth_seed(CATALOG_SEED, BENCH_CATALOG_ENCODES + p->nalbums);
        bool same_artist = artist && artist_albums < ARTIST_MAX_ALBUMS && (seed >> 8) % 3 == 0;
        al->artist = same_artist
                         ? xstrdup(artist)
                         : fresh_name(&artists, NULL, synth_seed(seed, 1), SYNTH_NAME_ARTIST);
        artist_albums = same_artist ? artist_albums + 1 : 1;
        artist = al->artist;
        al->title = fresh_name(&albums, al->artist, synth_seed(seed, 2), SYNTH_NAME_ALBUM);
        snprintf(al->date, sizeof(al->date), "%d", FIRST_YEAR + (int)((seed >> 16) % 60));
        al->count = album_size(left, seed);
        al->seed = synth_seed(seed, 3);
        left -= al->count;
        p->nalbums++;
    }
    name_set_free(&artists);
    name_set_free(&albums);
}

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->nalbums; i++) {
        free(p->albums[i].artist);
        free(p->albums[i].title);
    }
    free(p->albums);
}

/* ---- making ---- */

/* The fingerprint of catalog track index: the catalog keeps one track per
 * fingerprint, and each copy of an encode must be a track. */
static int copy_fingerprint(const struct encode *e, unsigned index,
                            uint8_t out[CATALOG_FINGERPRINT_LEN])
{
    uint8_t buf[CATALOG_FINGERPRINT_LEN + 8];
    memcpy(buf, e->sha, CATALOG_FINGERPRINT_LEN);
    for (int i = 0; i < 8; i++)
        buf[CATALOG_FINGERPRINT_LEN + i] = (uint8_t)((uint64_t)index >> (56 - 8 * i));
    return sha256(buf, sizeof(buf), out);
}

/* Stores the tracks of one album; *index: the catalog's tracks so far.
 * NULL, or why not (owned by the caller). */
static char *album_store(struct importer *imp, const struct album_plan *al,
                         const struct encode *encodes, unsigned *index)
{
    struct name_set titles;
    name_set_init(&titles, al->count);
    char *why = NULL;
    for (unsigned k = 0; k < al->count && !why; k++, (*index)++) {
        const struct encode *e = &encodes[*index % BENCH_CATALOG_ENCODES];
        char *title = fresh_name(&titles, NULL, synth_seed(al->seed, k), SYNTH_NAME_TITLE);
        struct catalog_track_info info = {
            .title = title,
            .artist = al->artist,
            .album = al->title,
            .album_artist = al->artist,
            .date = al->date,
            .track_number = (int)k + 1,
            .duration_ms = e->duration_ms,
            .source_size = e->len,
        };
        struct import_report rep;
        if (copy_fingerprint(e, *index, info.source_sha256) != 0)
            why = xstrdup("cannot hash a fingerprint (OpenSSL)");
        else if (import_encoded(imp, e->ogg, e->len, &info, &rep) < 0)
            why = xasprintf("cannot store track %u: %s", *index + 1, rep.reason);
        else if (rep.outcome != IMPORT_IMPORTED)
            why = xasprintf("track %u was in the catalog already", *index + 1);
        free(title);
    }
    name_set_free(&titles);
    return why;
}

static char *tracks_store(const char *dir, const struct plan *p, const struct encode *encodes)
{
    struct importer *imp = NULL;
    int ret = import_open(dir, &imp);
    if (ret < 0)
        return xasprintf("cannot open the catalog and store in %s: %s", dir, import_strerror(ret));
    char *why = NULL;
    unsigned index = 0;
    for (size_t a = 0; a < p->nalbums && !why; a++)
        why = album_store(imp, &p->albums[a], encodes, &index);
    import_free(imp);
    return why;
}

/* Makes the catalog in dir from nothing, with the encodes kept in
 * encodes (made first when missing). NULL, or why not (owned by the
 * caller). */
static char *catalog_make(const char *dir, const char *encodes_at, const struct spec *sp)
{
    int ret = bench_remove_tree(dir);
    if (ret < 0)
        return xasprintf("cannot remove %s: %s", dir, strerror(-ret));
    ret = fs_mkdir_p(dir, 0700);
    if (ret < 0)
        return xasprintf("cannot create %s: %s", dir, fs_strerror(ret));
    struct encode encodes[BENCH_CATALOG_ENCODES] = {0};
    char *why = encodes_get(encodes_at, sp, encodes);
    if (!why) {
        struct plan p;
        plan_make(sp->ntracks, &p);
        why = tracks_store(dir, &p, encodes);
        plan_free(&p);
    }
    encodes_clear(encodes);
    return why ? why : marker_write(dir, sp);
}

/* ---- reading ---- */

struct reader {
    const char *dir;
    struct catalog *cat;
    struct store *st;
    struct bench_catalog *out;
    size_t tracks_cap, albums_cap;
};

static int read_failed(struct reader *r, int err)
{
    complain("cannot read the catalog in %s: %s (%s)", r->dir, catalog_strerror(err),
             catalog_errmsg(r->cat));
    return -1;
}

static int add_track(struct reader *r, const struct catalog_track *t)
{
    struct manifest *m = NULL;
    int ret = store_read_manifest(r->st, &t->file_id, &m);
    if (ret < 0) {
        complain("cannot read the stored file of track %lld in %s: %s", (long long)t->id, r->dir,
                 store_strerror(ret));
        return -1;
    }
    struct bench_catalog *c = r->out;
    if (c->ntracks == r->tracks_cap) {
        r->tracks_cap = r->tracks_cap ? 2 * r->tracks_cap : 256;
        c->tracks = xrealloc(c->tracks, r->tracks_cap * sizeof(*c->tracks));
    }
    c->tracks[c->ntracks++] = (struct bench_track){
        .id = t->id,
        .album = c->nalbums,
        .number = t->track_number > 0 ? (unsigned)t->track_number : 0,
        .seconds = (double)t->duration_ms / 1000.0,
        .bytes = m->file_size,
    };
    c->seconds += (double)t->duration_ms / 1000.0;
    c->bytes += m->file_size;
    manifest_free(m);
    return 0;
}

static int add_album(struct reader *r, int64_t album_id)
{
    struct catalog_track_list tracks = {0};
    int ret = catalog_album_tracks(r->cat, album_id, &tracks);
    if (ret < 0)
        return read_failed(r, ret);
    struct bench_catalog *c = r->out;
    size_t first = c->ntracks;
    for (size_t i = 0; i < tracks.count && ret == 0; i++)
        ret = add_track(r, &tracks.items[i]);
    catalog_track_list_free(&tracks);
    if (ret < 0)
        return ret;
    if (c->nalbums == r->albums_cap) {
        r->albums_cap = r->albums_cap ? 2 * r->albums_cap : 32;
        c->albums = xrealloc(c->albums, r->albums_cap * sizeof(*c->albums));
    }
    c->albums[c->nalbums++] = (struct bench_album){.first = first, .count = c->ntracks - first};
    return 0;
}

static int add_artist(struct reader *r, int64_t artist_id)
{
    struct catalog_album_list albums = {0};
    int ret = catalog_artist_albums(r->cat, artist_id, &albums);
    if (ret < 0)
        return read_failed(r, ret);
    for (size_t i = 0; i < albums.count && ret == 0; i++)
        ret = add_album(r, albums.items[i].id);
    catalog_album_list_free(&albums);
    return ret;
}

static int read_all(struct reader *r)
{
    struct catalog_artist_list artists = {0};
    int ret = catalog_list_artists(r->cat, &artists);
    if (ret < 0)
        return read_failed(r, ret);
    for (size_t i = 0; i < artists.count && ret == 0; i++)
        ret = add_artist(r, artists.items[i].id);
    catalog_artist_list_free(&artists);
    if (ret == 0 && r->out->ntracks == 0) {
        complain("the catalog in %s has no tracks", r->dir);
        ret = -1;
    }
    return ret;
}

int bench_catalog_read(const char *dir, struct bench_catalog *out)
{
    memset(out, 0, sizeof(*out));
    struct reader r = {.dir = dir, .out = out};
    /* catalog_open would create an empty one: a wrong directory is an
     * error, not an empty catalog. */
    char *path = import_catalog_path(dir);
    int ret = access(path, F_OK) == 0 ? 0 : -errno;
    if (ret == 0)
        ret = catalog_open(path, &r.cat);
    if (ret == 0)
        ret = store_open(dir, &r.st);
    if (ret < 0) {
        complain("cannot open the catalog %s: %s", path, import_strerror(ret));
    } else {
        out->dir = xstrdup(dir);
        ret = read_all(&r);
    }
    store_free(r.st);
    catalog_free(r.cat);
    free(path);
    if (ret < 0) {
        bench_catalog_free(out);
        return -1;
    }
    return 0;
}

void bench_catalog_free(struct bench_catalog *c)
{
    free(c->dir);
    free(c->tracks);
    free(c->albums);
    memset(c, 0, sizeof(*c));
}

/* ---- prepare ---- */

/* $XDG_CACHE_HOME/chorus-bench, else ~/.cache/chorus-bench (owned by the
 * caller), or NULL after a message. */
static char *default_root(void)
{
    int err = 0;
    struct paths *p = paths_new("chorus-bench", &err);
    if (!p) {
        complain("no directory for the catalog: %s", paths_strerror(err));
        return NULL;
    }
    char *root = xstrdup(paths_dir(p, PATHS_CACHE));
    paths_free(p);
    return root;
}

/* Makes the catalog of sp in dir (its encodes kept under root) and reads
 * it. */
static int make_and_read(const char *root, const char *dir, const struct spec *sp,
                         struct bench_catalog *out)
{
    fprintf(stderr,
            "chorus-bench: making a catalog of %u tracks in %s (once; reused by later runs)... ",
            sp->ntracks, dir);
    fflush(stderr);
    double t0 = bench_now_s();
    char *encodes_at = encodes_dir(root, sp);
    char *why = catalog_make(dir, encodes_at, sp);
    free(encodes_at);
    if (why) {
        fprintf(stderr, "failed\n");
        complain("%s", why);
        free(why);
        return -1;
    }
    double make_s = bench_now_s() - t0;
    fprintf(stderr, "done in %.1f s\n", make_s);
    if (bench_catalog_read(dir, out) < 0)
        return -1;
    if (out->ntracks != sp->ntracks) {
        complain("the catalog made in %s has %zu tracks, not %u", dir, out->ntracks, sp->ntracks);
        bench_catalog_free(out);
        return -1;
    }
    out->make_s = make_s;
    return 0;
}

/* Reuses the catalog in dir when it was made as sp says and reads back
 * whole; else makes it again. */
static int reuse_or_make(const char *root, const char *dir, const struct spec *sp,
                         struct bench_catalog *out)
{
    switch (marker_check(dir, sp)) {
    case MARKER_SAME:
        if (bench_catalog_read(dir, out) == 0 && out->ntracks == sp->ntracks) {
            fprintf(stderr, "chorus-bench: reusing the catalog of %u tracks in %s\n", sp->ntracks,
                    dir);
            out->reused = true;
            return 0;
        }
        bench_catalog_free(out);
        complain("the catalog in %s is damaged: making it again", dir);
        break;
    case MARKER_MISSING:
        complain("%s was left half-made (no %s): making it again", dir, MARKER_NAME);
        break;
    case MARKER_OTHER:
        complain("%s was made another way (see its %s): making it again", dir, MARKER_NAME);
        break;
    case MARKER_NO_DIR:
        break;
    }
    return make_and_read(root, dir, sp, out);
}

int bench_catalog_prepare(const char *root, unsigned ntracks, struct bench_catalog *out)
{
    memset(out, 0, sizeof(*out));
    if (ntracks < 1 || ntracks > MAX_TRACKS) {
        complain("a catalog holds 1 to %u tracks, not %u", MAX_TRACKS, ntracks);
        return -1;
    }
    struct spec sp;
    if (spec_init(&sp, ntracks) < 0)
        return -1;
    char *base = root ? xstrdup(root) : default_root();
    if (!base)
        return -1;
    char *dir = xasprintf("%s/catalog-%u", base, ntracks);
    int ret = reuse_or_make(base, dir, &sp, out);
    free(dir);
    free(base);
    return ret;
}
