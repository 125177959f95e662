/* import: audio files into the service's catalog and master store
 * (DESIGN.md §3) — what `chorusd import` and `chorusd demo-library` run.
 *
 * The service's data directory (default $XDG_DATA_HOME/chorusd) holds:
 *   catalog.db (+ -wal, -shm)     the catalog (core/catalog.h)
 *   files/ manifests/ keys/       the master store (core/store.h)
 *   import.lock                   flock'ed (shared) by every open importer
 *
 * For each file: fingerprint the source (SHA-256 of its bytes; a file
 * whose path, size and mtime match an earlier import is not even read) and
 * skip it when already imported; transcode to Ogg Vorbis q5
 * (audio/transcode.h); encrypt with a fresh random key (AES-128-CTR);
 * store_put (content, manifest, then key: the commit point); then
 * catalog_add_track. Tags the file lacks come from its path below the
 * directory named on the command line: DIR/Artist/Album/[CD n/]NN Title.ext
 * (a file right in DIR takes DIR's name as its album; missing names become
 * "Unknown Artist" and "Unknown Album").
 *
 * Safe to interrupt at any point and re-run: a kill before the store's
 * commit leaves nothing visible; a kill between the commit and the
 * catalog leaves one stored file no track refers to — never a track
 * without its file, never a track twice. import_open removes such
 * leftovers (store_sweep, and store_prune of files no track refers to):
 * all of them when no other importer has the data directory open (the
 * lock file tells), else those older than ten minutes. A stored file whose
 * track the catalog then refuses (an error, or the same source added by
 * another import meanwhile) is removed at once.
 *
 * Which files are tried: every file under the directories (recursively,
 * in name order), except hidden ones (".name"), companion files known by
 * their extension (cover art, playlists, cue sheets, rip logs, text notes:
 * see import_is_companion), symbolic links to directories (not followed,
 * so no loops) and the data directory itself — all counted as ignored.
 *
 * Threads: an importer is used by one thread (the caller's); import_run
 * transcodes on worker threads of its own (import_set_jobs) and joins them
 * before it returns; the store and catalog are touched by the caller's
 * thread only. import_cancel may be called from any thread or a signal
 * handler. Nothing here logs:
 * each file's outcome goes to the progress callback, with a one-line
 * reason for a failure. */
#ifndef CHORUS_AUDIO_IMPORT_H
#define CHORUS_AUDIO_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "library/catalog.h"
#include "base/manifest.h"
#include "library/store.h"

#define IMPORT_CATALOG_NAME "catalog.db"
#define IMPORT_LOCK_NAME    "import.lock"

enum {
    IMPORT_ECANCELED = -4100, /* import_cancel stopped the run */
    IMPORT_EMISSING = -4101,  /* catalogued, but its stored file is gone */
    IMPORT_EKEY = -4102,      /* no random key or no encryption (OpenSSL) */
};

enum import_outcome {
    IMPORT_IMPORTED,
    IMPORT_SKIPPED, /* the same content is already in the catalog */
    IMPORT_FAILED,
};

/* The outcome of one file. */
struct import_report {
    const char *path; /* as found (borrowed for the callback) */
    enum import_outcome outcome;
    int error;        /* IMPORT_FAILED: the negative code */
    char reason[400]; /* IMPORT_FAILED: one line, without the file name */
    double seconds;   /* IMPORT_IMPORTED: length of the track */
    int64_t track_id; /* IMPORTED or SKIPPED: the catalog's track */
    struct content_id file_id;
};

struct import_summary {
    size_t found; /* files to try (ignored ones not counted) */
    size_t imported, skipped, failed;
    size_t ignored;       /* hidden and companion files, directory links */
    double audio_seconds; /* of the imported tracks */
    double wall_seconds;  /* of the whole run */
    bool canceled;
};

enum import_event_kind {
    IMPORT_EV_SCANNED,    /* the walk is done: summary->found is final */
    IMPORT_EV_FILE_START, /* path is about to be imported */
    IMPORT_EV_FILE_DONE,  /* report says how it went */
};

struct import_event {
    enum import_event_kind kind;
    const char *path;                     /* FILE_*: the file (borrowed) */
    size_t index;                         /* FILE_*: 0-based among summary->found */
    const struct import_report *report;   /* FILE_DONE */
    const struct import_summary *summary; /* totals so far */
};

