#include "runtime/src/tokenizer/bpe.h"

#include <algorithm>
#include <limits>

#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Words up to this many symbols use the quadratic loop: for the short words
// of natural text it beats the heap on constant factors.
constexpr size_t kSmallWord = 32;

}  // namespace

Status BpeMerges::init(const std::vector<std::string>& vocab, const std::vector<std::pair<int32_t, int32_t>>& merges,
                       const std::unordered_map<std::string_view, int32_t>& ids) {
  merges_ = FlatU64Map();
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
      return invalid_model("tokenizer merge " + std::to_string(rank) + " (\"" + vocab[left] + "\" + \"" + vocab[right] +
                           "\") makes a token missing from the vocab");
    // A repeated pair takes its last rank, as HF's HashMap collect does.
    merges_.put(pair_key(left, right), pair_key(static_cast<int32_t>(rank), it->second));
  }
  init_boundaries(vocab, merges);
  return Status::ok();
}

// A merge joins a token ending in some character with one starting in some
// character; the set of such (last, first) pairs tells which boundaries
// between two symbols no merge can ever cross, whatever grows around them.
void BpeMerges::init_boundaries(const std::vector<std::string>& vocab,
                                const std::vector<std::pair<int32_t, int32_t>>& merges) {
  first_char_.assign(vocab.size(), 0);
  last_char_.assign(vocab.size(), 0);
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& t = vocab[id];
    if (t.empty()) continue;
    first_char_[id] = unicode::decode_utf8(t, 0).cp;
    size_t last = t.size() - 1;
    while (last > 0 && (static_cast<uint8_t>(t[last]) & 0xC0) == 0x80) --last;
    last_char_[id] = unicode::decode_utf8(t, last).cp;
  }
  joinable_ = FlatU64Map();
  chunkable_ = true;
  for (const auto& [left, right] : merges) {
    if (vocab[left].empty() || vocab[right].empty()) chunkable_ = false;  // edges unknown
    joinable_.put((uint64_t{last_char_[left]} << 32) | first_char_[right], 1);
  }
}

bool BpeMerges::joinable(int32_t left, int32_t right) const {
  return joinable_.find((uint64_t{last_char_[left]} << 32) | first_char_[right]) != nullptr;
}

bool BpeMerges::find(int32_t left, int32_t right, int32_t* rank, int32_t* result) const {
  const uint64_t* v = merges_.find(pair_key(left, right));
  if (v == nullptr) return false;
  *rank = static_cast<int32_t>(*v >> 32);
  *result = static_cast<int32_t>(*v & 0xFFFFFFFFu);
  return true;
}

void BpeMerges::apply(std::vector<int32_t>& symbols) const {
  if (symbols.size() < 2 || merges_.size() == 0) return;
  if (symbols.size() <= kSmallWord) return apply_small(symbols);
  if (!chunkable_) return apply_large(symbols);
  apply_chunked(symbols);
}

// A long word (a whole metaspace segment) cut where no merge can ever cross:
// merges never interact across such a cut, so each piece merged on its own
// gives exactly what the whole would, with short pieces on the fast path.
void BpeMerges::apply_chunked(std::vector<int32_t>& symbols) const {
  std::vector<int32_t> out, chunk;
  out.reserve(symbols.size());
  size_t start = 0;
  for (size_t i = 1; i <= symbols.size(); ++i) {
    if (i < symbols.size() && joinable(symbols[i - 1], symbols[i])) continue;
    chunk.assign(symbols.begin() + start, symbols.begin() + i);
    if (chunk.size() <= kSmallWord) {
      apply_small(chunk);
    } else {
      apply_large(chunk);
    }
    out.insert(out.end(), chunk.begin(), chunk.end());
    start = i;
  }
  symbols.swap(out);
}

