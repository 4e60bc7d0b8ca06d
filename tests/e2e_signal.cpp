// End to end (make test): a program whose every thread is blocked (four
// workers inside framed functions, the main thread in pause(), three
// suspended coroutine tasks) gets SIGUSR1 and prints its task tree through
// abt::install_signal_dump. The driver starts it as a child process, waits
// until it is ready, sends the signal, checks the dump, and kills the child.
// Every wait is bounded.
// Usage: e2e_signal            (driver: runs itself with --target)
#include "../async_backtrace.hpp"
#include "coro.hpp"
#include "helpers.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace e2e {

constexpr int workers = 4;
constexpr int sessions = 3;

coro::event never;

// Where each frame and await is (constants: several threads make workers).
constexpr unsigned leaf_line = __LINE__ + 2;
coro::task<> leaf() {
    ABT_FRAMED();
    co_await ABT_AWAIT(never.wait());
}
constexpr unsigned session_line = __LINE__ + 2;
coro::task<> session() {
    ABT_FRAMED();
    co_await ABT_AWAIT(leaf());
}

std::mutex mutex;
std::condition_variable never_notified;

constexpr unsigned worker_line = __LINE__ + 2;
void worker(std::atomic<int>& started) {
    ABT_FRAMED();
    std::unique_lock<std::mutex> lock(mutex);
    ++started;
    for (;;) never_notified.wait(lock);  // blocked for good
}

/// The program under test. Writes "ready LINES\n" to stdout, then blocks.
int target() {
    if (!abt::install_signal_dump(SIGUSR1, stderr)) {
        std::fputs("install_signal_dump failed\n", stdout);
        return 1;
    }
    abt::install_signal_dump(SIGUSR1, stderr);  // installing again is harmless
    std::vector<coro::task<>> tasks;
    for (int i = 0; i < sessions; ++i) {
        tasks.push_back(session());
        tasks.back().start();
    }
    std::atomic<int> started{0};
    for (int i = 0; i < workers; ++i) std::thread([&started] { worker(started); }).detach();
    while (started < workers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const unsigned main_line = __LINE__ + 1;
    ABT_FRAMED("main_loop");
    std::printf("ready %u\n", main_line);
    std::fflush(stdout);
    for (;;) pause();  // every thread is blocked now
}

int failures = 0;
void check(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "e2e_signal: FAILED: %s\n", what.c_str());
    }
}

/// Reads from fd until `text` holds `until` or `limit` passes.
bool read_until(int fd, std::string& text, const std::string& until, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (text.find(until) == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buffer[4096];
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) return false;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
}

int driver(const char* self) {
    alarm(60);  // the whole run is bounded
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return 2;
    const pid_t child = fork();
    if (child < 0) return 2;
    if (child == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        execl(self, self, "--target", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    std::string ready, dump;
    const bool is_ready = read_until(out[0], ready, "\n", std::chrono::seconds(20));
    check(is_ready && ready.rfind("ready ", 0) == 0, "the target got ready: " + ready);
    if (is_ready) {
        unsigned main_at = 0;
        std::sscanf(ready.c_str(), "ready %u", &main_at);
        kill(child, SIGUSR1);
        const bool dumped = read_until(err[0], dump, "async_backtrace: end of dump\n", std::chrono::seconds(20));
        check(dumped, "a dump came within 20 s");
        const std::string file = __FILE__;
        const auto at = [&](unsigned line) { return testing::place(file.c_str(), line); };
        const std::string mark = "\xE2\x95\xBC ";
        check(dump.rfind("async_backtrace: dump on signal " + std::to_string(SIGUSR1) + " (pid " +
                             std::to_string(child) + ")\n",
                         0) == 0,
              "the dump's first line names the signal and the pid");
        check(testing::count_of(dump, "async_backtrace: dump on signal") == 1, "one dump for one signal");
        check(dump.find("\n" + std::to_string(workers) + " tasks (ids ") != std::string::npos,
              "the blocked workers are one group of " + std::to_string(workers));
        check(dump.find(mark + "[\xC3\x97" + std::to_string(workers) + "] e2e::worker at " + at(worker_line) + "\n  " +
                        "\xE2\x94\x94\xE2\x94\x88 [running]\n") != std::string::npos,
              "the workers are shown running");
        check(dump.find(mark + "main_loop at " + at(main_at) + "\n  \xE2\x94\x94\xE2\x94\x88 [running]\n") !=
                  std::string::npos,
              "the main thread's task is shown running");
        check(dump.find(mark + "[\xC3\x97" + std::to_string(sessions) + "] e2e::session at " + at(session_line) +
                        " suspended at " + at(session_line + 1) + " for ") != std::string::npos,
              "the suspended sessions are one group, at their await site");
        check(dump.find("\n  \xE2\x94\x94\xE2\x95\xBC e2e::leaf at " + at(leaf_line) + " suspended at " +
                        at(leaf_line + 1) + " for ") != std::string::npos,
              "each session waits in leaf, at its await site");
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    if (failures != 0) {
        std::fprintf(stderr, "e2e_signal: the dump was:\n%s", dump.c_str());
        return 1;
    }
    std::printf("e2e_signal: ok (%d blocked workers, %d suspended sessions, dump on SIGUSR1)\n", workers, sessions);
    return 0;
}

}  // namespace e2e

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--target") return e2e::target();
    return e2e::driver(argv[0]);
}
