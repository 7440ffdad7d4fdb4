// One conversation with a model: its recurrent state (fixed size, allocated
// at creation), the logits of the last token (or its best candidates), and
// how many tokens it has seen. prefill and decode allocate nothing.
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
  // As prefill / decode, but the backend hands back only the k (1 .. vocab)
  // most likely next tokens, top_ids() / top_logits(), best first (TopK's
  // order): on a GPU the logits stay there. logits() is stale until
  // fetch_logits() reads them.
  Status prefill_top(const int32_t* ids, size_t n, size_t k);
  Status decode_top(int32_t id, size_t k) { return prefill_top(&id, 1, k); }
  const int32_t* top_ids() const { return top_ids_.data(); }
  const float* top_logits() const { return top_logits_.data(); }
  // Makes logits() current after prefill_top / decode_top (nothing to do otherwise).
  // (const: the logits are a cache of what the backend holds).
  Status fetch_logits() const;

  // The last token's logits, after prefill, decode, forward_all or fetch_logits.
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
  Status feed(const int32_t* ids, size_t n, const ForwardOutput& out);

  Model& model_;
  std::unique_ptr<BackendSession> backend_;
  mutable std::vector<float> logits_;
  std::vector<int32_t> top_ids_;  // [vocab]: room for any k
  std::vector<float> top_logits_;
  mutable bool logits_stale_ = false;  // the last pass handed back candidates only
  uint64_t n_past_ = 0;
};

}  // namespace eidetic
