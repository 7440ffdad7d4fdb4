// One conversation with a model: its recurrent state (fixed size, allocated
// at creation), the logits of the last token, and how many tokens it has seen.
// prefill and decode allocate nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/src/session/model.h"

namespace eidetic {

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(Model& model);

  // Feed tokens; afterwards logits() holds the prediction for the next one.
  Status prefill(const int32_t* ids, size_t n);
  Status decode(int32_t id) { return prefill(&id, 1); }
  // Feed tokens and write the logits of every position ([n, vocab]).
  Status forward_all(const int32_t* ids, size_t n, float* logits);

  const float* logits() const { return logits_.data(); }
  bool has_logits() const { return n_past_ > 0; }
  uint64_t n_past() const { return n_past_; }
  Model& model() { return model_; }

  void reset();
  Status copy_from(const Session& other);
  BackendSession& backend_session() { return *backend_; }

 private:
  explicit Session(Model& model) : model_(model) {}
  Status check_ids(const int32_t* ids, size_t n) const;

  Model& model_;
  std::unique_ptr<BackendSession> backend_;
  std::vector<float> logits_;
  uint64_t n_past_ = 0;
};

}  // namespace eidetic
