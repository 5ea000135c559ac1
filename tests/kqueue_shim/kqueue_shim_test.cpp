// SPDX-License-Identifier: MIT
// kqueue_shim_test.cpp: the test-only kqueue shim (kqueue_shim.c) does what
// src/io/backend_kqueue.cpp relies on, the way kevent(2) documents it:
// receipts and errors for changes, READ/WRITE readiness with udata, EV_CLEAR
// edges, EV_EOF, EVFILT_USER triggered from another thread, short event
// lists, timeouts. It says nothing about a real kqueue.
#include <fcntl.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

constexpr timespec zero_ts{0, 0};

class KqueueShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kq_ = kqueue();
    ASSERT_GE(kq_, 0) << std::strerror(errno);
  }
  void TearDown() override {
    if (kq_ >= 0) {
      EXPECT_EQ(close(kq_), 0);
    }
    for (int fd : fds_) close(fd);
  }

  void make_pipe(int& r, int& w) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    r = p[0];
    w = p[1];
    fds_.push_back(r);
    fds_.push_back(w);
  }
  void make_socketpair(int& a, int& b) {
    int s[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    a = s[0];
    b = s[1];
    fds_.push_back(a);
    fds_.push_back(b);
  }
  // One change with EV_RECEIPT; its errno (0 when applied).
  int change(uintptr_t ident, int filter, unsigned flags, unsigned fflags = 0, void* udata = nullptr) {
    struct kevent ch, res;
    EV_SET(&ch, ident, filter, flags | EV_RECEIPT, fflags, 0, udata);
    int n = kevent(kq_, &ch, 1, &res, 1, &zero_ts);
    EXPECT_EQ(n, 1);
    EXPECT_TRUE(res.flags & EV_ERROR);
    EXPECT_EQ(res.ident, ident);
    EXPECT_EQ(res.filter, filter);
    return static_cast<int>(res.data);
  }
  std::vector<struct kevent> poll(int max = 16, const timespec* ts = &zero_ts) {
    std::vector<struct kevent> ev(static_cast<std::size_t>(max));
    int n = kevent(kq_, nullptr, 0, ev.data(), max, ts);
    EXPECT_GE(n, 0) << std::strerror(errno);
    ev.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return ev;
  }

  int kq_ = -1;
  std::vector<int> fds_;
  int tag_a_ = 0, tag_b_ = 0;
};

TEST_F(KqueueShimTest, LayoutIsApples) {
  // uintptr_t ident; int16_t filter; uint16_t flags; uint32_t fflags;
  // intptr_t data; void *udata (xnu bsd/sys/event.h, 64-bit).
  EXPECT_EQ(offsetof(struct kevent, ident), 0u);
  EXPECT_EQ(offsetof(struct kevent, filter), sizeof(uintptr_t));
  EXPECT_EQ(offsetof(struct kevent, flags), sizeof(uintptr_t) + 2);
  EXPECT_EQ(offsetof(struct kevent, fflags), sizeof(uintptr_t) + 4);
  EXPECT_EQ(offsetof(struct kevent, data), sizeof(uintptr_t) + 8);
  EXPECT_EQ(offsetof(struct kevent, udata), sizeof(uintptr_t) + 8 + sizeof(intptr_t));
  EXPECT_EQ(EV_ADD, 0x1);
  EXPECT_EQ(EV_CLEAR, 0x20);
  EXPECT_EQ(EV_RECEIPT, 0x40);
  EXPECT_EQ(EV_EOF, 0x8000);
  EXPECT_EQ(EV_ERROR, 0x4000);
  EXPECT_EQ(EVFILT_USER, -10);
  EXPECT_EQ(NOTE_TRIGGER, 0x01000000);
}

