// An asio echo server on 127.0.0.1 with framed coroutines (make examples;
// tests/e2e_echo.cpp drives it in make test). Each connection is a session:
//   session -> read_request -> (parse) -> reply
// A line "stuck" sends its session down a path that waits for a line that
// never comes (stuck_forever). A line "DUMP" answers with the task tree and
// "END", "JSON" with taskdump_json() (one document, for tools/abt-view and
// abt-diff) and "END"; "QUIT" stops the server. Usage: echo_server [port] (0: any free port;
// the port is printed as "listening on 127.0.0.1:PORT").
#include "../async_backtrace_asio.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace echo {

using asio::ip::tcp;

std::string parse(const std::string& line) {
    ABT_FRAMED();
    return "echo:" + line + "\n";
}

/// One line (without its newline); an exception when the client closes.
asio::awaitable<std::string> read_request(tcp::socket& s, std::string& pending) {
    ABT_FRAMED();
    std::array<char, 256> buf{};
    for (;;) {
        const std::size_t end = pending.find('\n');
        if (end != std::string::npos) {
            std::string line = pending.substr(0, end);
            pending.erase(0, end + 1);
            co_return line;
        }
        const std::size_t n = co_await s.async_read_some(asio::buffer(buf), ABT_USE_AWAITABLE);
        pending.append(buf.data(), n);
    }
}

/// The deliberately stuck path: waits for an "unblock" that no client sends.
asio::awaitable<void> stuck_forever(tcp::socket& s) {
    ABT_FRAMED();
    std::array<char, 16> buf{};
    co_await s.async_read_some(asio::buffer(buf), ABT_USE_AWAITABLE);
}

asio::awaitable<void> session(tcp::socket s, asio::io_context& ctx) {
    ABT_FRAMED();
    std::string pending;
    try {
        for (;;) {
            const std::string line = co_await read_request(s, pending);
            std::string reply;
            if (line == "DUMP") {
                reply = abt::taskdump_tree(true) + "END\n";
            } else if (line == "JSON") {
                abt::dump_options options;
                options.wait_for_running_tasks = true;  // 0.2.0's flag, deprecated: still works (ABT_DUMP_WAIT_MS)
                reply = abt::taskdump_json(options) + "END\n";
            } else if (line == "QUIT") {
                ctx.stop();
                co_return;
            } else if (line == "stuck") {
                co_await stuck_forever(s);
                continue;
            } else {
                reply = parse(line);
            }
            co_await asio::async_write(s, asio::buffer(reply), ABT_USE_AWAITABLE);
        }
    } catch (const std::exception&) {  // the client closed
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::io_context& ctx) {
    for (;;) {
        tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(ctx, session(std::move(s), ctx), asio::detached);
    }
}

}  // namespace echo

int main(int argc, char** argv) {
    const unsigned short port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
    asio::io_context ctx;
    asio::ip::tcp::acceptor acceptor(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    asio::co_spawn(ctx, echo::accept_loop(acceptor, ctx), asio::detached);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&] { ctx.run(); });
    for (std::thread& t : threads) t.join();
    return 0;
}
