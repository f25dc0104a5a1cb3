/* test_consensus.c: three locations (fra1, nyc1, sgp1) checking one target
 * every second, with rounds out of step and alerts arriving before the
 * checks, as collectd's network plugin delivers them; the verdicts, their
 * words, silence, and the reasons read back from real alerts (state.c). */
#include "alert_read.h"
#include "consensus.h"
#include "portprobe.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000000LL /* one second in ns */
#define TARGET "smtp_mail"
#define HOST "mail.example.com"

typedef struct {
  pp_severity severity;
  pp_verdict verdict;
  int down, silent, up;
  double outage_s;
  char message[PP_ALERT_MESSAGE_MAX];
  char host[256];
} seen;

static seen got[16];
static size_t ngot;

static void collect(void *ud, const pp_consensus_alert *a) {
  (void)ud;
  ck_assert_uint_lt(ngot, 16);
  seen *s = &got[ngot++];
  s->severity = a->severity;
  s->verdict = a->verdict;
  s->down = a->down;
  s->silent = a->silent;
  s->up = a->up;
  s->outage_s = a->outage_s;
  snprintf(s->message, sizeof(s->message), "%s", a->message);
  snprintf(s->host, sizeof(s->host), "%s", a->host);
}

static pp_consensus *cs;

static void setup(void) {
  pp_consensus_config c = {.quorum = 2, .timeout = 2};
  cs = pp_consensus_new(&c);
  ck_assert_ptr_nonnull(cs);
  ngot = 0;
}

static void teardown(void) {
  pp_consensus_free(cs);
}

/* A check made at second `at`, arriving 50 ms later. */
static void check(const char *loc, bool up, double at) {
  int64_t t = (int64_t)(at * S);
  ck_assert_int_eq(
      pp_consensus_check(cs, TARGET, loc, up, t, S, t + S / 20, collect, NULL),
      0);
}

/* A location's DOWN alert as state.c words it, arriving at once. */
static void down_notice(const char *loc, const char *summary, double at) {
  char msg[256];
  snprintf(msg, sizeof(msg), HOST " smtp:25 DOWN: %s: server said \"x\"",
           summary);
  int64_t t = (int64_t)(at * S);
  ck_assert_int_eq(pp_consensus_notice(cs, TARGET, loc, HOST, PP_SEV_FAILURE,
                                       msg, t, t + S / 100, collect, NULL),
                   0);
}

static void tick(double at) {
  pp_consensus_tick(cs, (int64_t)(at * S), collect, NULL);
}

/* Rounds from `from` to `to` seconds: fra1 at .0, nyc1 at .3, sgp1 at .6,
 * each up or down as `up` says ("uud": fra1 up, nyc1 up, sgp1 down). */
static void rounds(double from, double to, const char *up) {
  static const char *const names[] = {"fra1", "nyc1", "sgp1"};
  for (double s = from; s < to; s += 1)
    for (int i = 0; i < 3; i++) {
      if (up[i] == '-')
        continue; /* silent */
      check(names[i], up[i] == 'u', s + 0.3 * i);
      tick(s + 0.3 * i + 0.1);
    }
}

START_TEST(all_up_is_no_news) {
  rounds(0, 10, "uuu");
  ck_assert_uint_eq(ngot, 0);
  ck_assert_uint_eq(pp_consensus_count(cs), 1);
}
END_TEST

START_TEST(one_location_down_is_a_regional_warning_naming_it) {
  rounds(0, 5, "uuu");
  down_notice("fra1", "refused", 5);
  rounds(5, 9, "duu");
  ck_assert_uint_eq(ngot, 1);
  ck_assert_int_eq(got[0].severity, PP_SEV_WARNING);
  ck_assert_int_eq(got[0].verdict, PP_VERDICT_REGIONAL);
  ck_assert_str_eq(got[0].message,
                   "smtp on mail.example.com DOWN from 1 of 3 locations, "
                   "regional (fra1: refused; nyc1: up, sgp1: up)");
  ck_assert_str_eq(got[0].host, HOST);
}
END_TEST

