// libuv: a callback chain per connection (accept -> read -> processing timer
// -> write -> read ...), each connection carrying a persistent frame. The
// server and its clients share one loop on 127.0.0.1; the loop is stopped at
// a checkpoint and the tree is dumped while it stands still.
#include "helpers.hpp"

#include <doctest/doctest.h>
#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using testing::count_of;
using testing::lines_of;

namespace uvtest {

constexpr int stuck_ms = 60000;  // a request whose processing never ends during the test
unsigned read_wait_line = 0, processing_wait_line = 0, next_read_wait_line = 0;  // where each waits

struct server;

/// One accepted connection: its state lives here, its callbacks re-enter its frame.
struct connection {
    explicit connection(server& s) : srv(s) {}
    server& srv;
    abt::persistent_frame frame{ABT_SITE("connection")};
    uv_tcp_t socket{};
    uv_timer_t processing{};
    uv_write_t write_req{};
    std::string request, reply;
    int handles_open = 0;

    void start();
    void on_read(ssize_t n, const uv_buf_t* buf);
    void on_processed();
    void on_written(int status);
    void close();
};

struct server {
    uv_loop_t* loop = nullptr;
    uv_tcp_t listener{};
    int port = 0;
    std::vector<std::unique_ptr<connection>> connections;
    int replies_sent = 0;
    int requests_processing = 0;
};

std::string parse(const std::string& request) {
    ABT_FRAMED();
    return "echo:" + request;
}

void alloc(uv_handle_t*, std::size_t suggested, uv_buf_t* buf) {
    buf->base = new char[suggested];
    buf->len = static_cast<decltype(buf->len)>(suggested);
}

void connection::start() {
    ABT_REENTER(frame);
    abt::set_task_tag("conn", std::to_string(srv.connections.size()));
    socket.data = this;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&socket), alloc, [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        static_cast<connection*>(s->data)->on_read(n, buf);
    });
    read_wait_line = __LINE__; ABT_WAITING(frame, "read request");
}

void connection::on_read(ssize_t n, const uv_buf_t* buf) {
    std::unique_ptr<char[]> owned(buf->base);
    ABT_REENTER(frame);
    if (n < 0) {  // the client closed: so do we
        close();
        return;
    }
    if (n == 0) return;
    request.assign(buf->base, static_cast<std::size_t>(n));
    reply = parse(request);
    processing.data = this;
    ++srv.requests_processing;
    const uint64_t delay = request == "stuck" ? stuck_ms : 1;
    uv_timer_start(&processing, [](uv_timer_t* t) { static_cast<connection*>(t->data)->on_processed(); }, delay, 0);
    processing_wait_line = __LINE__; ABT_WAITING(frame, "processing timer");
}

void connection::on_processed() {
    ABT_REENTER(frame);
    --srv.requests_processing;
    uv_buf_t buf = uv_buf_init(reply.data(), static_cast<unsigned>(reply.size()));
    write_req.data = this;
    uv_write(&write_req, reinterpret_cast<uv_stream_t*>(&socket), &buf, 1,
             [](uv_write_t* w, int status) { static_cast<connection*>(w->data)->on_written(status); });
    ABT_WAITING(frame, "write reply");
}

void connection::on_written(int status) {
    ABT_REENTER(frame);
    ++srv.replies_sent;
    next_read_wait_line = __LINE__; if (status == 0) ABT_WAITING(frame, "read request");  // the read goes on
}

void connection::close() {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&socket));
    uv_timer_stop(&processing);
    for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&socket), reinterpret_cast<uv_handle_t*>(&processing)}) {
        h->data = this;
        uv_close(h, [](uv_handle_t* closed) {
            auto* c = static_cast<connection*>(closed->data);
            {
                ABT_REENTER(c->frame);  // the README's close-callback pattern: the scope ends before the frame goes
                --c->handles_open;
            }
            if (c->handles_open == 0) c->srv.connections.erase(
                std::find_if(c->srv.connections.begin(), c->srv.connections.end(),
                             [c](const std::unique_ptr<connection>& p) { return p.get() == c; }));
        });
    }
}

/// A client in the same loop: connects, and sends `request` unless it is empty.
struct client {
    uv_tcp_t socket{};
    uv_connect_t connect_req{};
    uv_write_t write_req{};
    std::string request, received;
    bool connected = false;

    void connect(uv_loop_t* loop, const sockaddr_in& server_address) {
        uv_tcp_init(loop, &socket);
        socket.data = this;
        connect_req.data = this;
        uv_tcp_connect(&connect_req, &socket, reinterpret_cast<const sockaddr*>(&server_address),
                       [](uv_connect_t* req, int status) { static_cast<client*>(req->data)->on_connected(status); });
    }
    void on_connected(int status) {
        if (status != 0) return;
        connected = true;
        uv_read_start(reinterpret_cast<uv_stream_t*>(&socket), alloc, [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
            std::unique_ptr<char[]> owned(b->base);
            if (n > 0) static_cast<client*>(s->data)->received.append(b->base, static_cast<std::size_t>(n));
        });
        if (request.empty()) return;
        uv_buf_t buf = uv_buf_init(request.data(), static_cast<unsigned>(request.size()));
        uv_write(&write_req, reinterpret_cast<uv_stream_t*>(&socket), &buf, 1, [](uv_write_t*, int) {});
    }
};

}  // namespace uvtest

