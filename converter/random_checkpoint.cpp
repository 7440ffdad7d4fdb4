#include "converter/random_checkpoint.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/src/core/half.h"

namespace eidetic::convert {
namespace {

// --- random numbers: xoshiro256** seeded through splitmix64, one stream per
// tensor (seed ^ FNV-1a of its name), so tensors do not depend on write order.
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in (0, 1): never 0, so log() is safe.
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() {  // Box-Muller, both values used
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform())), a = 2.0 * M_PI * uniform();
    spare_ = r * std::sin(a);
    have_spare_ = true;
    return r * std::cos(a);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool have_spare_ = false;
};

enum class Init { kNormal, kUniform, kOne, kALog, kDtBias };

struct TensorPlan {
  std::vector<uint64_t> shape;
  Init init = Init::kNormal;
  double a = 0, b = 0;  // normal: std; uniform: [a, b)
  uint64_t numel() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    return n;
  }
};

constexpr double kMatrixStd = 0.02;
constexpr double kConvBound = 0.5;  // 1/sqrt(fan_in) with fan_in = 4 taps

double draw(Rng& rng, const TensorPlan& p) {
  switch (p.init) {
    case Init::kNormal: return p.a * rng.normal();
    case Init::kUniform: return p.a + (p.b - p.a) * rng.uniform();
    case Init::kOne: return 1.0;
    case Init::kALog: return std::log(1.0 + 15.0 * rng.uniform());  // A = -exp(A_log) in [-16, -1]
    case Init::kDtBias: {
      // dt log-uniform in [0.001, 0.1]; the bias is softplus⁻¹(dt), so that
      // softplus(0 + bias) = dt when the dt projection contributes nothing.
      const double dt = std::exp(std::log(0.001) + (std::log(0.1) - std::log(0.001)) * rng.uniform());
      return dt + std::log(-std::expm1(-dt));
    }
  }
  return 0;
}

uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return uint16_t((x >> 16) | 0x40);  // NaN stays NaN
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);                 // round to nearest even
}

const char* st_dtype(RandomDType d) {
  switch (d) {
    case RandomDType::kF16: return "F16";
    case RandomDType::kBF16: return "BF16";
    default: return "F32";
  }
}
const char* torch_dtype(RandomDType d) {
  switch (d) {
    case RandomDType::kF16: return "float16";
    case RandomDType::kBF16: return "bfloat16";
    default: return "float32";
  }
}
uint64_t elem_bytes(RandomDType d) { return d == RandomDType::kF32 ? 4 : 2; }

Result<RandomShape> resolve(const RandomCheckpointOptions& o) {
  for (RandomShape s : known_shapes()) {
    if (s.name != o.shape) continue;
    if (o.layers) s.layers = o.layers;
    if (o.vocab) s.vocab = o.vocab;
    return s;
  }
  return invalid_argument("unknown shape '" + o.shape + "' (known: " + known_shape_names() + ")");
}

// Names as in transformers' MambaForCausalLM / Mamba2ForCausalLM state dicts
// (tied LM head: no lm_head.weight, as save_pretrained writes it).
std::map<std::string, TensorPlan> plan_tensors(const RandomShape& s) {
  std::map<std::string, TensorPlan> t;
  const uint64_t h = s.hidden, di = s.d_inner(), ds = s.d_state, k = s.conv_kernel;
  const TensorPlan ones{{h}, Init::kOne};
  t["backbone.embeddings.weight"] = {{s.vocab, h}, Init::kNormal, kMatrixStd};
  t["backbone.norm_f.weight"] = ones;
  for (uint32_t i = 0; i < s.layers; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    t[p + "norm.weight"] = ones;
    const std::string m = p + "mixer.";
    if (s.model_type == "mamba") {
      const uint64_t r = s.dt_rank();
      t[m + "in_proj.weight"] = {{2 * di, h}, Init::kNormal, kMatrixStd};
      t[m + "conv1d.weight"] = {{di, 1, k}, Init::kUniform, -kConvBound, kConvBound};
      t[m + "conv1d.bias"] = {{di}, Init::kUniform, -kConvBound, kConvBound};
      t[m + "x_proj.weight"] = {{r + 2 * ds, di}, Init::kNormal, kMatrixStd};
      t[m + "dt_proj.weight"] = {{di, r}, Init::kNormal, kMatrixStd};
      t[m + "dt_proj.bias"] = {{di}, Init::kDtBias};
      t[m + "A_log"] = {{di, ds}, Init::kALog};
      t[m + "D"] = {{di}, Init::kOne};
      t[m + "out_proj.weight"] = {{h, di}, Init::kNormal, kMatrixStd};
    } else {
      const uint64_t nh = s.num_heads(), ng = s.n_groups, conv_dim = di + 2 * ng * ds;
      t[m + "in_proj.weight"] = {{di + conv_dim + nh, h}, Init::kNormal, kMatrixStd};
      t[m + "conv1d.weight"] = {{conv_dim, 1, k}, Init::kUniform, -kConvBound, kConvBound};
      t[m + "conv1d.bias"] = {{conv_dim}, Init::kUniform, -kConvBound, kConvBound};
      t[m + "dt_bias"] = {{nh}, Init::kDtBias};
      t[m + "A_log"] = {{nh}, Init::kALog};
      t[m + "D"] = {{nh}, Init::kOne};
      t[m + "norm.weight"] = {{di}, Init::kOne};
      t[m + "out_proj.weight"] = {{h, di}, Init::kNormal, kMatrixStd};
    }
  }
  return t;
}

