// Weight element types and the byte size of a tensor stored in each.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model_file_generated.h"

namespace eidetic {

using fb::DType;

const char* dtype_name(DType t);

// Bytes of one element for the plain types; 0 for the quantized ones, whose
// size depends on their grouping (see quantized_payload_size).
size_t dtype_element_size(DType t);

// Payload bytes of a [rows, padded_cols] quantized matrix (scales excluded).
uint64_t quantized_payload_size(DType t, uint64_t rows, uint64_t padded_cols);

}  // namespace eidetic
