// SPDX-License-Identifier: MIT
// status_api.cpp: async_strerror and async_status_name, generated from
// ASYNC_STATUS_MAP so they cannot drift from the enum.
#include <cstring>

#include "async.h"

namespace {

// C callers may pass any int; reading it as the enum would be undefined in
// C++ when it is out of the enum's range, so read the bits as an int.
int code_of(const async_status_t& status) noexcept {
  int code;
  static_assert(sizeof code == sizeof status);
  std::memcpy(&code, &status, sizeof code);
  return code;
}

}  // namespace

extern "C" {

ASYNC_API const char* async_strerror(async_status_t status) noexcept {
  switch (code_of(status)) {
#define ASYNC_STATUS_TEXT_CASE_(name, value, text) \
  case ASYNC_##name:                               \
    return text;
    ASYNC_STATUS_MAP(ASYNC_STATUS_TEXT_CASE_)
#undef ASYNC_STATUS_TEXT_CASE_
  }
  return "unknown status";
}

ASYNC_API const char* async_status_name(async_status_t status) noexcept {
  switch (code_of(status)) {
#define ASYNC_STATUS_NAME_CASE_(name, value, text) \
  case ASYNC_##name:                               \
    return #name;
    ASYNC_STATUS_MAP(ASYNC_STATUS_NAME_CASE_)
#undef ASYNC_STATUS_NAME_CASE_
  }
  return "unknown status";
}

}  // extern "C"
