// The program tools/abt_gdb.py is tested on (tests/check_gdb.sh): the seed's
// tree, a pending task, an idle persistent frame with what it waits for, and
// a thread blocked inside a framed function. It prints its own dump
// (taskdump_tree(false)) to stdout and the grouped one (no ids or times) to
// stderr, then waits to be inspected and killed.
#include "../async_backtrace.hpp"
#include "coro.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include <unistd.h>

namespace target {

coro::event never;

coro::task<> pending() { ABT_FRAMED(); co_await ABT_AWAIT(never.wait()); }
coro::task<> fiz() { ABT_FRAMED(); co_await ABT_AWAIT(never.wait()); }
coro::task<> baz() { ABT_FRAMED(); co_await ABT_AWAIT(never.wait()); }
coro::task<> buz() { ABT_FRAMED(); co_await ABT_AWAIT(baz()); }
coro::task<> bar() { ABT_FRAMED(); co_await ABT_AWAIT(coro::when_all(buz(), fiz())); }
coro::task<> foo() { ABT_FRAMED(); co_await ABT_AWAIT(bar()); }

}  // namespace target

int main() {
    coro::task<> foo = target::foo(), pending = target::pending(), pending2 = target::pending(),
                 pending3 = target::pending();
    foo.start();
    pending.start();
    pending2.start();
    pending3.start();
    abt::persistent_frame connection{ABT_SITE("connection")};
    ABT_WAITING(connection, "socket read");
    std::thread([] {
        ABT_FRAMED("busy_worker");
        for (;;) pause();  // blocked inside a framed function: a running task
    }).detach();
    while (abt::task_count() < 6) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    abt::dump_options grouped;
    grouped.group = true;
    grouped.ids = false;
    grouped.times = false;
    std::fputs(abt::taskdump_tree(grouped).c_str(), stderr);
    std::fflush(stderr);
    std::fputs(abt::taskdump_tree(false).c_str(), stdout);
    std::fflush(stdout);
    for (;;) pause();
}
