// The one interface between the runtime core and a compute backend (CPU,
// Vulkan). The core hands a verified model file to a backend, which prepares
// everything that lives as long as the model (packed weights, pipelines) in an
// Executor. Each session then gets a BackendSession from it: the recurrent
// state plus the scratch memory of one forward pass, both sized and allocated
// once, so decoding never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/top_k.h"
#include "runtime/src/core/status.h"
#include "runtime/src/model/model_file.h"

namespace eidetic {

struct BackendOptions {
  int n_threads = 1;
  int device = 0;                // GPU index for GPU backends
  size_t max_batch_tokens = 64;  // prompt tokens per forward chunk (bounds scratch memory)
};

class BackendSession {
 public:
  virtual ~BackendSession() = default;
  virtual void reset() = 0;  // state back to zeros, as before the first token
  // Copy the recurrent state of another session of the same executor.
  virtual Status copy_state_from(const BackendSession& other) = 0;
  // The recurrent state as bytes (for saving) and back.
  virtual size_t state_bytes() const = 0;
  virtual Status read_state(void* dst, size_t bytes) const = 0;
  virtual Status write_state(const void* src, size_t bytes) = 0;
};

// What a forward pass hands back. With all_logits, the logits of every token
// ([n, vocab]) into `logits`. Otherwise only the last token's: its logits
// ([vocab]) into `logits`, or, when top.k > 0, just its top.k candidates
// (TopK's order) into `top`, so that a GPU sends k values to the host instead
// of the vocabulary's.
struct ForwardOutput {
  bool all_logits = false;
  float* logits = nullptr;
  TopK top;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual const char* backend_name() const = 0;
  // What computes, for benchmark reports: the CPU kernels' instruction sets,
  // or the GPU and the kernel forms its features chose.
  virtual std::string device() const = 0;
  virtual Result<std::unique_ptr<BackendSession>> create_session() = 0;
  // Run tokens[0, n) through the block stack, continuing from the session's
  // state, and hand back what `out` asks for. Token ids must be valid and
  // out.top.k at most the vocabulary (the caller checks both).
  virtual Status forward(BackendSession& session, const int32_t* tokens, size_t n, const ForwardOutput& out) = 0;
  // After a forward that handed back candidates only: its last token's
  // logits ([vocab]) after all, read from where the pass left them.
  virtual Status read_logits(BackendSession& session, float* logits) = 0;
};

// "cpu" (always available) or "vulkan" (when built with it and a device exists).
Result<std::unique_ptr<Executor>> create_executor(const std::string& backend, const ModelFile& model,
                                                  const BackendOptions& options);

// What each backend would run on, a line per device: "cpu: CPU, AVX2 kernels",
// "vulkan 0: NVIDIA H100 [discrete, Vulkan 1.3]", or "vulkan: " and why there
// is none (no loader, no driver, not built).
std::vector<std::string> list_devices();

}  // namespace eidetic
