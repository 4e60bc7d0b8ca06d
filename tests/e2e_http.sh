#!/bin/sh
# End to end (make check-e2e): starts examples/http_server with a dumper thread
# racing the load (--dump-loop) on a free loopback port, parks three requests
# on /stuck, runs wrk against / for 3 s, then checks the server's own /dump
# line by line: the framed listener suspended at its accept, the three stuck
# sessions down to the timer, the dump's own session running, and nothing else
# (wrk's sessions ended with its connections). The expected line numbers come
# from the "e2e_http:" marker comments of the source, not from this file.
# /json must parse. /quit must stop the server (exit status 0, so TSan found
# nothing with halt_on_error=1). Every wait is bounded; on every way out the
# server and the curls this script started are killed, by PID.
# Usage: sh tests/e2e_http.sh path/to/http_server [name]
set -u

server_bin=${1:?usage: sh tests/e2e_http.sh path/to/http_server [name]}
label=e2e_http${2:+ $2}
source_file=$(dirname "$0")/../examples/http_server.cpp

tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e_http.XXXXXX") || exit 1
server_pid=
curl_pids=
failures=0
dump=
# Bounds every one-shot tool that could hang (wrk ends by itself after -d).
if command -v timeout >/dev/null 2>&1; then bounded="timeout 20"; else bounded=; fi

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
    for pid in $curl_pids $server_pid; do kill -9 "$pid" 2>/dev/null; done
    for pid in $curl_pids $server_pid; do wait "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "e2e_http: FAILED: interrupted"; exit 1' HUP INT TERM

# Waits are bounded by the clock, not by counting tries (each try takes time).
now() { date +%s; }

fail() {
    failures=$((failures + 1))
    echo "e2e_http: FAILED: $*"
}

# Ends the test now: the failures so far, the server's stderr and the dump.
give_up() {
    fail "$*"
    [ -s "$tmp/stderr" ] && { echo "e2e_http: server stderr:"; cat "$tmp/stderr"; }
    exit 1
}

# Whether the server still runs (a zombie, exited but not waited for, does not).
server_alive() {
    state=$(ps -o stat= -p "$server_pid" 2>/dev/null) || return 1
    case $state in Z*) return 1 ;; esac
    return 0
}

# The line of the source that carries marker comment $1 (exactly one). Runs in
# $(...): it says why on stderr, and the caller exits.
line_of() {
    found=$(grep -n "// e2e_http: $1\$" "$source_file" | cut -d: -f1)
    case $found in
    '' | *[!0-9]*)
        echo "e2e_http: FAILED: marker '// e2e_http: $1' must be on exactly one line of $source_file" >&2
        return 1
        ;;
    esac
    echo "$found"
}

[ -x "$server_bin" ] || give_up "no server binary at $server_bin"
[ -f "$source_file" ] || give_up "no source at $source_file"
listener_frame=$(line_of "listener frame") || exit 1
listener_waits=$(line_of "listener waits") || exit 1
session_frame=$(line_of "session frame") || exit 1
handle_frame=$(line_of "handle frame") || exit 1
stuck_frame=$(line_of "stuck_path frame") || exit 1
backend_frame=$(line_of "backend_call frame") || exit 1
backend_waits=$(line_of "backend_call waits") || exit 1

# ---- start: the port from the server's first line, within 10 s ----------------
"$server_bin" 0 --dump-loop >"$tmp/stdout" 2>"$tmp/stderr" &
server_pid=$!
port=
deadline=$(($(now) + 10))
while [ "$(now)" -lt "$deadline" ]; do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/stdout")
    [ -n "$port" ] && break
    server_alive || give_up "the server exited before it said its port"
    sleep 0.1
done
[ -n "$port" ] || give_up "the server did not say its port within 10 s"
base=http://127.0.0.1:$port

# ---- three requests that never get an answer ----------------------------------
for _ in 1 2 3; do
    curl -s --max-time 60 "$base/stuck" >/dev/null 2>&1 &
    curl_pids="$curl_pids $!"
done

# ---- load: wrk on / for 3 s, with the dumper racing it --------------------------
$bounded wrk -t2 -c32 -d3s --timeout 5s "$base/" >"$tmp/wrk" 2>&1
wrk_rc=$?
[ "$wrk_rc" -eq 0 ] || fail "wrk exited with status $wrk_rc"
grep -q "Socket errors" "$tmp/wrk" && fail "wrk saw socket errors"
grep -q "Non-2xx or 3xx responses" "$tmp/wrk" && fail "wrk saw responses other than 2xx/3xx"
grep -q "^Requests/sec:" "$tmp/wrk" || fail "wrk printed no Requests/sec line"
requests=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$tmp/wrk")
[ "${requests:-0}" -ge 1000 ] || fail "wrk made ${requests:-no} requests (at least 1000 expected)"
server_alive || give_up "the server died under load"

# ---- the dump: wait (at most ~5 s) until wrk's sessions have ended --------------
# Then only the three stuck sessions and the dump's own are left, wherever the
# dump draws them: 4 session frames and 3 timers.
count() { printf '%s\n' "$dump" | grep -c -- "$1"; }
deadline=$(($(now) + 5))
while :; do
    dump=$($bounded curl -s --max-time 5 "$base/dump")
    [ "$(count 'web::session at ')" -eq 4 ] && [ "$(count 'web::backend_call at ')" -eq 3 ] && break
    if [ "$(now)" -ge "$deadline" ]; then
        fail "the dump did not settle to 3 stuck sessions and the dump's own within 5 s"
        break
    fi
    sleep 0.1
