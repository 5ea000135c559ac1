// SPDX-License-Identifier: MIT
// cpp_channel_test.cpp: async::channel<T> (async/channel.hpp). Each test runs fibers
// on a private runtime whose scheduler is deterministic, so interleavings are
// checked as whole traces. Values of a counting type prove that every value
// is destroyed exactly once, delivered or not.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "async.hpp"
#include "support/cpp_runtime_fixture.h"
#include "support/seeded.h"

namespace {

using namespace std::chrono_literals;
using Trace = std::vector<std::string>;

// Counts constructions and destructions of its values (copies and moves too).
struct tally {
  int constructed = 0;
  int destroyed = 0;
  int live() const { return constructed - destroyed; }
};

struct item {
  tally* t;
  int value;
  item(tally& tl, int v) : t(&tl), value(v) { ++t->constructed; }
  item(const item& o) : t(o.t), value(o.value) { ++t->constructed; }
  item(item&& o) noexcept : t(o.t), value(o.value) {
    o.value = -1;
    ++t->constructed;
  }
  item& operator=(const item&) = default;
  item& operator=(item&& o) noexcept {
    t = o.t;
    value = std::exchange(o.value, -1);
    return *this;
  }
  ~item() { ++t->destroyed; }
};

// Logs its destruction.
struct scope_log {
  Trace* trace;
  const char* name;
  ~scope_log() { trace->push_back(std::string("~") + name); }
};

class CppChannelTest : public async_test::CppRuntimeFixture {
 protected:
  void run() { ASSERT_EQ(rt().run(), async::status::ok); }

