/* chorus_demo_setup: what `chorus --demo` stands on (app/chorus_demo.h) —
 * its options from the environment, the generated library (made once:
 * a marker in the service's directory says with what, so later runs do
 * not synthesize it again to find it is there), the library read back
 * from the catalog, the demo user with a password made anew each run,
 * and chorusd's service on a thread of this process. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "audio/import.h"
#include "audio/synth.h"
#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "chorus_demo.h"
#include "library/catalog.h"
#include "library/store.h"
#include "net/account.h"
#include "net/svc.h"
#include "password.h"

#define MARKER_NAME  ".demo-library"
#define LIBRARY_SEED 1u

/* ---- options ---- */

static bool parse_count(const char *name, const char *text, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (end == text || *end || errno || n < (long)lo || n > (long)hi) {
        fprintf(stderr, "chorus: %s wants %u to %u, not '%s'\n", name, lo, hi, text);
        return false;
    }
    *out = (unsigned)n;
    return true;
}

/* "90" or "30-180", within what the synthesizer makes. */
static bool parse_lengths(const char *text, double *min, double *max)
{
    char *end;
    errno = 0;
    *min = *max = strtod(text, &end);
    if (end != text && *end == '-') {
        const char *rest = end + 1;
        *max = strtod(rest, &end);
        if (end == rest)
            end = (char *)text; /* no number after the dash */
    }
    if (end != text && *end == '\0' && errno == 0 && *min >= SYNTH_MIN_SECONDS && *max >= *min &&
        *max <= SYNTH_MAX_SECONDS)
        return true;
    fprintf(stderr,
            "chorus: CHORUS_DEMO_SECONDS wants MIN or MIN-MAX between %.0f and %.0f, not '%s'\n",
            SYNTH_MIN_SECONDS, SYNTH_MAX_SECONDS, text);
    return false;
}

/* An absolute path in the environment variable, or NULL (as XDG says). */
static const char *absolute_env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] == '/' ? v : NULL;
}

static char *default_dir(void)
{
    const char *demo = getenv("CHORUS_DEMO_DIR");
    if (demo && *demo)
        return xstrdup(demo);
    const char *data = absolute_env("XDG_DATA_HOME");
    if (data)
        return xasprintf("%s/chorus-demo", data);
    const char *home = absolute_env("HOME");
    return home ? xasprintf("%s/.local/share/chorus-demo", home) : NULL;
}

int demo_options_read(struct demo_options *o)
{
    memset(o, 0, sizeof(*o));
    o->tracks = DEMO_DEFAULT_TRACKS;
    o->min_seconds = IMPORT_DEMO_MIN_SECONDS;
    o->max_seconds = IMPORT_DEMO_MAX_SECONDS;
    o->peers = DEMO_DEFAULT_PEERS;
    const char *v;
    if ((v = getenv("CHORUS_DEMO_TRACKS")) && *v &&
        !parse_count("CHORUS_DEMO_TRACKS", v, 1, 1000, &o->tracks))
        return 2;
    if ((v = getenv("CHORUS_DEMO_SECONDS")) && *v &&
        !parse_lengths(v, &o->min_seconds, &o->max_seconds))
        return 2;
    if ((v = getenv("CHORUS_DEMO_PEERS")) && *v &&
        !parse_count("CHORUS_DEMO_PEERS", v, 0, DEMO_MAX_PEERS, &o->peers))
        return 2;
    if (!(o->dir = default_dir())) {
        fprintf(stderr, "chorus: no place for the demo: set CHORUS_DEMO_DIR (or HOME)\n");
        return 2;
    }
    return 0;
}

void demo_options_free(struct demo_options *o)
{
    free(o->dir);
    memset(o, 0, sizeof(*o));
}

/* ---- the library ---- */

static char *library_spec(const struct demo_options *o)
{
    return xasprintf("tracks=%u seconds=%g-%g seed=%u", o->tracks, o->min_seconds, o->max_seconds,
                     LIBRARY_SEED);
}

/* The marker holds the spec the library was made with. */
static bool marker_says(const char *path, const char *spec)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (fs_read_file(path, 4096, &data, &len) < 0)
        return false;
    size_t n = strlen(spec);
    bool same = (len == n || (len == n + 1 && data[n] == '\n')) && memcmp(data, spec, n) == 0;
    free(data);
    return same;
}

