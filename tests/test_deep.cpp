// Dumps of deep tasks: a framed coroutine that recurses (a recursive async
// walk) 200,000 levels deep. Every kind of dump must work, from the main
// thread and from a thread with a 256 KB stack, and the text must grow with
// the number of frames, not with their depth squared.
#include "deep_chain.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using testing::count_of;
using testing::lines_of;

namespace deep {

using deep_chain::on_stack_of;
// walk(levels) ... walk(0), then leaf(): levels + 2 frames. 200,000 in every
// build but g++'s ThreadSanitizer: its deadlock detector stores the whole
// call stack at each new atomic it meets, and at -O1 g++ makes each level of
// the chain one more nested call (symmetric transfer is not a tail call), so
// memory grows with the square of the depth (24 GB at 200,000 levels, when
// the OOM killer stopped it; 7.8 GB at 20,000). There, 4,000 levels, still
// four times what crashed 0.2's grouped dump on a 256 KB stack; clang++'s
// TSan build, whose symmetric transfer is a tail call, runs 200,000.
#if !defined(ABT_TEST_DEEP_LEVELS)
#if defined(__SANITIZE_THREAD__) && !defined(__clang__)
#define ABT_TEST_DEEP_LEVELS 4000
#else
#define ABT_TEST_DEEP_LEVELS 200000
#endif
#endif
constexpr int levels = ABT_TEST_DEEP_LEVELS;
constexpr std::size_t frames = levels + 2;

/// The longest line of text, in bytes.
inline std::size_t longest_line(const std::string& text) {
    std::size_t longest = 0;
    for (std::size_t at = 0; at < text.size();) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        longest = (std::max)(longest, end - at);
        at = end + 1;
    }
    return longest;
}

/// Every in-process dump of the chain, checked; `where` names the thread.
inline void take_every_dump(const char* where) {
    INFO(where);
    const std::string plain = abt::taskdump_tree(false);
    std::vector<std::string> lines = lines_of(plain);
    REQUIRE(lines.size() == frames);
    CHECK(lines[0].rfind("\xE2\x95\xBC deep_chain::walk at ", 0) == 0);
    // Depth 32 and shallower: the seed's indentation; deeper: that of depth
    // 32 and a marker. No line is longer than depth 32's line plus a marker.
    CHECK(lines[32].rfind(std::string(2 + 31 * 3, ' ') + "\xE2\x94\x94\xE2\x95\xBC deep_chain::walk at ", 0) == 0);
    CHECK(lines[33].rfind(std::string(2 + 31 * 3, ' ') + "\xE2\x94\x94\xE2\x95\xBC [depth 33] deep_chain::walk at ", 0) == 0);
    CHECK(lines.back().find("[depth " + std::to_string(frames - 1) + "] deep_chain::leaf at ") != std::string::npos);
    CHECK(longest_line(plain) < 300);
    CHECK(plain.size() < frames * 300);  // linear: 601 MB for 20,000 levels before

    abt::dump_options rich;
    const std::string tree = abt::taskdump_tree(rich);
    CHECK(lines_of(tree).size() == frames + 1);  // a header line
    CHECK(longest_line(tree) < 300);

    abt::dump_options grouped;
    grouped.group = true;
    const std::string groups = abt::taskdump_tree(grouped);
    CHECK(lines_of(groups).size() == frames + 1);
    CHECK(groups.rfind("task ", 0) == 0);

    abt::dump_options cut;
    cut.max_depth = 50;
    const std::vector<std::string> cut_lines = lines_of(abt::taskdump_tree(cut));
    REQUIRE(cut_lines.size() == 1 + 50 + 1);
    CHECK(cut_lines.back().find("[" + std::to_string(frames - 50) + " frames below max_depth]") != std::string::npos);

    const std::string json = abt::taskdump_json();
    CHECK(count_of(json, "{\"depth\":") == frames);
    CHECK(json.find("{\"depth\":" + std::to_string(frames - 1) + ",\"function\":\"deep_chain::leaf\"") != std::string::npos);
    CHECK(json.find("\"tasks\":[") != std::string::npos);
    CHECK(json.size() < frames * 400);
    CHECK(json.substr(json.size() - 3) == "]}\n");  // complete, and flat: no nesting grows with depth

    const std::string folded = abt::taskdump_folded();
    REQUIRE(lines_of(folded).size() == 1);
    CHECK(count_of(folded, "deep_chain::walk;") == static_cast<std::size_t>(levels + 1));
    CHECK(folded.find(";deep_chain::leaf;") != std::string::npos);

    // dump() writes as it goes (in pieces of 64 KB): the same text.
    abt::dump_options untimed;
    untimed.times = false;
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    abt::dump(out, untimed);
    CHECK(testing::contents_of(out) == abt::taskdump_tree(untimed));
    std::fclose(out);
}

}  // namespace deep

