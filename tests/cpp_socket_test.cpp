// SPDX-License-Identifier: MIT
// cpp_socket_test.cpp: what async/io.hpp's sockets gained by being made by
// the C calls of async/io.h (async_tcp_listen, async_socket_connect_until,
// ...): the C checks reach C++. A negative backlog is einval before a
// socket exists (it used to go to listen(2), which took it), and a connect
// from a cancelled fiber, TCP or unix, throws cancelled and leaves no
// socket open. No fd stays open after any of them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "async.hpp"
#include "async/io.hpp"
#include "support/fd_count.h"

namespace {

TEST(CppSocketTest, NegativeBacklogIsEinvalAndOpensNothing) {
  async::runtime rt;
  const int fds = async_test::open_fd_count();
  try {
    (void)async::tcp_listener::bind(rt, "127.0.0.1", 0, -1);
    ADD_FAILURE() << "bind with backlog -1 did not throw";
  } catch (const async::error& e) {
    EXPECT_EQ(e.code(), async::status::einval);
  }
  char dir[] = "/tmp/cpp_socket_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s";
  try {
    (void)async::unix_listener::bind(rt, path, -1);
    ADD_FAILURE() << "unix bind with backlog -1 did not throw";
  } catch (const async::error& e) {
    EXPECT_EQ(e.code(), async::status::einval);
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0);  // no file was made
  EXPECT_EQ(rmdir(dir), 0);
  EXPECT_EQ(async_test::open_fd_count(), fds);
}

TEST(CppSocketTest, ConnectFromACancelledFiberThrowsCancelledAndLeavesNoSocket) {
  async::runtime rt;
  char dir[] = "/tmp/cpp_socket_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s";
  async::unix_listener unix_l = async::unix_listener::bind(rt, path);
  async::tcp_listener tcp_l = async::tcp_listener::bind(rt, "127.0.0.1", 0);
  const std::uint16_t port = tcp_l.local_endpoint().port;
  const int fds = async_test::open_fd_count();
  std::string trace;
  auto f = async::spawn(rt, [&] {
    async::this_fiber::self().cancel();
    try {
      (void)async::unix_stream::connect(path);
      trace += "unix-connected ";
    } catch (const async::cancelled&) {
      trace += "unix-cancelled ";
    }
    std::error_code ec;
    try {
      (void)async::tcp_stream::connect("127.0.0.1", port, ec);
      trace += "tcp-connected ";
    } catch (const async::cancelled&) {
      trace += "tcp-cancelled ";
    }
    trace += std::to_string(async_test::open_fd_count() - fds);
  });
  ASSERT_EQ(rt.run(), async::status::ok);
  f.detach();
  EXPECT_EQ(trace, "unix-cancelled tcp-cancelled 0");
  unix_l.close();
  tcp_l.close();
  EXPECT_EQ(rmdir(dir), 0);
}

}  // namespace
