/* Host diagnosis: ping and port results read together. */
#include "diagnosis.h"

#include <check.h>
#include <string.h>

static pp_result ping_ok(double loss, double rtt_ms, pp_grade q) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.code = PP_R_OK;
  r.icmp_sent = 5;
  r.icmp_received = 5 - (int)(loss / 20);
  r.loss_pct = loss;
  r.rtt_avg = rtt_ms / 1000;
  r.jitter = 0.0001;
  r.quality = q;
  return r;
}

static pp_result failed(pp_result_code code) {
  pp_result r;
  pp_result_reset(&r);
  r.code = code;
  r.phase = code == PP_R_TIMEOUT ? PP_PHASE_CONNECT : PP_PHASE_NONE;
  r.port = 25;
  if (code == PP_R_NO_REPLY) {
    r.icmp_sent = 5;
    r.loss_pct = 100;
    r.quality = PP_GRADE_CRITICAL;
  }
  return r;
}

static pp_result port_up(void) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.code = PP_R_OK;
  r.port = 25;
  return r;
}

static pp_diagnosis diagnose(const pp_result *icmp, const pp_result *ports,
                             size_t n, char *text) {
  pp_diag_input in = {NULL, icmp};
  pp_diag_input pin[8];
  for (size_t i = 0; i < n; i++) {
    pin[i].target = NULL;
    pin[i].result = &ports[i];
  }
  return pp_diagnose(icmp ? &in : NULL, pin, n, text, 256);
}

START_TEST(ping_and_ports_up_is_ok) {
  pp_result p = ping_ok(0, 0.4, PP_GRADE_GOOD);
  pp_result ports[2] = {port_up(), port_up()};
  char text[256];
  ck_assert_int_eq(diagnose(&p, ports, 2, text), PP_DIAG_OK);
  ck_assert_str_eq(text, "host up: ping 0% loss, rtt 0.40 ms, jitter 0.10 ms, "
                         "quality good; 2 of 2 ports up");
}
END_TEST

START_TEST(no_ping_and_silent_ports_is_host_down) {
  pp_result p = failed(PP_R_NO_REPLY);
  pp_result ports[2] = {failed(PP_R_TIMEOUT), failed(PP_R_UNREACHABLE)};
  char text[256];
  ck_assert_int_eq(diagnose(&p, ports, 2, text), PP_DIAG_HOST_DOWN);
  ck_assert_str_eq(text, "host down: no echo reply, no port of 2 answers");
}
END_TEST

START_TEST(ping_alone_lost_is_host_down) {
  pp_result p = failed(PP_R_NO_REPLY);
  char text[256];
  ck_assert_int_eq(diagnose(&p, NULL, 0, text), PP_DIAG_HOST_DOWN);
  ck_assert_str_eq(text, "host down: no echo reply");
}
END_TEST

START_TEST(ping_unreachable_says_why) {
  pp_result p = failed(PP_R_UNREACHABLE);
  strcpy(p.detail, "host unreachable from 10.0.0.1");
  pp_result port = failed(PP_R_TIMEOUT);
  char text[256];
  ck_assert_int_eq(diagnose(&p, &port, 1, text), PP_DIAG_HOST_DOWN);
  ck_assert_str_eq(text, "host down: ping unreachable (host unreachable "
                         "from 10.0.0.1), port 25 timeout (connect)");
}
END_TEST

START_TEST(ping_up_and_port_refused_is_service_down) {
  pp_result p = ping_ok(0, 1, PP_GRADE_GOOD);
  pp_result ports[2] = {port_up(), failed(PP_R_REFUSED)};
  char text[256];
  ck_assert_int_eq(diagnose(&p, ports, 2, text), PP_DIAG_SERVICE_DOWN);
  ck_assert_ptr_nonnull(strstr(text, "service down: port 25 refused"));
  ck_assert_ptr_nonnull(strstr(text, "host up: ping 0% loss"));
}
END_TEST

