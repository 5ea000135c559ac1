// SPDX-License-Identifier: MIT
// cpp_dgram_test.cpp: async::udp_socket (async/io.hpp): ping-pong over
// 127.0.0.1 and ::1, truncation, zero-length datagrams, timeouts, cancel
// while waiting, connect, and the errors (thrown and std::error_code).
// Loopback only, bounded counts, no timing in any check. Every test ends
// with as many open fds as it began with (the fixture counts them).
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "async/io.hpp"
#include "support/cpp_runtime_fixture.h"
#include "support/fd_count.h"
#include "support/seeded.h"

namespace {

using namespace std::chrono_literals;
using async_test::open_fd_count;

class CppDgramTest : public async_test::CppRuntimeFixture {
 protected:
  // Made before the test body, whose fd counts must not see its poller open.
  void SetUp() override {
    CppRuntimeFixture::SetUp();
    rt();
  }

  template <class F>
  auto spawn(F&& f) {
    return async::spawn(rt(), std::forward<F>(f));
  }
  void run() { ASSERT_EQ(rt().run(), async::status::ok); }

  // Three rounds: a sends "ping i", b answers "pong i" to the sender.
  void ping_pong(async::udp_socket& a, async::udp_socket& b) {
    const async::endpoint at_a = a.local_endpoint();
    const async::endpoint at_b = b.local_endpoint();
    auto ponger = spawn([&] {  // starts first: parks in recv_from
      for (int i = 0; i < 3; ++i) {
        char buf[32];
        async::endpoint from;
        const std::size_t n = b.recv_from(buf, from);
        EXPECT_EQ(from, at_a);
        trace.push_back("b got " + std::string(buf, n));
        buf[1] = 'o';
        EXPECT_EQ(b.send_to({buf, n}, from), n);
      }
    });
    auto pinger = spawn([&] {
      for (int i = 0; i < 3; ++i) {
        const std::string msg = "ping " + std::to_string(i);
        EXPECT_EQ(a.send_to(msg, at_b), msg.size());
        char buf[32];
        async::endpoint from;
        const std::size_t n = a.recv_from(buf, from);
        EXPECT_EQ(from, at_b);
        trace.push_back("a got " + std::string(buf, n));
      }
    });
    run();
    ponger.join();
    pinger.join();
    EXPECT_EQ(trace, (std::vector<std::string>{"b got ping 0", "a got pong 0", "b got ping 1", "a got pong 1",
                                               "b got ping 2", "a got pong 2"}));
  }

  std::vector<std::string> trace;
};

TEST_F(CppDgramTest, PingPongOverIPv4Loopback) {
  auto a = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto b = async::udp_socket::bind(rt(), "localhost", 0);
  EXPECT_EQ(a.local_endpoint().address, "127.0.0.1");
  EXPECT_NE(a.local_endpoint().port, 0);
  ping_pong(a, b);
}

TEST_F(CppDgramTest, PingPongOverIPv6Loopback) {
  std::optional<async::udp_socket> a, b;
  try {
    a.emplace(async::udp_socket::bind(rt(), "::1", 0));
    b.emplace(async::udp_socket::bind(rt(), "::1", 0));
  } catch (const async::io_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(a->local_endpoint().address, "::1");
  ping_pong(*a, *b);
}

TEST_F(CppDgramTest, ALongDatagramIsTruncatedAndAnEmptyOneArrives) {
  auto a = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto b = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto f = spawn([&] {
    const async::endpoint to = b.local_endpoint();
    a.send_to("0123456789", to);
    a.send_to("next", to);
    EXPECT_EQ(a.send_to(async::const_buffer{}, to), 0u);  // a zero-length datagram
    std::array<char, 4> small{};
    async::endpoint from;
    EXPECT_EQ(b.recv_from(small, from), 4u);  // the rest of that datagram is gone
    EXPECT_EQ(std::string(small.data(), 4), "0123");
    char buf[16];
    EXPECT_EQ(b.recv_from(buf, from), 4u);
    EXPECT_EQ(std::string(buf, 4), "next");
    from = {};
    EXPECT_EQ(b.recv_from(buf, from), 0u);  // not an end of anything
    EXPECT_EQ(from, a.local_endpoint());
  });
  run();
  f.join();
}

TEST_F(CppDgramTest, TimeoutsThrowOrSetTheCodeAndAPastDeadlineTriesOnce) {
  auto a = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto b = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto f = spawn([&] {
    char buf[8];
    async::endpoint from{"untouched", 7};
    try {
      (void)b.recv_from_for(buf, from, 2ms);
      ADD_FAILURE() << "received";
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::etimedout);
      EXPECT_EQ(std::string(e.what()).rfind("async::udp_socket::recv_from_for", 0), 0u) << e.what();
    }
    std::error_code ec;
    EXPECT_EQ(b.recv_from_for(buf, from, 1ms, ec), 0u);
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_EQ(from, (async::endpoint{"untouched", 7}));  // assigned on success only
    const auto past = std::chrono::steady_clock::now() - 1s;
    EXPECT_THROW((void)b.recv_from_until(buf, from, past), async::error);
    EXPECT_EQ(a.send_to_until("late", b.local_endpoint(), past), 4u);  // one try: it goes
    EXPECT_EQ(b.recv_from_until(buf, from, past, ec), 4u);            // one try: it is there
    EXPECT_FALSE(ec);
    EXPECT_EQ(from, a.local_endpoint());
    EXPECT_EQ(a.send_to_for("k", b.local_endpoint(), 1s, ec), 1u);
    EXPECT_FALSE(ec);
    EXPECT_EQ(b.recv_from_until(buf, from, std::chrono::steady_clock::now() + 1s), 1u);
    EXPECT_EQ(a.send_to_for("j", b.local_endpoint(), 1s), 1u);
    EXPECT_EQ(a.send_to_until("i", b.local_endpoint(), std::chrono::steady_clock::now() + 1s, ec), 1u);
    EXPECT_EQ(b.recv_from(buf, from, ec), 1u);
    EXPECT_EQ(buf[0], 'j');
    EXPECT_EQ(b.recv_from_for(buf, from, 1s), 1u);
    EXPECT_EQ(buf[0], 'i');
  });
  run();
  f.join();
}

TEST_F(CppDgramTest, CancelWhileWaitingInRecvFromThrowsCancelledAndTakesNothing) {
  ASYNC_FIFO_ONLY();
  auto a = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto b = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto victim = spawn([&] {
    char buf[8];
    async::endpoint from;
    trace.push_back("victim waits");
    try {
      (void)b.recv_from(buf, from);
    } catch (const async::cancelled&) {
      trace.push_back("victim cancelled");
      throw;
    }
  });
  auto receiver = spawn([&] {  // waits behind the victim
    char buf[8];
    async::endpoint from;
    const std::size_t n = b.recv_from(buf, from);
    trace.push_back("receiver got " + std::string(buf, n));
  });
  auto canceller = spawn([&] {
    victim.handle().cancel();
    async::this_fiber::yield();  // the victim unwinds first
    a.send_to("one", b.local_endpoint());
  });
  run();
  EXPECT_THROW(victim.join(), async::cancelled);
  receiver.join();
  canceller.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"victim waits", "victim cancelled", "receiver got one"}));
}

