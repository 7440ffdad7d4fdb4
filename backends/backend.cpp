#include "backends/backend.h"

#include "backends/cpu/cpu_executor.h"
#ifdef EIDETIC_VULKAN
#include "backends/vulkan/vk_context.h"
#include "backends/vulkan/vk_executor.h"
#endif

namespace eidetic {

Result<std::unique_ptr<Executor>> create_executor(const std::string& backend, const ModelFile& model,
                                                  const BackendOptions& options) {
  if (backend == "cpu") return cpu::create_cpu_executor(model, options);
#ifdef EIDETIC_VULKAN
  if (backend == "vulkan") return vk::create_vulkan_executor(model, options);
  return unsupported("backend \"" + backend + "\" is not available (available: cpu, vulkan)");
#else
  return unsupported("backend \"" + backend + "\" is not available (available: cpu; this build has no Vulkan)");
#endif
}

std::vector<std::string> list_devices() {
  std::vector<std::string> out{"cpu: " + cpu::cpu_device()};
#ifdef EIDETIC_VULKAN
  auto gpus = vk::list_devices();
  if (!gpus) {
    out.push_back("vulkan: " + gpus.status().message());
  } else if (gpus->empty()) {
    out.push_back("vulkan: no Vulkan device found");
  } else {
    for (const std::string& d : *gpus) out.push_back("vulkan " + d);
  }
#else
  out.push_back("vulkan: not in this build (built with -DEIDETIC_VULKAN=OFF)");
#endif
  return out;
}

}  // namespace eidetic
