/* Reply framing, capabilities, certificate grades and dialog option rules:
 * the parts of the dialog engine that need no server. */
#include "dialog.h"
#include "reply.h"
#include "tls.h"

#include <check.h>
#include <string.h>

static pp_reply_state parse(pp_frame f, const char *s, const char *tag,
                            pp_reply *r) {
  return pp_reply_parse(f, s, strlen(s), tag, r);
}

/* --- SMTP --- */

START_TEST(smtp_single_line_reply_is_complete) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "220 mx.example ESMTP\r\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.code, 220);
  ck_assert_int_eq(r.status, PP_RS_OK);
  ck_assert_uint_eq(r.len, 22);
}
END_TEST

START_TEST(smtp_continued_reply_waits_for_its_last_line) {
  pp_reply r;
  ck_assert_int_eq(
      parse(PP_FRAME_SMTP, "250-mx.example\r\n250-PIPELINING\r\n", NULL, &r),
      PP_REPLY_INCOMPLETE);
}
END_TEST

START_TEST(smtp_continued_reply_ends_at_line_with_space) {
  const char *s = "250-mx.example\r\n250-STARTTLS\r\n250 8BITMIME\r\nextra";
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, s, NULL, &r), PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, strlen(s) - 5);
  ck_assert_uint_eq(r.last_off, 30);
  ck_assert_int_eq(r.code, 250);
}
END_TEST

START_TEST(smtp_code_alone_on_a_line_ends_the_reply) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "250\r\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.code, 250);
}
END_TEST

START_TEST(smtp_bare_lf_ends_a_line) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "220-a\n220 b\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, 12);
}
END_TEST

START_TEST(smtp_partial_code_is_incomplete) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "22", NULL, &r), PP_REPLY_INCOMPLETE);
}
END_TEST

START_TEST(smtp_text_without_code_is_malformed_at_first_byte) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "A", NULL, &r), PP_REPLY_MALFORMED);
  ck_assert(!r.binary);
  ck_assert_ptr_nonnull(r.why);
}
END_TEST

START_TEST(smtp_binary_is_malformed_as_binary) {
  pp_reply r;
  ck_assert_int_eq(pp_reply_parse(PP_FRAME_SMTP, "\x00\xff\xfe", 3, NULL, &r),
                   PP_REPLY_MALFORMED);
  ck_assert(r.binary);
}
END_TEST

START_TEST(smtp_wrong_separator_is_malformed) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "220x", NULL, &r), PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(smtp_code_change_inside_a_reply_is_malformed) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "250-a\r\n550 b\r\n", NULL, &r),
                   PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(smtp_out_of_range_code_is_malformed) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "999 what\r\n", NULL, &r),
                   PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(smtp_reply_classes_map_to_status) {
  pp_reply r;
  parse(PP_FRAME_SMTP, "421 busy\r\n", NULL, &r);
  ck_assert_int_eq(r.status, PP_RS_TEMPFAIL);
  parse(PP_FRAME_SMTP, "554 no service\r\n", NULL, &r);
  ck_assert_int_eq(r.status, PP_RS_PERMFAIL);
  parse(PP_FRAME_SMTP, "334 VXNlcm5hbWU6\r\n", NULL, &r);
  ck_assert_int_eq(r.status, PP_RS_MORE);
}
END_TEST

START_TEST(ftp_continued_reply_may_hold_any_text) {
  const char *s = "220-Welcome\r\n this is free text\r\n230 not ours\r\n"
                  "220 ready\r\n";
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_FTP, s, NULL, &r), PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, strlen(s));
  ck_assert_int_eq(r.code, 220);
}
END_TEST

START_TEST(ftp_not_ready_greeting_is_preliminary) {
  pp_reply r;
  parse(PP_FRAME_FTP, "120 ready in 5 minutes\r\n", NULL, &r);
  ck_assert_int_eq(r.status, PP_RS_PRELIM);
}
END_TEST

/* --- POP3 --- */

