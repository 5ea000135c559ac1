/* SPDX-License-Identifier: MIT */
/* async/signal.h: fibers waiting for POSIX signals. Included by async.h; do
 * not include it on its own.
 *
 * A fiber waits for any of a list of signals; the other fibers of its
 * runtime run meanwhile. The signals need not be blocked anywhere: from the
 * first wait for a signal, the library catches it in every thread with a
 * handler of its own, so a signal sent to the process (kill(1), Ctrl-C, a
 * thread calling kill(getpid(), SIGUSR1) or raise()) is taken by a waiting
 * fiber instead of running its default action (terminating the process).
 *
 * Rules:
 * - Keeping. A runtime *holds* a signal from the first wait for it by one of
 *   its fibers until the runtime is shut down (a group's runtimes: until the
 *   group is). While any runtime of the process holds a signal, every
 *   delivery of it is kept until a wait returns it: a delivery that comes
 *   while no fiber waits is returned by the next wait that lists it. Each
 *   delivery is returned by exactly one wait, of any runtime. Deliveries are
 *   counted, not merged: three deliveries while nobody waits make the next
 *   three waits return at once. (The kernel itself drops a standard signal
 *   sent while an earlier one is still pending, not yet taken by a thread:
 *   for a moment even when no thread blocks it, so two kill(2) calls in a
 *   row may make one delivery; for as long as every thread blocks it.
 *   Real-time signals, SIGRTMIN..SIGRTMAX, are queued, so count with those.
 *   A thread's raise() runs the handler before it returns.)
 * - Order. Waits are served in the order they began, across runtimes: a
 *   delivery goes to the oldest wait that lists the signal. When several of
 *   the listed signals are kept, the one listed first is returned.
 * - Disposition. The first hold of a signal in the process saves its
 *   disposition (SIG_DFL, SIG_IGN or a handler of the program) and installs
 *   the library's handler (SA_RESTART: interrupted system calls of other
 *   threads restart where the system allows); when the last runtime that
 *   holds it shuts down, the saved disposition is restored and deliveries
 *   still kept are dropped. The program's own handler does not run while
 *   the library holds the signal (handlers are not chained), and the program
 *   must not change the signal's disposition itself meanwhile. A signal
 *   ignored before (SIG_IGN, e.g. SIGHUP under nohup) is caught while held.
 * - Signal masks are not touched: a thread that blocks a held signal does not
 *   take it (another thread does; with every thread blocking it, it stays
 *   pending in the kernel, merged as above, until one unblocks it). A
 *   process-directed SIGPIPE is waited for like any other, but the SIGPIPE a
 *   runtime's own write to a closed pipe raises on its thread is discarded
 *   (async/io.h) and never reaches a wait.
 * - Threads. The handler records the delivery and writes one byte to a pipe;
 *   a thread of the library, started at the first hold and blocking every
 *   signal, hands deliveries to the waiting fibers through their runtimes'
 *   inboxes. A wait also takes deliveries already recorded itself, so a
 *   signal raised (raise(), kill() of the own process) before a wait begins
 *   is returned by that wait without waiting for the library's thread. A
 *   fiber waiting for a signal is "waiting for another thread": its runtime
 *   blocks in its poller instead of reporting ASYNC_EDEADLK.
 * - fork(). A child process inherits the handlers but not the library's
 *   thread: a child that waits for signals is not supported (one that calls
 *   exec is fine: exec resets caught signals to their default action, and the
 *   pipe is close-on-exec).
 * - A runtime's shutdown takes its waiting fibers off the waits; a delivery
 *   already handed to a fiber that had not run again yet goes with it. */
#ifndef ASYNC_SIGNAL_H
#define ASYNC_SIGNAL_H

#ifndef ASYNC_H
#error "include <async.h>, not <async/signal.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Suspend the calling fiber until one of the `count` signals in `signals`
 * is delivered (or return at once when one of them is kept, see above), and
 * store it in `*signo`. A signal may be listed more than once. The first
 * wait for a signal makes the calling fiber's runtime hold it (keeping
 * begins), also when that wait then times out or is cancelled while it
 * waits.
 * Returns ASYNC_OK with *signo set; on any other status *signo is 0 (when
 * signo is not NULL) and no delivery was taken:
 * ASYNC_EINVAL for a NULL signals or signo, count 0, or a signal a program
 * cannot wait for: not in 1..NSIG-1, SIGKILL, SIGSTOP, the fault signals
 * SIGSEGV, SIGBUS, SIGILL and SIGFPE (a handler that returns from a fault
 * runs the faulting instruction again), those the C library keeps for
 * itself (glibc: the two below SIGRTMIN), and the dump signal named by
 * $ASYNC_DUMP_SIGNAL (docs/debugging.md), whose handler owns it; nothing is
 * held then;
 * ASYNC_ESTATE outside a fiber (checked after EINVAL);
 * ASYNC_ECANCELED when the calling fiber is cancelled before the call (at
 * once, holding nothing new and leaving kept deliveries for other waits) or
 * while it waits;
 * ASYNC_EIO when the library's pipe could not be made (out of file
 * descriptors) and ASYNC_ENOMEM when its thread could not be started, both
 * only while no hold in the process has succeeded yet; ASYNC_EINVAL when the
 * system refused the handler (at a signal's first hold). Nothing is held
 * then, and a later wait tries again. */
ASYNC_API async_status_t async_signal_wait(const int *signals, size_t count, int *signo)
    ASYNC_NOEXCEPT;

/* async_signal_wait with an absolute deadline on async_now_ns()'s clock:
 * also ASYNC_ETIMEDOUT when it passes first. A deadline already past never
 * suspends: it returns a kept signal or ASYNC_ETIMEDOUT, and still makes the
 * runtime hold the signals. So `async_signal_wait_until(sigs, n, &s, 0)`
 * starts catching `sigs` early (a server does it before it says it is
 * ready, so that a signal sent at once does not kill it). ASYNC_NO_DEADLINE
 * means none: the call is then exactly async_signal_wait. A delivery and the
 * deadline race: whichever reaches the wait first wins, so ASYNC_ETIMEDOUT
 * means no delivery was taken. */
ASYNC_API async_status_t async_signal_wait_until(const int *signals, size_t count, int *signo,
                                                 uint64_t deadline_ns) ASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_SIGNAL_H */
