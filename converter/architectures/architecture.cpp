#include "converter/architectures/architecture.h"

#include "converter/architectures/mamba.h"

namespace eidetic::convert {

ConvertContext::ConvertContext(const HfConfig& config, const Checkpoint& ckpt, ModelWriter& writer, fb::DType quant,
                               ProgressFn progress)
    : config_(config), ckpt_(ckpt), writer_(writer), quant_(quant), progress_(std::move(progress)) {}

Result<int> ConvertContext::write(const std::string& name, std::vector<uint64_t> shape,
                                  const std::vector<float>& values, fb::DType dtype) {
  if (progress_) progress_(++done_, ckpt_.tensors().size(), name);
  return writer_.add_tensor(name, shape, values, dtype);
}

Result<int> ConvertContext::matrix(const std::string& name, std::vector<uint64_t> shape) {
  EID_ASSIGN_OR_RETURN(auto values, ckpt_.load_f32(name, shape));
  return write(name, shape, values, quant_);
}

Result<int> ConvertContext::vocab_matrix(const std::string& name, std::vector<uint64_t> shape) {
  EID_ASSIGN_OR_RETURN(auto values, ckpt_.load_f32(name, shape));
  return write(name, shape, values, quant_ == fb::DType::Q4 ? fb::DType::Q8 : quant_);
}

Result<int> ConvertContext::small(const std::string& name, std::vector<uint64_t> shape) {
  EID_ASSIGN_OR_RETURN(auto values, ckpt_.load_f32(name, shape));
  return write(name, shape, values, fb::DType::F32);
}

Result<int> ConvertContext::optional_small(const std::string& name, std::vector<uint64_t> shape) {
  if (!ckpt_.has(name)) return -1;
  return small(name, std::move(shape));
}

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> list = {
      {"mamba", "Mamba-1 (MambaForCausalLM), tied or untied LM head", convert_mamba},
      {"falcon_mamba", "FalconMamba (Mamba-1 with RMS-normalised dt, B, C)", convert_mamba},
      {"mamba2", "Mamba-2 (Mamba2ForCausalLM)", convert_mamba2},
  };
  return list;
}

std::string supported_model_types() {
  std::string out;
  for (const auto& a : architectures()) out += (out.empty() ? "" : ", ") + std::string(a.model_type);
  return out;
}

}  // namespace eidetic::convert
