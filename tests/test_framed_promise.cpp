// abt::framed_promise: plain co_await in framed coroutines of a task type you
// own. These cases use a task type whose promise derives from it in every
// build (the plain-await binaries also run the semantic tests that way).
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

using testing::lines_of;
using testing::place;

namespace hooked {

template <class T = void>
using task = coro::basic_task<T, abt::framed_promise>;

/// Suspends; resumed by the test through release().
struct gate {
    std::coroutine_handle<> waiter;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { waiter = h; }
    void await_resume() noexcept {}
    void release() { std::exchange(waiter, {}).resume(); }
};
/// The awaitable a coroutine co_awaits: a reference to a gate.
struct wait_on {
    gate* g;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { g->waiter = h; }
    int await_resume() noexcept { return 7; }
};

unsigned leaf_line, leaf_wait_line, mid_line, mid_wait_line, top_line, top_wait_line;

task<int> leaf(gate& g) {
    leaf_line = __LINE__ + 1;
    ABT_FRAMED();
    leaf_wait_line = __LINE__ + 1;
    const int v = co_await wait_on{&g};
    co_return v;
}
task<int> mid(gate& g) {
    mid_line = __LINE__ + 1;
    ABT_FRAMED();
    mid_wait_line = __LINE__ + 1;
    co_return 1 + co_await leaf(g);
}
task<int> top(gate& g) {
    top_line = __LINE__ + 1;
    ABT_FRAMED();
    top_wait_line = __LINE__ + 1;
    co_return 1 + co_await ABT_AWAIT(mid(g));  // ABT_AWAIT stays valid: no double suspension
}

}  // namespace hooked

TEST_CASE("framed_promise: a plain co_await suspends its frame at the co_await's own line" *
          doctest::skip(!ABT_ENABLED)) {
    hooked::gate g;
    hooked::task<int> t = hooked::top(g);
    t.start();
    CHECK(lines_of(abt::taskdump_tree(false)) ==
          std::vector<std::string>{
              "╼ hooked::top at " + place(__FILE__, hooked::top_line) + " suspended at " +
                  place(__FILE__, hooked::top_wait_line),
              "  └╼ hooked::mid at " + place(__FILE__, hooked::mid_line) + " suspended at " +
                  place(__FILE__, hooked::mid_wait_line),
              "     └╼ hooked::leaf at " + place(__FILE__, hooked::leaf_line) + " suspended at " +
                  place(__FILE__, hooked::leaf_wait_line),
          });
    g.release();
    REQUIRE(t.done());
    CHECK(t.result() == 9);
    CHECK(abt::task_count() == 0);
}

namespace hooked {

unsigned second_wait_line, block_line, block_wait_line;

/// Frames in nested blocks, awaits inside and after them, several times.
task<> blocks(gate& g) {
    ABT_FRAMED();
    for (int round = 0; round < 2; ++round) {
        {
            block_line = __LINE__ + 1;
            ABT_FRAMED("inner block");
            block_wait_line = __LINE__ + 1;
            co_await wait_on{&g};
        }
        second_wait_line = __LINE__ + 1;
        co_await wait_on{&g};
    }
}

}  // namespace hooked

TEST_CASE("framed_promise: frames of nested blocks, awaited in turn" * doctest::skip(!ABT_ENABLED)) {
    hooked::gate g;
    hooked::task<> t = hooked::blocks(g);
    t.start();
    for (int round = 0; round < 2; ++round) {
        std::vector<std::string> lines = lines_of(abt::taskdump_tree(false));
        REQUIRE(lines.size() == 2);
        CHECK(lines[1] == "  └╼ inner block at " + place(__FILE__, hooked::block_line) + " suspended at " +
                              place(__FILE__, hooked::block_wait_line));
        g.release();
        lines = lines_of(abt::taskdump_tree(false));
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].find("suspended at " + place(__FILE__, hooked::second_wait_line)) != std::string::npos);
        g.release();
    }
    CHECK(t.done());
    CHECK(abt::task_count() == 0);
}

namespace hooked {

unsigned parent_line, parent_wait_line;

/// An eager coroutine without a frame of its own, started inside a running
/// frame: its plain co_await must not suspend that frame.
struct eager {
    struct promise_type : abt::framed_promise {
        eager get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};
eager unframed_child(gate& g) { co_await wait_on{&g}; }

std::vector<std::string> seen_after_child;
task<> parent(gate& child_gate, gate& own_gate) {
    parent_line = __LINE__ + 1;
    ABT_FRAMED();
    unframed_child(child_gate);                     // suspends at once; the parent runs on
    seen_after_child = testing::backtrace_names();  // its frame is still the running one
    parent_wait_line = __LINE__ + 1;
    co_await wait_on{&own_gate};
}

}  // namespace hooked

TEST_CASE("framed_promise: an unframed eager child's co_await leaves the running frame alone" *
          doctest::skip(!ABT_ENABLED)) {
    hooked::gate child_gate, parent_gate;
    hooked::task<> t = hooked::parent(child_gate, parent_gate);
    t.start();
    CHECK(hooked::seen_after_child == std::vector<std::string>{"hooked::parent"});
    std::vector<std::string> lines = lines_of(abt::taskdump_tree(false));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "╼ hooked::parent at " + place(__FILE__, hooked::parent_line) + " suspended at " +
                          place(__FILE__, hooked::parent_wait_line));
    parent_gate.release();
    CHECK(t.done());
    child_gate.release();  // the child ends (and frees itself)
}

