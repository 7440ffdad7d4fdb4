// The operations of the block stack as dispatches of the shaders. An op is
// built once into Steps (pipeline + descriptor set bound to fixed buffers);
// what changes from one forward pass to the next (the number of tokens n, and
// so the grid and a few push constants) is filled in when a command buffer is
// recorded. Activations all live in one buffer ("act") and are addressed by
// float offsets and row strides, so a kernel can read a column slice of a
// wider projection output in place, as the CPU kernels do.
#pragma once

#include <cstring>
#include <functional>
#include <vector>

#include "backends/vulkan/vk_pipeline.h"
#include "backends/vulkan/vk_profile.h"
#include "model_file_generated.h"

namespace eidetic::vk {

struct PassInfo {
  uint32_t n = 1;           // tokens in this pass
  bool all_logits = false;  // LM head over every token (else the last one only)
  bool head = true;         // run the LM head at all
};

struct Launch {
  alignas(4) unsigned char push[kPushBytes];
  uint32_t push_bytes = 0;
  uint32_t groups[3] = {1, 1, 1};
  template <typename T>
  void set_push(const T& v) {
    static_assert(sizeof(T) <= kPushBytes, "push constants too large");
    std::memcpy(push, &v, sizeof(T));
    push_bytes = sizeof(T);
  }
};

struct Step {
  const Pipeline* pipe = nullptr;
  std::string label;  // what the step is in the model ("x_proj"), for the profile
  VkDescriptorSet set = VK_NULL_HANDLE;
  // Fills push constants and grid for a pass; false: this step does not run in it.
  std::function<bool(const PassInfo&, Launch&)> launch;
};

// Binds, pushes and dispatches each step that runs in `pass`, with a barrier
// after each (every step reads what the one before wrote); with a profiler,
// a timestamp after each barrier.
void record_steps(VkCommandBuffer cmd, const std::vector<Step>& steps, const PassInfo& pass,
                  StepProfiler* profiler = nullptr);

// A span of activations: token t's row starts at off + t * stride (floats).
struct Operand {
  uint32_t off = 0, stride = 0;
};

// A weight matrix [rows, cols] as the kernels read it: rows padded to
// row_stride elements, split by rows into parts that each fit one binding.
struct WeightMatrix {
  fb::DType dtype = fb::DType::F32;
  uint32_t rows = 0, cols = 0, row_stride = 0;
  struct Part {
    Slice data, scales;  // scales: Q8 / Q4 only
    uint32_t row0 = 0, rows = 0;
  };
  std::vector<Part> parts;
};

// The shader name suffix of a weight type ("f32", "f16", "bf16", "q8", "q4").
const char* weight_suffix(fb::DType t);

// Linear-layer epilogue flags (matvec.comp / matmul.comp).
enum : uint32_t { kBias = 1, kAccumulate = 2, kSoftplus = 4 };

// Work fused into a linear layer's matrix-vector form (decode).
struct LinearFusion {
  // The block's pre-norm: the matrix-vector form reads raw_x and normalises
  // it with norm_w itself; the tiled form reads x, which an RMSNorm step
  // (run only for such passes) has written.
  const Slice* norm_w = nullptr;
  float norm_eps = 0;
  Operand raw_x;
  // With gate: x * silu(z) is normalised (Mamba-2's gated RMSNorm over the
  // whole row, i.e. norm_groups = 1).
  bool gate = false;
  Operand z;
  // For a single token, the mixer's causal conv + SiLU on output rows
  // [conv_row0, conv_row0 + channels): the tail [k-1, channels] at tail_off in
  // `state`, the result at conv_out (the conv step is then skipped).
  bool conv = false;
  uint32_t conv_row0 = 0, channels = 0, k = 0, tail_off = 0, conv_out = 0;
  Slice conv_w, state;
  const Slice* conv_b = nullptr;
};

// Adds a condition to the steps [first, end): they run only in passes where
// pred holds (and their own launch agrees).
void run_only_if(std::vector<Step>& steps, size_t first, std::function<bool(const PassInfo&)> pred);

// Up to this many tokens a linear layer runs as matrix-vector products (one
// weight read per token); above, as a tiled matrix product.
constexpr uint32_t kMatvecMaxTokens = 4;

// From this many tokens a pass runs Mamba-2's scan in chunks.
constexpr uint32_t kSsdChunkedMinTokens = 16;

// The most candidates the device selects (top_k.comp); more are picked on the host.
constexpr uint32_t kMaxTopK = 256;
// Pairs of scratch that OpBuilder::top_k needs for a vocabulary.
uint32_t top_k_pairs(uint32_t vocab);

class OpBuilder {
 public:
  // act: the activations buffer; dummy: a small buffer bound where an op has
  // no such operand (no bias, no scales).
  OpBuilder(Kernels& kernels, DescriptorAllocator& sets, Slice act, Slice dummy)
      : k_(kernels), sets_(sets), act_(act), dummy_(dummy) {}

