/* Which collectd values a result becomes: types, type instances, units. */
#include "plugin_values.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ppc_value vals[PPC_VALUES_MAX];
static size_t nvals;

static pp_target *target(const char *url) {
  char err[256];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), 0);
  return t;
}

static void values_with_state(const char *url, const pp_result *r,
                              const pp_state_info *st) {
  pp_target *t = target(url);
  nvals = ppc_values(t, r, st, vals);
  pp_target_free(t);
}

static void values_of(const char *url, const pp_result *r) {
  values_with_state(url, r, NULL);
}

/* The value of type-instance, or NAN when it was not sent. */
static double value(const char *type, const char *instance) {
  for (size_t i = 0; i < nvals; i++)
    if (strcmp(vals[i].type, type) == 0 &&
        strcmp(vals[i].type_instance, instance) == 0)
      return vals[i].value;
  return NAN;
}

START_TEST(up_target_reports_up_and_its_response_times) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.t_dns = 0.002;
  r.t_connect = 0.010;
  r.t_total = 0.012;
  values_of("tcp://db.example.com:5432", &r);
  ck_assert_double_eq(value("bool", "up"), 1);
  ck_assert_double_eq(value("response_time", "total"), 0.012);
  ck_assert_double_eq(value("response_time", "dns"), 0.002);
  ck_assert_double_eq(value("response_time", "connect"), 0.010);
  ck_assert(isnan(value("response_time", "tls")));
  ck_assert(isnan(value("timeleft", "cert_expiry")));
  ck_assert_int_eq(nvals, 4);
}
END_TEST

START_TEST(down_target_reports_zero_and_no_total) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_REFUSED;
  r.phase = PP_PHASE_CONNECT;
  r.t_total = 0.0003;
  values_of("tcp://127.0.0.1:1", &r);
  ck_assert_double_eq(value("bool", "up"), 0);
  ck_assert(isnan(value("response_time", "total")));
  ck_assert(isnan(value("response_time", "connect")));
  ck_assert_int_eq(nvals, 1);
}
END_TEST

START_TEST(tls_target_reports_phases_and_cert_expiry_even_when_past) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_TLS_VERIFY_FAILED;
  r.t_connect = 0.001;
  r.t_tls = 0.004;
  r.cert_seen = true;
  r.cert_expiry_s = -86400;
  values_of("tls://www.example.com:443", &r);
  ck_assert_double_eq(value("bool", "up"), 0);
  ck_assert_double_eq(value("response_time", "tls"), 0.004);
  ck_assert_double_eq(value("timeleft", "cert_expiry"), -86400);
}
END_TEST

START_TEST(tls_target_reports_chain_expiry_and_stapled_ocsp) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_CERT_REVOKED;
  r.cert_seen = r.chain_seen = true;
  r.cert_expiry_s = 300 * 86400;
  r.chain_expiry_s = 10 * 86400;
  r.ocsp_status = PP_OCSP_REVOKED;
  r.ocsp_next_update_s = 3600;
  values_of("https://www.example.com/", &r);
  ck_assert_double_eq(value("timeleft", "chain_expiry"), 10 * 86400);
  ck_assert_double_eq(value("portprobe_ocsp", ""), 2);
  ck_assert_double_eq(value("timeleft", "ocsp_next_update"), 3600);
  r.ocsp_status = PP_OCSP_NONE;
  values_of("https://www.example.com/", &r);
  ck_assert_double_eq(value("portprobe_ocsp", ""), 0);
  ck_assert(isnan(value("timeleft", "ocsp_next_update")));
}
END_TEST

START_TEST(http_target_reports_status_and_first_byte) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_HTTP_STATUS;
  r.http_status = 503;
  r.t_connect = 0.001;
  r.t_first_byte = 0.050;
  values_of("http://www.example.com/", &r);
  ck_assert_double_eq(value("portprobe_http_status", ""), 503);
  ck_assert_double_eq(value("response_time", "first_byte"), 0.050);
}
END_TEST

START_TEST(icmp_target_reports_ping_types_in_collectd_units) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.t_total = 1.0;
  r.icmp_sent = 5;
  r.icmp_received = 4;
  r.loss_pct = 20;
  r.rtt_avg = 0.0125;
  r.rtt_stddev = 0.002;
  r.jitter = 0.003;
  r.quality = PP_GRADE_WARNING;
  values_of("icmp://192.0.2.1", &r);
  ck_assert_double_eq(value("bool", "up"), 1);
  ck_assert_double_eq_tol(value("ping", ""), 12.5, 1e-9);
  ck_assert_double_eq_tol(value("ping_stddev", ""), 2.0, 1e-9);
  ck_assert_double_eq_tol(value("ping_droprate", ""), 0.2, 1e-9);
  ck_assert_double_eq_tol(value("portprobe_jitter", ""), 3.0, 1e-9);
  ck_assert_double_eq(value("portprobe_quality", ""), 2);
}
END_TEST

