// The header compiles on its own, first in its translation unit.
#include "../async_backtrace.hpp"
