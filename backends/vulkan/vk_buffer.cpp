#include "backends/vulkan/vk_buffer.h"

#include <algorithm>
#include <cstring>

namespace eidetic::vk {

Result<Buffer> Buffer::create(Context& ctx, VkDeviceSize size, Memory memory) {
  Buffer b;
  b.device_ = ctx.device();
  b.size_ = std::max<VkDeviceSize>(size, 4);
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = b.size_;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  EID_VK(vkCreateBuffer(b.device_, &bi, nullptr, &b.buffer_));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(b.device_, b.buffer_, &req);
  int type = -1;
  switch (memory) {
    case Memory::kDevice: type = ctx.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT); break;
    case Memory::kUpload:
      type = ctx.memory_type(req.memoryTypeBits,
                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
      break;
    case Memory::kReadback:
      type = ctx.memory_type(req.memoryTypeBits,
                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                             VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
      break;
  }
  if (type < 0 && memory == Memory::kDevice) type = ctx.memory_type(req.memoryTypeBits, 0);
  if (type < 0) return Status(Code::kBackendError, "Vulkan: no suitable memory type for a buffer");
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = uint32_t(type);
  EID_VK(vkAllocateMemory(b.device_, &ai, nullptr, &b.memory_));
  EID_VK(vkBindBufferMemory(b.device_, b.buffer_, b.memory_, 0));
  const VkMemoryPropertyFlags flags = ctx.memory().memoryTypes[type].propertyFlags;
  // Device-local memory that the host can see (unified memory) is written in
  // place; it must be coherent so no flushes are needed.
  const VkMemoryPropertyFlags mappable = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  if ((flags & mappable) == mappable) EID_VK(vkMapMemory(b.device_, b.memory_, 0, VK_WHOLE_SIZE, 0, &b.mapped_));
  return b;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    device_ = o.device_, buffer_ = o.buffer_, memory_ = o.memory_, size_ = o.size_, mapped_ = o.mapped_;
    o.buffer_ = VK_NULL_HANDLE, o.memory_ = VK_NULL_HANDLE, o.mapped_ = nullptr, o.size_ = 0;
  }
  return *this;
}

void Buffer::release() {
  if (buffer_) vkDestroyBuffer(device_, buffer_, nullptr);
  if (memory_) vkFreeMemory(device_, memory_, nullptr);  // unmaps too
  buffer_ = VK_NULL_HANDLE, memory_ = VK_NULL_HANDLE, mapped_ = nullptr;
}

Result<Slice> Arena::alloc(VkDeviceSize bytes, const Buffer** owner) {
  const VkDeviceSize align = ctx_.info().min_storage_offset_alignment;
  // Whole 16-byte units: a shader reading 32-bit words (f16 pairs) never
  // reaches past the end of its binding.
  bytes = (std::max<VkDeviceSize>(bytes, 4) + 15) / 16 * 16;
  VkDeviceSize offset = buffers_.empty() ? 0 : (used_ + align - 1) / align * align;
  if (buffers_.empty() || offset + bytes > buffers_.back()->size()) {
    VkDeviceSize size = std::max(chunk_, bytes);
    if (ctx_.info().max_allocation_size) size = std::min(size, std::max(bytes, ctx_.info().max_allocation_size));
    EID_ASSIGN_OR_RETURN(Buffer b, Buffer::create(ctx_, size, Memory::kDevice));
    buffers_.push_back(std::make_unique<Buffer>(std::move(b)));
    offset = 0;
  }
  used_ = offset + bytes;
  total_ += bytes;
  if (owner) *owner = buffers_.back().get();
  return buffers_.back()->slice(offset, bytes);
}

Status Uploader::write(const Buffer& dst, VkDeviceSize offset, VkDeviceSize bytes,
                       const std::function<void(void*)>& fill) {
  if (dst.mapped()) {
    fill(static_cast<uint8_t*>(dst.mapped()) + offset);
    return Status::ok();
  }
  if (bytes > cap_) {  // larger than the staging buffer: a dedicated one
    EID_TRY(flush());
    EID_ASSIGN_OR_RETURN(Buffer big, Buffer::create(ctx_, bytes, Memory::kUpload));
    fill(big.mapped());
    EID_ASSIGN_OR_RETURN(VkCommandBuffer cmd, ctx_.begin_once());
    VkBufferCopy region{0, offset, bytes};
    vkCmdCopyBuffer(cmd, big.handle(), dst.handle(), 1, &region);
    return ctx_.end_once(cmd);
  }
  if (!staging_.handle()) {
    EID_ASSIGN_OR_RETURN(staging_, Buffer::create(ctx_, cap_, Memory::kUpload));
  }
  if (used_ + bytes > cap_) EID_TRY(flush());
  fill(static_cast<uint8_t*>(staging_.mapped()) + used_);
  pending_.push_back({dst.handle(), VkBufferCopy{used_, offset, bytes}});
  used_ = (used_ + bytes + 15) / 16 * 16;
  return Status::ok();
}

Status Uploader::flush() {
  if (pending_.empty()) return Status::ok();
  EID_ASSIGN_OR_RETURN(VkCommandBuffer cmd, ctx_.begin_once());
  for (const Copy& c : pending_) vkCmdCopyBuffer(cmd, staging_.handle(), c.dst, 1, &c.region);
  pending_.clear();
  used_ = 0;
  return ctx_.end_once(cmd);
}

void full_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

}  // namespace eidetic::vk
