/* test_state.c: sequences of results through the state machine
 * (confirmation, recovery, flapping, slow, quality and certificate grades),
 * the alert messages people read, and the state file's save and load,
 * including truncated, foreign and garbled files. */
#include "portprobe.h"
#include "flap.h"

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- helpers --- */

/* A finalized target from a URL and "key=value" words, NULL-terminated. */
static pp_target *target(const char *url, ...) {
  char err[512];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  va_list ap;
  va_start(ap, url);
  for (const char *kv; (kv = va_arg(ap, const char *)) != NULL;) {
    char key[64];
    const char *eq = strchr(kv, '=');
    ck_assert_ptr_nonnull(eq);
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    ck_assert_msg(pp_target_set(t, key, eq + 1, err, sizeof(err)) == 0, "%s",
                  err);
  }
  va_end(ap);
  ck_assert_msg(pp_target_finalize(t, err, sizeof(err)) == 0, "%s", err);
  return t;
}

/* A result at second `at` of the test's clock. */
static pp_result result(pp_result_code code, double at) {
  pp_result r;
  pp_result_reset(&r);
  r.code = code;
  r.up = code == PP_R_OK;
  r.phase = r.up ? PP_PHASE_NONE : PP_PHASE_CONNECT;
  r.time_ns = (int64_t)(at * 1e9);
  r.t_total = 0.010;
  return r;
}

static pp_alert alerts[PP_STATE_MAX_ALERTS];

/* Feeds one result; returns how many alerts it caused. */
static size_t feed(pp_state_table *st, const pp_target *t, pp_result_code code,
                   double at) {
  pp_result r = result(code, at);
  return pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS);
}

static pp_state_table *table(void) {
  pp_state_table *st = pp_state_table_new();
  ck_assert_ptr_nonnull(st);
  return st;
}

static char tmpdir[64];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/pp-state-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (d == NULL)
    return;
  struct dirent *de;
  char path[512];
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(tmpdir);
}

static void path_in_tmp(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  static char buf[65536];
  *len = fread(buf, 1, sizeof(buf) - 1, f);
  buf[*len] = 0;
  fclose(f);
  return buf;
}

/* --- confirmation and recovery --- */

START_TEST(down_is_confirmed_after_down_after_failures) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "down_after=3", NULL);
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 10), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 70), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 130), 1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_STATE);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_FAILURE);
  ck_assert_int_eq(alerts[0].state, PP_TSTATE_DOWN);
  ck_assert_str_eq(alerts[0].message, "mail.example.com smtp:25 DOWN: refused");
  ck_assert_str_eq(alerts[0].host, "mail.example.com");
  ck_assert_uint_eq(alerts[0].port, 25);
  ck_assert_str_eq(alerts[0].service, "smtp");
  ck_assert_int_eq(alerts[0].result, PP_R_REFUSED);
  pp_state_info info;
  ck_assert_int_eq(pp_state_get(st, t, &info), 0);
  ck_assert_int_eq(info.state, PP_TSTATE_DOWN);
  /* the outage began with the first failure of the streak */
  ck_assert_int_eq(info.since_ns, 10000000000LL);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(default_down_after_is_two) {
  pp_state_table *st = table();
  pp_target *t = target("tcp://db.example.com:5432", NULL);
  ck_assert_uint_eq(feed(st, t, PP_R_TIMEOUT, 0), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_TIMEOUT, 60), 1);
  ck_assert_str_eq(alerts[0].message,
                   "db.example.com tcp:5432 DOWN: timeout (connect)");
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(single_failure_between_successes_is_silent) {
  pp_state_table *st = table();
  pp_target *t = target("imap://mail.example.com", NULL);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 0), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_RESET, 60), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 120), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_RESET, 180), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 240), 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(first_up_after_start_is_not_announced) {
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", NULL);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 0), 0);
  pp_state_info info;
  ck_assert_int_eq(pp_state_get(st, t, &info), 0);
  ck_assert_int_eq(info.state, PP_TSTATE_UP);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(state_is_unknown_until_confirmed) {
  pp_state_table *st = table();
  pp_target *t = target("tcp://db.example.com:5432", NULL);
  pp_state_info info;
  ck_assert_int_eq(pp_state_get(st, t, &info), -1);
  feed(st, t, PP_R_REFUSED, 0);
  ck_assert_int_eq(pp_state_get(st, t, &info), 0);
  ck_assert_int_eq(info.state, PP_TSTATE_UNKNOWN);
  ck_assert_int_eq(info.consecutive, 1);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(steady_down_is_announced_once) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", NULL);
  size_t total = 0;
  for (int i = 0; i < 50; i++)
    total += feed(st, t, PP_R_REFUSED, i * 60);
  ck_assert_uint_eq(total, 1);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(steady_up_is_never_announced) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", NULL);
  size_t total = 0;
  for (int i = 0; i < 50; i++)
    total += feed(st, t, PP_R_OK, i * 60);
  ck_assert_uint_eq(total, 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(changing_failure_class_while_down_is_not_news) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", NULL);
  feed(st, t, PP_R_REFUSED, 0);
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 60), 1);
  ck_assert_uint_eq(feed(st, t, PP_R_TIMEOUT, 120), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_BANNER_MISMATCH, 180), 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(recovery_needs_up_after_successes) {
  pp_state_table *st = table();
  pp_target *t = target("pop3://mail.example.com", "up_after=3", NULL);
  feed(st, t, PP_R_REFUSED, 0);
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 60), 1);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 120), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 180), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 240), 0); /* streak broken */
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 300), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 360), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 420), 1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_OKAY);
  ck_assert_int_eq(alerts[0].state, PP_TSTATE_UP);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(recovery_says_how_long_the_outage_lasted) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", NULL);
  feed(st, t, PP_R_OK, 1000);
  feed(st, t, PP_R_REFUSED, 1060); /* the outage starts here */
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 1120), 1);
  feed(st, t, PP_R_REFUSED, 1180);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 1252), 1); /* and ends here */
  ck_assert_str_eq(alerts[0].message,
                   "mail.example.com smtp:25 UP again after 3m 12s");
  ck_assert_double_eq_tol(alerts[0].outage_s, 192, 1e-6);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_STATE);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(outage_runs_to_the_first_success_of_the_recovery) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "up_after=2", NULL);
  feed(st, t, PP_R_REFUSED, 0);
  feed(st, t, PP_R_REFUSED, 60);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 3600), 0);
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 3660), 1);
  ck_assert_str_eq(alerts[0].message, "mail.example.com smtp:25 UP again "
                                      "after 1h");
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(down_message_has_diagnosis_and_what_the_server_said) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "down_after=1", NULL);
  pp_result r = result(PP_R_REFUSED, 0);
  size_t n = pp_state_update(st, t, &r, "host up: ping 0% loss, 0.4 ms", alerts,
                             PP_STATE_MAX_ALERTS);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(alerts[0].message, "mail.example.com smtp:25 DOWN: refused "
                                      "(host up: ping 0% loss, 0.4 ms)");
  ck_assert_str_eq(alerts[0].diagnosis, "host up: ping 0% loss, 0.4 ms");

  pp_target *u = target("smtp://relay.example.com", "down_after=1", NULL);
  r = result(PP_R_BANNER_MISMATCH, 0);
  r.phase = PP_PHASE_BANNER;
  pp_result_set_excerpt(&r, "554 no service\r\n", 16);
  n = pp_state_update(st, u, &r, NULL, alerts, PP_STATE_MAX_ALERTS);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(alerts[0].message,
                   "relay.example.com smtp:25 DOWN: banner_mismatch: server "
                   "said \"554 no service\"");
  ck_assert_str_eq(alerts[0].excerpt, "554 no service");
  pp_target_free(t);
  pp_target_free(u);
  pp_state_table_free(st);
}
END_TEST

