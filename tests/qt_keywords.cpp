// Qt's keyword macros (qobjectdefs.h: slots, signals, emit; qglobal.h:
// foreach) are defined before the header in every Qt program that includes
// it after a Qt header: the header must use none of those names (make
// check-include compiles this).
#define slots
#define signals public
#define emit
#define foreach(variable, container) for (variable : container)
#include "../async_backtrace.hpp"

int main() { return static_cast<int>(abt::task_count()); }
