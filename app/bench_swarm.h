/* bench_swarm: `chorus-bench swarm` — hundreds of real engines under the
 * workload Spotify measured, against the figures Kreitz & Niemelä
 * published (IEEE P2P 2010). The parts:
 *
 *   bench_swarm.c          the coordinator: options, the catalog
 *                          (bench_catalog.h), the service in this
 *                          process, the engine hosts, the phases, the
 *                          correctness checks, the report
 *   bench_swarm_host.c     `chorus-bench swarm-host`: a process running
 *                          a share of the engines, each driven by its
 *                          listener (bench_swarm_workload.c); it tells the
 *                          coordinator what happened as JSON lines
 *   bench_swarm_workload.c what each listener does, from --seed
 *   bench_swarm_fill.c     warm caches: an engine's cache and chorus.db
 *                          filled from the service's store before it starts
 *   bench_swarm_report.c   the figures, the table and the JSON
 *
 * This header holds what they share: the run's parameters and what was
 * measured. */
#ifndef CHORUS_APP_BENCH_SWARM_H
#define CHORUS_APP_BENCH_SWARM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/mq.h"

/* The published figures (real internet, 2010) the report sets beside ours. */
#define PAPER_LATENCY_P50_MS 265.0
#define PAPER_STUTTER_PCT    1.0 /* "under 1%" */
#define PAPER_SERVICE_PCT    8.8
#define PAPER_PEERS_PCT      35.8
#define PAPER_CACHE_PCT      55.4
#define PAPER_POPULAR_PCT    88.0 /* of plays, on the 12% most popular tracks */
#define PAPER_ALBUM_PCT      61.0 /* of plays, following album or playlist order */

enum swarm_scenario {
    SWARM_DEFAULT,
    SWARM_FLASH_CROWD,  /* everyone plays the same new album at once */
    SWARM_CHURN,        /* a third of the engines leave and rejoin */
    SWARM_SERVICE_DOWN, /* the service stops a quarter into the measured phase */
    SWARM_BAD_PEERS,    /* a tenth of the engines send corrupt chunks */
};

/* "default", "flash-crowd", ... (static). */
const char *swarm_scenario_name(enum swarm_scenario s);
/* false when name is none of them. */
bool swarm_scenario_parse(const char *name, enum swarm_scenario *out);

struct swarm_params {
    unsigned peers;    /* engines */
    unsigned tracks;   /* catalog size */
    double duration_s; /* the measured phase */
    enum swarm_scenario scenario;
    unsigned rtt_ms;    /* per link; 0 with rate_kbit 0: raw loopback */
    unsigned rate_kbit; /* each engine's access link, each way; 0: unlimited */
    uint64_t seed;
    unsigned speed;      /* audio played this many times real time (the bench output) */
    unsigned processes;  /* engine hosts */
    unsigned threadpool; /* libuv threads per host; 0: a quarter per engine, 4..128 */
    char output[32];     /* the engines' audio output: "bench" (one clock per process) */
};

/* One playback that ended during the measured phase (a host's record of
 * an engine's MQ_EV_PLAYBACK). */
struct swarm_play {
    unsigned engine;
    uint64_t track_id;
    enum mq_playback_end end;
    char reason[128];    /* MQ_PB_FAILED: why, as the engine says it */
    bool cache_hit;      /* whole file cached when opened */
    bool gapless;        /* followed the previous track: no latency to count */
    bool cold_miss;      /* not cached, and no online peer was found to hold it */
    bool popular;        /* a track of the popular 12% (bench_swarm_workload.h) */
    bool in_album_order; /* queued as the next of its album, not picked afresh */
    bool service_up;     /* the service was still running when it ended */
    int64_t latency_ms;  /* -1: never heard */
    int64_t played_ms;
    uint64_t underruns, underrun_ms;
    uint64_t bytes_cache, bytes_peers, bytes_service;
    uint32_t found_tracker, found_search, bad_chunks;
};

