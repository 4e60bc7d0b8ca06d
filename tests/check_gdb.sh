#!/bin/sh
# make test: tools/abt_gdb.py prints, from a live process (gdb -p) and from a
# core file (gcore), the same tree as the program's own taskdump_tree(false).
# Usage: check_gdb.sh TARGET_BINARY             (built from tests/gdb_target.cpp)
#        check_gdb.sh --deep DEPTH DEEP_BINARY  (built from tests/gdb_deep.cpp): one task DEPTH + 2 frames
#        deep (a recursive async walk), far past Python's recursion limit (about 1,000); prints how long
#        each gdb session took. The lines follow the header's rule for deep trees ("[depth N]" below 32).
# Bounded: every step has a timeout; the target is killed by its PID.
set -u
deep=
if [ "$1" = --deep ]; then deep=$2; shift 2; fi
[ -z "$deep" ] || [ "$deep" -ge 40 ] || { echo "check_gdb: --deep wants a DEPTH of 40 or more"; exit 2; }
target=$1
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "check_gdb: FAILED ($target${deep:+ --deep $deep}): $1"; exit 1; }
now() { date +%s.%N; }
seconds_since() { awk -v from="$1" -v to="$(now)" 'BEGIN { printf "%.1f", to - from }'; }

if [ -n "$deep" ]; then
  frames=$((deep + 2))  # walk(DEPTH) ... walk(0), then leaf()
  "$target" "$deep" > "$work/inprocess.txt" &
  pid=$!
  for _ in $(seq 600); do [ "$(wc -l < "$work/inprocess.txt")" -ge "$frames" ] && break; sleep 0.1; done
  [ "$(wc -l < "$work/inprocess.txt")" -eq "$frames" ] || fail "the target did not print its $frames-line dump"
  # The program's own dump follows the rule (so the tool, whose output must be the same, does too): depth 32
  # has the seed's indentation, deeper lines that of depth 32 and a marker, and no line grows with depth.
  indent=$(printf '%95s' '')  # "  " and 31 levels of "   " (every frame of a chain is its parent's last)
  sed -n 33p "$work/inprocess.txt" | grep -q "^$indent└╼ deep_chain::walk at " || fail "line 33 (depth 32) is indented 32 levels"
  sed -n 34p "$work/inprocess.txt" | grep -q "^$indent└╼ \[depth 33\] deep_chain::walk at " || fail "line 34 has [depth 33]"
  tail -1 "$work/inprocess.txt" | grep -q "^$indent└╼ \[depth $((frames - 1))\] deep_chain::leaf at " ||
    fail "the last line is the leaf, [depth $((frames - 1))]"
  [ "$(grep -c '\[depth ' "$work/inprocess.txt")" -eq $((frames - 33)) ] || fail "every line below depth 32 is marked"
  [ "$(awk 'length > 300' "$work/inprocess.txt" | wc -l)" -eq 0 ] || fail "a line longer than 300 bytes"

  start=$(now)
  timeout 300 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" -ex "abt-dump --output $work/live.txt" \
    >"$work/gdb-live.log" 2>&1 || fail "gdb -p: $(tail -3 "$work/gdb-live.log")"
  live=$(seconds_since "$start")
  diff -q "$work/inprocess.txt" "$work/live.txt" >/dev/null || fail "the live process's tree differs from the in-process dump"
  start=$(now)
  timeout 300 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" -ex "abt-dump --group --output $work/live-grouped.txt" \
    >"$work/gdb-live2.log" 2>&1 || fail "gdb -p (--group): $(tail -3 "$work/gdb-live2.log")"
  grouped=$(seconds_since "$start")
  diff -q "$work/inprocess.txt" "$work/live-grouped.txt" >/dev/null || fail "--group differs from the in-process dump (a chain)"
  start=$(now)
  timeout 300 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" -ex "abt-dump --json --output $work/live.json" \
    >"$work/gdb-live3.log" 2>&1 || fail "gdb -p (--json): $(tail -3 "$work/gdb-live3.log")"
  json=$(seconds_since "$start")
  python3 - "$work/live.json" "$deep" <<'PY' || fail "--json: not the expected document"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))  # flat frames: no nesting limit to meet
