// Reference RMSNorm and Mamba-2's gated RMSNorm (HF MambaRMSNorm /
// MambaRMSNormGated): sums of squares in f32 as transformers does for f32 models.
// Both read a row completely before writing it, so y may alias x (or z).
#include <cmath>

#include "backends/cpu/kernels/kernels_ref.h"

namespace eidetic::cpu {

void rms_norm_ref(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
                  size_t y_stride) {
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xr = x + t * x_stride;
    float* yr = y + t * y_stride;
    float sum = 0.0f;
    for (size_t i = 0; i < dim; ++i) sum += xr[i] * xr[i];
    const float scale = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
    for (size_t i = 0; i < dim; ++i) yr[i] = w ? xr[i] * scale * w[i] : xr[i] * scale;
  }
}

void gated_rms_norm_ref(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                        size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride) {
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xr = x + t * x_stride;
    const float* zr = z + t * z_stride;
    float* yr = y + t * y_stride;
    for (size_t g0 = 0; g0 < dim; g0 += group_size) {
      // First pass writes the gated value into y, second pass scales it in place.
      float sum = 0.0f;
      for (size_t i = g0; i < g0 + group_size; ++i) {
        const float g = xr[i] * (zr[i] / (1.0f + std::exp(-zr[i])));  // x * silu(z)
        sum += g * g;
        yr[i] = g;
      }
      const float scale = 1.0f / std::sqrt(sum / static_cast<float>(group_size) + eps);
      for (size_t i = g0; i < g0 + group_size; ++i) yr[i] = w ? yr[i] * scale * w[i] : yr[i] * scale;
    }
  }
}

}  // namespace eidetic::cpu