/* Called on the importing thread; everything in ev is borrowed. */
typedef void (*import_progress_fn)(const struct import_event *ev, void *ctx);

struct importer;

/* Opens (creating as needed, mode 0700) the data directory, its store and
 * its catalog, and removes what killed imports left (see above). The
 * caller owns *out (import_free). Errors: -errno, STORE_*, CATALOG_*
 * (import_strerror covers them). */
int import_open(const char *data_dir, struct importer **out);
void import_free(struct importer *imp);

/* The importer's store and catalog (borrowed; valid until import_free). */
struct store *import_store(struct importer *imp);
struct catalog *import_catalog(struct importer *imp);

/* data_dir/catalog.db as a new string owned by the caller. */
char *import_catalog_path(const char *data_dir);

/* Sets the progress callback (fn may be NULL). */
void import_set_progress(struct importer *imp, import_progress_fn fn, void *ctx);

/* Imports every file under paths (directories are walked; files taken as
 * they are). A file that fails is reported and counted; the run goes on.
 * Fills *sum (may be NULL). Returns 0 (even when some files failed: see
 * sum->failed) or IMPORT_ECANCELED. */
int import_run(struct importer *imp, const char *const *paths, size_t npaths,
               struct import_summary *sum);

/* Imports one file; root is the directory whose subpath gives the
 * fallback tags (NULL: the file's own directory). Fills *rep (its path is
 * path) and returns 0 when imported or skipped, else rep->error. */
int import_file(struct importer *imp, const char *path, const char *root,
                struct import_report *rep);

/* Stores an Ogg Vorbis file that is already encoded (ogg: len bytes,
 * borrowed, left as it is) under a fresh random key, then adds its track
 * as info says (borrowed; its file_id is ignored: the stored file's is
 * used). For sources that are not files: the benchmark's catalog stores a
 * few encodes many times over, each under a fingerprint of its own
 * (info->source_sha256; one already in the catalog keeps its track, and
 * the outcome is IMPORT_SKIPPED). Fills *rep (its path NULL) and returns 0
 * when imported or skipped, else rep->error. */
int import_encoded(struct importer *imp, const uint8_t *ogg, size_t len,
                   const struct catalog_track_info *info, struct import_report *rep);

/* How many files import_run transcodes at once, on as many threads (the
 * catalog and the store are still written by the calling thread only);
 * 0: one per online CPU. At most IMPORT_MAX_JOBS. The default is 0. */
#define IMPORT_MAX_JOBS 8
void import_set_jobs(struct importer *imp, unsigned jobs);

/* Stops a run before its next file (files already being transcoded are
 * finished and committed). Async-signal-safe. */
void import_cancel(struct importer *imp);

/* True for names import_run leaves alone as companions of an album:
 * .jpg .jpeg .png .gif .bmp .webp .tif .tiff .cue .log .m3u .m3u8 .pls
 * .nfo .sfv .md5 .txt .pdf .accurip (any case). */
bool import_is_companion(const char *name);

/* The demo library: tracks pieces of synthesized music (audio/synth.h),
 * between min_seconds and max_seconds long, on several albums by several
 * artists with invented names, years and track numbers. Each is encoded to
 * a FLAC file with its tags in a temporary directory and imported through
 * import_file. The same seed makes the same library (so a re-run skips
 * it all); another seed, another library. */
struct import_demo_options {
    unsigned tracks;    /* 1 .. 1000 */
    double min_seconds; /* >= SYNTH_MIN_SECONDS */
    double max_seconds; /* >= min_seconds, <= SYNTH_MAX_SECONDS */
    uint64_t seed;
};

#define IMPORT_DEMO_TRACKS      20
#define IMPORT_DEMO_MIN_SECONDS 30.0
#define IMPORT_DEMO_MAX_SECONDS 180.0

/* Progress events name each track "Artist/Album/NN Title". Fills *sum (may
 * be NULL). Returns 0, -EINVAL for bad options, IMPORT_ECANCELED, or
 * -errno when the temporary directory cannot be made. */
int import_demo_library(struct importer *imp, const struct import_demo_options *opt,
                        struct import_summary *sum);

/* Text for any error above, including STORE_*, CATALOG_*, TRANSCODE_* and
 * -errno (static). */
const char *import_strerror(int err);

#endif
