// The tokenizer as it travels in a model file: what the converter extracts
// from tokenizer.json and what the runtime rebuilds a Tokenizer from. Plain
// data, no behaviour; the schema's Tokenizer table mirrors it field by field.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace eidetic {

enum class TokenizerKind : uint8_t {
  kByteLevelBpe = 0,  // GPT-2 / GPT-NeoX / Qwen: bytes mapped to printable code points
  kMetaspaceBpe = 1,  // Llama / Mistral: spaces become U+2581, optional byte fallback
};

// Pre-tokenizer split regexes that we implement by hand (no regex engine).
enum class SplitPattern : uint8_t {
  kNone = 0,    // no regex split (metaspace models)
  kGpt2 = 1,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3 = 2,  // Llama-3 / Qwen2 pattern with \p{N}{1,3} and case-insensitive contractions
};

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;     // skipped by decode when asked to skip specials
  bool lstrip = false;      // swallows whitespace on its left when matched
  bool rstrip = false;      // swallows whitespace on its right when matched
  bool normalized = false;  // matched against normalized text instead of raw
  bool single_word = false; // only matches at word boundaries
};

struct TokenizerData {
  TokenizerKind kind = TokenizerKind::kByteLevelBpe;
  SplitPattern split = SplitPattern::kNone;
  bool add_prefix_space = false;       // byte-level: prepend a space to the input
  // Metaspace: prepend U+2581 once at the start ("always"/"first" in HF terms).
  bool metaspace_prepend = false;
  bool byte_fallback = false;          // unknown pieces become <0xNN> tokens
  bool fuse_unk = false;
  int32_t unk_id = -1;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  std::vector<std::string> vocab;      // id -> token text exactly as in tokenizer.json
  std::vector<std::pair<int32_t, int32_t>> merges;  // in rank order: ids of left, right
  std::vector<AddedToken> added;       // matched before BPE
};

}  // namespace eidetic
