// Joins in asio coroutines on an io_context run by four threads: a parallel
// group awaited with ABT_USE_AWAITABLE, and abt::asio_support's && and ||.
// The operands, which co_spawn starts at once, are the awaiting frame's
// children; the joins' results and error rules are asio's own.
#include "asio_flavour.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

using testing::count_of;

namespace asiojoin {

using namespace abt::asio_support::awaitable_operators;

// Where each frame and wait is (set on any io thread: atomics).
std::atomic<unsigned> leaf_frame_line{0}, leaf_wait_line{0}, group_frame_line{0}, group_wait_line{0},
    and_frame_line{0};
void note(std::atomic<unsigned>& where, unsigned line) { where.store(line, std::memory_order_relaxed); }

/// The timers that blocked leaves wait on, so that the test can release them.
/// `lock` guards `blocked`; a timer is cancelled only on the leaves' strand,
/// while its leaf is suspended in the wait (asio timers are not thread-safe).
std::mutex lock;
std::vector<asio::steady_timer*> blocked;
std::atomic<int> waiting{0};

template <class Strand>
void release_blocked(const Strand& strand) {
    asio::post(strand, [] {
        std::lock_guard<std::mutex> guard(lock);
        for (asio::steady_timer* t : blocked) t->cancel();
    });
}

/// Waits until released (or cancelled by its join), then returns `value`.
asio::awaitable<int> blocked_leaf(int value) {
    note(leaf_frame_line, __LINE__); ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(60));
    {
        std::lock_guard<std::mutex> guard(lock);
        blocked.push_back(&timer);
    }
    ++waiting;
    try {
        note(leaf_wait_line, __LINE__); co_await timer.async_wait(ABT_USE_AWAITABLE);
    } catch (const testing::asio_system_error&) {  // released, or cancelled by the join
    }
    --waiting;
    std::lock_guard<std::mutex> guard(lock);
    blocked.erase(std::find(blocked.begin(), blocked.end(), &timer));
    co_return value;
}

asio::awaitable<void> pause(int ms) {
    ABT_FRAMED();
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    co_await timer.async_wait(ABT_USE_AWAITABLE);
}
asio::awaitable<int> quick(int value) {
    co_await pause(1);
    co_return value;
}
/// Neither default-constructible nor copyable.
struct no_default {
    explicit no_default(int v) : value(std::make_unique<int>(v)) {}
    std::unique_ptr<int> value;
};
asio::awaitable<no_default> quick_unique(int value) {
    co_await pause(1);
    co_return no_default(value);
}
asio::awaitable<int> failing(int ms) {
    co_await pause(ms);
    throw std::runtime_error("failing");
}

std::atomic<int> result{0};

asio::awaitable<void> group_parent() {
    note(group_frame_line, __LINE__); ABT_FRAMED();
    auto ex = co_await asio::this_coro::executor;
    auto group = asio::experimental::make_parallel_group(asio::co_spawn(ex, blocked_leaf(1), asio::experimental::deferred),
                                                         asio::co_spawn(ex, blocked_leaf(2), asio::experimental::deferred));
    using asio::experimental::wait_for_all;
    note(group_wait_line, __LINE__); auto [order, e0, r0, e1, r1] = co_await group.async_wait(wait_for_all(), ABT_USE_AWAITABLE_JOIN);
    static_cast<void>(order);
    if (!e0 && !e1) result = r0 + r1;
}

asio::awaitable<void> and_parent() {
    note(and_frame_line, __LINE__); ABT_FRAMED();
    auto [a, b, c] = co_await (blocked_leaf(1) && blocked_leaf(2) && blocked_leaf(3));
    result = a * 100 + b * 10 + c;
}

/// Runs `entry` on an io_context with four threads; stops them at the end.
/// On a strand: a parallel group's operands cancel each other through
/// cancellation slots, which are not thread-safe (asio's rule; TSan reports
/// races inside asio without it). The strand still moves the coroutines from
/// thread to thread, and co_spawn still starts the operands at once on it.
struct four_threads {
    asio::io_context ctx;
    asio::strand<asio::io_context::executor_type> strand{asio::make_strand(ctx)};
    std::vector<std::thread> threads;
    explicit four_threads(asio::awaitable<void> entry) {
        asio::co_spawn(strand, std::move(entry), asio::detached);
        for (int i = 0; i < 4; ++i) threads.emplace_back([this] { ctx.run(); });
    }
    ~four_threads() {
        for (std::thread& t : threads) t.join();  // run() returns once the entry coroutine is done
    }
};

