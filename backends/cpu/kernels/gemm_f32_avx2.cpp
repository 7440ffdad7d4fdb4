// AVX2+FMA+F16C forms of the dense products (kernels.h: gemm_f32,
// gemm_dense_panels): the body is gemm_dense_simd.inc on 8-wide vectors, tiles
// of 6 rows x 2 vectors (one panel of 16 tokens): 12 accumulators of the 16
// registers.
#include <immintrin.h>
#include <string.h>

#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

struct V {
  using reg = __m256;
  static constexpr size_t kWidth = 8, kTileRows = 6, kTileVecs = 2;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float v) { return _mm256_set1_ps(v); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg load_partial(const float* p, size_t count) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_maskload_ps(p, mask);
  }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static reg widen(const uint16_t* p, bool bf16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if (bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
  }
  static float widen1(uint16_t h, bool bf16) {
    if (bf16) {
      const uint32_t bits = uint32_t(h) << 16;
      float f;
      memcpy(&f, &bits, 4);
      return f;
    }
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
  }
};

#include "backends/cpu/kernels/gemm_dense_simd.inc"

}  // namespace

void gemm_f32_avx2(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                   const float* bias, float* y, size_t y_stride) {
  run_f32_rows(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
}

void gemm_dense_panels_avx2(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                            size_t r1, const float* bias, float* y, size_t y_stride) {
  run_dense_panels(type, w, cols, panels, n, r0, r1, bias, y, y_stride);
}

}  // namespace eidetic::cpu
