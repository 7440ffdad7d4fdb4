// Unicode Normalization Form C (UAX #15): canonical decomposition, canonical
// ordering, canonical composition. GPT-NeoX-family tokenizers (Mamba,
// Mamba-2, Pythia) declare an NFC normalizer, so encode must apply it.
#include <algorithm>
#include <vector>

#include "runtime/src/tokenizer/unicode.h"

namespace eidetic::unicode {
namespace {

// Hangul syllables are composed and decomposed arithmetically (UAX #15 §3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr uint32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void decompose_into(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  uint32_t n = 0;
  const uint32_t* d = canonical_decomposition(cp, &n);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  out.insert(out.end(), d, d + n);
}

// Stable sort of each run of non-starters by combining class.
void canonical_order(std::vector<uint32_t>& cps) {
  size_t i = 0;
  while (i < cps.size()) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j,
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  return compose_pair(a, b);
}

// Canonical composition in place. The marks between the last starter and
// the current character are in canonical order, so the character is
// unblocked iff it follows the starter directly or the last mark kept has a
// lower, non-zero class.
void canonical_compose(std::vector<uint32_t>& cps) {
  size_t out = 0;
  long starter = -1;
  uint8_t last_cc = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t c = cps[i];
    const uint8_t cc = combining_class(c);
    if (starter >= 0) {
      const bool adjacent = out == static_cast<size_t>(starter) + 1;
      if (adjacent || (last_cc != 0 && last_cc < cc)) {
        const uint32_t composite = compose(cps[starter], c);
        if (composite != 0) {
          cps[starter] = composite;
          continue;
        }
      }
    }
    if (cc == 0) starter = static_cast<long>(out);
    last_cc = cc;
    cps[out++] = c;
  }
  cps.resize(out);
}

}  // namespace

std::string nfc(std::string_view s) {
  // Text below U+0300 is already in NFC: return it untouched (the common case).
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<uint8_t>(c) < 0xCC; })) return std::string(s);
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const Utf8Step step = decode_utf8(s, i);
    decompose_into(step.cp, cps);
    i += step.length;
  }
  canonical_order(cps);
  canonical_compose(cps);
  std::string out;
  out.reserve(s.size());
  for (uint32_t c : cps) append_utf8(out, c);
  return out;
}

}  // namespace eidetic::unicode
