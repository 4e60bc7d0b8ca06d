// A small HTTP/1.1 server on 127.0.0.1 with framed asio coroutines, in the
// shape real servers have: a framed accept loop (listener) that co_spawns one
// session per connection; a session serves keep-alive requests (GET only, no
// bodies) through handle(), which routes:
//   /       200 "hello\n" (through a framed plain function, render)
//   /stuck  never answers: handle -> stuck_path -> backend_call, which waits
//           on a timer that expires in an hour (the "slow backend")
//   /dump   200 text/plain, taskdump_tree(true)
//   /json   200 application/json, taskdump_json (waiting for running tasks)
//   /metrics 200, tasks per await site in Prometheus' text format: what a
//           metrics exporter makes of a snapshot walked in code
//   /quit   200, then stops the server
//   other   404
// tests/e2e_http.sh drives it with wrk and curl and checks the exact dump; the
// lines it checks carry "e2e_http:" marker comments, which it finds by grep.
// Usage: http_server [port] [--dump-loop] (port 0: any free port; the port is
// printed as "listening on 127.0.0.1:PORT"). --dump-loop also runs a thread
// that dumps without pause while the server runs: a dumper racing the load.
#include "../async_backtrace_asio.hpp"

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace web {

using asio::ip::tcp;

struct response {
    int status = 200;
    std::string content_type = "text/plain";
    std::string body;
    bool stop_server = false;  // /quit: stop once this response is written
};

std::string render() {
    ABT_FRAMED();
    return "hello\n";
}

/// The slow backend: a reply that takes an hour.
asio::awaitable<void> backend_call() {
    ABT_FRAMED();  // e2e_http: backend_call frame
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
    co_await timer.async_wait(ABT_USE_AWAITABLE);  // e2e_http: backend_call waits
}

asio::awaitable<void> stuck_path() {
    ABT_FRAMED();  // e2e_http: stuck_path frame
    co_await backend_call();
}

/// GET /metrics: the tasks waiting at each await site (a task's innermost
/// waiting frames), and the tasks running, from a snapshot walked in code
/// one task at a time (abt::for_each_task), in Prometheus' text format.
std::string metrics() {
    std::map<std::string, std::size_t> waiting;  // "file:line" -> tasks
    std::size_t tasks = 0, running = 0;
    abt::dump_options options;
    options.wait_for_running = std::chrono::milliseconds(1000);  // a task between two awaits is counted at its next
    abt::for_each_task(options, [&](const abt::task_snapshot& t) {
        tasks += t.count;
        if (!t.whole) running += t.count;  // running elsewhere, or this handler's own task
        for (std::size_t i = 0; i < t.frames.size(); ++i) {
            const abt::frame_snapshot& f = t.frames[i];
            const bool innermost = i + 1 == t.frames.size() || t.frames[i + 1].depth <= f.depth;
            if (innermost && f.await_file != nullptr)
                waiting[std::string(f.await_file) + ":" + std::to_string(f.await_line)] += f.count * t.count;
        }
    });
    std::string text = "# HELP abt_tasks Live tasks (async_backtrace.hpp).\n# TYPE abt_tasks gauge\n";
    text += "abt_tasks " + std::to_string(tasks) + "\nabt_tasks_running " + std::to_string(running) + "\n";
    text += "# HELP abt_tasks_waiting Tasks whose innermost frames wait at an await site.\n";
    text += "# TYPE abt_tasks_waiting gauge\n";
    for (const auto& site : waiting)
        text += "abt_tasks_waiting{site=\"" + site.first + "\"} " + std::to_string(site.second) + "\n";
    return text;
}

asio::awaitable<response> handle(std::string path) {
    ABT_FRAMED();  // e2e_http: handle frame
    response r;
    if (path == "/") {
        r.body = render();
    } else if (path == "/stuck") {
        co_await stuck_path();
        r.body = "unstuck\n";
    } else if (path == "/dump") {
        r.body = abt::taskdump_tree(true);
    } else if (path == "/json") {
        abt::dump_options options;
        options.wait_for_running = std::chrono::milliseconds(1000);
        r.content_type = "application/json";
        r.body = abt::taskdump_json(options);
    } else if (path == "/metrics") {
        r.body = metrics();
    } else if (path == "/quit") {
        r.body = "bye\n";
        r.stop_server = true;
    } else {
        r.status = 404;
        r.body = "not found\n";
    }
    co_return r;
}

/// Whether the request head asks to close the connection after the response:
/// "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
bool wants_close(const std::string& head) {
    std::string lower;
    lower.reserve(head.size());
    for (const char c : head) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("\r\nconnection: close") != std::string::npos) return true;
    const bool http10 = lower.substr(0, lower.find("\r\n")).find("http/1.0") != std::string::npos;
    return http10 && lower.find("\r\nconnection: keep-alive") == std::string::npos;
}

