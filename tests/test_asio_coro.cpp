// asio coroutines (asio::awaitable, co_spawn) on an io_context run by four
// threads, with async_backtrace_asio.hpp's ABT_USE_AWAITABLE: every session's
// stack (session -> read_request or process) is shown suspended where it waits.
#include "asio_flavour.hpp"
#include "asio_clients.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using testing::count_of;

namespace asiocoro {

// Where each frame and wait is (set by every session, on any io thread: atomics).
std::atomic<unsigned> read_line{0}, processing_line{0}, session_line{0}, read_frame_line{0}, process_frame_line{0};
void note(std::atomic<unsigned>& where, unsigned line) { where.store(line, std::memory_order_relaxed); }
std::atomic<int> started{0}, served{0}, processing{0}, ended{0};

asio::awaitable<std::size_t> read_request(asio::ip::tcp::socket& s, std::array<char, 64>& buf) {
    note(read_frame_line, __LINE__); ABT_FRAMED();
    note(read_line, __LINE__); co_return co_await s.async_read_some(asio::buffer(buf), ABT_USE_AWAITABLE);
}

asio::awaitable<std::string> process(const std::string& request) {
    note(process_frame_line, __LINE__); ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(request == "stuck" ? std::chrono::seconds(60) : std::chrono::milliseconds(1));
    ++processing;
    note(processing_line, __LINE__); co_await timer.async_wait(ABT_USE_AWAITABLE);  // throws when cancelled
    --processing;
    co_return "echo:" + request;
}

asio::awaitable<void> session(asio::ip::tcp::socket s) {
    note(session_line, __LINE__); ABT_FRAMED();
    ++started;
    std::array<char, 64> buf{};
    try {
        for (;;) {
            const std::size_t n = co_await read_request(s, buf);
            const std::string reply = co_await process(std::string(buf.data(), n));
            co_await asio::async_write(s, asio::buffer(reply), ABT_USE_AWAITABLE);
            ++served;
        }
    } catch (const std::exception&) {  // the client closed, or the stuck timer was cancelled at shutdown
    }
    ++ended;
}

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, int sessions) {
    for (int i = 0; i < sessions; ++i) {
        asio::ip::tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(acceptor.get_executor(), session(std::move(s)), asio::detached);
    }
}

}  // namespace asiocoro

TEST_CASE("asio coroutines on four threads: each session's stack is shown where it waits" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace asiocoro;
    constexpr int sessions = 24;  // 12 idle, 11 served once, one stuck in processing
    {
    asio::io_context ctx;
    auto guard = asio::make_work_guard(ctx);
    asio::ip::tcp::acceptor acceptor(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(ctx, accept_loop(acceptor, sessions), asio::detached);
    std::vector<std::thread> io;
    for (int i = 0; i < 4; ++i) io.emplace_back([&] { ctx.run(); });

    testing::blocking_clients clients(acceptor.local_endpoint(), sessions);
    CHECK(clients.ping_first(11) == 11);
    clients.send(11, "stuck");
    REQUIRE(testing::wait_until([&] { return started == sessions && served == 11 && processing == 1; }));

    const std::string dump = abt::taskdump_tree(true);  // waits for stacks still on their way to suspend
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(dump.c_str(), stderr);
    const std::string here = __FILE__;
    const auto at = [&](const std::atomic<unsigned>& line) {
        return testing::place(here.c_str(), line.load());
    };
    const std::string branch = "\xE2\x94\x94\xE2\x95\xBC asiocoro::";  // "└╼ asiocoro::"
    CHECK(count_of(dump, "\xE2\x95\xBC asiocoro::session at " + at(session_line) + "\n") == sessions);  // roots
    CHECK(count_of(dump, branch + "read_request at " + at(read_frame_line) + " suspended at " + at(read_line) + "\n") ==
          sessions - 1);
    CHECK(count_of(dump, branch + "process at " + at(process_frame_line) + " suspended at " + at(processing_line) +
                             "\n") == 1);
    CHECK(count_of(dump, "[running]") == 0);
    CHECK(abt::task_count() == static_cast<std::size_t>(sessions));

    // Shut down: every client closes; the stuck session's timer is cancelled by stopping its wait.
    clients.close_all();
    REQUIRE(testing::wait_until([&] { return ended == sessions - 1; }));
    ctx.stop();  // the stuck session stays suspended: it is destroyed with the io_context
    for (std::thread& t : io) t.join();
    guard.reset();
    CHECK(abt::task_count() == 1);
    }
    CHECK(abt::task_count() == 0);  // destroyed while suspended, on this thread
    CHECK(abt::taskdump_tree().empty());
}
