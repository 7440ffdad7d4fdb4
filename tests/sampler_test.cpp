// Sampler tests. Every expected value is worked out here, from the logits,
// by hand or by an independent reference (softmax in double, a reference
// xoshiro256**), never by asking the sampler.
#include "runtime/src/sampling/sampler.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backends/top_k.h"

// --- allocation counter: replacing the global operator new lets the test
// check that sample() and accept() never allocate. Only this executable.
// Kept out of line so that GCC does not pair an inlined free() with the
// operator new it saw and warn (-Wmismatched-new-delete).
#if defined(__GNUC__)
#define EID_TEST_NOINLINE __attribute__((noinline))
#else
#define EID_TEST_NOINLINE
#endif
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

EID_TEST_NOINLINE void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
EID_TEST_NOINLINE void operator delete(void* p) noexcept { std::free(p); }
EID_TEST_NOINLINE void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using eidetic::Code;
using eidetic::Sampler;
using eidetic::SamplerParams;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Temperature 1, every filter and the penalty off: plain softmax sampling.
SamplerParams plain(uint64_t seed = 1) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.0f;
  p.seed = seed;
  return p;
}

SamplerParams greedy() {
  SamplerParams p = plain();
  p.temperature = 0.0f;
  return p;
}

Sampler make(const SamplerParams& p, int32_t vocab) {
  auto r = Sampler::create(p, vocab);
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1.0) {
  double m = -std::numeric_limits<double>::infinity();
  for (float l : logits) m = std::max(m, double(l));
  std::vector<double> p(logits.size());
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp((logits[i] - m) / temperature);
  for (double& x : p) x /= sum;
  return p;
}

std::vector<long> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
  std::vector<long> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    const int32_t t = s.sample(logits.data());
    REQUIRE(t >= 0);
    REQUIRE(t < int32_t(logits.size()));
    ++counts[size_t(t)];
  }
  return counts;
}

// Pearson chi-square of counts against probabilities (entries with p == 0
// must have count 0 and are left out of the statistic).
double chi_square(const std::vector<long>& counts, const std::vector<double>& p) {
  long n = 0;
  for (long c : counts) n += c;
  double chi = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0) {
      CHECK(counts[i] == 0);
      continue;
    }
    const double e = p[i] * double(n);
    chi += (double(counts[i]) - e) * (double(counts[i]) - e) / e;
  }
  return chi;
}

// Upper 0.1% points of chi-square, by degrees of freedom (standard tables).
constexpr double kChi999[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52};

std::set<int32_t> seen_tokens(const std::vector<long>& counts) {
  std::set<int32_t> s;
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] > 0) s.insert(int32_t(i));
  return s;
}

// Argmax with ties to the lowest id, written independently of the sampler.
int32_t argmax(const std::vector<float>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;
  return int32_t(best);
}

std::vector<float> log_probs(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(float(std::log(x)));
  return l;
}

// Reference xoshiro256** (Blackman & Vigna), to pin the sampler's generator.
struct RefXoshiro {
  uint64_t s[4];
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
  }
};

}  // namespace

TEST_CASE("validate accepts the defaults and every documented 'off' value") {
  CHECK(eidetic::validate(SamplerParams{}).is_ok());
  CHECK(eidetic::validate(plain()).is_ok());
  CHECK(eidetic::validate(greedy()).is_ok());
  SamplerParams p;
  p.repeat_last_n = 0;
  CHECK(eidetic::validate(p).is_ok());
  p.repeat_last_n = 1 << 20;
  CHECK(eidetic::validate(p).is_ok());
}

