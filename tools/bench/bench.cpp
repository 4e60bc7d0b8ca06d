// The benchmark suite of async_backtrace.hpp (make bench). Every framed case
// runs next to a bare twin in the same binary; tools/bench/table.py turns the
// JSON output into the table that README's Performance section shows.
#include "cases.hpp"
#include "../../tests/deep_chain.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdlib>
#include <cstdio>
#include <malloc.h>
#include <new>
#include <pthread.h>
#include <sched.h>
#include <string>
#include <thread>
#include <vector>


namespace {

using namespace bench_cases;

/// ABT_BENCH_SMOKE=1 (make test): every case once, tiny, to prove it runs.
const bool smoke = std::getenv("ABT_BENCH_SMOKE") != nullptr;

void pin_to_core(int index) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<unsigned>(index) % std::thread::hardware_concurrency(), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// ---- reference: what one uncontended registry-lock round trip costs ----------

void reference_spinlock_lock_unlock(benchmark::State& state) {
    abt::detail::spinlock lock;
    for (auto _ : state) {
        lock.lock();
        benchmark::ClobberMemory();
        lock.unlock();
    }
}
BENCHMARK(reference_spinlock_lock_unlock);

// ---- case 1: a nested sync frame inside an active task -----------------------


void case1_nested_frame_framed(benchmark::State& state) {
    ABT_FRAMED("task");
    int x = 0;
    for (auto _ : state) x = nested_framed(x);
    benchmark::DoNotOptimize(x);
}
void case1_nested_frame_bare(benchmark::State& state) {
    ABT_FRAMED("task");
    int x = 0;
    for (auto _ : state) x = nested_bare(x);
    benchmark::DoNotOptimize(x);
}
BENCHMARK(case1_nested_frame_framed);
BENCHMARK(case1_nested_frame_bare);

// ---- case 2: a root frame (a new task), created, entered, destroyed ----------

void case2_root_frame_framed(benchmark::State& state) {
    pin_to_core(state.thread_index());
    int x = 0;
    for (auto _ : state) x = nested_framed(x);  // no active frame: each call is a new task
    benchmark::DoNotOptimize(x);
}
void case2_root_frame_bare(benchmark::State& state) {
    pin_to_core(state.thread_index());
    int x = 0;
    for (auto _ : state) x = nested_bare(x);
    benchmark::DoNotOptimize(x);
}
BENCHMARK(case2_root_frame_framed)->Threads(1);
BENCHMARK(case2_root_frame_bare)->Threads(1);
BENCHMARK(case2_root_frame_framed)->ThreadPerCpu();
BENCHMARK(case2_root_frame_bare)->ThreadPerCpu();

// ---- case 3: one suspend + resume of a framed coroutine ----------------------

template <auto Loop>
void run_await_loop(benchmark::State& state) {
    std::coroutine_handle<> h;
    bool stop = false;
    Loop(&h, &stop);
    for (auto _ : state) h.resume();
    stop = true;
    h.resume();  // ends the coroutine
}
void case3_await_framed(benchmark::State& state) { run_await_loop<await_loop_framed>(state); }
void case3_await_bare(benchmark::State& state) { run_await_loop<await_loop_bare>(state); }
BENCHMARK(case3_await_framed);
BENCHMARK(case3_await_bare);
// The same with abt::framed_promise: a plain co_await in a framed coroutine,
// and an unframed coroutine of that type (the hook's cost where unused).
void case3_await_plain(benchmark::State& state) { run_await_loop<await_loop_plain>(state); }
void case3_await_hooked_unframed(benchmark::State& state) { run_await_loop<await_loop_hooked_unframed>(state); }
BENCHMARK(case3_await_plain);
BENCHMARK(case3_await_hooked_unframed);

// ---- case 4: a chain of 10 lazy tasks, each awaiting the next ----------------

template <auto Chain>
void run_chain(benchmark::State& state) {
    for (auto _ : state) {
        auto t = Chain(9);  // 10 tasks
        t.start();
        benchmark::DoNotOptimize(t.result());
    }
}
void case4_chain10_framed(benchmark::State& state) { run_chain<chain_framed>(state); }
void case4_chain10_bare(benchmark::State& state) { run_chain<chain_bare>(state); }
BENCHMARK(case4_chain10_framed);
BENCHMARK(case4_chain10_bare);
void case4_chain10_plain(benchmark::State& state) { run_chain<chain_plain>(state); }
void case4_chain10_hooked_unframed(benchmark::State& state) { run_chain<chain_hooked_unframed>(state); }
BENCHMARK(case4_chain10_plain);
BENCHMARK(case4_chain10_hooked_unframed);

// ---- case 5: a callback operation: a persistent frame, 10 callbacks ------------

struct operation {
    abt::persistent_frame frame{ABT_SITE("operation")};
    int progress = 0;
    BENCH_NOINLINE void callback_framed() {
        ABT_REENTER(frame);
        benchmark::DoNotOptimize(++progress);
    }
    BENCH_NOINLINE void callback_bare() { benchmark::DoNotOptimize(++progress); }
};
void case5_callbacks10_framed(benchmark::State& state) {
    operation op;
    for (auto _ : state)
        for (int i = 0; i < 10; ++i) op.callback_framed();
}
void case5_callbacks10_bare(benchmark::State& state) {
    operation op;
    for (auto _ : state)
        for (int i = 0; i < 10; ++i) op.callback_bare();
}
BENCHMARK(case5_callbacks10_framed);
BENCHMARK(case5_callbacks10_bare);

// ---- case 6: taskdump_tree over many suspended tasks, 3 frames each ------------

coro::event never;
coro::task<> level3() {
    ABT_FRAMED();
    co_await ABT_AWAIT(never.wait());
}
coro::task<> level2() {
    ABT_FRAMED();
    co_await ABT_AWAIT(level3());
}
coro::task<> level1() {
    ABT_FRAMED();
    co_await ABT_AWAIT(level2());
}

struct suspended_tasks {
    std::vector<coro::task<>> tasks;
    explicit suspended_tasks(std::size_t n) {
        tasks.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            tasks.push_back(level1());
            tasks.back().start();
        }
    }
};

