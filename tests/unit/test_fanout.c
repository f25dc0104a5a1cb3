/* Every address, every MX host: the summary a target's record gives of its
 * parts, the names of parts; and the mail round trip's tokens: whose they
 * are, and when another probe's is stale. */
#include "fanout.h"
#include "mail_trip.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pp_target *target(const char *url, const char *k1, const char *v1,
                         const char *k2, const char *v2) {
  char err[512];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  if (k1)
    ck_assert_msg(pp_target_set(t, k1, v1, err, sizeof(err)) == 0, "%s", err);
  if (k2)
    ck_assert_msg(pp_target_set(t, k2, v2, err, sizeof(err)) == 0, "%s", err);
  ck_assert_msg(pp_target_finalize(t, err, sizeof(err)) == 0, "%s", err);
  return t;
}

static pp_part part(const char *address, pp_result_code code, const char *mx,
                    int preference) {
  pp_part p = {.mx = mx, .mx_preference = preference, .one_address = true};
  pp_result_reset(&p.r);
  snprintf(p.r.address, sizeof(p.r.address), "%s", address);
  p.r.code = code;
  p.r.up = code == PP_R_OK;
  p.r.phase = code == PP_R_OK ? PP_PHASE_NONE : PP_PHASE_CONNECT;
  return p;
}

static char detail[PP_DETAIL_MAX];

static pp_result_code summary(const pp_target *t, const pp_part *parts,
                              size_t n, bool implicit, pp_result *r) {
  pp_result_reset(r);
  return pp_fanout_summary(t, parts, n, implicit, r, detail, sizeof(detail));
}

START_TEST(failed_addresses_come_first_with_their_family_and_how) {
  pp_target *t =
      target("tcp://web.example.com:80", "addresses", "all", NULL, NULL);
  pp_part parts[] = {part("192.0.2.1", PP_R_OK, NULL, -1),
                     part("2001:db8::1", PP_R_REFUSED, NULL, -1)};
  snprintf(parts[1].r.excerpt, sizeof(parts[1].r.excerpt), "nope");
  pp_result r;
  ck_assert_int_eq(summary(t, parts, 2, false, &r), PP_R_REFUSED);
  ck_assert_str_eq(detail, "1 of 2 addresses up: IPv6 2001:db8::1 refused, "
                           "IPv4 192.0.2.1 ok");
  ck_assert_int_eq(r.parts_up, 1);
  ck_assert_int_eq(r.phase, PP_PHASE_CONNECT);
  ck_assert_str_eq(r.excerpt, "nope");
  pp_target_free(t);
}
END_TEST

START_TEST(require_makes_a_target_up_with_enough_addresses) {
  pp_target *t =
      target("tcp://web.example.com:80", "addresses", "all", "require", "1");
  pp_part parts[] = {part("192.0.2.1", PP_R_TIMEOUT, NULL, -1),
                     part("192.0.2.2", PP_R_OK, NULL, -1)};
  pp_result r;
  ck_assert_int_eq(summary(t, parts, 2, false, &r), PP_R_OK);
  ck_assert_str_eq(detail, "1 of 2 addresses up (1 required): IPv4 192.0.2.1 "
                           "timeout (connect), IPv4 192.0.2.2 ok");
  pp_target_free(t);
}
END_TEST

START_TEST(fewer_addresses_than_required_is_a_dns_failure) {
  pp_target *t =
      target("tcp://web.example.com:80", "addresses", "all", "require", "3");
  pp_part parts[] = {part("192.0.2.1", PP_R_OK, NULL, -1),
                     part("192.0.2.2", PP_R_OK, NULL, -1)};
  pp_result r;
  ck_assert_int_eq(summary(t, parts, 2, false, &r), PP_R_DNS_FAILED);
  ck_assert_int_eq(r.phase, PP_PHASE_DNS);
  pp_target_free(t);
}
END_TEST

START_TEST(mx_hosts_are_named_with_their_preference) {
  pp_target *t = target("smtp://example.com", "mx", "yes", NULL, NULL);
  pp_part parts[] = {part("192.0.2.1", PP_R_OK, "mx1.example.com", 10),
                     part("192.0.2.2", PP_R_RESET, "mx2.example.com", 20)};
  parts[0].one_address = parts[1].one_address = false;
  pp_result r;
  ck_assert_int_eq(summary(t, parts, 2, false, &r), PP_R_RESET);
  ck_assert_str_eq(detail, "1 of 2 MX hosts up: mx2.example.com (20) reset, "
                           "mx1.example.com (10) ok");
  char name[300];
  pp_part_name(&parts[0], name, sizeof(name));
  ck_assert_str_eq(name, "mx1.example.com");
  parts[0].one_address = true;
  pp_part_name(&parts[0], name, sizeof(name));
  ck_assert_str_eq(name, "mx1.example.com[192.0.2.1]");
  parts[0].mx = NULL;
  pp_part_name(&parts[0], name, sizeof(name));
  ck_assert_str_eq(name, "192.0.2.1");
  pp_target_free(t);
}
END_TEST

