// ============================================================================
// async_backtrace.hpp - a task dump for C++: every live task, suspended ones
// included, printed as a tree of framed functions with their await sites.
//
// Version 0.3.1                                    SPDX-License-Identifier: MIT
// Single header, C++17 (coroutine support: C++20). No dependencies.
// ============================================================================
//
// CONTENTS
//   1. Quick start           4. Persistent frames (callbacks)
//   2. Macros                5. Spawns, event loops, executors
//   3. Functions             6. Configuration switches
//                            7. Debuggers
//
// 1. QUICK START
//   Copy this file into your project. For a task type whose promise you own,
//   add one line, and every co_await in a framed coroutine is an await site:
//
//     #include "async_backtrace.hpp"
//
//     struct promise_type : abt::framed_promise { ... };   // your task's promise
//
//     task<void> read_request(conn& c) {
//       ABT_FRAMED();                          // frame named "read_request"
//       co_await c.readable();                 // the dump shows this line
//     }
//
//   For task types you cannot change (a library's), wrap each co_await:
//
//     task<void> read_request(conn& c) {
//       ABT_FRAMED();                          // frame named "read_request"
//       co_await ABT_AWAIT(c.readable());      // the dump shows this line
//     }
//     task<void> session(conn& c) {
//       ABT_FRAMED();
//       co_await ABT_AWAIT(read_request(c));   // read_request nests under session
//     }
//     ...
//     abt::dump();                             // prints the task tree to stderr
//
//   In an executor you own, mark each queued item (a forgotten ABT_AWAIT is
//   then reported at once, at the end of the item that ran it):
//
//     void run_one(job& j) { ABT_WORK_ITEM(); j(); }
//
//   Output:
//     ╼ session at server.cpp:7 suspended at server.cpp:8
//       └╼ read_request at server.cpp:3 suspended at server.cpp:4
//
// 2. MACROS
//   ABT_FRAMED();            Scope guard: a frame named after the enclosing
//   ABT_FRAMED("name");      function (qualified, no return type or parameters),
//                            or named "name". Put it at the top of a function or
//                            coroutine body. Several per function are fine, one
//                            per block: open a { } scope for the next one.
//   ABT_FRAMED_DYNAMIC(name);  The same, named at run time: name is anything
//                            that converts to std::string_view, copied (one
//                            allocation per frame). backtrace() entries point
//                            into the copy while the frame lives.
//   co_await ABT_AWAIT(x);   Marks a suspension point of a framed coroutine. x
//                            is any awaitable; the result is exactly x's result.
//                            Every co_await in a framed coroutine must use it,
//                            unless its promise is an abt::framed_promise (a
//                            plain co_await is one then; ABT_AWAIT stays valid).
//                            tools/abt-lint finds the co_awaits that miss it.
//                            In asio coroutines (asio::awaitable), use the
//                            completion token ABT_USE_AWAITABLE of the optional
//                            async_backtrace_asio.hpp instead (and its
//                            abt::asio_support::awaitable_operators for && ||).
//   ABT_SITE("name")         Makes an abt::site (a static name + file:line) for
//                            a persistent frame or a wait description.
//   ABT_REENTER(pframe);     Scope guard: re-enters the abt::persistent_frame
//                            pframe inside a callback. Frames made inside attach
//                            under it.
//   ABT_WAITING(pframe, "what");  Records that pframe now waits for "what" at
//                            this file:line; shown while no callback runs in it.
//   ABT_WORK_ITEM();         Scope guard for event loops and executors: marks
//                            one work item (a handler, a coroutine resumption).
//                            It isolates work items and catches a suspension
//                            that bypassed ABT_AWAIT at once (without it, at
//                            the next point the header can tell: README).
//   ABT_WORK_ITEM_OF_ONE_TASK();  The same, for a work item that continues
//                            one task only (a coroutine resumption, asio's
//                            awaitable pump): a coroutine the framework starts
//                            in it after a suspension is that suspension's
//                            child (exact attribution through trampolines).
//   ABT_SPAWN(expr)          Evaluates expr, a call that starts a new task and
//                            may run it at once (cppcoro's scope.spawn(f()),
//                            an eager coroutine nobody awaits): the frames it
//                            makes are a task of their own, not the running
//                            frame's children, and the running frame carries
//                            on after it. The value is expr's. Not needed for
//                            asio's co_spawn (async_backtrace_asio.hpp).
//   ABT_CHECK_NO_LEAKED_TASKS(mark);  In a doctest or Catch2 test: fails
//                            (INFO + CHECK) with their tree when tasks made
//                            since the abt::task_watermark mark still live.
//
// 3. FUNCTIONS (namespace abt)
//   std::string taskdump_tree(const dump_options& o);
//       Every live task as a tree: a header line per task (id, name, tags,
//       age), wait times, optionally grouped ([×N]). A task running right
//       now shows "[running]" instead of its frames (and how many suspended
//       coroutines it holds under a running frame: see 5), unless
//       o.wait_for_running > 0: then the dump first waits (at most that
//       long) for running tasks to suspend. Any depth, any number of tasks:
//       no recursion, lines indented for 32 levels at most ([depth N]).
//   struct dump_options { bool group = false;
//       std::chrono::milliseconds wait_for_running{0};
//       bool wait_for_running_tasks = false;  (0.2.0's flag: deprecated)
//       bool times = true, ids = true; std::size_t max_tasks = 0, max_depth = 0; };
//   std::string taskdump_tree();  taskdump_tree(bool wait_for_running_tasks);
//       The plain tree (no ids, times or groups), as in version 0.1 (only
//       a bool selects it: taskdump_tree({}) is the options form).
//   std::string taskdump_json(const dump_options& o = {});  "format_version": 2
//   std::string taskdump_folded(const dump_options& o = {}); flame-graph input
//   void dump(std::FILE* out = stderr, const dump_options& o = {});
//   snapshot take_snapshot(const dump_options& o = {});  The tree as data:
//       tasks (task_snapshot) of frames (frame_snapshot), for code.
//   void for_each_task(const dump_options& o, F f);  The same, one task at
//       a time: f(const task_snapshot&), no list of them kept.
//   std::vector<location> backtrace();      The logical chain from this
//       thread's innermost active frame up to its task's root, innermost first.
//   std::size_t task_count();               Number of live tasks (root frames).
//   struct location { const char* function; const char* file; std::uint32_t line; };
//   bool set_task_name(std::string_view);   Names the current task (copied).
//   bool set_task_tag(std::string_view key, std::string_view value);
//   std::uint64_t current_task_id();        0 when no frame runs here.
//   bool awaiting_task(std::uint64_t id);   The current frame's next suspension
//       waits for task id: shown in dumps, which report await cycles.
//   bool install_signal_dump(int signo = SIGUSR1, std::FILE* out = stderr,
//       const dump_options& o = grouped_dump_options());  a dump per signal,
//       from a watcher thread (the handler only writes to a pipe); POSIX.
//   void uninstall_signal_dump();
//   class watchdog { explicit watchdog(const watchdog_options&); };  reports
//       tasks suspended or running too long, with a dump, once per episode.
//   class task_watermark { std::string leaked(grace) const; };  tasks made
//       since it and still alive, for tests (ABT_CHECK_NO_LEAKED_TASKS).
//   class framed_promise;  A base for promise types you own (C++20): a plain
//       co_await in a framed coroutine of that type is an ABT_AWAIT, its
//       await site the co_await's line. A promise with an await_transform of
//       its own passes its result to framed_promise::await_transform(x, site)
//       with an abt::await_site site = {} parameter of its own.
//
// 4. PERSISTENT FRAMES (callback frameworks)
//   A callback chain has no stack that lives across callbacks, so its frame
//   lives in the operation's own state:
//
//     struct connection {
//       abt::persistent_frame frame{ABT_SITE("connection")};
//       void on_read(error_code ec, std::size_t n) {
//         ABT_REENTER(frame);                  // frames made here nest under it
//         ...
//         ABT_WAITING(frame, "socket write");  // shown until the next callback
//         async_write(..., [this](auto...) { on_write(); });
//       }
//     };
//
//   A persistent frame is a task of its own from the moment it is made: an
//   operation outlives the code that starts it (unless a join hands it to
//   the awaiting frame, see ABT_AWAIT).
//
// 5. SPAWNS, EVENT LOOPS AND EXECUTORS
//   A coroutine that runs at once when it is made (eager) inside a running
//   frame is that frame's child, until the frame ends (then it is a task of
//   its own): the header cannot tell a spawn from a child that will be
//   awaited. Start it with ABT_SPAWN(...) to make it a task from the start.
//   Run event loops outside framed code, or put ABT_WORK_ITEM(); in the loop:
//   a framed function that runs a loop (a framed main calling uv_run) would
//   otherwise own what the loop's callbacks start. Persistent frames and
//   asio coroutines never nest under it; coroutines that other loops start
//   do, and dumps and the watchdog say so ("[running] and holding N
//   suspended coroutines started under a running frame").
//   Put ABT_WORK_ITEM(); at the top of the code that runs one queued item.
//   Without it everything still holds; with it, a suspension that bypassed
//   ABT_AWAIT is reported at the end of the work item instead of later. Where
//   a work item continues exactly one task, ABT_WORK_ITEM_OF_ONE_TASK(); also
//   attributes a child that the framework starts after its parent suspended
//   (asio's awaitable pump does this) to that parent. Do not use it where a
//   work item may start several unrelated tasks: they would nest.
//
// 6. CONFIGURATION (define before including, the same in every translation
//    unit)
//   ABT_ENABLED        1 (default) or 0. With 0 every macro expands to nothing
//                      or to its plain argument; functions return empty results.
//                      Part of the inline namespace's name: translation units
//                      that disagree fail to link instead of misbehaving.
//   ABT_DUMP_WAIT_MS   How long taskdump_tree(true) waits for running tasks
//                      before it shows them as [running] (dump_options takes
//                      any wait: wait_for_running). Default 1000. (If
//                      translation units disagree, one of the values is used.)
//   -fno-exceptions    Supported (detected, no switch; build every translation
//                      unit the same way). A failed allocation or thread start
//                      then ends the program (std::terminate), in
//                      install_signal_dump too instead of returning false.
//   ABT_SEPARATE_IMPLEMENTATION  Compile cost (README: Compile cost). Define
//                      it in every translation unit (-DABT_SEPARATE_IMPLEMENTATION)
//                      and, in exactly one .cpp file:
//                        #define ABT_IMPLEMENTATION
//                        #include "async_backtrace.hpp"
//                      Other files then see the macros, the awaiters and
//                      light declarations only, with no heavy standard header
//                      (no <atomic>, <string>, <vector>, <chrono>, <thread>);
//                      a frame's entry and exit and a suspension's two halves
//                      are one call each into the one file, which gets every
//                      out-of-line definition (those, dumps, JSON, folded
//                      stacks, watchdog, signal dump, persistent frame calls,
//                      slow paths, abt_debug_layout). Without the
//                      one file: undefined references at link time. The same
//                      types and program-wide state as the header-only default,
//                      so files built either way share one registry.
//   ABT_FULL_API       Separate mode, per file: also declare what needs those
//                      standard headers (and include them): taskdump_*, dump,
//                      backtrace, set_task_name/tag, install_signal_dump,
//                      watchdog, task_watermark, ABT_FRAMED_DYNAMIC. Define it
//                      before the include in the files that call them.
//                      (Always on in the header-only default and ABT_IMPLEMENTATION.)
//
// 7. DEBUGGERS
//   tools/abt_gdb.py prints the tree from a live process or a core file
//   (gdb: source tools/abt_gdb.py, then abt-dump) without running code in
//   it. It reads the symbol abt_debug_layout (C linkage, a stable name):
//   the registry's address and the offsets of the fields it walks.
//
// LIMITS, in short (the README has the full list)
//   - A promise's await_transform sees ABT_AWAIT's wrapper, not the inner
//     awaitable, so task types that restrict what they await (asio's
//     awaitable) reject it.
//   - framed_promise decides at run time which frame a plain co_await
//     suspends: the coroutine's own innermost frame. One shape it cannot
//     tell: a lazy coroutine whose ABT_FRAMED is not at the top of its body,
//     first run (resumed, not awaited) by another coroutine whose function
//     has the same unqualified name, and co_awaiting before its own
//     ABT_FRAMED. Put ABT_FRAMED first in the body.
//   - Children that a join posts to a queue, instead of starting them inline
//     or by symmetric transfer, are tasks of their own.
//   - An eager coroutine nobody awaits is the running frame's child until
//     that frame ends, unless it is started through ABT_SPAWN.
//   - Misuse (a co_await that bypasses ABT_AWAIT in a framed coroutine) is
//     found at the end of its work item, when another coroutine resumes on
//     its thread, when the frame ends, or (a warning) when the thread ends;
//     it is reported with the frame's file:line and its last await site, and
//     the process aborts. Until then, frames that code outside any frame
//     starts on that thread are shown under it.
// ============================================================================

#ifndef ABT_ASYNC_BACKTRACE_HPP
#define ABT_ASYNC_BACKTRACE_HPP

// ---------------------------------------------------------------------------
// Version
// ---------------------------------------------------------------------------
#define ABT_VERSION_MAJOR 0
#define ABT_VERSION_MINOR 3
#define ABT_VERSION_PATCH 1
#define ABT_VERSION (ABT_VERSION_MAJOR * 10000 + ABT_VERSION_MINOR * 100 + ABT_VERSION_PATCH)

// ---------------------------------------------------------------------------
// Compiler and feature detection
// ---------------------------------------------------------------------------
#if defined(_MSVC_LANG)
#define ABT_DETAIL_CPLUSPLUS _MSVC_LANG
#else
#define ABT_DETAIL_CPLUSPLUS __cplusplus
#endif

#if ABT_DETAIL_CPLUSPLUS < 201703L
#error "async_backtrace.hpp needs C++17 or later (coroutine support needs C++20): compile with -std=c++17 or -std=c++20"
#endif

#if defined(__cpp_impl_coroutine) && __cpp_impl_coroutine >= 201902L && ABT_DETAIL_CPLUSPLUS >= 202002L
#define ABT_DETAIL_HAS_COROUTINES 1
#else
#define ABT_DETAIL_HAS_COROUTINES 0
#endif

// The caller's line, file and function, in a default argument (await_site).
#if defined(__GNUC__) || defined(__clang__) || (defined(_MSC_VER) && _MSC_VER >= 1926)
#define ABT_DETAIL_CALLER_LINE __builtin_LINE()
#define ABT_DETAIL_CALLER_FILE __builtin_FILE()
#define ABT_DETAIL_CALLER_FUNCTION __builtin_FUNCTION()
#else
#define ABT_DETAIL_CALLER_LINE 0
#define ABT_DETAIL_CALLER_FILE ""
#define ABT_DETAIL_CALLER_FUNCTION ""
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ABT_DETAIL_PRETTY_FUNCTION __PRETTY_FUNCTION__
#elif defined(_MSC_VER)
#define ABT_DETAIL_PRETTY_FUNCTION __FUNCSIG__
#else
#define ABT_DETAIL_PRETTY_FUNCTION __func__
#endif

// The program-wide state (registry, thread state) must be one object even
// across shared libraries built with -fvisibility=hidden.
#if defined(__GNUC__) || defined(__clang__)
#define ABT_DETAIL_PROGRAM_WIDE __attribute__((visibility("default")))
#else
#define ABT_DETAIL_PROGRAM_WIDE
#endif

// Hot paths are inlined into the caller; their slow paths are kept out of
// line so they do not bloat it (see DESIGN: hot paths).
#if defined(__GNUC__) || defined(__clang__)
#define ABT_DETAIL_ALWAYS_INLINE inline __attribute__((always_inline))
#define ABT_DETAIL_NOINLINE __attribute__((noinline))
#define ABT_DETAIL_LIKELY(x) __builtin_expect(!!(x), 1)
#define ABT_DETAIL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#elif defined(_MSC_VER)
#define ABT_DETAIL_ALWAYS_INLINE __forceinline
#define ABT_DETAIL_NOINLINE __declspec(noinline)
#define ABT_DETAIL_LIKELY(x) (x)
#define ABT_DETAIL_UNLIKELY(x) (x)
#else
#define ABT_DETAIL_ALWAYS_INLINE inline
#define ABT_DETAIL_NOINLINE
#define ABT_DETAIL_LIKELY(x) (x)
#define ABT_DETAIL_UNLIKELY(x) (x)
#endif

// ThreadSanitizer (g++: __SANITIZE_THREAD__; clang++: __has_feature).
#if defined(__SANITIZE_THREAD__)
#define ABT_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ABT_DETAIL_TSAN 1
#endif
#endif
#ifndef ABT_DETAIL_TSAN
#define ABT_DETAIL_TSAN 0
#endif

// Exceptions: off under -fno-exceptions (g++, clang++) or without /EHsc (MSVC).
// __cpp_exceptions is the standard test; clang++ also defines __EXCEPTIONS
// for -fexceptions -fno-cxx-exceptions, where try is an error, so only other
// compilers fall back to __EXCEPTIONS (g++) and _CPPUNWIND (MSVC).
#if defined(__cpp_exceptions)
#define ABT_DETAIL_HAS_EXCEPTIONS 1
#elif !defined(__clang__) && (defined(__EXCEPTIONS) || defined(_CPPUNWIND))
#define ABT_DETAIL_HAS_EXCEPTIONS 1
#else
#define ABT_DETAIL_HAS_EXCEPTIONS 0
#endif

// try, catch (...) and throw; that compile without exceptions too. Then nothing
// in the header throws or catches: a failed allocation or thread start, which
// the standard library reports by throwing, ends the program (std::terminate).
// The catch block is dead code, kept as the else of an if (true) so that it
// is still compiled and type-checked.
#if ABT_DETAIL_HAS_EXCEPTIONS
#define ABT_DETAIL_TRY try
#define ABT_DETAIL_CATCH_ALL catch (...)
#define ABT_DETAIL_RETHROW throw
#else
#define ABT_DETAIL_TRY if (true)
#define ABT_DETAIL_CATCH_ALL else
#define ABT_DETAIL_RETHROW static_cast<void>(0)
#endif

#define ABT_DETAIL_CAT2(a, b) a##b
#define ABT_DETAIL_CAT(a, b) ABT_DETAIL_CAT2(a, b)

// ---------------------------------------------------------------------------
// Configuration defaults
// ---------------------------------------------------------------------------
#ifndef ABT_ENABLED
#define ABT_ENABLED 1
#endif

#ifndef ABT_DUMP_WAIT_MS
#define ABT_DUMP_WAIT_MS 1000
#endif

// The inline namespace carries the version and every layout-changing switch,
// so that two translation units built with different ABT_ENABLED fail to link
// instead of silently breaking the one-definition rule.
#if ABT_ENABLED
#define ABT_DETAIL_ABI v0_3_1_enabled
#else
#define ABT_DETAIL_ABI v0_3_1_disabled
#endif

// Separate implementation (see CONFIGURATION): with ABT_SEPARATE_IMPLEMENTATION
// a translation unit sees declarations, macros and hot paths only (LIGHT),
// and the one that also defines ABT_IMPLEMENTATION holds every out-of-line
// definition. OUT_OF_LINE marks those definitions: inline in the header-only
// default, external functions in the separate mode. Both modes lay out every
// type the same and share the program-wide state, so they are one ABI.
#if defined(ABT_IMPLEMENTATION) && !defined(ABT_SEPARATE_IMPLEMENTATION)
#define ABT_SEPARATE_IMPLEMENTATION
#endif
#if defined(ABT_SEPARATE_IMPLEMENTATION)
#define ABT_DETAIL_OUT_OF_LINE ABT_DETAIL_PROGRAM_WIDE  // one definition serves shared libraries too
#if defined(ABT_IMPLEMENTATION)
#define ABT_DETAIL_LIGHT 0
#else
#define ABT_DETAIL_LIGHT 1
#endif
#else
#define ABT_DETAIL_OUT_OF_LINE inline
#define ABT_DETAIL_LIGHT 0
#endif
// The suspension's hot paths (ABT_AWAIT's and framed_promise's
// await_suspend and await_resume): inlined into every co_await in the
// header-only default; one call each to the definitions in the
// ABT_IMPLEMENTATION file in the separate mode, where inlining them cost
// each file most of its optimisation time (README: Compile cost).
#if defined(ABT_SEPARATE_IMPLEMENTATION)
#define ABT_DETAIL_SUSPENSION_PATH ABT_DETAIL_OUT_OF_LINE
#else
#define ABT_DETAIL_SUSPENSION_PATH ABT_DETAIL_ALWAYS_INLINE
#endif
#if ABT_DETAIL_LIGHT && !defined(ABT_FULL_API)
#define ABT_DETAIL_FULL_API 0  // no dumps, watchdog, task names: their types' headers are heavy
#else
#define ABT_DETAIL_FULL_API 1
#endif

#include <cstddef>
#include <cstdint>
#if ABT_DETAIL_FULL_API
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>
#if ABT_ENABLED
#include <memory>  // ABT_FRAMED_DYNAMIC
#endif
#endif

#if ABT_ENABLED
#include <type_traits>
#if !ABT_DETAIL_LIGHT || !(defined(__GNUC__) || defined(__clang__))
#include <cstring>  // (light files use __builtin_memcpy: ABT_DETAIL_MEMCPY)
#include <utility>
#endif
#if !ABT_DETAIL_LIGHT
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>
#include <algorithm>
#include <deque>
#include <memory>
#include <condition_variable>
#include <mutex>
#endif
#if !defined(__GNUC__) && !defined(__clang__)
#include <atomic>  // atomic_cell uses std::atomic_ref
#endif
#if defined(__unix__) || defined(__APPLE__)
#if !ABT_DETAIL_LIGHT
#include <csignal>
#include <cerrno>
#include <fcntl.h>
#include <pthread.h>  // pthread_atfork, pthread_getattr_np
#include <unistd.h>
#endif
#include <time.h>     // clock_gettime
#define ABT_DETAIL_HAS_SIGNALS 1
#elif ABT_DETAIL_LIGHT
#include <chrono>     // coarse_now_ns without clock_gettime
#endif
#if defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__))
#define ABT_DETAIL_HAS_STACK_BOUNDS 1  // pthread_getattr_np, __builtin_frame_address
#define ABT_DETAIL_FRAME_ADDRESS() static_cast<const char*>(__builtin_frame_address(0))
#endif
#endif
#ifndef ABT_DETAIL_HAS_STACK_BOUNDS
#define ABT_DETAIL_HAS_STACK_BOUNDS 0
#define ABT_DETAIL_FRAME_ADDRESS() static_cast<const char*>(nullptr)
#endif
#ifndef ABT_DETAIL_HAS_SIGNALS
#define ABT_DETAIL_HAS_SIGNALS 0
#endif

#if ABT_DETAIL_HAS_COROUTINES
#include <coroutine>
#include <type_traits>
#endif
#if defined(__GNUC__) || defined(__clang__)
#define ABT_DETAIL_MEMCPY __builtin_memcpy
#else
#define ABT_DETAIL_MEMCPY std::memcpy
#endif

// ===========================================================================
// Public API
// ===========================================================================
namespace abt {
inline namespace ABT_DETAIL_ABI {

/// One entry of a backtrace: a frame's name and where it was declared.
struct location {
    const char* function;
    const char* file;
    std::uint32_t line;
};

namespace detail {
struct frame_site;
}

/// A static call-site record made by ABT_SITE("name"): names a persistent
/// frame or a wait. Cheap to copy (one pointer).
struct site {
    const detail::frame_site* record;
};

#if ABT_DETAIL_FULL_API  // std::string, std::FILE, std::string_view, std::chrono: see ABT_FULL_API
/// What a dump shows (taskdump_tree, taskdump_json, taskdump_folded, dump).
struct dump_options {
    /// Collapse identical tasks, and identical sibling subtrees anywhere in a
    /// task, into one entry with a count ([×N]) and their times as ranges.
    /// Identical: the same frames, states and await sites.
    bool group = false;
    /// First wait, at most this long, for running tasks to suspend (a
    /// running task shows only its root: see the README). 0: do not wait.
    std::chrono::milliseconds wait_for_running{0};
    /// 0.2's name, deprecated: true is wait_for_running = ABT_DUMP_WAIT_MS
    /// (when wait_for_running is 0).
    bool wait_for_running_tasks = false;
    /// Wait times of suspended frames, idle times of persistent frames, and
    /// task ages (coarse: a few ms).
    bool times = true;
    /// A header line per task: its id, name and tags (and age).
    bool ids = true;
    /// At most this many entries (tasks or groups; 0: all). The others are
    /// counted on a last line.
    std::size_t max_tasks = 0;
    /// Frames at most this deep (1: roots only; 0: all). Deeper ones are
    /// counted on a line of their own.
    std::size_t max_depth = 0;
};

/// Every live task as a tree, as configured (format in the README).
/// Data-race free; may be called from any thread, including from inside a
/// task.
std::string taskdump_tree(const dump_options& options);

/// The plain tree: the format of version 0.1, without ids, times, groups
/// or awaited tasks. true: first wait (ABT_DUMP_WAIT_MS at most) for
/// running tasks to suspend. Only a bool selects it: taskdump_tree({}) is
/// the options form, as dump_options{} is.
std::string taskdump_tree();
namespace detail {
std::string plain_taskdump(bool wait_for_running_tasks);
}
template <class Bool, typename std::enable_if<std::is_same<Bool, bool>::value, int>::type = 0>
std::string taskdump_tree(Bool wait_for_running_tasks) {
    return detail::plain_taskdump(wait_for_running_tasks);
}

/// The same as JSON, versioned ("format_version": 2; schema in the README).
/// Valid JSON for any name or tag (escaped; invalid UTF-8 replaced).
std::string taskdump_json(const dump_options& options = dump_options());

/// Folded stacks, one line per path from a task's root to a leaf frame
/// (then its await site), with how many tasks share it: "a;b;file:line 42".
/// The input of flamegraph.pl, inferno and speedscope.
std::string taskdump_folded(const dump_options& options = dump_options());

/// Prints taskdump_tree(options) to out, writing as it goes.
void dump(std::FILE* out = stderr, const dump_options& options = dump_options());

/// What a frame is doing in a snapshot.
enum class frame_state : unsigned char {
    running,    // runs now (or is the snapshot's own thread's frame)
    suspended,  // at an ABT_AWAIT (await_site says where) or below one
    idle        // a persistent frame with no callback inside
};

/// One frame (or, grouped, `count` identical sibling frames) of a task in a
/// snapshot: the same content as a line of taskdump_tree.
struct frame_snapshot {
    std::size_t depth = 0;        // 0: the task's root; a frame's parent is the nearest frame before it one level up
    std::string name;             // the frame's name (function, ABT_FRAMED's or ABT_FRAMED_DYNAMIC's)
    const char* file = "";        // where the frame is: static, lives as long as the program
    std::uint32_t line = 0;
    frame_state state = frame_state::running;
    // Suspended at an ABT_AWAIT (or waiting idle with ABT_WAITING): where,
    // and for ABT_WAITING its text. Null `await_file` otherwise.
    const char* await_file = nullptr;
    std::uint32_t await_line = 0;
    const char* await_what = "";
    std::chrono::nanoseconds waited_min{0}, waited_max{0};  // not running; grouped: the range
    std::uint64_t awaits_task = 0;  // abt::awaiting_task's task, 0: none known
    std::size_t count = 1;          // grouped: identical siblings it stands for
    std::size_t omitted_frames = 0; // frames below it cut by max_depth
};

/// One task (or, grouped, `count` identical tasks) in a snapshot.
struct task_snapshot {
    std::vector<std::uint64_t> ids;  // its id (grouped: the first 8 members')
    std::size_t count = 1;
    std::string name;
    std::vector<std::pair<std::string, std::string>> tags;  // grouped: each tag's values ("3|6")
    std::chrono::nanoseconds age_min{0}, age_max{0};
    /// true: every frame, in one consistent state. false: the task runs on
    /// another thread, and `frames` holds its root only (or, for the
    /// snapshot's own thread, the path to its running frame).
    bool whole = true;
    std::vector<frame_snapshot> frames;  // depth first, each parent before its children
};

/// The task tree as data, for code: what taskdump_tree shows, as the dump
/// sees it (the same options, times, groups and guarantees). Tokio's users
/// asked for this (tokio issue 6309): count tasks per await site for
/// metrics, serve the tree from your own endpoint, alert on a stuck task.
struct snapshot {
    std::vector<task_snapshot> tasks;
    std::size_t omitted_tasks = 0;  // left out by max_tasks
    std::vector<std::vector<std::uint64_t>> cycles;  // await cycles: task ids, each from its smallest
    bool cycle_search_stopped = false;  // the search ran out of steps (4,000,000): cycles may be missing
};
snapshot take_snapshot(const dump_options& options = dump_options());

/// The same, one task (or group) at a time, without keeping them all:
/// visit(task, context) for each. A million tasks take a few kilobytes
/// more than one. Called on the calling thread, with no lock held.
void for_each_task(const dump_options& options, void (*visit)(const task_snapshot&, void*), void* context);
/// for_each_task with any callable: f(const task_snapshot&).
template <class F>
void for_each_task(const dump_options& options, F&& f) {
    using callable = typename std::remove_reference<F>::type;
    for_each_task(options, [](const task_snapshot& t, void* c) { (*static_cast<callable*>(c))(t); },
                  const_cast<void*>(static_cast<const void*>(&f)));
}

/// Names the task whose code runs on this thread (its root frame's task),
/// shown in dumps; copies the name. False when no frame runs here.
bool set_task_name(std::string_view name);

/// Sets a key=value tag of the current task (a request or connection id,
/// say); a key set again gets the new value. Copies both. False when no
/// frame runs here.
bool set_task_tag(std::string_view key, std::string_view value);

#endif

/// The id of the current task (small, unique, increasing on each thread);
/// 0 when no frame runs here.
std::uint64_t current_task_id();

/// Records that the current frame's next suspension waits for task `id`
/// (its result, a lock it holds, a message from it). Dumps then show it and
/// report await cycles as likely deadlocks. Call it right before the
/// co_await (or, in a callback, before leaving the persistent frame); it
/// takes the registry lock. False when no frame runs here.
bool awaiting_task(std::uint64_t id);

#if ABT_DETAIL_FULL_API  // SIGUSR1, std::FILE, std::chrono, std::string, std::vector: see ABT_FULL_API
/// dump_options with group on: the form for dumps of many tasks.
inline dump_options grouped_dump_options() {
    dump_options o;
    o.group = true;
    return o;
}
/// Makes signal `signo` print a dump (taskdump_tree(options), between two
/// marker lines) to `out`, even when every other thread is stuck: the
/// handler only writes a byte to a pipe (async-signal-safe), and a watcher
/// thread that this starts does the dump. Installing again replaces the
/// previous installation; uninstall_signal_dump() restores the signal's
/// previous action and stops the thread. POSIX only (false elsewhere, or
/// when the pipe, thread or handler cannot be made).
#if defined(SIGUSR1)
inline constexpr int default_dump_signal = SIGUSR1;
#else
inline constexpr int default_dump_signal = -1;  // no signals here: install_signal_dump returns false
#endif
bool install_signal_dump(int signo = default_dump_signal, std::FILE* out = stderr,
                         const dump_options& options = grouped_dump_options());
void uninstall_signal_dump();

/// What the watchdog watches for, and how often.
struct watchdog_options {
    /// A task suspended at one site (or idle) longer than this is stalled.
    std::chrono::milliseconds suspended_longer_than{10000};
    /// A task that has run this long without suspending blocks its thread
    /// (an executor that never gets it back).
    std::chrono::milliseconds running_longer_than{1000};
    std::chrono::milliseconds check_every{100};
    std::FILE* out = stderr;
    dump_options dump = grouped_dump_options();
};

/// Opt-in stall detector: a thread that checks every check_every, and
/// prints what stalls and a dump once per episode (an episode ends when
/// nothing stalls any more). Stops when destroyed.
class watchdog {
public:
    explicit watchdog(const watchdog_options& options = watchdog_options());
    ~watchdog();
    watchdog(const watchdog&) = delete;
    watchdog& operator=(const watchdog&) = delete;
    /// Episodes reported so far.
    std::size_t episodes() const;

private:
    struct state;
    [[maybe_unused]] state* state_;  // unused with ABT_ENABLED 0
};

/// Remembers the tasks alive now, to find the ones made later that are
/// still alive (leaks), for tests:
///     abt::task_watermark mark;
///     ... code under test ...
///     ABT_CHECK_NO_LEAKED_TASKS(mark);   // doctest or Catch2: INFO + CHECK
class task_watermark {
public:
    task_watermark();
    /// "" when every task made since is gone (waiting up to `grace` for
    /// tasks about to end); otherwise a message and their dump.
    std::string leaked(std::chrono::milliseconds grace = std::chrono::milliseconds(200)) const;

private:
    std::vector<std::uint64_t> existing_;  // ids alive at construction, sorted
};

/// This thread's logical chain, innermost active frame first, up to the root
/// of its task (for a lazy child: through the frames awaiting it). Empty when
/// no frame is active on this thread.
std::vector<location> backtrace();

#endif  // ABT_DETAIL_FULL_API

/// The number of live tasks (root frames).
std::size_t task_count();

/// A frame that lives in an operation's own state (a member of a connection
/// object, say) so the operation shows in dumps while no callback runs.
/// Re-enter it in each callback with ABT_REENTER(frame). Must outlive every
/// ABT_REENTER scope on it. Not copyable, not movable.
class persistent_frame;

/// Where a co_await is: made by a default argument, so it names the line of
/// the co_await that calls await_transform (g++ and clang++ alike). Pass it
/// on as it is (see framed_promise).
class await_site {
public:
    constexpr await_site(std::uint32_t l = ABT_DETAIL_CALLER_LINE, const char* f = ABT_DETAIL_CALLER_FILE,
                         const char* fn = ABT_DETAIL_CALLER_FUNCTION) noexcept
        : line_(l), file_(f), function_(fn) {}
    constexpr std::uint32_t line() const noexcept { return line_; }
    constexpr const char* file() const noexcept { return file_; }
    /// The awaiting function's name, unqualified (__func__): "session", "operator()".
    constexpr const char* function() const noexcept { return function_; }

private:
    std::uint32_t line_;
    const char* file_;
    const char* function_;
};

#if ABT_DETAIL_HAS_COROUTINES
/// A base class for promise types you own: every plain co_await in a framed
/// coroutine of that type then behaves exactly as co_await ABT_AWAIT(...),
/// with the co_await's own line as the await site.
///
///     struct promise_type : abt::framed_promise { ... };
///
/// It adds an await_transform (and 16 bytes). ABT_AWAIT stays valid in such
/// coroutines. A promise with an await_transform of its own composes by
/// handing its result on, with the site of its caller:
///
///     template <class A>
///     auto await_transform(A&& a, abt::await_site site = {}) {
///         return abt::framed_promise::await_transform(my_transform(std::forward<A>(a)), site);
///     }
class framed_promise;
#endif

}  // namespace ABT_DETAIL_ABI
}  // namespace abt

