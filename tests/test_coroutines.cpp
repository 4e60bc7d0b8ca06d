// Coroutines: the semantic cases of the core issue, one test (or more) each.
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using testing::backtrace_names;
using testing::count_of;
using testing::lines_of;
using Names = std::vector<std::string>;


// ---- ABT_AWAIT passes results through exactly --------------------------------

struct ref_awaitable {  // await_resume returns a reference
    int* target;
    bool await_ready() noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) noexcept {}
    int& await_resume() noexcept { return *target; }
};

struct with_member_co_await {  // an awaitable with operator co_await
    int value;
    auto operator co_await() && noexcept {
        struct awaiter {
            int value;
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) noexcept { return h; }
            int await_resume() noexcept { return value * 2; }
        };
        return awaiter{value};
    }
};

struct suspend_false {  // bool await_suspend that declines to suspend
    bool await_ready() noexcept { return false; }
    bool await_suspend(std::coroutine_handle<>) noexcept { return false; }
    std::string await_resume() { return "resumed"; }
};

coro::task<std::unique_ptr<int>> make_unique_value() {
    ABT_FRAMED();
    co_return std::make_unique<int>(42);
}

coro::task<int> results_pass_through(int& cell) {
    ABT_FRAMED();
    int& ref = co_await ABT_AWAIT(ref_awaitable{&cell});
    ref = 7;  // writes through to cell
    std::unique_ptr<int> owned = co_await ABT_AWAIT(make_unique_value());
    const int doubled = co_await ABT_AWAIT(with_member_co_await{5});
    const std::string text = co_await ABT_AWAIT(suspend_false{});
    co_await ABT_AWAIT(std::suspend_never{});
    co_return *owned + doubled + static_cast<int>(text.size());
}


TEST_CASE("ABT_AWAIT returns exactly what the inner awaitable returns") {
    int cell = 0;
    coro::task<int> t = results_pass_through(cell);
    t.start();
    REQUIRE(t.done());
    CHECK(t.result() == 42 + 10 + 7);
    CHECK(cell == 7);
    CHECK(abt::task_count() == 0);
    CHECK(abt::backtrace().empty());
}

// ---- 1, 2: lazy children by symmetric transfer ---------------------------------

coro::event gate;
Names seen_in_child;
coro::task<> lazy_child() {
    ABT_FRAMED();
    seen_in_child = backtrace_names();
    co_await ABT_AWAIT(gate.wait());
}
coro::task<> lazy_parent() {
    ABT_FRAMED();
    co_await ABT_AWAIT(lazy_child());
}

TEST_CASE("a lazy child started by symmetric transfer is a child of the awaiting frame" *
          doctest::skip(!ABT_ENABLED)) {
    gate.~event();
    new (&gate) coro::event();
    coro::task<> t = lazy_parent();
    t.start();
    CHECK(seen_in_child == Names{"lazy_child", "lazy_parent"});
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\xE2\x95\xBC lazy_parent at ") == 0);
    CHECK(lines[0].find(" suspended at ") != std::string::npos);
    CHECK(lines[1].find("  \xE2\x94\x94\xE2\x95\xBC lazy_child at ") == 0);
    CHECK(abt::task_count() == 1);
    CHECK(abt::backtrace().empty());
    gate.set();
    CHECK(t.done());
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree().empty());
}

// ---- 3: joins start children inline through unframed helpers -------------------

