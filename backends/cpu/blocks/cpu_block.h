// How the CPU backend runs one block of the model's stack. The executor walks
// the blocks in file order and hands each the same CpuPass; a block reads and
// writes the residual stream `h`, its own slice of the recurrent state, and
// scratch memory that the session allocated once.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/src/core/status.h"
#include "runtime/src/model/model_file.h"
#include "runtime/src/model/state_layout.h"

namespace eidetic::cpu {

// Rows of scratch buffers get this many spare floats: XNNPACK may read 16
// bytes past the end of an input.
constexpr size_t kScratchPad = 16;

struct CpuPass {
  const int32_t* tokens = nullptr;
  size_t n = 0;             // tokens in this pass
  float* h = nullptr;       // [n, hidden] residual stream
  float* logits = nullptr;  // [n, vocab] when all_logits, else [vocab] for the last token
  bool all_logits = false;
  float* state = nullptr;    // the whole session state; blocks index their own slice
  float* scratch = nullptr;  // at least scratch_floats(n) for every block
  pthreadpool_t pool = nullptr;
};

class CpuBlock {
 public:
  virtual ~CpuBlock() = default;
  virtual size_t scratch_floats(size_t n_tokens) const { return 0; }
  virtual Status run(CpuPass& pass) = 0;
};

// A token mixer inside a residual block: y = mixer(x) for normalised x.
class Mixer {
 public:
  virtual ~Mixer() = default;
  virtual size_t scratch_floats(size_t n_tokens) const = 0;
  virtual Status forward(const float* x, size_t n, float* y, float* state, float* scratch, pthreadpool_t pool) = 0;
};

Result<std::unique_ptr<Mixer>> make_mamba_mixer(const ModelFile& file, const fb::MambaMixer& m, const BlockState& state,
                                                size_t hidden);
Result<std::unique_ptr<Mixer>> make_mamba2_mixer(const ModelFile& file, const fb::Mamba2Mixer& m,
                                                 const BlockState& state, size_t hidden);

// Any block of the stack; an unsupported kind is an error naming it.
Result<std::unique_ptr<CpuBlock>> make_cpu_block(const ModelFile& file, int index, const StateLayout& layout);

}  // namespace eidetic::cpu