namespace hooked {

/// A promise with an await_transform of its own, composed with
/// framed_promise's: it doubles every wait_on's result.
struct doubled {
    wait_on inner;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { inner.await_suspend(h); }
    int await_resume() noexcept { return 2 * inner.await_resume(); }
};
struct composed_task {
    struct promise_type : abt::framed_promise {
        int result = 0;
        composed_task get_return_object() {
            return composed_task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_value(int v) noexcept { result = v; }
        void unhandled_exception() noexcept { std::terminate(); }
        template <class A>
        auto await_transform(A&& a, abt::await_site site = {}) {
            return abt::framed_promise::await_transform(transform(std::forward<A>(a)), site);
        }
        static doubled transform(wait_on w) { return doubled{w}; }
        template <class A>
        static A&& transform(A&& a) {
            return std::forward<A>(a);
        }
    };
    std::coroutine_handle<promise_type> h;
};

unsigned composed_wait_line;
composed_task composed(gate& g) {
    ABT_FRAMED();
    composed_wait_line = __LINE__ + 1;
    const int a = co_await wait_on{&g};
    co_return a + co_await ABT_AWAIT(wait_on{&g});  // ABT_AWAIT's wrapper is not transformed: 7
}

}  // namespace hooked

TEST_CASE("framed_promise: composes with a promise's own await_transform" * doctest::skip(!ABT_ENABLED)) {
    hooked::gate g;
    hooked::composed_task t = hooked::composed(g);
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree(false));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("suspended at " + place(__FILE__, hooked::composed_wait_line)) != std::string::npos);
    g.release();
    CHECK(abt::task_count() == 1);  // at the ABT_AWAIT now
    g.release();
    REQUIRE(t.h.done());
#if defined(ABT_TEST_PLAIN_AWAIT)  // ABT_AWAIT(x) is a plain co_await x there (helpers.hpp): transformed too
    CHECK(t.h.promise().result == 14 + 14);
#else
    CHECK(t.h.promise().result == 14 + 7);
#endif
    t.h.destroy();
    CHECK(abt::task_count() == 0);
}

namespace hooked {

/// (A constant: the line is awaited on a pool thread while the test reads it.)
constexpr unsigned deep_wait_line = __LINE__ + 8;

/// Recursion through lazy children, each framed at its top, hopping to a
/// pool thread on the way down.
task<int> deep(int depth, coro::thread_pool& pool, coro::event& ev) {
    ABT_FRAMED();
    if (depth == 0) {
        co_await pool.schedule();
        co_await ev.wait();
        co_return 0;
    }
    co_return 1 + co_await deep(depth - 1, pool, ev);
}

}  // namespace hooked

TEST_CASE("framed_promise: a lazy recursive chain that hops threads keeps one task, every level framed" *
          doctest::skip(!ABT_ENABLED)) {
    coro::thread_pool pool(2);
    coro::event ev;
    hooked::task<int> t = hooked::deep(5, pool, ev);
    t.start();
    std::string dump;
    REQUIRE(testing::wait_until([&] {
        dump = abt::taskdump_tree(false);
        return dump.find("suspended at " + place(__FILE__, hooked::deep_wait_line)) != std::string::npos;
    }));
    INFO(dump);
    CHECK(lines_of(dump).size() == 6);
    CHECK(testing::count_of(dump, "hooked::deep") == 6);
    CHECK(lines_of(abt::taskdump_tree(false)) == lines_of(dump));  // it stays so
    CHECK(abt::task_count() == 1);
    ev.set();
    REQUIRE(testing::wait_until([&] { return t.done(); }));
    CHECK(t.result() == 5);
    CHECK(abt::task_count() == 0);
}

TEST_CASE("framed_promise: unframed coroutines of the type run as before, in both modes") {
    hooked::gate g;
    hooked::task<int> t = [](hooked::gate& gg) -> hooked::task<int> { co_return 1 + co_await hooked::wait_on{&gg}; }(g);
    t.start();
    CHECK(abt::task_count() == 0);
    g.release();
    REQUIRE(t.done());
    CHECK(t.result() == 8);
}

namespace hooked {

/// A lazy coroutine whose frame is made after its first co_await...
task<> run(gate& g) {
    co_await wait_on{&g};
    ABT_FRAMED();
    co_await wait_on{&g};
}

}  // namespace hooked

namespace runner {

std::vector<std::string> seen;
/// ...first run from a framed function of the same unqualified name, on the
/// call stack: its co_await must not suspend this frame.
void run(hooked::task<>& t) {
    ABT_FRAMED();
    t.start();
    seen = testing::backtrace_names();
}

}  // namespace runner

TEST_CASE("framed_promise: a framed function of the same name that starts a lazy coroutine keeps running" *
          doctest::skip(!ABT_ENABLED)) {
    hooked::gate g;
    hooked::task<> t = hooked::run(g);
    runner::run(t);
    CHECK(runner::seen == std::vector<std::string>{"runner::run"});
    CHECK(abt::task_count() == 0);  // the runner's frame ended; the coroutine has no frame yet
    g.release();
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree(false));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("╼ hooked::run at ") == 0);
    g.release();
    CHECK(t.done());
}
