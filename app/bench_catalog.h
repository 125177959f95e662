/* bench_catalog: the swarm benchmark's catalog (chorus-bench swarm) — a
 * service data directory whose catalog holds N tracks on albums, made in
 * seconds rather than half an hour: a few distinct pieces of synthesized
 * music (BENCH_CATALOG_ENCODES) are transcoded once, and each catalog
 * track stores one of them again under a fresh random key, so every track
 * has its own encrypted bytes, manifest and file id while the encodes are
 * shared. Artists, albums, titles and track numbers are invented (albums
 * of BENCH_ALBUM_MIN..BENCH_ALBUM_MAX tracks, in order).
 *
 * Kept between runs: the directory ROOT/catalog-N (ROOT: the caller's, by
 * default $XDG_CACHE_HOME/chorus-bench, else ~/.cache/chorus-bench) is
 * reused when its marker file says it was made the same way; a half-made
 * one (interrupted) is made again from scratch. The encodes are kept in
 * ROOT too, for the catalogs of every N. The benchmark runs the service on
 * that directory, so it holds accounts too.
 *
 * Threads: one caller at a time per directory (the benchmark holds a lock
 * on it while it runs). Says what it does on stderr. */
#ifndef CHORUS_APP_BENCH_CATALOG_H
#define CHORUS_APP_BENCH_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_CATALOG_ENCODES 4 /* distinct pieces of music behind every track */
#define BENCH_ALBUM_MIN       6
#define BENCH_ALBUM_MAX       12

struct bench_track {
    int64_t id;      /* the catalog's track id */
    size_t album;    /* index in bench_catalog.albums */
    unsigned number; /* 1.. within its album */
    double seconds;
    uint64_t bytes; /* of its stored file: what a cache holds of it */
};

struct bench_album {
    size_t first, count; /* tracks[first .. first + count), in album order */
};

struct bench_catalog {
    char *dir;                  /* the service's data directory */
    struct bench_track *tracks; /* album by album */
    size_t ntracks;
    struct bench_album *albums;
    size_t nalbums;
    double seconds; /* of all tracks */
    uint64_t bytes; /* of all their stored files */
    bool reused;    /* found made by an earlier run */
    double make_s;  /* wall seconds it took to make (0 when reused) */
};

/* Makes (or reuses) the catalog of ntracks (1..100000) tracks under root
 * (NULL: the default above) and reads it into *out. 0, or -1 after a
 * message on stderr. */
int bench_catalog_prepare(const char *root, unsigned ntracks, struct bench_catalog *out);

/* Reads the catalog of a data directory bench_catalog_prepare made (the
 * engine hosts do, read-only). 0, or -1 after a message on stderr. */
int bench_catalog_read(const char *dir, struct bench_catalog *out);

void bench_catalog_free(struct bench_catalog *c);

#endif
