// tools/abt-lint corpus, asio coroutines (standalone asio): every line marked
// with the comment MISS (upper case, at the end of the line) has exactly one
// co_await that bypasses the header in a framed function, and no other line
// has one. Never run; it compiles:
// `g++ -std=c++20 -fsyntax-only -I. tests/lint/misses_asio.cpp`.
#include "async_backtrace_asio.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>

#include <chrono>

namespace lint_asio {

using asio::awaitable;

#define LINT_TOKEN ABT_USE_AWAITABLE                      // a user macro for the token: fine
#define LINT_PLAIN_WAIT(t) co_await (t).async_wait(asio::use_awaitable)

awaitable<void> child() {
    ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(1));
    co_await timer.async_wait(ABT_USE_AWAITABLE);
}

awaitable<int> child_int() {
    co_await child();
    co_return 1;
}

awaitable<void> operations() {
    ABT_FRAMED();
    auto ex = co_await asio::this_coro::executor;  // never suspends: fine
    asio::steady_timer timer(ex, std::chrono::seconds(1));
    co_await timer.async_wait(asio::use_awaitable);  // MISS
    co_await timer.async_wait(ABT_USE_AWAITABLE);
    co_await timer.async_wait(LINT_TOKEN);
    co_await asio::post(ex, asio::use_awaitable);  // MISS
    co_await asio::post(ex, ABT_USE_AWAITABLE);
    co_await asio::co_spawn(ex, child(), asio::use_awaitable);  // MISS
    co_await asio::co_spawn(ex, child(), ABT_USE_AWAITABLE);
    co_await asio::co_spawn(co_await asio::this_coro::executor, child(), ABT_USE_AWAITABLE);
    co_await asio::co_spawn(co_await asio::this_coro::executor, child(), asio::use_awaitable);  // MISS
    co_await child();  // another asio coroutine: asio runs it as a child, fine
    const int v = co_await child_int();
    static_cast<void>(v);
    auto [e1] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));  // MISS
    auto [e2] = co_await timer.async_wait(asio::experimental::as_tuple(ABT_USE_AWAITABLE));
    static_cast<void>(e1);
    static_cast<void>(e2);
    co_await timer.async_wait(  // MISS
        asio::use_awaitable);
    LINT_PLAIN_WAIT(timer);  // MISS
    // co_await timer.async_wait(asio::use_awaitable); in a comment
    const char* s = "co_await timer.async_wait(asio::use_awaitable);";
    static_cast<void>(s);
}

awaitable<void> parallel_group() {
    ABT_FRAMED();
    auto ex = co_await asio::this_coro::executor;
    auto [order1, a1, b1] = co_await asio::experimental::make_parallel_group(
                                asio::co_spawn(ex, child(), asio::experimental::deferred),
                                asio::co_spawn(ex, child(), asio::experimental::deferred))
                                .async_wait(asio::experimental::wait_for_all(), ABT_USE_AWAITABLE_JOIN);
    auto [order2, a2, b2] = co_await asio::experimental::make_parallel_group(  // MISS
                                asio::co_spawn(ex, child(), asio::experimental::deferred),
                                asio::co_spawn(ex, child(), asio::experimental::deferred))
                                .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    static_cast<void>(order1);
    static_cast<void>(order2);
    static_cast<void>(a1);
    static_cast<void>(a2);
    static_cast<void>(b1);
    static_cast<void>(b2);
}

namespace with_asio_operators {
using namespace asio::experimental::awaitable_operators;
awaitable<void> joins() {
    ABT_FRAMED();
    co_await (child() && child());  // MISS
    co_await (child_int() || child_int());  // MISS
}
}  // namespace with_asio_operators

namespace with_abt_operators {
using namespace abt::asio_support::awaitable_operators;
awaitable<void> joins() {
    ABT_FRAMED();
    co_await (child() && child());
    co_await (child_int() || child_int());
    co_await (child() && child() && child());
}
}  // namespace with_abt_operators

// Unframed: anything goes.
awaitable<void> unframed() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    co_await timer.async_wait(asio::use_awaitable);
    {
        ABT_FRAMED("inner");
        co_await timer.async_wait(asio::use_awaitable);  // MISS
    }
    co_await timer.async_wait(asio::use_awaitable);
}

auto lambdas() {
    return []() -> awaitable<void> {
        ABT_FRAMED();
        asio::steady_timer timer(co_await asio::this_coro::executor);
        co_await timer.async_wait(asio::use_awaitable);  // MISS
        co_await [&]() -> awaitable<void> { co_await timer.async_wait(asio::use_awaitable); }();
    };
}

template <class Timer>
awaitable<void> template_coroutine(Timer& timer) {
    ABT_FRAMED();
    co_await timer.async_wait(asio::use_awaitable);  // MISS
    co_await timer.async_wait(ABT_USE_AWAITABLE);
}

struct session {
    asio::steady_timer timer;
    awaitable<void> run() {
        ABT_FRAMED();
        co_await timer.async_wait(asio::use_awaitable);  // MISS
        co_await timer.async_wait(ABT_USE_AWAITABLE);
    }
};

}  // namespace lint_asio
