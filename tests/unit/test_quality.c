/* The quality grade: loss, RTT and jitter over a sliding window, the worst
 * of the three, and hysteresis on the way back. */
#include "quality.h"

#include <check.h>

/* The option table's defaults: loss 5/15/30 %, rtt 100/250/500 ms, jitter
 * 30/60/100 ms. */
static pp_quality_limits defaults(void) {
  pp_opts o;
  pp_opts_init(&o);
  pp_quality_limits l;
  pp_quality_limits_from_opts(&l, &o);
  pp_opts_free(&o);
  return l;
}

/* A round: n echoes with RTT ms milliseconds, `lost` of them lost (first). */
static void add_round(pp_quality *q, int n, int lost, double ms) {
  for (int i = 0; i < n; i++)
    pp_quality_add(q, i < lost ? -1 : ms / 1000.0);
}

static pp_grade round_grade(pp_quality *q, int n, int lost, double ms) {
  pp_quality_limits l = defaults();
  add_round(q, n, lost, ms);
  return pp_quality_update(q, &l, NULL);
}

START_TEST(limits_come_from_options_in_seconds) {
  pp_quality_limits l = defaults();
  ck_assert_double_eq_tol(l.loss_pct[0], 5, 1e-9);
  ck_assert_double_eq_tol(l.loss_pct[2], 30, 1e-9);
  ck_assert_double_eq_tol(l.rtt[1], 0.250, 1e-9);
  ck_assert_double_eq_tol(l.jitter[2], 0.100, 1e-9);
}
END_TEST

START_TEST(empty_window_is_not_graded) {
  pp_quality q;
  pp_quality_init(&q, 20);
  pp_quality_limits l = defaults();
  ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_NONE);
  pp_quality_free(&q);
}
END_TEST

START_TEST(clean_path_is_good) {
  pp_quality q;
  pp_quality_init(&q, 20);
  ck_assert_int_eq(round_grade(&q, 5, 0, 0.4), PP_GRADE_GOOD);
  pp_quality_free(&q);
}
END_TEST

START_TEST(single_loss_in_first_round_of_five_stays_good) {
  pp_quality q;
  pp_quality_init(&q, 20);
  ck_assert_int_eq(round_grade(&q, 5, 1, 1), PP_GRADE_GOOD);
  pp_quality_stats s;
  pp_quality_measure(&q, &s);
  ck_assert_int_eq(s.lost, 1);
  ck_assert_double_eq_tol(s.loss_pct, 0, 1e-9);
  pp_quality_free(&q);
}
END_TEST

START_TEST(two_losses_in_first_round_count) {
  pp_quality q;
  pp_quality_init(&q, 20);
  /* 2 of 5: 40 % > loss_crit 30 % */
  ck_assert_int_eq(round_grade(&q, 5, 2, 1), PP_GRADE_CRITICAL);
  pp_quality_free(&q);
}
END_TEST

START_TEST(single_loss_in_full_window_is_its_share) {
  pp_quality q;
  pp_quality_init(&q, 20);
  for (int r = 0; r < 3; r++)
    round_grade(&q, 5, 0, 1);
  /* the window fills with this round: 1 of 20 = 5 %, not above 5 % */
  ck_assert_int_eq(round_grade(&q, 5, 1, 1), PP_GRADE_GOOD);
  pp_quality_stats s;
  pp_quality_measure(&q, &s);
  ck_assert_double_eq_tol(s.loss_pct, 5, 1e-9);
  pp_quality_free(&q);
}
END_TEST

START_TEST(loss_grades_follow_thresholds) {
  /* full windows of 20: 2 lost 10 % warning, 4 lost 20 % bad, 7 lost 35 %
     critical, 3 lost 15 % is not above 15 %: warning */
  int lost[] = {2, 3, 4, 6, 7};
  pp_grade want[] = {PP_GRADE_WARNING, PP_GRADE_WARNING, PP_GRADE_BAD,
                     PP_GRADE_BAD, PP_GRADE_CRITICAL};
  for (int i = 0; i < 5; i++) {
    pp_quality q;
    pp_quality_init(&q, 20);
    ck_assert_int_eq(round_grade(&q, 20, lost[i], 1), want[i]);
    pp_quality_free(&q);
  }
}
END_TEST

