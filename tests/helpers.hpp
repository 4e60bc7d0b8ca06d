// Helpers shared by the test files.
#ifndef ABT_TESTS_HELPERS_HPP
#define ABT_TESTS_HELPERS_HPP

#include "../async_backtrace.hpp"

// The plain-await binaries (make test: -DABT_TEST_PLAIN_AWAIT) run the same
// semantic tests with every ABT_AWAIT(x) written as a plain co_await x: the
// test kit's promises are abt::framed_promise then (tests/coro.hpp).
#if defined(ABT_TEST_PLAIN_AWAIT)
#undef ABT_AWAIT
#define ABT_AWAIT(...) (__VA_ARGS__)
#endif

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include <unistd.h>  // pread

namespace testing {

/// The names of this thread's backtrace, innermost first.
inline std::vector<std::string> backtrace_names() {
    std::vector<std::string> names;
    for (const abt::location& l : abt::backtrace()) names.emplace_back(l.function);
    return names;
}

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

/// Lines, sorted: for dumps whose tasks come in no fixed order.
inline std::vector<std::string> sorted(std::vector<std::string> lines) {
    std::sort(lines.begin(), lines.end());
    return lines;
}
inline std::vector<std::string> sorted_lines(const std::string& text) { return sorted(lines_of(text)); }

inline std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

/// "file:line" of a place in this test suite.
inline std::string place(const char* file, unsigned line) { return std::string(file) + ":" + std::to_string(line); }

/// The character column (code points, not bytes) of the first "╼" in line.
inline std::size_t column_of_frame_mark(const std::string& line) {
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++column) {
        if (line.compare(i, 3, "\xE2\x95\xBC") == 0) return column;
        const unsigned char c = static_cast<unsigned char>(line[i]);
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }
    return std::string::npos;
}

/// Everything written to `file` so far. Read with pread, which leaves the
/// file's position alone: another thread may be writing to it (a streamed
/// dump), and a rewind would make its next write overwrite the start.
inline std::string contents_of(std::FILE* file) {
    std::fflush(file);
    const int fd = fileno(file);
    std::string text;
    char buffer[4096];
    for (off_t at = 0;;) {
        const ssize_t n = pread(fd, buffer, sizeof buffer, at);
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
        at += n;
    }
    return text;
}

/// Polls pred every millisecond for at most `limit`; returns its last value.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

}  // namespace testing

#endif
