/* Targets from URLs: schemes, hosts, ports, and what is refused. */
#include "portprobe.h"

#include <check.h>
#include <string.h>

static char err[512];

static pp_target *parse(const char *url) {
  err[0] = 0;
  return pp_target_new(url, err, sizeof(err));
}

START_TEST(tcp_url_with_port) {
  pp_target *t = parse("tcp://db.example.com:5432");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->scheme->name, "tcp");
  ck_assert_str_eq(t->host, "db.example.com");
  ck_assert_int_eq(t->port, 5432);
  ck_assert(!t->host_is_ip);
  ck_assert_int_eq(t->kind, PP_KIND_TCP);
  pp_target_free(t);
}
END_TEST

START_TEST(ipv6_literal_in_brackets) {
  pp_target *t = parse("tcp://[::1]:22");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->host, "::1");
  ck_assert_int_eq(t->port, 22);
  ck_assert(t->host_is_ip);
  pp_target_free(t);
  ck_assert_ptr_null(parse("tcp://::1:22"));
  ck_assert_ptr_nonnull(strstr(err, "brackets"));
  ck_assert_ptr_null(parse("tcp://[::g]:22"));
  ck_assert_ptr_null(parse("tcp://[::1:22"));
}
END_TEST

START_TEST(schemes_have_default_ports) {
  static const struct {
    const char *url;
    int port;
  } cases[] = {
      {"smtp://mail.example.com", 25},
      {"submission://m.example.com", 587},
      {"smtps://m.example.com", 465},
      {"imap://m.example.com", 143},
      {"imaps://m.example.com", 993},
      {"pop3://m.example.com", 110},
      {"pop3s://m.example.com", 995},
      {"http://w.example.com", 80},
      {"https://w.example.com", 443},
      {"ssh://h.example.com", 22},
      {"ftp://h.example.com", 21},
      {"redis://h.example.com", 6379},
      {"smtp://mail.example.com:2525", 2525},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pp_target *t = parse(cases[i].url);
    ck_assert_msg(t != NULL, "%s: %s", cases[i].url, err);
    ck_assert_int_eq(t->port, cases[i].port);
    pp_target_free(t);
  }
}
END_TEST

START_TEST(tcp_needs_a_port) {
  ck_assert_ptr_null(parse("tcp://db.example.com"));
  ck_assert_ptr_nonnull(strstr(err, "need a port"));
}
END_TEST

START_TEST(bad_ports_are_refused) {
  ck_assert_ptr_null(parse("tcp://h.example.com:0"));
  ck_assert_ptr_null(parse("tcp://h.example.com:65536"));
  ck_assert_ptr_null(parse("tcp://h.example.com:12a"));
  ck_assert_ptr_null(parse("tcp://h.example.com:"));
  ck_assert_ptr_nonnull(strstr(err, "1 to 65535"));
}
END_TEST

START_TEST(unknown_scheme_lists_known_ones) {
  ck_assert_ptr_null(parse("gopher://h.example.com:70"));
  ck_assert_ptr_nonnull(strstr(err, "unknown scheme \"gopher\""));
  ck_assert_ptr_nonnull(strstr(err, "smtp"));
  ck_assert_ptr_null(parse("h.example.com:70"));
}
END_TEST

START_TEST(messages_list_every_scheme_from_the_table) {
  ck_assert_ptr_null(pp_target_new("gopher://h", err, sizeof(err)));
  for (size_t i = 0; i < pp_schemes_count; i++)
    ck_assert_msg(strstr(err, pp_schemes[i].name) != NULL, "%s lacks %s", err,
                  pp_schemes[i].name);
  ck_assert_ptr_nonnull(strstr(err, "icmp (or ping)"));
  /* starttls on a scheme without it names exactly those with it */
  pp_target *t = pp_target_new("tcp://h:1", err, sizeof(err));
  ck_assert_int_eq(pp_target_set(t, "starttls", "require", err, sizeof(err)),
                   -1);
  ck_assert_ptr_nonnull(t);
  pp_target_free(t);
  t = pp_target_new("ssh://h", err, sizeof(err));
  ck_assert_int_eq(pp_target_set(t, "starttls", "require", err, sizeof(err)),
                   0);
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(
      err, "STARTTLS (smtp, submission, imap, pop3, postgres (or postgresql), "
           "mysql (or mariadb), ldap)"));
  pp_target_free(t);
}
END_TEST

