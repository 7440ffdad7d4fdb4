#include "runtime/src/model/dtype.h"

namespace eidetic {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Q8: return "q8";
    case DType::Q4: return "q4";
  }
  return "unknown";
}

size_t dtype_element_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16:
    case DType::BF16: return 2;
    case DType::Q8:
    case DType::Q4: return 0;
  }
  return 0;
}

uint64_t quantized_payload_size(DType t, uint64_t rows, uint64_t padded_cols) {
  if (t == DType::Q8) return rows * padded_cols;
  if (t == DType::Q4) return rows * (padded_cols / 2);
  return 0;
}

}  // namespace eidetic
