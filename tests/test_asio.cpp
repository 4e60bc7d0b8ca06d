// asio with completion handlers on an io_context run by four threads: each
// session carries a persistent frame across its async_read_some, timer and
// async_write handlers. Clients are plain blocking sockets on 127.0.0.1.
#include "asio_clients.hpp"
#include "helpers.hpp"

#include <doctest/doctest.h>

#include "asio_flavour.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using testing::count_of;

namespace asiotest {

// Where sessions wait (set by handlers on any io thread: atomics).
std::atomic<unsigned> read_wait_line{0}, processing_wait_line{0}, write_wait_line{0};

struct counters {
    std::atomic<int> accepted{0}, replies{0}, processing{0}, ended{0};
};

std::string parse(const std::string& request) {
    ABT_FRAMED();
    return "echo:" + request;
}

/// One accepted connection, driven by completion handlers on any io thread.
class session : public std::enable_shared_from_this<session> {
public:
    session(asio::ip::tcp::socket s, counters& c) : socket_(std::move(s)), timer_(socket_.get_executor()), c_(c) {}
    ~session() { ++c_.ended; }

    void start() {
        ABT_REENTER(frame_);
        read();
    }
    void cancel_processing() {
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
    }

private:
    // Each step records what the session will wait for, then starts it: the
    // completion may run on another thread before this handler returns.
    void read() {
        read_wait_line.store(__LINE__, std::memory_order_relaxed); ABT_WAITING(frame_, "read request");
        socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](testing::asio_error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }
    void on_read(testing::asio_error_code ec, std::size_t n) {
        ABT_REENTER(frame_);
        if (ec) return;  // the client closed: the session ends with the last handler
        const std::string request(buffer_.data(), n);
        reply_ = parse(request);
        ++c_.processing;
        processing_wait_line.store(__LINE__, std::memory_order_relaxed); ABT_WAITING(frame_, "processing timer");
        timer_.expires_after(request == "stuck" ? std::chrono::seconds(60) : std::chrono::milliseconds(1));
        timer_.async_wait([self = shared_from_this()](testing::asio_error_code e) { self->on_processed(e); });
    }
    void on_processed(testing::asio_error_code ec) {
        ABT_REENTER(frame_);
        --c_.processing;
        if (ec) return;  // cancelled at shutdown
        write_wait_line.store(__LINE__, std::memory_order_relaxed); ABT_WAITING(frame_, "write reply");
        asio::async_write(socket_, asio::buffer(reply_), [self = shared_from_this()](testing::asio_error_code e, std::size_t) {
            self->on_written(e);
        });
    }
    void on_written(testing::asio_error_code ec) {
        ABT_REENTER(frame_);
        ++c_.replies;
        if (!ec) read();
    }

    abt::persistent_frame frame_{ABT_SITE("session")};
    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    counters& c_;
    std::array<char, 256> buffer_{};
    std::string reply_;
};

}  // namespace asiotest

TEST_CASE("asio handlers on four threads: persistent frames follow every session" * doctest::skip(!ABT_ENABLED)) {
    using namespace asiotest;
    constexpr int sessions = 24;  // 12 idle, 11 served once, 1 stuck in processing
    asio::io_context ctx;
    auto guard = asio::make_work_guard(ctx);
    counters c;
    asio::ip::tcp::acceptor acceptor(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<std::weak_ptr<session>> all;
    std::mutex all_mutex;
    std::function<void()> accept_next = [&] {
        acceptor.async_accept([&](testing::asio_error_code ec, asio::ip::tcp::socket s) {
            if (ec) return;
            auto ses = std::make_shared<session>(std::move(s), c);
            {
                std::lock_guard<std::mutex> lock(all_mutex);
                all.push_back(ses);
            }
            ++c.accepted;
            ses->start();
            accept_next();
        });
    };
    accept_next();
    std::vector<std::thread> io;
    for (int i = 0; i < 4; ++i) io.emplace_back([&] { ctx.run(); });

    testing::blocking_clients clients(acceptor.local_endpoint(), sessions);
    CHECK(clients.ping_first(11) == 11);
    clients.send(11, "stuck");
    REQUIRE(testing::wait_until([&] { return c.accepted == sessions && c.replies == 11 && c.processing == 1; }));

    const std::string dump = abt::taskdump_tree(true);  // waits for handlers still finishing
    if (std::getenv("ABT_SHOW_DUMPS") != nullptr) std::fputs(dump.c_str(), stderr);
    const auto waits_at = [&](const std::atomic<unsigned>& line, const char* what) {
        return count_of(dump, " suspended at " + testing::place(__FILE__, line.load()) + " (" + what + ")");
    };
    CHECK(count_of(dump, "\xE2\x95\xBC session at ") == sessions);
    CHECK(waits_at(read_wait_line, "read request") == sessions - 1);  // 12 never asked, 11 served and reading again
    CHECK(waits_at(processing_wait_line, "processing timer") == 1);
    CHECK(count_of(dump, "[running]") == 0);
    CHECK(abt::task_count() == static_cast<std::size_t>(sessions));

    // Shut down: clients close (sessions see EOF), the stuck one is cancelled.
    clients.close_all();
    {
        std::lock_guard<std::mutex> lock(all_mutex);
        for (const std::weak_ptr<session>& w : all)
            if (auto s = w.lock()) s->cancel_processing();
    }
    REQUIRE(testing::wait_until([&] { return c.ended == sessions; }));
    asio::post(ctx, [&] { acceptor.close(); });
    guard.reset();
    for (std::thread& t : io) t.join();
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree().empty());
}
