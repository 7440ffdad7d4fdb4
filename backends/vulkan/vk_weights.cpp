#include "backends/vulkan/vk_weights.h"

#include <algorithm>
#include <cstring>

namespace eidetic::vk {
namespace {

// Bits per element as stored for the kernels.
uint32_t element_bits(fb::DType t) {
  switch (t) {
    case fb::DType::F32: return 32;
    case fb::DType::F16:
    case fb::DType::BF16: return 16;
    case fb::DType::Q8: return 8;
    case fb::DType::Q4: return 4;
  }
  return 0;
}

}  // namespace

Result<Slice> WeightStore::put(const void* data, size_t bytes) {
  const Buffer* owner = nullptr;
  EID_ASSIGN_OR_RETURN(Slice s, arena_.alloc(bytes, &owner));
  EID_TRY(uploader_.write(*owner, s.offset, bytes, [&](void* dst) { std::memcpy(dst, data, bytes); }));
  return s;
}

Result<Slice> WeightStore::derived(const std::vector<float>& data) {
  return put(data.data(), data.size() * sizeof(float));
}

Result<Slice> WeightStore::vector(const ModelFile& file, int tensor) {
  auto it = vectors_.find(tensor);
  if (it != vectors_.end()) return it->second;
  const fb::Tensor& t = file.tensor(tensor);
  if (t.dtype() != fb::DType::F32)
    return unsupported("tensor '" + t.name()->str() + "' should be f32 for the Vulkan backend");
  EID_ASSIGN_OR_RETURN(Slice s, put(file.tensor_data(tensor), t.size()));
  vectors_[tensor] = s;
  return s;
}

Result<const WeightMatrix*> WeightStore::matrix(const ModelFile& file, int tensor) {
  auto it = matrices_.find(tensor);
  if (it != matrices_.end()) return it->second.get();
  const fb::Tensor& t = file.tensor(tensor);
  if (t.shape()->size() != 2) return invalid_model("tensor '" + t.name()->str() + "' is not a matrix");
  const uint64_t rows = t.shape()->Get(0), cols = t.shape()->Get(1);
  if (rows >= (1ull << 31) || cols >= (1ull << 31))
    return unsupported("tensor '" + t.name()->str() + "' is too large for the Vulkan backend");
  uint32_t padded = 0;
  const uint16_t* scales = nullptr;
  if (t.dtype() == fb::DType::Q8 || t.dtype() == fb::DType::Q4) {
    const fb::QuantParams* q = t.quant();
    if (!q || q->group_size() != 32 || q->scale_dtype() != fb::DType::F16)
      return unsupported("tensor '" + t.name()->str() +
                         "': the Vulkan backend runs quantization groups of 32 with f16 scales");
    padded = uint32_t(q->padded_cols());
    scales = reinterpret_cast<const uint16_t*>(file.tensor_scales(tensor));
  }
  auto r = upload(t.dtype(), uint32_t(rows), uint32_t(cols), file.tensor_data(tensor), padded, scales);
  if (!r) return Status(r.status().code(), "tensor '" + t.name()->str() + "': " + r.status().message());
  auto m = std::make_unique<WeightMatrix>(std::move(r).value());
  const WeightMatrix* out = m.get();
  matrices_[tensor] = std::move(m);
  return out;
}

Result<WeightMatrix> WeightStore::upload(fb::DType dtype, uint32_t rows, uint32_t cols, const void* data,
                                         uint32_t padded_cols, const uint16_t* scales) {
  WeightMatrix m;
  m.dtype = dtype;
  m.rows = rows;
  m.cols = cols;
  const uint32_t bits = element_bits(dtype);
  if (!bits) return unsupported(std::string("weights of type ") + fb::EnumNameDType(dtype));
  const bool quant = dtype == fb::DType::Q8 || dtype == fb::DType::Q4;
  if (quant) {
    if (padded_cols % 32 || padded_cols < cols || !scales) return invalid_argument("bad quantized matrix");
    m.row_stride = padded_cols;
  } else {
    // Rows padded with zeros to a multiple of 8 elements: they start on 16
    // bytes (the kernels read 16 bytes at a time) and the tiled kernels' loads
    // of 8 never cross a row's end.
    m.row_stride = (cols + 7) / 8 * 8;
  }
  const uint64_t row_bytes = uint64_t(m.row_stride) * bits / 8;
  const uint64_t src_row_bytes = quant ? row_bytes : uint64_t(cols) * bits / 8;
  const uint64_t groups = m.row_stride / 32;
  // A part spans at most one storage binding (and one allocation).
  uint64_t limit = ctx_.info().max_storage_buffer_range;
  if (ctx_.info().max_allocation_size) limit = std::min(limit, ctx_.info().max_allocation_size);
  const uint64_t part_rows = std::min<uint64_t>(rows, limit / row_bytes);
  if (part_rows == 0) return unsupported("a row is larger than one Vulkan storage buffer binding may be");
  const auto* src = static_cast<const uint8_t*>(data);
  for (uint64_t r0 = 0; r0 < rows; r0 += part_rows) {
    WeightMatrix::Part part;
    part.row0 = uint32_t(r0);
    part.rows = uint32_t(std::min<uint64_t>(part_rows, rows - r0));
    const uint64_t bytes = part.rows * row_bytes;
    const Buffer* owner = nullptr;
    EID_ASSIGN_OR_RETURN(part.data, arena_.alloc(bytes, &owner));
    EID_TRY(uploader_.write(*owner, part.data.offset, bytes, [&](void* dst) {
      auto* d = static_cast<uint8_t*>(dst);
      for (uint64_t r = 0; r < part.rows; ++r) {
        std::memcpy(d + r * row_bytes, src + (r0 + r) * src_row_bytes, src_row_bytes);
        std::memset(d + r * row_bytes + src_row_bytes, 0, row_bytes - src_row_bytes);
      }
    }));
    if (quant) {
      EID_ASSIGN_OR_RETURN(part.scales, put(scales + r0 * groups, part.rows * groups * sizeof(uint16_t)));
    }
    m.parts.push_back(part);
  }
  return m;
}

}  // namespace eidetic::vk
