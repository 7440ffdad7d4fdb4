#include "backends/vulkan/vk_ops.h"

#include <algorithm>
#include <cstdlib>

namespace eidetic::vk {
namespace {

// Push-constant blocks, field for field as in the shaders.
struct LinearPush {
  uint32_t K, row_stride, rows, row0, x_off, x_stride, y_off, y_stride, flags, bias_off, n;
  float norm_eps;  // the rest: matvec.comp only
  uint32_t conv_row0, conv_channels, conv_k, conv_off, tail_off, conv_has_bias;
  uint32_t z_off, z_stride;
};
enum : uint32_t { kNormX = 8, kConv = 16, kGate = 32 };
struct EmbedPush {
  uint32_t K, row_stride, rows, row0, out_off, out_stride, tok_off;
};
struct NormPush {
  uint32_t dim, x_off, x_stride, y_off, y_stride;
  float eps;
  uint32_t has_w;
};
struct GatedNormPush {
  uint32_t group_size, x_off, x_stride, z_off, z_stride, y_off, y_stride;
  float eps;
};
struct ConvPush {
  uint32_t channels, k, n, in_off, in_stride, out_off, out_stride, has_bias, tail_off, mode;
};
struct SelectiveScanPush {
  uint32_t n, d_inner, d_state, x_off, x_stride, dt_off, dt_stride, b_off, c_off, bc_stride, z_off, z_stride, y_off,
      y_stride, s_off, dt_rank, w_row_stride;
  float bc_norm_eps;
};
struct SsdScanPush {
  uint32_t n, head_dim, heads_per_group, d_state, x_off, x_stride, b_off, c_off, dt_off, dt_stride, y_off, y_stride,
      s_off;
  float dt_min, dt_max;
};

struct TopKPush {
  uint32_t n_in, in_off, out_off, from_logits;
};

uint32_t ceil_div(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

bool is_quant(fb::DType t) { return t == fb::DType::Q8 || t == fb::DType::Q4; }

// ssd_chunked.comp: tokens per chunk, head elements per workgroup.
constexpr uint32_t kSsdChunk = 32, kSsdTile = 16;

// top_k.comp: entries per workgroup, threads per workgroup.
constexpr uint32_t kTopKBlock = 1024, kTopKThreads = 256;

// A grid of `count` workgroups along x, folded into y past 65535 (the least
// every device allows per dimension); the shader unfolds it.
void fold_grid(uint32_t count, Launch& l) {
  l.groups[0] = std::min<uint32_t>(std::max<uint32_t>(count, 1), 65535);
  l.groups[1] = ceil_div(std::max<uint32_t>(count, 1), l.groups[0]);
}

// The matrix-vector kernel's workgroup for a matrix: `rows` rows per
// workgroup, `threads` threads striding each row in CHUNKs. Decode is bound
// by latency, not bandwidth: a thread must have several independent loads in
// flight and the grid must fill the GPU. So rows per workgroup (8 for Q8 / Q4,
// whose weights are fewer bytes than their x; 1 for the rest) shrink until
// there are kMatvecMinGroups workgroups, and wide rows get more threads, until
// each has about kMatvecChunksPerThread CHUNKs (at least a subgroup of 32,
// at most 256). EIDETIC_VULKAN_MV_MIN_GROUPS / _MV_CHUNKS override the two
// targets (for measuring).
struct MatvecShape {
  uint32_t threads, rows;
};
uint32_t env_or(const char* name, uint32_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? uint32_t(std::strtoul(v, nullptr, 10)) : fallback;
}
MatvecShape matvec_shape(const WeightMatrix& w, uint32_t subgroup_size) {
  const bool quant = is_quant(w.dtype);
  const uint32_t chunk = quant ? 32 : w.dtype == fb::DType::F32 ? 4 : 8;  // weights.glsl's CHUNK
  static const uint32_t min_groups = env_or("EIDETIC_VULKAN_MV_MIN_GROUPS", 512);
  static const uint32_t chunks_per_thread = std::max<uint32_t>(1, env_or("EIDETIC_VULKAN_MV_CHUNKS", 4));
  MatvecShape s{std::max<uint32_t>(32, std::min<uint32_t>(subgroup_size, 128)), quant ? 8u : 1u};
  while (s.rows > 1 && ceil_div(w.rows, s.rows) < min_groups) s.rows /= 2;
  const uint32_t chunks = ceil_div(w.cols, chunk);
  while (s.threads < 256 && s.threads * chunks_per_thread < chunks) s.threads *= 2;
  return s;
}

}  // namespace

const char* weight_suffix(fb::DType t) {
  switch (t) {
    case fb::DType::F32: return "f32";
    case fb::DType::F16: return "f16";
    case fb::DType::BF16: return "bf16";
    case fb::DType::Q8: return "q8";
    case fb::DType::Q4: return "q4";
  }
  return "?";
}

std::string OpBuilder::row_form(fb::DType t) const {
  return std::string(weight_suffix(t)) + (is_quant(t) && k_.context().info().int_dot ? "_dot" : "");
}

Step OpBuilder::make_step(const Pipeline* pipe) const {
  Step s;
  s.pipe = pipe;
  s.label = label_;
  return s;
}

void record_steps(VkCommandBuffer cmd, const std::vector<Step>& steps, const PassInfo& pass, StepProfiler* profiler) {
  const Pipeline* bound = nullptr;
  for (const Step& s : steps) {
    Launch l;
    if (!s.launch(pass, l)) continue;
    if (s.pipe != bound) vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipe->pipeline);
    bound = s.pipe;
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipe->layout, 0, 1, &s.set, 0, nullptr);
    if (l.push_bytes) vkCmdPushConstants(cmd, s.pipe->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, l.push_bytes, l.push);
    vkCmdDispatch(cmd, l.groups[0], l.groups[1], l.groups[2]);
    full_barrier(cmd);
    if (profiler) profiler->mark(cmd, s.label.empty() ? s.pipe->name : s.label + " " + s.pipe->name);
  }
}

