/* SPDX-License-Identifier: MIT */
/* async/io.h: fiber-blocking I/O. Included by async.h; do not include it on
 * its own.
 *
 * A blocking call here suspends only the calling fiber: the fd is
 * non-blocking, the call tries the system call first and, when the kernel
 * says "would block", parks the fiber until the runtime's poller (epoll on
 * Linux, kqueue on macOS and the BSDs) reports the fd ready, then retries.
 * EINTR and EAGAIN never reach the caller. Other fibers run meanwhile.
 *
 * Common rules for every call taking an async_io_t:
 * - ASYNC_EINVAL for a NULL, zeroed, unregistered or closed io (fd 0 is never
 *   touched on its behalf), and for an io of another runtime than the calling
 *   fiber's.
 * - ASYNC_ESTATE for the blocking calls when called outside a fiber.
 * - ASYNC_EIO for an error from the operating system; async_io_errno() then
 *   gives its errno (e.g. ECONNRESET, EPIPE).
 * - ASYNC_ECLOSED when the io is closed (async_io_close) while the fiber waits.
 * - ASYNC_ECANCELED when the calling fiber is cancelled (before or while it
 *   waits); the io stays usable and no data was consumed or written by the
 *   cancelled call.
 * - The _until variants take an absolute deadline on async_now_ns()'s clock
 *   and return ASYNC_ETIMEDOUT when it passes first (a deadline already past
 *   still tries the operation once, without waiting). ASYNC_NO_DEADLINE
 *   means none: the call is then exactly its plain form. Timers for I/O and for
 *   sleeps are one structure: they expire in deadline order, then in the
 *   order they were set.
 * - Several fibers may wait on one io; when it becomes ready they are woken
 *   in the order they began waiting, and each retries. Readiness of different
 *   ios is reported in the poller's order.
 * - Nothing ever raises SIGPIPE: sockets are written with MSG_NOSIGNAL (or
 *   SO_NOSIGPIPE on Apple). Pipes have no such flag: from a runtime's first
 *   write to a pipe (or other non-socket) until its run or top-level await
 *   returns, SIGPIPE is blocked in the driving thread, and a SIGPIPE raised
 *   on that thread meanwhile (by this library's writes or by the fibers' own
 *   write(2) calls, which then just fail with EPIPE) is discarded; the mask
 *   is restored when the drive ends. The process's signal dispositions are
 *   never changed. A write to a peer that has gone returns ASYNC_EIO with
 *   errno EPIPE.
 * - Regular files (which epoll cannot watch) are "always ready": calls on
 *   them never park and behave as blocking reads and writes of the file. */
#ifndef ASYNC_IO_H
#define ASYNC_IO_H

#ifndef ASYNC_H
#error "include <async.h>, not <async/io.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;

/* A deadline that never comes, for the _until calls of this header. */
#define ASYNC_NO_DEADLINE UINT64_MAX

/* A file descriptor registered with a runtime. Zero it (`async_io_t io = {0};`
 * or memset) before async_io_register; do not move or copy it while it is
 * registered: the poller and parked fibers point at it. Its contents are
 * private. After async_io_close it may be zeroed and registered again. */
typedef struct async_io {
  void *impl[12]; /* private */
} async_io_t;

/* Bind `fd` to the calling fiber's runtime (outside fibers: the calling
 * thread's global runtime) and put it in non-blocking mode. The io takes the
 * fd: async_io_close closes it.
 * Returns ASYNC_OK; ASYNC_EINVAL for a NULL or non-zeroed io, or fd < 0;
 * ASYNC_EIO when the OS rejects the fd (e.g. EBADF; see async_io_errno),
 * also when another io of the same runtime holds the fd already (errno
 * EEXIST; the epoll backend: a kqueue accepts the second registration and
 * the fd's events then go to the newer io, so never register an fd twice);
 * ASYNC_ESTATE from a thread that does not own the runtime; ASYNC_ENOMEM. */
ASYNC_API async_status_t async_io_register(async_io_t *io, int fd) ASYNC_NOEXCEPT;

/* async_io_register on the runtime `rt` (ASYNC_EINVAL for a NULL or
 * uninitialised rt). */
ASYNC_API async_status_t async_io_register_with(async_runtime_t *rt, async_io_t *io, int fd) ASYNC_NOEXCEPT;

/* One read of up to `len` bytes into `buf`, waiting until some data (or end
 * of file) is there. `*n` (always set; 0 on error) says how many were read.
 * End of file is ASYNC_OK with *n == 0; so is len == 0. n may not be NULL. */
