#include "backends/vulkan/vk_executor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <variant>

#include "backends/vulkan/vk_weights.h"
#include "runtime/src/model/state_layout.h"

namespace eidetic::vk {
namespace {

// ---- The model's blocks with their weights on the device ----

struct EmbedBlock {
  const WeightMatrix* e;
};
struct NormBlock {
  Slice w;
  float eps;
};
struct HeadBlock {
  const WeightMatrix* w;
};
struct MambaBlock {
  const fb::MambaMixer* m;
  const WeightMatrix *in_proj, *x_proj, *dt_proj, *out_proj;
  Slice conv_w, a, d, dt_b;
  std::optional<Slice> in_b, conv_b, out_b;
};
struct Mamba2Block {
  const fb::Mamba2Mixer* m;
  const WeightMatrix *in_proj, *out_proj;
  Slice conv_w, dt_bias, a, d, norm_w;
  std::optional<Slice> in_b, conv_b, out_b;
};
struct Residual {
  Slice norm;
  float eps;
  std::variant<MambaBlock, Mamba2Block> mixer;
  size_t state_block;  // index into the state layout's blocks
};
using Block = std::variant<EmbedBlock, NormBlock, HeadBlock, Residual>;

uint32_t mixer_scratch_floats(const Residual& r) {
  if (const auto* mb = std::get_if<MambaBlock>(&r.mixer)) {
    const uint32_t di = mb->m->d_inner(), dbc = mb->m->dt_rank() + 2 * mb->m->d_state();
    return 2 * di + di + dbc + di + di;
  }
  const auto& m = *std::get<Mamba2Block>(r.mixer).m;
  const uint32_t di = m.d_inner(), conv_dim = di + 2 * m.n_groups() * m.d_state();
  return (di + conv_dim + m.n_heads()) + conv_dim + 2 * di;
}

// ---- Sessions ----

class VulkanExecutor;

class VulkanSession : public BackendSession {
 public:
  explicit VulkanSession(VulkanExecutor& ex) : ex_(ex) {}
  ~VulkanSession() override;

  void reset() override;
  Status copy_state_from(const BackendSession& other) override;
  size_t state_bytes() const override;
  Status read_state(void* dst, size_t bytes) const override;
  Status write_state(const void* src, size_t bytes) override;

  // The top-k selection for one power-of-two k: its steps, where its result
  // lies in cand_, and the decode step recorded with it (made on first use).
  struct TopKPlan {
    uint32_t kpad = 0, result_off = 0;
    std::vector<Step> steps;
    VkCommandBuffer decode_cmd = VK_NULL_HANDLE;
    std::unique_ptr<StepProfiler> profiler;  // EIDETIC_VULKAN_PROFILE=1 only
  };

  VulkanExecutor& ex_;
  Buffer act_, state_, tokens_, readback_, cand_;
  std::unique_ptr<DescriptorAllocator> sets_;
  std::vector<Step> steps_;
  VkCommandBuffer decode_cmd_ = VK_NULL_HANDLE, pass_cmd_ = VK_NULL_HANDLE;
  std::map<uint32_t, TopKPlan> top_plans_;
  // Candidates beyond the device's kMaxTopK are picked on the host from these.
  std::vector<float> host_logits_;
  std::vector<uint64_t> rank_;
  uint32_t last_row_ = 0;  // the row of logits_off_ that holds the last forward's last token
  Status pending_;         // an error of reset(), which cannot return one; reported by the next forward
};

class VulkanExecutor : public Executor {
 public:
  VulkanExecutor(const ModelFile& file, const BackendOptions& options) : file_(file), options_(options) {}
  ~VulkanExecutor() override {
    blocks_.clear();
    weights_.reset();
    kernels_.reset();
  }

  Status init();
  const char* backend_name() const override { return "vulkan"; }
  std::string device() const override;
  Result<std::unique_ptr<BackendSession>> create_session() override;
  Status forward(BackendSession& session, const int32_t* tokens, size_t n, const ForwardOutput& out) override;
  Status read_logits(BackendSession& session, float* logits) override;

  Context& ctx() { return *ctx_; }
  const StateLayout& layout() const { return layout_; }
  // Where each state block lies in the device buffer (bytes, aligned for binding).
  const std::vector<VkDeviceSize>& state_offsets() const { return state_offsets_; }
  VkDeviceSize state_device_bytes() const { return state_device_bytes_; }

