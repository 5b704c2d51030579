/* result.hpp: Result<T>, the value-or-error type every lib function returns. */
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace coach {

/* An error that can travel up to an endpoint: a machine code ("token_expired"),
 * a human message, and the HTTP status an endpoint should answer with. */
struct Error {
  std::string code;
  std::string message;
  int http_status = 500;
};

inline Error make_error(int http_status, std::string code, std::string message) {
  return Error{std::move(code), std::move(message), http_status};
}

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Error err) : v_(std::move(err)) {}          // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/* For functions that return nothing on success. */
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace coach
