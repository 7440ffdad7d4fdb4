// NEON Mamba-2 recurrence (decode, and prompts too short for the chunked
// form): exp(dt*a) is one scalar per head and token, so each state row is
// plain multiply-adds along d_state, S[i,:] = decay*S[i,:] + (dt*x[i])*b and
// y[i] = S[i,:].c + D*x[i], in 4-lane vectors.
#include <arm_neon.h>
#include <math.h>

#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/neon_f32x4.h"

namespace eidetic::cpu {
namespace {

float scan_row(float* s, const float* b, const float* c, size_t d_state, float decay, float dtx) {
  const float32x4_t dv = vdupq_n_f32(decay), xv = vdupq_n_f32(dtx);
  float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
  size_t n = 0;
  for (; n + 8 <= d_state; n += 8) {  // two sums, so that their multiply-adds overlap
    const float32x4_t s0 = vfmaq_f32(vmulq_f32(xv, vld1q_f32(b + n)), dv, vld1q_f32(s + n));
    const float32x4_t s1 = vfmaq_f32(vmulq_f32(xv, vld1q_f32(b + n + 4)), dv, vld1q_f32(s + n + 4));
    vst1q_f32(s + n, s0);
    vst1q_f32(s + n + 4, s1);
    acc0 = vfmaq_f32(acc0, s0, vld1q_f32(c + n));
    acc1 = vfmaq_f32(acc1, s1, vld1q_f32(c + n + 4));
  }
  float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; n < d_state; ++n) {
    s[n] = decay * s[n] + dtx * b[n];
    sum += s[n] * c[n];
  }
  return sum;
}

}  // namespace

void ssd_scan_neon(const SsdScanArgs& p) {
  const size_t heads_per_group = p.n_heads / p.n_groups;
  for (size_t t = 0; t < p.n_tokens; ++t) {
    for (size_t h = 0; h < p.n_heads; ++h) {
      const size_t g = h / heads_per_group;
      const float* b = p.b + t * p.b_stride + g * p.d_state;
      const float* c = p.c + t * p.c_stride + g * p.d_state;
      const float dt = p.dt[t * p.dt_stride + h];
      const float decay = expf(dt * p.a[h]);
      for (size_t i = 0; i < p.head_dim; ++i) {
        const size_t col = h * p.head_dim + i;
        const float x = p.x[t * p.x_stride + col];
        const float sum = scan_row(p.state + col * p.d_state, b, c, p.d_state, decay, dt * x);
        p.y[t * p.y_stride + col] = sum + p.d[h] * x;
      }
    }
  }
}

}  // namespace eidetic::cpu
