// Typed access to a Hugging Face config.json, with errors that name the file
// and the key. Understands the {"__float__": "Infinity"} encoding that recent
// transformers versions write for non-finite floats.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "runtime/src/core/status.h"

namespace eidetic::convert {

class HfConfig {
 public:
  static Result<HfConfig> load(const std::string& path);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }
  const nlohmann::json& json() const { return json_; }
  bool has(const std::string& key) const { return json_.contains(key) && !json_[key].is_null(); }

  Result<int64_t> integer(const std::string& key) const;
  Result<int64_t> integer_or(const std::string& key, int64_t fallback) const;
  Result<double> number(const std::string& key) const;
  Result<double> number_or(const std::string& key, double fallback) const;
  Result<bool> boolean_or(const std::string& key, bool fallback) const;
  Result<std::string> string(const std::string& key) const;

  // A float that may be written as {"__float__": "Infinity"} and friends.
  static std::optional<double> as_float(const nlohmann::json& v);

 private:
  Status bad(const std::string& key, const std::string& why) const;
  std::string path_, text_;
  nlohmann::json json_;
};

}  // namespace eidetic::convert