void run_only_if(std::vector<Step>& steps, size_t first, std::function<bool(const PassInfo&)> pred) {
  for (size_t i = first; i < steps.size(); ++i) {
    auto inner = std::move(steps[i].launch);
    steps[i].launch = [inner, pred](const PassInfo& p, Launch& l) { return pred(p) && inner(p, l); };
  }
}

Status OpBuilder::linear(std::vector<Step>& out, const WeightMatrix& w, const Slice* bias, Operand x, Operand y,
                         uint32_t flags, bool last_only, bool head, const LinearFusion& fuse) {
  const std::string sfx = weight_suffix(w.dtype);
  const MatvecShape shape = matvec_shape(w, k_.context().info().subgroup_size);
  const uint32_t mv_wg = shape.threads, mv_rows = shape.rows;
  const std::string mv_name = "matvec_" + row_form(w.dtype);
  EID_ASSIGN_OR_RETURN(const Pipeline* mv, k_.get(mv_name, mv_wg, mv_rows));
  // The tiled form on tensor cores where the device has them; f32 weights keep
  // the f32 kernel (the tensor-core path rounds both operands to f16).
  const bool coop = k_.context().info().coopmat && w.dtype != fb::DType::F32;
  EID_ASSIGN_OR_RETURN(const Pipeline* mm, k_.get((coop ? "matmul_coop_" : "matmul_") + sfx));
  // Rows and tokens per workgroup of the tiled form (matmul_coop.comp, matmul.comp).
  const uint32_t mm_rows = coop ? 64 : 128, mm_tokens = coop ? 64 : 32;
  if (bias) flags |= kBias;
  for (const auto& part : w.parts) {
    const Slice scales = part.scales.buffer ? part.scales : dummy_;
    const Slice b = bias ? *bias : dummy_;
    LinearPush base{w.cols, w.row_stride, part.rows, part.row0, x.off, x.stride, y.off, y.stride, flags, 0, 0};
    for (const Pipeline* pipe : {mv, mm}) {
      const bool is_mv = pipe == mv;
      Step s = make_step(pipe);
      if (is_mv) {
        EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pipe, {part.data, act_, b, scales, fuse.norm_w ? *fuse.norm_w : dummy_,
                                                       fuse.conv ? fuse.conv_w : dummy_,
                                                       fuse.conv && fuse.conv_b ? *fuse.conv_b : dummy_,
                                                       fuse.conv ? fuse.state : dummy_}));
      } else {
        EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pipe, {part.data, act_, b, scales}));
      }
      LinearPush q = base;
      if (is_mv && fuse.norm_w) {
        q.flags |= kNormX, q.norm_eps = fuse.norm_eps;
        q.x_off = fuse.raw_x.off, q.x_stride = fuse.raw_x.stride;
        if (fuse.gate) q.flags |= kGate, q.z_off = fuse.z.off, q.z_stride = fuse.z.stride;
      }
      if (is_mv && fuse.conv) {
        q.conv_row0 = fuse.conv_row0, q.conv_channels = fuse.channels, q.conv_k = fuse.k;
        q.conv_off = fuse.conv_out, q.tail_off = fuse.tail_off, q.conv_has_bias = fuse.conv_b ? 1 : 0;
      }
      const bool conv = is_mv && fuse.conv;
      s.launch = [q, last_only, head, is_mv, conv, mm_rows, mm_tokens, mv_rows](const PassInfo& pass, Launch& l) {
        if (head && !pass.head) return false;
        LinearPush p = q;
        p.n = pass.n;
        if (last_only) p.x_off += (pass.n - 1) * p.x_stride, p.n = 1;
        if (is_mv != (p.n <= kMatvecMaxTokens)) return false;
        if (conv && p.n == 1) p.flags |= kConv;
        l.set_push(p);
        if (is_mv) {
          fold_grid(ceil_div(p.rows, mv_rows), l);
          l.groups[2] = p.n;
        } else {
          l.groups[0] = ceil_div(p.rows, mm_rows);
          l.groups[1] = ceil_div(p.n, mm_tokens);
        }
        return true;
      };
      out.push_back(std::move(s));
    }
  }
  return Status::ok();
}

