#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/kqueue.sh: the kqueue backend on Linux, over the test-only shim
# (tests/kqueue_shim: kqueue()/kevent() implemented with epoll). Builds
# build-kqueue/ with -DASYNC_KQUEUE_SHIM=ON (Debug: assertions on) and runs
# the whole ctest suite with ASYNC_BACKEND=kqueue in the environment, so every
# runtime the tests make without naming a backend uses kqueue. IoTest and
# BackendTest name their backend and run once per backend the build has
# (epoll and kqueue here), whatever the variable says; the shim's own unit
# test runs too. This exercises our backend's logic, not a kernel's kqueue:
# docs/platforms.md says what it cannot prove.
#   JOBS=2 .ci/kqueue.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${JOBS:-$(nproc)}

rm -rf build-kqueue
cmake -S . -B build-kqueue -DCMAKE_BUILD_TYPE=Debug -DASYNC_KQUEUE_SHIM=ON \
  -DASYNC_BUILD_TESTS=ON -DASYNC_BUILD_EXAMPLES=ON
cmake --build build-kqueue -j "$JOBS"
ASYNC_BACKEND=kqueue ctest --test-dir build-kqueue --output-on-failure -j "$JOBS"
echo "== kqueue.sh: the suite passed with ASYNC_BACKEND=kqueue over the shim"