  Trace trace;
};

static_assert(!std::is_copy_constructible_v<async::channel<int>>);
static_assert(!std::is_move_constructible_v<async::channel<int>>);
static_assert(!std::is_copy_assignable_v<async::channel<int>>);
static_assert(!std::is_move_assignable_v<async::channel<int>>);
static_assert(std::input_iterator<async::channel<std::unique_ptr<int>>::iterator>);

TEST_F(CppChannelTest, MoveOnlyValuesGoThroughABufferedChannelInOrder) {
  ASYNC_FIFO_ONLY();
  async::channel<std::unique_ptr<int>> ch(rt(), 2);
  EXPECT_EQ(ch.capacity(), 2u);
  auto producer = async::spawn(rt(), [&] {
    for (int i = 1; i <= 5; ++i) {
      EXPECT_TRUE(ch.send(std::make_unique<int>(i * 10)));
      trace.push_back("sent " + std::to_string(i * 10));
    }
    ch.close();
    trace.push_back("closed");
  });
  auto consumer = async::spawn(rt(), [&] {
    for (std::unique_ptr<int> v : ch) trace.push_back("got " + std::to_string(*v));
    trace.push_back("drained");
  });
  run();
  producer.join();
  consumer.join();
  // 30 waits parked; receiving 10 pulls it into the buffer, so the
  // consumer drains 20 and 30 before the producer runs again; 40 is handed
  // straight to the parked consumer and 50 buffered.
  EXPECT_EQ(trace, (Trace{"sent 10", "sent 20", "got 10", "got 20", "got 30", "sent 30", "sent 40", "sent 50", "closed",
                          "got 40", "got 50", "drained"}));
}

TEST_F(CppChannelTest, RendezvousSendWaitsForTheReceiver) {
  ASYNC_FIFO_ONLY();
  async::channel<std::string> ch(rt(), 0);
  auto sender = async::spawn(rt(), [&] {
    for (const char* s : {"a", "b", "c"}) {
      trace.push_back(std::string("send ") + s);
      EXPECT_TRUE(ch.send(s));
      trace.push_back(std::string("sent ") + s);
    }
  });
  auto receiver = async::spawn(rt(), [&] {
    for (int i = 0; i < 3; ++i) {
      std::optional<std::string> v = ch.recv();
      ASSERT_TRUE(v.has_value());
      trace.push_back("recv " + *v);
      async::this_fiber::yield();
    }
  });
  run();
  sender.join();
  receiver.join();
  EXPECT_EQ(trace, (Trace{"send a", "recv a", "sent a", "send b", "recv b", "sent b", "send c", "recv c", "sent c"}));
}

TEST_F(CppChannelTest, ParkedReceiversAreServedInOrder) {
  ASYNC_FIFO_ONLY();
  async::channel<std::string> ch(rt(), 1);
  std::vector<async::fiber<void>> receivers;
  for (int r = 0; r < 3; ++r) {
    receivers.push_back(async::spawn(rt(), [&, r] {
      std::optional<std::string> v = ch.recv();
      trace.push_back("r" + std::to_string(r) + " " + v.value_or("none"));
    }));
  }
  auto sender = async::spawn(rt(), [&] {
    for (const char* s : {"x", "y", "z", "w"}) EXPECT_TRUE(ch.send(s));
    trace.push_back("sender done");
    ch.close();
  });
  run();
  for (auto& f : receivers) f.join();
  sender.join();
  // x and y are handed to r0 and r1 and hold both cells until they run, so
  // the sender waits for a cell before handing z to r2 (see async/channel.hpp).
  EXPECT_EQ(trace, (Trace{"r0 x", "r1 y", "sender done", "r2 z"}));
  // "w" stayed buffered; the channel's destructor destroys it.
}

TEST_F(CppChannelTest, ManySendersKeepTheirOwnOrder) {
  ASYNC_FIFO_ONLY();
  async::channel<std::string> ch(rt(), 1);
  std::vector<async::fiber<void>> senders;
  for (int s = 0; s < 3; ++s) {
    senders.push_back(async::spawn(rt(), [&, s] {
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(ch.send(std::to_string(s) + ":" + std::to_string(i)));
    }));
  }
  auto receiver = async::spawn(rt(), [&] {
    for (int i = 0; i < 9; ++i) trace.push_back(ch.recv().value());
  });
  run();
  for (auto& f : senders) f.join();
  receiver.join();
  EXPECT_EQ(trace, (Trace{"0:0", "0:1", "1:0", "2:0", "0:2", "1:1", "2:1", "1:2", "2:2"}));
}

TEST_F(CppChannelTest, CloseLetsReceiversDrainThenEnds) {
  tally t;
  {
    async::channel<item> ch(rt(), 3);
    auto f = async::spawn(rt(), [&] {
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(ch.send(item(t, i)));
      EXPECT_FALSE(ch.closed());
      EXPECT_TRUE(ch.close());
      EXPECT_FALSE(ch.close());
      EXPECT_TRUE(ch.closed());
      EXPECT_FALSE(ch.send(item(t, 99)));
      item keep(t, 7);
      EXPECT_EQ(ch.try_send(std::move(keep)), async::status::eclosed);
      EXPECT_EQ(keep.value, 7);  // handed back
      for (item v : ch) trace.push_back("got " + std::to_string(v.value));
      EXPECT_FALSE(ch.recv().has_value());
      EXPECT_FALSE(ch.try_recv().has_value());
      EXPECT_FALSE(ch.recv_for(1s).has_value());
    });
    run();
    f.join();
  }
  EXPECT_EQ(trace, (Trace{"got 0", "got 1", "got 2"}));
  EXPECT_EQ(t.live(), 0);
}

TEST_F(CppChannelTest, CloseWakesParkedSendersAndTheirValuesAreDestroyed) {
  ASYNC_FIFO_ONLY();
  tally t;
  {
    async::channel<item> ch(rt(), 1);
    std::vector<async::fiber<void>> senders;
    for (int s = 0; s < 3; ++s) {
      senders.push_back(async::spawn(rt(), [&, s] {
        const bool ok = ch.send(item(t, s));
        trace.push_back("s" + std::to_string(s) + (ok ? " sent" : " closed"));
      }));
    }
    auto closer = async::spawn(rt(), [&] {
      trace.push_back("close");
      ch.close();
    });
    run();
    for (auto& f : senders) f.join();
    closer.join();
    EXPECT_EQ(t.live(), 1);  // s0's value stays buffered
    std::optional<item> v = ch.try_recv();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->value, 0);
  }
  // s1 parked on the full channel, s2 queued for a cell: both fail.
  EXPECT_EQ(trace, (Trace{"s0 sent", "close", "s1 closed", "s2 closed"}));
  EXPECT_EQ(t.live(), 0);
}

