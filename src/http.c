/* The HTTP check's decisions, kept apart from libcurl's event plumbing so
 * they can be tested alone: the request a target makes, how a response is
 * judged, and which result class a libcurl failure is. */
#include "http.h"
#include "check_core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Bounds the work one keyword search may do on a hostile page. */
#define MATCH_LIMIT 5000000
#define DEPTH_LIMIT 100000

/* --- the request --- */

/* host as it goes into a URL or a Host header: IPv6 literals in brackets */
static int append_host(char *buf, size_t len, const char *host) {
  return snprintf(buf, len, strchr(host, ':') ? "[%s]" : "%s", host);
}

static void *compile(const char *pattern, char *err, size_t errlen) {
  int code;
  PCRE2_SIZE off;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
                                 &code, &off, NULL);
  if (re == NULL) {
    PCRE2_UCHAR msg[120];
    pcre2_get_error_message(code, msg, sizeof(msg));
    snprintf(err, errlen, "bad regular expression \"%s\": %s", pattern,
             (char *)msg);
  }
  return re;
}

static int append(struct curl_slist **list, const char *line) {
  struct curl_slist *l = curl_slist_append(*list, line);
  if (l == NULL)
    return -1;
  *list = l;
  return 0;
}

static bool has_host_header(const pp_strlist *headers) {
  for (size_t i = 0; i < headers->n; i++)
    if (strncasecmp(headers->items[i], "host:", 5) == 0)
      return true;
  return false;
}

/* The request's headers: the target's own (those other than Host kept
 * apart too, for a redirect to another host) and, with sni, a Host header
 * naming the target's host unless one was given. -1: out of memory. */
static int request_headers(pp_http_target *ht, const pp_target *t,
                           const char *sni) {
  const pp_opts *o = t->opts;
  for (size_t i = 0; i < o->headers.n; i++) {
    const char *h = o->headers.items[i];
    if (append(&ht->headers, h) != 0 ||
        (strncasecmp(h, "host:", 5) != 0 &&
         append(&ht->other_host_headers, h) != 0))
      return -1;
  }
  if (sni && !has_host_header(&o->headers)) {
    char line[320];
    int n = snprintf(line, sizeof(line), "Host: ");
    n += append_host(line + n, sizeof(line) - (size_t)n, t->host);
    if (t->port != t->scheme->default_port)
      snprintf(line + n, sizeof(line) - (size_t)n, ":%u", (unsigned)t->port);
    if (append(&ht->headers, line) != 0)
      return -1;
  }
  return 0;
}

pp_http_target *pp_http_target_new(const pp_target *t, char *err,
                                   size_t errlen) {
  const pp_opts *o = t->opts;
  pp_http_target *ht = calloc(1, sizeof(*ht));
  if (ht == NULL)
    goto oom;

  /* With sni the URL names the sni host, so that libcurl sends and verifies
   * that name; CONNECT_TO still takes the connection to the target's
   * address and a Host header keeps the request about the target's host. */
  const char *sni = t->scheme->tls != PP_TLS_NONE ? o->sni : NULL;
  const char *url_host = sni ? sni : t->host;
  char host[300];
  append_host(host, sizeof(host), url_host);
  size_t ulen = strlen(t->scheme->name) + strlen(host) + strlen(t->path) + 16;
  if ((ht->url = malloc(ulen)) == NULL)
    goto oom;
  snprintf(ht->url, ulen, "%s://%s:%u%s", t->scheme->name, host,
           (unsigned)t->port, t->path);
  if ((sni || !t->host_is_ip) && (ht->url_host = strdup(url_host)) == NULL)
    goto oom;

  bool body = o->body || o->body_file;
  ht->method = o->method ? o->method : body ? "POST" : "GET";
  if (body && o->content_type) {
    size_t cl = strlen(o->content_type) + 16;
    if ((ht->content_type = malloc(cl)) == NULL)
      goto oom;
    snprintf(ht->content_type, cl, "Content-Type: %s", o->content_type);
  }
  if (request_headers(ht, t, sni) != 0)
    goto oom;

  if ((ht->match_ctx = pcre2_match_context_create(NULL)) == NULL)
    goto oom;
  pcre2_set_match_limit(ht->match_ctx, MATCH_LIMIT);
  pcre2_set_depth_limit(ht->match_ctx, DEPTH_LIMIT);
  if (o->expect_headers.n > 0) {
    ht->header_rules = calloc(o->expect_headers.n, sizeof(*ht->header_rules));
    if (ht->header_rules == NULL)
      goto oom;
    for (size_t i = 0; i < o->expect_headers.n; i++, ht->nheader_rules++)
      if (pp_http_header_rule_parse(o->expect_headers.items[i],
                                    &ht->header_rules[i], err, errlen) != 0) {
        pp_http_header_rule_free(&ht->header_rules[i]);
        goto fail;
      }
  }
  ht->json = o->json_path != NULL;
  if (o->json_expect.pattern &&
      (ht->json_expect = compile(o->json_expect.pattern, err, errlen)) == NULL)
    goto fail;
  if (o->keyword.pattern &&
      (ht->keyword = compile(o->keyword.pattern, err, errlen)) == NULL)
    goto fail;
  if (o->keyword_absent.pattern &&
      (ht->keyword_absent = compile(o->keyword_absent.pattern, err, errlen)) ==
          NULL)
    goto fail;
  return ht;

oom:
  snprintf(err, errlen, "out of memory");
fail:
  pp_http_target_free(ht);
  return NULL;
}

