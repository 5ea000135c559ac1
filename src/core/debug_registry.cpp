// SPDX-License-Identifier: MIT
// debug_registry.cpp: `async_debug_registry`, what share/async/gdb/async_gdb.py
// reads to list fibers and unwind them, in a live process or a core file,
// from a library built without debug information. It holds the address of
// the runtime list and the byte offsets of the few fields the script reads,
// so the script needs no DWARF types and survives layout changes: only the
// meaning of an index or of an enum value changing bumps `version`.
//
// Layout (all little-endian as the target): u64 magic "ASYNCDBG", u32
// version, u32 count of offsets, u64 address of the runtime list head
// (runtime*), then `count` u32 entries indexed by debug_field. Exported
// (async.map's async_* pattern) so that it is in .dynsym even when the
// library is stripped; not part of the C API, declared in no header.
#include <cstddef>
#include <cstdint>

#include "../arch/context_offsets.h"
#include "registry.h"
#include "runtime.h"

namespace async::detail {
namespace {

// Indices into the offsets; append only.
enum debug_field : std::uint32_t {
  rt_tasks,          // task* : the task table
  rt_task_capacity,  // size_t: records in it
  rt_serial,         // u64   : the runtime's number in dumps ("runtime N")
  rt_id_base,        // u64   : task id - id_base = the id dumps print
  rt_reg_next,       // runtime*: the next live runtime
  rt_closing,        // bool  : being shut down (the table may be going away)
  task_size,         // sizeof(task): the table's stride
  task_id,           // u64
  task_name,         // const char*
  task_state,        // u8 task_state: 0 free 1 runnable 2 running 3 parked 4 stack_wait 5 done
  task_wait,         // u8 wait_kind (task.h): meaningful while parked
  task_sp,           // void*: saved context while not running
  task_fn,           // entry function
  ctx_frame_size,    // bytes the switch pushed below the return address, plus it
  ctx_rbp,           // frame pointer slot (x86_64 rbp, arm64 x29), from sp
  ctx_ret,           // return address slot (x86_64 ret, arm64 x30), from sp
  ctx_arch,          // 1 x86_64, 2 arm64
  field_count,
};

#pragma GCC diagnostic push
// runtime and task are not standard-layout (atomics, classes): GCC and Clang
// still give offsetof its plain meaning for classes without virtual bases.
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
#if defined(__x86_64__)
constexpr std::uint32_t arch = 1, rbp_slot = ASYNC_CTX_RBP, ret_slot = ASYNC_CTX_RET;
#elif defined(__aarch64__)
constexpr std::uint32_t arch = 2, rbp_slot = ASYNC_CTX_X29, ret_slot = ASYNC_CTX_X30;
#endif
#pragma GCC diagnostic pop

}  // namespace

struct debug_registry {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t count;
  runtime** head;
  std::uint32_t offsets[field_count];
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
extern "C" ASYNC_API const debug_registry async_debug_registry = {
    0x474244434e595341ull,  // "ASYNCDBG" read as a little-endian u64
    1,
    field_count,
    &runtime_registry_head,
    {
        offsetof(runtime, tasks),
        offsetof(runtime, task_capacity),
        offsetof(runtime, serial),
        offsetof(runtime, id_base),
        offsetof(runtime, reg_next),
        offsetof(runtime, closing),
        sizeof(task),
        offsetof(task, id),
        offsetof(task, name),
        offsetof(task, state),
        offsetof(task, wait),
        offsetof(task, sp),
        offsetof(task, fn),
        ASYNC_CTX_FRAME_SIZE,
        rbp_slot,
        ret_slot,
        arch,
    },
};
#pragma GCC diagnostic pop

}  // namespace async::detail
