# SPDX-License-Identifier: MIT
# Cross build for Linux arm64 with Debian's cross toolchain, run through
# qemu-user (packages g++-aarch64-linux-gnu and qemu-user):
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
# ctest and gtest_discover_tests run the test programs through
# CMAKE_CROSSCOMPILING_EMULATOR; -L gives qemu the arm64 sysroot (dynamic
# loader and libraries). .ci/arm64.sh does the whole run.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ASYNC_AARCH64_TRIPLE aarch64-linux-gnu)
set(ASYNC_AARCH64_SYSROOT /usr/${ASYNC_AARCH64_TRIPLE})

set(CMAKE_C_COMPILER ${ASYNC_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${ASYNC_AARCH64_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER ${ASYNC_AARCH64_TRIPLE}-gcc)

set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-L;${ASYNC_AARCH64_SYSROOT}")

# Look for arm64 libraries and packages only under the arm64 sysroot (and
# under any extra roots given with -DCMAKE_FIND_ROOT_PATH=...), so that the
# host's x86_64 packages (libgtest-dev, say) are never picked up; programs
# (tools run at build time) come from the host.
list(APPEND CMAKE_FIND_ROOT_PATH ${ASYNC_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
