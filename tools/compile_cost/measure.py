#!/usr/bin/env python3
"""Compile cost of async_backtrace.hpp per translation unit (make compile-cost).

Compiles tools/compile_cost/tu.cpp (ABT_FRAMED, ABT_AWAIT, a persistent frame)
and its bare twin (-DABT_COMPILE_COST_BARE: no header, macros defined away)
with g++ and clang++ at -O0 and -O2, in both configurations of the header:
header-only (the default) and separate (-DABT_SEPARATE_IMPLEMENTATION, the
implementation compiled once elsewhere). Runs are interleaved, bare and
instrumented in turn, so that a change in the machine's load hits both; the
table gives the median of each and the difference.

    measure.py [--runs N] [--smoke] [--cxx g++,clang++]

--smoke compiles each configuration once, without timing (part of make test).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TU = os.path.join(HERE, "tu.cpp")
STD = "-std=c++20"
MODES = [("header-only", []), ("separate", ["-DABT_SEPARATE_IMPLEMENTATION"])]


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def compile_once(cxx, flags, out):
    """CPU time (user + system) of one compile, in ms: what a build farm
    pays, and steadier than wall time on a shared machine."""
    cmd = [cxx, STD] + flags + ["-c", TU, "-o", out]
    start = children_cpu_s()
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = children_cpu_s() - start
    if result.returncode != 0:
        sys.exit("failed: " + " ".join(cmd) + "\n" + result.stdout)
    return elapsed * 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per configuration (median; at least 5)")
    parser.add_argument("--smoke", action="store_true", help="compile each configuration once, no timing")
    parser.add_argument("--cxx", default="g++,clang++", help="compilers, comma-separated")
    args = parser.parse_args()
    if not args.smoke and args.runs < 5:
        sys.exit("--runs: at least 5")
    compilers = args.cxx.split(",")
    warnings = ["-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Wconversion", "-Wsign-conversion",
                "-Wold-style-cast", "-Werror"]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tu.o")
        if args.smoke:
            for cxx in compilers:
                for opt in ("-O0", "-O2"):
                    compile_once(cxx, warnings + [opt, "-DABT_COMPILE_COST_BARE"], out)
                    for _, mode_flags in MODES:
                        compile_once(cxx, warnings + [opt] + mode_flags, out)
            print("ok: compile-cost configurations compile (%s, -O0 and -O2, bare, header-only, separate)"
                  % ", ".join(compilers))
            return
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = float("nan")
        print("tools/compile_cost/tu.cpp, %s, CPU time of the compiler (user + system), median of %d runs each, ms "
              "(load average at start: %.2f)"
              % (STD, args.runs, load))
        print("%-9s %-4s %-12s %8s %13s %8s" % ("compiler", "opt", "mode", "bare", "instrumented", "diff"))
        for cxx in compilers:
            for opt in ("-O0", "-O2"):
                bare, instrumented = [], {name: [] for name, _ in MODES}
                for _ in range(args.runs):
                    bare.append(compile_once(cxx, [opt, "-DABT_COMPILE_COST_BARE"], out))
                    for name, mode_flags in MODES:
                        instrumented[name].append(compile_once(cxx, [opt] + mode_flags, out))
                b = statistics.median(bare)
                for name, _ in MODES:
                    i = statistics.median(instrumented[name])
                    print("%-9s %-4s %-12s %8.0f %13.0f %+8.0f" % (cxx, opt, name, b, i, i - b))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
