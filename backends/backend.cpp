#include "backends/backend.h"

#include "backends/cpu/cpu_executor.h"
#ifdef EIDETIC_VULKAN
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

}  // namespace eidetic