TEST_F(KqueueShimTest, ReceiptsAndErrors) {
  int r, w;
  make_pipe(r, w);
  EXPECT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR), 0);
  EXPECT_EQ(change(w, EVFILT_WRITE, EV_DELETE), ENOENT);
  EXPECT_EQ(change(r, EVFILT_TIMER, EV_ADD), EINVAL);
  EXPECT_EQ(change(12345, EVFILT_READ, EV_ADD), EBADF);
  // Without room for the error, the call fails with it.
  struct kevent ch;
  EV_SET(&ch, w, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  errno = 0;
  EXPECT_EQ(kevent(kq_, &ch, 1, nullptr, 0, nullptr), -1);
  EXPECT_EQ(errno, ENOENT);
  // An error returns at once even with an infinite timeout and nothing ready.
  struct kevent res[2];
  EXPECT_EQ(kevent(kq_, &ch, 1, res, 2, nullptr), 1);
  EXPECT_EQ(res[0].data, ENOENT);
  EXPECT_EQ(kevent(-1, nullptr, 0, nullptr, 0, nullptr), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(KqueueShimTest, RegularFilesAreRefusedAsEpollDoes) {
  char path[] = "/tmp/kqueue_shim_testXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  fds_.push_back(fd);
  EXPECT_EQ(change(fd, EVFILT_READ, EV_ADD | EV_CLEAR), EPERM);
  EXPECT_EQ(change(fd, EVFILT_READ, EV_DELETE), ENOENT);  // nothing was left behind
}

TEST_F(KqueueShimTest, ReadAndWriteReadinessCarryUdataAndData) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR, 0, &tag_a_), 0);
  ASSERT_EQ(change(w, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, &tag_b_), 0);
  auto ev = poll();
  ASSERT_EQ(ev.size(), 1u);  // an empty pipe is writable, not readable
  EXPECT_EQ(ev[0].ident, static_cast<uintptr_t>(w));
  EXPECT_EQ(ev[0].filter, EVFILT_WRITE);
  EXPECT_EQ(ev[0].udata, &tag_b_);
  EXPECT_FALSE(ev[0].flags & (EV_EOF | EV_ERROR));

  ASSERT_EQ(write(w, "hello", 5), 5);
  ev = poll();
  ASSERT_GE(ev.size(), 1u);
  bool saw_read = false;
  for (const auto& e : ev) {
    if (e.filter != EVFILT_READ) continue;
    saw_read = true;
    EXPECT_EQ(e.ident, static_cast<uintptr_t>(r));
    EXPECT_EQ(e.udata, &tag_a_);
    EXPECT_EQ(e.data, 5);  // FIONREAD
  }
  EXPECT_TRUE(saw_read);
}

TEST_F(KqueueShimTest, ClearReportsOnlyNewEdges) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR), 0);
  ASSERT_EQ(write(w, "x", 1), 1);
  EXPECT_EQ(poll().size(), 1u);
  EXPECT_EQ(poll().size(), 0u);  // still readable, but no new edge
  ASSERT_EQ(write(w, "y", 1), 1);
  auto ev = poll();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, 2);
}

TEST_F(KqueueShimTest, LevelReportsWhileReady) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD), 0);
  ASSERT_EQ(write(w, "x", 1), 1);
  EXPECT_EQ(poll().size(), 1u);
  EXPECT_EQ(poll().size(), 1u);
  char c;
  ASSERT_EQ(read(r, &c, 1), 1);
  EXPECT_EQ(poll().size(), 0u);
}

TEST_F(KqueueShimTest, ReadAndWriteOnOneFdMustAgreeOnClear) {
  int a, b;
  make_socketpair(a, b);
  ASSERT_EQ(change(a, EVFILT_READ, EV_ADD | EV_CLEAR), 0);
  EXPECT_EQ(change(a, EVFILT_WRITE, EV_ADD), ENOTSUP);
  EXPECT_EQ(change(a, EVFILT_WRITE, EV_ADD | EV_CLEAR), 0);
}

TEST_F(KqueueShimTest, EofOnPipeAndSocketHangUp) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR), 0);
  close(w);
  fds_.erase(std::find(fds_.begin(), fds_.end(), w));
  auto ev = poll();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].flags & EV_EOF);
  EXPECT_EQ(ev[0].fflags, 0u);

  int a, b;
  make_socketpair(a, b);
  ASSERT_EQ(change(a, EVFILT_READ, EV_ADD | EV_CLEAR, 0, &tag_a_), 0);
  ASSERT_EQ(change(a, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, &tag_b_), 0);
  EXPECT_EQ(poll().size(), 1u);  // writable
  ASSERT_EQ(shutdown(b, SHUT_WR), 0);
  ev = poll();
  // Peer stopped writing: EV_EOF on the read side only. (epoll's edge
  // carries the whole mask, so the shim may repeat "writable" too: a
  // spurious event, which a kqueue would not send.)
  bool read_eof = false;
  for (const auto& e : ev) {
    if (e.filter == EVFILT_READ) read_eof = (e.flags & EV_EOF) != 0;
    if (e.filter == EVFILT_WRITE) {
      EXPECT_FALSE(e.flags & EV_EOF);
    }
  }
  EXPECT_TRUE(read_eof);
  close(b);
  fds_.erase(std::find(fds_.begin(), fds_.end(), b));
  ev = poll();
  bool write_eof = false;
  for (const auto& e : ev) {
    if (e.filter == EVFILT_WRITE) write_eof = (e.flags & EV_EOF) != 0;
  }
  EXPECT_TRUE(write_eof);
}

