// 10,000 sessions of a pretend server, as the diagnostics show them: a
// grouped dump with ids, names, tags and wait times, the JSON form, and
// folded stacks for a flame graph.
// Usage: diagnostics [tree|json|folded]   (default: tree)
//        diagnostics diff DIR   two JSON dumps 300 ms apart, DIR/before.json and
//                               DIR/after.json, for tools/abt-diff: 6 sessions,
//                               2 finish and 2 start in between
//        diagnostics view FILE  a JSON dump for tools/abt-view: 20 sessions, 2
//                               stuck queries, and 2 tasks that wait for each
//                               other (an await cycle)
#include "../async_backtrace.hpp"
#include "../tests/coro.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace server {

coro::event client_input;  // nobody writes: what idle sessions wait for
coro::event database;      // never answers: the stuck queries

coro::task<std::string> read_request() {
    ABT_FRAMED();
    co_await ABT_AWAIT(client_input.wait());
    co_return std::string();
}

coro::task<> query_database() {
    ABT_FRAMED();
    co_await ABT_AWAIT(database.wait());
}

coro::task<> handle(int id) {
    ABT_FRAMED();
    abt::set_task_name("session");
    abt::set_task_tag("conn", std::to_string(id));
    if (id % 1000 == 999) {  // one in a thousand is stuck in the database
        co_await ABT_AWAIT(query_database());
    } else {
        co_await ABT_AWAIT(read_request());
    }
}

}  // namespace server

/// Writes taskdump_json() (every task by itself) to `path`.
void write_json(const std::string& path) {
    std::ofstream(path) << abt::taskdump_json();
}

int diff_demo(const std::string& dir) {
    std::vector<coro::task<>> sessions;
    for (int id = 0; id < 6; ++id) {
        sessions.push_back(server::handle(id));
        sessions.back().start();
    }
    write_json(dir + "/before.json");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sessions[0].reset();  // two finish
    sessions[1].reset();
    for (int id = 6; id < 8; ++id) {  // two start
        sessions.push_back(server::handle(id));
        sessions.back().start();
    }
    write_json(dir + "/after.json");
    return 0;
}

namespace server {

std::uint64_t first_id = 0, second_id = 0;  // set and read on the main thread only
coro::event handshake;

coro::task<> transfer(bool first) {  // two of these deadlock: each waits for the other
    ABT_FRAMED();
    abt::set_task_name(first ? "transfer a->b" : "transfer b->a");
    (first ? first_id : second_id) = abt::current_task_id();
    if (first) co_await ABT_AWAIT(handshake.wait());  // until the second exists
    abt::awaiting_task(first ? second_id : first_id);
    co_await ABT_AWAIT(database.wait());
}

}  // namespace server

int view_demo(const std::string& path) {
    std::vector<coro::task<>> tasks;
    for (int id = 0; id < 20; ++id) {
        tasks.push_back(server::handle(id == 7 ? 999 : id == 13 ? 1999 : id));  // two stuck in the database
        tasks.back().start();
    }
    tasks.push_back(server::transfer(true));
    tasks.back().start();
    tasks.push_back(server::transfer(false));
    tasks.back().start();
    server::handshake.set();
    write_json(path);
    return 0;
}

int main(int argc, char** argv) {
    const std::string form = argc > 1 ? argv[1] : "tree";
    if (form == "view" && argc > 2) return view_demo(argv[2]);
    if (form == "diff" && argc > 2) return diff_demo(argv[2]);
    std::vector<coro::task<>> sessions;
    for (int id = 0; id < 10000; ++id) {
        sessions.push_back(server::handle(id));
        sessions.back().start();
        if (id == 4999) std::this_thread::sleep_for(std::chrono::milliseconds(300));  // older and newer ones
    }
    abt::dump_options options;
    options.group = true;
    if (form == "json") {
        options.group = false;  // every task by itself, with its own id and tags
        options.max_tasks = 2;
        std::fputs(abt::taskdump_json(options).c_str(), stdout);
    } else if (form == "folded") {
        std::fputs(abt::taskdump_folded().c_str(), stdout);
    } else {
        std::fputs(abt::taskdump_tree(options).c_str(), stderr);
    }
}
