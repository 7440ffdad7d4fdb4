// Token ids back to text, as HF `tokenizers`' decoders do it:
//  - byte-level: each token's characters stand for bytes (tokens with other
//    characters, e.g. added tokens, contribute their UTF-8 as is); the bytes
//    are joined and invalid UTF-8 becomes U+FFFD (String::from_utf8_lossy);
//  - metaspace: ▁ becomes ' '; a run of <0xNN> tokens becomes its bytes if
//    they are valid UTF-8, else one U+FFFD per byte (ByteFallback); all is
//    joined (Fuse) and one leading ' ' is stripped when the model prepends ▁
//    (Strip).
// Added tokens with normalized=true decode from their normalized form, as
// recent HF `tokenizers` does (checked with 0.23).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/src/core/status.h"
#include "runtime/src/tokenizer/tokenizer_data.h"

namespace eidetic {

class Detokenizer {
 public:
  explicit Detokenizer(const TokenizerData& data);

  size_t size() const { return text_.size(); }
  bool byte_level() const { return byte_level_; }
  bool strips_leading_space() const { return strip_leading_space_; }
  bool is_special(int32_t id) const { return special_[id]; }
  // Byte value of a metaspace <0xNN> token, or -1.
  int byte_value(int32_t id) const { return byte_[id]; }
  // Byte-level: the token's bytes. Metaspace: its text with ▁ as ' '.
  const std::string& text(int32_t id) const { return text_[id]; }

  // An error naming the first id outside [0, size()).
  Status check(const int32_t* ids, size_t n) const;

  // Decodes ids already checked by check().
  std::string decode(const int32_t* ids, size_t n, bool skip_special) const;

 private:
  void set_token(size_t id, const std::string& text);

  bool byte_level_;
  bool strip_leading_space_;
  std::vector<std::string> text_;
  std::vector<int16_t> byte_;
  std::vector<bool> special_;
};

// ByteFallback's rule for a finished run of <0xNN> bytes.
void append_byte_run(std::string& out, const std::string& run);

}  // namespace eidetic
