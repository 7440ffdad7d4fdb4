// Text transformations applied before BPE: the NFC normalizer (GPT-NeoX)
// and the two spellings of metaspace (U+2581 for spaces).
#pragma once

#include <string>
#include <string_view>

#include "runtime/src/tokenizer/tokenizer_data.h"

namespace eidetic {

inline constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

// The normalizer of one text segment between added tokens (HF normalizes
// each such segment on its own, so a Prepend normalizer acts once per
// segment). Returns false when the data declares no normalizer and the
// segment is to be used as is.
bool normalize(const TokenizerData& data, std::string_view segment, std::string* out);

// The Metaspace pre-tokenizer: spaces become ▁; then, when `prepend`, one ▁
// is added unless the piece already starts with one.
std::string metaspace_pre_tokenize(std::string_view piece, bool prepend);

// Replaces every ' ' by ▁ (appending to out).
void replace_spaces(std::string_view s, std::string* out);

}  // namespace eidetic
