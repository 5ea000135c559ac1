// SPDX-License-Identifier: MIT
// stack_pool.cpp: slabs of guarded stacks (see stack_pool.h). Layout of a
// slab, low to high: [guard][stack] [guard][stack] ... Stacks grow down, so
// each guard sits under its own stack and above the next slot's stack.
#include "stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "../arch/sanitizer.h"
#include "../util/scope_exit.h"
#include "overflow.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13+: guard pages inside one mapping
#endif

namespace async::detail {

struct stack_pool::slab {
  slab* next;
  char* base;
  std::size_t slots;
  std::size_t vmas;  // mappings this slab adds to the process
  stack_slot* meta;
  int registration;
};

namespace {

// -1: not tried yet; 0: the kernel lacks MADV_GUARD_INSTALL; 1: it has it.
std::atomic<int> g_madv_guard_works{-1};
// Mappings all pools hold, counted against vm.max_map_count.
std::atomic<std::size_t> g_pool_vmas{0};

std::size_t read_max_map_count() noexcept {
  std::size_t value = 65530;  // the kernel's default
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    unsigned long v = 0;
    if (std::fscanf(f, "%lu", &v) == 1 && v > 0) value = v;
    std::fclose(f);
  }
  return value;
}

// Mappings left to pools before the process meets vm.max_map_count. The rest
// of the program (libraries, heap arenas, its own mmaps) keeps a headroom.
std::size_t vma_budget() noexcept {
  static const std::size_t limit = read_max_map_count();
  constexpr std::size_t headroom = 2048;
  std::size_t used = g_pool_vmas.load(std::memory_order_relaxed);
  return limit > headroom + used ? limit - headroom - used : 0;
}

// True when reading `addr` faults. write(2) from it reports EFAULT instead
// of raising a signal, which makes it a safe probe.
bool faults(const void* addr) noexcept {
  int fds[2];
  if (pipe(fds) != 0) return true;  // cannot tell: trust the kernel
  const bool fault = write(fds[1], addr, 1) < 0 && errno == EFAULT;
  close(fds[0]);
  close(fds[1]);
  return fault;
}

int map_stack_flags() noexcept {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE;  // stacks are mostly untouched: do not commit them
#endif
#if defined(MAP_STACK) && !defined(__FreeBSD__)
  flags |= MAP_STACK;  // OpenBSD requires it; FreeBSD would make it grow-down
#endif
  return flags;
}

}  // namespace

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

bool stack_pool::init(std::size_t stack_bytes, std::size_t capacity, bool guards) noexcept {
  const std::size_t page = page_size();
  const std::size_t guard = guards ? page : 0;
  // Rounding up and adding the guard must not wrap (SIZE_MAX would give
  // 0-byte stacks), and a slot must fit in one object.
  constexpr std::size_t max_slot = static_cast<std::size_t>(PTRDIFF_MAX);
  if (stack_bytes > max_slot - guard - (page - 1)) return false;
  stack_bytes_ = (stack_bytes + page - 1) / page * page;
  guard_bytes_ = guard;
  capacity_ = capacity;
  method_ = guard_method::none;
  return true;
}

void stack_pool::report_once(const char* what, int err) noexcept {
  if (reported_) return;
  reported_ = true;
  std::fprintf(stderr, "async: cannot provide fiber stacks: %s (%s)\n", what, std::strerror(err));
}

