/* The HTTP check's decisions: the request a target makes, how a response is
 * judged, and which class a libcurl failure is. */
#include "http.h"
#include "tls.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* A finalized target from a URL and key=value options (NULL-terminated). */
static pp_target *target(const char *url, ...) {
  char err[400];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  va_list ap;
  va_start(ap, url);
  const char *kv;
  while ((kv = va_arg(ap, const char *)) != NULL) {
    const char *eq = strchr(kv, '=');
    char key[64];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    ck_assert_msg(pp_target_set(t, key, eq + 1, err, sizeof(err)) == 0, "%s",
                  err);
  }
  va_end(ap);
  ck_assert_msg(pp_target_finalize(t, err, sizeof(err)) == 0, "%s", err);
  return t;
}

static pp_http_target *request(const pp_target *t) {
  char err[400];
  pp_http_target *ht = pp_http_target_new(t, err, sizeof(err));
  ck_assert_msg(ht != NULL, "%s", err);
  return ht;
}

static const char PAGE[] =
    "<html><head><title>Shop</title></head><body>Welcome, all items in "
    "stock</body></html>";

static pp_http_response page(int status) {
  pp_http_response r = {
      .status = status,
      .status_line = "HTTP/1.1 200 OK",
      .body = PAGE,
      .body_len = sizeof(PAGE) - 1,
  };
  return r;
}

/* Judges resp for a target made from url and options; returns the class. */
static pp_result_code judge(pp_result *res, const pp_http_response *resp,
                            pp_target *t) {
  pp_http_target *ht = request(t);
  pp_result_reset(res);
  pp_result_code code = pp_http_judge(t, ht, resp, res);
  pp_http_target_free(ht);
  pp_target_free(t);
  return code;
}

/* --- status --- */

START_TEST(status_in_default_range_is_ok) {
  pp_result res;
  pp_http_response resp = page(302);
  ck_assert_int_eq(judge(&res, &resp, target("http://a.test/", NULL)), PP_R_OK);
  ck_assert_int_eq(res.http_status, 302);
  ck_assert_str_eq(res.detail, "");
}
END_TEST

START_TEST(status_outside_the_set_is_http_status_with_status_line) {
  pp_result res;
  pp_http_response resp = page(503);
  resp.status_line = "HTTP/1.1 503 Service Unavailable";
  resp.body = "<h1>Down for maintenance</h1>";
  resp.body_len = strlen(resp.body);
  ck_assert_int_eq(judge(&res, &resp, target("http://a.test/", NULL)),
                   PP_R_HTTP_STATUS);
  ck_assert_int_eq(res.http_status, 503);
  ck_assert_str_eq(res.detail, "status 503, accepted 200-399");
  ck_assert_str_eq(res.excerpt, "HTTP/1.1 503 Service Unavailable <h1>Down "
                                "for maintenance</h1>");
}
END_TEST

START_TEST(custom_status_set_accepts_500) {
  pp_result res;
  pp_http_response resp = page(500);
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "status=500,502-504", NULL)),
      PP_R_OK);
}
END_TEST

START_TEST(custom_status_set_refuses_200) {
  pp_result res;
  pp_http_response resp = page(200);
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "status=204, 301", NULL)),
      PP_R_HTTP_STATUS);
  ck_assert_str_eq(res.detail, "status 200, accepted 204,301");
}
END_TEST

START_TEST(status_failure_after_redirects_names_the_final_url) {
  pp_result res;
  pp_http_response resp = page(404);
  resp.redirects = 2;
  resp.final_url = "http://a.test/gone";
  ck_assert_int_eq(judge(&res, &resp, target("http://a.test/", NULL)),
                   PP_R_HTTP_STATUS);
  ck_assert_str_eq(res.detail,
                   "status 404, accepted 200-399 at http://a.test/gone");
  ck_assert_int_eq(res.http_redirects, 2);
}
END_TEST

/* --- keywords --- */

START_TEST(keyword_found_is_ok) {
  pp_result res;
  pp_http_response resp = page(200);
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "keyword=in stock", NULL)),
      PP_R_OK);
}
END_TEST

START_TEST(keyword_is_a_regular_expression) {
  pp_result res;
  pp_http_response resp = page(200);
  ck_assert_int_eq(judge(&res, &resp,
                         target("http://a.test/",
                                "keyword=<title>[A-Z][a-z]+</title>", NULL)),
                   PP_R_OK);
}
END_TEST