TEST_CASE("a task 200,000 frames deep: every dump works, from any thread, with output linear in frames" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace deep;
    // The chain is made, and completes, on a thread with a 1 GB stack: each
    // level starts the next by symmetric transfer, which is a tail call only
    // where the compiler makes sibling calls (-O2); these builds are -O1.
    constexpr std::size_t big_stack = std::size_t{1} << 30;
    deep_chain::record_backtrace = true;
    coro::task<> root = deep_chain::walk(levels);
    on_stack_of(big_stack, [&] { root.start(); });
    deep_chain::record_backtrace = false;
    REQUIRE(deep_chain::leaf_backtrace.size() == frames);
    CHECK(std::string(deep_chain::leaf_backtrace.front().function) == "deep_chain::leaf");
    CHECK(std::string(deep_chain::leaf_backtrace.back().function) == "deep_chain::walk");

    take_every_dump("main thread");
    on_stack_of(256 * 1024, [] { take_every_dump("a thread with a 256 KB stack"); });  // a dump needs no more

    // The signal dump (a watcher thread) and the watchdog (its own thread).
    std::FILE* signal_out = std::tmpfile();
    REQUIRE(signal_out != nullptr);
    REQUIRE(abt::install_signal_dump(SIGUSR2, signal_out));
    std::raise(SIGUSR2);
    REQUIRE(testing::wait_until([&] { return testing::contents_of(signal_out).find("end of dump\n") != std::string::npos; },
                                std::chrono::seconds(30)));
    abt::uninstall_signal_dump();
    std::signal(SIGUSR2, SIG_DFL);
    const std::string signalled = testing::contents_of(signal_out);
    std::fclose(signal_out);
    CHECK(count_of(signalled, "deep_chain::walk at ") == static_cast<std::size_t>(levels + 1));
    CHECK(longest_line(signalled) < 300);

    std::FILE* dog_out = std::tmpfile();
    REQUIRE(dog_out != nullptr);
    {
        abt::watchdog_options o;
        o.suspended_longer_than = std::chrono::milliseconds(1);
        o.check_every = std::chrono::milliseconds(20);
        o.out = dog_out;
        abt::watchdog dog(o);
        REQUIRE(testing::wait_until([&] { return dog.episodes() == 1; }, std::chrono::seconds(30)));
    }
    const std::string report = testing::contents_of(dog_out);
    std::fclose(dog_out);
    // The innermost waiting frame only: the leaf, at its await.
    CHECK(count_of(report, "async_backtrace: watchdog: task ") == 1);
    CHECK(report.find("(deep_chain::leaf) at ") != std::string::npos);
    CHECK(report.find("end of watchdog report\n") != std::string::npos);

    on_stack_of(big_stack, [] { deep_chain::release.set(); });  // the chain completes by symmetric transfer
    CHECK(root.done());
    CHECK(abt::taskdump_tree(false).empty());
}

// ---- The registry lock during a dump of a huge task ---------------------------
// A dump copies a task bigger than one hold (about 1,000 frames) in pieces,
// letting go of the registry lock in between; a change to the links of a
// frame it already visited makes it start that task again (see
// "Copying tasks under the lock, in bounded holds" in the header).

namespace deep {

/// How many frames of a task made of `levels` recursive levels a test uses:
/// at most 20,000 (many pieces), fewer where ABT_TEST_DEEP_LEVELS is small.
constexpr int piecewise_levels = levels < 20000 ? levels : 20000;

/// A deep chain whose innermost frame keeps changing the task's links: it
/// awaits hop() again and again, each a child that suspends once (published
/// under churn()) and ends on the pool's thread (unlinked), until `stop`.
struct churning {
    coro::thread_pool pool{1};
    std::atomic<bool> stop{false};
    std::atomic<long> hops{0};
    coro::event finish;
    std::atomic<unsigned> finish_line{0};  // churn()'s wait for `finish`, once it got there

