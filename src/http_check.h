/* The state of one HTTP check, shared by the files of the HTTP kind:
 * check_http.c (libcurl on the engine's loop, the transfer's end and its
 * redirects), http_request.c (what each request sends) and http_tls.c
 * (TLS on libcurl's handshake). Internal to the HTTP kind. */
#ifndef PP_HTTP_CHECK_H
#define PP_HTTP_CHECK_H

#include "check_core.h"
#include "http.h"
#include "tls.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* A response's header block may have this much (libcurl's own bound is
 * 300 KiB, and CURL_MAX_HTTP_HEADER for one line): more is the server's
 * protocol error, said in our words before libcurl's. */
#define HEADERS_MAX (256 * 1024)

typedef struct http_engine {
  pp_engine *engine;
  CURLM *multi;
  pp_timer timer;   /* libcurl's one timeout */
  pp_tls_ctxs *tls; /* the trusted stores, shared with no one else */
} http_engine;

typedef struct http_check {
  pp_check *c;
  http_engine *he;
  const pp_http_target *ht;
  CURL *easy;
  bool added; /* to the multi handle */
  struct curl_slist *connect_to;
  char errbuf[CURL_ERROR_SIZE];
  char status_line[128];
  char *body;
  size_t body_len, body_cap;
  size_t body_read; /* bytes read, at most max_body */
  bool keep_body;   /* keywords search the whole (capped) body */
  bool body_capped; /* max_body reached: reading stopped there */
  bool oom;
  int handover_fd; /* connected by the core, not yet taken by libcurl */
  int handed_fd;   /* taken by libcurl, before its sockopt callback */

  /* redirects are followed here, one transfer per hop, so that each hop's
   * request is ours to decide (method, headers, credentials, downgrade) */
  int hops;            /* redirects followed */
  char method[32];     /* the current hop's */
  bool https;          /* the current hop's scheme */
  bool downgraded;     /* a hop went from https to http */
  bool timed;          /* the current hop's timings are in the record */
  size_t header_bytes; /* of the current response's header block */
  bool headers_done;   /* its empty line came */
  bool headers_too_big;
  char verify_name[256]; /* the current hop's host, for its certificate */
  bool verify_is_ip;
  bool same_host;        /* the current hop goes to the target's host */
  pp_result_code failed; /* a callback's verdict (TLS, local), or OK */
  char failed_why[PP_DETAIL_MAX];

  /* what the request sends, read from files at each check */
  const char *req_body; /* body option, or body_file's content */
  size_t req_len;
  char *req_body_file;                     /* owned: body_file's content */
  char *password, *token, *proxy_password; /* wiped when freed */
  size_t password_len, token_len, proxy_password_len;
  char *encoded[2];       /* base64 of user:password, of the proxy's */
  const char *secrets[5]; /* every form of a secret, for scrubbing */
  size_t nsecrets;
  struct curl_slist *hop_headers; /* the current hop's request headers */
  char *resp_headers; /* the final response's header block (expect_header) */
  size_t resp_headers_len, resp_headers_cap;
} http_check;

/* --- http_request.c --- */

/* The options every hop shares that are about the request: proxy, HTTP
 * version, address family, source address, protocols, user agent. */
int pp_http_request_options(http_check *hc);
/* What changes from one hop to the next: URL, method, body, headers,
 * credentials; the per-hop state starts again. */
int pp_http_hop_setup(http_check *hc, const char *url, const pp_http_hop *hop);
/* Reads the files the request needs (secrets, body_file). -1 with why. */
int pp_http_read_inputs(http_check *hc, char *why, size_t whylen);
/* Wipes and frees what pp_http_read_inputs and the hops made. */
void pp_http_request_free(http_check *hc);

/* --- http_tls.c --- */

/* CURLOPT_SSL_CTX_FUNCTION: prepares libcurl's context for a connection. */
CURLcode pp_http_on_ssl_ctx(CURL *easy, void *sslctx, void *ud);
/* After the handshake, before the request: records and judges the TLS
 * facts; false when the check must end (hc->failed says how). */
bool pp_http_tls_judged(http_check *hc);
/* A callback's verdict: the transfer is aborted and ends with it. */
void pp_http_fail_later(http_check *hc, pp_result_code code, const char *why);

#endif
