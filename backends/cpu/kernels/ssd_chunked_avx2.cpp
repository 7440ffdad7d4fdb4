// AVX2+FMA form of ssd_chunked: the body is ssd_chunked_simd.inc on 8-wide
// vectors.
#include <math.h>

#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/ssd_chunked_layout.h"

namespace eidetic::cpu {
namespace {

struct V {
  using reg = __m256;
  using mask = __m256i;
  static constexpr size_t kWidth = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float v) { return _mm256_set1_ps(v); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg maskload(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static void maskstore(float* p, mask m, reg v) { _mm256_maskstore_ps(p, m, v); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static mask tail_mask(size_t count) { return lane_mask(count); }
};

#include "backends/cpu/kernels/ssd_chunked_simd.inc"

}  // namespace

void ssd_chunked_avx2(const SsdScanArgs& p, size_t chunk, float* scratch, pthreadpool_t pool) {
  run_chunked(p, chunk, scratch, pool);
}

}  // namespace eidetic::cpu
