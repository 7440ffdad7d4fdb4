// How one Hugging Face model_type maps onto Eidetic blocks. Each architecture
// is a function from (config, checkpoint) to blocks and tensors written through
// a ConvertContext; shared layer patterns live in stack_builder.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "converter/hf_config.h"
#include "converter/model_writer.h"
#include "converter/safetensors.h"

namespace eidetic::convert {

// Per-tensor progress for long conversions: (done, total, tensor name).
using ProgressFn = std::function<void(size_t, size_t, const std::string&)>;

class ConvertContext {
 public:
  ConvertContext(const HfConfig& config, const Checkpoint& ckpt, ModelWriter& writer, fb::DType quant,
                 ProgressFn progress);

  const HfConfig& config() const { return config_; }
  const Checkpoint& checkpoint() const { return ckpt_; }
  ModelWriter& writer() { return writer_; }
  flatbuffers::FlatBufferBuilder& fbb() { return writer_.builder(); }
  fb::DType quant() const { return quant_; }

  // A weight matrix, stored in the chosen dtype (f32 / f16 / quantized).
  Result<int> matrix(const std::string& name, std::vector<uint64_t> shape);
  // The embedding or LM head ([vocab, hidden]): like matrix(), except that
  // --quant q4 stores them q8, as llama.cpp keeps its output matrix wider
  // (demo model, held-out perplexity: +4.5% of f32 so, +6.3% all in q4).
  Result<int> vocab_matrix(const std::string& name, std::vector<uint64_t> shape);
  // A small parameter (norms, A_log, D, biases, conv weights): always f32.
  Result<int> small(const std::string& name, std::vector<uint64_t> shape);
  // Like small(), but -1 when the checkpoint lacks the tensor.
  Result<int> optional_small(const std::string& name, std::vector<uint64_t> shape);
  // Already-transformed values under a name of our choosing.
  Result<int> write(const std::string& name, std::vector<uint64_t> shape, const std::vector<float>& values,
                    fb::DType dtype);

 private:
  const HfConfig& config_;
  const Checkpoint& ckpt_;
  ModelWriter& writer_;
  fb::DType quant_;
  ProgressFn progress_;
  size_t done_ = 0;
};

struct Architecture {
  const char* model_type;  // config.json "model_type"
  const char* summary;
  std::function<Status(ConvertContext&, ModelInfo*)> convert;
};

const std::vector<Architecture>& architectures();
std::string supported_model_types();  // "mamba, falcon_mamba, mamba2"

}  // namespace eidetic::convert
