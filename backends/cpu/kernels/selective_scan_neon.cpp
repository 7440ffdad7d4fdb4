// NEON Mamba-1 selective scan: as selective_scan_avx2.cpp, the vectors run
// along each channel's contiguous d_state values and exp(dt*a), one per state
// element and token and the dominant cost, is the vector exp of exp_neon.h.
// A channel's dot product s.c reduces across its lanes; D*x and the silu(z)
// gate are scalar, once per channel and token.
#include <arm_neon.h>
#include <math.h>

#include "backends/cpu/kernels/exp_neon.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/neon_f32x4.h"

namespace eidetic::cpu {
namespace {

// One channel: s = exp(dt*a)*s + dtx*b over d_state, returns sum(s*c).
float scan_channel(const float* a, float* s, const float* b, const float* c, size_t d_state, float dt, float dtx) {
  const float32x4_t dtv = vdupq_n_f32(dt), dtxv = vdupq_n_f32(dtx);
  float32x4_t acc = vdupq_n_f32(0.0f);
  size_t i = 0;
  for (; i + 4 <= d_state; i += 4) {
    const float32x4_t sv =
        vfmaq_f32(vmulq_f32(dtxv, vld1q_f32(b + i)), exp_f32x4(vmulq_f32(dtv, vld1q_f32(a + i))), vld1q_f32(s + i));
    vst1q_f32(s + i, sv);
    acc = vfmaq_f32(acc, sv, vld1q_f32(c + i));
  }
  if (i < d_state) {
    const size_t rem = d_state - i;
    const float32x4_t sv =
        vfmaq_f32(vmulq_f32(dtxv, NeonF32x4::load_first(b + i, rem)),
                  exp_f32x4(vmulq_f32(dtv, NeonF32x4::load_first(a + i, rem))), NeonF32x4::load_first(s + i, rem));
    NeonF32x4::store_first(s + i, sv, rem);
    acc = vfmaq_f32(acc, sv, NeonF32x4::load_first(c + i, rem));  // lanes past rem: s and c are 0
  }
  return vaddvq_f32(acc);
}

}  // namespace

void selective_scan_neon(const SelectiveScanArgs& p) {
  for (size_t t = 0; t < p.n_tokens; ++t) {
    const float* b = p.b + t * p.b_stride;
    const float* c = p.c + t * p.c_stride;
    for (size_t d = 0; d < p.d_inner; ++d) {
      const float x = p.x[t * p.x_stride + d], dt = p.dt[t * p.dt_stride + d], z = p.z[t * p.z_stride + d];
      const float sum = scan_channel(p.a + d * p.d_state, p.state + d * p.d_state, b, c, p.d_state, dt, dt * x);
      p.y[t * p.y_stride + d] = (sum + p.d[d] * x) * (z / (1.0f + expf(-z)));
    }
  }
}

void exp_neon(const float* x, size_t n, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, exp_f32x4(vld1q_f32(x + i)));
  for (; i < n; ++i) vst1q_lane_f32(y + i, exp_f32x4(vdupq_n_f32(x[i])), 0);
}

}  // namespace eidetic::cpu
