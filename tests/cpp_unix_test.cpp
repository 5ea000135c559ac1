// SPDX-License-Identifier: MIT
// cpp_unix_test.cpp: async::unix_stream and async::unix_listener
// (async/io.hpp): an echo with half-close, who removes the socket file
// (close, destructor, release, a replaced file, moves), and the errors of
// bind, connect and accept. Paths live in a fresh mkdtemp directory that
// must be empty again at the end of each test; no fd may leak.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "async/io.hpp"
#include "support/cpp_runtime_fixture.h"
#include "support/fd_count.h"

namespace {

using namespace std::chrono_literals;
using async_test::open_fd_count;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

class CppUnixTest : public async_test::CppRuntimeFixture {
 protected:
  void SetUp() override {
    CppRuntimeFixture::SetUp();
    char tmpl[] = "/tmp/async_unix_cpp_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    rt();  // made before the test body, whose fd counts must not see its poller open
  }
  void TearDown() override {
    CppRuntimeFixture::TearDown();
    EXPECT_EQ(::rmdir(dir_.c_str()), 0) << "a file was left in " << dir_;
  }

  std::string path(const char* name) const { return dir_ + "/" + name; }
  template <class F>
  auto spawn(F&& f) {
    return async::spawn(rt(), std::forward<F>(f));
  }
  void run() { ASSERT_EQ(rt().run(), async::status::ok); }

  std::vector<std::string> trace;
  std::string dir_;
};

TEST_F(CppUnixTest, EchoWithHalfCloseAndTheListenerRemovesItsPath) {
  auto listener = async::unix_listener::bind(rt(), path("echo"));
  EXPECT_EQ(listener.path(), path("echo"));
  EXPECT_TRUE(exists(path("echo")));
  auto server = spawn([&] {
    async::unix_stream s = listener.accept();
    trace.push_back("accepted");
    char buf[64];
    std::string got;
    while (std::size_t n = s.read_some(buf)) got.append(buf, n);  // until shutdown_write
    trace.push_back("server read " + got);
    s.write_all("echo:" + got);
  });
  auto client = spawn([&] {
    async::unix_stream c = async::unix_stream::connect(path("echo"));
    trace.push_back("connected");
    c.write_all("ping");
    c.shutdown_write();
    char buf[64];
    std::string got;
    while (std::size_t n = c.read_some(buf)) got.append(buf, n);
    trace.push_back("client read " + got);
  });
  run();
  server.join();
  client.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"connected", "accepted", "server read ping", "client read echo:ping"}));
  listener.close();
  EXPECT_FALSE(exists(path("echo")));
  EXPECT_EQ(listener.path(), "");
}

TEST_F(CppUnixTest, TheDestructorRemovesThePathAndReleaseLeavesIt) {
  { auto l = async::unix_listener::bind(rt(), path("a")); }
  EXPECT_FALSE(exists(path("a")));

  auto l = async::unix_listener::bind(rt(), path("b"));
  const int fd = l.release();
  EXPECT_GE(fd, 0);
  EXPECT_EQ(l.path(), "");
  EXPECT_FALSE(l.is_open());
  EXPECT_TRUE(exists(path("b")));  // the caller's now
  ::close(fd);
  ::unlink(path("b").c_str());
}

TEST_F(CppUnixTest, ACloseThroughTheBaseLeavesThePathToTheDestructor) {
  auto f = spawn([&] {
    auto l = async::unix_listener::bind(path("base"));  // the calling fiber's runtime
    async::io_handle& base = l;
    base.close();
    EXPECT_TRUE(exists(path("base")));
  });
  run();
  f.join();
  EXPECT_FALSE(exists(path("base")));
}

TEST_F(CppUnixTest, AFileThatReplacedTheSocketIsLeftAlone) {
  {
    auto l = async::unix_listener::bind(rt(), path("s"));
    ASSERT_EQ(::unlink(path("s").c_str()), 0);
    std::ofstream(path("s")) << "someone else's";
  }
  EXPECT_TRUE(exists(path("s")));
  ::unlink(path("s").c_str());
}

TEST_F(CppUnixTest, AMovedListenerOwnsThePathAndTheMovedFromNone) {
  auto a = async::unix_listener::bind(rt(), path("m"));
  async::unix_listener b(std::move(a));
  EXPECT_EQ(a.path(), "");  // NOLINT(bugprone-use-after-move): moved-from is specified
  EXPECT_EQ(b.path(), path("m"));
  auto c = async::unix_listener::bind(rt(), path("n"));
  c = std::move(b);  // c's own path goes with its socket
  EXPECT_FALSE(exists(path("n")));
  EXPECT_TRUE(exists(path("m")));
  std::error_code ec;
  c.close(ec);
  EXPECT_FALSE(ec);
  EXPECT_FALSE(exists(path("m")));
  c.close(ec);  // closed already
  EXPECT_EQ(ec, async::status::einval);
}