TEST_CASE("validate rejects each bad field with a message naming it") {
  struct Case {
    const char* field;
    void (*spoil)(SamplerParams&);
  };
  const Case cases[] = {
      {"temperature", [](SamplerParams& p) { p.temperature = -0.1f; }},
      {"temperature", [](SamplerParams& p) { p.temperature = kNaN; }},
      {"temperature", [](SamplerParams& p) { p.temperature = kInf; }},
      {"top_k", [](SamplerParams& p) { p.top_k = -1; }},
      {"top_p", [](SamplerParams& p) { p.top_p = 0.0f; }},
      {"top_p", [](SamplerParams& p) { p.top_p = 1.01f; }},
      {"top_p", [](SamplerParams& p) { p.top_p = kNaN; }},
      {"min_p", [](SamplerParams& p) { p.min_p = -0.01f; }},
      {"min_p", [](SamplerParams& p) { p.min_p = 1.0f; }},
      {"min_p", [](SamplerParams& p) { p.min_p = kNaN; }},
      {"repeat_penalty", [](SamplerParams& p) { p.repeat_penalty = 0.0f; }},
      {"repeat_penalty", [](SamplerParams& p) { p.repeat_penalty = -1.1f; }},
      {"repeat_penalty", [](SamplerParams& p) { p.repeat_penalty = kNaN; }},
      {"repeat_penalty", [](SamplerParams& p) { p.repeat_penalty = kInf; }},
      {"repeat_last_n", [](SamplerParams& p) { p.repeat_last_n = -1; }},
      {"repeat_last_n", [](SamplerParams& p) { p.repeat_last_n = (1 << 20) + 1; }},
  };
  for (const Case& c : cases) {
    SamplerParams p;
    c.spoil(p);
    const eidetic::Status s = eidetic::validate(p);
    INFO("field: " << c.field << ", message: " << s.message());
    CHECK_FALSE(s.is_ok());
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(s.message().find(c.field) != std::string::npos);
    // create() refuses the same parameters.
    CHECK_FALSE(Sampler::create(p, 10).is_ok());
  }
}

TEST_CASE("create rejects a non-positive vocabulary size") {
  for (int32_t v : {0, -1}) {
    auto r = Sampler::create(SamplerParams{}, v);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find("vocab_size") != std::string::npos);
  }
  CHECK(Sampler::create(SamplerParams{}, 1).is_ok());
}

TEST_CASE("the same seed gives the same tokens; different seeds differ") {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(500);
  for (float& l : logits) l = normal(gen);

  SamplerParams p;  // defaults: every stage active
  p.top_k = 100;
  p.seed = 1234;
  Sampler a = make(p, 500), b = make(p, 500);
  p.seed = 1235;
  Sampler c = make(p, 500);
  int differences = 0;
  for (int i = 0; i < 2000; ++i) {
    const int32_t ta = a.sample(logits.data());
    const int32_t tb = b.sample(logits.data());
    const int32_t tc = c.sample(logits.data());
    REQUIRE(ta == tb);
    differences += ta != tc;
    a.accept(ta);
    b.accept(tb);
    c.accept(tc);
  }
  CHECK(differences > 100);
}

TEST_CASE("the generator is xoshiro256** seeded by splitmix64, bit for bit") {
  // splitmix64 from state 42 gives these four words (published reference
  // outputs), and xoshiro256** from them starts with these four values.
  RefXoshiro ref{{0xbdd732262feb6e95ull, 0x28efe333b266f103ull, 0x47526757130f9f52ull, 0x581ce1ff0e4ae394ull}};
  const uint64_t published[] = {0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull, 0xae17533239e499a1ull,
                                0xecb8ad4703b360a1ull};
  // 256 equal logits: weights are all exactly 1, so the token is
  // floor(u * 256) with u = (x >> 11) / 2^53, i.e. the top 8 bits of x.
  std::vector<float> flat(256, 0.5f);
  Sampler s = make(plain(42), 256);
  for (int i = 0; i < 4000; ++i) {
    const uint64_t x = ref.next();
    if (i < 4) REQUIRE(x == published[i]);
    REQUIRE(s.sample(flat.data()) == int32_t(x >> 56));
  }
}

TEST_CASE("reset forgets recent tokens and replays the random sequence") {
  std::vector<float> logits = {2.0f, 1.9f, 1.0f, 0.5f, -1.0f};
  SamplerParams p = plain(99);
  p.repeat_penalty = 1.5f;
  Sampler s = make(p, 5);
  std::vector<int32_t> first;
  for (int i = 0; i < 300; ++i) first.push_back(s.sample(logits.data()));
  s.accept(0);
  s.accept(1);
  s.reset();
  for (int i = 0; i < 300; ++i) REQUIRE(s.sample(logits.data()) == first[size_t(i)]);

  SamplerParams g = p;
  g.temperature = 0.0f;
  Sampler h = make(g, 5);
  h.accept(0);
  CHECK(h.sample(logits.data()) == 1);  // 2.0 / 1.5 < 1.9
  h.reset();
  CHECK(h.sample(logits.data()) == 0);
}