START_TEST(oldest_echo_leaves_full_window) {
  pp_quality q;
  pp_quality_init(&q, 4);
  pp_quality_add(&q, -1);
  pp_quality_add(&q, 0.001);
  pp_quality_add(&q, 0.001);
  pp_quality_add(&q, 0.001);
  pp_quality_stats s;
  pp_quality_measure(&q, &s);
  ck_assert_int_eq(s.lost, 1);
  pp_quality_add(&q, 0.001);
  pp_quality_measure(&q, &s);
  ck_assert_int_eq(s.echoes, 4);
  ck_assert_int_eq(s.lost, 0);
  pp_quality_free(&q);
}
END_TEST

START_TEST(average_rtt_grades_latency) {
  pp_quality q;
  pp_quality_init(&q, 20);
  ck_assert_int_eq(round_grade(&q, 5, 0, 120), PP_GRADE_WARNING);
  pp_quality_free(&q);
  pp_quality_init(&q, 20);
  ck_assert_int_eq(round_grade(&q, 5, 0, 300), PP_GRADE_BAD);
  pp_quality_free(&q);
  pp_quality_init(&q, 20);
  ck_assert_int_eq(round_grade(&q, 5, 0, 600), PP_GRADE_CRITICAL);
  pp_quality_free(&q);
}
END_TEST

START_TEST(jitter_is_mean_difference_of_consecutive_replies) {
  pp_quality q;
  pp_quality_init(&q, 20);
  double rtts[] = {0.010, 0.090, -1, 0.010, 0.090};
  for (int i = 0; i < 5; i++)
    pp_quality_add(&q, rtts[i]);
  pp_quality_stats s;
  pp_quality_measure(&q, &s);
  /* replies 10, 90, 10, 90 ms (the lost one skipped): |80| three times */
  ck_assert_double_eq_tol(s.jitter, 0.080, 1e-6);
  ck_assert_double_eq_tol(s.rtt_avg, 0.050, 1e-6);
  pp_quality_limits l = defaults();
  ck_assert_int_eq(pp_quality_judge(&s, &l, 1.0), PP_GRADE_BAD);
  pp_quality_free(&q);
}
END_TEST

START_TEST(one_reply_is_no_jitter) {
  pp_quality q;
  pp_quality_init(&q, 20);
  pp_quality_add(&q, 0.002);
  pp_quality_stats s;
  pp_quality_measure(&q, &s);
  ck_assert_double_eq_tol(s.jitter, -1, 1e-9);
  pp_quality_free(&q);
}
END_TEST

START_TEST(worst_metric_decides) {
  pp_quality_limits l = defaults();
  pp_quality_stats s = {20, 2, 10.0, 0.600, 0.010}; /* loss warn, rtt crit */
  ck_assert_int_eq(pp_quality_judge(&s, &l, 1.0), PP_GRADE_CRITICAL);
  pp_quality_stats t = {20, 0, 0.0, 0.010, 0.070}; /* jitter bad */
  ck_assert_int_eq(pp_quality_judge(&t, &l, 1.0), PP_GRADE_BAD);
}
END_TEST

START_TEST(every_echo_lost_is_critical) {
  pp_quality q;
  pp_quality_init(&q, 20);
  ck_assert_int_eq(round_grade(&q, 5, 5, 0), PP_GRADE_CRITICAL);
  pp_quality_free(&q);
}
END_TEST

START_TEST(one_reply_through_heavy_loss_is_not_good) {
  pp_quality q;
  pp_quality_init(&q, 20);
  ck_assert_int_eq(round_grade(&q, 5, 4, 1), PP_GRADE_CRITICAL);
  pp_quality_free(&q);
}
END_TEST

START_TEST(worsening_is_immediate) {
  pp_quality q;
  pp_quality_init(&q, 20);
  for (int r = 0; r < 4; r++)
    ck_assert_int_eq(round_grade(&q, 5, 0, 1), PP_GRADE_GOOD);
  /* 3 of 20 lost: 15 % */
  ck_assert_int_eq(round_grade(&q, 5, 3, 1), PP_GRADE_WARNING);
  pp_quality_free(&q);
}
END_TEST

