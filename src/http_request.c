/* What each request of an HTTP check sends: the options all hops share,
 * and per hop the URL, method, body, headers and credentials (which go to
 * the target's own host only). The files a request needs (passwords, a
 * token, a body) are read at each check, without blocking, and secrets are
 * wiped when the check ends. */
#include "files.h"
#include "http_check.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX 4096             /* a password or a token */
#define BODY_FILE_MAX (1024 * 1024) /* body_file */

/* Sets one option of handle h, counting a refusal in bad. */
#define SET(opt, val) bad |= curl_easy_setopt(h, opt, val) != CURLE_OK

static long http_version(int v) {
  switch (v) {
  case PP_HTTPV_1_0:
    return CURL_HTTP_VERSION_1_0;
  case PP_HTTPV_1_1:
    return CURL_HTTP_VERSION_1_1;
  case PP_HTTPV_2:
    return CURL_HTTP_VERSION_2_0;
  default:
    return CURL_HTTP_VERSION_NONE;
  }
}

static long ip_resolve(int af) {
  return af == PP_AF_IPV4   ? CURL_IPRESOLVE_V4
         : af == PP_AF_IPV6 ? CURL_IPRESOLVE_V6
                            : CURL_IPRESOLVE_WHATEVER;
}

/* The hop's request headers: the header options (not to another host
 * unless redirect_headers=all, never a Host header there), and with a body
 * its Content-Type and no "Expect: 100-continue" wait. NULL with *ok false
 * when out of memory. */
int pp_http_request_options(http_check *hc) {
  const pp_opts *o = hc->c->target->opts;
  CURL *h = hc->easy;
  int bad = 0;
  /* the proxy option, never one from the environment */
  SET(CURLOPT_PROXY, o->proxy ? o->proxy : "");
  if (o->proxy_username) {
    SET(CURLOPT_PROXYUSERNAME, o->proxy_username);
    SET(CURLOPT_PROXYPASSWORD, hc->proxy_password);
  }
#if LIBCURL_VERSION_NUM >= 0x075500
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SET(CURLOPT_USERAGENT, "portprobe/" PP_VERSION);
  SET(CURLOPT_IPRESOLVE, ip_resolve(o->address_family));
  SET(CURLOPT_HTTP_VERSION, http_version(o->http_version));
  if (o->source_address) {
    char iface[80];
    snprintf(iface, sizeof(iface), "host!%s", o->source_address);
    SET(CURLOPT_INTERFACE, iface);
  }
  return bad ? -1 : 0;
}

static struct curl_slist *
hop_headers(const http_check *hc, const pp_http_hop *hop, bool body, bool *ok) {
  const pp_opts *o = hc->c->target->opts;
  const struct curl_slist *base =
      hop->same_host ? hc->ht->headers
      : o->redirect_headers == PP_REDIRECT_HEADERS_ALL
          ? hc->ht->other_host_headers
          : NULL;
  struct curl_slist *list = NULL, *l;
  *ok = true;
  for (; base; base = base->next)
    if ((l = curl_slist_append(list, base->data)) != NULL)
      list = l;
    else
      *ok = false;
  if (body && hc->ht->content_type &&
      (l = curl_slist_append(list, hc->ht->content_type)) != NULL)
    list = l;
  if (body && (l = curl_slist_append(list, "Expect:")) != NULL)
    list = l;
  return list;
}

/* Method and body: HEAD asks for no body, a body goes as POSTFIELDS (with
 * the method named when it is not POST), anything else is a GET-like
 * request with its own name. */
static int hop_method(http_check *hc, const pp_http_hop *hop, bool body) {
  CURL *h = hc->easy;
  const char *m = hop->method;
  int bad = 0;
  bool head = strcmp(m, "HEAD") == 0;
  SET(CURLOPT_NOBODY, head ? 1L : 0L);
  if (body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)hc->req_len);
    SET(CURLOPT_POSTFIELDS, hc->req_body);
    SET(CURLOPT_CUSTOMREQUEST, strcmp(m, "POST") == 0 ? NULL : m);
  } else {
    if (!head)
      SET(CURLOPT_HTTPGET, 1L);
    SET(CURLOPT_CUSTOMREQUEST, head || strcmp(m, "GET") == 0 ? NULL : m);
  }
  return bad;
}

/* Credentials go to the target's own host only, as curl's do. */
static int hop_credentials(http_check *hc, const pp_http_hop *hop) {
  CURL *h = hc->easy;
  const pp_opts *o = hc->c->target->opts;
  bool mine = hop->same_host;
  int bad = 0;
  SET(CURLOPT_USERNAME, mine && hc->password ? o->username : NULL);
  SET(CURLOPT_PASSWORD, mine && hc->password ? hc->password : NULL);
  SET(CURLOPT_XOAUTH2_BEARER, mine && hc->token ? hc->token : NULL);
  SET(CURLOPT_HTTPAUTH, mine && hc->token ? CURLAUTH_BEARER : CURLAUTH_BASIC);
  return bad;
}

