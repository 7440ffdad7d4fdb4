// Read-only access to Hugging Face safetensors checkpoints: one file, or shards
// listed by model.safetensors.index.json. Files are mmapped; every header is
// checked (offsets inside the file, size = shape × dtype) before use.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/src/core/status.h"

namespace eidetic::convert {

enum class StDType { kF32, kF16, kBF16, kOther };

struct StTensor {
  std::string name;
  std::string file;        // which shard, for error messages
  std::string dtype_name;  // as written in the header ("F32", "I64", ...)
  StDType dtype = StDType::kOther;
  std::vector<uint64_t> shape;
  const uint8_t* data = nullptr;
  uint64_t bytes = 0;
  uint64_t numel() const;
};

class MappedFile;

class Checkpoint {
 public:
  // `dir` holds model.safetensors or model.safetensors.index.json + shards.
  static Result<Checkpoint> open_dir(const std::string& dir);
  static Result<Checkpoint> open_file(const std::string& path);

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // The tensor, or an error naming the file (model.safetensors, or the index
  // of a sharded checkpoint) and the missing name.
  Result<const StTensor*> get(const std::string& name) const;
  // The tensor converted to f32, checked against the expected shape (an empty
  // expected shape accepts any). Squeezes size-1 dims to match, as HF stores
  // conv weights as [channels, 1, kernel].
  Result<std::vector<float>> load_f32(const std::string& name, const std::vector<uint64_t>& shape) const;
  const std::map<std::string, StTensor>& tensors() const { return tensors_; }
  const std::string& where() const { return where_; }

 private:
  Status add_file(const std::string& path);
  std::string where_;
  std::vector<std::shared_ptr<MappedFile>> files_;
  std::map<std::string, StTensor> tensors_;
};

}  // namespace eidetic::convert