struct making {
    bool tty;
    atomic_bool *interrupted;
    struct importer *imp;
};

static void on_import(const struct import_event *ev, void *ctx)
{
    struct making *m = ctx;
    if (atomic_load(m->interrupted))
        import_cancel(m->imp);
    if (ev->kind != IMPORT_EV_FILE_DONE)
        return;
    const struct import_summary *s = ev->summary;
    if (ev->report->outcome == IMPORT_FAILED)
        fprintf(stderr, "%schorus: %s: %s\n", m->tty ? "\n" : "", ev->path, ev->report->reason);
    else if (m->tty)
        fprintf(stderr, "\rdemo: making the library: %zu/%zu tracks", ev->index + 1, s->found);
}

/* Synthesizes and imports the library, then writes the marker. */
static int make_library(const char *service_dir, const struct demo_options *o, const char *marker,
                        const char *spec, atomic_bool *interrupted)
{
    struct importer *imp = NULL;
    int rc = import_open(service_dir, &imp);
    if (rc < 0) {
        fprintf(stderr, "chorus: cannot open the demo's service directory %s: %s\n", service_dir,
                import_strerror(rc));
        return -1;
    }
    fprintf(stderr,
            "demo: making a library of %u generated tracks in %s (once: later runs reuse it)\n",
            o->tracks, service_dir);
    struct making m = {.tty = isatty(STDERR_FILENO), .interrupted = interrupted, .imp = imp};
    import_set_progress(imp, on_import, &m);
    struct import_demo_options opt = {.tracks = o->tracks,
                                      .min_seconds = o->min_seconds,
                                      .max_seconds = o->max_seconds,
                                      .seed = LIBRARY_SEED};
    struct import_summary sum = {0};
    rc = import_demo_library(imp, &opt, &sum);
    import_free(imp);
    if (m.tty)
        fputc('\n', stderr);
    if (rc == IMPORT_ECANCELED || atomic_load(interrupted)) {
        fprintf(stderr, "demo: interrupted; the next run goes on with the library\n");
        return -1;
    }
    if (rc < 0 || sum.failed) {
        fprintf(stderr, "chorus: the demo library could not be made: %s\n",
                rc < 0 ? import_strerror(rc) : "tracks failed (see above)");
        return -1;
    }
    if ((rc = fs_write_atomic(marker, spec, strlen(spec), 0600)) < 0) {
        fprintf(stderr, "chorus: cannot write %s: %s\n", marker, fs_strerror(rc));
        return -1;
    }
    return 0;
}

int demo_library_make(const char *service_dir, const struct demo_options *o,
                      atomic_bool *interrupted)
{
    char *spec = library_spec(o);
    char *marker = xasprintf("%s/%s", service_dir, MARKER_NAME);
    int status = 0;
    if (marker_says(marker, spec))
        fprintf(stderr, "demo: reusing the library in %s\n", service_dir);
    else
        status = make_library(service_dir, o, marker, spec, interrupted);
    free(marker);
    free(spec);
    return status;
}

static int by_artist_then_title(const void *a, const void *b)
{
    const struct demo_album *x = a, *y = b;
    int r = strcmp(x->artist, y->artist);
    return r ? r : strcmp(x->title, y->title);
}

/* The stored (encrypted) size of a track's file: what a cache holds of
 * it. */
static uint64_t file_bytes(struct store *st, const struct catalog_track *t)
{
    struct manifest *m = NULL;
    uint64_t bytes = 0;
    if (store_read_manifest(st, &t->file_id, &m) == 0)
        bytes = m->file_size;
    manifest_free(m);
    return bytes ? bytes : (uint64_t)((double)t->duration_ms * DEMO_BYTES_PER_S / 1000);
}