TEST_CASE("temperature 0 is argmax, ties to the lowest id") {
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> coarse(-8, 8);  // coarse values: many ties
  SamplerParams p = SamplerParams{};                 // filters on; they must not matter
  p.temperature = 0.0f;
  Sampler s = make(p, 64);
  for (int trial = 0; trial < 1000; ++trial) {
    std::vector<float> logits(64);
    for (float& l : logits) l = 0.5f * float(coarse(gen));
    REQUIRE(s.sample(logits.data()) == argmax(logits));
  }
  const std::vector<float> tie = {1.0f, 3.0f, 2.0f, 3.0f};
  Sampler t = make(greedy(), 4);
  CHECK(t.sample(tie.data()) == 1);
}

TEST_CASE("top_k = 1 equals greedy argmax") {
  std::mt19937 gen(12);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_int_distribution<int> coarse(-4, 4);
  for (float temperature : {0.3f, 1.0f, 2.5f}) {
    SamplerParams p;  // default top_p, min_p, penalty
    p.top_k = 1;
    p.temperature = temperature;
    p.seed = uint64_t(temperature * 10);
    Sampler s = make(p, 1000);
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<float> logits(1000);
      const bool ties = trial % 2 == 0;
      for (float& l : logits) l = ties ? float(coarse(gen)) : normal(gen);
      REQUIRE(s.sample(logits.data()) == argmax(logits));
    }
  }
}

TEST_CASE("temperature 1 with every filter off follows the softmax") {
  const std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -1.0f};
  Sampler s = make(plain(2024), 6);
  const auto counts = histogram(s, logits, 200000);
  const double chi = chi_square(counts, softmax(logits));
  INFO("chi-square = " << chi);
  CHECK(chi < kChi999[5]);
}

TEST_CASE("top_k = 3 keeps exactly the three best, in softmax ratios") {
  const std::vector<float> logits = {0.2f, 1.5f, -0.3f, 1.1f, 0.9f, 0.0f, 0.7f};
  SamplerParams p = plain(5);
  p.top_k = 3;
  Sampler s = make(p, 7);
  const auto counts = histogram(s, logits, 200000);
  CHECK(seen_tokens(counts) == std::set<int32_t>{1, 3, 4});
  // Renormalised softmax over ids 1, 3, 4 only.
  std::vector<float> top3 = logits;
  for (int i : {0, 2, 5, 6}) top3[size_t(i)] = -kInf;
  const double chi = chi_square(counts, softmax(top3));
  INFO("chi-square = " << chi);
  CHECK(chi < kChi999[2]);
}

TEST_CASE("top_p keeps the smallest most-likely prefix reaching the mass") {
  // Probabilities by id: 0.05, 0.5, 0.15, 0.3 (logits are their logs, so the
  // softmax at temperature 1 gives them back). Sorted: 1, 3, 2, 0 with
  // cumulative mass 0.5, 0.8, 0.95, 1.0.
  const std::vector<double> probs = {0.05, 0.5, 0.15, 0.3};
  const std::vector<float> logits = log_probs(probs);
  struct Case {
    float top_p;
    std::set<int32_t> kept;
  };
  for (const Case& c : {Case{0.3f, {1}}, Case{0.7f, {1, 3}}, Case{0.85f, {1, 3, 2}}, Case{0.97f, {1, 3, 2, 0}}}) {
    SamplerParams p = plain(77);
    p.top_p = c.top_p;
    Sampler s = make(p, 4);
    const auto counts = histogram(s, logits, 40000);
    INFO("top_p = " << c.top_p);
    CHECK(seen_tokens(counts) == c.kept);
    std::vector<double> expected(4, 0.0);
    double mass = 0.0;
    for (int32_t id : c.kept) mass += probs[size_t(id)];
    for (int32_t id : c.kept) expected[size_t(id)] = probs[size_t(id)] / mass;
    CHECK(chi_square(counts, expected) < kChi999[std::max<size_t>(c.kept.size() - 1, 1)]);
  }
}

TEST_CASE("min_p drops exactly the tokens below min_p * p_max") {
  // Probabilities by id: 0.02, 0.4, 0.08, 0.3, 0.2; p_max = 0.4.
  const std::vector<double> probs = {0.02, 0.4, 0.08, 0.3, 0.2};
  const std::vector<float> logits = log_probs(probs);
  struct Case {
    float min_p;  // threshold = 0.4 * min_p
    std::set<int32_t> kept;
  };
  for (const Case& c : {Case{0.01f, {0, 1, 2, 3, 4}},  // 0.004
                        Case{0.1f, {1, 2, 3, 4}},      // 0.04
                        Case{0.25f, {1, 3, 4}},        // 0.1
                        Case{0.6f, {1, 3}},            // 0.24
                        Case{0.9f, {1}}}) {            // 0.36
    SamplerParams p = plain(31);
    p.min_p = c.min_p;
    Sampler s = make(p, 5);
    const auto counts = histogram(s, logits, 40000);
    INFO("min_p = " << c.min_p);
    CHECK(seen_tokens(counts) == c.kept);
  }
}

