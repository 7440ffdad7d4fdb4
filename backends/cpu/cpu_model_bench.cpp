// Prefill and decode throughput of the CPU backend on random-weight models
// with the exact shapes of mamba-130m and mamba2-130m (not a test: timings
// vary with the machine and its load). Writes a Hugging Face style checkpoint
// (config.json + model.safetensors) once into --dir, converts it with the
// converter library, then times, for each thread count:
//   prefill: a fresh session fed -p random tokens (best of --reps runs);
//   decode:  -n tokens one at a time after that prompt.
// One JSON object per line on stdout.
//
//   cpu_model_bench --arch mamba2 -p 512 -n 128 -t 1,2 [--batch 64] [--reps 3]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "runtime/src/session/model.h"
#include "runtime/src/session/session.h"

using namespace eidetic;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Tensor {
  std::string name;
  std::vector<uint64_t> shape;
  // How to fill: uniform in [lo, hi], or a constant when lo == hi, or
  // log(1..d_state) per row (Mamba-1's A_log) when kind == 'a'.
  float lo, hi;
  char kind = 'u';
  uint64_t numel() const {
    uint64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct Shape {
  std::string arch;
  json config;
  std::vector<Tensor> tensors;
};

Shape mamba_130m() {
  const uint64_t h = 768, layers = 24, vocab = 50280, ds = 16, k = 4, di = 2 * h, r = 48;
  Shape s;
  s.arch = "mamba";
  s.config = {{"architectures", {"MambaForCausalLM"}},
              {"model_type", "mamba"},
              {"hidden_size", h},
              {"intermediate_size", di},
              {"num_hidden_layers", layers},
              {"vocab_size", vocab},
              {"state_size", ds},
              {"conv_kernel", k},
              {"expand", 2},
              {"time_step_rank", r},
              {"layer_norm_epsilon", 1e-5},
              {"tie_word_embeddings", true},
              {"use_bias", false},
              {"use_conv_bias", true}};
  const float ih = 1.0f / std::sqrt(float(h)), idi = 1.0f / std::sqrt(float(di)), ir = 1.0f / std::sqrt(float(r));
  s.tensors.push_back({"backbone.embeddings.weight", {vocab, h}, -0.05f, 0.05f});
  for (uint64_t i = 0; i < layers; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    s.tensors.push_back({p + "norm.weight", {h}, 1, 1});
    s.tensors.push_back({p + "mixer.in_proj.weight", {2 * di, h}, -ih, ih});
    s.tensors.push_back({p + "mixer.conv1d.weight", {di, 1, k}, -0.5f, 0.5f});
    s.tensors.push_back({p + "mixer.conv1d.bias", {di}, -0.1f, 0.1f});
    s.tensors.push_back({p + "mixer.x_proj.weight", {r + 2 * ds, di}, -idi, idi});
    s.tensors.push_back({p + "mixer.dt_proj.weight", {di, r}, -ir, ir});
    s.tensors.push_back({p + "mixer.dt_proj.bias", {di}, -6.0f, -2.5f});  // softplus: 0.0025 .. 0.08
    s.tensors.push_back({p + "mixer.A_log", {di, ds}, 0, 0, 'a'});
    s.tensors.push_back({p + "mixer.D", {di}, 1, 1});
    s.tensors.push_back({p + "mixer.out_proj.weight", {h, di}, -idi, idi});
  }
  s.tensors.push_back({"backbone.norm_f.weight", {h}, 1, 1});
  return s;
}

Shape mamba2_130m() {
  const uint64_t h = 768, layers = 24, vocab = 50288, ds = 128, k = 4, di = 2 * h, hd = 64, nh = di / hd, ng = 1;
  const uint64_t conv_dim = di + 2 * ng * ds, proj = di + conv_dim + nh;
  Shape s;
  s.arch = "mamba2";
  s.config = {{"architectures", {"Mamba2ForCausalLM"}},
              {"model_type", "mamba2"},
              {"hidden_size", h},
              {"num_hidden_layers", layers},
              {"vocab_size", vocab},
              {"state_size", ds},
              {"conv_kernel", k},
              {"expand", 2},
              {"head_dim", hd},
              {"num_heads", nh},
              {"n_groups", ng},
              {"chunk_size", 256},
              {"layer_norm_epsilon", 1e-5},
              {"tie_word_embeddings", true},
              {"use_bias", false},
              {"use_conv_bias", true},
              {"time_step_limit", {0.0, 1e30}}};
  const float ih = 1.0f / std::sqrt(float(h)), idi = 1.0f / std::sqrt(float(di));
  s.tensors.push_back({"backbone.embeddings.weight", {vocab, h}, -0.05f, 0.05f});
  for (uint64_t i = 0; i < layers; ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    s.tensors.push_back({p + "norm.weight", {h}, 1, 1});
    s.tensors.push_back({p + "mixer.in_proj.weight", {proj, h}, -ih, ih});
    s.tensors.push_back({p + "mixer.conv1d.weight", {conv_dim, 1, k}, -0.5f, 0.5f});
    s.tensors.push_back({p + "mixer.conv1d.bias", {conv_dim}, -0.1f, 0.1f});
    s.tensors.push_back({p + "mixer.dt_bias", {nh}, -6.0f, -2.5f});
    s.tensors.push_back({p + "mixer.A_log", {nh}, 0.0f, 2.7f});  // A in -1 .. -16
    s.tensors.push_back({p + "mixer.D", {nh}, 1, 1});
    s.tensors.push_back({p + "mixer.norm.weight", {di}, 1, 1});
    s.tensors.push_back({p + "mixer.out_proj.weight", {h, di}, -idi, idi});
  }
  s.tensors.push_back({"backbone.norm_f.weight", {h}, 1, 1});
  return s;
}

void write_checkpoint(const Shape& s, const std::string& dir) {
  fs::create_directories(dir);
  std::ofstream(dir + "/config.json") << s.config.dump(2);
  json header = json::object();
  uint64_t off = 0;
  for (const auto& t : s.tensors) {
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {off, off + 4 * t.numel()}}};
    off += 4 * t.numel();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(dir + "/model.safetensors", std::ios::binary);
  const uint64_t len = text.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out.write(text.data(), std::streamsize(text.size()));
  std::mt19937 rng(1234);
  std::vector<float> v;
  for (const auto& t : s.tensors) {
    v.resize(t.numel());
    std::uniform_real_distribution<float> u(t.lo, t.hi);
    if (t.kind == 'a') {
      for (size_t i = 0; i < v.size(); ++i) v[i] = std::log(float(i % t.shape[1] + 1));
    } else if (t.lo == t.hi) {
      std::fill(v.begin(), v.end(), t.lo);
    } else {
      for (auto& f : v) f = u(rng);
    }
    out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(4 * v.size()));
  }
}

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "cpu_model_bench: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string arch = "mamba2", dir = "/tmp/eidetic-model-bench", threads = "1,2";
  size_t n_prompt = 512, n_gen = 128, batch = 64, reps = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--arch")
      arch = next();
    else if (a == "-p")
      n_prompt = std::stoul(next());
    else if (a == "-n")
      n_gen = std::stoul(next());
    else if (a == "-t")
      threads = next();
    else if (a == "--batch")
      batch = std::stoul(next());
    else if (a == "--reps")
      reps = std::stoul(next());
    else if (a == "--dir")
      dir = next();
    else
      die("unknown argument " + a);
  }
  Shape shape;
  if (arch == "mamba")
    shape = mamba_130m();
  else if (arch == "mamba2")
    shape = mamba2_130m();
  else
    die("--arch must be mamba or mamba2");

  const std::string ckpt = dir + "/" + arch + "-130m", model_path = ckpt + ".eid";
  if (!fs::exists(model_path)) {
    std::fprintf(stderr, "writing %s and converting it\n", ckpt.c_str());
    write_checkpoint(shape, ckpt);
    convert::ConvertOptions o;
    o.checkpoint_dir = ckpt;
    o.output = model_path;
    if (Status st = convert::convert_checkpoint(o); !st.is_ok()) die(st.message());
    fs::remove_all(ckpt);
  }

  std::vector<int> thread_counts;
  std::stringstream ss(threads);
  for (std::string t; std::getline(ss, t, ',');) thread_counts.push_back(std::stoi(t));

  for (int nt : thread_counts) {
    LoadOptions lo;
    lo.backend_options.n_threads = nt;
    lo.backend_options.max_batch_tokens = batch;
    auto model = Model::load(model_path, lo);
    if (!model) die(model.status().message());
    auto session = Session::create(**model);
    if (!session) die(session.status().message());
    Session& s = **session;
    std::mt19937 rng(7);
    std::vector<int32_t> prompt(n_prompt);
    for (auto& id : prompt) id = int32_t(rng() % (*model)->vocab_size());

    double best_prefill = 1e30;
    for (size_t r = 0; r < reps; ++r) {
      s.reset();
      const double t0 = now_s();
      if (Status st = s.prefill(prompt.data(), prompt.size()); !st.is_ok()) die(st.message());
      best_prefill = std::min(best_prefill, now_s() - t0);
    }
    double best_decode = 1e30;
    for (size_t r = 0; r < reps; ++r) {
      int32_t id = prompt.back();
      const double t0 = now_s();
      for (size_t i = 0; i < n_gen; ++i) {
        if (Status st = s.decode(id); !st.is_ok()) die(st.message());
        id = int32_t((id * 1103515245u + 12345u) % (*model)->vocab_size());
      }
      best_decode = std::min(best_decode, now_s() - t0);
    }
    std::printf(
        "{\"model\":\"%s-130m\",\"threads\":%d,\"batch\":%zu,\"prompt\":%zu,\"prefill_tok_s\":%.1f,"
        "\"gen\":%zu,\"decode_tok_s\":%.1f}\n",
        arch.c_str(), nt, batch, n_prompt, double(n_prompt) / best_prefill, n_gen, double(n_gen) / best_decode);
    std::fflush(stdout);
  }
  return 0;
}