void pp_http_target_free(void *p) {
  pp_http_target *ht = p;
  if (ht == NULL)
    return;
  free(ht->url);
  free(ht->url_host);
  curl_slist_free_all(ht->headers);
  curl_slist_free_all(ht->other_host_headers);
  pcre2_code_free(ht->keyword);
  pcre2_code_free(ht->keyword_absent);
  pcre2_match_context_free(ht->match_ctx);
  for (size_t i = 0; i < ht->nheader_rules; i++)
    pp_http_header_rule_free(&ht->header_rules[i]);
  free(ht->header_rules);
  pcre2_code_free(ht->json_expect);
  free(ht->content_type);
  free(ht);
}

/* --- options against each other --- */

static bool is_token(const char *s) {
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
      return false;
  return *s != 0;
}

static bool proxy_ok(const char *url) {
  static const char *const schemes[] = {"http://", "socks4://", "socks4a://",
                                        "socks5://", "socks5h://"};
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    size_t l = strlen(schemes[i]);
    if (strncasecmp(url, schemes[i], l) == 0)
      return url[l] != 0 && url[l] != '/' && url[l] != ':';
  }
  return false;
}

/* The first thing wrong with the request options, or NULL. */
static const char *request_problem(const pp_target *t, char *buf, size_t len) {
  const pp_opts *o = t->opts;
  bool body = o->body || o->body_file;
  if (o->method && !is_token(o->method))
    return "option \"method\": expected a method name (letters, digits and "
           "!#$%&'*+-.^_`|~), such as GET, POST or PROPFIND";
  if (o->method && strcmp(o->method, "HEAD") == 0 &&
      (o->keyword.pattern || o->keyword_absent.pattern))
    return "keyword and keyword_absent need method GET (a HEAD response has "
           "no body)";
  if (o->body && o->body_file)
    return "body and body_file are two bodies: set one";
  if (o->content_type && !body)
    return "option \"content_type\" needs body or body_file";
  if (body && o->method && strcmp(o->method, "HEAD") == 0)
    return "a HEAD request has no body";
  if (o->json_expect.pattern && !o->json_path)
    return "option \"json_expect\" needs json_path";
  if (o->json_path && o->json_path[0] != '/')
    return "option \"json_path\": expected a JSON Pointer (RFC 6901) such as "
           "/status or /items/0/name";
  if (o->json_path && o->method && strcmp(o->method, "HEAD") == 0)
    return "json_path needs a body (a HEAD response has none)";
  for (size_t i = 0; i < o->expect_headers.n; i++) {
    pp_http_header_rule rule;
    char why[200];
    int rc = pp_http_header_rule_parse(o->expect_headers.items[i], &rule, why,
                                       sizeof(why));
    pp_http_header_rule_free(&rule);
    if (rc != 0) {
      snprintf(buf, len, "option \"expect_header\": %s", why);
      return buf;
    }
  }
  return NULL;
}

