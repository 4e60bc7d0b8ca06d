// The dump: its exact format, running tasks, waiting dumps, dumps from
// inside tasks.
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <latch>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using testing::count_of;
using testing::lines_of;
using testing::place;

namespace seed {

// The seed's example: foo -> bar -> join(buz -> baz, fiz), and `pending`.
// Each coroutine is one line, so its frame and its await share that line.
coro::event never;
coro::task<> pending() { ABT_FRAMED(); co_await ABT_AWAIT(never.wait()); } constexpr unsigned pending_line = __LINE__;
coro::task<> fiz() { ABT_FRAMED(); co_await ABT_AWAIT(never.wait()); } constexpr unsigned fiz_line = __LINE__;
coro::task<> baz() { ABT_FRAMED(); co_await ABT_AWAIT(never.wait()); } constexpr unsigned baz_line = __LINE__;
coro::task<> buz() { ABT_FRAMED(); co_await ABT_AWAIT(baz()); } constexpr unsigned buz_line = __LINE__;
coro::task<> bar() { ABT_FRAMED(); co_await ABT_AWAIT(coro::when_all(buz(), fiz())); } constexpr unsigned bar_line = __LINE__;
coro::task<> foo() { ABT_FRAMED(); co_await ABT_AWAIT(bar()); } constexpr unsigned foo_line = __LINE__;

std::string at(const char* name, unsigned line) {
    const std::string p = place(__FILE__, line);
    return std::string(name) + " at " + p + " suspended at " + p;
}

}  // namespace seed

TEST_CASE("the dump has the seed's exact format, with await sites" * doctest::skip(!ABT_ENABLED)) {
    coro::task<> foo = seed::foo();
    coro::task<> pending = seed::pending();
    foo.start();
    pending.start();
    const std::string expected =
        "\xE2\x95\xBC " + seed::at("seed::foo", seed::foo_line) + "\n" +
        "  \xE2\x94\x94\xE2\x95\xBC " + seed::at("seed::bar", seed::bar_line) + "\n" +
        "     \xE2\x94\x9C\xE2\x95\xBC " + seed::at("seed::buz", seed::buz_line) + "\n" +
        "     \xE2\x94\x82  \xE2\x94\x94\xE2\x95\xBC " + seed::at("seed::baz", seed::baz_line) + "\n" +
        "     \xE2\x94\x94\xE2\x95\xBC " + seed::at("seed::fiz", seed::fiz_line) + "\n" +
        "\xE2\x95\xBC " + seed::at("seed::pending", seed::pending_line) + "\n";
    const std::string dump = abt::taskdump_tree();
    CHECK(dump == expected);
    CHECK(abt::taskdump_tree(true) == expected);  // nothing runs: waiting changes nothing
    const std::vector<std::size_t> columns = {0, 3, 6, 9, 6, 0};
    const std::vector<std::string> lines = lines_of(dump);
    REQUIRE(lines.size() == columns.size());
    for (std::size_t i = 0; i < lines.size(); ++i) CHECK(testing::column_of_frame_mark(lines[i]) == columns[i]);
    CHECK(abt::task_count() == 2);
}

TEST_CASE("dump prints the tree, with ids and times, to a FILE" * doctest::skip(!ABT_ENABLED)) {
    ABT_FRAMED("printed");
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    abt::dump(file);
    std::rewind(file);
    char buffer[512] = {};
    const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, file);
    std::fclose(file);
    const std::string text(buffer, n);
    CHECK(text.rfind("task ", 0) == 0);  // dump() shows ids and times: a header line, then the tree
    CHECK(text.find("\n\xE2\x95\xBC printed at ") != std::string::npos);
}

namespace {
/// A thread that runs inside a framed task until released.
struct running_task {
    std::mutex mutex;
    std::condition_variable cv;
    bool inside = false, release = false;
    std::thread thread;

    explicit running_task(std::chrono::milliseconds work_after_release = std::chrono::milliseconds(0)) {
        thread = std::thread([this, work_after_release] {
            ABT_FRAMED("busy task");
            {
                ABT_FRAMED("busy work");
                std::unique_lock<std::mutex> lock(mutex);
                inside = true;
                cv.notify_all();
                cv.wait(lock, [this] { return release; });
            }
            std::this_thread::sleep_for(work_after_release);
        });
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [this] { return inside; });
    }
    void finish() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            release = true;
        }
        cv.notify_all();
        thread.join();
    }
};
}  // namespace