    coro::task<> hop() {
        ABT_FRAMED();
        co_await ABT_AWAIT(pool.schedule());
        ++hops;
    }
    coro::task<> churn() {
        ABT_FRAMED();
        while (!stop.load()) co_await ABT_AWAIT(hop());
        finish_line = __LINE__; co_await ABT_AWAIT(finish.wait());
    }
    coro::task<> chain(int depth) {
        ABT_FRAMED();
        if (depth == 0)
            co_await ABT_AWAIT(churn());
        else
            co_await ABT_AWAIT(chain(depth - 1));
    }
};

/// A chain of `depth` + 1 frames waiting for its own event.
inline coro::task<> waiting_chain(int depth, coro::event& ev) {
    ABT_FRAMED();
    if (depth == 0)
        co_await ABT_AWAIT(ev.wait());
    else
        co_await ABT_AWAIT(waiting_chain(depth - 1, ev));
}

/// No torn tree: a task's frames form one chain, each one level below the
/// one before, all named `name` but the last `last` (if any) of them.
inline bool is_chain_of(const abt::task_snapshot& t, const std::string& name,
                        const std::vector<std::string>& last = {}) {
    const std::size_t n = t.frames.size();
    if (n < last.size()) return false;
    for (std::size_t i = 0; i < n; ++i) {
        if (t.frames[i].depth != i) return false;
        const std::string& expected = i + last.size() >= n ? last[i + last.size() - n] : name;
        if (t.frames[i].name != expected) return false;
    }
    return true;
}

/// Dumps that do not wait for running tasks.
inline abt::dump_options at_once() {
    abt::dump_options o;
    o.wait_for_running = std::chrono::milliseconds(0);
    return o;
}

}  // namespace deep

TEST_CASE("a dump lets go of the registry lock while it copies a huge task, and shows it whole" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace deep;
    constexpr std::size_t big_stack = std::size_t{1} << 30;
    deep_chain::release.reset();  // set by the test above
    coro::task<> root = deep_chain::walk(levels);
    on_stack_of(big_stack, [&] { root.start(); });
    REQUIRE_FALSE(root.done());

    // Another thread takes the lock (abt::task_count()) in a loop and counts;
    // the dump's only task is the chain, so its copy runs from the call to
    // the first visit. Under one hold the prober would get in at most twice
    // (once before the dump took the lock, once after it let go of it).
    std::atomic<bool> stop{false};
    std::atomic<long> taken{0};
    std::thread prober([&] {
        while (!stop.load()) {
            static_cast<void>(abt::task_count());
            ++taken;
        }
    });
    REQUIRE(testing::wait_until([&] { return taken.load() > 0; }));
    long during_copy = -1;
    std::size_t visits = 0;
    const long before = taken.load();
    abt::for_each_task(at_once(), [&](const abt::task_snapshot& t) {
        if (visits++ == 0) during_copy = taken.load() - before;
        CHECK(t.whole);
        CHECK(t.frames.size() == frames);
        CHECK(is_chain_of(t, "deep_chain::walk", {"deep_chain::leaf"}));
        CHECK(t.frames.back().state == abt::frame_state::suspended);
    });
    stop = true;
    prober.join();
    CHECK(visits == 1);
    MESSAGE("the prober took the lock " << during_copy << " times while the dump copied " << frames << " frames");
    // Each read of the task walks down and back up its chain, 2 steps per
    // frame, and a copy reads it twice: 4 * frames / 2048 pauses, each a
    // chance for the prober (the dump waits for a thread that waits).
    constexpr std::size_t frames_per_hold = 2048;  // abt::detail's (not there with ABT_ENABLED 0)
    const long pauses = static_cast<long>(4 * frames / frames_per_hold);
    CHECK(during_copy > (std::max)(2L, pauses / 8));

    on_stack_of(big_stack, [] { deep_chain::release.set(); });
    CHECK(root.done());
    CHECK(abt::taskdump_tree(false).empty());
}

TEST_CASE("a huge task whose links change while a dump copies it in pieces: never torn, never read after a change" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace deep;
    constexpr std::size_t big_stack = std::size_t{1} << 30;
    deep::churning c;
    coro::task<> root = c.chain(piecewise_levels);
    on_stack_of(big_stack, [&] { root.start(); });  // runs until the first hop suspends
    REQUIRE(testing::wait_until([&] { return c.hops.load() > 10; }));

    std::size_t whole = 0, running = 0;
    for (int i = 0; i < 20; ++i) {
        abt::for_each_task(at_once(), [&](const abt::task_snapshot& t) {
            if (t.frames[0].name != "deep::churning::chain") return;  // a hop between its suspension and its end
            if (t.whole) {
                ++whole;
                // The chain, churn(), and hop() if one was suspended then.
                CHECK((is_chain_of(t, "deep::churning::chain", {"deep::churning::churn"}) ||
                       is_chain_of(t, "deep::churning::chain", {"deep::churning::churn", "deep::churning::hop"})));
                CHECK(t.frames.size() >= static_cast<std::size_t>(piecewise_levels) + 2);
                for (const abt::frame_snapshot& f : t.frames) CHECK(f.state == abt::frame_state::suspended);
            } else {
                ++running;
                CHECK(t.frames.size() == 1);  // its root: it runs
            }
        });
    }
    CHECK(whole + running == 20);
    MESSAGE("shown whole " << whole << " times, running " << running << " times, during " << c.hops.load()
                           << " hops");

    c.stop = true;
    // Set `finish` only once churn() waits for it: between a hop's end and
    // churn's resumption the tree already has no hop, and an event set then
    // would let the chain end on the pool's thread, after this test.
    REQUIRE(testing::wait_until([&] {
        const std::string waits_for_finish = "suspended at " + testing::place(__FILE__, c.finish_line.load());
        return c.finish_line.load() != 0 && abt::taskdump_tree(false).find(waits_for_finish) != std::string::npos;
    }));
    on_stack_of(big_stack, [&] { c.finish.set(); });  // the whole chain ends on this big stack
    CHECK(root.done());
}