coro::task<> leaf(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> middle(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(leaf(ev));
}
coro::task<> join_parent(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(coro::when_all(middle(ev), leaf(ev), middle(ev)));
}

TEST_CASE("a join starting children inline puts them all under the awaiting frame" * doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    coro::task<> t = join_parent(ev);
    t.start();
    const std::string dump = abt::taskdump_tree();
    const std::vector<std::string> lines = lines_of(dump);
    REQUIRE(lines.size() == 6);
    CHECK(lines[0].find("\xE2\x95\xBC join_parent at") == 0);
    CHECK(lines[1].find("  \xE2\x94\x9C\xE2\x95\xBC middle at") == 0);
    CHECK(lines[2].find("  \xE2\x94\x82  \xE2\x94\x94\xE2\x95\xBC leaf at") == 0);
    CHECK(lines[3].find("  \xE2\x94\x9C\xE2\x95\xBC leaf at") == 0);
    CHECK(lines[4].find("  \xE2\x94\x94\xE2\x95\xBC middle at") == 0);
    CHECK(lines[5].find("     \xE2\x94\x94\xE2\x95\xBC leaf at") == 0);
    CHECK(count_of(dump, " suspended at ") == 6);
    CHECK(abt::task_count() == 1);
    ev.set();
    CHECK(t.done());
    CHECK(abt::task_count() == 0);
}

// ---- 4: unrelated tasks on one loop ---------------------------------------------

struct loop_probe {
    std::vector<Names> steps;
};
void framed_helper(loop_probe& probe) {
    ABT_FRAMED();
    probe.steps.push_back(backtrace_names());
}
coro::task<> loop_task_a(coro::run_loop& loop, loop_probe& probe) {
    ABT_FRAMED();
    for (int i = 0; i < 3; ++i) {
        probe.steps.push_back(backtrace_names());
        framed_helper(probe);
        co_await ABT_AWAIT(loop.schedule());
    }
}
coro::task<> loop_task_b(coro::run_loop& loop, loop_probe& probe) {
    ABT_FRAMED();
    for (int i = 0; i < 3; ++i) {
        {
            ABT_FRAMED("b inner");
            probe.steps.push_back(backtrace_names());
            co_await ABT_AWAIT(loop.schedule());
        }
        probe.steps.push_back(backtrace_names());
    }
}

TEST_CASE("tasks interleaved on one loop are never attributed to each other" * doctest::skip(!ABT_ENABLED)) {
    coro::run_loop loop;
    loop_probe a, b;
    std::vector<std::size_t> plain_code_sizes;
    coro::task<> ta = loop_task_a(loop, a);
    coro::task<> tb = loop_task_b(loop, b);
    loop.post([&] { ta.start(); });
    loop.post([&] { tb.start(); });
    for (int i = 0; i < 8; ++i) loop.post([&] { plain_code_sizes.push_back(abt::backtrace().size()); });
    loop.run();
    REQUIRE(ta.done());
    REQUIRE(tb.done());
    for (const Names& step : a.steps) {
        CHECK(step.back() == "loop_task_a");
        CHECK((step.size() == 1 || step == Names{"framed_helper", "loop_task_a"}));
    }
    for (const Names& step : b.steps) {
        CHECK(step.back() == "loop_task_b");
        CHECK((step == Names{"loop_task_b"} || step == Names{"b inner", "loop_task_b"}));
    }
    CHECK(a.steps.size() == 6);
    CHECK(b.steps.size() == 6);
    CHECK(plain_code_sizes == std::vector<std::size_t>(8, 0));
    CHECK(abt::task_count() == 0);
}

// ---- 5: resume elsewhere, finish elsewhere, destroy from elsewhere --------------

coro::task<> hops_to_pool(coro::thread_pool& pool, Names& after_hop, std::thread::id& finished_on) {
    ABT_FRAMED();
    {
        ABT_FRAMED("spanning the hop");
        co_await ABT_AWAIT(pool.schedule());
        after_hop = backtrace_names();
    }
    finished_on = std::this_thread::get_id();
}
coro::task<> waits_forever(coro::event& ev) {
    ABT_FRAMED();
    {
        ABT_FRAMED("inner");
        co_await ABT_AWAIT(ev.wait());
    }
}

TEST_CASE("a coroutine resumed and finished on another thread leaves no thread with a stale frame" *
          doctest::skip(!ABT_ENABLED)) {
    Names after_hop;
    std::thread::id finished_on;
    std::size_t pool_thread_backtrace = 99;
    {
        coro::thread_pool pool(1);
        coro::task<> t = hops_to_pool(pool, after_hop, finished_on);
        t.start();
        CHECK(abt::backtrace().empty());
        std::latch done(1);
        REQUIRE(testing::wait_until([&] { return t.done(); }));
        pool.post([&] {
            pool_thread_backtrace = abt::backtrace().size();
            done.count_down();
        });
        done.wait();
        t.reset();  // destroyed on the main thread, finished on the pool's
    }
    CHECK(after_hop == Names{"spanning the hop", "hops_to_pool"});
    CHECK(finished_on != std::this_thread::get_id());
    CHECK(pool_thread_backtrace == 0);
    CHECK(abt::task_count() == 0);
}

TEST_CASE("a coroutine destroyed while suspended, from a thread it never ran on, leaves cleanly" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event never;
    coro::task<> t = waits_forever(never);
    t.start();
    const std::string dump = abt::taskdump_tree();
    CHECK(count_of(dump, "waits_forever") == 1);
    CHECK(count_of(dump, "inner at") == 1);
    std::thread([&] { t.reset(); }).join();
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree().empty());
    CHECK(abt::backtrace().empty());
}

