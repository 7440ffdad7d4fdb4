// Mamba-1 mixer (MambaForCausalLM, FalconMamba), for a prompt or one token:
//   x, z = split(in_proj(h));  x = silu(conv(x));  dt, B, C = split(x_proj(x))
//   dt = softplus(dt_proj(dt));  y = scan(x, dt, A, B, C, D) * silu(z);  out_proj(y)
#include <cmath>
#include <vector>

#include "backends/cpu/blocks/cpu_block.h"
#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/parallel_for.h"
#include "backends/cpu/linear.h"

namespace eidetic::cpu {
namespace {

// softplus of dt: elementwise, shared among threads in tiles of this many.
constexpr size_t kSoftplusTile = 4096;

class MambaMixer : public Mixer {
 public:
  MambaMixer(const ModelFile& file, const fb::MambaMixer& m, const BlockState& state, Linear in_proj, Linear x_proj,
             Linear dt_proj, Linear out_proj)
      : di_(m.d_inner()),
        ds_(m.d_state()),
        k_(m.d_conv()),
        r_(m.dt_rank()),
        in_proj_(std::move(in_proj)),
        x_proj_(std::move(x_proj)),
        dt_proj_(std::move(dt_proj)),
        out_proj_(std::move(out_proj)),
        conv_w_(file.tensor_f32(m.conv_weight())),
        conv_b_(m.conv_bias() >= 0 ? file.tensor_f32(m.conv_bias()) : nullptr),
        d_(file.tensor_f32(m.d())),
        bc_norm_eps_(m.dt_bc_norm_eps()),
        ssm_offset_(state.tensors[1].offset - state.tensors[0].offset) {
    // A = -exp(A_log) once, not per token.
    const float* a_log = file.tensor_f32(m.a_log());
    a_.resize(di_ * ds_);
    for (size_t i = 0; i < a_.size(); ++i) a_[i] = -std::exp(a_log[i]);
  }

  size_t scratch_floats(size_t n) const override {
    return n * (2 * di_ + di_ + (r_ + 2 * ds_) + di_ + di_) + 5 * kScratchPad;
  }

  Status forward(const float* x, size_t n, float* out, float* state, float* scratch, pthreadpool_t pool) override {
    const size_t dbc_w = r_ + 2 * ds_;
    float* xz = scratch;                         // [n, 2*di]: x | z
    float* xc = xz + n * 2 * di_ + kScratchPad;  // [n, di] conv output
    float* dbc = xc + n * di_ + kScratchPad;     // [n, r + 2*ds]: dt | B | C
    float* dt = dbc + n * dbc_w + kScratchPad;   // [n, di]
    float* y = dt + n * di_ + kScratchPad;       // [n, di]
    EID_TRY(in_proj_.run(x, n, xz, pool));
    causal_conv1d_silu(xz, 2 * di_, n, di_, k_, conv_w_, conv_b_, state, xc, di_, pool);
    EID_TRY(x_proj_.run(xc, n, dbc, pool));
    if (bc_norm_eps_ > 0) {  // FalconMamba: weightless RMSNorm of dt, B and C
      rms_norm(dbc, dbc_w, nullptr, bc_norm_eps_, n, r_, dbc, dbc_w);
      rms_norm(dbc + r_, dbc_w, nullptr, bc_norm_eps_, n, ds_, dbc + r_, dbc_w);
      rms_norm(dbc + r_ + ds_, dbc_w, nullptr, bc_norm_eps_, n, ds_, dbc + r_ + ds_, dbc_w);
    }
    EID_TRY(dt_proj_.run(dbc, n, dt, pool));
    parallel_for(pool, n * di_, kSoftplusTile, [dt](size_t i0, size_t i1) { softplus(dt + i0, i1 - i0, dt + i0); });
    SelectiveScanArgs a{};
    a.n_tokens = n, a.d_inner = di_, a.d_state = ds_;
    a.x = xc, a.x_stride = di_;
    a.dt = dt, a.dt_stride = di_;
    a.b = dbc + r_, a.b_stride = dbc_w;
    a.c = dbc + r_ + ds_, a.c_stride = dbc_w;
    a.z = xz + di_, a.z_stride = 2 * di_;
    a.a = a_.data(), a.d = d_;
    a.state = state + ssm_offset_;
    a.y = y, a.y_stride = di_;
    selective_scan(a, pool);
    return out_proj_.run(y, n, out, pool);
  }

 private:
  size_t di_, ds_, k_, r_;
  Linear in_proj_, x_proj_, dt_proj_, out_proj_;
  const float* conv_w_;
  const float* conv_b_;
  const float* d_;
  float bc_norm_eps_;
  size_t ssm_offset_;
  std::vector<float> a_;
};

}  // namespace

Result<std::unique_ptr<Mixer>> make_mamba_mixer(const ModelFile& file, const fb::MambaMixer& m, const BlockState& state,
                                                size_t hidden) {
  const size_t dbc_w = m.dt_rank() + 2 * m.d_state();
  EID_ASSIGN_OR_RETURN(Linear in_proj, Linear::create(file, m.in_proj(), m.in_proj_bias()));
  EID_ASSIGN_OR_RETURN(Linear x_proj, Linear::create(file, m.x_proj(), -1));
  // dt_proj reads the first dt_rank columns of x_proj's output in place.
  EID_ASSIGN_OR_RETURN(Linear dt_proj, Linear::create(file, m.dt_proj(), m.dt_proj_bias(), dbc_w));
  EID_ASSIGN_OR_RETURN(Linear out_proj, Linear::create(file, m.out_proj(), m.out_proj_bias()));
  return std::unique_ptr<Mixer>(
      new MambaMixer(file, m, state, std::move(in_proj), std::move(x_proj), std::move(dt_proj), std::move(out_proj)));
}

}  // namespace eidetic::cpu
