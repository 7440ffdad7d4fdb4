// A thin C++ layer over eidetic.h: RAII handles, exceptions-free, results as
// eidetic_status plus the message of eidetic_last_error().
#ifndef EIDETIC_HPP
#define EIDETIC_HPP

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eidetic.h"

namespace eidetic_api {

struct Error {
  eidetic_status status = EIDETIC_OK;
  std::string message;
  explicit operator bool() const { return status != EIDETIC_OK; }
  static Error last(eidetic_status s) { return {s, s == EIDETIC_OK ? "" : eidetic_last_error()}; }
};

struct ModelDeleter { void operator()(eidetic_model* m) const { eidetic_model_free(m); } };
struct SessionDeleter { void operator()(eidetic_session* s) const { eidetic_session_free(s); } };
struct SamplerDeleter { void operator()(eidetic_sampler* s) const { eidetic_sampler_free(s); } };
using ModelPtr = std::unique_ptr<eidetic_model, ModelDeleter>;
using SessionPtr = std::unique_ptr<eidetic_session, SessionDeleter>;
using SamplerPtr = std::unique_ptr<eidetic_sampler, SamplerDeleter>;

inline Error load_model(const std::string& path, const eidetic_model_options* options, ModelPtr* out) {
  eidetic_model* m = nullptr;
  Error e = Error::last(eidetic_model_load(path.c_str(), options, &m));
  out->reset(m);
  return e;
}

inline Error create_session(eidetic_model* model, SessionPtr* out) {
  eidetic_session* s = nullptr;
  Error e = Error::last(eidetic_session_create(model, &s));
  out->reset(s);
  return e;
}

inline Error create_sampler(const eidetic_model* model, const eidetic_sampler_params* params, SamplerPtr* out) {
  eidetic_sampler* s = nullptr;
  Error e = Error::last(eidetic_sampler_create(model, params, &s));
  out->reset(s);
  return e;
}

inline Error tokenize(const eidetic_model* model, std::string_view text, bool parse_special,
                      std::vector<int32_t>* ids) {
  size_t n = 0;
  eidetic_status s = eidetic_tokenize(model, text.data(), text.size(), parse_special, nullptr, 0, &n);
  if (s != EIDETIC_OK && s != EIDETIC_ERROR_BUFFER_TOO_SMALL) return Error::last(s);
  ids->resize(n);
  return Error::last(eidetic_tokenize(model, text.data(), text.size(), parse_special, ids->data(), n, &n));
}

inline Error detokenize(const eidetic_model* model, const std::vector<int32_t>& ids, std::string* text) {
  size_t n = 0;
  eidetic_status s = eidetic_detokenize(model, ids.data(), ids.size(), nullptr, 0, &n);
  if (s != EIDETIC_OK && s != EIDETIC_ERROR_BUFFER_TOO_SMALL) return Error::last(s);
  text->resize(n);
  return Error::last(eidetic_detokenize(model, ids.data(), ids.size(), text->data(), n, &n));
}

}  // namespace eidetic_api

#endif  // EIDETIC_HPP
