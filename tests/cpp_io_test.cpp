// SPDX-License-Identifier: MIT
// cpp_io_test.cpp: the C++ I/O wrappers (async/io.hpp): io_handle, pipes,
// tcp_stream, tcp_listener; their errors (thrown and std::error_code),
// timeouts, cancellation and RAII. Every test ends with as many open file
// descriptors as it began with (LeakCheckedTest, support/leak_check.h, counts them).
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "async/io.hpp"
#include "support/cpp_runtime_fixture.h"
#include "support/fd_count.h"
#include "support/seeded.h"

namespace {

// Pipes are taken as `async::pipe_ends p = ...; auto& r = p.reader;`, not
// `auto [r, w] = ...`: clang before 16 cannot capture structured bindings
// in lambdas.
using namespace std::chrono_literals;

using async_test::open_fd_count;

class CppIoTest : public async_test::CppRuntimeFixture {
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

  // Fills the pipe's buffer until a write would block.
  static std::size_t fill(async::pipe_writer& w) {
    static char block[65536];
    std::size_t total = 0;
    for (;;) {
      const ssize_t r = ::write(w.native_handle(), block, sizeof block);
      if (r <= 0) break;
      total += static_cast<std::size_t>(r);
    }
    return total;
  }

  std::vector<std::string> trace;
};

// ------------------------------------------------------------------ buffers

TEST(CppIoBufferTest, ConversionsCoverTheWholeRangeOrTheCString) {
  char text[16] = "ping";
  std::array<std::byte, 8> bytes{};
  std::vector<unsigned char> vec(5);
  std::string s = "hello";

  async::mutable_buffer m1 = text;  // a whole array
  EXPECT_EQ(m1.size(), sizeof text);
  async::mutable_buffer m2 = bytes;
  EXPECT_EQ(m2.size(), 8u);
  async::mutable_buffer m3 = vec;
  EXPECT_EQ(m3.data(), vec.data());
  EXPECT_EQ(m3.size(), 5u);
  async::mutable_buffer m4{text, 3};
  EXPECT_EQ(m4.size(), 3u);

  async::const_buffer c1 = "ping";  // a C string: no NUL
  EXPECT_EQ(c1.size(), 4u);
  async::const_buffer c2 = text;  // a char array is a C string too
  EXPECT_EQ(c2.size(), 4u);
  async::const_buffer c3 = s;
  EXPECT_EQ(c3.size(), 5u);
  async::const_buffer c4 = std::string_view("abc");
  EXPECT_EQ(c4.size(), 3u);
  const std::array<unsigned char, 3> cu{1, 2, 3};
  async::const_buffer c5 = cu;
  EXPECT_EQ(c5.size(), 3u);
  async::const_buffer c6 = m2;
  EXPECT_EQ(c6.data(), bytes.data());
  static_assert(!std::is_convertible_v<const std::array<char, 4>&, async::mutable_buffer>,
                "reading into const bytes does not compile");
}

TEST(CppIoEndpointTest, PrintsV4AndBracketedV6) {
  EXPECT_EQ((async::endpoint{"127.0.0.1", 8080}).to_string(), "127.0.0.1:8080");
  EXPECT_EQ((async::endpoint{"::1", 80}).to_string(), "[::1]:80");
  EXPECT_EQ((async::endpoint{"::1", 80}), (async::endpoint{"::1", 80}));
}

// -------------------------------------------------------------------- pipes

TEST_F(CppIoTest, AReaderSuspendsUntilTheWriterWrites) {
  ASYNC_FIFO_ONLY();
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  auto reader = spawn([&] {
    char buf[16];
    trace.push_back("reader waits");
    const std::size_t n = r.read_some(buf);
    trace.push_back("reader got " + std::string(buf, n));
  });
  auto writer = spawn([&] {
    trace.push_back("writer writes");
    EXPECT_EQ(w.write_some("hello"), 5u);
    trace.push_back("writer done");
  });
  run();
  reader.join();
  writer.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"reader waits", "writer writes", "writer done", "reader got hello"}));
}

