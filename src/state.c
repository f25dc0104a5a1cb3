/* Per-target state: confirmation of UP/DOWN, flapping, slow, quality and
 * certificate grades, and the alerts their transitions yield. docs/state.md
 * describes the rules; this file is the one place they live. */
#include "state.h"
#include "alert_build.h"
#include "flap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COUNT_CAP 1000000 /* consecutive counters stop here */

typedef enum { SLOW_NO = 0, SLOW_WARN, SLOW_CRIT } slow_level;

typedef struct entry {
  struct entry *next; /* hash chain */
  uint32_t hash;
  char *name; /* "" when the target has no name option */
  char *url;

  pp_tstate state;     /* confirmed */
  pp_tstate announced; /* the state the last state alert told */
  int fails, oks;      /* consecutive outcomes; one of them is 0 */
  int64_t streak_ns;   /* first check of the current run of outcomes */
  int64_t since_ns;    /* first check of the confirmed state */
  int64_t last_ns;     /* last update */
  pp_flap_history hist;
  bool flapping;
  pp_grade quality, cert;
  /* slow: the confirmed level and the runs of checks above and below it,
   * with the mildest level seen in each run */
  int slow, slow_hi, slow_hi_level, slow_lo, slow_lo_level;
} entry;

struct pp_state_table {
  entry **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;
};

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

static void table_clear(pp_state_table *st) {
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
  table_clear(st);
  free(st->buckets);
  free(st);
}

size_t pp_state_count(const pp_state_table *st) {
  return st->count;
}

static entry *table_find(const pp_state_table *st, const char *name,
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

/* Adds a fresh entry (state unknown). NULL when out of memory. */
static entry *table_add(pp_state_table *st, const char *name, const char *url) {
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
  return t->opts.name ? t->opts.name : "";
}

int pp_state_get(const pp_state_table *st, const pp_target *t,
                 pp_state_info *info) {
  const entry *e = table_find(st, target_key_name(t), t->url);
  if (e == NULL)
    return -1;
  info->state = e->state;
  info->since_ns = e->state == PP_TSTATE_UNKNOWN ? 0 : e->since_ns;
  info->flapping = e->flapping;
  info->flap_pct = pp_flap_percent(&e->hist);
  info->consecutive = e->oks > e->fails ? e->oks : e->fails;
  info->quality = e->quality;
  info->cert = e->cert;
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
    if (e->state == PP_TSTATE_UP || e->oks < t->opts.up_after)
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
    if (e->state == PP_TSTATE_DOWN || e->fails < t->opts.down_after)
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
  if (t->opts.slow_crit_ms > 0 && ms >= (double)t->opts.slow_crit_ms)
    return SLOW_CRIT;
  if (t->opts.slow_warn_ms > 0 && ms >= (double)t->opts.slow_warn_ms)
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
    if (++e->slow_hi < t->opts.down_after)
      return;
    to = e->slow_hi_level;
  } else {
    e->slow_hi = 0;
    if (e->slow_lo == 0 || level > e->slow_lo_level)
      e->slow_lo_level = level;
    if (++e->slow_lo < t->opts.up_after)
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
                   crit ? t->opts.slow_crit_ms : t->opts.slow_warn_ms);
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

size_t pp_state_update(pp_state_table *st, const pp_target *t,
                       const pp_result *r, const char *diagnosis, pp_alert *out,
                       size_t max_out) {
  entry *e = table_find(st, target_key_name(t), t->url);
  if (e == NULL && (e = table_add(st, target_key_name(t), t->url)) == NULL)
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
  } else if (!e->flapping && pct >= t->opts.flap_high) {
    e->flapping = true;
    flap_alert(&al, e, t, r, diagnosis, pct);
  } else if (e->flapping && pct < t->opts.flap_low) {
    e->flapping = false;
    flap_alert(&al, e, t, r, diagnosis, pct);
  } else if (changed && !e->flapping) {
    state_alert(&al, e, t, r, diagnosis, outage_s);
  }

  if (e->state == PP_TSTATE_UP && r->up)
    judge_slow(&al, e, t, r);
  judge_quality(&al, e, t, r);
  judge_cert(&al, e, t, r);
  return al.n;
}

