// Callback frameworks: persistent frames re-entered by callbacks.
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using testing::backtrace_names;
using testing::count_of;
using testing::lines_of;
using Names = std::vector<std::string>;

namespace callbacks {

Names parse(const std::string&) {
    ABT_FRAMED();
    return backtrace_names();
}

/// A connection driven by callbacks on a run loop: read -> parse -> write.
struct connection : std::enable_shared_from_this<connection> {
    explicit connection(coro::run_loop& l) : loop(l) {}
    coro::run_loop& loop;
    unsigned frame_line = __LINE__; abt::persistent_frame frame{ABT_SITE("connection")};
    Names seen_in_parse;
    std::string dump_while_waiting;
    unsigned wait_line = 0;

    void start() {
        ABT_REENTER(frame);
        wait_line = __LINE__; ABT_WAITING(frame, "socket read");
        loop.post([self = shared_from_this()] { self->on_read("GET /"); });
    }
    void on_read(const std::string& data) {
        ABT_REENTER(frame);
        seen_in_parse = parse(data);
        ABT_WAITING(frame, "socket write");
        loop.post([self = shared_from_this()] { self->on_write(); });
    }
    void on_write() {
        ABT_REENTER(frame);
        ABT_WAITING(frame, "never answered");
    }
};

}  // namespace callbacks

TEST_CASE("a persistent frame keeps a callback operation visible between callbacks" * doctest::skip(!ABT_ENABLED)) {
    coro::run_loop loop;
    auto conn = std::make_shared<callbacks::connection>(loop);
    CHECK(abt::task_count() == 1);
    std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "\xE2\x95\xBC connection at " + testing::place(__FILE__, conn->frame_line));  // idle, nothing recorded

    conn->start();
    lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "\xE2\x95\xBC connection at " + testing::place(__FILE__, conn->frame_line) + " suspended at " +
                          testing::place(__FILE__, conn->wait_line) + " (socket read)");
    loop.run();
    CHECK(conn->seen_in_parse == Names{"callbacks::parse", "connection"});
    lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("(never answered)") != std::string::npos);
    CHECK(abt::backtrace().empty());
    conn.reset();
    CHECK(abt::task_count() == 0);
}

TEST_CASE("a persistent frame shows as running while a callback is inside it" * doctest::skip(!ABT_ENABLED)) {
    const unsigned op_line = __LINE__; abt::persistent_frame op{ABT_SITE("op")};
    std::string seen_from_other_thread;
    {
        ABT_REENTER(op);
        ABT_FRAMED("handler");
        std::thread([&] { seen_from_other_thread = abt::taskdump_tree(); }).join();
        CHECK(backtrace_names() == Names{"handler", "op"});
    }
    CHECK(lines_of(seen_from_other_thread) ==
          std::vector<std::string>{"\xE2\x95\xBC op at " + testing::place(__FILE__, op_line), "  \xE2\x94\x94\xE2\x94\x88 [running]"});
    CHECK(lines_of(abt::taskdump_tree()).size() == 1);
}

namespace callbacks {
coro::task<> waits_in_callback_op(abt::persistent_frame& op, coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
    (void)op;
}
}  // namespace callbacks

TEST_CASE("frames made inside a callback attach under its persistent frame, even once suspended" *
          doctest::skip(!ABT_ENABLED)) {
    coro::event ev;
    abt::persistent_frame op{ABT_SITE("op")};
    coro::task<> t = callbacks::waits_in_callback_op(op, ev);
    {
        ABT_REENTER(op);
        t.start();  // started from the callback: its frame nests under op
    }
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("\xE2\x95\xBC op at") == 0);
    CHECK(lines[1].find("  \xE2\x94\x94\xE2\x95\xBC callbacks::waits_in_callback_op at") == 0);
    ev.set();
    CHECK(t.done());
    CHECK(lines_of(abt::taskdump_tree()).size() == 1);
}

TEST_CASE("a persistent frame made inside a framed function is a task of its own from the start" *
          doctest::skip(!ABT_ENABLED)) {
    std::unique_ptr<abt::persistent_frame> op;
    {
        ABT_FRAMED("acceptor");
        op = std::make_unique<abt::persistent_frame>(ABT_SITE("accepted connection"));
        const std::vector<std::string> inside = lines_of(abt::taskdump_tree());
        REQUIRE(inside.size() == 2);
        CHECK(count_of(abt::taskdump_tree(), "\xE2\x95\xBC acceptor at ") == 1);  // two roots
        CHECK(count_of(abt::taskdump_tree(), "\xE2\x95\xBC accepted connection at ") == 1);
    }
    const std::vector<std::string> after = lines_of(abt::taskdump_tree());
    REQUIRE(after.size() == 1);
    CHECK(after[0].find("\xE2\x95\xBC accepted connection at") == 0);
    op.reset();
    CHECK(abt::task_count() == 0);
}

