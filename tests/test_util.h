// Helpers shared by the tests: fixture paths, temporary files, converting a
// Hugging Face fixture, reading its reference tensors.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "converter/convert.h"
#include "converter/safetensors.h"

namespace eidetic::test {

inline std::string data_path(const std::string& rel) { return std::string(EIDETIC_TEST_DATA) + "/" + rel; }
inline std::string fixture_dir(const std::string& arch) { return data_path("hf/" + arch); }

// A per-process scratch directory under /tmp.
inline std::string temp_dir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/eidetic-test-XXXXXX";
    const char* d = mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    std::string path = d;
    return path;
  }();
  return dir;
}

// Convert a fixture once per process and dtype; returns the .eid path.
inline std::string converted(const std::string& arch, fb::DType dtype = fb::DType::F32) {
  const std::string out = temp_dir() + "/" + arch + "-" + fb::EnumNameDType(dtype) + ".eid";
  if (!std::ifstream(out).good()) {
    convert::ConvertOptions o;
    o.checkpoint_dir = fixture_dir(arch);
    o.output = out;
    o.quant = dtype;
    Status s = convert::convert_checkpoint(o);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
  }
  return out;
}

#ifdef EIDETIC_SAMPLES_MODELS
// The demo model (samples/models/fortune-mamba2, with its tokenizer) converted once per process.
inline std::string converted_demo() {
  static const std::string out = [] {
    const std::string path = temp_dir() + "/fortune-mamba2-demo.eid";
    convert::ConvertOptions o;
    o.checkpoint_dir = std::string(EIDETIC_SAMPLES_MODELS) + "/fortune-mamba2";
    o.output = path;
    const Status s = convert::convert_checkpoint(o);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
    return path;
  }();
  return out;
}
#endif

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// The fixture's reference outputs (computed by Hugging Face transformers).
struct Reference {
  std::vector<int32_t> input_ids, gen_ids;
  size_t gen_prompt_len = 0;
  std::vector<float> prefill_logits, gen_step_logits;
};

inline std::vector<int32_t> read_i64(const convert::Checkpoint& c, const std::string& name) {
  auto t = c.get(name);
  REQUIRE(t.is_ok());
  REQUIRE((*t)->dtype_name == "I64");
  std::vector<int32_t> out((*t)->numel());
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t v;
    std::memcpy(&v, (*t)->data + 8 * i, 8);
    out[i] = int32_t(v);
  }
  return out;
}

inline Reference load_reference(const std::string& arch) {
  auto c = convert::Checkpoint::open_file(fixture_dir(arch) + "/reference.safetensors");
  REQUIRE_MESSAGE(c.is_ok(), c.status().message());
  Reference r;
  r.input_ids = read_i64(*c, "input_ids");
  r.gen_ids = read_i64(*c, "gen_ids");
  r.gen_prompt_len = size_t(read_i64(*c, "gen_prompt_len").at(0));
  r.prefill_logits = c->load_f32("prefill_logits", {}).value();
  r.gen_step_logits = c->load_f32("gen_step_logits", {}).value();
  return r;
}

}  // namespace eidetic::test
