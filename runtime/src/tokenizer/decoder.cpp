#include "runtime/src/tokenizer/decoder.h"

#include "runtime/src/tokenizer/byte_level.h"
#include "runtime/src/tokenizer/normalizer.h"
#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<0xNN>" -> NN, as HF's ByteFallback reads it (u8::from_str_radix on the
// two characters, which also accepts "+N").
int parse_byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
  if (t[3] == '+' && lo >= 0) return lo;
  return hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
}

std::string metaspace_to_spaces(const std::string& t) {
  std::string out;
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, kMetaspace.size(), kMetaspace) == 0) {
      out += ' ';
      i += kMetaspace.size();
    } else {
      out += t[i++];
    }
  }
  return out;
}

}  // namespace

Detokenizer::Detokenizer(const TokenizerData& data)
    : byte_level_(data.kind == TokenizerKind::kByteLevelBpe),
      strip_leading_space_(data.kind == TokenizerKind::kMetaspaceBpe && data.metaspace_prepend),
      text_(data.vocab.size()),
      byte_(data.vocab.size(), -1),
      special_(data.vocab.size(), false) {
  for (size_t id = 0; id < data.vocab.size(); ++id) set_token(id, data.vocab[id]);
  for (const AddedToken& a : data.added) {
    if (a.id < 0 || static_cast<size_t>(a.id) >= special_.size()) continue;
    special_[a.id] = a.special;
    // Recent HF (checked with 0.23) hands the decoder the normalized form of a normalized added
    // token, e.g. "▁hello▁world" for "hello world", so it decodes as the
    // text it was matched in.
    std::string normalized;
    if (a.normalized && normalize(data, a.content, &normalized)) set_token(a.id, normalized);
  }
}

void Detokenizer::set_token(size_t id, const std::string& t) {
  if (byte_level_) {
    if (!byte_level::decode_token(t, &text_[id])) text_[id] = t;
  } else {
    byte_[id] = static_cast<int16_t>(parse_byte_token(t));
    text_[id] = metaspace_to_spaces(t);
  }
}

Status Detokenizer::check(const int32_t* ids, size_t n) const {
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= text_.size())
      return invalid_argument("token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                              " is outside the vocabulary of " + std::to_string(text_.size()));
  }
  return Status::ok();
}

void append_byte_run(std::string& out, const std::string& run) {
  if (unicode::is_valid_utf8(run)) {
    out += run;
    return;
  }
  for (size_t i = 0; i < run.size(); ++i) unicode::append_utf8(out, unicode::kReplacement);
}

std::string Detokenizer::decode(const int32_t* ids, size_t n, bool skip_special) const {
  std::string out, run;
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (skip_special && special_[id]) continue;
    if (byte_level_) {
      run += text_[id];
    } else if (byte_[id] >= 0) {
      run += static_cast<char>(byte_[id]);
    } else {
      append_byte_run(out, run);
      run.clear();
      out += text_[id];
    }
  }
  if (byte_level_) {
    unicode::append_lossy(out, run);
    return out;
  }
  append_byte_run(out, run);
  if (strip_leading_space_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

}  // namespace eidetic
