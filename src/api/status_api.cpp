// SPDX-License-Identifier: MIT
// status_api.cpp: async_strerror and async_status_name, generated from
// ASYNC_STATUS_MAP so they cannot drift from the enum.
#include "async.h"

extern "C" {

ASYNC_API const char* async_strerror(async_status_t status) {
  switch (status) {
#define ASYNC_STATUS_TEXT_CASE_(name, value, text) \
  case ASYNC_##name:                               \
    return text;
    ASYNC_STATUS_MAP(ASYNC_STATUS_TEXT_CASE_)
#undef ASYNC_STATUS_TEXT_CASE_
  }
  return "unknown status";
}

ASYNC_API const char* async_status_name(async_status_t status) {
  switch (status) {
#define ASYNC_STATUS_NAME_CASE_(name, value, text) \
  case ASYNC_##name:                               \
    return #name;
    ASYNC_STATUS_MAP(ASYNC_STATUS_NAME_CASE_)
#undef ASYNC_STATUS_NAME_CASE_
  }
  return "unknown status";
}

}  // extern "C"