START_TEST(a_domain_without_mx_says_so) {
  pp_target *t = target("smtp://example.com", "mx", "yes", NULL, NULL);
  pp_part p = part("192.0.2.1", PP_R_OK, "example.com", -1);
  p.one_address = false;
  pp_result r;
  ck_assert_int_eq(summary(t, &p, 1, true, &r), PP_R_OK);
  ck_assert_str_eq(detail, "no MX, mail goes to the domain itself: 1 of 1 "
                           "hosts up: example.com ok");
  pp_target_free(t);
}
END_TEST

START_TEST(a_long_detail_is_cut_and_says_so) {
  pp_target *t =
      target("tcp://web.example.com:80", "addresses", "all", NULL, NULL);
  pp_part parts[16];
  for (int i = 0; i < 16; i++) {
    char a[48];
    snprintf(a, sizeof(a), "2001:db8::%d", i + 1);
    parts[i] = part(a, PP_R_REFUSED, NULL, -1);
  }
  pp_result r;
  summary(t, parts, 16, false, &r);
  ck_assert_uint_eq(strlen(detail), sizeof(detail) - 1);
  ck_assert_str_eq(detail + strlen(detail) - 3, "...");
  ck_assert_ptr_nonnull(strstr(detail, "0 of 16 addresses up: IPv6 2001:db8::1 "
                                       "refused, IPv6 2001:db8::2 refused"));
  pp_target_free(t);
}
END_TEST

START_TEST(the_certificate_that_expires_first_is_the_targets) {
  pp_target *t =
      target("tls://web.example.com:443", "addresses", "all", NULL, NULL);
  pp_part parts[] = {part("192.0.2.1", PP_R_OK, NULL, -1),
                     part("192.0.2.2", PP_R_OK, NULL, -1)};
  parts[0].r.cert_seen = parts[1].r.cert_seen = true;
  parts[0].r.cert_expiry_s = 90 * 86400;
  parts[1].r.cert_expiry_s = 3 * 86400;
  parts[1].r.cert_grade = PP_GRADE_CRITICAL;
  pp_result r;
  summary(t, parts, 2, false, &r);
  ck_assert(r.cert_seen);
  ck_assert_int_eq(r.cert_expiry_s, 3 * 86400);
  ck_assert_int_eq(r.cert_grade, PP_GRADE_CRITICAL);
  pp_target_free(t);
}
END_TEST

/* --- the round trip's tokens --- */

START_TEST(a_token_is_ours_stale_or_kept) {
  pp_mail_trip m = {.grace_s = 180};
  long long now = (long long)time(NULL);
  snprintf(m.token, sizeof(m.token), "pp1-%lld-%s", now + 70,
           "0123456789abcdef01234567");
  char t[64];
  ck_assert_int_eq(pp_mail_judge(&m, m.token), PP_MSG_OURS);
  snprintf(t, sizeof(t), "pp1-%lld-aaaa", now + 70); /* another's, awaited */
  ck_assert_int_eq(pp_mail_judge(&m, t), PP_MSG_KEEP);
  snprintf(t, sizeof(t), "pp1-%lld-aaaa", now - 100); /* given up, in grace */
  ck_assert_int_eq(pp_mail_judge(&m, t), PP_MSG_KEEP);
  snprintf(t, sizeof(t), "pp1-%lld-aaaa", now - 200); /* past the grace */
  ck_assert_int_eq(pp_mail_judge(&m, t), PP_MSG_STALE);
  ck_assert_int_eq(pp_mail_token_expiry(t), now - 200);
  ck_assert_int_eq(pp_mail_judge(&m, "pp1-x-aaaa"), PP_MSG_KEEP);
  ck_assert_int_eq(pp_mail_judge(&m, "hello"), PP_MSG_KEEP);
  ck_assert_int_eq(pp_mail_judge(&m, NULL), PP_MSG_KEEP);
  ck_assert_int_eq(pp_mail_token_expiry("pp1-12"), -1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fanout");
  TCase *tc = tcase_create("fanout");
  tcase_add_test(tc, failed_addresses_come_first_with_their_family_and_how);
  tcase_add_test(tc, require_makes_a_target_up_with_enough_addresses);
  tcase_add_test(tc, fewer_addresses_than_required_is_a_dns_failure);
  tcase_add_test(tc, mx_hosts_are_named_with_their_preference);
  tcase_add_test(tc, a_domain_without_mx_says_so);
  tcase_add_test(tc, a_long_detail_is_cut_and_says_so);
  tcase_add_test(tc, the_certificate_that_expires_first_is_the_targets);
  tcase_add_test(tc, a_token_is_ours_stale_or_kept);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