TEST_CASE("tasks that end while a dump copies them in pieces are skipped, never read after they end" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace deep;
    constexpr int tasks = 8;
    constexpr int depth = 3000;  // 3,001 frames: a few pieces each
    std::vector<std::unique_ptr<coro::event>> events;
    std::vector<coro::task<>> chains;
    for (int i = 0; i < tasks; ++i) {
        events.push_back(std::make_unique<coro::event>());
        chains.push_back(waiting_chain(depth, *events.back()));
        chains.back().start();
    }
    // Another thread ends them one by one while dumps run.
    std::thread ender([&] {
        for (int i = 0; i < tasks; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            events[static_cast<std::size_t>(i)]->set();
        }
    });
    std::size_t dumps = 0;
    for (bool any = true; any; ++dumps) {
        any = false;
        abt::for_each_task(at_once(), [&](const abt::task_snapshot& t) {
            any = true;
            if (!t.whole) return;  // ending right now: its root only
            // Whole: the chain, every frame suspended; shorter while it ends
            // (between a level's end and its parent's resumption, the parent
            // still waits at its await: a real state of the task).
            CHECK(t.frames.size() <= static_cast<std::size_t>(depth) + 1);
            CHECK(is_chain_of(t, "deep::waiting_chain"));
            for (const abt::frame_snapshot& f : t.frames) CHECK(f.state == abt::frame_state::suspended);
        });
    }
    ender.join();
    MESSAGE(dumps << " dumps while " << tasks << " tasks of " << depth + 1 << " frames ended");
    for (coro::task<>& t : chains) CHECK(t.done());
    CHECK(abt::taskdump_tree(false).empty());
}

namespace deep {

/// Tasks of one frame that run for a moment on the pool's thread and end
/// (their coroutine frames freed at once), a few alive at a time.
struct short_tasks {
    coro::thread_pool pool{1};
    std::atomic<bool> stop{false};
    std::atomic<long> ended{0};

    coro::detached runner(int spin_us) {
        ABT_FRAMED();
        co_await ABT_AWAIT(pool.schedule());
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
        while (std::chrono::steady_clock::now() < until) {
        }
        ++ended;
    }
    void generate() {
        for (int i = 0; !stop.load(); ++i) {
            runner(5 + (i * 37) % 150);
            while (i - ended.load() > 4 && !stop.load()) std::this_thread::yield();
        }
    }
};

/// Dumps, for `seconds`, from inside `depth` nested framed calls; checks
/// that the dumping thread's own task shows every one of them.
inline void dump_from_deep(int depth, std::chrono::milliseconds how_long, std::size_t& dumps) {
    ABT_FRAMED();
    if (depth > 0) return dump_from_deep(depth - 1, how_long, dumps);
    const auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until) {
        std::size_t own = 0;
        abt::for_each_task(at_once(), [&](const abt::task_snapshot& t) {
            if (t.frames[0].name == "deep::dump_from_deep") own = t.frames.size();
        });
        CHECK(own == static_cast<std::size_t>(piecewise_levels) / 4 + 1);
        ++dumps;
    }
}

}  // namespace deep

TEST_CASE("a dump from deep inside a running chain while other tasks run and end: nothing read after it ends" *
          doctest::skip(!ABT_ENABLED)) {
    // The dump walks its own chain (thousands of frames, in pieces) while
    // other tasks end on another thread: a task found running must be
    // marked before any pause, or its frame may be freed meanwhile (a
    // review found this; ASan showed the read).
    using namespace deep;
    deep::short_tasks tasks;
    std::thread generator([&] { tasks.generate(); });
    std::size_t dumps = 0;
    on_stack_of(std::size_t{1} << 30,
                [&] { dump_from_deep(piecewise_levels / 4, std::chrono::milliseconds(1500), dumps); });
    tasks.stop = true;
    generator.join();
    MESSAGE(dumps << " dumps from " << piecewise_levels / 4 + 1 << " frames deep while " << tasks.ended.load()
                  << " tasks ended");
    CHECK(dumps > 0);
    REQUIRE(testing::wait_until([] { return abt::task_count() == 0; }));
}
