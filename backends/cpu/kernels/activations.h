// Scalar activations shared by the CPU blocks.
#pragma once

#include <cmath>

namespace eidetic::cpu {

// log(1 + e^v), exact for large v where e^v would overflow (as PyTorch's threshold of 20).
inline float softplus(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }

}  // namespace eidetic::cpu
