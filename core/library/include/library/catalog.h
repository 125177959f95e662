/* catalog: the service's music catalog in SQLite (DESIGN.md §3).
 *
 * Artists, albums (title, album artist, date/year) and tracks (title,
 * track artist, album, disc and track number, duration, file id, source)
 * with an FTS5 index over title, artist and album for search. The database
 * runs in WAL mode with foreign keys on. Its schema is versioned with
 * PRAGMA user_version: catalog_open applies the missing migrations in one
 * transaction, and refuses a database made by a newer Chorus
 * (CATALOG_ETOONEW) without touching it.
 *
 * Source fingerprint: every track records the SHA-256 of the source file it
 * was imported from (plus its path, size and mtime). Adding a track whose
 * fingerprint is already present adds nothing and returns the existing
 * track, so re-importing the same source content is a no-op whatever its
 * path; catalog_find_source answers "was this content imported, and as
 * which file?" before any transcoding, and catalog_find_source_path lets an
 * importer skip even hashing a file unchanged since it was imported.
 *
 * Threads: a struct catalog is one SQLite connection and is not
 * thread-safe; use each instance from one thread at a time and open one per
 * thread that needs the catalog. Several instances (and processes) may use
 * the same database file: readers never block the writer (WAL), writers
 * wait up to 5 s for each other.
 *
 * Strings are UTF-8. Every result struct owns its strings; free a result
 * with the matching *_free / catalog_track_clear. Errors: 0 or a negative
 * CATALOG_* code; catalog_errmsg gives SQLite's message for the last
 * failure, for the log. Nothing here logs. */
#ifndef CHORUS_CORE_CATALOG_H
#define CHORUS_CORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/manifest.h"

#define CATALOG_SCHEMA_VERSION  2 /* the user_version this build writes */
#define CATALOG_FINGERPRINT_LEN 32

enum {
    CATALOG_ESQL = -2100,      /* an SQLite error (see catalog_errmsg) */
    CATALOG_ETOONEW = -2101,   /* schema newer than this build understands */
    CATALOG_ENOTFOUND = -2102, /* no such row */
    CATALOG_EINVAL = -2103,    /* bad argument (missing title, ...) */
    CATALOG_EOPEN = -2104,     /* cannot open or create the database file */
    CATALOG_ECORRUPT = -2105,  /* not a database, or a damaged one */
    CATALOG_EBUSY = -2106,     /* locked by another writer for too long */
    CATALOG_EFULL = -2107,     /* disk full */
};

struct catalog;

/* What the importer knows about one track (all borrowed for the call). */
struct catalog_track_info {
    const char *title;        /* required, non-empty */
    const char *artist;       /* track artist, required, non-empty */
    const char *album;        /* required, non-empty */
    const char *album_artist; /* NULL or "": the track artist */
    const char *date;         /* "YYYY" or "YYYY-MM-DD"..., NULL if unknown */
    int track_number;         /* 0 unknown */
    int disc_number;          /* 0 unknown */
    int64_t duration_ms;      /* >= 0 */
    struct content_id file_id;
    uint8_t source_sha256[CATALOG_FINGERPRINT_LEN]; /* SHA-256 of the source file */
    const char *source_path;                        /* may be NULL */
    uint64_t source_size;
    int64_t source_mtime_ns;
};

struct catalog_artist {
    int64_t id;
    char *name;
    int64_t album_count; /* albums with this album artist */
    int64_t track_count; /* tracks on those albums */
};

struct catalog_album {
    int64_t id;
    char *title;
    int64_t artist_id; /* album artist */
    char *artist;
    char *date; /* NULL if unknown */
    int year;   /* from date; 0 if unknown */
    int64_t track_count;
    int64_t duration_ms;
};

struct catalog_track {
    int64_t id;
    char *title;
    int64_t artist_id;
    char *artist; /* track artist */
    int64_t album_id;
    char *album;
    char *album_artist;
    char *date; /* the album's; NULL if unknown */
    int track_number;
    int disc_number;
    int64_t duration_ms;
    struct content_id file_id;
    char *source_path; /* NULL if not recorded */
};

