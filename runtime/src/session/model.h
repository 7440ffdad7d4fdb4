// A loaded model: the verified file, its tokenizer, and the backend executor
// prepared for it. Sessions are created from a Model and must not outlive it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backends/backend.h"
#include "runtime/src/model/model_file.h"
#include "runtime/src/model/state_layout.h"
#include "runtime/src/tokenizer/tokenizer.h"

namespace eidetic {

struct LoadOptions {
  std::string backend = "cpu";
  BackendOptions backend_options;
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> load(const std::string& path, const LoadOptions& options);

  const ModelFile& file() const { return *file_; }
  Executor& executor() { return *executor_; }
  const StateLayout& state_layout() const { return layout_; }
  // Null when the file carries no tokenizer.
  const Tokenizer* tokenizer() const { return tokenizer_ ? &*tokenizer_ : nullptr; }
  uint32_t vocab_size() const { return file_->model().vocab_size(); }
  int32_t bos_id() const;
  int32_t eos_id() const;

 private:
  std::unique_ptr<ModelFile> file_;
  std::optional<Tokenizer> tokenizer_;
  StateLayout layout_;
  std::unique_ptr<Executor> executor_;
};

// Rebuild the tokenizer data stored in a model file.
TokenizerData read_tokenizer_data(const fb::Tokenizer& t);

}  // namespace eidetic
