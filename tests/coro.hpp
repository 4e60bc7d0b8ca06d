// Minimal coroutine machinery for the tests and examples of async_backtrace.hpp:
// a lazy task<T> with symmetric transfer, an eager detached coroutine, a join
// (when_all) that starts its children inline through unframed helper
// coroutines, a single-threaded run loop, a thread pool and an event.
// None of it knows about async_backtrace.hpp, except for one line: with
// ABT_TEST_PLAIN_AWAIT (make test's plain-await binaries) the promises of
// task and detached derive from abt::framed_promise, so that a plain co_await
// in a framed coroutine is an ABT_AWAIT. basic_task<T, Hooks> takes the base.
#ifndef ABT_TESTS_CORO_HPP
#define ABT_TESTS_CORO_HPP

#if defined(ABT_TEST_PLAIN_AWAIT)
#include "../async_backtrace.hpp"
#endif

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace coro {

// ---- task<T>: lazy; awaiting it transfers control to it symmetrically -------

namespace detail {

/// The promises' base: none, or the line that makes plain co_await framed.
struct no_promise_hooks {};
#if defined(ABT_TEST_PLAIN_AWAIT)
using default_promise_hooks = ::abt::framed_promise;
#else
using default_promise_hooks = no_promise_hooks;
#endif

template <class Hooks>
struct promise_base : Hooks {
    std::coroutine_handle<> continuation;
    std::exception_ptr error;
    // Set at the final suspension, as the coroutine's last access to its
    // frame: task::done() may be polled from another thread (a coroutine
    // handle's own done() is a plain read, a race that g++'s TSan reports).
    std::atomic<bool> finished{false};

    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
            std::coroutine_handle<> next = h.promise().continuation;
            h.promise().finished.store(true, std::memory_order_release);  // then nothing of the frame is touched
            return next ? next : std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T, class Hooks>
struct promise : promise_base<Hooks> {
    std::optional<T> value;
    template <class U>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
    T take() {
        if (this->error) std::rethrow_exception(this->error);
        return std::move(*value);
    }
};

template <class Hooks>
struct promise<void, Hooks> : promise_base<Hooks> {
    void return_void() noexcept {}
    void take() {
        if (this->error) std::rethrow_exception(this->error);
    }
};

}  // namespace detail

template <class T = void, class Hooks = detail::default_promise_hooks>
class basic_task {
public:
    struct promise_type : detail::promise<T, Hooks> {
        basic_task get_return_object() {
            return basic_task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
    };
    using handle = std::coroutine_handle<promise_type>;

    basic_task() = default;
    explicit basic_task(handle h) : h_(h) {}
    basic_task(basic_task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    basic_task& operator=(basic_task&& other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    ~basic_task() { reset(); }

    struct awaiter {
        handle h;
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) noexcept {
            h.promise().continuation = c;
            return h;
        }
        T await_resume() { return h.promise().take(); }
    };
    awaiter operator co_await() && noexcept { return awaiter{h_}; }

    /// Starts the task from plain code; it runs until its first suspension.
    void start() { h_.resume(); }
    bool done() const { return h_ && h_.promise().finished.load(std::memory_order_acquire); }
    T result() { return h_.promise().take(); }
    /// The coroutine, e.g. to return from an await_suspend (it stays owned here).
    std::coroutine_handle<> coroutine() const { return h_; }
    /// Destroys the coroutine now (cancellation), wherever it is suspended.
    void reset() {
        if (h_) std::exchange(h_, {}).destroy();
    }

private:
    handle h_;
};

template <class T = void>
using task = basic_task<T>;

// ---- detached: an eager coroutine that frees itself when it ends ------------

struct detached {
    struct promise_type : detail::default_promise_hooks {
        detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

/// Runs a lazy task to completion as a task of its own, from plain code.
inline detached spawn(task<> t) { co_await std::move(t); }

// ---- when_all: starts every child inline from its await_suspend -------------

class when_all_awaitable {
public:
    explicit when_all_awaitable(std::vector<task<>> children) : children_(std::move(children)) {}
    when_all_awaitable(const when_all_awaitable&) = delete;
    when_all_awaitable& operator=(const when_all_awaitable&) = delete;
    ~when_all_awaitable() {
        for (std::coroutine_handle<driver::promise_type> d : drivers_) d.destroy();
    }

    bool await_ready() const noexcept { return children_.empty(); }
    bool await_suspend(std::coroutine_handle<> continuation) {
        continuation_ = continuation;
        remaining_.store(children_.size() + 1);
        for (task<>& child : children_) {
            std::coroutine_handle<driver::promise_type> d = drive(std::move(child)).handle;
            d.promise().join = this;
            drivers_.push_back(d);
            d.resume();  // inline: the child runs until its first suspension
        }
        return remaining_.fetch_sub(1) != 1;  // false: all finished inline, resume at once
    }
    void await_resume() noexcept {}

private:
    /// An unframed helper coroutine per child. The last one to finish hands
    /// control to the awaiting coroutine from its final suspension, so the
    /// awaiting coroutine may destroy it.
    struct driver {
        struct promise_type {
            when_all_awaitable* join = nullptr;
            driver get_return_object() { return driver{std::coroutine_handle<promise_type>::from_promise(*this)}; }
            std::suspend_always initial_suspend() noexcept { return {}; }
            struct final_awaiter {
                bool await_ready() noexcept { return false; }
                std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                    return h.promise().join->arrive();
                }
                void await_resume() noexcept {}
            };
            final_awaiter final_suspend() noexcept { return {}; }
            void return_void() noexcept {}
            void unhandled_exception() noexcept { std::terminate(); }
        };
        std::coroutine_handle<promise_type> handle;
    };
    static driver drive(task<> child) { co_await std::move(child); }
    std::coroutine_handle<> arrive() noexcept {
        return remaining_.fetch_sub(1) == 1 ? continuation_ : std::noop_coroutine();
    }

    std::vector<task<>> children_;
    std::vector<std::coroutine_handle<driver::promise_type>> drivers_;
    std::atomic<std::size_t> remaining_{0};
    std::coroutine_handle<> continuation_;
};

/// Built through a function (not an aggregate in the co_await operand): g++ 12
/// double-destroys aggregate-initialised temporaries there.
template <class... Tasks>
when_all_awaitable when_all(Tasks... tasks) {
    std::vector<task<>> children;
    (children.push_back(std::move(tasks)), ...);
    return when_all_awaitable(std::move(children));
}

// ---- executors ------------------------------------------------------------

/// A queue of work items run by one thread, in order.
class run_loop {
public:
    /// With mark_work_items, each item runs inside an ABT_WORK_ITEM scope
    /// (set by the test through the hook below, so this file needs no
    /// knowledge of async_backtrace.hpp).
    std::function<void(const std::function<void()>&)> item_wrapper;

    void post(std::function<void()> item) {
        std::lock_guard<std::mutex> lock(mutex_);
        items_.push_back(std::move(item));
    }
    void post(std::coroutine_handle<> h) {
        post([h] { h.resume(); });
    }
    /// Runs items until the queue is empty. Returns how many ran.
    std::size_t run() {
        std::size_t ran = 0;
        for (;;) {
            std::function<void()> item;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (items_.empty()) return ran;
                item = std::move(items_.front());
                items_.pop_front();
            }
            if (item_wrapper)
                item_wrapper(item);
            else
                item();
            ++ran;
        }
    }
    struct schedule_awaiter {
        run_loop* loop;
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) { loop->post(h); }
        void await_resume() noexcept {}
    };
    /// co_await loop.schedule(): continue later, from the loop.
    schedule_awaiter schedule() { return {this}; }

private:
    std::mutex mutex_;
    std::deque<std::function<void()>> items_;
};

/// N threads that run posted items; joins them on destruction after the
/// queue is drained.
class thread_pool {
public:
    explicit thread_pool(unsigned threads) {
        for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    }
    ~thread_pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (std::thread& t : workers_) t.join();
    }
    void post(std::function<void()> item) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            items_.push_back(std::move(item));
        }
        wake_.notify_one();
    }
    struct schedule_awaiter {
        thread_pool* pool;
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            pool->post([h] { h.resume(); });
        }
        void await_resume() noexcept {}
    };
    /// co_await pool.schedule(): continue on one of the pool's threads.
    schedule_awaiter schedule() { return {this}; }

