// SPDX-License-Identifier: MIT
// pipeline.cpp: a small pipeline of C++ fibers (async.hpp). Stages hand typed
// results on through join(); a bad input surfaces in main as the exception
// its stage threw; a stage that waits forever is cancelled and unwinds, its
// destructors running. The scheduler is deterministic, so the output is too.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "async.hpp"

using namespace std::chrono_literals;

namespace {

// Parses whitespace-separated integers, giving the other fibers a turn
// after each one.
std::vector<int> parse(const std::string& stage, const std::string& text) {
  std::vector<int> values;
  std::istringstream in(text);
  std::string token;
  while (in >> token) {
    const auto digits = token.find_first_not_of("0123456789");
    if (token.empty() || digits != std::string::npos) {
      throw std::invalid_argument(stage + ": bad token '" + token + "'");
    }
    values.push_back(std::stoi(token));
    std::printf("%s: parsed %d\n", stage.c_str(), values.back());
    async::this_fiber::yield();
  }
  return values;
}

// Prints when its scope ends, however it ends.
struct cleanup {
  const char* message;
  ~cleanup() { std::printf("%s\n", message); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {  // no arguments; --help says what it does
    const bool help = std::strcmp(argv[1], "--help") == 0;
    std::fprintf(help ? stdout : stderr,
                 "usage: %s  (no arguments) a pipeline of C++ fibers: results, an exception, a cancel\n",
                 argv[0]);
    return help ? 0 : 2;
  }
  try {
    async::runtime rt(async::config{}.task_capacity(16).fiber_stack_size(64 * 1024));

    auto good = async::spawn(rt, [] { return parse("good", "3 1 4 1 5"); });
    auto bad = async::spawn(rt, [] { return parse("bad", "2 7 x 8"); });
    // A second stage: joins the first inside a fiber, so it suspends until
    // `good` has ended.
    auto total = async::spawn(rt, [&good] {
      const std::vector<int> values = good.join();
      int sum = 0;
      for (int v : values) sum += v;
      std::printf("total: %zu values\n", values.size());
      return sum;
    });
    // A stage whose input never comes.
    auto stuck = async::spawn(rt, []() -> std::string {
      cleanup c{"stuck: cleaned up"};
      std::printf("stuck: waiting for input\n");
      async::this_fiber::sleep_for(24h);
      return "unreachable";
    });

    // Outside a fiber, join drives the runtime until that fiber has ended.
    std::printf("main: total = %d\n", total.join());
    try {
      (void)bad.join();
    } catch (const std::invalid_argument& e) {
      std::printf("main: bad failed: %s\n", e.what());
    }
    std::printf("main: cancelling stuck\n");
    stuck.cancel();
    try {
      (void)stuck.join();
    } catch (const async::cancelled& e) {
      std::printf("main: stuck ended: %s\n", e.what());
    }
    const async::status st = rt.run();
    std::printf("main: run: %s\n", st == async::status::ok ? "ok" : make_error_code(st).message().c_str());
    return st == async::status::ok ? 0 : 1;
  } catch (const async::error& e) {
    std::fprintf(stderr, "pipeline: %s\n", e.what());
    return 1;
  }
}
