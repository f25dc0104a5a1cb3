/* test_report_stats.c — what a portprobe-report row adds up (report/stats.c):
 * seconds up, down and unknown from samples, outages from state events,
 * percentiles from the histogram, and which location's row is the worst. */

#include "report.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400.0

static pr_window window(double from, double to) {
  pr_window w = {.from = from, .to = to, .ndays = 1};
  w.day_start[0] = from;
  w.day_start[1] = to;
  return w;
}

static pr_row *row(const pr_window *w) {
  pr_row *r = pr_row_new(w, "smtp", "lab1");
  ck_assert_ptr_nonnull(r);
  return r;
}

/* Samples at t = from, from + step, ... (< to) of value v, interval iv. */
static void samples(pr_avail *a, double from, double to, double step, double v,
                    double iv) {
  for (double t = from; t < to; t += step)
    pr_avail_sample(a, t, v, iv);
}

#define ck_secs(r, up, down, unknown)                                          \
  do {                                                                         \
    ck_assert_double_eq_tol((r)->total.s[PR_UP], (up), 1e-9);                  \
    ck_assert_double_eq_tol((r)->total.s[PR_DOWN], (down), 1e-9);              \
    ck_assert_double_eq_tol((r)->total.s[PR_UNKNOWN], (unknown), 1e-9);        \
  } while (0)

/* ------------------------------------------------------- availability */

START_TEST(steady_samples_cover_the_window) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 0, 100, 10, 1, 10);
  pr_avail_end(&a);
  ck_secs(r, 100, 0, 0);
  ck_assert_double_eq(pr_availability(&r->total), 100);
  ck_assert_uint_eq(r->samples, 10);
  pr_row_free(r);
}
END_TEST

START_TEST(down_samples_count_as_down_until_the_next_sample) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 0, 30, 10, 1, 10);
  samples(&a, 30, 60, 10, 0, 10); /* 30, 40, 50 down */
  samples(&a, 60, 100, 10, 1, 10);
  pr_avail_end(&a);
  ck_secs(r, 70, 30, 0);
  ck_assert_double_eq_tol(pr_availability(&r->total), 70, 1e-9);
  pr_row_free(r);
}
END_TEST

START_TEST(a_gap_of_more_than_two_intervals_is_unknown_after_one) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 0, 30, 10, 1, 10); /* 0, 10, 20; then nothing until 60 */
  samples(&a, 60, 100, 10, 1, 10);
  pr_avail_end(&a);
  ck_secs(r, 70, 0, 30); /* 20 + one interval = 30 .. 60 unknown */
  ck_assert_double_eq(pr_availability(&r->total), 100);
  pr_row_free(r);
}
END_TEST

START_TEST(a_gap_of_exactly_two_intervals_keeps_the_state) {
  pr_window w = window(0, 60);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  pr_avail_sample(&a, 0, 1, 10);
  pr_avail_sample(&a, 20, 0, 10);
  pr_avail_sample(&a, 40, 1, 10);
  pr_avail_sample(&a, 50, 1, 10);
  pr_avail_end(&a);
  ck_secs(r, 40, 20, 0);
  pr_row_free(r);
}
END_TEST

START_TEST(time_before_the_first_sample_is_unknown_never_up) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 25, 100, 5, 1, 5);
  pr_avail_end(&a);
  ck_secs(r, 75, 0, 25);
  pr_row_free(r);
}
END_TEST

START_TEST(the_end_of_the_window_after_a_silence_is_unknown) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 0, 80, 10, 0, 10); /* last at 70: 80 .. 100 unknown */
  pr_avail_end(&a);
  ck_secs(r, 0, 80, 20);
  ck_assert_double_eq(pr_availability(&r->total), 0);
  pr_row_free(r);
}
END_TEST

START_TEST(no_samples_is_no_data_not_full_availability) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  pr_avail_end(&a);
  ck_secs(r, 0, 0, 100);
  ck_assert(isnan(pr_availability(&r->total)));
  ck_assert_uint_eq(r->samples, 0);
  pr_row_free(r);
}
END_TEST

