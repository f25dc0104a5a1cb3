/* dns_check=spf, dmarc, tls_rpt, mta_sts: the domain's policy TXT record
 * (at the name, _dmarc., _smtp._tls., _mta-sts.): present, exactly one, its
 * basic syntax (dns_policy.c); for MTA-STS also the policy file, fetched
 * over HTTPS from mta-sts.<domain> with libcurl's multi interface on the
 * engine's loop, the host's address asked of the check's server. */
#include "dns_int.h"
#include "dns_policy.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICY_MAX 65536 /* RFC 8461 policies are a few hundred bytes */

typedef struct {
  const char *prefix, *tag, *what;
  int (*check)(const char *rec, char *why, size_t len);
} policy_kind;

static const policy_kind kinds[] = {
    [PP_DNSC_SPF] = {"", "v=spf1", "SPF", pp_spf_check},
    [PP_DNSC_DMARC] = {"_dmarc.", "v=DMARC1", "DMARC", pp_dmarc_check},
    [PP_DNSC_MTA_STS] = {"_mta-sts.", "v=STSv1", "MTA-STS", pp_sts_txt_check},
    [PP_DNSC_TLS_RPT] = {"_smtp._tls.", "v=TLSRPTv1", "TLS-RPT",
                         pp_tlsrpt_check},
};

/* --- libcurl on the loop, for the MTA-STS policy --- */

struct dns_http {
  pp_engine *engine;
  CURLM *multi;
  pp_timer timer;
};

typedef struct {
  dns_check *dc;
  CURL *easy;
  struct curl_slist *resolve;
  char *body;
  size_t len;
  char errbuf[CURL_ERROR_SIZE];
  ldns_rdf *host;
  char hostname[300];
} sts_fetch;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc = CURLE_FAILED_INIT;
static void curl_init(void) {
  curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void fetch_done(sts_fetch *f, CURLcode rc);

static void drain(dns_http *h) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    sts_fetch *f = NULL;
    CURLcode rc = m->data.result;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&f);
    if (f != NULL)
      fetch_done(f, rc);
  }
}

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  dns_http *h = ud;
  int flags = ((ev & PP_EV_READ) ? CURL_CSELECT_IN : 0) |
              ((ev & PP_EV_WRITE) ? CURL_CSELECT_OUT : 0) |
              ((ev & PP_EV_ERROR) ? CURL_CSELECT_ERR : 0);
  int running;
  curl_multi_socket_action(h->multi, fd, flags, &running);
  drain(h);
}

static void on_timer(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  dns_http *h = ud;
  int running;
  curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain(h);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sp) {
  (void)e;
  (void)sp;
  dns_http *h = ud;
  if (what == CURL_POLL_REMOVE) {
    pp_loop_unwatch(h->engine->loop, fd);
    return 0;
  }
  unsigned ev = ((what & CURL_POLL_IN) ? PP_EV_READ : 0u) |
                ((what & CURL_POLL_OUT) ? PP_EV_WRITE : 0u);
  return pp_loop_watch(h->engine->loop, fd, ev, on_io, h) == 0 ? 0 : -1;
}

static int on_curl_timer(CURLM *m, long ms, void *ud) {
  (void)m;
  dns_http *h = ud;
  if (ms < 0)
    pp_timer_stop(h->engine->loop, &h->timer);
  else
    pp_timer_start(h->engine->loop, &h->timer, (uint64_t)ms * 1000u);
  return 0;
}

static dns_http *http_state(dns_engine *de) {
  if (de->http != NULL)
    return de->http;
  pthread_once(&curl_once, curl_init);
  dns_http *h = calloc(1, sizeof(*h));
  if (curl_rc != CURLE_OK || h == NULL ||
      (h->multi = curl_multi_init()) == NULL) {
    free(h);
    return NULL;
  }
  h->engine = de->engine;
  pp_timer_init(&h->timer, on_timer, h);
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
  de->http = h;
  return h;
}

void dns_mail_engine_free(dns_engine *de) {
  if (de->http == NULL)
    return;
  curl_multi_cleanup(de->http->multi);
  pp_timer_stop(de->engine->loop, &de->http->timer);
  free(de->http);
  de->http = NULL;
}

