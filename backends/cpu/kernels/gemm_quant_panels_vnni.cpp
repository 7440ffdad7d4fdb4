// AVX-512 VNNI form of the quantized prompt product (kernels.h:
// gemm_quant_panels). vpdpbusd multiplies 4 unsigned weight bytes, broadcast
// to all lanes, into 4 signed activation bytes of each of 16 tokens and adds
// the sum to that token's int32 lane: 64 multiply-adds per instruction with no
// horizontal sum afterwards. A tile of R rows x NV vectors of 16 tokens keeps
// R*NV int32 sums for the group of 32 columns at hand and R*NV f32 sums; per
// group the int32 sums start from the panels' corr (removing the weights'
// zero point), take 8 vpdpbusd, and are scaled by d_w * d_x into the f32 ones.
//
// The weights are read in place; per tile, kRepackCols columns at a time, the
// R rows are turned into unsigned bytes on the stack (Q8: flip the top bit;
// Q4: unpack the nibbles into column order) with their scales in f32, once for
// all the tile's tokens.
// GCC 12's AVX-512 intrinsics start their pass-through operand from
// _mm512_undefined_*(), which -Wmaybe-uninitialized wrongly reports.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

constexpr size_t kRows = 3, kVecs = 4;
constexpr size_t kRepackCols = 1024;  // a multiple of the group size

template <size_t R>
void repack(const QuantMatrix& w, size_t r, size_t c0, size_t count, uint8_t (&wb)[R][kRepackCols],
            float (&ws)[R][kRepackCols / kQuantGroup]) {
  const size_t groups = w.padded_cols / kQuantGroup, g0 = c0 / kQuantGroup, gn = count / kQuantGroup;
  const bool q8 = w.type == QuantType::kQ8;
  const size_t rb = q8 ? w.padded_cols : w.padded_cols / 2;
  for (size_t i = 0; i < R; ++i) {
    const uint8_t* row = w.data + (r + i) * rb;
    for (size_t g = 0; g < gn; ++g) {
      __m256i v;
      if (q8) {
        v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c0 + g * kQuantGroup)),
                             _mm256_set1_epi8(char(0x80)));
      } else {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + (c0 + g * kQuantGroup) / 2));
        const __m128i m = _mm_set1_epi8(0x0F);
        const __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
        v = _mm256_setr_m128i(_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi));
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(&wb[i][g * kQuantGroup]), v);
    }
    const uint16_t* s = w.scales + (r + i) * groups + g0;
    size_t g = 0;
    for (; g + 16 <= gn; g += 16)
      _mm512_storeu_ps(&ws[i][g], _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + g))));
    if (g < gn) {
      const __mmask16 m = __mmask16((1u << (gn - g)) - 1u);
      _mm512_mask_storeu_ps(&ws[i][g], m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, s + g)));
    }
  }
}

// Rows [r, r + R) x tokens [t0, t0 + 16 * NV) (those below n written).
template <size_t R, size_t NV>
void quant_tile(const QuantMatrix& w, const QuantPanels& x, size_t n, size_t t0, size_t r, const float* bias, float* y,
                size_t y_stride) {
  const size_t pc = w.padded_cols, groups = pc / kQuantGroup, quads = pc / 4, p0 = t0 / kPanelTokens;
  alignas(64) uint8_t wb[R][kRepackCols];
  alignas(64) float ws[R][kRepackCols / kQuantGroup];
  __m512 facc[R][NV];
  for (size_t i = 0; i < R; ++i)
    for (size_t v = 0; v < NV; ++v) facc[i][v] = _mm512_setzero_ps();
  for (size_t c0 = 0; c0 < pc; c0 += kRepackCols) {
    const size_t count = pc - c0 < kRepackCols ? pc - c0 : kRepackCols;
    repack<R>(w, r, c0, count, wb, ws);
    for (size_t g = 0; g < count / kQuantGroup; ++g) {
      const size_t G = c0 / kQuantGroup + g;
      __m512i iacc[R][NV];
      for (size_t v = 0; v < NV; ++v) {
        const int32_t* corr = x.corr + ((p0 + v) * groups + G) * kPanelTokens;
        for (size_t i = 0; i < R; ++i) iacc[i][v] = _mm512_loadu_si512(corr);
      }
      for (size_t k = 0; k < kQuantGroup / 4; ++k) {
        __m512i wv[R];
        for (size_t i = 0; i < R; ++i)
          wv[i] = _mm512_set1_epi32(*reinterpret_cast<const int32_t*>(&wb[i][g * kQuantGroup + k * 4]));
        for (size_t v = 0; v < NV; ++v) {
          const __m512i xv = _mm512_loadu_si512(x.q + ((p0 + v) * quads + G * 8 + k) * kPanelTokens * 4);
          for (size_t i = 0; i < R; ++i) iacc[i][v] = _mm512_dpbusd_epi32(iacc[i][v], wv[i], xv);
        }
      }
      for (size_t v = 0; v < NV; ++v) {
        const __m512 dx = _mm512_loadu_ps(x.d + ((p0 + v) * groups + G) * kPanelTokens);
        for (size_t i = 0; i < R; ++i)
          facc[i][v] =
              _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[i][v]), _mm512_mul_ps(_mm512_set1_ps(ws[i][g]), dx), facc[i][v]);
      }
    }
  }
  alignas(64) float out[R][NV * kPanelTokens];
  for (size_t i = 0; i < R; ++i)
    for (size_t v = 0; v < NV; ++v) _mm512_store_ps(&out[i][v * kPanelTokens], facc[i][v]);
  const size_t tokens = n - t0 < NV * kPanelTokens ? n - t0 : NV * kPanelTokens;
  for (size_t i = 0; i < R; ++i) {
    const float b = bias ? bias[r + i] : 0.0f;
    for (size_t j = 0; j < tokens; ++j) y[(t0 + j) * y_stride + r + i] = out[i][j] + b;
  }
}

using TileFn = void (*)(const QuantMatrix&, const QuantPanels&, size_t, size_t, size_t, const float*, float*, size_t);

template <size_t R, size_t NV = kVecs>
TileFn tile_for(size_t nv) {
  if constexpr (NV == 1) {
    return quant_tile<R, 1>;
  } else {
    return nv == NV ? quant_tile<R, NV> : tile_for<R, NV - 1>(nv);
  }
}

template <size_t R = kRows>
TileFn tile_for(size_t rows, size_t nv) {
  if constexpr (R == 1) {
    return tile_for<1>(nv);
  } else {
    return rows == R ? tile_for<R>(nv) : tile_for<R - 1>(rows, nv);
  }
}

}  // namespace

void gemm_quant_panels_vnni(const QuantMatrix& w, const QuantPanels& x, size_t n, size_t r0, size_t r1,
                            const float* bias, float* y, size_t y_stride) {
  constexpr size_t kGroup = kVecs * kPanelTokens;
  for (size_t t0 = 0; t0 < n; t0 += kGroup) {
    const size_t left = n - t0, nv = left >= kGroup ? kVecs : (left + kPanelTokens - 1) / kPanelTokens;
    const TileFn full = tile_for(kRows, nv);
    size_t r = r0;
    for (; r + kRows <= r1; r += kRows) full(w, x, n, t0, r, bias, y, y_stride);
    if (r < r1) tile_for(r1 - r, nv)(w, x, n, t0, r, bias, y, y_stride);
  }
}

}  // namespace eidetic::cpu
