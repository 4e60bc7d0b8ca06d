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
// needs nothing (asio resumes it on the same thread: a child frame). With
// ABT_ENABLED 0 it is plain asio::use_awaitable.
//
// Spawns: a coroutine started by co_spawn is a task of its own in every dump,
// whatever the completion token, also when co_spawn runs it at once inside a
// framed coroutine (a framed accept loop spawning sessions): the spawner
// keeps running, and is shown suspended at its own next operation. A
// co_spawn that the spawner awaits (co_await co_spawn(ex, f(), token)) is a
// join of one: what it starts at once is the awaiting frame's child. A framed
// function that runs the io_context (a framed main calling run()) keeps
// running in dumps and owns none of the coroutines the loop runs. Plain
// callback handlers should still run with no frame current (the io_context
// outside framed code, or ABT_WORK_ITEM), as anywhere.
//
// Joins: await a parallel group with ABT_USE_AWAITABLE_JOIN, and the
// coroutines that its start runs at once, its operands, are the awaiting
// frame's children (co_spawn starts them at once when the awaiting coroutine
// runs on their executor, a strand included; posted ones are tasks of their
// own). Only for joins: another operation's start may resume an unrelated
// waiting coroutine on the spot, which is no child.
//
//     auto [order, e1, a, e2, b] = co_await asio::experimental::make_parallel_group(
//         asio::co_spawn(ex, fetch_a(), asio::experimental::deferred),
//         asio::co_spawn(ex, fetch_b(), asio::experimental::deferred))
//         .async_wait(asio::experimental::wait_for_all(), ABT_USE_AWAITABLE_JOIN);
//
// asio's awaitable_operators wait with plain use_awaitable inside, so use
// these drop-in replacements (same results and error rules) instead:
//
//     using namespace abt::asio_support::awaitable_operators;
//     auto [a, b] = co_await (fetch_a() && fetch_b());  // suspended at "(a && b)"
//
// Boost.Asio: include async_backtrace_boost_asio.hpp instead; everything
// above holds with boost::asio in place of asio. One flavour per translation
// unit (both in one is an error); translation units of a program may use
// different ones (each flavour's adapter has its own inline namespace).
//
// Needs asio with coroutine support: standalone asio 1.22 or newer (Debian
// libasio-dev), or Boost.Asio 1.81 or newer (Debian libboost1.81-dev). Relies
// on three details of asio that these versions share, each covered by the
// tests: an operation's use_awaitable handler is an awaitable thread
// (entry_point() names the stack), co_spawn's entry point awaits
// awaitable_thread_has_context_switched right before and right after it runs
// the spawned coroutine, and co_spawn's initiation is initiate_co_spawn.
// MIT license, like async_backtrace.hpp.
// ============================================================================

// One flavour of asio per translation unit: ABT_USE_AWAITABLE names one.
#if defined(ABT_DETAIL_ASIO_WANT_BOOST)
#if defined(ABT_ASYNC_BACKTRACE_ASIO_HPP) && !defined(ABT_DETAIL_ASIO_IS_BOOST)
#error "async_backtrace: async_backtrace_boost_asio.hpp included after async_backtrace_asio.hpp (standalone asio); ABT_USE_AWAITABLE can name one asio per translation unit: include only the one for the asio this file uses"
#endif
#elif defined(ABT_ASYNC_BACKTRACE_ASIO_HPP) && defined(ABT_DETAIL_ASIO_IS_BOOST)
#error "async_backtrace: async_backtrace_asio.hpp (standalone asio) included after async_backtrace_boost_asio.hpp; ABT_USE_AWAITABLE can name one asio per translation unit: include only the one for the asio this file uses"
#endif

#ifndef ABT_ASYNC_BACKTRACE_ASIO_HPP
#define ABT_ASYNC_BACKTRACE_ASIO_HPP

// A standard header first: asio 1.22 decides between aligned_alloc and
// operator new by a libstdc++ macro that only exists once a standard header
// was included, so translation units that include asio first and those that
// do not would otherwise disagree (an ODR violation ASan reports as an
// alloc-dealloc mismatch).
#include <cstddef>

