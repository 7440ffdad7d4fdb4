#include "runtime/src/tokenizer/pre_tokenizer.h"

#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {
namespace {

// Character-level view of valid UTF-8 text, for the matchers below.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  size_t size() const { return s_.size(); }
  bool at_end(size_t i) const { return i >= s_.size(); }

  // Code point at byte offset i (< size()); its byte length in *len.
  uint32_t at(size_t i, size_t* len) const {
    const auto b = static_cast<uint8_t>(s_[i]);
    if (b < 0x80) {
      *len = 1;
      return b;
    }
    const unicode::Utf8Step step = unicode::decode_utf8(s_, i);
    *len = step.length;
    return step.cp;
  }
  uint32_t at(size_t i) const {
    size_t len;
    return at(i, &len);
  }
  size_t next(size_t i) const {
    size_t len;
    at(i, &len);
    return i + len;
  }

  // End of the longest run of characters satisfying pred starting at i.
  template <typename Pred>
  size_t run(size_t i, Pred pred) const {
    while (!at_end(i)) {
      size_t len;
      if (!pred(at(i, &len))) break;
      i += len;
    }
    return i;
  }

 private:
  std::string_view s_;
};

bool letter(uint32_t c) { return unicode::is_letter(c); }
bool number(uint32_t c) { return unicode::is_number(c); }
bool space(uint32_t c) { return unicode::is_whitespace(c); }
bool newline(uint32_t c) { return c == '\r' || c == '\n'; }
// [^\s\p{L}\p{N}]
bool other(uint32_t c) {
  return (unicode::char_class(c) & (unicode::kLetter | unicode::kNumber | unicode::kWhitespace)) == 0;
}

bool ascii_lower_is(uint32_t c, char want) { return (c | 0x20) == static_cast<uint32_t>(want) && c < 0x80; }

// 's|'t|'re|'ve|'m|'ll|'d at i (text[i] == '\''): end of the match or 0.
// Case-insensitive for Llama-3, where U+017F (long s) folds to 's' too.
size_t contraction(const Scanner& sc, size_t i, bool ignore_case) {
  const size_t j = i + 1;
  if (sc.at_end(j)) return 0;
  size_t len;
  const uint32_t c = sc.at(j, &len);
  auto is = [&](uint32_t ch, char want) {
    return ignore_case ? ascii_lower_is(ch, want) : ch == static_cast<uint32_t>(want);
  };
  if (is(c, 's') || is(c, 't') || is(c, 'm') || is(c, 'd')) return j + 1;
  if (ignore_case && c == 0x17F) return j + len;
  if (sc.at_end(j + 1)) return 0;
  const uint32_t d = sc.at(j + 1);
  if ((is(c, 'r') && is(d, 'e')) || (is(c, 'v') && is(d, 'e')) || (is(c, 'l') && is(d, 'l'))) return j + 2;
  return 0;
}

// " ?X+" at i: an optional ASCII space then a run of X; end or 0.
template <typename Pred>
size_t space_then_run(const Scanner& sc, size_t i, Pred pred) {
  const size_t start = sc.at(i) == ' ' ? i + 1 : i;
  if (sc.at_end(start) || !pred(sc.at(start))) return 0;
  return sc.run(start, pred);
}

// \s+(?!\S)|\s+ at i (text[i] is whitespace): the whole run when it ends the
// text, else the run minus its last character (left to prefix the next
// word), else that one character.
size_t whitespace(const Scanner& sc, size_t i) {
  const size_t end = sc.run(i, space);
  if (sc.at_end(end)) return end;
  size_t last = i, k = i;
  while (k < end) {
    last = k;
    k = sc.next(k);
  }
  return last > i ? last : end;
}

size_t gpt2_match(const Scanner& sc, size_t i) {
  const uint32_t c = sc.at(i);
  if (c == '\'') {
    if (size_t e = contraction(sc, i, false)) return e;
  }
  if (size_t e = space_then_run(sc, i, letter)) return e;
  if (size_t e = space_then_run(sc, i, number)) return e;
  if (size_t e = space_then_run(sc, i, other)) return e;
  return whitespace(sc, i);
}

// [^\r\n\p{L}\p{N}]?\p{L}+ at i: end or 0.
size_t prefixed_letters(const Scanner& sc, size_t i) {
  size_t len;
  const uint32_t c = sc.at(i, &len);
  if (letter(c)) return sc.run(i, letter);
  if (newline(c) || number(c) || sc.at_end(i + len) || !letter(sc.at(i + len))) return 0;
  return sc.run(i + len, letter);
}

// \s*[\r\n]+ at i: up to the last newline of the whitespace run, or 0.
size_t spaces_to_newline(const Scanner& sc, size_t i) {
  const size_t end = sc.run(i, space);
  size_t after_newline = 0;
  for (size_t k = i; k < end;) {
    size_t len;
    if (newline(sc.at(k, &len))) after_newline = k + len;
    k += len;
  }
  return after_newline;
}

size_t llama3_match(const Scanner& sc, size_t i, int max_digits) {
  size_t len;
  const uint32_t c = sc.at(i, &len);
  if (c == '\'') {
    if (size_t e = contraction(sc, i, true)) return e;
  }
  if (size_t e = prefixed_letters(sc, i)) return e;
  if (number(c)) {
    size_t e = i;
    for (int n = 0; n < max_digits && !sc.at_end(e) && number(sc.at(e, &len)); ++n) e += len;
    return e;
  }
  if (size_t e = space_then_run(sc, i, other)) return sc.run(e, newline);
  if (size_t e = spaces_to_newline(sc, i)) return e;
  return whitespace(sc, i);
}

}  // namespace

void split_gpt2(std::string_view text, std::vector<std::string_view>& out) {
  const Scanner sc(text);
  for (size_t i = 0; i < text.size();) {
    const size_t e = gpt2_match(sc, i);
    out.push_back(text.substr(i, e - i));
    i = e;
  }
}

void split_llama3(std::string_view text, int max_digits, std::vector<std::string_view>& out) {
  const Scanner sc(text);
  for (size_t i = 0; i < text.size();) {
    const size_t e = llama3_match(sc, i, max_digits);
    out.push_back(text.substr(i, e - i));
    i = e;
  }
}

void pre_tokenize(SplitPattern pattern, std::string_view text, std::vector<std::string_view>& out) {
  switch (pattern) {
    case SplitPattern::kGpt2: return split_gpt2(text, out);
    case SplitPattern::kLlama3: return split_llama3(text, 3, out);
    case SplitPattern::kQwen2: return split_llama3(text, 1, out);
    case SplitPattern::kNone: break;
  }
  if (!text.empty()) out.push_back(text);
}

}  // namespace eidetic
