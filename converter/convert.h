// Checkpoint directory → model file, the whole pipeline (eidetic-convert's core).
#pragma once

#include <string>

#include "model_file_generated.h"
#include "runtime/src/core/status.h"

namespace eidetic::convert {

struct ConvertOptions {
  std::string checkpoint_dir;  // config.json, *.safetensors, optional tokenizer.json
  std::string output;
  fb::DType quant = fb::DType::F32;  // large matrices; small parameters stay f32
  bool progress = false;             // per-tensor progress on stderr
};

Status convert_checkpoint(const ConvertOptions& options);

}  // namespace eidetic::convert
