// The C API over the C++ runtime: handles wrap C++ objects, every Status
// becomes an eidetic_status plus a thread-local message, and nothing throws
// across the boundary (allocation failure included).
#include <cstring>
#include <new>
#include <string>

#include "eidetic.h"
#include "runtime/src/session/generate.h"

struct eidetic_model {
  std::unique_ptr<eidetic::Model> model;
  std::string device;  // eidetic_model_device's answer, made at load
};
struct eidetic_session {
  eidetic_model* owner;
  std::unique_ptr<eidetic::Session> session;
};
struct eidetic_sampler {
  eidetic::Sampler sampler;
};

namespace {

using eidetic::Code;
using eidetic::Status;

thread_local std::string g_last_error;

eidetic_status fail(eidetic_status code, std::string message) {
  g_last_error = std::move(message);
  return code;
}

eidetic_status report(const Status& s) {
  if (s.is_ok()) return EIDETIC_OK;
  return fail(static_cast<eidetic_status>(s.code()), s.message());
}

eidetic_status null_arg(const char* what) {
  return fail(EIDETIC_ERROR_INVALID_ARGUMENT, std::string(what) + " is null");
}

// Run `body`, mapping an escaping std::bad_alloc (or anything else) to a status.
template <typename F>
eidetic_status guarded(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(EIDETIC_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(EIDETIC_ERROR_BACKEND, std::string("internal error: ") + e.what());
  }
}

const eidetic::Tokenizer* tokenizer_of(const eidetic_model* m) { return m->model->tokenizer(); }

eidetic::SamplerParams to_cpp(const eidetic_sampler_params& p) {
  eidetic::SamplerParams s;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  s.repeat_penalty = p.repeat_penalty;
  s.repeat_last_n = p.repeat_last_n;
  s.seed = p.seed;
  return s;
}

}  // namespace

