#include "runtime/src/tokenizer/encoder.h"

#include "runtime/src/tokenizer/normalizer.h"
#include "runtime/src/tokenizer/pre_tokenizer.h"
#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {

// Pass 1: added tokens that match the raw text (normalized == false).
void Encoder::encode(std::string_view text, bool parse_special) {
  segments_.clear();
  t_.raw_matcher.split(text, parse_special, segments_);
  for (const Segment& s : segments_) {  // pass 2 uses pieces_, not segments_
    if (s.id >= 0) {
      out_.push_back(s.id);
    } else {
      encode_segment(text.substr(s.begin, s.end - s.begin), s.begin == 0, parse_special);
    }
  }
}

// Pass 2: normalize the segment, then find the added tokens that match
// normalized text (normalized == true).
void Encoder::encode_segment(std::string_view segment, bool at_origin, bool parse_special) {
  std::string normalized;
  if (normalize(t_.data, segment, &normalized)) segment = normalized;
  pieces_.clear();
  t_.normalized_matcher.split(segment, parse_special, pieces_);
  for (const Segment& p : pieces_) {
    if (p.id >= 0) {
      out_.push_back(p.id);
    } else {
      encode_piece(segment.substr(p.begin, p.end - p.begin), at_origin && p.begin == 0);
    }
  }
}

// The pre-tokenizer, then the model on each word.
void Encoder::encode_piece(std::string_view piece, bool at_origin) {
  const TokenizerData& d = t_.data;
  if (d.kind == TokenizerKind::kMetaspaceBpe) {
    if (d.metaspace_mode == MetaspaceMode::kNormalizer) return encode_metaspace_word(piece);
    const bool prepend = d.metaspace_prepend && (d.metaspace_mode == MetaspaceMode::kPreTokenizerAlways || at_origin);
    return encode_metaspace_word(metaspace_pre_tokenize(piece, prepend));
  }
  std::string prefixed;
  if (d.add_prefix_space && piece[0] != ' ') {
    prefixed = " ";
    prefixed += piece;
    piece = prefixed;
  }
  words_.clear();
  pre_tokenize(d.split, piece, words_);
  for (std::string_view w : words_) encode_byte_level_word(w);
}

// A word of raw bytes: each byte starts as the token of the character that
// stands for it, then merges apply.
void Encoder::encode_byte_level_word(std::string_view word) {
  if (cache_ != nullptr && cache_->find(word, out_)) return;
  symbols_.clear();
  const auto whole = t_.data.ignore_merges ? t_.raw_ids.find(word) : t_.raw_ids.end();
  if (whole != t_.raw_ids.end()) {
    symbols_.push_back(whole->second);
  } else {
    SymbolBuilder b(t_.symbols, symbols_);
    for (char c : word) {
      const auto byte = static_cast<uint8_t>(c);
      if (t_.byte_char_ids[byte] >= 0) {
        b.add_known(t_.byte_char_ids[byte]);
      } else {
        b.add_unknown(t_.byte_chars[byte]);
      }
    }
    b.finish();
    t_.merges.apply(symbols_);
  }
  out_.insert(out_.end(), symbols_.begin(), symbols_.end());
  if (cache_ != nullptr) cache_->insert(word, symbols_);
}

int32_t Encoder::char_id(uint32_t cp) const {
  if (cp < 128) return t_.ascii_ids[cp];
  const uint64_t* id = t_.char_ids.find(cp);
  return id ? static_cast<int32_t>(*id) : -1;
}

// A metaspace word (the whole normalized piece: merges may cross ▁): each
// character starts as its own token, or falls back to bytes / unk.
void Encoder::encode_metaspace_word(std::string_view word) {
  if (t_.data.ignore_merges) {
    auto it = t_.vocab_ids.find(word);
    if (it != t_.vocab_ids.end()) {
      out_.push_back(it->second);
      return;
    }
  }
  symbols_.clear();
  SymbolBuilder b(t_.symbols, symbols_);
  for (size_t i = 0; i < word.size();) {
    const auto byte = static_cast<uint8_t>(word[i]);
    size_t length = 1;
    int32_t id;
    if (byte < 0x80) {  // ASCII inline: most text is
      id = t_.ascii_ids[byte];
    } else {
      const unicode::Utf8Step step = unicode::decode_utf8(word, i);
      length = step.length;
      id = char_id(step.cp);
    }
    if (id >= 0) {
      b.add_known(id);
    } else {
      b.add_unknown(word.substr(i, length));
    }
    i += length;
  }
  b.finish();
  t_.merges.apply(symbols_);
  out_.insert(out_.end(), symbols_.begin(), symbols_.end());
}

}  // namespace eidetic
