/* Tests for app/bench_swarm_report.c, the swarm benchmark's figures: a
 * hand-made run of 10 plays, 2 engines and 2 hosts whose figures are known
 * (nearest-rank percentiles that an interpolating percentile would get
 * wrong, byte and playback shares with a tie, stutter over the heard
 * plays, the cold-miss floor and the service's ratio to it, discovery,
 * per-engine CPU and RSS) checked in the JSON; the same run's table (the
 * paper's figures beside ours, the failed reasons, a host killed by a
 * signal, the failed checks, 100 columns); a run with no plays at all
 * (null figures, "-" in the table, no NaN); a zero floor (no ratio); the
 * scenario names. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_swarm.h"

/* Plays as (cache_hit, gapless, latency, end, played_ms, underruns,
 * underrun_ms, bytes cache/peers/service, cold_miss, found tracker/search,
 * reason). Latencies counted: cached 10, 20; uncached 100..500. */
static const struct swarm_play test_plays[] = {
    {.cache_hit = true, .latency_ms = 10, .played_ms = 1000, .bytes_cache = 2000},
    {.cache_hit = true,
     .latency_ms = 20,
     .played_ms = 1000,
     .underruns = 1,
     .underrun_ms = 500,
     .bytes_cache = 2000},
    /* gapless: heard, no latency; not cache_hit though its bytes were */
    {.gapless = true, .latency_ms = 0, .played_ms = 1000, .bytes_cache = 1000},
    {.latency_ms = 100,
     .played_ms = 1000,
     .bytes_peers = 1500,
     .bytes_service = 500,
     .found_tracker = 2},
    {.latency_ms = 200,
     .played_ms = 1000,
     .bytes_peers = 1000,
     .found_tracker = 1,
     .found_search = 1},
    /* stopped; a tie of peers and service: counted for peers */
    {.end = MQ_PB_STOPPED,
     .latency_ms = 300,
     .played_ms = 500,
     .bytes_peers = 500,
     .bytes_service = 500,
     .found_search = 1},
    {.cold_miss = true,
     .latency_ms = 400,
     .played_ms = 1000,
     .underruns = 2,
     .underrun_ms = 1500,
     .bytes_service = 500,
     .found_search = 1},
    /* heard, then failed */
    {.end = MQ_PB_FAILED,
     .cold_miss = true,
     .latency_ms = 500,
     .played_ms = 200,
     .bytes_service = 500,
     .reason = "read error"},
    {.end = MQ_PB_FAILED, .latency_ms = -1, .found_search = 1, .reason = "service unreachable"},
    {.end = MQ_PB_FAILED, .latency_ms = -1, .reason = "service unreachable"},
};

static const struct swarm_engine test_engines[] = {
    {.index = 0,
     .restarts = 1,
     .conns_mean = 10,
     .conns_max = 20,
     .slots_mean = 1.0,
     .slots_max = 3,
     .chunks_rejected = 1,
     .peers_banned = 1,
     .found_tracker = 5,
     .found_search = 7,
     .evicted_files = 3},
    {.index = 1,
     .crashed = true,
     .restarts = 2,
     .conns_mean = 20,
     .conns_max = 30,
     .slots_mean = 2.0,
     .slots_max = 4,
     .chunks_rejected = 2,
     .found_tracker = 6,
     .found_search = 8,
     .corrupt_reads = 1,
     .evicted_files = 4,
     .linked_to_bad = 1},
};

/* 9: waitpid's status of a process killed by SIGKILL */
static const struct swarm_host test_hosts[] = {
    {.engines = 1, .cpu_s = 10, .peak_rss_kb = 20480, .exit_status = 0},
    {.engines = 1, .cpu_s = 20, .peak_rss_kb = 20480, .exit_status = 9},
};

static char *test_failures[] = {"engine 1 crashed", "a chunk played unverified"};

static struct swarm_run known_run(void)
{
    struct swarm_run run = {
        .p = {.peers = 2,
              .tracks = 300,
              .duration_s = 100,
              .scenario = SWARM_CHURN,
              .rtt_ms = 50,
              .rate_kbit = 4000,
              .seed = 42,
              .speed = 4,
              .processes = 2},
        .date = "2025-01-02T03:04:05Z",
        .link = "emulated: 50 ms RTT, 4000 kbit/s each way",
        .warmup_s = 50,
        .warmup_service_bytes = 123,
        .measured_s = 100,
        .service_bytes = 5000,
        .plays = (struct swarm_play *)test_plays,
        .nplays = sizeof(test_plays) / sizeof(test_plays[0]),
        .engines = (struct swarm_engine *)test_engines,
        .nengines = 2,
        .hosts = (struct swarm_host *)test_hosts,
        .nhosts = 2,
        .failures = test_failures,
        .nfailures = 2,
    };
    return run;
}

