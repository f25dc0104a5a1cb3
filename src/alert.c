/* Names and words for alerts, and the helpers state.c builds them with. */
#include "alert.h"
#include "alert_build.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *pp_severity_name(pp_severity s) {
  switch (s) {
  case PP_SEV_OKAY:
    return "okay";
  case PP_SEV_WARNING:
    return "warning";
  case PP_SEV_FAILURE:
    return "failure";
  }
  return "unknown";
}

const char *pp_alert_kind_name(pp_alert_kind k) {
  static const char *const names[PP_ALERT_KIND_COUNT] = {
      [PP_ALERT_STATE] = "state",
      [PP_ALERT_FLAPPING] = "flapping",
      [PP_ALERT_QUALITY] = "quality",
      [PP_ALERT_CERTIFICATE] = "certificate",
      [PP_ALERT_SLOW] = "slow",
      [PP_ALERT_CERT_CHANGE] = "certificate_change",
      [PP_ALERT_SIGNATURE] = "signature",
  };
  return (unsigned)k < PP_ALERT_KIND_COUNT ? names[k] : "unknown";
}

const char *pp_tstate_name(pp_tstate s) {
  switch (s) {
  case PP_TSTATE_UP:
    return "up";
  case PP_TSTATE_DOWN:
    return "down";
  default:
    return "unknown";
  }
}

void pp_format_duration(char *buf, size_t len, double seconds) {
  long long s = seconds > 0 && isfinite(seconds) ? llround(seconds) : 0;
  long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
  long long sec = s % 60;
  if (s < 60)
    snprintf(buf, len, "%llds", s);
  else if (s < 3600 && sec)
    snprintf(buf, len, "%lldm %llds", m, sec);
  else if (s < 3600)
    snprintf(buf, len, "%lldm", m);
  else if (s < 86400 && m)
    snprintf(buf, len, "%lldh %lldm", h, m);
  else if (s < 86400)
    snprintf(buf, len, "%lldh", h);
  else if (h)
    snprintf(buf, len, "%lldd %lldh", d, h);
  else
    snprintf(buf, len, "%lldd", d);
}

/* Milliseconds the way people write them: "0.4", "5", "12", "80". */
void pp_format_ms(char *buf, size_t len, double seconds) {
  double ms = seconds * 1000.0;
  if (ms < 10)
    snprintf(buf, len, "%.2g", ms);
  else
    snprintf(buf, len, "%.0f", ms);
}

/* --- building alerts (for state.c) --- */

void pp_alert_init(pp_alert *a, const pp_target *t, const pp_result *r,
                   pp_alert_kind kind, pp_severity sev) {
  memset(a, 0, sizeof(*a));
  a->kind = kind;
  a->severity = sev;
  a->time_ns = r->time_ns;
  snprintf(a->target, sizeof(a->target), "%s", pp_target_name(t));
  /* dns:// asks the system's resolver: no host of its own */
  const char *host = t->host[0] ? t->host : "resolver";
  snprintf(a->host, sizeof(a->host), "%s", host);
  a->port = t->port;
  a->scheme = t->scheme->name;
  a->service = t->scheme->service;
  a->result = r->code;
  snprintf(a->excerpt, sizeof(a->excerpt), "%s", r->excerpt);
  a->outage_s = -1;
  a->flap_pct = -1;
  a->cert_expiry_s = r->cert_expiry_s;
  /* the subject every message starts with: "mail.example.com smtp:25" */
  const char *lb = strchr(host, ':') ? "[" : "";
  const char *rb = *lb ? "]" : "";
  if (t->port)
    snprintf(a->message, sizeof(a->message), "%s%s%s %s:%u", lb, host, rb,
             t->scheme->service, (unsigned)t->port);
  else
    snprintf(a->message, sizeof(a->message), "%s%s%s %s", lb, host, rb,
             t->scheme->service);
}

void pp_alert_append(pp_alert *a, const char *fmt, ...) {
  size_t used = strlen(a->message);
  if (used + 1 >= sizeof(a->message))
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->message + used, sizeof(a->message) - used, fmt, ap);
  va_end(ap);
  /* one line of printable ASCII, whatever a detail or name held */
  for (char *p = a->message + used; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
      *p = (unsigned char)*p < 0x20 ? ' ' : '?';
}
