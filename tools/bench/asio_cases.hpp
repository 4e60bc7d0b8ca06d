// The asio case of the benchmarks, shared by bench_asio.cpp (timings) and
// hotpath_asio.cpp (instruction counts): a coroutine awaiting asio::post n
// times, framed with ABT_USE_AWAITABLE, and its bare twin with
// asio::use_awaitable.
#ifndef ABT_BENCH_ASIO_CASES_HPP
#define ABT_BENCH_ASIO_CASES_HPP

#include <cstddef>  // before asio: see async_backtrace_asio.hpp

#include "../../async_backtrace_asio.hpp"

namespace bench_asio_cases {

inline asio::awaitable<void> posts_framed(int n) {
    ABT_FRAMED();
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < n; ++i) co_await asio::post(ex, ABT_USE_AWAITABLE);
}
inline asio::awaitable<void> posts_bare(int n) {
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < n; ++i) co_await asio::post(ex, asio::use_awaitable);
}

}  // namespace bench_asio_cases

#endif