TEST_CASE("a running task shows a marker instead of a possibly torn tree" * doctest::skip(!ABT_ENABLED)) {
    running_task task;
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\xE2\x95\xBC busy task at ") == 0);
    CHECK(lines[0].find("[running]") == std::string::npos);
    CHECK(lines[1] == "  \xE2\x94\x94\xE2\x94\x88 [running]");
    task.finish();
    CHECK(abt::taskdump_tree().empty());
}

TEST_CASE("tasks that never suspended are listed per thread, counted, and gone when their threads end" *
          doctest::skip(!ABT_ENABLED)) {
    running_task a, b;
    CHECK(abt::task_count() == 2);
    const std::string dump = abt::taskdump_tree();
    CHECK(count_of(dump, "\xE2\x95\xBC busy task at ") == 2);
    CHECK(count_of(dump, "[running]") == 2);
    CHECK(count_of(dump, "busy work") == 0);  // a running task's frames are never shown
    a.finish();
    CHECK(abt::task_count() == 1);
    b.finish();
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree().empty());
}

namespace {
struct frames_at_thread_exit {
    std::string* out = nullptr;
    ~frames_at_thread_exit() {
        ABT_FRAMED("thread_local destructor");
        *out = abt::taskdump_tree();
    }
};
}  // namespace

TEST_CASE("frames made by a thread_local destructor after the thread was unlisted work and leave nothing" *
          doctest::skip(!ABT_ENABLED)) {
    std::string seen;
    std::thread([&] {
        static thread_local frames_at_thread_exit late;  // made before the first frame: destroyed after the hook
        late.out = &seen;
        ABT_FRAMED("thread body");
    }).join();
    CHECK(seen.find("\xE2\x95\xBC thread_local destructor at ") == 0);  // a dump from inside still sees itself
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree().empty());
}

namespace {
coro::task<> suspends_after_work(coro::event& started, coro::event& never, std::atomic<bool>& go) {
    ABT_FRAMED();
    started.set();
    while (!go) std::this_thread::yield();
    co_await ABT_AWAIT(never.wait());
}
}  // namespace

TEST_CASE("a waiting dump waits for running tasks to suspend, then shows them in full" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event started, never;
    std::atomic<bool> go{false};
    coro::task<> t = suspends_after_work(started, never, go);
    std::thread runner([&] { t.start(); });
    REQUIRE(testing::wait_until([&] { return started.is_set(); }));
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        go = true;
    });
    const std::string dump = abt::taskdump_tree(true);
    releaser.join();
    runner.join();
    CHECK(count_of(dump, "suspends_after_work at ") == 1);
    CHECK(count_of(dump, " suspended at ") == 1);
    CHECK(count_of(dump, "[running]") == 0);
}

TEST_CASE("a waiting dump is bounded: a task that never suspends keeps its marker" * doctest::skip(!ABT_ENABLED)) {
    running_task task;
    const auto start = std::chrono::steady_clock::now();
    const std::string dump = abt::taskdump_tree(true);
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= std::chrono::milliseconds(ABT_DUMP_WAIT_MS));
    CHECK(count_of(dump, "[running]") == 1);
    task.finish();
}

TEST_CASE("dump_options::wait_for_running: a wait given as a duration, bounded by it" * doctest::skip(!ABT_ENABLED)) {
    running_task task;
    abt::dump_options o;
    o.wait_for_running = std::chrono::milliseconds(60);
    const auto start = std::chrono::steady_clock::now();
    const std::string dump = abt::taskdump_tree(o);
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= std::chrono::milliseconds(60));
    CHECK(waited < std::chrono::milliseconds(ABT_DUMP_WAIT_MS));
    CHECK(count_of(dump, "[running]") == 1);
    task.finish();
}

TEST_CASE("taskdump_tree({}) is the options form; only a bool or nothing gives the plain tree" *
          doctest::skip(!ABT_ENABLED)) {
    coro::task<> pending = seed::pending();
    pending.start();
    CHECK(abt::taskdump_tree({}).rfind("task ", 0) == 0);  // a header line: dump_options{}
    CHECK(abt::taskdump_tree(abt::dump_options{}).rfind("task ", 0) == 0);
    const std::string plain = "\xE2\x95\xBC " + seed::at("seed::pending", seed::pending_line) + "\n";
    CHECK(abt::taskdump_tree() == plain);
    CHECK(abt::taskdump_tree(false) == plain);
    CHECK(abt::taskdump_tree(true) == plain);
}

