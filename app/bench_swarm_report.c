/* bench_swarm_report: the figures of `chorus-bench swarm`, as a table on
 * the terminal and as JSON (app/bench_swarm.h). It owns their definitions:
 * the figures are computed once from a struct swarm_run into a struct
 * swarm_figures, then formatted twice; nothing here measures, and nothing
 * here decides whether the run passed (run->failures says that). Runs on
 * the coordinator's thread, after the run; pure apart from the FILE.
 *
 * Definitions (the README quotes them). "Plays" are the records of
 * run->plays: every playback that ended during the measured phase, however
 * it ended. A figure that has nothing to be computed over is absent: "-" in
 * the table, null in the JSON (never NaN).
 *
 *   playbacks         plays, by end: played (to its end), stopped (by the
 *                     listener: skip, stop, seek away), failed; the failed
 *                     grouped by reason (the engine's words; "" counts as
 *                     "(none given)"), the SWARM_TOP_REASONS most frequent
 *                     (ties by name) with their counts, the rest summed.
 *                     "heard": plays with latency_ms >= 0 or gapless, and
 *                     played_ms > 0. popular_pct / album_order_pct: plays
 *                     of the popular 12% of tracks / queued as the next of
 *                     their album, of all plays (the paper's 88% and 61%:
 *                     the workload as it came out).
 *   first_audio_ms    p50, p75, p90, p99 of latency_ms over the plays with
 *                     latency_ms >= 0 and not gapless, whatever their end:
 *                     all of them, the cached ones (cache_hit) and the
 *                     uncached ones apart, each with its n. Nearest rank:
 *                     pP is the value of rank ceil(P/100 * n) in ascending
 *                     order (rank 1 at least), a latency that was measured.
 *   stutter_pct       heard plays with underruns > 0 / heard plays * 100.
 *   underrun_s        underrun_ms summed over all plays / 1000.
 *   share_pct.bytes   bytes_cache, bytes_peers, bytes_service summed over
 *                     all plays, each / their sum * 100 ("played bytes":
 *                     bytes heard, by where each chunk came from).
 *   share_pct.playbacks  each play with any byte counted once for the
 *                     source of most of its bytes (a tie goes to the first
 *                     of cache, peers, service) / plays with any byte * 100.
 *   cold_miss_floor_pct  played bytes of the cold_miss plays / all played
 *                     bytes * 100: what the service had to send (DESIGN §5).
 *   service_over_floor   share_pct.bytes.service / cold_miss_floor_pct;
 *                     absent when the floor is 0. Aim: under 1.1.
 *   cold_miss_plays_pct  cold_miss plays / plays * 100.
 *   service_egress_bytes run->service_bytes (chunk bytes the service sent
 *                     in the measured phase); per played byte: that / all
 *                     played bytes (it includes what engines fetched ahead
 *                     or never played). The warm-up's apart: warmup_s,
 *                     warmup_service_bytes.
 *   discovery         found: found_tracker and found_search summed over the
 *                     engines; uncached_plays_pct: of the plays that were
 *                     not cache_hit, the % whose found_tracker (resp.
 *                     found_search) is > 0.
 *   connections_per_engine  mean of the engines' conns_mean; max of their
 *                     conns_max.
 *   upload_slots      mean of the engines' slots_mean, max of slots_max, of
 *                     PEERS_UPLOAD_SLOTS.
 *   chunks_rejected, peers_banned, corrupt_reads, evicted_files,
 *   linked_to_bad, restarts   sums over the engines; engines_crashed: how
 *                     many are marked crashed.
 *   per_engine        cpu_s: the hosts' cpu_s summed / the hosts' engines
 *                     summed; cpu_pct: that / (warmup_s + measured_s) * 100,
 *                     the share of one core each engine used; peak_rss_kb:
 *                     the hosts' peak_rss_kb summed / their engines (a
 *                     host's own overhead is spread over its engines);
 *                     open_files, threads: the hosts' at the end of the
 *                     measured phase / their engines.
 *   hosts             each host's engines, cpu_s, peak_rss_kb, exit_status
 *                     (waitpid's; 0 clean).
 *   paper             Kreitz & Niemelä 2010: first_audio_ms p50 265, stutter
 *                     under 1 %, played bytes 55.4 % cache, 35.8 % peers,
 *                     8.8 % service; no other figure has a counterpart.
 *   failures          run->failures, the correctness checks that failed.
 *
 * The JSON, in this order (percentages as reals in 0..100, counts and
 * bytes as integers, absent figures null): params {peers, tracks,
 * duration_s, scenario, rtt_ms, rate_kbit, link, seed, speed, processes,
 * date}, phases {catalog_s, warmup_s, measured_s}, playbacks {total,
 * played, stopped, failed, heard, failed_reasons [{reason, count}],
 * failed_other}, first_audio_ms {all, cached, uncached: {n, p50, p75, p90,
 * p99}}, stutter_pct, underrun_s, played_bytes, share_pct {bytes,
 * playbacks: {cache, peers, service}}, cold_miss_floor_pct,
 * service_over_floor, cold_miss_plays_pct, service_egress_bytes,
 * service_egress_per_played_byte, warmup {s, service_bytes},
 * service_requests {lookups, announces}, discovery {tracker, search:
 * {found, uncached_plays_pct}, uncached_plays}, connections_per_engine
 * {mean, max}, upload_slots {mean, max, of}, chunks_rejected, peers_banned,
 * corrupt_reads, evicted_files, linked_to_bad, restarts, engines_crashed,
 * per_engine {cpu_s, cpu_pct, peak_rss_kb}, hosts [{engines, cpu_s,
 * peak_rss_kb, exit_status}], paper {first_audio_ms_p50, stutter_pct_under,
 * share_pct_bytes {cache, peers, service}}, failures [line].
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench_swarm.h"
#include "base/json.h"
#include "base/xmalloc.h"
#include "core/peers.h"

#define SWARM_TOP_REASONS 5
#define MIB               (1024.0 * 1024.0)
/* The table's columns: label, ours, the paper's; 100 in all. */
#define COL_LABEL 40
#define COL_OURS  38
#define CELL_MAX  192 /* room for a reason and a few cells; row() cuts to the columns */

