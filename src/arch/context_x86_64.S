/* SPDX-License-Identifier: MIT */
/* context_x86_64.S: switch between fiber contexts (System V AMD64, ELF and
 * Mach-O). A parked context is just its stack pointer, which points at this
 * frame (offsets in context_offsets.h, checked from C++ in context.h):
 *
 *   low   [ssp]             only with CET shadow stacks (ASYNC_CTX_SHSTK)
 *         [mxcsr | x87 cw]  only with ASYNC_FIBER_SAVE_X87
 *         r15 r14 r13 r12 rbx rbp
 *   high  return address    where the context resumes
 *
 * Only callee-saved state is kept: the functions are called through the C
 * ABI, so the compiler has already spilled every caller-saved register, and
 * the x87/SSE data registers are caller-saved. The control words are
 * callee-saved, which is why they are in the frame (fnstcw, not fstcw: the
 * latter waits and could raise a pending x87 exception). Every push and pop
 * has CFI, and all frames share one layout, so an unwinder (a profiler's
 * signal, a debugger) sees a valid frame at every instruction, even after
 * rsp has moved to the other stack. */
#include "asm_macros.h"
#if defined(__x86_64__)
#include "context_offsets.h"
#if defined(__CET__)
#include <cet.h> /* _CET_ENDBR and the .note.gnu.property CET marks */
#else
#define _CET_ENDBR
#endif

/* Restore a frame that rsp points at, then return into its context. */
.macro ASYNC_RESTORE_FRAME
#if ASYNC_CTX_SHSTK
  addq $8, %rsp
  .cfi_adjust_cfa_offset -8
#endif
#if ASYNC_FIBER_SAVE_X87
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  .cfi_adjust_cfa_offset -8
#endif
  popq %r15
  .cfi_adjust_cfa_offset -8
  popq %r14
  .cfi_adjust_cfa_offset -8
  popq %r13
  .cfi_adjust_cfa_offset -8
  popq %r12
  .cfi_adjust_cfa_offset -8
  popq %rbx
  .cfi_adjust_cfa_offset -8
  popq %rbp
  .cfi_adjust_cfa_offset -8
  ret
.endm

/* void async_impl_ctx_swap(void **save_sp, void *load_sp)
 * rdi: where to store this context; rsi: the context to resume. */
ASYNC_ASM_FUNC(async_impl_ctx_swap)
  .cfi_startproc
  _CET_ENDBR
  pushq %rbp
  .cfi_adjust_cfa_offset 8
  .cfi_rel_offset %rbp, 0
  pushq %rbx
  .cfi_adjust_cfa_offset 8
  .cfi_rel_offset %rbx, 0
  pushq %r12
  .cfi_adjust_cfa_offset 8
  .cfi_rel_offset %r12, 0
  pushq %r13
  .cfi_adjust_cfa_offset 8
  .cfi_rel_offset %r13, 0
  pushq %r14
  .cfi_adjust_cfa_offset 8
  .cfi_rel_offset %r14, 0
  pushq %r15
  .cfi_adjust_cfa_offset 8
  .cfi_rel_offset %r15, 0
#if ASYNC_FIBER_SAVE_X87
  subq $8, %rsp
  .cfi_adjust_cfa_offset 8
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
#endif
#if ASYNC_CTX_SHSTK
  subq $8, %rsp
  .cfi_adjust_cfa_offset 8
  movq $0, (%rsp) /* shadow stacks: see the fenced block in shadow_stack docs */
#endif
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ASYNC_RESTORE_FRAME
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_swap)

/* void async_impl_ctx_jump(void *load_sp): resume a context without saving
 * the current one (the caller's context is finished). Never returns. */
ASYNC_ASM_FUNC(async_impl_ctx_jump)
  .cfi_startproc
  _CET_ENDBR
  movq %rdi, %rsp
  .cfi_def_cfa_offset ASYNC_CTX_FRAME_SIZE
  ASYNC_RESTORE_FRAME
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_jump)

/* The first frame of every fiber; a fresh context "returns" here with
 * rsp = stack top - 16 (16-aligned), r12 = argument, r13 = entry function.
 * `.cfi_undefined rip` and rbp = 0 make this the outermost frame for
 * unwinders, debuggers and frame-pointer walkers. The entry never returns:
 * it ends by switching away for good. */
ASYNC_ASM_FUNC(async_impl_ctx_trampoline)
  .cfi_startproc
  .cfi_undefined %rip
  _CET_ENDBR
  xorl %ebp, %ebp
  /* Keep ASYNC_CTX_TOP_ZONE bytes free above the fiber's frames (see
   * context_offsets.h); a multiple of 16, so rsp stays 16-aligned and the
   * entry sees rsp = 8 (mod 16) after the call, as the ABI wants. */
  subq $ASYNC_CTX_TOP_ZONE, %rsp
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_trampoline)

#endif
/* Outside the #if: an object without the note, even an empty one, makes the
 * linker mark the whole program's stack executable. */
ASYNC_ASM_NOEXEC_STACK