/// Bytes malloc has handed out, small blocks and mmap'd ones.
std::size_t heap_in_use() {
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

void case6_dump(benchmark::State& state) {
    const suspended_tasks live(static_cast<std::size_t>(state.range(0)));
    std::size_t bytes = 0, extra_heap = 0;
    for (auto _ : state) {
        const std::size_t before = heap_in_use();
        const std::string dump = abt::taskdump_tree(false);
        extra_heap = std::max(extra_heap, heap_in_use() - before);
        bytes = dump.size();
        benchmark::DoNotOptimize(dump.data());
    }
    state.counters["tasks"] = static_cast<double>(abt::task_count());
    state.counters["output_bytes"] = static_cast<double>(bytes);
    state.counters["heap_bytes_held"] = static_cast<double>(extra_heap);  // the returned string
}
BENCHMARK(case6_dump)
    ->Arg(smoke ? 100 : 10000)
    ->Arg(smoke ? 1000 : 100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(smoke ? 1 : 5);

// ---- case 7: cases 1 and 2 while another thread dumps continuously -----------

/// Per-operation latency percentiles of `op`, timed in batches of 32 calls,
/// while (if `dumping`) another thread dumps the 10,000 suspended tasks that
/// the caller made, in a loop.
template <class Op>
void measure_under_dumps(benchmark::State& state, bool dumping, Op op) {
    std::atomic<bool> stop{false};
    std::atomic<long> dumps{0};
    std::thread dumper;
    if (dumping)
        dumper = std::thread([&] {
            pin_to_core(1);
            while (!stop.load(std::memory_order_relaxed)) {
                benchmark::DoNotOptimize(abt::taskdump_tree(false).size());
                dumps.fetch_add(1, std::memory_order_relaxed);
            }
        });
    pin_to_core(0);
    constexpr int batch = 32;
    std::vector<double> per_op_ns;
    per_op_ns.reserve(1 << 16);
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < batch; ++i) op();
        const auto took = std::chrono::steady_clock::now() - start;
        per_op_ns.push_back(std::chrono::duration<double, std::nano>(took).count() / batch);
    }
    stop = true;
    if (dumper.joinable()) dumper.join();
    std::sort(per_op_ns.begin(), per_op_ns.end());
    const auto at = [&](double q) { return per_op_ns[static_cast<std::size_t>(q * static_cast<double>(per_op_ns.size() - 1))]; };
    state.counters["median_ns"] = at(0.5);
    state.counters["p999_ns"] = at(0.999);
    state.counters["max_ns"] = per_op_ns.back();
    state.counters["dumps"] = static_cast<double>(dumps.load());
}
void case7_nested_frame_during_dumps(benchmark::State& state) {
    const suspended_tasks live(10000);  // made before the frame below: tasks of their own
    ABT_FRAMED("task");
    int x = 0;
    measure_under_dumps(state, state.range(0) != 0, [&] { x = nested_framed(x); });
}
void case7_root_frame_during_dumps(benchmark::State& state) {
    const suspended_tasks live(10000);
    int x = 0;
    measure_under_dumps(state, state.range(0) != 0, [&] { x = nested_framed(x); });
}
BENCHMARK(case7_nested_frame_during_dumps)->Arg(0)->Arg(1)->Iterations(smoke ? 100 : 20000);
BENCHMARK(case7_root_frame_during_dumps)->Arg(0)->Arg(1)->Iterations(smoke ? 100 : 20000);