/// Fails the current test (INFO and CHECK: doctest and Catch2 have both) when tasks
/// made since `mark` (an abt::task_watermark) are still alive; the message
/// shows them.
#define ABT_CHECK_NO_LEAKED_TASKS(mark)                 \
    do {                                                \
        const std::string abt_leaks_ = (mark).leaked(); \
        INFO(abt_leaks_);                               \
        CHECK(abt_leaks_.empty());                      \
    } while (false)

#if !ABT_ENABLED
// ===========================================================================
// Disabled mode (ABT_ENABLED 0): no code, no cost; call sites stay valid.
// ===========================================================================
#define ABT_FRAMED(...) static_assert(true, "")
#define ABT_FRAMED_DYNAMIC(name) static_cast<void>(sizeof(name))
#define ABT_AWAIT(...) (__VA_ARGS__)
#define ABT_SITE(...) (::abt::site{nullptr})
#define ABT_REENTER(pframe) static_assert(sizeof(pframe) > 0, "")
#define ABT_WAITING(pframe, ...) static_cast<void>(sizeof(pframe))
#define ABT_WORK_ITEM() static_assert(true, "")
#define ABT_WORK_ITEM_OF_ONE_TASK() static_assert(true, "")
#define ABT_SPAWN(...) (__VA_ARGS__)

namespace abt {
inline namespace ABT_DETAIL_ABI {
class persistent_frame {
public:
    explicit persistent_frame(site) noexcept {}
    persistent_frame(const persistent_frame&) = delete;
    persistent_frame& operator=(const persistent_frame&) = delete;
};
inline std::uint64_t current_task_id() { return 0; }
inline bool awaiting_task(std::uint64_t) { return false; }
inline std::size_t task_count() { return 0; }
#if ABT_DETAIL_FULL_API
inline std::string taskdump_tree() { return std::string(); }
inline std::string detail::plain_taskdump(bool) { return std::string(); }
inline std::string taskdump_tree(const dump_options&) { return std::string(); }
inline std::string taskdump_json(const dump_options&) {
    return "{\"format_version\":2,\"generator\":\"async_backtrace.hpp (disabled)\",\"grouped\":false,"
           "\"tasks\":[],\"omitted_tasks\":0,\"cycles\":[]}\n";
}
inline std::string taskdump_folded(const dump_options&) { return std::string(); }
inline void dump(std::FILE*, const dump_options&) {}
inline snapshot take_snapshot(const dump_options&) { return snapshot(); }
inline void for_each_task(const dump_options&, void (*)(const task_snapshot&, void*), void*) {}
inline bool set_task_name(std::string_view) { return false; }
inline bool set_task_tag(std::string_view, std::string_view) { return false; }
inline bool install_signal_dump(int, std::FILE*, const dump_options&) { return false; }
inline void uninstall_signal_dump() {}
struct watchdog::state {};
inline watchdog::watchdog(const watchdog_options&) : state_(nullptr) {}
inline watchdog::~watchdog() {}
inline std::size_t watchdog::episodes() const { return 0; }
inline task_watermark::task_watermark() {}
inline std::string task_watermark::leaked(std::chrono::milliseconds) const { return std::string(); }
inline std::vector<location> backtrace() { return {}; }
#endif  // ABT_DETAIL_FULL_API
#if ABT_DETAIL_HAS_COROUTINES
class framed_promise {
public:
    template <class Awaitable>
    Awaitable&& await_transform(Awaitable&& a, await_site = {}) noexcept {
        return static_cast<Awaitable&&>(a);
    }
};
#endif
}  // namespace ABT_DETAIL_ABI
}  // namespace abt

#else  // ABT_ENABLED
// ===========================================================================
// Macros (enabled mode)
// ===========================================================================

// ABT_FRAMED: two static constexpr records, a block-scope type alias and one
// guard. The records and the guard are named with __COUNTER__.
//  - The site record knows the site of the ABT_FRAMED whose block encloses
//    this one (null if none), found at compile time through the alias
//    abt_detail_frame_once_per_block: the alias declared by the enclosing
//    block's guard, or, with no enclosing guard, argument-dependent lookup
//    (the call syntax) finds abt::detail::abt_detail_frame_once_per_block,
//    which answers null. Aliases, unlike block-scope function declarations,
//    also work inside g++ 12 coroutines. The price: one ABT_FRAMED per block
//    (a second one in the same block is a "conflicting declaration" of the
//    alias); open a brace scope for the next. The alias shadows the enclosing
//    block's on purpose, so -Wshadow is silenced for that one line.
//  - The name is the function name cleaned at compile time, or the literal.
#define ABT_FRAMED(...) ABT_DETAIL_FRAMED(ABT_DETAIL_CAT(abt_detail_frame_, __COUNTER__), "" __VA_ARGS__)
#define ABT_DETAIL_FRAMED(id, given_name) \
    ABT_DETAIL_FRAME_SITE(id, given_name) \
    ::abt::detail::scope_frame id(abt_detail_frame_once_per_block::site)
// ABT_FRAMED_DYNAMIC: the same records (the static name is the function's),
// and a guard that also holds a heap copy of the site with the given name.
#if ABT_DETAIL_FULL_API
#define ABT_FRAMED_DYNAMIC(name) ABT_DETAIL_FRAMED_DYNAMIC(ABT_DETAIL_CAT(abt_detail_frame_, __COUNTER__), name)
#else
#define ABT_FRAMED_DYNAMIC(name) \
    static_assert(sizeof(name) == 0, "ABT_FRAMED_DYNAMIC needs ABT_FULL_API in this translation unit (std::string_view)")
#endif
#define ABT_DETAIL_FRAMED_DYNAMIC(id, name) \
    ABT_DETAIL_FRAME_SITE(id, "")           \
    ::abt::detail::dynamic_scope_frame id(abt_detail_frame_once_per_block::site, name)
#define ABT_DETAIL_FRAME_SITE(id, given_name)                                                            \
    static constexpr auto ABT_DETAIL_CAT(id, _name) =                                                    \
        ::abt::detail::frame_name<::abt::detail::name_capacity(ABT_DETAIL_PRETTY_FUNCTION, given_name)>( \
            ABT_DETAIL_PRETTY_FUNCTION, given_name);                                                     \
    static constexpr ::abt::detail::frame_site ABT_DETAIL_CAT(id, _site){                                \
        {ABT_DETAIL_CAT(id, _name).text, __FILE__, __LINE__},                                            \
        ABT_DETAIL_PRETTY_FUNCTION,                                                                      \
        ABT_DETAIL_ENCLOSING_SITE(),                                                                     \
        nullptr,                                                                                         \
        __func__};                                                                                       \
    ABT_DETAIL_SHADOW_BEGIN                                                                              \
    using abt_detail_frame_once_per_block =                                                              \
        ::abt::detail::one_ABT_FRAMED_per_block_open_braces_for_the_next<&ABT_DETAIL_CAT(id, _site)>;    \
    ABT_DETAIL_SHADOW_END

/// The site of the innermost ABT_FRAMED whose block encloses this point; null if none.
#define ABT_DETAIL_ENCLOSING_SITE() \
    decltype(abt_detail_frame_once_per_block(::abt::detail::enclosing_query{}))::site

#if defined(__clang__)
#define ABT_DETAIL_SHADOW_BEGIN _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wshadow\"")
#define ABT_DETAIL_SHADOW_END _Pragma("clang diagnostic pop")
#elif defined(__GNUC__)
#define ABT_DETAIL_SHADOW_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wshadow\"")
#define ABT_DETAIL_SHADOW_END _Pragma("GCC diagnostic pop")
#else
#define ABT_DETAIL_SHADOW_BEGIN
#define ABT_DETAIL_SHADOW_END
#endif

// A pointer to a static record of this call site. The lambda gives the
// expression a static; the function id is taken outside it, in the caller.
#define ABT_DETAIL_STATIC_SITE(text)                                                        \
    ([]() noexcept -> const ::abt::detail::frame_site* {                                   \
        static constexpr ::abt::detail::frame_site abt_detail_site{                        \
            {text, __FILE__, __LINE__}, nullptr, nullptr, nullptr, nullptr};               \
        return &abt_detail_site;                                                           \
    }())

#define ABT_SITE(name) (::abt::site{ABT_DETAIL_STATIC_SITE("" name)})
#define ABT_REENTER(pframe) \
    ::abt::detail::reenter_scope ABT_DETAIL_CAT(abt_detail_reenter_, __COUNTER__)(pframe)
#define ABT_WAITING(pframe, what) ((pframe).waiting_for(ABT_SITE(what)))
#define ABT_WORK_ITEM()                                                         \
    ::abt::detail::work_item_scope ABT_DETAIL_CAT(abt_detail_work_item_, __COUNTER__)( \
        ::abt::detail::work_item_kind::plain)
#define ABT_WORK_ITEM_OF_ONE_TASK()                                             \
    ::abt::detail::work_item_scope ABT_DETAIL_CAT(abt_detail_work_item_, __COUNTER__)( \
        ::abt::detail::work_item_kind::one_task)

// ABT_SPAWN: the expression runs in a lambda, inside a work item of its own
// (see start_task); its value is the expression's.
#define ABT_SPAWN(...) (::abt::detail::start_task([&]() -> decltype(auto) { return __VA_ARGS__; }))

#if ABT_DETAIL_HAS_COROUTINES
// ABT_AWAIT also passes the site of the ABT_FRAMED whose block it sits in, so
// it suspends only that frame's invocation (see begin_suspend).
#define ABT_AWAIT(...)                                                                             \
    ::abt::detail::make_await_point<::abt::detail::await_where<                                      \
        decltype(abt_detail_frame_once_per_block(::abt::detail::enclosing_query{})), __LINE__,       \
        ::abt::detail::guard_in_function(abt_detail_frame_once_per_block(::abt::detail::enclosing_query{}), \
                                         ABT_DETAIL_PRETTY_FUNCTION)>>(__VA_ARGS__)
#else
#define ABT_AWAIT(...) (__VA_ARGS__)
#endif

