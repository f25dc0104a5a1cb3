/* DNSSEC of a dns check's answer: the signer's DNSKEY and DS sets, the
 * earliest RRSIG expiry over the answer and the DNSKEY set, and the verdict:
 * a validating resolver's AD flag, or portprobe's own validation (ldns's
 * signature checks) along the chain of DS records from a trust anchor down
 * to each signer. A denial's NSEC/NSEC3 records are checked for valid
 * signatures, not for what they prove (docs/dns.md). */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ZONES 8 /* zones of a chain, signers of an answer */

typedef enum { Z_OPEN, Z_SECURE, Z_INSECURE, Z_BOGUS } zstate;

/* What is known of one zone's keys. */
typedef struct {
  ldns_rdf *zone;
  zstate state;
  ldns_rr_list *keys; /* the validated DNSKEY set (Z_SECURE) */
  ldns_rr_list *ds;   /* its validated DS set, while the walk fetches keys */
  char why[160];
} zone_keys;

struct dns_sec {
  const ldns_pkt *answer;
  dns_dnssec_done done;
  ldns_rdf *signer;
  int waiting; /* facts: DNSKEY and DS answers awaited */
  int ndnskey, nds;
  zone_keys z[MAX_ZONES];
  int nz;
  int stack[MAX_ZONES]; /* the walk: zones waiting for their parent */
  int depth;
};

void dns_dnssec_free(dns_check *dc) {
  struct dns_sec *s = dc->sec;
  if (s == NULL)
    return;
  ldns_rdf_deep_free(s->signer);
  for (int i = 0; i < s->nz; i++) {
    ldns_rdf_deep_free(s->z[i].zone);
    ldns_rr_list_deep_free(s->z[i].keys);
    ldns_rr_list_deep_free(s->z[i].ds);
  }
  free(s);
  dc->sec = NULL;
}

static void finish(dns_check *dc, pp_result_code code, const char *why) {
  struct dns_sec *s = dc->sec;
  dns_dnssec_done done = s->done;
  done(dc, code, why);
}

/* The section the signatures are in: the answer, or for a denial the
 * authority section. */
static ldns_rr_list *signed_section(const ldns_pkt *p) {
  ldns_rr_list *a = ldns_pkt_answer(p);
  return ldns_rr_list_rr_count(a) > 0 ? a : ldns_pkt_authority(p);
}

static ldns_rr_type covered(const ldns_rr *sig) {
  return ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
}

/* Earliest expiry of the RRSIGs in l, in seconds from now (RFC 4034's
 * serial-number time, so a value past 2106 still compares). */
static void note_expiry(pp_result *r, const ldns_rr_list *l, uint32_t now) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(l, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
        ldns_rr_rrsig_expiration(rr) == NULL)
      continue;
    uint32_t exp = ldns_rdf2native_int32(ldns_rr_rrsig_expiration(rr));
    int64_t left = (int32_t)(exp - now);
    if (!r->rrsig_seen || left < r->rrsig_expiry_s)
      r->rrsig_expiry_s = left;
    r->rrsig_seen = true;
  }
}

static pp_grade grade(int64_t left, const pp_opts *o) {
  if (left * 1000 < o->rrsig_crit_ms)
    return PP_GRADE_CRITICAL;
  if (left * 1000 < o->rrsig_warn_ms)
    return PP_GRADE_WARNING;
  return PP_GRADE_GOOD;
}

/* --- validation against the keys of each signer --- */

static int zone_index(struct dns_sec *s, const ldns_rdf *zone) {
  for (int i = 0; i < s->nz; i++)
    if (ldns_dname_compare(s->z[i].zone, zone) == 0)
      return i;
  return -1;
}

static void walk(dns_check *dc, int zi);
static void verify_answer(dns_check *dc);

/* Verifies each RRset of rrs that has signatures with its signer's keys;
 * starts a walk (and returns 1) for a signer not known yet. 0: done, with
 * the first failure in why (-1). */