/* --- the state file ---
 *
 * portprobe-state 1
 * target url=smtp://mail.example.com state=down announced=down fails=3 ...
 * end 1
 *
 * Values are percent-encoded (space, '%', control and non-ASCII bytes).
 * Keys a reader does not know are skipped, so a later version may add some
 * without a new format number; the end line tells a truncated file. */

#define STATE_MAGIC "portprobe-state"
#define STATE_VERSION 1
#define STATE_FILE_MAX (64L << 20) /* bytes */
#define STATE_LINE_MAX 8192
#define STATE_ENTRIES_MAX 1000000
#define STATE_EXPIRE_NS (7LL * 86400 * 1000000000LL)

static void put_encoded(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p <= 0x20 || *p >= 0x7f || *p == '%')
      fprintf(f, "%%%02X", *p);
    else
      fputc(*p, f);
  }
}

static void put_history(FILE *f, const pp_flap_history *h) {
  /* oldest first, as people read */
  for (int k = h->n - 1; k >= 0; k--)
    fputc((h->bits >> k) & 1u ? 'u' : 'd', f);
  if (h->n == 0)
    fputc('-', f);
}

static void put_entry(FILE *f, const entry *e) {
  fputs("target url=", f);
  put_encoded(f, e->url);
  if (e->name[0]) {
    fputs(" name=", f);
    put_encoded(f, e->name);
  }
  fprintf(f,
          " state=%s announced=%s fails=%d oks=%d streak=%lld since=%lld "
          "last=%lld history=",
          pp_tstate_name(e->state), pp_tstate_name(e->announced), e->fails,
          e->oks, (long long)e->streak_ns, (long long)e->since_ns,
          (long long)e->last_ns);
  put_history(f, &e->hist);
  fprintf(f,
          " flapping=%d quality=%s cert=%s slow=%d slow_hi=%d "
          "slow_hi_level=%d slow_lo=%d slow_lo_level=%d\n",
          e->flapping ? 1 : 0, pp_grade_name(e->quality),
          pp_grade_name(e->cert), e->slow, e->slow_hi, e->slow_hi_level,
          e->slow_lo, e->slow_lo_level);
}

static int cmp_entries(const void *a, const void *b) {
  const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
  int c = strcmp(x->url, y->url);
  return c ? c : strcmp(x->name, y->name);
}

int pp_state_save(const pp_state_table *st, const char *path, char *err,
                  size_t errlen) {
  entry **list = calloc(st->count ? st->count : 1, sizeof(*list));
  if (list == NULL) {
    snprintf(err, errlen, "state file %s: out of memory", path);
    return -1;
  }
  int64_t newest = 0;
  size_t n = 0;
  for (size_t i = 0; i < st->nbuckets; i++)
    for (entry *e = st->buckets[i]; e; e = e->next) {
      list[n++] = e;
      if (e->last_ns > newest)
        newest = e->last_ns;
    }
  /* a stable order makes the file easy to read and to diff */
  qsort(list, n, sizeof(*list), cmp_entries);

  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (tmp == NULL) {
    free(list);
    snprintf(err, errlen, "state file %s: out of memory", path);
    return -1;
  }
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    snprintf(err, errlen, "state file %s: cannot create %s: %s", path, tmp,
             strerror(errno));
    free(tmp);
    free(list);
    return -1;
  }
  FILE *f = fdopen(fd, "w");
  if (f == NULL) {
    snprintf(err, errlen, "state file %s: %s", path, strerror(errno));
    close(fd);
    goto fail;
  }
  fprintf(f, "%s %d\n", STATE_MAGIC, STATE_VERSION);
  fputs("# portprobe's memory of its targets between runs; safe to delete\n",
        f);
  size_t written = 0;
  for (size_t i = 0; i < n; i++) {
    /* targets gone from the configuration fade out after a week */
    if (newest - list[i]->last_ns > STATE_EXPIRE_NS)
      continue;
    put_entry(f, list[i]);
    written++;
  }
  fprintf(f, "end %zu\n", written);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
    snprintf(err, errlen, "state file %s: writing %s: %s", path, tmp,
             strerror(errno));
    fclose(f);
    goto fail;
  }
  if (fclose(f) != 0) {
    snprintf(err, errlen, "state file %s: writing %s: %s", path, tmp,
             strerror(errno));
    goto fail;
  }
  if (rename(tmp, path) != 0) {
    snprintf(err, errlen, "state file %s: rename from %s: %s", path, tmp,
             strerror(errno));
    goto fail;
  }
  free(tmp);
  free(list);
  return 0;

