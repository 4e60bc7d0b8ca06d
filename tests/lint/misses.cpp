// tools/abt-lint corpus: every line marked with the comment MISS (upper
// case, at the end of the line) has exactly one co_await that bypasses
// ABT_AWAIT in a framed function, and no other line has one. tests/check_lint.sh
// compares the tool's lines with the marked ones. It compiles (C++20) and is
// never run: `g++ -std=c++20 -fsyntax-only -I. -Itests tests/lint/misses.cpp`.
#include "async_backtrace.hpp"
#include "coro.hpp"

#include <coroutine>
#include <string>
#include <utility>

namespace lint_misses {

// A task type whose promise is no abt::framed_promise in every build
// (coro::task's is one under the test kit's ABT_TEST_PLAIN_AWAIT).
template <class T = void>
using task = coro::basic_task<T, coro::detail::no_promise_hooks>;

struct ready_int {  // an awaitable that never suspends
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    int await_resume() const noexcept { return 1; }
};
inline int use(int a, int b = 0) { return a + b; }

// A macro that hides a bypassing co_await: reported at its use.
#define LINT_WAIT_ON(x) co_await (x)

task<int> leaf() { co_return 1; }

// ---- The plain case, and the nesting of blocks ---------------------------------

task<> top_level(coro::event& ev) {
    ABT_FRAMED();
    co_await ev.wait();  // MISS
}

task<> nested_blocks(coro::event& ev, int n) {
    ABT_FRAMED();
    {
        co_await ev.wait();  // MISS
        {
            co_await ev.wait();  // MISS
        }
    }
    if (n > 0) {
        co_await ev.wait();  // MISS
    } else if (n < 0)
        co_await ev.wait();  // MISS
    for (int i = 0; i < n; ++i) co_await ev.wait();  // MISS
    while (n-- > 3) {
        co_await ev.wait();  // MISS
    }
    do {
        co_await ev.wait();  // MISS
    } while (n-- > 5);
    switch (n) {
        case 1:
            co_await ev.wait();  // MISS
            break;
        default: {
            co_await ev.wait();  // MISS
        }
    }
    try {
        co_await ev.wait();  // MISS
    } catch (...) {
        static_cast<void>(n);  // co_await is not allowed in a handler
    }
}

// ABT_FRAMED in an inner block frames that block only.
task<> framed_inner_block(coro::event& ev) {
    co_await ev.wait();  // not framed yet: fine
    {
        co_await ev.wait();  // before the block's ABT_FRAMED: fine
        ABT_FRAMED("inner");
        co_await ev.wait();  // MISS
        {
            co_await ev.wait();  // MISS
        }
    }
    {
        co_await ev.wait();  // a sibling block without a frame: fine
    }
    co_await ev.wait();  // after the framed block: fine
}

// ---- Where the co_await sits in its statement ----------------------------------

task<int> expressions(coro::event& ev) {
    ABT_FRAMED_DYNAMIC(std::string("dynamic"));
    if (co_await ready_int{}) {  // MISS
        static_cast<void>(0);
    }
    int a = use(co_await ready_int{});  // MISS
    a += use(1, co_await ready_int{});  // MISS
    a += use(1,
             co_await  // MISS
             ready_int{});
    a = a > 0 ? co_await ready_int{} : 0;  // MISS
    while (co_await ready_int{} == 0) {  // MISS
    }
    co_await  // MISS
        ev
            .wait();
    a += co_await ABT_AWAIT(leaf()) + co_await leaf();  // MISS
    a += co_await ABT_AWAIT(task<int>([](int v) -> task<int> { co_return v; }(co_await leaf())));  // MISS
    LINT_WAIT_ON(ev.wait());  // MISS
    co_return co_await leaf();  // MISS
}

// ---- Lambdas ---------------------------------------------------------------------

task<> lambdas(coro::event& ev) {
    ABT_FRAMED();
    // An unframed lambda is a function of its own: its co_await is fine.
    auto unframed = [&]() -> task<> { co_await ev.wait(); };
    auto framed = [&]() -> task<> {
        ABT_FRAMED();
        co_await ev.wait();  // MISS
        auto inner_unframed = [&]() -> task<> { co_await ev.wait(); };
        static_cast<void>(inner_unframed);
    };
    auto generic = [&](auto& e) -> task<> {
        ABT_FRAMED();
        co_await e.wait();  // MISS
    };
    // An init-capture runs in the enclosing function, framed here.
    auto captured = [v = co_await ready_int{}]() { return v; };  // MISS
    static_cast<void>(captured);
    co_await ABT_AWAIT(unframed());
    co_await ABT_AWAIT(framed());
    co_await ABT_AWAIT(generic(ev));
    co_await [&]() -> task<> { co_return; }();  // MISS
}

// A framed lambda in an unframed function.
inline auto make_framed_lambda(coro::event& ev) {
    return [&ev]() -> task<> {
        ABT_FRAMED();
        co_await ev.wait();  // MISS
    };
}

// ---- Templates and members ----------------------------------------------------------

template <class Event>
task<> template_coroutine(Event& ev) {
    ABT_FRAMED();
    co_await ev.wait();  // MISS
    co_await ready_int{};  // MISS
    LINT_WAIT_ON(ev.wait());  // MISS
}

template <class T>
struct holder {
    T value;
    task<T> get(coro::event& ev) {
        ABT_FRAMED();
        co_await ev.wait();  // MISS
        co_return value;
    }
};

struct service {
    coro::event ev;
    task<> in_class() {
        ABT_FRAMED();
        co_await ev.wait();  // MISS
    }
    task<> out_of_class();
    static task<> static_member(coro::event& e);
};

task<> service::out_of_class() {
    ABT_FRAMED();
    co_await ev.wait();  // MISS
    struct local {  // a local class's member function is a function of its own
        static task<> unframed(coro::event& e) { co_await e.wait(); }
    };
    co_await ABT_AWAIT(local::unframed(ev));
}

task<> service::static_member(coro::event& e) {
    ABT_FRAMED("static member");
    co_await e.wait();  // MISS
}

// ---- Not code -------------------------------------------------------------------------

task<> not_code(coro::event& ev) {
    ABT_FRAMED();
    // co_await ev.wait(); in a comment
    /* co_await ev.wait();
       co_await ev.wait(); */
    const char* s = "co_await ev.wait();";
    const char* r = R"x(co_await ev.wait(); ")" co_await x)x";
    const char* m = R"(
        co_await ev.wait();
    )";
    static_cast<void>(s);
    static_cast<void>(r);
    static_cast<void>(m);
    co_await ev.wait();  // MISS
    co_await ev.wait();  // a known one, kept on purpose: abt-lint: ignore
}

