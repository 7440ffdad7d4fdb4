// Reference f16 / bf16 product (kernels.h: gemm_half): each output one f32
// sum over the columns in order, the weights widened exactly.
#include "backends/cpu/kernels/kernels_ref.h"
#include "runtime/src/core/half.h"

namespace eidetic::cpu {

void gemm_half_ref(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
                   size_t r1, const float* bias, float* y, size_t y_stride) {
  for (size_t r = r0; r < r1; ++r) {
    const uint16_t* row = w + r * cols;
    for (size_t t = 0; t < n; ++t) {
      const float* xt = x + t * x_stride;
      float acc = 0.0f;
      for (size_t c = 0; c < cols; ++c) acc += (bf16 ? bf16_to_f32(row[c]) : f16_to_f32(row[c])) * xt[c];
      y[t * y_stride + r] = acc + (bias ? bias[r] : 0.0f);
    }
  }
}

}  // namespace eidetic::cpu
