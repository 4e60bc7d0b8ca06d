// Plain (non-coroutine) frames: names, nesting, backtraces, task counts,
// exceptions, several translation units.
#include "helpers.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using testing::backtrace_names;

namespace app {
struct session {
    std::vector<std::string> read_loop(int) {
        ABT_FRAMED();
        return backtrace_names();
    }
    template <class T>
    std::vector<std::string> templated(T) {
        ABT_FRAMED();
        return backtrace_names();
    }
    operator const char*() const {
        ABT_FRAMED();
        static std::string name;
        name = backtrace_names().at(0);
        return name.c_str();
    }
    static std::vector<std::string> from_static() {
        ABT_FRAMED();
        return backtrace_names();
    }
    std::vector<std::string> operator()() const {
        ABT_FRAMED();
        return backtrace_names();
    }
};
namespace {
std::vector<std::string> in_anonymous_namespace() {
    ABT_FRAMED();
    return backtrace_names();
}
}  // namespace
std::vector<std::string> lambda_holder() {
    auto lambda = [](int) {
        ABT_FRAMED();
        return backtrace_names();
    };
    return lambda(1);
}
std::vector<std::string> mutable_lambda_holder() {
    auto lambda = [calls = 0]() mutable {
        ++calls;
        ABT_FRAMED();
        return backtrace_names();
    };
    return lambda();
}
const char* returns_pointer() {
    ABT_FRAMED();
    static std::string name;
    name = backtrace_names().at(0);
    return name.c_str();
}
}  // namespace app

std::vector<std::string> given_name() {
    ABT_FRAMED("custom name");
    return backtrace_names();
}

std::vector<std::string> nested_blocks() {
    ABT_FRAMED();
    std::vector<std::string> inner;
    {
        ABT_FRAMED("phase one");
        {
            ABT_FRAMED("phase two");
            inner = backtrace_names();
        }
    }
    return inner;
}

// Defined in other_tu.cpp, which includes the header too.
std::vector<std::string> other_translation_unit(const std::function<std::vector<std::string>()>& inner);
std::size_t other_translation_unit_task_count();

TEST_CASE("a frame is named after its function, qualified, without return type or parameters" *
          doctest::skip(!ABT_ENABLED)) {
    CHECK(app::session{}.read_loop(1) == std::vector<std::string>{"app::session::read_loop"});
    CHECK(app::session::from_static() == std::vector<std::string>{"app::session::from_static"});
    CHECK(app::session{}() == std::vector<std::string>{"app::session::operator()"});
    CHECK(std::string(app::returns_pointer()) == "app::returns_pointer");
    CHECK(given_name() == std::vector<std::string>{"custom name"});
}

TEST_CASE("templates and lambdas get readable names on every compiler" * doctest::skip(!ABT_ENABLED)) {
    const std::string templated = app::session{}.templated(1).at(0);
    CHECK(templated.rfind("app::session", 0) == 0);
    CHECK(templated.find("templated") != std::string::npos);
    CHECK(templated.find('(') == std::string::npos);
    CHECK(templated.find("[with") == std::string::npos);
    CHECK(app::lambda_holder() == std::vector<std::string>{"app::lambda_holder::<lambda>"});
    CHECK(app::mutable_lambda_holder() == std::vector<std::string>{"app::mutable_lambda_holder::<lambda>"});
    CHECK(std::string(static_cast<const char*>(app::session{})).rfind("app::session::operator const char", 0) == 0);
    const std::string anonymous = app::in_anonymous_namespace().at(0);
    CHECK(anonymous.find("in_anonymous_namespace") != std::string::npos);
    const bool no_parameters = anonymous.find("()") == std::string::npos;
    CHECK(no_parameters);
}

template <class T>
std::vector<std::string> generic_lambda_in_template(T value) {
    auto lambda = [](auto x) {  // g++ types __PRETTY_FUNCTION__ as an array of unknown bound here
        ABT_FRAMED();
        (void)x;
        return backtrace_names();
    };
    return lambda(value);
}

