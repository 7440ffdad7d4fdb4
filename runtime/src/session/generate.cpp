#include "runtime/src/session/generate.h"

#include <chrono>

namespace eidetic {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Status generate(Session& session, Sampler& sampler, const std::vector<int32_t>& prompt, size_t max_tokens,
                const TokenFn& on_token, GenerateStats* stats) {
  const Tokenizer* tok = session.model().tokenizer();
  if (!tok) return unsupported("this model file carries no tokenizer, so it cannot stream text");
  if (prompt.empty()) return invalid_argument("the prompt is empty (it must hold at least one token)");
  GenerateStats local;
  GenerateStats& st = stats ? *stats : local;
  st = GenerateStats{};

  // Each step asks the backend for only the candidates the sampler needs
  // (the full logits when it needs the whole distribution).
  size_t k = 0;
  auto feed = [&](const int32_t* ids, size_t n) {
    k = sampler.candidates_needed();
    return k ? session.prefill_top(ids, n, k) : session.prefill(ids, n);
  };
  auto t0 = std::chrono::steady_clock::now();
  for (int32_t id : prompt) sampler.accept(id);
  EID_TRY(feed(prompt.data(), prompt.size()));
  st.prefill_seconds = seconds_since(t0);
  st.prompt_tokens = prompt.size();

  StreamDecoder stream = tok->stream_decoder();
  const int32_t eos = session.model().eos_id();
  t0 = std::chrono::steady_clock::now();
  Status result = Status::ok();
  for (size_t i = 0; i < max_tokens; ++i) {
    const int32_t next =
        k ? sampler.sample_top(session.top_ids(), session.top_logits(), k) : sampler.sample(session.logits());
    sampler.accept(next);
    if (next == eos) break;
    EID_ASSIGN_OR_RETURN(std::string text, stream.push(next));
    ++st.generated_tokens;
    if (!on_token(next, text)) {
      result = Status(Code::kCancelled, "generation stopped by the callback");
      break;
    }
    EID_TRY(feed(&next, 1));
  }
  st.decode_seconds = seconds_since(t0);
  EID_TRY(session.fetch_logits());  // the session's logits() stay valid for the caller
  const std::string rest = stream.flush();
  if (!rest.empty() && result.is_ok()) on_token(-1, rest);
  return result;
}

}  // namespace eidetic