START_TEST(a_sample_before_the_window_covers_its_start) {
  pr_window w = window(100, 200);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  pr_avail_sample(&a, 95, 0, 10); /* the last one before the window */
  samples(&a, 105, 200, 10, 1, 10);
  pr_avail_end(&a);
  ck_secs(r, 95, 5, 0);
  ck_assert_uint_eq(r->samples, 10); /* the one before is not counted */
  pr_row_free(r);
}
END_TEST

START_TEST(an_unknown_value_is_unknown_time) {
  pr_window w = window(0, 30);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  pr_avail_sample(&a, 0, 1, 10);
  pr_avail_sample(&a, 10, NAN, 10);
  pr_avail_sample(&a, 20, 1, 10);
  pr_avail_end(&a);
  ck_secs(r, 20, 0, 10);
  pr_row_free(r);
}
END_TEST

START_TEST(without_an_interval_the_samples_tell_it) {
  pr_window w = window(0, 1000);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 0, 300, 30, 1, 0); /* 0 .. 270 every 30 s */
  samples(&a, 600, 1000, 30, 1, 0);
  pr_avail_end(&a);
  /* unknown from 270 + 30 to 600; the end: 990 + 10 */
  ck_secs(r, 700, 0, 300);
  pr_row_free(r);
}
END_TEST

START_TEST(a_given_interval_replaces_the_guess_not_the_documents_own) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 4);
  samples(&a, 0, 100, 10, 1, 0); /* 10 s apart: more than 2 x 4 s */
  pr_avail_end(&a);
  ck_secs(r, 40, 0, 60);
  pr_row_free(r);
  r = row(&w);
  pr_avail_begin(&a, r, 4);
  samples(&a, 0, 100, 10, 1, 10); /* the documents say 10 s */
  pr_avail_end(&a);
  ck_secs(r, 100, 0, 0);
  pr_row_free(r);
}
END_TEST

START_TEST(an_older_sample_after_a_newer_one_is_ignored) {
  pr_window w = window(0, 40);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  pr_avail_sample(&a, 0, 1, 10);
  pr_avail_sample(&a, 10, 1, 10);
  pr_avail_sample(&a, 5, 0, 10); /* a retried insert's duplicate */
  pr_avail_sample(&a, 20, 1, 10);
  pr_avail_sample(&a, 30, 1, 10);
  pr_avail_end(&a);
  ck_secs(r, 40, 0, 0);
  pr_row_free(r);
}
END_TEST

START_TEST(seconds_are_split_by_day_and_add_up_to_the_total) {
  pr_window w = {.from = 0, .to = 2 * DAY, .ndays = 2};
  w.day_start[0] = 0;
  w.day_start[1] = DAY;
  w.day_start[2] = 2 * DAY;
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 0, DAY - 3600, 60, 1, 60);
  samples(&a, DAY - 3600, DAY + 3600, 60, 0, 60); /* two hours down */
  samples(&a, DAY + 3600, 2 * DAY, 60, 1, 60);
  pr_avail_end(&a);
  ck_assert_double_eq_tol(r->days[0].s[PR_DOWN], 3600, 1e-6);
  ck_assert_double_eq_tol(r->days[1].s[PR_DOWN], 3600, 1e-6);
  ck_assert_double_eq_tol(r->days[0].s[PR_UP] + r->days[1].s[PR_UP],
                          r->total.s[PR_UP], 1e-6);
  double buckets = 0;
  for (size_t k = 0; k < PR_BUCKETS; k++)
    buckets += r->buckets[k].s[PR_DOWN];
  ck_assert_double_eq_tol(buckets, 7200, 1e-6);
  pr_row_free(r);
}
END_TEST

/* ------------------------------------------------------------ outages */

