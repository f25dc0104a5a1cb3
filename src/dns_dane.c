/* dns_check=dane: the TLSA records of _PORT._tcp.<MX host> (RFC 7672),
 * then the host's certificate as it presents it after STARTTLS, compared
 * with them by ldns's DANE code (OpenSSL's underneath): usages 2 (DANE-TA,
 * with the MX name checked) and 3 (DANE-EE), any selector and matching type
 * (RFC 6698, 7671). Usages 0 and 1 are not for SMTP and are left out. */
#include "dns_int.h"
#include "reply.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMTP_MAX 16384

typedef void (*reply_fn)(dns_check *dc, const pp_reply *r, const char *text,
                         size_t len);

typedef struct {
  reply_fn next;      /* what the next SMTP reply goes to */
  ldns_rr_list *tlsa; /* usages 2 and 3 */
  ldns_pkt *answer;
  dstream *s;
  char ehlo[300];
} dane_check;

static void dane_free(dns_check *dc) {
  dane_check *d = dc->mode;
  if (d == NULL)
    return;
  ldns_rr_list_deep_free(d->tlsa);
  ldns_pkt_free(d->answer);
  ds_free(d->s);
  free(d);
  dc->mode = NULL;
}

static uint16_t service_port(const dns_check *dc) {
  return dc->t->opts->service_port ? (uint16_t)dc->t->opts->service_port : 25;
}

/* --- matching --- */

static void compare(dns_check *dc) {
  dane_check *d = dc->mode;
  SSL *ssl = pp_tls_ssl(ds_tls_session(d->s));
  X509 *cert = SSL_get0_peer_certificate(ssl);
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
  const char *host = dc->t->opts->query;
  if (cert == NULL) {
    pp_check_finish(dc->c, PP_R_DANE_MISMATCH,
                    "the server sent no certificate");
    return;
  }
  for (size_t i = 0; i < ldns_rr_list_rr_count(d->tlsa); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(d->tlsa, i);
    if (ldns_dane_verify_rr(rr, cert, chain, NULL) != LDNS_STATUS_OK)
      continue;
    int usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
    /* DANE-TA binds a CA, so the name matters (RFC 7672 3.2.2) */
    if (usage == LDNS_TLSA_USAGE_DANE_TA &&
        X509_check_host(cert, host, 0, 0, NULL) != 1)
      continue;
    char *dinfo = pp_check_dns_info(dc->c);
    snprintf(dinfo, PP_DETAIL_MAX, "matched TLSA %d %d %d", usage,
             ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)),
             ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)));
    pp_check_finish(dc->c, PP_R_OK, "certificate matches TLSA %d %d %d of %zu",
                    usage, ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)),
                    ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)),
                    ldns_rr_list_rr_count(d->tlsa));
    return;
  }
  pp_check_finish(dc->c, PP_R_DANE_MISMATCH,
                  "the certificate of %s matches none of its %zu TLSA records",
                  host, ldns_rr_list_rr_count(d->tlsa));
}

/* --- SMTP up to TLS --- */

static size_t smtp_complete(const uint8_t *b, size_t n) {
  pp_reply r;
  switch (pp_reply_parse(PP_FRAME_SMTP, (const char *)b, n, NULL, &r)) {
  case PP_REPLY_COMPLETE:
    return r.len;
  case PP_REPLY_MALFORMED:
    return (size_t)-1;
  default:
    return 0;
  }
}

static void stream_failed(dns_check *dc, int status) {
  dane_check *d = dc->mode;
  if (ds_errno(d->s)) {
    dc->c->res->sys_errno = ds_errno(d->s);
    pp_check_finish(dc->c, pp_result_from_errno(ds_errno(d->s)), "%s",
                    ds_why(d->s));
  } else {
    pp_check_finish(dc->c, (pp_result_code)status, "%s", ds_why(d->s));
  }
}

static void on_reply(dstream *s, void *ud, int status) {
  dns_check *dc = ud;
  if (status != 0) {
    stream_failed(dc, status);
    return;
  }
  size_t len;
  const char *b = (const char *)ds_data(s, &len);
  pp_reply r;
  pp_reply_parse(PP_FRAME_SMTP, b, len, NULL, &r);
  pp_result_set_excerpt(dc->c->res, b, r.len);
  /* the reply leaves the buffer before the next command can read */
  char text[SMTP_MAX];
  memcpy(text, b, r.len);
  ds_consume(s, r.len);
  ((dane_check *)dc->mode)->next(dc, &r, text, r.len);
}

