// Diagnostics: task ids, names and tags, wait times and ages, grouping,
// dump options, JSON and folded stacks.
#include "coro.hpp"
#include "helpers.hpp"
#include "json.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using testing::count_of;
using testing::lines_of;
using testing::place;

namespace diag {

coro::event never;
unsigned leaf_line = 0, leaf_wait_line = 0, session_line = 0, session_wait_line = 0, join_line = 0,
         join_wait_line = 0;

coro::task<> leaf() {
    leaf_line = __LINE__; ABT_FRAMED();
    leaf_wait_line = __LINE__; co_await ABT_AWAIT(never.wait());
}

/// A session named from inside, with a tag; waits in leaf().
coro::task<> session(int id) {
    session_line = __LINE__; ABT_FRAMED();
    abt::set_task_name("session " + std::to_string(id));
    abt::set_task_tag("conn", std::to_string(id));
    abt::set_task_tag("conn", std::to_string(id * 10));  // set again: replaced
    session_wait_line = __LINE__; co_await ABT_AWAIT(leaf());
}

/// A join of three identical leaves and one session.
coro::task<> join() {
    join_line = __LINE__; ABT_FRAMED();
    join_wait_line = __LINE__; co_await ABT_AWAIT(coro::when_all(leaf(), leaf(), session(99), leaf()));
}

std::string at(unsigned line) { return place(__FILE__, line); }

const std::string mark = "\xE2\x95\xBC ";                                 // ╼
const std::string child = "  \xE2\x94\x94\xE2\x95\xBC ";                    // "  └╼ "
const std::string times_sign = "\xC3\x97";                                  // ×

/// Starts `n` sessions; destroys them at scope end.
struct sessions {
    std::vector<coro::task<>> tasks;
    explicit sessions(int n) {
        for (int i = 0; i < n; ++i) {
            tasks.push_back(session(i));
            tasks.back().start();
        }
    }
};

}  // namespace diag

TEST_CASE("tasks have ids, names and tags, shown on a header line with their age" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    CHECK(abt::current_task_id() == 0);
    CHECK_FALSE(abt::set_task_name("no task here"));
    std::uint64_t outer_id = 0, inner_id = 0;
    {
        ABT_FRAMED("outer");
        outer_id = abt::current_task_id();
        {
            ABT_FRAMED("inner");
            inner_id = abt::current_task_id();  // the same task: its root's id
        }
    }
    CHECK(outer_id != 0);
    CHECK(inner_id == outer_id);

    sessions s(2);
    const std::string dump = abt::taskdump_tree(abt::dump_options{});
    const std::vector<std::string> lines = lines_of(dump);
    REQUIRE(lines.size() == 6);
    // "task 12 "session 0" conn=0, age 0ms"
    CHECK(lines[0].rfind("task ", 0) == 0);
    CHECK(lines[0].find(" \"session 0\" conn=0, age ") != std::string::npos);
    CHECK(lines[3].find(" \"session 1\" conn=10, age ") != std::string::npos);
    CHECK(lines[1].rfind(mark + "diag::session at " + at(session_line) + " suspended at " + at(session_wait_line) +
                             " for ",
                         0) == 0);
    CHECK(lines[2].rfind(child + "diag::leaf at " + at(leaf_line) + " suspended at " + at(leaf_wait_line) + " for ",
                         0) == 0);
    // Ids are unique and increase on one thread.
    const std::uint64_t first = std::stoull(lines[0].substr(5));
    const std::uint64_t second = std::stoull(lines[3].substr(5));
    CHECK(second > first);
    CHECK(first > outer_id);
    // The classic overload keeps the plain tree.
    CHECK(abt::taskdump_tree(false).find("task ") == std::string::npos);
}