START_TEST(pop3_ok_and_err_are_told_apart) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_POP3, "+OK Dovecot ready.\r\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.status, PP_RS_OK);
  ck_assert_int_eq(parse(PP_FRAME_POP3, "-ERR [AUTH] failed\r\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.status, PP_RS_PERMFAIL);
}
END_TEST

START_TEST(pop3_bare_ok_line_is_complete) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_POP3, "+OK\r\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.status, PP_RS_OK);
}
END_TEST

START_TEST(pop3_other_text_is_malformed) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_POP3, "220 smtp", NULL, &r),
                   PP_REPLY_MALFORMED);
  ck_assert_int_eq(parse(PP_FRAME_POP3, "+OKAY\r\n", NULL, &r),
                   PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(pop3_list_waits_for_the_dot) {
  pp_reply r;
  ck_assert_int_eq(
      parse(PP_FRAME_POP3_MULTI, "+OK\r\nSTLS\r\nUSER\r\n", NULL, &r),
      PP_REPLY_INCOMPLETE);
  const char *s = "+OK\r\nSTLS\r\n..stuffed\r\n.\r\n";
  ck_assert_int_eq(parse(PP_FRAME_POP3_MULTI, s, NULL, &r), PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, strlen(s));
}
END_TEST

START_TEST(pop3_list_refused_is_one_line) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_POP3_MULTI, "-ERR unknown\r\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.status, PP_RS_PERMFAIL);
}
END_TEST

/* --- IMAP --- */

START_TEST(imap_greetings_ok_preauth_bye_are_told_apart) {
  pp_reply r;
  parse(PP_FRAME_IMAP_GREETING, "* OK [CAPABILITY IMAP4rev1] ready\r\n", NULL,
        &r);
  ck_assert_int_eq(r.status, PP_RS_OK);
  parse(PP_FRAME_IMAP_GREETING, "* PREAUTH logged in\r\n", NULL, &r);
  ck_assert_int_eq(r.status, PP_RS_PREAUTH);
  parse(PP_FRAME_IMAP_GREETING, "* BYE shutting down\r\n", NULL, &r);
  ck_assert_int_eq(r.status, PP_RS_BYE);
}
END_TEST

START_TEST(imap_greeting_ok_at_line_end_is_complete) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_IMAP_GREETING, "* OK\r\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.status, PP_RS_OK);
}
END_TEST

START_TEST(imap_greeting_of_another_protocol_is_malformed_text) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_IMAP_GREETING, "220 mx ESMTP\r\n", NULL, &r),
                   PP_REPLY_MALFORMED);
  ck_assert(!r.binary);
  ck_assert_int_eq(parse(PP_FRAME_IMAP_GREETING, "* NO go\r\n", NULL, &r),
                   PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(imap_tagged_reply_skips_untagged_lines) {
  const char *s = "* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n";
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_IMAP_TAGGED, s, "a1", &r), PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, strlen(s));
  ck_assert_uint_eq(r.last_off, 33);
  ck_assert_int_eq(r.status, PP_RS_OK);
}
END_TEST

START_TEST(imap_tagged_no_and_bad_are_failures) {
  pp_reply r;
  parse(PP_FRAME_IMAP_TAGGED, "a3 NO [AUTHENTICATIONFAILED] no\r\n", "a3", &r);
  ck_assert_int_eq(r.status, PP_RS_PERMFAIL);
  parse(PP_FRAME_IMAP_TAGGED, "a3 BAD syntax\r\n", "a3", &r);
  ck_assert_int_eq(r.status, PP_RS_BAD);
}
END_TEST

START_TEST(imap_other_tag_is_malformed) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_IMAP_TAGGED, "a10 OK\r\n", "a1", &r),
                   PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(imap_literal_is_skipped_whole) {
  /* the literal holds text that looks like the completion */
  const char *s = "* 1 FETCH (BODY {12}\r\na1 OK fake\r\n)\r\na1 OK real\r\n";
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_IMAP_TAGGED, s, "a1", &r), PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, strlen(s));
  ck_assert_int_eq(pp_reply_parse(PP_FRAME_IMAP_TAGGED, s, 28, "a1", &r),
                   PP_REPLY_INCOMPLETE);
}
END_TEST

