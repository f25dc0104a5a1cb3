/* --format nagios (see nagios.h), per the Monitoring Plugins development
 * guidelines. Text never carries '|' (it would start perfdata) nor a line
 * break; a perfdata label never carries '=', a quote or '|'. */
#include "nagios.h"
#include "text.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WHY_MAX 768
#define NAMES_LISTED 5 /* problem targets named on the status line */

const char *pp_nagios_state_name(pp_nagios_state s) {
  static const char *const names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
  return (unsigned)s < 4 ? names[s] : "UNKNOWN";
}

static int rank(pp_nagios_state s) {
  static const int ranks[] = {0, 2, 3, 1}; /* OK, WARNING, CRITICAL, UNKNOWN */
  return (unsigned)s < 4 ? ranks[s] : 1;
}

pp_nagios_state pp_nagios_worse(pp_nagios_state a, pp_nagios_state b) {
  return rank(b) > rank(a) ? b : a;
}

/* Plugin output is one line of text before perfdata: no '|', no break. */
static void put_text(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    fputc(c == '|' ? '/' : c < 0x20 || c == 0x7f ? ' ' : c, f);
  }
}

static void secs(char *buf, size_t len, double s) {
  if (s < 1)
    snprintf(buf, len, "%.1f ms", s * 1000);
  else
    snprintf(buf, len, "%.2f s", s);
}

static pp_nagios_state slow_state(const pp_target *t, const pp_result *r,
                                  pp_text *w) {
  const pp_opts *o = t->opts;
  double ms = r->t_total * 1000;
  if (!r->up || r->t_total < 0)
    return PP_NAGIOS_OK;
  bool crit = o->slow_crit_ms > 0 && ms >= (double)o->slow_crit_ms;
  if (!crit && !(o->slow_warn_ms > 0 && ms >= (double)o->slow_warn_ms))
    return PP_NAGIOS_OK;
  char limit[32];
  secs(limit, sizeof(limit),
       (double)(crit ? o->slow_crit_ms : o->slow_warn_ms) / 1000);
  pp_text_add(w, ", slow (%s %s)", crit ? "slow_crit" : "slow_warn", limit);
  return crit ? PP_NAGIOS_CRITICAL : PP_NAGIOS_WARNING;
}

static pp_nagios_state cert_state(const pp_result *r, pp_text *w) {
  if (!r->cert_seen)
    return PP_NAGIOS_OK;
  double days = (double)r->cert_expiry_s / 86400;
  if (r->cert_expiry_s < 0)
    pp_text_add(w, ", certificate expired %.1f days ago", -days);
  else
    pp_text_add(w, ", certificate expires in %.1f days", days);
  return r->cert_grade == PP_GRADE_CRITICAL  ? PP_NAGIOS_CRITICAL
         : r->cert_grade == PP_GRADE_WARNING ? PP_NAGIOS_WARNING
                                             : PP_NAGIOS_OK;
}

/* The earliest DNSSEC signature, graded as a certificate is. */
static pp_nagios_state rrsig_state(const pp_result *r, pp_text *w) {
  if (!r->rrsig_seen)
    return PP_NAGIOS_OK;
  double days = (double)r->rrsig_expiry_s / 86400;
  if (r->rrsig_expiry_s < 0)
    pp_text_add(w, ", DNSSEC signature expired %.1f days ago", -days);
  else
    pp_text_add(w, ", DNSSEC signature expires in %.1f days", days);
  return r->rrsig_grade == PP_GRADE_CRITICAL  ? PP_NAGIOS_CRITICAL
         : r->rrsig_grade == PP_GRADE_WARNING ? PP_NAGIOS_WARNING
                                              : PP_NAGIOS_OK;
}

static pp_nagios_state icmp_state(const pp_target *t, const pp_result *r,
                                  pp_text *w) {
  if (t->kind != PP_KIND_ICMP || r->icmp_sent <= 0)
    return PP_NAGIOS_OK;
  pp_text_add(w, ", %d/%d received, %.0f%% loss", r->icmp_received,
              r->icmp_sent, r->loss_pct);
  if (r->rtt_avg >= 0)
    pp_text_add(w, ", rtt %.3f ms", r->rtt_avg * 1000);
  if (r->jitter >= 0)
    pp_text_add(w, ", jitter %.3f ms", r->jitter * 1000);
  if (r->quality == PP_GRADE_NONE)
    return PP_NAGIOS_OK;
  pp_text_add(w, ", quality %s", pp_grade_name(r->quality));
  return r->quality == PP_GRADE_CRITICAL ? PP_NAGIOS_CRITICAL
         : r->quality == PP_GRADE_GOOD   ? PP_NAGIOS_OK
                                         : PP_NAGIOS_WARNING;
}