START_TEST(keyword_missing_names_the_pattern_and_shows_the_page) {
  pp_result res;
  pp_http_response resp = page(200);
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "keyword=sold out", NULL)),
      PP_R_KEYWORD_MISSING);
  ck_assert_str_eq(res.detail, "no match for \"sold out\" in 85 bytes of body");
  ck_assert_str_eq(res.excerpt, PAGE);
}
END_TEST

START_TEST(keyword_missing_in_a_capped_body_says_so) {
  pp_result res;
  pp_http_response resp = page(200);
  resp.body_capped = true;
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "keyword=footer", NULL)),
      PP_R_KEYWORD_MISSING);
  ck_assert_str_eq(
      res.detail,
      "no match for \"footer\" in 85 bytes of body (max_body reached)");
}
END_TEST

START_TEST(keyword_absent_found_is_keyword_present_with_where) {
  pp_result res;
  char body[400];
  memset(body, 'x', 200);
  strcpy(body + 200, " Fatal error: database gone ");
  pp_http_response resp = page(200);
  resp.body = body;
  resp.body_len = strlen(body);
  ck_assert_int_eq(
      judge(&res, &resp,
            target("http://a.test/", "keyword_absent=Fatal error", NULL)),
      PP_R_KEYWORD_PRESENT);
  ck_assert_str_eq(res.detail, "\"Fatal error\" found at byte 201");
  ck_assert_ptr_nonnull(strstr(res.excerpt, "Fatal error: database gone"));
  ck_assert(strncmp(res.excerpt, "...", 3) == 0);
}
END_TEST

START_TEST(runaway_keyword_search_gives_up_and_fails) {
  pp_result res;
  char body[80];
  memset(body, 'a', 60);
  strcpy(body + 60, "b");
  pp_http_response resp = page(200);
  resp.body = body;
  resp.body_len = strlen(body);
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "keyword=^(a|aa)+$", NULL)),
      PP_R_KEYWORD_MISSING);
  ck_assert_str_eq(res.detail, "search for \"^(a|aa)+$\" gave up after 61 "
                               "bytes: match limit exceeded");
  ck_assert_int_eq(
      judge(&res, &resp,
            target("http://a.test/", "keyword_absent=^(a|aa)+$", NULL)),
      PP_R_KEYWORD_PRESENT);
}
END_TEST

START_TEST(keyword_absent_not_found_is_ok) {
  pp_result res;
  pp_http_response resp = page(200);
  ck_assert_int_eq(
      judge(&res, &resp,
            target("http://a.test/", "keyword_absent=Fatal error", NULL)),
      PP_R_OK);
}
END_TEST

START_TEST(status_is_judged_before_keywords) {
  pp_result res;
  pp_http_response resp = page(500);
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "keyword=nowhere", NULL)),
      PP_R_HTTP_STATUS);
}
END_TEST

START_TEST(binary_body_is_sanitised_in_the_excerpt) {
  pp_result res;
  pp_http_response resp = page(200);
  resp.body = "ok\x01\xff\r\nnext";
  resp.body_len = 10;
  ck_assert_int_eq(
      judge(&res, &resp, target("http://a.test/", "keyword=missing", NULL)),
      PP_R_KEYWORD_MISSING);
  ck_assert_str_eq(res.excerpt, "ok\\x01\\xff next");
}
END_TEST

START_TEST(long_body_excerpt_is_cut_and_marked) {
  pp_result res;
  char body[2000];
  memset(body, 'a', sizeof(body));
  pp_http_response resp = page(200);
  resp.body = body;
  resp.body_len = sizeof(body);
  judge(&res, &resp, target("http://a.test/", "keyword=b", NULL));
  size_t n = strlen(res.excerpt);
  ck_assert_uint_lt(n, PP_EXCERPT_MAX);
  ck_assert_str_eq(res.excerpt + n - 3, "...");
}
END_TEST

START_TEST(redirects_followed_name_the_final_url) {
  pp_result res;
  pp_http_response resp = page(200);
  resp.redirects = 3;
  resp.final_url = "https://a.test/home";
  ck_assert_int_eq(judge(&res, &resp, target("http://a.test/", NULL)), PP_R_OK);
  ck_assert_str_eq(res.detail, "3 redirects to https://a.test/home");
  ck_assert_int_eq(res.http_redirects, 3);
}
END_TEST

/* --- the request --- */

