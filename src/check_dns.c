/* The dns kind: what a dns target keeps (its question, compiled expects,
 * trust anchor), the engine's share, and the start of a check, which finds
 * the server and hands over to the check the dns_check option names (an
 * answer, name servers, blocklists, mail records, DANE). ldns (libldns)
 * builds and parses messages and verifies signatures; docs/dns.md says why
 * ldns rather than getdns or c-ares. */
#include "dns_int.h"
#include "dns_policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- per engine --- */

static dns_engine *engine_state(pp_engine *e) {
  dns_engine *de = e->kind_state[PP_KIND_DNS];
  if (de != NULL)
    return de;
  if ((de = calloc(1, sizeof(*de))) == NULL)
    return NULL;
  de->engine = e;
  de->mctx = pcre2_match_context_create(NULL);
  de->md = pcre2_match_data_create(1, NULL);
  if (de->mctx == NULL || de->md == NULL) {
    pcre2_match_context_free(de->mctx);
    pcre2_match_data_free(de->md);
    free(de);
    return NULL;
  }
  pcre2_set_match_limit(de->mctx, 200000); /* a user's regex, a big answer */
  e->kind_state[PP_KIND_DNS] = de;
  return de;
}

static void dns_engine_free(pp_engine *e) {
  dns_engine *de = e->kind_state[PP_KIND_DNS];
  if (de == NULL)
    return;
  dns_mail_engine_free(de);
  pp_tls_ctxs_free(de->tls);
  pcre2_match_context_free(de->mctx);
  pcre2_match_data_free(de->md);
  free(de);
  e->kind_state[PP_KIND_DNS] = NULL;
}

/* --- per target --- */

static void plan_free(void *p) {
  dns_plan *pl = p;
  if (pl == NULL)
    return;
  ldns_rdf_deep_free(pl->qname);
  for (size_t i = 0; i < pl->nexpect; i++)
    pcre2_code_free(pl->expect[i]);
  free(pl->expect);
  ldns_rr_list_deep_free(pl->anchors);
  free(pl->bl_name);
  free(pl);
}

#define PFAIL(...)                                                             \
  do {                                                                         \
    snprintf(err, errlen, __VA_ARGS__);                                        \
    plan_free(pl);                                                             \
    return NULL;                                                               \
  } while (0)

/* DS and DNSKEY records of a zone-file, comments and blank lines allowed. */
static ldns_rr_list *load_anchors(const char *path, char *why, size_t len) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    snprintf(why, len, "%s: %s", path, strerror(errno));
    return NULL;
  }
  ldns_rr_list *l = ldns_rr_list_new();
  uint32_t ttl = 3600;
  ldns_rdf *origin = NULL, *prev = NULL;
  int line = 1;
  while (l != NULL && !feof(f)) {
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
    if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
        st == LDNS_STATUS_SYNTAX_ORIGIN)
      continue;
    if (st != LDNS_STATUS_OK) {
      snprintf(why, len, "%s line %d: %s", path, line,
               ldns_get_errorstr_by_id(st));
      ldns_rr_list_deep_free(l);
      l = NULL;
      break;
    }
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS ||
        ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY)
      ldns_rr_list_push_rr(l, rr);
    else
      ldns_rr_free(rr);
  }
  fclose(f);
  ldns_rdf_deep_free(origin);
  ldns_rdf_deep_free(prev);
  if (l != NULL && ldns_rr_list_rr_count(l) == 0) {
    snprintf(why, len, "%s: no DS or DNSKEY record", path);
    ldns_rr_list_free(l);
    return NULL;
  }
  return l;
}

/* The first name server of resolv.conf, as the system's resolver uses. */
static int system_server(pp_sockaddr *out, char *why, size_t len) {
  ldns_resolver *res = NULL;
  ldns_status st = ldns_resolver_new_frm_file(&res, NULL);
  if (st != LDNS_STATUS_OK || ldns_resolver_nameserver_count(res) == 0) {
    snprintf(why, len, "no name server in /etc/resolv.conf%s%s",
             st != LDNS_STATUS_OK ? ": " : "",
             st != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(st) : "");
    if (res)
      ldns_resolver_deep_free(res);
    return -1;
  }
  size_t size = 0;
  struct sockaddr_storage *ss = ldns_rdf2native_sockaddr_storage(
      ldns_resolver_nameservers(res)[0], 0, &size);
  ldns_resolver_deep_free(res);
  if (ss == NULL || size > sizeof(*out)) {
    free(ss);
    snprintf(why, len, "bad name server address in /etc/resolv.conf");
    return -1;
  }
  memset(out, 0, sizeof(*out));
  memcpy(out, ss, size);
  free(ss);
  return 0;
}

