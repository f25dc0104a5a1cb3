/* A result as collectd values. Units follow collectd's habits: seconds for
 * response_time and timeleft, milliseconds and a 0..1 ratio for the ping
 * types (as collectd's ping plugin sends them). */
#include "plugin_values.h"

#include "alert.h"
#include "diagnosis.h"

#include <stdlib.h>
#include <string.h>

static size_t put(ppc_value *out, size_t n, const char *type,
                  const char *instance, double v) {
  if (n < PPC_VALUES_MAX)
    out[n++] = (ppc_value){.type = type, .type_instance = instance, .value = v};
  return n;
}

/* A ping's loss, round-trip times (ms), jitter and grade. */
static size_t ping_values(const pp_result *r, ppc_value *out, size_t n) {
  n = put(out, n, "ping_droprate", "",
          (double)(r->icmp_sent - r->icmp_received) / r->icmp_sent);
  if (r->rtt_avg >= 0)
    n = put(out, n, "ping", "", r->rtt_avg * 1000);
  if (r->rtt_stddev >= 0)
    n = put(out, n, "ping_stddev", "", r->rtt_stddev * 1000);
  if (r->jitter >= 0)
    n = put(out, n, "portprobe_jitter", "", r->jitter * 1000);
  if (r->quality != PP_GRADE_NONE)
    n = put(out, n, "portprobe_quality", "", (double)r->quality);
  return n;
}

/* A DNS check's query time, rcode, counts, DNSSEC status and RRSIG expiry. */
static size_t dns_values(const pp_result *r, ppc_value *out, size_t n) {
  if (r->t_query >= 0)
    n = put(out, n, "response_time", "query", r->t_query);
  if (r->dns_rcode >= 0) {
    n = put(out, n, "portprobe_dns_rcode", "", r->dns_rcode);
    n = put(out, n, "count", "answers", r->dns_answers);
  }
  if (r->dns_count >= 0) /* ns servers, listings, policy or TLSA records */
    n = put(out, n, "count", "found", r->dns_count);
  if (r->dnssec != PP_DNSSEC_UNCHECKED)
    n = put(out, n, "portprobe_dnssec", "", r->dnssec);
  if (r->rrsig_seen)
    n = put(out, n, "timeleft", "rrsig_expiry", (double)r->rrsig_expiry_s);
  return n;
}

size_t ppc_values(const pp_target *t, const pp_result *r,
                  const pp_state_info *st, ppc_value *out) {
  size_t n = 0;
  n = put(out, n, "bool", "up", r->up ? 1 : 0);

  /* A down target has no response time (bool-up says why); the phases it
   * got through still have theirs. */
  if (r->up && r->t_total >= 0)
    n = put(out, n, "response_time", "total", r->t_total);
  if (r->t_dns >= 0)
    n = put(out, n, "response_time", "dns", r->t_dns);
  if (t->kind != PP_KIND_ICMP) {
    if (r->t_connect >= 0)
      n = put(out, n, "response_time", "connect", r->t_connect);
    if (r->t_tls >= 0)
      n = put(out, n, "response_time", "tls", r->t_tls);
    if (r->t_first_byte >= 0)
      n = put(out, n, "response_time", "first_byte", r->t_first_byte);
  }
  if (r->cert_seen)
    n = put(out, n, "timeleft", "cert_expiry", (double)r->cert_expiry_s);
  if (r->chain_seen)
    n = put(out, n, "timeleft", "chain_expiry", (double)r->chain_expiry_s);
  if (r->cert_seen && t->opts->ocsp != PP_OCSP_OPT_NO) {
    n = put(out, n, "portprobe_ocsp", "", (double)r->ocsp_status);
    if (r->ocsp_status != PP_OCSP_NONE)
      n = put(out, n, "timeleft", "ocsp_next_update",
              (double)r->ocsp_next_update_s);
  }
  /* every address or MX host: how many were checked, how many were up */
  if (r->parts != NULL) {
    n = put(out, n, "count", "checked", r->nparts);
    n = put(out, n, "count", "checked_up", r->parts_up);
  }
  /* a mail round trip's legs */
  if (r->t_delivery >= 0)
    n = put(out, n, "response_time", "delivery", r->t_delivery);
  if (r->t_smtp >= 0)
    n = put(out, n, "response_time", "smtp", r->t_smtp);
  if (r->t_fetch >= 0)
    n = put(out, n, "response_time", "fetch", r->t_fetch);
  if (r->http_status > 0)
    n = put(out, n, "portprobe_http_status", "", r->http_status);
  if (r->clock_seen) { /* collectd's ntpd plugin uses time_offset too */
    n = put(out, n, "time_offset", "ntp", r->clock_offset);
    n = put(out, n, "portprobe_stratum", "", r->stratum);
  }

  if (t->kind == PP_KIND_ICMP && r->icmp_sent > 0)
    n = ping_values(r, out, n);
  if (t->kind == PP_KIND_DNS)
    n = dns_values(r, out, n);

  /* flapping: whether it is, and the percent of state changes behind it */
  if (st != NULL) {
    n = put(out, n, "bool", "flapping", st->flapping ? 1 : 0);
    n = put(out, n, "portprobe_flapping", "", st->flap_pct);
  }
  return n;
}