START_TEST(imap_huge_literal_is_malformed) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_IMAP_TAGGED, "* X {99999999}\r\n", "a1", &r),
                   PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(imap_continuation_request_ends_a_reply) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_IMAP_TAGGED, "+ go ahead\r\n", "a1", &r),
                   PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.status, PP_RS_MORE);
}
END_TEST

/* --- single lines --- */

START_TEST(line_frame_ends_at_newline) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_LINE, "SSH-2.0-OpenSSH_9.2", NULL, &r),
                   PP_REPLY_INCOMPLETE);
  ck_assert_int_eq(parse(PP_FRAME_LINE, "+PONG\r\nmore", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, 7);
}
END_TEST

START_TEST(control_bytes_are_binary_but_utf8_is_text) {
  ck_assert(pp_reply_is_binary("a\x01", 2));
  ck_assert(!pp_reply_is_binary("caf\xc3\xa9\t\r\n", 8));
}
END_TEST

/* --- replies that begin with a bare line feed, codes alone --- */

START_TEST(a_leading_bare_lf_is_malformed_in_every_frame) {
  static const struct {
    pp_frame f;
    const char *s;
  } cases[] = {
      {PP_FRAME_SMTP, "\n220 mx ESMTP\r\n"},
      {PP_FRAME_FTP, "\n220 ftp ready\r\n"},
      {PP_FRAME_POP3, "\n+OK ready\r\n"},
      {PP_FRAME_POP3_MULTI, "\n+OK\r\n.\r\n"},
      {PP_FRAME_IMAP_GREETING, "\n* OK ready\r\n"},
      {PP_FRAME_IMAP_TAGGED, "\na1 OK done\r\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pp_reply r;
    /* judged at the line feed: no more bytes are waited for */
    ck_assert_int_eq(pp_reply_parse(cases[i].f, cases[i].s, 1, "a1", &r),
                     PP_REPLY_MALFORMED);
    ck_assert(!r.binary);
  }
}
END_TEST

START_TEST(an_ended_line_holding_a_start_of_the_word_is_malformed) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_POP3, "+O\r\n", NULL, &r),
                   PP_REPLY_MALFORMED);
  ck_assert_int_eq(parse(PP_FRAME_POP3, "+O", NULL, &r), PP_REPLY_INCOMPLETE);
  ck_assert_int_eq(parse(PP_FRAME_IMAP_GREETING, "*\n", NULL, &r),
                   PP_REPLY_MALFORMED);
  ck_assert_int_eq(parse(PP_FRAME_IMAP_TAGGED, "a\r\n", "a1", &r),
                   PP_REPLY_MALFORMED);
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "22\n", NULL, &r), PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(smtp_code_alone_before_a_bare_lf_is_a_reply) {
  pp_reply r;
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "220", NULL, &r), PP_REPLY_INCOMPLETE);
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "220\n", NULL, &r), PP_REPLY_COMPLETE);
  ck_assert_int_eq(r.code, 220);
  ck_assert_uint_eq(r.len, 4);
  ck_assert_int_eq(parse(PP_FRAME_SMTP, "250-a\n250\n", NULL, &r),
                   PP_REPLY_COMPLETE);
  ck_assert_uint_eq(r.len, 10);
}
END_TEST

/* --- parsing a reply a read at a time --- */

/* Feeds s to pp_reply_parse_more one byte at a time: at each length the
 * state is the one a parse of that prefix from scratch gives. */