TEST_F(CppDgramTest, ErrorsAreIoErrorsOrStatusesInBothForms) {
  auto a = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto f = spawn([&] {
    static std::array<char, 70000> big{};  // more than UDP over IPv4 carries
    const async::endpoint self = a.local_endpoint();
    try {
      (void)a.send_to(big, self);
      ADD_FAILURE() << "sent";
    } catch (const async::io_error& e) {
      EXPECT_EQ(e.os_error(), std::errc::message_size);
    }
    std::error_code ec;
    EXPECT_EQ(a.send_to(big, self, ec), 0u);
    EXPECT_EQ(ec, std::errc::message_size);
    // An endpoint that does not parse: einval, nothing sent.
    EXPECT_EQ(a.send_to("x", async::endpoint{"not an address", 1}, ec), 0u);
    EXPECT_EQ(ec, async::status::einval);
    try {
      (void)a.send_to("x", async::endpoint{"", 1});
      ADD_FAILURE() << "sent";
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::einval);
    }
    // A closed handle: einval.
    async::udp_socket closed = async::udp_socket::bind("127.0.0.1", 0);
    closed.close();
    char buf[4];
    async::endpoint from;
    EXPECT_EQ(closed.recv_from(buf, from, ec), 0u);
    EXPECT_EQ(ec, async::status::einval);
    EXPECT_THROW(closed.connect(self), async::error);
    EXPECT_THROW((void)closed.local_endpoint(), async::error);
  });
  run();
  f.join();
  // Outside a fiber: estate.
  char buf[4];
  async::endpoint from;
  try {
    (void)a.recv_from(buf, from);
    ADD_FAILURE() << "received outside a fiber";
  } catch (const async::error& e) {
    EXPECT_EQ(e.status_code(), async::status::estate);
  }
}

TEST_F(CppDgramTest, BindRefusesBadAddressesAndABoundPort) {
  EXPECT_THROW((void)async::udp_socket::bind(rt(), "999.1.1.1", 0), async::error);
  auto a = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  try {
    (void)async::udp_socket::bind(rt(), "127.0.0.1", a.local_endpoint().port);
    ADD_FAILURE() << "bound twice";
  } catch (const async::io_error& e) {
    EXPECT_EQ(e.os_error(), std::errc::address_in_use);
  }
  try {
    (void)async::udp_socket::bind(rt(), "192.0.2.1", 0);  // TEST-NET-1: not a local address
    ADD_FAILURE() << "bound a foreign address";
  } catch (const async::io_error& e) {
    EXPECT_EQ(e.os_error(), std::errc::address_not_available);
  }
}

TEST_F(CppDgramTest, AConnectedSocketReadsAndWritesItsPeersDatagrams) {
  auto a = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto b = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  auto stranger = async::udp_socket::bind(rt(), "127.0.0.1", 0);
  a.connect(b.local_endpoint());  // does not suspend: fine outside a fiber
  std::error_code ec;
  a.connect(async::endpoint{"nope", 1}, ec);
  EXPECT_EQ(ec, async::status::einval);
  auto f = spawn([&] {
    stranger.send_to("noise", a.local_endpoint());  // dropped: a hears only b
    EXPECT_EQ(a.write_some("via write"), 9u);
    char buf[16];
    async::endpoint from;
    EXPECT_EQ(b.recv_from(buf, from), 9u);
    EXPECT_EQ(from, a.local_endpoint());
    b.send_to("reply", from);
    EXPECT_EQ(a.read_some(buf), 5u);
    EXPECT_EQ(std::string(buf, 5), "reply");
  });
  run();
  f.join();
}

TEST_F(CppDgramTest, ASocketAdoptsADatagramFd) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  async::udp_socket a(rt(), sv[0]);  // any datagram socket: here a Unix pair
  auto f = spawn([&] {
    async::udp_socket b(sv[1]);  // the calling fiber's runtime
    EXPECT_EQ(a.write_some("one"), 3u);
    EXPECT_EQ(a.write_some("two"), 3u);
    char buf[8];
    EXPECT_EQ(b.read_some(buf), 3u);  // one datagram per call
    EXPECT_EQ(std::string(buf, 3), "one");
  });
  run();
  f.join();
}

}  // namespace