pp_nagios_state pp_nagios_judge(const pp_target *t, const pp_result *r,
                                char *why, size_t len) {
  pp_text w = {why, len, 0};
  why[0] = 0;
  char summary[64], took[32];
  pp_result_summary(r, summary, sizeof(summary));
  pp_text_add(&w, "%s", summary);
  if (r->t_total >= 0 && t->kind != PP_KIND_ICMP) {
    secs(took, sizeof(took), r->t_total);
    pp_text_add(&w, r->up ? " in %s" : " after %s", took);
  }
  if (r->address[0])
    pp_text_add(&w, " (%s)", r->address);
  if (r->detail[0])
    pp_text_add(&w, ": %s", r->detail);
  /* a check that could not run here says nothing of the service */
  pp_nagios_state s =
      r->code == PP_R_SOCKET_ERROR || r->code == PP_R_UNSUPPORTED
          ? PP_NAGIOS_UNKNOWN
      : r->up ? PP_NAGIOS_OK
              : PP_NAGIOS_CRITICAL;
  s = pp_nagios_worse(s, slow_state(t, r, &w));
  s = pp_nagios_worse(s, cert_state(r, &w));
  s = pp_nagios_worse(s, rrsig_state(r, &w));
  s = pp_nagios_worse(s, icmp_state(t, r, &w));
  if (pp_result_words(r)->server_version[0])
    pp_text_add(&w, ", version %s", pp_result_words(r)->server_version);
  if (r->clock_seen)
    pp_text_add(&w, ", offset %+.6f s, stratum %d", r->clock_offset,
                r->stratum);
  if (r->excerpt[0])
    pp_text_add(&w, ", server said \"%s\"", r->excerpt);
  return s;
}

/* --- perfdata: 'label'=value[UOM];warn;crit;min;max --- */

/* A number as perfdata wants it: digits, '-' and '.', no exponent. */
static void num(char *buf, size_t len, double v) {
  snprintf(buf, len, "%.6f", v);
  char *dot = strchr(buf, '.');
  if (dot == NULL)
    return;
  char *end = buf + strlen(buf);
  while (end > dot + 1 && end[-1] == '0')
    *--end = 0;
  if (end == dot + 1)
    *dot = 0;
}

static void ms_num(char *buf, size_t len, int64_t ms) {
  if (ms > 0)
    num(buf, len, (double)ms / 1000);
  else
    buf[0] = 0;
}

typedef struct {
  FILE *f;
  const char *target; /* NULL: one target, plain labels */
  int items;
} perf;

/* One item; empty trailing fields are left out, as the guidelines allow. */
static void item(perf *p, const char *label, const char *value, const char *uom,
                 const char *warn, const char *crit, const char *min,
                 const char *max) {
  const char *tail[] = {warn, crit, min, max};
  int last = 3;
  while (last >= 0 && tail[last][0] == 0)
    last--;
  fputs(p->items++ ? " " : " | ", p->f);
  if (p->target == NULL) {
    fputs(label, p->f);
  } else {
    fputc('\'', p->f);
    for (const char *s = p->target; *s; s++) {
      unsigned char c = (unsigned char)*s;
      bool bad = c == '\'' || c == '=' || c == '|' || c < 0x20 || c == 0x7f;
      fputc(bad ? '_' : c, p->f);
    }
    fprintf(p->f, " %s'", label);
  }
  fprintf(p->f, "=%s%s", value, uom);
  for (int i = 0; i <= last; i++)
    fprintf(p->f, ";%s", tail[i]);
}

