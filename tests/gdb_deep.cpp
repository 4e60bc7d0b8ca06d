// The deep task tools/abt_gdb.py is tested on (tests/check_gdb.sh --deep):
// deep_chain::walk (a recursive async walk) DEPTH levels deep (argument 1;
// 20,000 by default), its innermost frame waiting for an event that never
// comes. It prints its own dump (taskdump_tree(false); a chain's grouped dump
// without ids or times is the same text) to stdout, then waits to be
// inspected and killed.
#include "deep_chain.hpp"

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

int main(int argc, char** argv) {
    const int depth = argc > 1 ? std::atoi(argv[1]) : 20000;
    coro::task<> root = deep_chain::walk(depth);
    // The chain is made on a thread with a 1 GB stack, which ends (and unmaps
    // it) once the chain has suspended: see deep_chain::on_stack_of.
    deep_chain::on_stack_of(std::size_t{1} << 30, [&] { root.start(); });
    std::fputs(abt::taskdump_tree(false).c_str(), stdout);
    std::fflush(stdout);
    for (;;) pause();
}