START_TEST(url_names_the_port_and_keeps_the_query) {
  pp_target *t = target("https://shop.test/cart?id=4#top", NULL);
  pp_http_target *ht = request(t);
  ck_assert_str_eq(ht->url, "https://shop.test:443/cart?id=4");
  ck_assert_str_eq(ht->url_host, "shop.test");
  ck_assert_ptr_null(ht->headers);
  pp_http_target_free(ht);
  pp_target_free(t);
}
END_TEST

START_TEST(ip_literal_needs_no_connect_to) {
  pp_target *t = target("http://[2001:db8::1]:8080", NULL);
  pp_http_target *ht = request(t);
  ck_assert_str_eq(ht->url, "http://[2001:db8::1]:8080/");
  ck_assert_ptr_null(ht->url_host);
  pp_http_target_free(ht);
  pp_target_free(t);
}
END_TEST

START_TEST(sni_names_the_url_and_the_host_header_keeps_the_target) {
  pp_target *t = target("https://192.0.2.7:8443/", "sni=www.shop.test",
                        "header=X-Probe: 1", NULL);
  pp_http_target *ht = request(t);
  ck_assert_str_eq(ht->url, "https://www.shop.test:8443/");
  ck_assert_str_eq(ht->url_host, "www.shop.test");
  ck_assert_str_eq(ht->headers->data, "X-Probe: 1");
  ck_assert_str_eq(ht->headers->next->data, "Host: 192.0.2.7:8443");
  ck_assert_ptr_null(ht->headers->next->next);
  pp_http_target_free(ht);
  pp_target_free(t);
}
END_TEST

START_TEST(sni_keeps_a_host_header_the_user_set) {
  pp_target *t = target("https://192.0.2.7/", "sni=www.shop.test",
                        "header=host: shop.test", NULL);
  pp_http_target *ht = request(t);
  ck_assert_str_eq(ht->headers->data, "host: shop.test");
  ck_assert_ptr_null(ht->headers->next);
  pp_http_target_free(ht);
  pp_target_free(t);
}
END_TEST

START_TEST(sni_is_ignored_without_tls) {
  pp_target *t = target("http://192.0.2.7/", "sni=www.shop.test", NULL);
  pp_http_target *ht = request(t);
  ck_assert_str_eq(ht->url, "http://192.0.2.7:80/");
  ck_assert_ptr_null(ht->headers);
  pp_http_target_free(ht);
  pp_target_free(t);
}
END_TEST

START_TEST(keywords_with_head_are_a_configuration_error) {
  char err[400];
  pp_target *t = pp_target_new("http://a.test/", err, sizeof(err));
  ck_assert_int_eq(pp_target_set(t, "method", "HEAD", err, sizeof(err)), 0);
  ck_assert_int_eq(pp_target_set(t, "keyword", "ok", err, sizeof(err)), 0);
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), -1);
  ck_assert_str_eq(err, "target \"http://a.test/\": keyword and "
                        "keyword_absent need method GET (a HEAD response has "
                        "no body)");
  pp_target_free(t);
}
END_TEST

/* --- failures and grades --- */

START_TEST(connect_failures_take_the_class_of_their_errno) {
  ck_assert_int_eq(pp_http_error_class(CURLE_COULDNT_CONNECT, ECONNREFUSED),
                   PP_R_REFUSED);
  ck_assert_int_eq(pp_http_error_class(CURLE_COULDNT_CONNECT, ETIMEDOUT),
                   PP_R_TIMEOUT);
  ck_assert_int_eq(pp_http_error_class(CURLE_COULDNT_CONNECT, EHOSTUNREACH),
                   PP_R_UNREACHABLE);
  ck_assert_int_eq(pp_http_error_class(CURLE_RECV_ERROR, ECONNRESET),
                   PP_R_RESET);
}
END_TEST

START_TEST(tls_failures_are_told_apart) {
  ck_assert_int_eq(pp_http_error_class(CURLE_SSL_CONNECT_ERROR, 0),
                   PP_R_TLS_HANDSHAKE_FAILED);
  ck_assert_int_eq(pp_http_error_class(CURLE_PEER_FAILED_VERIFICATION, 0),
                   PP_R_TLS_VERIFY_FAILED);
}
END_TEST