TEST_F(CppChannelTest, CancellingAParkedSenderUnwindsAndDropsItsValue) {
  ASYNC_FIFO_ONLY();
  tally t;
  {
    async::channel<item> ch(rt(), 0);
    auto sender = async::spawn(rt(), [&] {
      scope_log log{&trace, "sender"};
      ch.send(item(t, 1));
      trace.push_back("not reached");
    });
    auto second = async::spawn(rt(), [&] {  // queued for the one cell
      scope_log log{&trace, "second"};
      ch.send(item(t, 2));
      trace.push_back("not reached");
    });
    auto canceller = async::spawn(rt(), [&] {
      trace.push_back("cancel");
      sender.cancel();
      second.cancel();
    });
    run();
    EXPECT_THROW(sender.join(), async::cancelled);
    EXPECT_THROW(second.join(), async::cancelled);
    canceller.join();
    EXPECT_EQ(t.live(), 0);
    EXPECT_FALSE(ch.try_recv().has_value());  // nothing was delivered
    // The cells went back: a new rendezvous still works.
    auto rx = async::spawn(rt(), [&] { trace.push_back("got " + std::to_string(ch.recv().value().value)); });
    auto tx = async::spawn(rt(), [&] { EXPECT_TRUE(ch.send(item(t, 3))); });
    run();
    rx.join();
    tx.join();
  }
  EXPECT_EQ(trace, (Trace{"cancel", "~sender", "~second", "got 3"}));
  EXPECT_EQ(t.live(), 0);
  EXPECT_EQ(t.constructed, t.destroyed);
}

TEST_F(CppChannelTest, CancellingAParkedReceiverUnwindsIt) {
  ASYNC_FIFO_ONLY();
  async::channel<std::string> ch(rt(), 2);
  auto receiver = async::spawn(rt(), [&] {
    scope_log log{&trace, "receiver"};
    (void)ch.recv();
    trace.push_back("not reached");
  });
  auto canceller = async::spawn(rt(), [&] {
    trace.push_back("cancel");
    receiver.cancel();
  });
  run();
  EXPECT_THROW(receiver.join(), async::cancelled);
  canceller.join();
  EXPECT_EQ(trace, (Trace{"cancel", "~receiver"}));
  // The receiver left the channel: a send is buffered, not handed to it.
  EXPECT_EQ(ch.try_send(std::string("kept")), async::status::ok);
  EXPECT_EQ(ch.try_recv().value(), "kept");
}

TEST_F(CppChannelTest, AValueHandedBeforeTheCancelIsStillReceived) {
  async::channel<std::string> ch(rt(), 0);
  async::fiber<std::string> receiver = async::spawn(rt(), [&] { return ch.recv().value(); });
  auto other = async::spawn(rt(), [&] {
    EXPECT_TRUE(ch.send("handed"));  // hands it to the parked receiver
    receiver.cancel();
  });
  run();
  other.join();
  EXPECT_EQ(receiver.join(), "handed");
}

TEST_F(CppChannelTest, ACancelledFiberCannotSendOrReceive) {
  tally t;
  {
    async::channel<item> ch(rt(), 4);
    auto f = async::spawn(rt(), [&] {
      async::this_fiber::self().cancel();
      EXPECT_THROW(ch.send(item(t, 1)), async::cancelled);
      EXPECT_THROW((void)ch.recv(), async::cancelled);
      EXPECT_EQ(ch.try_send(item(t, 2)), async::status::ok);  // does not suspend
      EXPECT_EQ(ch.try_recv().value().value, 2);
    });
    run();
    f.join();
  }
  EXPECT_EQ(t.live(), 0);
}

TEST_F(CppChannelTest, TimeoutsAreReportedWithoutThrowing) {
  async::channel<std::unique_ptr<int>> ch(rt(), 1);
  auto f = async::spawn(rt(), [&] {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(ch.recv_for(2ms).has_value());
    EXPECT_FALSE(ch.recv_until(std::chrono::steady_clock::now() + 1ms).has_value());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 3ms);
    EXPECT_FALSE(ch.closed());
    auto v = std::make_unique<int>(5);
    EXPECT_EQ(ch.send_for(std::move(v), 1ms), async::status::ok);
    EXPECT_EQ(v, nullptr);
    auto w = std::make_unique<int>(6);
    EXPECT_EQ(ch.send_for(std::move(w), 2ms), async::status::etimedout);
    ASSERT_NE(w, nullptr);  // handed back
    EXPECT_EQ(*w, 6);
    EXPECT_EQ(ch.send_until(std::move(w), std::chrono::steady_clock::now() + 1ms), async::status::etimedout);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(*ch.recv_for(1h).value(), 5);
    EXPECT_EQ(ch.send_until(std::move(w), std::chrono::steady_clock::time_point::max()), async::status::ok);
    EXPECT_EQ(*ch.recv_until(std::chrono::steady_clock::now() - 1s).value(), 6);
  });
  run();
  f.join();
}

