// The blocks every language model has around its mixers: token embedding,
// RMSNorm, the residual wrapper, and the LM head.
#include <cstring>

#include "backends/cpu/blocks/cpu_block.h"
#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/linear.h"
#include "runtime/src/core/half.h"

namespace eidetic::cpu {
namespace {

class EmbeddingBlock : public CpuBlock {
 public:
  EmbeddingBlock(const ModelFile& file, int weight, QuantMatrix quant)
      : data_(file.tensor_data(weight)),
        dtype_(file.tensor(weight).dtype()),
        hidden_(file.tensor(weight).shape()->Get(1)),
        quant_(quant) {}

  Status run(CpuPass& p) override {
    for (size_t t = 0; t < p.n; ++t) copy_row(size_t(p.tokens[t]), p.h + t * hidden_);
    return Status::ok();
  }

 private:
  void copy_row(size_t id, float* out) const {
    if (quant_.data) {
      dequantize_row(quant_, id, hidden_, out);
      return;
    }
    if (dtype_ == fb::DType::F32) {
      std::memcpy(out, reinterpret_cast<const float*>(data_) + id * hidden_, hidden_ * sizeof(float));
      return;
    }
    const auto* row = reinterpret_cast<const uint16_t*>(data_) + id * hidden_;
    for (size_t i = 0; i < hidden_; ++i) out[i] = dtype_ == fb::DType::BF16 ? bf16_to_f32(row[i]) : f16_to_f32(row[i]);
  }
  const uint8_t* data_;
  fb::DType dtype_;
  size_t hidden_;
  QuantMatrix quant_;  // data null unless Q8 / Q4
};

class NormBlock : public CpuBlock {
 public:
  NormBlock(const float* w, float eps, size_t hidden) : w_(w), eps_(eps), hidden_(hidden) {}
  Status run(CpuPass& p) override {
    rms_norm(p.h, hidden_, w_, eps_, p.n, hidden_, p.h, hidden_, p.pool);
    return Status::ok();
  }

 private:
  const float* w_;
  float eps_;
  size_t hidden_;
};

class LmHeadBlock : public CpuBlock {
 public:
  LmHeadBlock(Linear head, size_t hidden) : head_(std::move(head)), hidden_(hidden) {}
  Status run(CpuPass& p) override {
    if (p.all_logits) return head_.run(p.h, p.n, p.logits, p.pool);
    return head_.run(p.h + (p.n - 1) * hidden_, 1, p.logits, p.pool);
  }

 private:
  Linear head_;
  size_t hidden_;
};

// h = h + mixer(RMSNorm(h)): the residual stays in f32 whatever the weights.
class ResidualBlock : public CpuBlock {
 public:
  ResidualBlock(const float* norm, float eps, size_t hidden, std::unique_ptr<Mixer> mixer, size_t state_offset)
      : norm_(norm), eps_(eps), hidden_(hidden), mixer_(std::move(mixer)), state_offset_(state_offset) {}

  size_t scratch_floats(size_t n) const override { return 2 * (n * hidden_ + kScratchPad) + mixer_->scratch_floats(n); }

  Status run(CpuPass& p) override {
    float* x = p.scratch;
    float* y = x + p.n * hidden_ + kScratchPad;
    float* rest = y + p.n * hidden_ + kScratchPad;
    rms_norm(p.h, hidden_, norm_, eps_, p.n, hidden_, x, hidden_, p.pool);
    EID_TRY(mixer_->forward(x, p.n, y, p.state + state_offset_, rest, p.pool));
    for (size_t i = 0; i < p.n * hidden_; ++i) p.h[i] += y[i];
    return Status::ok();
  }

 private:
  const float* norm_;
  float eps_;
  size_t hidden_;
  std::unique_ptr<Mixer> mixer_;
  size_t state_offset_;
};

}  // namespace

Result<std::unique_ptr<CpuBlock>> make_cpu_block(const ModelFile& file, int index, const StateLayout& layout) {
  const fb::Block& b = *file.model().blocks()->Get(index);
  const size_t hidden = file.model().hidden_size();
  switch (b.op_type()) {
    case fb::BlockOp::Embedding: {
      const int weight = b.op_as_Embedding()->weight();
      QuantMatrix quant{};
      if (file.tensor(weight).quant()) {
        EID_ASSIGN_OR_RETURN(quant, quant_matrix(file, weight));
      }
      return std::unique_ptr<CpuBlock>(new EmbeddingBlock(file, weight, quant));
    }
    case fb::BlockOp::Norm:
      return std::unique_ptr<CpuBlock>(
          new NormBlock(file.tensor_f32(b.op_as_Norm()->weight()), b.op_as_Norm()->eps(), hidden));
    case fb::BlockOp::LmHead: {
      EID_ASSIGN_OR_RETURN(Linear head, Linear::create(file, b.op_as_LmHead()->weight(), -1));
      return std::unique_ptr<CpuBlock>(new LmHeadBlock(std::move(head), hidden));
    }
    default: break;
  }
  const BlockState* state = layout.for_block(index);
  std::unique_ptr<Mixer> mixer;
  if (b.op_type() == fb::BlockOp::MambaMixer && state) {
    EID_ASSIGN_OR_RETURN(mixer, make_mamba_mixer(file, *b.op_as_MambaMixer(), *state, hidden));
  } else if (b.op_type() == fb::BlockOp::Mamba2Mixer && state) {
    EID_ASSIGN_OR_RETURN(mixer, make_mamba2_mixer(file, *b.op_as_Mamba2Mixer(), *state, hidden));
  } else {
    return unsupported(std::string("the CPU backend does not run blocks of kind ") + fb::EnumNameBlockOp(b.op_type()));
  }
  return std::unique_ptr<CpuBlock>(new ResidualBlock(file.tensor_f32(b.pre_norm()), b.pre_norm_eps(), hidden,
                                                     std::move(mixer), state->tensors.front().offset));
}

}  // namespace eidetic::cpu
