#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/portable.sh: what Linux can check of the sources' portability to macOS
# and the BSDs without their headers or kernels (docs/low_level.md, kqueue without macOS):
#   1. src/io/backend_kqueue.cpp includes nothing but <sys/event.h>, POSIX
#      headers, C++ standard headers and backend.h;
#   2. it compiles (-fsyntax-only) for x86_64-apple-macos11 and
#      arm64-apple-macos11 with -Wall -Wextra -Wpedantic -Werror. There is no
#      macOS SDK here: tests/kqueue_shim/sys/event.h stands in for the SDK's
#      kqueue header and glibc/libstdc++ (x86_64 and aarch64 cross) for the
#      rest, with _GNU_SOURCE because libstdc++ needs it. So this proves the
#      file compiles with __APPLE__ defined and __linux__ not, under Apple's
#      type model and clang's Apple-only macros; it proves nothing about the
#      SDK's own declarations;
#   3. Linux-only calls and flags (accept4, pipe2, SOCK_NONBLOCK, SOCK_CLOEXEC,
#      MSG_NOSIGNAL, eventfd, epoll, MAP_NORESERVE, MADV_GUARD_INSTALL)
#      appear in src/ and include/ only in code behind `#if ... __linux__ ...`
#      or behind a feature macro naming the call itself (#ifdef MSG_NOSIGNAL),
#      or after the file's own fallback definition (#ifndef X / #define X,
#      for flags probed at run time). Comments and strings do not count.
# Exits non-zero on the first failing part, after printing every finding.
#   CLANG=clang-14 .ci/portable.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

# --------------------------------------------------- 1. the kqueue includes
KQ=src/io/backend_kqueue.cpp
# POSIX.1-2017 headers the backend may reasonably use, and <sys/event.h>.
allowed_c='sys/event.h sys/types.h sys/stat.h sys/time.h sys/socket.h errno.h fcntl.h
  limits.h signal.h stddef.h stdint.h stdlib.h string.h time.h unistd.h'
bad=0
while IFS= read -r inc; do
  name=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$inc")
  case " $(echo $allowed_c) " in *" $name "*) continue ;; esac
  # C++ standard headers have no extension; the project's own: backend.h.
  [[ $name =~ ^[a-z_]+$ || $name == backend.h ]] && continue
  echo "$KQ includes <$name>, which is neither POSIX, <sys/event.h> nor C++" >&2
  bad=1
done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$KQ")
((bad == 0)) || fail "$KQ includes more than <sys/event.h> and POSIX"
ok "$KQ includes only <sys/event.h>, POSIX and C++ headers"

# ----------------------------------------- 2. compiles for the Apple targets
pick() {
  local c
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}
CLANG=${CLANG:-$(pick clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14 || true)}
[[ -n $CLANG ]] || fail "no clang"
CLANGXX=${CLANGXX:-${CLANG/clang/clang++}}
command -v "$CLANGXX" >/dev/null || CLANGXX=$CLANG
RESOURCE=$("$CLANG" -print-resource-dir)
GCCVER=$(ls /usr/include/c++ 2>/dev/null | sort -V | tail -n 1)
[[ -n $GCCVER ]] || fail "no libstdc++ headers in /usr/include/c++"

apple_syntax() {  # <arch> <libstdc++ dir> <its target dir> <libc dir>...
  local arch=$1 cxx=$2 cxxtarget=$3
  shift 3
  local libc=() d
  for d in "$@"; do libc+=(-isystem "$d"); done
  # __nonnull/__nullable: clang's Apple nullability macros, which glibc uses
  # as an attribute name; the SDK would not see them.
  "$CLANGXX" -target "$arch-apple-macos11" -fsyntax-only -std=c++20 \
    -nostdinc -nostdinc++ -isystem "$RESOURCE/include" -isystem "$cxx" -isystem "$cxxtarget" \
    "${libc[@]}" -U__nonnull -U__nullable -D_GNU_SOURCE \
    -I tests/kqueue_shim -DASYNC_HAVE_KQUEUE=1 \
    -Wall -Wextra -Wpedantic -Werror "$KQ" \
    || fail "$KQ does not compile for $arch-apple-macos11"
  ok "$KQ compiles for $arch-apple-macos11 (shim sys/event.h, glibc headers; not the SDK)"
}
apple_syntax x86_64 "/usr/include/c++/$GCCVER" "/usr/include/x86_64-linux-gnu/c++/$GCCVER" \
  /usr/include /usr/include/x86_64-linux-gnu
