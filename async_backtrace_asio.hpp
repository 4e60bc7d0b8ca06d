// ============================================================================
// async_backtrace_asio.hpp - async_backtrace.hpp for asio coroutines (optional)
//
// asio's coroutines (asio::awaitable) accept only asio's own awaitables in
// co_await, so ABT_AWAIT cannot wrap their operations. Use this completion
// token instead, for every operation a framed asio coroutine awaits:
//
//     #include "async_backtrace_asio.hpp"   // includes asio and async_backtrace.hpp
//
//     asio::awaitable<void> session(asio::ip::tcp::socket s) {
//         ABT_FRAMED();
//         std::size_t n = co_await s.async_read_some(buffer, ABT_USE_AWAITABLE);
//     }
//
// ABT_USE_AWAITABLE is asio::use_awaitable plus its call site: while the
// operation is pending, every frame of the coroutine stack is shown
// suspended, the innermost at that line. Awaiting another asio::awaitable
// needs nothing (asio resumes it on the same thread: a child frame). Handlers
// should run with no frame current (io_context::run outside framed code), as
// with ABT_WORK_ITEM. With ABT_ENABLED 0 it is plain asio::use_awaitable.
// Needs standalone asio with coroutine support (Debian libasio-dev 1.22).
// MIT license, like async_backtrace.hpp.
// ============================================================================
#ifndef ABT_ASYNC_BACKTRACE_ASIO_HPP
#define ABT_ASYNC_BACKTRACE_ASIO_HPP

// asio 1.22 does not detect clang's C++20 coroutines by itself.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#define ASIO_HAS_STD_COROUTINE 1
#endif

// A standard header first: asio 1.22 decides between aligned_alloc and
// operator new by a libstdc++ macro that only exists once a standard header
// was included, so translation units that include asio first and those that
// do not would otherwise disagree (an ODR violation ASan reports as an
// alloc-dealloc mismatch).
#include <cstddef>

#include <asio.hpp>

#include "async_backtrace.hpp"

#include <exception>
#include <type_traits>
#include <utility>

#if !ABT_ENABLED
#define ABT_USE_AWAITABLE (::asio::use_awaitable)
#else
#define ABT_USE_AWAITABLE \
    (::abt::asio_support::traced_t<::asio::use_awaitable_t<>>{::asio::use_awaitable, ABT_DETAIL_STATIC_SITE("")})

namespace abt {
namespace asio_support {

/// A completion token: `token` plus the call site of the operation.
template <class Token>
struct traced_t {
    Token token;
    const detail::frame_site* site;
};

}  // namespace asio_support
}  // namespace abt

/// The operation is started through asio::use_awaitable; its initiation runs
/// after the coroutine stack suspended (asio's rule), on the thread that ran
/// it, and suspends that thread's frames; this coroutine resumes on the thread
/// that pumps the stack again, and resumes them there before returning the
/// result (or rethrowing the error).
template <class Executor, class R, class... Args>
class asio::async_result<::abt::asio_support::traced_t<::asio::use_awaitable_t<Executor>>, R(Args...)> {
    using inner = ::asio::async_result<::asio::use_awaitable_t<Executor>, R(Args...)>;

public:
    using return_type = typename inner::return_type;

    template <class Initiation, class... InitArgs>
    static return_type initiate(Initiation initiation,
                                ::abt::asio_support::traced_t<::asio::use_awaitable_t<Executor>> traced,
                                InitArgs... args) {
        ::abt::detail::chain_suspension chain;
        auto suspend_then_initiate = [&chain, site = traced.site, init = std::move(initiation)](
                                         auto&& handler, auto&&... init_args) mutable {
            chain = ::abt::detail::suspend_running_chain(site);
            std::move(init)(std::forward<decltype(handler)>(handler), std::forward<decltype(init_args)>(init_args)...);
        };
        using value_type = typename return_type::value_type;
        try {
            if constexpr (std::is_void_v<value_type>) {
                co_await ::asio::async_initiate<::asio::use_awaitable_t<Executor>, R(Args...)>(
                    std::move(suspend_then_initiate), traced.token, std::move(args)...);
                ::abt::detail::resume_running_chain(chain);
            } else {
                value_type result = co_await ::asio::async_initiate<::asio::use_awaitable_t<Executor>, R(Args...)>(
                    std::move(suspend_then_initiate), traced.token, std::move(args)...);
                ::abt::detail::resume_running_chain(chain);
                co_return result;
            }
        } catch (...) {
            ::abt::detail::resume_running_chain(chain);
            throw;
        }
    }
};
#endif  // ABT_ENABLED

#endif  // ABT_ASYNC_BACKTRACE_ASIO_HPP
