/* The option table: parsing, bounds and the messages users see. */
#include "portprobe.h"

#include <check.h>
#include <string.h>

static pp_opts o;
static char err[512];

static void setup(void) {
  pp_opts_init(&o);
  err[0] = 0;
}
static void teardown(void) {
  pp_opts_free(&o);
}

static int set(const char *key, const char *value) {
  return pp_option_set(pp_option_find(key), &o, value, err, sizeof(err));
}

START_TEST(defaults_are_applied) {
  ck_assert_int_eq(o.timeout_ms, 5000);
  ck_assert_int_eq(o.down_after, 2);
  ck_assert(o.verify);
  ck_assert_int_eq(o.count, 5);
  ck_assert(pp_status_match(&o.status, 200));
  ck_assert(pp_status_match(&o.status, 399));
  ck_assert(!pp_status_match(&o.status, 404));
}
END_TEST

START_TEST(durations_take_units) {
  int64_t ms;
  ck_assert_int_eq(pp_parse_duration_ms("500ms", &ms), 0);
  ck_assert_int_eq(ms, 500);
  ck_assert_int_eq(pp_parse_duration_ms("3s", &ms), 0);
  ck_assert_int_eq(ms, 3000);
  ck_assert_int_eq(pp_parse_duration_ms("1.5s", &ms), 0);
  ck_assert_int_eq(ms, 1500);
  ck_assert_int_eq(pp_parse_duration_ms("2m", &ms), 0);
  ck_assert_int_eq(ms, 120000);
  ck_assert_int_eq(pp_parse_duration_ms("7", &ms), 0);
  ck_assert_int_eq(ms, 7000);
  ck_assert_int_eq(pp_parse_duration_ms("3x", &ms), -1);
  ck_assert_int_eq(pp_parse_duration_ms("-1s", &ms), -1);
  ck_assert_int_eq(pp_parse_duration_ms("", &ms), -1);
  ck_assert_int_eq(pp_parse_duration_ms("nan", &ms), -1);
}
END_TEST

START_TEST(bad_duration_names_key_and_expectation) {
  ck_assert_int_eq(set("timeout", "soon"), -1);
  ck_assert_ptr_nonnull(strstr(err, "\"timeout\""));
  ck_assert_ptr_nonnull(strstr(err, "a duration such as 500ms"));
  ck_assert_ptr_nonnull(strstr(err, "\"soon\""));
}
END_TEST

START_TEST(duration_bounds_are_enforced) {
  ck_assert_int_eq(set("timeout", "1ms"), -1);
  ck_assert_int_eq(set("timeout", "11m"), -1);
  ck_assert_int_eq(set("timeout", "10m"), 0);
  ck_assert_int_eq(o.timeout_ms, 600000);
}
END_TEST

START_TEST(keys_ignore_case_and_underscores) {
  ck_assert_ptr_eq(pp_option_find("StartTLS"), pp_option_find("starttls"));
  ck_assert_ptr_eq(pp_option_find("CAFile"), pp_option_find("ca_file"));
  ck_assert_ptr_eq(pp_option_find("down-after"), pp_option_find("down_after"));
  ck_assert_ptr_null(pp_option_find("nonsense"));
}
END_TEST

START_TEST(unknown_key_gets_a_suggestion) {
  ck_assert_str_eq(pp_option_suggest("timout"), "timeout");
  ck_assert_str_eq(pp_option_suggest("keywrd"), "keyword");
  ck_assert_ptr_null(pp_option_suggest("completely_different"));
}
END_TEST

START_TEST(enum_lists_choices_on_error) {
  ck_assert_int_eq(set("starttls", "maybe"), -1);
  ck_assert_ptr_nonnull(strstr(err, "no, try, require"));
  ck_assert_int_eq(set("starttls", "REQUIRE"), 0);
  ck_assert_int_eq(o.starttls, PP_STARTTLS_REQUIRE);
}
END_TEST

START_TEST(bools_accept_common_words) {
  ck_assert_int_eq(set("verify", "off"), 0);
  ck_assert(!o.verify);
  ck_assert_int_eq(set("verify", "True"), 0);
  ck_assert(o.verify);
  ck_assert_int_eq(set("verify", "perhaps"), -1);
  ck_assert_ptr_nonnull(strstr(err, "yes or no"));
}
END_TEST

START_TEST(status_ranges_parse_and_match) {
  ck_assert_int_eq(set("status", "200-299, 301,401"), 0);
  ck_assert(pp_status_match(&o.status, 250));
  ck_assert(pp_status_match(&o.status, 301));
  ck_assert(pp_status_match(&o.status, 401));
  ck_assert(!pp_status_match(&o.status, 302));
  ck_assert_int_eq(set("status", "299-200"), -1);
  ck_assert_int_eq(set("status", "200,"), -1);
  ck_assert_int_eq(set("status", "99"), -1);
  ck_assert_int_eq(set("status", "abc"), -1);
}
END_TEST

