// The C API through the shared library (libeidetic): every function's error
// paths give the documented eidetic_status and a message, and the happy path
// on the demo model reproduces Hugging Face's tokenizer and greedy samples.
//
// Error calls run on a fresh thread each (see fresh()): eidetic_last_error()
// is per thread and keeps the last failure, so a fresh thread proves that the
// message comes from the call under test.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "eidetic.h"
#include "tests/test_util.h"

using nlohmann::json;

namespace {

const std::string kDemoDir = std::string(EIDETIC_SAMPLES_MODELS) + "/fortune-mamba2";

struct Outcome {
  eidetic_status status;
  std::string message;
};

// Run one call on a new thread; its status and that thread's last error.
Outcome fresh(const std::function<eidetic_status()>& call) {
  Outcome o{EIDETIC_OK, ""};
  std::thread t([&] {
    const std::string before = eidetic_last_error();
    o.status = call();
    o.message = eidetic_last_error();
    if (!before.empty()) o.message = "<stale message: " + before + ">";
  });
  t.join();
  return o;
}

#define CHECK_FAILS(expected, call)                                \
  do {                                                             \
    const Outcome o_ = fresh([&] { return (call); });              \
    INFO(#call << " -> " << int(o_.status) << ": " << o_.message); \
    CHECK(o_.status == (expected));                                \
    CHECK_FALSE(o_.message.empty());                               \
  } while (0)

#define REQUIRE_OK(call)                                                      \
  do {                                                                        \
    const eidetic_status s_ = (call);                                         \
    REQUIRE_MESSAGE(s_ == EIDETIC_OK, #call << ": " << eidetic_last_error()); \
  } while (0)

std::string demo_path() {
  static const std::string out = [] {
    const std::string path = eidetic::test::temp_dir() + "/fortune-mamba2.eid";
    eidetic::convert::ConvertOptions o;
    o.checkpoint_dir = kDemoDir;
    o.output = path;
    const eidetic::Status s = eidetic::convert::convert_checkpoint(o);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
    return path;
  }();
  return out;
}

// A fixture without tokenizer.json: its model file carries no tokenizer.
std::string no_tokenizer_path() { return eidetic::test::converted("mamba"); }

json greedy_samples() {
  std::ifstream in(kDemoDir + "/greedy_samples.json");
  REQUIRE(in.good());
  return json::parse(in);
}

// An id straight from tokenizer.json's vocabulary (not through the runtime).
int32_t vocab_id(const std::string& token) {
  std::ifstream in(kDemoDir + "/tokenizer.json");
  REQUIRE(in.good());
  const json t = json::parse(in);
  REQUIRE(t["model"]["vocab"].contains(token));
  return t["model"]["vocab"][token].get<int32_t>();
}

eidetic_model* load(const std::string& path) {
  eidetic_model* m = nullptr;
  REQUIRE_OK(eidetic_model_load(path.c_str(), nullptr, &m));
  REQUIRE(m != nullptr);
  return m;
}

eidetic_session* new_session(eidetic_model* m) {
  eidetic_session* s = nullptr;
  REQUIRE_OK(eidetic_session_create(m, &s));
  REQUIRE(s != nullptr);
  return s;
}

eidetic_sampler* greedy_sampler(const eidetic_model* m) {
  eidetic_sampler_params p;
  eidetic_sampler_params_init(&p);
  p.temperature = 0.0f;
  p.repeat_penalty = 1.0f;
  eidetic_sampler* s = nullptr;
  REQUIRE_OK(eidetic_sampler_create(m, &p, &s));
  REQUIRE(s != nullptr);
  return s;
}

struct Collected {
  std::vector<int32_t> ids;
  std::string text;
  size_t stop_after = 0;  // 0: never stop
  size_t calls = 0;
};

int collect(void* user, int32_t token, const char* text, size_t len) {
  auto* c = static_cast<Collected*>(user);
  ++c->calls;
  c->ids.push_back(token);
  c->text.append(text, len);
  return c->stop_after && c->calls >= c->stop_after ? 1 : 0;
}

int never_called(void*, int32_t, const char*, size_t) { return 1; }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

}  // namespace

TEST_CASE("the fresh-thread check sees an error message and none left over") {
  // The harness itself: a failing call leaves a message, a fresh thread starts clean.
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_reset(nullptr));
  CHECK(fresh([] { return EIDETIC_OK; }).message.empty());
}

TEST_CASE("eidetic_model_load errors") {
  const std::string good = demo_path();
  eidetic_model* m = reinterpret_cast<eidetic_model*>(0x1);  // must be cleared on failure
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_model_load(nullptr, nullptr, &m));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_model_load(good.c_str(), nullptr, nullptr));

  const std::string dir = eidetic::test::temp_dir();
  m = reinterpret_cast<eidetic_model*>(0x1);
  CHECK_FAILS(EIDETIC_ERROR_IO, eidetic_model_load((dir + "/no-such-model.eid").c_str(), nullptr, &m));
  CHECK(m == nullptr);
  CHECK_FAILS(EIDETIC_ERROR_IO, eidetic_model_load(dir.c_str(), nullptr, &m));  // a directory

  // Corrupt files: a flipped byte in the model description (the flatbuffer
  // after the 64-byte header; weights are not checksummed) or in the header, a
  // truncated file, text, nothing.
  std::vector<uint8_t> bytes = eidetic::test::read_file(good);
  REQUIRE(bytes.size() > 4096);
  std::vector<uint8_t> flipped = bytes;
  flipped[64 + 200] ^= 0x40;
  eidetic::test::write_file(dir + "/flipped.eid", flipped);
  std::vector<uint8_t> flipped_header = bytes;
  flipped_header[20] ^= 0x01;
  eidetic::test::write_file(dir + "/flipped_header.eid", flipped_header);
  eidetic::test::write_file(dir + "/truncated.eid",
                            std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  write_bytes(dir + "/text.eid", "this is not a model file, just some text that is long enough to fill a header\n");
  write_bytes(dir + "/empty.eid", "");
  for (const std::string name : {"flipped.eid", "flipped_header.eid", "truncated.eid", "text.eid", "empty.eid"}) {
    CAPTURE(name);
    m = reinterpret_cast<eidetic_model*>(0x1);
    CHECK_FAILS(EIDETIC_ERROR_INVALID_MODEL, eidetic_model_load((dir + "/" + name).c_str(), nullptr, &m));
    CHECK(m == nullptr);
  }

  // Options.
  eidetic_model_options o;
  eidetic_model_options_init(&o);
  o.backend = "no-such-backend";
  m = reinterpret_cast<eidetic_model*>(0x1);
  CHECK_FAILS(EIDETIC_ERROR_UNSUPPORTED, eidetic_model_load(good.c_str(), &o, &m));
  CHECK(m == nullptr);
  eidetic_model_options_init(&o);
  o.backend = nullptr;
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_model_load(good.c_str(), &o, &m));
  eidetic_model_options_init(&o);
  o.max_batch_tokens = 0;
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_model_load(good.c_str(), &o, &m));
  eidetic_model_options_init(&o);
  o.n_threads = 0;
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_model_load(good.c_str(), &o, &m));
  eidetic_model_options_init(&o);
  o.n_threads = -3;
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_model_load(good.c_str(), &o, &m));

  // The defaults are as documented, and a valid load clears nothing it should not.
  eidetic_model_options_init(&o);
  CHECK(std::string(o.backend) == "cpu");
  CHECK(o.n_threads == 1);
  CHECK(o.device == 0);
  CHECK(o.max_batch_tokens == 64);
  eidetic_model_options_init(nullptr);  // no crash
  m = nullptr;
  REQUIRE_OK(eidetic_model_load(good.c_str(), &o, &m));
  CHECK(m != nullptr);
  eidetic_model_free(m);
}