TEST_F(CppIoTest, ReadSomeReturnsZeroAtEndOfFile) {
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  auto reader = spawn([&] {
    char buf[8];
    const std::size_t first = r.read_some(buf);
    trace.push_back("got " + std::string(buf, first));
    EXPECT_EQ(r.read_some(buf), 0u);
    trace.push_back("eof");
    std::error_code ec;
    EXPECT_EQ(r.read_some(buf, ec), 0u);  // still end of file, no error
    EXPECT_FALSE(ec);
  });
  auto writer = spawn([&] {
    w.write_all("ab");
    w.close();
    trace.push_back("closed writer");
  });
  run();
  reader.join();
  writer.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"closed writer", "got ab", "eof"}));
  EXPECT_FALSE(w.is_open());
  EXPECT_TRUE(r.is_open());
}

TEST_F(CppIoTest, MakePipeInAFiberUsesThatFibersRuntime) {
  auto f = spawn([&] {
    async::pipe_ends rw_ = async::make_pipe();
    auto& r = rw_.reader;
    auto& w = rw_.writer;
    EXPECT_EQ(rt().stats().io_registered, 2u);
    w.write_all("x");
    char c = 0;
    r.read_exact({&c, 1});
    return c;
  });
  run();
  EXPECT_EQ(f.join(), 'x');
  EXPECT_EQ(rt().stats().io_registered, 0u);  // both ends closed by RAII in the fiber
}

TEST_F(CppIoTest, WriteAllAndReadExactMoveAMegabyteThroughPartialWrites) {
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  const std::size_t total = 1 << 20;
  std::vector<unsigned char> out(total), in(total);
  for (std::size_t i = 0; i < total; ++i) out[i] = static_cast<unsigned char>(i * 7 + i / 251);
  auto writer = spawn([&] {
    const std::size_t n = w.write_some(out);  // one write: as much as the pipe takes
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, total);
    trace.push_back("partial");
    w.write_all({out.data() + n, total - n});
    trace.push_back("all written");
    w.close();
  });
  auto reader = spawn([&] {
    r.read_exact(in);
    trace.push_back("all read");
    char c;
    EXPECT_EQ(r.read_some({&c, 1}), 0u);
  });
  run();
  writer.join();
  reader.join();
  EXPECT_EQ(in, out);
  EXPECT_EQ(trace, (std::vector<std::string>{"partial", "all written", "all read"}));
}

TEST_F(CppIoTest, ReadExactAtEndOfFileIsEclosedAndTheEcFormSaysHowMuchCame) {
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  auto f = spawn([&] {
    w.write_all("abc");
    w.close();
    char buf[8];
    std::error_code ec;
    EXPECT_EQ(r.read_exact({buf, 2}, ec), 2u);
    EXPECT_FALSE(ec);
    EXPECT_EQ(std::string(buf, 2), "ab");
    EXPECT_EQ(r.read_exact(buf, ec), 1u);  // "c", then end of file
    EXPECT_EQ(ec, async::status::eclosed);
    EXPECT_EQ(buf[0], 'c');
    try {
      r.read_exact(buf);
      ADD_FAILURE() << "read_exact at end of file did not throw";
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::eclosed);
      EXPECT_EQ(std::string(e.what()).rfind("async::read_exact", 0), 0u) << e.what();
    }
  });
  run();
  f.join();
}

