#include "runtime/src/tokenizer/word_cache.h"

namespace eidetic {

bool WordCache::find(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxWordBytes) return false;
  auto it = index_.find(std::string(word));
  if (it == index_.end()) return false;
  const auto [offset, count] = it->second;
  out.insert(out.end(), ids_.begin() + offset, ids_.begin() + offset + count);
  return true;
}

void WordCache::insert(std::string_view word, const std::vector<int32_t>& ids) {
  if (word.size() > kMaxWordBytes) return;
  if (index_.size() >= kMaxWords) {
    index_.clear();
    ids_.clear();
  }
  const auto offset = static_cast<uint32_t>(ids_.size());
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  index_.emplace(std::string(word), std::make_pair(offset, static_cast<uint32_t>(ids.size())));
}

}  // namespace eidetic
