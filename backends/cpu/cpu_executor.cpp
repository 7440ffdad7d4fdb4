#include "backends/cpu/cpu_executor.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/blocks/cpu_block.h"
#include "backends/cpu/kernels/kernels.h"

namespace eidetic::cpu {
namespace {

class CpuSession : public BackendSession {
 public:
  CpuSession(size_t state_floats, size_t h_floats, size_t scratch_floats, size_t vocab)
      : state_(state_floats, 0.0f), h_(h_floats), scratch_(scratch_floats), logits_(vocab), rank_(vocab) {}

  void reset() override { std::fill(state_.begin(), state_.end(), 0.0f); }
  Status copy_state_from(const BackendSession& other) override {
    const auto* o = dynamic_cast<const CpuSession*>(&other);
    if (!o || o->state_.size() != state_.size()) return invalid_argument("sessions belong to different models");
    std::copy(o->state_.begin(), o->state_.end(), state_.begin());
    return Status::ok();
  }
  size_t state_bytes() const override { return state_.size() * sizeof(float); }
  Status read_state(void* dst, size_t bytes) const override {
    if (bytes != state_bytes()) return invalid_argument("state buffer size does not match the model's state");
    std::memcpy(dst, state_.data(), bytes);
    return Status::ok();
  }
  Status write_state(const void* src, size_t bytes) override {
    if (bytes != state_bytes()) return invalid_argument("state buffer size does not match the model's state");
    std::memcpy(state_.data(), src, bytes);
    return Status::ok();
  }

  std::vector<float> state_, h_, scratch_;
  std::vector<float> logits_;   // the last token's, when only candidates are handed back
  std::vector<uint64_t> rank_;  // select_top_k's scratch
};

class CpuExecutor : public Executor {
 public:
  CpuExecutor(const ModelFile& file, const BackendOptions& options) : file_(file), options_(options) {}
  ~CpuExecutor() override {
    if (pool_) pthreadpool_destroy(pool_);
  }

  Status init() {
    layout_ = compute_state_layout(file_.model());
    if (options_.n_threads > 1) {
      pool_ = pthreadpool_create(size_t(options_.n_threads));
      if (!pool_) return Status(Code::kBackendError, "cannot create a thread pool");
    }
    const auto& blocks = *file_.model().blocks();
    for (unsigned i = 0; i < blocks.size(); ++i) {
      EID_ASSIGN_OR_RETURN(auto block, make_cpu_block(file_, int(i), layout_));
      scratch_floats_ = std::max(scratch_floats_, block->scratch_floats(options_.max_batch_tokens));
      blocks_.push_back(std::move(block));
    }
    return Status::ok();
  }

  const char* backend_name() const override { return "cpu"; }
  std::string device() const override { return cpu_device(); }

  Result<std::unique_ptr<BackendSession>> create_session() override {
    const size_t h = options_.max_batch_tokens * file_.model().hidden_size() + kScratchPad;
    return std::unique_ptr<BackendSession>(
        new CpuSession(layout_.total_floats, h, scratch_floats_, file_.model().vocab_size()));
  }

  // Long prompts run in chunks of max_batch_tokens: the state carries across
  // chunks exactly as across single tokens, and scratch memory stays bounded.
  // Candidates are selected from the session's own copy of the logits.
  Status forward(BackendSession& session, const int32_t* tokens, size_t n, const ForwardOutput& out) override {
    auto& s = static_cast<CpuSession&>(session);
    const size_t vocab = file_.model().vocab_size();
    const bool all_logits = out.all_logits;
    float* logits = out.top.k && !all_logits ? s.logits_.data() : out.logits;
    for (size_t start = 0; start < n; start += options_.max_batch_tokens) {
      CpuPass pass;
      pass.tokens = tokens + start;
      pass.n = std::min(options_.max_batch_tokens, n - start);
      pass.h = s.h_.data();
      pass.all_logits = all_logits;
      pass.logits = all_logits ? logits + start * vocab : logits;
      pass.state = s.state_.data();
      pass.scratch = s.scratch_.data();
      pass.pool = pool_;
      const bool last_chunk = start + pass.n == n;
      for (size_t b = 0; b < blocks_.size(); ++b) {
        // Only the final chunk needs the head when just the last logits are asked for.
        if (b + 1 == blocks_.size() && !all_logits && !last_chunk) break;
        EID_TRY(blocks_[b]->run(pass));
      }
    }
    if (out.top.k && !all_logits) select_top_k(logits, vocab, out.top, s.rank_.data());
    return Status::ok();
  }

  Status read_logits(BackendSession& session, float* logits) override {
    const auto& s = static_cast<CpuSession&>(session);
    std::copy(s.logits_.begin(), s.logits_.end(), logits);
    return Status::ok();
  }

 private:
  const ModelFile& file_;
  BackendOptions options_;
  StateLayout layout_;
  pthreadpool_t pool_ = nullptr;
  std::vector<std::unique_ptr<CpuBlock>> blocks_;
  size_t scratch_floats_ = 0;
};

}  // namespace

std::string cpu_device() { return std::string("CPU, ") + kernel_isa() + " kernels"; }

Result<std::unique_ptr<Executor>> create_cpu_executor(const ModelFile& model, const BackendOptions& options) {
  if (options.n_threads < 1 || options.n_threads > 256) return invalid_argument("n_threads must be 1 to 256");
  if (options.max_batch_tokens < 1) return invalid_argument("max_batch_tokens must be at least 1");
  auto ex = std::make_unique<CpuExecutor>(model, options);
  EID_TRY(ex->init());
  return std::unique_ptr<Executor>(std::move(ex));
}

}  // namespace eidetic::cpu
