// Errors as values: every fallible operation inside the runtime returns a
// Status or a Result<T>. Nothing throws across the public C API.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace eidetic {

// Mirrors eidetic_status in the C header; keep the two in step.
enum class Code {
  kOk = 0,
  kInvalidArgument = 1,  // caller passed something wrong (null, size, id)
  kIoError = 2,          // could not open / read / map / write a file
  kInvalidModel = 3,     // the model file is malformed or inconsistent
  kUnsupported = 4,      // valid input we do not handle (arch, dtype, ...)
  kOutOfMemory = 5,
  kBackendError = 6,  // a backend (CPU / Vulkan) failed
  kCancelled = 7,     // a callback asked to stop
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status io_error(std::string m) { return {Code::kIoError, std::move(m)}; }
inline Status invalid_model(std::string m) { return {Code::kInvalidModel, std::move(m)}; }
inline Status unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  Status status() const { return is_ok() ? Status() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace eidetic

// Propagate a failing Status / Result from the enclosing function.
#define EID_TRY(expr)                   \
  do {                                  \
    ::eidetic::Status eid_s_ = (expr);  \
    if (!eid_s_.is_ok()) return eid_s_; \
  } while (0)

#define EID_CONCAT_INNER(a, b) a##b
#define EID_CONCAT(a, b) EID_CONCAT_INNER(a, b)
#define EID_ASSIGN_OR_RETURN(lhs, expr) EID_ASSIGN_OR_RETURN_IMPL(EID_CONCAT(eid_r_, __LINE__), lhs, expr)
#define EID_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.is_ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