TEST_CASE("wait times and ages grow while a task stays suspended" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    sessions s(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    abt::dump_options o;
    const std::string dump = abt::taskdump_tree(o);
    const std::vector<std::string> lines = lines_of(dump);
    REQUIRE(lines.size() == 3);
    // 1.3 s or a little more; the clock is coarse and tenths are cut: at least "1.2s".
    const auto seconds_after = [](const std::string& line, const std::string& word) {
        const std::size_t at = line.rfind(word);
        REQUIRE(at != std::string::npos);
        return std::stod(line.substr(at + word.size()));
    };
    CHECK(seconds_after(lines[0], "age ") >= 1.2);
    CHECK(seconds_after(lines[0], "age ") < 5.0);
    CHECK(seconds_after(lines[2], " for ") >= 1.2);
    CHECK(lines[2].substr(lines[2].size() - 1) == "s");
    o.times = false;
    const std::string untimed = abt::taskdump_tree(o);
    CHECK(untimed.find(" for ") == std::string::npos);
    CHECK(untimed.find("age") == std::string::npos);
}

TEST_CASE("grouping collapses identical tasks and identical siblings, wherever they are" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    std::vector<coro::task<>> tasks;
    for (int i = 0; i < 3; ++i) {
        tasks.push_back(join());
        tasks.back().start();
        tasks.push_back(leaf());  // interleaved with the joins: grouping must not need adjacency
        tasks.back().start();
    }
    sessions s(5);  // identical trees, different names and tags
    abt::dump_options o;
    o.group = true;
    o.times = false;
    const std::string dump = abt::taskdump_tree(o);
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(dump.c_str(), stderr);
    const std::vector<std::string> lines = lines_of(dump);
    // Largest group first: 5 sessions, then 3 joins and 3 leaves (equal counts: first seen first).
    REQUIRE(lines.size() == 10);
    CHECK(lines[0].rfind("5 tasks (ids ", 0) == 0);
    CHECK(count_of(lines[0], ", ") == 4);  // each id, not a range
    CHECK(lines[0].find("\xE2\x80\xA6") == std::string::npos);
    CHECK(lines[0].find('"') == std::string::npos);  // names differ: not shown
    CHECK(lines[0].find(" conn=0|10|20|30 (+1 more)") != std::string::npos);  // tags: the values that differ
    CHECK(lines[1] == "\xE2\x95\xBC [" + times_sign + "5] diag::session at " + at(session_line) + " suspended at " +
                          at(session_wait_line));
    CHECK(lines[2] == child + "diag::leaf at " + at(leaf_line) + " suspended at " + at(leaf_wait_line));
    // session(99) ran inside each join, so it named the join's task (the same name in all three).
    CHECK(lines[3].rfind("3 tasks (ids ", 0) == 0);
    CHECK(lines[3].find(") \"session 99\" conn=990") != std::string::npos);
    CHECK(lines[4] == "\xE2\x95\xBC [" + times_sign + "3] diag::join at " + at(join_line) + " suspended at " +
                          at(join_wait_line));
    // The join's four children: three identical leaves (not adjacent: the session is third) and the session.
    CHECK(lines[5] == "  \xE2\x94\x9C\xE2\x95\xBC [" + times_sign + "3] diag::leaf at " + at(leaf_line) +
                          " suspended at " + at(leaf_wait_line));
    CHECK(lines[6] == child + "diag::session at " + at(session_line) + " suspended at " + at(session_wait_line));
    CHECK(lines[7] == "   " + child + "diag::leaf at " + at(leaf_line) + " suspended at " + at(leaf_wait_line));
    CHECK(lines[8].rfind("3 tasks (ids ", 0) == 0);
    CHECK(lines[9] == "\xE2\x95\xBC [" + times_sign + "3] diag::leaf at " + at(leaf_line) + " suspended at " +
                          at(leaf_wait_line));
    // The ungrouped dump has every task on its own.
    o.group = false;
    CHECK(count_of(abt::taskdump_tree(o), "\ntask ") + 1 == 11);
    // With times, a group shows its range.
    o.group = true;
    o.times = true;
    const std::string timed = abt::taskdump_tree(o);
    CHECK(timed.find(", age ") != std::string::npos);
    CHECK(count_of(timed, " for ") == 7);
    tasks.clear();
}

TEST_CASE("max_tasks and max_depth cut the dump and say what they left out" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    sessions s(3);
    abt::dump_options o;
    o.times = false;
    o.max_tasks = 2;
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree(o));
    REQUIRE(lines.size() == 7);
    CHECK(lines[6] == "\xE2\x80\xA6 1 more task (max_tasks)");
    o.max_tasks = 0;
    o.max_depth = 1;
    o.ids = false;
    const std::vector<std::string> roots = lines_of(abt::taskdump_tree(o));
    REQUIRE(roots.size() == 6);
    CHECK(roots[0] == mark + "diag::session at " + at(session_line) + " suspended at " + at(session_wait_line));
    CHECK(roots[1] == "  \xE2\x94\x94\xE2\x94\x88 [1 frame below max_depth]");
}

