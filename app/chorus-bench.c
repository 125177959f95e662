/* chorus-bench: the swarm benchmark and the per-module benchmarks.
 * A thin main: each benchmark lives in app/bench_<name>.c. */
#include "bench_commands.h"
#include "cli.h"

static const struct cli_command commands[] = {
    {"cache", "chunk cache read/write rates next to raw pread/pwrite", bench_cache_main},
    {"import", "import throughput in seconds of audio per second", bench_import_main},
    {"service", "chunk serving over TLS next to plain TCP; tracker lookups/s", bench_service_main},
    {"decode", "decode speed (x real time), time to first audio, CPU per playing track",
     bench_decode_main},
    {"swarm", "hundreds of real engines under Spotify's workload, beside the paper's figures",
     bench_swarm_main},
    {"swarm-host", "(internal) a process of engines started by chorus-bench swarm",
     bench_swarm_host_main},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    static const struct cli_program prog = {
        .name = "chorus-bench",
        .summary = "Chorus benchmarks: each prints what it measured; none asserts a speed.",
        .man_page = "README.md (Benchmarks)",
        .commands = commands,
    };
    return cli_run(&prog, argc, argv);
}
