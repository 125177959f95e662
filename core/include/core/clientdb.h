/* clientdb: the client's own SQLite database, chorus.db (DESIGN §3: "the
 * client keeps its own SQLite database for its playlists, queue, play
 * history and resume point").
 *
 * One file, $XDG_DATA_HOME/chorus/chorus.db (mode 0600: it holds the
 * device credential and content keys), WAL mode, schema versioned with
 * PRAGMA user_version and migrated forward on open. Tables:
 *   login      the device credential of `chorus login` (one row): service
 *              address, user, credential bytes, when it was issued
 *   tracks     catalog entries the engine has seen (id, title, artist,
 *              album, artist id, album id, number, duration, file id),
 *              so browse/search/play --all answer offline
 *   files      per file id: the manifest's encoding and the content key,
 *              so a track played once plays again without the service
 *   playlists  name (unique), position, whether it is kept offline;
 *              playlist_items (playlist, pos, track)
 *   queue      the play queue (pos, track, shuffle order) and its state
 *              (cursor, position in the track, repeat, shuffle, seed)
 *   state      key/value: volume and anything small the engine keeps
 *   history    one row per playback: track, when, how long it was heard
 *
 * Every call is a short blocking statement (microseconds to a millisecond
 * in WAL mode): the engine calls it from its loop, as it does for the
 * cache's in-memory calls; nothing here waits for the network.
 *
 * Errors: 0 or negative: CLIENTDB_* below (the SQLite message is logged).
 * Threads: one connection per struct clientdb, used by one thread at a
 * time. Two processes may open the same file (chorus login while an
 * engine runs): SQLite's locking with a busy timeout serialises them. */
#ifndef CHORUS_CORE_CLIENTDB_H
#define CHORUS_CORE_CLIENTDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/content_crypto.h"
#include "base/manifest.h"

struct clog;

#define CLIENTDB_FILE_NAME "chorus.db"

enum {
    CLIENTDB_EDB = -7100,       /* SQLite failed (cannot open, corrupt, disk full; see the log) */
    CLIENTDB_ENOTFOUND = -7101, /* no such row (credential, playlist, file, track) */
    CLIENTDB_EEXISTS = -7102,   /* a playlist of that name exists */
    CLIENTDB_ETOONEW = -7103,   /* the schema is newer than this build */
    CLIENTDB_EINVAL = -7104,    /* bad argument (empty name, position out of range) */
};

struct clientdb;

/* Opens or creates path (0600; an existing file with wider permissions is
 * narrowed). log is borrowed and may be NULL. The caller owns *out. */
int clientdb_open(const char *path, struct clog *log, struct clientdb **out);
void clientdb_close(struct clientdb *db);

/* ---- the device credential ---- */
struct clientdb_login {
    char *address; /* HOST:PORT of the service */
    char *user;
    uint8_t *credential;
    size_t credential_len;
    int64_t issued; /* unix seconds */
};
/* Replaces the stored login (l is copied). CLIENTDB_EINVAL when the
 * address, user or credential is empty. */
int clientdb_set_login(struct clientdb *db, const struct clientdb_login *l);
/* CLIENTDB_ENOTFOUND when nobody logged in. Fills *out (clientdb_login_clear). */
int clientdb_get_login(struct clientdb *db, struct clientdb_login *out);
/* CLIENTDB_ENOTFOUND when nobody was logged in. The row is overwritten
 * in the database file (secure_delete), not left in a free page. */
int clientdb_forget_login(struct clientdb *db);
/* Frees and zeroes the strings; the credential is wiped before it is freed. */
void clientdb_login_clear(struct clientdb_login *l);

/* ---- catalog entries seen (for offline browse, search and play) ---- */
struct clientdb_track {
    uint64_t id; /* the catalog's track id */
    char *title, *artist, *album;
    uint64_t artist_id, album_id;
    uint16_t number;
    uint32_t duration_ms;
    bool has_file;
    struct content_id file;
};
/* Inserts or updates the rows (one transaction). Strings are copied; a
 * NULL string is stored as "". A row with has_file false keeps the file
 * id its track already had (a catalog track never loses its file). */
int clientdb_put_tracks(struct clientdb *db, const struct clientdb_track *t, size_t n);
/* CLIENTDB_ENOTFOUND when unknown. *out is filled (clientdb_track_clear);
 * its strings are never NULL. */
int clientdb_get_track(struct clientdb *db, uint64_t id, struct clientdb_track *out);
/* The tracks whose file the engine can play offline (a key is stored):
 * all of them (query NULL) or those whose title, artist or album contains
 * every word of query (words split at white space; case-insensitive for
 * ASCII letters; at most CLIENTDB_QUERY_MAX_WORDS words, else
 * CLIENTDB_EINVAL), ordered by artist, album, number, title; at most
 * limit (0: no limit). The caller owns *out (clientdb_tracks_free); *n is
 * the count. */
#define CLIENTDB_QUERY_MAX_WORDS 32
int clientdb_playable_tracks(struct clientdb *db, const char *query, size_t limit,
                             struct clientdb_track **out, size_t *n);
void clientdb_track_clear(struct clientdb_track *t);
void clientdb_tracks_free(struct clientdb_track *t, size_t n);

/* ---- what a file needs to play without the service ---- */
/* Stores (or replaces) file id's manifest encoding and content key
 * (copied; CLIENTDB_EINVAL when the manifest is empty). */
