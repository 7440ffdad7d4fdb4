// Reference causal depthwise conv1d + SiLU with a carried tail (see kernels.h).
// The input window of token t is tokens t-(k-1) .. t of the sequence
// "tail ++ x"; indices before x come from the tail.
#include <cmath>

#include "backends/cpu/kernels/kernels_ref.h"

namespace eidetic::cpu {

void causal_conv1d_silu_ref(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                            const float* bias, float* tail, float* y, size_t y_stride) {
  if (k == 0) return;         // no kernel: nothing defined to compute
  const size_t hist = k - 1;  // rows in the tail
  // Row r of "tail ++ x" (r < hist: tail, else x row r - hist).
  auto in = [&](size_t r, size_t c) { return r < hist ? tail[r * channels + c] : x[(r - hist) * x_stride + c]; };
  for (size_t t = 0; t < n_tokens; ++t) {
    for (size_t c = 0; c < channels; ++c) {
      float acc = bias ? bias[c] : 0.0f;
      for (size_t j = 0; j < k; ++j) acc += w[c * k + j] * in(t + j, c);
      y[t * y_stride + c] = acc / (1.0f + std::exp(-acc));
    }
  }
  // New tail = the last k-1 rows of "tail ++ x". Row r takes row r + n_tokens,
  // which is never before r, so ascending order reads before it overwrites.
  for (size_t r = 0; r < hist; ++r)
    for (size_t c = 0; c < channels; ++c) tail[r * channels + c] = in(r + n_tokens, c);
}

}  // namespace eidetic::cpu