/// Hands the awaiting coroutine to another thread, which runs it to its end,
/// and only then starts `next` on this thread, still inside await_suspend.
struct hand_to_thread_then_start {
    coro::event* later_gate;
    std::thread* runner;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        coro::event& gate_copy = *later_gate;  // *this ends with the coroutine, on the other thread
        std::thread& thread = *runner;
        thread = std::thread([h] { h.resume(); });  // the frame ends on that thread
        thread.join();
        waits_at_gate(gate_copy);  // made here while the dead frame's hand-over entry sat on this thread's stack
    }
    void await_resume() noexcept {}
    static coro::detached waits_at_gate(coro::event& later_gate) {
        ABT_FRAMED("started after the awaiting frame ended");
        co_await ABT_AWAIT(later_gate.wait());
    }
};
coro::detached awaits_hand_over(coro::event& later_gate, std::thread& runner) {
    ABT_FRAMED("resumed elsewhere while await_suspend ran");
    co_await ABT_AWAIT(hand_to_thread_then_start{&later_gate, &runner});
}

TEST_CASE("a frame resumed and ended on another thread while its await_suspend ran never adopts later frames" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event later_gate;
    std::thread runner;
    awaits_hand_over(later_gate, runner);  // ASan: attaching under the ended frame would be a use after free
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("\xE2\x95\xBC started after the awaiting frame ended at ") == 0);  // a task of its own
    CHECK(abt::task_count() == 1);
    later_gate.set();
    CHECK(abt::task_count() == 0);
}

// ---- 6: children that outlive their parents --------------------------------------

coro::detached eager_child(coro::event& ev, std::atomic<bool>& finished) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
    finished = true;
}
coro::task<> creator(coro::event& child_gate, coro::event& creator_gate, std::atomic<bool>& finished) {
    ABT_FRAMED();
    eager_child(child_gate, finished);  // not awaited: it outlives this frame
    co_await ABT_AWAIT(creator_gate.wait());
}

TEST_CASE("a child that outlives its parent becomes a task of its own" * doctest::skip(!ABT_ENABLED)) {
    coro::event child_gate, creator_gate;
    std::atomic<bool> finished{false};
    coro::task<> t = creator(child_gate, creator_gate, finished);
    t.start();
    std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 2);  // the child under its creator
    CHECK(lines[0].find("\xE2\x95\xBC creator at") == 0);
    CHECK(lines[1].find("  \xE2\x94\x94\xE2\x95\xBC eager_child at") == 0);
    creator_gate.set();  // the creator finishes
    REQUIRE(t.done());
    t.reset();
    lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("\xE2\x95\xBC eager_child at") == 0);
    CHECK(abt::task_count() == 1);
    child_gate.set();
    CHECK(finished);
    CHECK(abt::task_count() == 0);
}

coro::task<> parent_that_keeps_running(coro::event& child_gate, std::atomic<bool>& child_suspended,
                                       std::atomic<bool>& stop, std::atomic<bool>& finished) {
    ABT_FRAMED();
    eager_child(child_gate, finished);  // suspends at once, published under this frame
    child_suspended = true;
    while (!stop) {  // runs (never suspends) while the child is resumed on another thread
        ABT_FRAMED("busy");
        (void)abt::backtrace();
    }
    co_return;
}

TEST_CASE("a child finishing on another thread while its parent runs is race free" * doctest::skip(!ABT_ENABLED)) {
    // The Rust crate's open data race: a child dropped on another thread while
    // its parent runs. ThreadSanitizer checks this one.
    coro::event child_gate;
    std::atomic<bool> child_suspended{false}, stop{false}, finished{false};
    std::string dump_while_running;
    std::thread finisher([&] {
        CHECK(testing::wait_until([&] { return child_suspended.load(); }));
        dump_while_running = abt::taskdump_tree();
        child_gate.set();  // resumes and finishes the child here, while the parent runs
        stop = true;
    });
    coro::task<> t = parent_that_keeps_running(child_gate, child_suspended, stop, finished);
    t.start();
    finisher.join();
    CHECK(finished);
    CHECK(t.done());
    CHECK(count_of(dump_while_running, "[running]") == 1);  // the running task is not shown torn
    t.reset();
    CHECK(abt::task_count() == 0);
}

// ---- 7: children of one task in parallel ------------------------------------------

