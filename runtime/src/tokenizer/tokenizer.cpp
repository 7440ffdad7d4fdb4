#include "runtime/src/tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "runtime/src/tokenizer/byte_level.h"
#include "runtime/src/tokenizer/encoder.h"
#include "runtime/src/tokenizer/normalizer.h"
#include "runtime/src/tokenizer/tokenizer_impl.h"
#include "runtime/src/tokenizer/unicode.h"

namespace eidetic {
namespace {

bool id_ok(int32_t id, size_t n) { return id >= 0 && static_cast<size_t>(id) < n; }

Status check_enums(const TokenizerData& d) {
  if (d.kind != TokenizerKind::kByteLevelBpe && d.kind != TokenizerKind::kMetaspaceBpe)
    return invalid_model("tokenizer kind " + std::to_string(int(d.kind)) + " is unknown");
  if (static_cast<int>(d.split) > static_cast<int>(SplitPattern::kQwen2))
    return invalid_model("tokenizer split pattern " + std::to_string(int(d.split)) + " is unknown");
  if (static_cast<int>(d.metaspace_mode) > static_cast<int>(MetaspaceMode::kPreTokenizerAlways))
    return invalid_model("tokenizer metaspace mode " + std::to_string(int(d.metaspace_mode)) + " is unknown");
  if (d.kind == TokenizerKind::kMetaspaceBpe && d.split != SplitPattern::kNone)
    return unsupported("a metaspace tokenizer with a split pattern is not supported");
  return Status::ok();
}

Status check_ids(const TokenizerData& d) {
  const size_t n = d.vocab.size();
  if (n == 0) return invalid_model("tokenizer vocabulary is empty");
  for (size_t id = 0; id < n; ++id)
    if (!unicode::is_valid_utf8(d.vocab[id]))
      return invalid_model("tokenizer token " + std::to_string(id) + " is not valid UTF-8");
  for (int32_t id : {d.unk_id, d.bos_id, d.eos_id})
    if (id != -1 && !id_ok(id, n))
      return invalid_model("tokenizer special id " + std::to_string(id) + " is out of range");
  for (const AddedToken& a : d.added) {
    if (!id_ok(a.id, n)) return invalid_model("added token id " + std::to_string(a.id) + " is out of range");
    if (a.content != d.vocab[a.id])
      return invalid_model("added token \"" + a.content + "\" differs from vocab entry " + std::to_string(a.id));
  }
  return Status::ok();
}

void build_vocab_maps(Tokenizer::Impl& t) {
  const auto& vocab = t.data.vocab;
  t.vocab_ids.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id)
    t.vocab_ids.emplace(vocab[id], static_cast<int32_t>(id));  // emplace keeps the first
  for (const AddedToken& a : t.data.added) t.added_ids.emplace(t.data.vocab[a.id], a.id);
  std::fill(std::begin(t.ascii_ids), std::end(t.ascii_ids), -1);
  for (const auto& [text, id] : t.vocab_ids) {
    const unicode::Utf8Step step = unicode::decode_utf8(text, 0);
    if (step.length != text.size()) continue;  // not a single character
    if (step.cp < 128) {
      t.ascii_ids[step.cp] = id;
    } else {
      t.char_ids.put(step.cp, static_cast<uint64_t>(id));
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = t.vocab_ids.find(name);
    t.byte_token_ids[b] = it == t.vocab_ids.end() ? -1 : it->second;
  }
}

void build_byte_level(Tokenizer::Impl& t) {
  for (int b = 0; b < 256; ++b) {
    t.byte_chars[b].clear();
    unicode::append_utf8(t.byte_chars[b], byte_level::byte_to_char(static_cast<uint8_t>(b)));
    auto it = t.vocab_ids.find(t.byte_chars[b]);
    t.byte_char_ids[b] = it == t.vocab_ids.end() ? -1 : it->second;
  }
  if (!t.data.ignore_merges) return;
  // Keys view raw_tokens, so it must not reallocate once filled.
  t.raw_tokens.resize(t.data.vocab.size());
  for (size_t id = 0; id < t.data.vocab.size(); ++id) {
    if (byte_level::decode_token(t.data.vocab[id], &t.raw_tokens[id]))
      t.raw_ids.emplace(t.raw_tokens[id], static_cast<int32_t>(id));
  }
}

// Added-token patterns: those matched on normalized text are normalized
// themselves, as HF does when it builds its normalized trie.
void build_matchers(Tokenizer::Impl& t) {
  std::vector<AddedPattern> raw, normalized;
  for (const AddedToken& a : t.data.added) {
    AddedPattern p{a.content, a.id, a.special, a.lstrip, a.rstrip, a.single_word};
    if (a.normalized) {
      std::string n;
      if (normalize(t.data, a.content, &n)) p.text = n;
      normalized.push_back(std::move(p));
    } else {
      raw.push_back(std::move(p));
    }
  }
  t.raw_matcher = AddedTokenMatcher(raw);
  t.normalized_matcher = AddedTokenMatcher(normalized);
}

}  // namespace

Result<Tokenizer> Tokenizer::create(TokenizerData data) {
  EID_TRY(check_enums(data));
  EID_TRY(check_ids(data));
  auto t = std::make_shared<Impl>(std::move(data));
  build_vocab_maps(*t);
  if (t->data.kind == TokenizerKind::kByteLevelBpe) build_byte_level(*t);
  build_matchers(*t);
  EID_TRY(t->merges.init(t->data.vocab, t->data.merges, t->vocab_ids));
  t->symbols.byte_fallback = t->data.byte_fallback;
  t->symbols.fuse_unk = t->data.fuse_unk;
  t->symbols.unk_id = t->data.unk_id;
  t->symbols.byte_ids = t->byte_token_ids;
  return Tokenizer(std::move(t));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  std::string repaired;
  if (!unicode::is_valid_utf8(text)) {
    unicode::append_lossy(repaired, text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  std::unique_lock<std::mutex> lock(impl_->cache_mutex, std::try_to_lock);
  Encoder encoder(*impl_, lock.owns_lock() ? &impl_->cache : nullptr, ids);
  encoder.encode(text, parse_special);
  return ids;
}

Result<std::string> Tokenizer::decode(const int32_t* ids, size_t n, bool skip_special) const {
  EID_TRY(impl_->detokenizer.check(ids, n));
  return impl_->detokenizer.decode(ids, n, skip_special);
}

StreamDecoder Tokenizer::stream_decoder(bool skip_special) const {
  return StreamDecoder(impl_, &impl_->detokenizer, skip_special);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->data.vocab.size()); }
int32_t Tokenizer::bos_id() const { return impl_->data.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->data.eos_id; }
int32_t Tokenizer::unk_id() const { return impl_->data.unk_id; }
const TokenizerData& Tokenizer::data() const { return impl_->data; }

bool Tokenizer::is_special(int32_t id) const {
  return id_ok(id, impl_->data.vocab.size()) && impl_->detokenizer.is_special(id);
}

Result<std::string> Tokenizer::token_text(int32_t id) const {
  if (!id_ok(id, impl_->data.vocab.size()))
    return invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary");
  return impl_->data.vocab[id];
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->added_ids.find(token);
  if (it != impl_->added_ids.end()) return it->second;
  it = impl_->vocab_ids.find(token);
  return it == impl_->vocab_ids.end() ? -1 : it->second;
}

}  // namespace eidetic
