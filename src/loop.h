/* A small epoll event loop: descriptor events and timers. Timers live inside
 * the caller's structures (no allocation per timer); descriptors map to
 * callbacks through a table indexed by fd. Not thread-safe: one loop per
 * engine, one thread per engine. */
#ifndef PP_LOOP_H
#define PP_LOOP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pp_loop pp_loop;

enum { PP_EV_READ = 1, PP_EV_WRITE = 2, PP_EV_ERROR = 4 };

typedef void (*pp_io_cb)(pp_loop *loop, int fd, unsigned events, void *ud);

typedef struct pp_timer pp_timer;
typedef void (*pp_timer_cb)(pp_loop *loop, pp_timer *timer, void *ud);

struct pp_timer {
  uint64_t due_us;
  size_t heap_index; /* 0: not armed */
  pp_timer_cb cb;
  void *ud;
};

pp_loop *pp_loop_new(void);
void pp_loop_free(pp_loop *loop);

/* Monotonic clock in microseconds. */
uint64_t pp_now_us(void);

/* Watches fd for events (PP_EV_READ | PP_EV_WRITE), or changes what is
 * watched. The callback gets PP_EV_ERROR with hang-ups and errors. */
int pp_loop_watch(pp_loop *loop, int fd, unsigned events, pp_io_cb cb,
                  void *ud);
/* Stops watching fd. Call before close(fd). Pending events are dropped. */
void pp_loop_unwatch(pp_loop *loop, int fd);

void pp_timer_init(pp_timer *t, pp_timer_cb cb, void *ud);
/* Arms (or re-arms) t to fire once after delay_us. */
int pp_timer_start(pp_loop *loop, pp_timer *t, uint64_t delay_us);
int pp_timer_start_at(pp_loop *loop, pp_timer *t, uint64_t due_us);
void pp_timer_stop(pp_loop *loop, pp_timer *t);

/* Waits at most max_wait_ms (-1: until a timer or event) and runs what is
 * ready. Returns the number of callbacks run, or -1 on a loop error. */
int pp_loop_run_once(pp_loop *loop, int max_wait_ms);

/* Descriptors and timers currently registered. */
size_t pp_loop_watch_count(const pp_loop *loop);
size_t pp_loop_timer_count(const pp_loop *loop);

#endif