std::atomic<unsigned> park_line{0};
coro::task<> parallel_child(coro::thread_pool& pool, std::latch& both_running, coro::event& park, std::string& dump) {
    ABT_FRAMED();
    co_await ABT_AWAIT(pool.schedule());
    both_running.arrive_and_wait();  // both children run at once, on two threads
    for (int i = 0; i < 200; ++i) {
        ABT_FRAMED("work");
        (void)abt::backtrace();
    }
    dump = abt::taskdump_tree();  // from inside a task: no deadlock
    park_line = __LINE__; co_await ABT_AWAIT(park.wait());
}
coro::task<> parallel_parent(coro::thread_pool& pool, std::latch& both_running, coro::event& park, std::string& d1,
                             std::string& d2) {
    ABT_FRAMED();
    co_await ABT_AWAIT(coro::when_all(parallel_child(pool, both_running, park, d1),
                                      parallel_child(pool, both_running, park, d2)));
}

TEST_CASE("children of one task run in parallel on different threads" * doctest::skip(!ABT_ENABLED)) {
    coro::event park;
    std::latch both_running(2);
    std::string d1, d2;
    coro::thread_pool pool(2);
    coro::task<> t = parallel_parent(pool, both_running, park, d1, d2);
    t.start();
    CHECK(testing::wait_until([] {
        return park_line != 0 && count_of(abt::taskdump_tree(), testing::place(__FILE__, park_line)) == 2;
    }));
    const std::string tree = abt::taskdump_tree();
    INFO(tree);
    const std::vector<std::string> lines = lines_of(tree);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].find("parallel_parent") != std::string::npos);
    CHECK(lines[1].find("parallel_child") != std::string::npos);
    CHECK(lines[2].find("parallel_child") != std::string::npos);
    CHECK(count_of(d1, "parallel_child") >= 1);  // each saw at least its own chain
    CHECK(count_of(d2, "parallel_child") >= 1);
    park.set();
    REQUIRE(testing::wait_until([&] { return t.done(); }));
    CHECK(abt::task_count() == 0);
}

// ---- 8: exceptions ---------------------------------------------------------------------
#if defined(__cpp_exceptions)  // not in the -fno-exceptions binaries (test-*-noexc)

coro::task<int> thrower() {
    ABT_FRAMED();
    co_await ABT_AWAIT(std::suspend_never{});
    throw std::runtime_error("from the child");
}
struct throws_in_await_suspend {
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) { throw std::logic_error("from await_suspend"); }
    void await_resume() noexcept {}
};
coro::task<Names> catcher() {
    ABT_FRAMED();
    Names seen;
    try {
        (void)co_await ABT_AWAIT(thrower());
    } catch (const std::runtime_error&) {
        seen = backtrace_names();
    }
    try {
        co_await ABT_AWAIT(throws_in_await_suspend{});
    } catch (const std::logic_error&) {
        const Names again = backtrace_names();
        seen.insert(seen.end(), again.begin(), again.end());
    }
    co_return seen;
}

TEST_CASE("exceptions through framed coroutines and await_suspend leave every thread's state intact" *
          doctest::skip(!ABT_ENABLED)) {
    coro::task<Names> t = catcher();
    t.start();
    REQUIRE(t.done());
    CHECK(t.result() == Names{"catcher", "catcher"});
    CHECK(abt::backtrace().empty());
    CHECK(abt::task_count() == 0);
}
#endif

// ---- 9: partial annotation --------------------------------------------------------------

