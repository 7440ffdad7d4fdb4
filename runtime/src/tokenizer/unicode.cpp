#include "runtime/src/tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace eidetic::unicode {
namespace {

struct CodeRange {
  uint32_t first;
  uint32_t last;
  uint8_t value;
};
struct Decomposition {
  uint32_t cp;
  uint16_t offset;
  uint8_t length;
};
struct Composition {
  uint32_t first;
  uint32_t second;
  uint32_t composite;
};

#include "runtime/src/tokenizer/unicode_tables.inc"

// Value of the range holding cp, 0 when none: binary search on sorted,
// disjoint ranges.
template <size_t N>
uint8_t range_lookup(const CodeRange (&table)[N], uint32_t cp) {
  const CodeRange* end = table + N;
  const CodeRange* it = std::upper_bound(table, end, cp, [](uint32_t c, const CodeRange& r) { return c < r.first; });
  if (it == table) return 0;
  --it;
  return cp <= it->last ? it->value : 0;
}

// Latin-1 classes answered from a flat table: the hot path of the
// pre-tokenizers on mostly-ASCII text skips the binary search.
std::array<uint8_t, 256> make_latin1_classes() {
  std::array<uint8_t, 256> t{};
  for (uint32_t c = 0; c < 256; ++c) t[c] = range_lookup(kClassRanges, c);
  return t;
}
const std::array<uint8_t, 256> kLatin1Classes = make_latin1_classes();

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Bounds of the second byte of a sequence, per lead byte (Unicode Table
// 3-7): they exclude overlong forms, surrogates and code points > U+10FFFF.
void second_byte_bounds(uint8_t lead, uint8_t* lo, uint8_t* hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (lead == 0xE0) *lo = 0xA0;
  if (lead == 0xED) *hi = 0x9F;
  if (lead == 0xF0) *lo = 0x90;
  if (lead == 0xF4) *hi = 0x8F;
}

uint32_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation byte, C0/C1 or F5..FF: never valid as a lead
}

}  // namespace

Utf8Step decode_utf8(std::string_view s, size_t i) {
  const auto lead = static_cast<uint8_t>(s[i]);
  if (lead < 0x80) return {lead, 1, true, false};
  const uint32_t n = sequence_length(lead);
  if (n == 0) return {kReplacement, 1, false, false};
  uint8_t lo, hi;
  second_byte_bounds(lead, &lo, &hi);
  uint32_t cp = lead & (0x7F >> n);
  for (uint32_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) return {kReplacement, k, false, true};
    const auto b = static_cast<uint8_t>(s[i + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : is_continuation(b);
    if (!ok) return {kReplacement, k, false, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, n, true, false};
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step step = decode_utf8(s, i);
    if (!step.valid) return false;
    i += step.length;
  }
  return true;
}

void append_lossy(std::string& out, std::string_view s) {
  size_t run = 0;  // start of the pending run of valid bytes
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step step = decode_utf8(s, i);
    if (!step.valid) {
      out.append(s.data() + run, i - run);
      append_utf8(out, kReplacement);
      run = i + step.length;
    }
    i += step.length;
  }
  out.append(s.data() + run, s.size() - run);
}

size_t incomplete_tail(std::string_view s) {
  // A character is at most 4 bytes: its lead is among the last 3 bytes.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<uint8_t>(s[n - back]);
    if (is_continuation(b)) continue;
    const Utf8Step step = decode_utf8(s, n - back);
    return step.truncated ? back : 0;
  }
  return 0;
}

uint8_t char_class(uint32_t cp) {
  if (cp < 256) return kLatin1Classes[cp];
  return range_lookup(kClassRanges, cp);
}

uint8_t combining_class(uint32_t cp) {
  if (cp < 0x300) return 0;  // nothing below U+0300 combines
  return range_lookup(kCombiningRanges, cp);
}

const uint32_t* canonical_decomposition(uint32_t cp, uint32_t* length) {
  const Decomposition* end = std::end(kDecompositions);
  const Decomposition* it = std::lower_bound(std::begin(kDecompositions), end, cp,
                                             [](const Decomposition& d, uint32_t c) { return d.cp < c; });
  if (it == end || it->cp != cp) return nullptr;
  *length = it->length;
  return kDecompositionPool + it->offset;
}

uint32_t compose_pair(uint32_t first, uint32_t second) {
  const Composition key{first, second, 0};
  const Composition* end = std::end(kCompositions);
  const Composition* it =
      std::lower_bound(std::begin(kCompositions), end, key, [](const Composition& a, const Composition& b) {
        return a.first != b.first ? a.first < b.first : a.second < b.second;
      });
  if (it == end || it->first != first || it->second != second) return 0;
  return it->composite;
}

}  // namespace eidetic::unicode