START_TEST(quorum_down_is_one_failure_with_each_reason) {
  rounds(0, 5, "uuu");
  down_notice("fra1", "refused", 5);
  down_notice("nyc1", "timeout (connect)", 5.3);
  rounds(5, 9, "ddu");
  ck_assert_uint_eq(ngot, 1);
  ck_assert_int_eq(got[0].severity, PP_SEV_FAILURE);
  ck_assert_int_eq(got[0].down, 2);
  ck_assert_int_eq(got[0].up, 1);
  ck_assert_str_eq(got[0].message,
                   "smtp on mail.example.com DOWN from 2 of 3 locations "
                   "(fra1: refused, nyc1: timeout (connect); sgp1: up)");
}
END_TEST

START_TEST(rounds_out_of_step_give_one_alert_with_every_location) {
  rounds(0, 5, "uuu");
  /* the fault begins at 5.2: nyc1 sees it at 5.3, sgp1 at 5.6, fra1 at 6.0 */
  check("fra1", true, 5);
  down_notice("nyc1", "refused", 5.3);
  check("nyc1", false, 5.3);
  down_notice("sgp1", "refused", 5.6);
  check("sgp1", false, 5.6);
  down_notice("fra1", "timeout (connect)", 6);
  rounds(6, 9, "ddd");
  ck_assert_uint_eq(ngot, 1);
  ck_assert_int_eq(got[0].down, 3);
  ck_assert_str_eq(got[0].message,
                   "smtp on mail.example.com DOWN from 3 of 3 locations "
                   "(fra1: timeout (connect), nyc1: refused, sgp1: refused)");
}
END_TEST

START_TEST(recovery_is_one_okay_with_the_outage_length) {
  rounds(0, 5, "uuu");
  down_notice("fra1", "refused", 5);
  down_notice("nyc1", "refused", 5.3);
  down_notice("sgp1", "refused", 5.6);
  rounds(5, 30, "ddd");
  rounds(30, 35, "uuu");
  ck_assert_uint_eq(ngot, 2);
  ck_assert_int_eq(got[1].severity, PP_SEV_OKAY);
  ck_assert_int_eq(got[1].verdict, PP_VERDICT_UP);
  /* from fra1's first DOWN check (5.0) to its first UP one (30.0) */
  ck_assert_double_eq_tol(got[1].outage_s, 25, 1e-9);
  ck_assert_str_eq(got[1].message, "smtp on mail.example.com UP again from "
                                   "all 3 locations after 25s");
}
END_TEST

START_TEST(a_regional_outage_growing_to_the_quorum_is_a_failure) {
  rounds(0, 5, "uuu");
  down_notice("fra1", "refused", 5);
  rounds(5, 10, "duu");
  down_notice("nyc1", "refused", 10.3);
  rounds(10, 15, "ddu");
  rounds(15, 20, "uuu");
  ck_assert_uint_eq(ngot, 3);
  ck_assert_int_eq(got[0].verdict, PP_VERDICT_REGIONAL);
  ck_assert_int_eq(got[1].verdict, PP_VERDICT_DOWN);
  ck_assert_int_eq(got[2].verdict, PP_VERDICT_UP);
  /* the outage began with the regional one */
  ck_assert_double_eq_tol(got[2].outage_s, 10, 1e-9);
}
END_TEST

START_TEST(a_silent_location_is_named_and_never_counted_up) {
  rounds(0, 5, "uuu");
  rounds(5, 12, "-uu"); /* fra1's collectd stopped after 4.0 */
  ck_assert_uint_eq(ngot, 1);
  ck_assert_int_eq(got[0].severity, PP_SEV_WARNING);
  ck_assert_int_eq(got[0].verdict, PP_VERDICT_SILENT);
  ck_assert_int_eq(got[0].silent, 1);
  ck_assert_int_eq(got[0].up, 2);
  ck_assert_str_eq(got[0].message, TARGET " UP from 2 of 3 locations, 1 "
                                          "silent (fra1: silent; nyc1: up, "
                                          "sgp1: up)");
  rounds(12, 16, "uuu");
  ck_assert_uint_eq(ngot, 2);
  ck_assert_int_eq(got[1].severity, PP_SEV_OKAY);
}
END_TEST

