// An inline framed coroutine used from two translation units built with
// different optimization levels (see tu_inline_main.cpp): each may keep its
// own copy of __PRETTY_FUNCTION__ while the frame's site record is merged.
#ifndef ABT_TESTS_TU_INLINE_HPP
#define ABT_TESTS_TU_INLINE_HPP
#include "../async_backtrace.hpp"
#include "coro.hpp"

inline coro::event tu_inline_event;
inline coro::detached tu_inline_waiter() {
    ABT_FRAMED();
    co_await ABT_AWAIT(tu_inline_event.wait());
}
#endif
