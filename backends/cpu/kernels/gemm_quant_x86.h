// The x86 quantized products (kernels.h: gemm_quant), shared by the AVX2 and
// the AVX-512 VNNI forms, which differ only in how one group of 32 weights
// meets 32 activations (the Dot policies of gemm_quant_avx2.cpp and
// gemm_quant_vnni.cpp). Include only from files compiled with at least
// -mavx2 -mfma -mf16c; everything here has internal linkage, and these files
// call no inline function with external linkage (see exp_avx2.h on why).
//
// A tile of R rows x T tokens keeps R*T accumulators of 8 lanes. One group at
// a time: R weight groups are loaded (and prepared: sign split, nibble unpack)
// once and meet T activation groups; each (row, token) pair gives 8 int32
// partial sums, converted to f32 and scaled by d_w * d_x, the product of the
// two scales, computed for a chunk of groups ahead (a vectorised pass over the
// f16 weight scales). Q4's offset of 8 is the separate sum over groups of
// d_w * corr_x. Decode (T = 1) streams each weight byte once from memory;
// prefill walks the tokens inside a row tile, so the tile's weights stay in L1.
#pragma once

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backends/cpu/kernels/kernels.h"

namespace eidetic::cpu {
namespace {

constexpr size_t kScaleChunk = 64;  // groups whose d_w * d_x are computed ahead
// Decode prefetches the row tile this many tiles ahead. Without it streaming
// from DRAM ran at 7 GB/s against 13 with it (768 x 2304 q8, one core of an
// AVX-512 Xeon); 2, 4 or 8 tiles ahead measured no better than 1.
constexpr int kPrefetchTiles = 1;

inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 16 bytes of Q4 nibbles -> 32 bytes 0..15: the low nibbles (even elements) in
// bytes 0-15, the high nibbles (odd elements) in bytes 16-31.
inline __m256i unpack_nibbles(const uint8_t* p) {
  const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i both = _mm256_blend_epi32(v, _mm256_srli_epi16(v, 4), 0xF0);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Two consecutive Q4 groups (32 bytes) -> their low nibbles [g0 | g1] and high
// nibbles [g0 | g1]; they meet the activations' evens [g0 | g1] and odds
// [g0 | g1] (pair_x), and the 8 int32 lanes of the product hold g0's sum in
// lanes 0-3 and g1's in lanes 4-7.
struct NibblePair {
  __m256i lo, hi;
};
inline NibblePair unpack_nibble_pair(const uint8_t* p) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i m = _mm256_set1_epi8(0x0F);
  return {_mm256_and_si256(v, m), _mm256_and_si256(_mm256_srli_epi16(v, 4), m)};
}
inline void pair_x(const int8_t* p, __m256i* evens, __m256i* odds) {
  const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kQuantGroup));
  *evens = _mm256_permute2x128_si256(x0, x1, 0x20);
  *odds = _mm256_permute2x128_si256(x0, x1, 0x31);
}

// Up to 8 floats from p (the rest 0), and 8 f16 scales as f32.
inline __m256 load_partial_ps(const float* p, size_t count) {
  if (count >= 8) return _mm256_loadu_ps(p);
  float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  memcpy(tmp, p, count * sizeof(float));
  return _mm256_loadu_ps(tmp);
}
inline __m256 load_partial_f16(const uint16_t* p, size_t count) {
  if (count >= 8) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  memcpy(tmp, p, count * sizeof(uint16_t));
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp)));
}

