#include "converter/hf_config.h"

#include <fstream>
#include <limits>
#include <sstream>

namespace eidetic::convert {

Result<HfConfig> HfConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return io_error(path + ": cannot open (missing config.json?)");
  std::stringstream ss;
  ss << in.rdbuf();
  HfConfig c;
  c.path_ = path;
  c.text_ = ss.str();
  c.json_ = nlohmann::json::parse(c.text_, nullptr, false);
  if (c.json_.is_discarded() || !c.json_.is_object()) return invalid_model(path + ": malformed JSON");
  return c;
}

std::optional<double> HfConfig::as_float(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_object() && v.size() == 1 && v.contains("__float__") && v["__float__"].is_string()) {
    const std::string s = v["__float__"].get<std::string>();
    if (s == "Infinity" || s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity" || s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "NaN" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  return std::nullopt;
}

Status HfConfig::bad(const std::string& key, const std::string& why) const {
  return invalid_model(path_ + ": \"" + key + "\" " + why);
}

Result<int64_t> HfConfig::integer(const std::string& key) const {
  if (!has(key)) return bad(key, "is missing");
  if (!json_[key].is_number_integer()) return bad(key, "must be an integer");
  return json_[key].get<int64_t>();
}

Result<int64_t> HfConfig::integer_or(const std::string& key, int64_t fallback) const {
  return has(key) ? integer(key) : Result<int64_t>(fallback);
}

Result<double> HfConfig::number(const std::string& key) const {
  if (!has(key)) return bad(key, "is missing");
  auto v = as_float(json_[key]);
  if (!v) return bad(key, "must be a number");
  return *v;
}

Result<double> HfConfig::number_or(const std::string& key, double fallback) const {
  return has(key) ? number(key) : Result<double>(fallback);
}

Result<bool> HfConfig::boolean_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  if (!json_[key].is_boolean()) return bad(key, "must be true or false");
  return json_[key].get<bool>();
}

Result<std::string> HfConfig::string(const std::string& key) const {
  if (!has(key)) return bad(key, "is missing");
  if (!json_[key].is_string()) return bad(key, "must be a string");
  return json_[key].get<std::string>();
}

}  // namespace eidetic::convert
