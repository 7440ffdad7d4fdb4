// NEON form of ssd_chunked: the body is ssd_chunked_simd.inc on 4-wide
// vectors. NEON has no masked loads: a tail's lanes go through a small buffer
// (the mask is the count of valid lanes).
#include <arm_neon.h>
#include <math.h>

#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/neon_f32x4.h"
#include "backends/cpu/kernels/ssd_chunked_layout.h"

namespace eidetic::cpu {
namespace {

inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

struct V : NeonF32x4 {
  using mask = size_t;
  static reg maskload(const float* p, mask m) { return load_first(p, m); }
  static void maskstore(float* p, mask m, reg v) { store_first(p, v, m); }
  static reg mul(reg a, reg b) { return vmulq_f32(a, b); }
  static mask tail_mask(size_t count) { return count < kWidth ? count : kWidth; }
};

#include "backends/cpu/kernels/ssd_chunked_simd.inc"

}  // namespace

void ssd_chunked_neon(const SsdScanArgs& p, size_t chunk, float* scratch, pthreadpool_t pool) {
  run_chunked(p, chunk, scratch, pool);
}

}  // namespace eidetic::cpu
