// Built at -O0 while tu_inline_main.cpp is built at -O2 (make test).
#include "tu_inline.hpp"

void start_waiter_in_other_tu() { tu_inline_waiter(); }
