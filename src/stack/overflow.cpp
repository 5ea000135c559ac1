// SPDX-License-Identifier: MIT
// overflow.cpp: the guard-page fault handler (docs/low_level.md,
// Reporting a stack overflow). Everything
// the handler touches is static memory written before a slab is published,
// and it calls only async-signal-safe functions (write, sigaction), with one
// exception: dladdr, to name the fiber's entry function (see report()).
#include "overflow.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "stack_pool.h"

namespace async::detail {
namespace {

struct guarded_region {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 published
  char* base = nullptr;
  std::size_t slots = 0;
  std::size_t slot_bytes = 0;
  std::size_t guard_bytes = 0;
  stack_slot* meta = nullptr;
};

constexpr int max_regions = 4096;
guarded_region g_regions[max_regions];

struct sigaction g_previous[2];  // SIGSEGV, SIGBUS

// --- async-signal-safe output ---------------------------------------------
struct line {
  char buf[512];
  std::size_t len = 0;
  void text(const char* s) noexcept {
    while (*s != '\0' && len < sizeof buf) buf[len++] = *s++;
  }
  void number(std::uint64_t v, unsigned base) noexcept {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    if (base == 16) text("0x");
    while (n > 0 && len < sizeof buf) buf[len++] = digits[--n];
  }
  void flush() noexcept {
    std::size_t done = 0;
    while (done < len) {
      ssize_t w = write(STDERR_FILENO, buf + done, len - done);
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
  }
};

// Names the entry function: "name" when it is a dynamic symbol, else the
// address and the object it lies in ("0x1139 in /path/prog+0x1139" for
// addr2line). dladdr is not async-signal-safe (it may take the loader's
// lock), but the process is about to die by this signal anyway; resolving
// when the stack is handed out instead would cost every fiber start. To lose
// as little as possible should it ever block, the fiber's id and name are
// written before the call.
void entry_function(line& l, const void* entry) noexcept {
  Dl_info info{};
  if (entry != nullptr && dladdr(entry, &info) != 0) {
    if (info.dli_sname != nullptr && info.dli_saddr == entry) {
      l.text(info.dli_sname);
      return;
    }
    l.number(reinterpret_cast<std::uintptr_t>(entry), 16);
    if (info.dli_fname != nullptr) {
      l.text(" in ");
      l.text(info.dli_fname);
      l.text("+");
      l.number(reinterpret_cast<std::uintptr_t>(entry) - reinterpret_cast<std::uintptr_t>(info.dli_fbase), 16);
    }
    return;
  }
  l.number(reinterpret_cast<std::uintptr_t>(entry), 16);
}

std::atomic<stack_owner_describer> g_describe_owner{nullptr};

void report(const stack_slot& s, const char* fault, std::size_t stack_bytes) noexcept {
  stack_owner_info owner;
  const stack_owner_describer describe = g_describe_owner.load(std::memory_order_acquire);
  if (describe != nullptr && s.owner != nullptr) describe(s.owner, owner);
  line l;
  // The full id, as async_fiber_handle_t.id shows it (runtime serial << 40
  // | spawn count), so that it matches the program's own handles.
  l.text("async: fiber stack overflow: fiber ");
  l.number(owner.id, 10);
  if (owner.name != nullptr) {
    l.text(" \"");
    l.text(owner.name);
    l.text("\"");
  }
  l.text(" (entry function ");
  l.flush();  // the id and name are out, whatever dladdr does
  l.len = 0;
  entry_function(l, owner.entry);
  l.text(") ran past its ");
  l.number(stack_bytes, 10);
  l.text("-byte stack: fault at ");
  l.number(reinterpret_cast<std::uintptr_t>(fault), 16);
  l.text(" in the guard page below it. Give fibers bigger stacks (fiber_stack_size).\n");
  l.flush();
}

const stack_slot* find_guard_hit(const char* addr, std::size_t* stack_bytes) noexcept {
  for (auto& r : g_regions) {
    if (r.state.load(std::memory_order_acquire) != 2) continue;
    if (addr < r.base || addr >= r.base + r.slots * r.slot_bytes) continue;
    std::size_t offset = static_cast<std::size_t>(addr - r.base);
    if (offset % r.slot_bytes >= r.guard_bytes) return nullptr;  // inside a stack
    *stack_bytes = r.slot_bytes - r.guard_bytes;
    return &r.meta[offset / r.slot_bytes];
  }
  return nullptr;
}

void chain(int sig, siginfo_t* info, void* uctx) noexcept {
  const struct sigaction& prev = g_previous[sig == SIGSEGV ? 0 : 1];
  if ((prev.sa_flags & SA_SIGINFO) != 0 && prev.sa_sigaction != nullptr) {
    prev.sa_sigaction(sig, info, uctx);
    return;
  }
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
    prev.sa_handler(sig);
    return;
  }
  // Default action. For a real fault, returning re-runs the faulting
  // instruction, which now kills the process with the right signal (and a
  // core dump if enabled). A signal that was sent (kill, raise: si_code <= 0)
  // does not repeat by itself: send it again.
  signal(sig, SIG_DFL);
  if (info->si_code <= 0) raise(sig);
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
  std::size_t stack_bytes = 0;
  const auto* addr = static_cast<const char*>(info->si_addr);
  if (const stack_slot* s = find_guard_hit(addr, &stack_bytes)) {
    report(*s, addr, stack_bytes);
    signal(sig, SIG_DFL);
    return;
  }
  chain(sig, info, uctx);
}

void install_handler() noexcept {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_previous[0]);
  sigaction(SIGBUS, &sa, &g_previous[1]);  // macOS reports guard faults as SIGBUS
}

// The alternate signal stack of one thread; freed (after disabling) when the
// thread ends. A stack overflow cannot run its handler on the overflowed stack.
struct alt_stack {
  void* mem = nullptr;
  std::size_t size = 0;
  ~alt_stack() {
    if (mem == nullptr) return;
    stack_t ss;
    std::memset(&ss, 0, sizeof ss);
    ss.ss_flags = SS_DISABLE;
    stack_t old;
    if (sigaltstack(nullptr, &old) == 0 && old.ss_sp == mem) sigaltstack(&ss, nullptr);
    munmap(mem, size);
  }
};

}  // namespace

