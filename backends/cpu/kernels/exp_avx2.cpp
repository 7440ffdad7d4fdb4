// Array form of exp256_ps, for tests that measure it against std::exp.
#include "backends/cpu/kernels/exp_avx2.h"

#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {

void exp_avx2(const float* x, size_t n, float* y) {
  for (size_t i = 0; i < n; i += 8) {
    const __m256i m = lane_mask(n - i);
    _mm256_maskstore_ps(y + i, m, exp256_ps(_mm256_maskload_ps(x + i, m)));
  }
}

}  // namespace eidetic::cpu