async_status_t stack_pool::map_slab(std::size_t slots) noexcept {
  const std::size_t slot_bytes = guard_bytes_ + stack_bytes_;
  const bool guards = guard_bytes_ != 0;
  const bool madv = guards && g_madv_guard_works.load(std::memory_order_relaxed) != 0;
  if (guards && !madv) {
    // mprotect splits the mapping: two VMAs per stack.
    std::size_t fits = vma_budget() / 2;
    if (fits == 0) {
      report_once(
          "guard pages would exceed vm.max_map_count; raise it (sysctl vm.max_map_count), "
          "run Linux 6.13+ (MADV_GUARD_INSTALL), or set ASYNC_CONFIG_NO_GUARD_PAGES",
          ENOMEM);
      return ASYNC_ENOMEM;
    }
    slots = std::min(slots, fits);
  }
  // A slab of `slots` stacks must not wrap around the address space (huge
  // stacks times the growth step); its records then fit as well, since a
  // slot is at least a page, larger than a stack_slot.
  if (slots > static_cast<std::size_t>(PTRDIFF_MAX) / slot_bytes) {
    report_once("a slab of stacks of this size does not fit in the address space", ENOMEM);
    return ASYNC_ENOMEM;
  }
  const std::size_t bytes = slots * slot_bytes;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, map_stack_flags(), -1, 0);
  if (mem == MAP_FAILED) {
    report_once("mmap of a stack slab failed", errno);
    return ASYNC_ENOMEM;
  }
  auto* meta = new (std::nothrow) stack_slot[slots];
  auto* s = new (std::nothrow) slab{};
  // Every failure below gives all three back; success keeps them.
  scope_exit undo([&]() noexcept {
    delete[] meta;
    delete s;
    munmap(mem, bytes);
  });
  if (meta == nullptr || s == nullptr) {
    report_once("no memory for the pool's records", ENOMEM);
    return ASYNC_ENOMEM;
  }
  char* base = static_cast<char*>(mem);
  std::size_t vmas = 1;
  guard_method method = guard_method::none;
  if (guards) {
    for (std::size_t i = 0; i < slots; ++i) {
      char* guard = base + i * slot_bytes;
      if (method != guard_method::mprotect &&
          g_madv_guard_works.load(std::memory_order_relaxed) != 0) {
        if (madvise(guard, guard_bytes_, MADV_GUARD_INSTALL) == 0) {
          // The first time, check that the guard really faults: qemu-user,
          // for one, accepts any madvise and does nothing.
          if (g_madv_guard_works.load(std::memory_order_relaxed) == 1 || faults(guard)) {
            g_madv_guard_works.store(1, std::memory_order_relaxed);
            method = guard_method::madv_guard_install;
            continue;
          }
          g_madv_guard_works.store(0, std::memory_order_relaxed);
        } else if (i == 0 && (errno == EINVAL || errno == ENOSYS)) {
          g_madv_guard_works.store(0, std::memory_order_relaxed);  // older kernel
        } else {
          report_once("MADV_GUARD_INSTALL failed", errno);
          return ASYNC_ENOMEM;
        }
      }
      method = guard_method::mprotect;
      if (mprotect(guard, guard_bytes_, PROT_NONE) != 0) {
        report_once(
            "mprotect of a guard page failed (vm.max_map_count reached?); raise "
            "vm.max_map_count or set ASYNC_CONFIG_NO_GUARD_PAGES",
            errno);
        return ASYNC_ENOMEM;
      }
    }
    if (method == guard_method::mprotect) vmas = 2 * slots;
  }
  undo.release();  // nothing below fails: the slab is the pool's
  method_ = method;
  for (std::size_t i = slots; i-- > 0;) {
    stack_slot& slot = meta[i];
    slot.lo = base + i * slot_bytes + guard_bytes_;
    slot.color = stack_color(allocated_ + i);
    slot.valgrind_id = valgrind_register_stack(slot.lo, stack_bytes_);
    give(&slot);  // slot 0 ends on top: handed out first
  }
  *s = slab{slabs_, base, slots, vmas, meta, -1};
  if (guards) s->registration = overflow_register(base, slots, slot_bytes, guard_bytes_, meta);
  slabs_ = s;
  allocated_ += slots;
  mappings_ += vmas;
  g_pool_vmas.fetch_add(vmas, std::memory_order_relaxed);
  return ASYNC_OK;
}

async_status_t stack_pool::grow(std::size_t wanted) noexcept {
  while (free_count_ < wanted && allocated_ < capacity_) {
    // Grow geometrically (4, 4, 8, 16, ... up to 1024 stacks a slab), so that
    // a million stacks take about a thousand mappings, not a million.
    std::size_t step = std::clamp<std::size_t>(allocated_, 4, 1024);
    step = std::max(step, wanted - free_count_);
    step = std::min(step, capacity_ - allocated_);
    if (async_status_t st = map_slab(step); st != ASYNC_OK) return st;
  }
  return ASYNC_OK;
}

void stack_pool::trim_slow(std::size_t keep) noexcept {
  // Recently used stacks are at the head of the LIFO free list: keep `keep`
  // of them hot, and stop as soon as no dirty stack is left further down.
  std::size_t seen = 0;
  std::size_t kept_dirty = 0;
  for (stack_slot* s = free_; s != nullptr && dirty_free_ > kept_dirty; s = s->next_free) {
    if (seen++ < keep) {
      kept_dirty += s->dirty;
      continue;
    }
    if (!s->dirty) continue;
    // MADV_DONTNEED frees at once; the guard stays (mprotect or guard marker).
    madvise(s->lo, stack_bytes_, MADV_DONTNEED);
    s->dirty = false;
    --dirty_free_;
  }
}

void stack_pool::destroy() noexcept {
  const std::size_t slot_bytes = guard_bytes_ + stack_bytes_;
  while (slab* s = slabs_) {
    slabs_ = s->next;
    if (s->registration >= 0) overflow_unregister(s->registration);
    for (std::size_t i = 0; i < s->slots; ++i) valgrind_deregister_stack(s->meta[i].valgrind_id);
    munmap(s->base, s->slots * slot_bytes);
    g_pool_vmas.fetch_sub(s->vmas, std::memory_order_relaxed);
    delete[] s->meta;
    delete s;
  }
  free_ = nullptr;
  free_count_ = dirty_free_ = allocated_ = mappings_ = 0;
  reported_ = false;
}

}  // namespace async::detail
