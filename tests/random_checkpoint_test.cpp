// Random-weight checkpoints (converter/random_checkpoint.h): the real models'
// parameter counts, the tensor names and shapes transformers uses, value
// ranges that keep activations finite, determinism, and the whole path
// random checkpoint → eidetic-convert → load → run with finite logits.
#include "converter/random_checkpoint.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/src/session/session.h"
#include "tests/test_util.h"

using namespace eidetic;
using namespace eidetic::convert;
using nlohmann::json;

namespace {

std::string write_reduced(const std::string& shape, uint64_t seed, RandomDType dtype, const std::string& tag) {
  RandomCheckpointOptions o;
  o.shape = shape;
  o.output_dir = test::temp_dir() + "/random-" + shape + "-" + tag;
  o.seed = seed;
  o.dtype = dtype;
  o.layers = 2;
  o.vocab = 512;
  const Status s = write_random_checkpoint(o);
  REQUIRE_MESSAGE(s.is_ok(), s.message());
  return o.output_dir;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

std::set<std::string> keys(const json& j) {
  std::set<std::string> k;
  for (auto& [key, v] : j.items()) k.insert(key);
  return k;
}

struct Stats {
  double mean = 0, sd = 0, lo = INFINITY, hi = -INFINITY;
};

Stats stats(const std::vector<float>& v) {
  Stats s;
  for (float x : v) {
    s.mean += x;
    s.lo = std::min(s.lo, double(x));
    s.hi = std::max(s.hi, double(x));
  }
  s.mean /= double(v.size());
  for (float x : v) s.sd += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(s.sd / double(v.size()));
  return s;
}

}  // namespace

TEST_CASE("random checkpoint: full shapes have the real models' parameter counts") {
  // Parameter counts of the released checkpoints (tied embeddings, no lm_head).
  const std::pair<const char*, uint64_t> known[] = {{"mamba-130m", 129135360}, {"mamba2-130m", 128989632}};
  for (const auto& [name, params] : known) {
    CAPTURE(name);
    RandomCheckpointOptions o;
    o.shape = name;
    auto bytes = random_checkpoint_bytes(o);
    REQUIRE(bytes.is_ok());
    CHECK(*bytes == params * 4);
    o.dtype = RandomDType::kBF16;
    CHECK(random_checkpoint_bytes(o).value() == params * 2);
  }
  CHECK(known_shapes().size() == 10);
  for (const auto& s : known_shapes()) {
    CAPTURE(s.name);
    CHECK(s.d_inner() == 2 * s.hidden);
    if (s.model_type == "mamba2") {
      CHECK(s.num_heads() * 64 == s.d_inner());
      CHECK(s.vocab == 50288);
      CHECK(s.d_state == 128);
    } else {
      CHECK(s.vocab == 50280);
      CHECK(s.d_state == 16);
    }
  }
  RandomCheckpointOptions bad;
  bad.shape = "mamba-7b";
  auto r = random_checkpoint_bytes(bad);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("mamba2-2.7b") != std::string::npos);  // lists the known shapes
}

