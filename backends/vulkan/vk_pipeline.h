// Compute pipelines built from the SPIR-V that the build embeds in the library
// (shaders/*.comp, compiled by glslc; see CMakeLists.txt), and the descriptor
// sets that bind buffers to them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/vulkan/vk_buffer.h"

namespace eidetic::vk {

// One embedded SPIR-V module (generated: spirv_blobs.cpp).
struct SpirvBlob {
  const char* name;  // "matvec_f16", "rms_norm_sg", ...
  const unsigned char* data;
  size_t size;
};
const SpirvBlob* find_spirv(const std::string& name);

// Every pipeline takes storage buffers at bindings 0..n-1 and up to this many
// bytes of push constants (the minimum every device allows).
constexpr uint32_t kPushBytes = 128;

struct Pipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  uint32_t bindings = 0;
  uint32_t workgroup = 0;  // threads along x (specialization constant 0)
  std::string name;        // the shader module's ("matvec_q4_sg")
};

// The pipelines of one device, made on first use and kept. get() takes the
// shader's base name ("matvec_f16"); where the shader sums across a workgroup
// and the device has subgroup arithmetic, the subgroup form ("_sg") is taken.
class Kernels {
 public:
  explicit Kernels(Context& ctx) : ctx_(ctx) {}
  ~Kernels();
  Kernels(const Kernels&) = delete;
  Kernels& operator=(const Kernels&) = delete;

  // workgroup: 0 = the shader's default. spec1: specialization constant 1, for
  // the shaders that have one (the matrix-vector kernel's rows per workgroup).
  Result<const Pipeline*> get(const std::string& name, uint32_t workgroup = 0, uint32_t spec1 = 1);
  Context& context() { return ctx_; }

 private:
  Context& ctx_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

// Descriptor sets from pools that grow as needed; all freed with the allocator.
class DescriptorAllocator {
 public:
  explicit DescriptorAllocator(Context& ctx) : ctx_(ctx) {}
  ~DescriptorAllocator();
  DescriptorAllocator(const DescriptorAllocator&) = delete;
  DescriptorAllocator& operator=(const DescriptorAllocator&) = delete;

  // A set for `pipe` with slices[i] at binding i.
  Result<VkDescriptorSet> make(const Pipeline& pipe, const std::vector<Slice>& slices);

 private:
  Status grow();
  Context& ctx_;
  std::vector<VkDescriptorPool> pools_;
};

}  // namespace eidetic::vk
