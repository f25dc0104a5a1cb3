/* test_report_time.c — portprobe-report's times (report/timefmt.c): ISO 8601
 * in and out, durations, and the window's days in the report's time zone,
 * daylight saving included. Zones are POSIX TZ rules, which need no tzdata. */

#include "timefmt.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UTC "UTC0"
#define BERLIN "CET-1CEST,M3.5.0,M10.5.0/3"
#define NOON_UTC 1790856000.0 /* 2026-10-01T12:00:00Z */
#define DAY 86400.0
#define OCT25_BERLIN 1792879200.0 /* 2026-10-25T00:00+02:00, DST ends */

static void zone(const char *tz) {
  setenv("TZ", tz, 1);
  tzset();
}

static double parsed(const char *s) {
  double t = -1;
  ck_assert_msg(pr_parse_time(s, &t) == 0, "\"%s\" was refused", s);
  return t;
}

START_TEST(zulu_and_offsets_give_the_same_instant) {
  zone(BERLIN); /* a zone in the text wins over the report's */
  ck_assert_double_eq(parsed("2026-10-01T12:00:00Z"), NOON_UTC);
  ck_assert_double_eq(parsed("2026-10-01T14:00:00+02:00"), NOON_UTC);
  ck_assert_double_eq(parsed("2026-10-01T17:30+0530"), NOON_UTC);
  ck_assert_double_eq(parsed("2026-10-01T07:00-05:00"), NOON_UTC);
  ck_assert_double_eq(parsed("2026-10-01 12:00Z"), NOON_UTC);
  ck_assert_double_eq(parsed("2026-10-01T12:00:30Z"), NOON_UTC + 30);
}
END_TEST

START_TEST(without_a_zone_the_reports_zone_is_meant) {
  zone(UTC);
  ck_assert_double_eq(parsed("2026-10-01"), NOON_UTC - 12 * 3600);
  ck_assert_double_eq(parsed("2026-10-01T12:00"), NOON_UTC);
  zone(BERLIN);
  ck_assert_double_eq(parsed("2026-10-01T14:00"), NOON_UTC);
  ck_assert_double_eq(parsed("2026-10-25"), OCT25_BERLIN);
}
END_TEST

START_TEST(anything_else_is_refused) {
  zone(UTC);
  const char *bad[] = {"",
                       "yesterday",
                       "2026-13-01",
                       "2026-10-32",
                       "2026-10-00",
                       "2026-10-01T24:00",
                       "2026-10-01T12:60",
                       "2026-10-01T12",
                       "2026-10-01T12:00:00+25:00",
                       "2026-10-01T12:00 UTC",
                       "2026-10-01X",
                       "2026-10-01T12:00:00Zjunk"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    double t = 42;
    ck_assert_msg(pr_parse_time(bad[i], &t) == -1, "\"%s\" was taken", bad[i]);
    ck_assert_double_eq(t, 42);
  }
}
END_TEST

