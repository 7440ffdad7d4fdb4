#include "runtime/src/model/state_layout.h"

namespace eidetic {
namespace {

// State of one block, in the order it is laid out.
std::vector<StateTensor> block_state(const fb::Block& b) {
  const std::string name = b.name() ? b.name()->str() : "";
  switch (b.op_type()) {
    case fb::BlockOp::MambaMixer: {
      const auto* m = b.op_as_MambaMixer();
      return {{name + ".conv", {m->d_conv() - 1u, m->d_inner()}}, {name + ".ssm", {m->d_inner(), m->d_state()}}};
    }
    case fb::BlockOp::Mamba2Mixer: {
      const auto* m = b.op_as_Mamba2Mixer();
      const uint64_t conv_dim = uint64_t(m->d_inner()) + 2ull * m->n_groups() * m->d_state();
      return {{name + ".conv", {m->d_conv() - 1u, conv_dim}},
              {name + ".ssm", {m->n_heads(), m->head_dim(), m->d_state()}}};
    }
    default: return {};
  }
}

}  // namespace

uint64_t StateTensor::count() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

const BlockState* StateLayout::for_block(int block) const {
  for (const auto& b : blocks)
    if (b.block == block) return &b;
  return nullptr;
}

StateLayout compute_state_layout(const fb::Model& model) {
  StateLayout layout;
  const auto& blocks = *model.blocks();
  for (unsigned i = 0; i < blocks.size(); ++i) {
    BlockState bs{int(i), block_state(*blocks.Get(i))};
    if (bs.tensors.empty()) continue;
    for (auto& t : bs.tensors) {
      t.offset = layout.total_floats;
      layout.total_floats += t.count();
    }
    layout.blocks.push_back(std::move(bs));
  }
  return layout;
}

}  // namespace eidetic
