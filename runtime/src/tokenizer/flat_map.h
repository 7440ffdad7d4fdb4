// A small open-addressing hash map from 64-bit keys to 64-bit values, for
// the hot lookups of BPE (pair -> merge, code point -> id). std::unordered_map
// allocates a node per entry and hashes integers to themselves; this keeps
// keys and values in one flat array with a multiplicative hash.
#pragma once

#include <cstdint>
#include <vector>

namespace eidetic {

class FlatU64Map {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // reserved: cannot be a key

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;  // load factor <= 1/2 keeps probes short
    if (cap > slots_.size()) rehash(cap);
  }

  // Inserts or overwrites.
  void put(uint64_t key, uint64_t value) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    Slot& s = slots_[probe(key)];
    if (s.key == kEmpty) ++size_;
    s = {key, value};
  }

  // Pointer to the value, or nullptr.
  const uint64_t* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[probe(key)];
    return s.key == key ? &s.value : nullptr;
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = kEmpty;
    uint64_t value = 0;
  };

  // The slot holding key, or the empty slot where it would go.
  size_t probe(uint64_t key) const {
    const size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
    while (slots_[i].key != key && slots_[i].key != kEmpty) i = (i + 1) & mask;
    return i;
  }

  void rehash(size_t cap) {
    std::vector<Slot> old(cap);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old)
      if (s.key != kEmpty) put(s.key, s.value);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace eidetic
