#include "errors.h"

#include <string.h>
#include <uv.h>

#include <string>

namespace ovsnl {

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int errnum) {
  // libuv's error codes on Unix are the negated errno values, so its name table
  // doubles as errno -> "ENOENT" without a table of our own.
  const char* code = uv_err_name(-errnum);
  std::string message = std::string(syscall) + " " + code + ": " + strerror(errnum);
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  err.Set("errno", Napi::Number::New(env, -errnum));
  err.Set("syscall", Napi::String::New(env, syscall));
  return err;
}

Napi::Value ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  return Napi::Value();
}

Napi::Value ThrowRange(Napi::Env env, const char* message) {
  Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
  return Napi::Value();
}

}  // namespace ovsnl