START_TEST(durations_in_their_units) {
  ck_assert_double_eq(pr_parse_duration("90s"), 90);
  ck_assert_double_eq(pr_parse_duration("15m"), 900);
  ck_assert_double_eq(pr_parse_duration("24h"), DAY);
  ck_assert_double_eq(pr_parse_duration("7d"), 7 * DAY);
  ck_assert_double_eq(pr_parse_duration("2w"), 14 * DAY);
  ck_assert_double_eq(pr_parse_duration("1.5h"), 5400);
  const char *bad[] = {"",    "h",    "0h",   "-1h", "10",
                       "10x", "10 h", "infh", "nanh"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
    ck_assert_msg(pr_parse_duration(bad[i]) == -1, "\"%s\" was taken", bad[i]);
}
END_TEST

START_TEST(days_start_at_local_midnight_and_the_ends_are_the_window) {
  zone(UTC);
  pr_window w = {.from = NOON_UTC, .to = NOON_UTC + 1.75 * DAY};
  ck_assert_int_eq(pr_window_days(&w), 0);
  ck_assert_uint_eq(w.ndays, 3);
  ck_assert_double_eq(w.day_start[0], NOON_UTC);
  ck_assert_double_eq(w.day_start[1], NOON_UTC + 0.5 * DAY);
  ck_assert_double_eq(w.day_start[2], NOON_UTC + 1.5 * DAY);
  ck_assert_double_eq(w.day_start[3], w.to);
}
END_TEST

START_TEST(the_day_daylight_saving_ends_has_25_hours) {
  zone(BERLIN);
  pr_window w = {.from = OCT25_BERLIN, .to = OCT25_BERLIN + 3 * DAY};
  ck_assert_int_eq(pr_window_days(&w), 0);
  ck_assert_uint_eq(w.ndays, 3);
  ck_assert_double_eq(w.day_start[1] - w.day_start[0], 25 * 3600);
  ck_assert_double_eq(w.day_start[2] - w.day_start[1], DAY);
  char day[16];
  pr_format_day(w.day_start[1], day, sizeof(day));
  ck_assert_str_eq(day, "2026-10-26");
}
END_TEST

START_TEST(an_empty_or_too_long_window_is_refused) {
  zone(UTC);
  double midnight = NOON_UTC - 12 * 3600;
  pr_window w = {.from = midnight, .to = midnight + PR_MAX_DAYS * DAY};
  ck_assert_int_eq(pr_window_days(&w), 0);
  ck_assert_uint_eq(w.ndays, PR_MAX_DAYS);
  w.to += 1;
  ck_assert_int_eq(pr_window_days(&w), -1);
  w.to = w.from;
  ck_assert_int_eq(pr_window_days(&w), -1);
}
END_TEST

START_TEST(times_are_written_with_the_zones_offset) {
  char buf[64];
  zone(UTC);
  pr_format_time(NOON_UTC, buf, sizeof(buf));
  ck_assert_str_eq(buf, "2026-10-01T12:00:00Z");
  zone(BERLIN);
  pr_format_time(NOON_UTC, buf, sizeof(buf));
  ck_assert_str_eq(buf, "2026-10-01T14:00:00+02:00");
  pr_format_time(OCT25_BERLIN + 4 * 3600, buf, sizeof(buf));
  ck_assert_str_eq(buf, "2026-10-25T03:00:00+01:00");
  pr_zone_name(NOON_UTC, buf, sizeof(buf));
  ck_assert_str_eq(buf, "CEST (+0200)");
  pr_format_day(OCT25_BERLIN, buf, sizeof(buf));
  ck_assert_str_eq(buf, "2026-10-25");
}
END_TEST

START_TEST(what_is_written_reads_back_the_same) {
  const char *zones[] = {UTC, BERLIN, "EST5EDT,M3.2.0,M11.1.0", "IST-5:30"};
  for (size_t z = 0; z < sizeof(zones) / sizeof(*zones); z++) {
    zone(zones[z]);
    for (double t = NOON_UTC; t < NOON_UTC + 400 * DAY; t += 7 * DAY + 3607) {
      char buf[64];
      pr_format_time(t, buf, sizeof(buf));
      ck_assert_msg(parsed(buf) == t, "%s in %s", buf, zones[z]);
    }
  }
}
END_TEST

static Suite *time_suite(void) {
  Suite *s = suite_create("report_time");
  TCase *tc = tcase_create("parse");
  tcase_add_test(tc, zulu_and_offsets_give_the_same_instant);
  tcase_add_test(tc, without_a_zone_the_reports_zone_is_meant);
  tcase_add_test(tc, anything_else_is_refused);
  tcase_add_test(tc, durations_in_their_units);
  suite_add_tcase(s, tc);
  tc = tcase_create("days and output");
  tcase_add_test(tc, days_start_at_local_midnight_and_the_ends_are_the_window);
  tcase_add_test(tc, the_day_daylight_saving_ends_has_25_hours);
  tcase_add_test(tc, an_empty_or_too_long_window_is_refused);
  tcase_add_test(tc, times_are_written_with_the_zones_offset);
  tcase_add_test(tc, what_is_written_reads_back_the_same);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(time_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