  // y[t] = W x[t] (+ bias), epilogue `flags`. last_only: only the pass's last
  // token, written to y's first row (the LM head without all_logits). head:
  // the step belongs to the LM head (skipped when the pass has no head).
  Status linear(std::vector<Step>& out, const WeightMatrix& w, const Slice* bias, Operand x, Operand y, uint32_t flags,
                bool last_only = false, bool head = false, const LinearFusion& fuse = {});
  // h[t] = E[tokens[t]]; tokens: int32 [n] from token_off.
  Status embed(std::vector<Step>& out, const WeightMatrix& e, Slice tokens, uint32_t token_off, Operand h);
  // y[t] = rmsnorm(x[t][0:dim]) * w (w null: none).
  Status rms_norm(std::vector<Step>& out, uint32_t dim, const Slice* w, float eps, Operand x, Operand y);
  // y = rmsnorm_groups(x * silu(z)) * w.
  Status gated_rms_norm(std::vector<Step>& out, uint32_t dim, uint32_t group_size, Slice w, float eps, Operand x,
                        Operand z, Operand y);
  // Causal conv + SiLU; the tail [k-1, channels] at tail_off floats in `state`.
  Status conv1d(std::vector<Step>& out, uint32_t channels, uint32_t k, Slice w, const Slice* bias, Slice state,
                uint32_t tail_off, Operand x, Operand y);

  // With dt_proj (one binding's worth of rows), a single-token pass computes
  // dt = softplus(dt_proj x_dt + dt_bias) in the scan, x_dt being the first
  // dt_rank columns of dt_x; longer passes read dt, which a product wrote.
  // bc_norm_eps > 0 (FalconMamba): that pass also reads x_dt, B and C through
  // a weightless RMSNorm each (longer passes read them normalised).
  struct SelectiveScan {
    uint32_t d_inner, d_state;
    Operand x, dt, b, c, z, y;  // b and c share a stride
    Slice a, d, state;
    uint32_t s_off;
    const WeightMatrix* dt_proj = nullptr;
    Slice dt_bias;
    Operand dt_x;
    uint32_t dt_rank = 0;
    float bc_norm_eps = 0;
  };
  Status selective_scan(std::vector<Step>& out, const SelectiveScan& s);

  // Mamba-2's scan: token by token (ssd_scan.comp), or in chunks
  // (ssd_chunked.comp) for passes of kSsdChunkedMinTokens or more.
  struct SsdScan {
    uint32_t n_heads, head_dim, n_groups, d_state;
    Operand x;  // stride shared by b and c
    uint32_t b_off, c_off;
    Operand dt;  // raw (before softplus and dt_bias)
    Operand y;
    Slice dt_bias, a, d, state;
    uint32_t s_off;
    float dt_min, dt_max;
  };
  Status ssd_scan(std::vector<Step>& out, const SsdScan& s);

  // The kpad best of the logits act[logits_off, + vocab) (backends/top_k.h's
  // order), best first, as (order key, id) pairs in `cand` (top_k_pairs(vocab)
  // of them), at the pair offset returned. kpad: a power of two up to kMaxTopK.
  Result<uint32_t> top_k(std::vector<Step>& out, uint32_t vocab, uint32_t logits_off, uint32_t kpad, Slice cand);

  // Names the steps built from here on (EIDETIC_VULKAN_PROFILE's lines).
  void set_label(std::string label) { label_ = std::move(label); }

 private:
  Step make_step(const Pipeline* pipe) const;
  // The shader suffix of the kernels that multiply one row at a time ("f16",
  // "q4_dot": Q8 / Q4 in int8 dot products where the device has them).
  std::string row_form(fb::DType t) const;
  Kernels& k_;
  DescriptorAllocator& sets_;
  Slice act_, dummy_;
  std::string label_;
};

}  // namespace eidetic::vk
