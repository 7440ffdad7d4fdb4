// The k most likely next tokens of one position, as a backend hands them to
// the sampler instead of the whole row of logits (so that on a GPU only k
// values cross to the host per token).
//
// The order is total and the same on every backend: logit descending, then
// token id ascending; -0 equals +0, and NaN ranks below -inf (its value kept).
// order_key() maps a logit to an unsigned key that sorts that way
// (backends/vulkan/shaders/top_k.comp computes the same key).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

namespace eidetic {

struct TopK {
  size_t k = 0;             // candidates asked for (<= vocabulary size)
  int32_t* ids = nullptr;   // [k] token ids, best first
  float* logits = nullptr;  // [k] their logits
};

// Larger key = more likely; NaN -> 0, below -inf's key.
inline uint32_t order_key(float v) {
  if (v != v) return 0;
  if (v == 0.0f) v = 0.0f;  // -0 -> +0
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

inline float from_order_key(uint32_t key) {
  if (key == 0) {
    uint32_t nan = 0x7fc00000u;
    float v;
    std::memcpy(&v, &nan, 4);
    return v;
  }
  const uint32_t b = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
  float v;
  std::memcpy(&v, &b, 4);
  return v;
}

// key << 32 | ~id: one integer per candidate, larger = ranked first.
inline uint64_t rank_of(float logit, int32_t id) { return uint64_t(order_key(logit)) << 32 | uint32_t(~uint32_t(id)); }

// The top.k candidates of logits[vocab] (k <= vocab) into top. scratch holds
// vocab entries (so that selecting allocates nothing).
inline void select_top_k(const float* logits, size_t vocab, const TopK& top, uint64_t* scratch) {
  for (size_t i = 0; i < vocab; ++i) scratch[i] = rank_of(logits[i], int32_t(i));
  std::partial_sort(scratch, scratch + top.k, scratch + vocab, std::greater<uint64_t>());
  for (size_t i = 0; i < top.k; ++i) {
    const int32_t id = int32_t(~uint32_t(scratch[i]));
    top.ids[i] = id;
    top.logits[i] = logits[id];
  }
}

}  // namespace eidetic