/* ---- scenarios ---- */

static const char *const scenario_names[] = {
    [SWARM_DEFAULT] = "default",     [SWARM_FLASH_CROWD] = "flash-crowd",
    [SWARM_CHURN] = "churn",         [SWARM_SERVICE_DOWN] = "service-down",
    [SWARM_BAD_PEERS] = "bad-peers",
};
#define NSCENARIOS (sizeof(scenario_names) / sizeof(scenario_names[0]))

const char *swarm_scenario_name(enum swarm_scenario s)
{
    if ((size_t)s >= NSCENARIOS)
        return "?";
    return scenario_names[s];
}

bool swarm_scenario_parse(const char *name, enum swarm_scenario *out)
{
    for (size_t i = 0; name && i < NSCENARIOS; i++) {
        if (strcmp(name, scenario_names[i]) == 0) {
            *out = (enum swarm_scenario)i;
            return true;
        }
    }
    return false;
}

/* ---- the figures ---- */

struct latency {
    size_t n;
    int64_t p50, p75, p90, p99; /* meaningful when n > 0 */
};

struct shares {
    double cache, peers, service; /* % */
};

struct reason_count {
    const char *reason; /* borrowed from the run */
    size_t count;
};

/* Everything either format shows, computed once (compute_figures). An
 * absent figure is NAN here and nowhere else: the formatters turn it into
 * "-" and null. */
struct swarm_figures {
    size_t plays, played, stopped, failed, heard;
    double popular_pct, album_order_pct; /* the workload as it came out */
    struct reason_count reasons[SWARM_TOP_REASONS];
    size_t nreasons, failed_other;
    struct latency lat_all, lat_cached, lat_uncached;
    size_t stuttered;
    double stutter_pct, underrun_s;
    uint64_t played_bytes;
    size_t plays_with_bytes;
    struct shares byte_share, play_share;
    size_t cold_miss_plays;
    double cold_miss_floor_pct, service_over_floor, cold_miss_plays_pct;
    double service_per_played_byte;
    uint64_t found_tracker, found_search;
    size_t uncached_plays;
    double tracker_hit_pct, search_hit_pct;
    double conns_mean, slots_mean;
    unsigned conns_max, slots_max;
    uint64_t chunks_rejected, peers_banned, corrupt_reads, evicted_files;
    uint64_t linked_to_bad, restarts;
    size_t crashed;
    unsigned host_engines;
    size_t hosts_unclean;
    double cpu_s_per_engine, cpu_pct_per_engine, peak_rss_kb_per_engine;
    double fds_per_engine, threads_per_engine; /* the hosts' at the end / their engines */
};

/* part / whole * 100, absent when whole is 0. */
static double pct(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : NAN;
}

/* num / den, absent when den is 0 or absent. */
static double ratio(double num, double den)
{
    return den > 0 ? num / den : NAN;
}

static uint64_t play_bytes(const struct swarm_play *p)
{
    return p->bytes_cache + p->bytes_peers + p->bytes_service;
}

static bool play_heard(const struct swarm_play *p)
{
    return (p->latency_ms >= 0 || p->gapless) && p->played_ms > 0;
}

static bool play_has_latency(const struct swarm_play *p)
{
    return p->latency_ms >= 0 && !p->gapless;
}

static void count_ends(const struct swarm_run *run, struct swarm_figures *f)
{
    f->plays = run->nplays;
    for (size_t i = 0; i < run->nplays; i++) {
        const struct swarm_play *p = &run->plays[i];
        f->played += p->end == MQ_PB_PLAYED;
        f->stopped += p->end == MQ_PB_STOPPED;
        f->failed += p->end == MQ_PB_FAILED;
    }
}

