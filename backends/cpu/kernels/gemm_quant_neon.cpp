// NEON quantized products on baseline Armv8 Advanced SIMD (no SDOT): int8
// products widened to int16 (SMULL / SMLAL2: two products of at most
// 128 * 127 each fit), then added in pairs into int32 lanes (SADDLP / SADALP).
// Also the activations' quantization, byte for byte the reference's.
#include <arm_neon.h>
#include <string.h>

#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/neon_f32x4.h"

namespace eidetic::cpu {
namespace {

inline int32x4_t dot32(int8x16_t wa, int8x16_t wb, int8x16_t xa, int8x16_t xb) {
  const int16x8_t pa = vmlal_high_s8(vmull_s8(vget_low_s8(wa), vget_low_s8(xa)), wa, xa);
  const int16x8_t pb = vmlal_high_s8(vmull_s8(vget_low_s8(wb), vget_low_s8(xb)), wb, xb);
  return vpadalq_s16(vpaddlq_s16(pa), pb);
}

#include "backends/cpu/kernels/gemm_quant_neon.inc"

}  // namespace

// As quantize_acts_ref, operation for operation where it matters (the same
// bytes for finite x): the same max, the same scalar scale and inverse,
// x * inverse rounded to nearest even (FRINTN), clamped, and the group sum
// added exactly (integers).
void quantize_acts_neon(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                        const QuantActs& out) {
  const size_t groups = padded_cols / kQuantGroup;
  const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
  for (size_t t = 0; t < n; ++t) {
    const float* xr = x + t * x_stride;
    int8_t* q = out.q + t * padded_cols;
    for (size_t g = 0; g < groups; ++g) {
      const size_t c0 = g * kQuantGroup;
      const size_t len = cols > c0 ? (cols - c0 < kQuantGroup ? cols - c0 : kQuantGroup) : 0;
      float32x4_t v[8];
      float32x4_t m = vdupq_n_f32(0.0f);
      for (int k = 0; k < 8; ++k) {
        const size_t have = len > 4u * k ? len - 4 * k : 0;  // columns of x left from here
        v[k] = NeonF32x4::load_first(xr + c0 + 4 * k, have < 4 ? have : 4);
        m = vmaxnmq_f32(m, vabsq_f32(v[k]));  // FMAXNM skips a NaN, as fmax does
      }
      const float amax = vmaxnmvq_f32(m);
      const float id = amax >= kMinActScale ? 127.0f / amax : 0.0f;
      int32x4_t sum = vdupq_n_s32(0);
      int16x8_t h[4];
      for (int k = 0; k < 8; k += 2) {
        // FMAXNM / FMINNM return the number for a NaN, as fmax and fmin do.
        int32x4_t qi[2];
        for (int e = 0; e < 2; ++e) {
          const float32x4_t r = vrndnq_f32(vmulq_n_f32(v[k + e], id));
          qi[e] = vcvtq_s32_f32(vminnmq_f32(vmaxnmq_f32(r, lo), hi));
          sum = vaddq_s32(sum, qi[e]);
        }
        h[k / 2] = vcombine_s16(vmovn_s32(qi[0]), vmovn_s32(qi[1]));
      }
      int8x16_t b0 = vcombine_s8(vmovn_s16(h[0]), vmovn_s16(h[1]));
      int8x16_t b1 = vcombine_s8(vmovn_s16(h[2]), vmovn_s16(h[3]));
      if (type == QuantType::kQ4) {  // evens first, then odds (the nibble order of the weights)
        const int8x16_t e = vuzp1q_s8(b0, b1), o = vuzp2q_s8(b0, b1);
        b0 = e;
        b1 = o;
      }
      vst1q_s8(q + c0, b0);
      vst1q_s8(q + c0 + 16, b1);
      const float d = amax / 127.0f;
      out.d[t * groups + g] = d;
      if (out.corr) out.corr[t * groups + g] = 8.0f * d * float(vaddvq_s32(sum));
    }
  }
}

void gemm_quant_neon(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                     float* y, size_t y_stride) {
  run_quant_gemm(w, x, n, r0, r1, bias, y, y_stride);
}

}  // namespace eidetic::cpu