START_TEST(a_down_and_the_next_up_are_one_outage) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_outages o;
  pr_outages_begin(&o, r, "lab1");
  pr_outages_event(&o, 10, true, "smtp DOWN: refused");
  pr_outages_event(&o, 20, true, "again"); /* still the same outage */
  pr_outages_event(&o, 40, false, "UP again");
  pr_outages_event(&o, 50, false, "UP"); /* no outage open: nothing */
  pr_outages_end(&o);
  ck_assert_uint_eq(r->noutages, 1);
  ck_assert_double_eq(r->outages[0].start, 10);
  ck_assert_double_eq(r->outages[0].end, 40);
  ck_assert_double_eq(r->outages[0].duration, 30);
  ck_assert_str_eq(r->outages[0].message, "smtp DOWN: refused");
  ck_assert_str_eq(r->outages[0].location, "lab1");
  pr_row_free(r);
}
END_TEST

START_TEST(an_outage_still_open_at_the_end_is_ongoing) {
  pr_window w = window(0, 100);
  pr_row *r = row(&w);
  pr_outages o;
  pr_outages_begin(&o, r, "");
  pr_outages_event(&o, 70, true, "DOWN");
  pr_outages_end(&o);
  ck_assert_uint_eq(r->noutages, 1);
  ck_assert(r->outages[0].end < 0);
  ck_assert_double_eq(r->outages[0].duration, 30);
  pr_row_free(r);
}
END_TEST

START_TEST(an_outage_begun_before_the_window_counts_from_its_start) {
  pr_window w = window(100, 200);
  pr_row *r = row(&w);
  pr_outages o;
  pr_outages_begin(&o, r, "");
  pr_outages_event(&o, 50, true, "DOWN"); /* the last event before */
  pr_outages_event(&o, 120, false, "UP");
  pr_outages_end(&o);
  ck_assert_uint_eq(r->noutages, 1);
  ck_assert_double_eq(r->outages[0].start, 50);
  ck_assert_double_eq(r->outages[0].duration, 20);
  pr_row_free(r);
}
END_TEST

START_TEST(an_up_before_the_window_opens_nothing) {
  pr_window w = window(100, 200);
  pr_row *r = row(&w);
  pr_outages o;
  pr_outages_begin(&o, r, "");
  pr_outages_event(&o, 80, false, "UP");
  pr_outages_end(&o);
  ck_assert_uint_eq(r->noutages, 0);
  ck_assert(isnan(pr_mttr(r)) && isnan(pr_mtbf(r)));
  pr_row_free(r);
}
END_TEST

START_TEST(mttr_mtbf_and_the_longest_outage) {
  pr_window w = window(0, 200);
  pr_row *r = row(&w);
  pr_avail a;
  pr_avail_begin(&a, r, 0);
  samples(&a, 0, 200, 10, 1, 10); /* 200 s up, as samples tell */
  pr_avail_end(&a);
  pr_outages o;
  pr_outages_begin(&o, r, "");
  pr_outages_event(&o, 10, true, "DOWN");
  pr_outages_event(&o, 20, false, "UP");
  pr_outages_event(&o, 100, true, "DOWN");
  pr_outages_event(&o, 130, false, "UP");
  pr_outages_end(&o);
  ck_assert_uint_eq(r->noutages, 2);
  ck_assert_double_eq(pr_mttr(r), 20);
  ck_assert_double_eq(pr_mtbf(r), 100);
  ck_assert_double_eq(r->longest, 30);
  pr_row_free(r);
}
END_TEST

START_TEST(outages_beyond_the_list_are_still_counted) {
  pr_window w = window(0, 10 * PR_MAX_OUTAGES + 100);
  pr_row *r = row(&w);
  pr_outages o;
  pr_outages_begin(&o, r, "");
  for (int i = 0; i < PR_MAX_OUTAGES + 5; i++) {
    pr_outages_event(&o, 10.0 * i, true, "DOWN");
    pr_outages_event(&o, 10.0 * i + 1, false, "UP");
  }
  pr_outages_end(&o);
  ck_assert_uint_eq(r->noutages, PR_MAX_OUTAGES + 5);
  ck_assert_uint_eq(r->outages_listed, PR_MAX_OUTAGES);
  ck_assert_double_eq_tol(r->down_sum, PR_MAX_OUTAGES + 5, 1e-6);
  pr_row_free(r);
}
END_TEST

