// SPDX-License-Identifier: MIT
// io_test.cpp: fiber-blocking I/O (async/io.h), every test once per poller
// backend this build has (async_config_t.backend; kqueue on Linux only with
// -DASYNC_KQUEUE_SHIM=ON, .ci/kqueue.sh). Every test ends with no fd left
// open that it opened (LeakCheckedTest, support/leak_check.h, counts them).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

#include "support/runtime_fixture.h"

namespace {


// The backends this build has: those a runtime can be made with.
std::vector<uint32_t> built_in_backends() {
  std::vector<uint32_t> backends;
  for (uint32_t backend : {ASYNC_BACKEND_EPOLL, ASYNC_BACKEND_KQUEUE}) {
    async_config_t cfg{};
    cfg.backend = backend;
    async_runtime_t rt{};
    if (async_runtime_init(&rt, &cfg) != ASYNC_OK) continue;
    async_runtime_shutdown(&rt);
    backends.push_back(backend);
  }
  return backends;
}

std::string backend_name(uint32_t backend) { return backend == ASYNC_BACKEND_KQUEUE ? "kqueue" : "epoll"; }

class IoTest : public async_test::RuntimeTest, public ::testing::WithParamInterface<uint32_t> {
 protected:
  IoTest() { cfg_.backend = GetParam(); }

  // A pipe, both ends registered: p[0] read end, p[1] write end.
  void make_pipe(async_io_t* r, async_io_t* w) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(async_io_register_with(runtime(), r, fds[0]), ASYNC_OK);
    ASSERT_EQ(async_io_register_with(runtime(), w, fds[1]), ASYNC_OK);
  }

  // A listening TCP socket on 127.0.0.1, port chosen by the kernel.
  int listen_tcp(sockaddr_in* addr) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    *addr = sockaddr_in{};
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(addr), sizeof *addr), 0);
    EXPECT_EQ(listen(fd, 512), 0);
    socklen_t len = sizeof *addr;
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(addr), &len), 0);
    return fd;
  }

  // Fill a pipe's buffer until a write would block; returns bytes written.
  static size_t fill(async_io_t* w) {
    static char block[65536];
    size_t total = 0;
    const int fd = async_io_fd(w);
    for (;;) {
      const ssize_t r = write(fd, block, sizeof block);
      if (r <= 0) break;
      total += static_cast<size_t>(r);
    }
    return total;
  }

  uint64_t in_ms(uint64_t ms) { return async_now_ns() + ms * 1000000u; }
};

TEST_P(IoTest, TheRuntimeNamesItsBackend) {
  EXPECT_EQ(std::string(async_runtime_backend(runtime())), backend_name(GetParam()));
  EXPECT_EQ(async_runtime_backend(nullptr), nullptr);
}

TEST_P(IoTest, AReaderParksUntilTheWriterWrites) {
  ASYNC_FIFO_ONLY();
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    char buf[16];
    size_t n = 99;
    trace.push_back("reader waits");
    EXPECT_EQ(async_read(&r, buf, sizeof buf, &n), ASYNC_OK);
    trace.push_back("reader got " + std::string(buf, n));
  });
  spawn([&] {
    trace.push_back("writer writes");
    size_t n = 0;
    EXPECT_EQ(async_write(&w, "hello", 5, &n), ASYNC_OK);
    EXPECT_EQ(n, 5u);
    trace.push_back("writer done");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"reader waits", "writer writes", "writer done", "reader got hello"}));
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, EndOfFileIsOkWithZeroBytes) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    char buf[8];
    size_t n = 99;
    EXPECT_EQ(async_read(&r, buf, sizeof buf, &n), ASYNC_OK);
    EXPECT_EQ(n, 0u);
    trace.push_back("eof");
  });
  spawn([&] {
    trace.push_back("close writer");
    EXPECT_EQ(async_io_close(&w), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"close writer", "eof"}));
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
}

