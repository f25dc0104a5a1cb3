/* expect_header and json_path / json_expect. A JSON value's text is what
 * users write in json_expect: a string without its quotes, other values as
 * JSON writes them (42, 0.5, true, null, {"a":1}). */
#include "http_expect.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define DEPTH_MAX 64 /* nesting json-c follows; deeper is an error */

/* Whether a search ran to an answer (1 match, 0 none) or gave up (< 0). */
static int match(const void *re, void *match_ctx, const char *s, size_t len) {
  pcre2_match_data *md =
      pcre2_match_data_create_from_pattern((const pcre2_code *)re, NULL);
  if (md == NULL)
    return PCRE2_ERROR_NOMEMORY;
  int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, match_ctx);
  pcre2_match_data_free(md);
  return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
}

/* --- expect_header --- */

int pp_http_header_rule_parse(const char *text, pp_http_header_rule *rule,
                              char *why, size_t whylen) {
  memset(rule, 0, sizeof(*rule));
  const char *colon = strchr(text, ':');
  size_t nl = colon ? (size_t)(colon - text) : 0;
  for (size_t i = 0; i < nl; i++)
    if (!isgraph((unsigned char)text[i]))
      nl = 0; /* RFC 9110 field names are tokens */
  if (nl == 0 || nl >= sizeof(rule->name)) {
    snprintf(why, whylen,
             "expected \"Name: regex\" such as \"Content-Type: json\", got "
             "\"%.80s\"",
             text);
    return -1;
  }
  memcpy(rule->name, text, nl);
  rule->pattern = colon + 1;
  while (*rule->pattern == ' ' || *rule->pattern == '\t')
    rule->pattern++;
  int code;
  PCRE2_SIZE off;
  rule->re = pcre2_compile((PCRE2_SPTR)rule->pattern, PCRE2_ZERO_TERMINATED, 0,
                           &code, &off, NULL);
  if (rule->re == NULL) {
    PCRE2_UCHAR msg[120];
    pcre2_get_error_message(code, msg, sizeof(msg));
    snprintf(why, whylen, "bad regular expression \"%.80s\": %s", rule->pattern,
             (char *)msg);
    return -1;
  }
  return 0;
}

void pp_http_header_rule_free(pp_http_header_rule *rule) {
  pcre2_code_free(rule->re);
  rule->re = NULL;
}

/* Judges one rule over the block's lines: 1 met, 0 header missing, -1 a
 * value that does not match (the last one found in *val, *vlen). */
static int header_met(const pp_http_header_rule *r, void *match_ctx,
                      const char *block, size_t len, const char **val,
                      size_t *vlen) {
  size_t nl = strlen(r->name);
  int seen = 0;
  for (const char *p = block, *end = block + len; p < end;) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    if ((size_t)(line_end - p) > nl && p[nl] == ':' &&
        strncasecmp(p, r->name, nl) == 0) {
      const char *v = p + nl + 1, *ve = line_end;
      while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
      if (match(r->re, match_ctx, v, (size_t)(ve - v)) == 1)
        return 1;
      seen = -1;
      *val = v;
      *vlen = (size_t)(ve - v);
    }
    p = eol ? eol + 1 : end;
  }
  return seen;
}

pp_result_code pp_http_headers_judge(const pp_http_header_rule *rules, size_t n,
                                     void *match_ctx, const char *block,
                                     size_t len, char *why, size_t whylen) {
  for (size_t i = 0; i < n; i++) {
    const char *v = NULL;
    size_t vl = 0;
    int met = header_met(&rules[i], match_ctx, block ? block : "",
                         block ? len : 0, &v, &vl);
    if (met == 1)
      continue;
    if (met == 0)
      snprintf(why, whylen, "no %s header in the answer (expect_header)",
               rules[i].name);
    else
      snprintf(why, whylen, "header %s is \"%.*s\", expected /%.60s/",
               rules[i].name, (int)(vl > 80 ? 80 : vl), v, rules[i].pattern);
    return PP_R_HEADER_MISMATCH;
  }
  return PP_R_OK;
}

/* --- json_path / json_expect --- */

/* The document in body, or NULL with why. */
static json_object *parse(const char *body, size_t len, bool capped, char *why,
                          size_t whylen) {
  json_tokener *tok = json_tokener_new_ex(DEPTH_MAX);
  if (tok == NULL) {
    snprintf(why, whylen, "out of memory parsing JSON");
    return NULL;
  }
  json_object *doc = json_tokener_parse_ex(tok, body ? body : "", (int)len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  while (doc && end < len && strchr(" \t\r\n", body[end]))
    end++;
  if (doc == NULL || end < len) {
    const char *what = doc ? "text after the JSON value"
                       : e == json_tokener_continue
                           ? "the JSON ends early"
                           : json_tokener_error_desc(e);
    snprintf(why, whylen, "the response is not JSON: %s at byte %zu of %zu%s",
             what, doc ? end : json_tokener_get_parse_end(tok), len,
             capped ? " (max_body reached)" : "");
    json_object_put(doc);
    doc = NULL;
  }
  json_tokener_free(tok);
  return doc;
}

static const char *value_text(json_object *v) {
  if (json_object_is_type(v, json_type_string))
    return json_object_get_string(v);
  return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

pp_result_code pp_http_json_judge(const char *path, const void *expect,
                                  const char *expect_text, void *match_ctx,
                                  const char *body, size_t len, bool capped,
                                  char *why, size_t whylen) {
  json_object *doc = parse(body, len, capped, why, whylen);
  if (doc == NULL)
    return PP_R_JSON_MISMATCH;
  json_object *v = NULL;
  pp_result_code code = PP_R_OK;
  if (json_pointer_get(doc, path, &v) != 0) {
    snprintf(why, whylen, "json_path %.80s: no such member in the answer",
             path);
    code = PP_R_JSON_MISMATCH;
  } else if (expect != NULL) {
    const char *text = v ? value_text(v) : "null";
    bool quoted = json_object_is_type(v, json_type_string);
    int rc = match(expect, match_ctx, text, strlen(text));
    if (rc < 0)
      snprintf(why, whylen,
               "json_path %.60s: the search for /%.60s/ gave up (too much "
               "backtracking)",
               path, expect_text);
    else if (rc == 0)
      snprintf(why, whylen, "json_path %.60s is %s%.80s%s, expected /%.60s/",
               path, quoted ? "\"" : "", text, quoted ? "\"" : "", expect_text);
    if (rc != 1)
      code = PP_R_JSON_MISMATCH;
  }
  json_object_put(doc);
  return code;
}
