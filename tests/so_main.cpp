// Awaits a framed coroutine from a shared library built with
// -fvisibility=hidden; exits 0 when both share one registry.
#include "../async_backtrace.hpp"
#include "coro.hpp"

#include <cstdio>
#include <string>

coro::task<> library_waiter(coro::event& ev);

coro::task<> program_task(coro::event& ev) {
    ABT_FRAMED("program task");
    co_await ABT_AWAIT(library_waiter(ev));
}

int main() {
    coro::event ev;
    coro::task<> t = program_task(ev);
    t.start();
    const std::string dump = abt::taskdump_tree();
    const bool nested = dump.find("\xE2\x95\xBC program task at") == 0 &&
                        dump.find("\n  \xE2\x94\x94\xE2\x95\xBC library waiter at") != std::string::npos;
    const bool counted = abt::task_count() == 1;
    ev.set();
    const bool cleaned = t.done() && abt::task_count() == 0;
    if (nested && counted && cleaned) {
        std::puts("ok: a -fvisibility=hidden shared library shares the program's registry");
        return 0;
    }
    std::fprintf(stderr, "FAIL: shared library frames\n%s", dump.c_str());
    return 1;
}