// ===========================================================================
// Implementation
// ===========================================================================
namespace abt {
inline namespace ABT_DETAIL_ABI {
namespace detail {

// ---------------------------------------------------------------------------
// DESIGN
//
// Frames. Every ABT_FRAMED guard, every persistent_frame and the registry's
// task list head is a `frame`: a pointer to its static site record, a logical
// `parent`, and intrusive child/sibling links. A frame with no parent is a
// root, i.e. a task; roots are the children of `registry::tasks`.
//
// Activations. An activation is one uninterrupted run of a coroutine body (or
// a callback, or a plain call chain) on one thread. Its outermost frame is its
// *top*; frames nested inside it in the same function invocation share its
// fate. Nesting is exact, never a heuristic: each ABT_FRAMED site knows at
// compile time the site of the ABT_FRAMED whose block encloses it (see
// ABT_FRAMED), and a frame is nested in its parent iff the parent's site is
// that enclosing site and both are in the same function (same
// __PRETTY_FUNCTION__). Why exact: C++ forbids jumping into a block past the
// initialization of a guard declared in it, so in every invocation the
// enclosing guard was made first, is still alive, and is the innermost
// running frame when the nested one is made (anything made after it has
// ended, or suspended and restored `current`). A guard with no enclosing
// guard is always a top. Recursion (a parent from another invocation) thus
// never looks nested; a lambda's guards, whose enclosing site may be a guard
// of the function around the lambda, have another function id (a nested
// lambda's __PRETTY_FUNCTION__ names its enclosing function, so it differs).
// Sites and function ids are compared by address, then by contents, since a
// translation unit or shared library may hold its own copy of an inline
// function's records. ABT_AWAIT uses the same facts: it carries the site of
// the ABT_FRAMED around it, and suspends the innermost running frame only if
// that frame is that very guard in the same function; otherwise it is a
// pass-through. The top's `resumer` is the frame that was running on the
// thread before the activation began, restored when it suspends or ends.
//
// Thread state. `this_thread.current` is null or the innermost frame that is
// running on this thread right now (INVARIANT 1: it never points to a
// suspended or destroyed frame). It is read and written by its own thread
// only, so entering a nested frame takes plain stores, no lock and no atomic.
// Hot paths: a frame nested in a running frame stores five fields (site,
// parent, resumer, listed, is_top) and `current`, and reads them back when it
// ends; the rest of a frame is written only when it is listed
// (init_listed_fields) and read only after. These paths are inlined; every
// other case calls an out-of-line slow path (ABT_DETAIL_NOINLINE).
//
// Published frames. A frame starts unpublished: only its own thread knows it,
// through `current` and parent links. It is *published* (linked into its
// parent's child list, under the registry lock) when another thread might
// need it: when its activation suspends, when a dump is taken from inside it,
// or at once for persistent frames (always tasks of their own, unless a join
// hands them over) and children started from an awaiting frame.
// INVARIANT 2: a published frame's parent is null or published.
// INVARIANT 3: an unpublished frame is alive only within its own thread's
// activation, and its parent outlives it. So while a task is suspended its
// whole tree is published; while any of it runs, the dump shows it as
// [running] instead of a tree that may miss unpublished frames.
// Where a frame is listed is `frame::listed`: none (unpublished), tree
// (published), or thread_roots: a new task is listed at once, but only in
// its own thread's root list (`thread_state::roots`, under that thread's
// `roots_lock`), so making a task takes no lock that threads share; dumps
// read those lists (every thread that made a task is in `registry::threads`)
// and show their tasks as [running]. Publishing moves such a root into the
// tree. Lock order: the registry lock, then a thread's roots_lock.
//
// The registry lock (a spinlock) guards: the task list and every child list,
// and of published frames: parent (once published), parked, expected (a
// `tentative` flag is only ever cleared: by its owner, or under the lock);
// and the kill of another thread's hand-over entry (below). A
// persistent frame's callbacks (ABT_REENTER) take only that frame's own
// lock, which guards its entries and recorded_wait and orders its `wait`.
// Neither lock is ever held while user code runs, so nothing serializes or
// deadlocks. A dump holds the registry lock while it writes one task, so a
// published frame cannot be unlinked or freed under it: every frame
// unlinks itself under the lock before its memory goes away. Between tasks
// it lets go of the lock, keeping its place with a cursor node linked into
// the task list (a frame without a site, skipped by every walk), so no
// worker waits for a whole dump.
//
// Running or suspended: `frame::wait`, one atomic word per published frame:
// null while it runs, else the site it waits at (or `no_await_site`). Its
// own activation's thread writes it without the lock; a dump reads each
// word whole. Fast suspension: after an activation's first suspension (which
// publishes it and settles a tentative parent, under the lock), a suspension
// changes only `wait` words and this thread's entry stack, and a resumption
// only `wait` words (plus the lock in the rare case below). The structure
// of the tree cannot change while a dump holds the lock (publishing, ending
// a published frame and re-parenting all take it), and a fast suspension
// never changes which frames an activation has (a new frame is published
// first), but `wait` words keep changing on every thread. So a dump reads
// each task twice: every word under its own sequence lock (`wait_changes`,
// odd while it changes; 32 bits, so a count repeats only after 2^31 changes
// of one word), all of them, then all of them again. If both reads found the
// same word and count for every frame, each frame kept its state between its
// two reads, so all of them held at once
// in between: the tree it prints is one the task really had. A task is
// running iff some frame of its tree has a null word and is not parked; a
// task that changes under three double reads in a row is shown as running
// too. A dumping thread publishes and *parks* every frame running on it
// (following each activation's resumer, and below each ABT_WORK_ITEM /
// ABT_REENTER scope through `this_thread.scopes`) while it dumps: they are
// stable (the thread is inside the dump), so they are printed in full, a
// dump never waits for its own thread, and two dumps waiting from inside
// tasks never wait for each other.
//
// Handing over at a suspension (ABT_AWAIT). await_suspend publishes the
// activation, marks its frames suspended and records the await site, then
// pushes a *hand-over entry* on the thread's small stack of entries: a
// pointer to the awaiting frame and a serial, unique in that stack for ever
// (0: dead). The owner thread pushes, pops and kills its entries with plain
// stores and relaxed atomics, no lock. The frame records the entry and its
// serial (frame::link's hand-over record, which shares its memory with a
// tentative link's expected coroutine until the frame's first suspension);
// whoever resumes or destroys it later, on any thread, checks
// whether the entry still has that serial, and only then takes the lock and
// kills it with a compare-exchange (a resumption on another thread while
// await_suspend still runs here; otherwise the entry is long gone and no
// lock is taken). A frame is attached under an entry's target only under the
// lock and only while the entry is live, so the target cannot be resumed or
// freed meanwhile. Stacks are never freed (an ended thread's goes to a pool),
// so a stale record still points at valid memory whose serial no longer
// matches. A frame created while `current == entry.resumer` attaches under
// the top entry's frame:
//   - inline: children started from inside the inner await_suspend (a join).
//     A child's own suspension pushes above the join's entry and pops when it
//     is done, so the join's entry applies again to the next child;
//   - transfer: the coroutine that await_suspend returned (symmetric transfer
//     to a lazy child). This link is *tentative* and single-use: at the
//     child's first suspension, ABT_AWAIT compares its coroutine (frame
//     address and resume function, so a reused address does not match) with
//     the transferred one. Equal: confirmed. Different (an unframed coroutine
//     sat in between, or the frame is not that coroutine's at all): the frame
//     becomes a task of its own. A tentative link therefore exists only while
//     its frame runs, and a task with a running frame is shown as [running].
//     Another activation starting where the entry applies kills it: control
//     came back from the transfer;
//   - trampoline: inside an ABT_WORK_ITEM_OF_ONE_TASK, after await_suspend
//     returned to the framework itself (no framed code and no join below
//     it), the frames the framework starts in that work item: by the
//     contract of that macro, they continue the same task.
// A frame that site-nests in the running frame never takes an entry: it
// belongs to that frame's invocation. When the stack is full, no entry
// applies until the suspension that found it full ends (suspensions nest
// strictly on a thread): deeper frames become tasks of their own rather than
// take an outer entry. A work item hides the entries below it (`base`) and
// ends its own. A coroutine resumed at a pass-through ABT_AWAIT kills the
// transfer entries that expect it: it is a running coroutine handed control,
// not a fresh child.
// Whole-chain suspension: a framework whose coroutines run as one stack
// pumped by handlers (asio's awaitable threads) suspends all of them at once,
// at an operation, and resumes them on whichever thread completes it. Its
// adapter (async_backtrace_asio.hpp) calls suspend_running_chain when the
// operation starts, which publishes and suspends every frame of the stack
// running on the thread, down to the frame below its run (null: the work
// item's or thread's bottom; see chain runs below) and, for a join only,
// pushes an inline_start entry for the innermost one (whose resumer is that
// frame below: it is what runs after the suspension), then starts the
// operation and calls end_chain_suspend, which pops it: stacks that the start
// runs at once (a parallel group's operands) are its children, as in an
// ABT_AWAIT join.
// Other operations push none: their start may resume an unrelated stack
// inline (a notification dispatching a waiter), not start a child. It
// calls resume_running_chain on the thread that resumes the stack, before
// any of its frames runs; that kills the entry if it is still live, as
// resume_activation does. A child coroutine that the framework resumes on the
// same thread while its caller's frame is current is a call child, as usual.
// Chain runs: a chain's run may begin while a frame of other code is current
// on the thread: the coroutine that co_spawned it and started it at once, or
// a framed function that runs the event loop. That frame is not part of the
// chain and runs on once the run is over, so the run pushes a chain_run
// entry (begin_chain_run: the chain's identity, that frame as its resumer):
// a frame made while that frame is current belongs to the run and is a task
// of its own (or a join's child, for an operand started where a join hands
// over), and the chain's suspension stops at that frame and makes it current
// again (end_chain_run). Runs begin in resume_running_chain and, for
// co_spawn, in the entry point's promise (async_backtrace_asio.hpp); they end
// at the chain's suspension or when the spawned coroutine is done. A stack
// that suspends through a plain asio::use_awaitable ends its run unseen, and
// one resumed by a plain handler begins it unseen. An unseen end leaves the
// entry until a chain suspension on the thread kills it (each kills every run
// newer than its own), a new run begins at the same frame or of the same
// chain, or its resumer ends; a frame that took it meanwhile (a call made by
// the code below) is put back under its caller when its own chain suspends
// (locked_rejoin_caller). An unseen beginning leaves no entry: the chain's
// suspension then stops at the first frame that cannot be one of a
// coroutine stack's (may_belong_to_stack: a persistent frame, or a frame on
// the thread's own call stack, in a function that encloses the suspension,
// such as a framed function that runs the loop), so the code below the stack
// is never marked suspended and never made current on another thread.
//
// After the inner await_suspend returns, ABT_AWAIT never touches the
// awaiting frame or itself again (another thread may already have resumed or
// destroyed them), only its own thread's entry stack.
//
// Plain co_await (framed_promise): the promise's await_transform wraps each
// co_await in an awaiter that does what ABT_AWAIT's does, except that which
// frame it suspends is decided at run time instead of from the enclosing
// ABT_FRAMED's site: the promise (coroutine_track, written only by the code
// running the coroutine) keeps the frame that was current when the
// coroutine's code last began to run (`below`) and the frame its last
// suspension suspended (`mine`). The current frame is the coroutine's own iff
// it is not `below`, and either is `mine` or is a frame of a function of the
// awaiting function's __func__ that is not a frame on the thread's stack
// (owns_current). Its await site is the co_await's line (a default argument
// of await_transform), interned once per site as a static-lifetime record
// (the_await_sites), since a dump may read a `wait` site at any time.
//
// Diagnostics: a task's id and birth time are written when a frame becomes
// a root (become_task: a new thread root, a persistent root, or a child
// moved to the task list), under the lock of the list it joins; ids come
// from per-thread blocks of a global counter, so making a task shares no
// cache line. `wait_since` is written with `wait`, inside the same sequence
// count, so a dump reads a state and its time together. A task's name and
// tags (task_info, behind an atomic pointer) are edited by its own code
// under the lock of its root's list and freed after the root left it.
// Dumps copy each task under the lock (for_each_task_copy) and format the
// copies without it: grouping, JSON and folded stacks never hold a lock. A
// hold takes at most frames_per_hold steps: a bigger task is copied in
// pieces, the lock let go in between, and frames marked so that any change
// to their links in a pause makes the copy start that task again (see
// "Copying tasks under the lock, in bounded holds").
// Nothing on the dump side recurses (a task may be any number of frames
// deep): the copy walks the tree with its path on the heap, and the model
// (dump_entry: a task's frames as one flat array, depth first) is grouped,
// written and handed to users (abt::snapshot) by loops. The registry also
// keeps a pair of clock readings, for debuggers that read core files.
// The signal dump's handler only writes to a pipe that is never closed; the
// watchdog tells a task that runs without suspending from one that yields
// by the sum of its frames' change counts (they grow at every suspension).
//
// Why each hard case is safe:
//   - Interleaved tasks on one loop: each activation restores `current` to its
//     resumer when it suspends, so the loop sees what it had before.
//   - Resume, finish or destroy on another thread: resuming sets `current` on
//     the resuming thread only; a frame destroyed while suspended is not any
//     thread's `current` (INVARIANT 1) and unlinks itself under the lock.
//   - Children outliving parents: a published frame that ends while it has
//     children moves them to the task list (they become tasks) under the
//     lock; unpublished frames have no published children (INVARIANT 2), and
//     no unpublished child outlives its parent (INVARIANT 3). No parent
//     pointer dangles.
//   - Parallel children: frames of one task on several threads only share
//     published frames, all changed under the lock, never during user code.
//   - Exceptions: every change is undone by a destructor or a catch in
//     ABT_AWAIT; ABT_AWAIT reactivates the frame when await_suspend throws.
//     Without exceptions (ABT_DETAIL_HAS_EXCEPTIONS 0) nothing throws.
//   - Misuse: a frame that ends while it is not `current` and not suspended
//     (its coroutine suspended through a bare co_await) is reported with its
//     file:line before anything is touched, and the process aborts. So is a
//     current frame whose code has returned: each resumption records the
//     frame address of the resumed coroutine's body (frame::resumed_at), and
//     a later resumption on the same thread's stack at or above that address
//     while that frame is still current cannot have been called by it
//     (check_not_left_behind); code it calls always lies below it.
// ---------------------------------------------------------------------------

// ---- Compile-time names and depths ----------------------------------------

/// The site record of one ABT_FRAMED, ABT_AWAIT or ABT_SITE: static storage.
struct frame_site {
    location where;              // name (what, for ABT_SITE; empty for ABT_AWAIT), file, line
    const char* function_id;     // the enclosing function's __PRETTY_FUNCTION__; null for ABT_SITE, ABT_AWAIT
    const frame_site* enclosing; // ABT_FRAMED: the ABT_FRAMED whose block encloses it, in its function or
                                 // around its lambda; null if none
    // ABT_FRAMED_DYNAMIC: this record is a heap copy of the static one
    // `origin`, with a name made at run time; it lives as long as its frame.
    // Null for static records. Identity (same_site) is the origin's.
    const frame_site* origin;
    // ABT_FRAMED: the enclosing function's __func__ (unqualified: "session",
    // "operator()"), what a plain co_await's await_site names (see
    // framed_promise); null for ABT_SITE and ABT_AWAIT records.
    const char* function_short;
};

struct enclosing_query {};
/// The innermost enclosing ABT_FRAMED's site, as a type (see ABT_FRAMED).
/// Its name is the compilers' error message for a second ABT_FRAMED in one
/// block: g++ calls it a conflicting declaration of the alias, clang++ a
/// type alias redefinition, and both print this type.
template <const frame_site* Site>
struct one_ABT_FRAMED_per_block_open_braces_for_the_next {
    static constexpr const frame_site* site = Site;
    constexpr explicit one_ABT_FRAMED_per_block_open_braces_for_the_next(enclosing_query) noexcept {}
};
/// Found by argument-dependent lookup when no enclosing block has a guard.
constexpr one_ABT_FRAMED_per_block_open_braces_for_the_next<nullptr> abt_detail_frame_once_per_block(
    enclosing_query q) noexcept {
    return one_ABT_FRAMED_per_block_open_braces_for_the_next<nullptr>(q);
}

template <std::size_t N>
struct fixed_string {
    char text[N];
};

constexpr std::size_t npos = static_cast<std::size_t>(-1);

constexpr std::size_t literal_length(const char* s) {
    std::size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

constexpr bool has_at(const char* s, std::size_t end, std::size_t i, const char* word) {
    const std::size_t n = literal_length(word);
    if (i + n > end) return false;
    for (std::size_t k = 0; k < n; ++k)
        if (s[i + k] != word[k]) return false;
    return true;
}

/// Index of the `open` that matches the `close` at s[close_at], or npos.
constexpr std::size_t matching_open(const char* s, std::size_t close_at, char open, char close) {
    int level = 0;
    for (std::size_t i = close_at + 1; i-- > 0;) {
        if (s[i] == close) ++level;
        if (s[i] == open && --level == 0) return i;
    }
    return npos;
}

/// Index just past the `close` that matches the `open` at s[open_at].
constexpr std::size_t past_matching_close(const char* s, std::size_t end, std::size_t open_at, char open,
                                          char close) {
    int level = 0;
    for (std::size_t i = open_at; i < end; ++i) {
        if (s[i] == open) ++level;
        if (s[i] == close && --level == 0) return i + 1;
    }
    return end;
}

/// End of the qualified name in a pretty function signature: drops template
/// argument notes ("[with T = int]"), trailing qualifiers and the parameters.
constexpr std::size_t qualified_name_end(const char* s, std::size_t end) {
    if (end > 0 && s[end - 1] == ']') {
        const std::size_t open = matching_open(s, end - 1, '[', ']');
        if (open != npos && open > 0 && s[open - 1] == ' ') end = open - 1;
    }
    for (bool trimmed = true; trimmed;) {
        trimmed = false;
        const char* const qualifiers[] = {" const", " volatile", " mutable", " noexcept", " &&", " &"};
        for (const char* q : qualifiers) {
            const std::size_t n = literal_length(q);
            if (end >= n && has_at(s, end, end - n, q)) {
                end -= n;
                trimmed = true;
            }
        }
    }
    if (end > 0 && s[end - 1] == ')') {
        const std::size_t open = matching_open(s, end - 1, '(', ')');
        if (open != npos) end = open;
    }
    return end;
}

/// Start of the qualified name: just after the return type, i.e. after the
/// last space and then the last '*' or '&' outside any bracket ("const char
/// *f", "int X::*X::pm"), both searched only before an "operator" keyword
/// ("X::operator const char*" keeps its spaces).
constexpr std::size_t qualified_name_start(const char* s, std::size_t end) {
    std::size_t limit = end;
    int level = 0;
    for (std::size_t i = 0; i < end && limit == end; ++i) {
        const char c = s[i];
        const bool at_word_start = i == 0 || s[i - 1] == ':' || s[i - 1] == ' ' || s[i - 1] == '*' || s[i - 1] == '&';
        if (level == 0 && at_word_start && has_at(s, end, i, "operator")) limit = i;
        if (c == '(' || c == '<' || c == '[' || c == '{') ++level;
        if ((c == ')' || c == '>' || c == ']' || c == '}') && level > 0) --level;
    }
    std::size_t start = 0;
    level = 0;
    for (std::size_t i = 0; i < limit; ++i) {
        const char c = s[i];
        if (c == '(' || c == '<' || c == '[' || c == '{') ++level;
        if ((c == ')' || c == '>' || c == ']' || c == '}') && level > 0) --level;
        if (level == 0 && (c == ' ' || c == '*' || c == '&')) start = i + 1;
    }
    return start;
}

/// "void app::session::read_loop(int)" -> "app::session::read_loop"; lambdas
/// become "<lambda>" for g++ and clang++ alike. N is the room for the
/// result (see name_capacity). Takes a pointer, not an array: g++ types
/// __PRETTY_FUNCTION__ as an array of unknown bound in a generic lambda
/// inside a template.
template <std::size_t N>
constexpr fixed_string<N> clean_function_name(const char* s) {
    fixed_string<N> out{};
    const std::size_t end = qualified_name_end(s, literal_length(s));
    std::size_t o = 0;
    for (std::size_t i = qualified_name_start(s, end); i < end && o + 1 < N;) {
        if (has_at(s, end, i, "(anonymous class)::operator()") || has_at(s, end, i, "<lambda(") ||
            has_at(s, end, i, "(lambda at ")) {
            for (const char* w = "<lambda>"; *w != '\0' && o + 1 < N; ++w) out.text[o++] = *w;
            if (s[i] == '<')
                i = past_matching_close(s, end, i, '<', '>');
            else if (has_at(s, end, i, "(lambda at "))
                i = past_matching_close(s, end, i, '(', ')');
            else
                i += literal_length("(anonymous class)::operator()");
            if (has_at(s, end, i, "::operator()")) i += literal_length("::operator()");
        } else if (has_at(s, end, i, "operator()") || has_at(s, end, i, "(anonymous namespace)")) {
            const std::size_t n = s[i] == 'o' ? literal_length("operator()") : literal_length("(anonymous namespace)");
            for (std::size_t k = 0; k < n && o + 1 < N; ++k) out.text[o++] = s[i + k];
            i += n;
        } else if (has_at(s, end, i, "{anonymous}")) {  // g++'s spelling, made clang's
            for (const char* w = "(anonymous namespace)"; *w != '\0' && o + 1 < N; ++w) out.text[o++] = *w;
            i += literal_length("{anonymous}");
        } else if (s[i] == '(') {
            i = past_matching_close(s, end, i, '(', ')');  // an enclosing function's parameters
        } else {
            out.text[o++] = s[i++];
        }
    }
    if (o == 0) {  // an unusual signature (a function returning a function pointer): keep it whole
        for (; o + 1 < N && s[o] != '\0'; ++o) out.text[o] = s[o];
    }
    out.text[o] = '\0';
    return out;
}

/// Room for a frame's name: the signature or the given name, plus a few
/// "{anonymous}" -> "(anonymous namespace)" rewrites.
constexpr std::size_t name_capacity(const char* pretty, const char* given) {
    const std::size_t from_pretty = literal_length(pretty) + 32;
    const std::size_t from_given = literal_length(given);
    return (from_pretty > from_given ? from_pretty : from_given) + 1;
}

/// The given name if not empty, else the cleaned function name.
template <std::size_t N>
constexpr fixed_string<N> frame_name(const char* pretty, const char* given) {
    if (given[0] == '\0') return clean_function_name<N>(pretty);
    fixed_string<N> out{};
    for (std::size_t i = 0; i + 1 < N && given[i] != '\0'; ++i) out.text[i] = given[i];
    return out;
}

// ---- Runtime data ---------------------------------------------------------

/// Identifies a live coroutine for the tentative links of symmetric transfer:
/// its frame address and its resume function. The second word guards against
/// a frame address reused by an unrelated coroutine after the transferred one
/// ended. Every C++ coroutine ABI in use (g++, clang++, MSVC) starts a
/// coroutine frame with the resume function pointer; `handle` must be a live,
/// not yet finished coroutine (it is: the one transferred to, or the one
/// suspending).
struct coroutine_identity {
    const void* address;  // no initializers: frames set it only once listed (see frame)
    const void* resume_function;
    friend bool operator==(const coroutine_identity& a, const coroutine_identity& b) {
        return a.address == b.address && a.resume_function == b.resume_function;
    }
};

inline coroutine_identity identify_coroutine(const void* handle_address) {
    coroutine_identity id{handle_address, nullptr};
    if (handle_address != nullptr) ABT_DETAIL_MEMCPY(&id.resume_function, handle_address, sizeof id.resume_function);
    return id;
}

enum class slot_kind : unsigned char { empty, inline_start, transfer, trampoline, chain_run };

/// Memory orders as the compilers' atomic builtins take them. The header's
/// atomics are its own (atomic_cell), not <atomic>: that include alone costs
/// a translation unit 0.5 s (C++20 libstdc++ pulls its waiting machinery,
/// <bits/atomic_wait.h>), more than the 100 ms budget of the separate mode.
#if defined(__GNUC__) || defined(__clang__)
enum class order : int {
    relaxed = __ATOMIC_RELAXED,
    acquire = __ATOMIC_ACQUIRE,
    release = __ATOMIC_RELEASE,
    acq_rel = __ATOMIC_ACQ_REL,
    seq_cst = __ATOMIC_SEQ_CST
};
#else
enum class order : int { relaxed, acquire = 2, release, acq_rel, seq_cst };  // std::memory_order's values
#endif

/// An atomic variable with no initialization, so that a frame's hot path
/// does not pay for its atomic fields (C++20's std::atomic initializes them:
/// four more stores per nested frame). Loads, stores, exchange, fetch_add
/// and compare-exchange with the given memory order, on a plain object. An
/// aggregate: `atomic_cell<bool> b{false}` initializes it where that is
/// wanted (constant initialization, for the program-wide state).
template <class T>
struct atomic_cell {
    T raw;  // accessed only through the members below
#if defined(__GNUC__) || defined(__clang__)
    T load(order o) const noexcept { return __atomic_load_n(&raw, static_cast<int>(o)); }
    void store(T v, order o) noexcept { __atomic_store_n(&raw, v, static_cast<int>(o)); }
    T exchange(T v, order o) noexcept { return __atomic_exchange_n(&raw, v, static_cast<int>(o)); }
    T fetch_add(T v, order o) noexcept { return __atomic_fetch_add(&raw, v, static_cast<int>(o)); }
    bool compare_exchange_strong(T& expected, T v, order o) noexcept {
        return __atomic_compare_exchange_n(&raw, &expected, v, false, static_cast<int>(o),
                                           o == order::acq_rel   ? __ATOMIC_ACQUIRE
                                           : o == order::release ? __ATOMIC_RELAXED
                                                                 : static_cast<int>(o));
    }
#else
    // Other compilers: C++20's std::atomic_ref.
    static constexpr std::memory_order std_order(order o) { return static_cast<std::memory_order>(o); }
    T load(order o) const noexcept { return std::atomic_ref<T>(const_cast<T&>(raw)).load(std_order(o)); }
    void store(T v, order o) noexcept { std::atomic_ref<T>(raw).store(v, std_order(o)); }
    T exchange(T v, order o) noexcept { return std::atomic_ref<T>(raw).exchange(v, std_order(o)); }
    T fetch_add(T v, order o) noexcept { return std::atomic_ref<T>(raw).fetch_add(v, std_order(o)); }
    bool compare_exchange_strong(T& expected, T v, order o) noexcept {
        return std::atomic_ref<T>(raw).compare_exchange_strong(expected, v, std_order(o));
    }
#endif
};

#if defined(__GNUC__) || defined(__clang__)
#define ABT_DETAIL_FENCE(o) __atomic_thread_fence(static_cast<int>(::abt::detail::order::o))
#else
#define ABT_DETAIL_FENCE(o) std::atomic_thread_fence(static_cast<std::memory_order>(::abt::detail::order::o))
#endif

struct slot_entry;
struct task_info;

/// Where a suspended frame's hand-over entry is (see frame::link).
struct hand_over_record {
    slot_entry* owner;
    std::uint64_t serial;
};

/// A count of changes of a frame's `wait` (frame::wait_changes).
using change_count = std::uint32_t;

/// Where a frame is listed. Written by the owner thread only (under the
/// lock that guards the list it joins or leaves); the owner reads it freely.
enum class membership : unsigned char {
    none,          // unpublished: only its own thread knows it (the hot path)
    thread_roots,  // an unpublished root: a running task, in its thread's root list
    tree           // published: in the task tree, under the registry lock
};

/// A frame. The first group is written whenever a frame is made: the hot
/// path of a nested frame stores exactly those. The second group is written
/// only when the frame joins a list (init_listed_fields) and is never read
/// before: a nested frame that never suspends never pays for it.
struct frame {
#if defined(ABT_DETAIL_TEST_MOVED_FIELDS)  // make test: tools/abt_gdb.py must not depend on where fields are
    char test_padding[24];
#endif
    // ---- set when the frame is made ----
    const frame_site* site;  // never changed
    // Owner thread only until published; under the lock after (roots and
    // orphans are re-parented under the lock). Nested frames are never
    // re-parented, so their owner may read it without the lock.
    frame* parent;
    // Top of an activation: the frame that was `current` when it began. Read
    // and written by the thread that runs the activation.
    frame* resumer;
    membership listed;
    bool is_top;  // known to be an activation top (set by the owner, under the lock)

    // ---- valid once listed == tree (the sibling links: once listed != none);
    //      guarded by the lock of its list ----
    // Parent link not confirmed yet (symmetric transfer). Set when the frame
    // is attached; cleared either by its owner when it confirms the link at
    // its first suspension (no lock) or, under the lock, when a retiring
    // parent moves it to the task list. Both only clear it.
    atomic_cell<bool> tentative;
    bool parked;            // running, but its thread is inside a dump
    bool settled;           // activation tops: suspended once, tentative resolved (owner only)
    // Persistent frames: callbacks running inside it. Written under the
    // persistent_frame's own lock; dumps read it without.
    atomic_cell<unsigned> entries;
    // The mark of the dump that copies this frame's task in pieces, letting
    // go of the registry lock in between (registry::piecewise_mark; stale
    // marks are never the current one). Under the registry lock. Fills
    // padding: a frame is no bigger for it.
    mutable std::uint32_t piecewise_mark;
    // Running or suspended, in one word, so that a dump never reads half of a
    // change: null while running; otherwise the ABT_AWAIT site it waits at
    // (the innermost frame of a suspended activation), what ABT_WAITING
    // recorded (an idle persistent frame), or &no_await_site. Written by the
    // thread that suspends or resumes the activation, without the lock (see
    // DESIGN: fast suspension); persistent frames under the lock.
    atomic_cell<const frame_site*> wait;
    // Counts changes of `wait`, a sequence lock: odd while one is under way.
    // Written by whoever writes `wait`; lets a dump tell that a task stood
    // still while it read it (see taskdump: snapshots). 32 bits, 2 per
    // change: a count comes round again only after 2^31 changes, i.e. 2^30
    // suspensions and resumptions of one frame (over 10 s of nothing else),
    // far longer than the two reads it must tell apart.
    atomic_cell<change_count> wait_changes;
    // abt::awaiting_task: the task this frame's next suspension waits for
    // (awaits_task, below), valid while wait_changes == awaits_at (that
    // suspension, no later one). Written by the frame's thread under the
    // registry lock, the frame published; read by dumps under it.
    change_count awaits_at;
    // Persistent frames: ABT_WAITING's site, shown while idle (own lock).
    // Coroutine frames: the last ABT_AWAIT (or plain co_await) site it
    // suspended at, for misuse reports; its own thread only.
    const frame_site* recorded_wait;
    // One of two records, never both at once (so they share memory):
    //  - expected: a top attached tentatively (symmetric transfer), until its
    //    first suspension settles it: the coroutine transferred to;
    //  - handed: once settled, or for a frame that is no top: the hand-over
    //    entry that pointed at this frame when it suspended, and that entry's
    //    serial then (the entry is live iff its serial still is this one);
    //    owner null: none. Written when the frame suspends and read when it
    //    resumes or ends, by whichever thread runs it then (see DESIGN:
    //    hand-over entries).
    // The owner thread writes both, and settling (settle_frame) switches
    // from the first to the second; a retiring parent's locked_move clears
    // only `tentative`. So `handed` is read only where has_hand_over_record.
    union {
        coroutine_identity expected;
        hand_over_record handed;
    } link;
    // Child lists: null-terminated forward (next_sibling), and circular
    // backward: the first child's prev_sibling is the last child, so a list
    // needs no tail pointer of its own (see append_child).
    frame* first_child;
    frame* prev_sibling;
    frame* next_sibling;
    // When `wait` last became non-null (coarse_now_ns), written with it under
    // the same sequence count.
    atomic_cell<std::uint64_t> wait_since;
    std::uint64_t awaits_task;  // see awaits_at
    // The frame address of the code that resumed its activation the last
    // time (resume_activation): while that code runs, everything it calls
    // lies below it on the stack. Null: unknown. Its own thread only.
    const char* resumed_at;

    // ---- tasks (root frames) only: set by become_task, guarded like the
    //      links of the list the root is in ----
    std::uint64_t task_id;  // 0: not a task
    std::uint64_t born_ns;  // when it became a task (coarse_now_ns)
    // Name and tags (set_task_name, set_task_tag): null until the first is
    // set. Written by the task's own code under the registry lock; freed
    // when the task's root ends, after it left its list.
    atomic_cell<task_info*> info;
};

// The hot path writes five fields; a frame whose construction wrote more
// (a default member initializer, a std::atomic member in C++20) would cost
// every nested frame those stores.
static_assert(std::is_trivially_default_constructible<frame>::value,
              "frame must stay trivially default-constructible (see init_frame)");

/// `frame::wait` of a suspended frame that waits at no site of its own: the
/// outer frames of a suspended activation, an idle persistent frame.
ABT_DETAIL_PROGRAM_WIDE inline constexpr frame_site no_await_site{{"", "", 0}, nullptr, nullptr, nullptr, nullptr};

inline bool is_running(const frame* f) { return f->wait.load(order::relaxed) == nullptr; }

/// A clock's time in nanoseconds: a POSIX clock (clock_gettime), or, where
/// there is none, a std::chrono clock.
#if defined(CLOCK_MONOTONIC_COARSE)
inline std::uint64_t clock_ns(clockid_t clock) noexcept {
    timespec t;
    clock_gettime(clock, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1000000000u + static_cast<std::uint64_t>(t.tv_nsec);
}
#else
template <class Clock>
std::uint64_t clock_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}
#endif

/// Monotonic time in nanoseconds, coarse (Linux: CLOCK_MONOTONIC_COARSE, a
/// few ns to read, advancing every 1-4 ms): good for wait times and ages.
inline std::uint64_t coarse_now_ns() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    return clock_ns(CLOCK_MONOTONIC_COARSE);
#else
    return clock_ns<std::chrono::steady_clock>();
#endif
}

/// Writes f's `wait` (and, with it, since when it waits) under its sequence
/// lock. One writer at a time: the thread that runs f's activation (or holds
/// a persistent frame's lock).
/// (ThreadSanitizer models no fences, and g++ refuses them with -Wtsan:
/// under it, the new value's own stores are releases and the reads below
/// acquires, the same order in a form it sees. On x86 either form is plain
/// moves.)
inline void set_wait(frame* f, const frame_site* w, std::uint64_t since = 0) {
    const change_count n = f->wait_changes.load(order::relaxed);
    f->wait_changes.store(n + 1, order::relaxed);
#if ABT_DETAIL_TSAN
    f->wait.store(w, order::release);  // after the odd count
    if (w != nullptr) f->wait_since.store(since, order::release);
#else
    ABT_DETAIL_FENCE(release);  // odd before the new value
    f->wait.store(w, order::relaxed);
    if (w != nullptr) f->wait_since.store(since, order::relaxed);
#endif
    f->wait_changes.store(n + 2, order::release);
}

/// f's `wait` and `wait_since` with the count of changes they belong to;
/// false while a change is under way.
inline bool read_wait(const frame* f, const frame_site*& w, std::uint64_t& since, change_count& changes) {
    changes = f->wait_changes.load(order::acquire);
#if ABT_DETAIL_TSAN  // see set_wait
    w = f->wait.load(order::acquire);
    since = f->wait_since.load(order::acquire);
#else
    w = f->wait.load(order::relaxed);
    since = f->wait_since.load(order::relaxed);
    ABT_DETAIL_FENCE(acquire);  // the values before the second count
#endif
    return changes % 2 == 0 && f->wait_changes.load(order::relaxed) == changes;
}

/// A frame as it is made: unlisted, with the hot-path fields set.
ABT_DETAIL_ALWAYS_INLINE void init_frame(frame* f, const frame_site* s, frame* parent, frame* resumer) {
    f->site = s;
    f->parent = parent;
    f->resumer = resumer;
    f->listed = membership::none;
    f->is_top = false;
}

/// The fields a frame needs once it joins the task tree (its sibling links
/// are set by the list it joins).
inline void init_listed_fields(frame* f) {
    f->tentative.store(false, order::relaxed);
    f->parked = false;
    f->settled = false;
    f->entries.store(0, order::relaxed);
    f->piecewise_mark = 0;
    f->wait.store(nullptr, order::relaxed);  // nobody else knows f yet
    f->wait_changes.store(0, order::relaxed);
    f->recorded_wait = nullptr;
    f->link.handed = hand_over_record{nullptr, 0};
    f->first_child = nullptr;
    f->awaits_task = 0;
    f->awaits_at = 0;
    f->resumed_at = nullptr;
}

/// std::this_thread::yield(), out of line in the separate mode (<thread>).
ABT_DETAIL_OUT_OF_LINE void yield_thread() noexcept;

/// Tells the core that this is a spin-wait loop.
inline void cpu_relax() noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// A test-and-test-and-set lock. Critical sections are short except dumps,
/// so waiters spin briefly, then yield. It is not fair: a holder that lets
/// go and takes it again at once seldom lets a waiter in, so a dump that
/// pauses between pieces of a big task asks whether anyone waits, and if so
/// waits for that thread to take the lock first (pause_hold).
class spinlock {
public:
    void lock() noexcept { acquire(true); }
    /// lock() that leaves no waiting hint (a dump taking the lock back after
    /// a pause: its own wait must not make its next pause wait).
    void lock_quietly() noexcept { acquire(false); }
    void unlock() noexcept { locked_.store(false, order::release); }

    /// Whether a thread has waited for the lock since the last call (a hint:
    /// it may have taken it and gone since). The holder calls it.
    bool take_waiting_hint() noexcept { return waiting_.exchange(false, order::relaxed); }
    /// Right after unlock(): waits a little for another thread to take the
    /// lock: spins briefly (a waiter on another core), then yields once (one
    /// that yielded this core). It may have come and gone already.
    void wait_for_taker() const noexcept {
        for (unsigned i = 0; i < 256; ++i) {
            if (locked_.load(order::relaxed)) return;
            cpu_relax();
        }
        if (!locked_.load(order::relaxed)) yield_thread();
    }

private:
    void acquire(bool leave_hint) noexcept {
        for (unsigned spins = 0;; ++spins) {
            // acquire: pairs with unlock's release; publishes the guarded data.
            if (!locked_.exchange(true, order::acquire)) return;
            if (leave_hint) waiting_.store(true, order::relaxed);  // only when it is contended
            while (locked_.load(order::relaxed)) {
                if (++spins > 64) yield_thread();
            }
        }
    }
    atomic_cell<bool> locked_{false};
    atomic_cell<bool> waiting_{false};  // see take_waiting_hint; a hint, so relaxed
};

class lock_guard {
public:
    explicit lock_guard(spinlock& l) noexcept : lock_(l) { lock_.lock(); }
    ~lock_guard() { lock_.unlock(); }
    lock_guard(const lock_guard&) = delete;
    lock_guard& operator=(const lock_guard&) = delete;

private:
    spinlock& lock_;
};

#if !ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void yield_thread() noexcept { std::this_thread::yield(); }

/// A task's name and tags (set_task_name, set_task_tag), copied by dumps.
struct task_info {
    std::string name;
    std::vector<std::pair<std::string, std::string>> tags;  // in the order first set
};
#endif

struct thread_state;
struct thread_slots;

struct registry {
    spinlock lock;              // guards everything below and every published frame's links
    frame tasks{};              // sentinel: its children are the published roots, oldest first
    std::size_t task_count = 0; // published roots
    thread_state* threads = nullptr;  // threads whose unpublished roots dumps must show
    thread_slots* free_slots = nullptr;  // hand-over stacks of ended threads, for reuse (never freed)
    // Task ids are handed out in blocks of task_id_block, one block per
    // thread at a time (no shared cache line per task); ids are unique and
    // increase on each thread. Atomic: taken without the lock.
    atomic_cell<std::uint64_t> task_ids_handed_out{0};
    // Two clock readings taken together, coarse_now_ns() and the wall clock
    // (ns since 1970), refreshed at most once a second as threads take
    // blocks of task ids (refresh_clock_pair). Only debuggers read them: a
    // core file's times are measured in coarse_now_ns, and the pair places
    // the moment the core was written (its file's time) on that clock, so
    // that ages and waits run up to the hang (tools/abt_gdb.py). A sequence
    // lock: odd while one writer (the one whose compare-exchange made it
    // odd) writes the pair; 0: never written.
    atomic_cell<std::uint64_t> clock_sequence{0};
    atomic_cell<std::uint64_t> clock_monotonic_ns{0};
    atomic_cell<std::uint64_t> clock_wall_ns{0};
    // A dump copying one big task in pieces (see "Copying tasks under the
    // lock, in bounded holds") marks each
    // frame of it that it reaches with piecewise_mark; any change to the
    // links of a marked frame (a child added or removed, the frame itself
    // unlinked or moved) sets piecewise_disturbed, and the dump starts that
    // task again. One such dump at a time (others wait for it, between
    // pieces); 0: none. Guarded by `lock`, like the frames' marks.
    std::uint32_t piecewise_mark = 0;
    std::uint32_t last_piecewise_mark = 0;  // marks are handed out in order, never 0
    bool piecewise_disturbed = false;
};
constexpr std::uint64_t task_id_block = 32;
/// One per program: an inline variable, constant-initialized, visible to
/// every shared library.
ABT_DETAIL_PROGRAM_WIDE inline registry the_registry;

struct scope_link;
enum class work_item_kind : unsigned char { none, plain, one_task };

/// Per-thread state read on every frame event. Constant-initialized and
/// trivially destructible, so access needs no TLS guard.
struct thread_state {
    // ---- its own thread only ----
    frame* current = nullptr;     // INVARIANT 1: null or the innermost frame running here
    scope_link* scopes = nullptr; // innermost ABT_WORK_ITEM or ABT_REENTER scope on this thread
    bool slot_armed = false;      // this thread's slot may point at a frame (may be stale-true)
    work_item_kind work_item = work_item_kind::none;  // the innermost work-item scope's kind
    bool listed = false;          // in registry::threads (or about to be, under the lock)
    bool exiting = false;         // its thread_local destructors have begun: never listed again
    thread_slots* handovers = nullptr;  // its hand-over stack, from the pool on first use
    unsigned exiting_awaits = 0;    // suspensions in progress that began after `exiting` was set
    const char* stack_top = nullptr;  // the highest address of its call stack (this_thread_stack_top)
    const char* stack_low = nullptr;  // and the lowest
    bool stack_top_known = false;
    std::uint64_t next_task_id = 0;  // this thread's block of task ids: [next_task_id, task_id_end)
    std::uint64_t task_id_end = 0;

    // ---- this thread's shard of the task list: its unpublished roots ----
    // roots_lock guards `roots` (the sentinel's children and their sibling
    // links) and root_count. The owner takes it to add or remove a root (no
    // other thread ever does: an unpublished root lives and dies on its
    // thread, INVARIANT 3); dumps take it to read them. Creating a task thus
    // touches no lock shared between threads.
    spinlock roots_lock;
    frame roots{};
    std::size_t root_count = 0;

    // ---- registry::threads links, under the registry lock ----
    thread_state* prev_thread = nullptr;
    thread_state* next_thread = nullptr;
};

/// What an ABT_WORK_ITEM or ABT_REENTER scope replaced as `current`: lets a
/// dump find every frame running on its thread below such a scope. Lives in
/// the scope guard; only its own thread reads it.
struct scope_link {
    frame* saved_current;
    scope_link* outer;
    frame* entered;  // ABT_REENTER: the persistent frame it entered; null for a work item
};
ABT_DETAIL_PROGRAM_WIDE inline thread_local thread_state this_thread;

#if !ABT_DETAIL_LIGHT  // the implementation translation unit (or every one, header-only) defines it
// ---- For debuggers ------------------------------------------------------------
// tools/abt_gdb.py prints the task tree from a live process or a core file
// without running code in it. It finds `abt_debug_layout` (C language
// linkage: the same symbol name in every version and configuration) and
// reads the registry through the offsets recorded there, not through type
// information, so it keeps working when these structures change. `magic`
// and `layout_version` change only when the meaning of a field does.

#if defined(__GNUC__) || defined(__clang__)
#define ABT_DETAIL_KEEP __attribute__((used))
#else
#define ABT_DETAIL_KEEP
#endif

/// Where the registry is, and where each field a debugger reads lives
/// (byte offsets). Frames are linked as the DESIGN comment says: a list's
/// sentinel frame holds first_child; siblings follow next_sibling.
struct debug_layout {
    std::uint32_t magic;           // 0x41425431, "ABT1"
    std::uint32_t layout_version;  // 1
    std::uint32_t pointer_size;
    std::uint32_t version;         // ABT_VERSION
    const registry* the_registry;
    const frame_site* no_await_site;
    std::uint32_t registry_tasks;       // frame sentinel of the published roots
    std::uint32_t registry_threads;     // thread_state*: the first listed thread
    std::uint32_t thread_next;          // thread_state::next_thread
    std::uint32_t thread_roots;         // frame sentinel of its unpublished (running) roots
    std::uint32_t frame_site_record;    // const frame_site*
    std::uint32_t frame_first_child;    // frame*
    std::uint32_t frame_next_sibling;   // frame*
    std::uint32_t frame_wait;           // const frame_site*: null running, &no_await_site, or a site
    std::uint32_t frame_wait_since;     // std::uint64_t, coarse_now_ns
    std::uint32_t frame_task_id;        // std::uint64_t, roots only
    std::uint32_t site_function;        // const char*
    std::uint32_t site_file;            // const char*
    std::uint32_t site_line;            // std::uint32_t
    std::uint32_t site_function_id;     // const char*: null for ABT_SITE and ABT_AWAIT records
    std::uint32_t frame_born;           // std::uint64_t, roots only: coarse_now_ns when it became a task
    // Since version 0.3.0 (version >= 300):
    std::uint32_t registry_clock_sequence;  // std::uint64_t: even and non-zero when the pair is whole
    std::uint32_t registry_clock_monotonic; // std::uint64_t, coarse_now_ns
    std::uint32_t registry_clock_wall;      // std::uint64_t, ns since 1970, read with it
};

extern "C" {
/// The debugger's entry point (see debug_layout). Constant-initialized, kept
/// in every binary that includes the header, one per program.
ABT_DETAIL_PROGRAM_WIDE ABT_DETAIL_KEEP inline const debug_layout abt_debug_layout = {
    0x41425431u,
    1u,
    static_cast<std::uint32_t>(sizeof(void*)),
    static_cast<std::uint32_t>(ABT_VERSION),
    &the_registry,
    &no_await_site,
    static_cast<std::uint32_t>(offsetof(registry, tasks)),
    static_cast<std::uint32_t>(offsetof(registry, threads)),
    static_cast<std::uint32_t>(offsetof(thread_state, next_thread)),
    static_cast<std::uint32_t>(offsetof(thread_state, roots)),
    static_cast<std::uint32_t>(offsetof(frame, site)),
    static_cast<std::uint32_t>(offsetof(frame, first_child)),
    static_cast<std::uint32_t>(offsetof(frame, next_sibling)),
    static_cast<std::uint32_t>(offsetof(frame, wait)),
    static_cast<std::uint32_t>(offsetof(frame, wait_since)),
    static_cast<std::uint32_t>(offsetof(frame, task_id)),
    static_cast<std::uint32_t>(offsetof(frame_site, where) + offsetof(location, function)),
    static_cast<std::uint32_t>(offsetof(frame_site, where) + offsetof(location, file)),
    static_cast<std::uint32_t>(offsetof(frame_site, where) + offsetof(location, line)),
    static_cast<std::uint32_t>(offsetof(frame_site, function_id)),
    static_cast<std::uint32_t>(offsetof(frame, born_ns)),
    static_cast<std::uint32_t>(offsetof(registry, clock_sequence)),
    static_cast<std::uint32_t>(offsetof(registry, clock_monotonic_ns)),
    static_cast<std::uint32_t>(offsetof(registry, clock_wall_ns)),
};
}
#endif

/// One hand-over point (see DESIGN): a suspending frame offers itself as the
/// parent of the frames started next on this thread. One cache line each: an
/// entry that straddled two lines made every push a split store (case 3 of
/// the benchmarks: 16.5 instead of 11 ns per suspension), and a thread that
/// kills an entry never shares a line with the owner's next push.
struct alignas(64) slot_entry {
    // Live iff non-zero. The owner thread writes it without the lock (push,
    // pop, its own kills); any other thread only kills it, under the registry
    // lock, by a compare-exchange from the serial its target recorded. A
    // thread that uses a live entry's target holds the lock, so the target
    // cannot be resumed or destroyed meanwhile: its resumer or destroyer
    // kills the entry first, under the lock.
    atomic_cell<std::uint64_t> serial{0};
    // ---- the owner thread only ----
    frame* target = nullptr;   // the awaiting frame
    frame* resumer = nullptr;  // the entry applies while this_thread.current == resumer
    coroutine_identity expected{};  // transfer: the coroutine handed control to
    const void* chain = nullptr;    // chain_run: the stack that runs (asio: its awaitable thread)
    slot_kind kind = slot_kind::empty;
    bool in_join = false;  // chain_run: pushed over a join's inline_start for the same resumer
};

/// A thread's hand-over points, a stack: a suspension inside another's
/// await_suspend (a join starting its children inline) pushes above it and
/// pops when it is done, so the join's entry applies again to the next child.
/// Only its thread pushes and pops; other threads only kill entries (see
/// slot_entry). Stacks are allocated once and never freed: an ended thread's
/// stack goes to registry::free_slots, so a stale hand_over_record's owner
/// always points at valid memory, and since serials keep counting up in a
/// stack across its owners, a stale record never matches.
struct thread_slots {
    static constexpr unsigned capacity = 32;
    slot_entry entries[capacity];
    unsigned size = 0;
    unsigned base = 0;      // entries below belong to work items around the current one: hidden
    unsigned overflow = 0;  // suspensions in progress that found the stack full: nothing applies
    std::uint64_t last_serial = 0;
    thread_slots* next_free = nullptr;  // in registry::free_slots, under the registry lock
};

/// The fix for every suspension that bypassed ABT_AWAIT.
/// Set when a translation unit includes the asio adapter: misuse reports
/// then give asio's fix too.
ABT_DETAIL_PROGRAM_WIDE inline atomic_cell<bool> asio_adapter_in_use{false};

[[noreturn]] ABT_DETAIL_OUT_OF_LINE void report_misuse(const frame* f, const char* what, const char* fix);
[[noreturn]] ABT_DETAIL_OUT_OF_LINE void report_bypassed_await(const frame* f, const char* what);
#if ABT_DETAIL_LIGHT  // defined below otherwise, where they were always (g++ wants noinline on the definition)
void warn_active_at_thread_exit(const frame* f);
const char* this_thread_stack_top();
#endif
ABT_DETAIL_OUT_OF_LINE void delete_task_info(task_info* info);

#if !ABT_DETAIL_LIGHT
[[noreturn]] ABT_DETAIL_OUT_OF_LINE void report_misuse(const frame* f, const char* what, const char* fix) {
    std::fprintf(stderr,
                 "async_backtrace: error: frame '%s' at %s:%u %s.\n"
                 "async_backtrace: fix: %s\n",
                 f->site->where.function, f->site->where.file, static_cast<unsigned>(f->site->where.line), what,
                 fix);
    std::fflush(stderr);
    std::abort();
}

/// A frame of a coroutine that suspended through a co_await that bypassed
/// ABT_AWAIT: says where that co_await is, as far as the header knows (after
/// the last ABT_AWAIT the frame passed, see frame::recorded_wait, or after
/// the frame's own line), and how to fix it and find the others.
[[noreturn]] ABT_DETAIL_OUT_OF_LINE void report_bypassed_await(const frame* f, const char* what) {
    const bool coroutine_frame = f->site->function_id != nullptr;
    const frame_site* last = coroutine_frame && f->listed == membership::tree ? f->recorded_wait : nullptr;
    std::fprintf(stderr,
                 "async_backtrace: error: frame '%s' at %s:%u %s.\n",
                 f->site->where.function, f->site->where.file, static_cast<unsigned>(f->site->where.line), what);
    if (last != nullptr)
        std::fprintf(stderr,
                     "async_backtrace: the co_await that bypassed ABT_AWAIT is in '%s' after its last ABT_AWAIT, "
                     "at %s:%u.\n",
                     f->site->where.function, last->where.file, static_cast<unsigned>(last->where.line));
    else if (coroutine_frame)
        std::fprintf(stderr,
                     "async_backtrace: the co_await that bypassed ABT_AWAIT is in '%s' after %s:%u (it passed "
                     "no ABT_AWAIT before).\n",
                     f->site->where.function, f->site->where.file, static_cast<unsigned>(f->site->where.line));
    std::fprintf(stderr,
                 "async_backtrace: fix: write co_await ABT_AWAIT(expr), or derive the task's promise from "
                 "abt::framed_promise (then a plain co_await is one)%s.\n"
                 "async_backtrace: tools/abt-lint lists every co_await that bypasses ABT_AWAIT in framed code.\n",
                 asio_adapter_in_use.load(order::relaxed)
                     ? "; in asio coroutines, pass the completion token ABT_USE_AWAITABLE and use "
                       "abt::asio_support::awaitable_operators (async_backtrace_asio.hpp)"
                     : "");
    std::fflush(stderr);
    std::abort();
}

ABT_DETAIL_OUT_OF_LINE void delete_task_info(task_info* info) { delete info; }
#endif  // !ABT_DETAIL_LIGHT

// ---- Operations under the registry lock (names start with locked_) --------

// Child lists: `head`'s children, linked through their sibling pointers:
// next_sibling ends with null, prev_sibling is circular (the first child's
// is the last child). The caller holds the lock that guards `head`'s list.
#if !ABT_DETAIL_LIGHT
inline void append_child(frame* head, frame* f) {
    frame* first = head->first_child;
    f->next_sibling = nullptr;
    if (first == nullptr) {
        f->prev_sibling = f;
        head->first_child = f;
        return;
    }
    frame* last = first->prev_sibling;
    f->prev_sibling = last;
    last->next_sibling = f;
    first->prev_sibling = f;
}

/// Puts `f` into `head`'s list right after `after`, one of its children.
inline void insert_child_after(frame* head, frame* after, frame* f) {
    f->prev_sibling = after;
    f->next_sibling = after->next_sibling;
    if (after->next_sibling != nullptr)
        after->next_sibling->prev_sibling = f;
    else
        head->first_child->prev_sibling = f;  // the new last child
    after->next_sibling = f;
}

inline void remove_child(frame* head, frame* f) {
    frame* first = head->first_child;
    frame* const prev = f->prev_sibling;  // the last child, if f is the first
    frame* const next = f->next_sibling;
    if (f == first)
        head->first_child = next;
    else
        prev->next_sibling = next;
    if (next != nullptr)
        next->prev_sibling = prev;
    else if (f != first)
        first->prev_sibling = prev;  // f was the last child
    f->prev_sibling = f->next_sibling = nullptr;
}
#endif

inline frame* list_head_of(frame* parent) { return parent != nullptr ? parent : &the_registry.tasks; }

/// The links of f (its children, or f in its parent's list) are about to
/// change: a dump that copies f's task in pieces must start it again. (The
/// task list's sentinel is never marked: its links are the tasks'.)
#if !ABT_DETAIL_LIGHT
inline void locked_note_link_change(const frame* f) {
    registry& r = the_registry;
    if (r.piecewise_mark != 0 && f->piecewise_mark == r.piecewise_mark) r.piecewise_disturbed = true;
}
#endif

#if !ABT_DETAIL_LIGHT
inline void locked_link(frame* f, frame* parent) {
    if (parent != nullptr) locked_note_link_change(parent);
    f->parent = parent;
    append_child(list_head_of(parent), f);
    if (parent == nullptr) ++the_registry.task_count;
}
#endif

#if !ABT_DETAIL_LIGHT
inline void locked_unlink(frame* f) {
    locked_note_link_change(f);
    if (f->parent != nullptr) locked_note_link_change(f->parent);
    remove_child(list_head_of(f->parent), f);
    if (f->parent == nullptr) --the_registry.task_count;
}
#endif

// ---- This thread's roots (its shard of the task list) -----------------------

/// Unlists the thread when its thread_local objects are destroyed.
struct thread_exit_hook {
    ~thread_exit_hook();
};

/// A thread ends with a frame still active on it. Frames are scoped, so its
/// coroutine suspended through a co_await that bypassed ABT_AWAIT, or the
/// thread ends from inside it (exit, pthread_exit). Said, not aborted: the
/// thread is ending anyway.
#if !ABT_DETAIL_LIGHT
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void warn_active_at_thread_exit(const frame* f) {
    std::fprintf(stderr,
                 "async_backtrace: warning: a thread ends while frame '%s' at %s:%u is active on it: its coroutine "
                 "suspended through a co_await that bypassed ABT_AWAIT (tools/abt-lint finds those), or the "
                 "thread ends from inside it (exit, pthread_exit).\n",
                 f->site->where.function, f->site->where.file, static_cast<unsigned>(f->site->where.line));
    std::fflush(stderr);
}
#endif

/// Lists this thread in registry::threads, so that dumps see its running
/// tasks. Once per thread, before its first root; never during its exit
/// (roots made by thread_local destructors stay unlisted: see README Limits).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void list_this_thread(thread_state& ts);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void list_this_thread(thread_state& ts) {
    if (ts.exiting) return;
    static thread_local thread_exit_hook hook;  // constructed here, on first use
    (void)&hook;
    lock_guard guard(the_registry.lock);
    ts.prev_thread = nullptr;
    ts.next_thread = the_registry.threads;
    if (ts.next_thread != nullptr) ts.next_thread->prev_thread = &ts;
    the_registry.threads = &ts;
    ts.listed = true;
}
#endif

inline void give_back_slots(thread_state& ts);

#if !ABT_DETAIL_LIGHT
inline thread_exit_hook::~thread_exit_hook() {
    thread_state& ts = this_thread;
    if (ts.current != nullptr) warn_active_at_thread_exit(ts.current);
    ts.exiting = true;
    give_back_slots(ts);
    if (!ts.listed) return;
    lock_guard guard(the_registry.lock);
    (ts.prev_thread != nullptr ? ts.prev_thread->next_thread : the_registry.threads) = ts.next_thread;
    if (ts.next_thread != nullptr) ts.next_thread->prev_thread = ts.prev_thread;
    ts.listed = false;
}
#endif

#if !ABT_DETAIL_LIGHT
/// The wall clock, ns since 1970, read as coarse_now_ns is (so that the
/// two of a clock pair tick together).
inline std::uint64_t wall_now_ns() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    return clock_ns(CLOCK_REALTIME_COARSE);
#else
    return clock_ns<std::chrono::system_clock>();
#endif
}

/// Takes a new pair of clock readings (see registry::clock_sequence) when
/// there is none yet or it is a second old, unless another thread is at it.
ABT_DETAIL_NOINLINE inline void refresh_clock_pair() {
    registry& r = the_registry;
    const std::uint64_t now = coarse_now_ns();
    std::uint64_t sequence = r.clock_sequence.load(order::relaxed);
    if ((sequence & 1) != 0) return;  // being written
    if (sequence != 0 && now - r.clock_monotonic_ns.load(order::relaxed) < 1000000000u) return;
    if (!r.clock_sequence.compare_exchange_strong(sequence, sequence + 1, order::acquire)) return;
    r.clock_monotonic_ns.store(now, order::relaxed);
    r.clock_wall_ns.store(wall_now_ns(), order::relaxed);
    r.clock_sequence.store(sequence + 2, order::release);
}

/// The next task id of this thread's block (see registry::task_ids_handed_out).
/// A new block (every task_id_block tasks) refreshes the clock pair.
inline std::uint64_t new_task_id() {
    thread_state& ts = this_thread;
    if (ts.next_task_id == ts.task_id_end) {
        ts.next_task_id = the_registry.task_ids_handed_out.fetch_add(task_id_block, order::relaxed) + 1;
        ts.task_id_end = ts.next_task_id + task_id_block;
        refresh_clock_pair();
    }
    return ts.next_task_id++;
}
#endif

/// f becomes a task (a root): a new id, born now, no name. The caller holds
/// the lock of the list f joins as a root, or f is not in one yet.
#if !ABT_DETAIL_LIGHT
inline void become_task(frame* f) {
    f->task_id = new_task_id();
    f->born_ns = coarse_now_ns();
    f->info.store(nullptr, order::relaxed);
}
#endif

/// A task's root ended and left its list (no dump can reach it): its name
/// and tags go.
#if !ABT_DETAIL_LIGHT
inline void forget_task_info(frame* f) {
    if (f->parent == nullptr) {
        if (task_info* info = f->info.load(order::relaxed)) delete_task_info(info);
    }
}
#endif

/// A new root that nobody else can know yet: listed in this thread's roots
/// only, under this thread's own lock. May be called with the registry lock
/// held (lock order: registry, then a thread's roots_lock).
#if !ABT_DETAIL_LIGHT
inline void list_as_thread_root(frame* f) {
    thread_state& ts = this_thread;
    f->is_top = true;
    become_task(f);
    {
        lock_guard guard(ts.roots_lock);
        append_child(&ts.roots, f);
        ++ts.root_count;
    }
    f->listed = membership::thread_roots;
}
#endif

#if !ABT_DETAIL_LIGHT
inline void unlist_thread_root(frame* f) {
    thread_state& ts = this_thread;
    lock_guard guard(ts.roots_lock);
    remove_child(&ts.roots, f);
    --ts.root_count;
}
#endif

/// Publishes f: links it into the task tree under `parent` (null: a task).
/// A root that was a thread root keeps its task id, age and name.
#if !ABT_DETAIL_LIGHT
inline void locked_list_in_tree(frame* f, frame* parent) {
    const bool was_task = f->listed == membership::thread_roots;
    if (was_task) unlist_thread_root(f);
    init_listed_fields(f);
    if (parent == nullptr && !was_task) become_task(f);
    f->listed = membership::tree;
    locked_link(f, parent);
}
#endif

/// Moves f (and its subtree) under new_parent, or to the task list.
#if !ABT_DETAIL_LIGHT
inline void locked_move(frame* f, frame* new_parent) {
    const bool becomes_task = new_parent == nullptr && f->parent != nullptr;
    locked_unlink(f);
    f->tentative.store(false, order::relaxed);
    if (becomes_task) become_task(f);
    locked_link(f, new_parent);
}
#endif

/// A task of its own that turns out to be a call from the frame it resumes
/// to (see suspend_running_chain): it joins that frame as a child; its name
/// and tags, which only tasks have, go.
inline void locked_publish_chain(frame* f);
#if !ABT_DETAIL_LIGHT
inline void locked_rejoin_caller(frame* f) {
    locked_publish_chain(f->resumer);
    if (task_info* info = f->info.load(order::relaxed)) delete_task_info(info);
    f->info.store(nullptr, order::relaxed);
    f->task_id = 0;
    locked_move(f, f->resumer);
}
#endif

/// Links f and its unpublished ancestors (INVARIANT 2). Only f's own thread
/// calls this, for its own running chain.
#if !ABT_DETAIL_LIGHT
inline void locked_publish_chain(frame* f) {
    // Every unlisted frame's fields first: linking a frame into its parent
    // must not come before the parent's (empty) child list is initialized.
    for (frame* g = f; g != nullptr && g->listed != membership::tree; g = g->parent) init_listed_fields(g);
    for (; f != nullptr && f->listed != membership::tree; f = f->parent) {
        if (f->listed == membership::thread_roots) unlist_thread_root(f);
        f->listed = membership::tree;
        locked_link(f, f->parent);
    }
}
#endif

// ---- Hand-over entries --------------------------------------------------------
// Functions on this thread's own stack need no lock (see slot_entry);
// locked_applicable_entry and the kills of another thread's entries do.

#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE thread_slots& acquire_slots(thread_state& ts);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE thread_slots& acquire_slots(thread_state& ts) {
    if (!ts.listed) list_this_thread(ts);  // its exit hook gives the stack back
    thread_slots* handovers = nullptr;
    {
        lock_guard guard(the_registry.lock);
        handovers = the_registry.free_slots;
        if (handovers != nullptr) the_registry.free_slots = handovers->next_free;
    }
    if (handovers == nullptr) handovers = new thread_slots;  // never freed: see thread_slots
    ts.handovers = handovers;
    return *handovers;
}
#endif

