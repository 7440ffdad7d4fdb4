// NEON quantized products with SDOT (Armv8.2 FEAT_DotProd; this file is
// compiled with +dotprod and chosen at run time): each instruction adds four
// int8 products into each int32 lane, two per group of 32.
#include <arm_neon.h>
#include <string.h>

#include "backends/cpu/kernels/kernels_neon.h"

namespace eidetic::cpu {
namespace {

inline int32x4_t dot32(int8x16_t wa, int8x16_t wb, int8x16_t xa, int8x16_t xb) {
  return vdotq_s32(vdotq_s32(vdupq_n_s32(0), wa, xa), wb, xb);
}

#include "backends/cpu/kernels/gemm_quant_neon.inc"

}  // namespace

void gemm_quant_dotprod(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                        float* y, size_t y_stride) {
  run_quant_gemm(w, x, n, r0, r1, bias, y, y_stride);
}

}  // namespace eidetic::cpu
