/* SPDX-License-Identifier: MIT */
/* kqueue_shim.c: kqueue() and kevent() over epoll, test-only, so that the
 * kqueue backend runs on Linux (docs/low_level.md, kqueue without macOS). It implements what
 * src/io/backend_kqueue.cpp uses and a little around it: EVFILT_READ,
 * EVFILT_WRITE and EVFILT_USER; EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE,
 * EV_CLEAR, EV_ONESHOT, EV_DISPATCH, EV_RECEIPT; EV_EOF and EV_ERROR. It is
 * not libkqueue and proves nothing about a real kernel (docs/platforms.md).
 *
 * Model: a kqueue is an epoll fd, so close(2) ends it. Knotes are kept here,
 * keyed by (ident, filter). An fd's epoll
 * interest is the union of its enabled READ/WRITE knotes; EV_CLEAR is
 * EPOLLET. Ready knotes go on an active queue, in the order they became
 * ready, and are delivered from it, so nothing is lost when the caller's
 * event list is short. One mutex guards everything, and it is dropped while
 * a thread sleeps in epoll_wait, so another thread can trigger an EVFILT_USER
 * knote. The trigger wakes the sleeper through one eventfd that every kqueue
 * watches, edge-triggered and never drained (each write is an edge for all of
 * them; a woken kqueue with nothing to report waits again). One shared fd,
 * opened when the program starts, because nothing tells the shim when a
 * kqueue is closed: a per-kqueue eventfd would outlive it, and the I/O tests
 * count open fds.
 *
 * Differences from a real kqueue that the backend does not meet:
 * - Regular files and directories are refused (EPERM, epoll's answer); a
 *   real kqueue accepts them as always ready.
 * - An fd's READ and WRITE knotes must agree on EV_CLEAR (else ENOTSUP):
 *   epoll has one trigger mode per fd.
 * - Closing a watched fd does not drop its knotes here (epoll forgets it,
 *   the shim does not know); EV_DELETE first, as the backend does. A later
 *   EV_ADD on the same number starts afresh.
 * - EV_EOF's fflags is EIO for any pending error (EPOLLERR): reading the real
 *   one (SO_ERROR) would clear it before the caller's own read or write.
 * - data is FIONREAD for reads (0 where that fails, e.g. for a listening
 *   socket, whose backlog a real kqueue reports), 0 for writes.
 * - Closing a kqueue leaves its bookkeeping (memory, no fd) until kqueue()
 *   hands out the same number again. Do not close one while a thread waits
 *   in it.
 * - A trigger on one kqueue wakes threads waiting in any other (they wait
 *   again), and edges are epoll's: a direction that did not change may be
 *   reported again along with one that did. Both are spurious wake-ups,
 *   which the backend tolerates; a kqueue does not send them. */
#define _GNU_SOURCE
#include <sys/event.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Flags a knote keeps and echoes back in its events. */
#define SHIM_KEPT_FLAGS (EV_ADD | EV_CLEAR | EV_ONESHOT | EV_DISPATCH)
/* epoll_event.data for the eventfd; fds use their own number. */
#define SHIM_WAKE_TAG UINT64_MAX

struct knote {
  struct knote *next;          /* all knotes of the kqueue */
  struct knote *anext, *aprev; /* the active queue, while queued */
  int queued;                  /* on the active queue */
  uintptr_t ident;
  int16_t filter;
  uint16_t flags;  /* SHIM_KEPT_FLAGS given at EV_ADD */
  int enabled;
  void *udata;
  uint16_t rflags;  /* EV_EOF to report with the next delivery */
  uint32_t rfflags; /* errno to report with EV_EOF */
  int triggered;    /* EVFILT_USER: NOTE_TRIGGER seen, not yet cleared */
  uint32_t ufflags; /* EVFILT_USER: the user's fflags */
};

