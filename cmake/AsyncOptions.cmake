# SPDX-License-Identifier: MIT
# Build options. Each is defined only if the parent project has not set it,
# so async can be added with add_subdirectory and configured from outside.
macro(async_option name doc default)
  if(NOT DEFINED ${name})
    option(${name} "${doc}" ${default})
  endif()
endmacro()

async_option(ASYNC_BUILD_TESTS "Build the test suite" OFF)
async_option(ASYNC_BUILD_EXAMPLES "Build the examples" OFF)
async_option(ASYNC_BUILD_BENCHMARKS "Build the Google Benchmark suite" OFF)
async_option(ASYNC_BUILD_FUZZERS "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
async_option(ASYNC_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" ON)
async_option(ASYNC_FIBER_SAVE_X87 "Keep MXCSR/x87 CW (arm64: FPCR) per fiber" ON)
async_option(ASYNC_FIBER_SHADOW_STACK "CET shadow-stack support (Linux x86_64)" OFF)
async_option(ASYNC_LTO "Link-time optimisation inside libasync (GCC; not with sanitizers)" ON)
async_option(ASYNC_KQUEUE_SHIM "Linux test builds: the kqueue backend over tests/kqueue_shim (epoll underneath)" OFF)
if(NOT DEFINED ASYNC_SANITIZE)
  set(ASYNC_SANITIZE "" CACHE STRING "Sanitizers, e.g. address;undefined or thread")
endif()