TEST_F(CppIoTest, TimeoutsThrowEtimedoutOrSetTheCode) {
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  auto f = spawn([&] {
    char c;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      (void)r.read_some_for({&c, 1}, 5ms);
      ADD_FAILURE() << "no timeout";
    } catch (const async::error& e) {
      EXPECT_EQ(e.code(), async::status::etimedout);
      EXPECT_EQ(e.code(), std::errc::timed_out);
    }
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 5ms);
    std::error_code ec;
    EXPECT_EQ(r.read_some_for({&c, 1}, 1ms, ec), 0u);
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_EQ(r.read_some_until({&c, 1}, std::chrono::steady_clock::now() + 1ms, ec), 0u);
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_EQ(r.read_exact_for({&c, 1}, 1ms, ec), 0u);
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_THROW(r.wait_readable_for(1ms), async::error);
    r.wait_readable_for(0ms, ec);  // a deadline past: tries once
    EXPECT_EQ(ec, async::status::etimedout);

    // A deadline already past still tries once: data there is read.
    w.write_all("z");
    EXPECT_EQ(r.read_some_until({&c, 1}, std::chrono::steady_clock::time_point{}, ec), 1u);
    EXPECT_FALSE(ec);
    EXPECT_EQ(c, 'z');

    // A full pipe: write_all_for writes what fits, then times out; the ec
    // form says how much went.
    const std::size_t filled = fill(w);
    EXPECT_GT(filled, 0u);
    EXPECT_EQ(w.write_some_for("x", 1ms, ec), 0u);
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_THROW(w.write_all_for("x", 1ms), async::error);
    char drain[4096];
    EXPECT_EQ(r.read_some(drain), sizeof drain);  // room for 4096 bytes now
    std::vector<char> big(3 * 4096);
    const std::size_t n = w.write_all_until(big, std::chrono::steady_clock::now() + 2ms, ec);
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, big.size());
    w.wait_writable_for(1ms, ec);
    EXPECT_EQ(ec, async::status::etimedout);
  });
  run();
  f.join();
}

TEST_F(CppIoTest, ClosingWhileAnotherFiberReadsWakesItWithEclosed) {
  ASYNC_FIFO_ONLY();
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto throwing = spawn([&] {
    char c;
    try {
      (void)r.read_some({&c, 1});
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::eclosed);
      trace.push_back("r1 closed");
    }
  });
  auto quiet = spawn([&] {
    char c;
    std::error_code ec;
    EXPECT_EQ(r.read_some({&c, 1}, ec), 0u);
    EXPECT_EQ(ec, async::status::eclosed);
    trace.push_back("r2 closed");
  });
  auto closer = spawn([&] {
    trace.push_back("closing");
    r.close();
    EXPECT_FALSE(r.is_open());
    EXPECT_EQ(r.native_handle(), -1);
  });
  run();
  throwing.join();
  quiet.join();
  closer.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"closing", "r1 closed", "r2 closed"}));
  // Closing twice: einval, thrown or set.
  EXPECT_THROW(r.close(), async::error);
  std::error_code ec;
  r.close(ec);
  EXPECT_EQ(ec, async::status::einval);
  // Calls on a closed handle: einval.
  auto late = spawn([&] {
    char c;
    std::error_code e2;
    (void)r.read_some({&c, 1}, e2);
    EXPECT_EQ(e2, async::status::einval);
  });
  run();
  late.join();
}

TEST_F(CppIoTest, CancellationThrowsCancelledInBothFormsAndLeavesTheHandleUsable) {
  ASYNC_FIFO_ONLY();
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  auto reader = spawn([&] {
    char c;
    try {
      (void)r.read_some({&c, 1});
    } catch (const async::cancelled&) {
      trace.push_back("cancelled");
      throw;
    }
  });
  auto quiet = spawn([&] {
    char c;
    std::error_code ec;
    (void)r.read_some_for({&c, 1}, 10s, ec);  // the ec form throws it too
    trace.push_back("not reached");
  });
  auto canceller = spawn([&] {
    reader.cancel();
    quiet.cancel();
    trace.push_back("cancelled both");
  });
  run();
  EXPECT_THROW(reader.join(), async::cancelled);
  EXPECT_THROW(quiet.join(), async::cancelled);
  canceller.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"cancelled both", "cancelled"}));
  // Nothing was consumed: the handle still works.
  auto f = spawn([&] {
    w.write_all("q");
    char c = 0;
    EXPECT_EQ(r.read_some({&c, 1}), 1u);
    return c;
  });
  run();
  EXPECT_EQ(f.join(), 'q');
}

TEST_F(CppIoTest, ACancelledFiberWritesNothing) {
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  auto f = spawn([&] {
    async::this_fiber::self().cancel();
    w.write_all("never");
  });
  run();
  EXPECT_THROW(f.join(), async::cancelled);
  auto g = spawn([&] {
    char c;
    std::error_code ec;
    EXPECT_EQ(r.read_some_for({&c, 1}, 0ms, ec), 0u);
    EXPECT_EQ(ec, async::status::etimedout);
  });
  run();
  g.join();
}

