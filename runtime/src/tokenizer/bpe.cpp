#include "runtime/src/tokenizer/bpe.h"

#include <limits>
#include <queue>

namespace eidetic {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Words up to this many symbols use the quadratic loop: for the short words
// of natural text it beats the heap on constant factors.
constexpr size_t kSmallWord = 32;

}  // namespace

Status BpeMerges::init(const std::vector<std::string>& vocab,
                       const std::vector<std::pair<int32_t, int32_t>>& merges,
                       const std::unordered_map<std::string_view, int32_t>& ids) {
  merges_.clear();
  merges_.reserve(merges.size());
  const auto n = static_cast<int64_t>(vocab.size());
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto [left, right] = merges[rank];
    if (left < 0 || right < 0 || left >= n || right >= n)
      return invalid_model("tokenizer merge " + std::to_string(rank) + " has an id out of range");
    joined = vocab[left] + vocab[right];
    auto it = ids.find(joined);
    if (it == ids.end())
      return invalid_model("tokenizer merge " + std::to_string(rank) + " (\"" + vocab[left] +
                           "\" + \"" + vocab[right] + "\") makes a token missing from the vocab");
    // A repeated pair takes its last rank, as HF's HashMap collect does.
    merges_[pair_key(left, right)] = Merge{static_cast<int32_t>(rank), it->second};
  }
  return Status::ok();
}

const BpeMerges::Merge* BpeMerges::find(int32_t left, int32_t right) const {
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeMerges::apply(std::vector<int32_t>& symbols) const {
  if (symbols.size() < 2 || merges_.empty()) return;
  if (symbols.size() <= kSmallWord) {
    apply_small(symbols);
  } else {
    apply_large(symbols);
  }
}

// rank[i] is the rank of the pair (symbols[i], symbols[i+1]); each step
// merges the lowest, leftmost one and refreshes its two neighbours.
void BpeMerges::apply_small(std::vector<int32_t>& symbols) const {
  constexpr int32_t kNone = std::numeric_limits<int32_t>::max();
  int32_t rank[kSmallWord];
  auto rank_of = [&](size_t i) {
    const Merge* m = find(symbols[i], symbols[i + 1]);
    return m ? m->rank : kNone;
  };
  size_t n = symbols.size();
  for (size_t i = 0; i + 1 < n; ++i) rank[i] = rank_of(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < rank[best]) best = i;
    if (rank[best] == kNone) break;
    symbols[best] = find(symbols[best], symbols[best + 1])->result;
    for (size_t i = best + 1; i + 1 < n; ++i) symbols[i] = symbols[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) rank[i] = rank[i + 1];
    --n;
    if (best > 0) rank[best - 1] = rank_of(best - 1);
    if (best + 1 < n) rank[best] = rank_of(best);
  }
  symbols.resize(n);
}

// HF's algorithm for long words: a min-heap of candidate merges over a
// doubly linked list of symbols; entries made stale by earlier merges are
// recognised and dropped when popped.
void BpeMerges::apply_large(std::vector<int32_t>& symbols) const {
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t result;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  const auto n = static_cast<int32_t>(symbols.size());
  std::vector<int32_t> prev(n), next(n);
  std::vector<bool> alive(n, true);
  std::vector<Candidate> storage;
  storage.reserve(n);
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue(
      std::greater<Candidate>(), std::move(storage));
  auto push = [&](int32_t pos) {
    if (const Merge* m = find(symbols[pos], symbols[next[pos]]))
      queue.push({m->rank, pos, m->result});
  };
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int32_t right = next[top.pos];
    if (!alive[top.pos] || right < 0) continue;
    const Merge* m = find(symbols[top.pos], symbols[right]);
    if (m == nullptr || m->result != top.result) continue;  // stale entry
    symbols[top.pos] = top.result;
    alive[right] = false;
    next[top.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.pos;
    if (prev[top.pos] >= 0) push(prev[top.pos]);
    if (next[top.pos] >= 0) push(top.pos);
  }
  int32_t out = 0;
  for (int32_t i = 0; i < n; ++i)
    if (alive[i]) symbols[out++] = symbols[i];
  symbols.resize(out);
}

void SymbolBuilder::add_known(int32_t id) {
  if (pending_unk_) out_.push_back(o_.unk_id);
  pending_unk_ = false;
  out_.push_back(id);
}

void SymbolBuilder::add_unknown(std::string_view bytes) {
  if (o_.byte_fallback && o_.byte_ids != nullptr) {
    bool all = true;
    for (char c : bytes) all = all && o_.byte_ids[static_cast<uint8_t>(c)] >= 0;
    if (all) {
      // HF emits the bytes before flushing a pending unk; kept for parity.
      for (char c : bytes) out_.push_back(o_.byte_ids[static_cast<uint8_t>(c)]);
      return;
    }
  }
  if (o_.unk_id < 0) return;  // no unk token: HF drops the character
  if (pending_unk_ && !o_.fuse_unk) out_.push_back(o_.unk_id);
  pending_unk_ = true;
}

void SymbolBuilder::finish() {
  if (pending_unk_) out_.push_back(o_.unk_id);
  pending_unk_ = false;
}

}  // namespace eidetic
