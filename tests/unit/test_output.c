/* Line protocol output: escaping of names, tags and strings, the order and
 * omission of tags, and whole lines for a target and its result. */
#include "output.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs fn(f, arg) on a memory stream and returns what it wrote (static). */
static const char *capture(void (*fn)(FILE *, const char *), const char *arg) {
  static char *buf;
  size_t len;
  free(buf);
  buf = NULL;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  fn(f, arg);
  fclose(f);
  return buf;
}

#define TAG(s) capture(pp_influx_tag, s)
#define STR(s) capture(pp_influx_string, s)
#define NAME(s) capture(pp_influx_measurement, s)

START_TEST(tag_plain_text_is_unchanged) {
  ck_assert_str_eq(TAG("mail.example.com"), "mail.example.com");
}
END_TEST

START_TEST(tag_escapes_comma_equals_and_space) {
  ck_assert_str_eq(TAG("a b,c=d"), "a\\ b\\,c\\=d");
}
END_TEST

START_TEST(tag_keeps_quotes_as_they_are) {
  ck_assert_str_eq(TAG("say \"hi\""), "say\\ \"hi\"");
}
END_TEST

START_TEST(tag_backslash_inside_is_literal) {
  ck_assert_str_eq(TAG("C:\\dir"), "C:\\dir");
}
END_TEST

START_TEST(tag_backslash_before_comma_stays_before_its_escape) {
  /* a\,b: the parser reads "\\," as a backslash and an escaped comma */
  ck_assert_str_eq(TAG("a\\,b"), "a\\\\,b");
}
END_TEST

START_TEST(tag_trailing_backslash_gets_an_escaped_space) {
  /* "x\" then "," would read as an escaped comma: keep it, add "\ " */
  ck_assert_str_eq(TAG("x\\"), "x\\\\ ");
  ck_assert_str_eq(TAG("\\"), "\\\\ ");
}
END_TEST

START_TEST(tag_newline_and_tab_become_escaped_spaces) {
  ck_assert_str_eq(TAG("a\nb\tc\r"), "a\\ b\\ c\\ ");
}
END_TEST

START_TEST(tag_utf8_passes_through) {
  ck_assert_str_eq(TAG("Zürich €"), "Zürich\\ €");
}
END_TEST

START_TEST(measurement_escapes_comma_and_space_not_equals) {
  ck_assert_str_eq(NAME("port probe,x=y"), "port\\ probe\\,x=y");
}
END_TEST

START_TEST(string_is_quoted) {
  ck_assert_str_eq(STR("220 ready"), "\"220 ready\"");
}
END_TEST

