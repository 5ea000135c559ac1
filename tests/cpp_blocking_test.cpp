// SPDX-License-Identifier: MIT
// cpp_blocking_test.cpp: async/blocking.hpp and connect by name: run_blocking
// carries results and exceptions and surfaces cancellation after the work;
// async::file reads and writes at offsets, reports end of file and errors in
// both forms; resolve() and tcp_stream::connect("localhost", port) look names
// up through the pool.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "async/blocking.hpp"
#include "gtest/gtest.h"
#include "support/leak_check.h"

namespace {

using namespace std::chrono_literals;

class CppBlockingTest : public async_test::LeakCheckedTest {};

TEST_F(CppBlockingTest, RunBlockingReturnsResultsAndRethrows) {
  async::runtime rt;
  auto f = async::spawn(rt, [] {
    const auto caller = std::this_thread::get_id();
    auto worker = async::run_blocking([] { return std::this_thread::get_id(); });
    EXPECT_NE(worker, caller) << "ran on a worker";
    std::string s = async::run_blocking([] { return std::string(100, 'x'); });
    EXPECT_EQ(s.size(), 100u);
    int side = 0;
    async::run_blocking([&] { side = 7; });
    EXPECT_EQ(side, 7);
    EXPECT_THROW(async::run_blocking([]() -> int { throw std::runtime_error("on the worker"); }),
                 std::runtime_error);
  });
  f.join();
  try {
    async::run_blocking([] {});
    FAIL() << "run_blocking outside a fiber did not throw";
  } catch (const async::error& e) {
    EXPECT_EQ(e.code(), async::status::estate);
  }
}

TEST_F(CppBlockingTest, CancelledWhileTheCallRunsThrowsAfterIt) {
  async::runtime rt;
  std::atomic<bool> started{false}, release{false}, finished{false};
  std::vector<std::string> trace;
  auto victim = async::spawn(rt, [&] {
    trace.push_back("call");
    try {
      async::run_blocking([&] {
        started = true;
        while (!release) std::this_thread::sleep_for(100us);
        finished = true;
      });
    } catch (const async::cancelled&) {
      trace.push_back(finished ? "cancelled after fn" : "cancelled before fn ended");
      throw;
    }
  });
  auto other = async::spawn(rt, [&] {
    while (!started) async::this_fiber::sleep_for(1ms);
    victim.handle().cancel();
    trace.push_back("cancel");
    async::this_fiber::yield();
    trace.push_back("release");
    release = true;
  });
  other.join();
  EXPECT_THROW(victim.join(), async::cancelled);
  EXPECT_EQ(trace, (std::vector<std::string>{"call", "cancel", "release", "cancelled after fn"}));
}

struct temp_path {
  std::string path = "/tmp/cpp_blocking_test.XXXXXX";
  temp_path() {
    const int fd = mkstemp(path.data());
    EXPECT_GE(fd, 0);
    ::close(fd);
  }
  ~temp_path() { ::unlink(path.c_str()); }
};

TEST_F(CppBlockingTest, FileReadsAndWritesAtOffsets) {
  temp_path tmp;
  async::runtime rt;
  async::spawn(rt, [&] {
    async::file f = async::file::open(tmp.path, O_RDWR);
    ASSERT_TRUE(f.is_open());
    f.write_at(100, "abcdef");
    f.write_at(0, std::string("xy"));
    f.sync();
    char buf[16] = {};
    EXPECT_EQ(f.read_at(100, buf), 6u);
    EXPECT_EQ(std::string(buf, 6), "abcdef");
    EXPECT_EQ(f.read_at(0, {buf, 3}), 3u);
    EXPECT_EQ(std::string(buf, 3), std::string("xy\0", 3));
    EXPECT_EQ(f.read_at(106, buf), 0u) << "end of file";
    EXPECT_EQ(f.read_at(1 << 20, buf), 0u);

    // Moves carry the fd; a moved-from file is empty: einval.
    async::file g = std::move(f);
    EXPECT_FALSE(f.is_open());
    std::error_code ec;
    EXPECT_EQ(f.read_at(0, buf, ec), 0u);
    EXPECT_EQ(ec, async::status::einval);
    EXPECT_THROW(f.sync(), async::error);

    // Errors of the OS: io_error (thrown) or the errno (ec).
    async::file ro = async::file::open(tmp.path, O_RDONLY);
    EXPECT_EQ(ro.write_at(0, "z", ec), 0u);
    EXPECT_EQ(ec, std::errc::bad_file_descriptor);
    try {
      ro.write_at(0, "z");
      ADD_FAILURE() << "write to a read-only file did not throw";
    } catch (const async::io_error& e) {
      EXPECT_EQ(e.os_error(), std::errc::bad_file_descriptor);
      EXPECT_EQ(e.code(), async::status::eio);
    }
    try {
      (void)async::file::open(tmp.path + ".missing", O_RDONLY);
      ADD_FAILURE() << "open of a missing file did not throw";
    } catch (const async::io_error& e) {
      EXPECT_EQ(e.os_error(), std::errc::no_such_file_or_directory);
    }
    async::file none = async::file::open(tmp.path + ".missing", O_RDONLY, 0, ec);
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    EXPECT_FALSE(none.is_open());

    g.close();
    EXPECT_THROW(g.close(), async::error);
    const int fd = ro.release();
    EXPECT_GE(fd, 0);
    ::close(fd);
  }).join();
}

TEST_F(CppBlockingTest, ResolveLooksNamesUpThroughThePool) {
  async::runtime rt;
  async::spawn(rt, [] {
    auto local = async::resolve("localhost", 80);
    bool v4 = false;
    for (const auto& e : local) v4 = v4 || e == async::endpoint{"127.0.0.1", 80};
    EXPECT_TRUE(v4);
    EXPECT_EQ(async::resolve("10.0.0.1", 7), (std::vector<async::endpoint>{{"10.0.0.1", 7}}));
    try {
      (void)async::resolve("nowhere.invalid", 80);
      ADD_FAILURE() << "a .invalid name resolved";
    } catch (const async::resolve_error& e) {
      EXPECT_EQ(e.code(), async::status::eio);
      EXPECT_EQ(e.gai_error().category(), async::resolve_category());
      EXPECT_NE(e.gai_error().value(), 0);
    }
  }).join();
}

TEST_F(CppBlockingTest, ConnectByNameTriesTheAddressesInOrder) {
  async::runtime rt;
  auto listener = async::tcp_listener::bind(rt, "127.0.0.1", 0);
  const std::uint16_t port = listener.local_endpoint().port;
  auto server = async::spawn(rt, [&] {
    for (int i = 0; i < 2; ++i) {
      async::tcp_stream s = listener.accept();
      s.write_all("hi");
    }
  });
  auto client = async::spawn(rt, [&] {
    // "localhost" may resolve to ::1 first (nothing listens there: refused,
    // then 127.0.0.1) or to 127.0.0.1 only, as on this project's VM.
    for (int i = 0; i < 2; ++i) {
      async::tcp_stream c = i == 0 ? async::tcp_stream::connect("localhost", port)
                                   : async::tcp_stream::connect_for("localhost", port, 30s);
      char buf[2];
      c.read_exact(buf);
      EXPECT_EQ(std::string(buf, 2), "hi");
      EXPECT_EQ(c.remote_endpoint(), (async::endpoint{"127.0.0.1", port}));
    }
  });
  client.join();
  server.join();
}

}  // namespace
