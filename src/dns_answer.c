/* dns_check=query: one question to the server, and its answer judged: the
 * response code, DNSSEC (dns_dnssec.c), then the records, matched by the
 * expect regexes as one text, the whole answer set at once, so that "one of
 * the addresses is 192.0.2.1" and "the set is exactly these" can be said. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_answer(dns_check *dc) {
  ldns_pkt_free(dc->mode);
  dc->mode = NULL;
}

/* Matches the expects against the answer text: all of them, or any. */
static int match_expects(dns_check *dc, const char *text, size_t *failed) {
  const dns_plan *pl = dc->pl;
  bool any = dc->t->opts->expect_match == PP_MATCH_ANY;
  size_t hits = 0;
  for (size_t i = 0; i < pl->nexpect; i++) {
    int rc = pcre2_match(pl->expect[i], (PCRE2_SPTR)text, strlen(text), 0, 0,
                         dc->de->md, dc->de->mctx);
    if (rc >= 0)
      hits++;
    else if (!any) {
      *failed = i;
      return -1;
    }
  }
  *failed = 0;
  return any && hits == 0 ? -1 : 0;
}

/* The n-th expect as the user wrote it. */
static const char *expect_text(const pp_target *t, size_t n) {
  for (size_t i = 0; i < t->opts->steps.n; i++)
    if (t->opts->steps.items[i].kind == PP_STEP_EXPECT && n-- == 0)
      return t->opts->steps.items[i].text;
  return "?";
}

