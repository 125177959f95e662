# tmux_lib.sh: what the terminal tests share (sourced by tui_test.sh and
# tui_login_test.sh): a private tmux server on $tsock running one
# session, "chorus", read back with capture-pane.
# The sourcing script sets tsock and test_name, and may define
# fail_details (more to print when a check fails).

tm() { tmux -S "$tsock" "$@"; }
screen() { tm capture-pane -p -t chorus 2>/dev/null || true; }
keys() { tm send-keys -t chorus "$@"; }

fail() {
    echo "$test_name: FAIL: $*" >&2
    echo "---- screen ----" >&2
    screen >&2
    if declare -F fail_details >/dev/null; then fail_details >&2; fi
    tm kill-server 2>/dev/null || true
    exit 1
}

# wait_for REGEX SECONDS WHAT
wait_for() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        if screen | grep -Eq -- "$1"; then return 0; fi
        sleep 0.3
    done
    fail "no /$1/ on screen within $2 s ($3)"
}

# start_session COMMAND: a 100x30 session running COMMAND, then a line
# CHORUS-EXITED STATUS when it ends. A tmux server just killed may still
# hold the socket: try again.
start_session() {
    local tries=0
    until tm new-session -d -s chorus -x 100 -y 30 "$1; echo CHORUS-EXITED \$?; sleep 600"; do
        tries=$((tries + 1))
        [ $tries -lt 20 ] || fail "tmux cannot start a session"
        sleep 0.5
    done
}

stop_tmux() {
    tm kill-server 2>/dev/null || true
    for _ in $(seq 50); do tm has-session 2>/dev/null || break; sleep 0.1; done
    rm -f "$tsock"
}