START_TEST(improving_just_below_threshold_waits_calm_rounds) {
  pp_quality q;
  pp_quality_init(&q, 10);
  pp_quality_limits l = defaults();
  add_round(&q, 10, 0, 110); /* 110 ms: warning */
  ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_WARNING);
  /* 95 ms: below 100 but not below 80 (the margin): held for
     PP_QUALITY_CALM_ROUNDS rounds */
  for (int r = 1; r < PP_QUALITY_CALM_ROUNDS; r++) {
    add_round(&q, 10, 0, 95);
    ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_WARNING);
  }
  add_round(&q, 10, 0, 95);
  ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_GOOD);
  pp_quality_free(&q);
}
END_TEST

START_TEST(improving_clearly_below_threshold_is_immediate) {
  pp_quality q;
  pp_quality_init(&q, 10);
  pp_quality_limits l = defaults();
  add_round(&q, 10, 0, 110);
  ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_WARNING);
  add_round(&q, 10, 0, 70); /* below 80 % of 100 ms */
  ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_GOOD);
  pp_quality_free(&q);
}
END_TEST

START_TEST(improvement_stops_at_the_grade_the_margin_allows) {
  pp_quality q;
  pp_quality_init(&q, 10);
  pp_quality_limits l = defaults();
  add_round(&q, 10, 0, 600);
  ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_CRITICAL);
  /* 95 ms: plainly good, but within the margin of warning (80..100) */
  add_round(&q, 10, 0, 95);
  ck_assert_int_eq(pp_quality_update(&q, &l, NULL), PP_GRADE_WARNING);
  pp_quality_free(&q);
}
END_TEST

START_TEST(hovering_around_threshold_does_not_flap) {
  pp_quality q;
  pp_quality_init(&q, 10);
  pp_quality_limits l = defaults();
  double ms[] = {105, 95, 105, 95, 105, 95, 105, 95};
  int changes = 0;
  pp_grade prev = PP_GRADE_NONE;
  for (int r = 0; r < 8; r++) {
    add_round(&q, 10, 0, ms[r]);
    pp_grade g = pp_quality_update(&q, &l, NULL);
    if (r > 0 && g != prev)
      changes++;
    prev = g;
  }
  ck_assert_int_eq(prev, PP_GRADE_WARNING);
  ck_assert_int_eq(changes, 0);
  pp_quality_free(&q);
}
END_TEST

START_TEST(recovery_after_outage_follows_window) {
  pp_quality q;
  pp_quality_init(&q, 20);
  for (int r = 0; r < 4; r++)
    round_grade(&q, 5, 5, 0);
  ck_assert_int_eq(q.grade, PP_GRADE_CRITICAL);
  /* clean rounds push the losses out: 15 lost, 10, 5, 0 */
  pp_grade g1 = round_grade(&q, 5, 0, 1);
  pp_grade g4 = g1;
  for (int r = 0; r < 3; r++)
    g4 = round_grade(&q, 5, 0, 1);
  ck_assert_int_eq(g1, PP_GRADE_CRITICAL);
  ck_assert_int_eq(g4, PP_GRADE_GOOD);
  pp_quality_free(&q);
}
END_TEST

int main(void) {
  Suite *s = suite_create("quality");
  TCase *tc = tcase_create("quality");
  tcase_add_test(tc, limits_come_from_options_in_seconds);
  tcase_add_test(tc, empty_window_is_not_graded);
  tcase_add_test(tc, clean_path_is_good);
  tcase_add_test(tc, single_loss_in_first_round_of_five_stays_good);
  tcase_add_test(tc, two_losses_in_first_round_count);
  tcase_add_test(tc, single_loss_in_full_window_is_its_share);
  tcase_add_test(tc, loss_grades_follow_thresholds);
  tcase_add_test(tc, oldest_echo_leaves_full_window);
  tcase_add_test(tc, average_rtt_grades_latency);
  tcase_add_test(tc, jitter_is_mean_difference_of_consecutive_replies);
  tcase_add_test(tc, one_reply_is_no_jitter);
  tcase_add_test(tc, worst_metric_decides);
  tcase_add_test(tc, every_echo_lost_is_critical);
  tcase_add_test(tc, one_reply_through_heavy_loss_is_not_good);
  tcase_add_test(tc, worsening_is_immediate);
  tcase_add_test(tc, improving_just_below_threshold_waits_calm_rounds);
  tcase_add_test(tc, improving_clearly_below_threshold_is_immediate);
  tcase_add_test(tc, improvement_stops_at_the_grade_the_margin_allows);
  tcase_add_test(tc, hovering_around_threshold_does_not_flap);
  tcase_add_test(tc, recovery_after_outage_follows_window);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
