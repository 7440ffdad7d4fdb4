// One encode() call: added tokens -> normalizer -> pre-tokenizer -> BPE,
// in the order HF `tokenizers` runs them, with reusable scratch buffers.
#pragma once

#include <string_view>
#include <vector>

#include "runtime/src/tokenizer/tokenizer_impl.h"

namespace eidetic {

class Encoder {
 public:
  // cache may be null (another thread holds it).
  Encoder(const Tokenizer::Impl& t, WordCache* cache, std::vector<int32_t>& out) : t_(t), cache_(cache), out_(out) {}

  // text must be valid UTF-8.
  void encode(std::string_view text, bool parse_special);

 private:
  void encode_segment(std::string_view segment, bool at_origin, bool parse_special);
  void encode_piece(std::string_view piece, bool at_origin);
  void encode_byte_level_word(std::string_view word);
  void encode_metaspace_word(std::string_view word);
  int32_t char_id(uint32_t cp) const;  // id of a one-character token, or -1

  const Tokenizer::Impl& t_;
  WordCache* cache_;
  std::vector<int32_t>& out_;
  std::vector<Segment> segments_, pieces_;
  std::vector<std::string_view> words_;
  std::vector<int32_t> symbols_;
};

}  // namespace eidetic
