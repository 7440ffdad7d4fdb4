// The generation loop shared by the C API and the samples: prefill a prompt,
// then sample → stream text → decode, until max_tokens, end of sequence, or the
// callback says stop. Where the sampler can work from the top candidates
// (Sampler::candidates_needed), only those come back from the backend.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "runtime/src/sampling/sampler.h"
#include "runtime/src/session/session.h"

namespace eidetic {

// Called per generated token with the text it completes (empty while a UTF-8
// character is incomplete); a last call with token -1 delivers any held-back
// bytes. Return false to stop (generate then returns kCancelled).
using TokenFn = std::function<bool(int32_t token, std::string_view text)>;

struct GenerateStats {
  size_t prompt_tokens = 0, generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

Status generate(Session& session, Sampler& sampler, const std::vector<int32_t>& prompt, size_t max_tokens,
                const TokenFn& on_token, GenerateStats* stats);

}  // namespace eidetic