/* ------------------------------------------------------- percentiles */

START_TEST(percentiles_are_nearest_rank_within_one_percent) {
  pr_window w = window(0, 1000);
  pr_row *r = row(&w);
  for (int i = 1; i <= 1000; i++) /* 1 ms .. 1000 ms, shuffled order */
    pr_row_response(r, (i * 7919) % 1000, ((i * 7919) % 1000 + 1) / 1000.0);
  ck_assert_uint_eq(r->response.n, 1000);
  ck_assert_double_eq_tol(pr_dist_quantile(&r->response, 0.50), 0.500, 0.005);
  ck_assert_double_eq_tol(pr_dist_quantile(&r->response, 0.95), 0.950, 0.0095);
  ck_assert_double_eq_tol(pr_dist_quantile(&r->response, 0.99), 0.990, 0.0099);
  ck_assert_double_eq(r->response.max, 1.0);
  ck_assert_double_eq_tol(pr_dist_mean(&r->response), 0.5005, 1e-9);
  pr_row_free(r);
}
END_TEST

START_TEST(one_value_is_every_percentile) {
  pr_window w = window(0, 10);
  pr_row *r = row(&w);
  pr_row_response(r, 1, 0.0123);
  ck_assert_double_eq(pr_dist_quantile(&r->response, 0.50), 0.0123);
  ck_assert_double_eq(pr_dist_quantile(&r->response, 0.99), 0.0123);
  pr_row_free(r);
}
END_TEST

START_TEST(few_values_give_the_ranked_one) {
  pr_window w = window(0, 10);
  pr_row *r = row(&w);
  double v[] = {0.004, 0.001, 0.003, 0.002};
  for (size_t i = 0; i < 4; i++)
    pr_row_response(r, (double)i, v[i]);
  ck_assert_double_eq_tol(pr_dist_quantile(&r->response, 0.50), 0.002,
                          0.002 * 0.01);
  ck_assert_double_eq_tol(pr_dist_quantile(&r->response, 0.75), 0.003,
                          0.003 * 0.01);
  ck_assert_double_eq_tol(pr_dist_quantile(&r->response, 1.0), 0.004,
                          0.004 * 0.01);
  pr_row_free(r);
}
END_TEST

START_TEST(no_values_no_percentile_and_outside_the_window_ignored) {
  pr_window w = window(100, 200);
  pr_row *r = row(&w);
  pr_row_response(r, 50, 0.5);  /* before the window */
  pr_row_response(r, 200, 0.5); /* at its end: [from, to) */
  pr_row_response(r, 150, NAN);
  ck_assert_uint_eq(r->response.n, 0);
  ck_assert(isnan(pr_dist_quantile(&r->response, 0.5)));
  ck_assert(isnan(pr_dist_mean(&r->response)));
  pr_row_free(r);
}
END_TEST

START_TEST(a_distribution_without_bins_has_mean_and_max_only) {
  pr_dist d = {.min = INFINITY};
  pr_dist_add(&d, 10);
  pr_dist_add(&d, NAN);
  pr_dist_add(&d, 30);
  ck_assert_uint_eq(d.n, 2);
  ck_assert_double_eq(pr_dist_mean(&d), 20);
  ck_assert_double_eq(d.max, 30);
  ck_assert(isnan(pr_dist_quantile(&d, 0.5)));
}
END_TEST

/* ---------------------------------------------------- worst location */

static pr_row *with_secs(const pr_window *w, double up, double down,
                         double unknown) {
  pr_row *r = row(w);
  r->total.s[PR_UP] = up;
  r->total.s[PR_DOWN] = down;
  r->total.s[PR_UNKNOWN] = unknown;
  return r;
}

