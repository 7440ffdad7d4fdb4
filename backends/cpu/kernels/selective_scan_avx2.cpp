// AVX2+FMA Mamba-1 selective scan. Each channel's d_state values are contiguous
// (state and a are [d_inner, d_state]), so the vectors run along the state
// index, and exp(dt*a) -- one per state element and token, the dominant cost --
// is the vector exp of exp_avx2.h. Channels go in blocks of 8 so that their 8
// dot products s.c reduce together into one vector of y, on which D*x and the
// silu(z) gate are applied 8 channels at a time.
//
// Token-major order: the exps make this compute-bound, and walking a block of
// channels through a chunk of tokens (state kept in L1) measured slower than
// sweeping all channels token by token (state 96 KiB from L2 at d_inner 1536).
#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

// One state vector of one channel: s = exp(dt*a)*s + dtx*b; acc += s*c.
// MASKED handles the last, partial vector of d_state (masked lanes stay 0).
template <bool kMasked>
inline void step(const float* a, float* s, const float* b, const float* c, __m256 dt, __m256 dtx, __m256i m,
                 __m256& acc) {
  const __m256 av = kMasked ? _mm256_maskload_ps(a, m) : _mm256_loadu_ps(a);
  const __m256 bv = kMasked ? _mm256_maskload_ps(b, m) : _mm256_loadu_ps(b);
  const __m256 cv = kMasked ? _mm256_maskload_ps(c, m) : _mm256_loadu_ps(c);
  __m256 sv = kMasked ? _mm256_maskload_ps(s, m) : _mm256_loadu_ps(s);
  sv = _mm256_fmadd_ps(exp256_ps(_mm256_mul_ps(dt, av)), sv, _mm256_mul_ps(dtx, bv));
  if (kMasked)
    _mm256_maskstore_ps(s, m, sv);
  else
    _mm256_storeu_ps(s, sv);
  acc = _mm256_fmadd_ps(sv, cv, acc);
}

// Token t for all channels. kFull > 0 fixes the number of full state vectors
// (d_state / 8) at compile time.
template <size_t kFull>
void scan_token(const SelectiveScanArgs& p, size_t t) {
  const size_t full = kFull ? kFull : p.d_state / 8;
  const size_t rem = p.d_state - full * 8;
  const __m256i mrem = lane_mask(rem);
  const float* b = p.b + t * p.b_stride;
  const float* c = p.c + t * p.c_stride;
  for (size_t d0 = 0; d0 < p.d_inner; d0 += 8) {
    const size_t rows = min_size(8, p.d_inner - d0);
    const __m256i mrows = lane_mask(rows);
    const __m256 dv = _mm256_maskload_ps(p.d + d0, mrows);
    const __m256 xv = _mm256_maskload_ps(p.x + t * p.x_stride + d0, mrows);
    const __m256 dtv = _mm256_maskload_ps(p.dt + t * p.dt_stride + d0, mrows);
    alignas(32) float dts[8], dtxs[8];
    _mm256_store_ps(dts, dtv);
    _mm256_store_ps(dtxs, _mm256_mul_ps(dtv, xv));
    __m256 acc[8];
    for (size_t r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
    for (size_t r = 0; r < rows; ++r) {
      const float* a = p.a + (d0 + r) * p.d_state;
      float* s = p.state + (d0 + r) * p.d_state;
      const __m256 dt = _mm256_set1_ps(dts[r]), dtx = _mm256_set1_ps(dtxs[r]);
      __m256 ar = _mm256_setzero_ps();
      for (size_t v = 0; v < full; ++v) step<false>(a + 8 * v, s + 8 * v, b + 8 * v, c + 8 * v, dt, dtx, mrem, ar);
      if (rem) step<true>(a + 8 * full, s + 8 * full, b + 8 * full, c + 8 * full, dt, dtx, mrem, ar);
      acc[r] = ar;
    }
    const __m256 yv = _mm256_fmadd_ps(dv, xv, hsum8x8_ps(acc));
    const __m256 zv = _mm256_maskload_ps(p.z + t * p.z_stride + d0, mrows);
    _mm256_maskstore_ps(p.y + t * p.y_stride + d0, mrows, _mm256_mul_ps(yv, silu256_ps(zv)));
  }
}

}  // namespace

void selective_scan_avx2(const SelectiveScanArgs& p) {
  for (size_t t = 0; t < p.n_tokens; ++t) {
    switch (p.d_state) {
      case 16: scan_token<2>(p, t); break;
      case 64: scan_token<8>(p, t); break;
      default: scan_token<0>(p, t);
    }
  }
}

}  // namespace eidetic::cpu