/* What changes from one hop to the next: the URL, the method, whether the
 * body, the header options and the credentials go. The per-hop state
 * starts again. */
int pp_http_hop_setup(http_check *hc, const char *url, const pp_http_hop *hop) {
  CURL *h = hc->easy;
  int bad = 0;
  snprintf(hc->method, sizeof(hc->method), "%s", hop->method);
  hc->https = hop->https;
  hc->same_host = hop->same_host;
  snprintf(hc->verify_name, sizeof(hc->verify_name), "%s", hop->host);
  hc->verify_is_ip = hop->host_is_ip;
  hc->timed = false;
  hc->status_line[0] = 0;
  hc->header_bytes = 0;
  hc->headers_done = false;
  hc->body_len = hc->body_read = 0;
  hc->body_capped = false;
  hc->c->res->http_status = 0;
  bool body = hop->keep_body && hc->req_body != NULL;
  bool ok;
  curl_slist_free_all(hc->hop_headers);
  hc->hop_headers = hop_headers(hc, hop, body, &ok);
  SET(CURLOPT_URL, url);
  SET(CURLOPT_HTTPHEADER, hc->hop_headers);
  bad |= hop_method(hc, hop, body) | hop_credentials(hc, hop);
  return bad || !ok ? -1 : 0;
}

/* The core has connected c->fd: hand it and the transfer to libcurl. */
static char *b64_pair(const char *user, const char *pass) {
  size_t ul = strlen(user), pl = strlen(pass), n = ul + pl + 1;
  char *pair = malloc(n + 1), *out = malloc(4 * ((n + 2) / 3) + 1);
  if (pair && out) {
    snprintf(pair, n + 1, "%s:%s", user, pass);
    EVP_EncodeBlock((unsigned char *)out, (unsigned char *)pair, (int)n);
  } else {
    free(out);
    out = NULL;
  }
  pp_secret_free(pair, n + 1);
  return out;
}

static void add_secret(http_check *hc, const char *s) {
  if (s != NULL && hc->nsecrets < sizeof(hc->secrets) / sizeof(hc->secrets[0]))
    hc->secrets[hc->nsecrets++] = s;
}

/* The files a request needs, read at each check (so that a new password or
 * body applies at once): never blocking, secrets wiped afterwards. */
int pp_http_read_inputs(http_check *hc, char *why, size_t whylen) {
  const pp_opts *o = hc->c->target->opts;
  if (o->password_file &&
      pp_secret_read("password_file", o->password_file, SECRET_MAX,
                     &hc->password, &hc->password_len, why, whylen) != 0)
    return -1;
  if (o->bearer_token_file &&
      pp_secret_read("bearer_token_file", o->bearer_token_file, SECRET_MAX,
                     &hc->token, &hc->token_len, why, whylen) != 0)
    return -1;
  if (o->proxy_password_file &&
      pp_secret_read("proxy_password_file", o->proxy_password_file, SECRET_MAX,
                     &hc->proxy_password, &hc->proxy_password_len, why,
                     whylen) != 0)
    return -1;
  if (o->body_file &&
      pp_file_read("body_file", o->body_file, BODY_FILE_MAX, &hc->req_body_file,
                   &hc->req_len, why, whylen) != 0)
    return -1;
  hc->req_body = o->body_file ? hc->req_body_file : o->body;
  if (o->body)
    hc->req_len = strlen(o->body);
  if (hc->password)
    hc->encoded[0] = b64_pair(o->username, hc->password);
  if (hc->proxy_password)
    hc->encoded[1] = b64_pair(o->proxy_username, hc->proxy_password);
  if ((hc->password && !hc->encoded[0]) ||
      (hc->proxy_password && !hc->encoded[1])) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  add_secret(hc, hc->password);
  add_secret(hc, hc->encoded[0]);
  add_secret(hc, hc->token);
  add_secret(hc, hc->proxy_password);
  add_secret(hc, hc->encoded[1]);
  return 0;
}

void pp_http_request_free(http_check *hc) {
  curl_slist_free_all(hc->hop_headers);
  hc->hop_headers = NULL;
  pp_secret_free(hc->req_body_file, hc->req_len);
  pp_secret_free(hc->password, hc->password_len);
  pp_secret_free(hc->token, hc->token_len);
  pp_secret_free(hc->proxy_password, hc->proxy_password_len);
  for (int i = 0; i < 2; i++)
    pp_secret_free(hc->encoded[i], hc->encoded[i] ? strlen(hc->encoded[i]) : 0);
  hc->req_body_file = hc->password = hc->token = hc->proxy_password = NULL;
  hc->encoded[0] = hc->encoded[1] = NULL;
}

#undef SET
