// The translation unit that `make compile-cost` times: a small file that uses
// ABT_FRAMED, ABT_AWAIT and a persistent frame (ABT_REENTER, ABT_WAITING), as
// a file of a project that adopts the header would. Compiled with
// -DABT_COMPILE_COST_BARE it is its bare twin: the same source, with the
// header not included and its macros defined away. The difference between the
// two is what the header costs this translation unit.
//
// The task type is the file's own (a lazy task with symmetric transfer), as in
// a project that has one; it needs only <coroutine>, so the twin includes
// nothing else either.
#include <coroutine>

#if defined(ABT_COMPILE_COST_BARE)
#define ABT_FRAMED(...) static_assert(true, "")
#define ABT_AWAIT(...) (__VA_ARGS__)
#define ABT_SITE(...) 0
#define ABT_REENTER(pframe) static_cast<void>(pframe)
#define ABT_WAITING(pframe, ...) static_cast<void>(pframe)
namespace abt {
struct persistent_frame {
    explicit persistent_frame(int) noexcept {}
};
}  // namespace abt
#else
#include "../../async_backtrace.hpp"
#endif

namespace compile_cost {

template <class T>
struct task {
    struct promise_type {
        T value{};
        std::coroutine_handle<> continuation;
        task get_return_object() { return task{std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct final_awaiter {
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                std::coroutine_handle<> next = h.promise().continuation;
                return next ? next : std::noop_coroutine();
            }
            void await_resume() noexcept {}
        };
        final_awaiter final_suspend() noexcept { return {}; }
        void return_value(T v) { value = v; }
        void unhandled_exception() noexcept {}
    };

    explicit task(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
    task(task&& other) noexcept : handle(other.handle) { other.handle = nullptr; }
    task& operator=(task&&) = delete;
    ~task() {
        if (handle) handle.destroy();
    }

    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        handle.promise().continuation = caller;
        return handle;
    }
    T await_resume() { return handle.promise().value; }

    std::coroutine_handle<promise_type> handle;
};

/// Something to wait for that a callback completes.
struct event {
    std::coroutine_handle<> waiter;
    bool set = false;
    bool await_ready() const noexcept { return set; }
    void await_suspend(std::coroutine_handle<> h) noexcept { waiter = h; }
    void await_resume() const noexcept {}
    void fire() {
        set = true;
        if (waiter) waiter.resume();
    }
};

task<int> read_header(event& readable, int n) {
    ABT_FRAMED();
    co_await ABT_AWAIT(readable);
    co_return n + 1;
}

task<int> read_body(event& readable, int n) {
    ABT_FRAMED("read_body");
    co_await ABT_AWAIT(readable);
    int total = 0;
    for (int i = 0; i < n; ++i) total += i;
    co_return total;
}

task<int> session(event& readable, int n) {
    ABT_FRAMED();
    int header = co_await ABT_AWAIT(read_header(readable, n));
    int body = co_await ABT_AWAIT(read_body(readable, header));
    co_return header + body;
}

/// A callback chain: its frame lives in the object.
struct connection {
    abt::persistent_frame frame{ABT_SITE("connection")};
    int reads = 0;

    void on_read(int n) {
        ABT_REENTER(frame);
        reads += n;
        ABT_WAITING(frame, "socket read");
    }
    void on_write() {
        ABT_REENTER(frame);
        ABT_WAITING(frame, "socket write");
    }
};

}  // namespace compile_cost

int main() {
    compile_cost::event readable;
    compile_cost::task<int> t = compile_cost::session(readable, 3);
    t.handle.resume();
    readable.fire();
    compile_cost::connection c;
    c.on_read(4);
    c.on_write();
    return t.handle.done() && t.await_resume() > 0 ? 0 : 1;
}
