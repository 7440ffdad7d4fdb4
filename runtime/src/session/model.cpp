#include "runtime/src/session/model.h"

namespace eidetic {

TokenizerData read_tokenizer_data(const fb::Tokenizer& t) {
  TokenizerData d;
  d.kind = TokenizerKind(t.kind());
  d.split = SplitPattern(t.split());
  d.add_prefix_space = t.add_prefix_space();
  d.metaspace_prepend = t.metaspace_prepend();
  d.byte_fallback = t.byte_fallback();
  d.fuse_unk = t.fuse_unk();
  d.ignore_merges = t.ignore_merges();
  d.nfc = t.nfc();
  d.metaspace_mode = MetaspaceMode(t.metaspace_mode());
  d.unk_id = t.unk_id();
  d.bos_id = t.bos_id();
  d.eos_id = t.eos_id();
  d.vocab.reserve(t.vocab()->size());
  for (const auto* s : *t.vocab()) d.vocab.emplace_back(s->str());
  if (t.merge_left())
    for (unsigned i = 0; i < t.merge_left()->size(); ++i)
      d.merges.emplace_back(t.merge_left()->Get(i), t.merge_right()->Get(i));
  if (t.added())
    for (const auto* a : *t.added())
      d.added.push_back(
          {a->id(), a->content()->str(), a->special(), a->lstrip(), a->rstrip(), a->normalized(), a->single_word()});
  return d;
}

Result<std::unique_ptr<Model>> Model::load(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<Model> m(new Model());
  EID_ASSIGN_OR_RETURN(m->file_, ModelFile::open(path));
  if (const fb::Tokenizer* t = m->file_->model().tokenizer()) {
    auto tok = Tokenizer::create(read_tokenizer_data(*t));
    if (!tok) return Status(tok.status().code(), path + ": tokenizer: " + tok.status().message());
    m->tokenizer_.emplace(std::move(tok).value());
  }
  m->layout_ = compute_state_layout(m->file_->model());
  EID_ASSIGN_OR_RETURN(m->executor_, create_executor(options.backend, *m->file_, options.backend_options));
  return m;
}

int32_t Model::bos_id() const {
  const fb::Tokenizer* t = file_->model().tokenizer();
  return t ? t->bos_id() : -1;
}

int32_t Model::eos_id() const {
  const fb::Tokenizer* t = file_->model().tokenizer();
  return t ? t->eos_id() : -1;
}

}  // namespace eidetic
