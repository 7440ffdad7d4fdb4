// Weight quantization for the model file's Q8 and Q4 types (schemas/model_file.fbs).
//
// A [rows, cols] matrix is cut along each row into groups of kQuantGroup (32)
// columns; a row is zero-padded to padded_cols = cols rounded up to a whole
// group, so every shape quantizes (Mamba-130M's dt_proj has 48 columns, a
// dt_rank of 4 gives a single, mostly padded group). Each group has one f16
// scale d; the stored integers q give the values q * d, and each value is
// stored as the nearest of its group's levels for d as stored (after rounding
// to f16).
//   Q8: q in [-127, 127], d = max|x| / 127: no value is clipped, each within
//       half a step (|d| / 2) of its source.
//   Q4: q in [-8, 7], stored as the nibble q + 8, two per byte, element 2k in
//       the low nibble of byte k and 2k+1 in the high one. d is chosen for the
//       least squared error of the group (llama.cpp's make_qx_quants search
//       around q4_0's d = extreme / -8), so the extremes may be clipped to the
//       end levels; no worse than q4_0's scale, up to the f16 rounding of d.
//       Demo model (fortune-mamba2), held-out perplexity: +6.3% of f32 with
//       the search, +10.2% with q4_0's scale.
// A group whose scale underflows f16 (max|x| below about 4e-6 for Q8) stores zeros.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model_file_generated.h"

namespace eidetic::convert {

constexpr size_t kQuantGroup = 32;

inline uint64_t quant_padded_cols(uint64_t cols) { return (cols + kQuantGroup - 1) / kQuantGroup * kQuantGroup; }

struct QuantizedMatrix {
  uint64_t padded_cols = 0;
  std::vector<uint8_t> payload;  // Q8: rows x padded_cols int8; Q4: rows x padded_cols/2 bytes
  std::vector<uint16_t> scales;  // f16, rows x padded_cols/32
};

// type is Q8 or Q4; values are [rows, cols] row-major.
QuantizedMatrix quantize_matrix(fb::DType type, const float* values, uint64_t rows, uint64_t cols);

}  // namespace eidetic::convert