TEST_CASE("functions without a status tolerate null handles") {
  CHECK(eidetic_model_vocab_size(nullptr) == 0);
  CHECK(eidetic_model_state_bytes(nullptr) == 0);
  CHECK(eidetic_model_bos(nullptr) == -1);
  CHECK(eidetic_model_eos(nullptr) == -1);
  CHECK(std::string(eidetic_model_device(nullptr)).empty());
  CHECK(eidetic_session_position(nullptr) == 0);
  eidetic_model_free(nullptr);
  eidetic_session_free(nullptr);
  eidetic_sampler_free(nullptr);
  eidetic_sampler_params_init(nullptr);
  CHECK(eidetic_version() != nullptr);
  CHECK(std::strlen(eidetic_version()) > 0);
}

TEST_CASE("eidetic_tokenize and eidetic_detokenize errors") {
  eidetic_model* m = load(demo_path());
  eidetic_model* bare = load(no_tokenizer_path());
  const std::string text = "The computer";
  int32_t ids[64];
  size_t n = 0;

  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_tokenize(nullptr, text.data(), text.size(), 0, ids, 64, &n));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_tokenize(m, nullptr, 5, 0, ids, 64, &n));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_tokenize(m, text.data(), text.size(), 0, ids, 64, nullptr));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_tokenize(m, text.data(), text.size(), 0, nullptr, 64, &n));
  CHECK_FAILS(EIDETIC_ERROR_UNSUPPORTED, eidetic_tokenize(bare, text.data(), text.size(), 0, ids, 64, &n));

  // Too small: the needed count comes back, and nothing past capacity is written.
  const int32_t the = vocab_id("The"), computer = vocab_id("Ġcomputer");
  n = 0;
  ids[0] = ids[1] = -7;
  CHECK_FAILS(EIDETIC_ERROR_BUFFER_TOO_SMALL, eidetic_tokenize(m, text.data(), text.size(), 0, ids, 1, &n));
  CHECK(n == 2);
  CHECK(ids[1] == -7);
  n = 0;
  CHECK_FAILS(EIDETIC_ERROR_BUFFER_TOO_SMALL, eidetic_tokenize(m, text.data(), text.size(), 0, nullptr, 0, &n));
  CHECK(n == 2);
  REQUIRE_OK(eidetic_tokenize(m, text.data(), text.size(), 0, ids, 2, &n));
  CHECK(n == 2);
  CHECK(ids[0] == the);
  CHECK(ids[1] == computer);
  // Empty text: zero ids, fine with no buffer at all.
  n = 99;
  REQUIRE_OK(eidetic_tokenize(m, nullptr, 0, 0, nullptr, 0, &n));
  CHECK(n == 0);
  // parse_special: "<|endoftext|>" is id 0 only when asked for.
  const std::string special = "<|endoftext|>";
  REQUIRE_OK(eidetic_tokenize(m, special.data(), special.size(), 1, ids, 64, &n));
  CHECK(n == 1);
  CHECK(ids[0] == 0);
  REQUIRE_OK(eidetic_tokenize(m, special.data(), special.size(), 0, ids, 64, &n));
  CHECK(n > 1);

  // Detokenize.
  const int32_t pair[] = {the, computer};
  char buf[64];
  size_t len = 0;
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_detokenize(nullptr, pair, 2, buf, 64, &len));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_detokenize(m, nullptr, 2, buf, 64, &len));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_detokenize(m, pair, 2, buf, 64, nullptr));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_detokenize(m, pair, 2, nullptr, 64, &len));
  CHECK_FAILS(EIDETIC_ERROR_UNSUPPORTED, eidetic_detokenize(bare, pair, 2, buf, 64, &len));
  for (int32_t bad : {-1, 1024, INT32_MAX, INT32_MIN}) {
    CAPTURE(bad);
    const int32_t bad_ids[] = {the, bad};
    const Outcome o = fresh([&] { return eidetic_detokenize(m, bad_ids, 2, buf, 64, &len); });
    CHECK(o.status == EIDETIC_ERROR_INVALID_ARGUMENT);
    CHECK_MESSAGE(o.message.find(std::to_string(bad)) != std::string::npos, o.message);
  }
  len = 0;
  std::memset(buf, '#', sizeof buf);
  CHECK_FAILS(EIDETIC_ERROR_BUFFER_TOO_SMALL, eidetic_detokenize(m, pair, 2, buf, 5, &len));
  CHECK(len == text.size());
  CHECK(buf[5] == '#');
  len = 0;
  CHECK_FAILS(EIDETIC_ERROR_BUFFER_TOO_SMALL, eidetic_detokenize(m, pair, 2, nullptr, 0, &len));
  CHECK(len == text.size());
  REQUIRE_OK(eidetic_detokenize(m, pair, 2, buf, text.size(), &len));
  CHECK(std::string(buf, len) == text);

  eidetic_model_free(bare);
  eidetic_model_free(m);
}