#if defined(ABT_DETAIL_ASIO_WANT_BOOST)
#define ABT_DETAIL_ASIO_IS_BOOST 1
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#define ABT_DETAIL_ASIO_NS boost::asio  // no leading ::, for class heads (g++ rejects "class ::a::b<...>")
#define ABT_DETAIL_ASIO_VERSION BOOST_ASIO_VERSION
#define ABT_DETAIL_ASIO_FLAVOUR boost_asio
#else
// asio 1.22 does not detect clang's C++20 coroutines by itself.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#define ASIO_HAS_STD_COROUTINE 1
#endif
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#define ABT_DETAIL_ASIO_NS asio
#define ABT_DETAIL_ASIO_VERSION ASIO_VERSION
#define ABT_DETAIL_ASIO_FLAVOUR standalone_asio
#endif

#include "async_backtrace.hpp"

#include <array>
#include <cstddef>
#include <coroutine>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#if !ABT_ENABLED
#define ABT_USE_AWAITABLE (::ABT_DETAIL_ASIO_NS::use_awaitable)
#define ABT_USE_AWAITABLE_JOIN (::ABT_DETAIL_ASIO_NS::use_awaitable)
#else
#define ABT_USE_AWAITABLE                                                                                 \
    (::abt::asio_support::traced_t<::ABT_DETAIL_ASIO_NS::use_awaitable_t<>>{                             \
        ::ABT_DETAIL_ASIO_NS::use_awaitable, ABT_DETAIL_STATIC_SITE(""), false})
#define ABT_USE_AWAITABLE_JOIN                                                                            \
    (::abt::asio_support::traced_t<::ABT_DETAIL_ASIO_NS::use_awaitable_t<>>{                             \
        ::ABT_DETAIL_ASIO_NS::use_awaitable, ABT_DETAIL_STATIC_SITE(""), true})
#endif

#if ABT_ENABLED
namespace abt {
namespace asio_support {
inline namespace ABT_DETAIL_ASIO_FLAVOUR {

/// Misuse reports give asio's fix in programs that use the adapter (set
/// during static initialization of every translation unit that includes it).
inline const bool adapter_noted = (detail::asio_adapter_in_use.store(true, detail::order::relaxed), true);

/// A completion token: `token` plus the call site of the operation, and
/// whether the operation is a join whose start runs its operands (children).
template <class Token>
struct traced_t {
    Token token;
    const detail::frame_site* site;
    bool join;
};

/// Ends the hand-over of children that the operation's start may run (see
/// suspend_running_chain), also when the start throws.
struct end_chain_suspend_at_exit {
    const detail::chain_suspension& suspended;
    ~end_chain_suspend_at_exit() { detail::end_chain_suspend(suspended); }
};

/// Is an operation's initiation co_spawn's (it starts a coroutine stack)?
template <class Initiation>
struct starts_coroutine_stack : std::false_type {};
template <class Executor>
struct starts_coroutine_stack<::ABT_DETAIL_ASIO_NS::detail::initiate_co_spawn<Executor>> : std::true_type {};

/// The identity of the coroutine stack that `handler` resumes (an asio
/// awaitable thread): the coroutine at its bottom, fixed for its lifetime.
template <class AwaitableHandler>
const void* stack_of(AwaitableHandler& handler) {
    return handler.entry_point();
}

/// An operation's completion handler (use_awaitable's: it resumes the
/// coroutine stack, on the thread that calls it, before it returns), with
/// the frames the operation suspended: they resume first, on that thread,
/// so before the result or the error reaches the coroutine, and exactly once.
/// If the handler throws before the stack ran (copying a result into it
/// threw), they wait again at the same site, as the stack does. A handler
/// destroyed uncalled (its io_context destroyed) leaves them suspended, and
/// the coroutine frames that hold them are destroyed with it. Everything
/// asio associates with a handler is the inner handler's.
template <class Handler>
class resuming_handler {
public:
    using executor_type = ::ABT_DETAIL_ASIO_NS::associated_executor_t<Handler>;
    using allocator_type = ::ABT_DETAIL_ASIO_NS::associated_allocator_t<Handler>;
    using cancellation_slot_type = ::ABT_DETAIL_ASIO_NS::associated_cancellation_slot_t<Handler>;

    resuming_handler(Handler&& handler, const detail::chain_suspension& suspended, const detail::frame_site* site)
        : handler_(std::move(handler)),
          innermost_(suspended.innermost),
          outermost_(suspended.outermost),
          chain_(suspended.chain),
          site_(site) {}

    executor_type get_executor() const noexcept { return ::ABT_DETAIL_ASIO_NS::get_associated_executor(handler_); }
    allocator_type get_allocator() const noexcept { return ::ABT_DETAIL_ASIO_NS::get_associated_allocator(handler_); }
    cancellation_slot_type get_cancellation_slot() const noexcept {
        return ::ABT_DETAIL_ASIO_NS::get_associated_cancellation_slot(handler_);
    }

    template <class... Results>
    void operator()(Results&&... results) {
        detail::chain_suspension suspended;
        suspended.innermost = innermost_;
        suspended.outermost = outermost_;
        suspended.chain = chain_;
        detail::resume_running_chain(suspended);
        ABT_DETAIL_TRY {
            handler_(std::forward<Results>(results)...);
        } ABT_DETAIL_CATCH_ALL {
            // Frames still current here: suspend them again (the stack did
            // not run; or, with Boost.Asio 1.81, where an initiation runs
            // after the coroutine suspended, the next operation's start threw
            // out of the pump that ran it: they then show this operation's
            // site). No frames: if asio's handler still owns the stack (a
            // pump hands it on or ends it), the stack never ran, and the run
            // that resume_running_chain began under the code below must end.
            detail::frame* const current = detail::this_thread.current;
            if (innermost_ != nullptr ? current == innermost_
                                      : current != nullptr && handler_.entry_point() != nullptr)
                detail::end_chain_suspend(detail::suspend_running_chain(site_, false, chain_));
            ABT_DETAIL_RETHROW;
        }
    }

private:
    Handler handler_;
    // What resume_running_chain needs of the suspension (see chain_suspension).
    detail::frame* innermost_;
    detail::frame* outermost_;
    const void* chain_;
    const detail::frame_site* site_;  // the operation's call site
};

}  // namespace ABT_DETAIL_ASIO_FLAVOUR
}  // namespace asio_support
}  // namespace abt

