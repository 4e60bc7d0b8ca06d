// A callback-style server in miniature: each connection is a chain of
// callbacks on an event loop, with no coroutine and no stack that lives
// across callbacks. A persistent frame in each connection keeps it visible
// in the dump, with what it waits for, while no callback runs.
#include "../async_backtrace.hpp"
#include "../tests/coro.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace server {

coro::run_loop loop;

std::string parse_request(const std::string& bytes) {
    ABT_FRAMED();
    return bytes.substr(0, bytes.find(' '));
}

class connection : public std::enable_shared_from_this<connection> {
public:
    explicit connection(int id) : id_(id) {}

    void start() {
        ABT_REENTER(frame_);
        ABT_WAITING(frame_, "socket read");
        if (id_ == 2) return;  // this client never sends anything: stuck in read
        loop.post([self = shared_from_this()] { self->on_read("GET /index.html"); });
    }

private:
    void on_read(const std::string& bytes) {
        ABT_REENTER(frame_);
        const std::string method = parse_request(bytes);
        ABT_WAITING(frame_, "socket write");
        if (id_ == 3) return;  // this client stopped reading: stuck in write
        loop.post([self = shared_from_this()] { self->on_write(); });
    }
    void on_write() {
        ABT_REENTER(frame_);
        ABT_WAITING(frame_, "socket read (keep-alive)");
    }

    int id_;
    abt::persistent_frame frame_{ABT_SITE("server::connection")};
};

}  // namespace server

int main() {
    std::vector<std::shared_ptr<server::connection>> connections;
    for (int id = 1; id <= 3; ++id) {
        connections.push_back(std::make_shared<server::connection>(id));
        connections.back()->start();
    }
    server::loop.run();
    abt::dump(stderr);
}
