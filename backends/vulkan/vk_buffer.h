// Buffers: device-local storage for weights, state and activations; host-
// visible ones for staging, token ids and read-back. A Slice is what a
// descriptor binds: a range of one buffer, never longer than the device's
// maxStorageBufferRange and starting at a multiple of its offset alignment.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "backends/vulkan/vk_context.h"

namespace eidetic::vk {

struct Slice {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0, range = 0;  // bytes
};

enum class Memory {
  kDevice,    // device-local (mapped too where the device-local memory is host-visible, as on lavapipe)
  kUpload,    // host-visible, coherent: written by the host, read by the device
  kReadback,  // host-visible, coherent, cached where possible: written by the device, read by the host
};

class Buffer {
 public:
  static Result<Buffer> create(Context& ctx, VkDeviceSize size, Memory memory);
  Buffer() = default;
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  ~Buffer() { release(); }

  VkBuffer handle() const { return buffer_; }
  VkDeviceSize size() const { return size_; }
  void* mapped() const { return mapped_; }  // null unless host-visible
  // The whole buffer (or [offset, offset + range)) as a Slice.
  Slice slice(VkDeviceSize offset = 0, VkDeviceSize range = VK_WHOLE_SIZE) const {
    return {buffer_, offset, range == VK_WHOLE_SIZE ? size_ - offset : range};
  }

 private:
  void release();
  VkDevice device_ = VK_NULL_HANDLE;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkDeviceSize size_ = 0;
  void* mapped_ = nullptr;
};

// Device-local memory handed out in aligned pieces from a few large buffers,
// so a model with hundreds of tensors needs a handful of allocations.
class Arena {
 public:
  explicit Arena(Context& ctx, VkDeviceSize chunk_bytes = VkDeviceSize(256) << 20) : ctx_(ctx), chunk_(chunk_bytes) {}
  // A piece of `bytes`, aligned for a storage-buffer binding; also returns the
  // buffer it lies in (for writing it).
  Result<Slice> alloc(VkDeviceSize bytes, const Buffer** owner = nullptr);
  VkDeviceSize allocated() const { return total_; }

 private:
  Context& ctx_;
  VkDeviceSize chunk_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  VkDeviceSize used_ = 0;  // in the last buffer
  VkDeviceSize total_ = 0;
};

// Writes host data into device buffers: directly when the destination is
// mapped, otherwise through a staging buffer whose copies are batched and
// submitted when it fills (and at flush()).
class Uploader {
 public:
  explicit Uploader(Context& ctx, VkDeviceSize staging_bytes = VkDeviceSize(64) << 20)
      : ctx_(ctx), cap_(staging_bytes) {}
  ~Uploader() { (void)flush(); }
  // fill(dst) writes exactly `bytes` bytes at dst.
  Status write(const Buffer& dst, VkDeviceSize offset, VkDeviceSize bytes, const std::function<void(void*)>& fill);
  Status flush();

 private:
  Context& ctx_;
  VkDeviceSize cap_;
  Buffer staging_;
  VkDeviceSize used_ = 0;
  struct Copy {
    VkBuffer dst;
    VkBufferCopy region;
  };
  std::vector<Copy> pending_;
};

// A barrier making all earlier shader / transfer writes visible to all later
// shader / transfer reads and writes.
void full_barrier(VkCommandBuffer cmd);

}  // namespace eidetic::vk