START_TEST(silence_does_not_make_a_quorum) {
  rounds(0, 5, "uuu");
  down_notice("nyc1", "refused", 5.3);
  rounds(5, 12, "-du");
  /* one alert: nyc1's DOWN waited for fra1, which fell silent meanwhile */
  ck_assert_uint_eq(ngot, 1);
  ck_assert_int_eq(got[0].severity, PP_SEV_WARNING);
  ck_assert_int_eq(got[0].verdict, PP_VERDICT_REGIONAL);
  ck_assert_str_eq(got[0].message,
                   "smtp on mail.example.com DOWN from 1 of 3 locations, "
                   "regional (nyc1: refused; fra1: silent, sgp1: up)");
}
END_TEST

START_TEST(every_location_silent_says_none_reports) {
  rounds(0, 5, "uuu");
  tick(5);
  tick(8);
  ck_assert_uint_eq(ngot, 1);
  ck_assert_str_eq(got[0].message, TARGET ": no location reports (fra1: "
                                          "silent, nyc1: silent, sgp1: "
                                          "silent)");
}
END_TEST

START_TEST(a_reason_never_told_reads_down_after_waiting) {
  rounds(0, 5, "uuu");
  down_notice("nyc1", "refused", 5.3);
  rounds(5, 10, "ddu"); /* fra1's alert was lost */
  ck_assert_uint_eq(ngot, 1);
  ck_assert_str_eq(got[0].message,
                   "smtp on mail.example.com DOWN from 2 of 3 locations "
                   "(fra1: down, nyc1: refused; sgp1: up)");
}
END_TEST

START_TEST(an_old_reason_is_not_reused_for_a_new_outage) {
  rounds(0, 5, "uuu");
  down_notice("fra1", "refused", 5);
  down_notice("nyc1", "refused", 5.3);
  rounds(5, 10, "ddu");
  rounds(10, 15, "uuu");
  down_notice("nyc1", "timeout (connect)", 15.3);
  rounds(15, 20, "ddu");
  ck_assert_uint_eq(ngot, 3);
  ck_assert_str_eq(got[2].message,
                   "smtp on mail.example.com DOWN from 2 of 3 locations "
                   "(fra1: down, nyc1: timeout (connect); sgp1: up)");
}
END_TEST

START_TEST(a_blip_undone_before_every_location_spoke_is_not_told) {
  rounds(0, 5, "uuu");
  check("fra1", false, 5);
  check("fra1", true, 5.1);
  rounds(6, 10, "uuu");
  ck_assert_uint_eq(ngot, 0);
}
END_TEST

START_TEST(a_target_down_from_the_start_is_told_once_after_waiting) {
  down_notice("fra1", "refused", 0);
  down_notice("nyc1", "refused", 0.3);
  down_notice("sgp1", "refused", 0.6);
  rounds(0, 1, "ddd");
  ck_assert_uint_eq(ngot, 0); /* still listening for every location */
  rounds(1, 6, "ddd");
  ck_assert_uint_eq(ngot, 1);
  ck_assert_int_eq(got[0].severity, PP_SEV_FAILURE);
  ck_assert_int_eq(got[0].down, 3);
}
END_TEST

START_TEST(a_check_older_than_the_latest_is_ignored) {
  rounds(0, 5, "uuu");
  rounds(5, 7, "uuu");
  check("fra1", false, 3); /* a late packet */
  rounds(7, 10, "uuu");
  ck_assert_uint_eq(ngot, 0);
}
END_TEST

