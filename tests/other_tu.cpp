// A second translation unit: proves that every translation unit sees one
// registry and one thread state.
#include "../async_backtrace.hpp"

#include <functional>
#include <string>
#include <vector>

std::vector<std::string> other_translation_unit(const std::function<std::vector<std::string>()>& inner) {
    ABT_FRAMED();
    return inner();
}

std::size_t other_translation_unit_task_count() { return abt::task_count(); }
