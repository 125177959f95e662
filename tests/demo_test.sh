#!/bin/sh
# chorus --demo --headless end to end, with a short library: the demo
# comes up (library made, peers filled), its engine answers on the socket
# given with -o remote.socket (never the user's default one), queues the
# library ready to play, plays it on `chorus remote resume`, has peers
# connected, and within 60 s of playing uploads to a background peer at
# least once (upload slots in use >= 1: status --follow sees every
# snapshot). SIGTERM stops it with status 0; a second run reuses the
# library and the peers' caches. Nothing is written in the HOME and XDG
# directories it runs with.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -eu
src=$1 build=$2 work=$3
chorus=$build/chorus
rm -rf "$work"
mkdir -p "$work/home" "$work/remote-home"
sock=$work/remote.sock
demo_pid=
follow_pid=

fail() {
    echo "demo_test: $*"
    for f in "$work"/run*.err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
    [ -f "$work/demo/chorus.log" ] && { echo "--- chorus.log (end)"; grep -v DEBUG "$work/demo/chorus.log" | tail -n 40; }
    [ -n "$follow_pid" ] && kill "$follow_pid" 2>/dev/null
    [ -n "$demo_pid" ] && kill -9 "$demo_pid" 2>/dev/null
    exit 1
}

# The demo with a home of its own, so that anything written outside the
# demo directory shows; XDG_RUNTIME_DIR points there too.
start_demo() { # name
    HOME=$work/home XDG_CONFIG_HOME= XDG_DATA_HOME= XDG_CACHE_HOME= XDG_STATE_HOME= \
        XDG_RUNTIME_DIR=$work/home CHORUS_DEMO_DIR=$work/demo CHORUS_DEMO_TRACKS=8 \
        CHORUS_DEMO_SECONDS=40-60 CHORUS_DEMO_PEERS=4 \
        "$chorus" -o "remote.socket=$sock" -o audio.output=null --demo --headless \
        >"$work/$1.out" 2>"$work/$1.err" &
    demo_pid=$!
}

# chorus remote, with a home of its own too (it writes a log).
remote() {
    HOME=$work/remote-home XDG_CONFIG_HOME= XDG_DATA_HOME= XDG_CACHE_HOME= XDG_STATE_HOME= \
        "$chorus" remote -S "$sock" "$@"
}

# Waits up to $1 seconds for the status to match the extended regex $2.
wait_status() { # seconds, regex, what
    i=0
    while [ $i -lt $(($1 * 5)) ]; do
        kill -0 "$demo_pid" 2>/dev/null || fail "the demo exited while waiting for $3"
        if remote status --json 2>/dev/null | grep -Eq "$2"; then
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    fail "no $3 within $1 s: $(remote status --json 2>&1)"
}

stop_demo() { # name
    kill -TERM "$demo_pid"
    status=0
    wait "$demo_pid" || status=$?
    demo_pid=
    [ "$status" -eq 0 ] || fail "$1: exit status $status after SIGTERM"
    [ ! -e "$sock" ] || fail "$1: the socket $sock is still there"
}

ready='"service":"online".*"queue":\{"position":1,"length":8\}'

# First run: the library is made, the peers fill their caches.
start_demo run1
wait_status 400 "$ready" "a queue ready to play"
grep -q "making a library of 8" "$work/run1.err" || fail "run 1 made no library"
grep -q "filling the caches of 4 background peers" "$work/run1.err" || fail "run 1 filled no cache"
grep -q "demo: 4 peers on 127.0.0.1, service 127.0.0.1:" "$work/run1.err" || fail "no banner"
remote status --follow >"$work/follow" 2>&1 &
follow_pid=$!
remote resume >/dev/null || fail "resume failed"
# status --follow writes every snapshot that changed: peers connected and
# upload slots in use, within 60 s of playing.
i=0
until grep -Eq '"peers":\{"connected":[1-9]' "$work/follow" &&
    grep -Eq '"slots":\{"used":[1-9]' "$work/follow"; do
    [ $i -lt 300 ] || fail "within 60 s of playing: $(grep -c '"connected":[1-9]' "$work/follow") \
lines with peers connected, $(grep -c '"slots":{"used":[1-9]' "$work/follow") with upload slots in use"
    kill -0 "$demo_pid" 2>/dev/null || fail "the demo exited while playing"
    sleep 0.2
    i=$((i + 1))
done
echo "demo_test: peers connected and upload slots in use within $(((i + 4) / 5)) s of playing"
kill "$follow_pid" 2>/dev/null || true
wait "$follow_pid" 2>/dev/null || true
follow_pid=
stop_demo run1

# Second run: everything reused, the queue restored.
start_demo run2
wait_status 120 "$ready" "a restored queue"
grep -q "reusing the library" "$work/run2.err" || fail "run 2 did not reuse the library"
if grep -q "filling the caches" "$work/run2.err"; then fail "run 2 filled the caches again"; fi
stop_demo run2

# Nothing of "the user's" was touched: their home holds nothing.
leftover=$(find "$work/home" -mindepth 1 | head -n 5)
[ -z "$leftover" ] || fail "the demo wrote outside its directory: $leftover"
rm -rf "$work"
echo "demo_test: ok"