static int verify_rrsets(dns_check *dc, const ldns_rr_list *rrs, char *why,
                         size_t len) {
  struct dns_sec *s = dc->sec;
  for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
    ldns_rr *sig = ldns_rr_list_rr(rrs, i);
    if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
      continue;
    const ldns_rdf *signer = ldns_rr_rrsig_signame(sig);
    int zi = zone_index(s, signer);
    if (zi < 0) {
      if (s->nz == MAX_ZONES) {
        snprintf(why, len, "more than %d zones to validate", MAX_ZONES);
        return -1;
      }
      s->z[s->nz].zone = ldns_rdf_clone(signer);
      walk(dc, s->nz++);
      return 1;
    }
    if (s->z[zi].state == Z_OPEN)
      return 1;
    if (s->z[zi].state != Z_SECURE) {
      snprintf(why, len, "%s", s->z[zi].why);
      return s->z[zi].state == Z_INSECURE ? -2 : -1;
    }
    ldns_rr_list *set = ldns_rr_list_new();
    for (size_t j = 0; set && j < ldns_rr_list_rr_count(rrs); j++) {
      ldns_rr *rr = ldns_rr_list_rr(rrs, j);
      if (ldns_rr_get_type(rr) == covered(sig) &&
          ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(sig)) == 0)
        ldns_rr_list_push_rr(set, rr);
    }
    ldns_status st = ldns_verify_rrsig_keylist_time(set, sig, s->z[zi].keys,
                                                    time(NULL), NULL);
    ldns_rr_list_free(set);
    if (st != LDNS_STATUS_OK) {
      char *owner = ldns_rdf2str(ldns_rr_owner(sig));
      snprintf(why, len, "%s %s: %s", owner ? owner : "?",
               ldns_rr_descript(covered(sig))
                   ? ldns_rr_descript(covered(sig))->_name
                   : "?",
               ldns_get_errorstr_by_id(st));
      free(owner);
      return -1;
    }
  }
  return 0;
}

static void verify_answer(dns_check *dc) {
  struct dns_sec *s = dc->sec;
  char why[PP_DETAIL_MAX];
  int rc = verify_rrsets(dc, signed_section(s->answer), why, sizeof(why));
  if (rc == 1)
    return; /* a walk is under way; it calls back */
  pp_result *r = dc->c->res;
  bool require = dc->t->opts->dnssec == PP_DNSSEC_REQUIRE;
  r->dnssec = rc == 0    ? PP_DNSSEC_SECURE
              : rc == -2 ? PP_DNSSEC_INSECURE
                         : PP_DNSSEC_BOGUS;
  if (rc == 0 || !require)
    finish(dc, PP_R_OK, NULL);
  else
    finish(dc, rc == -2 ? PP_R_DNSSEC_INSECURE : PP_R_DNSSEC_BOGUS, why);
}

/* --- the walk: a zone's keys, from the trust anchor or its parent's DS --- */

static void zone_done(dns_check *dc, int zi, zstate st, const char *why) {
  struct dns_sec *s = dc->sec;
  s->z[zi].state = st;
  if (why)
    snprintf(s->z[zi].why, sizeof(s->z[zi].why), "%s", why);
  if (s->depth > 0) { /* a child waited for this zone's keys */
    walk(dc, s->stack[--s->depth]);
    return;
  }
  verify_answer(dc);
}

/* Records of type in l owned by zone. NULL when there are none. */
static ldns_rr_list *records(const ldns_rr_list *l, const ldns_rdf *zone,
                             ldns_rr_type type) {
  ldns_rr_list *out = NULL;
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(l, i);
    if (ldns_rr_get_type(rr) != type ||
        ldns_dname_compare(ldns_rr_owner(rr), zone) != 0)
      continue;
    if (out == NULL && (out = ldns_rr_list_new()) == NULL)
      return NULL;
    ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
  }
  return out;
}

