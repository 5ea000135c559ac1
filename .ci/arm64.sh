#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/arm64.sh: cross-build async for Linux arm64 and run the whole test suite
# (tests and examples) under qemu-user. Run from anywhere:
#   .ci/arm64.sh            build in build-arm64 (next to this repository's top)
#   BUILD=dir JOBS=n .ci/arm64.sh
# Extra arguments are passed to the configure step (e.g. -DASYNC_FIBER_SAVE_X87=OFF).
#
# GoogleTest: Debian has no arm64 libgtest on an amd64 host without multiarch,
# so it is built here from Debian's `googletest` source package
# (/usr/src/googletest, or GTEST_SRC=dir) with the same toolchain, installed
# into $BUILD/_gtest/install, and found through CMAKE_FIND_ROOT_PATH.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-arm64}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
GTEST_SRC=${GTEST_SRC:-/usr/src/googletest}
TOOLCHAIN=$ROOT/cmake/toolchain-aarch64.cmake

log() { printf '== %s\n' "$*"; }

# --- packages --------------------------------------------------------------
need=()
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
[ -f "$GTEST_SRC/CMakeLists.txt" ] || need+=(googletest)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

# --- GoogleTest for arm64 --------------------------------------------------
GTEST_BUILD=$BUILD/_gtest/build
GTEST_PREFIX=$BUILD/_gtest/install
if [ ! -f "$GTEST_PREFIX/lib/cmake/GTest/GTestConfig.cmake" ]; then
  log "building GoogleTest for arm64 from $GTEST_SRC"
  cmake -S "$GTEST_SRC" -B "$GTEST_BUILD" \
    -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$GTEST_PREFIX" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_GMOCK=OFF -DINSTALL_GTEST=ON -DBUILD_SHARED_LIBS=OFF
  cmake --build "$GTEST_BUILD" -j "$JOBS"
  cmake --install "$GTEST_BUILD"
fi

# --- async -----------------------------------------------------------------
log "configuring $BUILD"
cmake -S "$ROOT" -B "$BUILD" \
  -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
  -DCMAKE_FIND_ROOT_PATH="$GTEST_PREFIX" \
  -DCMAKE_BUILD_TYPE=Release \
  -DASYNC_BUILD_TESTS=ON -DASYNC_BUILD_EXAMPLES=ON \
  "$@"
log "building"
cmake --build "$BUILD" -j "$JOBS"

# Prove the objects really are arm64 before trusting a green run.
readelf -h "$BUILD/libasync.so" 2>/dev/null | grep -q 'Machine: *AArch64' || {
  echo "error: $BUILD/libasync.so is not an arm64 object" >&2
  exit 1
}

log "testing under qemu-aarch64"
# ctest runs test programs through CMAKE_CROSSCOMPILING_EMULATOR.
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS"
log "arm64: all tests passed"