TEST_F(KqueueShimTest, ShortEventListLosesNothing) {
  int a, b;
  make_socketpair(a, b);
  ASSERT_EQ(change(a, EVFILT_READ, EV_ADD | EV_CLEAR, 0, &tag_a_), 0);
  ASSERT_EQ(change(a, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, &tag_b_), 0);
  ASSERT_EQ(write(b, "z", 1), 1);
  // One epoll event (readable and writable) makes two kevents.
  auto first = poll(1);
  auto second = poll(1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(first[0].filter, second[0].filter);
  EXPECT_EQ(poll().size(), 0u);
}

TEST_F(KqueueShimTest, OneshotAndDispatch) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_ONESHOT), 0);
  ASSERT_EQ(write(w, "x", 1), 1);
  EXPECT_EQ(poll().size(), 1u);
  EXPECT_EQ(poll().size(), 0u);
  EXPECT_EQ(change(r, EVFILT_READ, EV_DELETE), ENOENT);  // gone after delivery

  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR | EV_DISPATCH), 0);
  EXPECT_EQ(poll().size(), 1u);
  ASSERT_EQ(write(w, "y", 1), 1);
  EXPECT_EQ(poll().size(), 0u);  // disabled after the delivery
  EXPECT_EQ(change(r, EVFILT_READ, EV_ENABLE), 0);
  EXPECT_EQ(poll().size(), 1u);  // still readable: reported on enable
}

TEST_F(KqueueShimTest, DisableAndDelete) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR | EV_DISABLE), 0);
  ASSERT_EQ(write(w, "x", 1), 1);
  EXPECT_EQ(poll().size(), 0u);
  ASSERT_EQ(change(r, EVFILT_READ, EV_DELETE), 0);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR), 0);
  EXPECT_EQ(poll().size(), 1u);
  ASSERT_EQ(change(r, EVFILT_READ, EV_DELETE), 0);
  ASSERT_EQ(write(w, "y", 1), 1);
  EXPECT_EQ(poll().size(), 0u);
}

TEST_F(KqueueShimTest, UserEventClearsAndCarriesFflags) {
  ASSERT_EQ(change(7, EVFILT_USER, EV_ADD | EV_CLEAR, 0, &tag_a_), 0);
  EXPECT_EQ(poll().size(), 0u);
  EXPECT_EQ(change(7, EVFILT_USER, 0, NOTE_TRIGGER | NOTE_FFCOPY | 0x5), 0);
  EXPECT_EQ(change(7, EVFILT_USER, 0, NOTE_TRIGGER), 0);  // coalesces
  auto ev = poll();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ident, 7u);
  EXPECT_EQ(ev[0].filter, EVFILT_USER);
  EXPECT_EQ(ev[0].fflags, 0x5u);
  EXPECT_EQ(ev[0].udata, &tag_a_);
  EXPECT_EQ(poll().size(), 0u);  // EV_CLEAR: reset by the delivery
  EXPECT_EQ(change(8, EVFILT_USER, 0, NOTE_TRIGGER), ENOENT);
}

TEST_F(KqueueShimTest, UserEventFromAnotherThreadWakesAWait) {
  ASSERT_EQ(change(0, EVFILT_USER, EV_ADD | EV_CLEAR), 0);
  std::atomic<bool> sent{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    sent = true;
    struct kevent ch;
    EV_SET(&ch, 0, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
    EXPECT_EQ(kevent(kq_, &ch, 1, nullptr, 0, nullptr), 0);
  });
  auto ev = poll(4, nullptr);  // no timeout: only the trigger ends it
  t.join();
  EXPECT_TRUE(sent.load());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].filter, EVFILT_USER);
}

TEST_F(KqueueShimTest, TimeoutIsHonoured) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR), 0);
  const timespec ts{0, 20 * 1000 * 1000};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(poll(4, &ts).size(), 0u);
  auto took = std::chrono::steady_clock::now() - t0;
  // At least the timeout; at most a generous 2 s on a loaded 2-core VM.
  EXPECT_GE(took, std::chrono::milliseconds(20));
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(KqueueShimTest, ANumberReusedAfterCloseStartsAfresh) {
  int r, w;
  make_pipe(r, w);
  ASSERT_EQ(change(r, EVFILT_READ, EV_ADD | EV_CLEAR), 0);
  int old = kq_;
  ASSERT_EQ(close(kq_), 0);
  kq_ = kqueue();
  ASSERT_GE(kq_, 0);
  if (kq_ == old) {
    EXPECT_EQ(change(r, EVFILT_READ, EV_DELETE), ENOENT);
  }
}

}  // namespace