TEST_CASE("session errors: null handles, copies across models, bad ids, logits before any token") {
  eidetic_model* m = load(demo_path());
  eidetic_model* other = load(no_tokenizer_path());
  const int32_t vocab = eidetic_model_vocab_size(m);
  REQUIRE(vocab == 1024);  // config.json

  eidetic_session* s = reinterpret_cast<eidetic_session*>(0x1);
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_create(nullptr, &s));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_create(m, nullptr));
  s = new_session(m);
  eidetic_session* t = new_session(m);
  eidetic_session* foreign = new_session(other);

  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_reset(nullptr));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_copy(nullptr, s));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_copy(s, nullptr));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_copy(foreign, s));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_session_copy(s, foreign));

  // Logits before any token.
  const float* logits = nullptr;
  size_t n = 0;
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_logits(s, &logits, &n));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_logits(nullptr, &logits, &n));

  // Prefill / decode argument errors.
  const int32_t prompt[] = {vocab_id("The"), vocab_id("Ġcomputer")};
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_prefill(nullptr, prompt, 2));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_prefill(s, nullptr, 2));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_prefill(s, prompt, 0));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_decode(nullptr, prompt[0]));
  CHECK(eidetic_session_position(s) == 0);

  REQUIRE_OK(eidetic_prefill(s, prompt, 2));
  CHECK(eidetic_session_position(s) == 2);
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_logits(s, nullptr, &n));
  REQUIRE_OK(eidetic_logits(s, &logits, &n));
  CHECK(n == size_t(vocab));
  const std::vector<float> before(logits, logits + n);
  REQUIRE_OK(eidetic_logits(s, &logits, nullptr));  // n may be NULL

  // Out-of-range ids: rejected with the id in the message; position and logits unchanged.
  for (int32_t bad : {-1, vocab, INT32_MAX}) {
    CAPTURE(bad);
    const std::string name = std::to_string(bad);
    Outcome o = fresh([&] { return eidetic_decode(s, bad); });
    CHECK(o.status == EIDETIC_ERROR_INVALID_ARGUMENT);
    CHECK_MESSAGE(o.message.find(name) != std::string::npos, o.message);
    const int32_t with_bad[] = {prompt[0], bad, prompt[1]};
    o = fresh([&] { return eidetic_prefill(s, with_bad, 3); });
    CHECK(o.status == EIDETIC_ERROR_INVALID_ARGUMENT);
    CHECK_MESSAGE(o.message.find(name) != std::string::npos, o.message);
    CHECK(eidetic_session_position(s) == 2);
  }
  REQUIRE_OK(eidetic_logits(s, &logits, &n));
  CHECK(std::equal(before.begin(), before.end(), logits));

  // copy / reset on the happy side, for contrast with the errors above.
  REQUIRE_OK(eidetic_session_copy(t, s));
  CHECK(eidetic_session_position(t) == 2);
  const float* copied = nullptr;
  REQUIRE_OK(eidetic_logits(t, &copied, &n));
  CHECK(std::equal(before.begin(), before.end(), copied));
  REQUIRE_OK(eidetic_session_reset(t));
  CHECK(eidetic_session_position(t) == 0);
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_logits(t, &logits, &n));

  eidetic_session_free(foreign);
  eidetic_session_free(t);
  eidetic_session_free(s);
  eidetic_model_free(other);
  eidetic_model_free(m);
}