static void on_sent(dstream *s, void *ud, int status) {
  dns_check *dc = ud;
  if (status != 0) {
    stream_failed(dc, status);
    return;
  }
  ds_read(s, SMTP_MAX, smtp_complete, on_reply, dc);
}

static void send_line(dns_check *dc, const char *line, reply_fn then) {
  dane_check *d = dc->mode;
  d->next = then;
  ds_write(d->s, line, strlen(line), on_sent, dc);
}

static void on_tls(dstream *s, void *ud, int status) {
  (void)s;
  dns_check *dc = ud;
  if (status != 0) {
    stream_failed(dc, status);
    return;
  }
  compare(dc);
}

static void after_starttls(dns_check *dc, const pp_reply *r, const char *text,
                           size_t len) {
  (void)text;
  (void)len;
  if (r->status != PP_RS_OK) {
    pp_check_finish(dc->c, PP_R_STARTTLS_UNAVAILABLE, "STARTTLS refused: %d",
                    r->code);
    return;
  }
  pp_check_phase(dc->c, PP_PHASE_TLS);
  /* PKIX does not decide here: the TLSA records do (RFC 7672 3.1) */
  ds_tls(((dane_check *)dc->mode)->s, dc->t->opts->query, true, false, on_tls,
         dc);
}

static void after_ehlo(dns_check *dc, const pp_reply *r, const char *text,
                       size_t len) {
  pp_caps caps = {0};
  pp_caps_parse(PP_FRAME_SMTP, text, len, &caps);
  if (r->status != PP_RS_OK || !caps.starttls) {
    pp_check_finish(dc->c, PP_R_STARTTLS_UNAVAILABLE,
                    "%s does not offer STARTTLS", dc->t->opts->query);
    return;
  }
  pp_check_phase(dc->c, PP_PHASE_STARTTLS);
  send_line(dc, "STARTTLS\r\n", after_starttls);
}

static void after_greeting(dns_check *dc, const pp_reply *r, const char *text,
                           size_t len) {
  (void)text;
  (void)len;
  dane_check *d = dc->mode;
  if (r->status != PP_RS_OK) {
    pp_check_finish(dc->c, PP_R_BANNER_MISMATCH, "greeting %d", r->code);
    return;
  }
  pp_check_phase(dc->c, PP_PHASE_DIALOG);
  char host[256];
  if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
    snprintf(host, sizeof(host), "localhost");
  host[sizeof(host) - 1] = 0;
  snprintf(d->ehlo, sizeof(d->ehlo), "EHLO %s\r\n", host);
  send_line(dc, d->ehlo, after_ehlo);
}

static void on_connected(dstream *s, void *ud, int status) {
  dns_check *dc = ud;
  if (status != 0) {
    stream_failed(dc, status);
    return;
  }
  dc->c->res->t_connect = pp_check_phase_elapsed(dc->c);
  pp_check_phase(dc->c, PP_PHASE_BANNER);
  ((dane_check *)dc->mode)->next = after_greeting;
  ds_read(s, SMTP_MAX, smtp_complete, on_reply, dc);
}

/* --- the records, then the host --- */

