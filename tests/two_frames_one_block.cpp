// Must NOT compile: two ABT_FRAMED in one block. make check-include checks
// that both compilers reject it with an error that names the fix
// (one_ABT_FRAMED_per_block_open_braces_for_the_next).
#include "../async_backtrace.hpp"

void two_frames() {
    ABT_FRAMED();
    ABT_FRAMED("second");
}

int main() { two_frames(); }
