// The converter against checkpoints built here, byte by byte: sharded, BF16
// and F16 sources, a Mamba-2 in_proj with an MLP part in front, and every
// kind of broken input, whose errors must name the file and say what is wrong.
// The safetensors writer and the half-float arithmetic below are written
// independently of the converter's own, so the two check each other.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "runtime/src/model/model_file.h"
#include "tests/test_util.h"

using namespace eidetic;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------- safetensors

struct StEntry {
  std::string name;
  std::string dtype;  // "F32", "BF16", ...
  std::vector<uint64_t> shape;
  std::vector<uint8_t> bytes;
};
using Entries = std::vector<StEntry>;

// A safetensors file: u64 little-endian header length, the JSON header
// (padded with spaces to a multiple of 8 when `pad`), then the raw bytes.
void write_safetensors(const std::string& path, const Entries& entries, bool pad = true) {
  json header = json::object();
  std::vector<uint8_t> data;
  for (const auto& e : entries) {
    header[e.name] = {
        {"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {data.size(), data.size() + e.bytes.size()}}};
    data.insert(data.end(), e.bytes.begin(), e.bytes.end());
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string text = header.dump();
  if (pad) text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  const uint64_t len = text.size();
  std::vector<uint8_t> file(8);
  std::memcpy(file.data(), &len, 8);
  file.insert(file.end(), text.begin(), text.end());
  file.insert(file.end(), data.begin(), data.end());
  test::write_file(path, file);
}

// A file with a header of our choosing (for the malformed-header cases).
void write_raw_safetensors(const std::string& path, const std::string& header, const std::vector<uint8_t>& data,
                           uint64_t header_len) {
  std::vector<uint8_t> file(8);
  std::memcpy(file.data(), &header_len, 8);
  file.insert(file.end(), header.begin(), header.end());
  file.insert(file.end(), data.begin(), data.end());
  test::write_file(path, file);
}

// The fixture's tensors, in name order, as stored.
Entries fixture_entries(const std::string& arch) {
  auto c = convert::Checkpoint::open_file(test::fixture_dir(arch) + "/model.safetensors");
  REQUIRE_MESSAGE(c.is_ok(), c.status().message());
  Entries out;
  for (const auto& [name, t] : c->tensors()) {
    REQUIRE(t.dtype_name == "F32");
    out.push_back({name, t.dtype_name, t.shape, std::vector<uint8_t>(t.data, t.data + t.bytes)});
  }
  return out;
}

StEntry* find(Entries& es, const std::string& name) {
  for (auto& e : es)
    if (e.name == name) return &e;
  FAIL("no tensor " << name << " in the fixture");
  return nullptr;
}

std::vector<float> as_floats(const StEntry& e) {
  REQUIRE(e.dtype == "F32");
  std::vector<float> v(e.bytes.size() / 4);
  std::memcpy(v.data(), e.bytes.data(), e.bytes.size());
  return v;
}

template <typename T>
std::vector<uint8_t> to_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// ------------------------------------------------------- half floats, by hand

// bfloat16: the top half of the f32 bits, rounded to nearest even.
uint16_t round_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  REQUIRE(std::isfinite(f));
  x += 0x7fff + ((x >> 16) & 1);
  return uint16_t(x >> 16);
}

float widen_bf16(uint16_t h) {
  const uint32_t x = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// IEEE binary16 by arithmetic (frexp / nearbyint / ldexp) rather than bit
// tricks: the significand is counted in units of 2^(E-10), E clamped to the
// subnormal exponent -14, rounded to nearest even (the default rounding mode).
uint16_t round_to_f16(float f) {
  REQUIRE(std::isfinite(f));
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(double(f));
  if (a == 0) return sign;
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1): the leading bit is 2^(e-1)
  int E = std::max(e - 1, -14);
  double q = std::nearbyint(std::ldexp(a, 10 - E));
  if (q >= 2048) {
    q /= 2;
    ++E;
  }
  if (E > 15) return sign | 0x7c00;
  if (q < 1024) return sign | uint16_t(q);  // subnormal: q * 2^-24
  return uint16_t(sign | (E + 15) << 10 | (uint16_t(q) - 1024));
}

float widen_f16(uint16_t h) {
  const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(double(mant), -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(double(1024 + mant), exp - 25);
  return float((h & 0x8000) ? -v : v);
}

TEST_CASE("the test's own half-float arithmetic is right on known values") {
  CHECK(round_to_f16(1.0f) == 0x3c00);
  CHECK(round_to_f16(-2.0f) == 0xc000);
  CHECK(round_to_f16(65504.0f) == 0x7bff);
  CHECK(round_to_f16(65520.0f) == 0x7c00);           // halfway past the largest half: to inf
  CHECK(round_to_f16(0x1p-24f) == 0x0001);           // smallest subnormal
  CHECK(round_to_f16(0x1p-25f) == 0x0000);           // halfway to it: ties to even (0)
  CHECK(round_to_f16(0x1.8p-24f) == 0x0002);         // 1.5 ulp: ties to even (2)
  CHECK(round_to_f16(0x1.ff8p-15f) == 0x03ff);       // largest subnormal
  CHECK(round_to_f16(0x1.ffcp-15f) == 0x0400);       // tie to even: up into the normal range
  CHECK(round_to_f16(0x1.ffap-15f) == 0x03ff);       // below the tie
  CHECK(round_to_f16(1.0f + 0x1p-11f) == 0x3c00);    // tie to even
  CHECK(round_to_f16(1.0f + 0x1.8p-11f) == 0x3c01);  // above the tie
  CHECK(widen_f16(0x3555) == 0x1.554p-2f);
  CHECK(widen_f16(0x0001) == 0x1p-24f);
  CHECK(widen_f16(0x8400) == -0x1p-14f);
  CHECK(std::isinf(widen_f16(0x7c00)));
  CHECK(round_to_bf16(1.0f) == 0x3f80);
  CHECK(round_to_bf16(1.0f + 0x1p-8f) == 0x3f80);    // tie to even
  CHECK(round_to_bf16(1.0f + 0x1.8p-8f) == 0x3f81);  // above the tie
  CHECK(round_to_bf16(1.0f + 0x1.8p-7f) == 0x3f82);  // tie to even (up)
  CHECK(widen_bf16(0xc040) == -3.0f);
  for (uint32_t h = 0; h < 0x7c00; ++h) REQUIRE(round_to_f16(widen_f16(uint16_t(h))) == h);
}

// ----------------------------------------------------------- checkpoint dirs

std::string fresh_dir(const std::string& name) {
  const std::string dir = test::temp_dir() + "/conv-" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void copy_config(const std::string& arch, const std::string& dir) {
  fs::copy_file(test::fixture_dir(arch) + "/config.json", dir + "/config.json", fs::copy_options::overwrite_existing);
}

json fixture_config(const std::string& arch) {
  auto j = json::parse(test::read_file(test::fixture_dir(arch) + "/config.json"));
  REQUIRE(j.is_object());
  return j;
}

void write_text(const std::string& path, const std::string& text) {
  test::write_file(path, std::vector<uint8_t>(text.begin(), text.end()));
}

// A single-file checkpoint: the fixture's config and the given tensors.
std::string single_file_checkpoint(const std::string& name, const std::string& arch, const Entries& entries) {
  const std::string dir = fresh_dir(name);
  copy_config(arch, dir);
  write_safetensors(dir + "/model.safetensors", entries);
  return dir;
}

Status convert_dir(const std::string& dir, const std::string& out, fb::DType dtype = fb::DType::F32) {
  convert::ConvertOptions o;
  o.checkpoint_dir = dir;
  o.output = out;
  o.quant = dtype;
  return convert::convert_checkpoint(o);
}

std::unique_ptr<ModelFile> open_model(const std::string& path) {
  auto f = ModelFile::open(path);
  REQUIRE_MESSAGE(f.is_ok(), f.status().message());
  return std::move(f).value();
}

std::vector<uint64_t> shape_of(const fb::Tensor& t) { return {t.shape()->begin(), t.shape()->end()}; }

// Same tensor table (names, dtypes, shapes, offsets, sizes), same bytes, same
// blocks; the files as a whole are then the same too.
void check_same_model(const std::string& got_path, const std::string& want_path) {
  auto got = open_model(got_path), want = open_model(want_path);
  const auto& gt = *got->model().tensors();
  const auto& wt = *want->model().tensors();
  REQUIRE(gt.size() == wt.size());
  for (unsigned i = 0; i < gt.size(); ++i) {
    const fb::Tensor &a = *gt.Get(i), &b = *wt.Get(i);
    CAPTURE(b.name()->str());
    CHECK(a.name()->str() == b.name()->str());
    CHECK(a.dtype() == b.dtype());
    CHECK(shape_of(a) == shape_of(b));
    CHECK(a.offset() == b.offset());
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(got->tensor_data(int(i)), want->tensor_data(int(i)), a.size()) == 0);
  }
  REQUIRE(got->model().blocks()->size() == want->model().blocks()->size());
  for (unsigned i = 0; i < got->model().blocks()->size(); ++i)
    CHECK(got->model().blocks()->Get(i)->op_type() == want->model().blocks()->Get(i)->op_type());
  CHECK(got->model().metadata()->fingerprint() == want->model().metadata()->fingerprint());
  CHECK(test::read_file(got_path) == test::read_file(want_path));
}

// ------------------------------------------------------------- error checks

bool exists(const std::string& p) { return fs::exists(fs::symlink_status(p)); }

// Conversion of `dir` fails; the message holds every needle; nothing is left
// behind: no output, no .partial, no .tmp.
void check_fails(const std::string& dir, const std::vector<std::string>& needles) {
  const std::string out = dir + "-out.eid";
  fs::remove(out);
  const Status s = convert_dir(dir, out);
  INFO("message: " << s.message());
  REQUIRE_FALSE(s.is_ok());
  for (const auto& n : needles) {
    INFO("looking for: " << n);
    CHECK(s.message().find(n) != std::string::npos);
  }
  CHECK_FALSE(exists(out));
  CHECK_FALSE(exists(out + ".partial"));
  CHECK_FALSE(exists(out + ".tmp"));
}

}  // namespace

// ======================================================= good checkpoints

TEST_CASE("a sharded checkpoint converts to the same model as the single file") {
  for (const char* arch : {"mamba", "mamba2"}) {
    for (int n_shards : {2, 3}) {
      CAPTURE(arch);
      CAPTURE(n_shards);
      const Entries all = fixture_entries(arch);
      const std::string dir = fresh_dir(std::string("sharded-") + arch + "-" + std::to_string(n_shards));
      copy_config(arch, dir);
      // Contiguous runs of the name-sorted tensors, so every layer spans shards
      // in some way; the last shard is left unpadded (unaligned data).
      json weight_map = json::object();
      uint64_t total = 0;
      for (int k = 0; k < n_shards; ++k) {
        char file[64];
        std::snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", k + 1, n_shards);
        Entries part;
        for (size_t i = all.size() * size_t(k) / size_t(n_shards); i < all.size() * size_t(k + 1) / size_t(n_shards);
             ++i) {
          part.push_back(all[i]);
          weight_map[all[i].name] = file;
          total += all[i].bytes.size();
        }
        REQUIRE_FALSE(part.empty());
        write_safetensors(dir + "/" + file, part, /*pad=*/k + 1 < n_shards);
      }
      write_text(dir + "/model.safetensors.index.json",
                 json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2));
      REQUIRE_FALSE(exists(dir + "/model.safetensors"));

      auto ckpt = convert::Checkpoint::open_dir(dir);
      REQUIRE_MESSAGE(ckpt.is_ok(), ckpt.status().message());
      CHECK(ckpt->tensors().size() == all.size());

      const std::string out = dir + ".eid";
      const Status s = convert_dir(dir, out);
      REQUIRE_MESSAGE(s.is_ok(), s.message());
      check_same_model(out, test::converted(arch));
    }
  }
}

TEST_CASE("BF16 and F16 checkpoints convert to the exactly widened values") {
  for (const char* arch : {"mamba", "mamba2"}) {
    for (const char* dtype : {"BF16", "F16"}) {
      CAPTURE(arch);
      CAPTURE(dtype);
      const bool bf16 = std::string(dtype) == "BF16";
      Entries entries = fixture_entries(arch);
      std::map<std::string, std::vector<float>> want;
      size_t changed = 0, subnormal = 0, total = 0;
      for (auto& e : entries) {
        const auto values = as_floats(e);
        std::vector<uint16_t> half(values.size());
        auto& w = want[e.name];
        for (size_t i = 0; i < values.size(); ++i) {
          half[i] = bf16 ? round_to_bf16(values[i]) : round_to_f16(values[i]);
          w.push_back(bf16 ? widen_bf16(half[i]) : widen_f16(half[i]));
          changed += w.back() != values[i];
          subnormal += !bf16 && (half[i] & 0x7c00) == 0 && (half[i] & 0x3ff) != 0;
        }
        total += values.size();
        e.dtype = dtype;
        e.bytes = to_bytes(half);
      }
      // The narrowing is real, and for f16 reaches the subnormal range.
      CHECK(changed > total / 2);
      if (!bf16) CHECK(subnormal > 0);

      const std::string dir = single_file_checkpoint(std::string("half-") + arch + "-" + dtype, arch, entries);
      const std::string out = dir + ".eid";
      const Status s = convert_dir(dir, out);
      REQUIRE_MESSAGE(s.is_ok(), s.message());
      auto file = open_model(out);
      auto reference = open_model(test::converted(arch));
      const auto& tensors = *file->model().tensors();
      REQUIRE(tensors.size() == reference->model().tensors()->size());
      for (unsigned i = 0; i < tensors.size(); ++i) {
        const fb::Tensor& t = *tensors.Get(i);
        CAPTURE(t.name()->str());
        CHECK(t.name()->str() == reference->model().tensors()->Get(i)->name()->str());
        CHECK(shape_of(t) == shape_of(*reference->model().tensors()->Get(i)));
        REQUIRE(t.dtype() == fb::DType::F32);
        const auto& w = want.at(t.name()->str());
        REQUIRE(t.size() == w.size() * 4);
        CHECK(std::memcmp(file->tensor_data(int(i)), w.data(), t.size()) == 0);
      }

      // Narrowing the widened f16 values again for an f16 model gives back the
      // source bits: an F16 checkpoint converts to f16 matrices losslessly.
      if (!bf16) {
        const std::string out16 = dir + "-f16.eid";
        const Status s16 = convert_dir(dir, out16, fb::DType::F16);
        REQUIRE_MESSAGE(s16.is_ok(), s16.message());
        auto f16 = open_model(out16);
        size_t matrices = 0;
        for (unsigned i = 0; i < f16->model().tensors()->size(); ++i) {
          const fb::Tensor& t = *f16->model().tensors()->Get(i);
          if (t.dtype() != fb::DType::F16) continue;
          CAPTURE(t.name()->str());
          const StEntry* e = find(entries, t.name()->str());
          // in_proj is written from its (trimmed) values; here nothing is trimmed.
          REQUIRE(t.size() == e->bytes.size());
          CHECK(std::memcmp(f16->tensor_data(int(i)), e->bytes.data(), t.size()) == 0);
          ++matrices;
        }
        CHECK(matrices > 0);
      }
    }
  }
}

TEST_CASE("Mamba-2: an MLP part in front of in_proj is dropped, as transformers does") {
  const size_t hidden = 64;
  for (size_t d_mlp : {1, 24, 128}) {
    CAPTURE(d_mlp);
    Entries entries = fixture_entries("mamba2");
    std::mt19937 rng{unsigned(d_mlp)};
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int layer = 0; layer < 2; ++layer) {
      StEntry* w = find(entries, "backbone.layers." + std::to_string(layer) + ".mixer.in_proj.weight");
      REQUIRE(w->shape.size() == 2);
      REQUIRE(w->shape[1] == hidden);
      std::vector<float> extra(2 * d_mlp * hidden);
      for (float& v : extra) v = normal(rng);
      auto bytes = to_bytes(extra);
      w->bytes.insert(w->bytes.begin(), bytes.begin(), bytes.end());
      w->shape[0] += 2 * d_mlp;
    }
    const std::string dir = single_file_checkpoint("mlp-" + std::to_string(d_mlp), "mamba2", entries);
    const std::string out = dir + ".eid";
    const Status s = convert_dir(dir, out);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
    check_same_model(out, test::converted("mamba2"));
  }
}