/* Keys of the set that an anchor or a DS record vouches for. */
static ldns_rr_list *vouched(const ldns_rr_list *keys, const ldns_rr_list *by) {
  ldns_rr_list *out = ldns_rr_list_new();
  for (size_t i = 0; out && i < ldns_rr_list_rr_count(keys); i++) {
    ldns_rr *k = ldns_rr_list_rr(keys, i);
    for (size_t j = 0; j < ldns_rr_list_rr_count(by); j++) {
      const ldns_rr *a = ldns_rr_list_rr(by, j);
      bool same = ldns_rr_get_type(a) == LDNS_RR_TYPE_DNSKEY
                      ? ldns_rr_compare(a, k) == 0
                      : ldns_rr_compare_ds(a, k);
      if (same) {
        ldns_rr_list_push_rr(out, k);
        break;
      }
    }
  }
  return out;
}

static void on_dnskey(dns_check *dc, void *ud, const dnsx_result *r) {
  struct dns_sec *s = dc->sec;
  int zi = (int)(intptr_t)ud;
  zone_keys *z = &s->z[zi];
  if (r->status != DNSX_OK) {
    zone_done(dc, zi, Z_BOGUS, "no answer to the DNSKEY query");
    return;
  }
  ldns_rr_list *sec = ldns_pkt_answer(r->pkt);
  ldns_rr_list *keys = records(sec, z->zone, LDNS_RR_TYPE_DNSKEY);
  const ldns_rr_list *by =
      z->ds ? z->ds : records(dc->pl->anchors, z->zone, LDNS_RR_TYPE_DS);
  ldns_rr_list *anchor_keys =
      z->ds ? NULL : records(dc->pl->anchors, z->zone, LDNS_RR_TYPE_DNSKEY);
  ldns_rr_list *trust = keys ? vouched(keys, by ? by : anchor_keys) : NULL;
  ldns_status st = LDNS_STATUS_CRYPTO_NO_TRUSTED_DNSKEY;
  for (size_t i = 0; trust && ldns_rr_list_rr_count(trust) &&
                     i < ldns_rr_list_rr_count(sec) && st != LDNS_STATUS_OK;
       i++) {
    ldns_rr *sig = ldns_rr_list_rr(sec, i);
    if (ldns_rr_get_type(sig) == LDNS_RR_TYPE_RRSIG &&
        covered(sig) == LDNS_RR_TYPE_DNSKEY)
      st = ldns_verify_rrsig_keylist_time(keys, sig, trust, time(NULL), NULL);
  }
  if (!z->ds)
    ldns_rr_list_deep_free((ldns_rr_list *)by);
  ldns_rr_list_deep_free(anchor_keys);
  ldns_rr_list_free(trust);
  ldns_pkt_free(r->pkt);
  char why[160];
  char *zone = ldns_rdf2str(z->zone);
  if (st != LDNS_STATUS_OK) {
    snprintf(why, sizeof(why), "DNSKEY %s: %s", zone ? zone : "?",
             keys ? ldns_get_errorstr_by_id(st) : "no DNSKEY records");
    free(zone);
    ldns_rr_list_deep_free(keys);
    zone_done(dc, zi, Z_BOGUS, why);
    return;
  }
  free(zone);
  z->keys = keys;
  zone_done(dc, zi, Z_SECURE, NULL);
}

static void ask_dnskey(dns_check *dc, int zi) {
  dns_ask(dc, dc->sec->z[zi].zone, LDNS_RR_TYPE_DNSKEY, false,
          dns_sub_deadline(dc), on_dnskey, (void *)(intptr_t)zi);
}

static void on_ds(dns_check *dc, void *ud, const dnsx_result *r);

/* The next step for zone zi: its keys from an anchor, or its DS set first
 * (whose signer, the parent, needs keys of its own). */
