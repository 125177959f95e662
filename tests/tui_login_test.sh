#!/usr/bin/env bash
# The TUI's first run, in a real terminal (tmux): with no credential yet,
# `chorus` asks for the service address, the user and the password; a
# wrong password is said and asked again; the right one logs in, the
# library comes up online, and the credential stays for the next start
# (no form). An engine already running for the user (chorus --headless)
# is named, with how to reach it, and the TUI exits 3.
#
# Usage: tui_login_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work"
mkdir -p "$work/home"
work=$(cd "$work" && pwd)
tsock="$work/tmux.sock"
export HOME="$work/home" XDG_CONFIG_HOME= XDG_DATA_HOME= XDG_CACHE_HOME= XDG_STATE_HOME=
export XDG_RUNTIME_DIR="$work/home" LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color
unset USER CHORUS_PASSWORD
svc="$work/service"
serve_pid=

test_name=tui_login_test
. "$src/tests/tmux_lib.sh"
cleanup() {
    tm kill-server 2>/dev/null || true
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    [ -n "${headless_pid:-}" ] && kill "$headless_pid" 2>/dev/null
    true
}
trap cleanup EXIT
start_chorus() {
    start_session "$build/chorus -o audio.output=null -o service.address=127.0.0.1:$port"
}

# A service of our own: two short tracks and the user alice.
"$build/chorusd" demo-library --data-dir "$svc" --tracks 2 --seconds 3 >/dev/null 2>&1
printf 'right horse battery\n' | "$build/chorusd" useradd --data-dir "$svc" alice >/dev/null
"$build/chorusd" serve --data-dir "$svc" --listen 127.0.0.1:0 2>"$work/serve.err" &
serve_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^chorusd serve: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/serve.err")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.err"; fail "chorusd serve did not start"; }

# First run: the form, the address filled in from the settings.
start_chorus
wait_for 'Welcome to Chorus' 20 "the first-run form"
wait_for "127\\.0\\.0\\.1:$port" 5 "the address from the settings"
# The user is empty ($USER unset): the cursor starts there.
keys alice Tab 'wrong one' Enter
wait_for 'wrong user name or password' 20 "the failed login said"
wait_for 'Welcome to Chorus' 5 "the form again"
# The address and user are kept; the cursor is on the empty password.
screen | grep -q 'alice' || fail "the user was not kept"
keys 'right horse battery' Enter
wait_for '1 Library' 30 "the TUI after logging in"
wait_for 'online' 30 "the service link"
screen | grep -q 'right horse' && fail "the password is on the screen"
keys q
wait_for 'Quit Chorus' 5 "quit asks"
keys y
wait_for 'CHORUS-EXITED 0' 30 "chorus quits"
stop_tmux

# Second run: the credential was kept, no form.
start_chorus
wait_for '1 Library' 30 "the TUI without the form"
screen | grep -q 'Welcome to Chorus' && fail "the form came back"
keys q
wait_for 'Quit Chorus' 5 "quit asks"
keys y
wait_for 'CHORUS-EXITED 0' 30 "chorus quits again"
stop_tmux

# An engine already runs for this user: the TUI names it and exits 3.
"$build/chorus" -o audio.output=null -o "service.address=127.0.0.1:$port" --headless \
    2>"$work/headless.err" &
headless_pid=$!
for _ in $(seq 100); do
    grep -q "engine running" "$work/headless.err" && break
    sleep 0.1
done
start_chorus
wait_for 'CHORUS-EXITED 3' 30 "the TUI refused beside a running engine"
screen | grep -q 'chorus remote' || fail "the message does not say how to reach the running engine"
kill "$headless_pid"
wait "$headless_pid" || true
headless_pid=
rm -rf "$work"
echo "tui_login_test: ok"
