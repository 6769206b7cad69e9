// Turns any C++ exception thrown by libtorch into a JS Error carrying libtorch's message,
// so a bad shape or dtype is a catchable exception in TypeScript, never a crashed process.
#pragma once
#include <napi.h>
#include <c10/util/Exception.h>
#include <exception>
#include <string>

#define KOCLIP_GUARD(body)                                                              \
  try {                                                                                 \
    body                                                                                \
  } catch (const Napi::Error&) {                                                        \
    throw;                                                                              \
  } catch (const c10::Error& e) {                                                       \
    throw Napi::Error::New(info.Env(), std::string(e.what_without_backtrace()));        \
  } catch (const std::exception& e) {                                                   \
    throw Napi::Error::New(info.Env(), std::string(e.what()));                          \
  }
