#include "runtime/src/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace eidetic {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

Status bad_field(const char* field, const char* rule, double got) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "sampler: %s must be %s, got %g", field, rule, got);
  return invalid_argument(buf);
}

// splitmix64 (Steele, Lea & Flood; Vigna's public-domain reference): used only
// to expand the 64-bit seed into xoshiro's 256-bit state, as its authors advise.
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

// Descending value, then ascending id: a total order, so std::partial_sort and
// std::sort give the same sequence on every standard library.
bool Sampler::higher(const Candidate& a, const Candidate& b) {
  return a.value > b.value || (a.value == b.value && a.id < b.id);
}

Status validate(const SamplerParams& p) {
  // Written as !(ok) so that NaN, which fails every comparison, is rejected.
  if (!(std::isfinite(p.temperature) && p.temperature >= 0.0f))
    return bad_field("temperature", "finite and >= 0 (0 = greedy)", p.temperature);
  if (p.top_k < 0) return bad_field("top_k", ">= 0 (0 = off)", p.top_k);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return bad_field("top_p", "in (0, 1] (1 = off)", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p < 1.0f)) return bad_field("min_p", "in [0, 1) (0 = off)", p.min_p);
  if (!(std::isfinite(p.repeat_penalty) && p.repeat_penalty > 0.0f))
    return bad_field("repeat_penalty", "finite and > 0 (1 = off)", p.repeat_penalty);
  if (p.repeat_last_n < 0 || p.repeat_last_n > kMaxRepeatLastN)
    return bad_field("repeat_last_n", "in [0, 1048576] (0 = off)", p.repeat_last_n);
  return Status::ok();
}

Result<Sampler> Sampler::create(const SamplerParams& p, int32_t vocab_size) {
  EID_TRY(validate(p));
  if (vocab_size <= 0) return bad_field("vocab_size", "> 0", vocab_size);
  return Sampler(p, vocab_size);
}

Sampler::Sampler(const SamplerParams& p, int32_t vocab_size)
    : params_(p), vocab_size_(vocab_size), cand_(static_cast<size_t>(vocab_size)) {
  // The penalty scratch exists only when the penalty can act.
  if (p.repeat_penalty != 1.0f && p.repeat_last_n > 0) {
    recent_.resize(static_cast<size_t>(p.repeat_last_n));
    seen_.assign(static_cast<size_t>(vocab_size), 0);
  }
  reset();
}

void Sampler::accept(int32_t token) {
  if (recent_.empty()) return;
  recent_[recent_head_] = token;
  recent_head_ = (recent_head_ + 1) % recent_.size();
  recent_count_ = std::min(recent_count_ + 1, recent_.size());
}

void Sampler::reset() {
  recent_head_ = 0;
  recent_count_ = 0;
  uint64_t x = params_.seed;
  for (uint64_t& s : rng_) s = splitmix64(x);
}

