// Reference forms of the quantized prompt products on token panels
// (kernels.h: pack_quant_panels, gemm_quant_panels). The weights enter as
// unsigned bytes (Q8 offset by 128, Q4 the stored nibbles), the activations as
// signed ones, and each group's integer sum starts from the panel's corr, which
// takes the offset out again: sum (w + zero) q - zero sum q = sum w q, exact.
// The f32 part adds the groups in order, float(isum) * (d_w * d_x) per group.
#include "backends/cpu/kernels/kernels_ref.h"
#include "runtime/src/core/half.h"

namespace eidetic::cpu {

void pack_quant_panels_ref(QuantType type, const QuantActs& x, size_t n, size_t padded_cols, const QuantPanels& out) {
  const size_t groups = padded_cols / kQuantGroup, quads = padded_cols / 4;
  const int32_t zero = type == QuantType::kQ8 ? 128 : 8;
  for (size_t t0 = 0; t0 < n; t0 += kPanelTokens) {
    const size_t p = t0 / kPanelTokens;
    for (size_t j = 0; j < kPanelTokens; ++j) {
      const size_t t = t0 + j;
      const int8_t* q = x.q + t * padded_cols;
      for (size_t k = 0; k < quads; ++k)
        for (size_t b = 0; b < 4; ++b) out.q[((p * quads + k) * kPanelTokens + j) * 4 + b] = t < n ? q[k * 4 + b] : 0;
      for (size_t g = 0; g < groups; ++g) {
        int32_t sum = 0;
        for (size_t i = 0; t < n && i < kQuantGroup; ++i) sum += q[g * kQuantGroup + i];
        out.d[(p * groups + g) * kPanelTokens + j] = t < n ? x.d[t * groups + g] : 0.0f;
        out.corr[(p * groups + g) * kPanelTokens + j] = -zero * sum;
      }
    }
  }
}

void gemm_quant_panels_ref(const QuantMatrix& w, const QuantPanels& x, size_t n, size_t r0, size_t r1,
                           const float* bias, float* y, size_t y_stride) {
  const size_t pc = w.padded_cols, groups = pc / kQuantGroup, quads = pc / 4;
  for (size_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + r * w.row_bytes();
    for (size_t t = 0; t < n; ++t) {
      const size_t p = t / kPanelTokens, j = t % kPanelTokens;
      float acc = 0.0f;
      for (size_t g = 0; g < groups; ++g) {
        const size_t at = (p * groups + g) * kPanelTokens + j;
        int32_t isum = x.corr[at];
        for (size_t c = g * kQuantGroup; c < (g + 1) * kQuantGroup; ++c) {
          const int32_t wu = w.type == QuantType::kQ8 ? int32_t(row[c] ^ 0x80)
                             : c % 2                  ? row[c / 2] >> 4
                                                      : row[c / 2] & 15;
          isum += wu * x.q[((p * quads + c / 4) * kPanelTokens + j) * 4 + c % 4];
        }
        acc += float(isum) * (f16_to_f32(w.scales[r * groups + g]) * x.d[at]);
      }
      y[t * y_stride + r] = acc + (bias ? bias[r] : 0.0f);
    }
  }
}

}  // namespace eidetic::cpu