TEST_P(IoTest, CloseWakesParkedFibersInOrderWithEclosed) {
  ASYNC_FIFO_ONLY();
  async_io_t r{}, r_unused{}, w_unused{}, w{};
  make_pipe(&r, &w_unused);  // readers wait on an empty pipe
  make_pipe(&r_unused, &w);  // the writer on a full one
  const size_t filled = fill(&w);
  EXPECT_GT(filled, 0u);
  for (const char* name : {"r1", "r2"}) {
    spawn([&, name] {
      char c;
      size_t n = 7;
      EXPECT_EQ(async_read(&r, &c, 1, &n), ASYNC_ECLOSED);
      EXPECT_EQ(n, 0u);
      trace.push_back(std::string(name) + " closed");
    });
  }
  spawn([&] {
    size_t n = 7;
    EXPECT_EQ(async_write(&w, "x", 1, &n), ASYNC_ECLOSED);
    trace.push_back("w closed");
  });
  spawn([&] {
    trace.push_back("closing");
    EXPECT_EQ(async_io_close(&r), ASYNC_OK);
    EXPECT_EQ(async_io_close(&w), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"closing", "r1 closed", "r2 closed", "w closed"}));
  EXPECT_EQ(async_io_close(&r_unused), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w_unused), ASYNC_OK);
}

