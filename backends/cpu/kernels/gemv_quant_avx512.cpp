// AVX-512 VNNI quantized matrix-vector product: gemm_quant for one token
// (decode), on 512-bit vectors. Decode reads every weight byte once, so this
// form spends as few instructions per weight byte as it can:
//
// - Weights are the unsigned side of vpdpbusd, activations the signed side.
//   Q8 weights become unsigned by a flip of the top bit (w + 128), Q4 nibbles
//   are unsigned already (q + 8). The offset, 128 (or 8) times the sum of the
//   group's activations, is taken off in integers: each vector's int32 lanes
//   start from minus that offset's share of the lane (a vpdpbusd of the
//   activations with a constant), computed once per row tile. So every group
//   sum is exact, as in the reference.
// - One zmm holds 2 groups of a Q8 row (64 bytes) or 4 groups of a Q4 row;
//   its 16 int32 lanes become f32 once and meet the groups' d_w * d_x,
//   widened from 16 groups' scales at a time (vcvtph2ps, one multiply, one
//   permute per zmm).
// - R rows go together: each activation vector is loaded and its offsets
//   computed once for R rows, and the next row tile is prefetched while this
//   one computes (decode streams the weights from L3 or DRAM).
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

constexpr size_t kChunk = 16;  // groups per scale vector
constexpr int kRows = 4;       // rows per tile
// Decode streams the weights once, from L3 or DRAM: 4 KiB ahead measured
// 1.3x faster than 1.5 KiB from DRAM at q4 (768 x 3352, one core).
constexpr size_t kPrefetchBytes = 4096;

// All of a row's 64-byte vectors, except the masked tail of the last one.
inline __mmask64 byte_mask(size_t bytes) { return bytes >= 64 ? ~__mmask64(0) : (__mmask64(1) << bytes) - 1; }
inline __mmask16 lane_mask16(size_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

// Activations of one vector, prepared for all rows: Q8 one vector x; Q4 the
// evens and odds of 4 groups (the activations' layout is evens then odds per
// group, matching the low and high nibbles). start: minus the offset per lane.
struct Acts {
  __m512i a, b, start;
};

// A 64-byte load, zero past `m` when kMasked (a row's last, partial vector).
template <bool kMasked>
inline __m512i load64(const void* p, __mmask64 m) {
  return kMasked ? _mm512_maskz_loadu_epi8(m, p) : _mm512_loadu_si512(p);
}

template <bool kQ4, bool kMasked>
inline Acts load_acts(const int8_t* x, size_t bytes) {
  Acts v;
  if (kQ4) {
    const __m512i x0 = load64<kMasked>(x, byte_mask(bytes));
    const __m512i x1 = load64<kMasked>(x + 64, byte_mask(bytes > 64 ? bytes - 64 : 0));
    // x0 = [g0e g0o g1e g1o], x1 = [g2e g2o g3e g3o] in 16-byte quarters.
    v.a = _mm512_permutex2var_epi64(x0, _mm512_setr_epi64(0, 1, 4, 5, 8, 9, 12, 13), x1);
    v.b = _mm512_permutex2var_epi64(x0, _mm512_setr_epi64(2, 3, 6, 7, 10, 11, 14, 15), x1);
    const __m512i eight = _mm512_set1_epi8(8);
    v.start =
        _mm512_sub_epi32(_mm512_setzero_si512(),
                         _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, v.a), eight, v.b));
  } else {
    v.a = load64<kMasked>(x, byte_mask(bytes));
    v.b = v.a;
    v.start = _mm512_sub_epi32(_mm512_setzero_si512(),
                               _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(0x80)), v.a));
  }
  return v;
}

// The exact int32 group sums of one weight vector (64 bytes) with the activations.
template <bool kQ4, bool kMasked>
inline __m512i dot(const uint8_t* w, __mmask64 m, const Acts& x) {
  const __m512i v = load64<kMasked>(w, m);
  if (kQ4) {
    const __m512i nib = _mm512_set1_epi8(0x0F);
    const __m512i lo = _mm512_and_si512(v, nib), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(x.start, lo, x.a), hi, x.b);
  }
  // A masked-off byte reads 0: the flip makes it 128, which meets a 0 activation.
  return _mm512_dpbusd_epi32(x.start, _mm512_xor_si512(v, _mm512_set1_epi8(char(0x80))), x.a);
}