START_TEST(down_message_gives_detail_unless_it_restates_errno) {
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", "down_after=1", NULL);
  pp_result r = result(PP_R_TLS_VERIFY_FAILED, 0);
  snprintf(r.detail, sizeof(r.detail), "certificate has expired");
  ck_assert_uint_eq(
      pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS), 1);
  ck_assert_str_eq(alerts[0].message, "web.example.com https:443 DOWN: "
                                      "tls_verify_failed, certificate has "
                                      "expired");
  pp_target *u = target("tcp://10.0.0.1:22", "down_after=1", NULL);
  r = result(PP_R_REFUSED, 0);
  r.sys_errno = 111;
  snprintf(r.detail, sizeof(r.detail), "Connection refused");
  ck_assert_uint_eq(
      pp_state_update(st, u, &r, NULL, alerts, PP_STATE_MAX_ALERTS), 1);
  ck_assert_str_eq(alerts[0].message, "10.0.0.1 tcp:22 DOWN: refused");
  pp_target_free(t);
  pp_target_free(u);
  pp_state_table_free(st);
}
END_TEST

START_TEST(message_is_one_line_even_if_detail_is_not) {
  pp_state_table *st = table();
  pp_target *t = target("tcp://db.example.com:5432", "down_after=1", NULL);
  pp_result r = result(PP_R_PROTOCOL_ERROR, 0);
  snprintf(r.detail, sizeof(r.detail), "line one\nline two\r\x7f");
  ck_assert_uint_eq(
      pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS), 1);
  for (const char *p = alerts[0].message; *p; p++)
    ck_assert(*p >= 0x20 && *p < 0x7f);
  ck_assert_ptr_nonnull(strstr(alerts[0].message, "line one line two"));
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(ipv6_host_is_bracketed_and_icmp_has_no_port) {
  pp_state_table *st = table();
  pp_target *t = target("tcp://[2001:db8::1]:22", "down_after=1", NULL);
  feed(st, t, PP_R_TIMEOUT, 0);
  ck_assert_str_eq(alerts[0].message,
                   "[2001:db8::1] tcp:22 DOWN: timeout (connect)");
  ck_assert_str_eq(alerts[0].host, "2001:db8::1");
  pp_target *i = target("icmp://gw.example.com", "down_after=1", NULL);
  feed(st, i, PP_R_NO_REPLY, 0);
  ck_assert_str_eq(alerts[0].message, "gw.example.com icmp DOWN: no_reply");
  pp_target_free(t);
  pp_target_free(i);
  pp_state_table_free(st);
}
END_TEST

START_TEST(state_follows_name_and_url_not_position) {
  pp_state_table *st = table();
  pp_target *a = target("tcp://db.example.com:5432", "name=db", NULL);
  pp_target *b = target("tcp://db.example.com:5432", "name=replica", NULL);
  feed(st, a, PP_R_REFUSED, 0);
  feed(st, b, PP_R_OK, 0);
  ck_assert_uint_eq(pp_state_count(st), 2);
  /* the same target parsed again, as after a reordered config */
  pp_target *a2 = target("tcp://db.example.com:5432", "name=db", NULL);
  ck_assert_uint_eq(feed(st, a2, PP_R_REFUSED, 60), 1);
  ck_assert_str_eq(alerts[0].target, "db");
  ck_assert_uint_eq(feed(st, b, PP_R_OK, 60), 0);
  pp_target_free(a);
  pp_target_free(a2);
  pp_target_free(b);
  pp_state_table_free(st);
}
END_TEST

/* --- flapping --- */

START_TEST(flap_percent_weights_recent_changes_more) {
  pp_flap_history h = {0};
  for (int i = 0; i < 21; i++)
    pp_flap_record(&h, i % 2);
  ck_assert_double_eq_tol(pp_flap_percent(&h), 100, 1e-9);

  h = (pp_flap_history){0};
  for (int i = 0; i < 20; i++)
    pp_flap_record(&h, true);
  pp_flap_record(&h, false); /* the newest change weighs 1.2 */
  ck_assert_double_eq_tol(pp_flap_percent(&h), 1.2 * 100 / 20, 1e-9);

  h = (pp_flap_history){0};
  pp_flap_record(&h, false);
  for (int i = 0; i < 20; i++)
    pp_flap_record(&h, true); /* the oldest change weighs 0.8 */
  ck_assert_double_eq_tol(pp_flap_percent(&h), 0.8 * 100 / 20, 1e-9);

  pp_flap_record(&h, true); /* and then leaves the window */
  ck_assert_double_eq_tol(pp_flap_percent(&h), 0, 1e-9);
}
END_TEST

