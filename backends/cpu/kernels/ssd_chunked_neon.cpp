// NEON form of ssd_chunked: the body is ssd_chunked_simd.inc on 4-wide
// vectors. NEON has no masked loads: a tail's lanes go through a small buffer
// (the mask is the count of valid lanes).
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/ssd_chunked_layout.h"

namespace eidetic::cpu {
namespace {

inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

struct V {
  using reg = float32x4_t;
  using mask = size_t;
  static constexpr size_t kWidth = 4;
  static reg zero() { return vdupq_n_f32(0.0f); }
  static reg set1(float v) { return vdupq_n_f32(v); }
  static reg load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, reg v) { vst1q_f32(p, v); }
  static reg maskload(const float* p, mask m) {
    float tmp[4] = {0, 0, 0, 0};
    memcpy(tmp, p, m * sizeof(float));
    return vld1q_f32(tmp);
  }
  static void maskstore(float* p, mask m, reg v) {
    float tmp[4];
    vst1q_f32(tmp, v);
    memcpy(p, tmp, m * sizeof(float));
  }
  static reg mul(reg a, reg b) { return vmulq_f32(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }
  static mask tail_mask(size_t count) { return count < kWidth ? count : kWidth; }
};

#include "backends/cpu/kernels/ssd_chunked_simd.inc"

}  // namespace

void ssd_chunked_neon(const SsdScanArgs& p, size_t chunk, float* scratch, pthreadpool_t pool) {
  run_chunked(p, chunk, scratch, pool);
}

}  // namespace eidetic::cpu
