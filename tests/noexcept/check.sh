#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/noexcept/check.sh <source dir>: no exception leaves the library
# through its C API. Every function the public C headers declare carries
# ASYNC_NOEXCEPT (include/async.h, include/async/*.h) or MINIASYNC_NOEXCEPT
# (include/libminiasync/*.h), which is noexcept in C++; the compiler then
# holds each definition to it (a redeclaration with another exception
# specification does not compile). Every extern "C" definition the headers
# do not declare (signal handlers, MINIASYNC_EXPORT) says noexcept itself.
# Prints each declaration or definition that does not, and fails.
set -euo pipefail
src=${1:?usage: check.sh <source dir>}
cd "$src"

exempt='^$'  # nothing is exempt

# Statements from a line matching `start` to the first line ending in `end`;
# prints file:line of each that has a '(' before that end and lacks `mark`.
statements() {  # start end mark files...
  local start=$1 end=$2 mark=$3
  shift 3
  awk -v start="$start" -v end="$end" -v mark="$mark" '
    FNR == 1 { open = 0 }
    !open && $0 ~ start { open = 1; first = FNR; text = "" }
    open {
      text = text " " $0
      if ($0 ~ end) {
        open = 0
        if (text ~ /\(/ && text !~ /[^=]=[^=]/ && index(text, mark) == 0)
          print FILENAME ":" first ": " substr(text, 2, 110)
      }
    }' "$@"
}

found=$(
  {
    statements '^ASYNC_API ' ';' ASYNC_NOEXCEPT include/async.h include/async/*.h
    statements '^(struct [a-z_]+ \\*|void |int )[a-z_]+\\(' ';' MINIASYNC_NOEXCEPT include/libminiasync/*.h
    statements '^(extern "C" [^{]|MINIASYNC_EXPORT |ASYNC_API )' '[{;][^{;]*$' noexcept \
      $(find src -name '*.cpp' | sort)
  } | { grep -Ev "$exempt" || true; }
)
if [[ -n $found ]]; then
  echo "C API functions that are not noexcept (see tests/noexcept/check.sh):"
  echo "$found"
  exit 1
fi
echo "every C API declaration and extern \"C\" definition is noexcept"
