// The 4-lane f32 vector operations that the SIMD bodies (gemm_dense_simd.inc,
// ssd_chunked_simd.inc) ask of their V, on NEON: each NEON form's V derives
// from this and adds its own tiles and tails. aarch64 only.
#pragma once

#include <arm_neon.h>
#include <stddef.h>
#include <string.h>

namespace eidetic::cpu {

struct NeonF32x4 {
  using reg = float32x4_t;
  static constexpr size_t kWidth = 4;
  static reg zero() { return vdupq_n_f32(0.0f); }
  static reg set1(float v) { return vdupq_n_f32(v); }
  static reg load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, reg v) { vst1q_f32(p, v); }
  static reg fmadd(reg a, reg b, reg c) { return vfmaq_f32(c, a, b); }
  // The first `count` (<= 4) lanes from p, the rest 0: NEON has no masked load.
  static reg load_first(const float* p, size_t count) {
    if (count >= 4) return vld1q_f32(p);
    float tmp[4] = {0, 0, 0, 0};
    memcpy(tmp, p, count * sizeof(float));
    return vld1q_f32(tmp);
  }
  // The first `count` (<= 4) lanes of v to p, nothing past them.
  static void store_first(float* p, reg v, size_t count) {
    if (count >= 4) {
      vst1q_f32(p, v);
      return;
    }
    float tmp[4];
    vst1q_f32(tmp, v);
    memcpy(p, tmp, count * sizeof(float));
  }
};

}  // namespace eidetic::cpu
