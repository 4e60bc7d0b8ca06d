#!/bin/sh
# make test: tools/abt-diff on two real JSON dumps (examples/diagnostics diff):
# 6 sessions, then 2 of them finish and 2 start; the other 4 wait at the same
# sites, longer: stuck. Then tools/abt-view on a real dump with an await
# cycle (examples/diagnostics view), rendered to SVG with Graphviz.
# Usage: check_tools.sh path/to/diagnostics
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check_tools: FAILED: $1"; cat "$work/diff.txt" 2>/dev/null; exit 1; }

"$1" diff "$work" || fail "the demo did not write its dumps"
python3 tools/abt-diff "$work/before.json" "$work/after.json" --threshold 0.2 > "$work/diff.txt"
[ $? -eq 1 ] || fail "abt-diff should exit 1: tasks stuck longer than 0.2 s"
grep -q '^stuck: 4 ' "$work/diff.txt" || fail "4 stuck tasks"
grep -q '^  task 3 "session" conn=2: server::handle > server::read_request at examples/diagnostics.cpp:[0-9]*, waiting 0\.[3-9]s' \
  "$work/diff.txt" || fail "task 3 is stuck in read_request"
grep -q '^appeared: 2$' "$work/diff.txt" || fail "2 appeared"
grep -q '^  task 7 "session" conn=6: server::handle at examples/diagnostics.cpp:' "$work/diff.txt" || fail "task 7 appeared"
grep -q '^finished: 2$' "$work/diff.txt" || fail "2 finished"
grep -q '^  task 1 "session" conn=0: ' "$work/diff.txt" || fail "task 1 finished"
python3 tools/abt-diff "$work/before.json" "$work/after.json" --threshold 60 > /dev/null
[ $? -eq 0 ] || fail "abt-diff should exit 0: nothing stuck for 60 s"
python3 tools/abt-diff "$work/before.json" "$work/before.json" > "$work/same.txt"
[ $? -eq 0 ] || fail "a dump against itself has nothing stuck (no wait grew)"
echo "ok: abt-diff names the 4 stuck tasks, 2 appeared and 2 finished, with the right exit codes"

"$1" view "$work/view.json" || fail "the demo did not write its dump"
python3 tools/abt-view "$work/view.json" > "$work/view.dot" || fail "abt-view (DOT)"
grep -q '\[x18\] server::handle' "$work/view.dot" || fail "the 18 idle sessions are one group"
grep -q '\[x2\] server::handle' "$work/view.dot" || fail "the 2 stuck sessions are one group"
[ "$(grep -c 'label="waits for"' "$work/view.dot")" -eq 2 ] || fail "the await cycle: two red waits-for edges"
grep -Eq '(f[0-9]+) -> \1 ' "$work/view.dot" && fail "a task of the cycle was grouped with the other (a self-loop)"
python3 tools/abt-view "$work/view.json" -o "$work/view.svg" || fail "abt-view (SVG)"
python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if r.tag.endswith("svg") else 1)' \
  "$work/view.svg" || fail "the SVG does not parse"
grep -q 'waits for' "$work/view.svg" || fail "the SVG has the cycle's edges"
echo "ok: abt-view groups the sessions, draws the await cycle in red and renders an SVG"