TEST_CASE("top_p and min_p together keep the intersection of their cuts") {
  // Sorted by probability: 1 (0.4), 3 (0.3), 4 (0.2), 2 (0.08), 0 (0.02).
  const std::vector<float> logits = log_probs({0.02, 0.4, 0.08, 0.3, 0.2});
  struct Case {
    float top_p, min_p;
    std::set<int32_t> kept;
  };
  for (const Case& c : {Case{0.85f, 0.6f, {1, 3}},           // top-p {1,3,4}, min-p {1,3}
                        Case{0.6f, 0.1f, {1, 3}},            // top-p {1,3}, min-p {1,2,3,4}
                        Case{0.95f, 0.1f, {1, 3, 4, 2}}}) {  // top-p {1,3,4,2}
    SamplerParams p = plain(8);
    p.top_p = c.top_p;
    p.min_p = c.min_p;
    Sampler s = make(p, 5);
    INFO("top_p = " << c.top_p << ", min_p = " << c.min_p);
    CHECK(seen_tokens(histogram(s, logits, 40000)) == c.kept);
  }
}

TEST_CASE("temperature sharpens below 1 and flattens above") {
  // Two tokens with logits 1 and 0: P(0) = 1 / (1 + exp(-1 / T)).
  const std::vector<float> logits = {1.0f, 0.0f};
  const int draws = 100000;
  double previous = 1.0;
  for (float t : {0.25f, 0.5f, 1.0f, 2.0f, 4.0f}) {
    SamplerParams p = plain(uint64_t(t * 100));
    p.temperature = t;
    Sampler s = make(p, 2);
    const double freq = double(histogram(s, logits, draws)[0]) / draws;
    const double expected = 1.0 / (1.0 + std::exp(-1.0 / t));
    const double sigma = std::sqrt(expected * (1 - expected) / draws);
    INFO("T = " << t << ", frequency " << freq << ", expected " << expected);
    CHECK(std::abs(freq - expected) < 5 * sigma);
    CHECK(freq < previous);  // flatter and flatter towards 0.5
    previous = freq;
  }
}

TEST_CASE("repeat penalty, greedy: a penalised argmax loses to the runner-up") {
  SamplerParams p = greedy();
  p.repeat_penalty = 1.1f;
  // Positive logit: divided. 2.0 / 1.1 = 1.818 < 1.9.
  const std::vector<float> pos = {2.0f, 1.9f, 0.5f};
  Sampler s = make(p, 3);
  CHECK(s.sample(pos.data()) == 0);
  s.accept(0);
  CHECK(s.sample(pos.data()) == 1);
  // But not when the runner-up is further than the penalty reaches: 1.818 > 1.8.
  const std::vector<float> far = {2.0f, 1.8f, 0.5f};
  CHECK(s.sample(far.data()) == 0);

  // Negative logit: multiplied. -1.0 * 1.1 = -1.1 < -1.05.
  const std::vector<float> neg = {-1.0f, -1.05f, -3.0f};
  Sampler n = make(p, 3);
  CHECK(n.sample(neg.data()) == 0);
  n.accept(0);
  CHECK(n.sample(neg.data()) == 1);

  // A penalty below 1 rewards instead: 1.9 / 0.9 = 2.11 > 2.0.
  SamplerParams r = greedy();
  r.repeat_penalty = 0.9f;
  Sampler boost = make(r, 3);
  boost.accept(1);
  CHECK(boost.sample(pos.data()) == 1);
}

TEST_CASE("repeat penalty applies once per distinct recent token") {
  SamplerParams p = greedy();
  p.repeat_penalty = 1.1f;
  // Once: 2.0 / 1.1 = 1.818 > 1.7. Three times it would be 1.503 < 1.7.
  const std::vector<float> logits = {2.0f, 1.7f};
  Sampler s = make(p, 2);
  for (int i = 0; i < 3; ++i) s.accept(0);
  CHECK(s.sample(logits.data()) == 0);
  // The marks are cleared between calls: still applied once, not zero times.
  const std::vector<float> close = {2.0f, 1.9f};
  CHECK(s.sample(close.data()) == 1);
  CHECK(s.sample(close.data()) == 1);
}