/// The operation is started through asio::use_awaitable, with its
/// initiation and its handler wrapped: the initiation runs after the
/// coroutine stack suspended (asio's rule), on the thread that ran it, and
/// suspends that thread's frames first; the handler resumes them on the
/// thread that calls it, which then pumps the stack (resuming_handler). No
/// coroutine of its own: the operation costs what use_awaitable's does, plus
/// the frames' suspension and resumption.
template <class Executor, class R, class... Args>
class ABT_DETAIL_ASIO_NS::async_result<
    ::abt::asio_support::traced_t<::ABT_DETAIL_ASIO_NS::use_awaitable_t<Executor>>, R(Args...)> {
    using plain_token = ::ABT_DETAIL_ASIO_NS::use_awaitable_t<Executor>;
    using inner = ::ABT_DETAIL_ASIO_NS::async_result<plain_token, R(Args...)>;

public:
    using return_type = typename inner::return_type;

    template <class Initiation, class... InitArgs>
    static return_type initiate(Initiation initiation, ::abt::asio_support::traced_t<plain_token> traced,
                                InitArgs... args) {
        // Awaiting a co_spawn is a join of one: the coroutine it starts at
        // once is the awaiting frame's child.
        const bool join = traced.join || ::abt::asio_support::starts_coroutine_stack<Initiation>::value;
        auto suspend_then_initiate = [site = traced.site, join, init = std::move(initiation)](
                                         auto&& handler, auto&&... init_args) mutable {
            using handler_type = std::decay_t<decltype(handler)>;
            // The completion may resume the stack and end it on another
            // thread before `init` returns: after `init`, only this local
            // copy of the suspension is used.
            const ::abt::detail::chain_suspension suspended =
                ::abt::detail::suspend_running_chain(site, join, ::abt::asio_support::stack_of(handler));
            ::abt::asio_support::end_chain_suspend_at_exit end{suspended};
            std::move(init)(::abt::asio_support::resuming_handler<handler_type>(std::move(handler), suspended, site),
                            std::forward<decltype(init_args)>(init_args)...);
        };
        return ::ABT_DETAIL_ASIO_NS::async_initiate<plain_token, R(Args...)>(std::move(suspend_then_initiate),
                                                                             traced.token, std::move(args)...);
    }
};

