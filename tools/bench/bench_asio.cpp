// The cost of async_backtrace_asio.hpp's ABT_USE_AWAITABLE (make bench): a
// framed asio coroutine awaiting asio::post 1000 times on a one-thread
// io_context, against the same coroutine unframed with asio::use_awaitable.
#include "asio_cases.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>

namespace {

using namespace bench_asio_cases;

constexpr int posts_per_iteration = 1000;

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