static const char *credentials_problem(const pp_target *t) {
  const pp_opts *o = t->opts;
  if (o->username && o->bearer_token_file)
    return "username (basic authentication) and bearer_token_file are two "
           "credentials: set one";
  if ((o->username || o->bearer_token_file) && t->scheme->tls == PP_TLS_NONE &&
      !o->auth_plaintext)
    return "over http:// the credentials would travel in clear text; use "
           "https, or set auth_plaintext=yes";
  if (o->proxy && !proxy_ok(o->proxy))
    return "option \"proxy\": expected http://, socks4://, socks4a://, "
           "socks5:// or socks5h:// and a host, such as http://proxy:3128";
  if ((o->proxy_username == NULL) != (o->proxy_password_file == NULL))
    return "proxy_username and proxy_password_file go together";
  if (o->proxy_username && !o->proxy)
    return "option \"proxy_username\" needs proxy";
  if (o->proxy && o->refuse_protocols)
    return "refuse_protocols probes the server directly, which a proxy "
           "stands in front of: not with proxy";
  return NULL;
}

int pp_http_validate(const pp_target *t, char *err, size_t errlen) {
  char buf[300];
  const char *why = request_problem(t, buf, sizeof(buf));
  if (why == NULL)
    why = credentials_problem(t);
  if (why == NULL)
    return 0;
  snprintf(err, errlen, "target \"%s\": %s", pp_target_name(t), why);
  return -1;
}

/* --- judging a response --- */

void pp_http_status_format(const pp_status_set *set, char *buf, size_t len) {
  size_t o = 0;
  buf[0] = 0;
  for (int i = 0; i < set->n && o < len; i++) {
    int n = set->r[i].lo == set->r[i].hi
                ? snprintf(buf + o, len - o, "%s%d", i ? "," : "", set->r[i].lo)
                : snprintf(buf + o, len - o, "%s%d-%d", i ? "," : "",
                           set->r[i].lo, set->r[i].hi);
    if (n < 0)
      break;
    o += (size_t)n;
  }
}

/* Searches the body. Returns 1 (offset in *at), 0 (no match) or a PCRE2
 * error (negative) when the search gave up. */
static int search(const pp_http_target *ht, void *re,
                  const pp_http_response *resp, size_t *at) {
  pcre2_match_data *md =
      pcre2_match_data_create_from_pattern((pcre2_code *)re, NULL);
  if (md == NULL)
    return PCRE2_ERROR_NOMEMORY;
  int rc = pcre2_match(re, (PCRE2_SPTR)(resp->body ? resp->body : ""),
                       resp->body_len, 0, 0, md, ht->match_ctx);
  if (rc >= 0)
    *at = pcre2_get_ovector_pointer(md)[0];
  pcre2_match_data_free(md);
  if (rc == PCRE2_ERROR_NOMATCH)
    return 0;
  return rc >= 0 ? 1 : rc;
}

static void search_error(int rc, char *buf, size_t len) {
  PCRE2_UCHAR msg[120];
  pcre2_get_error_message(rc, msg, sizeof(msg));
  snprintf(buf, len, "%s", (char *)msg);
}

/* Masks every secret (a password, a token, their encodings) in buf: a
 * server that echoes the request must not show it in detail or excerpt. */
static void scrub(const pp_http_response *resp, char *buf, size_t len) {
  for (size_t k = 0; k < resp->nsecrets; k++) {
    const char *s = resp->secrets[k];
    size_t sl = s ? strlen(s) : 0;
    for (size_t i = 0; sl > 0 && i + sl <= len; i++)
      if (memcmp(buf + i, s, sl) == 0) {
        memset(buf + i, '*', sl);
        i += sl - 1;
      }
  }
}

/* Excerpt: an optional first line (the status line), then the body from
 * `from`. The buffer holds more than an excerpt shows, so a longer body is
 * always marked as cut by pp_result_set_excerpt. */
static void excerpt(pp_result *res, const char *first_line,
                    const pp_http_response *resp, size_t from) {
  char buf[PP_EXCERPT_MAX * 2];
  size_t o = 0;
  if (first_line && *first_line) {
    o = (size_t)snprintf(buf, sizeof(buf) / 2, "%s", first_line);
    if (o >= sizeof(buf) / 2)
      o = sizeof(buf) / 2 - 1;
    buf[o++] = '\n';
  }
  if (from > 0) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  size_t n = resp->body_len > from ? resp->body_len - from : 0;
  if (n > sizeof(buf) - o)
    n = sizeof(buf) - o;
  if (n)
    memcpy(buf + o, resp->body + from, n);
  scrub(resp, buf, o + n);
  pp_result_set_excerpt(res, buf, o + n);
}