TEST_F(CppChannelTest, TimedReceiveGetsAValueSentBeforeTheDeadline) {
  async::channel<int> ch(rt(), 0);
  auto receiver = async::spawn(rt(), [&] {
    std::optional<int> v = ch.recv_for(10s);
    trace.push_back(v ? "got " + std::to_string(*v) : "timeout");
  });
  auto sender = async::spawn(rt(), [&] {
    async::this_fiber::sleep_for(1ms);
    EXPECT_EQ(ch.send_for(42, 10s), async::status::ok);
  });
  run();
  receiver.join();
  sender.join();
  EXPECT_EQ(trace, (Trace{"got 42"}));
}

TEST_F(CppChannelTest, TryVariantsWorkOutsideFibers) {
  tally t;
  {
    async::channel<item> ch(rt(), 2);
    item a(t, 1);
    EXPECT_EQ(ch.try_send(std::move(a)), async::status::ok);
    EXPECT_EQ(a.value, -1);  // moved from
    EXPECT_EQ(ch.try_send(item(t, 2)), async::status::ok);
    item c(t, 3);
    EXPECT_EQ(ch.try_send(std::move(c)), async::status::eagain);
    EXPECT_EQ(c.value, 3);  // handed back
    const item d(t, 4);
    EXPECT_EQ(ch.try_send(d), async::status::eagain);  // copies
    EXPECT_EQ(ch.try_recv().value().value, 1);
    EXPECT_EQ(ch.try_recv().value().value, 2);
    EXPECT_FALSE(ch.try_recv().has_value());
    EXPECT_FALSE(ch.closed());
    // Blocking calls outside a fiber are misuse.
    try {
      (void)ch.send(item(t, 5));
      ADD_FAILURE() << "send outside a fiber";
    } catch (const async::error& e) {
      EXPECT_EQ(e.code(), async::status::estate);
    }
    try {
      (void)ch.recv();
      ADD_FAILURE() << "recv outside a fiber";
    } catch (const async::error& e) {
      EXPECT_EQ(e.code(), async::status::estate);
    }
    EXPECT_EQ(ch.try_send(item(t, 6)), async::status::ok);  // the cell came back
  }
  EXPECT_EQ(t.live(), 0);  // the destructor destroyed the buffered 6
}

TEST_F(CppChannelTest, UnbufferedTrySendNeedsAParkedReceiver) {
  ASYNC_FIFO_ONLY();
  async::channel<int> ch(rt(), 0);
  EXPECT_EQ(ch.try_send(1), async::status::eagain);
  auto receiver = async::spawn(rt(), [&] { trace.push_back("got " + std::to_string(ch.recv().value())); });
  auto sender = async::spawn(rt(), [&] {
    EXPECT_EQ(ch.try_send(2), async::status::ok);  // the receiver is parked
    EXPECT_FALSE(ch.try_recv().has_value());
  });
  run();
  receiver.join();
  sender.join();
  EXPECT_EQ(trace, (Trace{"got 2"}));
}

TEST_F(CppChannelTest, MaxWaitersBoundsTheParkedFibers) {
  ASYNC_FIFO_ONLY();
  async::channel<int> ch(rt(), 0, 1);
  auto first = async::spawn(rt(), [&] { trace.push_back("first " + std::to_string(ch.recv().value_or(-1))); });
  auto second = async::spawn(rt(), [&] {
    try {
      (void)ch.recv();
    } catch (const async::error& e) {
      EXPECT_EQ(e.code(), async::status::efull);
      trace.push_back("second efull");
    }
    EXPECT_TRUE(ch.send(8));
  });
  run();
  first.join();
  second.join();
  EXPECT_EQ(trace, (Trace{"second efull", "first 8"}));
}