START_TEST(bad_regex_is_a_config_error) {
  ck_assert_int_eq(set("keyword", "Welcome ("), -1);
  ck_assert_ptr_nonnull(strstr(err, "bad regular expression"));
  ck_assert_int_eq(set("keyword", "Welcome.*home"), 0);
  ck_assert_str_eq(o.keyword.pattern, "Welcome.*home");
}
END_TEST

START_TEST(send_and_expect_keep_their_order) {
  ck_assert_int_eq(set("send", "PING\\r\\n"), 0);
  ck_assert_int_eq(set("expect", "^\\+PONG"), 0);
  ck_assert_int_eq(set("send", "QUIT\\r\\n"), 0);
  ck_assert_uint_eq(o.steps.n, 3);
  ck_assert_int_eq(o.steps.items[0].kind, PP_STEP_SEND);
  ck_assert_uint_eq(o.steps.items[0].len, 6);
  ck_assert_mem_eq(o.steps.items[0].text, "PING\r\n", 6);
  ck_assert_int_eq(o.steps.items[1].kind, PP_STEP_EXPECT);
  ck_assert_int_eq(set("send", "bad \\q escape"), -1);
  ck_assert_ptr_nonnull(strstr(err, "bad escape"));
}
END_TEST

START_TEST(unescape_handles_hex) {
  char out[16];
  ck_assert_int_eq(pp_unescape("a\\x00b\\x7F", out), 4);
  ck_assert_int_eq(out[1], 0);
  ck_assert_int_eq((unsigned char)out[3], 0x7f);
  ck_assert_int_eq(pp_unescape("\\x4", out), -1);
}
END_TEST

START_TEST(labels_need_name_and_value) {
  ck_assert_int_eq(set("label", "location=fra1"), 0);
  ck_assert_int_eq(set("label", "rack=b 12"), 0);
  ck_assert_uint_eq(o.labels.n, 2);
  ck_assert_int_eq(set("label", "=x"), -1);
  ck_assert_int_eq(set("label", "novalue="), -1);
  ck_assert_int_eq(set("label", "bad key=x"), -1);
}
END_TEST

START_TEST(sizes_take_suffixes) {
  ck_assert_int_eq(set("max_body", "64k"), 0);
  ck_assert_int_eq(o.max_body, 65536);
  ck_assert_int_eq(set("max_body", "2M"), 0);
  ck_assert_int_eq(o.max_body, 2 * 1024 * 1024);
  ck_assert_int_eq(set("max_body", "1"), -1);
  ck_assert_int_eq(set("max_body", "5G"), -1);
}
END_TEST

START_TEST(strings_reject_control_characters) {
  ck_assert_int_eq(set("name", "web\nfront"), -1);
  ck_assert_int_eq(set("name", "web front, main"), 0);
  ck_assert_str_eq(o.name, "web front, main");
}
END_TEST

START_TEST(headers_and_labels_reject_control_characters) {
  /* a line break in a header would send a second header */
  ck_assert_int_eq(set("header", "X-Api-Key: 1\r\nX-Injected: 2"), -1);
  ck_assert_ptr_nonnull(strstr(err, "control characters"));
  ck_assert_int_eq(set("header", "X-A: 1\nX-B: 2"), -1);
  ck_assert_int_eq(set("header", "X-A: \x7f"), -1);
  ck_assert_int_eq(set("label", "rack=a\nb"), -1);
  ck_assert_int_eq(set("header", "X-Api-Key: 1"), 0);
  ck_assert_uint_eq(o.headers.n, 1);
}
END_TEST

START_TEST(every_option_has_help_and_valid_default) {
  for (size_t i = 0; i < pp_options_count; i++) {
    const pp_option *opt = &pp_options[i];
    ck_assert_msg(opt->help && strlen(opt->help) > 10, "%s: help", opt->key);
    if (opt->def) {
      pp_opts tmp;
      memset(&tmp, 0, sizeof(tmp));
      ck_assert_msg(pp_option_set(opt, &tmp, opt->def, err, sizeof(err)) == 0,
                    "%s: default \"%s\" rejected: %s", opt->key, opt->def, err);
      pp_opts_free(&tmp);
    }
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("options");
  TCase *tc = tcase_create("options");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, defaults_are_applied);
  tcase_add_test(tc, durations_take_units);
  tcase_add_test(tc, bad_duration_names_key_and_expectation);
  tcase_add_test(tc, duration_bounds_are_enforced);
  tcase_add_test(tc, keys_ignore_case_and_underscores);
  tcase_add_test(tc, unknown_key_gets_a_suggestion);
  tcase_add_test(tc, enum_lists_choices_on_error);
  tcase_add_test(tc, bools_accept_common_words);
  tcase_add_test(tc, status_ranges_parse_and_match);
  tcase_add_test(tc, bad_regex_is_a_config_error);
  tcase_add_test(tc, send_and_expect_keep_their_order);
  tcase_add_test(tc, unescape_handles_hex);
  tcase_add_test(tc, labels_need_name_and_value);
  tcase_add_test(tc, sizes_take_suffixes);
  tcase_add_test(tc, strings_reject_control_characters);
  tcase_add_test(tc, headers_and_labels_reject_control_characters);
  tcase_add_test(tc, every_option_has_help_and_valid_default);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
