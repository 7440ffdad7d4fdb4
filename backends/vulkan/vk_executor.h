// The Vulkan backend: runs the block stack as compute shaders on the device
// BackendOptions::device names. Weights go to device memory once, when the
// executor is created; each session keeps its state, activations and command
// buffers on the device, and the decode step is recorded once and replayed.
#pragma once

#include "backends/backend.h"

namespace eidetic::vk {

Result<std::unique_ptr<Executor>> create_vulkan_executor(const ModelFile& model, const BackendOptions& options);

}  // namespace eidetic::vk