TEST_CASE("a grouped header lists at most 8 ids and counts the others" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    sessions s(11);
    abt::dump_options o;
    o.group = true;
    o.times = false;
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree(o));
    REQUIRE(!lines.empty());
    INFO(lines[0]);
    CHECK(lines[0].rfind("11 tasks (ids ", 0) == 0);
    CHECK(count_of(lines[0], ", ") == 7);  // eight ids
    CHECK(lines[0].find(" and 3 more) conn=0|10|20|30 (+7 more)") != std::string::npos);
    testing::json::value doc;
    REQUIRE(testing::json::parse(abt::taskdump_json(o), doc));
    CHECK(doc["tasks"].array[0]["count"].number == 11);
    CHECK(doc["tasks"].array[0]["ids"].array.size() == 8);
}

TEST_CASE("take_snapshot: the tree as data, with the dump's content" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    coro::task<> j = join();
    j.start();
    sessions s(2);
    const abt::snapshot snap = abt::take_snapshot();
    REQUIRE(snap.tasks.size() == 3);
    CHECK(snap.omitted_tasks == 0);
    CHECK(snap.cycles.empty());
    // The join: its root, three leaves and the session (with its leaf), depth first.
    const abt::task_snapshot& jt = snap.tasks[0];
    CHECK(jt.whole);
    CHECK(jt.count == 1);
    REQUIRE(jt.ids.size() == 1);
    CHECK(jt.name == "session 99");  // session(99) ran inside the join: it named the join's task
    REQUIRE(jt.frames.size() == 6);
    std::vector<std::size_t> depths;
    for (const abt::frame_snapshot& f : jt.frames) depths.push_back(f.depth);
    CHECK(depths == std::vector<std::size_t>{0, 1, 1, 1, 2, 1});
    CHECK(jt.frames[0].name == "diag::join");
    CHECK(std::string(jt.frames[0].file) == __FILE__);
    CHECK(jt.frames[0].line == join_line);
    CHECK(jt.frames[0].state == abt::frame_state::suspended);
    REQUIRE(jt.frames[0].await_file != nullptr);
    CHECK(jt.frames[0].await_line == join_wait_line);
    CHECK(jt.frames[4].name == "diag::leaf");
    CHECK(jt.frames[4].await_line == leaf_wait_line);
    CHECK(jt.frames[4].waited_max >= jt.frames[4].waited_min);
    // A session: its name and tag.
    CHECK(snap.tasks[1].name == "session 0");
    CHECK(snap.tasks[1].tags == std::vector<std::pair<std::string, std::string>>{{"conn", "0"}});
    // Grouped: the two sessions in one entry, the join's leaves in one frame.
    abt::dump_options o;
    o.group = true;
    const abt::snapshot grouped = abt::take_snapshot(o);
    REQUIRE(grouped.tasks.size() == 2);
    CHECK(grouped.tasks[0].count == 2);
    CHECK(grouped.tasks[0].tags == std::vector<std::pair<std::string, std::string>>{{"conn", "0|10"}});
    REQUIRE(grouped.tasks[1].frames.size() == 4);
    CHECK(grouped.tasks[1].frames[1].count == 3);
}

TEST_CASE("for_each_task: tasks per await site, as metrics, without keeping the tasks" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    coro::task<> j = join();
    j.start();
    sessions s(3);
    // What a metrics exporter does: count the tasks waiting at each site (a
    // task's innermost waiting frames; grouped frames count for `count`).
    std::map<std::string, std::size_t> waiting;
    std::size_t visits = 0;
    abt::for_each_task(abt::dump_options{}, [&](const abt::task_snapshot& t) {
        ++visits;
        for (std::size_t i = 0; i < t.frames.size(); ++i) {
            const abt::frame_snapshot& f = t.frames[i];
            const bool leaf = i + 1 == t.frames.size() || t.frames[i + 1].depth <= f.depth;
            if (leaf && f.await_file != nullptr)
                waiting[std::string(f.await_file) + ":" + std::to_string(f.await_line)] += f.count * t.count;
        }
    });
    CHECK(visits == 4);
    CHECK(waiting == std::map<std::string, std::size_t>{{at(leaf_wait_line), 4 + 3}});  // the join's 4, the sessions' 3
}

