// Spawns in asio coroutines: a coroutine started by co_spawn is a task of its
// own, whatever the token and whichever thread runs it first, also when
// co_spawn runs it at once inside a framed coroutine; the spawner keeps its
// own state. A framed function that runs the io_context keeps running and
// owns none of the coroutines the loop runs. A co_spawn that the spawner
// awaits is a join of one: the spawned coroutine is the awaiting frame's child.
#include "asio_clients.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

using testing::lines_of;
using testing::place;
using testing::sorted;
using testing::sorted_lines;

namespace spawn {

// Where each frame and wait is (set on any io thread: atomics).
std::atomic<unsigned> child_line{0}, child_wait_line{0}, spawner_line{0}, spawner_wait_line{0};
std::atomic<int> children_waiting{0}, spawner_waiting{0};
void note(std::atomic<unsigned>& where, unsigned line) { where.store(line, std::memory_order_relaxed); }

std::string at(const std::atomic<unsigned>& line) { return place(__FILE__, line.load()); }
const std::string root = "\xE2\x95\xBC ";                     // "╼ "
const std::string child_mark = "  \xE2\x94\x94\xE2\x95\xBC ";  // "  └╼ "

void show(const std::string& dump) {
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(dump.c_str(), stderr);
}

asio::awaitable<void> wait_long() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::hours(1));
    co_await timer.async_wait(asio::use_awaitable);  // unframed: needs no ABT_USE_AWAITABLE
}

asio::awaitable<void> child() {
    note(child_line, __LINE__); ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::hours(1));
    ++children_waiting;
    note(child_wait_line, __LINE__); co_await timer.async_wait(ABT_USE_AWAITABLE);
}

/// The reproducer, with one spawn per kind of completion token.
asio::awaitable<void> spawner(asio::io_context& ctx) {
    note(spawner_line, __LINE__); ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 4; ++i) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(ABT_USE_AWAITABLE);
        if (i == 0) asio::co_spawn(ctx, child(), asio::detached);
        if (i == 1) asio::co_spawn(ctx, child(), [](std::exception_ptr) {});
        if (i == 2) static_cast<void>(asio::co_spawn(ctx, child(), asio::use_future));
        if (i == 3) asio::co_spawn(ctx, child(), ABT_TEST_DEFERRED)(asio::detached);  // launched later
    }
    timer.expires_after(std::chrono::hours(1));
    ++spawner_waiting;
    note(spawner_wait_line, __LINE__); co_await timer.async_wait(ABT_USE_AWAITABLE);  // the spawner waits here
}

/// Runs `ctx` on `threads` threads until `ready`, dumps (waiting for running
/// stacks), stops, and checks that every task went with the io_context.
template <class Ready>
std::string dump_when(asio::io_context& ctx, int threads, Ready ready) {
    std::vector<std::thread> io;
    for (int i = 0; i < threads; ++i) io.emplace_back([&] { ctx.run(); });
    const bool got_ready = testing::wait_until(ready);
    CHECK(got_ready);
    const std::string dump = abt::taskdump_tree(true);
    show(dump);
    ctx.stop();
    for (std::thread& t : io) t.join();
    return dump;
}

}  // namespace spawn

TEST_CASE("asio co_spawn from a framed coroutine: every spawned coroutine is a task, the spawner keeps its wait (" ABT_TEST_ASIO_FLAVOUR
          ")" * doctest::skip(!ABT_ENABLED)) {
    using namespace spawn;
    for (const int threads : {1, 4}) {
        CAPTURE(threads);
        children_waiting = 0;
        spawner_waiting = 0;
        {
            asio::io_context ctx;
            asio::co_spawn(ctx, spawner(ctx), asio::detached);
            const std::string dump =
                dump_when(ctx, threads, [] { return children_waiting == 4 && spawner_waiting == 1; });
            const std::string child_root =
                root + "spawn::child at " + at(child_line) + " suspended at " + at(child_wait_line);
            CHECK(sorted_lines(dump) ==
                  sorted({root + "spawn::spawner at " + at(spawner_line) + " suspended at " + at(spawner_wait_line),
                          child_root, child_root, child_root, child_root}));
            CHECK(abt::task_count() == 5);
        }
        CHECK(abt::task_count() == 0);  // destroyed with the io_context while suspended
    }
}

