// The asio tests run against standalone asio and, built with
// -DABT_TEST_BOOST_ASIO, against Boost.Asio: this header includes the
// adapter for that flavour, and makes `asio::` name it in the tests.
#ifndef ABT_TESTS_ASIO_FLAVOUR_HPP
#define ABT_TESTS_ASIO_FLAVOUR_HPP

#include <cstddef>  // before asio: see async_backtrace_asio.hpp

#if defined(ABT_TEST_BOOST_ASIO)
#include "../async_backtrace_boost_asio.hpp"
namespace asio = boost::asio;
#define ABT_TEST_ASIO_FLAVOUR "Boost.Asio"
namespace testing {
using asio_error_code = boost::system::error_code;
using asio_system_error = boost::system::system_error;
}  // namespace testing
#else
#include "../async_backtrace_asio.hpp"
#define ABT_TEST_ASIO_FLAVOUR "standalone asio"
namespace testing {
using asio_error_code = asio::error_code;
using asio_system_error = asio::system_error;
}  // namespace testing
#endif

// asio::deferred left asio::experimental in asio 1.24 (Boost 1.80).
#if ABT_DETAIL_ASIO_VERSION >= 102400
#define ABT_TEST_DEFERRED asio::deferred
#else
#define ABT_TEST_DEFERRED asio::experimental::deferred
#endif

#endif