static void agrees_byte_by_byte(pp_frame f, const char *s, const char *tag) {
  pp_reply_cursor cur = {0};
  size_t len = strlen(s);
  for (size_t n = 1; n <= len; n++) {
    pp_reply inc, whole;
    pp_reply_state a = pp_reply_parse_more(f, s, n, tag, &cur, &inc);
    pp_reply_state b = pp_reply_parse(f, s, n, tag, &whole);
    ck_assert_msg(a == b, "%s: at %zu bytes %d, from scratch %d", s, n, a, b);
    if (a == PP_REPLY_COMPLETE) {
      ck_assert_uint_eq(inc.len, whole.len);
      ck_assert_int_eq(inc.status, whole.status);
      ck_assert_int_eq(inc.code, whole.code);
      ck_assert_uint_eq(inc.last_off, whole.last_off);
    }
    if (a != PP_REPLY_INCOMPLETE)
      return;
  }
}

START_TEST(parsing_a_read_at_a_time_agrees_with_parsing_at_once) {
  agrees_byte_by_byte(PP_FRAME_SMTP,
                      "250-mx.example\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
                      NULL);
  agrees_byte_by_byte(PP_FRAME_SMTP, "250-a\r\n251 b\r\n", NULL);
  agrees_byte_by_byte(PP_FRAME_SMTP, "220-a\r\n220\n", NULL);
  agrees_byte_by_byte(PP_FRAME_FTP,
                      "220-Welcome\r\n free\r\n999 x\r\n220 ok\r\n", NULL);
  agrees_byte_by_byte(PP_FRAME_POP3, "+OK ready\r\n", NULL);
  agrees_byte_by_byte(PP_FRAME_POP3_MULTI, "+OK\r\nUSER\r\nSTLS\r\n.\r\n",
                      NULL);
  agrees_byte_by_byte(PP_FRAME_POP3_MULTI, "-ERR no\r\n", NULL);
  agrees_byte_by_byte(PP_FRAME_IMAP_GREETING, "* OK [CAPABILITY X] hi\r\n",
                      NULL);
  agrees_byte_by_byte(PP_FRAME_IMAP_TAGGED,
                      "* CAPABILITY IMAP4rev1\r\n* X {5}\r\nab\ncd\r\na1 OK "
                      "done\r\n",
                      "a1");
  agrees_byte_by_byte(PP_FRAME_IMAP_TAGGED, "* A\r\na1 NO bad\r\n", "a1");
  agrees_byte_by_byte(PP_FRAME_LINE, "+PONG\r\n", NULL);
  agrees_byte_by_byte(PP_FRAME_SMTP, "220 a\x01", NULL);
  agrees_byte_by_byte(PP_FRAME_SMTP, "220 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                      NULL);
}
END_TEST

/* --- capabilities --- */

START_TEST(ehlo_offers_starttls_and_auth_mechanisms) {
  const char *s = "250-mx.example\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"
                  "250 8BITMIME\r\n";
  pp_caps c = {0};
  pp_caps_parse(PP_FRAME_SMTP, s, strlen(s), &c);
  ck_assert(c.starttls);
  ck_assert(c.auth_plain);
  ck_assert(c.auth_login);
}
END_TEST

START_TEST(ehlo_first_line_is_a_name_not_a_keyword) {
  const char *s = "250-STARTTLS\r\n250 SIZE 100\r\n";
  pp_caps c = {0};
  pp_caps_parse(PP_FRAME_SMTP, s, strlen(s), &c);
  ck_assert(!c.starttls);
}
END_TEST

START_TEST(ehlo_old_auth_equals_form_is_understood) {
  const char *s = "250-mx\r\n250 AUTH=LOGIN\r\n";
  pp_caps c = {0};
  pp_caps_parse(PP_FRAME_SMTP, s, strlen(s), &c);
  ck_assert(c.auth_login);
  ck_assert(!c.auth_plain);
}
END_TEST

START_TEST(imap_capability_lists_starttls_and_logindisabled) {
  const char *s = "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n"
                  "a1 OK done\r\n";
  pp_caps c = {0};
  pp_caps_parse(PP_FRAME_IMAP_TAGGED, s, strlen(s), &c);
  ck_assert(c.starttls);
  ck_assert(c.logindisabled);
}
END_TEST

START_TEST(imap_greeting_capability_code_counts) {
  const char *s = "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n";
  pp_caps c = {0};
  pp_caps_parse(PP_FRAME_IMAP_GREETING, s, strlen(s), &c);
  ck_assert(c.auth_plain);
  ck_assert(!c.starttls);
}
END_TEST

START_TEST(imap_starttls_word_outside_capability_does_not_count) {
  const char *s = "* OK STARTTLS is not offered here\r\n";
  pp_caps c = {0};
  pp_caps_parse(PP_FRAME_IMAP_GREETING, s, strlen(s), &c);
  ck_assert(!c.starttls);
}
END_TEST

START_TEST(pop3_capa_offers_stls_user_and_sasl) {
  const char *s = "+OK\r\nTOP\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n";
  pp_caps c = {0};
  pp_caps_parse(PP_FRAME_POP3_MULTI, s, strlen(s), &c);
  ck_assert(c.starttls);
  ck_assert(c.user);
  ck_assert(c.auth_plain);
}
END_TEST

/* --- certificate grade --- */

START_TEST(cert_grade_follows_warn_and_crit_days) {
  ck_assert_int_eq(pp_tls_cert_grade(30 * 86400LL, 20, 7), PP_GRADE_GOOD);
  ck_assert_int_eq(pp_tls_cert_grade(10 * 86400LL, 20, 7), PP_GRADE_WARNING);
  ck_assert_int_eq(pp_tls_cert_grade(3 * 86400LL, 20, 7), PP_GRADE_CRITICAL);
  ck_assert_int_eq(pp_tls_cert_grade(-86400LL, 20, 7), PP_GRADE_CRITICAL);
}
END_TEST

/* --- option rules --- */

static int finalize(const char *url, const char *const *kv, char *err,
                    size_t errlen) {
  pp_target *t = pp_target_new(url, err, errlen);
  ck_assert_ptr_nonnull(t);
  for (; kv && kv[0]; kv += 2)
    ck_assert_int_eq(pp_target_set(t, kv[0], kv[1], err, errlen), 0);
  int rc = pp_target_finalize(t, err, errlen);
  pp_target_free(t);
  return rc;
}

START_TEST(every_dialog_scheme_has_a_protocol_table) {
  for (size_t i = 0; i < pp_schemes_count; i++)
    if (pp_schemes[i].kind == PP_KIND_DIALOG ||
        !strcmp(pp_schemes[i].name, "tcp"))
      ck_assert_ptr_nonnull(pp_schemes[i].protocol);
}
END_TEST

START_TEST(login_on_a_scheme_without_one_is_refused) {
  char err[300];
  const char *kv[] = {"username", "u", "password_file", "/p", NULL};
  ck_assert_int_eq(finalize("ssh://h", kv, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "username"));
}
END_TEST

START_TEST(login_without_tls_needs_auth_plaintext) {
  char err[300];
  const char *no[] = {"username", "u", "password_file", "/p", "starttls",
                      "no",       NULL};
  ck_assert_int_eq(finalize("imap://h", no, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "clear text"));
  const char *yes[] = {"username", "u",  "password_file",  "/p",
                       "starttls", "no", "auth_plaintext", "yes",
                       NULL};
  ck_assert_int_eq(finalize("imap://h", yes, err, sizeof(err)), 0);
}
END_TEST

START_TEST(auth_mechanism_is_for_smtp_only) {
  char err[300];
  const char *kv[] = {"auth_mechanism", "login", NULL};
  ck_assert_int_eq(finalize("pop3://h", kv, err, sizeof(err)), -1);
  ck_assert_int_eq(finalize("submission://h", kv, err, sizeof(err)), 0);
}
END_TEST

START_TEST(expect_banner_on_redis_is_refused) {
  char err[300];
  const char *kv[] = {"expect_banner", "x", NULL};
  ck_assert_int_eq(finalize("redis://h", kv, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "no greeting"));
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("dialog");
  TCase *tc = tcase_create("reply");
  tcase_add_test(tc, smtp_single_line_reply_is_complete);
  tcase_add_test(tc, smtp_continued_reply_waits_for_its_last_line);
  tcase_add_test(tc, smtp_continued_reply_ends_at_line_with_space);
  tcase_add_test(tc, smtp_code_alone_on_a_line_ends_the_reply);
  tcase_add_test(tc, smtp_bare_lf_ends_a_line);
  tcase_add_test(tc, smtp_partial_code_is_incomplete);
  tcase_add_test(tc, smtp_text_without_code_is_malformed_at_first_byte);
  tcase_add_test(tc, smtp_binary_is_malformed_as_binary);
  tcase_add_test(tc, smtp_wrong_separator_is_malformed);
  tcase_add_test(tc, smtp_code_change_inside_a_reply_is_malformed);
  tcase_add_test(tc, smtp_out_of_range_code_is_malformed);
  tcase_add_test(tc, smtp_reply_classes_map_to_status);
  tcase_add_test(tc, ftp_continued_reply_may_hold_any_text);
  tcase_add_test(tc, ftp_not_ready_greeting_is_preliminary);
  tcase_add_test(tc, pop3_ok_and_err_are_told_apart);
  tcase_add_test(tc, pop3_bare_ok_line_is_complete);
  tcase_add_test(tc, pop3_other_text_is_malformed);
  tcase_add_test(tc, pop3_list_waits_for_the_dot);
  tcase_add_test(tc, pop3_list_refused_is_one_line);
  tcase_add_test(tc, imap_greetings_ok_preauth_bye_are_told_apart);
  tcase_add_test(tc, imap_greeting_ok_at_line_end_is_complete);
  tcase_add_test(tc, imap_greeting_of_another_protocol_is_malformed_text);
  tcase_add_test(tc, imap_tagged_reply_skips_untagged_lines);
  tcase_add_test(tc, imap_tagged_no_and_bad_are_failures);
  tcase_add_test(tc, imap_other_tag_is_malformed);
  tcase_add_test(tc, imap_literal_is_skipped_whole);
  tcase_add_test(tc, imap_huge_literal_is_malformed);
  tcase_add_test(tc, imap_continuation_request_ends_a_reply);
  tcase_add_test(tc, line_frame_ends_at_newline);
  tcase_add_test(tc, control_bytes_are_binary_but_utf8_is_text);
  tcase_add_test(tc, a_leading_bare_lf_is_malformed_in_every_frame);
  tcase_add_test(tc, an_ended_line_holding_a_start_of_the_word_is_malformed);
  tcase_add_test(tc, smtp_code_alone_before_a_bare_lf_is_a_reply);
  tcase_add_test(tc, parsing_a_read_at_a_time_agrees_with_parsing_at_once);
  suite_add_tcase(s, tc);

  tc = tcase_create("caps");
  tcase_add_test(tc, ehlo_offers_starttls_and_auth_mechanisms);
  tcase_add_test(tc, ehlo_first_line_is_a_name_not_a_keyword);
  tcase_add_test(tc, ehlo_old_auth_equals_form_is_understood);
  tcase_add_test(tc, imap_capability_lists_starttls_and_logindisabled);
  tcase_add_test(tc, imap_greeting_capability_code_counts);
  tcase_add_test(tc, imap_starttls_word_outside_capability_does_not_count);
  tcase_add_test(tc, pop3_capa_offers_stls_user_and_sasl);
  tcase_add_test(tc, cert_grade_follows_warn_and_crit_days);
  suite_add_tcase(s, tc);

  tc = tcase_create("options");
  tcase_add_test(tc, every_dialog_scheme_has_a_protocol_table);
  tcase_add_test(tc, login_on_a_scheme_without_one_is_refused);
  tcase_add_test(tc, login_without_tls_needs_auth_plaintext);
  tcase_add_test(tc, auth_mechanism_is_for_smtp_only);
  tcase_add_test(tc, expect_banner_on_redis_is_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