/* Appends album's tracks to lib (its first and count set). */
static int add_album_tracks(struct catalog *cat, struct store *st, int64_t album_id,
                            struct demo_library *lib, struct demo_album *album)
{
    struct catalog_track_list tl = {0};
    int rc = catalog_album_tracks(cat, album_id, &tl);
    if (rc < 0)
        return rc;
    lib->tracks = xrealloc(lib->tracks, (lib->ntracks + tl.count) * sizeof(*lib->tracks));
    album->first = lib->ntracks;
    album->count = tl.count;
    for (size_t i = 0; i < tl.count; i++) {
        double s = (double)tl.items[i].duration_ms / 1000.0;
        uint64_t bytes = file_bytes(st, &tl.items[i]);
        lib->tracks[lib->ntracks++] =
            (struct demo_track){.id = (uint64_t)tl.items[i].id, .seconds = s, .bytes = bytes};
        lib->seconds += s;
        lib->bytes += bytes;
    }
    catalog_track_list_free(&tl);
    return 0;
}

static int read_albums(struct catalog *cat, struct demo_library *lib)
{
    struct catalog_artist_list artists = {0};
    int rc = catalog_list_artists(cat, &artists);
    for (size_t a = 0; rc == 0 && a < artists.count; a++) {
        struct catalog_album_list al = {0};
        rc = catalog_artist_albums(cat, artists.items[a].id, &al);
        lib->albums = xrealloc(lib->albums, (lib->nalbums + al.count) * sizeof(*lib->albums));
        for (size_t i = 0; rc == 0 && i < al.count; i++)
            lib->albums[lib->nalbums++] = (struct demo_album){
                .title = xstrdup(al.items[i].title),
                .artist = xstrdup(al.items[i].artist),
                .first = (size_t)al.items[i].id, /* the album id, until the tracks come */
            };
        catalog_album_list_free(&al);
    }
    catalog_artist_list_free(&artists);
    return rc;
}

/* A fixed order of popularity: the same in every run and for every peer,
 * so the swarm agrees on its hits (as a real catalog's listeners do). */
static void rank_popularity(struct demo_library *lib)
{
    lib->popular = xcalloc(lib->ntracks ? lib->ntracks : 1, sizeof(*lib->popular));
    for (size_t i = 0; i < lib->ntracks; i++)
        lib->popular[i] = i;
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (size_t i = lib->ntracks; i > 1; i--) {
        size_t j = (size_t)(demo_rand(&state) % i);
        size_t t = lib->popular[i - 1];
        lib->popular[i - 1] = lib->popular[j];
        lib->popular[j] = t;
    }
}

/* The albums and their tracks, in the queue's order. */
static int read_library(struct catalog *cat, struct store *st, struct demo_library *lib)
{
    int rc = read_albums(cat, lib);
    if (rc == 0)
        qsort(lib->albums, lib->nalbums, sizeof(*lib->albums), by_artist_then_title);
    for (size_t i = 0; rc == 0 && i < lib->nalbums; i++) {
        rc = add_album_tracks(cat, st, (int64_t)lib->albums[i].first, lib, &lib->albums[i]);
        for (size_t t = lib->albums[i].first; rc == 0 && t < lib->ntracks; t++)
            lib->tracks[t].album = i;
    }
    return rc;
}

int demo_library_read(const char *service_dir, const struct demo_options *o,
                      struct demo_library *lib)
{
    memset(lib, 0, sizeof(*lib));
    char *path = import_catalog_path(service_dir);
    struct catalog *cat = NULL;
    struct store *st = NULL;
    int rc = catalog_open(path, &cat);
    if (rc < 0)
        fprintf(stderr, "chorus: cannot open the demo's catalog %s: %s\n", path,
                catalog_strerror(rc));
    else if ((rc = store_open(service_dir, &st)) < 0)
        fprintf(stderr, "chorus: cannot open the demo's store in %s: %s\n", service_dir,
                store_strerror(rc));
    else if ((rc = read_library(cat, st, lib)) < 0)
        fprintf(stderr, "chorus: cannot read the demo's catalog %s: %s\n", path,
                catalog_strerror(rc));
    else if (lib->ntracks == 0)
        fprintf(stderr, "chorus: the demo's catalog %s holds no tracks\n", path);
    store_free(st);
    catalog_free(cat);
    free(path);
    if (rc < 0 || lib->ntracks == 0) {
        demo_library_free(lib);
        return -1;
    }
    rank_popularity(lib);
    lib->spec = library_spec(o);
    return 0;
}

