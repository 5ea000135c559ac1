#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_install_test.sh: the install test's steps, one per ctest test (see
# CMakeLists.txt here). Every step works in a prefix inside the build tree and
# never looks at a copy of async installed on the machine.
#
#   run_install_test.sh install   <build> <prefix> <libdir> <version> <config>
#   run_install_test.sh exports   <prefix> <libdir> <async.h>
#   run_install_test.sh pkgconfig <prefix> <libdir> <srcdir> <workdir> <version>
#   run_install_test.sh cmake     <prefix> <srcdir> <workdir> <version> <generator> <cc> <config>
#   run_install_test.sh cmake_cxx <prefix> <srcdir> <workdir> <version> <generator> <c++> <config>
#   run_install_test.sh miniasync <prefix> <libdir> <srcdir> <workdir> <example> <expected> <generator>
#
# A step that cannot run here exits 77, which ctest reports as skipped: no
# pkg-config, not ELF, or a sanitized build (ASYNC_SANITIZE set in the
# environment), whose libasync.so only links into sanitized programs, while
# the consumers are built as a user builds them.
set -euo pipefail

die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
expected_line='consumer: a OK, b OK, trace ababab'

# Runs a consumer and compares its whole output with the expected line.
run_consumer() {
  local program=$1 out
  out=$("$program") || die "$program exited with $?; output: $out"
  [[ $out == "$expected_line" ]] || die "$program printed '$out', expected '$expected_line'"
  echo "$program: $out"
}

# A shared consumer must load libasync from the prefix under test.
check_loaded_from() {
  local program=$1 prefix=$2 line
  command -v ldd >/dev/null || return 0
  line=$(ldd "$program" | grep 'libasync\.so') || die "$program does not load libasync.so"
  [[ $line == *"=> $prefix/"* ]] || die "$program loads libasync from elsewhere: $line"
  echo "$program: $line"
}

