// The tokenizer of a model: byte-level BPE (GPT-2 / GPT-NeoX / Llama-3 /
// Qwen) or metaspace BPE with byte fallback (Llama / Mistral), with added
// and special tokens, reproducing Hugging Face `tokenizers` (encode with
// add_special_tokens=False, decode) id for id.
//
// Invalid UTF-8 input: encode() never fails. Each maximal invalid byte
// sequence is replaced by U+FFFD before tokenizing (the WHATWG rule, the
// same as Python's bytes.decode(errors="replace")), so encode(text) equals
// HF's encode of the repaired text.
//
// A Tokenizer is immutable after create() and cheap to copy (copies share
// the tables); encode/decode may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/src/core/status.h"
#include "runtime/src/tokenizer/stream_decoder.h"
#include "runtime/src/tokenizer/tokenizer_data.h"

namespace eidetic {

class Tokenizer {
 public:
  // Validates the data (ids in range, merges resolvable, UTF-8 vocab, added
  // tokens matching the vocab) and builds the lookup tables.
  static Result<Tokenizer> create(TokenizerData data);

  // Text to ids. parse_special: special added tokens written in the text
  // ("<|endoftext|>") become their ids; when false their text is tokenized
  // like any other text (use this for untrusted input). Non-special added
  // tokens are matched either way, as HF does.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;

  // Ids to text; skip_special drops special added tokens. An id outside
  // [0, vocab_size()) is an error.
  Result<std::string> decode(const int32_t* ids, size_t n, bool skip_special = false) const;
  Result<std::string> decode(const std::vector<int32_t>& ids, bool skip_special = false) const {
    return decode(ids.data(), ids.size(), skip_special);
  }

  // A decoder for generated ids, one at a time (see stream_decoder.h). It
  // keeps this tokenizer's tables alive.
  StreamDecoder stream_decoder(bool skip_special = false) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;  // -1 when none
  int32_t eos_id() const;
  int32_t unk_id() const;
  bool is_special(int32_t id) const;  // false for ids out of range
  // The token's text as in tokenizer.json; an error for ids out of range.
  Result<std::string> token_text(int32_t id) const;
  // The id of a vocabulary token or added token, or -1.
  int32_t token_to_id(std::string_view token) const;
  const TokenizerData& data() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace eidetic