fail:
  unlink(tmp);
  free(tmp);
  free(list);
  return -1;
}

/* --- loading: trust nothing --- */

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Undoes put_encoded into a new string. A bad escape or %00 is an error. */
static int decode(const char *in, char **out) {
  char *s = malloc(strlen(in) + 1), *o = s;
  if (s == NULL)
    return -1;
  for (const char *p = in; *p; p++) {
    if (*p != '%') {
      *o++ = *p;
      continue;
    }
    int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
    if (hi < 0 || lo < 0 || (hi | lo) == 0) {
      free(s);
      return -1;
    }
    *o++ = (char)(hi * 16 + lo);
    p += 2;
  }
  *o = 0;
  *out = s;
  return 0;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *v) {
  if (*s == 0 || strspn(s, "-0123456789") != strlen(s))
    return -1;
  errno = 0;
  char *end;
  long long x = strtoll(s, &end, 10);
  if (errno || *end || x < lo || x > hi)
    return -1;
  *v = x;
  return 0;
}

static int parse_int(const char *s, int lo, int hi, int *v) {
  long long x;
  if (parse_ll(s, lo, hi, &x))
    return -1;
  *v = (int)x;
  return 0;
}

static int parse_time(const char *s, int64_t *ns) {
  long long x;
  if (parse_ll(s, 0, INT64_MAX, &x))
    return -1;
  *ns = x;
  return 0;
}

static int parse_tstate(const char *s, pp_tstate *v) {
  for (int i = PP_TSTATE_UNKNOWN; i <= PP_TSTATE_DOWN; i++)
    if (strcmp(s, pp_tstate_name((pp_tstate)i)) == 0) {
      *v = (pp_tstate)i;
      return 0;
    }
  return -1;
}

static int parse_grade(const char *s, pp_grade *v) {
  for (int i = PP_GRADE_NONE; i <= PP_GRADE_CRITICAL; i++)
    if (strcmp(s, pp_grade_name((pp_grade)i)) == 0) {
      *v = (pp_grade)i;
      return 0;
    }
  return -1;
}

static int parse_history(const char *s, pp_flap_history *h) {
  h->bits = 0;
  h->n = 0;
  if (strcmp(s, "-") == 0)
    return 0;
  size_t len = strlen(s);
  if (len > PP_FLAP_WINDOW)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != 'u' && s[i] != 'd')
      return -1;
    pp_flap_record(h, s[i] == 'u');
  }
  return 0;
}