// ---- case 7, lock: the longest wait for the registry lock during a dump --------

/// Runs `dump` once per iteration while another thread takes the registry
/// lock (abt::task_count()) in a loop, timing each call: a dump holds the
/// lock while it copies a task, at most frames_per_hold frames at a time.
/// Reports the longest call and the 99.99th percentile (the longest also
/// counts the times the VM or the kernel stopped that thread).
template <class Dump>
void measure_lock_wait(benchmark::State& state, Dump dump) {
    std::atomic<bool> stop{false};
    std::vector<float> waits_us;  // the prober's, read after it is joined
    waits_us.reserve(std::size_t{1} << 26);
    std::thread prober([&] {
        pin_to_core(1);
        while (!stop.load(std::memory_order_relaxed)) {
            const auto start = std::chrono::steady_clock::now();
            benchmark::DoNotOptimize(abt::task_count());
            const float us = std::chrono::duration<float, std::micro>(std::chrono::steady_clock::now() - start).count();
            if (waits_us.size() < waits_us.capacity()) waits_us.push_back(us);
        }
    });
    pin_to_core(0);
    for (auto _ : state) dump();
    stop = true;
    prober.join();
    std::sort(waits_us.begin(), waits_us.end());
    const auto at = [&](double q) {
        return waits_us.empty() ? 0.0 : static_cast<double>(waits_us[static_cast<std::size_t>(q * static_cast<double>(waits_us.size() - 1))]);
    };
    state.counters["lock_wait_p9999_us"] = at(0.9999);
    state.counters["lock_wait_max_us"] = at(1.0);
}

/// One task 200,002 frames deep (a framed coroutine that recurses), dumped
/// with dump() to /dev/null; 0.2.0 copied it in one hold (18-37 ms here).
void case7_lock_wait_deep_task(benchmark::State& state) {
    const int levels = smoke ? 3000 : 200000;
    coro::task<> root = deep_chain::walk(levels);
    deep_chain::on_stack_of(std::size_t{1} << 30, [&] { root.start(); });
    std::FILE* null = std::fopen("/dev/null", "w");
    measure_lock_wait(state, [&] { abt::dump(null, abt::dump_options{}); });
    std::fclose(null);
    deep_chain::on_stack_of(std::size_t{1} << 30, [] { deep_chain::release.set(); });
    deep_chain::release.reset();  // for the next run
    state.counters["frames"] = levels + 2;
}
BENCHMARK(case7_lock_wait_deep_task)->Unit(benchmark::kMillisecond)->Iterations(smoke ? 1 : 5);

// ---- case 8: dumps of a million tasks: time, and the memory they take --------

/// Heap accounting for case 8 only: operator new and delete below count the
/// bytes in use and their peak while `counting` is on (one relaxed load per
/// allocation otherwise).
std::atomic<bool> counting{false};
std::atomic<std::size_t> heap_now{0}, heap_peak{0};

