// The one translation unit of the separate mode that holds the header's
// out-of-line definitions (make test's test-gcc-separate): every other file
// of that binary is compiled with -DABT_SEPARATE_IMPLEMENTATION.
#define ABT_IMPLEMENTATION
#include "../async_backtrace.hpp"
