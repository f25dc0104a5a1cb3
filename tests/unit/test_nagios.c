/* --format nagios: the state of each target and of the run, the status
 * line, perfdata in the Monitoring Plugins form, and the long output. */
#include "nagios.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pp_target *target(const char *url, const char *const *kv) {
  char err[512];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  for (; kv && kv[0]; kv += 2)
    ck_assert_msg(pp_target_set(t, kv[0], kv[1], err, sizeof(err)) == 0, "%s",
                  err);
  ck_assert_msg(pp_target_finalize(t, err, sizeof(err)) == 0, "%s", err);
  return t;
}

static pp_result up_in(double seconds) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.t_total = seconds;
  snprintf(r.address, sizeof(r.address), "192.0.2.7");
  return r;
}

static pp_result refused(void) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_REFUSED;
  r.phase = PP_PHASE_CONNECT;
  r.t_total = 0.0002;
  snprintf(r.address, sizeof(r.address), "192.0.2.7");
  snprintf(r.detail, sizeof(r.detail), "Connection refused");
  return r;
}

static pp_result with_cert(pp_result r, double days, pp_grade grade) {
  r.tls_used = true;
  r.cert_seen = true;
  r.cert_expiry_s = (int64_t)(days * 86400);
  r.cert_grade = grade;
  return r;
}

static pp_result icmp(pp_grade quality) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.t_total = 0.8;
  r.icmp_sent = 5;
  r.icmp_received = 4;
  r.loss_pct = 20;
  r.rtt_min = 0.010;
  r.rtt_avg = 0.0125;
  r.rtt_max = 0.015;
  r.jitter = 0.002;
  r.quality = quality;
  return r;
}

/* The whole output for n targets, and the state it returned. */
static char *run(pp_target **t, const pp_result *r, size_t n,
                 pp_nagios_state *state) {
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  *state = pp_nagios_write(f, t, r, n);
  fclose(f);
  return buf;
}

static char *one(pp_target *t, pp_result r, pp_nagios_state *state) {
  char *s = run(&t, &r, 1, state);
  pp_target_free(t);
  return s;
}

START_TEST(up_target_is_ok_with_its_time) {
  const char *kv[] = {"name", "web", NULL};
  pp_nagios_state st;
  char *s = one(target("tcp://192.0.2.7:80", kv), up_in(0.0012), &st);
  ck_assert_int_eq(st, PP_NAGIOS_OK);
  ck_assert_str_eq(s, "PORTPROBE OK - web: ok in 1.2 ms (192.0.2.7) | "
                      "time=0.0012s;;;0;5\n");
  free(s);
}
END_TEST

START_TEST(down_target_is_critical_with_the_reason) {
  const char *kv[] = {"name", "db", "timeout", "2s", NULL};
  pp_nagios_state st;
  char *s = one(target("tcp://192.0.2.7:5432", kv), refused(), &st);
  ck_assert_int_eq(st, PP_NAGIOS_CRITICAL);
  ck_assert_str_eq(s, "PORTPROBE CRITICAL - db: refused after 0.2 ms "
                      "(192.0.2.7): Connection refused | "
                      "time=0.0002s;;;0;2\n");
  free(s);
}
END_TEST

START_TEST(slow_warn_is_warning_and_slow_crit_critical) {
  const char *kv[] = {"name",      "web", "slow_warn", "1s",
                      "slow_crit", "3s",  NULL};
  pp_nagios_state st;
  char *s = one(target("http://192.0.2.7/", kv), up_in(1.5), &st);
  ck_assert_int_eq(st, PP_NAGIOS_WARNING);
  ck_assert_str_eq(s, "PORTPROBE WARNING - web: ok in 1.50 s (192.0.2.7), "
                      "slow (slow_warn 1.00 s) | time=1.5s;1;3;0;5\n");
  free(s);
  s = one(target("http://192.0.2.7/", kv), up_in(3.2), &st);
  ck_assert_int_eq(st, PP_NAGIOS_CRITICAL);
  ck_assert_ptr_nonnull(strstr(s, "slow (slow_crit 3.00 s)"));
  free(s);
  s = one(target("http://192.0.2.7/", kv), up_in(0.5), &st);
  ck_assert_int_eq(st, PP_NAGIOS_OK);
  free(s);
}
END_TEST

