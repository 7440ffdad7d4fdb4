// End to end against Hugging Face transformers: the fixtures' prefill logits,
// per-step decode logits and greedy continuations (computed in float64 by
// transformers; see tests/data/hf/*/meta.json).
#include <algorithm>
#include <cmath>

#include "runtime/src/session/session.h"
#include "tests/test_util.h"

using namespace eidetic;

namespace {

const char* kArchs[] = {"mamba", "mamba_untied", "falcon_mamba", "mamba2"};

// Tolerance of the issue: |got - ref| <= 1e-4 * (1 + |ref|), element by element.
void check_close(const float* got, const float* ref, size_t n, const std::string& what) {
  size_t bad = 0;
  float worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const float err = std::fabs(got[i] - ref[i]) / (1.0f + std::fabs(ref[i]));
    worst = std::max(worst, err);
    bad += !(err <= 1e-4f);
  }
  INFO(what << ": worst scaled error " << worst);
  CHECK(bad == 0);
}

int32_t argmax(const float* v, size_t n) { return int32_t(std::max_element(v, v + n) - v); }

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Session> session;
};

Loaded load(const std::string& arch, fb::DType dtype, size_t max_batch = 64, int threads = 1) {
  LoadOptions o;
  o.backend_options.max_batch_tokens = max_batch;
  o.backend_options.n_threads = threads;
  auto m = Model::load(test::converted(arch, dtype), o);
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  auto s = Session::create(**m);
  REQUIRE(s.is_ok());
  return {std::move(m).value(), std::move(s).value()};
}

}  // namespace

TEST_CASE("prefill logits match transformers") {
  for (const char* arch : kArchs) {
    for (size_t batch : {64, 8, 1}) {  // one chunk, several chunks, token by token
      CAPTURE(arch);
      CAPTURE(batch);
      const auto ref = test::load_reference(arch);
      auto l = load(arch, fb::DType::F32, batch, batch == 8 ? 2 : 1);
      const size_t vocab = l.model->vocab_size(), n = ref.input_ids.size();
      std::vector<float> logits(n * vocab);
      REQUIRE(l.session->forward_all(ref.input_ids.data(), n, logits.data()).is_ok());
      check_close(logits.data(), ref.prefill_logits.data(), n * vocab, std::string(arch) + " prefill");
    }
  }
}

TEST_CASE("stepwise decode logits match transformers' cached generation") {
  for (const char* arch : kArchs) {
    CAPTURE(arch);
    const auto ref = test::load_reference(arch);
    auto l = load(arch, fb::DType::F32);
    const size_t vocab = l.model->vocab_size(), p = ref.gen_prompt_len;
    const size_t steps = ref.gen_step_logits.size() / vocab;
    // The prompt one token at a time, then each generated token.
    for (size_t i = 0; i < p; ++i) REQUIRE(l.session->decode(ref.gen_ids[i]).is_ok());
    for (size_t s = 0; s < steps; ++s) {
      check_close(l.session->logits(), ref.gen_step_logits.data() + s * vocab, vocab,
                  std::string(arch) + " step " + std::to_string(s));
      if (s + 1 < steps) REQUIRE(l.session->decode(ref.gen_ids[p + s]).is_ok());
    }
  }
}

TEST_CASE("greedy continuation equals transformers' gen_ids") {
  for (const char* arch : kArchs) {
    CAPTURE(arch);
    const auto ref = test::load_reference(arch);
    auto l = load(arch, fb::DType::F32);
    const size_t vocab = l.model->vocab_size(), p = ref.gen_prompt_len;
    REQUIRE(l.session->prefill(ref.gen_ids.data(), p).is_ok());
    std::vector<int32_t> got(ref.gen_ids.begin(), ref.gen_ids.begin() + long(p));
    while (got.size() < ref.gen_ids.size()) {
      got.push_back(argmax(l.session->logits(), vocab));
      REQUIRE(l.session->decode(got.back()).is_ok());
    }
    CHECK(got == ref.gen_ids);
  }
}

TEST_CASE("f16 weights stay close to the f32 reference and keep the greedy tokens") {
  for (const char* arch : kArchs) {
    CAPTURE(arch);
    const auto ref = test::load_reference(arch);
    auto l = load(arch, fb::DType::F16);
    const size_t vocab = l.model->vocab_size(), n = ref.input_ids.size();
    std::vector<float> logits(n * vocab);
    REQUIRE(l.session->forward_all(ref.input_ids.data(), n, logits.data()).is_ok());
    float worst = 0;
    for (size_t i = 0; i < logits.size(); ++i)
      worst = std::max(worst, std::fabs(logits[i] - ref.prefill_logits[i]) / (1.0f + std::fabs(ref.prefill_logits[i])));
    CHECK(worst < 5e-3f);  // f16 keeps 11 significant bits
  }
}
