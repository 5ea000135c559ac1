/* SPDX-License-Identifier: MIT */
/* io_pipe.c: a reader and a writer over a pipe. The reader fiber runs
 * first and parks in async_read on the empty pipe; the writer then writes,
 * and the reader wakes with the message. A second round shows end of file:
 * once the write end is closed, a read returns ASYNC_OK with n == 0. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "async.h"

static void reader(void *user)
{
    async_io_t *io = (async_io_t *)user;
    char buf[128];
    size_t n = 0;
    printf("reader: waiting\n");
    if (async_read(io, buf, sizeof(buf), &n) != ASYNC_OK) {
        fprintf(stderr, "read failed\n");
        return;
    }
    printf("reader: got %zu bytes: %.*s", n, (int)n, buf);
}

static void writer(void *user)
{
    async_io_t *io = (async_io_t *)user;
    const char msg[] = "hello\n";
    size_t n = 0;
    printf("writer: writing\n");
    if (async_write(io, msg, sizeof(msg) - 1, &n) != ASYNC_OK) {
        fprintf(stderr, "write failed\n");
        return;
    }
    printf("writer: wrote %zu bytes\n", n);
}

static void until_end_of_file(void *user)
{
    async_io_t *io = (async_io_t *)user;
    char buf[128];
    size_t n = 1;
    async_status_t st = async_read(io, buf, sizeof(buf), &n);
    printf("reader: %s with n == %zu: end of file\n", async_status_name(st), n);
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) a reader and a writer fiber over a pipe\n",
                argv[0]);
        return help ? 0 : 2;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        return 1;
    }
    async_io_t rd = {0};
    async_io_t wr = {0};
    if (async_io_register(&rd, fds[0]) != ASYNC_OK || async_io_register(&wr, fds[1]) != ASYNC_OK) {
        fprintf(stderr, "register failed\n");
        return 1;
    }

    async_spawn(reader, &rd);
    async_spawn(writer, &wr);
    int rc = async_run();

    async_io_close(&wr);
    async_spawn(until_end_of_file, &rd);
    if (rc == 0) rc = async_run();

    async_io_close(&rd);
    async_global_shutdown();
    return rc;
}
