/* test_mongo_buffer.c — the bounded queue behind portprobe_mongodb:
 * order, the limit, oldest-first dropping, and batches in flight that fail,
 * succeed or succeed in part while the queue overflows. */

#include "mongo_buffer.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

enum { METRIC = 0, EVENT = 1 };

static int live_items;

/* Items are heap integers so that ASan and the live counter see leaks. */
static void *item(int v) {
  int *p = malloc(sizeof(*p));
  ck_assert_ptr_nonnull(p);
  *p = v;
  live_items++;
  return p;
}

static void free_item(void *p) {
  free(p);
  live_items--;
}

static int val(void *p) {
  return *(int *)p;
}

static mongo_buffer_t *make(size_t limit, size_t batch_max) {
  live_items = 0;
  mongo_buffer_t *b = mongo_buffer_create(limit, batch_max, free_item);
  ck_assert_ptr_nonnull(b);
  return b;
}

static void push_range(mongo_buffer_t *b, int from, int to, int kind) {
  for (int v = from; v <= to; v++)
    mongo_buffer_push(b, item(v), kind);
}

/* Takes and writes everything, checking the values come out as expected. */
static void drain_expect(mongo_buffer_t *b, const int *want, size_t n) {
  void *got[64];
  size_t seen = 0;
  size_t k;
  while ((k = mongo_buffer_take(b, got, 64, NULL)) > 0) {
    for (size_t i = 0; i < k; i++) {
      ck_assert_uint_lt(seen, n);
      ck_assert_int_eq(val(got[i]), want[seen]);
      seen++;
    }
    mongo_buffer_finish(b, k, 0);
  }
  ck_assert_uint_eq(seen, n);
}

START_TEST(create_rejects_zero_limits) {
  ck_assert_ptr_null(mongo_buffer_create(0, 1, free_item));
  ck_assert_ptr_null(mongo_buffer_create(1, 0, free_item));
  ck_assert_ptr_null(mongo_buffer_create(1, 1, NULL));
}
END_TEST

START_TEST(items_within_limit_come_out_in_order) {
  mongo_buffer_t *b = make(10, 4);
  push_range(b, 1, 10, METRIC);
  ck_assert_uint_eq(mongo_buffer_count(b), 10);
  ck_assert_uint_eq(mongo_buffer_dropped(b), 0);
  int want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  drain_expect(b, want, 10);
  ck_assert_uint_eq(mongo_buffer_written(b), 10);
  ck_assert_int_eq(live_items, 0);
  mongo_buffer_destroy(b);
}
END_TEST

START_TEST(full_buffer_drops_oldest_and_counts) {
  mongo_buffer_t *b = make(5, 5);
  push_range(b, 1, 5, METRIC);
  ck_assert_int_eq(mongo_buffer_push(b, item(6), METRIC), 1);
  ck_assert_int_eq(mongo_buffer_push(b, item(7), METRIC), 1);
  ck_assert_uint_eq(mongo_buffer_count(b), 5);
  ck_assert_uint_eq(mongo_buffer_dropped(b), 2);
  ck_assert_int_eq(live_items, 5);
  int want[] = {3, 4, 5, 6, 7};
  drain_expect(b, want, 5);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(batch_is_capped_by_max_and_batch_max) {
  mongo_buffer_t *b = make(20, 4);
  push_range(b, 1, 10, METRIC);
  void *got[16];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 16, NULL), 4);
  mongo_buffer_finish(b, 4, 0);
  ck_assert_uint_eq(mongo_buffer_take(b, got, 3, NULL), 3);
  ck_assert_int_eq(val(got[0]), 5);
  mongo_buffer_finish(b, 3, 0);
  ck_assert_uint_eq(mongo_buffer_count(b), 3);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(batch_never_mixes_kinds) {
  mongo_buffer_t *b = make(20, 10);
  push_range(b, 1, 3, METRIC);
  push_range(b, 4, 4, EVENT);
  push_range(b, 5, 6, METRIC);
  void *got[10];
  int kind = -1;
  ck_assert_uint_eq(mongo_buffer_take(b, got, 10, &kind), 3);
  ck_assert_int_eq(kind, METRIC);
  mongo_buffer_finish(b, 3, 0);
  ck_assert_uint_eq(mongo_buffer_take(b, got, 10, &kind), 1);
  ck_assert_int_eq(kind, EVENT);
  ck_assert_int_eq(val(got[0]), 4);
  mongo_buffer_finish(b, 1, 0);
  ck_assert_uint_eq(mongo_buffer_take(b, got, 10, &kind), 2);
  ck_assert_int_eq(kind, METRIC);
  mongo_buffer_finish(b, 2, 0);
  mongo_buffer_destroy(b);
}
END_TEST