/* One "target key=value ..." line into st. Returns NULL or what is wrong. */
static const char *parse_entry(pp_state_table *st, char *line) {
  entry tmp = {0};
  char *url = NULL, *name = NULL;
  const char *why = NULL;
  bool have_state = false;
  char *save = NULL;
  for (char *w = strtok_r(line, " ", &save); w;
       w = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(w, '=');
    if (eq == NULL || eq == w) {
      why = "expected key=value";
      goto out;
    }
    *eq = 0;
    const char *k = w, *v = eq + 1;
    int bad = 0, flag = 0;
    if (strcmp(k, "url") == 0) {
      free(url);
      url = NULL;
      bad = decode(v, &url) || *url == 0;
    } else if (strcmp(k, "name") == 0) {
      free(name);
      name = NULL;
      bad = decode(v, &name);
    } else if (strcmp(k, "state") == 0) {
      bad = parse_tstate(v, &tmp.state);
      have_state = true;
    } else if (strcmp(k, "announced") == 0) {
      bad = parse_tstate(v, &tmp.announced);
    } else if (strcmp(k, "fails") == 0) {
      bad = parse_int(v, 0, COUNT_CAP, &tmp.fails);
    } else if (strcmp(k, "oks") == 0) {
      bad = parse_int(v, 0, COUNT_CAP, &tmp.oks);
    } else if (strcmp(k, "streak") == 0) {
      bad = parse_time(v, &tmp.streak_ns);
    } else if (strcmp(k, "since") == 0) {
      bad = parse_time(v, &tmp.since_ns);
    } else if (strcmp(k, "last") == 0) {
      bad = parse_time(v, &tmp.last_ns);
    } else if (strcmp(k, "history") == 0) {
      bad = parse_history(v, &tmp.hist);
    } else if (strcmp(k, "flapping") == 0) {
      bad = parse_int(v, 0, 1, &flag);
      tmp.flapping = flag;
    } else if (strcmp(k, "quality") == 0) {
      bad = parse_grade(v, &tmp.quality);
    } else if (strcmp(k, "cert") == 0) {
      bad = parse_grade(v, &tmp.cert);
    } else if (strcmp(k, "slow") == 0) {
      bad = parse_int(v, SLOW_NO, SLOW_CRIT, &tmp.slow);
    } else if (strcmp(k, "slow_hi") == 0) {
      bad = parse_int(v, 0, COUNT_CAP, &tmp.slow_hi);
    } else if (strcmp(k, "slow_hi_level") == 0) {
      bad = parse_int(v, SLOW_NO, SLOW_CRIT, &tmp.slow_hi_level);
    } else if (strcmp(k, "slow_lo") == 0) {
      bad = parse_int(v, 0, COUNT_CAP, &tmp.slow_lo);
    } else if (strcmp(k, "slow_lo_level") == 0) {
      bad = parse_int(v, SLOW_NO, SLOW_CRIT, &tmp.slow_lo_level);
    } else if (strspn(k, "abcdefghijklmnopqrstuvwxyz_0123456789") !=
               strlen(k)) {
      bad = 1; /* a later version's key is skipped; garbage is not */
    }
    if (bad) {
      why = strcmp(k, "url") == 0       ? "bad url"
            : strcmp(k, "name") == 0    ? "bad name"
            : strcmp(k, "state") == 0   ? "bad state"
            : strcmp(k, "history") == 0 ? "bad history"
                                        : "bad value";
      goto out;
    }
  }
  if (url == NULL || !have_state) {
    why = "a target needs url= and state=";
    goto out;
  }
  if (tmp.fails && tmp.oks) {
    why = "fails and oks cannot both be counting";
    goto out;
  }
  const char *nm = name ? name : "";
  if (table_find(st, nm, url) != NULL) {
    why = "the same target twice";
    goto out;
  }
  entry *e = table_add(st, nm, url);
  if (e == NULL) {
    why = "out of memory";
    goto out;
  }
  entry *next = e->next;
  uint32_t hash = e->hash;
  char *en = e->name, *eu = e->url;
  *e = tmp;
  e->next = next;
  e->hash = hash;
  e->name = en;
  e->url = eu;
out:
  free(url);
  free(name);
  return why;
}