TEST_CASE("Mamba-2: an in_proj bias loses its MLP part too") {
  const size_t d_mlp = 8;
  Entries entries = fixture_entries("mamba2");
  const std::string name = "backbone.layers.0.mixer.in_proj.weight";
  StEntry* w = find(entries, name);
  const uint64_t proj = w->shape[0], hidden = w->shape[1];
  std::vector<float> extra(2 * d_mlp * hidden, 7.0f);
  auto bytes = to_bytes(extra);
  w->bytes.insert(w->bytes.begin(), bytes.begin(), bytes.end());
  w->shape[0] += 2 * d_mlp;
  std::vector<float> bias(2 * d_mlp + proj);
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = i < 2 * d_mlp ? 1e6f : float(i) * 0.25f;
  entries.push_back({"backbone.layers.0.mixer.in_proj.bias", "F32", {bias.size()}, to_bytes(bias)});
  const std::string dir = single_file_checkpoint("mlp-bias", "mamba2", entries);
  const std::string out = dir + ".eid";
  const Status s = convert_dir(dir, out);
  REQUIRE_MESSAGE(s.is_ok(), s.message());
  auto file = open_model(out);
  const int b = file->find_tensor("backbone.layers.0.mixer.in_proj.bias");
  REQUIRE(b >= 0);
  CHECK(shape_of(file->tensor(b)) == std::vector<uint64_t>{proj});
  REQUIRE(file->tensor(b).size() == proj * 4);
  CHECK(std::memcmp(file->tensor_f32(b), bias.data() + 2 * d_mlp, proj * 4) == 0);
  CHECK(file->model().blocks()->Get(1)->op_as_Mamba2Mixer()->in_proj_bias() == b);
}