TEST_CASE("repeat penalty only looks at the last repeat_last_n tokens") {
  SamplerParams p = greedy();
  p.repeat_penalty = 1.1f;
  p.repeat_last_n = 2;
  const std::vector<float> logits = {2.0f, 1.9f, 0.0f};
  Sampler s = make(p, 3);
  s.accept(0);
  s.accept(2);
  CHECK(s.sample(logits.data()) == 1);  // 0 is one of the last two
  s.accept(2);
  CHECK(s.sample(logits.data()) == 0);  // 0 has left the window
  s.accept(0);
  CHECK(s.sample(logits.data()) == 1);  // and is back

  // Out-of-range ids take a slot but penalise nothing.
  s.accept(-5);
  s.accept(3);
  CHECK(s.sample(logits.data()) == 0);

  // Window 0 and penalty 1 both switch it off.
  p.repeat_last_n = 0;
  Sampler off = make(p, 3);
  off.accept(0);
  CHECK(off.sample(logits.data()) == 0);
  SamplerParams q = greedy();
  q.repeat_penalty = 1.0f;
  Sampler one = make(q, 3);
  one.accept(0);
  CHECK(one.sample(logits.data()) == 0);
}

TEST_CASE("repeat penalty lowers the sampled frequency of recent tokens") {
  // Logits 1, 1, 0 with token 0 penalised by 2: 1 -> 0.5.
  const std::vector<float> logits = {1.0f, 1.0f, 0.0f};
  SamplerParams p = plain(3);
  p.repeat_penalty = 2.0f;
  Sampler s = make(p, 3);
  s.accept(0);
  const auto counts = histogram(s, logits, 100000);
  const double chi = chi_square(counts, softmax({0.5f, 1.0f, 0.0f}));
  INFO("chi-square = " << chi);
  CHECK(chi < kChi999[2]);
  CHECK(counts[0] < counts[1]);
}

TEST_CASE("NaN is never chosen; +inf takes all the mass; all -inf falls back") {
  SamplerParams filtered;  // defaults: top-k, top-p, min-p active
  filtered.temperature = 1.0f;
  for (const SamplerParams& p : {plain(4), greedy(), filtered}) {
    const std::vector<float> with_nan = {kNaN, 1.0f, kNaN, 0.5f, kNaN};
    Sampler s = make(p, 5);
    const auto counts = histogram(s, with_nan, 20000);
    CHECK(counts[0] + counts[2] + counts[4] == 0);

    const std::vector<float> infs = {1.0f, kInf, 0.0f, kInf, -kInf};
    const auto inf_counts = histogram(s, infs, 20000);
    if (p.temperature == 0.0f) {
      CHECK(inf_counts[1] == 20000);  // ties -> lowest id
    } else {
      CHECK(inf_counts[1] + inf_counts[3] == 20000);
      CHECK(std::abs(double(inf_counts[1]) / 20000 - 0.5) < 0.02);
    }

    const std::vector<float> one_finite = {-kInf, kNaN, -3.0f, -kInf, kNaN};
    CHECK(s.sample(one_finite.data()) == 2);
    const std::vector<float> all_neg_inf = {-kInf, -kInf, -kInf, -kInf, -kInf};
    CHECK(s.sample(all_neg_inf.data()) == 0);
    const std::vector<float> nan_then_neg_inf = {kNaN, kNaN, -kInf, -kInf, kNaN};
    CHECK(s.sample(nan_then_neg_inf.data()) == 2);
    const std::vector<float> all_nan(5, kNaN);
    CHECK(s.sample(all_nan.data()) == 0);
  }
}