std::string dump_when_waiting(int leaves) {
    REQUIRE(testing::wait_until([&] { return waiting == leaves; }));
    const std::string dump = abt::taskdump_tree(true);  // waits for stacks still on their way to suspend
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(dump.c_str(), stderr);
    return dump;
}

std::string here(const std::atomic<unsigned>& line) { return testing::place(__FILE__, line.load()); }

std::string leaf_line(const char* connector) {
    return std::string("  ") + connector + "\xE2\x95\xBC asiojoin::blocked_leaf at " + here(leaf_frame_line) +
           " suspended at " + here(leaf_wait_line) + "\n";
}
const char* const branch_tee = "\xE2\x94\x9C";     // ├
const char* const branch_corner = "\xE2\x94\x94";  // └

}  // namespace asiojoin

TEST_CASE("asio parallel group awaited with ABT_USE_AWAITABLE_JOIN: the operands are the awaiting frame's children" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace asiojoin;
    result = 0;
    {
        four_threads io(group_parent());
        const std::string dump = dump_when_waiting(2);
        CHECK(dump == "\xE2\x95\xBC asiojoin::group_parent at " + here(group_frame_line) + " suspended at " +
                          here(group_wait_line) + "\n" + leaf_line(branch_tee) + leaf_line(branch_corner));
        CHECK(abt::task_count() == 1);
        release_blocked(io.strand);
    }
    CHECK(result == 3);
    CHECK(abt::task_count() == 0);
}

TEST_CASE("abt::asio_support's && of three operands: all three are the awaiting frame's children" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace asiojoin;
    result = 0;
    {
        four_threads io(and_parent());
        const std::string dump = dump_when_waiting(3);
        const std::vector<std::string> lines = testing::lines_of(dump);
        REQUIRE(lines.size() == 4);
        const std::string parent = "\xE2\x95\xBC asiojoin::and_parent at " + here(and_frame_line) + " suspended at ";
        CHECK(lines[0].compare(0, parent.size(), parent) == 0);
        CHECK(lines[0].find("async_backtrace_asio.hpp:") != std::string::npos);
        CHECK(lines[0].find(" (a && b)") == lines[0].size() - 9);
        CHECK(count_of(dump, leaf_line(branch_tee)) == 2);
        CHECK(count_of(dump, leaf_line(branch_corner)) == 1);
        CHECK(abt::task_count() == 1);
        release_blocked(io.strand);
    }
    CHECK(result == 123);
    CHECK(abt::task_count() == 0);
}

namespace asiojoin {

// Drop-in: the same result types as asio's operators (also with ABT_ENABLED 0).
template <class T, class U>
using ours_and = typename decltype(std::declval<asio::awaitable<T>>() && std::declval<asio::awaitable<U>>())::value_type;
template <class T, class U>
using ours_or = typename decltype(std::declval<asio::awaitable<T>>() || std::declval<asio::awaitable<U>>())::value_type;
static_assert(std::is_void_v<ours_and<void, void>>);
static_assert(std::is_same_v<ours_and<int, void>, int>);
static_assert(std::is_same_v<ours_and<void, int>, int>);
static_assert(std::is_same_v<ours_and<int, long>, std::tuple<int, long>>);
static_assert(std::is_same_v<ours_and<std::tuple<int, long>, char>, std::tuple<int, long, char>>);
static_assert(std::is_same_v<ours_and<int, std::tuple<long>>, std::tuple<int, std::tuple<long>>>);
static_assert(std::is_same_v<ours_or<void, void>, std::variant<std::monostate, std::monostate>>);
static_assert(std::is_same_v<ours_or<int, void>, std::variant<int, std::monostate>>);
static_assert(std::is_same_v<ours_or<std::variant<int, long>, char>, std::variant<int, long, char>>);
static_assert(std::is_same_v<ours_or<no_default, void>, std::variant<no_default, std::monostate>>);

std::atomic<int> checks_passed{0};

asio::awaitable<void> results_and_errors() {
    ABT_FRAMED();
    // &&: every value, in order; a void operand adds none.
    auto [a, b] = co_await (quick(1) && quick(2));
    const int c = co_await (pause(1) && quick(3));
    if (a == 1 && b == 2 && c == 3) ++checks_passed;
    // ||: the first to succeed wins, and the other is cancelled (a blocked leaf
    // would otherwise wait 60 s); a left variant keeps its own alternative.
    auto won = co_await (blocked_leaf(1) || quick(2));
    if (won.index() == 1 && std::get<1>(won) == 2) ++checks_passed;
    auto three = co_await (blocked_leaf(1) || pause(1) || quick_unique(7));
    if (three.index() == 1 || (three.index() == 2 && *std::get<2>(three).value == 7)) ++checks_passed;
    auto survivor = co_await (failing(1) || quick(4));
    if (survivor.index() == 1 && std::get<1>(survivor) == 4) ++checks_passed;
    // &&: one failure cancels the other and is rethrown (the cancelled leaf
    // returns normally: only the first operand failed).
    try {
        co_await (failing(1) && blocked_leaf(1));
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "failing") ++checks_passed;
    }
    // ||: both fail: asio::multiple_exceptions, holding the first error.
    try {
        co_await (failing(1) || failing(2));
    } catch (const asio::multiple_exceptions& e) {
        try {
            std::rethrow_exception(e.first_exception());
        } catch (const std::runtime_error&) {
            ++checks_passed;
        }
    }
}

}  // namespace asiojoin

