// SPDX-License-Identifier: MIT
// cxx_await_test.cpp: async::await(future) from C++ fibers.
#include <async/miniasync.hpp>

#include <cstdio>
#include <cstring>
#include <vector>

int main() {
  data_mover_threads* dmt = data_mover_threads_default();
  vdm* v = data_mover_threads_get_vdm(dmt);
  async::runtime rt;
  std::vector<char> src(1 << 16, 'q'), dst(1 << 16, 0);
  auto f = async::spawn(rt, [&] {
    auto fut = vdm_memcpy(v, dst.data(), src.data(), src.size(), 0);
    vdm_operation_output& out = async::await(fut);
    return out.result == VDM_SUCCESS && out.output.memcpy.dest == dst.data();
  });
  bool ok = f.join() && std::memcmp(src.data(), dst.data(), src.size()) == 0;
  data_mover_threads_delete(dmt);
  std::printf("async::await %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
