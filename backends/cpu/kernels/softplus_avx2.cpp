// AVX2+FMA softplus: log1p(e^x) as log(u) * e / (u - 1) with e = e^x and
// u = 1 + e (Goldberg's form of log1p, exact to a few ulp; e itself where
// u rounds to 1), x itself above 20 as PyTorch does. The vector log is
// Cephes' logf: x = m * 2^k with m in [sqrt(1/2), sqrt(2)), then a degree-9
// polynomial in m - 1.
#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

// log(x) for finite x >= 1 (all softplus needs: u = 1 + e^x).
inline __m256 log256_ge1_ps(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  __m256 k = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  // m in [1, 2), then into [sqrt(1/2), sqrt(2)) by halving the larger ones.
  __m256 m = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
  const __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GE_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  k = _mm256_add_ps(k, _mm256_and_ps(big, _mm256_set1_ps(1.0f)));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
  p = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
  p = _mm256_fmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), p);
  p = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), p);
  return _mm256_fmadd_ps(k, _mm256_set1_ps(0.693359375f), _mm256_add_ps(f, p));
}

inline __m256 softplus256_ps(__m256 x) {
  const __m256 e = exp256_ps(x);
  const __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
  const __m256 d = _mm256_sub_ps(u, _mm256_set1_ps(1.0f));
  const __m256 r = _mm256_mul_ps(log256_ge1_ps(u), _mm256_div_ps(e, d));
  const __m256 small = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ);  // u rounded to 1
  const __m256 large = _mm256_cmp_ps(x, _mm256_set1_ps(20.0f), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_blendv_ps(r, e, small), x, large);
}

}  // namespace

void softplus_avx2(const float* x, size_t n, float* y) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, softplus256_ps(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = lane_mask(n - i);
    _mm256_maskstore_ps(y + i, m, softplus256_ps(_mm256_maskload_ps(x + i, m)));
  }
}

}  // namespace eidetic::cpu
