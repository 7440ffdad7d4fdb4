// The CPU backend: runs the block stack with XNNPACK products and the kernels
// in backends/cpu/kernels, on an optional pthreadpool.
#pragma once

#include "backends/backend.h"

namespace eidetic::cpu {

Result<std::unique_ptr<Executor>> create_cpu_executor(const ModelFile& model, const BackendOptions& options);

// "CPU, AVX2 kernels": the instruction sets of the kernel forms this CPU runs.
std::string cpu_device();

}  // namespace eidetic::cpu
