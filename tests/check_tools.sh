#!/bin/sh
# make test: tools/abt-diff on two real JSON dumps (examples/diagnostics diff):
# 6 sessions, then 2 of them finish and 2 start; the other 4 wait at the same
# sites, longer: stuck. Then tools/abt-view on a real dump with an await
# cycle (examples/diagnostics view), rendered to SVG with Graphviz. Then both
# on dumps of tasks 200,002 frames deep (a recursive async walk): no
# recursion, output that does not grow with depth; and both refuse a dump of
# another format_version, saying which one they read.
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

# Deep tasks: BEFORE holds task 1, a chain walk > walk > ... > leaf of 200,002
# frames that waits 1 s; AFTER the same task waiting 2 s, and task 2, like it.
python3 - "$work" 200000 <<'PY' || fail "writing the deep dumps"
import json, sys
levels = int(sys.argv[2])
def task(task_id, wait):
    frames = [{"depth": d, "function": "deep::walk", "file": "deep.cpp", "line": 7, "count": 1, "state": "suspended",
               "await": {"file": "deep.cpp", "line": 9, "what": ""}, "wait_ns": {"min": wait, "max": wait},
               "awaits_task": None, "omitted_frames": 0} for d in range(levels + 2)]
    frames[-1].update(function="deep::leaf", line=3)
    frames[-1]["await"] = {"file": "deep.cpp", "line": 4, "what": ""}
    return {"ids": [task_id], "count": 1, "name": "", "tags": {}, "age_ns": {"min": wait, "max": wait},
            "view": "whole", "frames": frames}
for name, tasks in (("before", [task(1, 10**9)]), ("after", [task(1, 2 * 10**9), task(2, 10**9)])):
    with open("%s/deep-%s.json" % (sys.argv[1], name), "w") as f:
        f.write(json.dumps({"format_version": 2, "generator": "check_tools.sh", "grouped": False, "tasks": tasks,
                            "omitted_tasks": 0, "cycles": []}))
PY
python3 tools/abt-diff "$work/deep-before.json" "$work/deep-after.json" > "$work/diff.txt" 2>&1
[ $? -eq 1 ] || fail "abt-diff on deep tasks: task 1 is stuck (exit 1)"
grep -q '^  task 1: deep::walk > deep::walk > deep::walk > deep::walk > \.\.\. 199993 frames \.\.\. > deep::walk > deep::walk > deep::walk > deep::walk > deep::leaf at deep.cpp:4, waiting 2\.0s (1\.0s before)$' \
  "$work/diff.txt" || fail "abt-diff names the deep task's leaf, its path cut in the middle"
grep -q '^appeared: 1$' "$work/diff.txt" || fail "abt-diff on deep tasks: task 2 appeared"
python3 tools/abt-view "$work/deep-after.json" > "$work/deep.dot" 2> "$work/diff.txt" || fail "abt-view on deep tasks"
[ "$(grep -c ' \[label=' "$work/deep.dot")" -eq 11 ] || fail "abt-view draws a deep chain as 5 + 1 + 5 boxes"
grep -q '\[x2\] deep::walk' "$work/deep.dot" || fail "abt-view groups the two identical deep tasks"
grep -q 'label="\.\.\. 199992 frames (deep::walk) \.\.\."' "$work/deep.dot" || fail "abt-view's box for the chain's middle"
grep -q 'for 1\.0s - 2\.0s", fillcolor="#fff3a0"\];$' "$work/deep.dot" || fail "abt-view merges the deep tasks' times"
python3 tools/abt-view "$work/view.json" --max-boxes 3 > "$work/deep.dot" || fail "abt-view --max-boxes"
[ "$(grep -c ' \[label=' "$work/deep.dot")" -eq 4 ] && grep -q 'more frames not drawn (--max-boxes 3)' "$work/deep.dot" ||
  fail "abt-view --max-boxes 3: three boxes and one that counts the rest"
echo '{"format_version":1,"tasks":[]}' > "$work/old.json"
python3 tools/abt-diff "$work/old.json" "$work/old.json" > "$work/diff.txt" 2>&1
[ $? -eq 2 ] && grep -q 'format_version 1; this tool reads 2' "$work/diff.txt" || fail "abt-diff refuses format_version 1 (exit 2)"
python3 tools/abt-view "$work/old.json" > "$work/diff.txt" 2>&1 && fail "abt-view refuses format_version 1"
grep -q 'format_version 1; this tool reads 2' "$work/diff.txt" || fail "abt-view names the version it read"
echo "ok: abt-diff and abt-view read tasks 200,002 frames deep (a chain drawn as 11 boxes, a path cut) and refuse format_version 1"