Status OpBuilder::embed(std::vector<Step>& out, const WeightMatrix& e, Slice tokens, uint32_t token_off, Operand h) {
  EID_ASSIGN_OR_RETURN(const Pipeline* pipe, k_.get(std::string("embed_") + weight_suffix(e.dtype)));
  for (const auto& part : e.parts) {
    Step s = make_step(pipe);
    EID_ASSIGN_OR_RETURN(s.set,
                         sets_.make(*pipe, {part.data, tokens, act_, part.scales.buffer ? part.scales : dummy_}));
    const EmbedPush p{e.cols, e.row_stride, part.rows, part.row0, h.off, h.stride, token_off};
    const uint32_t wg = pipe->workgroup;
    s.launch = [p, wg](const PassInfo& pass, Launch& l) {
      l.set_push(p);
      l.groups[0] = ceil_div(p.K, wg);
      l.groups[1] = pass.n;
      return true;
    };
    out.push_back(std::move(s));
  }
  return Status::ok();
}

Status OpBuilder::rms_norm(std::vector<Step>& out, uint32_t dim, const Slice* w, float eps, Operand x, Operand y) {
  EID_ASSIGN_OR_RETURN(const Pipeline* pipe, k_.get("rms_norm"));
  Step s = make_step(pipe);
  EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pipe, {act_, w ? *w : dummy_}));
  const NormPush p{dim, x.off, x.stride, y.off, y.stride, eps, w ? 1u : 0u};
  s.launch = [p](const PassInfo& pass, Launch& l) {
    l.set_push(p);
    l.groups[0] = pass.n;
    return true;
  };
  out.push_back(std::move(s));
  return Status::ok();
}