// One vector of R rows from group g on: acc[i] += group sums * scales, the
// scales of lanes from s[i] by idx. `left` groups remain from g to the rows' end.
template <bool kQ4, int R, bool kMasked>
inline void column(const uint8_t* wr, size_t rb, const int8_t* xg, size_t left, __m512i idx, const __m512* s,
                   __m512* acc) {
  constexpr size_t kWBytes = kQ4 ? 16 : 32;
  const Acts xv = load_acts<kQ4, kMasked>(xg, left * kQuantGroup);
  const __mmask64 mw = kMasked ? byte_mask(left * kWBytes) : 0;
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    const __m512i d = dot<kQ4, kMasked>(wr + i * rb, mw, xv);
    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(idx, s[i]), acc[i]);
  }
}

template <bool kQ4, int R>
void rows_tile(const QuantMatrix& w, const QuantActs& x, size_t r, const float* bias, float* y) {
  const size_t groups = w.padded_cols / kQuantGroup;
  const size_t rb = kQ4 ? w.padded_cols / 2 : w.padded_cols;  // not w.row_bytes(): see gemm_quant_x86.h
  constexpr size_t kGroupsPerVec = kQ4 ? 4 : 2, kWBytes = kQ4 ? 16 : 32;
  const uint8_t* wr = w.data + r * rb;
  const uint16_t* ws = w.scales + r * groups;
  __m512 acc[R];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
  for (size_t g0 = 0; g0 < groups; g0 += kChunk) {
    const size_t gn = groups - g0 < kChunk ? groups - g0 : kChunk;
    const __mmask16 sm = lane_mask16(gn);
    const __m512 dx = _mm512_maskz_loadu_ps(sm, x.d + g0);
    __m512 s[R];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
      s[i] = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(sm, ws + i * groups + g0)), dx);
      // Fetch the weights kPrefetchBytes ahead, and their scales as far ahead
      // in groups: past the rows' ends this is the next tile (prefetches never fault).
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const char* next = reinterpret_cast<const char*>(wr + i * rb + g0 * kWBytes) + kPrefetchBytes;
      for (size_t b = 0; b < gn * kWBytes; b += 64) _mm_prefetch(next + b, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(ws + i * groups + g0 + kPrefetchBytes / kWBytes), _MM_HINT_T0);
    }
    // Vector k of the chunk covers groups k * kGroupsPerVec onwards: its lanes
    // take their scale from s lane idx (Q8: 8 lanes per group, Q4: 4).
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_set1_epi32(kGroupsPerVec);
    __m512i idx = _mm512_srli_epi32(lane, kQ4 ? 2 : 3);
    size_t k = 0;
    for (; k + kGroupsPerVec <= gn; k += kGroupsPerVec, idx = _mm512_add_epi32(idx, step))
      column<kQ4, R, false>(wr + (g0 + k) * kWBytes, rb, x.q + (g0 + k) * kQuantGroup, groups - g0 - k, idx, s, acc);
    if (k < gn)
      column<kQ4, R, true>(wr + (g0 + k) * kWBytes, rb, x.q + (g0 + k) * kQuantGroup, groups - g0 - k, idx, s, acc);
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) y[r + i] = _mm512_reduce_add_ps(acc[i]) + (bias ? bias[r + i] : 0.0f);
}

template <bool kQ4>
void rows(const QuantMatrix& w, const QuantActs& x, size_t r0, size_t r1, const float* bias, float* y) {
  size_t r = r0;
  for (; r + kRows <= r1; r += kRows) rows_tile<kQ4, kRows>(w, x, r, bias, y);
  for (; r < r1; ++r) rows_tile<kQ4, 1>(w, x, r, bias, y);
}

}  // namespace

void gemv_quant_avx512(const QuantMatrix& w, const QuantActs& x, size_t r0, size_t r1, const float* bias, float* y) {
  if (w.type == QuantType::kQ4)
    rows<true>(w, x, r0, r1, bias, y);
  else
    rows<false>(w, x, r0, r1, bias, y);
}

}  // namespace eidetic::cpu
