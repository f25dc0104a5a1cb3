/* epoll loop with a binary min-heap of timers. Each epoll event carries the
 * descriptor and a generation number, so an event for a descriptor that was
 * closed and reused within one batch is recognised as stale and dropped. */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  pp_io_cb cb;
  void *ud;
  unsigned events;
  uint32_t gen;
  bool active;
} fd_slot;

struct pp_loop {
  int epfd;
  fd_slot *slots;
  size_t nslots;
  size_t nwatched;
  pp_timer **heap; /* 1-based */
  size_t heap_len, heap_cap;
};

uint64_t pp_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

pp_loop *pp_loop_new(void) {
  pp_loop *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return NULL;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (l->epfd < 0) {
    free(l);
    return NULL;
  }
  return l;
}

void pp_loop_free(pp_loop *l) {
  if (l == NULL)
    return;
  close(l->epfd);
  free(l->slots);
  free(l->heap);
  free(l);
}

static int grow_slots(pp_loop *l, int fd) {
  if ((size_t)fd < l->nslots)
    return 0;
  size_t n = l->nslots ? l->nslots : 64;
  while (n <= (size_t)fd)
    n *= 2;
  fd_slot *s = realloc(l->slots, n * sizeof(*s));
  if (s == NULL)
    return -1;
  memset(s + l->nslots, 0, (n - l->nslots) * sizeof(*s));
  l->slots = s;
  l->nslots = n;
  return 0;
}

int pp_loop_watch(pp_loop *l, int fd, unsigned events, pp_io_cb cb, void *ud) {
  if (fd < 0 || grow_slots(l, fd) != 0)
    return -1;
  fd_slot *s = &l->slots[fd];
  struct epoll_event ev = {0};
  ev.events = ((events & PP_EV_READ) ? EPOLLIN : 0u) |
              ((events & PP_EV_WRITE) ? EPOLLOUT : 0u);
  int op = s->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (!s->active)
    s->gen++;
  ev.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)s->gen << 32);
  if (epoll_ctl(l->epfd, op, fd, &ev) != 0)
    return -1;
  if (!s->active)
    l->nwatched++;
  s->cb = cb;
  s->ud = ud;
  s->events = events;
  s->active = true;
  return 0;
}

void pp_loop_unwatch(pp_loop *l, int fd) {
  if (fd < 0 || (size_t)fd >= l->nslots || !l->slots[fd].active)
    return;
  epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
  l->slots[fd].active = false;
  l->slots[fd].cb = NULL;
  l->nwatched--;
}

size_t pp_loop_watch_count(const pp_loop *l) {
  return l->nwatched;
}

size_t pp_loop_timer_count(const pp_loop *l) {
  return l->heap_len;
}

/* --- timers: binary min-heap on due_us, heap_index kept in each timer --- */

static void heap_set(pp_loop *l, size_t i, pp_timer *t) {
  l->heap[i] = t;
  t->heap_index = i;
}

static void sift_up(pp_loop *l, size_t i) {
  pp_timer *t = l->heap[i];
  while (i > 1 && l->heap[i / 2]->due_us > t->due_us) {
    heap_set(l, i, l->heap[i / 2]);
    i /= 2;
  }
  heap_set(l, i, t);
}

static void sift_down(pp_loop *l, size_t i) {
  pp_timer *t = l->heap[i];
  for (;;) {
    size_t c = 2 * i;
    if (c > l->heap_len)
      break;
    if (c + 1 <= l->heap_len && l->heap[c + 1]->due_us < l->heap[c]->due_us)
      c++;
    if (l->heap[c]->due_us >= t->due_us)
      break;
    heap_set(l, i, l->heap[c]);
    i = c;
  }
  heap_set(l, i, t);
}

void pp_timer_init(pp_timer *t, pp_timer_cb cb, void *ud) {
  t->due_us = 0;
  t->heap_index = 0;
  t->cb = cb;
  t->ud = ud;
}

void pp_timer_stop(pp_loop *l, pp_timer *t) {
  size_t i = t->heap_index;
  if (i == 0)
    return;
  pp_timer *last = l->heap[l->heap_len--];
  t->heap_index = 0;
  if (last == t)
    return;
  heap_set(l, i, last);
  sift_up(l, i);
  sift_down(l, last->heap_index);
}

int pp_timer_start_at(pp_loop *l, pp_timer *t, uint64_t due_us) {
  pp_timer_stop(l, t);
  if (l->heap_len + 1 >= l->heap_cap) {
    size_t cap = l->heap_cap ? l->heap_cap * 2 : 64;
    pp_timer **h = realloc(l->heap, cap * sizeof(*h));
    if (h == NULL)
      return -1;
    l->heap = h;
    l->heap_cap = cap;
  }
  t->due_us = due_us;
  l->heap_len++;
  heap_set(l, l->heap_len, t);
  sift_up(l, l->heap_len);
  return 0;
}

int pp_timer_start(pp_loop *l, pp_timer *t, uint64_t delay_us) {
  return pp_timer_start_at(l, t, pp_now_us() + delay_us);
}

static int run_timers(pp_loop *l) {
  int ran = 0;
  uint64_t now = pp_now_us();
  while (l->heap_len > 0 && l->heap[1]->due_us <= now) {
    pp_timer *t = l->heap[1];
    pp_timer_stop(l, t);
    t->cb(l, t, t->ud);
    ran++;
  }
  return ran;
}

#define MAX_EVENTS 256

int pp_loop_run_once(pp_loop *l, int max_wait_ms) {
  int wait = max_wait_ms;
  if (l->heap_len > 0) {
    uint64_t now = pp_now_us(), due = l->heap[1]->due_us;
    /* round up so that a timer is never polled for early */
    int until = due <= now ? 0 : (int)((due - now + 999) / 1000);
    if (wait < 0 || until < wait)
      wait = until;
  }
  struct epoll_event evs[MAX_EVENTS];
  int n = epoll_wait(l->epfd, evs, MAX_EVENTS, wait);
  if (n < 0) {
    if (errno != EINTR)
      return -1;
    n = 0;
  }
  int ran = 0;
  for (int i = 0; i < n; i++) {
    int fd = (int)(uint32_t)evs[i].data.u64;
    uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
    if ((size_t)fd >= l->nslots)
      continue;
    fd_slot *s = &l->slots[fd];
    if (!s->active || s->gen != gen)
      continue; /* unwatched (and maybe reused) earlier in this batch */
    unsigned e = 0;
    if (evs[i].events & EPOLLIN)
      e |= PP_EV_READ;
    if (evs[i].events & EPOLLOUT)
      e |= PP_EV_WRITE;
    if (evs[i].events & (EPOLLERR | EPOLLHUP))
      e |= PP_EV_ERROR;
    s->cb(l, fd, e, s->ud);
    ran++;
  }
  return ran + run_timers(l);
}
