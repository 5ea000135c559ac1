/* SPDX-License-Identifier: MIT */
/* context_offsets.h: the saved-context frame layouts, shared by the .S files
 * and by context_frame.h (which checks them with static_assert against a
 * struct per architecture). Macros only, so that every assembler can
 * include it.
 *
 * A parked context is its saved stack pointer; the frame below describes what
 * lies at that address. ASYNC_FIBER_SAVE_X87 (default 1) adds the FP control
 * state (MXCSR + x87 control word on x86_64, FPCR on arm64) to the frame, so a
 * fiber's rounding mode and FTZ/DAZ bits stay its own. */
#ifndef ASYNC_CONTEXT_OFFSETS_H
#define ASYNC_CONTEXT_OFFSETS_H

#ifndef ASYNC_FIBER_SAVE_X87
#define ASYNC_FIBER_SAVE_X87 1
#endif

#ifndef ASYNC_FIBER_SHADOW_STACK
#define ASYNC_FIBER_SHADOW_STACK 0
#endif

/* CET shadow stacks exist only on Linux x86_64 with a CET-aware compiler
 * (-fcf-protection=return or =full sets bit 1 of __CET__). */
#if ASYNC_FIBER_SHADOW_STACK
#if !defined(__linux__) || !defined(__x86_64__)
#error "ASYNC_FIBER_SHADOW_STACK=1 is supported only on Linux x86_64"
#endif
#if !defined(__CET__) || !(__CET__ & 2)
#error "ASYNC_FIBER_SHADOW_STACK=1 needs -fcf-protection=return (or =full)"
#endif
#define ASYNC_CTX_SHSTK 1
#else
#define ASYNC_CTX_SHSTK 0
#endif

/* x86_64 switches the return-stack predictor cannot get right, made without
 * `call` and `ret` (context.h; docs/design.md, "Context switch"). Never with
 * shadow stacks, whose entries only a `call` pushes. The switch into a fresh
 * fiber lands on the trampoline, which starts with endbr64, so it stays
 * with indirect-branch tracking (-fcf-protection=branch or =full); the jump
 * out of an ended fiber lands on a return address, which has no endbr64, so
 * it does not. */
#if defined(__x86_64__) && !ASYNC_CTX_SHSTK
#define ASYNC_CTX_FRESH_UNCALLED 1
#else
#define ASYNC_CTX_FRESH_UNCALLED 0
#endif
#if ASYNC_CTX_FRESH_UNCALLED && !(defined(__CET__) && (__CET__ & 1))
#define ASYNC_CTX_END_UNCALLED 1
#else
#define ASYNC_CTX_END_UNCALLED 0
#endif

#if defined(__x86_64__)
/* x86_64 System V. Frame, low to high:
 *   [ssp]            8 bytes, only with CET shadow stacks
 *   [mxcsr | x87 cw] 8 bytes, only with ASYNC_FIBER_SAVE_X87
 *   r15 r14 r13 r12 rbx rbp return-address                                */
/* Plain #if, not ?:, which assemblers do not evaluate. */
#if ASYNC_CTX_SHSTK
#define ASYNC_CTX_SSP_BYTES 8
#else
#define ASYNC_CTX_SSP_BYTES 0
#endif
#if ASYNC_FIBER_SAVE_X87
#define ASYNC_CTX_FPU_BYTES 8
#else
#define ASYNC_CTX_FPU_BYTES 0
#endif
#define ASYNC_CTX_SSP 0
#define ASYNC_CTX_MXCSR (ASYNC_CTX_SSP_BYTES)
#define ASYNC_CTX_X87CW (ASYNC_CTX_SSP_BYTES + 4)
#define ASYNC_CTX_R15 (ASYNC_CTX_SSP_BYTES + ASYNC_CTX_FPU_BYTES)
#define ASYNC_CTX_R14 (ASYNC_CTX_R15 + 8)
#define ASYNC_CTX_R13 (ASYNC_CTX_R15 + 16)
#define ASYNC_CTX_R12 (ASYNC_CTX_R15 + 24)
#define ASYNC_CTX_RBX (ASYNC_CTX_R15 + 32)
#define ASYNC_CTX_RBP (ASYNC_CTX_R15 + 40)
#define ASYNC_CTX_RET (ASYNC_CTX_R15 + 48)
#define ASYNC_CTX_FRAME_SIZE (ASYNC_CTX_R15 + 56)
/* Bytes the trampoline keeps free above a fiber's first frame, so that a
 * fresh fiber's initial frame can be written there while the fiber that is
 * ending on this stack is still running below it (stack hand-over). */
#define ASYNC_CTX_TOP_ZONE 80
#elif defined(__aarch64__)
/* arm64 AAPCS64. Frame, low to high (176 bytes, sp stays 16-aligned):
 *   x19 x20 x21 x22 x23 x24 x25 x26 x27 x28 x29(fp) x30(lr)
 *   d8 d9 d10 d11 d12 d13 d14 d15 fpcr pad                                 */
#define ASYNC_CTX_X19 0
#define ASYNC_CTX_X29 80
#define ASYNC_CTX_X30 88
#define ASYNC_CTX_D8 96
#define ASYNC_CTX_FPCR 160
#define ASYNC_CTX_FRAME_SIZE 176
#define ASYNC_CTX_TOP_ZONE 176
#else
#error "async: unsupported architecture (x86_64 and arm64 are supported)"
#endif

#endif
