#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#if defined(DOCTEST_CONFIG_NO_EXCEPTIONS)
// Without exceptions (test-*-noexc) doctest cannot leave a test case at a
// failed REQUIRE: it carries on as after a CHECK, into code that relies on
// the condition (an index, a join). This listener ends the run there
// instead; doctest's SIGABRT handler then reports the test case as crashed.
#include <cstdlib>
#include <ostream>

namespace {
struct stop_at_failed_require : doctest::IReporter {
    std::ostream& out;
    explicit stop_at_failed_require(const doctest::ContextOptions& options) : out(*options.cout) {}
    void log_assert(const doctest::AssertData& a) override {
        if (!a.m_failed || (a.m_at & doctest::assertType::is_require) == 0) return;
        out << a.m_file << ':' << a.m_line << ": FATAL: REQUIRE( " << a.m_expr << " ) failed, values: "
            << a.m_decomp << "\n(without exceptions the run stops at a failed REQUIRE)" << std::endl;
        std::abort();
    }
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
}  // namespace
REGISTER_LISTENER("stop_at_failed_require", 0, stop_at_failed_require);
#endif
