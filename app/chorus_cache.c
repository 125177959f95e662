/* chorus cache: look after the chunk cache from the command line — what it
 * holds and how well it does (info), each file (list), a full check
 * (verify), emptying it (clear). Opens the cache like the player does (same
 * directory and cap from chorus.conf, overridable), so it refuses to run
 * while a player holds the cache. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chorus_commands.h"
#include "chorus_env.h"
#include "core/cache.h"
#include "base/log.h"
#include "base/paths.h"
#include "base/settings.h"
#include "base/xmalloc.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: chorus cache [--cache-dir DIR] [--size SIZE] [info|list|verify|clear]\n"
                 "\n"
                 "  info      usage, cap, files and hit rate (the default)\n"
                 "  list      every file, least recently played first\n"
                 "  verify    check every chunk against its manifest; drop the bad ones\n"
                 "  clear     remove every file\n"
                 "\n"
                 "  -d, --cache-dir DIR  the cache directory (default: cache.dir in chorus.conf,\n"
                 "                       else $XDG_CACHE_HOME/chorus)\n"
                 "  -s, --size SIZE      the cap, e.g. 500M or 2G; 0: 10%% of free space, at most\n"
                 "                       10 GB (default: cache.size). A lower cap evicts at once.\n"
                 "  -h, --help           this help\n"
                 "\n"
                 "See chorus(1), CACHE.\n");
}

static double percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_info(struct cache *c, bool default_cap)
{
    struct cache_stats st;
    cache_stats(c, &st);
    char a[32], b[32], d[32], e[32];
    printf("Directory:  %s\n", cache_dir(c));
    printf("Cap:        %s%s\n", cache_format_size(st.cap_bytes, a, sizeof(a)),
           default_cap ? " (default: 10% of free space, at most 10 GB)" : "");
    printf("Usage:      %s (%.1f%% of the cap)\n", cache_format_size(st.used_bytes, a, sizeof(a)),
           percent(st.used_bytes, st.cap_bytes));
    printf("Files:      %u (%u complete)\n", st.files, st.complete_files);
    uint64_t plays = st.play_hits + st.play_misses;
    uint64_t asked = st.hit_bytes + st.miss_bytes;
    printf("Hit rate:   %.1f%% of playbacks (%llu of %llu), %.1f%% of bytes played\n",
           percent(st.play_hits, plays), (unsigned long long)st.play_hits,
           (unsigned long long)plays, percent(st.hit_bytes, asked));
    printf("Bytes:      %s played from the cache; stored %s from peers, %s from the service;"
           " %s served to peers\n",
           cache_format_size(st.bytes[CACHE_SRC_CACHE], a, sizeof(a)),
           cache_format_size(st.bytes[CACHE_SRC_PEER], b, sizeof(b)),
           cache_format_size(st.bytes[CACHE_SRC_SERVICE], d, sizeof(d)),
           cache_format_size(st.served_bytes, e, sizeof(e)));
    printf("Evicted:    %llu files (%s); corrupt chunks dropped: %llu; full disk: %llu times\n",
           (unsigned long long)st.evicted_files, cache_format_size(st.evicted_bytes, a, sizeof(a)),
           (unsigned long long)st.corrupt_chunks, (unsigned long long)st.enospc);
}

static void print_list(struct cache *c)
{
    struct cache_file_info *v;
    size_t n = cache_list_files(c, &v);
    printf("%-64s  %10s  %7s  %s\n", "FILE", "SIZE", "CACHED", "LAST PLAYED (UTC)");
    for (size_t i = 0; i < n; i++) {
        char hex[CONTENT_ID_HEX_LEN + 1], size[32], when[32] = "-";
        content_id_to_hex(&v[i].id, hex);
        time_t t = (time_t)(v[i].last_played_ms / 1000);
        struct tm tm;
        if (v[i].last_played_ms > 0 && gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s  %10s  %6.1f%%  %s\n", hex,
               cache_format_size(v[i].file_size, size, sizeof(size)),
               percent(v[i].chunks_present, v[i].chunk_count), when);
    }
    free(v);
}

int chorus_cache_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"cache-dir", required_argument, NULL, 'd'},
        {"size", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *dir_opt = NULL, *size_opt = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "d:s:h", options, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir_opt = optarg;
            break;
        case 's':
            size_opt = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    const char *action = optind < argc ? argv[optind] : "info";
    if (optind + 1 < argc) {
        fprintf(stderr, "chorus cache: one action at a time ('%s' is extra)\n", argv[optind + 1]);
        usage(stderr);
        return 2;
    }
    if (strcmp(action, "info") != 0 && strcmp(action, "list") != 0 &&
        strcmp(action, "verify") != 0 && strcmp(action, "clear") != 0) {
        fprintf(stderr, "chorus cache: unknown action '%s'\n", action);
        usage(stderr);
        return 2;
    }

    struct chorus_env env;
    int status = chorus_env_open(&env, "cache");
    struct cache *c = NULL;
    if (status == 0 && size_opt) {
        char *opt = xasprintf("cache.size=%s", size_opt);
        status = chorus_env_set(&env, "cache", opt);
        free(opt);
    }
    if (status != 0)
        goto out;
    status = 1;
    const struct chorus_settings *s = &env.settings;
    const char *dir = dir_opt        ? dir_opt
                      : s->cache_dir ? s->cache_dir
                                     : paths_dir(env.paths, PATHS_CACHE);
    struct cache_config cfg = {.dir = dir, .cap_bytes = s->cache_size, .log = env.log};
    int err = cache_open(&cfg, &c);
    if (err) {
        fprintf(stderr, "chorus cache: %s: %s%s\n", dir, cache_strerror(err),
                err == CACHE_ELOCKED ? " (is chorus running?)" : "");
        goto out;
    }

    char a[32], b[32];
    if (strcmp(action, "info") == 0) {
        print_info(c, s->cache_size == 0);
    } else if (strcmp(action, "list") == 0) {
        print_list(c);
    } else if (strcmp(action, "verify") == 0) {
        struct cache_verify_report rep;
        if ((err = cache_verify(c, &rep)) != 0) {
            fprintf(stderr, "chorus cache: verify: %s\n", cache_strerror(err));
            goto out;
        }
        printf("Checked %llu chunks (%s) in %u files: %llu bad%s\n",
               (unsigned long long)(rep.chunks + rep.bad_chunks),
               cache_format_size(rep.bytes, a, sizeof(a)), rep.files,
               (unsigned long long)rep.bad_chunks,
               rep.bad_chunks ? ", dropped (they will be fetched again when needed)" : "");
    } else {
        struct cache_stats before, after;
        cache_stats(c, &before);
        uint32_t n = 0;
        if ((err = cache_clear(c, &n)) != 0) {
            fprintf(stderr, "chorus cache: clear: %s\n", cache_strerror(err));
            goto out;
        }
        cache_stats(c, &after);
        printf("Removed %u files (%s); %s left\n", n,
               cache_format_size(before.used_bytes - after.used_bytes, a, sizeof(a)),
               cache_format_size(after.used_bytes, b, sizeof(b)));
    }
    status = 0;
out:
    cache_free(c);
    chorus_env_close(&env);
    return status;
}
