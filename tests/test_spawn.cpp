// Spawns and loop runners outside asio: the default rule for an eager
// coroutine nobody awaits (the running frame's child until that frame ends),
// ABT_SPAWN (a task of its own from the start; the spawner carries on), and a
// framed function that runs an event loop (persistent frames its callbacks
// make are tasks; coroutines the loop starts are reported, not hidden).
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using testing::backtrace_names;
using testing::lines_of;
using testing::place;
using testing::sorted;
using testing::sorted_lines;
using Names = std::vector<std::string>;

namespace spawns {

const std::string root = "\xE2\x95\xBC ";                     // "╼ "
const std::string child_mark = "  \xE2\x94\x94\xE2\x95\xBC ";  // "  └╼ "
const std::string running_note = "  \xE2\x94\x94\xE2\x94\x88 [running]";  // "  └┈ [running]"

unsigned worker_line = 0, worker_wait_line = 0;

coro::task<> worker(coro::event& ev) {
    worker_line = __LINE__; ABT_FRAMED();
    worker_wait_line = __LINE__; co_await ABT_AWAIT(ev.wait());
}

/// An async_scope in the shape of cppcoro's: spawn() starts the task at once
/// (an eager, detached coroutine that awaits it) and counts it until it ends.
struct async_scope {
    std::atomic<int> live{0};
    coro::detached run(coro::task<> t) {
        co_await std::move(t);
        --live;
    }
    void spawn(coro::task<> t) {
        ++live;
        run(std::move(t));
    }
};

unsigned spawner_line = 0, spawner_wait_line = 0;
Names after_spawn;

coro::task<> spawner(async_scope& scope, coro::event& work, coro::event& go, bool marked) {
    spawner_line = __LINE__; ABT_FRAMED();
    if (marked)
        ABT_SPAWN(scope.spawn(worker(work)));
    else
        scope.spawn(worker(work));
    after_spawn = backtrace_names();
    spawner_wait_line = __LINE__; co_await ABT_AWAIT(go.wait());
}

}  // namespace spawns

TEST_CASE("an eager coroutine spawned without ABT_SPAWN is the running frame's child until that frame ends" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace spawns;
    async_scope scope;
    coro::event work, go;
    coro::task<> s = spawner(scope, work, go, false);
    s.start();
    CHECK(after_spawn == Names{"spawns::spawner"});
    CHECK(lines_of(abt::taskdump_tree()) ==
          std::vector<std::string>{
              root + "spawns::spawner at " + place(__FILE__, spawner_line) + " suspended at " +
                  place(__FILE__, spawner_wait_line),
              child_mark + "spawns::worker at " + place(__FILE__, worker_line) + " suspended at " +
                  place(__FILE__, worker_wait_line)});
    go.set();  // the spawner ends: the worker is a task of its own from now on
    CHECK(s.done());
    CHECK(lines_of(abt::taskdump_tree()) ==
          std::vector<std::string>{root + "spawns::worker at " + place(__FILE__, worker_line) + " suspended at " +
                                   place(__FILE__, worker_wait_line)});
    work.set();
    CHECK(scope.live == 0);
    CHECK(abt::task_count() == 0);
}

TEST_CASE("ABT_SPAWN: the spawned coroutine is a task from the start and the spawner carries on" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace spawns;
    async_scope scope;
    coro::event work, go;
    coro::task<> s = spawner(scope, work, go, true);
    s.start();
    CHECK(after_spawn == Names{"spawns::spawner"});  // still running in the spawner after the spawn
    CHECK(sorted_lines(abt::taskdump_tree()) ==
          sorted({root + "spawns::spawner at " + place(__FILE__, spawner_line) + " suspended at " +
                      place(__FILE__, spawner_wait_line),
                  root + "spawns::worker at " + place(__FILE__, worker_line) + " suspended at " +
                      place(__FILE__, worker_wait_line)}));
    work.set();  // the worker ends first, its spawner still waits
    CHECK(scope.live == 0);
    CHECK(lines_of(abt::taskdump_tree()).size() == 1);
    go.set();
    CHECK(s.done());
    CHECK(abt::task_count() == 0);
}

TEST_CASE("ABT_SPAWN of a task that ends at once, and ABT_SPAWN's value" * doctest::skip(!ABT_ENABLED)) {
    using namespace spawns;
    async_scope scope;
    coro::event done;
    done.set();
    {
        ABT_FRAMED("caller");
        ABT_SPAWN(scope.spawn(worker(done)));  // runs to its end inside the spawn
        CHECK(backtrace_names() == Names{"caller"});
        const int value = ABT_SPAWN(40 + 2);
        CHECK(value == 42);
        CHECK(lines_of(abt::taskdump_tree()).size() == 1);
    }
    CHECK(scope.live == 0);
    CHECK(abt::task_count() == 0);
}

