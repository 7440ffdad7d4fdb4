#include "runtime/src/tokenizer/normalizer.h"

#include <algorithm>
#include <cstdint>

#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {

void replace_spaces(std::string_view s, std::string* out) {
  out->reserve(out->size() + s.size() + s.size() / 2);
  for (char c : s) {
    if (c == ' ') {
      out->append(kMetaspace);
    } else {
      *out += c;
    }
  }
}

bool normalize(const TokenizerData& data, std::string_view segment, std::string* out) {
  const bool metaspace = data.kind == TokenizerKind::kMetaspaceBpe && data.metaspace_mode == MetaspaceMode::kNormalizer;
  // Text below U+0300 is its own NFC: skip the copy (the common case).
  const bool needs_nfc =
      data.nfc && std::any_of(segment.begin(), segment.end(), [](char c) { return static_cast<uint8_t>(c) >= 0xCC; });
  if (!needs_nfc && !metaspace) return false;
  std::string nfc_text;
  if (needs_nfc) {
    nfc_text = unicode::nfc(segment);
    segment = nfc_text;
  }
  out->clear();
  if (!metaspace) {
    *out = std::move(nfc_text);
    return true;
  }
  // HF's Prepend skips empty strings; segments reaching here are non-empty.
  if (data.metaspace_prepend && !segment.empty()) out->append(kMetaspace);
  replace_spaces(segment, out);
  return true;
}

std::string metaspace_pre_tokenize(std::string_view piece, bool prepend) {
  std::string out;
  const bool starts_with_metaspace = piece.substr(0, kMetaspace.size()) == kMetaspace;
  // After replacement a leading ' ' is a leading ▁ too.
  if (prepend && !starts_with_metaspace && (piece.empty() || piece[0] != ' ')) out.append(kMetaspace);
  replace_spaces(piece, &out);
  return out;
}

}  // namespace eidetic
