/* dns_check=ns_consistency: the zone's NS set from the server, each name
 * server's addresses (glue, else asked), then the SOA asked of every one of
 * them without recursion: each serial reported, whether they agree, and a
 * server that is silent or lame (not authoritative, refusing) named. The
 * servers are asked on the URL's port. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NS 16

typedef enum { NS_WAIT, NS_SERIAL, NS_SILENT, NS_LAME } ns_state;

typedef struct {
  char name[80];
  pp_sockaddr addr;
  bool have_addr;
  ns_state st;
  uint32_t serial;
  char why[64];
} ns_server;

typedef struct {
  ns_server s[MAX_NS];
  int n;
} ns_check;

static void ns_free(dns_check *dc) {
  free(dc->mode);
  dc->mode = NULL;
}

static void set_port(pp_sockaddr *a, uint16_t port_net) {
  if (a->sa.sa_family == AF_INET6)
    a->in6.sin6_port = port_net;
  else
    a->in.sin_port = port_net;
}

static uint16_t server_port_net(const dns_check *dc) {
  return dc->server.sa.sa_family == AF_INET6 ? dc->server.in6.sin6_port
                                             : dc->server.in.sin_port;
}

/* An A or AAAA record as a socket address on the check's port. */
static bool rr_addr(const dns_check *dc, const ldns_rr *rr, pp_sockaddr *out) {
  int fam = dc->t->opts->address_family;
  ldns_rr_type ty = ldns_rr_get_type(rr);
  if ((ty != LDNS_RR_TYPE_A && ty != LDNS_RR_TYPE_AAAA) ||
      (ty == LDNS_RR_TYPE_A && fam == PP_AF_IPV6) ||
      (ty == LDNS_RR_TYPE_AAAA && fam == PP_AF_IPV4))
    return false;
  size_t size = 0;
  struct sockaddr_storage *ss =
      ldns_rdf2native_sockaddr_storage(ldns_rr_rdf(rr, 0), 0, &size);
  if (ss == NULL || size > sizeof(*out)) {
    free(ss);
    return false;
  }
  memset(out, 0, sizeof(*out));
  memcpy(out, ss, size);
  free(ss);
  set_port(out, server_port_net(dc));
  return true;
}

static void report(dns_check *dc) {
  ns_check *ns = dc->mode;
  pp_result *r = dc->c->res;
  char *dinfo = pp_check_dns_info(dc->c);
  size_t used = 0;
  int bad = -1, answered = 0;
  bool agree = true;
  uint32_t first = 0, lo = 0, hi = 0;
  for (int i = 0; i < ns->n; i++) {
    ns_server *s = &ns->s[i];
    char addr[48] = "-", what[32];
    if (s->have_addr)
      pp_format_address(&s->addr.sa, addr, sizeof(addr));
    if (s->st == NS_SERIAL) {
      snprintf(what, sizeof(what), "%u", s->serial);
      if (answered++ == 0)
        first = lo = hi = s->serial;
      agree = agree && s->serial == first;
      lo = s->serial < lo ? s->serial : lo;
      hi = s->serial > hi ? s->serial : hi;
    } else {
      snprintf(what, sizeof(what), "%s",
               s->st == NS_SILENT ? "silent" : "lame");
      if (bad < 0)
        bad = i;
    }
    int w = snprintf(dinfo + used, PP_DETAIL_MAX - used, "%s%s %s %s",
                     i ? "; " : "", s->name, addr, what);
    if (w > 0 && used + (size_t)w < PP_DETAIL_MAX)
      used += (size_t)w;
  }
  r->dns_count = ns->n;
  r->dns_answers = answered;
  if (bad >= 0) {
    ns_server *s = &ns->s[bad];
    pp_check_finish(dc->c, PP_R_NS_LAME, "%s %s: %s (%d of %d servers answer)",
                    s->name, s->st == NS_SILENT ? "is silent" : "is lame",
                    s->why, answered, ns->n);
  } else if (!agree) {
    pp_check_finish(dc->c, PP_R_NS_MISMATCH,
                    "the %d servers disagree on the serial (%u to %u)", ns->n,
                    lo, hi);
  } else {
    pp_check_finish(dc->c, PP_R_OK, "%d servers agree on serial %u", ns->n,
                    first);
  }
}

static void on_soa(dns_check *dc, void *ud, const dnsx_result *r) {
  ns_check *ns = dc->mode;
  ns_server *s = &ns->s[(intptr_t)ud];
  if (r->status == DNSX_TIMEOUT) {
    s->st = NS_SILENT;
    snprintf(s->why, sizeof(s->why), "no answer within %.3gs", r->secs);
  } else if (r->status != DNSX_OK) {
    s->st = NS_LAME;
    snprintf(s->why, sizeof(s->why), "%s",
             r->status == DNSX_ERRNO ? strerror(r->err) : r->why);
  } else {
    ldns_rr_list *soa =
        ldns_pkt_rr_list_by_type(r->pkt, LDNS_RR_TYPE_SOA, LDNS_SECTION_ANSWER);
    int rc = ldns_pkt_get_rcode(r->pkt);
    if (rc != LDNS_RCODE_NOERROR || !ldns_pkt_aa(r->pkt) || soa == NULL) {
      s->st = NS_LAME;
      snprintf(s->why, sizeof(s->why), "%s%s", dns_rcode_words(rc),
               rc == LDNS_RCODE_NOERROR ? ", not authoritative" : "");
    } else {
      s->st = NS_SERIAL;
      s->serial =
          ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(soa, 0), 2));
    }
    ldns_rr_list_deep_free(soa);
    ldns_pkt_free(r->pkt);
  }
  if (--dc->pending == 0)
    report(dc);
}

