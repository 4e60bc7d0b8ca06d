// The cost of async_backtrace_asio.hpp's ABT_USE_AWAITABLE (make bench): a
// framed asio coroutine awaiting asio::post 1000 times on a one-thread
// io_context, against the same coroutine unframed with asio::use_awaitable.
#include <cstddef>  // before asio: see async_backtrace_asio.hpp

#include "../../async_backtrace_asio.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>

namespace {

constexpr int posts_per_iteration = 1000;

asio::awaitable<void> posts_framed(int n) {
    ABT_FRAMED();
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < n; ++i) co_await asio::post(ex, ABT_USE_AWAITABLE);
}
asio::awaitable<void> posts_bare(int n) {
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < n; ++i) co_await asio::post(ex, asio::use_awaitable);
}

template <asio::awaitable<void> (*Posts)(int)>
void run_posts(benchmark::State& state) {
    asio::io_context ctx(1);
    const int n = std::getenv("ABT_BENCH_SMOKE") != nullptr ? 10 : posts_per_iteration;
    for (auto _ : state) {
        asio::co_spawn(ctx, Posts(n), asio::detached);
        ctx.run();
        ctx.restart();
    }
    state.counters["posts"] = n;
}
void asio_post_framed(benchmark::State& state) { run_posts<posts_framed>(state); }
void asio_post_bare(benchmark::State& state) { run_posts<posts_bare>(state); }
BENCHMARK(asio_post_framed);
BENCHMARK(asio_post_bare);

}  // namespace

BENCHMARK_MAIN();