TEST_CASE("time_step_limit: {\"__float__\": \"Infinity\"} gives dt_max = +inf") {
  // The fixture's config.json is written this way by transformers 5.
  const json config = fixture_config("mamba2");
  REQUIRE(config["time_step_limit"][1] == json{{"__float__", "Infinity"}});
  auto file = open_model(test::converted("mamba2"));
  unsigned mixers = 0;
  for (const fb::Block* b : *file->model().blocks()) {
    if (b->op_type() != fb::BlockOp::Mamba2Mixer) continue;
    const fb::Mamba2Mixer* m = b->op_as_Mamba2Mixer();
    CHECK(m->dt_min() == 0.0f);
    CHECK(std::isinf(m->dt_max()));
    CHECK(m->dt_max() > 0);
    ++mixers;
  }
  CHECK(mixers == 2);

  SUBCASE("finite limits are carried over") {
    json c = config;
    c["time_step_limit"] = {0.001, 0.125};
    const std::string dir = fresh_dir("tsl-finite");
    write_text(dir + "/config.json", c.dump());
    fs::copy_file(test::fixture_dir("mamba2") + "/model.safetensors", dir + "/model.safetensors");
    REQUIRE(convert_dir(dir, dir + ".eid").is_ok());
    auto f = open_model(dir + ".eid");
    const fb::Mamba2Mixer* m = f->model().blocks()->Get(1)->op_as_Mamba2Mixer();
    REQUIRE(m != nullptr);
    CHECK(m->dt_min() == 0.001f);
    CHECK(m->dt_max() == 0.125f);
  }
  SUBCASE("no time_step_limit means no limit") {
    json c = config;
    c.erase("time_step_limit");
    const std::string dir = fresh_dir("tsl-none");
    write_text(dir + "/config.json", c.dump());
    fs::copy_file(test::fixture_dir("mamba2") + "/model.safetensors", dir + "/model.safetensors");
    REQUIRE(convert_dir(dir, dir + ".eid").is_ok());
    auto f = open_model(dir + ".eid");
    const fb::Mamba2Mixer* m = f->model().blocks()->Get(1)->op_as_Mamba2Mixer();
    CHECK(m->dt_min() == 0.0f);
    CHECK(std::isinf(m->dt_max()));
  }
}

