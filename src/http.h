/* What an HTTP check decides apart from the transfer: the request a target
 * makes (URL, headers, compiled keywords), how a response is judged (status,
 * keywords, excerpt) and how libcurl's failures map to result classes.
 * Internal to the core; check_http.c runs the transfers. */
#ifndef PP_HTTP_H
#define PP_HTTP_H

#include "portprobe.h"

#include <stdbool.h>
#include <stddef.h>

/* What a target keeps across rounds (target->check_data). Owned by the
 * target; freed with pp_http_target_free. */
typedef struct pp_http_target {
  char *url;      /* scheme://host:port/path, host = sni when sni is set */
  char *url_host; /* the host in url, for CONNECT_TO; NULL: IP literal */
  struct curl_slist *headers; /* header options, plus Host: when sni is set */
  void *keyword;              /* pcre2_code *, NULL when unset */
  void *keyword_absent;
  void *match_ctx; /* pcre2_match_context *: bounds backtracking */
} pp_http_target;

/* Builds what t's checks share. Returns NULL with a message in err. */
pp_http_target *pp_http_target_new(const pp_target *t, char *err,
                                   size_t errlen);
void pp_http_target_free(void *ht);

/* What a finished transfer delivered. */
typedef struct {
  int status;              /* final response's status code */
  const char *status_line; /* "HTTP/1.1 500 Internal Server Error", or "" */
  const char *body;        /* what was kept of the body */
  size_t body_len;
  bool body_capped; /* max_body reached: the rest was not read */
  int redirects;
  const char *final_url; /* after redirects; may be NULL */
} pp_http_response;

/* Judges a response against the target's status set and keywords. Returns
 * the result class; writes detail (why) and, on failure, an excerpt of what
 * the server said into res. */
pp_result_code pp_http_judge(const pp_target *t, const pp_http_target *ht,
                             const pp_http_response *resp, pp_result *res);

/* A failed transfer's class from libcurl's code and the socket errno behind
 * it (CURLINFO_OS_ERRNO). Timeouts are not decided here: see check_http.c. */
pp_result_code pp_http_error_class(int curl_code, int os_errno);

/* Certificate grade from seconds until notAfter (negative when expired). */
pp_grade pp_http_cert_grade(int64_t expiry_s, int warn_days, int crit_days);

/* "200-399,401": the set as a user writes it. */
void pp_http_status_format(const pp_status_set *set, char *buf, size_t len);

#endif