static void walk(dns_check *dc, int zi) {
  struct dns_sec *s = dc->sec;
  zone_keys *z = &s->z[zi];
  if (ldns_rr_list_rr_count(dc->pl->anchors) > 0) {
    ldns_rr_list *mine = records(dc->pl->anchors, z->zone, LDNS_RR_TYPE_DS);
    if (mine == NULL)
      mine = records(dc->pl->anchors, z->zone, LDNS_RR_TYPE_DNSKEY);
    if (mine != NULL) {
      ldns_rr_list_deep_free(mine);
      ask_dnskey(dc, zi);
      return;
    }
  }
  if (z->ds != NULL) { /* the parent's keys are known now */
    ask_dnskey(dc, zi);
    return;
  }
  if (ldns_dname_label_count(z->zone) == 0) {
    zone_done(dc, zi, Z_INSECURE, "no trust anchor covers the answer's zone");
    return;
  }
  dns_ask(dc, z->zone, LDNS_RR_TYPE_DS, false, dns_sub_deadline(dc), on_ds,
          (void *)(intptr_t)zi);
}

/* A DS set: verified with the parent's keys, fetched first if need be. */
static void on_ds(dns_check *dc, void *ud, const dnsx_result *r) {
  struct dns_sec *s = dc->sec;
  int zi = (int)(intptr_t)ud;
  zone_keys *z = &s->z[zi];
  if (r->status != DNSX_OK) {
    zone_done(dc, zi, Z_BOGUS, "no answer to the DS query");
    return;
  }
  ldns_rr_list *sec = ldns_pkt_answer(r->pkt);
  ldns_rr_list *ds = records(sec, z->zone, LDNS_RR_TYPE_DS);
  const ldns_rr *sig = NULL;
  for (size_t i = 0; i < ldns_rr_list_rr_count(sec) && !sig; i++)
    if (ldns_rr_get_type(ldns_rr_list_rr(sec, i)) == LDNS_RR_TYPE_RRSIG &&
        covered(ldns_rr_list_rr(sec, i)) == LDNS_RR_TYPE_DS)
      sig = ldns_rr_list_rr(sec, i);
  char *zone = ldns_rdf2str(z->zone);
  char why[160];
  snprintf(why, sizeof(why), "%s: %s", zone ? zone : "?",
           ds == NULL ? "no DS record at its parent (an insecure delegation)"
                      : "its DS set is not signed");
  free(zone);
  if (ds == NULL || sig == NULL) {
    ldns_rr_list_deep_free(ds);
    ldns_pkt_free(r->pkt);
    zone_done(dc, zi, ds == NULL ? Z_INSECURE : Z_BOGUS, why);
    return;
  }
  const ldns_rdf *parent = ldns_rr_rrsig_signame(sig);
  int pi = zone_index(s, parent);
  if (pi < 0 && s->nz < MAX_ZONES && s->depth < MAX_ZONES &&
      ldns_dname_is_subdomain(z->zone, parent)) {
    /* the parent's keys first, then back here */
    pi = s->nz++;
    s->z[pi].zone = ldns_rdf_clone(parent);
    ldns_rr_list_deep_free(ds);
    ldns_pkt_free(r->pkt);
    s->stack[s->depth++] = zi;
    walk(dc, pi);
    return;
  }
  ldns_status st = pi >= 0 && s->z[pi].state == Z_SECURE
                       ? ldns_verify_rrsig_keylist_time(ds, sig, s->z[pi].keys,
                                                        time(NULL), NULL)
                       : LDNS_STATUS_CRYPTO_NO_TRUSTED_DNSKEY;
  ldns_pkt_free(r->pkt);
  if (st != LDNS_STATUS_OK) {
    ldns_rr_list_deep_free(ds);
    snprintf(why, sizeof(why), "DS: %s",
             pi >= 0 && s->z[pi].state != Z_SECURE
                 ? s->z[pi].why
                 : ldns_get_errorstr_by_id(st));
    zone_done(dc, zi,
              pi >= 0 && s->z[pi].state == Z_INSECURE ? Z_INSECURE : Z_BOGUS,
              why);
    return;
  }
  z->ds = ds;
  ask_dnskey(dc, zi);
}

/* --- the facts, then the verdict --- */