/* The writer puts out printable ASCII lines only. */
static bool plain_text(const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)buf[i];
    if ((c < 0x20 && c != '\n') || c >= 0x7f)
      return false;
  }
  return true;
}

static int load_fail(pp_state_table *st, char *err, size_t errlen,
                     const char *path, long line, const char *why) {
  table_clear(st);
  if (line > 0)
    snprintf(err, errlen, "state file %s line %ld: %s; starting afresh", path,
             line, why);
  else
    snprintf(err, errlen, "state file %s: %s; starting afresh", path, why);
  return -1;
}

int pp_state_load(pp_state_table *st, const char *path, char *err,
                  size_t errlen) {
  table_clear(st);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    if (errno == ENOENT)
      return 0; /* the first run */
    return load_fail(st, err, errlen, path, 0, strerror(errno));
  }
  char *buf = malloc(STATE_FILE_MAX + 1);
  if (buf == NULL) {
    fclose(f);
    return load_fail(st, err, errlen, path, 0, "out of memory");
  }
  size_t len = fread(buf, 1, STATE_FILE_MAX + 1, f);
  int rerr = ferror(f);
  fclose(f);
  const char *why = NULL;
  if (rerr)
    why = "read error";
  else if (len > STATE_FILE_MAX)
    why = "larger than 64 MiB, not a state file";
  else if (len == 0)
    why = "empty (a truncated write?)";
  else if (len < sizeof(STATE_MAGIC) ||
           memcmp(buf, STATE_MAGIC " ", sizeof(STATE_MAGIC)) != 0)
    why = "not a portprobe state file";
  else if (!plain_text(buf, len))
    why = "damaged: bytes that are not text";
  if (why) {
    free(buf);
    return load_fail(st, err, errlen, path, 0, why);
  }
  buf[len] = 0;

  long lineno = 0;
  size_t entries = 0;
  bool ended = false;
  char *p = buf;
  while (*p) {
    char *nl = strchr(p, '\n');
    if (nl == NULL) {
      why = "last line cut short (truncated)";
      lineno++;
      break;
    }
    *nl = 0;
    char *line = p;
    p = nl + 1;
    lineno++;
    if ((size_t)(nl - line) > STATE_LINE_MAX) {
      why = "line too long";
      break;
    }
    if (lineno == 1) {
      long long version;
      if (strncmp(line, STATE_MAGIC " ", sizeof(STATE_MAGIC)) != 0 ||
          parse_ll(line + sizeof(STATE_MAGIC), 1, 1000000, &version) != 0) {
        free(buf);
        return load_fail(st, err, errlen, path, 0,
                         "not a portprobe state file");
      }
      if (version != STATE_VERSION) {
        char msg[96];
        snprintf(msg, sizeof(msg),
                 "format %lld, this portprobe reads format %d", version,
                 STATE_VERSION);
        free(buf);
        return load_fail(st, err, errlen, path, 0, msg);
      }
      continue;
    }
    if (ended) {
      why = "text after the end line";
      break;
    }
    if (line[0] == '#' || line[0] == 0)
      continue;
    if (strncmp(line, "target ", 7) == 0) {
      if (++entries > STATE_ENTRIES_MAX) {
        why = "too many targets";
        break;
      }
      if ((why = parse_entry(st, line + 7)) != NULL)
        break;
      continue;
    }
    long long count;
    if (strncmp(line, "end ", 4) == 0 &&
        parse_ll(line + 4, 0, STATE_ENTRIES_MAX, &count) == 0) {
      if ((size_t)count != entries) {
        why = "the end line's count does not match (truncated?)";
        break;
      }
      ended = true;
      continue;
    }
    why = "unknown line";
    break;
  }
  free(buf);
  if (why)
    return load_fail(st, err, errlen, path, lineno, why);
  if (lineno == 0 || !ended)
    return load_fail(st, err, errlen, path, 0,
                     "no end line (truncated write?)");
  return 0;
}