levels = int(sys.argv[2])
assert doc["format_version"] == 2, doc["format_version"]
(task,) = doc["tasks"]
frames = task["frames"]
assert task["view"] == "whole" and len(frames) == levels + 2, (task["view"], len(frames))
assert all(f["depth"] == i for i, f in enumerate(frames)), "depths 0, 1, 2, ... (a chain)"
assert all(f["function"] == "deep_chain::walk" for f in frames[:-1]) and frames[-1]["function"] == "deep_chain::leaf"
assert all(f["state"] == "suspended" and f["await"]["line"] > 0 and f["wait_ns"]["min"] >= 0 for f in frames)
PY
  timeout 120 gcore -o "$work/core" "$pid" >"$work/gcore.log" 2>&1 || fail "gcore: $(tail -3 "$work/gcore.log")"
  kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
  start=$(now)
  timeout 300 gdb -nx -batch -ex "source tools/abt_gdb.py" -ex "abt-dump --output $work/core.txt" "$target" "$work"/core.* \
    >"$work/gdb-core.log" 2>&1 || fail "gdb on the core: $(tail -3 "$work/gdb-core.log")"
  core=$(seconds_since "$start")
  diff -q "$work/inprocess.txt" "$work/core.txt" >/dev/null || fail "the core file's tree differs from the in-process dump"
  echo "ok: abt-dump on a task $frames frames deep matches the in-process dumps ([depth N] below 32 levels);" \
    "gdb sessions: live ${live} s, --group ${grouped} s, --json ${json} s (JSON parses), core file ${core} s"
  exit 0
fi

started_ns=$(date +%s%N)
"$target" > "$work/inprocess.txt" 2> "$work/inprocess-grouped.txt" &
pid=$!
for _ in $(seq 100); do [ -s "$work/inprocess.txt" ] && break; sleep 0.1; done
sleep 0.2
[ -s "$work/inprocess.txt" ] || fail "the target printed no dump"
hung_ns=$(date +%s%N)  # every task has waited since before this moment

timeout 60 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" -ex "abt-dump --output $work/live.txt" \
  >"$work/gdb-live.log" 2>&1 || fail "gdb -p: $(tail -3 "$work/gdb-live.log")"
diff -u "$work/inprocess.txt" "$work/live.txt" || fail "the live process's tree differs from the in-process dump"
timeout 60 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" -ex "abt-dump --group --output $work/live-grouped.txt" \
  -ex "abt-dump --json --output $work/live.json" >"$work/gdb-live2.log" 2>&1 || fail "gdb -p (--group, --json): $(tail -3 "$work/gdb-live2.log")"
diff -u "$work/inprocess-grouped.txt" "$work/live-grouped.txt" || fail "--group differs from the in-process grouped dump"
python3 - "$work/live.json" <<'PY' || fail "--json: not the expected document"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
assert doc["format_version"] == 2 and doc["times_relative_to"] == "now", doc.get("times_relative_to")
assert list(doc) == ["format_version", "generator", "grouped", "times_relative_to", "tasks", "omitted_tasks", "cycles"]
tasks = doc["tasks"]
assert len(tasks) == 6, len(tasks)
foo = tasks[0]["frames"]
assert [(f["depth"], f["function"]) for f in foo] == [(0, "target::foo"), (1, "target::bar"), (2, "target::buz"),
                                                      (3, "target::baz"), (2, "target::fiz")], foo
assert foo[0]["state"] == "suspended" and foo[0]["wait_ns"]["min"] >= 0 and "children" not in foo[0]
assert tasks[4]["frames"][0]["state"] == "idle" and tasks[4]["frames"][0]["await"]["what"] == "socket read"
assert tasks[5]["view"] == "running" and [f["function"] for f in tasks[5]["frames"]] == ["busy_worker"]
assert all(t["ids"][0] > 0 and t["age_ns"]["min"] >= 0 for t in tasks)
PY

# The core is taken seconds after the hang (the live checks above take that
# long; at least 1.5 s): its times must run up to the moment it was written.
while [ $(( $(date +%s%N) - hung_ns )) -lt 1500000000 ]; do sleep 0.1; done
core_from_ns=$(date +%s%N)
timeout 60 gcore -o "$work/core" "$pid" >"$work/gcore.log" 2>&1 || fail "gcore: $(tail -3 "$work/gcore.log")"
core_to_ns=$(date +%s%N)