TEST_CASE("sampler errors") {
  eidetic_model* m = load(demo_path());
  eidetic_model* other = load(no_tokenizer_path());  // vocabulary of 512, not 1024
  eidetic_sampler* smp = reinterpret_cast<eidetic_sampler*>(0x1);
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sampler_create(nullptr, nullptr, &smp));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sampler_create(m, nullptr, nullptr));

  // Invalid parameters, one field at a time.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::pair<const char*, std::function<void(eidetic_sampler_params&)>>> bad = {
      {"temperature -1", [](eidetic_sampler_params& p) { p.temperature = -1.0f; }},
      {"temperature -0.001", [](eidetic_sampler_params& p) { p.temperature = -0.001f; }},
      {"temperature NaN", [&](eidetic_sampler_params& p) { p.temperature = nan; }},
      {"temperature inf", [](eidetic_sampler_params& p) { p.temperature = INFINITY; }},
      {"top_k -1", [](eidetic_sampler_params& p) { p.top_k = -1; }},
      {"top_p 0", [](eidetic_sampler_params& p) { p.top_p = 0.0f; }},
      {"top_p 1.5", [](eidetic_sampler_params& p) { p.top_p = 1.5f; }},
      {"min_p -0.1", [](eidetic_sampler_params& p) { p.min_p = -0.1f; }},
      {"min_p 1", [](eidetic_sampler_params& p) { p.min_p = 1.0f; }},
      {"repeat_penalty 0", [](eidetic_sampler_params& p) { p.repeat_penalty = 0.0f; }},
      {"repeat_penalty -1", [](eidetic_sampler_params& p) { p.repeat_penalty = -1.0f; }},
      {"repeat_last_n -1", [](eidetic_sampler_params& p) { p.repeat_last_n = -1; }},
  };
  for (const auto& [what, edit] : bad) {
    CAPTURE(what);
    eidetic_sampler_params p;
    eidetic_sampler_params_init(&p);
    edit(p);
    smp = reinterpret_cast<eidetic_sampler*>(0x1);
    CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sampler_create(m, &p, &smp));
    CHECK(smp == nullptr);
  }

  // The documented defaults.
  eidetic_sampler_params p;
  eidetic_sampler_params_init(&p);
  CHECK(p.temperature == 0.8f);
  CHECK(p.top_k == 40);
  CHECK(p.top_p == 0.95f);
  CHECK(p.min_p == 0.05f);
  CHECK(p.repeat_penalty == 1.1f);
  CHECK(p.repeat_last_n == 64);
  CHECK(p.seed == 0);

  // eidetic_sample.
  smp = greedy_sampler(m);
  eidetic_session* s = new_session(m);
  eidetic_session* foreign = new_session(other);
  int32_t token = -5;
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sample(nullptr, s, &token));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sample(smp, nullptr, &token));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sample(smp, s, nullptr));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sample(smp, s, &token));  // no logits yet
  REQUIRE_OK(eidetic_decode(foreign, 3));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_sample(smp, foreign, &token));  // other vocabulary
  CHECK(token == -5);

  eidetic_session_free(foreign);
  eidetic_session_free(s);
  eidetic_sampler_free(smp);
  eidetic_model_free(other);
  eidetic_model_free(m);
}