static int compile_expects(dns_plan *pl, const pp_opts *o, char *why,
                           size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < o->steps.n; i++)
    n += o->steps.items[i].kind == PP_STEP_EXPECT;
  if (n == 0)
    return 0;
  if ((pl->expect = calloc(n, sizeof(*pl->expect))) == NULL) {
    snprintf(why, len, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < o->steps.n; i++) {
    if (o->steps.items[i].kind != PP_STEP_EXPECT)
      continue;
    int code;
    PCRE2_SIZE off;
    pl->expect[pl->nexpect] =
        pcre2_compile((PCRE2_SPTR)o->steps.items[i].text, PCRE2_ZERO_TERMINATED,
                      PCRE2_MULTILINE | PCRE2_CASELESS, &code, &off, NULL);
    if (pl->expect[pl->nexpect++] == NULL) {
      snprintf(why, len, "expect \"%s\" does not compile",
               o->steps.items[i].text);
      return -1;
    }
  }
  return 0;
}

/* The name a blocklist is asked for: an address reversed, a name as is. */
static char *bl_name(const char *query) {
  char buf[256];
  if (pp_dns_reverse_name(query, buf, sizeof(buf)) == 0)
    return strdup(buf);
  size_t n = strlen(query);
  if (n + 2 > sizeof(buf))
    return NULL;
  snprintf(buf, sizeof(buf), "%s%s", query,
           n && query[n - 1] == '.' ? "" : ".");
  return strdup(buf);
}

static void *plan_new(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  const char *name = pp_target_name(t);
  char why[200];
  dns_plan *pl = calloc(1, sizeof(*pl));
  if (pl == NULL)
    PFAIL("target \"%s\": out of memory", name);
  pl->qtype = ldns_get_rr_type_by_name(o->qtype);
  pl->qclass = ldns_get_rr_class_by_name(o->qclass);
  ldns_lookup_table *rc = ldns_lookup_by_name(ldns_rcodes, o->expect_rcode);
  pl->expect_rcode = rc ? rc->id : -1;
  if (o->dns_check == PP_DNSC_DNSBL) {
    if ((pl->bl_name = bl_name(o->query)) == NULL)
      PFAIL("target \"%s\": option \"query\": \"%s\" is too long", name,
            o->query);
  } else if (ldns_str2rdf_dname(&pl->qname, o->query) != LDNS_STATUS_OK) {
    PFAIL("target \"%s\": option \"query\": \"%s\" is not a domain name", name,
          o->query);
  }
  if (compile_expects(pl, o, why, sizeof(why)) != 0)
    PFAIL("target \"%s\": %s", name, why);
  if (o->trust_anchor &&
      (pl->anchors = load_anchors(o->trust_anchor, why, sizeof(why))) == NULL)
    PFAIL("target \"%s\": option \"trust_anchor\": %s", name, why);
  if (!t->host[0]) {
    pl->system = true;
    if (system_server(&pl->system_server, why, sizeof(why)) != 0)
      PFAIL("target \"%s\": %s", name, why);
  }
  return pl;
}

static int validate(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  const char *name = pp_target_name(t);
  static const char *const bad = "target \"%s\": option \"%s\": %s";
  if (o->query == NULL) {
    snprintf(err, errlen,
             "target \"%s\": option \"query\" is required (the name to ask)",
             name);
    return -1;
  }
  if (ldns_get_rr_type_by_name(o->qtype) == 0) {
    snprintf(err, errlen, bad, name, "type",
             "expected a record type such as A, AAAA, MX, TXT, SOA, TLSA");
    return -1;
  }
  if (ldns_get_rr_class_by_name(o->qclass) == 0) {
    snprintf(err, errlen, bad, name, "class", "expected IN, CH or HS");
    return -1;
  }
  if (ldns_lookup_by_name(ldns_rcodes, o->expect_rcode) == NULL) {
    snprintf(err, errlen, bad, name, "expect_rcode",
             "expected a response code such as NOERROR, NXDOMAIN, SERVFAIL "
             "or REFUSED");
    return -1;
  }
  if (o->rrsig_crit_ms > o->rrsig_warn_ms) {
    snprintf(err, errlen, "target \"%s\": rrsig_crit is more than rrsig_warn",
             name);
    return -1;
  }
  if (o->trust_anchor && o->dnssec == PP_DNSSEC_OFF) {
    snprintf(err, errlen,
             "target \"%s\": trust_anchor needs dnssec=report "
             "or require",
             name);
    return -1;
  }
  if (o->dns_check == PP_DNSC_DNSBL && o->dnsbl_zones.n == 0) {
    snprintf(err, errlen,
             "target \"%s\": dns_check=dnsbl needs at least one dnsbl_zone",
             name);
    return -1;
  }
  for (size_t i = 0; i < o->dnsbl_zones.n; i++) {
    ldns_rdf *z = NULL;
    if (ldns_str2rdf_dname(&z, o->dnsbl_zones.items[i]) != LDNS_STATUS_OK) {
      snprintf(err, errlen,
               "target \"%s\": option \"dnsbl_zone\": \"%s\" is not a "
               "domain name",
               name, o->dnsbl_zones.items[i]);
      return -1;
    }
    ldns_rdf_deep_free(z);
  }
  if (o->dns_check != PP_DNSC_QUERY && o->steps.n > 0) {
    snprintf(err, errlen,
             "target \"%s\": option \"expect\" applies to dns_check=query",
             name);
    return -1;
  }
  if (o->service_port && o->dns_check != PP_DNSC_DANE &&
      o->dns_check != PP_DNSC_MTA_STS) {
    snprintf(err, errlen,
             "target \"%s\": service_port applies to dns_check=dane and "
             "mta_sts",
             name);
    return -1;
  }
  return 0;
}

