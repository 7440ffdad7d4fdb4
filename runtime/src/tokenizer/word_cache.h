// Memo of byte-level words already tokenized: natural text repeats its
// words, and a hash lookup is several times cheaper than merging again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace eidetic {

class WordCache {
 public:
  // Appends the ids of `word` to out and returns true when cached.
  bool find(std::string_view word, std::vector<int32_t>& out) const;
  void insert(std::string_view word, const std::vector<int32_t>& ids);

 private:
  // Bounded so a long stream of distinct words cannot grow it without end;
  // when full it simply starts over.
  static constexpr size_t kMaxWords = 1 << 16;
  static constexpr size_t kMaxWordBytes = 64;  // longer words are rare and costly to key

  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>> index_;  // -> (offset, count)
  std::vector<int32_t> ids_;
};

}  // namespace eidetic