static void ask_soas(dns_check *dc) {
  ns_check *ns = dc->mode;
  uint64_t due = dns_sub_deadline(dc);
  dc->pending = 1; /* until every query is out */
  for (int i = 0; i < ns->n; i++) {
    ns_server *s = &ns->s[i];
    if (!s->have_addr) {
      s->st = NS_LAME;
      snprintf(s->why, sizeof(s->why), "no address");
      continue;
    }
    ldns_pkt *q = dns_query_new(dc, dc->pl->qname, LDNS_RR_TYPE_SOA, false);
    dnsx_opts xo = {.server = &s->addr,
                    .transport = dc->t->opts->transport == PP_DNS_TCP
                                     ? PP_DNS_TCP
                                     : PP_DNS_UDP,
                    .deadline_us = due};
    dc->pending++; /* before: a failure may call back at once */
    if (q == NULL || dnsx_send(dc, &xo, q, on_soa, (void *)(intptr_t)i) != 0) {
      dc->pending--;
      s->st = NS_LAME;
      snprintf(s->why, sizeof(s->why), "cannot send the query");
    }
    if (q)
      ldns_pkt_free(q);
  }
  if (--dc->pending == 0)
    report(dc);
}

static void on_addr(dns_check *dc, void *ud, const dnsx_result *r) {
  ns_check *ns = dc->mode;
  ns_server *s = &ns->s[(intptr_t)ud];
  if (r->status == DNSX_OK) {
    ldns_rr_list *a = ldns_pkt_answer(r->pkt);
    for (size_t i = 0; i < ldns_rr_list_rr_count(a) && !s->have_addr; i++)
      s->have_addr = rr_addr(dc, ldns_rr_list_rr(a, i), &s->addr);
    ldns_pkt_free(r->pkt);
  }
  if (--dc->pending == 0)
    ask_soas(dc);
}

/* The NS names, each with its glue address if the answer has one. */
static int read_ns(dns_check *dc, ldns_pkt *pkt, ns_check *ns) {
  ldns_rr_list *ans = ldns_pkt_answer(pkt), *add = ldns_pkt_additional(pkt);
  for (size_t i = 0; i < ldns_rr_list_rr_count(ans) && ns->n < MAX_NS; i++) {
    const ldns_rr *rr = ldns_rr_list_rr(ans, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS)
      continue;
    ns_server *s = &ns->s[ns->n++];
    const ldns_rdf *host = ldns_rr_rdf(rr, 0);
    char *name = ldns_rdf2str(host);
    snprintf(s->name, sizeof(s->name), "%s", name ? name : "?");
    free(name);
    for (size_t j = 0; j < ldns_rr_list_rr_count(add) && !s->have_addr; j++) {
      const ldns_rr *g = ldns_rr_list_rr(add, j);
      if (ldns_dname_compare(ldns_rr_owner(g), host) == 0)
        s->have_addr = rr_addr(dc, g, &s->addr);
    }
  }
  return ns->n;
}

static void on_ns(dns_check *dc, void *ud, const dnsx_result *r) {
  (void)ud;
  pp_check *c = dc->c;
  if (r->status != DNSX_OK) {
    dns_fail_exchange(dc, r);
    return;
  }
  int rc = ldns_pkt_get_rcode(r->pkt);
  c->res->dns_rcode = rc;
  ns_check *ns = calloc(1, sizeof(*ns));
  if (rc != LDNS_RCODE_NOERROR || ns == NULL) {
    free(ns);
    ldns_pkt_free(r->pkt);
    pp_check_finish(
        c, rc != LDNS_RCODE_NOERROR ? PP_R_DNS_RCODE : PP_R_SOCKET_ERROR,
        "%s for the NS set of %s", dns_rcode_words(rc), c->target->opts->query);
    return;
  }
  dc->mode = ns;
  dc->mode_free = ns_free;
  int n = read_ns(dc, r->pkt, ns);
  ldns_pkt_free(r->pkt);
  if (n == 0) {
    pp_check_finish(c, PP_R_NO_ANSWER, "no NS records for %s",
                    c->target->opts->query);
    return;
  }
  /* names without glue: their address from the server */
  ldns_rr_type ty = c->target->opts->address_family == PP_AF_IPV6
                        ? LDNS_RR_TYPE_AAAA
                        : LDNS_RR_TYPE_A;
  dc->pending = 1;
  for (int i = 0; i < n; i++) {
    ldns_rdf *name = NULL;
    if (ns->s[i].have_addr ||
        ldns_str2rdf_dname(&name, ns->s[i].name) != LDNS_STATUS_OK)
      continue;
    dc->pending++; /* before: a failure may call back at once */
    int sent = dns_ask(dc, name, ty, false, dns_sub_deadline(dc), on_addr,
                       (void *)(intptr_t)i);
    ldns_rdf_deep_free(name);
    if (sent != 0)
      return; /* the check has ended */
  }
  if (--dc->pending == 0)
    ask_soas(dc);
}

void dns_ns_start(dns_check *dc) {
  dns_ask(dc, dc->pl->qname, LDNS_RR_TYPE_NS, true, 0, on_ns, NULL);
}