START_TEST(ping_up_and_port_silent_is_service_down) {
  pp_result p = ping_ok(0, 1, PP_GRADE_GOOD);
  pp_result port = failed(PP_R_TIMEOUT);
  ck_assert_int_eq(diagnose(&p, &port, 1, NULL), PP_DIAG_SERVICE_DOWN);
}
END_TEST

START_TEST(no_ping_but_ports_up_is_icmp_filtered) {
  pp_result p = failed(PP_R_NO_REPLY);
  pp_result ports[2] = {port_up(), port_up()};
  char text[256];
  ck_assert_int_eq(diagnose(&p, ports, 2, text), PP_DIAG_ICMP_FILTERED);
  ck_assert_str_eq(text, "ICMP filtered: no echo reply, 2 of 2 ports up");
}
END_TEST

START_TEST(no_ping_and_port_refused_is_service_down) {
  /* a refusal is a packet from the host: it is alive */
  pp_result p = failed(PP_R_NO_REPLY);
  pp_result port = failed(PP_R_REFUSED);
  char text[256];
  ck_assert_int_eq(diagnose(&p, &port, 1, text), PP_DIAG_SERVICE_DOWN);
  ck_assert_ptr_nonnull(strstr(text, "(ICMP filtered)"));
}
END_TEST

START_TEST(poor_quality_is_degraded) {
  pp_result p = ping_ok(40, 3, PP_GRADE_CRITICAL);
  pp_result port = port_up();
  char text[256];
  ck_assert_int_eq(diagnose(&p, &port, 1, text), PP_DIAG_DEGRADED);
  ck_assert_ptr_nonnull(strstr(text, "degraded: ping 40% loss"));
  ck_assert_ptr_nonnull(strstr(text, "quality critical"));
}
END_TEST

START_TEST(warning_quality_is_degraded) {
  pp_result p = ping_ok(0, 120, PP_GRADE_WARNING);
  ck_assert_int_eq(diagnose(&p, NULL, 0, NULL), PP_DIAG_DEGRADED);
}
END_TEST

START_TEST(bad_path_explains_port_timeouts) {
  pp_result p = ping_ok(60, 3, PP_GRADE_CRITICAL);
  pp_result port = failed(PP_R_TIMEOUT);
  char text[256];
  ck_assert_int_eq(diagnose(&p, &port, 1, text), PP_DIAG_DEGRADED);
  ck_assert_ptr_nonnull(strstr(text, "port 25 timeout (connect)"));
}
END_TEST

START_TEST(bad_path_does_not_hide_a_refusal) {
  pp_result p = ping_ok(60, 3, PP_GRADE_CRITICAL);
  pp_result port = failed(PP_R_REFUSED);
  ck_assert_int_eq(diagnose(&p, &port, 1, NULL), PP_DIAG_SERVICE_DOWN);
}
END_TEST

START_TEST(without_icmp_ports_up_is_ok) {
  pp_result ports[2] = {port_up(), port_up()};
  char text[256];
  ck_assert_int_eq(diagnose(NULL, ports, 2, text), PP_DIAG_OK);
  ck_assert_str_eq(text, "host up: 2 of 2 ports up (no ping)");
}
END_TEST

START_TEST(without_icmp_silent_ports_is_host_down) {
  pp_result ports[2] = {failed(PP_R_TIMEOUT), failed(PP_R_TIMEOUT)};
  ck_assert_int_eq(diagnose(NULL, ports, 2, NULL), PP_DIAG_HOST_DOWN);
}
END_TEST

START_TEST(without_icmp_one_port_down_is_service_down) {
  pp_result ports[2] = {port_up(), failed(PP_R_TIMEOUT)};
  ck_assert_int_eq(diagnose(NULL, ports, 2, NULL), PP_DIAG_SERVICE_DOWN);
}
END_TEST

