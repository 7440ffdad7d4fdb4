// Weights of the model file uploaded to device-local memory, once, when the
// executor is created. Matrices are re-laid out for the kernels on the way
// (rows padded to 16 bytes, split by rows where larger than one binding may
// span); small f32 tensors go up as they are.
#pragma once

#include <map>

#include "backends/vulkan/vk_ops.h"
#include "runtime/src/model/model_file.h"

namespace eidetic::vk {

class WeightStore {
 public:
  WeightStore(Context& ctx) : ctx_(ctx), arena_(ctx), uploader_(ctx) {}

  // A matrix [rows, cols] of any supported dtype (shared tensors, e.g. a tied
  // embedding and LM head, are uploaded once).
  Result<const WeightMatrix*> matrix(const ModelFile& file, int tensor);
  // An f32 tensor, flat.
  Result<Slice> vector(const ModelFile& file, int tensor);
  // Host-computed f32 data (e.g. A = -exp(A_log)).
  Result<Slice> derived(const std::vector<float>& data);
  // Waits for every pending upload.
  Status finish() { return uploader_.flush(); }
  VkDeviceSize bytes() const { return arena_.allocated(); }

  // Upload a matrix given in memory (the kernel tests use this directly).
  // data: rows of `cols` elements (Q8 / Q4: of padded_cols, with scales).
  Result<WeightMatrix> upload(fb::DType dtype, uint32_t rows, uint32_t cols, const void* data, uint32_t padded_cols = 0,
                              const uint16_t* scales = nullptr);

 private:
  Result<Slice> put(const void* data, size_t bytes);
  Context& ctx_;
  Arena arena_;
  Uploader uploader_;
  std::map<int, std::unique_ptr<WeightMatrix>> matrices_;
  std::map<int, Slice> vectors_;
};

}  // namespace eidetic::vk