struct shim_kq {
  int epfd;
  struct knote *knotes;
  struct knote *ahead, *atail; /* active queue */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_kq **g_table; /* by kqueue fd */
static int g_table_len;
static int g_wake_fd = -1; /* the shared eventfd */

__attribute__((constructor)) static void open_wake_fd(void) {
  g_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

static struct knote *find(struct shim_kq *q, uintptr_t ident, int16_t filter) {
  for (struct knote *k = q->knotes; k; k = k->next)
    if (k->ident == ident && k->filter == filter) return k;
  return NULL;
}

static void enqueue(struct shim_kq *q, struct knote *k) {
  if (k->queued) return;
  k->queued = 1;
  k->anext = NULL;
  k->aprev = q->atail;
  if (q->atail)
    q->atail->anext = k;
  else
    q->ahead = k;
  q->atail = k;
}

static void dequeue(struct shim_kq *q, struct knote *k) {
  if (!k->queued) return;
  if (k->aprev)
    k->aprev->anext = k->anext;
  else
    q->ahead = k->anext;
  if (k->anext)
    k->anext->aprev = k->aprev;
  else
    q->atail = k->aprev;
  k->queued = 0;
  k->rflags = 0;
  k->rfflags = 0;
}

static void drop(struct shim_kq *q, struct knote *k) {
  dequeue(q, k);
  for (struct knote **p = &q->knotes; *p; p = &(*p)->next) {
    if (*p == k) {
      *p = k->next;
      break;
    }
  }
  free(k);
}

static void free_kq(struct shim_kq *q) {
  while (q->knotes) drop(q, q->knotes);
  free(q);
}

static void wake(struct shim_kq *q) {
  (void)q; /* every kqueue wakes: see the top of the file */
  uint64_t v = 1;
  ssize_t r;
  do r = write(g_wake_fd, &v, sizeof v);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EAGAIN) { /* the counter is full (after 2^64 - 2 wakes) */
    if (read(g_wake_fd, &v, sizeof v) < 0) v = 0;
    v = 1;
    if (write(g_wake_fd, &v, sizeof v) < 0) v = 0;
  }
}

/* Makes fd's epoll interest the union of its enabled READ/WRITE knotes.
 * Returns 0 or an errno. */
static int sync_fd(struct shim_kq *q, int fd) {
  struct knote *r = find(q, (uintptr_t)fd, EVFILT_READ);
  struct knote *w = find(q, (uintptr_t)fd, EVFILT_WRITE);
  struct epoll_event e;
  memset(&e, 0, sizeof e);
  int clear = 0;
  if (r && r->enabled) {
    e.events |= EPOLLIN | EPOLLRDHUP;
    clear = (r->flags & EV_CLEAR) != 0;
  }
  if (w && w->enabled) {
    e.events |= EPOLLOUT;
    clear = (w->flags & EV_CLEAR) != 0;
  }
  if (e.events == 0) {
    if (epoll_ctl(q->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT) return errno;
    return 0;
  }
  if (clear) e.events |= EPOLLET;
  e.data.u64 = (uint64_t)fd;
  /* MOD re-arms: an fd already ready reports again, like EV_ENABLE. */
  if (epoll_ctl(q->epfd, EPOLL_CTL_MOD, fd, &e) == 0) return 0;
  if (errno == ENOENT && epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &e) == 0) return 0;
  return errno;
}

static void set_enabled(struct shim_kq *q, struct knote *k, int on) {
  k->enabled = on;
  if (!on) dequeue(q, k);
  if (on && k->filter == EVFILT_USER && k->triggered) {
    enqueue(q, k);
    wake(q);
  }
}

static int apply_fd(struct shim_kq *q, const struct kevent *ch) {
  if (ch->ident > (uintptr_t)INT_MAX) return EBADF;
  int fd = (int)ch->ident;
  struct knote *k = find(q, ch->ident, ch->filter);
  if (fcntl(fd, F_GETFD) < 0) {
    /* A real kqueue dropped the knotes when the fd was closed. */
    if (k) drop(q, k);
    return EBADF;
  }
  if (ch->flags & EV_DELETE) {
    if (!k) return ENOENT;
    drop(q, k);
    return sync_fd(q, fd);
  }
  int created = 0;
  if (ch->flags & EV_ADD) {
    int16_t other_filter = ch->filter == EVFILT_READ ? EVFILT_WRITE : EVFILT_READ;
    struct knote *other = find(q, ch->ident, other_filter);
    if (other && ((other->flags ^ ch->flags) & EV_CLEAR)) return ENOTSUP;
    if (!k) {
      k = calloc(1, sizeof *k);
      if (!k) return ENOMEM;
      k->ident = ch->ident;
      k->filter = ch->filter;
      k->enabled = 1;
      k->next = q->knotes;
      q->knotes = k;
      created = 1;
    }
    k->flags = ch->flags & SHIM_KEPT_FLAGS;
    k->udata = ch->udata;
  } else if (!k) {
    return ENOENT;
  }
  if (ch->flags & EV_DISABLE)
    set_enabled(q, k, 0);
  else if (ch->flags & EV_ENABLE)
    set_enabled(q, k, 1);
  int err = sync_fd(q, fd);
  if (err && created) drop(q, k);
  return err;
}

static int apply_user(struct shim_kq *q, const struct kevent *ch) {
  struct knote *k = find(q, ch->ident, EVFILT_USER);
  if (ch->flags & EV_DELETE) {
    if (!k) return ENOENT;
    drop(q, k);
    return 0;
  }
  if (ch->flags & EV_ADD) {
    if (!k) {
      k = calloc(1, sizeof *k);
      if (!k) return ENOMEM;
      k->ident = ch->ident;
      k->filter = EVFILT_USER;
      k->enabled = 1;
      k->next = q->knotes;
      q->knotes = k;
    }
    k->flags = ch->flags & SHIM_KEPT_FLAGS;
    k->udata = ch->udata;
  } else if (!k) {
    return ENOENT;
  }
  uint32_t ff = ch->fflags & NOTE_FFLAGSMASK;
  switch (ch->fflags & NOTE_FFCTRLMASK) {
    case NOTE_FFAND: k->ufflags &= ff; break;
    case NOTE_FFOR: k->ufflags |= ff; break;
    case NOTE_FFCOPY: k->ufflags = ff; break;
    default: break; /* NOTE_FFNOP */
  }
  if (ch->flags & EV_DISABLE)
    set_enabled(q, k, 0);
  else if (ch->flags & EV_ENABLE)
    set_enabled(q, k, 1);
  if (ch->fflags & NOTE_TRIGGER) {
    k->triggered = 1;
    if (k->enabled) {
      enqueue(q, k);
      wake(q);
    }
  }
  return 0;
}

static int apply(struct shim_kq *q, const struct kevent *ch) {
  switch (ch->filter) {
    case EVFILT_READ:
    case EVFILT_WRITE: return apply_fd(q, ch);
    case EVFILT_USER: return apply_user(q, ch);
    default: return EINVAL;
  }
}

static void activate(struct shim_kq *q, struct knote *k, int eof, int err) {
  if (!k || !k->enabled) return;
  if (eof) k->rflags |= EV_EOF;
  if (err) k->rfflags = EIO;
  enqueue(q, k);
}

static void translate(struct shim_kq *q, const struct epoll_event *e) {
  /* The wake fd: never drained (its edges are shared by every kqueue);
   * triggered knotes were queued by the trigger itself. */
  if (e->data.u64 == SHIM_WAKE_TAG) return;
  uintptr_t fd = (uintptr_t)e->data.u64;
  uint32_t m = e->events;
  int err = (m & EPOLLERR) != 0;
  if (m & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    activate(q, find(q, fd, EVFILT_READ), (m & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0, err);
  if (m & (EPOLLOUT | EPOLLHUP | EPOLLERR))
    activate(q, find(q, fd, EVFILT_WRITE), (m & (EPOLLHUP | EPOLLERR)) != 0, err);
}

/* Moves up to `max` active knotes into `out`, applying EV_CLEAR (user),
 * EV_ONESHOT and EV_DISPATCH. Level-triggered user knotes stay active. */
static int deliver(struct shim_kq *q, struct kevent *out, int max) {
  int n = 0;
  struct knote *again = NULL; /* level user knotes, re-queued afterwards */
  while (n < max && q->ahead) {
    struct knote *k = q->ahead;
    struct kevent *ev = &out[n++];
    intptr_t data = 0;
    uint32_t fflags = k->rfflags;
    if (k->filter == EVFILT_READ) {
      int avail = 0;
      if (ioctl((int)k->ident, FIONREAD, &avail) == 0) data = avail;
    } else if (k->filter == EVFILT_USER) {
      fflags = k->ufflags;
    }
    EV_SET(ev, k->ident, k->filter, k->flags | k->rflags, fflags, data, k->udata);
    dequeue(q, k);
    if (k->flags & EV_ONESHOT) {
      int fd_filter = k->filter != EVFILT_USER;
      int fd = (int)k->ident;
      drop(q, k);
      if (fd_filter) (void)sync_fd(q, fd);
      continue;
    }
    if (k->flags & EV_DISPATCH) {
      set_enabled(q, k, 0);
      if (k->filter != EVFILT_USER) (void)sync_fd(q, (int)k->ident);
    }
    if (k->filter == EVFILT_USER) {
      if (k->flags & EV_CLEAR) {
        k->triggered = 0;
        k->ufflags = 0;
      } else if (k->enabled) {
        k->anext = again; /* borrowed as a plain list until re-queued */
        again = k;
      }
    }
  }
  while (again) {
    struct knote *k = again;
    again = k->anext;
    enqueue(q, k);
  }
  return n;
}

static struct shim_kq *lookup(int kq) {
  if (kq < 0 || kq >= g_table_len) return NULL;
  return g_table[kq];
}

int kqueue(void) {
  struct shim_kq *q = calloc(1, sizeof *q);
  if (!q) {
    errno = ENOMEM;
    return -1;
  }
  q->epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e;
  memset(&e, 0, sizeof e);
  e.events = EPOLLIN | EPOLLET;
  e.data.u64 = SHIM_WAKE_TAG;
  if (q->epfd < 0 || g_wake_fd < 0 || epoll_ctl(q->epfd, EPOLL_CTL_ADD, g_wake_fd, &e) < 0) {
    int saved = g_wake_fd < 0 ? EMFILE : errno;
    if (q->epfd >= 0) close(q->epfd);
    free(q);
    errno = saved;
    return -1;
  }
  pthread_mutex_lock(&g_lock);
  if (q->epfd >= g_table_len) {
    int len = g_table_len ? g_table_len : 16;
    while (len <= q->epfd) len *= 2;
    struct shim_kq **t = realloc(g_table, (size_t)len * sizeof *t);
    if (!t) {
      pthread_mutex_unlock(&g_lock);
      close(q->epfd);
      free_kq(q);
      errno = ENOMEM;
      return -1;
    }
    memset(t + g_table_len, 0, (size_t)(len - g_table_len) * sizeof *t);
    g_table = t;
    g_table_len = len;
  }
  /* The number was a kqueue before, closed since: forget that one. */
  if (g_table[q->epfd]) free_kq(g_table[q->epfd]);
  g_table[q->epfd] = q;
  pthread_mutex_unlock(&g_lock);
  return q->epfd;
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int kevent(int kq, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout) {
  if (nchanges < 0 || nevents < 0 ||
      (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000))) {
    errno = EINVAL;
    return -1;
  }
  pthread_mutex_lock(&g_lock);
  struct shim_kq *q = lookup(kq);
  if (!q) {
    pthread_mutex_unlock(&g_lock);
    errno = EBADF;
    return -1;
  }
  int n = 0;
  for (int i = 0; i < nchanges; ++i) {
    struct kevent ch = changelist[i];
    int err = apply(q, &ch);
    if (err == 0 && !(ch.flags & EV_RECEIPT)) continue;
    if (n < nevents) {
      eventlist[n] = ch;
      eventlist[n].flags = (uint16_t)(ch.flags | EV_ERROR);
      eventlist[n].data = err;
      ++n;
    } else if (err) {
      pthread_mutex_unlock(&g_lock);
      errno = err;
      return -1;
    }
  }
  if (n > 0 || nevents == 0) {
    pthread_mutex_unlock(&g_lock);
    return n;
  }

  int64_t deadline = 0;
  if (timeout) deadline = now_ns() + (int64_t)timeout->tv_sec * 1000000000 + timeout->tv_nsec;
  for (;;) {
    /* Always look at epoll, even with knotes already active (a triggered
     * EVFILT_USER), so that one call reports everything that is ready. */
    int ms = -1;
    if (q->ahead) {
      ms = 0;
    } else if (timeout) {
      int64_t left = deadline - now_ns();
      if (left < 0) left = 0;
      /* Round up: a wait that ends early only spins. */
      int64_t left_ms = (left + 999999) / 1000000;
      ms = left_ms > INT_MAX ? INT_MAX : (int)left_ms;
    }
    pthread_mutex_unlock(&g_lock);
    struct epoll_event buf[64];
    int r = epoll_wait(q->epfd, buf, 64, ms);
    int saved = errno;
    pthread_mutex_lock(&g_lock);
    if (r < 0) {
      pthread_mutex_unlock(&g_lock);
      errno = saved;
      return -1;
    }
    for (int i = 0; i < r; ++i) translate(q, &buf[i]);
    n = deliver(q, eventlist, nevents);
    if (n > 0 || (timeout && (r == 0 || now_ns() >= deadline))) break;
  }
  pthread_mutex_unlock(&g_lock);
  return n;
}
