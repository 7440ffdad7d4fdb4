// One JSON object per line, for the machine-readable output of eidetic-bench
// and eidetic-perplexity (no JSON library needed by the runtime's programs).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace eidetic::cli {

class JsonLine {
 public:
  JsonLine& add(const char* key, const std::string& v) {
    field(key);
    quote(v);
    return *this;
  }
  JsonLine& add(const char* key, const char* v) { return add(key, std::string(v)); }
  JsonLine& add(const char* key, bool v) {
    field(key);
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonLine& add(const char* key, int v) { return add(key, int64_t(v)); }
  JsonLine& add(const char* key, unsigned v) { return add(key, int64_t(v)); }
  JsonLine& add(const char* key, int64_t v) {
    field(key);
    out_ += std::to_string(v);
    return *this;
  }
  JsonLine& add(const char* key, uint64_t v) {
    field(key);
    out_ += std::to_string(v);
    return *this;
  }
  // Non-finite numbers have no JSON form: they are written as null.
  JsonLine& add(const char* key, double v) {
    field(key);
    if (!std::isfinite(v)) {
      out_ += "null";
    } else {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.6g", v);
      out_ += buf;
    }
    return *this;
  }
  std::string str() const { return out_ + "}"; }
  void print(std::FILE* f = stdout) const { std::fprintf(f, "%s\n", str().c_str()); }

 private:
  void field(const char* key) {
    out_ += out_.size() > 1 ? ", " : "";
    quote(key);
    out_ += ": ";
  }
  void quote(const std::string& s) {
    out_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += char(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out_ += buf;
      } else {
        out_ += char(c);
      }
    }
    out_ += '"';
  }
  std::string out_ = "{";
};

}  // namespace eidetic::cli
