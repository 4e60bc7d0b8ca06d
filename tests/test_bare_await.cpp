// A newcomer's program with one forgotten ABT_AWAIT and no work items: a
// thread pool, seven requests spawned through an unframed helper, each
// awaiting when_all(load_user, load_permissions), both awaiting query_db, and
// query_db's failover wait not wrapped.
//  - With ABT_AWAIT (the usual binaries) that co_await bypasses the header:
//    its frame stays active on its pool thread. The library must report it
//    where it can tell (the next coroutine resumed on that thread, the
//    thread's exit) and must never show another task's frames in its place.
//  - In the plain-await binaries the kit's task has abt::framed_promise:
//    there is no wrap to forget, and the dump is exact.
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include "child_process.hpp"

#include <cstdio>
#include <string>
#include <thread>

namespace newcomer {

struct app {
    coro::thread_pool& pool;
    coro::event& failover_done;  // never set while the program runs
};

// (Lines as constants: the child process of the test below runs the code.)
constexpr unsigned query_db_line = __LINE__ + 3;
[[maybe_unused]] constexpr unsigned failover_line = __LINE__ + 4;
coro::task<> query_db(app& a, int shard) {
    ABT_FRAMED();
    co_await ABT_AWAIT(a.pool.schedule());
    if (shard == 0) co_await a.failover_done.wait();  // forgot ABT_AWAIT (with an unhooked promise; abt-lint: ignore)
    co_await ABT_AWAIT(a.pool.schedule());             // the "timer"
}
coro::task<> load_user(app& a, int id) {
    ABT_FRAMED();
    co_await ABT_AWAIT(query_db(a, id % 3));  // requests 0, 3 and 6 use shard 0
}
coro::task<> load_permissions(app& a) {
    ABT_FRAMED();
    co_await ABT_AWAIT(query_db(a, 1));
}
coro::task<> handle_request(app& a, int id) {
    ABT_FRAMED();
    abt::set_task_tag("request", std::to_string(id));
    co_await ABT_AWAIT(coro::when_all(load_user(a, id), load_permissions(a)));
}
/// The unframed helper that spawns a request onto the pool.
coro::detached spawn_request(app& a, coro::task<> request) {
    co_await a.pool.schedule();
    co_await std::move(request);
}

/// Runs the program on `threads` pool threads until the requests that can
/// finish have finished; returns a dump of what is left (then lets the rest
/// finish, and ends the pool).
std::string run(unsigned threads) {
    coro::event failover_done;
    std::string dump;
    {
        coro::thread_pool pool(threads);
        app a{pool, failover_done};
        for (int id = 0; id < 7; ++id) spawn_request(a, handle_request(a, id));
        testing::wait_until([] { return abt::task_count() == 3; });
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // and the pool is idle
        abt::dump_options o;
        o.times = false;
        dump = abt::taskdump_tree(o);
        failover_done.set();  // the stuck ones go on, on this thread, then on the pool
        testing::wait_until([] { return abt::task_count() == 0; });
    }
    return dump;
}

}  // namespace newcomer

#if defined(ABT_TEST_PLAIN_AWAIT)

TEST_CASE("the newcomer's program with framed_promise: three stuck requests, each at its own wait" *
          doctest::skip(!ABT_ENABLED)) {
    for (unsigned threads : {1u, 4u}) {
        INFO("pool threads: " << threads);
        const std::string dump = newcomer::run(threads);
        INFO(dump);
        CHECK(testing::count_of(dump, "newcomer::handle_request at") == 3);
        CHECK(testing::count_of(dump, "newcomer::query_db at " + testing::place(__FILE__, newcomer::query_db_line) +
                                          " suspended at " + testing::place(__FILE__, newcomer::failover_line)) ==
              3);
        for (const char* id : {"request=0", "request=3", "request=6"}) CHECK(testing::count_of(dump, id) == 1);
        CHECK(dump.find("[running]") == std::string::npos);
        CHECK(abt::task_count() == 0);
    }
}

#else

TEST_CASE("the newcomer's bare co_await is reported, naming query_db, and no dump shows another task in its place" *
          doctest::skip(!ABT_ENABLED)) {
    for (unsigned threads : {1u, 4u}) {
        INFO("pool threads: " << threads);
        const testing::child_outcome o = testing::run_in_child([threads] {
            const std::string dump = newcomer::run(threads);
            std::fprintf(stderr, "DUMP BEGIN\n%sDUMP END\n", dump.c_str());
        });
        const std::string& text = o.stderr_text;
        const bool aborted = o.aborted;
        INFO(text);
        const std::string frame = "frame 'newcomer::query_db' at " + testing::place(__FILE__, newcomer::query_db_line);
        // Reported where the library can tell: when another coroutine
        // resumes on the thread it was left on (then the process aborts), or
        // at the latest when that thread ends.
        const bool left_behind = text.find("async_backtrace: error: " + frame +
                                           " was still active on this thread when another coroutine resumed "
                                           "here") != std::string::npos;
        const bool at_exit =
            text.find("async_backtrace: warning: a thread ends while " + frame + " is active on it") !=
            std::string::npos;
        CHECK((left_behind || at_exit));
        if (left_behind) {
            CHECK(aborted);
            CHECK(text.find("the co_await that bypassed ABT_AWAIT is in 'newcomer::query_db' after its last "
                            "ABT_AWAIT") != std::string::npos);
        }
        if (threads == 1) CHECK(left_behind);  // the one thread runs the other requests next
        // A dump taken meanwhile never shows a request's frames under another
        // request's query_db, nor one request's tag on another's tree.
        const std::size_t begin = text.find("DUMP BEGIN\n");
        if (begin != std::string::npos) {
            const std::string dump = text.substr(begin, text.find("DUMP END") - begin);
            for (const std::string& line : testing::lines_of(dump))
                if (line.find("handle_request") != std::string::npos) CHECK(line.find("╼ newcomer::handle_request") == 0);
        }
    }
}

#endif
