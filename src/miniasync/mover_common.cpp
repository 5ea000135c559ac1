// SPDX-License-Identifier: MIT
// mover_common.cpp: see mover_common.h.
#include "mover_common.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace miniasync {

void fill_output(const vdm_operation* op, vdm_operation_output* out, vdm_operation_result result) noexcept {
  out->type = op->type;
  out->result = result;
  switch (op->type) {
    case VDM_OPERATION_MEMCPY: out->output.memcpy.dest = op->data.memcpy.dest; break;
    case VDM_OPERATION_MEMMOVE: out->output.memmove.dest = op->data.memmove.dest; break;
    case VDM_OPERATION_MEMSET: out->output.memset.str = op->data.memset.str; break;
    case VDM_OPERATION_FLUSH: out->output.flush.unused = 0; break;
  }
}

vdm_operation_result run_inline(const vdm_operation* op) noexcept {
  switch (op->type) {
    case VDM_OPERATION_MEMCPY:
      if (op->data.memcpy.n) std::memcpy(op->data.memcpy.dest, op->data.memcpy.src, op->data.memcpy.n);
      return VDM_SUCCESS;
    case VDM_OPERATION_MEMMOVE:
      if (op->data.memmove.n) std::memmove(op->data.memmove.dest, op->data.memmove.src, op->data.memmove.n);
      return VDM_SUCCESS;
    case VDM_OPERATION_MEMSET:
      if (op->data.memset.n) std::memset(op->data.memset.str, op->data.memset.c, op->data.memset.n);
      return VDM_SUCCESS;
    case VDM_OPERATION_FLUSH:
      flush_range(op->data.flush.dest, op->data.flush.n);
      return VDM_SUCCESS;
  }
  return VDM_ERROR_JOB_CORRUPTED;
}

#if defined(__x86_64__)
namespace {
enum class flush_insn { clflush, clflushopt, clwb };
flush_insn pick_flush() noexcept {
  unsigned a, b, c, d;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    if (b & (1u << 24)) return flush_insn::clwb;
    if (b & (1u << 23)) return flush_insn::clflushopt;
  }
  return flush_insn::clflush;
}
__attribute__((target("clwb"))) void flush_clwb(const char* p, const char* end) noexcept {
  for (; p < end; p += 64) _mm_clwb(const_cast<char*>(p));
  _mm_sfence();
}
__attribute__((target("clflushopt"))) void flush_clflushopt(const char* p, const char* end) noexcept {
  for (; p < end; p += 64) _mm_clflushopt(const_cast<char*>(p));
  _mm_sfence();
}
void flush_clflush(const char* p, const char* end) noexcept {
  for (; p < end; p += 64) _mm_clflush(p);
  _mm_mfence();
}
}  // namespace
#endif

void flush_range(const void* p, size_t n) noexcept {
  if (n == 0) return;
  const uintptr_t line = 64;
  const char* first = reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) & ~(line - 1));
  const char* end = static_cast<const char*>(p) + n;
#if defined(__x86_64__)
  static const flush_insn insn = pick_flush();
  switch (insn) {
    case flush_insn::clwb: flush_clwb(first, end); break;
    case flush_insn::clflushopt: flush_clflushopt(first, end); break;
    case flush_insn::clflush: flush_clflush(first, end); break;
  }
#elif defined(__aarch64__)
  for (const char* q = first; q < end; q += line) __asm__ __volatile__("dc cvac, %0" ::"r"(q) : "memory");
  __asm__ __volatile__("dsb ish" ::: "memory");
#else
  (void)first;
  (void)end;
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

namespace {
void* dead_new(struct vdm*, const enum vdm_operation_type) { return nullptr; }
int dead_start(void*, const vdm_operation*, future_notifier* n) {
  if (n) n->notifier_used = FUTURE_NOTIFIER_NONE;
  return 0;
}
future_state dead_check(void*, const vdm_operation*) { return FUTURE_STATE_COMPLETE; }
void dead_delete(void*, const vdm_operation* op, vdm_operation_output* out) {
  fill_output(op, out, VDM_ERROR_JOB_CORRUPTED);
}

struct tombstones {
  std::mutex m;
  mover_shell* head = nullptr;  // linked through `core`
};
tombstones& graveyard() {
  static tombstones* t = new tombstones;  // never destroyed: shells outlive static destructors
  return *t;
}
}  // namespace

void retire_shell(mover_shell* shell) noexcept {
  shell->vdm.op_new = dead_new;
  shell->vdm.op_start = dead_start;
  shell->vdm.op_check = dead_check;
  shell->vdm.op_delete = dead_delete;
  tombstones& g = graveyard();
  std::lock_guard<std::mutex> lk(g.m);
  shell->core = g.head;
  g.head = shell;
}

}  // namespace miniasync
