// A model file mapped into memory and verified before anything reads it.
//
// open() maps the file read-only and checks, in order: the header, the
// flatbuffer (flatbuffers' own verifier), every tensor (dtype, shape × dtype =
// size, alignment, range inside the weight segment, no two tensors overlapping)
// and every block (known kind, hyperparameters in range, referenced tensors of
// the expected shape and type). Only a file that passes all of it is returned,
// so the rest of the runtime may index tensors without further bounds checks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model_file_generated.h"
#include "runtime/src/core/status.h"
#include "runtime/src/model/file_header.h"

namespace eidetic {

class ModelFile {
 public:
  // Map and verify a file on disk.
  static Result<std::unique_ptr<ModelFile>> open(const std::string& path);
  // Verify a copy of an in-memory image (tests, fuzzing, embedded models).
  static Result<std::unique_ptr<ModelFile>> from_bytes(const void* bytes, size_t size);

  ~ModelFile();
  ModelFile(const ModelFile&) = delete;
  ModelFile& operator=(const ModelFile&) = delete;

  const fb::Model& model() const { return *model_; }
  const FileHeader& header() const { return header_; }
  uint64_t file_size() const { return size_; }
  const std::string& path() const { return path_; }

  const fb::Tensor& tensor(int index) const { return *model_->tensors()->Get(index); }
  // Start of a tensor's bytes: 64-byte aligned, `tensor(index).size()` long.
  const uint8_t* tensor_data(int index) const;
  // Start of a quantized tensor's scales.
  const uint8_t* tensor_scales(int index) const;
  const float* tensor_f32(int index) const { return reinterpret_cast<const float*>(tensor_data(index)); }
  // Index of the tensor with this name, or -1.
  int find_tensor(const std::string& name) const;

 private:
  ModelFile() = default;
  static Result<std::unique_ptr<ModelFile>> verify(std::unique_ptr<ModelFile> file);

  std::string path_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  bool mapped_ = false;  // base_ from mmap (else from an aligned heap copy)
  FileHeader header_{};
  const fb::Model* model_ = nullptr;
};

}  // namespace eidetic