namespace spawns {

unsigned loop_worker_line = 0, loop_worker_wait_line = 0;
std::atomic<int> loop_workers_waiting{0};

coro::task<> loop_worker(coro::event& ev) {
    loop_worker_line = __LINE__; ABT_FRAMED();
    ++loop_workers_waiting;
    loop_worker_wait_line = __LINE__; co_await ABT_AWAIT(ev.wait());
}

/// A framed function that runs the test kit's loop (a newcomer's framed main):
/// one item makes a connection with a persistent frame, one starts a
/// coroutine, the last one blocks until the test has dumped.
struct framed_loop_runner {
    coro::run_loop loop;
    coro::event ev;
    std::vector<std::unique_ptr<abt::persistent_frame>> connections;
    std::atomic<bool> blocked{false}, release{false};
    unsigned runner_line = 0, connection_line = 0, connection_wait_line = 0;
    std::thread thread;

    void start(bool work_items) {
        if (work_items) loop.item_wrapper = [](const std::function<void()>& item) {
            ABT_WORK_ITEM();
            item();
        };
        thread = std::thread([this] {
            runner_line = __LINE__; ABT_FRAMED("main");
            loop.post([this] {
                connection_line = __LINE__; connections.push_back(std::make_unique<abt::persistent_frame>(ABT_SITE("connection")));
                abt::persistent_frame& c = *connections.back();
                ABT_REENTER(c);
                CHECK(abt::set_task_tag("conn", "1"));
                connection_wait_line = __LINE__; ABT_WAITING(c, "socket read");
            });
            loop.post([this] { coro::spawn(loop_worker(ev)); });
            loop.post([this] {
                blocked = true;
                while (!release) std::this_thread::yield();
            });
            loop.run();
        });
        REQUIRE(testing::wait_until([this] { return blocked && loop_workers_waiting == 1; }));
    }
    void stop() {
        release = true;
        thread.join();
        ev.set();
        connections.clear();
    }
};

}  // namespace spawns

TEST_CASE("a framed function that runs an event loop: its callbacks' persistent frames are tasks, the coroutines it starts are reported" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace spawns;
    loop_workers_waiting = 0;
    framed_loop_runner r;
    r.start(false);
    const std::string dump = abt::taskdump_tree();
    CHECK(sorted_lines(dump) ==
          sorted({root + "main at " + place(__FILE__, r.runner_line),
                  running_note + " and holding 1 suspended coroutine started under a running frame: spawned without "
                                 "ABT_SPAWN, or started by an event loop that a framed function runs (run it outside "
                                 "framed code, or put ABT_WORK_ITEM in its work items)",
                  root + "connection at " + place(__FILE__, r.connection_line) + " suspended at " +
                      place(__FILE__, r.connection_wait_line) + " (socket read)"}));
    // The rich dump: the connection's tag is its own, not main's.
    const std::string rich = abt::taskdump_tree(abt::dump_options{});
    CHECK(testing::count_of(rich, "conn=1") == 1);
    const std::string json = abt::taskdump_json();
    CHECK(testing::count_of(json, "\"held_suspended\":1") == 1);
    // The watchdog's report says it too, on its line and in its dump.
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    abt::watchdog_options o;
    o.running_longer_than = std::chrono::milliseconds(50);
    o.suspended_longer_than = std::chrono::seconds(60);
    o.check_every = std::chrono::milliseconds(10);
    o.out = out;
    {
        abt::watchdog dog(o);
        CHECK(testing::wait_until([&] { return dog.episodes() >= 1; }));
    }
    const std::string report = testing::contents_of(out);
    std::fclose(out);
    CHECK(testing::count_of(report, "(main) has run without suspending for ") == 1);
    CHECK(testing::count_of(report, "; holding 1 suspended coroutine started under a running frame: ") == 1);
    CHECK(testing::count_of(report, "[running] and holding 1 suspended coroutine") == 1);
    r.stop();
    CHECK(abt::task_count() == 0);
}

TEST_CASE("a framed function that runs an event loop with ABT_WORK_ITEM in its items owns nothing it runs" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace spawns;
    loop_workers_waiting = 0;
    framed_loop_runner r;
    r.start(true);
    CHECK(sorted_lines(abt::taskdump_tree()) ==
          sorted({root + "main at " + place(__FILE__, r.runner_line), running_note,
                  root + "connection at " + place(__FILE__, r.connection_line) + " suspended at " +
                      place(__FILE__, r.connection_wait_line) + " (socket read)",
                  root + "spawns::loop_worker at " + place(__FILE__, loop_worker_line) + " suspended at " +
                      place(__FILE__, loop_worker_wait_line)}));
    r.stop();
    CHECK(abt::task_count() == 0);
}
