/* SPDX-License-Identifier: MIT */
/* basic_async.c: what miniasync's "basic-async" example shows: copies that
 * run on the threads mover's workers, two at a time, waited for together. */
#include <libminiasync.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
  if (argc > 1) { /* no arguments; --help says what it does */
    int help = strcmp(argv[1], "--help") == 0;
    fprintf(help ? stdout : stderr,
            "usage: %s  (no arguments) miniasync copies on the threads mover, two at a time\n",
            argv[0]);
    return help ? 0 : 2;
  }
  struct runtime *r = runtime_new();
  struct data_mover_threads *dmt = data_mover_threads_default();
  struct vdm *vdm = data_mover_threads_get_vdm(dmt);
  size_t sizes[2] = {1024, 2048};
  for (int round = 1; round <= 2; ++round) {
    char *src[2], *dst[2];
    struct vdm_operation_future f[2];
    struct future *futs[2];
    for (int i = 0; i < 2; ++i) {
      src[i] = malloc(sizes[i]);
      dst[i] = calloc(1, sizes[i]);
      memset(src[i], 'a' + round + i, sizes[i]);
      f[i] = vdm_memcpy(vdm, dst[i], src[i], sizes[i], 0);
      futs[i] = FUTURE_AS_RUNNABLE(&f[i]);
    }
    runtime_wait_multiple(r, futs, 2);
    for (int i = 0; i < 2; ++i) {
      int same = memcmp(src[i], dst[i], sizes[i]) == 0;
      printf("round %d: %zu bytes of '%c': %s\n", round, sizes[i], dst[i][0],
             f[i].output.result == VDM_SUCCESS && same ? "copied" : "FAILED");
      free(src[i]);
      free(dst[i]);
    }
  }
  data_mover_threads_delete(dmt);
  runtime_delete(r);
  return 0;
}
