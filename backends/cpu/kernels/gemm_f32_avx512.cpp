// AVX-512F forms of the dense products (kernels.h: gemm_f32, gemm_dense_panels):
// the body is gemm_dense_simd.inc on 16-wide vectors, tiles of 6 rows x 4
// vectors (64 tokens): 24 accumulators of the 32 registers.
// GCC 12's AVX-512 intrinsics start their pass-through operand from
// _mm512_undefined_*(), which -Wmaybe-uninitialized wrongly reports.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <string.h>

#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

struct V {
  using reg = __m512;
  static constexpr size_t kWidth = 16, kTileRows = 6, kTileVecs = 4;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float v) { return _mm512_set1_ps(v); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg load_partial(const float* p, size_t count) {
    return _mm512_maskz_loadu_ps(__mmask16((1u << count) - 1u), p);
  }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(reg v) { return _mm512_reduce_add_ps(v); }
  static reg widen(const uint16_t* p, bool bf16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if (bf16) return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    return _mm512_cvtph_ps(h);
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

void gemm_f32_avx512(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                     const float* bias, float* y, size_t y_stride) {
  run_f32_rows(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
}

void gemm_dense_panels_avx512(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                              size_t r1, const float* bias, float* y, size_t y_stride) {
  run_dense_panels(type, w, cols, panels, n, r0, r1, bias, y, y_stride);
}

}  // namespace eidetic::cpu
