// AVX2 quantized products: vpmaddubsw multiplies unsigned by signed bytes and
// adds pairs into int16, vpmaddwd adds those pairs into int32. Q8 meets that
// with llama.cpp's sign trick, |w| * (x with w's sign): pairs stay below
// 2 * 127 * 127 < 2^15, so nothing saturates. Q4's nibbles are unsigned
// already (2 * 15 * 127 at most).
#include "backends/cpu/kernels/gemm_quant_x86.h"
#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

inline __m256i pairs_to_i32(__m256i p16) { return _mm256_madd_epi16(p16, _mm256_set1_epi16(1)); }

struct DotQ8 {
  static constexpr bool kQ4 = false;
  struct W {
    __m256i w, abs;
  };
  static W prep(const uint8_t* p) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return {w, _mm256_abs_epi8(w)};
  }
  static __m256i load_x(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i dot(const W& w, __m256i x) {
    return pairs_to_i32(_mm256_maddubs_epi16(w.abs, _mm256_sign_epi8(x, w.w)));
  }
};

struct DotQ4 {
  static constexpr bool kQ4 = true;
  using W = __m256i;
  static W prep(const uint8_t* p) { return unpack_nibbles(p); }
  static __m256i load_x(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i dot(const W& w, __m256i x) { return pairs_to_i32(_mm256_maddubs_epi16(w, x)); }
  // Two int16 sums of at most 2 * 15 * 127 each: no overflow when added.
  static __m256i dot_pair(const NibblePair& w, __m256i evens, __m256i odds) {
    return pairs_to_i32(_mm256_add_epi16(_mm256_maddubs_epi16(w.lo, evens), _mm256_maddubs_epi16(w.hi, odds)));
  }
};

// Up to 8 floats (the rest 0).
inline __m256 load_group_part(const float* p, size_t count) {
  if (count >= 8) return _mm256_loadu_ps(p);
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), idx));
}

}  // namespace

// As quantize_acts_ref, operation for operation where it matters (the same
// bytes for finite x): the same max, the same scalar scale and inverse,
// x * inverse rounded to nearest even, clamped, and the group sum added
// exactly (integers in f32).
void quantize_acts_avx2(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                        const QuantActs& out) {
  const size_t groups = padded_cols / kQuantGroup;
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);  // undo the packs' lane interleave
  // Q4: evens then odds within each 16-byte lane, then the lanes' halves joined.
  const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,  //
                                         0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  for (size_t t = 0; t < n; ++t) {
    const float* xr = x + t * x_stride;
    int8_t* q = out.q + t * padded_cols;
    for (size_t g = 0; g < groups; ++g) {
      const size_t c0 = g * kQuantGroup;
      const size_t len = cols > c0 ? (cols - c0 < kQuantGroup ? cols - c0 : kQuantGroup) : 0;
      __m256 v[4];
      for (int k = 0; k < 4; ++k) v[k] = load_group_part(xr + c0 + 8 * k, len > 8u * k ? len - 8 * k : 0);
      __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                               _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
      __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
      m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
      m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
      const float amax = _mm_cvtss_f32(m4);
      const float id = amax >= kMinActScale ? 127.0f / amax : 0.0f;
      const __m256 idv = _mm256_set1_ps(id);
      __m256i qi[4];
      __m256 sum = _mm256_setzero_ps();
      for (int k = 0; k < 4; ++k) {
        // max(v, lo) returns lo for a NaN v, as fmax(-127, NaN) does.
        const __m256 r = _mm256_round_ps(_mm256_mul_ps(v[k], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256 c = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
        sum = _mm256_add_ps(sum, c);
        qi[k] = _mm256_cvtps_epi32(c);
      }
      __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
      bytes = _mm256_permutevar8x32_epi32(bytes, order);
      if (type == QuantType::kQ4)
        bytes = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(bytes, split), _MM_SHUFFLE(3, 1, 2, 0));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c0), bytes);
      const float d = amax / 127.0f;
      out.d[t * groups + g] = d;
      if (out.corr) out.corr[t * groups + g] = 8.0f * d * float(int(hsum_ps(sum)));
    }
  }
}

void gemm_quant_avx2(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                     float* y, size_t y_stride) {
  if (n == 1) {
    if (w.type == QuantType::kQ8)
      quant_gemm<DotQ8, 4, 1>(w, x, n, r0, r1, bias, y, y_stride);
    else
      quant_gemm<DotQ4, 4, 1>(w, x, n, r0, r1, bias, y, y_stride);
  } else {
    if (w.type == QuantType::kQ8)
      quant_gemm<DotQ8, 2, 4>(w, x, n, r0, r1, bias, y, y_stride);
    else
      quant_gemm<DotQ4, 2, 4>(w, x, n, r0, r1, bias, y, y_stride);
  }
}

}  // namespace eidetic::cpu