TEST_CASE("a dump from inside a task shows the dumping thread's own chain" * doctest::skip(!ABT_ENABLED)) {
    ABT_FRAMED("outer");
    {
        ABT_FRAMED("inner");
        const std::vector<std::string> lines = lines_of(abt::taskdump_tree(true));  // never waits on itself
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].find("\xE2\x95\xBC outer at ") == 0);
        CHECK(lines[0].find(" [running]") != std::string::npos);
        CHECK(lines[1].find("  \xE2\x94\x94\xE2\x95\xBC inner at ") == 0);
        CHECK(lines[1].find(" [running]") != std::string::npos);
    }
}

TEST_CASE("a dump from inside a task while other threads run in it shows its chain and a note" *
          doctest::skip(!ABT_ENABLED)) {
    abt::persistent_frame op{ABT_SITE("shared op")};
    std::latch entered(1), release(1);
    std::thread other([&] {
        ABT_REENTER(op);
        ABT_FRAMED("other thread's handler");
        entered.count_down();
        release.wait();
    });
    entered.wait();
    std::vector<std::string> lines;
    {
        ABT_REENTER(op);
        ABT_FRAMED("my handler");
        lines = lines_of(abt::taskdump_tree());
    }
    release.count_down();
    other.join();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].find("\xE2\x95\xBC shared op at ") == 0);
    CHECK(lines[1].find("my handler at ") != std::string::npos);
    CHECK(lines[2].find("[running: other frames of this task are not shown]") != std::string::npos);
    CHECK(count_of(lines[1] + lines[2], "other thread's handler") == 0);
}

TEST_CASE("two waiting dumps from inside tasks do not wait for each other" * doctest::skip(!ABT_ENABLED)) {
    std::latch both_inside(2);
    std::string dump_a, dump_b;
    unsigned line_a = 0, line_b = 0;  // each thread writes its own
    auto task_body = [&](std::string& out, unsigned& line) {
        line = __LINE__; ABT_FRAMED("dumping task");
        both_inside.arrive_and_wait();
        out = abt::taskdump_tree(true);
    };
    const auto start = std::chrono::steady_clock::now();
    std::thread a([&] { task_body(dump_a, line_a); });
    std::thread b([&] { task_body(dump_b, line_b); });
    a.join();
    b.join();
    const auto took = std::chrono::steady_clock::now() - start;
    const std::string place_of_task_body = testing::place(__FILE__, line_a);
    CHECK(took < std::chrono::milliseconds(ABT_DUMP_WAIT_MS));  // neither waited out the bound
    // Each shows its own task in full (its own chain, marked running). The
    // other one is parked in its dump and shown in full while it is still
    // inside it; once it has left its dump (its frame not ended yet) it runs,
    // and a dump copying it then shows it as running: both are true pictures
    // (under ASan the second one is common). At most that one line each.
    CHECK(count_of(dump_a, "dumping task at " + place_of_task_body + " [running]\n") >= 1);
    CHECK(count_of(dump_b, "dumping task at " + place_of_task_body + " [running]\n") >= 1);
    CHECK(count_of(dump_a, "\xE2\x94\x88 [running]") <= 1);
    CHECK(count_of(dump_b, "\xE2\x94\x88 [running]") <= 1);
}

namespace {
coro::detached waits_under_the_dumper(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}
}  // namespace

TEST_CASE("a waiting dump from a nested loop's work item inside a framed function does not wait for itself" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    std::string dump;
    std::chrono::steady_clock::duration took{};
    {
        ABT_FRAMED("outer");
        waits_under_the_dumper(ev);
        coro::run_loop loop;
        loop.item_wrapper = [](const std::function<void()>& item) {
            ABT_WORK_ITEM();
            item();
        };
        loop.post([&] {
            const auto start = std::chrono::steady_clock::now();
            dump = abt::taskdump_tree(true);
            took = std::chrono::steady_clock::now() - start;
        });
        loop.run();
    }
    CHECK(took < std::chrono::milliseconds(ABT_DUMP_WAIT_MS));
    const std::vector<std::string> lines = lines_of(dump);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\xE2\x95\xBC outer at ") == 0);
    CHECK(lines[1].find("waits_under_the_dumper at ") != std::string::npos);
    ev.set();
    CHECK(abt::task_count() == 0);
}

