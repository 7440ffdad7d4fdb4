#include "runtime/src/tokenizer/stream_decoder.h"

#include "runtime/src/tokenizer/decoder.h"
#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {

StreamDecoder::StreamDecoder(std::shared_ptr<const void> owner, const Detokenizer* detokenizer, bool skip_special)
    : owner_(std::move(owner)), d_(detokenizer), skip_special_(skip_special) {}

// Applies the metaspace Strip to the first non-empty text of the stream,
// exactly where decode() strips the first character of the whole text.
std::string StreamDecoder::emit(std::string text) {
  if (at_start_ && !text.empty()) {
    at_start_ = false;
    if (d_->strips_leading_space() && text[0] == ' ') text.erase(0, 1);
  }
  return text;
}

Result<std::string> StreamDecoder::push(int32_t id) {
  EID_TRY(d_->check(&id, 1));
  if (skip_special_ && d_->is_special(id)) return std::string();
  if (d_->byte_level()) {
    pending_ += d_->text(id);
    const size_t keep = unicode::incomplete_tail(pending_);
    std::string out;
    unicode::append_lossy(out, std::string_view(pending_).substr(0, pending_.size() - keep));
    pending_.erase(0, pending_.size() - keep);
    return emit(std::move(out));
  }
  if (d_->byte_value(id) >= 0) {
    pending_ += static_cast<char>(d_->byte_value(id));
    return std::string();
  }
  std::string out;
  append_byte_run(out, pending_);
  pending_.clear();
  out += d_->text(id);
  return emit(std::move(out));
}

std::string StreamDecoder::flush() {
  std::string out;
  if (d_->byte_level()) {
    unicode::append_lossy(out, pending_);
  } else {
    append_byte_run(out, pending_);
  }
  out = emit(std::move(out));
  reset();
  return out;
}

void StreamDecoder::reset() {
  pending_.clear();
  at_start_ = true;
}

}  // namespace eidetic
