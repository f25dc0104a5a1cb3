/* Result names and excerpts: what users read in tags and alerts. */
#include "portprobe.h"

#include <check.h>
#include <string.h>

START_TEST(every_result_has_a_distinct_name) {
  for (int i = 0; i < PP_R_COUNT; i++) {
    const char *a = pp_result_name((pp_result_code)i);
    ck_assert_msg(a && *a && strcmp(a, "unknown") != 0, "code %d unnamed", i);
    ck_assert_msg(strcmp(pp_result_describe((pp_result_code)i), "unknown"),
                  "code %d has no words", i);
    for (int j = 0; j < i; j++)
      ck_assert_str_ne(a, pp_result_name((pp_result_code)j));
  }
  ck_assert_str_eq(pp_result_name(PP_R_REFUSED), "refused");
  ck_assert_str_eq(pp_result_name(PP_R_DNS_FAILED), "dns_failed");
  ck_assert_str_eq(pp_result_name(PP_R_COUNT), "unknown");
}
END_TEST

START_TEST(every_phase_has_a_name) {
  for (int i = 0; i < PP_PHASE_COUNT; i++)
    ck_assert_str_ne(pp_phase_name((pp_phase)i), "unknown");
  ck_assert_str_eq(pp_phase_name(PP_PHASE_CONNECT), "connect");
}
END_TEST

START_TEST(summary_names_timeout_phase) {
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_TIMEOUT;
  r.phase = PP_PHASE_BANNER;
  char buf[64];
  pp_result_summary(&r, buf, sizeof(buf));
  ck_assert_str_eq(buf, "timeout (banner)");
  r.code = PP_R_HTTP_STATUS;
  r.http_status = 503;
  pp_result_summary(&r, buf, sizeof(buf));
  ck_assert_str_eq(buf, "http_status 503");
}
END_TEST

START_TEST(reset_marks_timings_unmeasured) {
  pp_result r;
  pp_result_reset(&r);
  ck_assert(r.t_dns < 0 && r.t_connect < 0 && r.t_total < 0);
  ck_assert(!r.up);
}
END_TEST

START_TEST(excerpt_is_printable) {
  pp_result r;
  pp_result_reset(&r);
  const char s[] = "554 no\x01 service\r\n";
  pp_result_set_excerpt(&r, s, sizeof(s) - 1);
  ck_assert_str_eq(r.excerpt, "554 no\\x01 service");
}
END_TEST

START_TEST(excerpt_of_binary_is_escaped) {
  pp_result r;
  pp_result_reset(&r);
  const char bin[] = {'\xff', '\x00', 'A'};
  pp_result_set_excerpt(&r, bin, 3);
  ck_assert_str_eq(r.excerpt, "\\xff\\x00A");
}
END_TEST

START_TEST(long_excerpt_is_cut_and_says_so) {
  pp_result r;
  pp_result_reset(&r);
  char big[4096];
  memset(big, 'A', sizeof(big));
  pp_result_set_excerpt(&r, big, sizeof(big));
  size_t len = strlen(r.excerpt);
  ck_assert_uint_lt(len, sizeof(r.excerpt));
  ck_assert_str_eq(r.excerpt + len - 3, "...");
}
END_TEST

START_TEST(excerpt_folds_line_breaks) {
  pp_result r;
  pp_result_reset(&r);
  const char *s = "250-mail.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
  pp_result_set_excerpt(&r, s, strlen(s));
  ck_assert_str_eq(r.excerpt,
                   "250-mail.example.com 250-PIPELINING 250 8BITMIME");
}
END_TEST

START_TEST(excerpt_shows_line_ends_before_the_first_word) {
  pp_result r;
  pp_result_reset(&r);
  const char *s = "\r\n220 mx ESMTP\r\n";
  pp_result_set_excerpt(&r, s, strlen(s));
  ck_assert_str_eq(r.excerpt, "\\x0d\\x0a220 mx ESMTP");
  pp_result_set_excerpt(&r, "\n+OK", 4);
  ck_assert_str_eq(r.excerpt, "\\x0a+OK");
}
END_TEST

int main(void) {
  Suite *s = suite_create("result");
  TCase *tc = tcase_create("result");
  tcase_add_test(tc, every_result_has_a_distinct_name);
  tcase_add_test(tc, every_phase_has_a_name);
  tcase_add_test(tc, summary_names_timeout_phase);
  tcase_add_test(tc, reset_marks_timings_unmeasured);
  tcase_add_test(tc, excerpt_is_printable);
  tcase_add_test(tc, excerpt_of_binary_is_escaped);
  tcase_add_test(tc, long_excerpt_is_cut_and_says_so);
  tcase_add_test(tc, excerpt_folds_line_breaks);
  tcase_add_test(tc, excerpt_shows_line_ends_before_the_first_word);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
