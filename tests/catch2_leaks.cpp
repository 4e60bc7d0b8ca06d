// ABT_CHECK_NO_LEAKED_TASKS under Catch2 (2.x, Debian's catch2): it passes
// when every task made since the watermark is gone, and fails the test, with
// the leaked task's tree in the message, when one is still alive.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "../async_backtrace.hpp"
#include "coro.hpp"

namespace {

coro::event never, soon;
coro::task<> forgotten() {
    ABT_FRAMED();
    co_await ABT_AWAIT(never.wait());
}
coro::task<> finished() {
    ABT_FRAMED();
    co_await ABT_AWAIT(soon.wait());
}

}  // namespace

TEST_CASE("no leak: the check passes") {
    abt::task_watermark mark;
    {
        coro::task<> t = finished();
        t.start();
        soon.set();
        REQUIRE(t.done());
    }
    ABT_CHECK_NO_LEAKED_TASKS(mark);
}

// [!shouldfail]: Catch2 reports this test as passed only if it fails.
TEST_CASE("a leaked task: the check fails the test", "[!shouldfail]") {
    abt::task_watermark mark;
    static coro::task<> t = forgotten();  // alive to the end: the leak
    t.start();
    ABT_CHECK_NO_LEAKED_TASKS(mark);
}

TEST_CASE("a leaked task: the message holds its tree") {
    abt::task_watermark mark;
    static coro::task<> t = forgotten();
    t.start();
    const std::string leaks = mark.leaked(std::chrono::milliseconds(0));
    CHECK(leaks.find("1 task made since the watermark still alive") != std::string::npos);
    CHECK(leaks.find("forgotten at ") != std::string::npos);
}