// config.json as transformers 5.17 writes it (json.dumps(indent=2,
// sort_keys=True) + "\n"; nlohmann::json also sorts keys).
nlohmann::json make_config(const RandomShape& s, RandomDType dtype) {
  nlohmann::json c;
  c["bos_token_id"] = 0;
  c["conv_kernel"] = s.conv_kernel;
  c["dtype"] = torch_dtype(dtype);
  c["eos_token_id"] = 0;
  c["expand"] = s.expand;
  c["hidden_act"] = "silu";
  c["hidden_size"] = s.hidden;
  c["initializer_range"] = 0.1;
  c["layer_norm_epsilon"] = 1e-5;
  c["model_type"] = s.model_type;
  c["num_hidden_layers"] = s.layers;
  c["rescale_prenorm_residual"] = false;
  c["residual_in_fp32"] = true;
  c["state_size"] = s.d_state;
  c["tie_word_embeddings"] = true;
  c["time_step_floor"] = 0.0001;
  c["time_step_max"] = 0.1;
  c["time_step_min"] = 0.001;
  c["time_step_rank"] = s.dt_rank();
  c["transformers_version"] = "5.17.0";
  c["use_bias"] = false;
  c["use_cache"] = true;
  c["use_conv_bias"] = true;
  c["vocab_size"] = s.vocab;
  if (s.model_type == "mamba") {
    c["architectures"] = {"MambaForCausalLM"};
    c["intermediate_size"] = s.d_inner();
    c["pad_token_id"] = 0;
    c["time_step_init_scheme"] = "random";
    c["time_step_scale"] = 1.0;
    c["use_associative_scan"] = true;
    c["use_mambapy"] = false;
  } else {
    c["architectures"] = {"Mamba2ForCausalLM"};
    c["chunk_size"] = s.chunk_size;
    c["head_dim"] = s.head_dim;
    c["n_groups"] = s.n_groups;
    c["norm_before_gate"] = false;
    c["num_heads"] = s.num_heads();
    c["pad_token_id"] = 1;  // GPT-NeoX's <|padding|>
    c["rms_norm"] = true;
    c["time_step_limit"] = nlohmann::json::array({0.0, {{"__float__", "Infinity"}}});
  }
  return c;
}

Status write_text(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return io_error(path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) return io_error(path + ": write failed");
  return Status::ok();
}

class FileCloser {
 public:
  explicit FileCloser(std::FILE* f) : f_(f) {}
  ~FileCloser() {
    if (f_) std::fclose(f_);
  }
  std::FILE* release() {
    std::FILE* f = f_;
    f_ = nullptr;
    return f;
  }

 private:
  std::FILE* f_;
};

}  // namespace

const std::vector<RandomShape>& known_shapes() {
  static const std::vector<RandomShape> shapes = [] {
    std::vector<RandomShape> v;
    auto mamba = [&](const char* name, uint32_t hidden, uint32_t layers) {
      RandomShape s;
      s.name = name;
      s.model_type = "mamba";
      s.hidden = hidden;
      s.layers = layers;
      s.vocab = 50280;  // GPT-NeoX's 50277 padded to a multiple of 8
      s.d_state = 16;
      v.push_back(s);
    };
    auto mamba2 = [&](const char* name, uint32_t hidden, uint32_t layers) {
      RandomShape s;
      s.name = name;
      s.model_type = "mamba2";
      s.hidden = hidden;
      s.layers = layers;
      s.vocab = 50288;  // 50277 padded to a multiple of 16
      s.d_state = 128;
      s.head_dim = 64;
      v.push_back(s);
    };
    mamba("mamba-130m", 768, 24);
    mamba("mamba-370m", 1024, 48);
    mamba("mamba-790m", 1536, 48);
    mamba("mamba-1.4b", 2048, 48);
    mamba("mamba-2.8b", 2560, 64);
    mamba2("mamba2-130m", 768, 24);
    mamba2("mamba2-370m", 1024, 48);
    mamba2("mamba2-780m", 1536, 48);
    mamba2("mamba2-1.3b", 2048, 48);
    mamba2("mamba2-2.7b", 2560, 64);
    return v;
  }();
  return shapes;
}

