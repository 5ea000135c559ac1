#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/citations.sh: fails when a comment in the sources cites something that
# is not in the repository: a path into the shared directory next to a
# checkout (../shared, /work/shared), the briefs the project was written
# from (low-level.md, async-api.md, miniasync-compat.md, STYLE.md) or their
# sections (spec §, contract §, a bare §n). What a comment relies on belongs
# in docs/ (docs/design.md, docs/low_level.md, docs/miniasync.md, ...), and
# the comment points there. RFC sections ("RFC 9110 §5.6.7") are public
# standards and allowed.
#
#   .ci/citations.sh            # the source directories of this checkout
#   .ci/citations.sh DIR|FILE...   # only these (the CI stage runs it on a
#                                  # planted citation to prove it can fail)
#
# Only comments count: code may name the peers' directory as a default path.
# A comment is text after //, /*, a leading *, or a # that starts a shell,
# CMake or Python comment (not a preprocessor line).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if (($# == 0)); then
  set -- src include tests examples bench cmake .ci gdb CMakeLists.txt Makefile
fi

comment='(//|/\*|^\s*\*|(^|\s)#(?!\s*(include|define|if|ifdef|ifndef|endif|else|elif|undef|pragma|error|warning)\b))'
cited='(\.\./shared|/work/shared|low-level\.md|async-api\.md|miniasync-compat\.md|STYLE\.md|(?<!RFC \d{4} )§)'

found=$(grep -rnP --binary-files=without-match \
  --include='*.c' --include='*.h' --include='*.cpp' --include='*.hpp' --include='*.S' \
  --include='*.sh' --include='*.py' --include='*.cmake' --include='*.in' --include='*.go' \
  --include='*.rs' --include='CMakeLists.txt' --include='Makefile' --include='run' \
  --exclude='citations.sh' \
  "$comment.*$cited" "$@" || true)

if [[ -n $found ]]; then
  echo "comments citing what is not in the repository (put it in docs/ and point there):" >&2
  echo "$found" >&2
  exit 1
fi
echo "no comment cites anything outside the repository ($*)"
