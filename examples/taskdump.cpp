// The seed example of async_backtrace, in C++: foo -> bar -> a join of
// (buz -> baz) and fiz, plus a spawned task `pending`. Prints the task tree.
#include "../async_backtrace.hpp"
#include "../tests/coro.hpp"

#include <cstdio>

namespace example {

coro::event never;       // nobody sets it: what a hung server waits on
coro::run_loop loop;

coro::task<> pending() {
    ABT_FRAMED();
    co_await ABT_AWAIT(never.wait());
}

coro::task<> fiz() {
    ABT_FRAMED();
    co_await ABT_AWAIT(loop.schedule());  // a yield: the loop resumes it later
}

coro::task<> baz() {
    ABT_FRAMED();
    co_await ABT_AWAIT(never.wait());
}

coro::task<> buz() {
    ABT_FRAMED();
    co_await ABT_AWAIT(baz());
}

coro::task<> bar() {
    ABT_FRAMED();
    co_await ABT_AWAIT(coro::when_all(buz(), fiz()));
}

coro::task<> foo() {
    ABT_FRAMED();
    co_await ABT_AWAIT(bar());
}

}  // namespace example

int main() {
    coro::task<> foo = example::foo();
    coro::task<> pending = example::pending();
    foo.start();
    pending.start();
    std::fputs(abt::taskdump_tree(true).c_str(), stderr);
}