START_TEST(http_level_failures_have_their_classes) {
  ck_assert_int_eq(pp_http_error_class(CURLE_TOO_MANY_REDIRECTS, 0),
                   PP_R_TOO_MANY_REDIRECTS);
  ck_assert_int_eq(pp_http_error_class(CURLE_GOT_NOTHING, 0), PP_R_CLOSED);
  ck_assert_int_eq(pp_http_error_class(CURLE_COULDNT_RESOLVE_HOST, 0),
                   PP_R_DNS_FAILED);
  ck_assert_int_eq(pp_http_error_class(CURLE_OPERATION_TIMEDOUT, 0),
                   PP_R_TIMEOUT);
  ck_assert_int_eq(pp_http_error_class(CURLE_WEIRD_SERVER_REPLY, 0),
                   PP_R_PROTOCOL_ERROR);
}
END_TEST

/* --- redirects --- */

static pp_result_code redirect(const pp_target *t, int status,
                               const char *method, bool from_https,
                               const char *location, pp_http_hop *hop,
                               char *why) {
  pp_http_target *ht = request(t);
  pp_result_code code = pp_http_redirect(t, ht, status, method, from_https,
                                         location, hop, why, 200);
  pp_http_target_free(ht);
  return code;
}

START_TEST(redirect_to_the_same_host_keeps_the_headers) {
  pp_target *t = target("http://www.example.com/a", NULL);
  pp_http_hop hop;
  char why[200] = "";
  ck_assert_int_eq(redirect(t, 302, "GET", false,
                            "http://WWW.example.com:8080/b", &hop, why),
                   PP_R_OK);
  ck_assert(hop.same_host);
  ck_assert_str_eq(hop.method, "GET");
  ck_assert(!hop.https && !hop.downgrade);
  ck_assert_int_eq(
      redirect(t, 302, "GET", false, "http://cdn.example.com/b", &hop, why),
      PP_R_OK);
  ck_assert(!hop.same_host);
  pp_target_free(t);
}
END_TEST

START_TEST(redirect_to_an_ipv6_literal_compares_without_brackets) {
  pp_target *t = target("http://[::1]:8080/a", NULL);
  pp_http_hop hop;
  char why[200] = "";
  ck_assert_int_eq(
      redirect(t, 301, "GET", false, "http://[::1]:8080/b", &hop, why),
      PP_R_OK);
  ck_assert(hop.same_host);
  pp_target_free(t);
}
END_TEST

START_TEST(redirect_changes_the_method_as_browsers_do) {
  pp_target *t = target("http://h.example.com/a", NULL);
  pp_http_hop hop;
  char why[200] = "";
  const char *to = "http://h.example.com/b";
  redirect(t, 303, "PUT", false, to, &hop, why);
  ck_assert_str_eq(hop.method, "GET");
  ck_assert(!hop.keep_body);
  redirect(t, 303, "HEAD", false, to, &hop, why);
  ck_assert_str_eq(hop.method, "HEAD");
  redirect(t, 302, "POST", false, to, &hop, why);
  ck_assert_str_eq(hop.method, "GET");
  redirect(t, 302, "DELETE", false, to, &hop, why);
  ck_assert_str_eq(hop.method, "DELETE");
  redirect(t, 307, "POST", false, to, &hop, why);
  ck_assert_str_eq(hop.method, "POST");
  ck_assert(hop.keep_body);
  pp_target_free(t);
}
END_TEST

START_TEST(redirect_from_https_to_http_is_a_downgrade) {
  pp_target *t = target("https://h.example.com/a", NULL);
  pp_http_hop hop;
  char why[200] = "";
  ck_assert_int_eq(
      redirect(t, 302, "GET", true, "http://h.example.com/b", &hop, why),
      PP_R_OK);
  ck_assert(hop.downgrade);
  ck_assert_str_eq(hop.scheme, "http");
  pp_target_free(t);
  t = target("https://h.example.com/a", "redirect_downgrade=refuse", NULL);
  ck_assert_int_eq(
      redirect(t, 302, "GET", true, "http://h.example.com/b", &hop, why),
      PP_R_INSECURE_REDIRECT);
  ck_assert_str_eq(why, "https redirected to http://h.example.com/b "
                        "(redirect_downgrade=refuse)");
  ck_assert_str_eq(hop.scheme, "http");
  ck_assert_int_eq(
      redirect(t, 302, "GET", true, "https://h.example.com/b", &hop, why),
      PP_R_OK);
  pp_target_free(t);
}
END_TEST