START_TEST(flapping_starts_with_one_alert_and_silences_up_down) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "down_after=1", NULL);
  int flapping_alerts = 0, state_alerts_after = 0, at = -1;
  for (int i = 0; i < 40; i++) {
    size_t n = feed(st, t, i % 2 ? PP_R_REFUSED : PP_R_OK, i * 60);
    for (size_t k = 0; k < n; k++) {
      if (alerts[k].kind == PP_ALERT_FLAPPING) {
        flapping_alerts++;
        at = i;
        ck_assert_int_eq(alerts[k].severity, PP_SEV_WARNING);
        ck_assert_ptr_nonnull(strstr(alerts[k].message, " is FLAPPING ("));
        ck_assert_ptr_nonnull(strstr(alerts[k].message, "% state changes)"));
        ck_assert_double_ge(alerts[k].flap_pct, 20);
      } else if (at >= 0) {
        state_alerts_after++;
      }
    }
  }
  ck_assert_int_eq(flapping_alerts, 1);
  ck_assert_int_eq(state_alerts_after, 0);
  /* 4 changes weigh 1.2+1.18+1.16+1.14 = 4.68, 23% >= 20%: the 5th check */
  ck_assert_int_eq(at, 4);
  pp_state_info info;
  pp_state_get(st, t, &info);
  ck_assert(info.flapping);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(flapping_message_says_the_percentage) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "down_after=1", NULL);
  for (int i = 0; i < 5; i++)
    feed(st, t, i % 2 ? PP_R_REFUSED : PP_R_OK, i * 60);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_FLAPPING);
  ck_assert_str_eq(alerts[0].message,
                   "mail.example.com smtp:25 is FLAPPING (23% state changes)");
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(flapping_stops_below_flap_low_with_one_alert) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "down_after=1", NULL);
  for (int i = 0; i < 30; i++)
    feed(st, t, i % 2 ? PP_R_REFUSED : PP_R_OK, i * 60);
  int stops = 0, others = 0, at = -1;
  for (int i = 30; i < 80; i++) {
    size_t n = feed(st, t, PP_R_OK, i * 60);
    for (size_t k = 0; k < n; k++) {
      if (alerts[k].kind == PP_ALERT_FLAPPING) {
        stops++;
        at = i;
        ck_assert_int_eq(alerts[k].severity, PP_SEV_OKAY);
        ck_assert_double_lt(alerts[k].flap_pct, 5);
        ck_assert_ptr_nonnull(strstr(alerts[k].message, "stopped flapping"));
        ck_assert_ptr_nonnull(strstr(alerts[k].message, "now UP"));
      } else {
        others++;
      }
    }
  }
  ck_assert_int_eq(stops, 1);
  ck_assert_int_eq(others, 0); /* the UP is told by the stop alert */
  /* below 5% is less than one change's weight: it ends when the last
   * change (29 -> 30) is the oldest of the window, its weight 0.8 (4%) */
  ck_assert_int_eq(at, 49);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(flapping_that_ends_down_is_a_failure) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "down_after=1", NULL);
  for (int i = 0; i < 30; i++)
    feed(st, t, i % 2 ? PP_R_REFUSED : PP_R_OK, i * 60);
  int stops = 0;
  for (int i = 30; i < 80; i++) {
    size_t n = feed(st, t, PP_R_REFUSED, i * 60);
    for (size_t k = 0; k < n; k++) {
      ck_assert_int_eq(alerts[k].kind, PP_ALERT_FLAPPING);
      ck_assert_int_eq(alerts[k].severity, PP_SEV_FAILURE);
      ck_assert_ptr_nonnull(strstr(alerts[k].message, "now DOWN: refused"));
      stops++;
    }
  }
  ck_assert_int_eq(stops, 1);
  /* and a later recovery is a plain UP alert again */
  ck_assert_uint_eq(feed(st, t, PP_R_OK, 80 * 60), 1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_STATE);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(blips_absorbed_by_down_after_are_not_flapping) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", NULL); /* down_after 2 */
  size_t total = 0;
  for (int i = 0; i < 30; i++)
    total += feed(st, t, i % 2 ? PP_R_TIMEOUT : PP_R_OK, i * 60);
  ck_assert_uint_eq(total, 0);
  pp_state_info info;
  pp_state_get(st, t, &info);
  ck_assert(!info.flapping);
  ck_assert_double_eq_tol(info.flap_pct, 0, 1e-9);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(unconfirmed_checks_at_start_are_no_state_change) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", NULL); /* down_after 2 */
  feed(st, t, PP_R_REFUSED, 0); /* unknown: nothing to record */
  feed(st, t, PP_R_OK, 60);     /* UP */
  pp_state_info info;
  pp_state_get(st, t, &info);
  ck_assert_double_eq_tol(info.flap_pct, 0, 1e-9);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(confirmed_changes_make_flapping_whatever_down_after) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", NULL); /* down_after 2 */
  int kinds[PP_ALERT_KIND_COUNT] = {0};
  static const int pattern[] = {1, 0, 0, 1, 0, 0}; /* DOWN, UP, DOWN, ... */
  for (int i = 0; i < 30; i++) {
    size_t n = feed(st, t, pattern[i % 6] ? PP_R_OK : PP_R_TIMEOUT, i * 60);
    for (size_t k = 0; k < n; k++)
      kinds[alerts[k].kind]++;
  }
  ck_assert_int_eq(kinds[PP_ALERT_FLAPPING], 1);
  ck_assert_int_le(kinds[PP_ALERT_STATE], 4);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(flap_thresholds_are_options) {
  pp_state_table *st = table();
  pp_target *t = target("smtp://mail.example.com", "down_after=1",
                        "flap_high=60", "flap_low=50", NULL);
  int flapping = 0;
  for (int i = 0; i < 10; i++) {
    size_t n = feed(st, t, i % 2 ? PP_R_REFUSED : PP_R_OK, i * 60);
    for (size_t k = 0; k < n; k++)
      flapping += alerts[k].kind == PP_ALERT_FLAPPING;
  }
  /* 9 changes weigh about 10.2 of 20: 51%, under 60% */
  ck_assert_int_eq(flapping, 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

/* --- slow, quality, certificate --- */

static size_t feed_time(pp_state_table *st, const pp_target *t, double secs,
                        double at) {
  pp_result r = result(PP_R_OK, at);
  r.t_total = secs;
  return pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS);
}

START_TEST(slow_warn_and_crit_are_confirmed_transitions) {
  pp_state_table *st = table();
  pp_target *t =
      target("https://web.example.com", "slow_warn=1s", "slow_crit=5s", NULL);
  ck_assert_uint_eq(feed_time(st, t, 0.2, 0), 0);
  ck_assert_uint_eq(feed_time(st, t, 1.5, 60), 0); /* one slow check */
  ck_assert_uint_eq(feed_time(st, t, 0.2, 120), 0);
  ck_assert_uint_eq(feed_time(st, t, 1.5, 180), 0);
  ck_assert_uint_eq(feed_time(st, t, 1.52, 240), 1); /* down_after = 2 */
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_SLOW);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_WARNING);
  ck_assert_str_eq(alerts[0].message, "web.example.com https:443 slow: "
                                      "responded in 1.52 s (slow_warn 1s)");
  ck_assert_uint_eq(feed_time(st, t, 1.5, 300), 0); /* steady */
  ck_assert_uint_eq(feed_time(st, t, 6.2, 360), 0);
  ck_assert_uint_eq(feed_time(st, t, 7, 420), 1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_FAILURE);
  ck_assert_str_eq(alerts[0].message, "web.example.com https:443 very slow: "
                                      "responded in 7 s (slow_crit 5s)");
  ck_assert_uint_eq(feed_time(st, t, 0.12, 480), 1); /* up_after = 1 */
  ck_assert_int_eq(alerts[0].severity, PP_SEV_OKAY);
  ck_assert_str_eq(alerts[0].message, "web.example.com https:443 response "
                                      "time normal again: 120 ms");
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(slow_alternating_warn_and_crit_is_confirmed_as_warn) {
  pp_state_table *st = table();
  pp_target *t =
      target("https://web.example.com", "slow_warn=1s", "slow_crit=5s", NULL);
  ck_assert_uint_eq(feed_time(st, t, 6, 0), 0);
  ck_assert_uint_eq(feed_time(st, t, 2, 60), 1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_WARNING);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(slow_is_off_without_thresholds) {
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", NULL);
  for (int i = 0; i < 5; i++)
    ck_assert_uint_eq(feed_time(st, t, 30, i * 60), 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

static size_t feed_quality(pp_state_table *st, const pp_target *t, pp_grade g,
                           double loss, double rtt, double jitter, double at) {
  pp_result r = result(PP_R_OK, at);
  r.icmp_sent = 20;
  r.icmp_received = 20 - (int)(loss / 5);
  r.loss_pct = loss;
  r.rtt_avg = rtt;
  r.jitter = jitter;
  r.quality = g;
  return pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS);
}

START_TEST(quality_grade_changes_are_alerts) {
  pp_state_table *st = table();
  pp_target *t = target("icmp://mail.example.com", NULL);
  ck_assert_uint_eq(feed_quality(st, t, PP_GRADE_GOOD, 0, 0.0004, 0.0001, 0),
                    0);
  ck_assert_uint_eq(feed_quality(st, t, PP_GRADE_BAD, 12, 0.080, 0.005, 60), 1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_QUALITY);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_WARNING);
  ck_assert_int_eq(alerts[0].grade, PP_GRADE_BAD);
  ck_assert_str_eq(alerts[0].message, "mail.example.com icmp quality bad "
                                      "(12% loss, 80 ms, jitter 5 ms)");
  ck_assert_uint_eq(feed_quality(st, t, PP_GRADE_BAD, 14, 0.085, 0.005, 120),
                    0);
  ck_assert_uint_eq(feed_quality(st, t, PP_GRADE_CRITICAL, 40, 0.3, 0.05, 180),
                    1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_FAILURE);
  ck_assert_uint_eq(feed_quality(st, t, PP_GRADE_GOOD, 0, 0.0004, 0.0001, 240),
                    1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_OKAY);
  ck_assert_str_eq(alerts[0].message, "mail.example.com icmp quality good "
                                      "again (0% loss, 0.4 ms, jitter 0.1 "
                                      "ms)");
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(quality_of_a_host_that_does_not_answer_is_left_to_down) {
  pp_state_table *st = table();
  pp_target *t = target("icmp://mail.example.com", NULL);
  feed_quality(st, t, PP_GRADE_GOOD, 0, 0.0004, 0.0001, 0);
  pp_result r = result(PP_R_NO_REPLY, 60);
  r.loss_pct = 100;
  r.quality = PP_GRADE_CRITICAL;
  ck_assert_uint_eq(
      pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS), 0);
  r.time_ns += 60000000000LL;
  ck_assert_uint_eq(
      pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS), 1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_STATE);
  /* back with the same good grade: UP, and no quality alert */
  ck_assert_uint_eq(feed_quality(st, t, PP_GRADE_GOOD, 0, 0.0004, 0.0001, 180),
                    1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_STATE);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

static size_t feed_cert(pp_state_table *st, const pp_target *t, pp_grade g,
                        double days, bool up, double at) {
  pp_result r = result(up ? PP_R_OK : PP_R_TLS_VERIFY_FAILED, at);
  r.tls_used = true;
  r.cert_seen = true;
  r.cert_expiry_s = (int64_t)(days * 86400);
  r.cert_grade = g;
  return pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS);
}