 private:
  Status build_steps(VulkanSession& s);
  Result<VulkanSession::TopKPlan*> top_k_plan(VulkanSession& s, uint32_t kpad);
  Status record_pass(VulkanSession& s, VkCommandBuffer cmd, const PassInfo& pass, uint32_t logit_rows,
                     const VulkanSession::TopKPlan* top, StepProfiler* profiler = nullptr);

  const ModelFile& file_;
  BackendOptions options_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<Kernels> kernels_;
  std::unique_ptr<WeightStore> weights_;
  Buffer dummy_;
  std::vector<Block> blocks_;
  StateLayout layout_;
  std::vector<VkDeviceSize> state_offsets_;
  VkDeviceSize state_device_bytes_ = 0;
  uint32_t hidden_ = 0, vocab_ = 0;
  uint32_t batch_ = 1;           // tokens per pass
  uint32_t scratch_floats_ = 0;  // per token, the largest mixer's
  // Offsets in the activations buffer (floats).
  uint32_t h_off_ = 0, xn_off_ = 0, logits_off_ = 0, scratch_off_ = 0, act_floats_ = 0;
};

Status VulkanExecutor::init() {
  EID_ASSIGN_OR_RETURN(ctx_, Context::create(options_.device));
  kernels_ = std::make_unique<Kernels>(*ctx_);
  weights_ = std::make_unique<WeightStore>(*ctx_);
  EID_ASSIGN_OR_RETURN(dummy_, Buffer::create(*ctx_, 16, Memory::kDevice));
  layout_ = compute_state_layout(file_.model());
  hidden_ = file_.model().hidden_size();
  vocab_ = file_.model().vocab_size();
  WeightStore& w = *weights_;
  auto opt_vec = [&](int t) -> Result<std::optional<Slice>> {
    if (t < 0) return std::optional<Slice>();
    EID_ASSIGN_OR_RETURN(Slice s, w.vector(file_, t));
    return std::optional<Slice>(s);
  };
  auto neg_exp = [&](int t) {
    const fb::Tensor& tt = file_.tensor(t);
    const float* src = file_.tensor_f32(t);
    std::vector<float> a(tt.size() / sizeof(float));
    for (size_t i = 0; i < a.size(); ++i) a[i] = -std::exp(src[i]);
    return w.derived(a);
  };

  const auto& fbb = *file_.model().blocks();
  for (unsigned i = 0; i < fbb.size(); ++i) {
    const fb::Block& b = *fbb.Get(i);
    switch (b.op_type()) {
      case fb::BlockOp::Embedding: {
        EID_ASSIGN_OR_RETURN(const WeightMatrix* e, w.matrix(file_, b.op_as_Embedding()->weight()));
        blocks_.push_back(EmbedBlock{e});
        continue;
      }
      case fb::BlockOp::Norm: {
        EID_ASSIGN_OR_RETURN(Slice s, w.vector(file_, b.op_as_Norm()->weight()));
        blocks_.push_back(NormBlock{s, b.op_as_Norm()->eps()});
        continue;
      }
      case fb::BlockOp::LmHead: {
        EID_ASSIGN_OR_RETURN(const WeightMatrix* h, w.matrix(file_, b.op_as_LmHead()->weight()));
        blocks_.push_back(HeadBlock{h});
        continue;
      }
      default: break;
    }
    size_t state_block = 0;
    while (state_block < layout_.blocks.size() && layout_.blocks[state_block].block != int(i)) ++state_block;
    if (state_block == layout_.blocks.size() ||
        (b.op_type() != fb::BlockOp::MambaMixer && b.op_type() != fb::BlockOp::Mamba2Mixer))
      return unsupported(std::string("the Vulkan backend does not run blocks of kind ") +
                         fb::EnumNameBlockOp(b.op_type()));
    Residual r;
    EID_ASSIGN_OR_RETURN(r.norm, w.vector(file_, b.pre_norm()));
    r.eps = b.pre_norm_eps();
    r.state_block = state_block;
    if (const auto* m = b.op_as_MambaMixer()) {
      MambaBlock mb{m};
      EID_ASSIGN_OR_RETURN(mb.in_proj, w.matrix(file_, m->in_proj()));
      EID_ASSIGN_OR_RETURN(mb.x_proj, w.matrix(file_, m->x_proj()));
      EID_ASSIGN_OR_RETURN(mb.dt_proj, w.matrix(file_, m->dt_proj()));
      EID_ASSIGN_OR_RETURN(mb.out_proj, w.matrix(file_, m->out_proj()));
      EID_ASSIGN_OR_RETURN(mb.conv_w, w.vector(file_, m->conv_weight()));
      EID_ASSIGN_OR_RETURN(mb.d, w.vector(file_, m->d()));
      EID_ASSIGN_OR_RETURN(mb.dt_b, w.vector(file_, m->dt_proj_bias()));
      EID_ASSIGN_OR_RETURN(mb.a, neg_exp(m->a_log()));
      EID_ASSIGN_OR_RETURN(mb.in_b, opt_vec(m->in_proj_bias()));
      EID_ASSIGN_OR_RETURN(mb.conv_b, opt_vec(m->conv_bias()));
      EID_ASSIGN_OR_RETURN(mb.out_b, opt_vec(m->out_proj_bias()));
      r.mixer = mb;
    } else {
      const auto* m2 = b.op_as_Mamba2Mixer();
      Mamba2Block mb{m2};
      EID_ASSIGN_OR_RETURN(mb.in_proj, w.matrix(file_, m2->in_proj()));
      EID_ASSIGN_OR_RETURN(mb.out_proj, w.matrix(file_, m2->out_proj()));
      EID_ASSIGN_OR_RETURN(mb.conv_w, w.vector(file_, m2->conv_weight()));
      EID_ASSIGN_OR_RETURN(mb.dt_bias, w.vector(file_, m2->dt_bias()));
      EID_ASSIGN_OR_RETURN(mb.d, w.vector(file_, m2->d()));
      EID_ASSIGN_OR_RETURN(mb.norm_w, w.vector(file_, m2->norm_weight()));
      EID_ASSIGN_OR_RETURN(mb.a, neg_exp(m2->a_log()));
      EID_ASSIGN_OR_RETURN(mb.in_b, opt_vec(m2->in_proj_bias()));
      EID_ASSIGN_OR_RETURN(mb.conv_b, opt_vec(m2->conv_bias()));
      EID_ASSIGN_OR_RETURN(mb.out_b, opt_vec(m2->out_proj_bias()));
      r.mixer = mb;
    }
    scratch_floats_ = std::max(scratch_floats_, mixer_scratch_floats(r));
    blocks_.push_back(std::move(r));
  }
  EID_TRY(w.finish());

  // State: each block's slice at an offset a binding may start at.
  const VkDeviceSize align = ctx_->info().min_storage_offset_alignment;
  for (const auto& bs : layout_.blocks) {
    state_offsets_.push_back(state_device_bytes_);
    const uint64_t floats = bs.tensors.back().offset + bs.tensors.back().count() - bs.tensors.front().offset;
    if (floats * 4 > ctx_->info().max_storage_buffer_range)
      return unsupported("the state of one block is larger than a Vulkan storage buffer binding may be");
    state_device_bytes_ += (floats * 4 + align - 1) / align * align;
  }

  // Activations: [h | normed h | logits | mixer scratch], each [batch, width];
  // the batch shrinks until the whole fits one binding.
  const uint64_t per_token = 2ull * hidden_ + vocab_ + scratch_floats_;
  const uint64_t fit = ctx_->info().max_storage_buffer_range / 4 / per_token;
  if (fit == 0) return unsupported("one token's activations are larger than a Vulkan storage buffer binding may be");
  batch_ = uint32_t(std::min<uint64_t>({options_.max_batch_tokens, fit, 1u << 16}));
  h_off_ = 0;
  xn_off_ = batch_ * hidden_;
  logits_off_ = 2 * batch_ * hidden_;
  scratch_off_ = logits_off_ + batch_ * vocab_;
  act_floats_ = uint32_t(per_token * batch_);
  return Status::ok();
}

std::string VulkanExecutor::device() const {
  const DeviceInfo& d = ctx_->info();
  std::string s = d.name + ", Vulkan " + std::to_string(VK_API_VERSION_MAJOR(d.api_version)) + "." +
                  std::to_string(VK_API_VERSION_MINOR(d.api_version)) + ", subgroups of " +
                  std::to_string(d.subgroup_size);
  s += d.int_dot ? ", q8/q4 decode in int8 dot products" : ", q8/q4 decode dequantized to f32";
  if (d.coopmat) s += ", prompts on tensor cores";
  return s;
}

Status VulkanExecutor::build_steps(VulkanSession& s) {
  OpBuilder ops(*kernels_, *s.sets_, s.act_.slice(), dummy_.slice());
  auto& out = s.steps_;
  const uint32_t H = hidden_;
  const Operand h{h_off_, H}, xn{xn_off_, H};
  uint32_t next = scratch_off_;
  auto tiled = [](const PassInfo& p) { return p.n > kMatvecMaxTokens; };
  const NormBlock* head_norm = nullptr;  // a final norm fused into the LM head
  for (size_t bi = 0; bi < blocks_.size(); ++bi) {
    const Block& block = blocks_[bi];
    if (const auto* e = std::get_if<EmbedBlock>(&block)) {
      ops.set_label("embed");
      EID_TRY(ops.embed(out, *e->e, s.tokens_.slice(), 0, h));
    } else if (const auto* nb = std::get_if<NormBlock>(&block)) {
      const size_t first = out.size();
      ops.set_label("final_norm");
      EID_TRY(ops.rms_norm(out, H, &nb->w, nb->eps, h, h));
      if (bi + 1 < blocks_.size() && std::holds_alternative<HeadBlock>(blocks_[bi + 1])) {
        // Only the tiled head (every row's logits of a longer pass) needs h normalised first.
        head_norm = nb;
        run_only_if(out, first, [tiled](const PassInfo& p) { return p.head && p.all_logits && tiled(p); });
      }
    } else if (const auto* hb = std::get_if<HeadBlock>(&block)) {
      LinearFusion f;
      if (head_norm) f.norm_w = &head_norm->w, f.norm_eps = head_norm->eps, f.raw_x = h;
      // All rows' logits, or only the last token's, as the pass asks.
      ops.set_label("lm_head");
      for (bool all : {true, false}) {
        const size_t first = out.size();
        EID_TRY(ops.linear(out, *hb->w, nullptr, h, Operand{logits_off_, vocab_}, 0, !all, true, f));
        run_only_if(out, first, [all](const PassInfo& p) { return p.all_logits == all; });
      }
    } else {
      const auto& r = std::get<Residual>(block);
      const Slice state =
          s.state_.slice(state_offsets_[r.state_block], (layout_.blocks[r.state_block].tensors.back().offset +
                                                         layout_.blocks[r.state_block].tensors.back().count() -
                                                         layout_.blocks[r.state_block].tensors.front().offset) *
                                                            4);
      const auto& ts = layout_.blocks[r.state_block].tensors;
      const uint32_t ssm_off = uint32_t(ts[1].offset - ts[0].offset);
      // The pre-norm is fused into in_proj's matrix-vector form; only tiled passes run it.
      const size_t norm_first = out.size();
      ops.set_label("pre_norm");
      EID_TRY(ops.rms_norm(out, H, &r.norm, r.eps, h, xn));
      run_only_if(out, norm_first, tiled);
      LinearFusion f;
      f.norm_w = &r.norm, f.norm_eps = r.eps, f.raw_x = h;
      f.conv = true, f.tail_off = 0, f.state = state;
      auto conv_unless_fused = [](const PassInfo& p) { return p.n != 1; };
      const uint32_t B = batch_;
      next = scratch_off_;
      auto alloc = [&](uint32_t width) {
        const Operand o{next, width};
        next += B * width;
        return o;
      };
      if (const auto* mb = std::get_if<MambaBlock>(&r.mixer)) {
        const auto& m = *mb->m;
        const uint32_t di = m.d_inner(), ds = m.d_state(), rk = m.dt_rank(), dbc_w = rk + 2 * ds;
        const Operand xz = alloc(2 * di), xc = alloc(di), dbc = alloc(dbc_w), dt = alloc(di), y = alloc(di);
        f.conv_row0 = 0, f.channels = di, f.k = m.d_conv(), f.conv_out = xc.off;
        f.conv_w = mb->conv_w, f.conv_b = mb->conv_b ? &*mb->conv_b : nullptr;
        ops.set_label("in_proj");
        EID_TRY(ops.linear(out, *mb->in_proj, mb->in_b ? &*mb->in_b : nullptr, xn, xz, 0, false, false, f));
        const size_t conv_first = out.size();
        ops.set_label("conv");
        EID_TRY(ops.conv1d(out, di, m.d_conv(), mb->conv_w, mb->conv_b ? &*mb->conv_b : nullptr, state, 0, xz, xc));
        run_only_if(out, conv_first, conv_unless_fused);
        ops.set_label("x_proj");
        EID_TRY(ops.linear(out, *mb->x_proj, nullptr, xc, dbc, 0));
        // A decoded token's dt_proj (and FalconMamba's norms) run inside the
        // scan, where the matrix fits one binding.
        const bool dt_in_scan = mb->dt_proj->parts.size() == 1;
        const size_t dt_first = out.size();
        if (m.dt_bc_norm_eps() > 0) {  // FalconMamba: weightless RMSNorm of dt, B and C
          const float eps = m.dt_bc_norm_eps();
          ops.set_label("dt_bc_norm");
          EID_TRY(ops.rms_norm(out, rk, nullptr, eps, dbc, dbc));
          EID_TRY(ops.rms_norm(out, ds, nullptr, eps, {dbc.off + rk, dbc_w}, {dbc.off + rk, dbc_w}));
          EID_TRY(ops.rms_norm(out, ds, nullptr, eps, {dbc.off + rk + ds, dbc_w}, {dbc.off + rk + ds, dbc_w}));
        }
        ops.set_label("dt_proj");
        EID_TRY(ops.linear(out, *mb->dt_proj, &mb->dt_b, dbc, dt, kSoftplus));
        if (dt_in_scan) run_only_if(out, dt_first, [](const PassInfo& p) { return p.n != 1; });
        OpBuilder::SelectiveScan sc{};
        sc.d_inner = di, sc.d_state = ds;
        sc.x = xc, sc.dt = dt, sc.b = {dbc.off + rk, dbc_w}, sc.c = {dbc.off + rk + ds, dbc_w};
        sc.z = {xz.off + di, 2 * di}, sc.y = y;
        sc.a = mb->a, sc.d = mb->d, sc.state = state, sc.s_off = ssm_off;
        if (dt_in_scan) {
          sc.dt_proj = mb->dt_proj, sc.dt_bias = mb->dt_b, sc.dt_x = dbc, sc.dt_rank = rk;
          sc.bc_norm_eps = m.dt_bc_norm_eps();
        }
        ops.set_label("scan");
        EID_TRY(ops.selective_scan(out, sc));
        ops.set_label("out_proj");
        EID_TRY(ops.linear(out, *mb->out_proj, mb->out_b ? &*mb->out_b : nullptr, y, h, kAccumulate));
      } else {
        const auto& mb2 = std::get<Mamba2Block>(r.mixer);
        const auto& m = *mb2.m;
        const uint32_t di = m.d_inner(), ds = m.d_state(), ng = m.n_groups(), nh = m.n_heads();
        const uint32_t conv_dim = di + 2 * ng * ds, proj_w = di + conv_dim + nh;
        const Operand proj = alloc(proj_w), xbc = alloc(conv_dim), y = alloc(di), normed = alloc(di);
        f.conv_row0 = di, f.channels = conv_dim, f.k = m.d_conv(), f.conv_out = xbc.off;
        f.conv_w = mb2.conv_w, f.conv_b = mb2.conv_b ? &*mb2.conv_b : nullptr;
        ops.set_label("in_proj");
        EID_TRY(ops.linear(out, *mb2.in_proj, mb2.in_b ? &*mb2.in_b : nullptr, xn, proj, 0, false, false, f));
        const size_t conv_first = out.size();
        ops.set_label("conv");
        EID_TRY(ops.conv1d(out, conv_dim, m.d_conv(), mb2.conv_w, mb2.conv_b ? &*mb2.conv_b : nullptr, state, 0,
                           {proj.off + di, proj_w}, xbc));
        run_only_if(out, conv_first, conv_unless_fused);
        OpBuilder::SsdScan sc{};
        sc.n_heads = nh, sc.head_dim = m.head_dim(), sc.n_groups = ng, sc.d_state = ds;
        sc.x = xbc, sc.b_off = xbc.off + di, sc.c_off = xbc.off + di + ng * ds;
        sc.dt = {proj.off + di + conv_dim, proj_w};
        sc.y = y;
        sc.dt_bias = mb2.dt_bias, sc.a = mb2.a, sc.d = mb2.d, sc.state = state, sc.s_off = ssm_off;
        sc.dt_min = m.dt_min(), sc.dt_max = m.dt_max();
        ops.set_label("scan");
        EID_TRY(ops.ssd_scan(out, sc));
        // A gated norm over the whole row is fused into out_proj's matrix-vector form.
        const bool fuse_norm = m.norm_groups() == 1;
        const size_t gn_first = out.size();
        ops.set_label("gated_norm");
        EID_TRY(ops.gated_rms_norm(out, di, di / m.norm_groups(), mb2.norm_w, m.norm_eps(), y, proj, normed));
        if (fuse_norm) run_only_if(out, gn_first, tiled);
        LinearFusion g;
        if (fuse_norm) g.norm_w = &mb2.norm_w, g.norm_eps = m.norm_eps(), g.raw_x = y, g.gate = true, g.z = proj;
        ops.set_label("out_proj");
        EID_TRY(
            ops.linear(out, *mb2.out_proj, mb2.out_b ? &*mb2.out_b : nullptr, normed, h, kAccumulate, false, false, g));
      }
    }
  }
  return Status::ok();
}

// Copies bytes from a device buffer into the read-back buffer, made visible to the host.
static void copy_for_host(VkCommandBuffer cmd, const Buffer& src, VkDeviceSize offset, VkDeviceSize bytes,
                          const Buffer& readback) {
  VkBufferCopy region{offset, 0, bytes};
  vkCmdCopyBuffer(cmd, src.handle(), readback.handle(), 1, &region);
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0,
                       nullptr);
}

// The pass's dispatches, then what the host reads: the logits, or (top) the
// selection's candidates.
Status VulkanExecutor::record_pass(VulkanSession& s, VkCommandBuffer cmd, const PassInfo& pass, uint32_t logit_rows,
                                   const VulkanSession::TopKPlan* top, StepProfiler* profiler) {
  if (profiler) profiler->begin(cmd);
  record_steps(cmd, s.steps_, pass, profiler);
  if (!pass.head) return Status::ok();
  if (top) {
    record_steps(cmd, top->steps, pass, profiler);
    copy_for_host(cmd, s.cand_, VkDeviceSize(top->result_off) * 8, VkDeviceSize(top->kpad) * 8, s.readback_);
  } else if (logit_rows) {
    copy_for_host(cmd, s.act_, VkDeviceSize(logits_off_) * 4, VkDeviceSize(logit_rows) * vocab_ * 4, s.readback_);
  }
  return Status::ok();
}

Result<VulkanSession::TopKPlan*> VulkanExecutor::top_k_plan(VulkanSession& s, uint32_t kpad) {
  auto it = s.top_plans_.find(kpad);
  if (it != s.top_plans_.end()) return &it->second;
  VulkanSession::TopKPlan plan;
  plan.kpad = kpad;
  OpBuilder ops(*kernels_, *s.sets_, s.act_.slice(), dummy_.slice());
  ops.set_label("top_k");
  EID_ASSIGN_OR_RETURN(plan.result_off, ops.top_k(plan.steps, vocab_, logits_off_, kpad, s.cand_.slice()));
  EID_ASSIGN_OR_RETURN(plan.profiler,
                       StepProfiler::create_if_enabled(*ctx_, uint32_t(s.steps_.size() + plan.steps.size())));
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = ctx_->pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  EID_VK(vkAllocateCommandBuffers(ctx_->device(), &ai, &plan.decode_cmd));
  VulkanSession::TopKPlan& p = s.top_plans_.emplace(kpad, std::move(plan)).first->second;
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  EID_VK(vkBeginCommandBuffer(p.decode_cmd, &bi));
  EID_TRY(record_pass(s, p.decode_cmd, PassInfo{1, false, true}, 1, &p, p.profiler.get()));
  EID_VK(vkEndCommandBuffer(p.decode_cmd));
  return &p;
}

Result<std::unique_ptr<BackendSession>> VulkanExecutor::create_session() {
  auto s = std::make_unique<VulkanSession>(*this);
  Context& c = *ctx_;
  EID_ASSIGN_OR_RETURN(s->act_, Buffer::create(c, VkDeviceSize(act_floats_) * 4, Memory::kDevice));
  EID_ASSIGN_OR_RETURN(s->state_, Buffer::create(c, std::max<VkDeviceSize>(state_device_bytes_, 16), Memory::kDevice));
  EID_ASSIGN_OR_RETURN(s->tokens_, Buffer::create(c, VkDeviceSize(batch_) * 4, Memory::kUpload));
  EID_ASSIGN_OR_RETURN(
      s->readback_,
      Buffer::create(c, std::max<VkDeviceSize>(VkDeviceSize(batch_) * vocab_ * 4, kMaxTopK * 8), Memory::kReadback));
  EID_ASSIGN_OR_RETURN(s->cand_, Buffer::create(c, VkDeviceSize(top_k_pairs(vocab_)) * 8, Memory::kDevice));
  s->host_logits_.resize(vocab_);
  s->rank_.resize(vocab_);
  s->sets_ = std::make_unique<DescriptorAllocator>(c);
  EID_TRY(build_steps(*s));

  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = c.pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 2;
  VkCommandBuffer cmds[2];
  EID_VK(vkAllocateCommandBuffers(c.device(), &ai, cmds));
  s->decode_cmd_ = cmds[0], s->pass_cmd_ = cmds[1];
  // The decode step, recorded once: one token in, its logits out.
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  EID_VK(vkBeginCommandBuffer(s->decode_cmd_, &bi));
  EID_TRY(record_pass(*s, s->decode_cmd_, PassInfo{1, false, true}, 1, nullptr));
  EID_VK(vkEndCommandBuffer(s->decode_cmd_));
  s->reset();  // the state starts at zeros
  EID_TRY(s->pending_);
  return std::unique_ptr<BackendSession>(std::move(s));
}

Status VulkanExecutor::forward(BackendSession& session, const int32_t* tokens, size_t n, const ForwardOutput& out) {
  auto& s = static_cast<VulkanSession&>(session);
  if (!s.pending_.is_ok()) {
    Status e = s.pending_;
    s.pending_ = Status::ok();
    return e;
  }
  const bool all_logits = out.all_logits;
  // Up to kMaxTopK candidates are selected on the device, for the next power of two.
  VulkanSession::TopKPlan* top = nullptr;
  if (out.top.k && !all_logits && out.top.k <= kMaxTopK) {
    uint32_t kpad = 1;
    while (kpad < out.top.k) kpad *= 2;
    EID_ASSIGN_OR_RETURN(top, top_k_plan(s, kpad));
  }
  for (size_t start = 0; start < n; start += batch_) {
    const uint32_t m = uint32_t(std::min<size_t>(batch_, n - start));
    const bool last = start + m == n;
    std::memcpy(s.tokens_.mapped(), tokens + start, m * sizeof(int32_t));
    VkCommandBuffer cmd = last && top ? top->decode_cmd : s.decode_cmd_;
    const uint32_t rows = all_logits ? m : 1;
    if (m > 1 || all_logits) {
      // A prompt chunk: recorded for its length (recording is cheap next to the pass).
      cmd = s.pass_cmd_;
      EID_VK(vkResetCommandBuffer(cmd, 0));
      VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
      bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
      EID_VK(vkBeginCommandBuffer(cmd, &bi));
      EID_TRY(record_pass(s, cmd, PassInfo{m, all_logits, all_logits || last}, rows, last ? top : nullptr));
      EID_VK(vkEndCommandBuffer(cmd));
    }
    EID_TRY(ctx_->submit_wait(cmd));
    if (top && cmd == top->decode_cmd && top->profiler) EID_TRY(top->profiler->collect());
    s.last_row_ = rows - 1;
    if (all_logits) {
      std::memcpy(out.logits + start * vocab_, s.readback_.mapped(), size_t(m) * vocab_ * 4);
    } else if (last && top) {
      const auto* pairs = static_cast<const uint32_t*>(s.readback_.mapped());
      for (size_t i = 0; i < out.top.k; ++i) {
        out.top.logits[i] = from_order_key(pairs[2 * i]);
        out.top.ids[i] = int32_t(pairs[2 * i + 1]);
      }
    } else if (last && out.top.k) {
      std::memcpy(s.host_logits_.data(), s.readback_.mapped(), size_t(vocab_) * 4);
      select_top_k(s.host_logits_.data(), vocab_, out.top, s.rank_.data());
    } else if (last) {
      std::memcpy(out.logits, s.readback_.mapped(), size_t(vocab_) * 4);
    }
  }
  return Status::ok();
}

Status VulkanExecutor::read_logits(BackendSession& session, float* logits) {
  auto& s = static_cast<VulkanSession&>(session);
  EID_ASSIGN_OR_RETURN(VkCommandBuffer cmd, ctx_->begin_once());
  copy_for_host(cmd, s.act_, (VkDeviceSize(logits_off_) + VkDeviceSize(s.last_row_) * vocab_) * 4,
                VkDeviceSize(vocab_) * 4, s.readback_);
  EID_TRY(ctx_->end_once(cmd));
  std::memcpy(logits, s.readback_.mapped(), size_t(vocab_) * 4);
  return Status::ok();
}

// ---- Session state: copies on the device, staging buffers to and from the host ----

VulkanSession::~VulkanSession() {
  VkCommandBuffer cmds[2] = {decode_cmd_, pass_cmd_};
  if (decode_cmd_) vkFreeCommandBuffers(ex_.ctx().device(), ex_.ctx().pool(), 2, cmds);
  for (auto& [kpad, plan] : top_plans_)
    if (plan.decode_cmd) vkFreeCommandBuffers(ex_.ctx().device(), ex_.ctx().pool(), 1, &plan.decode_cmd);
}

void VulkanSession::reset() {
  Context& c = ex_.ctx();
  auto cmd = c.begin_once();
  if (!cmd) {
    pending_ = cmd.status();
    return;
  }
  vkCmdFillBuffer(*cmd, state_.handle(), 0, VK_WHOLE_SIZE, 0);
  full_barrier(*cmd);
  Status s = c.end_once(*cmd);
  if (!s.is_ok()) pending_ = s;
}

Status VulkanSession::copy_state_from(const BackendSession& other) {
  const auto* o = dynamic_cast<const VulkanSession*>(&other);
  if (!o || &o->ex_ != &ex_) return invalid_argument("sessions belong to different models");
  if (o == this) return Status::ok();
  Context& c = ex_.ctx();
  EID_ASSIGN_OR_RETURN(VkCommandBuffer cmd, c.begin_once());
  VkBufferCopy region{0, 0, state_.size()};
  vkCmdCopyBuffer(cmd, o->state_.handle(), state_.handle(), 1, &region);
  full_barrier(cmd);
  return c.end_once(cmd);
}

size_t VulkanSession::state_bytes() const { return ex_.layout().bytes(); }

// The host sees the state in the layout every backend uses (StateLayout: the
// blocks packed one after the other); on the device each block starts aligned.
static std::vector<VkBufferCopy> state_regions(const VulkanExecutor& ex, bool to_host) {
  std::vector<VkBufferCopy> regions;
  const auto& blocks = ex.layout().blocks;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const VkDeviceSize host = blocks[i].tensors.front().offset * 4;
    const VkDeviceSize bytes = (blocks[i].tensors.back().offset + blocks[i].tensors.back().count()) * 4 - host;
    const VkDeviceSize dev = ex.state_offsets()[i];
    regions.push_back(to_host ? VkBufferCopy{dev, host, bytes} : VkBufferCopy{host, dev, bytes});
  }
  return regions;
}

