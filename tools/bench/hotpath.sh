#!/bin/sh
# Instructions per operation of each hot path, framed and bare (make hotpath):
# callgrind's total for N=11000 minus N=1000 operations, divided by 10000.
# Then the assembly of case 1's framed function. Usage: hotpath.sh HOTPATH [HOTPATH_ASIO]
set -e
bin=$1
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,; }
printf '%-28s %12s %12s\n' "case" "framed" "bare"
for c in 1 2 3 4 5 6 7 8; do
  case $c in 1) name="1 nested frame";; 2) name="2 root frame (new task)";; 3) name="3 ABT_AWAIT suspend+resume";;
    4) name="4 chain of 10 lazy tasks";; 5) name="3p plain co_await";; 6) name="3u unframed, framed_promise";;
    7) name="4p chain, plain co_await";; 8) name="4u chain, unframed, f_p";; esac
  f=$(( ($(count $c 11000) - $(count $c 1000)) / 10000 ))
  b=$(( ($(count $c 11000 bare) - $(count $c 1000 bare)) / 10000 ))
  printf '%-28s %12s %12s\n' "$name" "$f instr" "$b instr"
done
if [ -n "$2" ]; then  # hotpath-asio: co_await asio::post, ABT_USE_AWAITABLE against use_awaitable
  asio_bin=$2
  f=$(( ($(bin=$asio_bin; count 11000) - $(bin=$asio_bin; count 1000)) / 10000 ))
  b=$(( ($(bin=$asio_bin; count 11000 bare) - $(bin=$asio_bin; count 1000 bare)) / 10000 ))
  printf '%-28s %12s %12s\n' "asio post (token)" "$f instr" "$b instr"
fi
echo
echo "case 1, the framed function (objdump -d):"
objdump -d --no-show-raw-insn -C "$bin" | awk '/<bench_cases::nested_framed\(int\)>:$/,/^$/'
