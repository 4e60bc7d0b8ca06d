// See mixed_modes_light.cpp. This file is built header-only (the default).
#include "../async_backtrace.hpp"

#include <cstdio>

abt::persistent_frame* make_light_frame();
void drop_light_frame(abt::persistent_frame* frame);
std::size_t task_count_seen_from_light_file();

int main() {
    const std::size_t before = abt::task_count();
    abt::persistent_frame* frame = make_light_frame();
    bool ok = abt::task_count() == before + 1 && task_count_seen_from_light_file() == before + 1 &&
              abt::taskdump_tree().find("made_in_a_light_file") != std::string::npos;
    drop_light_frame(frame);
    ok = ok && abt::task_count() == before && task_count_seen_from_light_file() == before;
    std::puts(ok ? "ok: header-only and separate-mode files share one registry"
                 : "FAIL: header-only and separate-mode files do not share one registry");
    return ok ? 0 : 1;
}