START_TEST(certificate_grades_are_warning_and_critical) {
  const char *kv[] = {"name", "www", "cert_warn_days", "20", "cert_crit_days",
                      "7",    NULL};
  pp_nagios_state st;
  char *s = one(target("https://192.0.2.7/", kv),
                with_cert(up_in(0.01), 10, PP_GRADE_WARNING), &st);
  ck_assert_int_eq(st, PP_NAGIOS_WARNING);
  ck_assert_str_eq(s, "PORTPROBE WARNING - www: ok in 10.0 ms (192.0.2.7), "
                      "certificate expires in 10.0 days | "
                      "time=0.01s;;;0;5 "
                      "cert_time_left=864000s;1728000:;604800:\n");
  free(s);
  s = one(target("https://192.0.2.7/", kv),
          with_cert(up_in(0.01), 3, PP_GRADE_CRITICAL), &st);
  ck_assert_int_eq(st, PP_NAGIOS_CRITICAL);
  free(s);
  s = one(target("https://192.0.2.7/", kv),
          with_cert(up_in(0.01), -2, PP_GRADE_CRITICAL), &st);
  ck_assert_int_eq(st, PP_NAGIOS_CRITICAL);
  ck_assert_ptr_nonnull(strstr(s, "certificate expired 2.0 days ago"));
  ck_assert_ptr_nonnull(strstr(s, "cert_time_left=-172800s;"));
  free(s);
  s = one(target("https://192.0.2.7/", kv),
          with_cert(up_in(0.01), 90, PP_GRADE_GOOD), &st);
  ck_assert_int_eq(st, PP_NAGIOS_OK);
  free(s);
}
END_TEST

START_TEST(icmp_quality_grades_map_to_states) {
  const pp_grade grades[] = {PP_GRADE_GOOD, PP_GRADE_WARNING, PP_GRADE_BAD,
                             PP_GRADE_CRITICAL};
  const pp_nagios_state want[] = {PP_NAGIOS_OK, PP_NAGIOS_WARNING,
                                  PP_NAGIOS_WARNING, PP_NAGIOS_CRITICAL};
  for (int i = 0; i < 4; i++) {
    const char *kv[] = {"name", "gw", NULL};
    pp_nagios_state st;
    char *s = one(target("icmp://192.0.2.1", kv), icmp(grades[i]), &st);
    ck_assert_int_eq(st, want[i]);
    free(s);
  }
}
END_TEST

START_TEST(icmp_perfdata_is_loss_rtt_and_jitter_with_thresholds) {
  const char *kv[] = {"name", "gw", NULL};
  pp_nagios_state st;
  char *s = one(target("icmp://192.0.2.1", kv), icmp(PP_GRADE_BAD), &st);
  ck_assert_str_eq(s, "PORTPROBE WARNING - gw: ok, 4/5 received, 20% loss, "
                      "rtt 12.500 ms, jitter 2.000 ms, quality bad | "
                      "loss=20%;5;30;0;100 rtt=0.0125s;0.1;0.5;0 "
                      "jitter=0.002s;0.03;0.1;0\n");
  free(s);
}
END_TEST

START_TEST(check_that_could_not_run_is_unknown) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_SOCKET_ERROR;
  const char *kv[] = {"name", "gw", NULL};
  pp_nagios_state st;
  char *s = one(target("icmp://192.0.2.1", kv), r, &st);
  ck_assert_int_eq(st, PP_NAGIOS_UNKNOWN);
  ck_assert_ptr_nonnull(strstr(s, "PORTPROBE UNKNOWN - gw: socket_error"));
  free(s);
}
END_TEST

START_TEST(worst_state_orders_critical_warning_unknown_ok) {
  ck_assert_int_eq(pp_nagios_worse(PP_NAGIOS_OK, PP_NAGIOS_UNKNOWN),
                   PP_NAGIOS_UNKNOWN);
  ck_assert_int_eq(pp_nagios_worse(PP_NAGIOS_UNKNOWN, PP_NAGIOS_WARNING),
                   PP_NAGIOS_WARNING);
  ck_assert_int_eq(pp_nagios_worse(PP_NAGIOS_WARNING, PP_NAGIOS_UNKNOWN),
                   PP_NAGIOS_WARNING);
  ck_assert_int_eq(pp_nagios_worse(PP_NAGIOS_CRITICAL, PP_NAGIOS_WARNING),
                   PP_NAGIOS_CRITICAL);
  ck_assert_int_eq(pp_nagios_worse(PP_NAGIOS_UNKNOWN, PP_NAGIOS_CRITICAL),
                   PP_NAGIOS_CRITICAL);
}
END_TEST

START_TEST(several_targets_are_counted_named_and_listed) {
  const char *web[] = {"name", "web", "slow_warn", "1s", NULL};
  const char *db[] = {"name", "db", NULL};
  const char *ok[] = {"name", "ssh", NULL};
  pp_target *t[] = {target("tcp://192.0.2.7:80", web),
                    target("tcp://192.0.2.7:5432", db),
                    target("tcp://192.0.2.7:22", ok)};
  pp_result r[] = {up_in(1.25), refused(), up_in(0.001)};
  pp_nagios_state st;
  char *s = run(t, r, 3, &st);
  ck_assert_int_eq(st, PP_NAGIOS_CRITICAL);
  ck_assert_str_eq(
      s, "PORTPROBE CRITICAL - 3 targets: 1 critical (db), 1 warning (web), "
         "1 ok | 'web time'=1.25s;1;;0;5 'db time'=0.0002s;;;0;5 "
         "'ssh time'=0.001s;;;0;5\n"
         "WARNING: web: ok in 1.25 s (192.0.2.7), slow (slow_warn 1.00 s)\n"
         "CRITICAL: db: refused after 0.2 ms (192.0.2.7): Connection "
         "refused\n"
         "OK: ssh: ok in 1.0 ms (192.0.2.7)\n");
  free(s);
  for (int i = 0; i < 3; i++)
    pp_target_free(t[i]);
}
END_TEST

