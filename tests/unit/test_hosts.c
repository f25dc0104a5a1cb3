/* Host groups: which targets are diagnosed together, and the one wording
 * every front end shows (HOST lines, DOWN messages, notifications). */
#include "hosts.h"
#include "state.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static pp_target *target(const char *url, const char *group) {
  char err[256];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  ck_assert_int_eq(pp_target_set_group(t, group), 0);
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), 0);
  return t;
}

static pp_result ping_up(void) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.code = PP_R_OK;
  r.icmp_sent = r.icmp_received = 5;
  r.loss_pct = 0;
  r.rtt_avg = 0.0004;
  r.quality = PP_GRADE_GOOD;
  return r;
}

static pp_result ping_lost(void) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_NO_REPLY;
  r.phase = PP_PHASE_ICMP;
  r.icmp_sent = 5;
  r.loss_pct = 100;
  r.quality = PP_GRADE_CRITICAL;
  return r;
}

static pp_result failed(pp_result_code code, const char *detail) {
  pp_result r;
  pp_result_reset(&r);
  r.code = code;
  r.phase = code == PP_R_DNS_FAILED ? PP_PHASE_DNS : PP_PHASE_CONNECT;
  r.port = 5432;
  snprintf(r.detail, sizeof(r.detail), "%s", detail);
  return r;
}

/* One round of up to 4 targets (URL, <Host> block or NULL, result): the
 * message of the DOWN alert of target i once it is confirmed (two failures:
 * down_after's default), as every front end's round makes it. */
static void down_message(const char *const *urls, const char *const *blocks,
                         const pp_result *results, size_t n, size_t i,
                         char *msg, size_t len) {
  pp_target *targets[4];
  for (size_t j = 0; j < n; j++)
    targets[j] = target(urls[j], blocks[j]);
  pp_hosts *hosts = pp_hosts_new(targets, n);
  ck_assert_ptr_nonnull(hosts);
  pp_state_table *st = pp_state_table_new();
  ck_assert_ptr_nonnull(st);
  pp_alert alerts[PP_STATE_MAX_ALERTS];
  size_t na = 0;
  for (int round = 0; round < 2; round++) {
    char diagnosis[PP_DIAGNOSIS_MAX];
    pp_hosts_diagnose_target(hosts, i, results, diagnosis, sizeof(diagnosis));
    na = pp_state_update(st, targets[i], &results[i], diagnosis, alerts,
                         PP_STATE_MAX_ALERTS);
  }
  ck_assert_uint_eq(na, 1);
  ck_assert_int_eq(alerts[0].severity, PP_SEV_FAILURE);
  snprintf(msg, len, "%s", alerts[0].message);
  pp_state_table_free(st);
  pp_hosts_free(hosts);
  for (size_t j = 0; j < n; j++)
    pp_target_free(targets[j]);
}

#define MSG_MAX sizeof(((pp_alert *)0)->message)

START_TEST(host_block_port_down_with_ping_up_says_service_down_host_up) {
  const char *urls[] = {"icmp://192.0.2.7", "tcp://192.0.2.7:5432"};
  const char *blocks[] = {"web", "web"};
  pp_result results[] = {ping_up(), failed(PP_R_REFUSED, "")};
  char msg[MSG_MAX];
  down_message(urls, blocks, results, 2, 1, msg, sizeof(msg));
  ck_assert_msg(strstr(msg, "DOWN") != NULL, "%s", msg);
  ck_assert_msg(strstr(msg, "(service down: ") != NULL, "%s", msg);
  ck_assert_msg(strstr(msg, "; host up: ping 0% loss") != NULL, "%s", msg);
}
END_TEST

START_TEST(host_block_port_down_with_ping_lost_says_host_down) {
  const char *urls[] = {"icmp://192.0.2.7", "tcp://192.0.2.7:5432"};
  const char *blocks[] = {"web", "web"};
  pp_result results[] = {ping_lost(), failed(PP_R_TIMEOUT, "")};
  char msg[MSG_MAX];
  down_message(urls, blocks, results, 2, 1, msg, sizeof(msg));
  ck_assert_msg(strstr(msg, "(host down: no echo reply") != NULL, "%s", msg);
  ck_assert_msg(strstr(msg, "service down") == NULL, "%s", msg);
}
END_TEST

START_TEST(host_block_diagnosis_reads_only_its_own_block) {
  /* the same address in another block, whose ping is lost: not ours */
  const char *urls[] = {"icmp://192.0.2.7", "icmp://192.0.2.7",
                        "tcp://192.0.2.7:5432"};
  const char *blocks[] = {"other", "web", "web"};
  pp_result results[] = {ping_lost(), ping_up(), failed(PP_R_REFUSED, "")};
  char msg[MSG_MAX];
  down_message(urls, blocks, results, 3, 2, msg, sizeof(msg));
  ck_assert_msg(strstr(msg, "(service down: ") != NULL, "%s", msg);
  ck_assert_msg(strstr(msg, "host down") == NULL, "%s", msg);
}
END_TEST