START_TEST(without_any_alert_the_target_is_named_by_its_name) {
  rounds(0, 5, "uuu");
  rounds(5, 10, "ddd");
  ck_assert_uint_eq(ngot, 1);
  ck_assert_str_eq(got[0].message,
                   TARGET " DOWN from 3 of 3 locations (fra1: down, nyc1: "
                          "down, sgp1: down)");
  ck_assert_str_eq(got[0].host, "");
}
END_TEST

START_TEST(bad_input_is_refused) {
  char err[128];
  pp_consensus_config zero = {.quorum = 0, .timeout = 2};
  ck_assert_int_eq(pp_consensus_config_check(&zero, err, sizeof(err)), -1);
  ck_assert_str_eq(err, "Quorum must be between 1 and 64, got 0");
  ck_assert_ptr_null(pp_consensus_new(&zero));
  pp_consensus_config t0 = {.quorum = 2, .timeout = 0};
  ck_assert_int_eq(pp_consensus_config_check(&t0, err, sizeof(err)), -1);
  char longname[200];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  ck_assert_int_eq(
      pp_consensus_check(cs, longname, "fra1", true, S, S, S, collect, NULL),
      -1);
  ck_assert_int_eq(
      pp_consensus_check(cs, TARGET, longname, true, S, S, S, collect, NULL),
      -1);
  ck_assert_int_eq(
      pp_consensus_check(cs, TARGET, "", true, S, S, S, collect, NULL), -1);
  ck_assert_int_eq(
      pp_consensus_check(cs, TARGET, "fra1", true, S, 0, S, collect, NULL), -1);
  for (int i = 0; i < PP_CONSENSUS_LOCATIONS_MAX; i++) {
    char loc[16];
    snprintf(loc, sizeof(loc), "l%02d", i);
    ck_assert_int_eq(
        pp_consensus_check(cs, TARGET, loc, true, S, S, S, collect, NULL), 0);
  }
  ck_assert_int_eq(pp_consensus_check(cs, TARGET, "one-too-many", true, S, S, S,
                                      collect, NULL),
                   -1);
}
END_TEST

START_TEST(many_targets_are_kept_apart) {
  char name[32];
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof(name), "t%d", i);
    ck_assert_int_eq(
        pp_consensus_check(cs, name, "fra1", i != 250, S, S, S, collect, NULL),
        0);
  }
  ck_assert_uint_eq(pp_consensus_count(cs), 500);
  tick(1.5); /* within the start's wait: nothing yet */
  ck_assert_uint_eq(ngot, 0);
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof(name), "t%d", i);
    pp_consensus_check(cs, name, "fra1", i != 250, 3 * S, S, 3 * S, collect,
                       NULL);
  }
  ck_assert_uint_eq(ngot, 1);
  ck_assert_str_eq(got[0].message, "t250 DOWN from 1 of 1 location, regional "
                                   "(fra1: down)");
}
END_TEST

/* --- reading alerts back: the words state.c really writes --- */

static pp_target *down_target(const char *url) {
  char err[256];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  ck_assert(pp_target_set(t, "down_after", "1", err, sizeof(err)) == 0);
  ck_assert_msg(pp_target_finalize(t, err, sizeof(err)) == 0, "%s", err);
  return t;
}

/* The message of the DOWN alert state.c makes for r on t. */
static void down_message(pp_target *t, pp_result *r, char *out, size_t len) {
  pp_state_table *st = pp_state_table_new();
  pp_alert a[PP_STATE_MAX_ALERTS];
  size_t n = pp_state_update(st, t, r, "service down: ping ok", a,
                             PP_STATE_MAX_ALERTS);
  ck_assert_uint_eq(n, 1);
  snprintf(out, len, "%s", a[0].message);
  pp_state_table_free(st);
}