TEST_CASE("taskdump_json: versioned, parseable, with every field" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    coro::task<> j = join();
    j.start();
    sessions s(2);
    {
        ABT_FRAMED("weird");  // a running task, named with characters JSON must escape
        static const char raw[] = "quote\" backslash\\ newline\n tab\t bell\x07 bad\xFF\xC3 ok\xC3\xA9";
        abt::set_task_name(std::string(raw, sizeof raw - 1));
        abt::set_task_tag("k\"ey", "v\x01");
        const std::string text = abt::taskdump_json();
        testing::json::value doc;
        REQUIRE_MESSAGE(testing::json::parse(text, doc), text);
        CHECK(doc["format_version"].number == 2);
        CHECK(doc["grouped"].boolean == false);
        const testing::json::value& tasks = doc["tasks"];
        REQUIRE(tasks.array.size() == 4);
        // The join: three leaves and a session under it.
        const testing::json::value& jt = tasks.array[0];
        CHECK(jt["count"].number == 1);
        CHECK(jt["ids"].array.size() == 1);
        CHECK(jt["view"].string == "whole");
        CHECK(jt["age_ns"]["min"].number >= 0);
        // Frames are flat, depth first, each with its depth.
        const std::vector<testing::json::value>& frames = jt["frames"].array;
        REQUIRE(frames.size() == 6);
        const testing::json::value& root = frames[0];
        CHECK(root["depth"].number == 0);
        CHECK(root["function"].string == "diag::join");
        CHECK(root["file"].string == __FILE__);
        CHECK(root["line"].number == join_line);
        CHECK(root["state"].string == "suspended");
        CHECK(root["await"]["line"].number == join_wait_line);
        CHECK(root["wait_ns"]["max"].number >= root["wait_ns"]["min"].number);
        std::vector<double> depths;
        for (const testing::json::value& f : frames) depths.push_back(f["depth"].number);
        CHECK(depths == std::vector<double>{0, 1, 1, 1, 2, 1});  // four children; the third has a child
        CHECK(frames[3]["function"].string == "diag::session");
        CHECK(frames[4]["function"].string == "diag::leaf");
        CHECK(frames[4]["omitted_frames"].number == 0);
        // A named session.
        CHECK(tasks.array[1]["name"].string == "session 0");
        CHECK(tasks.array[1]["tags"]["conn"].string == "0");
        // The running task: escaped name, invalid UTF-8 replaced.
        const testing::json::value& weird = tasks.array[3];
        CHECK(weird["view"].string == "whole");  // the dumping thread's own task: its frames stand still for the dump
        CHECK(weird["frames"].array[0]["function"].string == "weird");
        CHECK(weird["frames"].array[0]["state"].string == "running");
        CHECK(weird["frames"].array[0]["wait_ns"].is_null);
        CHECK(weird["name"].string ==
              "quote\" backslash\\ newline\n tab\t bell\x07 bad\xEF\xBF\xBD\xEF\xBF\xBD ok\xC3\xA9");
        CHECK(weird["tags"]["k\"ey"].string == "v\x01");
        // Grouped: counts.
        abt::dump_options o;
        o.group = true;
        testing::json::value grouped;
        REQUIRE(testing::json::parse(abt::taskdump_json(o), grouped));
        CHECK(grouped["grouped"].boolean == true);
        REQUIRE(grouped["tasks"].array.size() == 3);
        CHECK(grouped["tasks"].array[0]["count"].number == 2);  // the two sessions
        CHECK(grouped["tasks"].array[0]["ids"].array.size() == 2);
        CHECK(grouped["tasks"].array[1]["frames"].array[1]["count"].number == 3);  // the join's leaves
    }
}

TEST_CASE("taskdump_folded: one line per leaf path with its count" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    coro::task<> j = join();
    j.start();
    sessions s(4);
    const std::string folded = abt::taskdump_folded();
    const std::string leaf_site = place(__FILE__, leaf_wait_line);
    const std::string expected = "diag::join;diag::leaf;" + leaf_site + " 3\n" +
                                 "diag::join;diag::session;diag::leaf;" + leaf_site + " 1\n" +
                                 "diag::session;diag::leaf;" + leaf_site + " 4\n";
    CHECK(folded == expected);
    {
        ABT_FRAMED("busy");
        CHECK(abt::taskdump_folded().find("busy 1\n") != std::string::npos);  // the dumping task: its own frames
    }
}