// ---- regressions from the performance review ----------------------------------

namespace {
/// Two children of one join take turns on two threads so that, once both
/// are in their loop, one of them is always running.
struct taking_turns {
    std::atomic<void*> parked[2] = {nullptr, nullptr};
    std::atomic<bool> running[2] = {false, false};
    std::atomic<int> turn{0};
    std::atomic<bool> stop{false};
    std::atomic<long> turns{0};

    struct park {
        taking_turns* self;
        int me;
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept { self->parked[me].store(h.address()); }
        void await_resume() noexcept {}
    };
    coro::task<> child(int me, coro::event& gate) {
        ABT_FRAMED("child");
        co_await ABT_AWAIT(park{this, me});  // moves to thread `me`
        if (me == 0)
            for (int k = 0; k < 500; ++k) waiter(gate);  // a subtree that makes the task slow to read
        running[me] = true;
        for (;;) {
            while (!(turn.load() == me && running[1 - me].load())) {
                if (stop.load()) co_return;
                std::this_thread::yield();
            }
            running[me] = false;
            turn = 1 - me;
            co_await ABT_AWAIT(park{this, me});
            running[me] = true;
            ++turns;
        }
    }
    static coro::detached waiter(coro::event& gate) {
        ABT_FRAMED("waiter");
        co_await ABT_AWAIT(gate.wait());
    }
    coro::task<> parent(coro::event& gate) {
        ABT_FRAMED("parent");
        co_await ABT_AWAIT(coro::when_all(child(0, gate), child(1, gate)));
    }
};
}  // namespace

TEST_CASE("a task whose children take turns running is never shown as a suspended tree" *
          doctest::skip(!ABT_ENABLED)) {
    taking_turns t;
    coro::event gate;
    std::atomic<bool> workers_stop{false};
    std::thread workers[2];
    for (int i = 0; i < 2; ++i)
        workers[i] = std::thread([&t, &workers_stop, i] {
            while (!workers_stop.load()) {
                if (void* h = t.parked[i].exchange(nullptr))
                    std::coroutine_handle<>::from_address(h).resume();
                else
                    std::this_thread::yield();
            }
        });
    coro::task<> p = t.parent(gate);
    p.start();
    long dumps = 0, torn = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
    while (std::chrono::steady_clock::now() < until) {
        const bool in_loop = t.turns.load() >= 1;
        const std::string dump = abt::taskdump_tree(false);
        ++dumps;
        if (in_loop && dump.find("child at") != std::string::npos) ++torn;  // one child always runs
    }
    t.stop = true;
    REQUIRE(testing::wait_until([&] { return p.done(); }));
    workers_stop = true;
    for (std::thread& w : workers) w.join();
    gate.set();
    CHECK(torn == 0);
    CHECK(dumps > 0);
    CHECK(abt::task_count() == 0);
}

#if ABT_ENABLED  // reads the library's internals
namespace {
coro::detached framed_at_exit_resumed_at_once() {
    ABT_FRAMED("suspends during thread exit");
    struct resumes_at_once {
        bool await_ready() noexcept { return false; }
        bool await_suspend(std::coroutine_handle<>) noexcept { return false; }
        void await_resume() noexcept {}
    };
    co_await ABT_AWAIT(resumes_at_once{});
}
coro::task<> framed_lazy_child() {
    ABT_FRAMED("framed lazy child");
    co_return;
}
coro::task<> unframed_lazy_child() { co_return; }
coro::task<> awaits_lazy_child(bool framed) {
    ABT_FRAMED("awaits a lazy child");
    if (framed)
        co_await ABT_AWAIT(framed_lazy_child());  // its transfer entry is used up by the child
    else
        co_await ABT_AWAIT(unframed_lazy_child());  // its transfer entry is never used
}
int exit_variant = 0;
struct suspends_at_exit {
    ~suspends_at_exit() {
        if (exit_variant == 0)
            framed_at_exit_resumed_at_once();
        else
            coro::spawn(awaits_lazy_child(exit_variant == 1));
    }
};
std::size_t pooled_stacks() {
    abt::detail::lock_guard guard(abt::detail::the_registry.lock);
    std::size_t n = 0;
    for (const abt::detail::thread_slots* s = abt::detail::the_registry.free_slots; s != nullptr; s = s->next_free) ++n;
    return n;
}
}  // namespace