START_TEST(redirect_to_another_scheme_is_not_followed) {
  pp_target *t = target("http://h.example.com/a", NULL);
  pp_http_hop hop;
  char why[200] = "";
  ck_assert_int_eq(
      redirect(t, 302, "GET", false, "ftp://h.example.com/b", &hop, why),
      PP_R_PROTOCOL_ERROR);
  ck_assert_str_eq(why,
                   "redirect to a ftp: URL (only http and https are followed)");
  pp_target_free(t);
}
END_TEST

START_TEST(only_redirect_statuses_are_followed) {
  ck_assert(pp_http_is_redirect(301) && pp_http_is_redirect(308));
  ck_assert(!pp_http_is_redirect(304) && !pp_http_is_redirect(200));
}
END_TEST

/* --- expect_header, json_path --- */

START_TEST(header_rules_match_names_without_case_and_trim_values) {
  pp_http_header_rule r;
  char why[200];
  ck_assert_int_eq(pp_http_header_rule_parse("Content-Type: ^application/json$",
                                             &r, why, sizeof(why)),
                   0);
  const char *block = "HTTP/1.1 200 OK\r\ncontent-type:  application/json  "
                      "\r\nX-A: 1\r\n\r\n";
  ck_assert_int_eq(pp_http_headers_judge(&r, 1, NULL, block, strlen(block), why,
                                         sizeof(why)),
                   PP_R_OK);
  const char *other = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n";
  ck_assert_int_eq(pp_http_headers_judge(&r, 1, NULL, other, strlen(other), why,
                                         sizeof(why)),
                   PP_R_HEADER_MISMATCH);
  ck_assert_str_eq(why, "header Content-Type is \"text/html\", expected "
                        "/^application/json$/");
  pp_http_header_rule_free(&r);
  ck_assert_int_eq(
      pp_http_header_rule_parse("no colon here", &r, why, sizeof(why)), -1);
  ck_assert_int_eq(
      pp_http_header_rule_parse("Bad Name: x", &r, why, sizeof(why)), -1);
  pp_http_header_rule_free(&r);
}
END_TEST

static void *regex(const char *pattern) {
  char err[200];
  pp_target *t = target("http://h.example.com/", "json_path=/a", NULL);
  pp_target_set(t, "json_expect", pattern, err, sizeof(err));
  pp_target_finalize(t, err, sizeof(err));
  pp_http_target *ht = request(t);
  void *re = ht->json_expect;
  ht->json_expect = NULL;
  pp_http_target_free(ht);
  pp_target_free(t);
  return re;
}

START_TEST(json_values_are_matched_as_users_write_them) {
  char why[200];
  const char *doc = " {\"a\": \"ok\", \"n\": 3, \"b\": [true, null]}\n";
  void *ok = regex("^ok$"), *three = regex("^3$"), *t = regex("^true$");
  ck_assert_int_eq(pp_http_json_judge("/a", ok, "^ok$", NULL, doc, strlen(doc),
                                      false, why, sizeof(why)),
                   PP_R_OK);
  ck_assert_int_eq(pp_http_json_judge("/n", three, "^3$", NULL, doc,
                                      strlen(doc), false, why, sizeof(why)),
                   PP_R_OK);
  ck_assert_int_eq(pp_http_json_judge("/b/0", t, "^true$", NULL, doc,
                                      strlen(doc), false, why, sizeof(why)),
                   PP_R_OK);
  ck_assert_int_eq(pp_http_json_judge("/n", ok, "^ok$", NULL, doc, strlen(doc),
                                      false, why, sizeof(why)),
                   PP_R_JSON_MISMATCH);
  ck_assert_str_eq(why, "json_path /n is 3, expected /^ok$/");
  ck_assert_int_eq(pp_http_json_judge("/zz", NULL, NULL, NULL, doc, strlen(doc),
                                      false, why, sizeof(why)),
                   PP_R_JSON_MISMATCH);
  ck_assert_str_eq(why, "json_path /zz: no such member in the answer");
  const char *trailing = "{\"a\": 1} garbage";
  ck_assert_int_eq(pp_http_json_judge("/a", NULL, NULL, NULL, trailing,
                                      strlen(trailing), false, why,
                                      sizeof(why)),
                   PP_R_JSON_MISMATCH);
  ck_assert_str_eq(why, "the response is not JSON: text after the JSON value "
                        "at byte 9 of 16");
  const char *cut = "{\"a\": [1, 2";
  ck_assert_int_eq(pp_http_json_judge("/a", NULL, NULL, NULL, cut, strlen(cut),
                                      true, why, sizeof(why)),
                   PP_R_JSON_MISMATCH);
  ck_assert_str_eq(why, "the response is not JSON: the JSON ends early at "
                        "byte 11 of 11 (max_body reached)");
  pcre2_code_free(ok);
  pcre2_code_free(three);
  pcre2_code_free(t);
}
END_TEST

