// AVX2+FMA causal depthwise conv1d + SiLU. Eight channels per vector; for each
// block of channels the window of the last k-1 inputs lives in registers while
// the block walks through a chunk of tokens, then goes back to the tail (so the
// chunk's rows of x and y stay in L1 from one block to the next). Products are
// summed in the reference's order (bias, then oldest to newest).
#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_ref.h"

namespace eidetic::cpu {
namespace {

constexpr size_t kMaxK = 8;  // wider kernels (none known) take the reference form
constexpr size_t kChunk = 16;

// One block of up to 8 channels starting at c0. K > 0 fixes the kernel width at
// compile time so that the window is unrolled into registers; K == 0 reads k.
template <size_t K>
void conv_block(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                const float* bias, float* tail, float* y, size_t y_stride, size_t c0) {
  const size_t kk = K ? K : k;
  const size_t hist = kk - 1;
  const size_t count = min_size(channels - c0, 8);
  const __m256i m = lane_mask(count);

  // wt[j] lane l = w[c0 + l, j]: a gather, since w is [channels, k].
  const __m256i idx =
      _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<int>(kk)));
  __m256 wt[kMaxK];
  for (size_t j = 0; j < kk; ++j)
    wt[j] = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), w + c0 * kk + j, idx, _mm256_castsi256_ps(m), 4);
  const __m256 bv = bias ? _mm256_maskload_ps(bias + c0, m) : _mm256_setzero_ps();

  __m256 win[kMaxK];  // previous inputs, oldest first
  for (size_t r = 0; r < hist; ++r) win[r] = _mm256_maskload_ps(tail + r * channels + c0, m);

  for (size_t t = 0; t < n_tokens; ++t) {
    const __m256 xv = _mm256_maskload_ps(x + t * x_stride + c0, m);
    __m256 acc = bv;
    for (size_t j = 0; j < hist; ++j) acc = _mm256_fmadd_ps(wt[j], win[j], acc);
    acc = _mm256_fmadd_ps(wt[hist], xv, acc);
    _mm256_maskstore_ps(y + t * y_stride + c0, m, silu256_ps(acc));
    for (size_t j = 0; j + 1 < hist; ++j) win[j] = win[j + 1];
    if (hist) win[hist - 1] = xv;
  }
  for (size_t r = 0; r < hist; ++r) _mm256_maskstore_ps(tail + r * channels + c0, m, win[r]);
}

}  // namespace

void causal_conv1d_silu_avx2(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k,
                             const float* w, const float* bias, float* tail, float* y, size_t y_stride) {
  if (k > kMaxK) {
    causal_conv1d_silu_ref(x, x_stride, n_tokens, channels, k, w, bias, tail, y, y_stride);
    return;
  }
  if (k == 0) return;
  for (size_t t0 = 0; t0 < n_tokens; t0 += kChunk) {
    const size_t n = min_size(n_tokens - t0, kChunk);
    const float* xc = x + t0 * x_stride;
    float* yc = y + t0 * y_stride;
    for (size_t c0 = 0; c0 < channels; c0 += 8) {
      switch (k) {
        case 4: conv_block<4>(xc, x_stride, n, channels, k, w, bias, tail, yc, y_stride, c0); break;
        case 3: conv_block<3>(xc, x_stride, n, channels, k, w, bias, tail, yc, y_stride, c0); break;
        case 2: conv_block<2>(xc, x_stride, n, channels, k, w, bias, tail, yc, y_stride, c0); break;
        default: conv_block<0>(xc, x_stride, n, channels, k, w, bias, tail, yc, y_stride, c0);
      }
    }
  }
}

}  // namespace eidetic::cpu
