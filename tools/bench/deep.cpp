// make bench-deep: every dump of one task of LEVELS frames (a framed lazy
// coroutine that recurses: walk(d) awaits walk(d - 1)), timed once each, with
// its size and the longest time another thread waited for the registry lock
// meanwhile (it calls abt::task_count(), which takes it, in a loop).
// Usage: bench-deep [levels]   (default 200000)
#include "../../tests/deep_chain.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    const int levels = argc > 1 ? std::atoi(argv[1]) : 200000;
    constexpr std::size_t big_stack = std::size_t{4} << 30;  // reserved, not used: see on_stack_of
    coro::task<> root = deep_chain::walk(levels);
    deep_chain::on_stack_of(big_stack, [&] { root.start(); });
    std::printf("one task of %d frames\n", levels + 2);
    std::atomic<bool> stop{false};
    std::atomic<long long> longest_wait_ns{0};
    std::thread prober([&] {
        while (!stop.load()) {
            const auto start = std::chrono::steady_clock::now();
            static_cast<void>(abt::task_count());
            const long long ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - start).count();
            if (ns > longest_wait_ns.load()) longest_wait_ns.store(ns);
        }
    });
    const auto timed = [&](const char* what, const std::function<std::size_t()>& dump) {
        longest_wait_ns = 0;
        const auto start = std::chrono::steady_clock::now();
        const std::size_t bytes = dump();
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        std::printf("%-18s %8.0f ms %12zu bytes   longest wait for the lock: %.1f ms\n", what, ms, bytes,
                    static_cast<double>(longest_wait_ns.load()) / 1e6);
    };
    abt::dump_options rich, grouped;
    grouped.group = true;
    timed("plain tree", [] { return abt::taskdump_tree(false).size(); });
    timed("rich tree", [&] { return abt::taskdump_tree(rich).size(); });
    timed("grouped tree", [&] { return abt::taskdump_tree(grouped).size(); });
    timed("JSON", [] { return abt::taskdump_json().size(); });
    timed("folded", [] { return abt::taskdump_folded().size(); });
    std::FILE* null = std::fopen("/dev/null", "w");
    timed("dump() to a file", [&] {
        abt::dump(null, rich);
        return std::size_t{0};
    });
    std::fclose(null);
    stop = true;
    prober.join();
    deep_chain::on_stack_of(big_stack, [] { deep_chain::release.set(); });
    return root.done() ? 0 : 1;
}
