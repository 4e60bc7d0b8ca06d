// Runs one benchmark case N times, for instruction counts (make hotpath):
// callgrind counts the whole run for two values of N, and the difference
// divided by the difference in N is the cost of one operation, free of
// start-up and of the benchmark library. Usage: hotpath CASE N [bare]
//   CASE 1: a nested framed call in a running task      (bench case 1)
//   CASE 2: a framed call with no active frame: a task  (bench case 2)
//   CASE 3: one ABT_AWAIT suspension and resumption     (bench case 3)
//   CASE 4: a chain of 10 lazy tasks, run to the end    (bench case 4)
//   CASE 5, 6: case 3 with abt::framed_promise: a plain co_await in a framed
//           coroutine, and an unframed coroutine of that type (3p, 3u)
//   CASE 7, 8: case 4 the same way (4p, 4u)
// With "bare", the same code without instrumentation (for 5 to 8: case 3's
// or case 4's bare twin).
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
template <auto Loop>
BENCH_NOINLINE void await_loop(int n) {
    std::coroutine_handle<> h;
    bool stop = false;
    Loop(&h, &stop);
    for (int i = 0; i < n; ++i) h.resume();
    stop = true;
    h.resume();
}
template <auto Chain>
BENCH_NOINLINE void chains(int n) {
    for (int i = 0; i < n; ++i) {
        auto t = Chain(9);
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
        case 5: bare ? await_loop<await_loop_bare>(n) : await_loop<await_loop_plain>(n); break;
        case 6: bare ? await_loop<await_loop_bare>(n) : await_loop<await_loop_hooked_unframed>(n); break;
        case 7: bare ? chains<chain_bare>(n) : chains<chain_plain>(n); break;
        case 8: bare ? chains<chain_bare>(n) : chains<chain_hooked_unframed>(n); break;
        default: return 2;
    }
    return 0;
}