TEST_CASE("a generic lambda inside a template can be framed" * doctest::skip(!ABT_ENABLED)) {
    const std::vector<std::string> names = generic_lambda_in_template(1);
    REQUIRE(names.size() == 1);
    CHECK(names[0].find("generic_lambda_in_template") != std::string::npos);
    CHECK(names[0].find("<lambda>") != std::string::npos);
}

TEST_CASE("the parent of a new frame is the frame active on this thread" * doctest::skip(!ABT_ENABLED)) {
    CHECK(abt::backtrace().empty());
    CHECK(nested_blocks() == std::vector<std::string>{"phase two", "phase one", "nested_blocks"});
    CHECK(abt::backtrace().empty());
}

TEST_CASE("a frame with no active frame is a root: a task counted while it lives" * doctest::skip(!ABT_ENABLED)) {
    CHECK(abt::task_count() == 0);
    {
        ABT_FRAMED("root");
        CHECK(abt::task_count() == 1);
        {
            ABT_FRAMED("child");
            CHECK(abt::task_count() == 1);
        }
    }
    CHECK(abt::task_count() == 0);
}

TEST_CASE("backtrace locations carry file and line" * doctest::skip(!ABT_ENABLED)) {
    ABT_FRAMED("here");
    const unsigned line = __LINE__ - 1;
    const std::vector<abt::location> bt = abt::backtrace();
    REQUIRE(bt.size() == 1);
    CHECK(std::string(bt[0].function) == "here");
    CHECK(std::string(bt[0].file) == __FILE__);
    CHECK(bt[0].line == line);
}

#if defined(__cpp_exceptions)  // not in the -fno-exceptions binaries (test-*-noexc)
namespace {
[[noreturn]] void throw_from_deep_frame(int depth) {
    ABT_FRAMED();
    if (depth == 0) throw std::runtime_error("boom");
    throw_from_deep_frame(depth - 1);
}
}  // namespace

TEST_CASE("exceptions unwinding through framed functions restore the thread's state" * doctest::skip(!ABT_ENABLED)) {
    ABT_FRAMED("catcher");
    const std::vector<std::string> before = backtrace_names();
    CHECK_THROWS_AS(throw_from_deep_frame(5), std::runtime_error);
    CHECK(backtrace_names() == before);
    CHECK(abt::task_count() == 1);
    CHECK(testing::count_of(abt::taskdump_tree(), "throw_from_deep_frame") == 0);
}
#endif

TEST_CASE("recursion nests frames one per call" * doctest::skip(!ABT_ENABLED)) {
    std::function<std::size_t(int)> recurse = [&](int n) -> std::size_t {
        ABT_FRAMED("recurse");
        return n == 0 ? abt::backtrace().size() : recurse(n - 1);
    };
    CHECK(recurse(9) == 10);
}

TEST_CASE("translation units share one registry" * doctest::skip(!ABT_ENABLED)) {
    ABT_FRAMED("in main tu");
    const std::vector<std::string> names = other_translation_unit([] { return backtrace_names(); });
    CHECK(names == std::vector<std::string>{"other_translation_unit", "in main tu"});
    CHECK(other_translation_unit_task_count() == abt::task_count());
    CHECK(abt::task_count() == 1);
}

TEST_CASE("with ABT_ENABLED 0 everything compiles and answers empty" * doctest::skip(ABT_ENABLED != 0)) {
    ABT_FRAMED();
    ABT_WORK_ITEM();
    abt::persistent_frame pf{ABT_SITE("op")};
    {
        ABT_REENTER(pf);
        ABT_WAITING(pf, "nothing");
    }
    CHECK(abt::backtrace().empty());
    CHECK(abt::task_count() == 0);
    CHECK(abt::taskdump_tree(true).empty());
    abt::dump(stderr);
}
