#include "runtime/src/tokenizer/added_tokens.h"

#include <algorithm>

#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {
namespace {

// Code point of the character ending at byte `end` (> 0) of valid UTF-8.
uint32_t char_before(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  return unicode::decode_utf8(s, i).cp;
}

// Start of the whitespace run that ends at `end`.
size_t whitespace_start(std::string_view s, size_t end) {
  while (end > 0) {
    size_t i = end - 1;
    while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
    if (!unicode::is_whitespace(unicode::decode_utf8(s, i).cp)) break;
    end = i;
  }
  return end;
}

// End of the whitespace run that starts at `begin`.
size_t whitespace_end(std::string_view s, size_t begin) {
  while (begin < s.size()) {
    const unicode::Utf8Step step = unicode::decode_utf8(s, begin);
    if (!unicode::is_whitespace(step.cp)) break;
    begin += step.length;
  }
  return begin;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedPattern>& patterns) : nodes_(1) {
  for (const AddedPattern& p : patterns) {
    if (p.text.empty()) continue;  // HF ignores empty added tokens
    int32_t node = 0;
    for (char c : p.text) {
      const auto b = static_cast<uint8_t>(c);
      int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_[node].next.emplace_back(b, next);
        nodes_.emplace_back();
      }
      node = next;
    }
    // Two tokens with the same text: the first one listed wins.
    if (nodes_[node].pattern < 0) {
      nodes_[node].pattern = static_cast<int32_t>(patterns_.size());
      patterns_.push_back(p);
    }
    first_byte_[static_cast<uint8_t>(p.text[0])] = true;
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  for (const auto& [b, next] : nodes_[node].next)
    if (b == byte) return next;
  return -1;
}

// The leftmost match at or after `from`, longest among those starting there.
bool AddedTokenMatcher::find(std::string_view text, size_t from, Match* m) const {
  for (size_t i = from; i < text.size(); ++i) {
    if (!first_byte_[static_cast<uint8_t>(text[i])]) continue;
    int32_t node = 0;
    m->pattern = -1;
    for (size_t j = i; j < text.size(); ++j) {
      node = child(node, static_cast<uint8_t>(text[j]));
      if (node < 0) break;
      if (nodes_[node].pattern >= 0) {
        m->pattern = nodes_[node].pattern;
        m->end = j + 1;
      }
    }
    if (m->pattern >= 0) {
      m->begin = i;
      return true;
    }
  }
  return false;
}

bool AddedTokenMatcher::accept(std::string_view text, const Match& m, bool parse_special) const {
  const AddedPattern& p = patterns_[m.pattern];
  if (p.special && !parse_special) return false;
  if (!p.single_word) return true;
  // single_word: no word character (\w) may touch the match on either side.
  const bool left_ok = m.begin == 0 || !unicode::is_word(char_before(text, m.begin));
  const bool right_ok = m.end == text.size() || !unicode::is_word(unicode::decode_utf8(text, m.end).cp);
  return left_ok && right_ok;
}

void AddedTokenMatcher::split(std::string_view text, bool parse_special, std::vector<Segment>& out) const {
  size_t done = 0;  // end of the last segment emitted
  size_t from = 0;  // where the scan resumes
  Match m;
  while (!empty() && find(text, from, &m)) {
    from = m.end;
    if (!accept(text, m, parse_special)) continue;
    const AddedPattern& p = patterns_[m.pattern];
    size_t begin = m.begin, end = m.end;
    if (p.lstrip) begin = std::max(whitespace_start(text, begin), done);
    if (p.rstrip) end = whitespace_end(text, end);
    // Like HF, the scan resumes at the match's own end even after rstrip, so
    // a token starting inside the stripped whitespace is still found (its
    // segment then overlaps; only ids and the text between matter).
    if (done < begin) out.push_back({done, begin, -1});
    out.push_back({begin, end, p.id});
    done = end;
  }
  if (done < text.size()) out.push_back({done, text.size(), -1});
}

}  // namespace eidetic