/* --- the policy fetch --- */

static void fetch_free(dns_check *dc) {
  sts_fetch *f = dc->mode;
  if (f == NULL)
    return;
  if (f->easy != NULL) {
    curl_multi_remove_handle(dc->de->http->multi, f->easy);
    curl_easy_cleanup(f->easy);
  }
  curl_slist_free_all(f->resolve);
  ldns_rdf_deep_free(f->host);
  free(f->body);
  free(f);
  dc->mode = NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  sts_fetch *f = ud;
  size_t len = size * n;
  if (f->len + len > POLICY_MAX)
    return 0;
  char *b = realloc(f->body, f->len + len + 1);
  if (b == NULL)
    return 0;
  memcpy(b + f->len, data, len);
  f->body = b;
  f->len += len;
  b[f->len] = 0;
  return len;
}

static void fetch_done(sts_fetch *f, CURLcode rc) {
  dns_check *dc = f->dc;
  pp_check *c = dc->c;
  long status = 0;
  char *ctype = NULL;
  curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ctype);
  c->res->http_status = (int)status;
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR) {
    pp_check_finish(c,
                    rc == CURLE_SSL_CONNECT_ERROR ? PP_R_TLS_HANDSHAKE_FAILED
                                                  : PP_R_TLS_VERIFY_FAILED,
                    "policy at %s: %s", f->hostname,
                    f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
    return;
  }
  if (rc != CURLE_OK) {
    pp_check_finish(
        c, rc == CURLE_COULDNT_CONNECT ? PP_R_REFUSED : PP_R_PROTOCOL_ERROR,
        "policy at %s: %s", f->hostname,
        f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
    return;
  }
  if (status != 200) {
    pp_check_finish(c, PP_R_HTTP_STATUS,
                    "policy at %s: HTTP %ld (expected 200, no redirect)",
                    f->hostname, status);
    return;
  }
  if (ctype == NULL || strncasecmp(ctype, "text/plain", 10) != 0) {
    pp_check_finish(c, PP_R_RECORD_INVALID,
                    "policy at %s: Content-Type %s, expected text/plain",
                    f->hostname, ctype ? ctype : "missing");
    return;
  }
  char mode[16], why[160];
  pp_result_set_excerpt(c->res, f->body ? f->body : "", f->len);
  if (pp_sts_policy_check(f->body ? f->body : "", f->len, mode, why,
                          sizeof(why)) != 0) {
    pp_check_finish(c, PP_R_RECORD_INVALID, "MTA-STS policy: %s", why);
    return;
  }
  char *dinfo = pp_check_dns_info(c);
  snprintf(dinfo, PP_DETAIL_MAX, "mode %s", mode);
  pp_check_finish(c, PP_R_OK, "MTA-STS record and policy (mode %s) sound",
                  mode);
}

static int fetch_start(dns_check *dc, sts_fetch *f, const char *addr) {
  dns_http *h = http_state(dc->de);
  const pp_opts *o = dc->t->opts;
  unsigned port = o->service_port ? (unsigned)o->service_port : 443;
  char url[400], res[400];
  snprintf(url, sizeof(url), "https://%s:%u/.well-known/mta-sts.txt",
           f->hostname, port);
  snprintf(res, sizeof(res), "%s:%u:%s", f->hostname, port, addr);
  if (h == NULL || (f->easy = curl_easy_init()) == NULL ||
      (f->resolve = curl_slist_append(NULL, res)) == NULL)
    return -1;
  CURL *e = f->easy;
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_RESOLVE, f->resolve);
  curl_easy_setopt(e, CURLOPT_PRIVATE, f);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* RFC 8461 3.3 */
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
  if (o->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
  uint64_t now = pp_now_us(), end = dc->c->deadline_us;
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   (long)(end > now ? (end - now) / 1000 + 1 : 1));
  pp_check_phase(dc->c, PP_PHASE_REQUEST);
  return curl_multi_add_handle(h->multi, e) == CURLM_OK ? 0 : -1;
}