TEST_CASE("abt::asio_support's && and ||: asio's results, cancellation and error rules, no task left") {
    using namespace asiojoin;
    checks_passed = 0;
    { four_threads io(results_and_errors()); }
    CHECK(checks_passed == 6);
    CHECK(waiting == 0);
    CHECK(abt::task_count() == 0);
}

namespace asiojoin {

// An operation whose start resumes another, unrelated coroutine on the spot
// (a notification that dispatches a waiter): what that coroutine starts is
// not the awaiting frame's child.
using waiter_handler = asio::async_result<asio::use_awaitable_t<>, void()>::handler_type;
std::optional<waiter_handler> parked_waiter;  // touched on the one io thread only

asio::awaitable<void> waiter() {  // unframed: it parks until notified, then runs a framed leaf
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
        [](waiter_handler h) { parked_waiter.emplace(std::move(h)); }, asio::use_awaitable);
    co_await blocked_leaf(5);
}

template <class Token>
auto async_notify(asio::any_io_executor ex, Token&& token) {
    return asio::async_initiate<Token, void()>(
        [ex](auto done) {
            if (parked_waiter) {
                waiter_handler w = std::move(*parked_waiter);
                parked_waiter.reset();
                asio::dispatch(ex, std::move(w));  // runs the waiter right here
            }
            asio::post(ex, std::move(done));
        },
        token);
}

std::atomic<unsigned> notifier_frame_line{0};

asio::awaitable<void> notifier() {
    note(notifier_frame_line, __LINE__); ABT_FRAMED();
    auto ex = co_await asio::this_coro::executor;
    co_await async_notify(ex, ABT_USE_AWAITABLE);
    co_await blocked_leaf(6);  // an awaitable: its frame is the notifier's child
}

}  // namespace asiojoin

TEST_CASE("an operation that resumes another coroutine on the spot hands it no children" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace asiojoin;
    asio::io_context ctx;
    asio::co_spawn(ctx, waiter(), asio::detached);
    asio::co_spawn(ctx, notifier(), asio::detached);
    std::thread io([&] { ctx.run(); });
    const std::string dump = dump_when_waiting(2);
    // Two tasks: the notifier (waiting in its own leaf) and the waiter's leaf,
    // which the notification started but which is not the notifier's child.
    CHECK(abt::task_count() == 2);
    CHECK(count_of(dump, "\xE2\x95\xBC asiojoin::blocked_leaf at " + here(leaf_frame_line)) == 2);
    CHECK(dump.find("\xE2\x95\xBC asiojoin::notifier at " + here(notifier_frame_line) + "\n" +
                    leaf_line(branch_corner)) != std::string::npos);
    release_blocked(ctx.get_executor());
    io.join();
    CHECK(abt::task_count() == 0);
}