TEST_F(CppIoTest, WritingToAGoneReaderIsEpipeWithoutSigpipe) {
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  r.close();
  auto f = spawn([&] {
    try {
      w.write_all("x");
      ADD_FAILURE() << "no error";
    } catch (const async::io_error& e) {
      EXPECT_EQ(e.code(), async::status::eio);
      EXPECT_EQ(e.os_error(), std::errc::broken_pipe);
      EXPECT_EQ(e.os_error().category(), std::system_category());
      EXPECT_NE(std::string(e.what()).find(std::strerror(EPIPE)), std::string::npos) << e.what();
    }
    std::error_code ec;
    EXPECT_EQ(w.write_some("x", ec), 0u);
    EXPECT_EQ(ec, std::errc::broken_pipe);  // the ec form gives the errno itself
    EXPECT_EQ(ec.category(), std::system_category());
  });
  run();
  f.join();
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
}

template <class T>
concept can_read = requires(T& t, char* p) { t.read_some({p, 1}); };
template <class T>
concept can_write = requires(T& t) { t.write_all("x"); };

TEST_F(CppIoTest, PipeEndsOfferOnlyTheirDirection) {
  static_assert(can_read<async::pipe_reader> && !can_write<async::pipe_reader>);
  static_assert(can_write<async::pipe_writer> && !can_read<async::pipe_writer>);
  static_assert(can_read<async::tcp_stream> && can_write<async::tcp_stream>);
  static_assert(!std::is_copy_constructible_v<async::io_handle>);
  static_assert(std::is_nothrow_move_constructible_v<async::tcp_stream>);
  static_assert(std::is_nothrow_move_assignable_v<async::pipe_reader>);
}

// --------------------------------------------------------------------- RAII

