// ============================================================================
// async_backtrace_boost_asio.hpp - async_backtrace.hpp for Boost.Asio
// coroutines (optional): async_backtrace_asio.hpp for boost::asio.
//
//     #include "async_backtrace_boost_asio.hpp"  // includes Boost.Asio and async_backtrace.hpp
//
//     boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket s) {
//         ABT_FRAMED();
//         std::size_t n = co_await s.async_read_some(buffer, ABT_USE_AWAITABLE);
//     }
//
// The same API as for standalone asio (ABT_USE_AWAITABLE,
// ABT_USE_AWAITABLE_JOIN, abt::asio_support::awaitable_operators, the spawn
// rule): see async_backtrace_asio.hpp, which both headers share. Include one
// of the two per translation unit. Needs Boost 1.81 or newer.
// MIT license, like async_backtrace.hpp.
// ============================================================================
#ifndef ABT_ASYNC_BACKTRACE_BOOST_ASIO_HPP
#define ABT_ASYNC_BACKTRACE_BOOST_ASIO_HPP

#define ABT_DETAIL_ASIO_WANT_BOOST 1
#include "async_backtrace_asio.hpp"
#undef ABT_DETAIL_ASIO_WANT_BOOST

#endif  // ABT_ASYNC_BACKTRACE_BOOST_ASIO_HPP