private:
    void work() {
        for (;;) {
            std::function<void()> item;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !items_.empty(); });
                if (items_.empty()) return;
                item = std::move(items_.front());
                items_.pop_front();
            }
            item();
        }
    }
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> items_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

// ---- event ----------------------------------------------------------------

/// A manual-reset event. set() resumes the waiters inline, or posts them to
/// a run loop when one is given.
class event {
public:
    explicit event(run_loop* loop = nullptr) : loop_(loop) {}

    struct awaiter {
        event* ev;
        bool await_ready() {
            std::lock_guard<std::mutex> lock(ev->mutex_);
            return ev->set_;
        }
        bool await_suspend(std::coroutine_handle<> h) {
            std::lock_guard<std::mutex> lock(ev->mutex_);
            if (ev->set_) return false;
            ev->waiters_.push_back(h);
            return true;
        }
        void await_resume() noexcept {}
    };
    awaiter wait() { return {this}; }

    void set() {
        std::vector<std::coroutine_handle<>> waiters;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            set_ = true;
            waiters.swap(waiters_);
        }
        for (std::coroutine_handle<> h : waiters) {
            if (loop_ != nullptr)
                loop_->post(h);
            else
                h.resume();
        }
    }
    /// Unset again (no waiter may be waiting).
    void reset() {
        std::lock_guard<std::mutex> lock(mutex_);
        set_ = false;
    }
    bool is_set() {
        std::lock_guard<std::mutex> lock(mutex_);
        return set_;
    }

private:
    run_loop* loop_;
    std::mutex mutex_;
    bool set_ = false;
    std::vector<std::coroutine_handle<>> waiters_;
};

}  // namespace coro

#endif  // ABT_TESTS_CORO_HPP