TEST_CASE("random checkpoint: config.json has the keys transformers writes, tensors the HF names and shapes") {
  for (const std::string arch : {"mamba", "mamba2"}) {
    CAPTURE(arch);
    const std::string shape = arch + "-130m";
    const std::string dir = write_reduced(shape, 7, RandomDType::kF32, "f32");
    const json c = read_json(dir + "/config.json");
    // The same key set as the transformers-made fixture of that architecture.
    CHECK(keys(c) == keys(read_json(test::fixture_dir(arch) + "/config.json")));
    CHECK(c["model_type"] == arch);
    CHECK(c["hidden_size"] == 768);
    CHECK(c["num_hidden_layers"] == 2);  // --layers
    CHECK(c["vocab_size"] == 512);       // --vocab
    CHECK(c["tie_word_embeddings"] == true);
    CHECK(c["time_step_rank"] == 48);
    CHECK(c["dtype"] == "float32");
    if (arch == "mamba2") {
      CHECK(c["num_heads"] == 24);
      CHECK(c["head_dim"] == 64);
      CHECK(c["state_size"] == 128);
      CHECK(c["n_groups"] == 1);
      CHECK(c["chunk_size"] == 256);
      CHECK(c["time_step_limit"][1]["__float__"] == "Infinity");
    } else {
      CHECK(c["intermediate_size"] == 1536);
      CHECK(c["state_size"] == 16);
    }
    // Written as transformers writes it: indent 2, sorted keys, a final newline.
    std::ifstream in(dir + "/config.json");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    CHECK(text == c.dump(2) + "\n");
    CHECK(text.find("\"layer_norm_epsilon\": 1e-05,") != std::string::npos);

    auto ck = Checkpoint::open_dir(dir);
    REQUIRE_MESSAGE(ck.is_ok(), ck.status().message());
    const std::string m = "backbone.layers.1.mixer.";
    std::map<std::string, std::vector<uint64_t>> want = {
        {"backbone.embeddings.weight", {512, 768}},
        {"backbone.norm_f.weight", {768}},
        {"backbone.layers.1.norm.weight", {768}},
        {m + "out_proj.weight", {768, 1536}},
    };
    if (arch == "mamba") {
      want[m + "in_proj.weight"] = {3072, 768};
      want[m + "conv1d.weight"] = {1536, 1, 4};
      want[m + "conv1d.bias"] = {1536};
      want[m + "x_proj.weight"] = {48 + 32, 1536};
      want[m + "dt_proj.weight"] = {1536, 48};
      want[m + "dt_proj.bias"] = {1536};
      want[m + "A_log"] = {1536, 16};
      want[m + "D"] = {1536};
    } else {
      want[m + "in_proj.weight"] = {2 * 1536 + 2 * 128 + 24, 768};
      want[m + "conv1d.weight"] = {1536 + 256, 1, 4};
      want[m + "conv1d.bias"] = {1536 + 256};
      want[m + "dt_bias"] = {24};
      want[m + "A_log"] = {24};
      want[m + "D"] = {24};
      want[m + "norm.weight"] = {1536};
    }
    const size_t per_layer = arch == "mamba" ? 10 : 9;
    CHECK(ck->tensors().size() == 2 + 2 * per_layer);
    CHECK_FALSE(ck->has("lm_head.weight"));
    for (const auto& [name, shape_want] : want) {
      CAPTURE(name);
      auto t = ck->get(name);
      REQUIRE(t.is_ok());
      CHECK((*t)->shape == shape_want);
      CHECK((*t)->dtype_name == "F32");
    }

    // Values: matrices ~ N(0, 0.02), conv ~ U(-0.5, 0.5), A = -exp(A_log) in
    // [-16, -1], softplus(dt bias) in [0.001, 0.1], D and norms 1.
    const Stats emb = stats(ck->load_f32("backbone.embeddings.weight", {}).value());
    CHECK(std::abs(emb.mean) < 1e-3);
    CHECK(emb.sd == doctest::Approx(0.02).epsilon(0.03));
    const Stats in_proj = stats(ck->load_f32(m + "in_proj.weight", {}).value());
    CHECK(in_proj.sd == doctest::Approx(0.02).epsilon(0.03));
    const Stats conv = stats(ck->load_f32(m + "conv1d.weight", {}).value());
    CHECK(conv.lo >= -0.5);
    CHECK(conv.hi <= 0.5);
    CHECK(conv.sd == doctest::Approx(1 / std::sqrt(12.0)).epsilon(0.05));
    const Stats a_log = stats(ck->load_f32(m + "A_log", {}).value());
    CHECK(a_log.lo >= 0);
    CHECK(a_log.hi <= std::log(16.0) + 1e-6);
    const std::vector<float> dt_bias = ck->load_f32(m + (arch == "mamba" ? "dt_proj.bias" : "dt_bias"), {}).value();
    for (float b : dt_bias) {
      const double dt = std::log1p(std::exp(double(b)));
      REQUIRE(dt >= 0.001 * (1 - 1e-4));
      REQUIRE(dt <= 0.1 * (1 + 1e-4));
    }
    for (const std::string& ones : {m + "D", std::string("backbone.norm_f.weight")}) {
      const Stats s = stats(ck->load_f32(ones, {}).value());
      CHECK(s.lo == 1.0);
      CHECK(s.hi == 1.0);
    }
  }
}

TEST_CASE("random checkpoint: the same seed gives the same bytes, another seed others") {
  const auto a = test::read_file(write_reduced("mamba2-130m", 3, RandomDType::kBF16, "seed3a") + "/model.safetensors");
  const auto b = test::read_file(write_reduced("mamba2-130m", 3, RandomDType::kBF16, "seed3b") + "/model.safetensors");
  const auto c = test::read_file(write_reduced("mamba2-130m", 4, RandomDType::kBF16, "seed4") + "/model.safetensors");
  REQUIRE(a.size() > 1000000);
  CHECK(a == b);
  CHECK(a.size() == c.size());
  CHECK(a != c);
}

TEST_CASE("random checkpoint: converted and run, in f32, f16 and bf16, the logits are finite") {
  const std::pair<RandomDType, const char*> dtypes[] = {
      {RandomDType::kF32, "f32"}, {RandomDType::kF16, "f16"}, {RandomDType::kBF16, "bf16"}};
  for (const std::string shape : {"mamba-130m", "mamba2-130m"}) {
    for (const auto& [dtype, tag] : dtypes) {
      CAPTURE(shape);
      CAPTURE(tag);
      const std::string dir = write_reduced(shape, 1, dtype, std::string("run-") + tag);
      CHECK(read_json(dir + "/config.json")["dtype"] == (dtype == RandomDType::kF32   ? "float32"
                                                         : dtype == RandomDType::kF16 ? "float16"
                                                                                      : "bfloat16"));
      ConvertOptions co;
      co.checkpoint_dir = dir;
      co.output = dir + ".eid";
      const Status s = convert_checkpoint(co);
      REQUIRE_MESSAGE(s.is_ok(), s.message());
      auto model = Model::load(co.output, LoadOptions{});
      REQUIRE_MESSAGE(model.is_ok(), model.status().message());
      CHECK((*model)->tokenizer() == nullptr);
      CHECK((*model)->vocab_size() == 512);
      auto session = Session::create(**model);
      REQUIRE(session.is_ok());
      std::vector<int32_t> ids;
      for (int i = 0; i < 40; ++i) ids.push_back((i * 97 + 13) % 512);
      REQUIRE((*session)->prefill(ids.data(), ids.size()).is_ok());
      for (int i = 0; i < 8; ++i) REQUIRE((*session)->decode(i).is_ok());
      const float* l = (*session)->logits();
      double sq = 0;
      for (size_t i = 0; i < 512; ++i) {
        REQUIRE(std::isfinite(l[i]));
        sq += double(l[i]) * l[i];
      }
      // Logits of a sensible scale: neither vanished nor blown up.
      const double rms = std::sqrt(sq / 512);
      CHECK(rms > 0.05);
      CHECK(rms < 20);
    }
  }
}