TEST_F(CppIoTest, HandlesCloseTheirFdWhenDestroyed) {
  const int before = open_fd_count();
  {
    async::pipe_ends rw_ = async::make_pipe(rt());
    auto& r = rw_.reader;
    auto& w = rw_.writer;
    EXPECT_EQ(open_fd_count(), before + 2);
    EXPECT_EQ(rt().stats().io_registered, 2u);
    EXPECT_GE(fcntl(r.native_handle(), F_GETFD), 0);
    EXPECT_NE(fcntl(r.native_handle(), F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_NE(fcntl(w.native_handle(), F_GETFL) & O_NONBLOCK, 0);
  }
  EXPECT_EQ(open_fd_count(), before);
  EXPECT_EQ(rt().stats().io_registered, 0u);
}

TEST_F(CppIoTest, MovesTransferOwnershipAndMoveAssignmentClosesTheOldFd) {
  ASYNC_FIFO_ONLY();
  const int before = open_fd_count();
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  const int rfd = r.native_handle();
  async::pipe_reader moved(std::move(r));
  EXPECT_EQ(moved.native_handle(), rfd);
  EXPECT_FALSE(r.is_open());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(r.native_handle(), -1);
  EXPECT_EQ(r.native(), nullptr);
  std::error_code ec;
  r.close(ec);
  EXPECT_EQ(ec, async::status::einval);
  EXPECT_EQ(open_fd_count(), before + 2);

  async::pipe_ends r2w2_ = async::make_pipe(rt());
  auto& r2 = r2w2_.reader;
  auto& w2 = r2w2_.writer;
  EXPECT_EQ(open_fd_count(), before + 4);
  moved = std::move(r2);  // closes rfd
  EXPECT_EQ(open_fd_count(), before + 3);
  EXPECT_EQ(fcntl(rfd, F_GETFD), -1);
  // The moved handle keeps working, also in a fiber.
  auto f = spawn([&] {
    w2.write_all("m");
    char c = 0;
    moved.read_exact({&c, 1});
    return c;
  });
  run();
  EXPECT_EQ(f.join(), 'm');
  // A handle may move while a fiber waits on it: the C object stays put.
  auto reader = spawn([&] {
    char c = 0;
    return moved.read_some({&c, 1}) == 1 ? c : '?';
  });
  std::optional<async::pipe_reader> holder;
  auto mover = spawn([&] {
    holder.emplace(std::move(moved));
    w2.write_all("n");
  });
  run();
  EXPECT_EQ(reader.join(), 'n');
  mover.join();
}

TEST_F(CppIoTest, ReleaseHandsOverAnOpenFdAndEmptiesTheHandle) {
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  auto& w = rw_.writer;
  const int fd = w.release();
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(w.is_open());
  EXPECT_EQ(w.release(), -1);
  EXPECT_EQ(rt().stats().io_registered, 1u);
  ASSERT_EQ(::write(fd, "r", 1), 1);  // the same pipe
  ::close(fd);
  auto f = spawn([&] {
    char buf[4];
    std::size_t n = r.read_some(buf);
    EXPECT_EQ(r.read_some(buf), 0u);  // the writer is gone
    return std::string(buf, n);
  });
  run();
  EXPECT_EQ(f.join(), "r");
}

TEST_F(CppIoTest, TheConstructorTakesTheFdEvenWhenItThrows) {
  EXPECT_THROW(async::io_handle(rt(), -1), async::error);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[1]);
  async::io_handle ok(rt(), fds[0]);
  EXPECT_EQ(ok.native_handle(), fds[0]);
  ok.close();
  // fds[0] is closed now: registering it fails with EBADF.
  try {
    async::io_handle bad(rt(), fds[0]);
    ADD_FAILURE() << "no error";
  } catch (const async::io_error& e) {
    EXPECT_EQ(e.os_error(), std::errc::bad_file_descriptor);
  }
  // A handle of this runtime used from a fiber of another: einval.
  async::pipe_ends rw_ = async::make_pipe(rt());
  auto& r = rw_.reader;
  async::runtime other;
  auto f = async::spawn(other, [&] {
    std::error_code ec;
    char c;
    (void)r.read_some({&c, 1}, ec);
    return ec;
  });
  EXPECT_EQ(f.join(), async::status::einval);
  // Outside any fiber: estate.
  char c;
  EXPECT_THROW((void)r.read_some({&c, 1}), async::error);
  std::error_code ec;
  (void)r.read_some({&c, 1}, ec);
  EXPECT_EQ(ec, async::status::estate);
}

TEST_F(CppIoTest, AHandleOutlivingItsRuntimeStillClosesItsFd) {
  const int before = open_fd_count();
  std::optional<async::pipe_reader> keep;
  {
    async::runtime other;
    async::pipe_ends rw_ = async::make_pipe(other);
    auto& r = rw_.reader;
    keep.emplace(std::move(r));
  }  // w closed by RAII, then the runtime shut down: keep is detached
  EXPECT_FALSE(keep->is_open());
  EXPECT_EQ(open_fd_count(), before + 1);  // the read end is still open
  keep.reset();
  EXPECT_EQ(open_fd_count(), before);
}

// ---------------------------------------------------------------------- TCP

TEST_F(CppIoTest, TcpEchoWithEndpointsNodelayAndHalfClose) {
  ASYNC_FIFO_ONLY();
  auto listener = async::tcp_listener::bind(rt(), "127.0.0.1", 0);
  const async::endpoint at = listener.local_endpoint();
  EXPECT_EQ(at.address, "127.0.0.1");
  EXPECT_NE(at.port, 0);
  std::optional<async::endpoint> client_local;
  auto server = spawn([&] {
    async::tcp_stream s = listener.accept();
    trace.push_back("accepted");
    EXPECT_EQ(s.local_endpoint(), at);
    client_local = s.remote_endpoint();
    char buf[64];
    std::string got;
    while (std::size_t n = s.read_some(buf)) got.append(buf, n);  // until the client's shutdown_write
    trace.push_back("server read " + got);
    s.write_all("echo:" + got);
  });  // s closes: the client reads end of stream
  auto client = spawn([&] {
    async::tcp_stream c = async::tcp_stream::connect("127.0.0.1", at.port);
    trace.push_back("connected");
    EXPECT_EQ(c.remote_endpoint(), at);
    EXPECT_FALSE(c.nodelay());
    c.set_nodelay(true);
    EXPECT_TRUE(c.nodelay());
    c.write_all("ping");
    c.shutdown_write();
    char buf[64];
    std::string got;
    while (std::size_t n = c.read_some(buf)) got.append(buf, n);
    trace.push_back("client read " + got);
    EXPECT_EQ(*client_local, c.local_endpoint());
  });
  run();
  server.join();
  client.join();
  EXPECT_EQ(trace, (std::vector<std::string>{"connected", "accepted", "server read ping", "client read echo:ping"}));
}

TEST_F(CppIoTest, ConnectToAClosedPortIsEconnrefused) {
  std::uint16_t port = 0;
  {
    auto l = async::tcp_listener::bind(rt(), "127.0.0.1", 0);
    port = l.local_endpoint().port;
  }  // nobody listens there now
  auto f = spawn([&] {
    try {
      (void)async::tcp_stream::connect("127.0.0.1", port);
      ADD_FAILURE() << "connected";
    } catch (const async::io_error& e) {
      EXPECT_EQ(e.status_code(), async::status::eio);
      EXPECT_EQ(e.os_error(), std::errc::connection_refused);
      EXPECT_EQ(std::string(e.what()).rfind("async::tcp_stream::connect: ", 0), 0u) << e.what();
    }
    std::error_code ec;
    async::tcp_stream s = async::tcp_stream::connect(async::endpoint{"127.0.0.1", port}, ec);
    EXPECT_EQ(ec, std::errc::connection_refused);
    EXPECT_FALSE(s.is_open());
    s = async::tcp_stream::connect_for("localhost", port, 1s, ec);
    EXPECT_EQ(ec, std::errc::connection_refused);
  });
  run();
  f.join();
  EXPECT_EQ(rt().stats().io_registered, 0u);
}

TEST_F(CppIoTest, ConnectRefusesBadHostsAndCallsOutsideFibers) {
  std::error_code ec;
  (void)async::tcp_stream::connect("127.0.0.1", 1, ec);  // outside a fiber: no socket made
  EXPECT_EQ(ec, async::status::estate);
  EXPECT_THROW((void)async::tcp_stream::connect("127.0.0.1", 1), async::error);
  auto f = spawn([&] {
    // Neither an address nor a name: refused without a lookup.
    for (const char* host : {"", "1.2.3", "::g", "127.0.0.1 ", "a..b", "-a.b", "a_b"}) {
      std::error_code e;
      (void)async::tcp_stream::connect(host, 80, e);
      EXPECT_EQ(e, async::status::einval) << host;
    }
    // A name that does not resolve (.invalid never does, RFC 6761).
    std::error_code e;
    (void)async::tcp_stream::connect("nowhere.invalid", 80, e);
    EXPECT_EQ(e.category(), async::resolve_category());
    EXPECT_THROW((void)async::tcp_stream::connect("nowhere.invalid", 80), async::resolve_error);
  });
  run();
  f.join();
  EXPECT_THROW((void)async::tcp_listener::bind(rt(), "nowhere", 0), async::error);
}

TEST_F(CppIoTest, AcceptTimesOut) {
  auto listener = async::tcp_listener::bind(rt(), "127.0.0.1", 0);
  auto f = spawn([&] {
    try {
      (void)listener.accept_for(2ms);
      ADD_FAILURE() << "accepted";
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::etimedout);
    }
    std::error_code ec;
    async::tcp_stream s = listener.accept_until(std::chrono::steady_clock::now() + 1ms, ec);
    EXPECT_EQ(ec, async::status::etimedout);
    EXPECT_FALSE(s.is_open());
    s = listener.accept_for(1ms, ec);
    EXPECT_EQ(ec, async::status::etimedout);
  });
  run();
  f.join();
}