ABT_DETAIL_ALWAYS_INLINE thread_slots& this_thread_slots() {
    thread_state& ts = this_thread;
    return ts.handovers != nullptr ? *ts.handovers : acquire_slots(ts);
}

inline bool is_live(const slot_entry& e) { return e.serial.load(order::relaxed) != 0; }

/// The owner kills one of its entries.
inline void kill_own(slot_entry& e) {
    e.serial.store(0, order::relaxed);
    e.kind = slot_kind::empty;
}

/// At thread exit: kills the stack's entries and gives it to the pool.
#if !ABT_DETAIL_LIGHT
inline void give_back_slots(thread_state& ts) {
    thread_slots* handovers = ts.handovers;
    if (handovers == nullptr) return;
    for (slot_entry& e : handovers->entries) kill_own(e);
    handovers->size = handovers->base = handovers->overflow = 0;
    ts.handovers = nullptr;
    ts.slot_armed = false;
    lock_guard guard(the_registry.lock);
    handovers->next_free = the_registry.free_slots;
    the_registry.free_slots = handovers;
}
#endif

/// During its thread's exit (after the hook gave the stack back), a thread
/// that suspends takes a stack again; it gives it back, killing what is left
/// on it, as soon as it is idle: no frame running on it and no suspension in
/// progress (whose end would look for its entry on this stack). So no stack
/// is lost per thread; what is lost is only attribution across that point
/// (a transfer entry killed there makes its child a task of its own).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void give_back_if_idle_while_exiting(thread_state& ts);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void give_back_if_idle_while_exiting(thread_state& ts) {
    if (ts.handovers != nullptr && ts.exiting_awaits == 0 && ts.current == nullptr) give_back_slots(ts);
}
#endif

/// Drops dead entries from the top of this thread's stack (not below the
/// current work item's base: those belong to the code around it).
inline void pop_dead(thread_slots& handovers) {
    while (handovers.size > handovers.base && !is_live(handovers.entries[handovers.size - 1])) --handovers.size;
    if (handovers.size == 0) this_thread.slot_armed = false;
}

inline void pop_to(thread_slots& handovers, unsigned size) {
    while (handovers.size > size) kill_own(handovers.entries[--handovers.size]);
    pop_dead(handovers);
}

/// Kills this thread's entries from index `first` up that match `dead`,
/// then pops the dead ones.
template <class Predicate>
void kill_own_entries_if(thread_slots& handovers, unsigned first, Predicate dead) {
    for (unsigned i = first; i < handovers.size; ++i)
        if (dead(handovers.entries[i])) kill_own(handovers.entries[i]);
    pop_dead(handovers);
}

/// Another activation starts on this thread where `resumer` ran: control came
/// back from any transfer that `resumer` was waiting on, which therefore can
/// no longer hand over to its coroutine.
inline void kill_transfers_from(frame* resumer) {
    thread_slots& handovers = this_thread_slots();
    kill_own_entries_if(handovers, handovers.base, [resumer](const slot_entry& e) {
        return e.kind == slot_kind::transfer && e.resumer == resumer;
    });
}

/// The live entry on top of this thread's stack, if it applies to `cur`.
/// Under the lock, so its target stays alive while the caller uses it.
#if !ABT_DETAIL_LIGHT
inline slot_entry* locked_applicable_entry(frame* cur) {
    if (!this_thread.slot_armed) return nullptr;
    thread_slots& handovers = this_thread_slots();
    pop_dead(handovers);
    if (handovers.size <= handovers.base || handovers.overflow != 0) return nullptr;
    slot_entry* e = &handovers.entries[handovers.size - 1];
    return e->resumer == cur ? e : nullptr;
}
#endif

/// Pushes an inline_start entry for the suspending frame `target` (still
/// owned by this thread); returns its serial, or 0 when the stack is full.
/// Then no entry applies until that suspension's end_suspend (suspensions
/// nest strictly on a thread), so frames that belong to it become tasks of
/// their own instead of taking an outer entry; the outer entries survive for
/// their own later children.
/// Pushes a live entry of `kind` that applies while `resumer` is current,
/// with `serial` (the stack's next: ++last_serial; the caller checked that
/// the stack has room).
ABT_DETAIL_ALWAYS_INLINE slot_entry& push_entry(thread_slots& handovers, slot_kind kind, frame* target,
                                                frame* resumer, std::uint64_t serial) {
    slot_entry& e = handovers.entries[handovers.size++];
    e.target = target;
    e.resumer = resumer;
    e.kind = kind;
    e.serial.store(serial, order::relaxed);
    this_thread.slot_armed = true;
    return e;
}

/// Pushes the entry of target's suspension (target: settled, or no top).
inline std::uint64_t push_hand_over(thread_slots& handovers, frame* target, frame* resumer) {
    pop_dead(handovers);
    if (handovers.size == thread_slots::capacity) {
        ++handovers.overflow;
        target->link.handed = hand_over_record{nullptr, 0};
        return 0;
    }
    const std::uint64_t serial = ++handovers.last_serial;
    slot_entry& e = push_entry(handovers, slot_kind::inline_start, target, resumer, serial);
    target->link.handed = hand_over_record{&e, serial};
    return serial;
}

/// Does f's `link` hold a hand-over record? Not while f is a top that never
/// suspended: it pushed no entry, and may hold `expected` (see frame::link).
inline bool has_hand_over_record(const frame* f) { return !f->is_top || f->settled; }

/// Might the entry f's suspension pushed still point at f? (Only the thread
/// that now runs or ends f asks.)
inline bool hand_over_may_be_live(const frame* f) {
    if (!has_hand_over_record(f)) return false;
    const hand_over_record& h = f->link.handed;
    return h.owner != nullptr && h.owner->serial.load(order::relaxed) == h.serial;
}

/// Forgets f's hand-over record (f resumed or ends).
inline void clear_hand_over_record(frame* f) {
    if (has_hand_over_record(f)) f->link.handed.owner = nullptr;
}

/// Kills the entry that points at f, on whatever thread's stack it is.
#if !ABT_DETAIL_LIGHT
inline void locked_release_hand_over(frame* f) {
    if (hand_over_may_be_live(f)) {
        std::uint64_t serial = f->link.handed.serial;
        f->link.handed.owner->serial.compare_exchange_strong(serial, 0, order::relaxed);
    }
    clear_hand_over_record(f);
}
#endif

/// f resumes on this thread: no entry may hand it children any more. The lock
/// only when the entry may still be live (another thread resumed f while its
/// await_suspend was still running): it waits out a use of the entry.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void release_live_hand_over(frame* f);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void release_live_hand_over(frame* f) {
    lock_guard guard(the_registry.lock);
    locked_release_hand_over(f);
}
#endif
ABT_DETAIL_ALWAYS_INLINE void release_hand_over(frame* f) {
    if (hand_over_may_be_live(f)) release_live_hand_over(f);
    clear_hand_over_record(f);
}

/// A frame that ends: its children become tasks, then it leaves its list.
#if !ABT_DETAIL_LIGHT
inline void locked_retire(frame* f) {
    while (f->first_child != nullptr) locked_move(f->first_child, nullptr);
    locked_release_hand_over(f);
    locked_unlink(f);
    forget_task_info(f);
}
#endif



/// Same enclosing function? The pointers first; the text when they differ,
/// since each translation unit or shared library may hold its own copy of an
/// inline function's __PRETTY_FUNCTION__ while its site records are merged.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE bool same_text(const char* a, const char* b);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE bool same_text(const char* a, const char* b) {
    return a != nullptr && b != nullptr && std::strcmp(a, b) == 0;
}
#endif
ABT_DETAIL_ALWAYS_INLINE bool same_function(const char* a, const char* b) { return a == b || same_text(a, b); }

/// One call site? The pointers first; the contents when they differ (a copy
/// of an inline function's records in a shared library built with hidden
/// symbols).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE bool same_site_contents(const frame_site* a, const frame_site* b);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE bool same_site_contents(const frame_site* a, const frame_site* b) {
    return a != nullptr && b != nullptr && a->where.line == b->where.line && a->enclosing == b->enclosing &&
           std::strcmp(a->where.file, b->where.file) == 0 && std::strcmp(a->where.function, b->where.function) == 0 &&
           same_function(a->function_id, b->function_id);
}
#endif
/// The static record behind a site (see frame_site::origin).
inline const frame_site* static_site(const frame_site* s) { return s->origin != nullptr ? s->origin : s; }
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE bool same_static_site(const frame_site* a, const frame_site* b);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE bool same_static_site(const frame_site* a, const frame_site* b) {
    if (a == nullptr || b == nullptr) return false;
    a = static_site(a);
    b = static_site(b);
    return a == b || same_site_contents(a, b);
}
#endif
ABT_DETAIL_ALWAYS_INLINE bool same_site(const frame_site* a, const frame_site* b) {
    return a == b || same_static_site(a, b);
}

/// True when a frame of site `child`, made while a frame of site `parent` is
/// the innermost running frame, is nested in it in one function invocation:
/// `parent` is the guard whose block encloses `child`, in the same function
/// (see DESIGN: exact).
inline bool site_nested_in(const frame_site* child, const frame_site* parent) {
    return child->enclosing != nullptr && same_site(child->enclosing, parent) &&
           same_function(parent->function_id, child->function_id);
}

inline bool nested_in_parent(const frame* f) {
    return !f->is_top && f->parent != nullptr && site_nested_in(f->site, f->parent->site);
}

inline frame* activation_top(frame* f) {
    while (nested_in_parent(f)) f = f->parent;
    return f;
}

/// activation_top of a suspended activation's innermost frame, as its
/// resumption finds it again: the innermost frame itself, a top (marked at
/// the suspension), unless an ABT_AWAIT sat in a nested block. Out of line
/// for that case: the walk's calls would make every resumption's inlined
/// code save registers.
ABT_DETAIL_NOINLINE inline frame* nested_activation_top(frame* f) { return activation_top(f); }
ABT_DETAIL_ALWAYS_INLINE frame* suspended_activation_top(frame* innermost) {
    return innermost->is_top ? innermost : nested_activation_top(innermost);
}

/// Sets `wait` of the frames of one activation: `at` on the innermost,
/// `outer` on the others up to its top. Relaxed: the words point at static
/// site records, and a dump needs each word whole, not an order among them
/// (see DESIGN: fast suspension).
inline void set_activation_wait(frame* innermost, frame* top, const frame_site* at, const frame_site* outer) {
    const std::uint64_t since = at != nullptr ? coarse_now_ns() : 0;  // one clock read per suspension
    set_wait(innermost, at, since);
    for (frame* f = innermost; f != top;) {
        f = f->parent;
        set_wait(f, outer, since);
    }
}

// ---- Chain runs (frameworks that run a whole coroutine stack: asio) ----------

/// A framework starts running the coroutine stack `chain` (an identity: asio's
/// awaitable thread) on this thread while `below`, a frame of other code, is
/// current and will run on once the run is over: the coroutine that spawned
/// the stack and started it at once, or a framed function that runs the event
/// loop. Until the run ends, a frame made while `below` is current belongs to
/// the run, not to `below`: it is a task of its own (or, where a join hands
/// its operands over at that point, the join's child), and the chain's
/// suspension stops at `below` (end_chain_run). An entry on this thread's
/// stack, as for hand-overs; nothing when `below` is null (frames made with
/// no frame current are tasks anyway). When the stack is full (32 nested
/// hand-overs and runs), nothing is pushed: the run's frames then nest under
/// `below`, and its suspension stops only where suspend_running_chain finds
/// the stack's bottom by itself (see there; README Limits).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void begin_chain_run(const void* chain, frame* below);
#else
ABT_DETAIL_OUT_OF_LINE void begin_chain_run(const void* chain, frame* below) {
    if (below == nullptr) return;
    thread_slots& handovers = this_thread_slots();
    // A run that began at `below` earlier, or of this chain, is over: one
    // whose end went unseen would otherwise stay for as long as `below` runs
    // (a framed main running the loop) and hide a join's entry below it.
    kill_own_entries_if(handovers, handovers.base, [chain, below](const slot_entry& e) {
        return e.kind == slot_kind::chain_run && (e.resumer == below || e.chain == chain);
    });
    if (handovers.size == thread_slots::capacity) return;
    const slot_entry* top = handovers.size > handovers.base ? &handovers.entries[handovers.size - 1] : nullptr;
    const bool in_join = top != nullptr && top->kind == slot_kind::inline_start && top->resumer == below;
    slot_entry& e = push_entry(handovers, slot_kind::chain_run, nullptr, below, ++handovers.last_serial);
    e.chain = chain;
    e.in_join = in_join;
}
#endif

/// The run of `chain` on this thread ends: the stack suspends as a whole, or
/// it is done. Kills its entry and every newer chain_run entry (runs that
/// began inside it are over too, whether their end was seen or not: a stack
/// that suspends through a plain asio::use_awaitable ends its run unseen).
/// Returns the frame that was current when the run began (null when there is
/// none, or the run pushed no entry: it began with no frame current).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE frame* end_chain_run(const void* chain);
#else
ABT_DETAIL_OUT_OF_LINE frame* end_chain_run(const void* chain) {
    if (!this_thread.slot_armed) return nullptr;
    thread_slots& handovers = this_thread_slots();
    unsigned first = handovers.base;
    frame* below = nullptr;
    for (unsigned i = handovers.size; i > handovers.base; --i) {
        const slot_entry& e = handovers.entries[i - 1];
        if (e.kind == slot_kind::chain_run && e.chain == chain && is_live(e)) {
            first = i - 1;
            below = e.resumer;
            break;
        }
    }
    kill_own_entries_if(handovers, first, [](const slot_entry& e) { return e.kind == slot_kind::chain_run; });
    return below;
}
#endif

/// The chain_run entry on top of this thread's stack, if it applies to the
/// frame f made while `cur` is current. This thread's stack only: no lock.
#if !ABT_DETAIL_LIGHT
inline slot_entry* applicable_chain_run(frame* cur, const frame* f) {
    if (cur == nullptr || !this_thread.slot_armed) return nullptr;
    thread_slots& handovers = this_thread_slots();
    pop_dead(handovers);
    if (handovers.size <= handovers.base || handovers.overflow != 0) return nullptr;
    slot_entry& e = handovers.entries[handovers.size - 1];
    if (e.kind != slot_kind::chain_run || e.resumer != cur || site_nested_in(f->site, cur->site)) return nullptr;
    return &e;
}
#endif

/// The join's entry right below a chain_run pushed over it (in_join), if it
/// is still live. Under the lock, like every use of an entry's target.
#if !ABT_DETAIL_LIGHT
inline slot_entry* locked_join_below(const slot_entry& run) {
    const thread_slots& handovers = *this_thread.handovers;
    const auto i = static_cast<unsigned>(&run - handovers.entries);
    if (i <= handovers.base) return nullptr;
    slot_entry& e = this_thread.handovers->entries[i - 1];
    return is_live(e) && e.kind == slot_kind::inline_start && e.resumer == run.resumer ? &e : nullptr;
}
#endif

// ---- Frame lifetime ---------------------------------------------------------

enum class attach_mode { scope, persistent };

/// Slow path of frame creation: no running frame on this thread, a slot may
/// apply, or the frame must be published at once (persistent frames, which
/// start idle and never take a tentative parent).
/// f was made by init_frame(f, site, cur, cur) with cur = this_thread.current.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void attach_frame_slow(frame* f, attach_mode mode);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void attach_frame_slow(frame* f, attach_mode mode) {
    thread_state& ts = this_thread;
    frame* cur = ts.current;
    const bool publish_now = mode == attach_mode::persistent;
    if (!ts.listed) list_this_thread(ts);
    // A frame made where a chain run began, by that run (see begin_chain_run):
    // not a child of the code around the run. Its resumer stays `cur`.
    slot_entry* const run = applicable_chain_run(cur, f);
    if (run != nullptr && !run->in_join) cur = nullptr;
    if (cur == nullptr && (run != nullptr || !ts.slot_armed) && !publish_now) {  // a new task, as most are made
        f->parent = nullptr;
        list_as_thread_root(f);
        return;
    }
    lock_guard guard(the_registry.lock);
    slot_entry* slot = run != nullptr ? locked_join_below(*run) : locked_applicable_entry(cur);
    if (run != nullptr && slot == nullptr) cur = nullptr;  // the join below has ended: a task of its own
    if (slot != nullptr && cur != nullptr && site_nested_in(f->site, cur->site))
        slot = nullptr;  // a block nested in the running frame's own invocation is never handed over
    if (publish_now && slot != nullptr && slot->kind == slot_kind::transfer) slot = nullptr;
    if (slot != nullptr) {
        f->is_top = true;
        locked_list_in_tree(f, slot->target);
        if (slot->kind == slot_kind::transfer) {  // single use; confirmed at the first suspension
            f->tentative.store(true, order::relaxed);
            f->link.expected = slot->expected;
            kill_own(*slot);
            pop_dead(this_thread_slots());
        }
    } else if (publish_now) {
        // A persistent frame is an operation that outlives the code that
        // starts it (a connection accepted in a callback that a framed main's
        // event loop runs, say): a task of its own, unless a join hands it
        // over above.
        f->is_top = true;
        locked_list_in_tree(f, nullptr);
    } else if (cur != nullptr) {
        // the running frame's child: published with it, when needed
    } else {
        f->parent = nullptr;
        list_as_thread_root(f);
    }
    if (publish_now) set_wait(f, &no_await_site, coarse_now_ns());  // idle until a callback enters it
}
#endif

#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void enter_frame_slow(frame* f);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void enter_frame_slow(frame* f) {
    attach_frame_slow(f, attach_mode::scope);
    this_thread.current = f;
}
#endif

/// A frame destroyed while it is not this thread's current frame: legal only
/// when it is suspended (a coroutine destroyed at an ABT_AWAIT, on any thread).
#if !ABT_DETAIL_LIGHT
inline void destroy_inactive_frame(frame* f) {
    {
        lock_guard guard(the_registry.lock);
        if (f->listed == membership::tree && !is_running(f)) {
            locked_retire(f);
            return;
        }
    }
    report_bypassed_await(f,
                          "ended while it was not the innermost active frame on this thread; its coroutine was "
                          "suspended or resumed by a co_await that bypassed ABT_AWAIT, or a nested frame was left "
                          "out of order");
}
#endif

/// Every frame end but the hot one: f is listed, this thread's slot may
/// refer to f as the resumer, or f is not current (see destroy_inactive_frame).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void leave_frame_slow(frame* f);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void leave_frame_slow(frame* f) {
    thread_state& ts = this_thread;
    if (ts.current != f) {
        destroy_inactive_frame(f);
        return;
    }
    ts.current = f->resumer;
    if (ts.slot_armed)  // entries that apply while f is current can never apply again
        kill_own_entries_if(this_thread_slots(), 0, [f](const slot_entry& e) { return e.resumer == f; });
    if (f->listed == membership::tree) {
        lock_guard guard(the_registry.lock);
        locked_retire(f);
    }
    if (f->listed == membership::thread_roots) {
        unlist_thread_root(f);
        forget_task_info(f);
    }
    if (ABT_DETAIL_UNLIKELY(ts.exiting)) give_back_if_idle_while_exiting(ts);
}
#endif

/// The guard behind ABT_FRAMED. The hot path (a frame nested in a running
/// frame, nothing handed over on this thread) is inlined: two loads from the
/// thread state, five stores to the frame, one store of `current`; at the end
/// three loads, two compares and one store. Everything else is out of line.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_SUSPENSION_PATH void enter_scope_frame(frame* f, const frame_site* s) noexcept;
ABT_DETAIL_SUSPENSION_PATH void leave_scope_frame(frame* f) noexcept;
#else
ABT_DETAIL_SUSPENSION_PATH void enter_scope_frame(frame* f, const frame_site* s) noexcept {
    // The thread state is read before the frame's stores: loading it after
    // them made the nested-frame benchmark bimodal (6 or 27 ns, depending on
    // where the stack and the thread-local state land).
    thread_state& ts = this_thread;
    frame* cur = ts.current;
    const bool armed = ts.slot_armed;
    init_frame(f, s, cur, cur);
    if (ABT_DETAIL_LIKELY(cur != nullptr && !armed))
        ts.current = f;
    else
        enter_frame_slow(f);
}
ABT_DETAIL_SUSPENSION_PATH void leave_scope_frame(frame* f) noexcept {
    thread_state& ts = this_thread;
    if (ABT_DETAIL_LIKELY(ts.current == f && f->listed == membership::none && !ts.slot_armed))
        ts.current = f->resumer;
    else
        leave_frame_slow(f);
}
#endif

class scope_frame {
public:
    explicit scope_frame(const frame_site* s) noexcept { enter_scope_frame(&frame_, s); }
    ~scope_frame() { leave_scope_frame(&frame_); }
    scope_frame(const scope_frame&) = delete;
    scope_frame& operator=(const scope_frame&) = delete;

private:
    frame frame_;
};

/// The guard behind ABT_FRAMED_DYNAMIC: a frame whose site is a heap copy of
/// the static one with a name made at run time (one allocation and a copy
/// of the name per frame). The copy is made first and freed last.
#if ABT_DETAIL_FULL_API  // std::string_view, std::string, std::unique_ptr
class dynamic_scope_frame {
public:
    dynamic_scope_frame(const frame_site* s, std::string_view name)
        : named_(make_named(s, name)), frame_(&named_->site) {}

private:
    struct named_site {
        frame_site site;
        std::string name;
    };
    static std::unique_ptr<named_site> make_named(const frame_site* s, std::string_view name) {
        std::unique_ptr<named_site> n(new named_site{*s, std::string(name)});
        n->site.where.function = n->name.c_str();
        n->site.origin = s;
        return n;
    }
    std::unique_ptr<named_site> named_;
    scope_frame frame_;
};
#endif

// ---- Suspension and resumption (used by ABT_AWAIT) -------------------------

/// What an awaiter's await_suspend did, kept in the awaiter for its
/// await_resume, in one word: 0, nothing (await_ready said yes, or a throw
/// undid it); the innermost frame it suspended (its activation's top is
/// found again from it: suspended_activation_top); or, when it passed
/// through, the awaiting coroutine's address with bit 0 set. Frames and coroutine frames
/// both start with a pointer, so neither address has bit 0 set.
class await_outcome {
public:
    void set_suspended(frame* innermost) noexcept { word_ = reinterpret_cast<std::uintptr_t>(innermost); }
    void set_passed(const void* coroutine) noexcept { word_ = reinterpret_cast<std::uintptr_t>(coroutine) | 1u; }
    void clear() noexcept { word_ = 0; }
    bool ready() const noexcept { return word_ == 0; }
    /// The innermost frame it suspended; null if it did not suspend one.
    frame* suspended() const noexcept { return (word_ & 1u) == 0 ? reinterpret_cast<frame*>(word_) : nullptr; }
    /// The awaiting coroutine, if it passed through; else null.
    const void* passed() const noexcept {
        return (word_ & 1u) != 0 ? reinterpret_cast<const void*>(word_ & ~std::uintptr_t{1}) : nullptr;
    }

private:
    std::uintptr_t word_ = 0;
};

