/* The dns kind's pure parts: blocklist names, mail-policy syntax, and what
 * a dns target accepts when it is configured. */
#include "dns_policy.h"
#include "result.h"
#include "target.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static char why[200];

START_TEST(ipv4_is_reversed_by_octets) {
  char out[80];
  ck_assert_int_eq(pp_dns_reverse_name("192.0.2.99", out, sizeof(out)), 0);
  ck_assert_str_eq(out, "99.2.0.192.");
}
END_TEST

START_TEST(ipv6_is_reversed_by_nibbles) {
  char out[80];
  ck_assert_int_eq(pp_dns_reverse_name("2001:db8::1", out, sizeof(out)), 0);
  ck_assert_str_eq(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                        "8.b.d.0.1.0.0.2.");
}
END_TEST

START_TEST(a_name_is_not_reversed) {
  char out[80];
  ck_assert_int_eq(pp_dns_reverse_name("spam.example", out, sizeof(out)), -1);
}
END_TEST

START_TEST(sound_spf_passes) {
  ck_assert_int_eq(
      pp_spf_check("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx "
                   "include:_spf.example.com ~all",
                   why, sizeof(why)),
      0);
}
END_TEST

START_TEST(spf_unknown_mechanism_is_named) {
  ck_assert_int_eq(pp_spf_check("v=spf1 mx foo:bar -all", why, sizeof(why)),
                   -1);
  ck_assert_ptr_nonnull(strstr(why, "unknown mechanism \"foo:bar\""));
}
END_TEST

START_TEST(spf_bad_network_is_named) {
  ck_assert_int_eq(
      pp_spf_check("v=spf1 ip4:192.0.2.0/33 -all", why, sizeof(why)), -1);
  ck_assert_ptr_nonnull(strstr(why, "bad IPv4 network"));
}
END_TEST

START_TEST(spf_more_than_ten_lookups_is_invalid) {
  ck_assert_int_eq(pp_spf_check("v=spf1 a mx ptr a:a a:b a:c a:d a:e a:f "
                                "include:x.example exists:y.example -all",
                                why, sizeof(why)),
                   -1);
  ck_assert_ptr_nonnull(strstr(why, "11 DNS-querying terms"));
}
END_TEST

START_TEST(sound_dmarc_passes) {
  ck_assert_int_eq(pp_dmarc_check("v=DMARC1; p=reject; sp=quarantine; pct=50; "
                                  "rua=mailto:d@example.com; adkim=s",
                                  why, sizeof(why)),
                   0);
}
END_TEST

START_TEST(dmarc_without_policy_is_invalid) {
  ck_assert_int_eq(
      pp_dmarc_check("v=DMARC1; rua=mailto:d@example.com", why, sizeof(why)),
      -1);
  ck_assert_ptr_nonnull(strstr(why, "p="));
}
END_TEST

START_TEST(dmarc_bad_values_are_named) {
  ck_assert_int_eq(pp_dmarc_check("v=DMARC1; p=bogus", why, sizeof(why)), -1);
  ck_assert_ptr_nonnull(strstr(why, "p=bogus"));
  ck_assert_int_eq(
      pp_dmarc_check("v=DMARC1; p=none; pct=120", why, sizeof(why)), -1);
  ck_assert_int_eq(pp_dmarc_check("p=none; v=DMARC1", why, sizeof(why)), -1);
}
END_TEST

START_TEST(mta_sts_record_needs_an_id) {
  ck_assert_int_eq(
      pp_sts_txt_check("v=STSv1; id=20260101T000000;", why, sizeof(why)), 0);
  ck_assert_int_eq(pp_sts_txt_check("v=STSv1;", why, sizeof(why)), -1);
  ck_assert_int_eq(pp_sts_txt_check("v=STSv1; id=has-dash", why, sizeof(why)),
                   -1);
}
END_TEST

START_TEST(mta_sts_policy_is_read) {
  char mode[16];
  const char *p = "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\n"
                  "mx: *.example.net\r\nmax_age: 604800\r\n";
  ck_assert_int_eq(pp_sts_policy_check(p, strlen(p), mode, why, sizeof(why)),
                   0);
  ck_assert_str_eq(mode, "testing");
}
END_TEST

START_TEST(mta_sts_policy_findings_are_named) {
  char mode[16];
  const char *nomx = "version: STSv1\nmode: enforce\nmax_age: 86400\n";
  ck_assert_int_eq(
      pp_sts_policy_check(nomx, strlen(nomx), mode, why, sizeof(why)), -1);
  ck_assert_ptr_nonnull(strstr(why, "no mx: line"));
  const char *age = "version: STSv1\nmode: none\nmax_age: 99999999\n";
  ck_assert_int_eq(
      pp_sts_policy_check(age, strlen(age), mode, why, sizeof(why)), -1);
  ck_assert_ptr_nonnull(strstr(why, "max_age"));
}
END_TEST

START_TEST(tls_rpt_needs_report_addresses) {
  ck_assert_int_eq(pp_tlsrpt_check("v=TLSRPTv1; rua=mailto:r@example.com,"
                                   "https://r.example.com/v1",
                                   why, sizeof(why)),
                   0);
  ck_assert_int_eq(pp_tlsrpt_check("v=TLSRPTv1;", why, sizeof(why)), -1);
  ck_assert_int_eq(pp_tlsrpt_check("v=TLSRPTv1; rua=ftp://x", why, sizeof(why)),
                   -1);
}
END_TEST

