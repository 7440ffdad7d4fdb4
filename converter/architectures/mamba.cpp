#include "converter/architectures/mamba.h"

#include <cmath>

namespace eidetic::convert {
namespace {

struct StackShape {
  uint32_t hidden = 0, vocab = 0, layers = 0;
  float norm_eps = 1e-5f;
  bool tied = true;
};

Result<StackShape> read_stack_shape(const HfConfig& c) {
  StackShape s;
  EID_ASSIGN_OR_RETURN(int64_t hidden, c.integer("hidden_size"));
  EID_ASSIGN_OR_RETURN(int64_t vocab, c.integer("vocab_size"));
  EID_ASSIGN_OR_RETURN(int64_t layers, c.integer("num_hidden_layers"));
  EID_ASSIGN_OR_RETURN(double eps, c.number_or("layer_norm_epsilon", 1e-5));
  EID_ASSIGN_OR_RETURN(s.tied, c.boolean_or("tie_word_embeddings", true));
  if (hidden <= 0 || vocab <= 0 || layers <= 0 || eps <= 0)
    return invalid_model(c.path() +
                         ": hidden_size, vocab_size, num_hidden_layers and layer_norm_epsilon must be positive");
  s.hidden = uint32_t(hidden);
  s.vocab = uint32_t(vocab);
  s.layers = uint32_t(layers);
  s.norm_eps = float(eps);
  return s;
}

// The layer-independent part of every Mamba-family model: embedding first,
// then the caller's layers, then norm_f and the (possibly tied) LM head.
template <typename LayerFn>
Status build_stack(ConvertContext& ctx, ModelInfo* info, const StackShape& s, LayerFn&& add_mixer) {
  auto& fbb = ctx.fbb();
  const uint64_t hidden = s.hidden, vocab = s.vocab;
  EID_ASSIGN_OR_RETURN(int embedding, ctx.vocab_matrix("backbone.embeddings.weight", {vocab, hidden}));
  ctx.writer().add_block(fb::CreateBlock(fbb, fbb.CreateString("embedding"), fb::BlockOp::Embedding,
                                         fb::CreateEmbedding(fbb, embedding).Union()));
  for (uint32_t i = 0; i < s.layers; ++i) {
    const std::string prefix = "backbone.layers." + std::to_string(i) + ".";
    EID_ASSIGN_OR_RETURN(int norm, ctx.small(prefix + "norm.weight", {hidden}));
    EID_ASSIGN_OR_RETURN(auto mixer, add_mixer(prefix + "mixer."));
    ctx.writer().add_block(fb::CreateBlock(fbb, fbb.CreateString("layers." + std::to_string(i)), mixer.first,
                                           mixer.second, /*residual=*/true, norm, s.norm_eps));
  }
  EID_ASSIGN_OR_RETURN(int norm_f, ctx.small("backbone.norm_f.weight", {hidden}));
  ctx.writer().add_block(fb::CreateBlock(fbb, fbb.CreateString("norm_f"), fb::BlockOp::Norm,
                                         fb::CreateNorm(fbb, norm_f, s.norm_eps).Union()));
  int head = embedding;
  if (!s.tied || ctx.checkpoint().has("lm_head.weight")) {
    EID_ASSIGN_OR_RETURN(head, ctx.vocab_matrix("lm_head.weight", {vocab, hidden}));
  }
  ctx.writer().add_block(
      fb::CreateBlock(fbb, fbb.CreateString("lm_head"), fb::BlockOp::LmHead, fb::CreateLmHead(fbb, head).Union()));
  info->hidden_size = s.hidden;
  info->vocab_size = s.vocab;
  return Status::ok();
}

// transformers' Mamba2ForCausalLM applies its gated RMSNorm over the whole of
// d_inner, whatever n_groups is (checked against its outputs in the golden
// tests); mamba_ssm would use n_groups here.
constexpr uint32_t kTransformersNormGroups = 1;

using MixerRef = std::pair<fb::BlockOp, flatbuffers::Offset<void>>;

// HF's conv1d weight is [channels, 1, kernel]; we store [channels, kernel].
Result<int> conv_weight(ConvertContext& ctx, const std::string& name, uint64_t channels, uint64_t kernel) {
  EID_ASSIGN_OR_RETURN(auto values, ctx.checkpoint().load_f32(name, {channels, 1, kernel}));
  return ctx.write(name, {channels, kernel}, values, fb::DType::F32);
}

}  // namespace

Status convert_mamba(ConvertContext& ctx, ModelInfo* info) {
  const HfConfig& c = ctx.config();
  EID_ASSIGN_OR_RETURN(StackShape s, read_stack_shape(c));
  EID_ASSIGN_OR_RETURN(int64_t d_state, c.integer("state_size"));
  EID_ASSIGN_OR_RETURN(int64_t d_conv, c.integer("conv_kernel"));
  EID_ASSIGN_OR_RETURN(int64_t expand, c.integer_or("expand", 2));
  EID_ASSIGN_OR_RETURN(int64_t d_inner, c.integer_or("intermediate_size", expand * s.hidden));
  int64_t dt_rank = (s.hidden + 15) / 16;  // "auto"
  if (c.has("time_step_rank") && !c.json()["time_step_rank"].is_string()) {
    EID_ASSIGN_OR_RETURN(dt_rank, c.integer("time_step_rank"));
  }
  const bool falcon = c.json().value("model_type", "") == "falcon_mamba";
  EID_ASSIGN_OR_RETURN(double mixer_eps, c.number_or("mixer_rms_eps", 1e-6));
  if (d_state <= 0 || d_conv <= 0 || d_inner <= 0 || dt_rank <= 0)
    return invalid_model(c.path() + ": state_size, conv_kernel, intermediate_size and time_step_rank must be positive");
  const uint64_t h = s.hidden, di = uint64_t(d_inner), ds = uint64_t(d_state), r = uint64_t(dt_rank);

  return build_stack(ctx, info, s, [&](const std::string& p) -> Result<MixerRef> {
    auto& fbb = ctx.fbb();
    EID_ASSIGN_OR_RETURN(int in_proj, ctx.matrix(p + "in_proj.weight", {2 * di, h}));
    EID_ASSIGN_OR_RETURN(int in_bias, ctx.optional_small(p + "in_proj.bias", {2 * di}));
    EID_ASSIGN_OR_RETURN(int conv_w, conv_weight(ctx, p + "conv1d.weight", di, uint64_t(d_conv)));
    EID_ASSIGN_OR_RETURN(int conv_b, ctx.optional_small(p + "conv1d.bias", {di}));
    EID_ASSIGN_OR_RETURN(int x_proj, ctx.matrix(p + "x_proj.weight", {r + 2 * ds, di}));
    EID_ASSIGN_OR_RETURN(int dt_proj, ctx.matrix(p + "dt_proj.weight", {di, r}));
    EID_ASSIGN_OR_RETURN(int dt_bias, ctx.small(p + "dt_proj.bias", {di}));
    EID_ASSIGN_OR_RETURN(int a_log, ctx.small(p + "A_log", {di, ds}));
    EID_ASSIGN_OR_RETURN(int d, ctx.small(p + "D", {di}));
    EID_ASSIGN_OR_RETURN(int out_proj, ctx.matrix(p + "out_proj.weight", {h, di}));
    EID_ASSIGN_OR_RETURN(int out_bias, ctx.optional_small(p + "out_proj.bias", {h}));
    auto op = fb::CreateMambaMixer(fbb, uint32_t(di), uint32_t(ds), uint32_t(d_conv), uint32_t(r), in_proj, in_bias,
                                   conv_w, conv_b, x_proj, dt_proj, dt_bias, a_log, d, out_proj, out_bias,
                                   falcon ? float(mixer_eps) : 0.0f);
    return MixerRef{fb::BlockOp::MambaMixer, op.Union()};
  });
}

Status convert_mamba2(ConvertContext& ctx, ModelInfo* info) {
  const HfConfig& c = ctx.config();
  EID_ASSIGN_OR_RETURN(StackShape s, read_stack_shape(c));
  EID_ASSIGN_OR_RETURN(int64_t d_state, c.integer("state_size"));
  EID_ASSIGN_OR_RETURN(int64_t d_conv, c.integer("conv_kernel"));
  EID_ASSIGN_OR_RETURN(int64_t n_heads, c.integer("num_heads"));
  EID_ASSIGN_OR_RETURN(int64_t head_dim, c.integer("head_dim"));
  EID_ASSIGN_OR_RETURN(int64_t n_groups, c.integer_or("n_groups", 1));
  EID_ASSIGN_OR_RETURN(int64_t chunk, c.integer_or("chunk_size", 256));
  double dt_min = 0, dt_max = INFINITY;
  if (c.has("time_step_limit")) {
    const auto& lim = c.json()["time_step_limit"];
    auto lo = lim.is_array() && lim.size() == 2 ? HfConfig::as_float(lim[0]) : std::nullopt;
    auto hi = lim.is_array() && lim.size() == 2 ? HfConfig::as_float(lim[1]) : std::nullopt;
    if (!lo || !hi) return invalid_model(c.path() + ": \"time_step_limit\" must be a pair of numbers");
    dt_min = *lo;
    dt_max = *hi;
    // NaN fails both comparisons. The runtime rejects such limits too; say so
    // now, naming config.json, rather than write a file that will not load.
    if (!(dt_min >= 0 && dt_min <= dt_max))
      return invalid_model(c.path() + ": \"time_step_limit\" must satisfy 0 <= min <= max, got " + lim.dump());
  }
  if (d_state <= 0 || d_conv <= 0 || n_heads <= 0 || head_dim <= 0 || n_groups <= 0 || n_heads % n_groups != 0)
    return invalid_model(c.path() +
                         ": state_size, conv_kernel, num_heads, head_dim, n_groups must be positive, "
                         "num_heads a multiple of n_groups");
  const uint64_t h = s.hidden, nh = uint64_t(n_heads), di = nh * uint64_t(head_dim), ng = uint64_t(n_groups),
                 ds = uint64_t(d_state), conv_dim = di + 2 * ng * ds, proj = di + conv_dim + nh;

  return build_stack(ctx, info, s, [&](const std::string& p) -> Result<MixerRef> {
    auto& fbb = ctx.fbb();
    // Some checkpoints carry an extra gated-MLP part in front of in_proj's
    // rows ([z0 | x0 | z | xBC | dt]); transformers discards it, and so do we.
    EID_ASSIGN_OR_RETURN(const StTensor* w, ctx.checkpoint().get(p + "in_proj.weight"));
    if (w->shape.size() != 2 || w->shape[1] != h || w->shape[0] < proj || (w->shape[0] - proj) % 2 != 0)
      return invalid_model(w->file + ": '" + w->name + "' has a shape that fits neither [" + std::to_string(proj) +
                           ", " + std::to_string(h) + "] nor that plus an MLP part");
    const uint64_t skip = w->shape[0] - proj;
    EID_ASSIGN_OR_RETURN(auto in_values, ctx.checkpoint().load_f32(w->name, {}));
    in_values.erase(in_values.begin(), in_values.begin() + long(skip * h));
    EID_ASSIGN_OR_RETURN(int in_proj, ctx.write(w->name, {proj, h}, in_values, ctx.quant()));
    int in_bias = -1;
    if (ctx.checkpoint().has(p + "in_proj.bias")) {
      EID_ASSIGN_OR_RETURN(auto b, ctx.checkpoint().load_f32(p + "in_proj.bias", {proj + skip}));
      b.erase(b.begin(), b.begin() + long(skip));
      EID_ASSIGN_OR_RETURN(in_bias, ctx.write(p + "in_proj.bias", {proj}, b, fb::DType::F32));
    }
    EID_ASSIGN_OR_RETURN(int conv_w, conv_weight(ctx, p + "conv1d.weight", conv_dim, uint64_t(d_conv)));
    EID_ASSIGN_OR_RETURN(int conv_b, ctx.optional_small(p + "conv1d.bias", {conv_dim}));
    EID_ASSIGN_OR_RETURN(int dt_bias, ctx.small(p + "dt_bias", {nh}));
    EID_ASSIGN_OR_RETURN(int a_log, ctx.small(p + "A_log", {nh}));
    EID_ASSIGN_OR_RETURN(int d, ctx.small(p + "D", {nh}));
    EID_ASSIGN_OR_RETURN(int norm, ctx.small(p + "norm.weight", {di}));
    EID_ASSIGN_OR_RETURN(int out_proj, ctx.matrix(p + "out_proj.weight", {h, di}));
    EID_ASSIGN_OR_RETURN(int out_bias, ctx.optional_small(p + "out_proj.bias", {h}));
    auto op =
        fb::CreateMamba2Mixer(fbb, uint32_t(di), uint32_t(ds), uint32_t(d_conv), uint32_t(nh), uint32_t(head_dim),
                              uint32_t(ng), uint32_t(chunk), float(dt_min), float(dt_max), in_proj, in_bias, conv_w,
                              conv_b, dt_bias, a_log, d, norm, s.norm_eps, out_proj, out_bias, kTransformersNormGroups);
    return MixerRef{fb::BlockOp::Mamba2Mixer, op.Union()};
  });
}

}  // namespace eidetic::convert
