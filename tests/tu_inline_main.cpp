// A frame made in one translation unit and suspended by ABT_AWAIT code from
// another still suspends, resumes and ends cleanly (exit status 0), also when
// it is resumed and ends on another thread.
#include "tu_inline.hpp"

#include <cstdio>
#include <string>
#include <thread>

void start_waiter_in_other_tu();

static int failures = 0;
static void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s\n%s", what, abt::taskdump_tree().c_str());
        ++failures;
    }
}

int main() {
    tu_inline_waiter();
    start_waiter_in_other_tu();
    check(abt::backtrace().empty(), "no frame is left active on the main thread");
    const std::string dump = abt::taskdump_tree();
    check(dump.find("[running]") == std::string::npos, "both waiters show as suspended");
    check(abt::task_count() == 2, "two tasks");
    std::thread([] { tu_inline_event.set(); }).join();  // both resume and end on another thread
    check(abt::task_count() == 0, "no task left");
    if (failures == 0) std::puts("ok: frames suspend across translation units built differently");
    return failures == 0 ? 0 : 1;
}
