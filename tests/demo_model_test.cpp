// The demo model (samples/models/fortune-mamba2) end to end against Hugging
// Face: greedy_samples.json holds, per prompt, the ids and text that
// transformers' greedy generate() produced (prompt + 60 new tokens). The
// converted model must tokenize each prompt to the sample's leading ids,
// continue it greedily to exactly the same ids, and decode them to the same text.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/src/session/session.h"
#include "tests/test_util.h"

using namespace eidetic;
using nlohmann::json;

namespace {

const std::string kDemoDir = std::string(EIDETIC_SAMPLES_MODELS) + "/fortune-mamba2";
constexpr size_t kNewTokens = 60;

std::string converted_demo() {
  static const std::string out = [] {
    const std::string path = test::temp_dir() + "/fortune-mamba2.eid";
    convert::ConvertOptions o;
    o.checkpoint_dir = kDemoDir;
    o.output = path;
    const Status s = convert::convert_checkpoint(o);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
    return path;
  }();
  return out;
}

json greedy_samples() {
  std::ifstream in(kDemoDir + "/greedy_samples.json");
  REQUIRE(in.good());
  return json::parse(in);
}

int32_t argmax(const float* v, size_t n) { return int32_t(std::max_element(v, v + n) - v); }

}  // namespace

TEST_CASE("demo model: tokenizer, greedy ids and text equal Hugging Face's") {
  auto model = Model::load(converted_demo(), LoadOptions{});
  REQUIRE_MESSAGE(model.is_ok(), model.status().message());
  const Tokenizer* tok = (*model)->tokenizer();
  REQUIRE(tok != nullptr);
  const size_t vocab = (*model)->vocab_size();

  const json samples = greedy_samples();
  const char* prompts[] = {"A man", "The computer", "Love is", "Q:"};
  REQUIRE(samples.size() == 4);
  for (const char* prompt : prompts) {
    CAPTURE(prompt);
    REQUIRE(samples.contains(prompt));
    const auto want = samples[prompt]["ids"].get<std::vector<int32_t>>();
    const auto want_text = samples[prompt]["text"].get<std::string>();

    // The prompt's ids are the sample's first ids, and 60 tokens follow them.
    const std::vector<int32_t> prompt_ids = tok->encode(prompt);
    REQUIRE_FALSE(prompt_ids.empty());
    REQUIRE(want.size() == prompt_ids.size() + kNewTokens);
    CHECK(std::equal(prompt_ids.begin(), prompt_ids.end(), want.begin()));

    // Greedy: prefill the prompt, then argmax → decode, 60 times, no EOS stop.
    auto session = Session::create(**model);
    REQUIRE(session.is_ok());
    REQUIRE((*session)->prefill(prompt_ids.data(), prompt_ids.size()).is_ok());
    std::vector<int32_t> got = prompt_ids;
    for (size_t i = 0; i < kNewTokens; ++i) {
      got.push_back(argmax((*session)->logits(), vocab));
      REQUIRE((*session)->decode(got.back()).is_ok());
    }
    CHECK(got == want);

    auto text = tok->decode(got);
    REQUIRE(text.is_ok());
    CHECK(text.value() == want_text);
    // HF's ids decode to HF's text too (independent of our generation).
    auto hf_text = tok->decode(want);
    REQUIRE(hf_text.is_ok());
    CHECK(hf_text.value() == want_text);
  }
}
