// SPDX-License-Identifier: MIT
// consumer.cpp: a C++ program built against an installed async, as a user
// would: `c++ -std=c++20 consumer.cpp $(pkg-config --cflags --libs async)`,
// and, through cmake_cxx_consumer/, with find_package(async) and nothing
// but target_link_libraries(... async::async) (async::async carries
// cxx_std_20, which async.hpp needs). The same two fibers as consumer.c,
// through async.hpp, printing the same line.
#include <async.hpp>

#include <cstdio>
#include <string>

int main() {
  std::string trace;
  auto worker = [&trace](char name) {
    return [&trace, name] {
      for (int i = 0; i < 3; ++i) {
        trace += name;
        async::this_fiber::yield();
      }
      return true;
    };
  };
  bool a = false, b = false;
  {
    async::runtime rt;
    auto fa = async::spawn(rt, worker('a'));
    auto fb = async::spawn(rt, worker('b'));
    a = fa.join();
    b = fb.join();
  }
  std::printf("consumer: a %s, b %s, trace %s\n", a ? "OK" : "failed", b ? "OK" : "failed",
              trace.c_str());
  return a && b ? 0 : 1;
}
