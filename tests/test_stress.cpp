// A bounded, seeded stress test: threads pass coroutines to each other, make
// nested frames and detached children, and destroy suspended tasks, while
// another thread dumps continuously. Run under ThreadSanitizer and ASan too.
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace stress {

struct world {
    std::unique_ptr<coro::thread_pool> threads = std::make_unique<coro::thread_pool>(3);
    coro::thread_pool& pool = *threads;
    coro::event release_detached;
    coro::event never;
    std::atomic<int> detached_alive{0};
    std::atomic<long> frames_seen{0};
};

void nested_sync(world& w, int depth) {
    ABT_FRAMED();
    if (depth > 0) {
        nested_sync(w, depth - 1);
    } else {
        w.frames_seen += static_cast<long>(abt::backtrace().size());
    }
}

coro::detached detached_child(world& w) {
    ABT_FRAMED();
    co_await ABT_AWAIT(w.pool.schedule());
    co_await ABT_AWAIT(w.release_detached.wait());
    --w.detached_alive;
}

coro::task<int> hopping_child(world& w, int hops) {
    ABT_FRAMED();
    for (int i = 0; i < hops; ++i) {
        {
            ABT_FRAMED("hop");
            co_await ABT_AWAIT(w.pool.schedule());
        }
        nested_sync(w, i % 3);
    }
    co_return hops;
}

coro::task<> hop_twice(world& w) {
    ABT_FRAMED();
    (void)co_await ABT_AWAIT(hopping_child(w, 2));
}

coro::task<> joined_pair(world& w) {
    ABT_FRAMED();
    co_await ABT_AWAIT(coro::when_all(hop_twice(w), hop_twice(w)));
}

coro::task<> worker(world& w, unsigned seed, bool parks_forever) {
    ABT_FRAMED();
    std::mt19937 rng(seed);
    for (int step = 0; step < 20; ++step) {
        switch (rng() % 5) {
            case 0:
                nested_sync(w, static_cast<int>(rng() % 4));
                break;
            case 1:
                co_await ABT_AWAIT(w.pool.schedule());  // continue on another thread
                break;
            case 2:
                (void)co_await ABT_AWAIT(hopping_child(w, static_cast<int>(rng() % 3)));
                break;
            case 3:
                ++w.detached_alive;
                detached_child(w);  // outlives this frame
                break;
            default:
                co_await ABT_AWAIT(joined_pair(w));
                break;
        }
    }
    if (parks_forever) co_await ABT_AWAIT(w.never.wait());  // destroyed while suspended, later
}

}  // namespace stress

TEST_CASE("stress: many threads, moving coroutines, detached children, cancellation, continuous dumps" *
          doctest::skip(!ABT_ENABLED)) {
    const unsigned seed = std::getenv("ABT_STRESS_SEED") ? static_cast<unsigned>(std::atoll(std::getenv("ABT_STRESS_SEED")))
                                                        : static_cast<unsigned>(std::random_device{}());
    INFO("seed (rerun with ABT_STRESS_SEED=" << seed << ")");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::atomic<bool> stop_dumping{false};
    std::atomic<long> dumps{0};
    std::thread dumper([&] {
        while (!stop_dumping) {
            const std::string d = abt::taskdump_tree((dumps % 16) == 0);
            ++dumps;
            (void)d;
        }
    });
    {
        auto w = std::make_unique<stress::world>();
        constexpr int task_count = 200;
        std::vector<coro::task<>> tasks;
        for (int i = 0; i < task_count; ++i) tasks.push_back(stress::worker(*w, seed + static_cast<unsigned>(i), i % 4 == 0));
        std::vector<std::thread> starters;
        for (int s = 0; s < 2; ++s)
            starters.emplace_back([&, s] {
                for (int i = s; i < task_count; i += 2) tasks[static_cast<std::size_t>(i)].start();
            });
        for (std::thread& t : starters) t.join();
        // The ones that do not park finish; the parked ones are destroyed while
        // suspended, from threads they may never have run on.
        const bool settled = testing::wait_until(
            [&] {
                const std::string d = abt::taskdump_tree();
                return testing::count_of(d, "stress::worker at ") == task_count / 4 &&
                       testing::count_of(d, "[running]") == 0 && testing::count_of(d, "hopping_child") == 0;
            },
            std::chrono::seconds(40));
        CHECK(settled);
        w->threads.reset();  // joins the pool's threads: what they wrote is visible here
        for (int i = 0; i < task_count; ++i)
            if (i % 4 != 0) CHECK(tasks[static_cast<std::size_t>(i)].done());
        std::vector<std::thread> cancellers;
        for (int s = 0; s < 2; ++s)
            cancellers.emplace_back([&, s] {
                for (int i = s; i < task_count; i += 2) tasks[static_cast<std::size_t>(i)].reset();
            });
        for (std::thread& t : cancellers) t.join();
        w->release_detached.set();
        CHECK(testing::wait_until([&] { return w->detached_alive == 0; }));
        CHECK(w->frames_seen > 0);
    }
    stop_dumping = true;
    dumper.join();
    CHECK(dumps > 0);
    CHECK(std::chrono::steady_clock::now() < deadline);
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree().empty());
}