// xoshiro256** 1.0 (Blackman & Vigna, public domain), top 53 bits scaled into
// [0,1): a fixed generator, so draws do not depend on the standard library.
double Sampler::next_uniform() {
  const uint64_t result = rotl(rng_[1] * 5, 7) * 9;
  const uint64_t t = rng_[1] << 17;
  rng_[2] ^= rng_[0];
  rng_[3] ^= rng_[1];
  rng_[1] ^= rng_[2];
  rng_[0] ^= rng_[3];
  rng_[2] ^= t;
  rng_[3] = rotl(rng_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(const float* logits) {
  load_and_penalise(logits);
  const int32_t id = pick(cand_.size());
  return id >= 0 ? id : fallback(logits);
}

size_t Sampler::candidates_needed() const {
  if (params_.temperature != 0.0f && params_.top_k == 0) return 0;
  if (!recent_.empty() && params_.repeat_penalty < 1.0f) return 0;  // may raise any token into the top
  const size_t base = params_.temperature == 0.0f ? 1 : static_cast<size_t>(params_.top_k);
  const size_t n = base + recent_count_;
  return n < static_cast<size_t>(vocab_size_) ? n : 0;
}

int32_t Sampler::sample_top(const int32_t* ids, const float* logits, size_t n) {
  n = std::min(n, cand_.size());
  load_top_and_penalise(ids, logits, n);
  const int32_t id = pick(n);
  return id >= 0 ? id : fallback_top(ids, logits, n);
}

int32_t Sampler::pick(size_t n) {
  if (params_.temperature == 0.0f) return argmax(n);
  bool sorted = false;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    n = apply_top_k(n);
    sorted = true;
  }
  const double total = apply_softmax(n, sorted);
  if (total == 0.0) return -1;
  // min-p runs before top-p here, yet the result is the chain's top-p ->
  // min-p: both keep a prefix of the candidates sorted by probability, p_max
  // is the same for both, and top-p still measures its mass against `total`,
  // the sum before min-p. Filtering first means far less to sort.
  n = apply_min_p(n);
  n = apply_top_p(n, total, sorted);
  return draw(n);
}

// Copies logits into the candidate buffer (NaN -> -inf, so it is never
// chosen) and applies the CTRL penalty once per distinct token in the window.
void Sampler::load_and_penalise(const float* logits) {
  for (size_t i = 0; i < cand_.size(); ++i) {
    const float v = logits[i];
    cand_[i] = {static_cast<int32_t>(i), std::isnan(v) ? kNegInf : v};
  }
  for (size_t i = 0; i < recent_count_; ++i) {
    const int32_t t = recent_[i];
    if (t < 0 || t >= vocab_size_ || seen_[t]) continue;
    seen_[t] = 1;
    cand_[t].value = penalised(cand_[t].value);  // cand_ is still in id order here
  }
  for (size_t i = 0; i < recent_count_; ++i) {
    const int32_t t = recent_[i];
    if (t >= 0 && t < vocab_size_) seen_[t] = 0;
  }
}

// The same for n candidates: each id occurs once among them, so marking the
// window's ids and penalising the marked candidates penalises each once.
void Sampler::load_top_and_penalise(const int32_t* ids, const float* logits, size_t n) {
  for (size_t i = 0; i < n; ++i) cand_[i] = {ids[i], std::isnan(logits[i]) ? kNegInf : logits[i]};
  if (recent_count_ == 0) return;
  for (size_t i = 0; i < recent_count_; ++i) {
    const int32_t t = recent_[i];
    if (t >= 0 && t < vocab_size_) seen_[t] = 1;
  }
  for (size_t i = 0; i < n; ++i)
    if (cand_[i].id >= 0 && cand_[i].id < vocab_size_ && seen_[cand_[i].id]) cand_[i].value = penalised(cand_[i].value);
  for (size_t i = 0; i < recent_count_; ++i) {
    const int32_t t = recent_[i];
    if (t >= 0 && t < vocab_size_) seen_[t] = 0;
  }
}

float Sampler::penalised(float v) const {
  const float pen = params_.repeat_penalty;
  return v > 0.0f ? v / pen : v * pen;
}

// The first of the n candidates in `higher` order (lowest id among the
// largest values); -1 when every value is -inf.
int32_t Sampler::argmax(size_t n) const {
  const Candidate* best = nullptr;
  for (size_t i = 0; i < n; ++i)
    if (cand_[i].value > kNegInf && (!best || higher(cand_[i], *best))) best = &cand_[i];
  return best ? best->id : -1;
}

size_t Sampler::apply_top_k(size_t n) {
  const size_t k = static_cast<size_t>(params_.top_k);
  std::partial_sort(cand_.begin(), cand_.begin() + k, cand_.begin() + n, higher);
  return k;
}

// Replaces each value by exp((logit - max) / T), so the most likely token
// has weight exactly 1. Returns the sum of the weights, 0 if all are -inf.
double Sampler::apply_softmax(size_t n, bool sorted) {
  float max_v = kNegInf;
  if (sorted) {
    max_v = cand_[0].value;
  } else {
    for (size_t i = 0; i < n; ++i) max_v = std::max(max_v, cand_[i].value);
  }
  if (max_v == kNegInf) return 0.0;
  const double inv_t = 1.0 / static_cast<double>(params_.temperature);
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    float& v = cand_[i].value;
    if (max_v == kPosInf) {
      v = v == kPosInf ? 1.0f : 0.0f;  // limit of softmax: +inf tokens share it all
    } else {
      v = static_cast<float>(std::exp((static_cast<double>(v) - max_v) * inv_t));
    }
    total += v;
  }
  return total;
}

// Keeps weights >= min_p * p_max (p_max's weight is 1), in order. Zero
// weights go too even with min-p off: they can never be drawn, and dropping
// them keeps the top-p sort small.
size_t Sampler::apply_min_p(size_t n) {
  const float threshold = params_.min_p;
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    const float w = cand_[i].value;
    if (w > 0.0f && w >= threshold) cand_[kept++] = cand_[i];
  }
  return kept;
}

// Keeps the smallest most-likely prefix whose mass reaches top_p * total.
// Unsorted candidates are ordered a chunk at a time (nth_element, then sort
// the chunk), growing it fourfold: a peaked distribution, the usual case, is
// settled after one linear pass instead of a sort of the whole vocabulary.
// The order is total, so the prefix is the one a full sort would give.
size_t Sampler::apply_top_p(size_t n, double total, bool sorted) {
  if (params_.top_p >= 1.0f) return n;
  const double target = static_cast<double>(params_.top_p) * total;
  const auto first = cand_.begin();
  double cum = 0.0;
  size_t begin = 0;
  for (size_t chunk = 64; begin < n; chunk *= 4) {
    const size_t end = sorted ? n : std::min(n, begin + chunk);
    if (!sorted) {
      std::nth_element(first + begin, first + (end - 1), first + n, higher);
      std::sort(first + begin, first + (end - 1), higher);
    }
    for (size_t i = begin; i < end; ++i) {
      cum += cand_[i].value;
      if (cum >= target) return i + 1;
    }
    begin = end;
  }
  return n;
}

// One uniform draw against the renormalised CDF of the n survivors (n >= 1,
// all with positive weight).
int32_t Sampler::draw(size_t n) {
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) total += cand_[i].value;
  const double u = next_uniform() * total;
  double cum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cum += cand_[i].value;
    if (u < cum) return cand_[i].id;
  }
  return cand_[n - 1].id;  // u rounded up to total: the last survivor
}

// No token has positive probability: the lowest id that is not NaN, else 0.
int32_t Sampler::fallback(const float* logits) const {
  for (int32_t i = 0; i < vocab_size_; ++i) {
    if (!std::isnan(logits[i])) return i;
  }
  return 0;
}

// The same from the best candidates: every logit is -inf or NaN after the
// penalty then, so the few finite ones (penalised into -inf) and the lowest
// ids among the -inf ones are among the candidates, ahead of any NaN.
int32_t Sampler::fallback_top(const int32_t* ids, const float* logits, size_t n) {
  int32_t best = -1;
  for (size_t i = 0; i < n; ++i)
    if (!std::isnan(logits[i]) && (best < 0 || ids[i] < best)) best = ids[i];
  return best >= 0 ? best : 0;
}

}  // namespace eidetic
