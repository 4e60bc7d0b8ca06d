// Synchronous use compiles and works as C++17 (no coroutines needed).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "../async_backtrace.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>

static_assert(ABT_DETAIL_HAS_COROUTINES == 0 || __cplusplus >= 202002L, "this file is built as C++17");

namespace sync17 {
std::string inner() {
    ABT_FRAMED();
    return abt::backtrace().at(0).function + std::string("<-") + abt::backtrace().at(1).function;
}
std::string outer() {
    ABT_FRAMED();
    return inner();
}
}  // namespace sync17

TEST_CASE("sync frames, persistent frames and dumps work in C++17" * doctest::skip(!ABT_ENABLED)) {
    CHECK(sync17::outer() == "sync17::inner<-sync17::outer");
    abt::persistent_frame op{ABT_SITE("op")};
    ABT_WAITING(op, "input");
    CHECK(abt::taskdump_tree().find("(input)") != std::string::npos);
    std::string from_thread;
    {
        ABT_REENTER(op);
        std::thread([&] { from_thread = abt::taskdump_tree(); }).join();
    }
    CHECK(from_thread.find("[running]") != std::string::npos);
    CHECK(abt::task_count() == 1);
}