TEST_F(CppChannelTest, TheDestructorDestroysBufferedValues) {
  tally t;
  {
    async::channel<item> ch(rt(), 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(ch.try_send(item(t, i)), async::status::ok);
    EXPECT_EQ(t.live(), 4);
  }
  EXPECT_EQ(t.live(), 0);
  std::string big(1000, 'x');  // heap strings left buffered must not leak (LSan)
  {
    async::channel<std::string> ch(rt(), 2);
    EXPECT_EQ(ch.try_send(std::string(big)), async::status::ok);
    EXPECT_EQ(ch.try_send(std::string(big)), async::status::ok);
  }
}

TEST_F(CppChannelTest, ConstructorErrorsThrow) {
  try {
    async::channel<int> ch(rt(), SIZE_MAX);
    ADD_FAILURE() << "capacity SIZE_MAX";
  } catch (const async::error& e) {
    EXPECT_EQ(e.code(), async::status::einval);
  }
}

TEST_F(CppChannelTest, AStressOfMovingValuesLosesAndDuplicatesNothing) {
  tally t;
  {
    async::channel<item> ch(rt(), 3);
    constexpr int kSenders = 4;
    constexpr int kEach = 200;
    std::vector<async::fiber<void>> fibers;
    std::vector<std::vector<int>> next(2, std::vector<int>(kSenders, 0));
    long sum = 0;
    int received = 0;
    for (int s = 0; s < kSenders; ++s) {
      fibers.push_back(async::spawn(rt(), [&, s] {
        for (int i = 0; i < kEach; ++i) {
          EXPECT_TRUE(ch.send(item(t, s * 1000 + i)));
          if (i % (s + 2) == 0) async::this_fiber::yield();
        }
      }));
    }
    for (int r = 0; r < 2; ++r) {
      fibers.push_back(async::spawn(rt(), [&, r] {
        while (std::optional<item> v = r == 0 ? ch.recv() : ch.recv_for(1s)) {
          const int s = v->value / 1000;
          // Each receiver sees each sender's values in increasing order.
          EXPECT_GE(v->value % 1000, next[r][s]) << "sender " << s << " out of order";
          next[r][s] = v->value % 1000 + 1;
          sum += v->value;
          if (++received == kSenders * kEach) ch.close();
        }
      }));
    }
    run();
    for (auto& f : fibers) f.join();
    EXPECT_EQ(received, kSenders * kEach);
    long expected = 0;
    for (int s = 0; s < kSenders; ++s)
      for (int i = 0; i < kEach; ++i) expected += s * 1000 + i;
    EXPECT_EQ(sum, expected);
  }
  EXPECT_EQ(t.live(), 0);
}


// --------------------------------------------------------------- select

std::string describe(const async::select_result& r) {
  if (r.index == async::select_result::none) return r.timed_out() ? "timed out" : "none";
  return std::to_string(r.index) + (r.closed() ? " closed" : " ok");
}

TEST_F(CppChannelTest, SelectChoosesTheFirstReadyCaseAndReturnsItsValue) {
  async::channel<int> numbers(rt(), 1);
  async::channel<std::string> words(rt(), 1);
  ASSERT_EQ(words.try_send(std::string("w")), async::status::ok);
  ASSERT_EQ(numbers.try_send(7), async::status::ok);
  auto f = async::spawn(rt(), [&] {
    std::optional<int> n;
    std::optional<std::string> w;
    auto r = async::select(async::recv_case(numbers, n), async::recv_case(words, w));
    trace.push_back(describe(r) + " n=" + std::to_string(n.value_or(-1)) + " w=" + w.value_or("-"));
    r = async::select(async::recv_case(numbers, n), async::recv_case(words, w));
    trace.push_back(describe(r) + " w=" + w.value_or("-"));
    std::string text = "x";
    r = async::select(async::recv_case(numbers, n), async::send_case(words, text));  // words has room again
    trace.push_back(describe(r) + " text='" + text + "'");
  });
  run();
  f.join();
  EXPECT_EQ(trace, (Trace{"0 ok n=7 w=-", "1 ok w=w", "1 ok text=''"}));
  EXPECT_EQ(words.try_recv().value_or("none"), "x");
}

TEST_F(CppChannelTest, SelectWaitsForEitherKindOfCase) {
  ASYNC_FIFO_ONLY();
  async::channel<int> in(rt(), 0);
  async::channel<int> out(rt(), 0);
  auto sel = async::spawn(rt(), [&] {
    for (int round = 0; round < 2; ++round) {
      std::optional<int> got;
      int v = 100 + round;
      trace.push_back("select");
      auto r = async::select(async::recv_case(in, got), async::send_case(out, v));
      trace.push_back(describe(r) + (r.index == 0 ? " got " + std::to_string(*got) : " v=" + std::to_string(v)));
    }
  });
  auto other = async::spawn(rt(), [&] {
    EXPECT_TRUE(in.send(1));  // the parked select takes it
    trace.push_back("sent 1");
    std::optional<int> v = out.recv();  // the parked select's value
    trace.push_back("received " + std::to_string(v.value_or(-1)));
  });
  run();
  sel.join();
  other.join();
  // Round 1 finds the other fiber parked in out.recv(): its send case is
  // ready and goes first.
  EXPECT_EQ(trace, (Trace{"select", "sent 1", "0 ok got 1", "select", "1 ok v=101", "received 101"}));
}

TEST_F(CppChannelTest, SelectingSenderAndReceiverMeetOnARendezvousChannel) {
  ASYNC_FIFO_ONLY();
  async::channel<std::string> ch(rt(), 0);
  async::channel<int> never(rt(), 0);
  auto receiver = async::spawn(rt(), [&] {
    std::optional<std::string> got;
    std::optional<int> n;
    auto r = async::select(async::recv_case(never, n), async::recv_case(ch, got));
    trace.push_back("receiver " + describe(r) + " " + got.value_or("-"));
  });
  auto sender = async::spawn(rt(), [&] {
    std::optional<int> n;
    auto r = async::select(async::recv_case(never, n), async::send_case(ch, std::string("hello")));
    trace.push_back("sender " + describe(r));
  });
  run();
  receiver.join();
  sender.join();
  EXPECT_EQ(trace, (Trace{"sender 1 ok", "receiver 1 ok hello"}));
}

TEST_F(CppChannelTest, ASendCaseWaitsForAFreeCell) {
  ASYNC_FIFO_ONLY();
  // Capacity 0 has one cell: while a plain sender holds it, a select's send
  // case waits for it, and is chosen only once the value went out.
  async::channel<int> ch(rt(), 0);
  auto plain = async::spawn(rt(), [&] {
    EXPECT_TRUE(ch.send(1));
    trace.push_back("plain sent");
  });
  auto sel = async::spawn(rt(), [&] {
    int v = 2;
    auto r = async::select(async::send_case(ch, v));
    trace.push_back("select " + describe(r));
  });
  auto receiver = async::spawn(rt(), [&] {
    for (int i = 0; i < 2; ++i) trace.push_back("got " + std::to_string(ch.recv().value_or(-1)));
  });
  run();
  plain.join();
  sel.join();
  receiver.join();
  // The receiver frees the cell into the waiting select, then parks; the
  // select fills the cell and hands it to the parked receiver.
  EXPECT_EQ(trace, (Trace{"got 1", "plain sent", "select 0 ok", "got 2"}));
}

TEST_F(CppChannelTest, SelectTimeoutsAndTryReportWithoutThrowingAndKeepValues) {
  tally t;
  async::channel<item> ch(rt(), 0);
  auto f = async::spawn(rt(), [&] {
    item v(t, 5);
    std::optional<item> got;
    auto r = async::select_for(1ms, async::send_case(ch, v), async::recv_case(ch, got));
    trace.push_back(describe(r) + " v=" + std::to_string(v.value));
    r = async::select_until(std::chrono::steady_clock::now() - 1s, async::send_case(ch, v));
    trace.push_back(describe(r) + " v=" + std::to_string(v.value));
    r = async::try_select(async::send_case(ch, v));
    trace.push_back(describe(r) + " v=" + std::to_string(v.value));
  });
  run();
  f.join();
  EXPECT_EQ(trace, (Trace{"timed out v=5", "timed out v=5", "none v=5"}));
  EXPECT_EQ(t.live(), 0);
}

TEST_F(CppChannelTest, SelectReportsAClosedChannel) {
  ASYNC_FIFO_ONLY();
  tally t;
  async::channel<item> a(rt(), 1);
  async::channel<int> b(rt(), 0);
  auto f = async::spawn(rt(), [&] {
    std::optional<int> n = 3;
    item v(t, 9);
    auto r = async::select(async::recv_case(b, n), async::send_case(a, v));  // a has room
    trace.push_back(describe(r));
    item w(t, 10);
    r = async::select(async::recv_case(b, n), async::send_case(a, w));  // parks: a full, b empty
    trace.push_back(describe(r) + " n=" + (n ? "set" : "empty") + " w=" + std::to_string(w.value));
  });
  auto closer = async::spawn(rt(), [&] { b.close(); });
  run();
  f.join();
  closer.join();
  EXPECT_EQ(trace, (Trace{"1 ok", "0 closed n=empty w=10"}));
  std::optional<item> left = a.try_recv();
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(left->value, 9);
  left.reset();
  EXPECT_EQ(t.live(), 0);
}

TEST_F(CppChannelTest, CancellingAParkedSelectThrowsAndKeepsTheValue) {
  ASYNC_FIFO_ONLY();
  tally t;
  async::channel<item> ch(rt(), 0);
  std::optional<async::fiber<void>> sel;
  sel.emplace(async::spawn(rt(), [&] {
    item v(t, 4);
    try {
      (void)async::select(async::send_case(ch, v));
    } catch (const async::cancelled&) {
      trace.push_back("cancelled v=" + std::to_string(v.value));
      throw;
    }
  }));
  auto other = async::spawn(rt(), [&] {
    sel->cancel();
    EXPECT_FALSE(ch.try_recv().has_value());  // the value was not delivered
    trace.push_back("canceller");
  });
  run();
  EXPECT_THROW(sel->join(), async::cancelled);
  other.join();
  EXPECT_EQ(trace, (Trace{"canceller", "cancelled v=4"}));
  EXPECT_EQ(t.live(), 0);
}

TEST_F(CppChannelTest, SelectMisuseThrows) {
  async::channel<int> ch(rt(), 1);
  int v = 1;
  EXPECT_THROW((void)async::select(async::send_case(ch, v)), async::error);  // outside a fiber: estate
  EXPECT_EQ(async::try_select(async::send_case(ch, v)).index, 0u);            // try works outside
  async::runtime other;
  async::channel<int> foreign(other, 1);
  std::optional<int> got;
  // Channels of two runtimes in one select are fine.
  const async::select_result r = async::try_select(async::recv_case(foreign, got), async::recv_case(ch, got));
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(got.value_or(-1), 1);
  EXPECT_THROW((void)async::try_select(async::send_case(ch, v), async::send_case(ch, v)), async::error);
  EXPECT_FALSE(ch.try_recv().has_value());
}

// Producers send with select over two channels or with plain sends,
// consumers select over both or receive plainly; values are counted and
// every one arrives exactly once, in order per producer and channel.
TEST_F(CppChannelTest, AStressMixingSelectAndPlainCallsLosesNothing) {
  tally t;
  for (std::size_t capacity : {0u, 2u}) {
    async::channel<item> ch0(rt(), capacity);
    async::channel<item> ch1(rt(), capacity);
    async::channel<item>* chans[2] = {&ch0, &ch1};
    constexpr int producers = 3, per_producer = 300;
    std::vector<std::vector<int>> seen(producers);
    std::vector<async::fiber<void>> fibers;
    int finished = 0;
    for (int p = 0; p < producers; ++p) {
      fibers.push_back(async::spawn(rt(), [&, p] {
        for (int i = 0; i < per_producer; ++i) {
          item v(t, p * 100000 + i);
          if ((i + p) % 3 == 0) {
            EXPECT_TRUE(chans[i % 2]->send(std::move(v)));
          } else {
            item copy(v);  // each send case needs its own value
            auto r = async::select(async::send_case(*chans[i % 2], v), async::send_case(*chans[1 - i % 2], copy));
            EXPECT_EQ(r.code, async::status::ok);
          }
          if (i % 7 == p) async::this_fiber::yield();
        }
        if (++finished == producers) {
          ch0.close();
          ch1.close();
        }
      }));
    }
    for (int c = 0; c < 3; ++c) {
      fibers.push_back(async::spawn(rt(), [&, c] {
        std::vector<std::vector<int>> last(2, std::vector<int>(producers, -1));
        bool open[2] = {true, true};
        int round = 0;
        auto got = [&](int k, const item& v) {
          const int p = v.value / 100000, i = v.value % 100000;
          EXPECT_LT(last[k][p], i);
          last[k][p] = i;
          seen[p].push_back(i);
        };
        while (open[0] || open[1]) {
          if (c == 0 && ++round % 3 == 0) {  // sometimes a plain recv on an open channel
            const int k = open[0] ? 0 : 1;
            std::optional<item> v = chans[k]->recv();
            if (v) got(k, *v);
            else open[k] = false;
            continue;
          }
          std::optional<item> a, b;
          async::select_result r;
          if (open[0] && open[1]) {
            r = async::select(async::recv_case(ch0, a), async::recv_case(ch1, b));
          } else if (open[0]) {
            r = async::select(async::recv_case(ch0, a));
          } else {
            r = async::select(async::recv_case(ch1, b));
            if (r.index == 0) r.index = 1;
          }
          std::optional<item>& v = r.index == 0 ? a : b;
          if (r.code == async::status::ok) got(static_cast<int>(r.index), *v);
          else open[r.index] = false;
        }
      }));
    }
    run();
    for (auto& f : fibers) f.join();
    for (int p = 0; p < producers; ++p) {
      std::sort(seen[p].begin(), seen[p].end());
      ASSERT_EQ(seen[p].size(), static_cast<std::size_t>(per_producer)) << "capacity " << capacity;
      for (int i = 0; i < per_producer; ++i) ASSERT_EQ(seen[p][i], i);
    }
  }
  EXPECT_EQ(t.live(), 0);
}

}  // namespace