// ============================================================== errors

TEST_CASE("garbage time_step_limit is an error naming config.json") {
  const json garbage[] = {
      "fast",
      json::array({0.0}),
      json::array({0.0, 1.0, 2.0}),
      json::array({0.0, "inf"}),
      json::array({0.0, {{"__float__", "lots"}}}),
      json::array({0.0, {{"__float__", "NaN"}}}),
      json::array({0.5, 0.1}),   // min above max
      json::array({-1.0, 0.1}),  // negative
  };
  for (const json& g : garbage) {
    CAPTURE(g.dump());
    json c = fixture_config("mamba2");
    c["time_step_limit"] = g;
    const std::string dir = fresh_dir("tsl-garbage");
    write_text(dir + "/config.json", c.dump());
    fs::copy_file(test::fixture_dir("mamba2") + "/model.safetensors", dir + "/model.safetensors");
    check_fails(dir, {dir + "/config.json", "time_step_limit"});
  }
}

TEST_CASE("config.json errors name the file and the cause") {
  SUBCASE("missing") {
    const std::string dir = fresh_dir("no-config");
    fs::copy_file(test::fixture_dir("mamba") + "/model.safetensors", dir + "/model.safetensors");
    check_fails(dir, {dir + "/config.json", "cannot open"});
  }
  SUBCASE("malformed JSON") {
    const std::string dir = fresh_dir("bad-config");
    write_text(dir + "/config.json", "{\"model_type\": \"mamba\", \"hidden_size\": 64,");
    fs::copy_file(test::fixture_dir("mamba") + "/model.safetensors", dir + "/model.safetensors");
    check_fails(dir, {dir + "/config.json", "malformed JSON"});
  }
  SUBCASE("not an object") {
    const std::string dir = fresh_dir("array-config");
    write_text(dir + "/config.json", "[1, 2, 3]");
    check_fails(dir, {dir + "/config.json", "malformed JSON"});
  }
  SUBCASE("unknown model_type lists the supported ones") {
    const std::string dir = fresh_dir("rwkv-config");
    json c = fixture_config("mamba");
    c["model_type"] = "rwkv7";
    write_text(dir + "/config.json", c.dump());
    fs::copy_file(test::fixture_dir("mamba") + "/model.safetensors", dir + "/model.safetensors");
    check_fails(dir, {dir + "/config.json", "\"rwkv7\"", "not supported", "mamba", "mamba2", "falcon_mamba"});
  }
  SUBCASE("no model_type") {
    const std::string dir = fresh_dir("untyped-config");
    json c = fixture_config("mamba");
    c.erase("model_type");
    write_text(dir + "/config.json", c.dump());
    check_fails(dir, {dir + "/config.json", "\"model_type\" is missing"});
  }
  SUBCASE("a hyperparameter of the wrong type") {
    const std::string dir = fresh_dir("typed-config");
    json c = fixture_config("mamba2");
    c["num_heads"] = "eight";
    write_text(dir + "/config.json", c.dump());
    fs::copy_file(test::fixture_dir("mamba2") + "/model.safetensors", dir + "/model.safetensors");
    check_fails(dir, {dir + "/config.json", "\"num_heads\" must be an integer"});
  }
}