Status OpBuilder::gated_rms_norm(std::vector<Step>& out, uint32_t dim, uint32_t group_size, Slice w, float eps,
                                 Operand x, Operand z, Operand y) {
  EID_ASSIGN_OR_RETURN(const Pipeline* pipe, k_.get("gated_rms_norm"));
  Step s = make_step(pipe);
  EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pipe, {act_, w}));
  const GatedNormPush p{group_size, x.off, x.stride, z.off, z.stride, y.off, y.stride, eps};
  const uint32_t groups = dim / group_size;
  s.launch = [p, groups](const PassInfo& pass, Launch& l) {
    l.set_push(p);
    l.groups[0] = groups;
    l.groups[1] = pass.n;
    return true;
  };
  out.push_back(std::move(s));
  return Status::ok();
}

Status OpBuilder::conv1d(std::vector<Step>& out, uint32_t channels, uint32_t k, Slice w, const Slice* bias, Slice state,
                         uint32_t tail_off, Operand x, Operand y) {
  EID_ASSIGN_OR_RETURN(const Pipeline* pipe, k_.get("conv1d"));
  const uint32_t wg = pipe->workgroup;
  for (uint32_t mode : {0u, 1u}) {  // outputs, then the tail (conv1d.comp)
    Step s = make_step(pipe);
    EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pipe, {act_, w, bias ? *bias : dummy_, state}));
    const ConvPush p{channels, k, 0, x.off, x.stride, y.off, y.stride, bias ? 1u : 0u, tail_off, mode};
    s.launch = [p, wg](const PassInfo& pass, Launch& l) {
      ConvPush q = p;
      q.n = pass.n;
      l.set_push(q);
      l.groups[0] = ceil_div(q.channels, wg);
      l.groups[1] = q.mode == 0 ? pass.n : 1;
      return true;
    };
    out.push_back(std::move(s));
  }
  return Status::ok();
}

Status OpBuilder::selective_scan(std::vector<Step>& out, const SelectiveScan& a) {
  // One thread per channel, its d_state states in registers (specialization constant 1).
  const SelectiveScanPush p{0,           a.d_inner,  a.d_state, a.x.off,    a.x.stride, a.dt.off,
                            a.dt.stride, a.b.off,    a.c.off,   a.b.stride, a.z.off,    a.z.stride,
                            a.y.off,     a.y.stride, a.s_off,   0,          0,          0.0f};
  const bool fused = a.dt_proj != nullptr;
  if (fused && a.dt_proj->parts.size() != 1)
    return invalid_argument("Vulkan: the scan's dt_proj must lie in one binding");
  for (bool with_dt : {false, true}) {
    if (with_dt && !fused) break;
    std::string name = "selective_scan";
    SelectiveScanPush q = p;
    std::vector<Slice> bind = {act_, a.a, a.d, a.state, dummy_, dummy_, dummy_};
    if (with_dt) {
      const WeightMatrix& w = *a.dt_proj;
      name += "_dt_" + row_form(w.dtype);
      q.dt_off = a.dt_x.off, q.dt_stride = a.dt_x.stride, q.dt_rank = a.dt_rank, q.w_row_stride = w.row_stride;
      q.bc_norm_eps = a.bc_norm_eps;
      bind[4] = w.parts[0].data, bind[5] = w.parts[0].scales.buffer ? w.parts[0].scales : dummy_, bind[6] = a.dt_bias;
    }
    EID_ASSIGN_OR_RETURN(const Pipeline* pipe, k_.get(name, 0, a.d_state));
    Step s = make_step(pipe);
    EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pipe, bind));
    const uint32_t wg = pipe->workgroup;
    s.launch = [q, wg, fused, with_dt](const PassInfo& pass, Launch& l) {
      if (fused && with_dt != (pass.n == 1)) return false;
      SelectiveScanPush r = q;
      r.n = pass.n;
      l.set_push(r);
      l.groups[0] = ceil_div(r.d_inner, wg);
      return true;
    };
    out.push_back(std::move(s));
  }
  return Status::ok();
}