TEST_P(IoTest, CancelWhileParkedLeavesTheIoUsable) {
  ASYNC_FIFO_ONLY();
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  async_fiber_handle_t reader = spawn([&] {
    char c;
    size_t n = 7;
    EXPECT_EQ(async_read(&r, &c, 1, &n), ASYNC_ECANCELED);
    EXPECT_EQ(n, 0u);
    trace.push_back("cancelled");
  });
  spawn([&] {
    EXPECT_EQ(async_cancel(reader), ASYNC_OK);
    size_t n = 0;
    EXPECT_EQ(async_write(&w, "z", 1, &n), ASYNC_OK);
    char c = 0;
    EXPECT_EQ(async_read(&r, &c, 1, &n), ASYNC_OK);  // the byte was not consumed
    EXPECT_EQ(c, 'z');
    trace.push_back("still usable");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_await(reader), ASYNC_ECANCELED);
  // The cancel does not switch. The canceller's read parks: the reader's
  // EAGAIN told the io it is empty, so it waits for the poller's edge, and
  // meanwhile the cancelled reader runs.
  EXPECT_EQ(trace, (std::vector<std::string>{"cancelled", "still usable"}));
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, ACancelledFiberDoesNotTouchTheIo) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    async_cancel(async_self());
    size_t n = 7;
    EXPECT_EQ(async_write(&w, "q", 1, &n), ASYNC_ECANCELED);
    EXPECT_EQ(n, 0u);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  spawn([&] {
    char c;
    size_t n = 7;
    // Nothing was written: the read times out at once.
    EXPECT_EQ(async_read_until(&r, &c, 1, &n, 0), ASYNC_ETIMEDOUT);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, DeadlinesAndSleepsShareOneTimerOrder) {
  ASYNC_FIFO_ONLY();
  async_io_t r{}, r_unused{}, w_unused{}, w{};
  make_pipe(&r, &w_unused);  // r stays empty
  make_pipe(&r_unused, &w);  // w is filled
  const uint64_t base = async_now_ns() + 20 * 1000000u;
  // Same deadline for a read, a sleep and a write to a full pipe: they end in
  // the order they were set; an earlier deadline set last ends first.
  fill(&w);
  spawn([&] {
    char c;
    size_t n;
    EXPECT_EQ(async_read_until(&r, &c, 1, &n, base + 1000000u), ASYNC_ETIMEDOUT);
    trace.push_back("read");
  });
  spawn([&] {
    EXPECT_EQ(async_sleep_until_ns(base + 1000000u), ASYNC_OK);
    trace.push_back("sleep");
  });
  spawn([&] {
    size_t n;
    EXPECT_EQ(async_write_until(&w, "x", 1, &n, base + 1000000u), ASYNC_ETIMEDOUT);
    trace.push_back("write");
  });
  spawn([&] {
    EXPECT_EQ(async_park_until_ns(base), ASYNC_ETIMEDOUT);
    trace.push_back("park");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"park", "read", "sleep", "write"}));
  for (async_io_t* io : {&r, &w, &r_unused, &w_unused}) EXPECT_EQ(async_io_close(io), ASYNC_OK);
}

TEST_P(IoTest, APastDeadlineStillTriesOnce) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    size_t n = 0;
    EXPECT_EQ(async_write_until(&w, "ab", 2, &n, 1), ASYNC_OK);
    EXPECT_EQ(n, 2u);
    char buf[4];
    EXPECT_EQ(async_read_until(&r, buf, sizeof buf, &n, 1), ASYNC_OK);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(async_read_until(&r, buf, sizeof buf, &n, 1), ASYNC_ETIMEDOUT);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, PartialWritesOnAFullPipeAndWriteAllCompletes) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  const size_t total = 1 << 20;
  std::vector<unsigned char> out(total), in(total);
  for (size_t i = 0; i < total; ++i) out[i] = static_cast<unsigned char>(i * 7 + i / 251);
  spawn([&] {
    size_t n = 0;
    // One write: partial, as much as the pipe takes.
    EXPECT_EQ(async_write(&w, out.data(), total, &n), ASYNC_OK);
    EXPECT_GT(n, 0u);
    EXPECT_LT(n, total);
    trace.push_back("partial");
    size_t rest = 0;
    EXPECT_EQ(async_write_all(&w, out.data() + n, total - n, &rest), ASYNC_OK);
    EXPECT_EQ(n + rest, total);
    trace.push_back("all written");
    EXPECT_EQ(async_io_close(&w), ASYNC_OK);
  });
  spawn([&] {
    size_t n = 0;
    EXPECT_EQ(async_read_exact(&r, in.data(), total, &n), ASYNC_OK);
    EXPECT_EQ(n, total);
    trace.push_back("all read");
    char c;
    EXPECT_EQ(async_read(&r, &c, 1, &n), ASYNC_OK);
    EXPECT_EQ(n, 0u);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(in, out);
  EXPECT_EQ(trace, (std::vector<std::string>{"partial", "all written", "all read"}));
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
}

TEST_P(IoTest, ReadExactReportsEndOfFileAndWhatItGot) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    char buf[8];
    size_t n = 0;
    EXPECT_EQ(async_read_exact(&r, buf, sizeof buf, &n), ASYNC_ECLOSED);
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(std::string(buf, n), "abc");
  });
  spawn([&] {
    EXPECT_EQ(async_write_all(&w, "abc", 3, nullptr), ASYNC_OK);
    EXPECT_EQ(async_io_close(&w), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
}

TEST_P(IoTest, WritingToAGonePipeReaderIsEpipeWithoutSigpipe) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  spawn([&] {
    size_t n = 9;
    EXPECT_EQ(async_write(&w, "x", 1, &n), ASYNC_EIO);
    EXPECT_EQ(async_io_errno(&w), EPIPE);
    EXPECT_EQ(n, 0u);
  });
  EXPECT_EQ(run(), ASYNC_OK);  // still alive: no SIGPIPE was raised
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0) << "a SIGPIPE was left pending";
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, ARegularFileIsAlwaysReady) {
  char path[] = "/tmp/async_io_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  async_io_t f{};
  ASSERT_EQ(async_io_register_with(runtime(), &f, fd), ASYNC_OK);
  spawn([&] {
    size_t n = 0;
    EXPECT_EQ(async_write_all(&f, "file data", 9, &n), ASYNC_OK);
    EXPECT_EQ(lseek(async_io_fd(&f), 0, SEEK_SET), 0);
    char buf[16];
    EXPECT_EQ(async_read(&f, buf, sizeof buf, &n), ASYNC_OK);
    EXPECT_EQ(std::string(buf, n), "file data");
    EXPECT_EQ(async_io_wait_readable(&f), ASYNC_OK);
    EXPECT_EQ(async_io_wait_writable(&f), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&f), ASYNC_OK);
}

TEST_P(IoTest, MisuseIsRefusedWithoutTouchingFdZero) {
  async_io_t zeroed{};
  size_t n = 5;
  char c;
  int fd = -1;
  // Outside a fiber: still EINVAL for a zeroed io, checked first.
  EXPECT_EQ(async_read(&zeroed, &c, 1, &n), ASYNC_EINVAL);
  EXPECT_EQ(async_io_close(&zeroed), ASYNC_EINVAL);
  EXPECT_EQ(async_io_close(nullptr), ASYNC_EINVAL);
  EXPECT_EQ(async_io_fd(&zeroed), -1);
  EXPECT_EQ(async_io_errno(nullptr), 0);
  EXPECT_EQ(async_io_register_with(runtime(), nullptr, 0), ASYNC_EINVAL);
  EXPECT_EQ(async_io_register_with(runtime(), &zeroed, -1), ASYNC_EINVAL);
  EXPECT_EQ(async_io_register_with(nullptr, &zeroed, 0), ASYNC_EINVAL);
  async_runtime_t never{};
  EXPECT_EQ(async_io_register_with(&never, &zeroed, 0), ASYNC_EINVAL);

  async_io_t r{}, w{};
  make_pipe(&r, &w);
  async_io_t again = r;  // a non-zeroed io
  EXPECT_EQ(async_io_register_with(runtime(), &again, 0), ASYNC_EINVAL);
  EXPECT_EQ(async_read(&r, &c, 1, &n), ASYNC_ESTATE);  // outside a fiber
  EXPECT_EQ(async_park(), ASYNC_ESTATE);
  spawn([&] {
    size_t m = 5;
    char d;
    EXPECT_EQ(async_read(&zeroed, &d, 1, &m), ASYNC_EINVAL);
    EXPECT_EQ(m, 0u);
    EXPECT_EQ(async_write(&zeroed, "x", 1, &m), ASYNC_EINVAL);
    EXPECT_EQ(async_read_exact(&zeroed, &d, 1, &m), ASYNC_EINVAL);
    EXPECT_EQ(async_write_all(&zeroed, "x", 1, &m), ASYNC_EINVAL);
    EXPECT_EQ(async_accept_io(&zeroed, &zeroed), ASYNC_EINVAL);
    EXPECT_EQ(async_accept(&zeroed, &fd), ASYNC_EINVAL);
    EXPECT_EQ(async_io_wait_readable(&zeroed), ASYNC_EINVAL);
    EXPECT_EQ(async_io_wait_writable(&zeroed), ASYNC_EINVAL);
    EXPECT_EQ(async_read(&r, &d, 1, nullptr), ASYNC_EINVAL);
    EXPECT_EQ(async_read(&r, nullptr, 1, &m), ASYNC_EINVAL);
    EXPECT_EQ(async_accept(&r, nullptr), ASYNC_EINVAL);
    EXPECT_EQ(async_connect(&r, nullptr, 0), ASYNC_EINVAL);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&r), ASYNC_EINVAL);  // twice
  EXPECT_EQ(async_io_fd(&r), -1);
  spawn([&] {
    size_t m;
    char d;
    EXPECT_EQ(async_read(&r, &d, 1, &m), ASYNC_EINVAL);  // closed
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, AnFdTheOsRejectsIsEio) {
  runtime();  // its poller's fds first, so they cannot take the numbers below
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);
  async_io_t io{};
  EXPECT_EQ(async_io_register_with(runtime(), &io, fds[0]), ASYNC_EIO);
  EXPECT_EQ(async_io_errno(&io), EBADF);
}

TEST_P(IoTest, AnIoOfAnotherRuntimeIsRefused) {
  async_runtime_t other;
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  auto body = [](void* user) {
    char c;
    size_t n;
    EXPECT_EQ(async_read(static_cast<async_io_t*>(user), &c, 1, &n), ASYNC_EINVAL);
  };
  async_fiber_handle_t h = async_spawn_with(&other, body, &r);
  EXPECT_EQ(async_await(h), ASYNC_OK);
  async_runtime_shutdown(&other);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, ShutdownDetachesOpenIosAndCloseStillClosesTheFd) {
  async_runtime_t other;
  ASSERT_EQ(async_runtime_init(&other, nullptr), ASYNC_OK);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  async_io_t r{}, w{};
  ASSERT_EQ(async_io_register_with(&other, &r, fds[0]), ASYNC_OK);
  ASSERT_EQ(async_io_register_with(&other, &w, fds[1]), ASYNC_OK);
  async_runtime_stats_t s{};
  ASSERT_EQ(async_runtime_stats(&other, &s), ASYNC_OK);
  EXPECT_EQ(s.io_registered, 2u);
  async_runtime_shutdown(&other);
  EXPECT_EQ(async_io_fd(&r), -1);
  EXPECT_GE(fcntl(fds[0], F_GETFD), 0);  // still open
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
  EXPECT_EQ(fcntl(fds[0], F_GETFD), -1);  // now closed
  EXPECT_EQ(async_io_close(&r), ASYNC_EINVAL);
}

TEST_P(IoTest, TcpAcceptConnectAndEcho) {
  sockaddr_in addr;
  const int lfd = listen_tcp(&addr);
  async_io_t listener{};
  ASSERT_EQ(async_io_register_with(runtime(), &listener, lfd), ASYNC_OK);
  spawn([&] {
    async_io_t client{};
    ASSERT_EQ(async_accept_io(&listener, &client), ASYNC_OK);
    trace.push_back("accepted");
    char buf[32];
    size_t n;
    EXPECT_EQ(async_read(&client, buf, sizeof buf, &n), ASYNC_OK);
    EXPECT_EQ(async_write_all(&client, buf, n, nullptr), ASYNC_OK);
    EXPECT_EQ(async_io_close(&client), ASYNC_OK);
  });
  spawn([&] {
    async_io_t conn{};
    ASSERT_EQ(async_io_register(&conn, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), ASYNC_OK);
    EXPECT_EQ(async_connect(&conn, reinterpret_cast<sockaddr*>(&addr), sizeof addr), ASYNC_OK);
    trace.push_back("connected");
    EXPECT_EQ(async_write_all(&conn, "ping", 4, nullptr), ASYNC_OK);
    char buf[8];
    size_t n;
    EXPECT_EQ(async_read_exact(&conn, buf, 4, &n), ASYNC_OK);
    EXPECT_EQ(std::string(buf, 4), "ping");
    EXPECT_EQ(async_read(&conn, buf, sizeof buf, &n), ASYNC_OK);  // server closed
    EXPECT_EQ(n, 0u);
    trace.push_back("echoed");
    EXPECT_EQ(async_io_close(&conn), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace.back(), "echoed");
  EXPECT_EQ(async_io_close(&listener), ASYNC_OK);
}

TEST_P(IoTest, AcceptStormServesEveryClient) {
  cfg_.task_capacity = 1024;
  cfg_.fiber_capacity = 1024;  // every fiber holds a stack at once
  cfg_.fiber_stack_size = 32 * 1024;
  sockaddr_in addr;
  const int lfd = listen_tcp(&addr);
  async_io_t listener{};
  ASSERT_EQ(async_io_register_with(runtime(), &listener, lfd), ASYNC_OK);
  constexpr int clients = 300;
  int served = 0;
  int answered = 0;
  spawn([&] {
    for (int i = 0; i < clients; ++i) {
      int fd;
      ASSERT_EQ(async_accept(&listener, &fd), ASYNC_OK);
      spawn([&, fd] {
        async_io_t c{};
        ASSERT_EQ(async_io_register(&c, fd), ASYNC_OK);
        unsigned char b;
        size_t n;
        EXPECT_EQ(async_read_exact(&c, &b, 1, &n), ASYNC_OK);
        b = static_cast<unsigned char>(b + 1);
        EXPECT_EQ(async_write_all(&c, &b, 1, &n), ASYNC_OK);
        ++served;
        EXPECT_EQ(async_io_close(&c), ASYNC_OK);
      });
    }
  });
  for (int i = 0; i < clients; ++i) {
    spawn([&, i] {
      async_io_t c{};
      ASSERT_EQ(async_io_register(&c, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), ASYNC_OK);
      ASSERT_EQ(async_connect(&c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), ASYNC_OK);
      unsigned char b = static_cast<unsigned char>(i);
      size_t n;
      EXPECT_EQ(async_write_all(&c, &b, 1, &n), ASYNC_OK);
      EXPECT_EQ(async_read_exact(&c, &b, 1, &n), ASYNC_OK);
      EXPECT_EQ(b, static_cast<unsigned char>(i + 1));
      ++answered;
      EXPECT_EQ(async_io_close(&c), ASYNC_OK);
    });
  }
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(served, clients);
  EXPECT_EQ(answered, clients);
  EXPECT_EQ(async_io_close(&listener), ASYNC_OK);
}

TEST_P(IoTest, ConnectRefusedIsEioWithTheErrno) {
  sockaddr_in addr;
  const int lfd = listen_tcp(&addr);
  close(lfd);  // nobody listens on that port any more
  spawn([&] {
    async_io_t c{};
    ASSERT_EQ(async_io_register(&c, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), ASYNC_OK);
    EXPECT_EQ(async_connect(&c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), ASYNC_EIO);
    EXPECT_EQ(async_io_errno(&c), ECONNREFUSED);
    EXPECT_EQ(async_io_close(&c), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
}

TEST_P(IoTest, APeerResetIsEioEconnreset) {
  sockaddr_in addr;
  const int lfd = listen_tcp(&addr);
  async_io_t listener{};
  ASSERT_EQ(async_io_register_with(runtime(), &listener, lfd), ASYNC_OK);
  spawn([&] {
    async_io_t client{};
    ASSERT_EQ(async_accept_io(&listener, &client), ASYNC_OK);
    char buf[8];
    size_t n;
    EXPECT_EQ(async_read(&client, buf, sizeof buf, &n), ASYNC_EIO);
    EXPECT_EQ(async_io_errno(&client), ECONNRESET);
    // Writing to it now fails too, and raises no SIGPIPE.
    const async_status_t st = async_write_all(&client, "late", 4, &n);
    EXPECT_EQ(st, ASYNC_EIO);
    EXPECT_EQ(async_io_close(&client), ASYNC_OK);
  });
  spawn([&] {
    async_io_t c{};
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(async_io_register(&c, fd), ASYNC_OK);
    ASSERT_EQ(async_connect(&c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), ASYNC_OK);
    EXPECT_EQ(async_sleep_ms(5), ASYNC_OK);  // let the server park in read
    linger lg{1, 0};                          // close sends RST
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    EXPECT_EQ(async_io_close(&c), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&listener), ASYNC_OK);
}

TEST_P(IoTest, AcceptTimesOutAndAFullTableIsReportedAtOnce) {
  sockaddr_in addr;
  const int lfd = listen_tcp(&addr);
  async_io_t listener{};
  ASSERT_EQ(async_io_register_with(runtime(), &listener, lfd), ASYNC_OK);
  spawn([&] {
    async_io_t client{};
    EXPECT_EQ(async_accept_io_until(&listener, &client, in_ms(5)), ASYNC_ETIMEDOUT);
    int fd = -1;
    EXPECT_EQ(async_accept_until(&listener, &fd, in_ms(1)), ASYNC_ETIMEDOUT);
    EXPECT_EQ(fd, -1);
    async_io_t not_zeroed{};
    not_zeroed.impl[3] = &not_zeroed;
    EXPECT_EQ(async_accept_io(&listener, &not_zeroed), ASYNC_EINVAL);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(async_io_close(&listener), ASYNC_OK);
}

TEST_P(IoTest, ReadinessWaits) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    EXPECT_EQ(async_io_wait_writable(&w), ASYNC_OK);  // an empty pipe: at once
    EXPECT_EQ(async_io_wait_readable_until(&r, in_ms(2)), ASYNC_ETIMEDOUT);
    trace.push_back("waiting");
    EXPECT_EQ(async_io_wait_readable(&r), ASYNC_OK);
    trace.push_back("readable");
    fill(&w);
    EXPECT_EQ(async_io_wait_writable_until(&w, in_ms(2)), ASYNC_ETIMEDOUT);
  });
  spawn([&] {
    EXPECT_EQ(async_sleep_ms(10), ASYNC_OK);  // after the first wait timed out
    EXPECT_EQ(async_write_all(&w, "x", 1, nullptr), ASYNC_OK);
    trace.push_back("wrote");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"waiting", "wrote", "readable"}));
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, RunWaitsForIoThenReturnsIdle) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    char c;
    size_t n;
    EXPECT_EQ(async_read(&r, &c, 1, &n), ASYNC_OK);
    trace.push_back("read");
  });
  spawn([&] {
    EXPECT_EQ(async_sleep_ms(3), ASYNC_OK);
    EXPECT_EQ(async_write_all(&w, "k", 1, nullptr), ASYNC_OK);
    trace.push_back("wrote after sleep");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"wrote after sleep", "read"}));
  const async_runtime_stats_t s = stats();
  EXPECT_EQ(s.io_waiting, 0u);
  EXPECT_EQ(s.io_registered, 2u);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

}  // namespace

namespace {

TEST_P(IoTest, ReleaseHandsTheFdBackOpenAndWakesWaiters) {
  ASYNC_FIFO_ONLY();
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  const int rfd = async_io_fd(&r);
  spawn([&] {
    char c;
    size_t n;
    EXPECT_EQ(async_read(&r, &c, 1, &n), ASYNC_ECLOSED);
    trace.push_back("reader woken");
  });
  spawn([&] {
    int fd = -1;
    EXPECT_EQ(async_io_release(&r, nullptr), ASYNC_EINVAL);
    EXPECT_EQ(async_io_release(&r, &fd), ASYNC_OK);
    EXPECT_EQ(fd, rfd);
    EXPECT_EQ(async_io_release(&r, &fd), ASYNC_EINVAL);  // twice
    EXPECT_EQ(async_io_close(&r), ASYNC_EINVAL);
    trace.push_back("released");
    // The fd is open, deregistered, and can be registered again.
    async_io_t again{};
    EXPECT_EQ(async_io_register(&again, fd), ASYNC_OK);
    EXPECT_EQ(async_write_all(&w, "r", 1, nullptr), ASYNC_OK);
    char c = 0;
    size_t n = 0;
    EXPECT_EQ(async_read(&again, &c, 1, &n), ASYNC_OK);
    EXPECT_EQ(c, 'r');
    EXPECT_EQ(async_io_close(&again), ASYNC_OK);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"released", "reader woken"}));
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

}  // namespace

namespace {

bool sigpipe_blocked() {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, SIGPIPE) == 1;
}

bool sigpipe_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}

TEST_P(IoTest, SigpipeIsBlockedOnlyWhileTheRuntimeDrivesAndNothingIsLeftPending) {
  ASSERT_FALSE(sigpipe_blocked());
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  int raw[2];
  ASSERT_EQ(pipe(raw), 0);
  close(raw[0]);  // nobody reads raw[1] any more
  spawn([&] {
    EXPECT_EQ(async_write_all(&w, "x", 1, nullptr), ASYNC_OK);
    EXPECT_TRUE(sigpipe_blocked());  // from the first pipe write on
    // A fiber's own write(2) to a broken pipe fails with EPIPE and does not
    // kill the process.
    EXPECT_EQ(write(raw[1], "y", 1), -1);
    EXPECT_EQ(errno, EPIPE);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_FALSE(sigpipe_blocked());  // the mask is back
  EXPECT_FALSE(sigpipe_pending());  // and the fiber's SIGPIPE was discarded
  close(raw[1]);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

TEST_P(IoTest, AThreadThatBlockedSigpipeKeepsItsMaskAndItsOwnPendingSignal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigset_t old;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGPIPE), 0);  // the caller's own
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  spawn([&] {
    size_t n;
    EXPECT_EQ(async_write(&w, "x", 1, &n), ASYNC_EIO);
    EXPECT_EQ(async_io_errno(&w), EPIPE);
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_TRUE(sigpipe_blocked());
  EXPECT_TRUE(sigpipe_pending());  // still the caller's to take
  const timespec zero{};
  EXPECT_EQ(sigtimedwait(&set, nullptr, &zero), SIGPIPE);
  EXPECT_FALSE(sigpipe_pending());
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

}  // namespace

namespace {

TEST_P(IoTest, NoDeadlineMakesAnUntilCallItsPlainForm) {
  async_io_t r{}, w{};
  make_pipe(&r, &w);
  spawn([&] {
    char c;
    size_t n;
    EXPECT_EQ(async_read_until(&r, &c, 1, &n, ASYNC_NO_DEADLINE), ASYNC_OK);
    EXPECT_EQ(stats().timers_pending, 0u);  // no timer was armed for it
    trace.push_back("read");
  });
  spawn([&] {
    EXPECT_EQ(stats().timers_pending, 0u);
    EXPECT_EQ(async_write_all_until(&w, "z", 1, nullptr, ASYNC_NO_DEADLINE), ASYNC_OK);
    trace.push_back("wrote");
  });
  EXPECT_EQ(run(), ASYNC_OK);
  EXPECT_EQ(trace, (std::vector<std::string>{"wrote", "read"}));
  EXPECT_EQ(async_io_close(&r), ASYNC_OK);
  EXPECT_EQ(async_io_close(&w), ASYNC_OK);
}

INSTANTIATE_TEST_SUITE_P(Backends, IoTest, ::testing::ValuesIn(built_in_backends()),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           std::string name = backend_name(info.param);
                           name[0] = static_cast<char>(name[0] - 'a' + 'A');
                           return name;
                         });

}  // namespace
