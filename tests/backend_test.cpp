// SPDX-License-Identifier: MIT
// backend_test.cpp: each poller backend this build has, driven directly
// through backend_ops (src/io/backend.h), without fibers: readiness bits for
// pipes and sockets, one report per fd per wait, end of file, remove,
// regular files, timeouts, and notify() from another thread. Instantiated for
// the backends this build has: kqueue on Linux only with
// -DASYNC_KQUEUE_SHIM=ON (.ci/kqueue.sh), rather than 16 skipped tests.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "async.h"
#include "io/backend.h"

namespace async::detail {
namespace {

struct seen {
  void* cookie;
  unsigned bits;
};

void record(void* cookie, unsigned bits, void* ctx) {
  static_cast<std::vector<seen>*>(ctx)->push_back(seen{cookie, bits});
}

const backend_ops* backend_by_name(const std::string& name) {
  if (name == "epoll") return epoll_backend();
  if (name == "kqueue") return kqueue_backend();
  return nullptr;
}

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ops_ = backend_by_name(GetParam());
    ASSERT_NE(ops_, nullptr) << GetParam() << " is not built in";
    p_.ops = ops_;
    ASSERT_TRUE(ops_->open(p_, 8)) << std::strerror(errno);
    open_ = true;
  }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
    if (open_) ops_->close(p_);
  }

  int keep(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  void nonblocking(int fd) { ASSERT_EQ(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0); }
  void make_pipe(int& r, int& w) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    r = keep(p[0]);
    w = keep(p[1]);
    nonblocking(r);
    nonblocking(w);
  }
  void make_socketpair(int& a, int& b) {
    int s[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    a = keep(s[0]);
    b = keep(s[1]);
    nonblocking(a);
    nonblocking(b);
  }
  void forget(int fd) {
    for (int& f : fds_) {
      if (f == fd) f = -1;
    }
  }

  // One wait; the bits reported per cookie, and how many reports each got.
  std::map<void*, unsigned> wait(std::uint64_t timeout_ns = 0, std::size_t* count = nullptr,
                                 std::map<void*, int>* reports = nullptr) {
    std::vector<seen> out;
    std::size_t n = ops_->wait(p_, timeout_ns, record, &out);
    EXPECT_EQ(n, out.size());
    if (count) *count = n;
    std::map<void*, unsigned> bits;
    for (const seen& s : out) {
      bits[s.cookie] |= s.bits;
      if (reports) ++(*reports)[s.cookie];
    }
    return bits;
  }

  const backend_ops* ops_ = nullptr;
  poller p_;
  bool open_ = false;
  std::vector<int> fds_;
  int reader_tag_ = 0, writer_tag_ = 0;
};

TEST_P(BackendTest, ReportsItsName) { EXPECT_EQ(std::string(ops_->name), GetParam()); }

TEST_P(BackendTest, PipeEndsReportTheirDirection) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, r, &reader_tag_), add_result::ok);
  ASSERT_EQ(ops_->add(p_, w, &writer_tag_), add_result::ok);
  auto bits = wait();
  EXPECT_EQ(bits.count(&reader_tag_), 0u);  // empty: not readable
  ASSERT_EQ(bits.count(&writer_tag_), 1u);
  EXPECT_TRUE(bits[&writer_tag_] & io_writable);
  EXPECT_FALSE(bits[&writer_tag_] & io_failed);

  ASSERT_EQ(write(w, "abc", 3), 3);
  bits = wait(1000000000u);  // ready now: returns at once
  ASSERT_EQ(bits.count(&reader_tag_), 1u);
  EXPECT_TRUE(bits[&reader_tag_] & io_readable);
  EXPECT_FALSE(bits[&reader_tag_] & io_failed);
}

TEST_P(BackendTest, EdgeTriggeredNoRepeatWithoutNewData) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, r, &reader_tag_), add_result::ok);
  ASSERT_EQ(write(w, "x", 1), 1);
  EXPECT_EQ(wait().count(&reader_tag_), 1u);
  EXPECT_EQ(wait().count(&reader_tag_), 0u);  // nothing new (try first, then wait)
  ASSERT_EQ(write(w, "y", 1), 1);
  EXPECT_EQ(wait().count(&reader_tag_), 1u);
}