START_TEST(finalize_prepares_the_kinds_data) {
  const char *urls[] = {"smtp://h", "https://h/", "icmp://h", "tcp://h:1"};
  for (size_t i = 0; i < 4; i++) {
    pp_target *t = pp_target_new(urls[i], err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(t->check_data);
    ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), 0);
    /* made once, here, not cast out of a const target in a round */
    if (i < 3)
      ck_assert_msg(t->check_data != NULL, "%s has no data", urls[i]);
    else
      ck_assert_ptr_null(t->check_data); /* a plain connect keeps nothing */
    ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), 0);
    pp_target_free(t);
  }
}
END_TEST

START_TEST(query_string_is_not_options) {
  ck_assert_ptr_null(parse("tcp://h.example.com:22?timeout=3s"));
  ck_assert_ptr_nonnull(strstr(err, "separate keys"));
}
END_TEST

START_TEST(http_keeps_path_and_query_for_the_request) {
  pp_target *t = parse("https://w.example.com/status?full=1#top");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->path, "/status?full=1");
  pp_target_free(t);
  t = parse("http://w.example.com");
  ck_assert_str_eq(t->path, "/");
  pp_target_free(t);
}
END_TEST

START_TEST(credentials_in_url_are_refused) {
  ck_assert_ptr_null(parse("imap://bob:secret@m.example.com"));
  ck_assert_ptr_nonnull(strstr(err, "password_file"));
  /* the message would reach collectd's log: the password is masked */
  ck_assert_ptr_null(strstr(err, "secret"));
  ck_assert_ptr_nonnull(strstr(err, "URL \"imap://****@m.example.com\""));
}
END_TEST

START_TEST(a_password_holding_at_slash_hash_or_question_mark_is_masked) {
  static const char *const urls[] = {
      "imaps://alice:p@ssw0rd@m.example.com",
      "imaps://alice:pa/ss?w#rd@m.example.com",
      "smtp://alice:pa/ss@m.example.com:587",
      "https://alice:p@ss/w#rd@m.example.com/",
  };
  for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    ck_assert_ptr_null(parse(urls[i]));
    ck_assert_msg(strstr(err, "****@m.example.com") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "alice") == NULL &&
                      strstr(err, "ssw0rd") == NULL &&
                      strstr(err, "ss/") == NULL &&
                      strstr(err, "/ss") == NULL && strstr(err, "w#rd") == NULL,
                  "%s", err);
  }
  /* http's path may hold '@': that is no credential */
  pp_target *t = parse("http://web.example/users/@me");
  ck_assert_ptr_nonnull(t);
  pp_target_free(t);
  /* a port that is no port, with an '@' later: masked too */
  ck_assert_ptr_null(parse("https://alice:pa/ss@web.example/"));
  ck_assert_ptr_null(strstr(err, "pa/ss"));
}
END_TEST

START_TEST(icmp_has_no_port) {
  pp_target *t = parse("icmp://192.0.2.1");
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(t->kind, PP_KIND_ICMP);
  pp_target_free(t);
  ck_assert_ptr_null(parse("icmp://192.0.2.1:7"));
}
END_TEST

START_TEST(invalid_host_names_are_refused) {
  ck_assert_ptr_null(parse("tcp://bad host:22"));
  ck_assert_ptr_null(parse("tcp://a..b:22"));
  ck_assert_ptr_null(parse("tcp://:22"));
}
END_TEST