if [[ -d /usr/aarch64-linux-gnu/include/c++ ]]; then
  AVER=$(ls /usr/aarch64-linux-gnu/include/c++ | sort -V | tail -n 1)
  apple_syntax arm64 "/usr/aarch64-linux-gnu/include/c++/$AVER" \
    "/usr/aarch64-linux-gnu/include/c++/$AVER/aarch64-linux-gnu" /usr/aarch64-linux-gnu/include
else
  echo "skip arm64-apple-macos11: no aarch64 cross headers (package g++-aarch64-linux-gnu)"
fi

# ------------------------------------------------ 3. Linux-only calls guarded
files=$(find src include -type f \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' \
  -o -name '*.hpp' -o -name '*.S' \) | sort)
# shellcheck disable=SC2086
perl -e '
  use strict; use warnings;
  my $tok = qr/\b(accept4|pipe2|SOCK_NONBLOCK|SOCK_CLOEXEC|MSG_NOSIGNAL|MAP_NORESERVE|MADV_GUARD_INSTALL
              |eventfd(?:_t|_read|_write)?|EFD_[A-Z_]+|epoll_(?:create1?|ctl|p?wait2?|event|data_t)|EPOLL[A-Z_0-9]+
              |sys\/epoll\.h|sys\/eventfd\.h)\b/x;
  my ($bad, $notes) = (0, 0);
  for my $f (@ARGV) {
    local $/; open my $fh, "<", $f or die "$f: $!"; my $s = <$fh>; close $fh;
    # Strings, character literals and comments out; newlines kept for line numbers.
    $s =~ s{("(?:\\.|[^"\\\n])*")|(\x27(?:\\.|[^\x27\\\n])*\x27)|(/\*.*?\*/)|(//[^\n]*)}
           { my $m = $+; (defined $1 || defined $2) ? "\"\"" : ($m =~ tr/\n//) ? "\n" x ($m =~ tr/\n//) : " " }gse;
    $s =~ s/\\\n/ /g;  # joined continuation lines (line numbers may drift by one; fine for a report)
    my @frames;        # [condition text, positive?]
    my %fallback;      # tokens the file defines itself (#ifndef X / #define X)
    my $n = 0;
    for my $line (split /\n/, $s) {
      ++$n;
      if ($line =~ /^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$/) {
        my ($d, $c) = ($1, $2);
        if ($d eq "ifdef")  { push @frames, [$c, 1]; }
        elsif ($d eq "ifndef") { push @frames, [$c, 0]; }
        elsif ($d eq "if")  { push @frames, [$c, $c !~ /^\s*!/]; }
        elsif ($d eq "elif" && @frames) { $frames[-1] = [$c, $c !~ /^\s*!/]; }
        elsif ($d eq "else" && @frames) { $frames[-1][1] = !$frames[-1][1]; }
        elsif ($d eq "endif") { pop @frames; }
        next;
      }
      if ($line =~ /^\s*#\s*define\s+(\w+)/ && $line =~ /$tok/) {
        my $name = $1;
        if (@frames && !$frames[-1][1] && $frames[-1][0] =~ /\b\Q$name\E\b/) { $fallback{$name} = 1; next; }
      }
      while ($line =~ /$tok/g) {
        my $t = $1;
        my $guarded = grep { $_->[1] && ($_->[0] =~ /\b__linux__\b/ || $_->[0] =~ /\b\Q$t\E\b/) } @frames;
        next if $guarded;
        if ($fallback{$t}) { print "note $f:$n: $t (the file defines its own fallback: probed at run time)\n"; ++$notes; next; }
        print STDERR "$f:$n: $t is Linux-only, and not behind #if ...__linux__... or #ifdef $t\n"; $bad = 1;
      }
    }
  }
  exit $bad;
' $files || fail "Linux-only calls outside Linux-only code (listed above)"
ok "Linux-only calls in src/ and include/ are all behind __linux__ or their feature macros"
echo "== portable.sh: all checks passed"