/// What end_suspend needs: kept by await_suspend in locals, since the awaiter
/// may be gone once the inner await_suspend returned.
struct hand_over_ticket {
    std::uint64_t serial;  // of the entry pushed; 0: the stack was full
    const frame* resumer;  // the activation's resumer
};

/// A top's first suspension: from now on `link` holds its hand-over record
/// (see frame::link); `expected`, if it held that, was read before. Owner only.
inline void settle_frame(frame* top) {
    if (!top->settled) top->link.handed = hand_over_record{nullptr, 0};
    top->is_top = true;
    top->settled = true;
}

/// The first suspension of a published activation (its frames were listed
/// when they were handed over): settles its top without the lock, unless a
/// tentative parent turns out wrong (then locked_move, in the slow path).
/// Clearing `tentative` races only with a retiring parent's locked_move,
/// which clears it too, and moves the frame, a field the owner never touches.
inline bool settle_without_lock(frame* top, const void* handle) {
    if (top->tentative.load(order::relaxed)) {
        if (!(top->link.expected == identify_coroutine(handle))) return false;
        top->tentative.store(false, order::relaxed);  // confirmed: the coroutine transferred to
    }
    settle_frame(top);
    return true;
}

/// The first suspension of an activation, or one with frames not yet
/// published: publishes them, resolves a tentative parent, sets `wait`.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void begin_suspend_slow(frame* cur, frame* top, const frame_site* at,
                                                   const void* handle);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void begin_suspend_slow(frame* cur, frame* top, const frame_site* at,
                                                   const void* handle) {
    lock_guard guard(the_registry.lock);
    top->is_top = true;
    locked_publish_chain(cur);  // first: only listed frames have a `tentative` to read
    if (top->tentative.load(order::relaxed)) {
        if (top->link.expected == identify_coroutine(handle)) {
            top->tentative.store(false, order::relaxed);  // confirmed: the coroutine transferred to
        } else {
            // Not the coroutine its parent handed control to: an unframed
            // coroutine sat in between, or it is unrelated. Its parent
            // cannot be known: a task of its own, never a wrong child.
            locked_move(top, nullptr);
        }
    }
    settle_frame(top);
    set_activation_wait(cur, top, at, &no_await_site);
}
#endif

/// Marks the activation whose innermost running frame is `cur` (this
/// thread's current frame, known to belong to the awaiting coroutine)
/// suspended at `at`, and hands over to its resumer (see DESIGN).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_SUSPENSION_PATH void suspend_activation(frame* cur, hand_over_ticket& ticket, const frame_site* at,
                                                   const void* handle);
#else
ABT_DETAIL_SUSPENSION_PATH void suspend_activation(frame* cur, hand_over_ticket& ticket, const frame_site* at,
                                                   const void* handle) {
    thread_state& ts = this_thread;
    // First, before anything changes: the only step that can throw (a
    // thread's first suspension allocates its stack).
    thread_slots& handovers = this_thread_slots();
    // The walk reads the parents of frames that are not yet known tops only:
    // those run below f on this thread, so nobody re-parents them meanwhile.
    frame* top = activation_top(cur);
    if (ABT_DETAIL_LIKELY(cur->listed == membership::tree && (top->settled || settle_without_lock(top, handle))))
        set_activation_wait(cur, top, at, &no_await_site);  // fast: see DESIGN
    else
        begin_suspend_slow(cur, top, at, handle);
    cur->recorded_wait = at;  // the last await site it passed (report_bypassed_await); published by now
    frame* resumer = top->resumer;
    ticket.resumer = resumer;
    ticket.serial = push_hand_over(handovers, cur, resumer);
    ts.current = resumer;
    if (ABT_DETAIL_UNLIKELY(ts.exiting)) ++ts.exiting_awaits;  // see give_back_if_idle_while_exiting
}
#endif

/// Marks the running activation suspended at `at` and returns its innermost
/// frame. That frame belongs to the awaiting invocation iff it is the
/// ABT_FRAMED whose block encloses the ABT_AWAIT (`enclosing`; the ABT_AWAIT
/// is known at compile time to be in that guard's function: await_where),
/// the argument behind DESIGN's exact nesting. Otherwise (an unframed
/// coroutine's frame is current, or none is) nothing changes: null.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_SUSPENSION_PATH frame* begin_suspend(hand_over_ticket& ticket, const frame_site* at,
                                                const frame_site* enclosing, const void* handle);
#else
ABT_DETAIL_SUSPENSION_PATH frame* begin_suspend(hand_over_ticket& ticket, const frame_site* at,
                                                const frame_site* enclosing, const void* handle) {
    frame* cur = this_thread.current;
    if (cur == nullptr || !same_site(cur->site, enclosing)) return nullptr;
    suspend_activation(cur, ticket, at, handle);
    return cur;
}
#endif

enum class suspend_outcome { suspended, transferred, not_suspended };

/// Is a join's hand-over (inline_start) still open below `size`?
#if !ABT_DETAIL_LIGHT
inline bool has_live_inline_entry(const thread_slots& handovers, unsigned size) {
    for (unsigned i = handovers.base; i < size; ++i)
        if (is_live(handovers.entries[i]) && handovers.entries[i].kind == slot_kind::inline_start) return true;
    return false;
}
#endif

/// A suspension's own entry, after await_suspend returned `next_handle` to
/// run next: it now hands over to that coroutine only (see DESIGN: transfer).
inline void turn_into_transfer(slot_entry& e, const void* next_handle) {
    e.kind = slot_kind::transfer;
    e.expected = identify_coroutine(next_handle);
}

/// After the inner await_suspend returned: decides what the entry becomes.
/// This thread's stack only, so no lock; it never touches the awaiting frame,
/// which another thread may be running or destroying by now.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void end_suspend_slow(std::uint64_t serial, const frame* resumer,
                                                 suspend_outcome outcome, const void* next_handle);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void end_suspend_slow(std::uint64_t serial, const frame* resumer,
                                                 suspend_outcome outcome, const void* next_handle) {
    if (this_thread.handovers == nullptr) return;  // given back (give_back_if_idle_while_exiting): the entry went with it
    thread_slots& handovers = *this_thread.handovers;
    if (serial == 0) {  // it found the stack full (push_hand_over)
        if (handovers.overflow != 0) --handovers.overflow;
        return;
    }
    unsigned index = handovers.size;
    while (index > 0 && handovers.entries[index - 1].serial.load(order::relaxed) != serial) --index;
    if (index == 0) {  // killed meanwhile: the frame resumed or ended on another thread
        pop_dead(handovers);
        return;
    }
    pop_to(handovers, index);  // entries of suspensions nested in ours are done
    slot_entry& e = handovers.entries[index - 1];
    if (outcome == suspend_outcome::transferred) {
        turn_into_transfer(e, next_handle);
    } else if (outcome == suspend_outcome::suspended && this_thread.work_item == work_item_kind::one_task &&
               resumer == nullptr && !has_live_inline_entry(handovers, index - 1)) {
        e.kind = slot_kind::trampoline;  // control went back to the framework itself: no framed code, no join
    } else {
        pop_to(handovers, index - 1);
    }
}
#endif

/// The common end of a suspension: a plain suspension whose entry is still
/// on top of the stack, and nothing for a trampoline to hand over. Pops it.
/// `serial` and `resumer` are the suspension's (see suspension).
#if ABT_DETAIL_LIGHT
ABT_DETAIL_SUSPENSION_PATH void end_suspend(std::uint64_t serial, const frame* resumer, suspend_outcome outcome,
                                            const void* next_handle);
#else
ABT_DETAIL_SUSPENSION_PATH void end_suspend(std::uint64_t serial, const frame* resumer, suspend_outcome outcome,
                                            const void* next_handle) {
    thread_state& ts = this_thread;
    thread_slots* handovers = ts.handovers;  // null only after a give-back (give_back_if_idle_while_exiting)
    const bool on_top = handovers != nullptr && handovers->size > handovers->base &&
                        handovers->entries[handovers->size - 1].serial.load(order::relaxed) == serial &&
                        serial != 0;
    if (ABT_DETAIL_LIKELY(on_top && outcome == suspend_outcome::suspended &&
                          ts.work_item != work_item_kind::one_task)) {
        kill_own(handovers->entries[--handovers->size]);
        pop_dead(*handovers);
    } else if (on_top && outcome == suspend_outcome::transferred) {
        turn_into_transfer(handovers->entries[handovers->size - 1], next_handle);
    } else {
        end_suspend_slow(serial, resumer, outcome, next_handle);
    }
    if (ABT_DETAIL_UNLIKELY(ts.exiting)) {
        if (ts.exiting_awaits != 0) --ts.exiting_awaits;
        give_back_if_idle_while_exiting(ts);
    }
}
#endif

/// A coroutine resumes at a pass-through ABT_AWAIT (no frame of its own there).
/// If another frame handed control to it by symmetric transfer, it is an
/// already running coroutine, not a fresh child: the frames it makes next
/// must not take that transfer's entry.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void forget_transfers_to_slow(const void* handle);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void forget_transfers_to_slow(const void* handle) {
    thread_slots& handovers = this_thread_slots();
    kill_own_entries_if(handovers, handovers.base, [handle](const slot_entry& e) {
        return e.kind == slot_kind::transfer && e.expected.address == handle;
    });
}
#endif
inline void forget_transfers_to(const void* handle) {
    if (this_thread.slot_armed) forget_transfers_to_slow(handle);
}

inline void check_not_left_behind(const frame* current, const char* here);

/// The activation runs again, on this thread, in the coroutine body whose
/// call frame is at `here` (ABT_DETAIL_FRAME_ADDRESS in the always inlined
/// await_resume; null: unknown). The lock only if its hand-over entry may
/// still be live (see release_hand_over); otherwise plain stores and the
/// `wait` words.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_SUSPENSION_PATH void resume_activation(frame* innermost, const char* here);
#else
ABT_DETAIL_SUSPENSION_PATH void resume_activation(frame* innermost, const char* here) {
    thread_state& ts = this_thread;
    if (ts.current != nullptr) check_not_left_behind(ts.current, here);
    release_hand_over(innermost);
    if (ts.slot_armed) kill_transfers_from(ts.current);
    // The same top as at the suspension: it was marked is_top then, and the
    // frames nested in it are never re-parented.
    frame* top = suspended_activation_top(innermost);
    set_activation_wait(innermost, top, nullptr, nullptr);
    top->resumer = ts.current;
    innermost->resumed_at = here;
    ts.current = innermost;
}
#endif

// ---- Whole-chain suspension (frameworks that suspend a whole stack) ---------

/// The frames of one coroutine stack running on this thread, from the
/// innermost to the outermost, as a framework that suspends its whole stack at
/// once sees them (asio: see async_backtrace_asio.hpp). The outermost one's
/// resumer is the frame below the stack's run (see begin_chain_run), or null.
struct chain_suspension {
    frame* innermost = nullptr;
    frame* outermost = nullptr;
    const void* chain = nullptr;  // the stack's identity (asio: its awaitable thread)
    bool hands_over = false;      // an entry was pushed for the operation's start
    std::uint64_t serial = 0;     // its serial (0: the stack was full)
};

/// The highest address of this thread's call stack, once per thread (null:
/// unknown on this platform).
#if !ABT_DETAIL_LIGHT
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE const char* this_thread_stack_top() {
    thread_state& ts = this_thread;
    if (!ts.stack_top_known) {
        ts.stack_top_known = true;
#if ABT_DETAIL_HAS_STACK_BOUNDS
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void* low = nullptr;
            std::size_t size = 0;
            if (pthread_attr_getstack(&attr, &low, &size) == 0) {
                ts.stack_low = static_cast<const char*>(low);
                ts.stack_top = ts.stack_low + size;
            }
            pthread_attr_destroy(&attr);
        }
#endif
    }
    return ts.stack_top;
}
#endif

/// A coroutine resumes here (`here`: its body's frame address) while
/// `current`, a frame resumed earlier on this thread, is current: legal when
/// current's code runs and resumed this one inline (an event's set()), so
/// that current's code lies above on the stack. If the frame address of
/// current's code is at or below `here` on this thread's stack, that code
/// has returned: current's coroutine suspended through a co_await that
/// bypassed ABT_AWAIT and left its frame active, and the frames this thread
/// makes from now on would be shown under it. Reported, then abort.
/// (Frames never resumed by resume_activation, and stacks other than the
/// thread's own, such as fibers', are not judged.)
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void check_left_behind_slow(const frame* current, const char* here);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE void check_left_behind_slow(const frame* current, const char* here) {
    const char* const top = this_thread_stack_top();
    const char* const low = this_thread.stack_low;
    const char* const at = current->resumed_at;
    const auto on_stack = [&](const char* p) { return p >= low && p < top; };
    if (top != nullptr && here != nullptr && on_stack(here) && on_stack(at) && at <= here)
        report_bypassed_await(current,
                              "was still active on this thread when another coroutine resumed here, though its "
                              "code was no longer running: its coroutine suspended through a co_await that "
                              "bypassed ABT_AWAIT");
}
#endif
inline void check_not_left_behind(const frame* current, const char* here) {
    if (current->listed == membership::tree && current->resumed_at != nullptr && current->site->function_id != nullptr)
        check_left_behind_slow(current, here);
}

/// Can f be a frame of the coroutine stack that suspends here? Not a
/// persistent frame (an operation's, re-entered by a callback), and not one
/// that lives on this thread's call stack above `sp`, in a function that
/// encloses this suspension (a framed function that runs the event loop):
/// a coroutine's frames that live across a suspension live in its
/// coroutine frame. (Where the thread's stack bounds are unknown, only the
/// first test applies.)
#if !ABT_DETAIL_LIGHT
inline bool may_belong_to_stack(const frame* f, const char* sp, const char* stack_top) {
    if (f->site->function_id == nullptr) return false;
    const char* at = reinterpret_cast<const char*>(f);
    return !(at > sp && at < stack_top);
}
#endif

/// Marks every frame of the stack `chain` running on this thread suspended,
/// the innermost at `at`, and makes current what was current when the
/// stack's run began: null, or the code below it (end_chain_run; or, for a
/// run that began unseen, e.g. resumed by a plain use_awaitable handler that
/// a framed loop runner invoked, the first frame that cannot be the stack's:
/// may_belong_to_stack). Empty when no frame of the stack runs, as far as
/// these tell (a framed coroutine that called a framed coroutine on the heap
/// in a run that began unseen cannot be told from its own stack's frames). Under the lock unless every frame was settled
/// by an earlier suspension: each frame becomes the top of its own run (its
/// resumer is kept, not inferred); a tentative parent cannot be confirmed
/// here, so it is dropped; and a task of its own in the middle of the stack
/// (a frame that took the entry of a run whose end went unseen) is put back
/// under the frame it was called from.
/// With `hand_over_children` (a join), pushes an inline_start entry for the
/// innermost frame, as ABT_AWAIT does: the stacks that the operation's start
/// runs at once (a parallel group's operands) become its children. Only for
/// joins: another operation's start may resume an unrelated stack inline,
/// whose new frames must not take the entry. The framework starts the
/// operation, then calls end_chain_suspend.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE chain_suspension suspend_running_chain(const frame_site* at, bool hand_over_children, const void* chain);
#else
ABT_DETAIL_OUT_OF_LINE chain_suspension suspend_running_chain(const frame_site* at, bool hand_over_children, const void* chain) {
    thread_state& ts = this_thread;
    chain_suspension c;
    c.chain = chain;
    if (ts.current == nullptr) return c;
    thread_slots& handovers = this_thread_slots();  // the one step that can throw (allocation): before anything changes
    frame* below = end_chain_run(chain);
#if ABT_DETAIL_HAS_STACK_BOUNDS
    const char* const sp = static_cast<const char*>(__builtin_frame_address(0));
#else
    const char* const sp = nullptr;
#endif
    const char* const stack_top = this_thread_stack_top();
    bool all_settled = true;  // every frame published and settled by an earlier suspension
    frame* end = ts.current;
    for (; end != nullptr && end != below && may_belong_to_stack(end, sp, stack_top); end = end->resumer)
        all_settled = all_settled && end->listed == membership::tree && end->settled;
    // The stack's frames end at `below`, or earlier at a frame that cannot be
    // the stack's; an entry left by a run that ended unseen may name a frame
    // this stack never ran above: then it runs from the bottom (null).
    below = end;
    if (ts.current == below) return c;  // no frame of this stack runs
    c.innermost = ts.current;
    const std::uint64_t since = coarse_now_ns();
    if (all_settled) {  // the fast suspension of DESIGN: only `wait` words change
        for (frame* f = c.innermost; f != below; f = f->resumer) {
            set_wait(f, f == c.innermost ? at : &no_await_site, since);
            c.outermost = f;
        }
    } else {
        lock_guard guard(the_registry.lock);
        for (frame* f = c.innermost; f != below; f = f->resumer) {
            locked_publish_chain(f);
            f->is_top = true;
            if (f->tentative.load(order::relaxed)) locked_move(f, nullptr);
            if (f->parent == nullptr && f->resumer != below) locked_rejoin_caller(f);
            settle_frame(f);
            set_wait(f, f == c.innermost ? at : &no_await_site, since);
            c.outermost = f;
        }
    }
    if (hand_over_children) {
        c.hands_over = true;
        c.serial = push_hand_over(handovers, c.innermost, below);
        if (ABT_DETAIL_UNLIKELY(ts.exiting)) ++ts.exiting_awaits;  // see give_back_if_idle_while_exiting
    }
    ts.current = below;
    return c;
}
#endif

/// The operation has started (or its start threw): the entry that
/// suspend_running_chain pushed hands over no more children. This thread's
/// stack only: the chain's frames may be running or gone on another thread
/// by now, and are not touched.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void end_chain_suspend(const chain_suspension& c);
#else
ABT_DETAIL_OUT_OF_LINE void end_chain_suspend(const chain_suspension& c) {
    if (c.hands_over) end_suspend(c.serial, nullptr, suspend_outcome::suspended, nullptr);
}
#endif

/// The chain runs again, on this thread: call it on the thread that resumes
/// the framework's stack, before any of its frames runs. What was current
/// here stays below the run (begin_chain_run): a framed function that runs
/// the event loop keeps running, and owns none of the stack's new frames.
#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE void resume_running_chain(const chain_suspension& c);
#else
ABT_DETAIL_OUT_OF_LINE void resume_running_chain(const chain_suspension& c) {
    thread_state& ts = this_thread;
    frame* const below = ts.current;
    // (No chain: a caller that names none; the asio adapter always does.)
    if (below != nullptr && c.chain != nullptr) begin_chain_run(c.chain, below);  // first: the only step that can throw
    if (c.innermost == nullptr) return;
    for (frame* f = c.innermost;; f = f->resumer) {
        release_hand_over(f);
        set_wait(f, nullptr);
        if (f == c.outermost) break;
    }
    c.outermost->resumer = below;
    ts.current = c.innermost;
}
#endif

// ---- ABT_AWAIT --------------------------------------------------------------
#if ABT_DETAIL_HAS_COROUTINES

template <int N>
struct priority : priority<N - 1> {};
template <>
struct priority<0> {};

template <class A>
auto get_awaiter(A&& a, priority<2>) -> decltype(static_cast<A&&>(a).operator co_await()) {
    return static_cast<A&&>(a).operator co_await();
}
template <class A>
auto get_awaiter(A&& a, priority<1>) -> decltype(operator co_await(static_cast<A&&>(a))) {
    return operator co_await(static_cast<A&&>(a));
}
template <class A>
A&& get_awaiter(A&& a, priority<0>) {
    return static_cast<A&&>(a);
}

/// Our awaiters' await_suspend. clang++ (14 at least) may move stores to
/// the coroutine frame past an await_suspend inlined into the coroutine, as
/// if the frame had not escaped (LLVM's coroutine lowering; seen here: the
/// awaiter's own record of what it did was written after the inner
/// await_suspend had handed the coroutine to another thread, a race TSan
/// reported): there, it stays a call. So it does with g++ in the separate
/// mode, where its body is mostly calls anyway (less code per co_await).
#if defined(__clang__) || (defined(__GNUC__) && defined(ABT_SEPARATE_IMPLEMENTATION))
#define ABT_DETAIL_AWAIT_SUSPEND __attribute__((noinline))
#else
#define ABT_DETAIL_AWAIT_SUSPEND
#endif

/// The inner awaiter's await_suspend, after an activation was suspended
/// (`o`, `t`): ends the suspension's hand-over as the result says (resumed
/// nothing, transferred to another coroutine, or did not suspend). `o` lives
/// in the awaiter, which may be gone once the inner await_suspend returned:
/// only the exception path, where the coroutine counts as resumed, reads it.
template <class Inner, class Handle>
auto suspend_through(Inner& inner, await_outcome& o, const hand_over_ticket& t, Handle h)
    -> decltype(inner.await_suspend(h)) {
    using result = decltype(inner.await_suspend(h));
    if constexpr (std::is_void_v<result>) {
        call_inner(inner, o, t, h);
        end_suspend(t.serial, t.resumer, suspend_outcome::suspended, nullptr);
    } else if constexpr (std::is_same_v<result, bool>) {
        const bool suspended = call_inner(inner, o, t, h);
        end_suspend(t.serial, t.resumer, suspended ? suspend_outcome::suspended : suspend_outcome::not_suspended,
                    nullptr);
        return suspended;
    } else {
        auto next = call_inner(inner, o, t, h);
        const void* to = next.address();
        end_suspend(t.serial, t.resumer,
                    to == std::noop_coroutine().address() ? suspend_outcome::suspended
                    : to == h.address()                   ? suspend_outcome::not_suspended
                                                          : suspend_outcome::transferred,
                    to);
        return next;
    }
}

template <class Inner, class Handle>
decltype(auto) call_inner(Inner& inner, await_outcome& o, const hand_over_ticket& t, Handle h) {
    // (Without exceptions await_suspend cannot throw: a plain call.)
    ABT_DETAIL_TRY {
        return inner.await_suspend(h);
    } ABT_DETAIL_CATCH_ALL {  // the coroutine counts as resumed (so the awaiter lives): make its frames active again
        end_suspend(t.serial, t.resumer, suspend_outcome::not_suspended, nullptr);
        resume_activation(o.suspended(), nullptr);  // not the coroutine's body here, but a call inside it
        o.clear();  // await_resume is not called after a throw; nothing to undo twice
        ABT_DETAIL_RETHROW;
    }
}

/// The awaiting coroutine runs again: its frames, if the await suspended
/// them, are active again; if it passed through, a transfer to the awaiting
/// coroutine is no fresh child's (forget_transfers_to).
ABT_DETAIL_ALWAYS_INLINE void resume_after_await(const await_outcome& o) {
    if (frame* innermost = o.suspended()) {
        resume_activation(innermost, ABT_DETAIL_FRAME_ADDRESS());  // inlined into the coroutine's body
    } else if (const void* coroutine = o.passed()) {
        forget_transfers_to(coroutine);
    }
}

/// What an ABT_AWAIT knows at compile time, as a type, so that its awaiter
/// keeps none of it: `Guard`, the alias type of the ABT_FRAMED whose block
/// encloses it (see ABT_FRAMED; its site is null when none does), its line,
/// and whether that guard is in the ABT_AWAIT's own function (not, in a
/// lambda inside a framed function). An ABT_AWAIT that cannot suspend a frame
/// is a pass-through, decided here once.
template <class Guard, std::uint32_t Line, bool GuardInFunction>
struct await_where {
    static constexpr const frame_site* enclosing = Guard::site;
    static constexpr std::uint32_t line = Line;
    static constexpr bool can_suspend = GuardInFunction;  // false when no guard encloses it
};

/// An ABT_AWAIT's await site: a static record, since a dump may read a `wait`
/// site at any time. The file is its guard's: the ABT_AWAIT is in its function.
template <const frame_site* Enclosing, std::uint32_t Line>
struct await_site_record {
    static constexpr frame_site at{{"", Enclosing->where.file, Line}, nullptr, nullptr, nullptr, nullptr};
};

/// Is the guard whose block encloses an ABT_AWAIT (found as in ABT_FRAMED)
/// one of the function whose __PRETTY_FUNCTION__ is `pretty`? (Overloads,
/// not a test for null: g++ does not compare a block-scope static's address
/// with null in a constant expression.)
constexpr bool guard_in_function(one_ABT_FRAMED_per_block_open_braces_for_the_next<nullptr>, const char*) {
    return false;
}
template <const frame_site* Site>
constexpr bool guard_in_function(one_ABT_FRAMED_per_block_open_braces_for_the_next<Site>, const char* pretty) {
    const char* own = Site->function_id;
    std::size_t i = 0;
    while (own[i] != '\0' && own[i] == pretty[i]) ++i;
    return own[i] == pretty[i];
}

/// The awaiter made by ABT_AWAIT. It lives in the coroutine frame for the
/// whole suspension; the inner awaiter is held by value when operator
/// co_await made one, by reference when the awaitable is its own awaiter.
/// Beyond the inner awaiter it keeps one word (await_outcome).
template <class Where, class Awaitable>
class await_point {
public:
    using awaiter_type = decltype(get_awaiter(std::declval<Awaitable>(), priority<2>{}));

    explicit await_point(Awaitable&& a) : inner_(get_awaiter(static_cast<Awaitable&&>(a), priority<2>{})) {}
    // Movable (when the inner awaiter is), for promises whose await_transform
    // takes awaitables by value; never moved once suspended.
    await_point(await_point&&) = default;
    await_point& operator=(const await_point&) = delete;

    bool await_ready() { return inner_.await_ready(); }

    template <class Promise>
    ABT_DETAIL_AWAIT_SUSPEND auto await_suspend(std::coroutine_handle<Promise> h)
        -> decltype(std::declval<awaiter_type&>().await_suspend(h)) {
        // In locals: *this may be gone once inner_ returned. (Filled field by
        // field and never copied as a struct: a 16-byte reload of fresh
        // 8-byte stores stalls store forwarding.)
        hand_over_ticket t;
        frame* innermost = nullptr;
        if constexpr (Where::can_suspend)
            innermost = begin_suspend(t, &await_site_record<Where::enclosing, Where::line>::at, Where::enclosing,
                                      h.address());
        if (innermost == nullptr) {
            outcome_.set_passed(h.address());  // a pass-through: see await_resume
            return inner_.await_suspend(h);
        }
        outcome_.set_suspended(innermost);
        return suspend_through(inner_, outcome_, t, h);
    }

    ABT_DETAIL_ALWAYS_INLINE decltype(auto) await_resume() {  // inlined: see resume_activation
        resume_after_await(outcome_);
        return inner_.await_resume();
    }

private:
    awaiter_type inner_;
    await_outcome outcome_;
};

template <class Where, class Awaitable>
await_point<Where, Awaitable> make_await_point(Awaitable&& a) {
    return await_point<Where, Awaitable>(static_cast<Awaitable&&>(a));
}

// ---- Plain co_await (framed_promise) -----------------------------------------

/// The site record of a plain co_await at file:line. A dump may read a
/// suspended frame's `wait` site at any time, so it must outlive every
/// frame: made once per (file, line), never freed (reachable from
/// the_await_sites, so no leak checker reports it).
struct interned_site {
    frame_site site;
    interned_site* next;  // the bucket's list; set before the node is published, never changed
};

/// Every interned site, by a hash of (file pointer, line). Readers walk a
/// bucket without a lock: a node is published complete, with a release
/// store of the bucket head (the acquire load pairs with it), and never
/// unlinked. `lock` serializes inserts, so a site is interned once.
struct await_site_table {
    static constexpr std::size_t buckets = 256;
    spinlock lock;
    atomic_cell<interned_site*> head[buckets]{};  // value-initialized: a constant initializer, no guard
};
ABT_DETAIL_PROGRAM_WIDE inline await_site_table the_await_sites;

inline std::size_t await_site_bucket(const char* file, std::uint32_t line) {
    const std::uintptr_t f = reinterpret_cast<std::uintptr_t>(file);
    return static_cast<std::size_t>((f >> 4) ^ (f >> 12) ^ (std::uintptr_t{line} * 40503u)) %
           await_site_table::buckets;
}

inline const frame_site* find_await_site(interned_site* n, const char* file, std::uint32_t line) {
    for (; n != nullptr; n = n->next)
        if (n->site.where.line == line && n->site.where.file == file) return &n->site;
    return nullptr;
}

#if ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE const frame_site* intern_await_site_slow(const char* file, std::uint32_t line);
#else
ABT_DETAIL_NOINLINE ABT_DETAIL_OUT_OF_LINE const frame_site* intern_await_site_slow(const char* file, std::uint32_t line) {
    atomic_cell<interned_site*>& head = the_await_sites.head[await_site_bucket(file, line)];
    lock_guard guard(the_await_sites.lock);
    interned_site* first = head.load(order::relaxed);  // inserts are ours while we hold the lock
    if (const frame_site* found = find_await_site(first, file, line)) return found;
    interned_site* n = new interned_site{{{"", file, line}, nullptr, nullptr, nullptr, nullptr}, first};
    head.store(n, order::release);  // publishes the complete node
    return &n->site;
}
#endif

/// The site record of the co_await at file:line (may allocate, once per site).
inline const frame_site* intern_await_site(const char* file, std::uint32_t line) {
    const atomic_cell<interned_site*>& head = the_await_sites.head[await_site_bucket(file, line)];
    if (const frame_site* found = find_await_site(head.load(order::acquire), file, line)) return found;
    return intern_await_site_slow(file, line);
}

/// What a framed_promise knows of its coroutine's frames, written only by
/// the code that runs the coroutine (no other thread reads it):
///  - below: the frame that was current when the coroutine's code last
///    began to run (made: the creator's; after each await: the resumer's).
///    While the coroutine has no active frame of its own, it is still
///    current. Only compared, never read through: it may be gone.
///  - mine: the frame its last suspension suspended (one of its own).
struct coroutine_track {
    frame* below;
    frame* mine;
};

/// Does p lie on this thread's call stack, above the caller's frame?
ABT_DETAIL_ALWAYS_INLINE bool on_this_thread_stack(const void* p) {
#if ABT_DETAIL_HAS_STACK_BOUNDS
    const char* sp = static_cast<const char*>(__builtin_frame_address(0));
    const char* at = static_cast<const char*>(p);
    return at > sp && at < this_thread_stack_top();
#else
    static_cast<void>(p);
    return false;
#endif
}

/// Is `s` the site of an ABT_FRAMED in the function an await_site names
/// (its __func__)? (std::source_location would not do: in a coroutine's
/// body g++ 12 names the compiler's actor function, not the coroutine.)
inline bool is_frame_of_function(const frame_site* s, const char* function) {
    return s->function_short != nullptr && same_function(s->function_short, function);  // null: ABT_SITE, ABT_AWAIT
}

/// Is `cur`, this thread's current frame at a plain co_await in the
/// coroutine `t` tracks (in function `function`, its __func__; `promise` in
/// its coroutine frame), that coroutine's own innermost frame? Not when it
/// is what was current when the coroutine's code began to run: it made no
/// frame since (or they ended). Yes when its last suspension suspended it.
/// Otherwise, when it is a frame of a function of the awaiting function's
/// name that does not live on this thread's call stack while the coroutine
/// does not: the one case where a frame that is not the coroutine's is
/// current here is a lazy coroutine's first run with no frame of its own
/// (`below` is its creator's frame, `cur` the frame its starter resumed
/// to), and that frame is another function's, or a framed function's that
/// runs the coroutine from the call stack. (A frame of another coroutine of
/// that name, with none of its own yet, is the case left: see the limits.)
inline bool owns_current(const coroutine_track& t, const frame* cur, const char* function, const void* promise) {
    if (cur == nullptr || cur == t.below) return false;
    if (cur == t.mine) return true;
    return is_frame_of_function(cur->site, function) && (!on_this_thread_stack(cur) || on_this_thread_stack(promise));
}

/// The awaiter of a plain co_await in a coroutine whose promise is a
/// framed_promise: ABT_AWAIT's, with the ownership test of owns_current and
/// the co_await's own line as the await site.
template <class Awaitable>
class plain_await {
public:
    // An awaitable that is its own awaiter, given as a temporary, is held by
    // value when it can move: a promise's own await_transform may have made
    // it, and it dies when that returns (see framed_promise).
    using awaiter_type = std::conditional_t<
        !std::is_reference_v<Awaitable> && std::is_move_constructible_v<Awaitable> &&
            std::is_same_v<decltype(get_awaiter(std::declval<Awaitable>(), priority<2>{})), Awaitable&&>,
        Awaitable, decltype(get_awaiter(std::declval<Awaitable>(), priority<2>{}))>;

