#include "runtime/src/session/session.h"

namespace eidetic {

Result<std::unique_ptr<Session>> Session::create(Model& model) {
  std::unique_ptr<Session> s(new Session(model));
  EID_ASSIGN_OR_RETURN(s->backend_, model.executor().create_session());
  s->logits_.assign(model.vocab_size(), 0.0f);
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

Status Session::prefill(const int32_t* ids, size_t n) {
  EID_TRY(check_ids(ids, n));
  EID_TRY(model_.executor().forward(*backend_, ids, n, logits_.data(), false));
  n_past_ += n;
  return Status::ok();
}

Status Session::forward_all(const int32_t* ids, size_t n, float* logits) {
  EID_TRY(check_ids(ids, n));
  if (!logits) return invalid_argument("logits buffer is null");
  EID_TRY(model_.executor().forward(*backend_, ids, n, logits, true));
  const size_t vocab = model_.vocab_size();
  std::copy(logits + (n - 1) * vocab, logits + n * vocab, logits_.begin());
  n_past_ += n;
  return Status::ok();
}

void Session::reset() {
  backend_->reset();
  std::fill(logits_.begin(), logits_.end(), 0.0f);
  n_past_ = 0;
}

Status Session::copy_from(const Session& other) {
  if (&other.model_ != &model_) return invalid_argument("cannot copy state between sessions of different models");
  EID_TRY(backend_->copy_state_from(*other.backend_));
  logits_ = other.logits_;
  n_past_ = other.n_past_;
  return Status::ok();
}

}  // namespace eidetic
