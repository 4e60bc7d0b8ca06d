// The deep task of the dump tests, the gdb test and `make bench-deep`: a
// framed coroutine that recurses (a recursive async walk), walk(d) awaiting
// walk(d - 1), then leaf(), which waits for `release`: one task of depth + 2
// frames. And a way to run code on a thread with a stack of a given size.
#ifndef ABT_TESTS_DEEP_CHAIN_HPP
#define ABT_TESTS_DEEP_CHAIN_HPP

#include "../async_backtrace.hpp"
#include "coro.hpp"

#include <cstddef>
#include <cstdlib>
#include <functional>
#include <pthread.h>
#include <vector>

namespace deep_chain {

inline coro::event release;
inline bool record_backtrace = false;
inline std::vector<abt::location> leaf_backtrace;  // abt::backtrace() in leaf(), if recorded

inline coro::task<> leaf() {
    ABT_FRAMED();
    if (record_backtrace) leaf_backtrace = abt::backtrace();  // from the innermost frame
    co_await ABT_AWAIT(release.wait());
}
inline coro::task<> walk(int depth) {
    ABT_FRAMED();
    if (depth == 0)
        co_await ABT_AWAIT(leaf());
    else
        co_await ABT_AWAIT(walk(depth - 1));
}

/// Runs f on a thread with a stack of `bytes` (reserved, used as needed),
/// and waits for it. Making or ending a deep chain nests one call per level
/// where symmetric transfer is not a tail call (builds without sibling-call
/// optimisation: -O0, -O1); a dump must work on a small stack.
inline void on_stack_of(std::size_t bytes, std::function<void()> f) {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, bytes) != 0) std::abort();
    pthread_t thread;
    auto run = [](void* p) -> void* {
        (*static_cast<std::function<void()>*>(p))();
        return nullptr;
    };
    if (pthread_create(&thread, &attr, run, &f) != 0) std::abort();
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
}

}  // namespace deep_chain

#endif
