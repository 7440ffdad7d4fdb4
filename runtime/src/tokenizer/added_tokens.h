// Finding added (and special) tokens in text before BPE, as HF
// `tokenizers`' AddedVocabulary::find_matches does: leftmost-longest,
// non-overlapping matches, honouring single_word, lstrip and rstrip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eidetic {

struct AddedPattern {
  std::string text;  // what to look for (the token content, normalized if it asks to be)
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A piece of the input: [begin, end) is either plain text (id < 0) or an
// added token (id >= 0, including the whitespace it strips).
struct Segment {
  size_t begin;
  size_t end;
  int32_t id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() : nodes_(1) {}
  explicit AddedTokenMatcher(const std::vector<AddedPattern>& patterns);

  bool empty() const { return nodes_.size() <= 1; }

  // Splits text into segments covering it, in order. With parse_special
  // false, special tokens are not matched (their text is tokenized as text),
  // but like HF the scan still steps over them. As in HF, a token found in
  // the whitespace an rstrip token swallowed yields a segment overlapping it.
  void split(std::string_view text, bool parse_special, std::vector<Segment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;
    int32_t pattern = -1;  // index into patterns_ when a pattern ends here
  };
  struct Match {
    size_t begin, end;
    int32_t pattern;
  };
  int32_t child(int32_t node, uint8_t byte) const;
  bool find(std::string_view text, size_t from, Match* m) const;
  bool accept(std::string_view text, const Match& m, bool parse_special) const;

  std::vector<AddedPattern> patterns_;
  std::vector<Node> nodes_;  // a byte trie; nodes_[0] is the root
  bool first_byte_[256] = {};
};

}  // namespace eidetic
