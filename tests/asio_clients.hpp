// Blocking asio clients on 127.0.0.1 for the asio integration tests.
#ifndef ABT_TESTS_ASIO_CLIENTS_HPP
#define ABT_TESTS_ASIO_CLIENTS_HPP

#include "asio_flavour.hpp"

#include <array>
#include <string>
#include <vector>

namespace testing {

/// `count` connected clients; the first ones can be served a "ping" each.
struct blocking_clients {
    asio::io_context ctx;
    std::vector<asio::ip::tcp::socket> sockets;

    blocking_clients(const asio::ip::tcp::endpoint& server, int count) {
        for (int i = 0; i < count; ++i) {
            sockets.emplace_back(ctx);
            sockets.back().connect(server);
        }
    }
    /// Sends "ping" on each of the first `count` clients and returns how many got "echo:ping" back.
    int ping_first(std::size_t count) {
        int echoed = 0;
        for (std::size_t i = 0; i < count; ++i) {
            asio::write(sockets[i], asio::buffer(std::string("ping")));
            std::array<char, 64> reply{};
            const std::size_t n = sockets[i].read_some(asio::buffer(reply));
            if (std::string(reply.data(), n) == "echo:ping") ++echoed;
        }
        return echoed;
    }
    void send(std::size_t client, const std::string& text) { asio::write(sockets[client], asio::buffer(text)); }
    void close_all() {
        for (asio::ip::tcp::socket& s : sockets) s.close();
    }
};

}  // namespace testing

#endif