Status VulkanSession::read_state(void* dst, size_t bytes) const {
  if (bytes != state_bytes()) return invalid_argument("state buffer size does not match the model's state");
  if (!bytes) return Status::ok();
  Context& c = ex_.ctx();
  EID_ASSIGN_OR_RETURN(Buffer staging, Buffer::create(c, bytes, Memory::kReadback));
  EID_ASSIGN_OR_RETURN(VkCommandBuffer cmd, c.begin_once());
  const auto regions = state_regions(ex_, true);
  vkCmdCopyBuffer(cmd, state_.handle(), staging.handle(), uint32_t(regions.size()), regions.data());
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0,
                       nullptr);
  EID_TRY(c.end_once(cmd));
  std::memcpy(dst, staging.mapped(), bytes);
  return Status::ok();
}

Status VulkanSession::write_state(const void* src, size_t bytes) {
  if (bytes != state_bytes()) return invalid_argument("state buffer size does not match the model's state");
  if (!bytes) return Status::ok();
  Context& c = ex_.ctx();
  EID_ASSIGN_OR_RETURN(Buffer staging, Buffer::create(c, bytes, Memory::kUpload));
  std::memcpy(staging.mapped(), src, bytes);
  EID_ASSIGN_OR_RETURN(VkCommandBuffer cmd, c.begin_once());
  const auto regions = state_regions(ex_, false);
  vkCmdCopyBuffer(cmd, staging.handle(), state_.handle(), uint32_t(regions.size()), regions.data());
  full_barrier(cmd);
  return c.end_once(cmd);
}

}  // namespace

Result<std::unique_ptr<Executor>> create_vulkan_executor(const ModelFile& model, const BackendOptions& options) {
  if (options.max_batch_tokens < 1) return invalid_argument("max_batch_tokens must be at least 1");
  auto ex = std::make_unique<VulkanExecutor>(model, options);
  EID_TRY(ex->init());
  return std::unique_ptr<Executor>(std::move(ex));
}

}  // namespace eidetic::vk