TEST_P(BackendTest, SocketReadyBothWaysIsReportedOnce) {
  int a, b;
  make_socketpair(a, b);
  ASSERT_EQ(ops_->add(p_, a, &reader_tag_), add_result::ok);
  ASSERT_EQ(write(b, "ping", 4), 4);
  std::size_t count = 0;
  std::map<void*, int> reports;
  auto bits = wait(0, &count, &reports);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(reports[&reader_tag_], 1);
  EXPECT_EQ(bits[&reader_tag_] & (io_readable | io_writable), io_readable | io_writable);
}

TEST_P(BackendTest, EndOfFileWakesTheReader) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, r, &reader_tag_), add_result::ok);
  EXPECT_TRUE(wait().empty());
  close(w);
  forget(w);
  auto bits = wait(1000000000u);
  ASSERT_EQ(bits.count(&reader_tag_), 1u);
  // epoll says EPOLLHUP (io_failed, which wakes both directions); kqueue
  // says EV_EOF on the read filter (io_readable). Either wakes a reader.
  EXPECT_NE(bits[&reader_tag_] & (io_readable | io_failed), 0u);
}

TEST_P(BackendTest, PeerGoneWakesTheWriter) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, w, &writer_tag_), add_result::ok);
  (void)wait();  // the first "writable"
  close(r);
  forget(r);
  auto bits = wait(1000000000u);
  ASSERT_EQ(bits.count(&writer_tag_), 1u);
  // epoll: EPOLLERR (io_failed). kqueue: EV_EOF on the write filter
  // (io_writable; over the shim, whose EV_EOF carries EIO, io_failed too).
  // Either wakes a writer, whose write then fails with EPIPE.
  EXPECT_NE(bits[&writer_tag_] & (io_writable | io_failed), 0u);
}

TEST_P(BackendTest, PeerShutdownMarksTheReadSideClosed) {
  int a, b;
  make_socketpair(a, b);
  ASSERT_EQ(ops_->add(p_, a, &reader_tag_), add_result::ok);
  (void)wait();  // the first "writable"
  ASSERT_EQ(shutdown(b, SHUT_WR), 0);
  auto bits = wait(1000000000u);
  ASSERT_EQ(bits.count(&reader_tag_), 1u);
  EXPECT_EQ(bits[&reader_tag_] & (io_readable | io_read_closed), io_readable | io_read_closed);
  EXPECT_FALSE(bits[&reader_tag_] & io_failed);  // our side can still write
}

TEST_P(BackendTest, OwnShutdownDoesNotEndReading) {
  int a, b;
  make_socketpair(a, b);
  ASSERT_EQ(ops_->add(p_, a, &reader_tag_), add_result::ok);
  (void)wait();
  ASSERT_EQ(shutdown(a, SHUT_WR), 0);  // a half-close, as HTTP/1.0 clients do
  auto bits = wait(20 * 1000 * 1000);
  // Whatever is reported, reads must still be able to wait for b's reply.
  EXPECT_FALSE(bits[&reader_tag_] & (io_failed | io_read_closed));
  ASSERT_EQ(write(b, "reply", 5), 5);
  bits = wait(1000000000u);
  EXPECT_TRUE(bits[&reader_tag_] & io_readable);
}

TEST_P(BackendTest, RemovedFdsAreSilent) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, r, &reader_tag_), add_result::ok);
  ops_->remove(p_, r);
  ASSERT_EQ(write(w, "x", 1), 1);
  EXPECT_TRUE(wait().empty());
  // Registered again after a remove, it works again.
  ASSERT_EQ(ops_->add(p_, r, &writer_tag_), add_result::ok);
  auto bits = wait();
  EXPECT_EQ(bits.count(&writer_tag_), 1u);
  ops_->remove(p_, r);
  ops_->remove(p_, r);  // twice: harmless
}

TEST_P(BackendTest, RegularFilesAreNotPollable) {
  char path[] = "/tmp/async_backend_testXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  keep(fd);
  EXPECT_EQ(ops_->add(p_, fd, &reader_tag_), add_result::not_pollable);
  EXPECT_TRUE(wait().empty());
}

TEST_P(BackendTest, BadFdFails) {
  EXPECT_EQ(ops_->add(p_, 1 << 20, &reader_tag_), add_result::failed);
}