namespace spawn {

std::atomic<unsigned> listener_line{0}, accept_line{0}, session_line{0}, read_frame_line{0}, read_line{0};
std::atomic<int> sessions_reading{0}, accepted{0};

asio::awaitable<std::size_t> read_request(asio::ip::tcp::socket& s, std::array<char, 64>& buf) {
    note(read_frame_line, __LINE__); ABT_FRAMED();
    ++sessions_reading;
    note(read_line, __LINE__); const std::size_t n = co_await s.async_read_some(asio::buffer(buf), ABT_USE_AWAITABLE);
    --sessions_reading;
    co_return n;
}

asio::awaitable<void> session(asio::ip::tcp::socket s) {
    note(session_line, __LINE__); ABT_FRAMED();
    std::array<char, 64> buf{};
    try {
        for (;;) {
            const std::size_t n = co_await read_request(s, buf);
            co_await asio::async_write(s, asio::buffer("echo:" + std::string(buf.data(), n)), ABT_USE_AWAITABLE);
        }
    } catch (const std::exception&) {  // the client closed
    }
}

/// The usual shape of an asio server: a framed accept loop that spawns one
/// session per connection and waits for the next one.
asio::awaitable<void> listener(asio::ip::tcp::acceptor& acceptor) {
    note(listener_line, __LINE__); ABT_FRAMED();
    for (;;) {
        note(accept_line, __LINE__); asio::ip::tcp::socket s = co_await acceptor.async_accept(ABT_USE_AWAITABLE);
        ++accepted;
        asio::co_spawn(acceptor.get_executor(), session(std::move(s)), asio::detached);
    }
}

}  // namespace spawn

TEST_CASE("asio framed accept loop: the listener waits at async_accept, each session is a task (" ABT_TEST_ASIO_FLAVOUR
          ")" * doctest::skip(!ABT_ENABLED)) {
    using namespace spawn;
    constexpr int clients = 6;
    for (const int threads : {1, 4}) {
        CAPTURE(threads);
        sessions_reading = 0;
        accepted = 0;
        {
            asio::io_context ctx;
            asio::ip::tcp::acceptor acceptor(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
            asio::co_spawn(ctx, listener(acceptor), asio::detached);
            testing::blocking_clients connected(acceptor.local_endpoint(), clients);
            // Every session has been served once and reads again; the listener waits for the next client.
            std::vector<std::thread> io;
            for (int i = 0; i < threads; ++i) io.emplace_back([&] { ctx.run(); });
            CHECK(connected.ping_first(clients) == clients);
            REQUIRE(testing::wait_until([] { return accepted == clients && sessions_reading == clients; }));
            const std::string dump = abt::taskdump_tree(true);
            show(dump);
            std::vector<std::string> expected{root + "spawn::listener at " + at(listener_line) + " suspended at " +
                                              at(accept_line)};
            for (int i = 0; i < clients; ++i) {
                expected.push_back(root + "spawn::session at " + at(session_line));
                expected.push_back(child_mark + "spawn::read_request at " + at(read_frame_line) + " suspended at " +
                                   at(read_line));
            }
            CHECK(sorted_lines(dump) == sorted(expected));
            connected.close_all();
            REQUIRE(testing::wait_until([] { return abt::task_count() == 1; }));  // the sessions ended
            ctx.stop();
            for (std::thread& t : io) t.join();
        }
        CHECK(abt::task_count() == 0);
    }
}

namespace spawn {

std::atomic<unsigned> ticker_line{0}, ticker_wait_line{0};
std::atomic<int> ticks{0};

/// Wakes up every millisecond for a while (each wake-up resumes it from the
/// loop, where the loop's own framed code is current), then waits long.
asio::awaitable<void> ticker() {
    note(ticker_line, __LINE__); ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 20; ++i) {
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(ABT_USE_AWAITABLE);
        ++ticks;
        // A callback the loop runs next spawns another one at once.
        if (i == 10) {
            auto ex = timer.get_executor();
            asio::post(ex, [ex] { asio::co_spawn(ex, child(), asio::detached); });
        }
    }
    timer.expires_after(std::chrono::hours(1));
    note(ticker_wait_line, __LINE__); co_await timer.async_wait(ABT_USE_AWAITABLE);
}

std::atomic<unsigned> joiner_line{0};

/// A newcomer's framed main: a thread that runs `ctx` inside a frame named
/// "runner", after `spawn` started what the loop will run.
struct framed_runner {
    std::atomic<unsigned> line{0};
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::thread thread;
    template <class Spawn>
    framed_runner(asio::io_context& ctx, Spawn spawn) : work(asio::make_work_guard(ctx)) {
        thread = std::thread([this, &ctx, spawn] {
            note(line, __LINE__); ABT_FRAMED("runner");
            spawn();
            ctx.run();
        });
    }
    std::string root_line() const { return root + "runner at " + at(line); }
    void stop(asio::io_context& ctx) {
        work.reset();
        ctx.stop();
        thread.join();
    }
};

/// A join in a run that began under the loop runner's frame: its operands,
/// started at once, are its children all the same.
asio::awaitable<void> joiner() {
    using namespace abt::asio_support::awaitable_operators;
    note(joiner_line, __LINE__); ABT_FRAMED();
    co_await (child() && child());
}

}  // namespace spawn

