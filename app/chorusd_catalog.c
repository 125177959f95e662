/* chorusd catalog: what the catalog holds — counts, then artists -> albums
 * -> tracks — or the tracks matching a search, for people (indented text),
 * or scripts (--tsv: one track per line under a header; --json: one
 * document, built with jansson through base/json and printed once all of
 * it could be read). Reads the catalog only; safe while an import or the
 * service runs (SQLite WAL). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/import.h"
#include "chorusd_commands.h"
#include "library/catalog.h"
#include "base/json.h"
#include "base/xmalloc.h"

enum format { FMT_TEXT, FMT_TSV, FMT_JSON };

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorusd catalog [--data-dir DIR] [--json|--tsv] [search QUERY...]\n"
                 "\n"
                 "Lists the catalog: counts, then every artist, album and track; with\n"
                 "'search', the tracks whose title, artist or album match every word of\n"
                 "QUERY (the last word as a prefix).\n"
                 "\n"
                 "  -d, --data-dir DIR  the service's data directory\n"
                 "                      (default: $XDG_DATA_HOME/chorusd)\n"
                 "      --tsv           tab-separated, one track per line, with a header\n"
                 "      --json          one JSON document\n"
                 "  -h, --help          this help\n"
                 "\n"
                 "See chorusd(8).\n");
}

static void format_ms(int64_t ms, char *buf, size_t len)
{
    int64_t s = (ms + 500) / 1000;
    if (s >= 3600)
        snprintf(buf, len, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    else
        snprintf(buf, len, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

/* Tags are cleaned at import (no control characters), but a tab in a
 * field would still break a TSV line. */
static void tsv_field(const char *s, bool last)
{
    for (const char *p = s ? s : ""; *p; p++)
        putchar(*p == '\t' || *p == '\n' ? ' ' : *p);
    putchar(last ? '\n' : '\t');
}

static void tsv_header(void)
{
    puts("artist\talbum\tdate\tdisc\ttrack\ttitle\ttrack_artist\tduration_ms\tfile_id\ttrack_id");
}

static void tsv_track(const struct catalog_track *t)
{
    char hex[CONTENT_ID_HEX_LEN + 1], num[32];
    content_id_to_hex(&t->file_id, hex);
    tsv_field(t->album_artist, false);
    tsv_field(t->album, false);
    tsv_field(t->date, false);
    snprintf(num, sizeof(num), "%d", t->disc_number);
    tsv_field(num, false);
    snprintf(num, sizeof(num), "%d", t->track_number);
    tsv_field(num, false);
    tsv_field(t->title, false);
    tsv_field(t->artist, false);
    snprintf(num, sizeof(num), "%lld", (long long)t->duration_ms);
    tsv_field(num, false);
    tsv_field(hex, false);
    snprintf(num, sizeof(num), "%lld", (long long)t->id);
    tsv_field(num, true);
}

/* Appends v (taken) to the JSON array a. */
static void json_append(json_t *a, json_t *v)
{
    if (json_array_append_new(a, json_must(v)) < 0)
        json_must(NULL); /* only out of memory makes it fail */
}

/* A track as JSON; with_album adds its album, album artist and date (for
 * search results, which are not under their album). */
static json_t *json_track(const struct catalog_track *t, bool with_album)
{
    char hex[CONTENT_ID_HEX_LEN + 1];
    content_id_to_hex(&t->file_id, hex);
    json_t *album = NULL, *album_artist = NULL, *date = NULL;
    if (with_album) {
        album = json_text0(t->album);
        album_artist = json_text0(t->album_artist);
        date = json_text0(t->date);
    }
    /* "o*": a NULL value (no album wanted) leaves the member out. */
    return json_must(json_pack("{s:I, s:o, s:o, s:o*, s:o*, s:o*, s:i, s:i, s:I, s:s}", "id",
                               (json_int_t)t->id, "title", json_text0(t->title), "artist",
                               json_text0(t->artist), "album", album, "album_artist", album_artist,
                               "date", date, "disc", t->disc_number, "track", t->track_number,
                               "duration_ms", (json_int_t)t->duration_ms, "file_id", hex));
}

