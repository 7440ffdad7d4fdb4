// NEON softplus: softplus_avx2.cpp's algorithm and constants (which it
// explains), so both forms round alike: log1p(e^x) as log(u) * e / (u - 1)
// with e = e^x and u = 1 + e, e itself where u rounds to 1, x itself above 20.
#include <arm_neon.h>

#include "backends/cpu/kernels/exp_neon.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/neon_f32x4.h"

namespace eidetic::cpu {
namespace {

// log(x) for finite x >= 1 (Cephes' logf, as log256_ge1_ps).
float32x4_t log_ge1_f32x4(float32x4_t x) {
  const int32x4_t bits = vreinterpretq_s32_f32(x);
  float32x4_t k = vcvtq_f32_s32(vsubq_s32(vshrq_n_s32(bits, 23), vdupq_n_s32(127)));
  float32x4_t m = vreinterpretq_f32_s32(vorrq_s32(vandq_s32(bits, vdupq_n_s32(0x007fffff)), vdupq_n_s32(0x3f800000)));
  const uint32x4_t big = vcgeq_f32(m, vdupq_n_f32(1.41421356f));
  m = vbslq_f32(big, vmulq_f32(m, vdupq_n_f32(0.5f)), m);
  k = vaddq_f32(k, vbslq_f32(big, vdupq_n_f32(1.0f), vdupq_n_f32(0.0f)));
  const float32x4_t f = vsubq_f32(m, vdupq_n_f32(1.0f));
  const float32x4_t z = vmulq_f32(f, f);
  float32x4_t p = vdupq_n_f32(7.0376836292e-2f);
  p = vfmaq_f32(vdupq_n_f32(-1.1514610310e-1f), p, f);
  p = vfmaq_f32(vdupq_n_f32(1.1676998740e-1f), p, f);
  p = vfmaq_f32(vdupq_n_f32(-1.2420140846e-1f), p, f);
  p = vfmaq_f32(vdupq_n_f32(1.4249322787e-1f), p, f);
  p = vfmaq_f32(vdupq_n_f32(-1.6668057665e-1f), p, f);
  p = vfmaq_f32(vdupq_n_f32(2.0000714765e-1f), p, f);
  p = vfmaq_f32(vdupq_n_f32(-2.4999993993e-1f), p, f);
  p = vfmaq_f32(vdupq_n_f32(3.3333331174e-1f), p, f);
  p = vmulq_f32(vmulq_f32(p, f), z);
  p = vfmaq_f32(p, k, vdupq_n_f32(-2.12194440e-4f));
  p = vfmsq_f32(p, z, vdupq_n_f32(0.5f));
  return vfmaq_f32(vaddq_f32(f, p), k, vdupq_n_f32(0.693359375f));
}

float32x4_t softplus_f32x4(float32x4_t x) {
  const float32x4_t e = exp_f32x4(x);
  const float32x4_t u = vaddq_f32(vdupq_n_f32(1.0f), e);
  const float32x4_t d = vsubq_f32(u, vdupq_n_f32(1.0f));
  const float32x4_t r = vmulq_f32(log_ge1_f32x4(u), vdivq_f32(e, d));
  const uint32x4_t small = vceqq_f32(d, vdupq_n_f32(0.0f));  // u rounded to 1
  const uint32x4_t large = vcgtq_f32(x, vdupq_n_f32(20.0f));
  return vbslq_f32(large, x, vbslq_f32(small, e, r));
}

}  // namespace

void softplus_neon(const float* x, size_t n, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, softplus_f32x4(vld1q_f32(x + i)));
  if (i < n) NeonF32x4::store_first(y + i, softplus_f32x4(NeonF32x4::load_first(x + i, n - i)), n - i);
}

}  // namespace eidetic::cpu
