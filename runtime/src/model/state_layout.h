// The recurrent state a model needs, derived from its blocks: each mixer
// declares its tensors (conv tail, SSM state). A session allocates the sum once;
// nothing grows while generating. Backends lay the state out in this order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model_file_generated.h"

namespace eidetic {

struct StateTensor {
  std::string name;  // "layers.3.conv", "layers.3.ssm"
  std::vector<uint64_t> shape;
  uint64_t offset = 0;  // in f32 elements from the start of the whole state
  uint64_t count() const;
};

struct BlockState {
  int block = -1;
  std::vector<StateTensor> tensors;
};

struct StateLayout {
  std::vector<BlockState> blocks;  // only blocks that keep state, in stack order
  uint64_t total_floats = 0;
  uint64_t bytes() const { return total_floats * sizeof(float); }
  const BlockState* for_block(int block) const;
};

StateLayout compute_state_layout(const fb::Model& model);

}  // namespace eidetic
