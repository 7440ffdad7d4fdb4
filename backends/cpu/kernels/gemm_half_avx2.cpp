// AVX2 f16 / bf16 product (kernels.h: gemm_half), weights widened 8 at a time
// (F16C's vcvtph2ps for f16; for bf16 the 16 bits become a float's top half)
// and multiplied into R x T accumulators: R rows are widened once and meet T
// tokens. Decode (T = 1) streams the weights from memory once and prefetches
// the next row tile, as the quantized products do (gemm_quant_x86.h).
#include <immintrin.h>
#include <string.h>

#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <bool kBf16>
inline __m256 widen(__m128i h) {
  if (kBf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  return _mm256_cvtph_ps(h);
}

template <bool kBf16, int R, int T>
void half_tile(const uint16_t* w, size_t cols, const float* x, size_t x_stride, size_t r, size_t t, const float* bias,
               float* y, size_t y_stride) {
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  const uint16_t* wr = w + r * cols;
  const float* xr = x + t * x_stride;
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    if (T == 1 && c % 32 == 0)
      for (int i = 0; i < R; ++i) _mm_prefetch(reinterpret_cast<const char*>(wr + (R + i) * cols + c), _MM_HINT_T0);
    __m256 wv[R];
    for (int i = 0; i < R; ++i)
      wv[i] = widen<kBf16>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr + i * cols + c)));
    for (int j = 0; j < T; ++j) {
      const __m256 xv = _mm256_loadu_ps(xr + j * x_stride + c);
      for (int i = 0; i < R; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  if (c < cols) {  // the last cols % 8 columns, through zero-padded copies
    const size_t rest = cols - c;
    __m256 wv[R];
    for (int i = 0; i < R; ++i) {
      uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      memcpy(tmp, wr + i * cols + c, rest * sizeof(uint16_t));
      wv[i] = widen<kBf16>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp)));
    }
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rest)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int j = 0; j < T; ++j) {
      const __m256 xv = _mm256_maskload_ps(xr + j * x_stride + c, mask);
      for (int i = 0; i < R; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) y[(t + j) * y_stride + r + i] = hsum(acc[i][j]) + (bias ? bias[r + i] : 0.0f);
}

template <bool kBf16, int R, int T>
void half_gemm(const uint16_t* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
               const float* bias, float* y, size_t y_stride) {
  size_t r = r0;
  for (; r + R <= r1; r += R) {
    size_t t = 0;
    for (; t + T <= n; t += T) half_tile<kBf16, R, T>(w, cols, x, x_stride, r, t, bias, y, y_stride);
    for (; t < n; ++t) half_tile<kBf16, R, 1>(w, cols, x, x_stride, r, t, bias, y, y_stride);
  }
  for (; r < r1; ++r) {
    size_t t = 0;
    for (; t + T <= n; t += T) half_tile<kBf16, 1, T>(w, cols, x, x_stride, r, t, bias, y, y_stride);
    for (; t < n; ++t) half_tile<kBf16, 1, 1>(w, cols, x, x_stride, r, t, bias, y, y_stride);
  }
}

template <bool kBf16>
void run(const uint16_t* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
         const float* bias, float* y, size_t y_stride) {
  if (n == 1)
    half_gemm<kBf16, 4, 1>(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
  else
    half_gemm<kBf16, 2, 4>(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
}

}  // namespace

void gemm_half_avx2(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
                    size_t r1, const float* bias, float* y, size_t y_stride) {
  if (bf16)
    run<true>(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
  else
    run<false>(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
}

}  // namespace eidetic::cpu
