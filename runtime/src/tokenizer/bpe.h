// The BPE model: a vocabulary and ranked merges. Given the initial symbols of
// a word it applies merges lowest rank first (leftmost among equal ranks),
// which is exactly the order of HF `tokenizers`' BPE::merge_word.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/src/core/status.h"
#include "runtime/src/tokenizer/flat_map.h"

namespace eidetic {

class BpeMerges {
 public:
  // vocab: id -> text; merges: (left, right) ids in rank order. Fails when
  // an id is out of range or a merge's concatenation is not in the vocab.
  Status init(const std::vector<std::string>& vocab, const std::vector<std::pair<int32_t, int32_t>>& merges,
              const std::unordered_map<std::string_view, int32_t>& ids);

  // Merge the symbols in place until no ranked pair is left.
  void apply(std::vector<int32_t>& symbols) const;

 private:
  // Rank and resulting id of the merge of (left, right); false when none.
  bool find(int32_t left, int32_t right, int32_t* rank, int32_t* result) const;
  void init_boundaries(const std::vector<std::string>& vocab, const std::vector<std::pair<int32_t, int32_t>>& merges);
  // Whether some merge could ever join a token ending like `left` with one
  // starting like `right`.
  bool joinable(int32_t left, int32_t right) const;
  void apply_small(std::vector<int32_t>& symbols) const;
  void apply_large(std::vector<int32_t>& symbols) const;
  void apply_chunked(std::vector<int32_t>& symbols) const;

  FlatU64Map merges_;                             // (left << 32 | right) -> (rank << 32 | result)
  std::vector<uint32_t> first_char_, last_char_;  // per token: its edge code points
  FlatU64Map joinable_;                           // (last << 32 | first) of every merge
  bool chunkable_ = false;
};

// Collects the initial symbols of a word character by character, doing what
// HF's BPE does for characters missing from the vocabulary: byte fallback to
// <0xNN> tokens when enabled and all bytes exist, else the unk token (one per
// run of unknown characters with fuse_unk), else nothing (dropped).
class SymbolBuilder {
 public:
  struct Options {
    bool byte_fallback = false;
    bool fuse_unk = false;
    int32_t unk_id = -1;
    const int32_t* byte_ids = nullptr;  // [256] ids of <0xNN>, -1 when absent
  };
  SymbolBuilder(const Options& options, std::vector<int32_t>& out) : o_(options), out_(out) {}

  void add_known(int32_t id);
  void add_unknown(std::string_view bytes);
  void finish();  // call once after the last character

 private:
  const Options& o_;
  std::vector<int32_t>& out_;
  bool pending_unk_ = false;
};

}  // namespace eidetic
