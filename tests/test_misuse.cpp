// Misuse that would corrupt state is reported, with the frame's file:line and
// the fix, and the process aborts before anything is corrupted. Each case
// runs in a forked child process.
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include "child_process.hpp"

#include <memory>
#include <string>
#include <thread>

namespace misuse {

using outcome = testing::child_outcome;
using testing::run_in_child;

/// A task type whose promise is no abt::framed_promise, in every build: a
/// plain co_await in a framed coroutine of it bypasses the header.
using unhooked_task = coro::basic_task<void, coro::detail::no_promise_hooks>;

constexpr unsigned bare_frame_line = __LINE__ + 2;
unhooked_task suspends_through_a_bare_co_await(coro::event& ev) {
    ABT_FRAMED();
    co_await ev.wait();  // misuse: not wrapped in ABT_AWAIT (abt-lint: ignore)
}

#if !defined(ABT_TEST_PLAIN_AWAIT)  // (there, ABT_AWAIT is a plain co_await: see helpers.hpp)
constexpr unsigned last_await_line = __LINE__ + 3;
unhooked_task awaits_then_bypasses(coro::event& first, coro::event& second) {
    ABT_FRAMED();
    co_await ABT_AWAIT(first.wait());
    co_await second.wait();  // misuse: not wrapped in ABT_AWAIT (abt-lint: ignore)
}
#endif

}  // namespace misuse

TEST_CASE("a framed coroutine resumed elsewhere after a bare co_await is reported, naming its frame" *
          doctest::skip(!ABT_ENABLED)) {
    const misuse::outcome o = misuse::run_in_child([] {
        coro::event ev;
        misuse::unhooked_task t = misuse::suspends_through_a_bare_co_await(ev);
        t.start();
        std::thread([&] { ev.set(); }).join();  // its frame ends on this other thread
    });
    CHECK(o.aborted);
    CHECK(o.stderr_text.find("misuse::suspends_through_a_bare_co_await") != std::string::npos);
    CHECK(o.stderr_text.find(testing::place(__FILE__, misuse::bare_frame_line)) != std::string::npos);
    CHECK(o.stderr_text.find("co_await ABT_AWAIT(expr)") != std::string::npos);
    // The co_await's side: where it is, how to make plain co_await work, how to find the rest;
    // no asio advice in a program without the asio adapter.
    CHECK(o.stderr_text.find("the co_await that bypassed ABT_AWAIT is in 'misuse::suspends_through_a_bare_co_await' after " +
                             testing::place(__FILE__, misuse::bare_frame_line)) != std::string::npos);
    CHECK(o.stderr_text.find("abt::framed_promise") != std::string::npos);
    CHECK(o.stderr_text.find("tools/abt-lint") != std::string::npos);
    CHECK(o.stderr_text.find("asio") == std::string::npos);
}

#if !defined(ABT_TEST_PLAIN_AWAIT)
TEST_CASE("the misuse report names the last ABT_AWAIT the frame passed before the bypassing co_await" *
          doctest::skip(!ABT_ENABLED)) {
    const misuse::outcome o = misuse::run_in_child([] {
        coro::event first, second;
        misuse::unhooked_task t = misuse::awaits_then_bypasses(first, second);
        t.start();
        first.set();                                     // resumes it here; it suspends at the bare co_await
        std::thread([&] { second.set(); }).join();       // its frame ends on this other thread
    });
    CHECK(o.aborted);
    CHECK(o.stderr_text.find("the co_await that bypassed ABT_AWAIT is in 'misuse::awaits_then_bypasses' after its "
                             "last ABT_AWAIT, at " +
                             testing::place(__FILE__, misuse::last_await_line)) != std::string::npos);
}
#endif

TEST_CASE("a work item that ends with a frame still active reports it at once" * doctest::skip(!ABT_ENABLED)) {
    const misuse::outcome o = misuse::run_in_child([] {
        coro::event ev;
        misuse::unhooked_task t = misuse::suspends_through_a_bare_co_await(ev);
        {
            ABT_WORK_ITEM();
            t.start();
        }
    });
    CHECK(o.aborted);
    CHECK(o.stderr_text.find("was still active when its work item (ABT_WORK_ITEM, ABT_SPAWN) ended") != std::string::npos);
    CHECK(o.stderr_text.find(testing::place(__FILE__, misuse::bare_frame_line)) != std::string::npos);
}

TEST_CASE("a persistent frame destroyed inside its own callback is reported" * doctest::skip(!ABT_ENABLED)) {
    const misuse::outcome o = misuse::run_in_child([] {
        auto op = std::make_unique<abt::persistent_frame>(ABT_SITE("doomed"));
        ABT_REENTER(*op);
        op.reset();
    });
    CHECK(o.aborted);
    CHECK(o.stderr_text.find("'doomed'") != std::string::npos);
    CHECK(o.stderr_text.find("while a callback was inside it") != std::string::npos);
}

TEST_CASE("correct use in a child process exits normally (the harness itself works)") {
    const misuse::outcome o = misuse::run_in_child([] {
        ABT_FRAMED("fine");
        std::fputs("ran\n", stderr);
    });
    CHECK_FALSE(o.aborted);
    CHECK(o.stderr_text == "ran\n");
}