coro::task<> framed_leaf(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> unframed_middle(coro::event& ev) { co_await framed_leaf(ev); }
coro::task<> framed_top(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(unframed_middle(ev));
}

TEST_CASE("a frame whose parent cannot be known safely becomes its own task" * doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    coro::task<> t = framed_top(ev);
    t.start();
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\xE2\x95\xBC framed_top at") == 0);
    CHECK(lines[1].find("\xE2\x95\xBC framed_leaf at") == 0);  // a root, never a wrong child
    CHECK(abt::task_count() == 2);
    ev.set();
    CHECK(t.done());
    CHECK(abt::task_count() == 0);
}

coro::detached unframed_eager_with_await(coro::event& ev, Names& after) {
    co_await ABT_AWAIT(ev.wait());  // no frame of its own: a pass-through
    after = backtrace_names();
}

TEST_CASE("ABT_AWAIT in an unframed coroutine started by a framed function changes nothing" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    Names inside_after_start, after;
    {
        ABT_FRAMED("framed caller");
        unframed_eager_with_await(ev, after);
        inside_after_start = backtrace_names();
        CHECK(count_of(abt::taskdump_tree(true), "framed caller") == 1);
    }
    CHECK(inside_after_start == Names{"framed caller"});
    ev.set();
    CHECK(after.empty());
    CHECK(abt::task_count() == 0);
}

// ---- 12: work-item boundaries make framework trampolines exact -------------------------

/// An awaitable like asio's awaitable pump: await_suspend returns void and
/// hands the child to the loop, which resumes it in the same work item.
struct pumped {
    pumped(coro::task<> c, std::coroutine_handle<>* slot) : child(std::move(c)), pump_slot(slot) {}
    coro::task<> child;
    std::coroutine_handle<>* pump_slot;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> parent) {
        child_awaiter.emplace(std::move(child).operator co_await());
        *pump_slot = child_awaiter->await_suspend(parent);  // the child, not yet started
    }
    void await_resume() { child_awaiter->await_resume(); }
    std::optional<coro::task<>::awaiter> child_awaiter;
};
coro::task<> pumped_child(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> pumped_parent(coro::event& ev, std::coroutine_handle<>* pump_slot) {
    ABT_FRAMED();
    co_await ABT_AWAIT(pumped(pumped_child(ev), pump_slot));
}
enum class marking { none, plain, one_task };
/// Makes the loop run each item inside ABT_WORK_ITEM or ABT_WORK_ITEM_OF_ONE_TASK.
void mark_work_items(coro::run_loop& loop, marking mark) {
    if (mark == marking::plain)
        loop.item_wrapper = [](const std::function<void()>& item) {
            ABT_WORK_ITEM();
            item();
        };
    if (mark == marking::one_task)
        loop.item_wrapper = [](const std::function<void()>& item) {
            ABT_WORK_ITEM_OF_ONE_TASK();
            item();
        };
}
std::string run_pumped(marking mark) {
    coro::run_loop loop;
    coro::event ev;
    std::coroutine_handle<> pump_slot;
    mark_work_items(loop, mark);
    coro::task<> t = pumped_parent(ev, &pump_slot);
    loop.post([&] {
        t.start();
        if (pump_slot) std::exchange(pump_slot, {}).resume();  // the trampoline
    });
    loop.run();
    std::string dump = abt::taskdump_tree();
    ev.set();
    CHECK(t.done());
    return dump;
}

TEST_CASE("with one-task work items marked, a child started by a framework trampoline is attributed exactly" *
          doctest::skip(!ABT_ENABLED)) {
    const std::vector<std::string> marked = lines_of(run_pumped(marking::one_task));
    REQUIRE(marked.size() == 2);
    CHECK(marked[0].find("\xE2\x95\xBC pumped_parent at") == 0);
    CHECK(marked[1].find("  \xE2\x94\x94\xE2\x95\xBC pumped_child at") == 0);
    for (const marking mark : {marking::none, marking::plain}) {
        const std::vector<std::string> unmarked = lines_of(run_pumped(mark));
        REQUIRE(unmarked.size() == 2);  // without: a task of its own, never a wrong parent
        CHECK(unmarked[0].find("\xE2\x95\xBC pumped_parent at") == 0);
        CHECK(unmarked[1].find("\xE2\x95\xBC pumped_child at") == 0);
    }
    CHECK(abt::task_count() == 0);
}

// ---- regressions: hand-over entries never capture the wrong frames --------------------

Names seen_by_plain_helper;
void plain_helper() {
    ABT_FRAMED();
    seen_by_plain_helper = backtrace_names();
}
coro::detached eager_waiter(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> keeps_running_after_eager_child(coro::event& ev, bool nested_block) {
    ABT_FRAMED();
    eager_waiter(ev);  // suspends and returns here: this frame runs on
    plain_helper();
    eager_waiter(ev);
    if (nested_block) {
        ABT_FRAMED("inner block");
        co_await ABT_AWAIT(ev.wait());
    } else {
        co_await ABT_AWAIT(ev.wait());
    }
}

TEST_CASE("inside a work item, a caller that runs on after its eager child suspended keeps its own frames" *
          doctest::skip(!ABT_ENABLED)) {
    for (const bool nested_block : {false, true})
    for (const bool one_task : {false, true}) {
        CAPTURE(nested_block);
        CAPTURE(one_task);
        coro::run_loop loop;
        coro::event ev;
        mark_work_items(loop, one_task ? marking::one_task : marking::plain);
        coro::task<> t = keeps_running_after_eager_child(ev, nested_block);
        loop.post([&] { t.start(); });
        loop.run();
        CHECK(seen_by_plain_helper == Names{"plain_helper", "keeps_running_after_eager_child"});
        const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
        REQUIRE(lines.size() == (nested_block ? 4u : 3u));
        CHECK(lines[0].find("\xE2\x95\xBC keeps_running_after_eager_child at") == 0);
        CHECK(lines[1].find("  \xE2\x94\x9C\xE2\x95\xBC eager_waiter at") == 0);  // siblings, not nested
        CHECK(lines[2].find("eager_waiter at") != std::string::npos);
        CHECK(lines[2].find("\xE2\x94\x82") == std::string::npos);
        ev.set();
        CHECK(t.done());
        CHECK(abt::task_count() == 0);
    }
}

/// Hands control by symmetric transfer to a coroutine that is not a child
/// (as a channel send may hand off to a waiting receiver).
std::coroutine_handle<> handed_off_from;
struct hand_off {
    std::coroutine_handle<> to;
    bool await_ready() noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) noexcept {
        handed_off_from = h;
        return to;
    }
    void await_resume() noexcept {}
};
coro::task<> unframed_receiver() { co_return; }
coro::task<> framed_sender(std::coroutine_handle<> to) {
    ABT_FRAMED();
    co_await ABT_AWAIT(hand_off{to});
}
coro::task<> unrelated_task(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}

TEST_CASE("a coroutine reusing the frame of one that was handed control is not taken for it" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    coro::task<> receiver = unframed_receiver();
    coro::task<> sender = framed_sender(std::move(receiver).operator co_await().h);
    sender.start();    // suspends, hands off to the receiver, which ends
    receiver.reset();  // its frame is freed; the next one often lands at the same address
    coro::task<> unrelated = unrelated_task(ev);
    unrelated.start();
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\xE2\x95\xBC framed_sender at") == 0);
    CHECK(lines[1].find("\xE2\x95\xBC unrelated_task at") == 0);  // a task of its own
    ev.set();
    handed_off_from.resume();
    CHECK(abt::task_count() == 0);
}

coro::detached conditionally_framed(int level, coro::event& ev, Names& inside) {
    if (level == 0) {
        ABT_FRAMED("framed level");
        conditionally_framed(1, ev, inside);  // an unframed invocation of the same function
        inside = backtrace_names();
        co_await ABT_AWAIT(ev.wait());
    } else {
        co_await ABT_AWAIT(ev.wait());  // outside every ABT_FRAMED block: a pass-through
    }
}

TEST_CASE("ABT_AWAIT suspends only the frames of its own invocation" * doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    Names inside;
    conditionally_framed(0, ev, inside);
    CHECK(inside == Names{"framed level"});
    CHECK(abt::backtrace().empty());
    CHECK(count_of(abt::taskdump_tree(), "framed level at") == 1);
    ev.set();
    CHECK(abt::task_count() == 0);
}

// ---- regressions from the second review -------------------------------------------------

coro::task<> join_child_yields(coro::run_loop& loop) {
    ABT_FRAMED();
    co_await ABT_AWAIT(loop.schedule());
}
coro::task<> join_child_waits(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> join_in_work_item(coro::run_loop& loop, coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(coro::when_all(join_child_yields(loop), join_child_waits(ev)));
}
coro::task<> unrelated_in_same_item(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}

TEST_CASE("work items keep join children siblings, and a plain work item never nests unrelated tasks" *
          doctest::skip(!ABT_ENABLED)) {
    for (const bool one_task : {false, true}) {
        CAPTURE(one_task);
        coro::run_loop loop;
        coro::event ev;
        mark_work_items(loop, one_task ? marking::one_task : marking::plain);
        coro::task<> joined = join_in_work_item(loop, ev);
        coro::task<> unrelated = unrelated_in_same_item(ev);
        std::string dump;
        loop.post([&] {
            joined.start();
            if (!one_task) unrelated.start();  // two tasks in one item: only for the plain kind
            dump = abt::taskdump_tree();
        });
        loop.run();
        const std::vector<std::string> lines = lines_of(dump);
        REQUIRE(lines.size() == (one_task ? 3u : 4u));
        CHECK(lines[0].find("\xE2\x95\xBC join_in_work_item at") == 0);
        CHECK(lines[1].find("  \xE2\x94\x9C\xE2\x95\xBC join_child_yields at") == 0);
        CHECK(lines[2].find("  \xE2\x94\x94\xE2\x95\xBC join_child_waits at") == 0);
        if (!one_task) CHECK(lines[3].find("\xE2\x95\xBC unrelated_in_same_item at") == 0);
        ev.set();
        loop.run();
        CHECK(joined.done());
        CHECK(abt::task_count() == 0);
    }
}

coro::task<> leaf_of_unframed(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> unframed_between(coro::event& ev) { co_await leaf_of_unframed(ev); }
coro::task<> resumed_inline(coro::event& go, coro::event& leaf_gate) {
    ABT_FRAMED();
    co_await ABT_AWAIT(go.wait());
    co_await ABT_AWAIT(unframed_between(leaf_gate));
}
coro::task<> resumes_others_inline(coro::event& go, coro::event& own_gate) {
    ABT_FRAMED();
    go.set();  // resumes resumed_inline on this thread, inside this frame
    co_await ABT_AWAIT(own_gate.wait());
}

TEST_CASE("a frame behind an unframed coroutine never lands in the task that resumed its parent" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event go, leaf_gate, own_gate;
    coro::task<> p = resumed_inline(go, leaf_gate);
    coro::task<> s = resumes_others_inline(go, own_gate);
    p.start();
    s.start();
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    // Three tasks, in the order they were first seen suspended.
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].find("\xE2\x95\xBC resumed_inline at") == 0);
    CHECK(lines[1].find("\xE2\x95\xBC leaf_of_unframed at") == 0);  // a task of its own
    CHECK(lines[2].find("\xE2\x95\xBC resumes_others_inline at") == 0);
    leaf_gate.set();
    own_gate.set();
    CHECK(p.done());
    CHECK(s.done());
    CHECK(abt::task_count() == 0);
}

std::size_t deepest_backtrace = 0;
coro::task<> nested_join(int n, coro::event& ev) {
    ABT_FRAMED();
    if (n == 0) {
        deepest_backtrace = abt::backtrace().size();
        co_await ABT_AWAIT(ev.wait());
        co_return;
    }
    co_await ABT_AWAIT(coro::when_all(nested_join(n - 1, ev)));
}

TEST_CASE("joins nested deeper than the hand-over stack never take an outer parent" * doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    coro::task<> t = nested_join(40, ev);
    t.start();
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    // Every frame is either a root or exactly one column deeper than the line above.
    std::size_t previous = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t column = testing::column_of_frame_mark(lines[i]);
        CHECK((column == 0 || column == previous + 3));
        previous = column;
    }
    CHECK(lines.size() == 41);
    CHECK(abt::task_count() >= 2);  // the hand-over stack (32) ran out: some joins start tasks of their own
    CHECK(deepest_backtrace <= 41);
    ev.set();
    CHECK(t.done());
    CHECK(abt::task_count() == 0);
}

