// The Vulkan tests run on lavapipe (Mesa's software Vulkan, Debian's
// mesa-vulkan-drivers, which scripts/install-deps.sh installs) with the Khronos
// validation layer on, so they need no GPU and check API usage. Included by
// each Vulkan test; the environment is set before main(), ahead of any
// Vulkan call. Variables already set (e.g. to try a real GPU) are kept.
#pragma once

#include <cstdlib>
#include <fstream>

#include "backends/vulkan/vk_context.h"

namespace eidetic::test {

inline bool setup_vulkan_env() {
  const char* lvp = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
#if defined(__aarch64__)
  lvp = "/usr/share/vulkan/icd.d/lvp_icd.aarch64.json";
#endif
  if (std::ifstream(lvp).good()) {
    setenv("VK_ICD_FILENAMES", lvp, 0);  // loaders before 1.3.207
    setenv("VK_DRIVER_FILES", lvp, 0);
  }
  setenv("EIDETIC_VULKAN_VALIDATION", "1", 0);
  return true;
}
inline const bool kVulkanEnvReady = setup_vulkan_env();

// Validation messages so far, as a doctest check (zero errors and warnings).
#define CHECK_NO_VALIDATION_MESSAGES()                   \
  do {                                                   \
    const auto vc_ = ::eidetic::vk::validation_counts(); \
    INFO("first validation message: " << vc_.first);     \
    CHECK(vc_.errors == 0);                              \
    CHECK(vc_.warnings == 0);                            \
  } while (0)

}  // namespace eidetic::test
