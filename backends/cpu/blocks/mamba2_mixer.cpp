// Mamba-2 mixer, for a prompt or one token:
//   z, xBC, dt = split(in_proj(h));  xBC = silu(conv(xBC));  x, B, C = split(xBC)
//   dt = clamp(softplus(dt + dt_bias));  y = ssd(x, dt, A, B, C, D)
//   out_proj(gated_rms_norm(y, z))
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/blocks/cpu_block.h"
#include "backends/cpu/kernels/activations.h"
#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/linear.h"

namespace eidetic::cpu {
namespace {

// Prompts of at least kChunkedMinTokens tokens take the chunked (SSD) form of
// the scan, in chunks of kChunk tokens; shorter ones, and decode, the
// recurrence. Both measured on the mamba2-130m shape (24 heads of 64, d_state
// 128) with cpu_scan_bench: see backends/cpu/kernels/scan_bench.cpp. The
// file's chunk_size (256 for released models) suits GPUs; on the CPU short
// chunks win, as the work inside a chunk grows with its length.
constexpr size_t kChunkedMinTokens = 16;
constexpr size_t kChunk = 16;

class Mamba2Mixer : public Mixer {
 public:
  Mamba2Mixer(const ModelFile& file, const fb::Mamba2Mixer& m, const BlockState& state, Linear in_proj, Linear out_proj)
      : di_(m.d_inner()),
        ds_(m.d_state()),
        k_(m.d_conv()),
        nh_(m.n_heads()),
        hd_(m.head_dim()),
        ng_(m.n_groups()),
        conv_dim_(di_ + 2 * ng_ * ds_),
        proj_w_(di_ + conv_dim_ + nh_),
        norm_groups_(m.norm_groups()),
        dt_min_(m.dt_min()),
        dt_max_(m.dt_max()),
        norm_eps_(m.norm_eps()),
        in_proj_(std::move(in_proj)),
        out_proj_(std::move(out_proj)),
        conv_w_(file.tensor_f32(m.conv_weight())),
        conv_b_(m.conv_bias() >= 0 ? file.tensor_f32(m.conv_bias()) : nullptr),
        dt_bias_(file.tensor_f32(m.dt_bias())),
        d_(file.tensor_f32(m.d())),
        norm_w_(file.tensor_f32(m.norm_weight())),
        ssm_offset_(state.tensors[1].offset - state.tensors[0].offset) {
    const float* a_log = file.tensor_f32(m.a_log());
    a_.resize(nh_);
    for (size_t h = 0; h < nh_; ++h) a_[h] = -std::exp(a_log[h]);
  }

  size_t scratch_floats(size_t n) const override {
    const size_t chunked = n >= kChunkedMinTokens ? ssd_chunked_scratch_floats(n, nh_, hd_, ng_, ds_, kChunk) : 0;
    return n * (proj_w_ + conv_dim_ + nh_ + 2 * di_) + 5 * kScratchPad + chunked;
  }

  Status forward(const float* x, size_t n, float* out, float* state, float* scratch, pthreadpool_t pool) override {
    float* proj = scratch;                          // [n, proj_w]: z | xBC | dt
    float* xbc = proj + n * proj_w_ + kScratchPad;  // [n, conv_dim]: x | B | C
    float* dt = xbc + n * conv_dim_ + kScratchPad;  // [n, n_heads]
    float* y = dt + n * nh_ + kScratchPad;          // [n, d_inner]
    float* normed = y + n * di_ + kScratchPad;      // [n, d_inner]
    float* chunk_scratch = normed + n * di_ + kScratchPad;
    EID_TRY(in_proj_.run(x, n, proj, pool));
    causal_conv1d_silu(proj + di_, proj_w_, n, conv_dim_, k_, conv_w_, conv_b_, state, xbc, conv_dim_, pool);
    for (size_t t = 0; t < n; ++t)
      for (size_t h = 0; h < nh_; ++h)
        dt[t * nh_ + h] = std::clamp(softplus(proj[t * proj_w_ + di_ + conv_dim_ + h] + dt_bias_[h]), dt_min_, dt_max_);
    SsdScanArgs a{};
    a.n_tokens = n, a.n_heads = nh_, a.head_dim = hd_, a.n_groups = ng_, a.d_state = ds_;
    a.x = xbc, a.x_stride = conv_dim_;
    a.dt = dt, a.dt_stride = nh_;
    a.b = xbc + di_, a.b_stride = conv_dim_;
    a.c = xbc + di_ + ng_ * ds_, a.c_stride = conv_dim_;
    a.a = a_.data(), a.d = d_;
    a.state = state + ssm_offset_;
    a.y = y, a.y_stride = di_;
    if (n >= kChunkedMinTokens)
      ssd_chunked(a, kChunk, chunk_scratch, pool);
    else
      ssd_scan(a, pool);
    gated_rms_norm(y, di_, proj, proj_w_, norm_w_, norm_eps_, n, di_, di_ / norm_groups_, normed, di_, pool);
    return out_proj_.run(normed, n, out, pool);
  }

 private:
  size_t di_, ds_, k_, nh_, hd_, ng_, conv_dim_, proj_w_, norm_groups_;
  float dt_min_, dt_max_, norm_eps_;
  Linear in_proj_, out_proj_;
  const float* conv_w_;
  const float* conv_b_;
  const float* dt_bias_;
  const float* d_;
  const float* norm_w_;
  size_t ssm_offset_;
  std::vector<float> a_;
};

}  // namespace

Result<std::unique_ptr<Mixer>> make_mamba2_mixer(const ModelFile& file, const fb::Mamba2Mixer& m,
                                                 const BlockState& state, size_t hidden) {
  EID_ASSIGN_OR_RETURN(Linear in_proj, Linear::create(file, m.in_proj(), m.in_proj_bias()));
  EID_ASSIGN_OR_RETURN(Linear out_proj, Linear::create(file, m.out_proj(), m.out_proj_bias()));
  return std::unique_ptr<Mixer>(new Mamba2Mixer(file, m, state, std::move(in_proj), std::move(out_proj)));
}

}  // namespace eidetic::cpu
