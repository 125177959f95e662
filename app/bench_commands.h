/* Entry points of chorus-bench's benchmarks, one per app/bench_<name>.c,
 * listed in the table in app/chorus-bench.c. Each prints its figures and
 * returns the exit status. */
#ifndef CHORUS_APP_BENCH_COMMANDS_H
#define CHORUS_APP_BENCH_COMMANDS_H

int bench_cache_main(int argc, char **argv);
int bench_import_main(int argc, char **argv);
int bench_service_main(int argc, char **argv);
int bench_decode_main(int argc, char **argv);
int bench_swarm_main(int argc, char **argv);
/* A process of engines for bench_swarm (not for users). */
int bench_swarm_host_main(int argc, char **argv);

#endif