    plain_await(coroutine_track& track, const await_site& site, Awaitable&& a)
        : inner_(get_awaiter(static_cast<Awaitable&&>(a), priority<2>{})), track_(&track), site_(site) {}
    plain_await(plain_await&&) = default;
    plain_await& operator=(const plain_await&) = delete;

    bool await_ready() { return inner_.await_ready(); }

    // Not inlined into the coroutine with clang++ (ABT_DETAIL_AWAIT_SUSPEND).
    template <class Promise>
    ABT_DETAIL_AWAIT_SUSPEND auto await_suspend(std::coroutine_handle<Promise> h)
        -> decltype(std::declval<awaiter_type&>().await_suspend(h)) {
        frame* cur = this_thread.current;
        if (cur == nullptr || cur == track_->below) return pass_through(h);
        return suspend_if_owned(h, cur);
    }

    ABT_DETAIL_ALWAYS_INLINE decltype(auto) await_resume() {  // inlined: see resume_activation
        if (!outcome_.ready()) {
            track_->below = this_thread.current;
            resume_after_await(outcome_);
        }
        return inner_.await_resume();
    }

private:
    template <class Handle>
    ABT_DETAIL_ALWAYS_INLINE auto pass_through(Handle h) -> decltype(std::declval<awaiter_type&>().await_suspend(h)) {
        outcome_.set_passed(h.address());  // as in ABT_AWAIT: see resume_after_await
        return inner_.await_suspend(h);
    }

    // Out of line: an unframed coroutine's co_await pays only the test above.
    template <class Handle>
    ABT_DETAIL_NOINLINE auto suspend_if_owned(Handle h, frame* cur)
        -> decltype(std::declval<awaiter_type&>().await_suspend(h)) {
        if (!owns_current(*track_, cur, site_.function(), track_)) return pass_through(h);
        const frame_site* at = intern_await_site(site_.file(), site_.line());  // may throw: before anything changes
        track_->mine = cur;
        hand_over_ticket t;
        suspend_activation(cur, t, at, h.address());
        outcome_.set_suspended(cur);
        return suspend_through(inner_, outcome_, t, h);  // on a throw, await_resume is not called
    }

    awaiter_type inner_;
    coroutine_track* track_;  // in the promise: lives as long as the coroutine
    await_site site_;
    await_outcome outcome_;  // what await_suspend did (ready: nothing)
};

/// co_await ABT_AWAIT(x) in a coroutine whose promise is a framed_promise:
/// ABT_AWAIT's awaiter as it is, and the coroutine's code runs again from
/// the resumer's current frame (coroutine_track::below) when it resumes.
template <class Point>
class tracked_await {
public:
    tracked_await(coroutine_track& track, Point& point) noexcept : point_(point), track_(&track) {}

    bool await_ready() { return point_.await_ready(); }

    template <class Handle>
    auto await_suspend(Handle h) -> decltype(std::declval<Point&>().await_suspend(h)) {
        suspended_ = true;  // before: *this may be gone once it returned
        return point_.await_suspend(h);
    }

    ABT_DETAIL_ALWAYS_INLINE decltype(auto) await_resume() {  // inlined: see resume_activation
        if (suspended_) track_->below = this_thread.current;  // before the frames are active again
        return point_.await_resume();
    }

private:
    Point& point_;  // the co_await's temporary: lives to the end of the full expression
    coroutine_track* track_;
    bool suspended_ = false;
};

}  // namespace detail

class framed_promise {
public:
    framed_promise() noexcept : track_{detail::this_thread.current, nullptr} {}

    template <class Awaitable>
    detail::plain_await<Awaitable> await_transform(Awaitable&& a, await_site site = {}) {
        return detail::plain_await<Awaitable>(track_, site, static_cast<Awaitable&&>(a));
    }
    template <class Where, class Awaitable>
    detail::tracked_await<detail::await_point<Where, Awaitable>> await_transform(
        detail::await_point<Where, Awaitable>&& a, await_site = {}) noexcept {
        return detail::tracked_await<detail::await_point<Where, Awaitable>>(track_, a);
    }

private:
    detail::coroutine_track track_;
};

namespace detail {

#endif  // ABT_DETAIL_HAS_COROUTINES

// ---- Work items -------------------------------------------------------------

/// ABT_WORK_ITEM and ABT_WORK_ITEM_OF_ONE_TASK: isolate one work item of an
/// event loop or executor. The hand-over entries of the code around it (a
/// join whose child runs a nested loop, say) are hidden while it runs, and
/// apply again after it; its own entries end with it.
class work_item_scope {
public:
    explicit work_item_scope(work_item_kind kind) noexcept
        : saved_kind_(this_thread.work_item), link_{this_thread.current, this_thread.scopes, nullptr} {
        if (this_thread.slot_armed) {  // otherwise the stack is empty: nothing to hide
            thread_slots& handovers = this_thread_slots();
            saved_base_ = handovers.base;
            saved_size_ = handovers.size;
            handovers.base = handovers.size;
        }
        this_thread.current = nullptr;
        this_thread.scopes = &link_;
        this_thread.work_item = kind;
    }
    ~work_item_scope() {
        if (this_thread.current != nullptr)
            report_bypassed_await(this_thread.current,
                                  "was still active when its work item (ABT_WORK_ITEM, ABT_SPAWN) ended; its "
                                  "coroutine suspended through a co_await that bypassed ABT_AWAIT");
        if (this_thread.slot_armed) {
            thread_slots& handovers = this_thread_slots();
            pop_to(handovers, saved_size_);
            handovers.base = saved_base_;
            pop_dead(handovers);
        }
        this_thread.current = link_.saved_current;
        this_thread.scopes = link_.outer;
        this_thread.work_item = saved_kind_;
    }
    work_item_scope(const work_item_scope&) = delete;
    work_item_scope& operator=(const work_item_scope&) = delete;

private:
    work_item_kind saved_kind_;
    scope_link link_;
    unsigned saved_base_ = 0;
    unsigned saved_size_ = 0;
};

/// ABT_SPAWN: `start` starts a new task and may run it at once (an eager
/// coroutine, a framework's spawn). It runs as a work item of its own: the
/// frames it makes have no frame current, so they are a task, and the frame
/// that was running is current again once `start` returns (the new task has
/// suspended or ended by then).
template <class Start>
decltype(auto) start_task(Start&& start) {
    work_item_scope scope(work_item_kind::plain);
    return static_cast<Start&&>(start)();
}

class reenter_scope;

#if !ABT_DETAIL_LIGHT
// ---- Dumps ------------------------------------------------------------------

/// A frame's `wait` as a dump read it, with the count of changes it
/// belongs to (see read_wait).
struct read_state {
    const frame_site* wait;
    std::uint64_t since;  // with `wait`: its time is part of the same change
    change_count changes;
    friend bool operator==(const read_state& a, const read_state& b) {
        return a.wait == b.wait && a.changes == b.changes;
    }
};

/// What a dump copied of one frame, under the lock that guards it. Sites
/// are static records: they outlive the frame. Its state is abt::frame_state:
/// suspended frames wait at `wait` (an ABT_AWAIT site) or below one
/// (&no_await_site); idle ones at ABT_WAITING's site or &no_await_site.
struct frame_copy {
    const frame_site* site;  // the static record (for ABT_FRAMED_DYNAMIC: its origin)
    const char* name;        // the frame's name: static, or in task_copy::dynamic_names
    const frame_site* wait;  // null while running
    std::uint64_t since;     // coarse_now_ns when it began to wait (not running)
    unsigned depth;          // 0: the task's root
    frame_state state;
    std::uint64_t awaits_task = 0;  // the task it waits for (abt::awaiting_task), 0: none known
};

/// How much of a task a dump could show.
enum class task_view : unsigned char {
    whole,      // it stood still: every frame, in one consistent state
    own_chain,  // the dumping thread's own task: the path to its running frame
    running     // it runs: its root only
};
struct task_copy {
    std::uint64_t id = 0;
    std::uint64_t born_ns = 0;
    task_view view = task_view::whole;
    std::string name;
    std::vector<std::pair<std::string, std::string>> tags;
    std::vector<frame_copy> frames;  // depth first, each parent before its children
    std::deque<std::string> dynamic_names;  // ABT_FRAMED_DYNAMIC names, copied (they die with their frames)
    // A published running task: each running frame (its address, for
    // identity only) and its change count. The same pair in two dumps: that
    // frame neither suspended nor resumed in between (a frame's count only
    // grows), so it ran all along (the watchdog uses this).
    std::vector<std::pair<const void*, change_count>> running_frames;
    // A published running task: how many suspended coroutines it holds
    // under a running frame (see locked_copy_running_task).
    std::size_t held = 0;
    // False when the task's links kept changing while it was copied in
    // pieces: running_frames and held were not looked for (see
    // locked_copy_task).
    bool running_frames_known = true;
    // When the dump began copying (coarse_now_ns, after its wait, and again
    // after each wait for a running task): what wait times and ages are
    // measured against.
    std::uint64_t dumped_at = 0;
};

/// What a dump keeps of frame f (under the lock that guards it). A name
/// made at run time is copied into `out`: its record dies with the frame.
inline frame_copy copy_of(const frame* f, const frame_site* wait, std::uint64_t since, unsigned depth,
                          task_copy& out) {
    frame_state state = frame_state::running;
    if (wait != nullptr) state = f->site->function_id == nullptr ? frame_state::idle : frame_state::suspended;
    const char* name = f->site->where.function;
    if (f->site->origin != nullptr) {
        out.dynamic_names.emplace_back(name);
        name = out.dynamic_names.back().c_str();
    }
    return frame_copy{static_site(f->site), name, wait, since, depth, state, 0};
}

/// Id, age, name and tags of the task rooted at `root`. The caller holds
/// the lock of the list the root is in (the name's writers take it too).
inline void locked_copy_identity(const frame* root, task_copy& out) {
    out.id = root->task_id;
    out.born_ns = root->born_ns;
    out.name.clear();
    out.tags.clear();
    if (const task_info* info = root->info.load(order::relaxed)) {
        out.name = info->name;
        out.tags = info->tags;
    }
}

inline bool is_dump_cursor(const frame* t) { return t->site == nullptr; }

inline void locked_insert_cursor_after(frame* cursor, frame* t) {
    cursor->parent = nullptr;
    insert_child_after(&the_registry.tasks, t, cursor);
}

inline void locked_remove_cursor(frame* cursor) { remove_child(&the_registry.tasks, cursor); }

/// Runs `visit(thread)` for each listed thread, holding its roots_lock.
template <class Visit>
void locked_for_each_thread_roots(Visit visit) {
    for (thread_state* ts = the_registry.threads; ts != nullptr; ts = ts->next_thread) {
        lock_guard guard(ts->roots_lock);
        visit(*ts);
    }
}

/// The tasks no thread has published yet: each is running, shown as such.
inline void locked_copy_thread_roots(std::vector<task_copy>& out, std::uint64_t dumped_at) {
    locked_for_each_thread_roots([&](const thread_state& ts) {
        for (const frame* t = ts.roots.first_child; t != nullptr; t = t->next_sibling) {
            out.emplace_back();
            out.back().dumped_at = dumped_at;
            locked_copy_identity(t, out.back());
            out.back().view = task_view::running;
            out.back().frames.push_back(copy_of(t, nullptr, 0, 0, out.back()));
        }
    });
}

/// How many ABT_REENTER scopes of this thread have entered persistent frame f.
inline unsigned entries_on_this_thread(const frame* f) {
    unsigned n = 0;
    for (const scope_link* link = this_thread.scopes; link != nullptr; link = link->outer)
        if (link->entered == f) ++n;
    return n;
}

/// A frame that runs, but stands still for this dump: parked by it, and, for
/// a persistent frame, entered by no other thread (every entry and exit of a
/// persistent frame counts as a change of its `wait`, so a callback that
/// comes or goes between the two reads of the task is seen).
inline bool is_parked_for_this_dump(const frame* f) {
    return f->parked &&
           (f->site->function_id != nullptr || f->entries.load(order::relaxed) == entries_on_this_thread(f));
}

/// Frames running on this thread: the innermost chain and, through each
/// activation's resumer, the activations below it on the same stack (a
/// nested frame's resumer is its parent). Where the chain ends at a work item
/// (null) or a persistent frame (whose entries keep their resumer in the
/// ABT_REENTER guard), it goes on below the innermost such scope.
template <class Visit>
void for_each_running_on_this_thread(Visit visit) {
    frame* f = this_thread.current;
    for (const scope_link* link = this_thread.scopes;; link = link->outer) {
        for (; f != nullptr; f = f->resumer) {
            visit(f);
            if (f->site->function_id == nullptr) break;
        }
        if (link == nullptr) return;
        f = link->saved_current;
    }
}

// ---- Copying tasks under the lock, in bounded holds ----------------------------
//
// A dump holds the registry lock while it copies one task, and lets go of it
// between tasks (a cursor frame in the task list keeps its place). A task
// may be any size, though: a recursive async walk is a million frames deep.
// So a dump visits at most frames_per_hold frames under one hold, and copies
// a bigger task in pieces, letting go of the lock in between ("piecewise").
//
// Letting go in the middle of a task is safe because of marks. A piecewise
// copy takes the registry's one piecewise mark (registry::piecewise_mark; a
// second dump that needs it waits between holds) and writes it into every
// frame it visits. Every change to a marked frame's links, under the lock
// (locked_link, locked_unlink: a child added or removed, the frame unlinked
// or moved), sets registry::piecewise_disturbed. After each pause the copy
// checks the flag: while it is clear, every frame it visited is still
// linked where it was, so still alive (a frame is unlinked before it is
// freed), and every link it follows later is the one it would have followed
// under one long hold. When it is set, the copy starts the task again with a
// fresh mark, provided the task is still in the list (else it ended meanwhile
// and is skipped: tasks that end during a dump may or may not appear).
//
// Frames' states change without the lock (set_wait): as under one hold, a
// task is shown whole only if two reads of all its frames, the second after
// the first ended, found every state with the same change count. A count
// never repeats, so each frame kept its state from its first read to its
// second, and all of them held at once between the reads; the links held
// from the first visit on (marks). No torn tree is printed.
//
// Nothing grows under the lock either: the vectors a piece appends to are
// given room for one more piece during each pause (pause_hold).

/// How many steps of its walk over a task (down to a frame, across to a
/// sibling, back up one level) a dump takes under one hold of the registry
/// lock (make bench's case 7 lock rows time the waits). A task copied whole
/// is read twice, each read down and back up, so tasks of up to about
/// frames_per_hold / 4 frames take one hold.
constexpr std::size_t frames_per_hold = 2048;

/// Makes room in v for n more elements, so that appending them later (under
/// a lock) neither allocates nor touches memory for the first time: the
/// room is written once here (a first write to fresh pages faults them in,
/// up to 2 MB at a time with transparent huge pages: a millisecond).
template <class T>
void reserve_room(std::vector<T>& v, std::size_t n) {
    const std::size_t size = v.size();
    if (v.capacity() - size < n) v.reserve((std::max)(v.capacity() * 2, size + n));
    v.resize(size + n);
    v.resize(size);
}
/// A depth-first walk over one task's frames, each parent before its
/// children, that can stop after any step and go on later. No recursion
/// (a task may be any number of frames deep): the path from the root to the
/// frame it is at lives on the heap. Each step goes down to a child, across
/// to a sibling, or one level back up, so that the climb back from the
/// bottom of a deep chain is paused like the way down. step() follows child
/// and sibling links: its caller holds the registry lock, and knows that no
/// link changed since it visited the frames they belong to (one hold, or
/// marks).
class subtree_walk {
public:
    void start(const frame* root) {
        path_.clear();
        path_.push_back(root);
        at_root_ = true;
        climbing_ = false;
    }
    /// The next frame, at depth(); null after a step up, or at the end (over()).
    const frame* step() {
        if (path_.empty()) return nullptr;
        if (at_root_) {
            at_root_ = false;
            return path_.back();
        }
        if (!climbing_) {
            if (const frame* child = path_.back()->first_child) {
                path_.push_back(child);
                return child;
            }
            climbing_ = true;  // the last frame's subtree is done
        }
        if (path_.size() == 1) {  // the root's: the walk is over (its siblings are other tasks)
            path_.clear();
            return nullptr;
        }
        if (const frame* sibling = path_.back()->next_sibling) {
            path_.back() = sibling;
            climbing_ = false;
            return sibling;
        }
        path_.pop_back();  // its parent's subtree is done too
        return nullptr;
    }
    bool over() const { return path_.empty(); }
    /// The depth of the frame step() returned last (0: the root).
    std::size_t depth() const { return path_.size() - 1; }
    /// Its parent (null: the root).
    const frame* parent() const { return path_.size() > 1 ? path_[path_.size() - 2] : nullptr; }
    void make_room(std::size_t frames) { reserve_room(path_, frames); }

private:
    std::vector<const frame*> path_;
    bool at_root_ = false;
    bool climbing_ = false;  // the subtree of the frame at the path's end is done
};

/// How a walk over a task ended.
enum class walk_end : unsigned char {
    done,
    running,    // a frame runs, or changes right now: the task cannot be shown whole
    changed,    // a state differs between the two reads
    too_big,    // more frames than one hold may visit: copy it in pieces
    disturbed,  // piecewise: a link of a visited frame changed during a pause
    not_own     // the dumping thread's running frame is not in this task
};

/// The state of a dump's reading of the tasks; reused from task to task.
struct dump_reader {
    subtree_walk walk;
    std::vector<read_state> first_read;  // a task's frames' states, in walk order (see locked_read_states)
    std::vector<const frame*> chain;     // the frames from a running frame up to its root (own chain)
    task_copy* out = nullptr;            // the copy being made (pause_hold gives it room)
    std::vector<location>* trace = nullptr;  // backtrace()'s
    // ---- the current hold ----
    std::size_t visits_left = frames_per_hold;  // steps this hold may still take
    std::uint32_t mark = 0;  // piecewise: the registry's piecewise_mark; 0: one hold, no pauses
    bool one_hold = false;   // no limit (backtrace()'s last resort)
    // The root of the dumping thread's own running frame, once a walk up
    // found it (null: not yet): other running tasks are not walked up again.
    // A root that changes later in the dump (another thread moved a part of
    // the chain to a task of its own) shows that task as [running].
    const frame* own_root = nullptr;
};

/// Takes `lock` again when it goes out of scope, on every exit, a throw
/// included: for code that lets go of a lock it holds for a moment.
struct relock_at_exit {
    spinlock& lock;
    bool quietly = false;  // lock_quietly (see spinlock)
    ~relock_at_exit() {
        if (quietly)
            lock.lock_quietly();
        else
            lock.lock();
    }
};

/// Lets go of the registry lock between two pieces of a copy, and meanwhile
/// gives every vector the copy appends to room for one more piece, and a
/// thread that waits for the lock the time to take it (see spinlock).
inline void pause_hold(dump_reader& r) {
    spinlock& lock = the_registry.lock;
    const bool someone_waits = lock.take_waiting_hint();
    lock.unlock();
    relock_at_exit again{lock, true};  // a failed allocation included
    if (someone_waits) lock.wait_for_taker();
    r.walk.make_room(frames_per_hold);
    reserve_room(r.first_read, frames_per_hold);
    reserve_room(r.chain, frames_per_hold);
    if (r.out != nullptr) {
        reserve_room(r.out->frames, frames_per_hold);
        reserve_room(r.out->running_frames, frames_per_hold);
    }
    if (r.trace != nullptr) reserve_room(*r.trace, frames_per_hold);
    r.visits_left = frames_per_hold;  // a new hold
}

/// Marks frame f as visited by a piecewise copy (before anything of it is
/// read: any later change to its links is then seen).
inline void locked_mark(const dump_reader& r, const frame* f) {
    if (r.mark != 0) f->piecewise_mark = r.mark;
}

/// Counts one step of a walk against this hold (the frame it reached is
/// marked already). When the hold has taken frames_per_hold steps: a
/// piecewise copy pauses (disturbed if a marked frame's links changed
/// meanwhile); any other gives up (too_big). `done`: go on.
inline walk_end locked_count_step(dump_reader& r) {
    if (r.one_hold) return walk_end::done;
    if (--r.visits_left != 0) return walk_end::done;
    if (r.mark == 0) return walk_end::too_big;
    pause_hold(r);
    return the_registry.piecewise_disturbed ? walk_end::disturbed : walk_end::done;
}

/// Whether task t is still in the task list, where `cursor` was put right
/// after it. Only other dumps' cursors can come between them: tasks join
/// the list at its end.
inline bool locked_still_listed(const frame* t, const frame& cursor) {
    const frame* first = the_registry.tasks.first_child;
    for (const frame* p = &cursor; p != first;) {  // back to the list's first entry, not round again
        p = p->prev_sibling;
        if (!is_dump_cursor(p)) return p == t;
    }
    return false;
}

/// The registry's piecewise mark, held by one dump while it copies one task
/// (it runs no user code meanwhile); given back when the copy ends, on every
/// exit. The registry lock is held whenever its members run.
class piecewise_mark_holder {
public:
    explicit piecewise_mark_holder(dump_reader& r) : r_(r) {}
    ~piecewise_mark_holder() {
        if (r_.mark != 0) the_registry.piecewise_mark = 0;
        r_.mark = 0;
    }
    piecewise_mark_holder(const piecewise_mark_holder&) = delete;
    piecewise_mark_holder& operator=(const piecewise_mark_holder&) = delete;

    /// Takes the mark, waiting (with the lock let go) while another dump
    /// holds it. False if task t left the list meanwhile (`cursor`: its place).
    bool take(const frame* t, const frame* cursor) {
        registry& g = the_registry;
        while (g.piecewise_mark != 0) {  // (not ours: take follows a copy without marks)
            g.lock.unlock();
            yield_thread();
            g.lock.lock();
            if (cursor != nullptr && !locked_still_listed(t, *cursor)) return false;
        }
        renew();
        return true;
    }
    /// A fresh mark, for a new start: frames marked before no longer count.
    void renew() {
        registry& g = the_registry;
        g.last_piecewise_mark = g.last_piecewise_mark == ~std::uint32_t{0} ? 1 : g.last_piecewise_mark + 1;
        g.piecewise_mark = r_.mark = g.last_piecewise_mark;
        g.piecewise_disturbed = false;
    }

private:
    dump_reader& r_;
};

/// Walks t's subtree (r.walk), calling visit(f) for each frame: anything but
/// `done` from it ends the walk. Every step counts against the hold.
template <class Visit>
walk_end locked_walk_task(dump_reader& r, const frame* t, Visit visit) {
    r.walk.start(t);
    for (;;) {
        const frame* f = r.walk.step();
        if (f != nullptr) {
            locked_mark(r, f);
            const walk_end e = visit(f);
            if (e != walk_end::done) return e;
        } else if (r.walk.over()) {
            return walk_end::done;
        }
        const walk_end e = locked_count_step(r);
        if (e != walk_end::done) return e;
    }
}

/// Reads the state of every frame of t's subtree into r.first_read, in walk
/// order. `running` when a frame runs (and is not parked by this dump) or is
/// being changed right now.
inline walk_end locked_read_states(dump_reader& r, const frame* t) {
    r.first_read.clear();
    return locked_walk_task(r, t, [&](const frame* f) {
        read_state s{};
        if (!read_wait(f, s.wait, s.since, s.changes) || (s.wait == nullptr && !is_parked_for_this_dump(f)))
            return walk_end::running;
        r.first_read.push_back(s);
        return walk_end::done;
    });
}

/// Reads the states of t's frames a second time, in the same order, and
/// copies each frame as it goes: `changed` as soon as one differs from the
/// first read (the copy is then of no use).
inline walk_end locked_copy_if_unchanged(dump_reader& r, const frame* t, task_copy& out) {
    std::size_t i = 0;
    const walk_end e = locked_walk_task(r, t, [&](const frame* f) {
        read_state s{};
        if (i == r.first_read.size() || !read_wait(f, s.wait, s.since, s.changes) || !(s == r.first_read[i]))
            return walk_end::changed;
        ++i;
        out.frames.push_back(copy_of(f, s.wait, s.since, static_cast<unsigned>(r.walk.depth()), out));
        if (f->awaits_task != 0 && f->awaits_at == s.changes) out.frames.back().awaits_task = f->awaits_task;
        return walk_end::done;
    });
    return e != walk_end::done || i == r.first_read.size() ? e : walk_end::changed;
}

/// Copies the task rooted at t whole if it stands still: nothing runs in it
/// (but this dump's own parked frames) and two reads of all its frames find
/// the same states with the same change counts (see above).
inline walk_end locked_copy_still_task(dump_reader& r, const frame* t, task_copy& out) {
    const walk_end e = locked_read_states(r, t);
    if (e != walk_end::done) return e;
    out.view = task_view::whole;
    return locked_copy_if_unchanged(r, t, out);
}

/// Walks from f up to its root, calling visit(frame) for each, f first.
/// Every step counts against the hold; a frame's parent is read only after
/// a clean pause (its mark).
template <class Visit>
walk_end locked_walk_up(dump_reader& r, const frame* f, Visit visit) {
    for (; f != nullptr; f = f->parent) {
        locked_mark(r, f);
        visit(f);
        const walk_end e = locked_count_step(r);
        if (e != walk_end::done) return e;
    }
    return walk_end::done;
}

/// The dumping thread's own task, which runs (its frames are parked, but
/// another part of it runs): the path from the root to its running frame.
/// `not_own` when `own` is not in t.
inline walk_end locked_copy_own_chain(dump_reader& r, const frame* t, const frame* own, task_copy& out) {
    if (r.own_root != nullptr && r.own_root != t) return walk_end::not_own;
    r.chain.clear();
    walk_end e = locked_walk_up(r, own, [&](const frame* f) { r.chain.push_back(f); });
    if (e != walk_end::done) return e;
    r.own_root = r.chain.back();
    if (r.own_root != t) return walk_end::not_own;
    out.view = task_view::own_chain;
    for (std::size_t depth = 0; depth < r.chain.size(); ++depth) {
        const frame* f = r.chain[r.chain.size() - 1 - depth];
        out.frames.push_back(copy_of(f, f->wait.load(order::relaxed), f->wait_since.load(order::relaxed),
                                     static_cast<unsigned>(depth), out));
        if ((e = locked_count_step(r)) != walk_end::done) return e;
    }
    return walk_end::done;
}

/// A task that runs: its root, its running frames with their change counts
/// (see task_copy::running_frames), and how many suspended coroutines it
/// holds under a running frame. Such a coroutine was started while that frame
/// ran and was not awaited by it: a spawn without ABT_SPAWN, an eager child
/// not awaited yet, or a coroutine that an event loop run by that frame
/// started (a framed main that runs the loop). A dump cannot tell which, so it
/// says so (running_note) instead of hiding them behind one [running].
inline walk_end locked_copy_running_task(dump_reader& r, const frame* t, task_copy& out) {
    out.view = task_view::running;
    out.frames.push_back(copy_of(t, nullptr, 0, 0, out));
    return locked_walk_task(r, t, [&](const frame* f) {
        if (is_running(f)) {
            out.running_frames.emplace_back(f, f->wait_changes.load(order::relaxed));
        } else if (r.walk.depth() != 0 && is_running(r.walk.parent()) && f->site->function_id != nullptr) {
            // A suspended frame under a running one is the top of an activation
            // of its own (frames of one activation run or wait together).
            ++out.held;
        }
        return walk_end::done;
    });
}

/// One try at copying t: whole, else (the own chain, else the running root)
/// when it runs or `try_whole` is false.
inline walk_end locked_try_copy_task(dump_reader& r, const frame* t, const frame* own, bool try_whole,
                                     task_copy& out) {
    out.frames.clear();
    out.dynamic_names.clear();
    out.running_frames.clear();
    out.held = 0;
    out.running_frames_known = true;
    locked_mark(r, t);  // first: the walk up the own chain may pause before t is visited
    locked_copy_identity(t, out);
    walk_end e = try_whole ? locked_copy_still_task(r, t, out) : walk_end::running;
    if (e != walk_end::running) return e;
    out.frames.clear();
    out.dynamic_names.clear();
    if (own != nullptr) {
        e = locked_copy_own_chain(r, t, own, out);
        if (e != walk_end::not_own) return e;
        out.frames.clear();
        out.dynamic_names.clear();
    }
    return locked_copy_running_task(r, t, out);
}

/// Copies the task rooted at t (see task_view): whole if it stands still,
/// else the dumping thread's own path in it, else its root as running. Called,
/// and returns, with the registry lock held; `cursor` follows t in the task
/// list. A task bigger than one hold (more than about frames_per_hold / 4
/// frames: two reads, each down and back up) is copied in pieces. False: t
/// left the list during a pause (it ended, or joined another task), and
/// nothing was copied.
inline bool locked_copy_task(dump_reader& r, const frame* t, const frame* own, const frame& cursor,
                             task_copy& out) {
    r.out = &out;
    r.visits_left = frames_per_hold;  // the caller has just taken the lock
    piecewise_mark_holder piecewise(r);
    // Tries spoiled by a change: a state between the two reads (three such
    // and the task is taken to be running, as a task that never stands still
    // is), or a link during a pause (three more, and its running frames are
    // not looked for: a task whose links keep changing is running too).
    int spoiled = 0;
    for (;;) {
        switch (locked_try_copy_task(r, t, own, spoiled < 3, out)) {
        case walk_end::too_big:  // this hold is spent: on with marks, from a new hold
            if (!piecewise.take(t, &cursor)) return false;
            pause_hold(r);
            if (!locked_still_listed(t, cursor)) return false;
            break;
        case walk_end::disturbed:
            if (!locked_still_listed(t, cursor)) return false;
            piecewise.renew();
            if (++spoiled >= 6) {
                out.frames.clear();
                out.dynamic_names.clear();
                out.running_frames.clear();
                out.held = 0;
                out.view = task_view::running;
                out.frames.push_back(copy_of(t, nullptr, 0, 0, out));
                out.running_frames_known = false;
                return true;
            }
            break;
        case walk_end::changed:
            ++spoiled;
            break;
        default:
            return true;
        }
    }
}

/// Whether a thread has tasks that it has not published yet (they run).
inline bool locked_any_unpublished_task() {
    bool any = false;
    locked_for_each_thread_roots([&](const thread_state& ts) { any = any || ts.root_count != 0; });
    return any;
}

/// Calls sink(const task_copy&) for every live task, oldest published first,
/// then the unpublished (running) ones; never with a lock held. Waits at
/// most `wait_for_running` in all (0: not at all) for running tasks to
/// suspend: first for the unpublished ones (a task publishes itself at its
/// first suspension, at the end of the list, ahead of the walk), then for
/// each published task when its turn comes.
template <class Sink>
void for_each_task_copy(std::chrono::milliseconds wait_for_running, Sink sink) {
    dump_reader reader;
    registry& r = the_registry;
    frame* own = this_thread.current;
    task_copy copy;
    std::vector<task_copy> unpublished;
    const auto deadline = std::chrono::steady_clock::now() + wait_for_running;
    const auto may_wait = [&] {
        return wait_for_running.count() > 0 && std::chrono::steady_clock::now() < deadline;
    };
    const auto wait_a_moment = [&] {
        {
            r.lock.unlock();
            relock_at_exit again{r.lock};
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        copy.dumped_at = coarse_now_ns();
    };
    lock_guard guard(r.lock);
    // Make this thread's frames visible and stable for the length of the dump;
    // `unpark` (destroyed before `guard`) undoes it on every exit, throws included.
    std::vector<frame*> parked;
    struct unparker {
        std::vector<frame*>& frames;
        ~unparker() {
            for (frame* f : frames) f->parked = false;
        }
    } unpark{parked};
    for_each_running_on_this_thread([&](frame* f) {
        locked_publish_chain(f);
        // A persistent frame entered by other threads too runs for them as
        // well: only a frame that runs for this thread alone is parked.
        const bool runs_only_here = f->site->function_id != nullptr ||
                                    f->entries.load(order::relaxed) == entries_on_this_thread(f);
        if (is_running(f) && !f->parked && runs_only_here) {
            f->parked = true;
            parked.push_back(f);
        }
    });
    while (locked_any_unpublished_task() && may_wait()) wait_a_moment();
    copy.dumped_at = coarse_now_ns();
    // Each task is copied under the lock (in pieces if it is big); the lock
    // is let go between tasks, with a cursor marking the place, and the sink
    // runs meanwhile. Each task is a consistent picture; tasks made or ended
    // during the dump may or may not appear.
    frame cursor{};  // site == nullptr: a cursor (see is_dump_cursor)
    struct cursor_remover {  // destroyed before `unpark` and `guard`: with the lock held
        frame& cursor;
        bool listed = false;
        ~cursor_remover() {
            if (listed) locked_remove_cursor(&cursor);
        }
    } remove_cursor{cursor};
    frame* t = r.tasks.first_child;
    while (t != nullptr) {
        if (is_dump_cursor(t)) {  // another dump's place
            t = t->next_sibling;
            continue;
        }
        locked_insert_cursor_after(&cursor, t);
        remove_cursor.listed = true;
        bool listed = locked_copy_task(reader, t, own, cursor, copy);
        while (listed && copy.view != task_view::whole && may_wait()) {
            wait_a_moment();
            listed = locked_still_listed(t, cursor) && locked_copy_task(reader, t, own, cursor, copy);
        }
        if (listed) {
            r.lock.unlock();
            relock_at_exit again{r.lock};
            sink(static_cast<const task_copy&>(copy));
        }
        t = cursor.next_sibling;
        locked_remove_cursor(&cursor);
        remove_cursor.listed = false;
    }
    locked_copy_thread_roots(unpublished, copy.dumped_at);
    r.lock.unlock();
    relock_at_exit relock{r.lock};  // `guard` unlocks at the end, `unpark` needs the lock
    for (const task_copy& u : unpublished) sink(u);
}

// ---- Dump formats ------------------------------------------------------------

// Connectors: "├" and "└" then "╼"; continuation "│  " or "   ".
constexpr const char* tee = "\xE2\x94\x9C";          // ├
constexpr const char* corner = "\xE2\x94\x94";       // └
constexpr const char* pipe_cont = "\xE2\x94\x82  ";  // │ + two spaces

inline void append_number(std::string& out, std::uint64_t n);

/// The line under a running task: "[running]", and what it holds that a
/// dump cannot show (see locked_collect_running).
inline std::string running_note(std::size_t held) {
    std::string note = "[running]";
    if (held == 0) return note;
    note += " and holding ";
    append_number(note, held);
    note += held == 1 ? " suspended coroutine" : " suspended coroutines";
    note += " started under a running frame: spawned without ABT_SPAWN, or started by an event loop that a "
            "framed function runs (run it outside framed code, or put ABT_WORK_ITEM in its work items)";
    return note;
}

inline void append_number(std::string& out, std::uint64_t n) {
    char digits[20];
    std::size_t i = sizeof digits;
    do {
        digits[--i] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n != 0 && i > 0);
    out.append(digits + i, sizeof digits - i);
}

inline void append_place(std::string& out, const location& w) {
    out += w.file;
    out += ':';
    append_number(out, w.line);
}

/// A duration for people: 0ms-999ms, 1.0s-59.9s, 1m00s-59m59s, then 1h00m.
inline void append_duration(std::string& out, std::uint64_t ns) {
    const std::uint64_t ms = ns / 1000000u;
    if (ms < 1000) {
        append_number(out, ms);
        out += "ms";
    } else if (ms < 60000) {
        append_number(out, ms / 1000);
        out += '.';
        append_number(out, ms / 100 % 10);
        out += 's';
    } else {
        const std::uint64_t s = ms / 1000;
        const bool hours = s >= 3600;
        append_number(out, hours ? s / 3600 : s / 60);
        out += hours ? "h" : "m";
        const std::uint64_t rest = hours ? s / 60 % 60 : s % 60;
        if (rest < 10) out += '0';
        append_number(out, rest);
        out += hours ? "m" : "s";
    }
}

/// "a" or, when they print differently, "a–b".
inline void append_duration_range(std::string& out, std::uint64_t low, std::uint64_t high) {
    std::string a, b;
    append_duration(a, low);
    append_duration(b, high);
    out += a;
    if (a != b) {
        out += "\xE2\x80\x93";  // –
        out += b;
    }
}

/// The "suspended at file:line (what)" part of a frame's line; nothing for
/// a frame waiting below an ABT_AWAIT or idle without ABT_WAITING.
inline void append_wait_site(std::string& out, const frame_site* wait) {
    if (wait == nullptr || wait == &no_await_site) return;
    out += " suspended at ";
    append_place(out, wait->where);
    if (wait->function_id == nullptr && wait->where.function[0] != '\0') {
        out += " (";
        out += wait->where.function;
        out += ')';
    }
}

// ---- The dump model: entries of flat nodes ----------------------------------
//
// Every format is one writer over one model: a task (or a group of identical
// tasks) is a dump_entry, its frames dump_nodes in one flat array, depth
// first, each parent before its children, `end` one past its subtree. No walk
// over the model recurses, and no destructor does: a task may be any number
// of frames deep (a recursive async walk), and a dump must not overflow the
// stack of the thread that takes it (a signal watcher, a small-stack thread).

/// A frame as dumps show it: one frame, or several identical sibling subtrees
/// (or identical whole tasks) in one, with their wait times as a range.
struct dump_node {
    const frame_site* site = nullptr;   // static: file and line
    const char* static_name = nullptr;  // the name, when it is static; else dynamic_name
    std::string dynamic_name;           // an ABT_FRAMED_DYNAMIC name, owned
    const char* name() const { return static_name != nullptr ? static_name : dynamic_name.c_str(); }
    const frame_site* wait = nullptr;
    frame_state state = frame_state::running;
    std::uint64_t wait_min = 0, wait_max = 0;  // ns; not running only
    std::size_t count = 1;                     // identical siblings this node stands for
    std::size_t omitted_frames = 0;            // frames below, cut by max_depth
    std::uint64_t awaits_task = 0;             // one frame (count 1): the task it waits for; 0: unknown
    std::size_t depth = 0;                     // 0: the task's root
    std::size_t end = 0;                       // one past its subtree, in its entry's nodes
    std::uint32_t shape = 0;                   // grouping only: its subtree's shape (see group_nodes)
};

/// At most this many ids of a group's members are kept and shown (the
/// first ones); the header says how many others there are.
constexpr std::size_t shown_ids = 8;

/// One task, or a group of identical tasks.
struct dump_entry {
    task_view view = task_view::whole;
    std::size_t held = 0;  // see task_copy::held
    std::size_t count = 1;
    std::vector<std::uint64_t> ids;  // at most shown_ids: the first members'
    std::uint64_t age_min = 0, age_max = 0;
    std::string name;  // when every task of the group has the same one
    // A group's: each tag's values among its members (see tag_values::text).
    std::vector<std::pair<std::string, std::string>> tags;
    std::vector<dump_node> nodes;  // nodes[0]: the root
};

inline std::uint64_t elapsed(std::uint64_t now, std::uint64_t since) { return now > since ? now - since : 0; }

/// Sets each node's `end` from the depths (`open`: scratch, the nodes whose
/// subtree has not ended yet).
inline void set_subtree_ends(std::vector<dump_node>& nodes, std::vector<std::size_t>& open) {
    open.clear();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        while (!open.empty() && nodes[open.back()].depth >= nodes[i].depth) {
            nodes[open.back()].end = i;
            open.pop_back();
        }
        open.push_back(i);
    }
    for (std::size_t k : open) nodes[k].end = nodes.size();
}

/// Task t as entry e (reused from task to task): a node per frame; frames
/// deeper than max_depth (0: none) are counted on their deepest shown
/// ancestor.
inline void fill_entry(const task_copy& t, std::size_t max_depth, dump_entry& e, std::vector<std::size_t>& scratch) {
    e.view = t.view;
    e.held = t.held;
    e.count = 1;
    e.ids.assign(1, t.id);
    e.age_min = e.age_max = elapsed(t.dumped_at, t.born_ns);
    e.name = t.name;
    e.tags = t.tags;
    e.nodes.clear();
    std::size_t cut_at = 0;  // the last node at depth max_depth - 1
    for (const frame_copy& f : t.frames) {
        if (max_depth != 0 && f.depth >= max_depth) {  // too deep: counted only
            ++e.nodes[cut_at].omitted_frames;
            continue;
        }
        if (f.depth + 1 == max_depth) cut_at = e.nodes.size();
        e.nodes.emplace_back();
        dump_node& n = e.nodes.back();
        n.site = f.site;
        if (f.name == f.site->where.function)
            n.static_name = f.name;
        else
            n.dynamic_name = f.name;
        n.wait = f.wait;
        n.state = f.state;
        n.awaits_task = f.awaits_task;
        if (f.state != frame_state::running) n.wait_min = n.wait_max = elapsed(t.dumped_at, f.since);
        n.depth = f.depth;
    }
    set_subtree_ends(e.nodes, scratch);
}

/// Interns byte strings as small numbers, in the order first seen (an
/// open-addressing hash table): grouping names each distinct subtree shape,
/// and each distinct group, by one. Memory: the distinct strings.
class interner {
public:
    std::uint32_t id_of(const std::string& key) {
        if ((keys_.size() + 1) * 2 > slots_.size()) grow();
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = hash(key) & mask;; i = (i + 1) & mask) {
            if (slots_[i] == 0) {
                keys_.push_back(key);
                slots_[i] = static_cast<std::uint32_t>(keys_.size());
                return slots_[i] - 1;
            }
            if (keys_[slots_[i] - 1] == key) return slots_[i] - 1;
        }
    }

private:
    static std::size_t hash(const std::string& s) {
        std::uint64_t h = 14695981039346656037u;  // FNV-1a
        for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211u;
        return static_cast<std::size_t>(h ^ (h >> 32));
    }
    void grow() {
        std::vector<std::uint32_t> bigger(slots_.empty() ? 64 : slots_.size() * 2, 0);
        const std::size_t mask = bigger.size() - 1;
        for (std::size_t k = 0; k < keys_.size(); ++k) {
            std::size_t i = hash(keys_[k]) & mask;
            while (bigger[i] != 0) i = (i + 1) & mask;
            bigger[i] = static_cast<std::uint32_t>(k + 1);
        }
        slots_.swap(bigger);
    }
    std::vector<std::string> keys_;
    std::vector<std::uint32_t> slots_;  // 0: empty; else 1 + an index into keys_
};