namespace abt {
namespace asio_support {
inline namespace ABT_DETAIL_ASIO_FLAVOUR {

namespace net = ::ABT_DETAIL_ASIO_NS;  // the flavour's asio

namespace join_detail {

#if ABT_DETAIL_ASIO_VERSION >= 102400
#define ABT_DETAIL_ASIO_DEFERRED ::ABT_DETAIL_ASIO_NS::deferred
#else
#define ABT_DETAIL_ASIO_DEFERRED ::ABT_DETAIL_ASIO_NS::experimental::deferred
#endif

/// An operand's result as the parallel group hands it back: in an optional
/// (so any T works, default-constructible or not), void as monostate.
template <class T>
struct boxed_value {
    using type = T;
};
template <>
struct boxed_value<void> {
    using type = std::monostate;
};
template <class T>
using boxed_t = std::optional<typename boxed_value<T>::type>;

template <class T, class Executor>
net::awaitable<boxed_t<T>, Executor> boxed(net::awaitable<T, Executor> a) {
    if constexpr (std::is_void_v<T>) {
        co_await std::move(a);
        co_return std::monostate{};
    } else {
        co_return boxed_t<T>(co_await std::move(a));
    }
}

/// Runs both operands as asio's parallel group does and waits for
/// `condition`, with the awaiting coroutine stack suspended at `site`: the
/// operands, which co_spawn starts at once, are its children in a dump.
template <class T, class U, class Executor, class Condition>
net::awaitable<std::tuple<std::array<std::size_t, 2>, std::exception_ptr, boxed_t<T>, std::exception_ptr, boxed_t<U>>,
                  Executor>
run_both(net::awaitable<T, Executor> t, net::awaitable<U, Executor> u, Condition condition,
         const detail::frame_site* site) {
    auto ex = co_await net::this_coro::executor;
    co_return co_await net::experimental::make_parallel_group(
        net::co_spawn(ex, boxed(std::move(t)), ABT_DETAIL_ASIO_DEFERRED),
        net::co_spawn(ex, boxed(std::move(u)), ABT_DETAIL_ASIO_DEFERRED))
        .async_wait(condition,
                    traced_t<net::use_awaitable_t<Executor>>{net::use_awaitable_t<Executor>{}, site, true});
}

// The result types are asio's own operators' (so these are drop-in).
template <class T, class U, class Executor>
using and_result_t = typename decltype(net::experimental::awaitable_operators::operator&&(
    std::declval<net::awaitable<T, Executor>>(), std::declval<net::awaitable<U, Executor>>()))::value_type;
template <class T, class U, class Executor>
using or_result_t = typename decltype(net::experimental::awaitable_operators::operator||(
    std::declval<net::awaitable<T, Executor>>(), std::declval<net::awaitable<U, Executor>>()))::value_type;

template <class T>
struct is_tuple : std::false_type {};
template <class... T>
struct is_tuple<std::tuple<T...>> : std::true_type {};
template <class T>
struct is_variant : std::false_type {};
template <class... T>
struct is_variant<std::variant<T...>> : std::true_type {};

/// An operand's values as a tuple: none for void; a left tuple operand's
/// elements (asio flattens `(a && b) && c`); otherwise the value.
template <class T, bool Flatten>
auto values_of(typename boxed_value<T>::type&& v) {
    if constexpr (std::is_void_v<T>) {
        return std::tuple<>{};
    } else if constexpr (Flatten && is_tuple<T>::value) {
        return std::move(v);
    } else {
        return std::tuple<T>(std::move(v));
    }
}

/// `a && b`'s value: every value in order; a single value by itself.
template <class R, class T, class U>
R both_values(boxed_t<T>& a, boxed_t<U>& b) {
    auto all = std::tuple_cat(values_of<T, true>(std::move(*a)), values_of<U, false>(std::move(*b)));
    if constexpr (std::is_void_v<R>) {
        return;
    } else if constexpr (std::is_same_v<R, decltype(all)>) {
        return all;
    } else {
        static_assert(std::tuple_size_v<decltype(all)> == 1, "asio's && result has a shape this adapter does not know");
        return std::get<0>(std::move(all));
    }
}

/// `a || b`'s value: the winner's value at its index; a left variant operand
/// keeps its own alternative (asio flattens `(a || b) || c`).
template <class R, class T, std::size_t... I>
R left_alternative(T&& v, std::index_sequence<I...>) {
    std::optional<R> r;
    ((v.index() == I ? static_cast<void>(r.emplace(std::in_place_index<I>, std::get<I>(std::move(v)))) : void()), ...);
    return std::move(*r);
}
template <class R, class T, class U>
R winner_value(bool left_won, boxed_t<T>& a, boxed_t<U>& b) {
    if (!left_won) return R(std::in_place_index<std::variant_size_v<R> - 1>, std::move(*b));
    if constexpr (is_variant<T>::value && !std::is_same_v<std::variant_alternative_t<0, R>, T>) {
        return left_alternative<R>(std::move(*a), std::make_index_sequence<std::variant_size_v<T>>{});
    } else {
        return R(std::in_place_index<0>, std::move(*a));
    }
}

}  // namespace join_detail

/// Drop-in replacements for asio::experimental::awaitable_operators, whose
/// joins wait with plain asio::use_awaitable (a framed coroutine awaiting
/// them would stay "running"): the same operators, results and error rules,
/// and in a dump the awaiting frame is suspended at the operator with both
/// operands as its children. Use one namespace or the other, not both:
///     using namespace abt::asio_support::awaitable_operators;
///     auto [a, b] = co_await (fetch_a() && fetch_b());
namespace awaitable_operators {

/// Both; when one fails, the other is cancelled and the error rethrown.
template <class T, class U, class Executor>
net::awaitable<join_detail::and_result_t<T, U, Executor>, Executor> operator&&(net::awaitable<T, Executor> t,
                                                                                 net::awaitable<U, Executor> u) {
    auto [order, e0, r0, e1, r1] = co_await join_detail::run_both(
        std::move(t), std::move(u), net::experimental::wait_for_one_error(), ABT_DETAIL_STATIC_SITE("a && b"));
    static_cast<void>(order);
    if (e0 && e1) throw net::multiple_exceptions(e0);
    if (e0) std::rethrow_exception(e0);
    if (e1) std::rethrow_exception(e1);
    co_return join_detail::both_values<join_detail::and_result_t<T, U, Executor>, T, U>(r0, r1);
}

/// The first to succeed; the other is cancelled. When both fail, the error
/// of the first to finish is rethrown (in asio::multiple_exceptions).
template <class T, class U, class Executor>
net::awaitable<join_detail::or_result_t<T, U, Executor>, Executor> operator||(net::awaitable<T, Executor> t,
                                                                                net::awaitable<U, Executor> u) {
    auto [order, e0, r0, e1, r1] = co_await join_detail::run_both(
        std::move(t), std::move(u), net::experimental::wait_for_one_success(), ABT_DETAIL_STATIC_SITE("a || b"));
    const bool left_first = order[0] == 0;
    if (e0 && e1) throw net::multiple_exceptions(left_first ? e0 : e1);
    const bool left_won = left_first ? !e0 : static_cast<bool>(e1);
    co_return join_detail::winner_value<join_detail::or_result_t<T, U, Executor>, T, U>(left_won, r0, r1);
}

}  // namespace awaitable_operators
}  // namespace ABT_DETAIL_ASIO_FLAVOUR
}  // namespace asio_support
}  // namespace abt

