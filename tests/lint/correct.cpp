// tools/abt-lint corpus: correct code in the shapes of misses.cpp; the tool
// must report nothing here and exit 0 (tests/check_lint.sh). It compiles
// (C++20) and is never run:
// `g++ -std=c++20 -fsyntax-only -I. -Itests tests/lint/correct.cpp`.
#include "async_backtrace.hpp"
#include "coro.hpp"

#include <coroutine>
#include <exception>
#include <string>
#include <utility>

namespace lint_correct {

template <class T = void>
using task = coro::basic_task<T, coro::detail::no_promise_hooks>;

struct ready_int {
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    int await_resume() const noexcept { return 1; }
};
inline int use(int a, int b = 0) { return a + b; }

// User macros that go through ABT_AWAIT.
#define LINT_AWAIT(x) ABT_AWAIT(x)
#define LINT_WAIT_ON(x) co_await ABT_AWAIT(x)
#define LINT_FRAMED() ABT_FRAMED()

task<int> leaf() { co_return 1; }

task<> top_level(coro::event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}

task<> nested_blocks(coro::event& ev, int n) {
    ABT_FRAMED();
    {
        co_await ABT_AWAIT(ev.wait());
        {
            co_await ABT_AWAIT(ev.wait());
        }
    }
    if (n > 0) {
        co_await ABT_AWAIT(ev.wait());
    } else if (n < 0)
        co_await ABT_AWAIT(ev.wait());
    for (int i = 0; i < n; ++i) co_await ABT_AWAIT(ev.wait());
    while (n-- > 3) {
        co_await ABT_AWAIT(ev.wait());
    }
    do {
        co_await ABT_AWAIT(ev.wait());
    } while (n-- > 5);
    switch (n) {
        case 1:
            co_await ABT_AWAIT(ev.wait());
            break;
        default: {
            co_await ABT_AWAIT(ev.wait());
        }
    }
    try {
        co_await ABT_AWAIT(ev.wait());
    } catch (...) {
        static_cast<void>(n);
    }
}

task<> framed_inner_block(coro::event& ev) {
    co_await ev.wait();  // no frame yet
    {
        co_await ev.wait();  // before the block's ABT_FRAMED
        ABT_FRAMED("inner");
        co_await ABT_AWAIT(ev.wait());
        {
            co_await ABT_AWAIT(ev.wait());
        }
    }
    {
        co_await ev.wait();  // a sibling block without a frame
    }
    co_await ev.wait();  // after the framed block
}

task<int> expressions(coro::event& ev) {
    ABT_FRAMED_DYNAMIC(std::string("dynamic"));
    if (co_await ABT_AWAIT(ready_int{})) {
        static_cast<void>(0);
    }
    int a = use(co_await ABT_AWAIT(ready_int{}));
    a += use(1, co_await (ABT_AWAIT(ready_int{})));
    a += use(1,
             co_await ABT_AWAIT(
                 ready_int{}));
    a = a > 0 ? co_await ABT_AWAIT(ready_int{}) : 0;
    while (co_await ABT_AWAIT(ready_int{}) == 0) {
    }
    co_await
        ABT_AWAIT(ev
                      .wait());
    a += co_await ABT_AWAIT(leaf()) + co_await ABT_AWAIT(leaf());
    a += co_await ABT_AWAIT(task<int>([](int v) -> task<int> { co_return v; }(co_await ABT_AWAIT(leaf()))));
    a += co_await LINT_AWAIT(leaf());
    LINT_WAIT_ON(ev.wait());
    co_return co_await ABT_AWAIT(leaf());
}

task<> user_framing_macro(coro::event& ev) {
    LINT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
}

task<> lambdas(coro::event& ev) {
    ABT_FRAMED();
    auto unframed = [&]() -> task<> { co_await ev.wait(); };
    auto framed = [&]() -> task<> {
        ABT_FRAMED();
        co_await ABT_AWAIT(ev.wait());
        auto inner_unframed = [&]() -> task<> { co_await ev.wait(); };
        static_cast<void>(inner_unframed);
    };
    auto generic = [&](auto& e) -> task<> {
        ABT_FRAMED();
        co_await ABT_AWAIT(e.wait());
    };
    auto captured = [v = co_await ABT_AWAIT(ready_int{})]() { return v; };
    static_cast<void>(captured);
    co_await ABT_AWAIT(unframed());
    co_await ABT_AWAIT(framed());
    co_await ABT_AWAIT(generic(ev));
    co_await ABT_AWAIT([&]() -> task<> { co_return; }());
}

inline auto make_framed_lambda(coro::event& ev) {
    return [&ev]() -> task<> {
        ABT_FRAMED();
        co_await ABT_AWAIT(ev.wait());
    };
}

template <class Event>
task<> template_coroutine(Event& ev) {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
    co_await ABT_AWAIT(ready_int{});
}

template <class T>
struct holder {
    T value;
    task<T> get(coro::event& ev) {
        ABT_FRAMED();
        co_await ABT_AWAIT(ev.wait());
        co_return value;
    }
};

struct service {
    coro::event ev;
    task<> in_class() {
        ABT_FRAMED();
        co_await ABT_AWAIT(ev.wait());
    }
    task<> out_of_class();
    static task<> static_member(coro::event& e);
};

task<> service::out_of_class() {
    ABT_FRAMED();
    co_await ABT_AWAIT(ev.wait());
    struct local {
        static task<> unframed(coro::event& e) { co_await e.wait(); }
    };
    co_await ABT_AWAIT(local::unframed(ev));
}

task<> service::static_member(coro::event& e) {
    ABT_FRAMED("static member");
    co_await ABT_AWAIT(e.wait());
}

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
    co_await ABT_AWAIT(ev.wait());
}

// ---- co_yield and co_return are no co_await ---------------------------------------

template <class T>
struct generator {
    struct promise_type {
        T current{};
        generator get_return_object() { return generator{std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        std::suspend_always yield_value(T v) noexcept {
            current = v;
            return {};
        }
        void return_void() noexcept {}
        void unhandled_exception() { std::terminate(); }
    };
    std::coroutine_handle<promise_type> h;
};

generator<int> framed_generator(int n) {
    ABT_FRAMED();
    for (int i = 0; i < n; ++i) co_yield i;
}

template <class T>
generator<T> framed_generator_template(T v) {
    ABT_FRAMED();
    co_yield v;
}

task<int> returns(int v) {
    ABT_FRAMED();
    co_return v;
}

// ---- Promises that derive from abt::framed_promise ----------------------------------

template <class T = void>
using hooked_task = coro::basic_task<T, abt::framed_promise>;

hooked_task<> hooked(coro::event& ev) {
    ABT_FRAMED();
    co_await ev.wait();
    co_await ABT_AWAIT(ev.wait());  // still valid
    co_await [&]() -> hooked_task<> {
        ABT_FRAMED();
        co_await ev.wait();
    }();
}

template <class T>
hooked_task<T> hooked_dependent(coro::event& ev, T v) {
    ABT_FRAMED();
    co_await ev.wait();
    co_return v;
}

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

}  // namespace lint_correct
