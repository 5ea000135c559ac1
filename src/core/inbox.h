// SPDX-License-Identifier: MIT
// inbox.h: the one door through which other threads reach a runtime. A
// lock-free, allocation-free, intrusive queue with many producers (any
// thread) and one consumer (the runtime's owner): producers link a node they
// own into it with one atomic exchange; the owner takes nodes off in FIFO
// order at pass boundaries and while it waits. Nodes are embedded in the
// objects they speak for (a task record, an await request), so a push never
// allocates and a message cannot be lost for want of memory.
//
// The algorithm is the intrusive MPSC queue with a stub node (D. Vyukov's):
// push is wait-free; pop may see a producer between its exchange and its
// link and then report "nothing yet" although the queue is not empty, which
// maybe_nonempty() still reports, so the owner never sleeps on it.
// docs/design.md ("Crossing threads") gives the whole protocol.
#pragma once

#include <atomic>
#include <cstdint>

namespace async::detail {

// What a node asks of the runtime that takes it.
enum class inbox_kind : std::uint8_t {
  task_event,   // a task record's remote events: spawn, unpark, cancel (task.h)
  await_done,   // a fiber of this runtime awaited a fiber elsewhere: it ended
  await_start,  // a fiber elsewhere awaits a fiber of this runtime
  stop,         // a group is shutting down: the driving thread returns
};

struct inbox_node {
  std::atomic<inbox_node*> next{nullptr};
  inbox_kind kind = inbox_kind::task_event;
  // For the node's owner: task_event keeps its remote_* bits here (they fill
  // the padding that `next` leaves; the node stays 16 bytes).
  std::atomic<std::uint32_t> pending{0};
};

class inbox {
 public:
  inbox() noexcept : tail_(&stub_), head_(&stub_) {}
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;

  // Any thread. Returns after the node is visible to the owner's next pop
  // (or, in the window described above, to its maybe_nonempty()).
  void push(inbox_node* n) noexcept {
    n->next.store(nullptr, std::memory_order_relaxed);
    // seq_cst: the pusher then reads the owner's "sleeping" flag, and the
    // owner reads maybe_nonempty() after setting it; with both sides
    // sequentially consistent, at least one sees the other (no lost wake).
    inbox_node* prev = tail_.exchange(n, std::memory_order_seq_cst);
    prev->next.store(n, std::memory_order_release);
  }

  // Owner only: the oldest node, or nullptr when none is (fully) there yet.
  inbox_node* pop() noexcept {
    inbox_node* h = head_;
    inbox_node* next = h->next.load(std::memory_order_acquire);
    if (h == &stub_) {
      if (next == nullptr) return nullptr;
      head_ = next;
      h = next;
      next = h->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      head_ = next;
      return h;
    }
    if (tail_.load(std::memory_order_acquire) != h) return nullptr;  // a push is linking
    push(&stub_);
    next = h->next.load(std::memory_order_acquire);
    if (next != nullptr) {
      head_ = next;
      return h;
    }
    return nullptr;
  }

  // Owner only, cheap (two loads): whether a pop could find something, now
  // or once a linking producer finishes. Both are needed: when a producer
  // pushes between a pop's last-node check and its push of the stub, the
  // stub ends up last (tail == stub) behind the producer's node, which the
  // head then names.
  bool maybe_nonempty(std::memory_order mo = std::memory_order_relaxed) const noexcept {
    return tail_.load(mo) != &stub_ || head_ != &stub_;
  }

 private:
  alignas(64) std::atomic<inbox_node*> tail_;  // producers' side
  alignas(64) inbox_node* head_;               // the owner's side
  inbox_node stub_;
};

}  // namespace async::detail