done

# ---- the exact dump -------------------------------------------------------------
# The file as the dump names it (__FILE__: the path the build was given).
file=$(printf '%s\n' "$dump" | sed -n 's/^╼ web::[a-z_]* at \([^ ]*http_server\.cpp\):[0-9].*/\1/p' | head -n 1)
[ -n "$file" ] || file=examples/http_server.cpp
listener_root="╼ web::listener at $file:$listener_frame suspended at $file:$listener_waits"
stuck_block="╼ web::session at $file:$session_frame
  └╼ web::handle at $file:$handle_frame
     └╼ web::stuck_path at $file:$stuck_frame
        └╼ web::backend_call at $file:$backend_frame suspended at $file:$backend_waits"
# The dump runs inside this session: its frames show as running.
running_block="╼ web::session at $file:$session_frame [running]
  └╼ web::handle at $file:$handle_frame [running]"
expected="$listener_root
$stuck_block
$stuck_block
$stuck_block
$running_block"

# One line per root and its subtree (lines joined by \037), sorted: the order of
# the roots is the registry's, not part of the format.
by_root() {
    printf '%s\n' "$1" | LC_ALL=C awk '/^╼/ { if (b != "") print b; b = $0; next } { b = b "\037" $0 } END { if (b != "") print b }' |
        LC_ALL=C sort
}
blocks=$(by_root "$dump")
block_count() { printf '%s\n' "$blocks" | grep -c -x -F -- "$(printf '%s' "$1" | tr '\n' '\037')"; }

[ "$(block_count "$listener_root")" -eq 1 ] ||
    fail "not exactly one root '$listener_root' with nothing under it (the listener, suspended at its accept)"
[ "$(block_count "$stuck_block")" -eq 3 ] ||
    fail "not exactly 3 roots: web::session > web::handle > web::stuck_path > web::backend_call suspended at :$backend_waits"
[ "$(block_count "$running_block")" -eq 1 ] || fail "not exactly one running web::session (the dump's own)"
roots=$(printf '%s\n' "$dump" | grep -c '^╼')
[ "$roots" -eq 5 ] || fail "$roots roots in the dump (5 expected: the listener, 3 stuck sessions, the dump's session)"
lines=$(printf '%s\n' "$dump" | grep -c .)
[ "$lines" -eq 15 ] || fail "$lines lines in the dump (15 expected)"
if [ "$blocks" != "$(by_root "$expected")" ]; then
    fail "the dump differs from the expected one (roots sorted; - expected, + the server's):"
    by_root "$expected" | tr '\037' '\n' >"$tmp/expected"
    printf '%s\n' "$blocks" | tr '\037' '\n' >"$tmp/actual"
    diff -u "$tmp/expected" "$tmp/actual" | tail -n +3
fi

# ---- JSON: one document, version 2, the same 5 tasks -----------------------------
$bounded curl -s --max-time 5 "$base/json" >"$tmp/json" || fail "GET /json failed"
json_check=$(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("/json does not parse: %s" % e); sys.exit(0)
if d.get("format_version") != 2:
    print("/json: format_version is %r, not 2" % d.get("format_version"))
n = len(d.get("tasks", []))
if n != 5:
    print("/json: %d tasks (5 expected)" % n)
' "$tmp/json" 2>&1)
[ -z "$json_check" ] || fail "$json_check"

# ---- /metrics: tasks per await site, from a snapshot walked in code -----------------
metrics=$($bounded curl -s --max-time 5 "$base/metrics") || fail "GET /metrics failed"
echo "$metrics" | grep -qx "abt_tasks_waiting{site=\"$file:$backend_waits\"} 3" ||
    fail "/metrics: not 3 tasks waiting at backend_call's await ($file:$backend_waits): $metrics"
echo "$metrics" | grep -qx "abt_tasks_waiting{site=\"$file:$listener_waits\"} 1" ||
    fail "/metrics: not 1 task waiting at the listener's accept: $metrics"
echo "$metrics" | grep -qx "abt_tasks 5" || fail "/metrics: not 5 tasks: $metrics"

# ---- /quit: the server exits by itself, with status 0, within 5 s --------------
quit=$($bounded curl -s --max-time 5 "$base/quit")
[ "$quit" = "bye" ] || fail "GET /quit answered '$quit'"
deadline=$(($(now) + 5))
while server_alive && [ "$(now)" -lt "$deadline" ]; do sleep 0.1; done
if server_alive; then
    fail "the server still runs 5 s after /quit"
else
    wait "$server_pid"
    status=$?
    server_pid=
    [ "$status" -eq 0 ] || fail "the server exited with status $status"
fi
for pid in $curl_pids; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
curl_pids=

if [ "$failures" -ne 0 ]; then
    echo "e2e_http: wrk:"
    cat "$tmp/wrk"
    [ -s "$tmp/stderr" ] && { echo "e2e_http: server stderr:"; cat "$tmp/stderr"; }
    echo "e2e_http: the dump:"
    printf '%s\n' "$dump"
    exit 1
fi
echo "$label: ok"
exit 0