TEST_CASE("tensor errors name the file, the tensor and the cause") {
  SUBCASE("missing tensor") {
    Entries e = fixture_entries("mamba");
    e.erase(std::find_if(e.begin(), e.end(), [](const StEntry& x) { return x.name == "backbone.layers.1.mixer.D"; }));
    const std::string dir = single_file_checkpoint("missing-tensor", "mamba", e);
    check_fails(dir, {dir + "/model.safetensors", "missing tensor", "'backbone.layers.1.mixer.D'"});
  }
  SUBCASE("missing tensor, Mamba-2") {
    Entries e = fixture_entries("mamba2");
    e.erase(std::find_if(e.begin(), e.end(),
                         [](const StEntry& x) { return x.name == "backbone.layers.0.mixer.in_proj.weight"; }));
    const std::string dir = single_file_checkpoint("missing-in-proj", "mamba2", e);
    check_fails(dir, {dir + "/model.safetensors", "missing tensor", "'backbone.layers.0.mixer.in_proj.weight'"});
  }
  SUBCASE("mis-shaped tensor") {
    Entries e = fixture_entries("mamba");
    StEntry* t = find(e, "backbone.layers.0.mixer.dt_proj.weight");
    REQUIRE(t->shape == std::vector<uint64_t>{128, 4});
    t->shape = {128, 5};
    t->bytes.resize(128 * 5 * 4, 0);
    const std::string dir = single_file_checkpoint("misshaped", "mamba", e);
    check_fails(dir, {dir + "/model.safetensors", "'backbone.layers.0.mixer.dt_proj.weight'", "has shape [128, 5]",
                      "expected [128, 4]"});
  }
  SUBCASE("mis-shaped Mamba-2 in_proj (an odd number of extra rows)") {
    Entries e = fixture_entries("mamba2");
    StEntry* t = find(e, "backbone.layers.1.mixer.in_proj.weight");
    const uint64_t rows = t->shape[0], hidden = t->shape[1];
    t->shape[0] += 1;
    t->bytes.resize(t->bytes.size() + hidden * 4, 0);
    const std::string dir = single_file_checkpoint("misshaped-in-proj", "mamba2", e);
    check_fails(dir, {dir + "/model.safetensors", "'backbone.layers.1.mixer.in_proj.weight'",
                      "[" + std::to_string(rows) + ", " + std::to_string(hidden) + "]"});
  }
  SUBCASE("unsupported dtype: I32 where a weight belongs") {
    Entries e = fixture_entries("mamba");
    StEntry* t = find(e, "backbone.layers.0.mixer.out_proj.weight");
    t->dtype = "I32";  // same byte count
    const std::string dir = single_file_checkpoint("i32-weight", "mamba", e);
    check_fails(dir, {dir + "/model.safetensors", "'backbone.layers.0.mixer.out_proj.weight'", "dtype I32",
                      "supported: F32, F16, BF16"});
  }
  SUBCASE("unknown dtype") {
    Entries e = fixture_entries("mamba");
    StEntry* t = find(e, "backbone.norm_f.weight");
    t->dtype = "F4";
    const std::string dir = single_file_checkpoint("f4-weight", "mamba", e);
    check_fails(dir, {dir + "/model.safetensors", "'backbone.norm_f.weight'", "unknown dtype F4"});
  }
  SUBCASE("byte size that does not match the shape") {
    Entries e = fixture_entries("mamba");
    StEntry* t = find(e, "backbone.norm_f.weight");
    t->bytes.resize(t->bytes.size() - 4);
    const std::string dir = single_file_checkpoint("short-tensor", "mamba", e);
    check_fails(dir, {dir + "/model.safetensors", "'backbone.norm_f.weight'", "does not match shape [64]"});
  }
}