START_TEST(string_escapes_quote_and_backslash) {
  ck_assert_str_eq(STR("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
}
END_TEST

START_TEST(string_trailing_backslash_is_escaped) {
  ck_assert_str_eq(STR("end\\"), "\"end\\\\\"");
}
END_TEST

START_TEST(string_keeps_comma_equals_and_space) {
  ck_assert_str_eq(STR("a=b, c"), "\"a=b, c\"");
}
END_TEST

START_TEST(string_control_characters_become_spaces) {
  ck_assert_str_eq(STR("a\r\nb\fc\x7f"), "\"a  b c \"");
}
END_TEST

START_TEST(string_utf8_passes_through) {
  ck_assert_str_eq(STR("größe 5€"), "\"größe 5€\"");
}
END_TEST

#define JSON(s) capture(pp_json_string, s)

START_TEST(bytes_that_are_not_utf8_become_the_replacement_character) {
  /* Latin-1, a lone continuation byte, an overlong form, a surrogate, a
   * sequence cut by the end of the string */
  const char *bad = "caf\xe9 \x80 \xc0\xaf \xed\xa0\x80 \xe2\x82";
  const char *fffd = "\xef\xbf\xbd";
  char want[128];
  snprintf(want, sizeof(want), "\"caf%s %s %s%s %s%s%s %s%s\"", fffd, fffd,
           fffd, fffd, fffd, fffd, fffd, fffd, fffd);
  ck_assert_str_eq(JSON(bad), want);
  ck_assert_str_eq(STR(bad), want);
  snprintf(want, sizeof(want), "caf%s\\ %s", fffd, fffd);
  ck_assert_str_eq(TAG("caf\xe9 \xff"), want);
  ck_assert_str_eq(NAME("caf\xe9 \xff"), want);
  /* valid UTF-8 of every length passes through */
  ck_assert_str_eq(JSON("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
                   "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
}
END_TEST

/* --- series: measurement and tags --- */

static char *series(const pp_influx_kv *tags, size_t n,
                    const char *const *labels, size_t nl) {
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  pp_strlist l = {(char **)labels, nl};
  pp_influx_series(f, "portprobe", tags, n, nl ? &l : NULL);
  fclose(f);
  return buf;
}

START_TEST(series_sorts_tags_by_key) {
  const pp_influx_kv tags[] = {
      {"target", "web"}, {"scheme", "http"}, {"result", "ok"}};
  const char *labels[] = {"zone=b", "env=prod"};
  char *s = series(tags, 3, labels, 2);
  ck_assert_str_eq(
      s, "portprobe,env=prod,result=ok,scheme=http,target=web,zone=b");
  free(s);
}
END_TEST

START_TEST(series_leaves_out_empty_tags) {
  const pp_influx_kv tags[] = {
      {"target", "web"}, {"scheme", ""}, {"result", NULL}};
  char *s = series(tags, 3, NULL, 0);
  ck_assert_str_eq(s, "portprobe,target=web");
  free(s);
}
END_TEST

START_TEST(series_keeps_the_first_of_a_repeated_key) {
  const pp_influx_kv tags[] = {{"target", "web"}};
  const char *labels[] = {"target=other", "loc=a", "loc=b"};
  char *s = series(tags, 1, labels, 3);
  ck_assert_str_eq(s, "portprobe,loc=a,target=web");
  free(s);
}
END_TEST

START_TEST(series_escapes_label_values) {
  const pp_influx_kv tags[] = {{"target", "a b"}};
  const char *labels[] = {"site=Main St, 5"};
  char *s = series(tags, 1, labels, 1);
  ck_assert_str_eq(s, "portprobe,site=Main\\ St\\,\\ 5,target=a\\ b");
  free(s);
}
END_TEST

START_TEST(series_takes_many_labels) {
  const char *labels[40];
  char store[40][16];
  for (int i = 0; i < 40; i++) {
    snprintf(store[i], sizeof(store[i]), "k%02d=v", 39 - i);
    labels[i] = store[i];
  }
  char *s = series(NULL, 0, labels, 40);
  ck_assert_int_eq(strncmp(s, "portprobe,k00=v,k01=v,", 22), 0);
  ck_assert_ptr_nonnull(strstr(s, ",k38=v,k39=v"));
  free(s);
}
END_TEST

/* --- whole lines --- */

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

static char *lines(pp_target *t, const pp_result *r, pp_format fmt) {
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  pp_output_results(f, fmt, &t, r, 1);
  fclose(f);
  return buf;
}

START_TEST(line_of_a_refused_target) {
  const char *kv[] = {"name", "db, main=1", "label", "site=fra 1", NULL};
  pp_target *t = target("tcp://192.0.2.7:5432", kv);
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_REFUSED;
  r.phase = PP_PHASE_CONNECT;
  r.time_ns = 1700000000123456789LL;
  r.t_total = 0.0015;
  snprintf(r.address, sizeof(r.address), "192.0.2.7");
  snprintf(r.detail, sizeof(r.detail), "Connection \"refused\"");
  char *s = lines(t, &r, PP_FMT_INFLUX);
  ck_assert_str_eq(
      s, "portprobe,result=refused,scheme=tcp,site=fra\\ 1,target=db\\,\\ "
         "main\\=1 up=0i,response_time=0.001500,address=\"192.0.2.7\","
         "port=5432i,phase=\"connect\",detail=\"Connection \\\"refused\\\"\" "
         "1700000000123456789\n");
  free(s);
  pp_target_free(t);
}
END_TEST

START_TEST(line_of_an_up_target_has_no_phase) {
  pp_target *t = target("tcp://192.0.2.7:22", NULL);
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.time_ns = 5;
  r.t_total = 0.25;
  r.t_connect = 0.25;
  char *s = lines(t, &r, PP_FMT_INFLUX);
  ck_assert_str_eq(s, "portprobe,result=ok,scheme=tcp,target=tcp://"
                      "192.0.2.7:22 up=1i,response_time=0.250000,"
                      "connect_time=0.250000,port=22i 5\n");
  free(s);
  pp_target_free(t);
}
END_TEST

START_TEST(line_leaves_out_timings_not_measured) {
  pp_target *t = target("tcp://192.0.2.7:22", NULL);
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_DNS_FAILED;
  r.phase = PP_PHASE_DNS;
  r.time_ns = 1;
  char *s = lines(t, &r, PP_FMT_INFLUX);
  ck_assert_ptr_null(strstr(s, "_time="));
  ck_assert_ptr_nonnull(strstr(s, " up=0i,port=22i,phase=\"dns\" 1\n"));
  free(s);
  pp_target_free(t);
}
END_TEST

START_TEST(line_has_one_newline_whatever_the_server_said) {
  pp_target *t = target("tcp://192.0.2.7:25", NULL);
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_EXPECT_MISMATCH;
  r.time_ns = 1;
  snprintf(r.excerpt, sizeof(r.excerpt), "554 no\r\nsecond line\\");
  snprintf(r.detail, sizeof(r.detail), "multi\nline");
  char *s = lines(t, &r, PP_FMT_INFLUX);
  ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);
  ck_assert_ptr_nonnull(strstr(s, "excerpt=\"554 no  second line\\\\\""));
  ck_assert_ptr_nonnull(strstr(s, "detail=\"multi line\""));
  free(s);
  pp_target_free(t);
}
END_TEST

START_TEST(line_of_icmp_has_integer_counts_and_float_figures) {
  pp_target *t = target("icmp://192.0.2.9", NULL);
  pp_result r;
  pp_result_reset(&r);
  r.up = true;
  r.time_ns = 1;
  r.icmp_sent = 5;
  r.icmp_received = 4;
  r.loss_pct = 20;
  r.rtt_min = 0.001;
  r.rtt_avg = 0.002;
  r.rtt_max = 0.003;
  r.rtt_stddev = 0.0005;
  r.jitter = 0.0004;
  r.quality = PP_GRADE_BAD;
  char *s = lines(t, &r, PP_FMT_INFLUX);
  ck_assert_ptr_nonnull(strstr(s, "packets_sent=5i,packets_received=4i,"
                                  "loss_percent=20.000000,rtt_min=0.001000,"));
  ck_assert_ptr_nonnull(strstr(s, "quality=\"bad\""));
  ck_assert_ptr_null(strstr(s, "port="));
  free(s);
  pp_target_free(t);
}
END_TEST

START_TEST(line_of_dns_has_rcode_answers_and_signature_time_left) {
  const char *kv[] = {"query", "www.example.com", NULL};
  pp_target *t = target("dns://192.0.2.53", kv);
  pp_result r;
  pp_result_reset(&r);
  r.code = PP_R_DNS_RCODE;
  r.phase = PP_PHASE_QUERY;
  r.time_ns = 1;
  r.dns_rcode = 3;
  r.t_query = 0.002;
  r.rrsig_seen = true;
  r.rrsig_expiry_s = -86400;
  r.rrsig_grade = PP_GRADE_CRITICAL;
  char *s = lines(t, &r, PP_FMT_INFLUX);
  ck_assert_ptr_nonnull(strstr(s, "result=dns_rcode,scheme=dns"));
  ck_assert_ptr_nonnull(strstr(s, "dns_rcode=3i,dns_rcode_name=\"NXDOMAIN\","
                                  "dns_answers=0i,query_time=0.002000,"
                                  "rrsig_expiry=-86400i,"
                                  "rrsig_grade=\"critical\""));
  ck_assert_ptr_null(strstr(s, "dns_ttl_min")); /* no records, no TTL */
  free(s);
  s = lines(t, &r, PP_FMT_TEXT);
  ck_assert_ptr_nonnull(strstr(s, "dns_rcode NXDOMAIN"));
  ck_assert_ptr_nonnull(strstr(s, "rrsig expired 1.0 days ago (critical)"));
  free(s);
  pp_target_free(t);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("output");
  TCase *tc = tcase_create("influx");
  tcase_add_test(tc, tag_plain_text_is_unchanged);
  tcase_add_test(tc, tag_escapes_comma_equals_and_space);
  tcase_add_test(tc, tag_keeps_quotes_as_they_are);
  tcase_add_test(tc, tag_backslash_inside_is_literal);
  tcase_add_test(tc, tag_backslash_before_comma_stays_before_its_escape);
  tcase_add_test(tc, tag_trailing_backslash_gets_an_escaped_space);
  tcase_add_test(tc, tag_newline_and_tab_become_escaped_spaces);
  tcase_add_test(tc, tag_utf8_passes_through);
  tcase_add_test(tc, measurement_escapes_comma_and_space_not_equals);
  tcase_add_test(tc, string_is_quoted);
  tcase_add_test(tc, string_escapes_quote_and_backslash);
  tcase_add_test(tc, string_trailing_backslash_is_escaped);
  tcase_add_test(tc, string_keeps_comma_equals_and_space);
  tcase_add_test(tc, string_control_characters_become_spaces);
  tcase_add_test(tc, string_utf8_passes_through);
  tcase_add_test(tc, bytes_that_are_not_utf8_become_the_replacement_character);
  tcase_add_test(tc, series_sorts_tags_by_key);
  tcase_add_test(tc, series_leaves_out_empty_tags);
  tcase_add_test(tc, series_keeps_the_first_of_a_repeated_key);
  tcase_add_test(tc, series_escapes_label_values);
  tcase_add_test(tc, series_takes_many_labels);
  tcase_add_test(tc, line_of_a_refused_target);
  tcase_add_test(tc, line_of_an_up_target_has_no_phase);
  tcase_add_test(tc, line_leaves_out_timings_not_measured);
  tcase_add_test(tc, line_has_one_newline_whatever_the_server_said);
  tcase_add_test(tc, line_of_icmp_has_integer_counts_and_float_figures);
  tcase_add_test(tc, line_of_dns_has_rcode_answers_and_signature_time_left);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