TEST_CASE("asio loop run inside a framed function: it keeps running and owns none of the loop's coroutines (" ABT_TEST_ASIO_FLAVOUR
          ")" * doctest::skip(!ABT_ENABLED)) {
    using namespace spawn;
    children_waiting = 0;
    ticks = 0;
    {
        asio::io_context ctx;
        framed_runner runner(ctx, [&ctx] {
            asio::co_spawn(ctx, ticker(), asio::detached);
            asio::co_spawn(ctx, ticker(), asio::detached);
            asio::co_spawn(ctx, joiner(), asio::detached);
        });
        REQUIRE(testing::wait_until([&] { return ticks == 40 && children_waiting == 4; }));
        const std::string dump = abt::taskdump_tree(true);
        show(dump);
        const std::string ticker_root =
            root + "spawn::ticker at " + at(ticker_line) + " suspended at " + at(ticker_wait_line);
        const std::string child_frame = "spawn::child at " + at(child_line) + " suspended at " + at(child_wait_line);
        const std::string child_root = root + child_frame;
        // The join's frame waits at the adapter's operator, whose line is the adapter's own.
        const std::string joiner_prefix = root + "spawn::joiner at " + at(joiner_line) + " suspended at ";
        std::string joiner_root;
        for (const std::string& line : lines_of(dump))
            if (line.compare(0, joiner_prefix.size(), joiner_prefix) == 0) joiner_root = line;
        CHECK(joiner_root.find("async_backtrace_asio.hpp:") != std::string::npos);
        CHECK(joiner_root.size() > 9);
        CHECK(joiner_root.substr(joiner_root.size() - 9) == " (a && b)");
        CHECK(sorted_lines(dump) ==
              sorted({runner.root_line(), "  \xE2\x94\x94\xE2\x94\x88 [running]", ticker_root, ticker_root, child_root,
                      child_root, joiner_root, "  \xE2\x94\x9C\xE2\x95\xBC " + child_frame, child_mark + child_frame}));
        runner.stop(ctx);
    }
    CHECK(abt::task_count() == 0);
}

namespace spawn {

std::atomic<unsigned> awaiter_line{0}, awaited_spawn_line{0};
std::atomic<int> awaiter_waiting{0};

/// A co_spawn whose completion the spawner awaits: a join of one.
asio::awaitable<void> awaits_its_spawn(asio::io_context& ctx) {
    note(awaiter_line, __LINE__); ABT_FRAMED();
    ++awaiter_waiting;
    note(awaited_spawn_line, __LINE__); co_await asio::co_spawn(ctx, child(), ABT_USE_AWAITABLE);
}

std::atomic<unsigned> nested_line{0}, helper_line{0}, helper_wait_line{0};
std::atomic<int> helper_waiting{0};

asio::awaitable<void> helper() {
    note(helper_line, __LINE__); ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::hours(1));
    ++helper_waiting;
    note(helper_wait_line, __LINE__); co_await timer.async_wait(ABT_USE_AWAITABLE);
}

/// Spawns inside co_spawn's own start, before its first suspension; one of
/// the spawned coroutines is unframed and suspends through a plain
/// use_awaitable (the end of its run is not seen); then awaits a framed call.
asio::awaitable<void> spawns_at_once(asio::io_context& ctx) {
    note(nested_line, __LINE__); ABT_FRAMED();
    asio::co_spawn(ctx, child(), asio::detached);
    asio::co_spawn(ctx, wait_long(), asio::detached);
    asio::co_spawn(ctx, child(), asio::detached);
    co_await helper();
}

}  // namespace spawn