std::string known_shape_names() {
  std::string out;
  for (const auto& s : known_shapes()) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

Result<uint64_t> random_checkpoint_bytes(const RandomCheckpointOptions& o) {
  EID_ASSIGN_OR_RETURN(RandomShape s, resolve(o));
  uint64_t n = 0;
  for (const auto& [name, p] : plan_tensors(s)) n += p.numel() * elem_bytes(o.dtype);
  return n;
}

Status write_random_checkpoint(const RandomCheckpointOptions& o) {
  EID_ASSIGN_OR_RETURN(RandomShape s, resolve(o));
  if (o.output_dir.empty()) return invalid_argument("no output directory");
  if (::mkdir(o.output_dir.c_str(), 0755) != 0 && errno != EEXIST)
    return io_error(o.output_dir + ": " + std::strerror(errno));
  const auto plan = plan_tensors(s);

  // Header: every tensor's dtype, shape and byte range, in name order (as the
  // Python safetensors writer orders tensors of one dtype), padded with
  // spaces to a multiple of 8 bytes.
  nlohmann::json header;
  header["__metadata__"] = {
      {"format", "pt"}, {"eidetic_random_checkpoint", s.name}, {"eidetic_random_seed", std::to_string(o.seed)}};
  uint64_t offset = 0;
  const uint64_t esize = elem_bytes(o.dtype);
  for (const auto& [name, p] : plan) {
    const uint64_t bytes = p.numel() * esize;
    header[name] = {{"dtype", st_dtype(o.dtype)}, {"shape", p.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  const uint64_t total = offset;
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  const std::string path = o.output_dir + "/model.safetensors", partial = path + ".partial";
  std::FILE* raw = std::fopen(partial.c_str(), "wb");
  if (!raw) return io_error(partial + ": " + std::strerror(errno));
  FileCloser closer(raw);
  auto fail = [&](const std::string& why) {
    std::fclose(closer.release());
    std::remove(partial.c_str());
    return io_error(partial + ": " + why);
  };
  const uint64_t header_len = header_text.size();
  if (std::fwrite(&header_len, 8, 1, raw) != 1 || std::fwrite(header_text.data(), 1, header_len, raw) != header_len)
    return fail("write failed");

  constexpr size_t kPiece = 1 << 16;
  std::vector<float> f32(kPiece);
  std::vector<uint16_t> half(kPiece);
  uint64_t written = 0;
  int reported = 0;
  for (const auto& [name, p] : plan) {
    Rng rng(o.seed ^ fnv1a(name));
    for (uint64_t done = 0, n = p.numel(); done < n;) {
      const size_t m = size_t(std::min<uint64_t>(kPiece, n - done));
      for (size_t i = 0; i < m; ++i) f32[i] = float(draw(rng, p));
      size_t ok;
      if (o.dtype == RandomDType::kF32) {
        ok = std::fwrite(f32.data(), 4, m, raw);
      } else {
        for (size_t i = 0; i < m; ++i)
          half[i] = o.dtype == RandomDType::kF16 ? f32_to_f16(f32[i]) : f32_to_bf16(f32[i]);
        ok = std::fwrite(half.data(), 2, m, raw);
      }
      if (ok != m) return fail(std::string("write failed: ") + std::strerror(errno));
      done += m;
      written += m * esize;
      if (o.progress && total && int(written * 10 / total) > reported) {
        reported = int(written * 10 / total);
        std::fprintf(stderr, "%s: %3d%% (%.2f of %.2f GiB)\n", path.c_str(), reported * 10, double(written) / (1 << 30),
                     double(total) / (1 << 30));
      }
    }
  }
  if (std::fclose(closer.release()) != 0) {
    std::remove(partial.c_str());
    return io_error(partial + ": write failed");
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return io_error(path + ": " + std::strerror(errno));
  }

  EID_TRY(write_text(o.output_dir + "/config.json", make_config(s, o.dtype).dump(2) + "\n"));
  nlohmann::json gen = {{"_from_model_config", true},
                        {"bos_token_id", 0},
                        {"eos_token_id", 0},
                        {"output_attentions", false},
                        {"output_hidden_states", false},
                        {"pad_token_id", s.model_type == "mamba" ? 0 : 1},
                        {"transformers_version", "5.17.0"},
                        {"use_cache", true}};
  EID_TRY(write_text(o.output_dir + "/generation_config.json", gen.dump(2) + "\n"));
  return Status::ok();
}

}  // namespace eidetic::convert
