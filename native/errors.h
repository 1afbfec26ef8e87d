// Errors from system calls, shaped like Node's own (code, errno, syscall), so
// JavaScript can test err.code === 'ENOBUFS' without knowing errno numbers.
#pragma once
#include <napi.h>

namespace ovsnl {

// Builds an Error for a failed syscall; errnum is a positive errno value.
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int errnum);

// Throws a TypeError/RangeError for misuse from JavaScript (wrong argument types
// or sizes). Returns an empty value so callers can `return ThrowType(...)`.
Napi::Value ThrowType(Napi::Env env, const char* message);
Napi::Value ThrowRange(Napi::Env env, const char* message);

}  // namespace ovsnl
