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
  kLlama3 = 2,  // Llama-3 pattern with \p{N}{1,3} and case-insensitive contractions
  kQwen2 = 3,   // the Llama-3 pattern with single digits (\p{N}), as Qwen2 / Qwen3 ship it
};

// Where U+2581 comes from in a metaspace model. HF has two spellings that
// differ on a leading space (" Hi": "▁▁Hi" vs "▁Hi") and on text following an
// added token (prepended again or not).
enum class MetaspaceMode : uint8_t {
  // normalizers Prepend("▁") (iff metaspace_prepend) + Replace(" ", "▁"):
  // every segment between added tokens gets ▁ prepended unconditionally.
  kNormalizer = 0,
  // Metaspace pre-tokenizer: spaces replaced, then ▁ prepended (iff
  // metaspace_prepend) only if the piece does not already start with one;
  // "first": only to the piece at the very start of the input. HF's
  // prepend_scheme "never" is either mode with metaspace_prepend false.
  kPreTokenizerFirst = 1,
  kPreTokenizerAlways = 2,
};

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;      // skipped by decode when asked to skip specials
  bool lstrip = false;       // swallows whitespace on its left when matched
  bool rstrip = false;       // swallows whitespace on its right when matched
  bool normalized = false;   // matched against normalized text instead of raw
  bool single_word = false;  // only matches at word boundaries
};

struct TokenizerData {
  TokenizerKind kind = TokenizerKind::kByteLevelBpe;
  SplitPattern split = SplitPattern::kNone;
  bool add_prefix_space = false;  // byte-level: prepend a space to the input
  // Metaspace: prepend U+2581 (how and where: metaspace_mode). Also decides
  // whether decode strips the one leading space that prepending produced.
  bool metaspace_prepend = false;
  bool byte_fallback = false;  // unknown pieces become <0xNN> tokens
  bool fuse_unk = false;
  bool ignore_merges = false;  // a word that is itself in the vocab skips merging (Llama-3)
  bool nfc = false;            // NFC normalizer before everything else (GPT-NeoX)
  MetaspaceMode metaspace_mode = MetaspaceMode::kNormalizer;
  int32_t unk_id = -1;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  std::vector<std::string> vocab;                   // id -> token text exactly as in tokenizer.json
  std::vector<std::pair<int32_t, int32_t>> merges;  // in rank order: ids of left, right
  std::vector<AddedToken> added;                    // matched before BPE
};

}  // namespace eidetic
