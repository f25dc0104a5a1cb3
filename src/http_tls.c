/* TLS of an https check: libcurl drives the handshake with its own
 * verification off; tls_check.c prepares the context and judges the
 * result, as for every kind, so a bad certificate is reported with all its
 * facts and the request is never sent over a connection that failed. */
#include "http_check.h"
#include "tls_check.h"

#include <openssl/ssl.h>
#include <stdio.h>

void pp_http_fail_later(http_check *hc, pp_result_code code, const char *why) {
  hc->failed = code;
  snprintf(hc->failed_why, sizeof(hc->failed_why), "%s", why);
}

/* libcurl made a new SSL_CTX for a connection: TCP is up, TLS begins. The
 * trusted store is the engine's for ca_file; the client identity goes to
 * the target's own host only, the OCSP request on its first connection. */
CURLcode pp_http_on_ssl_ctx(CURL *easy, void *sslctx, void *ud) {
  (void)easy;
  http_check *hc = ud;
  const pp_opts *o = hc->c->target->opts;
  pp_opts hop = *o; /* a shallow copy, for this connection's needs */
  if (!hc->same_host)
    hop.client_cert = NULL; /* an identity is for the target's host only */
  if (hc->hops > 0)
    hop.ocsp = PP_OCSP_OPT_NO; /* a redirect's facts are not recorded */
  char why[PP_DETAIL_MAX] = "out of memory";
  if (hc->he->tls == NULL)
    hc->he->tls = pp_tls_ctxs_new();
  X509_STORE *store =
      hc->he->tls ? pp_tls_store(hc->he->tls, o->ca_file, why, sizeof(why))
                  : NULL;
  if (store == NULL) {
    pp_http_fail_later(hc, PP_R_SOCKET_ERROR, why);
    return CURLE_ABORTED_BY_CALLBACK;
  }
  SSL_CTX_set1_cert_store(sslctx, store);
  if (pp_tls_prepare(sslctx, NULL, &hop, hc->verify_name, hc->verify_is_ip, why,
                     sizeof(why)) != 0) {
    pp_http_fail_later(hc, PP_R_SOCKET_ERROR, why);
    return CURLE_ABORTED_BY_CALLBACK;
  }
  hc->c->res->tls_used = true;
  pp_check_phase(hc->c, PP_PHASE_TLS);
  return CURLE_OK;
}

/* The handshake is done: the target's own connection records its facts
 * and judges them all; a redirect's is judged on its chain and name. */
bool pp_http_tls_judged(http_check *hc) {
  struct curl_tlssessioninfo *tls = NULL;
  if (!hc->https ||
      curl_easy_getinfo(hc->easy, CURLINFO_TLS_SSL_PTR, &tls) != CURLE_OK ||
      tls == NULL || tls->backend != CURLSSLBACKEND_OPENSSL ||
      tls->internals == NULL)
    return true;
  SSL *ssl = tls->internals;
  const pp_opts *o = hc->c->target->opts;
  char why[PP_DETAIL_MAX];
  pp_result_code code;
  if (hc->hops == 0) {
    pp_tls_record(ssl, o, hc->c->res, hc->c->engine);
    code = pp_tls_judge(ssl, o, hc->c->res, hc->verify_name, why, sizeof(why));
  } else {
    code = o->verify
               ? pp_tls_judge_verify(ssl, hc->verify_name, why, sizeof(why))
               : PP_R_OK;
    if (code != PP_R_OK) {
      char *url = NULL;
      curl_easy_getinfo(hc->easy, CURLINFO_EFFECTIVE_URL, &url);
      char hop_why[PP_DETAIL_MAX];
      snprintf(hop_why, sizeof(hop_why), "%.120s (redirected to %.60s)", why,
               url ? url : "?");
      snprintf(why, sizeof(why), "%s", hop_why);
    }
  }
  if (code != PP_R_OK) {
    pp_http_fail_later(hc, code, why);
    return false;
  }
  return true;
}