TEST_CASE("asio co_await co_spawn(..., ABT_USE_AWAITABLE): a join of one, the spawned coroutine is the awaiting frame's child (" ABT_TEST_ASIO_FLAVOUR
          ")" * doctest::skip(!ABT_ENABLED)) {
    using namespace spawn;
    for (const int threads : {1, 4}) {
        CAPTURE(threads);
        children_waiting = 0;
        awaiter_waiting = 0;
        {
            asio::io_context ctx;
            asio::co_spawn(ctx, awaits_its_spawn(ctx), asio::detached);
            const std::string dump = dump_when(ctx, threads, [] { return children_waiting == 1 && awaiter_waiting == 1; });
            CHECK(lines_of(dump) ==
                  std::vector<std::string>{
                      root + "spawn::awaits_its_spawn at " + at(awaiter_line) + " suspended at " + at(awaited_spawn_line),
                      child_mark + "spawn::child at " + at(child_line) + " suspended at " + at(child_wait_line)});
        }
        CHECK(abt::task_count() == 0);
    }
}

TEST_CASE("asio spawns inside a spawned coroutine's start, one unframed through plain use_awaitable: the spawner's own frames stay its own (" ABT_TEST_ASIO_FLAVOUR
          ")" * doctest::skip(!ABT_ENABLED)) {
    using namespace spawn;
    for (const int threads : {1, 4}) {
        CAPTURE(threads);
        children_waiting = 0;
        helper_waiting = 0;
        {
            asio::io_context ctx;
            asio::co_spawn(ctx, spawns_at_once(ctx), asio::detached);
            const std::string dump = dump_when(ctx, threads, [] { return children_waiting == 2 && helper_waiting == 1; });
            const std::string child_root =
                root + "spawn::child at " + at(child_line) + " suspended at " + at(child_wait_line);
            CHECK(sorted_lines(dump) ==
                  sorted({root + "spawn::spawns_at_once at " + at(nested_line),
                          child_mark + "spawn::helper at " + at(helper_line) + " suspended at " + at(helper_wait_line),
                          child_root, child_root}));
        }
        CHECK(abt::task_count() == 0);
    }
}

namespace spawn {

/// Unframed, so it may use plain use_awaitable: its run, resumed by the
/// plain handler that the framed runner's loop invokes, begins unseen; then
/// it calls a framed coroutine that waits with ABT_USE_AWAITABLE.
asio::awaitable<void> hops_then_calls(asio::io_context& ctx) {
    co_await asio::post(ctx, asio::use_awaitable);
    co_await helper();
}

}  // namespace spawn

TEST_CASE("asio: a stack whose run began unseen under a framed loop runner never suspends the runner (" ABT_TEST_ASIO_FLAVOUR
          ")" * doctest::skip(!ABT_ENABLED)) {
    using namespace spawn;
    helper_waiting = 0;
    children_waiting = 0;
    {
        asio::io_context ctx;
        std::vector<std::string> seen_by_next_handler;
        std::atomic<bool> seen{false};
        framed_runner runner(ctx, [&ctx] {
            asio::co_spawn(ctx, hops_then_calls(ctx), asio::detached);
            asio::co_spawn(ctx, child(), asio::detached);  // its run begins under the runner too
        });
        REQUIRE(testing::wait_until([] { return helper_waiting == 1 && children_waiting == 1; }));
        // The runner is still the frame its loop's handlers run in.
        asio::post(ctx, [&] {
            seen_by_next_handler = testing::backtrace_names();
            seen = true;
        });
        REQUIRE(testing::wait_until([&] { return seen.load(); }));
        CHECK(seen_by_next_handler == std::vector<std::string>{"runner"});
        const std::string dump = abt::taskdump_tree(true);
        show(dump);
        CHECK(sorted_lines(dump) ==
              sorted({runner.root_line(),
                      "  \xE2\x94\x94\xE2\x94\x88 [running] and holding 1 suspended coroutine started under a running "
                      "frame: spawned without ABT_SPAWN, or started by an event loop that a framed function runs (run "
                      "it outside framed code, or put ABT_WORK_ITEM in its work items)",
                      root + "spawn::child at " + at(child_line) + " suspended at " + at(child_wait_line)}));
        runner.stop(ctx);
    }
    CHECK(abt::task_count() == 0);
}