/// The path of "GET /path HTTP/1.1" (without a query); empty if malformed.
std::string path_of(const std::string& head) {
    const std::size_t start = head.find(' ');
    if (start == std::string::npos) return std::string();
    const std::size_t end = head.find_first_of(" ?\r", start + 1);
    if (end == std::string::npos) return std::string();
    return head.substr(start + 1, end - start - 1);
}

std::string format(const response& r, bool close) {
    const char* reason = r.status == 200 ? "OK" : r.status == 404 ? "Not Found" : "Bad Request";
    return "HTTP/1.1 " + std::to_string(r.status) + " " + reason + "\r\nContent-Type: " + r.content_type +
           "\r\nContent-Length: " + std::to_string(r.body.size()) +
           (close ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n") + r.body;
}

asio::awaitable<void> session(tcp::socket s) {
    ABT_FRAMED();  // e2e_http: session frame
    std::string buf;
    try {
        for (;;) {
            const std::size_t n =
                co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", ABT_USE_AWAITABLE);
            const std::string head = buf.substr(0, n);
            buf.erase(0, n);  // a pipelined next request stays
            const std::string path = path_of(head);
            const bool close = wants_close(head) || path.empty();
            response r;
            if (path.empty()) {
                r.status = 400;
                r.body = "bad request\n";
            } else {
                r = co_await handle(path);
            }
            const std::string text = format(r, close || r.stop_server);
            co_await asio::async_write(s, asio::buffer(text), ABT_USE_AWAITABLE);
            if (r.stop_server) {
                // Every socket runs on main's io_context (the acceptor's executor is
                // the io_context's); stopping it ends run() on all four threads.
                static_cast<asio::io_context&>(asio::query(s.get_executor(), asio::execution::context)).stop();
            }
            if (close || r.stop_server) co_return;
        }
    } catch (const std::exception&) {  // the client closed, or any other error: end quietly
    }
}

/// The framed accept loop: the shape under test (a framed coroutine that
/// spawns tasks; they are tasks of their own, not its children).
asio::awaitable<void> listener(tcp::acceptor& acceptor) {
    ABT_FRAMED();  // e2e_http: listener frame
    for (;;) {
        tcp::socket s = co_await acceptor.async_accept(ABT_USE_AWAITABLE);  // e2e_http: listener waits
        asio::co_spawn(acceptor.get_executor(), session(std::move(s)), asio::detached);
    }
}

}  // namespace web

int main(int argc, char** argv) {
    const unsigned short port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0);
    const bool dump_loop = argc > 2 && std::strcmp(argv[2], "--dump-loop") == 0;
    asio::io_context ctx;
    asio::ip::tcp::acceptor acceptor(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    asio::co_spawn(ctx, web::listener(acceptor), asio::detached);

    // The dumper reads the registry while four threads change it; what it
    // finds is thrown away (the point is that it races, and TSan watches).
    std::atomic<bool> stopping{false};
    std::thread dumper;
    if (dump_loop) {
        dumper = std::thread([&stopping] {
            while (!stopping.load(std::memory_order_relaxed)) {
                static_cast<void>(abt::taskdump_tree(false));
                static_cast<void>(abt::taskdump_tree(abt::dump_options{}));
            }
        });
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&ctx] { ctx.run(); });
    for (std::thread& t : threads) t.join();
    stopping.store(true, std::memory_order_relaxed);
    if (dumper.joinable()) dumper.join();
    return 0;
}