inline void append_site_key(std::string& key, const frame_site* s) {
    if (s == nullptr) {
        key += '-';
        return;
    }
    key += s->where.function;
    key += '\x1f';
    key += s->where.file;
    key += ':';
    append_number(key, s->where.line);
    key += '\x1f';
}

/// The state of one grouped dump: the shapes and groups seen so far, and
/// scratch space that is reused from node to node.
struct grouping {
    interner shapes;  // subtree shapes
    interner groups;  // group keys, numbered as group_builder::groups
    std::vector<char> removed;  // group_nodes: merged into an identical sibling
    std::vector<std::pair<std::uint32_t, std::size_t>> kids, a_kids, b_kids;  // (shape, node)
    std::vector<std::pair<std::size_t, std::size_t>> pairs;  // merge_times' work list
    std::vector<std::size_t> open;
    std::string key;
};

/// The children of nodes[i] that were not merged away, by shape.
inline void list_children(const std::vector<dump_node>& nodes, std::size_t i, const std::vector<char>* removed,
                          std::vector<std::pair<std::uint32_t, std::size_t>>& out) {
    out.clear();
    for (std::size_t c = i + 1; c < nodes[i].end; c = nodes[c].end)
        if (removed == nullptr || (*removed)[c] == 0) out.emplace_back(nodes[c].shape, c);
    std::sort(out.begin(), out.end());
}

/// Widens the times of `into`'s subtree at a by `from`'s subtree at b. Both
/// have one shape: the same children, each shape once, maybe in another
/// order (paired by shape). A work list, not recursion.
inline void merge_times(std::vector<dump_node>& into, std::size_t a, const std::vector<dump_node>& from, std::size_t b,
                        const std::vector<char>* removed, grouping& g) {
    g.pairs.assign(1, {a, b});
    while (!g.pairs.empty()) {
        const std::pair<std::size_t, std::size_t> p = g.pairs.back();
        g.pairs.pop_back();
        dump_node& x = into[p.first];
        x.wait_min = (std::min)(x.wait_min, from[p.second].wait_min);
        x.wait_max = (std::max)(x.wait_max, from[p.second].wait_max);
        list_children(into, p.first, removed, g.a_kids);
        list_children(from, p.second, removed, g.b_kids);
        for (std::size_t k = 0; k < g.a_kids.size() && k < g.b_kids.size(); ++k)
            g.pairs.emplace_back(g.a_kids[k].second, g.b_kids[k].second);
    }
}

/// Several frames in one: no single task to name as awaited.
inline void forget_awaited_tasks(std::vector<dump_node>& nodes, std::size_t i) {
    for (std::size_t k = i; k < nodes[i].end; ++k) nodes[k].awaits_task = 0;
}

/// Collapses identical sibling subtrees anywhere in e (not only adjacent
/// ones) into the first of them, and sets each node's shape: its frame,
/// state, await site and cut frames, and its children's shapes with their
/// counts, as a set (the same children made in another order are the same
/// subtree). Bottom up over the flat nodes (children come after their
/// parent), so without recursion; each key holds numbers for the children,
/// so its length does not grow with the depth below.
inline void group_nodes(dump_entry& e, grouping& g) {
    std::vector<dump_node>& nodes = e.nodes;
    g.removed.assign(nodes.size(), 0);
    for (std::size_t i = nodes.size(); i-- > 0;) {
        dump_node& n = nodes[i];
        g.key.clear();
        g.key += n.name();
        g.key += '\x1f';
        append_site_key(g.key, n.site);
        g.key += static_cast<char>('0' + static_cast<int>(n.state));
        append_site_key(g.key, n.wait);
        append_number(g.key, n.omitted_frames);
        g.key += '(';
        list_children(nodes, i, nullptr, g.kids);  // sorted by shape, then by place: the first comes first
        for (std::size_t k = 0; k < g.kids.size();) {
            const std::size_t first = g.kids[k].second;
            std::size_t j = k + 1;
            for (; j < g.kids.size() && g.kids[j].first == g.kids[k].first; ++j) {
                const std::size_t other = g.kids[j].second;
                nodes[first].count += nodes[other].count;
                merge_times(nodes, first, nodes, other, &g.removed, g);
                g.removed[other] = 1;
            }
            if (j > k + 1) forget_awaited_tasks(nodes, first);
            append_number(g.key, g.kids[k].first);
            g.key += '*';
            append_number(g.key, nodes[first].count);
            g.key += ';';
            k = j;
        }
        g.key += ')';
        n.shape = g.shapes.id_of(g.key);
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < nodes.size();) {
        if (g.removed[i] != 0) {  // with its subtree
            i = nodes[i].end;
            continue;
        }
        if (kept != i) nodes[kept] = std::move(nodes[i]);
        ++kept;
        ++i;
    }
    nodes.resize(kept);
    set_subtree_ends(nodes, g.open);
}

/// At most this many values of one tag are shown for a group ("conn=3|6").
constexpr std::size_t shown_tag_values = 4;

/// The values a tag takes among a group's members: the first
/// shown_tag_values distinct ones, and how many members had another.
struct tag_values {
    std::string key;
    std::vector<std::string> values;
    std::size_t others = 0;

    void add(const std::string& value) {
        if (std::find(values.begin(), values.end(), value) != values.end()) return;
        if (values.size() < shown_tag_values)
            values.push_back(value);
        else
            ++others;
    }
    /// "3|6", or "1|2|3|4 (+9 more)": what an operator needs to find the
    /// stuck connections, never a list as long as the group.
    std::string text() const {
        std::string t;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i != 0) t += '|';
            t += values[i];
        }
        if (others != 0) {
            t += " (+";
            append_number(t, others);
            t += " more)";
        }
        return t;
    }
};

/// Groups identical tasks (the same view and tree) as they come: memory for
/// the groups, not for the tasks.
struct group_builder {
    grouping g;
    std::vector<dump_entry> groups;
    std::vector<std::vector<tag_values>> tags;  // per group: its members' tags

    void add_tags(std::vector<tag_values>& to, const dump_entry& e) {
        for (const auto& tag : e.tags) {
            auto it = std::find_if(to.begin(), to.end(), [&](const tag_values& t) { return t.key == tag.first; });
            if (it == to.end()) {
                to.emplace_back();
                to.back().key = tag.first;
                it = to.end() - 1;
            }
            it->add(tag.second);
        }
    }

    /// Adds e (which it may leave empty: fill_entry refills it).
    void add(dump_entry& e) {
        group_nodes(e, g);
        g.key.assign(1, static_cast<char>('0' + static_cast<int>(e.view)));
        append_number(g.key, e.held);
        g.key += '/';
        append_number(g.key, e.nodes.front().shape);
        const std::size_t k = g.groups.id_of(g.key);
        if (k == groups.size()) {  // a new group
            tags.emplace_back();
            add_tags(tags.back(), e);
            groups.push_back(std::move(e));
            return;
        }
        dump_entry& to = groups[k];
        to.count += e.count;
        if (to.ids.size() < shown_ids) to.ids.push_back(e.ids.front());
        to.age_min = (std::min)(to.age_min, e.age_min);
        to.age_max = (std::max)(to.age_max, e.age_max);
        if (to.name != e.name) to.name.clear();
        add_tags(tags[k], e);
        merge_times(to.nodes, 0, e.nodes, 0, nullptr, g);
        forget_awaited_tasks(to.nodes, 0);
    }

    /// The groups, largest first, each with its members' tag values.
    std::vector<dump_entry> finish() {
        for (std::size_t k = 0; k < groups.size(); ++k) {
            std::sort(groups[k].ids.begin(), groups[k].ids.end());  // the first members', in order
            groups[k].tags.clear();
            for (const tag_values& t : tags[k]) groups[k].tags.emplace_back(t.key, t.text());
        }
        std::stable_sort(groups.begin(), groups.end(),
                         [](const dump_entry& a, const dump_entry& b) { return a.count > b.count; });
        return std::move(groups);
    }
};

/// How many edges the search for await cycles follows at most.
constexpr std::size_t cycle_search_steps = 4000000;

/// Which task waits for which (abt::awaiting_task), as a dump found them.
struct await_graph {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> edges;  // (waiting task, awaited task)

    void add(const task_copy& t) {
        for (const frame_copy& f : t.frames)
            if (f.awaits_task != 0) edges.emplace_back(t.id, f.awaits_task);
    }

    /// Await cycles (likely deadlocks), each once, from its smallest id; at
    /// most one per smallest id and 100 in all (a report, not an
    /// enumeration). Every cycle lies inside one strongly connected
    /// component of the graph, so they are found in two steps, both loops
    /// with stacks of their own (await chains may be long): the components
    /// (Tarjan's algorithm, linear in tasks and edges), then a depth-first
    /// search from each task of a component that can hold a cycle, over
    /// the tasks of that component with larger ids. Chains and fan-ins
    /// outside cycles cost nothing more. The searches follow at most
    /// `steps` edges in all; `stopped` says when that cut them short.
    std::vector<std::vector<std::uint64_t>> cycles(std::size_t steps = cycle_search_steps) {
        std::sort(edges.begin(), edges.end());
        edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
        ids.clear();
        for (const auto& e : edges) {
            ids.push_back(e.first);
            ids.push_back(e.second);
        }
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        find_components();
        std::vector<std::size_t> visited_in(ids.size(), 0);  // 1 + the search that visited it
        std::vector<std::vector<std::uint64_t>> found;
        std::vector<std::uint64_t> path;
        std::vector<std::size_t> next_edge;  // per task on the path: its next edge to follow
        std::size_t search = 0;
        stopped = false;
        for (std::size_t i = 0; i < edges.size() && found.size() < 100; ++i) {
            if (i != 0 && edges[i].first == edges[i - 1].first) continue;
            const std::uint64_t start = edges[i].first;
            const std::size_t component = component_of[index_of(start)];
            if (component_size[component] < 2 && !has_edge(start, start)) continue;  // in no cycle
            if (steps == 0) {
                stopped = true;
                break;
            }
            ++search;
            visited_in[index_of(start)] = search;
            path.assign(1, start);
            next_edge.assign(1, i);
            while (!path.empty()) {
                if (steps == 0) {
                    stopped = true;
                    break;
                }
                std::size_t& k = next_edge.back();
                if (k == edges.size() || edges[k].first != path.back()) {  // every edge of it followed
                    path.pop_back();
                    next_edge.pop_back();
                    continue;
                }
                const std::uint64_t to = edges[k++].second;
                --steps;
                if (to == start) {
                    found.push_back(path);
                    break;
                }
                const std::size_t at = index_of(to);
                if (to < start || component_of[at] != component || visited_in[at] == search) continue;
                visited_in[at] = search;
                path.push_back(to);
                next_edge.push_back(first_edge(to));
            }
        }
        return found;
    }

    bool stopped = false;  // the last cycles() ran out of steps: cycles may be missing

private:
    std::vector<std::uint64_t> ids;             // every task in an edge, sorted
    std::vector<std::size_t> component_of;      // per task (index in ids): its component
    std::vector<std::size_t> component_size;    // per component: its tasks

    std::size_t index_of(std::uint64_t id) const {
        return static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
    }
    std::size_t first_edge(std::uint64_t id) const {
        return static_cast<std::size_t>(
            std::lower_bound(edges.begin(), edges.end(), std::make_pair(id, std::uint64_t{0})) - edges.begin());
    }
    bool has_edge(std::uint64_t from, std::uint64_t to) const {
        return std::binary_search(edges.begin(), edges.end(), std::make_pair(from, to));
    }

    /// Tarjan's strongly connected components, without recursion: `calls`
    /// holds, per task being explored, its next edge to follow.
    void find_components() {
        constexpr std::size_t unset = static_cast<std::size_t>(-1);
        const std::size_t n = ids.size();
        std::vector<std::size_t> order(n, unset), low(n, 0), members;
        std::vector<char> on_stack(n, 0);
        std::vector<std::pair<std::size_t, std::size_t>> calls;  // (task, next edge)
        component_of.assign(n, 0);
        component_size.clear();
        std::size_t counter = 0;
        for (std::size_t root = 0; root < n; ++root) {
            if (order[root] != unset) continue;
            calls.emplace_back(root, first_edge(ids[root]));
            order[root] = low[root] = counter++;
            members.push_back(root);
            on_stack[root] = 1;
            while (!calls.empty()) {
                const std::size_t v = calls.back().first;
                std::size_t& k = calls.back().second;
                if (k < edges.size() && edges[k].first == ids[v]) {
                    const std::size_t w = index_of(edges[k++].second);
                    if (order[w] == unset) {  // explore w, then come back to v
                        calls.emplace_back(w, first_edge(ids[w]));
                        order[w] = low[w] = counter++;
                        members.push_back(w);
                        on_stack[w] = 1;
                    } else if (on_stack[w] != 0) {
                        low[v] = (std::min)(low[v], order[w]);
                    }
                    continue;
                }
                calls.pop_back();  // v is done
                if (!calls.empty()) low[calls.back().first] = (std::min)(low[calls.back().first], low[v]);
                if (low[v] != order[v]) continue;
                // v is the first of a component: its members lie above it on the stack.
                const std::size_t component = component_size.size();
                component_size.push_back(0);
                for (;;) {
                    const std::size_t m = members.back();
                    members.pop_back();
                    on_stack[m] = 0;
                    component_of[m] = component;
                    ++component_size[component];
                    if (m == v) break;
                }
            }
        }
    }
};

/// The await cycles of `graph`, a line each, and a line when the search
/// was cut short.
inline void append_cycle_lines(std::string& out, await_graph& graph) {
    for (const std::vector<std::uint64_t>& cycle : graph.cycles()) {
        out += "async_backtrace: likely deadlock, tasks that wait for each other: ";
        for (std::uint64_t id : cycle) {
            out += "task ";
            append_number(out, id);
            out += " \xE2\x86\x92 ";  // →
        }
        out += "task ";
        append_number(out, cycle.front());
        out += '\n';
    }
    if (graph.stopped) {
        out += "async_backtrace: the search for await cycles stopped after ";
        append_number(out, cycle_search_steps);
        out += " steps: some may be missing\n";
    }
}

/// How long a dump waits for running tasks (0.2's flag, or the duration).
inline std::chrono::milliseconds wait_of(const dump_options& o) {
    if (o.wait_for_running.count() > 0 || !o.wait_for_running_tasks) return o.wait_for_running;
    return std::chrono::milliseconds(ABT_DUMP_WAIT_MS);
}

/// Calls each(const dump_entry&) for every task, or for every group of
/// identical tasks (largest first) when o.group: ungrouped, one at a time
/// as the tasks are copied, with no list of them kept; grouped, once all
/// were seen, with only the groups kept. At most o.max_tasks entries (0:
/// all); returns how many tasks it left out. `graph`: who waits for whom.
template <class Each>
std::size_t for_each_entry(const dump_options& o, await_graph* graph, Each each) {
    dump_entry e;
    std::vector<std::size_t> scratch;
    std::size_t shown = 0, omitted = 0;
    if (!o.group) {
        for_each_task_copy(wait_of(o), [&](const task_copy& t) {
            if (graph != nullptr) graph->add(t);
            if (o.max_tasks != 0 && shown == o.max_tasks) {
                ++omitted;
                return;
            }
            ++shown;
            fill_entry(t, o.max_depth, e, scratch);
            each(static_cast<const dump_entry&>(e));
        });
        return omitted;
    }
    group_builder groups;
    for_each_task_copy(wait_of(o), [&](const task_copy& t) {
        if (graph != nullptr) graph->add(t);
        fill_entry(t, o.max_depth, e, scratch);
        groups.add(e);
    });
    const std::vector<dump_entry> entries = groups.finish();
    for (const dump_entry& g : entries) {
        if (o.max_tasks != 0 && shown == o.max_tasks) {
            omitted += g.count;
            continue;
        }
        ++shown;
        each(g);
    }
    return omitted;
}

// ---- Writers -----------------------------------------------------------------

/// Where a dump's text goes: kept in `text` (the functions that return a
/// std::string), or written to `file` as it is made, a piece at a time
/// (dump, the signal dump, the watchdog), so that a dump of a million tasks
/// never holds all of its text.
struct text_out {
    std::string text;
    std::FILE* file = nullptr;

    void flush_if_full() {
        if (file != nullptr && text.size() >= 64 * 1024) flush();
    }
    void flush() {
        if (file == nullptr) return;
        std::fwrite(text.data(), 1, text.size(), file);
        text.clear();
    }
};

/// Tree lines are indented for at most this many levels. A frame deeper
/// than that is written at the indentation of that depth, with
/// "[depth N]" before its name: a tree's text then grows with its number of
/// frames, not with their depth squared, and trees of ordinary depth read
/// as they always did (README: Deep tasks and a million tasks).
constexpr std::size_t indent_levels = 32;

/// The text of taskdump_tree: one line per node, the seed's connectors, a
/// header per entry (o.ids), times (o.times). `plain`: version 0.1's text
/// (taskdump_tree(bool)): no header, times or awaited tasks.
struct tree_writer {
    const dump_options& o;
    bool plain;
    text_out& out;
    std::string indent;              // the connectors of the ancestors of the node being written
    std::vector<std::size_t> open;   // the nodes whose subtree is being written
    std::vector<std::size_t> marks;  // per open node: indent's length before its own connector

    void header(const dump_entry& e) {
        std::string& t = out.text;
        if (e.count == 1) {
            t += "task ";
            append_number(t, e.ids.front());
        } else {
            append_number(t, e.count);
            t += " tasks (ids ";
            for (std::size_t k = 0; k < e.ids.size(); ++k) {
                if (k != 0) t += ", ";
                append_number(t, e.ids[k]);
            }
            if (e.count > e.ids.size()) {
                t += " and ";
                append_number(t, e.count - e.ids.size());
                t += " more";
            }
            t += ')';
        }
        if (!e.name.empty()) {
            t += " \"";
            t += e.name;
            t += '"';
        }
        for (const auto& tag : e.tags) {
            t += ' ';
            t += tag.first;
            t += '=';
            t += tag.second;
        }
        if (o.times) {
            t += ", age ";
            append_duration_range(t, e.age_min, e.age_max);
        }
        t += '\n';
    }
    void depth_marker(std::size_t depth) {
        if (depth <= indent_levels) return;
        out.text += "[depth ";
        append_number(out.text, depth);
        out.text += "] ";
    }
    /// `count`: how many identical frames (siblings, or whole tasks) it stands for.
    void frame_line(const std::string& prefix, const char* connector, const dump_node& n, std::size_t count,
                    bool show_state) {
        std::string& t = out.text;
        t += prefix;
        t += connector;
        t += "\xE2\x95\xBC ";  // ╼
        depth_marker(n.depth);
        if (count > 1) {
            t += "[\xC3\x97";  // [×
            append_number(t, count);
            t += "] ";
        }
        t += n.name();
        t += " at ";
        append_place(t, n.site->where);
        if (show_state) {
            if (n.state == frame_state::running) {
                t += " [running]";
            } else {
                append_wait_site(t, n.wait);
                const bool no_site = n.wait == &no_await_site;
                if (o.times && (!no_site || n.state == frame_state::idle)) {
                    t += no_site ? " idle for " : " for ";
                    append_duration_range(t, n.wait_min, n.wait_max);
                }
                if (n.awaits_task != 0 && !plain) {
                    t += ", waiting for task ";
                    append_number(t, n.awaits_task);
                }
            }
        }
        t += '\n';
        out.flush_if_full();
    }
    void note_line(const char* connector, std::size_t depth, const std::string& text) {
        out.text += indent;
        out.text += connector;
        out.text += "\xE2\x94\x88 ";  // ┈
        depth_marker(depth);
        out.text += text;
        out.text += '\n';
    }
    /// Ends the innermost open node: the note of its cut frames, then its
    /// indentation.
    void close(const dump_entry& e) {
        const dump_node& n = e.nodes[open.back()];
        if (n.omitted_frames != 0) {
            std::string text = "[";
            append_number(text, n.omitted_frames);
            text += n.omitted_frames == 1 ? " frame below max_depth]" : " frames below max_depth]";
            note_line(corner, n.depth + 1, text);
        }
        indent.resize(marks.back());
        open.pop_back();
        marks.pop_back();
    }
    void entry(const dump_entry& e) {
        if (o.ids && !plain) header(e);
        const std::vector<dump_node>& nodes = e.nodes;
        indent = "  ";
        if (e.view == task_view::running) {
            frame_line("", "", nodes[0], e.count, false);
            note_line(corner, 1, running_note(e.held));
            return;
        }
        frame_line("", "", nodes[0], e.count, true);
        open.assign(1, 0);
        marks.assign(1, indent.size());
        for (std::size_t i = 1; i < nodes.size(); ++i) {
            while (nodes[open.back()].end <= i) close(e);
            const dump_node& parent = nodes[open.back()];
            const dump_node& n = nodes[i];
            const bool note_follows = parent.omitted_frames != 0 || (open.back() == 0 && e.view == task_view::own_chain);
            const bool last = n.end == parent.end && !note_follows;
            frame_line(indent, last ? corner : tee, n, n.count, true);
            marks.push_back(indent.size());
            if (n.depth < indent_levels) indent += last ? "   " : pipe_cont;
            open.push_back(i);
        }
        while (!open.empty()) close(e);
        if (e.view == task_view::own_chain) note_line(corner, 1, "[running: other frames of this task are not shown]");
    }
};

/// taskdump_tree's text into `out`.
inline void write_tree_dump(const dump_options& o, bool plain, text_out& out) {
    tree_writer w{o, plain, out, {}, {}, {}};
    await_graph graph;
    const std::size_t omitted = for_each_entry(o, plain ? nullptr : &graph, [&](const dump_entry& e) { w.entry(e); });
    if (omitted != 0) {
        out.text += "\xE2\x80\xA6 ";  // …
        append_number(out.text, omitted);
        out.text += omitted == 1 ? " more task (max_tasks)\n" : " more tasks (max_tasks)\n";
    }
    if (!plain) append_cycle_lines(out.text, graph);
}

/// A rich tree dump written to `file` as it is made (dump, the signal dump,
/// the watchdog), between `head` and `tail`, then flushed.
inline void stream_tree_dump(std::FILE* file, std::string head, const dump_options& o, const char* tail) {
    text_out out;
    out.file = file;
    out.text = std::move(head);
    write_tree_dump(o, false, out);
    out.text += tail;
    out.flush();
    std::fflush(file);
}

/// The options of taskdump_tree(bool): version 0.1's plain tree.
inline dump_options plain_dump_options(bool wait_for_running_tasks) {
    dump_options o;
    o.wait_for_running_tasks = wait_for_running_tasks;  // ABT_DUMP_WAIT_MS: see wait_of
    o.times = false;
    o.ids = false;
    return o;
}

/// Appends s as a JSON string: quotes, backslashes and control characters
/// escaped, invalid UTF-8 replaced by U+FFFD.
inline void append_json_string(std::string& out, const char* s, std::size_t n) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else {
            // A well-formed sequence (no overlongs, no surrogates, <= U+10FFFF) is copied.
            const std::size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
            bool ok = len != 0 && i + len <= n;
            for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
            if (ok && len >= 3) {
                const unsigned char d = static_cast<unsigned char>(s[i + 1]);
                if (c == 0xE0) ok = d >= 0xA0;
                if (c == 0xED) ok = d < 0xA0;  // not a surrogate
                if (c == 0xF0) ok = d >= 0x90;
                if (c == 0xF4) ok = d < 0x90;
            }
            if (ok) {
                out.append(s + i, len);
                i += len;
            } else {
                out += "\xEF\xBF\xBD";  // U+FFFD
                ++i;
            }
        }
    }
    out += '"';
}
inline void append_json_string(std::string& out, const std::string& s) { append_json_string(out, s.data(), s.size()); }
inline void append_json_string(std::string& out, const char* s) { append_json_string(out, s, std::strlen(s)); }

