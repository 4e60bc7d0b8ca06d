// Built as a shared library with -fvisibility=hidden (make test): its frames
// must join the program's one registry and thread state.
#include "../async_backtrace.hpp"
#include "coro.hpp"

__attribute__((visibility("default"))) coro::task<> library_waiter(coro::event& ev) {
    ABT_FRAMED("library waiter");
    co_await ABT_AWAIT(ev.wait());
}
