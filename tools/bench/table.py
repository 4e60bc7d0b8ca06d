#!/usr/bin/env python3
"""Prints the summary table of `make bench` from Google Benchmark's JSON output.

Usage: table.py build/bench.json [build/bench-asio.json ...]
Each framed case is shown next to its bare twin from the same run (medians of
the repetitions), with the difference, the ratio and the issue's target.
"""
import json
import os
import sys


def medians(path):
    with open(path) as f:
        data = json.load(f)
    result = {}
    for b in data["benchmarks"]:
        name = b["run_name"] if "run_name" in b else b["name"]
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        entry = result.setdefault(name, b)
        if b.get("aggregate_name") == "median":
            result[name] = b
        else:
            result.setdefault(name, entry)
    return data.get("context", {}), result


def ns(b):
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["real_time"] * scale


def main():
    context, runs = medians(sys.argv[1])
    for more in sys.argv[2:]:  # other binaries' runs (bench-asio)
        runs.update(medians(more)[1])
    cores = context.get("num_cpus", os.cpu_count())
    rows = []

    def pair(label, framed, bare, target, limit_ns=None, limit_ratio=None, per=1):
        if framed not in runs or bare not in runs:
            return
        f, b = ns(runs[framed]) / per, ns(runs[bare]) / per
        diff, ratio = f - b, f / b if b else float("inf")
        ok = (limit_ns is None or diff <= limit_ns) and (limit_ratio is None or ratio <= limit_ratio)
        rows.append((label, f"{f:.1f} ns", f"{b:.1f} ns", f"+{diff:.1f} ns", f"{ratio:.2f}x", target,
                     "met" if ok else "NOT met"))

    pair("1 nested frame", "case1_nested_frame_framed", "case1_nested_frame_bare", "+2 ns", limit_ns=2)
    pair("2 root frame, 1 thread", "case2_root_frame_framed/threads:1", "case2_root_frame_bare/threads:1",
         "+25 ns", limit_ns=25)
    all_cores = f"case2_root_frame_framed/threads:{cores}"
    if all_cores in runs and "case2_root_frame_framed/threads:1" in runs:
        one = ns(runs["case2_root_frame_framed/threads:1"])
        one_bare = ns(runs["case2_root_frame_bare/threads:1"])  # how the machine itself scales
        # With N threads, real_time is wall time over the iterations of all
        # threads: one operation costs each thread N times that.
        many = ns(runs[all_cores]) * cores
        many_bare = ns(runs[f"case2_root_frame_bare/threads:{cores}"]) * cores
        rows.append((f"2 root frame, {cores} threads at once", f"{many:.1f} ns/op/thread",
                     f"{many_bare:.1f} ns", f"+{many - many_bare:.1f} ns",
                     f"{many / one:.2f}x of 1 thread (bare: {many_bare / one_bare:.2f}x)", "<= 2x of 1 thread",
                     "met" if many <= 2 * one else "NOT met"))
    pair("3 ABT_AWAIT suspend+resume", "case3_await_framed", "case3_await_bare", "+5 ns", limit_ns=5)
    pair("4 chain of 10 lazy tasks", "case4_chain10_framed", "case4_chain10_bare", "<= 1.50x", limit_ratio=1.50)
    pair("3p plain co_await (framed_promise)", "case3_await_plain", "case3_await_bare", "+5 ns", limit_ns=5)
    pair("3u unframed, framed_promise type", "case3_await_hooked_unframed", "case3_await_bare",
         "+0.5 ns", limit_ns=0.5)
    pair("4p chain of 10, plain co_await", "case4_chain10_plain", "case4_chain10_bare", "<= 1.50x",
         limit_ratio=1.50)
    pair("4u chain of 10, unframed, framed_promise", "case4_chain10_hooked_unframed", "case4_chain10_bare",
         "<= 1.02x", limit_ratio=1.02)
    pair("5 persistent frame, 10 callbacks", "case5_callbacks10_framed", "case5_callbacks10_bare", "(none)")
    for n in ("10000", "100000"):
        name = f"case6_dump/{n}/iterations:5"
        if name in runs:
            b = runs[name]
            ms = ns(b) / 1e6
            target = "<= 50 ms" if n == "100000" else "(none)"
            ok = ms <= 50 or n != "100000"
            rows.append((f"6 dump of {int(n):,} tasks x 3 frames", f"{ms:.1f} ms", "-",
                         f"{b.get('heap_bytes_held', 0) / 1e6:.1f} MB held", "-", target, "met" if ok else "NOT met"))
    for kind, label, limit in (("0", "8 plain tree of 1,000,000 tasks x 3 frames", 500),
                               ("1", "8 dump() of 1,000,000 tasks, rich", 500),
                               ("2", "8 dump() of 1,000,000 tasks, grouped", 1000)):
        name = f"case8_dump_million/{kind}/iterations:3"
        if name in runs:
            b = runs[name]
            ms = ns(b) / 1e6
            heap = b.get("peak_extra_heap_bytes", 0) / 1e6
            what = "the returned string" if kind == "0" else "peak extra heap"
            rows.append((label, f"{ms:.0f} ms", "-", f"{heap:.1f} MB {what}", "-", f"<= {limit} ms",
                         "met" if ms <= limit else "NOT met"))
    memory = "case9_memory_suspended_tasks/iterations:1"
    if memory in runs:  # bytes per frame, the frame and its ABT_AWAIT's awaiter together
        b = runs[memory]
        per = b["bytes_per_frame"]
        rows.append((f"9 memory, {int(b['tasks']):,} suspended tasks x 3 frames",
                     f"{b['framed_bytes'] / 1e6:.1f} MB", f"{b['bare_bytes'] / 1e6:.1f} MB",
                     f"+{per:.0f} B per frame",
                     f"sizeof frame {int(b['sizeof_frame'])}, persistent {int(b['sizeof_persistent_frame'])}, "
                     f"awaiter +{int(b['sizeof_awaiter_extra'])}",
                     "<= 96 B per frame", "met" if per <= 96 else "NOT met"))
    if "reference_spinlock_lock_unlock" in runs:
        rows.append(("reference: spinlock lock+unlock", f"{ns(runs['reference_spinlock_lock_unlock']):.1f} ns", "-",
                     "-", "-", "(uncontended)", "-"))
    if "asio_post_framed" in runs and "asio_post_bare" in runs:
        per = runs["asio_post_framed"].get("posts", 1000)
        pair("asio: co_await asio::post, per op", "asio_post_framed", "asio_post_bare", "+15 ns", limit_ns=15, per=per)
    for case, label in (("case7_nested_frame_during_dumps", "7 nested frame p99.9, dumping"),
                        ("case7_root_frame_during_dumps", "7 root frame p99.9, dumping")):
        quiet, busy = f"{case}/0/iterations:20000", f"{case}/1/iterations:20000"
        if quiet in runs and busy in runs:
            p = runs[busy]["p999_ns"]
            rows.append((label, f"{p:.0f} ns", f"{runs[quiet]['p999_ns']:.0f} ns (no dumps)",
                         f"median {runs[busy]['median_ns']:.1f} ns", "-", "p99.9 < 1000 ns",
                         "met" if p < 1000 else "NOT met"))
    for case, label in (("case7_lock_wait_deep_task/iterations:5", "7 lock wait, dump of a 200,002-frame task"),
                        ("case7_lock_wait_million_tasks/iterations:3", "7 lock wait, dump of 1,000,000 tasks")):
        if case in runs:
            b = runs[case]
            p = b["lock_wait_p9999_us"]
            rows.append((label, f"p99.99 {p:.0f} us", "-", f"max {b['lock_wait_max_us']:.0f} us",
                         f"dump {ns(b) / 1e6:.0f} ms", "p99.99 <= 500 us", "met" if p <= 500 else "NOT met"))

    header = ("case", "framed", "bare", "difference", "ratio", "target", "status")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(f"\nasync_backtrace.hpp benchmarks: {cores} cores, medians of the repetitions")
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))


if __name__ == "__main__":
    main()