coro::event sibling_gate;
TEST_CASE("sibling lambdas with the same signature are never taken for one invocation" * doctest::skip(!ABT_ENABLED)) {
    std::function<void()> call_b;
    Names seen_by_a;
    auto a = [&] {
        ABT_FRAMED();
        call_b();  // b's eager coroutine suspends inside and returns here
        seen_by_a = backtrace_names();
    };
    {
        ABT_FRAMED("main block");
        auto b = []() -> coro::detached {
            ABT_FRAMED();
            co_await ABT_AWAIT(sibling_gate.wait());
        };
        call_b = [&] { b(); };
        a();
        CHECK(seen_by_a.size() == 2);  // a's frame and the main block: a still runs
        CHECK(count_of(abt::taskdump_tree(), " suspended at ") == 1);
    }
    CHECK(abt::task_count() == 1);
    sibling_gate.set();
    CHECK(abt::task_count() == 0);
    CHECK(abt::backtrace().empty());
}

// What a framed coroutine carries (issue 14's memory figures; make bench case 9
// measures the heap): a regression here costs every suspended coroutine.
#if ABT_ENABLED && UINTPTR_MAX > 0xFFFFFFFFu
static_assert(sizeof(abt::detail::frame) <= 152, "a frame grew: every framed coroutine pays it");
[[maybe_unused]] static void awaiter_size_check() {  // ABT_AWAIT names the function it is in: inside one
    static_assert(sizeof(decltype(ABT_AWAIT(std::declval<coro::event&>().wait()))) <=
                      sizeof(decltype(std::declval<coro::event&>().wait())) + sizeof(void*),
                  "ABT_AWAIT's awaiter keeps one word beyond the inner awaiter");
}
#endif