// --- between runtimes and threads (issue #9) -----------------------------------

namespace {

class CppChannelThreads : public async_test::LeakCheckedTest {};

// Fibers of two runtimes of a group move owned values through one channel.
TEST_F(CppChannelThreads, ValuesMoveBetweenFibersOfTwoRuntimes) {
  async_group_t g{};
  ASSERT_EQ(async_group_init(&g, 2, nullptr), ASYNC_OK);
  constexpr int n = 20000;
  {
    async::channel<std::unique_ptr<int>> ch(async_group_runtime(&g, 0), 8);
    long long sum = 0;
    int count = 0;
    bool in_order = true;
    struct ctx {
      async::channel<std::unique_ptr<int>>* ch;
      long long* sum;
      int* count;
      bool* in_order;
    } x{&ch, &sum, &count, &in_order};
    async_spawn_with(async_group_runtime(&g, 0), [](void* p) {
      auto* c = static_cast<ctx*>(p);
      for (int i = 1; i <= n; ++i) EXPECT_TRUE(c->ch->send(std::make_unique<int>(i)));
      c->ch->close();
    }, &x);
    async_spawn_with(async_group_runtime(&g, 1), [](void* p) {
      auto* c = static_cast<ctx*>(p);
      int last = 0;
      for (std::unique_ptr<int> v : *c->ch) {
        if (*v != last + 1) *c->in_order = false;
        last = *v;
        *c->sum += *v;
        ++*c->count;
      }
    }, &x);
    ASSERT_EQ(async_group_wait(&g), ASYNC_OK);
    EXPECT_TRUE(in_order);
    EXPECT_EQ(count, n);
    EXPECT_EQ(sum, static_cast<long long>(n) * (n + 1) / 2);
  }
  async_group_shutdown(&g);
}

// Plain threads with back-pressure: send_blocking / recv_blocking, capacity
// 0 and 1, and the timed forms.
TEST_F(CppChannelThreads, PlainThreadsSendAndReceiveBlocking) {
  async::runtime home;
  for (std::size_t capacity : {0u, 1u}) {
    async::channel<std::string> ch(home, capacity);
    constexpr int n = 5000;
    std::thread sender([&] {
      for (int i = 0; i < n; ++i) EXPECT_TRUE(ch.send_blocking(std::to_string(i)));
      ch.close();
    });
    int next = 0;
    while (std::optional<std::string> v = ch.recv_blocking()) {
      EXPECT_EQ(*v, std::to_string(next));
      ++next;
    }
    sender.join();
    EXPECT_EQ(next, n);
    EXPECT_TRUE(ch.closed());
    EXPECT_FALSE(ch.send_blocking("late"));
  }
  async::channel<std::string> ch(home, 1);
  EXPECT_FALSE(ch.recv_blocking_for(5ms).has_value());
  std::string v = "one";
  EXPECT_EQ(ch.send_blocking_for(std::move(v), 5ms), async::status::ok);
  std::string w = "two";
  EXPECT_EQ(ch.send_blocking_until(std::move(w), std::chrono::steady_clock::now() + 5ms), async::status::etimedout);
  EXPECT_EQ(w, "two");  // not delivered: handed back
  EXPECT_EQ(ch.recv_blocking_until(std::chrono::steady_clock::now() + 5ms).value_or(""), "one");
}

// A close from another thread wakes a blocked receiver thread.
TEST_F(CppChannelThreads, CloseWakesABlockedThread) {
  async::runtime home;
  async::channel<int> ch(home, 0);
  std::thread closer([&] {
    std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(ch.close());
  });
  EXPECT_FALSE(ch.recv_blocking().has_value());
  closer.join();
}

TEST_F(CppChannelThreads, BlockingCallsThrowInsideAFiber) {
  async::runtime home;
  async::channel<int> ch(home, 1);
  auto f = async::spawn(home, [&] {
    EXPECT_THROW((void)ch.recv_blocking(), async::error);
    try {
      (void)ch.send_blocking(1);
      ADD_FAILURE() << "send_blocking must throw inside a fiber";
    } catch (const async::error& e) {
      EXPECT_EQ(e.status_code(), async::status::estate);
    }
  });
  EXPECT_EQ(home.run(), async::status::ok);
  f.join();
  EXPECT_FALSE(ch.try_recv().has_value());  // nothing was sent
}

}  // namespace