START_TEST(outside_blocks_the_alert_says_what_the_host_line_says) {
  /* one wording for one host: the alert's diagnosis is the HOST line's */
  pp_target *t[] = {target("smtp://mail.example.com", NULL),
                    target("icmp://MAIL.example.com", NULL),
                    target("imap://other.example.com", NULL)};
  pp_result r[] = {failed(PP_R_REFUSED, ""), ping_up(),
                   failed(PP_R_REFUSED, "")};
  pp_hosts *h = pp_hosts_new(t, 3);
  ck_assert_uint_eq(pp_hosts_count(h), 1); /* other.example.com: no ping */
  ck_assert_str_eq(pp_hosts_name(h, 0), "MAIL.example.com");
  char line[PP_DIAGNOSIS_MAX], alert[PP_DIAGNOSIS_MAX];
  ck_assert_int_eq(pp_hosts_diagnose(h, 0, r, line, sizeof(line)),
                   PP_DIAG_SERVICE_DOWN);
  pp_hosts_diagnose_target(h, 0, r, alert, sizeof(alert));
  ck_assert_str_eq(alert, line);
  ck_assert_str_eq(line, "service down: smtp://mail.example.com refused; "
                         "host up: ping 0% loss, rtt 0.40 ms, quality good");
  pp_hosts_diagnose_target(h, 2, r, alert, sizeof(alert));
  ck_assert_str_eq(alert, ""); /* no ping beside it */
  pp_hosts_diagnose_target(h, 1, r, alert, sizeof(alert));
  ck_assert_str_eq(alert, "");                       /* the ping itself */
  r[1] = failed(PP_R_SOCKET_ERROR, "no raw socket"); /* says nothing */
  pp_hosts_diagnose_target(h, 0, r, alert, sizeof(alert));
  ck_assert_msg(strstr(alert, "host down") == NULL, "%s", alert);
  pp_hosts_free(h);
  for (int i = 0; i < 3; i++)
    pp_target_free(t[i]);
}
END_TEST

START_TEST(a_name_that_does_not_resolve_is_its_own_diagnosis) {
  pp_target *t[] = {target("smtp://gone.example", NULL),
                    target("icmp://gone.example", NULL)};
  pp_result r[] = {failed(PP_R_DNS_FAILED, "gone.example: no such name"),
                   failed(PP_R_DNS_FAILED, "gone.example: no such name")};
  pp_hosts *h = pp_hosts_new(t, 2);
  char text[PP_DIAGNOSIS_MAX];
  ck_assert_int_eq(pp_hosts_diagnose(h, 0, r, text, sizeof(text)),
                   PP_DIAG_DNS_FAILED);
  ck_assert_str_eq(pp_diagnosis_name(PP_DIAG_DNS_FAILED), "dns_failed");
  ck_assert_str_eq(text, "name does not resolve: gone.example: no such name");
  pp_hosts_free(h);
  for (int i = 0; i < 2; i++)
    pp_target_free(t[i]);
}
END_TEST

START_TEST(a_host_block_without_ping_is_diagnosed_by_its_ports) {
  pp_target *t[] = {target("tcp://192.0.2.9:1", "db"),
                    target("tcp://192.0.2.9:2", "db")};
  pp_result r[] = {failed(PP_R_REFUSED, ""), failed(PP_R_REFUSED, "")};
  r[1].up = true;
  r[1].code = PP_R_OK;
  pp_hosts *h = pp_hosts_new(t, 2);
  ck_assert_uint_eq(pp_hosts_count(h), 1);
  ck_assert_int_eq(pp_hosts_is_ping(h, 0), 0);
  char text[PP_DIAGNOSIS_MAX];
  ck_assert_int_eq(pp_hosts_diagnose(h, 0, r, text, sizeof(text)),
                   PP_DIAG_SERVICE_DOWN);
  pp_hosts_free(h);
  for (int i = 0; i < 2; i++)
    pp_target_free(t[i]);
}
END_TEST

Suite *hosts_suite(void);
Suite *hosts_suite(void) {
  Suite *s = suite_create("hosts");
  TCase *tc = tcase_create("hosts");
  tcase_add_test(tc,
                 host_block_port_down_with_ping_up_says_service_down_host_up);
  tcase_add_test(tc, host_block_port_down_with_ping_lost_says_host_down);
  tcase_add_test(tc, host_block_diagnosis_reads_only_its_own_block);
  tcase_add_test(tc, outside_blocks_the_alert_says_what_the_host_line_says);
  tcase_add_test(tc, a_name_that_does_not_resolve_is_its_own_diagnosis);
  tcase_add_test(tc, a_host_block_without_ping_is_diagnosed_by_its_ports);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(hosts_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
