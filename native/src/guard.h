// Turns any C++ exception thrown by libtorch into a JS Error carrying libtorch's message,
// so a bad shape or dtype is a catchable exception in TypeScript, never a crashed process.
#pragma once
#include <napi.h>
#include <c10/util/Exception.h>
#include <exception>
#include <string>

// The message starts with the op's name ("matmul: mat1 and mat2 shapes cannot be multiplied …"),
// so an error deep in a model says which call failed. Generated ops pass their op name; the
// hand-written functions use KOCLIP_GUARD, which names them by their C++ function.
#define KOCLIP_GUARD_OP(op, ...)                                                        \
  try {                                                                                 \
    __VA_ARGS__                                                                         \
  } catch (const Napi::Error&) {                                                        \
    throw;                                                                              \
  } catch (const c10::Error& e) {                                                       \
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what_without_backtrace()); \
  } catch (const std::exception& e) {                                                   \
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what());              \
  }

// Variadic, so commas in the body (declarations, brace-inits) do not split the macro's argument.
#define KOCLIP_GUARD(...) KOCLIP_GUARD_OP(__func__, __VA_ARGS__)