// ---- Promises that derive from abt::framed_promise: plain co_await is fine -------

template <class T = void>
using hooked_task = coro::basic_task<T, abt::framed_promise>;

hooked_task<> hooked(coro::event& ev) {
    ABT_FRAMED();
    co_await ev.wait();
    co_await [&]() -> hooked_task<> {
        ABT_FRAMED();
        co_await ev.wait();
    }();
    co_await [&]() -> task<> {  // a lambda of an unhooked type
        ABT_FRAMED();
        co_await ev.wait();  // MISS
    }();
}

inline void hooked_generic_lambdas(coro::event& ev) {
    auto alias = [&](auto& e) -> hooked_task<> {
        ABT_FRAMED();
        co_await e.wait();
    };
    auto spelled = [&](auto& e) -> coro::basic_task<int, abt::framed_promise> {
        ABT_FRAMED();
        co_await e.wait();
        co_return 1;
    };
    auto unhooked = [&](auto& e) -> coro::basic_task<int, coro::detail::no_promise_hooks> {
        ABT_FRAMED();
        co_await e.wait();  // MISS
        co_return 1;
    };
    static_cast<void>(alias(ev));
    static_cast<void>(spelled(ev));
    static_cast<void>(unhooked(ev));
}

template <class Event>
hooked_task<int> hooked_template(Event& ev) {  // resolved through basic_task's template arguments
    ABT_FRAMED();
    co_await ev.wait();
    co_return 1;
}

template <class T>
hooked_task<T> hooked_dependent(coro::event& ev, T v) {  // a dependent return type
    ABT_FRAMED();
    co_await ev.wait();
    co_return v;
}

template <class T>
task<T> unhooked_dependent(coro::event& ev, T v) {
    ABT_FRAMED();
    co_await ev.wait();  // MISS
    co_return v;
}

// A promise_type that is a typedef of a promise deriving from abt::framed_promise.
struct own_task;
struct own_promise : abt::framed_promise {
    own_task get_return_object() noexcept;
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
};
struct own_task {
    using promise_type = own_promise;
};
inline own_task own_promise::get_return_object() noexcept { return {}; }

own_task typedef_promise(coro::event& ev) {
    ABT_FRAMED();
    co_await ev.wait();
}

}  // namespace lint_misses
