#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/macho.sh: prove that the context-switch sources assemble for every
# object format they claim, on a Linux host:
#   - Mach-O arm64 and x86_64 (clang -target <arch>-apple-macos11): the
#     three switch symbols are defined with their `_` prefix and nothing is
#     left undefined (on Apple arm64 `;` starts a comment, so a macro that
#     used it as a separator would silently lose its label);
#   - ELF arm64 and x86_64: the symbols are hidden functions with a size, and
#     the object has a .note.GNU-stack section (else the linker makes the
#     program's stack executable); with -mbranch-protection=standard the
#     arm64 object carries the BTI property note.
# Each with ASYNC_FIBER_SAVE_X87=1 and =0. arm64 objects must never name x18
# (the platform register). This checks syntax and symbols only; behaviour on
# macOS stays untested. Exits non-zero on the first failure.
#   CLANG=clang-14 LLVM_NM=llvm-nm-14 .ci/macho.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH_DIR=$ROOT/src/arch
SYMS=(async_impl_ctx_swap async_impl_ctx_jump async_impl_ctx_trampoline)
X86_SYMS=(async_impl_ctx_swap_jumped async_impl_ctx_jump_uncalled)  # entered by a jump from context.h

pick() {  # first of the given commands that exists
  local c
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}
CLANG=${CLANG:-$(pick clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14 || true)}
LLVM_NM=${LLVM_NM:-$(pick llvm-nm llvm-nm-19 llvm-nm-18 llvm-nm-17 llvm-nm-16 llvm-nm-15 llvm-nm-14 || true)}
LLVM_OBJDUMP=${LLVM_OBJDUMP:-$(pick llvm-objdump llvm-objdump-19 llvm-objdump-18 llvm-objdump-17 llvm-objdump-16 llvm-objdump-15 llvm-objdump-14 || true)}
READELF=${READELF:-$(pick readelf llvm-readelf || true)}
if [ -z "$CLANG" ] || [ -z "$LLVM_NM" ] || [ -z "$LLVM_OBJDUMP" ] || [ -z "$READELF" ]; then
  echo "== installing clang llvm binutils"
  SUDO=
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang llvm binutils
  CLANG=$(pick clang clang-14)
  LLVM_NM=$(pick llvm-nm llvm-nm-14)
  LLVM_OBJDUMP=$(pick llvm-objdump llvm-objdump-14)
  READELF=$(pick readelf llvm-readelf)
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

# assemble <target> <source> <object> [flags...]
assemble() {
  local target=$1 src=$2 obj=$3
  shift 3
  "$CLANG" -target "$target" -I "$ARCH_DIR" "$@" -c "$ARCH_DIR/$src" -o "$obj" \
    || fail "$src does not assemble for $target $*"
}

no_x18() {  # arm64 only: the platform register stays untouched
  local obj=$1 what=$2
  if "$LLVM_OBJDUMP" -d "$obj" | grep -Eqw 'x18|w18'; then
    fail "$what uses x18"
  fi
}

check_macho() {  # <arch> <source> <x87>
  local arch=$1 src=$2 x87=$3
  local obj=$OUT/macho-$arch-$x87.o what="Mach-O $arch ($src, SAVE_X87=$x87)"
  assemble "$arch-apple-macos11" "$src" "$obj" -DASYNC_FIBER_SAVE_X87="$x87"
  local defined undefined s
  defined=$("$LLVM_NM" --defined-only "$obj")
  undefined=$("$LLVM_NM" --undefined-only "$obj")
  local syms_here=("${SYMS[@]}")
  if [ "$arch" = x86_64 ]; then syms_here+=("${X86_SYMS[@]}"); fi
  for s in "${syms_here[@]}"; do
    echo "$defined" | grep -Eq "^[0-9a-f]+ T _${s}\$" || fail "$what: _$s is not defined in text"
  done
  [ -z "$undefined" ] || fail "$what: undefined symbols: $undefined"
  if [ "$arch" = arm64 ]; then no_x18 "$obj" "$what"; fi
  ok "$what"
}

check_elf() {  # <triple> <source> <x87> [flags...]
  local triple=$1 src=$2 x87=$3
  shift 3
  local obj=$OUT/elf-$triple-$x87$(echo "$*" | tr -c 'a-z0-9' '_').o
  local what="ELF $triple ($src, SAVE_X87=$x87${*:+ $*})"
  assemble "$triple" "$src" "$obj" -DASYNC_FIBER_SAVE_X87="$x87" "$@"
  "$READELF" -SW "$obj" | grep -q '\.note\.GNU-stack' || fail "$what: no .note.GNU-stack section"
  local syms s
  syms=$("$READELF" -sW "$obj")
  local syms_here=("${SYMS[@]}")
  case $triple in x86_64-*) syms_here+=("${X86_SYMS[@]}") ;; esac
  for s in "${syms_here[@]}"; do
    # Num: Value Size Type Bind Vis Ndx Name; a defined hidden function with a size.
    echo "$syms" | awk -v s="$s" '$8 == s && $3 > 0 && $4 == "FUNC" && $5 == "GLOBAL" && $6 == "HIDDEN" && $7 != "UND" { f = 1 } END { exit !f }' \
      || fail "$what: $s is not a defined hidden function with a size"
  done
  if echo "$syms" | awk '$7 == "UND" && $8 != "" { f = 1 } END { exit !f }'; then
    fail "$what: undefined symbols"
  fi
  case $triple in aarch64-*) no_x18 "$obj" "$what" ;; esac
  ok "$what"
}

for x87 in 1 0; do
  check_macho arm64 context_arm64.S "$x87"
  check_macho x86_64 context_x86_64.S "$x87"
  check_elf aarch64-linux-gnu context_arm64.S "$x87"
  check_elf x86_64-linux-gnu context_x86_64.S "$x87"
done

# BTI: with branch protection on, the arm64 object must say it is BTI-ready,
# or the linker silently drops BTI from the whole program.
obj=$OUT/elf-aarch64-bti.o
assemble aarch64-linux-gnu context_arm64.S "$obj" -mbranch-protection=standard
"$READELF" -nW "$obj" | grep -q 'AArch64 feature: .*BTI' \
  || fail "ELF aarch64 with -mbranch-protection=standard: no BTI property note"
ok "ELF aarch64-linux-gnu (context_arm64.S, -mbranch-protection=standard): BTI note"

echo "== macho.sh: all object-format checks passed"