static void text_track(const struct catalog_track *t, const char *album_artist)
{
    char len[32], num[32] = "";
    format_ms(t->duration_ms, len, sizeof(len));
    if (t->disc_number > 0 && t->track_number > 0)
        snprintf(num, sizeof(num), "%d-%02d", t->disc_number, t->track_number);
    else if (t->track_number > 0)
        snprintf(num, sizeof(num), "%d.", t->track_number);
    bool other = album_artist && strcmp(t->artist, album_artist) != 0;
    printf("    %5s %s%s%s  %s\n", num, t->title, other ? " - " : "", other ? t->artist : "", len);
}

/* Prints the text and TSV formats as it goes; for JSON, *doc gets the
 * document (the caller prints and releases it). Returns 0 or a CATALOG_*
 * code. */
static int list_all(struct catalog *cat, enum format fmt, json_t **doc)
{
    struct catalog_counts counts;
    struct catalog_artist_list artists;
    int ret = catalog_counts(cat, &counts);
    if (ret == 0)
        ret = catalog_list_artists(cat, &artists);
    if (ret < 0)
        return ret;
    char total[32];
    format_ms(counts.duration_ms, total, sizeof(total));
    json_t *jartists = NULL;
    if (fmt == FMT_TEXT) {
        printf("%lld artists, %lld albums, %lld tracks, %s in all\n", (long long)counts.artists,
               (long long)counts.albums, (long long)counts.tracks, total);
    } else if (fmt == FMT_TSV) {
        tsv_header();
    } else {
        jartists = json_must(json_array());
        *doc = json_must(json_pack("{s:{s:I, s:I, s:I, s:I}, s:o}", "counts", "artists",
                                   (json_int_t)counts.artists, "albums", (json_int_t)counts.albums,
                                   "tracks", (json_int_t)counts.tracks, "duration_ms",
                                   (json_int_t)counts.duration_ms, "artists", jartists));
    }
    /* The arrays a level's items go into (jartists, jalbums, jtracks) are
     * borrowed from the object that holds them. */
    for (size_t i = 0; i < artists.count && ret == 0; i++) {
        const struct catalog_artist *ar = &artists.items[i];
        struct catalog_album_list albums;
        if ((ret = catalog_artist_albums(cat, ar->id, &albums)) < 0)
            break;
        json_t *jalbums = NULL;
        if (fmt == FMT_TEXT) {
            printf("\n%s\n", ar->name);
        } else if (fmt == FMT_JSON) {
            jalbums = json_must(json_array());
            json_append(jartists, json_pack("{s:I, s:o, s:o}", "id", (json_int_t)ar->id, "name",
                                            json_text0(ar->name), "albums", jalbums));
        }
        for (size_t j = 0; j < albums.count && ret == 0; j++) {
            const struct catalog_album *al = &albums.items[j];
            struct catalog_track_list tracks;
            if ((ret = catalog_album_tracks(cat, al->id, &tracks)) < 0)
                break;
            json_t *jtracks = NULL;
            if (fmt == FMT_TEXT) {
                char len[32];
                format_ms(al->duration_ms, len, sizeof(len));
                if (al->year > 0)
                    printf("  %s (%d)  %s\n", al->title, al->year, len);
                else
                    printf("  %s  %s\n", al->title, len);
            } else if (fmt == FMT_JSON) {
                jtracks = json_must(json_array());
                json_append(jalbums,
                            json_pack("{s:I, s:o, s:o, s:i, s:I, s:o}", "id", (json_int_t)al->id,
                                      "title", json_text0(al->title), "date", json_text0(al->date),
                                      "year", al->year, "duration_ms", (json_int_t)al->duration_ms,
                                      "tracks", jtracks));
            }
            for (size_t k = 0; k < tracks.count; k++) {
                if (fmt == FMT_TEXT)
                    text_track(&tracks.items[k], ar->name);
                else if (fmt == FMT_TSV)
                    tsv_track(&tracks.items[k]);
                else
                    json_append(jtracks, json_track(&tracks.items[k], false));
            }
            catalog_track_list_free(&tracks);
        }
        catalog_album_list_free(&albums);
    }
    catalog_artist_list_free(&artists);
    return ret;
}