#undef ABT_DETAIL_ASIO_DEFERRED

#else  // !ABT_ENABLED

namespace abt {
namespace asio_support {
inline namespace ABT_DETAIL_ASIO_FLAVOUR {
namespace awaitable_operators {
using namespace ::ABT_DETAIL_ASIO_NS::experimental::awaitable_operators;
}  // namespace awaitable_operators
}  // namespace ABT_DETAIL_ASIO_FLAVOUR
}  // namespace asio_support
}  // namespace abt

#endif  // ABT_ENABLED

// ---------------------------------------------------------------------------
// co_spawn's entry point (both modes: one layout for the whole program)
// ---------------------------------------------------------------------------
namespace abt {
namespace asio_support {
inline namespace ABT_DETAIL_ASIO_FLAVOUR {

/// The promise of the coroutine at the bottom of every stack that co_spawn
/// starts (asio's co_spawn_entry_point): asio's own, plus two notes. The
/// entry point awaits awaitable_thread_has_context_switched right before it
/// runs the spawned coroutine and again right after it is done; the first
/// begins a chain run (see begin_chain_run): when co_spawn starts the
/// coroutine at once inside framed code (a spawning coroutine, or a framed
/// function that runs the io_context), the new frames are a task of their
/// own and the code below keeps running; the second ends it. asio's own
/// get_return_object makes a handle to its own promise type: ours replaces
/// it with one to this type. It is the entry point's promise in every
/// translation unit that includes this header, with ABT_ENABLED 0 too (the
/// notes are then empty): co_spawn's entry point is one function template
/// for the whole program, so a translation unit that calls co_spawn without
/// this header gives it asio's promise instead, and the linker keeps one of
/// the two. Include this header instead of asio's everywhere.
template <class Executor>
using asio_entry_frame =
    ::ABT_DETAIL_ASIO_NS::detail::awaitable_frame<::ABT_DETAIL_ASIO_NS::detail::awaitable_thread_entry_point, Executor>;

template <class Executor>
class spawn_entry_frame : public asio_entry_frame<Executor> {
    using base = asio_entry_frame<Executor>;

public:
    auto get_return_object() {
        auto a = base::get_return_object();
        this->coro_ = std::coroutine_handle<spawn_entry_frame>::from_promise(*this);
        return a;
    }

    using base::await_transform;
    template <class T>
    auto await_transform(::ABT_DETAIL_ASIO_NS::awaitable<T, Executor> a) {
        return awaiting_as_base<decltype(base::await_transform(std::move(a)))>{base::await_transform(std::move(a))};
    }
    auto await_transform(::ABT_DETAIL_ASIO_NS::detail::awaitable_thread_has_context_switched s) {
#if ABT_ENABLED
        const void* stack = static_cast<base*>(this);  // what stack_of(handler) answers for this stack
        if (!started_) {
            started_ = true;
            ::abt::detail::begin_chain_run(stack, ::abt::detail::this_thread.current);
        } else if (!done_) {
            done_ = true;
            ::abt::detail::end_chain_run(stack);
        }
#endif
        return base::await_transform(s);
    }

private:
    /// asio's awaitables accept only handles to asio's own promise types: the
    /// handle is passed on as one to the base (the same frame; the base is at
    /// offset 0 and has this type's alignment, so it finds the same promise).
    template <class Awaitable>
    struct awaiting_as_base {
        Awaitable inner;
        bool await_ready() { return inner.await_ready(); }
        void await_suspend(std::coroutine_handle<spawn_entry_frame> h) {
            inner.await_suspend(std::coroutine_handle<base>::from_address(h.address()));
        }
        decltype(auto) await_resume() { return inner.await_resume(); }
    };

    bool started_ = false;  // the spawned coroutine runs, or ran
    bool done_ = false;     // it is done
};

}  // namespace ABT_DETAIL_ASIO_FLAVOUR
}  // namespace asio_support
}  // namespace abt

static_assert(alignof(::abt::asio_support::spawn_entry_frame<::ABT_DETAIL_ASIO_NS::any_io_executor>) ==
                  alignof(::abt::asio_support::asio_entry_frame<::ABT_DETAIL_ASIO_NS::any_io_executor>),
              "the co_spawn entry point's promise must keep asio's alignment (see "
              "spawn_entry_frame::awaiting_as_base): a member added to it must not be over-aligned");

// Every co_spawn entry point gets the promise above (a more specialized
// coroutine_traits than asio's own, for this one return type).
namespace std {
template <class Executor, class... Args>
struct coroutine_traits<
    ::ABT_DETAIL_ASIO_NS::awaitable<::ABT_DETAIL_ASIO_NS::detail::awaitable_thread_entry_point, Executor>, Args...> {
    using promise_type = ::abt::asio_support::spawn_entry_frame<Executor>;
};
}  // namespace std

#endif  // ABT_ASYNC_BACKTRACE_ASIO_HPP