START_TEST(many_problems_name_the_first_five) {
  pp_target *t[7];
  pp_result r[7];
  for (int i = 0; i < 7; i++) {
    char name[16];
    snprintf(name, sizeof(name), "t%d", i);
    const char *kv[] = {"name", name, NULL};
    t[i] = target("tcp://192.0.2.7:1", kv);
    r[i] = refused();
  }
  pp_nagios_state st;
  char *s = run(t, r, 7, &st);
  ck_assert_ptr_nonnull(strstr(
      s, "PORTPROBE CRITICAL - 7 targets: 7 critical (t0, t1, t2, t3, t4 "
         "and 2 more) | "));
  free(s);
  for (int i = 0; i < 7; i++)
    pp_target_free(t[i]);
}
END_TEST

START_TEST(names_cannot_break_the_format) {
  const char *a[] = {"name", "a|b='c'", NULL};
  const char *b[] = {"name", "x", NULL};
  pp_target *t[] = {target("tcp://192.0.2.7:80", a),
                    target("tcp://192.0.2.7:81", b)};
  pp_result r[] = {up_in(0.001), up_in(0.001)};
  snprintf(r[0].excerpt, sizeof(r[0].excerpt), "220 pipe | here");
  pp_nagios_state st;
  char *s = run(t, r, 2, &st);
  /* one '|', the one before perfdata; a label has no '=' nor quote inside */
  ck_assert_ptr_eq(strchr(s, '|'), strrchr(s, '|'));
  ck_assert_ptr_nonnull(strstr(s, " | 'a_b__c_ time'=0.001s;;;0;5 "));
  ck_assert_ptr_nonnull(strstr(s, "OK: a/b='c': ok in 1.0 ms (192.0.2.7), "
                                  "server said \"220 pipe / here\"\n"));
  free(s);
  pp_target_free(t[0]);
  pp_target_free(t[1]);
}
END_TEST

START_TEST(numbers_have_no_exponent) {
  const char *kv[] = {"name", "web", NULL};
  pp_nagios_state st;
  char *s = one(target("tcp://192.0.2.7:80", kv), up_in(0.0000004), &st);
  ck_assert_ptr_nonnull(strstr(s, "| time=0s;;;0;5\n"));
  free(s);
  s = one(target("tcp://192.0.2.7:80", kv), up_in(0.000009), &st);
  ck_assert_ptr_nonnull(strstr(s, "| time=0.000009s;;;0;5\n"));
  free(s);
}
END_TEST

START_TEST(unknown_line_says_why_on_one_line) {
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  pp_nagios_unknown(f, "target \"a|b\": option \"timeout\": bad\nvalue");
  fclose(f);
  ck_assert_str_eq(buf, "PORTPROBE UNKNOWN - target \"a/b\": option "
                        "\"timeout\": bad value\n");
  free(buf);
}
END_TEST

START_TEST(alert_is_a_line_of_long_output) {
  pp_alert a = {.severity = PP_SEV_FAILURE};
  snprintf(a.message, sizeof(a.message), "192.0.2.7 tcp:5432 DOWN: refused");
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  pp_nagios_alert(f, &a);
  fclose(f);
  ck_assert_str_eq(buf, "ALERT failure: 192.0.2.7 tcp:5432 DOWN: refused\n");
  free(buf);
}
END_TEST

int main(void) {
  Suite *s = suite_create("nagios");
  TCase *tc = tcase_create("format");
  tcase_add_test(tc, up_target_is_ok_with_its_time);
  tcase_add_test(tc, down_target_is_critical_with_the_reason);
  tcase_add_test(tc, slow_warn_is_warning_and_slow_crit_critical);
  tcase_add_test(tc, certificate_grades_are_warning_and_critical);
  tcase_add_test(tc, icmp_quality_grades_map_to_states);
  tcase_add_test(tc, icmp_perfdata_is_loss_rtt_and_jitter_with_thresholds);
  tcase_add_test(tc, check_that_could_not_run_is_unknown);
  tcase_add_test(tc, worst_state_orders_critical_warning_unknown_ok);
  tcase_add_test(tc, several_targets_are_counted_named_and_listed);
  tcase_add_test(tc, many_problems_name_the_first_five);
  tcase_add_test(tc, names_cannot_break_the_format);
  tcase_add_test(tc, numbers_have_no_exponent);
  tcase_add_test(tc, unknown_line_says_why_on_one_line);
  tcase_add_test(tc, alert_is_a_line_of_long_output);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
