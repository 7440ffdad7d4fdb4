// Reference softplus (see kernels.h): PyTorch's, with its threshold of 20.
#include "backends/cpu/kernels/activations.h"
#include "backends/cpu/kernels/kernels_ref.h"

namespace eidetic::cpu {

void softplus_ref(const float* x, size_t n, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = softplus(x[i]);
}

}  // namespace eidetic::cpu