/* The tracks matching query, printed or (JSON) in *doc as list_all. */
static int search(struct catalog *cat, const char *query, enum format fmt, json_t **doc)
{
    struct catalog_track_list l;
    int ret = catalog_search(cat, query, 0, &l);
    if (ret < 0)
        return ret;
    json_t *jtracks = NULL;
    if (fmt == FMT_TEXT) {
        printf("%zu tracks match \"%s\"\n", l.count, query);
    } else if (fmt == FMT_TSV) {
        tsv_header();
    } else {
        jtracks = json_must(json_array());
        *doc = json_must(json_pack("{s:o, s:o}", "query", json_text0(query), "tracks", jtracks));
    }
    for (size_t i = 0; i < l.count; i++) {
        const struct catalog_track *t = &l.items[i];
        if (fmt == FMT_TEXT) {
            char len[32];
            format_ms(t->duration_ms, len, sizeof(len));
            printf("  %s - %s  (%s, track %d)  %s\n", t->artist, t->title, t->album,
                   t->track_number, len);
        } else if (fmt == FMT_TSV) {
            tsv_track(t);
        } else {
            json_append(jtracks, json_track(t, true));
        }
    }
    catalog_track_list_free(&l);
    return 0;
}

int chorusd_catalog_main(int argc, char **argv)
{
    enum { OPT_TSV = 256, OPT_JSON };
    static const struct option options[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"tsv", no_argument, NULL, OPT_TSV},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *data_opt = NULL;
    enum format fmt = FMT_TEXT;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_opt = optarg;
            break;
        case OPT_TSV:
            fmt = FMT_TSV;
            break;
        case OPT_JSON:
            fmt = FMT_JSON;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    char *query = NULL;
    if (optind < argc) {
        if (strcmp(argv[optind], "search") != 0 || optind + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        /* The words of QUERY, as one string. */
        size_t len = 1;
        for (int i = optind + 1; i < argc; i++)
            len += strlen(argv[i]) + 1;
        query = xcalloc(1, len);
        for (int i = optind + 1; i < argc; i++) {
            if (i > optind + 1)
                strcat(query, " ");
            strcat(query, argv[i]);
        }
    }
    char *data = chorusd_data_dir(data_opt, "catalog");
    if (!data) {
        free(query);
        return 1;
    }
    char *path = import_catalog_path(data);
    struct stat st;
    struct catalog *cat = NULL;
    int ret = 0;
    if (stat(path, &st) != 0) {
        fprintf(stderr,
                "chorusd catalog: no catalog at %s: %s (import music first: chorusd "
                "import)\n",
                path, strerror(errno));
        ret = -1;
    } else if ((ret = catalog_open(path, &cat)) < 0) {
        fprintf(stderr, "chorusd catalog: cannot open %s: %s\n", path, catalog_strerror(ret));
    } else {
        json_t *doc = NULL;
        ret = query ? search(cat, query, fmt, &doc) : list_all(cat, fmt, &doc);
        if (ret < 0) {
            fprintf(stderr, "chorusd catalog: %s (%s)\n", catalog_strerror(ret),
                    catalog_errmsg(cat));
        } else if (doc && (ret = json_write_line(stdout, doc, true)) < 0) {
            fprintf(stderr, "chorusd catalog: cannot write the JSON: %s\n", strerror(-ret));
        }
        json_decref(doc);
    }
    catalog_free(cat);
    free(path);
    free(data);
    free(query);
    return ret < 0 ? 1 : 0;
}