ASYNC_API async_status_t async_read(async_io_t *io, void *buf, size_t len, size_t *n) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_read_until(async_io_t *io, void *buf, size_t len, size_t *n,
                                          uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* One write of up to `len` bytes, waiting until the fd can take some. A
 * partial write is success: `*n` says how much went. */
ASYNC_API async_status_t async_write(async_io_t *io, const void *buf, size_t len, size_t *n) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_write_until(async_io_t *io, const void *buf, size_t len, size_t *n,
                                           uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Read exactly `len` bytes, as many reads as it takes. ASYNC_ECLOSED when end
 * of file comes first. On any error `*n` (may be NULL) says how many bytes
 * were read and stored before it: nothing read is lost. */
ASYNC_API async_status_t async_read_exact(async_io_t *io, void *buf, size_t len, size_t *n) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_read_exact_until(async_io_t *io, void *buf, size_t len, size_t *n,
                                                uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Write all `len` bytes, as many writes as it takes. On any error `*n` (may
 * be NULL) says how many bytes were written before it. */
ASYNC_API async_status_t async_write_all(async_io_t *io, const void *buf, size_t len, size_t *n) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_write_all_until(async_io_t *io, const void *buf, size_t len,
                                               size_t *n, uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Wait until a connection arrives on the listening socket `listener` and
 * register it in `client` (which the caller zeroed) on the listener's
 * runtime. The new fd is non-blocking and close-on-exec. Connections aborted
 * before they were accepted are skipped. Out of file descriptors (EMFILE,
 * ENFILE) is ASYNC_EIO with that errno, at once: the caller decides how to
 * back off. ASYNC_EINVAL also for a client that is not zeroed (checked before
 * anything is accepted, so no connection is lost). */
ASYNC_API async_status_t async_accept_io(async_io_t *listener, async_io_t *client) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_accept_io_until(async_io_t *listener, async_io_t *client,
                                               uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* As async_accept_io, but hands out the raw fd (non-blocking, close-on-exec)
 * in `*fd`, for a caller that registers it elsewhere (another runtime). */
ASYNC_API async_status_t async_accept(async_io_t *listener, int *fd) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_accept_until(async_io_t *listener, int *fd, uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Connect the registered socket `io` to `addr` and wait until the connection
 * is established. ASYNC_EIO with errno ECONNREFUSED, ETIMEDOUT, ... when it
 * fails. After ASYNC_ETIMEDOUT, ASYNC_ECANCELED or ASYNC_ECLOSED the
 * connection attempt is left in progress: close the io. AF_UNIX stream
 * sockets connect at once or fail at once; on Linux one whose listener's
 * backlog is full fails with ASYNC_EIO and errno EAGAIN (the one EAGAIN that
 * reaches a caller: the kernel has no readiness event for "the backlog has
 * room" to wait for), so retry later or size the backlog. Connecting a
 * datagram socket only sets its peer (see async_sendto). */
ASYNC_API async_status_t async_connect(async_io_t *io, const struct sockaddr *addr,
                                       unsigned addrlen) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_connect_until(async_io_t *io, const struct sockaddr *addr,
                                             unsigned addrlen, uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* ------------------------------------------------------------------ sockets */

/* Making sockets: address parsing, listening, connecting and binding in one
 * call each, so a C program needs no socket(2), bind(2), listen(2) or
 * inet_pton(3) of its own. Rules common to the calls below:
 * - Every socket they make is non-blocking and close-on-exec, and is
 *   registered in the caller's `io`, which must be zeroed (ASYNC_EINVAL
 *   otherwise, checked before anything is made).
 * - On any failure nothing stays open (a socket made is closed; a unix path
 *   bound is unlinked) and `io` is not registered. For ASYNC_EIO,
 *   async_io_errno(io) gives the errno (EADDRINUSE, EACCES, ECONNREFUSED,
 *   ENOENT, EMFILE, ...); zero `io` again before reusing it.
 * - The forms without _with register on the calling fiber's runtime, or
 *   outside fibers on the calling thread's global runtime; the _with forms
 *   on `rt` (ASYNC_EINVAL for a NULL or uninitialised rt). ASYNC_ESTATE from
 *   a thread that does not own that runtime. ASYNC_ENOMEM as for
 *   async_io_register.
 * - `addr`/`addrlen` are a socket address as the OS takes it (e.g. from
 *   async_addr_ip, async_addr_unix or async_getaddrinfo); ASYNC_EINVAL for
 *   a NULL addr, an addrlen of 0 or one larger than a struct
 *   sockaddr_storage. */

/* The longest text async_addr_ip reads: an IPv6 literal (INET6_ADDRSTRLEN,
 * 46 with its NUL). */
#define ASYNC_ADDR_IP_MAX 45

/* Parse a numeric IPv4 ("127.0.0.1") or IPv6 ("::1") address, or
 * "localhost" (127.0.0.1, without a lookup), and `port` into the socket
 * address `addr` (struct sockaddr_in or sockaddr_in6). `*addrlen` is the
 * size of `addr` on entry and the size used on return (a struct
 * sockaddr_storage is always big enough). Does not suspend; no runtime
 * needed. Returns ASYNC_OK; ASYNC_EINVAL for a NULL argument, text that is
 * no such address (names other than "localhost" included: look them up
 * with async_getaddrinfo), text longer than ASYNC_ADDR_IP_MAX, or an
 * `*addrlen` too small for the address (then nothing is written). */
ASYNC_API async_status_t async_addr_ip(const char *host, uint16_t port, struct sockaddr *addr,
                                       unsigned *addrlen) ASYNC_NOEXCEPT;

/* The AF_UNIX socket address of the filesystem path `path`, in `addr` as
 * async_addr_ip fills it. Returns ASYNC_OK; ASYNC_EINVAL for a NULL
 * argument, an empty path, one too long for sun_path (with its NUL: 107
 * bytes on Linux, 103 on macOS and the BSDs), or an `*addrlen` too small. */
ASYNC_API async_status_t async_addr_unix(const char *path, struct sockaddr *addr, unsigned *addrlen) ASYNC_NOEXCEPT;

/* A stream socket of addr's family bound to `addr` and listening with
 * `backlog` (0 up to the OS's limit; larger ones are cut to it), registered
 * in `io`; accept with async_accept_io. IPv4 and IPv6 sockets get
 * SO_REUSEADDR, so a port that only has connections in TIME_WAIT can be
 * bound again; port 0 lets the kernel pick a free one (getsockname(2) on
 * async_io_fd(io) tells which). An AF_UNIX listener creates its path, which
 * must not exist (EADDRINUSE); removing it is the caller's job. Does not
 * suspend. Returns ASYNC_OK; ASYNC_EINVAL for a negative backlog or as the
 * common rules say; ASYNC_EIO (EADDRINUSE for a port or path in use,
 * EACCES, EAFNOSUPPORT, ...); ASYNC_ESTATE; ASYNC_ENOMEM. */
ASYNC_API async_status_t async_socket_listen(async_io_t *io, const struct sockaddr *addr,
                                             unsigned addrlen, int backlog) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_socket_listen_with(async_runtime_t *rt, async_io_t *io,
                                                  const struct sockaddr *addr, unsigned addrlen,
                                                  int backlog) ASYNC_NOEXCEPT;

/* A datagram socket (UDP, or AF_UNIX SOCK_DGRAM) of addr's family bound to
 * `addr` (port 0: a free one), registered in `io`, for async_recvfrom and
 * async_sendto (async_connect sets its default peer). Does not suspend.
 * Returns ASYNC_OK; ASYNC_EIO (EADDRINUSE, EACCES, ...); ASYNC_EINVAL,
 * ASYNC_ESTATE and ASYNC_ENOMEM as the common rules say. */
ASYNC_API async_status_t async_socket_bind_dgram(async_io_t *io, const struct sockaddr *addr,
                                                 unsigned addrlen) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_socket_bind_dgram_with(async_runtime_t *rt, async_io_t *io,
                                                      const struct sockaddr *addr, unsigned addrlen) ASYNC_NOEXCEPT;

/* A new stream socket of addr's family, registered in `io` on the calling
 * fiber's runtime and connected to `addr` as async_connect connects
 * (suspends until the connection is established). Inside a fiber only.
 * Returns ASYNC_OK; ASYNC_EIO (ECONNREFUSED, ENETUNREACH, ENOENT for a unix
 * path nobody bound, ...); ASYNC_ETIMEDOUT (the _until form; a deadline
 * already past still tries once); ASYNC_ECANCELED (before anything is made
 * when the fiber was cancelled already); ASYNC_ESTATE outside a fiber
 * (before anything is made); ASYNC_EINVAL and ASYNC_ENOMEM as the common
 * rules say. Unlike async_connect, a failed attempt is never left in
 * progress: the socket is closed. */
ASYNC_API async_status_t async_socket_connect(async_io_t *io, const struct sockaddr *addr,
                                              unsigned addrlen) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_socket_connect_until(async_io_t *io, const struct sockaddr *addr,
                                                    unsigned addrlen, uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* async_addr_ip then async_socket_listen(_with): a TCP listener on `host`
 * (a numeric address, "localhost", or "0.0.0.0" / "::" for every
 * interface) and `port`. Statuses: both calls' (ASYNC_EINVAL for an
 * address that does not parse). */
ASYNC_API async_status_t async_tcp_listen(async_io_t *io, const char *host, uint16_t port, int backlog) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_tcp_listen_with(async_runtime_t *rt, async_io_t *io, const char *host,
                                               uint16_t port, int backlog) ASYNC_NOEXCEPT;

/* async_addr_ip then async_socket_connect(_until): a TCP connection to the
 * numeric address `host` ("localhost": 127.0.0.1) and `port`. Statuses:
 * both calls' (ASYNC_EINVAL for an address that does not parse). */
ASYNC_API async_status_t async_tcp_connect(async_io_t *io, const char *host, uint16_t port) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_tcp_connect_until(async_io_t *io, const char *host, uint16_t port,
                                                 uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* ---------------------------------------------------------------- datagrams */

/* Receive one datagram into `buf`, waiting until one is there (UDP, or
 * AF_UNIX SOCK_DGRAM; recvfrom(2) underneath). Each call takes exactly one
 * datagram off the socket, whatever `len` is:
 * - A datagram longer than `len` is truncated: its first `len` bytes are
 *   stored, `*n` is `len`, and the rest is discarded (as recvfrom(2) does).
 *   `*n` never exceeds `len`, so buf[0..*n) is always what was stored.
 *   (Linux's MSG_TRUNC, which reports the whole length instead, is neither
 *   portable nor safe for code that trusts *n; a caller that must detect
 *   truncation passes a buffer one byte longer than the longest datagram it
 *   accepts: `*n` equal to that length then means "too long".)
 * - A zero-length datagram is ASYNC_OK with *n == 0; unlike async_read, 0 is
 *   not end of file (datagram sockets have none). len == 0 (buf may then be
 *   NULL) waits for a datagram and discards it.
 * `*n` is always set (0 on error); n may not be NULL. `from` and `fromlen`
 * are both NULL (the sender is not wanted) or both non-NULL, else
 * ASYNC_EINVAL: then `*fromlen` is the size of `from` on entry and, on
 * ASYNC_OK only, the size of the sender's address on return, which may be
 * larger than what was stored when `from` was too small (as recvfrom(2);
 * a struct sockaddr_storage is always big enough). An unbound AF_UNIX
 * sender has no address: nothing useful is stored (on Linux *fromlen is 0),
 * and replies cannot reach it. On a stream socket the call acts as async_read (0 is
 * end of file; `from` is left as the OS leaves it). A non-socket io is ASYNC_EIO with
 * ENOTSOCK. The common rules at the top of this header apply (cancellation
 * consumes no datagram). */
ASYNC_API async_status_t async_recvfrom(async_io_t *io, void *buf, size_t len, size_t *n,
                                        struct sockaddr *from, unsigned *fromlen) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_recvfrom_until(async_io_t *io, void *buf, size_t len, size_t *n,
                                              struct sockaddr *from, unsigned *fromlen,
                                              uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Send `len` bytes as one datagram to `to` (sendto(2) with MSG_NOSIGNAL),
 * waiting while the socket cannot take it. A datagram goes whole or not at
 * all: on ASYNC_OK `*n` (always set; 0 on error; n may not be NULL) is
 * `len` (on a stream socket the call acts as async_write: a partial count is
 * possible). One larger than the socket allows (UDP: 65507 bytes over IPv4;
 * AF_UNIX: the send buffer) is ASYNC_EIO with errno EMSGSIZE, at once.
 * `to` NULL (with tolen 0) sends to the peer of a connected datagram socket,
 * as send(2) does; an unconnected one then fails with ASYNC_EIO, errno
 * EDESTADDRREQ (or ENOTCONN). `to` NULL with tolen != 0, or `to` non-NULL
 * with tolen 0, is ASYNC_EINVAL. A zero-length datagram (buf may be NULL) is
 * sent as such. Errors the network reports for earlier datagrams (e.g.
 * ECONNREFUSED on a connected UDP socket after an ICMP port unreachable)
 * surface as ASYNC_EIO from a later call, as with the OS calls. The common
 * rules at the top of this header apply. */
ASYNC_API async_status_t async_sendto(async_io_t *io, const void *buf, size_t len, size_t *n,
                                      const struct sockaddr *to, unsigned tolen) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_sendto_until(async_io_t *io, const void *buf, size_t len, size_t *n,
                                            const struct sockaddr *to, unsigned tolen,
                                            uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Wait until the io is readable (or at end of file, or in error) without
 * reading: for code that calls the OS itself. Readiness is edge-triggered
 * underneath, so a caller must read until the OS says EAGAIN before waiting
 * again, or the wait may not end. Always-ready ios return at once. */
ASYNC_API async_status_t async_io_wait_readable(async_io_t *io) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_io_wait_readable_until(async_io_t *io, uint64_t deadline_ns) ASYNC_NOEXCEPT;
/* The same for writability. */
ASYNC_API async_status_t async_io_wait_writable(async_io_t *io) ASYNC_NOEXCEPT;
ASYNC_API async_status_t async_io_wait_writable_until(async_io_t *io, uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Deregister from the poller, then close the fd. Fibers parked on the io are
 * woken with ASYNC_ECLOSED (in the order they began waiting). Usable from the
 * runtime's fibers and, outside fibers, from its owner thread. Returns
 * ASYNC_OK; ASYNC_EINVAL for a zeroed io or one closed already; ASYNC_EIO
 * when close(2) reported an error (the fd is closed all the same);
 * ASYNC_ESTATE from another thread. If the io's runtime was shut down first,
 * the io was detached from it then (calls returned ASYNC_EINVAL) and close
 * only closes the fd. */
ASYNC_API async_status_t async_io_close(async_io_t *io) ASYNC_NOEXCEPT;

/* Deregister the io without closing its fd, and hand the fd back in `*fd`
 * (still in non-blocking mode). Fibers parked on the io are woken with
 * ASYNC_ECLOSED, as by async_io_close; the io then counts as closed. Returns
 * ASYNC_OK; ASYNC_EINVAL for a NULL fd, a zeroed io or one closed already;
 * ASYNC_ESTATE from another thread. A detached io (its runtime was shut
 * down) hands its fd back too. */
ASYNC_API async_status_t async_io_release(async_io_t *io, int *fd) ASYNC_NOEXCEPT;

/* The errno of the io's last ASYNC_EIO, 0 if none; 0 for a NULL io. */
ASYNC_API int async_io_errno(const async_io_t *io) ASYNC_NOEXCEPT;

/* The io's fd, or -1 when it is not registered (zeroed or closed). */
ASYNC_API int async_io_fd(const async_io_t *io) ASYNC_NOEXCEPT;

/* ----------------------------------------------------- cross-thread wake-up */

/* Park the calling fiber until async_unpark() names it. An unpark is a token
 * that is kept: when it came first (while the fiber ran), the next park
 * returns at once and consumes it; several unparks before a park leave one
 * token. Parked fibers keep the runtime alive (async_runtime_run blocks the
 * thread in the poller, without spinning, until they are unparked).
 * Returns ASYNC_OK (unparked; a caller may see extra returns and must re-check
 * its own condition); ASYNC_ECANCELED; ASYNC_ESTATE outside a fiber. */
ASYNC_API async_status_t async_park(void) ASYNC_NOEXCEPT;

/* async_park with a deadline: also ASYNC_ETIMEDOUT. */
ASYNC_API async_status_t async_park_until_ns(uint64_t deadline_ns) ASYNC_NOEXCEPT;

/* Unpark the fiber `h`. Thread-safe: may be called from any thread, also one
 * that is running another runtime. Lock-free and allocation-free; it is not
 * promised to be async-signal-safe. Does not block on the runtime and never
 * runs a fiber. The runtime must stay initialised until the call returns.
 * Unparks of one fiber that arrive before its runtime takes them coalesce into
 * one token. An unpark of a fiber that has ended, or ends before the runtime
 * sees the unpark, is dropped.
 * Returns ASYNC_OK; ASYNC_EINVAL for a handle that names no fiber (zeroed, a
 * slot past the table, an id of an earlier runtime in the same struct, or its
 * runtime not initialised). */
ASYNC_API async_status_t async_unpark(async_fiber_handle_t h) ASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_IO_H */