/* The value at a path of keys ("a", "b", NULL); fails the test when absent. */
static json_t *at(json_t *j, ...)
{
    va_list ap;
    va_start(ap, j);
    for (const char *key; (key = va_arg(ap, const char *));) {
        j = json_object_get(j, key);
        if (!j)
            fail_msg("no key %s", key);
    }
    va_end(ap);
    return j;
}

#define AT(...)      at(__VA_ARGS__, (const char *)NULL)
#define NUM(...)     json_number_value(AT(__VA_ARGS__))
#define INT(...)     json_integer_value(AT(__VA_ARGS__))
#define IS_NULL(...) json_is_null(AT(__VA_ARGS__))

static void assert_percentiles(json_t *l, long n, long p50, long p75, long p90, long p99)
{
    assert_int_equal(INT(l, "n"), n);
    assert_true(json_is_integer(AT(l, "p50")));
    assert_int_equal(INT(l, "p50"), p50);
    assert_int_equal(INT(l, "p75"), p75);
    assert_int_equal(INT(l, "p90"), p90);
    assert_int_equal(INT(l, "p99"), p99);
}

static void test_json_percentiles(void **state)
{
    struct swarm_run run = known_run();
    json_t *j = swarm_report_json(&run);
    json_t *fa = AT(j, "first_audio_ms");
    /* 10 20 100 200 300 400 500: ranks ceil(3.5) ceil(5.25) ceil(6.3) ceil(6.93) */
    assert_percentiles(AT(fa, "all"), 7, 200, 400, 500, 500);
    /* 10 20: rank 1 for p50 (interpolation would say 15) */
    assert_percentiles(AT(fa, "cached"), 2, 10, 20, 20, 20);
    assert_percentiles(AT(fa, "uncached"), 5, 300, 400, 500, 500);
    json_decref(j);
}

static void test_json_playbacks_and_stutter(void **state)
{
    struct swarm_run run = known_run();
    json_t *j = swarm_report_json(&run);
    assert_int_equal(INT(j, "playbacks", "total"), 10);
    assert_int_equal(INT(j, "playbacks", "played"), 6);
    assert_int_equal(INT(j, "playbacks", "stopped"), 1);
    assert_int_equal(INT(j, "playbacks", "failed"), 3);
    assert_int_equal(INT(j, "playbacks", "heard"), 8);
    json_t *reasons = AT(j, "playbacks", "failed_reasons");
    assert_int_equal(json_array_size(reasons), 2);
    assert_string_equal(json_string_value(AT(json_array_get(reasons, 0), "reason")),
                        "service unreachable");
    assert_int_equal(INT(json_array_get(reasons, 0), "count"), 2);
    assert_string_equal(json_string_value(AT(json_array_get(reasons, 1), "reason")), "read error");
    assert_int_equal(INT(j, "playbacks", "failed_other"), 0);
    /* 2 of the 8 heard had an underrun */
    assert_true(NUM(j, "stutter_pct") == 25.0);
    assert_true(NUM(j, "underrun_s") == 2.0);
    json_decref(j);
}

static void test_json_shares_and_floor(void **state)
{
    struct swarm_run run = known_run();
    json_t *j = swarm_report_json(&run);
    /* bytes: cache 5000, peers 3000, service 2000 */
    assert_int_equal(INT(j, "played_bytes"), 10000);
    assert_true(NUM(j, "share_pct", "bytes", "cache") == 50.0);
    assert_true(NUM(j, "share_pct", "bytes", "peers") == 30.0);
    assert_true(NUM(j, "share_pct", "bytes", "service") == 20.0);
    /* of the 8 plays with bytes: 3 cache, 3 peers (one a tie), 2 service */
    assert_true(NUM(j, "share_pct", "playbacks", "cache") == 37.5);
    assert_true(NUM(j, "share_pct", "playbacks", "peers") == 37.5);
    assert_true(NUM(j, "share_pct", "playbacks", "service") == 25.0);
    /* the cold misses' 1000 bytes of 10000; service 20 % over it */
    assert_true(NUM(j, "cold_miss_floor_pct") == 10.0);
    assert_true(NUM(j, "service_over_floor") == 2.0);
    assert_true(NUM(j, "cold_miss_plays_pct") == 20.0);
    assert_int_equal(INT(j, "service_egress_bytes"), 5000);
    assert_true(NUM(j, "service_egress_per_played_byte") == 0.5);
    assert_true(NUM(j, "warmup", "s") == 50.0);
    assert_int_equal(INT(j, "warmup", "service_bytes"), 123);
    json_decref(j);
}