static void on_addr(dns_check *dc, void *ud, const dnsx_result *r) {
  (void)ud;
  dane_check *d = dc->mode;
  pp_sockaddr to;
  bool have = false;
  if (r->status == DNSX_OK) {
    ldns_rr_list *a = ldns_pkt_answer(r->pkt);
    for (size_t i = 0; i < ldns_rr_list_rr_count(a) && !have; i++) {
      const ldns_rr *rr = ldns_rr_list_rr(a, i);
      ldns_rr_type ty = ldns_rr_get_type(rr);
      size_t size = 0;
      struct sockaddr_storage *ss =
          ty == LDNS_RR_TYPE_A || ty == LDNS_RR_TYPE_AAAA
              ? ldns_rdf2native_sockaddr_storage(ldns_rr_rdf(rr, 0),
                                                 service_port(dc), &size)
              : NULL;
      if (ss != NULL && size <= sizeof(to)) {
        memset(&to, 0, sizeof(to));
        memcpy(&to, ss, size);
        have = true;
      }
      free(ss);
    }
    ldns_pkt_free(r->pkt);
  }
  if (!have) {
    pp_check_finish(dc->c, PP_R_DNS_FAILED, "no address for %s",
                    dc->t->opts->query);
    return;
  }
  pp_format_address(&to.sa, dc->c->res->address, sizeof(dc->c->res->address));
  dc->c->res->port = service_port(dc);
  if ((d->s = ds_new(dc, &to)) == NULL) {
    pp_check_finish(dc->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  pp_check_phase(dc->c, PP_PHASE_CONNECT);
  ds_connect(d->s, on_connected, dc);
}

static void after_dnssec(dns_check *dc, pp_result_code code, const char *why) {
  if (code != PP_R_OK) {
    pp_check_finish(dc->c, code, "TLSA records: %s", why);
    return;
  }
  ldns_rr_type ty = dc->t->opts->address_family == PP_AF_IPV6
                        ? LDNS_RR_TYPE_AAAA
                        : LDNS_RR_TYPE_A;
  dns_ask(dc, dc->pl->qname, ty, false, 0, on_addr, NULL);
}

static void on_tlsa(dns_check *dc, void *ud, const dnsx_result *r) {
  (void)ud;
  dane_check *d = dc->mode;
  if (r->status != DNSX_OK) {
    dns_fail_exchange(dc, r);
    return;
  }
  d->answer = r->pkt;
  int rc = ldns_pkt_get_rcode(r->pkt);
  dc->c->res->dns_rcode = rc;
  ldns_rr_list *all =
      ldns_pkt_rr_list_by_type(r->pkt, LDNS_RR_TYPE_TLSA, LDNS_SECTION_ANSWER);
  d->tlsa = ldns_rr_list_new();
  for (size_t i = 0; all && d->tlsa && i < ldns_rr_list_rr_count(all); i++) {
    ldns_rr *rr = ldns_rr_list_rr(all, i);
    int usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
    if (usage == LDNS_TLSA_USAGE_DANE_TA || usage == LDNS_TLSA_USAGE_DANE_EE)
      ldns_rr_list_push_rr(d->tlsa, ldns_rr_clone(rr));
  }
  size_t n = all ? ldns_rr_list_rr_count(all) : 0;
  ldns_rr_list_deep_free(all);
  dc->c->res->dns_count = (int)ldns_rr_list_rr_count(d->tlsa);
  if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
    pp_check_finish(dc->c, PP_R_DNS_RCODE, "%s for the TLSA records",
                    dns_rcode_words(rc));
    return;
  }
  if (ldns_rr_list_rr_count(d->tlsa) == 0) {
    pp_check_finish(dc->c, PP_R_RECORD_MISSING,
                    "no TLSA record of usage 2 or 3 at _%u._tcp.%s (%zu "
                    "TLSA records)",
                    (unsigned)service_port(dc), dc->t->opts->query, n);
    return;
  }
  if (dc->t->opts->dnssec == PP_DNSSEC_OFF) {
    after_dnssec(dc, PP_R_OK, NULL);
    return;
  }
  dns_dnssec_judge(dc, d->answer, after_dnssec);
}

void dns_dane_start(dns_check *dc) {
  dane_check *d = calloc(1, sizeof(*d));
  char name[300];
  ldns_rdf *rdf = NULL;
  if (d == NULL) {
    pp_check_finish(dc->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  dc->mode = d;
  dc->mode_free = dane_free;
  snprintf(name, sizeof(name), "_%u._tcp.%s", (unsigned)service_port(dc),
           dc->t->opts->query);
  if (ldns_str2rdf_dname(&rdf, name) != LDNS_STATUS_OK) {
    pp_check_finish(dc->c, PP_R_DNS_FAILED, "%s is no domain name", name);
    return;
  }
  dns_ask(dc, rdf, LDNS_RR_TYPE_TLSA, true, 0, on_tlsa, NULL);
  ldns_rdf_deep_free(rdf);
}
