// SPDX-License-Identifier: MIT
// data_mover_sync.cpp: the synchronous mover. An operation runs on the
// polling thread during its future's first poll; the record only remembers
// the result between op_start and op_delete.
#include "libminiasync/data_mover_sync.h"

#include <cstdlib>
#include <new>

#include "common.h"
#include "mover_common.h"
#include "record_pool.h"

namespace miniasync {
namespace {

// miniasync fitted about 174,757 pending sync futures per creating thread
// (2 MiB regions of 12-byte records); ours fit that many per mover.
constexpr uint32_t sync_default_capacity = 174762;

struct sync_record {
  uint32_t done;  // the operation ran (op_start)
  vdm_operation_result result;
};

struct sync_core {
  record_pool pool;
};

sync_core* core_of(struct vdm* vdm) {
  return static_cast<sync_core*>(reinterpret_cast<mover_shell*>(vdm)->core);
}

// The pool is found through the record: the mover is not an argument of
// op_delete. Records of one mover come from one pool, so keep its address
// in front of the record.
struct sync_slot {
  sync_core* core;
  sync_record rec;
};

void* sync_op_new(struct vdm* vdm, const enum vdm_operation_type) {
  sync_core* core = core_of(vdm);
  auto* slot = static_cast<sync_slot*>(core->pool.alloc());
  if (!slot) return nullptr;
  slot->core = core;
  slot->rec.done = 0;
  slot->rec.result = VDM_SUCCESS;
  return &slot->rec;
}

int sync_op_start(void* data, const vdm_operation* op, future_notifier* n) {
  auto* rec = static_cast<sync_record*>(data);
  if (n) n->notifier_used = FUTURE_NOTIFIER_NONE;
  rec->result = run_inline(op);
  rec->done = 1;
  return 0;
}

future_state sync_op_check(void* data, const vdm_operation*) {
  return static_cast<sync_record*>(data)->done ? FUTURE_STATE_COMPLETE : FUTURE_STATE_IDLE;
}

void sync_op_delete(void* data, const vdm_operation* op, vdm_operation_output* out) {
  auto* rec = static_cast<sync_record*>(data);
  fill_output(op, out, rec->result);
  auto* slot = reinterpret_cast<sync_slot*>(reinterpret_cast<char*>(rec) - offsetof(sync_slot, rec));
  slot->core->pool.free(slot);
}

}  // namespace
}  // namespace miniasync

using namespace miniasync;

MINIASYNC_EXPORT struct data_mover_sync* data_mover_sync_new(void) noexcept {
  auto* shell = static_cast<mover_shell*>(std::malloc(sizeof(mover_shell)));
  auto* core = new (std::nothrow) sync_core;
  if (!shell || !core || !core->pool.init(sizeof(sync_slot), pool_capacity_from_env(sync_default_capacity))) {
    delete core;
    std::free(shell);
    return nullptr;
  }
  shell->vdm.op_new = sync_op_new;
  shell->vdm.op_delete = sync_op_delete;
  shell->vdm.op_start = sync_op_start;
  shell->vdm.op_check = sync_op_check;
  shell->vdm.capabilities = 0;
  shell->vdm.has_property = nullptr;
  shell->core = core;
  return reinterpret_cast<struct data_mover_sync*>(shell);
}

MINIASYNC_EXPORT struct vdm* data_mover_sync_get_vdm(struct data_mover_sync* dms) noexcept {
  return &reinterpret_cast<mover_shell*>(dms)->vdm;
}

MINIASYNC_EXPORT void data_mover_sync_delete(struct data_mover_sync* dms) noexcept {
  if (!dms) return;
  auto* shell = reinterpret_cast<mover_shell*>(dms);
  auto* core = static_cast<sync_core*>(shell->core);
  bool pending = core->pool.live() != 0;
  core->pool.destroy();
  delete core;
  if (pending)
    retire_shell(shell);
  else
    std::free(shell);
}

MINIASYNC_EXPORT struct vdm* vdm_synchronous_new(void) noexcept {
  struct data_mover_sync* dms = data_mover_sync_new();
  return dms ? data_mover_sync_get_vdm(dms) : nullptr;
}

MINIASYNC_EXPORT void vdm_synchronous_delete(struct vdm* vdm) noexcept {
  data_mover_sync_delete(reinterpret_cast<struct data_mover_sync*>(vdm));
}