TEST_CASE("threads that suspend during their exit give their hand-over stack back" * doctest::skip(!ABT_ENABLED)) {
    const std::size_t before = std::max<std::size_t>(pooled_stacks(), 1);
    for (exit_variant = 0; exit_variant < 3; ++exit_variant) {
        CAPTURE(exit_variant);  // a plain suspension; a transfer used up by a framed child; one never used
        for (int i = 0; i < 20; ++i)
            std::thread([] {
                static thread_local suspends_at_exit late;  // made before the first frame: destroyed after the hook
                (void)&late;
                framed_at_exit_resumed_at_once();  // takes a stack; the hook gives it back, then `late` takes one
            }).join();
        CHECK(pooled_stacks() == before);  // one stack lost per thread would empty the pool
        CHECK(abt::task_count() == 0);
    }
}

namespace exit_give_back {
/// A suspension whose await_suspend resumes its coroutine, lets it suspend
/// again (the stack empties: given back during thread exit), lets another
/// thread take that stack, makes an unrelated transfer entry on a new stack,
/// and then transfers to a fresh framed task F. F is unrelated to C2.
struct store_handle {
    std::coroutine_handle<>* where;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { *where = h; }
    void await_resume() noexcept {}
};
std::coroutine_handle<> p_parked, f_parked, r_parked, u_parked;
std::atomic<int> r_go{0}, r_done{0}, all_done{0};
coro::task<> f_task, c2_task, p_task;
std::size_t pool_before_resume = 0, pool_after_resume = 0;

coro::task<> f_body() {
    ABT_FRAMED("F");
    co_await ABT_AWAIT(store_handle{&f_parked});
}
coro::task<> u_body() { co_await store_handle{&u_parked}; }  // unframed
coro::task<> c2_body() {
    ABT_FRAMED("C2");
    co_await ABT_AWAIT(u_body());
}
struct tricky {
    bool await_ready() noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
        pool_before_resume = pooled_stacks();
        h.resume();  // P runs on and suspends again: this thread's stack is empty now
        pool_after_resume = pooled_stacks();  // but this suspension is still in progress: kept
        r_go = 1;    // another thread's first suspension may take a stack from the pool
        while (r_done.load() == 0) std::this_thread::yield();
        c2_task = c2_body();  // a live transfer entry on this thread's next stack
        c2_task.start();
        f_task = f_body();
        return f_task.coroutine();
    }
    void await_resume() noexcept {}
};
coro::task<> p_body() {
    ABT_FRAMED("P");
    co_await ABT_AWAIT(tricky{});
    co_await ABT_AWAIT(store_handle{&p_parked});
}
coro::detached r_body() {
    ABT_FRAMED("R");
    co_await ABT_AWAIT(store_handle{&r_parked});
}
struct late_object {
    ~late_object() {
        p_task = p_body();
        p_task.start();
    }
};
void plain() { ABT_FRAMED("plain"); }  // lists the thread (makes its exit hook) without a stack
}  // namespace exit_give_back

TEST_CASE("a stack given back during thread exit never lets a pending suspension edit another stack's entry" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace exit_give_back;
    std::thread r([] {
        while (r_go.load() == 0) std::this_thread::yield();
        r_body();
        r_done = 1;
        while (all_done.load() == 0) std::this_thread::yield();
    });
    std::thread([] {
        static thread_local late_object late;  // made before the hook: destroyed after it
        (void)&late;
        plain();
    }).join();
    CHECK(pool_after_resume == pool_before_resume);
    const std::string dump = abt::taskdump_tree();
    CHECK(count_of(dump, "\xE2\x95\xBC F at ") == 1);
    CHECK(dump.find("\n\xE2\x95\xBC F at ") != std::string::npos);  // a task of its own, not C2's child
    all_done = 1;
    r.join();
    // Let every parked coroutine end, so the test leaves nothing behind.
    std::exchange(r_parked, {}).resume();
    std::exchange(f_parked, {}).resume();
    std::exchange(u_parked, {}).resume();
    std::exchange(p_parked, {}).resume();
    f_task.reset();
    c2_task.reset();
    p_task.reset();
    CHECK(abt::task_count() == 0);
}
#endif
