// End to end (make test): starts examples/echo_server on a free loopback
// port, opens 200 connections (100 served once, one stuck, the rest idle),
// asks for a dump over a control connection, checks every session, closes
// everything, checks that only the control session is left, and stops the
// server. Every wait is bounded; the server is killed if anything fails.
// Usage: e2e_echo path/to/echo_server
#include <cstddef>  // before asio: see async_backtrace_asio.hpp

#include <asio.hpp>

#include "helpers.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using asio::ip::tcp;
using testing::count_of;
constexpr int connections = 200;
int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "e2e_echo: FAILED: %s\n", what.c_str());
    }
}

/// The server process; killed on every way out.
struct server_process {
    pid_t pid = -1;
    int out = -1;  // its stdout
    ~server_process() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        if (out >= 0) ::close(out);
    }
    bool start(const char* path) {
        int fds[2];
        if (::pipe(fds) != 0) return false;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
        posix_spawn_file_actions_addclose(&actions, fds[0]);
        char port[] = "0";
        char* argv[] = {const_cast<char*>(path), port, nullptr};
        const int rc = posix_spawn(&pid, path, &actions, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        out = fds[0];
        if (rc != 0) pid = -1;
        return rc == 0;
    }
    /// The port from "listening on 127.0.0.1:PORT" (0 if none within 5 s).
    unsigned short port() {
        std::string text;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        char c;
        while (std::chrono::steady_clock::now() < until && text.find('\n') == std::string::npos) {
            if (::read(out, &c, 1) == 1) text += c;
        }
        const std::size_t colon = text.rfind(':');
        return colon == std::string::npos ? 0 : static_cast<unsigned short>(std::atoi(text.c_str() + colon + 1));
    }
    /// Waits up to 5 s for the server to exit by itself; true if it did, with status 0.
    bool exited_cleanly() {
        for (int i = 0; i < 500; ++i) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return WIFEXITED(status) && WEXITSTATUS(status) == 0;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
};

std::string read_line(tcp::socket& s) {
    std::string line;
    char c;
    while (asio::read(s, asio::buffer(&c, 1)) == 1 && c != '\n') line += c;
    return line;
}

/// The server's answer to a control line ("DUMP" or "JSON"), up to "END".
std::string dump(tcp::socket& control, const char* command = "DUMP\n") {
    asio::write(control, asio::buffer(std::string(command)));
    std::string text;
    for (std::string line = read_line(control); line != "END"; line = read_line(control)) text += line + "\n";
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    server_process server;
    if (!server.start(argv[1])) {
        std::fprintf(stderr, "e2e_echo: cannot start %s\n", argv[1]);
        return 1;
    }
    const unsigned short port = server.port();
    if (port == 0) {
        std::fprintf(stderr, "e2e_echo: the server did not say its port\n");
        return 1;
    }
    // A watchdog bounds the whole run: the server dies after 60 s whatever happens.
    std::thread([pid = server.pid] {
        std::this_thread::sleep_for(std::chrono::seconds(60));
        ::kill(pid, SIGKILL);
    }).detach();
    try {
        asio::io_context ctx;
        const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port);
        std::vector<tcp::socket> clients;
        for (int i = 0; i < connections; ++i) {
            clients.emplace_back(ctx);
            clients.back().connect(at);
        }
        for (int i = 0; i < 100; ++i) {
            asio::write(clients[static_cast<std::size_t>(i)], asio::buffer(std::string("ping\n")));
            check(read_line(clients[static_cast<std::size_t>(i)]) == "echo:ping", "served reply");
        }
        asio::write(clients[100], asio::buffer(std::string("stuck\n")));
        tcp::socket control(ctx);
        control.connect(at);

        // The server accepts the idle connections in its own time: dump until all of them are
        // sessions (bounded); each dump itself waits until the other sessions suspended.
        const auto settled = [](const std::string& t) {
            return count_of(t, "echo::read_request at ") == connections - 1 &&
                   count_of(t, "echo::stuck_forever at ") == 1;
        };
        std::string text = dump(control);
        for (int attempt = 0; attempt < 100 && !settled(text); ++attempt) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            text = dump(control);
        }
        if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(text.c_str(), stderr);
        check(count_of(text, "\xE2\x95\xBC echo::session at examples/echo_server.cpp:") == connections + 1,
              "one session task per connection, plus the control one");
        check(count_of(text, "\xE2\x94\x94\xE2\x95\xBC echo::read_request at ") == connections - 1,
              "199 sessions waiting for a request");
        check(count_of(text, " suspended at examples/echo_server.cpp:") == connections, "200 waiting sessions");
        check(count_of(text, "\xE2\x94\x94\xE2\x95\xBC echo::stuck_forever at ") == 1,
              "the stuck session in stuck_forever");
        check(count_of(text, "[running") >= 1, "the control session, running the dump");
        const std::string json = dump(control, "JSON\n");
        check(json.rfind("{\"format_version\":2,", 0) == 0, "JSON: a versioned document");
        check(count_of(json, "\"function\":\"echo::read_request\"") == connections - 1,
              "JSON: 199 sessions waiting for a request");
        check(count_of(json, "\"function\":\"echo::stuck_forever\"") == 1, "JSON: the stuck session");

        for (tcp::socket& s : clients) s.close();
        std::string after;
        for (int attempt = 0; attempt < 100; ++attempt) {
            after = dump(control);
            if (count_of(after, "echo::session at ") == 1) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        check(count_of(after, "echo::session at ") == 1, "only the control session left: " + after);
        asio::write(control, asio::buffer(std::string("QUIT\n")));
        check(server.exited_cleanly(), "the server exits after QUIT");
    } catch (const std::exception& e) {
        check(false, std::string("exception: ") + e.what());
    }
    if (failures == 0) std::printf("e2e_echo: %d connections: ok\n", connections);
    return failures == 0 ? 0 : 1;
}