/* One engine over the measured phase (its host samples the snapshot). */
struct swarm_engine {
    unsigned index;
    bool bad;          /* bad-peers: it corrupts what it serves */
    bool crashed;      /* its engine stopped on its own, or its host died */
    unsigned restarts; /* churn: times it left and came back */
    double conns_mean; /* peer connections, mean of the samples */
    unsigned conns_max;
    double slots_mean;        /* upload slots in use, mean of the samples */
    unsigned slots_max;       /* of PEERS' 4 */
    uint64_t chunks_rejected; /* did not match their manifest */
    uint64_t peers_banned;    /* peers it cut off for that */
    uint64_t chunks_served, busy_replies, uploaded;
    uint64_t downloaded_peers, downloaded_service;
    uint64_t found_tracker, found_search;
    uint64_t corrupt_reads; /* chunks that failed the check on read (never played) */
    uint64_t evicted_files;
    unsigned linked_to_bad; /* at the end: connections to bad engines */
    bool reported;          /* its host sent its final record */
};

/* One engine host process. */
struct swarm_host {
    unsigned engines;
    double cpu_s; /* user + system over the whole run */
    uint64_t peak_rss_kb;
    int exit_status; /* as waitpid said: 0 clean */
    /* sampled at the end of the measured phase */
    unsigned fds, threads, threadpool; /* open files, threads, libuv's pool size */
};

struct swarm_run {
    struct swarm_params p;
    char date[32];    /* UTC, ISO 8601 */
    char link[96];    /* "emulated: 50 ms RTT, 4000 kbit/s each way" or "raw loopback" */
    double catalog_s; /* making the catalog (0: reused) */
    double warmup_s;
    uint64_t warmup_service_bytes;
    double measured_s;
    uint64_t service_bytes; /* chunk bytes the service sent in the measured phase */
    uint64_t service_lookups, service_announces;
    struct swarm_play *plays;
    size_t nplays;
    struct swarm_engine *engines;
    size_t nengines;
    struct swarm_host *hosts;
    size_t nhosts;
    char **failures; /* correctness checks that failed, one line each */
    size_t nfailures;
};

/* ---- bench_swarm_fill.c ---- */

struct bench_catalog;

/* Fills an engine's cache and chorus.db before its engine starts, as if it
 * had played the catalog tracks tracks[0..n) (indexes into cat->tracks,
 * oldest first; repeats allowed): every catalog track is known in
 * chorus.db (what `queue add --all` records: title, artist, album, number,
 * duration, file), and each filled track has its whole file in the cache
 * (manifest and chunks read from the service's store in cat->dir: nothing
 * goes over the network) and its manifest and key in chorus.db (so it
 * plays without the service), the most recent last in the cache's
 * eviction order. A track whose file would take the cache past cap_bytes
 * is left out of the cache (the fill goes on with smaller ones) but its
 * manifest and key are kept, as for a file played and evicted since.
 * Returns how many
 * distinct tracks are filled, or -1 after a message on stderr. Any
 * thread; one call per engine home at a time, never while its engine
 * runs. */
long swarm_fill(const struct bench_catalog *cat, const char *data_dir, const char *cache_dir,
                uint64_t cap_bytes, const size_t *tracks, size_t n);

/* ---- bench_swarm_report.c ---- */

/* The table on the terminal: parameters, our figures, the paper's beside
 * them, then the correctness checks. */
void swarm_report_print(FILE *out, const struct swarm_run *run);

/* The same as a JSON object (json_decref): "params", "playbacks",
 * "first_audio_ms" {all, cached, uncached: {n, p50, p75, p90, p99}},
 * "stutter_pct", "underrun_s", "share_pct" {bytes, playbacks: {cache,
 * peers, service}}, "cold_miss_floor_pct", "service_over_floor",
 * "service_egress_bytes", "discovery" {tracker, search},
 * "connections_per_engine", "upload_slots", "chunks_rejected",
 * "per_engine" {cpu_s, peak_rss_kb}, "paper", "failures", ... */
json_t *swarm_report_json(const struct swarm_run *run);

#endif
