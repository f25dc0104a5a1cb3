/* What an HTTP check decides apart from the transfer: the request a target
 * makes (URL, headers, compiled keywords), how a response is judged (status,
 * keywords, excerpt) and how libcurl's failures map to result classes.
 * Internal to the core; check_http.c runs the transfers. */
#ifndef PP_HTTP_H
#define PP_HTTP_H

#include "http_expect.h"
#include "portprobe.h"

#include <stdbool.h>
#include <stddef.h>

/* What a target keeps across rounds (target->check_data). Owned by the
 * target; freed with pp_http_target_free. */
typedef struct pp_http_target {
  char *url;      /* scheme://host:port/path, host = sni when sni is set */
  char *url_host; /* the host in url, for CONNECT_TO; NULL: IP literal */
  struct curl_slist *headers; /* header options, plus Host: when sni is set */
  struct curl_slist *other_host_headers; /* header options but Host, for a
                                            redirect elsewhere with
                                            redirect_headers=all */
  const char *method; /* the first request's: the option, GET or POST */
  char *content_type; /* "Content-Type: ..." for a body, or NULL */
  void *keyword;      /* pcre2_code *, NULL when unset */
  void *keyword_absent;
  void *match_ctx; /* pcre2_match_context *: bounds backtracking */
  pp_http_header_rule *header_rules; /* expect_header */
  size_t nheader_rules;
  bool json;         /* json_path is set */
  void *json_expect; /* pcre2_code *, NULL when unset */
} pp_http_target;

/* Checks the HTTP options of a target against each other once all are set
 * (a method token, one body, credentials only over TLS unless
 * auth_plaintext, a proxy libcurl can use...). Called by
 * pp_target_finalize; -1 with a message naming the target and the key. */
int pp_http_validate(const pp_target *t, char *err, size_t errlen);

/* Whether the check keeps the whole body (up to max_body): keywords and
 * json_path search it. */
bool pp_http_keeps_body(const pp_http_target *ht);

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
  bool downgraded;       /* a redirect went from https to http */
  const char *headers;   /* the final response's header block, when kept */
  size_t headers_len;
  const char *const *secrets; /* never to appear in detail or excerpt */
  size_t nsecrets;
} pp_http_response;

/* Judges a response against the target's status set and keywords. Returns
 * the result class; writes detail (why) and, on failure, an excerpt of what
 * the server said into res. */
pp_result_code pp_http_judge(const pp_target *t, const pp_http_target *ht,
                             const pp_http_response *resp, pp_result *res);

/* A failed transfer's class from libcurl's code and the socket errno behind
 * it (CURLINFO_OS_ERRNO). Timeouts are not decided here: see check_http.c. */
pp_result_code pp_http_error_class(int curl_code, int os_errno);

/* The request after a redirect, as pp_http_redirect decides it. */
typedef struct {
  char method[32]; /* "GET" after a 303, or a POST after 301/302 */
  bool keep_body;  /* the body goes again (307, 308, 300) */
  bool same_host;  /* the target's host: header options and credentials go */
  bool https;      /* the next URL's scheme */
  bool downgrade;  /* from https to http */
  char scheme[8];  /* the next URL's scheme, for the record */
  char host[256];  /* its host (no IPv6 brackets): the certificate's name */
  bool host_is_ip;
} pp_http_hop;

/* Whether status (of a response to method, from an https URL or not) is a
 * redirect the check follows when Location is present. */
bool pp_http_is_redirect(int status);

/* Decides the request that follows a redirect to location (absolute, as
 * libcurl resolves it): PP_R_OK with *hop filled, or the failure with a
 * message in why (a scheme other than http and https; https to http with
 * redirect_downgrade=refuse, which still fills hop->scheme). */
pp_result_code pp_http_redirect(const pp_target *t, const pp_http_target *ht,
                                int status, const char *method, bool from_https,
                                const char *location, pp_http_hop *hop,
                                char *why, size_t whylen);

/* "200-399,401": the set as a user writes it. */
void pp_http_status_format(const pp_status_set *set, char *buf, size_t len);

#endif
