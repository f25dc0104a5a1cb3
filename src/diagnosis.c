/* Host diagnosis from one ICMP record and the host's port records. A port
 * that refuses or speaks wrongly proves the host alive; one that times out
 * or is unreachable proves nothing. */
#include "diagnosis.h"
#include "text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const names[PP_DIAG_COUNT] = {
    [PP_DIAG_OK] = "ok",
    [PP_DIAG_HOST_DOWN] = "host_down",
    [PP_DIAG_SERVICE_DOWN] = "service_down",
    [PP_DIAG_DEGRADED] = "degraded",
    [PP_DIAG_ICMP_FILTERED] = "icmp_filtered",
    [PP_DIAG_UNKNOWN] = "unknown",
    [PP_DIAG_DNS_FAILED] = "dns_failed",
};

const char *pp_diagnosis_name(pp_diagnosis d) {
  return (unsigned)d < PP_DIAG_COUNT ? names[d] : "unknown";
}

/* A local failure says nothing about the host. */
static bool measured(const pp_result *r) {
  return r != NULL && r->code != PP_R_SOCKET_ERROR &&
         r->code != PP_R_UNSUPPORTED;
}

/* Silence: no packet from the host came back. */
static bool silent(const pp_result *r) {
  return r->code == PP_R_TIMEOUT || r->code == PP_R_UNREACHABLE ||
         r->code == PP_R_DNS_FAILED || r->code == PP_R_NO_REPLY;
}

/* Milliseconds: two decimals below 10 ms, whole numbers above. */
static void put_ms(pp_text *o, const char *what, double s) {
  double ms = s * 1000;
  pp_text_add(o, ", %s %.*f ms", what, ms < 10 ? 2 : 0, ms);
}

static void put_ping(pp_text *o, const pp_result *r) {
  if (r->up) {
    pp_text_add(o, "ping %.0f%% loss", r->loss_pct);
    if (r->rtt_avg >= 0)
      put_ms(o, "rtt", r->rtt_avg);
    if (r->jitter >= 0)
      put_ms(o, "jitter", r->jitter);
    if (r->quality != PP_GRADE_NONE)
      pp_text_add(o, ", quality %s", pp_grade_name(r->quality));
  } else if (r->code == PP_R_NO_REPLY) {
    pp_text_add(o, "no echo reply");
  } else {
    char s[64];
    pp_result_summary(r, s, sizeof(s));
    pp_text_add(o, "ping %s", s);
    if (r->detail[0])
      pp_text_add(o, " (%s)", r->detail);
  }
}

static void put_failed_ports(pp_text *o, const pp_diag_input *ports, size_t n) {
  const char *sep = "";
  for (size_t i = 0; i < n; i++) {
    const pp_result *r = ports[i].result;
    if (!measured(r) || r->up)
      continue;
    char s[64];
    pp_result_summary(r, s, sizeof(s));
    if (ports[i].target)
      pp_text_add(o, "%s%s %s", sep, pp_target_name(ports[i].target), s);
    else
      pp_text_add(o, "%sport %u %s", sep, (unsigned)r->port, s);
    sep = ", ";
  }
}

/* Every measured record failed to resolve the name: the first one's words
 * ("mail.example: no such name"), else NULL. */
static const pp_result *name_unresolved(const pp_diag_input *icmp,
                                        const pp_diag_input *ports, size_t n) {
  const pp_result *first = NULL;
  size_t seen = 0;
  for (size_t i = 0; i <= n; i++) {
    const pp_result *r = i < n ? ports[i].result : icmp ? icmp->result : NULL;
    if (!measured(r))
      continue;
    if (r->code != PP_R_DNS_FAILED)
      return NULL;
    first = first ? first : r;
    seen++;
  }
  return seen > 0 ? first : NULL;
}

/* The ports of a host, counted by what they prove. */
typedef struct {
  const pp_diag_input *ports;
  size_t n;
  size_t up, alive, quiet, measured;
} port_counts;

