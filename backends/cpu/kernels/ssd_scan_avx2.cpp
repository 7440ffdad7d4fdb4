// AVX2+FMA Mamba-2 recurrence. The decay exp(dt*a) is one scalar per head and
// token (computed with expf, as the reference does), so the work is plain
// multiply-adds over the state, vectorised along d_state: per row i of a head,
// S[i,:] = decay*S[i,:] + (dt*x[i])*b;  y[i] = S[i,:].c + D*x[i].
// Rows go in blocks of 8 whose dot products reduce together into one vector.
//
// Loops: head, then a chunk of tokens, then row blocks, then the chunk's tokens:
// a block's 8 state rows stay in L1 over the chunk, the chunk's b, c rows over
// the head's blocks, and the decays are computed once per head and token.
#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

constexpr size_t kChunk = 8;

template <bool kMasked>
inline void step(float* s, const float* b, const float* c, __m256 decay, __m256 dtx, __m256i m, __m256& acc) {
  const __m256 bv = kMasked ? _mm256_maskload_ps(b, m) : _mm256_loadu_ps(b);
  const __m256 cv = kMasked ? _mm256_maskload_ps(c, m) : _mm256_loadu_ps(c);
  __m256 sv = kMasked ? _mm256_maskload_ps(s, m) : _mm256_loadu_ps(s);
  sv = _mm256_fmadd_ps(dtx, bv, _mm256_mul_ps(decay, sv));
  if (kMasked)
    _mm256_maskstore_ps(s, m, sv);
  else
    _mm256_storeu_ps(s, sv);
  acc = _mm256_fmadd_ps(sv, cv, acc);
}

// Head h, tokens [t0, t1), rows [i0, i0 + rows) of the head, rows <= 8.
// decay[t - t0] = exp(dt*a). kFull > 0 fixes d_state / 8 at compile time.
template <size_t kFull>
void scan_rows(const SsdScanArgs& p, size_t h, size_t t0, size_t t1, size_t i0, size_t rows, const float* decay) {
  const size_t full = kFull ? kFull : p.d_state / 8;
  const size_t rem = p.d_state - full * 8;
  const __m256i mrem = lane_mask(rem);
  const __m256i mrows = lane_mask(rows);
  const size_t g = h / (p.n_heads / p.n_groups);
  const size_t col = h * p.head_dim + i0;  // first column of these rows in x and y
  const __m256 dv = _mm256_set1_ps(p.d[h]);
  float* state = p.state + (h * p.head_dim + i0) * p.d_state;
  for (size_t t = t0; t < t1; ++t) {
    const float* b = p.b + t * p.b_stride + g * p.d_state;
    const float* c = p.c + t * p.c_stride + g * p.d_state;
    const __m256 xv = _mm256_maskload_ps(p.x + t * p.x_stride + col, mrows);
    alignas(32) float dtxs[8];
    _mm256_store_ps(dtxs, _mm256_mul_ps(_mm256_set1_ps(p.dt[t * p.dt_stride + h]), xv));
    const __m256 dec = _mm256_set1_ps(decay[t - t0]);
    __m256 acc[8];
    for (size_t r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
    for (size_t r = 0; r < rows; ++r) {
      float* s = state + r * p.d_state;
      const __m256 dtx = _mm256_set1_ps(dtxs[r]);
      __m256 ar = _mm256_setzero_ps();
      for (size_t v = 0; v < full; ++v) step<false>(s + 8 * v, b + 8 * v, c + 8 * v, dec, dtx, mrem, ar);
      if (rem) step<true>(s + 8 * full, b + 8 * full, c + 8 * full, dec, dtx, mrem, ar);
      acc[r] = ar;
    }
    _mm256_maskstore_ps(p.y + t * p.y_stride + col, mrows, _mm256_fmadd_ps(dv, xv, hsum8x8_ps(acc)));
  }
}

}  // namespace

void ssd_scan_avx2(const SsdScanArgs& p) {
  float decay[kChunk];
  for (size_t h = 0; h < p.n_heads; ++h) {
    for (size_t t0 = 0; t0 < p.n_tokens; t0 += kChunk) {
      const size_t t1 = min_size(p.n_tokens, t0 + kChunk);
      for (size_t t = t0; t < t1; ++t) decay[t - t0] = expf(p.dt[t * p.dt_stride + h] * p.a[h]);
      for (size_t i0 = 0; i0 < p.head_dim; i0 += 8) {
        const size_t rows = min_size(8, p.head_dim - i0);
        switch (p.d_state) {
          case 64: scan_rows<8>(p, h, t0, t1, i0, rows, decay); break;
          case 128: scan_rows<16>(p, h, t0, t1, i0, rows, decay); break;
          default: scan_rows<0>(p, h, t0, t1, i0, rows, decay);
        }
      }
    }
  }
}

}  // namespace eidetic::cpu
