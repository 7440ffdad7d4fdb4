// Vector expf for AVX2+FMA, inline: include only from files compiled with
// -mavx2 -mfma. Accuracy about 1 ulp over the whole float range, including
// subnormal results (the scans see exp(dt*a) of very negative arguments):
//   x = n*ln2 + r, |r| <= ln2/2 (Cody-Waite, two-part ln2 with FMA),
//   e^r by Cephes' degree-7 minimax form 1 + r + r^2*P(r),
//   2^n applied in two halves so that n down to -150 gives correctly rounded
//   subnormals and n = 128 overflows to inf, with no special cases.
// exp(-inf) = 0, exp(+inf) = inf, exp(NaN) = NaN.
//
// Files built with -mavx2 -mfma must not instantiate inline functions of the
// C++ library (std::min, std::exp(float), ...): those are emitted as weak
// copies, and the linker may keep the AVX2-compiled copy for the reference
// forms too, which would then fault on a CPU without AVX2 (in unoptimised
// builds, where they are not inlined). Hence the C math functions and the
// local helpers below.
#pragma once

#include <immintrin.h>
#include <math.h>
#include <stddef.h>

namespace eidetic::cpu {

static inline __m256 exp256_ps(__m256 x) {
  // Beyond these, expf is 0 or inf; clamping keeps n in [-150, 129]. The
  // operand order of min/max makes a NaN in x pass through.
  x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
  x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);

  // n = round(x / ln2) by the 1.5*2^23 trick: the addition rounds to an
  // integer and leaves it in the low mantissa bits (cheaper than round + cvt).
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256 nm = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
  const __m256 n = _mm256_sub_ps(nm, magic);
  const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(nm), _mm256_castps_si256(magic));

  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);  // ln2 high bits
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-6f), r);   // ln2 low bits

  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));

  // p * 2^n1 by adding n1 to p's exponent (p*2^n1 stays normal for n1 in
  // [-75, 64]), then * 2^n2 as a float multiply, which rounds subnormals right.
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256 pn1 = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(n1, 23)));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(pn1, s2);
}

// silu(z) = z / (1 + exp(-z)); a true division, not the approximate reciprocal,
// to stay within a few ulp of the reference. z -> -inf gives -0, as expf does.
static inline __m256 silu256_ps(__m256 z) {
  const __m256 e = exp256_ps(_mm256_sub_ps(_mm256_setzero_ps(), z));
  return _mm256_div_ps(z, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

// Lane mask for the first min(count, 8) lanes, for maskload / maskstore.
static inline __m256i lane_mask(size_t count) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int c = count < 8 ? static_cast<int>(count) : 8;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), idx);
}

// Sum of the 8 lanes.
static inline float hsum256_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Lane i of the result = sum of the 8 lanes of v[i]: eight horizontal sums in
// 11 shuffles/adds instead of 8 separate reductions.
static inline __m256 hsum8x8_ps(const __m256 v[8]) {
  const __m256 t0 = _mm256_hadd_ps(v[0], v[1]);
  const __m256 t1 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 t2 = _mm256_hadd_ps(v[4], v[5]);
  const __m256 t3 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1);  // [v0..v3 low halves | v0..v3 high halves]
  const __m256 u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

}  // namespace eidetic::cpu
