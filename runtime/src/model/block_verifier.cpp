#include "runtime/src/model/block_verifier.h"

#include <cmath>
#include <string>
#include <vector>

#include "runtime/src/model/dtype.h"

namespace eidetic {
namespace {

// Generous upper bounds: they only keep hostile files from asking for absurd
// allocations; real models are far inside them.
constexpr uint32_t kMaxDim = 1u << 20;
constexpr uint32_t kMaxVocab = 1u << 24;
constexpr uint32_t kMaxConv = 64;
constexpr uint32_t kMaxState = 4096;

enum class Kind { kMatrix, kF32 };  // matrices may be quantized; small params stay f32

class BlockChecker {
 public:
  BlockChecker(const fb::Model& model, std::string where) : model_(model), where_(std::move(where)) {}

  Status dim(const char* name, uint32_t value, uint32_t max = kMaxDim) const {
    if (value == 0 || value > max)
      return invalid_model(where_ + ": " + name + " = " + std::to_string(value) + " is out of range");
    return Status::ok();
  }

  // A tensor reference that must be present with exactly this shape.
  Status tensor(const char* name, int index, std::vector<uint64_t> shape, Kind kind) const {
    if (index < 0) return invalid_model(where_ + ": missing tensor " + name);
    return optional(name, index, std::move(shape), kind);
  }

  // A tensor reference that may be absent (-1).
  Status optional(const char* name, int index, std::vector<uint64_t> shape, Kind kind) const {
    if (index < 0) return Status::ok();
    if (unsigned(index) >= model_.tensors()->size())
      return invalid_model(where_ + ": " + name + " refers to tensor " + std::to_string(index) + ", past the table");
    const fb::Tensor& t = *model_.tensors()->Get(index);
    const auto& s = *t.shape();
    bool same = s.size() == shape.size();
    for (size_t i = 0; same && i < shape.size(); ++i) same = s.Get(i) == shape[i];
    if (!same)
      return invalid_model(where_ + ": " + name + " has shape " + shape_string(s) + ", expected " +
                           shape_string(shape));
    if (kind == Kind::kF32 && t.dtype() != DType::F32)
      return invalid_model(where_ + ": " + name + " must be f32, is " + dtype_name(t.dtype()));
    return Status::ok();
  }

  Status fail(const std::string& why) const { return invalid_model(where_ + ": " + why); }