START_TEST(every_reason_state_writes_is_read_back) {
  pp_target *t = down_target("smtp://mail.example.com");
  for (int code = 1; code < PP_R_COUNT; code++)
    for (int phase = 0; phase < PP_PHASE_COUNT; phase++) {
      pp_result r;
      pp_result_reset(&r);
      r.code = (pp_result_code)code;
      r.phase = (pp_phase)phase;
      r.http_status = 503;
      r.time_ns = S;
      snprintf(r.detail, sizeof(r.detail), "a detail (with words)");
      snprintf(r.excerpt, sizeof(r.excerpt), "DOWN: ok (connect)");
      char msg[PP_ALERT_MESSAGE_MAX], want[64], reason[64], service[32];
      down_message(t, &r, msg, sizeof(msg));
      pp_result_summary(&r, want, sizeof(want));
      ck_assert_int_eq(pp_alert_read_reason(msg, reason, sizeof(reason)), 0);
      ck_assert_str_eq(reason, want);
      ck_assert_int_eq(pp_alert_read_service(msg, "mail.example.com", service,
                                             sizeof(service)),
                       0);
      ck_assert_str_eq(service, "smtp");
    }
  pp_target_free(t);
}
END_TEST

START_TEST(an_ipv6_subject_and_foreign_words_are_read_right) {
  char out[64];
  ck_assert_int_eq(pp_alert_read_service("[2001:db8::1] tcp:80 DOWN: reset",
                                         "2001:db8::1", out, sizeof(out)),
                   0);
  ck_assert_str_eq(out, "tcp");
  ck_assert_int_eq(pp_alert_read_service("db.example.com icmp quality bad",
                                         "db.example.com", out, sizeof(out)),
                   0);
  ck_assert_str_eq(out, "icmp");
  ck_assert_int_eq(pp_alert_read_service("other.example.com smtp:25 DOWN",
                                         "mail.example.com", out, sizeof(out)),
                   -1);
  ck_assert_int_eq(
      pp_alert_read_reason("x smtp:25 UP again after 5s", out, sizeof(out)),
      -1);
  ck_assert_int_eq(
      pp_alert_read_reason("x smtp:25 DOWN: exploded", out, sizeof(out)), -1);
  ck_assert_int_eq(pp_alert_read_reason("x smtp:25 DOWN: ok", out, sizeof(out)),
                   -1);
  ck_assert_int_eq(pp_alert_read_reason("x smtp:25 DOWN: timeout (nowhere)",
                                        out, sizeof(out)),
                   0);
  ck_assert_str_eq(out, "timeout"); /* an unknown phase is not made up */
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("consensus");
  TCase *tc = tcase_create("consensus");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, all_up_is_no_news);
  tcase_add_test(tc, one_location_down_is_a_regional_warning_naming_it);
  tcase_add_test(tc, quorum_down_is_one_failure_with_each_reason);
  tcase_add_test(tc, rounds_out_of_step_give_one_alert_with_every_location);
  tcase_add_test(tc, recovery_is_one_okay_with_the_outage_length);
  tcase_add_test(tc, a_regional_outage_growing_to_the_quorum_is_a_failure);
  tcase_add_test(tc, a_silent_location_is_named_and_never_counted_up);
  tcase_add_test(tc, silence_does_not_make_a_quorum);
  tcase_add_test(tc, every_location_silent_says_none_reports);
  tcase_add_test(tc, a_reason_never_told_reads_down_after_waiting);
  tcase_add_test(tc, an_old_reason_is_not_reused_for_a_new_outage);
  tcase_add_test(tc, a_blip_undone_before_every_location_spoke_is_not_told);
  tcase_add_test(tc, a_target_down_from_the_start_is_told_once_after_waiting);
  tcase_add_test(tc, a_check_older_than_the_latest_is_ignored);
  tcase_add_test(tc, without_any_alert_the_target_is_named_by_its_name);
  tcase_add_test(tc, bad_input_is_refused);
  tcase_add_test(tc, many_targets_are_kept_apart);
  suite_add_tcase(s, tc);
  TCase *rd = tcase_create("alert_read");
  tcase_add_test(rd, every_reason_state_writes_is_read_back);
  tcase_add_test(rd, an_ipv6_subject_and_foreign_words_are_read_right);
  suite_add_tcase(s, rd);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
