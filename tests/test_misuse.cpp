// Misuse that would corrupt state is reported, with the frame's file:line and
// the fix, and the process aborts before anything is corrupted. Each case
// runs in a forked child process.
#include "coro.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace misuse {

struct outcome {
    bool aborted = false;
    std::string stderr_text;
};

/// Runs body in a child process; reports whether it died of SIGABRT and what
/// it wrote to stderr.
outcome run_in_child(const std::function<void()>& body) {
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    std::fflush(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGABRT, SIG_DFL);  // not doctest's crash handler: die as the user's program would
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(pipe_fds[1], 2);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        body();
        _exit(0);
    }
    close(pipe_fds[1]);
    outcome result;
    char buffer[4096];
    for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) result.stderr_text.append(buffer, static_cast<std::size_t>(n));
    close(pipe_fds[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    result.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    return result;
}

constexpr unsigned bare_frame_line = __LINE__ + 2;
coro::task<> suspends_through_a_bare_co_await(coro::event& ev) {
    ABT_FRAMED();
    co_await ev.wait();  // misuse: not wrapped in ABT_AWAIT
}

}  // namespace misuse

TEST_CASE("a framed coroutine resumed elsewhere after a bare co_await is reported, naming its frame" *
          doctest::skip(!ABT_ENABLED)) {
    const misuse::outcome o = misuse::run_in_child([] {
        coro::event ev;
        coro::task<> t = misuse::suspends_through_a_bare_co_await(ev);
        t.start();
        std::thread([&] { ev.set(); }).join();  // its frame ends on this other thread
    });
    CHECK(o.aborted);
    CHECK(o.stderr_text.find("misuse::suspends_through_a_bare_co_await") != std::string::npos);
    CHECK(o.stderr_text.find(testing::place(__FILE__, misuse::bare_frame_line)) != std::string::npos);
    CHECK(o.stderr_text.find("co_await ABT_AWAIT(expr)") != std::string::npos);
}

TEST_CASE("a work item that ends with a frame still active reports it at once" * doctest::skip(!ABT_ENABLED)) {
    const misuse::outcome o = misuse::run_in_child([] {
        coro::event ev;
        coro::task<> t = misuse::suspends_through_a_bare_co_await(ev);
        {
            ABT_WORK_ITEM();
            t.start();
        }
    });
    CHECK(o.aborted);
    CHECK(o.stderr_text.find("was still active when its work item (ABT_WORK_ITEM, ABT_SPAWN) ended") != std::string::npos);
    CHECK(o.stderr_text.find(testing::place(__FILE__, misuse::bare_frame_line)) != std::string::npos);
}

TEST_CASE("a persistent frame destroyed inside its own callback is reported" * doctest::skip(!ABT_ENABLED)) {
    const misuse::outcome o = misuse::run_in_child([] {
        auto op = std::make_unique<abt::persistent_frame>(ABT_SITE("doomed"));
        ABT_REENTER(*op);
        op.reset();
    });
    CHECK(o.aborted);
    CHECK(o.stderr_text.find("'doomed'") != std::string::npos);
    CHECK(o.stderr_text.find("while a callback was inside it") != std::string::npos);
}

TEST_CASE("correct use in a child process exits normally (the harness itself works)") {
    const misuse::outcome o = misuse::run_in_child([] {
        ABT_FRAMED("fine");
        std::fputs("ran\n", stderr);
    });
    CHECK_FALSE(o.aborted);
    CHECK(o.stderr_text == "ran\n");
}