static void judge_records(dns_check *dc) {
  pp_check *c = dc->c;
  const pp_opts *o = dc->t->opts;
  ldns_pkt *pkt = dc->mode;
  char *text = dns_rrs_text(ldns_pkt_answer(pkt));
  if (text == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  pp_result_set_excerpt(c->res, text, strlen(text));
  size_t failed;
  if (dc->pl->nexpect > 0 && match_expects(dc, text, &failed) != 0) {
    free(text);
    if (o->expect_match == PP_MATCH_ANY)
      pp_check_finish(c, PP_R_EXPECT_MISMATCH,
                      "no expect matches the %d records of the answer",
                      c->res->dns_answers);
    else
      pp_check_finish(c, PP_R_EXPECT_MISMATCH,
                      "the answer set does not match /%.100s/",
                      expect_text(dc->t, failed));
    return;
  }
  free(text);
  if (c->res->dns_answers == 0 && dc->pl->nexpect == 0 &&
      dc->pl->expect_rcode == LDNS_RCODE_NOERROR) {
    pp_check_finish(c, PP_R_NO_ANSWER, "no %s records for %s", o->qtype,
                    o->query);
    return;
  }
  const char *info = pp_result_dns_info(c->res);
  pp_check_finish(c, PP_R_OK, "%d records, lowest TTL %llds%s%s",
                  c->res->dns_answers, (long long)c->res->dns_ttl_min,
                  info[0] ? "; " : "", info);
}

static void after_dnssec(dns_check *dc, pp_result_code code, const char *why) {
  if (code != PP_R_OK) {
    pp_check_finish(dc->c, code, "%s", why);
    return;
  }
  judge_records(dc);
}

/* An extended DNS error about DNSSEC (RFC 8914 codes 1, 2 and 5 to 12). */
static bool dnssec_ede(ldns_pkt *pkt, char *why, size_t len) {
  ldns_edns_option_list *l = ldns_pkt_edns_get_option_list(pkt);
  for (size_t i = 0; l && i < ldns_edns_option_list_get_count(l); i++) {
    ldns_edns_option *e = ldns_edns_option_list_get_option(l, i);
    if (ldns_edns_get_code(e) != LDNS_EDNS_EDE || ldns_edns_get_size(e) < 2)
      continue;
    const uint8_t *d = ldns_edns_get_data(e);
    int info = (d[0] << 8) | d[1];
    if (info == 1 || info == 2 || (info >= 5 && info <= 12)) {
      int n = (int)ldns_edns_get_size(e) - 2;
      snprintf(why, len,
               "the resolver's validation failed: extended error %d%s%.*s",
               info, n > 0 ? ": " : "", n > 100 ? 100 : n, (const char *)d + 2);
      return true;
    }
  }
  return false;
}

static void on_cd_answer(dns_check *dc, void *ud, const dnsx_result *r) {
  (void)ud;
  bool answers =
      r->status == DNSX_OK && ldns_pkt_get_rcode(r->pkt) != LDNS_RCODE_SERVFAIL;
  if (r->status == DNSX_OK)
    ldns_pkt_free(r->pkt);
  dc->c->res->dnssec = answers ? PP_DNSSEC_BOGUS : PP_DNSSEC_UNCHECKED;
  if (answers)
    pp_check_finish(dc->c, PP_R_DNSSEC_BOGUS,
                    "SERVFAIL, but an answer with checking disabled (CD): the "
                    "resolver's DNSSEC validation failed");
  else
    pp_check_finish(dc->c, PP_R_DNS_RCODE, "SERVFAIL (expected %s)",
                    dc->t->opts->expect_rcode);
}

/* SERVFAIL from a validating resolver: bogus data, or a broken server? Its
 * extended error says, else the same question with CD set does. */
static void servfail(dns_check *dc, ldns_pkt *pkt) {
  char why[PP_DETAIL_MAX];
  if (dnssec_ede(pkt, why, sizeof(why))) {
    dc->c->res->dnssec = PP_DNSSEC_BOGUS;
    pp_check_finish(dc->c, PP_R_DNSSEC_BOGUS, "%s", why);
    return;
  }
  ldns_pkt *q =
      dns_query_new(dc, dc->pl->qname, dc->pl->qtype, dc->t->opts->recursion);
  dnsx_opts xo = {.server = &dc->server,
                  .transport = dc->t->opts->transport,
                  .primary = true};
  if (q != NULL)
    ldns_pkt_set_cd(q, true);
  if (q == NULL || dnsx_send(dc, &xo, q, on_cd_answer, NULL) != 0)
    pp_check_finish(dc->c, PP_R_DNS_RCODE, "SERVFAIL (expected %s)",
                    dc->t->opts->expect_rcode);
  if (q)
    ldns_pkt_free(q);
}

static void on_answer(dns_check *dc, void *ud, const dnsx_result *r) {
  (void)ud;
  pp_check *c = dc->c;
  const pp_opts *o = dc->t->opts;
  if (r->status != DNSX_OK) {
    dns_fail_exchange(dc, r);
    return;
  }
  ldns_pkt *pkt = r->pkt;
  int rcode = ldns_pkt_get_rcode(pkt);
  c->res->dns_rcode = rcode;
  c->res->dns_answers =
      dns_count_rrs(ldns_pkt_answer(pkt), &c->res->dns_ttl_min);
  if (r->over_tcp) {
    char *dinfo = pp_check_dns_info(c);
    snprintf(dinfo, PP_DETAIL_MAX, "truncated over UDP, answered over TCP");
  }
  if (rcode != dc->pl->expect_rcode) {
    if (rcode == LDNS_RCODE_SERVFAIL && o->dnssec == PP_DNSSEC_REQUIRE &&
        dc->pl->anchors == NULL)
      servfail(dc, pkt);
    else
      pp_check_finish(c, PP_R_DNS_RCODE, "%s (expected %s)",
                      dns_rcode_words(rcode), o->expect_rcode);
    ldns_pkt_free(pkt);
    return;
  }
  dc->mode = pkt;
  dc->mode_free = free_answer;
  if (o->dnssec == PP_DNSSEC_OFF) {
    judge_records(dc);
    return;
  }
  dns_dnssec_judge(dc, pkt, after_dnssec);
}

void dns_query_start(dns_check *dc) {
  dns_ask(dc, dc->pl->qname, dc->pl->qtype, true, 0, on_answer, NULL);
}