namespace uvtest {

/// Runs the server and its clients to the checkpoint, checks the tree, and
/// closes everything. With framed_main, the loop runs inside a framed
/// function (a newcomer's framed main): its callbacks' persistent frames are
/// tasks of their own all the same, and a dump from another thread shows
/// every connection with its own tag.
void serve_three_clients(bool framed_main) {
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    server srv;
    srv.loop = &loop;
    REQUIRE(uv_tcp_init(&loop, &srv.listener) == 0);
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    REQUIRE(uv_tcp_bind(&srv.listener, reinterpret_cast<const sockaddr*>(&addr), 0) == 0);
    srv.listener.data = &srv;
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&srv.listener), 16, [](uv_stream_t* l, int status) {
        auto* s = static_cast<server*>(l->data);
        if (status != 0) return;
        s->connections.push_back(std::make_unique<connection>(*s));
        connection& c = *s->connections.back();
        uv_tcp_init(s->loop, &c.socket);
        uv_timer_init(s->loop, &c.processing);
        c.handles_open = 2;
        if (uv_accept(l, reinterpret_cast<uv_stream_t*>(&c.socket)) == 0) c.start();
    }) == 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&srv.listener, reinterpret_cast<sockaddr*>(&bound), &len);
    srv.port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    uv_ip4_addr("127.0.0.1", srv.port, &addr);

    // Three clients: one idle, one served at once, one whose request is stuck in processing.
    client clients[3];
    const char* requests[3] = {"", "ping", "stuck"};
    for (int i = 0; i < 3; ++i) {
        clients[i].request = requests[i];
        clients[i].connect(&loop, addr);
    }

    // Run until the checkpoint: three connections, one reply sent, one request in processing.
    struct checkpoint {
        server* srv;
        client* clients;
        bool reached = false;
        std::string seen_from_other_thread;  // a dump taken while the loop runs (SIGUSR1, gdb)
    } cp{&srv, clients, false, {}};
    uv_idle_t watcher;
    uv_idle_init(&loop, &watcher);
    watcher.data = &cp;
    uv_idle_start(&watcher, [](uv_idle_t* w) {
        auto* c = static_cast<checkpoint*>(w->data);
        if (c->srv->connections.size() == 3 && c->srv->replies_sent == 1 && c->srv->requests_processing == 1 &&
            c->clients[1].received == "echo:ping") {
            c->reached = true;
            std::thread other([c] { c->seen_from_other_thread = abt::taskdump_tree(abt::dump_options{}); });
            other.join();
            uv_stop(w->loop);
        }
    });
    uv_timer_t deadline;  // bounds the test: 5 s
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, [](uv_timer_t* t) { uv_stop(t->loop); }, 5000, 0);
    unsigned main_line = 0;
    if (framed_main) {
        main_line = __LINE__; ABT_FRAMED("main");
        uv_run(&loop, UV_RUN_DEFAULT);
    } else {
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    REQUIRE(cp.reached);
    const std::string& rich = cp.seen_from_other_thread;
    CHECK(count_of(rich, "\xE2\x95\xBC connection at ") == 3);
    for (const char* tag : {"conn=1", "conn=2", "conn=3"}) CHECK(count_of(rich, tag) == 1);
    CHECK(count_of(rich, "\xE2\x95\xBC main at " + testing::place(__FILE__, main_line)) == (framed_main ? 1 : 0));

    // The loop stands still: every connection is an idle persistent frame with what it waits for.
    const std::string dump = abt::taskdump_tree();
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(dump.c_str(), stderr);  // README's Integrations
    const std::vector<std::string> lines = lines_of(dump);
    CHECK(lines.size() == 3);
    CHECK(count_of(dump, "\xE2\x95\xBC connection at ") == 3);
    const auto waits_at = [&](unsigned line, const char* what) {
        return count_of(dump, " suspended at " + testing::place(__FILE__, line) + " (" + what + ")");
    };
    CHECK(waits_at(read_wait_line, "read request") == 1);         // the idle client's connection
    CHECK(waits_at(next_read_wait_line, "read request") == 1);    // the served client's, after its reply
    CHECK(waits_at(processing_wait_line, "processing timer") == 1);  // the stuck request
    CHECK(abt::task_count() == 3);

    // Close everything: clients first (the server sees EOF and closes), then the listener and timers.
    uv_idle_stop(&watcher);
    for (client& cl : clients) uv_close(reinterpret_cast<uv_handle_t*>(&cl.socket), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);  // the server reads EOF on each connection and closes it
    CHECK(srv.connections.empty());
    uv_close(reinterpret_cast<uv_handle_t*>(&srv.listener), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&watcher), nullptr);
    uv_timer_stop(&deadline);
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree().empty());
}

}  // namespace uvtest

TEST_CASE("libuv: persistent frames follow each connection's callback chain" * doctest::skip(!ABT_ENABLED)) {
    uvtest::serve_three_clients(false);
}

TEST_CASE("libuv: a framed main that runs the loop owns none of its connections" * doctest::skip(!ABT_ENABLED)) {
    uvtest::serve_three_clients(true);
}