static const char *capped_note(const pp_http_response *resp) {
  return resp->body_capped ? " (max_body reached)" : "";
}

static pp_result_code judge_keywords(const pp_target *t,
                                     const pp_http_target *ht,
                                     const pp_http_response *resp,
                                     pp_result *res) {
  const pp_opts *o = t->opts;
  size_t at = 0;
  char why[120];
  if (ht->keyword) {
    int rc = search(ht, ht->keyword, resp, &at);
    if (rc == 0)
      snprintf(res->detail, sizeof(res->detail),
               "no match for \"%.80s\" in %zu bytes of body%s",
               o->keyword.pattern, resp->body_len, capped_note(resp));
    if (rc < 0) {
      search_error(rc, why, sizeof(why));
      snprintf(res->detail, sizeof(res->detail),
               "search for \"%.60s\" gave up after %zu bytes: %.60s",
               o->keyword.pattern, resp->body_len, why);
    }
    if (rc != 1) {
      excerpt(res, NULL, resp, 0);
      return PP_R_KEYWORD_MISSING;
    }
  }
  if (ht->keyword_absent) {
    int rc = search(ht, ht->keyword_absent, resp, &at);
    if (rc == 1)
      snprintf(res->detail, sizeof(res->detail), "\"%.80s\" found at byte %zu",
               o->keyword_absent.pattern, at);
    if (rc < 0) {
      /* absence not shown is not absence */
      search_error(rc, why, sizeof(why));
      snprintf(res->detail, sizeof(res->detail),
               "search for \"%.60s\" gave up after %zu bytes: %.60s",
               o->keyword_absent.pattern, resp->body_len, why);
    }
    if (rc != 0) {
      excerpt(res, NULL, resp, rc == 1 && at > 40 ? at - 40 : 0);
      return PP_R_KEYWORD_PRESENT;
    }
  }
  return PP_R_OK;
}

/* In order: status, expect_header, keywords, json_path. */
static pp_result_code judge_answer(const pp_target *t, const pp_http_target *ht,
                                   const pp_http_response *resp,
                                   pp_result *res) {
  const pp_opts *o = t->opts;
  if (!pp_status_match(&o->status, resp->status)) {
    char accepted[128];
    pp_http_status_format(&o->status, accepted, sizeof(accepted));
    snprintf(res->detail, sizeof(res->detail), "status %d, accepted %s%s%.120s",
             resp->status, accepted, resp->redirects ? " at " : "",
             resp->redirects && resp->final_url ? resp->final_url : "");
    excerpt(res, resp->status_line, resp, 0);
    return PP_R_HTTP_STATUS;
  }
  pp_result_code code = pp_http_headers_judge(
      ht->header_rules, ht->nheader_rules, ht->match_ctx, resp->headers,
      resp->headers_len, res->detail, sizeof(res->detail));
  if (code == PP_R_OK)
    code = judge_keywords(t, ht, resp, res);
  if (code == PP_R_OK && o->json_path) {
    code = pp_http_json_judge(o->json_path, ht->json_expect,
                              o->json_expect.pattern, ht->match_ctx, resp->body,
                              resp->body_len, resp->body_capped, res->detail,
                              sizeof(res->detail));
    if (code != PP_R_OK)
      excerpt(res, NULL, resp, 0);
  }
  if (code == PP_R_OK && resp->redirects > 0 && resp->final_url)
    snprintf(res->detail, sizeof(res->detail), "%d redirect%s to %.150s%s",
             resp->redirects, resp->redirects == 1 ? "" : "s", resp->final_url,
             resp->downgraded ? " (from https to http)" : "");
  return code;
}

pp_result_code pp_http_judge(const pp_target *t, const pp_http_target *ht,
                             const pp_http_response *resp, pp_result *res) {
  res->http_status = resp->status;
  res->http_redirects = resp->redirects;
  pp_result_code code = judge_answer(t, ht, resp, res);
  scrub(resp, res->detail, strlen(res->detail));
  return code;
}

bool pp_http_keeps_body(const pp_http_target *ht) {
  return ht->keyword || ht->keyword_absent || ht->json;
}

/* --- redirects --- */

