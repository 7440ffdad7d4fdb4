// Vector expf on NEON, inline: the same algorithm and constants as
// exp_avx2.h (which explains them), so both forms round alike: about 1 ulp over
// the whole float range, subnormal results included; exp(-inf) = 0,
// exp(+inf) = inf, exp(NaN) = NaN. aarch64 only.
#pragma once

#include <arm_neon.h>

namespace eidetic::cpu {

static inline float32x4_t exp_f32x4(float32x4_t x) {
  // FMIN / FMAX pass a NaN in x through.
  x = vmaxq_f32(vdupq_n_f32(-104.0f), vminq_f32(vdupq_n_f32(89.0f), x));
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  const float32x4_t nm = vfmaq_f32(magic, x, vdupq_n_f32(1.44269504088896341f));
  const float32x4_t n = vsubq_f32(nm, magic);
  const int32x4_t ni = vsubq_s32(vreinterpretq_s32_f32(nm), vreinterpretq_s32_f32(magic));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f));  // ln2 high bits
  r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187045e-6f));        // ln2 low bits
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  const int32x4_t n1 = vshrq_n_s32(ni, 1);
  const int32x4_t n2 = vsubq_s32(ni, n1);
  const float32x4_t pn1 = vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), vshlq_n_s32(n1, 23)));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, vdupq_n_s32(127)), 23));
  return vmulq_f32(pn1, s2);
}

}  // namespace eidetic::cpu