TEST_CASE("eidetic_generate errors and cancellation") {
  eidetic_model* m = load(demo_path());
  eidetic_model* bare = load(no_tokenizer_path());
  eidetic_session* s = new_session(m);
  eidetic_sampler* smp = greedy_sampler(m);
  const std::string prompt = "The computer";
  Collected c;
  size_t n_gen = 12345;

  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT,
              eidetic_generate(nullptr, smp, prompt.data(), prompt.size(), 10, collect, &c, &n_gen));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT,
              eidetic_generate(s, nullptr, prompt.data(), prompt.size(), 10, collect, &c, &n_gen));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT, eidetic_generate(s, smp, nullptr, 3, 10, collect, &c, &n_gen));
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT,
              eidetic_generate(s, smp, prompt.data(), prompt.size(), 10, nullptr, &c, &n_gen));
  // An empty prompt has no token to start from.
  CHECK_FAILS(EIDETIC_ERROR_INVALID_ARGUMENT,
              eidetic_generate(s, smp, prompt.data(), 0, 10, never_called, nullptr, &n_gen));
  CHECK(n_gen == 0);
  CHECK(c.calls == 0);
  CHECK(eidetic_session_position(s) == 0);
  // A model without a tokenizer cannot generate text.
  eidetic_session* bare_s = new_session(bare);
  eidetic_sampler* bare_smp = greedy_sampler(bare);
  CHECK_FAILS(EIDETIC_ERROR_UNSUPPORTED,
              eidetic_generate(bare_s, bare_smp, prompt.data(), prompt.size(), 10, never_called, nullptr, &n_gen));

  // The callback stops it after 5 tokens: CANCELLED, and the count so far.
  const auto want = greedy_samples()["The computer"]["ids"].get<std::vector<int32_t>>();
  c = Collected{};
  c.stop_after = 5;
  n_gen = 0;
  const Outcome o =
      fresh([&] { return eidetic_generate(s, smp, prompt.data(), prompt.size(), 60, collect, &c, &n_gen); });
  CHECK(o.status == EIDETIC_ERROR_CANCELLED);
  CHECK_FALSE(o.message.empty());
  CHECK(c.calls == 5);
  CHECK(n_gen == 5);
  REQUIRE(c.ids.size() == 5);
  CHECK(std::equal(c.ids.begin(), c.ids.end(), want.begin() + 2));  // the first 5 greedy tokens
  // Stopping on the first token.
  REQUIRE_OK(eidetic_session_reset(s));
  eidetic_sampler_free(smp);
  smp = greedy_sampler(m);
  c = Collected{};
  c.stop_after = 1;
  CHECK_FAILS(EIDETIC_ERROR_CANCELLED, eidetic_generate(s, smp, prompt.data(), prompt.size(), 60, collect, &c, &n_gen));
  CHECK(c.calls == 1);
  CHECK(n_gen == 1);

  eidetic_sampler_free(bare_smp);
  eidetic_session_free(bare_s);
  eidetic_sampler_free(smp);
  eidetic_session_free(s);
  eidetic_model_free(bare);
  eidetic_model_free(m);
}

