/* What an HTTP answer must hold beyond its status and keywords: the
 * headers of expect_header, and the value json_path points at (a JSON
 * Pointer, RFC 6901), matched by json_expect. JSON is parsed by json-c,
 * bounded in depth. Internal to the core. */
#ifndef PP_HTTP_EXPECT_H
#define PP_HTTP_EXPECT_H

#include "result.h"

#include <stdbool.h>
#include <stddef.h>

/* One expect_header rule: a header name and the compiled regex (pcre2_code
 * *) its value must match. */
typedef struct {
  char name[128];
  void *re;
  const char *pattern; /* as the user wrote it, for messages */
} pp_http_header_rule;

/* Compiles "Name: regex" into rule. -1 with why (no colon, a bad name, a
 * bad regular expression). */
int pp_http_header_rule_parse(const char *text, pp_http_header_rule *rule,
                              char *why, size_t whylen);
void pp_http_header_rule_free(pp_http_header_rule *rule);

/* Judges the final response's header block (its lines as received) against
 * the rules: PP_R_OK, or PP_R_HEADER_MISMATCH with why (missing, or the
 * value found). */
pp_result_code pp_http_headers_judge(const pp_http_header_rule *rules, size_t n,
                                     void *match_ctx, const char *block,
                                     size_t len, char *why, size_t whylen);

/* Judges body (len bytes; capped: max_body cut it) against path and the
 * compiled expect (a pcre2_code *, NULL: the value must only exist), with
 * match_ctx bounding the search. PP_R_OK, or PP_R_JSON_MISMATCH with why:
 * not JSON, no such member, or the value found. */
pp_result_code pp_http_json_judge(const char *path, const void *expect,
                                  const char *expect_text, void *match_ctx,
                                  const char *body, size_t len, bool capped,
                                  char *why, size_t whylen);

#endif
