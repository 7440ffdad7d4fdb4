// One Vulkan device opened for compute: the instance (Vulkan loaded at run
// time through volk, so a machine without a driver gets an error, not a failed
// program start), the chosen physical device with the features and limits the
// kernels adapt to, a compute queue, and a command pool. With validation on
// (EIDETIC_VULKAN_VALIDATION=1 in the environment, or Context::create's
// argument), VK_LAYER_KHRONOS_validation is enabled and a debug-utils messenger
// counts what it reports (the tests assert zero). EIDETIC_VULKAN_MAX_BINDING
// caps the storage-buffer range the backend assumes (tests of tensor splitting).
#pragma once

#include <volk.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/src/core/status.h"

namespace eidetic::vk {

// What the kernels need to know about the device, read once at creation.
struct DeviceInfo {
  std::string name;
  uint32_t api_version = 0;
  uint32_t vendor_id = 0;
  bool discrete = false;
  // Features (only those that change which kernels run).
  bool storage_16bit = false;        // f16 loads from storage buffers (storageBuffer16BitAccess)
  bool float16 = false;              // f16 arithmetic (shaderFloat16)
  bool int8 = false;                 // shaderInt8
  bool storage_8bit = false;         // storageBuffer8BitAccess
  bool subgroup_arithmetic = false;  // subgroupAdd & co. in compute shaders
  // Q8 / Q4 matrix-vector products in int8 dot products (shaderIntegerDotProduct,
  // VK_KHR_shader_integer_dot_product or Vulkan 1.3): used where the device
  // accelerates the 4 x int8 packed form; EIDETIC_VULKAN_INT_DOT=1 / 0 forces
  // them on (where the feature exists) / off.
  bool int_dot = false;
  // Tensor cores: VK_NV_cooperative_matrix with 16x16x16 f16 products into
  // f32 on subgroups of 32, used for prompts when EIDETIC_VULKAN_COOPMAT=1.
  bool coopmat = false;
  uint32_t subgroup_size = 1;
  // Limits.
  uint64_t max_storage_buffer_range = 0;  // bytes one storage-buffer binding may span
  uint64_t min_storage_offset_alignment = 1;
  uint64_t max_allocation_size = 0;  // maxMemoryAllocationSize (Vulkan 1.1)
  uint32_t max_push_constants = 0;
  uint32_t max_storage_buffers_per_stage = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_shared_memory = 0;
  float timestamp_period_ns = 0;  // 0: the compute queue writes no timestamps
};

// Counts of validation-layer messages since process start (all contexts).
struct ValidationCounts {
  int errors = 0, warnings = 0;
  std::string first;  // the first error or warning, for a test's failure message
};
ValidationCounts validation_counts();
void reset_validation_counts();

// "0: llvmpipe (LLVM 15.0.6, 256 bits) [cpu]" per device, or an error when no
// Vulkan loader or driver is present.
Result<std::vector<std::string>> list_devices();

class Context {
 public:
  // device: index into list_devices(). validation: enable the Khronos layer
  // (also when EIDETIC_VULKAN_VALIDATION=1 is set).
  static Result<std::unique_ptr<Context>> create(int device, bool validation = false);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  VkDevice device() const { return device_; }
  VkPhysicalDevice physical() const { return physical_; }
  VkQueue queue() const { return queue_; }
  VkCommandPool pool() const { return pool_; }
  const DeviceInfo& info() const { return info_; }
  const VkPhysicalDeviceMemoryProperties& memory() const { return memory_; }

  // A memory type with all of `required` among those in type_bits, preferring
  // one that also has `preferred`; -1 if none.
  int memory_type(uint32_t type_bits, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred = 0) const;

  // One-off command buffer: begin, let the caller record, submit and wait.
  Result<VkCommandBuffer> begin_once();
  Status end_once(VkCommandBuffer cmd);
  // Submit a recorded command buffer and wait for it (the fence is the context's).
  Status submit_wait(VkCommandBuffer cmd);

 private:
  Context() = default;
  Status init(int device, bool validation);
  // Steps of init on the chosen physical device, filling info_.
  Status read_properties();
  std::vector<const char*> read_features();
  Status create_device(const std::vector<const char*>& extensions);

  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  DeviceInfo info_;
  VkPhysicalDeviceMemoryProperties memory_{};
};

// A VkResult as an error naming the call that failed.
Status vk_error(const char* what, VkResult r);

#define EID_VK(call)                                                               \
  do {                                                                             \
    VkResult eid_vk_r_ = (call);                                                   \
    if (eid_vk_r_ != VK_SUCCESS) return ::eidetic::vk::vk_error(#call, eid_vk_r_); \
  } while (0)

}  // namespace eidetic::vk