# A torn sibling list inside a task: buz's next sibling (fiz) now points at
# unreadable memory. The tool marks fiz's place and goes on with the rest;
# the pointer is restored after the dump. (u32 index 14 is frame_next_sibling.)
timeout 60 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" \
  -ex 'set $l = (unsigned int*)&abt_debug_layout' \
  -ex 'set $registry = *(unsigned long*)((char*)&abt_debug_layout + 16)' \
  -ex 'set $root = *(unsigned long*)($registry + $l[8] + $l[13])' \
  -ex 'set $buz = *(unsigned long*)(*(unsigned long*)($root + $l[13]) + $l[13])' \
  -ex 'set $fiz = *(unsigned long*)($buz + $l[14])' \
  -ex 'set var *(unsigned long*)($buz + $l[14]) = 8' \
  -ex "abt-dump --output $work/torn-sibling.txt" -ex 'set var *(unsigned long*)($buz + $l[14]) = $fiz' \
  >"$work/gdb-torn-sibling.log" 2>&1 || fail "gdb on a torn sibling list: $(tail -3 "$work/gdb-torn-sibling.log")"
sed -n 5p "$work/torn-sibling.txt" | grep -q '^     └┈ \[unreadable: ' || fail "fiz's place is marked unreadable"
sed 5d "$work/torn-sibling.txt" > "$work/torn-sibling-rest.txt"
sed 5d "$work/inprocess.txt" | diff - "$work/torn-sibling-rest.txt" || fail "every other frame and task is printed"

# A torn registry: the first task's child list now points at unreadable
# memory. The tool marks it and still prints every other task. (Through the
# exported offsets: u32 index 8 is registry_tasks, 13 frame_first_child.)
timeout 60 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" \
  -ex 'set $l = (unsigned int*)&abt_debug_layout' \
  -ex 'set $registry = *(unsigned long*)((char*)&abt_debug_layout + 16)' \
  -ex 'set $root = *(unsigned long*)($registry + $l[8] + $l[13])' \
  -ex 'set var *(unsigned long*)($root + $l[13]) = 8' \
  -ex "abt-dump --output $work/torn.txt" >"$work/gdb-torn.log" 2>&1 || fail "gdb on a torn registry: $(tail -3 "$work/gdb-torn.log")"
head -1 "$work/torn.txt" | grep -q '^.* target::foo at ' || fail "the torn task's root is still shown"
sed -n 2p "$work/torn.txt" | grep -q '\[unreadable' || fail "the torn child list is marked unreadable"
tail -n +6 "$work/inprocess.txt" > "$work/expected-rest.txt"  # the in-process dump after foo's 5 lines
tail -n +3 "$work/torn.txt" > "$work/torn-rest.txt"           # after foo's root and the unreadable mark
diff "$work/expected-rest.txt" "$work/torn-rest.txt" || fail "the tasks after the torn one are all printed"
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=
timeout 60 gdb -nx -batch -ex "source tools/abt_gdb.py" -ex "abt-dump --output $work/core.txt" \
  -ex "abt-dump --json --output $work/core.json" "$target" "$work"/core.* \
  >"$work/gdb-core.log" 2>&1 || fail "gdb on the core: $(tail -3 "$work/gdb-core.log")"
diff -u "$work/inprocess.txt" "$work/core.txt" || fail "the core file's tree differs from the in-process dump"
python3 - "$work/core.json" $(( core_from_ns - hung_ns )) $(( core_to_ns - started_ns )) <<'PY' || fail "--json on the core file: times up to the core's writing"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
at_least, at_most = int(sys.argv[2]) - 50_000_000, int(sys.argv[3]) + 1_000_000_000  # the coarse clock: a few ms
assert doc["format_version"] == 2 and len(doc["tasks"]) == 6, doc
assert doc["times_relative_to"] == "the time the core file was written", doc["times_relative_to"]
for t in doc["tasks"]:
    assert at_least <= t["age_ns"]["min"] <= at_most, (t["ids"], t["age_ns"], at_least, at_most)
    for f in t["frames"]:
        if f["wait_ns"] is not None:
            assert at_least <= f["wait_ns"]["min"] <= at_most, (t["ids"], f["function"], f["wait_ns"], at_least)
PY
echo "ok: abt-dump ($target): live process and core file match the in-process dump ($(wc -l < "$work/inprocess.txt") lines); torn lists are marked, and the walk goes on"
