// The tables a Tokenizer is made of, shared by its copies and its stream
// decoders. Internal to the tokenizer's .cpp files.
#pragma once

#include <mutex>
#include <string_view>
#include <unordered_map>

#include "runtime/src/tokenizer/added_tokens.h"
#include "runtime/src/tokenizer/bpe.h"
#include "runtime/src/tokenizer/decoder.h"
#include "runtime/src/tokenizer/flat_map.h"
#include "runtime/src/tokenizer/tokenizer.h"
#include "runtime/src/tokenizer/word_cache.h"

namespace eidetic {

struct Tokenizer::Impl {
  explicit Impl(TokenizerData d) : data(std::move(d)), detokenizer(data) {}

  TokenizerData data;
  // Token text -> id over the whole vocabulary (the lowest id on repeats);
  // the keys view data.vocab, which never changes after create().
  std::unordered_map<std::string_view, int32_t> vocab_ids;
  // Added token content -> id: they take precedence in token_to_id().
  std::unordered_map<std::string_view, int32_t> added_ids;
  // Byte-level with ignore_merges: raw bytes of a token -> id.
  std::vector<std::string> raw_tokens;
  std::unordered_map<std::string_view, int32_t> raw_ids;

  // Metaspace: id of each one-character token, by code point (ASCII flat).
  int32_t ascii_ids[128];
  FlatU64Map char_ids;

  int32_t byte_char_ids[256];   // byte-level: id of the character standing for byte b
  std::string byte_chars[256];  // byte-level: that character's UTF-8
  int32_t byte_token_ids[256];  // id of "<0xNN>", -1 when absent
  SymbolBuilder::Options symbols;

  BpeMerges merges;
  AddedTokenMatcher raw_matcher;         // added tokens matched on the input text
  AddedTokenMatcher normalized_matcher;  // ... and on normalized text
  Detokenizer detokenizer;

  // One encode() at a time uses the cache; concurrent callers go without.
  mutable std::mutex cache_mutex;
  mutable WordCache cache;
};

}  // namespace eidetic