START_TEST(second_take_while_in_flight_gets_nothing) {
  mongo_buffer_t *b = make(10, 2);
  push_range(b, 1, 5, METRIC);
  void *got[2];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 2, NULL), 2);
  ck_assert_uint_eq(mongo_buffer_take(b, got, 2, NULL), 0);
  mongo_buffer_finish(b, 0, 0);
  ck_assert_uint_eq(mongo_buffer_take(b, got, 2, NULL), 2);
  ck_assert_int_eq(val(got[0]), 1);
  mongo_buffer_finish(b, 0, 0);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(failed_attempt_keeps_batch_at_head_in_order) {
  mongo_buffer_t *b = make(10, 3);
  push_range(b, 1, 3, METRIC);
  void *got[3];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 3, NULL), 3);
  push_range(b, 4, 5, METRIC); /* arrive while the attempt fails */
  mongo_buffer_finish(b, 0, 0);
  ck_assert_uint_eq(mongo_buffer_count(b), 5);
  ck_assert_uint_eq(mongo_buffer_written(b), 0);
  int want[] = {1, 2, 3, 4, 5};
  drain_expect(b, want, 5);
  mongo_buffer_destroy(b);
}
END_TEST

START_TEST(partial_write_keeps_the_rest_in_order) {
  mongo_buffer_t *b = make(10, 4);
  push_range(b, 1, 6, METRIC);
  void *got[4];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 4, NULL), 4);
  mongo_buffer_finish(b, 2, 0);
  ck_assert_uint_eq(mongo_buffer_written(b), 2);
  int want[] = {3, 4, 5, 6};
  drain_expect(b, want, 4);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(rejected_items_are_counted_apart_from_dropped) {
  mongo_buffer_t *b = make(10, 4);
  push_range(b, 1, 4, METRIC);
  void *got[4];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 4, NULL), 4);
  mongo_buffer_finish(b, 1, 1); /* 1 stored, 2 refused, 3 and 4 retried */
  ck_assert_uint_eq(mongo_buffer_rejected(b), 1);
  ck_assert_uint_eq(mongo_buffer_dropped(b), 0);
  int want[] = {3, 4};
  drain_expect(b, want, 2);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(overflow_during_failed_attempt_drops_oldest_of_the_batch) {
  mongo_buffer_t *b = make(4, 3);
  push_range(b, 1, 4, METRIC);
  void *got[3];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 3, NULL), 3);
  push_range(b, 5, 6, METRIC); /* drops 1 and 2, which are in flight */
  ck_assert_uint_eq(mongo_buffer_dropped(b), 2);
  ck_assert_int_eq(val(got[0]), 1); /* still readable by the writer */
  mongo_buffer_finish(b, 0, 0);
  ck_assert_uint_eq(mongo_buffer_dropped(b), 2);
  ck_assert_int_eq(live_items, 4);
  int want[] = {3, 4, 5, 6};
  drain_expect(b, want, 4);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(overflow_during_successful_attempt_loses_nothing) {
  mongo_buffer_t *b = make(4, 3);
  push_range(b, 1, 4, METRIC);
  void *got[3];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 3, NULL), 3);
  push_range(b, 5, 6, METRIC);
  mongo_buffer_finish(b, 3, 0); /* the server took 1, 2, 3 after all */
  ck_assert_uint_eq(mongo_buffer_dropped(b), 0);
  ck_assert_uint_eq(mongo_buffer_written(b), 3);
  int want[] = {4, 5, 6};
  drain_expect(b, want, 3);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(overflow_beyond_whole_batch_drops_queued_items_next) {
  mongo_buffer_t *b = make(3, 2);
  push_range(b, 1, 3, METRIC);
  void *got[2];
  ck_assert_uint_eq(mongo_buffer_take(b, got, 2, NULL), 2);
  push_range(b, 4, 7, METRIC); /* cancels 1, 2; then frees 3, 4 */
  ck_assert_uint_eq(mongo_buffer_dropped(b), 4);
  mongo_buffer_finish(b, 1, 0); /* 1 was stored: not lost */
  ck_assert_uint_eq(mongo_buffer_dropped(b), 3);
  int want[] = {5, 6, 7};
  drain_expect(b, want, 3);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(limit_of_one_keeps_newest) {
  mongo_buffer_t *b = make(1, 1);
  push_range(b, 1, 3, METRIC);
  ck_assert_uint_eq(mongo_buffer_dropped(b), 2);
  int want[] = {3};
  drain_expect(b, want, 1);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(head_seq_tells_when_a_flush_is_done) {
  mongo_buffer_t *b = make(10, 2);
  ck_assert_uint_eq(mongo_buffer_head_seq(b), 0);
  push_range(b, 1, 3, METRIC);
  uint64_t target = mongo_buffer_next_seq(b);
  ck_assert_uint_eq(target, 3);
  push_range(b, 4, 4, METRIC); /* after the flush request */
  void *got[2];
  mongo_buffer_take(b, got, 2, NULL);
  mongo_buffer_finish(b, 2, 0);
  ck_assert_uint_lt(mongo_buffer_head_seq(b), target);
  mongo_buffer_take(b, got, 2, NULL);
  mongo_buffer_finish(b, 1, 0);
  ck_assert_uint_ge(mongo_buffer_head_seq(b), target);
  ck_assert_uint_eq(mongo_buffer_count(b), 1);
  mongo_buffer_destroy(b);
}
END_TEST

START_TEST(destroy_frees_queued_and_in_flight_items) {
  mongo_buffer_t *b = make(3, 2);
  push_range(b, 1, 3, METRIC);
  void *got[2];
  mongo_buffer_take(b, got, 2, NULL);
  push_range(b, 4, 4, METRIC); /* one cancelled item kept aside */
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

START_TEST(wraps_around_the_ring_many_times) {
  mongo_buffer_t *b = make(7, 3);
  void *got[3];
  int next_out = 1;
  for (int v = 1; v <= 1000; v++) {
    mongo_buffer_push(b, item(v), METRIC);
    if (v % 2 == 0) {
      size_t k = mongo_buffer_take(b, got, 3, NULL);
      for (size_t i = 0; i < k; i++)
        ck_assert_int_eq(val(got[i]), next_out++);
      mongo_buffer_finish(b, k, 0);
    }
  }
  ck_assert_uint_eq(mongo_buffer_dropped(b), 0);
  ck_assert_uint_eq(mongo_buffer_written(b) + mongo_buffer_count(b), 1000);
  mongo_buffer_destroy(b);
  ck_assert_int_eq(live_items, 0);
}
END_TEST

static Suite *buffer_suite(void) {
  Suite *s = suite_create("mongo_buffer");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, create_rejects_zero_limits);
  tcase_add_test(tc, items_within_limit_come_out_in_order);
  tcase_add_test(tc, full_buffer_drops_oldest_and_counts);
  tcase_add_test(tc, batch_is_capped_by_max_and_batch_max);
  tcase_add_test(tc, batch_never_mixes_kinds);
  tcase_add_test(tc, second_take_while_in_flight_gets_nothing);
  tcase_add_test(tc, failed_attempt_keeps_batch_at_head_in_order);
  tcase_add_test(tc, partial_write_keeps_the_rest_in_order);
  tcase_add_test(tc, rejected_items_are_counted_apart_from_dropped);
  tcase_add_test(tc, overflow_during_failed_attempt_drops_oldest_of_the_batch);
  tcase_add_test(tc, overflow_during_successful_attempt_loses_nothing);
  tcase_add_test(tc, overflow_beyond_whole_batch_drops_queued_items_next);
  tcase_add_test(tc, limit_of_one_keeps_newest);
  tcase_add_test(tc, head_seq_tells_when_a_flush_is_done);
  tcase_add_test(tc, destroy_frees_queued_and_in_flight_items);
  tcase_add_test(tc, wraps_around_the_ring_many_times);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(buffer_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