static void test_json_engines_and_hosts(void **state)
{
    struct swarm_run run = known_run();
    json_t *j = swarm_report_json(&run);
    assert_int_equal(INT(j, "discovery", "tracker", "found"), 11);
    assert_int_equal(INT(j, "discovery", "search", "found"), 15);
    /* 8 uncached plays: 2 found by the tracker, 4 by the search */
    assert_int_equal(INT(j, "discovery", "uncached_plays"), 8);
    assert_true(NUM(j, "discovery", "tracker", "uncached_plays_pct") == 25.0);
    assert_true(NUM(j, "discovery", "search", "uncached_plays_pct") == 50.0);
    assert_true(NUM(j, "connections_per_engine", "mean") == 15.0);
    assert_int_equal(INT(j, "connections_per_engine", "max"), 30);
    assert_true(NUM(j, "upload_slots", "mean") == 1.5);
    assert_int_equal(INT(j, "upload_slots", "max"), 4);
    assert_int_equal(INT(j, "upload_slots", "of"), 4);
    assert_int_equal(INT(j, "chunks_rejected"), 3);
    assert_int_equal(INT(j, "peers_banned"), 1);
    assert_int_equal(INT(j, "corrupt_reads"), 1);
    assert_int_equal(INT(j, "evicted_files"), 7);
    assert_int_equal(INT(j, "linked_to_bad"), 1);
    assert_int_equal(INT(j, "restarts"), 3);
    assert_int_equal(INT(j, "engines_crashed"), 1);
    /* 30 CPU seconds over 2 engines and 150 s; 40 MiB over 2 */
    assert_true(NUM(j, "per_engine", "cpu_s") == 15.0);
    assert_true(NUM(j, "per_engine", "cpu_pct") == 10.0);
    assert_true(NUM(j, "per_engine", "peak_rss_kb") == 20480.0);
    assert_int_equal(json_array_size(AT(j, "hosts")), 2);
    assert_int_equal(INT(json_array_get(AT(j, "hosts"), 1), "exit_status"), 9);
    json_decref(j);
}

static void test_json_params_paper_failures(void **state)
{
    struct swarm_run run = known_run();
    json_t *j = swarm_report_json(&run);
    assert_string_equal(json_string_value(AT(j, "params", "scenario")), "churn");
    assert_int_equal(INT(j, "params", "peers"), 2);
    assert_int_equal(INT(j, "params", "seed"), 42);
    assert_int_equal(INT(j, "params", "processes"), 2);
    assert_string_equal(json_string_value(AT(j, "params", "date")), run.date);
    assert_string_equal(json_string_value(AT(j, "params", "link")), run.link);
    assert_true(NUM(j, "paper", "first_audio_ms_p50") == 265.0);
    assert_true(NUM(j, "paper", "share_pct_bytes", "service") == 8.8);
    json_t *failures = AT(j, "failures");
    assert_int_equal(json_array_size(failures), 2);
    assert_string_equal(json_string_value(json_array_get(failures, 1)),
                        "a chunk played unverified");
    json_decref(j);
}

/* The table of run, as a string (free). */
static char *table_of(const struct swarm_run *run)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    swarm_report_print(out, run);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void assert_fits_100_columns(const char *text)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        if (end - line > 100)
            fail_msg("too wide: %.*s", (int)(end - line), line);
        line = end + 1;
    }
}

/* The table's line starting with label (after its indent), or fails. */
static const char *line_of(const char *text, const char *label)
{
    for (const char *p = text; (p = strstr(p, label)); p++)
        if (p == text || p[-1] == '\n' || p[-1] == ' ')
            return p;
    fail_msg("no line %s", label);
    return NULL;
}