START_TEST(icmp_socket_error_is_judged_on_ports) {
  pp_result p = failed(PP_R_SOCKET_ERROR);
  pp_result port = port_up();
  ck_assert_int_eq(diagnose(&p, &port, 1, NULL), PP_DIAG_OK);
}
END_TEST

START_TEST(nothing_measured_is_unknown) {
  pp_result p = failed(PP_R_SOCKET_ERROR);
  strcpy(p.detail, "no ICMP socket allowed");
  char text[256];
  ck_assert_int_eq(diagnose(&p, NULL, 0, text), PP_DIAG_UNKNOWN);
  ck_assert_str_eq(text, "nothing measured: no ICMP socket allowed");
}
END_TEST

START_TEST(port_names_come_from_targets) {
  char err[256];
  pp_target *t = pp_target_new("smtp://mail.example.com", err, sizeof(err));
  ck_assert_ptr_nonnull(t);
  pp_result p = ping_ok(0, 1, PP_GRADE_GOOD);
  pp_result port = failed(PP_R_REFUSED);
  pp_diag_input icmp = {NULL, &p}, in = {t, &port};
  char text[256];
  pp_diagnose(&icmp, &in, 1, text, sizeof(text));
  ck_assert_ptr_nonnull(
      strstr(text, "service down: smtp://mail.example.com refused"));
  pp_target_free(t);
}
END_TEST

START_TEST(short_text_buffer_is_cut_safely) {
  pp_result p = ping_ok(0, 1, PP_GRADE_GOOD);
  char text[12];
  pp_diag_input icmp = {NULL, &p};
  ck_assert_int_eq(pp_diagnose(&icmp, NULL, 0, text, sizeof(text)), PP_DIAG_OK);
  ck_assert_uint_eq(strlen(text), sizeof(text) - 1);
}
END_TEST

START_TEST(every_diagnosis_has_a_distinct_name) {
  for (int a = 0; a < PP_DIAG_COUNT; a++)
    for (int b = a + 1; b < PP_DIAG_COUNT; b++)
      ck_assert_str_ne(pp_diagnosis_name(a), pp_diagnosis_name(b));
  ck_assert_str_eq(pp_diagnosis_name(PP_DIAG_ICMP_FILTERED), "icmp_filtered");
}
END_TEST

int main(void) {
  Suite *s = suite_create("diagnosis");
  TCase *tc = tcase_create("diagnosis");
  tcase_add_test(tc, ping_and_ports_up_is_ok);
  tcase_add_test(tc, no_ping_and_silent_ports_is_host_down);
  tcase_add_test(tc, ping_alone_lost_is_host_down);
  tcase_add_test(tc, ping_unreachable_says_why);
  tcase_add_test(tc, ping_up_and_port_refused_is_service_down);
  tcase_add_test(tc, ping_up_and_port_silent_is_service_down);
  tcase_add_test(tc, no_ping_but_ports_up_is_icmp_filtered);
  tcase_add_test(tc, no_ping_and_port_refused_is_service_down);
  tcase_add_test(tc, poor_quality_is_degraded);
  tcase_add_test(tc, warning_quality_is_degraded);
  tcase_add_test(tc, bad_path_explains_port_timeouts);
  tcase_add_test(tc, bad_path_does_not_hide_a_refusal);
  tcase_add_test(tc, without_icmp_ports_up_is_ok);
  tcase_add_test(tc, without_icmp_silent_ports_is_host_down);
  tcase_add_test(tc, without_icmp_one_port_down_is_service_down);
  tcase_add_test(tc, icmp_socket_error_is_judged_on_ports);
  tcase_add_test(tc, nothing_measured_is_unknown);
  tcase_add_test(tc, port_names_come_from_targets);
  tcase_add_test(tc, short_text_buffer_is_cut_safely);
  tcase_add_test(tc, every_diagnosis_has_a_distinct_name);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