int clientdb_put_file(struct clientdb *db, const struct content_id *id, const uint8_t *manifest,
                      size_t manifest_len, const struct content_key *key);
/* CLIENTDB_ENOTFOUND when unknown. *manifest is owned by the caller (free);
 * manifest and manifest_len may be NULL when only the key is wanted. */
int clientdb_get_file(struct clientdb *db, const struct content_id *id, uint8_t **manifest,
                      size_t *manifest_len, struct content_key *key);

/* ---- playlists ---- */
struct clientdb_playlist {
    int64_t id;
    char *name;
    size_t count;      /* tracks */
    bool keep_offline; /* its files are kept in the cache (clientdb_playlist_set_keep) */
};
/* Names compare case-insensitively for ASCII letters ("Rock" is "rock")
 * wherever a name is looked up or must be unique. Positions are kept
 * dense (0..count-1); each change is one transaction.
 * CLIENTDB_EEXISTS when the name is taken, CLIENTDB_EINVAL when empty
 * (or white space only); CLIENTDB_ENOTFOUND for an unknown playlist. */
int clientdb_playlist_create(struct clientdb *db, const char *name);
int clientdb_playlist_rename(struct clientdb *db, const char *name, const char *new_name);
int clientdb_playlist_delete(struct clientdb *db, const char *name);
/* Every playlist in creation order. The caller owns *out
 * (clientdb_playlists_free). */
int clientdb_playlists(struct clientdb *db, struct clientdb_playlist **out, size_t *n);
void clientdb_playlists_free(struct clientdb_playlist *p, size_t n);
/* The track ids of a playlist, in order (caller owns *ids: free). */
int clientdb_playlist_tracks(struct clientdb *db, const char *name, uint64_t **ids, size_t *n);
/* Appends n ids. */
int clientdb_playlist_add(struct clientdb *db, const char *name, const uint64_t *ids, size_t n);
/* Removes position pos (0-based). CLIENTDB_EINVAL when out of range. */
int clientdb_playlist_remove(struct clientdb *db, const char *name, size_t pos);
/* Moves position from to position to (0-based). */
int clientdb_playlist_move(struct clientdb *db, const char *name, size_t from, size_t to);

/* ---- playlists kept offline ---- */
/* The flag the engine acts on: a kept playlist's files stay pinned in the
 * cache and are fetched whole. New playlists are not kept.
 * CLIENTDB_ENOTFOUND for an unknown playlist. */
int clientdb_playlist_set_keep(struct clientdb *db, const char *name, bool keep);
int clientdb_playlist_get_keep(struct clientdb *db, const char *name, bool *keep);
/* One playlist item and what chorus.db knows of its file. */
struct clientdb_track_file {
    uint64_t track_id;
    bool has_file; /* the track's file id is known (its catalog entry was seen) */
    struct content_id file;
    bool has_key; /* the file's manifest and key are stored: it plays without the service */
};
/* Every item of playlist name, in order. The caller owns *out (free). */
int clientdb_playlist_files(struct clientdb *db, const char *name, struct clientdb_track_file **out,
                            size_t *n);
/* Every item with a known file of every kept playlist, playlists in
 * creation order, items in order (a file in two places is listed twice).
 * The caller owns *out (free). */
int clientdb_kept_files(struct clientdb *db, struct clientdb_track_file **out, size_t *n);

/* ---- the play queue and the player's state (restored after a restart) ---- */
struct clientdb_queue {
    uint64_t *ids; /* list order */
    size_t n;
    size_t *order;       /* shuffle permutation (n entries) or NULL */
    long cursor;         /* list position playing, -1: none */
    int64_t position_ms; /* within that track */
    int repeat;          /* enum queue_repeat */
    bool shuffle;
    uint64_t seed;
};
/* Replaces the stored queue (one transaction). CLIENTDB_EINVAL when the
 * cursor is not -1..n-1, position_ms is negative, repeat is not an enum
 * queue_repeat or order is not a permutation of 0..n-1. */
int clientdb_save_queue(struct clientdb *db, const struct clientdb_queue *q);
/* Only the cursor and the position (cheap: the engine calls it every few
 * seconds while playing). CLIENTDB_EINVAL when the cursor is not -1..n-1
 * of the stored queue or position_ms is negative. */
int clientdb_save_position(struct clientdb *db, long cursor, int64_t position_ms);
/* The stored queue (an empty one, n = 0 and cursor -1, when none). *out
 * is filled (clientdb_queue_clear). A stored shuffle order that is not a
 * permutation (a damaged row) loads as NULL, with a warning. */
int clientdb_load_queue(struct clientdb *db, struct clientdb_queue *out);
void clientdb_queue_clear(struct clientdb_queue *q);

/* ---- small values ---- */
int clientdb_set_int(struct clientdb *db, const char *key, int64_t value);
/* def when unset (and on a database error, which is logged). */
int64_t clientdb_get_int(struct clientdb *db, const char *key, int64_t def);

/* ---- history ---- */
/* One playback of track id that started at started (unix ms) and was
 * heard for heard_ms. */
int clientdb_add_history(struct clientdb *db, uint64_t id, int64_t started, int64_t heard_ms);
/* The count of history rows (for tests and `status`), or CLIENTDB_EDB. */
int64_t clientdb_history_count(struct clientdb *db);

const char *clientdb_strerror(int err);

#endif
