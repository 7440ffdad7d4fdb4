// NEON causal depthwise conv1d + SiLU, as causal_conv1d_avx2.cpp on 4 channels
// per vector: for each block of channels the window of the last k-1 inputs
// lives in registers while the block walks through a chunk of tokens, then
// goes back to the tail. Products are summed in the reference's order (bias,
// then oldest to newest); silu through the vector exp of exp_neon.h.
#include <arm_neon.h>

#include "backends/cpu/kernels/exp_neon.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/kernels_ref.h"
#include "backends/cpu/kernels/neon_f32x4.h"

namespace eidetic::cpu {
namespace {

constexpr size_t kMaxK = 8;  // wider kernels (none known) take the reference form
constexpr size_t kChunk = 16;

inline float32x4_t silu(float32x4_t v) { return vdivq_f32(v, vaddq_f32(vdupq_n_f32(1.0f), exp_f32x4(vnegq_f32(v)))); }

// One block of up to 4 channels starting at c0. K > 0 fixes the kernel width
// at compile time so that the window is unrolled into registers.
template <size_t K>
void conv_block(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                const float* bias, float* tail, float* y, size_t y_stride, size_t c0) {
  const size_t kk = K ? K : k, hist = kk - 1;
  const size_t count = channels - c0 < 4 ? channels - c0 : 4;
  float32x4_t wt[kMaxK];  // wt[j] lane l = w[c0 + l, j] (w is [channels, k])
  for (size_t j = 0; j < kk; ++j) {
    float lanes[4] = {0, 0, 0, 0};
    for (size_t l = 0; l < count; ++l) lanes[l] = w[(c0 + l) * kk + j];
    wt[j] = vld1q_f32(lanes);
  }
  const float32x4_t bv = bias ? NeonF32x4::load_first(bias + c0, count) : vdupq_n_f32(0.0f);
  float32x4_t win[kMaxK];  // previous inputs, oldest first
  for (size_t r = 0; r < hist; ++r) win[r] = NeonF32x4::load_first(tail + r * channels + c0, count);
  for (size_t t = 0; t < n_tokens; ++t) {
    const float32x4_t xv = NeonF32x4::load_first(x + t * x_stride + c0, count);
    float32x4_t acc = bv;
    for (size_t j = 0; j < hist; ++j) acc = vfmaq_f32(acc, wt[j], win[j]);
    acc = vfmaq_f32(acc, wt[hist], xv);
    NeonF32x4::store_first(y + t * y_stride + c0, silu(acc), count);
    for (size_t j = 0; j + 1 < hist; ++j) win[j] = win[j + 1];
    if (hist) win[hist - 1] = xv;
  }
  for (size_t r = 0; r < hist; ++r) NeonF32x4::store_first(tail + r * channels + c0, win[r], count);
}

}  // namespace

void causal_conv1d_silu_neon(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k,
                             const float* w, const float* bias, float* tail, float* y, size_t y_stride) {
  if (k > kMaxK) {
    causal_conv1d_silu_ref(x, x_stride, n_tokens, channels, k, w, bias, tail, y, y_stride);
    return;
  }
  if (k == 0) return;
  for (size_t t0 = 0; t0 < n_tokens; t0 += kChunk) {
    const size_t n = n_tokens - t0 < kChunk ? n_tokens - t0 : kChunk;
    const float* xc = x + t0 * x_stride;
    float* yc = y + t0 * y_stride;
    for (size_t c0 = 0; c0 < channels; c0 += 4) {
      if (k == 4)
        conv_block<4>(xc, x_stride, n, channels, k, w, bias, tail, yc, y_stride, c0);
      else
        conv_block<0>(xc, x_stride, n, channels, k, w, bias, tail, yc, y_stride, c0);
    }
  }
}

}  // namespace eidetic::cpu
