#!/bin/sh
# tools/abt-lint against its corpus (tests/lint/) and this project's own code.
#  - misses*.cpp: the lines it reports are exactly the lines marked "// MISS"
#    (misses.cpp also with ABT_ENABLED=0, where the macros expand to almost
#    nothing); the flags come from a compile_commands.json (-p); status 1.
#  - correct.cpp (also with ABT_ENABLED=0), tests/*.cpp and examples/*.cpp:
#    nothing, status 0 (--quick: files with no co_await are not parsed).
#  - a file that does not compile: its errors, status 2; no FILE: status 2.
# Needs python3-clang-14 (and clang for --quick). Run from the repository
# root: sh tests/check_lint.sh
set -u
export LC_ALL=C
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lint="tools/abt-lint"
failed=0
fail() { echo "check_lint: FAILED: $1"; failed=1; }

# marked FILE: the lines marked "// MISS"; reported FILE OUTPUT: the lines OUTPUT reports in FILE.
marked() { grep -n '// MISS$' "$1" | cut -d: -f1; }
reported() { grep -F "$1:" "$2" | grep -F ': error: ' | sed "s|^$1:\([0-9]*\):.*|\1|" | sort -n | uniq; }

# ---- The corpus of misses, in one run (files in parallel) -----------------------
# Copies with ABT_ENABLED=0 next to the originals' flags, in a compilation database.
cp tests/lint/misses.cpp "$work/misses_disabled.cpp"
cp tests/lint/correct.cpp "$work/correct_disabled.cpp"
root=$(pwd)
entry() {  # a file (relative to the root, or absolute), then more flags as JSON list items
    printf '  {"directory": "%s", "file": "%s",\n' "$root" "$1"
    printf '   "arguments": ["c++", "-std=c++20", "-I%s", "-I%s/tests"%s, "-c", "%s", "-o", "/dev/null"]}' \
        "$root" "$root" "$2" "$1"
}
{
    echo "["
    entry tests/lint/misses.cpp ""; echo ","
    entry tests/lint/misses_asio.cpp ""; echo ","
    entry "$work/misses_disabled.cpp" ', "-DABT_ENABLED=0"'; echo ","
    entry "$work/correct_disabled.cpp" ', "-DABT_ENABLED=0"'; echo
    echo "]"
} > "$work/compile_commands.json"
"$lint" -p "$work" > "$work/misses.txt" 2> "$work/misses.err"
status=$?
[ $status -eq 1 ] || { fail "exit status $status on the misses (want 1)"; cat "$work/misses.err"; }
for pair in tests/lint/misses.cpp:tests/lint/misses.cpp tests/lint/misses_asio.cpp:tests/lint/misses_asio.cpp \
            "tests/lint/misses.cpp:$work/misses_disabled.cpp"; do
    source=${pair%%:*}
    linted=${pair#*:}
    marked "$source" > "$work/want"
    reported "$linted" "$work/misses.txt" > "$work/got"
    if [ ! -s "$work/want" ]; then
        fail "no // MISS marker in $source"
    elif diff "$work/want" "$work/got" > "$work/diff"; then
        echo "ok: $linted: the $(wc -l < "$work/want") lines marked // MISS and no other"
    else
        fail "$linted: lines marked // MISS (<) against lines reported (>):"
        cat "$work/diff"
    fi
done
if grep -F "$work/correct_disabled.cpp:" "$work/misses.txt"; then
    fail "findings in correct.cpp with ABT_ENABLED=0"
else
    echo "ok: correct.cpp with ABT_ENABLED=0 (and the -p flags): no finding"
fi
lines=$(grep -c ': error: co_await bypasses ABT_AWAIT in framed function' "$work/misses.txt")
[ "$lines" -eq "$(wc -l < "$work/misses.txt")" ] || fail "an output line is not a finding"
sort -t: -k1,1 -k2,2n -s "$work/misses.txt" | cmp -s - "$work/misses.txt" || fail "findings not sorted by file and line"

# ---- Correct code: the corpus's and this project's -------------------------------
files=""
for f in tests/*.cpp examples/*.cpp; do
    case $f in
        tests/two_frames_one_block.cpp) ;;  # must not compile (make check-include)
        *) files="$files $f" ;;
    esac
done
# shellcheck disable=SC2086
"$lint" --quick tests/lint/correct.cpp $files -- -I. -Itests > "$work/correct.txt" 2>&1
status=$?
if [ $status -eq 0 ] && [ ! -s "$work/correct.txt" ]; then
    echo "ok: tests/lint/correct.cpp, tests/*.cpp and examples/*.cpp: no finding, exit status 0"
else
    fail "exit status $status (want 0) or output on correct code:"
    cat "$work/correct.txt"
fi

# ---- Errors -----------------------------------------------------------------------
printf 'int main() { return undeclared; }\n' > "$work/broken.cpp"
"$lint" "$work/broken.cpp" > "$work/broken.txt" 2>&1
status=$?
if [ $status -eq 2 ] && grep -q "use of undeclared identifier 'undeclared'" "$work/broken.txt"; then
    echo "ok: a file that does not compile: its error, exit status 2"
else
    fail "exit status $status on a broken file (want 2, with its error):"
    cat "$work/broken.txt"
fi
"$lint" > /dev/null 2>&1
status=$?
[ $status -eq 2 ] && echo "ok: no FILE: exit status 2" || fail "exit status $status without FILE (want 2)"

exit $failed
