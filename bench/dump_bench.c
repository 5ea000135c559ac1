/* SPDX-License-Identifier: MIT */
/* dump_bench.c: how long async_runtime_dump takes for many parked fibers.
 *
 * usage: dump_bench [fibers]      (10,000 by default; the target: < 50 ms)
 *
 * `fibers` fibers on 16 KiB stacks park in four waits (sleep, channel
 * receive, mutex, async_park), a quarter each; then the last fiber dumps the
 * runtime five times to /dev/null and five times to a temporary file, and
 * cancels everyone. One sample per line, "label<TAB>value<TAB>unit" (the
 * median of the five), a summary on stderr. Exits 0 when every dump
 * succeeded and the file holds one line per fiber plus the header. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "async.h"

#define RUNS 5

static async_runtime_t rt;
static async_channel_t ch;
static async_mutex_t m;
static async_fiber_handle_t *handles;
static size_t count;
static double to_null_ms[RUNS], to_file_ms[RUNS];
static long file_lines;
static int failed;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void waiter(void *user) {
  void *msg;
  switch ((uintptr_t)user % 4) {
    case 0: (void)async_sleep_ms(3600 * 1000); break;
    case 1: (void)async_channel_recv(&ch, &msg); break;
    case 2:
      if (async_mutex_lock(&m) == ASYNC_OK) (void)async_mutex_unlock(&m);
      break;
    default: (void)async_park(); break;
  }
}

/* The first waiter takes the mutex for good (it parks holding it). */
static void holder(void *user) {
  (void)user;
  (void)async_mutex_lock(&m);
  (void)async_park();
  (void)async_mutex_unlock(&m);
}

static double timed_dump(int fd) {
  const double t0 = now_ms();
  if (async_runtime_dump(&rt, fd) != ASYNC_OK) failed = 1;
  return now_ms() - t0;
}

static void dumper(void *user) {
  (void)user;
  const int null_fd = open("/dev/null", O_WRONLY);
  FILE *f = tmpfile();
  for (int i = 0; i < RUNS; ++i) to_null_ms[i] = timed_dump(null_fd);
  for (int i = 0; i < RUNS; ++i) {
    (void)ftruncate(fileno(f), 0);
    (void)lseek(fileno(f), 0, SEEK_SET);
    to_file_ms[i] = timed_dump(fileno(f));
  }
  (void)lseek(fileno(f), 0, SEEK_SET);
  file_lines = 0;
  for (int c; (c = fgetc(f)) != EOF;) file_lines += c == '\n';
  fclose(f);
  close(null_fd);
  for (size_t i = 0; i < count; ++i) (void)async_cancel(handles[i]);
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v) {
  qsort(v, RUNS, sizeof v[0], by_value);
  return v[RUNS / 2];
}

int main(int argc, char **argv) {
  count = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
  if (count < 2) count = 2;
  async_config_t cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.task_capacity = count + 1;
  cfg.fiber_capacity = count + 1;
  cfg.fiber_stack_size = 16384;
  handles = calloc(count, sizeof *handles);
  if (handles == NULL || async_runtime_init(&rt, &cfg) != ASYNC_OK || async_channel_init(&ch, &rt, 0, 0) != ASYNC_OK ||
      async_mutex_init(&m) != ASYNC_OK) {
    fprintf(stderr, "dump_bench: init failed\n");
    return 2;
  }
  handles[0] = async_spawn_with(&rt, holder, NULL);
  for (size_t i = 1; i < count; ++i) handles[i] = async_spawn_with(&rt, waiter, (void *)(uintptr_t)i);
  (void)async_spawn_with(&rt, dumper, NULL);
  (void)async_runtime_run(&rt);
  async_channel_shutdown(&ch);
  async_runtime_shutdown(&rt);
  if (file_lines != (long)count + 2) failed = 1; /* header, the fibers, the dumper */
  printf("dump_to_dev_null\t%.2f\tms\n", median(to_null_ms));
  printf("dump_to_file\t%.2f\tms\n", median(to_file_ms));
  fprintf(stderr, "dump_bench: %zu fibers, %ld lines; median of %d: /dev/null %.2f ms, file %.2f ms%s\n", count + 1,
          file_lines, RUNS, median(to_null_ms), median(to_file_ms), failed ? " (FAILED)" : "");
  free(handles);
  return failed ? 1 : 0;
}
