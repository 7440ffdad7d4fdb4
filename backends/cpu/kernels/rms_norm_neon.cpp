// NEON RMSNorm and Mamba-2's gated RMSNorm (the math: rms_norm_ref.cpp): sums
// of squares in 4 f32 lanes, then the scaling pass; silu(z) of the gated form
// through the vector exp of exp_neon.h. Each row is read completely before it
// is written, element by element, so y may alias x (or z).
#include <arm_neon.h>
#include <math.h>

#include "backends/cpu/kernels/exp_neon.h"
#include "backends/cpu/kernels/kernels_neon.h"

namespace eidetic::cpu {
namespace {

// y[i] = v[i] * scale * w[i] (w may be null) for i < dim.
void scale_row(const float* v, const float* w, float scale, size_t dim, float* y) {
  const float32x4_t sv = vdupq_n_f32(scale);
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    const float32x4_t r = vmulq_f32(vld1q_f32(v + i), sv);
    vst1q_f32(y + i, w ? vmulq_f32(r, vld1q_f32(w + i)) : r);
  }
  for (; i < dim; ++i) y[i] = w ? v[i] * scale * w[i] : v[i] * scale;
}

float rms_scale(float sum, size_t dim, float eps) { return 1.0f / sqrtf(sum / float(dim) + eps); }

}  // namespace

void rms_norm_neon(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
                   size_t y_stride) {
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xr = x + t * x_stride;
    float32x4_t acc = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) acc = vfmaq_f32(acc, vld1q_f32(xr + i), vld1q_f32(xr + i));
    float sum = vaddvq_f32(acc);
    for (; i < dim; ++i) sum += xr[i] * xr[i];
    scale_row(xr, w, rms_scale(sum, dim, eps), dim, y + t * y_stride);
  }
}

void gated_rms_norm_neon(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                         size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xr = x + t * x_stride;
    const float* zr = z + t * z_stride;
    float* yr = y + t * y_stride;
    for (size_t g0 = 0; g0 < dim; g0 += group_size) {
      // First pass writes the gated value x * silu(z) into y, second scales it in place.
      float32x4_t acc = vdupq_n_f32(0.0f);
      size_t i = g0;
      for (; i + 4 <= g0 + group_size; i += 4) {
        const float32x4_t zv = vld1q_f32(zr + i);
        const float32x4_t g = vmulq_f32(vld1q_f32(xr + i), vdivq_f32(zv, vaddq_f32(one, exp_f32x4(vnegq_f32(zv)))));
        acc = vfmaq_f32(acc, g, g);
        vst1q_f32(yr + i, g);
      }
      float sum = vaddvq_f32(acc);
      for (; i < g0 + group_size; ++i) {
        const float g = xr[i] * (zr[i] / (1.0f + expf(-zr[i])));
        sum += g * g;
        yr[i] = g;
      }
      scale_row(yr + g0, w ? w + g0 : nullptr, rms_scale(sum, group_size, eps), group_size, yr + g0);
    }
  }
}

}  // namespace eidetic::cpu
