/* dns_check=dnsbl: the query (an address, reversed as RFC 5782 says, IPv6
 * by nibbles, or a name for domain lists) looked up in every dnsbl_zone at
 * once; a listing's A record and its TXT reason are reported. */
#include "dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ZONES 16

typedef struct {
  const char *zone;
  ldns_rdf *name;
  bool answered, listed;
  char code[48];   /* the listing's A record: 127.0.0.2 */
  char reason[96]; /* its TXT */
  char why[48];    /* a zone that did not answer */
} bl_zone;

typedef struct {
  bl_zone z[MAX_ZONES];
  int n;
} bl_check;

static void bl_free(dns_check *dc) {
  bl_check *b = dc->mode;
  for (int i = 0; b && i < b->n; i++)
    ldns_rdf_deep_free(b->z[i].name);
  free(b);
  dc->mode = NULL;
}

static void report(dns_check *dc) {
  bl_check *b = dc->mode;
  pp_result *r = dc->c->res;
  char *dinfo = pp_check_dns_info(dc->c);
  int listed = 0, silent = 0;
  size_t used = 0;
  for (int i = 0; i < b->n; i++) {
    bl_zone *z = &b->z[i];
    listed += z->listed;
    silent += !z->answered;
    if (!z->listed && z->answered)
      continue;
    int w = z->listed
                ? snprintf(dinfo + used, PP_DETAIL_MAX - used, "%s%s %s \"%s\"",
                           used ? "; " : "", z->zone, z->code, z->reason)
                : snprintf(dinfo + used, PP_DETAIL_MAX - used, "%s%s: %s",
                           used ? "; " : "", z->zone, z->why);
    if (w > 0 && used + (size_t)w < PP_DETAIL_MAX)
      used += (size_t)w;
  }
  r->dns_count = listed;
  const char *q = dc->t->opts->query;
  if (listed > 0)
    pp_check_finish(dc->c, PP_R_DNSBL_LISTED, "%s is listed on %d of %d zones",
                    q, listed, b->n);
  else if (silent == b->n)
    pp_check_finish(dc->c, PP_R_TIMEOUT, "no blocklist zone answered: %s",
                    dinfo);
  else
    pp_check_finish(dc->c, PP_R_OK, "%s is listed on none of %d zones%s", q,
                    b->n - silent, silent ? " that answered" : "");
}

static void on_txt(dns_check *dc, void *ud, const dnsx_result *r) {
  bl_zone *z = &((bl_check *)dc->mode)->z[(intptr_t)ud];
  if (r->status == DNSX_OK) {
    char **txt;
    int n = dns_txt_strings(r->pkt, &txt);
    if (n > 0)
      snprintf(z->reason, sizeof(z->reason), "%s", txt[0]);
    if (n >= 0)
      dns_strings_free(txt, n);
    ldns_pkt_free(r->pkt);
  }
  if (--dc->pending == 0)
    report(dc);
}

static void on_a(dns_check *dc, void *ud, const dnsx_result *r) {
  int i = (int)(intptr_t)ud;
  bl_zone *z = &((bl_check *)dc->mode)->z[i];
  if (r->status != DNSX_OK) {
    snprintf(z->why, sizeof(z->why), "%s",
             r->status == DNSX_TIMEOUT ? "no answer"
             : r->why                  ? r->why
                                       : "failed");
  } else {
    int rc = ldns_pkt_get_rcode(r->pkt);
    ldns_rr_list *a =
        ldns_pkt_rr_list_by_type(r->pkt, LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER);
    z->answered = rc == LDNS_RCODE_NOERROR || rc == LDNS_RCODE_NXDOMAIN;
    if (!z->answered)
      snprintf(z->why, sizeof(z->why), "%s", dns_rcode_words(rc));
    if (rc == LDNS_RCODE_NOERROR && a != NULL) {
      z->listed = true;
      char *code = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(a, 0), 0));
      snprintf(z->code, sizeof(z->code), "%s", code ? code : "?");
      free(code);
    }
    ldns_rr_list_deep_free(a);
    ldns_pkt_free(r->pkt);
    if (z->listed) { /* the reason, from the TXT record of the same name;
                        on_txt counts this zone done */
      dns_ask(dc, z->name, LDNS_RR_TYPE_TXT, false, dns_sub_deadline(dc),
              on_txt, ud);
      return;
    }
  }
  if (--dc->pending == 0)
    report(dc);
}

void dns_bl_start(dns_check *dc) {
  const pp_strlist *zones = &dc->t->opts->dnsbl_zones;
  bl_check *b = calloc(1, sizeof(*b));
  if (b == NULL) {
    pp_check_finish(dc->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  dc->mode = b;
  dc->mode_free = bl_free;
  pp_check_phase(dc->c, PP_PHASE_QUERY);
  dc->pending = 1; /* until every query is out */
  for (size_t i = 0; i < zones->n && b->n < MAX_ZONES; i++) {
    bl_zone *z = &b->z[b->n];
    char name[512];
    snprintf(name, sizeof(name), "%s%s", dc->pl->bl_name, zones->items[i]);
    z->zone = zones->items[i];
    if (ldns_str2rdf_dname(&z->name, name) != LDNS_STATUS_OK) {
      pp_check_finish(dc->c, PP_R_SOCKET_ERROR,
                      "dnsbl_zone \"%s\": \"%s\" is no domain name",
                      zones->items[i], name);
      return;
    }
    b->n++;
    dc->pending++;
    if (dns_ask(dc, z->name, LDNS_RR_TYPE_A, false, dns_sub_deadline(dc), on_a,
                (void *)(intptr_t)(b->n - 1)) != 0)
      return;
  }
  if (--dc->pending == 0)
    report(dc);
}
