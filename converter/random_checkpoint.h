// Random-weight Hugging Face checkpoints with the exact shapes of released
// Mamba and Mamba-2 models, so that benchmarks need no download.
//
// write_random_checkpoint() writes DIR/config.json (the keys and layout that
// transformers 5.17's save_pretrained writes for MambaConfig / Mamba2Config,
// with the real models' values), DIR/generation_config.json and
// DIR/model.safetensors. Tensors are generated and written one at a time in
// small pieces, so a 2.8B-parameter f32 checkpoint (11 GB) never sits in
// memory. No tokenizer.json is written: the converted model has no tokenizer,
// which eidetic-bench does not need.
//
// The values are random but of a sensible scale, so activations stay finite
// through the whole stack: matrices and the embedding ~ normal(0, 0.02), conv
// weights and biases ~ uniform(-0.5, 0.5) (PyTorch's default for 4 taps),
// A_log = log(uniform(1, 16)), D = 1, dt bias = softplus⁻¹(dt) with dt
// log-uniform in [0.001, 0.1], norm weights = 1. The same seed gives the same
// bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/src/core/status.h"

namespace eidetic::convert {

struct RandomShape {
  std::string name;        // "mamba-130m", "mamba2-2.7b", ...
  std::string model_type;  // "mamba" or "mamba2"
  uint32_t hidden = 0, layers = 0, vocab = 0, d_state = 0;
  uint32_t expand = 2, conv_kernel = 4;
  uint32_t head_dim = 0, n_groups = 1, chunk_size = 256;  // mamba2 only
  uint32_t d_inner() const { return expand * hidden; }
  uint32_t dt_rank() const { return (hidden + 15) / 16; }
  uint32_t num_heads() const { return head_dim ? d_inner() / head_dim : 0; }
};

// The shapes of state-spaces/mamba-{130m,370m,790m,1.4b,2.8b}(-hf) and
// state-spaces/mamba2-{130m,370m,780m,1.3b,2.7b}.
const std::vector<RandomShape>& known_shapes();
// Shape names, comma-separated, for help texts and errors.
std::string known_shape_names();

enum class RandomDType { kF32, kF16, kBF16 };

struct RandomCheckpointOptions {
  std::string shape;       // one of known_shapes()
  std::string output_dir;  // created if missing
  uint64_t seed = 0;
  RandomDType dtype = RandomDType::kF32;
  uint32_t layers = 0;    // 0 = the real count; otherwise fewer layers (tests)
  uint32_t vocab = 0;     // 0 = the real vocabulary size; otherwise this (tests)
  bool progress = false;  // one line per 10% on stderr
};

// Total bytes of model.safetensors' tensor data for these options.
Result<uint64_t> random_checkpoint_bytes(const RandomCheckpointOptions& options);

Status write_random_checkpoint(const RandomCheckpointOptions& options);

}  // namespace eidetic::convert
