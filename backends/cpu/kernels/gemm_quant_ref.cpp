// Reference quantized products (kernels.h): activation quantization, the
// Q8 / Q4 weight products and row dequantization, written for clarity. Each
// group's dot product is an exact integer sum; the f32 part adds the groups in
// order, d_w * (d_x * isum - corr) per group. The SIMD forms add the same
// integers in another order of f32 additions.
#include <cmath>

#include "backends/cpu/kernels/kernels_ref.h"
#include "runtime/src/core/half.h"

namespace eidetic::cpu {

void quantize_acts_ref(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                       const QuantActs& out) {
  const size_t groups = padded_cols / kQuantGroup;
  for (size_t t = 0; t < n; ++t) {
    const float* xr = x + t * x_stride;
    int8_t* q = out.q + t * padded_cols;
    for (size_t g = 0; g < groups; ++g) {
      const size_t c0 = g * kQuantGroup;
      const size_t len = cols > c0 ? (cols - c0 < kQuantGroup ? cols - c0 : kQuantGroup) : 0;
      float amax = 0.0f;
      for (size_t i = 0; i < len; ++i) amax = std::fmax(amax, std::fabs(xr[c0 + i]));
      const float id = amax >= kMinActScale ? 127.0f / amax : 0.0f;
      int sum = 0;
      for (size_t i = 0; i < kQuantGroup; ++i) {
        // fmax/fmin also send a NaN (or inf * 0) to a finite integer.
        const float v = i < len ? std::nearbyint(xr[c0 + i] * id) : 0.0f;
        const int8_t qi = int8_t(std::fmin(127.0f, std::fmax(-127.0f, v)));
        // Q4: evens first, then odds (the nibble order of the weights).
        const size_t pos = type == QuantType::kQ8 ? i : (i % 2 ? kQuantGroup / 2 + i / 2 : i / 2);
        q[c0 + pos] = qi;
        sum += qi;
      }
      const float d = amax / 127.0f;
      out.d[t * groups + g] = d;
      if (out.corr) out.corr[t * groups + g] = 8.0f * d * float(sum);
    }
  }
}

void gemm_quant_ref(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                    float* y, size_t y_stride) {
  const size_t groups = w.padded_cols / kQuantGroup;
  const bool q4 = w.type == QuantType::kQ4;
  for (size_t t = 0; t < n; ++t) {
    const int8_t* xq = x.q + t * w.padded_cols;
    const float* xd = x.d + t * groups;
    for (size_t r = r0; r < r1; ++r) {
      const uint8_t* row = w.data + r * w.row_bytes();
      const uint16_t* wd = w.scales + r * groups;
      float acc = 0.0f;
      for (size_t g = 0; g < groups; ++g) {
        const int8_t* xg = xq + g * kQuantGroup;
        int32_t isum = 0;
        if (q4) {
          const uint8_t* b = row + g * kQuantGroup / 2;
          for (size_t k = 0; k < kQuantGroup / 2; ++k)
            isum += int32_t(b[k] & 15) * xg[k] + int32_t(b[k] >> 4) * xg[kQuantGroup / 2 + k];
          acc += f16_to_f32(wd[g]) * (xd[g] * float(isum) - x.corr[t * groups + g]);
        } else {
          const auto* b = reinterpret_cast<const int8_t*>(row) + g * kQuantGroup;
          for (size_t k = 0; k < kQuantGroup; ++k) isum += int32_t(b[k]) * xg[k];
          acc += f16_to_f32(wd[g]) * (xd[g] * float(isum));
        }
      }
      y[t * y_stride + r] = acc + (bias ? bias[r] : 0.0f);
    }
  }
}

void dequantize_row(const QuantMatrix& w, size_t r, size_t cols, float* out) {
  const uint8_t* row = w.data + r * w.row_bytes();
  const uint16_t* wd = w.scales + r * (w.padded_cols / kQuantGroup);
  for (size_t c = 0; c < cols; ++c) {
    const float d = f16_to_f32(wd[c / kQuantGroup]);
    int q;
    if (w.type == QuantType::kQ8) {
      q = reinterpret_cast<const int8_t*>(row)[c];
    } else {
      const uint8_t b = row[c / 2];
      q = int(c % 2 ? b >> 4 : b & 15) - 8;
    }
    out[c] = float(q) * d;
  }
}

}  // namespace eidetic::cpu