namespace callbacks {
struct completes_inline {
    abt::persistent_frame frame{ABT_SITE("inline op")};
    std::string dump;
    std::chrono::steady_clock::duration took{};
    void on_write() {
        ABT_REENTER(frame);  // the second entry of this frame on this thread
        const auto start = std::chrono::steady_clock::now();
        dump = abt::taskdump_tree(true);
        took = std::chrono::steady_clock::now() - start;
    }
    void on_read() {
        ABT_REENTER(frame);
        on_write();  // the write completed synchronously: its callback runs inline
    }
};
}  // namespace callbacks

TEST_CASE("a waiting dump inside a persistent frame re-entered twice on this thread does not wait for itself" *
          doctest::skip(!ABT_ENABLED)) {
    callbacks::completes_inline op;
    op.on_read();
    CHECK(op.took < std::chrono::milliseconds(ABT_DUMP_WAIT_MS));
    const std::vector<std::string> lines = lines_of(op.dump);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("\xE2\x95\xBC inline op at ") == 0);
    CHECK(lines[0].find("[running]") != std::string::npos);
}

TEST_CASE("what a persistent frame waited for is cleared when its next callback runs" * doctest::skip(!ABT_ENABLED)) {
    abt::persistent_frame op{ABT_SITE("op")};
    {
        ABT_REENTER(op);
        ABT_WAITING(op, "first reply");
    }
    CHECK(count_of(abt::taskdump_tree(), "(first reply)") == 1);
    {
        ABT_REENTER(op);  // the reply came; this callback records no new wait
    }
    CHECK(count_of(abt::taskdump_tree(), "(first reply)") == 0);
    CHECK(count_of(abt::taskdump_tree(), " suspended at ") == 0);
}

TEST_CASE("callbacks entering one persistent frame from several threads at once keep its state exact" *
          doctest::skip(!ABT_ENABLED)) {
    abt::persistent_frame op{ABT_SITE("shared operation")};
    std::atomic<bool> stop{false};
    std::atomic<int> bad_dumps{0};
    std::thread dumper([&] {
        while (!stop) {
            const std::string dump = abt::taskdump_tree();
            // one task, idle or running; never torn into two lines of state
            if (count_of(dump, "\xE2\x95\xBC shared operation at ") != 1 || count_of(dump, "\n") > 2) ++bad_dumps;
        }
    });
    std::vector<std::thread> callbacks;
    std::atomic<unsigned> wait_line{0};
    for (int t = 0; t < 3; ++t)
        callbacks.emplace_back([&] {
            for (int i = 0; i < 3000; ++i) {
                ABT_REENTER(op);
                wait_line.store(__LINE__, std::memory_order_relaxed); ABT_WAITING(op, "next read");
            }
        });
    for (std::thread& c : callbacks) c.join();
    stop = true;
    dumper.join();
    CHECK(bad_dumps == 0);
    const std::vector<std::string> lines = lines_of(abt::taskdump_tree());
    REQUIRE(lines.size() == 1);
    const std::string waits = " suspended at " + testing::place(__FILE__, wait_line.load()) + " (next read)";
    CHECK(lines[0].find(waits) != std::string::npos);
}

namespace {
std::atomic<int> park_phase{0};
void other_callback_work() {
    ABT_FRAMED("other callback work");
    park_phase = 2;
    while (park_phase.load() != 3) std::this_thread::yield();
}
}  // namespace

TEST_CASE("a dump from inside a callback never prints its operation settled while another callback enters it" *
          doctest::skip(!ABT_ENABLED)) {
    std::vector<std::unique_ptr<abt::persistent_frame>> earlier;  // listed first: the dump takes a while
    for (int i = 0; i < 60000; ++i) earlier.push_back(std::make_unique<abt::persistent_frame>(ABT_SITE("idle")));
    abt::persistent_frame conn{ABT_SITE("conn")};
    std::thread other([&] {
        while (park_phase.load() != 1) std::this_thread::yield();
        ABT_REENTER(conn);  // enters after the dump began, while it walks the earlier tasks
        other_callback_work();
    });
    std::string dump;
    int seen = 0;
    {
        ABT_REENTER(conn);
        ABT_FRAMED("dumping callback");
        park_phase = 1;
        dump = abt::taskdump_tree();
        seen = park_phase.load();
        park_phase = 3;
    }
    other.join();
    park_phase = 0;
    const std::string conn_task = dump.substr(dump.find("\xE2\x95\xBC conn at"));
    const bool noted = conn_task.find("[running: other frames of this task are not shown]") != std::string::npos ||
                       conn_task.find("\xE2\x94\x88 [running]") != std::string::npos;
    CHECK(seen >= 2);  // the other callback entered while the dump ran (it only needs to be scheduled)
    if (seen >= 2) CHECK(noted);  // never a settled tree without the other callback's frames
    CHECK(abt::task_count() == 60001);
}