static port_counts count_ports(const pp_diag_input *ports, size_t n) {
  port_counts c = {ports, n, 0, 0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    const pp_result *r = ports[i].result;
    if (!measured(r))
      continue;
    if (r->up)
      c.up++;
    else if (silent(r))
      c.quiet++;
    else
      c.alive++; /* refused, reset, TLS or protocol failure: the host spoke */
  }
  c.measured = c.up + c.alive + c.quiet;
  return c;
}

/* The host answers ping: its ports tell service down, degraded or ok. */
static pp_diagnosis with_ping(pp_text *o, const pp_result *ping,
                              const port_counts *c) {
  if (c->alive > 0 || (c->quiet > 0 && ping->quality < PP_GRADE_BAD)) {
    pp_text_add(o, "service down: ");
    put_failed_ports(o, c->ports, c->n);
    pp_text_add(o, "; host up: ");
    put_ping(o, ping);
    return PP_DIAG_SERVICE_DOWN;
  }
  if (ping->quality >= PP_GRADE_WARNING || c->quiet > 0) {
    /* a bad path explains ports that time out */
    pp_text_add(o, "degraded: ");
    put_ping(o, ping);
    if (c->quiet > 0) {
      pp_text_add(o, "; ");
      put_failed_ports(o, c->ports, c->n);
    }
    return PP_DIAG_DEGRADED;
  }
  pp_text_add(o, "host up: ");
  put_ping(o, ping);
  if (c->measured > 0)
    pp_text_add(o, "; %zu of %zu ports up", c->up, c->measured);
  return PP_DIAG_OK;
}

/* No echo reply (or no ping at all), but some port answered. */
static pp_diagnosis ports_answer(pp_text *o, const pp_result *ping,
                                 const port_counts *c) {
  if (c->up == c->measured) {
    pp_text_add(o, "ICMP filtered: ");
    put_ping(o, ping);
    pp_text_add(o, ", %zu of %zu ports up", c->up, c->measured);
    return PP_DIAG_ICMP_FILTERED;
  }
  pp_text_add(o, "service down: ");
  put_failed_ports(o, c->ports, c->n);
  pp_text_add(o, "; host alive: ");
  if (ping) {
    put_ping(o, ping);
    pp_text_add(o, " (ICMP filtered), ");
  }
  pp_text_add(o, "%zu of %zu ports up", c->up, c->measured);
  return PP_DIAG_SERVICE_DOWN;
}

pp_diagnosis pp_diagnose(const pp_diag_input *icmp, const pp_diag_input *ports,
                         size_t n, char *text, size_t len) {
  pp_text o = {text, len, 0};
  if (text && len)
    text[0] = 0;
  const pp_result *unresolved = name_unresolved(icmp, ports, n);
  if (unresolved != NULL) {
    pp_text_add(&o, "name does not resolve: %s", unresolved->detail);
    return PP_DIAG_DNS_FAILED;
  }
  port_counts c = count_ports(ports, n);
  const pp_result *ping = icmp && measured(icmp->result) ? icmp->result : NULL;
  if (ping && ping->up)
    return with_ping(&o, ping, &c);
  if (ping == NULL && c.measured == 0) {
    pp_text_add(&o, "nothing measured");
    if (icmp && icmp->result && icmp->result->detail[0])
      pp_text_add(&o, ": %s", icmp->result->detail);
    return PP_DIAG_UNKNOWN;
  }
  if (ping == NULL && c.up == c.measured) {
    pp_text_add(&o, "host up: %zu of %zu ports up (no ping)", c.up, c.measured);
    return PP_DIAG_OK;
  }
  if (c.up > 0 || c.alive > 0) /* the host answers on its ports */
    return ports_answer(&o, ping, &c);
  pp_text_add(&o, "host down: ");
  if (ping) {
    put_ping(&o, ping);
    pp_text_add(&o, c.measured ? ", " : "");
  }
  if (c.measured == 1)
    put_failed_ports(&o, ports, n);
  else if (c.measured > 1)
    pp_text_add(&o, "no port of %zu answers", c.measured);
  return PP_DIAG_HOST_DOWN;
}
