/* SPDX-License-Identifier: MIT */
/* udp_echo.c: a UDP echo server and a client, two fibers on one thread,
 * over 127.0.0.1 (async_recvfrom / async_sendto). The server parks in
 * async_recvfrom, answers each datagram to whoever sent it, and stops at an
 * empty one (a zero-length datagram is a datagram, not an end of file). The
 * client sends three messages and prints each echo; its last receive has a
 * buffer too small for the datagram, which is truncated to the buffer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "async.h"

struct sockets {
    async_io_t server;
    async_io_t client;
    struct sockaddr_in server_addr;
};

static void server(void *user)
{
    struct sockets *s = user;
    char buf[512];
    for (;;) {
        struct sockaddr_in from;
        unsigned fromlen = sizeof from;
        size_t n = 0;
        if (async_recvfrom(&s->server, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen) != ASYNC_OK) {
            fprintf(stderr, "server: recvfrom: errno %d\n", async_io_errno(&s->server));
            return;
        }
        if (n == 0) {
            printf("server: empty datagram, stopping\n");
            return;
        }
        char who[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &from.sin_addr, who, sizeof who);
        printf("server: %zu bytes from %s\n", n, who);
        if (async_sendto(&s->server, buf, n, &n, (struct sockaddr *)&from, fromlen) != ASYNC_OK)
            fprintf(stderr, "server: sendto: errno %d\n", async_io_errno(&s->server));
    }
}

static void client(void *user)
{
    struct sockets *s = user;
    static const char *const messages[] = {"hello", "datagrams", "truncated reply"};
    const struct sockaddr *to = (const struct sockaddr *)&s->server_addr;
    for (int i = 0; i < 3; ++i) {
        char buf[64];
        size_t len = strlen(messages[i]);
        size_t want = i == 2 ? 9 : sizeof buf; /* the last reply does not fit */
        size_t n = 0;
        if (async_sendto(&s->client, messages[i], len, &n, to, sizeof s->server_addr) != ASYNC_OK ||
            async_recvfrom(&s->client, buf, want, &n, NULL, NULL) != ASYNC_OK) {
            fprintf(stderr, "client: errno %d\n", async_io_errno(&s->client));
            return;
        }
        printf("client: echo \"%.*s\" (%zu of %zu bytes)\n", (int)n, buf, n, len);
    }
    size_t n = 0;
    async_sendto(&s->client, NULL, 0, &n, to, sizeof s->server_addr);
}

/* A UDP socket bound to 127.0.0.1 on a free port, registered; its address
 * in *addr. */
static int open_udp(async_io_t *io, struct sockaddr_in *addr)
{
    socklen_t len = sizeof *addr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
        perror("udp socket");
        if (fd >= 0) close(fd);
        return -1;
    }
    return async_io_register(io, fd) == ASYNC_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) a UDP echo server and client fiber over 127.0.0.1\n",
                argv[0]);
        return help ? 0 : 2;
    }
    static struct sockets s; /* zeroed: the ios must be zero before register */
    struct sockaddr_in client_addr;
    if (open_udp(&s.server, &s.server_addr) != 0 || open_udp(&s.client, &client_addr) != 0)
        return 1;
    async_spawn(server, &s); /* runs first: parks in async_recvfrom */
    async_spawn(client, &s);
    int rc = async_run();
    async_io_close(&s.server);
    async_io_close(&s.client);
    async_global_shutdown();
    return rc;
}