START_TEST(policy_tag_must_open_the_record) {
  ck_assert(pp_policy_is("v=spf1 -all", "v=spf1"));
  ck_assert(pp_policy_is("V=SPF1", "v=spf1"));
  ck_assert(!pp_policy_is("v=spf10 -all", "v=spf1"));
  ck_assert(!pp_policy_is("google-site-verification=x", "v=spf1"));
}
END_TEST

/* --- targets --- */

static int configure(const char *url, const char *const *kv, char *err) {
  pp_target *t = pp_target_new(url, err, 300);
  if (t == NULL)
    return -1;
  int rc = 0;
  for (; rc == 0 && kv && kv[0]; kv += 2)
    rc = pp_target_set(t, kv[0], kv[1], err, 300);
  if (rc == 0)
    rc = pp_target_finalize(t, err, 300);
  pp_target_free(t);
  return rc;
}

START_TEST(dns_target_with_a_query_is_accepted) {
  char err[300];
  const char *kv[] = {"query", "www.example.com", "type", "MX", NULL};
  ck_assert_msg(configure("dns://192.0.2.53", kv, err) == 0, "%s", err);
}
END_TEST

START_TEST(unknown_record_type_names_target_and_key) {
  char err[300];
  const char *kv[] = {"name", "t1",    "query", "x.example",
                      "type", "BOGUS", NULL};
  ck_assert_int_eq(configure("dns://192.0.2.53", kv, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "target \"t1\""));
  ck_assert_ptr_nonnull(strstr(err, "option \"type\""));
}
END_TEST

START_TEST(query_is_required) {
  char err[300];
  ck_assert_int_eq(configure("dns://192.0.2.53", NULL, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "\"query\" is required"));
}
END_TEST

START_TEST(dns_options_do_not_apply_elsewhere) {
  char err[300];
  const char *kv[] = {"query", "x.example", NULL};
  ck_assert_int_eq(configure("tcp://192.0.2.1:22", kv, err), -1);
  ck_assert_ptr_nonnull(strstr(err, "does not apply"));
}
END_TEST

START_TEST(empty_host_is_the_system_resolver_for_dns_only) {
  char err[300];
  pp_target *t = pp_target_new("dns://", err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  ck_assert_str_eq(t->host, "");
  ck_assert(!t->port_given);
  pp_target_free(t);
  ck_assert_ptr_null(pp_target_new("tcp://:22", err, sizeof(err)));
}
END_TEST

START_TEST(a_named_port_is_known_as_given) {
  char err[300];
  pp_target *t = pp_target_new("dns://192.0.2.53:5353", err, sizeof(err));
  ck_assert(t != NULL && t->port_given && t->port == 5353);
  pp_target_free(t);
}
END_TEST

START_TEST(dns_results_have_names) {
  ck_assert_str_eq(pp_result_name(PP_R_DNSSEC_BOGUS), "dnssec_bogus");
  ck_assert_str_eq(pp_result_name(PP_R_NS_LAME), "ns_lame");
  ck_assert_str_eq(pp_phase_name(PP_PHASE_QUERY), "query");
  ck_assert_str_eq(pp_dns_rcode_name(3), "NXDOMAIN");
  ck_assert_str_eq(pp_dnssec_name(PP_DNSSEC_INSECURE), "insecure");
}
END_TEST

int main(void) {
  Suite *s = suite_create("dns");
  TCase *tc = tcase_create("policy");
  tcase_add_test(tc, ipv4_is_reversed_by_octets);
  tcase_add_test(tc, ipv6_is_reversed_by_nibbles);
  tcase_add_test(tc, a_name_is_not_reversed);
  tcase_add_test(tc, sound_spf_passes);
  tcase_add_test(tc, spf_unknown_mechanism_is_named);
  tcase_add_test(tc, spf_bad_network_is_named);
  tcase_add_test(tc, spf_more_than_ten_lookups_is_invalid);
  tcase_add_test(tc, sound_dmarc_passes);
  tcase_add_test(tc, dmarc_without_policy_is_invalid);
  tcase_add_test(tc, dmarc_bad_values_are_named);
  tcase_add_test(tc, mta_sts_record_needs_an_id);
  tcase_add_test(tc, mta_sts_policy_is_read);
  tcase_add_test(tc, mta_sts_policy_findings_are_named);
  tcase_add_test(tc, tls_rpt_needs_report_addresses);
  tcase_add_test(tc, policy_tag_must_open_the_record);
  suite_add_tcase(s, tc);
  TCase *tt = tcase_create("targets");
  tcase_add_test(tt, dns_target_with_a_query_is_accepted);
  tcase_add_test(tt, unknown_record_type_names_target_and_key);
  tcase_add_test(tt, query_is_required);
  tcase_add_test(tt, dns_options_do_not_apply_elsewhere);
  tcase_add_test(tt, empty_host_is_the_system_resolver_for_dns_only);
  tcase_add_test(tt, a_named_port_is_known_as_given);
  tcase_add_test(tt, dns_results_have_names);
  suite_add_tcase(s, tt);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
