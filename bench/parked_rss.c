/* SPDX-License-Identifier: MIT */
/* parked_rss.c: resident memory per parked fiber, with guard pages on.
 *
 * usage: parked_rss <count> [stack_bytes]      (stack_bytes: 16384 by default)
 *
 * One runtime with task_capacity = fiber_capacity = count and 16 KiB stacks
 * (guards on, the default). `count` fibers are spawned and parked for good:
 * fiber 0 awaits the last fiber and every other fiber awaits fiber 0, so no
 * fiber can ever end, and async_runtime_run returns ASYNC_EDEADLK with all of
 * them parked (and intact) on their own stacks. RSS is read from
 * /proc/self/statm:
 *   before the runtime is made    -> rss_per_fiber (everything the runtime
 *                                    holds for `count` fibers: task records,
 *                                    stack pool records, touched stack pages)
 *   after async_runtime_init      -> rss_per_fiber_after_init (stack pages and
 *                                    pool records only; the task table is
 *                                    allocated and written at init)
 *   after all are parked
 *   after async_runtime_shutdown  -> rss_left_after_shutdown_per_fiber
 * It also reports the stack pool's mappings (async_runtime_stats), how many
 * mappings the process gained (/proc/self/maps), the guard size and method,
 * and checks the guards for real: a child process (fork) reads the lowest
 * byte of a parked fiber's stack (must succeed) and the byte just below it
 * (must fault), for the first, middle and last fiber.
 *
 * Output: one sample per line, "label<TAB>value<TAB>unit", like the peers'
 * micro programs (docs/benchmarks.md, Peers); a summary goes to stderr. Exits 0
 * when every check passed. */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "async.h"

static size_t g_count;
static async_fiber_handle_t g_first;
static async_fiber_handle_t g_last;
static volatile uintptr_t g_probe[3]; /* an address near the top of fibers 0, n/2, n-1 */
static size_t g_started;

static long page_bytes(void) { return sysconf(_SC_PAGESIZE); }

/* Resident and virtual bytes of the process, from /proc/self/statm. */
static int statm(long *rss, long *vsize) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  int ok = f != NULL && fscanf(f, "%ld %ld", &size, &resident) == 2;
  if (f != NULL) fclose(f);
  *rss = resident * page_bytes();
  *vsize = size * page_bytes();
  return ok;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long count_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  long n = 0;
  int c;
  if (f == NULL) return -1;
  while ((c = fgetc(f)) != EOF)
    if (c == '\n') ++n;
  fclose(f);
  return n;
}

static void emit(size_t count, const char *what, double value, const char *unit) {
  printf("mem.async.n%zu.%s\t%.2f\t%s\n", count, what, value, unit);
}

static void parked(void *arg) {
  size_t i = (size_t)(uintptr_t)arg;
  volatile char here = 0;
  if (i == 0) g_probe[0] = (uintptr_t)&here;
  if (i == g_count / 2) g_probe[1] = (uintptr_t)&here;
  if (i == g_count - 1) g_probe[2] = (uintptr_t)&here;
  ++g_started;
  /* Never returns: the fiber it awaits never ends. */
  async_await(i == 0 ? g_last : g_first);
  (void)here;
}

static void warm_fiber(void *arg) { (void)arg; }

/* Forks a child that reads the byte at `addr`. 1: the child faulted (killed
 * by a signal); 0: the read succeeded; -1: fork failed. */
static int read_faults(uintptr_t addr) {
  pid_t pid;
  int status = 0;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* Silence the runtime's overflow report in the child. */
    if (freopen("/dev/null", "w", stderr) == NULL) _exit(3);
    {
      volatile char c = *(volatile char *)addr;
      (void)c;
    }
    _exit(0);
  }
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFSIGNALED(status) ? 1 : 0;
}