START_TEST(option_error_names_target_and_key) {
  pp_target *t = parse("tcp://db.example.com:5432");
  ck_assert_int_eq(pp_target_set(t, "name", "db", err, sizeof(err)), 0);
  ck_assert_int_eq(pp_target_set(t, "timeout", "fast", err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "target \"db\""));
  ck_assert_ptr_nonnull(strstr(err, "\"timeout\""));
  ck_assert_int_eq(pp_target_set(t, "timout", "3s", err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "did you mean \"timeout\""));
  pp_target_free(t);
}
END_TEST

START_TEST(option_for_other_kind_is_refused) {
  pp_target *t = parse("tcp://db.example.com:5432");
  ck_assert_int_eq(pp_target_set(t, "keyword", "x", err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "does not apply to tcp"));
  pp_target_free(t);
}
END_TEST

START_TEST(send_makes_tcp_a_dialog) {
  pp_target *t = parse("tcp://h.example.com:6379");
  ck_assert_int_eq(pp_target_set(t, "send", "PING\\r\\n", err, sizeof(err)), 0);
  ck_assert_int_eq(t->kind, PP_KIND_DIALOG);
  pp_target_free(t);
}
END_TEST

START_TEST(starttls_defaults_follow_the_scheme) {
  pp_target *t = parse("submission://m.example.com");
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), 0);
  ck_assert_int_eq(t->starttls, PP_STARTTLS_REQUIRE);
  pp_target_free(t);
  t = parse("smtp://m.example.com");
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), 0);
  ck_assert_int_eq(t->starttls, PP_STARTTLS_TRY);
  pp_target_free(t);
  t = parse("smtps://m.example.com");
  ck_assert_int_eq(pp_target_set(t, "starttls", "require", err, sizeof(err)),
                   0);
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "STARTTLS"));
  pp_target_free(t);
}
END_TEST

START_TEST(finalize_catches_contradictions) {
  pp_target *t = parse("tcp://h.example.com:1");
  pp_target_set(t, "timeout", "1s", err, sizeof(err));
  pp_target_set(t, "connect_timeout", "2s", err, sizeof(err));
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "connect_timeout"));
  pp_target_free(t);

  t = parse("imap://m.example.com");
  pp_target_set(t, "username", "bob", err, sizeof(err));
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "password_file"));
  pp_target_free(t);
}
END_TEST

START_TEST(name_defaults_to_url) {
  pp_target *t = parse("tcp://h.example.com:1");
  ck_assert_str_eq(pp_target_name(t), "tcp://h.example.com:1");
  pp_target_set(t, "name", "db", err, sizeof(err));
  ck_assert_str_eq(pp_target_name(t), "db");
  pp_target_free(t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("target");
  TCase *tc = tcase_create("target");
  tcase_add_test(tc, tcp_url_with_port);
  tcase_add_test(tc, ipv6_literal_in_brackets);
  tcase_add_test(tc, schemes_have_default_ports);
  tcase_add_test(tc, tcp_needs_a_port);
  tcase_add_test(tc, bad_ports_are_refused);
  tcase_add_test(tc, unknown_scheme_lists_known_ones);
  tcase_add_test(tc, messages_list_every_scheme_from_the_table);
  tcase_add_test(tc, finalize_prepares_the_kinds_data);
  tcase_add_test(tc, query_string_is_not_options);
  tcase_add_test(tc, http_keeps_path_and_query_for_the_request);
  tcase_add_test(tc, credentials_in_url_are_refused);
  tcase_add_test(tc,
                 a_password_holding_at_slash_hash_or_question_mark_is_masked);
  tcase_add_test(tc, icmp_has_no_port);
  tcase_add_test(tc, invalid_host_names_are_refused);
  tcase_add_test(tc, option_error_names_target_and_key);
  tcase_add_test(tc, option_for_other_kind_is_refused);
  tcase_add_test(tc, send_makes_tcp_a_dialog);
  tcase_add_test(tc, starttls_defaults_follow_the_scheme);
  tcase_add_test(tc, finalize_catches_contradictions);
  tcase_add_test(tc, name_defaults_to_url);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
