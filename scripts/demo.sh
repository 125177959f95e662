#!/usr/bin/env bash
# The demo, offline, on this machine: a generated library served by chorusd
# on a loopback port, played by chorus through the cache (portaudio, or the
# null output with a notice when there is no sound device).
#
#   ./scripts/demo.sh [chorus play options]   e.g. --limit 2, --output wav:/tmp/demo.wav
#
# Everything lives in the demo directory; the user's own configuration,
# cache and data are never touched (both programs get XDG directories
# inside it). Re-runs reuse the library, the cache and the player's pinned
# key; the demo user's password is made anew each run.
#
# Environment:
#   CHORUS_BUILD_DIR     where chorus and chorusd are (default: build)
#   CHORUS_DEMO_DIR      the demo directory (default: $XDG_DATA_HOME/chorus-demo,
#                        else ~/.local/share/chorus-demo)
#   CHORUS_DEMO_TRACKS   tracks in the library (default 12)
#   CHORUS_DEMO_SECONDS  their lengths, MIN or MIN-MAX seconds (default: chorusd's)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CHORUS_BUILD_DIR:-build}
base=${XDG_DATA_HOME:-${HOME:?}/.local/share}
dir=${CHORUS_DEMO_DIR:-$base/chorus-demo}
tracks=${CHORUS_DEMO_TRACKS:-12}
seconds=${CHORUS_DEMO_SECONDS:-}

for prog in chorus chorusd; do
    if [ ! -x "$build/$prog" ]; then
        echo "demo: $build/$prog is missing: build first (cmake -S . -B build && cmake --build build -j2)" >&2
        exit 1
    fi
done
build=$(cd "$build" && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
server="$dir/service"
export XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data" \
    XDG_CACHE_HOME="$dir/cache" XDG_STATE_HOME="$dir/state"

# chorusd demo-library would skip what it made before, but only after
# synthesizing it again to recognise it: a marker saves re-runs that time.
made="$server/.demo-library"
want="tracks=$tracks seconds=$seconds"
if [ -f "$made" ] && [ "$(cat "$made")" = "$want" ]; then
    echo "demo: reusing the library in $server"
else
    echo "demo: making a library of $tracks generated tracks in $server (once)"
    "$build/chorusd" demo-library --data-dir "$server" --tracks "$tracks" ${seconds:+--seconds "$seconds"}
    printf '%s\n' "$want" >"$made"
fi
"$build/chorusd" catalog --data-dir "$server"

password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
if ! printf '%s\n' "$password" | "$build/chorusd" useradd --data-dir "$server" demo 2>"$dir/useradd.err"; then
    if grep -q exists "$dir/useradd.err"; then
        printf '%s\n' "$password" | "$build/chorusd" useradd --data-dir "$server" --update demo
    else
        cat "$dir/useradd.err" >&2
        exit 1
    fi
fi
rm -f "$dir/useradd.err"

# Port 0: the kernel picks a free port, which chorusd serve then reports.
log="$dir/serve.out"
"$build/chorusd" serve --data-dir "$server" --listen 127.0.0.1:0 2>"$log" &
server_pid=$!
stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT TERM

port=
for _ in $(seq 100); do
    port=$(sed -n 's/^chorusd serve: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$log")
    [ -n "$port" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "demo: chorusd serve did not start:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "demo: chorusd serve did not listen within 10 s:" >&2
    cat "$log" >&2
    exit 1
fi

echo "demo: chorusd serves 127.0.0.1:$port; playing the library (Ctrl-C stops)"
CHORUS_PASSWORD=$password "$build/chorus" -o "service.address=127.0.0.1:$port" \
    play --user demo --all "$@"
