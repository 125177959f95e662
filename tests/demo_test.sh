#!/bin/sh
# The README's demo command, offline and short: scripts/demo.sh with a
# library of eleven 1 s tracks (more than chorus play's default limit of
# 10 for a query: --all must play them all) into a WAV file.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -eu
src=$1 build=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
wav="$work/demo.wav"
CHORUS_BUILD_DIR=$build CHORUS_DEMO_DIR="$work/demo" CHORUS_DEMO_TRACKS=11 \
    CHORUS_DEMO_SECONDS=1 "$src/scripts/demo.sh" --output "wav:$wav" \
    >"$work/out" 2>&1 || { cat "$work/out"; echo "demo_test: demo.sh failed"; exit 1; }
cat "$work/out"
grep -q "Played 11 of 11 tracks" "$work/out" || { echo "demo_test: not all played"; exit 1; }
# 44 bytes of header, then at least 11 s of 44.1 kHz 16-bit stereo.
size=$(wc -c <"$wav")
[ "$size" -ge $((44 + 11 * 44100 * 4)) ] || { echo "demo_test: $wav holds $size bytes"; exit 1; }
# The server is gone: nothing listens any more on the port the demo used.
port=$(sed -n 's/^chorusd serve: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/demo/serve.out")
grep -q "chorusd serve: stopped" "$work/demo/serve.out" || {
    echo "demo_test: chorusd serve (port $port) was not stopped"; exit 1; }
rm -rf "$work"
echo "demo_test: ok"
