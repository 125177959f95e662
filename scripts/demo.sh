#!/usr/bin/env bash
# The demo: builds chorus if needed and runs `chorus --demo` — the player
# on a live local swarm, offline, nothing of yours touched (chorus(1), DEMO).
#
#   ./scripts/demo.sh [chorus options]   e.g. -o audio.output=null, --headless
#
# Environment: CHORUS_BUILD_DIR (default build); CHORUS_DEMO_DIR,
# CHORUS_DEMO_TRACKS, CHORUS_DEMO_SECONDS, CHORUS_DEMO_PEERS as chorus(1) says.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CHORUS_BUILD_DIR:-build}
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" >/dev/null
fi
cmake --build "$build" -j2 --target chorus >/dev/null
exec "$build/chorus" --demo "$@"