void demo_library_free(struct demo_library *lib)
{
    for (size_t i = 0; i < lib->nalbums; i++) {
        free(lib->albums[i].title);
        free(lib->albums[i].artist);
    }
    free(lib->albums);
    free(lib->tracks);
    free(lib->popular);
    free(lib->spec);
    memset(lib, 0, sizeof(*lib));
}

long demo_library_find(const struct demo_library *lib, uint64_t id)
{
    for (size_t i = 0; i < lib->ntracks; i++)
        if (lib->tracks[i].id == id)
            return (long)i;
    return -1;
}

/* ---- the demo user and the service ---- */

/* 32 hex digits from the kernel's random generator. */
static char *random_password(void)
{
    uint8_t bytes[16];
    size_t got = 0;
    while (got < sizeof(bytes)) {
        ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
        if (n < 0 && errno != EINTR)
            return NULL;
        if (n > 0)
            got += (size_t)n;
    }
    char *pw = xmalloc(2 * sizeof(bytes) + 1);
    for (size_t i = 0; i < sizeof(bytes); i++)
        snprintf(pw + 2 * i, 3, "%02x", bytes[i]);
    memset(bytes, 0, sizeof(bytes));
    return pw;
}

char *demo_user_password(const char *service_dir)
{
    char *pw = random_password();
    if (!pw) {
        fprintf(stderr, "chorus: no random bytes for the demo user's password: %s\n",
                strerror(errno));
        return NULL;
    }
    char *path = xasprintf("%s/%s", service_dir, SVC_ACCOUNTS_NAME);
    struct account_db *db = NULL;
    int rc = account_open(path, &db);
    if (rc == 0) {
        rc = account_add(db, DEMO_USER, pw, NULL);
        if (rc == ACCOUNT_EEXISTS) /* a new password revokes the last run's devices */
            rc = account_set_password(db, DEMO_USER, pw, NULL);
    }
    account_close(db);
    if (rc < 0) {
        fprintf(stderr, "chorus: cannot set up the demo user in %s: %s\n", path,
                account_strerror(rc));
        password_wipe(pw);
        pw = NULL;
    }
    free(path);
    return pw;
}

int demo_service_start(const char *service_dir, const char *log_path, struct demo_service *s)
{
    memset(s, 0, sizeof(*s));
    int err = 0;
    s->log = clog_new(log_path, CLOG_INFO, &err);
    if (!s->log)
        fprintf(stderr, "chorus: cannot open the log %s: %s (going on without it)\n", log_path,
                clog_strerror(err));
    clog_set_rotation(s->log, CLOG_DEFAULT_MAX_BYTES, CLOG_DEFAULT_KEEP);
    struct svc_config cfg = {.data_dir = service_dir, .listen_addr = "127.0.0.1", .log = s->log};
    int rc = svc_thread_start(&cfg, &s->thread);
    if (rc < 0) {
        fprintf(stderr, "chorus: cannot start the demo's service in %s: %s\n", service_dir,
                svc_strerror(rc));
        s->thread = NULL;
        demo_service_stop(s);
        return -1;
    }
    uint8_t key[TLS_KEY_LEN];
    svc_thread_public_key(s->thread, key);
    tls_key_to_hex(key, s->key_hex);
    s->address = xasprintf("127.0.0.1:%d", svc_thread_port(s->thread));
    return 0;
}

void demo_service_stop(struct demo_service *s)
{
    if (s->thread)
        svc_thread_stop(s->thread, NULL);
    clog_free(s->log);
    free(s->address);
    memset(s, 0, sizeof(*s));
}

/* ---- small things ---- */

uint64_t demo_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x2545f4914f6cdd1dull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

struct timespec demo_after_ms(double ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long ns = (long long)t.tv_nsec + (long long)(ms * 1e6);
    t.tv_sec += (time_t)(ns / 1000000000LL);
    t.tv_nsec = (long)(ns % 1000000000LL);
    return t;
}

double demo_uniform(uint64_t *state, double lo, double hi)
{
    double unit = (double)(demo_rand(state) >> 11) / 9007199254740992.0;
    return lo + unit * (hi - lo);
}
