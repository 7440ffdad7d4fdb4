#include "converter/quantize.h"

#include <algorithm>
#include <cmath>

#include "runtime/src/core/half.h"

namespace eidetic::convert {
namespace {

// One group of n <= 32 values (the rest of the group is padding: zeros).
void quantize_group_q8(const float* x, size_t n, int8_t* q, uint16_t* scale) {
  float amax = 0;
  for (size_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const uint16_t h = f32_to_f16(amax / 127.0f);
  const float d = f16_to_f32(h);
  *scale = h;
  for (size_t i = 0; i < kQuantGroup; ++i) {
    const float v = i < n && d != 0 ? std::nearbyint(x[i] / d) : 0.0f;
    q[i] = int8_t(std::fmin(127.0f, std::fmax(-127.0f, v)));
  }
}

void quantize_group_q4(const float* x, size_t n, uint8_t* packed, uint16_t* scale) {
  float amax = 0, extreme = 0;  // largest magnitude, and the value that has it
  for (size_t i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
  // llama.cpp's make_qx_quants: integer assignments from 21 scales around the
  // one mapping the extreme to -8 (q4_0's choice, among them); each gets its
  // least-squares scale sum(x q) / sum(q q), and the least squared error wins.
  float d = 0;
  double best = 0;
  for (int k = -10; k <= 10 && amax > 0; ++k) {
    const float inv = -(8.0f + 0.1f * float(k)) / extreme;
    double sxq = 0, sqq = 0;
    for (size_t i = 0; i < n; ++i) {
      const float q = std::fmin(7.0f, std::fmax(-8.0f, std::nearbyint(x[i] * inv)));
      sxq += double(x[i]) * q;
      sqq += double(q) * q;
    }
    // The squared error is sum(x x) - sxq^2 / sqq: maximise sxq^2 / sqq.
    if (sqq > 0 && sxq * sxq > best * sqq) {
      best = sxq * sxq / sqq;
      d = float(sxq / sqq);
    }
  }
  const uint16_t h = f32_to_f16(d);
  d = f16_to_f32(h);
  *scale = h;
  // The nearest of the 16 levels q * d for the scale as stored.
  uint8_t nib[kQuantGroup];
  for (size_t i = 0; i < kQuantGroup; ++i) {
    const float v = i < n && d != 0 ? std::nearbyint(x[i] / d) : 0.0f;
    nib[i] = uint8_t(int(std::fmin(7.0f, std::fmax(-8.0f, v))) + 8);
  }
  for (size_t k = 0; k < kQuantGroup / 2; ++k) packed[k] = uint8_t(nib[2 * k] | nib[2 * k + 1] << 4);
}

}  // namespace

QuantizedMatrix quantize_matrix(fb::DType type, const float* values, uint64_t rows, uint64_t cols) {
  QuantizedMatrix m;
  m.padded_cols = quant_padded_cols(cols);
  const uint64_t groups = m.padded_cols / kQuantGroup;
  const uint64_t group_bytes = type == fb::DType::Q8 ? kQuantGroup : kQuantGroup / 2;
  m.payload.resize(rows * groups * group_bytes);
  m.scales.resize(rows * groups);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t g = 0; g < groups; ++g) {
      const float* x = values + r * cols + g * kQuantGroup;
      const size_t n = size_t(std::min<uint64_t>(kQuantGroup, cols - g * kQuantGroup));
      uint8_t* out = m.payload.data() + (r * groups + g) * group_bytes;
      uint16_t* s = &m.scales[r * groups + g];
      if (type == fb::DType::Q8)
        quantize_group_q8(x, n, reinterpret_cast<int8_t*>(out), s);
      else
        quantize_group_q4(x, n, out, s);
    }
  }
  return m;
}

}  // namespace eidetic::convert
