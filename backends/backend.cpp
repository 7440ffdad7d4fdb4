#include "backends/backend.h"

#include "backends/cpu/cpu_executor.h"

namespace eidetic {

Result<std::unique_ptr<Executor>> create_executor(const std::string& backend, const ModelFile& model,
                                                  const BackendOptions& options) {
  if (backend == "cpu") return cpu::create_cpu_executor(model, options);
  return unsupported("backend \"" + backend + "\" is not available (available: cpu)");
}

}  // namespace eidetic