static const char *reason_of(const struct swarm_play *p)
{
    return p->reason[0] ? p->reason : "(none given)";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_reason_count(const void *a, const void *b)
{
    const struct reason_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

/* The failed plays' reasons, most frequent first; the top ones kept. */
static void group_failures(const struct swarm_run *run, struct swarm_figures *f)
{
    if (f->failed == 0)
        return;
    const char **names = xmalloc(f->failed * sizeof(*names));
    size_t n = 0;
    for (size_t i = 0; i < run->nplays; i++)
        if (run->plays[i].end == MQ_PB_FAILED)
            names[n++] = reason_of(&run->plays[i]);
    qsort(names, n, sizeof(*names), cmp_str);

    struct reason_count *groups = xmalloc(n * sizeof(*groups));
    size_t ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        if (ngroups > 0 && strcmp(groups[ngroups - 1].reason, names[i]) == 0)
            groups[ngroups - 1].count++;
        else
            groups[ngroups++] = (struct reason_count){names[i], 1};
    }
    qsort(groups, ngroups, sizeof(*groups), cmp_reason_count);

    f->nreasons = ngroups < SWARM_TOP_REASONS ? ngroups : SWARM_TOP_REASONS;
    f->failed_other = f->failed;
    for (size_t i = 0; i < f->nreasons; i++) {
        f->reasons[i] = groups[i];
        f->failed_other -= groups[i].count;
    }
    free(groups);
    free(names);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the value of rank ceil(p/100 * n) in sorted[0..n), n > 0. */
static int64_t nearest_rank(const int64_t *sorted, size_t n, unsigned p)
{
    size_t rank = (p * n + 99) / 100;
    return sorted[rank > 0 ? rank - 1 : 0];
}

enum latency_set { LAT_ALL, LAT_CACHED, LAT_UNCACHED };

static bool in_latency_set(const struct swarm_play *p, enum latency_set set)
{
    if (!play_has_latency(p))
        return false;
    return set == LAT_ALL || p->cache_hit == (set == LAT_CACHED);
}

static struct latency latency_percentiles(const struct swarm_run *run, enum latency_set set)
{
    struct latency l = {0};
    int64_t *v = xmalloc((run->nplays + 1) * sizeof(*v));
    for (size_t i = 0; i < run->nplays; i++)
        if (in_latency_set(&run->plays[i], set))
            v[l.n++] = run->plays[i].latency_ms;
    if (l.n > 0) {
        qsort(v, l.n, sizeof(*v), cmp_i64);
        l.p50 = nearest_rank(v, l.n, 50);
        l.p75 = nearest_rank(v, l.n, 75);
        l.p90 = nearest_rank(v, l.n, 90);
        l.p99 = nearest_rank(v, l.n, 99);
    }
    free(v);
    return l;
}

static void compute_stutter(const struct swarm_run *run, struct swarm_figures *f)
{
    uint64_t underrun_ms = 0;
    for (size_t i = 0; i < run->nplays; i++) {
        const struct swarm_play *p = &run->plays[i];
        underrun_ms += p->underrun_ms;
        if (!play_heard(p))
            continue;
        f->heard++;
        f->stuttered += p->underruns > 0;
    }
    f->stutter_pct = pct((double)f->stuttered, (double)f->heard);
    f->underrun_s = (double)underrun_ms / 1000.0;
}

static struct shares shares_of(double cache, double peers, double service)
{
    double sum = cache + peers + service;
    return (struct shares){pct(cache, sum), pct(peers, sum), pct(service, sum)};
}

enum source { SRC_CACHE, SRC_PEERS, SRC_SERVICE };

/* Where most of a play's bytes came from; a tie goes to the first. */
static enum source main_source(const struct swarm_play *p)
{
    if (p->bytes_cache >= p->bytes_peers && p->bytes_cache >= p->bytes_service)
        return SRC_CACHE;
    return p->bytes_peers >= p->bytes_service ? SRC_PEERS : SRC_SERVICE;
}

static void compute_shares(const struct swarm_run *run, struct swarm_figures *f)
{
    uint64_t bytes[3] = {0}, cold_bytes = 0;
    size_t plays[3] = {0};
    for (size_t i = 0; i < run->nplays; i++) {
        const struct swarm_play *p = &run->plays[i];
        bytes[SRC_CACHE] += p->bytes_cache;
        bytes[SRC_PEERS] += p->bytes_peers;
        bytes[SRC_SERVICE] += p->bytes_service;
        if (p->cold_miss) {
            f->cold_miss_plays++;
            cold_bytes += play_bytes(p);
        }
        if (play_bytes(p) > 0) {
            f->plays_with_bytes++;
            plays[main_source(p)]++;
        }
    }
    f->played_bytes = bytes[SRC_CACHE] + bytes[SRC_PEERS] + bytes[SRC_SERVICE];
    f->byte_share =
        shares_of((double)bytes[SRC_CACHE], (double)bytes[SRC_PEERS], (double)bytes[SRC_SERVICE]);
    f->play_share =
        shares_of((double)plays[SRC_CACHE], (double)plays[SRC_PEERS], (double)plays[SRC_SERVICE]);
    f->cold_miss_floor_pct = pct((double)cold_bytes, (double)f->played_bytes);
    f->service_over_floor = ratio(f->byte_share.service, f->cold_miss_floor_pct);
    f->cold_miss_plays_pct = pct((double)f->cold_miss_plays, (double)f->plays);
    f->service_per_played_byte = ratio((double)run->service_bytes, (double)f->played_bytes);
}

static void compute_discovery(const struct swarm_run *run, struct swarm_figures *f)
{
    size_t by_tracker = 0, by_search = 0;
    for (size_t i = 0; i < run->nengines; i++) {
        f->found_tracker += run->engines[i].found_tracker;
        f->found_search += run->engines[i].found_search;
    }
    for (size_t i = 0; i < run->nplays; i++) {
        const struct swarm_play *p = &run->plays[i];
        if (p->cache_hit)
            continue;
        f->uncached_plays++;
        by_tracker += p->found_tracker > 0;
        by_search += p->found_search > 0;
    }
    f->tracker_hit_pct = pct((double)by_tracker, (double)f->uncached_plays);
    f->search_hit_pct = pct((double)by_search, (double)f->uncached_plays);
}

static void compute_engines(const struct swarm_run *run, struct swarm_figures *f)
{
    double conns = 0, slots = 0;
    for (size_t i = 0; i < run->nengines; i++) {
        const struct swarm_engine *e = &run->engines[i];
        conns += e->conns_mean;
        slots += e->slots_mean;
        if (e->conns_max > f->conns_max)
            f->conns_max = e->conns_max;
        if (e->slots_max > f->slots_max)
            f->slots_max = e->slots_max;
        f->chunks_rejected += e->chunks_rejected;
        f->peers_banned += e->peers_banned;
        f->corrupt_reads += e->corrupt_reads;
        f->evicted_files += e->evicted_files;
        f->linked_to_bad += e->linked_to_bad;
        f->restarts += e->restarts;
        f->crashed += e->crashed;
    }
    f->conns_mean = ratio(conns, (double)run->nengines);
    f->slots_mean = ratio(slots, (double)run->nengines);
}

static void compute_hosts(const struct swarm_run *run, struct swarm_figures *f)
{
    double cpu_s = 0, rss_kb = 0, fds = 0, threads = 0;
    for (size_t i = 0; i < run->nhosts; i++) {
        const struct swarm_host *h = &run->hosts[i];
        fds += h->fds;
        threads += h->threads;
        f->host_engines += h->engines;
        cpu_s += h->cpu_s;
        rss_kb += (double)h->peak_rss_kb;
        f->hosts_unclean += h->exit_status != 0;
    }
    f->cpu_s_per_engine = ratio(cpu_s, f->host_engines);
    f->cpu_pct_per_engine = pct(f->cpu_s_per_engine, run->warmup_s + run->measured_s);
    f->peak_rss_kb_per_engine = ratio(rss_kb, f->host_engines);
    f->fds_per_engine = ratio(fds, f->host_engines);
    f->threads_per_engine = ratio(threads, f->host_engines);
}

/* The workload as played: plays of the popular tracks and plays in album
 * order, of all plays (the paper's 88% and ~61%). */
static void compute_workload(const struct swarm_run *run, struct swarm_figures *f)
{
    size_t popular = 0, in_order = 0;
    for (size_t i = 0; i < run->nplays; i++) {
        popular += run->plays[i].popular;
        in_order += run->plays[i].in_album_order;
    }
    f->popular_pct = pct((double)popular, (double)run->nplays);
    f->album_order_pct = pct((double)in_order, (double)run->nplays);
}

static void compute_figures(const struct swarm_run *run, struct swarm_figures *f)
{
    *f = (struct swarm_figures){0};
    count_ends(run, f);
    compute_workload(run, f);
    group_failures(run, f);
    f->lat_all = latency_percentiles(run, LAT_ALL);
    f->lat_cached = latency_percentiles(run, LAT_CACHED);
    f->lat_uncached = latency_percentiles(run, LAT_UNCACHED);
    compute_stutter(run, f);
    compute_shares(run, f);
    compute_discovery(run, f);
    compute_engines(run, f);
    compute_hosts(run, f);
}

/* ---- the table ---- */

/* One number as the table shows it. */
struct cell {
    char s[32];
};

/* x with decimals and a unit, or "-" when absent. */
static struct cell num(double x, int decimals, const char *unit)
{
    struct cell c;
    if (isnan(x))
        snprintf(c.s, sizeof(c.s), "-");
    else
        snprintf(c.s, sizeof(c.s), "%.*f%s", decimals, x, unit);
    return c;
}

static struct cell mib(uint64_t bytes)
{
    return num((double)bytes / MIB, 1, " MiB");
}

static void row(FILE *out, const char *label, const char *ours, const char *paper)
{
    fprintf(out, "%-*.*s %-*.*s %s\n", COL_LABEL, COL_LABEL, label, COL_OURS, COL_OURS, ours,
            paper ? paper : "-");
}

static void heading(FILE *out, const char *label)
{
    fprintf(out, "%s\n", label);
}

static void print_params(FILE *out, const struct swarm_run *run)
{
    const struct swarm_params *p = &run->p;
    fprintf(out, "chorus-bench swarm, %s\n", run->date);
    fprintf(out, "peers %u  tracks %u  duration %.0f s  scenario %s  processes %u\n", p->peers,
            p->tracks, p->duration_s, swarm_scenario_name(p->scenario), p->processes);
    fprintf(out, "link: %s\n", run->link);
    fprintf(out,
            "seed %" PRIu64 "  speed %ux  output %s  catalog %.1f s  warm-up %.1f s  "
            "measured %.1f s\n",
            p->seed, p->speed, p->output, run->catalog_s, run->warmup_s, run->measured_s);
    fprintf(out, "\n%-*s %-*s %s\n", COL_LABEL, "", COL_OURS, "ours", "Spotify 2010");
}

static void print_playbacks(FILE *out, const struct swarm_figures *f)
{
    char s[CELL_MAX], label[CELL_MAX];
    snprintf(s, sizeof(s), "%zu", f->plays);
    row(out, "playbacks", s, NULL);
    snprintf(s, sizeof(s), "%zu / %zu / %zu", f->played, f->stopped, f->failed);
    row(out, "  played / stopped / failed", s, NULL);
    for (size_t i = 0; i < f->nreasons; i++) {
        snprintf(label, sizeof(label), "    %s", f->reasons[i].reason);
        snprintf(s, sizeof(s), "%zu", f->reasons[i].count);
        row(out, label, s, NULL);
    }
    if (f->failed_other > 0) {
        snprintf(s, sizeof(s), "%zu", f->failed_other);
        row(out, "    other reasons", s, NULL);
    }
    row(out, "  of the popular 12% of tracks", num(f->popular_pct, 1, " %").s,
        num(PAPER_POPULAR_PCT, 0, " %").s);
    row(out, "  in album order", num(f->album_order_pct, 1, " %").s,
        num(PAPER_ALBUM_PCT, 0, " %").s);
}

static void print_latency_row(FILE *out, const char *name, const struct latency *l,
                              const char *paper)
{
    char s[CELL_MAX], label[CELL_MAX];
    snprintf(label, sizeof(label), "  %s (n %zu)", name, l->n);
    if (l->n > 0)
        snprintf(s, sizeof(s), "%" PRId64 " / %" PRId64 " / %" PRId64 " / %" PRId64, l->p50, l->p75,
                 l->p90, l->p99);
    else
        snprintf(s, sizeof(s), "-");
    row(out, label, s, paper);
}

static void print_latency(FILE *out, const struct swarm_figures *f)
{
    char paper[32];
    snprintf(paper, sizeof(paper), "%.0f (p50)", PAPER_LATENCY_P50_MS);
    heading(out, "first audio, ms: p50 / p75 / p90 / p99");
    print_latency_row(out, "all", &f->lat_all, paper);
    print_latency_row(out, "cached", &f->lat_cached, NULL);
    print_latency_row(out, "uncached", &f->lat_uncached, NULL);
}

static void print_stutter(FILE *out, const struct swarm_figures *f)
{
    char label[CELL_MAX], paper[32];
    snprintf(label, sizeof(label), "stutter (%% of %zu heard)", f->heard);
    snprintf(paper, sizeof(paper), "< %.0f %%", PAPER_STUTTER_PCT);
    row(out, label, num(f->stutter_pct, 2, " %").s, paper);
    row(out, "underrun", num(f->underrun_s, 1, " s").s, NULL);
}

static void print_share_rows(FILE *out, const struct shares *s, bool with_paper)
{
    struct cell paper[3] = {num(PAPER_CACHE_PCT, 1, " %"), num(PAPER_PEERS_PCT, 1, " %"),
                            num(PAPER_SERVICE_PCT, 1, " %")};
    row(out, "  cache", num(s->cache, 1, " %").s, with_paper ? paper[0].s : NULL);
    row(out, "  peers", num(s->peers, 1, " %").s, with_paper ? paper[1].s : NULL);
    row(out, "  service", num(s->service, 1, " %").s, with_paper ? paper[2].s : NULL);
}

static void print_shares(FILE *out, const struct swarm_figures *f)
{
    char label[CELL_MAX];
    snprintf(label, sizeof(label), "played bytes, from (%s)", mib(f->played_bytes).s);
    heading(out, label);
    print_share_rows(out, &f->byte_share, true);
    snprintf(label, sizeof(label), "playbacks, mostly from (%zu)", f->plays_with_bytes);
    heading(out, label);
    print_share_rows(out, &f->play_share, false);
}

static void print_floor(FILE *out, const struct swarm_figures *f)
{
    char label[CELL_MAX];
    row(out, "cold-miss floor, % of played bytes", num(f->cold_miss_floor_pct, 1, " %").s, NULL);
    row(out, "service share / floor", num(f->service_over_floor, 2, "").s, NULL);
    snprintf(label, sizeof(label), "cold-miss playbacks (%zu)", f->cold_miss_plays);
    row(out, label, num(f->cold_miss_plays_pct, 1, " %").s, NULL);
}

static void print_service(FILE *out, const struct swarm_run *run, const struct swarm_figures *f)
{
    char s[CELL_MAX];
    snprintf(s, sizeof(s), "%s, %s per played byte", mib(run->service_bytes).s,
             num(f->service_per_played_byte, 3, "").s);
    row(out, "service egress", s, NULL);
    snprintf(s, sizeof(s), "%s in %.1f s", mib(run->warmup_service_bytes).s, run->warmup_s);
    row(out, "  in the warm-up, apart", s, NULL);
    snprintf(s, sizeof(s), "%" PRIu64 " / %" PRIu64, run->service_lookups, run->service_announces);
    row(out, "  lookups / announces", s, NULL);
}

static void print_discovery(FILE *out, const struct swarm_figures *f)
{
    char s[CELL_MAX], label[CELL_MAX];
    snprintf(s, sizeof(s), "%" PRIu64 " / %" PRIu64, f->found_tracker, f->found_search);
    row(out, "holders found: tracker / search", s, NULL);
    snprintf(label, sizeof(label), "  uncached plays finding one (%zu)", f->uncached_plays);
    snprintf(s, sizeof(s), "%s / %s", num(f->tracker_hit_pct, 1, " %").s,
             num(f->search_hit_pct, 1, " %").s);
    row(out, label, s, NULL);
}

static void print_engines(FILE *out, const struct swarm_figures *f)
{
    char s[CELL_MAX], label[CELL_MAX];
    snprintf(s, sizeof(s), "%s, max %u", num(f->conns_mean, 1, "").s, f->conns_max);
    row(out, "connections per engine: mean", s, NULL);
    snprintf(label, sizeof(label), "upload slots in use (of %u): mean", PEERS_UPLOAD_SLOTS);
    snprintf(s, sizeof(s), "%s, max %u", num(f->slots_mean, 2, "").s, f->slots_max);
    row(out, label, s, NULL);
    snprintf(s, sizeof(s), "%" PRIu64 " / %" PRIu64, f->chunks_rejected, f->peers_banned);
    row(out, "chunks rejected / peers banned", s, NULL);
    snprintf(s, sizeof(s), "%" PRIu64 " / %" PRIu64, f->corrupt_reads, f->evicted_files);
    row(out, "corrupt reads / files evicted", s, NULL);
    snprintf(s, sizeof(s), "%" PRIu64, f->linked_to_bad);
    row(out, "links to bad engines at the end", s, NULL);
    snprintf(s, sizeof(s), "%" PRIu64 " / %zu", f->restarts, f->crashed);
    row(out, "engine restarts / crashed", s, NULL);
}

/* waitpid's status in words. */
static struct cell exit_words(int status)
{
    struct cell c;
    if (WIFEXITED(status))
        snprintf(c.s, sizeof(c.s), "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(c.s, sizeof(c.s), "killed by signal %d", WTERMSIG(status));
    else
        snprintf(c.s, sizeof(c.s), "status %d", status);
    return c;
}

static void print_hosts(FILE *out, const struct swarm_run *run, const struct swarm_figures *f)
{
    char s[CELL_MAX], label[CELL_MAX];
    row(out, "CPU per engine, % of a core", num(f->cpu_pct_per_engine, 2, " %").s, NULL);
    row(out, "peak RSS per engine", num(f->peak_rss_kb_per_engine / 1024.0, 1, " MiB").s, NULL);
    row(out, "open files per engine", num(f->fds_per_engine, 1, "").s, NULL);
    row(out, "threads per engine", num(f->threads_per_engine, 1, "").s, NULL);
    if (f->hosts_unclean > 0)
        snprintf(s, sizeof(s), "%zu, %zu not clean", run->nhosts, f->hosts_unclean);
    else
        snprintf(s, sizeof(s), "%zu, all exited 0", run->nhosts);
    row(out, "engine hosts", s, NULL);
    for (size_t i = 0; i < run->nhosts; i++) {
        if (run->hosts[i].exit_status == 0)
            continue;
        snprintf(label, sizeof(label), "  host %zu", i);
        row(out, label, exit_words(run->hosts[i].exit_status).s, NULL);
    }
}

static void print_failures(FILE *out, const struct swarm_run *run)
{
    fprintf(out, "\ncorrectness checks\n");
    if (run->nfailures == 0)
        fprintf(out, "  all passed\n");
    for (size_t i = 0; i < run->nfailures; i++)
        fprintf(out, "  FAILED: %s\n", run->failures[i]);
}

void swarm_report_print(FILE *out, const struct swarm_run *run)
{
    struct swarm_figures f;
    compute_figures(run, &f);
    print_params(out, run);
    print_playbacks(out, &f);
    print_latency(out, &f);
    print_stutter(out, &f);
    print_shares(out, &f);
    print_floor(out, &f);
    print_service(out, run, &f);
    print_discovery(out, &f);
    print_engines(out, &f);
    print_hosts(out, run, &f);
    print_failures(out, run);
}

/* ---- the JSON ---- */

/* x, or null when absent. */
static json_t *jnum(double x)
{
    return json_must(isnan(x) ? json_null() : json_real(x));
}

static json_t *jint(uint64_t x)
{
    return json_must(json_integer((json_int_t)x));
}

static void put(json_t *obj, const char *key, json_t *value)
{
    if (json_object_set_new(obj, key, value) != 0)
        abort();
}

static json_t *jobj(void)
{
    return json_must(json_object());
}

static json_t *jarr(void)
{
    return json_must(json_array());
}

static void push(json_t *arr, json_t *value)
{
    if (json_array_append_new(arr, value) != 0)
        abort();
}

static json_t *json_params(const struct swarm_run *run)
{
    const struct swarm_params *p = &run->p;
    json_t *j = jobj();
    put(j, "peers", jint(p->peers));
    put(j, "tracks", jint(p->tracks));
    put(j, "duration_s", jnum(p->duration_s));
    put(j, "scenario", json_text0(swarm_scenario_name(p->scenario)));
    put(j, "rtt_ms", jint(p->rtt_ms));
    put(j, "rate_kbit", jint(p->rate_kbit));
    put(j, "link", json_text0(run->link));
    put(j, "seed", jint(p->seed));
    put(j, "speed", jint(p->speed));
    put(j, "output", json_must(json_string(p->output)));
    put(j, "threadpool", jint(p->threadpool));
    put(j, "processes", jint(p->processes));
    put(j, "date", json_text0(run->date));
    return j;
}

static json_t *json_phases(const struct swarm_run *run)
{
    json_t *j = jobj();
    put(j, "catalog_s", jnum(run->catalog_s));
    put(j, "warmup_s", jnum(run->warmup_s));
    put(j, "measured_s", jnum(run->measured_s));
    return j;
}

static json_t *json_playbacks(const struct swarm_figures *f)
{
    json_t *j = jobj(), *reasons = jarr();
    put(j, "total", jint(f->plays));
    put(j, "played", jint(f->played));
    put(j, "stopped", jint(f->stopped));
    put(j, "failed", jint(f->failed));
    put(j, "heard", jint(f->heard));
    for (size_t i = 0; i < f->nreasons; i++) {
        json_t *r = jobj();
        put(r, "reason", json_text0(f->reasons[i].reason));
        put(r, "count", jint(f->reasons[i].count));
        push(reasons, r);
    }
    put(j, "failed_reasons", reasons);
    put(j, "failed_other", jint(f->failed_other));
    put(j, "popular_pct", jnum(f->popular_pct));
    put(j, "album_order_pct", jnum(f->album_order_pct));
    return j;
}

/* A percentile of l, null when l is empty. */
static json_t *jms(const struct latency *l, int64_t ms)
{
    return json_must(l->n > 0 ? json_integer(ms) : json_null());
}

static json_t *json_latency(const struct latency *l)
{
    json_t *j = jobj();
    put(j, "n", jint(l->n));
    put(j, "p50", jms(l, l->p50));
    put(j, "p75", jms(l, l->p75));
    put(j, "p90", jms(l, l->p90));
    put(j, "p99", jms(l, l->p99));
    return j;
}

static json_t *json_first_audio(const struct swarm_figures *f)
{
    json_t *j = jobj();
    put(j, "all", json_latency(&f->lat_all));
    put(j, "cached", json_latency(&f->lat_cached));
    put(j, "uncached", json_latency(&f->lat_uncached));
    return j;
}

static json_t *json_shares(const struct shares *s)
{
    json_t *j = jobj();
    put(j, "cache", jnum(s->cache));
    put(j, "peers", jnum(s->peers));
    put(j, "service", jnum(s->service));
    return j;
}

static json_t *json_share_pct(const struct swarm_figures *f)
{
    json_t *j = jobj();
    put(j, "bytes", json_shares(&f->byte_share));
    put(j, "playbacks", json_shares(&f->play_share));
    return j;
}

static json_t *json_warmup(const struct swarm_run *run)
{
    json_t *j = jobj();
    put(j, "s", jnum(run->warmup_s));
    put(j, "service_bytes", jint(run->warmup_service_bytes));
    return j;
}

static json_t *json_service_requests(const struct swarm_run *run)
{
    json_t *j = jobj();
    put(j, "lookups", jint(run->service_lookups));
    put(j, "announces", jint(run->service_announces));
    return j;
}

static json_t *json_found(uint64_t found, double hit_pct)
{
    json_t *j = jobj();
    put(j, "found", jint(found));
    put(j, "uncached_plays_pct", jnum(hit_pct));
    return j;
}

static json_t *json_discovery(const struct swarm_figures *f)
{
    json_t *j = jobj();
    put(j, "tracker", json_found(f->found_tracker, f->tracker_hit_pct));
    put(j, "search", json_found(f->found_search, f->search_hit_pct));
    put(j, "uncached_plays", jint(f->uncached_plays));
    return j;
}

static json_t *json_mean_max(double mean, unsigned max)
{
    json_t *j = jobj();
    put(j, "mean", jnum(mean));
    put(j, "max", jint(max));
    return j;
}

static json_t *json_per_engine(const struct swarm_figures *f)
{
    json_t *j = jobj();
    put(j, "cpu_s", jnum(f->cpu_s_per_engine));
    put(j, "cpu_pct", jnum(f->cpu_pct_per_engine));
    put(j, "peak_rss_kb", jnum(f->peak_rss_kb_per_engine));
    put(j, "open_files", jnum(f->fds_per_engine));
    put(j, "threads", jnum(f->threads_per_engine));
    return j;
}

static json_t *json_hosts(const struct swarm_run *run)
{
    json_t *j = jarr();
    for (size_t i = 0; i < run->nhosts; i++) {
        const struct swarm_host *h = &run->hosts[i];
        json_t *o = jobj();
        put(o, "engines", jint(h->engines));
        put(o, "cpu_s", jnum(h->cpu_s));
        put(o, "peak_rss_kb", jint(h->peak_rss_kb));
        put(o, "exit_status", json_must(json_integer(h->exit_status)));
        put(o, "open_files", jint(h->fds));
        put(o, "threads", jint(h->threads));
        put(o, "threadpool", jint(h->threadpool));
        push(j, o);
    }
    return j;
}

static json_t *json_paper(void)
{
    json_t *j = jobj();
    put(j, "first_audio_ms_p50", jnum(PAPER_LATENCY_P50_MS));
    put(j, "stutter_pct_under", jnum(PAPER_STUTTER_PCT));
    put(j, "popular_pct", jnum(PAPER_POPULAR_PCT));
    put(j, "album_order_pct", jnum(PAPER_ALBUM_PCT));
    put(j, "share_pct_bytes",
        json_shares(&(struct shares){PAPER_CACHE_PCT, PAPER_PEERS_PCT, PAPER_SERVICE_PCT}));
    return j;
}

static json_t *json_failures(const struct swarm_run *run)
{
    json_t *j = jarr();
    for (size_t i = 0; i < run->nfailures; i++)
        push(j, json_text0(run->failures[i]));
    return j;
}

static void put_engine_sums(json_t *j, const struct swarm_figures *f)
{
    put(j, "connections_per_engine", json_mean_max(f->conns_mean, f->conns_max));
    json_t *slots = json_mean_max(f->slots_mean, f->slots_max);
    put(slots, "of", jint(PEERS_UPLOAD_SLOTS));
    put(j, "upload_slots", slots);
    put(j, "chunks_rejected", jint(f->chunks_rejected));
    put(j, "peers_banned", jint(f->peers_banned));
    put(j, "corrupt_reads", jint(f->corrupt_reads));
    put(j, "evicted_files", jint(f->evicted_files));
    put(j, "linked_to_bad", jint(f->linked_to_bad));
    put(j, "restarts", jint(f->restarts));
    put(j, "engines_crashed", jint(f->crashed));
}

json_t *swarm_report_json(const struct swarm_run *run)
{
    struct swarm_figures f;
    compute_figures(run, &f);
    json_t *j = jobj();
    put(j, "params", json_params(run));
    put(j, "phases", json_phases(run));
    put(j, "playbacks", json_playbacks(&f));
    put(j, "first_audio_ms", json_first_audio(&f));
    put(j, "stutter_pct", jnum(f.stutter_pct));
    put(j, "underrun_s", jnum(f.underrun_s));
    put(j, "played_bytes", jint(f.played_bytes));
    put(j, "share_pct", json_share_pct(&f));
    put(j, "cold_miss_floor_pct", jnum(f.cold_miss_floor_pct));
    put(j, "service_over_floor", jnum(f.service_over_floor));
    put(j, "cold_miss_plays_pct", jnum(f.cold_miss_plays_pct));
    put(j, "service_egress_bytes", jint(run->service_bytes));
    put(j, "service_egress_per_played_byte", jnum(f.service_per_played_byte));
    put(j, "warmup", json_warmup(run));
    put(j, "service_requests", json_service_requests(run));
    put(j, "discovery", json_discovery(&f));
    put_engine_sums(j, &f);
    put(j, "per_engine", json_per_engine(&f));
    put(j, "hosts", json_hosts(run));
    put(j, "paper", json_paper());
    put(j, "failures", json_failures(run));
    return j;
}
