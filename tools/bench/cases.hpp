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

// ---- cases 3 and 4 with abt::framed_promise: plain co_await ----------------------
/// coro::detached with the line that makes plain co_await framed.
struct hooked_detached {
    struct promise_type : abt::framed_promise {
        hooked_detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};
using hooked_task = coro::basic_task<int, abt::framed_promise>;

inline hooked_detached await_loop_plain(std::coroutine_handle<>* slot, const bool* stop) {
    ABT_FRAMED();
    while (!*stop) co_await park{slot};
}
/// Unframed, of a framed_promise type: what the hook costs code that does not use it.
inline hooked_detached await_loop_hooked_unframed(std::coroutine_handle<>* slot, const bool* stop) {
    while (!*stop) co_await park{slot};
}
inline hooked_task chain_plain(int depth) {
    ABT_FRAMED();
    if (depth == 0) co_return 1;
    co_return 1 + co_await chain_plain(depth - 1);
}
inline hooked_task chain_hooked_unframed(int depth) {
    if (depth == 0) co_return 1;
    co_return 1 + co_await chain_hooked_unframed(depth - 1);
}

}  // namespace bench_cases

#endif
