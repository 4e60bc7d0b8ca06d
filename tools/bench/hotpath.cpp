// Runs one benchmark case N times, for instruction counts (make hotpath):
// callgrind counts the whole run for two values of N, and the difference
// divided by the difference in N is the cost of one operation, free of
// start-up and of the benchmark library. Usage: hotpath CASE N [bare]
//   CASE 1: a nested framed call in a running task      (bench case 1)
//   CASE 2: a framed call with no active frame: a task  (bench case 2)
//   CASE 3: one ABT_AWAIT suspension and resumption     (bench case 3)
//   CASE 4: a chain of 10 lazy tasks, run to the end    (bench case 4)
// With "bare", the same code without instrumentation.
#include "cases.hpp"

#include <cstdlib>
#include <cstring>

namespace {

int sink;

using namespace bench_cases;

template <int (*Call)(int)>
BENCH_NOINLINE void nested_in_task(int n) {
    ABT_FRAMED("task");
    int x = 0;
    for (int i = 0; i < n; ++i) x = Call(x);
    sink = x;
}
template <int (*Call)(int)>
BENCH_NOINLINE void new_tasks(int n) {
    int x = 0;
    for (int i = 0; i < n; ++i) x = Call(x);
    sink = x;
}
template <coro::detached (*Loop)(std::coroutine_handle<>*, const bool*)>
BENCH_NOINLINE void await_loop(int n) {
    std::coroutine_handle<> h;
    bool stop = false;
    Loop(&h, &stop);
    for (int i = 0; i < n; ++i) h.resume();
    stop = true;
    h.resume();
}
template <coro::task<int> (*Chain)(int)>
BENCH_NOINLINE void chains(int n) {
    for (int i = 0; i < n; ++i) {
        coro::task<int> t = Chain(9);
        t.start();
        sink += t.result();
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    const int which = std::atoi(argv[1]);
    const int n = std::atoi(argv[2]);
    const bool bare = argc > 3 && std::strcmp(argv[3], "bare") == 0;
    switch (which) {
        case 1: bare ? nested_in_task<nested_bare>(n) : nested_in_task<nested_framed>(n); break;
        case 2: bare ? new_tasks<nested_bare>(n) : new_tasks<nested_framed>(n); break;
        case 3: bare ? await_loop<await_loop_bare>(n) : await_loop<await_loop_framed>(n); break;
        case 4: bare ? chains<chain_bare>(n) : chains<chain_framed>(n); break;
        default: return 2;
    }
    return 0;
}