extern "C" {

const char* eidetic_last_error(void) { return g_last_error.c_str(); }
const char* eidetic_version(void) { return "0.1.0"; }

void eidetic_model_options_init(eidetic_model_options* o) {
  if (!o) return;
  o->backend = "cpu";
  o->n_threads = 1;
  o->device = 0;
  o->max_batch_tokens = 64;
}

eidetic_status eidetic_model_load(const char* path, const eidetic_model_options* options, eidetic_model** out) {
  if (!path) return null_arg("path");
  if (!out) return null_arg("out");
  *out = nullptr;
  eidetic_model_options o;
  eidetic_model_options_init(&o);
  if (options) o = *options;
  if (!o.backend) return null_arg("options->backend");
  if (o.max_batch_tokens < 1) return fail(EIDETIC_ERROR_INVALID_ARGUMENT, "max_batch_tokens must be at least 1");
  return guarded([&] {
    eidetic::LoadOptions lo;
    lo.backend = o.backend;
    lo.backend_options.n_threads = o.n_threads;
    lo.backend_options.device = o.device;
    lo.backend_options.max_batch_tokens = size_t(o.max_batch_tokens);
    auto m = eidetic::Model::load(path, lo);
    if (!m) return report(m.status());
    std::string device = (*m)->executor().device();
    *out = new eidetic_model{std::move(m).value(), std::move(device)};
    return EIDETIC_OK;
  });
}

void eidetic_model_free(eidetic_model* model) { delete model; }

int32_t eidetic_model_vocab_size(const eidetic_model* m) { return m ? int32_t(m->model->vocab_size()) : 0; }
size_t eidetic_model_state_bytes(const eidetic_model* m) { return m ? m->model->state_layout().bytes() : 0; }
int32_t eidetic_model_bos(const eidetic_model* m) { return m ? m->model->bos_id() : -1; }
int32_t eidetic_model_eos(const eidetic_model* m) { return m ? m->model->eos_id() : -1; }
const char* eidetic_model_device(const eidetic_model* m) { return m ? m->device.c_str() : ""; }

eidetic_status eidetic_tokenize(const eidetic_model* model, const char* text, size_t text_len, int parse_special,
                                int32_t* ids, size_t capacity, size_t* n_ids) {
  if (!model) return null_arg("model");
  if (!text && text_len) return null_arg("text");
  if (!n_ids) return null_arg("n_ids");
  if (!ids && capacity) return null_arg("ids");
  const eidetic::Tokenizer* tok = tokenizer_of(model);
  if (!tok) return fail(EIDETIC_ERROR_UNSUPPORTED, "this model file carries no tokenizer");
  return guarded([&] {
    const auto r = tok->encode(std::string_view(text ? text : "", text_len), parse_special != 0);
    *n_ids = r.size();
    if (r.size() > capacity)
      return fail(EIDETIC_ERROR_BUFFER_TOO_SMALL,
                  "ids buffer holds " + std::to_string(capacity) + ", " + std::to_string(r.size()) + " needed");
    std::copy(r.begin(), r.end(), ids);
    return EIDETIC_OK;
  });
}

eidetic_status eidetic_detokenize(const eidetic_model* model, const int32_t* ids, size_t n_ids, char* text,
                                  size_t capacity, size_t* text_len) {
  if (!model) return null_arg("model");
  if (!ids && n_ids) return null_arg("ids");
  if (!text_len) return null_arg("text_len");
  if (!text && capacity) return null_arg("text");
  const eidetic::Tokenizer* tok = tokenizer_of(model);
  if (!tok) return fail(EIDETIC_ERROR_UNSUPPORTED, "this model file carries no tokenizer");
  return guarded([&] {
    auto r = tok->decode(ids, n_ids, false);
    if (!r) return report(r.status());
    *text_len = r->size();
    if (r->size() > capacity)
      return fail(EIDETIC_ERROR_BUFFER_TOO_SMALL,
                  "text buffer holds " + std::to_string(capacity) + " bytes, " + std::to_string(r->size()) + " needed");
    if (!r->empty()) std::memcpy(text, r->data(), r->size());
    return EIDETIC_OK;
  });
}

eidetic_status eidetic_session_create(eidetic_model* model, eidetic_session** out) {
  if (!model) return null_arg("model");
  if (!out) return null_arg("out");
  *out = nullptr;
  return guarded([&] {
    auto s = eidetic::Session::create(*model->model);
    if (!s) return report(s.status());
    *out = new eidetic_session{model, std::move(s).value()};
    return EIDETIC_OK;
  });
}

void eidetic_session_free(eidetic_session* session) { delete session; }

eidetic_status eidetic_session_reset(eidetic_session* session) {
  if (!session) return null_arg("session");
  session->session->reset();
  return EIDETIC_OK;
}

eidetic_status eidetic_session_copy(eidetic_session* dst, const eidetic_session* src) {
  if (!dst) return null_arg("dst");
  if (!src) return null_arg("src");
  return guarded([&] { return report(dst->session->copy_from(*src->session)); });
}

uint64_t eidetic_session_position(const eidetic_session* session) { return session ? session->session->n_past() : 0; }

eidetic_status eidetic_prefill(eidetic_session* session, const int32_t* ids, size_t n_ids) {
  if (!session) return null_arg("session");
  if (!ids) return null_arg("ids");
  return guarded([&] { return report(session->session->prefill(ids, n_ids)); });
}

eidetic_status eidetic_decode(eidetic_session* session, int32_t id) {
  if (!session) return null_arg("session");
  return guarded([&] { return report(session->session->decode(id)); });
}

eidetic_status eidetic_logits(const eidetic_session* session, const float** logits, size_t* n) {
  if (!session) return null_arg("session");
  if (!logits) return null_arg("logits");
  if (!session->session->has_logits())
    return fail(EIDETIC_ERROR_INVALID_ARGUMENT, "no logits yet: prefill or decode a token first");
  if (eidetic_status e = report(session->session->fetch_logits())) return e;
  *logits = session->session->logits();
  if (n) *n = session->owner->model->vocab_size();
  return EIDETIC_OK;
}

void eidetic_sampler_params_init(eidetic_sampler_params* p) {
  if (!p) return;
  const eidetic::SamplerParams d;
  p->temperature = d.temperature;
  p->top_k = d.top_k;
  p->top_p = d.top_p;
  p->min_p = d.min_p;
  p->repeat_penalty = d.repeat_penalty;
  p->repeat_last_n = d.repeat_last_n;
  p->seed = d.seed;
}

eidetic_status eidetic_sampler_create(const eidetic_model* model, const eidetic_sampler_params* params,
                                      eidetic_sampler** out) {
  if (!model) return null_arg("model");
  if (!out) return null_arg("out");
  *out = nullptr;
  eidetic_sampler_params p;
  eidetic_sampler_params_init(&p);
  if (params) p = *params;
  return guarded([&] {
    auto s = eidetic::Sampler::create(to_cpp(p), int32_t(model->model->vocab_size()));
    if (!s) return report(s.status());
    *out = new eidetic_sampler{std::move(s).value()};
    return EIDETIC_OK;
  });
}

void eidetic_sampler_free(eidetic_sampler* sampler) { delete sampler; }

eidetic_status eidetic_sample(eidetic_sampler* sampler, const eidetic_session* session, int32_t* token) {
  if (!sampler) return null_arg("sampler");
  if (!session) return null_arg("session");
  if (!token) return null_arg("token");
  if (!session->session->has_logits())
    return fail(EIDETIC_ERROR_INVALID_ARGUMENT, "no logits yet: prefill or decode a token first");
  if (sampler->sampler.vocab_size() != int32_t(session->owner->model->vocab_size()))
    return fail(EIDETIC_ERROR_INVALID_ARGUMENT, "sampler and session belong to models of different vocabularies");
  if (eidetic_status e = report(session->session->fetch_logits())) return e;
  *token = sampler->sampler.sample(session->session->logits());
  sampler->sampler.accept(*token);
  return EIDETIC_OK;
}

eidetic_status eidetic_generate(eidetic_session* session, eidetic_sampler* sampler, const char* prompt,
                                size_t prompt_len, size_t max_tokens, eidetic_token_callback callback, void* user,
                                size_t* n_generated) {
  if (!session) return null_arg("session");
  if (!sampler) return null_arg("sampler");
  if (!prompt) return null_arg("prompt");
  if (!callback) return null_arg("callback");
  if (n_generated) *n_generated = 0;
  const eidetic::Tokenizer* tok = tokenizer_of(session->owner);
  if (!tok) return fail(EIDETIC_ERROR_UNSUPPORTED, "this model file carries no tokenizer");
  return guarded([&] {
    const auto ids = tok->encode(std::string_view(prompt, prompt_len), true);
    eidetic::GenerateStats stats;
    auto on_token = [&](int32_t id, std::string_view text) {
      return callback(user, id, text.data(), text.size()) == 0;
    };
    Status s = eidetic::generate(*session->session, sampler->sampler, ids, max_tokens, on_token, &stats);
    if (n_generated) *n_generated = stats.generated_tokens;
    return report(s);
  });
}

}  // extern "C"
