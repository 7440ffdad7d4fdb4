// Reference Mamba-1 selective scan (HF MambaMixer.slow_forward), one token at a
// time, one channel at a time.
#include <cmath>

#include "backends/cpu/kernels/kernels_ref.h"

namespace eidetic::cpu {

void selective_scan_ref(const SelectiveScanArgs& p) {
  for (size_t t = 0; t < p.n_tokens; ++t) {
    const float* b = p.b + t * p.b_stride;
    const float* c = p.c + t * p.c_stride;
    for (size_t d = 0; d < p.d_inner; ++d) {
      const float x = p.x[t * p.x_stride + d];
      const float dt = p.dt[t * p.dt_stride + d];
      const float z = p.z[t * p.z_stride + d];
      const float* a = p.a + d * p.d_state;
      float* s = p.state + d * p.d_state;
      float acc = 0.0f;
      for (size_t n = 0; n < p.d_state; ++n) {
        s[n] = std::exp(dt * a[n]) * s[n] + dt * x * b[n];
        acc += s[n] * c[n];
      }
      const float silu_z = z / (1.0f + std::exp(-z));
      p.y[t * p.y_stride + d] = (acc + p.d[d] * x) * silu_z;
    }
  }
}

}  // namespace eidetic::cpu
