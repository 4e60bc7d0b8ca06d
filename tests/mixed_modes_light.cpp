// Built with -DABT_SEPARATE_IMPLEMENTATION and linked by `make check-abi` with
// mixed_modes_main.cpp (header-only) and abt_implementation.cpp: files built
// in the two modes share one registry.
#include "../async_backtrace.hpp"

abt::persistent_frame* make_light_frame() { return new abt::persistent_frame(ABT_SITE("made_in_a_light_file")); }

void drop_light_frame(abt::persistent_frame* frame) { delete frame; }

std::size_t task_count_seen_from_light_file() { return abt::task_count(); }