static void test_table(void **state)
{
    struct swarm_run run = known_run();
    char *t = table_of(&run);
    assert_fits_100_columns(t);
    assert_non_null(strstr(t, "scenario churn"));
    assert_non_null(strstr(t, "seed 42"));
    assert_non_null(strstr(t, run.link));
    assert_non_null(strstr(t, run.date));
    /* ours, then the paper's */
    assert_non_null(strstr(line_of(t, "all (n 7)"), "200 / 400 / 500 / 500"));
    assert_non_null(strstr(line_of(t, "all (n 7)"), "265"));
    assert_non_null(strstr(line_of(t, "service   "), "20.0 %"));
    assert_non_null(strstr(line_of(t, "service   "), "8.8 %"));
    assert_non_null(strstr(line_of(t, "cache   "), "55.4 %"));
    assert_non_null(strstr(line_of(t, "stutter"), "25.00 %"));
    assert_non_null(strstr(line_of(t, "service share / floor"), "2.00"));
    assert_non_null(strstr(line_of(t, "service unreachable"), "2"));
    assert_non_null(strstr(t, "killed by signal 9"));
    assert_non_null(strstr(t, "correctness checks"));
    assert_non_null(strstr(t, "engine 1 crashed"));
    assert_non_null(strstr(t, "a chunk played unverified"));
    assert_null(strstr(t, "all passed"));
    free(t);
}

static void test_empty_run(void **state)
{
    struct swarm_run run = {.p = {.scenario = SWARM_DEFAULT}, .link = "raw loopback"};
    json_t *j = swarm_report_json(&run);
    assert_int_equal(INT(j, "playbacks", "total"), 0);
    assert_int_equal(INT(j, "first_audio_ms", "all", "n"), 0);
    assert_true(IS_NULL(j, "first_audio_ms", "all", "p50"));
    assert_true(IS_NULL(j, "first_audio_ms", "uncached", "p99"));
    assert_true(IS_NULL(j, "stutter_pct"));
    assert_true(IS_NULL(j, "share_pct", "bytes", "service"));
    assert_true(IS_NULL(j, "share_pct", "playbacks", "cache"));
    assert_true(IS_NULL(j, "cold_miss_floor_pct"));
    assert_true(IS_NULL(j, "service_over_floor"));
    assert_true(IS_NULL(j, "connections_per_engine", "mean"));
    assert_true(IS_NULL(j, "per_engine", "cpu_pct"));
    assert_true(IS_NULL(j, "per_engine", "peak_rss_kb"));
    char *text = json_dumps(j, 0);
    assert_non_null(text);
    assert_null(strcasestr(text, "nan"));
    free(text);
    json_decref(j);

    char *t = table_of(&run);
    assert_fits_100_columns(t);
    assert_null(strcasestr(t, "nan"));
    assert_non_null(strstr(line_of(t, "stutter"), "-"));
    assert_non_null(strstr(t, "265"));
    assert_non_null(strstr(t, "8.8"));
    assert_non_null(strstr(t, "all passed"));
    free(t);
}

/* Service bytes but no cold miss: a floor of 0 and no ratio to it. */
static void test_zero_floor(void **state)
{
    struct swarm_play play = {.latency_ms = 50, .played_ms = 100, .bytes_service = 100};
    struct swarm_run run = {.plays = &play, .nplays = 1};
    json_t *j = swarm_report_json(&run);
    assert_true(NUM(j, "cold_miss_floor_pct") == 0.0);
    assert_true(IS_NULL(j, "service_over_floor"));
    assert_true(NUM(j, "share_pct", "bytes", "service") == 100.0);
    assert_true(NUM(j, "stutter_pct") == 0.0);
    json_decref(j);
}

static void test_scenario_names(void **state)
{
    static const char *const names[] = {"default", "flash-crowd", "churn", "service-down",
                                        "bad-peers"};
    for (int s = SWARM_DEFAULT; s <= SWARM_BAD_PEERS; s++) {
        assert_string_equal(swarm_scenario_name((enum swarm_scenario)s), names[s]);
        enum swarm_scenario back = SWARM_DEFAULT;
        assert_true(swarm_scenario_parse(names[s], &back));
        assert_int_equal(back, s);
    }
    enum swarm_scenario out = SWARM_CHURN;
    assert_false(swarm_scenario_parse("flash_crowd", &out));
    assert_false(swarm_scenario_parse("", &out));
    assert_false(swarm_scenario_parse("Default", &out));
    assert_false(swarm_scenario_parse(NULL, &out));
    assert_int_equal(out, SWARM_CHURN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_percentiles),
        cmocka_unit_test(test_json_playbacks_and_stutter),
        cmocka_unit_test(test_json_shares_and_floor),
        cmocka_unit_test(test_json_engines_and_hosts),
        cmocka_unit_test(test_json_params_paper_failures),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_empty_run),
        cmocka_unit_test(test_zero_floor),
        cmocka_unit_test(test_scenario_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