/* --- helpers of every mode --- */

int dns_bind_source(const dns_check *dc, int fd, int family, char *why,
                    size_t len) {
  const char *src = dc->t->opts->source_address;
  if (src == NULL)
    return 0;
  pp_sockaddr sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa.sa_family = (sa_family_t)family;
  void *where =
      family == AF_INET6 ? (void *)&sa.in6.sin6_addr : (void *)&sa.in.sin_addr;
  if (inet_pton(family, src, where) != 1) {
    snprintf(why, len, "source_address %s is not an %s address", src,
             family == AF_INET6 ? "IPv6" : "IPv4");
    return -1;
  }
  if (bind(fd, &sa.sa, pp_sockaddr_len(&sa)) != 0) {
    snprintf(why, len, "source_address %s: %s", src, strerror(errno));
    return -1;
  }
  return 0;
}

const char *pp_dns_rcode_name(int rcode) {
  static __thread char buf[16];
  ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, rcode);
  if (lt != NULL)
    return lt->name;
  snprintf(buf, sizeof(buf), "RCODE%d", rcode);
  return buf;
}

const char *dns_rcode_words(int rcode) {
  return pp_dns_rcode_name(rcode);
}

ldns_pkt *dns_query_new(const dns_check *dc, const ldns_rdf *name,
                        ldns_rr_type type, bool rd) {
  const pp_opts *o = dc->t->opts;
  ldns_rdf *n = ldns_rdf_clone(name);
  if (n == NULL)
    return NULL;
  uint16_t flags = (rd ? LDNS_RD : 0) | (dc->pl->anchors ? LDNS_CD : 0);
  ldns_pkt *p = ldns_pkt_query_new(n, type, dc->pl->qclass, flags);
  if (p == NULL)
    return NULL;
  ldns_pkt_set_random_id(p);
  ldns_pkt_set_edns_udp_size(p, DNS_UDP_SIZE);
  if (o->dnssec != PP_DNSSEC_OFF)
    ldns_pkt_set_edns_do(p, true);
  return p;
}

int dns_ask(dns_check *dc, const ldns_rdf *name, ldns_rr_type type,
            bool primary, uint64_t deadline_us, dnsx_cb cb, void *ud) {
  const pp_opts *o = dc->t->opts;
  ldns_pkt *q = dns_query_new(dc, name, type, o->recursion);
  dnsx_opts xo = {.server = &dc->server,
                  .transport = o->transport,
                  .deadline_us = deadline_us,
                  .primary = primary};
  if (q == NULL || dnsx_send(dc, &xo, q, cb, ud) != 0) {
    if (q)
      ldns_pkt_free(q);
    pp_check_finish(dc->c, PP_R_SOCKET_ERROR, "cannot make a DNS query");
    return -1;
  }
  ldns_pkt_free(q);
  return 0;
}

void dns_fail_exchange(dns_check *dc, const dnsx_result *r) {
  pp_check *c = dc->c;
  switch (r->status) {
  case DNSX_ERRNO:
    c->res->sys_errno = r->err;
    pp_check_finish(c, pp_result_from_errno(r->err), "%s", strerror(r->err));
    return;
  case DNSX_TIMEOUT:
    pp_check_finish(c, PP_R_TIMEOUT, "%s", r->why);
    return;
  case DNSX_TLS:
  case DNSX_MALFORMED:
  default:
    pp_check_finish(c, r->code ? r->code : PP_R_PROTOCOL_ERROR, "%s",
                    r->why ? r->why : "exchange failed");
    return;
  }
}

uint64_t dns_sub_deadline(const dns_check *dc) {
  /* a server that stays silent is named before the check's own deadline */
  uint64_t now = pp_now_us(), end = dc->c->deadline_us;
  return now >= end ? now : now + (end - now) * 3 / 4;
}

