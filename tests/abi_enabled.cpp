// Linked with abi_disabled.cpp by `make test`, which expects the link to FAIL:
// ABT_ENABLED is part of the inline namespace, so mixing configurations is a
// link error, not a silent one-definition-rule violation.
#include "../async_backtrace.hpp"

void use_frame(abt::persistent_frame& frame);

int main() {
    abt::persistent_frame frame{ABT_SITE("mixed")};
    use_frame(frame);
}
