// SPDX-License-Identifier: MIT
// cpp_dump_test.cpp: async::runtime::dump, the C++ face of
// async_runtime_dump (the format is tested whole in c_dump_test.c): a dump
// taken by a fiber, and the statuses it returns without throwing.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "async.hpp"
#include "support/seeded.h"
#include "support/leak_check.h"

namespace {

// What was written to a temporary file by `write(fd)`.
template <typename Write>
std::string captured(Write write) {
  std::FILE* f = std::tmpfile();
  write(fileno(f));
  std::string text;
  std::rewind(f);
  for (int c; (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(f);
  return text;
}

// The parts that vary between runs and builds become tokens.
std::string normalized(const std::string& text) {
  std::string s = std::regex_replace(text, std::regex("runtime [0-9]+ clock_ns=[0-9]+"), "runtime R clock_ns=N");
  s = std::regex_replace(s, std::regex("sleep [0-9]+ms"), "sleep Tms");
  s = std::regex_replace(s, std::regex("fn=[^ ]+"), "fn=F");
  return std::regex_replace(s, std::regex("stack=[0-9]+/"), "stack=D/");
}

class CppDumpTest : public async_test::LeakCheckedTest {};

TEST_F(CppDumpTest, AFiberDumpsItsRuntime) {
  ASYNC_FIFO_ONLY();  // which fiber runs first decides the states dumped
  async::runtime rt;
  auto sleeper = async::spawn(rt, [] {
    try {
      async::this_fiber::sleep_for(std::chrono::minutes(1));
    } catch (const async::cancelled&) {
    }
  });
  std::string text;
  auto dumper = async::spawn(rt, [&] {
    async::this_fiber::yield();
    text = captured([&](int fd) { EXPECT_EQ(rt.dump(fd), async::status::ok); });
    sleeper.cancel();
  });
  ASSERT_EQ(rt.run(), async::status::ok);
  EXPECT_EQ(normalized(text),
            "runtime R clock_ns=N fibers=2\n"
            "  1 \"\" sleep Tms fn=F stack=D/65536\n"
            "  2 \"\" running fn=F stack=D/65536\n");
}

TEST_F(CppDumpTest, StatusesWithoutThrowing) {
  async::runtime rt;
  EXPECT_EQ(rt.dump(-1), async::status::einval);
  async::status from_other = async::status::ok;
  std::thread([&] { from_other = rt.dump(STDOUT_FILENO); }).join();
  EXPECT_EQ(from_other, async::status::estate);
  const std::string idle = captured([&](int fd) { EXPECT_EQ(rt.dump(fd), async::status::ok); });
  // A seed from the environment appends its key to the header.
  const std::string text = normalized(idle);
  const std::string head = "runtime R clock_ns=N fibers=0";
  EXPECT_EQ(text.substr(0, head.size()), head) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

}  // namespace
