// Other libraries' macros, defined before the header:
//  - Qt's keyword macros (qobjectdefs.h: slots, signals, emit; qglobal.h:
//    foreach), in every Qt program that includes it after a Qt header;
//  - windows.h's min and max (without NOMINMAX), function-like macros.
// The header must use none of those names as macro calls (make
// check-include compiles this). The standard headers come first, as they
// would after windows.h: theirs are not this test's concern.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#if __cplusplus >= 202002L
#include <coroutine>
#endif

#define slots
#define signals public
#define emit
#define foreach(variable, container) for (variable : container)
#define min(a, b) (((a) < (b)) ? (a) : (b))
#define max(a, b) (((a) > (b)) ? (a) : (b))
#include "../async_backtrace.hpp"

int main() { return static_cast<int>(abt::task_count()); }