coro::event lambda_gate;
TEST_CASE("an ABT_AWAIT in an unframed lambda inside a framed block leaves that block's frame running" *
          doctest::skip(!ABT_ENABLED)) {
    {
        ABT_FRAMED("framed block");
        // The lambda's ABT_AWAIT sits inside the block's guard in the source,
        // but in another function: it can never suspend that guard's frame.
        auto unframed = []() -> coro::detached { co_await ABT_AWAIT(lambda_gate.wait()); };
        unframed();  // eager: suspends at once and returns here
        CHECK(backtrace_names() == Names{"framed block"});
        CHECK(count_of(abt::taskdump_tree(), " suspended at ") == 0);
        CHECK(abt::taskdump_tree().find("[running]") != std::string::npos);
    }
    lambda_gate.set();
    CHECK(abt::task_count() == 0);
}

// ---- regressions from the third review --------------------------------------------------

/// A channel whose send hands control straight to a waiting receiver.
struct hand_off_channel {
    std::coroutine_handle<> receiver;
    std::coroutine_handle<> sender;
    struct receive_awaiter {
        hand_off_channel* ch;
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept { ch->receiver = h; }
        void await_resume() noexcept {}
    };
    struct send_awaiter {
        hand_off_channel* ch;
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) noexcept {
            ch->sender = h;
            return std::exchange(ch->receiver, {});
        }
        void await_resume() noexcept {}
    };
};
coro::task<> receiver_framed_later(hand_off_channel& ch, coro::event& ev) {
    co_await ABT_AWAIT(hand_off_channel::receive_awaiter{&ch});  // no frame yet: a pass-through
    {
        ABT_FRAMED("receiver");
        co_await ABT_AWAIT(ev.wait());
    }
}
coro::task<> sender(hand_off_channel& ch) {
    ABT_FRAMED();
    co_await ABT_AWAIT(hand_off_channel::send_awaiter{&ch});
}

