// Reference forms of the dense products (kernels.h: gemm_f32, the token-panel
// packing and gemm_dense_panels): each output one sum over the columns in
// order. The panel form's loop over a panel's 16 tokens has no reduction in
// it, so compilers vectorise it as it stands.
#include "backends/cpu/kernels/kernels_ref.h"
#include "runtime/src/core/half.h"

namespace eidetic::cpu {

void gemm_f32_ref(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                  const float* bias, float* y, size_t y_stride) {
  for (size_t r = r0; r < r1; ++r) {
    const float* row = w + r * cols;
    for (size_t t = 0; t < n; ++t) {
      const float* xt = x + t * x_stride;
      float acc = 0.0f;
      for (size_t c = 0; c < cols; ++c) acc += row[c] * xt[c];
      y[t * y_stride + r] = acc + (bias ? bias[r] : 0.0f);
    }
  }
}

void pack_token_panels_ref(const float* x, size_t x_stride, size_t n, size_t cols, float* panels) {
  for (size_t t0 = 0; t0 < n; t0 += kPanelTokens) {
    float* panel = panels + t0 * cols;
    for (size_t j = 0; j < kPanelTokens; ++j) {
      const float* xt = x + (t0 + j) * x_stride;
      for (size_t c = 0; c < cols; ++c) panel[c * kPanelTokens + j] = t0 + j < n ? xt[c] : 0.0f;
    }
  }
}

void gemm_dense_panels_ref(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                           size_t r1, const float* bias, float* y, size_t y_stride) {
  const auto* f32 = static_cast<const float*>(w);
  const auto* half = static_cast<const uint16_t*>(w);
  for (size_t r = r0; r < r1; ++r) {
    for (size_t t0 = 0; t0 < n; t0 += kPanelTokens) {
      const float* panel = panels + t0 * cols;
      float acc[kPanelTokens] = {};
      for (size_t c = 0; c < cols; ++c) {
        const size_t i = r * cols + c;
        const float wv = type == DenseType::kF32   ? f32[i]
                         : type == DenseType::kF16 ? f16_to_f32(half[i])
                                                   : bf16_to_f32(half[i]);
        for (size_t j = 0; j < kPanelTokens; ++j) acc[j] += wv * panel[c * kPanelTokens + j];
      }
      for (size_t j = 0; j < kPanelTokens && t0 + j < n; ++j)
        y[(t0 + j) * y_stride + r] = acc[j] + (bias ? bias[r] : 0.0f);
    }
  }
}

}  // namespace eidetic::cpu