// Dot policy interface (K):
//   K::kQ4                       weight type
//   typename K::W; K::prep(p)    one weight group, prepared
//   K::load_x(p)                 one activation group, prepared
//   K::dot(W, x) -> __m256i      8 int32 lanes summing to the group's dot product
//   K::dot_pair(NibblePair, evens, odds)   Q4 only: two groups at once (above)
template <class K, int R, int T>
void quant_tile(const QuantMatrix& w, const QuantActs& x, size_t r, size_t t, const float* bias, float* y,
                size_t y_stride) {
  // Not w.row_bytes(): an inline function of kernels.h would be emitted here,
  // compiled for AVX2, as a weak copy the linker may pick for every caller.
  const size_t groups = w.padded_cols / kQuantGroup, rb = K::kQ4 ? w.padded_cols / 2 : w.padded_cols;
  constexpr size_t gb = K::kQ4 ? kQuantGroup / 2 : kQuantGroup;
  __m256 acc[R][T], cacc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = cacc[i][j] = _mm256_setzero_ps();
  alignas(32) float scale[T][R][kScaleChunk];

  for (size_t g0 = 0; g0 < groups; g0 += kScaleChunk) {
    const size_t gn = groups - g0 < kScaleChunk ? groups - g0 : kScaleChunk;
    for (int i = 0; i < R; ++i) {
      const uint16_t* ws = w.scales + (r + i) * groups + g0;
      for (size_t g = 0; g < gn; g += 8) {
        const __m256 wv = load_partial_f16(ws + g, gn - g);
        for (int j = 0; j < T; ++j) {
          const size_t at = (t + j) * groups + g0 + g;
          _mm256_store_ps(&scale[j][i][g], _mm256_mul_ps(wv, load_partial_ps(x.d + at, gn - g)));
          if (K::kQ4) cacc[i][j] = _mm256_fmadd_ps(wv, load_partial_ps(x.corr + at, gn - g), cacc[i][j]);
        }
      }
    }
    const uint8_t* wg = w.data + r * rb + g0 * gb;
    const int8_t* xg = x.q + t * w.padded_cols + g0 * kQuantGroup;
    size_t g = 0;
    if constexpr (K::kQ4) {
      // Two groups per step: one 32-byte load and unpack serves both.
      for (; g + 2 <= gn; g += 2, wg += 2 * gb, xg += 2 * kQuantGroup) {
        if (T == 1 && (g * gb) % 64 == 0)
          for (int i = 0; i < R; ++i)
            _mm_prefetch(reinterpret_cast<const char*>(wg + (kPrefetchTiles * R + i) * rb), _MM_HINT_T0);
        NibblePair wp[R];
        for (int i = 0; i < R; ++i) wp[i] = unpack_nibble_pair(wg + i * rb);
        for (int j = 0; j < T; ++j) {
          __m256i xe, xo;
          pair_x(xg + j * w.padded_cols, &xe, &xo);
          for (int i = 0; i < R; ++i) {
            const __m256 sc = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_broadcast_ss(&scale[j][i][g])),
                                                   _mm_broadcast_ss(&scale[j][i][g + 1]), 1);
            acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(K::dot_pair(wp[i], xe, xo)), sc, acc[i][j]);
          }
        }
      }
    }
    for (; g < gn; ++g, wg += gb, xg += kQuantGroup) {
      // Decode streams the weights from memory once: fetch the next row
      // tile's line while this one computes (prefetches never fault, so
      // running past the last row is harmless).
      if (T == 1 && (g * gb) % 64 == 0)
        for (int i = 0; i < R; ++i)
          _mm_prefetch(reinterpret_cast<const char*>(wg + (kPrefetchTiles * R + i) * rb), _MM_HINT_T0);
      typename K::W wp[R];
      for (int i = 0; i < R; ++i) wp[i] = K::prep(wg + i * rb);
      for (int j = 0; j < T; ++j) {
        const __m256i xv = K::load_x(xg + j * w.padded_cols);
        for (int i = 0; i < R; ++i)
          acc[i][j] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(K::dot(wp[i], xv)), _mm256_broadcast_ss(&scale[j][i][g]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) {
      float v = hsum_ps(acc[i][j]);
      if (K::kQ4) v -= hsum_ps(cacc[i][j]);
      y[(t + j) * y_stride + r + i] = v + (bias ? bias[r + i] : 0.0f);
    }
}

// Rows [r0, r1) in tiles of R (then single rows), each against all n tokens in
// tiles of T (then single tokens).
template <class K, int R, int T>
void quant_gemm(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias, float* y,
                size_t y_stride) {
  size_t r = r0;
  for (; r + R <= r1; r += R) {
    size_t t = 0;
    for (; t + T <= n; t += T) quant_tile<K, R, T>(w, x, r, t, bias, y, y_stride);
    for (; t < n; ++t) quant_tile<K, R, 1>(w, x, r, t, bias, y, y_stride);
  }
  for (; r < r1; ++r) {
    size_t t = 0;
    for (; t + T <= n; t += T) quant_tile<K, 1, T>(w, x, r, t, bias, y, y_stride);
    for (; t < n; ++t) quant_tile<K, 1, 1>(w, x, r, t, bias, y, y_stride);
  }
}

}  // namespace
}  // namespace eidetic::cpu
