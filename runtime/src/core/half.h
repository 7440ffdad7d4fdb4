// IEEE half and bfloat16 conversions, portable and exact (round to nearest
// even on narrowing). Used by the converter and the portable kernels.
#pragma once

#include <cstdint>
#include <cstring>

namespace eidetic {

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000 | (mant << 13));
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    const float f = float(mant) * 5.9604644775390625e-8f;
    return sign ? -f : f;
  }
  return bits_to_float(sign | (exp + 112) << 23 | mant << 13);
}

inline float bf16_to_f32(uint16_t h) { return bits_to_float(uint32_t(h) << 16); }

inline uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0);  // inf / nan
  if (abs >= 0x477ff000) return sign | 0x7c00;                                   // rounds past the largest half: inf
  if (abs < 0x38800000) {                                                        // result is subnormal or zero
    const uint32_t shift = 126 - (abs >> 23);
    if (shift > 24) return sign;
    const uint32_t mant = (abs & 0x7fffff) | 0x800000, half = 1u << (shift - 1);
    uint32_t v = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    if (rem > half || (rem == half && (v & 1))) ++v;
    return sign | uint16_t(v);
  }
  uint32_t v = (abs >> 13) - (112u << 10);
  const uint32_t rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (v & 1))) ++v;
  return sign | uint16_t(v);
}

}  // namespace eidetic