Status OpBuilder::ssd_scan(std::vector<Step>& out, const SsdScan& a) {
  // Threads over the state index, up to 8 states each (ssd_scan.comp's MAXJ):
  // 32 threads (one subgroup on most GPUs: no barriers) up to d_state 256.
  uint32_t wg = 32;
  while (wg * 8 < a.d_state && wg < 256) wg *= 2;
  if (a.d_state > 8 * wg) return unsupported("Vulkan: Mamba-2 d_state above 2048");
  EID_ASSIGN_OR_RETURN(const Pipeline* pipe, k_.get("ssd_scan", wg));
  const SsdScanPush p{0,           a.head_dim, a.n_heads / a.n_groups,
                      a.d_state,   a.x.off,    a.x.stride,
                      a.b_off,     a.c_off,    a.dt.off,
                      a.dt.stride, a.y.off,    a.y.stride,
                      a.s_off,     a.dt_min,   a.dt_max};
  // Prompts of kSsdChunkedMinTokens or more take the chunked form
  // (ssd_chunked.comp) where its tiles fit the device's shared memory.
  const uint32_t shared_bytes =
      4 * (kSsdTile * a.d_state + kSsdChunk * kSsdChunk + kSsdChunk * kSsdTile + 4 * kSsdChunk);
  const bool chunked = shared_bytes <= k_.context().info().max_shared_memory;
  const Pipeline* chunk_pipe = nullptr;
  if (chunked) {
    EID_ASSIGN_OR_RETURN(chunk_pipe, k_.get("ssd_chunked", 256, a.d_state));
  }
  const uint32_t heads = a.n_heads;
  for (const Pipeline* pl : {pipe, chunk_pipe}) {
    if (!pl) continue;
    Step s = make_step(pl);
    EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pl, {act_, a.dt_bias, a.a, a.d, a.state}));
    const bool is_chunked = pl == chunk_pipe;
    s.launch = [p, heads, is_chunked, chunked](const PassInfo& pass, Launch& l) {
      if (is_chunked != (chunked && pass.n >= kSsdChunkedMinTokens)) return false;
      SsdScanPush q = p;
      q.n = pass.n;
      l.set_push(q);
      l.groups[0] = is_chunked ? ceil_div(q.head_dim, kSsdTile) : q.head_dim;
      l.groups[1] = heads;
      return true;
    };
    out.push_back(std::move(s));
  }
  return Status::ok();
}

// Passes ping-pong between two regions of `cand`: the first pass's output
// (region A, at 0) is the largest, the second's (B) follows it.
uint32_t top_k_pairs(uint32_t vocab) {
  const uint32_t a = ceil_div(vocab, kTopKBlock) * kMaxTopK;
  return a + ceil_div(a, kTopKBlock) * kMaxTopK;
}

Result<uint32_t> OpBuilder::top_k(std::vector<Step>& out, uint32_t vocab, uint32_t logits_off, uint32_t kpad,
                                  Slice cand) {
  if (kpad == 0 || kpad > kMaxTopK || (kpad & (kpad - 1)))
    return Status(Code::kBackendError, "Vulkan: top-k of " + std::to_string(kpad) + " is no power of two up to 256");
  EID_ASSIGN_OR_RETURN(const Pipeline* pipe, k_.get("top_k", kTopKThreads, kpad));
  const uint32_t region_b = ceil_div(vocab, kTopKBlock) * kMaxTopK;
  uint32_t n = vocab, in_off = logits_off, out_off = 0;
  for (bool first = true; first || n > kpad; first = false) {
    Step s = make_step(pipe);
    EID_ASSIGN_OR_RETURN(s.set, sets_.make(*pipe, {act_, cand}));
    const TopKPush p{n, in_off, out_off, first ? 1u : 0u};
    const uint32_t groups = ceil_div(n, kTopKBlock);
    s.launch = [p, groups](const PassInfo&, Launch& l) {
      l.set_push(p);
      l.groups[0] = groups;
      return true;
    };
    out.push_back(std::move(s));
    n = groups * kpad;
    in_off = out_off;
    out_off = out_off == 0 ? region_b : 0;
  }
  return in_off;
}

}  // namespace eidetic::vk