START_TEST(the_worst_location_is_the_least_available) {
  pr_window w = window(0, 100);
  pr_row *a = with_secs(&w, 90, 10, 0), *b = with_secs(&w, 40, 5, 55);
  /* b is down less but over less known time: 88.9 % < 90 % */
  ck_assert(pr_row_worse(b, a));
  ck_assert(!pr_row_worse(a, b));
  pr_row_free(a);
  pr_row_free(b);
}
END_TEST

START_TEST(nothing_known_is_never_worse_than_something_known) {
  pr_window w = window(0, 100);
  pr_row *a = with_secs(&w, 0, 0, 100), *b = with_secs(&w, 0, 100, 0);
  ck_assert(pr_row_worse(b, a));
  ck_assert(!pr_row_worse(a, b));
  pr_row_free(a);
  pr_row_free(b);
}
END_TEST

START_TEST(equal_availability_more_down_then_more_unknown_is_worse) {
  pr_window w = window(0, 100);
  pr_row *a = with_secs(&w, 50, 50, 0), *b = with_secs(&w, 40, 40, 20);
  ck_assert(pr_row_worse(a, b)); /* 50 % each: 50 s down against 40 s */
  pr_row *c = with_secs(&w, 100, 0, 0), *d = with_secs(&w, 90, 0, 10);
  ck_assert(pr_row_worse(d, c)); /* 100 % each: d knows less */
  ck_assert(!pr_row_worse(c, c));
  pr_row_free(a);
  pr_row_free(b);
  pr_row_free(c);
  pr_row_free(d);
}
END_TEST

static Suite *stats_suite(void) {
  Suite *s = suite_create("report_stats");
  TCase *tc = tcase_create("availability");
  tcase_add_test(tc, steady_samples_cover_the_window);
  tcase_add_test(tc, down_samples_count_as_down_until_the_next_sample);
  tcase_add_test(tc, a_gap_of_more_than_two_intervals_is_unknown_after_one);
  tcase_add_test(tc, a_gap_of_exactly_two_intervals_keeps_the_state);
  tcase_add_test(tc, time_before_the_first_sample_is_unknown_never_up);
  tcase_add_test(tc, the_end_of_the_window_after_a_silence_is_unknown);
  tcase_add_test(tc, no_samples_is_no_data_not_full_availability);
  tcase_add_test(tc, a_sample_before_the_window_covers_its_start);
  tcase_add_test(tc, an_unknown_value_is_unknown_time);
  tcase_add_test(tc, without_an_interval_the_samples_tell_it);
  tcase_add_test(tc, a_given_interval_replaces_the_guess_not_the_documents_own);
  tcase_add_test(tc, an_older_sample_after_a_newer_one_is_ignored);
  tcase_add_test(tc, seconds_are_split_by_day_and_add_up_to_the_total);
  suite_add_tcase(s, tc);
  tc = tcase_create("outages");
  tcase_add_test(tc, a_down_and_the_next_up_are_one_outage);
  tcase_add_test(tc, an_outage_still_open_at_the_end_is_ongoing);
  tcase_add_test(tc, an_outage_begun_before_the_window_counts_from_its_start);
  tcase_add_test(tc, an_up_before_the_window_opens_nothing);
  tcase_add_test(tc, mttr_mtbf_and_the_longest_outage);
  tcase_add_test(tc, outages_beyond_the_list_are_still_counted);
  suite_add_tcase(s, tc);
  tc = tcase_create("percentiles");
  tcase_add_test(tc, percentiles_are_nearest_rank_within_one_percent);
  tcase_add_test(tc, one_value_is_every_percentile);
  tcase_add_test(tc, few_values_give_the_ranked_one);
  tcase_add_test(tc, no_values_no_percentile_and_outside_the_window_ignored);
  tcase_add_test(tc, a_distribution_without_bins_has_mean_and_max_only);
  suite_add_tcase(s, tc);
  tc = tcase_create("locations");
  tcase_add_test(tc, the_worst_location_is_the_least_available);
  tcase_add_test(tc, nothing_known_is_never_worse_than_something_known);
  tcase_add_test(tc, equal_availability_more_down_then_more_unknown_is_worse);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(stats_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