struct catalog_artist_list {
    struct catalog_artist *items;
    size_t count;
};
struct catalog_album_list {
    struct catalog_album *items;
    size_t count;
};
struct catalog_track_list {
    struct catalog_track *items;
    size_t count;
};

struct catalog_counts {
    int64_t artists; /* album artists and track artists */
    int64_t albums;
    int64_t tracks;
    int64_t duration_ms; /* of all tracks */
};

/* Opens or creates the database at path and brings its schema up to date.
 * The caller owns *out (catalog_free). */
int catalog_open(const char *path, struct catalog **out);
void catalog_free(struct catalog *cat);

/* Adds a track, creating its artists and album as needed, in one
 * transaction. *track_id (may be NULL) gets the new track's id, or the
 * existing track's when the fingerprint is already present; *added (may be
 * NULL) tells which. An existing album keeps its date unless it had none. */
int catalog_add_track(struct catalog *cat, const struct catalog_track_info *info, int64_t *track_id,
                      bool *added);

/* The file id and track of an imported source by its SHA-256 fingerprint.
 * file_id and track_id may be NULL. CATALOG_ENOTFOUND when not imported. */
int catalog_find_source(struct catalog *cat, const uint8_t sha256[CATALOG_FINGERPRINT_LEN],
                        struct content_id *file_id, int64_t *track_id);

/* The same by source path, only when size and mtime still match what was
 * recorded at import (the file is unchanged, no need to hash it). */
int catalog_find_source_path(struct catalog *cat, const char *path, uint64_t size, int64_t mtime_ns,
                             struct content_id *file_id, int64_t *track_id);

/* The (first) track that plays file_id; track_id may be NULL.
 * CATALOG_ENOTFOUND when no track refers to it (e.g. a stored file whose
 * import was interrupted before its track was added). */
int catalog_find_file(struct catalog *cat, const struct content_id *file_id, int64_t *track_id);

/* Points a track at another stored file (a re-encode replacing a file that
 * went missing from the store). CATALOG_ENOTFOUND when no such track. */
int catalog_set_track_file(struct catalog *cat, int64_t track_id, const struct content_id *file_id);

int catalog_counts(struct catalog *cat, struct catalog_counts *out);

/* Artists that are the album artist of at least one album, by name. */
int catalog_list_artists(struct catalog *cat, struct catalog_artist_list *out);

/* Albums of an album artist, by year then title. Empty for an unknown id. */
int catalog_artist_albums(struct catalog *cat, int64_t artist_id, struct catalog_album_list *out);

/* Tracks of an album, by disc, track number, then title. */
int catalog_album_tracks(struct catalog *cat, int64_t album_id, struct catalog_track_list *out);

/* One track; out is filled (catalog_track_clear releases it).
 * CATALOG_ENOTFOUND when there is no such track. */
int catalog_get_track(struct catalog *cat, int64_t track_id, struct catalog_track *out);

/* Tracks whose title, artist or album match the user's text, best first, at
 * most limit (0: no limit). Every word must match (words are quoted for
 * FTS5, so any input is safe: quotes, AND/OR/NEAR, '*', '-' ... are plain
 * text); the last word matches as a prefix, for search-as-you-type. Text
 * with no words gives an empty list. */
int catalog_search(struct catalog *cat, const char *text, size_t limit,
                   struct catalog_track_list *out);

void catalog_track_clear(struct catalog_track *t);
void catalog_artist_list_free(struct catalog_artist_list *l);
void catalog_album_list_free(struct catalog_album_list *l);
void catalog_track_list_free(struct catalog_track_list *l);

/* SQLite's message for the last error on cat (borrowed, valid until the
 * next call on cat). */
const char *catalog_errmsg(struct catalog *cat);
const char *catalog_strerror(int err);

#endif
