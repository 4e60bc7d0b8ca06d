// See abi_enabled.cpp.
#define ABT_ENABLED 0
#include "../async_backtrace.hpp"

void use_frame(abt::persistent_frame&) {}
