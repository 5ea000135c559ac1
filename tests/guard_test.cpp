// SPDX-License-Identifier: MIT
// guard_test.cpp: a fiber that overflows its stack hits the guard page, and
// the runtime reports which fiber it was before the process dies by SIGSEGV.
// The death test overflows on purpose (a child dies by SIGSEGV, which a
// core-dump handler such as systemd-coredump may record), so it runs only
// when ASYNC_TEST_GUARD_PAGES=1 is set: CI sets it (`ASYNC_TEST_GUARD_PAGES=1
// make tests`); plain `make tests` reports it skipped, saying so.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../src/arch/sanitizer.h"
#include "support/runtime_fixture.h"

namespace {

// Far deeper than any fiber stack; volatile so the compiler cannot see the
// recursion is unbounded in practice.
volatile int g_depth_limit = 1 << 30;

// The volatile buffer defeats tail calls and keeps each frame large enough
// to reach the guard quickly.
int overflow(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (depth >= g_depth_limit) return frame[0];
  return overflow(depth + 1) + frame[0];
}

}  // namespace

// The entry function the report names: exported (async_tests links with
// ENABLE_EXPORTS), so that dladdr finds it by name.
extern "C" __attribute__((visibility("default"), noinline)) void async_test_overflow_entry(void*) {
  overflow(0);
}

namespace {

// The report must print the full handle id (runtime serial << 40 | fiber
// number). The serial depends on how many runtimes the process made before
// (test registration makes some: IoTest probes the backends), so the child
// prints the id its handle shows and the matcher below holds the report to
// that same id.
constexpr char spawned_marker[] = "async_test: spawned fiber ";

void overflow_in_a_fiber() {
  async_runtime_t rt;
  async_config_t cfg{};
  cfg.fiber_stack_size = 32 * 1024;
  if (async_runtime_init(&rt, &cfg) != ASYNC_OK) std::_Exit(2);
  async_spawn_options_t opts{};
  opts.name = "deep-recursion";
  async_fiber_handle_t h = async_spawn_ex(&rt, async_test_overflow_entry, nullptr, &opts);
  if (h.status != ASYNC_OK) std::_Exit(4);
  if ((h.id & ((1ull << 40) - 1)) != 1 || (h.id >> 40) == 0) {
    std::fprintf(stderr, "the fiber's id %llu is not the first fiber of a runtime\n",
                 static_cast<unsigned long long>(h.id));
    std::_Exit(5);
  }
  std::fprintf(stderr, "%s%llu\n", spawned_marker, static_cast<unsigned long long>(h.id));
  async_runtime_run(&rt);
  std::_Exit(3);  // not reached: the overflow kills the process
}

// True when the child's stderr has the marker line and then the report,
// naming the fiber by the very id the marker gave.
bool names_the_spawned_fiber(const std::string& err) {
  std::size_t at = err.find(spawned_marker);
  if (at == std::string::npos) return false;
  at += sizeof spawned_marker - 1;
  std::string id = err.substr(at, err.find('\n', at) - at);
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) return false;
  std::string report = "async: fiber stack overflow: fiber " + id +
                       " \"deep-recursion\" (entry function async_test_overflow_entry) ran past its "
                       "32768-byte stack";
  return err.find(report, at) != std::string::npos;
}

// names_the_spawned_fiber as a gtest matcher (gtest alone, without gmock's
// Truly: the arm64 build has no gmock).
class NamesTheSpawnedFiber : public ::testing::MatcherInterface<const std::string&> {
 public:
  bool MatchAndExplain(const std::string& err, ::testing::MatchResultListener*) const override {
    return names_the_spawned_fiber(err);
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "has \"" << spawned_marker << "<id>\" and then the overflow report naming fiber <id>";
  }
};

TEST(StackGuardDeathTest, OverflowHitsTheGuardPageAndNamesTheFiber) {
  const char* enabled = std::getenv("ASYNC_TEST_GUARD_PAGES");
  if (enabled == nullptr || std::strcmp(enabled, "1") != 0) {
    GTEST_SKIP() << "overflows a fiber stack on purpose (a child dies by SIGSEGV): "
                    "run with ASYNC_TEST_GUARD_PAGES=1 (CI does)";
  }
#if ASYNC_ASAN || ASYNC_TSAN
  GTEST_SKIP() << "sanitized build: the sanitizer reports stack overflows itself";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(overflow_in_a_fiber(), ::testing::KilledBySignal(SIGSEGV),
              ::testing::Matcher<const std::string&>(new NamesTheSpawnedFiber));
}

// The handler must not swallow a SIGSEGV that was sent rather than caused
// by a fault: nothing repeats it, so it re-raises it.
TEST(StackGuardDeathTest, ASentSegvStillKillsTheProcess) {
#if ASYNC_ASAN || ASYNC_TSAN
  GTEST_SKIP() << "sanitized build: the sanitizer handles SIGSEGV itself";
#endif
  // The default ("fast", fork only) style: "threadsafe" re-executes the
  // binary, which qemu-user without binfmt cannot do.
  EXPECT_EXIT(
      {
        async_runtime_t rt;
        if (async_runtime_init(&rt, nullptr) != ASYNC_OK) std::_Exit(2);  // installs the handler
        raise(SIGSEGV);
        std::_Exit(3);
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

}  // namespace