static void verdict(dns_check *dc) {
  struct dns_sec *s = dc->sec;
  pp_result *r = dc->c->res;
  const pp_opts *o = dc->t->opts;
  if (r->rrsig_seen)
    r->rrsig_grade = grade(r->rrsig_expiry_s, o);
  char *signer = ldns_rdf2str(s->signer);
  char *dinfo = pp_check_dns_info(dc->c);
  size_t used = strlen(dinfo);
  snprintf(dinfo + used, PP_DETAIL_MAX - used, "%ssigner %s, %d DNSKEY, %d DS",
           used ? "; " : "", signer ? signer : "?", s->ndnskey, s->nds);
  free(signer);
  if (dc->pl->anchors != NULL) {
    verify_answer(dc);
    return;
  }
  bool ad = ldns_pkt_ad(s->answer);
  r->dnssec = ad ? PP_DNSSEC_SECURE : PP_DNSSEC_SIGNED;
  if (o->dnssec == PP_DNSSEC_REQUIRE && !ad) {
    r->dnssec = PP_DNSSEC_INSECURE;
    finish(dc, PP_R_DNSSEC_INSECURE,
           "signed, but the AD flag is clear: the server did not validate "
           "(ask a validating resolver, or set trust_anchor)");
    return;
  }
  finish(dc, PP_R_OK, NULL);
}

static void on_fact(dns_check *dc, void *ud, const dnsx_result *r) {
  struct dns_sec *s = dc->sec;
  ldns_rr_type type = (ldns_rr_type)(intptr_t)ud;
  if (r->status == DNSX_OK) {
    ldns_rr_list *a = ldns_pkt_answer(r->pkt);
    int n = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++)
      n += ldns_rr_get_type(ldns_rr_list_rr(a, i)) == type;
    if (type == LDNS_RR_TYPE_DNSKEY) {
      s->ndnskey = n;
      dc->c->res->dns_dnskeys = n;
      note_expiry(dc->c->res, a, (uint32_t)time(NULL));
    } else {
      s->nds = n;
      dc->c->res->dns_ds = n;
    }
    ldns_pkt_free(r->pkt);
  }
  if (--s->waiting == 0)
    verdict(dc);
}

void dns_dnssec_judge(dns_check *dc, const ldns_pkt *answer,
                      dns_dnssec_done done) {
  struct dns_sec *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    done(dc, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  dc->sec = s;
  s->answer = answer;
  s->done = done;
  pp_result *r = dc->c->res;
  const ldns_rr_list *sec = signed_section(answer);
  note_expiry(r, sec, (uint32_t)time(NULL));
  for (size_t i = 0; i < ldns_rr_list_rr_count(sec) && !s->signer; i++)
    if (ldns_rr_get_type(ldns_rr_list_rr(sec, i)) == LDNS_RR_TYPE_RRSIG)
      s->signer =
          ldns_rdf_clone(ldns_rr_rrsig_signame(ldns_rr_list_rr(sec, i)));
  if (s->signer == NULL) {
    bool ad = ldns_pkt_ad(answer);
    r->dnssec = ad ? PP_DNSSEC_SECURE : PP_DNSSEC_INSECURE;
    if (dc->t->opts->dnssec == PP_DNSSEC_REQUIRE && (!ad || dc->pl->anchors))
      done(dc, PP_R_DNSSEC_INSECURE, "the answer carries no RRSIG");
    else
      done(dc, PP_R_OK, NULL);
    return;
  }
  /* the signer's DNSKEY set (its signatures' expiry) and DS set */
  s->waiting = 2;
  uint64_t due = dns_sub_deadline(dc);
  if (dns_ask(dc, s->signer, LDNS_RR_TYPE_DNSKEY, false, due, on_fact,
              (void *)(intptr_t)LDNS_RR_TYPE_DNSKEY) == 0)
    dns_ask(dc, s->signer, LDNS_RR_TYPE_DS, false, due, on_fact,
            (void *)(intptr_t)LDNS_RR_TYPE_DS);
}
