/* Per-target state: confirmation of UP/DOWN, flapping, slow, quality and
 * certificate grades, and the alerts their transitions yield. docs/state.md
 * describes the rules; this file is the one place they live. */
#include "state_int.h"
#include "alert_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the table --- */

static uint32_t key_hash(const char *name, const char *url) {
  uint32_t h = 2166136261u;
  for (const char *p = name; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  h = (h ^ 0xffu) * 16777619u; /* separator: "a"+"bc" differs from "ab"+"c" */
  for (const char *p = url; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return h;
}

pp_state_table *pp_state_table_new(void) {
  pp_state_table *st = calloc(1, sizeof(*st));
  if (st == NULL)
    return NULL;
  st->nbuckets = 64;
  st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
  if (st->buckets == NULL) {
    free(st);
    return NULL;
  }
  return st;
}

static void entry_free(entry *e) {
  free(e->name);
  free(e->url);
  free(e);
}

void pp_state_clear(pp_state_table *st) {
  for (size_t i = 0; i < st->nbuckets; i++) {
    entry *e = st->buckets[i];
    while (e) {
      entry *next = e->next;
      entry_free(e);
      e = next;
    }
    st->buckets[i] = NULL;
  }
  st->count = 0;
}

void pp_state_table_free(pp_state_table *st) {
  if (st == NULL)
    return;
  pp_state_clear(st);
  free(st->buckets);
  free(st);
}

size_t pp_state_count(const pp_state_table *st) {
  return st->count;
}

entry *pp_state_find(const pp_state_table *st, const char *name,
                     const char *url) {
  uint32_t h = key_hash(name, url);
  for (entry *e = st->buckets[h & (st->nbuckets - 1)]; e; e = e->next)
    if (e->hash == h && strcmp(e->name, name) == 0 && strcmp(e->url, url) == 0)
      return e;
  return NULL;
}

static void table_grow(pp_state_table *st) {
  size_t n = st->nbuckets * 2;
  entry **b = calloc(n, sizeof(*b));
  if (b == NULL)
    return; /* longer chains, still correct */
  for (size_t i = 0; i < st->nbuckets; i++) {
    entry *e = st->buckets[i];
    while (e) {
      entry *next = e->next;
      e->next = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
      e = next;
    }
  }
  free(st->buckets);
  st->buckets = b;
  st->nbuckets = n;
}

entry *pp_state_add(pp_state_table *st, const char *name, const char *url) {
  entry *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return NULL;
  e->name = strdup(name);
  e->url = strdup(url);
  if (e->name == NULL || e->url == NULL) {
    entry_free(e);
    return NULL;
  }
  if (st->count >= st->nbuckets)
    table_grow(st);
  e->hash = key_hash(name, url);
  e->next = st->buckets[e->hash & (st->nbuckets - 1)];
  st->buckets[e->hash & (st->nbuckets - 1)] = e;
  st->count++;
  return e;
}

static const char *target_key_name(const pp_target *t) {
  const char *name = pp_target_name_option(t);
  return name ? name : "";
}

int pp_state_get(const pp_state_table *st, const pp_target *t,
                 pp_state_info *info) {
  const entry *e = pp_state_find(st, target_key_name(t), t->url);
  if (e == NULL)
    return -1;
  info->state = e->state;
  info->since_ns = e->state == PP_TSTATE_UNKNOWN ? 0 : e->since_ns;
  info->flapping = e->flapping;
  info->flap_pct = pp_flap_percent(&e->hist);
  info->consecutive = e->oks > e->fails ? e->oks : e->fails;
  info->quality = e->quality;
  info->cert = e->cert;
  info->rrsig = e->rrsig;
  return 0;
}

/* --- words --- */

static pp_severity grade_severity(pp_grade g) {
  switch (g) {
  case PP_GRADE_CRITICAL:
    return PP_SEV_FAILURE;
  case PP_GRADE_WARNING:
  case PP_GRADE_BAD:
    return PP_SEV_WARNING;
  default:
    return PP_SEV_OKAY;
  }
}

/* ": refused, <detail> (<diagnosis>): server said "<excerpt>"" for a failed
 * result. The detail is left out where it only restates the class (an
 * errno's words, a timeout's phase). */
static void append_failure(pp_alert *a, const pp_result *r,
                           const char *diagnosis) {
  char summary[64];
  pp_result_summary(r, summary, sizeof(summary));
  pp_alert_append(a, ": %s", summary);
  if (r->detail[0] && r->sys_errno == 0 && r->code != PP_R_TIMEOUT)
    pp_alert_append(a, ", %s", r->detail);
  if (diagnosis && *diagnosis)
    pp_alert_append(a, " (%s)", diagnosis);
  if (r->excerpt[0])
    pp_alert_append(a, ": server said \"%s\"", r->excerpt);
}

static void copy_diagnosis(pp_alert *a, const char *diagnosis) {
  if (diagnosis)
    snprintf(a->diagnosis, sizeof(a->diagnosis), "%s", diagnosis);
}

static void format_threshold(char *buf, size_t len, int64_t ms) {
  if (ms % 1000 == 0)
    snprintf(buf, len, "%llds", (long long)(ms / 1000));
  else
    snprintf(buf, len, "%lldms", (long long)ms);
}

static void format_response(char *buf, size_t len, double s) {
  if (s < 1) {
    char ms[16];
    pp_format_ms(ms, sizeof(ms), s);
    snprintf(buf, len, "%s ms", ms);
  } else {
    snprintf(buf, len, "%.3g s", s);
  }
}

/* --- the transitions --- */

typedef struct {
  pp_alert *a;
  size_t n, max;
} alerts;

static pp_alert *new_alert(alerts *out, const pp_target *t, const pp_result *r,
                           pp_alert_kind kind, pp_severity sev, entry *e) {
  if (out->n >= out->max)
    return NULL;
  pp_alert *a = &out->a[out->n++];
  pp_alert_init(a, t, r, kind, sev);
  a->state = e->state;
  return a;
}

/* Counts the outcome and confirms a new state. Returns true on a change. */
static bool confirm(entry *e, const pp_target *t, const pp_result *r,
                    double *outage_s) {
  int64_t now = r->time_ns;
  *outage_s = -1;
  if (r->up) {
    if (e->oks == 0)
      e->streak_ns = now;
    e->fails = 0;
    if (e->oks < COUNT_CAP)
      e->oks++;
    if (e->state == PP_TSTATE_UP || e->oks < t->opts->up_after)
      return false;
    if (e->state == PP_TSTATE_DOWN)
      *outage_s = (double)(e->streak_ns - e->since_ns) / 1e9;
    e->state = PP_TSTATE_UP;
  } else {
    if (e->fails == 0)
      e->streak_ns = now;
    e->oks = 0;
    if (e->fails < COUNT_CAP)
      e->fails++;
    if (e->state == PP_TSTATE_DOWN || e->fails < t->opts->down_after)
      return false;
    e->state = PP_TSTATE_DOWN;
    /* slowness is judged afresh after an outage */
    e->slow = SLOW_NO;
    e->slow_hi = e->slow_lo = 0;
  }
  e->since_ns = e->streak_ns;
  return true;
}

static void state_alert(alerts *out, entry *e, const pp_target *t,
                        const pp_result *r, const char *diagnosis,
                        double outage_s) {
  pp_tstate was = e->announced;
  e->announced = e->state;
  if (e->state == PP_TSTATE_UP) {
    /* the first UP after start is not news (Nagios does not announce an
     * initial OK either) */
    if (was == PP_TSTATE_UNKNOWN)
      return;
    pp_alert *a = new_alert(out, t, r, PP_ALERT_STATE, PP_SEV_OKAY, e);
    if (a == NULL)
      return;
    a->outage_s = outage_s;
    if (outage_s >= 0) {
      char d[32];
      pp_format_duration(d, sizeof(d), outage_s);
      pp_alert_append(a, " UP again after %s", d);
    } else {
      pp_alert_append(a, " UP again");
    }
    return;
  }
  pp_alert *a = new_alert(out, t, r, PP_ALERT_STATE, PP_SEV_FAILURE, e);
  if (a == NULL)
    return;
  copy_diagnosis(a, diagnosis);
  pp_alert_append(a, " DOWN");
  append_failure(a, r, diagnosis);
}

static void flap_alert(alerts *out, entry *e, const pp_target *t,
                       const pp_result *r, const char *diagnosis, double pct) {
  pp_alert *a;
  if (e->flapping) {
    a = new_alert(out, t, r, PP_ALERT_FLAPPING, PP_SEV_WARNING, e);
    if (a == NULL)
      return;
    a->flap_pct = pct;
    pp_alert_append(a, " is FLAPPING (%.0f%% state changes)", pct);
    return;
  }
  /* the state alerts suppressed while flapping end in one word: now what */
  e->announced = e->state;
  bool down = e->state == PP_TSTATE_DOWN;
  a = new_alert(out, t, r, PP_ALERT_FLAPPING,
                down ? PP_SEV_FAILURE : PP_SEV_OKAY, e);
  if (a == NULL)
    return;
  a->flap_pct = pct;
  pp_alert_append(a, " stopped flapping (%.0f%% state changes), now %s", pct,
                  down                       ? "DOWN"
                  : e->state == PP_TSTATE_UP ? "UP"
                                             : "unknown");
  if (down && !r->up) {
    copy_diagnosis(a, diagnosis);
    append_failure(a, r, diagnosis);
  }
}

static int slow_level_of(const pp_target *t, const pp_result *r) {
  double ms = r->t_total * 1000.0;
  if (r->t_total < 0)
    return SLOW_NO;
  if (t->opts->slow_crit_ms > 0 && ms >= (double)t->opts->slow_crit_ms)
    return SLOW_CRIT;
  if (t->opts->slow_warn_ms > 0 && ms >= (double)t->opts->slow_warn_ms)
    return SLOW_WARN;
  return SLOW_NO;
}

/* Slowness is confirmed like state: down_after checks above the confirmed
 * level to rise (to the mildest level among them), up_after below it to
 * fall (to the worst among them). */
static void judge_slow(alerts *out, entry *e, const pp_target *t,
                       const pp_result *r) {
  int level = slow_level_of(t, r);
  if (level == e->slow) {
    e->slow_hi = e->slow_lo = 0;
    return;
  }
  int to;
  if (level > e->slow) {
    e->slow_lo = 0;
    if (e->slow_hi == 0 || level < e->slow_hi_level)
      e->slow_hi_level = level;
    if (++e->slow_hi < t->opts->down_after)
      return;
    to = e->slow_hi_level;
  } else {
    e->slow_hi = 0;
    if (e->slow_lo == 0 || level > e->slow_lo_level)
      e->slow_lo_level = level;
    if (++e->slow_lo < t->opts->up_after)
      return;
    to = e->slow_lo_level;
  }
  e->slow = to;
  e->slow_hi = e->slow_lo = 0;
  pp_severity sev = to == SLOW_CRIT   ? PP_SEV_FAILURE
                    : to == SLOW_WARN ? PP_SEV_WARNING
                                      : PP_SEV_OKAY;
  pp_alert *a = new_alert(out, t, r, PP_ALERT_SLOW, sev, e);
  if (a == NULL)
    return;
  char took[32], limit[32];
  format_response(took, sizeof(took), r->t_total);
  if (to == SLOW_NO) {
    pp_alert_append(a, " response time normal again: %s", took);
    return;
  }
  bool crit = to == SLOW_CRIT;
  format_threshold(limit, sizeof(limit),
                   crit ? t->opts->slow_crit_ms : t->opts->slow_warn_ms);
  pp_alert_append(a, " %s: responded in %s (%s %s)",
                  crit ? "very slow" : "slow", took,
                  crit ? "slow_crit" : "slow_warn", limit);
}

static void judge_quality(alerts *out, entry *e, const pp_target *t,
                          const pp_result *r) {
  pp_grade g = r->quality;
  if (!r->up || g == PP_GRADE_NONE || g == e->quality)
    return;
  pp_grade was = e->quality;
  e->quality = g;
  if (was == PP_GRADE_NONE && g == PP_GRADE_GOOD)
    return; /* a first good grade is not news */
  pp_alert *a = new_alert(out, t, r, PP_ALERT_QUALITY, grade_severity(g), e);
  if (a == NULL)
    return;
  a->grade = g;
  char rtt[16];
  pp_format_ms(rtt, sizeof(rtt), r->rtt_avg);
  pp_alert_append(a, " quality %s%s (%.3g%% loss, %s ms", pp_grade_name(g),
                  g == PP_GRADE_GOOD ? " again" : "", r->loss_pct, rtt);
  if (r->jitter >= 0) {
    char jit[16];
    pp_format_ms(jit, sizeof(jit), r->jitter);
    pp_alert_append(a, ", jitter %s ms", jit);
  }
  pp_alert_append(a, ")");
}

/* "expires in 5 days", "expired 2 days ago": whole days, rounded down. */
static void append_expiry(pp_alert *a, int64_t s) {
  long long days = (long long)((s < 0 ? -s : s) / 86400);
  const char *unit = days == 1 ? "day" : "days";
  if (s < 0 && days == 0)
    pp_alert_append(a, "expired today");
  else if (s < 0)
    pp_alert_append(a, "expired %lld %s ago", days, unit);
  else if (days == 0)
    pp_alert_append(a, "expires in less than a day");
  else
    pp_alert_append(a, "expires in %lld %s", days, unit);
}

static void judge_cert(alerts *out, entry *e, const pp_target *t,
                       const pp_result *r) {
  pp_grade g = r->cert_grade;
  if (!r->cert_seen || g == PP_GRADE_NONE || g == e->cert)
    return;
  pp_grade was = e->cert;
  e->cert = g;
  if (was == PP_GRADE_NONE && g == PP_GRADE_GOOD)
    return;
  pp_alert *a =
      new_alert(out, t, r, PP_ALERT_CERTIFICATE, grade_severity(g), e);
  if (a == NULL)
    return;
  a->grade = g;
  pp_alert_append(a, g == PP_GRADE_GOOD ? " certificate good again, "
                                        : " certificate ");
  append_expiry(a, r->cert_expiry_s);
}

/* A server that presents another certificate than last time (a renewal, a
 * load balancer member with its own, or an impostor the CA vouches for):
 * one warning, with both serials. The first certificate seen is no news. */
static void judge_cert_change(alerts *out, entry *e, const pp_target *t,
                              const pp_result *r) {
  const pp_cert_facts *f = pp_result_cert(r);
  if (!r->cert_seen || f->cert_sha256[0] == 0 ||
      strcmp(e->cert_sha256, f->cert_sha256) == 0)
    return;
  char was[sizeof(e->cert_serial)];
  snprintf(was, sizeof(was), "%s", e->cert_serial);
  bool first = e->cert_sha256[0] == 0;
  snprintf(e->cert_sha256, sizeof(e->cert_sha256), "%s", f->cert_sha256);
  snprintf(e->cert_serial, sizeof(e->cert_serial), "%s", f->cert_serial);
  if (first)
    return;
  pp_alert *a = new_alert(out, t, r, PP_ALERT_CERT_CHANGE, PP_SEV_WARNING, e);
  if (a == NULL)
    return;
  a->cert_expiry_s = r->cert_expiry_s;
  snprintf(a->cert_serial, sizeof(a->cert_serial), "%s", f->cert_serial);
  snprintf(a->cert_previous_serial, sizeof(a->cert_previous_serial), "%s", was);
  snprintf(a->cert_sha256, sizeof(a->cert_sha256), "%s", f->cert_sha256);
  snprintf(a->cert_subject, sizeof(a->cert_subject), "%s", f->cert_subject);
  pp_alert_append(a, " certificate changed: serial %s -> %s, %s, ", was,
                  f->cert_serial, f->cert_subject);
  append_expiry(a, r->cert_expiry_s);
}

/* The DNSSEC signatures' grade, told as the certificate's is. */
static void judge_rrsig(alerts *out, entry *e, const pp_target *t,
                        const pp_result *r) {
  pp_grade g = r->rrsig_grade;
  if (!r->rrsig_seen || g == PP_GRADE_NONE || g == e->rrsig)
    return;
  pp_grade was = e->rrsig;
  e->rrsig = g;
  if (was == PP_GRADE_NONE && g == PP_GRADE_GOOD)
    return;
  pp_alert *a = new_alert(out, t, r, PP_ALERT_SIGNATURE, grade_severity(g), e);
  if (a == NULL)
    return;
  a->grade = g;
  a->rrsig_expiry_s = r->rrsig_expiry_s;
  pp_alert_append(a, g == PP_GRADE_GOOD ? " DNSSEC signatures good again, "
                                        : " DNSSEC signature ");
  append_expiry(a, r->rrsig_expiry_s);
}

size_t pp_state_update(pp_state_table *st, const pp_target *t,
                       const pp_result *r, const char *diagnosis, pp_alert *out,
                       size_t max_out) {
  entry *e = pp_state_find(st, target_key_name(t), t->url);
  if (e == NULL && (e = pp_state_add(st, target_key_name(t), t->url)) == NULL)
    return 0;
  alerts al = {out, 0, max_out};
  e->last_ns = r->time_ns;

  double outage_s;
  bool changed = confirm(e, t, r, &outage_s);

  /* Each check records the confirmed state, as Nagios records hard states
   * (and soft recoveries): a blip that down_after absorbs is no change. */
  bool known = e->state != PP_TSTATE_UNKNOWN;
  if (known)
    pp_flap_record(&e->hist, e->state == PP_TSTATE_UP);
  double pct = pp_flap_percent(&e->hist);
  if (!known) {
    /* nothing is confirmed, so nothing to tell */
  } else if (!e->flapping && pct >= t->opts->flap_high) {
    e->flapping = true;
    flap_alert(&al, e, t, r, diagnosis, pct);
  } else if (e->flapping && pct < t->opts->flap_low) {
    e->flapping = false;
    flap_alert(&al, e, t, r, diagnosis, pct);
  } else if (changed && !e->flapping) {
    state_alert(&al, e, t, r, diagnosis, outage_s);
  }

  if (e->state == PP_TSTATE_UP && r->up)
    judge_slow(&al, e, t, r);
  judge_quality(&al, e, t, r);
  judge_cert(&al, e, t, r);
  judge_cert_change(&al, e, t, r);
  judge_rrsig(&al, e, t, r);
  return al.n;
}
