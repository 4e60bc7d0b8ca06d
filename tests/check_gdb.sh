#!/bin/sh
# make test: tools/abt_gdb.py prints, from a live process (gdb -p) and from a
# core file (gcore), the same tree as the program's own taskdump_tree(false).
# Usage: check_gdb.sh TARGET_BINARY   (built from tests/gdb_target.cpp)
# Bounded: every step has a timeout; the target is killed by its PID.
set -u
target=$1
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "check_gdb: FAILED ($target): $1"; exit 1; }

"$target" > "$work/inprocess.txt" 2> "$work/inprocess-grouped.txt" &
pid=$!
for _ in $(seq 100); do [ -s "$work/inprocess.txt" ] && break; sleep 0.1; done
sleep 0.2
[ -s "$work/inprocess.txt" ] || fail "the target printed no dump"

timeout 60 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" -ex "abt-dump --output $work/live.txt" \
  >"$work/gdb-live.log" 2>&1 || fail "gdb -p: $(tail -3 "$work/gdb-live.log")"
diff -u "$work/inprocess.txt" "$work/live.txt" || fail "the live process's tree differs from the in-process dump"
timeout 60 gdb -nx -batch -p "$pid" -ex "source tools/abt_gdb.py" -ex "abt-dump --group --output $work/live-grouped.txt" \
  -ex "abt-dump --json --output $work/live.json" >"$work/gdb-live2.log" 2>&1 || fail "gdb -p (--group, --json): $(tail -3 "$work/gdb-live2.log")"
diff -u "$work/inprocess-grouped.txt" "$work/live-grouped.txt" || fail "--group differs from the in-process grouped dump"
python3 - "$work/live.json" <<'PY' || fail "--json: not the expected document"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
assert doc["format_version"] == 1 and doc["times_relative_to"] == "now", doc.get("times_relative_to")
tasks = doc["tasks"]
assert len(tasks) == 6, len(tasks)
foo = tasks[0]["root"]
assert foo["function"] == "target::foo" and foo["state"] == "suspended" and foo["wait_ns"]["min"] >= 0
assert [c["function"] for c in foo["children"][0]["children"]] == ["target::buz", "target::fiz"]
assert tasks[4]["root"]["state"] == "idle" and tasks[4]["root"]["await"]["what"] == "socket read"
assert tasks[5]["view"] == "running" and tasks[5]["root"]["function"] == "busy_worker"
assert all(t["ids"][0] > 0 and t["age_ns"]["min"] >= 0 for t in tasks)
PY

timeout 60 gcore -o "$work/core" "$pid" >"$work/gcore.log" 2>&1 || fail "gcore: $(tail -3 "$work/gcore.log")"

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
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if len(d["tasks"]) == 6 and "core" in d["times_relative_to"] else 1)' \
  "$work/core.json" || fail "--json on the core file"
echo "ok: abt-dump ($target): live process and core file match the in-process dump ($(wc -l < "$work/inprocess.txt") lines); a torn list is marked and skipped"