bool pp_http_is_redirect(int status) {
  switch (status) {
  case 300:
  case 301:
  case 302:
  case 303:
  case 307:
  case 308:
    return true;
  default:
    return false;
  }
}

/* The host of a URL without IPv6 brackets, lower case as libcurl gives it. */
static bool url_parts(const char *url, char *scheme, size_t slen, char *host,
                      size_t hlen) {
  CURLU *u = curl_url();
  char *sc = NULL, *h = NULL;
  bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &sc, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK;
  if (ok) {
    snprintf(scheme, slen, "%s", sc);
    size_t l = strlen(h);
    if (l >= 2 && h[0] == '[' && h[l - 1] == ']')
      snprintf(host, hlen, "%.*s", (int)(l - 2), h + 1);
    else
      snprintf(host, hlen, "%s", h);
  }
  curl_free(sc);
  curl_free(h);
  curl_url_cleanup(u);
  return ok;
}

pp_result_code pp_http_redirect(const pp_target *t, const pp_http_target *ht,
                                int status, const char *method, bool from_https,
                                const char *location, pp_http_hop *hop,
                                char *why, size_t whylen) {
  char host[300];
  memset(hop, 0, sizeof(*hop));
  if (!url_parts(location, hop->scheme, sizeof(hop->scheme), host,
                 sizeof(host))) {
    snprintf(why, whylen, "redirect to a URL libcurl cannot parse: %.120s",
             location);
    return PP_R_PROTOCOL_ERROR;
  }
  hop->https = strcasecmp(hop->scheme, "https") == 0;
  snprintf(hop->host, sizeof(hop->host), "%.255s", host);
  struct in6_addr a;
  hop->host_is_ip =
      inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
  if (!hop->https && strcasecmp(hop->scheme, "http") != 0) {
    snprintf(why, whylen,
             "redirect to a %.8s: URL (only http and https are followed)",
             hop->scheme);
    return PP_R_PROTOCOL_ERROR;
  }
  hop->downgrade = from_https && !hop->https;
  if (hop->downgrade && t->opts->redirect_downgrade == PP_DOWNGRADE_REFUSE) {
    snprintf(why, whylen,
             "https redirected to %.120s (redirect_downgrade=refuse)",
             location);
    return PP_R_INSECURE_REDIRECT;
  }
  hop->same_host = strcasecmp(host, t->host) == 0 ||
                   (ht->url_host && strcasecmp(host, ht->url_host) == 0);
  /* as browsers do (RFC 9110 15.4): 303 asks for a GET, and a POST
   * answered 301 or 302 becomes a GET; other methods go again as they were */
  bool to_get =
      (status == 303 && strcmp(method, "HEAD") != 0) ||
      ((status == 301 || status == 302) && strcmp(method, "POST") == 0);
  snprintf(hop->method, sizeof(hop->method), "%s", to_get ? "GET" : method);
  hop->keep_body = !to_get;
  return PP_R_OK;
}

/* --- libcurl's failures --- */

pp_result_code pp_http_error_class(int curl_code, int os_errno) {
  switch ((CURLcode)curl_code) {
  case CURLE_OK:
    return PP_R_OK;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return PP_R_DNS_FAILED;
  case CURLE_COULDNT_CONNECT:
    return pp_result_from_errno(os_errno);
  case CURLE_OPERATION_TIMEDOUT:
    return PP_R_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CERTPROBLEM: /* our side's certificate */
  case CURLE_SSL_ENGINE_INITFAILED:
    return PP_R_TLS_HANDSHAKE_FAILED;
  case CURLE_PEER_FAILED_VERIFICATION: /* also CURLE_SSL_CACERT */
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    return PP_R_TLS_VERIFY_FAILED;
  case CURLE_TOO_MANY_REDIRECTS:
    return PP_R_TOO_MANY_REDIRECTS;
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    return PP_R_CLOSED;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    return os_errno ? pp_result_from_errno(os_errno) : PP_R_RESET;
  case CURLE_SSL_CACERT_BADFILE: /* ca_file unreadable: a local problem */
  case CURLE_INTERFACE_FAILED:   /* source_address */
  case CURLE_OUT_OF_MEMORY:
  case CURLE_FAILED_INIT:
    return PP_R_SOCKET_ERROR;
  default:
    return PP_R_PROTOCOL_ERROR;
  }
}
