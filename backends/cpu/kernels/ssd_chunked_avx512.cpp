// AVX-512F form of ssd_chunked: the body is ssd_chunked_simd.inc on 16-wide
// vectors, twice the work per instruction of the AVX2 form.
#include <math.h>

#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/ssd_chunked_layout.h"

namespace eidetic::cpu {
namespace {

struct V {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr size_t kWidth = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float v) { return _mm512_set1_ps(v); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg maskload(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void maskstore(float* p, mask m, reg v) { _mm512_mask_storeu_ps(p, m, v); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static mask tail_mask(size_t count) { return count >= 16 ? mask(0xffff) : mask((1u << count) - 1u); }
};

#include "backends/cpu/kernels/ssd_chunked_simd.inc"

}  // namespace

void ssd_chunked_avx512(const SsdScanArgs& p, size_t chunk, float* scratch, pthreadpool_t pool) {
  run_chunked(p, chunk, scratch, pool);
}

}  // namespace eidetic::cpu
