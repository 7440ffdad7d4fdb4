// Writes a .eid model file: tensors stream into a temporary weight segment as
// they are added (so checkpoints larger than memory convert), then the header,
// the flatbuffer and the segment are assembled and renamed into place, so a
// failed conversion never leaves a half-written model behind.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "model_file_generated.h"
#include "runtime/src/core/status.h"
#include "runtime/src/tokenizer/tokenizer_data.h"

namespace eidetic::convert {

struct ModelInfo {
  std::string architecture;
  std::string source_config;
  uint32_t hidden_size = 0;
  uint32_t vocab_size = 0;
};

class ModelWriter {
 public:
  explicit ModelWriter(std::string out_path);
  ~ModelWriter();
  ModelWriter(const ModelWriter&) = delete;
  ModelWriter& operator=(const ModelWriter&) = delete;

  Status open();
  flatbuffers::FlatBufferBuilder& builder() { return fbb_; }

  // Store f32 values as `dtype` (F32, F16, or Q8 / Q4 quantized along the last
  // dimension: converter/quantize.h); returns the tensor's index.
  Result<int> add_tensor(const std::string& name, const std::vector<uint64_t>& shape, const std::vector<float>& values,
                         fb::DType dtype);
  void add_block(flatbuffers::Offset<fb::Block> block) { blocks_.push_back(block); }
  void set_tokenizer(const TokenizerData& tokenizer);

  // Assemble the file and move it to out_path.
  Status finish(const ModelInfo& info);

  uint64_t data_bytes() const { return data_size_; }

 private:
  Status append(const void* bytes, size_t n);
  std::string out_path_, data_path_;
  std::FILE* data_ = nullptr;
  uint64_t data_size_ = 0;
  uint64_t fingerprint_;
  flatbuffers::FlatBufferBuilder fbb_{1 << 16};
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors_;
  std::vector<flatbuffers::Offset<fb::Block>> blocks_;
  flatbuffers::Offset<fb::Tokenizer> tokenizer_;
};

}  // namespace eidetic::convert