START_TEST(cert_grade_follows_warn_and_crit_days) {
  ck_assert_int_eq(pp_tls_cert_grade(30 * 86400, 20, 7), PP_GRADE_GOOD);
  ck_assert_int_eq(pp_tls_cert_grade(20 * 86400, 20, 7), PP_GRADE_GOOD);
  ck_assert_int_eq(pp_tls_cert_grade(20 * 86400 - 1, 20, 7), PP_GRADE_WARNING);
  ck_assert_int_eq(pp_tls_cert_grade(6 * 86400, 20, 7), PP_GRADE_CRITICAL);
  ck_assert_int_eq(pp_tls_cert_grade(-86400, 20, 7), PP_GRADE_CRITICAL);
}
END_TEST

START_TEST(status_set_is_written_as_a_user_would) {
  pp_status_set set = {.n = 3};
  set.r[0].lo = 200, set.r[0].hi = 299;
  set.r[1].lo = set.r[1].hi = 301;
  set.r[2].lo = 401, set.r[2].hi = 403;
  char buf[64];
  pp_http_status_format(&set, buf, sizeof(buf));
  ck_assert_str_eq(buf, "200-299,301,401-403");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("judge");
  tcase_add_test(tc, status_in_default_range_is_ok);
  tcase_add_test(tc, status_outside_the_set_is_http_status_with_status_line);
  tcase_add_test(tc, custom_status_set_accepts_500);
  tcase_add_test(tc, custom_status_set_refuses_200);
  tcase_add_test(tc, status_failure_after_redirects_names_the_final_url);
  tcase_add_test(tc, keyword_found_is_ok);
  tcase_add_test(tc, keyword_is_a_regular_expression);
  tcase_add_test(tc, keyword_missing_names_the_pattern_and_shows_the_page);
  tcase_add_test(tc, keyword_missing_in_a_capped_body_says_so);
  tcase_add_test(tc, keyword_absent_found_is_keyword_present_with_where);
  tcase_add_test(tc, keyword_absent_not_found_is_ok);
  tcase_add_test(tc, runaway_keyword_search_gives_up_and_fails);
  tcase_add_test(tc, status_is_judged_before_keywords);
  tcase_add_test(tc, binary_body_is_sanitised_in_the_excerpt);
  tcase_add_test(tc, long_body_excerpt_is_cut_and_marked);
  tcase_add_test(tc, redirects_followed_name_the_final_url);
  suite_add_tcase(s, tc);
  tc = tcase_create("request");
  tcase_add_test(tc, url_names_the_port_and_keeps_the_query);
  tcase_add_test(tc, ip_literal_needs_no_connect_to);
  tcase_add_test(tc, sni_names_the_url_and_the_host_header_keeps_the_target);
  tcase_add_test(tc, sni_keeps_a_host_header_the_user_set);
  tcase_add_test(tc, sni_is_ignored_without_tls);
  tcase_add_test(tc, keywords_with_head_are_a_configuration_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("classes");
  tcase_add_test(tc, connect_failures_take_the_class_of_their_errno);
  tcase_add_test(tc, tls_failures_are_told_apart);
  tcase_add_test(tc, http_level_failures_have_their_classes);
  tcase_add_test(tc, cert_grade_follows_warn_and_crit_days);
  tcase_add_test(tc, redirect_to_the_same_host_keeps_the_headers);
  tcase_add_test(tc, redirect_to_an_ipv6_literal_compares_without_brackets);
  tcase_add_test(tc, redirect_changes_the_method_as_browsers_do);
  tcase_add_test(tc, redirect_from_https_to_http_is_a_downgrade);
  tcase_add_test(tc, redirect_to_another_scheme_is_not_followed);
  tcase_add_test(tc, only_redirect_statuses_are_followed);
  tcase_add_test(tc, header_rules_match_names_without_case_and_trim_values);
  tcase_add_test(tc, json_values_are_matched_as_users_write_them);
  tcase_add_test(tc, status_set_is_written_as_a_user_would);
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