START_TEST(certificate_grade_changes_are_alerts) {
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", NULL);
  ck_assert_uint_eq(feed_cert(st, t, PP_GRADE_GOOD, 30.5, true, 0), 0);
  ck_assert_uint_eq(feed_cert(st, t, PP_GRADE_GOOD, 29.5, true, 60), 0);
  ck_assert_uint_eq(feed_cert(st, t, PP_GRADE_WARNING, 5.5, true, 120), 1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_CERTIFICATE);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_WARNING);
  ck_assert_str_eq(alerts[0].message,
                   "web.example.com https:443 certificate expires in 5 days");
  ck_assert_uint_eq(feed_cert(st, t, PP_GRADE_WARNING, 4.5, true, 180), 0);
  ck_assert_uint_eq(feed_cert(st, t, PP_GRADE_CRITICAL, 1.2, true, 240), 1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_FAILURE);
  ck_assert_str_eq(alerts[0].message,
                   "web.example.com https:443 certificate expires in 1 day");
  ck_assert_uint_eq(feed_cert(st, t, PP_GRADE_GOOD, 90.2, true, 300), 1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_OKAY);
  ck_assert_str_eq(alerts[0].message, "web.example.com https:443 certificate "
                                      "good again, expires in 90 days");
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

static size_t feed_cert_id(pp_state_table *st, const pp_target *t,
                           const char *sha, const char *serial, double at) {
  pp_result r = result(PP_R_OK, at);
  r.tls_used = true;
  r.cert_seen = true;
  r.cert_expiry_s = 90 * 86400 + 3600;
  r.cert_grade = PP_GRADE_GOOD;
  pp_cert_facts f = {0};
  snprintf(f.cert_sha256, sizeof(f.cert_sha256), "%s", sha);
  snprintf(f.cert_serial, sizeof(f.cert_serial), "%s", serial);
  snprintf(f.cert_subject, sizeof(f.cert_subject), "CN=web.example.com");
  r.cert = &f;
  return pp_state_update(st, t, &r, NULL, alerts, PP_STATE_MAX_ALERTS);
}

