// UTF-8 coding and the few Unicode properties the tokenizer needs, from
// tables generated out of the Unicode Character Database
// (gen_unicode_tables.py -> unicode_tables.inc). No ICU, no regex engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace eidetic::unicode {

constexpr uint32_t kReplacement = 0xFFFD;  // U+FFFD REPLACEMENT CHARACTER

// One step of strict UTF-8 decoding.
struct Utf8Step {
  uint32_t cp;      // the code point, or kReplacement when invalid
  uint32_t length;  // bytes consumed (>= 1)
  bool valid;       // false: bytes [0, length) are one maximal invalid subpart
  bool truncated;   // invalid only because the input ended mid-character
};

// Decode the character starting at s[i] (i < s.size()). Invalid input
// consumes its "maximal subpart" (Unicode 15 §3.9, the WHATWG rule, the same
// as Rust's String::from_utf8_lossy), so replacing each invalid step by one
// U+FFFD reproduces exactly what Hugging Face `tokenizers` does.
Utf8Step decode_utf8(std::string_view s, size_t i);

void append_utf8(std::string& out, uint32_t cp);

bool is_valid_utf8(std::string_view s);

// Appends s to out with every maximal invalid subpart replaced by U+FFFD.
void append_lossy(std::string& out, std::string_view s);

// Length of the trailing bytes of s that are a valid but unfinished
// character (0 when s ends on a character boundary or in invalid bytes).
// A stream decoder holds exactly these back until more bytes arrive.
size_t incomplete_tail(std::string_view s);

// Character classes as the pre-tokenizer regexes see them.
enum CharClass : uint8_t {
  kLetter = 1,      // \p{L}
  kNumber = 2,      // \p{N}
  kWhitespace = 4,  // \s: the White_Space property (= Rust char::is_whitespace)
  kWord = 8,        // \w of Rust's regex crate (HF's single_word boundaries)
};

uint8_t char_class(uint32_t cp);
inline bool is_letter(uint32_t cp) { return char_class(cp) & kLetter; }
inline bool is_number(uint32_t cp) { return char_class(cp) & kNumber; }
inline bool is_whitespace(uint32_t cp) { return char_class(cp) & kWhitespace; }
inline bool is_word(uint32_t cp) { return char_class(cp) & kWord; }

// Canonical combining class (0 for starters).
uint8_t combining_class(uint32_t cp);

// Full canonical decomposition of cp (Hangul syllables excluded): sets
// *length and returns the code points, or nullptr when cp does not decompose.
const uint32_t* canonical_decomposition(uint32_t cp, uint32_t* length);

// The primary composite of the pair (first, second), or 0 when none.
uint32_t compose_pair(uint32_t first, uint32_t second);

// Unicode Normalization Form C of valid UTF-8 text (unicode_nfc.cpp).
std::string nfc(std::string_view s);

}  // namespace eidetic::unicode