namespace diag {

/// A watchdog that checks every 10 ms, for tasks running 150 ms without a
/// suspension or suspended longer than `suspended`, and writes to `out`.
abt::watchdog_options quick_watchdog(std::FILE* out, std::chrono::milliseconds suspended) {
    abt::watchdog_options o;
    o.suspended_longer_than = suspended;
    o.running_longer_than = std::chrono::milliseconds(150);
    o.check_every = std::chrono::milliseconds(10);
    o.out = out;
    return o;
}

using testing::contents_of;

}  // namespace diag

TEST_CASE("install_signal_dump: a dump per signal from the watcher thread; uninstall restores the old action" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    sessions s(2);
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    std::signal(SIGUSR1, SIG_IGN);  // the action uninstall must bring back
    REQUIRE(abt::install_signal_dump(SIGUSR1, out));
    REQUIRE(abt::install_signal_dump(SIGUSR1, out));  // again: replaces, one watcher
    std::raise(SIGUSR1);
    REQUIRE(testing::wait_until([&] { return contents_of(out).find("end of dump\n") != std::string::npos; }));
    const std::string text = contents_of(out);
    CHECK(text.rfind("async_backtrace: dump on signal " + std::to_string(SIGUSR1) + " (pid ", 0) == 0);
    CHECK(text.find("2 tasks (ids ") != std::string::npos);  // grouped by default
    CHECK(count_of(text, "async_backtrace: dump on signal") == 1);
    abt::uninstall_signal_dump();
    abt::uninstall_signal_dump();  // twice: harmless
    std::raise(SIGUSR1);           // ignored now, as before the install
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(count_of(contents_of(out), "async_backtrace: dump on signal") == 1);
    std::signal(SIGUSR1, SIG_DFL);
    std::fclose(out);
}