TEST_F(CppIoTest, ClosingTheListenerStopsAnAcceptLoop) {
  auto listener = async::tcp_listener::bind(rt(), "127.0.0.1", 0);
  const std::uint16_t port = listener.local_endpoint().port;
  int served = 0;
  auto acceptor = spawn([&] {
    for (;;) {
      std::error_code ec;
      async::tcp_stream s = listener.accept(ec);
      if (ec == async::status::eclosed) break;
      ASSERT_FALSE(ec) << ec.message();
      ++served;
    }
    trace.push_back("acceptor done");
  });
  auto clients = spawn([&] {
    for (int i = 0; i < 3; ++i) {
      async::tcp_stream c = async::tcp_stream::connect("127.0.0.1", port);
      char b;
      EXPECT_EQ(c.read_some({&b, 1}), 0u);  // the server closes at once
    }
    trace.push_back("clients done");
    listener.close();
  });
  run();
  acceptor.join();
  clients.join();
  EXPECT_EQ(served, 3);
  EXPECT_EQ(trace, (std::vector<std::string>{"clients done", "acceptor done"}));
}

TEST_F(CppIoTest, BindingAPortInUseIsEaddrinuse) {
  auto a = async::tcp_listener::bind(rt(), "127.0.0.1", 0);
  try {
    (void)async::tcp_listener::bind(rt(), "127.0.0.1", a.local_endpoint().port);
    ADD_FAILURE() << "bound twice";
  } catch (const async::io_error& e) {
    EXPECT_EQ(e.os_error(), std::errc::address_in_use);
  }
}

