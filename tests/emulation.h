// Whether this test program runs under an emulator: the aarch64 cross build's
// tests run in qemu-user, and tests/CMakeLists.txt sets EIDETIC_TEST_EMULATED
// for them. There a thread pool's spin-waits take seconds each and arithmetic
// runs some hundred times slower, so tests run their threaded parts natively
// only and leave out their largest sizes.
#pragma once

#include <cstdlib>

namespace eidetic::test {

inline bool emulated() { return std::getenv("EIDETIC_TEST_EMULATED") != nullptr; }

}  // namespace eidetic::test