TEST_CASE("malformed safetensors files name the file and the cause") {
  const std::string dir = fresh_dir("bad-header");
  copy_config("mamba", dir);
  const std::string path = dir + "/model.safetensors";
  std::vector<uint8_t> data(64 * 4, 0);
  SUBCASE("header is not JSON") {
    const std::string header = "{\"backbone.norm_f.weight\": {\"dtype\": \"F32\", ";
    write_raw_safetensors(path, header, data, header.size());
    check_fails(dir, {path, "malformed safetensors header (bad JSON)"});
  }
  SUBCASE("header is JSON but not an object") {
    const std::string header = "[1, 2, 3]";
    write_raw_safetensors(path, header, data, header.size());
    check_fails(dir, {path, "malformed safetensors header"});
  }
  SUBCASE("header length past the end of the file") {
    const std::string header = "{}";
    write_raw_safetensors(path, header, data, 8 + header.size() + data.size() + 1);
    check_fails(dir, {path, "header length runs past the file"});
  }
  SUBCASE("header length near 2^64") {
    const std::string header = "{}";
    write_raw_safetensors(path, header, data, ~uint64_t(0) - 3);
    check_fails(dir, {path, "header length runs past the file"});
  }
  SUBCASE("data_offsets past the end") {
    const std::string header =
        json{{"backbone.norm_f.weight", {{"dtype", "F32"}, {"shape", {64}}, {"data_offsets", {4, 260}}}}}.dump();
    write_raw_safetensors(path, header, data, header.size());
    check_fails(dir, {path, "'backbone.norm_f.weight'", "data_offsets run past the end of the file"});
  }
  SUBCASE("data_offsets reversed") {
    const std::string header =
        json{{"backbone.norm_f.weight", {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {8, 4}}}}}.dump();
    write_raw_safetensors(path, header, data, header.size());
    check_fails(dir, {path, "'backbone.norm_f.weight'", "data_offsets"});
  }
  SUBCASE("an entry without data_offsets") {
    const std::string header = json{{"backbone.norm_f.weight", {{"dtype", "F32"}, {"shape", {64}}}}}.dump();
    write_raw_safetensors(path, header, data, header.size());
    check_fails(dir, {path, "'backbone.norm_f.weight'", "malformed entry"});
  }
  SUBCASE("a file too short for the length field") {
    test::write_file(path, {1, 2, 3});
    check_fails(dir, {path, "too short"});
  }
  SUBCASE("no weights at all") {
    fs::remove(path);
    check_fails(dir, {dir, "no model.safetensors or model.safetensors.index.json"});
  }
}