TEST_F(CppUnixTest, BindRefusesAnExistingPathBadPathsAndAMissingDirectory) {
  std::ofstream(path("taken")) << "x";
  try {
    (void)async::unix_listener::bind(rt(), path("taken"));
    ADD_FAILURE() << "bound over a file";
  } catch (const async::io_error& e) {
    EXPECT_EQ(e.os_error(), std::errc::address_in_use);
  }
  EXPECT_TRUE(exists(path("taken")));  // never removed by bind
  ::unlink(path("taken").c_str());
  try {
    (void)async::unix_listener::bind(rt(), path("no/such/dir"));
    ADD_FAILURE() << "bound in a missing directory";
  } catch (const async::io_error& e) {
    EXPECT_EQ(e.os_error(), std::errc::no_such_file_or_directory);
  }
  for (const std::string& bad : {std::string(), std::string(200, 'x'), std::string("a\0b", 3)}) {
    try {
      (void)async::unix_listener::bind(rt(), bad);
      ADD_FAILURE() << "bound a bad path";
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::einval);
    }
  }
}

TEST_F(CppUnixTest, ConnectErrorsInBothForms) {
  std::error_code ec;
  (void)async::unix_stream::connect(path("x"), ec);  // outside a fiber: no socket made
  EXPECT_EQ(ec, async::status::estate);
  {
    auto l = async::unix_listener::bind(rt(), path("gone"));
    ::close(l.release());  // the file stays, nobody listens on it
  }
  auto f = spawn([&] {
    try {
      (void)async::unix_stream::connect(path("missing"));
      ADD_FAILURE() << "connected";
    } catch (const async::io_error& e) {
      EXPECT_EQ(e.os_error(), std::errc::no_such_file_or_directory);
      EXPECT_EQ(std::string(e.what()).rfind("async::unix_stream::connect: ", 0), 0u) << e.what();
    }
    std::error_code ec2;
    async::unix_stream s = async::unix_stream::connect(path("gone"), ec2);
    EXPECT_EQ(ec2, std::errc::connection_refused);
    EXPECT_FALSE(s.is_open());
    s = async::unix_stream::connect_for(path("gone"), 1s, ec2);
    EXPECT_EQ(ec2, std::errc::connection_refused);
    EXPECT_THROW((void)async::unix_stream::connect_for(path("gone"), 1s), async::io_error);
    EXPECT_THROW((void)async::unix_stream::connect_until(path("gone"), std::chrono::steady_clock::now()),
                 async::io_error);
    s = async::unix_stream::connect_until(path("gone"), std::chrono::steady_clock::now() + 1s, ec2);
    EXPECT_EQ(ec2, std::errc::connection_refused);
    s = async::unix_stream::connect(std::string(200, 'y'), ec2);
    EXPECT_EQ(ec2, async::status::einval);
    EXPECT_THROW((void)async::unix_stream::connect(""), async::error);
  });
  run();
  f.join();
  ::unlink(path("gone").c_str());
}

TEST_F(CppUnixTest, TimedConnectAndAcceptAndShutdownErrors) {
  auto listener = async::unix_listener::bind(rt(), path("t"));
  auto f = spawn([&] {
    std::error_code ec;
    async::unix_stream none = listener.accept_for(1ms, ec);  // nobody connects yet
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_FALSE(none.is_open());
    EXPECT_THROW((void)listener.accept_until(std::chrono::steady_clock::now()), async::error);
    async::unix_stream c = async::unix_stream::connect_for(path("t"), 1s);
    async::unix_stream s = listener.accept_for(1s);
    c.write_all("a");
    char ch = 0;
    s.read_exact({&ch, 1});
    EXPECT_EQ(ch, 'a');
    async::unix_stream c2 = async::unix_stream::connect_until(path("t"), std::chrono::steady_clock::now() + 1s);
    async::unix_stream s2 = listener.accept_until(std::chrono::steady_clock::now() + 1s, ec);
    EXPECT_FALSE(ec);
    async::unix_stream c3 = async::unix_stream::connect(path("t"), ec);
    EXPECT_FALSE(ec);
    async::unix_stream s3 = listener.accept(ec);
    EXPECT_FALSE(ec);
    s3.shutdown_write(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(c3.read_some({&ch, 1}), 0u);  // end of stream
    c3.close();
    async::unix_stream empty;
    empty.shutdown_write(ec);
    EXPECT_EQ(ec, async::status::einval);
    EXPECT_THROW(empty.shutdown_write(), async::error);
  });
  run();
  f.join();
}

TEST_F(CppUnixTest, AStreamAdoptsOneEndOfASocketpair) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  async::unix_stream a(rt(), sv[0]);
  async::unix_stream b(rt(), sv[1]);
  auto f = spawn([&] {
    a.write_all("pair");
    char buf[4];
    b.read_exact(buf);
    EXPECT_EQ(std::string(buf, 4), "pair");
  });
  run();
  f.join();
}

}  // namespace