START_TEST(icmp_target_with_no_reply_reports_full_loss_and_no_rtt) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_NO_REPLY;
  r.icmp_sent = 5;
  r.icmp_received = 0;
  r.loss_pct = 100;
  values_of("icmp://192.0.2.1", &r);
  ck_assert_double_eq(value("bool", "up"), 0);
  ck_assert_double_eq(value("ping_droprate", ""), 1);
  ck_assert(isnan(value("ping", "")));
  ck_assert(isnan(value("portprobe_quality", "")));
}
END_TEST

START_TEST(state_adds_flapping_as_bool_and_percent) {
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.t_total = 0.001;
  pp_state_info st = {.state = PP_TSTATE_UP, .flapping = true, .flap_pct = 35};
  values_with_state("tcp://db.example.com:5432", &r, &st);
  ck_assert_double_eq(value("bool", "flapping"), 1);
  ck_assert_double_eq(value("portprobe_flapping", ""), 35);
  st.flapping = false;
  st.flap_pct = 0;
  values_with_state("tcp://db.example.com:5432", &r, &st);
  ck_assert_double_eq(value("bool", "flapping"), 0);
  ck_assert_double_eq(value("portprobe_flapping", ""), 0);
}
END_TEST

START_TEST(summary_of_every_address_counts_them_round_trip_its_legs) {
  pp_result r;
  pp_result_reset(&r);
  pp_part parts[2] = {{.mx = NULL}, {.mx = NULL}};
  r.parts = parts;
  r.nparts = 2;
  r.parts_up = 1;
  values_of("tcp://db.example.com:5432", &r);
  ck_assert_double_eq(value("count", "checked"), 2);
  ck_assert_double_eq(value("count", "checked_up"), 1);
  ck_assert(isnan(value("response_time", "delivery")));
  pp_result_reset(&r);
  r.up = true;
  r.t_total = 0.6;
  r.t_delivery = 0.4;
  r.t_smtp = 0.15;
  r.t_fetch = 0.05;
  values_of("smtp://mx.example.com", &r);
  ck_assert_double_eq(value("response_time", "delivery"), 0.4);
  ck_assert_double_eq(value("response_time", "smtp"), 0.15);
  ck_assert_double_eq(value("response_time", "fetch"), 0.05);
  ck_assert(isnan(value("count", "checked")));
}
END_TEST

Suite *collectd_values_suite(void);
START_TEST(dns_target_reports_query_time_rcode_and_signature_time_left) {
  char err[256];
  pp_target *t = pp_target_new("dns://192.0.2.53", err, sizeof(err));
  ck_assert_int_eq(
      pp_target_set(t, "query", "www.example.com", err, sizeof(err)), 0);
  ck_assert_msg(pp_target_finalize(t, err, sizeof(err)) == 0, "%s", err);
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.t_total = 0.004;
  r.t_query = 0.003;
  r.dns_rcode = 0;
  r.dns_answers = 2;
  r.dnssec = PP_DNSSEC_SECURE;
  r.rrsig_seen = true;
  r.rrsig_expiry_s = -3600; /* expired an hour ago: still sent */
  nvals = ppc_values(t, &r, NULL, vals);
  pp_target_free(t);
  ck_assert_double_eq(value("response_time", "query"), 0.003);
  ck_assert_double_eq(value("portprobe_dns_rcode", ""), 0);
  ck_assert_double_eq(value("count", "answers"), 2);
  ck_assert_double_eq(value("portprobe_dnssec", ""), PP_DNSSEC_SECURE);
  ck_assert_double_eq(value("timeleft", "rrsig_expiry"), -3600);
  ck_assert(isnan(value("count", "found"))); /* a query counts no findings */
}
END_TEST

Suite *collectd_values_suite(void) {
  Suite *s = suite_create("collectd_values");
  TCase *tc = tcase_create("values");
  tcase_add_test(tc, up_target_reports_up_and_its_response_times);
  tcase_add_test(tc, down_target_reports_zero_and_no_total);
  tcase_add_test(tc, tls_target_reports_phases_and_cert_expiry_even_when_past);
  tcase_add_test(tc, http_target_reports_status_and_first_byte);
  tcase_add_test(tc, icmp_target_reports_ping_types_in_collectd_units);
  tcase_add_test(tc, icmp_target_with_no_reply_reports_full_loss_and_no_rtt);
  tcase_add_test(tc, state_adds_flapping_as_bool_and_percent);
  tcase_add_test(tc, tls_target_reports_chain_expiry_and_stapled_ocsp);
  tcase_add_test(tc,
                 dns_target_reports_query_time_rcode_and_signature_time_left);
  tcase_add_test(tc, summary_of_every_address_counts_them_round_trip_its_legs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(collectd_values_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