TEST_CASE("watchdog: one report per stall episode, for long waits and for tasks that never yield" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    const abt::watchdog_options o = quick_watchdog(out, std::chrono::milliseconds(100));
    {
        abt::watchdog dog(o);
        {
            sessions s(1);  // waits in leaf() for good
            REQUIRE(testing::wait_until([&] { return dog.episodes() == 1; }));
            std::this_thread::sleep_for(std::chrono::milliseconds(200));  // many checks, still the same episode
            CHECK(dog.episodes() == 1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // nothing stalls: the episode ends
        {
            std::atomic<bool> release{false};
            std::thread busy([&] {
                ABT_FRAMED("never_yields");
                while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            });
            REQUIRE(testing::wait_until([&] { return dog.episodes() == 2; }));
            release = true;
            busy.join();
        }
    }
    const std::string text = contents_of(out);
    std::fclose(out);
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(text.c_str(), stderr);
    CHECK(count_of(text, "async_backtrace: end of watchdog report\n") == 2);
    CHECK(count_of(text, "(diag::leaf) at " + place(__FILE__, leaf_wait_line) + " suspended for ") == 1);
    CHECK(count_of(text, "(diag::session) at ") == 0);  // it waits for the stalled leaf: only the leaf is named
    CHECK(count_of(text, "(never_yields) has run without suspending for ") == 1);
    CHECK(text.find("\xE2\x95\xBC diag::session at ") != std::string::npos);  // the dump of the first episode
}

namespace diag {

unsigned slow_leaf_wait_line = 0;

/// A leaf that runs 50 ms before it suspends: the wait of the frame that
/// awaits it began at that ABT_AWAIT, so it passes any limit 50 ms earlier.
coro::task<> slow_leaf() {
    ABT_FRAMED();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    slow_leaf_wait_line = __LINE__; co_await ABT_AWAIT(never.wait());
}
coro::task<> awaits_slow_leaf() {
    ABT_FRAMED();
    co_await ABT_AWAIT(slow_leaf());
}

}  // namespace diag

TEST_CASE("watchdog: a frame that awaits a waiting child is not named, even before the child passes the limit" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    {
        abt::watchdog dog(quick_watchdog(out, std::chrono::milliseconds(100)));
        coro::task<> t = awaits_slow_leaf();
        t.start();
        REQUIRE(testing::wait_until([&] { return dog.episodes() == 1; }));
    }
    const std::string text = contents_of(out);
    std::fclose(out);
    CHECK(count_of(text, "(diag::slow_leaf) at " + at(slow_leaf_wait_line) + " suspended for ") == 1);
    CHECK(count_of(text, "(diag::awaits_slow_leaf) at ") == 0);
}

TEST_CASE("task_watermark: tasks made since and still alive are leaks, shown as a tree" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    sessions before(1);  // alive before the watermark: ignored
    abt::task_watermark watermark;
    CHECK(watermark.leaked().empty());
    {
        sessions during(2);
        const std::string message = watermark.leaked(std::chrono::milliseconds(20));
        CHECK(message.rfind("async_backtrace: 2 tasks made since the watermark still alive:\ntask ", 0) == 0);
        CHECK(count_of(message, "\xE2\x95\xBC diag::session at " + at(session_line)) == 2);
    }
    ABT_CHECK_NO_LEAKED_TASKS(watermark);
    // A task about to end is waited for (the grace period), not reported.
    std::atomic<bool> started{false};
    std::thread finishing([&] {
        ABT_FRAMED("finishing");
        started = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    });
    REQUIRE(testing::wait_until([&] { return started.load(); }));
    CHECK(watermark.leaked(std::chrono::milliseconds(2000)).empty());
    finishing.join();
}

namespace diag {

unsigned request_line = 0, request_wait_line = 0, step_line = 0;

/// A frame named at run time, with a nested static frame in a block of its own.
coro::task<> request(int id) {
    request_line = __LINE__; ABT_FRAMED_DYNAMIC("request " + std::to_string(id));
    {
        step_line = __LINE__; ABT_FRAMED("step");
        request_wait_line = __LINE__; co_await ABT_AWAIT(never.wait());
    }
}

}  // namespace diag

TEST_CASE("ABT_FRAMED_DYNAMIC: a frame named at run time, in every dump form" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    std::vector<coro::task<>> tasks;
    for (int id : {7, 8, 7}) {
        tasks.push_back(request(id));
        tasks.back().start();
    }
    const std::string plain = abt::taskdump_tree(false);
    CHECK(count_of(plain, mark + "request 7 at " + at(request_line) + "\n" + child + "step at " + at(step_line) +
                              " suspended at " + at(request_wait_line) + "\n") == 2);
    CHECK(count_of(plain, mark + "request 8 at " + at(request_line) + "\n") == 1);
    abt::dump_options o;
    o.group = true;
    o.ids = false;
    o.times = false;
    const std::string grouped = abt::taskdump_tree(o);
    CHECK(grouped.find(mark + "[" + times_sign + "2] request 7 at " + at(request_line) + "\n") != std::string::npos);
    CHECK(grouped.find(mark + "request 8 at " + at(request_line) + "\n") != std::string::npos);  // not merged
    testing::json::value doc;
    REQUIRE(testing::json::parse(abt::taskdump_json(), doc));
    CHECK(doc["tasks"].array[1]["frames"].array[0]["function"].string == "request 8");
    CHECK(abt::taskdump_folded().find("request 7;step;" + at(request_wait_line) + " 2\n") != std::string::npos);
    tasks.clear();  // destroyed while suspended: the names go with their frames
    CHECK(abt::task_count() == 0);
    {
        ABT_FRAMED_DYNAMIC(std::string(300, 'x'));  // long names too
        CHECK(abt::backtrace().front().function == std::string(300, 'x'));
    }
}

namespace diag {

// Await cycles: tasks that record whom they wait for (abt::awaiting_task).
std::uint64_t a_id = 0, b_id = 0;  // set and read on this test's thread only
coro::event a_gate, d_gate;
unsigned a_wait_line = 0;

coro::task<> task_a() {
    ABT_FRAMED();
    a_id = abt::current_task_id();
    co_await ABT_AWAIT(a_gate.wait());  // until b exists
    abt::awaiting_task(b_id);
    a_wait_line = __LINE__; co_await ABT_AWAIT(never.wait());
}
coro::task<> task_b() {
    ABT_FRAMED();
    b_id = abt::current_task_id();
    abt::awaiting_task(a_id);
    co_await ABT_AWAIT(never.wait());
}
coro::task<> task_c() {  // waits for a, but nobody waits for c: no cycle
    ABT_FRAMED();
    abt::awaiting_task(a_id);
    co_await ABT_AWAIT(never.wait());
}
coro::task<> task_d() {  // its note was for a suspension that is over
    ABT_FRAMED();
    abt::awaiting_task(a_id);
    co_await ABT_AWAIT(d_gate.wait());
    co_await ABT_AWAIT(never.wait());
}

}  // namespace diag

TEST_CASE("await cycles recorded with awaiting_task are reported as likely deadlocks" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    coro::task<> a = task_a(), b = task_b(), c = task_c(), d = task_d();
    a.start();
    b.start();
    a_gate.set();  // a resumes here and now waits for b
    c.start();
    d.start();
    d_gate.set();
    CHECK_FALSE(abt::awaiting_task(1));  // no frame runs here
    abt::dump_options o;
    o.times = false;
    const std::string dump = abt::taskdump_tree(o);
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(dump.c_str(), stderr);
    const std::uint64_t low = std::min(a_id, b_id), high = std::max(a_id, b_id);
    CHECK(dump.find("async_backtrace: likely deadlock, tasks that wait for each other: task " + std::to_string(low) +
                    " \xE2\x86\x92 task " + std::to_string(high) + " \xE2\x86\x92 task " + std::to_string(low) +
                    "\n") != std::string::npos);
    CHECK(count_of(dump, "likely deadlock") == 1);  // c waits for a, but no cycle goes through c
    CHECK(dump.find("diag::task_a at ") != std::string::npos);
    CHECK(dump.find(" suspended at " + at(a_wait_line) + ", waiting for task " + std::to_string(b_id) + "\n") !=
          std::string::npos);
    CHECK(count_of(dump, ", waiting for task " + std::to_string(a_id)) == 2);  // b and c; d's note has expired
    testing::json::value doc;
    REQUIRE(testing::json::parse(abt::taskdump_json(), doc));
    REQUIRE(doc["cycles"].array.size() == 1);
    CHECK(doc["cycles"].array[0].array[0].number == static_cast<double>(low));
    CHECK(doc["cycles"].array[0].array[1].number == static_cast<double>(high));
    CHECK(doc["tasks"].array[0]["frames"].array[0]["awaits_task"].number == static_cast<double>(b_id));
}

namespace diag {

/// Member i of a long await chain: waits for the task of member `next`.
coro::event chain_gate;
std::vector<std::uint64_t> chain_ids;
coro::task<> chain_member(std::size_t i, std::size_t next) {
    ABT_FRAMED();
    chain_ids[i] = abt::current_task_id();
    co_await ABT_AWAIT(chain_gate.wait());
    abt::awaiting_task(chain_ids[next]);
    co_await ABT_AWAIT(never.wait());
}

}  // namespace diag

TEST_CASE("an await cycle at the end of a chain of 3,000 waiting tasks is found (components first, no step budget spent on the chain)" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    constexpr std::size_t n = 3000;  // 0.3.0's first search ran out of steps here (n * n / 2)
    chain_ids.assign(n + 2, 0);
    std::vector<coro::task<>> tasks;
    for (std::size_t i = 0; i < n; ++i) tasks.push_back(chain_member(i, i + 1));  // the chain, then X
    tasks.push_back(chain_member(n, n + 1));                                     // X waits for Y
    tasks.push_back(chain_member(n + 1, n));                                     // Y waits for X
    for (coro::task<>& t : tasks) t.start();
    chain_gate.set();
    const abt::snapshot snap = abt::take_snapshot();
    CHECK_FALSE(snap.cycle_search_stopped);
    REQUIRE(snap.cycles.size() == 1);
    CHECK(snap.cycles[0] == std::vector<std::uint64_t>{std::min(chain_ids[n], chain_ids[n + 1]),
                                                       std::max(chain_ids[n], chain_ids[n + 1])});
}

namespace diag {

/// The same children in another order, awaited on one line (one await site).
/// (Not a ?: of two when_alls: g++ 12 destroys that temporary twice.)
coro::task<> mixed(bool session_first) {
    ABT_FRAMED();
    if (session_first) co_await ABT_AWAIT(coro::when_all(session(1), leaf(), leaf())); else co_await ABT_AWAIT(coro::when_all(leaf(), leaf(), session(1)));  // NOLINT
}

}  // namespace diag

TEST_CASE("grouping: the same children made in another order are the same subtree" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    coro::task<> x = mixed(true), y = mixed(false);
    x.start();
    y.start();
    abt::dump_options o;
    o.group = true;
    o.times = false;
    const std::string dump = abt::taskdump_tree(o);
    CHECK(dump.rfind("2 tasks (ids ", 0) == 0);
    CHECK(count_of(dump, "[" + times_sign + "2] diag::mixed at ") == 1);
    CHECK(count_of(dump, "[" + times_sign + "2] diag::leaf at ") == 1);
}

#if ABT_DETAIL_HAS_SIGNALS
namespace diag {

/// Runs body in a child process; its exit status (-1: killed by a signal).
int exit_status_of_child(void (*body)()) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        body();
        std::exit(0);  // static destructors run: the installation must not abort them
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace diag

TEST_CASE("install_signal_dump: exit without uninstalling, concurrent installs, fork" * doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    // A program that exits while installed exits normally.
    CHECK(exit_status_of_child([] {
              std::FILE* null_out = std::fopen("/dev/null", "w");
              if (!abt::install_signal_dump(SIGUSR1, null_out)) std::exit(3);
          }) == 0);
    // Installs and uninstalls from two threads at once: one installation at a time.
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    std::signal(SIGUSR1, SIG_IGN);
    {
        std::vector<std::thread> racers;
        for (int t = 0; t < 2; ++t)
            racers.emplace_back([out] {
                for (int i = 0; i < 200; ++i) {
                    abt::install_signal_dump(SIGUSR1, out);
                    if (i % 3 == 0) abt::uninstall_signal_dump();
                }
            });
        for (std::thread& r : racers) r.join();
    }
    // A forked child neither stops nor wakes the parent's watcher; the signal
    // is back to its previous action there (ignored).
    REQUIRE(abt::install_signal_dump(SIGUSR1, out));
    CHECK(exit_status_of_child([] {
              std::raise(SIGUSR1);
              abt::uninstall_signal_dump();
          }) == 0);
    std::raise(SIGUSR1);
    REQUIRE(testing::wait_until([&] { return contents_of(out).find("end of dump\n") != std::string::npos; }));
    CHECK(count_of(contents_of(out), "(pid " + std::to_string(getpid()) + ")") == 1);
    CHECK(count_of(contents_of(out), "async_backtrace: dump on signal") == 1);
    abt::uninstall_signal_dump();
    std::signal(SIGUSR1, SIG_DFL);
    std::fclose(out);
}
#endif

namespace diag {

std::atomic<bool> stop_spinning{false};

coro::task<> spinner(coro::thread_pool& pool) {
    ABT_FRAMED();
    co_await ABT_AWAIT(pool.schedule());
    while (!stop_spinning) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // never yields
}
coro::task<> ticker(coro::thread_pool& pool) {
    ABT_FRAMED();
    while (!stop_spinning) co_await ABT_AWAIT(pool.schedule());  // yields all the time
}
std::atomic<bool> spun{false};
coro::task<> spin_and_tick(coro::thread_pool& pool) {
    ABT_FRAMED();
    co_await ABT_AWAIT(coro::when_all(spinner(pool), ticker(pool)));
    spun = true;
}

}  // namespace diag

TEST_CASE("watchdog: a frame that never yields is found while a sibling in its task yields" *
          doctest::skip(!ABT_ENABLED)) {
    using namespace diag;
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    const abt::watchdog_options o = quick_watchdog(out, std::chrono::seconds(60));
    stop_spinning = false;
    spun = false;
    coro::task<> t;  // destroyed after the pool's threads are joined
    {
        coro::thread_pool pool(2);
        abt::watchdog dog(o);
        t = spin_and_tick(pool);
        t.start();
        CHECK(testing::wait_until([&] { return dog.episodes() >= 1; }, std::chrono::milliseconds(5000)));
        stop_spinning = true;
        REQUIRE(testing::wait_until([&] { return spun.load(); }));
    }
    const std::string text = contents_of(out);
    std::fclose(out);
    CHECK(text.find("(diag::spin_and_tick) has run without suspending for ") != std::string::npos);
}
