// The instrumented code of the benchmark cases and its bare twins, shared by
// bench.cpp (timings) and hotpath.cpp (instruction counts).
#ifndef ABT_BENCH_CASES_HPP
#define ABT_BENCH_CASES_HPP

#include "../../async_backtrace.hpp"
#include "../../tests/coro.hpp"

#include <coroutine>

#define BENCH_NOINLINE __attribute__((noinline))

namespace bench_cases {

/// Keeps x in a register the compiler must assume is read and changed.
inline void opaque(int& x) { asm volatile("" : "+r"(x)); }

// ---- cases 1, 2: a framed call ------------------------------------------------
BENCH_NOINLINE inline int nested_framed(int x) {
    ABT_FRAMED();
    opaque(x);
    return x + 1;
}
BENCH_NOINLINE inline int nested_bare(int x) {
    opaque(x);
    return x + 1;
}

// ---- case 3: one suspend + resume ----------------------------------------------
/// Suspends and leaves the handle where the benchmark loop resumes it.
struct park {
    std::coroutine_handle<>* slot;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { *slot = h; }
    void await_resume() noexcept {}
};
inline coro::detached await_loop_framed(std::coroutine_handle<>* slot, const bool* stop) {
    ABT_FRAMED();
    while (!*stop) co_await ABT_AWAIT(park{slot});
}
inline coro::detached await_loop_bare(std::coroutine_handle<>* slot, const bool* stop) {
    while (!*stop) co_await park{slot};
}

// ---- case 4: a chain of lazy tasks, each awaiting the next ------------------------
inline coro::task<int> chain_framed(int depth) {
    ABT_FRAMED();
    if (depth == 0) co_return 1;
    co_return 1 + co_await ABT_AWAIT(chain_framed(depth - 1));
}
inline coro::task<int> chain_bare(int depth) {
    if (depth == 0) co_return 1;
    co_return 1 + co_await chain_bare(depth - 1);
}

}  // namespace bench_cases

#endif