step=${1:-}; shift || true
case $step in
install)
  build=$1 prefix=$2 libdir=$3 version=$4 config=${5:-}
  rm -rf "$prefix"
  # cmake --install rewrites <build>/install_manifest.txt, which
  # `make uninstall` reads: keep the one of a real install.
  manifest=$build/install_manifest.txt saved=
  if [[ -f $manifest ]]; then saved=$(mktemp); cp "$manifest" "$saved"; fi
  restore() {
    if [[ -n $saved ]]; then mv -f "$saved" "$manifest"; else rm -f "$manifest"; fi
  }
  trap restore EXIT
  cmake --install "$build" --prefix "$prefix" ${config:+--config "$config"}
  for f in include/async.h include/async/status.h include/async/version.h \
           "$libdir/libasync.a" "$libdir/pkgconfig/async.pc" \
           "$libdir/cmake/async/asyncConfig.cmake" \
           "$libdir/cmake/async/asyncConfigVersion.cmake" \
           "$libdir/cmake/async/asyncTargets.cmake"; do
    [[ -f $prefix/$f ]] || die "not installed: $f"
  done
  if [[ $(uname -s) != Darwin ]]; then
    # libasync.so -> libasync.so.MAJOR -> libasync.so.MAJOR.MINOR.PATCH
    for f in libasync.so "libasync.so.${version%%.*}"; do
      [[ -L $prefix/$libdir/$f && -f $prefix/$libdir/$f ]] || die "not installed: $libdir/$f (link)"
    done
    [[ -f $prefix/$libdir/libasync.so.$version && ! -L $prefix/$libdir/libasync.so.$version ]] ||
      die "not installed: $libdir/libasync.so.$version"
  fi
  for f in "$prefix"/include/async/*.h "$prefix"/include/async.hpp; do
    [[ -e $f ]] || continue
    src=$(dirname "$0")/../../include/${f#"$prefix"/include/}
    cmp -s "$f" "$src" || die "$f differs from the source tree's $src"
  done
  ;;
exports)
  prefix=$1 libdir=$2 header=$3
  lib=$prefix/$libdir/libasync.so
  [[ $(uname -s) == Darwin ]] && skip "exports are checked on ELF only"
  command -v nm >/dev/null || skip "no nm"
  # Every symbol the library defines in its dynamic table must be public API.
  exported=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
  echo "exported:"; sed 's/^/  /' <<<"$exported"
  bad=$(grep -Ev '^async_' <<<"$exported" || true)
  [[ -z $bad ]] || die "exported beyond the public API: $(echo $bad)"
  internal=$(grep -E '^async_impl_' <<<"$exported" || true)
  [[ -z $internal ]] || die "internal symbols exported: $(echo $internal)"
  # ...and every ASYNC_API function declared in async.h must be exported.
  declared=$(grep -h 'ASYNC_API' "$header" "$(dirname "$header")"/async/*.h |
             grep -oE '\basync_[a-z0-9_]+[[:space:]]*\(' | tr -d '( \t' | sort -u)
  missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
  [[ -z $missing ]] || die "declared ASYNC_API but not exported: $(echo $missing)"
  echo "ok: $(wc -l <<<"$exported") symbols, all async_*; all $(wc -l <<<"$declared") ASYNC_API functions"
  ;;
pkgconfig)
  [[ -z ${ASYNC_SANITIZE:-} ]] || skip "sanitized build ($ASYNC_SANITIZE): plain cc cannot link it"
  prefix=$1 libdir=$2 srcdir=$3 work=$4 version=$5
  command -v pkg-config >/dev/null || skip "no pkg-config"
  command -v cc >/dev/null || skip "no cc"
  # Only the prefix under test: no async.pc from the machine.
  export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig PKG_CONFIG_LIBDIR=$prefix/$libdir/pkgconfig
  got=$(pkg-config --modversion async) || die "pkg-config does not find async"
  [[ $got == "$version" ]] || die "pkg-config says version $got, expected $version"
  echo "pkg-config --cflags --libs async: $(pkg-config --cflags --libs async)"
  rm -rf "$work"; mkdir -p "$work"; cp "$srcdir/consumer.c" "$work/"
  cd "$work"
  set -x
  cc consumer.c $(pkg-config --cflags --libs async)
  { set +x; } 2>/dev/null
  check_loaded_from ./a.out "$prefix"
  run_consumer ./a.out
  # A C++ consumer passes -std=c++20 itself: async.pc serves C programs too,
  # so its Cflags cannot carry it (README, "Using it from C++").
  command -v c++ >/dev/null || skip "no c++ (the C consumer passed)"
  cp "$srcdir/consumer.cpp" .
  set -x
  c++ -std=c++20 -o consumer_cxx consumer.cpp $(pkg-config --cflags --libs async)
  { set +x; } 2>/dev/null
  check_loaded_from ./consumer_cxx "$prefix"
  run_consumer ./consumer_cxx
  ;;
cmake)
  [[ -z ${ASYNC_SANITIZE:-} ]] || skip "sanitized build ($ASYNC_SANITIZE): plain consumers cannot link it"
  prefix=$1 srcdir=$2 work=$3 version=$4 generator=$5 cc=$6 config=${7:-}
  rm -rf "$work"
  cmake -S "$srcdir/cmake_consumer" -B "$work" -G "$generator" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    ${config:+-DCMAKE_BUILD_TYPE="$config"} \
    -DASYNC_EXPECTED_PREFIX="$prefix" -DASYNC_EXPECTED_VERSION="$version"
  cmake --build "$work" ${config:+--config "$config"}
  shared=$(find "$work" -type f -name consumer -perm -u+x | head -n 1)
  static=$(find "$work" -type f -name consumer_static -perm -u+x | head -n 1)
  [[ -n $shared && -n $static ]] || die "consumer programs not built in $work"
  check_loaded_from "$shared" "$prefix"
  run_consumer "$shared"
  run_consumer "$static"
  ;;
cmake_cxx)
  # A C++ project that sets no standard: async::async must bring C++20.
  [[ -z ${ASYNC_SANITIZE:-} ]] || skip "sanitized build ($ASYNC_SANITIZE): plain consumers cannot link it"
  prefix=$1 srcdir=$2 work=$3 version=$4 generator=$5 cxx=$6 config=${7:-}
  rm -rf "$work"
  cmake -S "$srcdir/cmake_cxx_consumer" -B "$work" -G "$generator" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    ${config:+-DCMAKE_BUILD_TYPE="$config"} \
    -DASYNC_EXPECTED_PREFIX="$prefix" -DASYNC_EXPECTED_VERSION="$version"
  cmake --build "$work" ${config:+--config "$config"}
  shared=$(find "$work" -type f -name consumer_cxx -perm -u+x | head -n 1)
  static=$(find "$work" -type f -name consumer_cxx_static -perm -u+x | head -n 1)
  [[ -n $shared && -n $static ]] || die "consumer programs not built in $work"
  check_loaded_from "$shared" "$prefix"
  run_consumer "$shared"
  run_consumer "$static"
  ;;
miniasync)
  # libminiasync as miniasync's users had it: the exact symbol set under
  # LIBMINIASYNC_1.0, and a program written for miniasync (the basic
  # example, as C99) built with pkg-config and with find_package.
  [[ -z ${ASYNC_SANITIZE:-} ]] || skip "sanitized build ($ASYNC_SANITIZE): plain consumers cannot link it"
  prefix=$1 libdir=$2 srcdir=$3 work=$4 example=$5 expected=$6 generator=$7
  [[ $(uname -s) == Darwin ]] && skip "ELF only"
  command -v nm >/dev/null || skip "no nm"
  command -v pkg-config >/dev/null || skip "no pkg-config"
  lib=$prefix/$libdir/libminiasync.so.0
  [[ -f $lib ]] || die "not installed: $libdir/libminiasync.so.0"
  v10=$(nm -D --defined-only "$lib" | awk '$3 ~ /@@?LIBMINIASYNC_1\.0$/ { sub(/@.*/, "", $3); print $3 }' | sort)
  want="data_mover_sync_delete data_mover_sync_get_vdm data_mover_sync_new data_mover_threads_default