namespace asiojoin {

// A result that cannot be copied while a frame is current. The adapter
// resumes the awaiting frames in the operation's handler, before the handler
// copies the result into the coroutine stack, so that copy throws, and the
// error leaves io_context::run as any error from a handler does (with plain
// use_awaitable too, where asio copies results in the same place). The
// frames must then wait again, not stay current on the thread.
std::atomic<bool> copies_throw{false};
struct fragile {
    int value = 0;
    fragile() = default;  // co_spawn needs one
    explicit fragile(int v) : value(v) {}
    fragile(const fragile& other) : value(other.value) {
        if (copies_throw && abt::current_task_id() != 0) throw std::runtime_error("copy");
    }
    fragile& operator=(const fragile&) = default;
};
asio::awaitable<fragile> make_fragile() { co_return fragile(7); }

std::atomic<std::size_t> depth_after_error{0}, depth_of_next_frame{0};
std::atomic<bool> error_seen{false};

asio::awaitable<void> next_frame() {
    ABT_FRAMED();
    depth_of_next_frame = abt::backtrace().size();
    co_await pause(1);
}

asio::awaitable<void> takes_fragile() {
    {
        ABT_FRAMED();
        copies_throw = true;
        try {
            fragile f = co_await asio::co_spawn(co_await asio::this_coro::executor, make_fragile(), ABT_USE_AWAITABLE);
            static_cast<void>(f);
        } catch (const std::runtime_error&) {
            error_seen = true;
        }
        copies_throw = false;
        depth_after_error = abt::backtrace().size();
    }
    co_await next_frame();  // made with no frame current: a task of its own
}

}  // namespace asiojoin

TEST_CASE("asio: an error from copying the result in the handler leaves the frames waiting, not current" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace asiojoin;
    {
        asio::io_context ctx;
        asio::co_spawn(ctx, takes_fragile(), asio::detached);
        CHECK_THROWS_AS(ctx.run(), std::runtime_error);
        copies_throw = false;
        CHECK_FALSE(error_seen);                // the coroutine never got the result
        CHECK(abt::backtrace().empty());        // no frame left current on this thread
        std::size_t shown = 0;
        abt::for_each_task(abt::dump_options{}, [&](const abt::task_snapshot& t) {
            if (t.frames[0].name != "asiojoin::takes_fragile") return;
            ++shown;
            CHECK(t.whole);
            CHECK(t.frames[0].state == abt::frame_state::suspended);  // at the co_spawn, again
            CHECK(t.frames[0].await_file != nullptr);
        });
        CHECK(shown == 1);
    }  // the io_context and the coroutine frames go
    CHECK(abt::task_count() == 0);
}

namespace asiojoin {

// A result whose every copy throws, handed to the handler as an lvalue (so
// asio's handler copies it into the coroutine stack, and throws).
struct thrower {
    thrower() = default;
    thrower(const thrower&) { throw std::runtime_error("copy of the result"); }
    thrower& operator=(const thrower&) = default;
};
template <class Token>
auto async_get_thrower(asio::io_context& ctx, Token&& token) {
    return asio::async_initiate<Token, void(thrower)>(
        [&ctx](auto handler) {
            asio::post(ctx, [h = std::move(handler)]() mutable {
                thrower t;
                h(t);
            });
        },
        token);
}
// No frame of its own: the stack's run begins under the framed code that
// runs the io_context, when the handler resumes it.
asio::awaitable<void> unframed_gets_thrower(asio::io_context& ctx) {
    thrower t = co_await async_get_thrower(ctx, ABT_USE_AWAITABLE);
    static_cast<void>(t);
}
std::size_t framed_depth() {
    ABT_FRAMED();
    return abt::backtrace().size();
}

}  // namespace asiojoin

TEST_CASE("asio: an error in the handler of an unframed stack leaves the code that runs the loop as it was" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace asiojoin;
    {
        ABT_FRAMED("runs the loop");
        CHECK(framed_depth() == 2);
        {
            asio::io_context ctx;
            asio::co_spawn(ctx, unframed_gets_thrower(ctx), asio::detached);
            CHECK_THROWS_AS(ctx.run(), std::runtime_error);
            // Its next framed call is its child, not a task of its own (a
            // run left open by the failed handler would make it one).
            CHECK(framed_depth() == 2);
            CHECK(abt::task_count() == 1);
        }
        CHECK(framed_depth() == 2);
    }
    CHECK(abt::task_count() == 0);
}
