// make hotpath's asio row: N co_await asio::post(ex, ABT_USE_AWAITABLE) in a
// framed asio coroutine on a one-thread io_context (bench_asio.cpp's case),
// or, with "bare", the same unframed with asio::use_awaitable; callgrind
// counts two values of N (see hotpath.cpp). Usage: hotpath-asio N [bare]
#include "asio_cases.hpp"

#include <cstdlib>
#include <cstring>

using namespace bench_asio_cases;

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const int n = std::atoi(argv[1]);
    const bool bare = argc > 2 && std::strcmp(argv[2], "bare") == 0;
    asio::io_context ctx(1);
    asio::co_spawn(ctx, bare ? posts_bare(n) : posts_framed(n), asio::detached);
    ctx.run();
    return 0;
}