TEST_F(CppIoTest, IPv6Loopback) {
  std::optional<async::tcp_listener> l;
  try {
    l.emplace(async::tcp_listener::bind(rt(), "::1", 0));
  } catch (const async::io_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  const async::endpoint at = l->local_endpoint();
  EXPECT_EQ(at.address, "::1");
  auto server = spawn([&] {
    async::tcp_stream s = l->accept();
    char buf[8];
    s.read_exact({buf, 2});
    s.write_all({buf, 2});
  });
  auto client = spawn([&] {
    async::tcp_stream c = async::tcp_stream::connect(at);
    c.write_all("v6");
    char buf[2];
    c.read_exact(buf);
    return std::string(buf, 2);
  });
  run();
  server.join();
  EXPECT_EQ(client.join(), "v6");
}

TEST_F(CppIoTest, APeerResetIsEconnreset) {
  auto listener = async::tcp_listener::bind(rt(), "127.0.0.1", 0);
  auto server = spawn([&] {
    async::tcp_stream s = listener.accept();
    char buf[8];
    std::error_code ec;
    EXPECT_EQ(s.read_some(buf, ec), 0u);
    EXPECT_EQ(ec, std::errc::connection_reset);
    EXPECT_THROW(s.write_all("late"), async::io_error);
  });
  auto client = spawn([&] {
    async::tcp_stream c = async::tcp_stream::connect("127.0.0.1", listener.local_endpoint().port);
    async::this_fiber::sleep_for(5ms);  // the server waits in read_some
    linger lg{1, 0};                    // close sends RST
    ASSERT_EQ(setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  });
  run();
  server.join();
  client.join();
}

TEST_F(CppIoTest, ManyConnectionsLeakNothing) {
  auto listener = async::tcp_listener::bind(rt(), "127.0.0.1", 0);
  const std::uint16_t port = listener.local_endpoint().port;
  constexpr int clients = 50;
  int answered = 0;
  std::vector<async::fiber<void>> handlers;
  auto acceptor = spawn([&] {
    for (int i = 0; i < clients; ++i) {
      handlers.push_back(async::spawn([s = listener.accept()]() mutable {
        unsigned char b;
        s.read_exact({&b, 1});
        b = static_cast<unsigned char>(b + 1);
        s.write_all({&b, 1});
      }));
    }
  });
  std::vector<async::fiber<void>> cs;
  for (int i = 0; i < clients; ++i) {
    cs.push_back(spawn([&, i] {
      auto c = async::tcp_stream::connect("127.0.0.1", port);
      unsigned char b = static_cast<unsigned char>(i);
      c.write_all({&b, 1});
      c.read_exact({&b, 1});
      EXPECT_EQ(b, static_cast<unsigned char>(i + 1));
      ++answered;
    }));
  }
  run();
  acceptor.join();
  for (auto& h : handlers) h.join();
  for (auto& c : cs) c.join();
  EXPECT_EQ(answered, clients);
  EXPECT_EQ(rt().stats().io_registered, 1u);  // the listener only
}

}  // namespace
