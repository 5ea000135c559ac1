/* SPDX-License-Identifier: MIT */
/* context_x86_64.S: switch between fiber contexts (System V AMD64, ELF and
 * Mach-O). A parked context is just its stack pointer, which points at this
 * frame (offsets in context_offsets.h, checked from C++ in context_frame.h):
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
#ifndef _CET_ENDBR /* from <cet.h> (asm_macros.h) when building with CET */
#define _CET_ENDBR
#endif

/* Restore a frame that rsp points at, then return into its context: with
 * `ret` (leave=ret), or with a pop and an indirect jump (leave=jump; see
 * async_impl_ctx_swap_jumped and async_impl_ctx_jump_uncalled). With
 * fp=compare, dx holds the current x87 control word, and the target's is
 * loaded only when it differs (see ASYNC_SWITCH_FRAMES). */
.macro ASYNC_RESTORE_FRAME leave=ret, fp=load
#if ASYNC_CTX_SHSTK
  /* CET shadow stacks (docs/low_level.md, Shadow stacks: the switch). On entry rax
   * holds the SSP of the context being left, read with rdsspq into a zeroed
   * register: 0 means shadow stacks are off for this thread, and then no CET
   * instruction may run (rstorssp and saveprevssp would raise #UD). When on,
   * the frame's SSP slot holds the SSP the target had when it was parked
   * (or that async_impl_shstk_seed gave a fresh fiber), and a restore token
   * for it lies just below it: rstorssp switches to that shadow stack and
   * leaves a previous-SSP token in place of the restore token; saveprevssp
   * pops that and writes a restore token for the left context below its
   * SSP, where rstorssp will find it when that context is resumed. The top
   * entry of the target's shadow stack is now the return address that the
   * ret below pops from the normal stack. */
  testq %rax, %rax
  jz 1f
  movq ASYNC_CTX_SSP(%rsp), %rcx
  rstorssp -8(%rcx)
  saveprevssp
1:
  addq $(8), %rsp
  .cfi_adjust_cfa_offset -8
#endif
#if ASYNC_FIBER_SAVE_X87
  ldmxcsr (%rsp)
.ifc \fp,compare
  cmpw 4(%rsp), %dx
  je 2f
.endif
  fldcw 4(%rsp)
2:
  addq $(8), %rsp
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
.ifc \leave,jump
  popq %rcx
  .cfi_adjust_cfa_offset -8
  .cfi_register %rip, %rcx
  jmp *%rcx
.else
  ret
.endif
.endm

/* Push the callee-saved state of the running context below its return
 * address (rsp points at that address, as on entry to a called function). */
.macro ASYNC_SAVE_FRAME
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
  subq $(8), %rsp
  .cfi_adjust_cfa_offset 8
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
#endif
#if ASYNC_CTX_SHSTK
  subq $(8), %rsp
  .cfi_adjust_cfa_offset 8
  /* The current SSP, or 0 when shadow stacks are off: rdsspq is a no-op
   * then (and on CPUs without CET), so the zeroed register stays 0. It
   * points at the shadow-stack copy of this call's return address. rax
   * carries it into ASYNC_RESTORE_FRAME. */
  xorl %eax, %eax
  rdsspq %rax
  movq %rax, ASYNC_CTX_SSP(%rsp)
#endif
.endm

/* Park the frame just saved at *rdi and move rsp to the frame at rsi. With
 * ASYNC_FIBER_SAVE_X87, dx keeps the x87 control word just saved, which is
 * the current one, for ASYNC_RESTORE_FRAME fp=compare: fibers nearly always
 * share one, and fldcw of an equal word is a slow no-op (skipping it made
 * channel round trips 6 % faster here; docs/benchmarks.md, "Foreign spawns
 * without false sharing, and fldcw skipped"). The semantics stay exact: a
 * word that differs is loaded. MXCSR is always loaded: reading
 * back the value stmxcsr has just stored, to compare it, cost more than the
 * ldmxcsr it would spare (yields 20 % slower). */
.macro ASYNC_SWITCH_FRAMES
#if ASYNC_FIBER_SAVE_X87
  movzwl ASYNC_CTX_X87CW(%rsp), %edx
#endif
  movq %rsp, (%rdi)
  movq %rsi, %rsp
.endm

/* void async_impl_ctx_swap(void **save_sp, void *load_sp)
 * rdi: where to store this context; rsi: the context to resume. */
ASYNC_ASM_FUNC(async_impl_ctx_swap)
  .cfi_startproc
  _CET_ENDBR
  ASYNC_SAVE_FRAME
  ASYNC_SWITCH_FRAMES
  ASYNC_RESTORE_FRAME ret, compare
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_swap)

#if ASYNC_CTX_FRESH_UNCALLED
/* async_impl_ctx_swap entered by a jump, with the return address pushed by
 * the caller (ctx_swap_into_fresh in context.h), and left by an indirect jump:
 * it neither pushes nor pops a return-stack-predictor entry. For a switch
 * into a fresh fiber, whose first "return" goes to the trampoline: a `ret`
 * there always missed, and so did, later, the `ret` that resumed the
 * switching context when that fiber ended. docs/design.md, "Context switch".
 * Only for a fresh target: the jump lands on the trampoline's endbr64. */
ASYNC_ASM_FUNC(async_impl_ctx_swap_jumped)
  .cfi_startproc
  _CET_ENDBR
  ASYNC_SAVE_FRAME
  ASYNC_SWITCH_FRAMES
  ASYNC_RESTORE_FRAME jump, compare
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_swap_jumped)
#endif

