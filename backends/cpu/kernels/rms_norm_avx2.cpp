// AVX2+FMA RMSNorm and gated RMSNorm. Same two-pass structure as the reference
// (sum of squares, then scale; the gated form parks x*silu(z) in y between the
// passes), so y may alias x or z here too. The scale itself is computed in
// scalar exactly as in the reference; only the summation order differs.
#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

// Sum of squares of n floats.
float sum_squares(const float* x, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    acc0 = _mm256_fmadd_ps(a, a, acc0);
    acc1 = _mm256_fmadd_ps(b, b, acc1);
  }
  for (; i < n; i += 8) {
    const __m256 a = _mm256_maskload_ps(x + i, lane_mask(n - i));
    acc0 = _mm256_fmadd_ps(a, a, acc0);
  }
  return hsum256_ps(_mm256_add_ps(acc0, acc1));
}

// y = x * scale (* w), n floats.
void scale_row(const float* x, float scale, const float* w, size_t n, float* y) {
  const __m256 s = _mm256_set1_ps(scale);
  for (size_t i = 0; i < n; i += 8) {
    const __m256i m = lane_mask(n - i);
    __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), s);
    if (w) v = _mm256_mul_ps(v, _mm256_maskload_ps(w + i, m));
    _mm256_maskstore_ps(y + i, m, v);
  }
}

}  // namespace

void rms_norm_avx2(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
                   size_t y_stride) {
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xr = x + t * x_stride;
    const float scale = 1.0f / sqrtf(sum_squares(xr, dim) / static_cast<float>(dim) + eps);
    scale_row(xr, scale, w, dim, y + t * y_stride);
  }
}

void gated_rms_norm_avx2(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                         size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride) {
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* xr = x + t * x_stride;
    const float* zr = z + t * z_stride;
    float* yr = y + t * y_stride;
    for (size_t g0 = 0; g0 < dim; g0 += group_size) {
      __m256 acc = _mm256_setzero_ps();
      for (size_t i = g0; i < g0 + group_size; i += 8) {
        const __m256i m = lane_mask(g0 + group_size - i);
        const __m256 g = _mm256_mul_ps(_mm256_maskload_ps(xr + i, m), silu256_ps(_mm256_maskload_ps(zr + i, m)));
        acc = _mm256_fmadd_ps(g, g, acc);
        _mm256_maskstore_ps(yr + i, m, g);
      }
      const float mean = hsum256_ps(acc) / static_cast<float>(group_size);
      const float scale = 1.0f / sqrtf(mean + eps);
      scale_row(yr + g0, scale, w ? w + g0 : nullptr, group_size, yr + g0);
    }
  }
}

}  // namespace eidetic::cpu
