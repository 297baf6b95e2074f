#pragma once
// Storepulse's one error convention: functions at module edges return a
// Status (no value) or a Result<T> (a value or a Status). Exceptions stay
// inside parsing code (YAML, JSON) and are turned into a Status at its edge.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace storepulse {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a caller or a file: config, event, request
  kNotFound,
  kIo,               // disk or network failure
  kCorruption,       // stored bytes that do not decode
  kKafka,            // an error reported by librdkafka
  kUnavailable,      // not ready yet / shutting down
  kInternal,         // a broken invariant
};

const char* errorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool isOk() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return isOk(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: config.yaml:3: kafka.group_id: must not be empty"
  std::string toString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).isOk() && "a Result needs a value or an error");
  }

  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Status& status() const {
    static const Status kOk;
    return isOk() ? kOk : std::get<Status>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

#define SP_CONCAT_INNER(a, b) a##b
#define SP_CONCAT(a, b) SP_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` failed.
#define SP_RETURN_IF_ERROR(expr)                     \
  do {                                               \
    ::storepulse::Status sp_status_ = (expr);        \
    if (!sp_status_.isOk()) return sp_status_;       \
  } while (0)

// `SP_ASSIGN_OR_RETURN(auto x, makeX());`
#define SP_ASSIGN_OR_RETURN(lhs, expr) \
  SP_ASSIGN_OR_RETURN_IMPL(SP_CONCAT(sp_result_, __LINE__), lhs, expr)
#define SP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.isOk()) return tmp.status();          \
  lhs = std::move(tmp).value()

}  // namespace storepulse