data_mover_threads_delete data_mover_threads_get_vdm data_mover_threads_new
data_mover_threads_set_memcpy_fn data_mover_threads_set_memmove_fn data_mover_threads_set_memset_fn
runtime_delete runtime_new runtime_wait runtime_wait_multiple"
  [[ $(echo $v10) == "$(echo $want)" ]] || die "LIBMINIASYNC_1.0 exports '$(echo $v10)', expected '$(echo $want)'"
  echo "ok: LIBMINIASYNC_1.0 = $(echo $v10)"
  export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig PKG_CONFIG_LIBDIR=$prefix/$libdir/pkgconfig
  rm -rf "$work"; mkdir -p "$work"
  cd "$work"
  set -x
  cc -std=c99 -o basic_pc "$example" $(pkg-config --cflags --libs libminiasync)
  { set +x; } 2>/dev/null
  LD_LIBRARY_PATH=$prefix/$libdir ./basic_pc > out_pc.txt || die "basic (pkg-config) exited with $?"
  diff -u "$expected" out_pc.txt || die "basic (pkg-config) printed something else"
  cmake -S "$srcdir/miniasync_consumer" -B cm -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    -DMINIASYNC_EXPECTED_PREFIX="$prefix" -DMINIASYNC_EXAMPLE="$example"
  cmake --build cm
  LD_LIBRARY_PATH=$prefix/$libdir cm/basic > out_cmake.txt || die "basic (find_package) exited with $?"
  diff -u "$expected" out_cmake.txt || die "basic (find_package) printed something else"
  echo "ok: basic built with pkg-config and find_package(libminiasync) prints what it should"
  ;;
*)
  echo "usage: $0 install|exports|pkgconfig|cmake|cmake_cxx|miniasync ..." >&2; exit 2 ;;
esac
