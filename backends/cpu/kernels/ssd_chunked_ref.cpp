// Reference chunked ("SSD") form of the Mamba-2 recurrence: the same result as
// ssd_scan_ref up to rounding, computed chunk by chunk. Within a chunk of L
// tokens (local indices i, j), with dec_k = exp(dt_k*a) and the decay products
//   P(i, j) = dec_{j+1} * ... * dec_i   (P(i, i) = 1),   P0(i) = dec_0 * ... * dec_i,
// the recurrence unrolls to
//   y_i = P0(i) * (S c_i) + sum_{j<=i} (c_i . b_j) * P(i, j) * dt_j * x_j + D x_i
//   S'  = P0(L-1) * S + sum_j P(L-1, j) * dt_j * x_j ⊗ b_j
// where S is the state at the start of the chunk. The products are built by
// multiplying the per-token decays (as the recurrence does), not as exponentials
// of differences of cumulative sums, which would lose precision in f32.
#include <cmath>

#include "backends/cpu/kernels/kernels_ref.h"

namespace eidetic::cpu {

void ssd_chunked_ref(const SsdScanArgs& p, size_t chunk, float* scratch) {
  const size_t L = ssd_chunk_length(chunk, p.n_tokens), N = p.d_state, P = p.head_dim;
  if (L == 0) return;
  const size_t heads_per_group = p.n_heads / p.n_groups;
  float* dm = scratch;             // [L][L+1]: column 0 = P0(i), column j+1 = P(i, j)
  float* coef = dm + L * (L + 1);  // [L]
  for (size_t h = 0; h < p.n_heads; ++h) {
    const size_t g = h / heads_per_group;
    float* s = p.state + h * P * N;  // [P][N]
    for (size_t t0 = 0; t0 < p.n_tokens; t0 += L) {
      const size_t lc = p.n_tokens - t0 < L ? p.n_tokens - t0 : L;
      auto xrow = [&](size_t i) { return p.x + (t0 + i) * p.x_stride + h * P; };
      auto brow = [&](size_t i) { return p.b + (t0 + i) * p.b_stride + g * N; };
      auto crow = [&](size_t i) { return p.c + (t0 + i) * p.c_stride + g * N; };
      auto dt = [&](size_t i) { return p.dt[(t0 + i) * p.dt_stride + h]; };
      for (size_t i = 0; i < lc; ++i) {
        const float dec = std::exp(dt(i) * p.a[h]);
        float* row = dm + i * (L + 1);
        for (size_t j = 0; j <= i; ++j) row[j] = (i ? row[j - (L + 1)] : 1.0f) * dec;
        row[i + 1] = 1.0f;
      }
      // Outputs, from the state at the start of the chunk.
      for (size_t i = 0; i < lc; ++i) {
        const float* c = crow(i);
        const float* row = dm + i * (L + 1);
        for (size_t j = 0; j <= i; ++j) {
          const float* b = brow(j);
          float cb = 0.0f;
          for (size_t n = 0; n < N; ++n) cb += c[n] * b[n];
          coef[j] = cb * row[j + 1] * dt(j);
        }
        float* y = p.y + (t0 + i) * p.y_stride + h * P;
        const float* x = xrow(i);
        for (size_t q = 0; q < P; ++q) {
          const float* sq = s + q * N;
          float acc = 0.0f;
          for (size_t n = 0; n < N; ++n) acc += sq[n] * c[n];
          y[q] = row[0] * acc + p.d[h] * x[q];
        }
        for (size_t j = 0; j <= i; ++j) {
          const float* xj = xrow(j);
          for (size_t q = 0; q < P; ++q) y[q] += coef[j] * xj[q];
        }
      }
      // The state at the end of the chunk.
      const float* last = dm + (lc - 1) * (L + 1);
      for (size_t j = 0; j < lc; ++j) coef[j] = last[j + 1] * dt(j);
      for (size_t q = 0; q < P; ++q) {
        float* sq = s + q * N;
        for (size_t n = 0; n < N; ++n) sq[n] *= last[0];
        for (size_t j = 0; j < lc; ++j) {
          const float f = coef[j] * xrow(j)[q];
          const float* b = brow(j);
          for (size_t n = 0; n < N; ++n) sq[n] += f * b[n];
        }
      }
    }
  }
}

}  // namespace eidetic::cpu
