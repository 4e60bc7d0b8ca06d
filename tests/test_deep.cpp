// Dumps of deep tasks: a framed coroutine that recurses (a recursive async
// walk) 200,000 levels deep. Every kind of dump must work, from the main
// thread and from a thread with a 256 KB stack, and the text must grow with
// the number of frames, not with their depth squared.
#include "deep_chain.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
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