int overflow_register(char* base, std::size_t slots, std::size_t slot_bytes,
                      std::size_t guard_bytes, stack_slot* meta) noexcept {
  for (int i = 0; i < max_regions; ++i) {
    int expected = 0;
    guarded_region& r = g_regions[i];
    if (!r.state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) continue;
    r.base = base;
    r.slots = slots;
    r.slot_bytes = slot_bytes;
    r.guard_bytes = guard_bytes;
    r.meta = meta;
    r.state.store(2, std::memory_order_release);
    return i;
  }
  return -1;
}

void overflow_describe_owners(stack_owner_describer describe) noexcept {
  g_describe_owner.store(describe, std::memory_order_release);
}

void overflow_unregister(int index) noexcept {
  if (index >= 0 && index < max_regions) g_regions[index].state.store(0, std::memory_order_release);
}

void overflow_install_on_this_thread() noexcept {
  static std::once_flag once;
  std::call_once(once, install_handler);
  thread_local alt_stack alt;
  if (alt.mem != nullptr) return;
  stack_t current;
  if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;
#ifdef _SC_SIGSTKSZ
  long min = sysconf(_SC_SIGSTKSZ);  // not a constant since glibc 2.34
#else
  long min = SIGSTKSZ;
#endif
  std::size_t size = std::max<std::size_t>(min > 0 ? static_cast<std::size_t>(min) : 0, 64 * 1024);
  void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return;  // the overflow then dies without a report
  stack_t ss;
  std::memset(&ss, 0, sizeof ss);
  ss.ss_sp = mem;
  ss.ss_size = size;
  if (sigaltstack(&ss, nullptr) != 0) {
    munmap(mem, size);
    return;
  }
  alt.mem = mem;
  alt.size = size;
}

}  // namespace async::detail