// rank[i] is the rank of the pair (symbols[i], symbols[i+1]); each step
// merges the lowest, leftmost one and refreshes its two neighbours.
void BpeMerges::apply_small(std::vector<int32_t>& symbols) const {
  constexpr int32_t kNone = std::numeric_limits<int32_t>::max();
  int32_t rank[kSmallWord], result[kSmallWord];
  auto refresh = [&](size_t i) {
    if (!find(symbols[i], symbols[i + 1], &rank[i], &result[i])) rank[i] = kNone;
  };
  size_t n = symbols.size();
  for (size_t i = 0; i + 1 < n; ++i) refresh(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < rank[best]) best = i;
    if (rank[best] == kNone) break;
    symbols[best] = result[best];
    for (size_t i = best + 1; i + 1 < n; ++i) symbols[i] = symbols[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) {
      rank[i] = rank[i + 1];
      result[i] = result[i + 1];
    }
    --n;
    if (best > 0) refresh(best - 1);
    if (best + 1 < n) refresh(best);
  }
  symbols.resize(n);
}

// A 4-ary min-heap of packed candidates: half the depth of a binary heap,
// and the four children of a node share a cache line.
class MinHeap4 {
 public:
  explicit MinHeap4(std::vector<uint64_t> items) : v_(std::move(items)) {
    for (size_t i = v_.size() / 4 + 1; i-- > 0;) sift_down(i);
  }
  bool empty() const { return v_.empty(); }
  uint64_t top() const { return v_[0]; }
  void push(uint64_t x) {
    size_t i = v_.size();
    v_.push_back(x);
    while (i > 0 && x < v_[(i - 1) / 4]) {
      v_[i] = v_[(i - 1) / 4];
      i = (i - 1) / 4;
    }
    v_[i] = x;
  }
  void pop() {
    v_[0] = v_.back();
    v_.pop_back();
    if (!v_.empty()) sift_down(0);
  }

 private:
  void sift_down(size_t i) {
    const size_t n = v_.size();
    const uint64_t x = v_[i];
    for (;;) {
      const size_t first = 4 * i + 1;
      if (first >= n) break;
      size_t best = first;
      for (size_t c = first + 1; c < first + 4 && c < n; ++c)
        if (v_[c] < v_[best]) best = c;
      if (v_[best] >= x) break;
      v_[i] = v_[best];
      i = best;
    }
    v_[i] = x;
  }
  std::vector<uint64_t> v_;
};

// HF's algorithm for long words: a min-heap of candidate merges, packed as
// (rank << 32 | position) so that the lowest rank, then the leftmost
// position, comes first, over a doubly linked list of symbols. An entry made
// stale by an earlier merge no longer matches the pair now at its position
// (a rank names a single pair) and is dropped when popped.
void BpeMerges::apply_large(std::vector<int32_t>& symbols) const {
  const auto n = static_cast<int32_t>(symbols.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  int32_t rank, result;
  std::vector<uint64_t> initial;
  initial.reserve(n);
  for (int32_t i = 0; i + 1 < n; ++i)
    if (find(symbols[i], symbols[i + 1], &rank, &result)) initial.push_back(pair_key(rank, i));
  MinHeap4 queue(std::move(initial));
  auto push = [&](int32_t pos) {
    if (find(symbols[pos], symbols[next[pos]], &rank, &result)) queue.push(pair_key(rank, pos));
  };
  while (!queue.empty()) {
    const auto want_rank = static_cast<int32_t>(queue.top() >> 32);
    const auto pos = static_cast<int32_t>(queue.top() & 0xFFFFFFFFu);
    queue.pop();
    const int32_t right = next[pos];
    if (symbols[pos] < 0 || right < 0 || !find(symbols[pos], symbols[right], &rank, &result) || rank != want_rank)
      continue;  // stale entry
    symbols[pos] = result;
    symbols[right] = -1;  // dead
    next[pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = pos;
    if (prev[pos] >= 0) push(prev[pos]);
    if (next[pos] >= 0) push(pos);
  }
  symbols.erase(std::remove(symbols.begin(), symbols.end(), -1), symbols.end());
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
