// Reference Mamba-2 recurrence (HF Mamba2Mixer's single-step path applied token
// by token). The decay exp(dt*a) is one scalar per head and token.
#include <cmath>

#include "backends/cpu/kernels/kernels_ref.h"

namespace eidetic::cpu {

void ssd_scan_ref(const SsdScanArgs& p) {
  const size_t heads_per_group = p.n_heads / p.n_groups;
  for (size_t t = 0; t < p.n_tokens; ++t) {
    for (size_t h = 0; h < p.n_heads; ++h) {
      const size_t g = h / heads_per_group;
      const float* b = p.b + t * p.b_stride + g * p.d_state;
      const float* c = p.c + t * p.c_stride + g * p.d_state;
      const float dt = p.dt[t * p.dt_stride + h];
      const float decay = std::exp(dt * p.a[h]);
      for (size_t i = 0; i < p.head_dim; ++i) {
        const float x = p.x[t * p.x_stride + h * p.head_dim + i];
        float* s = p.state + (h * p.head_dim + i) * p.d_state;
        float acc = 0.0f;
        for (size_t n = 0; n < p.d_state; ++n) {
          s[n] = decay * s[n] + dt * x * b[n];
          acc += s[n] * c[n];
        }
        p.y[t * p.y_stride + h * p.head_dim + i] = acc + p.d[h] * x;
      }
    }
  }
}

}  // namespace eidetic::cpu
