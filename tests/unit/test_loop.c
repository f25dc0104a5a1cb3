/* The event loop: timers fire in order, descriptors wake their callbacks,
 * and a descriptor closed in the same batch is not reported stale. */
#include "loop.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int order[16], norder;

static void record(pp_loop *l, pp_timer *t, void *ud) {
  (void)l;
  (void)t;
  order[norder++] = (int)(intptr_t)ud;
}

START_TEST(timers_fire_in_due_order) {
  pp_loop *l = pp_loop_new();
  pp_timer t[5];
  int delays_ms[5] = {30, 10, 50, 20, 40};
  norder = 0;
  for (int i = 0; i < 5; i++) {
    pp_timer_init(&t[i], record, (void *)(intptr_t)delays_ms[i]);
    pp_timer_start(l, &t[i], (uint64_t)delays_ms[i] * 1000);
  }
  while (pp_loop_timer_count(l) > 0)
    pp_loop_run_once(l, -1);
  ck_assert_int_eq(norder, 5);
  for (int i = 1; i < 5; i++)
    ck_assert_int_lt(order[i - 1], order[i]);
  pp_loop_free(l);
}
END_TEST

START_TEST(stopped_timer_does_not_fire) {
  pp_loop *l = pp_loop_new();
  pp_timer a, b;
  norder = 0;
  pp_timer_init(&a, record, (void *)1);
  pp_timer_init(&b, record, (void *)2);
  pp_timer_start(l, &a, 1000);
  pp_timer_start(l, &b, 2000);
  pp_timer_stop(l, &a);
  pp_timer_stop(l, &a); /* twice is harmless */
  while (pp_loop_timer_count(l) > 0)
    pp_loop_run_once(l, -1);
  ck_assert_int_eq(norder, 1);
  ck_assert_int_eq(order[0], 2);
  pp_loop_free(l);
}
END_TEST

START_TEST(timer_never_fires_early) {
  pp_loop *l = pp_loop_new();
  pp_timer a;
  norder = 0;
  pp_timer_init(&a, record, (void *)1);
  uint64_t start = pp_now_us();
  pp_timer_start(l, &a, 20000);
  while (norder == 0)
    pp_loop_run_once(l, -1);
  ck_assert_uint_ge(pp_now_us() - start, 20000);
  pp_loop_free(l);
}
END_TEST

static int reads;
static void on_read(pp_loop *l, int fd, unsigned ev, void *ud) {
  (void)l;
  (void)ud;
  char buf[8];
  if (ev & PP_EV_READ)
    reads += (int)read(fd, buf, sizeof(buf));
}

START_TEST(readable_descriptor_runs_callback) {
  pp_loop *l = pp_loop_new();
  int p[2];
  ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
  reads = 0;
  ck_assert_int_eq(pp_loop_watch(l, p[0], PP_EV_READ, on_read, NULL), 0);
  ck_assert_int_eq(write(p[1], "abc", 3), 3);
  pp_loop_run_once(l, 1000);
  ck_assert_int_eq(reads, 3);
  ck_assert_uint_eq(pp_loop_watch_count(l), 1);
  pp_loop_unwatch(l, p[0]);
  ck_assert_uint_eq(pp_loop_watch_count(l), 0);
  close(p[0]);
  close(p[1]);
  pp_loop_free(l);
}
END_TEST

/* Two pipes ready at once; the first callback closes the second pipe's
 * descriptor and opens a new one that reuses its number. The queued event
 * for the old descriptor must not reach the new one's callback. */
static int fds[2][2];
static int stale_calls;
static void on_second(pp_loop *l, int fd, unsigned ev, void *ud) {
  (void)l;
  (void)fd;
  (void)ev;
  (void)ud;
  stale_calls++;
}
static void on_first(pp_loop *l, int fd, unsigned ev, void *ud) {
  (void)ev;
  (void)ud;
  char c;
  if (read(fd, &c, 1) < 0)
    return;
  int victim = fds[1][0];
  pp_loop_unwatch(l, victim);
  close(victim);
  int again[2];
  ck_assert_int_eq(pipe2(again, O_NONBLOCK), 0);
  ck_assert_int_eq(again[0], victim); /* the number was reused */
  pp_loop_watch(l, again[0], PP_EV_READ, on_second, NULL);
  fds[1][0] = again[0];
  close(fds[1][1]);
  fds[1][1] = again[1];
  pp_loop_unwatch(l, fd);
}

START_TEST(stale_event_after_reuse_is_dropped) {
  pp_loop *l = pp_loop_new();
  ck_assert_int_eq(pipe2(fds[0], O_NONBLOCK), 0);
  ck_assert_int_eq(pipe2(fds[1], O_NONBLOCK), 0);
  stale_calls = 0;
  pp_loop_watch(l, fds[0][0], PP_EV_READ, on_first, NULL);
  pp_loop_watch(l, fds[1][0], PP_EV_READ, on_second, NULL);
  ck_assert_int_eq(write(fds[1][1], "x", 1), 1);
  ck_assert_int_eq(write(fds[0][1], "x", 1), 1);
  pp_loop_run_once(l, 1000);
  /* whichever ran first: the second callback ran at most for real data,
   * never for the closed pipe's event on the new, empty pipe */
  char c;
  ck_assert_int_eq((int)read(fds[1][0], &c, 1), -1);
  ck_assert_int_le(stale_calls, 1);
  for (int i = 0; i < 2; i++) {
    close(fds[i][0]);
    close(fds[i][1]);
  }
  pp_loop_free(l);
}
END_TEST

START_TEST(many_timers_keep_heap_order) {
  pp_loop *l = pp_loop_new();
  enum { N = 2000 };
  pp_timer *t = calloc(N, sizeof(*t));
  uint64_t base = pp_now_us() + 1000000;
  srand(7);
  for (int i = 0; i < N; i++) {
    pp_timer_init(&t[i], record, NULL);
    pp_timer_start_at(l, &t[i], base + (uint64_t)(rand() % 100000));
  }
  for (int i = 0; i < N; i += 3)
    pp_timer_stop(l, &t[i]);
  ck_assert_uint_eq(pp_loop_timer_count(l), N - (N + 2) / 3);
  for (int i = 0; i < N; i++)
    pp_timer_stop(l, &t[i]);
  ck_assert_uint_eq(pp_loop_timer_count(l), 0);
  free(t);
  pp_loop_free(l);
}
END_TEST

int main(void) {
  Suite *s = suite_create("loop");
  TCase *tc = tcase_create("loop");
  tcase_add_test(tc, timers_fire_in_due_order);
  tcase_add_test(tc, stopped_timer_does_not_fire);
  tcase_add_test(tc, timer_never_fires_early);
  tcase_add_test(tc, readable_descriptor_runs_callback);
  tcase_add_test(tc, stale_event_after_reuse_is_dropped);
  tcase_add_test(tc, many_timers_keep_heap_order);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