TEST_CASE("happy path: the demo model reproduces Hugging Face's tokens and greedy samples") {
  eidetic_model* m = load(demo_path());
  CHECK(eidetic_model_vocab_size(m) == 1024);
  CHECK(eidetic_model_state_bytes(m) > 0);
  CHECK(eidetic_model_bos(m) == 0);  // config.json: bos_token_id 0, eos_token_id 0
  CHECK(eidetic_model_eos(m) == 0);
  CHECK(std::string(eidetic_model_device(m)).rfind("CPU, ", 0) == 0);  // the default backend
  const json samples = greedy_samples();

  // Tokenize "The computer": the sample's leading ids, which tokenizer.json's
  // vocabulary gives as "The" + "Ġcomputer".
  const std::string prompt = "The computer";
  const auto want = samples[prompt]["ids"].get<std::vector<int32_t>>();
  const std::string want_text = samples[prompt]["text"].get<std::string>();
  int32_t ids[16];
  size_t n = 0;
  REQUIRE_OK(eidetic_tokenize(m, prompt.data(), prompt.size(), 1, ids, 16, &n));
  REQUIRE(n == 2);
  CHECK(ids[0] == vocab_id("The"));
  CHECK(ids[1] == vocab_id("Ġcomputer"));
  CHECK(std::equal(ids, ids + n, want.begin()));
  REQUIRE(want.size() == n + 60);

  // Greedy generation through eidetic_generate: the callback's ids are HF's.
  eidetic_session* s = new_session(m);
  eidetic_sampler* smp = greedy_sampler(m);
  Collected c;
  size_t n_gen = 0;
  REQUIRE_OK(eidetic_generate(s, smp, prompt.data(), prompt.size(), 60, collect, &c, &n_gen));
  CHECK(n_gen == 60);
  CHECK(c.ids == std::vector<int32_t>(want.begin() + long(n), want.end()));
  CHECK(prompt + c.text == want_text);

  // The same by hand: prefill, then eidetic_sample / eidetic_decode.
  eidetic_session* s2 = new_session(m);
  eidetic_sampler* smp2 = greedy_sampler(m);
  REQUIRE_OK(eidetic_prefill(s2, ids, n));
  std::vector<int32_t> got(ids, ids + n);
  for (int i = 0; i < 60; ++i) {
    int32_t next = -1;
    REQUIRE_OK(eidetic_sample(smp2, s2, &next));
    got.push_back(next);
    REQUIRE_OK(eidetic_decode(s2, next));
  }
  CHECK(got == want);
  CHECK(eidetic_session_position(s2) == n + 60);

  // And the ids detokenize to HF's text.
  size_t len = 0;
  CHECK_FAILS(EIDETIC_ERROR_BUFFER_TOO_SMALL, eidetic_detokenize(m, want.data(), want.size(), nullptr, 0, &len));
  CHECK(len == want_text.size());
  std::string text(len, '\0');
  REQUIRE_OK(eidetic_detokenize(m, want.data(), want.size(), text.data(), text.size(), &len));
  CHECK(text == want_text);

  eidetic_sampler_free(smp2);
  eidetic_session_free(s2);
  eidetic_sampler_free(smp);
  eidetic_session_free(s);
  eidetic_model_free(m);
}
