// Token sampler: turns one step's logits into a token id.
//
// Chain, in this order (llama.cpp's common sampler chain, with temperature
// applied in the softmax before the probability filters):
//   repetition penalty -> top-k -> softmax(logits / temperature) -> top-p
//   -> min-p -> renormalise -> draw.
// temperature == 0 is greedy: penalty, then argmax (ties -> lowest id).
//
// sample_top() runs the same chain on a backend's top candidates (TopK in
// backends/top_k.h) and picks the same token sample() picks from the full
// logits, given at least candidates_needed() of them: the top-k set after the
// penalty lies within the top (k + tokens in the window) before it when the
// penalty only lowers logits (repeat_penalty >= 1).
//
// Determinism: the random source is xoshiro256** seeded through splitmix64, the
// candidate orderings are total (probability, then id), and a draw is one
// uniform double in [0,1) against the renormalised CDF. The same seed, the
// same accepted tokens and the same logits give the same tokens on every
// platform, up to ulp differences of std::exp between C libraries.
//
// Non-finite logits:
//   NaN      -> treated as -inf: never chosen (unless nothing else is left,
//               see below).
//   +inf     -> the limit of softmax: the +inf tokens share all the mass
//               equally; every finite token gets probability 0.
//   all -inf -> no token has positive probability; sample() returns the
//   or NaN      lowest id whose logit is not NaN, or 0 if every logit is NaN.
//               The runtime is expected to have caught a blown-up model
//               before this point; the sampler only promises a valid id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/src/core/status.h"

namespace eidetic {

struct SamplerParams {
  float temperature = 0.8f;     // 0 -> greedy (argmax; ties -> lowest id)
  int32_t top_k = 40;           // 0 -> off; 1 equals greedy
  float top_p = 0.95f;          // 1 -> off
  float min_p = 0.05f;          // 0 -> off; keep tokens with p >= min_p * p_max
  float repeat_penalty = 1.1f;  // 1 -> off; logit>0 ? logit/pen : logit*pen,
                                // once per distinct token in the window
  int32_t repeat_last_n = 64;   // window of recent tokens the penalty looks at
  uint64_t seed = 0;            // same seed + same logits -> same tokens
};

// Largest repeat_last_n accepted: the ring is allocated up front.
inline constexpr int32_t kMaxRepeatLastN = 1 << 20;

// Ok, or kInvalidArgument naming the first bad field and its value.
Status validate(const SamplerParams& p);

class Sampler {
 public:
  // Validates p and vocab_size (> 0) and allocates all scratch.
  static Result<Sampler> create(const SamplerParams& p, int32_t vocab_size);

  // Picks a token from logits[vocab_size]; logits are not modified.
  // Allocation-free. Greedy sampling does not advance the random state.
  int32_t sample(const float* logits);

  // How many of the most likely tokens sample_top() needs for the next draw:
  // 1 + tokens in the penalty window for greedy, top_k + those with top-k;
  // 0 when the draw needs the whole distribution (temperature > 0 without
  // top-k, repeat_penalty < 1, or as many as the vocabulary).
  size_t candidates_needed() const;
  // Picks a token from the n best candidates of the logits (ids and logits
  // best first, in TopK's order), n >= candidates_needed(): the token sample()
  // would pick from the full row. Allocation-free.
  int32_t sample_top(const int32_t* ids, const float* logits, size_t n);

  // Records a token (prompt or generated) for the repetition penalty. Ids
  // outside [0, vocab_size) occupy a window slot but are never penalised.
  void accept(int32_t token);

  // Forgets recent tokens and reseeds the random state with params().seed.
  void reset();

  const SamplerParams& params() const { return params_; }
  int32_t vocab_size() const { return vocab_size_; }

 private:
  struct Candidate {
    int32_t id;
    float value;  // logit until the softmax, then unnormalised probability
  };

  Sampler(const SamplerParams& p, int32_t vocab_size);
  static bool higher(const Candidate& a, const Candidate& b);

  void load_and_penalise(const float* logits);
  void load_top_and_penalise(const int32_t* ids, const float* logits, size_t n);
  float penalised(float v) const;
  int32_t pick(size_t n);  // the chain after loading n candidates; -1: none has positive probability
  int32_t argmax(size_t n) const;
  size_t apply_top_k(size_t n);
  double apply_softmax(size_t n, bool sorted);
  size_t apply_min_p(size_t n);
  size_t apply_top_p(size_t n, double total, bool sorted);
  int32_t draw(size_t n);
  int32_t fallback(const float* logits) const;
  static int32_t fallback_top(const int32_t* ids, const float* logits, size_t n);
  double next_uniform();

  SamplerParams params_;
  int32_t vocab_size_ = 0;
  std::vector<Candidate> cand_;  // vocab_size_ entries
  std::vector<int32_t> recent_;  // ring of the last repeat_last_n tokens
  std::vector<uint8_t> seen_;    // per-id mark: penalise each id once
  size_t recent_head_ = 0;       // next slot to write
  size_t recent_count_ = 0;      // filled slots, <= recent_.size()
  uint64_t rng_[4] = {};         // xoshiro256** state
};

}  // namespace eidetic