int dns_count_rrs(const ldns_rr_list *rrs, int64_t *ttl_min) {
  int n = 0;
  *ttl_min = -1;
  for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
      continue;
    n++;
    if (*ttl_min < 0 || ldns_rr_ttl(rr) < *ttl_min)
      *ttl_min = ldns_rr_ttl(rr);
  }
  return n;
}

char *dns_rrs_text(const ldns_rr_list *rrs) {
  ldns_buffer *b = ldns_buffer_new(1024);
  if (b == NULL)
    return NULL;
  for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG)
      ldns_rr2buffer_str(b, rr);
  }
  char *s = ldns_buffer_export2str(b);
  ldns_buffer_free(b);
  return s;
}

void dns_strings_free(char **v, int n) {
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

int dns_txt_strings(const ldns_pkt *pkt, char ***out) {
  ldns_rr_list *rrs = ldns_pkt_answer(pkt);
  size_t n = ldns_rr_list_rr_count(rrs);
  char **v = calloc(n ? n : 1, sizeof(*v));
  int k = 0;
  for (size_t i = 0; v && i < n; i++) {
    const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
      continue;
    size_t len = 0;
    for (size_t j = 0; j < ldns_rr_rd_count(rr); j++)
      len += ldns_rdf_size(ldns_rr_rdf(rr, j));
    char *s = malloc(len + 1), *p = s;
    if (s == NULL) {
      dns_strings_free(v, k);
      return -1;
    }
    /* each character-string: a length byte, then its bytes (RFC 1035) */
    for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
      const ldns_rdf *rd = ldns_rr_rdf(rr, j);
      const uint8_t *d = ldns_rdf_data(rd);
      size_t sz = ldns_rdf_size(rd);
      if (sz > 0 && d[0] <= sz - 1) {
        memcpy(p, d + 1, d[0]);
        p += d[0];
      }
    }
    *p = 0;
    v[k++] = s;
  }
  if (v == NULL)
    return -1;
  *out = v;
  return k;
}

/* --- the check --- */

typedef void (*mode_fn)(dns_check *dc);
static const mode_fn modes[] = {
    [PP_DNSC_QUERY] = dns_query_start,  [PP_DNSC_NS] = dns_ns_start,
    [PP_DNSC_DNSBL] = dns_bl_start,     [PP_DNSC_SPF] = dns_mail_start,
    [PP_DNSC_DMARC] = dns_mail_start,   [PP_DNSC_MTA_STS] = dns_mail_start,
    [PP_DNSC_TLS_RPT] = dns_mail_start, [PP_DNSC_DANE] = dns_dane_start,
};

static uint16_t server_port(const pp_target *t) {
  if (t->opts->transport == PP_DNS_TLS && !t->port_given)
    return 853;
  return t->port;
}

static void begin(dns_check *dc, const pp_sockaddr *server) {
  dc->server = *server;
  uint16_t port = htons(server_port(dc->t));
  if (dc->server.sa.sa_family == AF_INET6)
    dc->server.in6.sin6_port = port;
  else
    dc->server.in.sin_port = port;
  pp_format_address(&server->sa, dc->c->res->address,
                    sizeof(dc->c->res->address));
  dc->c->res->port = server_port(dc->t);
  modes[dc->t->opts->dns_check](dc);
}

static void after_resolve(pp_check *c) {
  pp_sockaddr sa;
  memset(&sa, 0, sizeof(sa));
  memcpy(&sa, &c->addr, c->addrlen <= sizeof(sa) ? c->addrlen : sizeof(sa));
  begin(c->priv, &sa);
}

static void dns_start(pp_check *c) {
  dns_check *dc = calloc(1, sizeof(*dc));
  dns_engine *de = engine_state(c->engine);
  if (dc == NULL || de == NULL) {
    free(dc);
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  dc->c = c;
  dc->t = c->target;
  dc->pl = c->target->check_data;
  dc->de = de;
  c->priv = dc;
  if (dc->pl->system) {
    begin(dc, &dc->pl->system_server);
    return;
  }
  pp_check_resolve(c, after_resolve);
}

static void dns_cleanup(pp_check *c) {
  dns_check *dc = c->priv;
  if (dc == NULL)
    return;
  dnsx_cancel_all(dc);
  if (dc->mode_free)
    dc->mode_free(dc);
  dns_dnssec_free(dc);
  free(dc);
  c->priv = NULL;
}

const pp_check_ops pp_dns_ops = {
    .name = "dns",
    .applies = PP_APPLY_DNS | PP_APPLY_TLS,
    .validate = validate,
    .prepare = plan_new,
    .data_free = plan_free,
    .start = dns_start,
    .cleanup = dns_cleanup,
    .engine_free = dns_engine_free,
};
