#include "runtime/src/session/session.h"

namespace eidetic {

Result<std::unique_ptr<Session>> Session::create(Model& model) {
  std::unique_ptr<Session> s(new Session(model));
  EID_ASSIGN_OR_RETURN(s->backend_, model.executor().create_session());
  s->logits_.assign(model.vocab_size(), 0.0f);
  s->top_ids_.assign(model.vocab_size(), 0);
  s->top_logits_.assign(model.vocab_size(), 0.0f);
  return s;
}

Status Session::check_ids(const int32_t* ids, size_t n) const {
  if (n == 0) return invalid_argument("no tokens given");
  if (!ids) return invalid_argument("token array is null");
  const int64_t vocab = model_.vocab_size();
  for (size_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      return invalid_argument("token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                              " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
  return Status::ok();
}

Status Session::feed(const int32_t* ids, size_t n, const ForwardOutput& out) {
  EID_TRY(check_ids(ids, n));
  EID_TRY(model_.executor().forward(*backend_, ids, n, out));
  logits_stale_ = out.top.k > 0;
  n_past_ += n;
  return Status::ok();
}

Status Session::prefill(const int32_t* ids, size_t n) {
  ForwardOutput out;
  out.logits = logits_.data();
  return feed(ids, n, out);
}

Status Session::prefill_top(const int32_t* ids, size_t n, size_t k) {
  if (k < 1 || k > model_.vocab_size())
    return invalid_argument("top-k of " + std::to_string(k) + " outside [1, " + std::to_string(model_.vocab_size()) +
                            "]");
  ForwardOutput out;
  out.top = {k, top_ids_.data(), top_logits_.data()};
  return feed(ids, n, out);
}

Status Session::fetch_logits() const {
  if (!logits_stale_) return Status::ok();
  EID_TRY(model_.executor().read_logits(*backend_, logits_.data()));
  logits_stale_ = false;
  return Status::ok();
}

Status Session::forward_all(const int32_t* ids, size_t n, float* logits) {
  if (!logits) return invalid_argument("logits buffer is null");
  ForwardOutput out;
  out.all_logits = true;
  out.logits = logits;
  EID_TRY(feed(ids, n, out));
  const size_t vocab = model_.vocab_size();
  std::copy(logits + (n - 1) * vocab, logits + n * vocab, logits_.begin());
  return Status::ok();
}

void Session::reset() {
  backend_->reset();
  std::fill(logits_.begin(), logits_.end(), 0.0f);
  logits_stale_ = false;
  n_past_ = 0;
}

Status Session::copy_from(const Session& other) {
  if (&other.model_ != &model_) return invalid_argument("cannot copy state between sessions of different models");
  EID_TRY(backend_->copy_state_from(*other.backend_));
  EID_TRY(other.fetch_logits());
  logits_ = other.logits_;
  logits_stale_ = false;
  n_past_ = other.n_past_;
  return Status::ok();
}

}  // namespace eidetic
