// SPDX-License-Identifier: MIT
// fd_count.h: how many file descriptors the process has open, for the I/O
// tests' leak checks (Linux: /proc/self/fd; the directory's own fd and the
// . and .. entries are counted every time, so differences are exact).
#pragma once

#include <dirent.h>

namespace async_test {

inline int open_fd_count() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

}  // namespace async_test
