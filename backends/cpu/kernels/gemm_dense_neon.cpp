// NEON forms of the dense products (kernels.h: gemm_f32, gemm_half,
// gemm_dense_panels). The prompt product and f32 decode are the body of
// gemm_dense_simd.inc on 4-wide vectors, tiles of 6 rows x 4 vectors (one
// panel of 16 tokens): 24 accumulators of the 32 registers. f16 decode widens
// 8 weights at a time with FCVTL, bf16 with a shift.
#include <arm_neon.h>
#include <string.h>

#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/neon_f32x4.h"

namespace eidetic::cpu {
namespace {

inline float widen_one(uint16_t h, bool bf16) {
  if (bf16) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
  }
  __fp16 v;
  memcpy(&v, &h, 2);
  return float(v);
}

struct V : NeonF32x4 {
  static constexpr size_t kTileRows = 6, kTileVecs = 4;
  static reg load_partial(const float* p, size_t count) { return load_first(p, count); }
  static float hsum(reg v) { return vaddvq_f32(v); }
  static reg widen(const uint16_t* p, bool bf16) {
    const uint16x4_t h = vld1_u16(p);
    return bf16 ? vreinterpretq_f32_u32(vshll_n_u16(h, 16)) : vcvt_f32_f16(vreinterpret_f16_u16(h));
  }
  static float widen1(uint16_t h, bool bf16) { return widen_one(h, bf16); }
};

#include "backends/cpu/kernels/gemm_dense_simd.inc"

// Decode on half rows: R rows against one token, 8 columns per step.
template <size_t R>
void half_rows(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t r, const float* bias, float* y) {
  float32x4_t acc[R];
  for (size_t i = 0; i < R; ++i) acc[i] = vdupq_n_f32(0.0f);
  const uint16_t* wr = w + r * cols;
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    if (c % 32 == 0)  // one 64-byte line per row: fetch the next tile's
      for (size_t i = 0; i < R; ++i) __builtin_prefetch(wr + (R + i) * cols + c, 0, 3);
    const float32x4_t x0 = vld1q_f32(x + c), x1 = vld1q_f32(x + c + 4);
    for (size_t i = 0; i < R; ++i) {
      const uint16x8_t h = vld1q_u16(wr + i * cols + c);
      float32x4_t w0, w1;
      if (bf16) {
        w0 = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        w1 = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
      } else {
        const float16x8_t f = vreinterpretq_f16_u16(h);
        w0 = vcvt_f32_f16(vget_low_f16(f));
        w1 = vcvt_high_f32_f16(f);
      }
      acc[i] = vfmaq_f32(vfmaq_f32(acc[i], w0, x0), w1, x1);
    }
  }
  for (size_t i = 0; i < R; ++i) {
    float s = vaddvq_f32(acc[i]);
    for (size_t k = c; k < cols; ++k) s += widen_one(wr[i * cols + k], bf16) * x[k];
    y[r + i] = s + (bias ? bias[r + i] : 0.0f);
  }
}

}  // namespace

void gemm_f32_neon(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                   const float* bias, float* y, size_t y_stride) {
  run_f32_rows(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
}

void gemm_half_neon(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
                    size_t r1, const float* bias, float* y, size_t y_stride) {
  constexpr size_t kR = 4;
  size_t r = r0;
  for (; r + kR <= r1; r += kR)
    for (size_t t = 0; t < n; ++t) half_rows<kR>(w, bf16, cols, x + t * x_stride, r, bias, y + t * y_stride);
  for (; r < r1; ++r)
    for (size_t t = 0; t < n; ++t) half_rows<1>(w, bf16, cols, x + t * x_stride, r, bias, y + t * y_stride);
}

void gemm_dense_panels_neon(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                            size_t r1, const float* bias, float* y, size_t y_stride) {
  run_dense_panels(type, w, cols, panels, n, r0, r1, bias, y, y_stride);
}

}  // namespace eidetic::cpu