inline void append_json_range(std::string& out, std::uint64_t low, std::uint64_t high) {
    out += "{\"min\":";
    append_number(out, low);
    out += ",\"max\":";
    append_number(out, high);
    out += '}';
}

inline const char* state_name(frame_state s) {
    return s == frame_state::running ? "running" : s == frame_state::suspended ? "suspended" : "idle";
}


/// A node as a JSON object: its depth in place of nesting (a parent is the
/// nearest node before it one level up), so that a reader's nesting limit
/// (Python's json: about 500 levels of objects in arrays) never meets a
/// deep task.
inline void append_json_node(std::string& out, const dump_node& n) {
    out += "{\"depth\":";
    append_number(out, n.depth);
    out += ",\"function\":";
    append_json_string(out, n.name());
    out += ",\"file\":";
    append_json_string(out, n.site->where.file);
    out += ",\"line\":";
    append_number(out, n.site->where.line);
    out += ",\"count\":";
    append_number(out, n.count);
    out += ",\"state\":\"";
    out += state_name(n.state);
    out += "\",\"await\":";
    if (n.wait == nullptr || n.wait == &no_await_site) {
        out += "null";
    } else {
        out += "{\"file\":";
        append_json_string(out, n.wait->where.file);
        out += ",\"line\":";
        append_number(out, n.wait->where.line);
        out += ",\"what\":";
        append_json_string(out, n.wait->function_id == nullptr ? n.wait->where.function : "");
        out += '}';
    }
    out += ",\"wait_ns\":";
    if (n.state == frame_state::running)
        out += "null";
    else
        append_json_range(out, n.wait_min, n.wait_max);
    out += ",\"awaits_task\":";
    if (n.awaits_task != 0)
        append_number(out, n.awaits_task);
    else
        out += "null";
    out += ",\"omitted_frames\":";
    append_number(out, n.omitted_frames);
    out += '}';
}

inline void write_json_entry(text_out& out, const dump_entry& e, bool first) {
    std::string& t = out.text;
    t += first ? "\n" : ",\n";
    t += "{\"ids\":[";
    for (std::size_t k = 0; k < e.ids.size(); ++k) {
        if (k != 0) t += ',';
        append_number(t, e.ids[k]);
    }
    t += "],\"count\":";
    append_number(t, e.count);
    t += ",\"name\":";
    append_json_string(t, e.name);
    t += ",\"tags\":{";
    for (std::size_t k = 0; k < e.tags.size(); ++k) {
        if (k != 0) t += ',';
        append_json_string(t, e.tags[k].first);
        t += ':';
        append_json_string(t, e.tags[k].second);
    }
    t += "},\"age_ns\":";
    append_json_range(t, e.age_min, e.age_max);
    t += ",\"view\":\"";
    t += e.view == task_view::whole ? "whole" : e.view == task_view::own_chain ? "own_chain" : "running";
    t += '"';
    if (e.view == task_view::running) {  // see task_copy::held
        t += ",\"held_suspended\":";
        append_number(t, e.held);
    }
    t += ",\"frames\":[";
    for (std::size_t i = 0; i < e.nodes.size(); ++i) {
        if (i != 0) out.text += ',';
        append_json_node(out.text, e.nodes[i]);
        out.flush_if_full();
    }
    out.text += "]}";
}

/// taskdump_json's text into `out`.
inline void write_json_dump(const dump_options& o, text_out& out) {
    std::string& t = out.text;
    t += "{\"format_version\":2,\"generator\":\"async_backtrace.hpp ";
    append_number(t, ABT_VERSION_MAJOR);
    t += '.';
    append_number(t, ABT_VERSION_MINOR);
    t += '.';
    append_number(t, ABT_VERSION_PATCH);
    t += "\",\"grouped\":";
    t += o.group ? "true" : "false";
    t += ",\"tasks\":[";
    await_graph graph;
    bool first = true;
    const std::size_t omitted = for_each_entry(o, &graph, [&](const dump_entry& e) {
        write_json_entry(out, e, first);
        first = false;
    });
    out.text += "\n],\"omitted_tasks\":";
    append_number(out.text, omitted);
    out.text += ",\"cycles\":[";
    const std::vector<std::vector<std::uint64_t>> cycles = graph.cycles();
    const bool stopped = graph.stopped;
    for (std::size_t i = 0; i < cycles.size(); ++i) {
        out.text += i == 0 ? "[" : ",[";
        for (std::size_t k = 0; k < cycles[i].size(); ++k) {
            if (k != 0) out.text += ',';
            append_number(out.text, cycles[i][k]);
        }
        out.text += ']';
    }
    out.text += ']';
    if (stopped) out.text += ",\"cycle_search_stopped\":true";  // only then: readers of 2 need not know it
    out.text += "}\n";
}

/// One folded-stack label: ';' (the separator) and line breaks replaced.
inline void append_folded_label(std::string& out, const char* s) {
    for (; *s != '\0'; ++s) out += *s == ';' || *s == '\n' || *s == '\r' ? '_' : *s;
}

/// The folded lines of e's leaves, each weighted by the tasks and identical
/// frames it stands for. `path` holds the labels from the root down to the
/// node being visited; marks and weights, per level, where its label began
/// and its weight.
inline void fold_entry(const dump_entry& e, std::vector<std::pair<std::string, std::size_t>>& lines) {
    std::string path;
    std::vector<std::size_t> marks, weights;
    for (std::size_t i = 0; i < e.nodes.size(); ++i) {
        const dump_node& n = e.nodes[i];
        while (marks.size() > n.depth) {
            path.resize(marks.back());
            marks.pop_back();
            weights.pop_back();
        }
        marks.push_back(path.size());
        if (!path.empty()) path += ';';
        append_folded_label(path, n.name());
        weights.push_back((weights.empty() ? e.count : weights.back()) * n.count);
        if (n.end != i + 1) continue;  // not a leaf
        lines.emplace_back(path, weights.back());
        if (e.view == task_view::running) {
            lines.back().first += ";[running]";
        } else if (n.wait != nullptr && n.wait != &no_await_site) {
            lines.back().first += ';';
            append_folded_label(lines.back().first, n.wait->where.file);
            lines.back().first += ':';
            append_number(lines.back().first, n.wait->where.line);
        }
    }
}

/// taskdump_folded's text into `out`: grouped first (the weights come out
/// the same, with fewer lines to merge).
inline void write_folded_dump(const dump_options& o, text_out& out) {
    dump_options grouped = o;
    grouped.group = true;
    grouped.max_tasks = 0;
    std::vector<std::pair<std::string, std::size_t>> lines;
    for_each_entry(grouped, nullptr, [&](const dump_entry& e) { fold_entry(e, lines); });
    std::stable_sort(lines.begin(), lines.end(),
                     [](const std::pair<std::string, std::size_t>& a, const std::pair<std::string, std::size_t>& b) {
                         return a.first < b.first;
                     });
    for (std::size_t i = 0; i < lines.size();) {
        std::size_t total = 0;
        std::size_t j = i;
        for (; j < lines.size() && lines[j].first == lines[i].first; ++j) total += lines[j].second;
        out.text += lines[i].first;
        out.text += ' ';
        append_number(out.text, total);
        out.text += '\n';
        out.flush_if_full();
        i = j;
    }
}

/// An entry as the public model has it (see abt::snapshot).
inline void fill_task_snapshot(const dump_entry& e, task_snapshot& t) {
    t.ids = e.ids;
    t.count = e.count;
    t.name = e.name;
    t.tags = e.tags;
    t.age_min = std::chrono::nanoseconds(e.age_min);
    t.age_max = std::chrono::nanoseconds(e.age_max);
    t.whole = e.view == task_view::whole;
    t.frames.resize(e.nodes.size());
    for (std::size_t i = 0; i < e.nodes.size(); ++i) {
        const dump_node& n = e.nodes[i];
        frame_snapshot& f = t.frames[i];
        f.depth = n.depth;
        f.name = n.name();
        f.file = n.site->where.file;
        f.line = n.site->where.line;
        f.state = n.state;
        const bool at_site = n.wait != nullptr && n.wait != &no_await_site;
        f.await_file = at_site ? n.wait->where.file : nullptr;
        f.await_line = at_site ? n.wait->where.line : 0;
        f.await_what = at_site && n.wait->function_id == nullptr ? n.wait->where.function : "";
        f.waited_min = std::chrono::nanoseconds(n.wait_min);
        f.waited_max = std::chrono::nanoseconds(n.wait_max);
        f.awaits_task = n.awaits_task;
        f.count = n.count;
        f.omitted_frames = n.omitted_frames;
    }
}

#endif  // !ABT_DETAIL_LIGHT (dumps)
}  // namespace detail

// ---- Public API definitions -----------------------------------------------

class persistent_frame {
public:
    /// Attaches under the frame running on this thread, if any; otherwise it
    /// is a task of its own. Shown as idle until entered.
    explicit persistent_frame(site s);
    ~persistent_frame();
    persistent_frame(const persistent_frame&) = delete;
    persistent_frame& operator=(const persistent_frame&) = delete;

    /// Records what the operation waits for; ABT_WAITING(frame, "what") adds
    /// the call site. Shown while no callback runs inside the frame.
    void waiting_for(site what);

private:
    friend class detail::reenter_scope;
    detail::frame frame_;
    detail::spinlock lock_;  // orders this frame's callbacks (see DESIGN); never held with another lock
};

namespace detail {

/// ABT_REENTER: makes a persistent frame the current frame for a callback.
class reenter_scope {
public:
    explicit reenter_scope(persistent_frame& p);
    ~reenter_scope();
    reenter_scope(const reenter_scope&) = delete;
    reenter_scope& operator=(const reenter_scope&) = delete;

private:
    frame* frame_;
    spinlock* lock_;
    scope_link link_;
};

}  // namespace detail

// A callback takes the frame's lock anyway: its calls stay out of line in the
// separate mode (the implementation's translation unit defines them).
#if !ABT_DETAIL_LIGHT
ABT_DETAIL_OUT_OF_LINE persistent_frame::persistent_frame(site s) {
    detail::init_frame(&frame_, s.record, detail::this_thread.current, detail::this_thread.current);
    detail::attach_frame_slow(&frame_, detail::attach_mode::persistent);
}

ABT_DETAIL_OUT_OF_LINE persistent_frame::~persistent_frame() {
    bool entered = false;
    {
        detail::lock_guard guard(detail::the_registry.lock);
        entered = frame_.entries.load(detail::order::relaxed) != 0;
        if (!entered) detail::locked_retire(&frame_);
    }
    if (entered)  // reported without the lock, so a crash handler may still dump
        detail::report_misuse(&frame_, "was destroyed while a callback was inside it (ABT_REENTER)",
                              "keep the persistent_frame alive until every ABT_REENTER scope on it ended, "
                              "e.g. hold the owning object by shared_ptr in its handlers");
}

ABT_DETAIL_OUT_OF_LINE void persistent_frame::waiting_for(site what) {
    detail::lock_guard guard(lock_);
    frame_.recorded_wait = what.record;
    if (frame_.entries.load(detail::order::relaxed) == 0)
        detail::set_wait(&frame_, what.record, detail::coarse_now_ns());
}

ABT_DETAIL_OUT_OF_LINE detail::reenter_scope::reenter_scope(persistent_frame& p)
    : frame_(&p.frame_), lock_(&p.lock_), link_{this_thread.current, this_thread.scopes, &p.frame_} {
    {
        lock_guard guard(*lock_);
        const unsigned inside = frame_->entries.load(order::relaxed);
        if (inside == 0) frame_->recorded_wait = nullptr;  // what it waited for has come: a callback runs
        frame_->entries.store(inside + 1, order::relaxed);
        set_wait(frame_, nullptr);  // also when it ran already: dumps see every entry (is_parked_for_this_dump)
    }
    this_thread.current = frame_;
    this_thread.scopes = &link_;
}

ABT_DETAIL_OUT_OF_LINE detail::reenter_scope::~reenter_scope() {
    if (this_thread.current != frame_)
        report_bypassed_await(this_thread.current != nullptr ? this_thread.current : frame_,
                              "was still active when the callback that re-entered its persistent frame "
                              "returned; a coroutine suspended through a co_await that bypassed ABT_AWAIT");
    {
        lock_guard guard(*lock_);
        const unsigned inside = frame_->entries.load(order::relaxed) - 1;
        frame_->entries.store(inside, order::relaxed);
        const frame_site* idle = frame_->recorded_wait != nullptr ? frame_->recorded_wait : &no_await_site;
        set_wait(frame_, inside == 0 ? idle : nullptr, inside == 0 ? coarse_now_ns() : 0);
    }
    this_thread.current = link_.saved_current;
    this_thread.scopes = link_.outer;
}

ABT_DETAIL_OUT_OF_LINE std::string detail::plain_taskdump(bool wait_for_running_tasks) {
    detail::text_out out;
    out.text.reserve(task_count() * 160);  // before the dump: about three frames a task
    detail::write_tree_dump(detail::plain_dump_options(wait_for_running_tasks), true, out);
    return std::move(out.text);
}
ABT_DETAIL_OUT_OF_LINE std::string taskdump_tree() { return detail::plain_taskdump(false); }
ABT_DETAIL_OUT_OF_LINE std::string taskdump_tree(const dump_options& options) {
    detail::text_out out;
    if (!options.group && options.max_tasks == 0) out.text.reserve(task_count() * 200);
    detail::write_tree_dump(options, false, out);
    return std::move(out.text);
}
ABT_DETAIL_OUT_OF_LINE std::string taskdump_json(const dump_options& options) {
    detail::text_out out;
    detail::write_json_dump(options, out);
    return std::move(out.text);
}
ABT_DETAIL_OUT_OF_LINE std::string taskdump_folded(const dump_options& options) {
    detail::text_out out;
    detail::write_folded_dump(options, out);
    return std::move(out.text);
}

ABT_DETAIL_OUT_OF_LINE void for_each_task(const dump_options& options, void (*visit)(const task_snapshot&, void*),
                                          void* context) {
    task_snapshot t;
    detail::for_each_entry(options, nullptr, [&](const detail::dump_entry& e) {
        detail::fill_task_snapshot(e, t);
        visit(static_cast<const task_snapshot&>(t), context);
    });
}
ABT_DETAIL_OUT_OF_LINE snapshot take_snapshot(const dump_options& options) {
    snapshot s;
    detail::await_graph graph;
    s.omitted_tasks = detail::for_each_entry(options, &graph, [&](const detail::dump_entry& e) {
        s.tasks.emplace_back();
        detail::fill_task_snapshot(e, s.tasks.back());
    });
    s.cycles = graph.cycles();
    s.cycle_search_stopped = graph.stopped;
    return s;
}
ABT_DETAIL_OUT_OF_LINE void dump(std::FILE* out, const dump_options& options) {
    detail::stream_tree_dump(out, std::string(), options, "");
}

namespace detail {

/// The root of the task whose frame runs on this thread (null: none). Under
/// the registry lock: published roots are re-parented under it.
inline frame* locked_current_root() {
    frame* f = this_thread.current;
    if (f == nullptr) return nullptr;
    while (f->parent != nullptr) f = f->parent;
    return f;
}

/// Edits the current task's name and tags under the lock of the list its
/// root is in: the registry lock for a published root, this thread's
/// roots_lock for its own unpublished one (the order the code takes them in
/// everywhere: registry first).
template <class Edit>
bool edit_current_task_info(Edit edit) {
    if (this_thread.current == nullptr) return false;
    lock_guard guard(the_registry.lock);
    frame* root = locked_current_root();
    const auto apply = [&] {
        task_info* info = root->info.load(order::relaxed);
        if (info == nullptr) {
            info = new task_info();
            root->info.store(info, order::relaxed);
        }
        edit(*info);
    };
    if (root->listed == membership::thread_roots) {
        lock_guard roots(this_thread.roots_lock);
        apply();
    } else {
        apply();
    }
    return true;
}

}  // namespace detail

ABT_DETAIL_OUT_OF_LINE bool set_task_name(std::string_view name) {
    return detail::edit_current_task_info([&](detail::task_info& info) { info.name.assign(name.data(), name.size()); });
}

ABT_DETAIL_OUT_OF_LINE bool set_task_tag(std::string_view key, std::string_view value) {
    return detail::edit_current_task_info([&](detail::task_info& info) {
        for (auto& tag : info.tags)
            if (tag.first == key) {
                tag.second.assign(value.data(), value.size());
                return;
            }
        info.tags.emplace_back(std::string(key), std::string(value));
    });
}

ABT_DETAIL_OUT_OF_LINE std::uint64_t current_task_id() {
    if (detail::this_thread.current == nullptr) return 0;
    detail::lock_guard guard(detail::the_registry.lock);
    return detail::locked_current_root()->task_id;
}

ABT_DETAIL_OUT_OF_LINE bool awaiting_task(std::uint64_t id) {
    detail::frame* f = detail::this_thread.current;
    if (f == nullptr || id == 0) return false;
    detail::lock_guard guard(detail::the_registry.lock);
    detail::locked_publish_chain(f);  // the note's fields exist once published (as for a dump's own chain)
    f->awaits_task = id;
    f->awaits_at = f->wait_changes.load(detail::order::relaxed) + 2;  // its next suspension: see frame
    return true;
}

ABT_DETAIL_OUT_OF_LINE std::vector<location> backtrace() {
    std::vector<location> chain;
    const detail::frame* f = detail::this_thread.current;  // runs here: it stays alive
    if (f == nullptr) return chain;
    detail::dump_reader r;
    r.trace = &chain;
    detail::lock_guard guard(detail::the_registry.lock);
    // In holds of detail::frames_per_hold frames, as a dump (the chain may be
    // a million frames long). A chain whose links keep changing while it is
    // read in pieces (its frames' other children come and go: a join's) is
    // read in one hold after 8 tries.
    detail::piecewise_mark_holder piecewise(r);
    for (int tries = 0;; ++tries) {
        chain.clear();
        r.one_hold = tries == 8;
        const detail::walk_end e =
            detail::locked_walk_up(r, f, [&](const detail::frame* g) { chain.push_back(g->site->where); });
        if (e == detail::walk_end::done) return chain;
        if (e == detail::walk_end::too_big) {  // this hold is spent: on with marks, from a new hold
            piecewise.take(f, nullptr);
            detail::pause_hold(r);
        } else {
            piecewise.renew();
        }
    }
}

ABT_DETAIL_OUT_OF_LINE std::size_t task_count() {
    detail::lock_guard guard(detail::the_registry.lock);
    std::size_t n = detail::the_registry.task_count;
    detail::locked_for_each_thread_roots([&](const detail::thread_state& ts) { n += ts.root_count; });
    return n;
}

// ---- Signal dumps -------------------------------------------------------------

namespace detail {

#if ABT_DETAIL_HAS_SIGNALS
inline void locked_uninstall_signal_dump();

/// The signal dump's state. `lock` guards every field; the handler reads
/// only signal_dump_wake_fd (an atomic int: async-signal-safe). The pipe is
/// made once per process and never closed by it, so a handler still running
/// while another thread uninstalls never writes to a closed or reused
/// descriptor. A forked child gets its own (see on_fork_in_child).
struct signal_dump_state {
    std::mutex lock;
    bool installed = false;
    bool fork_handlers_registered = false;
    int signo = 0;
    int pipe_fds[2] = {-1, -1};  // [0]: the watcher reads; [1]: non-blocking, the handler writes
    struct sigaction previous {};
    // Heap-held, so that a forked child, where the thread does not exist,
    // can drop it without joining or destroying it.
    std::thread* watcher = nullptr;
    std::thread* lost_in_fork = nullptr;  // a forked child's handle of its parent's watcher: kept, never used
    // At exit: stops the watcher (a joinable std::thread must not be destroyed).
    ~signal_dump_state() {
        std::lock_guard<std::mutex> guard(lock);
        locked_uninstall_signal_dump();
    }
};
ABT_DETAIL_PROGRAM_WIDE inline signal_dump_state the_signal_dump;
ABT_DETAIL_PROGRAM_WIDE inline std::atomic<int> signal_dump_wake_fd{-1};

/// The handler: one write(2), nothing else (async-signal-safe).
inline void on_dump_signal(int) {
    const int saved_errno = errno;
    const int fd = signal_dump_wake_fd.load(std::memory_order_relaxed);
    if (fd >= 0) {
        const char wake = 1;
        const ssize_t written = write(fd, &wake, 1);  // a full pipe already holds a wake-up
        static_cast<void>(written);
    }
    errno = saved_errno;
}

/// The watcher thread: one dump per burst of wake-ups, until a stop byte.
inline void dump_on_wake_ups(int read_fd, int signo, std::FILE* out, dump_options options) {
    for (;;) {
        char bytes[64];
        const ssize_t n = read(read_fd, bytes, sizeof bytes);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        bool stop = false, wake = false;
        for (ssize_t i = 0; i < n; ++i) (bytes[i] == 0 ? stop : wake) = true;
        if (wake && !stop) {
            std::string head = "async_backtrace: dump on signal ";
            append_number(head, static_cast<std::uint64_t>(signo));
            head += " (pid ";
            append_number(head, static_cast<std::uint64_t>(getpid()));
            head += ")\n";
            stream_tree_dump(out, std::move(head), options, "async_backtrace: end of dump\n");
        }
        if (stop) return;
    }
}

inline bool make_wake_pipe(signal_dump_state& st) {
    if (st.pipe_fds[0] >= 0) return true;
    int fds[2];
    if (pipe(fds) != 0) return false;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    st.pipe_fds[0] = fds[0];
    st.pipe_fds[1] = fds[1];
    return true;
}

/// Stops the watcher: a stop byte (retried while the pipe is full), then join.
inline void locked_stop_watcher(signal_dump_state& st) {
    const char stop = 0;
    while (write(st.pipe_fds[1], &stop, 1) != 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    st.watcher->join();
    delete st.watcher;
    st.watcher = nullptr;
}

/// Restores the signal's previous action and stops the watcher (st.lock held).
inline void locked_uninstall_signal_dump() {
    signal_dump_state& st = the_signal_dump;
    if (!st.installed) return;
    sigaction(st.signo, &st.previous, nullptr);
    signal_dump_wake_fd.store(-1, std::memory_order_relaxed);
    locked_stop_watcher(st);
    st.installed = false;
}

// fork(): the lock is held across it, so the child's copy is in a known
// state. The child has no watcher thread and shares the parent's pipe: it
// restores the signal's previous action, drops the thread handle (leaked:
// that thread does not exist there), and closes its copies of the pipe, so
// it neither stops nor wakes the parent's watcher; it may install again.
// Only async-signal-safe calls in the child.
inline void on_fork_prepare() { the_signal_dump.lock.lock(); }
inline void on_fork_in_parent() { the_signal_dump.lock.unlock(); }
inline void on_fork_in_child() {
    signal_dump_state& st = the_signal_dump;
    signal_dump_wake_fd.store(-1, std::memory_order_relaxed);
    if (st.installed) sigaction(st.signo, &st.previous, nullptr);
    st.installed = false;
    if (st.watcher != nullptr) st.lost_in_fork = st.watcher;  // still referenced: not a leak to leak checkers
    st.watcher = nullptr;
    for (int& fd : st.pipe_fds) {
        if (fd >= 0) close(fd);
        fd = -1;
    }
    st.lock.unlock();
}

/// Empties the pipe of wake-ups left by a handler that ran during an
/// uninstall, so that the next watcher does not dump for them.
inline void drain_wake_pipe(int read_fd) {
    const int flags = fcntl(read_fd, F_GETFL);
    fcntl(read_fd, F_SETFL, flags | O_NONBLOCK);
    char bytes[64];
    while (read(read_fd, bytes, sizeof bytes) > 0) {
    }
    fcntl(read_fd, F_SETFL, flags);
}
#endif

}  // namespace detail

ABT_DETAIL_OUT_OF_LINE bool install_signal_dump(int signo, std::FILE* out, const dump_options& options) {
#if ABT_DETAIL_HAS_SIGNALS
    detail::signal_dump_state& st = detail::the_signal_dump;
    std::lock_guard<std::mutex> guard(st.lock);  // one install or uninstall at a time, from start to end
    detail::locked_uninstall_signal_dump();
    if (!st.fork_handlers_registered) {
        if (pthread_atfork(detail::on_fork_prepare, detail::on_fork_in_parent, detail::on_fork_in_child) != 0)
            return false;
        st.fork_handlers_registered = true;
    }
    if (signo <= 0 || !detail::make_wake_pipe(st)) return false;
    detail::drain_wake_pipe(st.pipe_fds[0]);
    // A thread that cannot start: false here; without exceptions, std::terminate.
    ABT_DETAIL_TRY {
        st.watcher = new std::thread(detail::dump_on_wake_ups, st.pipe_fds[0], signo, out, options);
    } ABT_DETAIL_CATCH_ALL {
        return false;
    }
    detail::signal_dump_wake_fd.store(st.pipe_fds[1], std::memory_order_relaxed);
    struct sigaction action {};
    action.sa_handler = detail::on_dump_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(signo, &action, &st.previous) != 0) {
        detail::signal_dump_wake_fd.store(-1, std::memory_order_relaxed);
        detail::locked_stop_watcher(st);
        return false;
    }
    st.installed = true;
    st.signo = signo;
    return true;
#else
    static_cast<void>(signo);
    static_cast<void>(out);
    static_cast<void>(options);
    return false;
#endif
}

ABT_DETAIL_OUT_OF_LINE void uninstall_signal_dump() {
#if ABT_DETAIL_HAS_SIGNALS
    std::lock_guard<std::mutex> guard(detail::the_signal_dump.lock);
    detail::locked_uninstall_signal_dump();
#endif
}

// ---- Watchdog -------------------------------------------------------------------

/// The watchdog thread's state. `lock` guards `stop` and `episodes`; the
/// rest belongs to the thread.
struct watchdog::state {
    watchdog_options options;
    std::mutex lock;
    std::condition_variable wake;
    bool stop = false;
    std::size_t episodes = 0;
    // Running frames seen at the last check: (task id, frame, change count)
    // and since when that frame has been seen running with that count.
    struct running_frame {
        std::uint64_t task;
        const void* frame;
        detail::change_count changes;
        std::uint64_t since;
    };
    std::vector<running_frame> running;
    std::vector<bool> waits_at_depth;  // stalls' scratch
    bool in_episode = false;
    std::thread thread;

    /// One line per stalled task (none: nothing stalls).
    std::string stalls(std::uint64_t now) {
        std::string report;
        std::vector<running_frame> seen;
        const std::uint64_t suspended_limit = static_cast<std::uint64_t>(options.suspended_longer_than.count()) * 1000000u;
        const std::uint64_t running_limit = static_cast<std::uint64_t>(options.running_longer_than.count()) * 1000000u;
        detail::for_each_task_copy(std::chrono::milliseconds(0), [&](const detail::task_copy& t) {
            if (t.view == detail::task_view::running) {
                // A task never published has run since it was made; else a
                // frame of it has run since the first check that found it
                // running with the same change count (the longest one counts).
                // Unknown running frames (its links kept changing while it
                // was copied): nothing to judge this time, and what the
                // checks before found is kept for the next.
                if (!t.running_frames_known) {
                    for (const running_frame& r : running)
                        if (r.task == t.id) seen.push_back(r);
                    return;
                }
                std::uint64_t since = t.running_frames.empty() ? t.born_ns : now;
                for (const auto& f : t.running_frames) {
                    std::uint64_t frame_since = now;
                    for (const running_frame& r : running)
                        if (r.task == t.id && r.frame == f.first && r.changes == f.second) frame_since = r.since;
                    seen.push_back({t.id, f.first, f.second, frame_since});
                    since = (std::min)(since, frame_since);
                }
                if (detail::elapsed(now, since) > running_limit) {
                    report += "async_backtrace: watchdog: task ";
                    detail::append_number(report, t.id);
                    report += " (";
                    report += t.frames[0].name;
                    report += ") has run without suspending for ";
                    detail::append_duration(report, detail::elapsed(now, since));
                    report += " (code that never yields, or a co_await that bypassed ABT_AWAIT left a frame active)";
                    if (t.held != 0) {
                        report += "; ";
                        report += detail::running_note(t.held).substr(std::strlen("[running] and "));
                    }
                    report += '\n';
                }
                return;
            }
            // Stalled: waits at a site (or idle) longer than the limit. Only
            // the innermost waiting frames are reported: an outer frame that
            // waits for a frame below it says nothing, even before that one
            // is stalled. (Its wait began first: an ABT_AWAIT of a child
            // counts the child's run up to its own suspension. Judged alone,
            // it would pass the limit first and be named for the episode.)
            const auto waits = [&](const detail::frame_copy& f) {
                return f.state == frame_state::idle ||
                       (f.state == frame_state::suspended && f.wait != &detail::no_await_site);
            };
            // One pass from the last frame up (children come after their
            // parent): waits_at[d] says whether a frame at depth d seen
            // since the last frame at depth d - 1 waits, or waits below.
            std::vector<bool>& waits_at = waits_at_depth;
            waits_at.clear();
            std::vector<std::size_t> innermost;  // the frames to report, last first
            for (std::size_t i = t.frames.size(); i-- > 0;) {
                const detail::frame_copy& f = t.frames[i];
                if (waits_at.size() < f.depth + 2) waits_at.resize(f.depth + 2, false);
                const bool waits_below = waits_at[f.depth + 1];
                waits_at[f.depth + 1] = false;  // those were its children's
                if (waits(f) || waits_below) waits_at[f.depth] = true;
                if (waits(f) && !waits_below && detail::elapsed(now, f.since) > suspended_limit) innermost.push_back(i);
            }
            for (std::size_t k = innermost.size(); k-- > 0;) {
                const detail::frame_copy& f = t.frames[innermost[k]];
                report += "async_backtrace: watchdog: task ";
                detail::append_number(report, t.id);
                report += " (";
                report += f.name;
                report += ")";
                if (f.wait != &detail::no_await_site) {
                    report += " at ";
                    detail::append_place(report, f.wait->where);
                }
                report += f.state == frame_state::idle ? " idle for " : " suspended for ";
                detail::append_duration(report, detail::elapsed(now, f.since));
                report += '\n';
            }
        });
        running = std::move(seen);
        return report;
    }

    void run() {
        std::unique_lock<std::mutex> guard(lock);
        while (!wake.wait_for(guard, options.check_every, [this] { return stop; })) {
            guard.unlock();
            const std::string report = stalls(detail::coarse_now_ns());
            const bool report_now = !report.empty() && !in_episode;
            in_episode = !report.empty();
            if (report_now) {
                detail::stream_tree_dump(options.out, report, options.dump, "async_backtrace: end of watchdog report\n");
            }
            guard.lock();
            if (report_now) ++episodes;
        }
    }
};

ABT_DETAIL_OUT_OF_LINE watchdog::watchdog(const watchdog_options& options) : state_(new state()) {
    state_->options = options;
    ABT_DETAIL_TRY {  // a thread that cannot start throws (without exceptions: std::terminate)
        state_->thread = std::thread([s = state_] { s->run(); });
    } ABT_DETAIL_CATCH_ALL {
        delete state_;
        ABT_DETAIL_RETHROW;
    }
}

ABT_DETAIL_OUT_OF_LINE watchdog::~watchdog() {
    {
        std::lock_guard<std::mutex> guard(state_->lock);
        state_->stop = true;
    }
    state_->wake.notify_all();
    state_->thread.join();
    delete state_;
}

ABT_DETAIL_OUT_OF_LINE std::size_t watchdog::episodes() const {
    std::lock_guard<std::mutex> guard(state_->lock);
    return state_->episodes;
}

// ---- Leak checks ------------------------------------------------------------------

ABT_DETAIL_OUT_OF_LINE task_watermark::task_watermark() {
    detail::for_each_task_copy(std::chrono::milliseconds(0), [&](const detail::task_copy& t) { existing_.push_back(t.id); });
    std::sort(existing_.begin(), existing_.end());
}

ABT_DETAIL_OUT_OF_LINE std::string task_watermark::leaked(std::chrono::milliseconds grace) const {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
        const bool report = std::chrono::steady_clock::now() >= deadline;
        std::size_t leaks = 0;
        detail::text_out trees;
        const dump_options options;
        detail::tree_writer w{options, false, trees, {}, {}, {}};
        detail::dump_entry e;
        std::vector<std::size_t> scratch;
        detail::for_each_task_copy(std::chrono::milliseconds(0), [&](const detail::task_copy& t) {
            if (std::binary_search(existing_.begin(), existing_.end(), t.id)) return;
            ++leaks;
            if (!report) return;
            detail::fill_entry(t, 0, e, scratch);
            w.entry(e);
        });
        if (leaks == 0) return std::string();
        if (report) {
            std::string text = "async_backtrace: ";
            detail::append_number(text, leaks);
            text += leaks == 1 ? " task" : " tasks";
            text += " made since the watermark still alive:\n";
            return text + trees.text;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

#endif  // !ABT_DETAIL_LIGHT

}  // namespace ABT_DETAIL_ABI
}  // namespace abt

#endif  // ABT_ENABLED
#endif  // ABT_ASYNC_BACKTRACE_HPP