void note_allocated(void* p) {
    if (p == nullptr || !counting.load(std::memory_order_relaxed)) return;
    const std::size_t size = malloc_usable_size(p);
    const std::size_t now = heap_now.fetch_add(size, std::memory_order_relaxed) + size;
    std::size_t peak = heap_peak.load(std::memory_order_relaxed);
    while (now > peak && !heap_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}
void note_freed(void* p) {
    if (p == nullptr || !counting.load(std::memory_order_relaxed)) return;
    const std::size_t size = malloc_usable_size(p);
    std::size_t now = heap_now.load(std::memory_order_relaxed);
    // Blocks allocated before counting began may be freed while it is on: never below 0.
    while (!heap_now.compare_exchange_weak(now, now >= size ? now - size : 0, std::memory_order_relaxed)) {
    }
}

/// The extra heap `dump` needs at its peak (bytes), beyond what was in use before it.
template <class Dump>
std::size_t peak_heap_of(Dump dump) {
    heap_now = 0;
    heap_peak = 0;
    counting = true;
    dump();
    counting = false;
    return heap_peak.load();
}

/// A million suspended tasks of 3 frames, made once for every case 8 run.
const suspended_tasks& million() {
    static const suspended_tasks* live = new suspended_tasks(smoke ? 1000 : 1000000);  // kept to the end
    return *live;
}

/// Kinds: 0 taskdump_tree(false) (the plain tree, as a string), 1 dump() of
/// the rich tree to /dev/null (written as it goes), 2 the same grouped.
void case8_dump_million(benchmark::State& state) {
    million();
    std::FILE* null = std::fopen("/dev/null", "w");
    abt::dump_options o;
    o.group = state.range(0) == 2;
    std::size_t extra = 0;
    for (auto _ : state) {
        if (state.range(0) == 0)
            extra = peak_heap_of([] { benchmark::DoNotOptimize(abt::taskdump_tree(false).size()); });
        else
            extra = peak_heap_of([&] { abt::dump(null, o); });
    }
    std::fclose(null);
    state.counters["tasks"] = static_cast<double>(abt::task_count());
    state.counters["peak_extra_heap_bytes"] = static_cast<double>(extra);
}
BENCHMARK(case8_dump_million)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(smoke ? 1 : 3);

/// Case 7, lock, again with case 8's million tasks of 3 frames (one hold per
/// task), dumped with dump() to /dev/null.
void case7_lock_wait_million_tasks(benchmark::State& state) {
    million();
    std::FILE* null = std::fopen("/dev/null", "w");
    measure_lock_wait(state, [&] { abt::dump(null, abt::dump_options{}); });
    std::fclose(null);
    state.counters["tasks"] = static_cast<double>(abt::task_count());
}
BENCHMARK(case7_lock_wait_million_tasks)->Unit(benchmark::kMillisecond)->Iterations(smoke ? 1 : 3);

// ---- case 9: memory: suspended 3-frame tasks, framed against bare -------------

coro::task<> bare_level3() { co_await never.wait(); }
coro::task<> bare_level2() { co_await bare_level3(); }
coro::task<> bare_level1() { co_await bare_level2(); }

/// The live heap (malloc's, every block) that `count` suspended tasks of 3
/// frames hold, made by `make` and freed before it returns.
template <class Make>
std::size_t heap_of_suspended(std::size_t count, Make make) {
    malloc_trim(0);
    std::size_t held = 0;
    {
        std::vector<coro::task<>> tasks;
        tasks.reserve(count);
        const std::size_t with_vector = heap_in_use();
        for (std::size_t i = 0; i < count; ++i) {
            tasks.push_back(make());
            tasks.back().start();
        }
        held = heap_in_use() - with_vector;
    }
    return held;
}

/// The figure: bytes per frame (the frame and its ABT_AWAIT's
/// awaiter together) that 100,000 suspended 3-frame tasks take beyond the
/// same tasks bare; and the sizes of the records behind it.
void case9_memory_suspended_tasks(benchmark::State& state) {
    const std::size_t count = smoke ? 1000 : 100000;
    std::size_t framed = 0, bare = 0;
    for (auto _ : state) {
        framed = heap_of_suspended(count, level1);
        bare = heap_of_suspended(count, bare_level1);
    }
    const double frames = static_cast<double>(count) * 3;
    state.counters["tasks"] = static_cast<double>(count);
    state.counters["framed_bytes"] = static_cast<double>(framed);
    state.counters["bare_bytes"] = static_cast<double>(bare);
    state.counters["bytes_per_frame"] = (static_cast<double>(framed) - static_cast<double>(bare)) / frames;
    state.counters["sizeof_frame"] = static_cast<double>(sizeof(abt::detail::frame));
    state.counters["sizeof_persistent_frame"] = static_cast<double>(sizeof(abt::persistent_frame));
    state.counters["sizeof_awaiter_extra"] = static_cast<double>(
        sizeof(decltype(ABT_AWAIT(never.wait()))) - sizeof(decltype(never.wait())));
}
BENCHMARK(case9_memory_suspended_tasks)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

// The replaced operators pair malloc with free; g++ sees the free inlined
// into delete-expressions and warns of a mismatch that is not one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
    void* p = std::malloc(size == 0 ? 1 : size);
    if (p == nullptr) throw std::bad_alloc();
    note_allocated(p);
    return p;
}
void operator delete(void* p) noexcept {
    note_freed(p);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    note_freed(p);
    std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

BENCHMARK_MAIN();