 private:
  template <typename S>
  static std::string shape_string(const S& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(uint64_t(s[i]));
    return out + "]";
  }
  const fb::Model& model_;
  std::string where_;
};

Status check_mamba(const BlockChecker& c, const fb::MambaMixer& m, uint64_t hidden) {
  EID_TRY(c.dim("d_inner", m.d_inner()));
  EID_TRY(c.dim("d_state", m.d_state(), kMaxState));
  EID_TRY(c.dim("d_conv", m.d_conv(), kMaxConv));
  EID_TRY(c.dim("dt_rank", m.dt_rank()));
  const uint64_t di = m.d_inner(), ds = m.d_state(), r = m.dt_rank();
  EID_TRY(c.tensor("in_proj", m.in_proj(), {2 * di, hidden}, Kind::kMatrix));
  EID_TRY(c.optional("in_proj_bias", m.in_proj_bias(), {2 * di}, Kind::kF32));
  EID_TRY(c.tensor("conv_weight", m.conv_weight(), {di, m.d_conv()}, Kind::kF32));
  EID_TRY(c.optional("conv_bias", m.conv_bias(), {di}, Kind::kF32));
  EID_TRY(c.tensor("x_proj", m.x_proj(), {r + 2 * ds, di}, Kind::kMatrix));
  EID_TRY(c.tensor("dt_proj", m.dt_proj(), {di, r}, Kind::kMatrix));
  EID_TRY(c.tensor("dt_proj_bias", m.dt_proj_bias(), {di}, Kind::kF32));
  EID_TRY(c.tensor("a_log", m.a_log(), {di, ds}, Kind::kF32));
  EID_TRY(c.tensor("d", m.d(), {di}, Kind::kF32));
  EID_TRY(c.tensor("out_proj", m.out_proj(), {hidden, di}, Kind::kMatrix));
  EID_TRY(c.optional("out_proj_bias", m.out_proj_bias(), {hidden}, Kind::kF32));
  if (!(m.dt_bc_norm_eps() >= 0)) return c.fail("dt_bc_norm_eps must be >= 0");
  return Status::ok();
}

Status check_mamba2(const BlockChecker& c, const fb::Mamba2Mixer& m, uint64_t hidden) {
  EID_TRY(c.dim("n_heads", m.n_heads()));
  EID_TRY(c.dim("head_dim", m.head_dim()));
  EID_TRY(c.dim("n_groups", m.n_groups()));
  EID_TRY(c.dim("d_state", m.d_state(), kMaxState));
  EID_TRY(c.dim("d_conv", m.d_conv(), kMaxConv));
  EID_TRY(c.dim("chunk_size", m.chunk_size(), 4096));
  const uint64_t nh = m.n_heads(), di = m.d_inner(), ng = m.n_groups(), ds = m.d_state();
  if (di != nh * m.head_dim()) return c.fail("d_inner must equal n_heads * head_dim");
  if (nh % ng != 0) return c.fail("n_heads must be a multiple of n_groups");
  if (m.norm_groups() == 0 || di % m.norm_groups() != 0) return c.fail("norm_groups must divide d_inner");
  if (std::isnan(m.dt_min()) || std::isnan(m.dt_max()) || m.dt_min() > m.dt_max() || m.dt_min() < 0)
    return c.fail("time-step limits must satisfy 0 <= dt_min <= dt_max");
  const uint64_t conv_dim = di + 2 * ng * ds;
  EID_TRY(c.tensor("in_proj", m.in_proj(), {di + conv_dim + nh, hidden}, Kind::kMatrix));
  EID_TRY(c.optional("in_proj_bias", m.in_proj_bias(), {di + conv_dim + nh}, Kind::kF32));
  EID_TRY(c.tensor("conv_weight", m.conv_weight(), {conv_dim, m.d_conv()}, Kind::kF32));
  EID_TRY(c.optional("conv_bias", m.conv_bias(), {conv_dim}, Kind::kF32));
  EID_TRY(c.tensor("dt_bias", m.dt_bias(), {nh}, Kind::kF32));
  EID_TRY(c.tensor("a_log", m.a_log(), {nh}, Kind::kF32));
  EID_TRY(c.tensor("d", m.d(), {nh}, Kind::kF32));
  EID_TRY(c.tensor("norm_weight", m.norm_weight(), {di}, Kind::kF32));
  if (!(m.norm_eps() > 0)) return c.fail("norm_eps must be > 0");
  EID_TRY(c.tensor("out_proj", m.out_proj(), {hidden, di}, Kind::kMatrix));
  EID_TRY(c.optional("out_proj_bias", m.out_proj_bias(), {hidden}, Kind::kF32));
  return Status::ok();
}

Status check_block(const fb::Model& model, const fb::Block& block, unsigned index) {
  const std::string name = block.name() ? block.name()->str() : "";
  BlockChecker c(model, "block " + std::to_string(index) + " '" + name + "'");
  const uint64_t hidden = model.hidden_size(), vocab = model.vocab_size();
  const fb::BlockOp kind = block.op_type();
  if (kind == fb::BlockOp::NONE || kind > fb::BlockOp::MAX)
    return c.fail("unknown block kind " + std::to_string(int(kind)) +
                  " (a file from a newer converter? update the runtime)");
  const bool is_mixer = kind == fb::BlockOp::MambaMixer || kind == fb::BlockOp::Mamba2Mixer;
  if (block.residual() != is_mixer) return c.fail("residual flag does not fit its kind");
  if (is_mixer) {
    EID_TRY(c.tensor("pre_norm", block.pre_norm(), {hidden}, Kind::kF32));
    if (!(block.pre_norm_eps() > 0)) return c.fail("pre_norm_eps must be > 0");
  } else if (block.pre_norm() >= 0) {
    return c.fail("only residual blocks take a pre-norm");
  }
  switch (kind) {
    case fb::BlockOp::Embedding:
      return c.tensor("weight", block.op_as_Embedding()->weight(), {vocab, hidden}, Kind::kMatrix);
    case fb::BlockOp::Norm:
      if (!(block.op_as_Norm()->eps() > 0)) return c.fail("eps must be > 0");
      return c.tensor("weight", block.op_as_Norm()->weight(), {hidden}, Kind::kF32);
    case fb::BlockOp::LmHead: return c.tensor("weight", block.op_as_LmHead()->weight(), {vocab, hidden}, Kind::kMatrix);
    case fb::BlockOp::MambaMixer: return check_mamba(c, *block.op_as_MambaMixer(), hidden);
    case fb::BlockOp::Mamba2Mixer: return check_mamba2(c, *block.op_as_Mamba2Mixer(), hidden);
    default:
      return unsupported(std::string("block kind ") + fb::EnumNameBlockOp(kind) +
                         " is defined by the format but not executed by this runtime version");
  }
}

Status check_tokenizer(const fb::Model& model) {
  const fb::Tokenizer* t = model.tokenizer();
  if (!t) return Status::ok();
  const int64_t n = t->vocab()->size();
  if (n == 0 || n > int64_t(model.vocab_size()))
    return invalid_model("tokenizer vocabulary size does not fit the model");
  if (t->kind() > fb::TokenizerKind::MAX || t->split() > fb::SplitPattern::MAX ||
      t->metaspace_mode() > fb::MetaspaceMode::MAX)
    return invalid_model("tokenizer kind, split pattern or metaspace mode unknown");
  const auto* l = t->merge_left();
  const auto* r = t->merge_right();
  if ((l == nullptr) != (r == nullptr) || (l && l->size() != r->size()))
    return invalid_model("tokenizer merge lists differ in length");
  for (unsigned i = 0; l && i < l->size(); ++i)
    if (l->Get(i) < 0 || l->Get(i) >= n || r->Get(i) < 0 || r->Get(i) >= n)
      return invalid_model("tokenizer merge " + std::to_string(i) + " refers to an unknown token");
  if (t->added())
    for (const fb::AddedToken* a : *t->added())
      if (a->id() < 0 || uint32_t(a->id()) >= model.vocab_size()) return invalid_model("added token id out of range");
  for (int id : {t->unk_id(), t->bos_id(), t->eos_id()})
    if (id < -1 || id >= int64_t(model.vocab_size())) return invalid_model("special token id out of range");
  return Status::ok();
}

}  // namespace

Status verify_blocks(const fb::Model& model) {
  if (model.hidden_size() == 0 || model.hidden_size() > kMaxDim) return invalid_model("hidden_size out of range");
  if (model.vocab_size() == 0 || model.vocab_size() > kMaxVocab) return invalid_model("vocab_size out of range");
  const auto& blocks = *model.blocks();
  if (blocks.size() < 2 || blocks.Get(0)->op_type() != fb::BlockOp::Embedding ||
      blocks.Get(blocks.size() - 1)->op_type() != fb::BlockOp::LmHead)
    return invalid_model("the block stack must start with an embedding and end with an LM head");
  for (unsigned i = 0; i < blocks.size(); ++i) EID_TRY(check_block(model, *blocks.Get(i), i));
  return check_tokenizer(model);
}

}  // namespace eidetic