static void perf_target(perf *p, const pp_target *t, const pp_result *r) {
  const pp_opts *o = t->opts;
  char v[48], warn[48], crit[48], max[48];
  if (t->kind != PP_KIND_ICMP && r->t_total >= 0) {
    num(v, sizeof(v), r->t_total);
    ms_num(warn, sizeof(warn), o->slow_warn_ms);
    ms_num(crit, sizeof(crit), o->slow_crit_ms);
    ms_num(max, sizeof(max), o->timeout_ms);
    item(p, "time", v, "s", warn, crit, "0", max);
  }
  if (r->cert_seen) {
    /* "N:" alerts below N: seconds left under cert_warn_days, ... */
    snprintf(v, sizeof(v), "%" PRId64, r->cert_expiry_s);
    snprintf(warn, sizeof(warn), "%lld:", (long long)o->cert_warn_days * 86400);
    snprintf(crit, sizeof(crit), "%lld:", (long long)o->cert_crit_days * 86400);
    item(p, "cert_time_left", v, "s", warn, crit, "", "");
  }
  if (r->rrsig_seen) {
    snprintf(v, sizeof(v), "%" PRId64, r->rrsig_expiry_s);
    snprintf(warn, sizeof(warn), "%lld:", (long long)(o->rrsig_warn_ms / 1000));
    snprintf(crit, sizeof(crit), "%lld:", (long long)(o->rrsig_crit_ms / 1000));
    item(p, "rrsig_time_left", v, "s", warn, crit, "", "");
  }
  if (r->clock_seen) { /* as check_ntp_time names them */
    num(v, sizeof(v), r->clock_offset);
    item(p, "offset", v, "s", "", "", "", "");
    snprintf(v, sizeof(v), "%d", r->stratum);
    item(p, "stratum", v, "", "", "", "0", "16");
  }
  if (t->kind != PP_KIND_ICMP || r->icmp_sent <= 0)
    return;
  num(v, sizeof(v), r->loss_pct);
  num(warn, sizeof(warn), o->loss_warn);
  num(crit, sizeof(crit), o->loss_crit);
  item(p, "loss", v, "%", warn, crit, "0", "100");
  if (r->rtt_avg >= 0) {
    num(v, sizeof(v), r->rtt_avg);
    ms_num(warn, sizeof(warn), o->rtt_warn_ms);
    ms_num(crit, sizeof(crit), o->rtt_crit_ms);
    item(p, "rtt", v, "s", warn, crit, "0", "");
  }
  if (r->jitter >= 0) {
    num(v, sizeof(v), r->jitter);
    ms_num(warn, sizeof(warn), o->jitter_warn_ms);
    ms_num(crit, sizeof(crit), o->jitter_crit_ms);
    item(p, "jitter", v, "s", warn, crit, "0", "");
  }
}

/* --- the status line and the long output --- */

/* "2 critical (db, mail)": the count of targets in state s and the first
 * few of their names. */
static void tally(FILE *f, pp_target *const *targets, const int *states,
                  size_t n, pp_nagios_state s, const char *word, bool *sep) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    count += states[i] == (int)s;
  if (count == 0)
    return;
  fprintf(f, "%s%zu %s", *sep ? ", " : "", count, word);
  *sep = true;
  if (s == PP_NAGIOS_OK)
    return;
  size_t listed = 0;
  for (size_t i = 0; i < n && listed < NAMES_LISTED; i++) {
    if (states[i] != (int)s)
      continue;
    fputs(listed++ ? ", " : " (", f);
    put_text(f, pp_target_name(targets[i]));
  }
  if (count > listed)
    fprintf(f, " and %zu more", count - listed);
  fputc(')', f);
}

pp_nagios_state pp_nagios_write(FILE *f, pp_target *const *targets,
                                const pp_result *results, size_t n) {
  char why[WHY_MAX];
  int *states = malloc((n ? n : 1) * sizeof(*states));
  pp_nagios_state worst = PP_NAGIOS_OK;
  for (size_t i = 0; i < n; i++) {
    pp_nagios_state s = pp_nagios_judge(targets[i], &results[i], why, WHY_MAX);
    worst = pp_nagios_worse(worst, s);
    if (states != NULL)
      states[i] = (int)s;
  }
  fprintf(f, "PORTPROBE %s - ", pp_nagios_state_name(worst));
  if (n == 1) {
    pp_nagios_judge(targets[0], &results[0], why, WHY_MAX);
    put_text(f, pp_target_name(targets[0]));
    fputs(": ", f);
    put_text(f, why);
  } else if (states != NULL) {
    bool sep = false;
    fprintf(f, "%zu targets: ", n);
    tally(f, targets, states, n, PP_NAGIOS_CRITICAL, "critical", &sep);
    tally(f, targets, states, n, PP_NAGIOS_WARNING, "warning", &sep);
    tally(f, targets, states, n, PP_NAGIOS_UNKNOWN, "unknown", &sep);
    tally(f, targets, states, n, PP_NAGIOS_OK, "ok", &sep);
  } else {
    fprintf(f, "%zu targets", n);
  }
  perf p = {f, n == 1 ? NULL : "", 0};
  for (size_t i = 0; i < n; i++) {
    if (n > 1)
      p.target = pp_target_name(targets[i]);
    perf_target(&p, targets[i], &results[i]);
  }
  fputc('\n', f);
  for (size_t i = 0; n > 1 && i < n; i++) {
    pp_nagios_state s = pp_nagios_judge(targets[i], &results[i], why, WHY_MAX);
    fprintf(f, "%s: ", pp_nagios_state_name(s));
    put_text(f, pp_target_name(targets[i]));
    fputs(": ", f);
    put_text(f, why);
    fputc('\n', f);
  }
  free(states);
  return worst;
}

void pp_nagios_alert(FILE *f, const pp_alert *a) {
  fprintf(f, "ALERT %s: ", pp_severity_name(a->severity));
  put_text(f, a->message);
  fputc('\n', f);
}

void pp_nagios_unknown(FILE *f, const char *msg) {
  fputs("PORTPROBE UNKNOWN - ", f);
  put_text(f, msg);
  fputc('\n', f);
}