static void on_host(dns_check *dc, void *ud, const dnsx_result *r) {
  (void)ud;
  sts_fetch *f = dc->mode;
  char addr[64] = "";
  if (r->status == DNSX_OK) {
    ldns_rr_list *a =
        ldns_pkt_rr_list_by_type(r->pkt, LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER);
    char *s = a ? ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(a, 0), 0)) : NULL;
    snprintf(addr, sizeof(addr), "%s", s ? s : "");
    free(s);
    ldns_rr_list_deep_free(a);
    ldns_pkt_free(r->pkt);
  }
  if (!addr[0]) {
    pp_check_finish(dc->c, PP_R_DNS_FAILED, "no address for the policy host %s",
                    f->hostname);
    return;
  }
  if (fetch_start(dc, f, addr) != 0)
    pp_check_finish(dc->c, PP_R_SOCKET_ERROR, "cannot start the policy fetch");
}

static void fetch_policy(dns_check *dc) {
  sts_fetch *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    pp_check_finish(dc->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  f->dc = dc;
  dc->mode = f;
  dc->mode_free = fetch_free;
  const char *q = dc->t->opts->query;
  size_t n = strlen(q);
  snprintf(f->hostname, sizeof(f->hostname), "mta-sts.%.*s",
           (int)n - (n && q[n - 1] == '.'), q);
  if (ldns_str2rdf_dname(&f->host, f->hostname) != LDNS_STATUS_OK) {
    pp_check_finish(dc->c, PP_R_DNS_FAILED, "%s is no name", f->hostname);
    return;
  }
  dns_ask(dc, f->host, LDNS_RR_TYPE_A, false, 0, on_host, NULL);
}

/* --- the TXT record --- */

static void on_txt(dns_check *dc, void *ud, const dnsx_result *r) {
  (void)ud;
  const policy_kind *k = &kinds[dc->t->opts->dns_check];
  pp_check *c = dc->c;
  if (r->status != DNSX_OK) {
    dns_fail_exchange(dc, r);
    return;
  }
  int rc = ldns_pkt_get_rcode(r->pkt);
  c->res->dns_rcode = rc;
  char **txt = NULL;
  int n = rc == LDNS_RCODE_NOERROR ? dns_txt_strings(r->pkt, &txt) : 0;
  ldns_pkt_free(r->pkt);
  if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
    pp_check_finish(c, PP_R_DNS_RCODE, "%s for the %s record",
                    dns_rcode_words(rc), k->what);
    return;
  }
  int found = 0, first = -1;
  for (int i = 0; i < n; i++)
    if (pp_policy_is(txt[i], k->tag) && found++ == 0)
      first = i;
  c->res->dns_count = found;
  char why[160];
  pp_result_code code = PP_R_OK;
  if (found == 0) {
    code = PP_R_RECORD_MISSING;
    snprintf(why, sizeof(why), "no %s record (%s) at %s%s", k->what, k->tag,
             k->prefix, c->target->opts->query);
  } else {
    pp_result_set_excerpt(c->res, txt[first], strlen(txt[first]));
    if (found > 1) {
      code = PP_R_RECORD_INVALID;
      snprintf(why, sizeof(why), "%d %s records; there must be one", found,
               k->what);
    } else if (k->check(txt[first], why, sizeof(why)) != 0) {
      code = PP_R_RECORD_INVALID;
    }
  }
  if (n > 0)
    dns_strings_free(txt, n);
  if (code != PP_R_OK) {
    pp_check_finish(c, code, "%s", why);
    return;
  }
  if (dc->t->opts->dns_check == PP_DNSC_MTA_STS) {
    fetch_policy(dc);
    return;
  }
  pp_check_finish(c, PP_R_OK, "one %s record, syntax sound", k->what);
}

void dns_mail_start(dns_check *dc) {
  const policy_kind *k = &kinds[dc->t->opts->dns_check];
  const char *q = dc->t->opts->query;
  char name[300];
  snprintf(name, sizeof(name), "%s%s", k->prefix, q);
  ldns_rdf *rdf = NULL;
  if (ldns_str2rdf_dname(&rdf, name) != LDNS_STATUS_OK) {
    pp_check_finish(dc->c, PP_R_DNS_FAILED, "%s is no domain name", name);
    return;
  }
  dns_ask(dc, rdf, LDNS_RR_TYPE_TXT, true, 0, on_txt, NULL);
  ldns_rdf_deep_free(rdf);
}