/* Switch to the frame at rdi, abandoning the running context: the body of
 * both jumps below, which differ in how they are entered and left. */
.macro ASYNC_JUMP_TO_FRAME leave=ret
#if ASYNC_CTX_SHSTK
  /* As in the swap, but nothing is saved: the shadow stack being left
   * belongs to a fiber that has ended, and gets saveprevssp's restore token
   * just before it is unmapped (shstk_release, after the arrival). */
  xorl %eax, %eax
  rdsspq %rax
#endif
  movq %rdi, %rsp
  /* From here rsp points at a saved frame: describe it as the swap does, so
   * an unwind inside the restore finds every callee-saved register. */
  .cfi_def_cfa %rsp, ASYNC_CTX_FRAME_SIZE
  .cfi_offset %rip, -8
  .cfi_offset %rbp, -16
  .cfi_offset %rbx, -24
  .cfi_offset %r12, -32
  .cfi_offset %r13, -40
  .cfi_offset %r14, -48
  .cfi_offset %r15, -56
  ASYNC_RESTORE_FRAME \leave
.endm

/* void async_impl_ctx_jump(void *load_sp): resume a context without saving
 * the current one (the caller's context is finished). Never returns. */
ASYNC_ASM_FUNC(async_impl_ctx_jump)
  .cfi_startproc
  _CET_ENDBR
  ASYNC_JUMP_TO_FRAME
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_jump)

#if ASYNC_CTX_END_UNCALLED
/* async_impl_ctx_jump reached by a jump, not a `call`, and left by an
 * indirect jump, not a `ret` (ctx_jump_from_end in context.h): the
 * return-stack predictor stays balanced and is not consulted, and the
 * indirect predictor, which learns targets, picks the resumed context (a
 * `ret` here always missed: the predictor's top entry was the ending
 * fiber's own call). docs/design.md, "Context switch". A symbol of its own,
 * so that C++ and assembly built with different flags fail to link rather
 * than pair a jump with a `ret`. Nothing returns to the context that jumps
 * here, and no return address was pushed: until rsp moves, this is the
 * outermost frame. */
ASYNC_ASM_FUNC(async_impl_ctx_jump_uncalled)
  .cfi_startproc
  .cfi_undefined %rip
  _CET_ENDBR
  ASYNC_JUMP_TO_FRAME jump
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_jump_uncalled)
#endif

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
  /* A call without `call`: the return address it would push, then a jump.
   * A call that never returns would leave an entry on the CPU's return-stack
   * predictor, and every return after the fiber's end, in whichever context
   * runs next, would be predicted one entry off (docs/design.md, "Context
   * switch"). Unwinders still see this function as the entry's caller. */
  leaq 1f(%rip), %rax
  pushq %rax
  .cfi_adjust_cfa_offset 8
  jmp *%r13
1:
  ud2
  .cfi_endproc
ASYNC_ASM_END(async_impl_ctx_trampoline)

#if ASYNC_CTX_SHSTK
/* void *async_impl_shstk_seed(void *restore_token)
 * rdi: the restore token that map_shadow_stack(SHADOW_STACK_SET_TOKEN) wrote
 * at the top of a fresh, empty shadow stack (base + size - 8).
 * Prepares that shadow stack for a fresh fiber (docs/low_level.md,
 * Shadow stacks: the switch): the first switch into the fiber ends in a ret, which pops
 * one shadow-stack entry, so the entry must be there and match the return
 * address in the fiber's initial frame. Returns the fiber's SSP, to store in
 * that frame's SSP slot (the return address slot must then hold
 * async_impl_shstk_landing); a restore token for it is left just below it.
 * Returns 0 and does nothing when shadow stacks are off on this thread.
 * Only ELF: shadow stacks exist only on Linux (context_offsets.h). */
ASYNC_ASM_FUNC(async_impl_shstk_seed)
  .cfi_startproc
  _CET_ENDBR
  xorl %eax, %eax
  rdsspq %rax
  testq %rax, %rax
  jz 2f
  movq %rax, %rdx /* the caller's SSP */
  /* Onto the new shadow stack, through the kernel's token; saveprevssp
   * leaves a restore token for the caller's shadow stack at rdx - 8. The
   * normal stack stays the caller's. */
  rstorssp (%rdi)
  saveprevssp
  /* The call pushes the address of the landing onto both stacks: on the
   * new shadow stack it becomes the entry the fiber's first ret pops. */
  call 1f
  /* Reached only by that first ret, on the fiber's stack: the outermost
   * frame, like the trampoline it jumps to. */
  .cfi_remember_state
  .cfi_undefined %rip
  .globl async_impl_shstk_landing
  .hidden async_impl_shstk_landing
async_impl_shstk_landing:
  jmp async_impl_ctx_trampoline
1:
  .cfi_restore_state
  .cfi_adjust_cfa_offset 8
  addq $(8), %rsp /* drop the normal-stack copy */
  .cfi_adjust_cfa_offset -8
  rdsspq %rax /* the fiber's SSP: it points at the landing entry */
  /* Back onto the caller's shadow stack; saveprevssp writes the restore
   * token for the new one at rax - 8, right below the landing entry. */
  rstorssp -8(%rdx)
  saveprevssp
2:
  ret
  .cfi_endproc
ASYNC_ASM_END(async_impl_shstk_seed)
#endif

#endif
/* Outside the #if: an object without the note, even an empty one, makes the
 * linker mark the whole program's stack executable. */
ASYNC_ASM_NOEXEC_STACK
