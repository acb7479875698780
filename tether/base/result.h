// One error vocabulary for all of tetherd: a typed code (Android's tethering error
// numbers where they exist) plus a human cause naming the field or interface.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace tetherd {

enum class Errc {
  Ok = 0,
  // Android's public tethering error codes.
  UnknownIface = 1,
  ServiceUnavail = 2,
  Unsupported = 3,
  UnavailIface = 4,
  MasterError = 5,
  TetherIfaceError = 6,
  UntetherIfaceError = 7,
  EnableForwardingError = 8,
  DisableForwardingError = 9,
  IfaceCfgError = 10,
  DhcpServerError = 12,
  // tetherd's own.
  InvalidArgument = 100,  // bad input: syntax, range, unknown field
  SystemError = 101,      // a syscall or library call failed
  Busy = 102,             // retry later (xtables lock, operation in progress)
  AlreadyExists = 103,
  NotFound = 104,
  Timeout = 105,
};

const char* errcName(Errc code);

struct Error {
  Errc code = Errc::SystemError;
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : ok_(false), error_(std::move(error)) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  bool ok_ = true;
  Error error_;
};

using Status = Result<void>;

inline Error makeError(Errc code, std::string message) { return Error{code, std::move(message)}; }

// errno-based failure with the operation named: "open /run/x: Permission denied".
Error systemError(const std::string& what, int err);

}  // namespace tetherd