TEST_P(BackendTest, TimeoutElapses) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, r, &reader_tag_), add_result::ok);
  auto t0 = std::chrono::steady_clock::now();
  std::size_t count = 1;
  wait(20 * 1000 * 1000, &count);  // 20 ms
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(count, 0u);
  // A wait may end early only by returning 0 (a signal); over a 20 ms wait
  // that does not happen here. Upper bound: generous for a loaded 2-core VM.
  EXPECT_GE(took, std::chrono::milliseconds(19));
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_P(BackendTest, NotifyBeforeWaitMakesItReturn) {
  ops_->notify(p_);
  auto t0 = std::chrono::steady_clock::now();
  std::size_t count = 1;
  wait(UINT64_MAX, &count);
  EXPECT_EQ(count, 0u);  // absorbed, not counted
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  // Absorbed: the next wait does not see it again.
  wait(0, &count);
  EXPECT_EQ(count, 0u);
  t0 = std::chrono::steady_clock::now();
  wait(10 * 1000 * 1000, &count);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(9));
}

TEST_P(BackendTest, NotifyFromAnotherThreadWakesABlockedWait) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, r, &reader_tag_), add_result::ok);
  for (int round = 0; round < 3; ++round) {
    std::atomic<bool> sent{false};
    std::thread t([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      sent.store(true);
      ops_->notify(p_);
    });
    std::size_t count = 1;
    wait(UINT64_MAX, &count);  // only the notify can end this
    t.join();
    EXPECT_TRUE(sent.load());
    EXPECT_EQ(count, 0u);
  }
}

TEST_P(BackendTest, NotifyDoesNotHideReadyFds) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(ops_->add(p_, r, &reader_tag_), add_result::ok);
  ASSERT_EQ(write(w, "x", 1), 1);
  ops_->notify(p_);
  std::size_t count = 0;
  auto bits = wait(UINT64_MAX, &count);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(bits.count(&reader_tag_), 1u);
}

TEST_P(BackendTest, ManyFdsThroughASmallEventBuffer) {
  // 8 events per wait (SetUp), 20 ready fds: all are reported over a few
  // waits, none twice.
  constexpr int n = 20;
  std::vector<int> tags(n);
  std::vector<int> writers;
  for (int i = 0; i < n; ++i) {
    int r, w;
    make_pipe(r, w);
    ASSERT_EQ(ops_->add(p_, r, &tags[i]), add_result::ok);
    writers.push_back(w);
  }
  for (int w : writers) ASSERT_EQ(write(w, "x", 1), 1);
  std::map<void*, int> reports;
  for (int i = 0; i < 6; ++i) {
    std::size_t count = 0;
    wait(0, &count, &reports);
    EXPECT_LE(count, 8u);
  }
  EXPECT_EQ(reports.size(), static_cast<std::size_t>(n));
  for (auto& [cookie, times] : reports) EXPECT_EQ(times, 1) << cookie;
}

// The runtime uses the backend its config names, else the one ASYNC_BACKEND
// names, else the platform's own, and says which (async_runtime_backend). In
// CI's kqueue stage ASYNC_BACKEND=kqueue, so this also proves the suite there
// really ran on kqueue.
TEST(BackendChoiceTest, TheRuntimeReportsTheBackendItUses) {
  const struct {
    std::uint32_t id;
    const char* name;
  } choices[] = {{ASYNC_BACKEND_EPOLL, "epoll"}, {ASYNC_BACKEND_KQUEUE, "kqueue"}};
  for (const auto& c : choices) {
    async_config_t cfg{};
    cfg.backend = c.id;
    async_runtime_t rt;
    const async_status_t st = async_runtime_init(&rt, &cfg);
    if (backend_by_name(c.name) == nullptr) {
      EXPECT_EQ(st, ASYNC_EINVAL) << c.name << " is not built in";
      continue;
    }
    ASSERT_EQ(st, ASYNC_OK) << c.name;
    EXPECT_STREQ(async_runtime_backend(&rt), c.name);
    async_runtime_shutdown(&rt);
  }
  async_runtime_t rt;
  ASSERT_EQ(async_runtime_init(&rt, nullptr), ASYNC_OK);
  const char* env = std::getenv("ASYNC_BACKEND");
  const char* expected = (env != nullptr && env[0] != '\0') ? env
                         : epoll_backend() != nullptr   ? "epoll"
                                                        : "kqueue";
  EXPECT_STREQ(async_runtime_backend(&rt), expected);
  async_runtime_shutdown(&rt);
}

std::vector<std::string> built_in_backends() {
  std::vector<std::string> names;
  for (const char* name : {"epoll", "kqueue"}) {
    if (backend_by_name(name) != nullptr) names.push_back(name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::ValuesIn(built_in_backends()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string s = info.param;
                           s[0] = static_cast<char>(s[0] - 'a' + 'A');
                           return s;
                         });

}  // namespace
}  // namespace async::detail
