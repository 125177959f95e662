#!/usr/bin/env bash
# The TUI in a real terminal: tmux runs `chorus --demo`, sends keys and
# reads the screen back with capture-pane (chorus(1), VIEWS and KEYS).
#
# Checks: the demo swarm shows peers > 0 on the status line; navigating
# the library and Enter play a track and the elapsed time advances; seek
# (l) jumps ahead; pause (c) stops the clock; enqueue (e) grows the queue
# view; the peers view lists connections; within a minute the status line
# shows upload slots in use (up k/4, k >= 1); `chorus remote status
# --json` agrees with the screen; a terminal under 80x24 gets a message
# and the screen comes back at full size; a playlist made with `:` and `a`
# survives a restart; q asks and quits with the terminal restored; a
# crash signal restores the terminal too.
#
# Usage: tui_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
tsock="$work/tmux.sock"
rsock="$work/remote.sock"
mkdir -p "$work/home"
# A home of its own: nothing of the user's is read or written.
export HOME="$work/home" XDG_CONFIG_HOME= XDG_DATA_HOME= XDG_CACHE_HOME= XDG_STATE_HOME=
export XDG_RUNTIME_DIR="$work/home"
export CHORUS_DEMO_DIR="$work/demo" CHORUS_DEMO_TRACKS=8 CHORUS_DEMO_SECONDS=40-60
export CHORUS_DEMO_PEERS=4
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color

test_name=tui_test
. "$src/tests/tmux_lib.sh"
fail_details() {
    echo "---- chorus.stderr / log tail ----"
    find "$work/demo" -name 'chorus.stderr' -o -name '*.log' 2>/dev/null | head -3 |
        while read -r f; do tail -n 20 "$f"; done
}
# The elapsed seconds of the progress line "m:ss / m:ss".
elapsed() {
    screen | grep -Eo '[0-9]+:[0-5][0-9] / [0-9]+:[0-5][0-9]' | head -1 |
        awk -F'[: /]+' '{ print $1 * 60 + $2 }'
}
start_chorus() {
    start_session "$build/chorus -o audio.output=null -o remote.socket=$rsock --demo"
}
remote() { "$build/chorus" -o "remote.socket=$rsock" remote "$@"; }

start_chorus
# The first run makes the library and fills the peers' caches.
wait_for '1 Library' 600 "the TUI"
wait_for 'online' 60 "the service link"

# Library: open the first artist, go to its first album, play it.
keys 1
wait_for '▸|▾' 30 "artists in the library"
keys Enter          # expand the artist
wait_for '^   [A-Za-z]' 30 "its albums"
keys j
sleep 1
keys Enter          # the album: plays it
wait_for '▶ ' 30 "a track plays"
a=$(elapsed)
sleep 3
b=$(elapsed)
[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ] || fail "elapsed did not advance ($a -> $b)"
wait_for 'peers [1-9][0-9]*/60' 60 "the demo's peers connect"

# Seek ahead 5 s (l): at least 4 s more than before, at once.
before=$(elapsed)
keys l
sleep 1
after=$(elapsed)
[ "$after" -ge $((before + 4)) ] || fail "seek +5 went from $before to $after"

# Pause (c): the clock stops; c again resumes.
keys c
wait_for '‖|paused' 10 "paused"
p1=$(elapsed)
sleep 2
p2=$(elapsed)
[ "$p1" = "$p2" ] || fail "elapsed moved while paused ($p1 -> $p2)"
keys c
wait_for '▶ ' 10 "resumed"

# Enqueue (e) a track of the right pane, then see it in the queue view.
keys 3
wait_for 'Queue' 5 "the queue view"
queued=$(screen | grep -Ec '^ *[0-9]+\. ' || true)
keys 1
sleep 0.5
keys Tab
sleep 0.5
keys j e
sleep 1
keys 3
sleep 1
queued2=$(screen | grep -Ec '^ *[0-9]+\. ' || true)
[ "$queued2" -gt "$queued" ] || fail "enqueue: the queue had $queued rows, now $queued2"

# The peers view lists connections.
keys 5
wait_for '127\.0\.0\.1:[0-9]+' 30 "connections in the peers view"

# Within a minute, the user's engine uploads to a peer: up k/4 with k >= 1.
wait_for 'up [1-4]/4' 60 "upload slots in use"

# chorus remote status --json agrees with the screen.
json=$(remote status --json)
title=$(printf '%s' "$json" | python3 -c 'import json,sys; s=json.load(sys.stdin); print((s.get("track") or {}).get("title",""))')
volume=$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["volume"])')
[ -n "$title" ] || fail "remote status has no track: $json"
screen | grep -Fq -- "$title" || fail "the screen does not show the remote's title '$title'"
screen | grep -Fq -- "vol $volume%" || fail "the screen does not show the remote's volume $volume%"

# Too small a terminal: a message instead of a broken screen; back again.
tm resize-window -t chorus -x 70 -y 20
wait_for 'at least 80' 10 "the too-small message"
tm resize-window -t chorus -x 100 -y 30
wait_for 'peers [0-9]+/60' 10 "the screen back at 100x30"

# A playlist made with : and a, then a restart: it is still there.
keys : 'playlist create Road trip' Enter
sleep 1
keys 1
sleep 0.5
keys a
wait_for 'add to playlist' 5 "the playlist prompt"
keys 'Road trip' Enter
sleep 1
keys 2
wait_for 'Road trip' 10 "the playlist in view 2"
keys q
wait_for 'Quit Chorus\? \[y/N\]' 5 "quit asks first"
keys y
wait_for 'CHORUS-EXITED 0' 30 "chorus quits with status 0 and the terminal restored"
stop_tmux
start_chorus
wait_for 'peers [0-9]+/60' 120 "chorus again"
keys 2
sleep 1
wait_for 'Road trip' 20 "the playlist after a restart"

# A crash signal restores the terminal.
shell=$(tm list-panes -t chorus -F '#{pane_pid}')
pid=$(pgrep -P "$shell" -x chorus) || fail "no chorus process under the pane's shell $shell"
kill -SEGV "$pid"
wait_for 'CHORUS-EXITED 139' 20 "the terminal restored after SIGSEGV"
stop_tmux
rm -rf "$work"
echo "tui_test: ok"