int main(int argc, char **argv) {
  size_t count = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000;
  size_t stack = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 16384;
  async_config_t cfg = {0};
  async_runtime_t rt;
  async_runtime_stats_t st;
  async_status_t s;
  long rss0, rss_init, rss1, rss2, vm0, vm_init, vm1, vm2, maps0, maps1;
  size_t i;
  int failures = 0;
  double t_init, t_spawn, t_run, t_parked, t_shutdown;

  if (count < 2) {
    fprintf(stderr, "parked_rss: count must be at least 2\n");
    return 2;
  }
  g_count = count;
  cfg.task_capacity = count;
  cfg.fiber_capacity = count;
  cfg.fiber_stack_size = stack;

  /* Warm-up: a small runtime of the same shape, so that one-time costs (the
   * overflow handler's alternate signal stack, stdio buffers, libc state)
   * are paid before the baseline. */
  {
    async_config_t small = cfg;
    small.task_capacity = small.fiber_capacity = 4;
    if (async_runtime_init(&rt, &small) != ASYNC_OK) return 2;
    async_spawn_with(&rt, warm_fiber, NULL);
    async_runtime_run(&rt);
    async_runtime_shutdown(&rt);
  }

  statm(&rss0, &vm0);
  maps0 = count_mappings();
  t_init = now_s();
  s = async_runtime_init(&rt, &cfg);
  if (s != ASYNC_OK) {
    fprintf(stderr, "parked_rss: async_runtime_init: %s\n", async_strerror(s));
    return 2;
  }
  statm(&rss_init, &vm_init);

  t_spawn = now_s();
  for (i = 0; i < count; ++i) {
    async_fiber_handle_t h = async_spawn_with(&rt, parked, (void *)(uintptr_t)i);
    if (h.status != ASYNC_OK) {
      fprintf(stderr, "parked_rss: spawn %zu of %zu: %s\n", i, count, async_strerror(h.status));
      emit(count, "spawned_before_failure", (double)i, "fibers");
      async_runtime_shutdown(&rt);
      return 1;
    }
    if (i == 0) g_first = h;
    if (i == count - 1) g_last = h;
  }
  t_run = now_s();
  s = async_runtime_run(&rt);
  t_parked = now_s();
  statm(&rss1, &vm1);
  maps1 = count_mappings();
  async_runtime_stats(&rt, &st);

  if (s != ASYNC_EDEADLK || g_started != count || st.fibers_live != count ||
      st.stacks_in_use != count) {
    fprintf(stderr,
            "parked_rss: expected %zu parked fibers: run returned %s, %zu started, %zu live, "
            "%zu stacks in use\n",
            count, async_status_name(s), g_started, st.fibers_live, st.stacks_in_use);
    ++failures;
  }

  emit(count, "rss_per_fiber", (double)(rss1 - rss0) / (double)count, "B");
  emit(count, "rss_per_fiber_after_init", (double)(rss1 - rss_init) / (double)count, "B");
  emit(count, "virt_per_fiber", (double)(vm1 - vm0) / (double)count, "B");
  emit(count, "pool_mappings", (double)st.mappings, "maps");
  emit(count, "new_mappings", (double)(maps1 - maps0), "maps");
  emit(count, "guard_bytes", (double)st.guard_bytes, "B");
  emit(count, "guard_method", (double)st.guard_method, "");

  if (st.guard_bytes == 0 || st.guard_method == ASYNC_GUARD_NONE) {
    fprintf(stderr, "parked_rss: guard pages are off (guard_bytes %zu, method %d)\n", st.guard_bytes,
            st.guard_method);
    ++failures;
  }

  /* The guards, for real: for three parked fibers, the stack's lowest byte is
   * readable and the byte under it faults. A local of a fiber's first frame
   * lies in the top page of its stack; the stack's top is page aligned. */
  {
    int probed = 0, guarded = 0;
    const uintptr_t page = (uintptr_t)page_bytes();
    for (i = 0; i < 3; ++i) {
      uintptr_t top = (g_probe[i] | (page - 1)) + 1;
      uintptr_t lo = top - st.stack_bytes;
      int low_ok, below;
      if (g_probe[i] == 0) continue;
      low_ok = read_faults(lo) == 0;
      below = read_faults(lo - 1) == 1;
      ++probed;
      if (low_ok && below) ++guarded;
    }
    emit(count, "guard_probes_faulted", (double)guarded, "of 3");
    if (guarded != 3 || probed != 3) {
      fprintf(stderr, "parked_rss: guard probe: %d of %d stacks fault below their lowest byte\n",
              guarded, probed);
      ++failures;
    }
  }

  t_shutdown = now_s();
  async_runtime_shutdown(&rt);
  statm(&rss2, &vm2);
  emit(count, "rss_left_after_shutdown_per_fiber", (double)(rss2 - rss0) / (double)count, "B");
  emit(count, "init_ns_per_fiber", (t_spawn - t_init) * 1e9 / (double)count, "ns");
  emit(count, "spawn_ns_per_fiber", (t_run - t_spawn) * 1e9 / (double)count, "ns");
  emit(count, "run_to_parked_ns_per_fiber", (t_parked - t_run) * 1e9 / (double)count, "ns");
  emit(count, "shutdown_ns_per_fiber", (now_s() - t_shutdown) * 1e9 / (double)count, "ns");
  fflush(stdout);

  fprintf(stderr,
          "parked_rss: %zu fibers parked, %zu-byte stacks + %zu-byte guards (method %d: %s): "
          "%.0f B RSS per fiber (%.0f B after init), %zu pool mappings, %ld new mappings\n",
          count, st.stack_bytes, st.guard_bytes, st.guard_method,
          st.guard_method == ASYNC_GUARD_MADVISE    ? "MADV_GUARD_INSTALL"
          : st.guard_method == ASYNC_GUARD_MPROTECT ? "mprotect"
                                                    : "none",
          (double)(rss1 - rss0) / (double)count, (double)(rss1 - rss_init) / (double)count,
          st.mappings, maps1 - maps0);
  (void)vm_init;
  (void)vm2;
  return failures == 0 ? 0 : 1;
}