TEST_CASE("sharded checkpoint errors name the index or the shard") {
  const Entries all = fixture_entries("mamba");
  const std::string dir = fresh_dir("bad-index");
  copy_config("mamba", dir);
  const std::string shard1 = "model-00001-of-00002.safetensors", shard2 = "model-00002-of-00002.safetensors";
  const Entries first(all.begin(), all.begin() + long(all.size() / 2)),
      second(all.begin() + long(all.size() / 2), all.end());
  write_safetensors(dir + "/" + shard1, first);
  json map = json::object();
  for (const auto& e : first) map[e.name] = shard1;
  for (const auto& e : second) map[e.name] = shard2;
  const std::string index = dir + "/model.safetensors.index.json";

  SUBCASE("index points to a missing shard") {
    write_text(index, json{{"weight_map", map}}.dump());
    check_fails(dir, {dir + "/" + shard2, "No such file"});
  }
  SUBCASE("index lists a tensor its shard does not hold") {
    write_safetensors(dir + "/" + shard2, Entries(second.begin() + 1, second.end()));
    write_text(index, json{{"weight_map", map}}.dump());
    check_fails(dir, {index, "'" + second.front().name + "'", "not found in " + shard2});
  }
  SUBCASE("a tensor the model needs is in no shard") {
    json m = map;
    m.erase(second.front().name);
    write_safetensors(dir + "/" + shard2, Entries(second.begin() + 1, second.end()));
    write_text(index, json{{"weight_map", m}}.dump());
    check_fails(dir, {index, "missing tensor", "'" + second.front().name + "'"});
  }
  SUBCASE("a tensor in two shards") {
    write_safetensors(dir + "/" + shard2, Entries(all.begin() + long(all.size() / 2) - 1, all.end()));
    write_text(index, json{{"weight_map", map}}.dump());
    check_fails(dir, {"'" + first.back().name + "'", "appears in two shards"});
  }
  SUBCASE("malformed index") {
    write_safetensors(dir + "/" + shard2, second);
    write_text(index, "{\"weight_map\": ");
    check_fails(dir, {index, "malformed JSON or no weight_map"});
  }
  SUBCASE("index without weight_map") {
    write_safetensors(dir + "/" + shard2, second);
    write_text(index, "{\"metadata\": {}}");
    check_fails(dir, {index, "no weight_map"});
  }
  SUBCASE("shard name with a path") {
    json m = map;
    m[second.front().name] = "../elsewhere.safetensors";
    write_safetensors(dir + "/" + shard2, second);
    write_text(index, json{{"weight_map", m}}.dump());
    check_fails(dir, {index, "'../elsewhere.safetensors'", "plain file name"});
  }
}

TEST_CASE("a failed conversion leaves nothing behind, and an existing output untouched") {
  // Fails late: after the writer has streamed most tensors to the .partial file.
  Entries e = fixture_entries("mamba");
  e.erase(std::find_if(e.begin(), e.end(), [](const StEntry& x) { return x.name == "backbone.norm_f.weight"; }));
  const std::string dir = single_file_checkpoint("late-failure", "mamba", e);
  check_fails(dir, {"'backbone.norm_f.weight'"});

  const std::string out = dir + "-existing.eid";
  const std::vector<uint8_t> old = {'o', 'l', 'd'};
  test::write_file(out, old);
  REQUIRE_FALSE(convert_dir(dir, out).is_ok());
  CHECK(test::read_file(out) == old);
  CHECK_FALSE(exists(out + ".partial"));
  CHECK_FALSE(exists(out + ".tmp"));

  // An output directory that does not exist: an error naming the path.
  const std::string nowhere = dir + "/no/such/dir/model.eid";
  const Status s = convert_dir(test::fixture_dir("mamba"), nowhere);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.message().find(nowhere) != std::string::npos);
  CHECK_FALSE(exists(nowhere));
}