START_TEST(a_new_certificate_is_one_change_alert_with_both_serials) {
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", NULL);
  ck_assert_uint_eq(feed_cert_id(st, t, "aa01", "0A", 0), 0); /* first seen */
  ck_assert_uint_eq(feed_cert_id(st, t, "aa01", "0A", 60), 0);
  ck_assert_uint_eq(feed_cert_id(st, t, "bb02", "0B", 120), 1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_CERT_CHANGE);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_WARNING);
  ck_assert_str_eq(alerts[0].message,
                   "web.example.com https:443 certificate changed: serial 0A "
                   "-> 0B, CN=web.example.com, expires in 90 days");
  ck_assert_str_eq(alerts[0].cert_previous_serial, "0A");
  ck_assert_str_eq(alerts[0].cert_serial, "0B");
  ck_assert_str_eq(alerts[0].cert_sha256, "bb02");
  ck_assert_uint_eq(feed_cert_id(st, t, "bb02", "0B", 180), 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(signature_grade_changes_are_alerts) {
  pp_state_table *st = table();
  pp_target *t = target("dns://ns1.example.com", "query=example.com", NULL);
  pp_result r = result(PP_R_OK, 0);
  r.rrsig_seen = true;
  r.rrsig_expiry_s = 20 * 86400;
  r.rrsig_grade = PP_GRADE_GOOD;
  ck_assert_uint_eq(pp_state_update(st, t, &r, NULL, alerts, 5), 0);
  r = result(PP_R_OK, 60);
  r.rrsig_seen = true;
  r.rrsig_expiry_s = 2 * 86400 + 600;
  r.rrsig_grade = PP_GRADE_WARNING;
  ck_assert_uint_eq(pp_state_update(st, t, &r, NULL, alerts, 5), 1);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_SIGNATURE);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_WARNING);
  ck_assert_int_eq(alerts[0].rrsig_expiry_s, 2 * 86400 + 600);
  ck_assert_str_eq(alerts[0].message,
                   "ns1.example.com dns:53 DNSSEC signature expires in 2 days");
  r = result(PP_R_OK, 120); /* the same grade again: no news */
  r.rrsig_seen = true;
  r.rrsig_expiry_s = 2 * 86400;
  r.rrsig_grade = PP_GRADE_WARNING;
  ck_assert_uint_eq(pp_state_update(st, t, &r, NULL, alerts, 5), 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(the_certificate_seen_survives_the_state_file) {
  make_tmpdir();
  char path[128], err[512];
  path_in_tmp(path, sizeof(path), "state");
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", NULL);
  feed_cert_id(st, t, "aa01", "0A", 0);
  ck_assert_msg(pp_state_save(st, path, err, sizeof(err)) == 0, "%s", err);
  pp_state_table_free(st);
  st = table();
  ck_assert_msg(pp_state_load(st, path, err, sizeof(err)) == 0, "%s", err);
  ck_assert_uint_eq(feed_cert_id(st, t, "aa01", "0A", 60), 0);
  ck_assert_uint_eq(feed_cert_id(st, t, "cc03", "0C", 120), 1);
  ck_assert_str_eq(alerts[0].cert_previous_serial, "0A");
  pp_target_free(t);
  pp_state_table_free(st);
  remove_tmpdir();
}
END_TEST

START_TEST(expired_certificate_and_down_are_two_alerts) {
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", "down_after=1", NULL);
  ck_assert_uint_eq(feed_cert(st, t, PP_GRADE_CRITICAL, -2.5, false, 0), 2);
  ck_assert_int_eq(alerts[0].kind, PP_ALERT_STATE);
  ck_assert_int_eq(alerts[1].kind, PP_ALERT_CERTIFICATE);
  ck_assert_str_eq(alerts[1].message,
                   "web.example.com https:443 certificate expired 2 days ago");
  ck_assert_int_lt(alerts[1].cert_expiry_s, 0);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

START_TEST(out_array_bounds_the_alerts) {
  pp_state_table *st = table();
  pp_target *t = target("https://web.example.com", "down_after=1", NULL);
  pp_result r = result(PP_R_TLS_VERIFY_FAILED, 0);
  r.cert_seen = true;
  r.cert_grade = PP_GRADE_CRITICAL;
  pp_alert one[1];
  ck_assert_uint_eq(pp_state_update(st, t, &r, NULL, one, 1), 1);
  ck_assert_int_eq(one[0].kind, PP_ALERT_STATE);
  pp_target_free(t);
  pp_state_table_free(st);
}
END_TEST

/* --- words --- */

START_TEST(durations_read_like_people_write_them) {
  char b[32];
  pp_format_duration(b, sizeof(b), 0.4);
  ck_assert_str_eq(b, "0s");
  pp_format_duration(b, sizeof(b), 45);
  ck_assert_str_eq(b, "45s");
  pp_format_duration(b, sizeof(b), 192);
  ck_assert_str_eq(b, "3m 12s");
  pp_format_duration(b, sizeof(b), 300);
  ck_assert_str_eq(b, "5m");
  pp_format_duration(b, sizeof(b), 2 * 3600 + 5 * 60 + 9);
  ck_assert_str_eq(b, "2h 5m");
  pp_format_duration(b, sizeof(b), 3 * 86400 + 4 * 3600);
  ck_assert_str_eq(b, "3d 4h");
  pp_format_duration(b, sizeof(b), -5);
  ck_assert_str_eq(b, "0s");
}
END_TEST

START_TEST(names_of_severities_kinds_and_states) {
  ck_assert_str_eq(pp_severity_name(PP_SEV_OKAY), "okay");
  ck_assert_str_eq(pp_severity_name(PP_SEV_WARNING), "warning");
  ck_assert_str_eq(pp_severity_name(PP_SEV_FAILURE), "failure");
  ck_assert_str_eq(pp_alert_kind_name(PP_ALERT_STATE), "state");
  ck_assert_str_eq(pp_alert_kind_name(PP_ALERT_FLAPPING), "flapping");
  ck_assert_str_eq(pp_alert_kind_name(PP_ALERT_QUALITY), "quality");
  ck_assert_str_eq(pp_alert_kind_name(PP_ALERT_CERTIFICATE), "certificate");
  ck_assert_str_eq(pp_alert_kind_name(PP_ALERT_SLOW), "slow");
  ck_assert_str_eq(pp_alert_kind_name(PP_ALERT_CERT_CHANGE),
                   "certificate_change");
  ck_assert_str_eq(pp_alert_kind_name(PP_ALERT_SIGNATURE), "signature");
  ck_assert_str_eq(pp_tstate_name(PP_TSTATE_DOWN), "down");
}
END_TEST

/* --- the state file --- */

/* A table with a confirmed DOWN target (outage from t=1060), a flapping
 * one, and a named one with a certificate grade. */
static pp_state_table *sample(pp_target **t) {
  pp_state_table *st = table();
  t[0] = target("smtp://mail.example.com", NULL);
  t[1] = target("tcp://db.example.com:5432", "down_after=1", NULL);
  t[2] = target("https://web.example.com/a%20b?x=1", "name=web site #1", NULL);
  feed(st, t[0], PP_R_OK, 1000);
  feed(st, t[0], PP_R_REFUSED, 1060);
  feed(st, t[0], PP_R_REFUSED, 1120);
  for (int i = 0; i < 8; i++)
    feed(st, t[1], i % 2 ? PP_R_REFUSED : PP_R_OK, 1000 + i * 10);
  feed_cert(st, t[2], PP_GRADE_WARNING, 9, true, 1100);
  return st;
}

static void free_sample(pp_state_table *st, pp_target **t) {
  for (int i = 0; i < 3; i++)
    pp_target_free(t[i]);
  pp_state_table_free(st);
}

START_TEST(saved_state_loads_back_and_carries_on) {
  make_tmpdir();
  char path[128], err[512];
  path_in_tmp(path, sizeof(path), "state");
  pp_target *t[3];
  pp_state_table *st = sample(t);
  ck_assert_msg(pp_state_save(st, path, err, sizeof(err)) == 0, "%s", err);
  pp_state_table *back = table();
  ck_assert_msg(pp_state_load(back, path, err, sizeof(err)) == 0, "%s", err);
  ck_assert_uint_eq(pp_state_count(back), 3);

  pp_state_info a, b;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(pp_state_get(st, t[i], &a), 0);
    ck_assert_int_eq(pp_state_get(back, t[i], &b), 0);
    ck_assert_int_eq(a.state, b.state);
    ck_assert_int_eq(a.since_ns, b.since_ns);
    ck_assert_int_eq(a.flapping, b.flapping);
    ck_assert_double_eq_tol(a.flap_pct, b.flap_pct, 1e-9);
    ck_assert_int_eq(a.consecutive, b.consecutive);
    ck_assert_int_eq(a.cert, b.cert);
  }
  ck_assert(b.cert == PP_GRADE_WARNING);
  pp_state_get(back, t[1], &b);
  ck_assert(b.flapping);

  /* the next run: no repeated DOWN, and the recovery knows the outage */
  ck_assert_uint_eq(feed(back, t[0], PP_R_REFUSED, 1180), 0);
  ck_assert_uint_eq(feed(back, t[0], PP_R_OK, 1252), 1);
  ck_assert_str_eq(alerts[0].message,
                   "mail.example.com smtp:25 UP again after 3m 12s");
  pp_state_table_free(back);
  free_sample(st, t);
  remove_tmpdir();
}
END_TEST

START_TEST(save_leaves_no_temporary_file) {
  make_tmpdir();
  char path[128], err[512];
  path_in_tmp(path, sizeof(path), "state");
  pp_target *t[3];
  pp_state_table *st = sample(t);
  ck_assert_int_eq(pp_state_save(st, path, err, sizeof(err)), 0);
  ck_assert_int_eq(pp_state_save(st, path, err, sizeof(err)), 0);
  DIR *d = opendir(tmpdir);
  int files = 0;
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    if (de->d_name[0] != '.') {
      files++;
      ck_assert_str_eq(de->d_name, "state");
    }
  closedir(d);
  ck_assert_int_eq(files, 1);
  size_t len;
  const char *text = read_file(path, &len);
  ck_assert_int_eq(strncmp(text, "portprobe-state 1\n", 18), 0);
  ck_assert_ptr_nonnull(strstr(text, "name=web%20site%20#1"));
  ck_assert_ptr_nonnull(strstr(text, "\nend 3\n"));
  free_sample(st, t);
  remove_tmpdir();
}
END_TEST

START_TEST(save_to_a_missing_directory_is_an_error_naming_the_file) {
  pp_state_table *st = table();
  char err[512];
  ck_assert_int_eq(
      pp_state_save(st, "/nonexistent-dir/state", err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/state"));
  pp_state_table_free(st);
}
END_TEST

START_TEST(targets_unseen_for_a_week_are_dropped_on_save) {
  make_tmpdir();
  char path[128], err[512];
  path_in_tmp(path, sizeof(path), "state");
  pp_state_table *st = table();
  pp_target *old = target("tcp://old.example.com:1", NULL);
  pp_target *cur = target("tcp://new.example.com:1", NULL);
  feed(st, old, PP_R_OK, 0);
  feed(st, cur, PP_R_OK, 8 * 86400);
  ck_assert_int_eq(pp_state_save(st, path, err, sizeof(err)), 0);
  ck_assert_int_eq(pp_state_load(st, path, err, sizeof(err)), 0);
  pp_state_info info;
  ck_assert_int_eq(pp_state_get(st, old, &info), -1);
  ck_assert_int_eq(pp_state_get(st, cur, &info), 0);
  pp_target_free(old);
  pp_target_free(cur);
  pp_state_table_free(st);
  remove_tmpdir();
}
END_TEST

START_TEST(missing_state_file_is_a_first_run) {
  pp_state_table *st = table();
  char err[512] = "";
  ck_assert_int_eq(
      pp_state_load(st, "/nonexistent-dir/state", err, sizeof(err)), 0);
  ck_assert_uint_eq(pp_state_count(st), 0);
  pp_state_table_free(st);
}
END_TEST

/* Loads text from a file and expects it refused with words in the error. */
static void expect_refused(const char *text, size_t len, const char *words) {
  char path[128], err[512] = "";
  path_in_tmp(path, sizeof(path), "bad");
  write_file(path, text, len);
  pp_state_table *st = table();
  /* something in the table beforehand, to see it cleared */
  pp_target *t = target("tcp://x.example.com:1", NULL);
  feed(st, t, PP_R_OK, 0);
  ck_assert_int_eq(pp_state_load(st, path, err, sizeof(err)), -1);
  ck_assert_uint_eq(pp_state_count(st), 0);
  ck_assert_msg(strstr(err, path) != NULL, "error does not name %s: %s", path,
                err);
  if (words)
    ck_assert_msg(strstr(err, words) != NULL, "expected \"%s\" in: %s", words,
                  err);
  pp_target_free(t);
  pp_state_table_free(st);
}

START_TEST(foreign_file_is_reported_and_ignored) {
  make_tmpdir();
  const char *ini = "[web]\nurl = https://web.example.com\n";
  expect_refused(ini, strlen(ini), "not a portprobe state file");
  const char *elf = "\x7f"
                    "ELF\x02\x01\x01\0\0\0";
  expect_refused(elf, 10, "not a portprobe state file");
  const char *bin = "portprobe-state 1\ntarget url=tcp://a:1\x01 state=up\n"
                    "end 1\n";
  expect_refused(bin, strlen(bin), "not text");
  expect_refused("", 0, "empty");
  expect_refused("portprobe-statefoo 1\nend 0\n", 27,
                 "not a portprobe state file");
  remove_tmpdir();
}
END_TEST

START_TEST(newer_format_is_reported_and_ignored) {
  make_tmpdir();
  const char *v2 = "portprobe-state 2\nend 0\n";
  expect_refused(v2, strlen(v2), "format 2");
  remove_tmpdir();
}
END_TEST

START_TEST(bad_line_is_reported_with_its_number) {
  make_tmpdir();
  const char *bad = "portprobe-state 1\n# comment\n"
                    "target url=tcp://a:1 state=sideways\nend 1\n";
  expect_refused(bad, strlen(bad), "line 3: bad state");
  const char *dup = "portprobe-state 1\n"
                    "target url=tcp://a:1 state=up\n"
                    "target url=tcp://a:1 state=down\nend 2\n";
  expect_refused(dup, strlen(dup), "line 3: the same target twice");
  const char *num = "portprobe-state 1\n"
                    "target url=tcp://a:1 state=up fails=99999999999999999999\n"
                    "end 1\n";
  expect_refused(num, strlen(num), "line 2: bad value");
  const char *esc = "portprobe-state 1\ntarget url=tcp://a%0:1 state=up\n"
                    "end 1\n";
  expect_refused(esc, strlen(esc), "line 2: bad url");
  const char *nul = "portprobe-state 1\ntarget url=tcp://a%00 state=up\n"
                    "end 1\n";
  expect_refused(nul, strlen(nul), "line 2: bad url");
  const char *count = "portprobe-state 1\ntarget url=tcp://a:1 state=up\n"
                      "end 2\n";
  expect_refused(count, strlen(count), "count");
  const char *hex = "portprobe-state 1\ntarget url=https://w state=up "
                    "cert_sha256=zz\nend 1\n";
  expect_refused(hex, strlen(hex), "line 2: bad value");
  remove_tmpdir();
}
END_TEST

START_TEST(every_truncation_of_a_state_file_is_refused) {
  make_tmpdir();
  char path[128], err[512];
  path_in_tmp(path, sizeof(path), "state");
  pp_target *t[3];
  pp_state_table *st = sample(t);
  ck_assert_int_eq(pp_state_save(st, path, err, sizeof(err)), 0);
  size_t len;
  char *text = read_file(path, &len);
  char *copy = malloc(len);
  memcpy(copy, text, len);
  for (size_t cut = 0; cut < len; cut++)
    expect_refused(copy, cut, NULL);
  free(copy);
  free_sample(st, t);
  remove_tmpdir();
}
END_TEST

START_TEST(garbled_state_files_never_crash_and_never_half_load) {
  make_tmpdir();
  char path[128], bad[128], err[512];
  path_in_tmp(path, sizeof(path), "state");
  path_in_tmp(bad, sizeof(bad), "garbled");
  pp_target *t[3];
  pp_state_table *st = sample(t);
  ck_assert_int_eq(pp_state_save(st, path, err, sizeof(err)), 0);
  size_t len;
  char *text = read_file(path, &len);
  char *copy = malloc(len);
  unsigned seed = 12345;
  pp_state_table *back = table();
  int refused = 0;
  for (int round = 0; round < 400; round++) {
    memcpy(copy, text, len);
    int flips = 1 + round % 4;
    for (int k = 0; k < flips; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % len;
      seed = seed * 1103515245u + 12345u;
      copy[at] = (char)(seed >> 16);
    }
    write_file(bad, copy, len);
    int rc = pp_state_load(back, bad, err, sizeof(err));
    if (rc != 0) {
      refused++;
      ck_assert_uint_eq(pp_state_count(back), 0);
    } else {
      ck_assert_uint_le(pp_state_count(back), 3);
    }
  }
  /* most damage is caught; some (a digit for a digit) is still a file */
  ck_assert_int_gt(refused, 200);
  pp_state_table_free(back);
  free(copy);
  free_sample(st, t);
  remove_tmpdir();
}
END_TEST

START_TEST(unknown_keys_from_a_later_version_are_skipped) {
  make_tmpdir();
  char path[128], err[512];
  path_in_tmp(path, sizeof(path), "state");
  const char *text = "portprobe-state 1\n"
                     "target url=tcp://a.example.com:1 state=down fails=2 "
                     "since=5 streak=5 last=65 history=dd future_key=7\n"
                     "end 1\n";
  write_file(path, text, strlen(text));
  pp_state_table *st = table();
  ck_assert_msg(pp_state_load(st, path, err, sizeof(err)) == 0, "%s", err);
  pp_target *t = target("tcp://a.example.com:1", NULL);
  pp_state_info info;
  ck_assert_int_eq(pp_state_get(st, t, &info), 0);
  ck_assert_int_eq(info.state, PP_TSTATE_DOWN);
  ck_assert_uint_eq(feed(st, t, PP_R_REFUSED, 125), 0); /* still down */
  pp_target_free(t);
  pp_state_table_free(st);
  remove_tmpdir();
}
END_TEST

START_TEST(overlong_line_is_refused) {
  make_tmpdir();
  size_t n = 20000;
  char *text = malloc(n + 64);
  int o = sprintf(text, "portprobe-state 1\ntarget url=tcp://");
  memset(text + o, 'a', n);
  strcpy(text + o + n, ":1 state=up\nend 1\n");
  expect_refused(text, strlen(text), "line 2: line too long");
  free(text);
  remove_tmpdir();
}
END_TEST

int main(void) {
  Suite *s = suite_create("state");
  TCase *tc = tcase_create("transitions");
  tcase_add_test(tc, down_is_confirmed_after_down_after_failures);
  tcase_add_test(tc, default_down_after_is_two);
  tcase_add_test(tc, single_failure_between_successes_is_silent);
  tcase_add_test(tc, first_up_after_start_is_not_announced);
  tcase_add_test(tc, state_is_unknown_until_confirmed);
  tcase_add_test(tc, steady_down_is_announced_once);
  tcase_add_test(tc, steady_up_is_never_announced);
  tcase_add_test(tc, changing_failure_class_while_down_is_not_news);
  tcase_add_test(tc, recovery_needs_up_after_successes);
  tcase_add_test(tc, recovery_says_how_long_the_outage_lasted);
  tcase_add_test(tc, outage_runs_to_the_first_success_of_the_recovery);
  tcase_add_test(tc, down_message_has_diagnosis_and_what_the_server_said);
  tcase_add_test(tc, down_message_gives_detail_unless_it_restates_errno);
  tcase_add_test(tc, message_is_one_line_even_if_detail_is_not);
  tcase_add_test(tc, ipv6_host_is_bracketed_and_icmp_has_no_port);
  tcase_add_test(tc, state_follows_name_and_url_not_position);
  suite_add_tcase(s, tc);

  tc = tcase_create("flapping");
  tcase_add_test(tc, flap_percent_weights_recent_changes_more);
  tcase_add_test(tc, flapping_starts_with_one_alert_and_silences_up_down);
  tcase_add_test(tc, flapping_message_says_the_percentage);
  tcase_add_test(tc, flapping_stops_below_flap_low_with_one_alert);
  tcase_add_test(tc, flapping_that_ends_down_is_a_failure);
  tcase_add_test(tc, blips_absorbed_by_down_after_are_not_flapping);
  tcase_add_test(tc, unconfirmed_checks_at_start_are_no_state_change);
  tcase_add_test(tc, confirmed_changes_make_flapping_whatever_down_after);
  tcase_add_test(tc, flap_thresholds_are_options);
  suite_add_tcase(s, tc);

  tc = tcase_create("grades");
  tcase_add_test(tc, slow_warn_and_crit_are_confirmed_transitions);
  tcase_add_test(tc, slow_alternating_warn_and_crit_is_confirmed_as_warn);
  tcase_add_test(tc, slow_is_off_without_thresholds);
  tcase_add_test(tc, quality_grade_changes_are_alerts);
  tcase_add_test(tc, quality_of_a_host_that_does_not_answer_is_left_to_down);
  tcase_add_test(tc, certificate_grade_changes_are_alerts);
  tcase_add_test(tc, a_new_certificate_is_one_change_alert_with_both_serials);
  tcase_add_test(tc, the_certificate_seen_survives_the_state_file);
  tcase_add_test(tc, signature_grade_changes_are_alerts);
  tcase_add_test(tc, expired_certificate_and_down_are_two_alerts);
  tcase_add_test(tc, out_array_bounds_the_alerts);
  suite_add_tcase(s, tc);

  tc = tcase_create("words");
  tcase_add_test(tc, durations_read_like_people_write_them);
  tcase_add_test(tc, names_of_severities_kinds_and_states);
  suite_add_tcase(s, tc);

  tc = tcase_create("file");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, saved_state_loads_back_and_carries_on);
  tcase_add_test(tc, save_leaves_no_temporary_file);
  tcase_add_test(tc, save_to_a_missing_directory_is_an_error_naming_the_file);
  tcase_add_test(tc, targets_unseen_for_a_week_are_dropped_on_save);
  tcase_add_test(tc, missing_state_file_is_a_first_run);
  tcase_add_test(tc, foreign_file_is_reported_and_ignored);
  tcase_add_test(tc, newer_format_is_reported_and_ignored);
  tcase_add_test(tc, bad_line_is_reported_with_its_number);
  tcase_add_test(tc, every_truncation_of_a_state_file_is_refused);
  tcase_add_test(tc, garbled_state_files_never_crash_and_never_half_load);
  tcase_add_test(tc, unknown_keys_from_a_later_version_are_skipped);
  tcase_add_test(tc, overlong_line_is_refused);
  suite_add_tcase(s, tc);

  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