TEST_CASE("a coroutine resumed by a hand-off is not taken for a child of the sender" * doctest::skip(!ABT_ENABLED)) {
    hand_off_channel ch;
    coro::event ev;
    coro::task<> r = receiver_framed_later(ch, ev);
    r.start();
    coro::task<> s = sender(ch);
    s.start();  // hands control to the waiting receiver by symmetric transfer
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\xE2\x95\xBC sender at") == 0);
    CHECK(lines[1].find("\xE2\x95\xBC receiver at") == 0);  // a task of its own
    CHECK(abt::task_count() == 2);
    r.reset();
    s.reset();
    CHECK(abt::task_count() == 0);
}

void drain_a_local_queue() {
    coro::run_loop local;
    mark_work_items(local, marking::plain);
    local.post([] {});
    local.run();
}
coro::task<> child_with_nested_loop(coro::event& ev) {
    ABT_FRAMED();
    drain_a_local_queue();  // a nested work item inside a join's child
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> parent_of_nested_loops(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(coro::when_all(child_with_nested_loop(ev), child_with_nested_loop(ev)));
}

TEST_CASE("a nested work item hides, and does not end, the join around it" * doctest::skip(!ABT_ENABLED)) {
    coro::run_loop loop;
    coro::event ev;
    mark_work_items(loop, marking::one_task);
    coro::task<> p = parent_of_nested_loops(ev);
    loop.post([&] { p.start(); });
    loop.run();
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 3);
    CHECK(lines[1].find("  \xE2\x94\x9C\xE2\x95\xBC child_with_nested_loop at") == 0);
    CHECK(lines[2].find("  \xE2\x94\x94\xE2\x95\xBC child_with_nested_loop at") == 0);
    ev.set();
    CHECK(p.done());
    CHECK(abt::task_count() == 0);
}

coro::task<> overflow_leaf(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
coro::task<> overflow_join(int n, coro::event& ev) {
    ABT_FRAMED();
    if (n == 0)
        co_await ABT_AWAIT(coro::when_all(overflow_leaf(ev), overflow_leaf(ev)));
    else
        co_await ABT_AWAIT(coro::when_all(overflow_join(n - 1, ev)));
}

TEST_CASE("past the hand-over stack, siblings never nest under each other, even in a one-task work item" *
          doctest::skip(!ABT_ENABLED)) {
    coro::run_loop loop;
    coro::event ev;
    mark_work_items(loop, marking::one_task);
    coro::task<> t = overflow_join(40, ev);
    loop.post([&] { t.start(); });
    loop.run();
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    std::size_t leaves_as_roots = 0;
    for (const std::string& line : lines) {
        if (line.find("overflow_leaf at") == std::string::npos) continue;
        CHECK(testing::column_of_frame_mark(line) == 0);  // past the stack: tasks of their own
        ++leaves_as_roots;
    }
    CHECK(leaves_as_roots == 2);
    ev.set();
    loop.run();
    CHECK(t.done());
    CHECK(abt::task_count() == 0);
}
