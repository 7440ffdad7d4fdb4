// eidetic-perplexity as a program, against an independent computation: the
// demo model fed one token at a time through Session::decode, -log softmax of
// each step's logits in double, perplexity = exp(mean NLL). The program runs
// batched forward passes (forward_all), whose state must carry across batches
// and be reset between --context windows.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "runtime/src/session/session.h"
#include "tests/test_util.h"

using namespace eidetic;
using nlohmann::json;

namespace {

const char* kText =
    "A journey of a thousand miles begins with a single step.\n"
    "\t\t-- Lao Tsu\n%\n"
    "The computer is a moron.\n\t\t-- Peter Drucker\n%\n"
    "Love is an ideal thing, marriage a real thing.\n%\n";

std::string demo_model() {
  static const std::string out = [] {
    const std::string path = test::temp_dir() + "/fortune-ppl.eid";
    convert::ConvertOptions o;
    o.checkpoint_dir = std::string(EIDETIC_SAMPLES_MODELS) + "/fortune-mamba2";
    o.output = path;
    const Status s = convert::convert_checkpoint(o);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
    return path;
  }();
  return out;
}

std::string text_file() {
  const std::string path = test::temp_dir() + "/ppl.txt";
  const std::string text = kText;
  test::write_file(path, std::vector<uint8_t>(text.begin(), text.end()));
  return path;
}

json run_program(const std::string& args) {
  const std::string cmd =
      std::string(EIDETIC_PERPLEXITY) + " -m " + demo_model() + " -f " + text_file() + " --json " + args;
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  INFO(cmd);
  INFO(out);
  REQUIRE(rc == 0);
  REQUIRE(std::count(out.begin(), out.end(), '\n') == 1);  // one JSON line
  return json::parse(out);
}

struct Expected {
  double nll_sum = 0;
  size_t scored = 0, bytes = 0;
};

double log_softmax_nll(const float* l, size_t vocab, int32_t target) {
  double mx = l[0];
  for (size_t i = 1; i < vocab; ++i) mx = std::max(mx, double(l[i]));
  double sum = 0;
  for (size_t i = 0; i < vocab; ++i) sum += std::exp(double(l[i]) - mx);
  return std::log(sum) + mx - l[target];
}

// Token by token through the decode path, windows of `context` tokens (0 =
// all), each from a fresh state, BOS first when asked.
Expected stepwise(size_t context, bool bos) {
  auto model = Model::load(demo_model(), LoadOptions{});
  REQUIRE(model.is_ok());
  const Tokenizer* tok = (*model)->tokenizer();
  const std::vector<int32_t> ids = tok->encode(kText);
  const size_t vocab = (*model)->vocab_size(), window = context ? context : ids.size();
  auto session = Session::create(**model);
  REQUIRE(session.is_ok());
  Expected e;
  for (size_t w0 = 0; w0 < ids.size(); w0 += window) {
    const size_t w1 = std::min(ids.size(), w0 + window);
    (*session)->reset();
    if (bos) REQUIRE((*session)->decode((*model)->bos_id()).is_ok());
    for (size_t i = w0; i < w1; ++i) {
      if ((*session)->has_logits()) {
        e.nll_sum += log_softmax_nll((*session)->logits(), vocab, ids[i]);
        e.bytes += tok->decode(&ids[i], 1).value().size();  // the fixture text is ASCII
        ++e.scored;
      }
      REQUIRE((*session)->decode(ids[i]).is_ok());
    }
  }
  return e;
}

void check(const json& got, const Expected& want) {
  REQUIRE(want.scored > 0);
  const double mean = want.nll_sum / double(want.scored);
  CHECK(got["scored"].get<size_t>() == want.scored);
  CHECK(got["scored_bytes"].get<size_t>() == want.bytes);
  CHECK(got["mean_nll"].get<double>() == doctest::Approx(mean).epsilon(1e-4));
  CHECK(got["perplexity"].get<double>() == doctest::Approx(std::exp(mean)).epsilon(1e-4));
  CHECK(got["bits_per_byte"].get<double>() ==
        doctest::Approx(want.nll_sum / std::log(2.0) / double(want.bytes)).epsilon(1e-4));
  CHECK(got["tokens_per_s"].get<double>() > 0);
}

}  // namespace

TEST_CASE("eidetic-perplexity: exp(mean NLL) of the stepwise decode path, for any batch size") {
  const Expected whole = stepwise(0, false);
  // A trained model on fortune text: clearly better than uniform over 1024 tokens.
  CHECK(std::exp(whole.nll_sum / double(whole.scored)) < 200);
  const json one_pass = run_program("");
  CHECK(one_pass["tokens"].get<size_t>() == whole.scored + 1);
  CHECK(one_pass["file_bytes"].get<size_t>() == std::string(kText).size());
  check(one_pass, whole);
  check(run_program("--batch 7"), whole);  // the state carries across batches
  check(run_program("--batch 1 -t 2"), whole);
}

TEST_CASE("eidetic-perplexity: --context windows start from a fresh state; --bos scores their first token") {
  check(run_program("--context 16 --batch 5"), stepwise(16, false));
  check(run_program("--context 16 --bos --batch 64"), stepwise(16, true));
  check(run_program("--bos"), stepwise(0, true));
}
