// Runs a piece of a test in a child process (for code that aborts: misuse
// reports). Include after doctest.
#ifndef ABT_TESTS_CHILD_PROCESS_HPP
#define ABT_TESTS_CHILD_PROCESS_HPP

#include <csignal>
#include <cstdio>
#include <functional>
#include <string>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace testing {

struct child_outcome {
    bool aborted = false;     // died of SIGABRT
    std::string stderr_text;  // what it wrote to stderr (its stdout goes to /dev/null)
};

/// Runs body in a child process, as the user's program would run (SIGABRT's
/// default action, not doctest's crash handler).
inline child_outcome run_in_child(const std::function<void()>& body) {
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    std::fflush(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGABRT, SIG_DFL);
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(pipe_fds[1], 2);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        body();
        _exit(0);
    }
    close(pipe_fds[1]);
    child_outcome result;
    char buffer[4096];
    for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        result.stderr_text.append(buffer, static_cast<std::size_t>(n));
    close(pipe_fds[0]);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    result.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    return result;
}

}  // namespace testing

#endif