TEST_CASE("sample leaves the logits alone and neither it nor accept allocates") {
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(5000);
  for (float& l : logits) l = normal(gen);
  const std::vector<float> original = logits;

  SamplerParams full_sort = plain(6);  // top-k off and top-p on: the full sort path
  full_sort.top_p = 0.9f;
  full_sort.repeat_penalty = 1.3f;
  for (const SamplerParams& p : {SamplerParams{}, full_sort, greedy(), plain(9)}) {
    Sampler s = make(p, 5000);
    const long before = g_allocations.load();
    for (int i = 0; i < 200; ++i) s.accept(s.sample(logits.data()));
    s.reset();
    const long after = g_allocations.load();
    CHECK(after == before);
    CHECK(std::memcmp(logits.data(), original.data(), logits.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("candidates_needed: the top-k plus the penalty window, or 0 for the whole distribution") {
  SamplerParams p = greedy();
  CHECK(make(p, 100).candidates_needed() == 1);
  p.repeat_penalty = 1.2f;
  p.repeat_last_n = 4;
  Sampler s = make(p, 100);
  CHECK(s.candidates_needed() == 1);
  for (int32_t t : {3, 3, 7}) s.accept(t);
  CHECK(s.candidates_needed() == 4);  // tokens in the window, repeats counted
  for (int32_t t : {8, 9, 10}) s.accept(t);
  CHECK(s.candidates_needed() == 5);  // the window holds 4
  p = plain();
  CHECK(make(p, 100).candidates_needed() == 0);  // no top-k: every token may be drawn
  p.top_k = 40;
  CHECK(make(p, 100).candidates_needed() == 40);
  CHECK(make(p, 40).candidates_needed() == 0);  // as many as the vocabulary
  p.repeat_penalty = 0.8f;                      // raises recent tokens: any may enter the top
  CHECK(make(p, 100).candidates_needed() == 0);
}

TEST_CASE("sample_top on the best candidates picks the token sample picks from the full logits") {
  // Logits on a coarse grid (many ties), with NaN, -inf and +inf sprinkled
  // in; the candidates come from select_top_k, as a backend hands them over.
  const int32_t vocab = 300;
  std::mt19937 gen(11);
  std::uniform_int_distribution<int> grid(-40, 40), special(0, 199);
  std::vector<float> logits(vocab);
  std::vector<int32_t> ids(vocab);
  std::vector<float> top_logits(vocab);
  std::vector<uint64_t> scratch(vocab);
  int compared = 0;
  for (float temp : {0.0f, 0.7f, 1.5f})
    for (int32_t top_k : {1, 5, 40})
      for (float penalty : {1.0f, 1.3f})
        for (float top_p : {1.0f, 0.9f})
          for (float min_p : {0.0f, 0.05f}) {
            SamplerParams p;
            p.temperature = temp, p.top_k = top_k, p.repeat_penalty = penalty, p.repeat_last_n = 16;
            p.top_p = top_p, p.min_p = min_p, p.seed = uint64_t(top_k) * 7 + 3;
            Sampler full = make(p, vocab), top = make(p, vocab);
            for (int step = 0; step < 60; ++step) {
              for (float& l : logits) {
                const int r = special(gen);
                l = r == 0 ? kNaN : r == 1 ? -kInf : r == 2 && step % 7 == 0 ? kInf : float(grid(gen)) * 0.25f;
              }
              const size_t k = top.candidates_needed();
              REQUIRE(k > 0);
              eidetic::select_top_k(logits.data(), vocab, {k, ids.data(), top_logits.data()}, scratch.data());
              const int32_t want = full.sample(logits.data());
              const long before = g_allocations.load();
              const int32_t got = top.sample_top(ids.data(), top_logits.data(), k);
              CHECK(g_allocations.load() == before);
              CAPTURE(temp);
              CAPTURE(top_k);
              CAPTURE(penalty);
              CAPTURE(step);
              REQUIRE(got == want);
              full.accept(want);
              top.accept(want);
              ++compared;
            }
          }
  CHECK(compared == 3 * 3 * 2 * 2 * 2 * 60);
}

TEST_CASE("sample_top falls back as sample does when no candidate has positive probability") {
  SamplerParams p = greedy();
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 4;
  const float big = -3e38f;  // penalised (x 2) into -inf
  const std::vector<std::vector<float>> cases = {
      {-kInf, kNaN, -kInf, -kInf, kNaN, -kInf},  // -> 0
      {kNaN, kNaN, -kInf, kNaN, -kInf, kNaN},    // -> 2
      {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN},      // -> 0
      {kNaN, kNaN, -kInf, big, kNaN, kNaN},      // 3 penalised away -> 2
      {kNaN, kNaN, kNaN, big, kNaN, -kInf},      // -> 3
  };
  for (float temp : {0.0f, 1.0f}) {
    p.temperature = temp;
    p.top_k = temp == 0.0f ? 0 : 1;
    for (const auto& logits : cases) {
      Sampler full = make(p, 6), top = make(p, 6);
      full.accept(3);
      top.accept(3);
      const size_t k = top.candidates_needed();
      REQUIRE(k == 2);
      std::vector<int32_t> ids(k);
      std::vector<float> vals(k);
      std::vector<uint64_t> scratch(6);
      eidetic::select_top_k(logits.data(), 6, {k, ids.data(), vals.data()}, scratch.data());
      CHECK(top.sample_top(ids.data(), vals.data(), k) == full.sample(logits.data()));
    }
  }
}
