// AVX-512 VNNI quantized products: vpdpbusd adds four unsigned x signed byte
// products into each int32 lane in one instruction, without saturation. Q4's
// nibbles are the unsigned side directly. For Q8 the activations become the
// unsigned side, x + 128 (a flip of the top bit), and each weight group's lanes
// start from -128 * (sum of its weights in that lane), so that
// sum (x + 128) w - 128 sum w = sum x w exactly; that start costs one more
// vpdpbusd per weight group, shared by all tokens of a tile. 256-bit vectors:
// the per-group scaling dominates at 512 bits, and AVX-512VL gives 32 of them.
// One token (decode) goes to gemv_quant_avx512 instead.
#include "backends/cpu/kernels/gemm_quant_x86.h"
#include "backends/cpu/kernels/kernels_avx2.h"

namespace eidetic::cpu {
namespace {

struct DotQ8 {
  static constexpr bool kQ4 = false;
  struct W {
    __m256i w, start;
  };
  static W prep(const uint8_t* p) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i sum128 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(char(0x80)), w);
    return {w, _mm256_sub_epi32(_mm256_setzero_si256(), sum128)};
  }
  static __m256i load_x(const int8_t* p) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), _mm256_set1_epi8(char(0x80)));
  }
  static __m256i dot(const W& w, __m256i x) { return _mm256_dpbusd_epi32(w.start, x, w.w); }
};

struct DotQ4 {
  static constexpr bool kQ4 = true;
  using W = __m256i;
  static W prep(const uint8_t* p) { return unpack_nibbles(p); }
  static __m256i load_x(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i dot(const W& w, __m256i x) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, x); }
  static __m256i dot_pair(const NibblePair& w, __m256i evens, __m256i odds) {
    return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), w.lo, evens), w.hi, odds);
  }
};

}  // namespace

void gemm_quant_vnni(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                     float* y, size_t y_stride) {
  if (n == 1) {
    gemv_quant_avx512(w, x, r0, r1, bias, y);
  } else {
    if (w.type == QuantType::kQ8)
      quant_gemm<DotQ8, 4, 4>(w, x, n, r0, r1, bias, y, y_stride);
    else
      quant_gemm<DotQ4, 4, 4>(w, x, n, r0, r1, bias, y, y_stride);
  }
}

}  // namespace eidetic::cpu
